#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Bounded fuzzing of AttributeValue JSON decoding: no input may panic, and every value that
//! decodes re-encodes to JSON that decodes to the same value.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tessera_model::{item_from_json, item_size, AttributeValue};

/// Arbitrary JSON, biased towards AttributeValue-like objects so decoding gets past the shape
/// checks often enough to exercise value validation.
fn arb_json() -> impl Strategy<Value = Value> {
    let type_key = prop::sample::select(vec!["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS", "X"]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[-+0-9.eE]{0,12}".prop_map(Value::String),
        "[A-Za-z0-9+/=]{0,12}".prop_map(Value::String),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((type_key.clone(), inner.clone()), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())),
            prop::collection::vec((".{0,4}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Well-formed AttributeValue JSON of every type (numbers and base64 mostly valid, sometimes
/// not), nested in M and L.
fn arb_attribute_json() -> impl Strategy<Value = Value> {
    let number = prop_oneof!["-?[0-9]{1,20}(\\.[0-9]{0,20})?(e-?[0-9]{1,3})?", "[-+0-9.eE]{0,6}"];
    let base64 = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..12).prop_map(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(b)
        }),
        "[A-Za-z0-9+/=]{0,6}",
    ];
    let leaf = prop_oneof![
        ".{0,10}".prop_map(|s| json!({"S": s})),
        number.clone().prop_map(|n| json!({"N": n})),
        base64.clone().prop_map(|b| json!({"B": b})),
        any::<bool>().prop_map(|b| json!({"BOOL": b})),
        any::<bool>().prop_map(|b| json!({"NULL": b})),
        prop::collection::vec("[a-c]{0,2}", 0..4).prop_map(|v| json!({"SS": v})),
        prop::collection::vec(number, 0..4).prop_map(|v| json!({"NS": v})),
        prop::collection::vec(base64, 0..3).prop_map(|v| json!({"BS": v})),
    ];
    leaf.prop_recursive(8, 64, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|l| json!({"L": l})),
            prop::collection::btree_map("[a-e]{1,3}", inner, 0..5).prop_map(|m| json!({"M": m})),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn decoding_arbitrary_json_never_panics(v in arb_json()) {
        if let Ok(av) = AttributeValue::from_json(&v) {
            let again = AttributeValue::from_json(&av.to_json()).unwrap();
            prop_assert_eq!(&again, &av);
            let _ = av.size_bytes();
        }
        if let Ok(item) = item_from_json(&v) {
            let _ = item_size(&item);
        }
    }

    #[test]
    fn well_formed_values_round_trip(v in arb_attribute_json()) {
        if let Ok(av) = AttributeValue::from_json(&v) {
            let again = AttributeValue::from_json(&av.to_json()).unwrap();
            prop_assert_eq!(&again, &av);
        }
    }

    #[test]
    fn decoding_arbitrary_text_never_panics(s in ".{0,64}") {
        if let Ok(v) = serde_json::from_str::<Value>(&s) {
            let _ = AttributeValue::from_json(&v);
            let _ = item_from_json(&v);
        }
    }
}

/// Nesting far beyond the limit is refused without exhausting a 2 MiB stack (a tokio worker's).
#[test]
fn deep_nesting_is_refused_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            // Within serde_json's own depth limit (128 arrays + objects)…
            let mut text = String::from(r#"{"S":"x"}"#);
            for _ in 0..60 {
                text = format!(r#"{{"L":[{text}]}}"#);
            }
            let v: Value = serde_json::from_str(&text).unwrap();
            assert!(AttributeValue::from_json(&v).is_err());
            // …and far beyond it, for values built without the parser.
            let mut v = json!({"S": "x"});
            for _ in 0..5000 {
                // Built by hand: `json!` would serialise `v` again, recursing over its depth.
                let inner = Map::from_iter([("a".to_string(), v)]);
                v = Value::Object(Map::from_iter([("M".to_string(), Value::Object(inner))]));
            }
            assert!(AttributeValue::from_json(&v).is_err());
            // Dropping a tree this deep recurses; keep it from running on this small stack.
            std::mem::forget(v);
        })
        .unwrap()
        .join()
        .unwrap();
}
