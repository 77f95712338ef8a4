//! Modules: finding a runnable one (load), what is known in memory (memo),
//! checks and linking (link), compiling once (compile), the on-disk
//! artefacts (artefact), their records' key (mac), file fingerprints
//! (fingerprint) and the directories no grant may overlap (protect).

pub mod artefact;
pub mod compile;
pub mod fingerprint;
pub mod link;
pub mod load;
pub mod mac;
pub mod memo;
pub mod protect;

pub use artefact::default_cache_dir;
pub use link::UnknownImportCalled;
pub use load::{clear_cache, load_bytes_cached, load_module, EntryCheck, LoadOptions};
pub use memo::lookup_fast;
