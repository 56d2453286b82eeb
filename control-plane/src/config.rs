//! The control plane's configuration: flags with environment fallbacks, parsed once.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};
pub use vary_ops::{LogFormat, MetricsAddr};

/// Command line of `vary-control-plane`.
#[derive(Debug, Parser)]
#[command(
    name = "vary-control-plane",
    version,
    about = "Vary control plane: experiments, versions and config distribution"
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub config: Config,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the gRPC server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the first admin API token, once: refused while a live admin token exists.
    /// Applies migrations first.
    BootstrapToken {
        /// The principal the token acts as.
        #[arg(long, default_value = "admin")]
        principal: String,
    },
}

/// Everything the server needs to start.
#[derive(Debug, Clone, Parser)]
pub struct Config {
    /// Address the gRPC server listens on.
    #[arg(long, env = "VARY_LISTEN_ADDR", default_value = "127.0.0.1:7070")]
    pub listen_addr: SocketAddr,
    /// Address of the plain-HTTP endpoint serving /metrics, /healthz and /readyz;
    /// `off` (or empty) disables it.
    #[arg(long, env = "VARY_METRICS_ADDR", default_value = "127.0.0.1:9090")]
    pub metrics_addr: MetricsAddr,
    /// PostgreSQL connection string (postgres://user:password@host:port/db).
    #[arg(long, env = "VARY_DATABASE_URL", hide_env_values = true)]
    pub database_url: DatabaseUrl,
    /// Most connections the pool opens to PostgreSQL.
    #[arg(long, env = "VARY_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
    /// Log output format.
    #[arg(long, env = "VARY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Longest time a graceful shutdown waits for in-flight work, in seconds.
    #[arg(long, env = "VARY_SHUTDOWN_GRACE_SECONDS", default_value_t = 20)]
    pub shutdown_grace_seconds: u64,
    /// This replica's name in the fleet view; defaults to $HOSTNAME (the pod name).
    #[arg(long, env = "VARY_REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Watch streams idle this long get a heartbeat.
    #[arg(long, env = "VARY_HEARTBEAT_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub heartbeat_interval: Duration,
    /// Watch streams end cleanly after this long (± 10%), so agents rebalance.
    #[arg(long, env = "VARY_MAX_STREAM_AGE", default_value = "10m", value_parser = humantime::parse_duration)]
    pub max_stream_age: Duration,
    /// How long an agent has to send its hello.
    #[arg(long, env = "VARY_FIRST_MESSAGE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub first_message_timeout: Duration,
    /// How often running experiments' guardrails are evaluated.
    #[arg(long, env = "VARY_GUARDRAIL_INTERVAL", default_value = "1m", value_parser = humantime::parse_duration)]
    pub guardrail_interval: Duration,
    /// How often the head revision is polled, as a backstop to LISTEN/NOTIFY.
    #[arg(long, env = "VARY_CONFIG_POLL_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub config_poll_interval: Duration,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key. Re-read on change.
    #[arg(long, env = "VARY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); needs --tls-cert. Re-read on change.
    #[arg(long, env = "VARY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA bundle (PEM): mutual TLS.
    #[arg(long, env = "VARY_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// How often the TLS files are checked for changes.
    #[arg(long, env = "VARY_TLS_RELOAD_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub tls_reload_interval: Duration,
    /// Serve the web console's files (the app's build output, holding index.html) from
    /// this directory under /console/ on the gRPC listener; `off` serves none
    /// (docs/console.md). The container image sets it to its copy of the console.
    #[arg(long, env = "VARY_CONSOLE_DIR", default_value = "off")]
    pub console_dir: ConsoleDir,
}

/// The `--console-dir` flag: a directory, or `off`, so that a deployment can turn off
/// the console an image turns on.
pub type ConsoleDir = vary_ops::OrOff<PathBuf>;

/// A database URL that never prints its password (`Debug` shows only host and database).
#[derive(Clone)]
pub struct DatabaseUrl(String);

// === impl Config ===

impl Config {
    /// The grace period as a duration.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }

    /// The replica name: the configured one, else `$HOSTNAME`, else one made from the pid.
    pub fn replica_name(&self) -> String {
        self.replica_id
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|name| !name.is_empty()))
            .unwrap_or_else(|| format!("control-plane-{}", std::process::id()))
    }

    /// The TLS files, when TLS is on.
    pub fn tls_files(&self) -> Option<crate::server::tls::TlsFiles> {
        Some(crate::server::tls::TlsFiles {
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
            client_ca: self.tls_client_ca.clone(),
        })
    }

    /// Agents silent for this long are shown as disconnected: three missed heartbeats.
    pub fn agent_stale_after(&self) -> Duration {
        self.heartbeat_interval * 3 + Duration::from_secs(5)
    }
}

// === impl DatabaseUrl ===

impl DatabaseUrl {
    /// The full URL, secrets included: pass it to the driver, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self(url.to_owned()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let after_credentials = self.0.rsplit('@').next().unwrap_or_default();
        write!(f, "DatabaseUrl(…@{after_credentials})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_address_defaults_to_loopback_and_can_be_turned_off() {
        let parse = |extra: &[&str]| {
            let args = ["vary-control-plane", "--database-url", "postgres://db/vary"];
            Cli::try_parse_from(args.iter().chain(extra)).map(|cli| cli.config.metrics_addr)
        };
        let default = parse(&[]).expect("parses");
        assert_eq!(default, MetricsAddr::on(SocketAddr::from(([127, 0, 0, 1], 9090))));
        assert_eq!(parse(&["--metrics-addr", "off"]).expect("parses"), MetricsAddr::OFF);
        assert_eq!(parse(&["--metrics-addr", ""]).expect("parses"), MetricsAddr::OFF);
        assert!(parse(&["--metrics-addr", "nowhere"]).is_err());
    }

    #[test]
    fn the_console_is_off_by_default_and_with_off() {
        let parse = |extra: &[&str]| {
            let args = ["vary-control-plane", "--database-url", "postgres://db/vary"];
            Cli::try_parse_from(args.iter().chain(extra)).map(|cli| cli.config.console_dir)
        };
        assert_eq!(parse(&[]).expect("parses"), ConsoleDir::OFF);
        assert_eq!(parse(&["--console-dir", "OFF"]).expect("parses"), ConsoleDir::OFF);
        assert_eq!(
            parse(&["--console-dir", "/usr/share/vary/console"]).expect("parses"),
            ConsoleDir::on(PathBuf::from("/usr/share/vary/console"))
        );
    }

    #[test]
    fn database_url_debug_hides_the_password() {
        let url = DatabaseUrl::from("postgres://vary:s3cret@db:5432/vary".to_owned());
        let shown = format!("{url:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db:5432/vary"), "{shown}");
    }
}
