//! `vary.v1.AssignmentService`, answered from memory: each call loads the served snapshot
//! (a wait-free `ArcSwap` load), reads the wall clock once, evaluates, and writes the answer
//! from bytes encoded once per revision. No I/O, no lock, no await, and no logging above
//! debug on this path.

use std::{sync::Arc, time::Instant};

use bytes::Bytes;
use time::OffsetDateTime;
use tonic::Status;
use vary_proto::{
    assign::{AssignRequest, Context},
    model::MAX_UNIT_ID_LEN,
    pb,
};

use crate::{
    capture, forward::EventSink, metrics::assign::AssignLatency, respond, snapshot::SnapshotStore,
};

/// Most experiment keys one request may name.
pub const MAX_REQUESTED_KEYS: usize = 1_000;
/// Most free-form context attributes one request may carry.
pub const MAX_ATTRIBUTES: usize = 256;
/// Longest context value or attribute name/value, in bytes.
pub const MAX_CONTEXT_VALUE_LEN: usize = 1_024;

/// The service: the shared store, the event sink and the latency histogram.
#[derive(Debug, Clone)]
pub struct AssignApi {
    store: Arc<SnapshotStore>,
    /// Where exposures go; `None` records none.
    events: Option<EventSink>,
    /// Each `Assign` call's latency.
    latency: Arc<AssignLatency>,
}

// === impl AssignApi ===

impl AssignApi {
    /// Answers from `store`.
    pub fn new(store: Arc<SnapshotStore>) -> Self {
        Self { store, events: None, latency: Arc::default() }
    }

    /// The latency histogram of `Assign`, for the metrics endpoint.
    pub fn latency(&self) -> &Arc<AssignLatency> {
        &self.latency
    }

    /// Also records exposures into `events` (see [`capture::record_assign_exposures`]).
    pub fn with_events(self, events: EventSink) -> Self {
        Self { events: Some(events), ..self }
    }
}

// The two calls, as `crate::assign_server` routes them.
impl AssignApi {
    /// `Assign`: the answer as `vary.v1.AssignResponse` bytes, written from the served
    /// revision's pre-encoded assignments.
    pub fn assign(&self, message: pb::AssignRequest) -> Result<Bytes, Status> {
        let started = Instant::now();
        let log_exposure = message.log_exposure;
        let request = engine_request(
            message.user_id,
            message.session_id,
            message.context,
            message.experiment_keys,
        )?;
        let current = self.store.current();
        let served = current.as_ref().ok_or_else(not_loaded)?;
        let now = OffsetDateTime::now_utc();
        let result = served.compiled.evaluate(&request, now);
        served.assignment_counts.record(&result.assignments);
        if let Some(events) = &self.events {
            capture::record_assign_exposures(events, log_exposure, &request, &result, now);
        }
        let staleness = self.store.staleness(now);
        tracing::debug!(revision = result.revision, assigned = result.assignments.len(), "assign");
        let response = served.encoded.assign_response(
            result.revision,
            result.unit.unit_type,
            &result.assignments,
            staleness,
        );
        // Refused requests (invalid, nothing loaded) return above and are not timed.
        self.latency.observe(started.elapsed());
        Ok(response)
    }

    /// `Explain`: every experiment's decisive check, for QA.
    pub fn explain(&self, message: pb::ExplainRequest) -> Result<pb::ExplainResponse, Status> {
        let request = engine_request(
            message.user_id,
            message.session_id,
            message.context,
            message.experiment_keys,
        )?;
        let current = self.store.current();
        let served = current.as_ref().ok_or_else(not_loaded)?;
        let explained = served.compiled.explain(&request, OffsetDateTime::now_utc());
        Ok(respond::explain_response(
            explained.revision,
            explained.unit.unit_type,
            &explained.experiments,
        ))
    }
}

fn not_loaded() -> Status {
    Status::unavailable("no config loaded yet")
}

/// Checks sizes and builds the engine's request from a request's parts; errors name the
/// field path.
pub fn engine_request(
    user_id: String,
    session_id: String,
    context: Option<pb::AssignmentContext>,
    experiment_keys: Vec<String>,
) -> Result<AssignRequest, Status> {
    for (field, id) in [("user_id", &user_id), ("session_id", &session_id)] {
        if id.len() > MAX_UNIT_ID_LEN {
            return Err(invalid(
                field,
                format!("must be at most {MAX_UNIT_ID_LEN} bytes, got {}", id.len()),
            ));
        }
    }
    if experiment_keys.len() > MAX_REQUESTED_KEYS {
        return Err(invalid(
            "experiment_keys",
            format!(
                "must name at most {MAX_REQUESTED_KEYS} experiments, got {}",
                experiment_keys.len()
            ),
        ));
    }
    let context = context.unwrap_or_default();
    for (field, value) in [
        ("context.placement", &context.placement),
        ("context.page_type", &context.page_type),
        ("context.country", &context.country),
        ("context.device", &context.device),
    ] {
        check_context_value(field, value)?;
    }
    if context.attributes.len() > MAX_ATTRIBUTES {
        return Err(invalid(
            "context.attributes",
            format!("must hold at most {MAX_ATTRIBUTES} entries, got {}", context.attributes.len()),
        ));
    }
    for (name, value) in &context.attributes {
        let path = || format!("context.attributes[{name:?}]");
        if name.len() > MAX_CONTEXT_VALUE_LEN {
            return Err(invalid(
                &path(),
                format!("name must be at most {MAX_CONTEXT_VALUE_LEN} bytes"),
            ));
        }
        check_context_value(&path(), value)?;
    }
    Ok(AssignRequest {
        user_id,
        session_id,
        context: Context {
            placement: context.placement,
            page_type: context.page_type,
            country: context.country,
            device: context.device,
            logged_in: context.logged_in,
            attributes: context.attributes,
        },
        experiment_keys,
    })
}

fn check_context_value(field: &str, value: &str) -> Result<(), Status> {
    if value.len() > MAX_CONTEXT_VALUE_LEN {
        return Err(invalid(
            field,
            format!("must be at most {MAX_CONTEXT_VALUE_LEN} bytes, got {}", value.len()),
        ));
    }
    Ok(())
}

fn invalid(field: &str, message: String) -> Status {
    Status::invalid_argument(format!("{field}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_user_id_names_its_field() {
        let status =
            engine_request("u".repeat(257), String::new(), None, vec![]).expect_err("too long");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().starts_with("user_id: "), "{}", status.message());
    }

    #[test]
    fn a_256_byte_session_id_is_accepted() {
        let request = engine_request(String::new(), "s".repeat(256), None, vec![]).expect("fits");
        assert_eq!(request.session_id.len(), 256);
    }

    #[test]
    fn an_oversized_attribute_names_its_key() {
        let context = pb::AssignmentContext {
            attributes: [("tier".to_owned(), "x".repeat(2_000))].into(),
            ..Default::default()
        };
        let status =
            engine_request("u".into(), String::new(), Some(context), vec![]).expect_err("too long");
        assert!(
            status.message().starts_with("context.attributes[\"tier\"]: "),
            "{}",
            status.message()
        );
    }
}
