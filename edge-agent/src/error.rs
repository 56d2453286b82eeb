//! The agent's one error type. Each variant names what failed and on what (a revision, a
//! path, a timeout), so a log line or a NACK explains itself.

use std::{path::PathBuf, time::Duration};

use vary_proto::{assign::CompileError, model::ValidationError};

/// Why something in the agent failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is out of range; the binary exits with status 64.
    #[error("{field} {message}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What was expected.
        message: String,
    },
    /// The control plane could not be reached.
    #[error("connect to the control plane at {address}")]
    Connect {
        /// Where the agent tried.
        address: String,
        /// The transport's reason.
        #[source]
        source: tonic::transport::Error,
    },
    /// The Watch call or its stream failed with a gRPC status.
    #[error("watch stream failed")]
    Stream(#[from] tonic::Status),
    /// The stream produced no message in time after it was opened.
    #[error("no message from the control plane within {0:?}")]
    FirstMessageTimeout(Duration),
    /// The stream was silent for longer than the idle limit (heartbeats stopped).
    #[error("watch stream silent for {0:?}")]
    IdleTimeout(Duration),
    /// The control plane sent a message with no `kind`.
    #[error("watch response without a kind")]
    EmptyResponse,
    /// A received snapshot failed the shared validation (or the pb→model conversion).
    #[error("revision {revision}: {source}")]
    InvalidSnapshot {
        /// The refused revision.
        revision: i64,
        /// Where and why.
        source: ValidationError,
    },
    /// A received snapshot passed validation but the engine could not compile it.
    #[error("revision {revision}: {source}")]
    Uncompilable {
        /// The refused revision.
        revision: i64,
        /// Why.
        source: CompileError,
    },
    /// A snapshot older than the one served; applying it would move the agent backwards.
    #[error("revision {revision} is older than the served revision {served}")]
    OlderRevision {
        /// The refused revision.
        revision: i64,
        /// The revision served.
        served: i64,
    },
    /// Reading or writing the last-known-good file failed.
    #[error("last-known-good file {path}: {source}")]
    LkgIo {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The last-known-good file exists but fails its checks; it is never served.
    #[error("last-known-good file {path} is corrupt: {reason}")]
    LkgCorrupt {
        /// The file.
        path: PathBuf,
        /// Which check failed.
        reason: String,
    },
    /// The event pipeline could not start (spool directory, control-plane address).
    #[error("start event forwarding")]
    Events(#[from] crate::forward::StartError),
    /// The gRPC server failed.
    #[error("grpc server")]
    Serve(#[from] tonic::transport::Error),
    /// The reflection service could not be built from the descriptor sets.
    #[error("build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// An error and its sources, `outer: inner: root`, for one log field. The variants that
/// show their cause in their own message do not also report it as a source, so nothing
/// repeats.
#[derive(Debug)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

// === impl Chain ===

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

// === impl Error ===

impl Error {
    /// Whether the error is a refused snapshot, answered with a NACK rather than a reconnect.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Error::InvalidSnapshot { .. }
                | Error::Uncompilable { .. }
                | Error::OlderRevision { .. }
        )
    }
}
