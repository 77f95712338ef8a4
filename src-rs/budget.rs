//! The process-wide budget of reserved guest memory. Each execute reserves
//! its sandbox's memory cap while it runs, so a thousand sandboxes with
//! 64 MiB caps cannot together commit more than the host can give.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tokio::sync::{Semaphore, SemaphorePermit};

pub struct MemoryBudget {
    permits: Semaphore,
    total_mb: AtomicUsize,
}

/// When the platform cannot say: a modest machine.
const UNKNOWN_MEMORY_MB: usize = 4096;

#[cfg(unix)]
fn physical_memory_mb() -> usize {
    // SAFETY: sysconf has no preconditions; it returns -1 on error, handled below.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages <= 0 || page <= 0 {
        return UNKNOWN_MEMORY_MB;
    }
    ((pages as u128 * page as u128) >> 20) as usize
}

#[cfg(windows)]
fn physical_memory_mb() -> usize {
    use windows_sys::Win32::System::SystemInformation::{GlobalMemoryStatusEx, MEMORYSTATUSEX};
    let mut status = MEMORYSTATUSEX { dwLength: std::mem::size_of::<MEMORYSTATUSEX>() as u32, ..Default::default() };
    // SAFETY: `status` is a writable MEMORYSTATUSEX whose dwLength is set to
    // its size, which is all GlobalMemoryStatusEx requires; 0 means failure.
    if unsafe { GlobalMemoryStatusEx(&mut status) } == 0 {
        return UNKNOWN_MEMORY_MB;
    }
    usize::try_from(status.ullTotalPhys >> 20).unwrap_or(usize::MAX)
}

#[cfg(not(any(unix, windows)))]
fn physical_memory_mb() -> usize {
    UNKNOWN_MEMORY_MB
}

/// Default: $MIMOBOX_MEMORY_BUDGET_MB, else half the physical memory.
fn default_budget_mb() -> usize {
    std::env::var("MIMOBOX_MEMORY_BUDGET_MB")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&mb| mb > 0)
        .unwrap_or_else(|| (physical_memory_mb() / 2).max(64))
}

pub fn budget() -> &'static MemoryBudget {
    static BUDGET: OnceLock<MemoryBudget> = OnceLock::new();
    BUDGET.get_or_init(|| {
        let mb = default_budget_mb().min(Semaphore::MAX_PERMITS);
        MemoryBudget { permits: Semaphore::new(mb), total_mb: AtomicUsize::new(mb) }
    })
}

impl MemoryBudget {
    pub fn total_mb(&self) -> usize {
        self.total_mb.load(Ordering::SeqCst)
    }

    /// Changes the budget. Shrinking takes effect as running executes end.
    pub fn set_total_mb(&self, mb: usize) {
        let mb = mb.clamp(1, Semaphore::MAX_PERMITS);
        let old = self.total_mb.swap(mb, Ordering::SeqCst);
        if mb > old {
            self.permits.add_permits(mb - old);
        } else {
            let mut owed = old - mb;
            owed -= self.permits.forget_permits(owed);
            if owed > 0 {
                // The rest is in use: take it back as it is released.
                tokio_spawn_forget(owed);
            }
        }
    }

    /// Waits until `mb` can be reserved.
    pub async fn reserve(&self, mb: usize) -> Option<SemaphorePermit<'_>> {
        let n = u32::try_from(mb).ok()?;
        self.permits.acquire_many(n).await.ok()
    }
}

/// Forgets `owed` permits as they come back, on a helper thread, so a
/// shrink never blocks its caller.
fn tokio_spawn_forget(owed: usize) {
    let _ = std::thread::Builder::new().name("mimobox-budget".into()).spawn(move || {
        let b = budget();
        let mut owed = owed;
        while owed > 0 {
            owed -= b.permits.forget_permits(owed);
            if owed > 0 {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    });
}

/// MiB to reserve for a memory cap in bytes (rounded up).
pub fn mb_for(bytes: u64) -> usize {
    usize::try_from(bytes.div_ceil(1024 * 1024)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_to_whole_mib() {
        assert_eq!(mb_for(1), 1);
        assert_eq!(mb_for(64 << 20), 64);
        assert_eq!(mb_for((64 << 20) + 1), 65);
    }
}
