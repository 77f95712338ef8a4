//! Finding a runnable module: in-memory map → file fingerprint → on-disk
//! artefact (artefact.rs) → compile (compile.rs). The maps are memo.rs,
//! the checks before compiling and the linking link.rs. What needs no compiling (size, entry
//! point, imports: scan.rs) is checked first, and one compile serves every
//! caller that wants the same module at the same time.

use super::artefact::{self, default_cache_dir, hex};
use super::fingerprint::Fingerprint;
use super::entry::{module_error, EntryCheck};
use super::link::{check_entry, check_imports, link};
use super::memo::{cached_in_memory, known_hash, remember, remember_fingerprint};
use crate::engine::SharedEngine;
use crate::error::{ErrorCode, SandboxError, SbResult};
use crate::key::{module_key, Hash};
use crate::loaded::LoadedModule;
use crate::log::LogLine;
use crate::scan::{scan, Exports};
use crate::settings::UnknownImports;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use wasmtime::Module;

/// How to find and build a module.
pub struct LoadOptions<'a> {
    pub cache: bool,
    pub cache_dir: Option<&'a Path>,
    pub max_module_bytes: u64,
    pub unknown_imports: UnknownImports,
    pub entry: EntryCheck<'a>,
}

fn too_large(what: &str, size: u64, max: u64) -> SandboxError {
    module_error(
        ErrorCode::ModuleTooLarge,
        format!("{what} is {size} bytes, over the {} MiB module limit: raise maxModuleMb or use a smaller module", max >> 20),
    )
}

fn not_regular(path: &str) -> SandboxError {
    module_error(
        ErrorCode::ModuleInvalid,
        format!("{path} is not a regular file (a device, FIFO or socket could block or never end): pass the path of a .wasm file"),
    )
}

/// Reads a module file: opened without blocking (a FIFO swapped in after the
/// stat cannot hang the load), refused unless the open file is a regular
/// file, and read no further than `max_bytes`.
fn read_module_file(path: &str, max_bytes: u64) -> SbResult<Vec<u8>> {
    use std::io::Read;
    let cannot = |e: std::io::Error| module_error(ErrorCode::ModuleNotFound, format!("cannot read module file {path}: {e}"));
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(not_regular(path));
    }
    if meta.len() > max_bytes {
        return Err(too_large(&format!("module file {path}"), meta.len(), max_bytes));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(cannot)?;
    Ok(bytes)
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
    if !meta.is_file() {
        return Err(not_regular(path));
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
    let bytes = read_module_file(path, opts.max_module_bytes)?;
    if bytes.len() as u64 > opts.max_module_bytes {
        return Err(too_large(&format!("module file {path}"), bytes.len() as u64, opts.max_module_bytes));
    }
    let hash = module_key(&bytes);
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
    let hash = module_key(bytes);
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
            // Used: the cache's bound evicts the least recently used first (evict.rs).
            super::evict::touch(&artefact::meta_path(dir, &hash));
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
    crate::bounds::check(bytes, path)?;
    let job = super::compile::CompileJob { engine, path, bytes, hash, inline_ok: scanned.inline_ok, dir };
    let module = super::compile::compile_once(&job, log)?;
    finish(engine, path, &module, hash, scanned.exports, scanned.inline_ok, opts.unknown_imports)
}

/// Removes every artefact under `root`; returns how many files went.
pub fn clear_cache(root: &Path) -> std::io::Result<u64> {
    artefact::clear(root)
}
