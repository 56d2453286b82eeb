//! Exposure and outcome events, from the request path to the control plane, with
//! nothing lost while the control plane is away (DESIGN.md section 6).
//!
//! ```text
//! Assign / LogExposure / Track ──try_send──▶ queue ──▶ forwarder ──IngestEvents──▶ control plane
//!            │ (queue full)                               │ ▲ (retryable failure: spool,
//!            └──try_send──▶ overflow ──▶ overflow writer ──┴─┴─▶ spool/*.seg ── replay oldest first)
//! ```
//!
//! Code map: [`event`] (building events), [`sink`] (the non-blocking request-path handle
//! and the overflow writer), [`batch`] (size/age batching), [`upstream`] (one call and its
//! counters), [`classify`] (retry or drop), [`forwarder`] (the task), [`record`] and
//! [`spool`] (the disk format and the segment directory), [`shared`] (the spool on the
//! blocking pool), [`counters`], [`flags`] (the agent flags that size it).

pub mod batch;
pub mod classify;
pub mod counters;
pub mod event;
pub mod flags;
pub mod forwarder;
pub mod record;
pub mod shared;
pub mod sink;
pub mod spool;
pub mod upstream;

use std::{path::PathBuf, sync::Arc, time::Duration};

use tokio::{sync::oneshot, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

pub use counters::{Counters, CountersSnapshot};
pub use sink::{EventSink, Sent};

use crate::{backoff::Backoff, link::ControlPlaneLink};
use batch::{BatchLimits, Batcher};
use forwarder::{Forwarder, ForwarderParts};
use shared::SharedSpool;
use spool::{Spool, SpoolSettings};
use upstream::Upstream;

/// Everything forwarding needs; [`ForwardSettings::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct ForwardSettings {
    /// The control plane: address, TLS and token.
    pub link: ControlPlaneLink,
    /// The agent id, sent as each batch's source.
    pub source: String,
    /// The spool directory (`<state dir>/spool`).
    pub spool_dir: PathBuf,
    /// Events the in-memory queue holds (a few hundred bytes each).
    pub queue_capacity: usize,
    /// Events the overflow channel to the spool holds.
    pub overflow_capacity: usize,
    /// Most events per `IngestEvents` call.
    pub batch_size: usize,
    /// Longest a batch waits for more events.
    pub batch_age: Duration,
    /// Spool segment rotation size.
    pub segment_bytes: u64,
    /// Spool size bound; past it the newest events are dropped.
    pub spool_max_bytes: u64,
    /// Delay between failed attempts.
    pub backoff: Backoff,
    /// Bound on one `IngestEvents` call (and on connecting).
    pub request_timeout: Duration,
}

/// Why forwarding could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The spool directory could not be created or listed.
    #[error("open the event spool {dir}")]
    Spool {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The control-plane address is not a valid endpoint.
    #[error("event upstream {address}")]
    Endpoint {
        /// The address.
        address: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
}

/// The running forwarding tasks; stop them with [`Forwarding::flush_or_spool`].
#[derive(Debug)]
pub struct Forwarding {
    /// The counters (shared with every [`EventSink`]).
    pub counters: Arc<Counters>,
    stop_forwarder: oneshot::Sender<Instant>,
    forwarder: JoinHandle<()>,
    stop_overflow: CancellationToken,
    overflow_writer: JoinHandle<()>,
}

// === impl ForwardSettings ===

impl ForwardSettings {
    /// Defaults: a 20,000-event queue (about 10 MB when full), batches of 500 or 200 ms, 8 MiB segments, a
    /// 1 GiB spool.
    pub fn new(
        control_plane_addr: impl Into<String>,
        source: impl Into<String>,
        spool_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            link: ControlPlaneLink::insecure(control_plane_addr),
            source: source.into(),
            spool_dir: spool_dir.into(),
            queue_capacity: 20_000,
            overflow_capacity: 10_000,
            batch_size: 500,
            batch_age: Duration::from_millis(200),
            segment_bytes: 8 * 1024 * 1024,
            spool_max_bytes: 1024 * 1024 * 1024,
            backoff: Backoff { min: Duration::from_millis(200), max: Duration::from_secs(30) },
            request_timeout: Duration::from_secs(10),
        }
    }
}

// === impl Forwarding ===

impl Forwarding {
    /// Opens the spool (replaying what an earlier run left there) and starts the
    /// forwarder and the overflow writer. Call inside a tokio runtime.
    pub fn start(settings: ForwardSettings) -> Result<(EventSink, Self), StartError> {
        let counters = Arc::new(Counters::default());
        let spool_settings = SpoolSettings {
            dir: settings.spool_dir.clone(),
            segment_bytes: settings.segment_bytes,
            max_bytes: settings.spool_max_bytes,
        };
        let spool = Spool::open(spool_settings, counters.clone())
            .map_err(|source| StartError::Spool { dir: settings.spool_dir.clone(), source })?;
        let spool = SharedSpool::new(spool, counters.clone());
        let upstream = Upstream::connect_lazy(
            &settings.link,
            settings.source.clone(),
            settings.request_timeout,
            counters.clone(),
        )
        .map_err(|source| StartError::Endpoint {
            address: settings.link.address().to_owned(),
            source,
        })?;
        let (queue_tx, queue_rx) = tokio::sync::mpsc::channel(settings.queue_capacity.max(1));
        let (overflow_tx, overflow_rx) =
            tokio::sync::mpsc::channel(settings.overflow_capacity.max(1));
        let limits = BatchLimits { max_events: settings.batch_size, max_age: settings.batch_age };
        let forwarder = Forwarder::new(ForwarderParts {
            queue: queue_rx,
            batcher: Batcher::new(limits),
            batch_size: settings.batch_size,
            spool: spool.clone(),
            upstream,
            backoff: settings.backoff,
            counters: counters.clone(),
        });
        let (stop_forwarder, stop_rx) = oneshot::channel();
        let span = tracing::info_span!("events", source = %settings.source);
        let forwarder =
            tokio::spawn(tracing::Instrument::instrument(forwarder.run(stop_rx), span.clone()));
        let stop_overflow = CancellationToken::new();
        let overflow_writer = tokio::spawn(tracing::Instrument::instrument(
            sink::run_overflow_writer(
                overflow_rx,
                spool,
                settings.batch_size,
                stop_overflow.clone(),
            ),
            span,
        ));
        let sink = EventSink::new(queue_tx, overflow_tx, counters.clone());
        Ok((sink, Self { counters, stop_forwarder, forwarder, stop_overflow, overflow_writer }))
    }

    /// Stops forwarding: sends what is queued until `deadline`, then spools (fsynced)
    /// whatever was not acknowledged, and returns once both tasks have ended. Call after
    /// the gRPC server stopped, so no event arrives after the queue is drained (one that
    /// does is dropped and counted).
    pub async fn flush_or_spool(self, deadline: Instant) -> CountersSnapshot {
        let _ = self.stop_forwarder.send(deadline);
        rethrow(self.forwarder.await);
        self.stop_overflow.cancel();
        rethrow(self.overflow_writer.await);
        self.counters.snapshot()
    }
}

fn rethrow(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined
        && error.is_panic()
    {
        std::panic::resume_unwind(error.into_panic());
    }
}
