//! Helpers shared by the integration tests: build placeholder maps and items from DynamoDB
//! JSON, and run one expression through parse, check and evaluation.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use serde_json::Value;
use tessera_expr::{apply_update, evaluate, project, Condition, Context, ExprKind, Update};
use tessera_model::{item_from_json, item_to_json, AttributeValue, Error, Item};

/// ExpressionAttributeValues from `{":v": {"S": "x"}, ...}`.
pub fn vals(v: Value) -> BTreeMap<String, AttributeValue> {
    item_from_json(&v).unwrap().into_iter().collect()
}

/// ExpressionAttributeNames from `{"#n": "name", ...}`.
pub fn names(v: Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

pub fn item(v: Value) -> Item {
    item_from_json(&v).unwrap()
}

pub fn no_names() -> BTreeMap<String, String> {
    BTreeMap::new()
}

/// Parses and checks a condition of `kind`.
pub fn condition(kind: ExprKind, expr: &str, n: Value, v: Value) -> Result<Condition, Error> {
    let (n, v) = (names(n), vals(v));
    Context::new(&n, &v).condition(kind, expr)
}

/// The message of the error a ConditionExpression must fail with.
pub fn cond_err(expr: &str, n: Value, v: Value) -> String {
    match condition(ExprKind::Condition, expr, n, v) {
        Ok(c) => panic!("{expr:?} was accepted: {c:?}"),
        Err(e) => {
            assert_eq!(e.kind, tessera_model::ErrorKind::Validation, "{e:?}");
            e.message
        }
    }
}

/// Evaluates a ConditionExpression (which must be valid) against `it` (None: no item).
pub fn eval_on(expr: &str, n: Value, v: Value, it: Option<Value>) -> bool {
    let c = condition(ExprKind::Condition, expr, n, v).unwrap_or_else(|e| panic!("{expr:?}: {}", e.message));
    let it = it.map(item);
    evaluate(&c, it.as_ref())
}

/// Evaluates with no names: the common case.
pub fn eval(expr: &str, v: Value, it: Value) -> bool {
    eval_on(expr, serde_json::json!({}), v, Some(it))
}

pub fn update(expr: &str, n: Value, v: Value) -> Result<Update, Error> {
    let (n, v) = (names(n), vals(v));
    Context::new(&n, &v).update(expr)
}

pub fn update_err(expr: &str, n: Value, v: Value) -> String {
    match update(expr, n, v) {
        Ok(u) => panic!("{expr:?} was accepted: {u:?}"),
        Err(e) => {
            assert_eq!(e.kind, tessera_model::ErrorKind::Validation, "{e:?}");
            e.message
        }
    }
}

/// Parses, checks and applies an update; the new item as DynamoDB JSON.
pub fn apply(expr: &str, n: Value, v: Value, it: Option<Value>) -> Result<Value, Error> {
    let u = update(expr, n, v).unwrap_or_else(|e| panic!("{expr:?}: {}", e.message));
    let it = it.map(item);
    apply_update(&u, it.as_ref()).map(|i| item_to_json(&i))
}

/// Projects `it` through a ProjectionExpression; the result as DynamoDB JSON.
pub fn projected(expr: &str, n: Value, it: Value) -> Value {
    let (n, v) = (names(n), BTreeMap::new());
    let paths = Context::new(&n, &v)
        .projection(expr)
        .unwrap_or_else(|e| panic!("{expr:?}: {}", e.message));
    item_to_json(&project(&item(it), &paths))
}

pub fn projection_err(expr: &str, n: Value) -> String {
    let (n, v) = (names(n), BTreeMap::new());
    Context::new(&n, &v).projection(expr).unwrap_err().message
}
