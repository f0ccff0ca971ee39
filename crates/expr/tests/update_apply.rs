#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Applying UpdateExpressions to items (notes §11 and §4.5).

mod common;

use common::*;
use serde_json::{json, Value};
use tessera_expr::{MSG_INVALID_PATH, MSG_MISSING_OPERAND, MSG_WRONG_TYPE};

/// Applies an update with no name placeholders to `it`.
fn run(expr: &str, v: Value, it: Value) -> Value {
    apply(expr, json!({}), v, Some(it)).unwrap_or_else(|e| panic!("{expr}: {}", e.message))
}

/// The runtime error message an update must fail with.
fn run_err(expr: &str, v: Value, it: Option<Value>) -> String {
    let e = apply(expr, json!({}), v, it).unwrap_err();
    assert_eq!(e.kind, tessera_model::ErrorKind::Validation);
    e.message
}

fn n(s: &str) -> Value {
    json!({"N": s})
}

fn list(xs: &[i64]) -> Value {
    json!({"L": xs.iter().map(|x| n(&x.to_string())).collect::<Vec<_>>()})
}

/// SET of a top-level attribute adds or replaces it, and may change its type.
#[test]
fn set_plain() {
    let v = json!({":v": {"S": "new"}, ":m": {"M": {"k": {"BOOL": true}}}});
    assert_eq!(
        run("SET a = :v, b = :m", v.clone(), json!({"a": n("1"), "c": n("2")})),
        json!({"a": {"S": "new"}, "b": {"M": {"k": {"BOOL": true}}}, "c": n("2")})
    );
    // On a missing item the update creates it.
    assert_eq!(
        apply("SET a = :v", json!({}), v, None).unwrap(),
        json!({"a": {"S": "new"}})
    );
    // Names through placeholders; keywords are case-insensitive.
    assert_eq!(
        apply(
            "sEt #n = :v",
            json!({"#n": "name"}),
            json!({":v": n("1")}),
            Some(json!({}))
        )
        .unwrap(),
        json!({"name": n("1")})
    );
}

/// SET into nested maps and list elements in range replaces in place.
#[test]
fn set_nested() {
    let it = json!({"a": {"M": {"b": {"L": [n("0"), n("1"), {"M": {"c": n("5")}}]}}}});
    let v = json!({":v": n("9")});
    assert_eq!(
        run("SET a.b[2].c = :v, a.b[0] = :v, a.d = :v", v, it),
        json!({"a": {"M": {"b": {"L": [n("9"), n("1"), {"M": {"c": n("9")}}]}, "d": n("9")}}})
    );
}

/// SET past the end of a list appends (no padding), several in index order.
#[test]
fn set_list_index_past_end() {
    let v = json!({":a1": n("101"), ":a2": n("102"), ":a3": n("103"), ":a4": n("104"), ":v": n("7")});
    assert_eq!(
        run("SET l[5] = :v", v.clone(), json!({"l": list(&[1, 2, 3])})),
        json!({"l": list(&[1, 2, 3, 7])})
    );
    assert_eq!(
        run("SET l[0] = :v", v.clone(), json!({"l": list(&[])})),
        json!({"l": list(&[7])})
    );
    assert_eq!(
        run(
            "SET a[84] = :a1, a[37] = :a2, a[17] = :a3, a[50] = :a4",
            v.clone(),
            json!({"a": list(&[1, 2, 3, 4])})
        ),
        json!({"a": list(&[1, 2, 3, 4, 103, 102, 104, 101])})
    );
    // In range and past the end together.
    assert_eq!(
        run("SET a[9] = :a1, a[0] = :a2", v.clone(), json!({"a": list(&[1, 2])})),
        json!({"a": list(&[102, 2, 101])})
    );
    // Absurd indexes behave as past the end.
    assert_eq!(
        run("SET a[99999999999999999999999] = :v", v, json!({"a": list(&[1])})),
        json!({"a": list(&[1, 7])})
    );
}

/// `+` and `-` on numbers, with attributes and constants on either side.
#[test]
fn set_arithmetic() {
    let v = json!({":one": n("1"), ":half": n("0.5"), ":big": n("1e10")});
    let it = json!({"c": n("10"), "d": n("-2.5")});
    assert_eq!(run("SET c = c + :one", v.clone(), it.clone())["c"], n("11"));
    assert_eq!(run("SET c = c - :half", v.clone(), it.clone())["c"], n("9.5"));
    assert_eq!(run("SET e = c + d", v.clone(), it.clone())["e"], n("7.5"));
    assert_eq!(run("SET e = :one - c", v.clone(), it.clone())["e"], n("-9"));
    assert_eq!(
        run("SET e = :big + :half", v.clone(), it.clone())["e"],
        n("10000000000.5")
    );
    assert_eq!(run("SET c = d - d", v, it)["c"], n("0"));
}

/// if_not_exists picks the attribute when present and the fallback otherwise.
#[test]
fn set_if_not_exists() {
    let v = json!({":zero": n("0"), ":one": n("1"), ":s": {"S": "x"}});
    let it = json!({"c": n("5")});
    assert_eq!(
        run("SET c = if_not_exists(c, :zero) + :one", v.clone(), it.clone())["c"],
        n("6")
    );
    assert_eq!(
        run("SET d = if_not_exists(d, :zero) + :one", v.clone(), it.clone())["d"],
        n("1")
    );
    assert_eq!(run("SET d = if_not_exists(c, :s)", v.clone(), it.clone())["d"], n("5"));
    assert_eq!(
        run("SET d = if_not_exists(x.y[2], c)", v.clone(), it.clone())["d"],
        n("5")
    );
    // Fallbacks nest.
    assert_eq!(
        run("SET d = if_not_exists(x, if_not_exists(y, :s))", v, it)["d"],
        json!({"S": "x"})
    );
}

/// list_append concatenates lists in argument order, including with if_not_exists.
#[test]
fn set_list_append() {
    let v = json!({":more": list(&[3, 4]), ":empty": {"L": []}, ":front": list(&[0])});
    let it = json!({"l": list(&[1, 2])});
    assert_eq!(
        run("SET l = list_append(l, :more)", v.clone(), it.clone())["l"],
        list(&[1, 2, 3, 4])
    );
    assert_eq!(
        run("SET l = list_append(:front, l)", v.clone(), it.clone())["l"],
        list(&[0, 1, 2])
    );
    assert_eq!(
        run(
            "SET m = list_append(if_not_exists(m, :empty), :more)",
            v.clone(),
            it.clone()
        )["m"],
        list(&[3, 4])
    );
    assert_eq!(
        run(
            "SET l = list_append(if_not_exists(l, :empty), :more)",
            v.clone(),
            it.clone()
        )["l"],
        list(&[1, 2, 3, 4])
    );
    assert_eq!(run("SET x = list_append(l, l)", v, it)["x"], list(&[1, 2, 1, 2]));
}

/// Every right-hand side reads the item as it was before the update.
#[test]
fn set_reads_the_old_item() {
    let v = json!({":v": n("2")});
    let it = json!({"a": n("1")});
    assert_eq!(
        run("SET a = :v, b = a", v.clone(), it.clone()),
        json!({"a": n("2"), "b": n("1")})
    );
    assert_eq!(
        run("SET b = a, a = :v", v.clone(), it.clone()),
        json!({"a": n("2"), "b": n("1")})
    );
    // Swap.
    let it2 = json!({"x": n("1"), "y": n("2")});
    assert_eq!(
        run("SET x = y, y = x", v.clone(), it2),
        json!({"x": n("2"), "y": n("1")})
    );
    // A value set earlier in the same expression is not visible.
    assert_eq!(run_err("SET x = :v, y = x", v, Some(json!({}))), MSG_MISSING_OPERAND);
}

/// REMOVE of attributes, nested members and list elements; missing targets are no-ops.
#[test]
fn remove() {
    let it = json!({"a": n("1"), "m": {"M": {"k": n("1"), "j": n("2")}}, "l": list(&[1, 2, 3])});
    let v = json!({});
    assert_eq!(
        run("REMOVE a, m.k, l[1]", v.clone(), it.clone()),
        json!({"m": {"M": {"j": n("2")}}, "l": list(&[1, 3])})
    );
    assert_eq!(run("REMOVE nope, m.nope, l[7]", v.clone(), it.clone()), it);
    // Removing the only member leaves an empty container.
    assert_eq!(
        run("REMOVE m.k, m.j, l[0], l[1], l[2]", v.clone(), it.clone()),
        json!({"a": n("1"), "m": {"M": {}}, "l": {"L": []}})
    );
    // On a missing item, nested removes are silently accepted.
    assert_eq!(apply("REMOVE x.y, w[0], z", json!({}), v, None).unwrap(), json!({}));
}

/// List indexes in one expression refer to the original list.
#[test]
fn remove_and_set_use_original_indexes() {
    let v = json!({":v": n("17")});
    assert_eq!(
        run(
            "REMOVE a[1] SET a[3] = :v",
            v.clone(),
            json!({"a": list(&[2, 3, 4, 5, 6, 7])})
        ),
        json!({"a": list(&[2, 4, 17, 6, 7])})
    );
    assert_eq!(
        run(
            "REMOVE a[0], a[2], a[4]",
            v.clone(),
            json!({"a": list(&[0, 1, 2, 3, 4, 5])})
        ),
        json!({"a": list(&[1, 3, 5])})
    );
    assert_eq!(
        run("REMOVE a[4], a[0]", v, json!({"a": list(&[0, 1, 2, 3, 4, 5])})),
        json!({"a": list(&[1, 2, 3, 5])})
    );
}

/// ADD to numbers (existing or missing) and sets (union, duplicates dropped).
#[test]
fn add() {
    let v = json!({":n": n("5"), ":neg": n("-0.5"), ":ss": {"SS": ["b", "c"]}, ":ns": {"NS": ["1", "3"]}, ":bs": {"BS": ["AQ=="]}});
    let it = json!({"c": n("1"), "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["Ag=="]}});
    let out = run("ADD c :n, d :neg, ss :ss, ns :ns, bs :bs, nss :ss", v.clone(), it);
    assert_eq!(out["c"], n("6"));
    assert_eq!(out["d"], n("-0.5"));
    assert_eq!(out["ss"], json!({"SS": ["a", "b", "c"]}));
    assert_eq!(out["ns"], json!({"NS": ["1", "2", "3"]}));
    // Sets come out in DynamoDB's order: binaries bytewise (0x01 before 0x02).
    assert_eq!(out["bs"], json!({"BS": ["AQ==", "Ag=="]}));
    assert_eq!(out["nss"], json!({"SS": ["b", "c"]}));
    // ADD creates the item; nested and list-element targets work.
    assert_eq!(
        apply("ADD c :n", json!({}), v.clone(), None).unwrap(),
        json!({"c": n("5")})
    );
    assert_eq!(
        run(
            "ADD m.x :n, l[0] :n, l[8] :n",
            v,
            json!({"m": {"M": {}}, "l": list(&[1])})
        ),
        json!({"m": {"M": {"x": n("5")}}, "l": list(&[6, 5])})
    );
}

/// ADD with an operand whose type does not fit the attribute is a runtime type error.
#[test]
fn add_wrong_types() {
    let v = json!({":n": n("1"), ":ss": {"SS": ["a"]}, ":ns": {"NS": ["1"]}});
    for (expr, it) in [
        ("ADD b :n", json!({"b": {"S": "x"}})),
        ("ADD b :ns", json!({"b": {"SS": ["x"]}})),
        ("ADD d :n", json!({"d": {"NS": ["1"]}})),
        ("ADD d :ss", json!({"d": n("1")})),
        ("ADD d :n", json!({"d": {"L": []}})),
    ] {
        assert_eq!(run_err(expr, v.clone(), Some(it)), MSG_WRONG_TYPE, "{expr}");
    }
}

/// DELETE removes set members; removing the last removes the attribute; absent is a no-op.
#[test]
fn delete() {
    let v =
        json!({":b": {"SS": ["b", "z"]}, ":all": {"SS": ["a", "b"]}, ":n": {"NS": ["2.0"]}, ":bs": {"BS": ["AQ=="]}});
    let it = json!({"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AQ=="]}, "k": n("1")});
    assert_eq!(run("DELETE ss :b", v.clone(), it.clone())["ss"], json!({"SS": ["a"]}));
    assert_eq!(run("DELETE ns :n", v.clone(), it.clone())["ns"], json!({"NS": ["1"]}));
    let out = run("DELETE ss :all, bs :bs", v.clone(), it.clone());
    assert_eq!(out, json!({"ns": {"NS": ["1", "2"]}, "k": n("1")}));
    assert_eq!(run("DELETE nope :b", v.clone(), it.clone()), it);
    assert_eq!(apply("DELETE nope :b", json!({}), v.clone(), None).unwrap(), json!({}));
    // Wrong set type or a non-set attribute: runtime type error.
    assert_eq!(run_err("DELETE ns :b", v.clone(), Some(it.clone())), MSG_WRONG_TYPE);
    assert_eq!(run_err("DELETE k :n", v, Some(it)), MSG_WRONG_TYPE);
}

/// Sections combine; each applies with the others in one expression.
#[test]
fn all_sections_together() {
    let v = json!({":v": {"S": "x"}, ":n": n("1"), ":s": {"SS": ["a"]}});
    let it = json!({"gone": n("1"), "cnt": n("1"), "tags": {"SS": ["a", "b"]}});
    assert_eq!(
        run("SET fresh = :v REMOVE gone ADD cnt :n DELETE tags :s", v, it),
        json!({"fresh": {"S": "x"}, "cnt": n("2"), "tags": {"SS": ["b"]}})
    );
}

/// Runtime: reading a missing attribute in SET is an error (use if_not_exists).
#[test]
fn missing_operand() {
    let v = json!({":n": n("1"), ":l": {"L": []}});
    for expr in [
        "SET a = a + :n",
        "SET c = b",
        "SET e = list_append(b, :l)",
        "SET a = :n - a.b",
    ] {
        assert_eq!(
            run_err(expr, v.clone(), Some(json!({"x": n("1")}))),
            MSG_MISSING_OPERAND,
            "{expr}"
        );
    }
    assert_eq!(run_err("SET a = a + :n", v, None), MSG_MISSING_OPERAND);
}

/// Runtime: arithmetic and list_append on values of the wrong type.
#[test]
fn wrong_operand_types() {
    let v = json!({":n": n("1"), ":l": {"L": []}});
    let it = json!({"s": {"S": "x"}, "d": {"M": {}}, "l": {"L": []}});
    for expr in [
        "SET e = s + :n",
        "SET e = :n - l",
        "SET e = list_append(d, :l)",
        "SET e = list_append(:l, s)",
    ] {
        assert_eq!(run_err(expr, v.clone(), Some(it.clone())), MSG_WRONG_TYPE, "{expr}");
    }
}

/// Runtime: paths through missing or wrongly typed containers are invalid for update.
#[test]
fn invalid_document_paths() {
    let v = json!({":n": n("1"), ":s": {"SS": ["a"]}});
    let it = json!({"s": {"S": "x"}, "m": {"M": {}}, "l": {"L": [n("1")]}});
    for expr in [
        "SET b.a = :n",
        "SET #a.#b.#c = :n".replace('#', "").as_str(),
        "SET m.x.y = :n",
        "SET s.a = :n",
        "SET s[0] = :n",
        "SET m[0] = :n",
        "SET l.a = :n",
        "SET l[0].a = :n",
        "SET l[5].a = :n",
        "ADD b.a :n",
        "ADD s[1] :n",
        "DELETE b.a :s",
        "DELETE s.a :s",
        "DELETE m[0] :s",
        "REMOVE b.a",
        "REMOVE s[0]",
        "REMOVE m[0]",
        "REMOVE l.x",
    ] {
        assert_eq!(run_err(expr, v.clone(), Some(it.clone())), MSG_INVALID_PATH, "{expr}");
    }
    // SET below a missing item still fails.
    assert_eq!(run_err("SET b.a = :n", v, None), MSG_INVALID_PATH);
}

/// Arithmetic beyond DynamoDB's number range is an error, not a wrap or a panic (message
/// comes from the model's Number and is not pinned by the notes: kind only).
#[test]
fn number_overflow() {
    let v = json!({":big": n("9.9999999999999999999999999999999999999E+125"), ":tiny": n("1E-130"), ":one": n("1")});
    let it = json!({"a": n("9.9999999999999999999999999999999999999E+125")});
    for expr in ["SET a = a + :big", "SET b = :big + :big", "ADD a :big"] {
        let e = apply(expr, json!({}), v.clone(), Some(it.clone())).unwrap_err();
        assert_eq!(e.kind, tessera_model::ErrorKind::Validation, "{expr}");
    }
    // More than 38 significant digits after an addition.
    let e = apply("SET b = :big + :one", json!({}), v, Some(it)).unwrap_err();
    assert_eq!(e.kind, tessera_model::ErrorKind::Validation);
}
