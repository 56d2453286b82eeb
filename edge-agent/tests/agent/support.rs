//! A scripted fake control plane (each Watch stream handed to the test through an mpsc
//! channel, its responses fed by the test) and an agent running in-process on a real
//! socket, in the manner of linkerd's `app/integration/src/controller.rs`.

use std::{net::SocketAddr, path::Path, pin::Pin, time::Duration};

use futures::Stream;
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use vary_edge_agent::{Config, Hooks};
use vary_proto::{
    model::json_to_struct,
    pb::{
        self,
        assignment_service_client::AssignmentServiceClient,
        config_distribution_service_server::{
            ConfigDistributionService, ConfigDistributionServiceServer,
        },
        watch_request, watch_response,
    },
};

/// Longest any single wait in these tests may take before the test fails.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A control plane whose every Watch stream the test scripts by hand.
#[derive(Debug)]
pub(crate) struct FakeControlPlane {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    streams: mpsc::UnboundedReceiver<FakeStream>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

/// One Watch stream, as the control plane sees it.
#[derive(Debug)]
pub(crate) struct FakeStream {
    /// The stream's first message.
    pub(crate) hello: pb::AgentHello,
    requests: Streaming<pb::WatchRequest>,
    responses: mpsc::Sender<Result<pb::WatchResponse, Status>>,
}

#[derive(Debug, Clone)]
struct FakeService {
    streams: mpsc::UnboundedSender<FakeStream>,
}

/// An agent running inside the test process.
#[derive(Debug)]
pub(crate) struct Agent {
    /// Where it serves Assign and health.
    pub(crate) addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), vary_edge_agent::Error>>,
}

// === impl FakeControlPlane ===

impl FakeControlPlane {
    /// Binds a free port and serves Watch on it.
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (streams_tx, streams) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let stopped = shutdown.clone();
        let service = ConfigDistributionServiceServer::new(FakeService { streams: streams_tx });
        let task = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stopped.cancelled())
                .await
                .expect("fake control plane serves");
        });
        Self { addr, streams, shutdown, task }
    }

    /// `http://127.0.0.1:port`.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next Watch stream an agent opens.
    pub(crate) async fn next_stream(&mut self) -> FakeStream {
        tokio::time::timeout(WAIT, self.streams.recv())
            .await
            .expect("an agent opened a stream in time")
            .expect("the fake control plane is running")
    }

    /// Stops serving (open streams are cut).
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        drop(self.streams);
        let _ = self.task.await;
    }
}

#[tonic::async_trait]
impl ConfigDistributionService for FakeService {
    type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<Streaming<pb::WatchRequest>>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let mut requests = request.into_inner();
        let hello = match requests.message().await? {
            Some(pb::WatchRequest { kind: Some(watch_request::Kind::Hello(hello)) }) => hello,
            other => {
                return Err(Status::invalid_argument(format!("expected a hello, got {other:?}")));
            }
        };
        let (responses, outgoing) = mpsc::channel(16);
        self.streams
            .send(FakeStream { hello, requests, responses })
            .map_err(|_| Status::unavailable("test is gone"))?;
        Ok(Response::new(Box::pin(ReceiverStream::new(outgoing))))
    }
}

// === impl FakeStream ===

impl FakeStream {
    /// Sends one message to the agent.
    pub(crate) async fn send(&self, kind: watch_response::Kind) {
        self.responses
            .send(Ok(pb::WatchResponse { kind: Some(kind) }))
            .await
            .expect("the agent's stream is open");
    }

    /// Sends a snapshot.
    pub(crate) async fn send_snapshot(&self, snapshot: pb::ConfigSnapshot) {
        self.send(watch_response::Kind::Snapshot(snapshot)).await;
    }

    /// The agent's next message; `None` when it ended the stream.
    pub(crate) async fn next_request(&mut self) -> Option<watch_request::Kind> {
        let message = tokio::time::timeout(WAIT, self.requests.message())
            .await
            .expect("the agent answered in time");
        match message {
            Ok(Some(request)) => Some(request.kind.expect("a request has a kind")),
            Ok(None) | Err(_) => None,
        }
    }

    /// The agent's next message, which must be an ACK; returns its revision.
    pub(crate) async fn expect_ack(&mut self) -> i64 {
        match self.next_request().await {
            Some(watch_request::Kind::Ack(ack)) => ack.revision,
            other => panic!("expected an ACK, got {other:?}"),
        }
    }

    /// Sends `snapshot` and asserts the agent ACKs exactly its revision: the step most
    /// tests take to get an agent serving something before checking what they are about.
    pub(crate) async fn send_snapshot_expect_ack(&mut self, snapshot: pb::ConfigSnapshot) {
        let revision = snapshot.revision;
        self.send_snapshot(snapshot).await;
        assert_eq!(self.expect_ack().await, revision, "the agent ACKs revision {revision}");
    }

    /// Sends `snapshot` and returns the NACK the agent must answer with, so the test can
    /// check its revision and the field path its error names.
    pub(crate) async fn send_snapshot_expect_nack(
        &mut self,
        snapshot: pb::ConfigSnapshot,
    ) -> pb::ConfigNack {
        self.send_snapshot(snapshot).await;
        match self.next_request().await {
            Some(watch_request::Kind::Nack(nack)) => nack,
            other => panic!("expected a NACK, got {other:?}"),
        }
    }

    /// Ends the stream cleanly (status OK), as at the control plane's maximum stream age.
    pub(crate) fn close(self) {}
}

// === impl Agent ===

impl Agent {
    /// An agent following `control_plane`, with a fresh state directory and short timers.
    pub(crate) async fn start(control_plane: &str, state_dir: &Path) -> Self {
        Self::start_with(test_config(control_plane, state_dir), Hooks::default()).await
    }

    /// An agent with `config` (its listen address is ignored: it binds a free port).
    pub(crate) async fn start_with(config: Config, hooks: Hooks) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let stopped = shutdown.clone();
        let task =
            tokio::spawn(vary_edge_agent::run_with_hooks(listener, config, hooks, async move {
                stopped.cancelled().await
            }));
        Self { addr, shutdown, task }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("valid uri")
            .connect()
            .await
            .expect("connect to the agent")
    }

    /// An AssignmentService client.
    pub(crate) async fn client(&self) -> AssignmentServiceClient<Channel> {
        AssignmentServiceClient::new(self.channel().await)
    }

    /// The current health of the whole server ("").
    pub(crate) async fn health(&self) -> ServingStatus {
        let mut health = HealthClient::new(self.channel().await);
        let response = health
            .check(HealthCheckRequest { service: String::new() })
            .await
            .expect("health check");
        response.into_inner().status()
    }

    /// Waits for SERVING on the health Watch stream.
    pub(crate) async fn wait_until_serving(&self) {
        let mut health = HealthClient::new(self.channel().await);
        let mut updates = health
            .watch(HealthCheckRequest { service: String::new() })
            .await
            .expect("health watch")
            .into_inner();
        let serving = async {
            while let Some(update) = updates.message().await.expect("health update") {
                if update.status() == ServingStatus::Serving {
                    return;
                }
            }
            panic!("health stream ended before SERVING");
        };
        tokio::time::timeout(WAIT, serving).await.expect("SERVING in time");
    }

    /// Assigns `user_id` on the pdp placement.
    pub(crate) async fn assign(&self, user_id: &str) -> Result<pb::AssignResponse, Status> {
        let request = pb::AssignRequest {
            user_id: user_id.to_owned(),
            context: Some(pb::AssignmentContext { placement: "pdp".into(), ..Default::default() }),
            ..Default::default()
        };
        self.client().await.assign(request).await.map(Response::into_inner)
    }

    /// Stops the agent and waits for it; re-raises a panic from it.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        match self.task.await {
            Ok(result) => result.expect("agent ran cleanly"),
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        }
    }
}

/// Where most Watch tests start: a fake control plane, an agent following it from a fresh
/// state directory, and the first stream that agent opened (its hello not yet checked).
#[derive(Debug)]
pub(crate) struct Followed {
    /// The fake control plane; ask it for the agent's next stream after a reconnect.
    pub(crate) control_plane: FakeControlPlane,
    /// The agent's state directory; held here because dropping it deletes it.
    pub(crate) state: TempDir,
    /// The agent under test.
    pub(crate) agent: Agent,
    /// The first Watch stream the agent opened.
    pub(crate) stream: FakeStream,
}

impl Followed {
    /// An agent with [`test_config`] and no hooks.
    pub(crate) async fn start() -> Self {
        Self::start_with(|config| config, Hooks::default()).await
    }

    /// An agent whose [`test_config`] `configure` adjusts, with `hooks`.
    pub(crate) async fn start_with(configure: impl FnOnce(Config) -> Config, hooks: Hooks) -> Self {
        let mut control_plane = FakeControlPlane::start().await;
        let state = tempfile::tempdir().expect("tempdir");
        let config = configure(test_config(&control_plane.endpoint(), state.path()));
        let agent = Agent::start_with(config, hooks).await;
        let stream = control_plane.next_stream().await;
        Self { control_plane, state, agent, stream }
    }
}

/// A configuration with timers short enough for tests.
pub(crate) fn test_config(control_plane: &str, state_dir: &Path) -> Config {
    Config {
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(200),
        first_message_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(2),
        ..Config::new(control_plane, "agent-under-test", state_dir)
    }
}

/// A snapshot at `revision` holding one running experiment `key` at `version` on pdp,
/// with two variants whose params name the version.
pub(crate) fn snapshot(revision: i64, key: &str, version: i64) -> pb::ConfigSnapshot {
    pb::ConfigSnapshot {
        revision,
        commit_time: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
        experiments: vec![experiment(key, version, pb::ExperimentStatus::Running)],
    }
}

/// A valid experiment on pdp, 100% allocated, control/treatment 50/50.
pub(crate) fn experiment(key: &str, version: i64, status: pb::ExperimentStatus) -> pb::Experiment {
    let params = |variant: &str| {
        let json = serde_json::json!({ "variant": variant, "version": version });
        json_to_struct(json.as_object().expect("literal object"))
    };
    let variant = |key: &str, control: bool| pb::Variant {
        key: key.to_owned(),
        weight: 1.0,
        control,
        params: Some(params(key)),
        description: String::new(),
    };
    pb::Experiment {
        key: key.to_owned(),
        status: status as i32,
        version,
        spec: Some(pb::ExperimentSpec {
            name: format!("Experiment {key}"),
            owner: "reco-team".to_owned(),
            allocation_bps: 10_000,
            variants: vec![variant("control", true), variant("treatment", false)],
            placements: vec!["pdp".to_owned()],
            ..Default::default()
        }),
        ..Default::default()
    }
}
