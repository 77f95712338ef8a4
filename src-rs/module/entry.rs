//! What a load checks before compiling, shared by finding a module (load)
//! and checking and linking it (link): which entry point it must have, and
//! how its refusals are made.

use crate::error::{ErrorCode, SandboxError};

/// Which entry point a load must find before it compiles anything.
#[derive(Clone, Copy, Debug)]
pub enum EntryCheck<'a> {
    /// `_start` or `main` (an execute without `entry`).
    Default,
    /// This export (an execute with `entry`).
    Named(&'a str),
    /// A default entry, or a reactor whose entry each run names (`load()`).
    Runnable,
    /// Any module: a session's calls name their exports (`openSession`).
    Any,
}

pub(super) fn module_error(code: ErrorCode, msg: String) -> SandboxError {
    SandboxError::new(code, msg)
}

