//! A store in a local directory: a key is a path under the root.
//!
//! - [`Store::put_new`]: a durable temp file linked into place without replacing anything
//!   ([`crate::format::durable`]: `O_TMPFILE` + `linkat` on Linux), then its directory
//!   fsynced;
//! - [`Store::put_if_match`]: under an exclusive `flock` on the root directory (released by
//!   the kernel when its holder dies; no lock file), the object is read, its SHA-256 compared
//!   with the version, and replaced atomically (temp file, fsync, rename);
//! - versions are the SHA-256 of the contents (hex);
//! - an object is never read through a symbolic link, and symbolic links are not listed.

use super::{
    check_key, check_prefix, Listed, Object, Page, PutIfMatch, PutNew, Result, Store, StoreError,
    Version, MAX_PAGE,
};
use crate::format::durable;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The largest object [`Store::put_if_match`] reads to compare versions.
const MAX_MATCH_BYTES: u64 = 64 << 20;

/// A store in a local directory ([`super::Location::Local`]).
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

fn version_of(bytes: &[u8]) -> Version {
    let d = Sha256::digest(bytes);
    Version(d.iter().map(|b| format!("{b:02x}")).collect())
}

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    use std::io::ErrorKind as K;
    let what = path.display().to_string();
    match e.kind() {
        K::NotFound => StoreError::NotFound { what },
        K::PermissionDenied => StoreError::Denied {
            what,
            detail: e.to_string(),
        },
        K::Interrupted | K::TimedOut | K::WouldBlock => StoreError::Unavailable {
            what,
            detail: e.to_string(),
            retryable: true,
        },
        _ => StoreError::Unavailable {
            what,
            detail: e.to_string(),
            retryable: false,
        },
    }
}

fn from_docseal(path: &Path, e: crate::format::error::Error) -> StoreError {
    match e {
        crate::format::error::Error::Io { source, .. } => io_error(path, source),
        other => StoreError::invalid(path.display().to_string(), other.to_string()),
    }
}

/// Open `path` for reading: a regular file, never through a symbolic link at the end, never
/// blocking (a FIFO). `Ok(None)` when it does not exist.
fn open_object(path: &Path) -> Result<Option<(File, u64)>> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let f = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(StoreError::invalid(
                path.display().to_string(),
                "a symbolic link; never followed",
            ))
        }
        Err(e) => return Err(io_error(path, e)),
    };
    let meta = f.metadata().map_err(|e| io_error(path, e))?;
    if !meta.is_file() {
        return Err(StoreError::invalid(
            path.display().to_string(),
            "not a regular file",
        ));
    }
    Ok(Some((f, meta.len())))
}

fn read_bounded(path: &Path, f: File, len: u64, max: u64) -> Result<Vec<u8>> {
    if len > max {
        return Err(StoreError::TooLarge {
            what: path.display().to_string(),
            size: len,
            max,
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, e))?;
    if bytes.len() as u64 > max {
        return Err(StoreError::TooLarge {
            what: path.display().to_string(),
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// Whether a file name is one of docseal's temp files (never listed).
fn is_temp(name: &str) -> bool {
    name.starts_with(".docseal-") && name.ends_with(".tmp")
}

impl LocalStore {
    /// The store rooted at `root` (which need not exist yet: writers create it).
    pub fn new(root: &Path) -> Self {
        LocalStore {
            root: root.to_path_buf(),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        check_key(key).map_err(|p| {
            StoreError::invalid(format!("{}: key {:.80}", self.root.display(), key), p)
        })?;
        Ok(self.root.join(key))
    }

    fn make_parent(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        }
        Ok(())
    }

    /// Hold an exclusive `flock` on the root directory while `f` runs (waiting for it).
    fn locked<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        #[cfg(target_os = "linux")]
        {
            let dir = File::open(&self.root).map_err(|e| io_error(&self.root, e))?;
            loop {
                match rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive) {
                    Ok(()) => break,
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(io_error(&self.root, e.into())),
                }
            }
            // Released when `dir` is closed (and by the kernel if this process dies).
            let r = f();
            drop(dir);
            r
        }
        #[cfg(not(target_os = "linux"))]
        {
            // Without flock the caller's own archive lock must serialize writers.
            f()
        }
    }

    /// Walk `dir` (key prefix `rel`, ending with `/` or empty), in component order, adding
    /// the files whose keys start with `prefix` and come after `after` to `out`, up to
    /// `max`. Returns whether more remain.
    fn walk(
        &self,
        dir: &Path,
        rel: &str,
        prefix: &str,
        after: Option<&str>,
        out: &mut Vec<Listed>,
        max: usize,
    ) -> Result<bool> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(false),
            Err(e) => return Err(io_error(dir, e)),
        };
        let mut names = Vec::new();
        for e in entries {
            let e = e.map_err(|e| io_error(dir, e))?;
            // Not UTF-8, a temp file, a symbolic link: not an object.
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            let Ok(t) = e.file_type() else { continue };
            if is_temp(&name) || t.is_symlink() || !(t.is_dir() || t.is_file()) {
                continue;
            }
            names.push((name, t.is_dir()));
        }
        names.sort_unstable();
        for (name, is_dir) in names {
            let key = format!("{rel}{name}");
            if check_key(&key).is_err() {
                continue;
            }
            // Within the prefix: the key starts with it, or (a directory) leads to it.
            let leads = is_dir && prefix.starts_with(&format!("{key}/"));
            if !key.starts_with(prefix) && !leads {
                continue;
            }
            if let Some(a) = after {
                // Component order: skip what sorts before `after`; enter a directory on
                // `after`'s path.
                let ord = cmp_components(&key, a);
                let on_path = a.starts_with(&format!("{key}/"));
                if ord.is_le() && !(is_dir && on_path) {
                    continue;
                }
            }
            if is_dir {
                if self.walk(
                    &dir.join(&name),
                    &format!("{key}/"),
                    prefix,
                    after,
                    out,
                    max,
                )? {
                    return Ok(true);
                }
            } else {
                if out.len() == max {
                    return Ok(true);
                }
                let size = std::fs::symlink_metadata(dir.join(&name))
                    .map_err(|e| io_error(&dir.join(&name), e))?
                    .len();
                out.push(Listed { key, size });
            }
        }
        Ok(false)
    }
}

/// Keys compared component by component (the order of a sorted directory walk).
fn cmp_components(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

impl Store for LocalStore {
    fn root(&self) -> String {
        self.root.display().to_string()
    }

    fn get(&self, key: &str, max_len: u64) -> Result<Option<Object>> {
        let path = self.path(key)?;
        let Some((f, len)) = open_object(&path)? else {
            return Ok(None);
        };
        let bytes = read_bounded(&path, f, len, max_len)?;
        let version = version_of(&bytes);
        Ok(Some(Object { bytes, version }))
    }

    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        let Some((mut f, size)) = open_object(&path)? else {
            return Err(StoreError::NotFound {
                what: path.display().to_string(),
            });
        };
        let n = len.min(size.saturating_sub(offset));
        let mut out = Vec::with_capacity(n as usize);
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| io_error(&path, e))?;
        f.take(n)
            .read_to_end(&mut out)
            .map_err(|e| io_error(&path, e))?;
        Ok(out)
    }

    fn size(&self, key: &str) -> Result<Option<u64>> {
        let path = self.path(key)?;
        Ok(open_object(&path)?.map(|(_, len)| len))
    }

    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<PutNew> {
        let path = self.path(key)?;
        self.make_parent(&path)?;
        match durable::write(&path, bytes, false) {
            Ok(()) => Ok(PutNew::Created(version_of(bytes))),
            Err(crate::format::error::Error::Exists { .. }) => Ok(PutNew::AlreadyExists),
            Err(e) => Err(from_docseal(&path, e)),
        }
    }

    fn put_if_match(&self, key: &str, bytes: &[u8], version: &Version) -> Result<PutIfMatch> {
        let path = self.path(key)?;
        self.locked(|| {
            let current = match open_object(&path)? {
                Some((f, len)) => match read_bounded(&path, f, len, MAX_MATCH_BYTES) {
                    Ok(b) => Some(version_of(&b)),
                    Err(StoreError::TooLarge { .. }) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            if current.as_ref() != Some(version) {
                return Ok(PutIfMatch::Conflict);
            }
            durable::write(&path, bytes, true).map_err(|e| from_docseal(&path, e))?;
            Ok(PutIfMatch::Replaced(version_of(bytes)))
        })
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<Version> {
        let path = self.path(key)?;
        self.make_parent(&path)?;
        durable::write(&path, bytes, true).map_err(|e| from_docseal(&path, e))?;
        Ok(version_of(bytes))
    }

    fn list(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Page> {
        check_prefix(prefix).map_err(|p| StoreError::invalid(self.root(), p))?;
        let max = max.clamp(1, MAX_PAGE);
        let mut items = Vec::new();
        // Start at the deepest directory the prefix names.
        let (dir_rel, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
        let (dir, rel) = if dir_rel.is_empty() {
            (self.root.clone(), String::new())
        } else {
            (self.root.join(dir_rel), format!("{dir_rel}/"))
        };
        let more = self.walk(&dir, &rel, prefix, after, &mut items, max)?;
        Ok(Page {
            items,
            more,
            stray: Vec::new(),
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path());
        (d, s)
    }

    #[test]
    fn issue17_local_put_new_never_replaces() {
        let (_d, s) = store();
        assert!(matches!(
            s.put_new("log/a", b"one").unwrap(),
            PutNew::Created(_)
        ));
        assert_eq!(s.put_new("log/a", b"two").unwrap(), PutNew::AlreadyExists);
        assert_eq!(s.get("log/a", 10).unwrap().unwrap().bytes, b"one");
        assert!(super::super::put_new_or_same(&s, "log/a", b"one").unwrap());
        assert!(!super::super::put_new_or_same(&s, "log/a", b"zzz").unwrap());
    }

    #[test]
    fn issue17_local_put_if_match_detects_a_change() {
        let (_d, s) = store();
        s.put("cp", b"v1").unwrap();
        let v1 = s.get("cp", 10).unwrap().unwrap().version;
        let r = s.put_if_match("cp", b"v2", &v1).unwrap();
        assert!(matches!(r, PutIfMatch::Replaced(_)));
        // The version read first is stale now.
        assert_eq!(
            s.put_if_match("cp", b"v3", &v1).unwrap(),
            PutIfMatch::Conflict
        );
        assert_eq!(s.get("cp", 10).unwrap().unwrap().bytes, b"v2");
        assert_eq!(
            s.put_if_match("missing", b"x", &v1).unwrap(),
            PutIfMatch::Conflict
        );
    }

    #[test]
    fn issue17_local_concurrent_put_if_match_one_winner_per_version() {
        let (_d, s) = store();
        s.put("counter", b"0").unwrap();
        // 8 threads each add 20 to a counter through read + put_if_match, retrying on
        // conflict: no increment is lost.
        std::thread::scope(|sc| {
            for _ in 0..8 {
                sc.spawn(|| {
                    for _ in 0..20 {
                        loop {
                            let o = s.get("counter", 32).unwrap().unwrap();
                            let n: u64 = std::str::from_utf8(&o.bytes).unwrap().parse().unwrap();
                            let next = (n + 1).to_string();
                            if let PutIfMatch::Replaced(_) = s
                                .put_if_match("counter", next.as_bytes(), &o.version)
                                .unwrap()
                            {
                                break;
                            }
                        }
                    }
                });
            }
        });
        assert_eq!(s.get("counter", 32).unwrap().unwrap().bytes, b"160");
    }

    #[test]
    fn issue17_local_reads_are_bounded() {
        let (_d, s) = store();
        s.put("big", &[7u8; 1000]).unwrap();
        assert!(matches!(
            s.get("big", 999),
            Err(StoreError::TooLarge { size: 1000, .. })
        ));
        assert_eq!(s.get_range("big", 990, 100).unwrap().len(), 10);
        assert_eq!(s.get_range("big", 5000, 10).unwrap().len(), 0);
        assert_eq!(s.size("big").unwrap(), Some(1000));
        assert_eq!(s.get("nothing", 10).unwrap(), None);
        assert!(s.get("../etc/passwd", 10).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn issue17_local_symlinks_are_not_followed_or_listed() {
        let (d, s) = store();
        std::fs::write(d.path().join("real"), b"x").unwrap();
        std::os::unix::fs::symlink(d.path().join("real"), d.path().join("link")).unwrap();
        assert!(s.get("link", 10).is_err());
        let p = s.list("", None, 10).unwrap();
        assert_eq!(
            p.items.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(),
            ["real"]
        );
    }

    #[test]
    fn issue17_local_list_pages_resume_after_the_last_key() {
        let (_d, s) = store();
        let mut keys = Vec::new();
        for k in [
            "a/1",
            "a/2",
            "a-b",
            "a/c/d",
            "b",
            "bundles/x.zip",
            "bundles/y.zip",
            "c/z",
        ] {
            s.put(k, k.as_bytes()).unwrap();
            keys.push(k.to_string());
        }
        keys.sort_by(|a, b| cmp_components(a, b));
        let mut got = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let p = s.list("", after.as_deref(), 3).unwrap();
            assert!(p.items.len() <= 3);
            got.extend(p.items.iter().map(|l| l.key.clone()));
            after = got.last().cloned();
            if !p.more {
                break;
            }
        }
        assert_eq!(got, keys);
        let p = s.list("bundles/", None, 10).unwrap();
        assert_eq!(p.items.len(), 2);
        assert!(!p.more);
        assert_eq!(p.items[0].size, "bundles/x.zip".len() as u64);
        let p = s.list("a/", Some("a/2"), 10).unwrap();
        assert_eq!(
            p.items.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(),
            ["a/c/d"]
        );
        assert_eq!(s.list("nothing/", None, 10).unwrap(), Page::default());
        s.delete("b").unwrap();
        s.delete("b").unwrap();
        assert_eq!(s.size("b").unwrap(), None);
    }
}
