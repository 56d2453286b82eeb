//! Experiments as code: apply, diff, dry runs, idempotency.

use std::collections::BTreeMap;

use super::{Env, experiment_yaml};

fn example_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../config/experiments.example.yml").to_owned()
}

#[tokio::test]
async fn the_example_file_applies_cleanly_and_a_second_apply_writes_no_version() {
    let env = Env::start().await;
    let first = env.varyctl(&["apply", "-f", &example_path()]).await;
    first.assert_code(0);
    assert!(
        first.stdout.contains("experiment/reco_ymal_model_v3 created (version 2, RUNNING)"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains("experiment/assistant_prompt_v4 created (version 1, DRAFT)"));
    assert!(
        first.stdout.contains("experiment/reco_home_personalisation created (version 3, PAUSED)")
    );

    let keys: Vec<String> = first
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("experiment/"))
        .filter_map(|rest| rest.split(' ').next())
        .map(str::to_owned)
        .collect();
    assert!(keys.len() >= 9, "{keys:?}");
    let mut versions_before = BTreeMap::new();
    for key in &keys {
        versions_before.insert(key.clone(), env.versions(key).await.len());
    }

    let second = env.varyctl(&["apply", "-f", &example_path()]).await;
    second.assert_code(0);
    for line in second.stdout.lines().filter(|line| line.starts_with("experiment/")) {
        assert!(line.contains(" unchanged "), "{line}");
    }
    for key in &keys {
        assert_eq!(env.versions(key).await.len(), versions_before[key], "{key} got a new version");
    }
    env.varyctl(&["diff", "--exit-code", "-f", &example_path()]).await.assert_code(0);

    let listed = env.varyctl(&["experiments", "list", "--status", "running"]).await;
    listed.assert_code(0);
    assert!(listed.stdout.contains("reco_newsfeed_diversity"), "{}", listed.stdout);
    assert!(!listed.stdout.contains("assistant_prompt_v4"), "drafts are not running");
}

#[tokio::test]
async fn a_one_field_change_writes_exactly_one_version_and_diff_shows_only_that_field() {
    let env = Env::start().await;
    let file = env.write("pool.yml", &experiment_yaml("pool", 50, None));
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);
    assert_eq!(env.versions("pool").await.len(), 1);

    env.write("pool.yml", &experiment_yaml("pool", 10, None));
    let diff = env.varyctl(&["diff", "-f", &file]).await;
    diff.assert_code(0);
    let changed: Vec<&str> =
        diff.stdout.lines().filter(|line| line.starts_with("    ")).map(str::trim).collect();
    assert_eq!(changed, vec!["spec.variants[1].weight: 50 -> 10"], "{}", diff.stdout);
    env.varyctl(&["diff", "--exit-code", "-f", &file]).await.assert_code(4);
    assert_eq!(env.versions("pool").await.len(), 1, "diff writes nothing");

    let dry = env.varyctl(&["apply", "--dry-run", "-f", &file]).await;
    dry.assert_code(0);
    assert!(dry.stdout.contains("experiment/pool would configure"), "{}", dry.stdout);
    assert_eq!(env.versions("pool").await.len(), 1, "a dry run writes nothing");

    let applied = env.varyctl(&["apply", "-f", &file, "-m", "less cross-category traffic"]).await;
    applied.assert_code(0);
    assert!(applied.stdout.contains("experiment/pool configured (version 2, DRAFT)"));
    assert!(applied.stdout.contains("spec.variants[1].weight: 50 -> 10"));
    let versions = env.versions("pool").await;
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].action, "update");
    assert_eq!(versions[1].change_note, "less cross-category traffic");

    let json = env.varyctl(&["-o", "json", "diff", "-f", &file]).await;
    json.assert_code(0);
    let outcomes: serde_json::Value = serde_json::from_str(&json.stdout).expect("json output");
    assert_eq!(outcomes[0]["result"], "unchanged", "{outcomes}");
}

#[tokio::test]
async fn get_output_as_yaml_applies_back_without_changes() {
    let env = Env::start().await;
    let file = env.write("pool.yml", &experiment_yaml("pool", 50, Some("running")));
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);

    let got = env.varyctl(&["-o", "yaml", "experiments", "get", "pool"]).await;
    got.assert_code(0);
    assert!(got.stdout.contains("status: running"), "{}", got.stdout);
    let exported = env.write("exported.yaml", &got.stdout);
    let again = env.varyctl(&["apply", "-f", &exported]).await;
    again.assert_code(0);
    assert!(again.stdout.contains("experiment/pool unchanged (version 2)"), "{}", again.stdout);
}

#[tokio::test]
async fn a_directory_of_yaml_and_json_files_with_lists_applies_every_experiment() {
    let env = Env::start().await;
    let dir = env.dir.path().join("experiments");
    std::fs::create_dir_all(dir.join("nested")).expect("mkdir");
    let list = format!(
        "- {}\n- {}",
        experiment_yaml("one", 50, None).replace('\n', "\n  "),
        experiment_yaml("two", 50, None).replace('\n', "\n  ")
    );
    std::fs::write(dir.join("list.yaml"), list).expect("write");
    let mut json: serde_json::Value =
        varyctl::yaml::load(&experiment_yaml("three", 50, Some("running"))).expect("yaml")[0]
            .value
            .clone();
    json["spec"]["name"] = "From JSON".into();
    std::fs::write(dir.join("nested/three.json"), json.to_string()).expect("write");

    let applied = env.varyctl(&["apply", "-f", dir.to_str().expect("utf-8")]).await;
    applied.assert_code(0);
    for key in ["one", "two", "three"] {
        assert!(
            applied.stdout.contains(&format!("experiment/{key} created")),
            "{}",
            applied.stdout
        );
    }
    assert_eq!(env.experiment("three").await.spec.expect("spec").name, "From JSON");
    assert_eq!(env.experiment("three").await.status, 2, "started");
}
