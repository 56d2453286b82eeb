use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};
use vary_proto::pb;
use vary_tests::{TestControlPlane, TestPostgres};

#[tokio::test]
async fn reflection_lists_the_experiment_service_for_grpcurl_style_clients() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut reflection = ServerReflectionClient::new(server.channel().await.expect("channel"));
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection stream")
        .into_inner();
    let response = responses.message().await.expect("message").expect("a response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    assert!(names.contains(&"vary.v1.ExperimentService".to_owned()), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health".to_owned()), "{names:?}");
    assert!(
        !names.contains(&"vary.v1.AssignmentService".to_owned()),
        "the edge agent's service is not served here: {names:?}"
    );
}

/// Several replicas starting at once on an empty database: the advisory lock lets one
/// migrate, the others wait, and all of them end up SERVING the same data.
#[tokio::test]
async fn replicas_starting_together_migrate_once_and_all_serve() {
    let database = TestPostgres::create_database().await.expect("database");
    let replicas =
        futures::future::join_all((0..3).map(|_| TestControlPlane::start_on(database.clone())))
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .expect("every replica serving");
    let mut first = replicas[0].experiments().await.expect("client");
    first
        .create_experiment(pb::CreateExperimentRequest {
            key: "shared".into(),
            spec: Some(vary_tests::fixtures::spec("S")),
            change_note: String::new(),
        })
        .await
        .expect("create through replica 0");
    let mut last = replicas[2].experiments().await.expect("client");
    last.get_experiment(pb::GetExperimentRequest { key: "shared".into() })
        .await
        .expect("read through replica 2");
    let history = database
        .connect()
        .await
        .expect("db")
        .query_one("SELECT count(*), count(DISTINCT version) FROM refinery_schema_history", &[])
        .await
        .expect("history");
    let (applied, distinct): (i64, i64) = (history.get(0), history.get(1));
    let migration_files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
        .expect("migrations dir")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.path().extension().is_some_and(|ext| ext == "sql"))
        })
        .count() as i64;
    assert_eq!(applied, migration_files, "every migration recorded");
    assert_eq!(applied, distinct, "no migration recorded twice");
    for replica in replicas {
        replica.stop().await.expect("clean stop");
    }
}
