//! A file's identity and version without reading it: what changes whenever
//! its contents may have changed. (size, mtime) alone is not enough: files
//! unpacked from an archive share both. ctime cannot be set by a user: any
//! write, rename or attribute change moves it to "now".

use std::fs;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Absolute as given (not symlink-resolved); dev and ino name the file itself.
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl Fingerprint {
    #[cfg(unix)]
    pub fn of(path: PathBuf, meta: &fs::Metadata) -> Fingerprint {
        use std::os::unix::fs::MetadataExt;
        Fingerprint {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        }
    }

    /// Windows has no stable file index in std: path, size, write and
    /// creation times (100 ns units) stand in for it. Weaker than on Unix,
    /// where the inode and the unforgeable ctime identify a version.
    #[cfg(windows)]
    pub fn of(path: PathBuf, meta: &fs::Metadata) -> Fingerprint {
        use std::os::windows::fs::MetadataExt;
        Fingerprint {
            path,
            dev: 0,
            ino: 0,
            size: meta.file_size(),
            mtime_ns: i128::from(meta.last_write_time()) * 100,
            ctime_ns: i128::from(meta.creation_time()) * 100,
        }
    }

    /// How long ago the file last changed (ctime), in ns; negative if in the future.
    pub fn age_ns(&self) -> i128 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
        now - self.ctime_ns.max(self.mtime_ns)
    }

    /// A stable byte encoding, for the on-disk index.
    pub fn to_bytes(&self) -> Vec<u8> {
        let path = self.path.as_os_str().as_encoded_bytes();
        let mut out = Vec::with_capacity(8 * 3 + 16 * 2 + 4 + path.len());
        out.extend_from_slice(&self.dev.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.mtime_ns.to_le_bytes());
        out.extend_from_slice(&self.ctime_ns.to_le_bytes());
        out.extend_from_slice(&u32::try_from(path.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(path);
        out
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn differs_for_same_size_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wasm");
        let b = dir.path().join("b.wasm");
        fs::write(&a, b"AAAA").unwrap();
        fs::write(&b, b"BBBB").unwrap();
        let t = fs::metadata(&a).unwrap().modified().unwrap();
        fs::File::options().write(true).open(&b).unwrap().set_modified(t).unwrap();
        let fa = Fingerprint::of(a.clone(), &fs::metadata(&a).unwrap());
        let fb = Fingerprint::of(b.clone(), &fs::metadata(&b).unwrap());
        assert_eq!(fa.size, fb.size);
        assert_eq!(fa.mtime_ns, fb.mtime_ns);
        assert_ne!(fa, fb, "inode and path still tell them apart");
        // Same path, contents replaced by a new file: the inode or ctime differs.
        fs::remove_file(&a).unwrap();
        fs::write(&a, b"CCCC").unwrap();
        fs::File::options().write(true).open(&a).unwrap().set_modified(t).unwrap();
        let fa2 = Fingerprint::of(a.clone(), &fs::metadata(&a).unwrap());
        assert_ne!(fa, fa2);
        assert_ne!(fa.to_bytes(), fa2.to_bytes());
        assert!(fa2.age_ns() < 60_000_000_000, "just written");
    }
}
