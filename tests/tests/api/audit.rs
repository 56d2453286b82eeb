use vary_proto::pb;
use vary_tests::{TestControlPlane, fixtures};

/// Every mutating RPC leaves exactly one audit row, with the actor, the action, the
/// target and the revision of the version it wrote; refused calls leave none; the
/// history tables refuse UPDATE and DELETE.
#[tokio::test]
async fn every_mutation_leaves_exactly_one_audit_row() {
    let server = TestControlPlane::start().await.expect("control plane");
    let mut client = server.experiments().await.expect("client");
    let key = || "audited".to_owned();
    let spec = fixtures::spec("Audited");
    client
        .create_experiment(pb::CreateExperimentRequest {
            key: key(),
            spec: Some(spec.clone()),
            change_note: String::new(),
        })
        .await
        .expect("create");
    client
        .update_experiment(pb::UpdateExperimentRequest {
            key: key(),
            base_version: 1,
            spec: Some(pb::ExperimentSpec { name: "Renamed".into(), ..spec }),
            change_note: String::new(),
        })
        .await
        .expect("update");
    client
        .start_experiment(pb::StartExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("start");
    client
        .pause_experiment(pb::PauseExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("pause");
    client
        .resume_experiment(pb::ResumeExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("resume");
    client
        .set_experiment_allocation(pb::SetExperimentAllocationRequest {
            key: key(),
            allocation_bps: 100,
            change_note: String::new(),
        })
        .await
        .expect("ramp");
    client
        .rollback_experiment(pb::RollbackExperimentRequest {
            key: key(),
            to_version: 1,
            change_note: String::new(),
        })
        .await
        .expect("rollback");
    client
        .stop_experiment(pb::StopExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("stop");
    client
        .archive_experiment(pb::ArchiveExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect("archive");
    // Refused calls must not leave audit rows.
    client
        .start_experiment(pb::StartExperimentRequest { key: key(), ..Default::default() })
        .await
        .expect_err("archived cannot start");
    client
        .update_experiment(pb::UpdateExperimentRequest {
            key: key(),
            base_version: 1,
            spec: None,
            change_note: String::new(),
        })
        .await
        .expect_err("no spec");

    let database = server.database.connect().await.expect("db");
    let rows = database
        .query(
            "SELECT a.actor, a.action, a.target_type, a.target_key, a.revision, v.version, \
                    a.before IS NULL AS no_before, a.after->>'version' AS after_version \
             FROM audit_events a JOIN experiment_versions v ON v.revision = a.revision \
             ORDER BY a.id",
            &[],
        )
        .await
        .expect("audit rows");
    let actions: Vec<String> = rows.iter().map(|row| row.get("action")).collect();
    assert_eq!(
        actions,
        [
            "experiment.create",
            "experiment.update",
            "experiment.start",
            "experiment.pause",
            "experiment.resume",
            "experiment.set_allocation",
            "experiment.rollback",
            "experiment.stop",
            "experiment.archive",
        ]
    );
    for (index, row) in rows.iter().enumerate() {
        assert_eq!(row.get::<_, &str>("actor"), "test-admin");
        assert_eq!(row.get::<_, &str>("target_type"), "experiment");
        assert_eq!(row.get::<_, &str>("target_key"), "audited");
        let version: i64 = row.get("version");
        assert_eq!(version, index as i64 + 1);
        assert_eq!(row.get::<_, Option<String>>("after_version"), Some(version.to_string()));
        assert_eq!(row.get::<_, bool>("no_before"), index == 0, "only create has no before");
    }
    let audit_rows: i64 =
        database.query_one("SELECT count(*) FROM audit_events", &[]).await.expect("count").get(0);
    assert_eq!(audit_rows, 9);

    for statement in [
        "UPDATE audit_events SET actor = 'mallory'",
        "DELETE FROM audit_events",
        "UPDATE experiment_versions SET change_note = 'rewritten'",
        "DELETE FROM experiment_versions",
    ] {
        let error = database.execute(statement, &[]).await.expect_err(statement);
        assert!(
            error.to_string().contains("append-only")
                || format!("{error:?}").contains("append-only"),
            "{statement}: {error:?}"
        );
    }
}
