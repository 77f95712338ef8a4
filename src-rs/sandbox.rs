//! A sandbox: settings, its shared engine, a concurrency limit and the
//! registry of in-flight executes (for AbortSignal and destroy()).

use crate::cache::{load_module, lookup_fast, CachePolicy};
use crate::engine::{engine_for, EngineKey, SharedEngine};
use crate::error::{ErrorCode, SandboxError, SbResult};
use crate::run::{run, CancelFlag, CancelReason, RunOutcome, RunRequest};
use crate::settings::{FuelMode, Settings};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

pub struct ExecuteRequest {
    pub path: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
}

#[derive(Debug)]
pub struct ExecuteOutcome {
    pub run: RunOutcome,
    pub log: Vec<String>,
}

pub struct SandboxCore {
    settings: Settings,
    engine: Arc<SharedEngine>,
    permits: Semaphore,
    inflight: Mutex<HashMap<u64, Arc<CancelFlag>>>,
    destroyed: AtomicBool,
}

impl SandboxCore {
    pub fn new(settings: Settings) -> SbResult<SandboxCore> {
        settings.validate()?;
        let key = EngineKey { fuel: settings.fuel != FuelMode::Off };
        let engine = engine_for(key)
            .map_err(|e| SandboxError::new(ErrorCode::Internal, format!("cannot create the wasmtime engine: {e:#}")))?;
        Ok(SandboxCore {
            permits: Semaphore::new(settings.max_concurrency),
            settings,
            engine,
            inflight: Mutex::new(HashMap::new()),
            destroyed: AtomicBool::new(false),
        })
    }

    pub fn engine(&self) -> &SharedEngine {
        &self.engine
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn inflight(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<CancelFlag>>> {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an execute before it starts, so a cancel that arrives at
    /// once still finds it. Fails if the sandbox is destroyed.
    pub fn register(&self, id: u64) -> SbResult<Arc<CancelFlag>> {
        if self.destroyed.load(Ordering::SeqCst) {
            return Err(SandboxError::new(ErrorCode::Destroyed, "this sandbox was destroyed: create a new one"));
        }
        let flag = Arc::new(CancelFlag::default());
        self.inflight().insert(id, flag.clone());
        Ok(flag)
    }

    pub fn cancel(&self, id: u64) {
        if let Some(flag) = self.inflight().get(&id) {
            flag.cancel(CancelReason::Abort);
        }
    }

    /// Runs a registered execute to its end; always unregisters it, even
    /// when the future is dropped or unwinds.
    pub async fn execute(&self, id: u64, flag: Arc<CancelFlag>, req: ExecuteRequest) -> SbResult<ExecuteOutcome> {
        let _registered = Registered { core: self, id };
        self.execute_inner(flag, req).await
    }

    async fn execute_inner(&self, flag: Arc<CancelFlag>, req: ExecuteRequest) -> SbResult<ExecuteOutcome> {
        if req.args.is_empty() || req.path.is_empty() {
            return Err(SandboxError::new(ErrorCode::CommandInvalid, "the command is empty: pass [modulePath, ...args]"));
        }
        // Wait for a slot; a queued execute can still be cancelled or time out.
        let acquire = self.permits.acquire();
        let permit = tokio::select! {
            p = acquire => p.map_err(|_| SandboxError::new(ErrorCode::Destroyed, "this sandbox was destroyed"))?,
            () = flag.cancelled() => return Err(flag.to_error()),
            () = queue_wait(self.settings.queue_timeout) => return Err(SandboxError::new(
                ErrorCode::QueueTimeout,
                format!("the execute waited over {} ms for a free slot (maxConcurrency {}): raise maxConcurrency or queueTimeoutMs",
                    self.settings.queue_timeout.map_or(0, |d| d.as_millis()), self.settings.max_concurrency),
            )),
        };
        if let Some(_reason) = flag.reason() {
            return Err(flag.to_error());
        }
        let mut log = Vec::new();
        let loaded = match lookup_fast(&self.engine, &req.path) {
            Some(loaded) => loaded,
            None => {
                // Reading, hashing and compiling can take long: keep them off
                // the workers that run guests.
                let engine = self.engine.clone();
                let path = req.path.clone();
                let (enabled, dir) = (self.settings.cache, self.settings.cache_dir.clone());
                let (loaded, lines) = tokio::task::spawn_blocking(move || {
                    let mut lines = Vec::new();
                    let policy = CachePolicy { enabled, dir: dir.as_deref() };
                    (load_module(&engine, &path, &policy, &mut lines), lines)
                })
                .await
                .map_err(|e| SandboxError::new(ErrorCode::Internal, format!("module loading failed: {e}")))?;
                log = lines;
                loaded?
            }
        };
        let outcome = run(
            &self.engine,
            &loaded,
            &self.settings,
            RunRequest { args: &req.args, env: &req.env, stdin: req.stdin },
            flag,
        )
        .await?;
        drop(permit);
        Ok(ExecuteOutcome { run: outcome, log })
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

struct Registered<'a> {
    core: &'a SandboxCore,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.core.inflight().remove(&self.id);
    }
}

async fn queue_wait(limit: Option<Duration>) {
    match limit {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
