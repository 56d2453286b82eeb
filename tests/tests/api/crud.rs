use tonic::Code;
use vary_proto::pb;
use vary_tests::{TestControlPlane, fixtures};

use crate::assert_status;

#[tokio::test]
async fn created_experiment_reads_back_as_draft_version_one_with_its_spec() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    let spec = fixtures::spec("YMAL model v3");
    let created = client
        .create_experiment(pb::CreateExperimentRequest {
            key: "reco_ymal_v1".into(),
            spec: Some(spec.clone()),
            change_note: "first cut".into(),
        })
        .await
        .expect("create")
        .into_inner()
        .experiment
        .expect("experiment");
    assert_eq!(created.key, "reco_ymal_v1");
    assert_eq!(created.version, 1);
    assert_eq!(created.status, pb::ExperimentStatus::Draft as i32);
    assert_eq!(created.spec.as_ref(), Some(&spec));
    assert!(created.revision >= 1);

    let fetched = fixtures::current(&mut client, "reco_ymal_v1").await;
    assert_eq!(fetched, created);
    server.stop().await.expect("clean stop");
}

#[tokio::test]
async fn creating_a_key_twice_is_already_exists() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    let request = pb::CreateExperimentRequest {
        key: "dup".into(),
        spec: Some(fixtures::spec("Dup")),
        change_note: String::new(),
    };
    client.create_experiment(request.clone()).await.expect("first create");
    assert_status(client.create_experiment(request).await, Code::AlreadyExists, &["\"dup\""]);
}

#[tokio::test]
async fn unknown_experiments_are_not_found() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    assert_status(
        client.get_experiment(pb::GetExperimentRequest { key: "nope".into() }).await,
        Code::NotFound,
        &["\"nope\""],
    );
    assert_status(
        client
            .start_experiment(pb::StartExperimentRequest {
                key: "nope".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        &["\"nope\""],
    );
    assert_status(
        client
            .get_experiment_version(pb::GetExperimentVersionRequest {
                key: "nope".into(),
                version: 1,
            })
            .await,
        Code::NotFound,
        &["\"nope\""],
    );
}

#[tokio::test]
async fn update_with_the_current_base_version_writes_the_next_version() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    let mut spec = fixtures::spec("Weights");
    fixtures::create(&mut client, "w", spec.clone()).await;
    spec.variants[1].weight = 10.0;
    spec.variants[0].weight = 90.0;
    let updated = client
        .update_experiment(pb::UpdateExperimentRequest {
            key: "w".into(),
            base_version: 1,
            spec: Some(spec.clone()),
            change_note: "90/10".into(),
        })
        .await
        .expect("update")
        .into_inner()
        .experiment
        .expect("experiment");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.spec, Some(spec));
}

#[tokio::test]
async fn update_from_a_stale_base_version_is_aborted_and_changes_nothing() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    let spec = fixtures::spec("Stale");
    fixtures::create(&mut client, "stale", spec.clone()).await;
    let update = |base_version, name: &str| pb::UpdateExperimentRequest {
        key: "stale".into(),
        base_version,
        spec: Some(pb::ExperimentSpec { name: name.into(), ..spec.clone() }),
        change_note: String::new(),
    };
    client.update_experiment(update(1, "Second")).await.expect("first update");
    assert_status(
        client.update_experiment(update(1, "Lost update")).await,
        Code::Aborted,
        &["version 2", "base_version 1"],
    );
    let current = fixtures::current(&mut client, "stale").await;
    assert_eq!(current.version, 2);
    assert_eq!(current.spec.expect("spec").name, "Second");
}

#[tokio::test]
async fn of_concurrent_updates_from_one_base_version_exactly_one_wins() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    let spec = fixtures::spec("Race");
    fixtures::create(&mut client, "race", spec.clone()).await;
    let attempts = (0..8).map(|writer| {
        let mut client = client.clone();
        let spec = pb::ExperimentSpec { name: format!("Writer {writer}"), ..spec.clone() };
        tokio::spawn(async move {
            client
                .update_experiment(pb::UpdateExperimentRequest {
                    key: "race".into(),
                    base_version: 1,
                    spec: Some(spec),
                    change_note: String::new(),
                })
                .await
        })
    });
    let results = futures::future::join_all(attempts).await;
    let mut winners = 0;
    for result in results {
        match result.expect("task") {
            Ok(_) => winners += 1,
            Err(status) => assert_eq!(status.code(), Code::Aborted, "{status:?}"),
        }
    }
    assert_eq!(winners, 1);
    let current = fixtures::current(&mut client, "race").await;
    assert_eq!(current.version, 2);
}
