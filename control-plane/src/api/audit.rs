//! `vary.v1.AuditService`: the audit log, newest first, filtered and paged.

use tonic::{Request, Response, Status};
use vary_proto::{
    model::{json_to_struct, time_from_timestamp, timestamp_from_time},
    pb::{self, audit_service_server::AuditService},
};

use crate::error::Error;
use crate::store::{AuditFilter, AuditRecord, PageQuery, PageToken, Store, page_size};

/// Reads the audit log through the store.
#[derive(Debug, Clone)]
pub struct AuditApi {
    store: Store,
}

impl AuditApi {
    /// A service over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let message = request.into_inner();
        let limit = page_size(message.page_size).map_err(Error::from)?;
        let time = |field: &str, at: Option<prost_types::Timestamp>| {
            at.map(|at| time_from_timestamp(&at).map_err(|error| error.under(field))).transpose()
        };
        let query = PageQuery::of("audit_events", &message, |request| {
            request.page_size = 0;
            request.page_token.clear();
        });
        let filter = AuditFilter {
            actor: non_empty(message.actor),
            target_type: non_empty(message.target_type),
            target_key: non_empty(message.target_key),
            action: non_empty(message.action),
            from: time("start_time", message.start_time).map_err(Error::from)?,
            until: time("end_time", message.end_time).map_err(Error::from)?,
        };
        let before = PageToken::decode_as(&message.page_token, &query, PageToken::into_before_id)
            .map_err(Error::from)?;
        let (records, next) = self.store.list_audit_events(&filter, before, limit).await?;
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: records.into_iter().map(audit_to_pb).collect(),
            next_page_token: next.map(|token| token.encode(&query)).unwrap_or_default(),
        }))
    }
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

fn audit_to_pb(record: AuditRecord) -> pb::AuditEvent {
    let object = |value: Option<serde_json::Value>| match value {
        Some(serde_json::Value::Object(map)) => Some(json_to_struct(&map)),
        _ => None,
    };
    pb::AuditEvent {
        id: record.id,
        occur_time: Some(timestamp_from_time(record.occurred_at)),
        actor: record.actor,
        action: record.action,
        target_type: record.target_type,
        target_key: record.target_key,
        before: object(record.before),
        after: object(record.after),
        revision: record.revision.unwrap_or_default(),
    }
}
