//! The napi-rs layer: converts types, runs every execute on the addon's own
//! tokio runtime (never libuv's pool), catches panics, returns Promises.
//! `convert` maps options and results, `host` binds a JS function to the
//! door, `sandbox` and `session` are the classes Node sees.

mod convert;
mod host;
mod sandbox;
mod session;

pub use convert::{FuelModeKind, LogLevel, NativeDir, NativeLogLine, NativeExecuteRequest, NativeInfo, NativeResult, NativeSandboxOptions, UnknownImportsMode};
pub use host::NativeHostAnswer;
pub use sandbox::{NativeModule, NativeSandbox};
pub use session::{NativeSession, NativeSessionCall, NativeSessionOpen};

use convert::config_error;
use crate::budget::budget;
use crate::cache::{clear_cache, default_cache_dir};
use crate::engine::WASMTIME_VERSION;
use crate::error::{ErrorCode, SandboxError};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
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
}

/// Our runtime's handle: an inline start polls inside its context, since the
/// guest may create timers or blocking tasks before it yields.
pub(super) static RUNTIME: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();

pub(super) fn napi_error(e: SandboxError) -> Error {
    Error::from_reason(e.wire())
}

pub(super) fn split_env(pairs: Vec<String>) -> Result<Vec<(String, String)>> {
    pairs
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(config_error(format!("env entry {kv:?} is not KEY=VALUE"))),
        })
        .collect()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs a core future so that a panic never crosses into Node: it becomes a
/// rejection with code INTERNAL.
pub(super) async fn guarded<T>(fut: impl std::future::Future<Output = std::result::Result<T, SandboxError>>) -> Result<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(napi_error(e)),
        Err(payload) => Err(napi_error(SandboxError::new(
            ErrorCode::Internal,
            format!("mimobox-wasm panicked: {} (please report this)", panic_message(payload.as_ref())),
        ))),
    }
}

#[napi]
pub fn native_info() -> NativeInfo {
    NativeInfo {
        wasmtime_version: WASMTIME_VERSION.to_owned(),
        worker_threads: u32::try_from(worker_threads()).unwrap_or(u32::MAX),
        default_cache_dir: default_cache_dir(None).map(|p| p.display().to_string()),
        host_call_max_bytes: crate::door::HOST_CALL_MAX_BYTES as f64,
    }
}

/// The cache root that a sandbox with this `cacheDir` (or none) uses.
#[napi]
pub fn cache_dir_for(cache_dir: Option<String>) -> Option<String> {
    default_cache_dir(cache_dir.as_deref().map(std::path::Path::new)).map(|p| p.display().to_string())
}

/// Removes the compiled artefacts under a cache root; returns how many.
#[napi]
pub fn clear_compiled_cache(cache_dir: Option<String>) -> Result<f64> {
    let Some(root) = default_cache_dir(cache_dir.as_deref().map(std::path::Path::new)) else {
        return Ok(0.0);
    };
    clear_cache(&root).map(|n| n as f64).map_err(|e| Error::from_reason(format!("[MIMOBOX:INTERNAL] cannot clear {}: {e}", root.display())))
}

/// Sets the process-wide budget of reserved guest memory, in MiB.
#[napi]
pub fn set_memory_budget_mb(mb: f64) -> Result<()> {
    if !mb.is_finite() || mb < 1.0 {
        return Err(config_error("the memory budget must be at least 1 MiB".into()));
    }
    budget().set_total_mb(mb as usize);
    Ok(())
}

/// The process-wide budget of reserved guest memory, in MiB.
#[napi]
pub fn memory_budget_mb() -> f64 {
    budget().total_mb() as f64
}
