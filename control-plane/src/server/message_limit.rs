//! Refuses request messages above a size with RESOURCE_EXHAUSTED, as the gRPC spec asks,
//! before they are buffered. (tonic's own decoding limit answers OUT_OF_RANGE, so this
//! layer sits in front of it with a smaller limit.)
//!
//! It reads only the 5-byte gRPC frame headers as the body streams past: a compressed
//! flag and a big-endian u32 length per message.

use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tonic::Status;
use tower::{Layer, Service};

/// The error type of the wrapped bodies.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps every request body in [`LimitedBody`].
#[derive(Debug, Clone, Copy)]
pub struct MessageLimitLayer {
    max_message_bytes: usize,
}

impl MessageLimitLayer {
    /// Refuses request messages longer than `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> Layer<S> for MessageLimitLayer {
    type Service = MessageLimit<S>;

    fn layer(&self, inner: S) -> MessageLimit<S> {
        MessageLimit { inner, max_message_bytes: self.max_message_bytes }
    }
}

/// The service wrapper of [`MessageLimitLayer`].
#[derive(Debug, Clone)]
pub struct MessageLimit<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S, B> Service<http::Request<B>> for MessageLimit<S>
where
    S: Service<http::Request<LimitedBody<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let limit = self.max_message_bytes;
        self.inner.call(request.map(|body| LimitedBody::new(body, limit)))
    }
}

/// A request body that fails with RESOURCE_EXHAUSTED at the first frame header announcing
/// a message over the limit.
#[derive(Debug)]
pub struct LimitedBody<B> {
    inner: B,
    scanner: FrameScanner,
}

impl<B> LimitedBody<B> {
    fn new(inner: B, max_message_bytes: usize) -> Self {
        Self { inner, scanner: FrameScanner::new(max_message_bytes) }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref()
                    && let Err(status) = this.scanner.scan(data)
                {
                    return Poll::Ready(Some(Err(Box::new(status))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => Poll::Ready(Some(Err(error.into()))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Follows gRPC framing across arbitrary chunk boundaries.
#[derive(Debug)]
struct FrameScanner {
    limit: usize,
    header: [u8; 5],
    header_len: usize,
    /// Bytes of the current message still to pass.
    remaining: usize,
}

impl FrameScanner {
    fn new(limit: usize) -> Self {
        Self { limit, header: [0; 5], header_len: 0, remaining: 0 }
    }

    fn scan(&mut self, mut data: &[u8]) -> Result<(), Status> {
        while !data.is_empty() {
            if self.remaining > 0 {
                let skipped = self.remaining.min(data.len());
                self.remaining -= skipped;
                data = &data[skipped..];
                continue;
            }
            let taken = (5 - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + taken].copy_from_slice(&data[..taken]);
            self.header_len += taken;
            data = &data[taken..];
            if self.header_len == 5 {
                let length = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]) as usize;
                if length > self.limit {
                    return Err(Status::resource_exhausted(format!(
                        "request message of {length} bytes exceeds the limit of {} bytes",
                        self.limit
                    )));
                }
                self.remaining = length;
                self.header_len = 0;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(length: u32) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, length as usize));
        bytes
    }

    #[test]
    fn messages_within_the_limit_pass_in_any_chunking() {
        let stream: Vec<u8> = [frame(10), frame(0), frame(100)].concat();
        for chunk_size in [1, 2, 3, 5, 7, 64, stream.len()] {
            let mut scanner = FrameScanner::new(100);
            for chunk in stream.chunks(chunk_size) {
                scanner.scan(chunk).expect("within the limit");
            }
            assert_eq!((scanner.header_len, scanner.remaining), (0, 0), "chunks of {chunk_size}");
        }
    }

    #[test]
    fn an_oversized_message_is_refused_at_its_header() {
        let stream: Vec<u8> = [frame(10), frame(101)].concat();
        for chunk_size in [1, 4, 16, stream.len()] {
            let mut scanner = FrameScanner::new(100);
            let refused =
                stream.chunks(chunk_size).map(|chunk| scanner.scan(chunk)).find_map(Result::err);
            let status = refused.expect("refused");
            assert_eq!(status.code(), tonic::Code::ResourceExhausted);
            assert!(status.message().contains("101 bytes"), "{}", status.message());
        }
    }
}
