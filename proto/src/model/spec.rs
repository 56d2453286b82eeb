//! The editable part of an experiment, as both binaries and the config-as-code files see
//! it. Serialised with serde (JSONB in Postgres, YAML/JSON in operators' files); the
//! protobuf mapping lives in `pb_convert`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::validation::{ValidationError, check_slug, check_text};

/// Number of buckets: hashes are taken modulo this, weights and ranges are in these units.
pub const BUCKETS: u32 = 10_000;

/// Most variants an experiment may have.
pub const MAX_VARIANTS: usize = 100;
/// Most rule groups, conditions per group and values per condition.
pub const MAX_RULE_ITEMS: usize = 100;
/// Most values one condition may list.
pub const MAX_CONDITION_VALUES: usize = 1_000;
/// Most QA overrides an experiment may carry.
pub const MAX_OVERRIDES: usize = 10_000;
/// Longest unit id (user or session id) an override may name, in bytes.
pub const MAX_UNIT_ID_LEN: usize = 256;

/// What operators edit. See `vary.v1.ExperimentSpec` for the meaning of each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Human-readable title.
    pub name: String,
    /// Longer description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What we expect to improve, and why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hypothesis: String,
    /// Responsible person or team.
    pub owner: String,
    /// Hash salt; empty means the experiment key (see [`ExperimentSpec::effective_salt`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub salt: String,
    /// Mutual-exclusion layer and this experiment's range in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerPlacement>,
    /// Share of eligible units enrolled, basis points 0..=10000.
    pub allocation_bps: u32,
    /// Ordered variants.
    pub variants: Vec<Variant>,
    /// Placements this experiment runs on; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placements: Vec<String>,
    /// OR of groups, AND within a group; empty means everyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eligibility: Vec<RuleGroup>,
    /// Optional time window.
    #[serde(default, skip_serializing_if = "Schedule::is_unbounded")]
    pub schedule: Schedule,
    /// QA overrides: unit id -> variant key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, String>,
    /// Metrics analysed for this experiment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

/// An experiment's place in a mutual-exclusion layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerPlacement {
    /// The layer's name, which is also its hash salt.
    pub name: String,
    /// The buckets of the layer this experiment owns.
    #[serde(default)]
    pub range: BucketRange,
}

/// Half-open bucket range `[start, end)` within `0..=10000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketRange {
    /// Inclusive start.
    pub start: u32,
    /// Exclusive end.
    pub end: u32,
}

impl Default for BucketRange {
    fn default() -> Self {
        Self { start: 0, end: BUCKETS }
    }
}

impl BucketRange {
    /// Whether `bucket` falls in the range.
    pub fn contains(&self, bucket: u32) -> bool {
        self.start <= bucket && bucket < self.end
    }

    /// Whether the two ranges share at least one bucket.
    pub fn overlaps(&self, other: &BucketRange) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// One arm of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Unique within the experiment.
    pub key: String,
    /// Relative weight, finite and > 0.
    pub weight: f64,
    /// Whether this is the control (exactly one per experiment).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control: bool,
    /// Parameters the calling service applies.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// Conditions that must all hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    /// At least one.
    pub conditions: Vec<Condition>,
}

/// One test of a context attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Attribute name (a typed context field or a free-form attribute).
    pub attribute: String,
    /// The comparison.
    pub operator: Operator,
    /// Operands (as many as the operator takes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Comparison operators; see `vary.v1.Operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Equal (string comparison).
    Eq,
    /// Missing or not equal.
    Neq,
    /// Equal to one of the values.
    In,
    /// Missing or equal to none of the values.
    NotIn,
    /// Present.
    Exists,
    /// Absent.
    NotExists,
    /// Numerically less than.
    Lt,
    /// Numerically at most.
    Lte,
    /// Numerically greater than.
    Gt,
    /// Numerically at least.
    Gte,
}

/// Time window `[start, end)`; either side optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Inclusive start.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start: Option<OffsetDateTime>,
    /// Exclusive end.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub end: Option<OffsetDateTime>,
}

impl Schedule {
    /// True when neither side is set.
    pub fn is_unbounded(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }

    /// Whether `now` lies in `[start, end)`.
    pub fn contains(&self, now: OffsetDateTime) -> bool {
        self.start.is_none_or(|start| start <= now) && self.end.is_none_or(|end| now < end)
    }
}

/// A metric analysed per variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Unique within the experiment.
    pub key: String,
    /// Primary, secondary or guardrail.
    pub role: MetricRole,
    /// How events become a per-unit value.
    pub kind: MetricKind,
    /// The event type counted (numerator for ratios).
    pub event_type: String,
    /// Ratio metrics only: the denominator event type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator_event_type: Option<String>,
    /// Only events this many seconds after first exposure count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution_window_seconds: Option<u64>,
    /// Which way is good.
    #[serde(default)]
    pub direction: MetricDirection,
    /// Guardrail metrics only: threshold and action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<Guardrail>,
}

/// The part a metric plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricRole {
    /// The decision metric.
    Primary,
    /// Reported, not decisive.
    Secondary,
    /// Must not degrade.
    Guardrail,
}

/// How a metric aggregates a unit's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// At least one event after exposure.
    Conversion,
    /// Events per unit.
    Count,
    /// Sum of event values per unit.
    Sum,
    /// Mean of event values.
    Mean,
    /// Numerator events over denominator events.
    Ratio,
}

/// Which direction is an improvement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricDirection {
    /// Higher is better.
    #[default]
    Increase,
    /// Lower is better.
    Decrease,
}

/// Guardrail threshold and response.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrail {
    /// Largest tolerated relative degradation against control (0.05 = 5%).
    pub max_relative_degradation: f64,
    /// Alert, or alert and pause.
    pub action: GuardrailAction,
}

/// What a significant guardrail breach does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailAction {
    /// Alert only.
    Alert,
    /// Alert and pause the experiment.
    Pause,
}

// === impl ExperimentSpec ===

impl ExperimentSpec {
    /// The salt hashes use: the configured one, or the experiment key when empty.
    pub fn effective_salt<'a>(&'a self, experiment_key: &'a str) -> &'a str {
        if self.salt.is_empty() { experiment_key } else { &self.salt }
    }

    /// The control variant. Validation guarantees exactly one exists.
    pub fn control(&self) -> Option<&Variant> {
        self.variants.iter().find(|variant| variant.control)
    }

    /// The variant with this key.
    pub fn variant(&self, key: &str) -> Option<&Variant> {
        self.variants.iter().find(|variant| variant.key == key)
    }

    /// The layer range this experiment occupies, if it is in a layer.
    pub fn layer_range(&self) -> Option<(&str, BucketRange)> {
        self.layer.as_ref().map(|layer| (layer.name.as_str(), layer.range))
    }

    /// Checks every rule of DESIGN section 3 that concerns one spec. Paths are relative
    /// to the spec (`variants[2].weight`); callers nest them (`spec.variants[2].weight`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_text("name", &self.name, true, 200)?;
        check_text("description", &self.description, false, 10_000)?;
        check_text("hypothesis", &self.hypothesis, false, 10_000)?;
        check_text("owner", &self.owner, true, 200)?;
        check_text("salt", &self.salt, false, 200)?;
        if let Some(layer) = &self.layer {
            validate_layer(layer).map_err(|error| error.under("layer"))?;
        }
        if self.allocation_bps > BUCKETS {
            return Err(ValidationError::new(
                "allocation_bps",
                format!("must be in 0..={BUCKETS} basis points, got {}", self.allocation_bps),
            ));
        }
        self.validate_variants()?;
        validate_placements(&self.placements)?;
        if self.eligibility.len() > MAX_RULE_ITEMS {
            return Err(ValidationError::new(
                "eligibility",
                format!(
                    "must have at most {MAX_RULE_ITEMS} rule groups, got {}",
                    self.eligibility.len()
                ),
            ));
        }
        for (index, group) in self.eligibility.iter().enumerate() {
            validate_rule_group(group)
                .map_err(|error| error.under(&format!("eligibility[{index}]")))?;
        }
        if let (Some(start), Some(end)) = (self.schedule.start, self.schedule.end)
            && end <= start
        {
            return Err(ValidationError::new("schedule.end", "must be after schedule.start"));
        }
        self.validate_overrides()?;
        self.validate_metrics()
    }

    fn validate_variants(&self) -> Result<(), ValidationError> {
        if self.variants.len() < 2 || self.variants.len() > MAX_VARIANTS {
            return Err(ValidationError::new(
                "variants",
                format!("must have 2..={MAX_VARIANTS} variants, got {}", self.variants.len()),
            ));
        }
        let mut keys = BTreeSet::new();
        for (index, variant) in self.variants.iter().enumerate() {
            let path = format!("variants[{index}]");
            check_slug(&format!("{path}.key"), &variant.key)?;
            if !keys.insert(variant.key.as_str()) {
                return Err(ValidationError::new(
                    format!("{path}.key"),
                    format!("must be unique, {:?} appears twice", variant.key),
                ));
            }
            if !(variant.weight.is_finite() && variant.weight > 0.0) {
                return Err(ValidationError::new(
                    format!("{path}.weight"),
                    format!("must be a finite number > 0, got {}", variant.weight),
                ));
            }
            check_text(&format!("{path}.description"), &variant.description, false, 10_000)?;
            if let Some((name, _)) = variant.params.iter().find(|(_, value)| !is_finite_json(value))
            {
                return Err(ValidationError::new(
                    format!("{path}.params.{name}"),
                    "numbers must be finite",
                ));
            }
        }
        let total: f64 = self.variants.iter().map(|variant| variant.weight).sum();
        if !total.is_finite() {
            return Err(ValidationError::new(
                "variants",
                "the weights must add up to a finite number (they are relative: 90 and 10, or 0.9 and 0.1)",
            ));
        }
        let controls = self.variants.iter().filter(|variant| variant.control).count();
        if controls != 1 {
            return Err(ValidationError::new(
                "variants",
                format!("must have exactly one control variant, got {controls}"),
            ));
        }
        Ok(())
    }

    fn validate_overrides(&self) -> Result<(), ValidationError> {
        if self.overrides.len() > MAX_OVERRIDES {
            return Err(ValidationError::new(
                "overrides",
                format!("must have at most {MAX_OVERRIDES} entries, got {}", self.overrides.len()),
            ));
        }
        for (unit_id, variant_key) in &self.overrides {
            let path = format!("overrides[{unit_id:?}]");
            if unit_id.is_empty() || unit_id.len() > MAX_UNIT_ID_LEN {
                return Err(ValidationError::new(
                    path,
                    format!("unit id must be 1..={MAX_UNIT_ID_LEN} bytes"),
                ));
            }
            if self.variant(variant_key).is_none() {
                return Err(ValidationError::new(
                    path,
                    format!("names variant {variant_key:?}, which this experiment does not have"),
                ));
            }
        }
        Ok(())
    }

    fn validate_metrics(&self) -> Result<(), ValidationError> {
        let mut keys = BTreeSet::new();
        let mut primaries = 0;
        for (index, metric) in self.metrics.iter().enumerate() {
            let path = format!("metrics[{index}]");
            validate_metric(metric).map_err(|error| error.under(&path))?;
            if !keys.insert(metric.key.as_str()) {
                return Err(ValidationError::new(
                    format!("{path}.key"),
                    format!("must be unique, {:?} appears twice", metric.key),
                ));
            }
            if metric.role == MetricRole::Primary {
                primaries += 1;
                if primaries > 1 {
                    return Err(ValidationError::new(
                        format!("{path}.role"),
                        "an experiment has at most one primary metric",
                    ));
                }
            }
        }
        Ok(())
    }
}

fn validate_layer(layer: &LayerPlacement) -> Result<(), ValidationError> {
    check_slug("name", &layer.name)?;
    let BucketRange { start, end } = layer.range;
    if end > BUCKETS || start >= end {
        return Err(ValidationError::new(
            "range",
            format!("must satisfy 0 <= start < end <= {BUCKETS}, got [{start}, {end})"),
        ));
    }
    Ok(())
}

fn validate_placements(placements: &[String]) -> Result<(), ValidationError> {
    let mut seen = BTreeSet::new();
    for (index, placement) in placements.iter().enumerate() {
        check_text(&format!("placements[{index}]"), placement, true, 100)?;
        if !seen.insert(placement.as_str()) {
            return Err(ValidationError::new(
                format!("placements[{index}]"),
                format!("must be unique, {placement:?} appears twice"),
            ));
        }
    }
    Ok(())
}

fn validate_rule_group(group: &RuleGroup) -> Result<(), ValidationError> {
    if group.conditions.is_empty() || group.conditions.len() > MAX_RULE_ITEMS {
        return Err(ValidationError::new(
            "conditions",
            format!("must have 1..={MAX_RULE_ITEMS} conditions, got {}", group.conditions.len()),
        ));
    }
    for (index, condition) in group.conditions.iter().enumerate() {
        validate_condition(condition)
            .map_err(|error| error.under(&format!("conditions[{index}]")))?;
    }
    Ok(())
}

fn validate_condition(condition: &Condition) -> Result<(), ValidationError> {
    check_text("attribute", &condition.attribute, true, 200)?;
    let count = condition.values.len();
    let expected = match condition.operator {
        Operator::Exists | Operator::NotExists => (count == 0).then_some(()).ok_or("no values"),
        Operator::Eq | Operator::Neq => (count == 1).then_some(()).ok_or("exactly one value"),
        Operator::In | Operator::NotIn => {
            (1..=MAX_CONDITION_VALUES).contains(&count).then_some(()).ok_or("1..=1000 values")
        }
        Operator::Lt | Operator::Lte | Operator::Gt | Operator::Gte => {
            if count != 1 {
                Err("exactly one value")
            } else if condition.values[0].trim().parse::<f64>().is_ok_and(f64::is_finite) {
                Ok(())
            } else {
                return Err(ValidationError::new(
                    "values[0]",
                    format!(
                        "must be a finite number for {:?}, got {:?}",
                        condition.operator, condition.values[0]
                    ),
                ));
            }
        }
    };
    expected.map_err(|what| {
        ValidationError::new(
            "values",
            format!("operator {:?} takes {what}, got {count}", condition.operator),
        )
    })
}

fn validate_metric(metric: &Metric) -> Result<(), ValidationError> {
    check_slug("key", &metric.key)?;
    check_text("event_type", &metric.event_type, true, 100)?;
    match (metric.kind, &metric.denominator_event_type) {
        (MetricKind::Ratio, None) => {
            return Err(ValidationError::new(
                "denominator_event_type",
                "is required for ratio metrics",
            ));
        }
        (MetricKind::Ratio, Some(denominator)) => {
            check_text("denominator_event_type", denominator, true, 100)?;
        }
        (_, Some(_)) => {
            return Err(ValidationError::new(
                "denominator_event_type",
                "is only allowed for ratio metrics",
            ));
        }
        (_, None) => {}
    }
    if metric.attribution_window_seconds == Some(0) {
        return Err(ValidationError::new("attribution_window", "must be positive when set"));
    }
    match (metric.role, &metric.guardrail) {
        (MetricRole::Guardrail, None) => {
            Err(ValidationError::new("guardrail", "is required for guardrail metrics"))
        }
        (MetricRole::Guardrail, Some(guardrail)) => {
            let threshold = guardrail.max_relative_degradation;
            if threshold.is_finite() && threshold >= 0.0 {
                Ok(())
            } else {
                Err(ValidationError::new(
                    "guardrail.max_relative_degradation",
                    format!("must be a finite number >= 0, got {threshold}"),
                ))
            }
        }
        (_, Some(_)) => {
            Err(ValidationError::new("guardrail", "is only allowed for guardrail metrics"))
        }
        (_, None) => Ok(()),
    }
}

fn is_finite_json(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(number) => number.as_f64().is_some_and(f64::is_finite),
        serde_json::Value::Array(items) => items.iter().all(is_finite_json),
        serde_json::Value::Object(fields) => fields.values().all(is_finite_json),
        _ => true,
    }
}
