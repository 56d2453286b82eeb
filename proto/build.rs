//! Compiles `vary/v1/*.proto` with protox (pure Rust), so no system `protoc` is needed,
//! and keeps the encoded descriptor set for gRPC server reflection.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTO_FILES: &[&str] = &[
    "vary/v1/experiment.proto",
    "vary/v1/experiment_service.proto",
    "vary/v1/config_distribution.proto",
    "vary/v1/fleet.proto",
    "vary/v1/assignment.proto",
    "vary/v1/event.proto",
    "vary/v1/analysis.proto",
    "vary/v1/auth.proto",
    "vary/v1/audit.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=vary");
    let descriptors = protox::compile(PROTO_FILES, ["."])?;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    fs::write(out_dir.join("vary_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure().btree_map(".").compile_fds(descriptors)?;
    Ok(())
}
