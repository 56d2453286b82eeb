//! The bulk write path: one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING` per
//! table and batch, with every column sent as one binary array parameter.
//!
//! Why not `COPY` into a staging table: that costs a temporary table (catalog writes) per
//! request, and COPY cannot skip conflicts itself, so the rows cross the server twice.
//! A single `unnest` insert ships the batch once in binary, skips events already stored
//! (idempotency) in the same statement, and reports how many were new. Measured in
//! `docs/BENCHMARKS.md`.

use tokio_postgres::types::Json;

use super::validate::{Exposure, Outcome};
use crate::error::Error;

const INSERT_EXPOSURES: &str = "\
    INSERT INTO exposures (event_id, occurred_at, experiment_key, experiment_version, \
        variant_key, unit_type, unit_id, user_id, session_id, placement, forced, config_revision) \
    SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int8[], $5::text[], \
        $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bool[], $12::int8[]) \
    ON CONFLICT (event_id) DO NOTHING";

const INSERT_OUTCOMES: &str = "\
    INSERT INTO outcomes (event_id, occurred_at, event_type, user_id, session_id, placement, \
        item_id, value, properties) \
    SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], \
        $6::text[], $7::text[], $8::float8[], $9::jsonb[]) \
    ON CONFLICT (event_id) DO NOTHING";

/// How many events of a batch were new (the rest were already stored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// New exposures.
    pub exposures: u64,
    /// New outcomes.
    pub outcomes: u64,
}

/// Stores both kinds in one transaction: a batch is stored whole or not at all.
pub async fn store_events(
    pool: &deadpool_postgres::Pool,
    exposures: &[Exposure],
    outcomes: &[Outcome],
) -> Result<Stored, Error> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let mut stored = Stored::default();
    if !exposures.is_empty() {
        let statement = transaction.prepare_cached(INSERT_EXPOSURES).await?;
        let column = |field: fn(&Exposure) -> Option<&str>| -> Vec<Option<&str>> {
            exposures.iter().map(field).collect()
        };
        stored.exposures = transaction
            .execute(
                &statement,
                &[
                    &exposures.iter().map(|e| e.event_id).collect::<Vec<_>>(),
                    &exposures.iter().map(|e| e.occurred_at).collect::<Vec<_>>(),
                    &column(|e| Some(&e.experiment_key)),
                    &exposures.iter().map(|e| e.experiment_version).collect::<Vec<_>>(),
                    &column(|e| Some(&e.variant_key)),
                    &column(|e| Some(e.unit_type)),
                    &column(|e| Some(&e.unit_id)),
                    &column(|e| e.user_id.as_deref()),
                    &column(|e| e.session_id.as_deref()),
                    &column(|e| e.placement.as_deref()),
                    &exposures.iter().map(|e| e.forced).collect::<Vec<_>>(),
                    &exposures.iter().map(|e| e.config_revision).collect::<Vec<_>>(),
                ],
            )
            .await?;
    }
    if !outcomes.is_empty() {
        let statement = transaction.prepare_cached(INSERT_OUTCOMES).await?;
        let column = |field: fn(&Outcome) -> Option<&str>| -> Vec<Option<&str>> {
            outcomes.iter().map(field).collect()
        };
        stored.outcomes = transaction
            .execute(
                &statement,
                &[
                    &outcomes.iter().map(|o| o.event_id).collect::<Vec<_>>(),
                    &outcomes.iter().map(|o| o.occurred_at).collect::<Vec<_>>(),
                    &column(|o| Some(&o.event_type)),
                    &column(|o| o.user_id.as_deref()),
                    &column(|o| o.session_id.as_deref()),
                    &column(|o| o.placement.as_deref()),
                    &column(|o| o.item_id.as_deref()),
                    &outcomes.iter().map(|o| o.value).collect::<Vec<_>>(),
                    &outcomes.iter().map(|o| Json(&o.properties)).collect::<Vec<_>>(),
                ],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(stored)
}
