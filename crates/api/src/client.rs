//! A DynamoDB JSON client of our own services: the other half of the wire format this crate
//! serves. The DAX tier uses it to reach the routers, and tools (bench, chaos workloads) to
//! reach any endpoint. Typed calls encode `tessera_model::ops` requests and decode answers back
//! into model types; [`Client::call`] sends a raw body for pass-through.
//!
//! Failover: a client holds several endpoints (routers, or DAX nodes) and starts each call at
//! the next one in turn. A read (or any call marked idempotent) that cannot connect, times
//! out or gets a 5xx moves on to the next endpoint until every endpoint was tried once. A write
//! moves on only when it certainly was not applied: the connection could not be made, or the
//! answer was 503 (our services' "not applied, unavailable"); after a timeout or a 500 its
//! outcome is unknown, and sending it again could apply it twice. 4xx answers are the
//! caller's and never retried.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};
use tessera_model::key::{KeyAttribute, KeySchema, ScalarType};
use tessera_model::ops::{
    DeleteItem, GetItem, Page, Placeholders, PutItem, Query, ReturnValues, Scan, Select, UpdateItem, WriteOptions,
    WriteOutput, WriteRequest,
};
use tessera_model::table::{AttributeDefinition, BillingMode, TableMeta, Throughput};
use tessera_model::{item_from_json, item_to_json, Error, ErrorKind, Item, Result};

use crate::http::{CONTENT_TYPE, TARGET_PREFIX};

/// An answer as it came over the wire.
#[derive(Clone, Debug)]
pub struct RawReply {
    pub status: u16,
    pub body: Bytes,
    /// Response headers of interest to callers that proxy (`x-tessera-*`).
    pub headers: Vec<(String, String)>,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a failed call may be sent again elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Reads and other calls that can be repeated without effect.
    Idempotent,
    /// Writes: repeat only what certainly was not applied.
    Once,
}

/// A failed exchange with one endpoint.
#[derive(Debug)]
pub struct CallFailure {
    pub message: String,
    /// False when the request certainly never reached the server (no connection).
    pub sent: bool,
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A keep-alive HTTP/1.1 client over a list of endpoints (`http://host:port`).
pub struct Client {
    endpoints: Vec<String>,
    next: AtomicUsize,
    http: HyperClient<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    /// Sent as `Authorization` on calls that carry none of the caller's.
    authorization: String,
    /// How long a call keeps going round the endpoints (with backoff) while every one is
    /// unreachable or answers 5xx. Zero: one pass.
    retry_budget: Duration,
}

/// Enough of a SigV4 header for our services, which check only its presence today.
pub const DEFAULT_AUTHORIZATION: &str =
    "AWS4-HMAC-SHA256 Credential=tessera/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0";

impl Client {
    pub fn new(endpoints: Vec<String>, timeout: Duration) -> Client {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Client {
            endpoints: endpoints
                .into_iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            next: AtomicUsize::new(0),
            http,
            timeout,
            authorization: DEFAULT_AUTHORIZATION.to_string(),
            retry_budget: Duration::ZERO,
        }
    }

    /// Keeps retrying unavailability (connection errors, 5xx) for up to `budget` per call,
    /// like an SDK's retries: a 5xx write may have been applied, so retried writes should be
    /// idempotent (puts, deletes, SETs), as with any DynamoDB client.
    pub fn with_retry_budget(mut self, budget: Duration) -> Client {
        self.retry_budget = budget;
        self
    }

    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// One attempt against one endpoint. Err = the endpoint could not be reached or did not
    /// answer in time (the request may or may not have been applied).
    pub async fn call_endpoint(
        &self,
        endpoint: &str,
        operation: &str,
        body: Bytes,
        authorization: Option<&str>,
    ) -> std::result::Result<RawReply, CallFailure> {
        let failed = |message: String, sent: bool| CallFailure { message, sent };
        let request = axum::http::Request::post(format!("{endpoint}/"))
            .header("content-type", CONTENT_TYPE)
            .header("x-amz-target", format!("{TARGET_PREFIX}{operation}"))
            .header("authorization", authorization.unwrap_or(&self.authorization))
            .body(Full::new(body))
            .map_err(|e| failed(e.to_string(), false))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| failed(e.to_string(), !e.is_connect()))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter(|(n, _)| n.as_str().starts_with("x-tessera-"))
                .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| failed(e.to_string(), true))?
                .to_bytes();
            Ok(RawReply { status, body, headers })
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(failed(
                format!("no answer from {endpoint} within {:?}", self.timeout),
                true,
            )),
        }
    }

    /// `GET endpoint/path` as JSON (the DAX tier's discovery call).
    pub async fn get_json(&self, endpoint: &str, path: &str) -> std::result::Result<Value, String> {
        let request = axum::http::Request::get(format!("{}{path}", endpoint.trim_end_matches('/')))
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("{endpoint}{path}: HTTP {}", response.status()));
            }
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            serde_json::from_slice(&body).map_err(|e| e.to_string())
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("no answer from {endpoint} within {:?}", self.timeout))?
    }

    /// Sends a raw request, failing over between endpoints as `retry` allows (see the module
    /// doc). The last answer (or an InternalServerError naming the last failure) is returned.
    pub async fn call(
        &self,
        operation: &str,
        body: Bytes,
        authorization: Option<&str>,
        retry: Retry,
    ) -> Result<RawReply> {
        let n = self.endpoints.len();
        if n == 0 {
            return Err(Error::new(ErrorKind::InternalServerError, "no endpoints configured"));
        }
        let deadline = tokio::time::Instant::now() + self.retry_budget;
        let mut backoff = Duration::from_millis(50);
        loop {
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let mut last: Option<RawReply> = None;
            let mut last_error = String::new();
            for i in 0..n {
                let endpoint = &self.endpoints[(start + i) % n];
                match self
                    .call_endpoint(endpoint, operation, body.clone(), authorization)
                    .await
                {
                    Ok(reply) if reply.status < 500 => return Ok(reply),
                    Ok(reply) if retry == Retry::Once && reply.status != 503 => return Ok(reply),
                    Ok(reply) => last = Some(reply),
                    Err(e) if retry == Retry::Once && e.sent => {
                        return Err(Error::new(
                            ErrorKind::InternalServerError,
                            format!("outcome unknown: {}", e.message),
                        ))
                    }
                    Err(e) => last_error = e.message,
                }
            }
            if tokio::time::Instant::now() + backoff > deadline {
                return last.ok_or_else(|| match retry {
                    // Every attempt of a write went unsent (no connection): certainly not
                    // applied, which is what 503 says.
                    Retry::Once => Error::new(ErrorKind::ServiceUnavailable, format!("not sent: {last_error}")),
                    Retry::Idempotent => Error::new(ErrorKind::InternalServerError, last_error),
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
    }

    /// A typed call: JSON in, JSON out, errors decoded into DynamoDB kinds.
    pub async fn call_json(&self, operation: &str, request: &Value) -> Result<Value> {
        let body =
            serde_json::to_vec(request).map_err(|e| Error::new(ErrorKind::InternalServerError, e.to_string()))?;
        let reply = self
            .call(operation, Bytes::from(body), None, retry_of(operation))
            .await?;
        decode_reply(&reply)
    }

    pub async fn describe_table(&self, name: &str) -> Result<Option<TableMeta>> {
        match self.call_json("DescribeTable", &json!({ "TableName": name })).await {
            Ok(v) => table_from_description(&v["Table"]).map(Some),
            Err(e) if e.kind == ErrorKind::ResourceNotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn get_item(&self, op: &GetItem) -> Result<Option<Item>> {
        let v = self.call_json("GetItem", &get_item_request(op)).await?;
        v.get("Item").map(item_from_json).transpose()
    }

    pub async fn put_item(&self, op: &PutItem) -> Result<WriteOutput> {
        let mut req = json!({ "TableName": op.table, "Item": item_to_json(&op.item) });
        write_options(&mut req, &op.options);
        write_output(self.call_json("PutItem", &req).await?)
    }

    pub async fn update_item(&self, op: &UpdateItem) -> Result<WriteOutput> {
        let mut req = json!({ "TableName": op.table, "Key": item_to_json(&op.key) });
        if let Some(u) = &op.update {
            req["UpdateExpression"] = json!(u);
        }
        write_options(&mut req, &op.options);
        write_output(self.call_json("UpdateItem", &req).await?)
    }

    pub async fn delete_item(&self, op: &DeleteItem) -> Result<WriteOutput> {
        let mut req = json!({ "TableName": op.table, "Key": item_to_json(&op.key) });
        write_options(&mut req, &op.options);
        write_output(self.call_json("DeleteItem", &req).await?)
    }

    pub async fn query(&self, op: &Query) -> Result<Page> {
        let mut req = json!({
            "TableName": op.table,
            "KeyConditionExpression": op.key_condition,
            "ScanIndexForward": op.forward,
        });
        read_options(
            &mut req,
            op.index.as_deref(),
            op.filter.as_deref(),
            op.projection.as_deref(),
            &op.placeholders,
            op.select,
            op.limit,
            op.exclusive_start_key.as_ref(),
            op.consistent,
        );
        page_from_json(self.call_json("Query", &req).await?)
    }

    pub async fn scan(&self, op: &Scan) -> Result<Page> {
        let mut req = json!({ "TableName": op.table });
        read_options(
            &mut req,
            op.index.as_deref(),
            op.filter.as_deref(),
            op.projection.as_deref(),
            &op.placeholders,
            op.select,
            op.limit,
            op.exclusive_start_key.as_ref(),
            op.consistent,
        );
        if let Some((segment, total)) = op.segment {
            req["Segment"] = json!(segment);
            req["TotalSegments"] = json!(total);
        }
        page_from_json(self.call_json("Scan", &req).await?)
    }

    /// One table's BatchWriteItem; returns the requests the service left unprocessed.
    pub async fn batch_write(&self, table: &str, requests: &[WriteRequest]) -> Result<Vec<WriteRequest>> {
        let list: Vec<Value> = requests
            .iter()
            .map(|r| match r {
                WriteRequest::Put(item) => json!({"PutRequest": {"Item": item_to_json(item)}}),
                WriteRequest::Delete(key) => json!({"DeleteRequest": {"Key": item_to_json(key)}}),
            })
            .collect();
        let mut items = Map::new();
        items.insert(table.to_string(), Value::Array(list));
        let v = self
            .call_json("BatchWriteItem", &json!({ "RequestItems": Value::Object(items) }))
            .await?;
        let mut left = Vec::new();
        if let Some(list) = v["UnprocessedItems"].get(table).and_then(Value::as_array) {
            for r in list {
                if let Some(item) = r.get("PutRequest").and_then(|p| p.get("Item")) {
                    left.push(WriteRequest::Put(item_from_json(item)?));
                } else if let Some(key) = r.get("DeleteRequest").and_then(|d| d.get("Key")) {
                    left.push(WriteRequest::Delete(item_from_json(key)?));
                }
            }
        }
        Ok(left)
    }
}

/// How an operation may be retried: writes (and control-plane changes) at most once.
pub fn retry_of(operation: &str) -> Retry {
    match operation {
        "PutItem"
        | "UpdateItem"
        | "DeleteItem"
        | "BatchWriteItem"
        | "TransactWriteItems"
        | "ExecuteStatement"
        | "BatchExecuteStatement"
        | "ExecuteTransaction"
        | "CreateTable"
        | "DeleteTable"
        | "UpdateTable" => Retry::Once,
        _ => Retry::Idempotent,
    }
}

fn internal(what: &str) -> Error {
    Error::new(
        ErrorKind::InternalServerError,
        format!("unexpected answer from upstream: {what}"),
    )
}

/// A wire answer as a JSON value, or the DynamoDB error it carries.
pub fn decode_reply(reply: &RawReply) -> Result<Value> {
    let v: Value = if reply.body.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(&reply.body).map_err(|_| internal("a body that is not JSON"))?
    };
    if reply.status == 200 {
        return Ok(v);
    }
    let type_name = v.get("__type").and_then(Value::as_str).unwrap_or("");
    let kind = kind_of_type(type_name).unwrap_or(if reply.status >= 500 {
        ErrorKind::InternalServerError
    } else {
        ErrorKind::Validation
    });
    let message = v
        .get("message")
        .or_else(|| v.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut e = Error::new(kind, message);
    if let Some(item) = v.get("Item") {
        e.item = Some(Box::new(item_from_json(item)?));
    }
    Err(e)
}

/// The kind behind a `__type` (the inverse of `error::wire`).
pub fn kind_of_type(type_name: &str) -> Option<ErrorKind> {
    ErrorKind::ALL
        .iter()
        .copied()
        .find(|k| crate::error::wire(*k).0 == type_name)
}

fn get_item_request(op: &GetItem) -> Value {
    let mut req = json!({ "TableName": op.table, "Key": item_to_json(&op.key) });
    if let Some(p) = &op.projection {
        req["ProjectionExpression"] = json!(p);
    }
    placeholders(&mut req, &op.placeholders);
    if op.consistent {
        req["ConsistentRead"] = json!(true);
    }
    req
}

fn placeholders(req: &mut Value, p: &Placeholders) {
    if !p.names.is_empty() {
        req["ExpressionAttributeNames"] = json!(p.names);
    }
    if !p.values.is_empty() {
        let values: Map<String, Value> = p.values.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
        req["ExpressionAttributeValues"] = Value::Object(values);
    }
}

pub fn return_values_wire(rv: ReturnValues) -> &'static str {
    match rv {
        ReturnValues::None => "NONE",
        ReturnValues::AllOld => "ALL_OLD",
        ReturnValues::UpdatedOld => "UPDATED_OLD",
        ReturnValues::AllNew => "ALL_NEW",
        ReturnValues::UpdatedNew => "UPDATED_NEW",
    }
}

fn select_wire(s: Select) -> &'static str {
    match s {
        Select::AllAttributes => "ALL_ATTRIBUTES",
        Select::AllProjectedAttributes => "ALL_PROJECTED_ATTRIBUTES",
        Select::SpecificAttributes => "SPECIFIC_ATTRIBUTES",
        Select::Count => "COUNT",
    }
}

fn write_options(req: &mut Value, o: &WriteOptions) {
    if let Some(c) = &o.condition {
        req["ConditionExpression"] = json!(c);
    }
    placeholders(req, &o.placeholders);
    if o.return_values != ReturnValues::None {
        req["ReturnValues"] = json!(return_values_wire(o.return_values));
    }
    if o.return_old_on_condition_failure {
        req["ReturnValuesOnConditionCheckFailure"] = json!("ALL_OLD");
    }
}

fn write_output(v: Value) -> Result<WriteOutput> {
    Ok(WriteOutput {
        attributes: v.get("Attributes").map(item_from_json).transpose()?,
    })
}

#[allow(clippy::too_many_arguments)]
fn read_options(
    req: &mut Value,
    index: Option<&str>,
    filter: Option<&str>,
    projection: Option<&str>,
    p: &Placeholders,
    select: Select,
    limit: Option<usize>,
    start: Option<&Item>,
    consistent: bool,
) {
    if let Some(i) = index {
        req["IndexName"] = json!(i);
    }
    if let Some(f) = filter {
        req["FilterExpression"] = json!(f);
    }
    if let Some(pr) = projection {
        req["ProjectionExpression"] = json!(pr);
    }
    placeholders(req, p);
    // SPECIFIC_ATTRIBUTES is what a projection implies; sending it again is allowed.
    if select != Select::AllAttributes {
        req["Select"] = json!(select_wire(select));
    }
    if let Some(l) = limit {
        req["Limit"] = json!(l);
    }
    if let Some(k) = start {
        req["ExclusiveStartKey"] = item_to_json(k);
    }
    if consistent {
        req["ConsistentRead"] = json!(true);
    }
}

fn page_from_json(v: Value) -> Result<Page> {
    let items = match v.get("Items").and_then(Value::as_array) {
        Some(list) => list.iter().map(item_from_json).collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let count = v.get("Count").and_then(Value::as_u64).unwrap_or(items.len() as u64) as usize;
    Ok(Page {
        items,
        count,
        scanned_count: v.get("ScannedCount").and_then(Value::as_u64).unwrap_or(0) as usize,
        last_evaluated_key: v.get("LastEvaluatedKey").map(item_from_json).transpose()?,
    })
}

/// The catalog id behind a TableId (the inverse of the UUID shape `ops::table` gives it).
fn id_of_table_id(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() != 5 {
        return None;
    }
    let hi = u64::from_str_radix(parts[0], 16).ok()?;
    let low = u64::from_str_radix(parts[4], 16).ok()?;
    Some((hi << 32) | (low & 0xFFFF_FFFF))
}

/// A TableDescription back into the metadata a front (the DAX tier) validates requests with.
pub fn table_from_description(d: &Value) -> Result<TableMeta> {
    let name = d["TableName"].as_str().ok_or_else(|| internal("TableName"))?;
    let definitions: Vec<AttributeDefinition> = d["AttributeDefinitions"]
        .as_array()
        .ok_or_else(|| internal("AttributeDefinitions"))?
        .iter()
        .filter_map(|a| {
            Some(AttributeDefinition {
                name: a["AttributeName"].as_str()?.to_string(),
                scalar_type: ScalarType::from_descriptor(a["AttributeType"].as_str()?)?,
            })
        })
        .collect();
    let key_attribute = |key_type: &str| -> Option<KeyAttribute> {
        let name = d["KeySchema"].as_array()?.iter().find(|k| k["KeyType"] == key_type)?["AttributeName"].as_str()?;
        let def = definitions.iter().find(|a| a.name == name)?;
        Some(KeyAttribute {
            name: name.to_string(),
            scalar_type: def.scalar_type,
        })
    };
    let partition = key_attribute("HASH").ok_or_else(|| internal("KeySchema"))?;
    let sort = key_attribute("RANGE");
    let billing_mode = match d["BillingModeSummary"]["BillingMode"].as_str() {
        Some("PAY_PER_REQUEST") => BillingMode::PayPerRequest,
        _ => BillingMode::Provisioned,
    };
    let throughput = &d["ProvisionedThroughput"];
    Ok(TableMeta {
        name: name.to_string(),
        id: d["TableId"].as_str().and_then(id_of_table_id).unwrap_or(0),
        key_schema: KeySchema { partition, sort },
        attribute_definitions: definitions,
        billing_mode,
        throughput: Throughput {
            read_capacity_units: throughput["ReadCapacityUnits"].as_u64().unwrap_or(0),
            write_capacity_units: throughput["WriteCapacityUnits"].as_u64().unwrap_or(0),
        },
        created_at_millis: d["CreationDateTime"].as_f64().map_or(0, |s| (s * 1000.0) as u64),
        tags: Vec::new(),
        deletion_protection: d["DeletionProtectionEnabled"].as_bool().unwrap_or(false),
        billing_mode_set_at_millis: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_map_back_to_their_kinds() {
        for kind in ErrorKind::ALL {
            assert_eq!(kind_of_type(crate::error::wire(*kind).0), Some(*kind));
        }
        assert_eq!(kind_of_type("nonsense"), None);
    }

    #[test]
    fn table_descriptions_round_trip_what_validation_needs() {
        let meta = TableMeta {
            name: "t".into(),
            id: 0x1234_5678_9abc,
            key_schema: KeySchema {
                partition: KeyAttribute {
                    name: "pk".into(),
                    scalar_type: ScalarType::S,
                },
                sort: Some(KeyAttribute {
                    name: "sk".into(),
                    scalar_type: ScalarType::N,
                }),
            },
            attribute_definitions: vec![
                AttributeDefinition {
                    name: "pk".into(),
                    scalar_type: ScalarType::S,
                },
                AttributeDefinition {
                    name: "sk".into(),
                    scalar_type: ScalarType::N,
                },
            ],
            billing_mode: BillingMode::PayPerRequest,
            throughput: Throughput::default(),
            created_at_millis: 1_700_000_000_000,
            tags: Vec::new(),
            deletion_protection: true,
            billing_mode_set_at_millis: Some(1),
        };
        let back = table_from_description(&crate::ops::description(&meta, "ACTIVE")).unwrap();
        assert_eq!(back.name, meta.name);
        assert_eq!(back.id, meta.id);
        assert_eq!(back.key_schema, meta.key_schema);
        assert_eq!(back.attribute_definitions, meta.attribute_definitions);
        assert_eq!(back.billing_mode, BillingMode::PayPerRequest);
        assert!(back.deletion_protection);
    }

    #[test]
    fn error_replies_decode_with_their_item() {
        let reply = RawReply {
            status: 400,
            body: Bytes::from_static(
                br#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"pk":{"S":"a"}}}"#,
            ),
            headers: Vec::new(),
        };
        let e = decode_reply(&reply).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConditionalCheckFailed);
        assert_eq!(e.message, "The conditional request failed");
        assert!(e.item.is_some());
    }
}
