//! The command line, as clap derive types. Parsing only: what each command does lives in
//! `commands/`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use vary_proto::model::{BUCKETS, Status};

/// `varyctl`: operate Vary experiments from a terminal or a Git repository.
#[derive(Debug, Parser)]
#[command(
    name = "varyctl",
    version,
    about = "Operate Vary experiments: lifecycle, history, experiments as code, the fleet \
             and QA lookups against an edge agent",
    after_help = "Exit codes: 0 ok, 1 the server refused (or apply partly failed), \
                  2 usage error or invalid file, 3 cannot reach the control plane (or, for \
                  assign and explain, the edge agent), 4 `diff --exit-code` found differences."
)]
pub struct Cli {
    /// Connection and output settings shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes. Addr and token fall back to the environment, then to the
/// config file, then to the default (see `settings`). Listed under their own heading so
/// a command's `--help` shows its own flags first, not interleaved with these.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Control-plane address; else the config file's, else http://127.0.0.1:7070.
    #[arg(long, global = true, env = "VARY_ADDR")]
    pub addr: Option<String>,
    /// Edge-agent (sidecar) address for `assign` and `explain`; else the config file's
    /// `agent_addr`, else http://127.0.0.1:7171.
    #[arg(long, global = true, env = "VARY_AGENT_ADDR")]
    pub agent_addr: Option<String>,
    /// API token, sent as `authorization: Bearer <token>`; else the config file's.
    #[arg(long, global = true, env = "VARY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// CA bundle (PEM) that signed the control plane's certificate, for https:// addresses;
    /// else the config file's `tls_ca`.
    #[arg(long, global = true, env = "VARY_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Config file with `addr`, `agent_addr`, `token` and `tls_ca`; default
    /// $XDG_CONFIG_HOME/vary/config.yaml, else ~/.config/vary/config.yaml (a missing
    /// default file is fine).
    #[arg(long, global = true, env = "VARYCTL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// Pretty JSON for scripts (`jq`).
    Json,
    /// YAML; `experiments get -o yaml` output is a valid experiments-as-code file.
    Yaml,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Experiments: list, inspect, change, and their lifecycle.
    #[command(subcommand, visible_alias = "exp")]
    Experiments(ExperimentsCommand),
    /// Create or update experiments to match files (alias of `experiments apply`).
    Apply(ApplyArgs),
    /// Show what `apply` would change, field by field (alias of `experiments diff`).
    Diff(DiffArgs),
    /// An experiment's results: SRM check, each metric per variant with CIs and p-values,
    /// guardrails.
    Results(ResultsArgs),
    /// The edge agents the control plane knows and the config revision each serves.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Ask an edge agent which variants a unit gets (QA: logs no exposure by default).
    Assign(AssignArgs),
    /// Ask an edge agent why each experiment did or did not assign for a unit (QA).
    Explain(ExplainArgs),
    /// The audit log: who changed what and when, newest first (admin).
    Audit(AuditArgs),
    /// API tokens: create, list, revoke (admin).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Which principal and role the configured token has.
    Whoami,
    /// Print the client version and whether the control plane is serving.
    Version(VersionArgs),
}

/// `audit` filters.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events on this target: an experiment key or a token id.
    pub target: Option<String>,
    /// Only events on this kind of target (experiment, token).
    #[arg(long)]
    pub target_type: Option<String>,
    /// Only events by this actor (a token's principal, or system:guardrail).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this action, e.g. experiment.pause, token.revoke, experiment.guardrail_alert.
    #[arg(long)]
    pub action: Option<String>,
    /// Only events this recent (`90m`, `24h`, `7d`) or since an RFC 3339 time.
    #[arg(long, value_parser = parse_time_bound)]
    pub since: Option<TimeBound>,
    /// Only events before this: an age (`1h`) or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_bound)]
    pub until: Option<TimeBound>,
    /// At most this many events (newest first).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// A point in time on the command line: an age before now, or an RFC 3339 time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// This long before now.
    Ago(std::time::Duration),
    /// This instant.
    At(time::OffsetDateTime),
}

/// `tokens …` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a token; its secret is printed once and never again.
    Create(TokenCreateArgs),
    /// Tokens (never their secrets), newest first.
    #[command(visible_alias = "ls")]
    List(TokenListArgs),
    /// Revoke a token: every later call with it is refused.
    Revoke(TokenRevokeArgs),
}

/// `tokens create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Who the token acts as (recorded on every change it makes), e.g. alice@example.com.
    #[arg(long)]
    pub principal: String,
    /// viewer, experimenter, admin or agent.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// What it is for.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Lifetime (`30d`, `12h`); never expires when omitted.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub ttl: Option<std::time::Duration>,
}

/// `tokens list`.
#[derive(Debug, Args)]
pub struct TokenListArgs {
    /// Also revoked and expired tokens.
    #[arg(long, short = 'A')]
    pub all: bool,
}

/// `tokens revoke`.
#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token id (the part after `vary_`, as `tokens list` shows it).
    pub token_id: String,
}

/// A token role on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Reads experiments, results and the fleet.
    Viewer,
    /// Viewer, plus every experiment change but archive.
    Experimenter,
    /// Everything.
    Admin,
    /// Edge agents: config and events only.
    Agent,
}

/// `agents …` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Every agent: connected, applied revision against the head, rejections, last seen.
    #[command(visible_alias = "ls")]
    List,
}

/// `experiments …` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExperimentsCommand {
    /// List experiments (all but archived, unless --all or --status archived).
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show one experiment at its current version.
    Get(GetArgs),
    /// Create the experiments in files; fails for keys that already exist.
    Create(FileArgs),
    /// Edit an experiment's spec in $VISUAL / $EDITOR and update it.
    Edit(EditArgs),
    /// Create or update experiments to match files.
    Apply(ApplyArgs),
    /// Field-level differences: files against the server, or two versions.
    Diff(DiffArgs),
    /// List an experiment's versions.
    History(KeyArg),
    /// Write a new version whose spec equals an earlier version's.
    Rollback(RollbackArgs),
    /// DRAFT -> RUNNING.
    Start(LifecycleArgs),
    /// RUNNING -> PAUSED.
    Pause(LifecycleArgs),
    /// PAUSED -> RUNNING.
    Resume(LifecycleArgs),
    /// RUNNING or PAUSED -> STOPPED, optionally rolling one variant out.
    Stop(StopArgs),
    /// DRAFT or STOPPED -> ARCHIVED.
    Archive(LifecycleArgs),
    /// Set the allocation (share of eligible traffic): `2500` basis points or `25%`.
    Ramp(RampArgs),
}

/// Filters of `experiments list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this status (draft, running, paused, stopped, archived).
    #[arg(long, value_parser = parse_status)]
    pub status: Option<Status>,
    /// Only this layer.
    #[arg(long)]
    pub layer: Option<String>,
    /// Only this owner.
    #[arg(long)]
    pub owner: Option<String>,
    /// Include archived experiments.
    #[arg(long, short = 'A')]
    pub all: bool,
}

/// `experiments get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The experiment's key.
    pub key: String,
    /// This version instead of the current one.
    #[arg(long)]
    pub version: Option<i64>,
}

/// One experiment key.
#[derive(Debug, Args)]
pub struct KeyArg {
    /// The experiment's key.
    pub key: String,
}

/// Files or directories of experiments.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// A YAML or JSON file, or a directory of them (`*.yml`, `*.yaml`, `*.json`, recursively).
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Change note stored on every version written.
    #[arg(short = 'm', long = "note", default_value = "")]
    pub note: String,
}

/// `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// What to apply.
    #[command(flatten)]
    pub files: FileArgs,
    /// Print what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `diff`: either `-f FILE…` against the server, or `KEY FROM [TO]` between versions.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Files or directories to compare with the server.
    #[arg(short = 'f', long = "filename", conflicts_with_all = ["key", "from", "to"])]
    pub files: Vec<PathBuf>,
    /// Compare two versions of this experiment instead.
    #[arg(requires = "from")]
    pub key: Option<String>,
    /// The older version.
    pub from: Option<i64>,
    /// The newer version (default: the current one).
    pub to: Option<i64>,
    /// Exit with 4 when there are differences (as `git diff --exit-code`).
    #[arg(long)]
    pub exit_code: bool,
}

/// `edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The experiment's key.
    pub key: String,
    /// Change note stored on the new version.
    #[arg(short = 'm', long = "note", default_value = "edited with varyctl")]
    pub note: String,
}

/// `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The experiment's key.
    pub key: String,
    /// The version whose spec becomes current again.
    #[arg(long = "to-version", visible_alias = "to")]
    pub to_version: i64,
    /// Change note (the server writes "rollback to version N" when empty).
    #[arg(short = 'm', long = "note", default_value = "")]
    pub note: String,
}

/// Lifecycle commands that take only a key and a note.
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// The experiment's key.
    pub key: String,
    /// Change note stored on the new version.
    #[arg(short = 'm', long = "note", default_value = "")]
    pub note: String,
}

/// `stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// The experiment's key.
    pub key: String,
    /// Serve this variant to every eligible unit from now on.
    #[arg(long)]
    pub rollout: Option<String>,
    /// Change note stored on the new version.
    #[arg(short = 'm', long = "note", default_value = "")]
    pub note: String,
}

/// `ramp`.
#[derive(Debug, Args)]
pub struct RampArgs {
    /// The experiment's key.
    pub key: String,
    /// Basis points (`2500`, `2500bps`) or a percentage (`25%`, `12.5%`).
    #[arg(value_name = "ALLOCATION", value_parser = parse_allocation)]
    pub allocation_bps: u32,
    /// Change note stored on the new version.
    #[arg(short = 'm', long = "note", default_value = "")]
    pub note: String,
}

/// `results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The experiment's key.
    pub key: String,
    /// This phase (1, 2, …) instead of the current one; a phase starts whenever the
    /// traffic split changes.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    pub phase: Option<i32>,
}

/// `assign`.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// Who and where.
    #[command(flatten)]
    pub unit: UnitArgs,
    /// Record exposures for this lookup, as a real request would. Off by default: a QA
    /// lookup is not a user seeing a variant, and its exposure would count in the analysis.
    #[arg(long)]
    pub log_exposure: bool,
}

/// `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Who and where.
    #[command(flatten)]
    pub unit: UnitArgs,
}

/// The unit and context of an `assign` or `explain` request, as flags. At least one of
/// `--user` and `--session` is required: without a unit nothing can assign, so asking
/// would only waste a round trip.
#[derive(Debug, Clone, Args)]
pub struct UnitArgs {
    /// The user id (the unit when given).
    #[arg(long, required_unless_present = "session")]
    pub user: Option<String>,
    /// The session id (the unit when there is no user id).
    #[arg(long)]
    pub session: Option<String>,
    /// Where the result renders: pdp, newsfeed, search, home, cart…
    #[arg(long)]
    pub placement: Option<String>,
    /// The kind of page.
    #[arg(long)]
    pub page_type: Option<String>,
    /// Country code.
    #[arg(long)]
    pub country: Option<String>,
    /// Device class.
    #[arg(long)]
    pub device: Option<String>,
    /// Whether the visitor is logged in; unset means unknown (rules see it as missing).
    #[arg(long, value_name = "true|false", action = ArgAction::Set)]
    pub logged_in: Option<bool>,
    /// Another attribute rules may test, `key=value`; repeatable.
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    pub attributes: Vec<(String, String)>,
    /// Only this experiment; repeatable (default: all of them).
    #[arg(long = "experiment", value_name = "KEY")]
    pub experiments: Vec<String>,
}

/// `version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Only the client version; do not contact the control plane.
    #[arg(long)]
    pub client: bool,
}

/// `2500` or `2500bps` (basis points, the API's unit) or `25%` / `12.5%`; checked while
/// parsing, so a bad value is a usage error (exit 2) before any connection is made.
fn parse_allocation(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "expected basis points 0..={BUCKETS} (`2500`, `2500bps`) or a percentage (`25%`), got {text:?}"
        )
    };
    let bps = if let Some(number) = text.strip_suffix('%') {
        let value: f64 = number.trim().parse().map_err(|_| invalid())?;
        let bps = value * 100.0;
        if !(0.0..=f64::from(BUCKETS)).contains(&bps) || bps.fract().abs() > 1e-9 {
            return Err(invalid());
        }
        bps.round() as u32
    } else {
        let number = text.strip_suffix("bps").unwrap_or(text).trim();
        number.parse::<u32>().map_err(|_| invalid())?
    };
    if bps > BUCKETS {
        return Err(invalid());
    }
    Ok(bps)
}

/// `key=value`, split at the first `=` (values may contain `=`); the key must not be
/// empty, so a typo such as `--attr =x` is a usage error rather than a silent no-op.
fn parse_attribute(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// A lifecycle status by its lower-case name (upper case accepted too).
fn parse_status(text: &str) -> Result<Status, String> {
    Status::parse(&text.to_lowercase()).ok_or_else(|| {
        format!("expected draft, running, paused, stopped or archived, got {text:?}")
    })
}

/// Parses `--since`/`--until`: `90m`, `24h`, `7d` (an age) or an RFC 3339 time.
fn parse_time_bound(text: &str) -> Result<TimeBound, String> {
    if let Ok(at) =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return Ok(TimeBound::At(at));
    }
    humantime::parse_duration(text).map(TimeBound::Ago).map_err(|_| {
        format!("expected an age like 90m, 24h or 7d, or an RFC 3339 time; got {text:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_accepts_basis_points_and_percentages() {
        assert_eq!(parse_allocation("2500"), Ok(2500));
        assert_eq!(parse_allocation("2500bps"), Ok(2500));
        assert_eq!(parse_allocation("25%"), Ok(2500));
        assert_eq!(parse_allocation("12.5%"), Ok(1250));
        assert_eq!(parse_allocation("100%"), Ok(10_000));
        for bad in ["10001", "101%", "-1", "abc", "0.001%", ""] {
            assert!(parse_allocation(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attributes_split_at_the_first_equals_sign() {
        assert_eq!(parse_attribute("tier=gold"), Ok(("tier".into(), "gold".into())));
        assert_eq!(parse_attribute("q=a=b"), Ok(("q".into(), "a=b".into())));
        assert_eq!(parse_attribute("empty="), Ok(("empty".into(), String::new())));
        for bad in ["tier", "=gold", ""] {
            assert!(parse_attribute(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn assign_needs_a_unit_and_takes_logged_in_as_a_value() {
        use clap::Parser as _;
        let parsed = Cli::try_parse_from([
            "varyctl",
            "assign",
            "--session",
            "s1",
            "--logged-in",
            "false",
            "--attr",
            "tier=gold",
            "--experiment",
            "a",
            "--experiment",
            "b",
        ])
        .expect("valid command line");
        let Command::Assign(args) = parsed.command else { panic!("assign expected") };
        assert_eq!(args.unit.logged_in, Some(false));
        assert_eq!(args.unit.experiments, ["a", "b"]);
        assert!(!args.log_exposure);
        assert!(Cli::try_parse_from(["varyctl", "assign", "--placement", "pdp"]).is_err());
        assert!(Cli::try_parse_from(["varyctl", "explain", "--user", "u", "--logged-in"]).is_err());
    }

    #[test]
    fn statuses_parse_in_either_case() {
        assert_eq!(parse_status("RUNNING"), Ok(Status::Running));
        assert!(parse_status("live").is_err());
    }
}
