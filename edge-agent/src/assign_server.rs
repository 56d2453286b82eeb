//! `vary.v1.AssignmentService`'s routing, written by hand instead of generated: tonic's
//! generated server only answers with a prost message, and `Assign` answers with bytes
//! encoded once per revision ([`crate::encoded`]). Both methods are synchronous, so each
//! call's future is ready at once and nothing is boxed per call but the outer future
//! tonic's router needs. `Explain` and everything on the wire is as the generated server
//! would do it: same paths, same statuses (`UNIMPLEMENTED` for unknown methods), same
//! message-size limits, no compression.

use std::{
    convert::Infallible,
    future::{Ready, ready},
    sync::Arc,
    task::{Context, Poll},
};

use bytes::{BufMut as _, Bytes};
use tonic::{
    Request, Response, Status,
    body::Body,
    codec::{Codec, EncodeBuf, Encoder},
    codegen::{Body as HttpBody, BoxFuture, Service, StdError, http},
    server::{Grpc, NamedService, UnaryService},
};
use tonic_prost::{ProstCodec, ProstDecoder};
use vary_proto::pb;

use crate::serve::AssignApi;

const ASSIGN_PATH: &str = "/vary.v1.AssignmentService/Assign";
const EXPLAIN_PATH: &str = "/vary.v1.AssignmentService/Explain";

/// The service, for `tonic::transport::Server::add_service`.
#[derive(Debug, Clone)]
pub struct AssignmentServer {
    api: Arc<AssignApi>,
    max_message_bytes: usize,
}

/// Decodes `AssignRequest` with prost; writes the answer's bytes as they are.
#[derive(Debug, Default)]
struct AssignCodec;

/// The encoding half of [`AssignCodec`].
#[derive(Debug)]
struct BytesEncoder;

/// `Assign` as tonic calls it.
struct AssignMethod(Arc<AssignApi>);

/// `Explain` as tonic calls it.
struct ExplainMethod(Arc<AssignApi>);

// === impl AssignmentServer ===

impl AssignmentServer {
    /// Serves `api`, refusing requests and answers larger than `max_message_bytes`.
    pub fn new(api: AssignApi, max_message_bytes: usize) -> Self {
        Self { api: Arc::new(api), max_message_bytes }
    }

    fn grpc<C: Codec>(&self, codec: C) -> Grpc<C> {
        let limit = Some(self.max_message_bytes);
        Grpc::new(codec).apply_max_message_size_config(limit, limit)
    }
}

impl NamedService for AssignmentServer {
    const NAME: &'static str = pb::assignment_service_server::SERVICE_NAME;
}

impl<B> Service<http::Request<B>> for AssignmentServer
where
    B: HttpBody + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match request.uri().path() {
            ASSIGN_PATH => {
                let (mut grpc, method) = (self.grpc(AssignCodec), AssignMethod(self.api.clone()));
                Box::pin(async move { Ok(grpc.unary(method, request).await) })
            }
            EXPLAIN_PATH => {
                let mut grpc =
                    self.grpc(ProstCodec::<pb::ExplainResponse, pb::ExplainRequest>::default());
                let method = ExplainMethod(self.api.clone());
                Box::pin(async move { Ok(grpc.unary(method, request).await) })
            }
            _ => Box::pin(ready(Ok(Status::unimplemented("").into_http()))),
        }
    }
}

// === impl AssignCodec ===

impl Codec for AssignCodec {
    type Encode = Bytes;
    type Decode = pb::AssignRequest;
    type Encoder = BytesEncoder;
    type Decoder = ProstDecoder<pb::AssignRequest>;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder::default()
    }
}

impl Encoder for BytesEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

// === impl AssignMethod, ExplainMethod ===

impl UnaryService<pb::AssignRequest> for AssignMethod {
    type Response = Bytes;
    type Future = Ready<Result<Response<Bytes>, Status>>;

    fn call(&mut self, request: Request<pb::AssignRequest>) -> Self::Future {
        ready(self.0.assign(request.into_inner()).map(Response::new))
    }
}

impl UnaryService<pb::ExplainRequest> for ExplainMethod {
    type Response = pb::ExplainResponse;
    type Future = Ready<Result<Response<pb::ExplainResponse>, Status>>;

    fn call(&mut self, request: Request<pb::ExplainRequest>) -> Self::Future {
        ready(self.0.explain(request.into_inner()).map(Response::new))
    }
}
