//! One execution: a fresh Store with limits, fuel and a deadline,
//! instantiate, call the entry, and classify how it ended.

use crate::loaded::LoadedModule;
use crate::scan::Entry;
use crate::engine::SharedEngine;
use crate::inline::{InlineGate, InlineSlice};
use crate::error::{ErrorCode, SandboxError, SbResult};
use crate::door::{DoorLog, HostCaller};
use crate::outcome::{classify, Cancelled, DeadlineReached, Ending, LimitEvents};
use crate::store::{new_store, CancelFlag};
use crate::output::CaptureResult;
use crate::settings::Settings;
use crate::host::wasi_ctx::{build_wasi, GuestIo};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// Polls a guest's call to its end, or stops it at the deadline or on
/// cancellation. The epoch callback only runs inside wasm code; a guest
/// blocked in a host call (poll_oneoff sleeping, a read, the host door) is
/// stopped here instead, by dropping its future.
pub(crate) async fn drive<T>(call: impl Future<Output = wasmtime::Result<T>>, cancel: &CancelFlag, deadline: Instant) -> wasmtime::Result<T> {
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
        host_faults: f.door.into_faults(),
        limit: None,
    };
    match ending {
        Ending::Exited(code) => out.exit_code = Some(code),
        Ending::TimedOut { reason, limit } => {
            out.timed_out = true;
            out.error = Some(format!("{reason} after {elapsed_ms:.0} ms"));
            out.limit = Some(limit.as_str());
        }
        Ending::Trapped { kind, message, exit_code, limit } => {
            out.trap = Some(kind);
            out.error = Some(message);
            out.exit_code = exit_code;
            out.limit = limit.map(crate::outcome::Limit::as_str);
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
    /// Which limit stopped the guest ("wall_clock", "fuel", "memory", "table", "stack").
    pub limit: Option<&'static str>,
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
    // Guest code runs on the calling thread only for a module whose
    // instantiation is short and whose executes tend to finish within the
    // slice (inline.rs); otherwise it moves before any.
    let history = loaded.inline.as_ref().filter(|_| settings.inline);
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
    // Before the store takes its epoch deadline: an inline start switches
    // the ticker to its fine tick first, so the slice gets its two ticks.
    let _active = engine.active(gate.is_some());
    let mut store = new_store(&engine.engine, settings, wasi, deadline, cancel.clone(), inline, req.host);
    let budget = if engine.key.fuel { settings.fuel_budget() } else { None };
    if engine.key.fuel {
        // A fuel engine always needs fuel set (only `fuel: N` builds one).
        store
            .set_fuel(budget.unwrap_or(u64::MAX))
            .map_err(|e| SandboxError::new(ErrorCode::Internal, format!("set_fuel: {e}")))?;
    }

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
    let result = drive(call, &cancel, deadline).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    if let (Some(history), Some(gate)) = (history, &gate) {
        history.record(gate.on_caller_thread());
    }
    let events = store.data_mut().take_limit_events();
    let fuel_consumed = budget.and_then(|b| store.get_fuel().ok().map(|left| b.saturating_sub(left)));
    let door = std::mem::take(&mut store.data_mut().door.log);
    drop(store);
    outcome(Finished { result, events, elapsed_ms, fuel_consumed, door }, &io, &cancel)
}
