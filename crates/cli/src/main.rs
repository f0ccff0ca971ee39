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
    /// Load generator: YCSB workloads A-F (or put, get, noop) against any DynamoDB endpoint,
    /// SigV4-signed over keep-alive connections; prints throughput and latency percentiles.
    Bench(BenchArgs),
    /// This machine's storage ceilings: sled put/get loops, sled puts flushed one by one,
    /// and raw fsyncs (so bench figures can be read as a fraction of them).
    BenchFloor {
        /// A directory on the disk to measure (a scratch directory is made and removed in it).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Seconds per loop.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
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

#[derive(clap::Args)]
struct BenchArgs {
    /// Endpoints (comma-separated `http://HOST:PORT`); connection i uses endpoint i mod n.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8000",
        value_delimiter = ',',
        env = "TESSERA_ENDPOINT"
    )]
    endpoint: Vec<String>,
    /// a, b, c, d, e, f (YCSB core workloads), put, get, or noop (DescribeLimits).
    #[arg(long, short, default_value = "a")]
    workload: tessera_bench::Workload,
    /// uniform, zipfian or latest (default: the workload's, as in YCSB).
    #[arg(long)]
    distribution: Option<tessera_bench::keys::KeyDistribution>,
    #[arg(long, default_value = "tessera-bench")]
    table: String,
    /// Records loaded before the run (the key space).
    #[arg(long, default_value_t = 10_000)]
    records: u64,
    /// String fields per record.
    #[arg(long, default_value_t = 10)]
    fields: usize,
    /// Bytes per field.
    #[arg(long, default_value_t = 100)]
    field_bytes: usize,
    /// Records per partition key (workload E queries ranges inside one partition).
    #[arg(long, default_value_t = 10)]
    rows_per_partition: u64,
    /// Connections, each with one request in flight.
    #[arg(long, short, default_value_t = 64)]
    concurrency: usize,
    /// Seconds to measure (after the warm-up).
    #[arg(long, short, default_value_t = 10.0)]
    duration: f64,
    /// Stop after this many operations instead.
    #[arg(long)]
    operations: Option<u64>,
    /// Seconds of operations not counted at the start.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Do not load the records (the table already holds them).
    #[arg(long)]
    no_load: bool,
    /// Strongly consistent reads.
    #[arg(long)]
    consistent_read: bool,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", default_value = "tessera-bench")]
    access_key: String,
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        default_value = "tessera-bench",
        hide_env_values = true
    )]
    secret_key: String,
    #[arg(long, env = "AWS_DEFAULT_REGION", default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also write the report as JSON to this file (`-` for stdout instead of the table).
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn seconds(s: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("{what}: {s} is not a number of seconds"))
}

async fn bench(args: BenchArgs) -> Result<(), String> {
    use std::io::IsTerminal;
    let config = tessera_bench::BenchConfig {
        endpoints: args.endpoint,
        workload: args.workload,
        distribution: args.distribution,
        table: args.table,
        records: args.records,
        fields: args.fields,
        field_bytes: args.field_bytes,
        rows_per_partition: args.rows_per_partition,
        concurrency: args.concurrency,
        duration: seconds(args.duration, "--duration")?,
        operations: args.operations,
        warmup: seconds(args.warmup, "--warmup")?,
        load: !args.no_load,
        consistent_read: args.consistent_read,
        access_key: args.access_key,
        secret_key: args.secret_key,
        region: args.region,
        seed: args.seed,
        progress: !args.quiet && std::io::stderr().is_terminal(),
    };
    let report = tessera_bench::run(&config).await?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    match args.json.as_deref() {
        Some(p) if p == std::path::Path::new("-") => println!("{json}"),
        Some(p) => {
            std::fs::write(p, json + "\n").map_err(|e| format!("{}: {e}", p.display()))?;
            print!("{}", report.table());
        }
        None => print!("{}", report.table()),
    }
    Ok(())
}

fn bench_floor(dir: PathBuf, secs: f64, json: bool) -> Result<(), String> {
    let floor = tessera_storage::floor::measure(&dir, seconds(secs, "--seconds")?).map_err(|e| e.message)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&floor).map_err(|e| e.to_string())?);
    } else {
        println!("sled puts (1 KB)          {:>10.0}/s", floor.sled_puts_per_sec);
        println!("sled gets                 {:>10.0}/s", floor.sled_gets_per_sec);
        println!(
            "sled put + flush, one by one {:>7.0}/s",
            floor.sled_durable_puts_per_sec
        );
        println!("fsync (4 KB write + fdatasync) {:>5.0}/s", floor.fsyncs_per_sec);
    }
    Ok(())
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
            Command::Bench(args) => bench(args).await,
            Command::BenchFloor { dir, seconds, json } => {
                tokio::task::spawn_blocking(move || bench_floor(dir, seconds, json))
                    .await
                    .map_err(|e| e.to_string())?
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
