//! The checker on histories whose verdict is known: it must accept linearizable ones (with
//! concurrency and unknown outcomes) and catch every kind of anomaly the chaos suite hunts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tessera_chaos::checker::check;
use tessera_chaos::history::{parse, Event, EventType, Function};

/// A compact history builder: each op is (process, function, value, expected, invoke time,
/// completion time or None for unknown, outcome).
struct H(Vec<Event>);

impl H {
    fn new() -> H {
        H(Vec::new())
    }

    #[allow(clippy::too_many_arguments)]
    fn op(
        mut self,
        process: u64,
        f: Function,
        value: Option<u64>,
        expected: Option<u64>,
        start: u64,
        end: u64,
        kind: EventType,
        read: Option<u64>,
    ) -> H {
        let ev = |kind, time, value, error: Option<&str>| Event {
            process,
            kind,
            f,
            key: "k".into(),
            value,
            expected,
            time,
            error: error.map(str::to_string),
        };
        self.0.push(ev(EventType::Invoke, start, value, None));
        let error = match (kind, f) {
            (EventType::Fail, Function::Cas) => Some("ConditionalCheckFailed"),
            (EventType::Info, _) => Some("timeout"),
            _ => None,
        };
        self.0
            .push(ev(kind, end, if f == Function::Read { read } else { value }, error));
        self
    }

    fn write(self, p: u64, v: u64, start: u64, end: u64) -> H {
        self.op(p, Function::Write, Some(v), None, start, end, EventType::Ok, None)
    }

    fn unknown_write(self, p: u64, v: u64, start: u64, end: u64) -> H {
        self.op(p, Function::Write, Some(v), None, start, end, EventType::Info, None)
    }

    fn read(self, p: u64, v: u64, start: u64, end: u64) -> H {
        self.op(p, Function::Read, None, None, start, end, EventType::Ok, Some(v))
    }

    fn cas(self, p: u64, expected: u64, v: u64, start: u64, end: u64, kind: EventType) -> H {
        self.op(p, Function::Cas, Some(v), Some(expected), start, end, kind, None)
    }

    fn verdict(mut self) -> (usize, usize) {
        // Events as a workload writes them: in time order.
        self.0.sort_by_key(|e| e.time);
        let r = check(&self.0).unwrap();
        (r.violations(), r.lost())
    }
}

#[test]
fn sequential_and_concurrent_histories_pass() {
    assert_eq!(H::new().write(0, 1, 0, 10).read(1, 1, 20, 30).verdict(), (0, 0));
    // A read concurrent with a write may see either value.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .write(0, 2, 20, 40)
            .read(1, 1, 25, 30)
            .verdict(),
        (0, 0)
    );
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .write(0, 2, 20, 40)
            .read(1, 2, 25, 30)
            .verdict(),
        (0, 0)
    );
    // Reading "no item" before any write.
    assert_eq!(
        H::new()
            .read(0, 0, 0, 5)
            .write(1, 3, 10, 20)
            .read(0, 3, 30, 40)
            .verdict(),
        (0, 0)
    );
}

#[test]
fn stale_reads_are_caught() {
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .write(0, 2, 20, 30)
            .read(1, 1, 40, 50)
            .verdict()
            .0,
        1
    );
    // Once a read saw the new value, a later read may not see the old one.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .write(0, 2, 20, 100)
            .read(1, 2, 30, 40)
            .read(2, 1, 50, 60)
            .verdict()
            .0,
        1
    );
}

#[test]
fn reads_of_values_never_written_are_caught() {
    assert_eq!(H::new().write(0, 1, 0, 10).read(1, 7, 20, 30).verdict().0, 1);
}

#[test]
fn lost_acknowledged_writes_are_caught_and_counted() {
    let (violations, lost) = H::new().write(0, 5, 0, 10).read(1, 0, 20, 30).verdict();
    assert_eq!((violations, lost), (1, 1));
    let (violations, lost) = H::new()
        .write(0, 1, 0, 10)
        .write(0, 2, 20, 30)
        .read(1, 1, 40, 50)
        .verdict();
    assert_eq!((violations, lost), (1, 1));
}

#[test]
fn unknown_writes_may_or_may_not_have_happened() {
    // Observed later: it happened.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .unknown_write(1, 2, 20, 30)
            .read(2, 2, 100, 110)
            .verdict(),
        (0, 0)
    );
    // Never observed: it did not.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .unknown_write(1, 2, 20, 30)
            .read(2, 1, 100, 110)
            .verdict(),
        (0, 0)
    );
    // It may take effect long after its invocation, even after a later read missed it.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .unknown_write(1, 2, 20, 30)
            .read(2, 1, 100, 110)
            .read(2, 2, 200, 210)
            .verdict(),
        (0, 0)
    );
    // But once seen, the older value cannot come back.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .unknown_write(1, 2, 20, 30)
            .read(2, 2, 100, 110)
            .read(2, 1, 200, 210)
            .verdict()
            .0,
        1
    );
}

#[test]
fn conditional_puts_are_checked() {
    // A CAS from the current value succeeds; its failure from the current value is impossible.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .cas(1, 1, 2, 20, 30, EventType::Ok)
            .read(2, 2, 40, 50)
            .verdict(),
        (0, 0)
    );
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .cas(1, 1, 2, 20, 30, EventType::Fail)
            .verdict()
            .0,
        1
    );
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .cas(1, 9, 2, 20, 30, EventType::Fail)
            .read(2, 1, 40, 50)
            .verdict(),
        (0, 0)
    );
    // Two sequential CASes from the same value cannot both succeed.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .cas(1, 1, 2, 20, 30, EventType::Ok)
            .cas(2, 1, 3, 40, 50, EventType::Ok)
            .verdict()
            .0,
        1
    );
    // A CAS of unknown outcome whose value is seen later happened.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .cas(1, 1, 2, 20, 30, EventType::Info)
            .read(2, 2, 40, 50)
            .verdict(),
        (0, 0)
    );
    // ...but not if its condition could never have held.
    assert_eq!(
        H::new()
            .write(0, 1, 0, 10)
            .cas(1, 7, 2, 20, 30, EventType::Info)
            .read(2, 2, 40, 50)
            .verdict()
            .0,
        1
    );
}

#[test]
fn histories_round_trip_through_jsonl() {
    let h = H::new().write(0, 1, 0, 10).read(1, 1, 20, 30);
    let text: String = h.0.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect();
    assert_eq!(parse(&text).unwrap(), h.0);
    assert!(parse("{not json").is_err());
    // A completion without its invocation is a malformed history, not a verdict.
    let orphan = r#"{"process":3,"type":"ok","f":"read","key":"k","value":1,"time":5}"#;
    assert!(check(&parse(orphan).unwrap()).is_err());
    // So is a process reused after an operation of unknown outcome.
    let reused = H::new().unknown_write(0, 1, 0, 10).write(0, 2, 20, 30);
    assert!(check(&reused.0).is_err());
}
