//! Producing known events through an agent's gRPC API, and reading what PostgreSQL holds.

use std::{collections::BTreeSet, time::Duration};

use tonic::transport::Channel;
use vary_proto::pb::{
    self, assignment_service_client::AssignmentServiceClient,
    event_capture_service_client::EventCaptureServiceClient,
};
use vary_tests::{TestDatabase, TestEdgeAgent, edge_agent::wait_until};

/// The experiment every test assigns.
pub(crate) const KEY: &str = "reco_events";
/// Longest a test waits for PostgreSQL to hold every event.
pub(crate) const STORED_WAIT: Duration = Duration::from_secs(120);

/// The ids of what one producer made; exposures made by `Assign` have no id the app
/// sees, so they are known by their unit ids (one exposure per unit).
#[derive(Debug, Default)]
pub(crate) struct Produced {
    /// Units assigned with exposure logging on.
    pub(crate) assigned_units: BTreeSet<String>,
    /// Ids returned by `LogExposure`.
    pub(crate) logged_exposures: BTreeSet<String>,
    /// Ids of `Track` outcomes (made by the test, as an app that retries would).
    pub(crate) outcomes: BTreeSet<String>,
}

// === impl Produced ===

impl Produced {
    /// Adds `other`'s ids.
    pub(crate) fn merge(&mut self, other: Produced) {
        self.assigned_units.extend(other.assigned_units);
        self.logged_exposures.extend(other.logged_exposures);
        self.outcomes.extend(other.outcomes);
    }
}

/// The agent's assignment and capture clients over one connection.
pub(crate) async fn clients(
    agent: &TestEdgeAgent,
) -> (AssignmentServiceClient<Channel>, EventCaptureServiceClient<Channel>) {
    let channel = Channel::from_shared(format!("http://{}", agent.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect to the agent");
    (AssignmentServiceClient::new(channel.clone()), EventCaptureServiceClient::new(channel))
}

/// Through `agent`: `assigns` Assign calls with exposure logging (plus as many without,
/// which must record nothing), `outcomes` Track events in batches of 250, and `logged`
/// LogExposure exposures. Unit ids start with `prefix`, so producers never collide.
pub(crate) async fn produce(
    agent: &TestEdgeAgent,
    prefix: &str,
    assigns: usize,
    outcomes: usize,
    logged: usize,
) -> Produced {
    let (mut assign, mut capture) = clients(agent).await;
    let mut produced = Produced::default();
    for n in 0..assigns {
        for log_exposure in [None, Some(false)] {
            let user_id = match log_exposure {
                None => format!("{prefix}-u{n}"),
                Some(_) => format!("{prefix}-silent-u{n}"),
            };
            let response = assign
                .assign(pb::AssignRequest {
                    user_id: user_id.clone(),
                    context: Some(pb::AssignmentContext {
                        placement: "pdp".into(),
                        country: "DE".into(),
                        ..Default::default()
                    }),
                    log_exposure,
                    ..Default::default()
                })
                .await
                .expect("assign")
                .into_inner();
            assert_eq!(response.assignments.len(), 1, "{user_id} is assigned");
            if log_exposure.is_none() {
                produced.assigned_units.insert(user_id);
            }
        }
    }
    let all_outcomes: Vec<pb::OutcomeEvent> = (0..outcomes)
        .map(|n| pb::OutcomeEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            event_type: if n % 3 == 0 { "add_to_cart".into() } else { "click".into() },
            user_id: format!("{prefix}-u{}", n % assigns.max(1)),
            placement: "pdp".into(),
            item_id: format!("sku-{n}"),
            value: (n % 3 == 0).then_some(19.99),
            ..Default::default()
        })
        .collect();
    for batch in all_outcomes.chunks(250) {
        let ids = capture
            .track(pb::TrackRequest { events: batch.to_vec() })
            .await
            .expect("track")
            .into_inner()
            .event_ids;
        let sent: Vec<&String> = batch.iter().map(|event| &event.event_id).collect();
        assert_eq!(ids.iter().collect::<Vec<_>>(), sent, "caller ids are kept, in order");
        produced.outcomes.extend(ids);
    }
    for n in 0..logged {
        let ids = capture
            .log_exposure(pb::LogExposureRequest {
                user_id: format!("{prefix}-late-u{n}"),
                placement: "pdp".into(),
                assignments: vec![pb::RenderedAssignment {
                    experiment_key: KEY.into(),
                    experiment_version: 1,
                    variant_key: "treatment".into(),
                    forced: false,
                }],
                config_revision: 1,
                ..Default::default()
            })
            .await
            .expect("log exposure")
            .into_inner()
            .event_ids;
        assert_eq!(ids.len(), 1);
        produced.logged_exposures.extend(ids);
    }
    produced
}

/// What PostgreSQL holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Exposure rows, but those of the harness's `revision-probe` unit (its
    /// `wait_for_revision` calls `Assign`, which records exposures like any call).
    pub(crate) exposures: usize,
    /// Unit ids of `Assign` exposures (`-u` units), one entry per row.
    pub(crate) assigned_units: Vec<String>,
    /// Event ids of exposures.
    pub(crate) exposure_ids: BTreeSet<String>,
    /// Event ids of outcomes, one entry per row.
    pub(crate) outcome_ids: Vec<String>,
}

/// Reads the event tables.
pub(crate) async fn stored(database: &TestDatabase) -> Stored {
    let client = database.connect().await.expect("connect to postgres");
    let exposures = client
        .query(
            "SELECT event_id::text, unit_id FROM exposures WHERE unit_id <> 'revision-probe'",
            &[],
        )
        .await
        .expect("exposures");
    let outcomes =
        client.query("SELECT event_id::text FROM outcomes", &[]).await.expect("outcomes");
    Stored {
        exposures: exposures.len(),
        assigned_units: exposures
            .iter()
            .map(|row| row.get::<_, String>(1))
            .filter(|unit| unit.contains("-u") && !unit.contains("-late-"))
            .collect(),
        exposure_ids: exposures.iter().map(|row| row.get(0)).collect(),
        outcome_ids: outcomes.iter().map(|row| row.get(0)).collect(),
    }
}

/// Waits until PostgreSQL holds `exposures` exposures and `outcomes` outcomes.
pub(crate) async fn wait_for_rows(database: &TestDatabase, exposures: usize, outcomes: usize) {
    let client = database.connect().await.expect("connect to postgres");
    let counted = wait_until(STORED_WAIT, || {
        let client = &client;
        async move {
            let row = client
                .query_one(
                    "SELECT (SELECT count(*) FROM exposures WHERE unit_id <> 'revision-probe'), \
                            (SELECT count(*) FROM outcomes)",
                    &[],
                )
                .await
                .expect("count");
            row.get::<_, i64>(0) as usize >= exposures && row.get::<_, i64>(1) as usize >= outcomes
        }
    })
    .await;
    if counted.is_err() {
        let now = stored(database).await;
        panic!(
            "postgres never held {exposures} exposures and {outcomes} outcomes: {} and {}",
            now.exposures,
            now.outcome_ids.len()
        );
    }
}
