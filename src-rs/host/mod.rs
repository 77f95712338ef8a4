//! What the host gives a guest beyond wasmtime-wasi's own linker: the WASI
//! context (wasi_ctx), the open-file cap (fd_cap) and the
//! process-wide descriptor budget (fd_budget), the inline-start shadows
//! of blocking WASI calls (shadows) and the `host.call` door (call).

pub mod call;
pub mod fd_budget;
pub mod fd_cap;
pub mod shadows;
pub mod wasi_ctx;
