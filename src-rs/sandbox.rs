//! A sandbox: settings, its shared engine, a concurrency limit and the
//! registry of in-flight executes (for AbortSignal and destroy()).

use crate::budget::{budget, mb_for};
use crate::module::{load_bytes_cached, load_module, lookup_fast, EntryCheck, LoadOptions};
use crate::loaded::LoadedModule;
use crate::engine::{EngineKey, SharedEngine};
use crate::registry::engine_for;
use crate::inline::InlineGate;
use crate::log::LogLine;
use crate::error::{ErrorCode, SandboxError, SbResult, Work};
use crate::door::HostCaller;
use crate::run::{run, RunOutcome, RunRequest};
use crate::store::{CancelFlag, CancelReason};
use crate::settings::Settings;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::task::{Context, Poll, Waker};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
pub use crate::slot::Registration;
use crate::slot::{wait_until, Slot, SlotFuture};

/// What to run: a file (checked and looked up on each execute) or a module
/// already loaded with `SandboxCore::load`.
pub enum ModuleSource {
    Path(String),
    Loaded(LoadedModule),
}

pub struct ExecuteRequest {
    pub source: ModuleSource,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    /// The export to run instead of `_start`/`main`.
    pub entry: Option<String>,
    /// Set when the caller polls this execute on its own thread first.
    pub inline: Option<Arc<InlineGate>>,
}

#[derive(Debug)]
pub struct ExecuteOutcome {
    pub run: RunOutcome,
    pub log: Vec<LogLine>,
}

pub struct SandboxCore {
    settings: Settings,
    engine: Arc<SharedEngine>,
    /// Answers `host.call` for executes and for sessions without their own.
    host: std::sync::OnceLock<Arc<dyn HostCaller>>,
    permits: Arc<Semaphore>,
    inflight: Mutex<HashMap<u64, Arc<CancelFlag>>>,
    destroyed: AtomicBool,
}

impl SandboxCore {
    pub fn new(settings: Settings) -> SbResult<SandboxCore> {
        settings.validate()?;
        let key = EngineKey::of(&settings);
        let engine = match engine_for(key) {
            Ok(e) => Ok(e),
            // The pool reserves address space up front; where that is refused
            // (ulimit -v), allocate on demand instead.
            Err(_) if key.pool_instances > 0 => engine_for(EngineKey { pool_instances: 0, ..key }),
            Err(e) => Err(e),
        }
        .map_err(|e| SandboxError::new(ErrorCode::Internal, format!("cannot create the wasmtime engine: {e:#}")))?;
        Ok(SandboxCore {
            permits: Arc::new(Semaphore::new(settings.max_concurrency)),
            settings,
            engine,
            inflight: Mutex::new(HashMap::new()),
            destroyed: AtomicBool::new(false),
            host: std::sync::OnceLock::new(),
        })
    }

    /// Binds the embedder's `host.call` answerer (once; later calls are ignored).
    pub fn set_host(&self, host: Arc<dyn HostCaller>) {
        let _ = self.host.set(host);
    }

    pub fn host(&self) -> Option<Arc<dyn HostCaller>> {
        self.host.get().cloned()
    }

    pub fn engine_arc(&self) -> Arc<SharedEngine> {
        self.engine.clone()
    }

    /// Unregisters `id` when dropped, however the work using it ends.
    pub(crate) fn registered(&self, id: u64) -> Registered<'_> {
        Registered { core: self, id }
    }

    /// Waits for a registered piece of work's concurrency slot (a session
    /// call, a session opening); it can still be cancelled or time out.
    /// QUEUE_TIMEOUT for a wait for one of the sandbox's maxConcurrency slots.
    fn slot_timeout(&self, what: Work) -> SandboxError {
        SandboxError::waited_too_long(
            ErrorCode::QueueTimeout,
            what,
            self.settings.queue_timeout.unwrap_or_default(),
            &format!("a free slot (maxConcurrency {})", self.settings.max_concurrency),
            "raise maxConcurrency or queueTimeoutMs",
        )
    }

    pub(crate) async fn take_slot(&self, registration: Registration, what: Work) -> SbResult<(Arc<CancelFlag>, OwnedSemaphorePermit)> {
        let Registration { flag, slot } = registration;
        let queue_timeout = self.settings.queue_timeout;
        let permit = tokio::select! {
            p = slot.wait() => p.map_err(|_| SandboxError::destroyed())?,
            () = flag.cancelled() => return Err(flag.to_error()),
            () = wait_until(queue_timeout.map(|d| tokio::time::Instant::now() + d)) => return Err(self.slot_timeout(what)),
        };
        if flag.reason().is_some() {
            return Err(flag.to_error());
        }
        Ok((flag, permit))
    }

    pub fn engine(&self) -> &SharedEngine {
        &self.engine
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether executes may start on the calling thread (inline.rs).
    pub fn starts_inline(&self) -> bool {
        self.settings.inline
    }

    fn inflight(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<CancelFlag>>> {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an execute before it starts, in call order: a cancel that
    /// arrives at once still finds it, and it takes its place in the
    /// sandbox's queue now, so executes get slots in the order they were
    /// called whatever order the worker threads pick them up in. Fails if the
    /// sandbox is destroyed.
    pub fn register(&self, id: u64) -> SbResult<Registration> {
        if self.destroyed.load(Ordering::SeqCst) {
            return Err(SandboxError::destroyed());
        }
        let flag = Arc::new(CancelFlag::default());
        self.inflight().insert(id, flag.clone());
        let mut wait: SlotFuture = Box::pin(self.permits.clone().acquire_owned());
        // One poll joins the semaphore's FIFO queue (or takes a free slot);
        // the task's own waker replaces the no-op one when it polls again.
        let slot = match wait.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(permit) => Slot::Taken(permit),
            Poll::Pending => Slot::Queued(wait),
        };
        Ok(Registration::new(flag, slot))
    }

    pub fn cancel(&self, id: u64) {
        if let Some(flag) = self.inflight().get(&id) {
            flag.cancel(CancelReason::Abort);
        }
    }

    /// Runs a registered execute to its end; always unregisters it, even
    /// when the future is dropped or unwinds.
    pub async fn execute(&self, id: u64, registration: Registration, req: ExecuteRequest) -> SbResult<ExecuteOutcome> {
        let _registered = Registered { core: self, id };
        self.execute_inner(registration, req).await
    }

    async fn execute_inner(&self, registration: Registration, req: ExecuteRequest) -> SbResult<ExecuteOutcome> {
        let Registration { flag, slot } = registration;
        if req.args.is_empty() {
            return Err(SandboxError::new(ErrorCode::CommandInvalid, "the command is empty: pass [modulePath, ...args]"));
        }
        if let ModuleSource::Path(p) = &req.source {
            if p.is_empty() {
                return Err(SandboxError::new(ErrorCode::CommandInvalid, "the module path is empty"));
            }
        }
        let queue_deadline = self.settings.queue_timeout.map(|d| tokio::time::Instant::now() + d);
        // Wait for a slot; a queued execute can still be cancelled or time out.
        let slot = tokio::select! {
            p = slot.wait() => p.map_err(|_| SandboxError::destroyed())?,
            () = flag.cancelled() => return Err(flag.to_error()),
            () = wait_until(queue_deadline) => return Err(self.slot_timeout(Work::Execute)),
        };
        // Then for its share of the process-wide memory budget.
        let mb = mb_for(self.settings.memory_limit_bytes);
        let budget = budget();
        if mb > budget.total_mb() {
            return Err(SandboxError::new(
                ErrorCode::MemoryBudget,
                format!(
                    "memoryLimitMb {mb} is over the process memory budget of {} MiB: lower it or raise the budget (MIMOBOX_MEMORY_BUDGET_MB / setProcessMemoryBudget)",
                    budget.total_mb()
                ),
            ));
        }
        let reserved = tokio::select! {
            r = budget.reserve(mb) => r.ok_or_else(|| SandboxError::new(ErrorCode::MemoryBudget, "memory budget unavailable"))?,
            () = flag.cancelled() => return Err(flag.to_error()),
            () = wait_until(queue_deadline) => return Err(SandboxError::waited_too_long(
                ErrorCode::MemoryBudget,
                Work::Execute,
                self.settings.queue_timeout.unwrap_or_default(),
                &format!("{mb} MiB of the process memory budget ({} MiB)", budget.total_mb()),
                "raise queueTimeoutMs, lower memoryLimitMb, or raise the budget (setProcessMemoryBudget / MIMOBOX_MEMORY_BUDGET_MB)",
            )),
        };
        // And for a pooling slot, when the engine has a pool.
        let pooled = match &self.engine.slots {
            Some(slots) => Some(tokio::select! {
                s = slots.acquire() => s.map_err(|_| SandboxError::new(ErrorCode::Internal, "instance pool closed"))?,
                () = flag.cancelled() => return Err(flag.to_error()),
                () = wait_until(queue_deadline) => return Err(SandboxError::waited_too_long(
                    ErrorCode::QueueTimeout,
                    Work::Execute,
                    self.settings.queue_timeout.unwrap_or_default(),
                    &format!("a free instance slot (pool {})", self.settings.pool_instances),
                    "raise pool or queueTimeoutMs",
                )),
            }),
            None => None,
        };
        if flag.reason().is_some() {
            return Err(flag.to_error());
        }
        let mut log = Vec::new();
        let name = req.args[0].clone();
        let loaded = match req.source {
            ModuleSource::Loaded(loaded) => loaded,
            // A compile cannot be stopped, but the execute need not wait for
            // it: an abort, destroy() or the deadline ends it at once (the
            // compile finishes on its blocking thread, bounded by bounds.rs).
            ModuleSource::Path(path) => match crate::slot::while_loading(self.load_path(path, req.entry.clone(), &mut log), &flag, self.settings.timeout).await {
                Ok(loaded) => loaded?,
                Err(timed_out) => return Ok(ExecuteOutcome { run: timed_out, log }),
            },
        };
        let entry = loaded.exports.entry(req.entry.as_deref(), &name)?;
        let outcome = run(
            &self.engine,
            &loaded,
            &self.settings,
            RunRequest { entry: &entry, args: &req.args, env: &req.env, stdin: req.stdin, inline: req.inline, host: self.host() },
            flag,
        )
        .await?;
        drop(pooled);
        drop(reserved);
        drop(slot);
        Ok(ExecuteOutcome { run: outcome, log })
    }

    /// Runs a load on a blocking thread: reading, hashing and compiling can
    /// take long, and must stay off the workers that run guests.
    async fn load_blocking<F>(&self, load: F) -> SbResult<(LoadedModule, Vec<LogLine>)>
    where
        F: FnOnce(&Loader, &mut Vec<LogLine>) -> SbResult<LoadedModule> + Send + 'static,
    {
        let loader = Loader { settings: self.settings.clone(), engine: self.engine.clone() };
        tokio::task::spawn_blocking(move || {
            let mut log = Vec::new();
            load(&loader, &mut log).map(|m| (m, log))
        })
        .await
        .map_err(|e| SandboxError::new(ErrorCode::Internal, format!("module loading failed: {e}")))?
    }

    async fn load_path(&self, path: String, entry: Option<String>, log: &mut Vec<LogLine>) -> SbResult<LoadedModule> {
        if let Some(loaded) = lookup_fast(&self.engine, &path, self.settings.unknown_imports) {
            return Ok(loaded);
        }
        let (loaded, lines) = self
            .load_blocking(move |loader, log| {
                let check = entry.as_deref().map_or(EntryCheck::Default, EntryCheck::Named);
                load_module(&loader.engine, &path, &loader.options(check), log)
            })
            .await?;
        log.extend(lines);
        Ok(loaded)
    }

    /// Loads a module once (from a file or from bytes) for repeated runs
    /// that skip the per-execute path checks. With `entry`, that export must
    /// exist; without, the module needs a default entry or must be a reactor.
    pub async fn load(&self, source: LoadSource, entry: Option<String>, for_session: bool) -> SbResult<(LoadedModule, Vec<LogLine>)> {
        if self.destroyed.load(Ordering::SeqCst) {
            return Err(SandboxError::destroyed());
        }
        self.load_blocking(move |loader, log| {
            let check = match entry.as_deref() {
                Some(name) => EntryCheck::Named(name),
                None if for_session => EntryCheck::Any,
                None => EntryCheck::Runnable,
            };
            match &source {
                LoadSource::Path(path) => load_module(&loader.engine, path, &loader.options(check), log),
                LoadSource::Bytes { name, bytes } => load_bytes_cached(&loader.engine, name, bytes, &loader.options(check), log),
            }
        })
        .await
    }

    /// Stops every in-flight execute (they fail with DESTROYED), refuses new
    /// ones, and returns once all have finished.
    pub async fn destroy(&self) {
        self.destroyed.store(true, Ordering::SeqCst);
        self.permits.close();
        loop {
            let flags: Vec<Arc<CancelFlag>> = self.inflight().values().cloned().collect();
            if flags.is_empty() {
                return;
            }
            for f in flags {
                f.cancel(CancelReason::Destroy);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// What a load on a blocking thread needs of its sandbox.
struct Loader {
    settings: Settings,
    engine: Arc<SharedEngine>,
}

impl Loader {
    fn options<'a>(&'a self, entry: EntryCheck<'a>) -> LoadOptions<'a> {
        LoadOptions {
            cache: self.settings.cache,
            cache_dir: self.settings.cache_dir.as_deref(),
            max_module_bytes: self.settings.max_module_bytes,
            unknown_imports: self.settings.unknown_imports,
            entry,
        }
    }
}

pub(crate) struct Registered<'a> {
    core: &'a SandboxCore,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.core.inflight().remove(&self.id);
    }
}

/// Module bytes or a path, for `SandboxCore::load`.
pub enum LoadSource {
    Path(String),
    Bytes { name: String, bytes: Vec<u8> },
}
