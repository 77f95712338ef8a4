//! Modules: finding a runnable one (load), what is known in memory (memo),
//! what a load must find before compiling (entry), checks and linking (link), compiling once (compile), the on-disk
//! artefacts (artefact) and their bound on disk (evict), their records' key (mac), file fingerprints
//! (fingerprint), the directories no grant may overlap (protect) and
//! the private-directory checks (private).

pub mod artefact;
pub mod compile;
pub mod entry;
pub mod evict;
pub mod fingerprint;
pub mod link;
pub mod load;
pub mod mac;
pub mod memo;
pub mod private;
pub mod protect;

pub use artefact::default_cache_dir;
pub use link::UnknownImportCalled;
pub use entry::EntryCheck;
pub use load::{clear_cache, load_bytes_cached, load_module, LoadOptions};
pub use memo::lookup_fast;
