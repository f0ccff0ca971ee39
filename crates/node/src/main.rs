//! `tessera-node`: runs a storage node, or asks one for its status or (in tests) to drop
//! traffic. Thin: flags → [`tessera_node::run`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_node::NodeConfig;
use tessera_proto::node::v1::node_client::NodeClient;
use tessera_proto::node::v1::{FaultRequest, StatusRequest};
use tessera_replication::{NodeInfo, RaftSettings};

#[derive(Parser)]
#[command(name = "tessera-node", version, about = "Tessera storage node")]
struct Cli {
    /// Log as JSON lines instead of human-readable text (stderr).
    #[arg(long, global = true, env = "TESSERA_LOG_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    /// JSON logs (also TESSERA_LOG_JSON=1/true/yes).
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a storage node.
    Run {
        #[arg(long, env = "TESSERA_NODE_ID")]
        node_id: u64,
        /// This node's availability zone.
        #[arg(long, env = "TESSERA_AZ")]
        az: String,
        /// gRPC address to listen on (the address peers know it by).
        #[arg(long, env = "TESSERA_LISTEN")]
        listen: SocketAddr,
        #[arg(long, env = "TESSERA_DATA_DIR")]
        data_dir: PathBuf,
        /// Metadata group members: `ID@AZ=HOST:PORT,...` (this node included).
        #[arg(long, env = "TESSERA_PEERS")]
        peers: String,
        /// Shards (Raft groups) per new table.
        #[arg(long, default_value_t = 4)]
        shards_per_table: u32,
        /// Storage page cache bound, in MiB.
        #[arg(long, env = "TESSERA_CACHE_MB", default_value_t = 256)]
        cache_mb: u64,
        /// Entries after which a group snapshots and compacts its log.
        #[arg(long, default_value_t = 10_000)]
        snapshot_logs: u64,
        #[arg(long, default_value_t = 300)]
        heartbeat_ms: u64,
        #[arg(long, default_value_t = 1500)]
        election_min_ms: u64,
        #[arg(long, default_value_t = 3000)]
        election_max_ms: u64,
        /// Accept `fault` requests (tests only).
        #[arg(long)]
        enable_fault_injection: bool,
    },
    /// Print a node's view of its groups as JSON.
    Status {
        #[arg(long)]
        target: String,
        /// Also a digest of each data group's contents (reads every shard whole).
        #[arg(long)]
        digests: bool,
    },
    /// Make a node drop Raft traffic to and from some nodes, and/or delay what it sends
    /// (`--block "" --delay-ms 0` heals). Needs a node started with --enable-fault-injection.
    Fault {
        #[arg(long)]
        target: String,
        #[arg(long, default_value = "")]
        block: String,
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
    },
}

fn parse_peers(spec: &str) -> Result<BTreeMap<u64, NodeInfo>, String> {
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (id_az, addr) = p
                .trim()
                .split_once('=')
                .ok_or(format!("peer {p:?}: expected ID@AZ=HOST:PORT"))?;
            let (id, az) = id_az
                .split_once('@')
                .ok_or(format!("peer {p:?}: expected ID@AZ=HOST:PORT"))?;
            let id = id.parse::<u64>().map_err(|e| format!("peer {p:?}: {e}"))?;
            Ok((
                id,
                NodeInfo {
                    addr: addr.to_string(),
                    az: az.to_string(),
                },
            ))
        })
        .collect()
}

async fn client(target: &str) -> Result<NodeClient<tonic::transport::Channel>, String> {
    NodeClient::connect(format!("http://{target}"))
        .await
        .map_err(|e| format!("cannot reach {target}: {e}"))
}

async fn main_async(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Run {
            node_id,
            az,
            listen,
            data_dir,
            peers,
            shards_per_table,
            cache_mb,
            snapshot_logs,
            heartbeat_ms,
            election_min_ms,
            election_max_ms,
            enable_fault_injection,
        } => {
            let config = NodeConfig {
                node_id,
                az,
                data_dir,
                peers: parse_peers(&peers)?,
                shards_per_table,
                cache_bytes: cache_mb.saturating_mul(1024 * 1024),
                raft: RaftSettings {
                    heartbeat_ms,
                    election_min_ms,
                    election_max_ms,
                    snapshot_logs,
                },
                fault_injection: enable_fault_injection,
            };
            config.validate().map_err(|e| e.message)?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            println!("tessera-node {node_id} listening on {address}");
            tracing::info!(node_id, %address, "tessera-node started");
            tessera_node::run(config, listener, tessera_process::shutdown_signal())
                .await
                .map_err(|e| e.message)
        }
        Command::Status { target, digests } => {
            let reply = client(&target)
                .await?
                .status(StatusRequest { digests })
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", String::from_utf8_lossy(&reply.into_inner().json));
            Ok(())
        }
        Command::Fault {
            target,
            block,
            delay_ms,
        } => {
            let blocked_nodes = block
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse::<u64>().map_err(|e| format!("--block {s:?}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            client(&target)
                .await?
                .fault(FaultRequest {
                    blocked_nodes,
                    delay_ms,
                })
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tessera_process::init_logging(cli.log_json, "info,openraft=warn");
    tessera_process::run_main("tessera-node", main_async(cli))
}
