use time::{Duration, OffsetDateTime};
use vary_control_plane::analysis::aggregate::{
    Strategy, Window, exposure_summary, exposure_summary_with, metric_sums, metrics_sums,
    metrics_sums_with,
};
use vary_proto::{
    model::{Metric, MetricDirection, MetricKind, MetricRole, timestamp_from_time},
    pb::{self, event::Kind},
};
use vary_tests::TestControlPlane;

use crate::ingest::{exposure, ids, ingest, outcome};

fn metric(
    kind: MetricKind,
    event_type: &str,
    denominator: Option<&str>,
    window: Option<u64>,
) -> Metric {
    Metric {
        key: "m".into(),
        role: MetricRole::Primary,
        kind,
        event_type: event_type.into(),
        denominator_event_type: denominator.map(str::to_owned),
        attribution_window_seconds: window,
        direction: MetricDirection::Increase,
        guardrail: None,
    }
}

fn session_exposure(id: &str, session: &str, variant: &str, at: OffsetDateTime) -> pb::Event {
    let mut event = exposure(id, session, variant, at, false);
    if let Some(Kind::Exposure(exposure)) = &mut event.kind {
        exposure.unit_type = pb::UnitType::Session as i32;
        exposure.user_id = String::new();
        exposure.session_id = session.into();
    }
    event
}

fn session_outcome(id: &str, session: &str, event_type: &str, at: OffsetDateTime) -> pb::Event {
    pb::Event {
        kind: Some(Kind::Outcome(pb::OutcomeEvent {
            event_id: id.into(),
            event_type: event_type.into(),
            session_id: session.into(),
            time: Some(timestamp_from_time(at)),
            ..Default::default()
        })),
    }
}

/// Per-unit aggregation over events sent through the real ingest path, checked against
/// sums worked out by hand.
#[tokio::test]
async fn per_variant_sums_follow_units_from_their_first_exposure() {
    let server = TestControlPlane::start().await.expect("control plane");
    let t0 = OffsetDateTime::now_utc() - Duration::days(2);
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let id = ids(40);
    let mut next = id.iter();
    let mut n = || next.next().expect("enough ids").as_str();
    let events = vec![
        // control: u1, u2, and session unit s9; treatment: u4, u5; u6 saw both; qa forced.
        exposure(n(), "u1", "control", at(10), false),
        exposure(n(), "u1", "control", at(20), false),
        exposure(n(), "u2", "control", at(10), false),
        session_exposure(n(), "s9", "control", at(10)),
        exposure(n(), "u4", "treatment", at(10), false),
        exposure(n(), "u5", "treatment", at(10), false),
        exposure(n(), "u6", "control", at(10), false),
        exposure(n(), "u6", "treatment", at(11), false),
        exposure(n(), "qa", "treatment", at(10), true),
        // u1: one add_to_cart before exposure (ignored), one after; u2: two, with values.
        outcome(n(), "u1", "add_to_cart", at(5), Some(100.0)),
        outcome(n(), "u1", "add_to_cart", at(15), Some(10.0)),
        outcome(n(), "u2", "add_to_cart", at(30), Some(20.0)),
        outcome(n(), "u2", "add_to_cart", at(31), Some(5.0)),
        session_outcome(n(), "s9", "add_to_cart", at(12)),
        // u4: three add_to_cart, the last 2 hours after exposure (outside a 1 h window).
        outcome(n(), "u4", "add_to_cart", at(11), Some(1.0)),
        outcome(n(), "u4", "add_to_cart", at(12), Some(2.0)),
        outcome(n(), "u4", "add_to_cart", at(130), Some(3.0)),
        // Clicks and impressions for a ratio: u4 2 clicks / 4 impressions, u5 0 / 2.
        outcome(n(), "u4", "click", at(20), None),
        outcome(n(), "u4", "click", at(21), None),
        outcome(n(), "u4", "impression", at(20), None),
        outcome(n(), "u4", "impression", at(20), None),
        outcome(n(), "u4", "impression", at(21), None),
        outcome(n(), "u4", "impression", at(21), None),
        outcome(n(), "u5", "impression", at(20), None),
        outcome(n(), "u5", "impression", at(22), None),
        // Outcomes of excluded units count nowhere.
        outcome(n(), "u6", "add_to_cart", at(20), None),
        outcome(n(), "qa", "add_to_cart", at(20), None),
    ];
    let response = ingest(&server, events).await.expect("ingest");
    assert_eq!(response.rejections, []);

    let pool =
        vary_control_plane::db::connect_pool(&server.database.url.clone().into(), 2).expect("pool");
    let window = Window { experiment_key: "reco_ymal_v1", start: t0, end: None };
    let summary = exposure_summary(&pool, &window).await.expect("summary");
    assert_eq!(summary.units, [("control".to_owned(), 3), ("treatment".to_owned(), 2)].into());
    assert_eq!((summary.units_in_several_variants, summary.forced_exposures), (1, 1));

    let conversion =
        metric_sums(&pool, &window, &metric(MetricKind::Conversion, "add_to_cart", None, None))
            .await
            .expect("sums");
    let control = &conversion["control"];
    // Per unit n: u1 = 1, u2 = 2, s9 = 1; v: 10, 25, 0.
    assert_eq!((control.units, control.converted_units), (3, 3));
    assert_eq!((control.numerator_events, control.numerator_events_squared), (4.0, 6.0));
    assert_eq!((control.numerator_value, control.numerator_value_squared), (35.0, 725.0));
    assert_eq!(control.value_events_cross, 10.0 + 50.0);
    let treatment = &conversion["treatment"];
    // u4 = 3 events (values 1, 2, 3), u5 = 0.
    assert_eq!(
        (treatment.units, treatment.converted_units, treatment.numerator_events),
        (2, 1, 3.0)
    );

    let windowed =
        metric_sums(&pool, &window, &metric(MetricKind::Sum, "add_to_cart", None, Some(3_600)))
            .await
            .expect("sums");
    assert_eq!(
        (windowed["treatment"].numerator_events, windowed["treatment"].numerator_value),
        (2.0, 3.0)
    );

    let ctr =
        metric_sums(&pool, &window, &metric(MetricKind::Ratio, "click", Some("impression"), None))
            .await
            .expect("sums");
    let treatment = &ctr["treatment"];
    assert_eq!((treatment.numerator_events, treatment.denominator_events), (2.0, 6.0));
    assert_eq!((treatment.denominator_events_squared, treatment.events_cross), (16.0 + 4.0, 8.0));
    assert_eq!(ctr["control"].denominator_events, 0.0);

    // One pass over several metrics gives each the same sums as a pass of its own.
    let several = [
        metric(MetricKind::Ratio, "click", Some("impression"), None),
        metric(MetricKind::Conversion, "add_to_cart", None, None),
        metric(MetricKind::Sum, "add_to_cart", None, Some(3_600)),
    ];
    let together = metrics_sums(&pool, &window, &several).await.expect("one pass");
    assert_eq!(together, vec![ctr.clone(), conversion.clone(), windowed.clone()]);

    let later = Window { start: at(100), ..window };
    assert!(exposure_summary(&pool, &later).await.expect("summary").units.is_empty());
}

/// However the data is read (streaming or probing, in one range of unit ids or split at
/// boundaries that fall on units, between them and outside them), the sums are the same.
#[tokio::test]
async fn every_strategy_gives_the_same_sums() {
    let server = TestControlPlane::start().await.expect("control plane");
    let t0 = OffsetDateTime::now_utc() - Duration::days(2);
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let id = ids(400);
    let mut next = id.iter();
    let mut n = || next.next().expect("enough ids").as_str();
    let mut events = Vec::new();
    for unit in 0..24_i64 {
        let user = format!("u{unit:02}");
        let variant = if unit % 2 == 0 { "control" } else { "treatment" };
        events.push(exposure(n(), &user, variant, at(10 + unit % 5), false));
        for event in 0..(unit % 4) {
            let value = Some((unit * 10 + event) as f64);
            events.push(outcome(n(), &user, "add_to_cart", at(12 + event * 30), value));
            events.push(outcome(n(), &user, "impression", at(11 + event), None));
        }
        if unit % 3 == 0 {
            events.push(outcome(n(), &user, "click", at(50), None));
            events.push(outcome(n(), &user, "add_to_cart", at(5), Some(1_000.0)));
        }
    }
    for session in ["s1", "s2", "u05"] {
        events.push(session_exposure(n(), session, "treatment", at(10)));
        events.push(session_outcome(n(), session, "add_to_cart", at(20)));
        events.push(session_outcome(n(), session, "impression", at(21)));
    }
    events.push(exposure(n(), "u99", "control", at(10), false));
    events.push(exposure(n(), "u99", "treatment", at(12), false));
    events.push(outcome(n(), "u99", "add_to_cart", at(20), None));
    events.push(exposure(n(), "qa", "treatment", at(10), true));
    let response = ingest(&server, events).await.expect("ingest");
    assert_eq!(response.rejections, []);

    let pool =
        vary_control_plane::db::connect_pool(&server.database.url.clone().into(), 2).expect("pool");
    let window = Window { experiment_key: "reco_ymal_v1", start: t0, end: None };
    let metrics = [
        metric(MetricKind::Conversion, "add_to_cart", None, None),
        metric(MetricKind::Ratio, "click", Some("impression"), None),
        metric(MetricKind::Sum, "add_to_cart", None, Some(3_600)),
        metric(MetricKind::Mean, "add_to_cart", None, None),
    ];
    let summary = exposure_summary(&pool, &window).await.expect("summary");
    let sums = metrics_sums(&pool, &window, &metrics).await.expect("sums");
    assert_eq!(summary.units.values().sum::<i64>(), 24 + 2);
    assert_eq!((summary.units_in_several_variants, summary.forced_exposures), (1, 1));
    assert_eq!(sums[0]["treatment"].units, 12 + 2);
    let boundaries = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
    for streaming in [true, false] {
        for split in [&[][..], &["u05"], &["0", "s2", "u04", "u07x", "u99", "zz"]] {
            let strategy = Strategy { streaming, boundaries: boundaries(split) };
            let other = exposure_summary_with(&pool, &window, &strategy).await.expect("summary");
            assert_eq!(other, summary, "{strategy:?}");
            let other = metrics_sums_with(&pool, &window, &metrics, &strategy).await.expect("sums");
            assert_eq!(other, sums, "{strategy:?}");
        }
    }
}
