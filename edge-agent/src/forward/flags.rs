//! The event pipeline's flags, flattened into the agent's [`crate::Config`] so the
//! configuration stays one struct parsed once.

use std::{path::Path, time::Duration};

use clap::Args;

use super::ForwardSettings;
use crate::{backoff::Backoff, config::parse_duration, error::Error, link::ControlPlaneLink};

/// Largest batch the control plane accepts in one `IngestEvents` call.
pub const MAX_BATCH_SIZE: usize = 10_000;

/// How events are queued, batched and spooled.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct EventFlags {
    /// Events held in memory before they overflow to the disk spool.
    #[arg(long, env = "VARY_EVENT_QUEUE_CAPACITY", default_value_t = 20_000)]
    pub event_queue_capacity: usize,
    /// Most events per `IngestEvents` call (1..=10000).
    #[arg(long, env = "VARY_EVENT_BATCH_SIZE", default_value_t = 500)]
    pub event_batch_size: usize,
    /// Longest a batch waits for more events after its first one.
    #[arg(long, env = "VARY_EVENT_BATCH_AGE", default_value = "200ms", value_parser = parse_duration)]
    pub event_batch_age: Duration,
    /// Size bound of the event spool (`<state dir>/spool`), in MiB; past it the newest
    /// events are dropped and counted.
    #[arg(long, env = "VARY_SPOOL_MAX_MIB", default_value_t = 1024)]
    pub spool_max_mib: u64,
}

// === impl EventFlags ===

impl Default for EventFlags {
    fn default() -> Self {
        Self {
            event_queue_capacity: 20_000,
            event_batch_size: 500,
            event_batch_age: Duration::from_millis(200),
            spool_max_mib: 1024,
        }
    }
}

impl EventFlags {
    /// Checks the ranges clap cannot express.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid =
            |field: &'static str, message: String| Err(Error::InvalidConfig { field, message });
        if self.event_queue_capacity == 0 {
            return invalid("event_queue_capacity", "must be > 0".to_owned());
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.event_batch_size) {
            return invalid(
                "event_batch_size",
                format!("must be 1..={MAX_BATCH_SIZE}, got {}", self.event_batch_size),
            );
        }
        if self.event_batch_age.is_zero() {
            return invalid("event_batch_age", "must be > 0".to_owned());
        }
        if self.spool_max_mib == 0 {
            return invalid("spool_max_mib", "must be > 0".to_owned());
        }
        Ok(())
    }

    /// The pipeline's settings for an agent `source` following `control_plane_addr`,
    /// spooling under `state_dir`, retrying with `backoff`.
    pub fn settings(
        &self,
        link: &ControlPlaneLink,
        source: &str,
        state_dir: &Path,
        backoff: Backoff,
    ) -> ForwardSettings {
        ForwardSettings {
            queue_capacity: self.event_queue_capacity,
            batch_size: self.event_batch_size,
            batch_age: self.event_batch_age,
            spool_max_bytes: self.spool_max_mib.saturating_mul(1024 * 1024),
            backoff,
            link: link.clone(),
            ..ForwardSettings::new(link.address(), source, state_dir.join("spool"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_match_the_flag_defaults_and_validate() {
        #[derive(Debug, clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            events: EventFlags,
        }
        let parsed = <Wrapper as clap::Parser>::try_parse_from(["agent"]).expect("defaults");
        assert_eq!(parsed.events, EventFlags::default());
        assert!(EventFlags::default().validate().is_ok());
    }

    #[test]
    fn out_of_range_batches_are_refused() {
        for event_batch_size in [0, MAX_BATCH_SIZE + 1] {
            let flags = EventFlags { event_batch_size, ..EventFlags::default() };
            assert!(flags.validate().is_err(), "{event_batch_size}");
        }
    }

    #[test]
    fn the_spool_lives_in_the_state_dir() {
        let backoff = Backoff { min: Duration::from_millis(1), max: Duration::from_secs(1) };
        let settings = EventFlags::default().settings(
            &ControlPlaneLink::insecure("http://cp:7070"),
            "pod-1",
            Path::new("/var/vary"),
            backoff,
        );
        assert_eq!(settings.spool_dir, Path::new("/var/vary/spool"));
        assert_eq!(settings.spool_max_bytes, 1 << 30);
        assert_eq!(settings.source, "pod-1");
    }
}
