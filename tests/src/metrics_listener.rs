//! The metrics listener both servers take ready-bound, bound the same way for each.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::net::TcpListener;

/// Binds the metrics address a server was configured with, if any, before the server
/// starts: a test asks for port 0 and learns the real port from the returned address,
/// and the server is handed the listener instead of binding (and racing) itself.
pub(crate) async fn bind(
    configured: Option<SocketAddr>,
) -> anyhow::Result<(Option<TcpListener>, Option<SocketAddr>)> {
    let listener = match configured {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("bind {addr}"))?),
        None => None,
    };
    let bound = listener.as_ref().map(TcpListener::local_addr).transpose()?;
    Ok((listener, bound))
}
