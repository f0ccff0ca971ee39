//! Storage keys: `table_id (8 B, BE) ‖ partition hash (8 B, BE) ‖ enc(partition) ‖ enc(sort)`.
//!
//! Items of one partition are contiguous and ordered by sort key (the encoding preserves
//! DynamoDB's order), so a Query is one range read. Partitions are ordered by hash, so a Scan
//! segment or a shard is one contiguous hash range.

use tessera_model::key::{encode_key_value, partition_hash, PrimaryKey};
use tessera_model::AttributeValue;

pub fn table_prefix(table_id: u64) -> [u8; 8] {
    table_id.to_be_bytes()
}

/// `table ‖ hash`: where a hash range begins.
pub fn hash_prefix(table_id: u64, hash: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.extend_from_slice(&table_id.to_be_bytes());
    k.extend_from_slice(&hash.to_be_bytes());
    k
}

/// All items of one partition start with this.
pub fn partition_prefix(table_id: u64, partition: &AttributeValue) -> Vec<u8> {
    let mut k = hash_prefix(table_id, partition_hash(partition));
    encode_key_value(partition, &mut k);
    k
}

pub fn item_key(table_id: u64, key: &PrimaryKey) -> Vec<u8> {
    let mut k = partition_prefix(table_id, &key.partition);
    if let Some(sort) = &key.sort {
        encode_key_value(sort, &mut k);
    }
    k
}

/// The smallest key greater than every key starting with `prefix` (None if there is none).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}
