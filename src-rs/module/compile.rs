//! Compiling a module once: one compile serves every load that wants the
//! same module at the same time, in this process (they wait on it) and in
//! others (a lock file per module), and its artefact goes to the disk cache.

use crate::log::LogLine;
use super::artefact::{self, hex, Hash};
use crate::engine::SharedEngine;
use crate::error::{ErrorCode, SandboxError, SbResult};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use wasmtime::Module;

type Compiled = Arc<OnceLock<Result<Module, SandboxError>>>;

/// Compiles in progress, by engine (its address, valid while the compile
/// runs) and module, so concurrent loads of one module share one compile.
/// Engines that share artefacts share them through the disk lock instead.
fn compiling() -> &'static Mutex<HashMap<(usize, Hash), Compiled>> {
    static MAP: OnceLock<Mutex<HashMap<(usize, Hash), Compiled>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

/// One module to compile, and where its artefact goes (None: memory only).
pub struct CompileJob<'a> {
    pub engine: &'a SharedEngine,
    pub path: &'a str,
    pub bytes: &'a [u8],
    pub hash: Hash,
    pub inline_ok: bool,
    pub dir: Option<&'a Path>,
}

pub fn compile_once(job: &CompileJob<'_>, log: &mut Vec<LogLine>) -> SbResult<Module> {
    let key = (std::ptr::from_ref(job.engine) as usize, job.hash);
    let cell = compiling().lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().clone();
    let mut ran = false;
    let result = cell.get_or_init(|| {
        ran = true;
        compile(job, log)
    });
    let result = result.clone();
    if ran {
        compiling().lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
    } else if result.is_ok() {
        log.push(LogLine::info(format!("{} ({}) was compiled by a concurrent load", job.path, &hex(&job.hash)[..12])));
    }
    result
}

fn compile(job: &CompileJob<'_>, log: &mut Vec<LogLine>) -> SbResult<Module> {
    let CompileJob { engine, path, bytes, hash, inline_ok, dir } = *job;
    let invalid = |e: wasmtime::Error| SandboxError::new(ErrorCode::ModuleInvalid, format!("{path} is not a valid WebAssembly module: {e:#}"));
    let started = Instant::now();
    let Some(dir) = dir else {
        let module = Module::from_binary(&engine.engine, bytes).map_err(invalid)?;
        log.push(LogLine::info(format!("compiled {path} in {:.1} ms (disk cache off)", started.elapsed().as_secs_f64() * 1e3)));
        return Ok(module);
    };
    // Another process may be compiling it: wait for it, then map its artefact.
    let _lock = artefact::lock(dir, &hash);
    match artefact::open(&engine.engine, dir, &hash) {
        Some(Ok((module, _))) => {
            log.push(LogLine::info(format!("loaded {path} from cache ({}) after another process compiled it", &hex(&hash)[..12])));
            return Ok(module);
        }
        // Under the lock no one is writing it: what is there is broken.
        Some(Err(why)) => {
            artefact::remove(dir, &hash);
            log.push(LogLine::warn(format!("removed cache file {}.cwasm: {why}; recompiling", hex(&hash))));
        }
        None => {}
    }
    let compiled = engine.engine.precompile_module(bytes).map_err(invalid)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let stored = artefact::store(dir, &hash, &compiled, inline_ok);
    match stored.map_err(|e| e.to_string()).and_then(|_| match artefact::open(&engine.engine, dir, &hash) {
        Some(Ok((module, _))) => Ok(module),
        Some(Err(why)) => Err(why),
        None => Err("the artefact vanished after it was written".into()),
    }) {
        Ok(module) => {
            log.push(LogLine::info(format!("compiled and cached {path} ({}) in {ms:.1} ms", &hex(&hash)[..12])));
            if let Some(root) = dir.parent() {
                let removed = super::evict::evict(root, &hash, super::evict::cache_max_bytes());
                if removed > 0 {
                    log.push(LogLine::info(format!("removed {removed} least recently used compiled modules: the cache was over its bound (MIMOBOX_CACHE_MAX_MB)")));
                }
            }
            Ok(module)
        }
        Err(why) => {
            log.push(LogLine::warn(format!("could not write cache file for {path}: {why}; keeping it in memory")));
            // SAFETY: `compiled` is what `precompile_module` of this very
            // engine returned a moment ago in this process: never read from disk.
            unsafe { Module::deserialize(&engine.engine, &compiled) }.map_err(invalid)
        }
    }
}
