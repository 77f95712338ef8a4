//! Fuzz target: arbitrary bytes as a module file, through the full execute
//! path (SandboxCore::execute with a path: stat, read, hash, compile, link,
//! instantiate, run) under a tiny timeout, fuel and memory cap, started as
//! the Node binding starts it: first poll on this thread (the inline start),
//! the rest on the runtime. Every input
//! must end in an outcome or a typed error: never a panic, an abort or a hang
//! (libFuzzer's -timeout catches hangs, its -rss_limit_mb catches leaks).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimobox_wasm::error::ErrorCode;
use mimobox_wasm::inline::{poll_inline, InlineGate};
use mimobox_wasm::sandbox::{ExecuteRequest, ModuleSource, SandboxCore};
use mimobox_wasm::settings::{FuelMode, Settings};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

struct Harness {
    rt: tokio::runtime::Runtime,
    core: SandboxCore,
    dir: PathBuf,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
        let dir = std::env::temp_dir().join(format!("mimobox-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("fuzz temp dir");
        let settings = Settings {
            memory_limit_bytes: 16 * 1024 * 1024,
            timeout: Duration::from_millis(100),
            // A fixed budget keeps runs short and deterministic: a loop stops after 10M units.
            fuel: FuelMode::Exact(10_000_000),
            max_output_bytes: 64 * 1024,
            // The disk cache is tested elsewhere; here it would only write thousands of artefacts.
            cache: false,
            max_concurrency: 1,
            ..Settings::default()
        };
        let core = SandboxCore::new(settings).expect("sandbox core");
        Harness { rt, core, dir }
    })
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    // A new file each time: the core keys its caches on (path, inode, size, times).
    let path = h.dir.join(format!("m{}.wasm", id % 4));
    std::fs::write(&path, data).expect("write module");
    let path = path.display().to_string();
    let gate = Arc::new(InlineGate::default());
    let req = ExecuteRequest {
        source: ModuleSource::Path(path.clone()),
        args: vec![path, "arg".into()],
        env: vec![("HOME".into(), "/tmp".into())],
        stdin: b"fuzz stdin\n".to_vec(),
        entry: None,
        inline: Some(gate.clone()),
    };
    let flag = h.core.register(id).expect("register");
    let task = Box::pin(h.core.execute(id, flag, req));
    let first = {
        let _context = h.rt.enter();
        poll_inline(task, &gate)
    };
    let result = match first {
        Ok(done) => done,
        Err(task) => h.rt.block_on(task),
    };
    match result {
        Ok(out) => {
            // Limits hold for every input.
            assert!(out.run.stdout.bytes.len() <= 64 * 1024);
            assert!(out.run.stderr.bytes.len() <= 64 * 1024);
            assert!(out.run.elapsed_ms < 5_000.0, "execute took {} ms under a 100 ms timeout", out.run.elapsed_ms);
        }
        Err(e) => {
            // Only module errors are expected from arbitrary bytes: a host-side
            // INTERNAL error (or anything else) is a finding.
            assert!(
                matches!(
                    e.code,
                    ErrorCode::ModuleInvalid | ErrorCode::NoEntry | ErrorCode::ImportMissing | ErrorCode::ModuleTooLarge
                ),
                "unexpected error for a fuzzed module: {e}"
            );
        }
    }
});
