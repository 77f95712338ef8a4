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
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ConfigInvalid => "CONFIG_INVALID",
            ErrorCode::CommandInvalid => "COMMAND_INVALID",
            ErrorCode::ModuleNotFound => "MODULE_NOT_FOUND",
            ErrorCode::ModuleInvalid => "MODULE_INVALID",
            ErrorCode::ModuleTooLarge => "MODULE_TOO_LARGE",
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

impl SandboxError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        SandboxError { code, message: message.into() }
    }

    /// The wire form the TypeScript layer parses: `[MIMOBOX:CODE] message`.
    pub fn wire(&self) -> String {
        format!("[MIMOBOX:{}] {}", self.code.as_str(), self.message)
    }
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for SandboxError {}

pub type SbResult<T> = Result<T, SandboxError>;
