//! The one library both Vary binaries share: the `vary.v1` wire types, the domain model
//! with its validation ("parse, don't validate": a `model` value is always valid), and
//! the pure assignment engine.
//!
//! Architecture invariant: nothing in this crate performs I/O, reads a clock, spawns a
//! task or holds random state. The control plane and the edge agent bring those.

pub mod assign;
pub mod diff;
pub mod model;

/// Generated protobuf and gRPC types for the `vary.v1` package.
#[allow(missing_docs, unreachable_pub, missing_debug_implementations, clippy::all)]
pub mod pb {
    tonic::include_proto!("vary.v1");
}

/// The encoded `FileDescriptorSet` of every `vary.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("vary_descriptor");

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn descriptor_set_decodes_and_names_the_experiment_service() {
        let set = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET)
            .expect("descriptor set is valid protobuf");
        let services: Vec<&str> = set
            .file
            .iter()
            .flat_map(|file| file.service.iter())
            .filter_map(|service| service.name.as_deref())
            .collect();
        assert!(services.contains(&"ExperimentService"), "{services:?}");
    }
}
