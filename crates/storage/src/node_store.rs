//! The storage of a cluster node: one sled database holding, for every Raft group the node
//! hosts, its log, its Raft state (vote, committed, purged) and its state machine's data.
//!
//! Layout (shared trees keyed big-endian, so many groups cost no extra trees):
//! - `raft_log`:   `group ‖ index` → entry bytes
//! - `raft_state`: `group ‖ tag`   → bytes (vote, committed, purged, meta state machine)
//! - `raft_snapshot`: `group` → the group's latest snapshot (`len(meta) ‖ meta ‖ data`). Not in
//!   `raft_state`: sled rewrites a whole leaf every few changes to it, and a leaf holding a
//!   shard-sized snapshot beside the `committed` marker (written on every commit) was
//!   rewritten megabytes at a time, dozens of times a second.
//! - `shard/<group>`: the data of a data group's state machine (a [`Shard`])
//!
//! Writes are made durable by [`NodeStore::flush`], which group-commits across every group.

use std::path::Path;
use std::sync::Arc;

use tessera_model::{Error, Result};

use crate::codec::{put_framed, take_framed};
use crate::flusher::Flusher;
use crate::shard::Shard;
use crate::{open_with_lock_retry, sled_error};

pub struct NodeStore {
    db: sled::Db,
    log: sled::Tree,
    state: sled::Tree,
    snapshots: sled::Tree,
    flusher: Flusher,
}

/// Keys of snapshots kept in `raft_state` by earlier versions (removed when a new one is kept).
const LEGACY_SNAPSHOT_TAGS: [&str; 2] = ["snapshot_data", "snapshot_meta"];

fn log_key(group: u64, index: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&group.to_be_bytes());
    k[8..].copy_from_slice(&index.to_be_bytes());
    k
}

fn index_of(key: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = key
        .get(8..16)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::internal("bad log key"))?;
    Ok(u64::from_be_bytes(bytes))
}

fn state_key(group: u64, tag: &str) -> Vec<u8> {
    [&group.to_be_bytes()[..], tag.as_bytes()].concat()
}

fn shard_tree_name(group: u64) -> String {
    format!("shard/{group}")
}

impl NodeStore {
    /// A database that lives in a temporary directory and is deleted when dropped (for
    /// processes told to keep nothing). Must run inside a tokio runtime.
    pub fn open_temporary() -> Result<Arc<NodeStore>> {
        let db = sled::Config::new().temporary(true).open().map_err(sled_error)?;
        Ok(Arc::new(NodeStore {
            log: db.open_tree("raft_log").map_err(sled_error)?,
            state: db.open_tree("raft_state").map_err(sled_error)?,
            snapshots: db.open_tree("raft_snapshot").map_err(sled_error)?,
            flusher: Flusher::start(db.clone(), crate::flusher::FLUSH_INTERVAL_NODE),
            db,
        }))
    }

    /// Opens (or creates) the node's database, with sled's page cache bounded by
    /// `cache_bytes`. Must run inside a tokio runtime.
    pub async fn open(dir: &Path, cache_bytes: u64) -> Result<Arc<NodeStore>> {
        let db = open_with_lock_retry(&sled::Config::new().path(dir).cache_capacity(cache_bytes)).await?;
        Ok(Arc::new(NodeStore {
            log: db.open_tree("raft_log").map_err(sled_error)?,
            state: db.open_tree("raft_state").map_err(sled_error)?,
            snapshots: db.open_tree("raft_snapshot").map_err(sled_error)?,
            flusher: Flusher::start(db.clone(), crate::flusher::FLUSH_INTERVAL_NODE),
            db,
        }))
    }

    /// Returns once everything written before the call is on disk (one fsync serves every
    /// caller waiting at the time, across all groups).
    pub async fn flush(&self) -> Result<()> {
        self.flusher.flush().await
    }

    /// Appends entries one insert each, in order: sled recovers a prefix of its writes, so a
    /// crash leaves a prefix of the entries (still a valid log; none was acknowledged before
    /// the flush), and plain inserts avoid the I/O-buffer rolls every sled batch costs.
    pub fn append(&self, group: u64, entries: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Result<()> {
        for (index, bytes) in entries {
            self.log.insert(&log_key(group, index)[..], bytes).map_err(sled_error)?;
        }
        Ok(())
    }

    /// Entries with `lo <= index < hi`, in order.
    pub fn entries(&self, group: u64, lo: u64, hi: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        if lo >= hi {
            return Ok(Vec::new());
        }
        self.log
            .range(log_key(group, lo)..log_key(group, hi))
            .map(|r| {
                let (k, v) = r.map_err(sled_error)?;
                Ok((index_of(&k)?, v.to_vec()))
            })
            .collect()
    }

    pub fn last_entry(&self, group: u64) -> Result<Option<(u64, Vec<u8>)>> {
        match self.log.range(log_key(group, 0)..=log_key(group, u64::MAX)).next_back() {
            Some(r) => {
                let (k, v) = r.map_err(sled_error)?;
                Ok(Some((index_of(&k)?, v.to_vec())))
            }
            None => Ok(None),
        }
    }

    fn remove_range(&self, group: u64, lo: u64, hi_inclusive: u64) -> Result<()> {
        let mut batch = sled::Batch::default();
        for k in self.log.range(log_key(group, lo)..=log_key(group, hi_inclusive)).keys() {
            batch.remove(k.map_err(sled_error)?);
        }
        self.log.apply_batch(batch).map_err(sled_error)
    }

    /// Removes entries with index >= `from` (a conflicting suffix).
    pub fn truncate_from(&self, group: u64, from: u64) -> Result<()> {
        self.remove_range(group, from, u64::MAX)
    }

    /// Removes entries with index <= `upto` (covered by a snapshot).
    pub fn purge_upto(&self, group: u64, upto: u64) -> Result<()> {
        self.remove_range(group, 0, upto)
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

    /// The data of a data group's state machine.
    pub fn shard(&self, group: u64) -> Result<Shard> {
        Shard::open(&self.db, &shard_tree_name(group))
    }

    /// Removes every trace of a group: log, Raft state and data.
    pub fn drop_group(&self, group: u64) -> Result<()> {
        self.remove_range(group, 0, u64::MAX)?;
        let mut batch = sled::Batch::default();
        for k in self.state.scan_prefix(group.to_be_bytes()).keys() {
            batch.remove(k.map_err(sled_error)?);
        }
        self.state.apply_batch(batch).map_err(sled_error)?;
        self.snapshots.remove(group.to_be_bytes()).map_err(sled_error)?;
        self.db.drop_tree(shard_tree_name(group)).map_err(sled_error)?;
        Ok(())
    }

    /// Synchronous flush, for shutdown.
    pub fn flush_blocking(&self) -> Result<()> {
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
        store.flush().await.unwrap();
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
        assert!(store.entries(1, 0, 100).unwrap().is_empty());
        assert!(store.get_state(1, "vote").unwrap().is_none());
        assert_eq!(store.entries(2, 0, 100).unwrap().len(), 3);
    }
}
