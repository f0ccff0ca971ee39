//! Parse + evaluate cost of typical expressions. Run: `cargo bench -p tessera-expr`.
//! Prints nanoseconds per operation (median of several timed batches); asserts nothing about
//! speed, so a noisy machine never fails a build.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use serde_json::json;
use tessera_expr::{apply_update, evaluate, project, Context, ExprKind};
use tessera_model::{item_from_json, AttributeValue, Item};

const BATCHES: usize = 15;

/// Median nanoseconds per call of `f`, over batches sized to take ~20 ms each.
fn measure(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calibration = 0u64;
    while start.elapsed().as_millis() < 20 {
        f();
        calibration += 1;
    }
    let per_batch = calibration.max(1);
    let mut samples: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            t.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[BATCHES / 2]
}

fn main() {
    let item: Item = item_from_json(&json!({
        "pk": {"S": "user#1234"}, "sk": {"N": "42"}, "status": {"S": "active"},
        "visits": {"N": "1041"}, "tags": {"SS": ["a", "b", "c"]},
        "profile": {"M": {"name": {"S": "Ada"}, "emails": {"L": [{"S": "ada@example.com"}]}}}
    }))
    .unwrap();
    let names = BTreeMap::from([
        ("#s".to_string(), "status".to_string()),
        ("#p".to_string(), "profile".to_string()),
    ]);
    let values: BTreeMap<String, AttributeValue> = item_from_json(&json!({
        ":active": {"S": "active"}, ":min": {"N": "100"}, ":one": {"N": "1"}, ":zero": {"N": "0"},
        ":tag": {"S": "b"}, ":new": {"L": [{"S": "x@example.com"}]}
    }))
    .unwrap()
    .into_iter()
    .collect();

    let condition = "#s = :active AND visits >= :min AND contains(tags, :tag) AND attribute_exists(#p.emails[0])";
    let update =
        "SET visits = if_not_exists(visits, :zero) + :one, #p.emails = list_append(#p.emails, :new) REMOVE tags";

    let parse_condition = measure(|| {
        let mut ctx = Context::new(&names, &values);
        black_box(ctx.condition(ExprKind::Condition, black_box(condition)).unwrap());
    });
    let cond = Context::new(&names, &values)
        .condition(ExprKind::Condition, condition)
        .unwrap();
    let eval_condition = measure(|| {
        black_box(evaluate(black_box(&cond), Some(&item)));
    });
    let parse_update = measure(|| {
        let mut ctx = Context::new(&names, &values);
        black_box(ctx.update(black_box(update)).unwrap());
    });
    let upd = Context::new(&names, &values).update(update).unwrap();
    let apply = measure(|| {
        black_box(apply_update(black_box(&upd), Some(&item)).unwrap());
    });
    let paths = Context::new(&names, &values)
        .projection("pk, #p.emails[0], visits")
        .unwrap();
    let projection = measure(|| {
        black_box(project(black_box(&item), &paths));
    });

    println!("expression benchmark (median ns per operation)");
    println!("  condition  parse+check  {parse_condition:>9.0} ns   `{condition}`");
    println!("  condition  evaluate     {eval_condition:>9.0} ns");
    println!("  condition  total        {:>9.0} ns", parse_condition + eval_condition);
    println!("  update     parse+check  {parse_update:>9.0} ns   `{update}`");
    println!("  update     apply        {apply:>9.0} ns");
    println!("  update     total        {:>9.0} ns", parse_update + apply);
    println!("  projection apply        {projection:>9.0} ns");
}
