//! Raft transport over gRPC: one lazily connected tonic channel per peer node, shared by every
//! group (tonic multiplexes the calls over HTTP/2), each request tagged with its group id.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use openraft::error::{Fatal, NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse};
use openraft::{Snapshot, Vote};
use serde::{Deserialize, Serialize};
use tessera_proto::node::v1::node_client::NodeClient;
use tessera_proto::node::v1::{call_reply, call_request, raft_reply, FailureKind, RaftKind, RaftRequest};
use tonic::transport::{Channel, Endpoint};

use crate::mux::{CallError as MuxError, Session};
use crate::types::{NodeInfo, TypeConfig};

/// Largest gRPC message between nodes (full snapshots of a shard travel in one message).
pub const GRPC_MESSAGE_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Calls larger than this travel as unary calls of their own, not on the shared `Calls`
/// stream: a stream delivers its messages one after another, so a follower's catch-up
/// (hundreds of entries of up to 1 MB) would hold every other group's heartbeats behind it,
/// where HTTP/2 interleaves separate streams frame by frame. A busy group's round (a batch
/// of ~1 KB writes) stays well under it.
pub const STREAM_CALL_BYTES_MAX: usize = 64 * 1024;

#[derive(Debug)]
struct TransportError(String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

/// One opener at a time per address; holds when the last attempt failed, and why.
type OpenGate = tokio::sync::Mutex<Option<(tokio::time::Instant, String)>>;

/// Channels to peers, and the test-only set of peers whose traffic is dropped.
pub struct PeerPool {
    node_id: u64,
    channels: Mutex<HashMap<String, NodeClient<Channel>>>,
    /// Open `Calls` streams by address, and a gate per address so one caller opens it.
    pub(crate) sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Per address: the gate, holding when the last attempt to open failed and why (callers
    /// that waited behind a failed attempt fail with it instead of trying again in turn).
    opening: Mutex<HashMap<String, Arc<OpenGate>>>,
    /// Streams opened (tests check that calls share them).
    pub(crate) opened: std::sync::atomic::AtomicU64,
    blocked: RwLock<HashSet<u64>>,
    /// Test-only latency added to every outgoing Raft message (milliseconds).
    delay_ms: std::sync::atomic::AtomicU64,
}

impl PeerPool {
    pub fn new(node_id: u64) -> Arc<PeerPool> {
        Arc::new(PeerPool {
            node_id,
            channels: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            opening: Mutex::new(HashMap::new()),
            opened: std::sync::atomic::AtomicU64::new(0),
            blocked: RwLock::new(HashSet::new()),
            delay_ms: std::sync::atomic::AtomicU64::new(0),
        })
    }

    pub fn node_id(&self) -> u64 {
        self.node_id
    }

    /// A client for `addr`, sharing one channel per address. Connecting is lazy: a peer that
    /// is down (or whose name does not resolve) is a retryable error at call time.
    pub fn client(&self, addr: &str) -> Result<NodeClient<Channel>, String> {
        let mut channels = self.channels.lock().map_err(|_| "peer pool poisoned".to_string())?;
        if let Some(c) = channels.get(addr) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true);
        let client = NodeClient::new(endpoint.connect_lazy())
            .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX);
        channels.insert(addr.to_string(), client.clone());
        Ok(client)
    }

    /// Runs `call` on the node at `addr` over the stream of calls to it (opened on first use,
    /// and again after it broke), or as a unary call when it is large, waiting up to `timeout`
    /// in all. `NotSent`: it certainly did not run; `NoReply`: it may or may not have.
    pub async fn call(
        &self,
        addr: &str,
        call: call_request::Call,
        timeout: Duration,
    ) -> Result<call_reply::Reply, MuxError> {
        if call.encoded_len() > STREAM_CALL_BYTES_MAX {
            return self.unary(addr, call, timeout).await;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let session = self.session(addr, deadline).await?;
        session
            .call(call, deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
    }

    /// `call` as a unary gRPC call (an HTTP/2 stream of its own): for calls whose replies may
    /// be large (query and scan pages), and snapshots.
    pub async fn unary(
        &self,
        addr: &str,
        call: call_request::Call,
        timeout: Duration,
    ) -> Result<call_reply::Reply, MuxError> {
        let mut client = self.client(addr).map_err(MuxError::NotSent)?;
        let no_reply = |status: tonic::Status| MuxError::NoReply(status.message().to_string());
        fn with_timeout<T>(message: T, timeout: Duration) -> tonic::Request<T> {
            let mut request = tonic::Request::new(message);
            request.set_timeout(timeout);
            request
        }
        Ok(match call {
            call_request::Call::Raft(r) => call_reply::Reply::Raft(
                client
                    .raft(with_timeout(r, timeout))
                    .await
                    .map_err(no_reply)?
                    .into_inner(),
            ),
            call_request::Call::Propose(r) => call_reply::Reply::Propose(
                client
                    .propose(with_timeout(r, timeout))
                    .await
                    .map_err(no_reply)?
                    .into_inner(),
            ),
            call_request::Call::Read(r) => call_reply::Reply::Read(
                client
                    .read(with_timeout(r, timeout))
                    .await
                    .map_err(no_reply)?
                    .into_inner(),
            ),
        })
    }

    pub(crate) fn open_session(&self, addr: &str) -> Option<Arc<Session>> {
        let mut sessions = self.sessions.lock().ok()?;
        match sessions.get(addr) {
            Some(s) if s.is_open() => Some(s.clone()),
            Some(_) => {
                sessions.remove(addr);
                None
            }
            None => None,
        }
    }

    /// The open stream to `addr`, opening one (one caller at a time per address) by `deadline`.
    async fn session(&self, addr: &str, deadline: tokio::time::Instant) -> Result<Arc<Session>, MuxError> {
        if let Some(s) = self.open_session(addr) {
            return Ok(s);
        }
        let arrived = tokio::time::Instant::now();
        let gate = {
            let mut opening = self
                .opening
                .lock()
                .map_err(|_| MuxError::NotSent("peer pool poisoned".into()))?;
            opening.entry(addr.to_string()).or_default().clone()
        };
        let Ok(mut last_failure) = tokio::time::timeout_at(deadline, gate.lock()).await else {
            return Err(MuxError::NotSent("timed out waiting to open a call stream".into()));
        };
        if let Some(s) = self.open_session(addr) {
            return Ok(s);
        }
        if let Some((at, why)) = last_failure.as_ref().filter(|(at, _)| *at >= arrived) {
            tracing::trace!(?at, "an attempt to open failed while this call waited");
            return Err(MuxError::NotSent(why.clone()));
        }
        let client = self.client(addr).map_err(MuxError::NotSent)?;
        let timeout = deadline.saturating_duration_since(tokio::time::Instant::now());
        if timeout.is_zero() {
            // This caller's time ran out while it waited: not a verdict on the peer.
            return Err(MuxError::NotSent("timed out waiting to open a call stream".into()));
        }
        match Session::open(client, timeout).await {
            Ok(session) => {
                *last_failure = None;
                self.opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Ok(mut sessions) = self.sessions.lock() {
                    sessions.insert(addr.to_string(), session.clone());
                }
                Ok(session)
            }
            Err(e) => {
                // Shared with the callers waiting behind this one only when the peer refused
                // (or failed) before this caller's own deadline: they may have more time.
                if tokio::time::Instant::now() < deadline {
                    let why = match &e {
                        MuxError::NotSent(m) | MuxError::NoReply(m) => m.clone(),
                    };
                    *last_failure = Some((tokio::time::Instant::now(), why));
                }
                Err(e)
            }
        }
    }

    pub fn set_blocked(&self, nodes: impl IntoIterator<Item = u64>) {
        if let Ok(mut b) = self.blocked.write() {
            *b = nodes.into_iter().collect();
        }
    }

    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn is_blocked(&self, node: u64) -> bool {
        self.blocked.read().map(|b| b.contains(&node)).unwrap_or(false)
    }
}

pub struct NetworkFactory {
    group: u64,
    pool: Arc<PeerPool>,
}

impl NetworkFactory {
    pub fn new(group: u64, pool: Arc<PeerPool>) -> Self {
        NetworkFactory { group, pool }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = GroupNetwork;

    async fn new_client(&mut self, target: u64, node: &NodeInfo) -> GroupNetwork {
        GroupNetwork {
            group: self.group,
            target,
            addr: node.addr.clone(),
            pool: self.pool.clone(),
        }
    }
}

pub struct GroupNetwork {
    group: u64,
    target: u64,
    addr: String,
    pool: Arc<PeerPool>,
}

enum CallError {
    /// Could not reach the peer's group (down, partitioned, group not there yet).
    Unreachable(String),
    /// The peer's Raft answered with an error (JSON of `RaftError`).
    Raft(Vec<u8>),
}

/// The header of a snapshot message; the snapshot's bytes follow it.
#[derive(Serialize, Deserialize)]
struct SnapshotHeader {
    vote: Vote<u64>,
    meta: openraft::SnapshotMeta<u64, NodeInfo>,
}

pub(crate) fn encode_snapshot(vote: &Vote<u64>, snapshot: &Snapshot<TypeConfig>) -> Result<Vec<u8>, String> {
    let header = serde_json::to_vec(&SnapshotHeader {
        vote: *vote,
        meta: snapshot.meta.clone(),
    })
    .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(4 + header.len() + snapshot.snapshot.len());
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&snapshot.snapshot);
    Ok(out)
}

pub(crate) fn decode_snapshot(bytes: &[u8]) -> Result<(Vote<u64>, Snapshot<TypeConfig>), String> {
    let len_bytes: [u8; 4] = bytes.get(..4).and_then(|b| b.try_into().ok()).ok_or("short snapshot")?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let header = bytes.get(4..4 + len).ok_or("short snapshot header")?;
    let header: SnapshotHeader = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let data = bytes.get(4 + len..).ok_or("short snapshot data")?.to_vec();
    Ok((
        header.vote,
        Snapshot {
            meta: header.meta,
            snapshot: Box::new(data),
        },
    ))
}

impl GroupNetwork {
    async fn call(&self, kind: RaftKind, payload: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, CallError> {
        if self.pool.is_blocked(self.target) {
            return Err(CallError::Unreachable("blocked by fault injection".into()));
        }
        let delay = self.pool.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let request = RaftRequest {
            group_id: self.group,
            kind: kind as i32,
            from_node: self.pool.node_id(),
            payload,
        };
        // Snapshots keep off the shared stream even when small (see STREAM_CALL_BYTES_MAX).
        let call = call_request::Call::Raft(request);
        let reply = if kind == RaftKind::Snapshot {
            self.pool.unary(&self.addr, call, timeout).await
        } else {
            self.pool.call(&self.addr, call, timeout).await
        };
        let reply = match reply.map_err(|e| CallError::Unreachable(e.to_string()))? {
            call_reply::Reply::Raft(reply) => reply,
            _ => return Err(CallError::Unreachable("a reply of another kind".into())),
        };
        match reply.result {
            Some(raft_reply::Result::Ok(bytes)) => Ok(bytes),
            Some(raft_reply::Result::Failure(f)) if f.kind == FailureKind::Raft as i32 => {
                Err(CallError::Raft(f.detail))
            }
            Some(raft_reply::Result::Failure(f)) => Err(CallError::Unreachable(f.message)),
            None => Err(CallError::Unreachable("empty reply".into())),
        }
    }

    async fn rpc<Req: Serialize, Resp: serde::de::DeserializeOwned>(
        &self,
        kind: RaftKind,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<u64, NodeInfo, RaftError<u64>>> {
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

impl RaftNetwork<TypeConfig> for GroupNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, NodeInfo, RaftError<u64>>> {
        self.rpc(RaftKind::AppendEntries, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, NodeInfo, RaftError<u64>>> {
        self.rpc(RaftKind::Vote, &rpc, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote<u64>,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<u64>, StreamingError<TypeConfig, Fatal<u64>>> {
        let payload = encode_snapshot(&vote, &snapshot)
            .map_err(|e| StreamingError::Network(NetworkError::new(&TransportError(e))))?;
        let call = self.call(
            RaftKind::Snapshot,
            payload,
            option.hard_ttl().max(Duration::from_secs(60)),
        );
        let result = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            r = call => r,
        };
        match result {
            Ok(bytes) => tessera_model::wire::decode(&bytes)
                .map_err(|e| StreamingError::Network(NetworkError::new(&TransportError(e)))),
            Err(CallError::Unreachable(m)) => Err(StreamingError::Unreachable(Unreachable::new(&TransportError(m)))),
            Err(CallError::Raft(_)) => Err(StreamingError::Unreachable(Unreachable::new(&TransportError(
                "snapshot refused by the peer".into(),
            )))),
        }
    }
}
