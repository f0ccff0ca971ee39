//! Query and Scan.

use serde_json::{json, Value};
use tessera_expr::{Condition, Context, ExprKind};
use tessera_model::ops::{Page, Placeholders, Query, Scan, Select};
use tessera_model::table::TableMeta;
use tessera_model::{item_to_json, Error, Item, Result};

use super::{consumed_capacity, table_or_not_found};
use crate::request::{mixed_parameters, placeholders, placeholders_need_expressions, Constraints, Req};
use crate::{legacy, Backend};

/// In the order DynamoDB lists them in its error.
const SELECT: [&str; 4] = [
    "SPECIFIC_ATTRIBUTES",
    "COUNT",
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
];

/// The Select asked for, checked against the projection; without one, DynamoDB picks
/// SPECIFIC_ATTRIBUTES when there is a projection and ALL_ATTRIBUTES otherwise.
fn select(req: &Req<'_>, projection: Option<&str>) -> Result<Select> {
    let explicit = match req.str("Select")? {
        Some("COUNT") => Select::Count,
        Some("SPECIFIC_ATTRIBUTES") => Select::SpecificAttributes,
        Some("ALL_PROJECTED_ATTRIBUTES") => Select::AllProjectedAttributes,
        Some(_) => Select::AllAttributes,
        None if projection.is_some() => return Ok(Select::SpecificAttributes),
        None => return Ok(Select::AllAttributes),
    };
    let member = if req.has("AttributesToGet") {
        "AttributesToGet"
    } else {
        "ProjectionExpression"
    };
    check_select(explicit, projection.map(|_| member), req.str("IndexName")?)?;
    Ok(explicit)
}

/// Constraints shared by Query and Scan.
fn read_constraints(req: &Req<'_>, c: &mut Constraints) -> Result<()> {
    c.name(req.str("TableName")?, "tableName", 1);
    if let Some(index) = req.str("IndexName")? {
        c.name(Some(index), "indexName", 3);
    }
    c.one_of(req.str("Select")?, "select", &SELECT);
    c.member_at_least(req.int("Limit")?, "Limit", 1);
    c.one_of(
        req.str("ReturnConsumedCapacity")?,
        "returnConsumedCapacity",
        &["INDEXES", "TOTAL", "NONE"],
    );
    c.one_of(req.str("ConditionalOperator")?, "conditionalOperator", &["OR", "AND"]);
    Ok(())
}

/// `projection`: the member the projection came in (ProjectionExpression or AttributesToGet).
fn check_select(sel: Select, projection: Option<&str>, index: Option<&str>) -> Result<()> {
    match sel {
        Select::SpecificAttributes if projection.is_none() => Err(Error::validation(
            "1 validation error detected: Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        )),
        Select::AllProjectedAttributes if index.is_none() => Err(Error::validation(
            "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is not allowed when querying a table without an index",
        )),
        Select::Count | Select::AllAttributes if projection.is_some() => Err(Error::validation(format!(
            "One or more parameter values were invalid: Cannot specify the {} when choosing to get {}",
            projection.unwrap_or_default(),
            if sel == Select::Count { "only the Count" } else { "ALL_ATTRIBUTES" }
        ))),
        _ => Ok(()),
    }
}

/// The table, refusing indexes (not supported yet) as DynamoDB refuses an unknown one.
async fn table_for_read<B: Backend>(backend: &B, req: &Req<'_>) -> Result<TableMeta> {
    let table = table_or_not_found(backend, req.str("TableName")?.unwrap_or_default()).await?;
    if let Some(index) = req.str("IndexName")? {
        return Err(Error::validation(format!(
            "The table does not have the specified index: {index}"
        )));
    }
    Ok(table)
}

/// ExclusiveStartKey: a bad value is reported as it is; a key that does not fit the table's
/// schema with DynamoDB's short message.
fn start_key(req: &Req<'_>, table: &TableMeta) -> Result<Option<Item>> {
    let Some(key) = req.item("ExclusiveStartKey")? else {
        return Ok(None);
    };
    table
        .key_schema
        .key_from_map(&key)
        .map_err(|_| Error::validation("The provided starting key is invalid"))?;
    Ok(Some(key))
}

fn page_response(req: &Req<'_>, table: &str, sel: Select, page: Page) -> Result<Value> {
    let mut body = json!({ "Count": page.count, "ScannedCount": page.scanned_count });
    if sel != Select::Count {
        body["Items"] = Value::Array(page.items.iter().map(item_to_json).collect());
    }
    if let Some(key) = &page.last_evaluated_key {
        body["LastEvaluatedKey"] = item_to_json(key);
    }
    if let Some(cc) = consumed_capacity(req, table, 0.5)? {
        body["ConsumedCapacity"] = cc;
    }
    Ok(body)
}

/// Checks the filter and projection; returns the filter, resolved.
fn check_filter_and_projection(
    ctx: &mut Context<'_>,
    filter: Option<&str>,
    projection: Option<&str>,
) -> Result<Option<Condition>> {
    let filter = filter.map(|f| ctx.condition(ExprKind::Filter, f)).transpose()?;
    if let Some(projection) = projection {
        ctx.projection(projection)?;
    }
    Ok(filter)
}

/// The filter and projection of a read: its expressions, or what its legacy `filter_member`
/// (QueryFilter / ScanFilter) and AttributesToGet stand for, over placeholders added to `p`.
fn filter_and_projection(
    req: &Req<'_>,
    filter_member: &str,
    p: &mut Placeholders,
) -> Result<(Option<String>, Option<String>)> {
    let mut b = legacy::Builder::new(p);
    let filter = match req.str("FilterExpression")? {
        Some(text) => Some(text.to_string()),
        None => legacy::filter(req, filter_member, &mut b)?,
    };
    let projection = match req.str("ProjectionExpression")? {
        Some(text) => Some(text.to_string()),
        None => legacy::attributes_to_get(req, &mut b)?,
    };
    Ok((filter, projection))
}

pub async fn query<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    // DynamoDB's newer validation has reached Query's ConditionalOperator: a bad one is
    // reported first and alone, in these words.
    if req.str("ConditionalOperator")?.is_some_and(|o| o != "AND" && o != "OR") {
        return Err(Error::validation(
            "Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]",
        ));
    }
    let mut c = Constraints::default();
    read_constraints(&req, &mut c)?;
    c.finish()?;
    mixed_parameters(
        &req,
        &["KeyConditions", "QueryFilter", "AttributesToGet", "ConditionalOperator"],
        &["KeyConditionExpression", "FilterExpression", "ProjectionExpression"],
    )?;
    if !req.has("KeyConditionExpression") && !req.has("KeyConditions") {
        return Err(Error::validation(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
        ));
    }
    let mut p: Placeholders = placeholders(&req)?;
    let users = ["KeyConditionExpression", "FilterExpression", "ProjectionExpression"];
    placeholders_need_expressions(&req, &users, &users[..2])?;
    let key_condition = match req.str("KeyConditionExpression")? {
        Some(text) => text.to_string(),
        None => legacy::key_conditions(&req, &mut legacy::Builder::new(&mut p))?.unwrap_or_default(),
    };
    let (filter, projection) = filter_and_projection(&req, "QueryFilter", &mut p)?;
    let sel = select(&req, projection.as_deref())?;
    let mut ctx = Context::new(&p.names, &p.values);
    if req.has("AttributesToGet") {
        ctx = ctx.trusted();
    }
    let key_parts = ctx.key_condition_parts(&key_condition)?;
    let table = table_for_read(backend, &req).await?;
    Context::key_condition_for(key_parts, &table.key_schema)?;
    let filter_condition = check_filter_and_projection(&mut ctx, filter.as_deref(), projection.as_deref())?;
    ctx.check_unused()?;
    // A Query's filter sees only what the key condition did not decide.
    if let Some(f) = &filter_condition {
        let schema = &table.key_schema;
        let keys = std::iter::once(&schema.partition).chain(schema.sort.as_ref());
        if let Some(key) = keys.map(|k| k.name.as_str()).find(|k| f.mentions(k)) {
            let member = if req.has("QueryFilter") {
                "QueryFilter"
            } else {
                "Filter Expression"
            };
            return Err(Error::validation(format!(
                "{member} can only contain non-primary key attributes: Primary key attribute: {key}"
            )));
        }
    }
    let op = Query {
        table: table.name.clone(),
        index: None,
        key_condition,
        filter,
        projection,
        placeholders: p,
        select: sel,
        limit: req.int("Limit")?.map(|l| l as usize),
        exclusive_start_key: start_key(&req, &table)?,
        forward: req.bool("ScanIndexForward")?.unwrap_or(true),
        consistent: req.bool("ConsistentRead")?.unwrap_or(false),
    };
    let page = backend.query(&table, op).await?;
    page_response(&req, &table.name, sel, page)
}

pub async fn scan<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let mut c = Constraints::default();
    read_constraints(&req, &mut c)?;
    let (segment, total) = (req.int("Segment")?, req.int("TotalSegments")?);
    c.member_at_least(segment, "Segment", 0);
    c.member_at_most(segment, "Segment", 999_999);
    c.member_at_least(total, "TotalSegments", 1);
    c.member_at_most(total, "TotalSegments", 1_000_000);
    c.finish()?;
    mixed_parameters(
        &req,
        &["ScanFilter", "AttributesToGet", "ConditionalOperator"],
        &["FilterExpression", "ProjectionExpression"],
    )?;
    let segment = match (segment, total) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(Error::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ))
        }
        (None, Some(_)) => {
            return Err(Error::validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ))
        }
        (Some(s), Some(t)) if s >= t => {
            return Err(Error::validation(
                "The Segment parameter is zero-based and must be less than parameter TotalSegments",
            ))
        }
        (Some(s), Some(t)) => Some((s as u32, t as u32)),
    };
    let mut p = placeholders(&req)?;
    let users = ["FilterExpression", "ProjectionExpression"];
    placeholders_need_expressions(&req, &users, &users[..1])?;
    let (filter, projection) = filter_and_projection(&req, "ScanFilter", &mut p)?;
    let sel = select(&req, projection.as_deref())?;
    let mut ctx = Context::new(&p.names, &p.values);
    if req.has("AttributesToGet") {
        ctx = ctx.trusted();
    }
    check_filter_and_projection(&mut ctx, filter.as_deref(), projection.as_deref())?;
    ctx.check_unused()?;
    let table = table_for_read(backend, &req).await?;
    let op = Scan {
        table: table.name.clone(),
        index: None,
        filter,
        projection,
        placeholders: p,
        select: sel,
        limit: req.int("Limit")?.map(|l| l as usize),
        exclusive_start_key: start_key(&req, &table)?,
        segment,
        consistent: req.bool("ConsistentRead")?.unwrap_or(false),
    };
    let page = backend.scan(&table, op).await?;
    page_response(&req, &table.name, sel, page)
}
