//! The tower layer in front of every service: gives each call a request id (the
//! caller's `x-request-id`, or a new UUID) in a tracing span and on the response, and
//! records its latency and gRPC status code.
//!
//! The code is in the response headers for errors answered at once ("trailers-only"
//! responses: refusals by the access policy, most handler errors), otherwise in the
//! trailers that end the body; the call is recorded when either is seen, or as
//! CANCELLED when the body is dropped first (the client went away). Calls to a method
//! named `Watch` (the config stream, health's watch) are recorded when the stream opens:
//! their length says nothing about latency.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};
use tower::{Layer, Service};
use tracing::Instrument as _;

use crate::auth::required_access;

/// The request id header, read from callers and echoed on responses.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest caller-chosen request id kept; longer ones are replaced by a fresh one.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The `method` label of paths outside the access policy, so that scanning clients
/// cannot create series at will.
const UNKNOWN_METHOD: &str = "unknown";

/// The RPC series: `vary_rpc_requests_total{method,code}` and
/// `vary_rpc_duration_seconds{method}`.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    requests: Family<RpcLabels, Counter>,
    durations: Family<MethodLabel, Histogram, HistogramFactory>,
}

/// Builds each method's histogram with the shared buckets.
#[derive(Debug, Clone, Copy)]
pub struct HistogramFactory(&'static [f64]);

impl prometheus_client::metrics::family::MetricConstructor<Histogram> for HistogramFactory {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: String,
    code: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: String,
}

impl RpcMetrics {
    /// Empty series whose histograms use `buckets` (seconds).
    pub fn new(buckets: &'static [f64]) -> Self {
        Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(HistogramFactory(buckets)),
        }
    }

    /// Adds the series to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "vary_rpc_requests",
            "gRPC calls answered, by method and status code (streams counted when they open)",
            self.requests.clone(),
        );
        registry.register(
            "vary_rpc_duration_seconds",
            "gRPC call latency, to the status (streams: to the response headers)",
            self.durations.clone(),
        );
    }

    /// Records one call of `method` that ended with `code` after `elapsed` seconds.
    pub fn record(&self, method: &str, code: &'static str, elapsed: f64) {
        let method = method.to_owned();
        self.durations.get_or_create(&MethodLabel { method: method.clone() }).observe(elapsed);
        self.requests.get_or_create(&RpcLabels { method, code }).inc();
    }
}

/// Adds [`RecordRpc`] in front of a service.
#[derive(Debug, Clone)]
pub struct RpcMetricsLayer {
    metrics: RpcMetrics,
}

impl RpcMetricsLayer {
    /// Records into `metrics`.
    pub fn new(metrics: RpcMetrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RecordRpc<S>;

    fn layer(&self, inner: S) -> RecordRpc<S> {
        RecordRpc { inner, metrics: self.metrics.clone() }
    }
}

/// The service wrapper of [`RpcMetricsLayer`].
#[derive(Debug, Clone)]
pub struct RecordRpc<S> {
    inner: S,
    metrics: RpcMetrics,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RecordRpc<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = http::Response<RecordedBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let path = request.uri().path();
        let method = if required_access(path).is_some() { path } else { UNKNOWN_METHOD }.to_owned();
        let request_id = request_id(request.headers());
        let header_value = http::HeaderValue::from_str(&request_id).ok();
        if let Some(value) = &header_value {
            request.headers_mut().insert(REQUEST_ID_HEADER, value.clone());
        }
        let span = tracing::info_span!("rpc", method = %method, request_id = %request_id);
        let call = self.inner.call(request).instrument(span);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let mut response = match call.await {
                Ok(response) => response,
                Err(error) => {
                    metrics.record(&method, "UNKNOWN", started.elapsed().as_secs_f64());
                    return Err(error);
                }
            };
            if let Some(value) = header_value {
                response.headers_mut().insert(REQUEST_ID_HEADER, value);
            }
            let pending = Pending { metrics, method, started };
            let in_headers = response.headers().get("grpc-status").map(code_name);
            if let Some(code) = in_headers {
                pending.finish(code);
                return Ok(response.map(|body| RecordedBody { inner: body, pending: None }));
            }
            if pending.method.ends_with("/Watch") {
                pending.finish("OK");
                return Ok(response.map(|body| RecordedBody { inner: body, pending: None }));
            }
            Ok(response.map(|body| RecordedBody { inner: body, pending: Some(pending) }))
        })
    }
}

/// The caller's request id when it is a sensible header value, else a new UUID.
fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// A call not recorded yet.
#[derive(Debug)]
struct Pending {
    metrics: RpcMetrics,
    method: String,
    started: Instant,
}

impl Pending {
    fn finish(&self, code: &'static str) {
        self.metrics.record(&self.method, code, self.started.elapsed().as_secs_f64());
    }
}

/// A response body that records its call when the trailers carrying `grpc-status` go
/// by, or when it is dropped before them.
#[derive(Debug)]
pub struct RecordedBody<B> {
    inner: B,
    pending: Option<Pending>,
}

impl<B> Body for RecordedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        let code = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|trailers| trailers.get("grpc-status").map(code_name).unwrap_or("UNKNOWN")),
            Some(Err(_)) => Some("INTERNAL"),
            None => Some("UNKNOWN"),
        };
        if let Some(code) = code
            && let Some(pending) = this.pending.take()
        {
            pending.finish(code);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> Drop for RecordedBody<B> {
    fn drop(&mut self) {
        if let Some(pending) = self.pending.take() {
            pending.finish("CANCELLED");
        }
    }
}

/// The canonical name of a `grpc-status` value (`OK`, `INVALID_ARGUMENT`, …).
fn code_name(value: &http::HeaderValue) -> &'static str {
    let number = value.to_str().ok().and_then(|text| text.parse::<i32>().ok());
    match number.map(tonic::Code::from_i32) {
        Some(tonic::Code::Ok) => "OK",
        Some(tonic::Code::Cancelled) => "CANCELLED",
        Some(tonic::Code::InvalidArgument) => "INVALID_ARGUMENT",
        Some(tonic::Code::DeadlineExceeded) => "DEADLINE_EXCEEDED",
        Some(tonic::Code::NotFound) => "NOT_FOUND",
        Some(tonic::Code::AlreadyExists) => "ALREADY_EXISTS",
        Some(tonic::Code::PermissionDenied) => "PERMISSION_DENIED",
        Some(tonic::Code::ResourceExhausted) => "RESOURCE_EXHAUSTED",
        Some(tonic::Code::FailedPrecondition) => "FAILED_PRECONDITION",
        Some(tonic::Code::Aborted) => "ABORTED",
        Some(tonic::Code::OutOfRange) => "OUT_OF_RANGE",
        Some(tonic::Code::Unimplemented) => "UNIMPLEMENTED",
        Some(tonic::Code::Internal) => "INTERNAL",
        Some(tonic::Code::Unavailable) => "UNAVAILABLE",
        Some(tonic::Code::DataLoss) => "DATA_LOSS",
        Some(tonic::Code::Unauthenticated) => "UNAUTHENTICATED",
        Some(tonic::Code::Unknown) | None => "UNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_numbers_map_to_canonical_names() {
        let name = |text: &str| code_name(&http::HeaderValue::from_str(text).expect("ascii"));
        assert_eq!(name("0"), "OK");
        assert_eq!(name("3"), "INVALID_ARGUMENT");
        assert_eq!(name("16"), "UNAUTHENTICATED");
        assert_eq!(name("99"), "UNKNOWN");
        assert_eq!(name("x"), "UNKNOWN");
    }

    #[test]
    fn a_sensible_caller_request_id_is_kept_and_a_missing_one_is_made() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(request_id(&headers).len(), 36, "a UUID");
        headers.insert(REQUEST_ID_HEADER, http::HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        let long = "x".repeat(MAX_REQUEST_ID_LEN + 1);
        headers.insert(REQUEST_ID_HEADER, http::HeaderValue::from_str(&long).expect("ascii"));
        assert_ne!(request_id(&headers), long);
    }
}
