//! Who is calling: the principal of the token the auth layer accepted.

use tonic::Request;

use crate::auth::Principal;

/// Recorded for calls no token was needed for (there are none that change anything).
pub const ANONYMOUS: &str = "anonymous";

/// The principal a request acts as, recorded on versions and audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    /// The caller of `request`: the principal the auth layer attached, or [`ANONYMOUS`].
    pub fn of<T>(request: &Request<T>) -> Actor {
        let name = request.extensions().get::<Principal>().map(|principal| principal.name.clone());
        Actor(name.unwrap_or_else(|| ANONYMOUS.to_owned()))
    }
}
