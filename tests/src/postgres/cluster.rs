//! One throwaway PostgreSQL cluster: `initdb` into a fresh temp dir, `pg_ctl start` on a free
//! port of 127.0.0.1, and a watchdog process that stops it and deletes the dir once the test
//! process is gone (the way pgtemp does it, minus the Drop: statics are never dropped).

use std::{
    ffi::OsString,
    io::Write as _,
    net::TcpListener,
    os::unix::process::CommandExt as _,
    path::{Path, PathBuf},
    process::{ChildStdin, Stdio},
    time::Instant,
};

use anyhow::{Context as _, bail};

use super::binaries::PgBin;

/// How long `pg_ctl -w` may wait for the server to accept connections, in seconds.
const START_TIMEOUT_SECS: &str = "60";

/// Another process can take the port we probed before postgres binds it; retry with a new one.
const START_ATTEMPTS: usize = 3;

/// The bootstrap superuser `initdb` creates, whichever OS user runs it.
pub(super) const SUPERUSER: &str = "postgres";

/// Settings for a server whose data is thrown away: no durability, many test connections.
const SETTINGS: &str = "\
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
";

/// A running throwaway cluster.
#[derive(Debug)]
pub(super) struct Cluster {
    /// Temp dir holding `data/`, the unix socket and `postgres.log`.
    dir: PathBuf,
    /// TCP port on 127.0.0.1.
    port: u16,
    /// Write end of the watchdog's stdin. The kernel closes it when this process exits, however
    /// it exits (panic, SIGKILL), and that EOF is the watchdog's signal to clean up.
    _watchdog_stdin: ChildStdin,
}

/// Which OS user runs `initdb` and `pg_ctl`: PostgreSQL refuses to run as root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunAs {
    CurrentUser,
    PostgresUser,
}

// === impl Cluster ===

impl Cluster {
    /// Creates and starts a cluster; on error, the watchdog removes whatever was created.
    pub(super) async fn start() -> anyhow::Result<Self> {
        let started_at = Instant::now();
        let bin = PgBin::find()?;
        let run_as = RunAs::for_this_process();
        let dir = tempfile::Builder::new()
            .prefix("vary-pg-")
            .tempdir()
            .context("failed to create a temp dir for the test postgres")?
            .keep();
        // Spawned before anything else can fail, so that a failed start leaves nothing behind.
        let watchdog_stdin = spawn_watchdog(&dir, &bin, run_as)?;
        if run_as == RunAs::PostgresUser {
            let mut chown = tokio::process::Command::new("chown");
            chown.arg(format!("{SUPERUSER}:")).arg("--").arg(&dir);
            run(chown, "chown of the test postgres dir").await?;
        }
        initdb(&bin, run_as, &dir).await?;
        let port = start_on_a_free_port(&bin, run_as, &dir).await?;
        tracing::info!(
            port,
            dir = %dir.display(),
            elapsed_ms = started_at.elapsed().as_millis(),
            "throwaway postgres started"
        );
        Ok(Self { dir, port, _watchdog_stdin: watchdog_stdin })
    }

    /// Connection string of the built-in `postgres` database, for administration.
    pub(super) fn admin_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The temp dir holding the data directory, the unix socket and `postgres.log`.
    pub(super) fn dir(&self) -> &Path {
        &self.dir
    }
}

// === impl RunAs ===

impl RunAs {
    fn for_this_process() -> Self {
        // SAFETY: geteuid takes no arguments, touches no memory and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if euid == 0 { Self::PostgresUser } else { Self::CurrentUser }
    }

    /// The argv that runs `program` as this user (`runuser` is util-linux, on every Debian).
    fn argv(self, program: &Path) -> Vec<OsString> {
        let mut argv = Vec::new();
        if self == Self::PostgresUser {
            argv.extend(["runuser", "-u", SUPERUSER, "--"].map(OsString::from));
        }
        argv.push(program.into());
        argv
    }

    fn command(self, program: &Path) -> tokio::process::Command {
        let argv = self.argv(program);
        let mut command = tokio::process::Command::new(&argv[0]);
        command.args(&argv[1..]);
        command
    }
}

fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// A `sh` that blocks reading its stdin until EOF (this process has exited), then stops the
/// server and deletes the dir. Its own process group keeps it alive through a Ctrl-C.
fn spawn_watchdog(dir: &Path, bin: &PgBin, run_as: RunAs) -> anyhow::Result<ChildStdin> {
    const SCRIPT: &str = r#"
        trap '' INT HUP
        dir="$1"; shift
        cat >/dev/null
        "$@" >/dev/null 2>&1
        rm -rf -- "$dir"
    "#;
    let mut stop = run_as.argv(&bin.program("pg_ctl"));
    stop.extend(["stop", "-m", "immediate", "-w", "-t", "30", "-D"].map(OsString::from));
    stop.push(data_dir(dir).into());
    let mut watchdog = std::process::Command::new("sh")
        .args(["-c", SCRIPT, "vary-pg-watchdog"])
        .arg(dir)
        .args(stop)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("failed to spawn the test postgres watchdog (sh)")?;
    // Dropping the Child neither kills nor waits for it; only the pipe matters.
    watchdog.stdin.take().context("watchdog stdin was configured as piped")
}

async fn initdb(bin: &PgBin, run_as: RunAs, dir: &Path) -> anyhow::Result<()> {
    let mut initdb = run_as.command(&bin.program("initdb"));
    initdb
        .arg("--pgdata")
        .arg(data_dir(dir))
        .args(["--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"])
        .arg(format!("--username={SUPERUSER}"));
    run(initdb, "initdb").await?;

    let config_path = data_dir(dir).join("postgresql.conf");
    let socket_dir = dir.to_str().context("temp dir path is not UTF-8")?.replace('\'', "''");
    let mut config = std::fs::OpenOptions::new()
        .append(true)
        .open(&config_path)
        .with_context(|| format!("failed to open {}", config_path.display()))?;
    write!(config, "\n{SETTINGS}unix_socket_directories = '{socket_dir}'\n")
        .with_context(|| format!("failed to write {}", config_path.display()))
}

async fn start_on_a_free_port(bin: &PgBin, run_as: RunAs, dir: &Path) -> anyhow::Result<u16> {
    let log_path = dir.join("postgres.log");
    for attempt in 1..=START_ATTEMPTS {
        let port = free_port()?;
        let mut pg_ctl = run_as.command(&bin.program("pg_ctl"));
        pg_ctl
            .args(["start", "-w", "-t", START_TIMEOUT_SECS, "-D"])
            .arg(data_dir(dir))
            .arg("-l")
            .arg(&log_path)
            .args(["-o", &format!("-p {port}")]);
        let Err(error) = run(pg_ctl, "pg_ctl start").await else {
            return Ok(port);
        };
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if attempt < START_ATTEMPTS && log.contains("already in use") {
            tracing::debug!(port, "port taken before postgres bound it; retrying");
            continue;
        }
        let lines: Vec<&str> = log.lines().collect();
        let log_tail = lines[lines.len().saturating_sub(20)..].join("\n");
        return Err(error.context(format!(
            "test postgres did not start; end of {}:\n{log_tail}",
            log_path.display()
        )));
    }
    bail!("test postgres did not start after {START_ATTEMPTS} attempts")
}

/// A port nothing listens on right now (the OS picks it); postgres binds it a moment later.
fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("failed to bind 127.0.0.1:0 to find a port")?;
    Ok(listener.local_addr().context("bound listener has no local address")?.port())
}

/// Runs a command to completion, turning a non-zero exit into an error carrying its output.
async fn run(mut command: tokio::process::Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("failed to run {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
