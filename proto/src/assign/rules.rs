//! Eligibility rules, pre-parsed once per snapshot revision and tested per request.
//!
//! Semantics (DESIGN section 4 rule 3): an experiment's rule groups are OR-ed, the
//! conditions in one group AND-ed, and no group at all means everyone is eligible. A
//! missing attribute fails every operator except `neq`, `not_in` and `not_exists`.
//! String operators compare bytes exactly (case-sensitive). The ordering operators
//! (`lt`, `lte`, `gt`, `gte`) read the attribute with [`parse_rule_number`] and fail when
//! it is not a number.

use std::collections::HashMap;

use serde::Serialize;

use super::number::parse_rule_number;
use super::request::Context;
use super::value_set::ValueSet;
use crate::model::{Condition, Operator, RuleGroup};

/// Where a condition's attribute comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AttributeSource {
    Placement,
    PageType,
    Country,
    Device,
    LoggedIn,
    /// Any other name: a key of [`Context::attributes`].
    Free(Box<str>),
}

/// A condition's operator with its operands already parsed.
#[derive(Debug, Clone, PartialEq)]
enum Test {
    /// A one-value set: the same fast comparison as `in`.
    Eq(ValueSet),
    Neq(ValueSet),
    In(ValueSet),
    NotIn(ValueSet),
    Exists,
    NotExists,
    Lt(f64),
    Lte(f64),
    Gt(f64),
    Gte(f64),
}

/// One pre-parsed condition.
#[derive(Debug, Clone, PartialEq)]
struct CompiledCondition {
    source: AttributeSource,
    test: Test,
}

/// Every distinct condition of a snapshot, compiled once. Experiments refer to
/// conditions by id, so a condition many experiments share (`country in [DE, AT]`) is
/// tested once per request and remembered in a [`ConditionMemo`].
#[derive(Debug, Default)]
pub(crate) struct ConditionTable {
    conditions: Box<[CompiledCondition]>,
}

/// Builds a [`ConditionTable`] while a snapshot compiles, borrowing the source
/// conditions as keys so that looking one up copies nothing.
#[derive(Debug, Default)]
pub(crate) struct ConditionInterner<'a> {
    conditions: Vec<CompiledCondition>,
    ids: HashMap<(&'a str, Operator, &'a [String]), u32>,
}

/// An experiment's eligibility rules: condition ids, grouped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CompiledRules {
    /// Ids into the [`ConditionTable`], group after group.
    condition_ids: Box<[u32]>,
    /// Where each group ends in `condition_ids` (exclusive); empty means no groups,
    /// which means everyone is eligible.
    group_ends: Box<[u32]>,
}

/// Per-request results of the first [`MEMO_SLOTS`] conditions, so each is tested at most
/// once per request however many experiments share it.
#[derive(Debug)]
pub(crate) struct ConditionMemo {
    slots: [MemoSlot; MEMO_SLOTS],
}

/// Conditions with a larger id are re-tested every time they are needed.
const MEMO_SLOTS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemoSlot {
    Unknown,
    Fails,
    Holds,
}

/// A condition whose operands do not fit its operator (a numeric operand that does not
/// parse, no operand for `eq`); validation refuses these, so a valid snapshot has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MalformedCondition {
    pub(crate) group: usize,
    pub(crate) condition: usize,
}

/// The first condition of one rule group that did not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleFailure<'a> {
    /// Index of the rule group in the experiment's `eligibility`.
    pub group: usize,
    /// Index of the condition inside that group.
    pub condition: usize,
    /// The attribute the condition tests.
    pub attribute: &'a str,
    /// The condition's operator.
    pub operator: Operator,
}

// === impl ConditionInterner ===

impl<'a> ConditionInterner<'a> {
    /// The id of `condition`, compiling it on first sight; `None` when its operands do
    /// not fit its operator.
    fn intern(&mut self, condition: &'a Condition) -> Option<u32> {
        let key = (condition.attribute.as_str(), condition.operator, condition.values.as_slice());
        if let Some(&id) = self.ids.get(&key) {
            return Some(id);
        }
        let id = self.conditions.len() as u32;
        self.conditions.push(CompiledCondition::compile(condition)?);
        self.ids.insert(key, id);
        Some(id)
    }

    /// The table, once every experiment's rules are compiled.
    pub(crate) fn finish(self) -> ConditionTable {
        ConditionTable { conditions: self.conditions.into_boxed_slice() }
    }
}

// === impl ConditionTable ===

impl ConditionTable {
    /// How many distinct conditions the snapshot has.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.conditions.len()
    }

    fn holds(&self, id: u32, context: &Context, memo: &mut ConditionMemo) -> bool {
        let condition = &self.conditions[id as usize];
        let Some(slot) = memo.slots.get_mut(id as usize) else {
            return condition.holds(context);
        };
        match *slot {
            MemoSlot::Holds => true,
            MemoSlot::Fails => false,
            MemoSlot::Unknown => {
                let holds = condition.holds(context);
                *slot = if holds { MemoSlot::Holds } else { MemoSlot::Fails };
                holds
            }
        }
    }
}

// === impl ConditionMemo ===

impl ConditionMemo {
    pub(crate) fn new() -> Self {
        Self { slots: [MemoSlot::Unknown; MEMO_SLOTS] }
    }
}

// === impl CompiledRules ===

impl CompiledRules {
    /// Pre-parses `groups` into `table`. Numeric operands are trimmed and read with
    /// [`parse_rule_number`], as validation reads them.
    pub(crate) fn compile<'a>(
        groups: &'a [RuleGroup],
        interner: &mut ConditionInterner<'a>,
    ) -> Result<Self, MalformedCondition> {
        let mut condition_ids = Vec::new();
        let mut group_ends = Vec::with_capacity(groups.len());
        for (group_index, group) in groups.iter().enumerate() {
            for (condition_index, condition) in group.conditions.iter().enumerate() {
                let id = interner
                    .intern(condition)
                    .ok_or(MalformedCondition { group: group_index, condition: condition_index })?;
                condition_ids.push(id);
            }
            group_ends.push(condition_ids.len() as u32);
        }
        Ok(Self {
            condition_ids: condition_ids.into_boxed_slice(),
            group_ends: group_ends.into_boxed_slice(),
        })
    }

    /// The condition ids of each group, in order.
    fn groups(&self) -> impl Iterator<Item = &[u32]> {
        let starts = std::iter::once(0).chain(self.group_ends.iter().copied());
        starts
            .zip(self.group_ends.iter().copied())
            .map(|(start, end)| &self.condition_ids[start as usize..end as usize])
    }

    /// Whether the context is eligible: no groups, or every condition of some group holds.
    pub(crate) fn hold(
        &self,
        table: &ConditionTable,
        context: &Context,
        memo: &mut ConditionMemo,
    ) -> bool {
        self.group_ends.is_empty()
            || self.groups().any(|group| group.iter().all(|&id| table.holds(id, context, memo)))
    }

    /// For each group, its first condition that fails (empty when there are no groups).
    /// Only explanation mode calls this, so it may allocate.
    pub(crate) fn failures<'t>(
        &self,
        table: &'t ConditionTable,
        context: &Context,
    ) -> Vec<RuleFailure<'t>> {
        self.groups()
            .enumerate()
            .filter_map(|(group_index, group)| {
                let condition_index =
                    group.iter().position(|&id| !table.conditions[id as usize].holds(context))?;
                let condition = &table.conditions[group[condition_index] as usize];
                Some(RuleFailure {
                    group: group_index,
                    condition: condition_index,
                    attribute: condition.source.name(),
                    operator: condition.test.operator(),
                })
            })
            .collect()
    }
}

// === impl CompiledCondition ===

impl CompiledCondition {
    fn compile(condition: &Condition) -> Option<Self> {
        let source = match condition.attribute.as_str() {
            "placement" => AttributeSource::Placement,
            "page_type" => AttributeSource::PageType,
            "country" => AttributeSource::Country,
            "device" => AttributeSource::Device,
            "logged_in" => AttributeSource::LoggedIn,
            other => AttributeSource::Free(other.into()),
        };
        // `eq` and `neq` compare with their one operand (validation allows exactly one).
        let first_value = || condition.values.first().map(|value| ValueSet::new([value.as_str()]));
        let number = || condition.values.first().and_then(|value| parse_rule_number(value.trim()));
        let value_set = || ValueSet::new(condition.values.iter().map(String::as_str));
        let test = match condition.operator {
            Operator::Eq => Test::Eq(first_value()?),
            Operator::Neq => Test::Neq(first_value()?),
            Operator::In => Test::In(value_set()),
            Operator::NotIn => Test::NotIn(value_set()),
            Operator::Exists => Test::Exists,
            Operator::NotExists => Test::NotExists,
            Operator::Lt => Test::Lt(number()?),
            Operator::Lte => Test::Lte(number()?),
            Operator::Gt => Test::Gt(number()?),
            Operator::Gte => Test::Gte(number()?),
        };
        Some(Self { source, test })
    }

    fn holds(&self, context: &Context) -> bool {
        let value = self.lookup(context);
        let compare = |holds: fn(f64, f64) -> bool, operand: f64| {
            value.and_then(parse_rule_number).is_some_and(|number| holds(number, operand))
        };
        match &self.test {
            Test::Eq(values) | Test::In(values) => {
                value.is_some_and(|value| values.contains(value))
            }
            Test::Neq(values) | Test::NotIn(values) => {
                !value.is_some_and(|value| values.contains(value))
            }
            Test::Exists => value.is_some(),
            Test::NotExists => value.is_none(),
            Test::Lt(operand) => compare(|number, operand| number < operand, *operand),
            Test::Lte(operand) => compare(|number, operand| number <= operand, *operand),
            Test::Gt(operand) => compare(|number, operand| number > operand, *operand),
            Test::Gte(operand) => compare(|number, operand| number >= operand, *operand),
        }
    }

    /// The attribute's value, `None` when missing (see [`Context`]).
    fn lookup<'c>(&self, context: &'c Context) -> Option<&'c str> {
        let typed = |field: &'c String| (!field.is_empty()).then_some(field.as_str());
        match &self.source {
            AttributeSource::Placement => typed(&context.placement),
            AttributeSource::PageType => typed(&context.page_type),
            AttributeSource::Country => typed(&context.country),
            AttributeSource::Device => typed(&context.device),
            AttributeSource::LoggedIn => {
                context.logged_in.map(|logged_in| if logged_in { "true" } else { "false" })
            }
            AttributeSource::Free(name) => context.attributes.get(&**name).map(String::as_str),
        }
    }
}

// === impl AttributeSource ===

impl AttributeSource {
    fn name(&self) -> &str {
        match self {
            AttributeSource::Placement => "placement",
            AttributeSource::PageType => "page_type",
            AttributeSource::Country => "country",
            AttributeSource::Device => "device",
            AttributeSource::LoggedIn => "logged_in",
            AttributeSource::Free(name) => name,
        }
    }
}

// === impl Test ===

impl Test {
    fn operator(&self) -> Operator {
        match self {
            Test::Eq(_) => Operator::Eq,
            Test::Neq(_) => Operator::Neq,
            Test::In(_) => Operator::In,
            Test::NotIn(_) => Operator::NotIn,
            Test::Exists => Operator::Exists,
            Test::NotExists => Operator::NotExists,
            Test::Lt(_) => Operator::Lt,
            Test::Lte(_) => Operator::Lte,
            Test::Gt(_) => Operator::Gt,
            Test::Gte(_) => Operator::Gte,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(attribute: &str, operator: Operator, values: &[&str]) -> Condition {
        Condition {
            attribute: attribute.to_owned(),
            operator,
            values: values.iter().map(|value| (*value).to_owned()).collect(),
        }
    }

    /// Compiled rules with their own condition table.
    struct Rules {
        rules: CompiledRules,
        table: ConditionTable,
    }

    impl Rules {
        fn hold(&self, context: &Context) -> bool {
            let direct = self.rules.hold(&self.table, context, &mut ConditionMemo::new());
            // A warm memo must give the same answer as a cold one.
            let mut memo = ConditionMemo::new();
            let _ = self.rules.hold(&self.table, context, &mut memo);
            assert_eq!(direct, self.rules.hold(&self.table, context, &mut memo));
            direct
        }
    }

    fn rules(groups: Vec<Vec<Condition>>) -> Rules {
        let groups: Vec<RuleGroup> =
            groups.into_iter().map(|conditions| RuleGroup { conditions }).collect();
        let mut interner = ConditionInterner::default();
        let rules =
            CompiledRules::compile(&groups, &mut interner).expect("test operands are numbers");
        Rules { rules, table: interner.finish() }
    }

    fn context() -> Context {
        Context {
            placement: "pdp".into(),
            country: "DE".into(),
            logged_in: Some(true),
            attributes: [("age".to_owned(), "34".to_owned()), ("note".to_owned(), String::new())]
                .into(),
            ..Context::default()
        }
    }

    #[test]
    fn missing_attributes_pass_only_neq_not_in_and_not_exists() {
        let context = context();
        let passing = [
            condition("segment", Operator::Neq, &["x"]),
            condition("segment", Operator::NotIn, &["x"]),
            condition("segment", Operator::NotExists, &[]),
            condition("device", Operator::NotExists, &[]),
        ];
        for condition in passing {
            assert!(rules(vec![vec![condition.clone()]]).hold(&context), "{condition:?}");
        }
        let failing = [
            condition("segment", Operator::Eq, &["x"]),
            condition("segment", Operator::In, &["x"]),
            condition("segment", Operator::Exists, &[]),
            condition("segment", Operator::Lt, &["1"]),
            condition("segment", Operator::Gte, &["1"]),
            condition("device", Operator::Eq, &[""]),
        ];
        for condition in failing {
            assert!(!rules(vec![vec![condition.clone()]]).hold(&context), "{condition:?}");
        }
    }

    #[test]
    fn typed_fields_and_free_attributes_are_both_reachable() {
        let context = context();
        for condition in [
            condition("placement", Operator::Eq, &["pdp"]),
            condition("country", Operator::In, &["FR", "DE"]),
            condition("logged_in", Operator::Eq, &["true"]),
            condition("age", Operator::Gte, &["34"]),
            condition("age", Operator::Lt, &[" 35 "]),
            condition("note", Operator::Exists, &[]),
            condition("note", Operator::Eq, &[""]),
        ] {
            assert!(rules(vec![vec![condition.clone()]]).hold(&context), "{condition:?}");
        }
        assert!(!rules(vec![vec![condition("country", Operator::Eq, &["de"])]]).hold(&context));
        assert!(!rules(vec![vec![condition("country", Operator::Lt, &["5"])]]).hold(&context));
    }

    #[test]
    fn groups_are_or_conditions_are_and() {
        let context = context();
        let de = condition("country", Operator::Eq, &["DE"]);
        let fr = condition("country", Operator::Eq, &["FR"]);
        let pdp = condition("placement", Operator::Eq, &["pdp"]);
        assert!(rules(vec![vec![fr.clone()], vec![de.clone(), pdp.clone()]]).hold(&context));
        assert!(!rules(vec![vec![fr.clone(), pdp.clone()]]).hold(&context));
        assert!(rules(vec![]).hold(&context));
    }

    #[test]
    fn failures_name_the_first_failing_condition_of_each_group() {
        let groups = vec![
            RuleGroup {
                conditions: vec![
                    condition("country", Operator::Eq, &["DE"]),
                    condition("device", Operator::Exists, &[]),
                ],
            },
            RuleGroup { conditions: vec![condition("age", Operator::Gt, &["40"])] },
        ];
        let mut interner = ConditionInterner::default();
        let compiled =
            CompiledRules::compile(&groups, &mut interner).expect("operands are numbers");
        let table = interner.finish();
        let context = context();
        let failures = compiled.failures(&table, &context);
        assert_eq!(
            failures,
            vec![
                RuleFailure {
                    group: 0,
                    condition: 1,
                    attribute: "device",
                    operator: Operator::Exists
                },
                RuleFailure { group: 1, condition: 0, attribute: "age", operator: Operator::Gt },
            ]
        );
    }

    #[test]
    fn shared_conditions_are_compiled_once() {
        let de = condition("country", Operator::Eq, &["DE"]);
        let tier = condition("tier", Operator::Gte, &["3"]);
        let mut interner = ConditionInterner::default();
        let first = vec![RuleGroup { conditions: vec![de.clone(), tier.clone()] }];
        let second = vec![RuleGroup { conditions: vec![tier] }, RuleGroup { conditions: vec![de] }];
        let first = CompiledRules::compile(&first, &mut interner).expect("valid");
        let second = CompiledRules::compile(&second, &mut interner).expect("valid");
        assert_eq!(interner.finish().len(), 2);
        assert_eq!(&*first.condition_ids, [0, 1]);
        assert_eq!(&*second.condition_ids, [1, 0]);
        assert_eq!(&*second.group_ends, [1, 2]);
    }

    #[test]
    fn unparsable_operands_are_reported_by_position() {
        let groups = vec![RuleGroup { conditions: vec![condition("age", Operator::Lt, &["x"])] }];
        assert_eq!(
            CompiledRules::compile(&groups, &mut ConditionInterner::default()),
            Err(MalformedCondition { group: 0, condition: 0 })
        );
    }
}
