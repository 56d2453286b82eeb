//! Failures scripts must be able to tell apart: exit codes and messages.

use vary_control_plane::auth::Role;
use vary_tests::auth::TestToken;

use super::{Env, experiment_yaml, run_binary};

#[tokio::test]
async fn an_invalid_file_names_file_line_and_field_exits_2_and_writes_nothing() {
    let env = Env::start().await;
    let good = experiment_yaml("good", 50, None);
    let bad = experiment_yaml("bad", 0, None);
    let file = env.write("mixed.yml", &format!("{good}---\n{bad}"));
    let run = env.varyctl(&["apply", "-f", &file]).await;
    run.assert_code(2);
    // The bad document starts after 16 lines of the good one and its `---`; its
    // treatment weight is on its 13th line.
    let expected = format!("{file}:30: experiment \"bad\": spec.variants[1].weight: must be");
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    let listed = env.varyctl(&["-o", "json", "experiments", "list"]).await;
    listed.assert_code(0);
    assert_eq!(listed.stdout.trim(), "[]", "nothing is applied from an invalid file set");

    let typo = env.write("typo.yml", &experiment_yaml("typo", 50, None).replace("owner:", "ownr:"));
    let run = env.varyctl(&["diff", "-f", &typo]).await;
    run.assert_code(2);
    assert!(run.stderr.contains(&format!("{typo}:4:")), "{}", run.stderr);
    assert!(run.stderr.contains("ownr"), "{}", run.stderr);
}

#[tokio::test]
async fn an_unreachable_control_plane_names_the_address_and_exits_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["--addr".to_owned(), addr.clone(), "experiments".into(), "list".into()];
    let run = run_binary(&args, dir.path(), &[]).await;
    run.assert_code(3);
    assert!(run.stderr.contains(&addr), "{}", run.stderr);
    assert!(run.stderr.contains("check that it is running"), "{}", run.stderr);

    let from_env =
        run_binary(&["experiments".into(), "list".into()], dir.path(), &[("VARY_ADDR", &addr)])
            .await;
    from_env.assert_code(3);
    assert!(from_env.stderr.contains(&addr), "VARY_ADDR is used: {}", from_env.stderr);

    // Usage errors are found before connecting: still 2, not 3.
    let ramp = [
        "--addr".to_owned(),
        addr.clone(),
        "experiments".into(),
        "ramp".into(),
        "k".into(),
        "150%".into(),
    ];
    run_binary(&ramp, dir.path(), &[]).await.assert_code(2);
}

#[tokio::test]
async fn the_config_file_supplies_the_address_when_flags_and_env_do_not() {
    let env = Env::start().await;
    let config_dir = env.dir.path().join("vary");
    std::fs::create_dir_all(&config_dir).expect("mkdir");
    std::fs::write(
        config_dir.join("config.yaml"),
        format!("addr: {}\ntoken: {}\n", env.server.endpoint(), TestToken::of(Role::Admin).secret),
    )
    .expect("write config");
    let run = run_binary(&["experiments".into(), "list".into()], env.dir.path(), &[]).await;
    run.assert_code(0);
    assert!(run.stderr.contains("no experiments found"), "{}", run.stderr);
}

#[tokio::test]
async fn refusals_exit_1_and_usage_errors_exit_2() {
    let env = Env::start().await;
    let missing = env.varyctl(&["experiments", "get", "nope"]).await;
    missing.assert_code(1);
    assert!(missing.stderr.contains("NOT_FOUND"), "{}", missing.stderr);

    let file = env.write("pool.yml", &experiment_yaml("pool", 50, None));
    env.varyctl(&["experiments", "create", "-f", &file]).await.assert_code(0);
    let twice = env.varyctl(&["experiments", "create", "-f", &file]).await;
    twice.assert_code(1);
    assert!(twice.stderr.contains("already exists"), "{}", twice.stderr);

    env.varyctl(&["experiments", "ramp", "pool", "150%"]).await.assert_code(2);
    env.varyctl(&["experiments", "frobnicate"]).await.assert_code(2);
    let version = env.varyctl(&["version"]).await;
    version.assert_code(0);
    assert!(version.stdout.contains("SERVING"), "{}", version.stdout);
}

#[tokio::test]
async fn a_refusal_for_one_experiment_is_located_and_the_others_still_apply() {
    let env = Env::start().await;
    let in_layer = |key: &str| {
        experiment_yaml(key, 50, Some("running")).replace(
            "  allocation_bps:",
            "  layer: { name: pdp, range: { start: 0, end: 6000 } }\n  allocation_bps:",
        )
    };
    let first = env.write("first.yml", &in_layer("first"));
    env.varyctl(&["apply", "-f", &first]).await.assert_code(0);

    let text = format!("{}---\n{}", experiment_yaml("before", 50, None), in_layer("overlapping"));
    let file = env.write("layer.yml", &text);
    let run = env.varyctl(&["apply", "-f", &file]).await;
    run.assert_code(1);
    // "overlapping" starts on line 18 (after 16 lines of "before" and a `---`).
    let expected = format!("{file}:18: experiment \"overlapping\": FAILED_PRECONDITION: layer");
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(run.stderr.contains("\"first\""), "names the other experiment: {}", run.stderr);
    assert!(run.stdout.contains("experiment/before created"), "{}", run.stdout);
}

#[tokio::test]
async fn overlapping_running_experiments_in_one_file_set_are_refused_before_writing() {
    let env = Env::start().await;
    let in_layer = |key: &str, start: u32| {
        experiment_yaml(key, 50, Some("running")).replace(
            "  allocation_bps:",
            &format!("  layer: {{ name: pdp, range: {{ start: {start}, end: 6000 }} }}\n  allocation_bps:"),
        )
    };
    let text = format!("{}---\n{}", in_layer("first", 0), in_layer("second", 5000));
    let file = env.write("layers.yml", &text);
    let run = env.varyctl(&["apply", "-f", &file]).await;
    run.assert_code(2);
    // `second` starts on line 20; its layer (with the range) is on its 6th line.
    let expected = format!("{file}:25: experiment \"second\": spec.layer.range: layer \"pdp\"");
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    let listed = env.varyctl(&["-o", "json", "experiments", "list"]).await;
    assert_eq!(listed.stdout.trim(), "[]", "nothing was written");
}
