//! `tessera`: the command-line entry point. Thin: parses flags, sets up logging, calls `run`.

use tessera_cli::{local, local_raft};

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Tessera: a self-hosted, DynamoDB-compatible database"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "TESSERA_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Engine {
    Embedded,
    Raft,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run Tessera as one process serving the DynamoDB API (like DynamoDB Local).
    Local {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1", env = "TESSERA_HOST")]
        host: IpAddr,
        /// Port to listen on (0 picks a free one; the chosen address is printed).
        #[arg(long, default_value_t = 8000, env = "TESSERA_PORT")]
        port: u16,
        /// Where data lives.
        #[arg(long, default_value = "./tessera-data", env = "TESSERA_DATA_DIR")]
        data_dir: PathBuf,
        /// Keep data in memory only (nothing survives a restart).
        #[arg(long, conflicts_with = "data_dir")]
        in_memory: bool,
        /// `embedded`: the shard engine directly (fastest). `raft`: the cluster's code, a
        /// storage node with single-replica Raft groups and a router, in this process.
        #[arg(long, value_enum, default_value_t = Engine::Embedded, env = "TESSERA_ENGINE")]
        engine: Engine,
    },
    /// Checks that an endpoint (tessera local, a router, a DAX node) answers the DynamoDB API:
    /// exit status 0 when ListTables succeeds (for health checks).
    Ping {
        #[arg(long, default_value = "http://127.0.0.1:8000", env = "TESSERA_ENDPOINT")]
        endpoint: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tessera_process::init_logging(matches!(cli.log_format, LogFormat::Json), "info,openraft=warn");
    tessera_process::run_main("tessera", async {
        match cli.command {
            Command::Local {
                host,
                port,
                data_dir,
                in_memory,
                engine,
            } => {
                let config = local::LocalConfig {
                    listen: SocketAddr::new(host, port),
                    data_dir: (!in_memory).then_some(data_dir),
                };
                match engine {
                    Engine::Embedded => local::run(config, tessera_process::shutdown_signal()).await,
                    Engine::Raft => {
                        let listener = tokio::net::TcpListener::bind(config.listen)
                            .await
                            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
                        local_raft::run_on(listener, config.data_dir, tessera_process::shutdown_signal()).await
                    }
                }
                .map_err(|e| e.message)
            }
            Command::Ping { endpoint, timeout } => {
                let client = tessera_api::Client::new(vec![endpoint.clone()], Duration::from_secs(timeout));
                client
                    .call_json("ListTables", &serde_json::json!({ "Limit": 1 }))
                    .await
                    .map(|_| println!("{endpoint}: ok"))
                    .map_err(|e| format!("{endpoint}: {:?}: {}", e.kind, e.message))
            }
        }
    })
}
