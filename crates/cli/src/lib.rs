//! The `tessera` command's library half: `local` (the embedded all-in-one server) and
//! `local_raft` (the cluster's node and router in one process, single-replica groups), so
//! tests of other crates can run a real `tessera local` in process.

pub mod local;
pub mod local_raft;
