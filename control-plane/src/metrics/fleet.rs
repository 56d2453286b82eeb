//! The fleet series, read from this replica's agent registry at scrape time: nothing to
//! keep in step on the Watch path.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric as _},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
};
use tokio::sync::watch;

use crate::distribution::Head;
use crate::fleet::Fleet;

/// Exports `vary_agents_connected`, `vary_agents_behind_head` and `vary_config_nacks_total`
/// for the agents connected to this replica.
#[derive(Debug)]
pub struct FleetCollector {
    fleet: Fleet,
    head: watch::Receiver<Head>,
}

impl FleetCollector {
    /// Reads `fleet` against the head revision in `head`.
    pub fn new(fleet: Fleet, head: watch::Receiver<Head>) -> Self {
        Self { fleet, head }
    }
}

impl Collector for FleetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let head = self.head.borrow().as_ref().map(|published| published.revision);
        let counts = self.fleet.connection_counts(head);
        let connected = ConstGauge::new(counts.connected as i64);
        connected.encode(encoder.encode_descriptor(
            "vary_agents_connected",
            "Agents with an open Watch stream to this replica",
            None,
            connected.metric_type(),
        )?)?;
        let behind = ConstGauge::new(counts.behind_head as i64);
        behind.encode(encoder.encode_descriptor(
            "vary_agents_behind_head",
            "Connected agents whose applied revision is older than the head revision",
            None,
            behind.metric_type(),
        )?)?;
        let nacks = ConstCounter::new(self.fleet.nack_count());
        nacks.encode(encoder.encode_descriptor(
            "vary_config_nacks",
            "Config revisions rejected (NACKed) by agents on this replica",
            None,
            nacks.metric_type(),
        )?)?;
        Ok(())
    }
}
