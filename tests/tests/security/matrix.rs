//! Every RPC × every caller: allowed, UNAUTHENTICATED or PERMISSION_DENIED exactly as
//! the roles are specified (restated here independently of the server's table).

use std::{cell::Cell, collections::BTreeSet, time::Duration};

use prost::Message as _;
use tonic::Code;
use vary_control_plane::auth::Role;
use vary_proto::pb;
use vary_tests::{TestControlPlane, auth::TestToken, edge_agent::wait_until};

use crate::raw::{Shape, call};

/// Who may call a method, as the security spec says.
#[derive(Debug, Clone, Copy)]
enum Allowed {
    /// Anyone, no token needed.
    Public,
    /// Any valid token.
    AnyToken,
    /// Exactly these roles.
    Roles(&'static [Role]),
}

const VIEWERS: Allowed = Allowed::Roles(&[Role::Viewer, Role::Experimenter, Role::Admin]);
const EXPERIMENTERS: Allowed = Allowed::Roles(&[Role::Experimenter, Role::Admin]);
const ADMINS: Allowed = Allowed::Roles(&[Role::Admin]);
const AGENTS: Allowed = Allowed::Roles(&[Role::Agent, Role::Admin]);

/// Every method the control plane serves, its shape and who may call it.
const EXPECTED: &[(&str, Shape, Allowed)] = &[
    ("/grpc.health.v1.Health/Check", Shape::Unary, Allowed::Public),
    ("/grpc.health.v1.Health/Watch", Shape::ServerStreaming, Allowed::Public),
    ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Shape::Bidi, Allowed::AnyToken),
    (
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        Shape::Bidi,
        Allowed::AnyToken,
    ),
    ("/vary.v1.ExperimentService/GetExperiment", Shape::Unary, VIEWERS),
    ("/vary.v1.ExperimentService/ListExperiments", Shape::Unary, VIEWERS),
    ("/vary.v1.ExperimentService/ListExperimentVersions", Shape::Unary, VIEWERS),
    ("/vary.v1.ExperimentService/GetExperimentVersion", Shape::Unary, VIEWERS),
    ("/vary.v1.ExperimentService/DiffExperimentVersions", Shape::Unary, VIEWERS),
    ("/vary.v1.AnalysisService/GetResults", Shape::Unary, VIEWERS),
    ("/vary.v1.FleetService/ListAgents", Shape::Unary, VIEWERS),
    ("/vary.v1.ExperimentService/CreateExperiment", Shape::Unary, EXPERIMENTERS),
    ("/vary.v1.ExperimentService/UpdateExperiment", Shape::Unary, EXPERIMENTERS),
    ("/vary.v1.ExperimentService/RollbackExperiment", Shape::Unary, EXPERIMENTERS),
    ("/vary.v1.ExperimentService/StartExperiment", Shape::Unary, EXPERIMENTERS),
    ("/vary.v1.ExperimentService/PauseExperiment", Shape::Unary, EXPERIMENTERS),
    ("/vary.v1.ExperimentService/ResumeExperiment", Shape::Unary, EXPERIMENTERS),
    ("/vary.v1.ExperimentService/StopExperiment", Shape::Unary, EXPERIMENTERS),
    ("/vary.v1.ExperimentService/SetExperimentAllocation", Shape::Unary, EXPERIMENTERS),
    ("/vary.v1.ExperimentService/ArchiveExperiment", Shape::Unary, ADMINS),
    ("/vary.v1.AuthService/CreateToken", Shape::Unary, ADMINS),
    ("/vary.v1.AuthService/ListTokens", Shape::Unary, ADMINS),
    ("/vary.v1.AuthService/RevokeToken", Shape::Unary, ADMINS),
    ("/vary.v1.AuthService/WhoAmI", Shape::Unary, Allowed::AnyToken),
    ("/vary.v1.AuditService/ListAuditEvents", Shape::Unary, ADMINS),
    ("/vary.v1.ConfigDistributionService/Watch", Shape::Bidi, AGENTS),
    ("/vary.v1.EventIngestService/IngestEvents", Shape::Unary, AGENTS),
];

/// A caller: a role's token, or a token that must be refused.
#[derive(Debug, Clone)]
enum Caller {
    Role(Role),
    Refused { what: &'static str, token: Option<String> },
}

#[tokio::test]
async fn every_rpc_for_every_caller_is_allowed_or_refused_as_specified() {
    let server = TestControlPlane::start().await.expect("control plane");
    let (revoked, expired) = refused_tokens(&server).await;
    let mut callers: Vec<Caller> = Role::ALL.into_iter().map(Caller::Role).collect();
    callers.extend([
        Caller::Refused { what: "no token", token: None },
        Caller::Refused { what: "revoked", token: Some(revoked) },
        Caller::Refused { what: "expired", token: Some(expired) },
        Caller::Refused {
            what: "unknown id",
            token: Some("vary_0123456789abcdef_not-a-real-secret".to_owned()),
        },
        Caller::Refused {
            what: "wrong secret",
            token: Some(format!("{}x", TestToken::of(Role::Admin).secret)),
        },
        Caller::Refused { what: "not a token", token: Some("hunter2".to_owned()) },
    ]);

    let mut failures = Vec::new();
    for &(method, shape, allowed) in EXPECTED {
        for caller in &callers {
            let token = match caller {
                Caller::Role(role) => Some(TestToken::of(*role).secret.to_owned()),
                Caller::Refused { token, .. } => token.clone(),
            };
            let channel = server.raw_channel().await.expect("channel");
            let code = call(channel, method, shape, token.as_deref()).await;
            let expected = match (allowed, caller) {
                (Allowed::Public, _) => None,
                (_, Caller::Refused { .. }) => Some(Code::Unauthenticated),
                (Allowed::AnyToken, Caller::Role(_)) => None,
                (Allowed::Roles(roles), Caller::Role(role)) if roles.contains(role) => None,
                (Allowed::Roles(_), Caller::Role(_)) => Some(Code::PermissionDenied),
            };
            let ok = match expected {
                Some(expected) => code == expected,
                None => !matches!(code, Code::Unauthenticated | Code::PermissionDenied),
            };
            if !ok {
                let who = match caller {
                    Caller::Role(role) => role.as_str(),
                    Caller::Refused { what, .. } => what,
                };
                failures.push(format!("{method} as {who}: got {code:?}, want {expected:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    server.stop().await.expect("stop");
}

/// A revoked admin token and an expired admin token, made through AuthService.
async fn refused_tokens(server: &TestControlPlane) -> (String, String) {
    let mut auth =
        pb::auth_service_client::AuthServiceClient::new(server.channel().await.expect("channel"));
    let create = |ttl: Option<prost_types::Duration>| pb::CreateTokenRequest {
        principal: "soon-gone".to_owned(),
        role: pb::Role::Admin as i32,
        description: String::new(),
        ttl,
    };
    let revoked = auth.create_token(create(None)).await.expect("create").into_inner();
    let token_id = revoked.token.expect("token").token_id;
    auth.revoke_token(pb::RevokeTokenRequest { token_id }).await.expect("revoke");
    let short = prost_types::Duration { seconds: 0, nanos: 1_000_000 };
    let expired = auth.create_token(create(Some(short))).await.expect("create").into_inner();
    // Its one-millisecond lifetime runs out at once; wait (bounded) until the server says so.
    let last = Cell::new(None);
    let waited = wait_until(Duration::from_secs(10), || async {
        let channel = server.raw_channel().await.expect("channel");
        let code =
            call(channel, "/vary.v1.AuthService/WhoAmI", Shape::Unary, Some(&expired.secret)).await;
        last.set(Some(code));
        code == Code::Unauthenticated
    })
    .await;
    let code = last.get();
    assert!(waited.is_ok(), "the token never expired: {code:?}");
    (revoked.secret, expired.secret)
}

#[test]
fn the_expected_table_covers_every_method_the_control_plane_serves() {
    let served: BTreeSet<&str> = vary_control_plane::server::health_checked_services().into();
    let files = prost_types::FileDescriptorSet::decode(vary_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let mut methods = BTreeSet::new();
    for file in &files.file {
        for service in &file.service {
            let name = format!("{}.{}", file.package(), service.name());
            if served.contains(name.as_str()) {
                for method in &service.method {
                    methods.insert(format!("/{name}/{}", method.name()));
                }
            }
        }
    }
    let listed: BTreeSet<String> = EXPECTED
        .iter()
        .map(|(method, _, _)| (*method).to_owned())
        .filter(|method| method.starts_with("/vary."))
        .collect();
    assert_eq!(methods, listed, "served vary.v1 methods vs. this test's table");
}

/// A method the server routes but that has no entry in the access policy is denied to
/// everyone, admins included: here the edge agent's AssignmentService, served behind the
/// control plane's own auth layer.
#[tokio::test]
async fn an_rpc_served_without_a_policy_entry_is_denied_even_to_admins() {
    use std::sync::Arc;
    use vary_control_plane::auth::{AuthLayer, TokenStore};
    use vary_edge_agent::{
        assign_server::AssignmentServer, serve::AssignApi, server::MAX_MESSAGE_BYTES,
        snapshot::SnapshotStore,
    };

    let server = TestControlPlane::start().await.expect("control plane");
    let pool =
        vary_control_plane::db::connect_pool(&server.database.url.clone().into(), 2).expect("pool");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let served = tonic::transport::Server::builder()
        .layer(AuthLayer::new(TokenStore::new(pool)))
        .add_service(AssignmentServer::new(
            AssignApi::new(Arc::new(SnapshotStore::new())),
            MAX_MESSAGE_BYTES,
        ))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    let serving = tokio::spawn(served);

    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let admin = TestToken::of(Role::Admin).secret;
    let code =
        call(channel.clone(), "/vary.v1.AssignmentService/Assign", Shape::Unary, Some(admin)).await;
    assert_eq!(code, Code::PermissionDenied);
    let mut client = pb::assignment_service_client::AssignmentServiceClient::new(channel);
    let mut request = tonic::Request::new(pb::AssignRequest::default());
    request.metadata_mut().insert("authorization", format!("Bearer {admin}").parse().unwrap());
    let status = client.assign(request).await.expect_err("denied");
    assert!(status.message().contains("not in the access policy"), "{status:?}");
    serving.abort();
    server.stop().await.expect("stop");
}
