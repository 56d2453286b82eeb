//! The connections: to the control plane (one channel, the bearer token on every call)
//! and to an edge agent; transport failures turned into errors that name the address.

use std::time::Duration;

use tonic::{
    Request, Status,
    metadata::{AsciiMetadataValue, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint},
};
use vary_proto::pb::{
    self, analysis_service_client::AnalysisServiceClient,
    assignment_service_client::AssignmentServiceClient, audit_service_client::AuditServiceClient,
    auth_service_client::AuthServiceClient, experiment_service_client::ExperimentServiceClient,
    fleet_service_client::FleetServiceClient,
};

use crate::{
    error::{CliError, Server},
    settings::Settings,
};

/// Longest wait for the TCP (and HTTP/2) connection before reporting it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for any one call: the CLI must not hang a script forever.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The ExperimentService client varyctl uses.
pub type Experiments = ExperimentServiceClient<InterceptedService<Channel, BearerToken>>;
/// The FleetService client varyctl uses.
pub type Fleet = FleetServiceClient<InterceptedService<Channel, BearerToken>>;
/// The AnalysisService client varyctl uses.
pub type Analysis = AnalysisServiceClient<InterceptedService<Channel, BearerToken>>;

/// The AuthService client varyctl uses.
pub type Auth = AuthServiceClient<InterceptedService<Channel, BearerToken>>;
/// The AuditService client varyctl uses.
pub type Audit = AuditServiceClient<InterceptedService<Channel, BearerToken>>;

/// A connected control plane.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The address, for messages.
    pub addr: String,
    /// The raw channel (health checks).
    pub channel: Channel,
    /// The experiment API.
    pub experiments: Experiments,
    /// The fleet API.
    pub fleet: Fleet,
    /// The analysis API (results).
    pub analysis: Analysis,
    /// Tokens.
    pub auth: Auth,
    /// The audit log.
    pub audit: Audit,
}

/// Every agent in the fleet, with the head revision to compare them against.
#[derive(Debug, Clone, Default)]
pub struct FleetListing {
    /// Ordered by agent id.
    pub agents: Vec<pb::Agent>,
    /// The highest head revision any page reported: the head can move between pages,
    /// and an agent is behind if it has not applied the newest one.
    pub head_revision: i64,
}

/// A connected edge agent (the sidecar), for `assign` and `explain`. No token: the
/// agent's API is for the application next to it and the control-plane token must not
/// travel to every sidecar an operator points at.
#[derive(Debug, Clone)]
pub struct AgentConnection {
    /// The address, for messages.
    pub addr: String,
    /// The assignment API.
    pub assignments: AssignmentServiceClient<Channel>,
}

/// Adds `authorization: Bearer <token>` to every request when a token is configured.
#[derive(Clone)]
pub struct BearerToken(Option<AsciiMetadataValue>);

// === impl Connection ===

impl Connection {
    /// Connects eagerly, so an unreachable address fails here with a clear message
    /// rather than inside the first call.
    pub async fn open(settings: &Settings) -> Result<Self, CliError> {
        let token = BearerToken::new(settings.token.as_deref())?;
        let tls = control_plane_tls(settings)?;
        let channel = open_channel(Server::ControlPlane, &settings.addr, tls).await?;
        let experiments = ExperimentServiceClient::with_interceptor(channel.clone(), token.clone());
        let fleet = FleetServiceClient::with_interceptor(channel.clone(), token.clone());
        let analysis = AnalysisServiceClient::with_interceptor(channel.clone(), token.clone());
        let auth = AuthServiceClient::with_interceptor(channel.clone(), token.clone());
        let audit = AuditServiceClient::with_interceptor(channel.clone(), token);
        let addr = settings.addr.clone();
        Ok(Connection { addr, channel, experiments, fleet, analysis, auth, audit })
    }

    /// A server error status as the CLI error to report.
    pub fn refused(&self, status: Status) -> CliError {
        CliError::from_status(Server::ControlPlane, &self.addr, status)
    }

    /// Every agent, following page tokens.
    pub async fn list_agents_all(&mut self) -> Result<FleetListing, CliError> {
        let mut listing = FleetListing::default();
        let mut page_token = String::new();
        loop {
            let request = pb::ListAgentsRequest { page_size: 1000, page_token: page_token.clone() };
            let response = self.fleet.list_agents(request).await;
            let page = response.map_err(|status| self.refused(status))?.into_inner();
            listing.agents.extend(page.agents);
            listing.head_revision = listing.head_revision.max(page.head_revision);
            if page.next_page_token.is_empty() {
                return Ok(listing);
            }
            page_token = page.next_page_token;
        }
    }

    /// The results of `key` for `phase` (1-based; 0 is the current phase).
    pub async fn results(
        &mut self,
        key: &str,
        phase: i32,
    ) -> Result<pb::GetResultsResponse, CliError> {
        let request = pb::GetResultsRequest { experiment_key: key.to_owned(), phase };
        let response = self.analysis.get_results(request).await;
        Ok(response.map_err(|status| self.refused(status))?.into_inner())
    }

    /// The current version of `key`.
    pub async fn get(&mut self, key: &str) -> Result<pb::Experiment, CliError> {
        let request = pb::GetExperimentRequest { key: key.to_owned() };
        let response = self.experiments.get_experiment(request).await;
        let experiment = response.map_err(|status| self.refused(status))?.into_inner().experiment;
        experiment.ok_or_else(|| missing("GetExperiment", "experiment"))
    }

    /// The current version of `key`, or `None` when it does not exist.
    pub async fn find(&mut self, key: &str) -> Result<Option<pb::Experiment>, CliError> {
        match self.get(key).await {
            Ok(experiment) => Ok(Some(experiment)),
            Err(CliError::Refused(status)) if status.code() == tonic::Code::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every experiment matching `filter`, following page tokens.
    pub async fn list_all(
        &mut self,
        filter: pb::ListExperimentsRequest,
    ) -> Result<Vec<pb::Experiment>, CliError> {
        let mut experiments = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::ListExperimentsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                ..filter.clone()
            };
            let response = self.experiments.list_experiments(request).await;
            let page = response.map_err(|status| self.refused(status))?.into_inner();
            experiments.extend(page.experiments);
            if page.next_page_token.is_empty() {
                return Ok(experiments);
            }
            page_token = page.next_page_token;
        }
    }

    /// Every version of `key`, oldest first.
    pub async fn versions(&mut self, key: &str) -> Result<Vec<pb::ExperimentVersion>, CliError> {
        let mut versions = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::ListExperimentVersionsRequest {
                key: key.to_owned(),
                page_size: 1000,
                page_token: page_token.clone(),
            };
            let response = self.experiments.list_experiment_versions(request).await;
            let page = response.map_err(|status| self.refused(status))?.into_inner();
            versions.extend(page.versions);
            if page.next_page_token.is_empty() {
                return Ok(versions);
            }
            page_token = page.next_page_token;
        }
    }
}

// === impl AgentConnection ===

impl AgentConnection {
    /// Connects eagerly to `settings.agent_addr`, so a wrong address fails with its name.
    pub async fn open(settings: &Settings) -> Result<Self, CliError> {
        let channel = open_channel(Server::EdgeAgent, &settings.agent_addr, None).await?;
        let assignments = AssignmentServiceClient::new(channel);
        Ok(AgentConnection { addr: settings.agent_addr.clone(), assignments })
    }

    /// An agent's error status as the CLI error to report.
    pub fn refused(&self, status: Status) -> CliError {
        CliError::from_status(Server::EdgeAgent, &self.addr, status)
    }
}

/// The TLS settings for the control plane: its CA bundle for https:// addresses.
fn control_plane_tls(settings: &Settings) -> Result<Option<ClientTlsConfig>, CliError> {
    if !settings.addr.starts_with("https://") {
        return Ok(None);
    }
    let Some(ca) = &settings.tls_ca else {
        return Err(CliError::Usage(format!(
            "{} is https: name the CA that signed its certificate with --tls-ca, VARY_TLS_CA \
             or the config file's `tls_ca`",
            settings.addr
        )));
    };
    let pem = std::fs::read(ca)
        .map_err(|error| CliError::Usage(format!("--tls-ca {}: {error}", ca.display())))?;
    Ok(Some(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))))
}

/// One channel to `addr`, with the CLI's time limits; failures name `server` and `addr`.
async fn open_channel(
    server: Server,
    addr: &str,
    tls: Option<ClientTlsConfig>,
) -> Result<Channel, CliError> {
    let mut endpoint = Endpoint::from_shared(addr.to_owned())
        .map_err(|error| CliError::Usage(format!("address {addr}: {error}")))?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT);
    if let Some(tls) = tls {
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|error| CliError::Usage(format!("TLS for {addr}: {}", error_chain(&error))))?;
    }
    endpoint.connect().await.map_err(|error| CliError::Connection {
        server,
        addr: addr.to_owned(),
        reason: error_chain(&error),
    })
}

/// A response lacked a field the API always sets.
pub fn missing(rpc: &str, field: &str) -> CliError {
    CliError::Refused(Status::internal(format!("{rpc} response has no {field}")))
}

/// `outer: inner: root`, so "connection refused" is not hidden behind "transport error".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

// === impl BearerToken ===

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "BearerToken(<redacted>)" } else { "BearerToken(None)" })
    }
}

impl BearerToken {
    /// The header value for `token`; refuses tokens that cannot travel in a header.
    pub fn new(token: Option<&str>) -> Result<Self, CliError> {
        let Some(token) = token else { return Ok(BearerToken(None)) };
        let value = MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
            CliError::Usage("the token contains characters not allowed in a header".into())
        })?;
        Ok(BearerToken(Some(value)))
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authorization(token: Option<&str>) -> Option<String> {
        let mut interceptor = BearerToken::new(token).expect("valid token");
        let request = interceptor.call(Request::new(())).expect("the interceptor never fails");
        let value = request.metadata().get("authorization")?;
        Some(value.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn a_configured_token_travels_as_a_bearer_authorization_header() {
        assert_eq!(authorization(Some("s3cr3t")), Some("Bearer s3cr3t".to_owned()));
        assert_eq!(authorization(None), None);
        assert!(
            !format!("{:?}", BearerToken::new(Some("s3cr3t")).expect("valid")).contains("s3cr3t")
        );
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_a_usage_error() {
        let error = BearerToken::new(Some("line\nbreak")).expect_err("newline");
        assert_eq!(error.exit_code(), crate::error::EXIT_USAGE);
    }
}
