//! How the agent reaches the control plane: the address, the TLS settings (CA bundle,
//! optional client certificate for mTLS) and the API token sent on every call. Both the
//! Watch stream and event forwarding dial through here, so they always agree. Every call
//! also carries a fresh `x-request-id`, which the control plane puts in its log span;
//! the agent records it in its own current span (a `request_id` field) so the logs of
//! both sides join.

use std::{path::Path, time::Duration};

use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use crate::{config::Config, error::Error};

/// A channel to the control plane that carries the agent's token.
pub type ControlPlaneChannel = InterceptedService<Channel, BearerToken>;

/// Where and how to dial the control plane.
#[derive(Debug, Clone)]
pub struct ControlPlaneLink {
    address: String,
    tls: Option<ClientTlsConfig>,
    token: BearerToken,
}

/// The request id header sent on every call.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Adds `authorization: Bearer <token>` to every call, when there is a token, and a new
/// `x-request-id` (a UUID) to every call.
#[derive(Clone, Default)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl ControlPlaneLink {
    /// Reads the TLS files and the token named in `config` (validated already).
    pub fn from_config(config: &Config) -> Result<Self, Error> {
        let tls = match &config.tls_ca {
            None => None,
            Some(ca) => {
                let mut tls = ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(read_pem("tls_ca", ca)?));
                if let (Some(cert), Some(key)) = (&config.tls_client_cert, &config.tls_client_key) {
                    tls = tls.identity(Identity::from_pem(
                        read_pem("tls_client_cert", cert)?,
                        read_pem("tls_client_key", key)?,
                    ));
                }
                Some(tls)
            }
        };
        let token = BearerToken::new(config.token.as_ref().map(|token| token.expose()))?;
        Ok(Self { address: config.control_plane_addr.clone(), tls, token })
    }

    /// A plaintext link without a token (tests against fakes).
    pub fn insecure(address: impl Into<String>) -> Self {
        Self { address: address.into(), tls: None, token: BearerToken::default() }
    }

    /// A plaintext link presenting `token` (embedders and tests without TLS).
    pub fn plaintext_with_token(address: impl Into<String>, token: &str) -> Result<Self, Error> {
        Ok(Self { address: address.into(), tls: None, token: BearerToken::new(Some(token))? })
    }

    /// The control plane's address, for logs.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// An endpoint with the TLS settings applied; `timeout` bounds connecting.
    pub fn endpoint(&self, timeout: Duration) -> Result<Endpoint, tonic::transport::Error> {
        let endpoint =
            Endpoint::from_shared(self.address.clone())?.connect_timeout(timeout).tcp_nodelay(true);
        match &self.tls {
            Some(tls) => endpoint.tls_config(tls.clone()),
            None => Ok(endpoint),
        }
    }

    /// `channel` with the token added to every call.
    pub fn authorize(&self, channel: Channel) -> ControlPlaneChannel {
        InterceptedService::new(channel, self.token.clone())
    }
}

impl BearerToken {
    /// The header value for `token`; refuses characters a header cannot carry.
    pub fn new(token: Option<&str>) -> Result<Self, Error> {
        let value = token
            .map(|token| {
                format!("Bearer {}", token.trim()).parse().map_err(|_| Error::InvalidConfig {
                    field: "token",
                    message: "must be printable ASCII".to_owned(),
                })
            })
            .transpose()?;
        Ok(Self(value))
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        tracing::Span::current().record("request_id", request_id.as_str());
        if let Ok(value) = request_id.parse() {
            request.metadata_mut().insert(REQUEST_ID_HEADER, value);
        }
        Ok(request)
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "BearerToken(<redacted>)" } else { "BearerToken(none)" })
    }
}

fn read_pem(field: &'static str, path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|error| Error::InvalidConfig {
        field,
        message: format!("cannot read {}: {error}", path.display()),
    })
}
