//! `vary.v1.FleetService`: which revision runs where, across every replica.

use std::time::Duration;

use tokio::sync::watch;
use tonic::{Request, Response, Status};
use vary_proto::{
    model::timestamp_from_time,
    pb::{self, fleet_service_server::FleetService},
};

use crate::distribution::Head;
use crate::error::Error;
use crate::fleet::{AgentRow, list_agents};
use crate::store::{PageQuery, PageToken, page_size};

/// Lists the fleet from PostgreSQL, where every replica writes its agents.
#[derive(Debug, Clone)]
pub struct FleetApi {
    pool: deadpool_postgres::Pool,
    head: watch::Receiver<Head>,
    stale_after: Duration,
}

impl FleetApi {
    /// Agents not heard from within `stale_after` are shown as disconnected.
    pub fn new(
        pool: deadpool_postgres::Pool,
        head: watch::Receiver<Head>,
        stale_after: Duration,
    ) -> Self {
        Self { pool, head, stale_after }
    }
}

fn agent_to_pb(row: AgentRow) -> pb::Agent {
    pb::Agent {
        agent_id: row.agent_id,
        labels: row.labels,
        agent_version: row.agent_version,
        connected: row.connected,
        sent_revision: row.sent_revision,
        applied_revision: row.applied_revision,
        rejected_revision: row.rejected_revision,
        rejected_error: row.rejected_error,
        last_seen_time: Some(timestamp_from_time(row.last_seen)),
        replica: row.replica,
    }
}

#[tonic::async_trait]
impl FleetService for FleetApi {
    async fn list_agents(
        &self,
        request: Request<pb::ListAgentsRequest>,
    ) -> Result<Response<pb::ListAgentsResponse>, Status> {
        let message = request.into_inner();
        let limit = page_size(message.page_size).map_err(Error::from)?;
        let query = PageQuery::of("agents", &message, |request| {
            request.page_size = 0;
            request.page_token.clear();
        });
        let after = PageToken::decode_as(&message.page_token, &query, PageToken::into_after_key)
            .map_err(Error::from)?;
        let mut rows =
            list_agents(&self.pool, after.as_deref(), limit + 1, self.stale_after).await?;
        let next_page_token = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last()
                .map(|row| PageToken::AfterKey(row.agent_id.clone()).encode(&query))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let head_revision = self.head.borrow().as_ref().map_or(0, |head| head.revision);
        Ok(Response::new(pb::ListAgentsResponse {
            agents: rows.into_iter().map(agent_to_pb).collect(),
            next_page_token,
            head_revision,
        }))
    }
}
