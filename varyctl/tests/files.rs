//! The file format without a server: the example file, the JSON Schema kept in sync with
//! the model, and invalid files reported with file, line and field.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde_json::{Value, json};
use vary_proto::model::{
    BucketRange, Condition, Experiment, ExperimentSpec, Guardrail, GuardrailAction, LayerPlacement,
    Metric, MetricDirection, MetricKind, MetricRole, Operator, RuleGroup, Schedule, Status,
    Variant,
};
use varyctl::{manifest, yaml};

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}

fn schema_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo_file("config/experiment.schema.json")).expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

/// Every field of the model set, built with a struct literal so that a new model field
/// breaks this test's compilation until the schema (and this instance) know it.
fn spec_with_every_field() -> ExperimentSpec {
    ExperimentSpec {
        name: "All fields".into(),
        description: "d".into(),
        hypothesis: "h".into(),
        owner: "team".into(),
        salt: "salt".into(),
        layer: Some(LayerPlacement {
            name: "pdp".into(),
            range: BucketRange { start: 0, end: 500 },
        }),
        allocation_bps: 1000,
        variants: vec![
            Variant {
                key: "control".into(),
                weight: 1.0,
                control: true,
                params: json!({"model_version": "v2"}).as_object().expect("object").clone(),
                description: "c".into(),
            },
            Variant {
                key: "treatment".into(),
                weight: 2.5,
                control: false,
                params: serde_json::Map::new(),
                description: String::new(),
            },
        ],
        placements: vec!["pdp".into()],
        eligibility: vec![RuleGroup {
            conditions: vec![
                Condition {
                    attribute: "country".into(),
                    operator: Operator::In,
                    values: vec!["DE".into()],
                },
                Condition { attribute: "x".into(), operator: Operator::Exists, values: vec![] },
            ],
        }],
        schedule: Schedule {
            start: Some(time::macros::datetime!(2026-01-01 0:00 UTC)),
            end: Some(time::macros::datetime!(2026-02-01 0:00 UTC)),
        },
        overrides: BTreeMap::from([("qa-1".to_owned(), "treatment".to_owned())]),
        metrics: vec![
            Metric {
                key: "ctr".into(),
                role: MetricRole::Primary,
                kind: MetricKind::Ratio,
                event_type: "click".into(),
                denominator_event_type: Some("impression".into()),
                attribution_window_seconds: Some(3600),
                direction: MetricDirection::Increase,
                guardrail: None,
            },
            Metric {
                key: "latency".into(),
                role: MetricRole::Guardrail,
                kind: MetricKind::Mean,
                event_type: "page_load".into(),
                denominator_event_type: None,
                attribution_window_seconds: None,
                direction: MetricDirection::Decrease,
                guardrail: Some(Guardrail {
                    max_relative_degradation: 0.1,
                    action: GuardrailAction::Pause,
                }),
            },
        ],
    }
}

#[test]
fn the_example_file_is_accepted_by_the_model_and_the_schema() {
    let path = repo_file("config/experiments.example.yml");
    let located = manifest::load_file(&path).unwrap_or_else(|error| panic!("{error}"));
    assert!(located.len() >= 9, "{} experiments", located.len());

    let validator = schema_validator();
    let text = std::fs::read_to_string(&path).expect("example");
    for document in yaml::load(&text).expect("example is YAML") {
        let errors = schema_errors(&validator, &document.value);
        assert!(errors.is_empty(), "{:?}: {errors:?}", document.value.get("key"));
    }
}

#[test]
fn the_example_file_covers_what_the_recommender_team_runs() {
    let located = manifest::load_file(&repo_file("config/experiments.example.yml")).expect("load");
    let manifests: Vec<&manifest::Manifest> = located.iter().map(|l| &l.manifest).collect();
    let params_name = |name: &str| {
        manifests.iter().any(|m| m.spec.variants.iter().any(|v| v.params.contains_key(name)))
    };
    assert!(params_name("model_registry_name") && params_name("model_version"));
    assert!(params_name("prompt_template") && params_name("prompt_version"));
    let weights = |m: &&&manifest::Manifest| -> Vec<f64> {
        m.spec.variants.iter().map(|v| v.weight).collect()
    };
    assert!(manifests.iter().any(|m| weights(&m) == vec![90.0, 10.0]), "a 90/10 split");
    assert!(manifests.iter().any(|m| weights(&m) == vec![80.0, 10.0, 10.0]), "an 80/10/10");
    for placement in ["pdp", "newsfeed", "search", "home", "cart"] {
        assert!(
            manifests.iter().any(|m| m.spec.placements.iter().any(|p| p == placement)),
            "{placement}"
        );
    }
    let running: Vec<Experiment> = manifests
        .iter()
        .filter(|m| m.status == Some(Status::Running))
        .map(|m| Experiment {
            key: m.key.clone(),
            version: 1,
            status: Status::Running,
            spec: m.spec.clone(),
            rollout_variant_key: None,
        })
        .collect();
    assert!(running.len() >= 4, "several running experiments for a local stack");
    for experiment in &running {
        assert_eq!(experiment.layer_overlap(&running), None, "{}", experiment.key);
    }
}

#[test]
fn the_schema_accepts_every_model_field_and_what_get_prints() {
    let validator = schema_validator();
    let spec = serde_json::to_value(spec_with_every_field()).expect("serialise");
    let document = json!({
        "key": "all-fields", "status": "stopped", "rollout_variant": "treatment",
        "version": 3, "revision": 9, "create_time": "2026-01-01T00:00:00Z",
        "update_time": "2026-01-02T00:00:00Z", "spec": spec,
    });
    assert_eq!(schema_errors(&validator, &document), Vec::<String>::new());
    assert_eq!(schema_errors(&validator, &json!([document])), Vec::<String>::new());
}

#[test]
fn the_schema_refuses_what_the_model_refuses() {
    let validator = schema_validator();
    let valid =
        json!({"key": "k", "spec": serde_json::to_value(spec_with_every_field()).expect("json")});
    let broken = |pointer: &str, value: Value| {
        let mut document = valid.clone();
        *document.pointer_mut(pointer).expect("pointer exists") = value;
        document
    };
    let cases = [
        broken("/spec/variants/1/weight", json!(0)),
        broken("/spec/allocation_bps", json!(10001)),
        broken("/spec/eligibility/0/conditions/0/operator", json!("like")),
        broken("/spec/eligibility/0/conditions/0/values/0", json!(true)),
        broken("/spec/metrics/0/kind", json!("count")),
        broken("/key", json!("Upper Case")),
        broken("/spec/variants", json!([])),
    ];
    for (index, case) in cases.iter().enumerate() {
        assert!(!validator.is_valid(case), "case {index} should be invalid");
    }
    let mut unknown = valid.clone();
    unknown["spec"]["wieght"] = json!(1);
    assert!(!validator.is_valid(&unknown), "unknown fields are refused");
}

fn load_error(text: &str) -> String {
    let path = Path::new("experiments/bad.yml");
    match manifest::load_text(path, text) {
        Ok(_) => panic!("the file should be refused"),
        Err(error) => error.to_string(),
    }
}

const HEADER: &str = "key: bad\nspec:\n  name: Bad\n  owner: team\n  allocation_bps: 10000\n";

#[test]
fn validation_errors_name_file_line_and_field() {
    let text = format!(
        "{HEADER}  variants:\n    - {{key: a, weight: 1, control: true}}\n    - key: b\n      weight: 0\n"
    );
    let error = load_error(&text);
    assert!(error.starts_with("experiments/bad.yml:9: "), "{error}");
    assert!(error.contains("spec.variants[1].weight"), "{error}");
    assert!(error.contains("experiment \"bad\""), "{error}");
}

#[test]
fn unknown_fields_and_wrong_types_name_file_line_and_field() {
    let typo = format!("{HEADER}  variants: []\n  hypothessis: typo\n");
    let error = load_error(&typo);
    assert!(error.starts_with("experiments/bad.yml:7: "), "{error}");
    assert!(error.contains("hypothessis"), "{error}");

    let wrong_type = format!(
        "{HEADER}  variants: []\n  eligibility:\n    - conditions:\n        - attribute: logged_in\n          operator: eq\n          values: [true]\n"
    );
    let error = load_error(&wrong_type);
    assert!(error.starts_with("experiments/bad.yml:11: "), "{error}");
    assert!(error.contains("spec.eligibility[0].conditions[0].values[0]"), "{error}");
}

#[test]
fn experiments_in_a_top_level_list_are_located_too() {
    let text = "- key: ok\n  spec: {name: n, owner: o, allocation_bps: 1, variants: [{key: a, weight: 1, control: true}, {key: b, weight: 1}]}\n- key: second\n  spec:\n    name: n\n    owner: o\n    allocation_bps: 1\n    variants: [{key: a, weight: 1}, {key: b, weight: 1}]\n";
    let error = load_error(text);
    assert!(error.starts_with("experiments/bad.yml:8: "), "{error}");
    assert!(error.contains("spec.variants: must have exactly one control"), "{error}");
}

#[test]
fn syntax_errors_and_duplicate_keys_across_files_are_refused() {
    let error = load_error("key: [unclosed\n");
    assert!(error.starts_with("experiments/bad.yml:"), "{error}");

    let dir = tempfile::tempdir().expect("tempdir");
    let experiment = "key: same\nspec: {name: n, owner: o, allocation_bps: 1, variants: [{key: a, weight: 1, control: true}, {key: b, weight: 1}]}\n";
    std::fs::write(dir.path().join("a.yml"), experiment).expect("write");
    std::fs::write(dir.path().join("b.yaml"), experiment).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not an experiment").expect("write");
    let error = manifest::load_paths(&[dir.path().to_owned()]).expect_err("duplicate key");
    assert!(error.to_string().contains("also defined at"), "{error}");
    assert_eq!(error.exit_code(), 2);
}
