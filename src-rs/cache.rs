//! Finding a runnable module: in-memory map → file fingerprint → on-disk
//! `.cwasm` cache → compile. The disk cache is a code-execution risk
//! (`Module::deserialize` runs whatever native code a file holds), so it
//! lives in a per-user 0700 directory we verify, and every artefact carries
//! the SHA-256 of its wasm and of itself, checked before deserializing.

use crate::engine::SharedEngine;
use crate::error::{ErrorCode, SandboxError, SbResult};
use crate::run::StoreState;
use crate::settings::MAX_MODULE_BYTES;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use wasmtime::{InstancePre, Module};

pub type Hash = [u8; 32];

/// Compiled modules kept in memory per engine, so hot executes skip disk.
pub type ModuleMap = Mutex<HashMap<Hash, LoadedModule>>;
/// Bound on modules kept in memory per engine.
const MAX_MODULES_IN_MEMORY: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Start,
    /// `main` with this many i32 parameters (0, or 2 for argc/argv).
    Main { params: usize },
}

#[derive(Clone)]
pub struct LoadedModule {
    pub pre: InstancePre<StoreState>,
    pub entry: Entry,
    pub hash: Hash,
    /// How its inline starts went; None when it may not start inline
    /// (see `inline::allows_inline`).
    pub inline: Option<Arc<crate::inline::InlineHistory>>,
}

/// Everything about a file that changes when its contents may have changed.
/// (size, mtime) alone is not enough: files unpacked from an archive share
/// both. The path is the absolute path as given (not symlink-resolved); the
/// device and inode identify the file itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl Fingerprint {
    pub fn of(path: PathBuf, meta: &fs::Metadata) -> Fingerprint {
        Fingerprint {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        }
    }
}

fn fingerprints() -> &'static Mutex<HashMap<Fingerprint, Hash>> {
    static MAP: OnceLock<Mutex<HashMap<Fingerprint, Hash>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where compiled modules go and whether the disk cache may be used.
pub struct CachePolicy<'a> {
    pub enabled: bool,
    pub dir: Option<&'a Path>,
}

/// The per-user cache directory: explicit, else $MIMOBOX_CACHE_DIR, else
/// $XDG_CACHE_HOME/mimobox, else ~/.cache/mimobox. Never a shared temp dir.
pub fn default_cache_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty("MIMOBOX_CACHE_DIR").filter(|p| p.is_absolute()) {
        return Some(dir);
    }
    if let Some(dir) = non_empty("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(dir.join("mimobox"));
    }
    non_empty("HOME").filter(|p| p.is_absolute()).map(|h| h.join(".cache").join("mimobox"))
}

fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// A directory we may trust for native code: owned by us, not writable by
/// group or others. Returns why not, when not.
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    let meta = fs::metadata(dir).map_err(|e| format!("cannot stat {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if meta.uid() != current_uid() {
        return Err(format!("{} is owned by uid {}, not by us (uid {})", dir.display(), meta.uid(), current_uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("{} is writable by group or others (mode {:o})", dir.display(), meta.mode() & 0o777));
    }
    Ok(())
}

fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // The mode above is filtered by the umask; make the leaf exactly 0700.
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    }
    check_private_dir(dir)
}

/// The verified directory for this engine's artefacts, or why the disk cache is off.
pub fn artefact_dir(root: &Path, engine: &SharedEngine) -> Result<PathBuf, String> {
    ensure_private_dir(root)?;
    let dir = root.join(&engine.compat_tag);
    ensure_private_dir(&dir)?;
    Ok(dir)
}

const MAGIC: &[u8; 8] = b"MIMOBOXC";
const HEADER_LEN: usize = 8 + 32 + 32;

/// Artefact file: MAGIC | sha256(wasm) | sha256(payload) | payload.
pub fn encode_artefact(wasm_hash: &Hash, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(wasm_hash);
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of an artefact, if it is intact and belongs to `wasm_hash`.
pub fn decode_artefact<'a>(wasm_hash: &Hash, file: &'a [u8]) -> Result<&'a [u8], &'static str> {
    if file.len() < HEADER_LEN || &file[..8] != MAGIC {
        return Err("not a mimobox artefact");
    }
    if &file[8..40] != wasm_hash {
        return Err("artefact belongs to another module");
    }
    let payload = &file[HEADER_LEN..];
    if Sha256::digest(payload).as_slice() != &file[40..72] {
        return Err("artefact is corrupt or truncated");
    }
    Ok(payload)
}

fn private_file_ok(meta: &fs::Metadata) -> bool {
    meta.is_file() && meta.uid() == current_uid() && meta.mode() & 0o022 == 0
}

/// Tries the disk cache. Any artefact that does not check out is removed.
fn load_artefact(engine: &SharedEngine, path: &Path, hash: &Hash, log: &mut Vec<String>) -> Option<Module> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !private_file_ok(&meta) {
        log.push(format!("warn: ignoring cache file {} (not a private regular file)", path.display()));
        let _ = fs::remove_file(path);
        return None;
    }
    let bytes = fs::read(path).ok()?;
    let payload = match decode_artefact(hash, &bytes) {
        Ok(p) => p,
        Err(why) => {
            log.push(format!("warn: removing cache file {}: {why}; recompiling", path.display()));
            let _ = fs::remove_file(path);
            return None;
        }
    };
    // SAFETY: `Module::deserialize` trusts its input to be wasmtime's own
    // output. The bytes come from a file in a directory only this user can
    // write (checked by artefact_dir), the file itself is private, and its
    // SHA-256 matches the one we recorded when we wrote it, so it is the
    // artefact we serialized. wasmtime also checks its version and settings.
    match unsafe { Module::deserialize(&engine.engine, payload) } {
        Ok(m) => Some(m),
        Err(e) => {
            log.push(format!("warn: removing cache file {}: {e}; recompiling", path.display()));
            let _ = fs::remove_file(path);
            None
        }
    }
}

/// Writes an artefact atomically: a private temp file in the same dir, then rename.
fn store_artefact(dir: &Path, path: &Path, data: &[u8]) -> std::io::Result<()> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{}-{n}", std::process::id(), hex(&Sha256::digest(path.as_os_str().as_encoded_bytes())[..4])));
    let result = (|| {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(data)?;
        f.sync_data()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn module_error(code: ErrorCode, msg: String) -> SandboxError {
    SandboxError::new(code, msg)
}

/// Stats the module file and applies the input checks that need no read.
fn stat_module(path: &str) -> SbResult<(PathBuf, fs::Metadata)> {
    let meta = fs::metadata(path).map_err(|e| {
        let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        if e.kind() == std::io::ErrorKind::NotFound {
            module_error(
                ErrorCode::ModuleNotFound,
                format!("module file {path} not found (relative paths resolve against {cwd}): check the path"),
            )
        } else {
            module_error(ErrorCode::ModuleNotFound, format!("cannot read module file {path}: {e}"))
        }
    })?;
    if meta.is_dir() {
        return Err(module_error(
            ErrorCode::ModuleNotFound,
            format!("{path} is a directory, not a module: pass the path of a .wasm file"),
        ));
    }
    if meta.len() > MAX_MODULE_BYTES {
        return Err(module_error(
            ErrorCode::ModuleTooLarge,
            format!("module file {path} is {} bytes, over the 100 MiB limit: use a smaller module", meta.len()),
        ));
    }
    // Absolute but not symlink-resolved: realpath costs a syscall per path
    // component on every execute, and (dev, inode) already say which file it is.
    let absolute = std::path::absolute(path)
        .map_err(|e| module_error(ErrorCode::ModuleNotFound, format!("cannot resolve module path {path}: {e}")))?;
    Ok((absolute, meta))
}

fn find_entry(module: &Module, path: &str) -> SbResult<Entry> {
    let func = |name: &str| module.get_export(name).and_then(|e| e.func().cloned());
    if let Some(ty) = func("_start") {
        if ty.params().len() == 0 && ty.results().len() == 0 {
            return Ok(Entry::Start);
        }
    }
    if let Some(ty) = func("main") {
        let i32_only = ty.params().all(|p| p.is_i32());
        let returns_i32 = ty.results().len() == 1 && ty.results().all(|r| r.is_i32());
        if returns_i32 && i32_only && (ty.params().len() == 0 || ty.params().len() == 2) {
            return Ok(Entry::Main { params: ty.params().len() });
        }
    }
    Err(module_error(
        ErrorCode::NoEntry,
        format!("module has no _start or main export ({path}): export `_start: () -> ()` or `main: () -> i32`"),
    ))
}

fn link(engine: &SharedEngine, module: &Module, path: &str) -> SbResult<InstancePre<StoreState>> {
    engine.linker.instantiate_pre(module).map_err(|e| {
        let text = format!("{e:#}");
        if text.contains("unknown import") {
            // wasmtime names it `module::name`; say `module.name` like the JS backend.
            let missing = text.split('`').nth(1).map(|s| s.replace("::", ".")).unwrap_or_else(|| text.clone());
            module_error(
                ErrorCode::ImportMissing,
                format!("{path} imports {missing}, which the sandbox does not provide: only wasi_snapshot_preview1 functions are available"),
            )
        } else {
            module_error(ErrorCode::ModuleInvalid, format!("{path} cannot be linked: {text}"))
        }
    })
}

fn remember(engine: &SharedEngine, loaded: &LoadedModule) {
    let mut map = engine.modules.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= MAX_MODULES_IN_MEMORY {
        // Evict an arbitrary entry: a simple bound, not an LRU.
        if let Some(k) = map.keys().next().copied() {
            map.remove(&k);
        }
    }
    map.insert(loaded.hash, loaded.clone());
}

fn cached_in_memory(engine: &SharedEngine, hash: &Hash) -> Option<LoadedModule> {
    engine.modules.lock().unwrap_or_else(|e| e.into_inner()).get(hash).cloned()
}

/// The hot path: the module is in memory and its file is unchanged since it
/// was hashed. Costs one stat; reads nothing.
pub fn lookup_fast(engine: &SharedEngine, path: &str) -> Option<LoadedModule> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let fingerprint = Fingerprint::of(std::path::absolute(path).ok()?, &meta);
    let hash = fingerprints().lock().unwrap_or_else(|e| e.into_inner()).get(&fingerprint).copied()?;
    cached_in_memory(engine, &hash)
}

/// Finds or builds the runnable module for `path`. Diagnostic lines go to `log`.
pub fn load_module(engine: &SharedEngine, path: &str, policy: &CachePolicy<'_>, log: &mut Vec<String>) -> SbResult<LoadedModule> {
    let (absolute, meta) = stat_module(path)?;
    let fingerprint = Fingerprint::of(absolute, &meta);
    // Fast path: an unchanged file whose module is in memory is not read at all.
    let known = fingerprints().lock().unwrap_or_else(|e| e.into_inner()).get(&fingerprint).copied();
    if let Some(hash) = known {
        if let Some(loaded) = cached_in_memory(engine, &hash) {
            return Ok(loaded);
        }
    }
    let bytes = fs::read(path).map_err(|e| module_error(ErrorCode::ModuleNotFound, format!("cannot read module file {path}: {e}")))?;
    if bytes.len() as u64 > MAX_MODULE_BYTES {
        return Err(module_error(ErrorCode::ModuleTooLarge, format!("module file {path} grew past the 100 MiB limit while being read")));
    }
    let hash: Hash = Sha256::digest(&bytes).into();
    // Record the fingerprint only if the file did not change while we read it.
    if let Ok(after) = fs::metadata(path) {
        if Fingerprint::of(fingerprint.path.clone(), &after) == fingerprint {
            let mut map = fingerprints().lock().unwrap_or_else(|e| e.into_inner());
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(fingerprint, hash);
        }
    }
    load_bytes_cached(engine, path, &bytes, hash, policy, log)
}

/// Like `load_bytes`, but answers from (and fills) the in-memory map.
pub fn load_bytes_cached(
    engine: &SharedEngine,
    name: &str,
    bytes: &[u8],
    hash: Hash,
    policy: &CachePolicy<'_>,
    log: &mut Vec<String>,
) -> SbResult<LoadedModule> {
    if let Some(loaded) = cached_in_memory(engine, &hash) {
        return Ok(loaded);
    }
    let loaded = load_bytes(engine, name, bytes, hash, policy, log)?;
    remember(engine, &loaded);
    Ok(loaded)
}

/// Compiles (or loads from disk) a module whose bytes are in hand.
fn load_bytes(
    engine: &SharedEngine,
    path: &str,
    bytes: &[u8],
    hash: Hash,
    policy: &CachePolicy<'_>,
    log: &mut Vec<String>,
) -> SbResult<LoadedModule> {
    if !bytes.starts_with(b"\0asm") {
        return Err(module_error(
            ErrorCode::ModuleInvalid,
            format!("{path} is not a WebAssembly module (no \\0asm header): pass a compiled .wasm file"),
        ));
    }
    let disk = if policy.enabled {
        match default_cache_dir(policy.dir).ok_or_else(|| "no cache directory (set MIMOBOX_CACHE_DIR or HOME)".to_string()).and_then(|root| artefact_dir(&root, engine)) {
            Ok(dir) => Some(dir),
            Err(why) => {
                log.push(format!("warn: compiled-module cache disabled: {why}; compiling in memory"));
                None
            }
        }
    } else {
        None
    };
    let file = disk.as_ref().map(|d| d.join(format!("{}.cwasm", hex(&hash))));
    let started = Instant::now();
    let from_disk = match &file {
        Some(f) => load_artefact(engine, f, &hash, log),
        None => None,
    };
    let module = match from_disk {
        Some(m) => {
            log.push(format!("info: loaded {path} from cache ({}) in {:.2} ms", &hex(&hash)[..12], started.elapsed().as_secs_f64() * 1e3));
            m
        }
        None => {
            let m = Module::from_binary(&engine.engine, bytes).map_err(|e| {
                module_error(ErrorCode::ModuleInvalid, format!("{path} is not a valid WebAssembly module: {e:#}"))
            })?;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            match (&disk, &file) {
                (Some(dir), Some(f)) => match m.serialize() {
                    Ok(payload) => match store_artefact(dir, f, &encode_artefact(&hash, &payload)) {
                        Ok(()) => log.push(format!("info: compiled and cached {path} ({}) in {ms:.1} ms", &hex(&hash)[..12])),
                        Err(e) => log.push(format!("warn: could not write cache file {}: {e}", f.display())),
                    },
                    Err(e) => log.push(format!("warn: could not serialize {path}: {e}")),
                },
                _ => log.push(format!("info: compiled {path} in {ms:.1} ms (disk cache off)")),
            }
            m
        }
    };
    let entry = find_entry(&module, path)?;
    let pre = link(engine, &module, path)?;
    let inline = crate::inline::allows_inline(bytes).then(Arc::default);
    Ok(LoadedModule { pre, entry, hash, inline })
}

/// Removes every artefact under `root`; returns how many files went.
pub fn clear_cache(root: &Path) -> std::io::Result<u64> {
    let mut removed = 0;
    if !root.exists() {
        return Ok(0);
    }
    for sub in fs::read_dir(root)? {
        let sub = sub?.path();
        if sub.is_dir() && sub.file_name().is_some_and(|n| n.to_string_lossy().starts_with("wasmtime-")) {
            for f in fs::read_dir(&sub)? {
                let f = f?.path();
                if f.extension().is_some_and(|e| e == "cwasm") || f.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".tmp-")) {
                    fs::remove_file(&f)?;
                    removed += 1;
                }
            }
            let _ = fs::remove_dir(&sub);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artefact_round_trip_and_tamper_detection() {
        let hash: Hash = Sha256::digest(b"wasm").into();
        let file = encode_artefact(&hash, b"native code");
        assert_eq!(decode_artefact(&hash, &file).unwrap(), b"native code");
        let other: Hash = Sha256::digest(b"other wasm").into();
        assert_eq!(decode_artefact(&other, &file), Err("artefact belongs to another module"));
        let mut flipped = file.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode_artefact(&hash, &flipped), Err("artefact is corrupt or truncated"));
        assert!(decode_artefact(&hash, &file[..file.len() - 3]).is_err());
        assert!(decode_artefact(&hash, b"short").is_err());
    }

    #[test]
    fn fingerprint_differs_for_same_size_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wasm");
        let b = dir.path().join("b.wasm");
        fs::write(&a, b"AAAA").unwrap();
        fs::write(&b, b"BBBB").unwrap();
        let t = fs::metadata(&a).unwrap().modified().unwrap();
        fs::File::options().write(true).open(&b).unwrap().set_modified(t).unwrap();
        let fa = Fingerprint::of(a.clone(), &fs::metadata(&a).unwrap());
        let fb = Fingerprint::of(b.clone(), &fs::metadata(&b).unwrap());
        assert_eq!(fa.size, fb.size);
        assert_eq!(fa.mtime_ns, fb.mtime_ns);
        assert_ne!(fa, fb, "inode and path still tell them apart");
        // Same path, contents replaced in place by a new file: the inode or ctime differs.
        fs::remove_file(&a).unwrap();
        fs::write(&a, b"CCCC").unwrap();
        fs::File::options().write(true).open(&a).unwrap().set_modified(t).unwrap();
        let fa2 = Fingerprint::of(a.clone(), &fs::metadata(&a).unwrap());
        assert_ne!(fa, fa2);
    }

    #[test]
    fn cache_dir_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_private_dir(&shared).unwrap_err().contains("writable by group or others"));
        let fresh = dir.path().join("new/deeper");
        ensure_private_dir(&fresh).unwrap();
        assert_eq!(fs::metadata(&fresh).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn default_cache_dir_prefers_explicit() {
        assert_eq!(default_cache_dir(Some(Path::new("/x/y"))), Some(PathBuf::from("/x/y")));
    }
}
