//! Limits against abuse: oversized requests get RESOURCE_EXHAUSTED before they are
//! buffered. (Page-size caps are unit-tested in `store::page_token`.)

use tonic::Code;
use vary_proto::pb;
use vary_tests::TestControlPlane;

#[tokio::test]
async fn an_oversized_request_is_refused_with_resource_exhausted() {
    let server = TestControlPlane::start().await.expect("control plane");
    let limit = vary_control_plane::server::MAX_REQUEST_MESSAGE_BYTES;
    let mut experiments = server.experiments().await.expect("client");
    let oversized = pb::CreateExperimentRequest {
        key: "huge".into(),
        spec: Some(vary_tests::fixtures::spec("huge")),
        change_note: "x".repeat(limit + 1),
    };
    let status = experiments.create_experiment(oversized).await.expect_err("too big");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("exceeds the limit"), "{status:?}");

    let mut ingest = pb::event_ingest_service_client::EventIngestServiceClient::new(
        server.channel().await.expect("channel"),
    )
    .max_encoding_message_size(usize::MAX);
    let exposure = pb::ExposureEvent { event_id: "x".repeat(1024), ..Default::default() };
    let event = pb::Event { kind: Some(pb::event::Kind::Exposure(exposure)) };
    let events = vec![event; limit / 1024 + 1];
    let status = ingest
        .ingest_events(pb::IngestEventsRequest { events, source: "flood".into() })
        .await
        .expect_err("too big");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // Nothing was written, and the server still answers normally.
    let missing = experiments
        .get_experiment(pb::GetExperimentRequest { key: "huge".into() })
        .await
        .expect_err("never created");
    assert_eq!(missing.code(), Code::NotFound);
    server.stop().await.expect("stop");
}

/// The agent routes `AssignmentService` by hand (so `Assign` can answer with pre-encoded
/// bytes); on the wire it must behave like tonic's generated server: unknown methods are
/// UNIMPLEMENTED, a body that is not an `AssignRequest` is refused, a request over the
/// agent's 1 MiB limit is refused, and the agent keeps answering.
#[tokio::test]
async fn the_agents_assignment_service_refuses_like_a_generated_one() {
    use crate::raw::{Shape, call};
    use vary_tests::TestEdgeAgent;

    let server = TestControlPlane::start().await.expect("control plane");
    let agent = TestEdgeAgent::start(&server.endpoint(), "wire").await.expect("agent");
    let channel = agent.channel().await.expect("connect");

    let unknown = call(channel.clone(), "/vary.v1.AssignmentService/Asign", Shape::Unary, None);
    assert_eq!(unknown.await, Code::Unimplemented);

    // Field 1 (user_id) declared as a 5-byte string with only 2 bytes after it.
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("ready");
    let truncated = bytes::Bytes::from_static(&[0x0a, 0x05, b'u', b'1']);
    let path = "/vary.v1.AssignmentService/Assign".parse().expect("path");
    let status = grpc
        .unary(tonic::Request::new(truncated), path, crate::raw::RawCodec)
        .await
        .expect_err("not an AssignRequest");
    assert_eq!(status.code(), Code::Internal, "{status:?}");

    let mut client = pb::assignment_service_client::AssignmentServiceClient::new(channel)
        .max_encoding_message_size(usize::MAX);
    let limit = vary_edge_agent::server::MAX_MESSAGE_BYTES;
    let oversized = pb::AssignRequest {
        experiment_keys: vec!["k".repeat(1024); limit / 1024 + 1],
        ..Default::default()
    };
    let status = client.assign(oversized).await.expect_err("over the limit");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    let answered = agent.assign("u1").await.expect("still answers");
    assert_eq!(answered.unit_type, pb::UnitType::User as i32);
    agent.stop().await.expect("agent stops");
    server.stop().await.expect("stop");
}
