//! Compiles the public contract in `proto/` into Rust (messages, servers and
//! clients) plus a file descriptor set that server reflection serves, so
//! grpcurl can `describe` every message with its comments.
//!
//! A second pass generates the SalesService server the gateway actually runs
//! (`crate::grpc::sales::served`): the same methods, paths and messages, except
//! that GetSale answers with `crate::grpc::sales::EncodedGetSaleResponse`, the
//! wire-identical form that writes an already encoded Sale (a cache hit
//! encodes nothing). It generates no message types (every type of the package
//! is the first pass's), no client and no descriptors, so callers, the
//! descriptor set and the contract are unchanged.
//!
//! protoc comes from `protoc-bin-vendored`: a fresh machine (and CI) has no
//! protoc installed, and the build must not depend on one.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
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
                "proto/twocheckout/v1/notification_service.proto",
                "proto/twocheckout/v1/catalog_service.proto",
                "proto/twocheckout/v1/account_service.proto",
            ],
            &["proto"],
        )?;

    let served_dir = out_dir.join("served");
    std::fs::create_dir_all(&served_dir)?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
    tonic_prost_build::configure()
        .build_client(false)
        .codec_path("crate::grpc::codec::GatewayCodec")
        .out_dir(&served_dir)
        // The one exact path wins over the package's.
        .extern_path(".twocheckout.v1.GetSaleResponse", "crate::grpc::sales::EncodedGetSaleResponse")
        .extern_path(".twocheckout.v1", "crate::grpc::proto")
        .compile_with_config(config, &["proto/twocheckout/v1/sales_service.proto"], &["proto"])?;

    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
