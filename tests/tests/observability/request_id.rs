//! Every control-plane call carries a request id: the caller's `x-request-id`, or one
//! the control plane makes, echoed on the response so both sides can log it.

use tonic::metadata::MetadataValue;
use vary_proto::pb;
use vary_tests::TestControlPlane;

#[tokio::test]
async fn the_callers_request_id_is_echoed_and_a_missing_one_is_made() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");

    let mut request = tonic::Request::new(pb::ListExperimentsRequest::default());
    request.metadata_mut().insert("x-request-id", MetadataValue::from_static("test-id-42"));
    let response = client.list_experiments(request).await.expect("list");
    let echoed = response.metadata().get("x-request-id").map(|id| id.to_str().expect("ascii"));
    assert_eq!(echoed, Some("test-id-42"));

    let response =
        client.list_experiments(pb::ListExperimentsRequest::default()).await.expect("list");
    let made =
        response.metadata().get("x-request-id").expect("a request id").to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(made).is_ok(), "a UUID: {made}");
    server.stop().await.expect("control plane stops");
}
