//! Every ExperimentService RPC over a real gRPC client against a real control plane and
//! PostgreSQL: one test binary (so one throwaway cluster), a module per area.

mod aggregates;
mod audit;
mod crud;
mod guardrails;
mod history;
mod ingest;
mod lifecycle;
mod pagination;
mod results;
mod revisions;
mod server;
mod validation;

use tonic::{Code, Status};

/// Asserts a call failed with `code` and a message containing every `fragment`.
#[track_caller]
fn assert_status<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, fragments: &[&str]) {
    let status = result.expect_err("the call should have failed");
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    for fragment in fragments {
        assert!(
            status.message().contains(fragment),
            "message {:?} lacks {fragment:?}",
            status.message()
        );
    }
}
