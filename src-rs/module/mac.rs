//! The key that signs the compiled cache's records (`.meta`, `.fp`): a
//! per-user 32-byte random key kept in a directory outside the cache root,
//! where no grant may reach (settings.rs refuses grants that overlap it).
//! A guest writes as the host user, so a record it could write beside an
//! artefact proves nothing unless it carries a MAC under this key.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub type Key = [u8; 32];
/// Bytes of a record's MAC (HMAC-SHA256).
pub const TAG_LEN: usize = 32;
const KEY_FILE: &str = "cache-key";

/// Where the key lives: $MIMOBOX_KEY_DIR, else (Windows) %APPDATA%\mimobox,
/// else $XDG_CONFIG_HOME/mimobox, else ~/.config/mimobox; each only when set
/// to an absolute path. None when none applies (the disk cache is then off).
pub fn key_dir() -> Option<PathBuf> {
    let abs = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(dir) = abs("MIMOBOX_KEY_DIR") {
        return Some(dir);
    }
    if cfg!(windows) {
        return abs("APPDATA").map(|d| d.join("mimobox"));
    }
    if let Some(dir) = abs("XDG_CONFIG_HOME") {
        return Some(dir.join("mimobox"));
    }
    abs("HOME").map(|h| h.join(".config").join("mimobox"))
}

/// This process's key (read or created once), or why there is none.
pub fn cache_key() -> Result<&'static Key, String> {
    static KEY: OnceLock<Result<Key, String>> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = key_dir().ok_or("no key directory for the compiled cache (set MIMOBOX_KEY_DIR or HOME)")?;
        load_or_create(&dir)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Reads the key in `dir`, creating the directory (0700) and the key (0600,
/// exclusively: two processes racing agree on one key) when absent.
pub fn load_or_create(dir: &Path) -> Result<Key, String> {
    super::private::ensure_private_dir(dir)?;
    let path = dir.join(KEY_FILE);
    if let Some(key) = read_key(&path)? {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("no random source for the cache key: {e}"))?;
    // Written whole to a private temp file, then linked to its name: the
    // link fails if another process made the key first, and nobody ever
    // reads a half-written key.
    let tmp = dir.join(format!(".tmp-{}-{KEY_FILE}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let written = (|| {
        let mut f = super::private::create_private_file(&tmp)?;
        f.write_all(&key)?;
        f.sync_all()?;
        fs::hard_link(&tmp, &path)
    })();
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(&path)?.ok_or_else(|| format!("{} vanished while it was created", path.display()))
        }
        Err(e) => Err(format!("cannot create the cache key {}: {e}", path.display())),
    }
}

/// The key at `path`: None if absent, Err unless it is a private regular
/// file of 32 bytes (owned by us, readable and writable by nobody else).
fn read_key(path: &Path) -> Result<Option<Key>, String> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot stat {}: {e}", path.display())),
    };
    if !meta.file_type().is_file() || meta.len() != 32 {
        return Err(format!("{} is not a 32-byte regular file: remove it and a new key is made", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        if meta.uid() != uid || meta.mode() & 0o077 != 0 {
            return Err(format!("{} must be owned by uid {uid} with mode 0600 (it is {:o})", path.display(), meta.mode() & 0o777));
        }
    }
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Key::try_from(bytes.as_slice()).map(Some).map_err(|_| format!("{} changed size while read", path.display()))
}

fn mac(key: &Key, data: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data);
    mac
}

/// `data` followed by its MAC.
pub fn sign(key: &Key, mut data: Vec<u8>) -> Vec<u8> {
    let tag = mac(key, &data).finalize().into_bytes();
    data.extend_from_slice(&tag);
    data
}

/// The signed part of `record` if its MAC (its last 32 bytes) is right.
pub fn verified<'a>(key: &Key, record: &'a [u8]) -> Option<&'a [u8]> {
    let body_len = record.len().checked_sub(TAG_LEN)?;
    let (body, tag) = record.split_at(body_len);
    mac(key, body).verify_slice(tag).ok().map(|()| body)
}
