//! Group commit: writers apply to sled, then wait here until a flush that started after their
//! write has made it durable. One flush serves every writer that queued before it began, so
//! fsyncs are shared across concurrent requests and across Raft groups.
//!
//! Flushes run on a thread of their own, at most one per [`FLUSH_INTERVAL_MIN`]: a sled flush
//! costs far more CPU than its fsync (it hands the write to sled's I/O threads and wakes every
//! idle one), so when writers keep coming, letting them gather for a moment turns many small
//! flushes into one. An idle store flushes at once.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use tessera_model::{Error, Result};

/// Waiters a flush batch can gather before the queue pushes back on writers.
const FLUSH_QUEUE_CAPACITY: usize = 4096;
/// Shortest time between the starts of two flushes.
pub const FLUSH_INTERVAL_MIN: Duration = Duration::from_micros(1000);

type Waiter = oneshot::Sender<Result<()>>;

pub struct Flusher {
    /// False for in-memory stores: nothing to make durable.
    durable: bool,
    queue: Option<mpsc::Sender<Waiter>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Flusher {
    /// Starts the flush thread.
    pub fn start(db: sled::Db) -> Flusher {
        let (tx, rx) = mpsc::channel::<Waiter>(FLUSH_QUEUE_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("tessera-flush".into())
            .spawn(move || flush_loop(db, rx));
        match thread {
            Ok(thread) => Flusher {
                durable: true,
                queue: Some(tx),
                thread: Some(thread),
            },
            Err(e) => {
                // Without the thread every flush fails loudly rather than pretending.
                tracing::error!(error = %e, "cannot start the flush thread");
                Flusher {
                    durable: true,
                    queue: None,
                    thread: None,
                }
            }
        }
    }

    /// A flusher for in-memory stores: nothing to make durable.
    pub fn disabled() -> Flusher {
        Flusher {
            durable: false,
            queue: None,
            thread: None,
        }
    }

    /// Stops the flush thread once queued flushes are done; it releases its handle on the
    /// database, so the directory can be opened again.
    pub async fn stop(mut self) {
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Returns once everything written before this call is durable.
    pub async fn flush(&self) -> Result<()> {
        let Some(queue) = &self.queue else {
            return if self.durable {
                Err(Error::internal("the flush thread is not running"))
            } else {
                Ok(())
            };
        };
        let (tx, rx) = oneshot::channel();
        queue.send(tx).await.map_err(|_| Error::internal("flusher stopped"))?;
        rx.await.map_err(|_| Error::internal("flusher stopped"))?
    }
}

fn flush_loop(db: sled::Db, mut rx: mpsc::Receiver<Waiter>) {
    let mut last_start: Option<Instant> = None;
    while let Some(first) = rx.blocking_recv() {
        if let Some(wait) = last_start.and_then(|t| FLUSH_INTERVAL_MIN.checked_sub(t.elapsed())) {
            std::thread::sleep(wait);
        }
        let mut waiters = vec![first];
        while let Ok(w) = rx.try_recv() {
            waiters.push(w);
        }
        last_start = Some(Instant::now());
        let result = db
            .flush()
            .map(|_| ())
            .map_err(|e| Error::internal(format!("flush failed: {e}")));
        if let Err(e) = &result {
            tracing::error!(error = %e.message, "sled flush failed");
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
}
