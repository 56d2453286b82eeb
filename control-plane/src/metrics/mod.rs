//! The control plane's Prometheus metrics, in a registry owned by one running control
//! plane (not a process-wide recorder), so several control planes in one process, as in
//! the integration tests, each export only their own numbers.
//!
//! Recorded as they happen: RPCs ([`rpc`], a tower layer in front of every service),
//! ingested events and their lag, guardrail evaluations. Read at scrape time: connected
//! agents, agents behind the head revision and NACKs ([`fleet`]). `vary_ops::endpoint`
//! serves them with `/healthz` and `/readyz` on the metrics address. `docs/operations.md` lists
//! every series.

pub mod fleet;
pub mod rpc;

use std::sync::Arc;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::distribution::Head;
use crate::fleet::Fleet;

/// Upper bounds of the RPC latency buckets, in seconds: 1 ms to 10 s.
const RPC_BUCKETS: [f64; 13] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Upper bounds of the ingest lag buckets, in seconds: 100 ms (live traffic) to a day
/// (a spool replayed after a long outage).
const LAG_BUCKETS: [f64; 14] =
    [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0];

/// One control plane's metrics; cheap to clone, every clone records into the same
/// registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    rpc: rpc::RpcMetrics,
    ingest: IngestMetrics,
    guardrails: GuardrailMetrics,
}

/// What ingest records: events by result, and how old each valid event was on arrival.
#[derive(Debug, Clone)]
pub struct IngestMetrics {
    events: Family<ResultLabel, Counter>,
    lag: Histogram,
}

/// What the guardrail watch records: one evaluation per experiment per pass.
#[derive(Debug, Clone)]
pub struct GuardrailMetrics {
    evaluations: Family<OutcomeLabel, Counter>,
}

/// How a guardrail evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardrailOutcome {
    /// No guardrail breached.
    Ok,
    /// At least one guardrail breached (paused or alerted).
    Breached,
    /// The pass failed (database, computation).
    Error,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

// === impl Metrics ===

impl Metrics {
    /// A registry with every series, reading the fleet view of `fleet` against `head` at
    /// each scrape.
    pub fn new(fleet: Fleet, head: watch::Receiver<Head>) -> Self {
        let mut registry = Registry::default();
        let rpc = rpc::RpcMetrics::new(&RPC_BUCKETS);
        rpc.register(&mut registry);
        let ingest = IngestMetrics { events: Family::default(), lag: Histogram::new(LAG_BUCKETS) };
        registry.register(
            "vary_ingest_events",
            "Events received by IngestEvents, by result: accepted (stored), duplicate \
             (stored before), rejected (failed validation)",
            ingest.events.clone(),
        );
        registry.register(
            "vary_ingest_lag_seconds",
            "Age of each valid ingested event on arrival: receive time minus event time",
            ingest.lag.clone(),
        );
        let guardrails = GuardrailMetrics { evaluations: Family::default() };
        // Every outcome exported from the start, at zero: `increase()` over a series that
        // appears with its first error would miss that error.
        for outcome in ["ok", "breached", "error"] {
            let _ = guardrails.evaluations.get_or_create(&OutcomeLabel { outcome });
        }
        for result in ["accepted", "duplicate", "rejected"] {
            let _ = ingest.events.get_or_create(&ResultLabel { result });
        }
        registry.register(
            "vary_guardrail_evaluations",
            "Guardrail evaluations of running experiments, by outcome: ok, breached, error \
             (a failed pass)",
            guardrails.evaluations.clone(),
        );
        registry.register_collector(Box::new(fleet::FleetCollector::new(fleet, head)));
        Self { inner: Arc::new(Inner { registry, rpc, ingest, guardrails }) }
    }

    /// The RPC recorder, for [`rpc::RpcMetricsLayer`].
    pub fn rpc(&self) -> rpc::RpcMetrics {
        self.inner.rpc.clone()
    }

    /// The ingest recorder.
    pub fn ingest(&self) -> IngestMetrics {
        self.inner.ingest.clone()
    }

    /// The guardrail recorder.
    pub fn guardrails(&self) -> GuardrailMetrics {
        self.inner.guardrails.clone()
    }

    /// Every series in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug in a
        // collector, and a partial page is still more useful than none.
        if let Err(error) =
            prometheus_client::encoding::text::encode(&mut text, &self.inner.registry)
        {
            tracing::error!(%error, "encoding metrics failed");
        }
        text
    }
}

// === impl IngestMetrics ===

impl IngestMetrics {
    /// Counts one batch's outcome.
    pub fn record_batch(&self, accepted: u64, duplicates: u64, rejected: u64) {
        for (result, count) in
            [("accepted", accepted), ("duplicate", duplicates), ("rejected", rejected)]
        {
            self.events.get_or_create(&ResultLabel { result }).inc_by(count);
        }
    }

    /// Records how old an event that happened `at` is `now`; clock skew into the future
    /// counts as zero.
    pub fn record_lag(&self, at: OffsetDateTime, now: OffsetDateTime) {
        let lag = (now - at).as_seconds_f64().max(0.0);
        self.lag.observe(lag);
    }
}

// === impl GuardrailMetrics ===

impl GuardrailMetrics {
    /// Counts one evaluation.
    pub fn record(&self, outcome: GuardrailOutcome) {
        let outcome = match outcome {
            GuardrailOutcome::Ok => "ok",
            GuardrailOutcome::Breached => "breached",
            GuardrailOutcome::Error => "error",
        };
        self.evaluations.get_or_create(&OutcomeLabel { outcome }).inc();
    }
}
