//! Samples the agent with the request mix before a run: what its answers look like (size,
//! experiments assigned, revision), so the echo baseline can be sized like them and the
//! report can say what each call carried.

use bytes::Bytes;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use vary_proto::pb;

use crate::codec::{ASSIGN_PATH, RawClient};

/// What a sample of Assign answers looked like.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Calls sampled.
    pub calls: usize,
    /// Mean encoded request size, bytes.
    pub mean_request_bytes: f64,
    /// Mean encoded response size, bytes.
    pub mean_response_bytes: f64,
    /// Mean experiments assigned per call.
    pub mean_assignments: f64,
    /// Share of calls that assigned at least one experiment.
    pub assigned_share: f64,
    /// The highest config revision served.
    pub revision: i64,
}

/// Sends up to `calls` requests of `requests` one by one and decodes the answers.
pub async fn probe(addr: &str, requests: &[Bytes], calls: usize) -> anyhow::Result<Probe> {
    let channel = crate::load::connect(addr, 1).await?.remove(0);
    let mut client = RawClient::new(channel, ASSIGN_PATH);
    let sample = &requests[..calls.min(requests.len()).max(1)];
    let (mut response_bytes, mut assignments, mut assigned, mut revision) = (0, 0, 0, 0);
    for request in sample {
        let response = client.call(request.clone()).await?;
        response_bytes += response.len();
        let decoded = pb::AssignResponse::decode(response)?;
        assignments += decoded.assignments.len();
        assigned += usize::from(!decoded.assignments.is_empty());
        revision = revision.max(decoded.revision);
    }
    let count = sample.len() as f64;
    Ok(Probe {
        calls: sample.len(),
        mean_request_bytes: sample.iter().map(Bytes::len).sum::<usize>() as f64 / count,
        mean_response_bytes: response_bytes as f64 / count,
        mean_assignments: assignments as f64 / count,
        assigned_share: assigned as f64 / count,
        revision,
    })
}

/// The echo request sized like the probed Assign calls, in both directions.
pub fn echo_request_like(probe: &Probe) -> Bytes {
    crate::mix::echo_request(
        probe.mean_request_bytes.round() as usize,
        probe.mean_response_bytes.round() as u32,
    )
}
