//! Directories we may trust for native code and its key: owned by us, not
//! writable by group or others, real directories (not links). Shared by the
//! artefact store (artefact.rs) and the key that signs its records (mac.rs).

use std::fs;
use std::path::Path;

#[cfg(unix)]
pub(crate) fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why a directory's owner and mode make it unfit for native code, if they do.
#[cfg(unix)]
pub fn unsafe_owner_or_mode(dir: &Path, owner: u32, mode: u32, uid: u32) -> Option<String> {
    if owner != uid {
        return Some(format!("{} is owned by uid {owner}, not by us (uid {uid})", dir.display()));
    }
    if mode & 0o022 != 0 {
        return Some(format!("{} is writable by group or others (mode {:o})", dir.display(), mode & 0o777));
    }
    None
}

/// A directory we may trust for native code: owned by us, not writable by
/// group or others. On Windows: a real directory (not a link) under the
/// user's profile; ACLs are not inspected, a documented weaker check.
pub fn check_private_dir(dir: &Path) -> Result<(), String> {
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("cannot stat {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Some(why) = unsafe_owner_or_mode(dir, meta.uid(), meta.mode(), current_uid()) {
            return Err(why);
        }
    }
    Ok(())
}

/// Opens `path` for writing as a new file, readable and writable by its
/// owner only (0600 on Unix); fails if anything is there already.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            builder.mode(0o700);
            builder.create(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            // The mode above is filtered by the umask; make the leaf exactly 0700.
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        }
        #[cfg(not(unix))]
        builder.create(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    check_private_dir(dir)
}

