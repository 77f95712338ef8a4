//! The inline start: an execute's first slice runs on the calling (Node)
//! thread, so a guest that finishes within it (hello world, a small filter)
//! resolves without two thread hand-offs, each of which costs tens of
//! microseconds on a VM. Whatever does not finish within the slice is
//! handed, mid-run, to the worker threads and never comes back.
//!
//! What bounds the time spent on the calling thread:
//! - wasm code: the store's epoch deadline, `INLINE_SLICE_TICKS` ticks of
//!   the engine's fine epoch (store.rs), after which the guest yields and its
//!   executor moves it; no fuel needed, so every engine may start inline;
//! - host calls: every WASI call is shadowed (`host/shadows.rs`); on the calling
//!   thread each first checks the slice's clock, and calls whose cost the
//!   guest sets through their arguments (large reads and writes, randomness,
//!   subscriptions, paths) move to a worker before they run;
//! - instantiation, which copies data and element segments without fuel:
//!   modules with large ones never start inline (`scan::ModuleScan::inline_ok`).

use crate::settings::{EPOCH_TICK, INLINE_SLICE_TICKS};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::Caller;

/// Wall-clock budget of the inline slice, checked at every host call: as
/// long as the epoch bound on wasm code.
pub const INLINE_SLICE_TIME: Duration = Duration::from_micros(EPOCH_TICK.as_micros() as u64 * INLINE_SLICE_TICKS);

/// Shared by the binding (which knows where the execute is polled) and the
/// store (which must stop slicing once it has moved to a worker).
#[derive(Debug, Default)]
pub struct InlineGate {
    moved: AtomicBool,
}

impl InlineGate {
    /// Called by the binding before it hands the execute to the workers.
    pub fn leave(&self) {
        self.moved.store(true, Ordering::Release);
    }
    pub fn on_caller_thread(&self) -> bool {
        !self.moved.load(Ordering::Acquire)
    }
}

/// The slice state a store carries while it may be on the calling thread.
pub struct InlineSlice {
    gate: Arc<InlineGate>,
    until: Instant,
}

impl InlineSlice {
    pub fn new(gate: Arc<InlineGate>, started: Instant) -> Self {
        InlineSlice { gate, until: started + INLINE_SLICE_TIME }
    }
}

/// Executes of the process not yet finished. An inline start pays off only
/// when the calling thread is otherwise idle: with others in flight it is the
/// thread that starts and resolves all of them, and slices run on it take
/// that time from every other execute, which the workers would run side by
/// side (bench/inline-adapt.mjs measures both).
static IN_FLIGHT: AtomicU32 = AtomicU32::new(0);

/// Counts one execute in flight until dropped.
pub struct InFlight(());

impl InFlight {
    /// Counts an execute; with it, whether it may start inline (no other
    /// execute of the process is in flight).
    pub fn enter() -> (InFlight, bool) {
        let others = IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
        (InFlight(()), others == 0)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Per module: whether its executes tend to finish within the slice. One
/// that runs past it costs the calling thread (Node's event loop) a whole
/// slice for nothing. So a miss weighs 2 and a finish -1: past `SKIP_AT` the module starts on a
/// worker, trying inline again one start in `RETRY_EVERY`. A lone miss does
/// not trip it; long runs mixed with short ones (a judge's test inputs) do.
#[derive(Debug, Default)]
pub struct InlineHistory {
    debt: AtomicU32,
    skipped: AtomicU32,
}

const SKIP_AT: u32 = 3;
const RETRY_EVERY: u32 = 32;

impl InlineHistory {
    pub fn should_try(&self) -> bool {
        self.debt.load(Ordering::Relaxed) < SKIP_AT
            || self.skipped.fetch_add(1, Ordering::Relaxed) % RETRY_EVERY == RETRY_EVERY - 1
    }
    pub fn record(&self, finished_inline: bool) {
        let _ = self.debt.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
            Some(if finished_inline { d.saturating_sub(1) } else { d.saturating_add(2).min(4 * SKIP_AT) })
        });
    }
}

/// What the inline start needs of a store's state: its slice, while the
/// execute may still be on the calling thread.
pub trait InlineState {
    fn inline_slice(&self) -> Option<&InlineSlice>;
    fn end_inline_slice(&mut self);
}

/// Runs first in every shadowed host call. On a worker it ends the slice
/// (once). On the calling thread it moves the execute to a worker first when
/// the slice's time is up or `costly` says this call is too big to run here.
pub async fn at_host_call<T: InlineState>(
    caller: &mut Caller<'_, T>,
    costly: impl FnOnce(&mut Caller<'_, T>) -> bool,
) -> wasmtime::Result<()> {
    if must_move(caller, costly)? {
        YieldOnce(false).await;
    }
    Ok(())
}

fn must_move<T: InlineState>(caller: &mut Caller<'_, T>, costly: impl FnOnce(&mut Caller<'_, T>) -> bool) -> wasmtime::Result<bool> {
    let Some(slice) = caller.data().inline_slice() else { return Ok(false) };
    if !slice.gate.on_caller_thread() {
        caller.data_mut().end_inline_slice();
        return Ok(false);
    }
    Ok(Instant::now() >= slice.until || costly(caller))
}

/// Returns Pending once (after waking itself): the executor polling the
/// execute then moves it to a worker.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Makes the executor polling this execute move it to a worker: the binding
/// does when its first poll returns Pending.
pub async fn move_to_worker() {
    YieldOnce(false).await;
}

/// Polls `fut` once on this thread. Ready: its output. Pending: the gate is
/// left, so the guest stops slicing, and the future comes back to be
/// spawned on the workers (it must be polled inside the tokio runtime).
pub fn poll_inline<F: Future + Unpin>(mut fut: F, gate: &InlineGate) -> Result<F::Output, F> {
    match Pin::new(&mut fut).poll(&mut Context::from_waker(std::task::Waker::noop())) {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => {
            gate.leave();
            Err(fut)
        }
    }
}

// What may start inline at all: judged once per module (scan.rs), before
// it compiles, and recorded with its artefact.

/// Data segment bytes and element entries above which a module never starts
/// inline: instantiating it copies that much before any guest code runs.
pub(crate) const MAX_INLINE_DATA_BYTES: u64 = 1 << 20;
pub(crate) const MAX_INLINE_ELEMENTS: u64 = 65_536;
/// Modules above this size never start inline: their bodies are not read
/// for long instructions (below), which would cost too much per compile.
pub(crate) const MAX_INLINE_MODULE_BYTES: usize = 8 << 20;

/// Whether a function body holds an instruction whose length the guest
/// chooses (a bulk memory, table or array operation: milliseconds to seconds
/// in one instruction). The epoch that bounds an inline slice is checked only
/// at function entries and loop headers, so such a module never starts
/// inline. Unreadable bodies count as such; validation reports them.
pub(crate) fn has_long_instruction(body: &wasmparser::FunctionBody<'_>) -> bool {
    use wasmparser::Operator as Op;
    let Ok(mut ops) = body.get_operators_reader() else { return true };
    while !ops.eof() {
        match ops.read() {
            Err(_) => return true,
            Ok(
                Op::MemoryFill { .. }
                | Op::MemoryCopy { .. }
                | Op::MemoryInit { .. }
                | Op::TableFill { .. }
                | Op::TableCopy { .. }
                | Op::TableInit { .. }
                | Op::TableGrow { .. }
                | Op::ArrayNew { .. }
                | Op::ArrayNewDefault { .. }
                | Op::ArrayNewData { .. }
                | Op::ArrayNewElem { .. }
                | Op::ArrayFill { .. }
                | Op::ArrayCopy { .. }
                | Op::ArrayInitData { .. }
                | Op::ArrayInitElem { .. },
            ) => return true,
            Ok(_) => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_skips_modules_that_keep_running_past_the_slice() {
        let h = InlineHistory::default();
        h.record(false);
        assert!(h.should_try(), "one miss alone does not skip");
        h.record(true);
        h.record(false);
        let tries = (0..RETRY_EVERY * 2).filter(|_| h.should_try()).count();
        assert_eq!(tries, 2, "misses mixed with finishes skip, with one retry in {RETRY_EVERY}");
        for _ in 0..3 {
            h.record(true);
        }
        assert!(h.should_try(), "finishing inline again pays the debt back");
        let always = InlineHistory::default();
        for _ in 0..100 {
            always.record(true);
        }
        assert!(always.should_try());
    }
}
