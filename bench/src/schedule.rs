//! The open loop's timetable: send `i` is due at `start + offset + i / rate`, whatever
//! happened to the sends before it. Latency is measured from that due time, so a server
//! (or client) stall shows in the latency of every send it delayed.

use std::time::Duration;

/// When each send of one dispatcher is due, relative to the start of the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Sends per second of this dispatcher.
    rate_per_second: f64,
    /// When send 0 is due: dispatchers are staggered so their sends interleave.
    offset: Duration,
}

// === impl Schedule ===

impl Schedule {
    /// Dispatcher `index` of `dispatchers` sharing `total_rate` sends per second evenly,
    /// staggered by a fraction of the interval.
    pub fn for_dispatcher(total_rate: f64, dispatchers: usize, index: usize) -> Self {
        let dispatchers = dispatchers.max(1);
        let rate_per_second = total_rate / dispatchers as f64;
        let offset = Duration::from_secs_f64(index as f64 / total_rate);
        Self { rate_per_second, offset }
    }

    /// When send `send` is due, after the start of the run.
    pub fn due(&self, send: u64) -> Duration {
        self.offset + Duration::from_secs_f64(send as f64 / self.rate_per_second)
    }

    /// How many sends are due within the first `window` of the run.
    pub fn sends_within(&self, window: Duration) -> u64 {
        if window <= self.offset {
            return 0;
        }
        let after_offset = (window - self.offset).as_secs_f64();
        // Send k is within the window when offset + k / rate < window.
        (after_offset * self.rate_per_second).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_are_evenly_spaced_from_the_offset() {
        let schedule = Schedule::for_dispatcher(1_000.0, 1, 0);
        assert_eq!(schedule.due(0), Duration::ZERO);
        assert_eq!(schedule.due(1), Duration::from_millis(1));
        assert_eq!(schedule.due(1_000), Duration::from_secs(1));
    }

    #[test]
    fn dispatchers_share_the_rate_and_interleave() {
        let total_rate = 1_000.0;
        let schedules: Vec<Schedule> =
            (0..4).map(|index| Schedule::for_dispatcher(total_rate, 4, index)).collect();
        let mut due: Vec<Duration> =
            schedules.iter().flat_map(|schedule| (0..250).map(|send| schedule.due(send))).collect();
        due.sort();
        // Together: one send every millisecond, none twice.
        for (send, at) in due.iter().enumerate() {
            let expected = Duration::from_millis(send as u64);
            let error = at.abs_diff(expected);
            assert!(error < Duration::from_micros(1), "send {send} at {at:?}");
        }
    }

    #[test]
    fn the_count_within_a_window_matches_the_due_times() {
        for (rate, dispatchers, index) in [(1_000.0, 1, 0), (12_345.0, 3, 2), (7.0, 2, 1)] {
            let schedule = Schedule::for_dispatcher(rate, dispatchers, index);
            for window_ms in [0, 1, 999, 1_000, 1_001, 10_000] {
                let window = Duration::from_millis(window_ms);
                let count = schedule.sends_within(window);
                assert!(count == 0 || schedule.due(count - 1) < window);
                assert!(schedule.due(count) >= window, "{rate} {window:?} {count}");
            }
        }
        let whole = Schedule::for_dispatcher(5_000.0, 1, 0).sends_within(Duration::from_secs(10));
        assert_eq!(whole, 50_000);
    }
}
