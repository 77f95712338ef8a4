//! The process's engines: one per `EngineKey`, shared by every sandbox that
//! uses it while any does, and the one engine built ahead of its first use
//! (default settings, from the moment the addon loads).

use crate::engine::{build, EngineKey, SharedEngine};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Duration;

fn registry() -> &'static Mutex<HashMap<EngineKey, Weak<SharedEngine>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<EngineKey, Weak<SharedEngine>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The shared engine for `key`, built on first use (or taken from the
/// prebuild). It lives while some sandbox holds it; the last one to go stops
/// and joins its ticker.
pub fn engine_for(key: EngineKey) -> wasmtime::Result<Arc<SharedEngine>> {
    let mut map = registry().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = map.get(&key).and_then(Weak::upgrade) {
        return Ok(existing);
    }
    let shared = match PREBUILD.claim(key) {
        Some(prebuilt) => prebuilt,
        None => Arc::new(build(key)?),
    };
    map.retain(|_, w| w.strong_count() > 0);
    map.insert(key, Arc::downgrade(&shared));
    Ok(shared)
}

/// The engine a new process's first sandbox most likely wants (default
/// settings), built on a thread of its own from the moment the addon loads,
/// so that its ~2 ms (mostly the pool's reservations) overlap the rest of
/// loading and the caller's own set-up instead of adding to a cold start.
static PREBUILD: Prebuild = Prebuild::new();

/// How long a prebuilt engine waits for a sandbox that wants it before it is
/// dropped, so that a process which never uses the defaults does not keep it.
const PREBUILD_UNCLAIMED: Duration = Duration::from_secs(30);

/// Starts building the engine for `key` in the background (once per process).
pub fn prebuild(key: EngineKey) {
    PREBUILD.start(key, PREBUILD_UNCLAIMED);
}

/// One engine built ahead of its first use, until a sandbox claims it or it
/// expires.
pub struct Prebuild {
    state: Mutex<PrebuildState>,
    changed: Condvar,
}

enum PrebuildState {
    Idle,
    Building(EngineKey),
    /// Built (None: the build failed; the claimer builds, and fails, itself).
    Ready(EngineKey, Option<Arc<SharedEngine>>),
    /// Given to a sandbox: nothing more happens.
    Claimed,
    /// Dropped unclaimed (or never started: no thread): nothing more happens.
    Expired,
}

impl Default for Prebuild {
    fn default() -> Self {
        Prebuild::new()
    }
}

impl Prebuild {
    pub const fn new() -> Prebuild {
        Prebuild { state: Mutex::new(PrebuildState::Idle), changed: Condvar::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PrebuildState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Builds `key`'s engine on a new thread, which then keeps it until it is
    /// claimed or `unclaimed` has passed (it is dropped on that thread).
    pub fn start(&'static self, key: EngineKey, unclaimed: Duration) {
        self.start_with(key, unclaimed, build);
    }

    fn start_with(&'static self, key: EngineKey, unclaimed: Duration, builder: fn(EngineKey) -> wasmtime::Result<SharedEngine>) {
        {
            let mut state = self.lock();
            if !matches!(*state, PrebuildState::Idle) {
                return;
            }
            *state = PrebuildState::Building(key);
        }
        let spawned = std::thread::Builder::new().name("mimobox-prebuild".into()).spawn(move || {
            // A panic while building must not leave claimers waiting for ever:
            // it counts as a failed build, and the claimer builds (and fails) itself.
            let built = std::panic::catch_unwind(|| builder(key)).ok().and_then(Result::ok).map(Arc::new);
            let mut state = self.lock();
            *state = PrebuildState::Ready(key, built);
            self.changed.notify_all();
            let (mut state, _) = self
                .changed
                .wait_timeout_while(state, unclaimed, |s| matches!(s, PrebuildState::Ready(..)))
                .unwrap_or_else(|e| e.into_inner());
            let unclaimed = matches!(*state, PrebuildState::Ready(..)).then(|| std::mem::replace(&mut *state, PrebuildState::Expired));
            drop(state);
            // Its ticker joins and its reservations go here, not on a caller's thread.
            drop(unclaimed);
        });
        if spawned.is_err() {
            *self.lock() = PrebuildState::Expired;
        }
    }

    /// The prebuilt engine if it is for `key`, waiting for its build to
    /// finish; None when there is none for this key (the caller builds).
    pub fn claim(&self, key: EngineKey) -> Option<Arc<SharedEngine>> {
        let state = self.lock();
        let mut state = self
            .changed
            .wait_while(state, |s| matches!(s, PrebuildState::Building(k) if *k == key))
            .unwrap_or_else(|e| e.into_inner());
        if !matches!(*state, PrebuildState::Ready(k, _) if k == key) {
            return None;
        }
        let PrebuildState::Ready(_, engine) = std::mem::replace(&mut *state, PrebuildState::Claimed) else {
            return None;
        };
        self.changed.notify_all();
        engine
    }

    /// The engine built and waiting for a sandbox, if any, without claiming it.
    pub fn waiting_engine(&self) -> Option<Weak<SharedEngine>> {
        match &*self.lock() {
            PrebuildState::Ready(_, Some(engine)) => Some(Arc::downgrade(engine)),
            _ => None,
        }
    }

    /// "idle", "building", "ready", "claimed" or "expired" (for `nativeInfo()` and tests).
    pub fn state_name(&self) -> &'static str {
        match *self.lock() {
            PrebuildState::Idle => "idle",
            PrebuildState::Building(_) => "building",
            PrebuildState::Ready(..) => "ready",
            PrebuildState::Claimed => "claimed",
            PrebuildState::Expired => "expired",
        }
    }
}

/// The process-wide prebuild's state (see `Prebuild::state_name`).
pub fn prebuild_state() -> &'static str {
    PREBUILD.state_name()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn engines_are_shared_per_key() {
        let stack_bytes = crate::settings::DEFAULT_STACK_BYTES;
        let key = EngineKey { fuel: true, pool_instances: 0, stack_bytes };
        let a = engine_for(key).unwrap();
        let b = engine_for(key).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = engine_for(EngineKey { fuel: false, ..key }).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_ne!(a.compat_tag, c.compat_tag, "fuel changes the compiled code");
        let deep = engine_for(EngineKey { stack_bytes: 8 << 20, ..key }).unwrap();
        assert!(!Arc::ptr_eq(&a, &deep));
        let pooled = engine_for(EngineKey { pool_instances: 8, ..key }).unwrap();
        assert!(!Arc::ptr_eq(&a, &pooled));
        assert_eq!(pooled.slots.as_ref().map(|s| s.available_permits()), Some(8));
    }

    fn leaked_prebuild() -> &'static Prebuild {
        Box::leak(Box::new(Prebuild::new()))
    }

    #[test]
    fn a_prebuilt_engine_goes_to_the_first_claim_of_its_key_only() {
        let prebuild = leaked_prebuild();
        let key = EngineKey { fuel: false, pool_instances: 4, stack_bytes: 640 << 10 };
        let other = EngineKey { stack_bytes: 704 << 10, ..key };
        prebuild.start(key, Duration::from_secs(60));
        assert!(prebuild.claim(other).is_none(), "another key's sandbox builds its own");
        // Claimed while building or after: either way it waits and gets it.
        let engine = prebuild.claim(key).expect("the prebuilt engine");
        assert_eq!(engine.key, key);
        assert_eq!(engine.slots.as_ref().map(|s| s.available_permits()), Some(4));
        assert_eq!(prebuild.state_name(), "claimed");
        assert!(prebuild.claim(key).is_none(), "claimed once; later sandboxes share it through the registry");
        prebuild.start(key, Duration::from_secs(60));
        assert_eq!(prebuild.state_name(), "claimed", "one prebuild per process");
    }

    #[test]
    fn a_prebuild_that_fails_or_panics_leaves_no_claimer_waiting() {
        fn fails(_: EngineKey) -> wasmtime::Result<SharedEngine> {
            Err(wasmtime::Error::msg("no engine here"))
        }
        fn panics(_: EngineKey) -> wasmtime::Result<SharedEngine> {
            panic!("deliberate panic while building")
        }
        for builder in [fails as fn(EngineKey) -> wasmtime::Result<SharedEngine>, panics] {
            let prebuild = leaked_prebuild();
            let key = EngineKey { fuel: false, pool_instances: 0, stack_bytes: 832 << 10 };
            prebuild.start_with(key, Duration::from_secs(60), builder);
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || tx.send(prebuild.claim(key).is_none()));
            let claimed_none = rx.recv_timeout(Duration::from_secs(20)).expect("claim() returned");
            assert!(claimed_none, "a failed build hands out nothing; the caller builds itself");
            assert_eq!(prebuild.state_name(), "claimed");
        }
    }

    #[test]
    fn an_unclaimed_prebuilt_engine_is_dropped_with_its_ticker() {
        let prebuild = leaked_prebuild();
        let key = EngineKey { fuel: false, pool_instances: 0, stack_bytes: 768 << 10 };
        prebuild.start(key, Duration::from_millis(200));
        let deadline = Instant::now() + Duration::from_secs(20);
        let weak = loop {
            if let Some(w) = prebuild.waiting_engine() {
                break w;
            }
            assert!(Instant::now() < deadline, "the prebuild never finished");
            std::thread::sleep(Duration::from_millis(5));
        };
        while weak.strong_count() > 0 {
            assert!(Instant::now() < deadline, "the unclaimed engine was never dropped");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(prebuild.state_name(), "expired");
        assert!(prebuild.claim(key).is_none(), "an expired prebuild is not handed out");
    }
}
