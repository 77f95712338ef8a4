//! The host door: the guest import `host.call(ptr, len, out_ptr_ptr,
//! out_len_ptr) -> i32`. The request bytes go to the embedder's `HostCaller`
//! (a Node function, through the binding); its answer is placed in guest
//! memory through the guest's own `host_alloc(len) -> ptr` export, and the
//! pointer and length are written where the guest asked. Returns 0
//! (answered), -1 (no host here) or -2 (fault). Everything that goes wrong on
//! the host's side is a fault recorded for the caller, never an error text
//! handed to the guest.

use crate::door::{HostAnswer, ANSWERED, HOST_ALLOC_EXPORT, HOST_CALL_MAX_BYTES, NO_HOST};
use crate::store::StoreState;
use wasmtime::{Caller, Extern, Memory};

fn memory(caller: &mut Caller<'_, StoreState>) -> Option<Memory> {
    caller.get_export("memory").and_then(Extern::into_memory)
}

/// `[at, at + len)` as a range inside memory of `size` bytes, if it is one.
fn span(at: i32, len: usize, size: usize) -> Option<std::ops::Range<usize>> {
    let start = at as u32 as usize;
    let end = start.checked_add(len)?;
    (end <= size).then_some(start..end)
}

const _: () = assert!(HOST_CALL_MAX_BYTES == 16 << 20, "the fault messages say 16 MiB");

/// Serves one `host.call`. Traps only where the guest's own code (its
/// `host_alloc`) traps, or where the execute is stopped while it waits.
pub async fn serve(caller: &mut Caller<'_, StoreState>, ptr: i32, len: i32, out_ptr_ptr: i32, out_len_ptr: i32) -> wasmtime::Result<i32> {
    let Some(host) = caller.data().door.host.clone() else {
        return Ok(NO_HOST);
    };
    // The embedder runs on the JS thread: never wait for it on that thread.
    crate::inline::at_host_call(caller, |_| true).await?;
    caller.data_mut().door.log.calls += 1;
    let len = len as u32 as usize;
    if len > HOST_CALL_MAX_BYTES {
        let m = format!("host.call: the request of {len} bytes is over the 16 MiB cap (HOST_CALL_MAX_BYTES)");
        return Ok(caller.data_mut().door.log.fault(m));
    }
    let Some(mem) = memory(caller) else {
        return Ok(caller.data_mut().door.log.fault("host.call: the guest exports no memory".into()));
    };
    let Some(range) = span(ptr, len, mem.data_size(&*caller)) else {
        let m = format!("host.call: the request ({len} bytes at {}) is outside guest memory", ptr as u32);
        return Ok(caller.data_mut().door.log.fault(m));
    };
    let request = mem.data(&*caller)[range].to_vec();
    let answer = match host.call(request).await {
        Ok(HostAnswer::Bytes(bytes)) => bytes,
        Ok(HostAnswer::NoHost) => return Ok(NO_HOST),
        Err(message) => return Ok(caller.data_mut().door.log.fault(message)),
    };
    place_answer(caller, mem, &answer, out_ptr_ptr, out_len_ptr).await
}

/// Copies `answer` into memory the guest allocates, and tells it where.
async fn place_answer(caller: &mut Caller<'_, StoreState>, mem: Memory, answer: &[u8], out_ptr_ptr: i32, out_len_ptr: i32) -> wasmtime::Result<i32> {
    if answer.len() > HOST_CALL_MAX_BYTES {
        let m = format!("host.call: the answer of {} bytes is over the 16 MiB cap (HOST_CALL_MAX_BYTES)", answer.len());
        return Ok(caller.data_mut().door.log.fault(m));
    }
    let alloc = caller
        .get_export(HOST_ALLOC_EXPORT)
        .and_then(Extern::into_func)
        .and_then(|f| f.typed::<i32, i32>(&*caller).ok());
    let Some(alloc) = alloc else {
        let m = format!("host.call: the guest exports no {HOST_ALLOC_EXPORT}(i32) -> i32 to place the answer in");
        return Ok(caller.data_mut().door.log.fault(m));
    };
    // The length fits: it is at most the 16 MiB cap.
    let len = answer.len() as i32;
    let at = if answer.is_empty() { 0 } else { alloc.call_async(&mut *caller, len).await? };
    let size = mem.data_size(&*caller);
    let Some(range) = span(at, answer.len(), size).filter(|_| at != 0 || answer.is_empty()) else {
        let m = format!("host.call: {HOST_ALLOC_EXPORT}({len}) returned {}, not room in guest memory", at as u32);
        return Ok(caller.data_mut().door.log.fault(m));
    };
    let (Some(ptr_at), Some(len_at)) = (span(out_ptr_ptr, 4, size), span(out_len_ptr, 4, size)) else {
        return Ok(caller.data_mut().door.log.fault("host.call: the answer's pointer or length slot is outside guest memory".into()));
    };
    let data = mem.data_mut(&mut *caller);
    data[range].copy_from_slice(answer);
    data[ptr_at].copy_from_slice(&(at as u32).to_le_bytes());
    data[len_at].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(ANSWERED)
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_stay_inside_memory() {
        assert_eq!(span(0, 4, 4), Some(0..4));
        assert_eq!(span(1, 4, 4), None);
        assert_eq!(span(-16, 64, 1 << 16), None, "a negative pointer is a high address");
        assert_eq!(span(8, 0, 8), Some(8..8));
        assert_eq!(span(-1, usize::MAX, usize::MAX), None, "no overflow");
    }
}
