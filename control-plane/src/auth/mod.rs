//! Authentication and authorisation: bearer API tokens (hashed in PostgreSQL), roles, and
//! the one table that says which role may call which RPC, enforced by one tower layer in
//! front of every service.

mod layer;
mod policy;
mod role;
pub mod token;
mod tokens;

pub use layer::AuthLayer;
pub use policy::{Access, POLICY, required_access};
pub use role::Role;
pub use tokens::{
    BOOTSTRAP_ACTOR, Refusal, TokenRecord, TokenRequest, TokenStore, check_principal,
};

/// Who a request acts as: the principal of the token it carried. The auth layer puts it in
/// the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id.
    pub token_id: String,
    /// The token's principal, recorded as the actor of every change.
    pub name: String,
    /// The token's role.
    pub role: Role,
    /// When the token stops working, if ever: long calls (Watch) end then.
    pub expires_at: Option<time::OffsetDateTime>,
}
