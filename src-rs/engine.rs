//! A wasmtime `Engine` for one engine configuration (`EngineKey`), with its
//! `Linker` and one epoch ticker thread; registry.rs shares them per key.

use crate::settings::{EPOCH_TICK, TICKS_PER_CHECK};
use crate::store::StoreState;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use crate::scan::FuncSig;
use crate::settings::MAX_MEMORY_BYTES;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, OptLevel, PoolingAllocationConfig};

/// Room on each async fiber stack beyond the wasm stack, for host calls
/// (WASI, wasmtime's own frames) made at the deepest wasm frame.
const HOST_STACK_HEADROOM: usize = 1536 * 1024;
/// Table elements a pooling slot can hold (address space only).
const POOL_TABLE_ELEMENTS: usize = 10_000_000;
/// Version of wasmtime Cargo.lock pins (read by build.rs); part of the cache directory's name.
pub const WASMTIME_VERSION: &str = env!("MIMOBOX_WASMTIME_VERSION");

/// The settings that need a different `Engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EngineKey {
    pub fuel: bool,
    /// Pooling allocator with this many instance slots; 0 = on-demand allocation.
    pub pool_instances: u32,
    /// Deepest wasm stack (the fiber stacks are sized to match).
    pub stack_bytes: usize,
}

impl EngineKey {
    /// The engine these settings run on.
    pub fn of(settings: &crate::settings::Settings) -> EngineKey {
        EngineKey {
            fuel: settings.fuel != crate::settings::FuelMode::Off,
            pool_instances: settings.pool_instances,
            stack_bytes: settings.stack_bytes,
        }
    }
}

pub struct SharedEngine {
    pub key: EngineKey,
    pub engine: Engine,
    pub linker: Linker<StoreState>,
    /// Identifies compiled artefacts this engine can load (version + settings).
    pub compat_tag: String,
    ticker: Ticker,
    pub modules: crate::loaded::ModuleMap,
    /// One permit per pooling slot: executes wait for a slot instead of
    /// failing when every slot is in use. None with on-demand allocation.
    pub slots: Option<tokio::sync::Semaphore>,
}

impl SharedEngine {
    /// Marks one execution in flight; the ticker runs while any guard lives.
    /// `inline`: it starts with an inline slice, which needs the fine tick.
    pub fn active(&self, inline: bool) -> ActiveGuard<'_> {
        self.ticker.activate(inline);
        ActiveGuard { ticker: &self.ticker }
    }
}

fn build_config(key: EngineKey) -> Config {
    let mut config = Config::new();
    config
        .cranelift_opt_level(OptLevel::Speed)
        .consume_fuel(key.fuel)
        .epoch_interruption(true)
        .max_wasm_stack(key.stack_bytes)
        .async_stack_size(fiber_stack_bytes(key.stack_bytes))
        // Exception handling (exnref: C++ exceptions, setjmp/longjmp in
        // interpreters such as CPython) is on by default with the `gc`
        // feature; its exception objects live on a GC heap, which the
        // deferred-reference-counting collector frees as they die.
        .collector(wasmtime::Collector::DeferredReferenceCounting)
        .parallel_compilation(true);
    if key.pool_instances > 0 {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(key.pool_instances)));
    }
    config
}

fn fiber_stack_bytes(wasm_stack: usize) -> usize {
    (wasm_stack + HOST_STACK_HEADROOM).next_multiple_of(64 << 10)
}

/// Pre-reserved slots (address space only until used) for instances,
/// memories, tables and fiber stacks: a hot execute then maps nothing, and
/// memories are initialised copy-on-write from the module image.
fn pooling_config(n: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(n)
        .total_tables(n.saturating_mul(4))
        .total_stacks(n)
        // A store's GC heap (exception objects) takes a memory slot of its
        // own, beside the guest's linear memory.
        .total_gc_heaps(n)
        .total_memories(n.saturating_mul(2))
        .max_memories_per_module(1)
        .max_tables_per_module(4)
        // V8's own maximum, so every module the JS backend accepts fits a
        // slot; the limiter still refuses tables over MAX_TABLE_ELEMENTS at
        // instantiation, as a memory trap, the same on both backends.
        .table_elements(POOL_TABLE_ELEMENTS)
        .max_memory_size(usize::try_from(MAX_MEMORY_BYTES).unwrap_or(usize::MAX))
        .max_core_instance_size(4 << 20)
        // Reset small memories with memset rather than madvise: cheaper for
        // the short-lived guests a pool exists for.
        .linear_memory_keep_resident(64 << 10)
        .table_keep_resident(16 << 10);
    pool
}

fn compat_tag(engine: &Engine) -> String {
    // DefaultHasher::new() uses fixed keys: the tag is stable for this binary.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("wasmtime-{}-{:016x}", WASMTIME_VERSION, hasher.finish())
}

/// A new engine for `key`, with its linker and ticker (registry.rs shares them).
pub(crate) fn build(key: EngineKey) -> wasmtime::Result<SharedEngine> {
    let engine = Engine::new(&build_config(key))?;
    let mut linker: Linker<StoreState> = Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s: &mut StoreState| &mut s.wasi)?;
    // wasmtime-wasi refuses proc_exit codes >= 126; guests legitimately exit
    // with any u32 (255 is common), so report the code as given.
    linker.allow_shadowing(true);
    linker.func_wrap("wasi_snapshot_preview1", "proc_exit", |status: i32| -> wasmtime::Result<()> {
        Err(wasmtime_wasi::I32Exit(status).into())
    })?;
    linker.allow_shadowing(false);
    // host.call(ptr, len, out_ptr_ptr, out_len_ptr) -> i32 is the door some
    // guests (CPython's `host` module) use to ask their host for things
    // (host/call.rs). With no host bound it answers -1, "no host here", which
    // such guests turn into a clean error of their own instead of a trap.
    linker.func_wrap_async(
        HOST_MODULE,
        HOST_CALL,
        |mut caller: wasmtime::Caller<'_, StoreState>, (ptr, len, out_ptr, out_len): (i32, i32, i32, i32)| {
            Box::new(async move { crate::host::call::serve(&mut caller, ptr, len, out_ptr, out_len).await })
        },
    )?;
    #[cfg(feature = "test-hooks")]
    linker.func_wrap(TEST_HOOK_MODULE, "panic", || -> wasmtime::Result<()> { panic!("deliberate test panic") })?;
    crate::host::fd_cap::install(&mut linker)?;
    crate::host::shadows::install(&mut linker)?;
    let compat_tag = compat_tag(&engine);
    let ticker = Ticker::start(engine.clone());
    let slots = (key.pool_instances > 0).then(|| tokio::sync::Semaphore::new(key.pool_instances as usize));
    Ok(SharedEngine { key, engine, linker, compat_tag, ticker, modules: Default::default(), slots })
}

const HOST_MODULE: &str = "host";
#[cfg(feature = "test-hooks")]
const TEST_HOOK_MODULE: &str = "mimobox_test";
const HOST_CALL: &str = "call";

/// Every function of `wasi_snapshot_preview1` the linker defines.
pub const WASI_P1_FUNCTIONS: [&str; 46] = [
    "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get", "clock_time_get",
    "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
    "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
    "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
    "fd_sync", "fd_tell", "fd_write", "path_create_directory", "path_filestat_get", "path_filestat_set_times",
    "path_link", "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
    "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "sched_yield", "random_get", "sock_accept",
    "sock_recv", "sock_send", "sock_shutdown",
];

/// Whether the linker provides this function import (by name; a WASI
/// function of the wrong type is still refused when linking).
pub fn provides_import(module: &str, name: &str, sig: &FuncSig) -> bool {
    match module {
        "wasi_snapshot_preview1" => WASI_P1_FUNCTIONS.contains(&name),
        HOST_MODULE => name == HOST_CALL && sig.to_string() == "(i32, i32, i32, i32) -> i32",
        #[cfg(feature = "test-hooks")]
        TEST_HOOK_MODULE => name == "panic",
        _ => false,
    }
}

#[derive(Default)]
struct TickerState {
    active: usize,
    stop: bool,
    /// Waiting for work: only then does `activate` need to wake it.
    parked: bool,
    /// Sleeping a coarse period: an inline start must wake it.
    coarse: bool,
    /// Tick finely until then: an inline slice started recently.
    fine_until: Option<Instant>,
}

/// How long the ticker keeps going after the last execution ends, so
/// back-to-back executes do not park and wake the thread each time.
const LINGER: Duration = Duration::from_millis(100);
/// How long it keeps the fine tick after the last inline start.
const FINE_LINGER: Duration = Duration::from_millis(100);

/// Advances the engine's epoch while executions are in flight, and sleeps on
/// a condvar (no busy loop) while none are. The epoch counts EPOCH_TICKs of
/// time either way, but the thread wakes every tick only while inline slices
/// run (they end two ticks in); otherwise it wakes every TICKS_PER_CHECK
/// ticks and advances by as many, which is when workers' guests check their
/// deadlines anyway: a busy server, whose executes start on workers, pays for
/// 100 wake-ups a second, not 2,000.
struct Ticker {
    state: Arc<(Mutex<TickerState>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine) -> Ticker {
        let state: Arc<(Mutex<TickerState>, Condvar)> = Arc::default();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("mimobox-epoch".into())
            .spawn(move || ticker_loop(&engine, &thread_state))
            .ok();
        Ticker { state, thread }
    }

    fn activate(&self, inline: bool) {
        let (lock, cvar) = &*self.state;
        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
        s.active += 1;
        if inline {
            s.fine_until = Some(Instant::now() + FINE_LINGER);
        }
        if s.parked || (inline && s.coarse) {
            s.parked = false;
            cvar.notify_all();
        }
    }

    fn deactivate(&self) {
        let (lock, _) = &*self.state;
        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
        s.active = s.active.saturating_sub(1);
    }

    #[cfg(test)]
    fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

fn ticker_loop(engine: &Engine, state: &(Mutex<TickerState>, Condvar)) {
    let (lock, cvar) = state;
    let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
    let mut idle_since: Option<Instant> = None;
    loop {
        if s.stop {
            return;
        }
        if s.active == 0 {
            if idle_since.get_or_insert_with(Instant::now).elapsed() >= LINGER {
                s.parked = true;
                while s.parked && !s.stop {
                    s = cvar.wait(s).unwrap_or_else(|e| e.into_inner());
                }
                idle_since = None;
                continue;
            }
        } else {
            idle_since = None;
        }
        let fine = s.fine_until.is_some_and(|until| Instant::now() < until);
        let period = if fine { EPOCH_TICK } else { EPOCH_TICK * TICKS_PER_CHECK as u32 };
        s.coarse = !fine;
        let slept = Instant::now();
        // Only `stop`, work after parking, or an inline start notify.
        let (guard, waited) = cvar.wait_timeout(s, period).unwrap_or_else(|e| e.into_inner());
        s = guard;
        s.coarse = false;
        if !s.stop {
            // As many ticks as passed, so the epoch keeps time; one when an
            // inline start woke it early, whose slice (two ticks) just began.
            let passed = slept.elapsed().as_micros() / EPOCH_TICK.as_micros();
            let ticks = if waited.timed_out() { passed.clamp(1, u128::from(TICKS_PER_CHECK)) } else { 1 };
            for _ in 0..ticks {
                engine.increment_epoch();
            }
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        {
            let (lock, cvar) = &*self.state;
            let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
            s.stop = true;
            s.parked = false;
            cvar.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub struct ActiveGuard<'a> {
    ticker: &'a Ticker,
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.ticker.deactivate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasmtime_version_comes_from_the_lock_file() {
        let lock = include_str!("../Cargo.lock");
        assert!(lock.contains(&format!("name = \"wasmtime\"\nversion = \"{WASMTIME_VERSION}\"")), "{WASMTIME_VERSION}");
    }

    #[test]
    fn ticker_thread_stops_and_joins_when_engine_dropped() {
        let shared = build(EngineKey { fuel: false, pool_instances: 0, stack_bytes: 512 << 10 }).unwrap();
        assert!(shared.ticker.is_running());
        {
            let _g1 = shared.active(false);
            let _g2 = shared.active(true);
            assert_eq!(shared.ticker.state.0.lock().unwrap().active, 2);
        }
        assert_eq!(shared.ticker.state.0.lock().unwrap().active, 0);
        let state = shared.ticker.state.clone();
        drop(shared); // joins the thread: would hang here if the loop ignored `stop`
        assert!(state.0.lock().unwrap().stop);
        assert_eq!(Arc::strong_count(&state), 1, "ticker thread released its state");
    }

    #[test]
    fn provided_imports_are_exactly_what_the_linker_defines() {
        let shared = build(EngineKey { fuel: false, pool_instances: 0, stack_bytes: 512 << 10 }).unwrap();
        let (wasi, _) = crate::host::wasi_ctx::build_wasi(&crate::settings::Settings::default(), &[], &[], Vec::new()).unwrap();
        let state = StoreState::for_tests(wasi);
        let mut store = wasmtime::Store::new(&shared.engine, state);
        let mut defined: Vec<(String, String)> =
            shared.linker.iter(&mut store).map(|(m, n, _)| (m.to_owned(), n.to_owned())).collect();
        defined.sort();
        defined.dedup();
        let mut listed: Vec<(String, String)> = WASI_P1_FUNCTIONS
            .iter()
            .map(|n| ("wasi_snapshot_preview1".to_owned(), (*n).to_owned()))
            .chain([("host".to_owned(), "call".to_owned())])
            .collect();
        listed.sort();
        assert_eq!(defined, listed);
        let host_call = FuncSig { params: vec!["i32".into(); 4], results: vec!["i32".into()] };
        assert!(provides_import("host", "call", &host_call));
        assert!(!provides_import("host", "call", &FuncSig { params: vec![], results: vec![] }));
        assert!(!provides_import("env", "fd_write", &host_call));
    }
}
