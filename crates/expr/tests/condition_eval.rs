#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Evaluation of ConditionExpression / FilterExpression against items (notes §11, §5).

mod common;

use common::*;
use serde_json::{json, Value};

/// A typical item with one attribute of every type.
fn sample() -> Value {
    json!({
        "s": {"S": "banana"}, "s2": {"S": "cherry"}, "n": {"N": "10"}, "n2": {"N": "9.5"},
        "b": {"B": "AQID"}, "b2": {"B": "AQIE"}, "t": {"BOOL": true}, "z": {"NULL": true},
        "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["AQ==", "Ag=="]},
        "l": {"L": [{"S": "a"}, {"N": "1"}, {"SS": ["q"]}, {"L": [{"S": "in"}]}]},
        "m": {"M": {"k": {"S": "v"}, "deep": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"M": {"c": {"S": "found"}}}]}}}
    })
}

/// The six comparators on S order by bytes.
#[test]
fn comparators_on_strings() {
    let v = json!({":a": {"S": "banana"}, ":b": {"S": "apple"}, ":c": {"S": "carrot"}});
    let it = sample();
    assert!(eval("s = :a", v.clone(), it.clone()));
    assert!(!eval("s = :b", v.clone(), it.clone()));
    assert!(eval("s <> :b", v.clone(), it.clone()));
    assert!(!eval("s <> :a", v.clone(), it.clone()));
    assert!(eval("s > :b", v.clone(), it.clone()));
    assert!(eval("s >= :a", v.clone(), it.clone()));
    assert!(eval("s < :c", v.clone(), it.clone()));
    assert!(eval("s <= :a", v.clone(), it.clone()));
    assert!(!eval("s < :a", v.clone(), it.clone()));
    assert!(!eval("s > :c", v.clone(), it.clone()));
    assert!(eval("s < s2", v.clone(), it.clone()));
    // Byte order: upper case sorts before lower case; "é" (0xC3..) after "z".
    let it = json!({"u": {"S": "Zebra"}, "e": {"S": "é"}});
    let v = json!({":a": {"S": "apple"}, ":z": {"S": "z"}});
    assert!(eval("u < :a", v.clone(), it.clone()));
    assert!(eval("e > :z", v, it));
}

/// The six comparators on N compare by value, not text.
#[test]
fn comparators_on_numbers() {
    let v = json!({":ten": {"N": "10.0"}, ":nine": {"N": "9"}, ":big": {"N": "1e2"}, ":neg": {"N": "-11"}});
    let it = sample();
    assert!(eval("n = :ten", v.clone(), it.clone()));
    assert!(!eval("n <> :ten", v.clone(), it.clone()));
    assert!(eval("n > :nine", v.clone(), it.clone()));
    assert!(eval("n >= :ten", v.clone(), it.clone()));
    assert!(eval("n < :big", v.clone(), it.clone()));
    assert!(eval("n <= :ten", v.clone(), it.clone()));
    assert!(eval("n > :neg", v.clone(), it.clone()));
    assert!(eval("n2 < n", v.clone(), it.clone()));
    assert!(eval("n2 > :nine", v, it));
}

/// The six comparators on B compare unsigned bytes.
#[test]
fn comparators_on_binary() {
    let v = json!({":same": {"B": "AQID"}, ":hi": {"B": "/w=="}, ":lo": {"B": "AA=="}});
    let it = sample();
    assert!(eval("b = :same", v.clone(), it.clone()));
    assert!(eval("b <> :hi", v.clone(), it.clone()));
    assert!(eval("b < :hi", v.clone(), it.clone()));
    assert!(eval("b <= :same", v.clone(), it.clone()));
    assert!(eval("b > :lo", v.clone(), it.clone()));
    assert!(eval("b >= :same", v.clone(), it.clone()));
    assert!(eval("b < b2", v, it));
}

/// Mismatched types: = false, <> true, ordering false (never an error).
#[test]
fn comparators_with_mismatched_types() {
    let v = json!({":sn": {"S": "10"}, ":n": {"N": "10"}, ":b": {"B": "AQID"}});
    let it = sample();
    assert!(!eval("n = :sn", v.clone(), it.clone()));
    assert!(eval("n <> :sn", v.clone(), it.clone()));
    for op in ["<", "<=", ">", ">="] {
        assert!(!eval(&format!("n {op} :sn"), v.clone(), it.clone()), "{op}");
        assert!(!eval(&format!("s {op} :n"), v.clone(), it.clone()), "{op}");
        assert!(!eval(&format!("s {op} :b"), v.clone(), it.clone()), "{op}");
        // An item operand of an unorderable type is just false.
        assert!(!eval(&format!("t {op} :n"), v.clone(), it.clone()), "{op}");
        assert!(!eval(&format!("l {op} :n"), v.clone(), it.clone()), "{op}");
    }
}

/// Missing attributes: = false, <> true (even missing vs missing), ordering false.
#[test]
fn comparators_with_missing_attributes() {
    let v = json!({":n": {"N": "1"}});
    let it = sample();
    assert!(!eval("nope = :n", v.clone(), it.clone()));
    assert!(eval("nope <> :n", v.clone(), it.clone()));
    assert!(eval(":n <> nope", v.clone(), it.clone()));
    assert!(eval("nope <> absent", v.clone(), it.clone()));
    assert!(!eval("nope = absent", v.clone(), it.clone()));
    for op in ["<", "<=", ">", ">="] {
        assert!(!eval(&format!("nope {op} :n"), v.clone(), it.clone()), "{op}");
        assert!(!eval(&format!(":n {op} nope"), v.clone(), it.clone()), "{op}");
        assert!(eval(&format!("NOT nope {op} :n"), v.clone(), it.clone()), "{op}");
    }
    // Against no item at all.
    assert!(eval_on("nope <> :n", json!({}), v.clone(), None));
    assert!(!eval_on("nope = :n", json!({}), v, None));
}

/// Sets compare unordered; lists and maps compare deeply; numbers by value inside them.
#[test]
fn equality_of_documents_and_sets() {
    let it = json!({
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.0"]},
        "l": {"L": [{"N": "1"}, {"S": "x"}]}, "m": {"M": {"a": {"N": "1"}, "b": {"L": []}}}
    });
    let v = json!({
        ":ss": {"SS": ["b", "a"]}, ":ss2": {"SS": ["a"]}, ":ns": {"NS": ["2", "1"]},
        ":l": {"L": [{"N": "1.0"}, {"S": "x"}]}, ":l2": {"L": [{"S": "x"}, {"N": "1"}]},
        ":m": {"M": {"b": {"L": []}, "a": {"N": "1"}}}
    });
    assert!(eval("ss = :ss", v.clone(), it.clone()));
    assert!(eval("ss <> :ss2", v.clone(), it.clone()));
    assert!(eval("ns = :ns", v.clone(), it.clone()));
    assert!(eval("l = :l", v.clone(), it.clone()));
    assert!(eval("l <> :l2", v.clone(), it.clone()));
    assert!(eval("m = :m", v.clone(), it.clone()));
    assert!(!eval("ss = :ns", v, it));
}

/// BETWEEN is inclusive on both ends and false for missing or mismatched operands.
#[test]
fn between() {
    let v = json!({":lo": {"N": "5"}, ":hi": {"N": "10"}, ":slo": {"S": "a"}, ":shi": {"S": "c"},
                   ":blo": {"B": "AQ=="}, ":bhi": {"B": "AQIE"}});
    let it = sample();
    assert!(eval("n BETWEEN :lo AND :hi", v.clone(), it.clone()));
    assert!(eval("n2 between :lo and :hi", v.clone(), it.clone()));
    assert!(!eval("n BETWEEN :lo AND :lo", v.clone(), it.clone()));
    assert!(eval("s BETWEEN :slo AND :shi", v.clone(), it.clone()));
    assert!(eval("b BETWEEN :blo AND :bhi", v.clone(), it.clone()));
    assert!(!eval("s BETWEEN :lo AND :hi", v.clone(), it.clone()));
    assert!(!eval("nope BETWEEN :lo AND :hi", v.clone(), it.clone()));
    assert!(!eval("n BETWEEN nope AND :hi", v.clone(), it.clone()));
    assert!(eval("NOT nope BETWEEN :lo AND :hi", v.clone(), it.clone()));
    // The bound may be an attribute.
    assert!(eval("n BETWEEN n2 AND :hi", v, it));
}

/// IN matches any operand by DynamoDB equality; missing operands never match.
#[test]
fn in_operator() {
    let v = json!({":a": {"S": "apple"}, ":b": {"S": "banana"}, ":n": {"N": "10.00"}, ":ss": {"SS": ["y", "x"]}});
    let it = sample();
    assert!(eval("s IN (:a, :b)", v.clone(), it.clone()));
    assert!(!eval("s IN (:a)", v.clone(), it.clone()));
    assert!(eval("n in (:a, :n)", v.clone(), it.clone()));
    assert!(eval("ss IN (:ss)", v.clone(), it.clone()));
    assert!(eval("s IN (nope, s2, :b)", v.clone(), it.clone()));
    assert!(!eval("nope IN (:a, :b)", v.clone(), it.clone()));
    assert!(eval(":b IN (s)", v, it));
}

/// NOT binds tighter than AND, AND tighter than OR; parentheses override.
#[test]
fn boolean_precedence_and_parentheses() {
    let v = json!({":t": {"BOOL": true}, ":f": {"BOOL": false}});
    let it = json!({"t": {"BOOL": true}});
    let yes = "t = :t";
    let no = "t = :f";
    // OR of (false AND false) and true -> true; with parens -> false.
    assert!(eval(&format!("{no} AND {no} OR {yes}"), v.clone(), it.clone()));
    assert!(!eval(&format!("{no} AND ({no} OR {yes})"), v.clone(), it.clone()));
    // true OR (true AND false) -> true; (true OR true) AND false -> false.
    assert!(eval(&format!("{yes} OR {yes} AND {no}"), v.clone(), it.clone()));
    assert!(!eval(&format!("({yes} OR {yes}) AND {no}"), v.clone(), it.clone()));
    // NOT applies to the nearest condition only.
    assert!(eval(&format!("NOT {no} AND {yes}"), v.clone(), it.clone()));
    assert!(!eval(&format!("NOT ({no} OR {yes})"), v.clone(), it.clone()));
    assert!(eval(&format!("NOT {yes} OR {yes}"), v.clone(), it.clone()));
    assert!(eval(&format!("not not {yes}"), v.clone(), it.clone()));
    // Keywords are case-insensitive.
    assert!(eval(&format!("{no} oR {yes} aNd {yes}"), v.clone(), it.clone()));
    // A single pair of parentheses anywhere is fine.
    assert!(eval(&format!("(({yes}) AND ({yes}))"), v.clone(), it.clone()));
    assert!(eval("(t) = :t", v.clone(), it.clone()));
    assert!(eval("t = (:t)", v.clone(), it.clone()));
    assert!(eval("(t) IN ((:f), :t)", v.clone(), it.clone()));
    assert!(eval(
        "(t) BETWEEN (:t) AND :t",
        json!({":t": {"N": "1"}}),
        json!({"t": {"N": "1"}})
    ));
    assert!(eval(
        "size((t)) = (:one)",
        json!({":one": {"N": "1"}}),
        json!({"t": {"S": "x"}})
    ));
}

/// attribute_exists / attribute_not_exists on top-level and nested paths.
#[test]
fn attribute_exists_and_not_exists() {
    let it = sample();
    let none = json!({});
    assert!(eval("attribute_exists(s)", none.clone(), it.clone()));
    assert!(eval("attribute_exists(z)", none.clone(), it.clone()));
    assert!(!eval("attribute_exists(nope)", none.clone(), it.clone()));
    assert!(eval("attribute_not_exists(nope)", none.clone(), it.clone()));
    assert!(!eval("attribute_not_exists(s)", none.clone(), it.clone()));
    assert!(eval("attribute_exists(m.deep[3].c)", none.clone(), it.clone()));
    assert!(eval("attribute_exists(l[3][0])", none.clone(), it.clone()));
    assert!(!eval("attribute_exists(m.deep[4])", none.clone(), it.clone()));
    assert!(!eval("attribute_exists(s.x)", none.clone(), it.clone()));
    assert!(!eval("attribute_exists(m[0])", none.clone(), it.clone()));
    assert!(eval("attribute_not_exists(m.deep[3].d)", none.clone(), it.clone()));
    assert!(eval_on("attribute_not_exists(pk)", json!({}), none.clone(), None));
    assert!(!eval_on("attribute_exists(pk)", json!({}), none, None));
}

/// attribute_type matches each of the ten type descriptors.
#[test]
fn attribute_type() {
    let it = sample();
    for (attr, t) in [
        ("s", "S"),
        ("n", "N"),
        ("b", "B"),
        ("t", "BOOL"),
        ("z", "NULL"),
        ("ss", "SS"),
        ("ns", "NS"),
        ("bs", "BS"),
        ("l", "L"),
        ("m", "M"),
    ] {
        let v = json!({":t": {"S": t}, ":other": {"S": if t == "S" { "N" } else { "S" }}});
        assert!(
            eval(&format!("attribute_type({attr}, :t)"), v.clone(), it.clone()),
            "{attr}"
        );
        assert!(
            !eval(&format!("attribute_type({attr}, :other)"), v, it.clone()),
            "{attr}"
        );
    }
    let v = json!({":t": {"S": "S"}});
    assert!(eval("attribute_type(m.k, :t)", v.clone(), it.clone()));
    assert!(!eval("attribute_type(nope, :t)", v, it));
}

/// begins_with on S and B; wrong item types or a missing attribute are false.
#[test]
fn begins_with() {
    let v =
        json!({":p": {"S": "ban"}, ":q": {"S": "nan"}, ":e": {"S": ""}, ":bp": {"B": "AQI="}, ":bq": {"B": "Ag=="}});
    let it = sample();
    assert!(eval("begins_with(s, :p)", v.clone(), it.clone()));
    assert!(!eval("begins_with(s, :q)", v.clone(), it.clone()));
    assert!(eval("begins_with(s, :e)", v.clone(), it.clone()));
    assert!(eval("begins_with(b, :bp)", v.clone(), it.clone()));
    assert!(!eval("begins_with(b, :bq)", v.clone(), it.clone()));
    assert!(!eval("begins_with(s, :bp)", v.clone(), it.clone()));
    assert!(!eval("begins_with(n, :p)", v.clone(), it.clone()));
    assert!(!eval("begins_with(ss, :p)", v.clone(), it.clone()));
    assert!(!eval("begins_with(nope, :p)", v.clone(), it.clone()));
    // The value may come first (SC-cond).
    let v2 = json!({":full": {"S": "banana split"}});
    assert!(eval("begins_with(:full, s)", v2, it));
}

/// contains on S, B, SS, NS, BS and L; wrong element types and missing are false.
#[test]
fn contains() {
    let v = json!({
        ":sub": {"S": "nan"}, ":nosub": {"S": "xyz"}, ":bsub": {"B": "AgM="}, ":x": {"S": "x"},
        ":one": {"N": "1.0"}, ":three": {"N": "3"}, ":b1": {"B": "AQ=="}, ":a": {"S": "a"},
        ":ssq": {"SS": ["q"]}, ":lin": {"L": [{"S": "in"}]}, ":lno": {"L": [{"S": "no"}]}
    });
    let it = sample();
    assert!(eval("contains(s, :sub)", v.clone(), it.clone()));
    assert!(!eval("contains(s, :nosub)", v.clone(), it.clone()));
    assert!(eval("contains(b, :bsub)", v.clone(), it.clone()));
    assert!(!eval("contains(b, :sub)", v.clone(), it.clone()));
    assert!(eval("contains(ss, :x)", v.clone(), it.clone()));
    assert!(!eval("contains(ss, :sub)", v.clone(), it.clone()));
    assert!(eval("contains(ns, :one)", v.clone(), it.clone()));
    assert!(!eval("contains(ns, :three)", v.clone(), it.clone()));
    assert!(!eval("contains(ns, :x)", v.clone(), it.clone()));
    assert!(eval("contains(bs, :b1)", v.clone(), it.clone()));
    // A list holds any element type, compared with DynamoDB equality.
    assert!(eval("contains(l, :a)", v.clone(), it.clone()));
    assert!(eval("contains(l, :one)", v.clone(), it.clone()));
    assert!(eval("contains(l, :ssq)", v.clone(), it.clone()));
    assert!(eval("contains(l, :lin)", v.clone(), it.clone()));
    assert!(!eval("contains(l, :lno)", v.clone(), it.clone()));
    assert!(!eval("contains(n, :one)", v.clone(), it.clone()));
    assert!(!eval("contains(m, :x)", v.clone(), it.clone()));
    assert!(!eval("contains(nope, :x)", v.clone(), it.clone()));
    // Needle from the item.
    assert!(eval("contains(l, l[0])", v, it));
}

/// size() of S, B, sets, L and M; of N/BOOL/NULL/missing the comparison is false.
#[test]
fn size_function() {
    let v = json!({":0": {"N": "0"}, ":1": {"N": "1"}, ":2": {"N": "2"}, ":3": {"N": "3"}, ":4": {"N": "4"}, ":6": {"N": "6"}, ":s": {"S": "6"}});
    let it = sample();
    assert!(eval("size(s) = :6", v.clone(), it.clone()));
    assert!(eval("size(b) = :3", v.clone(), it.clone()));
    assert!(eval("size(ss) = :2", v.clone(), it.clone()));
    assert!(eval("size(ns) = :2", v.clone(), it.clone()));
    assert!(eval("size(bs) = :2", v.clone(), it.clone()));
    assert!(eval("size(l) = :4", v.clone(), it.clone()));
    assert!(eval("size(m) = :2", v.clone(), it.clone()));
    assert!(eval("size(m.deep[3]) = :1", v.clone(), it.clone()));
    assert!(eval("size(s) > size(m)", v.clone(), it.clone()));
    for attr in ["n", "t", "z", "nope"] {
        for op in ["=", "<", "<=", ">", ">="] {
            assert!(
                !eval(&format!("size({attr}) {op} :0"), v.clone(), it.clone()),
                "{attr} {op}"
            );
        }
        assert!(eval(&format!("size({attr}) <> :0"), v.clone(), it.clone()), "{attr}");
    }
    // Comparing a size to a string is false, not an error.
    assert!(!eval("size(s) = :s", v.clone(), it.clone()));
    // size() counts UTF-8 bytes of a string.
    assert!(eval("size(e) = :2", v.clone(), json!({"e": {"S": "é"}})));
    assert!(eval("size(s) BETWEEN :4 AND :6", v.clone(), it.clone()));
    assert!(eval("size(l) IN (:1, :4)", v, it));
}

/// Nested document paths with map keys and list indexes resolve against the item.
#[test]
fn nested_paths() {
    let it = json!({"a": {"M": {"b": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"M": {"c": {"S": "hit"}}}]}}}});
    let v = json!({":v": {"S": "hit"}});
    assert!(eval("a.b[3].c = :v", v.clone(), it.clone()));
    assert!(eval(
        "#a.#b[3].#c = :v".replace('#', "").as_str(),
        v.clone(),
        it.clone()
    ));
    assert!(eval_on(
        "#a.#b[3].#c = :v",
        json!({"#a": "a", "#b": "b", "#c": "c"}),
        v.clone(),
        Some(it.clone())
    ));
    assert!(!eval("a.b[2].c = :v", v.clone(), it.clone()));
    assert!(!eval("a.b[99].c = :v", v.clone(), it.clone()));
    assert!(!eval("a[0] = :v", v.clone(), it.clone()));
    // A name placeholder holding dots names one attribute, not a path.
    let dotted = json!({"a.b": {"S": "hit"}});
    assert!(eval_on(
        "#ab = :v",
        json!({"#ab": "a.b"}),
        v.clone(),
        Some(dotted.clone())
    ));
    assert!(!eval("a.b = :v", v, dotted));
}

/// Two-operand functions and comparisons may compare constants with constants.
#[test]
fn constant_only_conditions() {
    let v = json!({":a": {"S": "abc"}, ":b": {"S": "ab"}});
    assert!(eval(":a > :b", v.clone(), json!({})));
    assert!(eval(":a = :a", v.clone(), json!({})));
    assert!(eval("begins_with(:a, :b)", v.clone(), json!({})));
    assert!(eval("contains(:a, :b)", v, json!({})));
}
