//! The host door's types: who answers `host.call` (the embedder's
//! `HostCaller`), what it answered, and the record a store keeps of it. The
//! serving itself is `host/call.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Cap on a request and on an answer, each.
pub const HOST_CALL_MAX_BYTES: usize = 16 << 20;
/// The guest export the answer is placed through.
pub const HOST_ALLOC_EXPORT: &str = "host_alloc";
/// Faults kept per execute or session call; the rest are counted only.
const MAX_RECORDED_FAULTS: usize = 100;
/// A fault message is cut to this many characters.
const MAX_FAULT_CHARS: usize = 500;

pub const ANSWERED: i32 = 0;
pub const NO_HOST: i32 = -1;
pub const FAULT: i32 = -2;

/// What the embedder answered.
pub enum HostAnswer {
    Bytes(Vec<u8>),
    /// "No host here" (-1), as when nothing is bound.
    NoHost,
}

pub type HostFuture = Pin<Box<dyn Future<Output = Result<HostAnswer, String>> + Send>>;

/// The embedder's side of the door. The future may be dropped at any time
/// (deadline, abort): the embedder's late answer is then discarded.
pub trait HostCaller: Send + Sync {
    fn call(&self, request: Vec<u8>) -> HostFuture;
}

/// The door's record for one execute or session call.
#[derive(Debug, Default, Clone)]
pub struct DoorLog {
    pub calls: u64,
    faults: Vec<String>,
    /// Faults past the first `MAX_RECORDED_FAULTS`, counted only.
    dropped: u64,
}

impl DoorLog {
    pub(crate) fn fault(&mut self, message: String) -> i32 {
        if self.faults.len() < MAX_RECORDED_FAULTS {
            self.faults.push(message.chars().take(MAX_FAULT_CHARS).collect());
        } else {
            self.dropped += 1;
        }
        FAULT
    }

    /// The fault messages, then one line counting those not kept.
    pub fn into_faults(self) -> Vec<String> {
        let mut faults = self.faults;
        if self.dropped > 0 {
            faults.push(format!("... and {} more host.call faults (only the first {MAX_RECORDED_FAULTS} are kept)", self.dropped));
        }
        faults
    }
}

/// The door's state in a store: who answers, and what happened.
#[derive(Default)]
pub struct Door {
    pub host: Option<Arc<dyn HostCaller>>,
    pub log: DoorLog,
}

