//! What the kernel says about a process: resident memory (`/proc/<pid>/status`) and CPU
//! time (`/proc/<pid>/stat`). The parsers are pure, for tests.

use std::time::Duration;

use anyhow::Context as _;

/// Resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident size so far.
    pub hwm_kib: u64,
}

/// Reads `/proc/<pid>/status`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    parse_memory(&status).with_context(|| format!("no VmRSS/VmHWM in /proc/{pid}/status"))
}

/// User plus system CPU time the process has used so far.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("read /proc/{pid}/stat"))?;
    let ticks = parse_cpu_ticks(&stat).with_context(|| format!("unexpected /proc/{pid}/stat"))?;
    Ok(Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second()))
}

fn clock_ticks_per_second() -> f64 {
    // Linux has reported USER_HZ = 100 to user space on every architecture for decades.
    100.0
}

/// `VmRSS` and `VmHWM` from the text of `/proc/<pid>/status`.
pub fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix(':')?;
            value.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some(Memory { rss_kib: field("VmRSS")?, hwm_kib: field("VmHWM")? })
}

/// `utime + stime` (fields 14 and 15) from `/proc/<pid>/stat`. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted after its last `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name come field 3 (state) onwards: utime is field 14, the 12th here.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_read_from_the_status_text() {
        let status = "Name:\tvary-edge-agent\nVmPeak:\t  100000 kB\nVmHWM:\t   21000 kB\nVmRSS:\t   18432 kB\nThreads:\t3\n";
        assert_eq!(parse_memory(status), Some(Memory { rss_kib: 18_432, hwm_kib: 21_000 }));
        assert_eq!(parse_memory("Name:\tx\n"), None);
    }

    #[test]
    fn cpu_ticks_skip_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(1_234 + 567));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let pid = std::process::id();
        assert!(memory(pid).expect("own status").rss_kib > 0);
        assert!(cpu_time(pid).is_ok());
    }
}
