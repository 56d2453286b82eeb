//! The built web console (console/dist) in a real headless Chromium against a real
//! control plane: this test seeds an experiment with exposures and outcomes, runs the
//! Playwright smoke script (console/e2e/smoke.mjs: sign-in, list, detail, results charts,
//! a pause, the audit log), then checks in the store what the pause click wrote.
//!
//! Ignored by `cargo test` because it needs `npm run build` and Chromium; `scripts/test`
//! builds the console and runs it with `--ignored` (`.ci/run` installs Chromium).

use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use vary_control_plane::auth::Role;
use vary_proto::{
    model::timestamp_from_time,
    pb::{self, event::Kind, event_ingest_service_client::EventIngestServiceClient},
};
use vary_tests::{TestControlPlane, auth::TestToken, fixtures};

const EXPERIMENT: &str = "console_smoke";

fn console_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../console")
}

/// Exposures for `units` users per variant, as the agent would record them after the
/// start (version 2, at `revision`), and an add-to-cart for `converted` of them.
fn events(at: OffsetDateTime, revision: i64, arms: [(&str, usize, usize); 2]) -> Vec<pb::Event> {
    let mut events = Vec::new();
    for (variant, units, converted) in arms {
        for unit in 0..units {
            let user = format!("{variant}-{unit}");
            events.push(pb::Event {
                kind: Some(Kind::Exposure(pb::ExposureEvent {
                    event_id: Uuid::now_v7().to_string(),
                    experiment_key: EXPERIMENT.into(),
                    experiment_version: 2,
                    variant_key: variant.into(),
                    unit_type: pb::UnitType::User as i32,
                    unit_id: user.clone(),
                    user_id: user.clone(),
                    placement: "pdp".into(),
                    config_revision: revision,
                    time: Some(timestamp_from_time(at)),
                    ..Default::default()
                })),
            });
            if unit < converted {
                events.push(pb::Event {
                    kind: Some(Kind::Outcome(pb::OutcomeEvent {
                        event_id: Uuid::now_v7().to_string(),
                        event_type: "add_to_cart".into(),
                        user_id: user,
                        time: Some(timestamp_from_time(at + Duration::seconds(5))),
                        ..Default::default()
                    })),
                });
            }
        }
    }
    events
}

#[tokio::test]
#[ignore = "needs console/dist (npm run build) and Chromium: scripts/test runs it"]
async fn the_console_signs_in_shows_results_and_pauses_an_experiment() {
    let dist = console_root().join("dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} has no index.html: build the console first (cd console && npm ci && npm run build; \
         scripts/test does)",
        dist.display()
    );
    let server = TestControlPlane::start_with_console(&dist).await.expect("control plane");
    let revision = server.create_and_start(EXPERIMENT).await;
    let at = OffsetDateTime::now_utc() + Duration::seconds(1);
    let mut ingest = EventIngestServiceClient::new(server.channel().await.expect("channel"));
    let stored = ingest
        .ingest_events(pb::IngestEventsRequest {
            events: events(at, revision, [("control", 400, 40), ("treatment", 400, 60)]),
            source: "console-test".into(),
        })
        .await
        .expect("ingest")
        .into_inner();
    assert!(stored.rejections.is_empty(), "{:?}", stored.rejections.first());

    let admin = TestToken::of(Role::Admin);
    // Asynchronously: the control plane runs on this test's runtime and must keep serving.
    let output = tokio::process::Command::new("node")
        .arg("e2e/smoke.mjs")
        .current_dir(console_root())
        .env("VARY_E2E_URL", server.endpoint())
        .env("VARY_E2E_TOKEN", admin.secret)
        .env("VARY_E2E_PRINCIPAL", admin.principal)
        .env("VARY_E2E_EXPERIMENT", EXPERIMENT)
        .output()
        .await
        .expect("run node (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the smoke script failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("smoke: ok"), "the smoke script did not finish:\n{stdout}");

    // The pause clicked in the browser is a real version, by the signed-in principal.
    let mut experiments = server.experiments().await.expect("client");
    let experiment = fixtures::current(&mut experiments, EXPERIMENT).await;
    assert_eq!(experiment.status, pb::ExperimentStatus::Paused as i32);
    let version = experiments
        .get_experiment_version(pb::GetExperimentVersionRequest {
            key: EXPERIMENT.into(),
            version: experiment.version,
        })
        .await
        .expect("version")
        .into_inner()
        .version
        .expect("version");
    assert_eq!(
        (version.action.as_str(), version.actor.as_str(), version.change_note.as_str()),
        ("pause", admin.principal, "paused from the console smoke test")
    );
}

/// The console's API client itself (generated types, gRPC-Web transport, the Bearer
/// interceptor) from Node against a real control plane: `console/test/live.test.ts`,
/// which Vitest skips unless it is pointed at a server, as here.
#[tokio::test]
#[ignore = "needs console's node_modules and generated client (npm ci, npm run build): scripts/test runs it"]
async fn the_consoles_api_client_works_against_a_real_control_plane() {
    let dist = console_root().join("dist");
    let server = TestControlPlane::start_with_console(&dist).await.expect("control plane");
    let admin = TestToken::of(Role::Admin);
    let output = tokio::process::Command::new("npx")
        .args(["vitest", "run", "test/live.test.ts"])
        .current_dir(console_root())
        .env("VARY_LIVE_URL", server.endpoint())
        .env("VARY_LIVE_TOKEN", admin.secret)
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("run npx (is Node.js installed?)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "live.test.ts failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // Vitest exits 0 when everything is skipped too: the tests must have run.
    assert!(!stdout.contains("skipped"), "live.test.ts skipped tests:\n{stdout}");
    assert!(stdout.contains("passed"), "no test passed:\n{stdout}");
}
