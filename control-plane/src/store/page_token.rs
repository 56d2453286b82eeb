//! Opaque page tokens: where the previous page ended, base64url-encoded so callers do
//! not build them by hand, and bound to the request they continue (AIP-158): a token
//! names its list and a digest of that request's filters, and is refused with another
//! list or other filters, which would otherwise silently skip or repeat rows.

use std::fmt::Write as _;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};
use vary_proto::model::ValidationError;

/// Default page size when the request says 0.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page served; larger requests are capped.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Hex digits of the query digest a token carries: collisions between two filter sets
/// of one caller are what matters, and 48 bits make them negligible.
const QUERY_DIGEST_HEX: usize = 12;

/// What a page token continues: one list, with one set of filters (every request field
/// but `page_size` and `page_token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    digest: String,
}

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

// === impl PageQuery ===

impl PageQuery {
    /// The query of `list` (a name unique among the API's lists) with `filters`, the
    /// request's filter fields in one fixed encoding.
    pub fn new(list: &str, filters: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(list.as_bytes());
        hasher.update([0]);
        hasher.update(filters);
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(QUERY_DIGEST_HEX);
        for byte in &digest[..QUERY_DIGEST_HEX / 2] {
            let _ = write!(hex, "{byte:02x}");
        }
        Self { digest: hex }
    }

    /// The query of a list request: its protobuf encoding with `page_size` and
    /// `page_token` cleared. Every filter field counts, new ones included, and the bytes
    /// do not change between releases the way a `Debug` rendering might (replicas of two
    /// releases serve one caller's pages during a rolling deploy).
    pub fn of<M>(list: &str, request: &M, clear_paging: impl FnOnce(&mut M)) -> Self
    where
        M: prost::Message + Clone,
    {
        let mut filters = request.clone();
        clear_paging(&mut filters);
        Self::new(list, &filters.encode_to_vec())
    }
}

// === impl PageToken ===

impl PageToken {
    /// The string handed to callers, valid for `query` only.
    pub fn encode(&self, query: &PageQuery) -> String {
        let position = match self {
            PageToken::AfterKey(key) => format!("k:{key}"),
            PageToken::AfterVersion(version) => format!("v:{version}"),
            PageToken::BeforeId(id) => format!("b:{id}"),
            PageToken::BeforeCreated { micros, id } => format!("t:{micros}:{id}"),
        };
        URL_SAFE_NO_PAD.encode(format!("{}|{position}", query.digest))
    }

    /// Parses a caller's token for `query` and takes the position `list` reads from it
    /// (e.g. [`PageToken::into_after_key`]); empty means the first page. A token of another
    /// kind of position is refused (its query digest differs too, so that takes a digest
    /// collision).
    pub fn decode_as<T>(
        token: &str,
        query: &PageQuery,
        position: impl FnOnce(PageToken) -> Option<T>,
    ) -> Result<Option<T>, ValidationError> {
        match Self::decode(token, query)? {
            None => Ok(None),
            Some(token) => position(token)
                .map(Some)
                .ok_or_else(|| ValidationError::new("page_token", "belongs to a different list")),
        }
    }

    /// The last key served, if this is an [`PageToken::AfterKey`].
    pub fn into_after_key(self) -> Option<String> {
        if let Self::AfterKey(key) = self { Some(key) } else { None }
    }

    /// The last version served, if this is an [`PageToken::AfterVersion`].
    pub fn into_after_version(self) -> Option<i64> {
        if let Self::AfterVersion(version) = self { Some(version) } else { None }
    }

    /// The last id served, if this is a [`PageToken::BeforeId`].
    pub fn into_before_id(self) -> Option<i64> {
        if let Self::BeforeId(id) = self { Some(id) } else { None }
    }

    /// The last creation time and id served, if this is a [`PageToken::BeforeCreated`].
    pub fn into_before_created(self) -> Option<(i64, String)> {
        if let Self::BeforeCreated { micros, id } = self { Some((micros, id)) } else { None }
    }

    /// Parses a caller's token for `query`; empty means the first page. A token issued
    /// for another list or other filters is refused, naming the field.
    pub fn decode(token: &str, query: &PageQuery) -> Result<Option<PageToken>, ValidationError> {
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = || ValidationError::new("page_token", "is not a token this server issued");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let plain = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (digest, position) = plain.split_once('|').ok_or_else(invalid)?;
        if digest != query.digest {
            return Err(ValidationError::new(
                "page_token",
                "continues another list or other filters: send the same filters as for the \
                 first page, or no page token to start again",
            ));
        }
        match position.split_once(':') {
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
        let query = PageQuery::new("experiments", b"status=Some(Running)");
        for token in [
            PageToken::AfterKey("reco_ymal_v1".into()),
            PageToken::AfterKey("with|pipe:and:colons".into()),
            PageToken::AfterVersion(42),
            PageToken::BeforeId(7),
            PageToken::BeforeCreated { micros: 1_700_000_000_000_000, id: "0123abcd".into() },
        ] {
            assert_eq!(PageToken::decode(&token.encode(&query), &query), Ok(Some(token)));
        }
        assert_eq!(PageToken::decode("", &query), Ok(None));
    }

    #[test]
    fn a_token_is_refused_with_other_filters_or_another_list() {
        let query = PageQuery::new("experiments", b"status=Some(Running)");
        let token = PageToken::AfterKey("b".into()).encode(&query);
        for other in [
            PageQuery::new("experiments", b"status=None"),
            PageQuery::new("agents", b"status=Some(Running)"),
            // The separator keeps list and filters apart.
            PageQuery::new("experimentsstatus=Some(Running)", b""),
        ] {
            let error = PageToken::decode(&token, &other).expect_err("other query");
            assert_eq!(error.field_path, "page_token");
            assert!(error.message.contains("other filters"), "{}", error.message);
        }
    }

    #[test]
    fn foreign_tokens_are_refused_naming_the_field() {
        let query = PageQuery::new("versions", b"key=k");
        let unbound = URL_SAFE_NO_PAD.encode("v:1");
        let garbled = URL_SAFE_NO_PAD.encode(format!("{}|v:abc", query.digest));
        for bad in ["!!!", "eDpmb28", &unbound, &garbled] {
            let error = PageToken::decode(bad, &query).expect_err(bad);
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
