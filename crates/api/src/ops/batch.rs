//! BatchGetItem and BatchWriteItem.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use tessera_expr::Context;
use tessera_model::key::{encode_key_value, PrimaryKey};
use tessera_model::limits::{BATCH_GET_ITEMS_MAX, BATCH_WRITE_ITEMS_MAX, ITEM_BYTES_MAX, REQUEST_BODY_BYTES_MAX};
use tessera_model::ops::{GetItem, Placeholders, WriteRequest};
use tessera_model::table::TableMeta;
use tessera_model::{item_size, item_to_json, Error, Item, Result};

use super::item::MSG_ITEM_TOO_LARGE;
use super::table_or_not_found;
use crate::request::{missing_member, mixed_parameters, placeholders, placeholders_need_expressions, Constraints, Req};
use crate::{legacy, Backend};

const MSG_DUPLICATES: &str = "Provided list of item keys contains duplicates";

fn key_bytes(key: &PrimaryKey) -> Vec<u8> {
    let mut k = Vec::new();
    encode_key_value(&key.partition, &mut k);
    if let Some(s) = &key.sort {
        encode_key_value(s, &mut k);
    }
    k
}

const MAP_KEYS: &str = "Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]";

/// BatchWriteItem's RequestItems as DynamoDB echoes them in an error: the service's own
/// (Java) rendering, `{table=[WriteRequest(putRequest=PutRequest(item={k=v}), …)]}`.
fn echo_write_items(items: &Map<String, Value>) -> String {
    let render_map = |v: Option<&Value>| match v {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
        _ => String::new(),
    };
    let tables = items.iter().map(|(name, list)| {
        let requests = list.as_array().map(Vec::as_slice).unwrap_or_default().iter().map(|w| {
            let put = w
                .get("PutRequest")
                .map(|p| format!("PutRequest(item={{{}}})", render_map(p.get("Item"))));
            let delete = w
                .get("DeleteRequest")
                .map(|d| format!("DeleteRequest(key={{{}}})", render_map(d.get("Key"))));
            format!(
                "WriteRequest(putRequest={}, deleteRequest={})",
                put.as_deref().unwrap_or("null"),
                delete.as_deref().unwrap_or("null")
            )
        });
        format!("{name}=[{}]", requests.collect::<Vec<_>>().join(", "))
    });
    format!("{{{}}}", tables.collect::<Vec<_>>().join(", "))
}

/// A BatchWriteItem item or key. Its bad values are reported in the service's older wording,
/// which BatchWriteItem still uses (see `older_wording`).
fn write_item(req: &Req<'_>, member: &str) -> Result<Item> {
    req.item(member).map(Option::unwrap_or_default).map_err(|e| {
        match req.get(member).and_then(|v| older_wording(v, 0)) {
            Some(older) if e.kind == tessera_model::ErrorKind::Validation => Error::validation(older),
            _ => e,
        }
    })
}

/// The older wording of the value that fails in `map` (a map of attribute values), for the
/// failures it words differently: duplicate sets shown as sent (`[b, a, b]`; number sets
/// unnamed), an empty number with no colon, an exponent at the integer limit as an underflow.
/// None for any other failure.
fn older_wording(map: &Value, depth: usize) -> Option<String> {
    if depth > tessera_model::limits::NESTING_DEPTH_MAX {
        return None;
    }
    // The first value that fails is the one reported, as decoding reports it.
    let failing = map
        .as_object()?
        .values()
        .find(|v| tessera_model::AttributeValue::from_json(v).is_err())?;
    let (kind, member) = failing.as_object().and_then(|v| v.iter().next())?;
    let members = member.as_array().map(Vec::as_slice).unwrap_or_default();
    let duplicates = |same: &dyn Fn(&Value, &Value) -> bool| {
        members
            .iter()
            .enumerate()
            .any(|(i, m)| members[..i].iter().any(|n| same(m, n)))
    };
    let shown = || {
        members
            .iter()
            .map(|m| m.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind.as_str() {
        "N" => match member.as_str() {
            Some("") => Some(tessera_model::number::MSG_NOT_A_NUMBER.to_string()),
            Some(n) if exponent_at_integer_limit(n) => Some(tessera_model::number::MSG_UNDERFLOW.to_string()),
            _ => None,
        },
        "SS" if duplicates(&|a, b| a == b) => Some(format!(
            "One or more parameter values were invalid: Input collection [{}] contains duplicates.",
            shown()
        )),
        "BS" if duplicates(&|a, b| a == b) => Some(format!(
            "One or more parameter values were invalid: Input collection [{}]of type BS contains duplicates.",
            shown()
        )),
        "NS" => {
            let numbers: Option<Vec<tessera_model::Number>> = members
                .iter()
                .map(|v| v.as_str().and_then(|s| tessera_model::Number::parse(s).ok()))
                .collect();
            let numbers = numbers?;
            let duplicate = numbers.iter().enumerate().any(|(i, n)| numbers[..i].contains(n));
            duplicate.then(|| "Input collection contains duplicates".to_string())
        }
        "M" => older_wording(member, depth + 1),
        "L" => members
            .iter()
            .find(|m| tessera_model::AttributeValue::from_json(m).is_err())
            .and_then(|m| older_wording(&serde_json::json!({ "": m }), depth + 1)),
        _ => None,
    }
}

/// `1e2147483647`: an exponent at the limit of a 32-bit integer.
fn exponent_at_integer_limit(n: &str) -> bool {
    n.split_once(['e', 'E'])
        .and_then(|(_, e)| e.trim_start_matches('+').parse::<i64>().ok())
        .is_some_and(|e| e >= i64::from(i32::MAX))
}

fn request_items<'a>(req: &Req<'a>, op: &str) -> Result<&'a Map<String, Value>> {
    let items = req.raw_map("RequestItems")?;
    let write = op == "BatchWriteItem";
    let mut enums = Constraints::default();
    enums.one_of(
        req.str("ReturnConsumedCapacity")?,
        "returnConsumedCapacity",
        &["INDEXES", "TOTAL", "NONE"],
    );
    if write {
        enums.one_of(
            req.str("ReturnItemCollectionMetrics")?,
            "returnItemCollectionMetrics",
            &["SIZE", "NONE"],
        );
    }
    let mut c = Constraints::default();
    c.not_null(items.is_some(), "requestItems");
    // Problems of the map are reported against the whole map, echoed, ahead of the enums
    // (BatchWriteItem reports its enum errors without them).
    if let Some(m) = items.filter(|_| !write || enums.is_empty()) {
        if m.keys().any(|k| !Constraints::valid_name(k, 3)) {
            let echo = if write {
                echo_write_items(m)
            } else {
                serde_json::to_string(m).unwrap_or_default()
            };
            c.raw(format!(
                "Value '{echo}' at 'requestItems' failed to satisfy constraint: {MAP_KEYS}"
            ));
        }
        let bad_size = |l: &Value| {
            l.as_array()
                .is_some_and(|l| l.is_empty() || l.len() > BATCH_WRITE_ITEMS_MAX)
        };
        if write && m.values().any(bad_size) {
            c.raw(format!(
                "Value '{}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
                echo_write_items(m)
            ));
        }
    }
    c.append(enums);
    c.finish()?;
    let items = items.ok_or_else(|| Error::validation(format!("The requestItems parameter is required for {op}")))?;
    if items.is_empty() {
        return Err(Error::validation(
            "1 validation error detected: Value at 'RequestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    Ok(items)
}

pub async fn get<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let items = request_items(&req, "BatchGetItem")?;
    struct TableRequest<'a> {
        name: &'a str,
        keys: Vec<Item>,
        table_req: Req<'a>,
    }
    let mut requests = Vec::new();
    let mut total = 0;
    for (name, spec) in items {
        let table_req = Req::new(spec)?;
        let keys = table_req
            .list("Keys")?
            .ok_or_else(|| missing_member(&format!("requestItems.{name}.member.keys")))?;
        if keys.is_empty() || keys.len() > BATCH_GET_ITEMS_MAX {
            let bound = if keys.is_empty() {
                "greater than or equal to 1"
            } else {
                "less than or equal to 100"
            };
            return Err(Error::validation(format!(
                "1 validation error detected: Value at 'RequestItems.{name}.member.Keys' failed to satisfy constraint: Member must have length {bound}"
            )));
        }
        mixed_parameters(&table_req, &["AttributesToGet"], &["ProjectionExpression"])?;
        total += keys.len();
        let keys = keys
            .iter()
            .map(tessera_model::item_from_json)
            .collect::<Result<Vec<_>>>()?;
        requests.push(TableRequest { name, keys, table_req });
    }
    if total > BATCH_GET_ITEMS_MAX {
        return Err(Error::validation("Too many items requested for the BatchGetItem call"));
    }
    // One request uses one kind of parameter, across its tables too.
    let uses = |member: &str| requests.iter().any(|r| r.table_req.has(member));
    if uses("AttributesToGet") && uses("ProjectionExpression") {
        return Err(Error::validation(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
        ));
    }
    type Checked<'r, 'a> = (TableMeta, &'r TableRequest<'a>, Placeholders, Option<String>);
    let mut tables: Vec<Checked> = Vec::new();
    for r in &requests {
        let mut p = placeholders(&r.table_req)?;
        placeholders_need_expressions(&r.table_req, &["ProjectionExpression"], &[])?;
        // The projection: ProjectionExpression, or what AttributesToGet stands for.
        let projection = match r.table_req.str("ProjectionExpression")? {
            Some(text) => Some(text.to_string()),
            None => legacy::attributes_to_get(&r.table_req, &mut legacy::Builder::new(&mut p))?,
        };
        let mut ctx = Context::new(&p.names, &p.values);
        if r.table_req.has("AttributesToGet") {
            ctx = ctx.trusted();
        }
        if let Some(projection) = &projection {
            ctx.projection(projection)?;
        }
        ctx.check_unused()?;
        let table = table_or_not_found(backend, r.name).await?;
        let mut seen = std::collections::HashSet::new();
        for key in &r.keys {
            let k = table.key_schema.key_from_map(key)?;
            if !seen.insert(key_bytes(&k)) {
                return Err(Error::validation(MSG_DUPLICATES));
            }
        }
        tables.push((table, r, p, projection));
    }
    let mut responses = Map::new();
    let mut unprocessed = Map::new();
    let mut bytes = 0usize;
    for (table, r, p, projection) in tables {
        let consistent = r.table_req.bool("ConsistentRead")?.unwrap_or(false);
        let mut found = Vec::new();
        let mut left = Vec::new();
        for key in &r.keys {
            // Past the response size limit, the rest is handed back as UnprocessedKeys.
            if bytes >= REQUEST_BODY_BYTES_MAX {
                left.push(item_to_json(key));
                continue;
            }
            let op = GetItem {
                table: table.name.clone(),
                key: key.clone(),
                projection: projection.clone(),
                placeholders: p.clone(),
                consistent,
            };
            if let Some(item) = backend.get_item(&table, op).await? {
                let size = item_size(&item);
                // The response stays within 16 MB: an item that would cross it is left for
                // the next call, with every key after it.
                if bytes + size > REQUEST_BODY_BYTES_MAX {
                    bytes = REQUEST_BODY_BYTES_MAX;
                    left.push(item_to_json(key));
                    continue;
                }
                bytes += size;
                found.push(item_to_json(&item));
            }
        }
        responses.insert(table.name.clone(), Value::Array(found));
        if !left.is_empty() {
            let mut spec = json!({});
            spec["Keys"] = Value::Array(left);
            // Handed back as asked: the legacy list, or the expression with its names.
            if let Some(list) = r.table_req.get("AttributesToGet") {
                spec["AttributesToGet"] = list.clone();
            } else {
                if let Some(projection) = &projection {
                    spec["ProjectionExpression"] = json!(projection);
                }
                if !p.names.is_empty() {
                    spec["ExpressionAttributeNames"] = json!(p.names);
                }
            }
            unprocessed.insert(table.name.clone(), spec);
        }
    }
    Ok(json!({ "Responses": responses, "UnprocessedKeys": unprocessed }))
}

pub async fn write<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let items = request_items(&req, "BatchWriteItem")?;
    let mut parsed: Vec<(&str, Vec<WriteRequest>)> = Vec::new();
    let mut total = 0;
    for (name, list) in items {
        // Sizes were checked with the other constraints (`request_items`).
        let list = tessera_model::shape::list(list)?;
        total += list.len();
        let mut requests = Vec::with_capacity(list.len());
        for w in list {
            let w = Req::new(w)?;
            let put = w.obj("PutRequest")?;
            let delete = w.obj("DeleteRequest")?;
            requests.push(match (put, delete) {
                (Some(p), None) => WriteRequest::Put(write_item(&p, "Item")?),
                (None, Some(d)) => WriteRequest::Delete(write_item(&d, "Key")?),
                _ => {
                    return Err(Error::validation(
                        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                    ))
                }
            });
        }
        parsed.push((name, requests));
    }
    if total > BATCH_WRITE_ITEMS_MAX {
        return Err(Error::validation(
            "Too many items requested for the BatchWriteItem call",
        ));
    }
    let mut checked: Vec<(TableMeta, Vec<WriteRequest>)> = Vec::new();
    for (name, requests) in parsed {
        let table = table_or_not_found(backend, name).await?;
        let mut seen = std::collections::HashSet::new();
        for r in &requests {
            let key = match r {
                WriteRequest::Put(item) => {
                    let key = table.key_schema.item_key(item).map_err(mismatch_unless_empty_key)?;
                    if item_size(item) > ITEM_BYTES_MAX {
                        return Err(Error::validation(MSG_ITEM_TOO_LARGE));
                    }
                    key
                }
                WriteRequest::Delete(key) => table.key_schema.key_from_map(key)?,
            };
            if !seen.insert(key_bytes(&key)) {
                return Err(Error::validation(MSG_DUPLICATES));
            }
        }
        checked.push((table, requests));
    }
    let mut unprocessed: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (table, requests) in checked {
        let left = backend.batch_write(&table, requests).await?;
        if !left.is_empty() {
            let encoded = left
                .iter()
                .map(|r| match r {
                    WriteRequest::Put(item) => json!({"PutRequest": {"Item": item_to_json(item)}}),
                    WriteRequest::Delete(key) => json!({"DeleteRequest": {"Key": item_to_json(key)}}),
                })
                .collect();
            unprocessed.insert(table.name.clone(), encoded);
        }
    }
    Ok(json!({ "UnprocessedItems": unprocessed }))
}

/// BatchWriteItem words wrong or missing key attributes of a put as a schema mismatch (unlike
/// PutItem); empty key values keep their own message.
fn mismatch_unless_empty_key(e: Error) -> Error {
    if e.message.contains("cannot contain an empty") || e.message.contains("Size of") {
        e
    } else {
        Error::validation(tessera_model::key::MSG_KEY_SCHEMA_MISMATCH)
    }
}
