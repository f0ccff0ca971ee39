//! What a DAX node does with each operation (the `tessera_api::Backend` behind its HTTP API):
//!
//! - GetItem / BatchGetItem (eventually consistent): the item cache; a miss reads the full item
//!   through a router, caches it (or a negative entry), then applies the projection.
//! - Query / Scan (eventually consistent): the query cache, keyed by the whole request.
//! - ConsistentRead reads: through to a router, never cached.
//! - PutItem / UpdateItem / DeleteItem / BatchWriteItem: on the primary, the write goes to a
//!   router and, once storage acknowledged it, its cache update goes through the DAX group's
//!   log (so every node applies it, in the same order) before the reply. A replica forwards
//!   the raw request to the primary and waits until it has applied as much of the log as the
//!   primary had, so a client reading its own write from that replica sees it too.
//! - Everything else (control plane, transactions, PartiQL): passed through to a router as is.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use tessera_api::client::{Client, RawReply};
use tessera_api::Backend;
use tessera_expr::{project, Context};
use tessera_model::key::encode_key_value;
use tessera_model::ops::{
    DeleteItem, GetItem, Page, Placeholders, PutItem, Query, ReturnValues, Scan, UpdateItem, WriteOutput, WriteRequest,
};
use tessera_model::table::TableMeta;
use tessera_model::{Error, ErrorKind, Item, Result};
use tokio::sync::watch;

use crate::cache::{Cache, ItemLookup};
use crate::raft::{CacheUpdate, DaxRaft, Peers, Updates};

/// How long table metadata (key schemas, for validating requests here) is trusted.
const TABLE_META_TTL: Duration = Duration::from_secs(2);
/// How long a write waits for the group to apply its cache update, and a replica for its log
/// to catch up with the primary's.
const APPLY_WAIT: Duration = Duration::from_secs(2);
/// How long an operation that needs the primary waits for one to be elected.
const PRIMARY_WAIT: Duration = Duration::from_secs(5);
const KEY_LOCKS: usize = 1024;

/// Operations counted on `/metrics`, in DAX's metric names.
pub const COUNTED_OPS: &[&str] = &[
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
];

pub struct DaxBackend {
    pub node_id: u64,
    pub cache: Arc<Cache>,
    pub raft: DaxRaft,
    /// The routers (storage), with failover between them.
    pub upstream: Client,
    /// For forwarding to the primary's API endpoint (endpoints named per call).
    pub direct: Client,
    pub peers: Arc<Peers>,
    pub applied: watch::Receiver<u64>,
    tables: Mutex<HashMap<String, (TableMeta, Instant)>>,
    /// Serialises the storage write and the cache update of one key on the primary, so the
    /// cache sees writes to a key in the order storage applied them.
    key_locks: Vec<tokio::sync::Mutex<()>>,
    pub requests: Vec<AtomicU64>,
    pub other_requests: AtomicU64,
    pub forwarded_writes: AtomicU64,
}

fn is_write(operation: &str) -> bool {
    matches!(operation, "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem")
}

fn is_cached_read(operation: &str) -> bool {
    matches!(operation, "GetItem" | "BatchGetItem" | "Query" | "Scan")
}

/// A failure whose outcome is unknown (the write may have been applied).
fn uncertain(e: &Error) -> bool {
    matches!(e.kind, ErrorKind::InternalServerError | ErrorKind::ServiceUnavailable)
}

impl DaxBackend {
    pub fn new(
        node_id: u64,
        cache: Arc<Cache>,
        raft: DaxRaft,
        upstream: Client,
        peers: Arc<Peers>,
        applied: watch::Receiver<u64>,
    ) -> DaxBackend {
        DaxBackend {
            node_id,
            cache,
            raft,
            upstream,
            direct: Client::new(Vec::new(), Duration::from_secs(30)),
            peers,
            applied,
            tables: Mutex::new(HashMap::new()),
            key_locks: (0..KEY_LOCKS).map(|_| tokio::sync::Mutex::new(())).collect(),
            requests: COUNTED_OPS.iter().map(|_| AtomicU64::new(0)).collect(),
            other_requests: AtomicU64::new(0),
            forwarded_writes: AtomicU64::new(0),
        }
    }

    /// The item cache's key: table name and id (a recreated table never sees old entries)
    /// and the order-preserving encoding of the key values.
    fn item_key(table: &TableMeta, key: &Item) -> Result<Vec<u8>> {
        let pk = table.key_schema.key_from_map(key)?;
        Self::encoded_key(table, &pk)
    }

    fn encoded_key(table: &TableMeta, pk: &tessera_model::key::PrimaryKey) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(table.name.len() + 32);
        out.extend_from_slice(&(table.name.len() as u32).to_be_bytes());
        out.extend_from_slice(table.name.as_bytes());
        out.extend_from_slice(&table.id.to_be_bytes());
        encode_key_value(&pk.partition, &mut out);
        if let Some(sk) = &pk.sort {
            encode_key_value(sk, &mut out);
        }
        Ok(out)
    }

    fn write_key(table: &TableMeta, request: &WriteRequest) -> Result<Vec<u8>> {
        match request {
            WriteRequest::Put(item) => Self::encoded_key(table, &table.key_schema.item_key(item)?),
            WriteRequest::Delete(key) => Self::item_key(table, key),
        }
    }

    fn query_key(table: &TableMeta, kind: &str, op: &impl serde::Serialize) -> Result<Vec<u8>> {
        let mut out = kind.as_bytes().to_vec();
        out.extend_from_slice(&table.id.to_be_bytes());
        serde_json::to_writer(&mut out, op).map_err(|e| Error::internal(e.to_string()))?;
        Ok(out)
    }

    fn lock_index(key: &[u8]) -> usize {
        (xxhash_rust::xxh3::xxh3_64(key) % KEY_LOCKS as u64) as usize
    }

    pub fn is_primary(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.node_id)
    }

    /// The primary's id and node, waiting up to `wait` for an election.
    async fn primary(&self, wait: Duration) -> Option<(u64, crate::raft::DaxNode)> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut metrics = self.raft.metrics();
        loop {
            {
                let m = metrics.borrow_and_update();
                if let Some(leader) = m.current_leader {
                    if let Some(node) = m.membership_config.membership().get_node(&leader) {
                        return Some((leader, node.clone()));
                    }
                }
            }
            if tokio::time::timeout_at(deadline, metrics.changed()).await.is_err() {
                return None;
            }
        }
    }

    /// Puts a write's cache updates through the group's log, so every node applies them in
    /// the same order. As the primary, the images themselves (this node's per-key locks order
    /// them with its other writes of those keys). Otherwise (no longer the primary, or the
    /// proposal failed) only invalidations, at whichever node is primary now, retried while one
    /// is being elected: an image could race with the new primary's own writes of the same key.
    /// If even that fails, the keys are at least invalidated here; the write itself stands.
    async fn propose(&self, updates: Vec<CacheUpdate>) {
        if updates.is_empty() {
            return;
        }
        let keys: Vec<Vec<u8>> = updates
            .iter()
            .map(|u| match u {
                CacheUpdate::Set { key, .. } | CacheUpdate::Invalidate { key } => key.clone(),
            })
            .collect();
        if self.is_primary()
            && matches!(
                tokio::time::timeout(APPLY_WAIT, self.raft.client_write(Updates(updates))).await,
                Ok(Ok(_))
            )
        {
            return;
        }
        let invalidations: Vec<CacheUpdate> = keys
            .iter()
            .map(|key| CacheUpdate::Invalidate { key: key.clone() })
            .collect();
        let deadline = tokio::time::Instant::now() + PRIMARY_WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let done = match self.primary(left).await {
                Some((leader, _)) if leader == self.node_id => {
                    let write = self.raft.client_write(Updates(invalidations.clone()));
                    matches!(tokio::time::timeout(APPLY_WAIT, write).await, Ok(Ok(_)))
                }
                Some((_, node)) => self
                    .propose_remote(&node.cluster, invalidations.clone())
                    .await
                    .is_some(),
                None => false,
            };
            if done {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tracing::warn!(keys = keys.len(), "cache update not replicated; invalidating locally");
        // Newer than anything applied here, so no fill that began earlier can bring back an
        // image older than the write; the next update through the log replaces it.
        let version = *self.applied.borrow() + 1;
        for k in keys {
            self.cache.invalidate_item(&k, version);
        }
    }

    async fn propose_remote(&self, addr: &str, updates: Vec<CacheUpdate>) -> Option<u64> {
        let bytes = tessera_model::wire::encode(&Updates(updates)).ok()?;
        let mut client = self.peers.client(addr).ok()?;
        let mut request = tonic::Request::new(tessera_proto::dax::v1::ProposeRequest { updates: bytes });
        request.set_timeout(APPLY_WAIT);
        let reply = client.propose(request).await.ok()?.into_inner();
        let index = reply.index;
        (reply.error.is_empty()).then_some(index)?;
        self.wait_applied(index).await;
        Some(index)
    }

    /// Waits (bounded) until this node applied the group's log up to `index`.
    async fn wait_applied(&self, index: u64) {
        let mut applied = self.applied.clone();
        let _ = tokio::time::timeout(APPLY_WAIT, applied.wait_for(|a| *a >= index)).await;
    }

    /// A replica's write: relayed to the primary; then this node catches up with the log the
    /// primary had applied after it, so the writer's next read here sees its write.
    async fn forward_write(&self, operation: &str, body: &Bytes, authorization: &str) -> Result<RawReply> {
        let (_, primary) = self.primary(PRIMARY_WAIT).await.ok_or_else(|| {
            Error::new(
                ErrorKind::ServiceUnavailable,
                "No primary DAX node is available to accept writes; retry",
            )
        })?;
        self.forwarded_writes.fetch_add(1, Ordering::Relaxed);
        let endpoint = format!("http://{}", primary.api);
        let reply = self
            .direct
            .call_endpoint(&endpoint, operation, body.clone(), Some(authorization))
            .await
            .map_err(|e| {
                // Not sent at all: certainly not applied, so the client may retry it (503).
                let kind = if e.sent {
                    ErrorKind::InternalServerError
                } else {
                    ErrorKind::ServiceUnavailable
                };
                Error::new(kind, format!("primary DAX node: {}", e.message))
            })?;
        if reply.status == 200 {
            if let Ok(mut client) = self.peers.client(&primary.cluster) {
                let mut request = tonic::Request::new(tessera_proto::dax::v1::AppliedRequest {});
                request.set_timeout(APPLY_WAIT);
                if let Ok(r) = client.applied(request).await {
                    self.wait_applied(r.into_inner().index).await;
                }
            }
        }
        Ok(reply)
    }

    fn count(&self, operation: &str) {
        match COUNTED_OPS.iter().position(|o| *o == operation) {
            Some(i) => self.requests[i].fetch_add(1, Ordering::Relaxed),
            None => self.other_requests.fetch_add(1, Ordering::Relaxed),
        };
    }

    fn project(item: &Item, projection: &str, placeholders: &Placeholders) -> Result<Item> {
        let paths = Context::new(&placeholders.names, &placeholders.values)
            .trusted()
            .projection(projection)?;
        Ok(project(item, &paths))
    }

    async fn write_then_cache<T>(
        &self,
        keys: Vec<Vec<u8>>,
        write: impl std::future::Future<Output = Result<T>>,
        updates_on_success: impl FnOnce(&T) -> Vec<CacheUpdate>,
    ) -> Result<T> {
        let stripes: BTreeSet<usize> = keys.iter().map(|k| Self::lock_index(k)).collect();
        let mut guards = Vec::with_capacity(stripes.len());
        for s in stripes {
            guards.push(self.key_locks[s].lock().await);
        }
        let result = write.await;
        let updates = match &result {
            Ok(out) => updates_on_success(out),
            Err(e) if uncertain(e) => keys.into_iter().map(|key| CacheUpdate::Invalidate { key }).collect(),
            // Rejected (condition failed, validation): storage is unchanged, and so is the cache.
            Err(_) => Vec::new(),
        };
        self.propose(updates).await;
        drop(guards);
        result
    }
}

fn not_served(what: &str) -> Error {
    Error::internal(format!("{what} is passed through to storage by the DAX node"))
}

impl Backend for DaxBackend {
    async fn create_table(&self, _meta: TableMeta) -> Result<TableMeta> {
        Err(not_served("CreateTable"))
    }

    async fn describe_table(&self, name: &str) -> Result<Option<TableMeta>> {
        if let Ok(tables) = self.tables.lock() {
            if let Some((meta, at)) = tables.get(name) {
                if at.elapsed() < TABLE_META_TTL {
                    return Ok(Some(meta.clone()));
                }
            }
        }
        let meta = self.upstream.describe_table(name).await?;
        if let Ok(mut tables) = self.tables.lock() {
            match &meta {
                Some(m) => {
                    tables.insert(name.to_string(), (m.clone(), Instant::now()));
                }
                None => {
                    tables.remove(name);
                }
            }
        }
        Ok(meta)
    }

    async fn list_tables(&self) -> Result<Vec<String>> {
        Err(not_served("ListTables"))
    }

    async fn update_table(&self, _meta: TableMeta) -> Result<TableMeta> {
        Err(not_served("UpdateTable"))
    }

    async fn delete_table(&self, _name: &str) -> Result<TableMeta> {
        Err(not_served("DeleteTable"))
    }

    async fn put_item(&self, table: &TableMeta, op: PutItem) -> Result<WriteOutput> {
        let key = Self::encoded_key(table, &table.key_schema.item_key(&op.item)?)?;
        let update_key = key.clone();
        self.write_then_cache(vec![key], self.upstream.put_item(&op), |_| {
            vec![CacheUpdate::Set {
                key: update_key,
                item: Some(op.item.clone()),
            }]
        })
        .await
    }

    async fn update_item(&self, table: &TableMeta, mut op: UpdateItem) -> Result<WriteOutput> {
        let key = Self::item_key(table, &op.key)?;
        let update_key = key.clone();
        let wanted = op.options.return_values;
        // The new image is what the cache needs; ask for it unless the caller wants old values.
        let image_known = matches!(wanted, ReturnValues::None | ReturnValues::AllNew);
        if image_known {
            op.options.return_values = ReturnValues::AllNew;
        }
        let out = self
            .write_then_cache(vec![key], self.upstream.update_item(&op), |out: &WriteOutput| {
                vec![match (&out.attributes, image_known) {
                    (Some(item), true) => CacheUpdate::Set {
                        key: update_key,
                        item: Some(item.clone()),
                    },
                    _ => CacheUpdate::Invalidate { key: update_key },
                }]
            })
            .await?;
        Ok(if image_known && wanted == ReturnValues::None {
            WriteOutput::default()
        } else {
            out
        })
    }

    async fn delete_item(&self, table: &TableMeta, op: DeleteItem) -> Result<WriteOutput> {
        let key = Self::item_key(table, &op.key)?;
        let update_key = key.clone();
        self.write_then_cache(vec![key], self.upstream.delete_item(&op), |_| {
            vec![CacheUpdate::Set {
                key: update_key,
                item: None,
            }]
        })
        .await
    }

    async fn get_item(&self, table: &TableMeta, op: GetItem) -> Result<Option<Arc<Item>>> {
        if op.consistent {
            return Ok(self.upstream.get_item(&op).await?.map(Arc::new));
        }
        let key = Self::item_key(table, &op.key)?;
        let item = match self.cache.get_item(&key) {
            ItemLookup::Hit(item) => item,
            ItemLookup::Miss => {
                // Stamped with what was applied before the read: a write-through or
                // invalidation applied meanwhile is newer and wins over this fill. Misses read
                // storage strongly consistently, so a fill is never older than a write
                // acknowledged before the miss (eventual reads may lag by a heartbeat).
                let version = *self.applied.borrow();
                let full = GetItem {
                    projection: None,
                    placeholders: Placeholders::default(),
                    consistent: true,
                    ..op.clone()
                };
                let item = self.upstream.get_item(&full).await?;
                self.cache.fill_item(key, item.clone(), version);
                item.map(Arc::new)
            }
        };
        match op.projection.as_deref() {
            // A hit hands out the cached image itself.
            None => Ok(item),
            Some(p) => item
                .map(|i| Ok(Arc::new(Self::project(&i, p, &op.placeholders)?)))
                .transpose(),
        }
    }

    async fn query(&self, table: &TableMeta, op: Query) -> Result<Page> {
        if op.consistent {
            return self.upstream.query(&op).await;
        }
        let key = Self::query_key(table, "Q", &op)?;
        if let Some(page) = self.cache.get_query(&key, false) {
            return Ok((*page).clone());
        }
        // Misses read strongly consistently (see get_item); the cache key is the request as sent.
        let page = self.upstream.query(&Query { consistent: true, ..op }).await?;
        self.cache.put_query(key, page.clone());
        Ok(page)
    }

    async fn scan(&self, table: &TableMeta, op: Scan) -> Result<Page> {
        if op.consistent {
            return self.upstream.scan(&op).await;
        }
        let key = Self::query_key(table, "S", &op)?;
        if let Some(page) = self.cache.get_query(&key, true) {
            return Ok((*page).clone());
        }
        let page = self.upstream.scan(&Scan { consistent: true, ..op }).await?;
        self.cache.put_query(key, page.clone());
        Ok(page)
    }

    async fn batch_write(&self, table: &TableMeta, requests: Vec<WriteRequest>) -> Result<Vec<WriteRequest>> {
        let keys = requests
            .iter()
            .map(|r| Self::write_key(table, r))
            .collect::<Result<Vec<_>>>()?;
        let pairs: Vec<(Vec<u8>, WriteRequest)> = keys.iter().cloned().zip(requests.iter().cloned()).collect();
        self.write_then_cache(
            keys,
            self.upstream.batch_write(&table.name, &requests),
            |left: &Vec<WriteRequest>| {
                let unprocessed: BTreeSet<Vec<u8>> =
                    left.iter().filter_map(|r| Self::write_key(table, r).ok()).collect();
                pairs
                    .into_iter()
                    .filter(|(k, _)| !unprocessed.contains(k))
                    .map(|(key, r)| match r {
                        WriteRequest::Put(item) => CacheUpdate::Set { key, item: Some(item) },
                        WriteRequest::Delete(_) => CacheUpdate::Set { key, item: None },
                    })
                    .collect()
            },
        )
        .await
    }

    async fn passthrough(&self, operation: &str, body: &Bytes, authorization: &str) -> Option<Result<RawReply>> {
        self.count(operation);
        if is_cached_read(operation) {
            return None;
        }
        if is_write(operation) {
            if self.is_primary() {
                return None;
            }
            return Some(self.forward_write(operation, body, authorization).await);
        }
        // Control plane, transactions, anything else: storage answers, nothing is cached.
        Some(
            self.upstream
                .call(
                    operation,
                    body.clone(),
                    Some(authorization),
                    tessera_api::client::retry_of(operation),
                )
                .await,
        )
    }
}
