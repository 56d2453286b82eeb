//! Opaque page tokens: where the previous page ended, base64url-encoded so callers do
//! not build them by hand.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use vary_proto::model::ValidationError;

/// Default page size when the request says 0.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page served; larger requests are capped.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageToken {
    /// Experiments ordered by key: the last key served.
    AfterKey(String),
    /// Versions ordered by number: the last version served.
    AfterVersion(i64),
    /// Newest-first lists keyed by an increasing id (audit events): the last id served.
    BeforeId(i64),
    /// Tokens, newest first: the last one's creation time (µs since the epoch) and id.
    BeforeCreated {
        /// Creation time of the last token served, in microseconds since the epoch.
        micros: i64,
        /// Its id, which breaks ties.
        id: String,
    },
}

impl PageToken {
    /// The string handed to callers.
    pub fn encode(&self) -> String {
        let plain = match self {
            PageToken::AfterKey(key) => format!("k:{key}"),
            PageToken::AfterVersion(version) => format!("v:{version}"),
            PageToken::BeforeId(id) => format!("b:{id}"),
            PageToken::BeforeCreated { micros, id } => format!("t:{micros}:{id}"),
        };
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Parses a caller's token; empty means the first page.
    pub fn decode(token: &str) -> Result<Option<PageToken>, ValidationError> {
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = || ValidationError::new("page_token", "is not a token this server issued");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let plain = String::from_utf8(bytes).map_err(|_| invalid())?;
        match plain.split_once(':') {
            Some(("k", key)) => Ok(Some(PageToken::AfterKey(key.to_owned()))),
            Some(("v", version)) => version
                .parse()
                .map(|version| Some(PageToken::AfterVersion(version)))
                .map_err(|_| invalid()),
            Some(("b", id)) => {
                id.parse().map(|id| Some(PageToken::BeforeId(id))).map_err(|_| invalid())
            }
            Some(("t", rest)) => {
                let (micros, id) = rest.split_once(':').ok_or_else(invalid)?;
                let micros = micros.parse().map_err(|_| invalid())?;
                Ok(Some(PageToken::BeforeCreated { micros, id: id.to_owned() }))
            }
            _ => Err(invalid()),
        }
    }
}

/// The page size to use for a request's `page_size`: 0 means the default, above the
/// maximum is capped, negative is an error.
pub fn page_size(requested: i32) -> Result<i64, ValidationError> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        size if size < 0 => {
            Err(ValidationError::new("page_size", format!("must be >= 0, got {size}")))
        }
        size => Ok(i64::from(size).min(MAX_PAGE_SIZE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for token in [
            PageToken::AfterKey("reco_ymal_v1".into()),
            PageToken::AfterVersion(42),
            PageToken::BeforeId(7),
            PageToken::BeforeCreated { micros: 1_700_000_000_000_000, id: "0123abcd".into() },
        ] {
            assert_eq!(PageToken::decode(&token.encode()), Ok(Some(token)));
        }
        assert_eq!(PageToken::decode(""), Ok(None));
    }

    #[test]
    fn foreign_tokens_are_refused_naming_the_field() {
        for bad in ["!!!", "eDpmb28", &URL_SAFE_NO_PAD.encode("v:abc")] {
            let error = PageToken::decode(bad).expect_err(bad);
            assert_eq!(error.field_path, "page_token");
        }
    }

    #[test]
    fn page_sizes_default_cap_and_refuse_negatives() {
        assert_eq!(page_size(0), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(7), Ok(7));
        assert_eq!(page_size(5000), Ok(MAX_PAGE_SIZE));
        assert!(page_size(-1).is_err());
    }
}
