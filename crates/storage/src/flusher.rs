//! Group commit: writers apply to sled, then wait here until a flush that started after their
//! write has made it durable. One flush serves every writer that queued before it began, so
//! fsyncs are shared across concurrent requests (and, later, across Raft groups).

use tokio::sync::{mpsc, oneshot};

use tessera_model::{Error, Result};

/// Waiters a flush batch can gather before the queue pushes back on writers.
const FLUSH_QUEUE_CAPACITY: usize = 4096;

pub struct Flusher {
    queue: Option<mpsc::Sender<oneshot::Sender<Result<()>>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Flusher {
    /// Starts the flush task on the current tokio runtime.
    pub fn start(db: sled::Db) -> Flusher {
        let (tx, mut rx) = mpsc::channel::<oneshot::Sender<Result<()>>>(FLUSH_QUEUE_CAPACITY);
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiters = vec![first];
                while let Ok(w) = rx.try_recv() {
                    waiters.push(w);
                }
                // A blocking flush on the blocking pool: sled's own `flush_async` hands work to
                // sled's thread pool, which keeps the database open after its last handle.
                let db = db.clone();
                let result = tokio::task::spawn_blocking(move || db.flush())
                    .await
                    .map_err(|e| Error::internal(format!("flush task failed: {e}")))
                    .and_then(|r| r.map(|_| ()).map_err(|e| Error::internal(format!("flush failed: {e}"))));
                if let Err(e) = &result {
                    tracing::error!(error = %e.message, "sled flush failed");
                }
                for w in waiters {
                    let _ = w.send(result.clone());
                }
            }
        });
        Flusher {
            queue: Some(tx),
            task: Some(task),
        }
    }

    /// A flusher for in-memory stores: nothing to make durable.
    pub fn disabled() -> Flusher {
        Flusher {
            queue: None,
            task: None,
        }
    }

    /// Stops the flush task once queued flushes are done; it releases its handle on the
    /// database, so the directory can be opened again.
    pub async fn stop(mut self) {
        self.queue = None;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Returns once everything written before this call is durable.
    pub async fn flush(&self) -> Result<()> {
        let Some(queue) = &self.queue else { return Ok(()) };
        let (tx, rx) = oneshot::channel();
        queue.send(tx).await.map_err(|_| Error::internal("flusher stopped"))?;
        rx.await.map_err(|_| Error::internal("flusher stopped"))?
    }
}
