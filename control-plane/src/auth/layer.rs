//! The tower layer in front of every service: finds the method's entry in the access
//! policy, authenticates the bearer token, checks the role, and hands the principal to
//! the service in the request's extensions. Anything else gets UNAUTHENTICATED or
//! PERMISSION_DENIED before the service sees the request.
//!
//! gRPC-Web calls arrive here already translated to gRPC, so they meet the same policy.
//! The only requests that never reach this layer are `GET`/`HEAD` of the web console's
//! files, which are not calls (`crate::server::console::is_console_request`).

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use time::OffsetDateTime;
use tonic::Status;
use tower::{Layer, Service};

use super::{Access, Principal, TokenStore, required_access};

/// Adds [`Auth`] in front of a service.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    tokens: TokenStore,
}

impl AuthLayer {
    /// Authenticates against the tokens in `tokens`.
    pub fn new(tokens: TokenStore) -> Self {
        Self { tokens }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth { inner, tokens: self.tokens.clone() }
    }
}

/// The authenticating, authorising service wrapper.
#[derive(Debug, Clone)]
pub struct Auth<S> {
    inner: S,
    tokens: TokenStore,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Auth<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        // The ready service goes into the future; a fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tokens = self.tokens.clone();
        // Only owned parts cross the await: request bodies need not be `Sync`.
        let method = request.uri().path().to_owned();
        let authorization = request.headers().get(http::header::AUTHORIZATION).cloned();
        Box::pin(async move {
            match admit(&tokens, &method, authorization.as_ref()).await {
                Ok(principal) => {
                    if let Some(principal) = principal {
                        request.extensions_mut().insert(principal);
                    }
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

/// Decides whether `request` may reach its service, and as whom (`None` for public
/// methods).
async fn admit(
    tokens: &TokenStore,
    method: &str,
    authorization: Option<&http::HeaderValue>,
) -> Result<Option<Principal>, Status> {
    let Some(access) = required_access(method) else {
        tracing::warn!(method, "call to a method missing from the access policy denied");
        return Err(Status::permission_denied(format!(
            "{method} is not in the access policy, so nobody may call it"
        )));
    };
    if access == Access::Public {
        return Ok(None);
    }
    let presented = bearer_token(authorization)?;
    let principal = match tokens.authenticate(presented, OffsetDateTime::now_utc()).await {
        Ok(Ok(principal)) => principal,
        Ok(Err(refusal)) => {
            tracing::info!(method, %refusal, "call refused");
            return Err(refusal.into());
        }
        Err(error) => return Err(error.into()),
    };
    match access {
        Access::Role(required) if !principal.role.includes(required) => {
            tracing::info!(method, principal = %principal.name, role = %principal.role, "call denied");
            Err(Status::permission_denied(format!(
                "{} has role {}; {method} needs {required}",
                principal.name, principal.role
            )))
        }
        _ => Ok(Some(principal)),
    }
}

/// The token in `authorization: Bearer <token>`.
fn bearer_token(authorization: Option<&http::HeaderValue>) -> Result<&str, Status> {
    let missing =
        || Status::unauthenticated("missing API token: send `authorization: Bearer <token>`");
    let value = authorization.ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    vary_ops::bearer_token(value).ok_or_else(missing)
}
