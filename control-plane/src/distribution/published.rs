//! A revision ready to send: encoded once, shared by every Watch stream.

use std::sync::Arc;

use bytes::Bytes;
use prost::Message as _;
use vary_proto::{model::timestamp_from_time, pb};

use crate::api::convert::experiment_to_pb;
use crate::store::ConfigAtRevision;

/// The head revision as every agent receives it.
#[derive(Debug)]
pub struct PublishedSnapshot {
    /// The global config revision.
    pub revision: i64,
    /// Number of experiments in it.
    pub experiment_count: usize,
    /// The encoded `vary.v1.ConfigSnapshot`.
    pub encoded: Bytes,
}

/// What Watch streams observe: `None` until the first snapshot is loaded.
pub type Head = Option<Arc<PublishedSnapshot>>;

impl PublishedSnapshot {
    /// Encodes `config` once.
    pub fn encode(config: &ConfigAtRevision) -> Self {
        let message = pb::ConfigSnapshot {
            revision: config.revision,
            commit_time: Some(timestamp_from_time(config.committed_at)),
            experiments: config.experiments.iter().map(experiment_to_pb).collect(),
        };
        Self {
            revision: config.revision,
            experiment_count: config.experiments.len(),
            encoded: Bytes::from(message.encode_to_vec()),
        }
    }
}
