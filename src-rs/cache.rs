//! Finding a runnable module: in-memory map → file fingerprint → on-disk
//! artefact (artefact.rs) → compile. What needs no compiling (size, entry
//! point, imports: scan.rs) is checked first, and one compile serves every
//! caller that wants the same module at the same time.

pub use crate::artefact::{default_cache_dir, hex, Hash};
use crate::log::LogLine;
use crate::artefact;
use crate::engine::{provides_import, SharedEngine};
use crate::error::{ErrorCode, SandboxError, SbResult};
use crate::fingerprint::Fingerprint;
pub use crate::loaded::{LoadedModule, ModuleMap};
use crate::store::StoreState;
use wasmtime::InstancePre;
use crate::scan::{scan, Exports, ModuleScan};
use crate::settings::UnknownImports;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use wasmtime::{ExternType, Module};

/// Bound on modules kept in memory per engine.
const MAX_MODULES_IN_MEMORY: usize = 256;

/// Which entry point a load must find before it compiles anything.
#[derive(Clone, Copy, Debug)]
pub enum EntryCheck<'a> {
    /// `_start` or `main` (an execute without `entry`).
    Default,
    /// This export (an execute with `entry`).
    Named(&'a str),
    /// A default entry, or a reactor whose entry each run names (`load()`).
    Runnable,
    /// Any module: a session's calls name their exports (`openSession`).
    Any,
}

/// How to find and build a module.
pub struct LoadOptions<'a> {
    pub cache: bool,
    pub cache_dir: Option<&'a Path>,
    pub max_module_bytes: u64,
    pub unknown_imports: UnknownImports,
    pub entry: EntryCheck<'a>,
}

fn module_error(code: ErrorCode, msg: String) -> SandboxError {
    SandboxError::new(code, msg)
}

fn too_large(what: &str, size: u64, max: u64) -> SandboxError {
    module_error(
        ErrorCode::ModuleTooLarge,
        format!("{what} is {size} bytes, over the {} MiB module limit: raise maxModuleMb or use a smaller module", max >> 20),
    )
}

fn fingerprints() -> &'static Mutex<HashMap<Fingerprint, Hash>> {
    static MAP: OnceLock<Mutex<HashMap<Fingerprint, Hash>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

fn remember_fingerprint(fp: Fingerprint, hash: Hash) {
    let mut map = fingerprints().lock().unwrap_or_else(|e| e.into_inner());
    if map.len() > 100_000 {
        map.clear();
    }
    map.insert(fp, hash);
}

fn known_hash(fp: &Fingerprint) -> Option<Hash> {
    fingerprints().lock().unwrap_or_else(|e| e.into_inner()).get(fp).copied()
}

/// Stats the module file and applies the input checks that need no read.
fn stat_module(path: &str, max_bytes: u64) -> SbResult<(PathBuf, fs::Metadata)> {
    let meta = fs::metadata(path).map_err(|e| {
        let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        let msg = if e.kind() == std::io::ErrorKind::NotFound {
            format!("module file {path} not found (relative paths resolve against {cwd}): check the path")
        } else {
            format!("cannot read module file {path}: {e}")
        };
        module_error(ErrorCode::ModuleNotFound, msg)
    })?;
    if meta.is_dir() {
        return Err(module_error(ErrorCode::ModuleNotFound, format!("{path} is a directory, not a module: pass the path of a .wasm file")));
    }
    if meta.len() > max_bytes {
        return Err(too_large(&format!("module file {path}"), meta.len(), max_bytes));
    }
    // Absolute but not symlink-resolved: realpath costs a syscall per path
    // component on every execute, and (dev, inode) already say which file it is.
    let absolute = std::path::absolute(path)
        .map_err(|e| module_error(ErrorCode::ModuleNotFound, format!("cannot resolve module path {path}: {e}")))?;
    Ok((absolute, meta))
}

fn check_entry(exports: &Exports, entry: EntryCheck<'_>, path: &str) -> SbResult<()> {
    match entry {
        EntryCheck::Default => exports.entry(None, path).map(drop),
        EntryCheck::Named(name) => exports.entry(Some(name), path).map(drop),
        EntryCheck::Runnable if exports.runnable() => Ok(()),
        EntryCheck::Runnable => exports.entry(None, path).map(drop),
        EntryCheck::Any => Ok(()),
    }
}

/// Refuses, before compiling, a module importing what the sandbox cannot give it.
fn check_imports(scan: &ModuleScan, mode: UnknownImports, path: &str) -> SbResult<()> {
    for import in &scan.imports {
        let provided = import.func.as_ref().is_some_and(|sig| provides_import(&import.module, &import.name, sig));
        if provided || (mode == UnknownImports::Trap && import.func.is_some()) {
            continue;
        }
        let kind = if import.func.is_some() { "" } else { " (not a function: unknownImports: 'trap' cannot stand in for it)" };
        return Err(module_error(
            ErrorCode::ImportMissing,
            format!(
                "{path} imports {}.{}{kind}, which the sandbox does not provide: only wasi_snapshot_preview1 functions and host.call are available (unknownImports: 'trap' links missing functions as traps)",
                import.module, import.name
            ),
        ));
    }
    Ok(())
}

/// Raised by a function import linked as a trap when the guest calls it.
#[derive(Debug)]
pub struct UnknownImportCalled(pub String);
impl std::fmt::Display for UnknownImportCalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "called unknown import {}, which the sandbox does not provide", self.0)
    }
}
impl std::error::Error for UnknownImportCalled {}

fn link(engine: &SharedEngine, module: &Module, path: &str, mode: UnknownImports) -> SbResult<InstancePre<StoreState>> {
    let traps;
    let linker = match mode {
        UnknownImports::Error => &engine.linker,
        UnknownImports::Trap => {
            let mut linker = engine.linker.clone();
            // `host.call` of another type is not ours: its trap replaces it.
            linker.allow_shadowing(true);
            for import in module.imports() {
                let ExternType::Func(ty) = import.ty() else { continue };
                let sig = crate::scan::FuncSig::of_wasmtime(&ty);
                if provides_import(import.module(), import.name(), &sig) {
                    continue;
                }
                let name = format!("{}.{}", import.module(), import.name());
                linker
                    .func_new(import.module(), import.name(), ty, move |_, _, _| Err(UnknownImportCalled(name.clone()).into()))
                    .map_err(|e| module_error(ErrorCode::ModuleInvalid, format!("{path} cannot be linked: {e:#}")))?;
            }
            traps = linker;
            &traps
        }
    };
    linker.instantiate_pre(module).map_err(|e| {
        let text = format!("{e:#}");
        if text.contains("unknown import") || text.contains("incompatible import type") {
            // wasmtime names it `module::name`; say `module.name` like the JS backend.
            let missing = text.split('`').nth(1).map(|s| s.replace("::", ".")).unwrap_or_else(|| text.clone());
            module_error(
                ErrorCode::ImportMissing,
                if text.contains("incompatible import type") {
                    format!("{path} imports {missing} with a type the sandbox does not provide: {text}")
                } else {
                    format!("{path} imports {missing}, which the sandbox does not provide: only wasi_snapshot_preview1 functions and host.call are available")
                },
            )
        } else {
            module_error(ErrorCode::ModuleInvalid, format!("{path} cannot be linked: {text}"))
        }
    })
}

fn remember(engine: &SharedEngine, mode: UnknownImports, loaded: &LoadedModule) {
    let mut map = engine.modules.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= MAX_MODULES_IN_MEMORY {
        // Evict an arbitrary entry: a simple bound, not an LRU.
        if let Some(k) = map.keys().next().copied() {
            map.remove(&k);
        }
    }
    map.insert((loaded.hash, mode), loaded.clone());
}

fn cached_in_memory(engine: &SharedEngine, hash: &Hash, mode: UnknownImports) -> Option<LoadedModule> {
    engine.modules.lock().unwrap_or_else(|e| e.into_inner()).get(&(*hash, mode)).cloned()
}

/// The hot path: the module is in memory and its file is unchanged since it
/// was hashed. Costs one stat; reads nothing.
pub fn lookup_fast(engine: &SharedEngine, path: &str, mode: UnknownImports) -> Option<LoadedModule> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let hash = known_hash(&Fingerprint::of(std::path::absolute(path).ok()?, &meta))?;
    cached_in_memory(engine, &hash, mode)
}

/// The verified artefact directory, or None (and a warning) when the disk cache is off or unusable.
fn disk_dir(engine: &SharedEngine, opts: &LoadOptions<'_>, log: &mut Vec<LogLine>) -> Option<PathBuf> {
    if !opts.cache {
        return None;
    }
    let dir = default_cache_dir(opts.cache_dir)
        .ok_or_else(|| "no cache directory (set MIMOBOX_CACHE_DIR or HOME)".to_string())
        .and_then(|root| artefact::artefact_dir(&root, &engine.compat_tag));
    dir.map_err(|why| log.push(LogLine::warn(format!("compiled-module cache disabled: {why}; compiling in memory")))).ok()
}

/// Finds or builds the runnable module for `path`. Diagnostic lines go to `log`.
pub fn load_module(engine: &SharedEngine, path: &str, opts: &LoadOptions<'_>, log: &mut Vec<LogLine>) -> SbResult<LoadedModule> {
    let (absolute, meta) = stat_module(path, opts.max_module_bytes)?;
    let fingerprint = Fingerprint::of(absolute, &meta);
    let dir = disk_dir(engine, opts, log);
    // An unchanged file is not read: its hash is known in memory, or on disk
    // from an earlier process, and its module is in memory or an artefact.
    let known = known_hash(&fingerprint).or_else(|| dir.as_deref().and_then(|d| artefact::indexed_hash(d, &fingerprint)));
    if let Some(hash) = known {
        if let Some(loaded) = cached_in_memory(engine, &hash, opts.unknown_imports) {
            check_entry(&loaded.exports, opts.entry, path)?;
            return Ok(loaded);
        }
        if let Some(loaded) = from_disk(engine, path, hash, opts, dir.as_deref(), log)? {
            remember_fingerprint(fingerprint, hash);
            return Ok(loaded);
        }
    }
    let bytes = fs::read(path).map_err(|e| module_error(ErrorCode::ModuleNotFound, format!("cannot read module file {path}: {e}")))?;
    if bytes.len() as u64 > opts.max_module_bytes {
        return Err(too_large(&format!("module file {path}"), bytes.len() as u64, opts.max_module_bytes));
    }
    let hash: Hash = Sha256::digest(&bytes).into();
    // Record the fingerprint only if the file did not change while we read it.
    if fs::metadata(path).is_ok_and(|after| Fingerprint::of(fingerprint.path.clone(), &after) == fingerprint) {
        if let Some(d) = &dir {
            artefact::index_hash(d, &fingerprint, &hash);
        }
        remember_fingerprint(fingerprint, hash);
    }
    load_bytes_in(engine, path, &bytes, hash, opts, dir.as_deref(), log)
}

/// Finds or builds the module for bytes in hand (`load()` of a Buffer).
pub fn load_bytes_cached(engine: &SharedEngine, name: &str, bytes: &[u8], opts: &LoadOptions<'_>, log: &mut Vec<LogLine>) -> SbResult<LoadedModule> {
    if bytes.len() as u64 > opts.max_module_bytes {
        return Err(too_large(&format!("module {name}"), bytes.len() as u64, opts.max_module_bytes));
    }
    let hash: Hash = Sha256::digest(bytes).into();
    let dir = disk_dir(engine, opts, log);
    load_bytes_in(engine, name, bytes, hash, opts, dir.as_deref(), log)
}

/// Maps a stored artefact, if there is a good one.
fn from_disk(
    engine: &SharedEngine,
    path: &str,
    hash: Hash,
    opts: &LoadOptions<'_>,
    dir: Option<&Path>,
    log: &mut Vec<LogLine>,
) -> SbResult<Option<LoadedModule>> {
    let Some(dir) = dir else { return Ok(None) };
    let started = Instant::now();
    match artefact::open(&engine.engine, dir, &hash) {
        // Unusable, or half-written by another process: the compile path
        // looks again under the module's lock and removes it if it is broken.
        None | Some(Err(_)) => Ok(None),
        Some(Ok((module, inline_ok))) => {
            let exports = Exports::of_module(&module);
            check_entry(&exports, opts.entry, path)?;
            let loaded = finish(engine, path, &module, hash, exports, inline_ok, opts.unknown_imports)?;
            log.push(LogLine::info(format!("loaded {path} from cache ({}) in {:.2} ms", &hex(&hash)[..12], started.elapsed().as_secs_f64() * 1e3)));
            Ok(Some(loaded))
        }
    }
}

fn finish(
    engine: &SharedEngine,
    path: &str,
    module: &Module,
    hash: Hash,
    exports: Exports,
    inline_ok: bool,
    mode: UnknownImports,
) -> SbResult<LoadedModule> {
    let pre = link(engine, module, path, mode)?;
    let loaded = LoadedModule { pre, exports: Arc::new(exports), hash, inline: inline_ok.then(Arc::default) };
    remember(engine, mode, &loaded);
    Ok(loaded)
}

fn load_bytes_in(
    engine: &SharedEngine,
    path: &str,
    bytes: &[u8],
    hash: Hash,
    opts: &LoadOptions<'_>,
    dir: Option<&Path>,
    log: &mut Vec<LogLine>,
) -> SbResult<LoadedModule> {
    if let Some(loaded) = cached_in_memory(engine, &hash, opts.unknown_imports) {
        check_entry(&loaded.exports, opts.entry, path)?;
        return Ok(loaded);
    }
    if !bytes.starts_with(b"\0asm") {
        return Err(module_error(
            ErrorCode::ModuleInvalid,
            format!("{path} is not a WebAssembly module (no \\0asm header): pass a compiled .wasm file"),
        ));
    }
    if let Some(loaded) = from_disk(engine, path, hash, opts, dir, log)? {
        return Ok(loaded);
    }
    let invalid = |e: String| module_error(ErrorCode::ModuleInvalid, format!("{path} is not a valid WebAssembly module: {e}"));
    let scanned = scan(bytes).map_err(invalid)?;
    if let Err(refused) = check_entry(&scanned.exports, opts.entry, path).and_then(|()| check_imports(&scanned, opts.unknown_imports, path)) {
        // Invalid code outranks a missing entry or import, as when compiling.
        crate::scan::validate(bytes).map_err(invalid)?;
        return Err(refused);
    }
    let job = crate::compile::CompileJob { engine, path, bytes, hash, inline_ok: scanned.inline_ok, dir };
    let module = crate::compile::compile_once(&job, log)?;
    finish(engine, path, &module, hash, scanned.exports, scanned.inline_ok, opts.unknown_imports)
}

/// Removes every artefact under `root`; returns how many files went.
pub fn clear_cache(root: &Path) -> std::io::Result<u64> {
    artefact::clear(root)
}
