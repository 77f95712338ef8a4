//! The per-sandbox settings the core runs with. The TypeScript layer has
//! validated them already; `validate` still refuses anything unsafe.

use crate::error::{ErrorCode, SandboxError, SbResult};
use std::path::PathBuf;
use std::time::Duration;

/// How often the epoch advances while guests run. Fine enough to bound an
/// inline slice (`INLINE_SLICE_TICKS`); a guest on a worker checks its
/// deadline and cancellation only every `TICKS_PER_CHECK` ticks.
pub const EPOCH_TICK: Duration = Duration::from_micros(500);
/// Ticks between a running guest's deadline checks (10 ms): the granularity
/// of timeouts and cancellation inside wasm code.
pub const TICKS_PER_CHECK: u64 = 20;
/// Ticks a guest may compute on the calling thread before it yields and moves
/// to a worker (0.5–1 ms: the first tick may come at once).
pub const INLINE_SLICE_TICKS: u64 = 2;

pub const MAX_OUTPUT_LIMIT: usize = 64 * 1024 * 1024;
/// Module size cap unless configured (`maxModuleMb`), and the most it may be set to.
pub const DEFAULT_MAX_MODULE_BYTES: u64 = 256 * 1024 * 1024;
pub const MAX_MODULE_BYTES_LIMIT: u64 = 1024 * 1024 * 1024;
/// Deepest wasm stack unless configured (`stackLimitKb`), and its bounds.
pub const DEFAULT_STACK_BYTES: usize = 512 * 1024;
pub const MIN_STACK_BYTES: usize = 64 * 1024;
pub const MAX_STACK_BYTES: usize = 16 * 1024 * 1024;
pub const MAX_MEMORY_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Pooling slots per engine unless configured: concurrent instances beyond
/// this wait for a slot. Each slot reserves address space, not memory.
pub const DEFAULT_POOL_INSTANCES: u32 = 256;
/// Table elements a guest may have (each costs the host a pointer or more).
pub const MAX_TABLE_ELEMENTS: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuelMode {
    /// No metering (the default): the wall clock stops a guest, and the code
    /// runs as fast as wasmtime compiles it (metering costs interpreters
    /// 15–30 %, README "Fuel").
    Off,
    /// Exactly this budget per execute, deterministic.
    Exact(u64),
}

/// What to do with function imports the sandbox does not provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UnknownImports {
    /// Refuse the module (IMPORT_MISSING) before compiling it.
    #[default]
    Error,
    /// Link each as a function that traps, naming the import, when called.
    Trap,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    pub host: PathBuf,
    pub guest: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub memory_limit_bytes: u64,
    pub timeout: Duration,
    pub fuel: FuelMode,
    pub readonly_dirs: Vec<DirGrant>,
    pub readwrite_dirs: Vec<DirGrant>,
    pub max_output_bytes: usize,
    pub cache: bool,
    pub cache_dir: Option<PathBuf>,
    pub max_concurrency: usize,
    pub queue_timeout: Option<Duration>,
    /// Pooling-allocator slots for this sandbox's engine; 0 = on-demand.
    pub pool_instances: u32,
    /// Start executes on the calling thread for a bounded slice (inline.rs).
    pub inline: bool,
    /// Deepest wasm stack a guest may use.
    pub stack_bytes: usize,
    pub max_module_bytes: u64,
    pub unknown_imports: UnknownImports,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            memory_limit_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            fuel: FuelMode::Off,
            readonly_dirs: Vec::new(),
            readwrite_dirs: Vec::new(),
            max_output_bytes: 1024 * 1024,
            cache: true,
            cache_dir: None,
            max_concurrency: 1,
            queue_timeout: None,
            pool_instances: DEFAULT_POOL_INSTANCES,
            inline: true,
            stack_bytes: DEFAULT_STACK_BYTES,
            max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
            unknown_imports: UnknownImports::Error,
        }
    }
}

impl Settings {
    /// The fuel budget for one execute, or None when metering is off.
    pub fn fuel_budget(&self) -> Option<u64> {
        match self.fuel {
            FuelMode::Off => None,
            FuelMode::Exact(n) => Some(n),
        }
    }

    pub fn validate(&self) -> SbResult<()> {
        let bad = |m: String| Err(SandboxError::new(ErrorCode::ConfigInvalid, m));
        if self.memory_limit_bytes == 0 || self.memory_limit_bytes > MAX_MEMORY_BYTES {
            return bad(format!("memoryLimitMb must be between 1 and 4096, got {} bytes", self.memory_limit_bytes));
        }
        if self.timeout.is_zero() {
            return bad("timeout must be positive".into());
        }
        if self.max_output_bytes == 0 || self.max_output_bytes > MAX_OUTPUT_LIMIT {
            return bad(format!("maxOutputBytes must be between 1 and {MAX_OUTPUT_LIMIT}"));
        }
        if self.max_concurrency == 0 {
            return bad("maxConcurrency must be at least 1".into());
        }
        if !(MIN_STACK_BYTES..=MAX_STACK_BYTES).contains(&self.stack_bytes) {
            return bad(format!("stackLimitKb must be between {} and {}, got {}", MIN_STACK_BYTES >> 10, MAX_STACK_BYTES >> 10, self.stack_bytes >> 10));
        }
        if self.max_module_bytes == 0 || self.max_module_bytes > MAX_MODULE_BYTES_LIMIT {
            return bad(format!("maxModuleMb must be between 1 and {}, got {} bytes", MAX_MODULE_BYTES_LIMIT >> 20, self.max_module_bytes));
        }
        if let FuelMode::Exact(0) = self.fuel {
            return bad("fuel must be positive (use null to turn metering off)".into());
        }
        for dir in self.readonly_dirs.iter().chain(&self.readwrite_dirs) {
            if !dir.host.is_absolute() {
                return bad(format!("directory {} must be an absolute path", dir.host.display()));
            }
            if dir.guest.is_empty() || dir.guest.contains('\0') {
                return bad(format!("guest path for {} must be non-empty without NUL", dir.host.display()));
            }
            if !dir.host.is_dir() {
                return Err(SandboxError::new(
                    ErrorCode::DirNotFound,
                    format!("host directory {} does not exist or is not a directory: create it or remove the grant", dir.host.display()),
                ));
            }
        }
        if let Some(dir) = &self.cache_dir {
            if !dir.is_absolute() {
                return bad(format!("cacheDir {} must be an absolute path", dir.display()));
            }
        }
        crate::module::protect::check_grants(
            self.readonly_dirs.iter().map(|d| d.host.as_path()),
            self.readwrite_dirs.iter().map(|d| d.host.as_path()),
            self.cache_dir.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuel_is_metered_only_when_a_budget_is_asked_for() {
        assert_eq!(Settings::default().fuel_budget(), None, "the default is wall clock only");
        let s = Settings { fuel: FuelMode::Exact(1234), ..Settings::default() };
        assert_eq!(s.fuel_budget(), Some(1234));
    }

    #[test]
    fn validate_refuses_bad_values() {
        let s = Settings { memory_limit_bytes: 0, ..Settings::default() };
        assert_eq!(s.validate().unwrap_err().code, ErrorCode::ConfigInvalid);
        let s = Settings { max_output_bytes: MAX_OUTPUT_LIMIT + 1, ..Settings::default() };
        assert!(s.validate().is_err());
        let s = Settings {
            readonly_dirs: vec![DirGrant { host: "relative".into(), guest: "/x".into() }],
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        let s = Settings {
            readonly_dirs: vec![DirGrant { host: "/nonexistent/mimobox".into(), guest: "/x".into() }],
            ..Settings::default()
        };
        assert_eq!(s.validate().unwrap_err().code, ErrorCode::DirNotFound);
        let s = Settings { stack_bytes: MAX_STACK_BYTES + 1, ..Settings::default() };
        assert!(s.validate().unwrap_err().message.contains("stackLimitKb"));
        let s = Settings { max_module_bytes: 0, ..Settings::default() };
        assert!(s.validate().unwrap_err().message.contains("maxModuleMb"));
        assert!(Settings::default().validate().is_ok());
    }
}
