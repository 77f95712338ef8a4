//! Directories no grant may overlap. A guest writes as the host user: a
//! read-write grant that reaches the compiled cache lets it rewrite machine
//! code the host later maps, and one that reaches the key directory lets it
//! sign records. So a grant (read-only or read-write) that contains one of
//! these directories, or lies inside one, is refused, after resolving real
//! paths. src-ts/shared/config.ts applies the same rule early, for both
//! backends; this one holds for every caller of the core, the raw binding too.

use super::artefact::default_cache_dir;
use super::mac::key_dir;
use crate::error::{ErrorCode, SandboxError, SbResult};
use std::path::{Component, Path, PathBuf};

/// The Python helper's stdlib link directory under a cache root: it is made
/// to be granted read-only (src-ts/python/home.ts), and only that way.
pub const PYTHON_LINK_DIR: &str = "python-lib";

/// What a grant must stay clear of, with what each is: this sandbox's cache
/// root, the default cache root (another configuration's cache), the key
/// directory, and the Python helper's fallback link directory when there is
/// no default cache root.
pub fn protected_dirs(cache_dir: Option<&Path>) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    if let Some(dir) = default_cache_dir(cache_dir) {
        out.push(("the compiled-module cache", dir));
    }
    match default_cache_dir(None) {
        Some(dir) => out.push(("the default compiled-module cache", dir)),
        None => out.push(("the Python helper's link directory", fallback_link_root())),
    }
    if let Some(dir) = key_dir() {
        out.push(("the compiled cache's key directory", dir));
    }
    out
}

/// Where src-ts/python/index.ts lays out the stdlib without a cache root.
pub fn fallback_link_root() -> PathBuf {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    let user = unsafe { libc::geteuid() }.to_string();
    #[cfg(not(unix))]
    let user = "user".to_string();
    std::env::temp_dir().join(format!("mimobox-{user}"))
}

/// The real path of `path`: its deepest existing ancestor resolved, the rest
/// appended (a protected directory may not exist yet).
pub fn real_path(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut at = path;
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            return rest.iter().rev().fold(real, |p: PathBuf, c| p.join(c));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return lexical(path),
        }
    }
}

fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Refuses any grant that overlaps a protected directory (CONFIG_INVALID).
/// The one exception: a read-only grant inside a protected cache root's
/// `python-lib` directory, which holds only the Python standard library.
pub fn check_grants<'a>(
    readonly: impl IntoIterator<Item = &'a Path>,
    readwrite: impl IntoIterator<Item = &'a Path>,
    cache_dir: Option<&Path>,
) -> SbResult<()> {
    let protected: Vec<(&str, PathBuf)> = protected_dirs(cache_dir).into_iter().map(|(what, p)| (what, real_path(&p))).collect();
    let grants = readonly.into_iter().map(|g| ("fsReadonly", g)).chain(readwrite.into_iter().map(|g| ("fsReadwrite", g)));
    for (field, host) in grants {
        let real = real_path(host);
        for (what, dir) in &protected {
            if !(real.starts_with(dir) || dir.starts_with(&real)) {
                continue;
            }
            if field == "fsReadonly" && real.starts_with(dir.join(PYTHON_LINK_DIR)) && real != dir.join(PYTHON_LINK_DIR) {
                continue;
            }
            let how = if real.starts_with(dir) { "lies inside" } else { "contains" };
            return Err(SandboxError::new(
                ErrorCode::ConfigInvalid,
                format!(
                    "{field}: {} {how} {what} ({}): a guest writes as the host user, so a grant that reaches it could plant native code the host runs; grant a narrower directory, or move cacheDir (MIMOBOX_CACHE_DIR, MIMOBOX_KEY_DIR) outside the grant",
                    host.display(),
                    dir.display()
                ),
            ));
        }
    }
    Ok(())
}
