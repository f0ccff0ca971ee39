#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Validation of UpdateExpressions: exact messages and their order (notes §4.1-§4.4).

mod common;

use common::*;
use serde_json::json;
use tessera_expr::check_key_attributes;
use tessera_model::{KeyAttribute, KeySchema, ScalarType};

const U: &str = "Invalid UpdateExpression: ";

fn fails(expr: &str, msg: &str) {
    assert_eq!(update_err(expr, json!({}), json!({})), format!("{U}{msg}"), "{expr}");
}

/// Placeholders used by the dynalite-derived path examples (notes §4.2).
fn path_names() -> serde_json::Value {
    json!({"#c": "c", "#d": "[3]"})
}

fn syntax(token: &str, near: &str) -> String {
    format!("Syntax error; token: \"{token}\", near: \"{near}\"")
}

/// Empty and over-long expressions.
#[test]
fn empty_and_too_long() {
    fails("", "The expression can not be empty;");
    let long = format!("REMOVE {}", "a".repeat(4090));
    assert_eq!(long.len(), 4097);
    fails(
        &long,
        "Expression size has exceeded the maximum allowed size; expression size: 4097",
    );
    let at_limit = format!("REMOVE {}", "a".repeat(4089));
    assert!(update(&at_limit, json!({}), json!({})).is_ok());
}

/// Syntax errors with the exact token and neighbourhood (notes §1).
#[test]
fn syntax_errors() {
    fails("INVALID SYNTAX HERE", &syntax("INVALID", "INVALID SYNTAX"));
    assert_eq!(
        update_err(
            "SET #attr1 = :val1, #attr2 = :val2,",
            json!({"#attr1": "a", "#attr2": "b"}),
            json!({":val1": {"N": "1"}, ":val2": {"N": "2"}})
        ),
        format!("{U}{}", syntax("<EOF>", ","))
    );
    fails("SET _123 = :val1", &syntax("_", "SET _123"));
    fails("SET", &syntax("<EOF>", "SET"));
    fails("SET a = list_append(a, 0)", &syntax("0", ", 0)"));
    fails("SET a = :v, REMOVE b", &syntax("REMOVE", ", REMOVE b"));
    for bad in [
        "set a = b + c + d",
        "set a = b * c",
        "set (a = (b + c))",
        "set a = if_not_exists(c, :v1+:v2)",
        "ADD a b",
        "ADD a",
        "DELETE a b.c",
        "REMOVE a = :v",
        "REMOVE",
        "SET a",
        "SET a = ",
        "SET a :v",
        "UPDATE a = :v",
        "SET a[:i] = :v",
        "SET a[#i] = :v",
        "SET a.[1] = :v",
        "SET a = \"x\"",
        "SET a = 1",
        "SET a = b AND c",
        "SET a = :v WHERE b",
        "REMOVE a,",
    ] {
        let msg = update_err(bad, json!({}), json!({}));
        assert!(msg.starts_with(&format!("{U}Syntax error; token: ")), "{bad}: {msg}");
    }
}

/// Each section may appear once.
#[test]
fn duplicate_sections() {
    fails(
        "set a = #c set c = :d",
        "The \"SET\" section can only be used once in an update expression;",
    );
    fails(
        "REMOVE a REMOVE b",
        "The \"REMOVE\" section can only be used once in an update expression;",
    );
    fails(
        "ADD a :a add b :b",
        "The \"ADD\" section can only be used once in an update expression;",
    );
    fails(
        "DELETE a :a SET x = :x DELETE b :b",
        "The \"DELETE\" section can only be used once in an update expression;",
    );
}

/// Reserved words anywhere, with the user's case; function names are not checked.
#[test]
fn reserved_words() {
    let m = |w: &str| format!("Attribute name is a reserved keyword; reserved keyword: {w}");
    fails("SET abOrt = :v", &m("abOrt"));
    fails("REMOVE a.Absolute", &m("Absolute"));
    fails("SET a = b + size", &m("size"));
    fails("ADD #x.status :v", &m("status"));
    // The first in the order written: a value path before a later target.
    fails("SET a = views, b.name = :v", &m("views"));
    // Reserved beats unknown functions, duplicate sections and undefined placeholders.
    fails("SET a = foo(:x) SET b = #y REMOVE data", &m("data"));
}

/// Only if_not_exists and list_append exist in updates; names are case-sensitive.
#[test]
fn invalid_function_names() {
    let m = |f: &str| format!("Invalid function name; function: {f}");
    fails("SET a = f(b)", &m("f"));
    fails("SET a = LIST_APPEND(a, b)", &m("LIST_APPEND"));
    fails("SET a = size(b)", &m("size"));
    fails("SET a = if_not_exists(a, attribute_exists(b))", &m("attribute_exists"));
    // Unknown function beats a duplicate section.
    fails("SET a = nope(b) SET c = d", &m("nope"));
}

/// Undefined #names, then undefined :values, each the first in the order written.
#[test]
fn undefined_placeholders() {
    let name =
        |n: &str| format!("An expression attribute name used in the document path is not defined; attribute name: {n}");
    let value =
        |v: &str| format!("An expression attribute value used in expression is not defined; attribute value: {v}");
    fails("SET a = :v", &value(":v"));
    fails("SET a = #x, #y = :v", &name("#x"));
    fails("REMOVE a.#x", &name("#x"));
    fails("SET a = list_append(:l, :m)", &value(":l"));
    fails("SET a = :v ADD b :w", &value(":v"));
    fails("ADD b :w SET a = :v", &value(":w"));
    // Names before values, wherever they stand.
    fails("SET a = :v, b = #n", &name("#n"));
    // Undefined beats overlap and operand-type problems.
    fails("SET a = :v, a = :w", &value(":v"));
    // if_not_exists(:undefined, c): the undefined value wins over "requires a path".
    fails("SET a = if_not_exists(:val2, c)", &value(":val2"));
    // Duplicate section beats undefined names.
    fails(
        "SET a = #x SET b = c",
        "The \"SET\" section can only be used once in an update expression;",
    );
}

/// Overlapping target paths, rendered as DynamoDB does (notes §4.2).
#[test]
fn overlapping_paths() {
    let m = |a: &str, b: &str| {
        format!("{U}Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}")
    };
    let err = |e: &str| update_err(e, path_names(), json!({}));
    assert_eq!(
        err("set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)"),
        m("[c, [1], a]", "[c]")
    );
    assert_eq!(err("set c.b.#c = a, c = a, #d = a"), m("[c, b, c]", "[c]"));
    assert_eq!(err("set a = b remove a, #c, #d"), m("[a]", "[a]"));
    assert_eq!(err("set #c[3].#d = a, #c[3] = a"), m("[c, [3], [3]]", "[c, [3]]"));
    assert_eq!(err("remove c, #c.a, #d"), m("[c]", "[c, a]"));
    assert_eq!(err("remove a, #c, a, #d"), m("[a]", "[a]"));
    assert_eq!(
        update_err(
            "SET #v = :a, #v = :b",
            json!({"#v": "val"}),
            json!({":a": {"N": "1"}, ":b": {"N": "2"}})
        ),
        m("[val]", "[val]")
    );
    let v = json!({":x": {"N": "1"}, ":y": {"N": "2"}});
    assert_eq!(
        update_err("SET a[1] = :x, a[1] = :y", json!({}), v.clone()),
        m("[a, [1]]", "[a, [1]]")
    );
    assert_eq!(
        update_err("SET a[1] = :x, a[1].b = :y", json!({}), v.clone()),
        m("[a, [1]]", "[a, [1], b]")
    );
    assert_eq!(
        update_err("SET a = :x ADD a.b :y", json!({}), v.clone()),
        m("[a]", "[a, b]")
    );
    assert_eq!(
        update_err("DELETE a :x REMOVE a", json!({}), json!({":x": {"SS": ["s"]}})),
        m("[a]", "[a]")
    );
    // Distinct indexes or keys are fine; right-hand sides are not checked.
    assert!(update("SET a[1] = :x, a[2] = :y, b.c = a, b.d = a REMOVE e", json!({}), v).is_ok());
}

/// Conflicting target paths: a map key and a list index at the same position.
#[test]
fn conflicting_paths() {
    let m = |a: &str, b: &str| {
        format!("{U}Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {a}, path two: {b}")
    };
    let err = |e: &str| update_err(e, path_names(), json!({}));
    assert_eq!(
        err("set #c[3].#d = a, #c.#d[3] = if_not_exists(a)"),
        m("[c, [3], [3]]", "[c, [3], [3]]")
    );
    assert_eq!(err("remove a.#c set a[1] = #d"), m("[a, c]", "[a, [1]]"));
    // Overlap beats conflict even when the conflict comes first.
    assert!(err("set d[1] = a, d.b = a, c = a, c.x = a").contains("overlap"));
    // Conflict beats ADD/DELETE operand types.
    let v = json!({":s": {"S": "x"}});
    assert!(update_err("ADD a.b :s, a[0] :s", json!({}), v).contains("conflict"));
}

/// ADD and DELETE operands must be numbers or sets (ADD) or sets (DELETE), long type names.
#[test]
fn add_delete_operand_types() {
    let v = json!({":s": {"S": "x"}, ":n": {"N": "1"}, ":b": {"B": "AQ=="}, ":t": {"BOOL": true},
                   ":z": {"NULL": true}, ":l": {"L": []}, ":m": {"M": {}}, ":ss": {"SS": ["a"]},
                   ":ns": {"NS": ["1"]}, ":bs": {"BS": ["AQ=="]}});
    let m = |op: &str, t: &str| {
        format!("{U}Incorrect operand type for operator or function; operator: {op}, operand type: {t}")
    };
    for (val, long) in [
        (":s", "STRING"),
        (":b", "BINARY"),
        (":t", "BOOLEAN"),
        (":z", "NULL"),
        (":l", "LIST"),
        (":m", "MAP"),
    ] {
        assert_eq!(
            update_err(&format!("ADD a {val}"), json!({}), json!({val: v[val]})),
            m("ADD", long)
        );
        assert_eq!(
            update_err(&format!("DELETE a {val}"), json!({}), json!({val: v[val]})),
            m("DELETE", long)
        );
    }
    assert_eq!(
        update_err("DELETE a :n", json!({}), json!({":n": v[":n"]})),
        m("DELETE", "NUMBER")
    );
    for ok in [
        "ADD a :n",
        "ADD a :ss",
        "ADD a :ns",
        "ADD a :bs",
        "DELETE a :ss",
        "DELETE a :ns",
        "DELETE a :bs",
    ] {
        let val = ok.rsplit(' ').next().unwrap();
        assert!(update(ok, json!({}), json!({val: v[val]})).is_ok(), "{ok}");
    }
    // ADD/DELETE type errors come before function errors.
    assert_eq!(
        update_err(
            "SET x = if_not_exists(:n, y) ADD a :s",
            json!({}),
            json!({":n": v[":n"], ":s": v[":s"]})
        ),
        m("ADD", "STRING")
    );
}

/// list_append, + and - reject constants of the wrong type (short type names).
#[test]
fn function_constant_operand_types() {
    let all = json!({":S": {"S": "x"}, ":N": {"N": "1"}, ":B": {"B": "AQ=="}, ":BOOL": {"BOOL": true},
                     ":NULL": {"NULL": true}, ":SS": {"SS": ["a"]}, ":NS": {"NS": ["1"]}, ":BS": {"BS": ["AQ=="]},
                     ":L": {"L": []}, ":M": {"M": {}}});
    let m = |f: &str, t: &str| {
        format!("{U}Incorrect operand type for operator or function; operator or function: {f}, operand type: {t}")
    };
    for t in ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"] {
        let key = format!(":{t}");
        let v = json!({key.clone(): all[&key]});
        let la = update(&format!("SET a = list_append(a, {key})"), json!({}), v.clone());
        let plus = update(&format!("SET a = {key} + a"), json!({}), v.clone());
        let minus = update(&format!("SET a = a - {key}"), json!({}), v.clone());
        if t == "L" {
            assert!(la.is_ok());
        } else {
            assert_eq!(la.unwrap_err().message, m("list_append", t));
        }
        if t == "N" {
            assert!(plus.is_ok() && minus.is_ok());
        } else {
            assert_eq!(plus.unwrap_err().message, m("+", t));
            assert_eq!(minus.unwrap_err().message, m("-", t));
        }
    }
}

/// Function operand counts, document-path requirements and misuse in updates.
#[test]
fn function_shape_errors() {
    let v = json!({":a": {"L": []}, ":b": {"L": []}, ":c": {"L": []}, ":v": {"N": "1"}});
    let err = |e: &str| update_err(e, json!({}), v.clone());
    let count = |f: &str, n: usize| {
        format!("{U}Incorrect number of operands for operator or function; operator or function: {f}, number of operands: {n}")
    };
    assert_eq!(err("SET a = list_append(:a)"), count("list_append", 1));
    assert_eq!(err("SET a = list_append(:a, :b, :c)"), count("list_append", 3));
    assert_eq!(err("SET a = if_not_exists(a)"), count("if_not_exists", 1));
    let path = format!("{U}Operator or function requires a document path; operator or function: if_not_exists");
    assert_eq!(err("SET a = if_not_exists(:v, c)"), path);
    assert_eq!(err("SET a = if_not_exists(if_not_exists(a, b), c)"), path);
    assert_eq!(
        err("SET a = list_append(list_append(:a, :b), :c)"),
        format!("{U}The function is not allowed to be used this way in an expression; function: list_append")
    );
    // if_not_exists inside list_append is fine.
    assert!(update("SET a = list_append(if_not_exists(a, :a), :b)", json!({}), v).is_ok());
}

/// Updates touching a key attribute (top-level or nested) are rejected.
#[test]
fn key_attributes() {
    let schema = KeySchema {
        partition: KeyAttribute {
            name: "pk".into(),
            scalar_type: ScalarType::S,
        },
        sort: Some(KeyAttribute {
            name: "sk".into(),
            scalar_type: ScalarType::N,
        }),
    };
    let v = json!({":v": {"N": "1"}, ":s": {"SS": ["a"]}});
    for (expr, key) in [
        ("SET pk = :v", "pk"),
        ("SET a = :v REMOVE sk", "sk"),
        ("ADD pk.b :v", "pk"),
        ("DELETE sk[0] :s", "sk"),
        ("SET #k = :v", "pk"),
    ] {
        let u = update(expr, json!({"#k": "pk"}), v.clone());
        let u = match u {
            Ok(u) => u,
            // `#k` unused in the other expressions is not this test's concern.
            Err(e) => panic!("{expr}: {}", e.message),
        };
        assert_eq!(
            check_key_attributes(&u, &schema).unwrap_err().message,
            format!("One or more parameter values were invalid: Cannot update attribute {key}. This attribute is part of the key"),
        );
    }
    // Reading a key attribute is fine.
    let u = update("SET a = pk, b = if_not_exists(sk, :v)", json!({}), v).unwrap();
    check_key_attributes(&u, &schema).unwrap();
}
