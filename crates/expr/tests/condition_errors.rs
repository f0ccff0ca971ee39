#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Validation of ConditionExpression / FilterExpression: exact messages and their order
//! (notes §0-§3, §5).

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::json;
use tessera_expr::{Context, ExprKind};

const C: &str = "Invalid ConditionExpression: ";

/// An expression with no placeholders must fail with `msg` (after the prefix).
fn fails(expr: &str, msg: &str) {
    assert_eq!(cond_err(expr, json!({}), json!({})), format!("{C}{msg}"), "{expr}");
}

fn syntax(token: &str, near: &str) -> String {
    format!("Syntax error; token: \"{token}\", near: \"{near}\"")
}

/// An empty expression has its own message, with the trailing semicolon.
#[test]
fn empty_expression() {
    fails("", "The expression can not be empty;");
    let e = condition(ExprKind::Filter, "", json!({}), json!({})).unwrap_err();
    assert_eq!(e.message, "Invalid FilterExpression: The expression can not be empty;");
}

/// Expressions over 4096 bytes are rejected with their size; exactly 4096 is fine.
#[test]
fn expression_size_limit() {
    let at_limit = format!("attribute_exists({})", "a".repeat(4096 - 18));
    assert_eq!(at_limit.len(), 4096);
    assert!(condition(ExprKind::Condition, &at_limit, json!({}), json!({})).is_ok());
    let over = format!("attribute_exists({})", "a".repeat(4097 - 18));
    fails(
        &over,
        "Expression size has exceeded the maximum allowed size; expression size: 4097",
    );
    // Bytes, not characters.
    let unicode = format!("a = :v AND b = :w{}", " é".repeat(1400));
    assert!(unicode.len() > 4096 && unicode.chars().count() <= 4096);
    assert!(cond_err(&unicode, json!({}), json!({})).contains("expression size: "));
}

/// Syntax errors name the offending token and its neighbours as written (notes §1).
#[test]
fn syntax_error_token_and_near() {
    fails("a = :v AND __typename = :x", &syntax("_", "AND __"));
    fails("attribute_exists(a) AND b IN ([1", &syntax("[", "([1"));
    fails("!!! INVALID !!!", &syntax("!", "!!"));
    fails("a = :v AND", &syntax("<EOF>", "AND"));
    fails("a > 4", &syntax("4", "> 4"));
    fails("a = \"x\"", &syntax("\"", "= \"x"));
    fails("ü > a", &syntax("ü", "ü >"));
    fails("a  =   :v   )", &syntax(")", ":v   )"));
    fails("things are not gonna be ok", &syntax("are", "things are not"));
    let e = condition(ExprKind::Filter, "a <> :v OR", json!({}), json!({})).unwrap_err();
    assert_eq!(
        e.message,
        format!("Invalid FilterExpression: {}", syntax("<EOF>", "OR"))
    );
}

/// Every input DynamoDB rejects as a syntax error (DLT-scan list) is one here.
#[test]
fn syntax_errors_from_dynalite_list() {
    for bad in [
        "things are not gonna be ok",
        "a > 4",
        "attribute_exists(Pictures-RearView)",
        "attribute_exists(\"Pictures.RearView\")",
        "attribute_exists(Pictures..RearView)",
        "attribute_exists(Pi#ctures.RearView)",
        "attribute_exists(asdf[a])",
        "a in b, c",
        "a > between",
        "a in b",
        "a in (b,c,)",
        "#$.b > a",
        "a > :things.stuff",
        "b[:a] > a",
        "b[#_] > a",
        "ü > a",
        "size(a).b > a",
        "(size(a)).b > a",
        "size(a)[0] > a",
        "(size(a))[0] > a",
        "a[4.5] = :v",
        "a[-1] = :v",
        "a",
        ":v",
        "(a = :v",
        "a = :v)",
        "NOT",
        "a BETWEEN :a",
        "a = :v AND OR b = :v",
        "(a = :v) = :w",
        "a = b = c",
    ] {
        let msg = cond_err(bad, json!({}), json!({}));
        assert!(msg.starts_with(&format!("{C}Syntax error; token: ")), "{bad}: {msg}");
    }
}

/// Double parentheses are reported as redundant, before any other problem.
#[test]
fn redundant_parentheses() {
    for expr in [
        "((attribute_not_exists(pk)))",
        "((a = a))",
        "a=a and a > ((views))",
        "a=a AND ((a=a AND a=a)) AND a=a",
        "NOT ((a = :undefined))",
        "((a)) = b",
        "size(((a))) > b",
        "a IN ((b), ((c)))",
        "(((a = :v)))",
    ] {
        fails(expr, "The expression has redundant parentheses;");
    }
    let e = condition(
        ExprKind::Filter,
        "((#a = :v))",
        json!({"#a": "a"}),
        json!({":v": {"S": "x"}}),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "Invalid FilterExpression: The expression has redundant parentheses;"
    );
}

/// Unknown function names are reported with the user's spelling (names are case-sensitive).
#[test]
fn invalid_function_name() {
    fails("foo(a)", "Invalid function name; function: foo");
    fails(
        "attRIbute_exIsts(a)",
        "Invalid function name; function: attRIbute_exIsts",
    );
    fails("SIZE(a) > b", "Invalid function name; function: SIZE");
    fails("a = :v AND begins(a, :v)", "Invalid function name; function: begins");
    // Unknown name beats a misused function and a reserved word.
    fails("size(a) AND nope(name)", "Invalid function name; function: nope");
}

/// Functions used where they do not fit: boolean functions as operands, size() as a
/// condition, update functions anywhere.
#[test]
fn function_not_allowed_this_way() {
    let m = |f: &str| format!("The function is not allowed to be used this way in an expression; function: {f}");
    fails("attribute_not_exists(things) > b", &m("attribute_not_exists"));
    fails("size(contains(a, b)) > a", &m("contains"));
    fails("size(things)", &m("size"));
    fails("a in (b, attribute_exists(things))", &m("attribute_exists"));
    fails("a BETWEEN begins_with(a, b) AND c", &m("begins_with"));
    fails("attribute_type(a, b) = c", &m("attribute_type"));
    fails("if_not_exists(a, a) = b", &m("if_not_exists"));
    fails("list_append(a, a) = b", &m("list_append"));
    fails("a = b AND size(a)", &m("size"));
    fails("NOT size(a)", &m("size"));
    // Misuse beats a reserved word.
    fails("size(name)", &m("size"));
}

/// Bare reserved words anywhere in a path are rejected, echoing the user's case.
#[test]
fn reserved_words() {
    let m = |w: &str| format!("Attribute name is a reserved keyword; reserved keyword: {w}");
    fails("abOrt = :v", &m("abOrt"));
    fails("attribute_exists(Absolute)", &m("Absolute"));
    fails("a.size = b", &m("size"));
    fails("a[1].Data = b", &m("Data"));
    fails("a = b AND c = views", &m("views"));
    fails("contains(STATUS, a)", &m("STATUS"));
    fails("x BETWEEN a AND flattern", &m("flattern"));
    // Reserved beats undefined placeholders and operand errors.
    fails("a = :undefined AND b = name", &m("name"));
    // Through a #name placeholder it is fine.
    assert!(condition(
        ExprKind::Condition,
        "#n = :v",
        json!({"#n": "name"}),
        json!({":v": {"S": "x"}})
    )
    .is_ok());
    // Function names are not attribute names.
    assert!(condition(
        ExprKind::Condition,
        "size(a) > :v",
        json!({}),
        json!({":v": {"N": "1"}})
    )
    .is_ok());
}

/// Undefined #names and :values: the first in order of appearance is reported.
#[test]
fn undefined_placeholders() {
    let name =
        |n: &str| format!("An expression attribute name used in the document path is not defined; attribute name: {n}");
    let value =
        |v: &str| format!("An expression attribute value used in expression is not defined; attribute value: {v}");
    fails("#a = :v", &name("#a"));
    fails("a = :v", &value(":v"));
    fails("a = :v AND #b = c", &value(":v"));
    fails("a.#x[2] = b AND c = :v", &name("#x"));
    fails("attribute_exists(#missing)", &name("#missing"));
    fails("size(:v) > a", &value(":v"));
    let e = condition(
        ExprKind::Filter,
        "#missing = :v",
        json!({"#a": "a"}),
        json!({":v": {"S": "x"}}),
    )
    .unwrap_err();
    assert_eq!(e.message, format!("Invalid FilterExpression: {}", name("#missing")));
    // Placeholders may start with a digit or underscore.
    assert!(condition(
        ExprKind::Condition,
        "#_ = :_ AND #1 = :1",
        json!({"#_": "a", "#1": "b"}),
        json!({":_": {"S": "x"}, ":1": {"S": "y"}})
    )
    .is_ok());
}

/// Wrong operand counts for every condition function.
#[test]
fn operand_counts() {
    let m = |f: &str, n: usize| {
        format!(
            "Incorrect number of operands for operator or function; operator or function: {f}, number of operands: {n}"
        )
    };
    fails("attribute_exists(a, b)", &m("attribute_exists", 2));
    fails("attribute_not_exists(a, b, c)", &m("attribute_not_exists", 3));
    fails("attribute_type(a)", &m("attribute_type", 1));
    fails("begins_with(a)", &m("begins_with", 1));
    fails("contains(a, b, c)", &m("contains", 3));
    fails("size(a, b) > c", &m("size", 2));
}

/// IN takes at most 100 operands after the keyword.
#[test]
fn in_operand_limit() {
    let list = |n: usize| (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>().join(", ");
    assert!(condition(
        ExprKind::Condition,
        &format!("x IN ({})", list(100)),
        json!({}),
        json!({})
    )
    .is_ok());
    fails(
        &format!("x IN ({})", list(101)),
        "The IN operator is provided with too many operands; number of operands: 101",
    );
}

/// The same document path on both sides of an operator or two-operand function.
#[test]
fn distinct_operands() {
    let m = |op: &str, p: &str| {
        format!("The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {p}")
    };
    fails("a = a", &m("=", "[a]"));
    fails("a > b AND a.b[1] <> a.b[1]", &m("<>", "[a, b, [1]]"));
    assert_eq!(
        cond_err("#a <= a", json!({"#a": "a"}), json!({})),
        format!("{C}{}", m("<=", "[a]"))
    );
    assert_eq!(
        cond_err("contains(#a, #a)", json!({"#a": "data"}), json!({})),
        format!("{C}{}", m("contains", "[data]"))
    );
    assert_eq!(
        cond_err("contains(ab.bc[1].a, ab.bc[1].#a)", json!({"#a": "a"}), json!({})),
        format!("{C}{}", m("contains", "[ab, bc, [1], a]"))
    );
    fails("begins_with(a, a)", &m("begins_with", "[a]"));
    // Different paths, or equal values, are fine.
    assert!(condition(
        ExprKind::Condition,
        ":a > :a AND a.b = a.c AND a[1] <> a[2]",
        json!({}),
        json!({":a": {"N": "1"}})
    )
    .is_ok());
}

/// Function operand types: begins_with, attribute_type, size, attribute_exists paths.
#[test]
fn function_operand_types() {
    let t = |f: &str, ty: &str| {
        format!("Incorrect operand type for operator or function; operator or function: {f}, operand type: {ty}")
    };
    let v = json!({":n": {"N": "1"}, ":s": {"S": "S"}, ":b": {"BOOL": true}, ":z": {"NULL": true},
                   ":l": {"L": []}, ":x": {"S": "X"}, ":ss": {"SS": ["a"]}, ":m": {"M": {}}});
    let err = |e: &str| cond_err(e, json!({}), v.clone());
    assert_eq!(err("begins_with(a, :n)"), format!("{C}{}", t("begins_with", "N")));
    assert_eq!(err("begins_with(:l, a)"), format!("{C}{}", t("begins_with", "L")));
    assert_eq!(err("begins_with(a, :ss)"), format!("{C}{}", t("begins_with", "SS")));
    assert_eq!(err("attribute_type(a, :n)"), format!("{C}{}", t("attribute_type", "N")));
    assert_eq!(
        err("attribute_type(a, b)"),
        format!("{C}{}", t("attribute_type", "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"))
    );
    assert_eq!(
        err("attribute_type(a, :x)"),
        format!("{C}Invalid attribute type name found; type: X, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}")
    );
    assert_eq!(err("size(:n) > a"), format!("{C}{}", t("size", "N")));
    assert_eq!(err("size(:b) > a"), format!("{C}{}", t("size", "BOOL")));
    assert_eq!(err("size(:z) > a"), format!("{C}{}", t("size", "NULL")));
    assert_eq!(err("size(size(a)) > a"), format!("{C}{}", t("size", "N")));
    // size() of a string, list, map or set constant is fine.
    for ok in ["size(:s) > a", "size(:l) > a", "size(:m) > a", "size(:ss) > a"] {
        assert!(condition(ExprKind::Condition, ok, json!({}), v.clone()).is_ok(), "{ok}");
    }
    let p = |f: &str| format!("{C}Operator or function requires a document path; operator or function: {f}");
    assert_eq!(err("attribute_exists(:s)"), p("attribute_exists"));
    assert_eq!(err("attribute_not_exists(size(a))"), p("attribute_not_exists"));
    assert_eq!(err("attribute_type(:s, :s)"), p("attribute_type"));
}

/// Ordering comparisons and BETWEEN reject constants of unorderable types.
#[test]
fn ordering_operand_types() {
    let v = json!({":b": {"BOOL": true}, ":z": {"NULL": true}, ":l": {"L": []}, ":m": {"M": {}},
                   ":ss": {"SS": ["a"]}, ":n": {"N": "1"}});
    let t = |op: &str, ty: &str| {
        format!("{C}Incorrect operand type for operator or function; operator or function: {op}, operand type: {ty}")
    };
    let err = |e: &str| cond_err(e, json!({}), v.clone());
    assert_eq!(err("a < :b"), t("<", "BOOL"));
    assert_eq!(err(":z >= a"), t(">=", "NULL"));
    assert_eq!(err("a > :l"), t(">", "L"));
    assert_eq!(err("a <= :m"), t("<=", "M"));
    assert_eq!(err("a < :ss"), t("<", "SS"));
    // Operator name for BETWEEN is not pinned by the notes: check only the kind and gist.
    assert!(err("a BETWEEN :b AND :b").contains("Incorrect operand type for operator or function"));
    // = and <> accept every type.
    assert!(condition(
        ExprKind::Condition,
        "a = :b AND a <> :l AND a = :m",
        json!({}),
        v.clone()
    )
    .is_ok());
}

/// BETWEEN constant bounds must share a type and be in order.
#[test]
fn between_bounds() {
    let v = json!({":a": {"S": "a"}, ":b": {"S": "b"}, ":n1": {"N": "1"}, ":n10": {"N": "10"}, ":n2": {"N": "2"}});
    let err = |e: &str| cond_err(e, json!({}), v.clone());
    assert_eq!(
        err("x BETWEEN :b AND :a"),
        format!("{C}The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {{S:b}}, upper bound operand: AttributeValue: {{S:a}}")
    );
    assert_eq!(
        err("x BETWEEN :n1 AND :a"),
        format!("{C}The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {{N:1}}, upper bound operand: AttributeValue: {{S:a}}")
    );
    // Numeric, not textual, order: 2 <= 10.
    assert!(condition(ExprKind::Condition, "x BETWEEN :n2 AND :n10", json!({}), v.clone()).is_ok());
    assert!(err("x BETWEEN :n10 AND :n2").contains("upper bound to be greater"));
    // Equal bounds are fine; attribute bounds are not checked.
    assert!(condition(
        ExprKind::Condition,
        "x BETWEEN :a AND :a AND x BETWEEN y AND :a",
        json!({}),
        v
    )
    .is_ok());
}

/// Problems are reported in DynamoDB's order: parens > function name > misuse > reserved >
/// per condition (undefined > operand count > distinct > types).
#[test]
fn error_precedence() {
    let v = json!({":n": {"N": "1"}});
    let err = |e: &str| cond_err(e, json!({}), v.clone());
    assert!(err("size(name) AND ((a = b)) AND bad(a)").ends_with("redundant parentheses;"));
    assert!(err("size(name) AND bad(a)").contains("Invalid function name; function: bad"));
    assert!(err("name = :n AND size(a)").contains("not allowed to be used this way"));
    assert!(err("a = :undef AND name = b").contains("reserved keyword: name"));
    // Within one condition: undefined before operand count.
    assert!(err("contains(a, :undef, c)").contains("not defined; attribute value: :undef"));
    // Operand count before distinct.
    assert!(err("contains(a, a, a)").contains("number of operands: 3"));
    // Distinct before operand types.
    assert!(err("begins_with(a, a) AND begins_with(a, :n)").contains("must be distinct"));
    // Across conditions: the first written wins.
    assert!(err("begins_with(a, :n) AND b = b").contains("operand type: N"));
    assert!(err("b = b AND begins_with(a, :n)").contains("must be distinct"));
}

/// Placeholders supplied but never used are reported after parsing, names before values.
#[test]
fn unused_placeholders() {
    let n = names(json!({"#a": "a", "#b": "b", "#c": "c"}));
    let v = vals(json!({":a": {"S": "x"}, ":b": {"S": "y"}}));
    let mut ctx = Context::new(&n, &v);
    ctx.condition(ExprKind::Condition, "#a = :a").unwrap();
    assert_eq!(
        ctx.check_unused().unwrap_err().message,
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b, #c}"
    );
    // Usage accumulates over the request's expressions.
    ctx.condition(ExprKind::Filter, "#b = :a AND #c <> :a").unwrap();
    assert_eq!(
        ctx.check_unused().unwrap_err().message,
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b}"
    );
    ctx.projection("#a").unwrap();
    ctx.update("SET x = :b").unwrap();
    ctx.check_unused().unwrap();
    // Everything used through functions and nested paths counts.
    let n = names(json!({"#t": "t", "#x": "x"}));
    let v = vals(json!({":t": {"S": "S"}, ":p": {"S": "p"}, ":lo": {"N": "1"}, ":hi": {"N": "2"}, ":i": {"N": "3"}}));
    let mut ctx = Context::new(&n, &v);
    ctx.condition(
        ExprKind::Condition,
        "attribute_type(a.#x, :t) AND begins_with(b, :p) AND size(#t) BETWEEN :lo AND :hi OR c IN (:i)",
    )
    .unwrap();
    ctx.check_unused().unwrap();
    // Nothing supplied, nothing unused.
    let (n, v) = (BTreeMap::new(), BTreeMap::new());
    Context::new(&n, &v).check_unused().unwrap();
}

/// Each expression kind prefixes its messages with its own parameter name.
#[test]
fn prefixes_per_kind() {
    for (kind, param) in [
        (ExprKind::Condition, "ConditionExpression"),
        (ExprKind::Filter, "FilterExpression"),
        (ExprKind::KeyCondition, "KeyConditionExpression"),
    ] {
        let e = condition(kind, "a = :nope", json!({}), json!({})).unwrap_err();
        assert_eq!(
            e.message,
            format!("Invalid {param}: An expression attribute value used in expression is not defined; attribute value: :nope")
        );
    }
}

/// Paths deeper than 32 levels are rejected (message not pinned by the notes: kind only).
#[test]
fn path_depth_limit() {
    let ok = format!("attribute_exists(a{})", ".b".repeat(31));
    assert!(condition(ExprKind::Condition, &ok, json!({}), json!({})).is_ok());
    let deep = format!("attribute_exists(a{})", ".b".repeat(40));
    let e = condition(ExprKind::Condition, &deep, json!({}), json!({})).unwrap_err();
    assert_eq!(e.kind, tessera_model::ErrorKind::Validation);
    assert!(e.message.starts_with(C));
}
