//! `vary.v1.AuthService`: issue, list and revoke API tokens (admin only, by the policy).

use std::time::Duration;

use tonic::{Request, Response, Status};
use vary_proto::{
    model::{ValidationError, timestamp_from_time},
    pb::{self, auth_service_server::AuthService},
};

use super::Actor;
use crate::auth::{Principal, Role, TokenRecord, TokenRequest, TokenStore, check_principal};
use crate::error::Error;
use crate::store::{PageQuery, PageToken, page_size};

/// Longest description accepted.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// Longest lifetime a token may be given: ten years.
const MAX_TTL: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Tokens, through the token store.
#[derive(Debug, Clone)]
pub struct AuthApi {
    tokens: TokenStore,
}

impl AuthApi {
    /// A service over `tokens`.
    pub fn new(tokens: TokenStore) -> Self {
        Self { tokens }
    }
}

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let actor = Actor::of(&request);
        let token_request = validate_create(request.into_inner()).map_err(Error::from)?;
        let (record, secret) = self.tokens.issue(&actor.0, &token_request).await?;
        Ok(Response::new(pb::CreateTokenResponse { token: Some(token_to_pb(&record)), secret }))
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        let message = request.into_inner();
        let limit = page_size(message.page_size).map_err(Error::from)?;
        let query = PageQuery::of("tokens", &message, |request| {
            request.page_size = 0;
            request.page_token.clear();
        });
        let before =
            PageToken::decode_as(&message.page_token, &query, PageToken::into_before_created)
                .map_err(Error::from)?;
        let (records, next) = self.tokens.list(message.include_inactive, before, limit).await?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: records.iter().map(token_to_pb).collect(),
            next_page_token: next.map(|token| token.encode(&query)).unwrap_or_default(),
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::RevokeTokenResponse>, Status> {
        let actor = Actor::of(&request);
        let id = request.into_inner().token_id;
        if id.is_empty() {
            return Err(Error::from(ValidationError::new("token_id", "is required")).into());
        }
        let record = self.tokens.revoke(&actor.0, &id).await?;
        Ok(Response::new(pb::RevokeTokenResponse { token: Some(token_to_pb(&record)) }))
    }

    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let principal = request
            .extensions()
            .get::<Principal>()
            .ok_or_else(|| Status::unauthenticated("no API token on this call"))?;
        let record = self.tokens.get(&principal.token_id).await?;
        Ok(Response::new(pb::WhoAmIResponse { token: Some(token_to_pb(&record)) }))
    }
}

/// Checks a CreateToken request, naming the field at fault.
fn validate_create(message: pb::CreateTokenRequest) -> Result<TokenRequest, ValidationError> {
    let principal = message.principal;
    check_principal(&principal)?;
    let role = Role::from_pb(message.role).ok_or_else(|| {
        ValidationError::new("role", "must be one of viewer, experimenter, admin, agent")
    })?;
    if message.description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ValidationError::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    let ttl = message
        .ttl
        .map(Duration::try_from)
        .transpose()
        .map_err(|_| ValidationError::new("ttl", "must be a positive duration"))?;
    match ttl {
        Some(ttl) if ttl.is_zero() => {
            Err(ValidationError::new("ttl", "must be positive; leave it unset for no expiry"))
        }
        Some(ttl) if ttl > MAX_TTL => Err(ValidationError::new(
            "ttl",
            "must be at most 10 years; leave it unset for no expiry",
        )),
        ttl => Ok(TokenRequest { principal, role, description: message.description, ttl }),
    }
}

fn token_to_pb(record: &TokenRecord) -> pb::Token {
    pb::Token {
        token_id: record.id.clone(),
        principal: record.principal.clone(),
        role: record.role.to_pb() as i32,
        description: record.description.clone(),
        create_time: Some(timestamp_from_time(record.created_at)),
        created_by: record.created_by.clone(),
        expire_time: record.expires_at.map(timestamp_from_time),
        revoke_time: record.revoked.as_ref().map(|(at, _)| timestamp_from_time(*at)),
        revoked_by: record.revoked.as_ref().map(|(_, by)| by.clone()).unwrap_or_default(),
    }
}
