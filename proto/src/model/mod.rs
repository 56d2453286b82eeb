//! The domain model both binaries share. Every value that passed `validate` (or a
//! `TryFrom` of a protobuf message) obeys DESIGN section 3.

mod experiment;
mod pb_convert;
mod spec;
mod status;
mod validation;

pub use experiment::{Experiment, LayerOverlap, Snapshot};
pub use pb_convert::{
    json_to_struct, json_to_value, struct_to_json, time_from_timestamp, timestamp_from_time,
};
pub use spec::{
    BUCKETS, BucketRange, Condition, ExperimentSpec, Guardrail, GuardrailAction, LayerPlacement,
    MAX_CONDITION_VALUES, MAX_OVERRIDES, MAX_RULE_ITEMS, MAX_UNIT_ID_LEN, MAX_VARIANTS, Metric,
    MetricDirection, MetricKind, MetricRole, Operator, RuleGroup, Schedule, Variant,
};
pub use status::{Action, IllegalTransition, Status};
pub use validation::{MAX_KEY_LEN, ValidationError, check_slug, check_text};
