//! The audit log names the token's principal as the actor of every change, covers token
//! changes, and reads back through `AuditService.ListAuditEvents` with filters and pages.

use vary_control_plane::auth::Role;
use vary_proto::{model::timestamp_from_time, pb};
use vary_tests::{TestControlPlane, fixtures};

#[tokio::test]
async fn changes_are_audited_under_the_callers_principal_and_read_back_with_filters() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut as_experimenter = pb::experiment_service_client::ExperimentServiceClient::new(
        server.channel_as(Role::Experimenter).await.expect("channel"),
    );
    let admin_channel = server.channel().await.expect("channel");
    let mut auth = pb::auth_service_client::AuthServiceClient::new(admin_channel.clone());
    let mut audit = pb::audit_service_client::AuditServiceClient::new(admin_channel);
    let before_all = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);

    for key in ["audit_a", "audit_b"] {
        as_experimenter
            .create_experiment(pb::CreateExperimentRequest {
                key: key.to_owned(),
                spec: Some(fixtures::spec(key)),
                change_note: String::new(),
            })
            .await
            .expect("create");
    }
    as_experimenter
        .start_experiment(pb::StartExperimentRequest {
            key: "audit_a".into(),
            ..Default::default()
        })
        .await
        .expect("start");
    let issued = auth
        .create_token(pb::CreateTokenRequest {
            principal: "carol".into(),
            role: pb::Role::Viewer as i32,
            description: "dashboards".into(),
            ttl: None,
        })
        .await
        .expect("create token")
        .into_inner();
    let token_id = issued.token.expect("token").token_id;
    auth.revoke_token(pb::RevokeTokenRequest { token_id: token_id.clone() }).await.expect("revoke");
    // Revoking again is a no-op: no second audit row.
    auth.revoke_token(pb::RevokeTokenRequest { token_id: token_id.clone() })
        .await
        .expect("revoke again");

    let list = |request: pb::ListAuditEventsRequest| {
        let mut audit = audit.clone();
        async move { audit.list_audit_events(request).await.expect("list").into_inner() }
    };
    let everything = list(pb::ListAuditEventsRequest::default()).await;
    let summary: Vec<(String, String, String)> = everything
        .events
        .iter()
        .map(|event| (event.actor.clone(), event.action.clone(), event.target_key.clone()))
        .collect();
    let row = |actor: &str, action: &str, key: &str| (actor.into(), action.into(), key.into());
    assert_eq!(
        summary,
        [
            row("test-admin", "token.revoke", &token_id),
            row("test-admin", "token.create", &token_id),
            row("test-experimenter", "experiment.start", "audit_a"),
            row("test-experimenter", "experiment.create", "audit_b"),
            row("test-experimenter", "experiment.create", "audit_a"),
        ],
        "newest first, one row per change, actor = the token's principal"
    );
    let token_created = &everything.events[1];
    let after = vary_proto::model::struct_to_json(token_created.after.clone().expect("after"))
        .expect("json");
    let after = serde_json::Value::Object(after).to_string();
    assert!(after.contains("carol") && after.contains("viewer"), "{after}");
    assert!(!after.contains(&issued.secret), "the secret never reaches the audit log");
    assert!(everything.events.windows(2).all(|pair| pair[0].id > pair[1].id));

    let by_actor = list(pb::ListAuditEventsRequest {
        actor: "test-experimenter".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_actor.events.len(), 3);
    let by_target = list(pb::ListAuditEventsRequest {
        target_type: "experiment".into(),
        target_key: "audit_a".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_target.events.len(), 2);
    let by_action =
        list(pb::ListAuditEventsRequest { action: "token.create".into(), ..Default::default() })
            .await;
    assert_eq!(by_action.events.len(), 1);
    let in_window = list(pb::ListAuditEventsRequest {
        start_time: Some(timestamp_from_time(before_all)),
        end_time: Some(timestamp_from_time(before_all + time::Duration::minutes(10))),
        ..Default::default()
    })
    .await;
    assert_eq!(in_window.events.len(), 5);
    let before_window = list(pb::ListAuditEventsRequest {
        end_time: Some(timestamp_from_time(before_all)),
        ..Default::default()
    })
    .await;
    assert!(before_window.events.is_empty());

    // Pages of two, following the tokens, give the same five events in the same order.
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let page =
            list(pb::ListAuditEventsRequest { page_size: 2, page_token, ..Default::default() })
                .await;
        assert!(page.events.len() <= 2);
        paged.extend(page.events.into_iter().map(|event| event.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let ids: Vec<i64> = everything.events.iter().map(|event| event.id).collect();
    assert_eq!(paged, ids);

    let foreign = audit
        .list_audit_events(pb::ListAuditEventsRequest {
            page_token: "bm9wZQ".into(),
            ..Default::default()
        })
        .await
        .expect_err("a foreign page token");
    assert_eq!(foreign.code(), tonic::Code::InvalidArgument);
    server.stop().await.expect("stop");
}
