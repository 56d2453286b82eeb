//! The guardrail watch: on an interval, computes the results of every running experiment
//! with guardrail metrics, and acts on breaches: PAUSE guardrails pause the experiment
//! (a new version by `system:guardrail`, distributed like any change), ALERT guardrails
//! write an audit event. Each breach is logged with the time from its detection to the
//! pause being committed.

use std::{collections::HashSet, time::Duration};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use vary_proto::{
    model::{Action, MetricRole, Status},
    pb,
};

use super::results::compute_results;
use crate::error::Error;
use crate::lifecycle;
use crate::metrics::{GuardrailMetrics, GuardrailOutcome};
use crate::store::{Change, ExperimentFilter, NewAuditEvent, Store};

/// The actor recorded on guardrail pauses and alerts.
pub const GUARDRAIL_ACTOR: &str = "system:guardrail";

/// Arbitrary constant naming the guardrail pass lock ("gard").
const GUARDRAIL_LOCK_KEY: i64 = 0x6761_7264;

/// Runs passes every `interval` until `cancel`; counts each experiment evaluated (ok or
/// breached) and each failed pass (error) in `metrics`.
pub async fn run_guardrail_watch(
    store: Store,
    pool: deadpool_postgres::Pool,
    interval: Duration,
    metrics: GuardrailMetrics,
    cancel: CancellationToken,
) {
    let mut alerted = HashSet::new();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(error) = guardrail_pass(&store, &pool, &metrics, &mut alerted).await {
            metrics.record(GuardrailOutcome::Error);
            tracing::warn!(error = ?anyhow::Error::from(error), "guardrail pass failed");
        }
    }
}

/// One pass over the running experiments. Replicas take turns: a transaction-scoped
/// advisory lock lets one replica evaluate while the others skip this tick.
async fn guardrail_pass(
    store: &Store,
    pool: &deadpool_postgres::Pool,
    metrics: &GuardrailMetrics,
    alerted: &mut HashSet<(String, i32, String, String)>,
) -> Result<(), Error> {
    let mut client = pool.get().await?;
    let turn = client.transaction().await?;
    let ours: bool = turn
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&GUARDRAIL_LOCK_KEY])
        .await?
        .get(0);
    if !ours {
        return Ok(());
    }
    let filter = ExperimentFilter { status: Some(Status::Running), ..Default::default() };
    let mut after: Option<String> = None;
    loop {
        let (page, next) = store.list_experiments(&filter, after.as_deref(), 100).await?;
        for record in &page {
            let experiment = &record.experiment;
            if !experiment.spec.metrics.iter().any(|metric| metric.role == MetricRole::Guardrail) {
                continue;
            }
            let results = match compute_results(store, pool, &experiment.key, 0).await {
                Ok(results) => results,
                Err(Error::NotStarted { .. }) => continue,
                Err(error) => return Err(error),
            };
            let breached = results.guardrails.iter().any(|check| check.breached);
            metrics.record(if breached {
                GuardrailOutcome::Breached
            } else {
                GuardrailOutcome::Ok
            });
            act_on_breaches(store, &results, alerted).await?;
        }
        match next {
            Some(crate::store::PageToken::AfterKey(key)) => after = Some(key),
            _ => break,
        }
    }
    turn.commit().await?;
    Ok(())
}

async fn act_on_breaches(
    store: &Store,
    results: &pb::GetResultsResponse,
    alerted: &mut HashSet<(String, i32, String, String)>,
) -> Result<(), Error> {
    let key = results.experiment_key.as_str();
    for check in results.guardrails.iter().filter(|check| check.breached) {
        let detected = Instant::now();
        let pause = check.action == pb::GuardrailAction::Pause as i32;
        tracing::warn!(
            experiment = key,
            metric = %check.metric_key,
            variant = %check.variant_key,
            detail = %check.detail,
            pause,
            "guardrail breached"
        );
        if pause {
            let note = format!(
                "guardrail {} breached for variant {}: {}",
                check.metric_key, check.variant_key, check.detail
            );
            let change = Change {
                actor: GUARDRAIL_ACTOR,
                key,
                action: Action::Pause,
                change_note: &note,
                apply: |current: Option<&vary_proto::model::Experiment>| {
                    lifecycle::transition(current, key, Action::Pause)
                },
            };
            match store.commit(change).await {
                Ok(record) => {
                    let elapsed = detected.elapsed();
                    tracing::warn!(
                        experiment = key,
                        version = record.experiment.version,
                        revision = record.revision,
                        detection_to_pause_ms = elapsed.as_secs_f64() * 1e3,
                        "experiment paused by guardrail"
                    );
                }
                // Paused meanwhile (by a person, or another breach in this pass).
                Err(Error::IllegalTransition { .. }) => {}
                Err(error) => return Err(error),
            }
            return Ok(());
        }
        let seen =
            (key.to_owned(), results.phase, check.metric_key.clone(), check.variant_key.clone());
        if alerted.insert(seen) {
            store
                .record_audit_event(&NewAuditEvent {
                    actor: GUARDRAIL_ACTOR,
                    action: "experiment.guardrail_alert",
                    target_type: "experiment",
                    target_key: key,
                    before: None,
                    after: serde_json::json!({
                        "metric": check.metric_key,
                        "variant": check.variant_key,
                        "phase": results.phase,
                        "detail": check.detail,
                    }),
                    revision: None,
                })
                .await?;
        }
    }
    Ok(())
}
