//! The baseline: a bare tonic unary server answering `Echo` with a payload of the size
//! asked. No timeout layer, no health, no reflection, no work: what tonic, prost and
//! HTTP/2 over loopback cost on this machine for messages the size of Assign's.

use std::future::Future;

use tokio::net::TcpListener;
use tonic::{Request, Response, Status, transport::Server};

use crate::pb::{
    EchoRequest, EchoResponse,
    echo_service_server::{EchoService, EchoServiceServer},
};

/// The echo service.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let EchoRequest { mut payload, response_bytes } = request.into_inner();
        payload.resize(response_bytes as usize, 0x5A);
        Ok(Response::new(EchoResponse { payload }))
    }
}

/// Serves `Echo` on `listener` until `shutdown` completes. Sockets get `TCP_NODELAY`, as
/// the agent's do.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
}
