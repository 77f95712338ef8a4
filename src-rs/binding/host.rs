//! A JS function bound to the host door (door.rs): called on the JS thread
//! through a weak threadsafe function, awaited on the guest's worker.

use crate::door::{HostAnswer, HostCaller, HostFuture};
use napi::threadsafe_function::ThreadsafeFunction;
use std::sync::Arc;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// What a `hostCall` answered, as the TypeScript wrapper resolves it:
/// bytes, or none for "no host here" (-1). A rejection is a fault (-2).
#[napi(object)]
pub struct NativeHostAnswer {
    pub bytes: Option<Buffer>,
}

/// Weak: a bound host function never keeps Node's event loop alive.
type HostFunction = ThreadsafeFunction<Vec<u8>, Promise<NativeHostAnswer>, Buffer, Status, false, true>;

/// The door's embedder: a JS function called on the JS thread, awaited on
/// the guest's worker.
struct JsHost(Arc<HostFunction>);

impl HostCaller for JsHost {
    fn call(&self, request: Vec<u8>) -> HostFuture {
        let function = self.0.clone();
        Box::pin(async move {
            let answer = function.call_async_catch(request).await.map_err(|e| format!("hostCall could not be called: {}", e.reason))?;
            let answer = answer.await.map_err(|e| e.reason.clone())?;
            Ok(match answer.bytes {
                Some(bytes) => HostAnswer::Bytes(bytes.to_vec()),
                None => HostAnswer::NoHost,
            })
        })
    }
}

pub(super) fn js_host(function: Function<'_, Buffer, Promise<NativeHostAnswer>>) -> Result<Arc<dyn HostCaller>> {
    let tsfn: HostFunction = function
        .build_threadsafe_function::<Vec<u8>>()
        .callee_handled::<false>()
        .weak::<true>()
        .build_callback(|ctx| Ok(Buffer::from(ctx.value)))?;
    Ok(Arc::new(JsHost(Arc::new(tsfn))))
}
