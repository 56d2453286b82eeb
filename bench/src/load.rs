//! Runs load against one server: a closed loop (N calls in flight, each sent as soon as the
//! previous answer arrives: the maximum throughput) or an open loop (calls sent on a fixed
//! timetable whatever the answers do: latency at a given rate, from the intended send time).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use bytes::Bytes;
use futures::{StreamExt as _, stream::FuturesUnordered};
use hdrhistogram::Histogram;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

use crate::{
    codec::{ASSIGN_PATH, ECHO_PATH, RawClient},
    procfs,
    report::{LoadReport, Percentiles},
    schedule::Schedule,
};

/// Highest latency the histograms hold: anything slower is recorded as this.
const MAX_RECORDED_NANOS: u64 = 60_000_000_000;
/// Calls sooner than this are waited for by yielding rather than by a timer: tokio's
/// timers have a millisecond's granularity, which would show as latency.
const SPIN_WITHIN: Duration = Duration::from_millis(2);

/// Which server the load goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The edge agent's `vary.v1.AssignmentService/Assign`.
    Assign,
    /// The baseline's `vary.bench.v1.EchoService/Echo`.
    Echo,
}

/// How to load the server.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// Which method.
    pub target: Target,
    /// `http://host:port`.
    pub addr: String,
    /// HTTP/2 connections; calls are spread over them.
    pub connections: usize,
    /// Closed loop: calls in flight. Open loop: the most calls in flight (the sends
    /// beyond it wait, and their wait counts as latency).
    pub concurrency: usize,
    /// Open loop at this many calls per second; `None` is a closed loop.
    pub rate: Option<f64>,
    /// The measured window.
    pub duration: Duration,
    /// Load before the window, not measured (connections warm, caches filled).
    pub warmup: Duration,
    /// A progress line on stderr every second.
    pub progress: bool,
    /// The server's pid, to report its CPU use.
    pub server_pid: Option<u32>,
}

/// Counters the progress line reads.
#[derive(Debug, Default)]
struct Live {
    completed: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicU64,
}

/// What one worker measured inside the window.
#[derive(Debug)]
struct Tally {
    latency: Histogram<u64>,
    send_lag: Histogram<u64>,
    completed: u64,
    errors: u64,
    response_bytes: u64,
    first_error: Option<String>,
}

/// The run's clock: when the warm-up starts, the window starts and the run ends.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    start: Instant,
    measure_from: Instant,
    end: Instant,
}

// === impl Target ===

impl Target {
    /// The method's path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Assign => ASSIGN_PATH,
            Self::Echo => ECHO_PATH,
        }
    }

    /// `assign` or `echo`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Echo => "echo",
        }
    }
}

// === impl Tally ===

impl Tally {
    fn new() -> Self {
        let histogram = || {
            Histogram::new_with_bounds(1, MAX_RECORDED_NANOS, 3).expect("static bounds are valid")
        };
        Self {
            latency: histogram(),
            send_lag: histogram(),
            completed: 0,
            errors: 0,
            response_bytes: 0,
            first_error: None,
        }
    }

    fn record(&mut self, result: &Result<Bytes, tonic::Status>, latency: Duration) {
        match result {
            Ok(response) => {
                self.latency.saturating_record(nanos(latency));
                self.completed += 1;
                self.response_bytes += response.len() as u64;
            }
            Err(status) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{:?}: {}", status.code(), status.message()));
                }
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        // Both histograms share bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.send_lag.add(&other.send_lag);
        self.completed += other.completed;
        self.errors += other.errors;
        self.response_bytes += other.response_bytes;
        self.first_error = self.first_error.take().or(other.first_error);
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// Opens `count` HTTP/2 connections to `addr`.
pub async fn connect(addr: &str, count: usize) -> anyhow::Result<Vec<Channel>> {
    let endpoint = Endpoint::from_shared(addr.to_owned())
        .with_context(|| format!("not a valid address: {addr}"))?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5));
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        channels.push(endpoint.connect().await.with_context(|| format!("connect to {addr}"))?);
    }
    Ok(channels)
}

/// Runs the load and reports what the window measured. `requests` are encoded messages
/// for the target's method, cycled through.
pub async fn run(settings: &LoadSettings, requests: Arc<Vec<Bytes>>) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(!requests.is_empty(), "no requests to send");
    let channels = connect(&settings.addr, settings.connections).await?;
    let live = Arc::new(Live::default());
    // A short pause so every worker starts on the same schedule.
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + settings.warmup;
    let timeline = Timeline { start, measure_from, end: measure_from + settings.duration };

    let mut workers = tokio::task::JoinSet::new();
    match settings.rate {
        None => {
            for worker in 0..settings.concurrency.max(1) {
                let client = RawClient::new(
                    channels[worker % channels.len()].clone(),
                    settings.target.path(),
                );
                let offset = worker * requests.len() / settings.concurrency.max(1);
                workers.spawn(closed_loop(
                    client,
                    requests.clone(),
                    offset,
                    timeline,
                    live.clone(),
                ));
            }
        }
        Some(rate) => {
            anyhow::ensure!(rate > 0.0, "the rate must be > 0");
            let dispatchers = channels.len();
            let per_dispatcher_in_flight = settings.concurrency.div_ceil(dispatchers).max(1);
            for (index, channel) in channels.iter().enumerate() {
                let client = RawClient::new(channel.clone(), settings.target.path());
                let schedule = Schedule::for_dispatcher(rate, dispatchers, index);
                let offset = index * requests.len() / dispatchers;
                workers.spawn(open_loop(
                    client,
                    requests.clone(),
                    offset,
                    schedule,
                    per_dispatcher_in_flight,
                    timeline,
                    live.clone(),
                ));
            }
        }
    }
    let progress = settings.progress.then(|| tokio::spawn(print_progress(live.clone(), timeline)));
    let cpu = tokio::spawn(cpu_during(settings.server_pid, timeline));

    let mut total = Tally::new();
    while let Some(tally) = workers.join_next().await {
        total.merge(tally.context("a load worker panicked")?);
    }
    if let Some(progress) = progress {
        progress.abort();
        eprintln!();
    }
    let (server_cpu_percent, client_cpu_percent) = cpu.await.unwrap_or((None, None));
    let seconds = settings.duration.as_secs_f64();
    let request_bytes =
        requests.iter().map(Bytes::len).sum::<usize>() as f64 / requests.len() as f64;
    Ok(LoadReport {
        target: settings.target.name().to_owned(),
        addr: settings.addr.clone(),
        mode: if settings.rate.is_some() { "open" } else { "closed" }.to_owned(),
        connections: channels.len(),
        concurrency: settings.concurrency,
        target_rate: settings.rate,
        seconds,
        completed: total.completed,
        errors: total.errors,
        first_error: total.first_error,
        throughput: total.completed as f64 / seconds,
        latency: Percentiles::from_nanos(&total.latency),
        send_lag: settings.rate.map(|_| Percentiles::from_nanos(&total.send_lag)),
        request_bytes,
        response_bytes: total.response_bytes as f64 / total.completed.max(1) as f64,
        server_cpu_percent,
        client_cpu_percent,
    })
}

/// Sends, waits for the answer, sends the next: latency from the actual send.
async fn closed_loop(
    mut client: RawClient,
    requests: Arc<Vec<Bytes>>,
    mut next: usize,
    timeline: Timeline,
    live: Arc<Live>,
) -> Tally {
    let mut tally = Tally::new();
    tokio::time::sleep_until(timeline.start).await;
    loop {
        let sent = Instant::now();
        if sent >= timeline.end {
            return tally;
        }
        let request = requests[next % requests.len()].clone();
        next += 1;
        live.in_flight.fetch_add(1, Ordering::Relaxed);
        let result = client.call(request).await;
        live.in_flight.fetch_sub(1, Ordering::Relaxed);
        let latency = sent.elapsed();
        count_live(&live, &result);
        if sent >= timeline.measure_from {
            tally.record(&result, latency);
        }
    }
}

/// Sends on the schedule, whether or not earlier calls have been answered; latency from
/// each call's due time.
async fn open_loop(
    client: RawClient,
    requests: Arc<Vec<Bytes>>,
    mut next: usize,
    schedule: Schedule,
    max_in_flight: usize,
    timeline: Timeline,
    live: Arc<Live>,
) -> Tally {
    let mut tally = Tally::new();
    let total_sends = schedule.sends_within(timeline.end - timeline.start);
    let mut send = 0u64;
    let mut in_flight = FuturesUnordered::new();
    loop {
        let now = Instant::now();
        while send < total_sends && in_flight.len() < max_in_flight {
            let due = timeline.start + schedule.due(send);
            if due > now {
                break;
            }
            if due >= timeline.measure_from {
                tally.send_lag.saturating_record(nanos(now - due));
            }
            let request = requests[next % requests.len()].clone();
            next += 1;
            send += 1;
            let mut client = client.clone();
            live.in_flight.fetch_add(1, Ordering::Relaxed);
            in_flight.push(async move {
                let result = client.call(request).await;
                (due, result, Instant::now())
            });
        }
        if send >= total_sends && in_flight.is_empty() {
            return tally;
        }
        let next_due = (send < total_sends).then(|| timeline.start + schedule.due(send));
        let can_send = next_due.is_some() && in_flight.len() < max_in_flight;
        tokio::select! {
            biased;
            Some((due, result, done)) = in_flight.next(), if !in_flight.is_empty() => {
                live.in_flight.fetch_sub(1, Ordering::Relaxed);
                count_live(&live, &result);
                if due >= timeline.measure_from {
                    tally.record(&result, done - due);
                }
            }
            () = wait_until(next_due.unwrap_or(now)), if can_send => {}
        }
    }
}

/// Waits for `due`: by timer when it is far, by yielding to other tasks (and the I/O
/// driver) when it is near, so sends leave within microseconds of their due time.
async fn wait_until(due: Instant) {
    let now = Instant::now();
    if due > now + SPIN_WITHIN {
        tokio::time::sleep_until(due - SPIN_WITHIN / 2).await;
    } else {
        tokio::task::yield_now().await;
    }
}

fn count_live(live: &Live, result: &Result<Bytes, tonic::Status>) {
    let counter = if result.is_ok() { &live.completed } else { &live.errors };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// One line a second on stderr: elapsed, calls per second over the last second, totals.
async fn print_progress(live: Arc<Live>, timeline: Timeline) {
    let mut ticks =
        tokio::time::interval_at(timeline.start + Duration::from_secs(1), Duration::from_secs(1));
    let mut last_completed = 0;
    let total = timeline.end - timeline.start;
    loop {
        let now = ticks.tick().await;
        let completed = live.completed.load(Ordering::Relaxed);
        let phase = if now < timeline.measure_from { "warm-up" } else { "measuring" };
        eprint!(
            "\r[{:>4.0}s/{:.0}s {phase}] {:>8} calls/s  ok {:>10}  errors {:>6}  in flight {:>5}   ",
            (now - timeline.start).as_secs_f64(),
            total.as_secs_f64(),
            completed - last_completed,
            completed,
            live.errors.load(Ordering::Relaxed),
            live.in_flight.load(Ordering::Relaxed),
        );
        last_completed = completed;
    }
}

/// CPU used during the window by the server (when its pid is known) and by this process,
/// in percent of one core.
async fn cpu_during(server_pid: Option<u32>, timeline: Timeline) -> (Option<f64>, Option<f64>) {
    let own_pid = std::process::id();
    tokio::time::sleep_until(timeline.measure_from).await;
    let server_before = server_pid.and_then(|pid| procfs::cpu_time(pid).ok());
    let own_before = procfs::cpu_time(own_pid).ok();
    tokio::time::sleep_until(timeline.end).await;
    let window = (timeline.end - timeline.measure_from).as_secs_f64();
    let percent = |before: Option<Duration>, pid: Option<u32>| {
        let after = procfs::cpu_time(pid?).ok()?;
        Some(after.saturating_sub(before?).as_secs_f64() / window * 100.0)
    };
    (percent(server_before, server_pid), percent(own_before, Some(own_pid)))
}
