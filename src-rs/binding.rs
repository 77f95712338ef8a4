//! The napi-rs layer: converts types, runs every execute on the addon's own
//! tokio runtime (never libuv's pool), catches panics, returns Promises.

use crate::cache::{clear_cache, default_cache_dir};
use crate::engine::WASMTIME_VERSION;
use crate::error::{ErrorCode, SandboxError};
use crate::inline::{poll_inline, InFlight, InlineGate};
use crate::budget::budget;
use crate::cache::LoadedModule;
use crate::door::{HostAnswer, HostCaller, HostFuture};
use crate::run::RunOutcome;
use crate::sandbox::{ExecuteOutcome, ExecuteRequest, LoadSource, ModuleSource, SandboxCore};
use crate::session::{CallOutcome, SessionCall, SessionCore};
use napi::threadsafe_function::ThreadsafeFunction;
use crate::settings::{
    DirGrant, FuelMode, Settings, UnknownImports, DEFAULT_MAX_MODULE_BYTES, DEFAULT_POOL_INSTANCES, DEFAULT_STACK_BYTES,
};
use futures::FutureExt;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
static RUNTIME: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();

fn napi_error(e: SandboxError) -> Error {
    Error::from_reason(e.wire())
}

#[napi(object)]
pub struct NativeDir {
    pub host: String,
    pub guest: String,
}

#[napi(object)]
pub struct NativeSandboxOptions {
    pub memory_limit_bytes: f64,
    pub timeout_ms: f64,
    /// "auto", "off" or "exact".
    pub fuel_mode: String,
    pub fuel: Option<f64>,
    pub readonly_dirs: Vec<NativeDir>,
    pub readwrite_dirs: Vec<NativeDir>,
    pub max_output_bytes: f64,
    pub cache: bool,
    pub cache_dir: Option<String>,
    pub max_concurrency: u32,
    pub queue_timeout_ms: Option<f64>,
    /// Pooling-allocator slots for this sandbox's engine; 0 turns pooling off.
    pub pool_instances: Option<u32>,
    /// Start executes on the calling thread for a bounded slice (default true).
    pub inline: Option<bool>,
    /// Deepest wasm stack, in bytes (default 512 KiB).
    pub stack_limit_bytes: Option<f64>,
    /// Largest module accepted, in bytes (default 256 MiB).
    pub max_module_bytes: Option<f64>,
    /// Function imports the sandbox does not provide (default "error").
    pub unknown_imports: Option<UnknownImportsMode>,
}

/// What to do with function imports the sandbox does not provide.
#[napi(string_enum = "lowercase")]
pub enum UnknownImportsMode {
    /// Refuse the module before compiling it (IMPORT_MISSING).
    Error,
    /// Link each as a function that traps, naming the import, when called.
    Trap,
}

#[napi(object)]
pub struct NativeExecuteRequest {
    pub path: String,
    pub args: Vec<String>,
    /// "KEY=VALUE" strings.
    pub env: Vec<String>,
    pub stdin: Uint8Array,
    pub execution_id: f64,
    /// Export to run instead of `_start`/`main` (after `_initialize` if exported).
    pub entry: Option<String>,
}

#[napi(object)]
pub struct NativeResult {
    pub stdout: Buffer,
    pub stderr: Buffer,
    pub exit_code: Option<f64>,
    pub timed_out: bool,
    pub trap: Option<String>,
    pub error: Option<String>,
    pub elapsed_ms: f64,
    pub fuel_consumed: Option<f64>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub stdout_bytes: f64,
    pub stderr_bytes: f64,
    pub log: Vec<String>,
    /// Messages of the `hostCall` errors, each answered -2 to the guest.
    pub host_call_faults: Vec<String>,
    /// A session call's i32 result, when the export returned one.
    pub return_value: Option<i32>,
    /// Set when this session call ended the session: why.
    pub session_ended: Option<String>,
    /// Which limit stopped the guest: wall_clock, fuel, memory, table, stack.
    pub limit: Option<String>,
}

#[napi(object)]
pub struct NativeInfo {
    pub wasmtime_version: String,
    pub worker_threads: u32,
    pub default_cache_dir: Option<String>,
    /// Cap on a `host.call` request and on its answer, each, in bytes.
    pub host_call_max_bytes: f64,
}

fn config_error(msg: String) -> Error {
    napi_error(SandboxError::new(ErrorCode::ConfigInvalid, msg))
}

fn to_duration_ms(field: &str, ms: f64) -> Result<Duration> {
    if !ms.is_finite() || ms <= 0.0 {
        return Err(config_error(format!("{field} must be a positive number of milliseconds")));
    }
    Ok(Duration::from_millis(ms as u64))
}

fn to_settings(o: NativeSandboxOptions) -> Result<Settings> {
    let fuel = match o.fuel_mode.as_str() {
        "auto" => FuelMode::Auto,
        "off" => FuelMode::Off,
        "exact" => match o.fuel {
            Some(f) if f.is_finite() && f >= 1.0 => FuelMode::Exact(f as u64),
            _ => return Err(config_error("fuel must be a positive integer".into())),
        },
        other => return Err(config_error(format!("unknown fuel mode {other:?}"))),
    };
    let dirs = |v: Vec<NativeDir>| -> Vec<DirGrant> {
        v.into_iter().map(|d| DirGrant { host: PathBuf::from(d.host), guest: d.guest }).collect()
    };
    if !o.memory_limit_bytes.is_finite() || o.memory_limit_bytes < 1.0 || !o.max_output_bytes.is_finite() || o.max_output_bytes < 1.0 {
        return Err(config_error("memoryLimitBytes and maxOutputBytes must be positive".into()));
    }
    Ok(Settings {
        memory_limit_bytes: o.memory_limit_bytes as u64,
        timeout: to_duration_ms("timeoutMs", o.timeout_ms)?,
        fuel,
        readonly_dirs: dirs(o.readonly_dirs),
        readwrite_dirs: dirs(o.readwrite_dirs),
        max_output_bytes: o.max_output_bytes as usize,
        cache: o.cache,
        cache_dir: o.cache_dir.map(PathBuf::from),
        max_concurrency: o.max_concurrency as usize,
        queue_timeout: o.queue_timeout_ms.map(|ms| to_duration_ms("queueTimeoutMs", ms)).transpose()?,
        pool_instances: o.pool_instances.unwrap_or(DEFAULT_POOL_INSTANCES),
        inline: o.inline.unwrap_or(true),
        stack_bytes: o.stack_limit_bytes.map_or(DEFAULT_STACK_BYTES, |b| b as usize),
        max_module_bytes: o.max_module_bytes.map_or(DEFAULT_MAX_MODULE_BYTES, |b| b as u64),
        unknown_imports: match o.unknown_imports {
            Some(UnknownImportsMode::Trap) => UnknownImports::Trap,
            Some(UnknownImportsMode::Error) | None => UnknownImports::Error,
        },
    })
}

fn to_result(o: ExecuteOutcome) -> NativeResult {
    native_result(o.run, o.log)
}

fn native_result(r: RunOutcome, log: Vec<String>) -> NativeResult {
    NativeResult {
        stdout_truncated: r.stdout.truncated,
        stderr_truncated: r.stderr.truncated,
        stdout_bytes: r.stdout.total as f64,
        stderr_bytes: r.stderr.total as f64,
        stdout: r.stdout.bytes.into(),
        stderr: r.stderr.bytes.into(),
        exit_code: r.exit_code.map(f64::from),
        timed_out: r.timed_out,
        trap: r.trap.map(str::to_owned),
        error: r.error,
        elapsed_ms: r.elapsed_ms,
        fuel_consumed: r.fuel_consumed.map(|f| f as f64),
        log,
        host_call_faults: r.host_faults,
        limit: r.limit.map(str::to_owned),
        return_value: None,
        session_ended: None,
    }
}

fn call_result(o: CallOutcome) -> NativeResult {
    NativeResult {
        return_value: o.return_value,
        session_ended: o.ended.map(|r| r.as_str().to_owned()),
        ..native_result(o.run, Vec::new())
    }
}

/// What a `hostCall` answered, as the TypeScript wrapper resolves it:
/// bytes, or none for "no host here" (-1). A rejection is a fault (-2).
#[napi(object)]
pub struct NativeHostAnswer {
    pub bytes: Option<Buffer>,
}

/// Weak: a bound host function never keeps Node's event loop alive.
type HostFunction = ThreadsafeFunction<Vec<u8>, Promise<NativeHostAnswer>, Buffer, Status, false, true>;

/// The door's embedder: a JS function called on the JS thread, awaited on
/// the guest's worker.
struct JsHost(Arc<HostFunction>);

impl HostCaller for JsHost {
    fn call(&self, request: Vec<u8>) -> HostFuture {
        let function = self.0.clone();
        Box::pin(async move {
            let answer = function.call_async_catch(request).await.map_err(|e| format!("hostCall could not be called: {}", e.reason))?;
            let answer = answer.await.map_err(|e| e.reason.clone())?;
            Ok(match answer.bytes {
                Some(bytes) => HostAnswer::Bytes(bytes.to_vec()),
                None => HostAnswer::NoHost,
            })
        })
    }
}

fn js_host(function: Function<'_, Buffer, Promise<NativeHostAnswer>>) -> Result<Arc<dyn HostCaller>> {
    let tsfn: HostFunction = function
        .build_threadsafe_function::<Vec<u8>>()
        .callee_handled::<false>()
        .weak::<true>()
        .build_callback(|ctx| Ok(Buffer::from(ctx.value)))?;
    Ok(Arc::new(JsHost(Arc::new(tsfn))))
}

fn split_env(pairs: Vec<String>) -> Result<Vec<(String, String)>> {
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
async fn guarded<T>(fut: impl std::future::Future<Output = std::result::Result<T, SandboxError>>) -> Result<T> {
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
pub struct NativeSandbox {
    core: Arc<SandboxCore>,
}

/// A compiled, linked module ready to instantiate.
#[napi]
pub struct NativeModule {
    loaded: LoadedModule,
    owner: Arc<SandboxCore>,
    log: Vec<String>,
}

#[napi]
impl NativeModule {
    /// Hex SHA-256 of the module's bytes.
    #[napi(getter)]
    pub fn hash(&self) -> String {
        crate::cache::hex(&self.loaded.hash)
    }

    /// Diagnostics from loading ("compiled and cached", ...).
    #[napi(getter)]
    pub fn log(&self) -> Vec<String> {
        self.log.clone()
    }
}

/// An execute's result now (it finished within its inline slice) or later.
type Started<'env> = Either<NativeResult, PromiseRaw<'env, NativeResult>>;

impl NativeSandbox {
    /// Starts an execute: its first slice on this thread when the sandbox
    /// allows it (inline.rs), the rest as one task on the addon's runtime.
    fn start_execute<'env>(&self, env: &'env Env, request: NativeExecuteRequest, source: ModuleSource) -> Result<Started<'env>> {
        let id = request.execution_id as u64;
        let (in_flight, alone) = InFlight::enter();
        let runtime = RUNTIME.get().filter(|_| alone && self.core.starts_inline());
        let gate = runtime.map(|_| Arc::new(InlineGate::default()));
        let req = ExecuteRequest {
            source,
            args: request.args,
            env: split_env(request.env)?,
            stdin: request.stdin.to_vec(),
            entry: request.entry,
            inline: gate.clone(),
        };
        let core = self.core.clone();
        let flag = core.register(id).map_err(napi_error)?;
        let mut task = Box::pin(async move {
            let _in_flight = in_flight;
            guarded(core.execute(id, flag, req)).await.map(to_result)
        });
        if let (Some(runtime), Some(gate)) = (runtime, gate) {
            let _context = runtime.enter();
            match poll_inline(task, &gate) {
                Ok(done) => return done.map(Either::A),
                Err(pending) => task = pending,
            }
        }
        env.spawn_future(task).map(Either::B)
    }
}

#[napi]
impl NativeSandbox {
    #[napi(constructor)]
    pub fn new(options: NativeSandboxOptions) -> Result<Self> {
        let settings = to_settings(options)?;
        let core = SandboxCore::new(settings).map_err(napi_error)?;
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
        if !Arc::ptr_eq(&module.owner, &self.core) {
            return Err(config_error("this module was loaded by another sandbox: load it with this one".into()));
        }
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
            _ => return Err(config_error("loadModule takes a path or bytes".into())),
        };
        let core = self.core.clone();
        env.spawn_future(async move {
            let (loaded, log) = guarded(core.load(source, entry, for_session.unwrap_or(false))).await?;
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
        if !Arc::ptr_eq(&module.owner, &self.core) {
            return Err(config_error("this module was loaded by another sandbox: load it with this one".into()));
        }
        let host = host.map(js_host).transpose()?;
        let env_pairs = split_env(request.env)?;
        let id = request.execution_id as u64;
        let registration = self.core.register(id).map_err(napi_error)?;
        let core = self.core.clone();
        let loaded = module.loaded.clone();
        env.spawn_future(async move {
            let session = guarded(SessionCore::open(core, id, registration, loaded, request.args, env_pairs, host)).await?;
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
    inner: Arc<SessionCore>,
}

#[napi]
impl NativeSession {
    /// Runs one export; cancel it through the sandbox with its execution id.
    #[napi(ts_return_type = "Promise<NativeResult>")]
    pub fn call<'env>(&self, env: &'env Env, sandbox: &NativeSandbox, request: NativeSessionCall) -> Result<PromiseRaw<'env, NativeResult>> {
        let timeout = request.timeout_ms.map(|ms| to_duration_ms("timeoutMs", ms)).transpose()?;
        let fuel = match request.fuel {
            Some(f) if !f.is_finite() || f < 1.0 => return Err(config_error("fuel must be a positive integer".into())),
            f => f.map(|f| f as u64),
        };
        let call = SessionCall {
            export: request.export,
            input: request.input.map(|i| i.to_vec()),
            alloc: request.alloc,
            timeout,
            fuel,
        };
        let id = request.execution_id as u64;
        let registration = sandbox.core.register(id).map_err(napi_error)?;
        let inner = self.inner.clone();
        env.spawn_future(async move { guarded(inner.call(id, registration, call)).await.map(call_result) })
    }

    /// Ends the session, after calling `shutdown` (if it names an export)
    /// within `budgetMs`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env, shutdown: Option<String>, budget_ms: f64) -> Result<PromiseRaw<'env, ()>> {
        let budget = to_duration_ms("budgetMs", budget_ms)?;
        let inner = self.inner.clone();
        env.spawn_future(async move {
            guarded(async move {
                inner.close(shutdown, budget).await;
                Ok(())
            })
            .await
        })
    }

    /// Why the session ended ("timeout", "trap", …), or null while open.
    #[napi(getter)]
    pub fn ended(&self) -> Option<String> {
        self.inner.end_reason().map(|r| r.as_str().to_owned())
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
