//! Test credentials: one fixed token per role, written straight into each test database
//! (hashed, exactly as the control plane stores tokens), so every test, agent and client
//! of the harness can authenticate without plumbing secrets around.

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};
use vary_control_plane::auth::Role;

/// A channel whose calls carry a bearer token.
pub type AuthedChannel = InterceptedService<Channel, Bearer>;

/// One test token.
#[derive(Debug, Clone, Copy)]
pub struct TestToken {
    /// Its role.
    pub role: Role,
    /// Its principal, the actor on everything it changes.
    pub principal: &'static str,
    /// Its id (16 hex digits).
    pub id: &'static str,
    /// The whole token string.
    pub secret: &'static str,
}

/// The test tokens, one per role.
pub const TEST_TOKENS: [TestToken; 4] = [
    TestToken {
        role: Role::Admin,
        principal: "test-admin",
        id: "00000000000000a1",
        secret: "vary_00000000000000a1_test-admin-secret",
    },
    TestToken {
        role: Role::Experimenter,
        principal: "test-experimenter",
        id: "00000000000000e1",
        secret: "vary_00000000000000e1_test-experimenter-secret",
    },
    TestToken {
        role: Role::Viewer,
        principal: "test-viewer",
        id: "00000000000000b1",
        secret: "vary_00000000000000b1_test-viewer-secret",
    },
    TestToken {
        role: Role::Agent,
        principal: "test-agent",
        id: "00000000000000c1",
        secret: "vary_00000000000000c1_test-agent-secret",
    },
];

impl TestToken {
    /// The test token of `role`.
    pub fn of(role: Role) -> TestToken {
        TEST_TOKENS.into_iter().find(|token| token.role == role).expect("a token per role")
    }
}

/// Inserts the test tokens into the (migrated) database at `url`, unless there already.
pub async fn install_test_tokens(url: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connect to install test tokens")?;
    let connection = tokio::spawn(connection);
    for token in TEST_TOKENS {
        let secret_part = token.secret.rsplit_once('_').expect("id_secret").1;
        let hash = Sha256::digest(secret_part.as_bytes()).to_vec();
        client
            .execute(
                "INSERT INTO api_tokens (id, secret_hash, principal, role, created_by) \
                 VALUES ($1, $2, $3, $4, 'test-harness') ON CONFLICT (id) DO NOTHING",
                &[&token.id, &hash, &token.principal, &token.role.as_str()],
            )
            .await
            .context("insert a test token")?;
    }
    drop(client);
    let _ = connection.await;
    Ok(())
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    /// For `token`.
    pub fn new(token: &str) -> Self {
        Self(format!("Bearer {token}").parse().expect("an ASCII token"))
    }

    /// `channel` with this token on every call.
    pub fn wrap(self, channel: Channel) -> AuthedChannel {
        InterceptedService::new(channel, self)
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(..)")
    }
}
