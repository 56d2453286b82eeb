//! Child processes: the echo baseline, the edge agent and pinned load runs, each optionally
//! pinned to CPUs with `taskset` (which execs the program, so the child's pid is the
//! program's and `/proc/<pid>` describes it). Children are killed when dropped, and on
//! Linux also when this process dies without dropping them (killed by a signal).

use std::{net::SocketAddr, path::Path, process::Stdio, time::Duration};

use anyhow::{Context as _, bail};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};

use crate::{
    cli::{MixArgs, ShapeArgs},
    load::Target,
    report::LoadReport,
};

/// Longest wait for a child server to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server child.
#[derive(Debug)]
pub struct ServerProcess {
    /// `http://127.0.0.1:port`.
    pub addr: String,
    /// Its pid.
    pub pid: u32,
    child: Child,
}

/// A command running `program`, pinned to `cpus` when given, killed when dropped.
pub fn pinned(cpus: Option<&str>, program: &Path) -> Command {
    let mut command = match cpus {
        Some(cpus) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpus).arg(program);
            command
        }
        None => Command::new(program),
    };
    command.kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: the closure runs in the forked child before exec and calls only prctl, which
    // is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            // Killed with the parent: `kill_on_drop` needs destructors to run, which a
            // SIGTERM or SIGKILL of the scenario runner skips; an orphaned agent would
            // otherwise keep running and skew the next measurement. (The death signal
            // survives exec, so it covers the program `taskset` starts.)
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

// === impl ServerProcess ===

impl ServerProcess {
    /// `vary-bench baseline-server` on a free port, pinned to `cpus`.
    pub async fn baseline(cpus: Option<&str>) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("find this executable")?;
        let mut command = pinned(cpus, &exe);
        command
            .args(["baseline-server", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().context("start the baseline server")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .context("the baseline server did not start in time")??
            .context("the baseline server exited")?;
        let addr: SocketAddr = line
            .strip_prefix("listening on ")
            .and_then(|addr| addr.trim().parse().ok())
            .with_context(|| format!("unexpected first line from the baseline: {line:?}"))?;
        let pid = child.id().context("the baseline server exited")?;
        Ok(Self { addr: format!("http://{addr}"), pid, child })
    }

    /// The edge agent binary `agent`, pinned to `cpus`, following `control_plane`, with
    /// its state and log in `state_dir`.
    pub async fn agent(
        agent: &Path,
        cpus: Option<&str>,
        control_plane: &str,
        state_dir: &Path,
        extra_env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        // Its Prometheus endpoint stays on (it is part of the agent's per-call cost), on a
        // free port so that another agent on this machine does not stop this one.
        let metrics_port = free_port()?;
        let log = std::fs::File::create(state_dir.join("agent.log")).context("agent log")?;
        let mut command = pinned(cpus, agent);
        command
            .env("VARY_CONTROL_PLANE_ADDR", control_plane)
            .env("VARY_AGENT_ID", format!("vary-bench-{port}"))
            .env("VARY_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("VARY_STATE_DIR", state_dir)
            .env("VARY_METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("RUST_LOG", "warn")
            .envs(extra_env.iter().map(|(key, value)| (key, value)))
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command.spawn().with_context(|| format!("start {}", agent.display()))?;
        let pid = child.id().context("the agent exited")?;
        Ok(Self { addr: format!("http://127.0.0.1:{port}"), pid, child })
    }

    /// Fails if the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} (pid {}) exited: {status}", self.addr, self.pid);
        }
        Ok(())
    }

    /// Stops it (SIGKILL) and waits.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await.context("stop a child")
    }
}

/// A port free right now on 127.0.0.1 (bound and released; a tiny race, acceptable for a
/// benchmark on its own machine).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Runs `vary-bench load` as a child pinned to `cpus` and returns its JSON report; its
/// progress line goes to this process's stderr.
#[allow(clippy::too_many_arguments)]
pub async fn load_child(
    cpus: Option<&str>,
    target: Target,
    addr: &str,
    server_pid: Option<u32>,
    shape: &ShapeArgs,
    mix: &MixArgs,
    echo_sizes: Option<(usize, u32)>,
) -> anyhow::Result<LoadReport> {
    let exe = std::env::current_exe().context("find this executable")?;
    let mut command = pinned(cpus, &exe);
    command
        .args(["load", "--json", "--target", target.name(), "--addr", addr])
        .args(shape.to_flags())
        .args(mix.to_flags());
    if let Some(pid) = server_pid {
        command.arg(format!("--server-pid={pid}"));
    }
    if let Some((request_bytes, response_bytes)) = echo_sizes {
        command
            .arg(format!("--request-bytes={request_bytes}"))
            .arg(format!("--response-bytes={response_bytes}"));
    }
    let output = command.stderr(Stdio::inherit()).output().await.context("run vary-bench load")?;
    if !output.status.success() {
        bail!("vary-bench load failed: {}", output.status);
    }
    serde_json::from_slice(&output.stdout).context("parse the load report")
}
