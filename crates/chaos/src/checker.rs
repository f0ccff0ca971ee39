//! Checks a history key by key: linearizability of each key's register (Wing–Gong–Lowe, from
//! `todc-utils`), and that no acknowledged write is missing at the end.
//!
//! Unknown (`info`) operations are what makes histories of a faulty system hard: such a write
//! may or may not have happened. The specification therefore tracks the *set* of values the
//! register may hold: an unknown write linearized at some point adds its value as possible
//! (it happened, or not); a read narrows the set to what it saw. Its response is placed at the
//! end of the history, so it may take effect at any time after its invocation.

use std::collections::{BTreeMap, BTreeSet};

use todc_utils::linearizability::history::{Action, History};
use todc_utils::linearizability::WGLChecker;
use todc_utils::specifications::Specification;

use crate::history::{Event, EventType, Function};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Read(u64),
    Write(u64),
    Cas {
        expected: u64,
        new: u64,
    },
    /// A conditional put that failed its condition: the value was not `expected`.
    CasFailed {
        expected: u64,
    },
    MaybeWrite(u64),
    MaybeCas {
        expected: u64,
        new: u64,
    },
}

/// A register whose state is the set of values it may hold (0: no item).
pub struct PossibleValues;

impl Specification for PossibleValues {
    type State = BTreeSet<u64>;
    type Operation = Op;

    fn init() -> Self::State {
        BTreeSet::from([0])
    }

    fn apply(op: &Op, state: &Self::State) -> (bool, Self::State) {
        match op {
            Op::Read(v) => (state.contains(v), BTreeSet::from([*v])),
            Op::Write(v) => (true, BTreeSet::from([*v])),
            Op::Cas { expected, new } => (state.contains(expected), BTreeSet::from([*new])),
            Op::CasFailed { expected } => {
                let rest: BTreeSet<u64> = state.iter().copied().filter(|v| v != expected).collect();
                (!rest.is_empty(), rest)
            }
            Op::MaybeWrite(v) => {
                let mut s = state.clone();
                s.insert(*v);
                (true, s)
            }
            Op::MaybeCas { expected, new } => {
                let mut s = state.clone();
                if state.contains(expected) {
                    s.insert(*new);
                }
                (true, s)
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct KeyReport {
    pub ops: usize,
    pub linearizable: bool,
    /// Acknowledged writes that the final read shows were lost.
    pub lost: Vec<u64>,
}

#[derive(Debug, Default)]
pub struct Report {
    pub keys: BTreeMap<String, KeyReport>,
    pub ok: usize,
    pub failed: usize,
    pub indeterminate: usize,
}

impl Report {
    pub fn violations(&self) -> usize {
        self.keys.values().filter(|k| !k.linearizable).count()
    }

    pub fn lost(&self) -> usize {
        self.keys.values().map(|k| k.lost.len()).sum()
    }
}

struct Completed {
    invoke: Event,
    done: Option<Event>,
}

/// Pairs each invocation with its completion (None: the history ended first = unknown).
fn complete(events: &[Event]) -> Result<Vec<Completed>, String> {
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut retired: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    let mut out: Vec<Completed> = Vec::new();
    for e in events {
        match e.kind {
            EventType::Invoke => {
                // The checker pairs calls and returns per process in order, so a process whose
                // operation has an unknown outcome must never be used again.
                if retired.contains(&e.process) {
                    return Err(format!("process {} was reused after an info completion", e.process));
                }
                if open.insert(e.process, out.len()).is_some() {
                    return Err(format!("process {} invoked twice without completing", e.process));
                }
                out.push(Completed {
                    invoke: e.clone(),
                    done: None,
                });
            }
            _ => {
                let i = open
                    .remove(&e.process)
                    .ok_or_else(|| format!("process {} completed an operation it never invoked", e.process))?;
                if e.kind == EventType::Info {
                    retired.insert(e.process);
                }
                out[i].done = Some(e.clone());
            }
        }
    }
    Ok(out)
}

/// Checks one key's operations (already paired, in invocation order).
fn check_key(ops: &[&Completed]) -> KeyReport {
    // (time, sort order, process, action): responses of unknown operations go last.
    let mut actions: Vec<(u64, u8, usize, Action<Op>)> = Vec::new();
    let mut processes: BTreeMap<u64, usize> = BTreeMap::new();
    let end = u64::MAX;
    let mut count = 0;
    for c in ops {
        let inv = &c.invoke;
        let kind = c.done.as_ref().map_or(EventType::Info, |d| d.kind);
        let op = match (inv.f, kind) {
            (Function::Read, EventType::Ok) => c.done.as_ref().and_then(|d| d.value).map(Op::Read),
            (Function::Write, EventType::Ok) => inv.value.map(Op::Write),
            (Function::Write, EventType::Info) => inv.value.map(Op::MaybeWrite),
            (Function::Cas, EventType::Ok) => inv
                .value
                .zip(inv.expected)
                .map(|(new, expected)| Op::Cas { expected, new }),
            (Function::Cas, EventType::Fail) => {
                let condition = c.done.as_ref().and_then(|d| d.error.as_deref()) == Some("ConditionalCheckFailed");
                inv.expected
                    .filter(|_| condition)
                    .map(|expected| Op::CasFailed { expected })
            }
            (Function::Cas, EventType::Info) => inv
                .value
                .zip(inv.expected)
                .map(|(new, expected)| Op::MaybeCas { expected, new }),
            // Failed plain operations and unknown reads carry no information.
            _ => None,
        };
        let Some(op) = op else { continue };
        count += 1;
        let next = processes.len();
        let p = *processes.entry(inv.process).or_insert(next);
        actions.push((inv.time, 0, p, Action::Call(op.clone())));
        let done_at = match (&c.done, kind) {
            (Some(d), EventType::Ok | EventType::Fail) => d.time,
            _ => end,
        };
        actions.push((done_at, 1, p, Action::Response(op)));
    }
    if actions.is_empty() {
        return KeyReport {
            ops: 0,
            linearizable: true,
            lost: Vec::new(),
        };
    }
    // At equal times a call sorts before a response (the conservative reading: concurrent).
    actions.sort_by_key(|(t, order, _, _)| (*t, *order));
    let history = History::from_actions(actions.into_iter().map(|(_, _, p, a)| (p, a)).collect());
    KeyReport {
        ops: count,
        linearizable: WGLChecker::<PossibleValues>::is_linearizable(history),
        lost: lost_writes(ops),
    }
}

/// Acknowledged writes that the key's last successful read contradicts: it returned a value
/// written by an operation that completed before the acknowledged write was even invoked
/// (or no item at all), so the acknowledged write is gone.
fn lost_writes(ops: &[&Completed]) -> Vec<u64> {
    let ok = |c: &&&Completed| c.done.as_ref().is_some_and(|d| d.kind == EventType::Ok);
    let Some(last_read) = ops
        .iter()
        .filter(ok)
        .filter(|c| c.invoke.f == Function::Read)
        .max_by_key(|c| c.invoke.time)
    else {
        return Vec::new();
    };
    let Some(seen) = last_read.done.as_ref().and_then(|d| d.value) else {
        return Vec::new();
    };
    // When the value seen was written: its writer's completion (unknown ones: the end).
    // (i128: the initial "no item" was written before time 0.)
    let seen_written_by: Option<i128> = if seen == 0 {
        Some(-1)
    } else {
        ops.iter()
            .filter(|c| c.invoke.f != Function::Read && c.invoke.value == Some(seen))
            .map(|c| c.done.as_ref().map_or(i128::MAX, |d| i128::from(d.time)))
            .min()
    };
    let Some(seen_at) = seen_written_by else {
        return Vec::new();
    };
    ops.iter()
        .filter(ok)
        .filter(|c| c.invoke.f != Function::Read)
        .filter(|c| {
            i128::from(c.invoke.time) > seen_at && c.done.as_ref().is_some_and(|d| d.time < last_read.invoke.time)
        })
        .filter_map(|c| c.invoke.value)
        .collect()
}

/// Checks a whole history.
pub fn check(events: &[Event]) -> Result<Report, String> {
    let completed = complete(events)?;
    let mut report = Report::default();
    let mut by_key: BTreeMap<&str, Vec<&Completed>> = BTreeMap::new();
    for c in &completed {
        match c.done.as_ref().map(|d| d.kind) {
            Some(EventType::Ok) => report.ok += 1,
            Some(EventType::Fail) => report.failed += 1,
            _ => report.indeterminate += 1,
        }
        by_key.entry(c.invoke.key.as_str()).or_default().push(c);
    }
    for (key, ops) in by_key {
        report.keys.insert(key.to_string(), check_key(&ops));
    }
    Ok(report)
}
