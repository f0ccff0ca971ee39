//! # tessera-process
//!
//! Process plumbing shared by `tessera`, `tessera-node` and `tessera-router`: logs on stderr
//! (human or JSON, filtered by `RUST_LOG`), a multi-threaded tokio runtime (worker threads set by
//! `TESSERA_WORKER_THREADS`), the global allocator (mimalloc), and a future that resolves on
//! SIGTERM or Ctrl-C. Keeping it here keeps the binaries thin and alike.

use std::future::Future;
use std::process::ExitCode;

// Every binary allocates through mimalloc: glibc's malloc spent a fifth of a storage node's CPU
// (bin consolidation, page clearing on mmap'd chunks) under write load. Built without
// transparent huge pages: they took idle memory from 10 to 48 MB and cleared 2 MB pages on faults.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Initialises logging on stderr; `default_filter` applies when `RUST_LOG` is unset.
pub fn init_logging(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    // Colours only for a terminal (logs piped to files or `docker logs` stay plain), and never
    // with NO_COLOR set.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Environment variable: the runtime's worker threads (default: one per core). Processes
/// sharing a machine (scripts/cluster runs 11 on one) spend less CPU handing tasks between
/// threads with one each.
pub const WORKER_THREADS_ENV: &str = "TESSERA_WORKER_THREADS";

/// Runs `main` on a multi-threaded runtime; an error is printed as `NAME: error` and exits 1.
pub fn run_main<F>(name: &str, main: F) -> ExitCode
where
    F: Future<Output = Result<(), String>>,
{
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(raw) = std::env::var_os(WORKER_THREADS_ENV) {
        match raw
            .to_str()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
        {
            Some(n) => {
                builder.worker_threads(n);
            }
            None => {
                eprintln!("{name}: {WORKER_THREADS_ENV} must be a positive integer, not {raw:?}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C: the signal for a clean shutdown.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
