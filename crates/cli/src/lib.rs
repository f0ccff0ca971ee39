//! The `tessera` command's library half: `local` (the embedded all-in-one server), so tests of
//! other crates can run a real `tessera local` in process.

pub mod local;
