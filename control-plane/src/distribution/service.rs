//! `vary.v1.ConfigDistributionService`: one task per Watch stream.

use std::pin::Pin;

use futures::Stream;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};
use vary_proto::pb;

use super::{
    credential::StreamCredential,
    frame::WatchResponseFrame,
    published::Head,
    server_stub::config_distribution_service_server::ConfigDistributionService,
    session::{StreamSettings, run_session},
};
use crate::{
    auth::{Principal, TokenStore},
    fleet::Fleet,
};

/// Serves Watch streams from the published head revision.
#[derive(Debug, Clone)]
pub struct DistributionApi {
    head: watch::Receiver<Head>,
    fleet: Fleet,
    settings: StreamSettings,
    /// Where each stream's token is re-checked while the stream lives.
    tokens: TokenStore,
    shutdown: CancellationToken,
}

impl DistributionApi {
    /// A service publishing `head` to agents; streams end when `shutdown` is cancelled,
    /// or when the token they were opened with is revoked or expires (`tokens`).
    pub fn new(
        head: watch::Receiver<Head>,
        fleet: Fleet,
        settings: StreamSettings,
        tokens: TokenStore,
        shutdown: CancellationToken,
    ) -> Self {
        Self { head, fleet, settings, tokens, shutdown }
    }
}

#[tonic::async_trait]
impl ConfigDistributionService for DistributionApi {
    type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchResponseFrame, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<Streaming<pb::WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        // A small buffer: a slow agent holds back its own stream only, and since every
        // send reads the latest head, it skips revisions instead of queueing them.
        let (outbound, frames) = mpsc::channel(2);
        // Set by the auth layer, which every call passes first (Watch needs the agent role).
        let principal = request
            .extensions()
            .get::<Principal>()
            .ok_or_else(|| Status::unauthenticated("no API token on this call"))?;
        let credential = StreamCredential::new(principal, self.tokens.clone());
        // The session's logs carry this call's span (method, request id).
        tokio::spawn(tracing::Instrument::in_current_span(run_session(
            request.into_inner(),
            credential,
            outbound,
            self.head.clone(),
            self.fleet.clone(),
            self.settings,
            self.shutdown.clone(),
        )));
        Ok(Response::new(Box::pin(ReceiverStream::new(frames))))
    }
}
