//! mimobox-wasm: runs untrusted WASI preview 1 modules under wasmtime with
//! hard limits on time, memory, output and file access.
//!
//! The core (everything but `binding`) is plain async Rust, tested with
//! `cargo test --no-default-features`; `binding` is the napi-rs layer.

pub mod bounds;
pub mod budget;
pub mod door;
pub mod engine;
pub mod registry;
pub mod host;
pub mod error;
pub mod inline;
pub mod key;
pub mod loaded;
pub mod log;
pub mod module;
pub mod outcome;
pub mod output;
pub mod run;
pub mod sandbox;
pub mod scan;
pub mod session;
pub mod settings;
pub mod slot;
pub mod store;

#[cfg(feature = "napi")]
pub mod binding;

#[cfg(all(test, unix))]
mod artefact_tests;
#[cfg(test)]
mod core_tests;
#[cfg(test)]
mod inline_tests;
#[cfg(test)]
mod load_tests;
#[cfg(all(test, unix))]
mod native_hostile_tests;
#[cfg(test)]
mod session_tests;
