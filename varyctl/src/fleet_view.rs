//! How the fleet looks: which config revision each edge agent serves, against the head.
//! The question operators ask after a change is "has everyone got it?", so agents behind
//! the head are marked in the table and flagged in JSON.

use std::collections::BTreeMap;

use serde::Serialize;
use vary_proto::pb;

use crate::{
    client::FleetListing,
    output::{Term, ago, new_table, timestamp},
};

/// `agents list -o json|yaml`.
#[derive(Debug, Serialize)]
pub struct FleetView {
    /// The control plane's head config revision.
    pub head_revision: i64,
    /// Every agent, ordered by id.
    pub agents: Vec<AgentView>,
}

/// One agent, for `-o json|yaml`.
#[derive(Debug, Serialize)]
pub struct AgentView {
    /// The agent's id.
    pub agent_id: String,
    /// Whether a Watch stream from it is open on some replica.
    pub connected: bool,
    /// The revision it acknowledged: what it serves.
    pub applied_revision: i64,
    /// Whether `applied_revision` is older than the head, so scripts need not compare.
    pub behind_head: bool,
    /// The last revision sent to it.
    pub sent_revision: i64,
    /// The last revision it refused (0 if none).
    pub rejected_revision: i64,
    /// Why it refused that revision.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub rejected_error: String,
    /// RFC 3339.
    pub last_seen_time: String,
    /// The control-plane replica its stream is (or was last) open on.
    pub replica: String,
    /// Its build version.
    pub agent_version: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

// === impl FleetView ===

impl From<&FleetListing> for FleetView {
    fn from(listing: &FleetListing) -> Self {
        let agents = listing
            .agents
            .iter()
            .map(|agent| AgentView {
                agent_id: agent.agent_id.clone(),
                connected: agent.connected,
                applied_revision: agent.applied_revision,
                behind_head: is_behind(agent, listing.head_revision),
                sent_revision: agent.sent_revision,
                rejected_revision: agent.rejected_revision,
                rejected_error: agent.rejected_error.clone(),
                last_seen_time: timestamp(agent.last_seen_time.as_ref()),
                replica: agent.replica.clone(),
                agent_version: agent.agent_version.clone(),
                labels: agent.labels.clone(),
            })
            .collect();
        FleetView { head_revision: listing.head_revision, agents }
    }
}

/// `agents list` as a table, then one line that answers "is the fleet on the head?".
/// `now` is Unix seconds, passed in so the ages are testable.
pub fn print_agents(term: &mut Term<'_>, listing: &FleetListing, now: i64) {
    if listing.agents.is_empty() {
        term.note(format!(
            "no agents known to the control plane (head revision {})",
            listing.head_revision
        ));
        return;
    }
    let mut table = new_table(&[
        "agent",
        "connected",
        "applied",
        "sent",
        "rejected",
        "last seen",
        "replica",
        "labels",
    ]);
    for agent in &listing.agents {
        table.add_row(agent_row(agent, listing.head_revision, now));
    }
    term.table(&table);
    term.line(summary(listing));
}

fn agent_row(agent: &pb::Agent, head_revision: i64, now: i64) -> Vec<String> {
    let applied = if is_behind(agent, head_revision) {
        format!("{} (behind)", agent.applied_revision)
    } else {
        agent.applied_revision.to_string()
    };
    let rejected = match agent.rejected_revision {
        0 => "-".to_owned(),
        revision if agent.rejected_error.is_empty() => revision.to_string(),
        revision => format!("{revision}: {}", agent.rejected_error),
    };
    let last_seen =
        agent.last_seen_time.as_ref().map_or_else(|| "-".to_owned(), |at| ago(at.seconds, now));
    let labels = if agent.labels.is_empty() {
        "-".to_owned()
    } else {
        agent
            .labels
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    vec![
        agent.agent_id.clone(),
        if agent.connected { "yes" } else { "no" }.to_owned(),
        applied,
        agent.sent_revision.to_string(),
        rejected,
        last_seen,
        if agent.replica.is_empty() { "-".to_owned() } else { agent.replica.clone() },
        labels,
    ]
}

/// `head revision 17: 3 agents, 1 behind, 1 disconnected` (or `all on the head`).
fn summary(listing: &FleetListing) -> String {
    let head = listing.head_revision;
    let total = listing.agents.len();
    let behind = listing.agents.iter().filter(|agent| is_behind(agent, head)).count();
    let disconnected = listing.agents.iter().filter(|agent| !agent.connected).count();
    let agents = if total == 1 { "1 agent".to_owned() } else { format!("{total} agents") };
    let mut parts = vec![agents];
    if behind == 0 {
        parts.push("all on the head".to_owned());
    } else {
        parts.push(format!("{behind} behind"));
    }
    if disconnected > 0 {
        parts.push(format!("{disconnected} disconnected"));
    }
    format!("head revision {head}: {}", parts.join(", "))
}

/// An agent is behind when it has not applied the head revision (including one that never
/// applied anything).
fn is_behind(agent: &pb::Agent, head_revision: i64) -> bool {
    agent.applied_revision < head_revision
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, applied: i64, connected: bool) -> pb::Agent {
        pb::Agent {
            agent_id: id.to_owned(),
            connected,
            applied_revision: applied,
            sent_revision: applied,
            last_seen_time: Some(prost_types::Timestamp { seconds: 1000, nanos: 0 }),
            replica: "cp-0".to_owned(),
            labels: BTreeMap::from([("zone".to_owned(), "a".to_owned())]),
            ..Default::default()
        }
    }

    #[test]
    fn agents_behind_the_head_are_marked_and_counted() {
        let mut stale = agent("pod-b", 15, false);
        stale.rejected_revision = 16;
        stale.rejected_error = "spec.variants[0].weight: bad".to_owned();
        let listing =
            FleetListing { agents: vec![agent("pod-a", 17, true), stale], head_revision: 17 };
        let current = agent_row(&listing.agents[0], 17, 1003);
        assert_eq!(current, ["pod-a", "yes", "17", "17", "-", "3s ago", "cp-0", "zone=a"]);
        let behind = agent_row(&listing.agents[1], 17, 1300);
        assert_eq!(behind[2], "15 (behind)");
        assert_eq!(behind[4], "16: spec.variants[0].weight: bad");
        assert_eq!(behind[5], "5m ago");
        assert_eq!(summary(&listing), "head revision 17: 2 agents, 1 behind, 1 disconnected");

        let view = FleetView::from(&listing);
        assert!(!view.agents[0].behind_head);
        assert!(view.agents[1].behind_head);
    }

    #[test]
    fn a_fleet_on_the_head_says_so() {
        let listing = FleetListing { agents: vec![agent("pod-a", 17, true)], head_revision: 17 };
        assert_eq!(summary(&listing), "head revision 17: 1 agent, all on the head");
    }
}
