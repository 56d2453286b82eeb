//! `results` against a real control plane with events seeded through the ingest API.

use time::{Duration, OffsetDateTime};
use vary_proto::{
    model::timestamp_from_time,
    pb::{self, event::Kind, event_ingest_service_client::EventIngestServiceClient},
};
use vary_tests::fixtures;

use super::Env;

/// Creates `key` from the fixture spec (50/50 control/treatment, primary metric
/// add_to_cart_rate), optionally starts it, and returns a time just after the start.
async fn create_experiment(env: &Env, key: &str, start: bool) -> OffsetDateTime {
    let mut client = env.server.experiments().await.expect("client");
    let request = pb::CreateExperimentRequest {
        key: key.into(),
        spec: Some(fixtures::spec(key)),
        change_note: String::new(),
    };
    client.create_experiment(request).await.expect("create");
    if start {
        let request = pb::StartExperimentRequest { key: key.into(), ..Default::default() };
        client.start_experiment(request).await.expect("start");
    }
    OffsetDateTime::now_utc() + Duration::seconds(1)
}

/// A UUID-shaped event id, unique within one test's database.
fn event_id(number: usize) -> String {
    format!("00000000-0000-4000-8000-{number:012x}")
}

/// An unforced exposure of `unit` to `variant` of version 2 (the one `start` wrote).
fn exposure(id: String, key: &str, unit: &str, variant: &str, at: OffsetDateTime) -> pb::Event {
    pb::Event {
        kind: Some(Kind::Exposure(pb::ExposureEvent {
            event_id: id,
            experiment_key: key.into(),
            experiment_version: 2,
            variant_key: variant.into(),
            unit_type: pb::UnitType::User as i32,
            unit_id: unit.into(),
            user_id: unit.into(),
            session_id: format!("s-{unit}"),
            placement: "pdp".into(),
            forced: false,
            config_revision: 1,
            time: Some(timestamp_from_time(at)),
        })),
    }
}

/// An add-to-cart by `user`.
fn add_to_cart(id: String, user: &str, at: OffsetDateTime) -> pb::Event {
    pb::Event {
        kind: Some(Kind::Outcome(pb::OutcomeEvent {
            event_id: id,
            event_type: "add_to_cart".into(),
            user_id: user.into(),
            placement: "pdp".into(),
            time: Some(timestamp_from_time(at)),
            ..Default::default()
        })),
    }
}

/// Exposes `units` users per variant and has the first `converted` of each add to cart.
async fn seed(env: &Env, key: &str, at: OffsetDateTime, arms: [(&str, usize, usize); 2]) {
    let mut events = Vec::new();
    for (variant, units, converted) in arms {
        for unit in 0..units {
            let user = format!("{variant}-{unit}");
            events.push(exposure(event_id(events.len()), key, &user, variant, at));
            if unit < converted {
                events.push(add_to_cart(event_id(events.len()), &user, at + Duration::seconds(5)));
            }
        }
    }
    let mut client = EventIngestServiceClient::new(env.server.channel().await.expect("channel"));
    let request = pb::IngestEventsRequest { events, source: "varyctl-test".into() };
    let response = client.ingest_events(request).await.expect("ingest").into_inner();
    assert!(response.rejections.is_empty(), "{:?}", response.rejections.first());
}

#[tokio::test]
async fn results_print_the_split_check_and_every_variant_of_each_metric() {
    let env = Env::start().await;
    let at = create_experiment(&env, "ymal", true).await;
    seed(&env, "ymal", at, [("control", 400, 40), ("treatment", 400, 80)]).await;

    let table = env.varyctl(&["results", "ymal"]).await;
    table.assert_code(0);
    let stdout = &table.stdout;
    for expected in [
        "Experiment:    ymal",
        "Phase:         1 of 1",
        "Sample ratio:  OK",
        "add_to_cart_rate (PRIMARY, conversion, higher is better)",
        "10.00%",
        "20.00%",
        "+10.00pp",
        "▲ significant, better",
        "Guardrails: none",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing from:\n{stdout}");
    }
    let rows: Vec<&str> = stdout.lines().filter(|line| line.starts_with("treatment")).collect();
    assert_eq!(rows.len(), 2, "a units row and a metric row:\n{stdout}");
    assert!(stdout.lines().any(|line| line.starts_with("control (control)")), "{stdout}");

    let json = env.varyctl(&["-o", "json", "results", "ymal", "--phase", "1"]).await;
    json.assert_code(0);
    let view: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let units: Vec<(&str, i64)> = view["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|units| {
            (units["variant_key"].as_str().expect("key"), units["units"].as_i64().expect("n"))
        })
        .collect();
    assert_eq!(units, [("control", 400), ("treatment", 400)]);
    assert_eq!(view["sample_ratio"]["mismatch"], false);
    assert_eq!(view["metrics"][0]["role"], "PRIMARY");
    assert_eq!(view["metrics"][0]["variants"][1]["comparison"]["significant"], true);

    let missing_phase = env.varyctl(&["results", "ymal", "--phase", "2"]).await;
    missing_phase.assert_code(1);
    assert!(missing_phase.stderr.contains("phase"), "{}", missing_phase.stderr);
}

#[tokio::test]
async fn results_of_a_draft_are_refused_with_the_servers_reason() {
    let env = Env::start().await;
    create_experiment(&env, "draft", false).await;
    let run = env.varyctl(&["results", "draft"]).await;
    run.assert_code(1);
    assert!(run.stderr.contains("FAILED_PRECONDITION"), "{}", run.stderr);
    assert!(run.stderr.contains("has not run yet"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}
