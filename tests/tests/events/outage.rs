//! The scenario: two agents make a known set of events; the control plane stops
//! for a while; one agent restarts (gracefully, as on SIGTERM) during the outage; the
//! control plane comes back at its address: every event is in PostgreSQL exactly once.

use std::collections::BTreeSet;

use vary_tests::{TestControlPlane, TestEdgeAgent};

use crate::support::{KEY, Produced, produce, stored, wait_for_rows};

/// Assign calls with exposure logging, per agent and phase (as many again without).
const ASSIGNS: usize = 600;
/// Track outcomes per agent and phase.
const OUTCOMES: usize = 3_000;
/// LogExposure calls per agent and phase.
const LOGGED: usize = 200;

async fn both(a: &TestEdgeAgent, b: &TestEdgeAgent, phase: &str) -> Produced {
    let (prefix_a, prefix_b) = (format!("a{phase}"), format!("b{phase}"));
    let (mut from_a, from_b) = tokio::join!(
        produce(a, &prefix_a, ASSIGNS, OUTCOMES, LOGGED),
        produce(b, &prefix_b, ASSIGNS, OUTCOMES, LOGGED),
    );
    from_a.merge(from_b);
    from_a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_stored_once_across_an_outage_and_an_agent_restart() {
    let control_plane = TestControlPlane::start().await.expect("control plane");
    let database = control_plane.database.clone();
    let addr = control_plane.addr;
    let mut experiments = control_plane.experiments().await.expect("client");
    let revision = vary_tests::fixtures::create_and_start(&mut experiments, KEY).await;
    let endpoint = control_plane.endpoint();
    let agent_a = TestEdgeAgent::start(&endpoint, "events-a").await.expect("agent a");
    let agent_b = TestEdgeAgent::start(&endpoint, "events-b").await.expect("agent b");
    agent_a.wait_for_revision(revision).await.expect("a has the experiment");
    agent_b.wait_for_revision(revision).await.expect("b has the experiment");

    let mut produced = both(&agent_a, &agent_b, "1").await;

    // The outage: both agents keep answering and recording; a restarts in the middle.
    control_plane.stop().await.expect("control plane stops");
    produced.merge(both(&agent_a, &agent_b, "2").await);
    let stopped = agent_a.stop().await.expect("agent a stops (flush or spool)");
    let spool = stopped.lkg_path().parent().expect("the state dir").join("spool");
    let spooled_bytes: u64 = std::fs::read_dir(&spool)
        .expect("a's spool dir")
        .map(|entry| entry.expect("entry").metadata().expect("stat").len())
        .sum();
    assert!(spooled_bytes > 0, "a stopped during the outage with its events on disk");
    let agent_a = stopped.start(None).await.expect("agent a restarts");
    agent_a.wait_until_serving().await.expect("a serves its last-known-good snapshot");
    produced.merge(both(&agent_a, &agent_b, "3").await);

    let control_plane =
        TestControlPlane::start_at(database.clone(), addr).await.expect("control plane is back");
    let exposures = produced.assigned_units.len() + produced.logged_exposures.len();
    assert_eq!(exposures, 3 * 2 * (ASSIGNS + LOGGED));
    assert_eq!(produced.outcomes.len(), 3 * 2 * OUTCOMES);
    wait_for_rows(&database, exposures, produced.outcomes.len()).await;

    let stored = stored(&database).await;
    let outcome_ids: BTreeSet<String> = stored.outcome_ids.iter().cloned().collect();
    assert_eq!(stored.outcome_ids.len(), outcome_ids.len(), "no outcome twice");
    assert_eq!(outcome_ids, produced.outcomes, "every outcome, and no other");
    let assigned_units: BTreeSet<String> = stored.assigned_units.iter().cloned().collect();
    assert_eq!(stored.assigned_units.len(), assigned_units.len(), "one exposure per Assign");
    assert_eq!(assigned_units, produced.assigned_units, "no opted-out Assign was recorded");
    assert!(produced.logged_exposures.is_subset(&stored.exposure_ids), "every LogExposure");
    assert_eq!(stored.exposures, exposures, "no exposure twice, none extra");

    agent_a.stop().await.expect("agent a stops");
    agent_b.stop().await.expect("agent b stops");
    control_plane.stop().await.expect("control plane stops");
}
