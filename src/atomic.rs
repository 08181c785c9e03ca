//! Atomic outputs: a temp file in the target directory, fsync, rename into place, fsync the
//! directory. An existing output is never replaced without `force`; a failed write leaves
//! nothing behind (the temp file is removed when dropped).

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// An output file being written. Dropped without [`Output::commit`], it leaves nothing.
pub struct Output {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
    force: bool,
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl Output {
    /// Start writing `path`. Fails at once if it exists and `force` is false.
    pub fn create(path: &Path, force: bool) -> Result<Output> {
        if !force && path.symlink_metadata().is_ok() {
            return Err(Error::Exists {
                path: path.to_path_buf(),
            });
        }
        let dir = parent_of(path);
        let tmp = tempfile::Builder::new()
            .prefix(".docseal-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(path, e))?;
        Ok(Output {
            path: path.to_path_buf(),
            tmp,
            force,
        })
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush, fsync, give mode 0644, rename into place (without replacing unless forced), and
    /// fsync the directory.
    pub fn commit(self) -> Result<()> {
        let path = self.path.clone();
        self.commit_file()?;
        sync_dir(parent_of(&path)).map_err(|e| Error::io(&path, e))
    }

    /// [`Output::commit`] without the final directory fsync: the file is complete and fsynced
    /// before it is renamed into place, but the rename is durable only once the caller fsyncs
    /// the directory ([`sync_dir`]). Lets many outputs in one directory share a directory
    /// fsync (`docseal pack --batch`).
    pub fn commit_file(mut self) -> Result<()> {
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        self.tmp.as_file_mut().flush().map_err(io)?;
        set_mode(self.tmp.as_file(), 0o644).map_err(io)?;
        self.tmp.as_file().sync_all().map_err(io)?;
        if self.force {
            self.tmp.persist(&path).map_err(|e| io(e.error))?;
        } else {
            self.tmp.persist_noclobber(&path).map_err(|e| {
                if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::Exists { path: path.clone() }
                } else {
                    io(e.error)
                }
            })?;
        }
        Ok(())
    }
}

/// Write `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    let mut out = Output::create(path, force)?;
    out.file()
        .write_all(bytes)
        .map_err(|e| Error::io(path, e))?;
    out.commit()
}

/// fsync a directory, so that a rename in it is durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(unix)]
fn set_mode(f: &File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_f: &File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_clobbers_without_force() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.zip");
        write(&p, b"one", false).unwrap();
        assert!(matches!(
            write(&p, b"two", false),
            Err(Error::Exists { .. })
        ));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write(&p, b"two", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn dropped_output_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("out.zip");
        let mut o = Output::create(&p, false).unwrap();
        o.file().write_all(b"partial").unwrap();
        drop(o);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
