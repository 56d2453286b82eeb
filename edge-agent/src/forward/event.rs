//! Building `pb::Event`s: exposures from an engine assignment or a rendered assignment,
//! outcomes from a `Track` request with their id and time filled in.
//!
//! Event ids are UUIDv7: time-ordered, so the control plane's unique index on them stays
//! append-mostly, and made here, so a retried batch carries the same ids and ingest can
//! skip what it already stored.

use time::OffsetDateTime;
use uuid::Uuid;
use vary_proto::{
    assign::{Assignment, Reason, UnitType},
    pb,
};

/// The request-wide fields every exposure of one `Assign` (or `LogExposure`) shares.
#[derive(Debug, Clone, Copy)]
pub struct ExposureContext<'a> {
    /// Which id was bucketed.
    pub unit_type: UnitType,
    /// The bucketed id.
    pub unit_id: &'a str,
    /// The request's user id (may be empty).
    pub user_id: &'a str,
    /// The request's session id (may be empty).
    pub session_id: &'a str,
    /// Where the variants render.
    pub placement: &'a str,
    /// The config revision that assigned.
    pub config_revision: i64,
    /// When (the agent's clock, read once per request).
    pub time: OffsetDateTime,
}

/// What one exposure is of.
#[derive(Debug, Clone, Copy)]
pub struct Exposed<'a> {
    /// The experiment.
    pub experiment_key: &'a str,
    /// Its version.
    pub experiment_version: i64,
    /// The variant.
    pub variant_key: &'a str,
    /// A QA override chose it.
    pub forced: bool,
}

/// A fresh event id: a UUIDv7 in its hyphenated text form.
pub fn new_event_id() -> String {
    // Straight into a stack buffer: `to_string` would go through the formatter, a
    // measurable share of an exposure's cost on the `Assign` path.
    let mut buffer = Uuid::encode_buffer();
    String::from(&*Uuid::now_v7().hyphenated().encode_lower(&mut buffer))
}

/// One exposure event with a fresh id.
pub fn exposure_event(context: &ExposureContext<'_>, exposed: Exposed<'_>) -> pb::Event {
    let exposure = pb::ExposureEvent {
        event_id: new_event_id(),
        experiment_key: exposed.experiment_key.to_owned(),
        experiment_version: exposed.experiment_version,
        variant_key: exposed.variant_key.to_owned(),
        unit_type: unit_type(context.unit_type) as i32,
        unit_id: context.unit_id.to_owned(),
        user_id: context.user_id.to_owned(),
        session_id: context.session_id.to_owned(),
        placement: context.placement.to_owned(),
        forced: exposed.forced,
        config_revision: context.config_revision,
        time: Some(timestamp(context.time)),
    };
    pb::Event { kind: Some(pb::event::Kind::Exposure(exposure)) }
}

/// The exposures an `Assign` answer implies: one per assignment whose engine flag says
/// to log it. Hash and override assignments log (overrides with `forced`); rollouts do
/// not, because every eligible unit gets the rollout variant and there is nothing to
/// compare.
pub fn exposures_for_assignments<'c>(
    context: &'c ExposureContext<'c>,
    assignments: &'c [Assignment<'_>],
) -> impl Iterator<Item = pb::Event> + 'c {
    assignments.iter().filter(|assignment| assignment.log_exposure).map(|assignment| {
        debug_assert!(assignment.reason != Reason::Rollout, "the engine never logs rollouts");
        exposure_event(
            context,
            Exposed {
                experiment_key: assignment.experiment_key,
                experiment_version: assignment.version,
                variant_key: assignment.variant_key,
                forced: assignment.forced,
            },
        )
    })
}

/// An outcome ready to queue: a fresh id when the caller sent none (a caller-made id is
/// kept, so an app that retries `Track` is deduplicated upstream), and `now` when the
/// caller sent no time.
pub fn outcome_event(mut outcome: pb::OutcomeEvent, now: OffsetDateTime) -> pb::Event {
    if outcome.event_id.is_empty() {
        outcome.event_id = new_event_id();
    }
    if outcome.time.is_none() {
        outcome.time = Some(timestamp(now));
    }
    pb::Event { kind: Some(pb::event::Kind::Outcome(outcome)) }
}

/// The id of either kind of event ("" for an event with no kind).
pub fn event_id(event: &pb::Event) -> &str {
    match &event.kind {
        Some(pb::event::Kind::Exposure(exposure)) => &exposure.event_id,
        Some(pb::event::Kind::Outcome(outcome)) => &outcome.event_id,
        None => "",
    }
}

/// The engine's unit type on the wire.
pub fn unit_type(unit_type: UnitType) -> pb::UnitType {
    match unit_type {
        UnitType::User => pb::UnitType::User,
        UnitType::Session => pb::UnitType::Session,
        UnitType::None => pb::UnitType::Unspecified,
    }
}

/// `time` as a protobuf timestamp.
pub fn timestamp(time: OffsetDateTime) -> prost_types::Timestamp {
    let nanos = time.unix_timestamp_nanos();
    let seconds = nanos.div_euclid(1_000_000_000);
    let subsec = nanos.rem_euclid(1_000_000_000);
    prost_types::Timestamp {
        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        nanos: i32::try_from(subsec).expect("a remainder of 1e9 fits in i32"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// 2026-11-22 12:00:00.5 UTC.
    const NOW_NANOS: i128 = 1_795_348_800_500_000_000;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(NOW_NANOS).expect("in range")
    }

    fn context() -> ExposureContext<'static> {
        ExposureContext {
            unit_type: UnitType::User,
            unit_id: "u1",
            user_id: "u1",
            session_id: "s1",
            placement: "pdp",
            config_revision: 7,
            time: now(),
        }
    }

    fn assignment<'a>(
        key: &'a str,
        reason: Reason,
        params: &'a Arc<prost_types::Struct>,
    ) -> Assignment<'a> {
        Assignment {
            experiment_key: key,
            version: 3,
            variant_key: "treatment",
            params,
            reason,
            layer: None,
            forced: reason == Reason::Override,
            log_exposure: reason != Reason::Rollout,
            experiment_index: 0,
            variant_index: 0,
        }
    }

    fn exposure(event: &pb::Event) -> &pb::ExposureEvent {
        match &event.kind {
            Some(pb::event::Kind::Exposure(exposure)) => exposure,
            other => panic!("not an exposure: {other:?}"),
        }
    }

    #[test]
    fn hash_and_override_assignments_log_and_rollouts_do_not() {
        let params = Arc::new(prost_types::Struct::default());
        let assignments = [
            assignment("a", Reason::Hash, &params),
            assignment("b", Reason::Override, &params),
            assignment("c", Reason::Rollout, &params),
        ];
        let context = context();
        let events: Vec<_> = exposures_for_assignments(&context, &assignments).collect();
        let keys: Vec<_> = events.iter().map(|e| exposure(e).experiment_key.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert!(!exposure(&events[0]).forced);
        assert!(exposure(&events[1]).forced, "an override exposure is forced");
    }

    #[test]
    fn an_exposure_carries_the_request_and_the_assignment() {
        let context = context();
        let event = exposure_event(
            &context,
            Exposed {
                experiment_key: "recs",
                experiment_version: 4,
                variant_key: "b",
                forced: false,
            },
        );
        let exposure = exposure(&event);
        let id = Uuid::parse_str(&exposure.event_id).expect("a uuid");
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(exposure.unit_type, pb::UnitType::User as i32);
        assert_eq!(
            (exposure.unit_id.as_str(), exposure.user_id.as_str(), exposure.session_id.as_str()),
            ("u1", "u1", "s1")
        );
        assert_eq!((exposure.placement.as_str(), exposure.config_revision), ("pdp", 7));
        assert_eq!((exposure.experiment_version, exposure.variant_key.as_str()), (4, "b"));
        assert_eq!(
            exposure.time,
            Some(prost_types::Timestamp { seconds: now().unix_timestamp(), nanos: 500_000_000 })
        );
    }

    #[test]
    fn outcome_ids_and_times_are_filled_only_when_empty() {
        let filled = outcome_event(pb::OutcomeEvent::default(), now());
        assert!(Uuid::parse_str(event_id(&filled)).is_ok());
        let given_time = prost_types::Timestamp { seconds: 5, nanos: 0 };
        let kept = outcome_event(
            pb::OutcomeEvent {
                event_id: "0193a1b2-0000-7000-8000-000000000001".into(),
                time: Some(given_time),
                ..Default::default()
            },
            now(),
        );
        assert_eq!(event_id(&kept), "0193a1b2-0000-7000-8000-000000000001");
        let Some(pb::event::Kind::Outcome(outcome)) = kept.kind else { panic!("an outcome") };
        assert_eq!(outcome.time, Some(given_time));
    }

    #[test]
    fn event_ids_are_unique_and_time_ordered() {
        let ids: Vec<String> = (0..1_000).map(|_| new_event_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "v7 ids made in sequence sort in sequence, without repeats");
    }

    #[test]
    fn timestamps_before_the_epoch_keep_positive_nanos() {
        let before = OffsetDateTime::UNIX_EPOCH - time::Duration::milliseconds(1_500);
        assert_eq!(timestamp(before), prost_types::Timestamp { seconds: -2, nanos: 500_000_000 });
    }
}
