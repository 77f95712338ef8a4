//! `NativeSandbox` and `NativeModule`: executes (started inline when the
//! process is otherwise idle), loads, cancel and destroy.

use super::convert::{config_error, to_result, to_settings, NativeExecuteRequest, NativeLogLine, NativeResult, NativeSandboxOptions};
use crate::log::LogLine;
use super::host::{js_host, NativeHostAnswer};
use super::handle::NativeSandbox;
use super::session::{NativeSession, NativeSessionOpen};
use super::bridge::{guarded, js_error, spawn_typed, split_env, RUNTIME};
use crate::loaded::LoadedModule;
use crate::inline::{poll_inline, InFlight, InlineGate};
use crate::sandbox::{ExecuteRequest, LoadSource, ModuleSource, SandboxCore};
use crate::session::SessionCore;
use std::sync::Arc;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// A compiled, linked module ready to instantiate.
#[napi]
pub struct NativeModule {
    loaded: LoadedModule,
    owner: Arc<SandboxCore>,
    log: Vec<LogLine>,
}

#[napi]
impl NativeModule {
    /// Hex SHA-256 of the module's bytes.
    #[napi(getter)]
    pub fn hash(&self) -> String {
        crate::key::hex(&self.loaded.hash)
    }

    /// Diagnostics from loading ("compiled and cached", ...).
    #[napi(getter)]
    pub fn log(&self) -> Vec<NativeLogLine> {
        self.log.iter().cloned().map(NativeLogLine::from).collect()
    }
}

/// An execute's result now (it finished within its inline slice) or later.
type Started<'env> = Either<NativeResult, PromiseRaw<'env, NativeResult>>;

impl NativeSandbox {
    /// A loaded module runs only on the sandbox that loaded it (its engine).
    fn check_owner(&self, env: &Env, module: &NativeModule) -> Result<()> {
        if Arc::ptr_eq(&module.owner, &self.core) {
            return Ok(());
        }
        Err(js_error(env, config_error("this module was loaded by another sandbox: load it with this one".into())))
    }

    /// Starts an execute: its first slice on this thread when the sandbox
    /// allows it (inline.rs), the rest as one task on the addon's runtime.
    fn start_execute<'env>(&self, env: &'env Env, request: NativeExecuteRequest, source: ModuleSource) -> Result<Started<'env>> {
        let id = request.execution_id as u64;
        let (in_flight, alone) = InFlight::enter();
        let wanted = request.start_inline.unwrap_or(true);
        let runtime = RUNTIME.get().filter(|_| alone && wanted && self.core.starts_inline());
        let gate = runtime.map(|_| Arc::new(InlineGate::default()));
        let req = ExecuteRequest {
            source,
            args: request.args,
            env: split_env(request.env).map_err(|e| js_error(env, e))?,
            stdin: request.stdin.to_vec(),
            entry: request.entry,
            inline: gate.clone(),
        };
        let core = self.core.clone();
        let flag = core.register(id).map_err(|e| js_error(env, e))?;
        let mut task = Box::pin(async move {
            let _in_flight = in_flight;
            guarded(core.execute(id, flag, req)).await.map(to_result)
        });
        if let (Some(runtime), Some(gate)) = (runtime, gate) {
            let _context = runtime.enter();
            match poll_inline(task, &gate) {
                Ok(done) => return done.map(Either::A).map_err(|e| js_error(env, e)),
                Err(pending) => task = pending,
            }
        }
        spawn_typed(env, task).map(Either::B)
    }
}

#[napi]
impl NativeSandbox {
    #[napi(constructor)]
    pub fn new(env: Env, options: NativeSandboxOptions) -> Result<Self> {
        let core = SandboxCore::new(to_settings(options)).map_err(|e| js_error(&env, e))?;
        Ok(NativeSandbox { core: Arc::new(core) })
    }

    /// Runs one execute: its result at once when it finished within its
    /// inline slice, otherwise a Promise of it.
    #[napi(ts_return_type = "NativeResult | Promise<NativeResult>")]
    pub fn execute<'env>(&self, env: &'env Env, request: NativeExecuteRequest) -> Result<Started<'env>> {
        let source = ModuleSource::Path(request.path.clone());
        self.start_execute(env, request, source)
    }

    /// Runs a module returned by `loadModule` (no path checks, no lookup).
    #[napi(ts_return_type = "NativeResult | Promise<NativeResult>")]
    pub fn execute_loaded<'env>(
        &self,
        env: &'env Env,
        module: &NativeModule,
        request: NativeExecuteRequest,
    ) -> Result<Started<'env>> {
        self.check_owner(env, module)?;
        let source = ModuleSource::Loaded(module.loaded.clone());
        self.start_execute(env, request, source)
    }

    /// Compiles (or finds) a module once, from a path or from bytes. With
    /// `forSession`, any module is accepted (session calls name exports).
    #[napi(ts_return_type = "Promise<NativeModule>")]
    pub fn load_module<'env>(
        &self,
        env: &'env Env,
        path: Option<String>,
        bytes: Option<Uint8Array>,
        name: Option<String>,
        entry: Option<String>,
        for_session: Option<bool>,
    ) -> Result<PromiseRaw<'env, NativeModule>> {
        let source = match (path, bytes) {
            (Some(p), None) => LoadSource::Path(p),
            (None, Some(b)) => LoadSource::Bytes { name: name.unwrap_or_else(|| "<buffer>".into()), bytes: b.to_vec() },
            _ => return Err(js_error(env, config_error("loadModule takes a path or bytes".into()))),
        };
        let core = self.core.clone();
        spawn_typed(env, async move {
            let (loaded, log) = core.load(source, entry, for_session.unwrap_or(false)).await?;
            Ok(NativeModule { loaded, owner: core, log })
        })
    }

    /// Binds `host.call` for this sandbox's executes and sessions. The
    /// function must resolve (never throw): the TypeScript layer wraps it.
    #[napi]
    pub fn set_host_call(&self, host: Function<'_, Buffer, Promise<NativeHostAnswer>>) -> Result<()> {
        self.core.set_host(js_host(host)?);
        Ok(())
    }

    /// Instantiates a loaded module and keeps it for session calls.
    #[napi(ts_return_type = "Promise<NativeSession>")]
    pub fn open_session<'env>(
        &self,
        env: &'env Env,
        module: &NativeModule,
        request: NativeSessionOpen,
        host: Option<Function<'_, Buffer, Promise<NativeHostAnswer>>>,
    ) -> Result<PromiseRaw<'env, NativeSession>> {
        self.check_owner(env, module)?;
        let host = host.map(js_host).transpose()?;
        let env_pairs = split_env(request.env).map_err(|e| js_error(env, e))?;
        let id = request.execution_id as u64;
        let registration = self.core.register(id).map_err(|e| js_error(env, e))?;
        let core = self.core.clone();
        let loaded = module.loaded.clone();
        spawn_typed(env, async move {
            let session = SessionCore::open(core, id, registration, loaded, request.args, env_pairs, host).await?;
            Ok(NativeSession { inner: Arc::new(session) })
        })
    }

    /// Asks a running or queued execute to stop; it rejects with ABORTED.
    #[napi]
    pub fn cancel(&self, execution_id: f64) {
        self.core.cancel(execution_id as u64);
    }

    /// Stops in-flight executes (they reject with DESTROYED) and waits for them.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn destroy<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let core = self.core.clone();
        env.spawn_future(async move {
            core.destroy().await;
            Ok(())
        })
    }
}
