//! # tessera-model
//!
//! DynamoDB's data model with no I/O: [`AttributeValue`] and its wire JSON, exact [`Number`]s,
//! items and their size, key schemas and key validation, the order-preserving key encoding and
//! the partition hash, DynamoDB's limits, and the one [`Error`]/[`ErrorKind`] every layer uses.
//!
//! ## Layout
//! - `error`: `ErrorKind` (DynamoDB's error vocabulary) and `Error` (kind + exact message).
//! - `number`: 38-digit decimal numbers, their arithmetic and sortable encoding.
//! - `value`: `AttributeValue`, `Item`, JSON decoding in DynamoDB's validation order, item size.
//! - `key`: key schemas, key validation, order-preserving key bytes, the 64-bit partition hash.
//! - `shape`: JSON type checks with the service's `SerializationException` wording.
//! - `ops`: typed operations as a backend receives them (serde, for the wire between processes).
//! - `table`: table metadata.
//! - `limits`: DynamoDB's service limits as named constants.
//! - `wire`: the binary encoding between our processes and in the Raft log (postcard).

pub mod error;
pub mod key;
pub mod limits;
pub mod number;
pub mod ops;
pub mod shape;
pub mod table;
pub mod value;
pub mod wire;

pub use error::{Error, ErrorKind, Result};
pub use key::{KeyAttribute, KeySchema, KeyType, ScalarType};
pub use number::Number;
pub use value::{item_from_json, item_size, item_to_json, AttributeValue, Item, ValueType};
