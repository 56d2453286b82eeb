//! Which failed `IngestEvents` calls are worth retrying.
//!
//! Retryable: the control plane or the path to it is away or overloaded, or the call
//! broke in a way a later attempt can fix. Those batches go to the spool and are replayed
//! with backoff. Permanent: the control plane understood the call and refuses it; sending
//! the same bytes again gets the same answer, so the batch is dropped, counted and logged.
//!
//! UNIMPLEMENTED is retryable on purpose: it is what a control plane older than the
//! ingest service answers during a rolling upgrade, and the events are fine. So are
//! UNAUTHENTICATED and PERMISSION_DENIED: a missing, expired or revoked agent token is an
//! operator's to fix (a new token in the Secret), and the events stay in the spool until
//! then instead of being lost.

use tonic::{Code, Status};

/// What to do about a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Spool the batch and try again later.
    Retryable,
    /// Drop the batch (counted and logged).
    Permanent,
}

/// Classifies a failed call's status. Transport errors (refused or reset connections,
/// timeouts) reach us as UNAVAILABLE, CANCELLED or UNKNOWN and are retryable.
pub fn classify(status: &Status) -> FailureClass {
    match status.code() {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::Internal
        | Code::Unknown
        | Code::Cancelled
        | Code::Unimplemented
        | Code::Unauthenticated
        | Code::PermissionDenied
        | Code::Ok => FailureClass::Retryable,
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::DataLoss => FailureClass::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_and_overload_are_retried() {
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Aborted,
            Code::Internal,
            Code::Unknown,
            Code::Cancelled,
            Code::Unimplemented,
            Code::Unauthenticated,
            Code::PermissionDenied,
        ] {
            assert_eq!(classify(&Status::new(code, "x")), FailureClass::Retryable, "{code:?}");
        }
    }

    #[test]
    fn refusals_are_permanent() {
        for code in
            [Code::InvalidArgument, Code::NotFound, Code::FailedPrecondition, Code::OutOfRange]
        {
            assert_eq!(classify(&Status::new(code, "x")), FailureClass::Permanent, "{code:?}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_retryable() {
        // Bind then drop: nothing listens on the port any more.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect_lazy();
        let mut client =
            vary_proto::pb::event_ingest_service_client::EventIngestServiceClient::new(channel);
        let status = client
            .ingest_events(vary_proto::pb::IngestEventsRequest::default())
            .await
            .expect_err("nothing listens");
        assert_eq!(classify(&status), FailureClass::Retryable, "{status:?}");
    }
}
