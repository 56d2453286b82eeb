//! `/healthz` answers while the process runs; `/readyz` follows `grpc.health.v1`: 503
//! until the control plane has migrated its database, or until the agent has a snapshot.

use std::net::SocketAddr;

use vary_control_plane::config::MetricsAddr;
use vary_tests::{
    TestControlPlane, TestEdgeAgent, TestPostgres,
    edge_agent::{AGENT_WAIT, wait_until},
    scrape::{http_get, value},
};

fn free_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn status(addr: SocketAddr, path: &str) -> u16 {
    http_get(addr, path).await.unwrap_or_else(|error| panic!("GET {path}: {error:#}")).status
}

#[tokio::test]
async fn control_plane_readyz_is_503_until_its_database_is_ready() {
    let database = TestPostgres::create_database().await.expect("database");
    let unready = TestControlPlane::spawn_with(database.clone(), free_port(), |config| {
        // Nothing listens there: migrations keep retrying and health stays NOT_SERVING.
        config.database_url = "postgres://vary:vary@127.0.0.1:1/nowhere".to_owned().into();
        config.metrics_addr = MetricsAddr::on(free_port());
    })
    .await
    .expect("spawn");
    let probes = unready.metrics_addr.expect("metrics address");
    assert_eq!(status(probes, "/healthz").await, 200);
    assert_eq!(status(probes, "/readyz").await, 503);
    assert_eq!(status(probes, "/nothing-here").await, 404);
    unready.stop().await.expect("stops");

    let ready = TestControlPlane::start_with_metrics().await.expect("control plane");
    let probes = ready.metrics_addr.expect("metrics address");
    assert_eq!(status(probes, "/readyz").await, 200);
    assert_eq!(status(probes, "/healthz").await, 200);
    ready.stop().await.expect("stops");
}

#[tokio::test]
async fn agent_readyz_turns_200_once_a_snapshot_is_served() {
    // A control plane that went away, leaving its address for later.
    let server = TestControlPlane::start().await.expect("control plane");
    let (database, addr, endpoint) = (server.database.clone(), server.addr, server.endpoint());
    server.stop().await.expect("control plane stops");

    let agent = TestEdgeAgent::start_configured(&endpoint, "probed-agent", |config| {
        config.metrics_addr = vary_edge_agent::config::MetricsAddr::on(free_port());
    })
    .await
    .expect("agent");
    let probes = agent.metrics_addr.expect("metrics address");
    assert_eq!(status(probes, "/healthz").await, 200);
    assert_eq!(status(probes, "/readyz").await, 503, "no snapshot: not ready");
    // The agent dials, fails, and dials again while nothing listens.
    let redialled = wait_until(AGENT_WAIT, || async {
        let page = http_get(probes, "/metrics").await.expect("scrape").body;
        value(&page, "vary_agent_reconnects_total", &[]).unwrap_or(0.0) >= 1.0
    })
    .await;
    let page = http_get(probes, "/metrics").await.expect("scrape").body;
    assert!(redialled.is_ok(), "no redial counted; page:\n{page}");
    assert_eq!(value(&page, "vary_agent_stream_connected", &[]), Some(0.0));
    assert_eq!(value(&page, "vary_agent_config_revision", &[]), None, "nothing served yet");
    assert_eq!(status(probes, "/readyz").await, 503, "still no snapshot");

    let server = TestControlPlane::start_at(database, addr).await.expect("control plane is back");
    agent.wait_until_serving().await.expect("agent serving");
    assert_eq!(status(probes, "/readyz").await, 200);
    let opened = wait_until(AGENT_WAIT, || async {
        let page = http_get(probes, "/metrics").await.expect("scrape").body;
        value(&page, "vary_agent_stream_connected", &[]) == Some(1.0)
    })
    .await;
    let page = http_get(probes, "/metrics").await.expect("scrape").body;
    assert!(opened.is_ok(), "no open stream; page:\n{page}");
    agent.stop().await.expect("agent stops");
    server.stop().await.expect("control plane stops");
}
