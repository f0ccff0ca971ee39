//! DynamoDB's legacy (non-expression) parameters: `Expected`, `AttributeUpdates`,
//! `KeyConditions`, `QueryFilter`, `ScanFilter`, `AttributesToGet` and `ConditionalOperator`.
//!
//! Each is checked with the service's own messages, then written as the expression it stands
//! for, over placeholders of its own (`#lgN`, `:lgN`): the rest of the pipeline (checks,
//! evaluation in the shard, replication) only ever sees expressions. A request never holds
//! both kinds (`request::mixed_parameters`), so the placeholders cannot meet a client's.

use serde_json::Value;
use tessera_model::ops::Placeholders;
use tessera_model::{shape, AttributeValue, Error, Result, ValueType};

use crate::request::{missing_member, Req};

const INVALID: &str = "One or more parameter values were invalid";

/// Builds expression text over generated placeholders.
pub struct Builder<'p> {
    p: &'p mut Placeholders,
    next: usize,
}

impl<'p> Builder<'p> {
    pub fn new(p: &'p mut Placeholders) -> Self {
        let next = p.names.len() + p.values.len();
        Builder { p, next }
    }

    fn name(&mut self, attribute: &str) -> String {
        if let Some((k, _)) = self.p.names.iter().find(|(_, v)| *v == attribute) {
            return k.clone();
        }
        let key = format!("#lg{}", self.next);
        self.next += 1;
        self.p.names.insert(key.clone(), attribute.to_string());
        key
    }

    fn value(&mut self, v: AttributeValue) -> String {
        let key = format!(":lg{}", self.next);
        self.next += 1;
        self.p.values.insert(key.clone(), v);
        key
    }
}

/// `ConditionalOperator`, checked against the number of conditions it joins.
fn joiner(req: &Req<'_>, conditions: usize) -> Result<&'static str> {
    match req.str("ConditionalOperator")? {
        None => Ok(" AND "),
        Some(_) if conditions < 2 => Err(Error::validation(
            "ConditionalOperator can only be used when Filter or Expected has two or more elements",
        )),
        Some("OR") => Ok(" OR "),
        Some(_) => Ok(" AND "),
    }
}

fn values(list: Option<&Value>) -> Result<Vec<AttributeValue>> {
    match list {
        None => Ok(Vec::new()),
        Some(v) => shape::list(v)?.iter().map(AttributeValue::from_json).collect(),
    }
}

/// One `ComparisonOperator` condition on `attribute`, with its arguments, as expression text.
fn comparison(b: &mut Builder<'_>, attribute: &str, op: &str, args: Vec<AttributeValue>) -> Result<String> {
    let arity = match op {
        "NOT_NULL" | "NULL" => Some(0),
        "EQ" | "NE" | "LE" | "LT" | "GE" | "GT" | "CONTAINS" | "NOT_CONTAINS" | "BEGINS_WITH" => Some(1),
        "BETWEEN" => Some(2),
        "IN" => None,
        _ => {
            return Err(Error::validation(format!(
                "1 validation error detected: Value '{op}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
            )))
        }
    };
    if arity.map_or(args.is_empty(), |n| args.len() != n) {
        return Err(Error::validation(format!(
            "{INVALID}: Invalid number of argument(s) for the {op} ComparisonOperator"
        )));
    }
    let allowed = |a: &AttributeValue| match op {
        "EQ" | "NE" => true,
        "BEGINS_WITH" => matches!(a, AttributeValue::S(_) | AttributeValue::B(_)),
        _ => matches!(a, AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)),
    };
    if let Some(a) = args.iter().find(|a| !allowed(a)) {
        return Err(Error::validation(format!(
            "{INVALID}: ComparisonOperator {op} is not valid for {} AttributeValue type",
            a.value_type().descriptor()
        )));
    }
    let name = b.name(attribute);
    let values: Vec<String> = args.into_iter().map(|v| b.value(v)).collect();
    let first = values.first().cloned().unwrap_or_default();
    Ok(match op {
        "EQ" => format!("{name} = {first}"),
        "NE" => format!("{name} <> {first}"),
        "LE" => format!("{name} <= {first}"),
        "LT" => format!("{name} < {first}"),
        "GE" => format!("{name} >= {first}"),
        "GT" => format!("{name} > {first}"),
        "NOT_NULL" => format!("attribute_exists({name})"),
        "NULL" => format!("attribute_not_exists({name})"),
        "CONTAINS" => format!("contains({name}, {first})"),
        "NOT_CONTAINS" => format!("NOT contains({name}, {first})"),
        "BEGINS_WITH" => format!("begins_with({name}, {first})"),
        "BETWEEN" => format!("{name} BETWEEN {first} AND {}", values[1]),
        _ => format!("{name} IN ({})", values.join(", ")),
    })
}

/// The conditions of a legacy map member (`Expected`, `QueryFilter`, `ScanFilter`), each
/// written by `one`, joined by `ConditionalOperator`. None without the member, or when it is
/// empty (no condition at all).
fn conditions(
    req: &Req<'_>,
    member: &str,
    b: &mut Builder<'_>,
    mut one: impl FnMut(&mut Builder<'_>, &str, Req<'_>) -> Result<String>,
) -> Result<Option<String>> {
    let Some(map) = req.raw_map(member)? else {
        return Ok(None);
    };
    let join = joiner(req, map.len())?;
    if map.is_empty() {
        return Ok(None);
    }
    let mut parts = Vec::with_capacity(map.len());
    for (attribute, spec) in map {
        parts.push(format!("({})", one(b, attribute, Req::new(spec)?)?));
    }
    Ok(Some(parts.join(join)))
}

/// `Expected` (with `ConditionalOperator`) as a ConditionExpression, or None without it.
pub fn expected(req: &Req<'_>, b: &mut Builder<'_>) -> Result<Option<String>> {
    conditions(req, "Expected", b, |b, attribute, spec| {
        let value = spec.get("Value").map(AttributeValue::from_json).transpose()?;
        let exists = spec.bool("Exists")?;
        let op = spec.str("ComparisonOperator")?;
        let list = spec.get("AttributeValueList");
        let part = match (op, exists) {
            (Some(_), Some(_)) => {
                return Err(Error::validation(format!(
                    "{INVALID}: Exists and ComparisonOperator cannot be used together for Attribute: {attribute}"
                )))
            }
            (Some(_), None) if value.is_some() && list.is_some() => {
                return Err(Error::validation(format!(
                    "{INVALID}: Value and AttributeValueList cannot be used together for Attribute: {attribute}"
                )))
            }
            (Some(op), None) => {
                let args = match value {
                    Some(v) => vec![v],
                    None => values(list)?,
                };
                if args.is_empty() && !matches!(op, "NULL" | "NOT_NULL") {
                    return Err(Error::validation(format!(
                        "{INVALID}: Value or AttributeValueList must be used with ComparisonOperator: {op} for Attribute: {attribute}"
                    )));
                }
                comparison(b, attribute, op, args)?
            }
            (None, _) if list.is_some() => {
                return Err(Error::validation(format!(
                "{INVALID}: AttributeValueList can only be used with a ComparisonOperator for Attribute: {attribute}"
            )))
            }
            (None, Some(false)) => match value {
                Some(_) => {
                    return Err(Error::validation(format!(
                        "{INVALID}: Value cannot be used when Exists is false for Attribute: {attribute}"
                    )))
                }
                None => format!("attribute_not_exists({})", b.name(attribute)),
            },
            (None, exists) => match value {
                Some(v) => format!("{} = {}", b.name(attribute), b.value(v)),
                None if exists == Some(true) => {
                    return Err(Error::validation(format!(
                        "{INVALID}: Value must be provided when Exists is true for Attribute: {attribute}"
                    )))
                }
                None => {
                    return Err(Error::validation(format!(
                        "{INVALID}: Value must be provided when Exists is null for Attribute: {attribute}"
                    )))
                }
            },
        };
        Ok(part)
    })
}

/// A `QueryFilter` / `ScanFilter` (with `ConditionalOperator`) as a FilterExpression.
pub fn filter(req: &Req<'_>, member: &str, b: &mut Builder<'_>) -> Result<Option<String>> {
    conditions(req, member, b, |b, attribute, spec| {
        let op = spec.str("ComparisonOperator")?.ok_or_else(|| {
            missing_member(&format!(
                "{}.{attribute}.member.comparisonOperator",
                lower_first(member)
            ))
        })?;
        let args = values(spec.get("AttributeValueList"))?;
        comparison(b, attribute, op, args)
    })
}

/// `KeyConditions` as a KeyConditionExpression (the key checks follow on the expression).
pub fn key_conditions(req: &Req<'_>, b: &mut Builder<'_>) -> Result<Option<String>> {
    let Some(conditions) = req.raw_map("KeyConditions")? else {
        return Ok(None);
    };
    let mut parts = Vec::with_capacity(conditions.len());
    for (attribute, spec) in conditions {
        let spec = Req::new(spec)?;
        let op = spec
            .str("ComparisonOperator")?
            .ok_or_else(|| missing_member(&format!("keyConditions.{attribute}.member.comparisonOperator")))?;
        if !matches!(op, "EQ" | "LE" | "LT" | "GE" | "GT" | "BEGINS_WITH" | "BETWEEN") {
            return Err(Error::validation(
                "Attempted conditional constraint is not an indexable operation",
            ));
        }
        let args = values(spec.get("AttributeValueList"))?;
        parts.push(comparison(b, attribute, op, args)?);
    }
    if parts.is_empty() || parts.len() > 2 {
        return Err(Error::validation("Conditions can be of length 1 or 2 only"));
    }
    Ok(Some(parts.join(" AND ")))
}

/// `AttributesToGet` as a ProjectionExpression.
pub fn attributes_to_get(req: &Req<'_>, b: &mut Builder<'_>) -> Result<Option<String>> {
    let Some(list) = req.list("AttributesToGet")? else {
        return Ok(None);
    };
    if list.is_empty() {
        return Err(Error::validation(
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for v in list {
        let attribute = shape::string(v)?;
        let name = b.name(attribute);
        if names.contains(&name) {
            return Err(Error::validation(format!(
                "{INVALID}: Duplicate value in attribute name: {attribute}"
            )));
        }
        names.push(name);
    }
    Ok(Some(names.join(", ")))
}

/// `AttributeUpdates` as an UpdateExpression (None without it, or when it is empty: an
/// UpdateItem that changes nothing but creates the item).
pub fn attribute_updates(req: &Req<'_>, b: &mut Builder<'_>) -> Result<Option<String>> {
    let Some(updates) = req.raw_map("AttributeUpdates")? else {
        return Ok(None);
    };
    let (mut set, mut remove, mut add, mut delete) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (attribute, spec) in updates {
        let spec = Req::new(spec)?;
        let action = spec.str("Action")?.unwrap_or("PUT");
        if !matches!(action, "ADD" | "PUT" | "DELETE") {
            return Err(Error::validation(format!(
                "1 validation error detected: Value '{action}' at 'attributeUpdates.{attribute}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
            )));
        }
        let value = spec.get("Value").map(AttributeValue::from_json).transpose()?;
        let name = b.name(attribute);
        match (action, value) {
            ("DELETE", None) => remove.push(name),
            (_, None) => {
                return Err(Error::validation(format!(
                    "{INVALID}: Only DELETE action is allowed when no attribute value is specified"
                )))
            }
            ("PUT", Some(v)) => {
                let v = b.value(v);
                set.push(format!("{name} = {v}"));
            }
            ("ADD", Some(v @ AttributeValue::L(_))) => {
                let empty = b.value(AttributeValue::L(Vec::new()));
                let v = b.value(v);
                set.push(format!("{name} = list_append(if_not_exists({name}, {empty}), {v})"));
            }
            ("ADD", Some(v))
                if matches!(v, AttributeValue::N(_))
                    || matches!(v.value_type(), ValueType::Ss | ValueType::Ns | ValueType::Bs) =>
            {
                let v = b.value(v);
                add.push(format!("{name} {v}"));
            }
            ("DELETE", Some(v)) if matches!(v.value_type(), ValueType::Ss | ValueType::Ns | ValueType::Bs) => {
                let v = b.value(v);
                delete.push(format!("{name} {v}"));
            }
            (_, Some(v)) => {
                return Err(Error::validation(format!(
                    "{INVALID}: {action} action is not supported for the type {}",
                    v.value_type().descriptor()
                )))
            }
        }
    }
    let mut clauses = Vec::new();
    for (keyword, parts) in [("SET", set), ("REMOVE", remove), ("ADD", add), ("DELETE", delete)] {
        if !parts.is_empty() {
            clauses.push(format!("{keyword} {}", parts.join(", ")));
        }
    }
    Ok((!clauses.is_empty()).then(|| clauses.join(" ")))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}
