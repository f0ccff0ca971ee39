//! # tessera-dax
//!
//! The DAX tier: a cluster of in-memory cache nodes in front of the routers, speaking the
//! DynamoDB API (see `backend` for what each operation does). One node is the primary: the
//! leader of the nodes' own Raft group (`raft`), whose log carries the item-cache updates of
//! writes to every node. Besides the DynamoDB API each node serves:
//! - `GET /cluster/endpoints`: the nodes, their roles and AZs, and the leader session id (the
//!   Raft term), for clients that fail over (DAX's `Endpoints` call);
//! - `GET /metrics`: Prometheus text (cache hits/misses/evictions, requests per operation).
//!
//! The DAX tier depends on the API crate only: storage is reached over HTTP via the routers.

pub mod backend;
pub mod cache;
pub mod client;
pub mod raft;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::{Config, SnapshotPolicy};
use serde_json::json;
use tessera_api::client::Client;
use tessera_proto::dax::v1::dax_peer_server::{DaxPeer, DaxPeerServer};
use tessera_proto::dax::v1::{
    raft_reply, AppliedReply, AppliedRequest, ProposeReply, ProposeRequest, RaftKind, RaftReply, RaftRequest,
};
use tessera_storage::NodeStore;
use tokio::sync::watch;

use crate::backend::{DaxBackend, COUNTED_OPS};
use crate::cache::{Cache, CacheConfig};
use crate::raft::{
    CacheStateMachine, DaxLog, DaxNode, DaxRaft, NetworkFactory, Peers, SnapshotMessage, Updates, DAX_GROUP,
};

/// sled page cache bound of a DAX node's store (its Raft vote and snapshot point: small).
const DAX_STORE_CACHE_BYTES: u64 = 32 * 1024 * 1024;

pub struct DaxSettings {
    pub node_id: u64,
    pub az: String,
    /// Every node of the DAX cluster, this one included.
    pub peers: BTreeMap<u64, DaxNode>,
    /// Router endpoints (`http://host:port`).
    pub routers: Vec<String>,
    pub cache: CacheConfig,
    /// Where the DAX group's Raft log and vote are kept across restarts (None: a temporary
    /// directory, deleted on exit: a restart is then a new member without its vote).
    pub data_dir: Option<PathBuf>,
    pub heartbeat_ms: u64,
    pub election_min_ms: u64,
    pub election_max_ms: u64,
    /// How long a call to a router may take before the next router is tried.
    pub upstream_timeout: Duration,
}

/// Parses `ID@AZ=HOST:PORT[:CLUSTER_PORT],...` (the cluster port defaults to PORT + 1).
pub fn parse_peers(spec: &str) -> Result<BTreeMap<u64, DaxNode>, String> {
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let bad = || format!("DAX peer {p:?}: expected ID@AZ=HOST:PORT[:CLUSTER_PORT]");
            let (id_az, addr) = p.trim().split_once('=').ok_or_else(bad)?;
            let (id, az) = id_az.split_once('@').ok_or_else(bad)?;
            let id = id.parse::<u64>().map_err(|_| bad())?;
            let parts: Vec<&str> = addr.split(':').collect();
            let (host, port, cluster_port) = match parts.as_slice() {
                [h, p] => {
                    let port = p.parse::<u16>().map_err(|_| bad())?;
                    (*h, port, port.checked_add(1).ok_or_else(bad)?)
                }
                [h, p, c] => (
                    *h,
                    p.parse::<u16>().map_err(|_| bad())?,
                    c.parse::<u16>().map_err(|_| bad())?,
                ),
                _ => return Err(bad()),
            };
            Ok((
                id,
                DaxNode {
                    api: format!("{host}:{port}"),
                    cluster: format!("{host}:{cluster_port}"),
                    az: az.to_string(),
                },
            ))
        })
        .collect()
}

/// Runs a DAX node until `shutdown` resolves.
pub async fn run(
    settings: DaxSettings,
    api_listener: tokio::net::TcpListener,
    cluster_listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let config = Config {
        cluster_name: "tessera-dax".into(),
        heartbeat_interval: settings.heartbeat_ms,
        election_timeout_min: settings.election_min_ms,
        election_timeout_max: settings.election_max_ms,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(20_000),
        max_in_snapshot_log_to_keep: 5_000,
        ..Default::default()
    }
    .validate()
    .map_err(|e| format!("raft config: {e}"))?;
    let store = match &settings.data_dir {
        // The DAX group's own log and vote only (cached items live in memory).
        Some(dir) => NodeStore::open(dir, DAX_STORE_CACHE_BYTES).await,
        None => {
            tracing::warn!(
                "no --data-dir: the DAX group's log and vote are temporary, so a restart of this \
                 node rejoins without its vote (give it a data directory in production)"
            );
            NodeStore::open_temporary()
        }
    }
    .map_err(|e| format!("DAX group storage: {}", e.message))?;
    let mut log = DaxLog::new(DAX_GROUP, store.clone());
    let restarted = log
        .read_vote()
        .await
        .map_err(|e| format!("DAX group storage: {e}"))?
        .is_some();
    let cache = Arc::new(Cache::new(settings.cache));
    let (applied_tx, applied_rx) = watch::channel(0u64);
    let peers = Arc::new(Peers::default());
    let mut sm = CacheStateMachine::open(cache.clone(), store.clone(), applied_tx)?;
    let (applied, _) = sm
        .applied_state()
        .await
        .map_err(|e| format!("DAX group storage: {e}"))?;
    log.reconcile(applied)
        .await
        .map_err(|e| format!("DAX group storage: {e}"))?;
    let raft = DaxRaft::new(
        settings.node_id,
        Arc::new(config),
        NetworkFactory(peers.clone()),
        log,
        sm,
    )
    .await
    .map_err(|e| format!("raft: {e}"))?;
    if !restarted {
        // Every node of a new cluster initialises it with the same membership (openraft
        // accepts the same initial membership on each); a node that voted before is a member
        // coming back with its log.
        if let Err(e) = raft.initialize(settings.peers.clone()).await {
            tracing::debug!(error = %e, "DAX group already initialised");
        }
    }
    let backend = Arc::new(DaxBackend::new(
        settings.node_id,
        cache,
        raft.clone(),
        Client::new(settings.routers.clone(), settings.upstream_timeout),
        peers,
        applied_rx.clone(),
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let grpc = tonic::transport::Server::builder()
        .add_service(DaxPeerServer::new(PeerService {
            raft: raft.clone(),
            applied: applied_rx,
        }))
        .serve_with_incoming_shutdown(
            // Small messages: no Nagle (it meets delayed ACKs and stalls ~40 ms).
            tonic::transport::server::TcpIncoming::from(cluster_listener).with_nodelay(Some(true)),
            stopped(stop_rx.clone()),
        );
    let app = axum::Router::new()
        .route("/cluster/endpoints", get(endpoints))
        .route("/metrics", get(metrics))
        .with_state(backend.clone())
        .merge(tessera_api::router(backend.clone()));
    let http = axum::serve(tessera_api::without_nagle(api_listener), app).with_graceful_shutdown(stopped(stop_rx));
    let grpc_task = tokio::spawn(grpc);
    let http_task = tokio::spawn(async move { http.await });
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = http_task.await;
    let _ = grpc_task.await;
    let _ = raft.shutdown().await;
    Ok(())
}

struct PeerService {
    raft: DaxRaft,
    applied: watch::Receiver<u64>,
}

fn reply(result: raft_reply::Result) -> tonic::Response<RaftReply> {
    tonic::Response::new(RaftReply { result: Some(result) })
}

fn encoded<T: serde::Serialize>(v: &T) -> raft_reply::Result {
    match tessera_model::wire::encode(v) {
        Ok(b) => raft_reply::Result::Ok(b),
        Err(e) => raft_reply::Result::Unavailable(e),
    }
}

fn raft_error<E: serde::Serialize>(e: &E) -> raft_reply::Result {
    raft_reply::Result::RaftError(serde_json::to_vec(e).unwrap_or_default())
}

#[tonic::async_trait]
impl DaxPeer for PeerService {
    async fn raft(&self, request: tonic::Request<RaftRequest>) -> Result<tonic::Response<RaftReply>, tonic::Status> {
        let r = request.into_inner();
        let bad = tonic::Status::invalid_argument;
        Ok(reply(match RaftKind::try_from(r.kind) {
            Ok(RaftKind::AppendEntries) => {
                match self
                    .raft
                    .append_entries(tessera_model::wire::decode(&r.payload).map_err(bad)?)
                    .await
                {
                    Ok(resp) => encoded(&resp),
                    Err(e) => raft_error(&e),
                }
            }
            Ok(RaftKind::Vote) => match self
                .raft
                .vote(tessera_model::wire::decode(&r.payload).map_err(bad)?)
                .await
            {
                Ok(resp) => encoded(&resp),
                Err(e) => raft_error(&e),
            },
            Ok(RaftKind::Snapshot) => {
                let m: SnapshotMessage = tessera_model::wire::decode(&r.payload).map_err(bad)?;
                let snapshot = openraft::Snapshot {
                    meta: m.meta,
                    snapshot: Box::default(),
                };
                match self.raft.install_full_snapshot(m.vote, snapshot).await {
                    Ok(resp) => encoded(&resp),
                    Err(e) => raft_reply::Result::Unavailable(e.to_string()),
                }
            }
            _ => raft_reply::Result::Unavailable(format!("unknown raft message kind {}", r.kind)),
        }))
    }

    async fn propose(
        &self,
        request: tonic::Request<ProposeRequest>,
    ) -> Result<tonic::Response<ProposeReply>, tonic::Status> {
        let updates: Updates =
            tessera_model::wire::decode(&request.into_inner().updates).map_err(tonic::Status::invalid_argument)?;
        let (index, error) = match self.raft.client_write(updates).await {
            Ok(resp) => (resp.log_id.index, String::new()),
            Err(e) => (0, e.to_string()),
        };
        Ok(tonic::Response::new(ProposeReply { index, error }))
    }

    async fn applied(
        &self,
        _request: tonic::Request<AppliedRequest>,
    ) -> Result<tonic::Response<AppliedReply>, tonic::Status> {
        Ok(tonic::Response::new(AppliedReply {
            index: *self.applied.borrow(),
        }))
    }
}

/// The cluster as this node sees it: DAX's `Endpoints` answer.
async fn endpoints(State(backend): State<Arc<DaxBackend>>) -> Response {
    let m = backend.raft.metrics().borrow().clone();
    let leader = m.current_leader;
    let nodes: Vec<serde_json::Value> = m
        .membership_config
        .membership()
        .nodes()
        .map(|(id, node)| {
            let (host, port) = node.api.rsplit_once(':').unwrap_or((node.api.as_str(), ""));
            json!({
                "nodeId": id,
                "endpoint": format!("http://{}", node.api),
                "address": host,
                "port": port.parse::<u16>().unwrap_or(0),
                "role": if Some(*id) == leader { "primary" } else { "replica" },
                "availabilityZone": node.az,
            })
        })
        .collect();
    let body = json!({
        "nodeId": backend.node_id,
        "leaderSessionId": m.vote.leader_id().term,
        "primary": leader,
        "nodes": nodes,
    });
    ([("content-type", "application/json")], body.to_string()).into_response()
}

async fn metrics(State(backend): State<Arc<DaxBackend>>) -> Response {
    let s = &backend.cache.stats;
    let (bytes, items, queries) = backend.cache.size();
    let m = backend.raft.metrics().borrow().clone();
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
    };
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    counter(
        "dax_item_cache_hits_total",
        "GetItem keys answered from the item cache (items found).",
        load(&s.item_hits),
    );
    counter(
        "dax_item_cache_negative_hits_total",
        "GetItem keys answered from the item cache as missing.",
        load(&s.item_negative_hits),
    );
    counter(
        "dax_item_cache_misses_total",
        "GetItem keys read from storage.",
        load(&s.item_misses),
    );
    counter(
        "dax_query_cache_hits_total",
        "Query pages answered from the query cache.",
        load(&s.query_hits),
    );
    counter(
        "dax_query_cache_misses_total",
        "Query pages read from storage.",
        load(&s.query_misses),
    );
    counter(
        "dax_scan_cache_hits_total",
        "Scan pages answered from the query cache.",
        load(&s.scan_hits),
    );
    counter(
        "dax_scan_cache_misses_total",
        "Scan pages read from storage.",
        load(&s.scan_misses),
    );
    counter(
        "dax_evictions_total",
        "Entries evicted to stay within the memory bound.",
        load(&s.evictions),
    );
    counter(
        "dax_evicted_bytes_total",
        "Bytes evicted to stay within the memory bound.",
        load(&s.evicted_bytes),
    );
    counter(
        "dax_expirations_total",
        "Entries found past their TTL.",
        load(&s.expirations),
    );
    counter(
        "dax_forwarded_writes_total",
        "Writes this replica relayed to the primary.",
        load(&backend.forwarded_writes),
    );
    let _ = writeln!(
        out,
        "# HELP dax_requests_total Requests by operation.\n# TYPE dax_requests_total counter"
    );
    for (op, c) in COUNTED_OPS.iter().zip(&backend.requests) {
        let _ = writeln!(out, "dax_requests_total{{op=\"{op}\"}} {}", load(c));
    }
    let _ = writeln!(
        out,
        "dax_requests_total{{op=\"other\"}} {}",
        load(&backend.other_requests)
    );
    let mut gauge = |name: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    };
    gauge(
        "dax_estimated_db_size_bytes",
        "Bytes held by the item and query caches.",
        bytes as u64,
    );
    gauge(
        "dax_cache_memory_limit_bytes",
        "The caches' memory bound.",
        backend.cache.config().max_bytes as u64,
    );
    gauge("dax_item_cache_entries", "Entries in the item cache.", items as u64);
    gauge("dax_query_cache_entries", "Entries in the query cache.", queries as u64);
    gauge(
        "dax_is_primary",
        "1 on the primary node.",
        u64::from(m.current_leader == Some(backend.node_id)),
    );
    gauge(
        "dax_leader_session_id",
        "The primary's Raft term.",
        m.vote.leader_id().term,
    );
    gauge(
        "dax_applied_index",
        "Cache-update log entries applied here.",
        m.last_applied.map_or(0, |l| l.index),
    );
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}
