//! Compiles the public contract in `proto/` into Rust (messages, servers and
//! clients) plus a file descriptor set that server reflection serves, so
//! grpcurl can `describe` every message with its comments.
//!
//! protoc comes from `protoc-bin-vendored`: a fresh machine (and CI) has no
//! protoc installed, and the build must not depend on one.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        // Invalid protobuf from a caller is INVALID_ARGUMENT, not tonic's INTERNAL (src/grpc/codec.rs).
        .codec_path("crate::grpc::codec::GatewayCodec")
        .file_descriptor_set_path(out_dir.join("twocheckout_v1_descriptor.bin"))
        .compile_with_config(
            config,
            &[
                "proto/twocheckout/v1/sale.proto",
                "proto/twocheckout/v1/sales_service.proto",
                "proto/twocheckout/v1/authorization_service.proto",
            ],
            &["proto"],
        )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
