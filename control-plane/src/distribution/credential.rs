//! The token a Watch stream was opened with, re-checked while the stream lives. The auth
//! layer checks a token once per call, and a Watch call lasts up to the max stream age
//! (10 minutes by default): without this, a revoked or expired agent token would keep
//! receiving configuration until then. Expiry is known when the call is admitted and ends
//! the stream on time; revocation is read from PostgreSQL once per heartbeat interval (one
//! primary-key lookup per stream), so it takes effect within one interval.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

use crate::{
    auth::{Principal, Refusal, TokenStore},
    error::Error,
};

/// One stream's token and where to look it up.
#[derive(Debug, Clone)]
pub(super) struct StreamCredential {
    token_id: String,
    tokens: TokenStore,
    /// When the token expires, on this process's monotonic clock.
    expires: Option<Instant>,
}

impl StreamCredential {
    /// The credential of a call the auth layer admitted with `principal`'s token.
    pub(super) fn new(principal: &Principal, tokens: TokenStore) -> Self {
        let expires = principal.expires_at.map(|at| {
            let left = at - OffsetDateTime::now_utc();
            Instant::now() + Duration::try_from(left).unwrap_or(Duration::ZERO)
        });
        Self { token_id: principal.token_id.clone(), tokens, expires }
    }

    /// Why the token no longer admits the stream, if it does not. A failed lookup keeps
    /// the stream (the database being down is not a revocation) and is logged; the next
    /// check tries again.
    pub(super) async fn refusal(&self) -> Option<Refusal> {
        match self.tokens.get(&self.token_id).await {
            Ok(record) => record.refusal_at(OffsetDateTime::now_utc()),
            // Tokens are never deleted (a trigger refuses it), so this is a token that
            // was never ours.
            Err(Error::NotFound { .. }) => Some(Refusal::Invalid),
            Err(error) => {
                tracing::warn!(error = ?error, token_id = %self.token_id, "could not re-check a Watch stream's token; keeping the stream");
                None
            }
        }
    }

    /// When the token expires, if it does.
    pub(super) fn expires(&self) -> Option<Instant> {
        self.expires
    }
}
