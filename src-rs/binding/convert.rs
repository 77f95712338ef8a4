//! Options in, results out: the objects Node passes and gets, and their
//! checked conversion to and from the core's types.

use crate::error::{ErrorCode, SandboxError};
use crate::log::{Level, LogLine};
use crate::run::RunOutcome;
use crate::sandbox::ExecuteOutcome;
use crate::session::CallOutcome;
use crate::settings::{
    DirGrant, FuelMode, Settings, UnknownImports, DEFAULT_MAX_MODULE_BYTES, DEFAULT_POOL_INSTANCES, DEFAULT_STACK_BYTES,
};
use std::path::PathBuf;
use std::time::Duration;
use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi(object)]
pub struct NativeDir {
    pub host: String,
    pub guest: String,
}

#[napi(object)]
pub struct NativeSandboxOptions {
    pub memory_limit_bytes: f64,
    pub timeout_ms: f64,
    pub fuel_mode: FuelModeKind,
    pub fuel: Option<f64>,
    pub readonly_dirs: Vec<NativeDir>,
    pub readwrite_dirs: Vec<NativeDir>,
    pub max_output_bytes: f64,
    pub cache: bool,
    pub cache_dir: Option<String>,
    pub max_concurrency: u32,
    pub queue_timeout_ms: Option<f64>,
    /// Pooling-allocator slots for this sandbox's engine; 0 turns pooling off.
    pub pool_instances: Option<u32>,
    /// Start executes on the calling thread for a bounded slice (default true).
    pub inline: Option<bool>,
    /// Deepest wasm stack, in bytes (default 512 KiB).
    pub stack_limit_bytes: Option<f64>,
    /// Largest module accepted, in bytes (default 256 MiB).
    pub max_module_bytes: Option<f64>,
    /// Function imports the sandbox does not provide (default "error").
    pub unknown_imports: Option<UnknownImportsMode>,
}

/// How fuel is metered: not at all (the wall clock bounds a guest), or
/// exactly `fuel` units per execute.
#[napi(string_enum = "lowercase")]
pub enum FuelModeKind {
    Off,
    /// Exactly `fuel` units per execute.
    Exact,
}

/// A diagnostic's level.
#[napi(string_enum = "lowercase")]
pub enum LogLevel {
    Info,
    Warn,
}

/// One diagnostic for the caller's logger.
#[napi(object)]
pub struct NativeLogLine {
    pub level: LogLevel,
    pub message: String,
}

impl From<LogLine> for NativeLogLine {
    fn from(line: LogLine) -> NativeLogLine {
        let level = match line.level {
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
        };
        NativeLogLine { level, message: line.message }
    }
}

/// What to do with function imports the sandbox does not provide.
#[napi(string_enum = "lowercase")]
pub enum UnknownImportsMode {
    /// Refuse the module before compiling it (IMPORT_MISSING).
    Error,
    /// Link each as a function that traps, naming the import, when called.
    Trap,
}

#[napi(object)]
pub struct NativeExecuteRequest {
    pub path: String,
    pub args: Vec<String>,
    /// "KEY=VALUE" strings.
    pub env: Vec<String>,
    pub stdin: Uint8Array,
    pub execution_id: f64,
    /// Export to run instead of `_start`/`main` (after `_initialize` if exported).
    pub entry: Option<String>,
    /// False when the caller has other executes waiting for their results:
    /// then the calling thread is better left to them than given a slice.
    pub start_inline: Option<bool>,
}

#[napi(object)]
pub struct NativeResult {
    pub stdout: Buffer,
    pub stderr: Buffer,
    pub exit_code: Option<f64>,
    pub timed_out: bool,
    pub trap: Option<String>,
    pub error: Option<String>,
    pub elapsed_ms: f64,
    pub fuel_consumed: Option<f64>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub stdout_bytes: f64,
    pub stderr_bytes: f64,
    pub log: Vec<NativeLogLine>,
    /// Messages of the `hostCall` errors, each answered -2 to the guest.
    pub host_call_faults: Vec<String>,
    /// A session call's i32 result, when the export returned one.
    pub return_value: Option<i32>,
    /// Set when this session call ended the session: why.
    pub session_ended: Option<String>,
    /// Which limit stopped the guest: wall_clock, fuel, memory, table, stack.
    pub limit: Option<String>,
}

#[napi(object)]
pub struct NativeInfo {
    pub wasmtime_version: String,
    pub worker_threads: u32,
    pub default_cache_dir: Option<String>,
    /// The core's limits and defaults: the TypeScript layer's copies (which
    /// the pure-JS backend also needs) are checked against these in tests.
    pub limits: NativeLimits,
    /// Every code a core error can carry (`err.code`).
    pub error_codes: Vec<String>,
    /// The engine for default settings, built from the moment the addon
    /// loads: "building", "ready" (waiting for a sandbox), "claimed" (a
    /// sandbox took it), "expired" (dropped after 30 s unclaimed) or "idle".
    pub prebuilt_engine: String,
}

#[napi(object)]
pub struct NativeLimits {
    pub max_memory_mb: f64,
    pub max_output_bytes: f64,
    pub default_max_module_mb: f64,
    pub max_module_mb: f64,
    pub default_stack_kb: f64,
    pub min_stack_kb: f64,
    pub max_stack_kb: f64,
    pub max_table_elements: f64,
    pub max_open_files: f64,
    /// Cap on a `host.call` request and on its answer, each, in bytes.
    pub host_call_max_bytes: f64,
}

impl NativeLimits {
    pub(super) fn of_core() -> Self {
        use crate::settings as s;
        NativeLimits {
            max_memory_mb: (s::MAX_MEMORY_BYTES >> 20) as f64,
            max_output_bytes: s::MAX_OUTPUT_LIMIT as f64,
            default_max_module_mb: (s::DEFAULT_MAX_MODULE_BYTES >> 20) as f64,
            max_module_mb: (s::MAX_MODULE_BYTES_LIMIT >> 20) as f64,
            default_stack_kb: (s::DEFAULT_STACK_BYTES >> 10) as f64,
            min_stack_kb: (s::MIN_STACK_BYTES >> 10) as f64,
            max_stack_kb: (s::MAX_STACK_BYTES >> 10) as f64,
            max_table_elements: s::MAX_TABLE_ELEMENTS as f64,
            max_open_files: crate::host::fd_cap::MAX_OPEN_FILES as f64,
            host_call_max_bytes: crate::door::HOST_CALL_MAX_BYTES as f64,
        }
    }
}

pub(super) fn config_error(msg: String) -> SandboxError {
    SandboxError::new(ErrorCode::ConfigInvalid, msg)
}

/// Milliseconds from JS as a duration. Values are checked where the user
/// gave them (config.ts); NaN and negatives become zero, which the core's
/// own invariants (`Settings::validate`) refuse where zero is not allowed.
pub(super) fn millis(ms: f64) -> Duration {
    Duration::from_millis(ms as u64)
}

/// The core's settings from the checked options: a conversion only (the
/// TypeScript layer validated them; the core guards its invariants).
pub(super) fn to_settings(o: NativeSandboxOptions) -> Settings {
    let fuel = match o.fuel_mode {
        FuelModeKind::Off => FuelMode::Off,
        FuelModeKind::Exact => FuelMode::Exact(o.fuel.map_or(0, |f| f as u64)),
    };
    let dirs = |v: Vec<NativeDir>| -> Vec<DirGrant> {
        v.into_iter().map(|d| DirGrant { host: PathBuf::from(d.host), guest: d.guest }).collect()
    };
    Settings {
        memory_limit_bytes: o.memory_limit_bytes as u64,
        timeout: millis(o.timeout_ms),
        fuel,
        readonly_dirs: dirs(o.readonly_dirs),
        readwrite_dirs: dirs(o.readwrite_dirs),
        max_output_bytes: o.max_output_bytes as usize,
        cache: o.cache,
        cache_dir: o.cache_dir.map(PathBuf::from),
        max_concurrency: o.max_concurrency as usize,
        queue_timeout: o.queue_timeout_ms.map(millis),
        pool_instances: o.pool_instances.unwrap_or(DEFAULT_POOL_INSTANCES),
        inline: o.inline.unwrap_or(true),
        stack_bytes: o.stack_limit_bytes.map_or(DEFAULT_STACK_BYTES, |b| b as usize),
        max_module_bytes: o.max_module_bytes.map_or(DEFAULT_MAX_MODULE_BYTES, |b| b as u64),
        unknown_imports: match o.unknown_imports {
            Some(UnknownImportsMode::Trap) => UnknownImports::Trap,
            Some(UnknownImportsMode::Error) | None => UnknownImports::Error,
        },
    }
}

pub(super) fn to_result(o: ExecuteOutcome) -> NativeResult {
    native_result(o.run, o.log)
}

fn native_result(r: RunOutcome, log: Vec<LogLine>) -> NativeResult {
    NativeResult {
        stdout_truncated: r.stdout.truncated,
        stderr_truncated: r.stderr.truncated,
        stdout_bytes: r.stdout.total as f64,
        stderr_bytes: r.stderr.total as f64,
        stdout: r.stdout.bytes.into(),
        stderr: r.stderr.bytes.into(),
        exit_code: r.exit_code.map(f64::from),
        timed_out: r.timed_out,
        trap: r.trap.map(str::to_owned),
        error: r.error,
        elapsed_ms: r.elapsed_ms,
        fuel_consumed: r.fuel_consumed.map(|f| f as f64),
        log: log.into_iter().map(NativeLogLine::from).collect(),
        host_call_faults: r.host_faults,
        limit: r.limit.map(str::to_owned),
        return_value: None,
        session_ended: None,
    }
}

pub(super) fn call_result(o: CallOutcome) -> NativeResult {
    NativeResult {
        return_value: o.return_value,
        session_ended: o.ended.map(|r| r.as_str().to_owned()),
        ..native_result(o.run, Vec::new())
    }
}
