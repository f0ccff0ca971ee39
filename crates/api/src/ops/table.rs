//! Control-plane operations: CreateTable, DescribeTable, ListTables, DeleteTable, UpdateTable,
//! tags, DescribeEndpoints, DescribeLimits.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tessera_model::key::{KeyAttribute, KeySchema, ScalarType};
use tessera_model::table::{AttributeDefinition, BillingMode, TableMeta, Tag, Throughput, ARN_PREFIX};
use tessera_model::{shape, Error, ErrorKind, Result};

use crate::request::{Constraints, Req};
use crate::Backend;

const MSG_INVALID: &str = "One or more parameter values were invalid";

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A stable UUID-shaped TableId derived from the catalog id.
fn table_id(meta: &TableMeta) -> String {
    let id = meta.id;
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        (id >> 32) as u32,
        (id >> 16) as u16,
        id & 0xFFFF_FFFF_FFFF
    )
}

/// The TableDescription structure DescribeTable and friends return.
pub fn description(meta: &TableMeta, status: &str) -> Value {
    let mut key_schema = vec![json!({"AttributeName": meta.key_schema.partition.name, "KeyType": "HASH"})];
    if let Some(sk) = &meta.key_schema.sort {
        key_schema.push(json!({"AttributeName": sk.name, "KeyType": "RANGE"}));
    }
    let definitions: Vec<Value> = meta
        .attribute_definitions
        .iter()
        .map(|d| json!({"AttributeName": d.name, "AttributeType": d.scalar_type.descriptor()}))
        .collect();
    let created = meta.created_at_millis as f64 / 1000.0;
    let mut desc = json!({
        "TableName": meta.name,
        "TableId": table_id(meta),
        "TableArn": meta.arn(),
        "TableStatus": status,
        "KeySchema": key_schema,
        "AttributeDefinitions": definitions,
        "CreationDateTime": created,
        "ProvisionedThroughput": {
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": meta.throughput.read_capacity_units,
            "WriteCapacityUnits": meta.throughput.write_capacity_units,
        },
        // Like DynamoDB, these are estimates; Tessera does not track them yet.
        "TableSizeBytes": 0,
        "ItemCount": 0,
        "DeletionProtectionEnabled": meta.deletion_protection,
    });
    if let Some(at) = meta.billing_mode_set_at_millis {
        let mut summary = json!({ "BillingMode": meta.billing_mode.wire() });
        if meta.billing_mode == BillingMode::PayPerRequest {
            summary["LastUpdateToPayPerRequestDateTime"] = json!(at as f64 / 1000.0);
        }
        desc["BillingModeSummary"] = summary;
    }
    desc
}

fn read_tags(list: &[Value]) -> Result<Vec<Tag>> {
    list.iter()
        .map(|t| {
            let t = Req::new(t)?;
            Ok(Tag {
                key: t.str("Key")?.unwrap_or_default().to_string(),
                value: t.str("Value")?.unwrap_or_default().to_string(),
            })
        })
        .collect()
}

fn read_throughput(req: &Req<'_>, c: &mut Constraints, path: &str) -> Result<Option<Throughput>> {
    let Some(pt) = req.obj("ProvisionedThroughput")? else {
        return Ok(None);
    };
    let (r, w) = (pt.int("ReadCapacityUnits")?, pt.int("WriteCapacityUnits")?);
    c.not_null(r.is_some(), &format!("{path}.readCapacityUnits"));
    c.not_null(w.is_some(), &format!("{path}.writeCapacityUnits"));
    c.at_least(r, &format!("{path}.readCapacityUnits"), 1);
    c.at_least(w, &format!("{path}.writeCapacityUnits"), 1);
    Ok(Some(Throughput {
        read_capacity_units: r.unwrap_or(0).max(0) as u64,
        write_capacity_units: w.unwrap_or(0).max(0) as u64,
    }))
}

fn billing_mode(s: Option<&str>) -> Option<BillingMode> {
    match s {
        Some("PAY_PER_REQUEST") => Some(BillingMode::PayPerRequest),
        Some("PROVISIONED") => Some(BillingMode::Provisioned),
        _ => None,
    }
}

pub async fn create<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let name = req.str("TableName")?;
    if name.is_none() {
        return Err(Error::validation(
            "The parameter 'TableName' is required but was not present in the request",
        ));
    }
    let key_schema = req.list("KeySchema")?;
    let definitions = req.list("AttributeDefinitions")?;
    let mut c = Constraints::default();
    c.name(name, "tableName", 3);
    c.not_null(key_schema.is_some(), "keySchema");
    c.not_null(definitions.is_some(), "attributeDefinitions");
    let mut keys: Vec<(String, String)> = Vec::new();
    for (i, e) in key_schema.into_iter().flatten().enumerate() {
        let e = Req::new(e)?;
        let (attr, kind) = (e.str("AttributeName")?, e.str("KeyType")?);
        c.not_null(attr.is_some(), &format!("keySchema.{}.member.attributeName", i + 1));
        c.not_null(kind.is_some(), &format!("keySchema.{}.member.keyType", i + 1));
        c.one_of(kind, &format!("keySchema.{}.member.keyType", i + 1), &["HASH", "RANGE"]);
        keys.push((
            attr.unwrap_or_default().to_string(),
            kind.unwrap_or_default().to_string(),
        ));
    }
    if let Some(ks) = key_schema {
        if ks.is_empty() {
            c.length_at_least_one("keySchema");
        }
        if ks.len() > 2 {
            c.length_at_most(ks.len(), "KeySchema", "keySchema", 2);
        }
    }
    let mut defs: Vec<AttributeDefinition> = Vec::new();
    for (i, d) in definitions.into_iter().flatten().enumerate() {
        let d = Req::new(d)?;
        let (attr, t) = (d.str("AttributeName")?, d.str("AttributeType")?);
        c.not_null(
            attr.is_some(),
            &format!("attributeDefinitions.{}.member.attributeName", i + 1),
        );
        c.not_null(
            t.is_some(),
            &format!("attributeDefinitions.{}.member.attributeType", i + 1),
        );
        c.one_of(
            t,
            &format!("attributeDefinitions.{}.member.attributeType", i + 1),
            &["B", "N", "S"],
        );
        if let (Some(attr), Some(t)) = (attr, t.and_then(ScalarType::from_descriptor)) {
            defs.push(AttributeDefinition {
                name: attr.to_string(),
                scalar_type: t,
            });
        }
    }
    let mode = req.str("BillingMode")?;
    c.one_of(mode, "billingMode", &["PROVISIONED", "PAY_PER_REQUEST"]);
    let throughput = read_throughput(&req, &mut c, "provisionedThroughput")?;
    c.finish()?;
    let name = name.unwrap_or_default();

    for unsupported in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
        if req.has(unsupported) {
            return Err(Error::validation(format!("Tessera does not support {unsupported} yet")));
        }
    }
    if let Some((first, _)) = keys.iter().find(|(_, k)| k.is_empty()) {
        return Err(Error::validation(format!("{MSG_INVALID}: KeyType missing for {first}")));
    }
    if keys.first().map(|(_, k)| k.as_str()) != Some("HASH") {
        return Err(Error::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if keys.len() == 2 {
        if keys[1].1 != "RANGE" {
            return Err(Error::validation(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            ));
        }
        if keys[0].0 == keys[1].0 {
            return Err(Error::validation(
                "Invalid KeySchema: Some index key attribute have no definition",
            ));
        }
    }
    let find = |attr: &str| defs.iter().find(|d| d.name == attr).map(|d| d.scalar_type);
    let missing: Vec<&str> = keys
        .iter()
        .filter(|(a, _)| find(a).is_none())
        .map(|(a, _)| a.as_str())
        .collect();
    if !missing.is_empty() {
        let defined: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        return Err(Error::validation(format!(
            "{MSG_INVALID}: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
            missing.join(", "),
            defined.join(", ")
        )));
    }
    if defs.len() != keys.len() {
        return Err(Error::validation(format!(
            "{MSG_INVALID}: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
        )));
    }
    let billing = billing_mode(mode).unwrap_or(BillingMode::Provisioned);
    let throughput = match (billing, throughput) {
        (BillingMode::Provisioned, None) => {
            return Err(Error::validation(format!(
                "{MSG_INVALID}: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"
            )))
        }
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(Error::validation(format!(
                "{MSG_INVALID}: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )))
        }
        (_, t) => t.unwrap_or_default(),
    };
    let key_attr = |(name, _): &(String, String)| KeyAttribute {
        name: name.clone(),
        scalar_type: find(name).unwrap_or(ScalarType::S),
    };
    let meta = TableMeta {
        name: name.to_string(),
        id: 0,
        key_schema: KeySchema {
            partition: key_attr(&keys[0]),
            sort: keys.get(1).map(key_attr),
        },
        attribute_definitions: defs,
        billing_mode: billing,
        throughput,
        created_at_millis: now_millis(),
        tags: req.list("Tags")?.map(|t| read_tags(t)).transpose()?.unwrap_or_default(),
        deletion_protection: req.bool("DeletionProtectionEnabled")?.unwrap_or(false),
        billing_mode_set_at_millis: mode.map(|_| now_millis()),
    };
    let meta = backend.create_table(meta).await?;
    Ok(json!({ "TableDescription": description(&meta, "CREATING") }))
}

fn table_name_param<'a>(req: &Req<'a>) -> Result<&'a str> {
    let name = req.str("TableName")?;
    let mut c = Constraints::default();
    c.name(name, "tableName", 1);
    c.finish()?;
    Ok(name.unwrap_or_default())
}

fn not_found_named(name: &str) -> Error {
    Error::new(
        ErrorKind::ResourceNotFound,
        format!("Requested resource not found: Table: {name} not found"),
    )
}

pub async fn describe<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let name = table_name_param(&req)?;
    let meta = backend
        .describe_table(name)
        .await?
        .ok_or_else(|| not_found_named(name))?;
    Ok(json!({ "Table": description(&meta, "ACTIVE") }))
}

pub async fn list<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let start = req.str("ExclusiveStartTableName")?;
    let limit = req.int("Limit")?;
    let mut c = Constraints::default();
    if start.is_some() {
        c.name(start, "exclusiveStartTableName", 3);
    }
    c.at_least(limit, "limit", 1);
    c.at_most(limit, "limit", 100);
    c.finish()?;
    let limit = limit.unwrap_or(100) as usize;
    let names: Vec<String> = backend
        .list_tables()
        .await?
        .into_iter()
        .filter(|n| start.is_none_or(|s| n.as_str() > s))
        .collect();
    let page: Vec<&String> = names.iter().take(limit).collect();
    let mut out = json!({ "TableNames": page });
    if names.len() > limit {
        if let Some(last) = page.last() {
            out["LastEvaluatedTableName"] = json!(last);
        }
    }
    Ok(out)
}

pub async fn delete<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let name = table_name_param(&req)?;
    let meta = backend
        .describe_table(name)
        .await?
        .ok_or_else(|| not_found_named(name))?;
    if meta.deletion_protection {
        return Err(Error::validation(
            "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
        ));
    }
    let meta = backend.delete_table(name).await?;
    Ok(json!({ "TableDescription": description(&meta, "DELETING") }))
}

pub async fn update<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let name = table_name_param(&req)?;
    let mode = req.str("BillingMode")?;
    let mut c = Constraints::default();
    c.one_of(mode, "billingMode", &["PROVISIONED", "PAY_PER_REQUEST"]);
    let throughput = read_throughput(&req, &mut c, "provisionedThroughput")?;
    c.finish()?;
    let protection = req.bool("DeletionProtectionEnabled")?;
    for unsupported in ["GlobalSecondaryIndexUpdates", "StreamSpecification", "ReplicaUpdates"] {
        if req.has(unsupported) {
            return Err(Error::validation(format!("Tessera does not support {unsupported} yet")));
        }
    }
    if mode.is_none() && throughput.is_none() && protection.is_none() {
        return Err(Error::validation(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
        ));
    }
    let mut meta = backend
        .describe_table(name)
        .await?
        .ok_or_else(|| not_found_named(name))?;
    let billing = billing_mode(mode).unwrap_or(meta.billing_mode);
    match (billing, throughput) {
        (BillingMode::PayPerRequest, Some(_)) => {
            return Err(Error::validation(format!(
                "{MSG_INVALID}: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )))
        }
        (BillingMode::Provisioned, None) if meta.billing_mode == BillingMode::PayPerRequest => {
            return Err(Error::validation(format!(
                "{MSG_INVALID}: ProvisionedThroughput must be specified when BillingMode is PROVISIONED"
            )))
        }
        (BillingMode::PayPerRequest, None) => meta.throughput = Throughput::default(),
        (_, Some(t)) => meta.throughput = t,
        _ => {}
    }
    if mode.is_some() {
        meta.billing_mode_set_at_millis = Some(now_millis());
    }
    meta.billing_mode = billing;
    if let Some(p) = protection {
        meta.deletion_protection = p;
    }
    let meta = backend.update_table(meta).await?;
    Ok(json!({ "TableDescription": description(&meta, "ACTIVE") }))
}

/// The table an ARN names; DynamoDB's ARN validation message otherwise.
async fn table_by_arn<B: Backend>(backend: &B, req: &Req<'_>) -> Result<TableMeta> {
    let arn = req.str("ResourceArn")?;
    let mut c = Constraints::default();
    c.not_null(arn.is_some(), "resourceArn");
    c.finish()?;
    let arn = arn.unwrap_or_default();
    let name = arn
        .strip_prefix(ARN_PREFIX)
        .ok_or_else(|| Error::validation(format!("Invalid TableArn: Invalid ResourceArn provided as input {arn}")))?;
    backend.describe_table(name).await?.ok_or_else(|| {
        Error::new(
            ErrorKind::ResourceNotFound,
            format!("Requested resource not found: ResourcArn: {arn} not found"),
        )
    })
}

pub async fn tag<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let tags = req.list("Tags")?.map(|t| read_tags(t)).transpose()?;
    let mut c = Constraints::default();
    c.not_null(tags.is_some(), "tags");
    c.finish()?;
    let mut meta = table_by_arn(backend, &req).await?;
    for tag in tags.into_iter().flatten() {
        meta.tags.retain(|t| t.key != tag.key);
        meta.tags.push(tag);
    }
    backend.update_table(meta).await?;
    Ok(json!({}))
}

pub async fn untag<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let keys = req.list("TagKeys")?;
    let mut c = Constraints::default();
    c.not_null(keys.is_some(), "tagKeys");
    c.finish()?;
    let keys = keys
        .into_iter()
        .flatten()
        .map(shape::string)
        .collect::<Result<Vec<_>>>()?;
    let mut meta = table_by_arn(backend, &req).await?;
    meta.tags.retain(|t| !keys.contains(&t.key.as_str()));
    backend.update_table(meta).await?;
    Ok(json!({}))
}

pub async fn list_tags<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let meta = table_by_arn(backend, &req).await?;
    let tags: Vec<Value> = meta
        .tags
        .iter()
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect();
    Ok(json!({ "Tags": tags }))
}

pub fn describe_endpoints() -> Value {
    json!({ "Endpoints": [{ "Address": "localhost", "CachePeriodInMinutes": 1440 }] })
}

pub fn describe_limits() -> Value {
    json!({
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000,
    })
}
