//! Calls any gRPC method by path with raw protobuf bytes, so one loop can try every RPC
//! (an empty message is a valid request of every type).

use bytes::{Buf as _, BufMut as _, Bytes};
use tonic::{
    Code, Request, Status,
    client::Grpc,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};

/// How a method is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One request, one response.
    Unary,
    /// One request, a stream back.
    ServerStreaming,
    /// Streams both ways.
    Bidi,
}

/// The code a call to `method` with an empty message and `token` ended with (`Ok` when it
/// succeeded or a stream opened and produced a message).
pub(crate) async fn call(
    channel: Channel,
    method: &str,
    shape: Shape,
    token: Option<&str>,
) -> Code {
    let mut grpc = Grpc::new(channel);
    if let Err(error) = grpc.ready().await {
        panic!("channel not ready: {error}");
    }
    let path = method.parse().expect("a method path");
    let mut request_metadata = tonic::metadata::MetadataMap::new();
    if let Some(token) = token {
        request_metadata.insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let outcome = match shape {
        Shape::Unary => {
            let mut request = Request::new(Bytes::new());
            *request.metadata_mut() = request_metadata;
            grpc.unary(request, path, RawCodec).await.map(drop)
        }
        Shape::ServerStreaming => {
            let mut request = Request::new(Bytes::new());
            *request.metadata_mut() = request_metadata;
            match grpc.server_streaming(request, path, RawCodec).await {
                Ok(response) => first_message(response.into_inner()).await,
                Err(status) => Err(status),
            }
        }
        Shape::Bidi => {
            let mut request = Request::new(futures::stream::iter([Bytes::new()]));
            *request.metadata_mut() = request_metadata;
            match grpc.streaming(request, path, RawCodec).await {
                Ok(response) => first_message(response.into_inner()).await,
                Err(status) => Err(status),
            }
        }
    };
    match outcome {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

async fn first_message(mut stream: tonic::Streaming<Bytes>) -> Result<(), Status> {
    match tokio::time::timeout(std::time::Duration::from_secs(10), stream.message()).await {
        Ok(message) => message.map(drop),
        // Open and silent is still admitted.
        Err(_) => Ok(()),
    }
}

/// Bytes in, bytes out.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
