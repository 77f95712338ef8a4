//! An execute's place in its sandbox's queue (`Registration`), and waiting
//! for what comes before the guest runs (a slot, a compile) in a way that an
//! abort, destroy() or a deadline can always end.

use crate::error::SbResult;
use crate::output::CaptureResult;
use crate::run::RunOutcome;
use crate::store::CancelFlag;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

pub(crate) async fn wait_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

pub(crate) type SlotFuture = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// A slot already taken at registration, or a place in the queue for one.
pub(crate) enum Slot {
    Taken(Result<OwnedSemaphorePermit, AcquireError>),
    Queued(SlotFuture),
}

impl Slot {
    pub(crate) async fn wait(self) -> Result<OwnedSemaphorePermit, AcquireError> {
        match self {
            Slot::Taken(permit) => permit,
            Slot::Queued(wait) => wait.await,
        }
    }
}

/// An execute registered with `SandboxCore::register`: its cancel flag and
/// its place in the queue.
pub struct Registration {
    pub flag: Arc<CancelFlag>,
    pub(crate) slot: Slot,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration").field("flag", &self.flag).finish_non_exhaustive()
    }
}

impl Registration {
    pub(crate) fn new(flag: Arc<CancelFlag>, slot: Slot) -> Registration {
        Registration { flag, slot }
    }
}

/// Awaits a module load (which may compile for long) unless the execute is
/// cancelled (Err from the flag) or its `timeout` passes first: then the
/// execute is over, timed out, as if its guest had run out of time
/// (Err(outcome)); it never waits for the compile and never succeeds.
pub(crate) async fn while_loading<T>(load: impl Future<Output = SbResult<T>>, flag: &CancelFlag, timeout: Duration) -> Result<SbResult<T>, RunOutcome> {
    let started = Instant::now();
    tokio::select! {
        r = load => Ok(r),
        () = flag.cancelled() => Ok(Err(flag.to_error())),
        () = tokio::time::sleep(timeout) => {
            let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
            Err(RunOutcome {
                stdout: CaptureResult::default(),
                stderr: CaptureResult::default(),
                exit_code: None,
                timed_out: true,
                trap: None,
                error: Some(format!("wall-clock timeout after {elapsed_ms:.0} ms, while the module was still compiling")),
                elapsed_ms,
                fuel_consumed: None,
                host_faults: Vec::new(),
                limit: Some("wall_clock"),
            })
        }
    }
}
