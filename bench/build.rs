//! Compiles the baseline's tiny echo service with protox (pure Rust, no system `protoc`),
//! as `proto/build.rs` does for `vary.v1`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["vary/bench/v1/echo.proto"], ["proto"])?;
    tonic_prost_build::configure().build_client(false).compile_fds(descriptors)?;
    Ok(())
}
