//! This machine's storage ceilings, measured the way Tessera uses storage, so benchmark
//! figures can be read as a fraction of what the disk and sled allow: sled puts and gets of
//! ~1 KB items, sled puts each made durable alone (one flush per put: the rate a server without
//! group commit could reach), and raw fsyncs of a small file write.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use tessera_model::{Error, Result};

use crate::sled_error;

/// Bytes of each value (a YCSB record's size).
const VALUE_BYTES: usize = 1000;
/// Bytes written before each raw fsync.
const FSYNC_WRITE_BYTES: usize = 4096;

#[derive(Clone, Debug, Serialize)]
pub struct StorageFloor {
    pub sled_puts_per_sec: f64,
    pub sled_gets_per_sec: f64,
    pub sled_durable_puts_per_sec: f64,
    pub fsyncs_per_sec: f64,
}

/// Runs each loop for about `each` in a fresh directory under `dir` (removed afterwards).
pub fn measure(dir: &Path, each: Duration) -> Result<StorageFloor> {
    let io = |e: std::io::Error| Error::internal(format!("storage floor: {e}"));
    let scratch = tempfile_dir(dir).map_err(io)?;
    let db = sled::Config::new()
        .path(scratch.join("sled"))
        .open()
        .map_err(sled_error)?;
    let tree = db.open_tree("floor").map_err(sled_error)?;
    let value = vec![0x5au8; VALUE_BYTES];

    let key = |i: u64| i.to_be_bytes();
    let (puts, t) = timed(each, |i| {
        tree.insert(key(i), &value[..]).map(|_| ()).map_err(sled_error)
    })?;
    let sled_puts_per_sec = puts as f64 / t;
    let (get_ops, t) = timed(each, |i| tree.get(key(i % puts.max(1))).map(|_| ()).map_err(sled_error))?;
    let sled_gets_per_sec = get_ops as f64 / t;
    let (durable, t) = timed(each, |i| {
        tree.insert(key(puts + i), &value[..]).map_err(sled_error)?;
        db.flush().map(|_| ()).map_err(sled_error)
    })?;
    let sled_durable_puts_per_sec = durable as f64 / t;
    drop(tree);
    drop(db);

    let mut file = std::fs::File::create(scratch.join("fsync")).map_err(io)?;
    let block = vec![0u8; FSYNC_WRITE_BYTES];
    let (syncs, t) = timed(each, |_| {
        file.write_all(&block).map_err(io)?;
        file.sync_data().map_err(io)
    })?;
    let fsyncs_per_sec = syncs as f64 / t;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(StorageFloor {
        sled_puts_per_sec,
        sled_gets_per_sec,
        sled_durable_puts_per_sec,
        fsyncs_per_sec,
    })
}

fn tempfile_dir(dir: &Path) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join(format!("tessera-floor-{}", std::process::id()));
    std::fs::create_dir_all(&path)?;
    Ok(path)
}

/// Calls `f(0), f(1), ...` for about `each`; returns the calls made and the seconds taken.
fn timed(each: Duration, mut f: impl FnMut(u64) -> Result<()>) -> Result<(u64, f64)> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < each || n == 0 {
        // Check the clock every 64 calls: cheap loops would otherwise measure `Instant::now`.
        for _ in 0..64 {
            f(n)?;
            n += 1;
        }
    }
    Ok((n, start.elapsed().as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_every_ceiling() {
        let dir = tempfile::tempdir().unwrap();
        let floor = measure(dir.path(), Duration::from_millis(50)).unwrap();
        assert!(floor.sled_puts_per_sec > 0.0);
        assert!(floor.sled_gets_per_sec > 0.0);
        assert!(floor.sled_durable_puts_per_sec > 0.0);
        assert!(floor.fsyncs_per_sec > 0.0);
        // The scratch directory is gone.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
