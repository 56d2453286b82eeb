//! Experiments as code: the file format, and loading files and directories into validated
//! manifests that remember where each came from. See docs/experiments-as-code.md.
//!
//! Every problem is found before anything is written: a file set with one bad experiment
//! applies nothing, and the error names the file, the line and the field.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::Deserialize;
use serde_json::Value;
use vary_proto::model::{Experiment, ExperimentSpec, Status, check_slug};

use crate::{
    error::CliError,
    yaml::{self, PathLines},
};

/// One experiment as written in a file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The experiment's key.
    pub key: String,
    /// Desired lifecycle status; absent means "leave the status alone".
    #[serde(default)]
    pub status: Option<Status>,
    /// With `status: stopped`: the variant to roll out when apply stops the experiment.
    #[serde(default)]
    pub rollout_variant: Option<String>,
    /// The spec, in the model's serde form.
    pub spec: ExperimentSpec,
    /// Read-only fields of `experiments get -o yaml|json`, accepted and ignored so that
    /// output can be applied back.
    #[serde(default, rename = "version")]
    _version: Option<Value>,
    #[serde(default, rename = "revision")]
    _revision: Option<Value>,
    #[serde(default, rename = "create_time")]
    _create_time: Option<Value>,
    #[serde(default, rename = "update_time")]
    _update_time: Option<Value>,
}

/// Where a manifest was written: file, document and path prefix, for error messages.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub file: PathBuf,
    /// Path of the experiment inside its document (`""`, or `[2]` in a top-level list).
    pub prefix: String,
    /// Lines of that document.
    pub lines: Arc<PathLines>,
}

/// A validated manifest and its source.
#[derive(Debug, Clone)]
pub struct Located {
    /// The experiment.
    pub manifest: Manifest,
    /// Where it came from.
    pub source: Source,
}

// === impl Manifest ===

impl Manifest {
    /// A manifest for `key` with `spec` (what `edit` writes out).
    pub fn new(key: String, status: Option<Status>, spec: ExperimentSpec) -> Self {
        Manifest {
            key,
            status,
            rollout_variant: None,
            spec,
            _version: None,
            _revision: None,
            _create_time: None,
            _update_time: None,
        }
    }

    /// The file form: `key`, `status` (when set) and `spec`.
    pub fn to_value(&self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("key".into(), Value::String(self.key.clone()));
        if let Some(status) = self.status {
            object.insert("status".into(), Value::String(status.as_str().into()));
        }
        if let Some(rollout) = &self.rollout_variant {
            object.insert("rollout_variant".into(), Value::String(rollout.clone()));
        }
        object.insert("spec".into(), spec_value(&self.spec));
        Value::Object(object)
    }

    /// The checks the server would make, plus the file-only rules, with paths relative to
    /// the experiment (`spec.variants[1].weight`).
    fn validate(&self) -> Result<(), (String, String)> {
        check_slug("key", &self.key).map_err(|error| (error.field_path, error.message))?;
        self.spec
            .validate()
            .map_err(|error| (format!("spec.{}", error.field_path), error.message))?;
        if let Some(rollout) = &self.rollout_variant {
            if self.status != Some(Status::Stopped) {
                return Err((
                    "rollout_variant".into(),
                    "is only allowed with status: stopped".into(),
                ));
            }
            if self.spec.variant(rollout).is_none() {
                return Err((
                    "rollout_variant".into(),
                    format!("names variant {rollout:?}, which spec.variants does not have"),
                ));
            }
        }
        Ok(())
    }
}

/// The spec as JSON. Serialising a plain data struct to a Value cannot fail.
pub fn spec_value(spec: &ExperimentSpec) -> Value {
    serde_json::to_value(spec).unwrap_or(Value::Null)
}

// === impl Source ===

impl Source {
    /// `file:line` of `path` (relative to the experiment; server and wire names are
    /// translated to the file's), or just `file` when no line is known.
    pub fn locate(&self, path: &str) -> String {
        let file_path = join_prefix(&self.prefix, &to_file_path(path));
        match self.lines.line_of(&file_path) {
            Some(line) => format!("{}:{line}", self.file.display()),
            None => self.file.display().to_string(),
        }
    }

    /// A server message located in the file: INVALID_ARGUMENT messages start with the
    /// wire field path (`spec.variants[2].weight: …`), which names the line; other
    /// messages are placed at the experiment's key.
    /// `code` (e.g. `FAILED_PRECONDITION`) goes before the message; the server's own
    /// `experiment "key": ` prefix is dropped, the location already names it.
    pub fn server_error(&self, key: &str, code: &str, message: &str) -> String {
        let own_prefix = format!("experiment {key:?}: ");
        let message = message.strip_prefix(&own_prefix).unwrap_or(message);
        if let Some((path, rest)) = message.split_once(": ")
            && (path.starts_with("spec.") || path == "spec" || path == "key")
            && !path.contains(' ')
        {
            return self.error(key, path, &format!("{rest} ({code})"));
        }
        format!("{}: experiment {key:?}: {code}: {message}", self.locate("key"))
    }

    /// `file:line: experiment "key": path: message`.
    pub fn error(&self, key: &str, path: &str, message: &str) -> String {
        let shown = to_file_path(path);
        format!("{}: experiment {key:?}: {shown}: {message}", self.locate(path))
    }
}

/// The wire names of a few fields differ from the file's (`schedule.end_time` is
/// `schedule.end`); server messages use the wire's. Translate back per segment.
pub fn to_file_path(path: &str) -> String {
    let mut out = path
        .replace("schedule.start_time", "schedule.start")
        .replace("schedule.end_time", "schedule.end")
        .replace("spec.layer_range", "spec.layer.range");
    if out == "spec.layer" {
        out = "spec.layer.name".into();
    }
    if out.ends_with(".attribution_window") {
        out.push_str("_seconds");
    }
    out
}

fn join_prefix(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{path}"),
    }
}

// === Loading ===

/// Loads every experiment from `paths` (files, or directories searched recursively for
/// `.yml`, `.yaml` and `.json`), validated, with duplicate keys refused.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Located>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files)?;
    }
    let mut all = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        for located in load_file(&file)? {
            let here = located.source.locate("key");
            if let Some(first) = seen.insert(located.manifest.key.clone(), here.clone()) {
                return Err(CliError::InvalidFile(format!(
                    "{here}: experiment {:?} is also defined at {first}",
                    located.manifest.key
                )));
            }
            all.push(located);
        }
    }
    check_layers(&all)?;
    Ok(all)
}

/// Experiments the files want RUNNING must not claim the same buckets of one layer: the
/// server would refuse the second start, after the first had been written. Overlaps with
/// experiments outside the files are the server's to find.
fn check_layers(all: &[Located]) -> Result<(), CliError> {
    let running: Vec<(&Located, Experiment)> = all
        .iter()
        .filter(|located| located.manifest.status == Some(Status::Running))
        .map(|located| {
            let manifest = &located.manifest;
            let experiment = Experiment {
                key: manifest.key.clone(),
                version: 1,
                status: Status::Running,
                spec: manifest.spec.clone(),
                rollout_variant_key: None,
            };
            (located, experiment)
        })
        .collect();
    for (index, (located, experiment)) in running.iter().enumerate() {
        let earlier = running[..index].iter().map(|(_, other)| other);
        if let Some(overlap) = experiment.layer_overlap(earlier) {
            let key = &located.manifest.key;
            return Err(CliError::InvalidFile(located.source.error(
                key,
                "spec.layer.range",
                &overlap.to_string(),
            )));
        }
    }
    Ok(())
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let metadata = std::fs::metadata(path)
        .map_err(|source| CliError::Read { path: path.to_owned(), source })?;
    if !metadata.is_dir() {
        files.push(path.to_owned());
        return Ok(());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|source| CliError::Read { path: path.to_owned(), source })?;
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|child| !is_hidden(child))
        .collect();
    children.sort();
    for child in children {
        let is_config =
            matches!(child.extension().and_then(|ext| ext.to_str()), Some("yml" | "yaml" | "json"));
        if child.is_dir() || is_config {
            collect_files(&child, files)?;
        }
    }
    Ok(())
}

fn is_hidden(path: &Path) -> bool {
    path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with('.'))
}

/// Every experiment in one file: documents that are one experiment, or a list of them.
pub fn load_file(file: &Path) -> Result<Vec<Located>, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|source| CliError::Read { path: file.to_owned(), source })?;
    load_text(file, &text)
}

/// [`load_file`] on text already read.
pub fn load_text(file: &Path, text: &str) -> Result<Vec<Located>, CliError> {
    let documents = yaml::load(text).map_err(|error| {
        CliError::InvalidFile(format!("{}:{}: {}", file.display(), error.line, error.message))
    })?;
    let mut located = Vec::new();
    for document in documents {
        let lines = Arc::new(document.lines);
        let items = match document.value {
            Value::Array(items) => {
                items.into_iter().enumerate().map(|(i, item)| (format!("[{i}]"), item)).collect()
            }
            other => vec![(String::new(), other)],
        };
        for (prefix, value) in items {
            let source = Source { file: file.to_owned(), prefix, lines: lines.clone() };
            located.push(parse_one(value, source)?);
        }
    }
    Ok(located)
}

fn parse_one(value: Value, source: Source) -> Result<Located, CliError> {
    let key = value.get("key").and_then(Value::as_str).unwrap_or("?").to_owned();
    if !value.is_object() {
        return Err(CliError::InvalidFile(source.error(
            &key,
            "",
            "an experiment must be a mapping with `key` and `spec`",
        )));
    }
    let manifest: Manifest = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = serde_path(error.path());
        let inner = error.into_inner().to_string();
        // An unknown field is reported at its parent; point at the field itself.
        let path = match unknown_field(&inner) {
            Some(field) => join_prefix(&path, field),
            None => path,
        };
        CliError::InvalidFile(source.error(&key, &path, &inner))
    })?;
    manifest
        .validate()
        .map_err(|(path, message)| CliError::InvalidFile(source.error(&key, &path, &message)))?;
    Ok(Located { manifest, source })
}

/// serde_path_to_error's path in our notation (`spec.variants[1].weight`).
fn serde_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => out = join_prefix(&out, key),
            serde_path_to_error::Segment::Enum { variant } => out = join_prefix(&out, variant),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

/// The field name of serde's "unknown field `x`, expected …".
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Source {
        let documents = yaml::load(text).expect("yaml");
        let lines = Arc::new(documents.into_iter().next().expect("one document").lines);
        Source { file: PathBuf::from("e.yml"), prefix: String::new(), lines }
    }

    #[test]
    fn server_field_paths_map_back_to_the_line_in_the_file() {
        let text = "key: k\nspec:\n  schedule:\n    start: 2026-01-01T00:00:00Z\n    end: 2025-01-01T00:00:00Z\n  layer:\n    name: pdp\n    range: {start: 0, end: 10}\n  metrics:\n    - key: m\n      attribution_window_seconds: 0\n";
        let source = source(text);
        let located = |message: &str| source.server_error("k", "INVALID_ARGUMENT", message);
        assert_eq!(
            located("spec.schedule.end_time: must be after schedule.start"),
            "e.yml:5: experiment \"k\": spec.schedule.end: must be after schedule.start (INVALID_ARGUMENT)"
        );
        assert!(located("spec.layer_range: bad").starts_with("e.yml:8: "));
        assert!(located("spec.layer: bad").starts_with("e.yml:7: "));
        assert!(located("spec.metrics[0].attribution_window: bad").starts_with("e.yml:11: "));
        assert!(located("spec.owner: is required").starts_with("e.yml:2: "), "parent line");
        assert_eq!(
            located("experiment \"k\": layer \"pdp\": range overlaps"),
            "e.yml:1: experiment \"k\": INVALID_ARGUMENT: layer \"pdp\": range overlaps"
        );
    }
}
