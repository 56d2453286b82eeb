//! Experiments in PostgreSQL: reads, and the one transactional write path every
//! mutation goes through.

mod audit;
mod commit;
mod page_token;
mod read;
mod rows;
mod snapshot;

use deadpool_postgres::Pool;
use time::OffsetDateTime;
use vary_proto::model::Experiment;

pub use audit::{AuditFilter, AuditRecord, NewAuditEvent};
pub use commit::{CONFIG_CHANNEL, Change};
pub use page_token::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageQuery, PageToken, page_size};
pub use read::ExperimentFilter;
pub use snapshot::ConfigAtRevision;

/// Handle to the experiment store; cheap to clone (the pool is reference-counted).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

/// An experiment's current state and its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentRecord {
    /// The state at the current version.
    pub experiment: Experiment,
    /// The global revision the current version was committed at.
    pub revision: i64,
    /// When version 1 was committed.
    pub created_at: OffsetDateTime,
    /// When the current version was committed.
    pub updated_at: OffsetDateTime,
}

/// One immutable version of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    /// The state this version fixed.
    pub experiment: Experiment,
    /// The global revision it was committed at.
    pub revision: i64,
    /// Who made the change.
    pub actor: String,
    /// What kind of change (`Action::as_str`).
    pub action: String,
    /// The operator's note.
    pub change_note: String,
    /// Commit time.
    pub created_at: OffsetDateTime,
}

impl Store {
    /// A store over `pool`. The schema must already be migrated.
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// The pool this store reads and writes through.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}
