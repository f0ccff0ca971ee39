//! # tessera-replication
//!
//! Raft for Tessera, on openraft 0.9 (storage-v2): every storage node hosts many groups — the
//! metadata group (group 0: tables, shard map, nodes) and one group per shard replica — all
//! in the node's one sled database. **Only this crate imports openraft.**
//!
//! ## Layout
//! - `types`: the Raft type configuration, log payloads (`Command`), reads (`ReadOp`).
//! - `meta`: `ClusterState` and deterministic placement (6 replicas, 2 per AZ).
//! - `log_store`: log and vote of a group; appends acknowledged after the group commit.
//! - `state_machine`: data groups apply `ShardCommand`s to a `Shard`; the metadata group
//!   applies `MetaCommand`s; snapshots are full copies taken with applies paused.
//! - `network`: Raft RPCs over gRPC, one channel per peer shared by all groups.
//! - `mux`: many calls (Raft messages, proposals, reads) over one long-lived gRPC stream per
//!   calling process and node.
//! - `registry`: the node's groups; serving Raft RPCs, proposals and read barriers.
//! - `batcher`: concurrent shard writes of a group leave as one log entry; concurrent
//!   linearizable reads share one read-index round.

// openraft's storage traits return its (large) StorageError; helpers that feed them return it too.
#![allow(clippy::result_large_err)]

pub mod batcher;
pub mod log_store;
pub mod meta;
pub mod mux;
pub mod network;
pub mod registry;
pub mod state_machine;
pub mod types;

pub use meta::{ClusterState, MetaCommand, MetaOutput, ShardInfo, TableState, META_GROUP};
pub use network::{PeerPool, GRPC_MESSAGE_BYTES_MAX};
pub use registry::{Failure, GroupStatus, RaftSettings, Registry, QUORUM_WAIT};
pub use types::{Command, CommandResult, NodeInfo, ReadOp, ReadResult, TypeConfig};
