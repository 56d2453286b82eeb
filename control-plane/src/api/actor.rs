//! Who is calling. Authentication (a later layer) inserts the principal into the request
//! extensions; until then every caller is recorded as "anonymous".

use tonic::Request;

/// The principal recorded when no authentication layer identified the caller.
pub const ANONYMOUS: &str = "anonymous";

/// The principal a request acts as, recorded on versions and audit events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

impl Actor {
    /// The caller of `request`: the principal an authentication layer attached, or
    /// [`ANONYMOUS`].
    pub fn of<T>(request: &Request<T>) -> Actor {
        request.extensions().get::<Actor>().cloned().unwrap_or_else(|| Actor(ANONYMOUS.to_owned()))
    }
}
