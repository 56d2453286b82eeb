//! After experiments, assignments and ingested exposures, both `/metrics` pages hold the
//! series the alert rules use (`k8s/monitoring/vary.rules.yaml`) with the values the
//! traffic implies.

use std::{collections::BTreeMap, time::Duration};

use vary_proto::pb::{self, experiment_service_client::ExperimentServiceClient};
use vary_tests::{
    TestControlPlane, TestEdgeAgent,
    edge_agent::wait_until,
    fixtures,
    scrape::{http_get, value},
};

/// Users assigned by the test.
const USERS: usize = 25;
/// Longest wait for forwarding, ingest and a guardrail pass to show up in the metrics.
const SETTLE: Duration = Duration::from_secs(30);

const CREATE: &str = "/vary.v1.ExperimentService/CreateExperiment";
const WATCH: &str = "/vary.v1.ConfigDistributionService/Watch";
const INGEST: &str = "/vary.v1.EventIngestService/IngestEvents";

async fn scrape(addr: std::net::SocketAddr) -> String {
    let response = http_get(addr, "/metrics").await.expect("scrape /metrics");
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// The value of a series that must exist.
fn must(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} missing from:\n{text}"))
}

#[tokio::test]
async fn both_metrics_pages_show_the_traffic() {
    let server = TestControlPlane::start_with_metrics().await.expect("control plane");
    let cp_metrics = server.metrics_addr.expect("the control plane's metrics address");
    let key = "observed_reco_v1";
    let mut experiments = server.experiments().await.expect("client");
    experiments
        .create_experiment(pb::CreateExperimentRequest {
            key: key.into(),
            spec: Some(fixtures::guarded_spec(key, pb::GuardrailAction::Alert)),
            change_note: String::new(),
        })
        .await
        .expect("create");
    let revision = experiments
        .start_experiment(pb::StartExperimentRequest { key: key.into(), ..Default::default() })
        .await
        .expect("start")
        .into_inner()
        .experiment
        .expect("experiment")
        .revision;
    // A refusal by validation, and one by the access policy (no token at all).
    let invalid = experiments
        .create_experiment(pb::CreateExperimentRequest {
            key: "Not A Slug".into(),
            spec: Some(fixtures::spec("x")),
            change_note: String::new(),
        })
        .await
        .expect_err("an invalid key is refused");
    assert_eq!(invalid.code(), tonic::Code::InvalidArgument);
    let mut anonymous =
        ExperimentServiceClient::new(server.raw_channel().await.expect("raw channel"));
    let refused = anonymous
        .list_experiments(pb::ListExperimentsRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    let agent = TestEdgeAgent::start_with_metrics(&server.endpoint(), "observed-agent")
        .await
        .expect("agent");
    let agent_metrics = agent.metrics_addr.expect("the agent's metrics address");
    agent.wait_for_revision(revision).await.expect("agent has the experiment");

    // Per variant, the assignments of this experiment the test saw.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for user in 0..USERS {
        let response = agent.assign(&format!("observed-user-{user}")).await.expect("assign");
        for assignment in response.assignments.iter().filter(|a| a.experiment_key == key) {
            *seen.entry(assignment.variant_key.clone()).or_default() += 1;
        }
    }
    let assigned: u64 = seen.values().sum();
    assert!(assigned > 0, "the fixture allocates most users: {seen:?}");

    // Exposures travel agent → control plane; wait for both sides to count them.
    wait_until(SETTLE, || async {
        let agent_page = scrape(agent_metrics).await;
        let cp_page = scrape(cp_metrics).await;
        value(&agent_page, "vary_agent_events_forwarded_total", &[]).unwrap_or(0.0)
            >= assigned as f64
            && value(&cp_page, "vary_ingest_events_total", &[("result", "accepted")]).unwrap_or(0.0)
                >= assigned as f64
            && value(&cp_page, "vary_agents_behind_head", &[]) == Some(0.0)
    })
    .await
    .expect("exposures forwarded, ingested and the agent at the head");
    wait_until(SETTLE, || async {
        let cp_page = scrape(cp_metrics).await;
        let evaluations = |outcome| {
            value(&cp_page, "vary_guardrail_evaluations_total", &[("outcome", outcome)])
                .unwrap_or(0.0)
        };
        evaluations("ok") + evaluations("breached") >= 1.0
    })
    .await
    .expect("a guardrail pass evaluated the experiment");

    let page = scrape(agent_metrics).await;
    assert_eq!(must(&page, "vary_agent_config_revision", &[]), revision as f64);
    let age = must(&page, "vary_agent_config_age_seconds", &[]);
    assert!((0.0..60.0).contains(&age), "confirmed recently: {age}");
    assert_eq!(must(&page, "vary_agent_stream_connected", &[]), 1.0);
    // The control plane stayed up: one stream that never dropped, nothing spooled, and the
    // forwarded events (the settle wait above) have left the queue.
    assert_eq!(must(&page, "vary_agent_reconnects_total", &[]), 0.0, "one stream, no reconnect");
    assert_eq!(must(&page, "vary_agent_queue_depth", &[]), 0.0, "the queue drained");
    assert_eq!(must(&page, "vary_agent_spool_bytes", &[]), 0.0, "nothing spooled");
    assert_eq!(must(&page, "vary_agent_events_dropped_total", &[("reason", "queue_full")]), 0.0);
    for (variant, count) in &seen {
        let exported = must(
            &page,
            "vary_agent_assignments_total",
            &[("experiment", key), ("variant", variant)],
        );
        // At least: the harness's revision probes assign too.
        assert!(exported >= *count as f64, "{variant}: exported {exported} < seen {count}");
    }
    let calls = must(&page, "vary_agent_assign_duration_seconds_count", &[]);
    assert!(calls >= USERS as f64, "{calls} Assign calls timed");
    assert_eq!(
        must(&page, "vary_agent_assign_duration_seconds_bucket", &[("le", "+Inf")]),
        calls,
        "the +Inf bucket holds every call"
    );
    assert!(must(&page, "vary_agent_assign_duration_seconds_sum", &[]) > 0.0);

    let page = scrape(cp_metrics).await;
    let rpc = |method, code| {
        value(&page, "vary_rpc_requests_total", &[("method", method), ("code", code)])
            .unwrap_or(0.0)
    };
    assert!(rpc(CREATE, "OK") >= 1.0, "{page}");
    assert!(rpc(CREATE, "INVALID_ARGUMENT") >= 1.0, "{page}");
    assert!(rpc("/vary.v1.ExperimentService/ListExperiments", "UNAUTHENTICATED") >= 1.0);
    assert!(rpc(WATCH, "OK") >= 1.0, "{page}");
    assert!(rpc(INGEST, "OK") >= 1.0, "{page}");
    assert!(
        must(&page, "vary_rpc_duration_seconds_count", &[("method", CREATE)]) >= 2.0,
        "both CreateExperiment calls timed"
    );
    assert!(must(&page, "vary_agents_connected", &[]) >= 1.0);
    assert_eq!(must(&page, "vary_agents_behind_head", &[]), 0.0);
    assert_eq!(must(&page, "vary_config_nacks_total", &[]), 0.0);
    let accepted = must(&page, "vary_ingest_events_total", &[("result", "accepted")]);
    assert_eq!(must(&page, "vary_ingest_events_total", &[("result", "rejected")]), 0.0);
    let lags = must(&page, "vary_ingest_lag_seconds_count", &[]);
    assert!(lags >= accepted, "every stored event's lag observed: {lags} < {accepted}");
    assert_eq!(must(&page, "vary_guardrail_evaluations_total", &[("outcome", "error")]), 0.0);

    agent.stop().await.expect("agent stops");
    server.stop().await.expect("control plane stops");
}

#[tokio::test]
async fn two_control_planes_in_one_process_count_apart() {
    // Each control plane owns its registry: no process-wide recorder.
    let first = TestControlPlane::start_with_metrics().await.expect("first");
    let second = TestControlPlane::start_with_metrics().await.expect("second");
    let mut client = first.experiments().await.expect("client");
    client
        .create_experiment(pb::CreateExperimentRequest {
            key: "only_on_first".into(),
            spec: Some(fixtures::spec("only_on_first")),
            change_note: String::new(),
        })
        .await
        .expect("create");
    let first_page = scrape(first.metrics_addr.expect("first metrics")).await;
    let second_page = scrape(second.metrics_addr.expect("second metrics")).await;
    let created = |page: &str| {
        value(page, "vary_rpc_requests_total", &[("method", CREATE), ("code", "OK")]).unwrap_or(0.0)
    };
    assert_eq!(created(&first_page), 1.0);
    assert_eq!(created(&second_page), 0.0);
    first.stop().await.expect("first stops");
    second.stop().await.expect("second stops");
}
