//! The Watch client: keeps the served snapshot in step with the control plane.
//!
//! One session = one Watch stream: connect, send `AgentHello`, then answer each message
//! (DESIGN section 5 and the contract in `config_distribution.proto`):
//!
//! - `ConfigSnapshot` → convert, validate, compile, persist, swap, `ConfigAck`; if any
//!   step before the swap fails, `ConfigNack` with the error and keep serving the old one;
//! - `ConfigUpToDate` → the served revision is the head: refresh its staleness;
//! - `Heartbeat` → refresh the staleness if the head is the served revision, and answer
//!   with a `ConfigAck` of the served revision.
//!
//! Sessions end on a clean close (the control plane's maximum stream age), an error, no
//! first message in time, or an idle stream; the loop then redials after a jittered
//! exponential backoff, reset by any session that received a message. The last-known-good
//! file is read once at start into a standby; it is served only if the first session
//! fails, the control plane confirms its revision is the head, or the first snapshot is
//! refused, so a reachable control plane always wins over the file.

use std::{collections::BTreeMap, fmt, path::PathBuf, pin::pin, sync::Arc, time::Duration};

use futures::{Stream, StreamExt as _};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Streaming;
use vary_proto::pb::{
    self, config_distribution_service_client::ConfigDistributionServiceClient, watch_request,
    watch_response,
};

use crate::{
    backoff::Backoff,
    error::{Chain, Error},
    link::ControlPlaneLink,
    lkg,
    metrics::stream::StreamStatus,
    snapshot::{Origin, Served, SnapshotStore},
};

/// Largest snapshot message accepted from the control plane, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 64 * 1024 * 1024;

/// The agent's build version, sent in every hello.
const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything the sync loop needs besides the store.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// The control plane: address, TLS and token.
    pub link: ControlPlaneLink,
    /// `AgentHello.agent_id`.
    pub agent_id: String,
    /// `AgentHello.labels`.
    pub labels: BTreeMap<String, String>,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Bound on connecting and on the wait for a stream's first message.
    pub first_message_timeout: Duration,
    /// A stream silent this long is dead.
    pub idle_timeout: Duration,
    /// Where the last-known-good file lives.
    pub state_dir: PathBuf,
}

/// A function applied to every received snapshot before it is checked: lets tests inject
/// an invalid snapshot into a real stream.
pub type SnapshotHook = Arc<dyn Fn(&mut pb::ConfigSnapshot) + Send + Sync>;

/// Test hooks; all empty in production.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Runs on each received `ConfigSnapshot` before conversion and validation.
    pub on_snapshot: Option<SnapshotHook>,
}

/// How a session ended, and whether it got far enough to reset the backoff.
#[derive(Debug)]
pub struct SessionReport {
    /// At least one message arrived: the control plane was reachable and answering.
    pub received_any: bool,
    /// `Ok` for a clean end of stream.
    pub outcome: Result<(), Error>,
}

/// The sync loop's state: settings, the store it feeds, and the not-yet-served file.
#[derive(Debug)]
pub struct Syncer {
    settings: SyncSettings,
    store: Arc<SnapshotStore>,
    hooks: Hooks,
    /// The last-known-good snapshot read at start, until something else is served.
    standby: Option<Standby>,
    /// Whether a stream is open, and the redials, for the metrics endpoint.
    status: Arc<StreamStatus>,
}

/// The last-known-good snapshot, compiled, with the time it was written.
#[derive(Debug)]
struct Standby {
    served: Served,
    written_at: OffsetDateTime,
}

// === impl Hooks ===

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks").field("on_snapshot", &self.on_snapshot.is_some()).finish()
    }
}

// === impl Syncer ===

impl Syncer {
    /// A sync loop feeding `store`; nothing runs until [`Syncer::run`].
    pub fn new(settings: SyncSettings, store: Arc<SnapshotStore>, hooks: Hooks) -> Self {
        Self { settings, store, hooks, standby: None, status: Arc::default() }
    }

    /// Reports the stream's state into `status` (shared with the metrics endpoint).
    pub fn with_status(self, status: Arc<StreamStatus>) -> Self {
        Self { status, ..self }
    }

    /// Reads the last-known-good file, then runs sessions until `cancel` fires.
    pub async fn run(mut self, cancel: CancellationToken) {
        self.standby = load_standby(self.settings.state_dir.clone()).await;
        let mut failures = 0u32;
        loop {
            let report = tokio::select! {
                () = cancel.cancelled() => return,
                report = self.session() => report,
            };
            failures = if report.received_any { 0 } else { failures.saturating_add(1) };
            match &report.outcome {
                Ok(()) => tracing::info!("watch stream ended cleanly, reconnecting"),
                Err(error) => {
                    tracing::warn!(error = %Chain(error), failed_attempts = failures, "watch stream failed")
                }
            }
            self.fall_back_to_standby("the control plane did not deliver a usable snapshot");
            let delay = self.settings.backoff.delay(failures);
            tracing::debug!(?delay, failures, "reconnecting after backoff");
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            self.status.reconnecting();
        }
    }

    /// One Watch stream, from dialling to its end, in a span whose `request_id` is the
    /// one the control plane logs for this stream.
    pub async fn session(&mut self) -> SessionReport {
        let span = tracing::info_span!("watch_stream", request_id = tracing::field::Empty);
        let session = async {
            match self.open().await {
                Ok((responses, outbound)) => {
                    self.status.set_connected(true);
                    let report = self.drive(responses, outbound).await;
                    self.status.set_connected(false);
                    report
                }
                Err(error) => SessionReport { received_any: false, outcome: Err(error) },
            }
        };
        tracing::Instrument::instrument(session, span).await
    }

    /// Dials (a new connection per session, so a redialled stream can land on another
    /// replica), queues the hello, and opens Watch, all within the first-message timeout.
    async fn open(
        &self,
    ) -> Result<(Streaming<pb::WatchResponse>, mpsc::Sender<pb::WatchRequest>), Error> {
        let timeout = self.settings.first_message_timeout;
        let link = &self.settings.link;
        let address = link.address().to_owned();
        let endpoint = link
            .endpoint(timeout)
            .map_err(|source| Error::Connect { address: address.clone(), source })?;
        let channel = tokio::time::timeout(timeout, endpoint.connect())
            .await
            .map_err(|_| Error::FirstMessageTimeout(timeout))?
            .map_err(|source| Error::Connect { address, source })?;
        let (outbound, requests) = mpsc::channel(16);
        let hello = self.hello();
        tracing::info!(
            endpoint = %link.address(),
            known_revision = hello.known_revision,
            "opening watch stream"
        );
        // Queued before the call, so a server that reads the hello first can answer.
        let _ = outbound.send(request(watch_request::Kind::Hello(hello))).await;
        // Snapshots are full configs; allow well past tonic's 4 MiB default.
        let mut client = ConfigDistributionServiceClient::new(link.authorize(channel))
            .max_decoding_message_size(MAX_SNAPSHOT_BYTES);
        let call = client.watch(ReceiverStream::new(requests));
        let response = tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| Error::FirstMessageTimeout(timeout))??;
        Ok((response.into_inner(), outbound))
    }

    /// Answers every message of `responses` on `outbound` until the stream ends, fails or
    /// times out. Public so tests can drive it with a scripted stream.
    pub async fn drive(
        &mut self,
        responses: impl Stream<Item = Result<pb::WatchResponse, tonic::Status>>,
        outbound: mpsc::Sender<pb::WatchRequest>,
    ) -> SessionReport {
        let mut responses = pin!(responses);
        let mut received_any = false;
        loop {
            let limit = if received_any {
                self.settings.idle_timeout
            } else {
                self.settings.first_message_timeout
            };
            let next = match tokio::time::timeout(limit, responses.next()).await {
                Ok(next) => next,
                Err(_) if received_any => {
                    return SessionReport { received_any, outcome: Err(Error::IdleTimeout(limit)) };
                }
                Err(_) => {
                    let outcome = Err(Error::FirstMessageTimeout(limit));
                    return SessionReport { received_any, outcome };
                }
            };
            let message = match next {
                None => return SessionReport { received_any, outcome: Ok(()) },
                Some(Err(status)) => {
                    return SessionReport { received_any, outcome: Err(status.into()) };
                }
                Some(Ok(message)) => message,
            };
            received_any = true;
            let reply = match self.handle(message).await {
                Ok(reply) => reply,
                Err(error) => return SessionReport { received_any, outcome: Err(error) },
            };
            if let Some(reply) = reply
                && outbound.send(reply).await.is_err()
            {
                tracing::debug!("request stream closed; the response stream will tell why");
            }
        }
    }

    /// The reply to one message, if it needs one.
    async fn handle(
        &mut self,
        message: pb::WatchResponse,
    ) -> Result<Option<pb::WatchRequest>, Error> {
        let kind = message.kind.ok_or(Error::EmptyResponse)?;
        match kind {
            watch_response::Kind::Snapshot(snapshot) => {
                let revision = snapshot.revision;
                match self.apply(snapshot).await {
                    Ok(()) => {
                        Ok(Some(request(watch_request::Kind::Ack(pb::ConfigAck { revision }))))
                    }
                    Err(error) => {
                        tracing::warn!(revision, error = %Chain(&error), "snapshot refused, keeping the served one");
                        self.fall_back_to_standby("the control plane's snapshot was refused");
                        let nack = pb::ConfigNack { revision, error: error.to_string() };
                        Ok(Some(request(watch_request::Kind::Nack(nack))))
                    }
                }
            }
            watch_response::Kind::UpToDate(up_to_date) => {
                tracing::info!(revision = up_to_date.revision, "control plane: up to date");
                self.confirm_head(up_to_date.revision);
                Ok(None)
            }
            watch_response::Kind::Heartbeat(heartbeat) => {
                self.confirm_head(heartbeat.head_revision);
                let revision = self.store.revision().unwrap_or(0);
                Ok(Some(request(watch_request::Kind::Ack(pb::ConfigAck { revision }))))
            }
        }
    }

    /// Checks and serves `snapshot`; every error is a rejection (persistence failures are
    /// logged, not fatal: serving the new revision matters more than the file).
    async fn apply(&mut self, mut snapshot: pb::ConfigSnapshot) -> Result<(), Error> {
        let revision = snapshot.revision;
        if let Some(served) = self.store.revision() {
            if revision == served {
                self.store.confirm(OffsetDateTime::now_utc());
                return Ok(());
            }
            if revision < served {
                return Err(Error::OlderRevision { revision, served });
            }
        }
        if let Some(hook) = &self.hooks.on_snapshot {
            hook(&mut snapshot);
        }
        let served = Served::prepare(snapshot.clone(), Origin::ControlPlane)?;
        let now = OffsetDateTime::now_utc();
        let state_dir = self.settings.state_dir.clone();
        let persisted =
            tokio::task::spawn_blocking(move || lkg::write(&state_dir, &snapshot, now)).await;
        match persisted {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(revision, error = %Chain(&error), "cannot persist the snapshot")
            }
            Err(join_error) => {
                tracing::error!(revision, error = %join_error, "persist task failed")
            }
        }
        self.install(served, now);
        self.standby = None;
        tracing::info!(revision, "snapshot applied");
        Ok(())
    }

    /// Serves `served` and hands the freed heap back to the OS: every path that installs
    /// a revision (a received snapshot, the confirmed or fallen-back-to standby, the empty
    /// config) goes through here, so each installed revision is trimmed once.
    ///
    /// By the time of the install the received message and the model are already freed
    /// ([`Served::prepare`] consumes them, and [`Syncer::apply`] awaits the persist task
    /// that owns the message's copy); the install drops the old snapshot unless a request
    /// still holds it, in which case that request frees it and the next revision's trim
    /// returns it. Trimming walks the allocator's arenas, so it runs on the blocking pool,
    /// off the workers that answer Assign. Not in [`SnapshotStore::install`], which plain
    /// tests call without a runtime.
    fn install(&self, served: Served, confirmed_at: OffsetDateTime) {
        self.store.install(served, confirmed_at);
        tokio::task::spawn_blocking(crate::memory::release_freed_memory);
    }

    /// The control plane says `head` is the head revision: refresh the served snapshot's
    /// staleness if it is that one, or serve the standby if that is.
    fn confirm_head(&mut self, head: i64) {
        let now = OffsetDateTime::now_utc();
        let served_revision = self.store.revision();
        if served_revision == Some(head) {
            self.store.confirm(now);
            return;
        }
        if served_revision.is_none()
            && let Some(standby) = self.standby.take_if(|standby| standby.served.revision() == head)
        {
            tracing::info!(revision = head, "control plane confirmed the last-known-good snapshot");
            self.install(standby.served, now);
            return;
        }
        if served_revision.is_none() && head == 0 && self.standby.is_none() {
            // Revision 0 is, by the protocol, "nothing committed yet": the empty config.
            // Serving it lets a fresh installation's fleet turn healthy even when the
            // control plane only says so in a heartbeat or an up-to-date answer.
            match Served::prepare(pb::ConfigSnapshot::default(), Origin::ControlPlane) {
                Ok(empty) => {
                    tracing::info!("control plane has no revision yet: serving the empty config");
                    self.install(empty, now);
                }
                Err(error) => {
                    tracing::error!(error = %Chain(&error), "the empty config does not compile")
                }
            }
            return;
        }
        tracing::debug!(head, ?served_revision, "serving a revision other than the head");
    }

    /// Serves the standby when nothing else is served yet.
    fn fall_back_to_standby(&mut self, why: &str) {
        if self.store.revision().is_some() {
            return;
        }
        let Some(standby) = self.standby.take() else { return };
        tracing::warn!(
            revision = standby.served.revision(),
            written_at = %standby.written_at,
            reason = why,
            "serving the last-known-good snapshot"
        );
        self.install(standby.served, standby.written_at);
    }

    fn hello(&self) -> pb::AgentHello {
        // The contract's "0 for none" also covers serving the empty revision 0.
        let known_revision = self
            .store
            .revision()
            .or_else(|| self.standby.as_ref().map(|standby| standby.served.revision()))
            .unwrap_or(0);
        pb::AgentHello {
            agent_id: self.settings.agent_id.clone(),
            known_revision,
            labels: self.settings.labels.clone(),
            agent_version: AGENT_VERSION.to_owned(),
        }
    }
}

fn request(kind: watch_request::Kind) -> pb::WatchRequest {
    pb::WatchRequest { kind: Some(kind) }
}

/// Reads and checks the last-known-good file; a missing file is normal, a bad one is
/// reported and ignored.
async fn load_standby(state_dir: PathBuf) -> Option<Standby> {
    let read = tokio::task::spawn_blocking(move || lkg::read(&state_dir)).await;
    let file = match read {
        Ok(Ok(Some(file))) => file,
        Ok(Ok(None)) => {
            tracing::info!("no last-known-good file yet");
            return None;
        }
        Ok(Err(error)) => {
            tracing::error!(error = %Chain(&error), "ignoring the last-known-good file");
            return None;
        }
        Err(join_error) => {
            tracing::error!(error = %join_error, "last-known-good read task failed");
            return None;
        }
    };
    match Served::prepare(file.snapshot, Origin::LastKnownGood) {
        Ok(served) => {
            tracing::info!(revision = served.revision(), "last-known-good file loaded as standby");
            Some(Standby { served, written_at: file.written_at })
        }
        Err(error) => {
            tracing::error!(error = %Chain(&error), "ignoring the last-known-good file: it fails validation");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::stream;
    use tokio_stream::wrappers::ReceiverStream;

    use super::*;

    fn syncer(state_dir: &std::path::Path) -> Syncer {
        let settings = SyncSettings {
            link: ControlPlaneLink::insecure("http://127.0.0.1:1"),
            agent_id: "unit".to_owned(),
            labels: BTreeMap::new(),
            backoff: Backoff { min: Duration::from_millis(10), max: Duration::from_secs(1) },
            first_message_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            state_dir: state_dir.to_owned(),
        };
        Syncer::new(settings, Arc::new(SnapshotStore::new()), Hooks::default())
    }

    fn snapshot_message(revision: i64) -> Result<pb::WatchResponse, tonic::Status> {
        let snapshot = pb::ConfigSnapshot { revision, commit_time: None, experiments: vec![] };
        Ok(pb::WatchResponse { kind: Some(watch_response::Kind::Snapshot(snapshot)) })
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_silent_after_its_first_message_ends_at_the_idle_timeout() {
        let state = tempfile::tempdir().expect("tempdir");
        let mut syncer = syncer(state.path());
        let (outbound, requests) = mpsc::channel(4);
        let (responses_tx, responses) = mpsc::channel(4);
        responses_tx.send(snapshot_message(4)).await.expect("queued");
        let started = tokio::time::Instant::now();
        let report = syncer.drive(ReceiverStream::new(responses), outbound).await;
        assert!(report.received_any);
        assert!(matches!(report.outcome, Err(Error::IdleTimeout(_))), "{report:?}");
        assert_eq!(started.elapsed(), Duration::from_secs(30), "virtual time");
        let acks: Vec<_> = ReceiverStream::new(requests).collect().await;
        assert_eq!(acks, [request(watch_request::Kind::Ack(pb::ConfigAck { revision: 4 }))]);
        drop(responses_tx);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_without_a_first_message_ends_at_the_first_message_timeout() {
        let state = tempfile::tempdir().expect("tempdir");
        let mut syncer = syncer(state.path());
        let (outbound, _requests) = mpsc::channel(4);
        let started = tokio::time::Instant::now();
        let report = syncer.drive(stream::pending(), outbound).await;
        assert!(!report.received_any);
        assert!(matches!(report.outcome, Err(Error::FirstMessageTimeout(_))), "{report:?}");
        assert_eq!(started.elapsed(), Duration::from_secs(5), "virtual time");
    }

    #[tokio::test]
    async fn a_clean_end_of_stream_is_reported_as_such() {
        let state = tempfile::tempdir().expect("tempdir");
        let mut syncer = syncer(state.path());
        let (outbound, _requests) = mpsc::channel(4);
        let report = syncer.drive(stream::iter([snapshot_message(2)]), outbound).await;
        assert!(report.received_any);
        assert!(report.outcome.is_ok(), "{report:?}");
        assert_eq!(syncer.store.revision(), Some(2));
    }
}
