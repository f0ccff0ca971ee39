//! Typed DynamoDB operations, as the API layer hands them to a backend (the embedded engine
//! or the cluster router) and as they travel between processes. Expressions travel as text
//! with their placeholder maps: the shard re-parses them, so a command is self-contained and
//! independent of any in-memory representation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::value::{AttributeValue, Item};

/// The placeholder maps of one request, shared by all its expressions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Placeholders {
    pub names: BTreeMap<String, String>,
    pub values: BTreeMap<String, AttributeValue>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnValues {
    #[default]
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

impl ReturnValues {
    pub fn from_wire(s: &str) -> Option<ReturnValues> {
        Some(match s {
            "NONE" => ReturnValues::None,
            "ALL_OLD" => ReturnValues::AllOld,
            "UPDATED_OLD" => ReturnValues::UpdatedOld,
            "ALL_NEW" => ReturnValues::AllNew,
            "UPDATED_NEW" => ReturnValues::UpdatedNew,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Select {
    #[default]
    AllAttributes,
    AllProjectedAttributes,
    SpecificAttributes,
    Count,
}

/// A write's condition and what to return.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteOptions {
    pub condition: Option<String>,
    pub placeholders: Placeholders,
    pub return_values: ReturnValues,
    /// ReturnValuesOnConditionCheckFailure = ALL_OLD.
    pub return_old_on_condition_failure: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PutItem {
    pub table: String,
    pub item: Item,
    pub options: WriteOptions,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeleteItem {
    pub table: String,
    pub key: Item,
    pub options: WriteOptions,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateItem {
    pub table: String,
    pub key: Item,
    /// None: an UpdateItem with only a key creates the key-only item if missing.
    pub update: Option<String>,
    pub options: WriteOptions,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetItem {
    pub table: String,
    pub key: Item,
    pub projection: Option<String>,
    pub placeholders: Placeholders,
    pub consistent: bool,
}

/// What a single-item write returns: the attributes asked for by ReturnValues.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteOutput {
    pub attributes: Option<Item>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub table: String,
    pub index: Option<String>,
    pub key_condition: String,
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub placeholders: Placeholders,
    pub select: Select,
    pub limit: Option<usize>,
    pub exclusive_start_key: Option<Item>,
    pub forward: bool,
    pub consistent: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    pub table: String,
    pub index: Option<String>,
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub placeholders: Placeholders,
    pub select: Select,
    pub limit: Option<usize>,
    pub exclusive_start_key: Option<Item>,
    /// (Segment, TotalSegments) of a parallel scan.
    pub segment: Option<(u32, u32)>,
    pub consistent: bool,
}

/// A page of Query or Scan results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Empty when Select = COUNT.
    pub items: Vec<Item>,
    pub count: usize,
    pub scanned_count: usize,
    pub last_evaluated_key: Option<Item>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WriteRequest {
    Put(Item),
    Delete(Item),
}

/// One table's part of a BatchWriteItem (validated: ≤ 25 requests overall, no duplicate keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchWrite {
    pub table: String,
    pub requests: Vec<WriteRequest>,
}

/// One table's part of a BatchGetItem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchGet {
    pub table: String,
    pub keys: Vec<Item>,
    pub projection: Option<String>,
    pub placeholders: Placeholders,
    pub consistent: bool,
}
