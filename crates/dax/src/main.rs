//! `tessera-dax`: one node of the DAX cache cluster.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tessera_dax::cache::CacheConfig;
use tessera_dax::{parse_peers, DaxSettings};

#[derive(Parser)]
#[command(
    name = "tessera-dax",
    version,
    about = "A Tessera DAX cache node (DynamoDB API, write-through)"
)]
struct Cli {
    /// This node's id in --peers.
    #[arg(long, env = "TESSERA_NODE_ID")]
    node_id: u64,
    /// This node's availability zone.
    #[arg(long, env = "TESSERA_AZ")]
    az: String,
    /// DynamoDB API address.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8111")]
    listen: SocketAddr,
    /// Address for the other DAX nodes (gRPC); default: the API port + 1.
    #[arg(long, env = "TESSERA_CLUSTER_LISTEN")]
    cluster_listen: Option<SocketAddr>,
    /// Every DAX node, this one included: `ID@AZ=HOST:PORT[:CLUSTER_PORT],...`.
    #[arg(long, env = "TESSERA_PEERS")]
    peers: String,
    /// Router endpoints: `http://HOST:PORT,...` (calls fail over between them).
    #[arg(long, env = "TESSERA_ROUTERS", value_delimiter = ',')]
    routers: Vec<String>,
    /// Item cache TTL in milliseconds (0: items do not expire).
    #[arg(long, default_value_t = 300_000)]
    item_ttl_ms: u64,
    /// Query cache TTL in milliseconds (0: query results are not cached).
    #[arg(long, default_value_t = 300_000)]
    query_ttl_ms: u64,
    /// Memory bound of the item and query caches together, in bytes.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    cache_bytes: usize,
    /// Keeps the DAX group's Raft log and vote across restarts (recommended; the cache itself
    /// is memory only).
    #[arg(long, env = "TESSERA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 250)]
    heartbeat_ms: u64,
    #[arg(long, default_value_t = 1000)]
    election_min_ms: u64,
    #[arg(long, default_value_t = 2000)]
    election_max_ms: u64,
    /// Milliseconds a router call may take before the next router is tried.
    #[arg(long, default_value_t = 15_000)]
    upstream_timeout_ms: u64,
    #[arg(long, env = "TESSERA_LOG_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    /// JSON logs (also TESSERA_LOG_JSON=1/true/yes).
    log_json: bool,
}

async fn main_async(cli: Cli) -> Result<(), String> {
    let peers = parse_peers(&cli.peers)?;
    if !peers.contains_key(&cli.node_id) {
        return Err(format!("--peers does not name this node ({})", cli.node_id));
    }
    if cli.routers.is_empty() {
        return Err("--routers names no router".into());
    }
    let cluster_listen = match cli.cluster_listen {
        Some(a) => a,
        None => {
            let port = cli
                .listen
                .port()
                .checked_add(1)
                .ok_or("--listen port + 1 is not a port; give --cluster-listen")?;
            SocketAddr::new(cli.listen.ip(), port)
        }
    };
    let api = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cli.listen))?;
    let cluster = tokio::net::TcpListener::bind(cluster_listen)
        .await
        .map_err(|e| format!("cannot listen on {cluster_listen}: {e}"))?;
    let api_addr = api.local_addr().map_err(|e| e.to_string())?;
    let cluster_addr = cluster.local_addr().map_err(|e| e.to_string())?;
    println!(
        "tessera-dax {} listening on http://{api_addr} (cluster {cluster_addr})",
        cli.node_id
    );
    tracing::info!(node = cli.node_id, %api_addr, %cluster_addr, "tessera-dax started");
    let settings = DaxSettings {
        node_id: cli.node_id,
        az: cli.az,
        peers,
        routers: cli.routers,
        cache: CacheConfig {
            item_ttl: Duration::from_millis(cli.item_ttl_ms),
            query_ttl: Duration::from_millis(cli.query_ttl_ms),
            max_bytes: cli.cache_bytes,
        },
        data_dir: cli.data_dir,
        heartbeat_ms: cli.heartbeat_ms,
        election_min_ms: cli.election_min_ms,
        election_max_ms: cli.election_max_ms,
        upstream_timeout: Duration::from_millis(cli.upstream_timeout_ms),
    };
    tessera_dax::run(settings, api, cluster, tessera_process::shutdown_signal()).await
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tessera_process::init_logging(cli.log_json, "info,openraft=warn");
    tessera_process::run_main("tessera-dax", main_async(cli))
}
