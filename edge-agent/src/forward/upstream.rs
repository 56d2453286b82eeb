//! One `IngestEvents` call and what its answer means for the counters.

use std::{sync::Arc, time::Duration};

use vary_proto::pb::{self, event_ingest_service_client::EventIngestServiceClient};

use crate::link::{ControlPlaneChannel, ControlPlaneLink};

use super::{
    classify::{FailureClass, classify},
    counters::Counters,
};

/// Most rejections logged one by one per batch; the rest are summed up in one line.
const LOGGED_REJECTIONS: usize = 10;

/// The control plane's ingest service, over a lazily connected channel that redials by
/// itself after the control plane comes back.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: EventIngestServiceClient<ControlPlaneChannel>,
    /// The agent id, sent as the request's `source`.
    source: String,
    counters: Arc<Counters>,
}

/// A failed call.
#[derive(Debug)]
pub struct SendFailure {
    /// Retry or drop.
    pub class: FailureClass,
    /// The status, for the log.
    pub status: tonic::Status,
}

// === impl Upstream ===

impl Upstream {
    /// A client of the control plane behind `link`; calls fail after `timeout`.
    pub fn connect_lazy(
        link: &ControlPlaneLink,
        source: String,
        timeout: Duration,
        counters: Arc<Counters>,
    ) -> Result<Self, tonic::transport::Error> {
        let channel = link.endpoint(timeout)?.timeout(timeout).connect_lazy();
        Ok(Self::over(link.authorize(channel), source, counters))
    }

    fn over(channel: ControlPlaneChannel, source: String, counters: Arc<Counters>) -> Self {
        let client = EventIngestServiceClient::new(channel)
            .max_encoding_message_size(usize::MAX)
            .max_decoding_message_size(16 * 1024 * 1024);
        Self { client, source, counters }
    }

    /// Sends `events` (cloned, so a caller whose future is dropped mid-call still holds
    /// them) and counts the answer: stored, duplicates, and per-event rejections, which
    /// are permanent and only logged.
    pub async fn send(&mut self, events: &[pb::Event]) -> Result<(), SendFailure> {
        let request =
            pb::IngestEventsRequest { events: events.to_vec(), source: self.source.clone() };
        // `request_id` is filled in by the link's interceptor as the call starts.
        let span = tracing::info_span!(
            "ingest_events",
            events = events.len(),
            request_id = tracing::field::Empty
        );
        let call = tracing::Instrument::instrument(self.client.ingest_events(request), span);
        let response = match call.await {
            Ok(response) => response.into_inner(),
            Err(status) => return Err(SendFailure { class: classify(&status), status }),
        };
        Counters::add(&self.counters.forwarded, non_negative(response.accepted));
        Counters::add(&self.counters.duplicates, non_negative(response.duplicates));
        Counters::add(&self.counters.rejected, response.rejections.len());
        log_rejections(&response.rejections);
        Ok(())
    }
}

fn log_rejections(rejections: &[pb::EventRejection]) {
    for rejection in rejections.iter().take(LOGGED_REJECTIONS) {
        tracing::warn!(
            event_id = %rejection.event_id,
            index = rejection.index,
            reason = ?pb::EventRejectionReason::try_from(rejection.reason)
                .unwrap_or(pb::EventRejectionReason::Unspecified),
            message = %rejection.message,
            "event refused by the control plane: dropped"
        );
    }
    if rejections.len() > LOGGED_REJECTIONS {
        tracing::warn!(
            more = rejections.len() - LOGGED_REJECTIONS,
            "more events of the batch refused by the control plane"
        );
    }
}

fn non_negative(count: i32) -> usize {
    usize::try_from(count).unwrap_or(0)
}
