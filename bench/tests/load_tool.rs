//! The load tool end to end, for about a second per run, against a real edge agent (in
//! this process, following a real control plane over a throwaway PostgreSQL) and a real
//! echo baseline (the tool's own child process). Counts and errors are checked, never
//! speeds: those belong in docs/BENCHMARKS.md.

use std::process::Command;

use vary_bench::{experiments, report::LoadReport};
use vary_tests::{TestControlPlane, TestEdgeAgent};

fn vary_bench(args: &[&str]) -> serde_json::Value {
    let output =
        Command::new(env!("CARGO_BIN_EXE_vary-bench")).args(args).output().expect("run vary-bench");
    assert!(
        output.status.success(),
        "vary-bench {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("vary-bench prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_loads_an_agent_and_its_baseline_without_errors() -> anyhow::Result<()> {
    let control_plane = TestControlPlane::start().await?;
    let revision = experiments::seed(control_plane.experiments().await?, 20).await?;
    let agent = TestEdgeAgent::start(&control_plane.endpoint(), "bench-test-agent").await?;
    agent.wait_for_revision(revision).await?;
    let addr = format!("http://{}", agent.addr);

    // Closed loop against the baseline (started by the tool) and the agent.
    let compared = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            vary_bench(&[
                "assign",
                "--addr",
                &addr,
                "--duration",
                "1s",
                "--warmup",
                "200ms",
                "--concurrency",
                "4",
                "--connections",
                "2",
                "--quiet",
                "--json",
            ])
        }
    })
    .await?;
    let baseline: LoadReport = serde_json::from_value(compared["baseline"].clone())?;
    let assign: LoadReport = serde_json::from_value(compared["assign"].clone())?;
    for run in [&baseline, &assign] {
        assert!(run.completed > 0, "{run:?}");
        assert_eq!(run.errors, 0, "{run:?}");
        assert!(run.response_bytes > 0.0, "{run:?}");
    }
    assert_eq!(assign.target, "assign");
    assert_eq!(baseline.target, "echo");
    assert!(compared["probe"]["mean_assignments"].as_f64().unwrap_or(0.0) > 0.0, "{compared}");
    assert_eq!(compared["probe"]["revision"].as_i64(), Some(revision));
    // The echo was sized like Assign: its requests within a byte or two.
    assert!((baseline.request_bytes - assign.request_bytes).abs() <= 2.0, "{compared}");

    // Open loop: every scheduled call of the window is sent and answered.
    let open = tokio::task::spawn_blocking(move || {
        vary_bench(&[
            "load",
            "--target",
            "assign",
            "--addr",
            &addr,
            "--rate",
            "300",
            "--duration",
            "1s",
            "--warmup",
            "100ms",
            "--connections",
            "2",
            "--quiet",
            "--json",
        ])
    })
    .await?;
    let open: LoadReport = serde_json::from_value(open)?;
    assert_eq!(open.errors, 0, "{open:?}");
    assert!((298..=302).contains(&open.completed), "300 calls/s for 1 s: {open:?}");
    assert!(open.send_lag.is_some());

    agent.stop().await?;
    control_plane.stop().await
}
