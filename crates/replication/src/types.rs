//! The one Raft type configuration shared by every group of a node, and what its log carries.

use std::fmt;
use std::sync::Arc;
// `declare_raft_types!` names `Cursor` in its defaults.
#[allow(unused_imports)]
use std::io::Cursor;

use serde::{Deserialize, Serialize};
use tessera_model::ops::{GetItem, Page, Query, Scan, WriteOutput};
use tessera_model::{Error, Item};
use tessera_storage::{RequestId, ShardCommand, TableRef};

use crate::meta::{MetaCommand, MetaOutput};

/// What the cluster knows about a node: where to reach it and its availability zone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub addr: String,
    pub az: String,
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.addr, self.az)
    }
}

/// A log entry's payload: a shard mutation (data groups) or a metadata change (group 0).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Command {
    Shard(ShardCommand),
    Meta(MetaCommand),
    /// A shard mutation applied at most once per request id (what routers propose, since
    /// they retry proposals whose outcome they could not learn).
    ShardOnce {
        request: RequestId,
        command: Arc<ShardCommand>,
    },
    /// Several `ShardOnce` mutations proposed together (the leader batches concurrent
    /// proposals of a group into one entry), applied in order in one commit.
    ///
    /// Payloads are shared (`Arc`): openraft clones an entry for every follower it is sent
    /// to and again to apply it.
    ShardBatch(Arc<Vec<(RequestId, ShardCommand)>>),
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Shard(_) | Command::ShardOnce { .. } => f.write_str("shard command"),
            Command::ShardBatch(c) => write!(f, "{} shard commands", c.len()),
            Command::Meta(_) => f.write_str("meta command"),
        }
    }
}

/// What applying a command produced (DynamoDB errors such as a failed condition included:
/// they are results, not failures of the log).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum CommandResult {
    Shard(Result<WriteOutput, Error>),
    /// One result per command of a `ShardBatch`, in order.
    ShardBatch(Vec<Result<WriteOutput, Error>>),
    Meta(Result<MetaOutput, Error>),
    Empty,
}

openraft::declare_raft_types!(
    /// Type configuration of every Tessera Raft group.
    pub TypeConfig:
        D = Command,
        R = CommandResult,
        NodeId = u64,
        Node = NodeInfo,
        SnapshotData = Vec<u8>,
);

/// A read served by a data group's replica.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ReadOp {
    Get {
        table: TableRef,
        op: GetItem,
    },
    Query {
        table: TableRef,
        op: Query,
    },
    /// A scan of the partition-hash range `[lo, hi)` (hi None = end of the hash space),
    /// reading at most about `byte_budget` bytes.
    Scan {
        table: TableRef,
        op: Scan,
        lo: u64,
        hi: Option<u64>,
        byte_budget: usize,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ReadResult {
    Item(Option<Item>),
    Page(Page),
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
    use tessera_model::ops::{PutItem, WriteOptions};
    use tessera_model::{AttributeValue, Item, KeyAttribute, KeySchema, ScalarType};

    use super::*;

    /// A log entry's bytes are a stored format (see `tessera_model::wire`): this pins them.
    #[test]
    fn log_entry_layout_is_stable() {
        let mut item = Item::new();
        item.insert("pk".into(), AttributeValue::S("a".into()));
        let table = TableRef {
            id: 4,
            key_schema: KeySchema {
                partition: KeyAttribute {
                    name: "pk".into(),
                    scalar_type: ScalarType::S,
                },
                sort: None,
            },
        };
        let put = ShardCommand::Put {
            table: table.clone(),
            op: PutItem {
                table: "t".into(),
                item,
                options: WriteOptions::default(),
            },
        };
        let request = RequestId { id: 5, at_millis: 9 };
        let entry: Entry<TypeConfig> = Entry {
            log_id: LogId::new(CommittedLeaderId::new(3, 1), 7),
            payload: EntryPayload::Normal(Command::ShardBatch(Arc::new(vec![(request, put)]))),
        };
        let bytes = tessera_model::wire::encode(&entry).unwrap();
        let back: Entry<TypeConfig> = tessera_model::wire::decode(&bytes).unwrap();
        assert_eq!(back.log_id, entry.log_id);
        #[rustfmt::skip]
        let expected = [
            tessera_model::wire::TAG,
            3, 1, 7, // log id: term, leader node, index
            1, 3, 1, // EntryPayload::Normal, Command::ShardBatch, one command
            5, 9, // request id, its clock
            0, 4, 2, b'p', b'k', 0, 0, // ShardCommand::Put, table id, key schema: "pk" S, no sort key
            1, b't', 1, 2, b'p', b'k', 0, 1, b'a', // table name, item {"pk": S "a"}
            0, 0, 0, 0, 0, // options: no condition, no names, no values, ReturnValues NONE, false
        ];
        assert_eq!(bytes, expected);
    }
}
