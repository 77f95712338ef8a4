//! One execution: a fresh Store with limits, fuel and a deadline,
//! instantiate, call the entry, and classify how it ended.

use crate::cache::LoadedModule;
use crate::scan::Entry;
use crate::engine::SharedEngine;
use crate::inline::{InlineGate, InlineSlice};
use crate::error::{ErrorCode, SandboxError, SbResult};
use crate::host_call::{Door, DoorLog, HostCaller};
use crate::outcome::{classify, Cancelled, DeadlineReached, Ending, LimitEvents};
use crate::output::CaptureResult;
use crate::settings::{Settings, MAX_TABLE_ELEMENTS};
use crate::wasi_ctx::{build_wasi, GuestIo};
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;

/// Why an execution was asked to stop early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    Abort = 1,
    Destroy = 2,
}

/// Shared between the caller (AbortSignal, destroy) and a running guest.
#[derive(Default, Debug)]
pub struct CancelFlag {
    reason: AtomicU8,
    notify: Notify,
}

impl CancelFlag {
    pub fn cancel(&self, reason: CancelReason) {
        if self.reason.compare_exchange(0, reason as u8, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            self.notify.notify_one();
        }
    }
    pub fn reason(&self) -> Option<CancelReason> {
        match self.reason.load(Ordering::SeqCst) {
            1 => Some(CancelReason::Abort),
            2 => Some(CancelReason::Destroy),
            _ => None,
        }
    }
    pub async fn cancelled(&self) {
        if self.reason().is_none() {
            self.notify.notified().await;
        }
    }
    pub fn to_error(&self) -> SandboxError {
        match self.reason() {
            Some(CancelReason::Destroy) => {
                SandboxError::new(ErrorCode::Destroyed, "the sandbox was destroyed while this execute ran")
            }
            _ => SandboxError::new(ErrorCode::Aborted, "the execute was aborted"),
        }
    }
}

/// StoreLimits' rules (memory cap, 1 memory, 4 tables, 1 instance, trap on
/// refused growth) plus a record of what was refused, so a refused grow is
/// classified as a memory outcome whatever error text carries it.
pub struct GuestLimiter {
    memory_bytes: usize,
    events: LimitEvents,
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes || maximum.is_some_and(|m| desired > m) {
            self.events.memory_refused = true;
            wasmtime::bail!(
                "memory limit: the guest asked for {desired} bytes of linear memory, over the {} byte cap",
                self.memory_bytes
            );
        }
        Ok(true)
    }
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.events.memory_refused = true;
        Err(error.context("memory growth failed"))
    }
    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS || maximum.is_some_and(|m| desired > m) {
            self.events.table_refused = true;
            wasmtime::bail!("table limit: the guest asked for {desired} table elements, over the {MAX_TABLE_ELEMENTS} cap");
        }
        Ok(true)
    }
    fn instances(&self) -> usize {
        1
    }
    fn tables(&self) -> usize {
        4
    }
    fn memories(&self) -> usize {
        1
    }
}

pub struct StoreState {
    pub wasi: WasiP1Ctx,
    pub open_files: crate::fd_cap::OpenFiles,
    limiter: GuestLimiter,
    pub(crate) deadline: Instant,
    pub(crate) cancel: Arc<CancelFlag>,
    /// Some while the execute may still be on the calling thread.
    pub inline: Option<InlineSlice>,
    /// Who answers `host.call`, and what it answered.
    pub door: Door,
}

impl StoreState {
    #[cfg(test)]
    pub(crate) fn for_tests(wasi: WasiP1Ctx) -> StoreState {
        StoreState {
            wasi,
            open_files: Default::default(),
            limiter: GuestLimiter { memory_bytes: 1 << 20, events: LimitEvents::default() },
            deadline: Instant::now(),
            cancel: Arc::default(),
            inline: None,
            door: Door::default(),
        }
    }

    /// The limiter's record, cleared for the next session call.
    pub(crate) fn take_limit_events(&mut self) -> LimitEvents {
        std::mem::take(&mut self.limiter.events)
    }
}

/// A store with the sandbox's limits and the epoch callback that stops the
/// guest at `state.deadline` or when `state.cancel` is set.
pub(crate) fn new_store(engine: &SharedEngine, settings: &Settings, wasi: WasiP1Ctx, deadline: Instant, cancel: Arc<CancelFlag>, inline: Option<InlineSlice>, host: Option<Arc<dyn HostCaller>>) -> Store<StoreState> {
    let limiter = GuestLimiter {
        memory_bytes: usize::try_from(settings.memory_limit_bytes).unwrap_or(usize::MAX),
        events: LimitEvents::default(),
    };
    let door = Door { host, log: Default::default() };
    let mut store = Store::new(&engine.engine, StoreState { wasi, open_files: Default::default(), limiter, deadline, cancel, inline, door });
    store.limiter(|s| &mut s.limiter);
    // Every tick the guest yields to the executor; the callback stops it at
    // the deadline or on cancellation, and otherwise lets it run one more tick.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|ctx| {
        let state = ctx.data();
        if state.cancel.reason().is_some() {
            return Err(wasmtime::Error::new(Cancelled));
        }
        if Instant::now() >= state.deadline {
            return Err(wasmtime::Error::new(DeadlineReached));
        }
        Ok(UpdateDeadline::Yield(1))
    });
    store
}

/// Polls a guest's call to its end, or stops it at the deadline or on
/// cancellation. The epoch callback only runs inside wasm code; a guest
/// blocked in a host call (poll_oneoff sleeping, a read, the host door) is
/// stopped here instead, by dropping its future.
pub(crate) async fn drive<T>(call: impl Future<Output = wasmtime::Result<T>>, gate: Option<Arc<InlineGate>>, cancel: &CancelFlag, deadline: Instant) -> wasmtime::Result<T> {
    let call = std::pin::pin!(call);
    let call = crate::inline::ThroughYields::new(call, gate);
    tokio::select! {
        r = call => r,
        () = cancel.cancelled() => Err(wasmtime::Error::new(Cancelled)),
        () = tokio::time::sleep_until(deadline.into()) => Err(wasmtime::Error::new(DeadlineReached)),
    }
}

/// What a finished call's parts say about how it ended.
pub(crate) struct Finished {
    pub result: Result<u32, wasmtime::Error>,
    pub events: LimitEvents,
    pub elapsed_ms: f64,
    pub fuel_consumed: Option<u64>,
    pub door: DoorLog,
}

/// Classifies a finished call into its outcome; Err for cancellation.
pub(crate) fn outcome(f: Finished, io: &GuestIo, cancel: &CancelFlag) -> SbResult<RunOutcome> {
    let ending = classify(f.result.as_ref().map(|c| *c), f.events);
    let elapsed_ms = f.elapsed_ms;
    let mut out = RunOutcome {
        stdout: io.stdout.take(),
        stderr: io.stderr.take(),
        exit_code: None,
        timed_out: false,
        trap: None,
        error: None,
        elapsed_ms,
        fuel_consumed: f.fuel_consumed,
        host_faults: f.door.faults,
    };
    match ending {
        Ending::Exited(code) => out.exit_code = Some(code),
        Ending::TimedOut { reason } => {
            out.timed_out = true;
            out.error = Some(format!("{reason} after {elapsed_ms:.0} ms"));
        }
        Ending::Trapped { kind, message, exit_code } => {
            out.trap = Some(kind);
            out.error = Some(message);
            out.exit_code = exit_code;
        }
        Ending::Cancelled => return Err(cancel.to_error()),
    }
    Ok(out)
}

#[derive(Debug)]
pub struct RunOutcome {
    pub stdout: CaptureResult,
    pub stderr: CaptureResult,
    pub exit_code: Option<u32>,
    pub timed_out: bool,
    pub trap: Option<&'static str>,
    pub error: Option<String>,
    pub elapsed_ms: f64,
    pub fuel_consumed: Option<u64>,
    /// What the host door recorded: the embedder's errors, each answered -2.
    pub host_faults: Vec<String>,
}

pub struct RunRequest<'a> {
    pub entry: &'a Entry,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub stdin: Vec<u8>,
    pub inline: Option<Arc<InlineGate>>,
    pub host: Option<Arc<dyn HostCaller>>,
}

/// Instantiates and runs `loaded`. Returns Err only for cancellation and
/// host-side failures; everything the guest does is an outcome.
pub async fn run(
    engine: &SharedEngine,
    loaded: &LoadedModule,
    settings: &Settings,
    req: RunRequest<'_>,
    cancel: Arc<CancelFlag>,
) -> SbResult<RunOutcome> {
    // Guest code runs on the calling thread only on a fuel-metered engine,
    // for a module whose instantiation is short and whose executes tend to
    // finish within the slice (inline.rs); otherwise move before any.
    let history = loaded.inline.as_ref().filter(|_| engine.key.fuel && settings.inline);
    let on_caller_thread = req.inline.as_ref().is_some_and(|g| g.on_caller_thread());
    if on_caller_thread && !history.is_some_and(|h| h.should_try()) {
        crate::inline::move_to_worker().await;
    }
    let started = Instant::now();
    let deadline = started + settings.timeout;
    let (wasi, io) = build_wasi(settings, req.args, req.env, req.stdin)?;
    // Set while this execute still runs on the calling thread.
    let gate = req.inline.filter(|gate| gate.on_caller_thread());
    let inline = gate.clone().map(|gate| InlineSlice::new(gate, started));
    let mut store = new_store(engine, settings, wasi, deadline, cancel.clone(), inline, req.host);
    let budget = if engine.key.fuel { settings.fuel_budget() } else { None };
    if engine.key.fuel {
        // A fuel engine always needs fuel set; Off mode never reaches here.
        store
            .set_fuel(budget.unwrap_or(u64::MAX))
            .map_err(|e| SandboxError::new(ErrorCode::Internal, format!("set_fuel: {e}")))?;
    }
    if gate.is_some() {
        crate::inline::begin(&mut store).map_err(|e| SandboxError::new(ErrorCode::Internal, format!("inline slice: {e}")))?;
    }
    let _active = engine.active();

    let call = async {
        let instance = loaded.pre.instantiate_async(&mut store).await?;
        match req.entry {
            Entry::Start => {
                let f = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
                f.call_async(&mut store, ()).await.map(|()| 0u32)
            }
            Entry::Main { params: 0 } => {
                let f = instance.get_typed_func::<(), i32>(&mut store, "main")?;
                f.call_async(&mut store, ()).await.map(|v| v as u32)
            }
            Entry::Main { .. } => {
                let f = instance.get_typed_func::<(i32, i32), i32>(&mut store, "main")?;
                f.call_async(&mut store, (0, 0)).await.map(|v| v as u32)
            }
            Entry::Export { name, returns_i32, initialize } => {
                // A WASI reactor sets itself up in `_initialize` first.
                if *initialize {
                    let init = instance.get_typed_func::<(), ()>(&mut store, "_initialize")?;
                    init.call_async(&mut store, ()).await?;
                }
                if *returns_i32 {
                    let f = instance.get_typed_func::<(), i32>(&mut store, name)?;
                    f.call_async(&mut store, ()).await.map(|v| v as u32)
                } else {
                    let f = instance.get_typed_func::<(), ()>(&mut store, name)?;
                    f.call_async(&mut store, ()).await.map(|()| 0u32)
                }
            }
        }
    };
    let result = drive(call, gate.clone(), &cancel, deadline).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    if let (Some(history), Some(gate)) = (history, &gate) {
        history.record(gate.on_caller_thread());
    }
    let events = store.data().limiter.events;
    let fuel_consumed = budget.and_then(|b| store.get_fuel().ok().map(|left| b.saturating_sub(left)));
    let door = std::mem::take(&mut store.data_mut().door.log);
    drop(store);
    outcome(Finished { result, events, elapsed_ms, fuel_consumed, door }, &io, &cancel)
}
