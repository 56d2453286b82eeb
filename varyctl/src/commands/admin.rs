//! `audit`, `tokens create|list|revoke` and `whoami`: the security side of operating Vary.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use vary_proto::{model::struct_to_json, pb};

use crate::{
    cli::{
        AuditArgs, RoleArg, TimeBound, TokenCreateArgs, TokenListArgs, TokenRevokeArgs,
        TokensCommand,
    },
    client::{Connection, missing},
    error::CliError,
    output::{Term, new_table, timestamp},
};

/// Most events asked for per page.
const PAGE: usize = 1000;

/// `audit`: newest first, following pages up to `--limit`.
pub(super) async fn audit(
    args: AuditArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let now = time::OffsetDateTime::now_utc();
    let filter = pb::ListAuditEventsRequest {
        actor: args.actor.unwrap_or_default(),
        target_type: args.target_type.unwrap_or_default(),
        target_key: args.target.unwrap_or_default(),
        action: args.action.unwrap_or_default(),
        start_time: args.since.map(|bound| instant(bound, now)),
        end_time: args.until.map(|bound| instant(bound, now)),
        page_size: 0,
        page_token: String::new(),
    };
    let mut events = Vec::new();
    let mut page_token = String::new();
    while events.len() < args.limit {
        let page_size = (args.limit - events.len()).min(PAGE) as i32;
        let request = pb::ListAuditEventsRequest {
            page_size,
            page_token: page_token.clone(),
            ..filter.clone()
        };
        let response = connection.audit.list_audit_events(request).await;
        let page = response.map_err(|status| connection.refused(status))?.into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    events.truncate(args.limit);
    if !term.is_table() {
        term.structured(&events.iter().map(AuditView::from).collect::<Vec<_>>());
        return Ok(());
    }
    if events.is_empty() {
        term.note("no audit events match");
        return Ok(());
    }
    let mut table = new_table(&["id", "time", "actor", "action", "target", "revision"]);
    for event in &events {
        table.add_row(vec![
            event.id.to_string(),
            timestamp(event.occur_time.as_ref()),
            event.actor.clone(),
            event.action.clone(),
            format!("{}/{}", event.target_type, event.target_key),
            if event.revision == 0 { "-".to_owned() } else { event.revision.to_string() },
        ]);
    }
    term.table(&table);
    Ok(())
}

/// `tokens …`.
pub(super) async fn tokens(
    command: TokensCommand,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    match command {
        TokensCommand::Create(args) => create(args, connection, term).await,
        TokensCommand::List(args) => list(args, connection, term).await,
        TokensCommand::Revoke(args) => revoke(args, connection, term).await,
    }
}

/// `whoami`: the calling token.
pub(super) async fn whoami(
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let response = connection.auth.who_am_i(pb::WhoAmIRequest {}).await;
    let token = response.map_err(|status| connection.refused(status))?.into_inner().token;
    let token = token.ok_or_else(|| missing("WhoAmI", "token"))?;
    if term.is_table() {
        term.line(format!(
            "{} ({}), token {}",
            token.principal,
            role_name(token.role),
            token.token_id
        ));
    } else {
        term.structured(&TokenView::from(&token));
    }
    Ok(())
}

async fn create(
    args: TokenCreateArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let request = pb::CreateTokenRequest {
        principal: args.principal,
        role: role_pb(args.role) as i32,
        description: args.description,
        ttl: args.ttl.map(duration_pb),
    };
    let response = connection.auth.create_token(request).await;
    let created = response.map_err(|status| connection.refused(status))?.into_inner();
    let token = created.token.ok_or_else(|| missing("CreateToken", "token"))?;
    if term.is_table() {
        // The secret alone on stdout, so `VARY_TOKEN=$(varyctl tokens create …)` works;
        // the rest is for the person at the terminal.
        term.line(&created.secret);
        term.note(format!(
            "token {} for {} ({}){}: shown once, store it now",
            token.token_id,
            token.principal,
            role_name(token.role),
            token
                .expire_time
                .as_ref()
                .map(|at| format!(", expires {}", timestamp(Some(at))))
                .unwrap_or_default()
        ));
    } else {
        #[derive(Serialize)]
        struct Created<'a> {
            secret: &'a str,
            token: TokenView,
        }
        term.structured(&Created { secret: &created.secret, token: TokenView::from(&token) });
    }
    Ok(())
}

async fn list(
    args: TokenListArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let mut tokens = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListTokensRequest {
            page_size: PAGE as i32,
            page_token: page_token.clone(),
            include_inactive: args.all,
        };
        let response = connection.auth.list_tokens(request).await;
        let page = response.map_err(|status| connection.refused(status))?.into_inner();
        tokens.extend(page.tokens);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    if !term.is_table() {
        term.structured(&tokens.iter().map(TokenView::from).collect::<Vec<_>>());
        return Ok(());
    }
    if tokens.is_empty() {
        term.note("no tokens");
        return Ok(());
    }
    let mut table =
        new_table(&["id", "principal", "role", "created", "expires", "state", "description"]);
    for token in &tokens {
        table.add_row(vec![
            token.token_id.clone(),
            token.principal.clone(),
            role_name(token.role).to_owned(),
            timestamp(token.create_time.as_ref()),
            token.expire_time.as_ref().map_or_else(|| "never".to_owned(), |at| timestamp(Some(at))),
            state(token).to_owned(),
            token.description.clone(),
        ]);
    }
    term.table(&table);
    Ok(())
}

async fn revoke(
    args: TokenRevokeArgs,
    connection: &mut Connection,
    term: &mut Term<'_>,
) -> Result<(), CliError> {
    let request = pb::RevokeTokenRequest { token_id: args.token_id };
    let response = connection.auth.revoke_token(request).await;
    let token = response.map_err(|status| connection.refused(status))?.into_inner().token;
    let token = token.ok_or_else(|| missing("RevokeToken", "token"))?;
    if term.is_table() {
        term.line(format!("token {} ({}) revoked", token.token_id, token.principal));
    } else {
        term.structured(&TokenView::from(&token));
    }
    Ok(())
}

/// One token for `-o json|yaml` (never a secret: the API does not return it).
#[derive(Debug, Serialize)]
struct TokenView {
    token_id: String,
    principal: String,
    role: &'static str,
    description: String,
    create_time: String,
    created_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    expire_time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    revoke_time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    revoked_by: String,
    state: &'static str,
}

impl From<&pb::Token> for TokenView {
    fn from(token: &pb::Token) -> Self {
        TokenView {
            token_id: token.token_id.clone(),
            principal: token.principal.clone(),
            role: role_name(token.role),
            description: token.description.clone(),
            create_time: timestamp(token.create_time.as_ref()),
            created_by: token.created_by.clone(),
            expire_time: timestamp(token.expire_time.as_ref()),
            revoke_time: timestamp(token.revoke_time.as_ref()),
            revoked_by: token.revoked_by.clone(),
            state: state(token),
        }
    }
}

/// One audit event for `-o json|yaml`.
#[derive(Debug, Serialize)]
struct AuditView {
    id: i64,
    time: String,
    actor: String,
    action: String,
    target_type: String,
    target_key: String,
    revision: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<serde_json::Value>,
}

impl From<&pb::AuditEvent> for AuditView {
    fn from(event: &pb::AuditEvent) -> Self {
        let json = |value: &Option<prost_types::Struct>| {
            value
                .clone()
                .and_then(|value| struct_to_json(value).ok())
                .map(serde_json::Value::Object)
        };
        AuditView {
            id: event.id,
            time: timestamp(event.occur_time.as_ref()),
            actor: event.actor.clone(),
            action: event.action.clone(),
            target_type: event.target_type.clone(),
            target_key: event.target_key.clone(),
            revision: event.revision,
            before: json(&event.before),
            after: json(&event.after),
        }
    }
}

/// `active`, `revoked` or `expired`.
fn state(token: &pb::Token) -> &'static str {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    if token.revoke_time.is_some() {
        "revoked"
    } else if token.expire_time.as_ref().is_some_and(|at| at.seconds <= now as i64) {
        "expired"
    } else {
        "active"
    }
}

fn role_name(role: i32) -> &'static str {
    match pb::Role::try_from(role) {
        Ok(pb::Role::Viewer) => "viewer",
        Ok(pb::Role::Experimenter) => "experimenter",
        Ok(pb::Role::Admin) => "admin",
        Ok(pb::Role::Agent) => "agent",
        _ => "unknown",
    }
}

fn role_pb(role: RoleArg) -> pb::Role {
    match role {
        RoleArg::Viewer => pb::Role::Viewer,
        RoleArg::Experimenter => pb::Role::Experimenter,
        RoleArg::Admin => pb::Role::Admin,
        RoleArg::Agent => pb::Role::Agent,
    }
}

fn duration_pb(duration: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        nanos: duration.subsec_nanos() as i32,
    }
}

fn instant(bound: TimeBound, now: time::OffsetDateTime) -> prost_types::Timestamp {
    let at = match bound {
        TimeBound::At(at) => at,
        TimeBound::Ago(age) => now - age,
    };
    prost_types::Timestamp { seconds: at.unix_timestamp(), nanos: at.nanosecond() as i32 }
}
