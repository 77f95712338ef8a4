//! A cap on the host file descriptors one execute may hold: without one a
//! guest could open files until the process hits RLIMIT_NOFILE and starve
//! the host. wasmtime's `ResourceTable::set_max_capacity` bounds the table,
//! but a guest that reaches it traps, where a program expects `open` to fail
//! with EMFILE and go on. So `path_open`, `fd_close` and `fd_renumber` are
//! shadowed by wrappers that call wasmtime-wasi's own implementations, track
//! the descriptors the guest opened, and refuse opens past the cap with
//! EMFILE, as the JS backend does.
//!
//! The per-execute cap alone does not protect the host: 24 executes × 1,024
//! files reached the process's limit. So every descriptor a guest opens also
//! comes out of one process-wide budget (fd_budget.rs), half the process's
//! RLIMIT_NOFILE, returned as files close and when a run ends.

use crate::store::StoreState;
use wasmtime::{Caller, Linker};
use wasmtime_wasi::p1::wasi_snapshot_preview1 as p1;

/// Descriptors one execute may have open through `path_open` at once.
pub const MAX_OPEN_FILES: usize = 1024;
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_MFILE: i32 = 33;
/// ENFILE: the process-wide budget is spent (the system's table, to the guest).
const ERRNO_NFILE: i32 = 41;
const WASI: &str = "wasi_snapshot_preview1";

/// Runs one wasmtime-wasi preview 1 function against the caller's memory,
/// exactly as the generated linker glue does.
macro_rules! with_memory {
    ($caller:ident, |$state:ident, $mem:ident| $call:expr) => {
        $crate::host::fd_cap::with_memory!(@run $caller, $state, $mem, $call.await)
    };
    (sync $caller:ident, |$state:ident, $mem:ident| $call:expr) => {
        $crate::host::fd_cap::with_memory!(@run $caller, $state, $mem, $call)
    };
    (@run $caller:ident, $state:ident, $mem:ident, $call:expr) => {{
        use wasmtime_wasi::p1::wasi_snapshot_preview1::WasiSnapshotPreview1 as _;
        let fuel = wasmtime::AsContextMut::as_context_mut(&mut $caller).hostcall_fuel();
        let Some(wasmtime::Extern::Memory(memory)) = $caller.get_export("memory") else {
            wasmtime::bail!("missing required memory export");
        };
        let (bytes, $state) = memory.data_and_store_mut(&mut $caller);
        $state.wasi.set_hostcall_fuel(fuel);
        let mut $mem = wiggle::GuestMemory::Unshared(bytes);
        $call?
    }};
}
pub(crate) use with_memory;

/// Reads the u32 `path_open` wrote at `ptr` in the guest's memory.
fn read_fd(caller: &mut Caller<'_, StoreState>, ptr: i32) -> Option<u32> {
    let memory = caller.get_export("memory")?.into_memory()?;
    let mut buf = [0u8; 4];
    memory.read(&*caller, usize::try_from(ptr as u32).ok()?, &mut buf).ok()?;
    Some(u32::from_le_bytes(buf))
}

type PathOpenArgs = (i32, i32, i32, i32, i32, i64, i64, i32, i32);

/// Shadows the three calls in a linker that already has WASI preview 1.
pub fn install(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.func_wrap_async(WASI, "path_open", |mut caller: Caller<'_, StoreState>, a: PathOpenArgs| {
        Box::new(async move {
            // Opening a file goes to tokio's blocking pool anyway.
            crate::inline::at_host_call(&mut caller, |_| true).await?;
            if caller.data().open_files.count() >= MAX_OPEN_FILES {
                return Ok(ERRNO_MFILE);
            }
            // The process-wide share, taken before the open, given back if it fails.
            let Some(share) = crate::host::fd_budget::FdShare::take() else {
                return Ok(ERRNO_NFILE);
            };
            let errno: i32 = with_memory!(caller, |state, mem| p1::path_open(
                &mut state.wasi,
                &mut mem,
                a.0,
                a.1,
                a.2,
                a.3,
                a.4,
                a.5,
                a.6,
                a.7,
                a.8
            ));
            if errno == ERRNO_SUCCESS {
                if let Some(fd) = read_fd(&mut caller, a.8) {
                    caller.data_mut().open_files.insert(fd, share);
                }
            }
            Ok(errno)
        })
    })?;
    linker.func_wrap_async(WASI, "fd_close", |mut caller: Caller<'_, StoreState>, (fd,): (i32,)| {
        Box::new(async move {
            crate::inline::at_host_call(&mut caller, |_| false).await?;
            let errno: i32 = with_memory!(caller, |state, mem| p1::fd_close(&mut state.wasi, &mut mem, fd));
            if errno == ERRNO_SUCCESS {
                caller.data_mut().open_files.remove(fd as u32);
            }
            Ok(errno)
        })
    })?;
    linker.func_wrap_async(WASI, "fd_renumber", |mut caller: Caller<'_, StoreState>, (from, to): (i32, i32)| {
        Box::new(async move {
            crate::inline::at_host_call(&mut caller, |_| false).await?;
            let errno: i32 = with_memory!(caller, |state, mem| p1::fd_renumber(&mut state.wasi, &mut mem, from, to));
            if errno == ERRNO_SUCCESS && from != to {
                // `to` now holds what `from` held (its old file closed); `from` is gone.
                let files = &mut caller.data_mut().open_files;
                let moved = files.remove_keep(from as u32);
                files.remove(to as u32);
                if let Some(share) = moved {
                    files.insert(to as u32, share);
                }
            }
            Ok(errno)
        })
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
