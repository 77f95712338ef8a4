//! `NativeSession`: one instance kept across calls (session.rs).

use super::convert::{call_result, millis, NativeResult};
use super::handle::NativeSandbox;
use super::bridge::{js_error, spawn_typed};
use crate::session::{SessionCall, SessionCore};
use std::sync::Arc;
use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi(object)]
pub struct NativeSessionOpen {
    /// argv, the module's name first.
    pub args: Vec<String>,
    /// "KEY=VALUE" strings.
    pub env: Vec<String>,
    /// For cancel() while the opening waits or runs `_initialize`.
    pub execution_id: f64,
}

#[napi(object)]
pub struct NativeSessionCall {
    pub export: String,
    pub input: Option<Uint8Array>,
    pub alloc: Option<String>,
    pub timeout_ms: Option<f64>,
    pub fuel: Option<f64>,
    /// For the sandbox's cancel() (abort) and destroy().
    pub execution_id: f64,
}

/// One instance kept across calls (session.rs).
#[napi]
pub struct NativeSession {
    pub(super) inner: Arc<SessionCore>,
}

#[napi]
impl NativeSession {
    /// Runs one export; cancel it through the sandbox with its execution id.
    #[napi(ts_return_type = "Promise<NativeResult>")]
    pub fn call<'env>(&self, env: &'env Env, sandbox: &NativeSandbox, request: NativeSessionCall) -> Result<PromiseRaw<'env, NativeResult>> {
        // Checked where the user gave them (session-options.ts).
        let call = SessionCall {
            export: request.export,
            input: request.input.map(|i| i.to_vec()),
            alloc: request.alloc,
            timeout: request.timeout_ms.map(millis),
            fuel: request.fuel.map(|f| f as u64),
        };
        let id = request.execution_id as u64;
        let registration = sandbox.core.register(id).map_err(|e| js_error(env, e))?;
        let inner = self.inner.clone();
        spawn_typed(env, async move { inner.call(id, registration, call).await.map(call_result) })
    }

    /// Ends the session, after calling `shutdown` (if it names an export)
    /// within `budgetMs`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env, shutdown: Option<String>, budget_ms: f64) -> Result<PromiseRaw<'env, ()>> {
        let budget = millis(budget_ms);
        let inner = self.inner.clone();
        spawn_typed(env, async move {
            inner.close(shutdown, budget).await;
            Ok(())
        })
    }

    /// Why the session ended ("timeout", "trap", …), or null while open.
    #[napi(getter)]
    pub fn ended(&self) -> Option<String> {
        self.inner.end_reason().map(|r| r.as_str().to_owned())
    }
}
