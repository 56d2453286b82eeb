//! gRPC-Web over HTTP/1.1, as `createGrpcWebTransport` sends it: the access policy, the
//! message-size limit and the RPC metrics treat it exactly like native gRPC.

use prost::Message as _;
use tonic::Code;
use vary_control_plane::auth::Role;
use vary_proto::pb;
use vary_tests::{
    TestControlPlane,
    auth::TestToken,
    scrape::{http_get, value},
};

use crate::http1::{frame, grpc_web_call, grpc_web_raw};

const WHO_AM_I: &str = "/vary.v1.AuthService/WhoAmI";
const LIST_TOKENS: &str = "/vary.v1.AuthService/ListTokens";

#[tokio::test]
async fn who_am_i_over_http1_answers_the_callers_principal() {
    let (_tree, dir) = crate::console_dir();
    let server = TestControlPlane::start_with_console(&dir).await.expect("control plane");
    let viewer = TestToken::of(Role::Viewer);

    let answer =
        grpc_web_call(server.addr, WHO_AM_I, Some(viewer.secret), &pb::WhoAmIRequest {}).await;

    assert_eq!(answer.http.status, 200, "{answer:?}");
    assert_eq!(answer.http.header("content-type"), "application/grpc-web+proto", "{answer:?}");
    assert_eq!(answer.messages.len(), 1, "{answer:?}");
    let who = pb::WhoAmIResponse::decode(answer.messages[0].clone()).expect("a WhoAmIResponse");
    let token = who.token.expect("the token");
    assert_eq!(token.principal, viewer.principal);
    assert_eq!(token.token_id, viewer.id);
    assert_eq!(token.role, pb::Role::Viewer as i32);
    let trailers = answer.trailer_frame.as_ref().expect("a trailer frame");
    assert_eq!(trailers.get("grpc-status").map(String::as_str), Some("0"), "{trailers:?}");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn the_access_policy_applies_to_grpc_web() {
    let (_tree, dir) = crate::console_dir();
    let server = TestControlPlane::start_with_console(&dir).await.expect("control plane");
    let unauthenticated = Code::Unauthenticated as i32;

    let no_token = grpc_web_call(server.addr, WHO_AM_I, None, &pb::WhoAmIRequest {}).await;
    assert_eq!(no_token.grpc_status(), Some(unauthenticated), "{no_token:?}");
    assert!(no_token.messages.is_empty(), "{no_token:?}");
    assert!(no_token.grpc_message().contains("missing API token"), "{no_token:?}");

    let forged = "vary_00000000000000b1_not-the-secret";
    let bad_token = grpc_web_call(server.addr, WHO_AM_I, Some(forged), &pb::WhoAmIRequest {}).await;
    assert_eq!(bad_token.grpc_status(), Some(unauthenticated), "{bad_token:?}");
    assert!(bad_token.messages.is_empty(), "{bad_token:?}");

    // Listing tokens is for admins; a viewer's valid token is not enough.
    let viewer = TestToken::of(Role::Viewer).secret;
    let list = pb::ListTokensRequest::default();
    let denied = grpc_web_call(server.addr, LIST_TOKENS, Some(viewer), &list).await;
    assert_eq!(denied.grpc_status(), Some(Code::PermissionDenied as i32), "{denied:?}");
    assert!(denied.messages.is_empty(), "{denied:?}");

    let admin = TestToken::of(Role::Admin).secret;
    let allowed = grpc_web_call(server.addr, LIST_TOKENS, Some(admin), &list).await;
    assert_eq!(allowed.grpc_status(), Some(0), "{allowed:?}");
    let tokens = pb::ListTokensResponse::decode(allowed.messages[0].clone()).expect("decode");
    assert!(tokens.tokens.iter().any(|token| token.principal == "test-viewer"), "{tokens:?}");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn an_oversized_grpc_web_message_is_refused_by_the_size_limit() {
    let (_tree, dir) = crate::console_dir();
    let server = TestControlPlane::start_with_console(&dir).await.expect("control plane");
    let admin = TestToken::of(Role::Admin).secret;
    // Only the frame header: it announces a message over the limit, and the limit refuses
    // it there, before waiting for (or buffering) the bytes.
    let announced = vary_control_plane::server::MAX_REQUEST_MESSAGE_BYTES + 1;
    let mut header = frame(&[]).to_vec();
    header[1..5].copy_from_slice(&u32::try_from(announced).expect("u32").to_be_bytes());

    let answer = grpc_web_raw(server.addr, WHO_AM_I, Some(admin), header.into()).await;

    assert_eq!(answer.grpc_status(), Some(Code::ResourceExhausted as i32), "{answer:?}");
    assert!(answer.grpc_message().contains("exceeds"), "{answer:?}");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn grpc_web_calls_are_counted_as_rpcs_and_console_files_are_not() {
    let (_tree, dir) = crate::console_dir();
    let server = TestControlPlane::start_with_console(&dir).await.expect("control plane");
    let metrics = server.metrics_addr.expect("a metrics endpoint");
    let viewer = TestToken::of(Role::Viewer).secret;

    for _ in 0..3 {
        let answer =
            grpc_web_call(server.addr, WHO_AM_I, Some(viewer), &pb::WhoAmIRequest {}).await;
        assert_eq!(answer.grpc_status(), Some(0), "{answer:?}");
    }
    let refused = grpc_web_call(server.addr, WHO_AM_I, None, &pb::WhoAmIRequest {}).await;
    assert_eq!(refused.grpc_status(), Some(Code::Unauthenticated as i32), "{refused:?}");
    // Native gRPC on the same listener, alongside.
    let mut native = pb::auth_service_client::AuthServiceClient::new(
        server.channel_as(Role::Viewer).await.expect("channel"),
    );
    native.who_am_i(pb::WhoAmIRequest {}).await.expect("native WhoAmI");
    for path in ["/console/", "/console/experiments/x", "/console/missing.js", "/"] {
        crate::http1::get(server.addr, path).await;
    }

    let page = http_get(metrics, "/metrics").await.expect("scrape");
    assert_eq!(page.status, 200, "{}", page.body);
    let requests = |method: &str, code: &str| {
        value(&page.body, "vary_rpc_requests_total", &[("method", method), ("code", code)])
    };
    assert_eq!(requests(WHO_AM_I, "OK"), Some(4.0), "3 gRPC-Web, 1 native:\n{}", page.body);
    assert_eq!(requests(WHO_AM_I, "UNAUTHENTICATED"), Some(1.0), "{}", page.body);
    assert!(
        !page.body.lines().any(|line| line.starts_with("vary_rpc") && line.contains("unknown")),
        "console files counted as calls:\n{}",
        page.body
    );
    server.stop().await.expect("stop");
}
