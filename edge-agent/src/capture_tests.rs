//! The capture service's checks, ids and queueing, without a network.

use std::sync::Arc;

use tokio::sync::mpsc;
use vary_proto::assign::{Assignment, Reason, Unit};

use super::*;
use crate::forward::{Counters, event::event_id};

fn sink(capacity: usize) -> (EventSink, mpsc::Receiver<pb::Event>) {
    let (queue, receiver) = mpsc::channel(capacity);
    // An overflow channel whose reader is gone: a full queue means a drop.
    let (overflow, _) = mpsc::channel(1);
    (EventSink::new(queue, overflow, Arc::new(Counters::default())), receiver)
}

fn click(user_id: &str) -> pb::OutcomeEvent {
    pb::OutcomeEvent { event_type: "click".into(), user_id: user_id.into(), ..Default::default() }
}

fn track(events: Vec<pb::OutcomeEvent>) -> Result<Vec<pb::Event>, Status> {
    outcomes_from_request(pb::TrackRequest { events }, OffsetDateTime::now_utc())
}

fn message(result: Result<Vec<pb::Event>, Status>) -> String {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    status.message().to_owned()
}

#[test]
fn track_fills_missing_ids_and_keeps_given_ones() {
    let given = "01937f3e-8c4a-7b2e-9c1d-0123456789ab";
    let events =
        track(vec![click("u1"), pb::OutcomeEvent { event_id: given.into(), ..click("u2") }])
            .expect("valid");
    assert!(Uuid::try_parse(event_id(&events[0])).is_ok());
    assert_eq!(event_id(&events[1]), given, "an app retry keeps its id");
}

#[test]
fn track_refusals_name_the_event_and_field() {
    let bad_type = pb::OutcomeEvent { event_type: "Add To Cart".into(), ..click("u") };
    assert!(message(track(vec![click("u"), bad_type])).starts_with("events[1].event_type: "));
    let no_unit = pb::OutcomeEvent { user_id: String::new(), ..click("") };
    assert!(message(track(vec![no_unit])).starts_with("events[0].user_id: or session_id"));
    let long_id = click(&"u".repeat(257));
    assert!(message(track(vec![long_id])).starts_with("events[0].user_id: must be at most 256"));
    let bad_id = pb::OutcomeEvent { event_id: "not-a-uuid".into(), ..click("u") };
    assert!(message(track(vec![bad_id])).starts_with("events[0].event_id: "));
    let nan = pb::OutcomeEvent { value: Some(f64::NAN), ..click("u") };
    assert!(message(track(vec![nan])).starts_with("events[0].value: "));
    let big =
        pb::OutcomeEvent { properties: [("k".to_owned(), "v".repeat(9_000))].into(), ..click("u") };
    assert!(message(track(vec![big])).starts_with("events[0].properties: "));
    let future = pb::OutcomeEvent {
        time: Some(crate::forward::event::timestamp(
            OffsetDateTime::now_utc() + time::Duration::hours(2),
        )),
        ..click("u")
    };
    assert!(message(track(vec![future])).starts_with("events[0].time: "));
}

#[test]
fn event_type_names_follow_the_control_planes_rule() {
    for good in ["click", "add_to_cart", "page_load_ms", "a1"] {
        assert!(is_event_type(good), "{good}");
    }
    for bad in ["", "Click", "1click", "_x", "add-to-cart", &"a".repeat(65)] {
        assert!(!is_event_type(bad), "{bad}");
    }
}

#[test]
fn log_exposure_builds_one_exposure_per_rendered_assignment() {
    let request = pb::LogExposureRequest {
        session_id: "s9".into(),
        placement: "home".into(),
        config_revision: 12,
        assignments: vec![pb::RenderedAssignment {
            experiment_key: "recs-model".into(),
            experiment_version: 2,
            variant_key: "treatment".into(),
            forced: true,
        }],
        ..Default::default()
    };
    let events = exposures_from_request(&request, OffsetDateTime::now_utc()).expect("valid");
    let Some(pb::event::Kind::Exposure(exposure)) = &events[0].kind else { panic!("exposure") };
    assert_eq!(exposure.unit_type, pb::UnitType::Session as i32, "no user id: session unit");
    assert_eq!((exposure.unit_id.as_str(), exposure.placement.as_str()), ("s9", "home"));
    assert!(exposure.forced);
    assert_eq!(exposure.config_revision, 12);

    let bad = pb::LogExposureRequest {
        assignments: vec![pb::RenderedAssignment {
            variant_key: "Treatment".into(),
            ..request.assignments[0].clone()
        }],
        ..request
    };
    let status = exposures_from_request(&bad, OffsetDateTime::now_utc()).expect_err("bad key");
    assert!(status.message().starts_with("assignments[0].variant_key: "), "{}", status.message());
}

#[test]
fn a_full_queue_answers_resource_exhausted() {
    let (sink, _receiver) = sink(1);
    let ids = queue(&sink, track(vec![click("a")]).expect("valid")).expect("room for one");
    assert_eq!(ids.len(), 1);
    let status = queue(&sink, track(vec![click("b")]).expect("valid")).expect_err("full");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert_eq!(sink.counters().snapshot().dropped_queue_full, 1);
}

#[test]
fn assign_logs_exposures_unless_the_request_opts_out() {
    let params = Arc::new(prost_types::Struct::default());
    let request = AssignRequest { user_id: "u1".into(), ..Default::default() };
    let assignment = |key, reason| Assignment {
        experiment_key: key,
        version: 1,
        variant_key: "control",
        params: &params,
        reason,
        layer: None,
        forced: reason == Reason::Override,
        log_exposure: reason != Reason::Rollout,
        experiment_index: 0,
        variant_index: 0,
    };
    let result = Assignments {
        revision: 5,
        unit: Unit { unit_type: UnitType::User, id: "u1" },
        assignments: vec![
            assignment("hashed", Reason::Hash),
            assignment("overridden", Reason::Override),
            assignment("rolled-out", Reason::Rollout),
        ],
    };
    let (sink, mut receiver) = sink(16);
    let now = OffsetDateTime::now_utc();
    record_assign_exposures(&sink, Some(false), &request, &result, now);
    assert!(receiver.try_recv().is_err(), "opted out: nothing");
    record_assign_exposures(&sink, None, &request, &result, now);
    let mut keys = Vec::new();
    while let Ok(event) = receiver.try_recv() {
        let Some(pb::event::Kind::Exposure(exposure)) = event.kind else { panic!("exposure") };
        keys.push((exposure.experiment_key, exposure.forced, exposure.config_revision));
    }
    assert_eq!(keys, [("hashed".into(), false, 5), ("overridden".into(), true, 5)]);
}
