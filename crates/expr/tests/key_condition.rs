#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! KeyConditionExpression against a key schema (notes §6).

mod common;

use common::*;
use serde_json::{json, Value};
use tessera_expr::{CompareOp, Context, KeyCondition, SortCondition};
use tessera_model::{AttributeValue, Error, KeyAttribute, KeySchema, Number, ScalarType};

fn schema(sort: Option<ScalarType>) -> KeySchema {
    KeySchema {
        partition: KeyAttribute {
            name: "pk".into(),
            scalar_type: ScalarType::S,
        },
        sort: sort.map(|t| KeyAttribute {
            name: "sk".into(),
            scalar_type: t,
        }),
    }
}

fn kc(expr: &str, n: Value, v: Value, s: &KeySchema) -> Result<KeyCondition, Error> {
    let (n, v) = (names(n), vals(v));
    Context::new(&n, &v).key_condition(expr, s)
}

/// Standard placeholders: S and N values plus a BOOL.
fn values() -> Value {
    json!({":p": {"S": "p1"}, ":s": {"S": "abc"}, ":t": {"S": "abd"}, ":n": {"N": "5"}, ":m": {"N": "7"},
           ":b": {"BOOL": true}, ":x": {"B": "AQ=="}, ":ty": {"S": "N"}})
}

/// The message of the error a key condition on a (pk S, sk N) table must fail with.
fn err_n(expr: &str) -> String {
    let e = kc(
        expr,
        json!({"#pk": "pk", "#sk": "sk"}),
        values(),
        &schema(Some(ScalarType::N)),
    )
    .unwrap_err();
    assert_eq!(e.kind, tessera_model::ErrorKind::Validation, "{expr}");
    e.message
}

fn num(s: &str) -> AttributeValue {
    AttributeValue::N(s.parse::<Number>().unwrap())
}

/// Partition-only and partition+sort conditions resolve, in either order and with names.
#[test]
fn valid_conditions() {
    let s = schema(Some(ScalarType::N));
    let k = kc("pk = :p", json!({}), values(), &s).unwrap();
    assert_eq!(k.partition, AttributeValue::S("p1".into()));
    assert_eq!(k.sort, None);
    let k = kc(
        "#sk BETWEEN :n AND :m AND #pk = :p",
        json!({"#pk": "pk", "#sk": "sk"}),
        values(),
        &s,
    )
    .unwrap();
    assert_eq!(k.sort, Some(SortCondition::Between(num("5"), num("7"))));
    for (op, expected) in [
        ("=", CompareOp::Eq),
        ("<", CompareOp::Lt),
        ("<=", CompareOp::Le),
        (">", CompareOp::Gt),
        (">=", CompareOp::Ge),
    ] {
        let k = kc(&format!("pk = :p AND sk {op} :n"), json!({}), values(), &s).unwrap();
        assert_eq!(k.sort, Some(SortCondition::Compare(expected, num("5"))), "{op}");
    }
    // Parentheses are accepted in key conditions, but not doubled (as in DynamoDB's answer
    // to `((pk = :v))`).
    assert!(kc("(pk = :p) AND (sk = :n)", json!({}), values(), &s).is_ok());
    assert_eq!(
        kc("((pk = :p)) AND ((sk = :n))", json!({}), values(), &s)
            .unwrap_err()
            .message,
        "Invalid KeyConditionExpression: The expression has redundant parentheses;"
    );
    assert!(kc("(pk) = :p", json!({}), values(), &s).is_ok());
    let k = kc(
        "pk = :p AND begins_with(sk, :s)",
        json!({}),
        values(),
        &schema(Some(ScalarType::S)),
    )
    .unwrap();
    assert_eq!(k.sort, Some(SortCondition::BeginsWith(AttributeValue::S("abc".into()))));
}

/// A value on the left means the mirrored comparison: `:v <= sk` is `sk >= :v`.
#[test]
fn reversed_operands() {
    let s = schema(Some(ScalarType::N));
    for (op, expected) in [
        ("<", CompareOp::Gt),
        ("<=", CompareOp::Ge),
        (">", CompareOp::Lt),
        (">=", CompareOp::Le),
        ("=", CompareOp::Eq),
    ] {
        let k = kc(&format!(":p = pk AND :n {op} sk"), json!({}), values(), &s).unwrap();
        assert_eq!(k.partition, AttributeValue::S("p1".into()));
        assert_eq!(k.sort, Some(SortCondition::Compare(expected, num("5"))), "{op}");
    }
}

/// SortCondition::matches follows DynamoDB ordering and begins_with on S and B.
#[test]
fn sort_condition_matching() {
    let c = SortCondition::Compare(CompareOp::Ge, num("5"));
    assert!(c.matches(&num("5")) && c.matches(&num("10")) && !c.matches(&num("4.99")));
    assert!(!c.matches(&AttributeValue::S("9".into())));
    let c = SortCondition::Between(num("1"), num("2"));
    assert!(c.matches(&num("1")) && c.matches(&num("2")) && !c.matches(&num("2.5")));
    let c = SortCondition::BeginsWith(AttributeValue::S("ab".into()));
    assert!(c.matches(&AttributeValue::S("abc".into())) && !c.matches(&AttributeValue::S("ba".into())));
    let c = SortCondition::BeginsWith(AttributeValue::B(vec![1]));
    assert!(c.matches(&AttributeValue::B(vec![1, 2])) && !c.matches(&AttributeValue::B(vec![2])));
}

/// OR, NOT, IN and <> are not key-condition operators.
#[test]
fn invalid_operators() {
    let m = |op: &str| format!("Invalid operator used in KeyConditionExpression: {op}");
    assert_eq!(err_n("pk = :p OR sk = :n"), m("OR"));
    assert_eq!(err_n("pk = :p AND NOT sk = :n"), m("NOT"));
    assert_eq!(err_n("pk = :p AND sk IN (:n, :m)"), m("IN"));
    assert_eq!(err_n("pk = :p AND sk <> :n"), m("<>"));
    for f in [
        "attribute_exists(sk)",
        "attribute_not_exists(sk)",
        "attribute_type(sk, :ty)",
        "contains(sk, :n)",
    ] {
        let name = f.split('(').next().unwrap();
        assert_eq!(err_n(&format!("pk = :p AND {f}")), m(name), "{f}");
    }
}

/// size() anywhere is a nested operation.
#[test]
fn nested_operations() {
    let m = "KeyConditionExpressions cannot contain nested operations";
    assert_eq!(err_n("pk = :p AND size(sk) > :n"), m);
    assert_eq!(err_n("sk > size(pk)"), m);
    assert_eq!(err_n("pk BETWEEN size(sk) AND size(pk)"), m);
}

/// Conditions on nested paths are rejected.
#[test]
fn nested_attributes() {
    let m = "KeyConditionExpressions cannot have conditions on nested attributes";
    assert_eq!(err_n("pk.d > :n"), m);
    assert_eq!(err_n("sk[0] > :n"), m);
    assert_eq!(err_n("pk = :p AND #sk.foo = :n"), m);
    assert_eq!(err_n("b.d > a AND c.d > e.f"), m);
}

/// Operands are examined left to right: a second path is "multiple attribute names".
#[test]
fn multiple_attribute_names() {
    let m = "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition";
    assert_eq!(err_n("b > a.b"), m);
    assert_eq!(err_n("b between c[1] and d"), m);
    assert_eq!(err_n("a between b and size(a)"), m);
    assert_eq!(err_n("begins_with(a, b)"), m);
    assert_eq!(err_n("pk = sk"), m);
}

/// BETWEEN and begins_with must start with the key attribute; values alone name no key.
#[test]
fn first_operand_and_no_key() {
    assert_eq!(
        err_n("pk = :p AND :n BETWEEN sk AND :m"),
        "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"
    );
    assert_eq!(
        err_n(":n BETWEEN :n AND :m"),
        "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand"
    );
    assert_eq!(
        err_n("pk = :p AND begins_with(:s, sk)"),
        "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand"
    );
    let none = "Invalid condition in KeyConditionExpression: No key attribute specified";
    assert_eq!(err_n(":n > :m AND pk < :n"), none);
    assert_eq!(err_n("pk = :p AND :n < :m"), none);
}

/// Each key at most once; no more conditions than key attributes; the partition key needed.
#[test]
fn condition_counts_and_missing_keys() {
    assert_eq!(
        err_n("pk = :p AND sk > :n AND sk < :m"),
        "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"
    );
    assert_eq!(
        err_n("pk = :p AND sk > :n AND attr = :m"),
        "The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)"
    );
    assert_eq!(err_n("sk = :n"), "Query condition missed key schema element: pk");
    assert_eq!(err_n("attr = :p"), "Query condition missed key schema element: pk");
    assert_eq!(
        err_n("pk = :p AND attr = :n"),
        "Query condition missed key schema element: sk"
    );
    // A partition-only schema: a second condition is one too many.
    let e = kc("pk = :p AND sk = :n", json!({}), values(), &schema(None)).unwrap_err();
    assert_eq!(
        e.message,
        "The number of query conditions (2) exceeds the number of key attributes defined in the schema (1)"
    );
    // The partition key with anything but = (message not pinned by the notes: kind only).
    let e = kc("pk > :p", json!({}), values(), &schema(None)).unwrap_err();
    assert_eq!(e.kind, tessera_model::ErrorKind::Validation);
}

/// Operand types: begins_with on N/BOOL, ordering on BOOL, schema mismatches.
#[test]
fn operand_types_and_schema_mismatch() {
    let t = |f: &str, ty: &str| {
        format!("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: {f}, operand type: {ty}")
    };
    assert_eq!(err_n("pk = :p AND begins_with(sk, :n)"), t("begins_with", "N"));
    assert_eq!(err_n("pk = :p AND begins_with(sk, :b)"), t("begins_with", "BOOL"));
    assert_eq!(err_n("pk = :p AND sk < :b"), t("<", "BOOL"));
    // The operator as written, not mirrored.
    assert_eq!(err_n("pk = :p AND :b >= sk"), t(">=", "BOOL"));
    let mismatch = "One or more parameter values were invalid: Condition parameter type does not match schema type";
    assert_eq!(err_n("pk = :p AND sk = :s"), mismatch);
    assert_eq!(err_n("pk = :n"), mismatch);
    assert_eq!(err_n("pk = :b"), mismatch);
    assert_eq!(err_n("pk = :p AND begins_with(sk, :s)"), mismatch);
    // BETWEEN bound checks carry the KeyConditionExpression prefix.
    assert_eq!(
        err_n("pk = :p AND sk BETWEEN :m AND :n"),
        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:7}, upper bound operand: AttributeValue: {N:5}"
    );
    // The first problem written wins: undefined value before a later operand-type error.
    let e = kc(
        "pk = :missing AND sk < :b",
        json!({}),
        values(),
        &schema(Some(ScalarType::N)),
    )
    .unwrap_err();
    assert!(e.message.contains("attribute value: :missing"), "{}", e.message);
    let e = kc(
        "sk < :b AND pk = :missing",
        json!({}),
        values(),
        &schema(Some(ScalarType::N)),
    )
    .unwrap_err();
    assert!(e.message.contains("operand type: BOOL"), "{}", e.message);
}

/// Syntax, empty and reserved errors carry the KeyConditionExpression prefix.
#[test]
fn generic_errors() {
    assert_eq!(
        err_n(""),
        "Invalid KeyConditionExpression: The expression can not be empty;"
    );
    assert_eq!(
        err_n("pk = :p AND __typename = :s"),
        "Invalid KeyConditionExpression: Syntax error; token: \"_\", near: \"AND __\""
    );
    assert_eq!(
        err_n("pk = :p AND name = :s"),
        "Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"
    );
    assert_eq!(
        err_n("#nope = :p"),
        "Invalid KeyConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope"
    );
}

/// Placeholders used by a key condition count as used.
#[test]
fn marks_placeholders_used() {
    let (n, v) = (
        names(json!({"#k": "pk", "#s": "sk"})),
        vals(json!({":p": {"S": "a"}, ":lo": {"N": "1"}, ":hi": {"N": "2"}})),
    );
    let mut ctx = Context::new(&n, &v);
    ctx.key_condition("#k = :p AND #s BETWEEN :lo AND :hi", &schema(Some(ScalarType::N)))
        .unwrap();
    ctx.check_unused().unwrap();
}
