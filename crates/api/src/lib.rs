//! # tessera-api
//!
//! DynamoDB's HTTP JSON protocol: `POST /` with `X-Amz-Target: DynamoDB_20120810.<Op>`. Each
//! operation is decoded and validated in DynamoDB's order (JSON shape, constraints, values,
//! expressions, then the table and its key schema), executed by a [`Backend`], and encoded
//! with `x-amz-crc32` and `x-amzn-RequestId`. **This is the only crate that knows the wire
//! JSON**; backends see the typed operations of `tessera_model::ops`.
//!
//! ## Layout
//! - `http`: the axum server, headers, authentication presence, dispatch.
//! - `request`: member access with the service's error wording; constraint collection.
//! - `error`: kind → `__type` + status (the one mapping).
//! - `client`: the same wire format from the calling side (DAX → routers, tools), with
//!   endpoint failover.
//! - `ops::{table, item, read, batch}`: the operations.

pub mod client;
mod error;
mod http;
mod legacy;
mod ops;
mod request;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
pub use client::{Client, RawReply};

use tessera_model::ops::{DeleteItem, GetItem, Page, PutItem, Query, Scan, UpdateItem, WriteOutput, WriteRequest};
use tessera_model::table::TableMeta;
use tessera_model::{Item, Result};

pub use error::{body as error_body, wire as error_wire};
pub use http::{router, serve, without_nagle};

/// What executes operations: the embedded store of `tessera local`, or the cluster router.
/// Requests reach it validated; it answers with model types or a DynamoDB-kinded error.
pub trait Backend: Send + Sync + 'static {
    fn create_table(&self, meta: TableMeta) -> impl Future<Output = Result<TableMeta>> + Send;
    fn describe_table(&self, name: &str) -> impl Future<Output = Result<Option<TableMeta>>> + Send;
    /// All table names in byte order.
    fn list_tables(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Replaces a table's mutable metadata (throughput, billing mode, tags).
    fn update_table(&self, meta: TableMeta) -> impl Future<Output = Result<TableMeta>> + Send;
    fn delete_table(&self, name: &str) -> impl Future<Output = Result<TableMeta>> + Send;
    fn put_item(&self, table: &TableMeta, op: PutItem) -> impl Future<Output = Result<WriteOutput>> + Send;
    fn update_item(&self, table: &TableMeta, op: UpdateItem) -> impl Future<Output = Result<WriteOutput>> + Send;
    fn delete_item(&self, table: &TableMeta, op: DeleteItem) -> impl Future<Output = Result<WriteOutput>> + Send;
    /// The item is shared: a cache answers with the image it holds, without copying it.
    fn get_item(&self, table: &TableMeta, op: GetItem) -> impl Future<Output = Result<Option<Arc<Item>>>> + Send;
    fn query(&self, table: &TableMeta, op: Query) -> impl Future<Output = Result<Page>> + Send;
    fn scan(&self, table: &TableMeta, op: Scan) -> impl Future<Output = Result<Page>> + Send;
    /// Applies one table's share of a BatchWriteItem; returns the requests left unprocessed.
    fn batch_write(
        &self,
        table: &TableMeta,
        requests: Vec<WriteRequest>,
    ) -> impl Future<Output = Result<Vec<WriteRequest>>> + Send;

    /// A proxy's hook (the DAX tier): answer `operation` from the raw request, bypassing
    /// decoding here, or None to decode and execute it as usual. Called after the JSON body,
    /// the target and the signature's presence were checked.
    fn passthrough(
        &self,
        operation: &str,
        body: &Bytes,
        authorization: &str,
    ) -> impl Future<Output = Option<Result<RawReply>>> + Send {
        let _ = (operation, body, authorization);
        std::future::ready(None)
    }
}
