//! # tessera-node
//!
//! A storage node: one sled database ([`tessera_storage::NodeStore`]), the metadata group and
//! a replica of every data group placed on it ([`tessera_replication::Registry`]), served over
//! one gRPC service. A reconciler keeps the local replicas in line with the cluster state:
//! it opens or creates the groups of new shards (initialising them on the shard's designated
//! first leader, or on any replica if that one stays silent) and removes deleted ones.
//!
//! ## Layout
//! - `service`: the gRPC `Node` service.
//! - [`run`]: start-up, bootstrap of the metadata group, the reconciler, shutdown.

pub mod service;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_model::{Error, Result};
use tessera_proto::node::v1::node_server::NodeServer;
use tessera_replication::{NodeInfo, RaftSettings, Registry, GRPC_MESSAGE_BYTES_MAX, META_GROUP};
use tessera_storage::NodeStore;

use crate::service::{startup_error, NodeService};

/// How long the other members wait for the lowest-numbered node to form the metadata group
/// before forming it themselves (with the same members, which is safe).
const META_INIT_FALLBACK: Duration = Duration::from_secs(10);
/// How long replicas wait for a shard's designated first leader to form its group.
const GROUP_INIT_FALLBACK: Duration = Duration::from_secs(5);
/// How long a shard's designated first leader waits before forming its group.
const GROUP_INIT_DELAY: Duration = Duration::from_millis(200);
/// How often the reconciler looks again without a change (to retry failed steps).
const RECONCILE_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub node_id: u64,
    pub az: String,
    pub data_dir: PathBuf,
    /// Every member of the metadata group (this node included), with address and AZ.
    pub peers: BTreeMap<u64, NodeInfo>,
    pub shards_per_table: u32,
    /// Bound on the storage engine's page cache (sled's own default is 1 GiB per process).
    pub cache_bytes: u64,
    pub raft: RaftSettings,
    pub fault_injection: bool,
}

impl NodeConfig {
    pub fn validate(&self) -> Result<()> {
        match self.peers.get(&self.node_id) {
            None => Err(Error::validation(format!("node {} is not in --peers", self.node_id))),
            Some(me) if me.az != self.az => Err(Error::validation(format!(
                "node {} has AZ {} in --peers but --az {}",
                self.node_id, me.az, self.az
            ))),
            Some(_) if self.shards_per_table == 0 => Err(Error::validation("--shards-per-table must be at least 1")),
            Some(_) => Ok(()),
        }
    }
}

/// Runs a node on `listener` until `shutdown` resolves.
pub async fn run(
    config: NodeConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    config.validate()?;
    let store = NodeStore::open(&config.data_dir, config.cache_bytes).await?;
    let registry = Registry::start(config.node_id, store, &config.raft, config.fault_injection).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let service = NodeService {
        registry: registry.clone(),
        az: config.az.clone(),
        shards_per_table: config.shards_per_table,
        shutdown: stopped,
    };
    // Open `Calls` streams never end on their own: they are told to, or the graceful stop
    // would wait for them forever.
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let server = tonic::transport::Server::builder()
        .add_service(
            NodeServer::new(service)
                .max_decoding_message_size(GRPC_MESSAGE_BYTES_MAX)
                .max_encoding_message_size(GRPC_MESSAGE_BYTES_MAX),
        )
        .serve_with_incoming_shutdown(
            // Without TCP_NODELAY small replies wait for the peer's delayed ACK (~40 ms).
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        );
    let bootstrap = tokio::spawn(bootstrap_meta(registry.clone(), config.node_id, config.peers.clone()));
    let reconciler = tokio::spawn(reconcile_loop(registry.clone(), config.node_id));
    let served = server.await;
    bootstrap.abort();
    reconciler.abort();
    registry.shutdown().await;
    served.map_err(|e| startup_error("node server failed", e))
}

/// Forms the metadata group on first start: the lowest-numbered node at once, the others
/// after [`META_INIT_FALLBACK`] if it is still unformed.
async fn bootstrap_meta(registry: Arc<Registry>, node_id: u64, peers: BTreeMap<u64, NodeInfo>) {
    if peers.keys().next() != Some(&node_id) {
        tokio::time::sleep(META_INIT_FALLBACK).await;
    }
    if !registry.is_initialized(META_GROUP).await {
        tracing::info!(members = peers.len(), "forming the metadata group");
        if let Err(e) = registry.initialize(META_GROUP, peers).await {
            tracing::warn!(error = %e.message, "could not form the metadata group");
        }
    }
}

async fn reconcile_loop(registry: Arc<Registry>, node_id: u64) {
    let mut changes = registry.cluster_changes();
    let mut unformed_since: HashMap<u64, Instant> = HashMap::new();
    loop {
        if let Err(e) = reconcile_once(&registry, node_id, &mut unformed_since).await {
            tracing::warn!(error = %e.message, "reconcile failed; retrying");
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(RECONCILE_INTERVAL) => {}
        }
    }
}

async fn reconcile_once(registry: &Registry, node_id: u64, unformed_since: &mut HashMap<u64, Instant>) -> Result<()> {
    let state = registry.cluster_state().await;
    let mut wanted = HashSet::new();
    for (table, shard) in state.shards_on(node_id) {
        wanted.insert(shard.group);
        registry.ensure_data_group(shard.group).await?;
        if registry.is_initialized(shard.group).await {
            unformed_since.remove(&shard.group);
            continue;
        }
        let since = *unformed_since.entry(shard.group).or_insert_with(Instant::now);
        // The designated leader waits a moment so the other replicas (which see the same
        // metadata change at about the same time) have the group when its first vote arrives;
        // otherwise the election fails and waits out a whole election timeout.
        let first_leader_ready = shard.initial_leader == node_id && since.elapsed() >= GROUP_INIT_DELAY;
        if first_leader_ready || since.elapsed() >= GROUP_INIT_FALLBACK {
            let members: BTreeMap<u64, NodeInfo> = shard
                .replicas
                .iter()
                .filter_map(|r| state.nodes.get(r).map(|n| (*r, n.clone())))
                .collect();
            tracing::info!(group = shard.group, table = %table.meta.name, "forming shard group");
            registry.initialize(shard.group, members).await?;
        }
    }
    for group in registry.group_ids().await {
        if group != META_GROUP && !wanted.contains(&group) {
            tracing::info!(group, "removing the replica of a deleted shard");
            unformed_since.remove(&group);
            registry.remove_group(group).await?;
        }
    }
    Ok(())
}
