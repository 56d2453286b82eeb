//! Reading `authorization: Bearer <token>`, the one way both binaries take a token: the
//! control plane for its API, the edge agent for its optional API token.

/// The token in an `authorization` header's value, or `None` when the scheme is not
/// `Bearer`.
///
/// The scheme is matched case-insensitively (RFC 9110) and ends at the first space; the
/// token is what follows, without leading or trailing whitespace. A value with no space,
/// or with whitespace before the scheme, has no token. An empty token is returned as
/// `Some("")`: refusing it is the caller's comparison.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer s3cret"), Some("s3cret"));
        assert_eq!(bearer_token("bearer s3cret"), Some("s3cret"));
        assert_eq!(bearer_token("BEARER s3cret"), Some("s3cret"));
    }

    #[test]
    fn whitespace_around_the_token_is_dropped() {
        assert_eq!(bearer_token("Bearer   s3cret \t"), Some("s3cret"));
        assert_eq!(bearer_token("Bearer "), Some(""));
    }

    #[test]
    fn the_token_keeps_its_inner_spaces() {
        assert_eq!(bearer_token("Bearer s3 cret"), Some("s3 cret"));
    }

    #[test]
    fn other_schemes_and_malformed_values_have_no_token() {
        assert_eq!(bearer_token("Basic s3cret"), None);
        assert_eq!(bearer_token("Bearers3cret"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer\ts3cret"), None);
        assert_eq!(bearer_token(" Bearer s3cret"), None);
        assert_eq!(bearer_token("s3cret"), None);
        assert_eq!(bearer_token(""), None);
    }
}
