//! API tokens in PostgreSQL: issue, look up, list and revoke. Issuing and revoking write
//! their audit event in the same transaction.

use std::time::Duration;

use deadpool_postgres::Pool;
use time::OffsetDateTime;
use tokio_postgres::{Row, Transaction};
use vary_proto::model::ValidationError;

use super::{Principal, Role, token};
use crate::error::Error;
use crate::store::{NewAuditEvent, PageToken};

/// The actor recorded for the first admin token, made from the command line.
pub const BOOTSTRAP_ACTOR: &str = "system:bootstrap";
/// Longest principal name, in characters.
const MAX_PRINCIPAL_CHARS: usize = 200;

/// Checks a principal name for a new token, from the API or the bootstrap command:
/// 1–200 characters, no whitespace, and not in the control plane's reserved `system:`
/// namespace (so audit rows by the system cannot be forged).
pub fn check_principal(principal: &str) -> Result<(), ValidationError> {
    if principal.is_empty() || principal.chars().count() > MAX_PRINCIPAL_CHARS {
        return Err(ValidationError::new(
            "principal",
            format!("must be 1 to {MAX_PRINCIPAL_CHARS} characters"),
        ));
    }
    if principal.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::new("principal", "must not contain whitespace"));
    }
    if principal.starts_with("system:") {
        return Err(ValidationError::new(
            "principal",
            "`system:` names are reserved for the control plane",
        ));
    }
    Ok(())
}

/// A token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public id.
    pub id: String,
    /// Who it acts as.
    pub principal: String,
    /// What it may do.
    pub role: Role,
    /// What it is for.
    pub description: String,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// Who made it.
    pub created_by: String,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked, and by whom.
    pub revoked: Option<(OffsetDateTime, String)>,
}

impl TokenRecord {
    /// Why this token would be refused at `now`, if it would: revoked before expired (a
    /// wrong secret is [`TokenStore::authenticate`]'s to find).
    pub fn refusal_at(&self, now: OffsetDateTime) -> Option<Refusal> {
        if self.revoked.is_some() {
            Some(Refusal::Revoked)
        } else if self.expires_at.is_some_and(|at| at <= now) {
            Some(Refusal::Expired)
        } else {
            None
        }
    }
}

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Who it acts as.
    pub principal: String,
    /// What it may do.
    pub role: Role,
    /// Free text.
    pub description: String,
    /// Lifetime; `None` never expires.
    pub ttl: Option<Duration>,
}

/// Why a presented token was refused. The message is what the caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a token string, or no token with this id and secret.
    #[error("invalid API token")]
    Invalid,
    /// Past its expiry.
    #[error("API token expired")]
    Expired,
    /// Revoked by an admin.
    #[error("API token revoked")]
    Revoked,
}

impl From<Refusal> for tonic::Status {
    /// A refused token is UNAUTHENTICATED, worded for the caller.
    fn from(refusal: Refusal) -> Self {
        tonic::Status::unauthenticated(refusal.to_string())
    }
}

/// The columns `token_record` reads. A macro so that the SQL of `authenticate`, which
/// runs on every call, is one literal (`concat!`) instead of a `format!` per call.
macro_rules! token_columns {
    () => {
        "id, principal, role, description, created_at, created_by, expires_at, revoked_at, revoked_by"
    };
}

const TOKEN_COLUMNS: &str = token_columns!();

/// One primary-key lookup per authenticated call.
const AUTHENTICATE_SQL: &str =
    concat!("SELECT secret_hash, ", token_columns!(), " FROM api_tokens WHERE id = $1");

/// Tokens in PostgreSQL.
#[derive(Debug, Clone)]
pub struct TokenStore {
    pool: Pool,
}

impl TokenStore {
    /// Tokens in the database behind `pool`.
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Who `presented` belongs to, if it is a live token of ours. One primary-key lookup,
    /// then a constant-time comparison of the secret's hash.
    pub async fn authenticate(
        &self,
        presented: &str,
        now: OffsetDateTime,
    ) -> Result<Result<Principal, Refusal>, Error> {
        let Some(presented) = token::parse(presented) else { return Ok(Err(Refusal::Invalid)) };
        let client = self.pool.get().await?;
        let Some(row) = client.query_opt(AUTHENTICATE_SQL, &[&presented.id]).await? else {
            return Ok(Err(Refusal::Invalid));
        };
        let stored_hash: Vec<u8> = row.try_get("secret_hash")?;
        if !presented.matches(&stored_hash) {
            return Ok(Err(Refusal::Invalid));
        }
        let record = token_record(&row)?;
        if let Some(refusal) = record.refusal_at(now) {
            return Ok(Err(refusal));
        }
        Ok(Ok(Principal {
            token_id: record.id,
            name: record.principal,
            role: record.role,
            expires_at: record.expires_at,
        }))
    }

    /// Issues a token on behalf of `actor`; returns it and the token string, which is
    /// never stored.
    pub async fn issue(
        &self,
        actor: &str,
        request: &TokenRequest,
    ) -> Result<(TokenRecord, String), Error> {
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let issued = insert_token(&transaction, actor, request).await?;
        transaction.commit().await?;
        Ok(issued)
    }

    /// Issues the first admin token, unless a live admin token exists already. Serialised
    /// with a transaction-scoped advisory lock, so two bootstraps cannot both succeed.
    pub async fn bootstrap_admin(&self, principal: &str) -> Result<Option<String>, Error> {
        check_principal(principal)?;
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute("SELECT pg_advisory_xact_lock(hashtext('vary_bootstrap'))", &[])
            .await?;
        let live_admins: i64 = transaction
            .query_one(
                "SELECT count(*) FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > now())",
                &[],
            )
            .await?
            .try_get(0)?;
        if live_admins > 0 {
            return Ok(None);
        }
        let request = TokenRequest {
            principal: principal.to_owned(),
            role: Role::Admin,
            description: "first admin token, from bootstrap-token".to_owned(),
            ttl: None,
        };
        let (_, secret) = insert_token(&transaction, BOOTSTRAP_ACTOR, &request).await?;
        transaction.commit().await?;
        Ok(Some(secret))
    }

    /// One token by id.
    pub async fn get(&self, id: &str) -> Result<TokenRecord, Error> {
        let client = self.pool.get().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1");
        let row = client.query_opt(&sql, &[&id]).await?;
        row.as_ref().map(token_record).transpose()?.ok_or_else(|| not_found(id))
    }

    /// A page of tokens, newest first, and the token for the next page.
    pub async fn list(
        &self,
        include_inactive: bool,
        before: Option<(i64, String)>,
        limit: i64,
    ) -> Result<(Vec<TokenRecord>, Option<PageToken>), Error> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens \
             WHERE ($1 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))) \
               AND ($2::bigint IS NULL \
                    OR (created_at, id) < (to_timestamp($2::bigint / 1e6), $3::text)) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let (micros, id) = before.unzip();
        let rows = client.query(&sql, &[&include_inactive, &micros, &id, &(limit + 1)]).await?;
        let mut records = rows.iter().map(token_record).collect::<Result<Vec<_>, _>>()?;
        let next = if records.len() as i64 > limit {
            records.truncate(limit as usize);
            records.last().map(|last| PageToken::BeforeCreated {
                micros: (last.created_at.unix_timestamp_nanos() / 1000) as i64,
                id: last.id.clone(),
            })
        } else {
            None
        };
        Ok((records, next))
    }

    /// Revokes token `id` on behalf of `actor`, with its audit event. Revoking a revoked
    /// token changes nothing and returns it as it is.
    pub async fn revoke(&self, actor: &str, id: &str) -> Result<TokenRecord, Error> {
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1 FOR UPDATE");
        let row = transaction.query_opt(&sql, &[&id]).await?;
        let before = row.as_ref().map(token_record).transpose()?.ok_or_else(|| not_found(id))?;
        if before.revoked.is_some() {
            return Ok(before);
        }
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 \
             RETURNING {TOKEN_COLUMNS}"
        );
        let after = token_record(&transaction.query_one(&sql, &[&id, &actor]).await?)?;
        insert_token_audit(&transaction, actor, "token.revoke", &after, Some(&before)).await?;
        transaction.commit().await?;
        tracing::info!(token_id = id, actor, "API token revoked");
        Ok(after)
    }
}

async fn insert_token(
    client: &Transaction<'_>,
    actor: &str,
    request: &TokenRequest,
) -> Result<(TokenRecord, String), Error> {
    let new = token::generate();
    let sql = format!(
        "INSERT INTO api_tokens (id, secret_hash, principal, role, description, created_by, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, now() + $7::bigint * interval '1 microsecond') \
         RETURNING {TOKEN_COLUMNS}"
    );
    // Bounded by the API's 10-year cap; saturate rather than wrap all the same.
    let ttl_micros = request.ttl.map(|ttl| i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX));
    let row = client
        .query_one(
            &sql,
            &[
                &new.id,
                &new.secret_hash.as_slice(),
                &request.principal,
                &request.role.as_str(),
                &request.description,
                &actor,
                &ttl_micros,
            ],
        )
        .await?;
    let record = token_record(&row)?;
    insert_token_audit(client, actor, "token.create", &record, None).await?;
    tracing::info!(token_id = %record.id, principal = %record.principal, role = %record.role, actor, "API token issued");
    Ok((record, new.secret))
}

async fn insert_token_audit(
    client: &Transaction<'_>,
    actor: &str,
    action: &str,
    after: &TokenRecord,
    before: Option<&TokenRecord>,
) -> Result<(), Error> {
    NewAuditEvent {
        actor,
        action,
        target_type: "token",
        target_key: &after.id,
        before: before.map(audit_json),
        after: audit_json(after),
        revision: None,
    }
    .insert(client)
    .await
}

/// What the audit log keeps of a token: never the secret or its hash.
fn audit_json(record: &TokenRecord) -> serde_json::Value {
    let format = |at: OffsetDateTime| {
        at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
    };
    serde_json::json!({
        "principal": record.principal,
        "role": record.role.as_str(),
        "description": record.description,
        "created_by": record.created_by,
        "expires_at": record.expires_at.map(format),
        "revoked_at": record.revoked.as_ref().map(|(at, _)| format(*at)),
        "revoked_by": record.revoked.as_ref().map(|(_, by)| by.clone()),
    })
}

fn token_record(row: &Row) -> Result<TokenRecord, Error> {
    let revoked_at: Option<OffsetDateTime> = row.try_get("revoked_at")?;
    let revoked_by: Option<String> = row.try_get("revoked_by")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        principal: row.try_get("principal")?,
        role: parse_role(row)?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        expires_at: row.try_get("expires_at")?,
        revoked: revoked_at.zip(revoked_by),
    })
}

fn parse_role(row: &Row) -> Result<Role, Error> {
    let name: String = row.try_get("role")?;
    Role::parse(&name)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown role {name:?} in api_tokens")))
}

fn not_found(id: &str) -> Error {
    Error::NotFound { entity: "token", key: id.to_owned() }
}
