//! The assignment engine: DESIGN section 4, deterministic and pure.
//!
//! Architecture invariant: nothing here performs I/O, reads a clock (the request time is
//! an argument), spawns a task or holds random state. The same snapshot, request and time
//! always give the same answer, in every process and, through the conformance vectors in
//! `conformance/assignment-vectors.json`, in every language. `docs/assignment.md` states
//! the algorithm for client-library authors.
//!
//! Use: compile each snapshot revision once with [`CompiledSnapshot::compile`], then call
//! [`CompiledSnapshot::evaluate`] per request (or [`CompiledSnapshot::explain`] for QA).
//!
//! ```
//! use vary_proto::assign::{AssignRequest, CompiledSnapshot, Context, UnitType};
//! use vary_proto::model::Snapshot;
//!
//! let compiled = CompiledSnapshot::compile(&Snapshot { revision: 42, experiments: vec![] })?;
//! let request = AssignRequest {
//!     session_id: "s456".into(),
//!     context: Context { placement: "newsfeed".into(), ..Context::default() },
//!     ..AssignRequest::default()
//! };
//! let result = compiled.evaluate(&request, time::OffsetDateTime::UNIX_EPOCH);
//! assert_eq!(result.revision, 42);
//! assert_eq!(result.unit.unit_type, UnitType::Session);
//! assert!(result.assignments.is_empty());
//! # Ok::<(), vary_proto::assign::CompileError>(())
//! ```

mod bucket;
mod compile;
mod evaluate;
mod explain;
mod number;
mod placement_index;
mod request;
mod rules;
mod value_set;

pub use bucket::{HashPurpose, bucket, murmur3_key_hash, normalize_weights};
pub use compile::{CompileError, CompiledSnapshot};
pub use evaluate::{Assignable, Assignment, Assignments, Reason};
pub use explain::{Explanation, Explanations, Outcome};
pub use number::parse_rule_number;
pub use request::{AssignRequest, Context, Unit, UnitType};
pub use rules::RuleFailure;
