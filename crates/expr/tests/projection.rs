#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! ProjectionExpression: validation and projection of items (notes §7).

mod common;

use common::*;
use serde_json::json;

const P: &str = "Invalid ProjectionExpression: ";

fn sample() -> serde_json::Value {
    json!({
        "a": {"S": "x"}, "b": {"N": "1"},
        "l": {"L": [{"S": "l0"}, {"S": "l1"}, {"S": "l2"}, {"M": {"x": {"S": "deep"}, "y": {"S": "other"}}}]},
        "m": {"M": {"k": {"S": "v"}, "j": {"L": [{"N": "0"}, {"N": "1"}]}, "n": {"M": {"z": {"BOOL": true}}}}}
    })
}

/// Top-level attributes are kept whole; others are dropped.
#[test]
fn top_level() {
    assert_eq!(
        projected("a, l", json!({}), sample()),
        json!({"a": sample()["a"], "l": sample()["l"]})
    );
    assert_eq!(projected("#x", json!({"#x": "b"}), sample()), json!({"b": {"N": "1"}}));
}

/// Nested map members keep their enclosing maps, with only the named members.
#[test]
fn nested_maps() {
    assert_eq!(
        projected("m.k, m.n.z", json!({}), sample()),
        json!({"m": {"M": {"k": {"S": "v"}, "n": {"M": {"z": {"BOOL": true}}}}}})
    );
    assert_eq!(
        projected("m.j[1]", json!({}), sample()),
        json!({"m": {"M": {"j": {"L": [{"N": "1"}]}}}})
    );
}

/// List elements come back compacted, in index order whatever the written order.
#[test]
fn list_elements_compacted_in_index_order() {
    assert_eq!(
        projected("#l[2], #l[0]", json!({"#l": "l"}), sample()),
        json!({"l": {"L": [{"S": "l0"}, {"S": "l2"}]}})
    );
    assert_eq!(
        projected("l[3].y, l[1]", json!({}), sample()),
        json!({"l": {"L": [{"S": "l1"}, {"M": {"y": {"S": "other"}}}]}})
    );
}

/// Paths that name nothing are left out; an item with no match projects to {}.
#[test]
fn missing_paths_omitted() {
    assert_eq!(
        projected("a, nope, m.nope, l[9], a2.b", json!({}), sample()),
        json!({"a": {"S": "x"}})
    );
    assert_eq!(
        projected("nope, l[7], m.k.x, a[0], b.x", json!({}), sample()),
        json!({})
    );
    assert_eq!(
        projected("l[7], l[1]", json!({}), sample()),
        json!({"l": {"L": [{"S": "l1"}]}})
    );
}

/// Overlapping and conflicting paths are rejected with DynamoDB's rendering.
#[test]
fn overlap_and_conflict() {
    assert_eq!(
        projection_err("a, a.b", json!({})),
        format!("{P}Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]")
    );
    assert_eq!(
        projection_err("#a, #a", json!({"#a": "a"})),
        format!("{P}Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]")
    );
    assert_eq!(
        projection_err("#a.#b, #a", json!({"#a": "a", "#b": "b"})),
        format!("{P}Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]")
    );
    assert_eq!(
        projection_err("a.c, a[1]", json!({})),
        format!("{P}Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]")
    );
    // Siblings are fine.
    assert_eq!(
        projected("m.k, m.j", json!({}), sample())["m"]["M"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
}

/// Syntax, reserved, undefined and empty errors, in DynamoDB's order.
#[test]
fn errors() {
    assert_eq!(
        projection_err("!!! INVALID !!!", json!({})),
        format!("{P}Syntax error; token: \"!\", near: \"!!\"")
    );
    assert_eq!(
        projection_err("", json!({})),
        format!("{P}The expression can not be empty;")
    );
    assert_eq!(
        projection_err("a,", json!({})),
        format!("{P}Syntax error; token: \"<EOF>\", near: \",\"")
    );
    assert_eq!(
        projection_err("size(a)", json!({})),
        format!("{P}Syntax error; token: \"(\", near: \"size(a\"")
    );
    assert!(projection_err("a, :v", json!({})).starts_with(&format!("{P}Syntax error; token: \":v\"")));
    assert_eq!(
        projection_err("a, Name", json!({})),
        format!("{P}Attribute name is a reserved keyword; reserved keyword: Name")
    );
    assert_eq!(
        projection_err("#undef", json!({})),
        format!("{P}An expression attribute name used in the document path is not defined; attribute name: #undef")
    );
    // Reserved before undefined, undefined before overlap.
    assert!(projection_err("#u, a, a, data", json!({})).contains("reserved keyword: data"));
    assert!(projection_err("a, a, #u", json!({})).contains("not defined; attribute name: #u"));
    let long = format!("a{}", ", a".repeat(1400));
    assert!(projection_err(&long, json!({})).contains("Expression size has exceeded the maximum allowed size"));
}
