#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A quick end-to-end pass through parse, check, evaluate and update.

use serde_json::json;
use std::collections::BTreeMap;
use tessera_expr::*;
use tessera_model::{item_from_json, AttributeValue, Item};

fn vals(v: serde_json::Value) -> BTreeMap<String, AttributeValue> {
    item_from_json(&v).unwrap().into_iter().collect()
}

#[test]
fn smoke() {
    let names = BTreeMap::from([("#n".to_string(), "name".to_string())]);
    let values = vals(json!({":v": {"S": "x"}, ":one": {"N": "1"}, ":l": {"L": [{"S": "z"}]}}));
    let mut ctx = Context::new(&names, &values);
    let c = ctx
        .condition(ExprKind::Condition, "#n = :v AND size(tags) > :one")
        .unwrap();
    let u = ctx
        .update("SET cnt = if_not_exists(cnt, :one) + :one, tags = list_append(tags, :l) REMOVE stale")
        .unwrap();
    ctx.check_unused().unwrap();
    let item: Item =
        item_from_json(&json!({"name": {"S": "x"}, "tags": {"L": [{"S": "a"}, {"S": "b"}]}, "stale": {"BOOL": true}}))
            .unwrap();
    assert!(evaluate(&c, Some(&item)));
    let new = apply_update(&u, Some(&item)).unwrap();
    assert_eq!(
        tessera_model::item_to_json(&new),
        json!({"name": {"S": "x"}, "cnt": {"N": "2"}, "tags": {"L": [{"S": "a"}, {"S": "b"}, {"S": "z"}]}})
    );
    let err = Context::new(&names, &values)
        .condition(ExprKind::Filter, "name = :v")
        .unwrap_err();
    assert_eq!(
        err.message,
        "Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: name"
    );
}
