//! `Assign` answers written from bytes. Each (experiment, variant)'s `vary.v1.Assignment`
//! is encoded once per revision, so a call copies a few slices instead of cloning every
//! assigned variant's params `Struct`, encoding it and dropping it: under load that was
//! about a tenth of the agent's CPU (docs/BENCHMARKS.md, "Assign over gRPC").
//!
//! The bytes are exactly what prost writes for the message form
//! ([`crate::respond::assign_response`]); the tests compare the two.

use std::time::Duration;

use bytes::Bytes;
use prost::encoding::{self, WireType};
use vary_proto::assign::{Assignable, Assignment, CompiledSnapshot, UnitType};

use crate::respond;

/// `vary.v1.AssignResponse.assignments`.
const RESPONSE_ASSIGNMENTS: u32 = 1;
/// `vary.v1.AssignResponse.revision`.
const RESPONSE_REVISION: u32 = 2;
/// `vary.v1.AssignResponse.staleness`.
const RESPONSE_STALENESS: u32 = 3;
/// `vary.v1.AssignResponse.unit_type`.
const RESPONSE_UNIT_TYPE: u32 = 4;
/// `vary.v1.Assignment` fields, in the order prost writes them.
const EXPERIMENT_KEY: u32 = 1;
const VERSION: u32 = 2;
const VARIANT_KEY: u32 = 3;
const PARAMS: u32 = 4;
const REASON: u32 = 5;
const LAYER: u32 = 6;
const FORCED: u32 = 7;

/// One revision's `Assignment` bytes, indexed like [`Assignment::experiment_index`] and
/// [`Assignment::variant_index`].
#[derive(Debug, Default)]
pub struct EncodedAssignments {
    /// Per experiment, the position of its first variant in `variants`.
    first_variant: Box<[u32]>,
    variants: Box<[EncodedVariant]>,
}

/// One variant's request-independent fields. The call-dependent ones (reason, forced)
/// sit between and after them in field order, so the bytes are kept in two parts.
#[derive(Debug)]
struct EncodedVariant {
    /// Fields 1–4 (experiment key, version, variant key, params), then field 6 (layer).
    bytes: Box<[u8]>,
    /// Where field 6 starts in `bytes`.
    layer_at: usize,
}

// === impl EncodedAssignments ===

impl EncodedAssignments {
    /// Encodes every (experiment, variant) of `compiled`.
    pub fn encode(compiled: &CompiledSnapshot) -> Self {
        let mut first_variant = Vec::with_capacity(compiled.experiment_count());
        let mut variants = Vec::new();
        for assignable in compiled.assignable() {
            if assignable.variant_index == 0 {
                first_variant.push(u32::try_from(variants.len()).expect("variants fit in u32"));
            }
            variants.push(EncodedVariant::encode(&assignable));
        }
        Self { first_variant: first_variant.into(), variants: variants.into() }
    }

    /// The `AssignResponse` for an evaluation of the snapshot these bytes were encoded
    /// from, as protobuf bytes.
    pub fn assign_response(
        &self,
        revision: i64,
        unit: UnitType,
        assignments: &[Assignment<'_>],
        staleness: Option<Duration>,
    ) -> Bytes {
        let staleness = staleness.map(respond::duration);
        let unit = respond::unit_type(unit) as i32;
        // Two passes over the assignments (size, then write) instead of collecting the
        // first pass's lengths: a few additions cost less than an allocation per call.
        let capacity = assignments
            .iter()
            .map(|assignment| {
                let length = self.assignment_len(assignment);
                encoding::key_len(RESPONSE_ASSIGNMENTS)
                    + encoding::encoded_len_varint(length as u64)
                    + length
            })
            .sum::<usize>()
            + if revision == 0 {
                0
            } else {
                encoding::int64::encoded_len(RESPONSE_REVISION, &revision)
            }
            + staleness
                .as_ref()
                .map_or(0, |at| encoding::message::encoded_len(RESPONSE_STALENESS, at))
            + int32_len(RESPONSE_UNIT_TYPE, unit);
        let mut out = Vec::with_capacity(capacity);
        for assignment in assignments {
            let variant = self.variant(assignment);
            let reason = respond::reason(assignment.reason) as i32;
            encoding::encode_key(RESPONSE_ASSIGNMENTS, WireType::LengthDelimited, &mut out);
            encoding::encode_varint(self.assignment_len(assignment) as u64, &mut out);
            out.extend_from_slice(&variant.bytes[..variant.layer_at]);
            if reason != 0 {
                encoding::int32::encode(REASON, &reason, &mut out);
            }
            out.extend_from_slice(&variant.bytes[variant.layer_at..]);
            if assignment.forced {
                encoding::bool::encode(FORCED, &true, &mut out);
            }
        }
        if revision != 0 {
            encoding::int64::encode(RESPONSE_REVISION, &revision, &mut out);
        }
        if let Some(staleness) = &staleness {
            encoding::message::encode(RESPONSE_STALENESS, staleness, &mut out);
        }
        if unit != 0 {
            encoding::int32::encode(RESPONSE_UNIT_TYPE, &unit, &mut out);
        }
        debug_assert_eq!(out.len(), capacity, "the length computed up front");
        Bytes::from(out)
    }

    /// The encoded length of one `Assignment` message: its pre-encoded fields plus the
    /// call's reason and `forced`.
    fn assignment_len(&self, assignment: &Assignment<'_>) -> usize {
        let reason = respond::reason(assignment.reason) as i32;
        let forced = if assignment.forced { encoding::bool::encoded_len(FORCED, &true) } else { 0 };
        self.variant(assignment).bytes.len() + int32_len(REASON, reason) + forced
    }

    fn variant(&self, assignment: &Assignment<'_>) -> &EncodedVariant {
        let first = self.first_variant[assignment.experiment_index as usize] as usize;
        &self.variants[first + usize::from(assignment.variant_index)]
    }
}

// === impl EncodedVariant ===

impl EncodedVariant {
    fn encode(assignable: &Assignable<'_>) -> Self {
        let mut bytes = Vec::new();
        encode_str(EXPERIMENT_KEY, assignable.experiment_key, &mut bytes);
        if assignable.version != 0 {
            encoding::int64::encode(VERSION, &assignable.version, &mut bytes);
        }
        encode_str(VARIANT_KEY, assignable.variant_key, &mut bytes);
        // Always present, even when empty: the message form sets `params: Some(..)`.
        encoding::message::encode(PARAMS, &**assignable.params, &mut bytes);
        let layer_at = bytes.len();
        encode_str(LAYER, assignable.layer.unwrap_or_default(), &mut bytes);
        Self { bytes: bytes.into(), layer_at }
    }
}

/// A proto3 `string` field: absent when empty.
fn encode_str(tag: u32, value: &str, out: &mut Vec<u8>) {
    if !value.is_empty() {
        encoding::encode_key(tag, WireType::LengthDelimited, out);
        encoding::encode_varint(value.len() as u64, out);
        out.extend_from_slice(value.as_bytes());
    }
}

/// The length of a proto3 `int32`/enum field: absent when zero.
fn int32_len(tag: u32, value: i32) -> usize {
    if value == 0 { 0 } else { encoding::int32::encoded_len(tag, &value) }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use vary_proto::{
        assign::{AssignRequest, Context, Reason},
        model::{
            BucketRange, Experiment, ExperimentSpec, LayerPlacement, Schedule, Snapshot, Status,
            Variant,
        },
        pb,
    };

    use super::*;

    /// Experiments with and without a layer, with empty, flat and nested params, and a
    /// QA override.
    fn snapshot() -> CompiledSnapshot {
        let experiment = |key: &str, layer: Option<&str>, params: serde_json::Value| {
            let variant = |key: &str, control, params: serde_json::Value| Variant {
                key: key.into(),
                weight: 1.0,
                control,
                params: serde_json::from_value(params).expect("an object"),
                description: String::new(),
            };
            Experiment {
                key: key.into(),
                version: 3,
                status: Status::Running,
                rollout_variant_key: None,
                spec: ExperimentSpec {
                    name: key.into(),
                    description: String::new(),
                    hypothesis: String::new(),
                    owner: "tests".into(),
                    salt: String::new(),
                    layer: layer.map(|name| LayerPlacement {
                        name: name.into(),
                        range: BucketRange { start: 0, end: 10_000 },
                    }),
                    allocation_bps: 10_000,
                    variants: vec![
                        variant("control", true, serde_json::json!({})),
                        variant("treatment", false, params),
                    ],
                    placements: vec![],
                    eligibility: vec![],
                    schedule: Schedule::default(),
                    overrides: [("qa-user".to_owned(), "treatment".to_owned())].into(),
                    metrics: vec![],
                },
            }
        };
        let snapshot = Snapshot {
            revision: 41,
            experiments: vec![
                experiment("a-plain", None, serde_json::json!({})),
                experiment(
                    "b-layered",
                    Some("ranking"),
                    serde_json::json!({ "depth": 3, "model": "v2" }),
                ),
                experiment(
                    "c-nested",
                    None,
                    serde_json::json!({ "weights": [0.5, 1.5], "on": true, "x": null, "o": { "k": "v" } }),
                ),
            ],
        };
        snapshot.validate().expect("valid");
        CompiledSnapshot::compile(&snapshot).expect("compiles")
    }

    fn request(user_id: &str) -> AssignRequest {
        AssignRequest {
            user_id: user_id.into(),
            context: Context::default(),
            ..AssignRequest::default()
        }
    }

    #[test]
    fn the_bytes_are_prosts_encoding_of_the_message_form() {
        let compiled = snapshot();
        let encoded = EncodedAssignments::encode(&compiled);
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let staleness = [None, Some(Duration::ZERO), Some(Duration::from_millis(1_250))];
        let mut seen_forced = false;
        for (case, user) in ["u1", "u2", "u3", "qa-user", ""].into_iter().enumerate() {
            let request = request(user);
            let result = compiled.evaluate(&request, now);
            seen_forced |= result.assignments.iter().any(|assignment| assignment.forced);
            let staleness = staleness[case % staleness.len()];
            let expected = respond::assign_response(
                result.revision,
                result.unit.unit_type,
                &result.assignments,
                staleness,
            )
            .encode_to_vec();
            let written = encoded.assign_response(
                result.revision,
                result.unit.unit_type,
                &result.assignments,
                staleness,
            );
            assert_eq!(written.as_ref(), expected.as_slice(), "user {user:?}");
        }
        assert!(seen_forced, "the QA override case must be covered");
    }

    #[test]
    fn every_variant_of_every_experiment_is_indexed() {
        let compiled = snapshot();
        let encoded = EncodedAssignments::encode(&compiled);
        for assignable in compiled.assignable() {
            let assignment = Assignment {
                experiment_key: assignable.experiment_key,
                version: assignable.version,
                variant_key: assignable.variant_key,
                params: assignable.params,
                reason: Reason::Hash,
                layer: assignable.layer,
                forced: false,
                log_exposure: true,
                experiment_index: assignable.experiment_index,
                variant_index: assignable.variant_index,
            };
            let bytes = encoded.assign_response(0, UnitType::None, &[assignment], None);
            let decoded = pb::AssignResponse::decode(bytes).expect("decodes");
            assert_eq!(decoded.assignments[0].experiment_key, assignable.experiment_key);
            assert_eq!(decoded.assignments[0].variant_key, assignable.variant_key);
        }
    }

    #[test]
    fn an_empty_answer_has_only_its_scalars() {
        let encoded = EncodedAssignments::default();
        let bytes = encoded.assign_response(0, UnitType::None, &[], None);
        assert!(bytes.is_empty(), "all defaults encode to nothing");
        let bytes =
            encoded.assign_response(7, UnitType::Session, &[], Some(Duration::from_secs(2)));
        let decoded = pb::AssignResponse::decode(bytes).expect("decodes");
        assert_eq!(decoded.revision, 7);
        assert_eq!(decoded.unit_type, pb::UnitType::Session as i32);
        assert_eq!(decoded.staleness, Some(prost_types::Duration { seconds: 2, nanos: 0 }));
    }
}
