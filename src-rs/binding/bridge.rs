//! How core work crosses into Node: the addon's runtime handle, core errors
//! as typed JS errors, core futures as Promises, panics as INTERNAL errors.
//! The classes (sandbox.rs, session.rs) and the module's functions (mod.rs)
//! all go through here.

use super::convert::config_error;
use crate::error::{ErrorCode, SandboxError, SbResult};
use futures::FutureExt;
use napi::bindgen_prelude::*;
use std::panic::AssertUnwindSafe;

/// Our runtime's handle: an inline start polls inside its context, since the
/// guest may create timers or blocking tasks before it yields.
pub(crate) static RUNTIME: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();

/// The JS error for a core error: an `Error` whose `code` is the core's code
/// (`MODULE_INVALID`, …), which the TypeScript layer maps to its class. Built
/// on the JS thread and thrown or rejected as this very object.
pub(crate) fn js_error(env: &Env, e: SandboxError) -> Error {
    let typed = JsError::from(Error::new(e.code.as_str(), e.message)).into_unknown(*env);
    Error::from(typed)
}

/// Runs a core future on the addon's runtime; its error is rejected as a
/// typed JS error (`js_error`) and a panic as an INTERNAL one.
pub(crate) fn spawn_typed<'env, T, F>(env: &'env Env, fut: F) -> Result<PromiseRaw<'env, T>>
where
    T: 'static + Send + ToNapiValue,
    F: 'static + Send + std::future::Future<Output = SbResult<T>>,
{
    env.spawn_future_with_callback(async move { Ok(guarded(fut).await) }, |env, out| out.map_err(|e| js_error(env, e)))
}

pub(crate) fn split_env(pairs: Vec<String>) -> SbResult<Vec<(String, String)>> {
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

/// Runs a core future so that a panic never crosses into Node: it becomes
/// an error with code INTERNAL.
pub(crate) async fn guarded<T>(fut: impl std::future::Future<Output = SbResult<T>>) -> SbResult<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(SandboxError::new(
            ErrorCode::Internal,
            format!("mimobox-wasm panicked: {} (please report this)", panic_message(payload.as_ref())),
        )),
    }
}

