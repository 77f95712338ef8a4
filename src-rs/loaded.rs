//! A module ready to instantiate, and the per-engine map that keeps them in
//! memory. Below the engine (which owns a map) and the load pipeline (which
//! fills it), so neither needs the other's module.

use crate::key::{hex, Hash};
use crate::inline::InlineHistory;
use crate::scan::Exports;
use crate::settings::UnknownImports;
use crate::store::StoreState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmtime::InstancePre;

/// Compiled, linked modules kept in memory per engine, so hot executes skip disk.
pub type ModuleMap = Mutex<HashMap<(Hash, UnknownImports), LoadedModule>>;
#[derive(Clone)]
pub struct LoadedModule {
    pub pre: InstancePre<StoreState>,
    pub exports: Arc<Exports>,
    pub hash: Hash,
    /// How its inline starts went; None when it may not start inline.
    pub inline: Option<Arc<InlineHistory>>,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule").field("hash", &hex(&self.hash)).field("exports", &self.exports).finish_non_exhaustive()
    }
}

