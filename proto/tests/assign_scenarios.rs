//! Behaviour of the assignment engine through its public API: overrides, placements,
//! rollout, restriction to keys, compile errors, and explanation agreeing with evaluation.

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use support::{compile, in_layer, now, proptest_config, running, user_request};
use time::Duration;
use vary_proto::assign::{
    AssignRequest, CompileError, CompiledSnapshot, Context, Outcome, Reason, UnitType,
};
use vary_proto::model::{
    Condition, Experiment, Operator, RuleGroup, Schedule, Snapshot, Status, json_to_struct,
};

fn with_overrides(mut experiment: Experiment, overrides: &[(&str, &str)]) -> Experiment {
    experiment.spec.overrides = overrides
        .iter()
        .map(|(unit, variant)| ((*unit).to_owned(), (*variant).to_owned()))
        .collect();
    experiment
}

fn with_status(mut experiment: Experiment, status: Status) -> Experiment {
    experiment.status = status;
    experiment
}

fn on_placements(mut experiment: Experiment, placements: &[&str]) -> Experiment {
    experiment.spec.placements =
        placements.iter().map(|placement| (*placement).to_owned()).collect();
    experiment
}

fn only_country(mut experiment: Experiment, country: &str) -> Experiment {
    experiment.spec.eligibility = vec![RuleGroup {
        conditions: vec![Condition {
            attribute: "country".into(),
            operator: Operator::Eq,
            values: vec![country.into()],
        }],
    }];
    experiment
}

#[test]
fn user_id_override_wins_over_session_id_override() {
    let compiled = compile(vec![with_overrides(
        running("qa", &[1.0, 1.0]),
        &[("qa-user", "v1"), ("qa-session", "v0")],
    )]);
    let request = AssignRequest {
        user_id: "qa-user".into(),
        session_id: "qa-session".into(),
        ..AssignRequest::default()
    };
    let assignment = &compiled.evaluate(&request, now()).assignments[0];
    assert_eq!((assignment.variant_key, assignment.reason), ("v1", Reason::Override));
    assert!(assignment.forced && assignment.log_exposure);
}

#[test]
fn a_listed_session_id_forces_even_when_the_unit_is_the_user() {
    let compiled =
        compile(vec![with_overrides(running("qa", &[1.0, 1.0]), &[("qa-session", "v1")])]);
    let request = AssignRequest {
        user_id: "anyone".into(),
        session_id: "qa-session".into(),
        ..AssignRequest::default()
    };
    let explained = compiled.explain(&request, now());
    assert_eq!(explained.unit.unit_type, UnitType::User);
    assert_eq!(
        explained.experiments[0].outcome,
        Outcome::Override { variant_key: "v1", matched: UnitType::Session }
    );
}

#[test]
fn overrides_bypass_rules_schedule_and_allocation_but_not_placement() {
    let mut experiment = with_overrides(
        on_placements(only_country(running("qa", &[1.0, 1.0]), "FR"), &["pdp"]),
        &[("qa-user", "v1")],
    );
    experiment.spec.allocation_bps = 0;
    experiment.spec.schedule = Schedule { start: Some(now() + Duration::days(30)), end: None };
    let compiled = compile(vec![experiment]);
    let on_pdp_request = user_request("qa-user", "pdp");
    let on_pdp = compiled.evaluate(&on_pdp_request, now()).assignments;
    assert_eq!(on_pdp.len(), 1);
    assert_eq!(on_pdp[0].reason, Reason::Override);
    let on_home_request = user_request("qa-user", "home");
    let on_home = compiled.evaluate(&on_home_request, now()).assignments;
    assert!(on_home.is_empty());
}

#[test]
fn draft_and_paused_overrides_merge_into_key_order() {
    let compiled = compile(vec![
        running("b_running", &[1.0, 1.0]),
        with_overrides(
            with_status(running("a_draft", &[1.0, 1.0]), Status::Draft),
            &[("qa", "v1")],
        ),
        with_overrides(
            with_status(running("c_paused", &[1.0, 1.0]), Status::Paused),
            &[("qa", "v0")],
        ),
        with_overrides(
            with_status(running("d_stopped", &[1.0, 1.0]), Status::Stopped),
            &[("qa", "v0")],
        ),
    ]);
    let result_request = user_request("qa", "pdp");
    let result = compiled.evaluate(&result_request, now()).assignments;
    let keys: Vec<(&str, Reason)> = result.iter().map(|a| (a.experiment_key, a.reason)).collect();
    assert_eq!(
        keys,
        [
            ("a_draft", Reason::Override),
            ("b_running", Reason::Hash),
            ("c_paused", Reason::Override)
        ]
    );
    // Without the override, only the running experiment assigns.
    let plain_request = user_request("someone", "pdp");
    let plain = compiled.evaluate(&plain_request, now()).assignments;
    assert_eq!(plain.len(), 1);
}

#[test]
fn stopped_experiments_roll_out_to_eligible_units_without_exposures() {
    let mut experiment =
        only_country(with_status(running("done", &[1.0, 1.0]), Status::Stopped), "DE");
    experiment.rollout_variant_key = Some("v1".into());
    experiment.spec.allocation_bps = 0;
    let compiled = compile(vec![experiment]);
    let mut request = user_request("u123", "pdp");
    request.context.country = "DE".into();
    let assignment = &compiled.evaluate(&request, now()).assignments[0];
    assert_eq!((assignment.variant_key, assignment.reason), ("v1", Reason::Rollout));
    assert!(!assignment.log_exposure && !assignment.forced);
    request.context.country = "FR".into();
    assert!(compiled.evaluate(&request, now()).assignments.is_empty());
}

#[test]
fn no_unit_assigns_nothing_and_explains_why() {
    let compiled = compile(vec![with_overrides(running("qa", &[1.0, 1.0]), &[("qa", "v1")])]);
    let request = AssignRequest::default();
    let result = compiled.evaluate(&request, now());
    assert_eq!(result.unit.unit_type, UnitType::None);
    assert!(result.assignments.is_empty());
    assert_eq!(compiled.explain(&request, now()).experiments[0].outcome, Outcome::NoUnit);
}

#[test]
fn an_empty_placement_matches_only_experiments_that_run_everywhere() {
    let compiled = compile(vec![
        running("everywhere", &[1.0, 1.0]),
        on_placements(running("pdp_only", &[1.0, 1.0]), &["pdp"]),
    ]);
    let keys = |placement: &str| -> Vec<String> {
        let request = user_request("u123", placement);
        let result = compiled.evaluate(&request, now());
        result.assignments.iter().map(|a| a.experiment_key.to_owned()).collect()
    };
    assert_eq!(keys(""), ["everywhere"]);
    assert_eq!(keys("cart"), ["everywhere"]);
    assert_eq!(keys("pdp"), ["everywhere", "pdp_only"]);
}

#[test]
fn experiment_keys_restrict_evaluation_and_explanation() {
    let compiled = compile(vec![
        running("one", &[1.0, 1.0]),
        running("two", &[1.0, 1.0]),
        on_placements(running("three", &[1.0, 1.0]), &["search"]),
    ]);
    let mut request = user_request("u123", "pdp");
    request.experiment_keys = vec!["three".into(), "two".into(), "missing".into(), "two".into()];
    let result = compiled.evaluate(&request, now());
    let keys: Vec<&str> = result.assignments.iter().map(|a| a.experiment_key).collect();
    assert_eq!(keys, ["two"]);
    let explained = compiled.explain(&request, now());
    let outcomes: Vec<(&str, &str)> =
        explained.experiments.iter().map(|e| (e.experiment_key, e.outcome.kind())).collect();
    assert_eq!(outcomes, [("three", "not_in_placement"), ("two", "assigned")]);
}

#[test]
fn assignments_carry_params_layer_and_version() {
    let mut experiment = in_layer(running("layered", &[1.0, 1.0]), "pdp", 0, 10_000);
    experiment.version = 4;
    let params_by_variant: Vec<_> =
        experiment.spec.variants.iter().map(|variant| json_to_struct(&variant.params)).collect();
    let compiled = compile(vec![experiment]);
    let request = user_request("u123", "pdp");
    let result = compiled.evaluate(&request, now());
    let assignment = &result.assignments[0];
    assert_eq!(assignment.version, 4);
    assert_eq!(assignment.layer, Some("pdp"));
    let index: usize = assignment.variant_key[1..].parse().expect("variants are v<index>");
    assert_eq!(**assignment.params, params_by_variant[index]);
    assert_eq!(result.revision, 1);
}

#[test]
fn explanations_name_failing_rules_schedule_and_status() {
    let mut scheduled = running("scheduled", &[1.0, 1.0]);
    scheduled.spec.schedule = Schedule { start: None, end: Some(now()) };
    let compiled = compile(vec![
        only_country(running("french", &[1.0, 1.0]), "FR"),
        with_status(running("paused", &[1.0, 1.0]), Status::Paused),
        scheduled,
    ]);
    let request = user_request("u123", "pdp");
    let explained = compiled.explain(&request, now());
    let kinds: Vec<&str> = explained.experiments.iter().map(|e| e.outcome.kind()).collect();
    assert_eq!(kinds, ["not_eligible", "not_running", "outside_schedule"]);
    let Outcome::NotEligible { failures } = &explained.experiments[0].outcome else {
        panic!("french is not eligible: {:?}", explained.experiments[0].outcome);
    };
    assert_eq!((failures[0].attribute, failures[0].operator), ("country", Operator::Eq));
    assert_eq!(explained.experiments[1].outcome, Outcome::NotRunning { status: Status::Paused });
}

#[test]
fn compile_refuses_what_evaluation_cannot_handle() {
    let duplicate = Snapshot {
        revision: 1,
        experiments: vec![running("same", &[1.0, 1.0]), running("same", &[1.0, 1.0])],
    };
    assert!(matches!(
        CompiledSnapshot::compile(&duplicate),
        Err(CompileError::DuplicateKey { key }) if key == "same"
    ));
    let unknown = Snapshot {
        revision: 1,
        experiments: vec![with_overrides(running("qa", &[1.0, 1.0]), &[("u", "nope")])],
    };
    assert!(matches!(
        CompiledSnapshot::compile(&unknown),
        Err(CompileError::UnknownVariant { field: "overrides", .. })
    ));
    let mut bad_number = running("numbers", &[1.0, 1.0]);
    bad_number.spec.eligibility = vec![RuleGroup {
        conditions: vec![Condition {
            attribute: "age".into(),
            operator: Operator::Lt,
            values: vec!["young".into()],
        }],
    }];
    let snapshot = Snapshot { revision: 1, experiments: vec![bad_number] };
    assert!(matches!(
        CompiledSnapshot::compile(&snapshot),
        Err(CompileError::MalformedCondition { group: 0, condition: 0, .. })
    ));
    let zero_weight = Snapshot { revision: 1, experiments: vec![running("w", &[1.0, 0.0])] };
    assert!(matches!(
        CompiledSnapshot::compile(&zero_weight),
        Err(CompileError::InvalidVariants { .. })
    ));
    // Finite weights whose sum overflows pass validation today but cannot be normalised:
    // refused here rather than served with gaps in the variant ranges.
    let overflowing = Snapshot { revision: 1, experiments: vec![running("w", &[1e308, 1e308])] };
    assert!(matches!(
        CompiledSnapshot::compile(&overflowing),
        Err(CompileError::InvalidVariants { .. })
    ));
}

/// A snapshot exercising every branch, for the agreement property.
fn busy_snapshot() -> CompiledSnapshot {
    let mut stopped = with_status(running("k_stopped", &[1.0, 1.0]), Status::Stopped);
    stopped.rollout_variant_key = Some("v0".into());
    let mut ramped = on_placements(running("e_ramped", &[3.0, 1.0]), &["pdp", "home"]);
    ramped.spec.allocation_bps = 3_000;
    let mut windowed = running("g_windowed", &[1.0, 1.0]);
    windowed.spec.schedule = Schedule { start: Some(now()), end: Some(now() + Duration::hours(1)) };
    compile(vec![
        in_layer(running("a_layer", &[1.0, 1.0]), "pdp", 0, 4_000),
        in_layer(running("b_layer", &[1.0, 1.0, 1.0]), "pdp", 4_000, 7_000),
        with_overrides(
            only_country(running("c_qa", &[1.0, 1.0]), "DE"),
            &[("u1", "v1"), ("s1", "v0")],
        ),
        with_overrides(
            with_status(running("d_draft", &[1.0, 1.0]), Status::Draft),
            &[("u2", "v1")],
        ),
        ramped,
        on_placements(running("f_search", &[1.0, 1.0]), &["search"]),
        windowed,
        with_status(running("h_paused", &[1.0, 1.0]), Status::Paused),
        stopped,
    ])
}

proptest! {
    #![proptest_config(proptest_config(256))]

    #[test]
    fn explanation_agrees_with_evaluation(
        user_id in prop::sample::select(vec!["", "u1", "u2", "u3", "ユーザー", "x"]),
        session_id in prop::sample::select(vec!["", "s1", "s2"]),
        placement in prop::sample::select(vec!["pdp", "home", "search", ""]),
        country in prop::sample::select(vec!["DE", "FR", ""]),
        minutes in -30_i64..90,
        restrict in prop::collection::vec(
            prop::sample::select(vec!["a_layer", "c_qa", "d_draft", "k_stopped", "zz"]), 0..3),
        suffix in 0_u32..1000,
    ) {
        let compiled = busy_snapshot();
        let user_id = if user_id == "x" { format!("x{suffix}") } else { user_id.to_owned() };
        let request = AssignRequest {
            user_id,
            session_id: session_id.to_owned(),
            context: Context {
                placement: placement.into(),
                country: country.into(),
                ..Context::default()
            },
            experiment_keys: restrict.iter().map(|key| (*key).to_owned()).collect(),
        };
        let at = now() + Duration::minutes(minutes);
        let evaluated: BTreeMap<&str, (&str, Reason)> = compiled
            .evaluate(&request, at)
            .assignments
            .into_iter()
            .map(|a| (a.experiment_key, (a.variant_key, a.reason)))
            .collect();
        let explained: BTreeMap<&str, (&str, Reason)> = compiled
            .explain(&request, at)
            .experiments
            .into_iter()
            .filter_map(|entry| {
                let reason = match entry.outcome {
                    Outcome::Assigned { .. } => Reason::Hash,
                    Outcome::Override { .. } => Reason::Override,
                    Outcome::Rollout { .. } => Reason::Rollout,
                    _ => return None,
                };
                Some((entry.experiment_key, (entry.outcome.variant_key()?, reason)))
            })
            .collect();
        prop_assert_eq!(evaluated, explained);
    }
}

/// `layered_snapshot` experiments: for each of two layers, cut points splitting the
/// layer into consecutive ranges, some of them left unowned.
fn layered_snapshot(cuts: &[Vec<u32>], statuses: &[u8]) -> CompiledSnapshot {
    let mut experiments = Vec::new();
    for (layer_index, layer_cuts) in cuts.iter().enumerate() {
        let mut bounds: Vec<u32> = layer_cuts.clone();
        bounds.extend([0, 10_000]);
        bounds.sort_unstable();
        bounds.dedup();
        for (slot, pair) in bounds.windows(2).enumerate() {
            let pick = statuses[(layer_index * 7 + slot) % statuses.len()];
            if pick.is_multiple_of(5) {
                continue; // an unowned range
            }
            let key = format!("l{layer_index}_{slot:02}");
            let mut experiment = in_layer(
                running(&key, &[1.0, 2.0]),
                &format!("layer{layer_index}"),
                pair[0],
                pair[1],
            );
            experiment.spec.allocation_bps = (u32::from(pick) * 40).min(10_000);
            if pick.is_multiple_of(7) {
                experiment.status = Status::Stopped;
                experiment.rollout_variant_key = Some("v1".into());
            }
            if pick.is_multiple_of(11) {
                experiment.spec.overrides = [("qa".to_owned(), "v1".to_owned())].into();
            }
            if pick.is_multiple_of(13) {
                experiment.spec.placements = vec!["search".into()];
            }
            experiments.push(experiment);
        }
    }
    compile(experiments)
}

proptest! {
    #![proptest_config(proptest_config(128))]

    #[test]
    fn layer_lookup_agrees_with_the_normative_order(
        cuts in prop::collection::vec(prop::collection::vec(1_u32..10_000, 0..12), 2),
        statuses in prop::collection::vec(any::<u8>(), 1..40),
        units in prop::collection::vec("[a-z0-9]{1,10}", 20),
        placement in prop::sample::select(vec!["pdp", "search"]),
    ) {
        let compiled = layered_snapshot(&cuts, &statuses);
        for unit in units.iter().map(String::as_str).chain(["qa"]) {
            let request = user_request(unit, placement);
            let evaluated: Vec<(&str, &str, Reason)> = compiled
                .evaluate(&request, now())
                .assignments
                .into_iter()
                .map(|a| (a.experiment_key, a.variant_key, a.reason))
                .collect();
            let explained: Vec<(&str, &str, Reason)> = compiled
                .explain(&request, now())
                .experiments
                .into_iter()
                .filter_map(|entry| {
                    let reason = match entry.outcome {
                        Outcome::Assigned { .. } => Reason::Hash,
                        Outcome::Override { .. } => Reason::Override,
                        Outcome::Rollout { .. } => Reason::Rollout,
                        _ => return None,
                    };
                    Some((entry.experiment_key, entry.outcome.variant_key()?, reason))
                })
                .collect();
            prop_assert_eq!(evaluated, explained, "unit {}", unit);
        }
    }
}

#[test]
fn unvalidated_overlapping_or_empty_layer_ranges_still_agree_with_explain() {
    // Validation refuses both; compile accepts them, and evaluation must then still
    // match the normative order rather than the layer lookup's assumptions.
    let snapshot = Snapshot {
        revision: 1,
        experiments: vec![
            in_layer(running("overlap_a", &[1.0, 1.0]), "shared", 0, 6_000),
            in_layer(running("overlap_b", &[1.0, 1.0]), "shared", 4_000, 10_000),
            in_layer(running("inverted", &[1.0, 1.0]), "other", 5_000, 3_000),
            in_layer(running("after_inverted", &[1.0, 1.0]), "other", 4_000, 8_000),
        ],
    };
    assert!(snapshot.validate().is_err());
    let compiled =
        CompiledSnapshot::compile(&snapshot).expect("compile does not re-check overlaps");
    let mut both = 0;
    for unit in support::units(11, 2_000) {
        let request = user_request(&unit, "pdp");
        let evaluated: Vec<&str> = compiled
            .evaluate(&request, now())
            .assignments
            .into_iter()
            .map(|a| a.experiment_key)
            .collect();
        let explained: Vec<&str> = compiled
            .explain(&request, now())
            .experiments
            .into_iter()
            .filter(|entry| entry.outcome.variant_key().is_some())
            .map(|entry| entry.experiment_key)
            .collect();
        assert_eq!(evaluated, explained, "unit {unit}");
        both += usize::from(evaluated.contains(&"overlap_a") && evaluated.contains(&"overlap_b"));
    }
    assert!(both > 0, "the overlap [4000, 6000) should enrol some units in both");
}
