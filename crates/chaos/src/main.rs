//! `tessera-chaos`: record a history under faults, then check it.
//!
//!   tessera-chaos workload --endpoints URL[,URL...] --history FILE [--duration-secs 30] ...
//!   tessera-chaos check FILE            (exit 1 when a violation or a lost write is found)

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tessera_chaos::workload::{run, WorkloadConfig};
use tessera_chaos::{availability, checker, history};

#[derive(Parser)]
#[command(
    name = "tessera-chaos",
    version,
    about = "Linearizability workload and checker for Tessera"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the workload and writes its history (JSONL).
    Workload {
        /// Router endpoints, used in turn.
        #[arg(long, value_delimiter = ',', required = true)]
        endpoints: Vec<String>,
        #[arg(long)]
        history: PathBuf,
        #[arg(long, default_value = "chaos")]
        table: String,
        /// Create the table first (an existing one is reused).
        #[arg(long)]
        create_table: bool,
        #[arg(long, default_value_t = 40)]
        keys: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 30)]
        duration_secs: u64,
        /// Keeps each key's history small enough to check quickly (workers stop early when
        /// every key has this many).
        #[arg(long, default_value_t = 1000)]
        max_ops_per_key: usize,
        /// Seconds before a request counts as indeterminate (routers give up after ~10 s).
        #[arg(long, default_value_t = 15)]
        request_timeout_secs: u64,
    },
    /// Checks a history: per-key linearizability and lost acknowledged writes.
    Check {
        history: PathBuf,
        /// Print the summary as one JSON line too.
        #[arg(long)]
        json: bool,
        /// Fail unless at least this many operations succeeded.
        #[arg(long, default_value_t = 1)]
        min_ok: usize,
        /// Fail unless some operation succeeded this many seconds after the workload began
        /// (so the history spans the fault and its healing).
        #[arg(long)]
        require_ok_after_secs: Option<f64>,
    },
}

fn check(path: &PathBuf, json: bool, min_ok: usize, ok_after: Option<f64>) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let events = history::parse(&text)?;
    let report = checker::check(&events)?;
    let avail = availability(&events);
    let bad: Vec<&String> = report
        .keys
        .iter()
        .filter(|(_, k)| !k.linearizable)
        .map(|(name, _)| name)
        .collect();
    println!(
        "ops: {} ok, {} failed, {} indeterminate on {} keys; longest time without a successful op: {:.2}s",
        report.ok,
        report.failed,
        report.indeterminate,
        report.keys.len(),
        avail.longest_gap_secs
    );
    for (name, k) in &report.keys {
        if !k.linearizable {
            println!("NOT LINEARIZABLE: key {name} ({} operations)", k.ops);
        }
        if !k.lost.is_empty() {
            println!("LOST acknowledged writes on key {name}: {:?}", k.lost);
        }
    }
    println!(
        "{} violations, {} lost acknowledged writes{}",
        report.violations(),
        report.lost(),
        if bad.is_empty() {
            String::new()
        } else {
            format!(" (keys {bad:?})")
        }
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "ok": report.ok,
                "failed": report.failed,
                "indeterminate": report.indeterminate,
                "keys": report.keys.len(),
                "violations": report.violations(),
                "lost": report.lost(),
                "longest_gap_secs": avail.longest_gap_secs,
            })
        );
    }
    let mut covered = true;
    if report.ok < min_ok {
        println!("TOO FEW successful operations: {} < {min_ok}", report.ok);
        covered = false;
    }
    if let Some(after) = ok_after {
        let last_ok = events
            .iter()
            .filter(|e| e.kind == history::EventType::Ok)
            .map(|e| e.time)
            .max()
            .unwrap_or(0) as f64
            / 1e9;
        if last_ok < after {
            println!("NO successful operation after {after:.1}s (the last at {last_ok:.1}s): the run missed the fault");
            covered = false;
        }
    }
    Ok(report.violations() == 0 && report.lost() == 0 && covered)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tessera_process::init_logging(false, "warn");
    let result = match cli.command {
        Command::Check {
            history,
            json,
            min_ok,
            require_ok_after_secs,
        } => check(&history, json, min_ok, require_ok_after_secs),
        Command::Workload {
            endpoints,
            history,
            table,
            create_table,
            keys,
            concurrency,
            duration_secs,
            max_ops_per_key,
            request_timeout_secs,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
            match runtime {
                Err(e) => Err(e.to_string()),
                Ok(rt) => rt
                    .block_on(run(WorkloadConfig {
                        endpoints,
                        table,
                        create_table,
                        keys,
                        concurrency,
                        duration: Duration::from_secs(duration_secs),
                        max_ops_per_key,
                        request_timeout: Duration::from_secs(request_timeout_secs),
                        history: history.clone(),
                    }))
                    .map(|s| {
                        println!(
                            "workload: {} ok, {} failed, {} indeterminate; history in {}",
                            s.ok,
                            s.failed,
                            s.indeterminate,
                            history.display()
                        );
                        true
                    }),
            }
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tessera-chaos: {e}");
            ExitCode::from(2)
        }
    }
}
