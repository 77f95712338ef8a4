//! Where a CPU-bound guest's time goes on wasmtime, one engine setting at a
//! time (issue 13, goal 4). Runs each guest through mimobox's own core (the
//! engine every execute uses) and through bare wasmtime engines that differ
//! from it in one setting each, alternating them round by round so that the
//! machine's noise falls on all alike. `bench/engine-knobs.mjs` runs this
//! beside node:wasi and writes the table; run it alone with
//!
//!   cargo run --release --no-default-features --example engine-knobs -- \
//!       ROUNDS GUEST.wasm ARG [GUEST.wasm ARG ...]
//!
//! It prints one JSON line: per guest, per variant, the compute time of each
//! round (the run with ARG minus the run with "0", so that instantiation and
//! start-up cancel out).

use mimobox_wasm::sandbox::{ExecuteRequest, ModuleSource, SandboxCore};
use mimobox_wasm::settings::Settings;
use std::time::Instant;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::WasiCtxBuilder;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One engine setting changed against mimobox's engine (src-rs/engine.rs).
#[derive(Clone, Copy)]
enum Knob {
    /// mimobox's settings, rebuilt here: the control for the rows below.
    Same,
    /// No epoch checks at function entries and loop headers.
    NoEpoch,
    /// No GC proposal and no exception handling (CPython needs them).
    NoGcNoExceptions,
    /// Linear memory from mmap on demand instead of the pooling allocator.
    OnDemand,
    /// A 64 MiB reservation: every load and store gets an explicit bounds check.
    BoundsChecks,
    /// Bounds checks as above, without the Spectre guard on each one.
    BoundsChecksNoSpectre,
    /// wasmtime's defaults: what the `wasmtime` CLI runs with.
    WasmtimeDefaults,
}

const KNOBS: [(Knob, &str); 7] = [
    (Knob::Same, "same settings as mimobox, rebuilt"),
    (Knob::NoEpoch, "no epoch interruption"),
    (Knob::NoGcNoExceptions, "no GC, no exception handling"),
    (Knob::OnDemand, "on-demand memory (no pooling)"),
    (Knob::BoundsChecks, "64 MiB reservation (explicit bounds checks)"),
    (Knob::BoundsChecksNoSpectre, "bounds checks without Spectre guards"),
    (Knob::WasmtimeDefaults, "wasmtime defaults (as its CLI)"),
];

fn config_for(knob: Knob) -> Config {
    let mut config = Config::new();
    if let Knob::WasmtimeDefaults = knob {
        return config;
    }
    config
        .cranelift_opt_level(wasmtime::OptLevel::Speed)
        .epoch_interruption(!matches!(knob, Knob::NoEpoch))
        .collector(wasmtime::Collector::DeferredReferenceCounting);
    if let Knob::NoGcNoExceptions = knob {
        config.wasm_gc(false).wasm_exceptions(false).wasm_function_references(false);
    }
    match knob {
        Knob::OnDemand => {}
        Knob::BoundsChecks | Knob::BoundsChecksNoSpectre => {
            config.memory_reservation(64 << 20).memory_guard_size(64 << 10).memory_reservation_for_growth(0);
            if let Knob::BoundsChecksNoSpectre = knob {
                // SAFETY: a Cranelift setting, not memory-unsafe for this
                // process: it only drops the speculation barrier on checks.
                unsafe {
                    config.cranelift_flag_set("enable_heap_access_spectre_mitigation", "false");
                }
            }
        }
        _ => {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_core_instances(4).total_memories(8).total_tables(16).total_stacks(4).total_gc_heaps(4);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
    }
    config
}

/// A bare engine with the guest compiled for it, ready to run.
struct BareRunner {
    engine: Engine,
    module: Module,
    linker: Linker<WasiP1Ctx>,
    epoch: bool,
}

impl BareRunner {
    fn new(knob: Knob, wasm: &[u8]) -> Result<BareRunner, BoxError> {
        let engine = Engine::new(&config_for(knob))?;
        let module = Module::new(&engine, wasm)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, |s| s)?;
        let epoch = !matches!(knob, Knob::NoEpoch | Knob::WasmtimeDefaults);
        Ok(BareRunner { engine, module, linker, epoch })
    }

    async fn run(&self, args: &[String]) -> Result<f64, BoxError> {
        let wasi = WasiCtxBuilder::new().args(args).stdout(MemoryOutputPipe::new(1 << 20)).build_p1();
        let mut store = Store::new(&self.engine, wasi);
        if self.epoch {
            // The ticker never runs here: this measures the checks, not the ticks.
            store.set_epoch_deadline(u64::MAX / 2);
        }
        let started = Instant::now();
        let instance = self.linker.instantiate_async(&mut store, &self.module).await?;
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        match start.call_async(&mut store, ()).await {
            Ok(()) => {}
            Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(wasmtime_wasi::I32Exit(0)) => {}
                _ => return Err(format!("guest failed: {e:#}").into()),
            },
        }
        Ok(started.elapsed().as_secs_f64() * 1e3)
    }
}

/// mimobox's own core, default settings, as an execute from Node gets them.
async fn run_core(core: &SandboxCore, id: u64, wasm: &str, args: &[String]) -> Result<f64, BoxError> {
    let registration = core.register(id).map_err(|e| e.message)?;
    let req = ExecuteRequest { source: ModuleSource::Path(wasm.to_owned()), args: args.to_vec(), env: vec![], stdin: vec![], entry: None, inline: None };
    let started = Instant::now();
    let out = core.execute(id, registration, req).await.map_err(|e| e.message)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    match out.run.exit_code {
        Some(0) => Ok(ms),
        other => Err(format!("mimobox core: exit {other:?} {:?}", out.run.error).into()),
    }
}

async fn main_async() -> Result<(), BoxError> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: engine-knobs ROUNDS GUEST.wasm ARG [GUEST.wasm ARG ...]";
    let rounds: usize = argv.first().and_then(|r| r.parse().ok()).ok_or(usage)?;
    let guests: Vec<(String, String)> = argv[1..].chunks(2).map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default())).collect();
    if guests.is_empty() {
        return Err(usage.into());
    }
    let cache = std::env::temp_dir().join(format!("mimobox-engine-knobs-{}", std::process::id()));
    let core = SandboxCore::new(Settings { cache_dir: Some(cache.clone()), ..Settings::default() }).map_err(|e| e.message)?;
    let mut next_id = 0u64;
    let mut report = Vec::new();
    for (wasm, arg) in &guests {
        let bytes = std::fs::read(wasm)?;
        let big = vec![wasm.clone(), arg.clone()];
        let small = vec![wasm.clone(), "0".to_owned()];
        let mut runners = Vec::new();
        for (knob, label) in KNOBS {
            runners.push((label, BareRunner::new(knob, &bytes)?));
        }
        let mut times: Vec<(&str, Vec<f64>)> = std::iter::once("mimobox core (default settings)").chain(runners.iter().map(|(l, _)| *l)).map(|l| (l, Vec::new())).collect();
        // One warm-up round compiles and caches everything first.
        for round in 0..=rounds {
            for (i, slot) in times.iter_mut().enumerate() {
                let (b, s) = if i == 0 {
                    next_id += 2;
                    (run_core(&core, next_id, wasm, &big).await?, run_core(&core, next_id + 1, wasm, &small).await?)
                } else {
                    let r = &runners[i - 1].1;
                    (r.run(&big).await?, r.run(&small).await?)
                };
                if round > 0 {
                    slot.1.push(b - s);
                }
            }
        }
        let rows: Vec<String> = times
            .iter()
            .map(|(label, ms)| format!("{{\"variant\":{label:?},\"computeMs\":[{}]}}", ms.iter().map(|m| format!("{m:.3}")).collect::<Vec<_>>().join(",")))
            .collect();
        report.push(format!("{{\"wasm\":{wasm:?},\"arg\":{arg:?},\"rows\":[{}]}}", rows.join(",")));
    }
    let _ = std::fs::remove_dir_all(&cache);
    println!("{{\"wasmtime\":{:?},\"guests\":[{}]}}", mimobox_wasm::engine::WASMTIME_VERSION, report.join(","));
    Ok(())
}

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("engine-knobs: cannot start tokio: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = runtime.block_on(main_async()) {
        eprintln!("engine-knobs: {e}");
        std::process::exit(1);
    }
}
