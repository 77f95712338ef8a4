//! Captured stdout/stderr with a cap. Past the cap the guest keeps running:
//! its writes still succeed, the extra bytes are counted and dropped.

use bytes::Bytes;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The most a guest may hand over in one write permit.
const WRITE_PERMIT: usize = 1024 * 1024;

#[derive(Debug, Default)]
struct Captured {
    kept: Vec<u8>,
    total: u64,
}

/// What a capture holds at the end of an execute.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CaptureResult {
    pub bytes: Vec<u8>,
    pub total: u64,
    pub truncated: bool,
}

#[derive(Clone)]
pub struct CappedPipe {
    cap: usize,
    inner: Arc<Mutex<Captured>>,
}

impl CappedPipe {
    pub fn new(cap: usize) -> Self {
        CappedPipe { cap, inner: Arc::new(Mutex::new(Captured::default())) }
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        // A poisoned lock only means a panic elsewhere; the bytes are still valid.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, data: &[u8]) {
        let mut c = self.lock();
        c.total = c.total.saturating_add(data.len() as u64);
        let room = self.cap.saturating_sub(c.kept.len());
        let take = room.min(data.len());
        c.kept.extend_from_slice(&data[..take]);
    }

    /// Takes the captured bytes out, leaving the pipe empty.
    pub fn take(&self) -> CaptureResult {
        let mut c = self.lock();
        let bytes = std::mem::take(&mut c.kept);
        // A session's next call counts afresh.
        let total = std::mem::take(&mut c.total);
        CaptureResult { truncated: total > bytes.len() as u64, total, bytes }
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready: past the cap bytes are counted, not refused.
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CappedPipe {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_up_to_cap_and_counts_the_rest() {
        let pipe = CappedPipe::new(10);
        pipe.push(b"hello ");
        pipe.push(b"world, and more");
        let r = pipe.take();
        assert_eq!(r.bytes, b"hello worl");
        assert_eq!(r.total, 21);
        assert!(r.truncated);
    }

    #[test]
    fn exact_cap_is_not_truncated() {
        let pipe = CappedPipe::new(5);
        pipe.push(b"12345");
        let r = pipe.take();
        assert_eq!(r.bytes, b"12345");
        assert!(!r.truncated);
    }

    #[test]
    fn writes_past_cap_still_succeed() {
        let mut pipe = CappedPipe::new(4);
        for _ in 0..100 {
            assert!(pipe.check_write().unwrap() > 0);
            pipe.write(Bytes::from_static(b"abcdefgh")).unwrap();
        }
        let r = pipe.take();
        assert_eq!(r.total, 800);
        assert_eq!(r.bytes, b"abcd");
    }
}
