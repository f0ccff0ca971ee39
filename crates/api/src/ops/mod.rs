//! The operations, one function each: decode and validate in DynamoDB's order, call the
//! backend, encode the answer.

mod batch;
mod item;
mod read;
mod table;

use serde_json::Value;
use tessera_model::table::TableMeta;
use tessera_model::{Error, ErrorKind, Result};

use crate::request::Req;
use crate::Backend;

#[cfg(test)]
pub use table::description;

/// An operation's answer body: a JSON tree, or bytes already encoded (the hot single-item
/// read, whose item would otherwise be copied into a tree just to be written out).
pub enum Answer {
    Json(Value),
    Encoded(Vec<u8>),
}

pub async fn execute<B: Backend>(backend: &B, operation: &str, body: &Value) -> Result<Answer> {
    let req = Req::new(body)?;
    let answer = match operation {
        "CreateTable" => table::create(backend, req).await,
        "DescribeTable" => table::describe(backend, req).await,
        "ListTables" => table::list(backend, req).await,
        "DeleteTable" => table::delete(backend, req).await,
        "UpdateTable" => table::update(backend, req).await,
        "TagResource" => table::tag(backend, req).await,
        "UntagResource" => table::untag(backend, req).await,
        "ListTagsOfResource" => table::list_tags(backend, req).await,
        "DescribeEndpoints" => Ok(table::describe_endpoints()),
        "DescribeLimits" => Ok(table::describe_limits()),
        "PutItem" => item::put(backend, req).await,
        "GetItem" => return item::get(backend, req).await,
        "UpdateItem" => item::update(backend, req).await,
        "DeleteItem" => item::delete(backend, req).await,
        "Query" => read::query(backend, req).await,
        "Scan" => read::scan(backend, req).await,
        "BatchGetItem" => batch::get(backend, req).await,
        "BatchWriteItem" => batch::write(backend, req).await,
        _ => Err(Error::new(ErrorKind::UnknownOperation, "")),
    };
    answer.map(Answer::Json)
}

/// The table, or `ResourceNotFoundException` as the data-plane operations word it.
async fn table_or_not_found<B: Backend>(backend: &B, name: &str) -> Result<TableMeta> {
    backend
        .describe_table(name)
        .await?
        .ok_or_else(Error::resource_not_found)
}

/// `ConsumedCapacity` for one table, when the request asked for it. Tessera does not meter
/// capacity yet, so it reports the nominal single unit an item of up to 1 KB (write) or 4 KB
/// (read) costs.
fn consumed_capacity(req: &Req<'_>, table: &str, units: f64) -> Result<Option<Value>> {
    Ok(match req.str("ReturnConsumedCapacity")? {
        Some("TOTAL") | Some("INDEXES") => Some(serde_json::json!({"TableName": table, "CapacityUnits": units})),
        _ => None,
    })
}
