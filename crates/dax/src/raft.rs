//! The DAX nodes' own Raft group (openraft, over the `DaxPeer` gRPC service): its leader is
//! the primary, its term is the leader session id clients see, and its log carries the cache
//! updates of writes, so every node applies the same updates in the same order.
//!
//! The log and vote are durable (the storage nodes' log store: the log in the DAX node's own
//! write-ahead log, the vote in its own sled database), so Raft's rules hold across restarts, even of every node at once; the cache
//! itself is memory, like DAX's. Snapshots carry no data: a snapshot at index N stands for "the
//! item cache as of N, emptied", which is always a correct cache. A restarted node starts from
//! its last snapshot point and replays its log after it into the cache.

// openraft's own error types are large; its traits return them, and so do our helpers.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Debug;
// `declare_raft_types!` names `Cursor` in its defaults.
#[allow(unused_imports)]
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{Fatal, NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, Snapshot, SnapshotMeta, StorageError, StorageIOError, StoredMembership, Vote,
};
use serde::{Deserialize, Serialize};
use tessera_model::Item;
use tessera_proto::dax::v1::dax_peer_client::DaxPeerClient;
use tessera_proto::dax::v1::{raft_reply, RaftKind, RaftRequest};
use tessera_storage::NodeStore;
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};

use crate::cache::Cache;

/// A DAX node as the group knows it: its API address (what clients use) and its cluster
/// (gRPC) address, and its availability zone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaxNode {
    pub api: String,
    pub cluster: String,
    pub az: String,
}

impl fmt::Display for DaxNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.api, self.cluster, self.az)
    }
}

/// One change to the item cache.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum CacheUpdate {
    /// The item's image after a write (None: the item is gone).
    Set { key: Vec<u8>, item: Option<Item> },
    /// The image is unknown (an UpdateItem that did not return it, an unknown outcome).
    Invalidate { key: Vec<u8> },
}

/// A log entry: the cache updates of one write.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Updates(pub Vec<CacheUpdate>);

impl fmt::Display for Updates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cache updates", self.0.len())
    }
}

openraft::declare_raft_types!(
    /// Type configuration of the DAX group.
    pub DaxConfig:
        D = Updates,
        R = (),
        NodeId = u64,
        Node = DaxNode,
        SnapshotData = Vec<u8>,
);

pub type DaxRaft = openraft::Raft<DaxConfig>;
type StorageResult<T> = Result<T, StorageError<u64>>;

fn any(e: impl fmt::Display) -> AnyError {
    AnyError::error(e.to_string())
}

// ---------------------------------------------------------------------------------------
// Log and vote: the storage nodes' log store (write-ahead log and sled, group commit), as
// group 0 of the DAX node's own small store.

pub type DaxLog = tessera_replication::log_store::LogStore<DaxConfig>;

/// The one group of a DAX node's database.
pub const DAX_GROUP: u64 = 0;
const SNAPSHOT_TAG: &str = "dax_snapshot";

// ---------------------------------------------------------------------------------------
// State machine: the item cache

#[derive(Clone, Default)]
struct Applied {
    last: Option<LogId<u64>>,
    membership: StoredMembership<u64, DaxNode>,
}

pub struct CacheStateMachine {
    cache: Arc<Cache>,
    store: Arc<NodeStore>,
    applied: Applied,
    snapshot: Option<SnapshotMeta<u64, DaxNode>>,
    /// The last applied log index, for writers waiting to read their own write.
    applied_index: watch::Sender<u64>,
}

fn sm_error(e: impl fmt::Display) -> StorageError<u64> {
    StorageIOError::write_state_machine(any(e)).into()
}

impl CacheStateMachine {
    /// Starts from the last snapshot point recorded in `store` (an empty cache is the state
    /// of any snapshot); openraft replays the log after it.
    pub fn open(cache: Arc<Cache>, store: Arc<NodeStore>, applied_index: watch::Sender<u64>) -> Result<Self, String> {
        let snapshot: Option<SnapshotMeta<u64, DaxNode>> = match store.get_state(DAX_GROUP, SNAPSHOT_TAG) {
            Ok(Some(bytes)) => Some(serde_json::from_slice(&bytes).map_err(|e| e.to_string())?),
            Ok(None) => None,
            Err(e) => return Err(e.message),
        };
        let applied = snapshot.as_ref().map_or_else(Applied::default, |m| Applied {
            last: m.last_log_id,
            membership: m.last_membership.clone(),
        });
        Ok(CacheStateMachine {
            cache,
            store,
            applied,
            snapshot,
            applied_index,
        })
    }

    fn save_snapshot(&mut self, meta: SnapshotMeta<u64, DaxNode>) -> StorageResult<()> {
        let bytes = serde_json::to_vec(&meta).map_err(sm_error)?;
        self.store
            .put_state(DAX_GROUP, SNAPSHOT_TAG, &bytes)
            .map_err(sm_error)?;
        self.snapshot = Some(meta);
        Ok(())
    }

    fn snapshot_of(&mut self) -> StorageResult<Snapshot<DaxConfig>> {
        let meta = SnapshotMeta {
            last_log_id: self.applied.last,
            last_membership: self.applied.membership.clone(),
            snapshot_id: format!("{}", self.applied.last.map_or(0, |l| l.index)),
        };
        self.save_snapshot(meta.clone())?;
        Ok(Snapshot {
            meta,
            snapshot: Box::default(),
        })
    }
}

pub fn apply_update(cache: &Cache, update: CacheUpdate, version: u64) {
    match update {
        CacheUpdate::Set { key, item } => cache.put_item(key, item, version),
        CacheUpdate::Invalidate { key } => cache.invalidate_item(&key, version),
    }
}

/// The snapshot as of when the builder was asked for (no data to copy: see the module doc).
pub struct SnapshotBuilder(StorageResult<Snapshot<DaxConfig>>);

impl RaftSnapshotBuilder<DaxConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<DaxConfig>> {
        match &self.0 {
            Ok(s) => Ok(Snapshot {
                meta: s.meta.clone(),
                snapshot: Box::default(),
            }),
            Err(e) => Err(e.clone()),
        }
    }
}

impl RaftStateMachine<DaxConfig> for CacheStateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> StorageResult<(Option<LogId<u64>>, StoredMembership<u64, DaxNode>)> {
        Ok((self.applied.last, self.applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<()>>
    where
        I: IntoIterator<Item = Entry<DaxConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut results = Vec::new();
        for entry in entries {
            self.applied.last = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Normal(Updates(updates)) => {
                    for u in updates {
                        apply_update(&self.cache, u, entry.log_id.index);
                    }
                }
                EntryPayload::Membership(m) => {
                    self.applied.membership = StoredMembership::new(Some(entry.log_id), m);
                }
                // A new primary's term begins: writes the old primary had in flight may reach
                // storage without their cache updates, so start the item cache afresh.
                EntryPayload::Blank => self.cache.clear_items(entry.log_id.index),
            }
            results.push(());
        }
        if let Some(last) = self.applied.last {
            self.applied_index.send_replace(last.index);
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder(self.snapshot_of())
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Vec<u8>>> {
        Ok(Box::default())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, DaxNode>,
        _snapshot: Box<Vec<u8>>,
    ) -> StorageResult<()> {
        // The updates before the snapshot are not here: forget what they may have changed.
        self.cache.clear_items(meta.last_log_id.map_or(0, |l| l.index));
        self.applied = Applied {
            last: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        self.save_snapshot(meta.clone())?;
        if let Some(last) = meta.last_log_id {
            self.applied_index.send_replace(last.index);
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<DaxConfig>>> {
        Ok(self.snapshot.clone().map(|meta| Snapshot {
            meta,
            snapshot: Box::default(),
        }))
    }
}

// ---------------------------------------------------------------------------------------
// Network

/// One lazily connected channel per peer (a peer that is down or whose name does not
/// resolve yet is a retryable error at call time).
#[derive(Default)]
pub struct Peers {
    channels: Mutex<BTreeMap<String, DaxPeerClient<Channel>>>,
}

impl Peers {
    pub fn client(&self, addr: &str) -> Result<DaxPeerClient<Channel>, String> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = channels.get(addr) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true);
        let client = DaxPeerClient::new(endpoint.connect_lazy());
        channels.insert(addr.to_string(), client.clone());
        Ok(client)
    }
}

pub struct NetworkFactory(pub Arc<Peers>);

impl RaftNetworkFactory<DaxConfig> for NetworkFactory {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: u64, node: &DaxNode) -> PeerNetwork {
        PeerNetwork {
            target,
            addr: node.cluster.clone(),
            peers: self.0.clone(),
        }
    }
}

pub struct PeerNetwork {
    target: u64,
    addr: String,
    peers: Arc<Peers>,
}

#[derive(Debug)]
struct TransportError(String);

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

enum CallError {
    Unreachable(String),
    Raft(Vec<u8>),
}

/// The header of a snapshot message (DAX snapshots carry no data).
#[derive(Serialize, Deserialize)]
pub struct SnapshotMessage {
    pub vote: Vote<u64>,
    pub meta: SnapshotMeta<u64, DaxNode>,
}

impl PeerNetwork {
    async fn call(&self, kind: RaftKind, payload: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, CallError> {
        let mut client = self.peers.client(&self.addr).map_err(CallError::Unreachable)?;
        let mut request = tonic::Request::new(RaftRequest {
            kind: kind as i32,
            payload,
        });
        request.set_timeout(timeout);
        let reply = client
            .raft(request)
            .await
            .map_err(|s| CallError::Unreachable(s.message().to_string()))?
            .into_inner();
        match reply.result {
            Some(raft_reply::Result::Ok(bytes)) => Ok(bytes),
            Some(raft_reply::Result::RaftError(detail)) => Err(CallError::Raft(detail)),
            Some(raft_reply::Result::Unavailable(m)) => Err(CallError::Unreachable(m)),
            None => Err(CallError::Unreachable("empty reply".into())),
        }
    }

    async fn rpc<Req: Serialize, Resp: serde::de::DeserializeOwned>(
        &self,
        kind: RaftKind,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<u64, DaxNode, RaftError<u64>>> {
        let payload =
            tessera_model::wire::encode(req).map_err(|e| RPCError::Network(NetworkError::new(&TransportError(e))))?;
        match self.call(kind, payload, option.hard_ttl()).await {
            Ok(bytes) => tessera_model::wire::decode(&bytes)
                .map_err(|e| RPCError::Network(NetworkError::new(&TransportError(e)))),
            Err(CallError::Unreachable(m)) => Err(RPCError::Unreachable(Unreachable::new(&TransportError(m)))),
            Err(CallError::Raft(detail)) => match serde_json::from_slice::<RaftError<u64>>(&detail) {
                Ok(e) => Err(RPCError::RemoteError(openraft::error::RemoteError::new(self.target, e))),
                Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
            },
        }
    }
}

impl RaftNetwork<DaxConfig> for PeerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<DaxConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, DaxNode, RaftError<u64>>> {
        self.rpc(RaftKind::AppendEntries, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, DaxNode, RaftError<u64>>> {
        self.rpc(RaftKind::Vote, &rpc, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote<u64>,
        snapshot: Snapshot<DaxConfig>,
        cancel: impl std::future::Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<u64>, StreamingError<DaxConfig, Fatal<u64>>> {
        let unreachable = |m: String| StreamingError::Unreachable(Unreachable::new(&TransportError(m)));
        let payload = tessera_model::wire::encode(&SnapshotMessage {
            vote,
            meta: snapshot.meta,
        })
        .map_err(|e| StreamingError::Network(NetworkError::new(&TransportError(e))))?;
        let result = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            r = self.call(RaftKind::Snapshot, payload, option.hard_ttl()) => r,
        };
        match result {
            Ok(bytes) => tessera_model::wire::decode(&bytes)
                .map_err(|e| StreamingError::Network(NetworkError::new(&TransportError(e)))),
            Err(CallError::Unreachable(m)) => Err(unreachable(m)),
            Err(CallError::Raft(_)) => Err(unreachable("snapshot refused by the peer".into())),
        }
    }
}
