//! # tessera-proto
//!
//! Code generated from `proto/`: `tessera/node/v1/node.proto` (the `Node` gRPC service that
//! storage nodes serve and routers and peers call) and `tessera/dax/v1/dax.proto` (the
//! `DaxPeer` service between DAX cache nodes).
#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub mod node {
    pub mod v1 {
        tonic::include_proto!("tessera.node.v1");
    }
}

pub mod dax {
    pub mod v1 {
        tonic::include_proto!("tessera.dax.v1");
    }
}
