//! Issue 21's native attacks, one test each (they fail on aeb5616): a forged
//! cache record, grants that reach the cache or its key, modules that make
//! Cranelift slow or panic, module paths that are not regular files, and the
//! GC heap beside the memory cap.

use crate::error::ErrorCode;
use crate::module::artefact::{cwasm_path, meta_path, open, store};
use crate::module::fingerprint::Fingerprint;
use crate::run::RunOutcome;
use crate::sandbox::{ExecuteRequest, ModuleSource, SandboxCore};
use crate::settings::{DirGrant, Settings};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::Engine;

static NEXT_ID: AtomicU64 = AtomicU64::new(1_000_000);

async fn exec_path(core: &SandboxCore, path: &str) -> Result<RunOutcome, crate::error::SandboxError> {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let registration = core.register(id)?;
    let req = ExecuteRequest { source: ModuleSource::Path(path.to_owned()), args: vec![path.to_owned()], env: vec![], stdin: vec![], entry: None, inline: None };
    core.execute(id, registration, req).await.map(|o| o.run)
}

fn settings(cache: &Path) -> Settings {
    Settings { cache_dir: Some(cache.to_path_buf()), max_concurrency: 4, ..Settings::default() }
}

/// Item 1b: a guest that can write as the host user rewrites a `.cwasm` in
/// place with other machine code, then rewrites the `.meta` to the file's
/// new fingerprint. The forged record is refused (its MAC fails): the
/// innocent module's code is never replaced.
#[test]
fn a_forged_record_never_maps_planted_code() {
    let engine = Engine::default();
    let dir = tempfile::tempdir().unwrap();
    let innocent: crate::key::Hash = [1; 32];
    let a = engine.precompile_module(&wat::parse_str(r#"(module (func (export "innocent")))"#).unwrap()).unwrap();
    let b = engine.precompile_module(&wat::parse_str(r#"(module (func (export "planted")))"#).unwrap()).unwrap();
    store(dir.path(), &innocent, &a, false).unwrap();
    let path = cwasm_path(dir.path(), &innocent);
    let before = Fingerprint::of(path.clone(), &fs::symlink_metadata(&path).unwrap()).to_bytes();
    std::thread::sleep(std::time::Duration::from_millis(20));
    // In place (same inode), as a guest with a read-write grant would.
    fs::OpenOptions::new().write(true).truncate(true).open(&path).and_then(|mut f| std::io::Write::write_all(&mut f, &b)).unwrap();
    let after = Fingerprint::of(path.clone(), &fs::symlink_metadata(&path).unwrap()).to_bytes();
    let mut meta = fs::read(meta_path(dir.path(), &innocent)).unwrap();
    let at = meta.windows(before.len()).position(|w| w == before.as_slice()).expect("the record holds the fingerprint");
    meta[at..at + after.len()].copy_from_slice(&after);
    fs::write(meta_path(dir.path(), &innocent), &meta).unwrap();
    match open(&engine, dir.path(), &innocent) {
        Some(Ok((module, _))) => panic!("a forged record was trusted: exports {:?}", module.exports().map(|e| e.name().to_owned()).collect::<Vec<_>>()),
        Some(Err(why)) => assert!(why.contains("not signed"), "{why}"),
        None => panic!("the files are there"),
    }
}

/// Item 1a: grants that contain the cache root, lie inside it, or reach
/// the key directory are refused, read-only or read-write; the Python
/// helper's read-only stdlib link directory is the one exception.
#[test]
fn grants_that_reach_the_cache_or_its_key_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("app/cache");
    fs::create_dir_all(cache.join("python-lib/abc")).unwrap();
    let grant = |host: &Path| vec![DirGrant { host: host.to_path_buf(), guest: "/g".into() }];
    let refused = |s: Settings| {
        let e = s.validate().expect_err("a grant over the cache must be refused");
        assert_eq!(e.code, ErrorCode::ConfigInvalid);
        assert!(e.message.contains("grant a narrower directory"), "{}", e.message);
    };
    refused(Settings { readwrite_dirs: grant(&tmp.path().join("app")), ..settings(&cache) });
    refused(Settings { readonly_dirs: grant(&tmp.path().join("app")), ..settings(&cache) });
    refused(Settings { readwrite_dirs: grant(&cache), ..settings(&cache) });
    refused(Settings { readwrite_dirs: grant(&cache.join("python-lib/abc")), ..settings(&cache) });
    // Through a symlink to a parent: real paths are compared.
    std::os::unix::fs::symlink(tmp.path().join("app"), tmp.path().join("alias")).unwrap();
    refused(Settings { readwrite_dirs: grant(&tmp.path().join("alias")), ..settings(&cache) });
    if let Some(key_dir) = crate::module::mac::key_dir() {
        fs::create_dir_all(&key_dir).unwrap();
        refused(Settings { readwrite_dirs: grant(key_dir.parent().unwrap()), ..settings(&cache) });
    }
    if let Some(default) = crate::module::default_cache_dir(None) {
        fs::create_dir_all(&default).unwrap();
        refused(Settings { readwrite_dirs: grant(&default), ..settings(&cache) });
    }
    let ok = Settings { readonly_dirs: grant(&cache.join("python-lib/abc")), ..settings(&cache) };
    ok.validate().expect("the stdlib link directory, read-only");
    let sibling = tmp.path().join("app/data");
    fs::create_dir_all(&sibling).unwrap();
    Settings { readwrite_dirs: grant(&sibling), ..settings(&cache) }.validate().expect("a sibling of the cache");
}

fn write_module(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Items 6 and 10: shapes that make Cranelift slow (a function with 2,000
/// live locals) or panic (100k GC-reference globals, wide struct types) are
/// refused before compiling, MODULE_UNSUPPORTED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_the_compiler_cannot_bound_are_refused_before_compiling() {
    let tmp = tempfile::tempdir().unwrap();
    let core = SandboxCore::new(Settings { cache: false, ..settings(tmp.path()) }).unwrap();
    let mut locals = String::from("(module (func (export \"_start\") (local");
    locals.push_str(&" i32".repeat(2_000));
    locals.push_str(")))");
    let mut globals = String::from("(module (func (export \"_start\"))");
    for _ in 0..100_000 {
        globals.push_str(" (global (mut anyref) (ref.null any))");
    }
    globals.push(')');
    let fields = " (field (mut i32))".repeat(1_000);
    let mut structs = String::from("(module (func (export \"_start\"))");
    for _ in 0..100 {
        structs.push_str(&format!(" (type (struct{fields}))"));
    }
    structs.push(')');
    for (name, text) in [("locals.wasm", locals), ("globals.wasm", globals), ("structs.wasm", structs)] {
        let path = write_module(tmp.path(), name, &wat::parse_str(&text).unwrap());
        let e = exec_path(&core, &path).await.expect_err(name);
        assert_eq!(e.code, ErrorCode::ModuleUnsupported, "{name}: {}", e.message);
        assert!(e.message.contains("refused before compiling"), "{}", e.message);
    }
}

/// Item 9: a module path that is a FIFO or a device is refused before it is
/// read (a FIFO hung execute and destroy() for ever; /dev/zero read ~6 GB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn module_paths_that_are_not_regular_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let core = SandboxCore::new(settings(tmp.path())).unwrap();
    let fifo = tmp.path().join("fifo.wasm");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for path in [fifo.display().to_string(), "/dev/zero".to_owned()] {
        let run = exec_path(&core, &path);
        let e = tokio::time::timeout(std::time::Duration::from_secs(20), run).await.expect("never blocks").expect_err(&path);
        assert_eq!(e.code, ErrorCode::ModuleInvalid, "{path}: {}", e.message);
        assert!(e.message.contains("not a regular file"), "{}", e.message);
    }
}

/// Item 8: the GC heap counts against memoryLimitMb. A guest with 12 MiB of
/// linear memory allocates an 8 MiB GC array under a 16 MiB cap: refused (a
/// memory trap), where the two were capped apart before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gc_heap_counts_against_the_memory_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let core = SandboxCore::new(Settings { memory_limit_bytes: 16 << 20, ..settings(tmp.path()) }).unwrap();
    let text = |bytes: u32| {
        format!(
            r#"(module
                (type $bytes (array (mut i8)))
                (memory (export "memory") 192)
                (global $keep (mut (ref null $bytes)) (ref.null $bytes))
                (func (export "_start") (global.set $keep (array.new_default $bytes (i32.const {bytes})))))"#
        )
    };
    let small = write_module(tmp.path(), "gc_small.wasm", &wat::parse_str(text(1 << 20)).unwrap());
    let out = exec_path(&core, &small).await.unwrap();
    assert_eq!(out.exit_code, Some(0), "1 MiB of GC heap beside 12 MiB fits 16: {:?}", out.error);
    let big = write_module(tmp.path(), "gc_big.wasm", &wat::parse_str(text(8 << 20)).unwrap());
    let out = exec_path(&core, &big).await.unwrap();
    assert_eq!(out.trap, Some("memory"), "12 MiB + 8 MiB must not fit 16 MiB: {out:?}");
    assert_eq!(out.limit, Some("memory"), "{out:?}");
}

/// Item 10's upstream reproducer (test/hostile/regressions/upstream/README.md):
/// a bare wasmtime engine panics compiling it. Ignored: it documents a
/// dependency's bug, which mimobox's bounds keep out of reach.
#[test]
#[ignore = "shows an upstream Cranelift panic; run with --ignored"]
fn upstream_cranelift_panics_on_many_gc_globals() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test/hostile/regressions/upstream/cranelift-memflags-overflow-gc-globals.wasm");
    let bytes = fs::read(path).unwrap();
    let mut config = wasmtime::Config::new();
    config.wasm_gc(true).wasm_function_references(true).collector(wasmtime::Collector::DeferredReferenceCounting).parallel_compilation(false);
    let engine = Engine::new(&config).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wasmtime::Module::new(&engine, &bytes).map(drop).map_err(|e| format!("{e:#}"))));
    match result {
        Err(panic) => {
            let text = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            eprintln!("upstream panic reproduced: {text}");
        }
        Ok(r) => panic!("no panic (fixed upstream?): {r:?}"),
    }
}

/// Item 8: the compiled cache has a bound on disk. Over it, the least
/// recently used artefacts go, except the one just stored and any whose
/// compile lock another process holds.
#[test]
fn the_cache_evicts_least_recently_used_artefacts_over_its_bound() {
    use crate::module::artefact::{lock, store};
    use crate::module::evict::evict;
    let engine = Engine::default();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("wasmtime-test");
    crate::module::artefact::ensure_private_dir(&dir).unwrap();
    let compiled = engine.precompile_module(&wat::parse_str(r#"(module (func (export "_start")))"#).unwrap()).unwrap();
    let size = compiled.len() as u64;
    let hashes: Vec<crate::key::Hash> = (1..=4u8).map(|i| [i; 32]).collect();
    for (i, h) in hashes.iter().enumerate() {
        store(&dir, h, &compiled, false).unwrap();
        // Oldest first: hash 1 was used longest ago.
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(3600 * (10 - i as u64));
        fs::File::open(meta_path(&dir, h)).unwrap().set_modified(t).unwrap();
    }
    // Another process compiling hash 1 (its lock held): it stays.
    let held = lock(&dir, &hashes[0]);
    let removed = evict(root.path(), &hashes[3], size * 2);
    drop(held);
    assert_eq!(removed, 2, "down to two artefacts");
    assert!(cwasm_path(&dir, &hashes[0]).exists(), "locked: kept although oldest");
    assert!(!cwasm_path(&dir, &hashes[1]).exists() && !meta_path(&dir, &hashes[1]).exists(), "least recently used: removed with its record");
    assert!(!cwasm_path(&dir, &hashes[2]).exists());
    assert!(cwasm_path(&dir, &hashes[3]).exists(), "the one just stored stays");
    assert_eq!(evict(root.path(), &hashes[3], u64::MAX), 0, "under the bound nothing goes");
    // A hit marks an artefact used: its record's mtime (hours old here) moves to now.
    crate::module::evict::touch(&meta_path(&dir, &hashes[0]));
    let age = fs::metadata(meta_path(&dir, &hashes[0])).unwrap().modified().unwrap().elapsed().unwrap_or_default();
    assert!(age < std::time::Duration::from_secs(600), "touched: {age:?} old");
}
