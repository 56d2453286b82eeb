//! Per-event validation: each event is kept or refused on its own, with a reason code
//! and a message naming the field (`events[3].outcome.time: …`).

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use vary_proto::{
    model::{check_slug, time_from_timestamp},
    pb::{self, EventRejectionReason as Reason, event::Kind},
};

/// Longest id (user, session, unit, item) accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Most properties an outcome may carry.
pub const MAX_PROPERTIES: usize = 64;
/// Largest total size of an outcome's property names and values, in bytes.
pub const MAX_PROPERTY_BYTES: usize = 8 * 1024;
/// How far in the future of this server's clock an event may be stamped (clock skew).
pub const MAX_FUTURE_SKEW: Duration = Duration::minutes(5);

/// An exposure ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// Idempotency key.
    pub event_id: Uuid,
    /// When it happened.
    pub occurred_at: OffsetDateTime,
    /// The experiment.
    pub experiment_key: String,
    /// Its version.
    pub experiment_version: i64,
    /// The variant seen.
    pub variant_key: String,
    /// `user` or `session`.
    pub unit_type: &'static str,
    /// The bucketed id.
    pub unit_id: String,
    /// The request's user id, if any.
    pub user_id: Option<String>,
    /// The request's session id, if any.
    pub session_id: Option<String>,
    /// Where it rendered.
    pub placement: Option<String>,
    /// A QA override.
    pub forced: bool,
    /// The config revision that assigned.
    pub config_revision: i64,
}

/// An outcome ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Idempotency key.
    pub event_id: Uuid,
    /// When it happened.
    pub occurred_at: OffsetDateTime,
    /// impression, click, add_to_cart, purchase or a custom name.
    pub event_type: String,
    /// The user, if known.
    pub user_id: Option<String>,
    /// The session, if known.
    pub session_id: Option<String>,
    /// Where it happened.
    pub placement: Option<String>,
    /// The item concerned.
    pub item_id: Option<String>,
    /// Revenue, milliseconds…
    pub value: Option<f64>,
    /// Free-form properties.
    pub properties: BTreeMap<String, String>,
}

/// A valid event of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidEvent {
    /// An exposure.
    Exposure(Exposure),
    /// An outcome.
    Outcome(Outcome),
}

/// Why one event was refused; becomes a `vary.v1.EventRejection`.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The reason code.
    pub reason: Reason,
    /// The message, with the field path inside the event (`outcome.time`).
    pub message: String,
}

fn refuse(reason: Reason, field: &str, what: impl std::fmt::Display) -> Refusal {
    Refusal { reason, message: format!("{field}: {what}") }
}

/// Validates one event against `now`.
pub fn validate_event(event: pb::Event, now: OffsetDateTime) -> Result<ValidEvent, Refusal> {
    match event.kind {
        None => Err(refuse(Reason::UnknownKind, "kind", "must be an exposure or an outcome")),
        Some(Kind::Exposure(exposure)) => {
            validate_exposure(exposure, now).map(ValidEvent::Exposure)
        }
        Some(Kind::Outcome(outcome)) => validate_outcome(outcome, now).map(ValidEvent::Outcome),
    }
}

fn validate_exposure(message: pb::ExposureEvent, now: OffsetDateTime) -> Result<Exposure, Refusal> {
    let event_id = event_id("exposure.event_id", &message.event_id)?;
    let occurred_at = occurred_at("exposure.time", message.time.as_ref(), now)?;
    check_slug("experiment_key", &message.experiment_key)
        .map_err(|error| refuse(Reason::InvalidField, "exposure.experiment_key", error.message))?;
    check_slug("variant_key", &message.variant_key)
        .map_err(|error| refuse(Reason::InvalidField, "exposure.variant_key", error.message))?;
    if message.experiment_version < 1 {
        return Err(refuse(Reason::InvalidField, "exposure.experiment_version", "must be >= 1"));
    }
    if message.config_revision < 0 {
        return Err(refuse(Reason::InvalidField, "exposure.config_revision", "must be >= 0"));
    }
    let unit_type = match pb::UnitType::try_from(message.unit_type) {
        Ok(pb::UnitType::User) => "user",
        Ok(pb::UnitType::Session) => "session",
        _ => {
            return Err(refuse(
                Reason::MissingUnit,
                "exposure.unit_type",
                "must be USER or SESSION",
            ));
        }
    };
    if message.unit_id.is_empty() {
        return Err(refuse(Reason::MissingUnit, "exposure.unit_id", "is required"));
    }
    Ok(Exposure {
        event_id,
        occurred_at,
        experiment_key: message.experiment_key,
        experiment_version: message.experiment_version,
        variant_key: message.variant_key,
        unit_type,
        unit_id: id("exposure.unit_id", message.unit_id)?.unwrap_or_default(),
        user_id: id("exposure.user_id", message.user_id)?,
        session_id: id("exposure.session_id", message.session_id)?,
        placement: id("exposure.placement", message.placement)?,
        forced: message.forced,
        config_revision: message.config_revision,
    })
}

fn validate_outcome(message: pb::OutcomeEvent, now: OffsetDateTime) -> Result<Outcome, Refusal> {
    let event_id = event_id("outcome.event_id", &message.event_id)?;
    let occurred_at = occurred_at("outcome.time", message.time.as_ref(), now)?;
    if !is_event_type(&message.event_type) {
        return Err(refuse(
            Reason::InvalidEventType,
            "outcome.event_type",
            format!(
                "must be 1..=64 characters of a-z, 0-9 and '_', starting with a letter, got {:?}",
                message.event_type
            ),
        ));
    }
    let user_id = id("outcome.user_id", message.user_id)?;
    let session_id = id("outcome.session_id", message.session_id)?;
    if user_id.is_none() && session_id.is_none() {
        return Err(refuse(Reason::MissingUnit, "outcome", "needs a user_id or a session_id"));
    }
    if let Some(value) = message.value
        && !value.is_finite()
    {
        return Err(refuse(
            Reason::InvalidField,
            "outcome.value",
            format!("must be finite, got {value}"),
        ));
    }
    let property_bytes: usize =
        message.properties.iter().map(|(name, value)| name.len() + value.len()).sum();
    if message.properties.len() > MAX_PROPERTIES || property_bytes > MAX_PROPERTY_BYTES {
        return Err(refuse(
            Reason::PropertiesTooLarge,
            "outcome.properties",
            format!(
                "at most {MAX_PROPERTIES} entries and {MAX_PROPERTY_BYTES} bytes, got {} entries and {property_bytes} bytes",
                message.properties.len()
            ),
        ));
    }
    Ok(Outcome {
        event_id,
        occurred_at,
        event_type: message.event_type,
        user_id,
        session_id,
        placement: id("outcome.placement", message.placement)?,
        item_id: id("outcome.item_id", message.item_id)?,
        value: message.value,
        properties: message.properties,
    })
}

fn event_id(field: &str, text: &str) -> Result<Uuid, Refusal> {
    Uuid::try_parse(text)
        .map_err(|_| refuse(Reason::InvalidEventId, field, format!("must be a UUID, got {text:?}")))
}

fn occurred_at(
    field: &str,
    time: Option<&prost_types::Timestamp>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, Refusal> {
    let time = time.ok_or_else(|| refuse(Reason::InvalidTime, field, "is required"))?;
    let at =
        time_from_timestamp(time).map_err(|error| refuse(Reason::InvalidTime, field, error))?;
    if at > now + MAX_FUTURE_SKEW {
        let ahead = at - now;
        return Err(refuse(
            Reason::InvalidTime,
            field,
            format!("is {ahead} in the future (at most {MAX_FUTURE_SKEW} of clock skew)"),
        ));
    }
    Ok(at)
}

/// An optional id: empty means absent; longer than [`MAX_ID_BYTES`] is refused.
fn id(field: &str, value: String) -> Result<Option<String>, Refusal> {
    if value.len() > MAX_ID_BYTES {
        return Err(refuse(
            Reason::InvalidField,
            field,
            format!("must be at most {MAX_ID_BYTES} bytes, got {}", value.len()),
        ));
    }
    Ok((!value.is_empty()).then_some(value))
}

fn is_event_type(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome() -> pb::OutcomeEvent {
        pb::OutcomeEvent {
            event_id: Uuid::now_v7().to_string(),
            event_type: "add_to_cart".into(),
            user_id: "u1".into(),
            time: Some(vary_proto::model::timestamp_from_time(OffsetDateTime::UNIX_EPOCH)),
            ..Default::default()
        }
    }

    fn check(outcome: pb::OutcomeEvent) -> Result<ValidEvent, Refusal> {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        validate_event(pb::Event { kind: Some(Kind::Outcome(outcome)) }, now)
    }

    #[test]
    fn a_complete_outcome_is_valid_and_custom_types_are_allowed() {
        assert!(check(outcome()).is_ok());
        assert!(check(pb::OutcomeEvent { event_type: "wishlist_add".into(), ..outcome() }).is_ok());
    }

    #[test]
    fn each_broken_outcome_gets_its_reason_and_field() {
        let cases = [
            (
                pb::OutcomeEvent { event_id: "nope".into(), ..outcome() },
                Reason::InvalidEventId,
                "outcome.event_id",
            ),
            (
                pb::OutcomeEvent { event_type: "Add To Cart".into(), ..outcome() },
                Reason::InvalidEventType,
                "outcome.event_type",
            ),
            (
                pb::OutcomeEvent { event_type: String::new(), ..outcome() },
                Reason::InvalidEventType,
                "outcome.event_type",
            ),
            (
                pb::OutcomeEvent { user_id: String::new(), ..outcome() },
                Reason::MissingUnit,
                "outcome",
            ),
            (pb::OutcomeEvent { time: None, ..outcome() }, Reason::InvalidTime, "outcome.time"),
            (
                pb::OutcomeEvent {
                    time: Some(vary_proto::model::timestamp_from_time(
                        OffsetDateTime::UNIX_EPOCH + Duration::days(2),
                    )),
                    ..outcome()
                },
                Reason::InvalidTime,
                "outcome.time",
            ),
            (
                pb::OutcomeEvent { value: Some(f64::NAN), ..outcome() },
                Reason::InvalidField,
                "outcome.value",
            ),
            (
                pb::OutcomeEvent { item_id: "x".repeat(MAX_ID_BYTES + 1), ..outcome() },
                Reason::InvalidField,
                "outcome.item_id",
            ),
            (
                pb::OutcomeEvent {
                    properties: (0..65).map(|i| (format!("k{i}"), "v".into())).collect(),
                    ..outcome()
                },
                Reason::PropertiesTooLarge,
                "outcome.properties",
            ),
            (
                pb::OutcomeEvent {
                    properties: BTreeMap::from([("blob".into(), "x".repeat(MAX_PROPERTY_BYTES))]),
                    ..outcome()
                },
                Reason::PropertiesTooLarge,
                "outcome.properties",
            ),
        ];
        for (event, reason, field) in cases {
            let refusal = check(event).expect_err(field);
            assert_eq!(refusal.reason, reason, "{refusal:?}");
            assert!(refusal.message.starts_with(&format!("{field}: ")), "{refusal:?}");
        }
    }

    #[test]
    fn an_event_without_a_kind_is_unknown() {
        let refusal = validate_event(pb::Event { kind: None }, OffsetDateTime::UNIX_EPOCH)
            .expect_err("no kind");
        assert_eq!(refusal.reason, Reason::UnknownKind);
    }
}
