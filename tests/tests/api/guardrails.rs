use std::{cell::RefCell, time::Duration};

use time::OffsetDateTime;
use vary_proto::pb;
use vary_tests::{TestControlPlane, TestEdgeAgent, edge_agent::wait_until, fixtures};

use crate::ingest::{exposure, ids, ingest, outcome};

/// Creates and starts `key` with a bounce-rate guardrail taking `action`; the revision
/// of the start.
async fn start(server: &TestControlPlane, key: &str, action: pb::GuardrailAction) -> i64 {
    let mut client = server.experiments().await.expect("client");
    fixtures::create_and_start_with(&mut client, key, fixtures::guarded_spec(key, action)).await
}

/// 1,000 units per arm; 10% of control and 30% of treatment bounce.
async fn plant_bounces(server: &TestControlPlane, key: &str) {
    let at = OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let mut events = Vec::new();
    for (variant, bounced) in [("control", 100), ("treatment", 300)] {
        let event_ids = ids(2_000);
        for unit in 0..1_000 {
            let user = format!("{key}-{variant}-{unit}");
            let mut event = exposure(&event_ids[unit], &user, variant, at, false);
            if let Some(pb::event::Kind::Exposure(exposure)) = &mut event.kind {
                exposure.experiment_key = key.into();
            }
            events.push(event);
            if unit < bounced {
                events.push(outcome(
                    &event_ids[1_000 + unit],
                    &user,
                    "bounce",
                    at + time::Duration::seconds(3),
                    None,
                ));
            }
        }
    }
    let response = ingest(server, events).await.expect("ingest");
    assert!(response.rejections.is_empty(), "{:?}", response.rejections.first());
}

async fn status_of(server: &TestControlPlane, key: &str) -> pb::Experiment {
    let mut client = server.experiments().await.expect("client");
    fixtures::current(&mut client, key).await
}

#[tokio::test]
async fn a_breached_pause_guardrail_pauses_the_experiment_and_agents_stop_assigning_it() {
    let server = TestControlPlane::start().await.expect("control plane");
    let revision = start(&server, "guarded", pb::GuardrailAction::Pause).await;
    let agent = TestEdgeAgent::start(&server.endpoint(), "guardrail-agent").await.expect("agent");
    agent.wait_for_revision(revision).await.expect("agent has the experiment");
    let assigned = agent.assign("someone").await.expect("assign");
    assert!(assigned.assignments.iter().any(|a| a.experiment_key == "guarded"), "{assigned:?}");

    plant_bounces(&server, "guarded").await;
    // The harness runs the guardrail watch every 300 ms.
    let last = RefCell::new(None);
    let waited = wait_until(Duration::from_secs(60), || async {
        let experiment = status_of(&server, "guarded").await;
        let is_paused = experiment.status() == pb::ExperimentStatus::Paused;
        last.replace(Some(experiment));
        is_paused
    })
    .await;
    let paused: pb::Experiment = last.into_inner().expect("read at least once");
    assert!(waited.is_ok(), "never paused: {paused:?}");
    let mut client = server.experiments().await.expect("client");
    let version = client
        .get_experiment_version(pb::GetExperimentVersionRequest {
            key: "guarded".into(),
            version: paused.version,
        })
        .await
        .expect("version")
        .into_inner()
        .version
        .expect("version");
    assert_eq!((version.actor.as_str(), version.action.as_str()), ("system:guardrail", "pause"));
    assert!(
        version.change_note.contains("bounce_rate") && version.change_note.contains("treatment"),
        "{}",
        version.change_note
    );

    agent
        .assign_until("someone", "no assignment of the paused experiment", |response| {
            response.revision >= paused.revision
                && !response.assignments.iter().any(|a| a.experiment_key == "guarded")
        })
        .await
        .expect("agent stops assigning");

    let results = {
        let mut analysis = pb::analysis_service_client::AnalysisServiceClient::new(
            server.channel().await.expect("channel"),
        );
        analysis
            .get_results(pb::GetResultsRequest { experiment_key: "guarded".into(), phase: 0 })
            .await
            .expect("results")
            .into_inner()
    };
    let check =
        results.guardrails.iter().find(|check| check.variant_key == "treatment").expect("check");
    assert!(check.breached && check.metric_key == "bounce_rate", "{check:?}");
}

#[tokio::test]
async fn an_alert_guardrail_writes_one_audit_alert_and_leaves_the_experiment_running() {
    let server = TestControlPlane::start_with_metrics().await.expect("control plane");
    start(&server, "watched", pb::GuardrailAction::Alert).await;
    plant_bounces(&server, "watched").await;
    let database = server.database.connect().await.expect("db");
    wait_until(Duration::from_secs(60), || async {
        let alerts: i64 = database
            .query_one("SELECT count(*) FROM audit_events WHERE action = 'experiment.guardrail_alert' AND target_key = 'watched'", &[])
            .await
            .expect("count")
            .get(0);
        alerts > 0
    })
    .await
    .expect("no alert written");
    // Three more passes of the watch that see the breach: still one alert, still running.
    let passes = breached_evaluations(&server).await;
    wait_until(Duration::from_secs(60), || async {
        breached_evaluations(&server).await >= passes + 3.0
    })
    .await
    .expect("the guardrail watch stopped passing");
    let alerts: i64 = database
        .query_one("SELECT count(*) FROM audit_events WHERE action = 'experiment.guardrail_alert' AND actor = 'system:guardrail'", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(alerts, 1);
    assert_eq!(status_of(&server, "watched").await.status(), pb::ExperimentStatus::Running);
}

/// How many guardrail evaluations found a breach so far, from the control plane's
/// `/metrics` (the watch counts every evaluation).
async fn breached_evaluations(server: &TestControlPlane) -> f64 {
    let addr = server.metrics_addr.expect("started with metrics");
    let page = vary_tests::scrape::http_get(addr, "/metrics").await.expect("scrape").body;
    vary_tests::scrape::value(&page, "vary_guardrail_evaluations_total", &[("outcome", "breached")])
        .expect("the breached series")
}
