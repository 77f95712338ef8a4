//! The process-wide budget of descriptors guests may hold: half of the
//! process's RLIMIT_NOFILE soft limit (read when first needed), the other
//! half left to the host (Node, libuv, the embedder's own files, wasmtime).
//! Every execute and session shares it; a guest that finds it spent gets
//! ENFILE from `path_open`, as a program would from a full system table.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Where the platform cannot say (or has no limit): a generous default.
const UNKNOWN_LIMIT: usize = 8192;

#[cfg(unix)]
fn nofile_limit() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit through a valid pointer; -1 is handled.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return UNKNOWN_LIMIT;
    }
    usize::try_from(limit.rlim_cur).unwrap_or(UNKNOWN_LIMIT)
}

#[cfg(not(unix))]
fn nofile_limit() -> usize {
    UNKNOWN_LIMIT
}

struct Budget {
    total: usize,
    used: AtomicUsize,
}

fn budget() -> &'static Budget {
    static BUDGET: OnceLock<Budget> = OnceLock::new();
    BUDGET.get_or_init(|| Budget { total: (nofile_limit() / 2).max(16), used: AtomicUsize::new(0) })
}

/// Descriptors guests may hold at once in this process.
pub fn total() -> usize {
    budget().total
}

/// Descriptors guests hold now.
pub fn in_use() -> usize {
    budget().used.load(Ordering::SeqCst)
}

/// One descriptor's share of the budget; given back when dropped.
#[derive(Debug)]
pub struct FdShare(());

impl FdShare {
    /// A share, or None when the budget is spent.
    pub fn take() -> Option<FdShare> {
        let b = budget();
        b.used.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < b.total).then_some(n + 1)).ok().map(|_| FdShare(()))
    }
}

impl Drop for FdShare {
    fn drop(&mut self) {
        budget().used.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_come_back_when_dropped() {
        let before = in_use();
        let shares: Vec<FdShare> = (0..10).filter_map(|_| FdShare::take()).collect();
        assert_eq!(shares.len(), 10);
        assert!(in_use() >= before + 10 || total() < before + 10);
        drop(shares);
        assert!(total() >= 16);
    }
}
