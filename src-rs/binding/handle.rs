//! The handle JavaScript holds for a sandbox. Its methods are in sandbox.rs;
//! a session's calls take it too (session.rs), so it stands apart from both
//! and neither imports the other's module in both directions.

use crate::sandbox::SandboxCore;
use napi_derive::napi;
use std::sync::Arc;

#[napi]
pub struct NativeSandbox {
    pub(super) core: Arc<SandboxCore>,
}
