//! Conversions between `vary.v1` messages and the model. Inbound conversions validate
//! ("parse, don't validate"): a model value built from a message obeys every rule, and
//! errors name the field path in the message (`variants[1].weight`).

use prost_types::value::Kind;
use time::OffsetDateTime;

use super::spec::{
    BucketRange, Condition, ExperimentSpec, Guardrail, GuardrailAction, LayerPlacement, Metric,
    MetricDirection, MetricKind, MetricRole, Operator, RuleGroup, Schedule, Variant,
};
use super::status::Status;
use super::validation::ValidationError;
use crate::pb;

// === ExperimentSpec ===

impl TryFrom<pb::ExperimentSpec> for ExperimentSpec {
    type Error = ValidationError;

    fn try_from(message: pb::ExperimentSpec) -> Result<Self, Self::Error> {
        let layer = match (message.layer.is_empty(), message.layer_range) {
            (true, Some(_)) => {
                return Err(ValidationError::new(
                    "layer_range",
                    "is only allowed together with layer",
                ));
            }
            (true, None) => None,
            (false, range) => Some(LayerPlacement {
                name: message.layer,
                range: range.map_or_else(BucketRange::default, |range| BucketRange {
                    start: range.start,
                    end: range.end,
                }),
            }),
        };
        let variants = message
            .variants
            .into_iter()
            .enumerate()
            .map(|(index, variant)| {
                variant_from_pb(variant).map_err(|error| error.under(&format!("variants[{index}]")))
            })
            .collect::<Result<_, _>>()?;
        let eligibility = message
            .eligibility
            .into_iter()
            .enumerate()
            .map(|(index, group)| {
                rule_group_from_pb(group)
                    .map_err(|error| error.under(&format!("eligibility[{index}]")))
            })
            .collect::<Result<_, _>>()?;
        let metrics = message
            .metrics
            .into_iter()
            .enumerate()
            .map(|(index, metric)| {
                metric_from_pb(metric).map_err(|error| error.under(&format!("metrics[{index}]")))
            })
            .collect::<Result<_, _>>()?;
        let schedule = match message.schedule {
            None => Schedule::default(),
            Some(schedule) => Schedule {
                start: schedule
                    .start_time
                    .map(|at| {
                        time_from_timestamp(&at).map_err(|error| error.under("schedule.start_time"))
                    })
                    .transpose()?,
                end: schedule
                    .end_time
                    .map(|at| {
                        time_from_timestamp(&at).map_err(|error| error.under("schedule.end_time"))
                    })
                    .transpose()?,
            },
        };
        let spec = ExperimentSpec {
            name: message.name,
            description: message.description,
            hypothesis: message.hypothesis,
            owner: message.owner,
            salt: message.salt,
            layer,
            allocation_bps: message.allocation_bps,
            variants,
            placements: message.placements,
            eligibility,
            schedule,
            overrides: message.overrides,
            metrics,
        };
        spec.validate().map_err(rename_to_pb_paths)?;
        Ok(spec)
    }
}

impl From<&ExperimentSpec> for pb::ExperimentSpec {
    fn from(spec: &ExperimentSpec) -> Self {
        pb::ExperimentSpec {
            name: spec.name.clone(),
            description: spec.description.clone(),
            hypothesis: spec.hypothesis.clone(),
            owner: spec.owner.clone(),
            salt: spec.salt.clone(),
            layer: spec.layer.as_ref().map(|layer| layer.name.clone()).unwrap_or_default(),
            layer_range: spec
                .layer
                .as_ref()
                .map(|layer| pb::BucketRange { start: layer.range.start, end: layer.range.end }),
            allocation_bps: spec.allocation_bps,
            variants: spec.variants.iter().map(variant_to_pb).collect(),
            placements: spec.placements.clone(),
            eligibility: spec.eligibility.iter().map(rule_group_to_pb).collect(),
            schedule: (!spec.schedule.is_unbounded()).then(|| pb::Schedule {
                start_time: spec.schedule.start.map(timestamp_from_time),
                end_time: spec.schedule.end.map(timestamp_from_time),
            }),
            overrides: spec.overrides.clone(),
            metrics: spec.metrics.iter().map(metric_to_pb).collect(),
        }
    }
}

/// The model names a few fields differently from the wire (`schedule.start` is
/// `schedule.start_time` there, a layer's `range` is `layer_range`); report wire paths.
fn rename_to_pb_paths(error: ValidationError) -> ValidationError {
    let field_path = match error.field_path.as_str() {
        "schedule.end" => "schedule.end_time".to_owned(),
        "layer.name" => "layer".to_owned(),
        "layer.range" => "layer_range".to_owned(),
        other => other.replace(".attribution_window_seconds", ".attribution_window"),
    };
    ValidationError { field_path, ..error }
}

// === Variant ===

fn variant_from_pb(message: pb::Variant) -> Result<Variant, ValidationError> {
    let params = match message.params {
        None => serde_json::Map::new(),
        Some(params) => struct_to_json(params).map_err(|error| error.under("params"))?,
    };
    Ok(Variant {
        key: message.key,
        weight: message.weight,
        control: message.control,
        params,
        description: message.description,
    })
}

fn variant_to_pb(variant: &Variant) -> pb::Variant {
    pb::Variant {
        key: variant.key.clone(),
        weight: variant.weight,
        control: variant.control,
        params: (!variant.params.is_empty()).then(|| json_to_struct(&variant.params)),
        description: variant.description.clone(),
    }
}

// === Rules ===

fn rule_group_from_pb(message: pb::RuleGroup) -> Result<RuleGroup, ValidationError> {
    let conditions = message
        .conditions
        .into_iter()
        .enumerate()
        .map(|(index, condition)| {
            let operator = operator_from_pb(condition.operator)
                .map_err(|error| error.under(&format!("conditions[{index}]")))?;
            Ok(Condition { attribute: condition.attribute, operator, values: condition.values })
        })
        .collect::<Result<_, ValidationError>>()?;
    Ok(RuleGroup { conditions })
}

fn rule_group_to_pb(group: &RuleGroup) -> pb::RuleGroup {
    pb::RuleGroup {
        conditions: group
            .conditions
            .iter()
            .map(|condition| pb::Condition {
                attribute: condition.attribute.clone(),
                operator: operator_to_pb(condition.operator) as i32,
                values: condition.values.clone(),
            })
            .collect(),
    }
}

fn operator_from_pb(value: i32) -> Result<Operator, ValidationError> {
    use pb::Operator as P;
    Ok(match P::try_from(value) {
        Ok(P::Eq) => Operator::Eq,
        Ok(P::Neq) => Operator::Neq,
        Ok(P::In) => Operator::In,
        Ok(P::NotIn) => Operator::NotIn,
        Ok(P::Exists) => Operator::Exists,
        Ok(P::NotExists) => Operator::NotExists,
        Ok(P::Lt) => Operator::Lt,
        Ok(P::Lte) => Operator::Lte,
        Ok(P::Gt) => Operator::Gt,
        Ok(P::Gte) => Operator::Gte,
        Ok(P::Unspecified) | Err(_) => {
            return Err(ValidationError::new(
                "operator",
                format!(
                    "must be one of EQ, NEQ, IN, NOT_IN, EXISTS, NOT_EXISTS, LT, LTE, GT, GTE, got {value}"
                ),
            ));
        }
    })
}

fn operator_to_pb(operator: Operator) -> pb::Operator {
    use pb::Operator as P;
    match operator {
        Operator::Eq => P::Eq,
        Operator::Neq => P::Neq,
        Operator::In => P::In,
        Operator::NotIn => P::NotIn,
        Operator::Exists => P::Exists,
        Operator::NotExists => P::NotExists,
        Operator::Lt => P::Lt,
        Operator::Lte => P::Lte,
        Operator::Gt => P::Gt,
        Operator::Gte => P::Gte,
    }
}

// === Metrics ===

fn metric_from_pb(message: pb::Metric) -> Result<Metric, ValidationError> {
    let role = match pb::MetricRole::try_from(message.role) {
        Ok(pb::MetricRole::Primary) => MetricRole::Primary,
        Ok(pb::MetricRole::Secondary) => MetricRole::Secondary,
        Ok(pb::MetricRole::Guardrail) => MetricRole::Guardrail,
        _ => return Err(ValidationError::new("role", "must be PRIMARY, SECONDARY or GUARDRAIL")),
    };
    let kind = match pb::MetricKind::try_from(message.kind) {
        Ok(pb::MetricKind::Conversion) => MetricKind::Conversion,
        Ok(pb::MetricKind::Count) => MetricKind::Count,
        Ok(pb::MetricKind::Sum) => MetricKind::Sum,
        Ok(pb::MetricKind::Mean) => MetricKind::Mean,
        Ok(pb::MetricKind::Ratio) => MetricKind::Ratio,
        _ => {
            return Err(ValidationError::new(
                "kind",
                "must be CONVERSION, COUNT, SUM, MEAN or RATIO",
            ));
        }
    };
    let direction = match pb::MetricDirection::try_from(message.direction) {
        Ok(pb::MetricDirection::Decrease) => MetricDirection::Decrease,
        Ok(pb::MetricDirection::Increase | pb::MetricDirection::Unspecified) => {
            MetricDirection::Increase
        }
        Err(_) => return Err(ValidationError::new("direction", "must be INCREASE or DECREASE")),
    };
    let attribution_window_seconds = match message.attribution_window {
        None => None,
        Some(window) if window.seconds > 0 && window.nanos == 0 => Some(window.seconds as u64),
        Some(_) => {
            return Err(ValidationError::new(
                "attribution_window",
                "must be a positive whole number of seconds",
            ));
        }
    };
    let guardrail = match message.guardrail {
        None => None,
        Some(guardrail) => Some(Guardrail {
            max_relative_degradation: guardrail.max_relative_degradation,
            action: match pb::GuardrailAction::try_from(guardrail.action) {
                Ok(pb::GuardrailAction::Alert) => GuardrailAction::Alert,
                Ok(pb::GuardrailAction::Pause) => GuardrailAction::Pause,
                _ => {
                    return Err(ValidationError::new("guardrail.action", "must be ALERT or PAUSE"));
                }
            },
        }),
    };
    Ok(Metric {
        key: message.key,
        role,
        kind,
        event_type: message.event_type,
        denominator_event_type: (!message.denominator_event_type.is_empty())
            .then_some(message.denominator_event_type),
        attribution_window_seconds,
        direction,
        guardrail,
    })
}

fn metric_to_pb(metric: &Metric) -> pb::Metric {
    pb::Metric {
        key: metric.key.clone(),
        role: match metric.role {
            MetricRole::Primary => pb::MetricRole::Primary,
            MetricRole::Secondary => pb::MetricRole::Secondary,
            MetricRole::Guardrail => pb::MetricRole::Guardrail,
        } as i32,
        kind: match metric.kind {
            MetricKind::Conversion => pb::MetricKind::Conversion,
            MetricKind::Count => pb::MetricKind::Count,
            MetricKind::Sum => pb::MetricKind::Sum,
            MetricKind::Mean => pb::MetricKind::Mean,
            MetricKind::Ratio => pb::MetricKind::Ratio,
        } as i32,
        event_type: metric.event_type.clone(),
        denominator_event_type: metric.denominator_event_type.clone().unwrap_or_default(),
        attribution_window: metric
            .attribution_window_seconds
            .map(|seconds| prost_types::Duration { seconds: seconds as i64, nanos: 0 }),
        direction: match metric.direction {
            MetricDirection::Increase => pb::MetricDirection::Increase,
            MetricDirection::Decrease => pb::MetricDirection::Decrease,
        } as i32,
        guardrail: metric.guardrail.map(|guardrail| pb::Guardrail {
            max_relative_degradation: guardrail.max_relative_degradation,
            action: match guardrail.action {
                GuardrailAction::Alert => pb::GuardrailAction::Alert,
                GuardrailAction::Pause => pb::GuardrailAction::Pause,
            } as i32,
        }),
    }
}

// === Status ===

impl From<Status> for pb::ExperimentStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Draft => pb::ExperimentStatus::Draft,
            Status::Running => pb::ExperimentStatus::Running,
            Status::Paused => pb::ExperimentStatus::Paused,
            Status::Stopped => pb::ExperimentStatus::Stopped,
            Status::Archived => pb::ExperimentStatus::Archived,
        }
    }
}

impl TryFrom<pb::ExperimentStatus> for Status {
    type Error = ValidationError;

    fn try_from(status: pb::ExperimentStatus) -> Result<Self, Self::Error> {
        match status {
            pb::ExperimentStatus::Draft => Ok(Status::Draft),
            pb::ExperimentStatus::Running => Ok(Status::Running),
            pb::ExperimentStatus::Paused => Ok(Status::Paused),
            pb::ExperimentStatus::Stopped => Ok(Status::Stopped),
            pb::ExperimentStatus::Archived => Ok(Status::Archived),
            pb::ExperimentStatus::Unspecified => {
                Err(ValidationError::new("status", "must not be EXPERIMENT_STATUS_UNSPECIFIED"))
            }
        }
    }
}

// === Well-known types ===

/// A `google.protobuf.Struct` as a JSON object. Non-finite numbers are refused: JSON
/// (and so Postgres JSONB and every client) cannot represent them.
pub fn struct_to_json(
    message: prost_types::Struct,
) -> Result<serde_json::Map<String, serde_json::Value>, ValidationError> {
    message
        .fields
        .into_iter()
        .map(|(name, value)| {
            let json = value_to_json(value).map_err(|error| error.under(&name))?;
            Ok((name, json))
        })
        .collect()
}

fn value_to_json(value: prost_types::Value) -> Result<serde_json::Value, ValidationError> {
    Ok(match value.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(flag)) => serde_json::Value::Bool(flag),
        Some(Kind::StringValue(text)) => serde_json::Value::String(text),
        Some(Kind::NumberValue(number)) => {
            serde_json::Number::from_f64(number).map(serde_json::Value::Number).ok_or_else(
                || ValidationError::new("", format!("numbers must be finite, got {number}")),
            )?
        }
        Some(Kind::ListValue(list)) => serde_json::Value::Array(
            list.values
                .into_iter()
                .enumerate()
                .map(|(index, item)| {
                    value_to_json(item).map_err(|error| error.under(&format!("[{index}]")))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(Kind::StructValue(object)) => serde_json::Value::Object(struct_to_json(object)?),
    })
}

/// A JSON object as a `google.protobuf.Struct`.
pub fn json_to_struct(object: &serde_json::Map<String, serde_json::Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: object.iter().map(|(name, value)| (name.clone(), json_to_value(value))).collect(),
    }
}

/// Any JSON value as a `google.protobuf.Value` (numbers become doubles, as in proto3 JSON).
pub fn json_to_value(value: &serde_json::Value) -> prost_types::Value {
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(prost_types::NullValue::NullValue as i32),
        serde_json::Value::Bool(flag) => Kind::BoolValue(*flag),
        serde_json::Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(text) => Kind::StringValue(text.clone()),
        serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_to_value).collect(),
        }),
        serde_json::Value::Object(object) => Kind::StructValue(json_to_struct(object)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// A `google.protobuf.Timestamp` as a time, refusing out-of-range values.
pub fn time_from_timestamp(at: &prost_types::Timestamp) -> Result<OffsetDateTime, ValidationError> {
    let nanos = i128::from(at.seconds) * 1_000_000_000 + i128::from(at.nanos);
    if !(0..1_000_000_000).contains(&at.nanos) {
        return Err(ValidationError::new("nanos", format!("must be in 0..1e9, got {}", at.nanos)));
    }
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map_err(|_| ValidationError::new("seconds", format!("is out of range: {}", at.seconds)))
}

/// A time as a `google.protobuf.Timestamp`.
pub fn timestamp_from_time(at: OffsetDateTime) -> prost_types::Timestamp {
    let nanos = at.unix_timestamp_nanos();
    prost_types::Timestamp {
        seconds: nanos.div_euclid(1_000_000_000) as i64,
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}
