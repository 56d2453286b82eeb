//! `tokens`, `whoami` and `audit` end to end: a token made with the CLI acts as its
//! principal, shows up in the audit log, and stops working when revoked; roles are
//! enforced; missing credentials get a hint.

use super::{Env, experiment_yaml};

#[tokio::test]
async fn a_token_made_with_the_cli_acts_as_its_principal_until_revoked() {
    let env = Env::start().await;
    let created =
        env.varyctl(&["tokens", "create", "--principal", "alice", "--role", "experimenter"]).await;
    created.assert_code(0);
    let secret = created.stdout.trim().to_owned();
    assert!(secret.starts_with("vary_"), "only the secret on stdout: {:?}", created.stdout);
    assert!(created.stderr.contains("shown once"), "{}", created.stderr);
    let as_alice = [("VARY_TOKEN", secret.as_str())];

    let me = env.varyctl_with(&["whoami"], &as_alice).await;
    me.assert_code(0);
    assert!(me.stdout.contains("alice (experimenter)"), "{}", me.stdout);

    let file = env.write("pool.yml", &experiment_yaml("pool", 50, None));
    env.varyctl_with(&["apply", "-f", &file], &as_alice).await.assert_code(0);
    let archive = env.varyctl_with(&["experiments", "archive", "pool"], &as_alice).await;
    archive.assert_code(1);
    assert!(archive.stderr.contains("PERMISSION_DENIED"), "{}", archive.stderr);

    let audit = env.varyctl(&["audit", "pool"]).await;
    audit.assert_code(0);
    let lines: Vec<&str> = audit.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "header and one create:\n{}", audit.stdout);
    assert!(lines[1].contains("alice") && lines[1].contains("experiment.create"), "{}", lines[1]);

    let json = env.varyctl(&["audit", "--action", "token.create", "-o", "json"]).await;
    json.assert_code(0);
    let events: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let events = events.as_array().expect("array");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], "test-admin");
    assert_eq!(events[0]["after"]["principal"], "alice");
    let token_id = events[0]["target_key"].as_str().expect("token id").to_owned();

    let list = env.varyctl(&["tokens", "list"]).await;
    list.assert_code(0);
    assert!(list.stdout.contains(&token_id) && list.stdout.contains("alice"), "{}", list.stdout);
    assert!(!list.stdout.contains(&secret), "secrets are never listed");

    env.varyctl(&["tokens", "revoke", &token_id]).await.assert_code(0);
    let refused = env.varyctl_with(&["experiments", "list"], &as_alice).await;
    refused.assert_code(1);
    assert!(refused.stderr.contains("UNAUTHENTICATED"), "{}", refused.stderr);
    let listed_all = env.varyctl(&["tokens", "list", "--all", "-o", "json"]).await;
    let tokens: serde_json::Value = serde_json::from_str(&listed_all.stdout).expect("json");
    let alice = tokens
        .as_array()
        .expect("array")
        .iter()
        .find(|token| token["token_id"] == token_id.as_str())
        .expect("alice's token listed with --all");
    assert_eq!(alice["state"], "revoked");
}

#[tokio::test]
async fn without_a_token_the_cli_says_which_settings_to_check() {
    let env = Env::start().await;
    let run = env.varyctl_with(&["experiments", "list"], &[("VARY_TOKEN", "")]).await;
    run.assert_code(1);
    assert!(run.stderr.contains("UNAUTHENTICATED"), "{}", run.stderr);
    assert!(run.stderr.contains("VARY_TOKEN"), "{}", run.stderr);
    let bad_time = env.varyctl(&["audit", "--since", "yesterday-ish"]).await;
    bad_time.assert_code(2);
}

#[tokio::test]
async fn an_https_control_plane_is_reached_with_its_ca_and_refused_without() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = vary_tests::pki::TestPki::generate(dir.path(), "cli").expect("pki");
    let server = vary_tests::TestControlPlane::start_tls(&pki, false).await.expect("tls server");
    let admin = vary_tests::auth::TestToken::of(vary_control_plane::auth::Role::Admin).secret;
    let endpoint = server.endpoint();
    let ca = pki.ca.to_str().expect("utf-8").to_owned();
    let base = ["--addr", endpoint.as_str(), "--token", admin];
    let with_ca: Vec<String> =
        base.iter().copied().chain(["--tls-ca", ca.as_str(), "whoami"]).map(String::from).collect();
    let run = super::run_binary(&with_ca, dir.path(), &[]).await;
    run.assert_code(0);
    assert!(run.stdout.contains("test-admin (admin)"), "{}", run.stdout);

    let without: Vec<String> = base.iter().copied().chain(["whoami"]).map(String::from).collect();
    let run = super::run_binary(&without, dir.path(), &[]).await;
    run.assert_code(2);
    assert!(run.stderr.contains("--tls-ca"), "{}", run.stderr);
    server.stop().await.expect("stop");
}
