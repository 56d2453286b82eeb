//! Agent ↔ control plane over TLS and mutual TLS, end to end; a client trusting another
//! CA, or without a client certificate under mTLS, is refused; a rotated certificate is
//! picked up without a restart.

use std::time::Duration;

use tonic::transport::Channel;
use vary_tests::{
    TestControlPlane, TestEdgeAgent,
    edge_agent::{AGENT_WAIT, wait_until},
    pki::TestPki,
};

/// Whether a health check over TLS with `tls` succeeds.
async fn reachable(server: &TestControlPlane, tls: tonic::transport::ClientTlsConfig) -> bool {
    let Ok(endpoint) = Channel::from_shared(server.endpoint()) else { return false };
    let Ok(endpoint) = endpoint.tls_config(tls) else { return false };
    let Ok(channel) = endpoint.connect_timeout(Duration::from_secs(5)).connect().await else {
        return false;
    };
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    health.check(tonic_health::pb::HealthCheckRequest::default()).await.is_ok()
}

#[tokio::test]
async fn an_agent_follows_the_control_plane_over_tls_and_a_wrong_ca_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::generate(dir.path(), "main").expect("pki");
    let other = TestPki::generate(dir.path(), "other").expect("other pki");
    let server = TestControlPlane::start_tls(&pki, false).await.expect("control plane");
    assert!(server.endpoint().starts_with("https://"));
    let revision = server.create_and_start("over_tls").await;

    let agent = TestEdgeAgent::start_configured(&server.endpoint(), "tls-agent", |config| {
        config.tls_ca = Some(pki.ca.clone());
    })
    .await
    .expect("agent");
    agent.wait_for_revision(revision).await.expect("the agent gets config over TLS");

    assert!(reachable(&server, pki.client_tls(false).unwrap()).await);
    assert!(!reachable(&server, other.client_tls(false).unwrap()).await, "wrong CA refused");
    let plaintext = Channel::from_shared(format!("http://{}", server.addr)).unwrap();
    let plaintext = match plaintext.connect().await {
        Ok(channel) => tonic_health::pb::health_client::HealthClient::new(channel)
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .is_ok(),
        Err(_) => false,
    };
    assert!(!plaintext, "plaintext gRPC is not served on a TLS listener");

    agent.stop().await.expect("agent stops");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn under_mutual_tls_only_clients_with_a_certificate_from_the_ca_get_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::generate(dir.path(), "main").expect("pki");
    let other = TestPki::generate(dir.path(), "other").expect("other pki");
    let server = TestControlPlane::start_tls(&pki, true).await.expect("control plane");
    let revision = server.create_and_start("over_mtls").await;

    let agent = TestEdgeAgent::start_configured(&server.endpoint(), "mtls-agent", |config| {
        config.tls_ca = Some(pki.ca.clone());
        config.tls_client_cert = Some(pki.client_cert.clone());
        config.tls_client_key = Some(pki.client_key.clone());
    })
    .await
    .expect("agent");
    agent.wait_for_revision(revision).await.expect("the agent gets config over mTLS");

    assert!(reachable(&server, pki.client_tls(true).unwrap()).await);
    assert!(!reachable(&server, pki.client_tls(false).unwrap()).await, "no client certificate");
    // A client certificate from another CA (the server still verified by the right CA).
    let foreign_identity =
        pki.client_tls(false).unwrap().identity(tonic::transport::Identity::from_pem(
            std::fs::read(&other.client_cert).unwrap(),
            std::fs::read(&other.client_key).unwrap(),
        ));
    assert!(!reachable(&server, foreign_identity).await, "client certificate from another CA");

    agent.stop().await.expect("agent stops");
    server.stop().await.expect("stop");
}

#[tokio::test]
async fn a_rotated_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = TestPki::generate(dir.path(), "main").expect("pki");
    let next = TestPki::generate(dir.path(), "next").expect("next pki");
    let server = TestControlPlane::start_tls(&pki, false).await.expect("control plane");
    assert!(!reachable(&server, next.client_tls(false).unwrap()).await);

    std::fs::copy(&next.server_cert, &pki.server_cert).expect("rotate cert");
    std::fs::copy(&next.server_key, &pki.server_key).expect("rotate key");
    wait_until(AGENT_WAIT, || reachable(&server, next.client_tls(false).unwrap()))
        .await
        .expect("the new certificate is served");
    assert!(!reachable(&server, pki.client_tls(false).unwrap()).await, "old CA no longer works");
    server.stop().await.expect("stop");
}
