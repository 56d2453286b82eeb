//! Where varyctl connects and with which token: flags, then environment (both through
//! clap), then the config file, then the default. The same order holds for the control
//! plane (`addr`) and for the edge agent that `assign` and `explain` ask (`agent_addr`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{cli::GlobalArgs, error::CliError, yaml};

/// Used when neither a flag, the environment nor the config file names an address.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:7070";
/// The edge agent's default listen address (its `--listen-addr`), so `assign` works
/// against a sidecar on the same host with no settings.
pub const DEFAULT_AGENT_ADDR: &str = "http://127.0.0.1:7171";

/// The resolved connection settings.
#[derive(Clone)]
pub struct Settings {
    /// `http://host:port` of the control plane.
    pub addr: String,
    /// `http://host:port` of the edge agent `assign` and `explain` ask.
    pub agent_addr: String,
    /// Bearer token, if any. Never printed (see the Debug impl).
    pub token: Option<String>,
    /// CA bundle for an https:// control plane.
    pub tls_ca: Option<PathBuf>,
}

/// The config file: `addr`, `agent_addr`, `token` and `tls_ca`, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    addr: Option<String>,
    agent_addr: Option<String>,
    token: Option<String>,
    tls_ca: Option<PathBuf>,
}

// === impl Settings ===

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("agent_addr", &self.agent_addr)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tls_ca", &self.tls_ca)
            .finish()
    }
}

impl Settings {
    /// Resolves flags > env > file > default. `home` and `xdg_config_home` are passed in
    /// (not read here) so tests need not touch the process environment.
    pub fn resolve(
        args: &GlobalArgs,
        xdg_config_home: Option<PathBuf>,
        home: Option<PathBuf>,
    ) -> Result<Self, CliError> {
        let explicit = args.config.clone();
        let path = explicit.clone().or_else(|| default_config_path(xdg_config_home, home));
        let file = match &path {
            Some(path) => read_config(path, explicit.is_some())?,
            None => FileConfig::default(),
        };
        let addr = args.addr.clone().or(file.addr).unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr = normalise_addr(&addr)?;
        let agent_addr = args
            .agent_addr
            .clone()
            .or(file.agent_addr)
            .unwrap_or_else(|| DEFAULT_AGENT_ADDR.to_owned());
        let agent_addr = normalise_addr(&agent_addr)?;
        let token = args.token.clone().or(file.token).filter(|token| !token.is_empty());
        let tls_ca = args.tls_ca.clone().or(file.tls_ca);
        Ok(Settings { addr, agent_addr, token, tls_ca })
    }
}

/// `$XDG_CONFIG_HOME/vary/config.yaml`, else `$HOME/.config/vary/config.yaml`.
fn default_config_path(xdg_config_home: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let base = xdg_config_home
        .filter(|dir| dir.is_absolute())
        .or_else(|| home.map(|home| home.join(".config")))?;
    Some(base.join("vary").join("config.yaml"))
}

/// Reads the config file. A missing default file is normal; a missing file the operator
/// named is an error.
fn read_config(path: &Path, must_exist: bool) -> Result<FileConfig, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !must_exist => {
            return Ok(FileConfig::default());
        }
        Err(source) => return Err(CliError::Read { path: path.to_owned(), source }),
    };
    let invalid = |message: String| {
        CliError::InvalidFile(format!("config file {}: {message}", path.display()))
    };
    let documents = yaml::load(&text).map_err(|error| invalid(error.to_string()))?;
    match documents.into_iter().next() {
        None => Ok(FileConfig::default()),
        Some(document) => serde_json::from_value(document.value).map_err(|error| {
            invalid(format!("{error} (expected `addr`, `agent_addr`, `token` and `tls_ca`)"))
        }),
    }
}

/// Accepts `host:port` as `http://host:port`; refuses schemes gRPC does not run over.
fn normalise_addr(addr: &str) -> Result<String, CliError> {
    let addr = addr.trim().trim_end_matches('/');
    if addr.starts_with("http://") || addr.starts_with("https://") {
        return Ok(addr.to_owned());
    }
    if addr.contains("://") {
        return Err(CliError::Usage(format!(
            "address {addr}: the scheme must be http:// or https://"
        )));
    }
    Ok(format!("http://{addr}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::OutputFormat;

    fn args(addr: Option<&str>, config: Option<PathBuf>) -> GlobalArgs {
        GlobalArgs {
            addr: addr.map(str::to_owned),
            agent_addr: None,
            token: None,
            tls_ca: None,
            config,
            output: OutputFormat::Table,
        }
    }

    #[test]
    fn the_default_applies_when_nothing_names_an_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings =
            Settings::resolve(&args(None, None), Some(dir.path().into()), None).expect("resolve");
        assert_eq!(settings.addr, DEFAULT_ADDR);
        assert_eq!(settings.agent_addr, DEFAULT_AGENT_ADDR);
        assert!(settings.token.is_none());
    }

    #[test]
    fn the_config_file_fills_in_what_flags_and_env_leave_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("vary")).expect("mkdir");
        std::fs::write(
            dir.path().join("vary/config.yaml"),
            "addr: cp.internal:7070\nagent_addr: sidecar:7171\ntoken: secret\n",
        )
        .expect("write");
        let from_file =
            Settings::resolve(&args(None, None), Some(dir.path().into()), None).expect("resolve");
        assert_eq!(from_file.addr, "http://cp.internal:7070");
        assert_eq!(from_file.agent_addr, "http://sidecar:7171");
        assert_eq!(from_file.token.as_deref(), Some("secret"));
        assert!(!format!("{from_file:?}").contains("secret"), "Debug must not print the token");

        let flag_wins =
            Settings::resolve(&args(Some("http://other:1"), None), Some(dir.path().into()), None)
                .expect("resolve");
        assert_eq!(flag_wins.addr, "http://other:1");
        assert_eq!(flag_wins.agent_addr, "http://sidecar:7171", "--addr leaves the agent alone");

        let agent_flag = GlobalArgs { agent_addr: Some("127.0.0.1:9".into()), ..args(None, None) };
        let agent_flag_wins =
            Settings::resolve(&agent_flag, Some(dir.path().into()), None).expect("resolve");
        assert_eq!(agent_flag_wins.agent_addr, "http://127.0.0.1:9");
        assert_eq!(agent_flag_wins.addr, "http://cp.internal:7070");
        assert_eq!(flag_wins.token.as_deref(), Some("secret"));
    }

    #[test]
    fn a_named_config_file_must_exist_and_be_valid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.yaml");
        assert!(Settings::resolve(&args(None, Some(missing)), None, None).is_err());
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "adress: x\n").expect("write");
        let error = Settings::resolve(&args(None, Some(bad)), None, None).expect_err("typo");
        assert!(error.to_string().contains("adress"), "{error}");
    }

    #[test]
    fn schemes_other_than_http_and_https_are_refused() {
        assert_eq!(normalise_addr("https://cp:443/").unwrap(), "https://cp:443");
        assert_eq!(normalise_addr("cp:7070").unwrap(), "http://cp:7070");
        let error = normalise_addr("ftp://cp:21").expect_err("not grpc");
        assert!(error.to_string().contains("http:// or https://"), "{error}");
    }
}
