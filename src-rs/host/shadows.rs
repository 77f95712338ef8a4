//! Shadows of the WASI preview 1 calls for the inline start (inline.rs):
//! each first passes `at_host_call` (which may move it off the calling
//! thread), then runs wasmtime-wasi's own implementation against the
//! caller's memory.
//! (`path_open`, `fd_close` and `fd_renumber` do the same in `fd_cap`;
//! `proc_exit` ends the guest.)

use crate::host::fd_cap::with_memory;
use crate::inline::at_host_call;
use crate::store::StoreState;
use wasmtime::{Caller, Linker};

const WASI: &str = "wasi_snapshot_preview1";
/// Reads and writes up to this size stay on the calling thread.
const MAX_INLINE_IO_BYTES: u64 = 64 << 10;
const MAX_INLINE_IOVECS: u32 = 16;

/// Whether the iovec list at `iovs` is short and small. Anything this cannot
/// read answers false: the call then moves, and reports the error itself.
fn small_iovecs(caller: &mut Caller<'_, StoreState>, iovs: i32, count: i32) -> bool {
    let count = count as u32;
    if count > MAX_INLINE_IOVECS {
        return false;
    }
    let Some(memory) = caller.get_export("memory").and_then(wasmtime::Extern::into_memory) else {
        return false;
    };
    let data = memory.data(&*caller);
    let mut total = 0u64;
    for i in 0..count as usize {
        // An iovec is { buf: u32, buf_len: u32 }.
        let at = iovs as u32 as usize + i * 8 + 4;
        let Some(len) = data.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return false;
        };
        total += u64::from(u32::from_le_bytes(len));
    }
    total <= MAX_INLINE_IO_BYTES
}

/// Shadows one preview 1 call: when `$leave` holds on the calling thread,
/// the guest first moves to a worker; then wasmtime-wasi's own code runs.
macro_rules! shadow {
    (sync $linker:ident, $($rest:tt)*) => { shadow!(@def [sync] $linker, $($rest)*) };
    (@def [$($sync:ident)?] $linker:ident, $name:literal, $func:path, |$c:ident| $costly:expr, ($($arg:ident: $ty:ty),*)) => {
        $linker.func_wrap_async(WASI, $name, |mut caller: Caller<'_, StoreState>, ($($arg,)*): ($($ty,)*)| {
            Box::new(async move {
                #[allow(unused_variables)]
                at_host_call(&mut caller, |$c: &mut Caller<'_, StoreState>| $costly).await?;
                let errno: i32 = with_memory!($($sync)? caller, |state, mem| $func(&mut state.wasi, &mut mem, $($arg),*));
                Ok(errno)
            })
        })?;
    };
    ($linker:ident, $($rest:tt)*) => { shadow!(@def [] $linker, $($rest)*) };
}

/// Shadows the preview 1 calls whose cost the guest sets through their
/// arguments (bytes to copy or generate, subscriptions, path lengths), so
/// that only small ones run on the calling thread. `path_open` does the same
/// in `fd_cap`; the rest are O(1) or bounded by the sandbox's own config.
pub fn install(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;
    linker.allow_shadowing(true);
    // Cost bounded by the sandbox's own config or O(1): only the clock check.
    shadow!(sync linker, "args_get", p1::args_get, |c| false, (argv: i32, buf: i32));
    shadow!(sync linker, "args_sizes_get", p1::args_sizes_get, |c| false, (n: i32, size: i32));
    shadow!(sync linker, "environ_get", p1::environ_get, |c| false, (env: i32, buf: i32));
    shadow!(sync linker, "environ_sizes_get", p1::environ_sizes_get, |c| false, (n: i32, size: i32));
    shadow!(sync linker, "clock_res_get", p1::clock_res_get, |c| false, (id: i32, out: i32));
    shadow!(sync linker, "clock_time_get", p1::clock_time_get, |c| false, (id: i32, precision: i64, out: i32));
    shadow!(sync linker, "fd_fdstat_set_flags", p1::fd_fdstat_set_flags, |c| false, (fd: i32, flags: i32));
    shadow!(sync linker, "fd_fdstat_set_rights", p1::fd_fdstat_set_rights, |c| false, (fd: i32, base: i64, inheriting: i64));
    shadow!(sync linker, "fd_prestat_get", p1::fd_prestat_get, |c| false, (fd: i32, out: i32));
    shadow!(sync linker, "fd_prestat_dir_name", p1::fd_prestat_dir_name, |c| false, (fd: i32, path: i32, len: i32));
    shadow!(sync linker, "fd_tell", p1::fd_tell, |c| false, (fd: i32, out: i32));
    shadow!(sync linker, "proc_raise", p1::proc_raise, |c| false, (sig: i32));
    shadow!(sync linker, "sched_yield", p1::sched_yield, |c| false, ());
    shadow!(sync linker, "sock_accept", p1::sock_accept, |c| false, (fd: i32, flags: i32, out: i32));
    shadow!(sync linker, "sock_recv", p1::sock_recv, |c| false, (fd: i32, iovs: i32, n: i32, flags: i32, len_out: i32, flags_out: i32));
    shadow!(sync linker, "sock_send", p1::sock_send, |c| false, (fd: i32, iovs: i32, n: i32, flags: i32, out: i32));
    shadow!(sync linker, "sock_shutdown", p1::sock_shutdown, |c| false, (fd: i32, how: i32));
    shadow!(linker, "fd_fdstat_get", p1::fd_fdstat_get, |c| false, (fd: i32, out: i32));
    shadow!(linker, "fd_seek", p1::fd_seek, |c| false, (fd: i32, offset: i64, whence: i32, out: i32));
    // Files: these go to tokio's blocking pool anyway.
    shadow!(sync linker, "fd_allocate", p1::fd_allocate, |c| true, (fd: i32, offset: i64, len: i64));
    shadow!(linker, "fd_advise", p1::fd_advise, |c| true, (fd: i32, offset: i64, len: i64, advice: i32));
    shadow!(linker, "fd_datasync", p1::fd_datasync, |c| true, (fd: i32));
    shadow!(linker, "fd_sync", p1::fd_sync, |c| true, (fd: i32));
    shadow!(linker, "fd_filestat_get", p1::fd_filestat_get, |c| true, (fd: i32, out: i32));
    shadow!(linker, "fd_filestat_set_size", p1::fd_filestat_set_size, |c| true, (fd: i32, size: i64));
    shadow!(linker, "fd_filestat_set_times", p1::fd_filestat_set_times, |c| true, (fd: i32, a: i64, m: i64, f: i32));
    shadow!(linker, "fd_readdir", p1::fd_readdir, |c| true, (fd: i32, buf: i32, len: i32, cookie: i64, out: i32));
    // Cost set by the guest's arguments.
    shadow!(linker, "fd_read", p1::fd_read, |c| !small_iovecs(c, iovs, n), (fd: i32, iovs: i32, n: i32, out: i32));
    shadow!(linker, "fd_write", p1::fd_write, |c| !small_iovecs(c, iovs, n), (fd: i32, iovs: i32, n: i32, out: i32));
    shadow!(linker, "fd_pread", p1::fd_pread, |c| !small_iovecs(c, iovs, n), (fd: i32, iovs: i32, n: i32, at: i64, out: i32));
    shadow!(linker, "fd_pwrite", p1::fd_pwrite, |c| !small_iovecs(c, iovs, n), (fd: i32, iovs: i32, n: i32, at: i64, out: i32));
    shadow!(sync linker, "random_get", p1::random_get, |c| len as u32 as u64 > MAX_INLINE_IO_BYTES, (buf: i32, len: i32));
    shadow!(linker, "poll_oneoff", p1::poll_oneoff, |c| n as u32 > MAX_INLINE_IOVECS, (subs: i32, events: i32, n: i32, out: i32));
    shadow!(linker, "path_create_directory", p1::path_create_directory, |c| true, (fd: i32, p: i32, pl: i32));
    shadow!(linker, "path_filestat_get", p1::path_filestat_get, |c| true, (fd: i32, fl: i32, p: i32, pl: i32, out: i32));
    shadow!(linker, "path_filestat_set_times", p1::path_filestat_set_times, |c| true, (fd: i32, fl: i32, p: i32, pl: i32, a: i64, m: i64, f: i32));
    shadow!(linker, "path_link", p1::path_link, |c| true, (fd: i32, fl: i32, p: i32, pl: i32, fd2: i32, p2: i32, pl2: i32));
    shadow!(linker, "path_readlink", p1::path_readlink, |c| true, (fd: i32, p: i32, pl: i32, buf: i32, len: i32, out: i32));
    shadow!(linker, "path_remove_directory", p1::path_remove_directory, |c| true, (fd: i32, p: i32, pl: i32));
    shadow!(linker, "path_rename", p1::path_rename, |c| true, (fd: i32, p: i32, pl: i32, fd2: i32, p2: i32, pl2: i32));
    shadow!(linker, "path_symlink", p1::path_symlink, |c| true, (p: i32, pl: i32, fd: i32, p2: i32, pl2: i32));
    shadow!(linker, "path_unlink_file", p1::path_unlink_file, |c| true, (fd: i32, p: i32, pl: i32));
    linker.allow_shadowing(false);
    Ok(())
}
