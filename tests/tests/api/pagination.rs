use vary_proto::pb;
use vary_tests::{TestControlPlane, fixtures};

#[tokio::test]
async fn list_pages_through_every_experiment_in_key_order_and_filters_combine() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    // Seven experiments: two owners, two layers (one without), one archived.
    for index in 0..7 {
        let mut spec = if index % 2 == 0 {
            fixtures::spec_in_layer("E", "pdp", index * 1_000, index * 1_000 + 1_000)
        } else {
            fixtures::spec("E")
        };
        spec.owner = if index < 4 { "reco-team".into() } else { "search-team".into() };
        client
            .create_experiment(pb::CreateExperimentRequest {
                key: format!("exp-{index}"),
                spec: Some(spec),
                change_note: String::new(),
            })
            .await
            .expect("create");
    }
    client
        .archive_experiment(pb::ArchiveExperimentRequest {
            key: "exp-6".into(),
            ..Default::default()
        })
        .await
        .expect("archive");
    client
        .start_experiment(pb::StartExperimentRequest { key: "exp-0".into(), ..Default::default() })
        .await
        .expect("start");
    client
        .start_experiment(pb::StartExperimentRequest { key: "exp-1".into(), ..Default::default() })
        .await
        .expect("start");

    let list = |request: pb::ListExperimentsRequest| {
        let mut client = client.clone();
        async move {
            let mut keys = Vec::new();
            let mut request = request;
            loop {
                let page =
                    client.list_experiments(request.clone()).await.expect("list").into_inner();
                assert!(page.experiments.len() <= 3, "page larger than page_size");
                keys.extend(page.experiments.into_iter().map(|e| e.key));
                if page.next_page_token.is_empty() {
                    return keys;
                }
                request.page_token = page.next_page_token;
            }
        }
    };
    let page = |request: pb::ListExperimentsRequest| pb::ListExperimentsRequest {
        page_size: 3,
        ..request
    };

    assert_eq!(
        list(page(Default::default())).await,
        ["exp-0", "exp-1", "exp-2", "exp-3", "exp-4", "exp-5"]
    );
    assert_eq!(
        list(page(pb::ListExperimentsRequest { include_archived: true, ..Default::default() }))
            .await
            .len(),
        7
    );
    assert_eq!(
        list(page(pb::ListExperimentsRequest {
            status: pb::ExperimentStatus::Archived as i32,
            ..Default::default()
        }))
        .await,
        ["exp-6"]
    );
    assert_eq!(
        list(page(pb::ListExperimentsRequest {
            status: pb::ExperimentStatus::Running as i32,
            ..Default::default()
        }))
        .await,
        ["exp-0", "exp-1"]
    );
    assert_eq!(
        list(page(pb::ListExperimentsRequest { layer: "pdp".into(), ..Default::default() })).await,
        ["exp-0", "exp-2", "exp-4"]
    );
    assert_eq!(
        list(page(pb::ListExperimentsRequest {
            owner: "search-team".into(),
            layer: "pdp".into(),
            ..Default::default()
        }))
        .await,
        ["exp-4"]
    );
    assert!(
        list(page(pb::ListExperimentsRequest { owner: "nobody".into(), ..Default::default() }))
            .await
            .is_empty()
    );
}

/// AIP-158: a page token continues the request it came from. Reused with other filters it
/// would silently skip or repeat rows, so it is refused naming `page_token`; with the same
/// filters it goes on where it stopped.
#[tokio::test]
async fn a_page_token_is_refused_with_other_filters() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    for index in 0..3 {
        let mut spec = fixtures::spec("E");
        spec.owner = "reco-team".into();
        let key = format!("exp-{index}");
        let created = pb::CreateExperimentRequest { key, spec: Some(spec), ..Default::default() };
        client.create_experiment(created).await.expect("create");
    }
    let by_owner = pb::ListExperimentsRequest {
        owner: "reco-team".into(),
        page_size: 2,
        ..Default::default()
    };
    let first = client.list_experiments(by_owner.clone()).await.expect("list").into_inner();
    assert_eq!(first.experiments.len(), 2);
    assert!(!first.next_page_token.is_empty());

    for other in [
        pb::ListExperimentsRequest { owner: "search-team".into(), ..by_owner.clone() },
        pb::ListExperimentsRequest { owner: String::new(), ..by_owner.clone() },
        pb::ListExperimentsRequest { include_archived: true, ..by_owner.clone() },
    ] {
        let reused =
            pb::ListExperimentsRequest { page_token: first.next_page_token.clone(), ..other };
        let status = client.list_experiments(reused).await.expect_err("other filters");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with("page_token: "), "{}", status.message());
    }
    let mut versions = pb::ListExperimentVersionsRequest {
        key: "exp-0".into(),
        page_token: first.next_page_token.clone(),
        ..Default::default()
    };
    let status = client.list_experiment_versions(versions.clone()).await.expect_err("other list");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    versions.page_token = String::new();
    client.list_experiment_versions(versions).await.expect("the first page needs no token");

    let same = pb::ListExperimentsRequest { page_token: first.next_page_token, ..by_owner };
    let second = client.list_experiments(same).await.expect("same filters").into_inner();
    let keys: Vec<String> = second.experiments.into_iter().map(|e| e.key).collect();
    assert_eq!(keys, ["exp-2"]);
}
