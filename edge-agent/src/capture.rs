//! `vary.v1.EventCaptureService` (`LogExposure`, `Track`) and the exposures `Assign`
//! records: validate, build the events, hand them to the [`EventSink`] without waiting.
//!
//! A call is checked whole before anything is queued, so an INVALID_ARGUMENT (naming the
//! field, `events[3].event_type: …`) means nothing of it was recorded, and the app can fix
//! and resend it. The checks are the control plane's own, made here so a bad event is
//! refused while the app still has it, instead of being dropped upstream later.

use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use vary_proto::{
    assign::{AssignRequest, Assignments, UnitType},
    model::{MAX_UNIT_ID_LEN, check_slug},
    pb::{self, event_capture_service_server::EventCaptureService},
};

use crate::forward::{
    EventSink,
    event::{Exposed, ExposureContext, exposure_event, exposures_for_assignments, outcome_event},
};

/// Most assignments one `LogExposure` call may carry.
pub const MAX_EXPOSURES_PER_CALL: usize = 1_000;
/// Most events one `Track` call may carry.
pub const MAX_EVENTS_PER_CALL: usize = 1_000;
/// Most properties an outcome may carry (as the control plane).
pub const MAX_PROPERTIES: usize = 64;
/// Largest total size of an outcome's property names and values, in bytes.
pub const MAX_PROPERTY_BYTES: usize = 8 * 1024;
/// Longest event type name.
pub const MAX_EVENT_TYPE_CHARS: usize = 64;
/// How far in the future of the agent's clock an event may be stamped.
pub const MAX_FUTURE_SKEW: time::Duration = time::Duration::minutes(5);

/// The service; holds only the sink.
#[derive(Debug, Clone)]
pub struct CaptureApi {
    sink: EventSink,
}

// === impl CaptureApi ===

impl CaptureApi {
    /// Queues into `sink`.
    pub fn new(sink: EventSink) -> Self {
        Self { sink }
    }
}

#[tonic::async_trait]
impl EventCaptureService for CaptureApi {
    async fn log_exposure(
        &self,
        request: Request<pb::LogExposureRequest>,
    ) -> Result<Response<pb::LogExposureResponse>, Status> {
        let request = request.into_inner();
        let events = exposures_from_request(&request, OffsetDateTime::now_utc())?;
        let event_ids = queue(&self.sink, events)?;
        Ok(Response::new(pb::LogExposureResponse { event_ids }))
    }

    async fn track(
        &self,
        request: Request<pb::TrackRequest>,
    ) -> Result<Response<pb::TrackResponse>, Status> {
        let now = OffsetDateTime::now_utc();
        let events = outcomes_from_request(request.into_inner(), now)?;
        let event_ids = queue(&self.sink, events)?;
        Ok(Response::new(pb::TrackResponse { event_ids }))
    }
}

/// Records one exposure per assignment of an `Assign` answer that logs one (hash and
/// override; not rollout), unless the request opted out with `log_exposure = false`.
/// Never waits; a full queue and spool drop the events (counted), never the answer.
pub fn record_assign_exposures(
    sink: &EventSink,
    log_exposure: Option<bool>,
    request: &AssignRequest,
    result: &Assignments<'_>,
    now: OffsetDateTime,
) {
    if log_exposure == Some(false) || result.assignments.is_empty() {
        return;
    }
    let context = ExposureContext {
        unit_type: result.unit.unit_type,
        unit_id: result.unit.id,
        user_id: &request.user_id,
        session_id: &request.session_id,
        placement: &request.context.placement,
        config_revision: result.revision,
        time: now,
    };
    let dropped = sink.send_all(exposures_for_assignments(&context, &result.assignments));
    if dropped > 0 {
        tracing::debug!(dropped, "exposures dropped: event queue and spool full");
    }
}

/// Queues `events`; their ids in order, or RESOURCE_EXHAUSTED if any was dropped (the app
/// may resend the same events: ingest keeps each id once).
fn queue(sink: &EventSink, events: Vec<pb::Event>) -> Result<Vec<String>, Status> {
    let ids: Vec<String> =
        events.iter().map(|event| crate::forward::event::event_id(event).to_owned()).collect();
    if sink.send_all(events) > 0 {
        return Err(Status::resource_exhausted(
            "the agent's event queue and spool are full; resend later with the same event ids",
        ));
    }
    Ok(ids)
}

/// Checks a `LogExposure` request and builds its exposures.
fn exposures_from_request(
    request: &pb::LogExposureRequest,
    now: OffsetDateTime,
) -> Result<Vec<pb::Event>, Status> {
    check_unit("", &request.user_id, &request.session_id)?;
    check_id("placement", &request.placement)?;
    if request.assignments.len() > MAX_EXPOSURES_PER_CALL {
        return Err(invalid(
            "assignments",
            format!("at most {MAX_EXPOSURES_PER_CALL}, got {}", request.assignments.len()),
        ));
    }
    if request.config_revision < 0 {
        return Err(invalid("config_revision", "must be >= 0".to_owned()));
    }
    let (unit_type, unit_id) = if request.user_id.is_empty() {
        (UnitType::Session, request.session_id.as_str())
    } else {
        (UnitType::User, request.user_id.as_str())
    };
    let context = ExposureContext {
        unit_type,
        unit_id,
        user_id: &request.user_id,
        session_id: &request.session_id,
        placement: &request.placement,
        config_revision: request.config_revision,
        time: now,
    };
    request
        .assignments
        .iter()
        .enumerate()
        .map(|(index, rendered)| {
            let path = |field: &str| format!("assignments[{index}].{field}");
            for (field, key) in [
                ("experiment_key", &rendered.experiment_key),
                ("variant_key", &rendered.variant_key),
            ] {
                check_slug(&path(field), key)
                    .map_err(|error| invalid(&error.field_path, error.message))?;
            }
            if rendered.experiment_version < 1 {
                return Err(invalid(&path("experiment_version"), "must be >= 1".to_owned()));
            }
            Ok(exposure_event(
                &context,
                Exposed {
                    experiment_key: &rendered.experiment_key,
                    experiment_version: rendered.experiment_version,
                    variant_key: &rendered.variant_key,
                    forced: rendered.forced,
                },
            ))
        })
        .collect()
}

/// Checks a `Track` request and builds its outcomes (ids and times filled when empty).
fn outcomes_from_request(
    request: pb::TrackRequest,
    now: OffsetDateTime,
) -> Result<Vec<pb::Event>, Status> {
    if request.events.len() > MAX_EVENTS_PER_CALL {
        return Err(invalid(
            "events",
            format!("at most {MAX_EVENTS_PER_CALL}, got {}", request.events.len()),
        ));
    }
    for (index, outcome) in request.events.iter().enumerate() {
        check_outcome(&format!("events[{index}]."), outcome, now)?;
    }
    Ok(request.events.into_iter().map(|outcome| outcome_event(outcome, now)).collect())
}

fn check_outcome(
    prefix: &str,
    outcome: &pb::OutcomeEvent,
    now: OffsetDateTime,
) -> Result<(), Status> {
    let path = |field: &str| format!("{prefix}{field}");
    if !outcome.event_id.is_empty() && Uuid::try_parse(&outcome.event_id).is_err() {
        return Err(invalid(&path("event_id"), "must be empty or a UUID".to_owned()));
    }
    if !is_event_type(&outcome.event_type) {
        return Err(invalid(
            &path("event_type"),
            format!(
                "must be 1..={MAX_EVENT_TYPE_CHARS} characters of a-z, 0-9 and '_', starting with a letter, got {:?}",
                outcome.event_type
            ),
        ));
    }
    check_unit(prefix, &outcome.user_id, &outcome.session_id)?;
    check_id(&path("placement"), &outcome.placement)?;
    check_id(&path("item_id"), &outcome.item_id)?;
    if let Some(value) = outcome.value
        && !value.is_finite()
    {
        return Err(invalid(&path("value"), format!("must be finite, got {value}")));
    }
    if let Some(time) = &outcome.time {
        let valid = OffsetDateTime::from_unix_timestamp(time.seconds)
            .ok()
            .filter(|_| (0..1_000_000_000).contains(&time.nanos));
        match valid {
            None => return Err(invalid(&path("time"), "is not a valid timestamp".to_owned())),
            Some(time) if time > now + MAX_FUTURE_SKEW => {
                return Err(invalid(
                    &path("time"),
                    "is more than 5 minutes in the future".to_owned(),
                ));
            }
            Some(_) => {}
        }
    }
    let property_bytes: usize =
        outcome.properties.iter().map(|(name, value)| name.len() + value.len()).sum();
    if outcome.properties.len() > MAX_PROPERTIES || property_bytes > MAX_PROPERTY_BYTES {
        return Err(invalid(
            &path("properties"),
            format!(
                "at most {MAX_PROPERTIES} entries and {MAX_PROPERTY_BYTES} bytes, got {} entries and {property_bytes} bytes",
                outcome.properties.len()
            ),
        ));
    }
    Ok(())
}

/// `impression`, `click`, `add_to_cart`, `purchase` or a custom name of the same shape.
fn is_event_type(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= MAX_EVENT_TYPE_CHARS
        && bytes.next().is_some_and(|first| first.is_ascii_lowercase())
        && bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

/// Both ids fit, and at least one is there. `prefix` ends with `.` or is empty.
fn check_unit(prefix: &str, user_id: &str, session_id: &str) -> Result<(), Status> {
    check_id(&format!("{prefix}user_id"), user_id)?;
    check_id(&format!("{prefix}session_id"), session_id)?;
    if user_id.is_empty() && session_id.is_empty() {
        return Err(invalid(&format!("{prefix}user_id"), "or session_id is required".to_owned()));
    }
    Ok(())
}

fn check_id(field: &str, id: &str) -> Result<(), Status> {
    if id.len() > MAX_UNIT_ID_LEN {
        return Err(invalid(
            field,
            format!("must be at most {MAX_UNIT_ID_LEN} bytes, got {}", id.len()),
        ));
    }
    Ok(())
}

fn invalid(field: &str, message: String) -> Status {
    Status::invalid_argument(format!("{field}: {message}"))
}

#[cfg(test)]
#[path = "capture_tests.rs"]
mod tests;
