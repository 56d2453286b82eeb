use vary_proto::pb;
use vary_tests::{TestControlPlane, fixtures};

#[tokio::test]
async fn rollback_to_version_n_writes_a_new_version_whose_spec_equals_ns() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    let original = fixtures::spec("Original");
    client
        .create_experiment(pb::CreateExperimentRequest {
            key: "rb".into(),
            spec: Some(original.clone()),
            change_note: String::new(),
        })
        .await
        .expect("create");
    client
        .start_experiment(pb::StartExperimentRequest { key: "rb".into(), ..Default::default() })
        .await
        .expect("start");
    let mut edited = original.clone();
    edited.name = "Edited".into();
    edited.variants[1].weight = 5.0;
    client
        .update_experiment(pb::UpdateExperimentRequest {
            key: "rb".into(),
            base_version: 2,
            spec: Some(edited),
            change_note: String::new(),
        })
        .await
        .expect("update");

    let rolled_back = client
        .rollback_experiment(pb::RollbackExperimentRequest {
            key: "rb".into(),
            to_version: 1,
            change_note: String::new(),
        })
        .await
        .expect("rollback")
        .into_inner()
        .experiment
        .expect("experiment");
    assert_eq!(rolled_back.version, 4);
    assert_eq!(rolled_back.spec, Some(original.clone()));
    assert_eq!(rolled_back.status(), pb::ExperimentStatus::Running, "rollback keeps the status");

    let version_four = client
        .get_experiment_version(pb::GetExperimentVersionRequest { key: "rb".into(), version: 4 })
        .await
        .expect("get version")
        .into_inner()
        .version
        .expect("version");
    assert_eq!(version_four.spec, Some(original));
    assert_eq!(version_four.action, "rollback");
    assert_eq!(version_four.change_note, "rollback to version 1");
    assert_eq!(version_four.actor, "test-admin");
}

#[tokio::test]
async fn diff_of_two_versions_lists_exactly_the_changed_fields() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    let spec = fixtures::spec("Diff");
    client
        .create_experiment(pb::CreateExperimentRequest {
            key: "diff".into(),
            spec: Some(spec.clone()),
            change_note: String::new(),
        })
        .await
        .expect("create");
    let mut changed = spec.clone();
    changed.variants[1].weight = 25.0;
    client
        .update_experiment(pb::UpdateExperimentRequest {
            key: "diff".into(),
            base_version: 1,
            spec: Some(changed),
            change_note: String::new(),
        })
        .await
        .expect("update");
    client
        .start_experiment(pb::StartExperimentRequest { key: "diff".into(), ..Default::default() })
        .await
        .expect("start");

    let changes = |from, to| {
        let mut client = client.clone();
        async move {
            client
                .diff_experiment_versions(pb::DiffExperimentVersionsRequest {
                    key: "diff".into(),
                    from_version: from,
                    to_version: to,
                })
                .await
                .expect("diff")
                .into_inner()
                .changes
        }
    };
    let weight_change = changes(1, 2).await;
    assert_eq!(weight_change.len(), 1, "{weight_change:?}");
    assert_eq!(weight_change[0].path, "spec.variants[1].weight");
    let number =
        |value: &Option<prost_types::Value>| match value.as_ref().and_then(|v| v.kind.clone()) {
            Some(prost_types::value::Kind::NumberValue(number)) => number,
            other => panic!("expected a number, got {other:?}"),
        };
    assert_eq!((number(&weight_change[0].before), number(&weight_change[0].after)), (50.0, 25.0));

    let start_change = changes(2, 3).await;
    let paths: Vec<&str> = start_change.iter().map(|change| change.path.as_str()).collect();
    assert_eq!(paths, vec!["status"]);
    assert!(changes(3, 3).await.is_empty());
}

#[tokio::test]
async fn versions_list_oldest_first_page_by_page() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    client
        .create_experiment(pb::CreateExperimentRequest {
            key: "hist".into(),
            spec: Some(fixtures::spec("H")),
            change_note: "v1".into(),
        })
        .await
        .expect("create");
    for allocation in [1_000, 2_000, 3_000, 4_000] {
        client
            .set_experiment_allocation(pb::SetExperimentAllocationRequest {
                key: "hist".into(),
                allocation_bps: allocation,
                change_note: String::new(),
            })
            .await
            .expect("ramp");
    }
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_experiment_versions(pb::ListExperimentVersionsRequest {
                key: "hist".into(),
                page_size: 2,
                page_token,
            })
            .await
            .expect("list versions")
            .into_inner();
        assert!(page.versions.len() <= 2);
        seen.extend(
            page.versions
                .iter()
                .map(|v| (v.version, v.spec.as_ref().expect("spec").allocation_bps)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen, vec![(1, 10_000), (2, 1_000), (3, 2_000), (4, 3_000), (5, 4_000)]);
}
