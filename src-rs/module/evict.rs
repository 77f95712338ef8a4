//! A bound on the compiled cache's size on disk (each distinct module costs
//! its artefact, ~40 MiB for an interpreter, and nothing was ever removed):
//! after each new artefact, the least recently used ones go until the root
//! is under `MIMOBOX_CACHE_MAX_MB` (default 2 GiB). "Used" is the record's
//! mtime, moved forward when a process maps the artefact (at most once an
//! hour per artefact, so a hit costs no write). An artefact another process
//! is compiling (its compile lock is held) is skipped; one that another
//! process has mapped survives removal (a mapped file outlives its name on
//! Unix; on Windows the removal fails and it stays).

use super::artefact::{cwasm_path, meta_path, try_lock, Hash};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The cache's size bound unless `MIMOBOX_CACHE_MAX_MB` says otherwise.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 2 << 30;
/// How stale a record's mtime may get before a hit moves it forward.
const TOUCH_EVERY: Duration = Duration::from_secs(3600);

/// The bound: $MIMOBOX_CACHE_MAX_MB (MiB, > 0), else 2 GiB.
pub fn cache_max_bytes() -> u64 {
    std::env::var("MIMOBOX_CACHE_MAX_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&mb| mb > 0)
        .map_or(DEFAULT_CACHE_MAX_BYTES, |mb| mb.saturating_mul(1 << 20))
}

/// Marks an artefact used (its record's mtime), if it was not marked lately.
pub fn touch(meta_file: &Path) {
    let stale = fs::symlink_metadata(meta_file)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > TOUCH_EVERY));
    if stale {
        // Opened for writing (never written): Windows sets times only through such a handle.
        let _ = fs::OpenOptions::new().write(true).open(meta_file).and_then(|f| f.set_modified(SystemTime::now()));
    }
}

struct Stored {
    dir: PathBuf,
    hash: Hash,
    bytes: u64,
    used: SystemTime,
}

fn parse_hash(stem: &str) -> Option<Hash> {
    if stem.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(stem.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Every artefact under `root` (in the engines' directories), with its size and last use.
fn stored(root: &Path) -> Vec<Stored> {
    let mut out = Vec::new();
    let Ok(subs) = fs::read_dir(root) else { return out };
    for sub in subs.flatten() {
        let dir = sub.path();
        if !sub.file_name().to_string_lossy().starts_with("wasmtime-") || !sub.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(files) = fs::read_dir(&dir) else { continue };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let Some(hash) = name.strip_suffix(".cwasm").and_then(parse_hash) else { continue };
            let Ok(meta) = f.metadata() else { continue };
            let used = fs::symlink_metadata(meta_path(&dir, &hash)).and_then(|m| m.modified()).or_else(|_| meta.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
            out.push(Stored { dir: dir.clone(), hash, bytes: meta.len(), used });
        }
    }
    out
}

/// Removes the least recently used artefacts under `root` (never `keep`,
/// never one whose compile lock is held) until it holds at most `max`
/// bytes of them. Returns how many went.
pub fn evict(root: &Path, keep: &Hash, max: u64) -> usize {
    let mut all = stored(root);
    let mut total: u64 = all.iter().map(|s| s.bytes).sum();
    if total <= max {
        return 0;
    }
    all.sort_by_key(|s| s.used);
    let mut removed = 0;
    for s in all {
        if total <= max {
            break;
        }
        if &s.hash == keep {
            continue;
        }
        // Held by a process compiling it: leave it.
        let Some(_lock) = try_lock(&s.dir, &s.hash) else { continue };
        if fs::remove_file(cwasm_path(&s.dir, &s.hash)).is_ok() {
            let _ = fs::remove_file(meta_path(&s.dir, &s.hash));
            total = total.saturating_sub(s.bytes);
            removed += 1;
        }
    }
    removed
}
