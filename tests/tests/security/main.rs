//! Security over real sockets: the access policy for every RPC and role, tokens (expiry,
//! revocation, bootstrap), the audit log, TLS and mTLS between agent and control plane,
//! and the limits against abuse.

mod audit_log;
mod limits;
mod matrix;
mod raw;
mod sidecar_token;
mod tls;
mod tokens;
