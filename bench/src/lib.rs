//! `vary-bench`: drives the edge agent's `Assign` over real gRPC and compares it with a
//! bare tonic unary echo measured in the same run on the same machine (DESIGN §9:
//! p99 ≤ 1 ms at half the maximum throughput, throughput ≥ 80% of the echo).
//!
//! Latencies go into HdrHistograms. The open loop records each call from the moment it
//! was *meant* to be sent, so a stall delays the schedule's later sends and shows in
//! their latencies instead of hiding them (no coordinated omission).

pub mod baseline;
pub mod cli;
pub mod codec;
pub mod compare;
pub mod experiments;
pub mod load;
pub mod mix;
pub mod probe;
pub mod processes;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod schedule;
pub mod traffic;

/// The baseline's echo service (`bench/proto/vary/bench/v1/echo.proto`).
pub mod pb {
    tonic::include_proto!("vary.bench.v1");
}
