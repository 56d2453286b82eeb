//! `agents list`, `assign` and `explain` against a real control plane and a real edge
//! agent following it: what the operators' QA tool prints must be what the agent serves.

use std::time::Duration;

use serde_json::Value;
use vary_proto::pb;
use vary_tests::TestEdgeAgent;

use super::{Env, Run, experiment_yaml, run_binary};

/// The experiment every test here runs: pdp only, Germany and France only, with a QA
/// override forcing `cross` for the unit `qa-forced`.
const KEY: &str = "pool";
const FORCED_USER: &str = "qa-forced";
/// Longest a test polls the fleet, which the control plane records asynchronously.
const FLEET_WAIT: Duration = Duration::from_secs(30);

/// A control plane running [`KEY`] and an agent named `qa-agent` serving its revision.
async fn start_with_agent() -> (Env, TestEdgeAgent, i64) {
    let env = Env::start().await;
    let yaml = experiment_yaml(KEY, 50, Some("running")).replace(
        "  allocation_bps:",
        &format!(
            "  overrides: {{ {FORCED_USER}: cross }}\n  eligibility:\n    - conditions:\n        - {{ attribute: country, operator: in, values: [DE, FR] }}\n  allocation_bps:"
        ),
    );
    let file = env.write("pool.yml", &yaml);
    env.varyctl(&["apply", "-f", &file]).await.assert_code(0);
    let revision = env.experiment(KEY).await.revision;
    let agent = TestEdgeAgent::start(&env.server.endpoint(), "qa-agent").await.expect("agent");
    agent.wait_for_revision(revision).await.expect("agent serves the experiment");
    (env, agent, revision)
}

/// Runs `varyctl --addr <control plane> --agent-addr <agent> args…`.
async fn on_agent(env: &Env, agent: &TestEdgeAgent, args: &[&str]) -> Run {
    let agent_addr = format!("http://{}", agent.addr);
    let mut full = vec!["--agent-addr", agent_addr.as_str()];
    full.extend_from_slice(args);
    env.varyctl(&full).await
}

fn json(run: &Run) -> Value {
    run.assert_code(0);
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout))
}

/// The table line that starts with `key`.
fn row<'a>(run: &'a Run, key: &str) -> &'a str {
    let line = run.stdout.lines().find(|line| line.starts_with(key));
    line.unwrap_or_else(|| panic!("no row for {key}:\n{}", run.stdout))
}

/// Polls `agents list -o json` until `done` holds for it; returns that listing.
async fn wait_for_fleet(env: &Env, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + FLEET_WAIT;
    loop {
        let listing = json(&env.varyctl(&["-o", "json", "agents", "list"]).await);
        if done(&listing) {
            return listing;
        }
        assert!(tokio::time::Instant::now() < deadline, "fleet never showed {what}: {listing}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn agent_entry<'a>(listing: &'a Value, agent_id: &str) -> Option<&'a Value> {
    listing["agents"].as_array()?.iter().find(|agent| agent["agent_id"] == agent_id)
}

#[tokio::test]
async fn agents_list_shows_the_revision_each_agent_applied_and_marks_those_behind() {
    let (env, agent, revision) = start_with_agent().await;
    let listing = wait_for_fleet(&env, "qa-agent on the head", |listing| {
        agent_entry(listing, "qa-agent").is_some_and(|entry| entry["applied_revision"] == revision)
    })
    .await;
    assert_eq!(listing["head_revision"], revision);
    let entry = agent_entry(&listing, "qa-agent").expect("listed");
    assert_eq!(entry["connected"], true);
    assert_eq!(entry["behind_head"], false);
    assert_eq!(entry["labels"]["suite"], "vary-tests");

    let table = env.varyctl(&["agents", "list"]).await;
    table.assert_code(0);
    assert!(table.stdout.starts_with("AGENT "), "{}", table.stdout);
    let line = row(&table, "qa-agent");
    let columns: Vec<&str> = line.split_whitespace().collect();
    let revision_text = revision.to_string();
    assert_eq!(columns[..4], ["qa-agent", "yes", &revision_text, &revision_text], "{line}");
    assert!(line.contains("s ago"), "last seen is relative: {line}");
    assert!(line.contains("suite=vary-tests"), "{line}");
    let summary = format!("head revision {revision}: 1 agent, all on the head");
    assert!(table.stdout.contains(&summary), "{}", table.stdout);

    // With the agent gone, a new revision leaves it behind the head.
    agent.stop().await.expect("agent stops");
    env.varyctl(&["experiments", "ramp", KEY, "50%"]).await.assert_code(0);
    let ramped = env.experiment(KEY).await.revision;
    let listing =
        wait_for_fleet(&env, "the new head", |listing| listing["head_revision"] == ramped).await;
    let entry = agent_entry(&listing, "qa-agent").expect("still listed");
    assert_eq!(
        (entry["applied_revision"].as_i64(), entry["behind_head"].as_bool()),
        (Some(revision), Some(true))
    );
    let table = env.varyctl(&["agents", "list"]).await;
    let line = row(&table, "qa-agent");
    assert!(line.contains(&format!("{revision} (behind)")), "{line}");
    assert!(
        table.stdout.contains(&format!("head revision {ramped}: 1 agent, 1 behind")),
        "{}",
        table.stdout
    );
}

#[tokio::test]
async fn assign_shows_the_override_for_a_qa_user_and_the_hashed_variant_for_others() {
    let (env, agent, revision) = start_with_agent().await;
    let context = ["--placement", "pdp", "--country", "DE"];

    let forced = on_agent(
        &env,
        &agent,
        &[&["-o", "json", "assign", "--user", FORCED_USER][..], &context].concat(),
    )
    .await;
    let forced = json(&forced);
    assert_eq!(forced["revision"], revision);
    assert_eq!(forced["log_exposure"], false);
    let assignment = &forced["assignments"][0];
    assert_eq!(
        (&assignment["experiment_key"], &assignment["variant_key"]),
        (&Value::from(KEY), &Value::from("cross"))
    );
    assert_eq!(
        (&assignment["reason"], &assignment["forced"]),
        (&Value::from("OVERRIDE"), &Value::from(true))
    );
    assert_eq!(assignment["params"]["candidate_pool"], "cross_category");
    assert_eq!(assignment["params"]["max_candidates"], 200, "whole numbers stay whole");

    let table =
        on_agent(&env, &agent, &[&["assign", "--user", FORCED_USER][..], &context].concat()).await;
    table.assert_code(0);
    let line = row(&table, KEY);
    assert!(line.contains("cross") && line.contains("OVERRIDE"), "{line}");
    assert!(line.contains(r#"{"candidate_pool":"cross_category","max_candidates":200}"#), "{line}");
    let footer = format!("revision {revision}, staleness ");
    assert!(table.stdout.contains(&footer), "{}", table.stdout);
    assert!(table.stdout.contains("unit user, no exposures logged"), "{}", table.stdout);

    // A normal user gets what the engine picks by hash: ask the agent directly to compare.
    let hashed = json(
        &on_agent(
            &env,
            &agent,
            &[&["-o", "json", "assign", "--user", "u-normal"][..], &context].concat(),
        )
        .await,
    );
    let direct = agent
        .client()
        .await
        .expect("client")
        .assign(pb::AssignRequest {
            user_id: "u-normal".to_owned(),
            context: Some(pb::AssignmentContext {
                placement: "pdp".into(),
                country: "DE".into(),
                ..Default::default()
            }),
            log_exposure: Some(false),
            ..Default::default()
        })
        .await
        .expect("assign")
        .into_inner();
    let engine_variant = &direct.assignments[0].variant_key;
    let assignment = &hashed["assignments"][0];
    assert_eq!(assignment["variant_key"], engine_variant.as_str());
    assert_eq!(
        (&assignment["reason"], &assignment["forced"]),
        (&Value::from("HASH"), &Value::from(false))
    );
    let pool = if engine_variant == "cross" { "cross_category" } else { "same_category" };
    assert_eq!(assignment["params"]["candidate_pool"], pool);
}

#[tokio::test]
async fn explain_names_the_failing_condition_and_shows_the_buckets_of_an_assignment() {
    let (env, agent, revision) = start_with_agent().await;

    let outside = on_agent(
        &env,
        &agent,
        &["-o", "json", "explain", "--user", "u-normal", "--placement", "pdp", "--country", "US"],
    )
    .await;
    let outside = json(&outside);
    assert_eq!(outside["revision"], revision);
    let entry = &outside["experiments"][0];
    assert_eq!(
        (&entry["experiment_key"], &entry["outcome"]),
        (&Value::from(KEY), &Value::from("NOT_ELIGIBLE"))
    );
    assert_eq!(entry["assigned"], false);
    let detail = entry["detail"].as_str().expect("detail");
    assert!(detail.contains("country in"), "names the failing condition: {detail}");

    let table = on_agent(
        &env,
        &agent,
        &["explain", "--user", "u-normal", "--placement", "pdp", "--country", "US"],
    )
    .await;
    table.assert_code(0);
    let line = row(&table, KEY);
    assert!(line.contains("NOT_ELIGIBLE") && line.contains("country in"), "{line}");
    assert!(
        table
            .stdout
            .contains(&format!("revision {revision}, unit user: 0 of 1 experiments assign")),
        "{}",
        table.stdout
    );
    let nothing = on_agent(
        &env,
        &agent,
        &["assign", "--user", "u-normal", "--placement", "pdp", "--country", "US"],
    )
    .await;
    nothing.assert_code(0);
    assert!(nothing.stderr.contains("no experiment assigned"), "{}", nothing.stderr);

    let eligible = on_agent(
        &env,
        &agent,
        &["explain", "--user", "u-normal", "--placement", "pdp", "--country", "DE"],
    )
    .await;
    eligible.assert_code(0);
    let line = row(&eligible, KEY);
    assert!(line.contains("ASSIGNED"), "{line}");
    assert!(line.contains("alloc=") && line.contains("variant="), "buckets shown: {line}");
}

#[tokio::test]
async fn an_unreachable_edge_agent_names_its_address_and_exits_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let dir = tempfile::tempdir().expect("tempdir");
    let assign = ["assign".to_owned(), "--user".into(), "u1".into()];

    let flag = [vec!["--agent-addr".to_owned(), addr.clone()], assign.to_vec()].concat();
    let run = run_binary(&flag, dir.path(), &[]).await;
    run.assert_code(3);
    assert!(
        run.stderr.contains(&format!("cannot reach the edge agent at {addr}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("VARY_AGENT_ADDR"), "says what to check: {}", run.stderr);

    let explain = ["explain".to_owned(), "--session".into(), "s1".into()];
    let from_env = run_binary(&explain, dir.path(), &[("VARY_AGENT_ADDR", &addr)]).await;
    from_env.assert_code(3);
    assert!(from_env.stderr.contains(&addr), "VARY_AGENT_ADDR is used: {}", from_env.stderr);

    std::fs::create_dir_all(dir.path().join("vary")).expect("mkdir");
    std::fs::write(dir.path().join("vary/config.yaml"), format!("agent_addr: {addr}\n"))
        .expect("write");
    let from_file = run_binary(&assign, dir.path(), &[]).await;
    from_file.assert_code(3);
    assert!(
        from_file.stderr.contains(&addr),
        "the config file's agent_addr is used: {}",
        from_file.stderr
    );

    // Without a unit nothing could assign: a usage error before connecting.
    let no_unit = [vec!["--agent-addr".to_owned(), addr], vec!["assign".into()]].concat();
    run_binary(&no_unit, dir.path(), &[]).await.assert_code(2);
}
