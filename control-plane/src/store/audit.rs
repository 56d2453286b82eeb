//! Audit events that are not experiment versions (e.g. guardrail alerts).

use tokio_postgres::types::Json;

use super::Store;
use crate::error::Error;

impl Store {
    /// Appends one audit event about `target_key` of `target_type`.
    pub async fn record_audit_event(
        &self,
        actor: &str,
        action: &str,
        target_type: &str,
        target_key: &str,
        details: &serde_json::Value,
    ) -> Result<(), Error> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO audit_events (actor, action, target_type, target_key, after) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[&actor, &action, &target_type, &target_key, &Json(details)],
            )
            .await?;
        Ok(())
    }
}
