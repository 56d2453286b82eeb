//! Lifecycle commands, the ramp, rollback, history and edit.

use vary_proto::pb;

use super::{Env, experiment_yaml};

#[tokio::test]
async fn rollback_restores_the_spec_of_an_earlier_version() {
    let env = Env::start().await;
    let file = env.write("pool.yml", &experiment_yaml("pool", 50, None));
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);
    let original = env.experiment("pool").await.spec;
    env.write("pool.yml", &experiment_yaml("pool", 5, None));
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);
    assert_ne!(env.experiment("pool").await.spec, original);

    let rolled = env.varyctl(&["experiments", "rollback", "pool", "--to-version", "1"]).await;
    rolled.assert_code(0);
    assert!(rolled.stdout.contains("version 3"), "{}", rolled.stdout);
    let current = env.experiment("pool").await;
    assert_eq!(current.version, 3);
    assert_eq!(current.spec, original);

    let diff = env.varyctl(&["diff", "pool", "2", "3"]).await;
    diff.assert_code(0);
    assert!(diff.stdout.contains("spec.variants[1].weight: 5 -> 50"), "{}", diff.stdout);

    let history = env.varyctl(&["experiments", "history", "pool"]).await;
    history.assert_code(0);
    for action in ["create", "update", "rollback"] {
        assert!(history.stdout.contains(action), "{}", history.stdout);
    }
}

#[tokio::test]
async fn lifecycle_commands_and_the_ramp_write_versions_and_refuse_illegal_moves() {
    let env = Env::start().await;
    let file = env.write("pool.yml", &experiment_yaml("pool", 50, None));
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);

    let started = env.varyctl(&["experiments", "start", "pool", "-m", "go"]).await;
    started.assert_code(0);
    assert!(started.stdout.contains("experiment pool started: version 2, RUNNING"));
    env.varyctl(&["experiments", "ramp", "pool", "25%"]).await.assert_code(0);
    assert_eq!(env.experiment("pool").await.spec.expect("spec").allocation_bps, 2500);
    env.varyctl(&["experiments", "ramp", "pool", "5000"]).await.assert_code(0);
    assert_eq!(env.experiment("pool").await.spec.expect("spec").allocation_bps, 5000);

    let again = env.varyctl(&["experiments", "start", "pool"]).await;
    again.assert_code(1);
    assert!(again.stderr.contains("FAILED_PRECONDITION"), "{}", again.stderr);
    assert!(again.stderr.contains("RUNNING"), "{}", again.stderr);

    env.varyctl(&["experiments", "pause", "pool"]).await.assert_code(0);
    env.varyctl(&["experiments", "resume", "pool"]).await.assert_code(0);
    let stopped =
        env.varyctl(&["-o", "json", "experiments", "stop", "pool", "--rollout", "cross"]).await;
    stopped.assert_code(0);
    let view: serde_json::Value = serde_json::from_str(&stopped.stdout).expect("json");
    assert_eq!(view["status"], "stopped");
    assert_eq!(view["rollout_variant"], "cross");
    env.varyctl(&["experiments", "archive", "pool"]).await.assert_code(0);

    let history = env.varyctl(&["-o", "json", "experiments", "history", "pool"]).await;
    history.assert_code(0);
    let versions: Vec<serde_json::Value> = serde_json::from_str(&history.stdout).expect("json");
    let actions: Vec<&str> = versions.iter().filter_map(|v| v["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "create",
            "start",
            "set_allocation",
            "set_allocation",
            "pause",
            "resume",
            "stop",
            "archive"
        ]
    );
    let listed = env.varyctl(&["experiments", "list"]).await;
    assert!(!listed.stdout.contains("pool"), "archived experiments are hidden: {}", listed.stdout);
    let all = env.varyctl(&["experiments", "list", "--all"]).await;
    assert!(all.stdout.contains("pool"), "{}", all.stdout);
}

#[tokio::test]
async fn apply_moves_the_status_forward_as_the_file_asks() {
    let env = Env::start().await;
    let file = env.write("pool.yml", &experiment_yaml("pool", 50, Some("running")));
    let created = env.varyctl(&["apply", "-f", &file]).await;
    created.assert_code(0);
    assert!(created.stdout.contains("status: \"draft\" -> \"running\""), "{}", created.stdout);
    assert_eq!(env.experiment("pool").await.status, pb::ExperimentStatus::Running as i32);

    env.write("pool.yml", &experiment_yaml("pool", 50, Some("stopped")));
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);
    assert_eq!(env.experiment("pool").await.status, pb::ExperimentStatus::Stopped as i32);

    env.write("pool.yml", &experiment_yaml("pool", 50, Some("running")));
    let back = env.varyctl(&["apply", "-f", &file]).await;
    back.assert_code(1);
    assert!(back.stderr.contains("cannot go from STOPPED to RUNNING"), "{}", back.stderr);
    assert!(back.stderr.contains("pool.yml:1"), "{}", back.stderr);
}

#[tokio::test]
async fn edit_updates_from_the_editor_based_on_the_version_it_opened() {
    let env = Env::start().await;
    let file = env.write("pool.yml", &experiment_yaml("pool", 50, None));
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);

    let editor = "sed -i -e 's/name: Candidate pool/name: Candidate pool (edited)/'";
    let edited = env
        .varyctl_with(&["experiments", "edit", "pool"], &[("EDITOR", editor), ("VISUAL", "")])
        .await;
    edited.assert_code(0);
    assert!(edited.stdout.contains("spec.name"), "{}", edited.stdout);
    let current = env.experiment("pool").await;
    assert_eq!(current.version, 2);
    assert_eq!(current.spec.expect("spec").name, "Candidate pool (edited)");

    let unchanged = env
        .varyctl_with(&["experiments", "edit", "pool"], &[("EDITOR", "true"), ("VISUAL", "")])
        .await;
    unchanged.assert_code(0);
    assert!(unchanged.stderr.contains("no changes"), "{}", unchanged.stderr);
    assert_eq!(env.experiment("pool").await.version, 2);

    let breaking = "sed -i -e 's/weight: 50/weight: 0/'";
    let refused = env
        .varyctl_with(&["experiments", "edit", "pool"], &[("EDITOR", breaking), ("VISUAL", "")])
        .await;
    refused.assert_code(2);
    assert!(refused.stderr.contains("weight"), "{}", refused.stderr);
    assert!(refused.stderr.contains("your edits are saved in"), "{}", refused.stderr);
    assert_eq!(env.experiment("pool").await.version, 2);
}

#[tokio::test]
async fn edit_refuses_to_overwrite_a_change_made_while_the_editor_was_open() {
    let env = Env::start().await;
    let file = env.write("pool.yml", &experiment_yaml("pool", 50, None));
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);

    // The "editor" ramps the experiment through another varyctl, then edits the file.
    let editor = format!(
        "{} --addr {} experiments ramp pool 10% >/dev/null && sed -i -e 's/weight: 50/weight: 40/'",
        env!("CARGO_BIN_EXE_varyctl"),
        env.server.endpoint()
    );
    let run = env
        .varyctl_with(&["experiments", "edit", "pool"], &[("EDITOR", &editor), ("VISUAL", "")])
        .await;
    run.assert_code(1);
    assert!(run.stderr.contains("ABORTED"), "{}", run.stderr);
    let current = env.experiment("pool").await;
    assert_eq!(current.version, 2, "only the ramp was written");
    assert_eq!(current.spec.expect("spec").allocation_bps, 1000);
}
