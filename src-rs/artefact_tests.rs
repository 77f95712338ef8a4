//! The artefact store's guarantees (artefact.rs): private directories,
//! mapped artefacts refused once changed, the fingerprint index, clearing.

use crate::module::artefact::*;
use crate::module::fingerprint::Fingerprint;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

#[test]
fn policy_refuses_foreign_owner_and_shared_modes_even_as_root() {
    let p = Path::new("/x");
    assert!(unsafe_owner_or_mode(p, 1000, 0o40700, 1000).is_none());
    assert!(unsafe_owner_or_mode(p, 0, 0o40700, 1000).unwrap().contains("owned by uid 0"));
    assert!(unsafe_owner_or_mode(p, 1000, 0o40770, 1000).unwrap().contains("writable by group or others"));
    assert!(unsafe_owner_or_mode(p, 1000, 0o40702, 1000).unwrap().contains("mode 702"));
}

#[test]
fn cache_dir_must_be_private() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).unwrap();
    assert!(check_private_dir(&shared).unwrap_err().contains("writable by group or others"));
    let fresh = dir.path().join("new/deeper");
    ensure_private_dir(&fresh).unwrap();
    assert_eq!(fs::metadata(&fresh).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn default_cache_dir_prefers_explicit() {
    assert_eq!(default_cache_dir(Some(Path::new("/x/y"))), Some(PathBuf::from("/x/y")));
}

fn compiled(engine: &Engine) -> Vec<u8> {
    engine.precompile_module(&wat::parse_str("(module (func (export \"_start\")))").unwrap()).unwrap()
}

#[test]
fn stored_artefacts_map_and_tampered_ones_are_refused() {
    let engine = Engine::default();
    let dir = tempfile::tempdir().unwrap();
    let hash: Hash = Sha256::digest(b"wasm").into();
    assert!(open(&engine, dir.path(), &hash).is_none(), "nothing stored yet");
    store(dir.path(), &hash, &compiled(&engine), true).unwrap();
    let (module, inline_ok) = open(&engine, dir.path(), &hash).unwrap().unwrap();
    assert!(inline_ok && module.get_export("_start").is_some());

    // Rewritten in place with the same bytes: the ctime moves, so it is refused
    // (and left for the compile-lock holder to remove).
    let path = cwasm_path(dir.path(), &hash);
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&path, fs::read(&path).unwrap()).unwrap();
    let why = open(&engine, dir.path(), &hash).unwrap().unwrap_err();
    assert!(why.contains("changed since it was written"), "{why}");
    assert!(why.contains("corrupt or truncated"), "{why}");
    assert!(path.exists(), "open alone never removes: it may be another process's write in progress");
    remove(dir.path(), &hash);

    // Another module's record does not vouch for this file.
    let other: Hash = Sha256::digest(b"other").into();
    store(dir.path(), &other, &compiled(&engine), false).unwrap();
    fs::rename(meta_path(dir.path(), &other), meta_path(dir.path(), &hash)).unwrap();
    fs::rename(cwasm_path(dir.path(), &other), &path).unwrap();
    assert!(open(&engine, dir.path(), &hash).unwrap().unwrap_err().contains("belongs to another module"));

    // A group-writable artefact is never mapped.
    store(dir.path(), &hash, &compiled(&engine), false).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
    assert!(open(&engine, dir.path(), &hash).unwrap().unwrap_err().contains("private"));
}

#[test]
fn fingerprint_index_round_trips_only_for_settled_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.wasm");
    fs::write(&file, b"\0asm").unwrap();
    let fresh = Fingerprint::of(file.clone(), &fs::metadata(&file).unwrap());
    let hash: Hash = Sha256::digest(b"\0asm").into();
    index_hash(dir.path(), &fresh, &hash);
    assert_eq!(indexed_hash(dir.path(), &fresh), None, "a file written just now is not indexed");
    let settled = Fingerprint { ctime_ns: fresh.ctime_ns - 10_000_000_000, mtime_ns: fresh.mtime_ns - 10_000_000_000, ..fresh.clone() };
    index_hash(dir.path(), &settled, &hash);
    assert_eq!(indexed_hash(dir.path(), &settled), Some(hash));
    let changed = Fingerprint { size: 5, ..settled };
    assert_eq!(indexed_hash(dir.path(), &changed), None);
}

#[test]
fn clear_removes_everything_it_wrote() {
    let engine = Engine::default();
    let root = tempfile::tempdir().unwrap();
    let dir = artefact_dir(root.path(), "wasmtime-test").unwrap();
    let hash: Hash = Sha256::digest(b"wasm").into();
    store(&dir, &hash, &compiled(&engine), true).unwrap();
    drop(lock(&dir, &hash));
    fs::write(dir.join("notes.txt"), b"not ours").unwrap();
    assert_eq!(clear(root.path()).unwrap(), 1, "one compiled module");
    let left: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["notes.txt"], "its record and lock went too; other files stay");
}
