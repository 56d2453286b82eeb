//! How experiments and versions look in every output format. The JSON/YAML form uses
//! the model's serde names (the file format), so `get -o yaml` output can be applied back.

use serde::Serialize;
use serde_json::Value;
use vary_proto::{
    model::{ExperimentSpec, Status},
    pb,
};

use crate::{
    manifest::spec_value,
    output::{Term, finish_details, new_details, new_table, percent, timestamp},
};

/// An experiment at one version, for `-o json|yaml`.
#[derive(Debug, Serialize)]
pub struct ExperimentView {
    /// Key.
    pub key: String,
    /// Lower-case status, as in files.
    pub status: String,
    /// Set once stopped with a rollout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_variant: Option<String>,
    /// Current version.
    pub version: i64,
    /// Config revision of that version.
    pub revision: i64,
    /// RFC 3339.
    pub create_time: String,
    /// RFC 3339.
    pub update_time: String,
    /// The spec in file form.
    pub spec: Value,
}

/// One version, for `-o json|yaml`.
#[derive(Debug, Serialize)]
pub struct VersionView {
    /// Version number.
    pub version: i64,
    /// create, update, start, …
    pub action: String,
    /// Who.
    pub actor: String,
    /// Status after the change.
    pub status: String,
    /// Config revision.
    pub revision: i64,
    /// RFC 3339.
    pub create_time: String,
    /// The operator's note.
    pub change_note: String,
    /// Spec after the change.
    pub spec: Value,
}

// === conversions ===

/// `running`, or the raw number for a status this client does not know.
pub fn status_name(status: i32) -> String {
    pb::ExperimentStatus::try_from(status)
        .ok()
        .and_then(|status| Status::try_from(status).ok())
        .map_or_else(|| format!("unknown({status})"), |status| status.as_str().to_owned())
}

/// The wire spec in file form; a spec the model refuses is shown as-is by name only.
pub fn spec_json(spec: Option<&pb::ExperimentSpec>) -> Value {
    match spec.cloned().map(ExperimentSpec::try_from) {
        Some(Ok(spec)) => spec_value(&spec),
        Some(Err(error)) => Value::String(format!("(spec not understood: {error})")),
        None => Value::Null,
    }
}

impl From<&pb::Experiment> for ExperimentView {
    fn from(experiment: &pb::Experiment) -> Self {
        ExperimentView {
            key: experiment.key.clone(),
            status: status_name(experiment.status),
            rollout_variant: (!experiment.rollout_variant_key.is_empty())
                .then(|| experiment.rollout_variant_key.clone()),
            version: experiment.version,
            revision: experiment.revision,
            create_time: timestamp(experiment.create_time.as_ref()),
            update_time: timestamp(experiment.update_time.as_ref()),
            spec: spec_json(experiment.spec.as_ref()),
        }
    }
}

impl From<&pb::ExperimentVersion> for VersionView {
    fn from(version: &pb::ExperimentVersion) -> Self {
        VersionView {
            version: version.version,
            action: version.action.clone(),
            actor: version.actor.clone(),
            status: status_name(version.status),
            revision: version.revision,
            create_time: timestamp(version.create_time.as_ref()),
            change_note: version.change_note.clone(),
            spec: spec_json(version.spec.as_ref()),
        }
    }
}

// === tables ===

/// `experiments list` as a table.
pub fn print_list(term: &mut Term<'_>, experiments: &[pb::Experiment]) {
    let mut table =
        new_table(&["key", "status", "version", "allocation", "layer", "variants", "owner"]);
    for experiment in experiments {
        let spec = experiment.spec.clone().unwrap_or_default();
        table.add_row(vec![
            experiment.key.clone(),
            status_name(experiment.status),
            experiment.version.to_string(),
            percent(spec.allocation_bps),
            layer_text(&spec),
            variants_text(&spec),
            spec.owner.clone(),
        ]);
    }
    if experiments.is_empty() {
        term.note("no experiments found");
        return;
    }
    term.table(&table);
}

/// `experiments get` as a description followed by a variants table.
pub fn print_experiment(term: &mut Term<'_>, experiment: &pb::Experiment) {
    let spec = experiment.spec.clone().unwrap_or_default();
    let mut details = new_details();
    let mut row = |name: &str, value: String| {
        if !value.is_empty() {
            details.add_row(vec![format!("{name}:"), value]);
        }
    };
    row("Key", experiment.key.clone());
    row("Name", spec.name.clone());
    row("Status", status_name(experiment.status).to_uppercase());
    row("Rollout variant", experiment.rollout_variant_key.clone());
    row("Version", format!("{} (revision {})", experiment.version, experiment.revision));
    row("Owner", spec.owner.clone());
    row("Hypothesis", spec.hypothesis.clone());
    row("Allocation", format!("{} ({} bps)", percent(spec.allocation_bps), spec.allocation_bps));
    row("Layer", layer_text(&spec));
    row("Placements", spec.placements.join(", "));
    row("Eligibility", eligibility_text(&spec));
    row("Schedule", schedule_text(&spec));
    row("QA overrides", overrides_text(&spec));
    row("Metrics", metrics_text(&spec));
    row("Updated", timestamp(experiment.update_time.as_ref()));
    finish_details(&mut details);
    term.table(&details);
    let total: f64 = spec.variants.iter().map(|variant| variant.weight).sum();
    let mut variants = new_table(&["variant", "weight", "share", "control", "params"]);
    for variant in &spec.variants {
        let share = if total > 0.0 { variant.weight / total * 100.0 } else { 0.0 };
        let params = variant
            .params
            .clone()
            .and_then(|params| vary_proto::model::struct_to_json(params).ok())
            .map_or_else(String::new, |params| whole_numbers(Value::Object(params)).to_string());
        variants.add_row(vec![
            variant.key.clone(),
            crate::diff::show_number(variant.weight),
            format!("{share:.1}%"),
            if variant.control { "yes".into() } else { String::new() },
            params,
        ]);
    }
    term.line("");
    term.table(&variants);
}

/// One version in the same form as `experiments get`, plus who changed what.
pub fn print_version(term: &mut Term<'_>, version: &pb::ExperimentVersion) {
    let as_experiment = pb::Experiment {
        key: version.experiment_key.clone(),
        status: version.status,
        version: version.version,
        spec: version.spec.clone(),
        rollout_variant_key: version.rollout_variant_key.clone(),
        revision: version.revision,
        create_time: None,
        update_time: version.create_time,
    };
    print_experiment(term, &as_experiment);
    term.line("");
    print_versions(term, std::slice::from_ref(version));
}

/// `experiments history` as a table.
pub fn print_versions(term: &mut Term<'_>, versions: &[pb::ExperimentVersion]) {
    let mut table =
        new_table(&["version", "action", "status", "allocation", "actor", "time", "note"]);
    for version in versions {
        let allocation = version.spec.as_ref().map_or(0, |spec| spec.allocation_bps);
        table.add_row(vec![
            version.version.to_string(),
            version.action.clone(),
            status_name(version.status),
            percent(allocation),
            version.actor.clone(),
            timestamp(version.create_time.as_ref()),
            version.change_note.clone(),
        ]);
    }
    term.table(&table);
}

/// Whole doubles as integers: the wire turns `200` into `200.0`; show what was written.
pub(crate) fn whole_numbers(value: Value) -> Value {
    match value {
        Value::Number(number) => match number.as_f64() {
            Some(real)
                if number.as_i64().is_none() && real.fract() == 0.0 && real.abs() < 9.0e15 =>
            {
                Value::from(real as i64)
            }
            _ => Value::Number(number),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(whole_numbers).collect()),
        Value::Object(entries) => Value::Object(
            entries.into_iter().map(|(key, value)| (key, whole_numbers(value))).collect(),
        ),
        other => other,
    }
}

fn schedule_text(spec: &pb::ExperimentSpec) -> String {
    let Some(schedule) = &spec.schedule else { return String::new() };
    let side = |at: Option<&prost_types::Timestamp>| match at {
        Some(_) => timestamp(at),
        None => "open".to_owned(),
    };
    format!("{} to {}", side(schedule.start_time.as_ref()), side(schedule.end_time.as_ref()))
}

fn overrides_text(spec: &pb::ExperimentSpec) -> String {
    const SHOWN: usize = 5;
    let mut shown: Vec<String> = spec
        .overrides
        .iter()
        .take(SHOWN)
        .map(|(unit, variant)| format!("{unit} -> {variant}"))
        .collect();
    if spec.overrides.len() > SHOWN {
        shown.push(format!("… {} more", spec.overrides.len() - SHOWN));
    }
    shown.join(", ")
}

fn layer_text(spec: &pb::ExperimentSpec) -> String {
    if spec.layer.is_empty() {
        return "-".to_owned();
    }
    match &spec.layer_range {
        Some(range) => format!("{} [{}, {})", spec.layer, range.start, range.end),
        None => spec.layer.clone(),
    }
}

fn variants_text(spec: &pb::ExperimentSpec) -> String {
    let total: f64 = spec.variants.iter().map(|variant| variant.weight).sum();
    spec.variants
        .iter()
        .map(|variant| {
            let share = if total > 0.0 { variant.weight / total * 100.0 } else { 0.0 };
            format!("{} {}%", variant.key, (share * 10.0).round() / 10.0)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn eligibility_text(spec: &pb::ExperimentSpec) -> String {
    let groups: Vec<String> = spec
        .eligibility
        .iter()
        .map(|group| {
            group
                .conditions
                .iter()
                .map(|condition| {
                    let operator = pb::Operator::try_from(condition.operator)
                        .map_or("?", |operator| operator.as_str_name())
                        .trim_start_matches("OPERATOR_")
                        .to_lowercase();
                    format!("{} {operator} {}", condition.attribute, condition.values.join("|"))
                        .trim_end()
                        .to_owned()
                })
                .collect::<Vec<_>>()
                .join(" AND ")
        })
        .collect();
    match groups.len() {
        0 => "everyone".to_owned(),
        1 => groups.join(""),
        _ => groups.iter().map(|group| format!("({group})")).collect::<Vec<_>>().join(" OR "),
    }
}

fn metrics_text(spec: &pb::ExperimentSpec) -> String {
    spec.metrics
        .iter()
        .map(|metric| {
            let role = pb::MetricRole::try_from(metric.role)
                .map_or("?", |role| role.as_str_name())
                .trim_start_matches("METRIC_ROLE_")
                .to_lowercase();
            format!("{} ({role})", metric.key)
        })
        .collect::<Vec<_>>()
        .join(", ")
}
