//! The one error type of validation: a field path and what was expected there.

use std::fmt;

/// A spec or request that breaks a rule, naming where (`spec.variants[2].weight`) and why.
///
/// Both binaries produce it: the control plane on every write (mapped to
/// `INVALID_ARGUMENT`), the edge agent on every snapshot it receives (sent back as a NACK).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// Dotted path of the offending field, relative to what was validated.
    pub field_path: String,
    /// What was expected, and what was found.
    pub message: String,
}

impl ValidationError {
    /// An error at `field_path`.
    pub fn new(field_path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field_path: field_path.into(), message: message.into() }
    }

    /// The same error, its path nested under `parent` (`spec` + `name` = `spec.name`).
    #[must_use]
    pub fn under(self, parent: &str) -> Self {
        let field_path = if self.field_path.is_empty() {
            parent.to_owned()
        } else if self.field_path.starts_with('[') {
            format!("{parent}{}", self.field_path)
        } else {
            format!("{parent}.{}", self.field_path)
        };
        Self { field_path, ..self }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field_path, self.message)
    }
}

/// Longest key (experiment, variant, metric) in characters.
pub const MAX_KEY_LEN: usize = 64;

/// Checks the slug rule shared by experiment, variant and metric keys: 1..=64 characters,
/// lowercase ASCII letters, digits, `_` and `-`, starting with a letter or digit. Slugs
/// appear in URLs, metric labels and SQL identifiers of BI views, so they stay plain.
pub fn check_slug(field_path: &str, value: &str) -> Result<(), ValidationError> {
    let well_formed = !value.is_empty()
        && value.len() <= MAX_KEY_LEN
        && value.bytes().enumerate().all(|(index, byte)| {
            byte.is_ascii_lowercase()
                || byte.is_ascii_digit()
                || (index > 0 && (byte == b'_' || byte == b'-'))
        });
    if well_formed {
        Ok(())
    } else {
        Err(ValidationError::new(
            field_path,
            format!(
                "must be 1..={MAX_KEY_LEN} characters of a-z, 0-9, '_' or '-', starting with a letter or digit, got {value:?}"
            ),
        ))
    }
}

/// Checks that a free-text field is at most `max_chars` characters (and non-empty when
/// `required`).
pub fn check_text(
    field_path: &str,
    value: &str,
    required: bool,
    max_chars: usize,
) -> Result<(), ValidationError> {
    if required && value.trim().is_empty() {
        return Err(ValidationError::new(field_path, "is required"));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(ValidationError::new(
            field_path,
            format!("must be at most {max_chars} characters, got {chars}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_lowercase_digits_underscore_and_dash() {
        for ok in ["reco_ymal_v1", "als-popgen-v1", "a", "0abc", &"x".repeat(64)] {
            assert_eq!(check_slug("key", ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn slugs_refuse_empty_uppercase_spaces_leading_dash_and_long() {
        for bad in ["", "Reco", "a b", "-a", "_a", "é", &"x".repeat(65)] {
            let error = check_slug("key", bad).expect_err(bad);
            assert_eq!(error.field_path, "key");
        }
    }

    #[test]
    fn paths_nest_under_parents_with_dots_and_brackets() {
        let error =
            ValidationError::new("weight", "bad").under("[2]").under("variants").under("spec");
        assert_eq!(error.field_path, "spec.variants[2].weight");
        assert_eq!(error.to_string(), "spec.variants[2].weight: bad");
    }
}
