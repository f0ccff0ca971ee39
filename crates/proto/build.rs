//! Generates the gRPC code from `proto/` with a vendored protoc, so a fresh machine needs no
//! protobuf compiler installed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // Build scripts run single-threaded, so setting the variable here is sound.
    std::env::set_var("PROTOC", protoc);
    let root = "../../proto";
    let files = [
        format!("{root}/tessera/node/v1/node.proto"),
        format!("{root}/tessera/dax/v1/dax.proto"),
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={file}");
    }
    tonic_prost_build::configure().compile_protos(&files, &[root.to_string()])?;
    Ok(())
}
