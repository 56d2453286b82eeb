//! `vary-bench traffic`: simulated shoppers for demos and the console, not for measuring.
//! Each shopper visits a few placements through the agent's `Assign` (the agent records
//! the exposures), then sends outcome events through `Track`. Conversion probabilities
//! are scaled by the effects given per variant, so the results pages show what a real
//! experiment with that effect would: a lift with its confidence interval, or nothing.
//!
//! Page load times never depend on the variant: the example experiments have a `pause`
//! guardrail on them, and demo traffic should not pause experiments by accident.

use std::{collections::BTreeSet, str::FromStr};

use anyhow::Context as _;
use futures::{StreamExt as _, stream};
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use vary_proto::pb::{
    self, assignment_service_client::AssignmentServiceClient,
    event_capture_service_client::EventCaptureServiceClient,
};

use crate::{cli::TrafficArgs, load, mix::pick_weighted};

/// Placements a shopper visits, with their share of visits in percent.
const PLACEMENTS: [(&str, u32); 5] =
    [("pdp", 40), ("newsfeed", 20), ("search", 20), ("home", 15), ("cart", 5)];
/// Countries, drawn uniformly: the example experiments' rules name all but US.
const COUNTRIES: [&str; 6] = ["DE", "AT", "CH", "FR", "NL", "US"];
/// Devices, as the example experiments' rules name them.
const DEVICES: [&str; 3] = ["ios", "android", "web"];

/// Baseline behaviour of a shopper in no treatment.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseRates {
    /// Chance that a shopper adds something to the cart.
    pub add_to_cart: f64,
    /// Chance that an impression is clicked.
    pub click: f64,
    /// Chance that a shopper bounces.
    pub bounce: f64,
    /// Chance that an add-to-cart ends in a purchase.
    pub purchase_given_cart: f64,
}

impl Default for BaseRates {
    fn default() -> Self {
        Self { add_to_cart: 0.10, click: 0.20, bounce: 0.30, purchase_given_cart: 0.5 }
    }
}

/// A relative change of conversion for shoppers who saw a variant: `v3=0.08` (that
/// variant key in any experiment) or `reco_ymal_model_v3/v3=0.08` (in one experiment).
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// The experiment; `None` matches the variant key in every experiment.
    pub experiment_key: Option<String>,
    /// The variant.
    pub variant_key: String,
    /// Relative change of the click and add-to-cart chances (0.08 = +8%); bounces move
    /// the other way. At least -1.
    pub relative: f64,
}

impl FromStr for Effect {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected = "expected [EXPERIMENT/]VARIANT=RELATIVE_CHANGE, e.g. v3=0.08";
        let (target, relative) = text.split_once('=').ok_or_else(|| expected.to_owned())?;
        let relative: f64 = relative
            .trim()
            .parse()
            .map_err(|_| format!("{relative:?} is not a number; {expected}"))?;
        if !relative.is_finite() || relative < -1.0 {
            return Err(format!("{relative} is below -1 (a chance cannot go below 0)"));
        }
        let (experiment_key, variant_key) = match target.split_once('/') {
            Some((experiment, variant)) => (Some(experiment.trim().to_owned()), variant),
            None => (None, target),
        };
        let variant_key = variant_key.trim().to_owned();
        if variant_key.is_empty() || experiment_key.as_deref() == Some("") {
            return Err(expected.to_owned());
        }
        Ok(Self { experiment_key, variant_key, relative })
    }
}

/// How much more (or less) likely a shopper who saw `seen` is to convert: the product of
/// the matching effects, 1 when none match.
pub fn conversion_multiplier(seen: &BTreeSet<(String, String)>, effects: &[Effect]) -> f64 {
    seen.iter()
        .flat_map(|(experiment, variant)| {
            effects.iter().filter(move |effect| {
                effect.variant_key == *variant
                    && effect.experiment_key.as_deref().is_none_or(|key| key == experiment)
            })
        })
        .map(|effect| 1.0 + effect.relative)
        .product()
}

/// One simulated shopper: who, and the pages they ask the agent about.
#[derive(Debug, Clone)]
pub struct Shopper {
    /// Always set: outcomes join exposures on it.
    pub user_id: String,
    /// One session for the whole visit.
    pub session_id: String,
    /// One `Assign` each.
    pub visits: Vec<pb::AssignRequest>,
}

/// The two random streams of one shopper, kept apart so that what a shopper does never
/// shifts with how many draws describing them took.
#[derive(Debug, Clone, Copy)]
enum Draws {
    /// Who the shopper is and which pages they visit.
    Shopper,
    /// What they do after seeing the pages.
    Outcomes,
}

/// The random stream `draws` of shopper `index` under `seed`. The seed is spread over all
/// 64 bits (Fibonacci hashing) before the index goes in, so that the runs of different
/// seeds, the way more shoppers are added, do not replay each other's shoppers under
/// other indices; the outcome stream is the bitwise complement, which no shopper stream
/// of the same seed shares.
fn random_for(seed: u64, index: u32, draws: Draws) -> StdRng {
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(index);
    StdRng::seed_from_u64(match draws {
        Draws::Shopper => mixed,
        Draws::Outcomes => !mixed,
    })
}

/// Draws shopper number `index`; the same seed and index give the same shopper.
pub fn draw_shopper(seed: u64, index: u32) -> Shopper {
    let mut random = random_for(seed, index, Draws::Shopper);
    let user_id = format!("demo-{seed}-{index}");
    let session_id = format!("{user_id}-s");
    let country = COUNTRIES[random.random_range(0..COUNTRIES.len())];
    let device = DEVICES[random.random_range(0..DEVICES.len())];
    let logged_in = random.random_bool(0.7);
    let visits = (0..random.random_range(1..=3))
        .map(|_| {
            let placement = pick_weighted(&PLACEMENTS, &mut random);
            let attributes =
                [("guest_profile_days".to_owned(), random.random_range(0..30).to_string())]
                    .into_iter()
                    .collect();
            pb::AssignRequest {
                user_id: user_id.clone(),
                session_id: session_id.clone(),
                context: Some(pb::AssignmentContext {
                    placement: placement.to_owned(),
                    page_type: placement.to_owned(),
                    country: country.to_owned(),
                    device: device.to_owned(),
                    logged_in: Some(logged_in),
                    attributes,
                }),
                experiment_keys: Vec::new(),
                log_exposure: Some(true),
            }
        })
        .collect();
    Shopper { user_id, session_id, visits }
}

/// The outcome events of a shopper whose conversion chances are scaled by `multiplier`.
/// Drawn from the shopper's own stream, so they do not depend on call order.
pub fn outcomes(
    shopper: &Shopper,
    seed: u64,
    index: u32,
    multiplier: f64,
    rates: &BaseRates,
) -> Vec<pb::OutcomeEvent> {
    let mut random = random_for(seed, index, Draws::Outcomes);
    let chance = |base: f64| (base * multiplier).clamp(0.0, 1.0);
    let event = |event_type: &str, value: Option<f64>| pb::OutcomeEvent {
        event_type: event_type.to_owned(),
        user_id: shopper.user_id.clone(),
        session_id: shopper.session_id.clone(),
        value,
        ..Default::default()
    };
    let mut events = vec![event("page_load", Some(random.random_range(600.0..1400.0)))];
    for _ in 0..random.random_range(1..=5) {
        events.push(event("impression", None));
        if random.random_bool(chance(rates.click)) {
            events.push(event("click", None));
        }
    }
    if random.random_bool(chance(rates.add_to_cart)) {
        events.push(event("add_to_cart", None));
        if random.random_bool(rates.purchase_given_cart) {
            events.push(event("purchase", Some(random.random_range(20.0..120.0))));
        }
    }
    if random.random_bool((rates.bounce / multiplier.max(f64::MIN_POSITIVE)).clamp(0.0, 1.0)) {
        events.push(event("bounce", None));
    }
    events
}

/// What a run sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrafficSummary {
    /// Shoppers simulated.
    pub shoppers: u64,
    /// `Assign` calls.
    pub assigns: u64,
    /// Assignments answered (the agent logs an exposure for an experiment's, not for a
    /// rollout's).
    pub assignments: u64,
    /// Outcome events tracked.
    pub outcomes: u64,
}

/// Sends `args.shoppers` simulated shoppers through the agent at `args.addr`,
/// `args.concurrency` at a time, at the default [`BaseRates`].
pub async fn run(args: &TrafficArgs) -> anyhow::Result<TrafficSummary> {
    let TrafficArgs { addr, shoppers, concurrency, seed, effects } = args;
    let seed = *seed;
    let rates = &BaseRates::default();
    let channel =
        load::connect(addr, 1).await?.pop().expect("connect opens at least one connection");
    let assignment = AssignmentServiceClient::new(channel.clone());
    let capture = EventCaptureServiceClient::new(channel);
    let mut results = stream::iter(0..*shoppers)
        .map(|index| {
            let (mut assignment, mut capture) = (assignment.clone(), capture.clone());
            async move {
                let shopper = draw_shopper(seed, index);
                let mut summary = TrafficSummary { shoppers: 1, ..Default::default() };
                let mut seen = BTreeSet::new();
                for visit in &shopper.visits {
                    let answer = assignment.assign(visit.clone()).await?.into_inner();
                    summary.assigns += 1;
                    summary.assignments += answer.assignments.len() as u64;
                    seen.extend(
                        answer.assignments.into_iter().map(|a| (a.experiment_key, a.variant_key)),
                    );
                }
                let multiplier = conversion_multiplier(&seen, effects);
                let events = outcomes(&shopper, seed, index, multiplier, rates);
                summary.outcomes = events.len() as u64;
                capture.track(pb::TrackRequest { events }).await?;
                Ok::<_, tonic::Status>(summary)
            }
        })
        .buffer_unordered((*concurrency).max(1));
    let mut total = TrafficSummary::default();
    while let Some(result) = results.next().await {
        let summary = result.context("a shopper's call failed")?;
        total.shoppers += summary.shoppers;
        total.assigns += summary.assigns;
        total.assignments += summary.assignments;
        total.outcomes += summary.outcomes;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        pairs.iter().map(|(e, v)| ((*e).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn effects_parse_with_and_without_an_experiment() {
        let any: Effect = "v3=0.08".parse().unwrap();
        assert_eq!(
            (any.experiment_key, any.variant_key.as_str(), any.relative),
            (None, "v3", 0.08)
        );
        let one: Effect = "reco_ymal_model_v3/v3=-0.5".parse().unwrap();
        assert_eq!(one.experiment_key.as_deref(), Some("reco_ymal_model_v3"));
        assert_eq!(one.relative, -0.5);
        for bad in ["v3", "v3=x", "=0.1", "/v3=0.1", "v3=-1.5", "v3=NaN"] {
            assert!(bad.parse::<Effect>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn the_multiplier_applies_matching_effects_only() {
        let effects: Vec<Effect> =
            ["v3=0.5", "exp_b/loose=-0.5"].iter().map(|e| e.parse().unwrap()).collect();
        assert_eq!(conversion_multiplier(&seen(&[("exp_a", "control")]), &effects), 1.0);
        assert_eq!(conversion_multiplier(&seen(&[("exp_a", "v3")]), &effects), 1.5);
        assert_eq!(conversion_multiplier(&seen(&[("exp_a", "loose")]), &effects), 1.0);
        assert_eq!(
            conversion_multiplier(&seen(&[("exp_a", "v3"), ("exp_b", "loose")]), &effects),
            0.75
        );
    }

    /// The page load time, the first draw of a shopper's outcome stream.
    fn page_load(seed: u64, index: u32) -> Option<f64> {
        outcomes(&draw_shopper(seed, index), seed, index, 1.0, &BaseRates::default())[0].value
    }

    /// The share of the first `shoppers` shoppers of seed 1 whose outcomes include
    /// `event_type`, when their conversion chances are scaled by `multiplier`.
    fn share_with(event_type: &str, multiplier: f64, shoppers: u32) -> f64 {
        let with = (0..shoppers)
            .filter(|&index| {
                let shopper = draw_shopper(1, index);
                outcomes(&shopper, 1, index, multiplier, &BaseRates::default())
                    .iter()
                    .any(|event| event.event_type == event_type)
            })
            .count();
        with as f64 / f64::from(shoppers)
    }

    #[test]
    fn outcomes_depend_on_the_seed_and_index_only() {
        let shopper = draw_shopper(7, 3);
        let rates = BaseRates::default();
        assert_eq!(outcomes(&shopper, 7, 3, 1.0, &rates), outcomes(&shopper, 7, 3, 1.0, &rates));
        assert_ne!(page_load(7, 3), page_load(7, 4));
        assert_ne!(page_load(7, 3), page_load(8, 3));
        // Seeds 2^20 apart, the way a mix of `seed ^ index << 20` replayed shoppers.
        assert_ne!(page_load(1 << 20, 0), page_load(0, 1));
    }

    #[test]
    fn a_multiplier_below_one_raises_the_bounce_rate() {
        let bounces = |multiplier| share_with("bounce", multiplier, 10_000);
        let (base, halved) = (bounces(1.0), bounces(0.5));
        // 10,000 draws: the standard error of each rate is about 0.005.
        assert!((base - 0.30).abs() < 0.025, "base bounce rate {base}");
        assert!((halved - 0.60).abs() < 0.025, "bounce rate at half the conversion {halved}");
    }

    #[test]
    fn an_effect_moves_the_add_to_cart_rate() {
        let rate = |multiplier| share_with("add_to_cart", multiplier, 20_000);
        let (base, doubled) = (rate(1.0), rate(2.0));
        // 20,000 draws: the standard error of each rate is about 0.002.
        assert!((base - 0.10).abs() < 0.01, "base rate {base}");
        assert!((doubled - 0.20).abs() < 0.015, "doubled rate {doubled}");
    }
}
