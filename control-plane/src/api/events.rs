//! `vary.v1.EventIngestService`.

use time::OffsetDateTime;
use tonic::{Request, Response, Status};
use vary_proto::{
    model::ValidationError,
    pb::{self, event::Kind, event_ingest_service_server::EventIngestService},
};

use crate::error::Error;
use crate::ingest::{ValidEvent, store_events, validate_event};
use crate::metrics::IngestMetrics;

/// Most events one request may carry.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;

/// Validates and stores agents' event batches.
#[derive(Debug, Clone)]
pub struct EventIngestApi {
    pool: deadpool_postgres::Pool,
    /// Where results and lags are counted; `None` counts nothing.
    metrics: Option<IngestMetrics>,
}

impl EventIngestApi {
    /// A service writing to `pool`.
    pub fn new(pool: deadpool_postgres::Pool) -> Self {
        Self { pool, metrics: None }
    }

    /// Also counts each batch's results and each valid event's lag into `metrics`.
    pub fn with_metrics(self, metrics: IngestMetrics) -> Self {
        Self { metrics: Some(metrics), ..self }
    }
}

fn event_id_of(event: &pb::Event) -> String {
    match &event.kind {
        Some(Kind::Exposure(exposure)) => exposure.event_id.clone(),
        Some(Kind::Outcome(outcome)) => outcome.event_id.clone(),
        None => String::new(),
    }
}

#[tonic::async_trait]
impl EventIngestService for EventIngestApi {
    #[tracing::instrument(skip_all, fields(source = %request.get_ref().source, events = request.get_ref().events.len()))]
    async fn ingest_events(
        &self,
        request: Request<pb::IngestEventsRequest>,
    ) -> Result<Response<pb::IngestEventsResponse>, Status> {
        let message = request.into_inner();
        if message.events.len() > MAX_EVENTS_PER_REQUEST {
            let error = ValidationError::new(
                "events",
                format!(
                    "at most {MAX_EVENTS_PER_REQUEST} per request, got {}",
                    message.events.len()
                ),
            );
            return Err(Error::from(error).into());
        }
        let now = OffsetDateTime::now_utc();
        let mut exposures = Vec::new();
        let mut outcomes = Vec::new();
        let mut rejections = Vec::new();
        for (index, event) in message.events.into_iter().enumerate() {
            let event_id = event_id_of(&event);
            match validate_event(event, now) {
                Ok(ValidEvent::Exposure(exposure)) => exposures.push(exposure),
                Ok(ValidEvent::Outcome(outcome)) => outcomes.push(outcome),
                Err(refusal) => rejections.push(pb::EventRejection {
                    index: index as i32,
                    event_id,
                    reason: refusal.reason as i32,
                    message: format!("events[{index}].{}", refusal.message),
                }),
            }
        }
        let valid = (exposures.len() + outcomes.len()) as u64;
        let stored = store_events(&self.pool, &exposures, &outcomes).await?;
        let accepted = stored.exposures + stored.outcomes;
        if let Some(metrics) = &self.metrics {
            metrics.record_batch(accepted, valid - accepted, rejections.len() as u64);
            let times = exposures
                .iter()
                .map(|exposure| exposure.occurred_at)
                .chain(outcomes.iter().map(|outcome| outcome.occurred_at));
            for at in times {
                metrics.record_lag(at, now);
            }
        }
        if !rejections.is_empty() {
            tracing::warn!(rejected = rejections.len(), first = %rejections[0].message, "events rejected");
        }
        Ok(Response::new(pb::IngestEventsResponse {
            accepted: accepted as i32,
            duplicates: (valid - accepted) as i32,
            rejections,
        }))
    }
}
