//! Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem.

use serde::Serialize;
use serde_json::{json, Value};
use tessera_expr::{check_key_attributes, statement_charge, Context, ExprKind};
use tessera_model::limits::ITEM_BYTES_MAX;
use tessera_model::ops::{
    DeleteItem, GetItem, Placeholders, PutItem, ReturnValues, UpdateItem, WriteOptions, WriteOutput,
};
use tessera_model::{item_size, item_to_json, Error, Item, Result};

use super::{consumed_capacity, table_or_not_found, Answer};
use crate::request::{enveloped, mixed_parameters, placeholders, placeholders_need_expressions, Constraints, Req};
use crate::{legacy, Backend};

pub const MSG_ITEM_TOO_LARGE: &str = "Item size has exceeded the maximum allowed size";
const MSG_UPDATE_TOO_LARGE: &str = "Item size to update has exceeded the maximum allowed size";
/// In the order DynamoDB lists them in its error.
const RETURN_VALUES: [&str; 5] = ["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"];

/// The enum members every single-item write shares, in the order DynamoDB reports them, with
/// the table name between ReturnConsumedCapacity and ReturnValues.
fn common_constraints(req: &Req<'_>, c: &mut Constraints) -> Result<()> {
    c.one_of(
        req.str("ReturnConsumedCapacity")?,
        "returnConsumedCapacity",
        &["INDEXES", "TOTAL", "NONE"],
    );
    c.name(req.str("TableName")?, "tableName", 1);
    c.one_of(req.str("ReturnValues")?, "returnValues", &RETURN_VALUES);
    c.one_of(
        req.str("ReturnValuesOnConditionCheckFailure")?,
        "returnValuesOnConditionCheckFailure",
        &["ALL_OLD", "NONE"],
    );
    c.one_of(
        req.str("ReturnItemCollectionMetrics")?,
        "returnItemCollectionMetrics",
        &["SIZE", "NONE"],
    );
    c.one_of(req.str("ConditionalOperator")?, "conditionalOperator", &["OR", "AND"]);
    Ok(())
}

/// PutItem and DeleteItem stop at an empty table name and report it alone, in the wording
/// of DynamoDB's newer validation (the member's name, no value).
fn empty_table_name(req: &Req<'_>) -> Result<()> {
    if req.str("TableName")? == Some("") {
        return Err(Error::validation(
            "1 validation error detected: Value at 'TableName' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    Ok(())
}

fn return_values(req: &Req<'_>) -> Result<ReturnValues> {
    Ok(req
        .str("ReturnValues")?
        .and_then(ReturnValues::from_wire)
        .unwrap_or_default())
}

fn write_options(req: &Req<'_>, condition: Option<String>, p: Placeholders, rv: ReturnValues) -> Result<WriteOptions> {
    Ok(WriteOptions {
        condition,
        placeholders: p,
        return_values: rv,
        return_old_on_condition_failure: req.str("ReturnValuesOnConditionCheckFailure")? == Some("ALL_OLD"),
    })
}

fn write_response(req: &Req<'_>, table: &str, out: WriteOutput) -> Result<Value> {
    let mut body = json!({});
    if let Some(attributes) = out.attributes.filter(|a| !a.is_empty()) {
        body["Attributes"] = item_to_json(&attributes);
    }
    if let Some(cc) = consumed_capacity(req, table, 1.0)? {
        body["ConsumedCapacity"] = cc;
    }
    Ok(body)
}

/// The write's condition: its ConditionExpression, or what its legacy `Expected` stands for
/// (over placeholders added to `p`).
fn condition_text(req: &Req<'_>, p: &mut Placeholders) -> Result<Option<String>> {
    match req.str("ConditionExpression")? {
        Some(text) => Ok(Some(text.to_string())),
        None => legacy::expected(req, &mut legacy::Builder::new(p)),
    }
}

/// Parses a write's condition (and, for UpdateItem, its update first) and checks that every
/// placeholder is used.
fn check_write_expressions(
    req: &Req<'_>,
    condition: Option<&str>,
    p: &Placeholders,
    update: Option<&str>,
) -> Result<Option<tessera_expr::Update>> {
    let mut ctx = Context::new(&p.names, &p.values);
    if req.has("AttributeUpdates") {
        // Written by Tessera: the legacy parameter has no expression size limits.
        ctx = ctx.trusted();
    }
    let parsed = update.map(|u| ctx.update(u)).transpose()?;
    if let Some(condition) = condition {
        ctx.condition(ExprKind::Condition, condition)?;
    }
    ctx.check_unused()?;
    Ok(parsed)
}

/// What PutItem and DeleteItem check alike before the table lookup, in DynamoDB's order: the
/// constraints, the item (or key) named `member`, ReturnValues, placeholders and the condition.
fn check_put_or_delete(
    req: &Req<'_>,
    member: &str,
    path: &str,
) -> Result<(Item, ReturnValues, Option<String>, Placeholders)> {
    empty_table_name(req)?;
    let mut c = Constraints::default();
    common_constraints(req, &mut c)?;
    c.not_null(req.has(member), path);
    c.finish()?;
    mixed_parameters(req, &["Expected", "ConditionalOperator"], &["ConditionExpression"]).map_err(enveloped)?;
    let item = req.item(member).map_err(enveloped)?.unwrap_or_default();
    let rv = return_values(req)?;
    if !matches!(rv, ReturnValues::None | ReturnValues::AllOld) {
        // PutItem envelopes this one; DeleteItem does not.
        let message = "ReturnValues can only be ALL_OLD or NONE";
        return Err(Error::validation(if member == "Item" {
            format!("1 validation error detected: {message}")
        } else {
            message.to_string()
        }));
    }
    let mut p = placeholders(req).map_err(enveloped)?;
    placeholders_need_expressions(req, &["ConditionExpression"], &["ConditionExpression"]).map_err(enveloped)?;
    let condition = condition_text(req, &mut p).map_err(enveloped)?;
    check_write_expressions(req, condition.as_deref(), &p, None).map_err(enveloped)?;
    Ok((item, rv, condition, p))
}

pub async fn put<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let (item, rv, condition, p) = check_put_or_delete(&req, "Item", "item")?;
    let name = req.str("TableName")?.unwrap_or_default();
    let table = table_or_not_found(backend, name).await?;
    table.key_schema.item_key(&item)?;
    if item_size(&item) > ITEM_BYTES_MAX {
        return Err(Error::validation(MSG_ITEM_TOO_LARGE));
    }
    let options = write_options(&req, condition, p, rv)?;
    let out = backend
        .put_item(
            &table,
            PutItem {
                table: table.name.clone(),
                item,
                options,
            },
        )
        .await?;
    write_response(&req, &table.name, out)
}

pub async fn delete<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let (key, rv, condition, p) = check_put_or_delete(&req, "Key", "key")?;
    let name = req.str("TableName")?.unwrap_or_default();
    let table = table_or_not_found(backend, name).await?;
    table.key_schema.key_from_map(&key)?;
    let options = write_options(&req, condition, p, rv)?;
    let out = backend
        .delete_item(
            &table,
            DeleteItem {
                table: table.name.clone(),
                key,
                options,
            },
        )
        .await?;
    write_response(&req, &table.name, out)
}

pub async fn update<B: Backend>(backend: &B, req: Req<'_>) -> Result<Value> {
    let mut c = Constraints::default();
    common_constraints(&req, &mut c)?;
    c.not_null(req.has("Key"), "key");
    let table_name_ok = req.str("TableName")?.is_some_and(|n| Constraints::valid_name(n, 1));
    let bad_return_values = req.str("ReturnValues")?.is_some_and(|v| !RETURN_VALUES.contains(&v));
    if table_name_ok && req.has("Key") && bad_return_values {
        // DynamoDB's newer validation has reached UpdateItem's ReturnValues: with the table
        // name and key in order it reports that error alone, in its own wording.
        return Err(Error::validation(
            "1 validation error detected: Failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATE_NEW, NONE]",
        ));
    }
    c.finish()?;
    mixed_parameters(
        &req,
        &["AttributeUpdates", "Expected", "ConditionalOperator"],
        &["UpdateExpression", "ConditionExpression"],
    )
    .map_err(enveloped)?;
    let key = req.item("Key").map_err(enveloped)?.unwrap_or_default();
    let rv = return_values(&req)?;
    let mut p = placeholders(&req).map_err(enveloped)?;
    let users = ["UpdateExpression", "ConditionExpression"];
    placeholders_need_expressions(&req, &users, &users).map_err(enveloped)?;
    let update_text = match req.str("UpdateExpression")? {
        Some(text) => Some(text.to_string()),
        None => legacy::attribute_updates(&req, &mut legacy::Builder::new(&mut p)).map_err(enveloped)?,
    };
    let condition = condition_text(&req, &mut p).map_err(enveloped)?;
    let update = check_write_expressions(&req, condition.as_deref(), &p, update_text.as_deref()).map_err(enveloped)?;
    let name = req.str("TableName")?.unwrap_or_default();
    let table = table_or_not_found(backend, name).await?;
    table.key_schema.key_from_map(&key)?;
    if let Some(u) = &update {
        check_key_attributes(u, &table.key_schema)?;
        // An UpdateExpression is also charged for what it writes (legacy AttributeUpdates
        // are not): checked before the condition, whatever the stored item holds.
        if req.has("UpdateExpression") && statement_charge(u) > ITEM_BYTES_MAX {
            return Err(Error::validation(MSG_UPDATE_TOO_LARGE));
        }
    }
    let options = write_options(&req, condition, p, rv)?;
    let op = UpdateItem {
        table: table.name.clone(),
        key,
        update: update_text,
        options,
    };
    let out = backend.update_item(&table, op).await?;
    write_response(&req, &table.name, out)
}

pub async fn get<B: Backend>(backend: &B, req: Req<'_>) -> Result<Answer> {
    let mut c = Constraints::default();
    c.name(req.str("TableName")?, "tableName", 1);
    c.not_null(req.has("Key"), "key");
    c.one_of(
        req.str("ReturnConsumedCapacity")?,
        "returnConsumedCapacity",
        &["INDEXES", "TOTAL", "NONE"],
    );
    c.finish()?;
    mixed_parameters(&req, &["AttributesToGet"], &["ProjectionExpression"])?;
    let key = req.item("Key")?.unwrap_or_default();
    let consistent = req.bool("ConsistentRead")?.unwrap_or(false);
    let mut p = placeholders(&req)?;
    placeholders_need_expressions(&req, &["ProjectionExpression"], &[])?;
    let projection = match req.str("ProjectionExpression")? {
        Some(text) => Some(text.to_string()),
        None => legacy::attributes_to_get(&req, &mut legacy::Builder::new(&mut p))?,
    };
    let mut ctx = Context::new(&p.names, &p.values);
    if req.has("AttributesToGet") {
        ctx = ctx.trusted();
    }
    if let Some(text) = &projection {
        ctx.projection(text)?;
    }
    ctx.check_unused()?;
    let name = req.str("TableName")?.unwrap_or_default();
    let table = table_or_not_found(backend, name).await?;
    table.key_schema.key_from_map(&key)?;
    let op = GetItem {
        table: table.name.clone(),
        key,
        projection,
        placeholders: p,
        consistent,
    };
    let item = backend.get_item(&table, op).await?;
    let body = GetItemBody {
        consumed_capacity: consumed_capacity(&req, &table.name, if consistent { 1.0 } else { 0.5 })?,
        item: item.as_deref(),
    };
    serde_json::to_vec(&body)
        .map(Answer::Encoded)
        .map_err(|e| Error::internal(e.to_string()))
}

/// GetItem's answer, written straight from the item (values serialise as DynamoDB JSON).
#[derive(Serialize)]
struct GetItemBody<'a> {
    #[serde(rename = "ConsumedCapacity", skip_serializing_if = "Option::is_none")]
    consumed_capacity: Option<Value>,
    #[serde(rename = "Item", skip_serializing_if = "Option::is_none")]
    item: Option<&'a Item>,
}
