//! The audit log: events that are not experiment versions (e.g. guardrail alerts), and
//! reading the log back.

use time::OffsetDateTime;
use tokio_postgres::{GenericClient, types::Json};

use super::{PageToken, Store};
use crate::error::Error;

/// One audit event to append. [`NewAuditEvent::insert`] is the only code that writes the
/// `audit_events` table: experiment changes, token changes and guardrail alerts all go
/// through it, inside the transaction of the change they record when there is one.
#[derive(Debug, Clone)]
pub struct NewAuditEvent<'a> {
    /// Who: the principal, or `system:…`.
    pub actor: &'a str,
    /// What: `experiment.start`, `token.revoke`, `experiment.guardrail_alert`…
    pub action: &'a str,
    /// To what kind of thing: `experiment`, `token`.
    pub target_type: &'a str,
    /// Which one.
    pub target_key: &'a str,
    /// Its state before, when the event changed it.
    pub before: Option<serde_json::Value>,
    /// Its state after, or the event's details.
    pub after: serde_json::Value,
    /// The config revision the change committed at, for experiment changes.
    pub revision: Option<i64>,
}

impl NewAuditEvent<'_> {
    /// Appends the event through `client` (a transaction, to commit with its change).
    pub async fn insert(&self, client: &impl GenericClient) -> Result<(), Error> {
        client
            .execute(
                "INSERT INTO audit_events \
                 (actor, action, target_type, target_key, before, after, revision) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &self.actor,
                    &self.action,
                    &self.target_type,
                    &self.target_key,
                    &self.before.as_ref().map(Json),
                    &Json(&self.after),
                    &self.revision,
                ],
            )
            .await?;
        Ok(())
    }
}

impl Store {
    /// Appends one audit event that records no change of its own (a guardrail alert).
    pub async fn record_audit_event(&self, event: &NewAuditEvent<'_>) -> Result<(), Error> {
        let client = self.pool.get().await?;
        event.insert(&**client).await
    }
}

/// Which audit events to list; every `Some` must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this target type.
    pub target_type: Option<String>,
    /// Only this target key.
    pub target_key: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// At or after this time.
    pub from: Option<OffsetDateTime>,
    /// Before this time.
    pub until: Option<OffsetDateTime>,
}

/// One audit event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Position in the log.
    pub id: i64,
    /// Commit time.
    pub occurred_at: OffsetDateTime,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what kind of thing.
    pub target_type: String,
    /// To which one.
    pub target_key: String,
    /// The target before, where recorded.
    pub before: Option<serde_json::Value>,
    /// The target after, where recorded.
    pub after: Option<serde_json::Value>,
    /// The config revision of the change, if it changed config.
    pub revision: Option<i64>,
}

impl Store {
    /// A page of audit events matching `filter`, newest first, starting below id
    /// `before`; and the token for the next page.
    pub async fn list_audit_events(
        &self,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<AuditRecord>, Option<PageToken>), Error> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, occurred_at, actor, action, target_type, target_key, before, after, revision \
                 FROM audit_events \
                 WHERE ($1::text IS NULL OR actor = $1) \
                   AND ($2::text IS NULL OR target_type = $2) \
                   AND ($3::text IS NULL OR target_key = $3) \
                   AND ($4::text IS NULL OR action = $4) \
                   AND ($5::timestamptz IS NULL OR occurred_at >= $5) \
                   AND ($6::timestamptz IS NULL OR occurred_at < $6) \
                   AND ($7::bigint IS NULL OR id < $7) \
                 ORDER BY id DESC LIMIT $8",
                &[
                    &filter.actor,
                    &filter.target_type,
                    &filter.target_key,
                    &filter.action,
                    &filter.from,
                    &filter.until,
                    &before,
                    &(limit + 1),
                ],
            )
            .await?;
        let mut records = rows
            .iter()
            .map(|row| {
                Ok(AuditRecord {
                    id: row.try_get("id")?,
                    occurred_at: row.try_get("occurred_at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target_type: row.try_get("target_type")?,
                    target_key: row.try_get("target_key")?,
                    before: row
                        .try_get::<_, Option<Json<serde_json::Value>>>("before")?
                        .map(|j| j.0),
                    after: row.try_get::<_, Option<Json<serde_json::Value>>>("after")?.map(|j| j.0),
                    revision: row.try_get("revision")?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let next = if records.len() as i64 > limit {
            records.truncate(limit as usize);
            records.last().map(|last| PageToken::BeforeId(last.id))
        } else {
            None
        };
        Ok((records, next))
    }
}
