//! Errors the core reports to its caller, each with a stable code that the
//! TypeScript layer turns into a typed error class.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    ConfigInvalid,
    CommandInvalid,
    ModuleNotFound,
    ModuleInvalid,
    ModuleTooLarge,
    ModuleUnsupported,
    NoEntry,
    ImportMissing,
    DirNotFound,
    Aborted,
    Destroyed,
    QueueTimeout,
    MemoryBudget,
    SessionEnded,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::ConfigInvalid,
        ErrorCode::CommandInvalid,
        ErrorCode::ModuleNotFound,
        ErrorCode::ModuleInvalid,
        ErrorCode::ModuleTooLarge,
        ErrorCode::ModuleUnsupported,
        ErrorCode::NoEntry,
        ErrorCode::ImportMissing,
        ErrorCode::DirNotFound,
        ErrorCode::Aborted,
        ErrorCode::Destroyed,
        ErrorCode::QueueTimeout,
        ErrorCode::MemoryBudget,
        ErrorCode::SessionEnded,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ConfigInvalid => "CONFIG_INVALID",
            ErrorCode::CommandInvalid => "COMMAND_INVALID",
            ErrorCode::ModuleNotFound => "MODULE_NOT_FOUND",
            ErrorCode::ModuleInvalid => "MODULE_INVALID",
            ErrorCode::ModuleTooLarge => "MODULE_TOO_LARGE",
            ErrorCode::ModuleUnsupported => "MODULE_UNSUPPORTED",
            ErrorCode::NoEntry => "NO_ENTRY",
            ErrorCode::ImportMissing => "IMPORT_MISSING",
            ErrorCode::DirNotFound => "DIR_NOT_FOUND",
            ErrorCode::Aborted => "ABORTED",
            ErrorCode::Destroyed => "DESTROYED",
            ErrorCode::QueueTimeout => "QUEUE_TIMEOUT",
            ErrorCode::MemoryBudget => "MEMORY_BUDGET",
            ErrorCode::SessionEnded => "SESSION_ENDED",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// An execute that could not produce a result. Guest misbehaviour is never
/// one of these: it is an outcome (see `outcome.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxError {
    pub code: ErrorCode,
    pub message: String,
}

/// What waited or was stopped, as the messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Execute,
    SessionOpen,
    SessionCall,
}

impl Work {
    pub fn as_str(self) -> &'static str {
        match self {
            Work::Execute => "execute",
            Work::SessionOpen => "session open",
            Work::SessionCall => "session call",
        }
    }
}

// The texts below are the ones src-ts/shared/errors.ts writes for the pure-JS
// backend (destroyedError, abortedError, queueTimeoutError): both backends
// say the same words (test/conformance/abort-texts.test.ts).
impl SandboxError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SandboxError { code, message: message.into() }
    }

    /// The sandbox was destroyed before or while the work ran.
    pub fn destroyed() -> Self {
        SandboxError::new(ErrorCode::Destroyed, "this sandbox was destroyed: create a new one")
    }

    /// Cancelled by its caller. The core never knows why: the TypeScript
    /// layer puts the abort signal's reason in.
    pub fn aborted(what: Work) -> Self {
        SandboxError::new(ErrorCode::Aborted, format!("the {} was aborted: no reason given", what.as_str()))
    }

    /// `what` waited `waited` for `for_what` and gave up; `remedy` says what
    /// to raise. `code` is QUEUE_TIMEOUT, or MEMORY_BUDGET for the budget.
    pub fn waited_too_long(code: ErrorCode, what: Work, waited: std::time::Duration, for_what: &str, remedy: &str) -> Self {
        SandboxError::new(code, format!("the {} waited {} ms for {for_what}: {remedy}", what.as_str(), waited.as_millis()))
    }
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for SandboxError {}

pub type SbResult<T> = Result<T, SandboxError>;
