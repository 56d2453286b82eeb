//! YAML in and out, keeping source lines: every document becomes a JSON value (what the
//! model deserialises from) plus an index from field path (`spec.variants[1].weight`) to
//! the line it was written on, so errors from serde, local validation and the server can
//! all point at the file and line.
//!
//! One parser (yaml-rust2's event API, YAML 1.2 core schema: `NO` stays a string) reads
//! both YAML and JSON, so the two formats report positions the same way.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::{
    Yaml, YamlEmitter,
    parser::{Event, MarkedEventReceiver, Parser, Tag},
    scanner::{Marker, TScalarStyle},
};

/// One YAML document: its value and where each field path was written.
#[derive(Debug, Clone)]
pub struct Document {
    /// The content, as JSON.
    pub value: Value,
    /// Field path -> 1-based line.
    pub lines: PathLines,
}

/// Field path -> 1-based line of a document. Paths use `.` between keys and `[i]` for
/// list items; the document root is the empty path.
#[derive(Debug, Clone, Default)]
pub struct PathLines(BTreeMap<String, usize>);

/// The text is not well-formed YAML, or holds something JSON cannot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses every document of `text`; empty documents (only comments, `---` alone) are skipped.
pub fn load(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|error| YamlError {
        line: error.marker().line(),
        message: error.info().to_owned(),
    })?;
    match builder.error {
        Some(error) => Err(error),
        None => Ok(builder.documents),
    }
}

/// Renders a JSON value as block-style YAML (no leading `---`).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline_strings(true);
    // Writing into a String cannot fail; the emitter only errors on fmt::Write errors.
    let _ = emitter.dump(&to_yaml(value));
    let body = out.strip_prefix("---\n").or_else(|| out.strip_prefix("---")).unwrap_or(&out);
    format!("{}\n", body.trim_start_matches(' '))
}

// === impl PathLines ===

impl PathLines {
    /// The line of `path`, or of its nearest ancestor that was written down (a missing
    /// field is reported where its parent object starts).
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut current = path;
        loop {
            if let Some(line) = self.0.get(current) {
                return Some(*line);
            }
            if current.is_empty() {
                return None;
            }
            current = parent_path(current);
        }
    }

    /// Whether exactly this path was written down.
    pub fn contains(&self, path: &str) -> bool {
        self.0.contains_key(path)
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> ``.
fn parent_path(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(index) => &path[..index],
        None => "",
    }
}

// === Loader ===

/// An open collection while events stream in.
#[derive(Debug)]
enum Frame {
    Sequence { path: String, anchor: usize, items: Vec<Value> },
    Mapping { path: String, anchor: usize, entries: Map<String, Value>, key: Option<String> },
}

/// Turns parser events into documents and path lines.
#[derive(Debug, Default)]
struct Builder {
    documents: Vec<Document>,
    stack: Vec<Frame>,
    lines: PathLines,
    anchors: BTreeMap<usize, Value>,
    root: Option<Value>,
    error: Option<YamlError>,
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        if let Err(message) = self.handle(event, mark) {
            self.error = Some(YamlError { line: mark.line(), message });
        }
    }
}

impl Builder {
    fn handle(&mut self, event: Event, mark: Marker) -> Result<(), String> {
        match event {
            Event::DocumentStart => {
                self.lines = PathLines::default();
                self.root = None;
            }
            Event::DocumentEnd => {
                let value = self.root.take().unwrap_or(Value::Null);
                let lines = std::mem::take(&mut self.lines);
                if !value.is_null() {
                    self.documents.push(Document { value, lines });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(Frame::Mapping { path, key: key @ None, entries, .. }) =
                    self.stack.last_mut()
                {
                    if entries.contains_key(&text) {
                        return Err(format!("duplicate key {text:?}"));
                    }
                    self.lines.0.insert(join(path, &text), mark.line());
                    *key = Some(text);
                    return Ok(());
                }
                let path = self.next_path()?;
                self.lines.0.entry(path).or_insert(mark.line());
                let value = scalar(&text, style, tag.as_ref())?;
                self.finish(value, anchor)?;
            }
            Event::Alias(anchor) => {
                let path = self.next_path()?;
                self.lines.0.entry(path).or_insert(mark.line());
                let value = self.anchors.get(&anchor).cloned().ok_or("unknown alias")?;
                self.finish(value, 0)?;
            }
            Event::SequenceStart(anchor, _) => {
                let path = self.next_path()?;
                self.lines.0.entry(path.clone()).or_insert(mark.line());
                self.stack.push(Frame::Sequence { path, anchor, items: Vec::new() });
            }
            Event::MappingStart(anchor, _) => {
                let path = self.next_path()?;
                self.lines.0.entry(path.clone()).or_insert(mark.line());
                self.stack.push(Frame::Mapping { path, anchor, entries: Map::new(), key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Mapping { entries, anchor, .. }) => {
                        (Value::Object(entries), anchor)
                    }
                    None => return Err("unbalanced collection end".to_owned()),
                };
                self.finish(value, anchor)?;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
        }
        Ok(())
    }

    /// The path the next value takes, or an error for a collection used as a key.
    fn next_path(&self) -> Result<String, String> {
        match self.stack.last() {
            None => Ok(String::new()),
            Some(Frame::Sequence { path, items, .. }) => Ok(format!("{path}[{}]", items.len())),
            Some(Frame::Mapping { path, key: Some(key), .. }) => Ok(join(path, key)),
            Some(Frame::Mapping { key: None, .. }) => {
                Err("mapping keys must be plain strings, not lists or mappings".to_owned())
            }
        }
    }

    /// Stores a completed value in its parent (or as the document root).
    fn finish(&mut self, value: Value, anchor: usize) -> Result<(), String> {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping { entries, key, .. }) => {
                let key = key.take().ok_or("a value without a key")?;
                entries.insert(key, value);
            }
        }
        Ok(())
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// A scalar as JSON: quoted or `!!str` scalars stay strings; plain ones resolve by the
/// YAML 1.2 core schema (null, booleans, integers, floats).
fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if style != TScalarStyle::Plain || tag.is_some_and(|tag| tag.suffix == "str") {
        return Ok(Value::String(text.to_owned()));
    }
    Ok(match Yaml::from_str(text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(flag) => Value::Bool(flag),
        Yaml::Integer(integer) => Value::Number(integer.into()),
        Yaml::Real(real) => {
            let number = real.parse::<f64>().ok().and_then(Number::from_f64).ok_or_else(|| {
                format!(
                    "{text:?} is not a finite number (JSON cannot hold it); quote it for a string"
                )
            })?;
            Value::Number(number)
        }
        _ => Value::String(text.to_owned()),
    })
}

/// JSON as a yaml-rust2 tree for the emitter; integers stay integers.
fn to_yaml(value: &Value) -> Yaml {
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(flag) => Yaml::Boolean(*flag),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => Yaml::Integer(integer),
            // Whole doubles (the wire's only number type) print as integers, as written.
            (None, Some(real)) if real.fract() == 0.0 && real.abs() < 9.0e15 => {
                Yaml::Integer(real as i64)
            }
            _ => Yaml::Real(number.to_string()),
        },
        Value::String(text) => Yaml::String(text.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(to_yaml).collect()),
        Value::Object(entries) => {
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort_by_key(|key| (key_rank(key), key.as_str()));
            Yaml::Hash(
                keys.into_iter()
                    .map(|key| (Yaml::String(key.clone()), to_yaml(&entries[key])))
                    .collect(),
            )
        }
    }
}

/// Known keys print in the order people read them (key and status before the spec, a
/// spec's name before its variants); unknown keys, such as variant params, follow in
/// alphabetical order.
fn key_rank(key: &str) -> usize {
    #[rustfmt::skip]
    const ORDER: &[&str] = &[
        "key", "status", "rollout_variant", "version", "revision", "create_time", "update_time",
        "action", "actor", "change_note", "name", "description", "hypothesis", "owner", "salt",
        "layer", "range", "start", "end", "allocation_bps", "placements", "eligibility",
        "conditions", "attribute", "operator", "values", "schedule", "weight", "control",
        "variants", "params", "overrides", "role", "kind", "event_type",
        "denominator_event_type", "attribution_window_seconds", "direction", "guardrail",
        "max_relative_degradation", "metrics",
    ];
    if key == "spec" {
        // Last at the top level: the short facts first, then the long spec.
        return ORDER.len() + 1;
    }
    ORDER.iter().position(|known| *known == key).unwrap_or(ORDER.len())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_resolve_by_the_core_schema_and_quoted_scalars_stay_strings() {
        let documents =
            load("a: 1\nb: 2.5\nc: true\nd: ~\ne: NO\nf: \"7\"\ng: [x, 3]\n").expect("valid");
        assert_eq!(
            documents[0].value,
            json!({"a": 1, "b": 2.5, "c": true, "d": null, "e": "NO", "f": "7", "g": ["x", 3]})
        );
    }

    #[test]
    fn every_path_knows_its_line_across_documents() {
        let text = "key: one\nspec:\n  variants:\n    - key: a\n      weight: 1\n    - key: b\n      weight: 0\n---\nkey: two\n";
        let documents = load(text).expect("valid");
        assert_eq!(documents.len(), 2);
        let lines = &documents[0].lines;
        assert_eq!(lines.line_of("spec.variants[1].weight"), Some(7));
        assert_eq!(lines.line_of("spec.variants[0].key"), Some(4));
        assert_eq!(lines.line_of("spec"), Some(2));
        assert_eq!(lines.line_of("spec.owner"), Some(2), "missing fields point at the parent");
        assert_eq!(documents[1].lines.line_of("key"), Some(9), "lines count from the file start");
    }

    #[test]
    fn json_files_parse_with_lines_too() {
        let documents =
            load("{\n  \"key\": \"x\",\n  \"spec\": {\"name\": \"n\"}\n}\n").expect("json");
        assert_eq!(documents[0].value, json!({"key": "x", "spec": {"name": "n"}}));
        assert_eq!(documents[0].lines.line_of("spec.name"), Some(3));
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_report_the_line() {
        let error = load("a: 1\nb: [1, 2\n").expect_err("unclosed");
        assert!(error.line >= 2, "{error}");
        let error = load("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert_eq!(error.line, 3);
        assert!(error.message.contains("duplicate"));
    }

    #[test]
    fn known_keys_come_first_in_reading_order() {
        let text =
            to_string(&json!({"spec": {"variants": [], "name": "x"}, "key": "k", "zeta": 1}));
        assert_eq!(text, "key: k\nzeta: 1\nspec:\n  name: x\n  variants: []\n");
    }

    #[test]
    fn anchors_and_aliases_are_expanded() {
        let documents = load("base: &b {x: 1}\ncopy: *b\n").expect("valid");
        assert_eq!(documents[0].value, json!({"base": {"x": 1}, "copy": {"x": 1}}));
    }

    #[test]
    fn emitted_yaml_parses_back_to_the_same_value() {
        let value = json!({"name": "a: b", "n": 7, "w": 0.5, "flag": true, "list": ["NO", "1"],
                           "text": "two\nlines", "empty": {}});
        let text = to_string(&value);
        assert!(!text.starts_with("---"), "{text}");
        assert_eq!(load(&text).expect("round trip")[0].value, value, "{text}");
    }
}
