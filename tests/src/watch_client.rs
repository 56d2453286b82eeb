//! A bare Watch client speaking the protocol by hand, to test the control plane without
//! an edge agent (and to simulate many agents cheaply).

use std::{collections::BTreeMap, time::Duration};

use crate::auth::{Bearer, TestToken};
use anyhow::{Context as _, bail};
use tokio::sync::mpsc;
use tonic::{Streaming, transport::Channel};
use vary_control_plane::auth::Role;
use vary_proto::pb::{
    self, config_distribution_service_client::ConfigDistributionServiceClient, watch_request,
    watch_response,
};

/// Longest a test waits for the next message on a stream.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// One open Watch stream.
#[derive(Debug)]
pub struct WatchClient {
    requests: mpsc::Sender<pb::WatchRequest>,
    responses: Streaming<pb::WatchResponse>,
}

impl WatchClient {
    /// Opens a stream to `endpoint` with the test agent token, and says hello.
    pub async fn connect(
        endpoint: String,
        agent_id: &str,
        known_revision: i64,
    ) -> anyhow::Result<Self> {
        Self::connect_with_token(
            endpoint,
            TestToken::of(Role::Agent).secret,
            agent_id,
            known_revision,
        )
        .await
    }

    /// Opens a stream to `endpoint` with `token`, and says hello.
    pub async fn connect_with_token(
        endpoint: String,
        token: &str,
        agent_id: &str,
        known_revision: i64,
    ) -> anyhow::Result<Self> {
        let channel = Channel::from_shared(endpoint)?
            .connect()
            .await
            .context("connect to the control plane")?;
        let channel = Bearer::new(token).wrap(channel);
        let mut client = ConfigDistributionServiceClient::new(channel)
            .max_decoding_message_size(64 * 1024 * 1024);
        let (requests, outbound) = mpsc::channel(16);
        requests
            .send(pb::WatchRequest {
                kind: Some(watch_request::Kind::Hello(pb::AgentHello {
                    agent_id: agent_id.to_owned(),
                    known_revision,
                    labels: BTreeMap::from([("app".to_owned(), "test".to_owned())]),
                    agent_version: "test".to_owned(),
                })),
            })
            .await?;
        let responses = client
            .watch(tokio_stream::wrappers::ReceiverStream::new(outbound))
            .await
            .map_err(|status| anyhow::anyhow!("open Watch: {status:?}"))?
            .into_inner();
        Ok(Self { requests, responses })
    }

    /// The next message, within a bound.
    pub async fn next(&mut self) -> anyhow::Result<watch_response::Kind> {
        let message = tokio::time::timeout(RECEIVE_TIMEOUT, self.responses.message())
            .await
            .context("no message in time")??
            .context("stream ended")?;
        message.kind.context("response without a kind")
    }

    /// Skips messages until the stream ends with an error, and returns it; fails if the
    /// stream ends cleanly or is still open after the receive bound.
    pub async fn ending_status(&mut self) -> anyhow::Result<tonic::Status> {
        let ending = async {
            loop {
                match self.responses.message().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => bail!("the stream ended without an error"),
                    Err(status) => return Ok(status),
                }
            }
        };
        tokio::time::timeout(RECEIVE_TIMEOUT, ending)
            .await
            .context("the stream was still open at the receive bound")?
    }

    /// Skips heartbeats until a snapshot arrives, and returns it.
    pub async fn next_snapshot(&mut self) -> anyhow::Result<pb::ConfigSnapshot> {
        loop {
            match self.next().await? {
                watch_response::Kind::Snapshot(snapshot) => return Ok(snapshot),
                watch_response::Kind::Heartbeat(_) => continue,
                watch_response::Kind::UpToDate(up_to_date) => {
                    bail!("expected a snapshot, got up-to-date at {}", up_to_date.revision)
                }
            }
        }
    }

    /// Skips heartbeats until a snapshot at `revision` or later arrives.
    pub async fn snapshot_at_least(&mut self, revision: i64) -> anyhow::Result<pb::ConfigSnapshot> {
        loop {
            let snapshot = self.next_snapshot().await?;
            if snapshot.revision >= revision {
                return Ok(snapshot);
            }
        }
    }

    /// Acknowledges `revision`.
    pub async fn ack(&self, revision: i64) -> anyhow::Result<()> {
        let ack = watch_request::Kind::Ack(pb::ConfigAck { revision });
        self.requests.send(pb::WatchRequest { kind: Some(ack) }).await?;
        Ok(())
    }

    /// Refuses `revision` with `error`.
    pub async fn nack(&self, revision: i64, error: &str) -> anyhow::Result<()> {
        let nack = watch_request::Kind::Nack(pb::ConfigNack { revision, error: error.to_owned() });
        self.requests.send(pb::WatchRequest { kind: Some(nack) }).await?;
        Ok(())
    }

    /// The raw response stream, for tests that read it their own way.
    pub fn responses(&mut self) -> &mut Streaming<pb::WatchResponse> {
        &mut self.responses
    }
}
