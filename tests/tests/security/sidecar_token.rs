//! The sidecar's own API with `--api-token`: health stays open for probes, everything
//! else needs the token.

use tonic::Code;
use vary_proto::pb;
use vary_tests::{TestControlPlane, TestEdgeAgent};

#[tokio::test]
async fn with_an_api_token_the_sidecar_refuses_calls_without_it_but_not_health() {
    let server = TestControlPlane::start().await.expect("control plane");
    let agent = TestEdgeAgent::start_configured(&server.endpoint(), "guarded", |config| {
        config.api_token = Some("sidecar-s3cret".to_owned().into());
    })
    .await
    .expect("agent");
    agent.wait_until_serving().await.expect("health needs no token");

    let refused = agent.assign("u1").await.expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");

    let mut client = agent.client().await.expect("client");
    let mut request =
        tonic::Request::new(pb::AssignRequest { user_id: "u1".into(), ..Default::default() });
    request.metadata_mut().insert("authorization", "Bearer sidecar-s3cret".parse().unwrap());
    client.assign(request).await.expect("the token admits the call");

    let mut wrong = tonic::Request::new(pb::AssignRequest::default());
    wrong.metadata_mut().insert("authorization", "Bearer guess".parse().unwrap());
    let status = client.assign(wrong).await.expect_err("wrong token");
    assert_eq!(status.code(), Code::Unauthenticated);

    agent.stop().await.expect("agent stops");
    server.stop().await.expect("stop");
}
