//! How varyctl shows field-level differences; the differences themselves come from
//! `vary_proto::diff`, the same code the server's DiffExperimentVersions runs.

use serde_json::Value;
pub use vary_proto::diff::{FieldChange, diff};

/// `spec.variants[1].weight: 50.0 -> 10.0` (`(absent)` for a missing side).
pub fn describe(change: &FieldChange) -> String {
    format!("{}: {} -> {}", change.path, show(change.before.as_ref()), show(change.after.as_ref()))
}

fn show(value: Option<&Value>) -> String {
    const LIMIT: usize = 80;
    let Some(value) = value else { return "(absent)".to_owned() };
    let text = match value.as_f64() {
        Some(number) if value.is_number() => show_number(number),
        _ => value.to_string(),
    };
    if text.chars().count() <= LIMIT {
        return text;
    }
    let cut: String = text.chars().take(LIMIT).collect();
    format!("{cut}…")
}

/// A number as people write it: whole numbers without `.0` (the wire carries every
/// number as a double, so `50` comes back as `50.0`).
pub fn show_number(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        format!("{}", number as i64)
    } else {
        format!("{number}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_changed_leaf_is_reported_under_the_prefix() {
        let before =
            json!({"variants": [{"key": "a", "weight": 1.0}, {"key": "b", "weight": 1.0}]});
        let after = json!({"variants": [{"key": "a", "weight": 1.0}, {"key": "b", "weight": 3.0}]});
        let changes = diff("spec", &before, &after);
        assert_eq!(changes.len(), 1);
        assert_eq!(describe(&changes[0]), "spec.variants[1].weight: 1 -> 3");
    }

    #[test]
    fn added_and_removed_fields_show_absent() {
        let changes = diff("", &json!({"a": 1}), &json!({"b": "x"}));
        let described: Vec<String> = changes.iter().map(describe).collect();
        assert_eq!(described, vec!["a: 1 -> (absent)", "b: (absent) -> \"x\""]);
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(200);
        let text = describe(&diff("", &json!({"d": ""}), &json!({"d": long}))[0]);
        assert!(text.ends_with('…') && text.len() < 120, "{text}");
    }
}
