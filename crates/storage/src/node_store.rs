//! The storage of a cluster node: for every Raft group the node hosts, its log (in the
//! node's write-ahead log, [`Wal`]), its Raft state (vote, committed, purged) and its state
//! machine's data (in one sled database).
//!
//! sled layout (shared trees keyed big-endian, so many groups cost no extra trees):
//! - `raft_state`: `group ‖ tag`   → bytes (vote, committed, purged, meta state machine)
//! - `raft_snapshot`: `group` → the group's latest snapshot (`len(meta) ‖ meta ‖ data`). Not in
//!   `raft_state`: sled rewrites a whole leaf every few changes to it, and a leaf holding a
//!   shard-sized snapshot beside the `committed` marker (written on every commit) was
//!   rewritten megabytes at a time, dozens of times a second.
//! - `shard/<group>`: the data of a data group's state machine (a [`Shard`])
//! - `raft_log`: `group ‖ index` → entry bytes, where earlier versions kept the logs; moved
//!   into the write-ahead log when such a database is opened.
//!
//! Log appends are made durable by [`NodeStore::sync_log`] (one fdatasync for every group);
//! sled by [`NodeStore::flush`], needed only for votes and before a log purge: state machine
//! changes not yet flushed are applied again from the log after a crash.

use std::path::Path;
use std::sync::Arc;

use tessera_model::{Error, Result};

use crate::codec::{put_framed, take_framed};
use crate::flusher::{Flusher, FLUSH_INTERVAL_NODE};
use crate::shard::Shard;
use crate::wal::Wal;
use crate::{open_with_lock_retry, sled_error};

pub struct NodeStore {
    db: sled::Db,
    state: sled::Tree,
    snapshots: sled::Tree,
    /// Group commit of sled (votes, purges).
    flusher: Flusher,
    wal: Arc<Wal>,
    /// Group commit of the log.
    log_flusher: Flusher,
    /// Where a temporary store's log lives (removed when the store is dropped).
    _temporary: Option<tempfile::TempDir>,
}

/// The write-ahead log's directory inside the node's data directory.
const WAL_DIR: &str = "raft-log";
/// The sled tree earlier versions kept the logs in.
const LEGACY_LOG_TREE: &str = "raft_log";

/// Keys of snapshots kept in `raft_state` by earlier versions (removed when a new one is kept).
const LEGACY_SNAPSHOT_TAGS: [&str; 2] = ["snapshot_data", "snapshot_meta"];

#[cfg(test)]
fn log_key(group: u64, index: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&group.to_be_bytes());
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

/// (group, index) of a legacy `raft_log` key.
fn log_key_parts(key: &[u8]) -> Result<(u64, u64)> {
    let part = |range: std::ops::Range<usize>| {
        key.get(range)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes)
            .ok_or_else(|| Error::internal("bad log key"))
    };
    Ok((part(0..8)?, part(8..16)?))
}

fn state_key(group: u64, tag: &str) -> Vec<u8> {
    [&group.to_be_bytes()[..], tag.as_bytes()].concat()
}

fn shard_tree_name(group: u64) -> String {
    format!("shard/{group}")
}

impl NodeStore {
    /// A store that lives in temporary directories and is deleted when dropped (for
    /// processes told to keep nothing). Must run inside a tokio runtime.
    pub fn open_temporary() -> Result<Arc<NodeStore>> {
        let db = sled::Config::new().temporary(true).open().map_err(sled_error)?;
        let dir = tempfile::tempdir().map_err(|e| Error::internal(format!("temporary directory: {e}")))?;
        let wal = Wal::open(dir.path())?;
        NodeStore::assemble(db, wal, Some(dir))
    }

    /// Opens (or creates) the node's storage, with sled's page cache bounded by
    /// `cache_bytes`. Must run inside a tokio runtime.
    pub async fn open(dir: &Path, cache_bytes: u64) -> Result<Arc<NodeStore>> {
        let db = open_with_lock_retry(&sled::Config::new().path(dir).cache_capacity(cache_bytes)).await?;
        let wal_dir = dir.join(WAL_DIR);
        if db.tree_names().iter().any(|n| n == LEGACY_LOG_TREE.as_bytes()) {
            let legacy = db.open_tree(LEGACY_LOG_TREE).map_err(sled_error)?;
            // Logs of an earlier version: the tree goes only once the log holds all of it, so
            // a log found beside the tree is an interrupted move, begun again.
            if wal_dir.exists() {
                std::fs::remove_dir_all(&wal_dir)
                    .map_err(|e| Error::internal(format!("remove an interrupted raft log move: {e}")))?;
            }
            let wal = Wal::open(&wal_dir)?;
            for record in legacy.iter() {
                let (key, value) = record.map_err(sled_error)?;
                let (group, index) = log_key_parts(&key)?;
                wal.append(group, [(index, value.to_vec())])?;
            }
            wal.sync()?;
            drop(legacy);
            db.drop_tree(LEGACY_LOG_TREE).map_err(sled_error)?;
            db.flush().map_err(sled_error)?;
            return NodeStore::assemble(db, wal, None);
        }
        let wal = Wal::open(&wal_dir)?;
        NodeStore::assemble(db, wal, None)
    }

    fn assemble(db: sled::Db, wal: Wal, temporary: Option<tempfile::TempDir>) -> Result<Arc<NodeStore>> {
        let wal = Arc::new(wal);
        let syncing = wal.clone();
        Ok(Arc::new(NodeStore {
            state: db.open_tree("raft_state").map_err(sled_error)?,
            snapshots: db.open_tree("raft_snapshot").map_err(sled_error)?,
            flusher: Flusher::start(db.clone(), FLUSH_INTERVAL_NODE),
            log_flusher: Flusher::start_with(move || syncing.sync(), FLUSH_INTERVAL_NODE),
            wal,
            db,
            _temporary: temporary,
        }))
    }

    /// Returns once every log append made before the call is on disk (one fdatasync serves
    /// every caller waiting at the time, across all groups).
    pub async fn sync_log(&self) -> Result<()> {
        self.log_flusher.flush().await
    }

    /// Returns once everything written to sled before the call is on disk (one flush serves
    /// every caller waiting at the time, across all groups).
    pub async fn flush(&self) -> Result<()> {
        self.flusher.flush().await
    }

    /// Appends a group's entries in order; durable after [`NodeStore::sync_log`].
    pub fn append(&self, group: u64, entries: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Result<()> {
        self.wal.append(group, entries)
    }

    /// Entries with `lo <= index < hi`, in order.
    pub fn entries(&self, group: u64, lo: u64, hi: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        self.wal.entries(group, lo, hi)
    }

    pub fn last_entry(&self, group: u64) -> Result<Option<(u64, Vec<u8>)>> {
        self.wal.last_entry(group)
    }

    /// Removes entries with index >= `from` (a conflicting suffix).
    pub fn truncate_from(&self, group: u64, from: u64) -> Result<()> {
        self.wal.truncate_from(group, from)
    }

    /// Removes entries with index <= `upto` (covered by a snapshot).
    pub fn purge_upto(&self, group: u64, upto: u64) -> Result<()> {
        self.wal.purge_upto(group, upto)
    }

    pub fn put_state(&self, group: u64, tag: &str, value: &[u8]) -> Result<()> {
        self.state.insert(state_key(group, tag), value).map_err(sled_error)?;
        Ok(())
    }

    pub fn get_state(&self, group: u64, tag: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .state
            .get(state_key(group, tag))
            .map_err(sled_error)?
            .map(|v| v.to_vec()))
    }

    /// Keeps `meta` and `data` as the group's latest snapshot (one insert: never a meta
    /// without its data).
    pub fn put_snapshot(&self, group: u64, meta: &[u8], data: &[u8]) -> Result<()> {
        let mut value = Vec::with_capacity(4 + meta.len() + data.len());
        put_framed(&mut value, meta);
        value.extend_from_slice(data);
        self.snapshots.insert(group.to_be_bytes(), value).map_err(sled_error)?;
        for tag in LEGACY_SNAPSHOT_TAGS {
            let key = state_key(group, tag);
            if self.state.contains_key(&key).map_err(sled_error)? {
                self.state.remove(key).map_err(sled_error)?;
            }
        }
        Ok(())
    }

    /// The group's latest snapshot: (meta, data).
    pub fn get_snapshot(&self, group: u64) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(value) = self.snapshots.get(group.to_be_bytes()).map_err(sled_error)? else {
            return Ok(None);
        };
        let mut data = &value[..];
        let meta = take_framed(&mut data, "a stored snapshot")?;
        Ok(Some((meta.to_vec(), data.to_vec())))
    }

    /// The meta of the group's latest snapshot, without copying its data.
    pub fn get_snapshot_meta(&self, group: u64) -> Result<Option<Vec<u8>>> {
        let Some(value) = self.snapshots.get(group.to_be_bytes()).map_err(sled_error)? else {
            return Ok(None);
        };
        let mut data = &value[..];
        Ok(Some(take_framed(&mut data, "a stored snapshot")?.to_vec()))
    }

    /// The data of a data group's state machine.
    pub fn shard(&self, group: u64) -> Result<Shard> {
        Shard::open(&self.db, &shard_tree_name(group))
    }

    /// Removes every trace of a group: log, Raft state and data.
    pub fn drop_group(&self, group: u64) -> Result<()> {
        // The log goes durably first: its entries must not come back without the Raft state.
        self.wal.truncate_from(group, 0)?;
        self.wal.sync()?;
        let mut batch = sled::Batch::default();
        for k in self.state.scan_prefix(group.to_be_bytes()).keys() {
            batch.remove(k.map_err(sled_error)?);
        }
        self.state.apply_batch(batch).map_err(sled_error)?;
        self.snapshots.remove(group.to_be_bytes()).map_err(sled_error)?;
        self.db.drop_tree(shard_tree_name(group)).map_err(sled_error)?;
        Ok(())
    }

    /// Synchronous flush of the log and sled, for shutdown.
    pub fn flush_blocking(&self) -> Result<()> {
        self.wal.sync()?;
        self.db.flush().map(|_| ()).map_err(sled_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logs of different groups never mix, and truncate/purge touch only their range.
    #[tokio::test]
    async fn groups_have_separate_logs() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 16 * 1024 * 1024).await.unwrap();
        store.append(1, (1..=5).map(|i| (i, vec![i as u8]))).unwrap();
        store.append(2, (1..=3).map(|i| (i, vec![100 + i as u8]))).unwrap();
        store.sync_log().await.unwrap();
        assert_eq!(store.last_entry(1).unwrap().unwrap().0, 5);
        assert_eq!(store.entries(2, 1, 10).unwrap().len(), 3);
        store.truncate_from(1, 4).unwrap();
        store.purge_upto(1, 1).unwrap();
        let left: Vec<u64> = store.entries(1, 0, 100).unwrap().into_iter().map(|(i, _)| i).collect();
        assert_eq!(left, vec![2, 3]);
        assert_eq!(store.entries(2, 0, 100).unwrap().len(), 3);
        store.put_state(1, "vote", b"v").unwrap();
        store.put_snapshot(1, b"meta", b"data").unwrap();
        store.put_snapshot(2, b"", b"two").unwrap();
        assert_eq!(
            store.get_snapshot(1).unwrap(),
            Some((b"meta".to_vec(), b"data".to_vec()))
        );
        store.drop_group(1).unwrap();
        assert_eq!(store.get_snapshot(1).unwrap(), None);
        assert_eq!(store.get_snapshot(2).unwrap(), Some((Vec::new(), b"two".to_vec())));
        assert_eq!(store.get_snapshot_meta(2).unwrap(), Some(Vec::new()));
        assert_eq!(store.get_snapshot_meta(1).unwrap(), None);
        assert!(store.entries(1, 0, 100).unwrap().is_empty());
        assert!(store.get_state(1, "vote").unwrap().is_none());
        assert_eq!(store.entries(2, 0, 100).unwrap().len(), 3);
    }

    /// Logs an earlier version kept in sled move into the write-ahead log when the store is
    /// opened, and stay there across later opens.
    #[tokio::test]
    async fn legacy_logs_move_into_the_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let legacy = db.open_tree(LEGACY_LOG_TREE).unwrap();
            for (group, index) in [(1u64, 5u64), (1, 6), (3, 1)] {
                legacy.insert(log_key(group, index), vec![index as u8; 10]).unwrap();
            }
            db.flush().unwrap();
        }
        for _ in 0..2 {
            let store = NodeStore::open(dir.path(), 16 * 1024 * 1024).await.unwrap();
            assert_eq!(
                store.entries(1, 0, 100).unwrap(),
                vec![(5, vec![5u8; 10]), (6, vec![6u8; 10])]
            );
            assert_eq!(store.last_entry(3).unwrap(), Some((1, vec![1u8; 10])));
            assert!(!store.db.tree_names().iter().any(|n| n == LEGACY_LOG_TREE.as_bytes()));
            store.append(3, [(2, vec![2u8])]).unwrap();
            store.truncate_from(3, 2).unwrap();
            store.sync_log().await.unwrap();
            drop(store);
        }
    }
}
