//! Which experiments a request on one placement must look at.
//!
//! Only live experiments are indexed (RUNNING, or STOPPED with a rollout variant): DRAFT
//! and PAUSED ones assign through overrides alone, which the override index finds. The
//! running experiments of one layer own disjoint ranges, so at most one of them can
//! hold the unit's layer bucket: instead of visiting each of them, the request hashes
//! the layer once and binary-searches the one experiment whose range holds the bucket.

use std::collections::HashMap;

use super::compile::CompiledExperiment;
use crate::model::{BucketRange, Status};

/// The live experiments of one placement (including those that run everywhere).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PlacementIndex {
    /// Visited one by one, in key order: running experiments outside any layer, stopped
    /// ones with a rollout (which ignores layers), and the experiments of any layer
    /// whose ranges overlap (possible only in an unvalidated snapshot).
    pub(crate) scan: Box<[u32]>,
    /// Running experiments in layers, found through the unit's layer bucket.
    pub(crate) layers: Box<[LayerSlots]>,
}

/// The running experiments of one layer on one placement, by range.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LayerSlots {
    /// Index into the snapshot's layers.
    pub(crate) layer: u32,
    /// Disjoint ranges sorted by start, each with the experiment owning it.
    slots: Box<[(BucketRange, u32)]>,
}

/// The index of every placement some live experiment names, and the index for any other
/// placement (only the experiments that run everywhere).
#[derive(Debug, Default)]
pub(crate) struct PlacementIndexes {
    pub(crate) by_placement: HashMap<Box<str>, PlacementIndex>,
    pub(crate) elsewhere: PlacementIndex,
}

// === impl PlacementIndexes ===

impl PlacementIndexes {
    /// Indexes `experiments` (in key order, so index order is key order).
    pub(crate) fn build(experiments: &[CompiledExperiment]) -> Self {
        let live: Vec<u32> = (0..experiments.len() as u32)
            .filter(|&index| is_live(&experiments[index as usize]))
            .collect();
        let everywhere: Vec<u32> = live
            .iter()
            .copied()
            .filter(|&index| experiments[index as usize].placements.is_empty())
            .collect();
        let mut named: HashMap<&str, Vec<u32>> = HashMap::new();
        for &index in &live {
            for placement in &experiments[index as usize].placements {
                named.entry(placement).or_default().push(index);
            }
        }
        let by_placement = named
            .into_iter()
            .map(|(placement, mut indices)| {
                indices.extend_from_slice(&everywhere);
                indices.sort_unstable();
                (placement.into(), PlacementIndex::build(experiments, &indices))
            })
            .collect();
        Self { by_placement, elsewhere: PlacementIndex::build(experiments, &everywhere) }
    }

    /// The index for a request on `placement`.
    pub(crate) fn get(&self, placement: &str) -> &PlacementIndex {
        self.by_placement.get(placement).unwrap_or(&self.elsewhere)
    }
}

// === impl PlacementIndex ===

impl PlacementIndex {
    /// Splits `indices` (live, sorted) into the scan list and per-layer slots.
    fn build(experiments: &[CompiledExperiment], indices: &[u32]) -> Self {
        let mut scan = Vec::new();
        let mut by_layer: HashMap<u32, Vec<(BucketRange, u32)>> = HashMap::new();
        for &index in indices {
            let experiment = &experiments[index as usize];
            match (experiment.status, experiment.layer) {
                // An empty range (only in an unvalidated snapshot) holds no bucket: such
                // an experiment assigns through overrides alone.
                (Status::Running, Some((_, range))) if range.start >= range.end => {}
                (Status::Running, Some((layer, range))) => {
                    by_layer.entry(layer).or_default().push((range, index));
                }
                _ => scan.push(index),
            }
        }
        let mut layers = Vec::new();
        for (layer, mut slots) in by_layer {
            slots.sort_unstable_by_key(|(range, _)| (range.start, range.end));
            let disjoint = slots.windows(2).all(|pair| pair[0].0.end <= pair[1].0.start);
            if disjoint {
                layers.push(LayerSlots { layer, slots: slots.into_boxed_slice() });
            } else {
                scan.extend(slots.into_iter().map(|(_, index)| index));
            }
        }
        scan.sort_unstable();
        layers.sort_unstable_by_key(|slots| slots.layer);
        Self { scan: scan.into_boxed_slice(), layers: layers.into_boxed_slice() }
    }
}

// === impl LayerSlots ===

impl LayerSlots {
    /// The experiment whose range holds `bucket`, if any.
    pub(crate) fn find(&self, bucket: u16) -> Option<u32> {
        let bucket = u32::from(bucket);
        let after = self.slots.partition_point(|(range, _)| range.start <= bucket);
        let (range, experiment) = self.slots.get(after.checked_sub(1)?)?;
        range.contains(bucket).then_some(*experiment)
    }
}

/// Experiments that can assign without an override.
fn is_live(experiment: &CompiledExperiment) -> bool {
    match experiment.status {
        Status::Running => true,
        Status::Stopped => experiment.rollout_variant.is_some(),
        Status::Draft | Status::Paused | Status::Archived => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(ranges: &[(u32, u32)]) -> LayerSlots {
        LayerSlots {
            layer: 0,
            slots: ranges
                .iter()
                .enumerate()
                .map(|(index, &(start, end))| (BucketRange { start, end }, index as u32))
                .collect(),
        }
    }

    #[test]
    fn find_returns_the_range_holding_the_bucket() {
        let layer = slots(&[(0, 1000), (1000, 2500), (4000, 10_000)]);
        assert_eq!(layer.find(0), Some(0));
        assert_eq!(layer.find(999), Some(0));
        assert_eq!(layer.find(1000), Some(1));
        assert_eq!(layer.find(2499), Some(1));
        assert_eq!(layer.find(2500), None);
        assert_eq!(layer.find(3999), None);
        assert_eq!(layer.find(4000), Some(2));
        assert_eq!(layer.find(9999), Some(2));
        assert_eq!(slots(&[]).find(5), None);
        assert_eq!(slots(&[(10, 20)]).find(5), None);
    }
}
