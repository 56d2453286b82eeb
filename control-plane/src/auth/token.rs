//! The token string: `vary_<id>_<secret>`. The id is public (it names the token in lists
//! and audit rows); only a SHA-256 hash of the secret is stored, and it is compared in
//! constant time.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Every token starts with this, so secret scanners and people recognise one.
const PREFIX: &str = "vary_";
/// Random bytes in an id: 64 bits, unique enough to be a primary key that is not guessed.
const ID_BYTES: usize = 8;
/// Random bytes in a secret: 256 bits.
const SECRET_BYTES: usize = 32;

/// A freshly made token: the string shown once, and what is stored.
#[derive(Debug)]
pub struct NewToken {
    /// The token id (public).
    pub id: String,
    /// The whole token string, for the caller only.
    pub secret: String,
    /// SHA-256 of the secret part, for the database.
    pub secret_hash: [u8; 32],
}

/// A token string split into its parts; the secret part is never logged.
pub struct PresentedToken<'a> {
    /// The token id.
    pub id: &'a str,
    secret: &'a str,
}

impl std::fmt::Debug for PresentedToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedToken").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Makes a new random token.
pub fn generate() -> NewToken {
    let mut rng = rand::rng();
    let mut id = [0u8; ID_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    // Lowercase hex ids never contain the `_` separator; base64url secrets may, so the
    // secret is always the last part.
    let id: String = id.iter().map(|byte| format!("{byte:02x}")).collect();
    let secret_part = URL_SAFE_NO_PAD.encode(secret);
    NewToken {
        secret_hash: hash_secret(&secret_part),
        secret: format!("{PREFIX}{id}_{secret_part}"),
        id,
    }
}

/// Splits a presented token; `None` when it is not shaped like one of ours.
pub fn parse(token: &str) -> Option<PresentedToken<'_>> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == ID_BYTES * 2 && id.bytes().all(|byte| byte.is_ascii_hexdigit());
    (id_ok && !secret.is_empty()).then_some(PresentedToken { id, secret })
}

impl PresentedToken<'_> {
    /// Whether this token's secret hashes to `stored_hash`, compared in constant time.
    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        bool::from(hash_secret(self.secret).as_slice().ct_eq(stored_hash))
    }
}

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_parses_and_matches_its_hash() {
        let token = generate();
        let presented = parse(&token.secret).expect("parses");
        assert_eq!(presented.id, token.id);
        assert!(presented.matches(&token.secret_hash));
    }

    #[test]
    fn another_secret_does_not_match() {
        let first = generate();
        let second = generate();
        assert_ne!(first.id, second.id);
        let presented = parse(&second.secret).unwrap();
        assert!(!presented.matches(&first.secret_hash));
        assert!(!presented.matches(&[]));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "vary_",
            "vary_abc_def",
            "token",
            "vary_0123456789abcdef_",
            "vary_0123456789abcdeX_x",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        assert!(parse("vary_0123456789abcdef_s3cr_et").is_some());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = generate();
        let shown = format!("{:?}", parse(&token.secret).unwrap());
        assert!(!shown.contains(token.secret.rsplit('_').next().unwrap()));
    }
}
