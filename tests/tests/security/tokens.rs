//! Token lifecycle through AuthService, the principal as actor, validation, the bootstrap
//! path and the revoke-only table.

use tonic::Code;
use vary_control_plane::auth::TokenStore;
use vary_proto::pb;
use vary_tests::{TestControlPlane, TestPostgres, auth::Bearer, watch_client::WatchClient};

fn create(principal: &str, role: pb::Role) -> pb::CreateTokenRequest {
    pb::CreateTokenRequest {
        principal: principal.to_owned(),
        role: role as i32,
        description: "test".to_owned(),
        ttl: None,
    }
}

#[tokio::test]
async fn a_token_is_shown_once_acts_as_its_principal_and_stops_working_when_revoked() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut auth =
        pb::auth_service_client::AuthServiceClient::new(server.channel().await.expect("channel"));
    let issued = auth
        .create_token(create("alice@example.com", pb::Role::Experimenter))
        .await
        .expect("create")
        .into_inner();
    let token = issued.token.expect("token");
    assert!(issued.secret.starts_with(&format!("vary_{}_", token.token_id)), "{}", issued.secret);
    assert_eq!(token.role, pb::Role::Experimenter as i32);
    assert_eq!(token.created_by, "test-admin");

    let alice = Bearer::new(&issued.secret).wrap(server.raw_channel().await.expect("channel"));
    let mut alice_auth = pb::auth_service_client::AuthServiceClient::new(alice.clone());
    let me = alice_auth.who_am_i(pb::WhoAmIRequest {}).await.expect("whoami").into_inner();
    assert_eq!(me.token.expect("token").principal, "alice@example.com");
    let mut alice_experiments = pb::experiment_service_client::ExperimentServiceClient::new(alice);
    let created = alice_experiments
        .create_experiment(pb::CreateExperimentRequest {
            key: "by_alice".into(),
            spec: Some(vary_tests::fixtures::spec("by alice")),
            change_note: String::new(),
        })
        .await
        .expect("alice may create")
        .into_inner();
    let versions = alice_experiments
        .list_experiment_versions(pb::ListExperimentVersionsRequest {
            key: "by_alice".into(),
            ..Default::default()
        })
        .await
        .expect("versions")
        .into_inner();
    assert_eq!(versions.versions[0].actor, "alice@example.com");
    assert!(created.experiment.is_some());

    // Listed without its secret; revoked, it is gone from the default list.
    let listed = auth.list_tokens(pb::ListTokensRequest::default()).await.expect("list");
    let listed = listed.into_inner().tokens;
    assert!(listed.iter().any(|listed| listed.token_id == token.token_id));
    let revoked = auth
        .revoke_token(pb::RevokeTokenRequest { token_id: token.token_id.clone() })
        .await
        .expect("revoke")
        .into_inner()
        .token
        .expect("token");
    assert_eq!(revoked.revoked_by, "test-admin");
    assert!(revoked.revoke_time.is_some());
    let refused = alice_experiments
        .list_experiments(pb::ListExperimentsRequest::default())
        .await
        .expect_err("revoked");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.message().contains("revoked"), "{refused:?}");
    let active = auth.list_tokens(pb::ListTokensRequest::default()).await.expect("list");
    assert!(active.into_inner().tokens.iter().all(|listed| listed.token_id != token.token_id));
    let all = auth
        .list_tokens(pb::ListTokensRequest { include_inactive: true, ..Default::default() })
        .await
        .expect("list all")
        .into_inner();
    assert!(all.tokens.iter().any(|listed| listed.token_id == token.token_id));

    let missing = auth
        .revoke_token(pb::RevokeTokenRequest { token_id: "ffffffffffffffff".into() })
        .await
        .expect_err("no such token");
    assert_eq!(missing.code(), Code::NotFound);
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn bad_token_requests_name_the_field() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut auth =
        pb::auth_service_client::AuthServiceClient::new(server.channel().await.expect("channel"));
    let cases = [
        (create("", pb::Role::Viewer), "principal"),
        (create("two words", pb::Role::Viewer), "principal"),
        (create("system:guardrail", pb::Role::Admin), "principal"),
        (create("bob", pb::Role::Unspecified), "role"),
        (
            pb::CreateTokenRequest {
                ttl: Some(prost_types::Duration { seconds: -5, nanos: 0 }),
                ..create("bob", pb::Role::Viewer)
            },
            "ttl",
        ),
        (
            pb::CreateTokenRequest {
                description: "x".repeat(501),
                ..create("bob", pb::Role::Viewer)
            },
            "description",
        ),
    ];
    for (request, field) in cases {
        let status = auth.create_token(request.clone()).await.expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
        assert!(status.message().starts_with(field), "{field}: {status:?}");
    }
    let tokens = auth.list_tokens(pb::ListTokensRequest::default()).await.expect("list");
    assert!(tokens.into_inner().tokens.iter().all(|token| token.principal != "bob"));
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn bootstrap_issues_one_admin_token_and_then_refuses() {
    let database = TestPostgres::create_database().await.expect("database");
    let url = vary_control_plane::config::DatabaseUrl::from(database.url.clone());
    vary_control_plane::db::run_migrations(&url).await.expect("migrate");
    let tokens = TokenStore::new(vary_control_plane::db::connect_pool(&url, 2).expect("pool"));
    // The API's principal rules hold here too: no reserved `system:` names, no blanks.
    for bad in ["system:bootstrap", "", "two words"] {
        let refused = tokens.bootstrap_admin(bad).await.expect_err(bad);
        assert!(refused.to_string().contains("principal"), "{bad:?}: {refused}");
    }
    let secret = tokens.bootstrap_admin("root").await.expect("bootstrap").expect("first token");
    assert!(tokens.bootstrap_admin("root").await.expect("bootstrap again").is_none());

    let server = TestControlPlane::start_on(database).await.expect("control plane");
    let root = Bearer::new(&secret).wrap(server.raw_channel().await.expect("channel"));
    let me = pb::auth_service_client::AuthServiceClient::new(root)
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .expect("whoami")
        .into_inner()
        .token
        .expect("token");
    assert_eq!((me.principal.as_str(), me.role), ("root", pb::Role::Admin as i32));
    assert_eq!(me.created_by, "system:bootstrap");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn tokens_are_never_deleted_and_change_only_by_one_revocation() {
    let server = TestControlPlane::start().await.expect("control plane");
    let database = server.database.connect().await.expect("db");
    for statement in [
        "UPDATE api_tokens SET role = 'admin' WHERE principal = 'test-viewer'",
        "UPDATE api_tokens SET expires_at = now() WHERE principal = 'test-viewer'",
        "DELETE FROM api_tokens WHERE principal = 'test-viewer'",
    ] {
        let error = database.execute(statement, &[]).await.expect_err(statement);
        let message = error.as_db_error().map(|db| db.message().to_owned()).unwrap_or_default();
        assert!(message.contains("api_tokens"), "{statement}: {error:?}");
    }
    database
        .execute(
            "UPDATE api_tokens SET revoked_at = now(), revoked_by = 'dba' WHERE principal = 'test-viewer'",
            &[],
        )
        .await
        .expect("a revocation is allowed");
    let error = database
        .execute("UPDATE api_tokens SET revoked_at = NULL, revoked_by = NULL WHERE principal = 'test-viewer'", &[])
        .await
        .expect_err("un-revoking is refused");
    let message = error.as_db_error().map(|db| db.message().to_owned()).unwrap_or_default();
    assert!(message.contains("api_tokens"), "{error:?}");
    server.stop().await.expect("stop");
}

/// The auth layer checks a token when a call starts; a Watch stream lasts up to the max
/// stream age, so the control plane re-checks its token on every heartbeat (1 s here).
#[tokio::test]
async fn revoking_an_agent_token_ends_the_watch_streams_it_opened() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut auth =
        pb::auth_service_client::AuthServiceClient::new(server.channel().await.expect("channel"));
    let issued =
        auth.create_token(create("agent:soon-revoked", pb::Role::Agent)).await.expect("create");
    let issued = issued.into_inner();
    let token_id = issued.token.expect("token").token_id;
    let mut stream =
        WatchClient::connect_with_token(server.endpoint(), &issued.secret, "soon-revoked", 0)
            .await
            .expect("a live token opens a stream");
    stream.next_snapshot().await.expect("the stream serves");

    auth.revoke_token(pb::RevokeTokenRequest { token_id }).await.expect("revoke");
    let ended = stream.ending_status().await.expect("the stream ends");
    assert_eq!(ended.code(), Code::Unauthenticated, "{ended:?}");
    assert_eq!(ended.message(), "API token revoked");
    let reopened = WatchClient::connect_with_token(server.endpoint(), &issued.secret, "x", 0).await;
    assert!(reopened.is_err(), "a revoked token opens no new stream");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_watch_stream_ends_when_its_token_expires() {
    // Token re-checks only every minute: the stream must end at the expiry itself, on its
    // own timer, not at the next periodic check.
    let database = TestPostgres::create_database().await.expect("database");
    let server = TestControlPlane::spawn_with(database, ([127, 0, 0, 1], 0).into(), |config| {
        config.heartbeat_interval = std::time::Duration::from_secs(60);
    })
    .await
    .expect("control plane");
    server.wait_until_serving().await.expect("serving");
    let mut auth =
        pb::auth_service_client::AuthServiceClient::new(server.channel().await.expect("channel"));
    let request = pb::CreateTokenRequest {
        ttl: Some(prost_types::Duration { seconds: 5, nanos: 0 }),
        ..create("agent:short-lived", pb::Role::Agent)
    };
    let issued = auth.create_token(request).await.expect("create").into_inner();
    let mut stream =
        WatchClient::connect_with_token(server.endpoint(), &issued.secret, "short-lived", 0)
            .await
            .expect("a live token opens a stream");
    stream.next_snapshot().await.expect("the stream serves");

    let ended = stream.ending_status().await.expect("the stream ends");
    assert_eq!(ended.code(), Code::Unauthenticated, "{ended:?}");
    assert_eq!(ended.message(), "API token expired");
    server.stop().await.expect("stop");
}
