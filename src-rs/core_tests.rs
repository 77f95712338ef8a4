//! End-to-end tests of the core (no Node): real guests from test/guests
//! through SandboxCore, one per limit and error path.

use crate::error::ErrorCode;
use crate::run::RunOutcome;
use crate::sandbox::{ExecuteRequest, ModuleSource, SandboxCore};
use crate::settings::{DirGrant, FuelMode, Settings};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn guest(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test/guests").join(rel).display().to_string()
}

fn settings(cache_dir: &std::path::Path) -> Settings {
    Settings { cache_dir: Some(cache_dir.to_path_buf()), max_concurrency: 8, ..Settings::default() }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

async fn exec(core: &SandboxCore, path: &str, args: &[&str], stdin: &[u8]) -> Result<(RunOutcome, Vec<crate::log::LogLine>), crate::error::SandboxError> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let flag = core.register(id)?;
    let mut argv = vec![path.to_owned()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let req = ExecuteRequest { source: ModuleSource::Path(path.to_owned()), args: argv, env: vec![("HOME".into(), "/tmp".into())], stdin: stdin.to_vec(), entry: None, inline: None };
    core.execute(id, flag, req).await.map(|o| (o.run, o.log))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_world_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let core = SandboxCore::new(settings(tmp.path())).unwrap();
    let (out, _) = exec(&core, &guest("wat/hello.wasm"), &[], b"").await.unwrap();
    assert_eq!(out.stdout.bytes, b"hello, world\n");
    assert_eq!(out.exit_code, Some(0));
    for code in ["0", "3", "255"] {
        let (out, _) = exec(&core, &guest("c/exit_code.wasm"), &[code], b"").await.unwrap();
        assert_eq!(out.exit_code, Some(code.parse().unwrap()));
    }
    let (out, _) = exec(&core, &guest("wat/main_only.wasm"), &[], b"").await.unwrap();
    assert_eq!(out.exit_code, Some(42));
    let (out, _) = exec(&core, &guest("c/echo_stdin.wasm"), &[], b"from stdin").await.unwrap();
    assert_eq!(out.stdout.bytes, b"from stdin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_errors_are_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let core = SandboxCore::new(settings(tmp.path())).unwrap();
    let err = |r: Result<_, crate::error::SandboxError>| r.err().map(|e| e.code);
    assert_eq!(err(exec(&core, "/no/such/file.wasm", &[], b"").await), Some(ErrorCode::ModuleNotFound));
    assert_eq!(err(exec(&core, &guest("wat"), &[], b"").await), Some(ErrorCode::ModuleNotFound));
    assert_eq!(err(exec(&core, &guest("README.md"), &[], b"").await), Some(ErrorCode::ModuleInvalid));
    assert_eq!(err(exec(&core, &guest("wat/no_entry.wasm"), &[], b"").await), Some(ErrorCode::NoEntry));
    assert_eq!(err(exec(&core, &guest("wat/import_missing.wasm"), &[], b"").await), Some(ErrorCode::ImportMissing));
    let truncated = tmp.path().join("truncated.wasm");
    let bytes = std::fs::read(guest("wat/hello.wasm")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(err(exec(&core, truncated.to_str().unwrap(), &[], b"").await), Some(ErrorCode::ModuleInvalid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_times_out_on_wall_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings { timeout: Duration::from_millis(200), fuel: FuelMode::Off, ..settings(tmp.path()) };
    let core = SandboxCore::new(s).unwrap();
    for g in ["wat/loop.wasm", "wat/loop_calls.wasm"] {
        let t = Instant::now();
        let (out, _) = exec(&core, &guest(g), &[], b"").await.unwrap();
        assert!(out.timed_out, "{g}");
        assert_eq!(out.exit_code, None);
        assert!(t.elapsed() < Duration::from_secs(2), "{g} took {:?}", t.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleeping_guest_is_stopped_at_deadline() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings { timeout: Duration::from_millis(300), ..settings(tmp.path()) };
    let core = SandboxCore::new(s).unwrap();
    let t = Instant::now();
    let (out, _) = exec(&core, &guest("wat/sleep.wasm"), &[], b"").await.unwrap();
    assert!(out.timed_out);
    assert!(out.stdout.bytes.is_empty(), "never woke");
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_fuel_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings { fuel: FuelMode::Exact(5_000_000), ..settings(tmp.path()) };
    let core = SandboxCore::new(s).unwrap();
    let (a, _) = exec(&core, &guest("wat/loop.wasm"), &[], b"").await.unwrap();
    let (b, _) = exec(&core, &guest("wat/loop.wasm"), &[], b"").await.unwrap();
    assert!(a.timed_out && b.timed_out);
    assert_eq!(a.fuel_consumed, Some(5_000_000));
    assert_eq!(a.fuel_consumed, b.fuel_consumed);
    // A finishing guest reports the same consumption every run.
    let (h1, _) = exec(&core, &guest("c/args_env.wasm"), &["x"], b"").await.unwrap();
    let (h2, _) = exec(&core, &guest("c/args_env.wasm"), &["x"], b"").await.unwrap();
    assert_eq!(h1.exit_code, Some(0));
    assert!(h1.fuel_consumed.unwrap() > 0);
    assert_eq!(h1.fuel_consumed, h2.fuel_consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_cap_traps_as_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings { memory_limit_bytes: 16 << 20, ..settings(tmp.path()) };
    let core = SandboxCore::new(s).unwrap();
    for g in ["wat/memory_grow.wasm", "c/memory_bomb.wasm", "wat/big_min_memory.wasm", "wat/oob.wasm"] {
        let (out, _) = exec(&core, &guest(g), &[], b"").await.unwrap();
        assert_eq!(out.trap, Some("memory"), "{g}: {:?}", out.error);
        assert_eq!(out.exit_code, Some(1), "{g}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traps_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let core = SandboxCore::new(settings(tmp.path())).unwrap();
    for (g, kind) in [
        ("wat/stack_overflow.wasm", "stack_overflow"),
        ("wat/unreachable.wasm", "unreachable"),
        ("wat/div_zero.wasm", "integer_divide_by_zero"),
    ] {
        let (out, _) = exec(&core, &guest(g), &[], b"").await.unwrap();
        assert_eq!(out.trap, Some(kind));
        assert_eq!(out.exit_code, None);
        assert!(out.error.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_past_cap_is_counted_and_guest_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let core = SandboxCore::new(settings(tmp.path())).unwrap();
    let five_mib = (5 << 20).to_string();
    let (out, _) = exec(&core, &guest("c/output_flood.wasm"), &[&five_mib, &five_mib], b"").await.unwrap();
    assert_eq!(out.exit_code, Some(0), "every write succeeded");
    for stream in [&out.stdout, &out.stderr] {
        assert_eq!(stream.bytes.len(), 1 << 20);
        assert_eq!(stream.total, 5 << 20);
        assert!(stream.truncated);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preopens_enforce_read_only_and_confinement() {
    let tmp = tempfile::tempdir().unwrap();
    let ro = tempfile::tempdir().unwrap();
    let rw = tempfile::tempdir().unwrap();
    std::fs::write(ro.path().join("in.txt"), "read me").unwrap();
    let s = Settings {
        readonly_dirs: vec![DirGrant { host: ro.path().into(), guest: "/ro".into() }],
        readwrite_dirs: vec![DirGrant { host: rw.path().into(), guest: "/rw".into() }],
        ..settings(tmp.path())
    };
    let core = SandboxCore::new(s).unwrap();
    let fileops = guest("c/fileops.wasm");
    let (out, _) = exec(&core, &fileops, &["read", "/ro/in.txt"], b"").await.unwrap();
    assert_eq!(out.stdout.bytes, b"read me");
    let (out, _) = exec(&core, &fileops, &["write", "/ro/new.txt", "x"], b"").await.unwrap();
    assert_eq!(out.exit_code, Some(1));
    assert!(!ro.path().join("new.txt").exists());
    let (out, _) = exec(&core, &fileops, &["write", "/rw/new.txt", "written"], b"").await.unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(std::fs::read_to_string(rw.path().join("new.txt")).unwrap(), "written");
    for path in ["/rw/../ro/in.txt", "/etc/passwd", "/rw/../../etc/passwd"] {
        let (out, _) = exec(&core, &fileops, &["read", path], b"").await.unwrap();
        assert_eq!(out.exit_code, Some(1), "{path} must be refused");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc", rw.path().join("escape")).unwrap();
        let (out, _) = exec(&core, &fileops, &["read", "/rw/escape/passwd"], b"").await.unwrap();
        assert_eq!(out.exit_code, Some(1), "symlink out of the preopen is refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_cache_file_is_removed_and_recompiled() {
    let tmp = tempfile::tempdir().unwrap();
    let hello = guest("wat/hello.wasm");
    {
        let core = SandboxCore::new(settings(tmp.path())).unwrap();
        let (_, log) = exec(&core, &hello, &[], b"").await.unwrap();
        assert!(log.iter().any(|l| l.message.contains("compiled and cached")) || log.iter().any(|l| l.message.contains("loaded")), "{log:?}");
    }
    let files: Vec<PathBuf> = walk(tmp.path()).into_iter().filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect();
    assert!(!files.is_empty());
    for f in &files {
        let mut bytes = std::fs::read(f).unwrap();
        let n = bytes.len();
        bytes[n - 100] ^= 0xff;
        std::fs::write(f, &bytes).unwrap();
    }
    // The engine is shared process-wide: forget its in-memory modules so the
    // next load has to go through the disk cache.
    let copy = tmp.path().join("hello-copy.wasm");
    std::fs::copy(&hello, &copy).unwrap();
    let core = SandboxCore::new(settings(tmp.path())).unwrap();
    core_engine_forget(&core);
    let (out, log) = exec(&core, copy.to_str().unwrap(), &[], b"").await.unwrap();
    assert_eq!(out.stdout.bytes, b"hello, world\n");
    assert!(log.iter().any(|l| l.message.contains("corrupt")), "{log:?}");
    assert!(log.iter().any(|l| l.message.contains("compiled and cached")), "{log:?}");
}

fn core_engine_forget(core: &SandboxCore) {
    core.engine().modules.lock().unwrap().clear();
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_size_same_mtime_files_run_their_own_code() {
    let tmp = tempfile::tempdir().unwrap();
    let core = SandboxCore::new(settings(tmp.path())).unwrap();
    let a = tmp.path().join("a.wasm");
    let b = tmp.path().join("b.wasm");
    // exit_code-like modules of identical size: main returning 42 vs 43.
    let mut bytes = std::fs::read(guest("wat/main_only.wasm")).unwrap();
    std::fs::write(&a, &bytes).unwrap();
    let pos = bytes.iter().rposition(|&x| x == 42).unwrap();
    bytes[pos] = 43;
    std::fs::write(&b, &bytes).unwrap();
    let t = std::fs::metadata(&a).unwrap().modified().unwrap();
    std::fs::File::options().write(true).open(&b).unwrap().set_modified(t).unwrap();
    let (ra, _) = exec(&core, a.to_str().unwrap(), &[], b"").await.unwrap();
    let (rb, _) = exec(&core, b.to_str().unwrap(), &[], b"").await.unwrap();
    assert_eq!((ra.exit_code, rb.exit_code), (Some(42), Some(43)));
    // Rewriting a file in place (same path, size and mtime) is noticed too.
    std::fs::copy(&b, &a).unwrap();
    std::fs::File::options().write(true).open(&a).unwrap().set_modified(t).unwrap();
    let (ra, _) = exec(&core, a.to_str().unwrap(), &[], b"").await.unwrap();
    assert_eq!(ra.exit_code, Some(43));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_guest_and_destroy_waits() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings { timeout: Duration::from_secs(60), fuel: FuelMode::Off, ..settings(tmp.path()) };
    let core = Arc::new(SandboxCore::new(s).unwrap());
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let flag = core.register(id).unwrap();
    let path = guest("wat/loop.wasm");
    let c2 = core.clone();
    let task = tokio::spawn(async move {
        let req = ExecuteRequest { source: ModuleSource::Path(path.clone()), args: vec![path], env: vec![], stdin: vec![], entry: None, inline: None };
        c2.execute(id, flag, req).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    core.cancel(id);
    let r = task.await.unwrap();
    assert_eq!(r.unwrap_err().code, ErrorCode::Aborted);
    assert!(t.elapsed() < Duration::from_millis(500));

    let sleeper = guest("wat/sleep.wasm");
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let flag = core.register(id).unwrap();
        let c = core.clone();
        let p = sleeper.clone();
        tasks.push(tokio::spawn(async move {
            c.execute(id, flag, ExecuteRequest { source: ModuleSource::Path(p.clone()), args: vec![p], env: vec![], stdin: vec![], entry: None, inline: None }).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    core.destroy().await;
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().code, ErrorCode::Destroyed);
    }
    assert_eq!(core.register(999_999).unwrap_err().code, ErrorCode::Destroyed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_timeout_when_all_slots_busy() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings {
        max_concurrency: 1,
        queue_timeout: Some(Duration::from_millis(50)),
        timeout: Duration::from_millis(500),
        ..settings(tmp.path())
    };
    let core = Arc::new(SandboxCore::new(s).unwrap());
    let c = core.clone();
    let busy = tokio::spawn(async move { exec(&c, &guest("wat/sleep.wasm"), &[], b"").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let queued = exec(&core, &guest("wat/hello.wasm"), &[], b"").await;
    assert_eq!(queued.unwrap_err().code, ErrorCode::QueueTimeout);
    assert!(busy.await.unwrap().unwrap().0.timed_out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executes_beyond_the_pool_wait_for_a_slot() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings { pool_instances: 2, timeout: Duration::from_millis(150), ..settings(tmp.path()) };
    let core = Arc::new(SandboxCore::new(s).unwrap());
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let c = core.clone();
        tasks.push(tokio::spawn(async move { exec(&c, &guest("wat/sleep.wasm"), &[], b"").await }));
    }
    let t = Instant::now();
    for task in tasks {
        assert!(task.await.unwrap().unwrap().0.timed_out, "every execute ran (none failed for want of a slot)");
    }
    // Six 150 ms guests through two slots take at least three rounds.
    assert!(t.elapsed() >= Duration::from_millis(400), "{:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_demand_allocation_behaves_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings { pool_instances: 0, memory_limit_bytes: 16 << 20, ..settings(tmp.path()) };
    let core = SandboxCore::new(s).unwrap();
    assert!(core.engine().slots.is_none());
    let (out, _) = exec(&core, &guest("wat/hello.wasm"), &[], b"").await.unwrap();
    assert_eq!(out.stdout.bytes, b"hello, world\n");
    let (out, _) = exec(&core, &guest("c/memory_bomb.wasm"), &[], b"").await.unwrap();
    assert_eq!(out.trap, Some("memory"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_hold_more_than_the_fd_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let rw = tempfile::tempdir().unwrap();
    let s = Settings {
        readwrite_dirs: vec![DirGrant { host: rw.path().into(), guest: "/rw".into() }],
        ..settings(tmp.path())
    };
    let core = SandboxCore::new(s).unwrap();
    let (out, _) = exec(&core, &guest("c/fileops.wasm"), &["openmany", "/rw", "3000"], b"").await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout.bytes).to_string();
    let opened: usize = stdout.trim().trim_start_matches("opened=").parse().unwrap_or(usize::MAX);
    assert!(opened <= crate::host::fd_cap::MAX_OPEN_FILES, "{stdout} {:?} {:?} {:?}", String::from_utf8_lossy(&out.stderr.bytes), out.trap, out.error);
    assert!(opened >= crate::host::fd_cap::MAX_OPEN_FILES - 8, "{stdout}");
    // Files close with the execute, and closing frees slots within one.
    let (out, _) = exec(&core, &guest("c/fileops.wasm"), &["write", "/rw/again.txt", "ok"], b"").await.unwrap();
    assert_eq!(out.exit_code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_executes_get_slots_in_call_order() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Settings { max_concurrency: 1, timeout: Duration::from_millis(300), ..settings(tmp.path()) };
    let core = Arc::new(SandboxCore::new(s).unwrap());
    // Register A then B in call order, but let B's task start first.
    let (ia, ib) = (NEXT_ID.fetch_add(1, Ordering::Relaxed), NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let (ra, rb) = (core.register(ia).unwrap(), core.register(ib).unwrap());
    let req = |p: String| ExecuteRequest { source: ModuleSource::Path(p.clone()), args: vec![p], env: vec![], stdin: vec![], entry: None, inline: None };
    let c = core.clone();
    let b = tokio::spawn(async move { (c.execute(ib, rb, req(guest("wat/hello.wasm"))).await, Instant::now()) });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let c = core.clone();
    let a = tokio::spawn(async move { (c.execute(ia, ra, req(guest("wat/sleep.wasm"))).await, Instant::now()) });
    let (ra, ta) = a.await.unwrap();
    let (rb, tb) = b.await.unwrap();
    assert!(ra.unwrap().run.timed_out);
    assert_eq!(rb.unwrap().run.exit_code, Some(0));
    assert!(tb > ta, "B waited for A, which was called first");
}
