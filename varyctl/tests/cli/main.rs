//! End-to-end tests of the real `varyctl` binary against a real control plane over a
//! throwaway PostgreSQL (and, for `assign` and `explain`, a real edge agent): one test
//! binary (so one cluster), a module per area.

mod admin;
mod apply;
mod errors;
mod lifecycle;
mod results;
mod sidecar;

use std::{path::Path, process::Stdio};

use tempfile::TempDir;
use vary_control_plane::auth::Role;
use vary_proto::pb;
use vary_tests::{TestControlPlane, auth::TestToken};

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A control plane plus a scratch directory for files and an empty config home, so the
/// developer's own `~/.config/vary/config.yaml` never leaks into a test.
struct Env {
    server: TestControlPlane,
    dir: TempDir,
}

impl Env {
    async fn start() -> Self {
        let server = TestControlPlane::start().await.expect("control plane");
        Env { server, dir: tempfile::tempdir().expect("tempdir") }
    }

    /// Runs `varyctl --addr <server> args…`.
    async fn varyctl(&self, args: &[&str]) -> Run {
        self.varyctl_with(args, &[]).await
    }

    /// Runs `varyctl --addr <server> args…` with extra environment variables, as the
    /// test admin (`VARY_TOKEN`, unless `env` sets it).
    async fn varyctl_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let admin = TestToken::of(Role::Admin).secret;
        let mut env = env.to_vec();
        if !env.iter().any(|(name, _)| *name == "VARY_TOKEN") {
            env.push(("VARY_TOKEN", admin));
        }
        let env = env.as_slice();
        let mut full = vec!["--addr".to_owned(), self.server.endpoint()];
        full.extend(args.iter().map(|arg| (*arg).to_owned()));
        run_binary(&full, self.dir.path(), env).await
    }

    /// Writes `text` to `name` in the scratch directory; returns its path as a string.
    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write test file");
        path.to_str().expect("utf-8 temp path").to_owned()
    }

    async fn versions(&self, key: &str) -> Vec<pb::ExperimentVersion> {
        let mut client = self.server.experiments().await.expect("client");
        let request = pb::ListExperimentVersionsRequest {
            key: key.to_owned(),
            page_size: 1000,
            page_token: String::new(),
        };
        client.list_experiment_versions(request).await.expect("versions").into_inner().versions
    }

    async fn experiment(&self, key: &str) -> pb::Experiment {
        let mut client = self.server.experiments().await.expect("client");
        let request = pb::GetExperimentRequest { key: key.to_owned() };
        let response = client.get_experiment(request).await.expect("get experiment");
        response.into_inner().experiment.expect("experiment")
    }
}

/// Runs the built binary with a clean environment for varyctl's own variables.
async fn run_binary(args: &[String], config_home: &Path, env: &[(&str, &str)]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_varyctl"));
    command
        .args(args)
        .env_remove("VARY_ADDR")
        .env_remove("VARY_AGENT_ADDR")
        .env_remove("VARY_TOKEN")
        .env_remove("VARYCTL_CONFIG")
        .env("XDG_CONFIG_HOME", config_home)
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().await.expect("run varyctl");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A small valid experiment with one knob (the treatment weight) to turn.
fn experiment_yaml(key: &str, treatment_weight: u32, status: Option<&str>) -> String {
    let status = status.map(|status| format!("status: {status}\n")).unwrap_or_default();
    format!(
        "key: {key}\n{status}spec:\n  name: Candidate pool\n  owner: reco-team\n  allocation_bps: 10000\n  placements: [pdp]\n  variants:\n    - key: control\n      control: true\n      weight: 50\n      params: {{ candidate_pool: same_category, max_candidates: 200 }}\n    - key: cross\n      weight: {treatment_weight}\n      params: {{ candidate_pool: cross_category, max_candidates: 200 }}\n  metrics:\n    - {{ key: add_to_cart_rate, role: primary, kind: conversion, event_type: add_to_cart }}\n"
    )
}

impl Run {
    #[track_caller]
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}
