//! What a store holds for one guest, and the store itself: the limiter
//! (memory, tables, instances), the deadline and the cancel flag the epoch
//! callback reads, the door's state, the open-file record and the inline
//! slice. Everything above (host calls, the engine, runs, sessions) builds on
//! this; it knows nothing of them.

use crate::door::{Door, HostCaller};
use crate::error::{SandboxError, Work};
use crate::inline::{InlineSlice, InlineState};
use crate::outcome::{Cancelled, DeadlineReached, LimitEvents};
use crate::settings::{Settings, INLINE_SLICE_TICKS, MAX_TABLE_ELEMENTS, TICKS_PER_CHECK};
use crate::host::fd_budget::FdShare;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Notify;
use wasmtime::{Engine, ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;

/// Per-store record of the descriptors the guest opened, each holding its
/// share of the process-wide budget (given back when removed or dropped).
#[derive(Default)]
pub struct OpenFiles {
    fds: HashMap<u32, FdShare>,
}

impl OpenFiles {
    pub fn count(&self) -> usize {
        self.fds.len()
    }
    pub(crate) fn insert(&mut self, fd: u32, share: FdShare) {
        self.fds.insert(fd, share);
    }
    /// Forgets `fd`, giving its share back.
    pub(crate) fn remove(&mut self, fd: u32) {
        self.fds.remove(&fd);
    }
    /// Forgets `fd` and hands its share over (to the descriptor it moved to).
    pub(crate) fn remove_keep(&mut self, fd: u32) -> Option<FdShare> {
        self.fds.remove(&fd)
    }
}

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
            Some(CancelReason::Destroy) => SandboxError::destroyed(),
            _ => SandboxError::aborted(Work::Execute),
        }
    }
}

/// StoreLimits' rules (memory cap, 1 memory, 4 tables, 1 instance, trap on
/// refused growth) plus a record of what was refused, so a refused grow is
/// classified as a memory outcome whatever error text carries it.
///
/// The cap holds for every memory of the store together: the linear memory
/// and the GC heap (exception objects, GC structs and arrays), which wasmtime
/// also grows through the limiter. Counted apart, a 256 MiB cap let a guest
/// use 398 MiB, and the process memory budget (which reserves the cap)
/// under-counted by as much.
pub struct GuestLimiter {
    memory_bytes: usize,
    /// Bytes of all the store's memories, as last grown.
    used_bytes: usize,
    events: LimitEvents,
}

impl GuestLimiter {
    fn new(memory_bytes: usize) -> GuestLimiter {
        GuestLimiter { memory_bytes, used_bytes: 0, events: LimitEvents::default() }
    }
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        // A failed grow is not given back (memory_grow_failed cannot say of
        // which memory): the count errs on the safe side.
        let total = self.used_bytes.saturating_sub(current).saturating_add(desired);
        if total > self.memory_bytes || maximum.is_some_and(|m| desired > m) {
            self.events.memory_refused = true;
            wasmtime::bail!(
                "memory limit: the guest asked for {desired} bytes of memory ({total} with its other memories and GC heap), over the {} byte cap",
                self.memory_bytes
            );
        }
        self.used_bytes = total;
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
    pub open_files: OpenFiles,
    limiter: GuestLimiter,
    pub deadline: Instant,
    pub cancel: Arc<CancelFlag>,
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
            limiter: GuestLimiter::new(1 << 20),
            deadline: Instant::now(),
            cancel: Arc::default(),
            inline: None,
            door: Door::default(),
        }
    }

    /// The limiter's record, cleared for the next session call.
    pub fn take_limit_events(&mut self) -> LimitEvents {
        std::mem::take(&mut self.limiter.events)
    }
}

/// A store with the sandbox's limits and the epoch callback that stops the
/// guest at `state.deadline` or when `state.cancel` is set.
pub fn new_store(engine: &Engine, settings: &Settings, wasi: WasiP1Ctx, deadline: Instant, cancel: Arc<CancelFlag>, inline: Option<InlineSlice>, host: Option<Arc<dyn HostCaller>>) -> Store<StoreState> {
    let limiter = GuestLimiter::new(usize::try_from(settings.memory_limit_bytes).unwrap_or(usize::MAX));
    let door = Door { host, log: Default::default() };
    let mut store = Store::new(engine, StoreState { wasi, open_files: Default::default(), limiter, deadline, cancel, inline, door });
    store.limiter(|s| &mut s.limiter);
    // An inline slice yields after INLINE_SLICE_TICKS (its executor then
    // moves it to a worker); from then on the guest yields to the executor
    // every TICKS_PER_CHECK, when the callback stops it at the deadline or on
    // cancellation and otherwise lets it run on.
    store.set_epoch_deadline(if store.data().inline.is_some() { INLINE_SLICE_TICKS } else { TICKS_PER_CHECK });
    store.epoch_deadline_callback(|ctx| {
        let state = ctx.data();
        if state.cancel.reason().is_some() {
            return Err(wasmtime::Error::new(Cancelled));
        }
        if Instant::now() >= state.deadline {
            return Err(wasmtime::Error::new(DeadlineReached));
        }
        Ok(UpdateDeadline::Yield(TICKS_PER_CHECK))
    });
    store
}


impl InlineState for StoreState {
    fn inline_slice(&self) -> Option<&InlineSlice> {
        self.inline.as_ref()
    }
    fn end_inline_slice(&mut self) {
        self.inline = None;
    }
}
