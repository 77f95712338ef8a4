//! The on-disk store of compiled modules. `Module::deserialize_file` runs
//! whatever native code a file holds, so the store is guarded:
//! - it lives in a per-user directory, created 0700 and refused unless owned
//!   by us and writable by nobody else (checked whenever it is opened);
//! - `<wasm sha256>.cwasm` is wasmtime's own serialized module, written to a
//!   private temp file, read back and checked against the SHA-256 of what was
//!   written, then renamed into place; `<wasm sha256>.meta` records that hash
//!   with the file's fingerprint (device, inode, size, mtime, ctime);
//! - a hit maps the file (no read, no hash: a 250 MB interpreter loads in
//!   milliseconds) only if it is still a private regular file with exactly
//!   that fingerprint. Any write to it moves its ctime, which nobody can set;
//! - a guest writes as the host user, so the records themselves could be
//!   rewritten by anything that writes as that user: each record (`.meta`,
//!   `.fp`) carries an HMAC-SHA256 under a per-user key kept outside the
//!   cache root (mac.rs). A record whose MAC fails is refused, the module
//!   recompiled. Grants that overlap the cache root or the key directory are
//!   refused (settings.rs, protect.rs), so no guest reaches either.

use super::fingerprint::Fingerprint;
use super::mac::{cache_key, sign, verified, Key};
pub use crate::key::{hex, Hash};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

/// The per-user cache directory: explicit, else $MIMOBOX_CACHE_DIR, else
/// $XDG_CACHE_HOME/mimobox, else ~/.cache/mimobox (Windows:
/// %LOCALAPPDATA%\mimobox\cache). Never a shared temp dir.
pub fn default_cache_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(dir) = non_empty("MIMOBOX_CACHE_DIR") {
        return Some(dir);
    }
    if cfg!(windows) {
        return non_empty("LOCALAPPDATA").map(|d| d.join("mimobox").join("cache"));
    }
    if let Some(dir) = non_empty("XDG_CACHE_HOME") {
        return Some(dir.join("mimobox"));
    }
    non_empty("HOME").map(|h| h.join(".cache").join("mimobox"))
}

pub use super::private::{check_private_dir, ensure_private_dir, unsafe_owner_or_mode};
#[cfg(unix)]
use super::private::current_uid;

/// The verified directory for one engine's artefacts (`compat_tag` says
/// which wasmtime version and settings), or why the disk cache is off.
pub fn artefact_dir(root: &Path, compat_tag: &str) -> Result<PathBuf, String> {
    ensure_private_dir(root)?;
    let dir = root.join(compat_tag);
    ensure_private_dir(&dir)?;
    // No key, no cache: an unsigned record could have been written by anyone.
    super::mac::cache_key()?;
    Ok(dir)
}

/// A regular file (not a link) that only we can write.
fn private_file(meta: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.file_type().is_file() && meta.uid() == current_uid() && meta.mode() & 0o022 == 0
    }
    #[cfg(not(unix))]
    {
        meta.file_type().is_file()
    }
}

fn read_private(path: &Path, max: u64) -> Option<Vec<u8>> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !private_file(&meta) || meta.len() > max {
        return None;
    }
    fs::read(path).ok()
}

/// Writes `chunks` to a private temp file in `dir` and renames it to `path`.
fn write_atomically(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".tmp-{}-{n}-{name}", std::process::id()));
    let result = (|| {
        let mut f = super::private::create_private_file(&tmp)?;
        // Large writes in 8 MiB pieces: no second copy of the payload.
        for chunk in data.chunks(8 << 20) {
            f.write_all(chunk)?;
        }
        f.sync_data()?;
        drop(f);
        check_written(&tmp, data)?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads a just-written file back and compares its SHA-256 with the data's.
fn check_written(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    if hasher.finalize().as_slice() != Sha256::digest(data).as_slice() {
        return Err(std::io::Error::other("the artefact read back differs from what was written"));
    }
    Ok(())
}

/// Version 3: records end with an HMAC (mac.rs); older, unsigned records
/// are not trusted and their artefacts are recompiled.
const META_MAGIC: &[u8; 8] = b"MIMOBXM3";
const INDEX_MAGIC: &[u8; 8] = b"MIMOBXF3";

pub(crate) fn cwasm_path(dir: &Path, wasm: &Hash) -> PathBuf {
    dir.join(format!("{}.cwasm", hex(wasm)))
}

pub(crate) fn meta_path(dir: &Path, wasm: &Hash) -> PathBuf {
    dir.join(format!("{}.meta", hex(wasm)))
}

/// meta = MAGIC | wasm sha256 | artefact sha256 | inline_ok | artefact fingerprint | HMAC.
fn encode_meta(key: &Key, wasm: &Hash, artefact: &Hash, inline_ok: bool, fp: &Fingerprint) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(META_MAGIC);
    out.extend_from_slice(wasm);
    out.extend_from_slice(artefact);
    out.push(u8::from(inline_ok));
    out.extend_from_slice(&fp.to_bytes());
    sign(key, out)
}

/// Stores a compiled module; returns the path to map it from.
pub fn store(dir: &Path, wasm: &Hash, compiled: &[u8], inline_ok: bool) -> std::io::Result<PathBuf> {
    let key = cache_key().map_err(std::io::Error::other)?;
    let path = cwasm_path(dir, wasm);
    write_atomically(dir, &path, compiled)?;
    let fp = Fingerprint::of(path.clone(), &fs::symlink_metadata(&path)?);
    let digest: Hash = Sha256::digest(compiled).into();
    write_atomically(dir, &meta_path(dir, wasm), &encode_meta(key, wasm, &digest, inline_ok, &fp))?;
    Ok(path)
}

/// Removes an artefact and its record.
pub fn remove(dir: &Path, wasm: &Hash) {
    let _ = fs::remove_file(cwasm_path(dir, wasm));
    let _ = fs::remove_file(meta_path(dir, wasm));
}

/// A stored artefact: absent (None), unusable (Err, with why), or the module
/// and its inline flag. An unusable pair is left in place: without the
/// module's compile lock it may be another process's write in progress (its
/// `.cwasm` renamed in, its record not yet); the lock holder removes it.
pub fn open(engine: &Engine, dir: &Path, wasm: &Hash) -> Option<Result<(Module, bool), String>> {
    let meta_file = meta_path(dir, wasm);
    let path = cwasm_path(dir, wasm);
    if !meta_file.exists() && !path.exists() {
        return None;
    }
    Some(open_checked(engine, &meta_file, &path, wasm))
}

fn open_checked(engine: &Engine, meta_file: &Path, path: &Path, wasm: &Hash) -> Result<(Module, bool), String> {
    let key = cache_key()?;
    let record = read_private(meta_file, 1 << 16).ok_or("its record is missing or not a private file")?;
    let meta = verified(key, &record).ok_or("its record is not signed by this user's cache key (forged, corrupt, or from an older version)")?;
    if meta.len() < 73 || &meta[..8] != META_MAGIC {
        return Err("its record is not a mimobox artefact record".into());
    }
    if &meta[8..40] != wasm {
        return Err("its record belongs to another module".into());
    }
    let inline_ok = meta[72] == 1;
    // The file is judged by the descriptor that will be mapped: a rename
    // between the check and the map cannot swap another file in.
    let file = fs::File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let file_meta = file.metadata().map_err(|e| format!("cannot stat it: {e}"))?;
    let link_meta = fs::symlink_metadata(path).map_err(|e| format!("cannot stat it: {e}"))?;
    if !private_file(&file_meta) || !link_meta.file_type().is_file() {
        return Err("it is not a private regular file".into());
    }
    if Fingerprint::of(path.to_path_buf(), &file_meta).to_bytes() != meta[73..] {
        return Err("it changed since it was written and checked: replaced, corrupt or truncated".into());
    }
    // SAFETY: `deserialize_open_file` trusts the file to be wasmtime's own
    // output. Its record is signed with this user's key, kept outside the
    // cache root where no grant may reach (mac.rs, protect.rs), so the record
    // was written by mimobox right after it wrote the artefact and checked
    // its SHA-256. The open descriptor is a private regular file with exactly
    // the recorded fingerprint (inode, size, mtime, and ctime, which no user
    // can set), so its contents are what we serialized, unless someone with
    // the host user's rights writes into it while it is mapped: no guest can
    // (no grant overlaps the cache root), and host code can do worse anyway.
    // wasmtime also checks its version and settings.
    let module = unsafe { Module::deserialize_open_file(engine, file) }.map_err(|e| format!("{e:#}"))?;
    Ok((module, inline_ok))
}

fn index_path(dir: &Path, fp: &Fingerprint) -> PathBuf {
    dir.join(format!("{}.fp", &hex(&Sha256::digest(fp.to_bytes()))[..40]))
}

/// The wasm hash recorded for a module file with this fingerprint, if any.
pub fn indexed_hash(dir: &Path, fp: &Fingerprint) -> Option<Hash> {
    let record = read_private(&index_path(dir, fp), 1 << 16)?;
    let bytes = verified(cache_key().ok()?, &record)?;
    let key = fp.to_bytes();
    let rest = bytes.strip_prefix(INDEX_MAGIC)?.strip_prefix(key.as_slice())?;
    Hash::try_from(rest).ok()
}

/// Records which wasm hash a module file with this fingerprint has, so a new
/// process finds its artefact without reading and hashing the file. Only for
/// files unchanged for a while: timestamps are coarse (a clock tick), so two
/// writes within one tick could otherwise share a fingerprint.
pub fn index_hash(dir: &Path, fp: &Fingerprint, wasm: &Hash) {
    const SETTLED_NS: i128 = 2_000_000_000;
    if fp.age_ns() < SETTLED_NS {
        return;
    }
    let Ok(key) = cache_key() else { return };
    let mut data = INDEX_MAGIC.to_vec();
    data.extend_from_slice(&fp.to_bytes());
    data.extend_from_slice(wasm);
    let _ = write_atomically(dir, &index_path(dir, fp), &sign(key, data));
}

/// Held while one process compiles one module: another process wanting the
/// same module waits, then maps the artefact instead of compiling it again
/// (a 100 MB module peaks at ~2 GiB while compiling).
pub struct CompileLock {
    _file: Option<fs::File>,
}

fn lock_file(dir: &Path, wasm: &Hash) -> Option<fs::File> {
    let path = dir.join(format!("{}.lock", hex(wasm)));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).ok()
}

/// Waits for the module's compile lock (std's `File::lock`: flock on Unix,
/// LockFileEx on Windows, so every OS has one cross-process compile).
/// Without a lock file (an unwritable directory) it goes on unlocked.
pub fn lock(dir: &Path, wasm: &Hash) -> CompileLock {
    let file = lock_file(dir, wasm);
    if let Some(f) = &file {
        // A signal can wake a blocked lock (EINTR) without it: wait again.
        while f.lock().is_err_and(|e| e.kind() == std::io::ErrorKind::Interrupted) {}
    }
    CompileLock { _file: file }
}

/// The module's compile lock if no one holds it now (eviction skips
/// artefacts another process is compiling).
pub fn try_lock(dir: &Path, wasm: &Hash) -> Option<CompileLock> {
    let file = lock_file(dir, wasm)?;
    file.try_lock().ok()?;
    Some(CompileLock { _file: Some(file) })
}

/// Whether a file in an artefact directory is one of ours.
fn ours(name: &str) -> bool {
    name.starts_with(".tmp-") || [".cwasm", ".meta", ".fp", ".lock"].iter().any(|ext| name.ends_with(ext))
}

/// Removes every artefact with its record, lock and index entries under
/// `root` (nothing else); returns how many compiled modules went.
pub fn clear(root: &Path) -> std::io::Result<u64> {
    let mut modules = 0;
    if !root.exists() {
        return Ok(0);
    }
    for sub in fs::read_dir(root)? {
        let sub = sub?.path();
        if sub.is_dir() && sub.file_name().is_some_and(|n| n.to_string_lossy().starts_with("wasmtime-")) {
            for f in fs::read_dir(&sub)? {
                let f = f?.path();
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if ours(&name) && fs::symlink_metadata(&f).is_ok_and(|m| !m.is_dir()) {
                    fs::remove_file(&f)?;
                    modules += u64::from(name.ends_with(".cwasm"));
                }
            }
            let _ = fs::remove_dir(&sub);
        }
    }
    Ok(modules)
}
