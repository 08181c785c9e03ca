//! The archive's files: reading without following links, bounded reads, the archive lock,
//! directories and their modes, and writing new files atomically.

use super::*;
use crate::format::durable;
use crate::format::error::{Error, Result};
use crate::format::input::{self, Open};
use crate::profile::metadata::hex;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub(super) fn symlink_refused(path: &Path) -> Error {
    invalid(
        path.display(),
        "is a symbolic link: docseal never follows links inside an archive",
    )
}

/// Open a file of the archive for reading without following a symbolic link at its last
/// component, without blocking on a FIFO, and only if it is a regular file; `None` if absent.
/// (The directories above it are checked with [`real_dir`] first.)
pub(super) fn open_nofollow(path: &Path) -> Result<Option<File>> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(symlink_refused(path));
    }
    let f = match o.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(symlink_refused(path)),
        Err(e) => return Err(Error::io(path, e)),
    };
    let m = f.metadata().map_err(|e| Error::io(path, e))?;
    if !m.is_file() {
        return Err(invalid(path.display(), "is not a regular file"));
    }
    Ok(Some(f))
}

/// Whether the directory `ARCHIVE/rel` exists; an error if it is a symbolic link or not a
/// directory (`rel`'s parents must have been checked first).
pub(super) fn real_dir(archive: &Path, rel: &str) -> Result<bool> {
    let p = archive.join(rel);
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.file_type().is_symlink() => Err(symlink_refused(&p)),
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(invalid(p.display(), "is not a directory")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// The log's directories that exist: `(log, log/checkpoints)`. Refuses a symbolic link for
/// either.
pub(super) fn log_dirs(archive: &Path) -> Result<(bool, bool)> {
    let log = real_dir(archive, "log")?;
    let cps = log && real_dir(archive, CHECKPOINTS_DIR)?;
    Ok((log, cps))
}

/// Read a file of the archive, at most `max + 1` bytes (the caller refuses more than `max`):
/// never through a symbolic link, FIFOs and devices refused; `None` if absent.
pub(super) fn read_limited(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    read_optional(path, max, Open::regular_nofollow("file of an archive"))
}

/// Read a file given by the user (a kept checkpoint, a proof): links are followed, FIFOs and
/// devices refused.
pub(super) fn read_user_file(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    read_optional(path, max, Open::regular("file"))
}

/// Open `path` as `how` says without blocking (a FIFO or device is refused at once, by its
/// type) and read it with the library's one bounded read; `None` if absent.
fn read_optional(path: &Path, max: u64, how: Open<'_>) -> Result<Option<Vec<u8>>> {
    let (f, _) = match input::open(path, how) {
        Ok(f) => f,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    input::read_at_most(f, max)
        .map(Some)
        .map_err(|e| Error::io(path, e))
}

/// Whether `name` is a temporary file docseal writes before linking it into place.
pub(super) fn is_temp_name(name: &str) -> bool {
    name.starts_with(".docseal-") && name.ends_with(".tmp")
}

pub(super) fn sha256_reader(r: &mut dyn Read, label: &Path) -> Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(label, e)),
        }
    }
    Ok(hex(&h.finalize()))
}

/// The archive lock: an OS lock (`flock`) on the `log` directory, released by the kernel when
/// its holder exits or dies, so no lock file is ever left behind.
pub(super) struct Lock {
    #[cfg(target_os = "linux")]
    pub(super) _dir: File,
    #[cfg(not(target_os = "linux"))]
    pub(super) path: PathBuf,
}

impl Lock {
    pub(super) fn acquire(
        archive: &Path,
        wait: std::time::Duration,
        exclusive: bool,
    ) -> Result<Lock> {
        let log_dir = archive.join("log");
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{flock, FlockOperation};
            use std::os::unix::fs::OpenOptionsExt;
            let dir = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
                .open(&log_dir)
                .map_err(|e| Error::io(&log_dir, e))?;
            let op = if exclusive {
                FlockOperation::NonBlockingLockExclusive
            } else {
                FlockOperation::NonBlockingLockShared
            };
            let start = std::time::Instant::now();
            loop {
                match flock(&dir, op) {
                    Ok(()) => return Ok(Lock { _dir: dir }),
                    Err(rustix::io::Errno::WOULDBLOCK) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => return Err(Error::io(&log_dir, e.into())),
                }
                if start.elapsed() >= wait {
                    return Err(invalid(
                        archive.display(),
                        format!(
                            "another docseal archive add is running on it; waited {} s",
                            wait.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            // Without flock: a lock file, waited for.
            let _ = exclusive;
            let p = archive.join(LOCK_FILE);
            let start = std::time::Instant::now();
            loop {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&p)
                {
                    Ok(_) => return Ok(Lock { path: p }),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
                if start.elapsed() >= wait {
                    return Err(invalid(
                        p.display(),
                        "exists: another archive add is running, or one was interrupted (remove the file if none is running)",
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Create the directory `ARCHIVE/rel` if missing (never group- or world-writable, whatever the
/// umask); refuse a symbolic link. Every component is opened from its parent's descriptor with
/// `O_NOFOLLOW | O_DIRECTORY`, and the permissions are read and changed on the descriptor
/// (never by path: a component swapped for a link between a check and a `chmod` would
/// otherwise make docseal change the mode of whatever the link points to).
pub fn ensure_dir(archive: &Path, rel: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        use rustix::io::Errno;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut fd = archive_root_fd(archive)?;
        let mut p = archive.to_path_buf();
        for comp in rel.split('/') {
            p.push(comp);
            let mut made = false;
            fd = loop {
                match rustix::fs::openat(&fd, comp, flags, Mode::empty()) {
                    Ok(d) => break d,
                    Err(Errno::NOENT) if !made => {
                        match rustix::fs::mkdirat(&fd, comp, Mode::from_raw_mode(0o755)) {
                            Ok(()) | Err(Errno::EXIST) => made = true,
                            Err(e) => return Err(Error::io(&p, e.into())),
                        }
                    }
                    Err(Errno::LOOP) => return Err(symlink_refused(&p)),
                    Err(Errno::NOTDIR) => {
                        return Err(
                            if rustix::fs::statat(&fd, comp, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                                .is_ok_and(|st| {
                                    rustix::fs::FileType::from_raw_mode(st.st_mode)
                                        == rustix::fs::FileType::Symlink
                                })
                            {
                                symlink_refused(&p)
                            } else {
                                invalid(p.display(), "is not a directory")
                            },
                        )
                    }
                    Err(e) => return Err(Error::io(&p, e.into())),
                }
            };
        }
        tighten_fd(&fd, &p)
    }
    #[cfg(not(unix))]
    {
        let p = archive.join(rel);
        if !real_dir(archive, rel)? {
            match std::fs::DirBuilder::new().create(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
            real_dir(archive, rel)?;
        }
        Ok(())
    }
}

/// The archive's root directory, opened (the root itself may be reached through a link the
/// user chose; what is inside it never is).
#[cfg(unix)]
pub(super) fn archive_root_fd(archive: &Path) -> Result<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        archive,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io(archive, e.into()))
}

/// Take group and world write permission off the archive's root directory (on its
/// descriptor): `archive add` never keeps an archive others can write into.
pub(super) fn tighten_root(archive: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let fd = archive_root_fd(archive)?;
        tighten_fd(&fd, archive)?;
    }
    let _ = archive;
    Ok(())
}

/// Take group and world write permission off an open file or directory: read and changed on
/// the descriptor, never by path.
#[cfg(unix)]
pub(super) fn tighten_fd(fd: &std::os::fd::OwnedFd, path: &Path) -> Result<()> {
    let st = rustix::fs::fstat(fd).map_err(|e| Error::io(path, e.into()))?;
    let mode = st.st_mode & 0o7777;
    if mode & 0o022 != 0 {
        rustix::fs::fchmod(fd, rustix::fs::Mode::from_raw_mode(mode & 0o7755))
            .map_err(|e| Error::io(path, e.into()))?;
    }
    Ok(())
}

/// Take group and world write permission off an archive file docseal writes (on its open
/// descriptor, never by path).
pub(super) fn not_group_writable(path: &Path, file: &File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = file.metadata().map_err(|e| Error::io(path, e))?;
        let mode = m.permissions().mode();
        if mode & 0o022 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7755))
                .map_err(|e| Error::io(path, e))?;
        }
    }
    let _ = (path, file);
    Ok(())
}

/// Create a new archive file for writing: never following a link, never replacing, mode 0644.
pub(super) fn create_new_file(path: &Path) -> Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o644).custom_flags(libc::O_NOFOLLOW);
    }
    let f = o.open(path).map_err(|e| Error::io(path, e))?;
    not_group_writable(path, &f)?;
    Ok(f)
}

/// A temporary file in `dir` (named `.docseal-<random>.tmp`, which an interrupted add leaves
/// and the next removes).
pub(super) fn temp_file(dir: &Path) -> Result<(PathBuf, File)> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(|e| Error::io(dir, std::io::Error::other(e.to_string())))?;
    let p = dir.join(format!(".docseal-{}.tmp", hex(&r)));
    let f = create_new_file(&p)?;
    Ok((p, f))
}

/// Link `from` as `dest` too, never replacing anything (not even a link). Where the file
/// system has no hard links, `from` is renamed instead (under the archive lock, once `dest` is
/// known to be absent). Returns whether `from` is still there.
pub(super) fn link_new(from: &Path, dest: &Path) -> Result<bool> {
    match std::fs::hard_link(from, dest) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::io(dest, e)),
        Err(e) => {
            if std::fs::symlink_metadata(dest).is_ok() {
                return Err(Error::io(dest, e));
            }
            std::fs::rename(from, dest).map_err(|e| Error::io(dest, e))?;
            Ok(false)
        }
    }
}

/// Put `tmp` in place as `dest` (never replacing anything, not even a link), durably.
pub(super) fn place(tmp: &Path, dest: &Path) -> Result<()> {
    if link_new(tmp, dest)? {
        std::fs::remove_file(tmp).map_err(|e| Error::io(tmp, e))?;
    }
    let dir = parent_dir(dest);
    durable::sync_dir(dir).map_err(|e| Error::io(dir, e))
}

/// Open an archive file for writing, not following a link.
pub(super) fn open_write_nofollow(path: &Path) -> Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o.open(path).map_err(|e| Error::io(path, e))?;
    if !f.metadata().map_err(|e| Error::io(path, e))?.is_file() {
        return Err(invalid(path.display(), "is not a regular file"));
    }
    Ok(f)
}

pub(super) fn parent_dir(p: &Path) -> &Path {
    p.parent().unwrap_or(Path::new("."))
}

/// Write a small archive file (a checkpoint or its signature) through a temporary file;
/// `crash` names the step between writing and placing it.
pub(super) fn write_new(dest: &Path, bytes: &[u8], crash: &str) -> Result<()> {
    let (tmp, mut f) = temp_file(parent_dir(dest))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    crash_point(crash);
    place(&tmp, dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue13_read_limited_is_the_bounded_read_without_links() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        // At most max + 1 bytes, whatever the file holds: the caller tells "more" by the length.
        assert_eq!(read_limited(&p, 4).unwrap().unwrap(), b"01234");
        assert_eq!(read_limited(&p, 10).unwrap().unwrap(), b"0123456789");
        assert_eq!(read_limited(&dir.path().join("absent"), 4).unwrap(), None);
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&p, &link).unwrap();
            let e = read_limited(&link, 64).unwrap_err().to_string();
            assert!(e.contains("link") && e.contains("symbolic link"), "{e}");
            // The user's own file may be a link.
            assert_eq!(read_user_file(&link, 64).unwrap().unwrap(), b"0123456789");
            // A FIFO is refused at once, by its type (no writer: a blocking open would hang).
            let fifo = dir.path().join("fifo");
            let st = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(st.unwrap().success());
            let e = read_limited(&fifo, 64).unwrap_err().to_string();
            assert!(e.contains("a FIFO"), "{e}");
            let e = read_limited(dir.path(), 64).unwrap_err().to_string();
            assert!(e.contains("directory"), "{e}");
        }
    }
}
