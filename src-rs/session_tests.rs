//! Sessions and the host door end to end, on test/guests/wat/session.wasm
//! (the guest the TypeScript conformance tests use too).

use crate::error::{ErrorCode, SandboxError};
use crate::door::{HostAnswer, HostCaller, HostFuture};
use crate::sandbox::{ExecuteRequest, LoadSource, ModuleSource, SandboxCore};
use crate::session::{CallOutcome, EndReason, SessionCall, SessionCore};
use crate::settings::{FuelMode, Settings};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

static NEXT_ID: AtomicU64 = AtomicU64::new(2_000_000);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

fn guest() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/test/guests/wat/session.wasm");
    std::fs::read(path).expect("test/guests/wat/session.wasm is committed")
}

fn core(tweak: impl FnOnce(&mut Settings)) -> Arc<SandboxCore> {
    let mut s = Settings { cache: false, max_concurrency: 8, pool_instances: 0, memory_limit_bytes: 8 << 20, ..Settings::default() };
    tweak(&mut s);
    Arc::new(SandboxCore::new(s).expect("settings are valid"))
}

async fn open(core: &Arc<SandboxCore>, host: Option<Arc<dyn HostCaller>>) -> SessionCore {
    let (loaded, _) = core.load(LoadSource::Bytes { name: "session.wasm".into(), bytes: guest() }, None, true).await.expect("loads");
    let id = next_id();
    let registration = core.register(id).expect("registers");
    SessionCore::open(core.clone(), id, registration, loaded, vec!["session.wasm".into()], vec![], host).await.expect("opens")
}

fn call(export: &str) -> SessionCall {
    SessionCall { export: export.into(), input: None, alloc: None, timeout: None, fuel: None }
}

fn with_input(export: &str, input: &[u8]) -> SessionCall {
    SessionCall { input: Some(input.to_vec()), ..call(export) }
}

async fn run(core: &SandboxCore, s: &SessionCore, c: SessionCall) -> Result<CallOutcome, SandboxError> {
    let id = next_id();
    s.call(id, core.register(id)?, c).await
}

/// Answers every request with `prefix` + the request, or fails, or never answers.
enum TestHost {
    Echo(&'static str),
    Fails,
    Never,
    NoHost,
    Huge,
}

impl HostCaller for TestHost {
    fn call(&self, request: Vec<u8>) -> HostFuture {
        match self {
            TestHost::Echo(prefix) => {
                let answer = [prefix.as_bytes(), &request].concat();
                Box::pin(async move { Ok(HostAnswer::Bytes(answer)) })
            }
            TestHost::Fails => Box::pin(async { Err("Error: the price list is down".to_owned()) }),
            TestHost::Never => Box::pin(std::future::pending()),
            TestHost::NoHost => Box::pin(async { Ok(HostAnswer::NoHost) }),
            TestHost::Huge => Box::pin(async { Ok(HostAnswer::Bytes(vec![b'x'; crate::door::HOST_CALL_MAX_BYTES + 1])) }),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_its_state_and_each_call_has_its_own_output_and_fuel() {
    let core = core(|s| s.fuel = crate::settings::FuelMode::Exact(1_000_000));
    let s = open(&core, None).await;
    assert_eq!(run(&core, &s, call("inited")).await.unwrap().return_value, Some(1), "_initialize ran at the opening");
    let mut fuels = Vec::new();
    for count in 1..=3 {
        let out = run(&core, &s, call("bump")).await.unwrap();
        assert_eq!(out.return_value, Some(count), "the counter carries over");
        assert!(out.ended.is_none());
        fuels.push(out.run.fuel_consumed.expect("metered"));
    }
    assert!(fuels.windows(2).all(|w| w[0] == w[1]), "each call counts its own fuel: {fuels:?}");
    let echo = run(&core, &s, with_input("echo", b"hello")).await.unwrap();
    assert_eq!((echo.return_value, echo.run.stdout.bytes.as_slice()), (Some(5), &b"hello"[..]));
    let again = run(&core, &s, with_input("echo", b"x")).await.unwrap();
    assert_eq!(again.run.stdout.bytes, b"x", "only this call's output");
    assert_eq!(again.run.stdout.total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_export_keeps_the_session_and_a_trap_ends_it() {
    let core = core(|_| {});
    let s = open(&core, None).await;
    let missing = run(&core, &s, call("nope")).await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::NoEntry);
    let typed = run(&core, &s, with_input("bump", b"x")).await.unwrap_err();
    assert!(typed.message.contains("(i32, i32)"), "{}", typed.message);
    assert_eq!(run(&core, &s, call("bump")).await.unwrap().return_value, Some(1), "no guest code ran: the session goes on");
    let trap = run(&core, &s, call("boom")).await.unwrap();
    assert_eq!((trap.run.trap, trap.ended), (Some("unreachable"), Some(EndReason::Trap)));
    let after = run(&core, &s, call("bump")).await.unwrap_err();
    assert_eq!(after.code, ErrorCode::SessionEnded);
    assert!(after.message.contains("trap"), "{}", after.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_and_an_exit_end_the_session() {
    let core = core(|_| {});
    let s = open(&core, None).await;
    let spin = run(&core, &s, SessionCall { timeout: Some(Duration::from_millis(50)), ..call("spin") }).await.unwrap();
    assert!(spin.run.timed_out);
    assert_eq!(spin.ended, Some(EndReason::Timeout));
    assert_eq!(s.end_reason(), Some(EndReason::Timeout));
    let s = open(&core, None).await;
    let exit = run(&core, &s, call("leave")).await.unwrap();
    assert_eq!((exit.run.exit_code, exit.ended), (Some(3), Some(EndReason::Exit)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_call_fuel_is_exact_and_runs_out_on_its_own() {
    let core = core(|s| s.fuel = FuelMode::Exact(1_000_000_000));
    let s = open(&core, None).await;
    let first = run(&core, &s, SessionCall { fuel: Some(1000), ..call("bump") }).await.unwrap();
    let second = run(&core, &s, SessionCall { fuel: Some(1000), ..call("bump") }).await.unwrap();
    assert_eq!(first.run.fuel_consumed, second.run.fuel_consumed);
    let out = run(&core, &s, SessionCall { fuel: Some(10_000), ..call("spin") }).await.unwrap();
    assert!(out.run.timed_out && out.run.fuel_consumed == Some(10_000), "{out:?}");
    assert_eq!(out.ended, Some(EndReason::Timeout));
    let unmetered = self::core(|s| s.fuel = FuelMode::Off);
    let s = open(&unmetered, None).await;
    let refused = run(&unmetered, &s, SessionCall { fuel: Some(10), ..call("bump") }).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::ConfigInvalid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_cap_holds_across_calls() {
    let core = core(|s| s.memory_limit_bytes = 4 << 20);
    let s = open(&core, None).await;
    // 2 pages at start, +16 a call: the cap of 64 pages refuses the 4th grow.
    for _ in 0..3 {
        assert!(run(&core, &s, call("grow")).await.unwrap().ended.is_none());
    }
    let refused = run(&core, &s, call("grow")).await.unwrap();
    assert_eq!((refused.run.trap, refused.ended), (Some("memory"), Some(EndReason::Trap)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_the_session_and_close_runs_the_shutdown_export() {
    let core = core(|_| {});
    let s = Arc::new(open(&core, None).await);
    let id = next_id();
    let registration = core.register(id).unwrap();
    let running = tokio::spawn({
        let s = s.clone();
        async move { s.call(id, registration, call("spin")).await }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    core.cancel(id);
    let err = running.await.unwrap().unwrap_err();
    assert_eq!((err.code, s.end_reason()), (ErrorCode::Aborted, Some(EndReason::Aborted)));

    let s = open(&core, None).await;
    s.close(Some("shutdown".into()), Duration::from_millis(500)).await;
    assert_eq!(s.end_reason(), Some(EndReason::Closed));
    assert_eq!(run(&core, &s, call("bump")).await.unwrap_err().code, ErrorCode::SessionEnded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_holds_its_pool_slot_until_it_ends() {
    let core = core(|s| s.pool_instances = 2);
    let (first, second) = (open(&core, None).await, open(&core, None).await);
    let (loaded, _) = core.load(LoadSource::Bytes { name: "session.wasm".into(), bytes: guest() }, None, true).await.unwrap();
    let id = next_id();
    let registration = core.register(id).unwrap();
    let third = tokio::spawn({
        let core = core.clone();
        async move { SessionCore::open(core, id, registration, loaded, vec!["s".into()], vec![], None).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!third.is_finished(), "both slots are held");
    first.close(None, Duration::from_millis(100)).await;
    let third = tokio::time::timeout(Duration::from_secs(5), third).await.expect("a slot came back").unwrap().unwrap();
    assert_eq!(run(&core, &third, call("bump")).await.unwrap().return_value, Some(1));
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_answers_through_the_guests_allocator() {
    let core = core(|_| {});
    let none = open(&core, None).await;
    assert_eq!(run(&core, &none, with_input("ask", b"q")).await.unwrap().return_value, Some(-1), "no host here");
    let s = open(&core, Some(Arc::new(TestHost::Echo("re: ")))).await;
    let out = run(&core, &s, with_input("ask", b"price of tea")).await.unwrap();
    assert_eq!(out.run.stdout.bytes, b"re: price of tea");
    assert_eq!(out.return_value, Some(16));
    assert!(out.run.host_faults.is_empty());
    let no_host = open(&core, Some(Arc::new(TestHost::NoHost))).await;
    assert_eq!(run(&core, &no_host, with_input("ask", b"q")).await.unwrap().return_value, Some(-1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_door_fault_answers_minus_two_and_is_recorded() {
    let core = core(|s| s.memory_limit_bytes = 64 << 20);
    let fails = open(&core, Some(Arc::new(TestHost::Fails))).await;
    let out = run(&core, &fails, with_input("ask", b"q")).await.unwrap();
    assert_eq!(out.return_value, Some(-2));
    assert_eq!(out.run.host_faults, vec!["Error: the price list is down".to_owned()]);
    assert!(out.run.stdout.bytes.is_empty(), "nothing of the host's error reaches the guest");
    let echo = open(&core, Some(Arc::new(TestHost::Echo("")))).await;
    let outside = run(&core, &echo, call("ask_bad")).await.unwrap();
    assert_eq!(outside.return_value, Some(-2));
    assert!(outside.run.host_faults[0].contains("outside guest memory"), "{:?}", outside.run.host_faults);
    let big = run(&core, &echo, call("ask_big")).await.unwrap();
    assert_eq!(big.return_value, Some(-2));
    assert!(big.run.host_faults[0].contains("over the 16 MiB cap"), "{:?}", big.run.host_faults);
    let huge = open(&core, Some(Arc::new(TestHost::Huge))).await;
    let answer = run(&core, &huge, with_input("ask", b"q")).await.unwrap();
    assert_eq!(answer.return_value, Some(-2));
    assert!(answer.run.host_faults[0].contains("answer of 16777217 bytes"), "{:?}", answer.run.host_faults);
    assert!(answer.ended.is_none(), "a fault is an answer: the session goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_never_answers_is_stopped_by_the_deadline() {
    let core = core(|_| {});
    let s = open(&core, Some(Arc::new(TestHost::Never))).await;
    let started = std::time::Instant::now();
    let out = run(&core, &s, SessionCall { timeout: Some(Duration::from_millis(100)), ..with_input("ask", b"q") }).await.unwrap();
    assert!(out.run.timed_out, "{out:?}");
    assert_eq!(out.ended, Some(EndReason::Timeout));
    // Generous: the deadline is 100 ms; only a host wait that ignored it would take seconds.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execute_uses_the_sandboxs_host_and_records_its_faults() {
    let core = core(|_| {});
    let failing: Arc<dyn HostCaller> = Arc::new(TestHost::Fails);
    core.set_host(failing);
    let (loaded, _) = core.load(LoadSource::Bytes { name: "session.wasm".into(), bytes: guest() }, None, false).await.unwrap();
    let id = next_id();
    let req = ExecuteRequest {
        source: ModuleSource::Loaded(loaded),
        args: vec!["session.wasm".into()],
        env: vec![],
        stdin: vec![],
        entry: Some("ask_bad".into()),
        inline: None,
    };
    let out = core.execute(id, core.register(id).unwrap(), req).await.unwrap().run;
    assert_eq!(out.exit_code, Some(-2i32 as u32));
    assert_eq!(out.host_faults.len(), 1, "{:?}", out.host_faults);
}
