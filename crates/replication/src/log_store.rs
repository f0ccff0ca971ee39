//! The Raft log and vote of one group, in the node's shared sled trees. An append is
//! acknowledged to openraft (`LogFlushed`) only after the group-commit flush that covers it;
//! a vote is durable before `save_vote` returns.

use std::fmt::Debug;
use std::io;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{AnyError, Entry, LogId, LogState, RaftLogReader, RaftTypeConfig, StorageError, StorageIOError, Vote};
use tessera_storage::NodeStore;

use crate::types::TypeConfig;

type StorageResult<T> = Result<T, StorageError<u64>>;

/// The log store of one group. Generic over the type configuration so other Raft groups of
/// ours (the DAX tier's) keep their logs the same way.
pub struct LogStore<C = TypeConfig> {
    group: u64,
    store: Arc<NodeStore>,
    config: PhantomData<fn() -> C>,
}

impl<C> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        LogStore {
            group: self.group,
            store: self.store.clone(),
            config: PhantomData,
        }
    }
}

fn any(e: impl std::fmt::Display) -> AnyError {
    AnyError::error(e.to_string())
}

fn read_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::read_logs(any(e)).into()
}

fn write_err(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::write_logs(any(e)).into()
}

impl<C> LogStore<C> {
    pub fn new(group: u64, store: Arc<NodeStore>) -> Self {
        LogStore {
            group,
            store,
            config: PhantomData,
        }
    }

    fn state<T: serde::de::DeserializeOwned>(&self, tag: &str) -> StorageResult<Option<T>> {
        match self.store.get_state(self.group, tag).map_err(read_err)? {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(read_err),
            None => Ok(None),
        }
    }

    fn put_state<T: serde::Serialize>(&self, tag: &str, value: &T) -> StorageResult<()> {
        let bytes = serde_json::to_vec(value).map_err(write_err)?;
        self.store.put_state(self.group, tag, &bytes).map_err(write_err)
    }
}

impl<C> RaftLogReader<C> for LogStore<C>
where
    C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
{
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<C>>> {
        let lo = match range.start_bound() {
            Bound::Included(x) => *x,
            Bound::Excluded(x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(x) => x.saturating_add(1),
            Bound::Excluded(x) => *x,
            Bound::Unbounded => u64::MAX,
        };
        self.store
            .entries(self.group, lo, hi)
            .map_err(read_err)?
            .into_iter()
            .map(|(_, bytes)| serde_json::from_slice(&bytes).map_err(read_err))
            .collect()
    }
}

impl<C> RaftLogStorage<C> for LogStore<C>
where
    C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
{
    type LogReader = LogStore<C>;

    async fn get_log_state(&mut self) -> StorageResult<LogState<C>> {
        let purged: Option<LogId<u64>> = self.state("purged")?;
        let last = match self.store.last_entry(self.group).map_err(read_err)? {
            Some((_, bytes)) => {
                let entry: Entry<C> = serde_json::from_slice(&bytes).map_err(read_err)?;
                Some(entry.log_id)
            }
            None => purged,
        };
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> StorageResult<()> {
        self.put_state("vote", vote)?;
        // A vote must be on disk before it is acted on.
        self.store
            .flush()
            .await
            .map_err(|e| StorageIOError::write_vote(any(e)).into())
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<u64>>> {
        self.state("vote")
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> StorageResult<()> {
        // Not flushed on its own: it only lets a restart re-apply sooner.
        self.put_state("committed", &committed)
    }

    async fn read_committed(&mut self) -> StorageResult<Option<LogId<u64>>> {
        Ok(self.state::<Option<LogId<u64>>>("committed")?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<C>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<C>> + Send,
        I::IntoIter: Send,
    {
        let encoded = entries
            .into_iter()
            .map(|e| serde_json::to_vec(&e).map(|b| (e.log_id.index, b)).map_err(write_err))
            .collect::<StorageResult<Vec<_>>>()?;
        self.store.append(self.group, encoded).map_err(write_err)?;
        // Acknowledge once durable; the flush is shared with every group appending meanwhile.
        let store = self.store.clone();
        tokio::spawn(async move {
            let result = store.flush().await.map_err(|e| io::Error::other(e.message));
            callback.log_io_completed(result);
        });
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        self.store.truncate_from(self.group, log_id.index).map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        // Record the purge point durably before the entries go, and make sure the state
        // machine data the snapshot stands for is durable too.
        self.put_state("purged", &log_id)?;
        self.store.flush().await.map_err(write_err)?;
        self.store.purge_upto(self.group, log_id.index).map_err(write_err)
    }
}
