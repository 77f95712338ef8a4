//! The napi-rs layer: converts types, runs every execute on the addon's own
//! tokio runtime (never libuv's pool), catches panics, returns Promises.
//! `bridge` carries core futures, errors and panics into Node, `convert`
//! maps options and results, `host` binds a JS function to the
//! door, `sandbox` and `session` are the classes Node sees.

mod bridge;
mod convert;
mod handle;
mod host;
mod sandbox;
mod session;

pub use convert::{FuelModeKind, LogLevel, NativeDir, NativeLogLine, NativeExecuteRequest, NativeInfo, NativeLimits, NativeResult, NativeSandboxOptions, UnknownImportsMode};
pub use host::NativeHostAnswer;
pub use handle::NativeSandbox;
pub use sandbox::NativeModule;
pub use session::{NativeSession, NativeSessionCall, NativeSessionOpen};

use bridge::{js_error, RUNTIME};
use convert::config_error;
use crate::budget::budget;
use crate::module::{clear_cache, default_cache_dir};
use crate::engine::WASMTIME_VERSION;
use crate::error::{ErrorCode, SandboxError};
use napi::bindgen_prelude::*;
use napi_derive::napi;

fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Gives napi-rs our runtime: its worker threads are the pool guests run on.
#[napi_derive::module_init]
fn init() {
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("mimobox-worker")
        .max_blocking_threads(64)
        .enable_all()
        .build();
    // If the runtime cannot be built, napi-rs falls back to its own default
    // (and executes never start inline: there is no handle to enter).
    if let Ok(rt) = built {
        let _ = RUNTIME.set(rt.handle().clone());
        create_custom_tokio_runtime(rt);
    }
    // A new process's first sandbox most likely has the default settings:
    // its engine builds meanwhile, beside the rest of loading.
    crate::registry::prebuild(crate::engine::EngineKey::of(&crate::settings::Settings::default()));
}

#[napi]
pub fn native_info() -> NativeInfo {
    NativeInfo {
        wasmtime_version: WASMTIME_VERSION.to_owned(),
        worker_threads: u32::try_from(worker_threads()).unwrap_or(u32::MAX),
        default_cache_dir: default_cache_dir(None).map(|p| p.display().to_string()),
        limits: NativeLimits::of_core(),
        error_codes: ErrorCode::ALL.iter().map(|c| c.as_str().to_owned()).collect(),
        prebuilt_engine: crate::registry::prebuild_state().to_owned(),
    }
}

/// The cache root that a sandbox with this `cacheDir` (or none) uses.
#[napi]
pub fn cache_dir_for(cache_dir: Option<String>) -> Option<String> {
    default_cache_dir(cache_dir.as_deref().map(std::path::Path::new)).map(|p| p.display().to_string())
}

/// Removes the compiled artefacts under a cache root; returns how many.
#[napi]
pub fn clear_compiled_cache(env: Env, cache_dir: Option<String>) -> Result<f64> {
    let Some(root) = default_cache_dir(cache_dir.as_deref().map(std::path::Path::new)) else {
        return Ok(0.0);
    };
    clear_cache(&root)
        .map(|n| n as f64)
        .map_err(|e| js_error(&env, SandboxError::new(ErrorCode::Internal, format!("cannot clear {}: {e}", root.display()))))
}

/// Sets the process-wide budget of reserved guest memory, in MiB.
#[napi]
pub fn set_memory_budget_mb(env: Env, mb: f64) -> Result<()> {
    if !mb.is_finite() || mb < 1.0 {
        return Err(js_error(&env, config_error("the memory budget must be at least 1 MiB".into())));
    }
    budget().set_total_mb(mb as usize);
    Ok(())
}

/// The process-wide budget of reserved guest memory, in MiB.
#[napi]
pub fn memory_budget_mb() -> f64 {
    budget().total_mb() as f64
}
