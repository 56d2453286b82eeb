//! A pass-through codec: the load tool sends requests encoded once up front and takes
//! responses as bytes, so the client does the same (minimal) work for the agent and for
//! the echo baseline, and the difference between the two is the server's.

use bytes::{Buf as _, BufMut as _, Bytes};
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
    transport::Channel,
};

/// The method the agent serves.
pub const ASSIGN_PATH: &str = "/vary.v1.AssignmentService/Assign";
/// The method the baseline serves.
pub const ECHO_PATH: &str = "/vary.bench.v1.EchoService/Echo";

/// Encodes and decodes nothing: messages are already protobuf bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// The encoding half of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawEncoder;

/// The decoding half of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawDecoder;

/// A unary client of one method, sending pre-encoded requests.
#[derive(Debug, Clone)]
pub struct RawClient {
    grpc: tonic::client::Grpc<Channel>,
    path: PathAndQuery,
}

// === impl RawCodec ===

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

// === impl RawClient ===

impl RawClient {
    /// A client of `path` (e.g. [`ASSIGN_PATH`]) over `channel`.
    pub fn new(channel: Channel, path: &'static str) -> Self {
        Self { grpc: tonic::client::Grpc::new(channel), path: PathAndQuery::from_static(path) }
    }

    /// One unary call; the encoded response.
    pub async fn call(&mut self, request: Bytes) -> Result<Bytes, Status> {
        self.grpc
            .ready()
            .await
            .map_err(|error| Status::unavailable(format!("channel not ready: {error}")))?;
        let response =
            self.grpc.unary(tonic::Request::new(request), self.path.clone(), RawCodec).await?;
        Ok(response.into_inner())
    }
}
