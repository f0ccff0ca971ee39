//! The operation history a workload records: one JSON object per line, Jepsen-style. Every
//! operation is an `invoke` followed (same `process`) by exactly one completion:
//! - `ok`: it took effect (a read returns `value`);
//! - `fail`: it certainly did not take effect (a conditional put whose condition was false
//!   also says the key's value was not `expected` at that moment);
//! - `info`: unknown (a timeout, a 5xx, a lost connection): it may take effect at any time
//!   after its invocation, or never. A process that saw `info` never issues another operation;
//!   the worker continues as a new process.
//!
//! Values are u64s, unique per write; 0 stands for "no item".

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Invoke,
    Ok,
    Fail,
    Info,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Function {
    /// A strongly consistent GetItem.
    Read,
    /// An unconditional PutItem of `value`.
    Write,
    /// A PutItem of `value` with the condition "the key's value is `expected`".
    Cas,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub f: Function,
    pub key: String,
    /// Write/CAS: the value written. Read: the value read (on `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    /// CAS: the value the condition expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    /// Nanoseconds since the workload started (monotonic clock).
    pub time: u64,
    /// Why an operation failed or is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Parses a JSONL history (blank lines ignored).
pub fn parse(text: &str) -> Result<Vec<Event>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("history line {}: {e}", i + 1)))
        .collect()
}
