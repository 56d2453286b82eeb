//! The one number grammar of eligibility rules, so every language reads `"1e3"`, `".5"`
//! or `" 5"` the same way (`docs/assignment.md` section 6).

/// Reads a rule attribute as a number for `lt`, `lte`, `gt` and `gte`.
///
/// Normative grammar, on the whole string (no whitespace trimmed, ASCII only):
/// `[+-]? ( DIGITS ( "." DIGITS? )? | "." DIGITS ) ( [eE] [+-]? DIGITS )?`, read as the
/// nearest IEEE-754 binary64 and refused when that is infinite (`1e400`). So `"42"`,
/// `"-0.5"`, `".5"`, `"5."` and `"1e3"` are numbers; `""`, `" 5"`, `"0x10"`, `"1_000"`,
/// `"inf"` and `"NaN"` are not.
///
/// ```
/// use vary_proto::assign::parse_rule_number;
///
/// assert_eq!(parse_rule_number("1e3"), Some(1000.0));
/// assert_eq!(parse_rule_number(" 5"), None);
/// ```
pub fn parse_rule_number(text: &str) -> Option<f64> {
    if !matches_number_grammar(text.as_bytes()) {
        return None;
    }
    text.parse::<f64>().ok().filter(|number| number.is_finite())
}

fn matches_number_grammar(bytes: &[u8]) -> bool {
    fn skip_digits(bytes: &[u8], mut at: usize) -> usize {
        while at < bytes.len() && bytes[at].is_ascii_digit() {
            at += 1;
        }
        at
    }
    let mut at = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let integer_end = skip_digits(bytes, at);
    let mut has_digits = integer_end > at;
    at = integer_end;
    if bytes.get(at) == Some(&b'.') {
        let fraction_end = skip_digits(bytes, at + 1);
        has_digits |= fraction_end > at + 1;
        at = fraction_end;
    }
    if !has_digits {
        return false;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let exponent_end = skip_digits(bytes, at);
        if exponent_end == at {
            return false;
        }
        at = exponent_end;
    }
    at == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_grammar_accepts_plain_decimals_and_exponents() {
        for (text, expected) in
            [("42", 42.0), ("-0.5", -0.5), ("+3", 3.0), (".5", 0.5), ("5.", 5.0), ("1E-2", 0.01)]
        {
            assert_eq!(parse_rule_number(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn number_grammar_refuses_everything_else() {
        for text in [
            "", " 5", "5 ", ".", "+", "e5", "1e", "1e+", "0x10", "1_000", "inf", "NaN", "1e400",
            "١",
        ] {
            assert_eq!(parse_rule_number(text), None, "{text:?}");
        }
    }
}
