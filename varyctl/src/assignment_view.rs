//! How an edge agent's answers look: `assign` (which variants, why, with which params)
//! and `explain` (per experiment, the decisive check, the buckets behind it and the
//! agent's sentence). Enum values are shown by their API names without the prefix
//! (`HASH`, `NOT_ELIGIBLE`), as in docs/assignment.md, so a QA note can quote either.

use serde::Serialize;
use serde_json::Value;
use vary_proto::{model::struct_to_json, pb};

use crate::{
    output::{Term, duration_seconds, duration_text, new_table},
    view::{status_name, whole_numbers},
};

/// `assign -o json|yaml`.
#[derive(Debug, Serialize)]
pub struct AssignView {
    /// The config revision the agent served.
    pub revision: i64,
    /// Seconds since the agent last heard the control plane confirm that revision.
    pub staleness_seconds: f64,
    /// `user`, `session` or `none`: which id the hashes used.
    pub unit_type: String,
    /// Whether this lookup logged exposures (only with `--log-exposure`).
    pub log_exposure: bool,
    /// Every experiment that assigned, ordered by key.
    pub assignments: Vec<AssignmentView>,
}

/// One assigned experiment.
#[derive(Debug, Serialize)]
pub struct AssignmentView {
    /// The experiment.
    pub experiment_key: String,
    /// The variant served.
    pub variant_key: String,
    /// `HASH`, `OVERRIDE` or `ROLLOUT`.
    pub reason: String,
    /// The experiment's layer, empty if none.
    pub layer: String,
    /// The experiment's version in the served snapshot.
    pub version: i64,
    /// True for QA overrides.
    pub forced: bool,
    /// The variant's parameters.
    pub params: Value,
}

/// `explain -o json|yaml`.
#[derive(Debug, Serialize)]
pub struct ExplainView {
    /// The config revision explained.
    pub revision: i64,
    /// `user`, `session` or `none`.
    pub unit_type: String,
    /// One entry per experiment considered, ordered by key.
    pub experiments: Vec<ExplanationView>,
}

/// Why one experiment did or did not assign.
#[derive(Debug, Serialize)]
pub struct ExplanationView {
    /// The experiment.
    pub experiment_key: String,
    /// Its version in the served snapshot.
    pub version: i64,
    /// Its status in the snapshot, lower case as in files.
    pub status: String,
    /// The decisive check: `ASSIGNED`, `NOT_ELIGIBLE`, `OUTSIDE_ALLOCATION`, …
    pub outcome: String,
    /// Whether a variant is served (`ASSIGNED`, `OVERRIDE`, `ROLLOUT`).
    pub assigned: bool,
    /// The variant served, if any.
    pub variant_key: Option<String>,
    /// `bucket("variant", salt, unit)`, when computed.
    pub variant_bucket: Option<u32>,
    /// `bucket("alloc", salt, unit)`, when computed.
    pub alloc_bucket: Option<u32>,
    /// `bucket("layer", layer, unit)`, when computed.
    pub layer_bucket: Option<u32>,
    /// The agent's sentence for humans.
    pub detail: String,
}

// === conversions ===

impl AssignView {
    /// The view of `response`; `log_exposure` is what the request asked for.
    pub fn new(response: &pb::AssignResponse, log_exposure: bool) -> Self {
        let assignments = response
            .assignments
            .iter()
            .map(|assignment| AssignmentView {
                experiment_key: assignment.experiment_key.clone(),
                variant_key: assignment.variant_key.clone(),
                reason: reason_name(assignment.reason),
                layer: assignment.layer.clone(),
                version: assignment.version,
                forced: assignment.forced,
                params: params_json(assignment.params.as_ref()),
            })
            .collect();
        AssignView {
            revision: response.revision,
            staleness_seconds: response.staleness.as_ref().map_or(0.0, duration_seconds),
            unit_type: unit_type_name(response.unit_type),
            log_exposure,
            assignments,
        }
    }
}

impl From<&pb::ExplainResponse> for ExplainView {
    fn from(response: &pb::ExplainResponse) -> Self {
        let experiments = response
            .experiments
            .iter()
            .map(|entry| ExplanationView {
                experiment_key: entry.experiment_key.clone(),
                version: entry.version,
                status: status_name(entry.status),
                outcome: outcome_name(entry.outcome),
                assigned: is_assigned(entry.outcome),
                variant_key: (!entry.variant_key.is_empty()).then(|| entry.variant_key.clone()),
                variant_bucket: entry.variant_bucket,
                alloc_bucket: entry.alloc_bucket,
                layer_bucket: entry.layer_bucket,
                detail: entry.detail.clone(),
            })
            .collect();
        ExplainView {
            revision: response.revision,
            unit_type: unit_type_name(response.unit_type),
            experiments,
        }
    }
}

// === tables ===

/// `assign` as a table, then the revision, its staleness and whether exposures were logged.
pub fn print_assign(term: &mut Term<'_>, response: &pb::AssignResponse, log_exposure: bool) {
    let view = AssignView::new(response, log_exposure);
    if view.assignments.is_empty() {
        term.note("no experiment assigned: `varyctl explain` with the same flags says why");
    } else {
        let mut table =
            new_table(&["experiment", "variant", "reason", "layer", "version", "params"]);
        for assignment in &view.assignments {
            table.add_row(vec![
                assignment.experiment_key.clone(),
                assignment.variant_key.clone(),
                assignment.reason.clone(),
                dash_if_empty(&assignment.layer),
                assignment.version.to_string(),
                assignment.params.to_string(),
            ]);
        }
        term.table(&table);
    }
    let staleness = response.staleness.as_ref().map_or_else(|| "unknown".to_owned(), duration_text);
    let exposures = if log_exposure { "exposures logged" } else { "no exposures logged" };
    term.line(format!(
        "revision {}, staleness {staleness}, unit {}, {exposures}",
        view.revision, view.unit_type
    ));
}

/// `explain` as one row per experiment, then how many assign.
pub fn print_explain(term: &mut Term<'_>, response: &pb::ExplainResponse) {
    let view = ExplainView::from(response);
    if view.experiments.is_empty() {
        term.note(format!(
            "the agent's snapshot (revision {}) holds no experiment to explain",
            view.revision
        ));
        return;
    }
    let mut table =
        new_table(&["experiment", "version", "outcome", "variant", "buckets", "detail"]);
    for entry in &view.experiments {
        table.add_row(vec![
            entry.experiment_key.clone(),
            entry.version.to_string(),
            entry.outcome.clone(),
            entry.variant_key.clone().unwrap_or_else(|| "-".to_owned()),
            buckets_text(entry),
            entry.detail.clone(),
        ]);
    }
    term.table(&table);
    let assigned = view.experiments.iter().filter(|entry| entry.assigned).count();
    term.line(format!(
        "revision {}, unit {}: {assigned} of {} experiments assign",
        view.revision,
        view.unit_type,
        view.experiments.len()
    ));
}

/// The buckets in the order the checks use them: `layer=812 alloc=4410 variant=97`.
fn buckets_text(entry: &ExplanationView) -> String {
    let buckets: Vec<String> = [
        ("layer", entry.layer_bucket),
        ("alloc", entry.alloc_bucket),
        ("variant", entry.variant_bucket),
    ]
    .into_iter()
    .filter_map(|(name, bucket)| bucket.map(|bucket| format!("{name}={bucket}")))
    .collect();
    if buckets.is_empty() { "-".to_owned() } else { buckets.join(" ") }
}

fn dash_if_empty(text: &str) -> String {
    if text.is_empty() { "-".to_owned() } else { text.to_owned() }
}

/// Params as compact JSON with whole numbers shown as written (`200`, not `200.0`).
fn params_json(params: Option<&prost_types::Struct>) -> Value {
    params
        .cloned()
        .and_then(|params| struct_to_json(params).ok())
        .map_or(Value::Object(Default::default()), |params| whole_numbers(Value::Object(params)))
}

fn is_assigned(outcome: i32) -> bool {
    use pb::ExplanationOutcome as Outcome;
    matches!(
        Outcome::try_from(outcome),
        Ok(Outcome::Assigned | Outcome::Override | Outcome::Rollout)
    )
}

/// `HASH`, or the number for a reason this client does not know.
fn reason_name(reason: i32) -> String {
    pb::AssignmentReason::try_from(reason).map_or_else(
        |_| format!("UNKNOWN({reason})"),
        |reason| reason.as_str_name().trim_start_matches("ASSIGNMENT_REASON_").to_owned(),
    )
}

/// `NOT_ELIGIBLE`, or the number for an outcome this client does not know.
fn outcome_name(outcome: i32) -> String {
    pb::ExplanationOutcome::try_from(outcome).map_or_else(
        |_| format!("UNKNOWN({outcome})"),
        |outcome| outcome.as_str_name().trim_start_matches("EXPLANATION_OUTCOME_").to_owned(),
    )
}

/// `user`, `session` or `none`.
fn unit_type_name(unit_type: i32) -> String {
    match pb::UnitType::try_from(unit_type) {
        Ok(pb::UnitType::User) => "user".to_owned(),
        Ok(pb::UnitType::Session) => "session".to_owned(),
        Ok(pb::UnitType::Unspecified) => "none".to_owned(),
        Err(_) => format!("unknown({unit_type})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_show_without_their_prefix() {
        assert_eq!(reason_name(pb::AssignmentReason::Override as i32), "OVERRIDE");
        assert_eq!(outcome_name(pb::ExplanationOutcome::NotEligible as i32), "NOT_ELIGIBLE");
        assert_eq!(outcome_name(99), "UNKNOWN(99)");
        assert_eq!(unit_type_name(pb::UnitType::Session as i32), "session");
    }

    #[test]
    fn buckets_follow_the_order_of_the_checks() {
        let entry = pb::ExperimentExplanation {
            experiment_key: "x".to_owned(),
            outcome: pb::ExplanationOutcome::Assigned as i32,
            variant_key: "v3".to_owned(),
            variant_bucket: Some(97),
            alloc_bucket: Some(4410),
            layer_bucket: Some(812),
            ..Default::default()
        };
        let view = ExplainView::from(&pb::ExplainResponse {
            experiments: vec![entry, pb::ExperimentExplanation::default()],
            ..Default::default()
        });
        assert_eq!(buckets_text(&view.experiments[0]), "layer=812 alloc=4410 variant=97");
        assert!(view.experiments[0].assigned);
        assert_eq!(buckets_text(&view.experiments[1]), "-");
        assert_eq!(view.experiments[1].variant_key, None);
    }

    #[test]
    fn params_print_whole_numbers_as_written() {
        let json = serde_json::json!({ "candidate_count": 200, "weight": 0.6 });
        let params = vary_proto::model::json_to_struct(json.as_object().expect("object"));
        assert_eq!(
            params_json(Some(&params)).to_string(),
            r#"{"candidate_count":200,"weight":0.6}"#
        );
        assert_eq!(params_json(None).to_string(), "{}");
    }
}
