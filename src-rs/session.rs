//! Sessions: one instance kept alive across calls (an interpreter that keeps
//! its globals from one turn to the next). Each call has its own deadline,
//! fuel, output capture and door record; the memory cap, the pool slot and
//! the memory-budget reservation hold for the session's whole life. A call
//! that does not return (trap, timeout, exit, abort) ends the session: an
//! unwound instance is never entered again.

use crate::budget::{budget, mb_for};
use crate::loaded::LoadedModule;
use crate::engine::SharedEngine;
use crate::error::{ErrorCode, SandboxError, SbResult, Work};
use crate::door::HostCaller;
use crate::scan::Exports;
use crate::run::{drive, outcome, Finished, RunOutcome};
use crate::store::{new_store, CancelFlag, StoreState};
use crate::sandbox::{Registration, SandboxCore};
use crate::slot::wait_until;
use crate::settings::FuelMode;
use crate::host::wasi_ctx::{build_wasi, GuestIo};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::SemaphorePermit;
use wasmtime::{Instance, Store};

/// The allocator export a call's input is written through, by default.
pub const DEFAULT_ALLOC_EXPORT: &str = "host_alloc";

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Closed,
    Timeout,
    Trap,
    Exit,
    Aborted,
    Destroyed,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Closed => "closed",
            EndReason::Timeout => "timeout",
            EndReason::Trap => "trap",
            EndReason::Exit => "exit",
            EndReason::Aborted => "aborted",
            EndReason::Destroyed => "destroyed",
        }
    }
}

/// One call: which export, its input, its own limits.
pub struct SessionCall {
    pub export: String,
    pub input: Option<Vec<u8>>,
    pub alloc: Option<String>,
    pub timeout: Option<Duration>,
    pub fuel: Option<u64>,
}

#[derive(Debug)]
pub struct CallOutcome {
    pub run: RunOutcome,
    /// The export's i32 result, when it returned one.
    pub return_value: Option<i32>,
    /// Set when this call ended the session.
    pub ended: Option<EndReason>,
}

/// A pool slot held for the session's life (the instance occupies it).
struct PoolSlot(Arc<SharedEngine>);

impl Drop for PoolSlot {
    fn drop(&mut self) {
        if let Some(slots) = &self.0.slots {
            slots.add_permits(1);
        }
    }
}

struct Live {
    store: Store<StoreState>,
    instance: Instance,
    io: GuestIo,
    // Dropped after the store, which releases the instance: field order.
    _slot: Option<PoolSlot>,
    _memory: SemaphorePermit<'static>,
}

pub struct SessionCore {
    sandbox: Arc<SandboxCore>,
    exports: Arc<Exports>,
    live: tokio::sync::Mutex<Option<Live>>,
    ended: Mutex<Option<EndReason>>,
}

impl SessionCore {
    /// Instantiates `loaded` (running `_initialize` when it exports one,
    /// under the sandbox's timeout and fuel) and keeps the instance.
    pub async fn open(
        sandbox: Arc<SandboxCore>,
        id: u64,
        registration: Registration,
        loaded: LoadedModule,
        args: Vec<String>,
        env: Vec<(String, String)>,
        host: Option<Arc<dyn HostCaller>>,
    ) -> SbResult<SessionCore> {
        let owner = sandbox.clone();
        let _registered = owner.registered(id);
        // One queueTimeoutMs for every wait before the instance exists, as an execute has.
        let queue_deadline = sandbox.settings().queue_timeout.map(|d| tokio::time::Instant::now() + d);
        let (flag, permit) = sandbox.take_slot(registration, Work::SessionOpen).await?;
        let settings = sandbox.settings().clone();
        let engine = sandbox.engine_arc();
        let mb = mb_for(settings.memory_limit_bytes);
        if mb > budget().total_mb() {
            return Err(SandboxError::new(
                ErrorCode::MemoryBudget,
                format!("memoryLimitMb {mb} is over the process memory budget of {} MiB: lower it or raise the budget", budget().total_mb()),
            ));
        }
        let memory = tokio::select! {
            r = budget().reserve(mb) => r.ok_or_else(|| SandboxError::new(ErrorCode::MemoryBudget, "memory budget unavailable"))?,
            () = flag.cancelled() => return Err(flag.to_error()),
            () = wait_until(queue_deadline) => return Err(SandboxError::waited_too_long(
                ErrorCode::MemoryBudget,
                Work::SessionOpen,
                settings.queue_timeout.unwrap_or_default(),
                &format!("{mb} MiB of the process memory budget ({} MiB)", budget().total_mb()),
                "raise queueTimeoutMs, lower memoryLimitMb, or raise the budget (setProcessMemoryBudget / MIMOBOX_MEMORY_BUDGET_MB)",
            )),
        };
        let slot = match &engine.slots {
            Some(slots) => {
                let permit = tokio::select! {
                    s = slots.acquire() => s.map_err(|_| SandboxError::new(ErrorCode::Internal, "instance pool closed"))?,
                    () = flag.cancelled() => return Err(flag.to_error()),
                    () = wait_until(queue_deadline) => return Err(SandboxError::waited_too_long(
                        ErrorCode::QueueTimeout,
                        Work::SessionOpen,
                        settings.queue_timeout.unwrap_or_default(),
                        &format!("a free instance slot (pool {})", settings.pool_instances),
                        "raise pool or queueTimeoutMs",
                    )),
                };
                // Held by the session, given back when it drops (PoolSlot).
                permit.forget();
                Some(PoolSlot(engine.clone()))
            }
            None => None,
        };
        let (wasi, io) = build_wasi(&settings, &args, &env, Vec::new())?;
        let started = Instant::now();
        let deadline = started + settings.timeout;
        let host = host.or_else(|| sandbox.host());
        let mut store = new_store(&engine.engine, &settings, wasi, deadline, flag.clone(), None, host);
        let budget_fuel = settings.fuel_budget();
        if engine.key.fuel {
            store.set_fuel(budget_fuel.unwrap_or(u64::MAX)).map_err(internal)?;
        }
        let initialize = loaded.exports.initializes();
        let _active = engine.active(false);
        let opening = async {
            let instance = loaded.pre.instantiate_async(&mut store).await?;
            if initialize {
                let init = instance.get_typed_func::<(), ()>(&mut store, "_initialize")?;
                init.call_async(&mut store, ()).await?;
            }
            Ok(instance)
        };
        let opened = drive(opening, &flag, deadline).await;
        drop(permit);
        match opened {
            Ok(instance) => {
                // What _initialize printed is not any call's output.
                io.stdout.take();
                io.stderr.take();
                let live = Live { store, instance, io, _slot: slot, _memory: memory };
                Ok(SessionCore { sandbox, exports: loaded.exports.clone(), live: tokio::sync::Mutex::new(Some(live)), ended: Mutex::new(None) })
            }
            Err(error) => {
                let events = store.data_mut().take_limit_events();
                let finished = Finished { result: Err(error), events, elapsed_ms: ms_since(started), fuel_consumed: None, door: Default::default() };
                let out = outcome(finished, &io, &flag)?;
                let why = out.error.unwrap_or_else(|| format!("it exited with code {}", out.exit_code.unwrap_or(0)));
                Err(SandboxError::new(ErrorCode::SessionEnded, format!("the session could not open: instantiating or _initialize failed: {why}")))
            }
        }
    }

    fn ended(&self) -> std::sync::MutexGuard<'_, Option<EndReason>> {
        self.ended.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why the session ended, once it has.
    pub fn end_reason(&self) -> Option<EndReason> {
        *self.ended()
    }

    fn end(&self, live: &mut Option<Live>, reason: EndReason) {
        *live = None;
        self.ended().get_or_insert(reason);
    }

    fn ended_error(&self) -> SandboxError {
        let reason = self.end_reason().map_or("closed", EndReason::as_str);
        SandboxError::new(ErrorCode::SessionEnded, format!("the session has ended ({reason}): open a new one"))
    }

    /// Runs one export of the kept instance. Err for refusals before any
    /// guest code runs (the session goes on) and for cancellation (it ends).
    pub async fn call(&self, id: u64, registration: Registration, call: SessionCall) -> SbResult<CallOutcome> {
        let _registered = self.sandbox.registered(id);
        let mut guard = self.live.lock().await;
        let Some(live) = guard.as_mut() else {
            return Err(self.ended_error());
        };
        let settings = self.sandbox.settings();
        let engine = self.sandbox.engine_arc();
        let timeout = call.timeout.unwrap_or(settings.timeout);
        let budget_fuel = match (call.fuel, settings.fuel) {
            (Some(_), FuelMode::Off) => {
                return Err(SandboxError::new(ErrorCode::ConfigInvalid, "fuel: this sandbox meters no fuel; create it with a fuel budget (fuel: N) to give calls budgets of their own"))
            }
            (Some(n), FuelMode::Exact(_)) => Some(n),
            (None, FuelMode::Exact(n)) => Some(n),
            (None, FuelMode::Off) => None,
        };
        let with_input = call.input.is_some();
        let returns_i32 = self.exports.call_export(&call.export, with_input)?;
        let alloc_name = call.alloc.as_deref().unwrap_or(DEFAULT_ALLOC_EXPORT);
        let alloc = match &call.input {
            Some(_) => Some(live.instance.get_typed_func::<i32, i32>(&mut live.store, alloc_name).map_err(|_| {
                SandboxError::new(ErrorCode::NoEntry, format!("the session's module exports no {alloc_name}(i32) -> i32 to place the call's input in: name its allocator with `alloc`"))
            })?),
            None => None,
        };
        let input = call.input.unwrap_or_default();
        let input_len = i32::try_from(input.len())
            .map_err(|_| SandboxError::new(ErrorCode::ConfigInvalid, "input: at most 2 GiB - 1 bytes"))?;
        // Wait for this sandbox's concurrency slot like any execute.
        let (flag, permit) = self.sandbox.take_slot(registration, Work::SessionCall).await?;
        let started = Instant::now();
        let deadline = started + timeout;
        {
            let state = live.store.data_mut();
            state.deadline = deadline;
            state.cancel = flag.clone();
            state.door.log = Default::default();
            state.take_limit_events();
        }
        if engine.key.fuel {
            live.store.set_fuel(budget_fuel.unwrap_or(u64::MAX)).map_err(internal)?;
        }
        let _active = engine.active(false);
        let store = &mut live.store;
        let instance = live.instance;
        let export = call.export.as_str();
        let running = async {
            let ptr = match alloc {
                Some(alloc) => {
                    let at = alloc.call_async(&mut *store, input_len).await?;
                    place_input(&mut *store, &instance, at, &input)
                }
                None => 0,
            };
            let value: Option<i32> = match (with_input, returns_i32) {
                (true, true) => Some(instance.get_typed_func::<(i32, i32), i32>(&mut *store, export)?.call_async(&mut *store, (ptr, input_len)).await?),
                (true, false) => {
                    instance.get_typed_func::<(i32, i32), ()>(&mut *store, export)?.call_async(&mut *store, (ptr, input_len)).await?;
                    None
                }
                (false, true) => Some(instance.get_typed_func::<(), i32>(&mut *store, export)?.call_async(&mut *store, ()).await?),
                (false, false) => {
                    instance.get_typed_func::<(), ()>(&mut *store, export)?.call_async(&mut *store, ()).await?;
                    None
                }
            };
            Ok(value)
        };
        let result = drive(running, &flag, deadline).await;
        drop(permit);
        let elapsed_ms = ms_since(started);
        let fuel_consumed = if engine.key.fuel {
            budget_fuel.and_then(|b| live.store.get_fuel().ok().map(|left| b.saturating_sub(left)))
        } else {
            None
        };
        let events = live.store.data_mut().take_limit_events();
        let door = std::mem::take(&mut live.store.data_mut().door.log);
        let return_value = result.as_ref().ok().copied().flatten();
        let returned = result.is_ok();
        let exited = result.as_ref().err().is_some_and(|e| e.downcast_ref::<wasmtime_wasi::I32Exit>().is_some());
        // A call that returned has exit code 0; its own value is `return_value`.
        let finished = Finished { result: result.map(|_| 0u32), events, elapsed_ms, fuel_consumed, door };
        let run = match outcome(finished, &live.io, &flag) {
            Ok(run) => run,
            Err(cancelled) => {
                let reason = if cancelled.code == ErrorCode::Destroyed { EndReason::Destroyed } else { EndReason::Aborted };
                self.end(&mut guard, reason);
                return Err(cancelled);
            }
        };
        let ended = if returned {
            None
        } else if exited {
            Some(EndReason::Exit)
        } else if run.timed_out {
            Some(EndReason::Timeout)
        } else {
            Some(EndReason::Trap)
        };
        if let Some(reason) = ended {
            self.end(&mut guard, reason);
        }
        Ok(CallOutcome { run, return_value, ended })
    }

    /// Ends the session: first, when `shutdown` names an export of type
    /// `() -> ()` or `() -> i32`, calls it within `budget`. Waits for a call
    /// in progress to finish; a no-op once ended.
    pub async fn close(&self, shutdown: Option<String>, budget: Duration) {
        let mut guard = self.live.lock().await;
        if let (Some(live), Some(name)) = (guard.as_mut(), shutdown) {
            if self.exports.call_export(&name, false).is_ok() {
                let flag = Arc::new(CancelFlag::default());
                let deadline = Instant::now() + budget;
                live.store.data_mut().deadline = deadline;
                live.store.data_mut().cancel = flag.clone();
                let engine = self.sandbox.engine_arc();
                if let Some(fuel) = self.sandbox.settings().fuel_budget() {
                    let _ = live.store.set_fuel(fuel);
                }
                let _active = engine.active(false);
                let store = &mut live.store;
                let instance = live.instance;
                let ending = async {
                    let f = instance.get_func(&mut *store, &name).ok_or_else(|| wasmtime::format_err!("no export {name}"))?;
                    let mut results = vec![wasmtime::Val::I32(0); f.ty(&*store).results().len()];
                    f.call_async(&mut *store, &[], &mut results).await
                };
                // Whatever the shutdown does, the session ends now.
                let _ = drive(ending, &flag, deadline).await;
            }
        }
        self.end(&mut guard, EndReason::Closed);
    }
}

/// Copies a call's input to where the guest's allocator put room for it.
/// When the allocator gives no room (0, or a range outside memory), the
/// export gets pointer 0 with the length, and the guest decides: CPython's
/// `turn` raises MemoryError for its code.
fn place_input(store: &mut Store<StoreState>, instance: &Instance, at: i32, input: &[u8]) -> i32 {
    let Some(memory) = instance.get_memory(&mut *store, "memory") else {
        return 0;
    };
    let start = at as u32 as usize;
    let Some(end) = start.checked_add(input.len()) else {
        return 0;
    };
    match memory.data_mut(&mut *store).get_mut(start..end) {
        Some(room) if at != 0 || input.is_empty() => {
            room.copy_from_slice(input);
            at
        }
        _ => 0,
    }
}

fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

fn internal(e: wasmtime::Error) -> SandboxError {
    SandboxError::new(ErrorCode::Internal, format!("session store: {e}"))
}
