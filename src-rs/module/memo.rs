//! What is known in memory: which file (by fingerprint) has which module
//! key, and the compiled, linked modules of each engine.

use super::fingerprint::Fingerprint;
use crate::engine::SharedEngine;
use crate::key::Hash;
use crate::loaded::LoadedModule;
use crate::settings::UnknownImports;
use std::collections::HashMap;
use std::fs;
use std::sync::{Mutex, OnceLock};

/// Bound on modules kept in memory per engine.
const MAX_MODULES_IN_MEMORY: usize = 256;

fn fingerprints() -> &'static Mutex<HashMap<Fingerprint, Hash>> {
    static MAP: OnceLock<Mutex<HashMap<Fingerprint, Hash>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

pub(super) fn remember_fingerprint(fp: Fingerprint, hash: Hash) {
    let mut map = fingerprints().lock().unwrap_or_else(|e| e.into_inner());
    if map.len() > 100_000 {
        map.clear();
    }
    map.insert(fp, hash);
}

pub(super) fn known_hash(fp: &Fingerprint) -> Option<Hash> {
    fingerprints().lock().unwrap_or_else(|e| e.into_inner()).get(fp).copied()
}

pub(super) fn remember(engine: &SharedEngine, mode: UnknownImports, loaded: &LoadedModule) {
    let mut map = engine.modules.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= MAX_MODULES_IN_MEMORY {
        // Evict an arbitrary entry: a simple bound, not an LRU.
        if let Some(k) = map.keys().next().copied() {
            map.remove(&k);
        }
    }
    map.insert((loaded.hash, mode), loaded.clone());
}

pub(super) fn cached_in_memory(engine: &SharedEngine, hash: &Hash, mode: UnknownImports) -> Option<LoadedModule> {
    engine.modules.lock().unwrap_or_else(|e| e.into_inner()).get(&(*hash, mode)).cloned()
}

/// The hot path: the module is in memory and its file is unchanged since it
/// was hashed. Costs one stat; reads nothing.
pub fn lookup_fast(engine: &SharedEngine, path: &str, mode: UnknownImports) -> Option<LoadedModule> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let hash = known_hash(&Fingerprint::of(std::path::absolute(path).ok()?, &meta))?;
    cached_in_memory(engine, &hash, mode)
}

