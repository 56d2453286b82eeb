//! The control plane's error type and its one mapping to gRPC status codes.

use tonic::{Code, Status};
use vary_proto::model::{IllegalTransition, LayerOverlap, ValidationError};

/// Everything a control-plane request can fail with. Domain variants carry what the
/// caller needs to act; `Database` and `Internal` are logged and hidden from callers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request or spec breaks a rule; names the field path.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// No such experiment (or version of one).
    #[error("{entity} {key:?} not found")]
    NotFound {
        /// "experiment" or "experiment version".
        entity: &'static str,
        /// What was looked up.
        key: String,
    },
    /// Create with a key already in use.
    #[error("experiment {key:?} already exists")]
    AlreadyExists {
        /// The key in use.
        key: String,
    },
    /// An update based on an outdated version (optimistic concurrency).
    #[error(
        "experiment {key:?} is at version {current}, not base_version {base}: re-read it and retry"
    )]
    StaleVersion {
        /// The experiment.
        key: String,
        /// The version the caller based its change on.
        base: i64,
        /// The current version.
        current: i64,
    },
    /// The lifecycle action is illegal in the current status.
    #[error("experiment {key:?}: {source}")]
    IllegalTransition {
        /// The experiment.
        key: String,
        /// The action and the current status.
        source: IllegalTransition,
    },
    /// Results were asked of an experiment that has never run.
    #[error("experiment {key:?} has not run yet: no results before it is started")]
    NotStarted {
        /// The experiment.
        key: String,
    },
    /// Running the experiment would claim buckets another running experiment owns.
    #[error("experiment {key:?}: {source}")]
    LayerOverlap {
        /// The experiment.
        key: String,
        /// Which experiment it collides with, and where.
        source: LayerOverlap,
    },
    /// PostgreSQL is unreachable or the pool is exhausted.
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A database error that is not the caller's fault.
    #[error("database error")]
    Database(#[from] tokio_postgres::Error),
    /// A bug or a broken invariant.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Error::Unavailable(error.into())
    }
}

impl From<Error> for Status {
    /// The one place errors become status codes. Internal details are logged here, with
    /// their whole chain, and replaced by a generic message.
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::Invalid(_) => Code::InvalidArgument,
            Error::NotFound { .. } => Code::NotFound,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::StaleVersion { .. } => Code::Aborted,
            Error::IllegalTransition { .. }
            | Error::LayerOverlap { .. }
            | Error::NotStarted { .. } => Code::FailedPrecondition,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Database(db_error) if is_retryable(db_error) => Code::Aborted,
            Error::Database(db_error) if is_connection_error(db_error) => Code::Unavailable,
            Error::Database(_) | Error::Internal(_) => Code::Internal,
        };
        if matches!(code, Code::Internal | Code::Unavailable | Code::Aborted)
            && matches!(error, Error::Database(_) | Error::Internal(_) | Error::Unavailable(_))
        {
            tracing::error!(error = ?anyhow::Error::from(error), "request failed");
            let message = match code {
                Code::Unavailable => "database unavailable, retry later",
                Code::Aborted => "concurrent change, retry",
                _ => "internal error",
            };
            return Status::new(code, message);
        }
        Status::new(code, error.to_string())
    }
}

/// The connection broke (or never came up): the database, not the request, is at fault.
fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    error.is_closed() || error.source().is_some_and(|source| source.is::<std::io::Error>())
}

/// Serialization failures and deadlocks: the transaction may simply be retried.
fn is_retryable(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(error.code(), Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED)
}
