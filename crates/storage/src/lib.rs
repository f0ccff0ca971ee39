//! # tessera-storage
//!
//! The storage engine: items on sled in a compact binary form, keyed so that Query and Scan
//! are range reads; a shard state machine whose `apply` evaluates conditions and updates on
//! the stored item; a table catalog; and group commit, so a write is acknowledged only once
//! sled has flushed it. **Only this crate imports sled.**
//!
//! ## Layout
//! - `codec`: binary item encoding. `keys`: storage key layout.
//! - `shard`: `Shard` (one shard's items), `ShardCommand` (what a Raft log entry carries).
//! - `catalog`: table metadata of an embedded store.
//! - `flusher`: group commit (a sled flush, or the write-ahead log's fdatasync).
//! - `node_store`: a cluster node's storage: Raft logs and state of many groups, their shards.
//! - `wal`: the write-ahead log holding the Raft logs of every group of a node.
//! - [`Store`]: the embedded engine of `tessera local`: catalog + one shard + group commit.
//! - `floor`: this machine's storage ceilings (sled put/get, durable put, fsync rates) for
//!   `tessera bench-floor`.

mod catalog;
mod codec;
pub mod floor;
mod flusher;
mod keys;
mod node_store;
mod shard;
mod wal;

use std::path::Path;
use std::sync::Mutex;

use tessera_model::ops::{GetItem, Page, Query, Scan, WriteOutput};
use tessera_model::table::TableMeta;
use tessera_model::{Error, Item, Result};

pub use catalog::Catalog;
pub use codec::{decode_item, encode_item};
pub use flusher::Flusher;
pub use node_store::NodeStore;
pub use shard::{
    ApplySession, RequestId, Shard, ShardCommand, TableRef, DEDUP_IDS_MAX, DEDUP_WINDOW_ENTRIES, MSG_UPDATE_TOO_LARGE,
};

pub(crate) fn sled_error(e: sled::Error) -> Error {
    Error::internal(format!("storage error: {e}"))
}

impl From<&TableMeta> for TableRef {
    fn from(meta: &TableMeta) -> TableRef {
        TableRef {
            id: meta.id,
            key_schema: meta.key_schema.clone(),
        }
    }
}

/// The embedded store behind `tessera local`: one sled database holding the catalog and one
/// shard. Writes are applied one at a time (as a Raft state machine applies its log) and
/// acknowledged after a group-committed flush.
pub struct Store {
    db: sled::Db,
    catalog: Catalog,
    shard: Shard,
    flusher: Flusher,
    /// Serialises applies, so a condition check and its write are atomic.
    apply_lock: Mutex<()>,
}

impl Store {
    /// Opens (or creates) a durable store in `dir`. Must run inside a tokio runtime.
    pub async fn open(dir: &Path) -> Result<Store> {
        let db = open_with_lock_retry(&sled::Config::new().path(dir)).await?;
        let flusher = Flusher::start(db.clone(), flusher::FLUSH_INTERVAL_LOCAL);
        Store::with_db(db, flusher)
    }

    /// A store that lives in memory only (nothing survives the process).
    pub fn open_in_memory() -> Result<Store> {
        let db = sled::Config::new().temporary(true).open().map_err(sled_error)?;
        Store::with_db(db, Flusher::disabled())
    }

    fn with_db(db: sled::Db, flusher: Flusher) -> Result<Store> {
        Ok(Store {
            catalog: Catalog::open(&db)?,
            shard: Shard::open(&db, "shard/0")?,
            db,
            flusher,
            apply_lock: Mutex::new(()),
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Applies a write and returns once it is durable.
    pub async fn write(&self, command: &ShardCommand) -> Result<WriteOutput> {
        let output = {
            let _guard = self
                .apply_lock
                .lock()
                .map_err(|_| Error::internal("apply lock poisoned"))?;
            self.shard.apply(command, None)?
        };
        self.flusher.flush().await?;
        Ok(output)
    }

    /// Makes every catalog change so far durable.
    pub async fn sync(&self) -> Result<()> {
        self.flusher.flush().await
    }

    pub fn get(&self, table: &TableRef, op: &GetItem) -> Result<Option<Item>> {
        self.shard.get(table, op)
    }

    pub fn query(&self, table: &TableRef, op: &Query) -> Result<Page> {
        self.shard.query(table, op)
    }

    pub fn scan(&self, table: &TableRef, op: &Scan) -> Result<Page> {
        let (lo, hi) = match op.segment {
            Some((segment, total)) => segment_range(segment, total),
            None => (0, None),
        };
        self.shard
            .scan(table, op, lo, hi, tessera_model::limits::QUERY_PAGE_BYTES_MAX)
    }

    /// Flushes everything and releases the database (its directory lock goes with the last
    /// handle), for a clean shutdown or a reopen.
    pub async fn close(self) -> Result<()> {
        let Store {
            db,
            catalog,
            shard,
            flusher,
            ..
        } = self;
        let flushed = db.flush().map(|_| ()).map_err(sled_error);
        drop((catalog, shard));
        flusher.stop().await;
        drop(db);
        flushed
    }
}

/// How long to wait for a just-closed database's directory lock: sled 0.34 releases it from a
/// background thread shortly after the last handle drops. A live process holding the lock
/// keeps it far longer, so a real double open still fails.
const LOCK_RETRY_ATTEMPTS: u32 = 20;
const LOCK_RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

pub(crate) async fn open_with_lock_retry(config: &sled::Config) -> Result<sled::Db> {
    let mut attempt = 0;
    loop {
        match config.open() {
            Err(sled::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("WouldBlock") =>
            {
                attempt += 1;
                if attempt >= LOCK_RETRY_ATTEMPTS {
                    return Err(Error::internal(format!(
                        "data directory is in use by another process: {e}"
                    )));
                }
                // An async wait: on a single-threaded runtime, sled's release may need it to run.
                tokio::time::sleep(LOCK_RETRY_INTERVAL).await;
            }
            other => return other.map_err(sled_error),
        }
    }
}

/// The hash range `[lo, hi)` of parallel-scan segment `segment` of `total` (hi None = end).
pub fn segment_range(segment: u32, total: u32) -> (u64, Option<u64>) {
    let total = u128::from(total.max(1));
    let at = |i: u128| ((i << 64) / total) as u64;
    let lo = at(u128::from(segment));
    let hi = (u128::from(segment) + 1 < total).then(|| at(u128::from(segment) + 1));
    (lo, hi)
}

#[cfg(test)]
mod tests;
