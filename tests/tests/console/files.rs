//! The console's files under `/console/`: index.html for the app, hashed assets, 404 for
//! anything else, a redirect from `/`, nothing outside the
//! directory, and nothing but GET/HEAD let past the access policy.

use http::{Method, StatusCode};
use tonic::Code;
use vary_control_plane::{auth::Role, config::ConsoleDir};
use vary_proto::pb;
use vary_tests::{TestControlPlane, TestPostgres, auth::TestToken};

use crate::{
    APP_JS, INDEX_HTML, SECRET,
    http1::{get, grpc_web_call, request},
};

#[tokio::test]
async fn the_app_is_index_html_and_anything_missing_is_404() {
    let (_tree, dir) = crate::console_dir();
    let server = TestControlPlane::start_with_console(&dir).await.expect("control plane");
    assert_eq!(server.console_url(), format!("http://{}/console/", server.addr));

    for path in ["/console/", "/console/index.html"] {
        let answer = get(server.addr, path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {answer:?}");
        assert!(answer.header("content-type").starts_with("text/html"), "{path}: {answer:?}");
        assert_eq!(answer.header("cache-control"), "no-cache", "{path}: {answer:?}");
        assert_eq!(answer.header("x-content-type-options"), "nosniff", "{path}: {answer:?}");
        let policy = answer.header("content-security-policy");
        for directive in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"] {
            assert!(policy.contains(directive), "{path}: no {directive} in {policy:?}");
        }
        assert_eq!(answer.text(), INDEX_HTML, "{path}");
    }

    let asset = get(server.addr, "/console/assets/app-1a2b3c.js").await;
    assert_eq!(asset.status, StatusCode::OK, "{asset:?}");
    assert!(asset.header("content-type").contains("javascript"), "{asset:?}");
    assert_eq!(asset.header("cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(asset.text(), APP_JS);

    // The app routes in the fragment (`/console/#/experiments/x`), so a path that names no
    // file is a mistake, not a route: 404, whether or not it has an extension.
    for path in [
        "/console/missing.js",
        "/console/assets/old-0000.js",
        "/console/x/y.css",
        "/console/experiments/foo",
        "/console/a/b/c",
    ] {
        let answer = get(server.addr, path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {answer:?}");
        assert_eq!(answer.header("cache-control"), "no-cache", "{path}: {answer:?}");
    }

    let head = request(server.addr, Method::HEAD, "/console/").await;
    assert_eq!(head.status, StatusCode::OK, "{head:?}");
    assert!(head.body.is_empty(), "{head:?}");

    // A directory without its slash is redirected inside the console.
    let assets = get(server.addr, "/console/assets").await;
    assert_eq!(assets.status, StatusCode::TEMPORARY_REDIRECT, "{assets:?}");
    assert_eq!(assets.header("location"), "/console/assets/", "{assets:?}");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn the_root_redirects_to_the_console() {
    let (_tree, dir) = crate::console_dir();
    let server = TestControlPlane::start_with_console(&dir).await.expect("control plane");
    for path in ["/", "/console"] {
        let answer = get(server.addr, path).await;
        assert_eq!(answer.status, StatusCode::TEMPORARY_REDIRECT, "{path}: {answer:?}");
        assert_eq!(answer.header("location"), "/console/", "{path}: {answer:?}");
    }
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn paths_never_escape_the_console_directory() {
    let (_tree, dir) = crate::console_dir();
    let server = TestControlPlane::start_with_console(&dir).await.expect("control plane");
    let attempts = [
        "/console/../secret.txt",
        "/console/assets/../../secret.txt",
        "/console/%2e%2e/secret.txt",
        "/console/%2E%2E/secret.txt",
        "/console/..%2fsecret.txt",
        "/console/..%2Fsecret.txt",
        "/console/%2e%2e%2fsecret.txt",
        "/console/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/console/..%5csecret.txt",
        "/console//etc/passwd",
        "/console/%2fetc%2fpasswd",
        "/console/../../../../../../etc/passwd",
        "/console/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/console/../secret",
    ];
    for path in attempts {
        let answer = get(server.addr, path).await;
        let text = answer.text();
        assert!(!text.contains(SECRET), "{path} leaked the file beside the console: {answer:?}");
        assert!(!text.contains("root:"), "{path} leaked /etc/passwd: {answer:?}");
        assert!(
            answer.status == StatusCode::NOT_FOUND || answer.status == StatusCode::BAD_REQUEST,
            "{path}: {answer:?}"
        );
    }
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn only_get_and_head_of_console_files_pass_without_the_policy() {
    let (_tree, dir) = crate::console_dir();
    let server = TestControlPlane::start_with_console(&dir).await.expect("control plane");

    // Plain HTTP/1.1 that is not gRPC-Web is refused before the services (tonic-web: 400).
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let answer = request(server.addr, method.clone(), "/console/x").await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{method}: {answer:?}");
        assert!(!answer.text().contains(INDEX_HTML), "{method}: {answer:?}");
    }
    // As a gRPC-Web call it meets the access policy, which has no such method: denied to
    // everyone, admin included.
    for token in [None, Some(TestToken::of(Role::Admin).secret)] {
        let answer = grpc_web_call(server.addr, "/console/x", token, &pb::WhoAmIRequest {}).await;
        assert_eq!(answer.grpc_status(), Some(Code::PermissionDenied as i32), "{answer:?}");
        assert!(answer.grpc_message().contains("not in the access policy"), "{answer:?}");
        assert!(answer.messages.is_empty(), "{answer:?}");
    }
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn without_a_console_dir_nothing_is_served() {
    let server = TestControlPlane::start().await.expect("control plane");
    for path in ["/", "/console/", "/console/index.html", "/console/experiments/foo"] {
        let answer = get(server.addr, path).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}: {answer:?}");
        assert!(answer.body.is_empty(), "{path}: {answer:?}");
    }
    // gRPC-Web itself works without the console.
    let viewer = TestToken::of(Role::Viewer).secret;
    let who = grpc_web_call(
        server.addr,
        "/vary.v1.AuthService/WhoAmI",
        Some(viewer),
        &pb::WhoAmIRequest {},
    )
    .await;
    assert_eq!(who.grpc_status(), Some(0), "{who:?}");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_console_dir_without_index_html_stops_the_start_up() {
    let empty = tempfile::tempdir().expect("tempdir");
    let database = TestPostgres::create_database().await.expect("database");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let server = TestControlPlane::spawn_with(database, addr, |config| {
        config.console_dir = ConsoleDir::on(empty.path().to_path_buf());
    })
    .await
    .expect("spawned");
    let error = server.stop().await.expect_err("start-up refused");
    assert!(format!("{error:#}").contains("no index.html"), "{error:#}");
}
