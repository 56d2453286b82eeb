//! Learns of new revisions and publishes them to this replica's Watch streams.
//!
//! Three ways in, because each can miss what the others catch: `LISTEN vary_config` on a
//! dedicated connection (immediate; payload = the revision), a full re-read after every
//! (re)connect (notifications sent while disconnected are lost), and a poll of the head
//! revision as a backstop.

use std::{str::FromStr, sync::Arc, time::Duration};

use anyhow::Context as _;
use futures::StreamExt as _;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

use super::published::{Head, PublishedSnapshot};
use crate::config::DatabaseUrl;
use crate::store::{CONFIG_CHANNEL, Store};

/// How the publisher finds out about commits.
#[derive(Debug, Clone)]
pub struct PublisherSettings {
    /// Database to LISTEN on (a dedicated connection, outside the pool).
    pub database_url: DatabaseUrl,
    /// How often to compare the head revision with the published one anyway.
    pub poll_interval: Duration,
}

/// Runs until `cancel`: keeps `head` at the newest committed revision. Never publishes
/// an older revision than the current one.
pub async fn run_publisher(
    store: Store,
    settings: PublisherSettings,
    head: watch::Sender<Head>,
    cancel: CancellationToken,
) {
    let mut reconnect_delay = Duration::from_millis(100);
    while !cancel.is_cancelled() {
        match listen_and_publish(&store, &settings, &head, &cancel).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(error = ?error, retry_in = ?reconnect_delay, "config listener lost; reconnecting");
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(reconnect_delay) => {}
        }
        reconnect_delay = (reconnect_delay * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life: LISTEN, re-read, then publish on every notification or poll
/// tick until the connection fails (error) or shutdown (Ok).
async fn listen_and_publish(
    store: &Store,
    settings: &PublisherSettings,
    head: &watch::Sender<Head>,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let pg_config = tokio_postgres::Config::from_str(settings.database_url.expose())
        .context("parse the database url")?;
    let (client, mut connection) =
        pg_config.connect(NoTls).await.context("connect the config listener")?;
    let (notified_tx, mut notified) = mpsc::unbounded_channel::<i64>();
    let pump = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    let revision = notification.payload().parse().unwrap_or(i64::MAX);
                    if notified_tx.send(revision).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "config listener connection failed");
                    break;
                }
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CONFIG_CHANNEL}")).await.context("LISTEN")?;
    // Anything committed while we were not listening is picked up here.
    publish_head(store, head).await?;
    let mut poll = tokio::time::interval(settings.poll_interval);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let outcome = loop {
        tokio::select! {
            () = cancel.cancelled() => break Ok(()),
            notification = notified.recv() => {
                let Some(mut revision) = notification else {
                    break Err(anyhow::anyhow!("config listener connection closed"));
                };
                // Latest wins: several commits in a burst cost one read.
                while let Ok(newer) = notified.try_recv() {
                    revision = revision.max(newer);
                }
                if revision > published_revision(head) {
                    publish_head(store, head).await?;
                }
            }
            _ = poll.tick() => {
                if store.current_revision().await? > published_revision(head) {
                    tracing::info!("poll found a revision the listener missed");
                    publish_head(store, head).await?;
                }
            }
        }
    };
    pump.abort();
    outcome
}

fn published_revision(head: &watch::Sender<Head>) -> i64 {
    head.borrow().as_ref().map_or(-1, |published| published.revision)
}

/// Reads and encodes the head revision, and publishes it if it is newer.
async fn publish_head(store: &Store, head: &watch::Sender<Head>) -> anyhow::Result<()> {
    let config = store.load_config().await.context("load the config snapshot")?;
    let published = Arc::new(PublishedSnapshot::encode(&config));
    let (revision, experiments, bytes) =
        (published.revision, published.experiment_count, published.encoded.len());
    let replaced = head.send_if_modified(|current| {
        let newer = current.as_ref().is_none_or(|current| current.revision < revision);
        if newer {
            *current = Some(published);
        }
        newer
    });
    if replaced {
        tracing::info!(revision, experiments, bytes, "config revision published");
    }
    Ok(())
}
