//! The optional token on the agent's own API. The API listens on localhost for the app
//! next to it, so by default it needs none; with `--api-token`, every call but health must
//! carry `authorization: Bearer <token>` (compared in constant time).

use subtle::ConstantTimeEq as _;
use tonic::{Request, Status, service::Interceptor};

use crate::config::Secret;

/// Checks calls against the configured token; lets everything through when there is none.
#[derive(Clone, Default)]
pub struct RequireApiToken(Option<Secret>);

impl RequireApiToken {
    /// Requires `token` when it is `Some`.
    pub fn new(token: Option<Secret>) -> Self {
        Self(token)
    }

    /// Whether calls must carry a token.
    pub fn is_required(&self) -> bool {
        self.0.is_some()
    }
}

impl Interceptor for RequireApiToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.0 else { return Ok(request) };
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            // Read as the control plane reads it.
            .and_then(vary_ops::bearer_token);
        match presented {
            None => Err(Status::unauthenticated(
                "this agent requires an API token: send `authorization: Bearer <token>`",
            )),
            Some(token) if bool::from(token.as_bytes().ct_eq(expected.expose().as_bytes())) => {
                Ok(request)
            }
            Some(_) => Err(Status::unauthenticated("invalid API token")),
        }
    }
}

impl std::fmt::Debug for RequireApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RequireApiToken").field(&self.0.is_some()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(check: &mut RequireApiToken, header: Option<&str>) -> Result<(), tonic::Code> {
        let mut request = Request::new(());
        if let Some(header) = header {
            request.metadata_mut().insert("authorization", header.parse().unwrap());
        }
        check.call(request).map(drop).map_err(|status| status.code())
    }

    #[test]
    fn without_a_token_everything_passes() {
        assert_eq!(call(&mut RequireApiToken::default(), None), Ok(()));
    }

    #[test]
    fn with_a_token_only_that_token_passes() {
        let mut check = RequireApiToken::new(Some(Secret::from("s3cret".to_owned())));
        assert_eq!(call(&mut check, Some("Bearer s3cret")), Ok(()));
        assert_eq!(call(&mut check, Some("bearer s3cret")), Ok(()));
        assert_eq!(call(&mut check, None), Err(tonic::Code::Unauthenticated));
        assert_eq!(call(&mut check, Some("Bearer s3cre")), Err(tonic::Code::Unauthenticated));
        assert_eq!(call(&mut check, Some("Basic s3cret")), Err(tonic::Code::Unauthenticated));
    }
}
