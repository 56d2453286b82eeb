//! A fake control-plane ingest service: answers calls from a script (a queue of failure
//! codes, then success), stores each event id once, in arrival order, and can refuse
//! chosen event ids one by one.

use std::{
    collections::{HashSet, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};
use vary_edge_agent::{
    backoff::Backoff,
    forward::{ForwardSettings, event::event_id},
};
use vary_proto::pb::{
    self,
    event_ingest_service_server::{EventIngestService, EventIngestServiceServer},
};

/// Longest any wait in these tests may take.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// What the fake has seen.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Failures to answer, one per call, before answering normally.
    pub(crate) script: VecDeque<Code>,
    /// Answer UNAVAILABLE to every call while set (an outage).
    pub(crate) down: bool,
    /// Never answer while set (a control plane that hangs).
    pub(crate) hang: bool,
    /// Event ids refused one by one (INVALID_FIELD).
    pub(crate) refuse: HashSet<String>,
    /// Stored event ids, in arrival order.
    pub(crate) stored: Vec<String>,
    /// The same, for lookups.
    pub(crate) stored_set: HashSet<String>,
    /// Calls answered, failed ones included.
    pub(crate) calls: usize,
    /// Events received again after being stored.
    pub(crate) duplicates: usize,
}

#[derive(Debug, Clone)]
struct FakeIngest {
    ledger: Arc<Mutex<Ledger>>,
}

/// The running fake.
#[derive(Debug)]
pub(crate) struct FakeIngestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) ledger: Arc<Mutex<Ledger>>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

#[tonic::async_trait]
impl EventIngestService for FakeIngest {
    async fn ingest_events(
        &self,
        request: Request<pb::IngestEventsRequest>,
    ) -> Result<Response<pb::IngestEventsResponse>, Status> {
        if self.ledger.lock().expect("ledger").hang {
            std::future::pending::<()>().await;
        }
        let mut ledger = self.ledger.lock().expect("ledger");
        ledger.calls += 1;
        if ledger.down {
            return Err(Status::unavailable("scripted outage"));
        }
        if let Some(code) = ledger.script.pop_front() {
            return Err(Status::new(code, "scripted failure"));
        }
        let mut response = pb::IngestEventsResponse::default();
        for (index, event) in request.into_inner().events.iter().enumerate() {
            let id = event_id(event).to_owned();
            if ledger.refuse.contains(&id) {
                response.rejections.push(pb::EventRejection {
                    index: index as i32,
                    event_id: id,
                    reason: pb::EventRejectionReason::InvalidField as i32,
                    message: format!("events[{index}]: refused by the script"),
                });
            } else if ledger.stored_set.insert(id.clone()) {
                ledger.stored.push(id);
                response.accepted += 1;
            } else {
                ledger.duplicates += 1;
                response.duplicates += 1;
            }
        }
        Ok(Response::new(response))
    }
}

// === impl FakeIngestServer ===

impl FakeIngestServer {
    /// Serves on a free port with `ledger` as its script and record.
    pub(crate) async fn start(ledger: Ledger) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port");
        let addr = listener.local_addr().expect("local addr");
        let ledger = Arc::new(Mutex::new(ledger));
        let shutdown = CancellationToken::new();
        let service = FakeIngest { ledger: ledger.clone() };
        let stopped = shutdown.clone();
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(EventIngestServiceServer::new(service))
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    stopped.cancelled(),
                )
                .await
                .expect("fake ingest server");
        });
        Self { addr, ledger, shutdown, task }
    }

    /// `http://addr`.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `change` on the ledger.
    pub(crate) fn with<T>(&self, change: impl FnOnce(&mut Ledger) -> T) -> T {
        change(&mut self.ledger.lock().expect("ledger"))
    }

    /// The stored ids.
    pub(crate) fn stored(&self) -> Vec<String> {
        self.with(|ledger| ledger.stored.clone())
    }

    /// Waits (polling, bounded by [`WAIT`]) until `count` events are stored.
    pub(crate) async fn wait_for_stored(&self, count: usize) {
        wait_until(|| self.with(|ledger| ledger.stored.len()) >= count, "events stored").await;
    }

    /// Stops serving.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("fake ingest task");
    }
}

/// Polls `done` every 10 ms until it holds, panicking after [`WAIT`].
pub(crate) async fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Forwarding to `endpoint` with test-sized timers, spooling under `state`.
pub(crate) fn settings(endpoint: &str, state: &std::path::Path) -> ForwardSettings {
    ForwardSettings {
        batch_size: 100,
        batch_age: Duration::from_millis(20),
        segment_bytes: 16 * 1024,
        backoff: Backoff { min: Duration::from_millis(10), max: Duration::from_millis(100) },
        request_timeout: Duration::from_secs(5),
        ..ForwardSettings::new(endpoint, "test-agent", state.join("spool"))
    }
}

/// `count` outcome events with ids `e-000000`, `e-000001`… (sortable, so order is
/// checkable).
pub(crate) fn events(range: std::ops::Range<usize>) -> Vec<pb::Event> {
    range
        .map(|n| {
            vary_edge_agent::forward::event::outcome_event(
                pb::OutcomeEvent {
                    event_id: id(n),
                    event_type: "click".into(),
                    user_id: format!("user-{}", n % 97),
                    ..Default::default()
                },
                time::OffsetDateTime::now_utc(),
            )
        })
        .collect()
}

/// The id of event `n`.
pub(crate) fn id(n: usize) -> String {
    format!("e-{n:06}")
}
