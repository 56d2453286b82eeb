//! What a caller asks: who (user id, session id), where and in what context, and which
//! experiments. The current time is a separate argument so this module stays clock-free.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One `Assign` call's input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssignRequest {
    /// The logged-in user, if any; empty means none. Preferred as the unit.
    pub user_id: String,
    /// The session; empty means none. The unit when there is no user id.
    pub session_id: String,
    /// Where the request renders and what is known about the visitor.
    pub context: Context,
    /// Only these experiments (by key) are considered; empty means all of them.
    pub experiment_keys: Vec<String>,
}

/// The attributes eligibility rules test.
///
/// The five typed fields answer to the attribute names `placement`, `page_type`,
/// `country`, `device` and `logged_in`; an empty typed field (or `logged_in: None`) counts
/// as missing, because proto3 cannot tell an empty string from an absent one. Any other
/// attribute name is looked up in [`Context::attributes`], where only an absent key is
/// missing (a present empty string is a value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Context {
    /// Where the experiment renders (`pdp`, `newsfeed`, `search`, `home`, `cart`, …).
    pub placement: String,
    /// The kind of page.
    pub page_type: String,
    /// Country code, as the caller spells it (comparisons are exact).
    pub country: String,
    /// Device class.
    pub device: String,
    /// Whether the visitor is logged in; rules see `"true"` or `"false"`.
    pub logged_in: Option<bool>,
    /// Free-form attributes, by name.
    pub attributes: BTreeMap<String, String>,
}

/// Which id the hashes used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitType {
    /// The user id.
    User,
    /// The session id (no user id was given).
    Session,
    /// Neither id was given: nothing assigns.
    None,
}

/// The unit a request is bucketed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Unit<'a> {
    /// Which id this is.
    pub unit_type: UnitType,
    /// The id itself; empty when `unit_type` is [`UnitType::None`].
    pub id: &'a str,
}

// === impl AssignRequest ===

impl AssignRequest {
    /// DESIGN section 4 rule 1: the user id if non-empty, else the session id if
    /// non-empty, else no unit.
    pub fn unit(&self) -> Unit<'_> {
        if !self.user_id.is_empty() {
            Unit { unit_type: UnitType::User, id: &self.user_id }
        } else if !self.session_id.is_empty() {
            Unit { unit_type: UnitType::Session, id: &self.session_id }
        } else {
            Unit { unit_type: UnitType::None, id: "" }
        }
    }
}

// === impl UnitType ===

impl UnitType {
    /// The lowercase name used in logs, events and the conformance vectors.
    pub fn as_str(self) -> &'static str {
        match self {
            UnitType::User => "user",
            UnitType::Session => "session",
            UnitType::None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(user_id: &str, session_id: &str) -> AssignRequest {
        AssignRequest {
            user_id: user_id.to_owned(),
            session_id: session_id.to_owned(),
            ..AssignRequest::default()
        }
    }

    #[test]
    fn user_id_wins_over_session_id() {
        assert_eq!(request("u1", "s1").unit(), Unit { unit_type: UnitType::User, id: "u1" });
    }

    #[test]
    fn session_id_is_the_fallback() {
        assert_eq!(request("", "s1").unit(), Unit { unit_type: UnitType::Session, id: "s1" });
    }

    #[test]
    fn no_ids_means_no_unit() {
        assert_eq!(request("", "").unit(), Unit { unit_type: UnitType::None, id: "" });
    }
}
