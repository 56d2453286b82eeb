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
