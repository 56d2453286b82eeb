//! One agent's Watch stream: hello, the initial answer, then new revisions, heartbeats
//! and ACK/NACK bookkeeping until the stream ends, ages out, or the server shuts down.

use std::{collections::BTreeMap, time::Duration};

use rand::Rng as _;
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};
use vary_proto::pb::{self, watch_request::Kind};

use super::{credential::StreamCredential, frame::WatchResponseFrame, published::Head};
use crate::{
    auth::Refusal,
    fleet::{AgentSession, Fleet},
};

/// Longest accepted agent id, in characters.
const MAX_AGENT_ID_CHARS: usize = 200;

/// Timing of Watch streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    /// A heartbeat goes out when nothing else was sent for this long.
    pub heartbeat_interval: Duration,
    /// Streams end cleanly after this long (± 10% jitter), so agents rebalance.
    pub max_stream_age: Duration,
    /// How long an agent has to say hello.
    pub first_message_timeout: Duration,
}

type Outbound = mpsc::Sender<Result<WatchResponseFrame, Status>>;

/// Runs one stream to its end. Errors are sent to the agent as the stream's status.
pub(super) async fn run_session(
    mut inbound: Streaming<pb::WatchRequest>,
    credential: StreamCredential,
    outbound: Outbound,
    mut head: watch::Receiver<Head>,
    fleet: Fleet,
    settings: StreamSettings,
    shutdown: CancellationToken,
) {
    let hello = match first_hello(&mut inbound, settings.first_message_timeout).await {
        Ok(hello) => hello,
        Err(status) => {
            let _ = outbound.send(Err(status)).await;
            return;
        }
    };
    let labels: BTreeMap<String, String> = hello.labels.into_iter().collect();
    let session = match fleet
        .connect(&hello.agent_id, labels, hello.agent_version, hello.known_revision)
        .await
    {
        Ok(session) => session,
        Err(error) => {
            let _ = outbound.send(Err(error.into())).await;
            return;
        }
    };
    tracing::info!(agent_id = %session.agent_id, known_revision = hello.known_revision, "agent connected");
    let mut stream = Stream {
        session,
        outbound,
        fleet: fleet.clone(),
        sent_revision: hello.known_revision,
        last_sent: Instant::now(),
        credential,
    };
    let ended = stream.serve(&mut inbound, &mut head, settings, &shutdown).await;
    fleet.disconnected(&stream.session.agent_id, stream.session.connection);
    tracing::info!(agent_id = %stream.session.agent_id, reason = ended, "agent stream ended");
}

/// Waits for the agent's hello and checks it.
async fn first_hello(
    inbound: &mut Streaming<pb::WatchRequest>,
    timeout: Duration,
) -> Result<pb::AgentHello, Status> {
    let first = tokio::time::timeout(timeout, inbound.message())
        .await
        .map_err(|_| Status::deadline_exceeded(format!("no hello within {timeout:?}")))??;
    let Some(pb::WatchRequest { kind: Some(Kind::Hello(hello)) }) = first else {
        return Err(Status::invalid_argument("hello: the first message must be an AgentHello"));
    };
    let id_chars = hello.agent_id.chars().count();
    if hello.agent_id.trim().is_empty() || id_chars > MAX_AGENT_ID_CHARS {
        return Err(Status::invalid_argument(format!(
            "hello.agent_id: must be 1..={MAX_AGENT_ID_CHARS} characters, got {id_chars}"
        )));
    }
    if hello.known_revision < 0 {
        return Err(Status::invalid_argument("hello.known_revision: must be >= 0"));
    }
    Ok(hello)
}

/// The state of one open stream.
struct Stream {
    session: AgentSession,
    outbound: Outbound,
    fleet: Fleet,
    /// The newest revision this agent has (or was sent).
    sent_revision: i64,
    last_sent: Instant,
    /// The token the stream was opened with, re-checked every heartbeat interval.
    credential: StreamCredential,
}

impl Stream {
    /// The main loop; returns why the stream ended.
    async fn serve(
        &mut self,
        inbound: &mut Streaming<pb::WatchRequest>,
        head: &mut watch::Receiver<Head>,
        settings: StreamSettings,
        shutdown: &CancellationToken,
    ) -> &'static str {
        let deadline = Instant::now() + jittered(settings.max_stream_age);
        // The first answer. If this replica's publisher lags behind a revision the agent
        // already has (it came from another replica), give it a moment to catch up rather
        // than sending an older snapshot.
        let known_revision = self.sent_revision;
        let publisher_alive = tokio::select! {
            () = shutdown.cancelled() => return "shutdown",
            waited = tokio::time::timeout(settings.heartbeat_interval, async {
                head.wait_for(|head| head.as_ref().is_some_and(|head| head.revision >= known_revision))
                    .await
                    .is_ok()
            }) => waited.unwrap_or(true),
        };
        if !publisher_alive {
            return "publisher stopped";
        }
        let current = head.borrow_and_update().clone();
        let Some(current) = current else { return "no snapshot published yet" };
        let answer = if self.refused(current.revision) {
            // Never re-send what this agent refused: wait for the next revision.
            WatchResponseFrame::heartbeat(current.revision)
        } else if known_revision == 0 || current.revision > known_revision {
            // Revision 0 means "nothing": such an agent needs a snapshot even of an empty
            // config, to have something to serve.
            self.sent_revision = current.revision;
            self.fleet.sent(&self.session.agent_id, current.revision);
            WatchResponseFrame::encoded_snapshot(current.encoded.clone())
        } else if current.revision == known_revision {
            // Nothing to send, but the agent holds this revision: record it as sent, so
            // the fleet view does not show a confirmed agent as never sent anything.
            self.fleet.sent(&self.session.agent_id, current.revision);
            WatchResponseFrame::up_to_date(current.revision)
        } else {
            WatchResponseFrame::heartbeat(current.revision)
        };
        if !self.send(answer).await {
            return "agent gone";
        }
        // On its own clock, not the heartbeat's: a stream busy with new revisions sends
        // no heartbeats, and must be re-checked all the same.
        let mut token_check_at = Instant::now() + settings.heartbeat_interval;
        let expires = self.credential.expires();
        loop {
            let heartbeat_at = self.last_sent + settings.heartbeat_interval;
            tokio::select! {
                () = shutdown.cancelled() => return "shutdown",
                () = tokio::time::sleep_until(deadline) => return "max stream age",
                () = tokio::time::sleep_until(expires.unwrap_or(deadline)), if expires.is_some() => {
                    return self.end_for(Refusal::Expired).await;
                }
                () = tokio::time::sleep_until(token_check_at) => {
                    if let Some(refusal) = self.credential.refusal().await {
                        return self.end_for(refusal).await;
                    }
                    token_check_at = Instant::now() + settings.heartbeat_interval;
                }
                () = tokio::time::sleep_until(heartbeat_at) => {
                    let head_revision = head.borrow().as_ref().map_or(0, |head| head.revision);
                    if !self.send(WatchResponseFrame::heartbeat(head_revision)).await {
                        return "agent gone";
                    }
                }
                changed = head.changed() => {
                    if changed.is_err() {
                        return "publisher stopped";
                    }
                    let newest = head.borrow_and_update().clone();
                    if let Some(newest) = newest
                        && newest.revision > self.sent_revision
                        && !self.refused(newest.revision)
                    {
                        self.sent_revision = newest.revision;
                        self.fleet.sent(&self.session.agent_id, newest.revision);
                        if !self.send(WatchResponseFrame::encoded_snapshot(newest.encoded.clone())).await {
                            return "agent gone";
                        }
                    }
                }
                message = inbound.message() => match message {
                    Ok(Some(request)) => {
                        if let Err(status) = self.handle(request) {
                            let _ = self.outbound.send(Err(status)).await;
                            return "protocol error";
                        }
                    }
                    Ok(None) => return "agent closed",
                    Err(_) => return "agent gone",
                },
            }
        }
    }

    /// Ends the stream because its token no longer admits it: tells the agent
    /// (UNAUTHENTICATED, as a new call would get) and says why the stream ends.
    async fn end_for(&mut self, refusal: Refusal) -> &'static str {
        tracing::info!(agent_id = %self.session.agent_id, %refusal, "ending a Watch stream: its token no longer admits it");
        let _ = self.outbound.send(Err(refusal.into())).await;
        match refusal {
            Refusal::Revoked => "token revoked",
            Refusal::Expired => "token expired",
            Refusal::Invalid => "token unknown",
        }
    }

    /// Whether this agent refused `revision` (rejected revision 0 means none).
    fn refused(&self, revision: i64) -> bool {
        self.session.rejected_revision > 0 && revision == self.session.rejected_revision
    }

    fn handle(&mut self, request: pb::WatchRequest) -> Result<(), Status> {
        match request.kind {
            Some(Kind::Ack(ack)) => {
                self.fleet.applied(&self.session.agent_id, ack.revision);
                Ok(())
            }
            Some(Kind::Nack(nack)) => {
                self.session.rejected_revision = nack.revision;
                self.fleet.rejected(&self.session.agent_id, nack.revision, nack.error);
                Ok(())
            }
            Some(Kind::Hello(_)) => {
                Err(Status::invalid_argument("hello: sent twice on one stream"))
            }
            None => Err(Status::invalid_argument("kind: one of hello, ack, nack is required")),
        }
    }

    /// Sends a frame; false when the agent is gone.
    async fn send(&mut self, frame: WatchResponseFrame) -> bool {
        self.last_sent = Instant::now();
        self.outbound.send(Ok(frame)).await.is_ok()
    }
}

/// `age` ± 10%, so streams opened together do not all end together.
fn jittered(age: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    age.mul_f64(factor)
}
