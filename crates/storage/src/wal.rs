//! The Raft logs of every group a node hosts, in one write-ahead log: an append is one
//! `write`, and one `fdatasync` makes every group's appends durable (group commit).
//!
//! Why not sled, which holds everything else: sled keeps 16 keys per leaf and rewrites a leaf
//! every few changes to it, so a log of multi-KB entries was written several times over, and
//! every Raft round paid a full sled flush (which wakes all of sled's I/O threads). The state
//! machines stay in sled, flushed in the background and before a log purge: anything applied
//! but not yet flushed there is applied again from this log after a crash.
//!
//! Files: `DIR/<id>.wal` (id: 16 hex digits), written in id order; the newest is the active
//! one. A segment is closed (synced) at [`SEGMENT_BYTES`] and a new one started.
//! Record: `len u32 ‖ crc32 u32 ‖ kind u8 ‖ group u64 ‖ index u64 ‖ payload`, little-endian;
//! `len` and the CRC cover `kind..payload`. Kinds: an entry (`payload` = its bytes), a
//! truncation (removes the group's entries with index >= `index`), a purge (removes those
//! with index <= `index`). Opening replays the records in order into an in-memory index;
//! a torn record at the end of the last segment (a crash mid-write) is cut off.
//!
//! Segments go oldest first, once no entry in them is live; beyond [`SEGMENTS_MAX`]
//! segments of a log mostly dead, the oldest one's live entries (a group that went quiet)
//! are copied forward first. Only the oldest segment is ever removed, the log is
//! synced before and the directory after each removal, so a truncation or purge record is
//! never lost while an entry it removed is still on disk.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tessera_model::{Error, Result};

/// Size at which the active segment is closed and a new one started.
pub const SEGMENT_BYTES: u64 = 32 * 1024 * 1024;
/// Segments kept before the oldest one's live entries may be copied forward so it can go.
const SEGMENTS_MAX: usize = 16;
/// Bytes of a record before its payload.
const HEADER: usize = 4 + 4 + 1 + 8 + 8;
/// Largest record accepted when reading (guards against a damaged length).
const RECORD_BYTES_MAX: usize = 1 << 30;

const KIND_ENTRY: u8 = 1;
const KIND_TRUNCATE: u8 = 2;
const KIND_PURGE: u8 = 3;

fn io_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("raft log: {what}: {e}"))
}

/// Where an entry's bytes are.
#[derive(Clone, Copy, Debug)]
struct Loc {
    segment: u64,
    /// Offset of the payload in the segment.
    offset: u64,
    len: u32,
}

struct Segment {
    file: Arc<File>,
    /// Entries in this segment that are still in the index, and their bytes (records).
    live: usize,
    live_bytes: u64,
    /// Bytes written to the segment.
    len: u64,
}

impl Segment {
    fn new(file: File, len: u64) -> Segment {
        Segment {
            file: Arc::new(file),
            live: 0,
            live_bytes: 0,
            len,
        }
    }
}

struct Inner {
    dir: PathBuf,
    segment_bytes: u64,
    segments: BTreeMap<u64, Segment>,
    active: u64,
    groups: HashMap<u64, BTreeMap<u64, Loc>>,
    /// Set when a write failed part way: a partial record may sit mid-segment, so nothing
    /// more is written until the log is opened again (which cuts it off). Also set by a
    /// failed sync or removal.
    broken: bool,
    /// The log's sync turn ([`Wal::syncing`]); taken after `inner`, never before.
    syncing: Arc<Mutex<bool>>,
}

pub struct Wal {
    inner: Mutex<Inner>,
    /// Held around every sync, and true once one failed: Linux reports a failed write-back
    /// to one of the syncs running at the time, so syncs take turns, and a failure is
    /// recorded before the next one's turn.
    syncing: Arc<Mutex<bool>>,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:016x}.wal"))
}

fn segment_id(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".wal")?;
    (hex.len() == 16).then(|| u64::from_str_radix(hex, 16).ok()).flatten()
}

fn encode_record(out: &mut Vec<u8>, kind: u8, group: u64, index: u64, payload: &[u8]) {
    let body_len = 1 + 8 + 8 + payload.len();
    let start = out.len();
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.push(kind);
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// One record read back: kind, group, index, payload offset within the buffer, payload length.
struct Record {
    kind: u8,
    group: u64,
    index: u64,
    payload_at: usize,
    payload_len: usize,
    /// Offset just past the record.
    end: usize,
}

/// The record at `at`, or None if what is there is not a whole, intact record.
fn decode_record(buf: &[u8], at: usize) -> Option<Record> {
    let header = buf.get(at..at.checked_add(HEADER)?)?;
    let body_len = u32::from_le_bytes(header[0..4].try_into().ok()?) as usize;
    if !(17..=RECORD_BYTES_MAX).contains(&body_len) {
        return None;
    }
    let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
    let body = buf.get(at + 8..at + 8 + body_len)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let kind = body[0];
    if !(KIND_ENTRY..=KIND_PURGE).contains(&kind) {
        return None;
    }
    Some(Record {
        kind,
        group: u64::from_le_bytes(body[1..9].try_into().ok()?),
        index: u64::from_le_bytes(body[9..17].try_into().ok()?),
        payload_at: at + HEADER,
        payload_len: body_len - 17,
        end: at + 8 + body_len,
    })
}

fn open_segment(path: &Path, create: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .open(path)
        .map_err(|e| io_error(&format!("open {}", path.display()), e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("sync the log directory", e))
}

impl Inner {
    fn remember(&mut self, group: u64, index: u64, loc: Loc) {
        if let Some(old) = self.groups.entry(group).or_default().insert(index, loc) {
            self.forget(old);
        }
        if let Some(s) = self.segments.get_mut(&loc.segment) {
            s.live += 1;
            s.live_bytes += HEADER as u64 + u64::from(loc.len);
        }
    }

    fn forget(&mut self, loc: Loc) {
        if let Some(s) = self.segments.get_mut(&loc.segment) {
            s.live = s.live.saturating_sub(1);
            s.live_bytes = s.live_bytes.saturating_sub(HEADER as u64 + u64::from(loc.len));
        }
    }

    fn truncate_index(&mut self, group: u64, from: u64) {
        let Some(entries) = self.groups.get_mut(&group) else {
            return;
        };
        let removed = entries.split_off(&from);
        if entries.is_empty() {
            self.groups.remove(&group);
        }
        for loc in removed.into_values() {
            self.forget(loc);
        }
    }

    fn purge_index(&mut self, group: u64, upto: u64) {
        let Some(entries) = self.groups.get_mut(&group) else {
            return;
        };
        let kept = match upto.checked_add(1) {
            Some(from) => entries.split_off(&from),
            None => BTreeMap::new(),
        };
        let removed = std::mem::replace(entries, kept);
        if entries.is_empty() {
            self.groups.remove(&group);
        }
        for loc in removed.into_values() {
            self.forget(loc);
        }
    }

    fn active_file(&self) -> Result<&Arc<File>> {
        self.segment_file(self.active)
    }

    fn active_len(&self) -> u64 {
        self.segments.get(&self.active).map_or(0, |s| s.len)
    }

    /// Syncs the active segment; a failure breaks the log (the kernel may have dropped the
    /// unwritten pages, so a later sync's success would prove nothing).
    fn sync_active(&mut self, what: &str) -> Result<()> {
        let turn = self.syncing.clone();
        let mut failed = turn.lock().map_err(|_| Error::internal("raft log: lock poisoned"))?;
        let result = if *failed {
            Err(Error::internal("raft log: an earlier sync failed; restart the node"))
        } else {
            self.active_file()?.sync_data().map_err(|e| io_error(what, e))
        };
        if result.is_err() {
            *failed = true;
            self.broken = true;
        }
        result
    }

    fn segment_file(&self, id: u64) -> Result<&Arc<File>> {
        self.segments
            .get(&id)
            .map(|s| &s.file)
            .ok_or_else(|| Error::internal("raft log: no such segment"))
    }

    /// Appends encoded records to the active segment; returns the offset they start at.
    fn write(&mut self, bytes: &[u8]) -> Result<u64> {
        if self.broken {
            return Err(Error::internal("raft log: an earlier write failed; restart the node"));
        }
        let at = self.active_len();
        let result = self.active_file()?.as_ref().write_all(bytes);
        if let Err(e) = result {
            self.broken = true;
            return Err(io_error("write", e));
        }
        if let Some(s) = self.segments.get_mut(&self.active) {
            s.len += bytes.len() as u64;
        }
        Ok(at)
    }

    /// Closes the active segment once it is full: synced before the next one exists, so
    /// only the last segment can end in a torn record.
    fn rotate_if_full(&mut self) -> Result<()> {
        if self.active_len() < self.segment_bytes {
            return Ok(());
        }
        self.sync_active("sync a full segment")?;
        let id = self.active + 1;
        let file = open_segment(&segment_path(&self.dir, id), true)?;
        sync_dir(&self.dir)?;
        self.segments.insert(id, Segment::new(file, 0));
        self.active = id;
        Ok(())
    }

    /// Removes the oldest segments while none of their entries is live. Once more than
    /// [`SEGMENTS_MAX`] segments are kept and at most half of the log is live, the oldest
    /// segment's live entries (a group that went quiet) are copied forward first, one segment
    /// per call: each copy shrinks the log, so copying never chases its own tail, and a log
    /// mostly live (busy groups between purges) is left alone.
    fn collect_garbage(&mut self) -> Result<()> {
        // The records that made a segment's entries dead must be durable before it goes:
        // otherwise a crash could bring back later entries a lost truncation had removed,
        // behind a gap where the removed segment's were.
        let mut synced = false;
        let mut copied = false;
        loop {
            let Some((&oldest, segment)) = self.segments.first_key_value() else {
                return Ok(());
            };
            if oldest == self.active {
                return Ok(());
            }
            if segment.live > 0 {
                // Judged on the whole log: a mostly live oldest segment (a group that went
                // quiet after a burst) must not pin every dead segment behind it.
                let live: u64 = self.segments.values().map(|s| s.live_bytes).sum();
                let len: u64 = self.segments.values().map(|s| s.len).sum();
                let worth_copying = live.saturating_mul(2) <= len;
                if copied || self.segments.len() <= SEGMENTS_MAX || !worth_copying {
                    return Ok(());
                }
                self.copy_forward(oldest)?;
                copied = true;
                synced = true;
            }
            if !synced {
                self.sync_active("sync before removing a segment")?;
                synced = true;
            }
            if let Err(e) = std::fs::remove_file(segment_path(&self.dir, oldest)) {
                // Left on disk, its dead entries would come back on reopen once a newer
                // segment (with the records that removed them) is gone.
                self.broken = true;
                return Err(io_error("remove a segment", e));
            }
            self.segments.remove(&oldest);
            // Removals reach the disk in order: a later segment's removal must not outlive an
            // earlier one's undoing.
            if let Err(e) = sync_dir(&self.dir) {
                self.broken = true;
                return Err(e);
            }
        }
    }

    /// Writes the live entries of segment `id` again at the end of the log (durably) and
    /// points the index at the copies.
    fn copy_forward(&mut self, id: u64) -> Result<()> {
        let file = match self.segments.get(&id) {
            Some(s) => s.file.clone(),
            None => return Ok(()),
        };
        let mut moving: Vec<(u64, u64, Loc)> = Vec::new();
        for (&group, entries) in &self.groups {
            moving.extend(
                entries
                    .iter()
                    .filter(|(_, loc)| loc.segment == id)
                    .map(|(&index, &loc)| (group, index, loc)),
            );
        }
        for (group, index, loc) in moving {
            let payload = read_at(&file, loc)?;
            let mut record = Vec::with_capacity(HEADER + payload.len());
            encode_record(&mut record, KIND_ENTRY, group, index, &payload);
            let at = self.write(&record)?;
            let copy = Loc {
                segment: self.active,
                offset: at + HEADER as u64,
                len: loc.len,
            };
            self.remember(group, index, copy);
            self.rotate_if_full()?;
        }
        self.sync_active("sync copied entries")
    }
}

fn read_at(file: &File, loc: Loc) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; loc.len as usize];
    file.read_exact_at(&mut buf, loc.offset)
        .map_err(|e| io_error("read an entry", e))?;
    Ok(buf)
}

impl Wal {
    /// Opens (or creates) the log in `dir`, replaying what is there.
    pub fn open(dir: &Path) -> Result<Wal> {
        Wal::open_with(dir, SEGMENT_BYTES)
    }

    pub(crate) fn open_with(dir: &Path, segment_bytes: u64) -> Result<Wal> {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| io_error("create the log directory", e))?;
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
        }
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io_error("list the log directory", e))? {
            let entry = entry.map_err(|e| io_error("list the log directory", e))?;
            if let Some(id) = entry.file_name().to_str().and_then(segment_id) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut inner = Inner {
            dir: dir.to_path_buf(),
            segment_bytes,
            segments: BTreeMap::new(),
            active: 0,
            groups: HashMap::new(),
            broken: false,
            syncing: Arc::new(Mutex::new(false)),
        };
        for (n, &id) in ids.iter().enumerate() {
            let last = n + 1 == ids.len();
            let path = segment_path(dir, id);
            let bytes = std::fs::read(&path).map_err(|e| io_error(&format!("read {}", path.display()), e))?;
            let file = open_segment(&path, false)?;
            inner.segments.insert(id, Segment::new(file, bytes.len() as u64));
            let mut at = 0;
            while at < bytes.len() {
                let Some(r) = decode_record(&bytes, at) else { break };
                match r.kind {
                    KIND_ENTRY => inner.remember(
                        r.group,
                        r.index,
                        Loc {
                            segment: id,
                            offset: r.payload_at as u64,
                            len: r.payload_len as u32,
                        },
                    ),
                    KIND_TRUNCATE => inner.truncate_index(r.group, r.index),
                    _ => inner.purge_index(r.group, r.index),
                }
                at = r.end;
            }
            if at < bytes.len() {
                if !last {
                    // Closed segments were synced whole: damage there is not a crash's doing.
                    return Err(Error::internal(format!(
                        "raft log: {} is damaged at byte {at}",
                        path.display()
                    )));
                }
                tracing::warn!(segment = %path.display(), at, dropped = bytes.len() - at, "cutting off a torn record at the end of the raft log");
                let f = inner.segment_file(id)?;
                f.set_len(at as u64).map_err(|e| io_error("cut off a torn record", e))?;
                f.sync_data().map_err(|e| io_error("cut off a torn record", e))?;
                if let Some(s) = inner.segments.get_mut(&id) {
                    s.len = at as u64;
                }
            }
            inner.active = id;
        }
        if inner.segments.is_empty() {
            let id = 1;
            let file = open_segment(&segment_path(dir, id), true)?;
            sync_dir(dir)?;
            inner.segments.insert(id, Segment::new(file, 0));
            inner.active = id;
        }
        inner.rotate_if_full()?;
        inner.collect_garbage()?;
        Ok(Wal {
            syncing: inner.syncing.clone(),
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| Error::internal("raft log: lock poisoned"))
    }

    /// Appends a group's entries (index, bytes), in order, in one write. Durable after the
    /// next [`Wal::sync`].
    pub fn append(&self, group: u64, entries: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Result<()> {
        let mut buf = Vec::new();
        let mut placed = Vec::new();
        for (index, bytes) in entries {
            let at = buf.len();
            encode_record(&mut buf, KIND_ENTRY, group, index, &bytes);
            placed.push((index, at + HEADER, bytes.len() as u32));
        }
        if placed.is_empty() {
            return Ok(());
        }
        let mut inner = self.lock()?;
        let start = inner.write(&buf)?;
        let segment = inner.active;
        for (index, at, len) in placed {
            let loc = Loc {
                segment,
                offset: start + at as u64,
                len,
            };
            inner.remember(group, index, loc);
        }
        inner.rotate_if_full()
    }

    /// Makes everything written so far durable.
    pub fn sync(&self) -> Result<()> {
        // Earlier segments were synced when they were closed; the active one is synced
        // outside the log's lock so appends go on meanwhile.
        let file = {
            let inner = self.lock()?;
            if inner.broken {
                return Err(Error::internal(
                    "raft log: an earlier write or sync failed; restart the node",
                ));
            }
            inner.active_file()?.clone()
        };
        let result = {
            let mut failed = self
                .syncing
                .lock()
                .map_err(|_| Error::internal("raft log: lock poisoned"))?;
            if *failed {
                // A sync that took its turn before may have been told of our pages' loss.
                Err(Error::internal("raft log: an earlier sync failed; restart the node"))
            } else {
                let result = file.sync_data().map_err(|e| io_error("sync", e));
                // The kernel may have dropped the pages it could not write: a later sync's
                // success would prove nothing, so the log takes no more writes.
                *failed = result.is_err();
                result
            }
        };
        if result.is_err() {
            self.lock()?.broken = true;
        }
        result
    }

    /// Entries with `lo <= index < hi`, in order.
    pub fn entries(&self, group: u64, lo: u64, hi: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        if lo >= hi {
            return Ok(Vec::new());
        }
        let wanted: Vec<(u64, Loc, Arc<File>)> = {
            let inner = self.lock()?;
            let Some(entries) = inner.groups.get(&group) else {
                return Ok(Vec::new());
            };
            entries
                .range(lo..hi)
                .map(|(&index, &loc)| {
                    let file = inner
                        .segments
                        .get(&loc.segment)
                        .map(|s| s.file.clone())
                        .ok_or_else(|| Error::internal("raft log: an entry's segment is gone"))?;
                    Ok((index, loc, file))
                })
                .collect::<Result<_>>()?
        };
        // Read outside the lock: a segment removed meanwhile stays readable through its
        // open file.
        wanted
            .into_iter()
            .map(|(index, loc, file)| Ok((index, read_at(&file, loc)?)))
            .collect()
    }

    /// The group's last entry.
    pub fn last_entry(&self, group: u64) -> Result<Option<(u64, Vec<u8>)>> {
        let last = {
            let inner = self.lock()?;
            match inner.groups.get(&group).and_then(|e| e.last_key_value()) {
                Some((&index, &loc)) => Some((index, loc, inner.segment_file(loc.segment)?.clone())),
                None => None,
            }
        };
        last.map(|(index, loc, file)| Ok((index, read_at(&file, loc)?)))
            .transpose()
    }

    /// True when no group has an entry.
    #[cfg(test)]
    fn is_empty(&self) -> Result<bool> {
        Ok(self.lock()?.groups.is_empty())
    }

    fn record(&self, kind: u8, group: u64, index: u64) -> Result<()> {
        let mut buf = Vec::with_capacity(HEADER);
        encode_record(&mut buf, kind, group, index, &[]);
        let mut inner = self.lock()?;
        inner.write(&buf)?;
        match kind {
            KIND_TRUNCATE => inner.truncate_index(group, index),
            _ => inner.purge_index(group, index),
        }
        inner.rotate_if_full()?;
        inner.collect_garbage()
    }

    /// Removes the group's entries with index >= `from` (a conflicting suffix; `from` = 0:
    /// all of them).
    pub fn truncate_from(&self, group: u64, from: u64) -> Result<()> {
        self.record(KIND_TRUNCATE, group, from)
    }

    /// Removes the group's entries with index <= `upto` (covered by a snapshot).
    pub fn purge_upto(&self, group: u64, upto: u64) -> Result<()> {
        self.record(KIND_PURGE, group, upto)
    }

    /// Segment files on disk (for tests).
    #[cfg(test)]
    fn segment_ids(&self) -> Vec<u64> {
        self.inner
            .lock()
            .map(|i| i.segments.keys().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Group 9's entries are large: a quiet group's entries that fill their segment.
    fn entry(group: u64, index: u64) -> Vec<u8> {
        let times = if group == 9 { 40 } else { 3 };
        format!("g{group}-i{index}").into_bytes().repeat(times)
    }

    fn indexes(wal: &Wal, group: u64) -> Vec<u64> {
        wal.entries(group, 0, u64::MAX)
            .unwrap()
            .into_iter()
            .map(|(i, bytes)| {
                assert_eq!(bytes, entry(group, i));
                i
            })
            .collect()
    }

    /// Appends, truncations and purges of interleaved groups survive a reopen as they were.
    #[test]
    fn replays_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        {
            let wal = Wal::open(dir.path()).unwrap();
            assert!(wal.is_empty().unwrap());
            wal.append(1, (1..=5).map(|i| (i, entry(1, i)))).unwrap();
            wal.append(2, (1..=3).map(|i| (i, entry(2, i)))).unwrap();
            wal.truncate_from(1, 4).unwrap();
            // A new term's entries at the truncated indexes.
            wal.append(1, (4..=6).map(|i| (i, entry(1, i)))).unwrap();
            wal.purge_upto(2, 1).unwrap();
            wal.sync().unwrap();
            assert_eq!(indexes(&wal, 1), vec![1, 2, 3, 4, 5, 6]);
            assert_eq!(indexes(&wal, 2), vec![2, 3]);
        }
        let wal = Wal::open(dir.path()).unwrap();
        assert_eq!(indexes(&wal, 1), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(indexes(&wal, 2), vec![2, 3]);
        assert_eq!(wal.last_entry(1).unwrap(), Some((6, entry(1, 6))));
        assert_eq!(wal.entries(1, 2, 4).unwrap().len(), 2);
        wal.truncate_from(2, 0).unwrap();
        assert_eq!(wal.last_entry(2).unwrap(), None);
        drop(wal);
        let wal = Wal::open(dir.path()).unwrap();
        assert!(indexes(&wal, 2).is_empty());
        assert_eq!(indexes(&wal, 1).len(), 6);
    }

    /// A record cut short by a crash (or followed by garbage) is dropped with everything after
    /// it; the log stays writable and the cut is durable.
    #[test]
    fn a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        {
            let wal = Wal::open(dir.path()).unwrap();
            wal.append(7, (1..=3).map(|i| (i, entry(7, i)))).unwrap();
            wal.sync().unwrap();
        }
        let path = segment_path(dir.path(), 1);
        let whole = std::fs::read(&path).unwrap();
        for cut in [whole.len() - 1, whole.len() - 20, whole.len() - HEADER - 3] {
            std::fs::write(&path, &whole[..cut]).unwrap();
            let wal = Wal::open(dir.path()).unwrap();
            assert_eq!(indexes(&wal, 7), vec![1, 2]);
            drop(wal);
        }
        // A flipped byte in the last record fails its CRC.
        let mut damaged = whole.clone();
        let n = damaged.len();
        damaged[n - 2] ^= 0xff;
        std::fs::write(&path, &damaged).unwrap();
        let wal = Wal::open(dir.path()).unwrap();
        assert_eq!(indexes(&wal, 7), vec![1, 2]);
        wal.append(7, [(3, entry(7, 3))]).unwrap();
        drop(wal);
        let wal = Wal::open(dir.path()).unwrap();
        assert_eq!(indexes(&wal, 7), vec![1, 2, 3]);
    }

    /// Damage in a closed segment is an error, not a silently shorter log.
    #[test]
    fn damage_in_a_closed_segment_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let wal = Wal::open_with(dir.path(), 200).unwrap();
            for i in 1..=20 {
                wal.append(1, [(i, entry(1, i))]).unwrap();
            }
            assert!(wal.segment_ids().len() > 2);
        }
        let path = segment_path(dir.path(), 1);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER + 1] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = Wal::open_with(dir.path(), 200).err().unwrap();
        assert!(err.message.contains("damaged"), "{}", err.message);
    }

    /// Segments whose entries are all purged go; a quiet group's old entries, though they
    /// fill their segment, are copied forward so it can go too; and all of it survives a
    /// reopen.
    #[test]
    fn old_segments_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open_with(dir.path(), 400).unwrap();
        // A quiet group whose two entries fill the first segment.
        wal.append(9, [(1, entry(9, 1)), (2, entry(9, 2))]).unwrap();
        assert_eq!(wal.segment_ids(), vec![1, 2]);
        for i in 1..=200 {
            wal.append(1, [(i, entry(1, i))]).unwrap();
            if i % 10 == 0 {
                wal.purge_upto(1, i - 5).unwrap();
            }
        }
        let segments = wal.segment_ids();
        assert!(segments.len() <= SEGMENTS_MAX + 1, "{segments:?}");
        assert!(!segments.contains(&1), "{segments:?}");
        let on_disk = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(on_disk, segments.len());
        assert_eq!(indexes(&wal, 9), vec![1, 2]);
        assert_eq!(indexes(&wal, 1), (196..=200).collect::<Vec<_>>());
        drop(wal);
        let wal = Wal::open_with(dir.path(), 400).unwrap();
        assert_eq!(indexes(&wal, 9), vec![1, 2]);
        assert_eq!(indexes(&wal, 1), (196..=200).collect::<Vec<_>>());
    }

    /// A log that is mostly live (a busy group between purges) keeps its segments rather
    /// than copying them forward over and over, and stays whole across a reopen.
    #[test]
    fn live_segments_are_kept_not_copied() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open_with(dir.path(), 200).unwrap();
        for i in 1..=300 {
            // Two entries per write: purge records stay a small part of the log.
            wal.append(1, [(2 * i - 1, entry(1, 2 * i - 1)), (2 * i, entry(1, 2 * i))])
                .unwrap();
            // Purge records of another group make the log collect garbage again and again.
            wal.purge_upto(2, i).unwrap();
        }
        let segments = wal.segment_ids();
        assert!(segments.len() > SEGMENTS_MAX, "{segments:?}");
        assert_eq!(segments.first(), Some(&1));
        assert_eq!(indexes(&wal, 1), (1..=600).collect::<Vec<_>>());
        drop(wal);
        let wal = Wal::open_with(dir.path(), 200).unwrap();
        assert_eq!(indexes(&wal, 1), (1..=600).collect::<Vec<_>>());
        // Once purged, the segments go.
        wal.purge_upto(1, 599).unwrap();
        assert!(wal.segment_ids().len() <= 2, "{:?}", wal.segment_ids());
        assert_eq!(indexes(&wal, 1), vec![600]);
    }
}
