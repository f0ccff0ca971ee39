//! `tessera local --engine raft`: the cluster's own code in one process. A storage node whose
//! metadata group and shard groups each have a single replica (itself), and a router in
//! front of it, exactly as `tessera-node` and `tessera-router` run them, with the node's gRPC
//! service on a private loopback port. Slower than the embedded engine (every write goes
//! through a Raft log before the shard), but it runs the cluster's path end to end on a
//! laptop: what works here works on a cluster.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tessera_model::{Error, Result};
use tessera_node::NodeConfig;
use tessera_replication::{NodeInfo, RaftSettings};
use tessera_router::{ClusterBackend, RouterConfig};
use tokio::sync::watch;

const NODE_ID: u64 = 1;
const AZ: &str = "local";

/// The node's private gRPC listener. The cluster state records the node's address, so a
/// restart on the same data reuses the port chosen the first time (kept in the data dir).
async fn node_listener(dir: &std::path::Path) -> Result<tokio::net::TcpListener> {
    let port_file = dir.join("node-port");
    let port: u16 = match std::fs::read_to_string(&port_file) {
        Ok(s) => s
            .trim()
            .parse()
            .map_err(|_| Error::internal(format!("{}: not a port number", port_file.display())))?,
        Err(_) => 0,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        Error::internal(format!(
            "cannot listen on 127.0.0.1:{port} (the port this data directory's node uses): {e}"
        ))
    })?;
    if port == 0 {
        let chosen = listener
            .local_addr()
            .map_err(|e| Error::internal(e.to_string()))?
            .port();
        std::fs::write(&port_file, chosen.to_string())
            .map_err(|e| Error::internal(format!("{}: {e}", port_file.display())))?;
    }
    Ok(listener)
}

/// Runs until `shutdown` resolves. `data_dir` None: a temporary directory, removed on exit.
pub async fn run_on(
    listener: tokio::net::TcpListener,
    data_dir: Option<PathBuf>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let (dir, temporary) = match data_dir {
        Some(d) => (d.join("raft"), false),
        None => (
            std::env::temp_dir().join(format!("tessera-local-{}", uuid::Uuid::new_v4().simple())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::internal(format!("{}: {e}", dir.display())))?;
    let grpc = node_listener(&dir).await?;
    let grpc_addr = grpc
        .local_addr()
        .map_err(|e| Error::internal(e.to_string()))?
        .to_string();
    let config = NodeConfig {
        node_id: NODE_ID,
        az: AZ.into(),
        data_dir: dir.clone(),
        peers: BTreeMap::from([(
            NODE_ID,
            NodeInfo {
                addr: grpc_addr.clone(),
                az: AZ.into(),
            },
        )]),
        shards_per_table: 4,
        cache_bytes: 256 * 1024 * 1024,
        raft: RaftSettings::default(),
        fault_injection: false,
    };
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let node = tokio::spawn(tessera_node::run(config, grpc, async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    let backend = ClusterBackend::new(RouterConfig {
        az: AZ.into(),
        nodes: BTreeMap::from([(NODE_ID, grpc_addr)]),
        retry_budget: Duration::from_secs(10),
        only_listed_nodes: true,
    });
    let address = listener.local_addr().map_err(|e| Error::internal(e.to_string()))?;
    println!("tessera local listening on http://{address}");
    tracing::info!(%address, data_dir = %dir.display(), "tessera local started (engine: raft, one replica)");
    let served = tessera_api::serve(listener, backend, shutdown).await;
    let _ = stop_tx.send(true);
    let node_result = node.await;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    served.map_err(|e| Error::internal(format!("server failed: {e}")))?;
    match node_result {
        Ok(r) => r,
        Err(e) => Err(Error::internal(format!("node task failed: {e}"))),
    }
}
