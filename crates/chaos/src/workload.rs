//! The workload: concurrent strongly consistent reads, puts and conditional puts on a set of
//! keys through the routers, recorded as a history (see `history`). Requests go to the
//! endpoints in turn. A write that timed out, lost its connection or got a 500 is recorded as
//! `info` (it may or may not have happened); a write answered 503 as `fail`, since our services
//! answer 503 only when it certainly was not applied (so the checker verifies that promise);
//! a failed read is a `fail` (it changed nothing). At the end every key is read once more
//! (retried until it answers), so a lost acknowledged write shows up in the history.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tessera_api::client::Client;
use tessera_model::{Error, ErrorKind};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::history::{Event, EventType, Function};

pub struct WorkloadConfig {
    pub endpoints: Vec<String>,
    pub table: String,
    pub create_table: bool,
    pub keys: usize,
    pub concurrency: usize,
    pub duration: Duration,
    pub max_ops_per_key: usize,
    pub request_timeout: Duration,
    pub history: PathBuf,
}

#[derive(Debug, Default)]
pub struct WorkloadSummary {
    pub ok: u64,
    pub failed: u64,
    pub indeterminate: u64,
}

struct Shared {
    clients: Vec<Client>,
    next_client: AtomicUsize,
    next_value: AtomicU64,
    next_process: AtomicU64,
    ops_per_key: Vec<AtomicUsize>,
    config: WorkloadConfig,
    start: Instant,
    events: mpsc::UnboundedSender<Event>,
    ok: AtomicU64,
    failed: AtomicU64,
    indeterminate: AtomicU64,
}

enum Outcome {
    Ok(Option<u64>),
    Fail(String),
    Info(String),
}

fn key_name(i: usize) -> String {
    format!("k{i:04}")
}

impl Shared {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn client(&self) -> &Client {
        let i = self.next_client.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        &self.clients[i]
    }

    /// Sends `base` as an event of `kind` stamped now, with the value and error given.
    fn record(&self, base: &Event, kind: EventType, value: Option<u64>, error: Option<String>) {
        let _ = self.events.send(Event {
            kind,
            value,
            error,
            time: self.now(),
            ..base.clone()
        });
    }

    async fn execute(&self, f: Function, key: &str, value: Option<u64>, expected: Option<u64>) -> Outcome {
        // A failed read changed nothing; a write answered 503 was certainly not applied (our
        // services' contract, which the checker thereby verifies); a write answered 500 or cut
        // off by a timeout may or may not have been applied.
        let classify = |e: Error| match e.kind {
            ErrorKind::ConditionalCheckFailed => Outcome::Fail("ConditionalCheckFailed".into()),
            _ if f == Function::Read => Outcome::Fail(format!("{:?}: {}", e.kind, e.message)),
            ErrorKind::InternalServerError => Outcome::Info(e.message),
            kind => Outcome::Fail(format!("{kind:?}: {}", e.message)),
        };
        let table = &self.config.table;
        let result = match f {
            Function::Read => {
                let req = json!({"TableName": table, "Key": {"pk": {"S": key}}, "ConsistentRead": true});
                self.client().call_json("GetItem", &req).await.map(|v| {
                    Some(
                        v["Item"]["v"]["N"]
                            .as_str()
                            .and_then(|n| n.parse::<u64>().ok())
                            .unwrap_or(0),
                    )
                })
            }
            Function::Write | Function::Cas => {
                let v = value.unwrap_or(0);
                let mut req = json!({"TableName": table, "Item": {"pk": {"S": key}, "v": {"N": v.to_string()}}});
                if f == Function::Cas {
                    match expected.unwrap_or(0) {
                        0 => req["ConditionExpression"] = json!("attribute_not_exists(pk)"),
                        e => {
                            req["ConditionExpression"] = json!("v = :e");
                            req["ExpressionAttributeValues"] = json!({":e": {"N": e.to_string()}});
                        }
                    }
                }
                self.client().call_json("PutItem", &req).await.map(|_| None)
            }
        };
        match result {
            Ok(v) => Outcome::Ok(v),
            Err(e) => classify(e),
        }
    }

    /// One operation, recorded; returns false when the process must be retired (`info`).
    async fn operation(
        &self,
        process: u64,
        f: Function,
        key: &str,
        value: Option<u64>,
        expected: Option<u64>,
    ) -> (bool, Option<u64>) {
        let base = Event {
            process,
            kind: EventType::Invoke,
            f,
            key: key.to_string(),
            value,
            expected,
            time: 0,
            error: None,
        };
        self.record(&base, EventType::Invoke, value, None);
        match self.execute(f, key, value, expected).await {
            Outcome::Ok(read) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                self.record(&base, EventType::Ok, read.or(value), None);
                (true, if f == Function::Read { read } else { value })
            }
            Outcome::Fail(error) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.record(&base, EventType::Fail, value, Some(error));
                (true, None)
            }
            Outcome::Info(error) => {
                self.indeterminate.fetch_add(1, Ordering::Relaxed);
                self.record(&base, EventType::Info, value, Some(error));
                (false, None)
            }
        }
    }
}

async fn worker(shared: Arc<Shared>, deadline: Instant) {
    let mut process = shared.next_process.fetch_add(1, Ordering::Relaxed);
    let mut known: BTreeMap<usize, u64> = BTreeMap::new();
    let keys = shared.config.keys;
    while Instant::now() < deadline {
        // A key that still has room in its history.
        let mut k = fastrand::usize(..keys);
        let mut tries = 0;
        while shared.ops_per_key[k].load(Ordering::Relaxed) >= shared.config.max_ops_per_key {
            k = (k + 1) % keys;
            tries += 1;
            if tries >= keys {
                return;
            }
        }
        shared.ops_per_key[k].fetch_add(1, Ordering::Relaxed);
        let key = key_name(k);
        let (f, value, expected) = match fastrand::u8(..4) {
            0 | 1 => (Function::Read, None, None),
            2 => (
                Function::Write,
                Some(shared.next_value.fetch_add(1, Ordering::Relaxed)),
                None,
            ),
            _ => (
                Function::Cas,
                Some(shared.next_value.fetch_add(1, Ordering::Relaxed)),
                Some(known.get(&k).copied().unwrap_or(0)),
            ),
        };
        let (alive, now_known) = shared.operation(process, f, &key, value, expected).await;
        if let Some(v) = now_known {
            known.insert(k, v);
        }
        if !alive {
            // Jepsen's rule: a process with an operation of unknown outcome is never reused.
            process = shared.next_process.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn create_table(client: &Client, table: &str) -> Result<(), String> {
    let req = json!({
        "TableName": table,
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    match client.call_json("CreateTable", &req).await {
        Ok(_) => {}
        Err(e) if e.kind == ErrorKind::ResourceInUse => {}
        Err(e) => return Err(format!("CreateTable: {:?}: {}", e.kind, e.message)),
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v: Result<Value, Error> = client.call_json("DescribeTable", &json!({"TableName": table})).await;
        if let Ok(v) = v {
            if v["Table"]["TableStatus"] == "ACTIVE" {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("table {table} not ACTIVE within 60 s"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the workload, writes the history, returns the counts.
pub async fn run(config: WorkloadConfig) -> Result<WorkloadSummary, String> {
    if config.endpoints.is_empty() || config.keys == 0 || config.concurrency == 0 {
        return Err("need at least one endpoint, one key and one worker".into());
    }
    let clients: Vec<Client> = config
        .endpoints
        .iter()
        .map(|e| Client::new(vec![e.clone()], config.request_timeout))
        .collect();
    if config.create_table {
        let setup =
            Client::new(config.endpoints.clone(), Duration::from_secs(15)).with_retry_budget(Duration::from_secs(60));
        create_table(&setup, &config.table).await?;
    }
    let file = tokio::fs::File::create(&config.history)
        .await
        .map_err(|e| format!("{}: {e}", config.history.display()))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let writer = tokio::spawn(async move {
        let mut out = tokio::io::BufWriter::new(file);
        while let Some(e) = rx.recv().await {
            let mut line = serde_json::to_vec(&e).map_err(|e| e.to_string())?;
            line.push(b'\n');
            out.write_all(&line).await.map_err(|e| e.to_string())?;
        }
        out.flush().await.map_err(|e| e.to_string())
    });
    let shared = Arc::new(Shared {
        clients,
        next_client: AtomicUsize::new(0),
        next_value: AtomicU64::new(1),
        next_process: AtomicU64::new(0),
        ops_per_key: (0..config.keys).map(|_| AtomicUsize::new(0)).collect(),
        start: Instant::now(),
        events: tx,
        ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        indeterminate: AtomicU64::new(0),
        config,
    });
    let deadline = Instant::now() + shared.config.duration;
    let workers: Vec<_> = (0..shared.config.concurrency)
        .map(|_| tokio::spawn(worker(shared.clone(), deadline)))
        .collect();
    for w in workers {
        let _ = w.await;
    }
    // Final reads: every key, until it answers (bounded), by processes of their own.
    let final_deadline = Instant::now() + Duration::from_secs(120);
    for k in 0..shared.config.keys {
        let key = key_name(k);
        loop {
            let process = shared.next_process.fetch_add(1, Ordering::Relaxed);
            let (alive, _) = shared.operation(process, Function::Read, &key, None, None).await;
            if alive || Instant::now() > final_deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let summary = WorkloadSummary {
        ok: shared.ok.load(Ordering::Relaxed),
        failed: shared.failed.load(Ordering::Relaxed),
        indeterminate: shared.indeterminate.load(Ordering::Relaxed),
    };
    drop(shared);
    writer.await.map_err(|e| e.to_string())??;
    Ok(summary)
}
