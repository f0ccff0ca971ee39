//! Engine tests on a real sled database on disk.

use serde_json::json;
use tessera_model::key::{KeyAttribute, ScalarType};
use tessera_model::ops::{GetItem, Placeholders, PutItem, Query, ReturnValues, Scan, Select, UpdateItem, WriteOptions};
use tessera_model::{item_from_json, AttributeValue, ErrorKind, Item, KeySchema, Number};

use super::*;

fn table() -> TableRef {
    TableRef {
        id: 7,
        key_schema: KeySchema {
            partition: KeyAttribute {
                name: "pk".into(),
                scalar_type: ScalarType::S,
            },
            sort: Some(KeyAttribute {
                name: "sk".into(),
                scalar_type: ScalarType::N,
            }),
        },
    }
}

fn item(v: serde_json::Value) -> Item {
    item_from_json(&v).unwrap()
}

fn placeholders(values: serde_json::Value) -> Placeholders {
    Placeholders {
        names: Default::default(),
        values: item(values).into_iter().collect(),
    }
}

fn put(store: &Store, it: Item) -> impl std::future::Future<Output = Result<WriteOutput>> + '_ {
    let cmd = ShardCommand::Put {
        table: table(),
        op: PutItem {
            table: "t".into(),
            item: it,
            options: WriteOptions::default(),
        },
    };
    async move { store.write(&cmd).await }
}

fn query(key_condition: &str, values: serde_json::Value, forward: bool, limit: Option<usize>) -> Query {
    Query {
        table: "t".into(),
        index: None,
        key_condition: key_condition.into(),
        filter: None,
        projection: None,
        placeholders: placeholders(values),
        select: Select::AllAttributes,
        limit,
        exclusive_start_key: None,
        forward,
        consistent: false,
    }
}

fn sort_keys(page: &Page) -> Vec<i64> {
    page.items
        .iter()
        .map(|i| match &i["sk"] {
            AttributeValue::N(n) => n.to_string().parse().unwrap(),
            _ => panic!(),
        })
        .collect()
}

async fn seeded() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    for p in ["a", "b"] {
        for sk in -3..=3 {
            put(
                &store,
                item(json!({"pk": {"S": p}, "sk": {"N": sk.to_string()}, "v": {"N": (sk * 10).to_string()}})),
            )
            .await
            .unwrap();
        }
    }
    (dir, store)
}

/// Every sort-key operator selects exactly the DynamoDB range, in both directions.
#[tokio::test]
async fn query_key_conditions_select_ranges() {
    let (_dir, store) = seeded().await;
    let cases: [(&str, serde_json::Value, Vec<i64>); 7] = [
        ("pk = :p", json!({":p": {"S": "a"}}), vec![-3, -2, -1, 0, 1, 2, 3]),
        (
            "pk = :p AND sk = :v",
            json!({":p": {"S": "a"}, ":v": {"N": "1"}}),
            vec![1],
        ),
        (
            "pk = :p AND sk < :v",
            json!({":p": {"S": "a"}, ":v": {"N": "-1"}}),
            vec![-3, -2],
        ),
        (
            "pk = :p AND sk <= :v",
            json!({":p": {"S": "a"}, ":v": {"N": "-1"}}),
            vec![-3, -2, -1],
        ),
        (
            "pk = :p AND sk > :v",
            json!({":p": {"S": "a"}, ":v": {"N": "1.5"}}),
            vec![2, 3],
        ),
        (
            "pk = :p AND :v <= sk",
            json!({":p": {"S": "a"}, ":v": {"N": "2"}}),
            vec![2, 3],
        ),
        (
            "pk = :p AND sk BETWEEN :lo AND :hi",
            json!({":p": {"S": "a"}, ":lo": {"N": "-1"}, ":hi": {"N": "1"}}),
            vec![-1, 0, 1],
        ),
    ];
    for (kc, values, expected) in cases {
        let page = store.query(&table(), &query(kc, values.clone(), true, None)).unwrap();
        assert_eq!(sort_keys(&page), expected, "{kc}");
        let back = store.query(&table(), &query(kc, values, false, None)).unwrap();
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(sort_keys(&back), reversed, "{kc} backwards");
    }
}

/// Limit stops a page with LastEvaluatedKey; continuing from it yields the rest exactly once.
#[tokio::test]
async fn query_pages_with_limit() {
    let (_dir, store) = seeded().await;
    for forward in [true, false] {
        let mut q = query("pk = :p", json!({":p": {"S": "b"}}), forward, Some(3));
        let mut seen = Vec::new();
        loop {
            let page = store.query(&table(), &q).unwrap();
            seen.extend(sort_keys(&page));
            match page.last_evaluated_key {
                Some(k) => q.exclusive_start_key = Some(k),
                None => break,
            }
        }
        let mut expected: Vec<i64> = (-3..=3).collect();
        if !forward {
            expected.reverse();
        }
        assert_eq!(seen, expected);
    }
}

/// Segments of a parallel scan partition the table: every item exactly once.
#[tokio::test]
async fn scan_segments_partition_the_table() {
    let (_dir, store) = seeded().await;
    let mut all = Vec::new();
    for segment in 0..4 {
        let scan = Scan {
            table: "t".into(),
            index: None,
            filter: None,
            projection: None,
            placeholders: Placeholders::default(),
            select: Select::AllAttributes,
            limit: None,
            exclusive_start_key: None,
            segment: Some((segment, 4)),
            consistent: false,
        };
        all.extend(store.scan(&table(), &scan).unwrap().items);
    }
    assert_eq!(all.len(), 14);
    let mut keys: Vec<String> = all.iter().map(|i| format!("{:?}{:?}", i["pk"], i["sk"])).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 14);
}

/// Conditions are evaluated on the stored item; a failed one carries the old item when asked.
#[tokio::test]
async fn conditional_update_and_return_values() {
    let (_dir, store) = seeded().await;
    let key = item(json!({"pk": {"S": "a"}, "sk": {"N": "1"}}));
    let update = |cond: &str, rv| ShardCommand::Update {
        table: table(),
        op: UpdateItem {
            table: "t".into(),
            key: key.clone(),
            update: Some("SET v = v + :d".into()),
            options: WriteOptions {
                condition: Some(cond.into()),
                placeholders: placeholders(json!({":d": {"N": "5"}, ":x": {"N": "10"}})),
                return_values: rv,
                return_old_on_condition_failure: true,
            },
        },
    };
    let out = store.write(&update("v = :x", ReturnValues::UpdatedNew)).await.unwrap();
    assert_eq!(out.attributes, Some(item(json!({"v": {"N": "15"}}))));
    let err = store.write(&update("v = :x", ReturnValues::None)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConditionalCheckFailed);
    assert_eq!(err.item.unwrap()["v"], AttributeValue::N(Number::from(15)));
}

/// Acknowledged writes survive closing and reopening the database.
#[tokio::test]
async fn writes_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).await.unwrap();
        put(
            &store,
            item(json!({"pk": {"S": "k"}, "sk": {"N": "1"}, "x": {"S": "durable"}})),
        )
        .await
        .unwrap();
    }
    let store = Store::open(dir.path()).await.unwrap();
    let got = store
        .get(
            &table(),
            &GetItem {
                table: "t".into(),
                key: item(json!({"pk": {"S": "k"}, "sk": {"N": "1"}})),
                projection: None,
                placeholders: Placeholders::default(),
                consistent: true,
            },
        )
        .unwrap();
    assert_eq!(got.unwrap()["x"], AttributeValue::S("durable".into()));
}

/// Dropping a table removes its items and nothing else.
#[tokio::test]
async fn drop_table_removes_only_that_table() {
    let (_dir, store) = seeded().await;
    let other = TableRef { id: 8, ..table() };
    let cmd = ShardCommand::Put {
        table: other.clone(),
        op: PutItem {
            table: "u".into(),
            item: item(json!({"pk": {"S": "a"}, "sk": {"N": "1"}})),
            options: WriteOptions::default(),
        },
    };
    store.write(&cmd).await.unwrap();
    store.write(&ShardCommand::DropTable { table_id: 7 }).await.unwrap();
    assert!(store
        .query(&table(), &query("pk = :p", json!({":p": {"S": "a"}}), true, None))
        .unwrap()
        .items
        .is_empty());
    assert_eq!(
        store
            .query(&other, &query("pk = :p", json!({":p": {"S": "a"}}), true, None))
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn segment_ranges_cover_the_hash_space() {
    assert_eq!(segment_range(0, 1), (0, None));
    let (a, b) = (segment_range(0, 3), segment_range(1, 3));
    assert_eq!(a.1, Some(b.0));
    assert_eq!(segment_range(2, 3).1, None);
}

#[test]
fn apply_once_applies_a_request_id_once_and_forgets_old_ids() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let shard = Shard::open(&db, "dedup").unwrap();
    // ALL_NEW returns the 5 KB attribute `blob1`: too large a result to keep.
    let add = |n: &str, rv: ReturnValues| ShardCommand::Update {
        table: table(),
        op: UpdateItem {
            table: "t".into(),
            key: item(json!({"pk": {"S": "a"}, "sk": {"N": "1"}})),
            update: Some("ADD n :one SET blob1 = :b".into()),
            options: WriteOptions {
                placeholders: placeholders(json!({":one": {"N": n}, ":b": {"S": "x".repeat(5000)}})),
                return_values: rv,
                ..WriteOptions::default()
            },
        },
    };
    let id = |id: u128| RequestId { id, at_millis: 0 };
    let out = shard
        .apply_once(&id(1), &add("1", ReturnValues::None), None, 1)
        .unwrap();
    // The retry of the same request: the first result again, and no second increment.
    assert_eq!(
        shard
            .apply_once(&id(1), &add("1", ReturnValues::None), Some(b"m"), 2)
            .unwrap(),
        out
    );
    assert_eq!(shard.marker().unwrap().as_deref(), Some(&b"m"[..]));
    let out2 = shard
        .apply_once(&id(2), &add("1", ReturnValues::None), None, 3)
        .unwrap();
    assert_eq!(out2, WriteOutput::default());
    // A result too large to keep: the retry is not applied again, and says so.
    shard
        .apply_once(&id(5), &add("1", ReturnValues::AllNew), None, 4)
        .unwrap();
    let e = shard
        .apply_once(&id(5), &add("1", ReturnValues::AllNew), None, 5)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InternalServerError);
    // A failed condition is remembered as a failure too.
    let failing = ShardCommand::Delete {
        table: table(),
        op: tessera_model::ops::DeleteItem {
            table: "t".into(),
            key: item(json!({"pk": {"S": "a"}, "sk": {"N": "1"}})),
            options: WriteOptions {
                condition: Some("attribute_not_exists(pk)".into()),
                ..WriteOptions::default()
            },
        },
    };
    for index in [6, 7] {
        let e = shard.apply_once(&id(3), &failing, None, index).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConditionalCheckFailed);
    }
    // Ids older than the window (in log entries) are forgotten by later applies.
    shard
        .apply_once(&id(4), &add("1", ReturnValues::None), None, 7 + DEDUP_WINDOW_ENTRIES)
        .unwrap();
    // (UPDATED_NEW names both updated attributes; `n` shows how often it was applied.)
    let again = shard
        .apply_once(
            &id(1),
            &add("1", ReturnValues::UpdatedNew),
            None,
            8 + DEDUP_WINDOW_ENTRIES,
        )
        .unwrap();
    assert_eq!(again.attributes.unwrap()["n"], AttributeValue::N("5".parse().unwrap()));
}

/// One log entry carrying several commands: each sees the writes of those before it, a
/// failed command's writes are dropped, a repeated request id is applied once, and the
/// marker lands with the whole entry.
#[test]
fn a_batch_of_commands_applies_in_order_and_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let shard = Shard::open(&db, "batch").unwrap();
    let id = |id: u128| RequestId { id, at_millis: 0 };
    let key = || item(json!({"pk": {"S": "a"}, "sk": {"N": "1"}}));
    let add = |n: &str| ShardCommand::Update {
        table: table(),
        op: UpdateItem {
            table: "t".into(),
            key: key(),
            update: Some("ADD n :one".into()),
            options: WriteOptions {
                placeholders: placeholders(json!({":one": {"N": n}})),
                return_values: ReturnValues::UpdatedNew,
                ..WriteOptions::default()
            },
        },
    };
    // Fails unless n = 2, and would set n = 100.
    let guarded = ShardCommand::Update {
        table: table(),
        op: UpdateItem {
            table: "t".into(),
            key: key(),
            update: Some("SET n = :big".into()),
            options: WriteOptions {
                condition: Some("n = :two".into()),
                placeholders: placeholders(json!({":two": {"N": "2"}, ":big": {"N": "100"}})),
                ..WriteOptions::default()
            },
        },
    };
    let commands = vec![
        (id(1), add("1")),
        (id(2), guarded.clone()),
        (id(3), add("10")),
        (id(1), add("1")),
    ];
    let results = shard.apply_batch_once(&commands, Some(b"m1"), 1).unwrap();
    let n = |r: &Result<WriteOutput>| r.as_ref().unwrap().attributes.as_ref().unwrap()["n"].clone();
    let num = |s: &str| AttributeValue::N(s.parse().unwrap());
    assert_eq!(n(&results[0]), num("1"));
    assert_eq!(results[1].as_ref().unwrap_err().kind, ErrorKind::ConditionalCheckFailed);
    assert_eq!(n(&results[2]), num("11"));
    // The repeated id gets the first application's result; n is not incremented again.
    assert_eq!(n(&results[3]), num("1"));
    assert_eq!(shard.marker().unwrap().as_deref(), Some(&b"m1"[..]));
    let stored = shard
        .get(
            &table(),
            &GetItem {
                table: "t".into(),
                key: key(),
                projection: None,
                placeholders: Placeholders::default(),
                consistent: false,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(stored["n"], num("11"));
    // A retry of the whole entry (as after a restart that lost the outcome) changes nothing.
    let again = shard.apply_batch_once(&commands, Some(b"m2"), 2).unwrap();
    assert_eq!(n(&again[2]), num("11"));
    assert_eq!(again[1].as_ref().unwrap_err().kind, ErrorKind::ConditionalCheckFailed);
}

fn put_command(n: u64) -> ShardCommand {
    ShardCommand::Put {
        table: table(),
        op: PutItem {
            table: "t".into(),
            item: item(json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}})),
            options: WriteOptions::default(),
        },
    }
}

/// Remembered request ids survive a restart (the in-memory index is rebuilt from the
/// records), and the number remembered is bounded: beyond DEDUP_IDS_MAX the oldest entries'
/// ids are forgotten first, the newest still de-duplicated.
#[test]
fn request_ids_survive_reopen_and_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let id = |id: u128| RequestId { id, at_millis: 0 };
    let shard = Shard::open(&db, "ids").unwrap();
    let per_entry = 100u64;
    let entries = (DEDUP_IDS_MAX as u64 / per_entry) * 2;
    for e in 0..entries {
        let commands: Vec<(RequestId, ShardCommand)> = (0..per_entry)
            .map(|i| {
                let n = e * per_entry + i;
                (id(n as u128), put_command(n))
            })
            .collect();
        let results = shard.apply_batch_once(&commands, None, e + 1).unwrap();
        assert!(results.iter().all(|r| r.is_ok()));
    }
    drop(shard);
    let shard = Shard::open(&db, "ids").unwrap();
    let remembered = shard.remembered_ids();
    assert!(
        remembered <= DEDUP_IDS_MAX && remembered > DEDUP_IDS_MAX / 2,
        "{remembered} ids remembered"
    );
    // The newest id is still known after the restart: its retry returns the kept result
    // and writes nothing (a Put that would fail its condition now is not evaluated again).
    let newest = entries * per_entry - 1;
    let guarded = ShardCommand::Put {
        table: table(),
        op: PutItem {
            table: "t".into(),
            item: item(json!({"pk": {"S": "p"}, "sk": {"N": newest.to_string()}})),
            options: WriteOptions {
                condition: Some("attribute_not_exists(pk)".into()),
                ..WriteOptions::default()
            },
        },
    };
    let index = entries + 1;
    assert!(shard.apply_once(&id(newest as u128), &guarded, None, index).is_ok());
    // The oldest id was forgotten: the same guarded retry is evaluated again and fails.
    let oldest = ShardCommand::Put {
        table: table(),
        op: PutItem {
            table: "t".into(),
            item: item(json!({"pk": {"S": "p"}, "sk": {"N": "0"}})),
            options: WriteOptions {
                condition: Some("attribute_not_exists(pk)".into()),
                ..WriteOptions::default()
            },
        },
    };
    let e = shard.apply_once(&id(0), &oldest, None, index + 1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConditionalCheckFailed);
}

/// Replicas group entries into commits differently (a follower catching up applies many at
/// once): what a shard remembers and forgets must not depend on that.
#[test]
fn forgetting_ids_does_not_depend_on_how_entries_are_committed() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let one_by_one = Shard::open(&db, "a").unwrap();
    let grouped = Shard::open(&db, "b").unwrap();
    let id = |id: u128| RequestId { id, at_millis: 0 };
    let per_entry = 100u64;
    let entry = |e: u64| -> Vec<(RequestId, ShardCommand)> {
        (0..per_entry)
            .map(|i| {
                let n = e * per_entry + i;
                (id(n as u128), put_command(n % 300))
            })
            .collect()
    };
    let entries = (DEDUP_IDS_MAX as u64 / per_entry) * 3;
    for e in 1..=entries {
        one_by_one
            .apply_batch_once(&entry(e), Some(&e.to_be_bytes()), e)
            .unwrap();
    }
    for first in (1..=entries).step_by(3) {
        let mut session = grouped.session();
        let last = (first + 2).min(entries);
        for e in first..=last {
            let commands = entry(e);
            session
                .apply_each_once(commands.iter().map(|(r, c)| (r, c)), e)
                .unwrap();
        }
        session.commit(Some(&last.to_be_bytes())).unwrap();
    }
    assert_eq!(one_by_one.remembered_ids(), grouped.remembered_ids());
    assert!(one_by_one.remembered_ids() <= DEDUP_IDS_MAX);
    assert_eq!(one_by_one.export().unwrap(), grouped.export().unwrap());
    assert_eq!(one_by_one.digest().unwrap(), grouped.digest().unwrap());
    one_by_one.apply(&put_command(7), Some(b"one more")).unwrap();
    assert_ne!(one_by_one.digest().unwrap(), grouped.digest().unwrap());
}

/// One log entry of a crash test: commands with request ids (`apply_each_once`), or a lone
/// command without one (`ApplySession::apply`).
enum Step {
    Once(u64, Vec<(RequestId, ShardCommand)>),
    Plain(ShardCommand),
}

fn apply_steps(session: &mut ApplySession<'_>, steps: &[Step]) -> String {
    let mut results = Vec::new();
    for step in steps {
        match step {
            Step::Once(index, commands) => results.push(format!(
                "{:?}",
                session
                    .apply_each_once(commands.iter().map(|(r, c)| (r, c)), *index)
                    .unwrap()
            )),
            Step::Plain(command) => results.push(format!("{:?}", session.apply(command).unwrap())),
        }
    }
    results.join("\n")
}

/// A crash can cut a commit short anywhere (sled keeps a prefix of its writes). A commit of
/// blind writes has no intent: re-applying its entries from the marker on disk, as the log
/// does after a restart, must end where the whole commit ends (items, kept results and the
/// ids remembered or forgotten, which every replica must agree on), wherever the cut fell.
/// Returns how many writes the commit has, and the shard the whole commit left.
fn every_cut_is_rebuilt(earlier: &[(u64, Vec<(RequestId, ShardCommand)>)], steps: &[Step]) -> (usize, Shard) {
    let marker = b"after the steps".to_vec();
    let setup = |db: &sled::Db| {
        let shard = Shard::open(db, "s").unwrap();
        for (e, commands) in earlier {
            shard.apply_batch_once(commands, Some(&e.to_be_bytes()), *e).unwrap();
        }
        shard
    };
    let whole_db = sled::Config::new().temporary(true).open().unwrap();
    let whole = setup(&whole_db);
    let mut session = whole.session();
    let expected = apply_steps(&mut session, steps);
    session.commit(Some(&marker)).unwrap();
    let expected_state = whole.export().unwrap();

    let mut cut = 0;
    loop {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let shard = setup(&db);
        let mut session = shard.session();
        apply_steps(&mut session, steps);
        let writes = session.commit_cut(&marker, cut).unwrap();
        drop(shard);
        // The restart: the shard opens on what reached the tree, and the log applies the
        // entries again unless their marker got there.
        let shard = Shard::open(&db, "s").unwrap();
        if shard.marker().unwrap().as_deref() != Some(&marker[..]) {
            let mut session = shard.session();
            let again = apply_steps(&mut session, steps);
            session.commit(Some(&marker)).unwrap();
            assert_eq!(again, expected, "results, cut after {cut} of {writes} writes");
        }
        assert!(
            shard.export().unwrap() == expected_state,
            "state, cut after {cut} of {writes} writes"
        );
        assert_eq!(shard.remembered_ids(), whole.remembered_ids(), "cut after {cut}");
        assert_eq!(shard.digest().unwrap(), whole.digest().unwrap(), "cut after {cut}");
        if cut == writes {
            return (writes, whole);
        }
        cut += 1;
    }
}

fn crash_put(n: u64, v: &str) -> ShardCommand {
    let mut it = item(json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}}));
    it.insert("v".into(), AttributeValue::S(v.into()));
    ShardCommand::Put {
        table: table(),
        op: PutItem {
            table: "t".into(),
            item: it,
            options: WriteOptions::default(),
        },
    }
}

/// Attribute `v` of item `n` of a crash test.
fn crash_value(shard: &Shard, n: u64) -> Option<String> {
    let op = GetItem {
        table: "t".into(),
        key: item(json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}})),
        projection: None,
        placeholders: Placeholders::default(),
        consistent: false,
    };
    match shard.get(&table(), &op).unwrap()?.get("v") {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

fn rid(id: u128) -> RequestId {
    RequestId { id, at_millis: 0 }
}

/// A retried request whose record the same entry forgets (by the entry window), and a
/// delete: cut anywhere, the retry is still skipped on re-application.
#[test]
fn a_blind_commit_cut_short_anywhere_is_rebuilt_by_applying_it_again() {
    let delete = ShardCommand::Delete {
        table: table(),
        op: tessera_model::ops::DeleteItem {
            table: "t".into(),
            key: item(json!({"pk": {"S": "p"}, "sk": {"N": "0"}})),
            options: WriteOptions::default(),
        },
    };
    // Request 1 wrote item 1 at entry 10; request 2 overwrote it at entry 11.
    let earlier = [
        (10u64, vec![(rid(1), crash_put(1, "first"))]),
        (
            11u64,
            vec![(rid(2), crash_put(1, "second")), (rid(3), crash_put(0, "old"))],
        ),
    ];
    // So late that entry 10's record is forgotten as this entry applies; it retries request
    // 1, which is skipped (still remembered when the entry's commands run).
    let index = 10 + DEDUP_WINDOW_ENTRIES + 1;
    let entry = vec![
        (rid(1), crash_put(1, "first")),
        (rid(4), crash_put(2, "new")),
        (rid(5), delete),
        (rid(6), crash_put(3, "new")),
    ];
    assert!(entry.iter().all(|(_, c)| c.is_blind()));
    let (writes, whole) = every_cut_is_rebuilt(&earlier, &[Step::Once(index, entry)]);
    assert_eq!(crash_value(&whole, 1).as_deref(), Some("second"));
    assert_eq!(crash_value(&whole, 0), None);
    // Three items (request 1 is skipped), the entry's record, the mark and the removal of
    // entry 10's record: every cut was tried.
    assert_eq!(writes, 6);
}

/// Several entries in one commit, the shard at its bound of remembered ids: the second
/// entry retries a request of the oldest record and then forgets that record (by count).
/// A crash that keeps the entries' records but not the mark must not let them count, or
/// skip anything, when the entries are applied again.
#[test]
fn a_cut_commit_of_several_entries_at_the_id_bound_is_rebuilt() {
    let per_entry = 100u64;
    let mut earlier = vec![(1u64, vec![(rid(1), crash_put(1, "first"))])];
    let mut next = 2u128;
    // DEDUP_IDS_MAX - 1 ids remembered in all: the first entry of the commit reaches the
    // bound, the second passes it.
    let filler_ids = DEDUP_IDS_MAX as u64 - 3;
    let fillers = filler_ids / per_entry;
    for e in 0..=fillers {
        let count = if e < fillers { per_entry } else { filler_ids % per_entry };
        let commands: Vec<_> = (0..count)
            .map(|_| {
                next += 1;
                (rid(next), crash_put(1000 + next as u64, "filler"))
            })
            .collect();
        earlier.push((e + 2, commands));
    }
    earlier.push((fillers + 3, vec![(rid(2), crash_put(1, "second"))]));
    let first = fillers + 4;
    let steps = [
        Step::Once(first, vec![(rid(100_000), crash_put(5, "a"))]),
        Step::Plain(crash_put(6, "plain")),
        Step::Once(
            first + 1,
            vec![(rid(1), crash_put(1, "first")), (rid(100_001), crash_put(7, "b"))],
        ),
    ];
    let (_, whole) = every_cut_is_rebuilt(&earlier, &steps);
    // The retry was skipped, and the bound then forgot the oldest record (request 1's).
    assert_eq!(crash_value(&whole, 1).as_deref(), Some("second"));
    assert_eq!(whole.remembered_ids(), DEDUP_IDS_MAX);
}

/// A lone command (no request id) before an entry with one, in one commit: a cut that keeps
/// the second entry's record must not leave the first to be applied over it.
#[test]
fn a_cut_commit_with_a_command_without_request_id_is_rebuilt() {
    let steps = [
        Step::Plain(crash_put(1, "A")),
        Step::Once(2, vec![(rid(9), crash_put(1, "B"))]),
    ];
    let (_, whole) = every_cut_is_rebuilt(&[], &steps);
    assert_eq!(crash_value(&whole, 1).as_deref(), Some("B"));
}

/// Which commands can be written without an intent.
#[test]
fn only_unconditional_puts_and_deletes_that_return_nothing_are_blind() {
    let with = |condition: Option<&str>, return_values: ReturnValues| WriteOptions {
        condition: condition.map(str::to_string),
        return_values,
        ..WriteOptions::default()
    };
    let put = |options: WriteOptions| ShardCommand::Put {
        table: table(),
        op: PutItem {
            table: "t".into(),
            item: item(json!({"pk": {"S": "p"}, "sk": {"N": "1"}})),
            options,
        },
    };
    assert!(put(with(None, ReturnValues::None)).is_blind());
    assert!(!put(with(Some("attribute_not_exists(pk)"), ReturnValues::None)).is_blind());
    assert!(!put(with(None, ReturnValues::AllOld)).is_blind());
    let update = ShardCommand::Update {
        table: table(),
        op: UpdateItem {
            table: "t".into(),
            key: item(json!({"pk": {"S": "p"}, "sk": {"N": "1"}})),
            update: Some("SET v = :v".into()),
            options: WriteOptions {
                placeholders: placeholders(json!({":v": {"S": "x"}})),
                ..WriteOptions::default()
            },
        },
    };
    assert!(!update.is_blind());
    assert!(!ShardCommand::DropTable { table_id: 7 }.is_blind());
}
