#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Robustness: no input may panic or overflow the stack, whatever it is (random token soup,
//! random text, pathological nesting). Bounded so it runs in CI in a few seconds.

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use serde_json::json;
use tessera_expr::{apply_update, evaluate, project, Context, ExprKind};
use tessera_model::{AttributeValue, Item, KeyAttribute, KeySchema, ScalarType};

/// Tokens the grammar knows, plus near-misses and characters it does not.
const TOKENS: &[&str] = &[
    "a",
    "b",
    "pk",
    "sk",
    "l",
    "m",
    "name",
    "_x",
    "x1",
    "#a",
    "#b",
    "#n",
    "#undef",
    "#",
    ":v",
    ":n",
    ":l",
    ":ss",
    ":b",
    ":undef",
    ":",
    "0",
    "1",
    "3",
    "99999999999999999999999",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "!",
    "\"",
    "'",
    "$",
    "AND",
    "or",
    "NOT",
    "BETWEEN",
    "in",
    "SET",
    "remove",
    "ADD",
    "DELETE",
    "size",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "if_not_exists",
    "list_append",
    "foo",
    "ü",
    "日本",
    "😀",
    "\u{0}",
    "\t",
    "\n",
];

fn names() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("#a".into(), "a".into()),
        ("#b".into(), "b".into()),
        ("#n".into(), "name".into()),
    ])
}

fn values() -> BTreeMap<String, AttributeValue> {
    vals(
        json!({":v": {"S": "x"}, ":n": {"N": "1"}, ":l": {"L": [{"N": "2"}]}, ":ss": {"SS": ["s"]}, ":b": {"BOOL": true}}),
    )
}

fn sample_item() -> Item {
    item(json!({"a": {"S": "xy"}, "b": {"N": "3"}, "name": {"S": "n"},
                "l": {"L": [{"N": "1"}, {"M": {"a": {"S": "q"}}}]}, "m": {"M": {"a": {"SS": ["s"]}}}}))
}

fn schema() -> KeySchema {
    KeySchema {
        partition: KeyAttribute {
            name: "pk".into(),
            scalar_type: ScalarType::S,
        },
        sort: Some(KeyAttribute {
            name: "sk".into(),
            scalar_type: ScalarType::N,
        }),
    }
}

/// Runs `text` through every entry point; evaluates whatever is accepted.
fn exercise(text: &str) {
    let (n, v) = (names(), values());
    let it = sample_item();
    for kind in [ExprKind::Condition, ExprKind::Filter] {
        let mut ctx = Context::new(&n, &v);
        if let Ok(c) = ctx.condition(kind, text) {
            let _ = evaluate(&c, Some(&it));
            let _ = evaluate(&c, None);
            let _ = ctx.check_unused();
        }
    }
    let mut ctx = Context::new(&n, &v);
    if let Ok(k) = ctx.key_condition(text, &schema()) {
        if let Some(s) = &k.sort {
            let _ = s.matches(&AttributeValue::S("x".into()));
        }
    }
    let mut ctx = Context::new(&n, &v);
    if let Ok(u) = ctx.update(text) {
        let _ = apply_update(&u, Some(&it));
        let _ = apply_update(&u, None);
    }
    let mut ctx = Context::new(&n, &v);
    if let Ok(p) = ctx.projection(text) {
        let _ = project(&it, &p);
    }
}

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(TOKENS), prop::bool::ANY), 0..24).prop_map(|toks| {
        toks.into_iter()
            .map(|(t, space)| if space { format!("{t} ") } else { t.to_string() })
            .collect()
    })
}

/// Plausible expressions: a prefix that parses, mutated by a token-soup tail.
fn near_valid() -> impl Strategy<Value = String> {
    let heads = prop::sample::select(vec![
        "a = :v AND ",
        "NOT (b < :n) OR ",
        "SET a = :v, ",
        "SET l[1] = list_append(:l, l) REMOVE ",
        "ADD b :n DELETE m.a :ss ",
        "pk = :v AND sk ",
        "a.b[3].c, ",
        "size(l) > :n AND contains(",
        "attribute_type(a, :v) AND ",
        "b BETWEEN :n AND ",
        "a IN (:v, ",
        "((",
        "SET a = if_not_exists(",
    ]);
    (heads, token_soup()).prop_map(|(h, t)| format!("{h}{t}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Grammar-ish token soup never panics in any parser, checker or evaluator.
    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        exercise(&text);
    }

    /// Mutations of valid prefixes never panic.
    #[test]
    fn near_valid_never_panics(text in near_valid()) {
        exercise(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary unicode text never panics.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,64}") {
        exercise(&text);
    }

    /// Arbitrary ASCII (including control characters) never panics.
    #[test]
    fn arbitrary_ascii_never_panics(text in "[\\x00-\\x7f]{0,64}") {
        exercise(&text);
    }
}

/// Runs `f` on a thread with a 2 MiB stack (tokio's worker default): recursion must fit.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("stack overflow or panic on a 2 MiB stack");
}

/// Thousands of nested parentheses, NOTs and calls end in Err, not a crash.
#[test]
fn deep_nesting_does_not_overflow() {
    on_small_stack(|| {
        let (n, v) = (names(), values());
        let cases = [
            format!("{}a = :v{}", "(".repeat(3000), ")".repeat(3000)),
            format!("{}a = :v", "NOT ".repeat(1000)),
            format!("{}a{} > :n", "size(".repeat(1000), ")".repeat(1000)),
            format!("a = {}:v{}", "(".repeat(3000), ")".repeat(3000)),
            "(".repeat(4096),
            format!("SET a = {}a{}", "if_not_exists(a, ".repeat(800), ")".repeat(800)),
            format!("SET a = {}:l{}", "list_append(:l, ".repeat(800), ")".repeat(800)),
            format!("attribute_exists(a{})", ".b".repeat(2000)),
            format!("a{}", "[0]".repeat(1300)),
        ];
        for text in &cases {
            let text = &text[..text.len().min(4096)];
            for kind in [ExprKind::Condition, ExprKind::KeyCondition] {
                assert!(
                    Context::new(&n, &v).condition(kind, text).is_err(),
                    "{kind:?} {}",
                    &text[..20]
                );
            }
            assert!(Context::new(&n, &v).update(text).is_err());
            assert!(Context::new(&n, &v).projection(text).is_err());
            assert!(Context::new(&n, &v).key_condition(text, &schema()).is_err());
        }
    });
}

/// Nesting just inside the parser's bound is accepted and evaluates on a small stack.
#[test]
fn nesting_at_the_bound_evaluates() {
    on_small_stack(|| {
        let (n, v) = (names(), values());
        let depth = tessera_expr::NESTING_MAX - 1;
        let parens = format!("{}a = :v{}", "(".repeat(depth), ")".repeat(depth));
        // Doubled parentheses are "redundant" in a condition: alternate with NOT.
        let nots = format!("{}a = :v{}", "NOT (".repeat(depth / 2), ")".repeat(depth / 2));
        assert!(Context::new(&n, &v).condition(ExprKind::Condition, &parens).is_err());
        let c = Context::new(&n, &v).condition(ExprKind::Condition, &nots).unwrap();
        assert!(evaluate(&c, Some(&sample_item())));
        // Right-nested chains: `a<>:v AND (a=:v OR (a<>:v AND (...)))`, all true.
        let right = format!(
            "{}a<>:v{}",
            "a<>:v AND (a=:v OR (".repeat(depth / 2),
            "))".repeat(depth / 2)
        );
        let c = Context::new(&n, &v).condition(ExprKind::Condition, &right).unwrap();
        assert!(evaluate(&c, Some(&sample_item())));
        // Nested calls in updates at the bound.
        let calls = format!("SET a = {}a{}", "if_not_exists(a, ".repeat(depth), ")".repeat(depth));
        let u = Context::new(&n, &v).update(&calls).unwrap();
        assert!(apply_update(&u, Some(&sample_item())).is_ok());
        let appends = format!(
            "SET l = {}:l{}",
            "list_append(:l, if_not_exists(l, ".repeat(depth / 2),
            "))".repeat(depth / 2)
        );
        let _ = Context::new(&n, &v).update(&appends);
    });
}

/// Maximal AND / OR chains (4096 bytes) check and evaluate on a small stack.
#[test]
fn long_boolean_chains() {
    on_small_stack(|| {
        let (n, v) = (names(), values());
        let it = sample_item();
        for (sep, unit) in [
            (" AND ", "a=:v"),
            (" OR ", "b<>:n"),
            ("OR", "(b=:n)"),
            ("AND", "(a=:v)"),
        ] {
            let mut text = unit.to_string();
            while text.len() + sep.len() + unit.len() <= 4096 {
                text.push_str(sep);
                text.push_str(unit);
            }
            let c = Context::new(&n, &v)
                .condition(ExprKind::Condition, &text)
                .unwrap_or_else(|e| panic!("{}", e.message));
            let _ = evaluate(&c, Some(&it));
            // As a key condition it is rejected, not crashed on.
            assert!(Context::new(&n, &v).key_condition(&text, &schema()).is_err());
        }
        // Long NOT-free chains with a deep mix.
        let mixed = format!("{}a=:v", "a=:v AND NOT (b=:n) OR ".repeat(4000 / 24));
        assert!(Context::new(&n, &v).condition(ExprKind::Filter, &mixed).is_ok());
        // A 4096-byte update and projection.
        let set = format!(
            "SET {}",
            (0..600).map(|i| format!("a{i}=:v")).collect::<Vec<_>>().join(",")
        );
        let set = &set[..set[..4096].rfind(',').unwrap()];
        let _ = Context::new(&n, &v).update(set);
        let proj = (0..900).map(|i| format!("p{i}")).collect::<Vec<_>>().join(",");
        let proj = &proj[..proj[..4096].rfind(',').unwrap()];
        assert!(Context::new(&n, &v).projection(proj).is_ok());
    });
}
