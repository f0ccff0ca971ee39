//! The Raft log and vote of one group: the log in the node's write-ahead log, the vote and
//! other Raft state in its sled trees. An append is acknowledged to openraft (`LogFlushed`)
//! only after the group-commit sync that covers it; a vote is durable before `save_vote`
//! returns.

use std::collections::VecDeque;
use std::fmt::Debug;
use std::io;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{AnyError, Entry, LogId, LogState, RaftLogReader, RaftTypeConfig, StorageError, StorageIOError, Vote};
use tessera_storage::NodeStore;

use crate::types::TypeConfig;

type StorageResult<T> = Result<T, StorageError<u64>>;
type MaybeLogId = Option<LogId<u64>>;

/// Most recent entries of a group kept decoded in memory, and their most encoded bytes.
pub const ENTRY_CACHE_ENTRIES_MAX: usize = 2048;
pub const ENTRY_CACHE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// The latest entries of a group as they were appended: a leader reads each new entry once
/// per follower to replicate it and once more to apply it, and a follower once to apply it;
/// served from here, those reads skip the disk and decoding.
struct EntryCache<E> {
    /// Consecutive entries (index order) with their encoded sizes.
    entries: VecDeque<(u64, E, usize)>,
    bytes: usize,
}

impl<E> EntryCache<E> {
    fn new() -> Self {
        EntryCache {
            entries: VecDeque::new(),
            bytes: 0,
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    fn push(&mut self, index: u64, entry: E, size: usize) {
        if self.entries.back().is_some_and(|(last, _, _)| last + 1 != index) {
            self.clear();
        }
        self.entries.push_back((index, entry, size));
        self.bytes += size;
        while self.entries.len() > ENTRY_CACHE_ENTRIES_MAX || self.bytes > ENTRY_CACHE_BYTES_MAX {
            match self.entries.pop_front() {
                Some((_, _, size)) => self.bytes -= size,
                None => break,
            }
        }
    }

    /// Forgets entries with index >= `from`.
    fn truncate(&mut self, from: u64) {
        while self.entries.back().is_some_and(|(i, _, _)| *i >= from) {
            if let Some((_, _, size)) = self.entries.pop_back() {
                self.bytes -= size;
            }
        }
    }

    /// Forgets entries with index <= `upto`.
    fn purge(&mut self, upto: u64) {
        while self.entries.front().is_some_and(|(i, _, _)| *i <= upto) {
            if let Some((_, _, size)) = self.entries.pop_front() {
                self.bytes -= size;
            }
        }
    }

    /// Entries `lo..hi` if every one of them is here.
    fn get(&self, lo: u64, hi: u64) -> Option<Vec<E>>
    where
        E: Clone,
    {
        let first = self.entries.front()?.0;
        let last = self.entries.back()?.0;
        if lo < first || hi > last.saturating_add(1) || lo > hi {
            return None;
        }
        let start = (lo - first) as usize;
        let end = (hi - first) as usize;
        Some(self.entries.range(start..end).map(|(_, e, _)| e.clone()).collect())
    }
}

/// The log store of one group. Generic over the type configuration so other Raft groups of
/// ours (the DAX tier's) keep their logs the same way.
pub struct LogStore<C: RaftTypeConfig = TypeConfig> {
    group: u64,
    store: Arc<NodeStore>,
    /// Shared with the readers cloned from this store.
    cache: Arc<Mutex<EntryCache<C::Entry>>>,
    config: PhantomData<fn() -> C>,
}

impl<C: RaftTypeConfig> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        LogStore {
            group: self.group,
            store: self.store.clone(),
            cache: self.cache.clone(),
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

impl<C: RaftTypeConfig> LogStore<C> {
    pub fn new(group: u64, store: Arc<NodeStore>) -> Self {
        LogStore {
            group,
            store,
            cache: Arc::new(Mutex::new(EntryCache::new())),
            config: PhantomData,
        }
    }

    fn with_cache<R>(&self, f: impl FnOnce(&mut EntryCache<C::Entry>) -> R) -> Option<R> {
        self.cache.lock().ok().map(|mut c| f(&mut c))
    }

    fn state<T: serde::de::DeserializeOwned>(&self, tag: &str) -> StorageResult<Option<T>> {
        match self.store.get_state(self.group, tag).map_err(read_err)? {
            Some(bytes) => tessera_model::wire::decode(&bytes).map(Some).map_err(read_err),
            None => Ok(None),
        }
    }

    /// The last purged log id, and the last log id (never below the purged one: a purge
    /// record lost in a crash leaves entries behind it that do not count).
    fn log_ids(&self) -> StorageResult<(MaybeLogId, MaybeLogId)>
    where
        C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
    {
        let purged: Option<LogId<u64>> = self.state("purged")?;
        let last = match self.store.last_entry(self.group).map_err(read_err)? {
            Some((_, bytes)) => Some(decode_log_id::<C>(&bytes)?),
            None => None,
        };
        Ok((purged, last.max(purged)))
    }

    /// The id of the log's entry at `index`, if it has one.
    fn log_id_at(&self, index: u64) -> StorageResult<MaybeLogId>
    where
        C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
        Entry<C>: Clone,
    {
        if let Some(mut cached) = self.with_cache(|c| c.get(index, index.saturating_add(1))).flatten() {
            return Ok(cached.pop().map(|e| e.log_id));
        }
        match self
            .store
            .entries(self.group, index, index.saturating_add(1))
            .map_err(read_err)?
            .pop()
        {
            Some((_, bytes)) => Ok(Some(decode_log_id::<C>(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Call before Raft starts, with what the state machine has applied. A crash can leave
    /// the state machine (which sled flushes on its own schedule) ahead of this log, the log
    /// even holding a conflicting suffix a lost truncation kept. openraft purges the log up
    /// to the applied entry when it starts, but reads the membership from the log before
    /// that; so the purge happens here first whenever the log does not hold that very entry.
    pub async fn reconcile(&mut self, applied: Option<LogId<u64>>) -> StorageResult<()>
    where
        C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
        Entry<C>: Clone,
    {
        let Some(applied) = applied else {
            return Ok(());
        };
        let purged: MaybeLogId = self.state("purged")?;
        if purged.is_some_and(|p| p >= applied) || self.log_id_at(applied.index)? == Some(applied) {
            return Ok(());
        }
        tracing::warn!(group = self.group, applied = %applied, "the state machine is ahead of the log: purging the log up to it");
        RaftLogStorage::purge(self, applied).await
    }

    fn put_state<T: serde::Serialize>(&self, tag: &str, value: &T) -> StorageResult<()> {
        let bytes = tessera_model::wire::encode(value).map_err(write_err)?;
        self.store.put_state(self.group, tag, &bytes).map_err(write_err)
    }
}

fn decode_log_id<C>(bytes: &[u8]) -> StorageResult<LogId<u64>>
where
    C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
{
    let entry: Entry<C> = tessera_model::wire::decode(bytes).map_err(read_err)?;
    Ok(entry.log_id)
}

impl<C> RaftLogReader<C> for LogStore<C>
where
    C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
    Entry<C>: Clone,
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
        if let Some(entries) = self.with_cache(|c| c.get(lo, hi)).flatten() {
            return Ok(entries);
        }
        self.store
            .entries(self.group, lo, hi)
            .map_err(read_err)?
            .into_iter()
            .map(|(_, bytes)| tessera_model::wire::decode(&bytes).map_err(read_err))
            .collect()
    }
}

impl<C> RaftLogStorage<C> for LogStore<C>
where
    C: RaftTypeConfig<NodeId = u64, Entry = Entry<C>>,
    Entry<C>: Clone,
{
    type LogReader = LogStore<C>;

    async fn get_log_state(&mut self) -> StorageResult<LogState<C>> {
        let (purged, last) = self.log_ids()?;
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
        let Some(committed) = self.state::<Option<LogId<u64>>>("committed")?.flatten() else {
            return Ok(None);
        };
        // `committed` reaches sled without waiting for the log's sync, so after a crash the
        // log may end before it, or hold there an entry of an older term that a lost
        // truncation did not remove: openraft would re-apply up to it and fail, or apply the
        // wrong entries. It counts only if the log holds that very entry (or purged it);
        // otherwise openraft starts from what the state machine applied and learns the
        // commit index from the leader again.
        let purged: MaybeLogId = self.state("purged")?;
        let covered = purged.is_some_and(|p| committed.index <= p.index);
        let held = self.log_id_at(committed.index)? == Some(committed);
        Ok((covered || held).then_some(committed))
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<C>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<C>> + Send,
        I::IntoIter: Send,
    {
        let mut encoded = Vec::new();
        let mut decoded = Vec::new();
        for e in entries {
            let index = e.log_id.index;
            let bytes = tessera_model::wire::encode(&e).map_err(write_err)?;
            decoded.push((index, bytes.len(), e));
            encoded.push((index, bytes));
        }
        self.store.append(self.group, encoded).map_err(write_err)?;
        self.with_cache(|c| {
            for (index, size, entry) in decoded {
                c.push(index, entry, size);
            }
        });
        // Acknowledge once durable; the flush is shared with every group appending meanwhile.
        let store = self.store.clone();
        tokio::spawn(async move {
            let result = store.sync_log().await.map_err(|e| io::Error::other(e.message));
            callback.log_io_completed(result);
        });
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        self.with_cache(|c| c.truncate(log_id.index));
        self.store.truncate_from(self.group, log_id.index).map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> StorageResult<()> {
        // A log holding another entry at the purge point (a restart found the state machine
        // ahead of a log whose conflicting suffix a crash kept) holds another history after
        // it too: it goes, or it would follow the purge point as if it were this one's.
        if self.log_id_at(log_id.index)?.is_some_and(|held| held != log_id) {
            self.with_cache(|c| c.truncate(log_id.index));
            self.store
                .truncate_from(self.group, log_id.index.saturating_add(1))
                .map_err(write_err)?;
        }
        // A truncation just before (this one, or installing a snapshot over a conflicting
        // log) must be durable before the purge point is: entries it removed past that
        // point must not come back.
        self.store.sync_log().await.map_err(write_err)?;
        // Record the purge point durably before the entries go, and make sure the state
        // machine data the snapshot stands for is durable too.
        self.put_state("purged", &log_id)?;
        self.store.flush().await.map_err(write_err)?;
        self.with_cache(|c| c.purge(log_id.index));
        self.store.purge_upto(self.group, log_id.index).map_err(write_err)
    }
}

/// Log entries for tests: blank entries as the log store keeps them.
#[cfg(test)]
pub(crate) mod test_entries {
    use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};

    use crate::types::TypeConfig;

    /// The id of entry `index` of `term` (leader node 1).
    pub(crate) fn id(term: u64, index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    /// Blank entries of `term` at `indexes`, encoded for `NodeStore::append`.
    pub(crate) fn blank(term: u64, indexes: std::ops::RangeInclusive<u64>) -> Vec<(u64, Vec<u8>)> {
        indexes
            .map(|i| {
                let entry: Entry<TypeConfig> = Entry {
                    log_id: id(term, i),
                    payload: EntryPayload::Blank,
                };
                (i, tessera_model::wire::encode(&entry).unwrap())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_entries::{blank, id};
    use super::*;

    /// The cache serves only ranges it holds whole, forgets truncated and purged entries,
    /// and stays within its bounds.
    #[test]
    fn entry_cache_serves_whole_ranges_only() {
        let mut c: EntryCache<u64> = EntryCache::new();
        for i in 5..=10 {
            c.push(i, i * 10, 100);
        }
        assert_eq!(c.get(5, 11), Some(vec![50, 60, 70, 80, 90, 100]));
        assert_eq!(c.get(7, 9), Some(vec![70, 80]));
        assert_eq!(c.get(4, 6), None);
        assert_eq!(c.get(9, 12), None);
        c.truncate(9);
        assert_eq!(c.get(8, 9), Some(vec![80]));
        assert_eq!(c.get(9, 10), None);
        c.push(9, 900, 100);
        assert_eq!(c.get(8, 10), Some(vec![80, 900]));
        c.purge(6);
        assert_eq!(c.get(6, 8), None);
        assert_eq!(c.get(7, 8), Some(vec![70]));
        // A gap (entries appended elsewhere) starts the cache over.
        c.push(20, 2000, 100);
        assert_eq!(c.get(20, 21), Some(vec![2000]));
        assert_eq!(c.get(9, 10), None);
        for i in 21..21 + ENTRY_CACHE_ENTRIES_MAX as u64 {
            c.push(i, i, 1);
        }
        assert_eq!(c.entries.len(), ENTRY_CACHE_ENTRIES_MAX);
        c.push(10_000, 1, ENTRY_CACHE_BYTES_MAX + 1);
        assert!(c.bytes <= ENTRY_CACHE_BYTES_MAX);
    }

    /// `committed` reaches sled without waiting for the log's sync, so after a crash the log
    /// may end before it or hold an older term's entry there: it counts only if the log
    /// holds that very entry or purged it. A purge over a conflicting entry drops what
    /// follows; an ordinary purge keeps it.
    #[tokio::test]
    async fn committed_counts_only_where_the_log_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1 << 24).await.unwrap();
        let mut log: LogStore = LogStore::new(1, store.clone());
        store.append(1, blank(2, 1..=5)).unwrap();
        log.save_committed(Some(id(2, 3))).await.unwrap();
        assert_eq!(log.read_committed().await.unwrap(), Some(id(2, 3)));
        // Past the log's end.
        log.save_committed(Some(id(2, 9))).await.unwrap();
        assert_eq!(log.read_committed().await.unwrap(), None);
        // A later term's entry where the log holds term 2's.
        log.save_committed(Some(id(3, 4))).await.unwrap();
        assert_eq!(log.read_committed().await.unwrap(), None);
        // A state machine ahead of the log (term 3 up to 4) purges it there: the term-2
        // entry 5 goes with the rest.
        log.purge(id(3, 4)).await.unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!(
            (state.last_purged_log_id, state.last_log_id),
            (Some(id(3, 4)), Some(id(3, 4)))
        );
        assert!(store.entries(1, 0, 100).unwrap().is_empty());
        // Committed at or before the purge point counts.
        assert_eq!(log.read_committed().await.unwrap(), Some(id(3, 4)));
        // An ordinary purge (the entry there is the purged one) keeps what follows.
        store.append(1, blank(3, 5..=7)).unwrap();
        log.purge(id(3, 5)).await.unwrap();
        let left: Vec<u64> = store.entries(1, 0, 100).unwrap().into_iter().map(|(i, _)| i).collect();
        assert_eq!(left, vec![6, 7]);
    }

    /// Before Raft starts, a state machine ahead of the log (or applied past a conflicting
    /// entry) purges the log up to what it applied, stale suffix included; a log that holds
    /// the applied entry is left alone.
    #[tokio::test]
    async fn reconcile_purges_a_log_behind_the_state_machine() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1 << 24).await.unwrap();
        let mut log: LogStore = LogStore::new(1, store.clone());
        store.append(1, blank(2, 1..=6)).unwrap();
        log.reconcile(None).await.unwrap();
        log.reconcile(Some(id(2, 4))).await.unwrap();
        assert_eq!(store.entries(1, 0, 100).unwrap().len(), 6);
        assert_eq!(log.get_log_state().await.unwrap().last_purged_log_id, None);
        // Term 3 applied up to 5, where the log still holds term 2's entries 4..6.
        log.reconcile(Some(id(3, 5))).await.unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!(
            (state.last_purged_log_id, state.last_log_id),
            (Some(id(3, 5)), Some(id(3, 5)))
        );
        assert!(store.entries(1, 0, 100).unwrap().is_empty());
        // Applied past the log's end.
        log.reconcile(Some(id(3, 9))).await.unwrap();
        assert_eq!(log.get_log_state().await.unwrap().last_log_id, Some(id(3, 9)));
    }
}
