//! The token a Watch stream was opened with, re-checked while the stream lives. The auth
//! layer checks a token once per call, and a Watch call lasts up to the max stream age
//! (10 minutes by default): without this, a revoked or expired agent token would keep
//! receiving configuration until then. Expiry is known up front and ends the stream on
//! time; revocation is read from PostgreSQL once per heartbeat interval (one primary-key
//! lookup per stream), so it takes effect within one interval.

use time::OffsetDateTime;

use crate::{
    auth::{Principal, Refusal, TokenStore},
    error::Error,
};

/// One stream's token and where to look it up.
#[derive(Debug, Clone)]
pub(super) struct StreamCredential {
    token_id: String,
    tokens: TokenStore,
    /// When the token expires, once read.
    expires_at: Option<OffsetDateTime>,
}

impl StreamCredential {
    /// The credential of a call made with `principal`'s token.
    pub(super) fn new(principal: &Principal, tokens: TokenStore) -> Self {
        Self { token_id: principal.token_id.clone(), tokens, expires_at: None }
    }

    /// Why the token no longer admits the stream at `now`, if it does not. A failed
    /// lookup keeps the stream (the database being down is not a revocation) and is
    /// logged; the next check tries again.
    pub(super) async fn refusal(&mut self, now: OffsetDateTime) -> Option<Refusal> {
        match self.tokens.get(&self.token_id).await {
            Ok(record) => {
                self.expires_at = record.expires_at;
                record.refusal_at(now)
            }
            // Tokens are never deleted (a trigger refuses it), so this is a token that
            // was never ours.
            Err(Error::NotFound { .. }) => Some(Refusal::Invalid),
            Err(error) => {
                tracing::warn!(error = ?error, token_id = %self.token_id, "could not re-check a Watch stream's token; keeping the stream");
                None
            }
        }
    }

    /// When the token expires, as of the last check.
    pub(super) fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }
}
