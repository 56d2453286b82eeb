//! The CLI's one error type and its one mapping to exit codes, which scripts rely on:
//! 0 ok, 1 the server refused, 2 usage or invalid file, 3 cannot reach the control
//! plane or the edge agent, 4 `diff --exit-code` found differences.

use std::{path::PathBuf, process::ExitCode};

use tonic::{Code, Status};

/// Exit code: the server refused a request (or some experiments of an apply failed).
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: bad flags or arguments, or a file that is not a valid experiment file.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the control plane (or, for `assign`/`explain`, the edge agent) could not be
/// reached.
pub const EXIT_CONNECTION: u8 = 3;
/// Exit code: `diff --exit-code` found differences.
pub const EXIT_DIFFERENCES: u8 = 4;

/// The two servers varyctl talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The control plane (`--addr`): experiments and the fleet.
    ControlPlane,
    /// An edge agent, the sidecar (`--agent-addr`): `assign` and `explain`.
    EdgeAgent,
}

/// Everything a command can fail with. Each variant says what the operator should know
/// to act; the exit code follows from the variant alone.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or settings.
    #[error("{0}")]
    Usage(String),
    /// A file that cannot be read or is not a valid experiment file; the message names
    /// the file, the line where known, and the field.
    #[error("{0}")]
    InvalidFile(String),
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Could not open a connection, or the connection broke (UNAVAILABLE).
    #[error(
        "cannot reach the {} at {addr}: {reason}\n\
         check that it is running and listening there, and that {} names it \
         (scheme http://, host and port)",
        .server.name(),
        .server.settings()
    )]
    Connection {
        /// Which server, so the message names the settings that choose its address.
        server: Server,
        /// The address tried.
        addr: String,
        /// What the transport said.
        reason: String,
    },
    /// The control plane answered with an error status.
    #[error("{}", describe_status(.0))]
    Refused(Status),
    /// The edge agent answered with an error status. Separate from `Refused` because the
    /// hints differ: an agent's UNAVAILABLE means it has no config yet, not a database.
    #[error("{}", describe_agent_status(.0))]
    AgentRefused(Status),
    /// A command did some of its work and reported each failure already.
    #[error("{0}")]
    Partial(String),
    /// `diff --exit-code` found differences (not an error for people, a signal for scripts).
    #[error("differences found")]
    Differences,
}

// === impl CliError ===

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::InvalidFile(_) | CliError::Read { .. } => EXIT_USAGE,
            CliError::Connection { .. } => EXIT_CONNECTION,
            CliError::Refused(_) | CliError::AgentRefused(_) | CliError::Partial(_) => EXIT_REFUSED,
            CliError::Differences => EXIT_DIFFERENCES,
        }
    }

    /// As an [`ExitCode`].
    pub fn to_exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }

    /// A status from a call, as the error an operator should see. tonic reports a
    /// connection that failed or broke during the call as UNAVAILABLE with a transport
    /// message: that is a connection problem (exit 3). Everything else, including the
    /// server's own UNAVAILABLE ("database unavailable"), is an answer from the server.
    pub fn from_status(server: Server, addr: &str, status: Status) -> Self {
        let message = status.message();
        let transport = message.contains("transport error")
            || message.starts_with("error trying to connect")
            || message.contains("tcp connect error");
        if status.code() == Code::Unavailable && transport {
            let reason = message.to_owned();
            return CliError::Connection { server, addr: addr.to_owned(), reason };
        }
        match server {
            Server::ControlPlane => CliError::Refused(status),
            Server::EdgeAgent => CliError::AgentRefused(status),
        }
    }
}

// === impl Server ===

impl Server {
    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Server::ControlPlane => "control plane",
            Server::EdgeAgent => "edge agent",
        }
    }

    /// The settings that choose its address, for "check that … names it".
    pub fn settings(self) -> &'static str {
        match self {
            Server::ControlPlane => "--addr, VARY_ADDR or the config file's `addr`",
            Server::EdgeAgent => "--agent-addr, VARY_AGENT_ADDR or the config file's `agent_addr`",
        }
    }
}

/// `NOT_FOUND: experiment "x" not found`, with a hint for the codes that have one.
fn describe_status(status: &Status) -> String {
    let hint = match status.code() {
        Code::Aborted => " (someone changed it meanwhile: re-read and retry)",
        Code::Unauthenticated => " (check --token, VARY_TOKEN or the config file's `token`)",
        Code::PermissionDenied => " (your token's role does not allow this)",
        Code::Unavailable => " (the control plane or its database is unavailable: retry later)",
        _ => "",
    };
    format!("{}: {}{hint}", code_name(status.code()), status.message())
}

/// Like [`describe_status`], with the hints that fit an edge agent.
fn describe_agent_status(status: &Status) -> String {
    let hint = match status.code() {
        Code::Unavailable => {
            " (the edge agent has no config yet: check that it reaches the control plane, \
             e.g. with `varyctl agents list`)"
        }
        Code::InvalidArgument => " (check the flags: the field path names the one refused)",
        _ => "",
    };
    format!("{}: {}{hint}", code_name(status.code()), status.message())
}

/// The canonical upper-case name of a gRPC code, as in the API docs.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_failure_has_its_documented_exit_code() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        assert_eq!(CliError::InvalidFile("x".into()).exit_code(), 2);
        let connection = CliError::Connection {
            server: Server::ControlPlane,
            addr: "http://h:1".into(),
            reason: "r".into(),
        };
        assert_eq!(connection.exit_code(), 3);
        assert!(connection.to_string().contains("http://h:1"));
        assert_eq!(CliError::AgentRefused(Status::unavailable("x")).exit_code(), 1);
        assert_eq!(CliError::Refused(Status::not_found("x")).exit_code(), 1);
        assert_eq!(CliError::Differences.exit_code(), 4);
    }

    #[test]
    fn transport_failures_during_a_call_are_connection_errors() {
        let broken = Status::unavailable("error trying to connect: tcp connect error: refused");
        let error = CliError::from_status(Server::ControlPlane, "http://h:1", broken);
        assert_eq!(error.exit_code(), EXIT_CONNECTION);
        let database = Status::unavailable("database unavailable, retry later");
        let error = CliError::from_status(Server::ControlPlane, "http://h:1", database);
        assert_eq!(error.exit_code(), EXIT_REFUSED);
    }

    #[test]
    fn edge_agent_errors_name_the_agent_and_its_settings() {
        let broken = Status::unavailable("transport error");
        let error = CliError::from_status(Server::EdgeAgent, "http://h:7171", broken);
        assert_eq!(error.exit_code(), EXIT_CONNECTION);
        let message = error.to_string();
        assert!(message.starts_with("cannot reach the edge agent at http://h:7171"), "{message}");
        assert!(message.contains("VARY_AGENT_ADDR"), "{message}");

        let no_config = Status::unavailable("no config loaded yet");
        let error = CliError::from_status(Server::EdgeAgent, "http://h:7171", no_config);
        assert_eq!(error.exit_code(), EXIT_REFUSED);
        assert!(error.to_string().contains("has no config yet"), "{error}");
    }

    #[test]
    fn refusals_name_the_code_and_the_server_message() {
        let error = CliError::Refused(Status::aborted("stale"));
        assert_eq!(
            error.to_string(),
            "ABORTED: stale (someone changed it meanwhile: re-read and retry)"
        );
    }
}
