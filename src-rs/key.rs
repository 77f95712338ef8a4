//! What names a module everywhere (the in-memory maps, the compile lock,
//! the artefact files): the SHA-256 of its bytes.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The key of a module: every load path, from a file or from bytes, uses it.
pub fn module_key(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
