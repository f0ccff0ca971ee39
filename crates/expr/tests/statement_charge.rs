#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! UpdateItem's statement charge: the figures DynamoDB applies, as the conformance suite's
//! `itemSizeBySurface` tests pin them (3 per update, 19 per SET/ADD, 1 per REMOVE/DELETE,
//! plus targets, operands and functions).

mod common;

use common::*;
use serde_json::{json, Value};
use tessera_expr::statement_charge;

fn charge(expr: &str, n: Value, v: Value) -> usize {
    statement_charge(&update(expr, n, v).unwrap())
}

fn s(len: usize) -> Value {
    json!({"S": "x".repeat(len)})
}

#[test]
fn per_clause_costs() {
    let pad = |n| json!({":pad": s(n)});
    // One SET: 3 + 19 + target + value.
    assert_eq!(charge("SET b = :pad", json!({}), pad(100)), 3 + 19 + 1 + 100);
    // An alias costs the attribute's name, not its own.
    assert_eq!(
        charge("SET #twelvechars = :pad", json!({"#twelvechars": "b"}), pad(100)),
        3 + 19 + 1 + 100
    );
    // A second SET costs 19 plus what it writes; a REMOVE 1 plus its target.
    assert_eq!(
        charge("SET b = :pad, c = :c", json!({}), json!({":pad": s(100), ":c": s(1)})),
        3 + (19 + 1 + 100) + (19 + 1 + 1)
    );
    assert_eq!(
        charge("SET b = :pad REMOVE r", json!({}), pad(100)),
        3 + (19 + 1 + 100) + 2
    );
    // Path operands: 1 + (14 + element) per element; the value read is free.
    assert_eq!(
        charge("SET c = abcdefghij", json!({}), json!({})),
        3 + 19 + 1 + (1 + 14 + 10)
    );
    assert_eq!(
        charge("SET c = m.a.z", json!({}), json!({})),
        3 + 19 + 1 + (1 + 15 + 15 + 15)
    );
    assert_eq!(
        charge("SET c = l[10]", json!({}), json!({})),
        3 + 19 + 1 + (1 + 15 + 16)
    );
    // Functions and arithmetic, plus both operands; documents at their size.
    assert_eq!(
        charge(
            "SET l = list_append(l, :new)",
            json!({}),
            json!({":new": {"L": [s(10)]}})
        ),
        3 + 19 + 1 + 37 + (1 + 15) + (3 + 1 + 10)
    );
    assert_eq!(
        charge(
            "SET c = if_not_exists(c, :m)",
            json!({}),
            json!({":m": {"M": {"a": s(100)}}})
        ),
        3 + 19 + 1 + 39 + (1 + 15) + (3 + 1 + 1 + 100)
    );
    let one = json!({":one": {"N": "1"}});
    assert_eq!(
        charge("SET n = n + :one", json!({}), one.clone()),
        3 + 19 + 1 + 34 + (1 + 15) + 2
    );
    assert_eq!(
        charge("SET n = n - :one", json!({}), one.clone()),
        3 + 19 + 1 + 37 + (1 + 15) + 2
    );
    // A value used twice is charged twice.
    assert_eq!(
        charge(
            "SET c = if_not_exists(c, :s), d = if_not_exists(d, :s)",
            json!({}),
            json!({":s": s(100)})
        ),
        3 + 2 * (19 + 1 + 39 + 16 + 100)
    );
    // ADD: 19 + target + the value added; DELETE and REMOVE: 1 + target.
    assert_eq!(charge("ADD abcdefghij :one", json!({}), one), 3 + 19 + 10 + 2);
    assert_eq!(
        charge("ADD ss :new", json!({}), json!({":new": {"SS": ["s".repeat(500)]}})),
        3 + 19 + 2 + 500
    );
    assert_eq!(
        charge("DELETE ss :rm", json!({}), json!({":rm": {"SS": ["q".repeat(20)]}})),
        3 + 1 + 2
    );
    // Targets: the first name, then 4 + the element for each later one.
    assert_eq!(charge("REMOVE m.yyyyyyyyyy", json!({}), json!({})), 3 + 1 + 1 + 4 + 10);
    assert_eq!(charge("REMOVE abcdefghij[1]", json!({}), json!({})), 3 + 1 + 10 + 4 + 1);
    assert_eq!(
        charge("SET d[0] = :pad", json!({}), pad(100)),
        3 + 19 + (1 + 4 + 1) + 100
    );
}
