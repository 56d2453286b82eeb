//! The Watch stream's state as the sync loop sees it, for the metrics endpoint.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Whether a Watch stream is open now, and how often the agent redialled.
#[derive(Debug, Default)]
pub struct StreamStatus {
    connected: AtomicBool,
    reconnects: AtomicU64,
}

impl StreamStatus {
    /// A stream opened (true) or ended (false).
    pub fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Ordering::Relaxed);
    }

    /// The loop is about to dial again after a stream ended or failed.
    pub fn reconnecting(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a stream is open.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Redials since start.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }
}
