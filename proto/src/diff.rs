//! Field-level differences between two JSON documents (`spec.variants[1].weight`), shared
//! by the control plane's DiffExperimentVersions and varyctl's apply/diff/edit, so both
//! sides name fields the same way.

use serde::Serialize;
use serde_json::Value;

/// One field that differs; `None` where the field is absent on that side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Dotted path with `[i]` for list items.
    pub path: String,
    /// The value now (on the server, or in the older version).
    pub before: Option<Value>,
    /// The value wanted (in the file, or in the newer version).
    pub after: Option<Value>,
}

/// Every leaf that differs between `before` and `after`, under `prefix`, in key order.
pub fn diff(prefix: &str, before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    diff_into(prefix.to_owned(), Some(before), Some(after), &mut changes);
    changes
}

fn diff_into(
    path: String,
    before: Option<&Value>,
    after: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    match (before, after) {
        (Some(Value::Object(old)), Some(Value::Object(new))) => {
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                diff_into(child, old.get(key), new.get(key), out);
            }
        }
        (Some(Value::Array(old)), Some(Value::Array(new))) => {
            for index in 0..old.len().max(new.len()) {
                diff_into(format!("{path}[{index}]"), old.get(index), new.get(index), out);
            }
        }
        (old, new) if old == new => {}
        (old, new) => out.push(FieldChange { path, before: old.cloned(), after: new.cloned() }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_only_the_changed_leaf_with_its_path() {
        let before =
            json!({"spec": {"variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}]}});
        let after =
            json!({"spec": {"variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 3}]}});
        assert_eq!(
            diff("", &before, &after),
            vec![FieldChange {
                path: "spec.variants[1].weight".into(),
                before: Some(json!(1)),
                after: Some(json!(3)),
            }]
        );
    }

    #[test]
    fn added_and_removed_fields_have_one_side_missing() {
        let changes = diff("", &json!({"a": 1, "list": [1]}), &json!({"b": 2, "list": [1, 2]}));
        let paths: Vec<(&str, bool, bool)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.before.is_some(), c.after.is_some()))
            .collect();
        assert_eq!(paths, vec![("a", true, false), ("b", false, true), ("list[1]", false, true)]);
    }

    #[test]
    fn identical_documents_have_no_changes() {
        let doc = json!({"spec": {"name": "x", "variants": [1, 2]}});
        assert!(diff("", &doc, &doc).is_empty());
    }
}
