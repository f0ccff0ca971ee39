//! DynamoDB's service limits, as named constants (units last).

/// Largest item, counted by DynamoDB's item-size rules (attribute names + values).
pub const ITEM_BYTES_MAX: usize = 400 * 1024;
/// Deepest nesting of maps and lists inside one attribute value.
pub const NESTING_DEPTH_MAX: usize = 32;
/// Largest partition key value, in bytes (UTF-8 for S, raw for B).
pub const PARTITION_KEY_BYTES_MAX: usize = 2048;
/// Largest sort key value, in bytes.
pub const SORT_KEY_BYTES_MAX: usize = 1024;
/// Significant decimal digits a Number may hold.
pub const NUMBER_DIGITS_MAX: usize = 38;
/// Largest expression string (each of condition, filter, key condition, projection, update).
pub const EXPRESSION_BYTES_MAX: usize = 4096;
/// Longest attribute name placeholder or value placeholder.
pub const PLACEHOLDER_BYTES_MAX: usize = 255;
/// Operands of one IN comparison.
pub const IN_OPERANDS_MAX: usize = 100;
/// Operators and functions in one UpdateExpression.
pub const UPDATE_OPERATORS_MAX: usize = 300;
/// Keys in one BatchGetItem request.
pub const BATCH_GET_ITEMS_MAX: usize = 100;
/// Requests in one BatchWriteItem request.
pub const BATCH_WRITE_ITEMS_MAX: usize = 25;
/// Items in one transaction.
pub const TRANSACT_ITEMS_MAX: usize = 100;
/// Data read by one Query or Scan page before it stops with LastEvaluatedKey.
pub const QUERY_PAGE_BYTES_MAX: usize = 1024 * 1024;
/// Largest request body accepted; larger requests get HTTP 413.
pub const REQUEST_BODY_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Table and index name length bounds.
pub const TABLE_NAME_LEN_MIN: usize = 3;
pub const TABLE_NAME_LEN_MAX: usize = 255;
