//! The shard state machine: the items of one shard in one sled tree, every mutation a
//! deterministic `apply(command)` (conditions and updates are evaluated here, on the stored
//! item), and the range reads behind GetItem, Query and Scan.
//!
//! **Architecture invariant:** `apply` depends only on the command and the tree's contents,
//! so replicas applying the same log reach the same state.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tessera_expr::{
    apply_update, check_key_attributes, evaluate, project, Condition, Context, ExprKind, Path, SortCondition,
};
use tessera_model::key::{encode_key_value, PrimaryKey};
use tessera_model::limits::{ITEM_BYTES_MAX, QUERY_PAGE_BYTES_MAX};
use tessera_model::ops::{
    DeleteItem, GetItem, Page, Placeholders, PutItem, Query, ReturnValues, Scan, Select, UpdateItem, WriteOptions,
    WriteOutput, WriteRequest,
};
use tessera_model::{item_size, AttributeValue, Error, ErrorKind, Item, KeySchema, Result};

use crate::codec::{decode_item, encode_item, put_framed, take_fixed, take_framed};
use crate::keys::{hash_prefix, item_key, partition_prefix, prefix_end, table_prefix};
use crate::sled_error;

/// What a shard needs to know about a table to serve it (copied from the catalog into every
/// command, so applying a command never consults anything but the shard itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableRef {
    pub id: u64,
    pub key_schema: KeySchema,
}

/// A mutation of one shard. Serialisable: this is what a Raft log entry carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ShardCommand {
    Put {
        table: TableRef,
        op: PutItem,
    },
    Delete {
        table: TableRef,
        op: DeleteItem,
    },
    Update {
        table: TableRef,
        op: UpdateItem,
    },
    BatchWrite {
        table: TableRef,
        requests: Vec<WriteRequest>,
    },
    /// Removes every item of a deleted table.
    DropTable {
        table_id: u64,
    },
}

impl ShardCommand {
    /// Whether the state it leaves depends on nothing but the command itself: no condition,
    /// no old image returned, absolute values (an unconditional put or delete, a batch of
    /// them). Applying it again after a crash cut its writes short ends in the same state
    /// and result, on every replica.
    pub fn is_blind(&self) -> bool {
        let blind = |o: &WriteOptions| o.condition.is_none() && o.return_values == ReturnValues::None;
        match self {
            ShardCommand::Put { op, .. } => blind(&op.options),
            ShardCommand::Delete { op, .. } => blind(&op.options),
            ShardCommand::BatchWrite { .. } => true,
            ShardCommand::Update { .. } | ShardCommand::DropTable { .. } => false,
        }
    }
}

/// Where shards written before [`MARK_KEY`] keep the applied-log marker (moved into the mark
/// when the shard opens): inside table id 0's key space, which no table uses.
const APPLIED_KEY: &[u8] = b"\0\0\0\0\0\0\0\0applied";
/// The applied-log marker and the request-id bookkeeping (floor, last entry index; see
/// [`Mark`]), in one key so they change atomically.
const MARK_KEY: &[u8] = b"\0\0\0\0\0\0\0\0mark";
const MARK_VERSION: u8 = 1;
/// The changes of a multi-key write while it is being written (see `Writes::write`).
const INTENT_KEY: &[u8] = b"\0\0\0\0\0\0\0\0intent";
/// Ids and results of the requests of recent log entries (`apply_once`), one record per entry:
/// `DEDUP_PREFIX ‖ index` → per request `id (16 bytes) ‖ len (u32) ‖ result`. One key per
/// entry rather than per request: every sled write is a cost on every replica.
const DEDUP_PREFIX: &[u8] = b"\0\0\0\0\0\0\0\0dedupe/";
/// How many log entries a request id is remembered for: counted in the shard's own log (not
/// by anyone's clock), and far beyond what a router's retry budget can span.
pub const DEDUP_WINDOW_ENTRIES: u64 = 100_000;
/// Most request ids a shard remembers (the oldest entries' ids go first): bounds the
/// in-memory id index at a few MB per shard. At 2,000 writes/s to one shard that is still a
/// minute, far beyond a router's retry budget.
pub const DEDUP_IDS_MAX: usize = if cfg!(test) { 1024 } else { 131_072 };
/// Results larger than this are not kept: a retry of such a request gets an "outcome known,
/// result not kept" error instead (bounds the table at ~window × this).
const DEDUP_RESULT_BYTES_MAX: usize = 4096;
/// Expired entries' records forgotten per applied entry (bounds the work of one apply).
const DEDUP_EXPIRE_PER_APPLY: usize = 16;

/// A request's identity for de-duplication: a router that retries a proposal whose outcome
/// it could not learn (the leader died mid-call, after the entry reached a quorum) must not
/// have it applied twice. `at_millis` is the proposer's clock (diagnostics only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestId {
    pub id: u128,
    pub at_millis: u64,
}

/// What [`MARK_KEY`] holds: `1 ‖ floor (u64 BE) ‖ through (u64 BE) ‖ (0 | 1 ‖ marker)`.
/// A binary older than it keeps the marker under [`APPLIED_KEY`] (and carries a mark it got
/// in a snapshot along as an opaque key): where both are there, the legacy one is current.
#[derive(Clone, Debug, Default, PartialEq)]
struct Mark {
    /// Request-id records of entries below this are forgotten, whether or not their removal
    /// reached the tree yet (it goes after the mark: see [`replay_order`]).
    floor: u64,
    /// The last entry index applied with request ids (0: none; Raft's entry 0 carries no
    /// commands): a record past it belongs to a commit a crash cut short before its mark
    /// (its entries are applied again; see [`Shard::open`]).
    through: u64,
    /// The replication layer's record of the applied log position.
    marker: Option<Vec<u8>>,
}

impl Mark {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18 + self.marker.as_ref().map_or(0, Vec::len));
        out.push(MARK_VERSION);
        out.extend_from_slice(&self.floor.to_be_bytes());
        out.extend_from_slice(&self.through.to_be_bytes());
        match &self.marker {
            Some(m) => {
                out.push(1);
                out.extend_from_slice(m);
            }
            None => out.push(0),
        }
        out
    }

    fn decode(bytes: &[u8]) -> Result<Mark> {
        let bad = || Error::internal("damaged applied marker");
        let (&version, rest) = bytes.split_first().ok_or_else(bad)?;
        if version != MARK_VERSION || rest.len() < 17 {
            return Err(bad());
        }
        let word = |at: usize| rest[at..at + 8].try_into().map(u64::from_be_bytes).map_err(|_| bad());
        let (floor, through) = (word(0)?, word(8)?);
        let marker = match rest[16] {
            0 if rest.len() == 17 => None,
            1 => Some(rest[17..].to_vec()),
            _ => return Err(bad()),
        };
        Ok(Mark { floor, through, marker })
    }

    /// The mark of `tree` (none yet: the default).
    fn load(tree: &sled::Tree) -> Result<Mark> {
        match tree.get(MARK_KEY).map_err(sled_error)? {
            Some(bytes) => Mark::decode(&bytes),
            None => Ok(Mark::default()),
        }
    }

    /// Moves a marker written by a binary older than [`MARK_KEY`] into a mark: its commits
    /// were all atomic and it remembers every record it holds. A mark found beside it is
    /// stale (an older binary carried it along from a snapshot) or the same one (a crash
    /// came part way through this move): either way the mark is rebuilt from the legacy key.
    fn upgrade_legacy(tree: &sled::Tree) -> Result<()> {
        let Some(marker) = tree.get(APPLIED_KEY).map_err(sled_error)? else {
            return Ok(());
        };
        let through = match tree.scan_prefix(DEDUP_PREFIX).keys().next_back() {
            Some(key) => dedup_record_index(&key.map_err(sled_error)?)?,
            None => 0,
        };
        let mark = Mark {
            floor: 0,
            through,
            marker: Some(marker.to_vec()),
        };
        tree.insert(MARK_KEY, mark.encode()).map_err(sled_error)?;
        tree.remove(APPLIED_KEY).map_err(sled_error)?;
        Ok(())
    }

    /// Request-id records this mark does not count: below the floor (forgotten; their
    /// removals come after the mark) or past `through` (written before a mark that did not
    /// make it: their entries are applied again from the log and must find the request ids
    /// as they were before them; kept, one would skip its requests, or count towards the
    /// ids a later entry forgets, and this replica would part from the others).
    fn disowns(&self, at: u64) -> bool {
        at < self.floor || at > self.through
    }

    /// Migrates a legacy marker and removes the records the mark disowns: what a crash kept
    /// of a commit written without an intent (see `Writes::write`).
    fn settle(tree: &sled::Tree) -> Result<()> {
        Mark::upgrade_legacy(tree)?;
        let mark = Mark::load(tree)?;
        for key in tree.scan_prefix(DEDUP_PREFIX).keys() {
            let key = key.map_err(sled_error)?;
            if mark.disowns(dedup_record_index(&key)?) {
                tree.remove(key).map_err(sled_error)?;
            }
        }
        Ok(())
    }
}

fn dedup_record_key(index: u64) -> Vec<u8> {
    [DEDUP_PREFIX, &index.to_be_bytes()[..]].concat()
}

fn dedup_record_index(key: &[u8]) -> Result<u64> {
    key.get(DEDUP_PREFIX.len()..)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::internal("bad request-id record key"))
}

fn encode_dedup_record(requests: &[(u128, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(requests.iter().map(|(_, r)| 20 + r.len()).sum());
    for (id, result) in requests {
        out.extend_from_slice(&id.to_be_bytes());
        put_framed(&mut out, result);
    }
    out
}

fn decode_dedup_record(mut bytes: &[u8]) -> Result<Vec<(u128, &[u8])>> {
    const WHAT: &str = "a request-id record";
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let id = take_fixed(&mut bytes, 16, WHAT)?;
        let id = u128::from_be_bytes(id.try_into().map_err(|_| Error::internal("bad request id"))?);
        out.push((id, take_framed(&mut bytes, WHAT)?));
    }
    Ok(out)
}

fn kept_result(stored: &[u8]) -> Result<Result<WriteOutput>> {
    let kept: Option<std::result::Result<WriteOutput, Error>> =
        tessera_model::wire::decode(stored).map_err(|e| Error::internal(format!("stored request result: {e}")))?;
    Ok(kept.unwrap_or_else(|| {
        Err(Error::internal(
            "the request was applied, but its result was too large to keep for a retry",
        ))
    }))
}

/// The request ids a shard remembers, in memory (rebuilt from the records when the shard
/// opens or installs a snapshot): id → index of the entry whose record holds its result.
#[derive(Default)]
struct DedupIndex {
    by_id: HashMap<u128, u64>,
    /// Ids in all records (the bound [`DEDUP_IDS_MAX`] is on this).
    ids: usize,
    /// Records below this entry index are forgotten ([`Mark::floor`]).
    floor: u64,
    /// [`Mark::through`].
    through: u64,
}

impl DedupIndex {
    fn load(tree: &sled::Tree) -> Result<DedupIndex> {
        let mark = Mark::load(tree)?;
        let mut index = DedupIndex {
            floor: mark.floor,
            through: mark.through,
            ..DedupIndex::default()
        };
        for record in tree.scan_prefix(DEDUP_PREFIX) {
            let (key, value) = record.map_err(sled_error)?;
            let at = dedup_record_index(&key)?;
            if mark.disowns(at) {
                continue;
            }
            let requests = decode_dedup_record(&value)?;
            index.ids += requests.len();
            index.by_id.extend(requests.into_iter().map(|(id, _)| (id, at)));
        }
        Ok(index)
    }
}

/// What a session changed in the request-id index, applied to it once the session's writes
/// are in sled.
#[derive(Default)]
struct DedupChanges {
    added: HashMap<u128, u64>,
    /// Records forgotten: their entry index and ids.
    expired: Vec<(u64, Vec<u128>)>,
    expired_ids: usize,
    /// Where the next expiry scan starts: just after the last record forgotten (records go
    /// oldest first, so the ones before are all staged for removal already).
    scan_from: Option<Vec<u8>>,
    /// The new floor: just past the last record forgotten.
    floor: Option<u64>,
    /// The last entry index applied with request ids.
    through: Option<u64>,
}

pub const MSG_UPDATE_TOO_LARGE: &str = "Item size to update has exceeded the maximum allowed size";

pub struct Shard {
    tree: sled::Tree,
    dedup: Mutex<DedupIndex>,
    /// Set when a commit failed part way: its intent is still in the tree, and any later
    /// write could be overwritten when the intent is replayed, so none is accepted until
    /// the shard is reopened (or a snapshot replaces its contents).
    broken: AtomicBool,
}

fn parse_condition(ctx: &mut Context<'_>, options: &WriteOptions) -> Result<Option<Condition>> {
    options
        .condition
        .as_deref()
        .map(|c| ctx.condition(ExprKind::Condition, c))
        .transpose()
}

/// The API checked the expressions against DynamoDB's limits (or wrote them from legacy
/// parameters, which have none of those).
fn context(p: &Placeholders) -> Context<'_> {
    Context::new(&p.names, &p.values).trusted()
}

/// Fails the write with ConditionalCheckFailedException when its condition is false.
fn check_condition(condition: Option<&Condition>, old: Option<&Item>, options: &WriteOptions) -> Result<()> {
    match condition {
        Some(c) if !evaluate(c, old) => Err(Error::conditional_check_failed(
            options.return_old_on_condition_failure.then(|| old.cloned()).flatten(),
        )),
        _ => Ok(()),
    }
}

fn key_attributes(schema: &KeySchema, item: &Item) -> Item {
    schema
        .attributes()
        .filter_map(|a| item.get(&a.name).map(|v| (a.name.clone(), v.clone())))
        .collect()
}

fn non_empty(item: Item) -> Option<Item> {
    (!item.is_empty()).then_some(item)
}

/// Where a Query's range starts and ends inside one partition.
fn sort_bounds(prefix: &[u8], sort: Option<&SortCondition>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let with = |v: &AttributeValue| {
        let mut k = prefix.to_vec();
        encode_key_value(v, &mut k);
        k
    };
    let end = || prefix_end(prefix).map_or(Bound::Unbounded, Bound::Excluded);
    use tessera_expr::CompareOp::*;
    match sort {
        None => (Bound::Included(prefix.to_vec()), end()),
        Some(SortCondition::Compare(op, v)) => match op {
            Eq => (Bound::Included(with(v)), Bound::Included(with(v))),
            Lt => (Bound::Included(prefix.to_vec()), Bound::Excluded(with(v))),
            Le => (Bound::Included(prefix.to_vec()), Bound::Included(with(v))),
            Gt => (Bound::Excluded(with(v)), end()),
            Ge => (Bound::Included(with(v)), end()),
            // Not a key condition operator (rejected when parsed); the whole partition.
            Ne => (Bound::Included(prefix.to_vec()), end()),
        },
        Some(SortCondition::Between(lo, hi)) => (Bound::Included(with(lo)), Bound::Included(with(hi))),
        Some(SortCondition::BeginsWith(p)) => {
            // The escaped bytes of the prefix, without the terminator, begin every longer
            // value's encoding.
            let mut k = with(p);
            k.truncate(k.len().saturating_sub(2));
            let upper = prefix_end(&k).map_or(Bound::Unbounded, Bound::Excluded);
            (Bound::Included(k), upper)
        }
    }
}

fn bound_key(b: &Bound<Vec<u8>>) -> Option<&[u8]> {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k),
        Bound::Unbounded => None,
    }
}

/// sled panics on a range whose start lies after its end; such a range is simply empty.
fn is_empty_range(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    match (bound_key(lo), bound_key(hi)) {
        (Some(a), Some(b)) => {
            a > b || (a == b && !(matches!(lo, Bound::Included(_)) && matches!(hi, Bound::Included(_))))
        }
        _ => false,
    }
}

/// Reads one page: at most `limit` items evaluated and about 1 MB of data, as DynamoDB does.
struct PageReader<'a> {
    schema: &'a KeySchema,
    /// Data a page may read (DynamoDB's 1 MB, less what earlier shards of a cluster scan read).
    byte_budget: usize,
    filter: Option<Condition>,
    projection: Option<Vec<Path>>,
    select: Select,
    limit: Option<usize>,
}

impl PageReader<'_> {
    fn read(
        &self,
        entries: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
        accept: impl Fn(&Item) -> bool,
    ) -> Result<Page> {
        let mut page = Page::default();
        let mut bytes = 0usize;
        for entry in entries {
            let (_, value) = entry.map_err(sled_error)?;
            let item = decode_item(&value)?;
            if !accept(&item) {
                continue;
            }
            page.scanned_count += 1;
            bytes += item_size(&item);
            let last_key = key_attributes(self.schema, &item);
            if self.filter.as_ref().is_none_or(|f| evaluate(f, Some(&item))) {
                page.count += 1;
                if self.select != Select::Count {
                    page.items.push(match &self.projection {
                        Some(paths) => project(&item, paths),
                        None => item,
                    });
                }
            }
            // Like DynamoDB, a full page reports where it stopped without looking ahead.
            if self.limit.is_some_and(|l| page.scanned_count >= l) || bytes >= self.byte_budget {
                page.last_evaluated_key = Some(last_key);
                break;
            }
        }
        Ok(page)
    }
}

/// The writes of one apply, staged in memory: a command reads through them (so a later
/// command of the same log entry sees an earlier one's writes), a failed command's writes
/// are dropped, and the rest reach sled together: atomically across a crash, or so that
/// re-applying the log past the marker that reached disk completes them (see `write`).
struct Writes<'a> {
    tree: &'a sled::Tree,
    /// Writes of the commands already settled (None = removed).
    done: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Writes of the command being applied.
    open: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> Writes<'a> {
    fn new(tree: &'a sled::Tree) -> Self {
        Writes {
            tree,
            done: BTreeMap::new(),
            open: BTreeMap::new(),
        }
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.open.get(key).or_else(|| self.done.get(key)) {
            return Ok(v.clone());
        }
        Ok(self.tree.get(key).map_err(sled_error)?.map(|v| v.to_vec()))
    }

    fn load(&self, key: &[u8]) -> Result<Option<Item>> {
        self.get(key)?.map(|b| decode_item(&b)).transpose()
    }

    fn insert(&mut self, key: &[u8], value: &[u8]) {
        self.open.insert(key.to_vec(), Some(value.to_vec()));
    }

    fn remove(&mut self, key: &[u8]) {
        self.open.insert(key.to_vec(), None);
    }

    /// Removes every key starting with `prefix`, stored or staged.
    fn remove_prefix(&mut self, prefix: &[u8]) -> Result<()> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for key in self.tree.scan_prefix(prefix).keys() {
            keys.push(key.map_err(sled_error)?.to_vec());
        }
        for staged in [&self.done, &self.open] {
            keys.extend(staged.keys().filter(|k| k.starts_with(prefix)).cloned());
        }
        for key in keys {
            self.remove(&key);
        }
        Ok(())
    }

    /// Ends the current command: keeps its writes if it succeeded, drops them if it failed.
    /// A storage failure (InternalServerError) is not a result but the caller's error.
    fn settle(&mut self, result: Result<WriteOutput>) -> Result<Result<WriteOutput>> {
        match &result {
            Err(e) if e.kind == ErrorKind::InternalServerError => {
                self.open.clear();
                return Err(e.clone());
            }
            Err(_) => self.open.clear(),
            Ok(_) => self.keep(),
        }
        Ok(result)
    }

    /// Keeps what is staged for the current command (a later failure does not drop it).
    fn keep(&mut self) {
        let open = std::mem::take(&mut self.open);
        self.done.extend(open);
    }

    /// Writes every settled change (and anything staged since), atomically across a crash.
    ///
    /// Not with a `sled::Batch`: every batch rolls sled's I/O buffer twice (two buffer writes
    /// handed to its I/O threads, each waking all of them) and takes sled's global write
    /// lock (plain writes instead: cluster PutItem +8%, CPU per write -8%). Instead the
    /// changes are first written as one intent record (one insert, atomic by itself), then
    /// one by one, and the intent is removed. sled recovers a prefix of its writes, so after a
    /// crash an intent that is still there means its changes may be partly written and no
    /// later write to this tree survived: [`Shard::open`] writes them again (they are
    /// absolute values, so writing twice is harmless) before anything reads the shard.
    /// Readers may see some of the changes before the others, as with DynamoDB's own
    /// non-transactional writes.
    ///
    /// `replayable`: the caller re-applies these commands from its log after a crash that
    /// cuts the writes short, and doing so rebuilds the same state. The intent (a second copy
    /// of every item, about a fifth of what a replica writes to sled) is then left out and
    /// the changes go in [`replay_order`].
    fn write(mut self, replayable: bool) -> Result<()> {
        self.keep();
        // A single change is atomic by itself.
        if self.done.len() == 1 {
            if let Some((key, value)) = self.done.pop_first() {
                write_change(self.tree, &key, value.as_deref())?;
            }
            return Ok(());
        }
        if self.done.is_empty() {
            return Ok(());
        }
        if replayable {
            for (key, value) in self.replay_ordered() {
                write_change(self.tree, key, value)?;
            }
            return Ok(());
        }
        self.tree
            .insert(INTENT_KEY, encode_intent(&self.done))
            .map_err(sled_error)?;
        for (key, value) in &self.done {
            write_change(self.tree, key, value.as_deref())?;
        }
        self.tree.remove(INTENT_KEY).map_err(sled_error)?;
        Ok(())
    }

    /// The settled changes in [`replay_order`] (key order within each step).
    fn replay_ordered(&self) -> Vec<(&[u8], Option<&[u8]>)> {
        let mut changes: Vec<(&[u8], Option<&[u8]>)> =
            self.done.iter().map(|(k, v)| (k.as_slice(), v.as_deref())).collect();
        changes.sort_by_key(|(k, v)| replay_order(k, *v));
        changes
    }
}

/// Where a change goes in a commit written without an intent, so that any prefix of it
/// plus a re-application of its log entries from the last marker that reached disk ends
/// in the state the whole commit leaves:
/// 0. the items: re-applying blind commands writes the same values again;
/// 1. request-id records: without the mark they are disowned (past its `through`) and
///    removed when the shard opens, so the entries applied again find the request ids as
///    they were and apply in full;
/// 2. the mark (applied marker, request-id floor and `through`): once it is there nothing
///    is re-applied, and records below its floor are forgotten;
/// 3. removals of forgotten request-id records: before the mark,
///    a lost mark would let a retried request that one of them answered be applied again,
///    over later writes; after it, a record a crash keeps is below the floor.
fn replay_order(key: &[u8], value: Option<&[u8]>) -> u8 {
    if !key.starts_with(&[0; 8]) {
        0
    } else if key == MARK_KEY {
        2
    } else if key.starts_with(DEDUP_PREFIX) && value.is_none() {
        3
    } else {
        1
    }
}

fn write_change(tree: &sled::Tree, key: &[u8], value: Option<&[u8]>) -> Result<()> {
    match value {
        Some(v) => tree.insert(key, v).map_err(sled_error)?,
        None => tree.remove(key).map_err(sled_error)?,
    };
    Ok(())
}

/// An intent record: per change `len(key) ‖ key ‖ (0 | 1 ‖ len(value) ‖ value)`, lengths as
/// u32 big-endian, 0 for a removal.
fn encode_intent(changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Vec<u8> {
    let size: usize = changes
        .iter()
        .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(size);
    for (key, value) in changes {
        put_framed(&mut out, key);
        match value {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                put_framed(&mut out, v);
            }
        }
    }
    out
}

/// One change of an intent: a key and its new value (None = removed).
type Change<'b> = (&'b [u8], Option<&'b [u8]>);

fn decode_intent(mut bytes: &[u8]) -> Result<Vec<Change<'_>>> {
    const WHAT: &str = "the shard's intent record";
    let mut changes = Vec::new();
    while !bytes.is_empty() {
        let key = take_framed(&mut bytes, WHAT)?;
        let value = match take_fixed(&mut bytes, 1, WHAT)?[0] {
            0 => None,
            _ => Some(take_framed(&mut bytes, WHAT)?),
        };
        changes.push((key, value));
    }
    Ok(changes)
}

/// Commands applied in order over staged writes (a later one sees an earlier one's writes),
/// reaching sled together with the applied marker at [`ApplySession::commit`]: after a crash
/// all of them are applied or none, once the log has re-applied what the marker on disk does
/// not cover. One session per apply call of the replication layer amortises the cost of a
/// commit over every entry of the call.
pub struct ApplySession<'a> {
    shard: &'a Shard,
    writes: Writes<'a>,
    commands: usize,
    dedup: DedupChanges,
    /// Every command applied so far is blind (see [`ShardCommand::is_blind`]).
    blind: bool,
}

impl ApplySession<'_> {
    /// Commands applied so far (callers commit in bounded steps).
    pub fn commands(&self) -> usize {
        self.commands
    }

    /// Applies one command. The outer error is a storage failure (fatal for a replica); the
    /// inner one the command's own outcome (a DynamoDB error such as a failed condition).
    pub fn apply(&mut self, command: &ShardCommand) -> Result<Result<WriteOutput>> {
        self.commands += 1;
        self.blind &= command.is_blind();
        let result = self.shard.mutate(command, &mut self.writes);
        self.writes.settle(result)
    }

    /// Applies the commands of the log entry at `index` in order, each at most once per
    /// request id (a repeated id gets the first application's result, recorded with the
    /// change), and forgets the ids of entries older than [`DEDUP_WINDOW_ENTRIES`] entries
    /// or beyond [`DEDUP_IDS_MAX`] ids: by log position and record contents, so every replica
    /// remembers the same ids at the same index.
    pub fn apply_each_once<'c>(
        &mut self,
        commands: impl ExactSizeIterator<Item = (&'c RequestId, &'c ShardCommand)>,
        index: u64,
    ) -> Result<Vec<Result<WriteOutput>>> {
        let record_key = dedup_record_key(index);
        self.dedup.through = Some(self.dedup.through.map_or(index, |t| t.max(index)));
        // Requests of this entry: those of an earlier call with the same index first.
        let mut recorded: Vec<(u128, Vec<u8>)> = match self.writes.get(&record_key)? {
            Some(bytes) => decode_dedup_record(&bytes)?
                .into_iter()
                .map(|(id, r)| (id, r.to_vec()))
                .collect(),
            None => Vec::new(),
        };
        let already = recorded.len();
        let mut results = Vec::with_capacity(commands.len());
        for (request, command) in commands {
            self.commands += 1;
            if let Some(stored) = recorded.iter().find(|(id, _)| *id == request.id) {
                results.push(kept_result(&stored.1)?);
                continue;
            }
            if let Some(stored) = self.remembered(request.id)? {
                results.push(kept_result(&stored)?);
                continue;
            }
            self.blind &= command.is_blind();
            let result = self.shard.mutate(command, &mut self.writes);
            let result = self.writes.settle(result)?;
            let mut stored = tessera_model::wire::encode(&Some(&result)).map_err(Error::internal)?;
            if stored.len() > DEDUP_RESULT_BYTES_MAX {
                stored = tessera_model::wire::encode(&None::<()>).map_err(Error::internal)?;
            }
            recorded.push((request.id, stored));
            results.push(result);
        }
        if recorded.len() > already {
            for (id, _) in &recorded[already..] {
                self.dedup.added.insert(*id, index);
            }
            self.writes.insert(&record_key, &encode_dedup_record(&recorded));
            self.writes.keep();
        }
        self.expire_ids(index)?;
        Ok(results)
    }

    /// The kept result of `id` if an earlier entry applied it and it is still remembered.
    fn remembered(&self, id: u128) -> Result<Option<Vec<u8>>> {
        let at = match self.dedup.added.get(&id) {
            Some(at) => Some(*at),
            None => self.shard.dedup_index()?.by_id.get(&id).copied(),
        };
        let Some(at) = at else { return Ok(None) };
        // A record forgotten earlier in this session reads as absent here.
        let Some(record) = self.writes.get(&dedup_record_key(at))? else {
            return Ok(None);
        };
        Ok(decode_dedup_record(&record)?
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r.to_vec()))
    }

    /// Forgets the records of entries older than the window, oldest first, and more while
    /// the shard remembers over [`DEDUP_IDS_MAX`] ids; a bounded number per entry.
    fn expire_ids(&mut self, index: u64) -> Result<()> {
        let horizon = index.saturating_sub(DEDUP_WINDOW_ENTRIES);
        let (remembered, floor) = {
            let index = self.shard.dedup_index()?;
            (index.ids, self.dedup.floor.unwrap_or(index.floor))
        };
        let mut ids = (remembered + self.dedup.added.len()).saturating_sub(self.dedup.expired_ids);
        let mut forgotten = 0;
        let from = self.dedup.scan_from.clone().unwrap_or_else(|| DEDUP_PREFIX.to_vec());
        let end = prefix_end(DEDUP_PREFIX).unwrap_or_default();
        for key in self.shard.tree.range(from..end).keys() {
            if forgotten >= DEDUP_EXPIRE_PER_APPLY {
                break;
            }
            let key = key.map_err(sled_error)?;
            let at = dedup_record_index(&key)?;
            if at < floor {
                // Forgotten already; a crash kept it after its mark (not counted anywhere).
                self.writes.remove(&key);
                self.dedup.scan_from = Some([&key[..], &[0]].concat());
                continue;
            }
            if at >= index || (at >= horizon && ids <= DEDUP_IDS_MAX) {
                break;
            }
            // Through the staged writes: this session may have rewritten the record.
            let Some(record) = self.writes.get(&key)? else { continue };
            let requests: Vec<u128> = decode_dedup_record(&record)?.into_iter().map(|(id, _)| id).collect();
            ids -= requests.len().min(ids);
            self.dedup.expired_ids += requests.len();
            self.dedup.expired.push((at, requests));
            self.writes.remove(&key);
            self.dedup.scan_from = Some([&key[..], &[0]].concat());
            self.dedup.floor = Some(at + 1);
            forgotten += 1;
        }
        self.writes.keep();
        Ok(())
    }

    /// Writes everything applied, with `marker`, as one step across a crash.
    ///
    /// With a marker, the caller re-applies its log entries past the marker on disk after a
    /// crash. When every command was blind that alone rebuilds whatever the crash cut short,
    /// so no intent is written (see `Writes::write`).
    pub fn commit(mut self, marker: Option<&[u8]>) -> Result<()> {
        self.shard.check_writable()?;
        let staged = self.stage_mark(marker)?;
        if let Err(e) = self.writes.write(marker.is_some() && self.blind) {
            self.shard.broken.store(true, Ordering::SeqCst);
            return Err(e);
        }
        let mut index = self.shard.dedup_index()?;
        if let Some((floor, through)) = staged {
            (index.floor, index.through) = (floor, through);
        }
        // Added first: a record this session rewrote and then forgot takes its new ids along.
        index.ids += self.dedup.added.len();
        index.by_id.extend(self.dedup.added);
        for (at, ids) in self.dedup.expired {
            index.ids = index.ids.saturating_sub(ids.len());
            for id in ids {
                if index.by_id.get(&id) == Some(&at) {
                    index.by_id.remove(&id);
                }
            }
        }
        Ok(())
    }

    /// Stages the new mark: `marker` (None: the one there) with the floor and the last
    /// entry index of this session's request ids. Nothing when none of them changes.
    /// Returns the staged floor and `through`.
    fn stage_mark(&mut self, marker: Option<&[u8]>) -> Result<Option<(u64, u64)>> {
        if marker.is_none() && self.dedup.floor.is_none() && self.dedup.through.is_none() {
            return Ok(None);
        }
        let (floor, through) = {
            let index = self.shard.dedup_index()?;
            let through = self.dedup.through.map_or(index.through, |t| t.max(index.through));
            (self.dedup.floor.unwrap_or(index.floor), through)
        };
        let marker = match marker {
            Some(m) => Some(m.to_vec()),
            None => Mark::load(&self.shard.tree)?.marker,
        };
        let mark = Mark { floor, through, marker };
        self.writes.insert(MARK_KEY, &mark.encode());
        Ok(Some((mark.floor, mark.through)))
    }

    /// A commit that a crash cut short: only the first `cut` writes of a replayable commit
    /// reach the tree. Returns how many writes the whole commit has.
    #[cfg(test)]
    pub(crate) fn commit_cut(mut self, marker: &[u8], cut: usize) -> Result<usize> {
        assert!(self.blind, "only blind commits are written without an intent");
        self.stage_mark(Some(marker))?;
        self.writes.keep();
        let changes = self.writes.replay_ordered();
        for (key, value) in changes.iter().take(cut) {
            write_change(self.writes.tree, key, *value)?;
        }
        Ok(changes.len())
    }
}

impl Shard {
    /// Opens the shard, first finishing a multi-key write a crash interrupted.
    pub fn open(db: &sled::Db, name: &str) -> Result<Shard> {
        let tree = db.open_tree(name).map_err(sled_error)?;
        if let Some(intent) = tree.get(INTENT_KEY).map_err(sled_error)? {
            for (key, value) in decode_intent(&intent)? {
                write_change(&tree, key, value)?;
            }
            tree.remove(INTENT_KEY).map_err(sled_error)?;
        }
        Mark::settle(&tree)?;
        let dedup = DedupIndex::load(&tree)?;
        Ok(Shard {
            tree,
            dedup: Mutex::new(dedup),
            broken: AtomicBool::new(false),
        })
    }

    fn dedup_index(&self) -> Result<MutexGuard<'_, DedupIndex>> {
        self.dedup
            .lock()
            .map_err(|_| Error::internal("request-id index poisoned"))
    }

    fn check_writable(&self) -> Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(Error::internal(
                "an earlier write to this shard failed part way; it takes new writes once reopened",
            ));
        }
        Ok(())
    }

    fn load(&self, key: &[u8]) -> Result<Option<Item>> {
        self.tree
            .get(key)
            .map_err(sled_error)?
            .map(|b| decode_item(&b))
            .transpose()
    }

    /// Applies one mutation. Deterministic: the result depends only on the command and the
    /// shard's contents. `marker` (the replication layer's record of the applied log position)
    /// is committed with the command's changes, also when the command fails (a failed
    /// condition is still an applied entry), so a crash can never leave a command recorded
    /// but unapplied, nor applied in part without being applied again in full.
    pub fn apply(&self, command: &ShardCommand, marker: Option<&[u8]>) -> Result<WriteOutput> {
        let mut session = self.session();
        let result = session.apply(command)?;
        session.commit(marker)?;
        result
    }

    /// [`Shard::apply`] at most once per request id: a repeated id returns the first
    /// application's result without applying again. The id and result are stored in the same
    /// commit as the change (and travel in snapshots), so every replica de-duplicates alike.
    /// `index` is the command's log index: ids are forgotten [`DEDUP_WINDOW_ENTRIES`] later.
    pub fn apply_once(
        &self,
        request: &RequestId,
        command: &ShardCommand,
        marker: Option<&[u8]>,
        index: u64,
    ) -> Result<WriteOutput> {
        let mut session = self.session();
        let mut results = session.apply_each_once(std::iter::once((request, command)), index)?;
        session.commit(marker)?;
        results
            .pop()
            .unwrap_or_else(|| Err(Error::internal("no result for the command")))
    }

    /// The commands of one log entry, applied as by [`ApplySession::apply_each_once`] and
    /// committed with `marker`.
    pub fn apply_batch_once(
        &self,
        commands: &[(RequestId, ShardCommand)],
        marker: Option<&[u8]>,
        index: u64,
    ) -> Result<Vec<Result<WriteOutput>>> {
        let mut session = self.session();
        let results = session.apply_each_once(commands.iter().map(|(r, c)| (r, c)), index)?;
        session.commit(marker)?;
        Ok(results)
    }

    /// Starts applying commands (of one or several log entries) that reach sled together at
    /// [`ApplySession::commit`].
    pub fn session(&self) -> ApplySession<'_> {
        ApplySession {
            shard: self,
            writes: Writes::new(&self.tree),
            commands: 0,
            dedup: DedupChanges::default(),
            blind: true,
        }
    }

    fn mutate(&self, command: &ShardCommand, writes: &mut Writes<'_>) -> Result<WriteOutput> {
        match command {
            ShardCommand::Put { table, op } => self.put(table, op, writes),
            ShardCommand::Delete { table, op } => self.delete(table, op, writes),
            ShardCommand::Update { table, op } => self.update(table, op, writes),
            ShardCommand::BatchWrite { table, requests } => self.batch_write(table, requests, writes),
            ShardCommand::DropTable { table_id } => self.drop_table(*table_id, writes),
        }
    }

    /// How many request ids the shard remembers.
    #[cfg(test)]
    pub(crate) fn remembered_ids(&self) -> usize {
        self.dedup.lock().map_or(0, |d| d.ids)
    }

    /// Records the applied log position without a command (membership and blank entries).
    pub fn set_marker(&self, marker: &[u8]) -> Result<()> {
        self.check_writable()?;
        let mark = {
            let index = self.dedup_index()?;
            Mark {
                floor: index.floor,
                through: index.through,
                marker: Some(marker.to_vec()),
            }
        };
        self.tree.insert(MARK_KEY, mark.encode()).map_err(sled_error)?;
        Ok(())
    }

    /// The marker last written with [`Shard::apply`] or [`Shard::set_marker`].
    pub fn marker(&self) -> Result<Option<Vec<u8>>> {
        Ok(Mark::load(&self.tree)?.marker)
    }

    /// The whole shard (items and marker) as one byte string: a full snapshot. The caller
    /// keeps applies paused while this runs (sled has no point-in-time snapshots).
    pub fn export(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for entry in self.tree.iter() {
            let (k, v) = entry.map_err(sled_error)?;
            // An intent left by a failed commit is this replica's own business.
            if k == INTENT_KEY {
                continue;
            }
            put_framed(&mut out, &k);
            put_framed(&mut out, &v);
        }
        Ok(out)
    }

    /// A digest of [`Shard::export`]: replicas that applied the same log hold the same
    /// contents (items, request-id records, mark), so equal digests at one applied index
    /// show they did not part (what tests check after crashes). Reads the shard whole.
    pub fn digest(&self) -> Result<u64> {
        use std::hash::Hasher;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        hasher.write(&self.export()?);
        Ok(hasher.finish())
    }

    /// Replaces the shard's contents with an [`Shard::export`]ed snapshot.
    pub fn import(&self, snapshot: &[u8]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for key in self.tree.iter().keys() {
            batch.remove(key.map_err(sled_error)?);
        }
        let mut rest = snapshot;
        while !rest.is_empty() {
            let k = take_framed(&mut rest, "snapshot")?;
            let v = take_framed(&mut rest, "snapshot")?;
            batch.insert(k, v);
        }
        self.tree.apply_batch(batch).map_err(sled_error)?;
        // A snapshot of a shard written before the mark, or of one an older binary kept.
        Mark::settle(&self.tree)?;
        *self.dedup_index()? = DedupIndex::load(&self.tree)?;
        // The batch replaced everything, a failed commit's intent included.
        self.broken.store(false, Ordering::SeqCst);
        Ok(())
    }

    fn put(&self, table: &TableRef, op: &PutItem, writes: &mut Writes<'_>) -> Result<WriteOutput> {
        let key = item_key(table.id, &table.key_schema.item_key(&op.item)?);
        let mut ctx = context(&op.options.placeholders);
        let condition = parse_condition(&mut ctx, &op.options)?;
        // A blind put (no condition, nothing returned) does not need the old image: reading
        // and decoding it was a tenth of every replica's apply. Streams and indexes will.
        let old = if condition.is_none() && op.options.return_values == ReturnValues::None {
            None
        } else {
            writes.load(&key)?
        };
        check_condition(condition.as_ref(), old.as_ref(), &op.options)?;
        writes.insert(&key, &encode_item(&op.item));
        let attributes = match op.options.return_values {
            ReturnValues::AllOld => old,
            _ => None,
        };
        Ok(WriteOutput { attributes })
    }

    fn delete(&self, table: &TableRef, op: &DeleteItem, writes: &mut Writes<'_>) -> Result<WriteOutput> {
        let key = item_key(table.id, &table.key_schema.key_from_map(&op.key)?);
        let mut ctx = context(&op.options.placeholders);
        let condition = parse_condition(&mut ctx, &op.options)?;
        let old = writes.load(&key)?;
        check_condition(condition.as_ref(), old.as_ref(), &op.options)?;
        if old.is_some() {
            writes.remove(&key);
        }
        let attributes = match op.options.return_values {
            ReturnValues::AllOld => old,
            _ => None,
        };
        Ok(WriteOutput { attributes })
    }

    fn update(&self, table: &TableRef, op: &UpdateItem, writes: &mut Writes<'_>) -> Result<WriteOutput> {
        let primary: PrimaryKey = table.key_schema.key_from_map(&op.key)?;
        let key = item_key(table.id, &primary);
        let mut ctx = context(&op.options.placeholders);
        let update = op.update.as_deref().map(|u| ctx.update(u)).transpose()?;
        let condition = parse_condition(&mut ctx, &op.options)?;
        if let Some(u) = &update {
            check_key_attributes(u, &table.key_schema)?;
        }
        let old = writes.load(&key)?;
        check_condition(condition.as_ref(), old.as_ref(), &op.options)?;
        // Removing from an item that does not exist creates nothing (an update that only
        // removes or deletes has no attribute to write).
        if old.is_none() && update.as_ref().is_some_and(|u| u.set.is_empty() && u.add.is_empty()) {
            return Ok(WriteOutput::default());
        }
        let mut new = match &update {
            Some(u) => apply_update(u, old.as_ref())?,
            None => old.clone().unwrap_or_default(),
        };
        // The key attributes come from the request's Key (an update cannot touch them).
        new.extend(op.key.clone());
        if item_size(&new) > ITEM_BYTES_MAX {
            return Err(Error::validation(MSG_UPDATE_TOO_LARGE));
        }
        writes.insert(&key, &encode_item(&new));
        let targets: Vec<Path> = update.iter().flat_map(|u| u.target_paths().cloned()).collect();
        let attributes = match op.options.return_values {
            ReturnValues::None => None,
            ReturnValues::AllOld => old,
            ReturnValues::AllNew => Some(new),
            ReturnValues::UpdatedOld => old.and_then(|o| non_empty(project(&o, &targets))),
            ReturnValues::UpdatedNew => non_empty(project(&new, &targets)),
        };
        Ok(WriteOutput { attributes })
    }

    fn batch_write(&self, table: &TableRef, requests: &[WriteRequest], writes: &mut Writes<'_>) -> Result<WriteOutput> {
        for request in requests {
            match request {
                WriteRequest::Put(item) => {
                    writes.insert(
                        &item_key(table.id, &table.key_schema.item_key(item)?),
                        &encode_item(item),
                    );
                }
                WriteRequest::Delete(key) => writes.remove(&item_key(table.id, &table.key_schema.key_from_map(key)?)),
            }
        }
        Ok(WriteOutput::default())
    }

    fn drop_table(&self, table_id: u64, writes: &mut Writes<'_>) -> Result<WriteOutput> {
        // Table id 0 is never assigned: its key space holds the shard's own bookkeeping.
        if table_id == 0 {
            return Ok(WriteOutput::default());
        }
        writes.remove_prefix(&table_prefix(table_id))?;
        Ok(WriteOutput::default())
    }

    pub fn get(&self, table: &TableRef, op: &GetItem) -> Result<Option<Item>> {
        let key = item_key(table.id, &table.key_schema.key_from_map(&op.key)?);
        let projection = op
            .projection
            .as_deref()
            .map(|p| context(&op.placeholders).projection(p))
            .transpose()?;
        let item = self.load(&key)?;
        Ok(match (item, projection) {
            (Some(item), Some(paths)) => Some(project(&item, &paths)),
            (item, None) => item,
            (None, Some(_)) => None,
        })
    }

    fn reader<'a>(
        &self,
        schema: &'a KeySchema,
        ctx: &mut Context<'_>,
        filter: Option<&str>,
        projection: Option<&str>,
        select: Select,
        limit: Option<usize>,
    ) -> Result<PageReader<'a>> {
        Ok(PageReader {
            schema,
            byte_budget: QUERY_PAGE_BYTES_MAX,
            filter: filter.map(|f| ctx.condition(ExprKind::Filter, f)).transpose()?,
            projection: projection.map(|p| ctx.projection(p)).transpose()?,
            select,
            limit,
        })
    }

    pub fn query(&self, table: &TableRef, op: &Query) -> Result<Page> {
        let mut ctx = context(&op.placeholders);
        let key_condition = ctx.key_condition(&op.key_condition, &table.key_schema)?;
        let reader = self.reader(
            &table.key_schema,
            &mut ctx,
            op.filter.as_deref(),
            op.projection.as_deref(),
            op.select,
            op.limit,
        )?;
        let prefix = partition_prefix(table.id, &key_condition.partition);
        let (mut lo, mut hi) = sort_bounds(&prefix, key_condition.sort.as_ref());
        if let Some(start) = &op.exclusive_start_key {
            let start = item_key(table.id, &table.key_schema.key_from_map(start)?);
            if op.forward {
                lo = Bound::Excluded(start);
            } else {
                hi = Bound::Excluded(start);
            }
        }
        if is_empty_range(&lo, &hi) {
            return Ok(Page::default());
        }
        let sort = key_condition.sort.clone();
        let sort_name = table.key_schema.sort.as_ref().map(|s| s.name.clone());
        // The range bounds select exactly the matching items; checking the condition again
        // is cheap defence in depth for the byte-level bound arithmetic.
        let accept = |item: &Item| match (&sort, &sort_name) {
            (Some(cond), Some(name)) => item.get(name).is_some_and(|v| cond.matches(v)),
            _ => true,
        };
        let range = self.tree.range((lo, hi));
        if op.forward {
            reader.read(range, accept)
        } else {
            reader.read(range.rev(), accept)
        }
    }

    /// Scans the table's items whose partition hash lies in `[hash_lo, hash_hi)` (hash_hi None
    /// for the end of the hash space), reading at most about `byte_budget` bytes.
    pub fn scan(
        &self,
        table: &TableRef,
        op: &Scan,
        hash_lo: u64,
        hash_hi: Option<u64>,
        byte_budget: usize,
    ) -> Result<Page> {
        let mut ctx = context(&op.placeholders);
        let mut reader = self.reader(
            &table.key_schema,
            &mut ctx,
            op.filter.as_deref(),
            op.projection.as_deref(),
            op.select,
            op.limit,
        )?;
        let mut lo = Bound::Included(hash_prefix(table.id, hash_lo));
        let hi = match hash_hi {
            Some(h) => Bound::Excluded(hash_prefix(table.id, h)),
            None => prefix_end(&table_prefix(table.id)).map_or(Bound::Unbounded, Bound::Excluded),
        };
        if let Some(start) = &op.exclusive_start_key {
            let start = item_key(table.id, &table.key_schema.key_from_map(start)?);
            // Resume after the start key only if it lies in this range (a cluster scan passes
            // the same start key to the shard that holds it and to nothing earlier).
            if bound_key(&lo).is_none_or(|l| start.as_slice() >= l) {
                lo = Bound::Excluded(start);
            }
        }
        if is_empty_range(&lo, &hi) {
            return Ok(Page::default());
        }
        reader.byte_budget = byte_budget.max(1);
        reader.read(self.tree.range((lo, hi)), |_| true)
    }
}

#[cfg(test)]
mod intent_tests {
    use super::*;

    fn changes(entries: &[(&[u8], Option<&[u8]>)]) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        entries
            .iter()
            .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
            .collect()
    }

    /// A crash after the intent and some of its changes reached disk: opening the shard
    /// writes the rest (removals included) and forgets the intent.
    #[test]
    fn open_finishes_an_interrupted_multi_key_write() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let shard = Shard::open(&db, "s").unwrap();
        shard.tree.insert(b"gone", &b"old"[..]).unwrap();
        shard.tree.insert(b"k1", &b"old"[..]).unwrap();
        let staged = changes(&[
            (b"k1", Some(b"new1")),
            (b"k2", Some(b"new2")),
            (b"gone", None),
            (APPLIED_KEY, Some(b"marker")),
        ]);
        shard.tree.insert(INTENT_KEY, encode_intent(&staged)).unwrap();
        shard.tree.insert(b"k1", &b"new1"[..]).unwrap();
        drop(shard);

        let shard = Shard::open(&db, "s").unwrap();
        let get = |k: &[u8]| shard.tree.get(k).unwrap().map(|v| v.to_vec());
        assert_eq!(get(b"k1").as_deref(), Some(&b"new1"[..]));
        assert_eq!(get(b"k2").as_deref(), Some(&b"new2"[..]));
        assert_eq!(get(b"gone"), None);
        assert_eq!(shard.marker().unwrap().as_deref(), Some(&b"marker"[..]));
        assert_eq!(get(INTENT_KEY), None);
    }

    /// The intent is replayed before the shard reads anything: a request-id record it holds
    /// is remembered once the shard is open.
    #[test]
    fn open_replays_the_intent_before_loading_request_ids() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let shard = Shard::open(&db, "s").unwrap();
        let record = encode_dedup_record(&[(7, b"null".to_vec())]);
        let mark = Mark {
            through: 3,
            ..Mark::default()
        };
        let staged = BTreeMap::from([
            (dedup_record_key(3), Some(record)),
            (MARK_KEY.to_vec(), Some(mark.encode())),
        ]);
        shard.tree.insert(INTENT_KEY, encode_intent(&staged)).unwrap();
        drop(shard);
        let shard = Shard::open(&db, "s").unwrap();
        assert_eq!(shard.remembered_ids(), 1);
        assert_eq!(shard.dedup.lock().unwrap().by_id.get(&7), Some(&3));
    }

    /// A snapshot never carries an intent left by a failed commit.
    #[test]
    fn export_leaves_out_the_intent() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let shard = Shard::open(&db, "s").unwrap();
        shard.tree.insert(b"k", &b"v"[..]).unwrap();
        let with_intent = encode_intent(&BTreeMap::from([(b"k".to_vec(), None)]));
        let exported_before = shard.export().unwrap();
        shard.tree.insert(INTENT_KEY, with_intent).unwrap();
        assert_eq!(shard.export().unwrap(), exported_before);
    }

    /// A finished multi-key write leaves no intent behind (a later restart must not write
    /// its values over newer ones).
    #[test]
    fn a_finished_write_leaves_no_intent() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let shard = Shard::open(&db, "s").unwrap();
        let mut writes = Writes::new(&shard.tree);
        writes.insert(b"a", b"1");
        writes.insert(b"b", b"2");
        writes.write(false).unwrap();
        assert_eq!(shard.tree.get(b"b").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(shard.tree.get(INTENT_KEY).unwrap(), None);
    }

    fn put_record(tree: &sled::Tree, at: u64) {
        let record = encode_dedup_record(&[(u128::from(at), b"null".to_vec())]);
        tree.insert(dedup_record_key(at), record).unwrap();
    }

    /// A shard written before the mark key: opening it moves its marker into a mark and
    /// keeps every request-id record it has (its commits were atomic).
    #[test]
    fn a_legacy_marker_moves_into_the_mark_when_the_shard_opens() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("s").unwrap();
        tree.insert(APPLIED_KEY, &b"old"[..]).unwrap();
        put_record(&tree, 4);
        put_record(&tree, 9);
        let shard = Shard::open(&db, "s").unwrap();
        assert_eq!(shard.marker().unwrap().as_deref(), Some(&b"old"[..]));
        assert_eq!(shard.tree.get(APPLIED_KEY).unwrap(), None);
        assert_eq!(shard.remembered_ids(), 2);
        drop(shard);
        // A crash between writing the mark and removing the legacy key: the same again.
        tree.insert(APPLIED_KEY, &b"old"[..]).unwrap();
        let shard = Shard::open(&db, "s").unwrap();
        assert_eq!(shard.marker().unwrap().as_deref(), Some(&b"old"[..]));
        assert_eq!(shard.tree.get(APPLIED_KEY).unwrap(), None);
        assert_eq!(shard.remembered_ids(), 2);
        shard.apply_batch_once(&[], Some(b"new"), 10).unwrap();
        shard.set_marker(b"newer").unwrap();
        drop(shard);
        let shard = Shard::open(&db, "s").unwrap();
        assert_eq!(shard.marker().unwrap().as_deref(), Some(&b"newer"[..]));
        assert_eq!(shard.remembered_ids(), 2);
    }

    /// An older binary that installed a snapshot with a mark keeps that mark as an opaque
    /// key and moves its own marker on: the legacy marker is the current one, and the
    /// records it wrote since count.
    #[test]
    fn a_stale_mark_beside_a_legacy_marker_is_rebuilt() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("s").unwrap();
        let stale = Mark {
            floor: 5,
            through: 6,
            marker: Some(b"stale".to_vec()),
        };
        tree.insert(MARK_KEY, stale.encode()).unwrap();
        tree.insert(APPLIED_KEY, &b"current"[..]).unwrap();
        put_record(&tree, 3);
        put_record(&tree, 12);
        let shard = Shard::open(&db, "s").unwrap();
        assert_eq!(shard.marker().unwrap().as_deref(), Some(&b"current"[..]));
        assert_eq!(shard.remembered_ids(), 2);
        let mark = Mark::load(&shard.tree).unwrap();
        assert_eq!((mark.floor, mark.through), (0, 12));
    }

    /// A snapshot is settled as an opened shard is: records its mark disowns do not count.
    #[test]
    fn an_imported_snapshot_keeps_only_the_records_its_mark_owns() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let source = db.open_tree("source").unwrap();
        let mark = Mark {
            floor: 3,
            through: 7,
            marker: Some(b"m".to_vec()),
        };
        source.insert(MARK_KEY, mark.encode()).unwrap();
        for at in [2, 3, 7, 8] {
            put_record(&source, at);
        }
        let snapshot = Shard::open(&db, "source").unwrap();
        let bytes = {
            // Export as taken: the raw tree, disowned records included.
            for at in [2, 8] {
                put_record(&snapshot.tree, at);
            }
            snapshot.export().unwrap()
        };
        let shard = Shard::open(&db, "s").unwrap();
        shard.import(&bytes).unwrap();
        assert_eq!(shard.remembered_ids(), 2);
        assert_eq!(shard.tree.get(dedup_record_key(2)).unwrap(), None);
        assert_eq!(shard.tree.get(dedup_record_key(8)).unwrap(), None);
        assert_eq!(shard.marker().unwrap().as_deref(), Some(&b"m"[..]));
    }

    /// Marks round-trip; a damaged one is an error, not a panic.
    #[test]
    fn marks_round_trip_and_damage_is_an_error() {
        for mark in [
            Mark::default(),
            Mark {
                floor: 77,
                through: 78,
                marker: Some(b"m".to_vec()),
            },
            Mark {
                floor: u64::MAX,
                through: u64::MAX,
                marker: Some(Vec::new()),
            },
        ] {
            let bytes = mark.encode();
            assert_eq!(Mark::decode(&bytes).unwrap(), mark);
            for cut in 0..bytes.len() {
                // Only a marker's own bytes can be cut without the mark reading as damaged.
                if cut < 18 {
                    assert!(Mark::decode(&bytes[..cut]).is_err(), "{mark:?} cut at {cut}");
                }
            }
        }
        let mut bytes = Mark::default().encode();
        bytes[0] = 2;
        assert!(Mark::decode(&bytes).is_err());
        bytes[0] = 1;
        bytes.push(5);
        assert!(Mark::decode(&bytes).is_err());
    }

    /// Intents round-trip, and a damaged one is an error, not a panic.
    #[test]
    fn intents_round_trip_and_damage_is_an_error() {
        let staged = changes(&[(b"a", Some(b"")), (b"b", None), (b"c", Some(b"xyz"))]);
        let bytes = encode_intent(&staged);
        let decoded: Vec<(Vec<u8>, Option<Vec<u8>>)> = decode_intent(&bytes)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(decoded, staged.into_iter().collect::<Vec<_>>());
        // Changes take 10, 6 and 13 bytes: only a cut between two whole changes decodes.
        for cut in 1..bytes.len() {
            let whole = [10, 16].contains(&cut);
            assert_eq!(decode_intent(&bytes[..cut]).is_ok(), whole, "cut at {cut}");
        }
        let db = sled::Config::new().temporary(true).open().unwrap();
        db.open_tree("s").unwrap().insert(INTENT_KEY, &bytes[..5]).unwrap();
        assert!(Shard::open(&db, "s").is_err());
    }
}
