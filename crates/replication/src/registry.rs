//! The Raft groups a node hosts: the metadata group and its data groups, created, opened
//! after a restart, and removed as the cluster state says; and the node-side handling of Raft
//! RPCs, proposals and read barriers, with typed failures.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, InitializeError, RaftError};
use openraft::storage::RaftLogStorage;
use openraft::{Config, Raft, RaftSnapshotBuilder, ServerState, SnapshotPolicy};
use serde::Serialize;
use tessera_model::Error;
use tessera_storage::{NodeStore, Shard};
use tokio::sync::{watch, RwLock};

use crate::batcher::{Barrier, Proposer};
use crate::log_store::LogStore;
use crate::meta::{ClusterState, META_GROUP};
use crate::network::{decode_snapshot, NetworkFactory, PeerPool};
use crate::state_machine::{DataStateMachine, MetaStateMachine, SharedClusterState};
use crate::types::{Command, CommandResult, NodeInfo, TypeConfig};

/// How long a proposal or a read barrier may wait for a quorum before the caller is told the
/// group is unavailable (its outcome is then unknown to the client, like DynamoDB's 500).
pub const QUORUM_WAIT: Duration = Duration::from_secs(5);

/// Why a request to a group could not be served here.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The request's own DynamoDB error.
    Dynamo(Error),
    /// Not the leader; the leader if known.
    NotLeader(Option<u64>),
    /// No replica of the group on this node.
    NoSuchGroup,
    /// No quorum, shutting down, or timed out.
    Unavailable(String),
    /// A Raft-level error answering a Raft RPC (JSON of openraft's `RaftError`).
    Raft(Vec<u8>),
}

/// Timing and log-compaction settings of every group on a node.
#[derive(Clone, Debug)]
pub struct RaftSettings {
    pub heartbeat_ms: u64,
    pub election_min_ms: u64,
    pub election_max_ms: u64,
    /// Build a snapshot (and purge the log) after this many entries.
    pub snapshot_logs: u64,
}

impl Default for RaftSettings {
    fn default() -> Self {
        // Six replicas per group, many groups per node: modest heartbeats (see DESIGN.md §4).
        RaftSettings {
            heartbeat_ms: 300,
            election_min_ms: 1500,
            election_max_ms: 3000,
            snapshot_logs: 10_000,
        }
    }
}

pub struct Replica {
    pub group: u64,
    raft: Raft<TypeConfig>,
    /// The data of a data group (None for the metadata group).
    shard: Option<Arc<Shard>>,
    /// Batches the group's shard writes into log entries (data groups).
    proposer: Option<Proposer>,
    /// Shares read-index rounds between concurrent linearizable reads.
    barrier: Barrier,
}

/// One group's state as `Status` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStatus {
    pub group: u64,
    pub table: Option<String>,
    pub role: &'static str,
    pub leader: Option<u64>,
    pub term: u64,
    pub last_applied: Option<u64>,
    pub last_log: Option<u64>,
    pub snapshot: Option<u64>,
    pub purged: Option<u64>,
    /// [`Shard::digest`] in hex, when asked for (data groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

pub struct Registry {
    node_id: u64,
    store: Arc<NodeStore>,
    pool: Arc<PeerPool>,
    config: Arc<Config>,
    groups: RwLock<HashMap<u64, Arc<Replica>>>,
    cluster: SharedClusterState,
    fault_injection: bool,
    /// Held while a data group's replica is opened: a shard's tree is opened by one replica
    /// only (opening settles what a crash left, which must not race a running replica).
    opening: tokio::sync::Mutex<()>,
}

/// Proposes one log entry and waits (bounded by [`QUORUM_WAIT`]) for its result.
pub(crate) async fn client_write(raft: &Raft<TypeConfig>, command: Command) -> Result<CommandResult, Failure> {
    match tokio::time::timeout(QUORUM_WAIT, raft.client_write(command)).await {
        Err(_) => Err(Failure::Unavailable("no quorum within the time limit".into())),
        Ok(Ok(resp)) => Ok(resp.data),
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => Err(Failure::NotLeader(f.leader_id)),
        Ok(Err(e)) => Err(Failure::Unavailable(e.to_string())),
    }
}

/// One read-index round (bounded by [`QUORUM_WAIT`]).
pub(crate) async fn ensure_linearizable(raft: &Raft<TypeConfig>) -> Result<(), Failure> {
    match tokio::time::timeout(QUORUM_WAIT, raft.ensure_linearizable()).await {
        Err(_) => Err(Failure::Unavailable("no quorum within the time limit".into())),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f)))) => Err(Failure::NotLeader(f.leader_id)),
        Ok(Err(e)) => Err(Failure::Unavailable(e.to_string())),
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, Failure> {
    tessera_model::wire::encode(v).map_err(Failure::Unavailable)
}

fn raft_failure<E: Serialize>(e: &E) -> Failure {
    Failure::Raft(serde_json::to_vec(e).unwrap_or_default())
}

impl Registry {
    /// Opens the metadata group (restoring its state) and returns the registry.
    pub async fn start(
        node_id: u64,
        store: Arc<NodeStore>,
        settings: &RaftSettings,
        fault_injection: bool,
    ) -> Result<Arc<Registry>, Error> {
        let config = Config {
            cluster_name: "tessera".into(),
            heartbeat_interval: settings.heartbeat_ms,
            election_timeout_min: settings.election_min_ms,
            election_timeout_max: settings.election_max_ms,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(settings.snapshot_logs),
            max_in_snapshot_log_to_keep: settings.snapshot_logs / 2,
            install_snapshot_timeout: 60_000,
            ..Default::default()
        }
        .validate()
        .map_err(|e| Error::internal(format!("raft config: {e}")))?;
        let (changes, _) = watch::channel(0);
        let cluster = SharedClusterState {
            state: Arc::new(RwLock::new(ClusterState::default())),
            changes,
        };
        let registry = Arc::new(Registry {
            node_id,
            pool: PeerPool::new(node_id),
            store,
            config: Arc::new(config),
            groups: RwLock::new(HashMap::new()),
            cluster,
            fault_injection,
            opening: tokio::sync::Mutex::new(()),
        });
        let sm = MetaStateMachine::open(META_GROUP, registry.store.clone(), registry.cluster.clone()).await?;
        let raft = registry.new_raft(META_GROUP, sm).await?;
        registry.groups.write().await.insert(
            META_GROUP,
            Arc::new(Replica {
                group: META_GROUP,
                barrier: Barrier::new(raft.clone()),
                raft,
                shard: None,
                proposer: None,
            }),
        );
        Ok(registry)
    }

    async fn new_raft<SM>(&self, group: u64, mut sm: SM) -> Result<Raft<TypeConfig>, Error>
    where
        SM: openraft::storage::RaftStateMachine<TypeConfig>,
    {
        let mut log = LogStore::new(group, self.store.clone());
        let (applied, _) = sm
            .applied_state()
            .await
            .map_err(|e| Error::internal(format!("raft group {group}: {e}")))?;
        log.reconcile(applied)
            .await
            .map_err(|e| Error::internal(format!("raft group {group}: {e}")))?;
        // openraft expects a snapshot covering everything purged; a purge up to a state
        // machine that got ahead of its last snapshot (above, maybe on an earlier start that
        // a crash cut short) needs a new one.
        let storage = |e: openraft::StorageError<u64>| Error::internal(format!("raft group {group}: {e}"));
        let purged = log.get_log_state().await.map_err(storage)?.last_purged_log_id;
        let snapshot = crate::state_machine::stored_snapshot_log_id(&self.store, group).map_err(storage)?;
        if purged > snapshot {
            sm.get_snapshot_builder()
                .await
                .build_snapshot()
                .await
                .map_err(storage)?;
        }
        Raft::new(
            self.node_id,
            self.config.clone(),
            NetworkFactory::new(group, self.pool.clone()),
            log,
            sm,
        )
        .await
        .map_err(|e| Error::internal(format!("cannot start raft group {group}: {e}")))
    }

    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    pub fn fault_injection_enabled(&self) -> bool {
        self.fault_injection
    }

    pub fn set_blocked(&self, nodes: impl IntoIterator<Item = u64>) {
        self.pool.set_blocked(nodes);
    }

    pub fn set_delay(&self, delay: std::time::Duration) {
        self.pool.set_delay(delay);
    }

    pub fn is_blocked(&self, node: u64) -> bool {
        self.pool.is_blocked(node)
    }

    pub async fn cluster_state(&self) -> ClusterState {
        self.cluster.state.read().await.clone()
    }

    /// Wakes on every change of the cluster state (the value is its version).
    pub fn cluster_changes(&self) -> watch::Receiver<u64> {
        self.cluster.changes.subscribe()
    }

    pub async fn group(&self, group: u64) -> Option<Arc<Replica>> {
        self.groups.read().await.get(&group).cloned()
    }

    pub async fn group_ids(&self) -> Vec<u64> {
        self.groups.read().await.keys().copied().collect()
    }

    /// Initialises a group with `members` if it is pristine. Safe to call on several replicas
    /// with the same members; a no-op where the group is already formed.
    pub async fn initialize(&self, group: u64, members: BTreeMap<u64, NodeInfo>) -> Result<(), Error> {
        let replica = self
            .group(group)
            .await
            .ok_or_else(|| Error::internal(format!("no group {group}")))?;
        match replica.raft.initialize(members).await {
            Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(Error::internal(format!("initialize group {group}: {e}"))),
        }
    }

    pub async fn is_initialized(&self, group: u64) -> bool {
        match self.group(group).await {
            Some(r) => r.raft.is_initialized().await.unwrap_or(false),
            None => false,
        }
    }

    /// Opens (or creates) a local replica of a data group.
    pub async fn ensure_data_group(&self, group: u64) -> Result<Arc<Replica>, Error> {
        if let Some(r) = self.group(group).await {
            return Ok(r);
        }
        let _opening = self.opening.lock().await;
        if let Some(r) = self.group(group).await {
            return Ok(r);
        }
        let shard = Arc::new(self.store.shard(group)?);
        let sm = DataStateMachine::new(group, shard.clone(), self.store.clone());
        let raft = self.new_raft(group, sm).await?;
        let replica = Arc::new(Replica {
            group,
            barrier: Barrier::new(raft.clone()),
            proposer: Some(Proposer::start(raft.clone())),
            raft,
            shard: Some(shard),
        });
        self.groups.write().await.insert(group, replica.clone());
        Ok(replica)
    }

    /// Stops a data group's replica and deletes its log, state and data.
    pub async fn remove_group(&self, group: u64) -> Result<(), Error> {
        if group == META_GROUP {
            return Ok(());
        }
        let replica = self.groups.write().await.remove(&group);
        if let Some(r) = replica {
            let _ = r.raft.shutdown().await;
        }
        self.store.drop_group(group)
    }

    /// Serves a Raft RPC for one of this node's groups.
    pub async fn handle_raft(&self, group: u64, from: u64, kind: i32, payload: &[u8]) -> Result<Vec<u8>, Failure> {
        use tessera_proto::node::v1::RaftKind;
        if self.pool.is_blocked(from) {
            return Err(Failure::Unavailable("blocked by fault injection".into()));
        }
        let replica = self.group(group).await.ok_or(Failure::NoSuchGroup)?;
        let bad = |e: String| Failure::Unavailable(format!("bad raft payload: {e}"));
        match RaftKind::try_from(kind) {
            Ok(RaftKind::AppendEntries) => {
                let req = tessera_model::wire::decode(payload).map_err(bad)?;
                match replica.raft.append_entries(req).await {
                    Ok(resp) => encode(&resp),
                    Err(e) => Err(raft_failure(&e)),
                }
            }
            Ok(RaftKind::Vote) => {
                let req = tessera_model::wire::decode(payload).map_err(bad)?;
                match replica.raft.vote(req).await {
                    Ok(resp) => encode(&resp),
                    Err(e) => Err(raft_failure(&e)),
                }
            }
            Ok(RaftKind::Snapshot) => {
                let (vote, snapshot) = decode_snapshot(payload).map_err(Failure::Unavailable)?;
                match replica.raft.install_full_snapshot(vote, snapshot).await {
                    Ok(resp) => encode(&resp),
                    Err(e) => Err(Failure::Unavailable(e.to_string())),
                }
            }
            _ => Err(Failure::Unavailable(format!("unknown raft message kind {kind}"))),
        }
    }

    /// Proposes a command to a group led by this node and returns its result once applied.
    /// `bytes` is the command's size as received: shard writes are batched with others
    /// proposed meanwhile into one log entry, within a size bound.
    pub async fn propose(&self, group: u64, command: Command, bytes: usize) -> Result<CommandResult, Failure> {
        let replica = self.group(group).await.ok_or(Failure::NoSuchGroup)?;
        match (command, &replica.proposer) {
            (Command::ShardOnce { request, command }, Some(proposer)) => {
                let command = Arc::unwrap_or_clone(command);
                let result = proposer.propose(request, command, bytes).await?;
                Ok(CommandResult::Shard(result))
            }
            (command, _) => client_write(&replica.raft, command).await,
        }
    }

    /// Confirms with a quorum that this node leads the group and that its state machine has
    /// applied everything committed before the call: a local read after it is linearizable.
    /// Concurrent callers share rounds.
    pub async fn read_barrier(&self, group: u64) -> Result<(), Failure> {
        let replica = self.group(group).await.ok_or(Failure::NoSuchGroup)?;
        replica.barrier.wait().await
    }

    /// The local data of a data group, for reads.
    pub async fn shard(&self, group: u64) -> Result<Arc<Shard>, Failure> {
        self.group(group)
            .await
            .and_then(|r| r.shard.clone())
            .ok_or(Failure::NoSuchGroup)
    }

    /// The group's current leader as this node sees it.
    pub async fn leader_of(&self, group: u64) -> Option<u64> {
        let replica = self.group(group).await?;
        let leader = replica.raft.metrics().borrow().current_leader;
        leader
    }

    /// Every group's role and log positions; with `digests`, also a digest of each data
    /// group's contents (reads every shard whole).
    pub async fn status(&self, digests: bool) -> Vec<GroupStatus> {
        let state = self.cluster.state.read().await.clone();
        let mut out = Vec::new();
        let groups: Vec<Arc<Replica>> = self.groups.read().await.values().cloned().collect();
        for r in groups {
            let m = r.raft.metrics().borrow().clone();
            let role = match m.state {
                ServerState::Leader => "leader",
                ServerState::Follower => "follower",
                ServerState::Candidate => "candidate",
                ServerState::Learner => "learner",
                ServerState::Shutdown => "shutdown",
            };
            out.push(GroupStatus {
                group: r.group,
                table: state.table_of_group(r.group).map(|t| t.meta.name.clone()),
                role,
                leader: m.current_leader,
                term: m.current_term,
                last_applied: m.last_applied.map(|l| l.index),
                last_log: m.last_log_index,
                snapshot: m.snapshot.map(|l| l.index),
                purged: m.purged.map(|l| l.index),
                digest: match &r.shard {
                    Some(shard) if digests => shard.digest().ok().map(|d| format!("{d:016x}")),
                    _ => None,
                },
            });
        }
        out.sort_by_key(|g| g.group);
        out
    }

    /// Stops every group and flushes the store.
    pub async fn shutdown(&self) {
        let groups: Vec<Arc<Replica>> = self.groups.write().await.drain().map(|(_, r)| r).collect();
        for r in groups {
            let _ = r.raft.shutdown().await;
        }
        if let Err(e) = self.store.flush_blocking() {
            tracing::error!(error = %e.message, "final flush failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_store::test_entries::{blank, id};
    use crate::state_machine::Applied;

    /// A crash can leave a data group's state machine ahead of its log and of its last
    /// snapshot: opening the group purges the log up to what was applied and takes a new
    /// snapshot there, so the group starts with a snapshot covering everything purged
    /// (openraft builds one at start only when there is none).
    #[tokio::test]
    async fn a_state_machine_ahead_of_the_log_starts_from_a_new_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = NodeStore::open(dir.path(), 1 << 24).await.unwrap();
        let group = 7;
        let id = |i| id(1, i);
        store.append(group, blank(1, 1..=3)).unwrap();
        let applied = Applied {
            last_applied: Some(id(5)),
            ..Applied::default()
        };
        store
            .shard(group)
            .unwrap()
            .set_marker(&tessera_model::wire::encode(&applied).unwrap())
            .unwrap();
        // The last snapshot is older than what was applied.
        let old = openraft::SnapshotMeta::<u64, crate::types::NodeInfo> {
            last_log_id: Some(id(2)),
            last_membership: openraft::StoredMembership::default(),
            snapshot_id: "old".into(),
        };
        let data = store.shard(group).unwrap().export().unwrap();
        store
            .put_snapshot(group, &serde_json::to_vec(&old).unwrap(), &data)
            .unwrap();
        let registry = Registry::start(1, store.clone(), &RaftSettings::default(), false)
            .await
            .unwrap();
        let replica = registry.ensure_data_group(group).await.unwrap();
        // Metrics reach the watch channel once the group's core has started.
        let metrics = replica
            .raft
            .wait(Some(std::time::Duration::from_secs(10)))
            .metrics(|m| m.last_applied.is_some(), "the group to report its state")
            .await
            .unwrap();
        assert_eq!(metrics.last_applied, Some(id(5)));
        assert_eq!(metrics.purged, Some(id(5)));
        assert_eq!(metrics.snapshot, Some(id(5)));
        assert!(store.entries(group, 0, 100).unwrap().is_empty());
        let (meta, _) = store.get_snapshot(group).unwrap().unwrap();
        let meta: openraft::SnapshotMeta<u64, crate::types::NodeInfo> = serde_json::from_slice(&meta).unwrap();
        assert_eq!(meta.last_log_id, Some(id(5)));
        for replica in registry.groups.read().await.values() {
            replica.raft.shutdown().await.unwrap();
        }
    }
}
