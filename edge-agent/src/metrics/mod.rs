//! The agent's Prometheus metrics. Nothing here is a registry-side counter bumped on the
//! request path: the request path bumps plain atomics (the [`assign`] tables, the
//! forwarding [`Counters`](crate::forward::Counters), the [`stream`] status) and the [`AgentMetrics`] collector
//! reads them all when Prometheus scrapes. One collector per running agent, so several
//! agents in one process (the integration tests) each export their own numbers.
//! `vary_ops::endpoint` serves them with `/healthz` and `/readyz`; `docs/operations.md` lists every
//! series.

pub mod assign;
pub mod stream;

use std::sync::Arc;

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::Registry,
};
use time::OffsetDateTime;

use crate::{forward::EventSink, snapshot::SnapshotStore};
use assign::AssignLatency;
use stream::StreamStatus;

/// What the agent exports, gathered from the parts that keep it.
#[derive(Debug, Clone)]
pub struct AgentMetrics {
    registry: Arc<Registry>,
}

/// The collector behind [`AgentMetrics`].
#[derive(Debug)]
struct AgentCollector {
    store: Arc<SnapshotStore>,
    stream: Arc<StreamStatus>,
    latency: Arc<AssignLatency>,
    events: EventSink,
}

impl AgentMetrics {
    /// Metrics over the served snapshot, the Watch stream, `Assign`'s latency and the
    /// event forwarding of one agent.
    pub fn new(
        store: Arc<SnapshotStore>,
        stream: Arc<StreamStatus>,
        latency: Arc<AssignLatency>,
        events: EventSink,
    ) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(AgentCollector { store, stream, latency, events }));
        Self { registry: Arc::new(registry) }
    }

    /// Every series in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "encoding metrics failed");
        }
        text
    }
}

impl Collector for AgentCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let now = OffsetDateTime::now_utc();
        if let Some(revision) = self.store.revision() {
            gauge(
                &mut encoder,
                "vary_agent_config_revision",
                "The config revision served",
                revision,
            )?;
        }
        if let Some(age) = self.store.staleness(now) {
            gauge(
                &mut encoder,
                "vary_agent_config_age_seconds",
                "Time since the control plane last confirmed the served revision is the head",
                age.as_secs_f64(),
            )?;
        }
        gauge(
            &mut encoder,
            "vary_agent_stream_connected",
            "1 while a Watch stream to the control plane is open, else 0",
            i64::from(self.stream.connected()),
        )?;
        counter(
            &mut encoder,
            "vary_agent_reconnects",
            "Watch stream redials after a stream ended or failed",
            self.stream.reconnects(),
        )?;
        gauge(
            &mut encoder,
            "vary_agent_queue_depth",
            "Events waiting in memory to be sent (queue and overflow to the spool)",
            self.events.queue_depth() as i64,
        )?;
        let counts = self.events.counters().snapshot();
        gauge(
            &mut encoder,
            "vary_agent_spool_bytes",
            "Bytes of events spooled on disk, waiting for the control plane",
            counts.spool_bytes as i64,
        )?;
        counter(
            &mut encoder,
            "vary_agent_events_forwarded",
            "Events the control plane acknowledged as stored (new, or stored before)",
            counts.forwarded + counts.duplicates,
        )?;
        let dropped = [
            ("queue_full", counts.dropped_queue_full),
            ("spool_full", counts.dropped_spool_full),
            ("spool_error", counts.dropped_spool_error),
            ("refused_batch", counts.dropped_permanent),
            ("rejected", counts.rejected),
        ];
        let mut family = encoder.encode_descriptor(
            "vary_agent_events_dropped",
            "Events lost, by reason; rejected: refused one by one by the control plane",
            None,
            MetricType::Counter,
        )?;
        for (reason, count) in dropped {
            let labels = [("reason", reason)];
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        let latency = self.latency.snapshot();
        encoder
            .encode_descriptor(
                "vary_agent_assign_duration_seconds",
                "Assign handler latency inside the agent (validation, evaluation, exposures)",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(
                latency.sum_seconds,
                latency.count,
                &latency.buckets,
                None,
            )?;
        let mut family = encoder.encode_descriptor(
            "vary_agent_assignments",
            "Assignments served, by experiment and variant",
            None,
            MetricType::Counter,
        )?;
        for (experiment, variant, count) in self.store.assignment_counts() {
            let labels = [("experiment", experiment.as_str()), ("variant", variant.as_str())];
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

fn gauge<V>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: V,
) -> Result<(), std::fmt::Error>
where
    ConstGauge<V>: EncodeMetric,
{
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}
