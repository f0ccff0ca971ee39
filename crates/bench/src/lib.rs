//! # tessera-bench
//!
//! A YCSB-style load generator for any DynamoDB endpoint: `tessera local`, the cluster's
//! routers, DAX nodes, or another DynamoDB implementation. `tessera bench` is its command.
//!
//! A run has three phases: the table is created if missing; the records are loaded
//! (BatchWriteItem, 25 at a time); then `concurrency` workers, each with its own keep-alive
//! connection (spread over the endpoints), issue the workload's operations back to back for a
//! duration or an operation count. Every request is SigV4-signed. Latencies go into HDR
//! histograms per operation; operations started during the warm-up are not counted.
//!
//! ## Layout
//! - `keys`: uniform, scrambled zipfian and latest key choosers (YCSB's distributions).
//! - `workload`: workloads A-F, put, get, noop; record layout and request bodies.
//! - `conn`: one signed HTTP/1.1 connection.
//! - `report`: histograms, the table and the JSON report.

pub mod conn;
pub mod keys;
pub mod report;
pub mod workload;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use conn::{Connection, Endpoint, Signer};
use keys::{KeyChooser, KeyDistribution};
use report::Tally;
pub use report::{LoadStats, OpStats, Report};
use workload::Requests;
pub use workload::{OpKind, Workload};

/// Items per BatchWriteItem while loading (DynamoDB's limit).
const LOAD_BATCH_ITEMS: u64 = 25;
/// Loading connections at most.
const LOAD_CONNECTIONS_MAX: usize = 32;
/// Attempts at a load batch whose items keep coming back unprocessed.
const LOAD_ATTEMPTS_MAX: u32 = 30;
/// How long a new table may take to become ACTIVE.
const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// `http://host:port` endpoints; connection i goes to endpoint i mod n.
    pub endpoints: Vec<String>,
    pub workload: Workload,
    /// None: the workload's own (YCSB's defaults).
    pub distribution: Option<KeyDistribution>,
    pub table: String,
    pub records: u64,
    pub fields: usize,
    pub field_bytes: usize,
    /// Records per partition key (workload E's ranges stay inside one partition).
    pub rows_per_partition: u64,
    pub concurrency: usize,
    pub duration: Duration,
    /// Stop after this many operations instead of after `duration`.
    pub operations: Option<u64>,
    pub warmup: Duration,
    /// Load the records before the run (skip when the table already holds them).
    pub load: bool,
    pub consistent_read: bool,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub seed: u64,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            endpoints: vec!["http://127.0.0.1:8000".into()],
            workload: Workload::A,
            distribution: None,
            table: "tessera-bench".into(),
            records: 10_000,
            fields: 10,
            field_bytes: 100,
            rows_per_partition: 10,
            concurrency: 64,
            duration: Duration::from_secs(10),
            operations: None,
            warmup: Duration::from_secs(1),
            load: true,
            consistent_read: false,
            access_key: "tessera-bench".into(),
            secret_key: "tessera-bench".into(),
            region: "us-east-1".into(),
            seed: 42,
            progress: false,
        }
    }
}

impl BenchConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.endpoints.is_empty() {
            return Err("at least one endpoint is needed".into());
        }
        for e in &self.endpoints {
            Endpoint::parse(e)?;
        }
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        if self.records == 0 {
            return Err("records must be at least 1".into());
        }
        if self.fields == 0 {
            return Err("fields must be at least 1".into());
        }
        if self.operations.is_none() && self.duration.is_zero() {
            return Err("give a duration or an operation count".into());
        }
        Ok(())
    }
}

/// Runs the benchmark and returns its report.
pub async fn run(config: &BenchConfig) -> Result<Report, String> {
    config.validate()?;
    let endpoints = config
        .endpoints
        .iter()
        .map(|e| Endpoint::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    let signer = Signer::new(&config.access_key, &config.secret_key, &config.region);
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let requests = Arc::new(Requests::new(
        &mut rng,
        &config.table,
        config.fields,
        config.field_bytes,
        config.rows_per_partition,
        config.consistent_read,
    ));
    let distribution = config
        .distribution
        .unwrap_or_else(|| config.workload.default_distribution());
    let mut setup = Connection::new(endpoints[0].clone(), signer.clone());
    let mut load = None;
    if config.workload != Workload::Noop {
        ensure_table(&mut setup, &requests).await?;
        if config.load && config.workload.needs_records() {
            load = Some(load_records(config, &endpoints, &signer, &requests).await?);
        }
    }
    let (tally, seconds) = run_workload(config, &endpoints, &signer, &requests, distribution).await?;
    let record_bytes = serde_json::to_vec(&requests.item(&mut rng, 0)).map_or(0, |b| b.len());
    Ok(Report::build(
        config.workload.to_string(),
        config.workload.describe(),
        distribution.to_string(),
        config.endpoints.clone(),
        config.table.clone(),
        config.records,
        record_bytes,
        config.concurrency,
        config.consistent_read,
        load,
        seconds,
        &tally,
    ))
}

/// Creates the table unless it exists (with our key schema), and waits until it is ACTIVE.
async fn ensure_table(conn: &mut Connection, requests: &Requests) -> Result<(), String> {
    let describe = json!({"TableName": requests.table});
    let body = serde_json::to_vec(&describe).map_err(|e| e.to_string())?;
    let reply = conn.call("DescribeTable", body).await?;
    if reply.status == 200 {
        let table: Value = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
        let schema = &table["Table"]["KeySchema"];
        let names: Vec<&str> = schema
            .as_array()
            .map(|a| a.iter().filter_map(|k| k["AttributeName"].as_str()).collect())
            .unwrap_or_default();
        if names != ["pk", "sk"] {
            return Err(format!(
                "table {} exists with key schema {schema}; the bench needs pk (S, HASH) + sk (N, RANGE)",
                requests.table
            ));
        }
    } else if reply.error_type() == "ResourceNotFoundException" {
        conn.call_ok("CreateTable", &requests.create_table()).await?;
    } else {
        return Err(format!(
            "DescribeTable: {} {}",
            reply.error_type(),
            String::from_utf8_lossy(&reply.body)
        ));
    }
    let deadline = Instant::now() + TABLE_ACTIVE_WAIT;
    loop {
        let table = conn.call_ok("DescribeTable", &describe).await?;
        if table["Table"]["TableStatus"] == "ACTIVE" {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("table {} did not become ACTIVE", requests.table));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writes records `0..records` with BatchWriteItem, re-sending unprocessed items.
async fn load_records(
    config: &BenchConfig,
    endpoints: &[Endpoint],
    signer: &Signer,
    requests: &Arc<Requests>,
) -> Result<LoadStats, String> {
    let started = Instant::now();
    let cursor = Arc::new(AtomicU64::new(0));
    let bar = progress_bar(config.progress, config.records, "load");
    let mut workers = Vec::new();
    for i in 0..config.concurrency.min(LOAD_CONNECTIONS_MAX) {
        let mut conn = Connection::new(endpoints[i % endpoints.len()].clone(), signer.clone());
        let (cursor, requests, bar) = (cursor.clone(), requests.clone(), bar.clone());
        let records = config.records;
        let mut rng = SmallRng::seed_from_u64(config.seed.wrapping_add(1000 + i as u64));
        workers.push(tokio::spawn(async move {
            loop {
                let first = cursor.fetch_add(LOAD_BATCH_ITEMS, Ordering::Relaxed);
                if first >= records {
                    return Ok::<(), String>(());
                }
                let last = (first + LOAD_BATCH_ITEMS).min(records);
                let mut body = requests.batch_put(&mut rng, first..last);
                let mut backoff = Duration::from_millis(10);
                let mut written = false;
                for attempt in 1..=LOAD_ATTEMPTS_MAX {
                    match conn.call_ok("BatchWriteItem", &body).await {
                        Ok(answer) => {
                            let unprocessed = &answer["UnprocessedItems"];
                            if unprocessed.as_object().is_none_or(|m| m.is_empty()) {
                                written = true;
                                break;
                            }
                            body = json!({ "RequestItems": unprocessed.clone() });
                        }
                        // A batch of puts can be sent again (it writes the same records).
                        Err(e) if attempt < LOAD_ATTEMPTS_MAX => eprintln!("load: retrying after: {e}"),
                        Err(e) => return Err(e),
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
                if !written {
                    return Err("BatchWriteItem kept returning unprocessed items".into());
                }
                bar.inc(last - first);
            }
        }));
    }
    for w in workers {
        w.await.map_err(|e| format!("load worker: {e}"))??;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    Ok(LoadStats {
        records: config.records,
        seconds,
        records_per_sec: config.records as f64 / seconds.max(1e-9),
    })
}

fn progress_bar(enabled: bool, length: u64, what: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    let template = format!("{what} {{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

struct Shared {
    stop: AtomicBool,
    /// Operations left when running for a count (i64::MAX otherwise).
    budget: AtomicI64,
    /// Records that exist (grows with inserts).
    count: AtomicU64,
    done: AtomicU64,
}

async fn run_workload(
    config: &BenchConfig,
    endpoints: &[Endpoint],
    signer: &Signer,
    requests: &Arc<Requests>,
    distribution: KeyDistribution,
) -> Result<(Tally, f64), String> {
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        budget: AtomicI64::new(config.operations.map_or(i64::MAX, |n| n.min(i64::MAX as u64) as i64)),
        count: AtomicU64::new(config.records),
        done: AtomicU64::new(0),
    });
    let chooser = Arc::new(KeyChooser::new(distribution, config.records)?);
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let mut workers = Vec::new();
    for i in 0..config.concurrency {
        let conn = Connection::new(endpoints[i % endpoints.len()].clone(), signer.clone());
        let worker = Worker {
            conn,
            rng: SmallRng::seed_from_u64(config.seed.wrapping_add(i as u64)),
            requests: requests.clone(),
            chooser: chooser.clone(),
            shared: shared.clone(),
            workload: config.workload,
            records: config.records,
            scan_max: config.rows_per_partition.max(1),
            measure_from,
        };
        workers.push(tokio::spawn(worker.run()));
    }
    let length = match config.operations {
        Some(n) => n,
        None => (config.warmup + config.duration).as_secs().max(1),
    };
    let bar = progress_bar(config.progress, length, "run");
    let deadline = config.operations.is_none().then(|| measure_from + config.duration);
    let mut last = (Instant::now(), 0u64);
    loop {
        let finished = workers.iter().all(|w| w.is_finished());
        if finished || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let done = shared.done.load(Ordering::Relaxed);
        let now = Instant::now();
        let rate = (done - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-9);
        last = (now, done);
        match config.operations {
            Some(_) => bar.set_position(done),
            None => bar.set_position(start.elapsed().as_secs()),
        }
        bar.set_message(format!("{done} ops, {rate:.0}/s"));
    }
    shared.stop.store(true, Ordering::Relaxed);
    let ended = Instant::now();
    let mut tally = Tally::default();
    for w in workers {
        let t = w.await.map_err(|e| format!("worker: {e}"))?;
        tally.merge(&t);
    }
    bar.finish_and_clear();
    let end = match deadline {
        Some(d) => d.min(ended),
        None => Instant::now(),
    };
    Ok((tally, end.saturating_duration_since(measure_from).as_secs_f64()))
}

struct Worker {
    conn: Connection,
    rng: SmallRng,
    requests: Arc<Requests>,
    chooser: Arc<KeyChooser>,
    shared: Arc<Shared>,
    workload: Workload,
    records: u64,
    scan_max: u64,
    measure_from: Instant,
}

impl Worker {
    async fn run(mut self) -> Tally {
        let mut tally = Tally::default();
        while !self.shared.stop.load(Ordering::Relaxed) {
            if self.shared.budget.fetch_sub(1, Ordering::Relaxed) <= 0 {
                break;
            }
            let op = self.workload.pick(&mut self.rng);
            let started = Instant::now();
            let outcome = self.operation(op).await;
            if started >= self.measure_from {
                match outcome {
                    Ok(()) => tally.record(op, started.elapsed()),
                    Err(kind) => tally.error(op, kind),
                }
            }
            self.shared.done.fetch_add(1, Ordering::Relaxed);
        }
        tally
    }

    async fn call(&mut self, operation: &str, body: &Value) -> Result<(), String> {
        let bytes = serde_json::to_vec(body).map_err(|_| "encoding".to_string())?;
        match self.conn.call(operation, bytes).await {
            Ok(reply) if reply.status == 200 => Ok(()),
            Ok(reply) => Err(reply.error_type()),
            Err(_) => Err("connection error".into()),
        }
    }

    async fn operation(&mut self, op: OpKind) -> Result<(), String> {
        let count = self.shared.count.load(Ordering::Relaxed);
        match op {
            OpKind::Read => {
                let k = self.chooser.next(&mut self.rng, count);
                let body = self.requests.get_item(k);
                self.call("GetItem", &body).await
            }
            OpKind::Update => {
                let k = self.chooser.next(&mut self.rng, count);
                let body = self.requests.update_item(&mut self.rng, k);
                self.call("UpdateItem", &body).await
            }
            OpKind::Insert => {
                let k = self.shared.count.fetch_add(1, Ordering::Relaxed);
                let body = self.requests.put_item(&mut self.rng, k);
                self.call("PutItem", &body).await
            }
            OpKind::Scan => {
                let k = self.chooser.next(&mut self.rng, count);
                let len = self.rng.random_range(1..=self.scan_max);
                let body = self.requests.query(k, len);
                self.call("Query", &body).await
            }
            OpKind::ReadModifyWrite => {
                let k = self.chooser.next(&mut self.rng, count);
                let body = self.requests.get_item(k);
                self.call("GetItem", &body).await?;
                let body = self.requests.update_item(&mut self.rng, k);
                self.call("UpdateItem", &body).await
            }
            OpKind::Put => {
                let k = self.rng.random_range(0..self.records.max(1));
                let body = self.requests.put_item(&mut self.rng, k);
                self.call("PutItem", &body).await
            }
            OpKind::Noop => self.call("DescribeLimits", &json!({})).await,
        }
    }
}
