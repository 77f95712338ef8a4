//! The load pipeline and entry points end to end: reactors and named
//! entries, checks made before compiling, unknown imports, host.call, the
//! stack limit, the module size cap, the disk cache and shared compiles.

use crate::error::ErrorCode;
use crate::run::RunOutcome;
use crate::sandbox::{ExecuteRequest, LoadSource, ModuleSource, SandboxCore};
use crate::settings::{Settings, UnknownImports};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_ID: AtomicU64 = AtomicU64::new(1_000_000);

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid wat")
}

fn core(cache: &std::path::Path, tweak: impl FnOnce(&mut Settings)) -> Arc<SandboxCore> {
    let mut s = Settings { cache_dir: Some(cache.to_path_buf()), max_concurrency: 8, pool_instances: 0, ..Settings::default() };
    tweak(&mut s);
    Arc::new(SandboxCore::new(s).expect("settings are valid"))
}

async fn load(core: &SandboxCore, bytes: Vec<u8>, entry: Option<&str>) -> Result<crate::loaded::LoadedModule, crate::error::SandboxError> {
    core.load(LoadSource::Bytes { name: "m.wasm".into(), bytes }, entry.map(str::to_owned), false).await.map(|(m, _)| m)
}

async fn run(core: &SandboxCore, module: &crate::loaded::LoadedModule, entry: Option<&str>) -> Result<RunOutcome, crate::error::SandboxError> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let flag = core.register(id)?;
    let req = ExecuteRequest {
        source: ModuleSource::Loaded(module.clone()),
        args: vec!["m.wasm".into()],
        env: vec![],
        stdin: vec![],
        entry: entry.map(str::to_owned),
        inline: None,
    };
    core.execute(id, flag, req).await.map(|o| o.run)
}

const REACTOR: &str = r#"(module
    (global $ready (mut i32) (i32.const 0))
    (func (export "_initialize") (global.set $ready (i32.const 40)))
    (func (export "run") (result i32) (i32.add (global.get $ready) (i32.const 2)))
    (func (export "nothing"))
    (func (export "takes") (param i32)))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reactor_runs_initialize_then_its_named_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let core = core(tmp.path(), |_| {});
    let m = load(&core, wat(REACTOR), None).await.expect("a reactor loads without an entry");
    let out = run(&core, &m, Some("run")).await.unwrap();
    assert_eq!(out.exit_code, Some(42), "_initialize ran first, and run's i32 is the exit code");
    assert_eq!(run(&core, &m, Some("nothing")).await.unwrap().exit_code, Some(0));
    let none = run(&core, &m, None).await.unwrap_err();
    assert_eq!(none.code, ErrorCode::NoEntry);
    let typed = run(&core, &m, Some("takes")).await.unwrap_err();
    assert!(typed.message.contains("(i32) -> ()") && typed.message.contains("_initialize, run, nothing, takes"), "{}", typed.message);
    let missing = load(&core, wat(REACTOR), Some("absent")).await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::NoEntry);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proc_exit_inside_a_named_entry_still_gives_its_code() {
    let tmp = tempfile::tempdir().unwrap();
    let core = core(tmp.path(), |_| {});
    let m = load(
        &core,
        wat(r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "go") (result i32) (call $exit (i32.const 7)) (i32.const 1)))"#),
        Some("go"),
    )
    .await
    .unwrap();
    assert_eq!(run(&core, &m, Some("go")).await.unwrap().exit_code, Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_before_compiling() {
    let tmp = tempfile::tempdir().unwrap();
    let core = core(tmp.path(), |_| {});
    let import = wat(r#"(module (import "env" "nope" (func)) (func (export "_start")))"#);
    let e = load(&core, import, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ImportMissing);
    assert!(e.message.contains("env.nope") && e.message.contains("unknownImports"), "{}", e.message);
    let no_entry = load(&core, wat(r#"(module (func (export "foo") (result i32) (i32.const 1)))"#), None).await.unwrap_err();
    assert_eq!(no_entry.code, ErrorCode::NoEntry);
    // Nothing was compiled: no artefact exists for either module.
    let artefacts = walk(tmp.path()).into_iter().filter(|p| p.ends_with(".cwasm")).count();
    assert_eq!(artefacts, 0);
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_imports_can_be_linked_as_traps_that_name_them() {
    let tmp = tempfile::tempdir().unwrap();
    let core = core(tmp.path(), |s| s.unknown_imports = UnknownImports::Trap);
    let text = r#"(module (import "env" "missing" (func $m (result i32)))
        (func (export "calls") (result i32) (call $m))
        (func (export "skips") (result i32) (i32.const 3)))"#;
    let m = load(&core, wat(text), Some("skips")).await.unwrap();
    assert_eq!(run(&core, &m, Some("skips")).await.unwrap().exit_code, Some(3), "never called: runs normally");
    let out = run(&core, &m, Some("calls")).await.unwrap();
    assert_eq!(out.trap, Some("other"));
    assert_eq!(out.exit_code, None);
    assert!(out.error.as_deref().unwrap_or("").contains("called unknown import env.missing"), "{:?}", out.error);
    // A non-function import cannot be stood in for.
    let memory = load(&core, wat(r#"(module (import "env" "mem" (memory 1)) (func (export "_start")))"#), None).await.unwrap_err();
    assert_eq!(memory.code, ErrorCode::ImportMissing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_call_answers_no_host_here() {
    let tmp = tempfile::tempdir().unwrap();
    let core = core(tmp.path(), |_| {});
    let m = load(
        &core,
        wat(r#"(module (import "host" "call" (func $call (param i32 i32 i32 i32) (result i32)))
            (func (export "ask") (result i32) (i32.sub (i32.const 0) (call $call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))))"#),
        Some("ask"),
    )
    .await
    .unwrap();
    assert_eq!(run(&core, &m, Some("ask")).await.unwrap().exit_code, Some(1), "host.call returned -1");
    let wrong = load(&core, wat(r#"(module (import "host" "call" (func (param i32))) (func (export "_start")))"#), None).await.unwrap_err();
    assert_eq!(wrong.code, ErrorCode::ImportMissing, "another signature is not ours");
}

const RECURSE: &str = r#"(module
    (func $down (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
            (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
    (func (export "deep") (result i32) (i32.ne (call $down (i32.const 20000)) (i32.const 20000))))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stack_limit_is_configurable_and_overflow_stays_a_trap() {
    let tmp = tempfile::tempdir().unwrap();
    let small = core(tmp.path(), |s| s.stack_bytes = 64 << 10);
    let m = load(&small, wat(RECURSE), Some("deep")).await.unwrap();
    assert_eq!(run(&small, &m, Some("deep")).await.unwrap().trap, Some("stack_overflow"));
    let big = core(tmp.path(), |s| s.stack_bytes = 8 << 20);
    let m = load(&big, wat(RECURSE), Some("deep")).await.unwrap();
    let out = run(&big, &m, Some("deep")).await.unwrap();
    assert_eq!((out.trap, out.exit_code), (None, Some(0)), "{:?}", out.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_module_size_cap_is_configurable() {
    let tmp = tempfile::tempdir().unwrap();
    let core = core(tmp.path(), |s| s.max_module_bytes = 1 << 20);
    let big = wat(&format!(r#"(module (memory 32) (data (i32.const 0) "{}") (func (export "_start")))"#, "a".repeat(2 << 20)));
    let e = load(&core, big, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ModuleTooLarge);
    assert!(e.message.contains("maxModuleMb"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_engine_maps_the_artefact_and_concurrent_loads_share_one_compile() {
    let tmp = tempfile::tempdir().unwrap();
    // A module of its own, so no other test has compiled it.
    let bytes = wat(r#"(module (func (export "_start") (drop (i32.const 424242))))"#);
    let first = core(tmp.path(), |s| s.pool_instances = 3);
    let loads: Vec<_> = (0..4)
        .map(|_| {
            let core = first.clone();
            let bytes = bytes.clone();
            tokio::spawn(async move { core.load(LoadSource::Bytes { name: "m.wasm".into(), bytes }, None, false).await.map(|(_, log)| log) })
        })
        .collect();
    let mut compiled = 0;
    for l in loads {
        let log = l.await.unwrap().unwrap();
        compiled += log.iter().filter(|l| l.message.contains("compiled and cached")).count();
    }
    assert_eq!(compiled, 1, "four loads at once, one compile");
    drop(first);
    // Another engine (the first is gone with its memory map) finds it on disk.
    let second = core(tmp.path(), |s| s.pool_instances = 3);
    let (_, log) = second.load(LoadSource::Bytes { name: "m.wasm".into(), bytes }, None, false).await.unwrap();
    assert!(log.iter().any(|l| l.message.contains("from cache")), "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_written_artefact_of_another_process_is_waited_for_not_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = wat(r#"(module (func (export "_start") (drop (i32.const 515151))))"#);
    // Its own engine (pool size 5: no other test uses it), so dropping the
    // writer really empties the memory map.
    let writer = core(tmp.path(), |s| s.pool_instances = 5);
    load(&writer, bytes.clone(), None).await.unwrap();
    drop(writer); // its engine and memory map go with it
    let cwasm = walk(tmp.path()).into_iter().find(|p| p.ends_with(".cwasm")).expect("an artefact");
    let cwasm = std::path::PathBuf::from(cwasm);
    let dir = cwasm.parent().unwrap().to_path_buf();
    let hash = crate::key::module_key(&bytes);
    // "Another process" is mid-write: it holds the module's lock, its .cwasm
    // is renamed in, its record not yet.
    let lock = crate::module::artefact::lock(&dir, &hash);
    let meta = cwasm.with_extension("meta");
    let aside = dir.join("meta-aside");
    std::fs::rename(&meta, &aside).unwrap();
    let reader = core(tmp.path(), |s| s.pool_instances = 5);
    let loading = tokio::spawn(async move { reader.load(LoadSource::Bytes { name: "m.wasm".into(), bytes }, None, false).await.map(|(_, log)| log) });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(cwasm.exists(), "a reader without the lock must not remove another process's artefact");
    std::fs::rename(&aside, &meta).unwrap();
    drop(lock);
    let log = loading.await.unwrap().unwrap();
    let text = log.iter().map(|l| l.message.as_str()).collect::<Vec<_>>().join("\n");
    assert!(text.contains("after another process compiled it"), "{text}");
    assert!(!text.contains("compiled and cached") && !text.contains("removed cache file"), "{text}");
}
