//! The agent's configuration: flags with `VARY_…` environment fallbacks, parsed and
//! checked once at start. Tests build [`Config`] values directly and never touch the
//! environment.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use clap::Parser;
pub use vary_ops::{LogFormat, MetricsAddr};

use crate::{error::Error, forward::flags::EventFlags};

/// Longest agent id the control plane accepts (`AgentHello.agent_id`), in characters.
pub const MAX_AGENT_ID_CHARS: usize = 200;

/// Everything the agent needs to start.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "vary-edge-agent",
    version,
    about = "Vary edge agent: follows the control plane's config stream and answers Assign from memory"
)]
pub struct Config {
    /// The control plane's gRPC address.
    #[arg(long, env = "VARY_CONTROL_PLANE_ADDR", default_value = "http://127.0.0.1:7070")]
    pub control_plane_addr: String,
    /// Stable id of this agent in the fleet view; defaults to `POD_NAME`, then the hostname.
    #[arg(long, env = "VARY_AGENT_ID")]
    pub agent_id: Option<String>,
    /// A label shown in the fleet view, as `key=value`; repeat the flag for more
    /// (comma-separated in the environment variable).
    #[arg(long = "label", env = "VARY_LABELS", value_delimiter = ',', value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Address the agent's gRPC server (Assign, Explain, health) listens on.
    #[arg(long, env = "VARY_LISTEN_ADDR", default_value = "127.0.0.1:7171")]
    pub listen_addr: SocketAddr,
    /// Address of the plain-HTTP endpoint serving /metrics, /healthz and /readyz;
    /// `off` (or empty) disables it. [`Config::new`] leaves it off.
    #[arg(long, env = "VARY_METRICS_ADDR", default_value = "127.0.0.1:9191")]
    pub metrics_addr: MetricsAddr,
    /// Directory of the last-known-good snapshot file; created when missing.
    #[arg(long, env = "VARY_STATE_DIR", default_value = ".vary-agent")]
    pub state_dir: PathBuf,
    /// Log output format.
    #[arg(long, env = "VARY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// First reconnect delay after a stream ends or fails (before jitter).
    #[arg(long, env = "VARY_BACKOFF_MIN", default_value = "200ms", value_parser = parse_duration)]
    pub backoff_min: Duration,
    /// Longest reconnect delay (before jitter).
    #[arg(long, env = "VARY_BACKOFF_MAX", default_value = "30s", value_parser = parse_duration)]
    pub backoff_max: Duration,
    /// Longest wait to connect and then for the first message of a stream; after a failed
    /// first attempt the agent serves its last-known-good file.
    #[arg(long, env = "VARY_FIRST_MESSAGE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub first_message_timeout: Duration,
    /// A stream silent this long is treated as dead. The control plane heartbeats idle
    /// streams every ~10 s, so keep this at several heartbeat intervals.
    #[arg(long, env = "VARY_IDLE_TIMEOUT", default_value = "35s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Longest a graceful shutdown waits for in-flight requests.
    #[arg(long, env = "VARY_SHUTDOWN_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// Event queueing, batching and spooling (exposures and outcomes).
    #[command(flatten)]
    pub events: EventFlags,
    /// API token (role `agent`) presented to the control plane on every call.
    #[arg(long, env = "VARY_TOKEN", hide_env_values = true)]
    pub token: Option<Secret>,
    /// CA bundle (PEM) that signed the control plane's certificate; required for an
    /// https:// control-plane address.
    #[arg(long, env = "VARY_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS; needs --tls-client-key.
    #[arg(long, env = "VARY_TLS_CLIENT_CERT", requires = "tls_client_key")]
    pub tls_client_cert: Option<PathBuf>,
    /// Client certificate's private key (PEM) for mutual TLS; needs --tls-client-cert.
    #[arg(long, env = "VARY_TLS_CLIENT_KEY", requires = "tls_client_cert")]
    pub tls_client_key: Option<PathBuf>,
    /// Require this token (`authorization: Bearer <token>`) on the agent's own API
    /// (health stays open for probes). Off by default: the API listens on localhost.
    #[arg(long, env = "VARY_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<Secret>,
}

/// A secret from the command line or environment: usable, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself: for the wire, never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(secret: &str) -> Result<Self, Self::Err> {
        Ok(Self(secret.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

// === impl Config ===

impl Config {
    /// A configuration with every default, for `control_plane_addr`, `agent_id` and
    /// `state_dir`; tests and embedders start from it.
    pub fn new(
        control_plane_addr: impl Into<String>,
        agent_id: impl Into<String>,
        state_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            control_plane_addr: control_plane_addr.into(),
            agent_id: Some(agent_id.into()),
            labels: Vec::new(),
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 7171)),
            // Off: tests start many agents in one process, and embedders choose.
            metrics_addr: MetricsAddr::OFF,
            state_dir: state_dir.into(),
            log_format: LogFormat::Text,
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            first_message_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(35),
            shutdown_grace: Duration::from_secs(10),
            events: EventFlags::default(),
            token: None,
            tls_ca: None,
            tls_client_cert: None,
            tls_client_key: None,
            api_token: None,
        }
    }

    /// Checks what clap cannot: the id's length, the address's shape, the time bounds.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid =
            |field: &'static str, message: String| Err(Error::InvalidConfig { field, message });
        let agent_id = self.resolved_agent_id();
        if agent_id.is_empty() || agent_id.chars().count() > MAX_AGENT_ID_CHARS {
            return invalid(
                "agent_id",
                format!("must be 1..={MAX_AGENT_ID_CHARS} characters, got {agent_id:?}"),
            );
        }
        if !(self.control_plane_addr.starts_with("http://")
            || self.control_plane_addr.starts_with("https://"))
        {
            return invalid(
                "control_plane_addr",
                format!("must start with http:// or https://, got {:?}", self.control_plane_addr),
            );
        }
        if tonic::transport::Endpoint::from_shared(self.control_plane_addr.clone()).is_err() {
            return invalid(
                "control_plane_addr",
                format!("is not a valid URI: {:?}", self.control_plane_addr),
            );
        }
        let https = self.control_plane_addr.starts_with("https://");
        if https && self.tls_ca.is_none() {
            return invalid(
                "tls_ca",
                "is required for an https:// control-plane address (VARY_TLS_CA)".to_owned(),
            );
        }
        if !https && (self.tls_ca.is_some() || self.tls_client_cert.is_some()) {
            return invalid(
                "control_plane_addr",
                "must be https:// when TLS files are given".to_owned(),
            );
        }
        if self.token.as_ref().is_some_and(|token| token.expose().trim().is_empty()) {
            return invalid("token", "must not be empty".to_owned());
        }
        if self.api_token.as_ref().is_some_and(|token| token.expose().trim().is_empty()) {
            return invalid("api_token", "must not be empty".to_owned());
        }
        if self.backoff_min.is_zero() || self.backoff_min > self.backoff_max {
            return invalid(
                "backoff_min",
                format!("must be > 0 and <= backoff_max ({:?})", self.backoff_max),
            );
        }
        for (field, value) in [
            ("first_message_timeout", self.first_message_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            if value.is_zero() {
                return invalid(field, "must be > 0".to_owned());
            }
        }
        self.events.validate()
    }

    /// The agent id: the flag, else `POD_NAME`, else the hostname, else a fixed name.
    pub fn resolved_agent_id(&self) -> String {
        if let Some(id) = &self.agent_id {
            return id.clone();
        }
        std::env::var("POD_NAME")
            .ok()
            .filter(|name| !name.is_empty())
            .or_else(hostname)
            .unwrap_or_else(|| "vary-edge-agent".to_owned())
    }

    /// The labels as the map `AgentHello` carries (a repeated key keeps its last value).
    pub fn label_map(&self) -> BTreeMap<String, String> {
        self.labels.iter().cloned().collect()
    }
}

/// The kernel's hostname, read from procfs so no unsafe libc call is needed.
fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Parses `key=value`.
fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected key=value, got {text:?}")),
    }
}

/// Parses a duration written as a whole number with a unit: `250ms`, `5s`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 =
        digits.parse().map_err(|_| format!("expected e.g. 250ms, 5s or 2m, got {text:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(amount)),
        "s" => Ok(Duration::from_secs(amount)),
        "m" => Ok(Duration::from_secs(amount.saturating_mul(60))),
        _ => Err(format!("expected a unit of ms, s or m, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("1.5s").is_err());
    }

    #[test]
    fn labels_parse_as_key_value() {
        assert_eq!(parse_label("zone=eu-1"), Ok(("zone".to_owned(), "eu-1".to_owned())));
        assert_eq!(parse_label("empty="), Ok(("empty".to_owned(), String::new())));
        assert!(parse_label("=x").is_err());
        assert!(parse_label("novalue").is_err());
    }

    #[test]
    fn defaults_parse_and_validate() {
        let config = Config::try_parse_from([
            "vary-edge-agent",
            "--agent-id",
            "pod-1",
            "--label",
            "app=shop",
        ])
        .expect("defaults parse");
        assert_eq!(config.validate().map_err(|error| error.to_string()), Ok(()));
        assert_eq!(config.label_map().get("app").map(String::as_str), Some("shop"));
    }

    #[test]
    fn the_metrics_address_defaults_to_loopback_and_can_be_turned_off() {
        let parse = |extra: &[&str]| {
            let args = ["vary-edge-agent", "--agent-id", "pod-1"];
            Config::try_parse_from(args.iter().chain(extra)).map(|config| config.metrics_addr)
        };
        let default = parse(&[]).expect("parses");
        assert_eq!(default, MetricsAddr::on(SocketAddr::from(([127, 0, 0, 1], 9191))));
        assert_eq!(parse(&["--metrics-addr", "off"]).expect("parses"), MetricsAddr::OFF);
        assert_eq!(parse(&["--metrics-addr", ""]).expect("parses"), MetricsAddr::OFF);
        assert!(parse(&["--metrics-addr", "nowhere"]).is_err());
    }

    #[test]
    fn inverted_backoff_bounds_are_refused() {
        let config = Config {
            backoff_min: Duration::from_secs(60),
            ..Config::new("http://127.0.0.1:7070", "pod-1", "/tmp/x")
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn addresses_without_a_scheme_are_refused() {
        let config = Config::new("127.0.0.1:7070", "pod-1", "/tmp/x");
        assert!(config.validate().is_err());
    }
}
