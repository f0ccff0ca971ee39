//! `tessera-router`: the DynamoDB HTTP API in front of a Tessera cluster. Thin: flags →
//! [`tessera_router::ClusterBackend`] → [`tessera_api::serve`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tessera_router::{ClusterBackend, RouterConfig};

#[derive(Parser)]
#[command(
    name = "tessera-router",
    version,
    about = "Tessera router: the DynamoDB API in front of the cluster"
)]
struct Cli {
    /// HTTP address to serve the DynamoDB API on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// The router's availability zone (eventually consistent reads prefer replicas there).
    #[arg(long, env = "TESSERA_AZ")]
    az: String,
    /// Storage nodes to start from: `ID=HOST:PORT,...`.
    #[arg(long, env = "TESSERA_NODES")]
    nodes: String,
    /// How long a request may spend finding a shard's leader or a replica.
    #[arg(long, default_value_t = 10_000)]
    retry_budget_ms: u64,
    #[arg(long, env = "TESSERA_LOG_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    /// JSON logs (also TESSERA_LOG_JSON=1/true/yes).
    log_json: bool,
    /// Talk only to the nodes in --nodes (models a router that can reach only those; tests).
    #[arg(long)]
    only_listed_nodes: bool,
}

fn parse_nodes(spec: &str) -> Result<BTreeMap<u64, String>, String> {
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (id, addr) = p
                .trim()
                .split_once('=')
                .ok_or(format!("node {p:?}: expected ID=HOST:PORT"))?;
            Ok((
                id.parse::<u64>().map_err(|e| format!("node {p:?}: {e}"))?,
                addr.to_string(),
            ))
        })
        .collect()
}

async fn main_async(cli: Cli) -> Result<(), String> {
    let config = RouterConfig {
        az: cli.az,
        nodes: parse_nodes(&cli.nodes)?,
        retry_budget: Duration::from_millis(cli.retry_budget_ms),
        only_listed_nodes: cli.only_listed_nodes,
    };
    if config.nodes.is_empty() {
        return Err("--nodes names no node".into());
    }
    let backend = ClusterBackend::new(config);
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cli.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("tessera-router listening on http://{address}");
    tracing::info!(%address, "tessera-router started");
    tessera_api::serve(listener, backend, tessera_process::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tessera_process::init_logging(cli.log_json, "info,openraft=warn");
    tessera_process::run_main("tessera-router", main_async(cli))
}
