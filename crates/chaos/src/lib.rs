//! # tessera-chaos
//!
//! The chaos workload and its checker: `workload` drives concurrent strongly consistent
//! reads, puts and conditional puts through the routers and records a JSONL history
//! (`history`); `checker` verifies every key's history is linearizable and that no
//! acknowledged write is missing at the end. The fault injection itself lives in
//! `scripts/chaos/` (it kills, pauses and cuts off containers while this runs).

pub mod checker;
pub mod history;
pub mod workload;

use history::{Event, EventType};

/// What a run looked like from the client's side: how many operations succeeded, and the
/// longest time during which none did (the unavailability a fault caused).
#[derive(Debug, Default, serde::Serialize)]
pub struct Availability {
    pub ok: usize,
    pub completed: usize,
    pub longest_gap_secs: f64,
}

pub fn availability(events: &[Event]) -> Availability {
    let mut ok_times: Vec<u64> = events
        .iter()
        .filter(|e| e.kind == EventType::Ok)
        .map(|e| e.time)
        .collect();
    ok_times.sort_unstable();
    let completed = events.iter().filter(|e| e.kind != EventType::Invoke).count();
    let gap = ok_times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    Availability {
        ok: ok_times.len(),
        completed,
        longest_gap_secs: gap as f64 / 1e9,
    }
}
