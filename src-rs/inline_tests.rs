//! Tests of the inline start (inline.rs): executes started the way the
//! binding starts them, first poll on the calling thread.

use crate::loaded::LoadedModule;
use crate::error::SbResult;
use crate::inline::{poll_inline, InlineGate};
use crate::sandbox::{ExecuteOutcome, ExecuteRequest, LoadSource, ModuleSource, SandboxCore};
use crate::settings::Settings;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn guest(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test/guests").join(rel)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

static NEXT: AtomicU64 = AtomicU64::new(1_000_000);

/// The module's bytes plus a custom section unique to this call: a module of
/// its own in the engine's map, so with an inline history of its own.
fn fresh_module(rt: &tokio::runtime::Runtime, core: &SandboxCore, rel: &str) -> LoadedModule {
    let mut bytes = std::fs::read(guest(rel)).unwrap();
    let tag = NEXT.fetch_add(1, Ordering::Relaxed).to_le_bytes();
    // Custom section: id 0, size, name "t" (length 1), then the tag.
    bytes.extend_from_slice(&[0, 1 + 1 + tag.len() as u8, 1, b't']);
    bytes.extend_from_slice(&tag);
    rt.block_on(core.load(LoadSource::Bytes { name: rel.into(), bytes }, None, false)).unwrap().0
}

struct Started {
    finished_inline: bool,
    /// CPU time the calling thread spent in the first poll: what the slice
    /// took from it, whatever other threads on a loaded machine were doing.
    first_poll: Duration,
    outcome: SbResult<ExecuteOutcome>,
}

/// This thread's CPU time (wall time where there is no per-thread clock).
#[cfg(unix)]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec we own; CLOCK_THREAD_CPUTIME_ID
    // exists on Linux and macOS.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(u64::try_from(ts.tv_sec).unwrap_or(0), u32::try_from(ts.tv_nsec).unwrap_or(0))
}

#[cfg(not(unix))]
fn thread_cpu_time() -> Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

/// Starts an execute as the binding does and runs it to its end.
fn start(rt: &tokio::runtime::Runtime, core: &Arc<SandboxCore>, module: &LoadedModule, args: &[&str]) -> Started {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let gate = Arc::new(InlineGate::default());
    let mut argv = vec!["guest.wasm".to_owned()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let req = ExecuteRequest { source: ModuleSource::Loaded(module.clone()), args: argv, env: vec![], stdin: vec![], entry: None, inline: Some(gate.clone()) };
    let flag = core.register(id).unwrap();
    let c = core.clone();
    let task = Box::pin(async move { c.execute(id, flag, req).await });
    let entered = rt.enter();
    let t = thread_cpu_time();
    let first = poll_inline(task, &gate);
    let first_poll = thread_cpu_time().saturating_sub(t);
    drop(entered);
    match first {
        Ok(outcome) => Started { finished_inline: true, first_poll, outcome },
        Err(task) => Started { finished_inline: false, first_poll, outcome: rt.block_on(task) },
    }
}

fn core_with(s: Settings) -> Arc<SandboxCore> {
    Arc::new(SandboxCore::new(Settings { max_concurrency: 4, cache: false, ..s }).unwrap())
}

/// Finishing inline is opportunistic: a start that finds no free slot, no
/// memory budget or a busy machine (other tests run alongside) moves. Of
/// several starts at least one must finish inline, and every one correctly.
#[test]
fn hello_finishes_on_the_calling_thread() {
    let rt = runtime();
    let core = core_with(Settings::default());
    let mut inline = 0;
    for _ in 0..6 {
        let hello = fresh_module(&rt, &core, "wat/hello.wasm");
        let s = start(&rt, &core, &hello, &[]);
        inline += usize::from(s.finished_inline);
        let out = s.outcome.unwrap().run;
        assert_eq!((out.stdout.bytes.as_slice(), out.exit_code), (&b"hello, world\n"[..], Some(0)));
    }
    assert!(inline > 0, "no start of hello finished on the calling thread");
}

#[test]
fn a_long_guest_moves_to_a_worker_and_ends_the_same() {
    let rt = runtime();
    let core = core_with(Settings::default());
    let reference = {
        let worker_only = core_with(Settings { inline: false, ..Settings::default() });
        let m = fresh_module(&rt, &worker_only, "c/nbody.wasm");
        let s = start(&rt, &worker_only, &m, &["20000"]);
        assert!(!s.finished_inline, "inline: false must never finish on the calling thread");
        s.outcome.unwrap().run
    };
    assert_eq!(reference.exit_code, Some(0));
    // ~30 M fuel units: many slices. Both tries the history allows move.
    let nbody = fresh_module(&rt, &core, "c/nbody.wasm");
    for _ in 0..2 {
        let s = start(&rt, &core, &nbody, &["20000"]);
        assert!(!s.finished_inline);
        let out = s.outcome.unwrap().run;
        assert_eq!((out.stdout.bytes, out.exit_code), (reference.stdout.bytes.clone(), Some(0)));
        // Exact accounting survives the move and the fuel yields.
        assert_eq!(out.fuel_consumed, reference.fuel_consumed);
    }
}

#[test]
fn exact_fuel_is_the_same_inline_or_not() {
    let rt = runtime();
    let s = Settings { fuel: crate::settings::FuelMode::Exact(2_000_000), ..Settings::default() };
    let inline = core_with(s.clone());
    let worker = core_with(Settings { inline: false, ..s });
    let a = start(&rt, &inline, &fresh_module(&rt, &inline, "c/nbody.wasm"), &["100000"]).outcome.unwrap().run;
    let b = start(&rt, &worker, &fresh_module(&rt, &worker, "c/nbody.wasm"), &["100000"]).outcome.unwrap().run;
    assert!(a.timed_out && b.timed_out);
    assert_eq!(a.fuel_consumed, Some(2_000_000));
    assert_eq!(b.fuel_consumed, Some(2_000_000));
}

/// Guests whose single instructions or calls are long: a 32 MiB memory.fill
/// (never started inline: the epoch is not checked inside one instruction,
/// scan.rs), a 32 MiB random_get, a 16 MiB fd_write (moved before they run),
/// an endless run of cheap host calls (the slice's clock) and a bare loop
/// (the slice's epoch deadline). Each must hand the calling thread back at
/// once (the first three take milliseconds per instruction or call) and
/// still be stopped by its timeout on a worker. Checked on the fastest of
/// five starts, each of a fresh copy of the module (so each really tries
/// inline). The bound is 5 ms of the calling thread's CPU time (not wall
/// time, which a loaded machine stretches): the slice is 0.5–1 ms; without
/// its checks the first poll would spend a whole long instruction or call
/// (30 ms and more here) or the 200 ms timeout on that thread.
#[test]
fn unbounded_work_leaves_the_calling_thread_at_once() {
    let rt = runtime();
    let core = core_with(Settings { timeout: Duration::from_millis(200), ..Settings::default() });
    for rel in ["wat/fill_loop.wasm", "wat/random_flood.wasm", "wat/write_big.wasm", "wat/hostcall_loop.wasm", "wat/loop.wasm"] {
        let mut fastest = Duration::MAX;
        for _ in 0..5 {
            let module = fresh_module(&rt, &core, rel);
            let s = start(&rt, &core, &module, &[]);
            assert!(!s.finished_inline, "{rel}");
            assert!(s.outcome.unwrap().run.timed_out, "{rel}");
            fastest = fastest.min(s.first_poll);
        }
        assert!(fastest < Duration::from_millis(5), "{rel}: the first poll held the calling thread for {fastest:?}");
    }
}

#[test]
fn every_shadowed_wasi_call_keeps_its_signature() {
    let core = core_with(Settings::default());
    let engine = core.engine();
    let module = wasmtime::Module::from_file(&engine.engine, guest("wat/all_imports.wasm")).unwrap();
    let mut plain: wasmtime::Linker<crate::store::StoreState> = wasmtime::Linker::new(&engine.engine);
    wasmtime_wasi::p1::add_to_linker_async(&mut plain, |s| &mut s.wasi).unwrap();
    plain.instantiate_pre(&module).expect("all_imports.wat matches wasmtime-wasi's signatures");
    engine.linker.instantiate_pre(&module).expect("our shadows keep wasmtime-wasi's signatures");
}
