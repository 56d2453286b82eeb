use tonic::Code;
use vary_proto::pb;
use vary_tests::{
    TestControlPlane,
    fixtures::{self, create},
};

use crate::assert_status;

fn status_of(experiment: Option<pb::Experiment>) -> (i64, pb::ExperimentStatus) {
    let experiment = experiment.expect("experiment");
    (experiment.version, experiment.status())
}

#[tokio::test]
async fn an_experiment_walks_the_whole_lifecycle() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    create(&mut client, "walk", fixtures::spec("Walk")).await;
    let key = || "walk".to_owned();
    use pb::ExperimentStatus::*;

    let started = client
        .start_experiment(pb::StartExperimentRequest { key: key(), change_note: "go".into() })
        .await
        .expect("start");
    assert_eq!(status_of(started.into_inner().experiment), (2, Running));
    let paused = client
        .pause_experiment(pb::PauseExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("pause");
    assert_eq!(status_of(paused.into_inner().experiment), (3, Paused));
    let resumed = client
        .resume_experiment(pb::ResumeExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("resume");
    assert_eq!(status_of(resumed.into_inner().experiment), (4, Running));
    let ramped = client
        .set_experiment_allocation(pb::SetExperimentAllocationRequest {
            key: key(),
            allocation_bps: 2_500,
            change_note: "25%".into(),
        })
        .await
        .expect("ramp")
        .into_inner()
        .experiment
        .expect("experiment");
    assert_eq!((ramped.version, ramped.spec.expect("spec").allocation_bps), (5, 2_500));
    let stopped = client
        .stop_experiment(pb::StopExperimentRequest {
            key: key(),
            rollout_variant_key: "treatment".into(),
            change_note: "ship v3".into(),
        })
        .await
        .expect("stop")
        .into_inner()
        .experiment
        .expect("experiment");
    assert_eq!(
        (stopped.version, stopped.status(), stopped.rollout_variant_key.as_str()),
        (6, Stopped, "treatment")
    );
    let archived = client
        .archive_experiment(pb::ArchiveExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("archive");
    assert_eq!(status_of(archived.into_inner().experiment), (7, Archived));
}

#[tokio::test]
async fn illegal_transitions_are_failed_precondition_naming_the_current_status() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    create(&mut client, "rules", fixtures::spec("Rules")).await;
    let key = || "rules".to_owned();

    assert_status(
        client
            .pause_experiment(pb::PauseExperimentRequest { key: key(), ..Default::default() })
            .await,
        Code::FailedPrecondition,
        &["cannot pause", "DRAFT"],
    );
    assert_status(
        client
            .resume_experiment(pb::ResumeExperimentRequest { key: key(), ..Default::default() })
            .await,
        Code::FailedPrecondition,
        &["cannot resume", "DRAFT"],
    );
    assert_status(
        client
            .stop_experiment(pb::StopExperimentRequest { key: key(), ..Default::default() })
            .await,
        Code::FailedPrecondition,
        &["cannot stop", "DRAFT"],
    );

    client
        .start_experiment(pb::StartExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("start");
    assert_status(
        client
            .start_experiment(pb::StartExperimentRequest { key: key(), ..Default::default() })
            .await,
        Code::FailedPrecondition,
        &["cannot start", "RUNNING"],
    );
    assert_status(
        client
            .archive_experiment(pb::ArchiveExperimentRequest { key: key(), ..Default::default() })
            .await,
        Code::FailedPrecondition,
        &["cannot archive", "RUNNING"],
    );

    client
        .stop_experiment(pb::StopExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("stop");
    assert_status(
        client
            .set_experiment_allocation(pb::SetExperimentAllocationRequest {
                key: key(),
                allocation_bps: 10,
                change_note: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        &["STOPPED"],
    );
    assert_status(
        client
            .resume_experiment(pb::ResumeExperimentRequest { key: key(), ..Default::default() })
            .await,
        Code::FailedPrecondition,
        &["cannot resume", "STOPPED"],
    );

    client
        .archive_experiment(pb::ArchiveExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("archive");
    assert_status(
        client
            .update_experiment(pb::UpdateExperimentRequest {
                key: key(),
                base_version: 4,
                spec: Some(fixtures::spec("Again")),
                change_note: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        &["cannot update", "ARCHIVED"],
    );
    assert_status(
        client
            .rollback_experiment(pb::RollbackExperimentRequest {
                key: key(),
                to_version: 1,
                change_note: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        &["cannot rollback", "ARCHIVED"],
    );
}

#[tokio::test]
async fn stop_with_an_unknown_rollout_variant_is_invalid_argument() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    create(&mut client, "ship", fixtures::spec("Ship")).await;
    client
        .start_experiment(pb::StartExperimentRequest { key: "ship".into(), ..Default::default() })
        .await
        .expect("start");
    assert_status(
        client
            .stop_experiment(pb::StopExperimentRequest {
                key: "ship".into(),
                rollout_variant_key: "ghost".into(),
                change_note: String::new(),
            })
            .await,
        Code::InvalidArgument,
        &["rollout_variant_key", "ghost"],
    );
}

#[tokio::test]
async fn running_experiments_in_one_layer_cannot_share_buckets() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    create(&mut client, "left", fixtures::spec_in_layer("Left", "pdp", 0, 5_000)).await;
    create(&mut client, "overlap", fixtures::spec_in_layer("Overlap", "pdp", 4_000, 5_000)).await;
    create(&mut client, "right", fixtures::spec_in_layer("Right", "pdp", 5_000, 10_000)).await;
    create(&mut client, "elsewhere", fixtures::spec_in_layer("Elsewhere", "home", 0, 10_000)).await;

    client
        .start_experiment(pb::StartExperimentRequest { key: "left".into(), ..Default::default() })
        .await
        .expect("start left");
    assert_status(
        client
            .start_experiment(pb::StartExperimentRequest {
                key: "overlap".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        &["\"left\"", "pdp"],
    );
    client
        .start_experiment(pb::StartExperimentRequest { key: "right".into(), ..Default::default() })
        .await
        .expect("adjacent range");
    client
        .start_experiment(pb::StartExperimentRequest {
            key: "elsewhere".into(),
            ..Default::default()
        })
        .await
        .expect("other layer");

    // Widening a running experiment into a neighbour's range is refused too.
    let widened = fixtures::spec_in_layer("Left", "pdp", 0, 6_000);
    assert_status(
        client
            .update_experiment(pb::UpdateExperimentRequest {
                key: "left".into(),
                base_version: 2,
                spec: Some(widened),
                change_note: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        &["\"right\""],
    );
    // Once "left" pauses, its buckets are free.
    client
        .pause_experiment(pb::PauseExperimentRequest { key: "left".into(), ..Default::default() })
        .await
        .expect("pause");
    client
        .start_experiment(pb::StartExperimentRequest {
            key: "overlap".into(),
            ..Default::default()
        })
        .await
        .expect("now free");
    assert_status(
        client
            .resume_experiment(pb::ResumeExperimentRequest {
                key: "left".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        &["\"overlap\""],
    );
}
