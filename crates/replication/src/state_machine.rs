//! State machines: a data group applies shard commands to its `Shard`; the metadata group
//! applies metadata commands to the `ClusterState`. Both record the applied log position
//! atomically with the change it belongs to.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use openraft::storage::RaftStateMachine;
use openraft::{
    AnyError, Entry, EntryPayload, LogId, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError, StorageIOError,
    StoredMembership,
};
use serde::{Deserialize, Serialize};
use tessera_model::Error;
use tessera_storage::{NodeStore, Shard};
use tokio::sync::{watch, Mutex, RwLock};

use crate::meta::ClusterState;
use crate::types::{Command, CommandResult, NodeInfo, TypeConfig};

type StorageResult<T> = Result<T, StorageError<u64>>;

fn sm_read(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::read_state_machine(AnyError::error(e.to_string())).into()
}

fn sm_write(e: impl std::fmt::Display) -> StorageError<u64> {
    StorageIOError::write_state_machine(AnyError::error(e.to_string())).into()
}

/// The applied log position and the membership it implies.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Applied {
    pub last_applied: Option<LogId<u64>>,
    pub membership: StoredMembership<u64, NodeInfo>,
}

fn snapshot_id(group: u64, applied: &Applied) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let index = applied.last_applied.map_or(0, |l| l.index);
    format!("{group}-{index}-{millis}")
}

/// Keeps the latest snapshot (meta as JSON, data raw) in the node store, so it can be sent to
/// a lagging follower after the log it covers is purged.
fn save_snapshot(store: &NodeStore, group: u64, meta: &SnapshotMeta<u64, NodeInfo>, data: &[u8]) -> StorageResult<()> {
    let meta = serde_json::to_vec(meta).map_err(sm_write)?;
    store.put_snapshot(group, &meta, data).map_err(sm_write)
}

/// Describes, keeps and returns a snapshot of `data` taken at `applied`.
fn finish_snapshot(
    store: &NodeStore,
    group: u64,
    applied: &Applied,
    data: Vec<u8>,
) -> StorageResult<Snapshot<TypeConfig>> {
    let meta = SnapshotMeta {
        last_log_id: applied.last_applied,
        last_membership: applied.membership.clone(),
        snapshot_id: snapshot_id(group, applied),
    };
    save_snapshot(store, group, &meta, &data)?;
    Ok(Snapshot {
        meta,
        snapshot: Box::new(data),
    })
}

/// The applied marker a data group's shard holds.
fn read_applied(shard: &Shard) -> StorageResult<Applied> {
    match shard.marker().map_err(sm_read)? {
        Some(bytes) => tessera_model::wire::decode(&bytes).map_err(sm_read),
        None => Ok(Applied::default()),
    }
}

/// The last log id the group's stored snapshot covers (its meta only: the data may be large).
pub fn stored_snapshot_log_id(store: &NodeStore, group: u64) -> StorageResult<Option<LogId<u64>>> {
    let Some(meta) = store.get_snapshot_meta(group).map_err(sm_read)? else {
        return Ok(None);
    };
    let meta: SnapshotMeta<u64, NodeInfo> = serde_json::from_slice(&meta).map_err(sm_read)?;
    Ok(meta.last_log_id)
}

fn load_snapshot(store: &NodeStore, group: u64) -> StorageResult<Option<Snapshot<TypeConfig>>> {
    let Some((meta, data)) = store.get_snapshot(group).map_err(sm_read)? else {
        return Ok(None);
    };
    let meta: SnapshotMeta<u64, NodeInfo> = serde_json::from_slice(&meta).map_err(sm_read)?;
    Ok(Some(Snapshot {
        meta,
        snapshot: Box::new(data),
    }))
}

// ---------------------------------------------------------------------------------------
// Data groups

/// Commands a data group applies in one commit at most (bounds the staged writes of a
/// follower applying a long backlog).
const APPLY_STEP_COMMANDS: usize = 1024;
/// Log entries one commit spans at most. A shard forgets request ids by what its tree
/// holds when an entry is applied, and a commit's own records are not there yet: with
/// commits far smaller than the id window and bound, how entries are grouped into commits
/// (which differs between replicas) never changes what is forgotten.
const APPLY_STEP_ENTRIES: u64 = 1024;
const _: () = assert!(
    (APPLY_STEP_COMMANDS + crate::batcher::BATCH_COMMANDS_MAX) * 4 < tessera_storage::DEDUP_IDS_MAX
        && APPLY_STEP_ENTRIES * 4 < tessera_storage::DEDUP_WINDOW_ENTRIES
);

pub struct DataStateMachine {
    group: u64,
    shard: Arc<Shard>,
    store: Arc<NodeStore>,
    /// Held while applying and while exporting a snapshot: sled has no point-in-time view,
    /// so a snapshot is taken with applies paused.
    lock: Arc<Mutex<()>>,
}

impl DataStateMachine {
    pub fn new(group: u64, shard: Arc<Shard>, store: Arc<NodeStore>) -> Self {
        DataStateMachine {
            group,
            shard,
            store,
            lock: Arc::new(Mutex::new(())),
        }
    }

    fn applied(&self) -> StorageResult<Applied> {
        read_applied(&self.shard)
    }
}

pub struct DataSnapshotBuilder {
    group: u64,
    shard: Arc<Shard>,
    store: Arc<NodeStore>,
    lock: Arc<Mutex<()>>,
}

impl RaftSnapshotBuilder<TypeConfig> for DataSnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let _paused = self.lock.lock().await;
        let data = self.shard.export().map_err(sm_read)?;
        let applied = read_applied(&self.shard)?;
        finish_snapshot(&self.store, self.group, &applied, data)
    }
}

impl RaftStateMachine<TypeConfig> for DataStateMachine {
    type SnapshotBuilder = DataSnapshotBuilder;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, NodeInfo>)> {
        let applied = self.applied()?;
        Ok((applied.last_applied, applied.membership))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<CommandResult>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let _applying = self.lock.lock().await;
        let mut applied = self.applied()?;
        let mut results = Vec::new();
        // The entries of one call reach sled in one commit with the last one's marker (a crash
        // leaves all applied or none, once the entries past the marker on disk are applied
        // again); long calls (a follower catching up) commit in steps.
        let mut session = self.shard.session();
        let mut session_start: Option<u64> = None;
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            let started = *session_start.get_or_insert(entry.log_id.index);
            // Storage failures are fatal for the replica; DynamoDB errors are results.
            let result = match entry.payload {
                EntryPayload::Normal(Command::Shard(command)) => {
                    CommandResult::Shard(session.apply(&command).map_err(sm_write)?)
                }
                EntryPayload::Normal(Command::ShardOnce { request, command }) => {
                    let mut results = session
                        .apply_each_once(std::iter::once((&request, &*command)), entry.log_id.index)
                        .map_err(sm_write)?;
                    CommandResult::Shard(
                        results
                            .pop()
                            .unwrap_or_else(|| Err(Error::internal("no result for the command"))),
                    )
                }
                EntryPayload::Normal(Command::ShardBatch(commands)) => {
                    let each = commands.iter().map(|(r, c)| (r, c));
                    CommandResult::ShardBatch(session.apply_each_once(each, entry.log_id.index).map_err(sm_write)?)
                }
                payload => {
                    if let EntryPayload::Membership(m) = payload {
                        applied.membership = StoredMembership::new(Some(entry.log_id), m);
                    }
                    CommandResult::Empty
                }
            };
            results.push(result);
            if session.commands() >= APPLY_STEP_COMMANDS || entry.log_id.index - started + 1 >= APPLY_STEP_ENTRIES {
                let marker = tessera_model::wire::encode(&applied).map_err(sm_write)?;
                session.commit(Some(&marker)).map_err(sm_write)?;
                session = self.shard.session();
                session_start = None;
            }
        }
        let marker = tessera_model::wire::encode(&applied).map_err(sm_write)?;
        session.commit(Some(&marker)).map_err(sm_write)?;
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        DataSnapshotBuilder {
            group: self.group,
            shard: self.shard.clone(),
            store: self.store.clone(),
            lock: self.lock.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Vec<u8>>> {
        Ok(Box::default())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, NodeInfo>,
        snapshot: Box<Vec<u8>>,
    ) -> StorageResult<()> {
        let _applying = self.lock.lock().await;
        self.shard.import(&snapshot).map_err(sm_write)?;
        let applied = Applied {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        self.shard
            .set_marker(&tessera_model::wire::encode(&applied).map_err(sm_write)?)
            .map_err(sm_write)?;
        save_snapshot(&self.store, self.group, meta, &snapshot)
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        load_snapshot(&self.store, self.group)
    }
}

// ---------------------------------------------------------------------------------------
// The metadata group

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct MetaPersisted {
    applied: Applied,
    state: ClusterState,
}

const META_STATE_TAG: &str = "meta_sm";

/// The cluster state shared with the node: readers take the lock briefly; `changes` carries
/// the state's version so watchers (the reconciler, routers' caches) wake on every change.
#[derive(Clone)]
pub struct SharedClusterState {
    pub state: Arc<RwLock<ClusterState>>,
    pub changes: watch::Sender<u64>,
}

pub struct MetaStateMachine {
    group: u64,
    store: Arc<NodeStore>,
    applied: Applied,
    shared: SharedClusterState,
}

impl MetaStateMachine {
    /// Loads the persisted state (if any) into `shared`.
    pub async fn open(group: u64, store: Arc<NodeStore>, shared: SharedClusterState) -> Result<Self, Error> {
        let persisted: MetaPersisted = match store.get_state(group, META_STATE_TAG)? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::internal(e.to_string()))?,
            None => MetaPersisted::default(),
        };
        let version = persisted.state.version;
        *shared.state.write().await = persisted.state;
        shared.changes.send_replace(version);
        Ok(MetaStateMachine {
            group,
            store,
            applied: persisted.applied,
            shared,
        })
    }

    async fn persist(&self) -> StorageResult<Vec<u8>> {
        let state = self.shared.state.read().await.clone();
        let bytes = serde_json::to_vec(&MetaPersisted {
            applied: self.applied.clone(),
            state,
        })
        .map_err(sm_write)?;
        self.store
            .put_state(self.group, META_STATE_TAG, &bytes)
            .map_err(sm_write)?;
        Ok(bytes)
    }

    async fn publish(&self) {
        let version = self.shared.state.read().await.version;
        self.shared.changes.send_replace(version);
    }
}

pub struct MetaSnapshotBuilder {
    group: u64,
    store: Arc<NodeStore>,
    snapshot: (Applied, Vec<u8>),
}

impl RaftSnapshotBuilder<TypeConfig> for MetaSnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let (applied, data) = self.snapshot.clone();
        finish_snapshot(&self.store, self.group, &applied, data)
    }
}

impl RaftStateMachine<TypeConfig> for MetaStateMachine {
    type SnapshotBuilder = MetaSnapshotBuilder;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, NodeInfo>)> {
        Ok((self.applied.last_applied, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<CommandResult>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut results = Vec::new();
        {
            let mut state = self.shared.state.write().await;
            for entry in entries {
                self.applied.last_applied = Some(entry.log_id);
                results.push(match entry.payload {
                    EntryPayload::Normal(Command::Meta(command)) => CommandResult::Meta(state.apply(&command)),
                    EntryPayload::Membership(m) => {
                        let nodes: BTreeMap<u64, NodeInfo> = m.nodes().map(|(id, n)| (*id, n.clone())).collect();
                        state.set_nodes(nodes);
                        self.applied.membership = StoredMembership::new(Some(entry.log_id), m);
                        CommandResult::Empty
                    }
                    _ => CommandResult::Empty,
                });
            }
        }
        self.persist().await?;
        self.publish().await;
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let state = self.shared.state.read().await.clone();
        let data = serde_json::to_vec(&MetaPersisted {
            applied: self.applied.clone(),
            state,
        })
        .unwrap_or_default();
        MetaSnapshotBuilder {
            group: self.group,
            store: self.store.clone(),
            snapshot: (self.applied.clone(), data),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Vec<u8>>> {
        Ok(Box::default())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, NodeInfo>,
        snapshot: Box<Vec<u8>>,
    ) -> StorageResult<()> {
        let persisted: MetaPersisted = serde_json::from_slice(&snapshot).map_err(sm_read)?;
        self.applied = Applied {
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        *self.shared.state.write().await = persisted.state;
        self.persist().await?;
        save_snapshot(&self.store, self.group, meta, &snapshot)?;
        self.publish().await;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        load_snapshot(&self.store, self.group)
    }
}
