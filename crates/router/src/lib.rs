//! # tessera-router
//!
//! The DynamoDB HTTP API in front of a cluster, stateless apart from caches: the cluster state
//! (tables and shard map, refreshed from the metadata group) and each group's last known
//! leader. A key's partition hash picks its shard; writes and strongly consistent reads go to
//! the shard's leader, eventually consistent reads to a replica in the router's own AZ when
//! one answers. `NotLeader` hints redirect; other failures retry on other replicas with
//! backoff, within a time budget, after which the client gets a 500 (outcome unknown) or a
//! 503 (nothing was attempted).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tessera_api::Backend;
use tessera_expr::Context;
use tessera_model::key::partition_hash;
use tessera_model::ops::{DeleteItem, GetItem, Page, PutItem, Query, Scan, UpdateItem, WriteOutput, WriteRequest};
use tessera_model::table::TableMeta;
use tessera_model::{item_size, AttributeValue, Error, ErrorKind, Item, Result};
use tessera_proto::node::v1::{
    call_reply, call_request, cluster_state_reply, propose_reply, read_reply, ClusterStateRequest, Failure,
    FailureKind, ProposeReply, ProposeRequest, ReadReply, ReadRequest,
};
use tessera_replication::mux::CallError;
use tessera_replication::{
    ClusterState, Command, CommandResult, MetaCommand, MetaOutput, PeerPool, ReadOp, ReadResult, ShardInfo, TableState,
    META_GROUP,
};
use tessera_storage::{segment_range, RequestId, ShardCommand};

/// Backoff between attempts on the same group, doubling up to the maximum.
const BACKOFF_MIN: Duration = Duration::from_millis(25);
const BACKOFF_MAX: Duration = Duration::from_millis(400);
/// Marks a ResourceNotFound raised because the cached shard map no longer matches the cluster.
const STALE_MAP: &str = "stale shard map";

#[derive(Clone, Debug)]
pub struct RouterConfig {
    pub az: String,
    /// Seed nodes: id → gRPC address. The cluster state's node list supersedes them.
    pub nodes: BTreeMap<u64, String>,
    /// How long one request may spend finding a leader or a replica.
    pub retry_budget: Duration,
    /// Talk only to the seed nodes, never to nodes learned from the cluster state. Models a
    /// router whose network reaches only those nodes (partition tests).
    pub only_listed_nodes: bool,
}

enum Call {
    Propose(Vec<u8>),
    Read {
        payload: Vec<u8>,
        linearizable: bool,
        /// A query or scan page (up to a MB): it goes as a unary call, off the shared stream.
        large_reply: bool,
    },
    State,
}

enum Outcome {
    Ok(Vec<u8>),
    Failed(Failure),
    /// Transport failure: the node is down or unreachable.
    Unreachable,
    /// Certainly not sent (no address or channel for the node, no call stream could be
    /// opened to it, or excluded by configuration).
    NotSent,
}

pub struct ClusterBackend {
    config: RouterConfig,
    pool: Arc<PeerPool>,
    state: RwLock<Arc<ClusterState>>,
    leaders: RwLock<HashMap<u64, u64>>,
    /// Addresses of nodes learned from leader hints (a router may start knowing only a few
    /// nodes, none of them the metadata leader).
    learned: RwLock<HashMap<u64, String>>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("{e}"))
}

fn unknown_outcome() -> Error {
    Error::new(ErrorKind::InternalServerError, "Internal server error")
}

fn unavailable() -> Error {
    Error::new(
        ErrorKind::ServiceUnavailable,
        "The service is currently unavailable or busy; retry later",
    )
}

impl ClusterBackend {
    pub fn new(config: RouterConfig) -> Arc<ClusterBackend> {
        Arc::new(ClusterBackend {
            config,
            pool: PeerPool::new(0),
            state: RwLock::new(Arc::new(ClusterState::default())),
            leaders: RwLock::new(HashMap::new()),
            learned: RwLock::new(HashMap::new()),
        })
    }

    fn cached(&self) -> Arc<ClusterState> {
        self.state.read().map(|s| s.clone()).unwrap_or_default()
    }

    fn address(&self, node: u64) -> Option<String> {
        self.cached()
            .nodes
            .get(&node)
            .map(|n| n.addr.clone())
            .or_else(|| self.learned.read().ok().and_then(|l| l.get(&node).cloned()))
            .or_else(|| self.config.nodes.get(&node).cloned())
    }

    fn az_of(&self, node: u64) -> Option<String> {
        self.cached().nodes.get(&node).map(|n| n.az.clone())
    }

    fn leader_hint(&self, group: u64) -> Option<u64> {
        self.leaders.read().ok().and_then(|l| l.get(&group).copied())
    }

    fn remember_leader(&self, group: u64, node: u64) {
        if let Ok(mut l) = self.leaders.write() {
            l.insert(group, node);
        }
    }

    async fn send(&self, node: u64, group: u64, call: &Call) -> Outcome {
        if self.config.only_listed_nodes && !self.config.nodes.contains_key(&node) {
            return Outcome::NotSent;
        }
        let Some(addr) = self.address(node) else {
            return Outcome::NotSent;
        };
        // A little longer than a node waits for its quorum, so its own answer arrives first.
        let timeout = tessera_replication::QUORUM_WAIT + Duration::from_secs(1);
        match call {
            // Proposals and reads share the one stream of calls to the node (see `mux`).
            Call::Propose(command) => {
                let request = call_request::Call::Propose(ProposeRequest {
                    group_id: group,
                    command: command.clone(),
                });
                match self.pool.call(&addr, request, timeout).await {
                    Ok(call_reply::Reply::Propose(ProposeReply {
                        result: Some(propose_reply::Result::Ok(b)),
                    })) => Outcome::Ok(b),
                    Ok(call_reply::Reply::Propose(ProposeReply {
                        result: Some(propose_reply::Result::Failure(f)),
                    })) => Outcome::Failed(f),
                    Err(CallError::NotSent(_)) => Outcome::NotSent,
                    _ => Outcome::Unreachable,
                }
            }
            Call::Read {
                payload,
                linearizable,
                large_reply,
            } => {
                let request = call_request::Call::Read(ReadRequest {
                    group_id: group,
                    read: payload.clone(),
                    linearizable: *linearizable,
                });
                let reply = if *large_reply {
                    self.pool.unary(&addr, request, timeout).await
                } else {
                    self.pool.call(&addr, request, timeout).await
                };
                match reply {
                    Ok(call_reply::Reply::Read(ReadReply {
                        result: Some(read_reply::Result::Ok(b)),
                    })) => Outcome::Ok(b),
                    Ok(call_reply::Reply::Read(ReadReply {
                        result: Some(read_reply::Result::Failure(f)),
                    })) => Outcome::Failed(f),
                    Err(CallError::NotSent(_)) => Outcome::NotSent,
                    _ => Outcome::Unreachable,
                }
            }
            Call::State => {
                let Ok(mut client) = self.pool.client(&addr) else {
                    return Outcome::NotSent;
                };
                let mut request = tonic::Request::new(ClusterStateRequest { linearizable: true });
                request.set_timeout(timeout);
                match client.cluster_state(request).await.map(|r| r.into_inner().result) {
                    Ok(Some(cluster_state_reply::Result::State(b))) => Outcome::Ok(b),
                    Ok(Some(cluster_state_reply::Result::Failure(f))) => Outcome::Failed(f),
                    Ok(None) => Outcome::Unreachable,
                    Err(status) => {
                        tracing::debug!(node, %status, "cluster state call failed");
                        Outcome::Unreachable
                    }
                }
            }
        }
    }

    /// Sends `call` to the group until one of `replicas` answers it, following leader hints
    /// when `to_leader`, preferring the router's AZ otherwise, within the retry budget.
    async fn route(&self, group: u64, replicas: &[u64], call: &Call, to_leader: bool) -> Result<Vec<u8>> {
        if replicas.is_empty() {
            return Err(unavailable());
        }
        let deadline = Instant::now() + self.config.retry_budget;
        // Candidate order: own AZ first for local reads; the known leader first otherwise.
        let mut order: Vec<u64> = replicas.to_vec();
        order.sort_by_key(|n| (self.az_of(*n).as_deref() != Some(self.config.az.as_str()), *n));
        if to_leader {
            if let Some(l) = self.leader_hint(group).filter(|l| replicas.contains(l)) {
                order.retain(|n| *n != l);
                order.insert(0, l);
            }
        }
        let mut next: Option<u64> = None;
        let mut cursor = 0usize;
        let mut backoff = BACKOFF_MIN;
        let mut outcome_unknown = false;
        // Answers of "no such group" in a row: when every replica says so for two rounds, the
        // shard map this router holds is stale (the table was deleted or recreated).
        let mut missing_in_a_row = 0usize;
        loop {
            let target = next.take().unwrap_or_else(|| {
                let t = order[cursor % order.len()];
                cursor += 1;
                t
            });
            let mut redirected = false;
            let outcome = self.send(target, group, call).await;
            match &outcome {
                Outcome::Failed(f) => {
                    tracing::debug!(group, target, kind = f.kind, hint = f.leader_hint, addr = %f.leader_addr, "attempt failed")
                }
                Outcome::Unreachable => tracing::debug!(group, target, "node unreachable"),
                Outcome::NotSent => tracing::debug!(group, target, "not sent to the node"),
                Outcome::Ok(_) => {}
            }
            match &outcome {
                Outcome::Failed(f) if f.kind == FailureKind::NoSuchGroup as i32 => missing_in_a_row += 1,
                _ => missing_in_a_row = 0,
            }
            if missing_in_a_row >= 2 * order.len() && group != META_GROUP {
                return Err(Error::new(ErrorKind::ResourceNotFound, STALE_MAP));
            }
            match outcome {
                Outcome::Ok(bytes) => {
                    if to_leader {
                        self.remember_leader(group, target);
                    }
                    return Ok(bytes);
                }
                Outcome::Failed(f) => match FailureKind::try_from(f.kind) {
                    Ok(FailureKind::Dynamo) => {
                        return Err(tessera_model::wire::decode::<Error>(&f.detail).unwrap_or_else(internal));
                    }
                    Ok(FailureKind::NotLeader)
                        if f.leader_hint != 0
                            && f.leader_hint != target
                            && (replicas.contains(&f.leader_hint) || !f.leader_addr.is_empty()) =>
                    {
                        if !f.leader_addr.is_empty() {
                            if let Ok(mut learned) = self.learned.write() {
                                learned.insert(f.leader_hint, f.leader_addr.clone());
                            }
                        }
                        self.remember_leader(group, f.leader_hint);
                        next = Some(f.leader_hint);
                        redirected = true;
                    }
                    Ok(FailureKind::Unavailable) if matches!(call, Call::Propose(_)) => outcome_unknown = true,
                    _ => {}
                },
                Outcome::Unreachable => {
                    // A proposal whose call failed may have reached a leader (known to this
                    // router or not) and commit later: the answer can no longer be "not
                    // applied" (503), only "unknown" (500).
                    if matches!(call, Call::Propose(_)) {
                        outcome_unknown = true;
                    }
                }
                Outcome::NotSent => {}
            }
            if Instant::now() >= deadline {
                tracing::warn!(group, "no replica answered within the retry budget");
                return Err(if outcome_unknown {
                    unknown_outcome()
                } else {
                    unavailable()
                });
            }
            if !redirected {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }

    fn all_nodes(&self) -> Vec<u64> {
        let state = self.cached();
        let mut nodes: Vec<u64> = state.nodes.keys().copied().collect();
        for n in self.config.nodes.keys() {
            if !nodes.contains(n) {
                nodes.push(*n);
            }
        }
        nodes
    }

    /// Fetches the latest cluster state from the metadata group's leader.
    pub async fn refresh(&self) -> Result<Arc<ClusterState>> {
        let bytes = self.route(META_GROUP, &self.all_nodes(), &Call::State, true).await?;
        let state: ClusterState = tessera_model::wire::decode(&bytes).map_err(internal)?;
        let state = Arc::new(state);
        if let Ok(mut s) = self.state.write() {
            if state.version >= s.version {
                *s = state.clone();
            }
        }
        Ok(state)
    }

    async fn meta(&self, command: MetaCommand) -> Result<TableMeta> {
        let payload = tessera_model::wire::encode(&Command::Meta(command)).map_err(internal)?;
        let bytes = self
            .route(META_GROUP, &self.all_nodes(), &Call::Propose(payload), true)
            .await?;
        let result: CommandResult = tessera_model::wire::decode(&bytes).map_err(internal)?;
        let meta = match result {
            CommandResult::Meta(Ok(MetaOutput::Table(meta))) => meta,
            CommandResult::Meta(Err(e)) => return Err(e),
            _ => return Err(internal("unexpected metadata result")),
        };
        self.refresh().await?;
        Ok(meta)
    }

    /// The table's shards as this router knows them (refreshing once if the table is newer).
    async fn table_state(&self, table: &TableMeta) -> Result<TableState> {
        for attempt in 0..2 {
            let state = if attempt == 0 {
                self.cached()
            } else {
                self.refresh().await?
            };
            if let Some(t) = state.tables.get(&table.name).filter(|t| t.meta.id == table.id) {
                return Ok(t.clone());
            }
        }
        Err(Error::resource_not_found())
    }

    async fn shard_for(&self, table: &TableMeta, key: &Item) -> Result<ShardInfo> {
        let pk = key
            .get(&table.key_schema.partition.name)
            .ok_or_else(|| Error::validation(tessera_model::key::MSG_KEY_SCHEMA_MISMATCH))?;
        let hash = partition_hash(pk);
        self.table_state(table)
            .await?
            .shard_for(hash)
            .cloned()
            .ok_or_else(|| internal("no shard covers the key"))
    }

    /// Routes to a shard's group; if the group turns out not to exist any more, refreshes the
    /// shard map once and reports the table gone (ResourceNotFound) if it is.
    async fn route_shard(&self, shard: &ShardInfo, call: &Call, to_leader: bool) -> Result<Vec<u8>> {
        match self.route(shard.group, &shard.replicas, call, to_leader).await {
            Err(e) if e.kind == ErrorKind::ResourceNotFound && e.message == STALE_MAP => {
                let state = self.refresh().await?;
                let still_there = state
                    .tables
                    .values()
                    .any(|t| t.shards.iter().any(|s| s.group == shard.group));
                if still_there {
                    self.route(shard.group, &shard.replicas, call, to_leader).await
                } else {
                    Err(Error::resource_not_found())
                }
            }
            other => other,
        }
    }

    async fn write(&self, shard: &ShardInfo, command: ShardCommand) -> Result<WriteOutput> {
        // One id for every attempt: a retry after an unknown outcome is applied at most once.
        let request = RequestId {
            id: uuid::Uuid::new_v4().as_u128(),
            at_millis: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        };
        let payload = tessera_model::wire::encode(&Command::ShardOnce {
            request,
            command: std::sync::Arc::new(command),
        })
        .map_err(internal)?;
        let bytes = self.route_shard(shard, &Call::Propose(payload), true).await?;
        match tessera_model::wire::decode::<CommandResult>(&bytes).map_err(internal)? {
            CommandResult::Shard(result) => result,
            _ => Err(internal("unexpected shard result")),
        }
    }

    async fn read(&self, shard: &ShardInfo, op: &ReadOp, consistent: bool) -> Result<ReadResult> {
        let payload = tessera_model::wire::encode(op).map_err(internal)?;
        let call = Call::Read {
            payload,
            linearizable: consistent,
            large_reply: !matches!(op, ReadOp::Get { .. }),
        };
        let bytes = self.route_shard(shard, &call, consistent).await?;
        tessera_model::wire::decode(&bytes).map_err(internal)
    }

    async fn page(&self, shard: &ShardInfo, op: &ReadOp, consistent: bool) -> Result<Page> {
        match self.read(shard, op, consistent).await? {
            ReadResult::Page(p) => Ok(p),
            ReadResult::Item(_) => Err(internal("unexpected read result")),
        }
    }
}

impl Backend for ClusterBackend {
    async fn create_table(&self, meta: TableMeta) -> Result<TableMeta> {
        self.meta(MetaCommand::CreateTable { meta, shards: 0 }).await
    }

    async fn describe_table(&self, name: &str) -> Result<Option<TableMeta>> {
        if let Some(t) = self.cached().tables.get(name) {
            return Ok(Some(t.meta.clone()));
        }
        Ok(self.refresh().await?.tables.get(name).map(|t| t.meta.clone()))
    }

    async fn list_tables(&self) -> Result<Vec<String>> {
        Ok(self.refresh().await?.tables.keys().cloned().collect())
    }

    async fn update_table(&self, meta: TableMeta) -> Result<TableMeta> {
        self.meta(MetaCommand::UpdateTable { meta }).await
    }

    async fn delete_table(&self, name: &str) -> Result<TableMeta> {
        self.meta(MetaCommand::DeleteTable { name: name.to_string() }).await
    }

    async fn put_item(&self, table: &TableMeta, op: PutItem) -> Result<WriteOutput> {
        let shard = self.shard_for(table, &op.item).await?;
        self.write(
            &shard,
            ShardCommand::Put {
                table: table.into(),
                op,
            },
        )
        .await
    }

    async fn update_item(&self, table: &TableMeta, op: UpdateItem) -> Result<WriteOutput> {
        let shard = self.shard_for(table, &op.key).await?;
        self.write(
            &shard,
            ShardCommand::Update {
                table: table.into(),
                op,
            },
        )
        .await
    }

    async fn delete_item(&self, table: &TableMeta, op: DeleteItem) -> Result<WriteOutput> {
        let shard = self.shard_for(table, &op.key).await?;
        self.write(
            &shard,
            ShardCommand::Delete {
                table: table.into(),
                op,
            },
        )
        .await
    }

    async fn get_item(&self, table: &TableMeta, op: GetItem) -> Result<Option<Arc<Item>>> {
        let shard = self.shard_for(table, &op.key).await?;
        let consistent = op.consistent;
        match self
            .read(
                &shard,
                &ReadOp::Get {
                    table: table.into(),
                    op,
                },
                consistent,
            )
            .await?
        {
            ReadResult::Item(item) => Ok(item.map(Arc::new)),
            ReadResult::Page(_) => Err(internal("unexpected read result")),
        }
    }

    async fn query(&self, table: &TableMeta, op: Query) -> Result<Page> {
        // The partition key value decides the one shard a Query reads.
        let mut ctx = Context::new(&op.placeholders.names, &op.placeholders.values);
        let condition = ctx.key_condition(&op.key_condition, &table.key_schema)?;
        let key = Item::from([(table.key_schema.partition.name.clone(), condition.partition)]);
        let shard = self.shard_for(table, &key).await?;
        let consistent = op.consistent;
        self.page(
            &shard,
            &ReadOp::Query {
                table: table.into(),
                op,
            },
            consistent,
        )
        .await
    }

    async fn scan(&self, table: &TableMeta, op: Scan) -> Result<Page> {
        // Walk the shards covering the scan's hash range in hash order, from the shard holding
        // the start key, until the page is full (Limit or 1 MB) or the range is done.
        let (lo, hi) = match op.segment {
            Some((segment, total)) => segment_range(segment, total),
            None => (0, None),
        };
        let start_hash = match &op.exclusive_start_key {
            Some(k) => k
                .get(&table.key_schema.partition.name)
                .map(partition_hash)
                .unwrap_or(lo)
                .max(lo),
            None => lo,
        };
        let shards = self.table_state(table).await?.shards;
        let mut page = Page::default();
        let mut bytes = 0usize;
        for shard in shards {
            let shard_hi = shard.hash_hi;
            let overlaps = shard_hi.is_none_or(|h| start_hash < h) && hi.is_none_or(|h| shard.hash_lo < h);
            if !overlaps {
                continue;
            }
            let range_lo = shard.hash_lo.max(start_hash);
            let range_hi = match (shard_hi, hi) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let mut shard_op = op.clone();
            shard_op.limit = op.limit.map(|l| l.saturating_sub(page.scanned_count));
            let budget = tessera_model::limits::QUERY_PAGE_BYTES_MAX.saturating_sub(bytes);
            let read = ReadOp::Scan {
                table: table.into(),
                op: shard_op,
                lo: range_lo,
                hi: range_hi,
                byte_budget: budget,
            };
            let part = self.page(&shard, &read, op.consistent).await?;
            bytes += part.items.iter().map(item_size).sum::<usize>();
            page.count += part.count;
            page.scanned_count += part.scanned_count;
            page.items.extend(part.items);
            if part.last_evaluated_key.is_some() {
                page.last_evaluated_key = part.last_evaluated_key;
                return Ok(page);
            }
            let full = op.limit.is_some_and(|l| page.scanned_count >= l)
                || bytes >= tessera_model::limits::QUERY_PAGE_BYTES_MAX;
            if full {
                // Stopped exactly at a shard boundary: resume from the last item read.
                page.last_evaluated_key = page.items.last().map(|i| key_of(table, i));
                return Ok(page);
            }
        }
        Ok(page)
    }

    async fn batch_write(&self, table: &TableMeta, requests: Vec<WriteRequest>) -> Result<Vec<WriteRequest>> {
        let state = self.table_state(table).await?;
        let mut by_shard: BTreeMap<u64, (ShardInfo, Vec<WriteRequest>)> = BTreeMap::new();
        for r in requests {
            let key = match &r {
                WriteRequest::Put(item) => item,
                WriteRequest::Delete(key) => key,
            };
            let pk: &AttributeValue = key
                .get(&table.key_schema.partition.name)
                .ok_or_else(|| Error::validation(tessera_model::key::MSG_KEY_SCHEMA_MISMATCH))?;
            let shard = state
                .shard_for(partition_hash(pk))
                .cloned()
                .ok_or_else(|| internal("no shard"))?;
            by_shard
                .entry(shard.group)
                .or_insert_with(|| (shard, Vec::new()))
                .1
                .push(r);
        }
        let mut unprocessed = Vec::new();
        for (_, (shard, requests)) in by_shard {
            let command = ShardCommand::BatchWrite {
                table: table.into(),
                requests: requests.clone(),
            };
            match self.write(&shard, command).await {
                Ok(_) => {}
                // A shard that certainly did not take them hands its requests back, as DynamoDB
                // does. An unknown outcome (500) is not "unprocessed": the write may yet land, so
                // it is reported as the error it is.
                Err(e) if e.kind == ErrorKind::ServiceUnavailable => unprocessed.extend(requests),
                Err(e) => return Err(e),
            }
        }
        Ok(unprocessed)
    }
}

fn key_of(table: &TableMeta, item: &Item) -> Item {
    table
        .key_schema
        .attributes()
        .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
        .collect()
}
