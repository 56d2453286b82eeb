//! Generates the server side of `vary.v1.ConfigDistributionService` with one twist: its
//! `WatchResponse` is mapped to `distribution::frame::WatchResponseFrame`, whose snapshot
//! field holds already-encoded bytes. A length-delimited `bytes` field and an embedded
//! message are the same on the wire, so agents decode an ordinary `WatchResponse`, while
//! the control plane encodes each revision once and shares the bytes among all streams.
//! Every other type is the shared one from `vary_proto::pb`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../proto/vary/v1/config_distribution.proto");
    let descriptors = protox::compile(["vary/v1/config_distribution.proto"], ["../proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .extern_path(".vary.v1", "::vary_proto::pb")
        .extern_path(".vary.v1.WatchResponse", "crate::distribution::frame::WatchResponseFrame")
        .compile_fds(descriptors)?;
    Ok(())
}
