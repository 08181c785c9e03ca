//! Writing a tree of files under a directory (`docseal extract`) without ever following a
//! symbolic link inside it: every directory is opened relative to the one above it
//! (`openat`/`mkdirat` with `O_NOFOLLOW`, the way `cap-std` works), so no path component is
//! looked up again after it was checked, and a directory swapped for a link to elsewhere while
//! the files are written is refused, never written through.
//!
//! The files are first written into a stage directory beside the target
//! (`.docseal-extract-XXXX`, mode 0700, locked with `flock` while in use): a new target is the
//! stage renamed into place; an existing one (empty, or with `--force`) is filled by moving
//! each file into it, so that the directory itself (its mode, owner, links) stays. A stage
//! left by a killed run is removed by the next run in the same directory.

use crate::format::error::{Error, Result, Setting};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The name prefix of stage directories.
pub const STAGE_PREFIX: &str = ".docseal-extract-";

#[cfg(target_os = "linux")]
pub use linux::Stage;

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, RenameFlags};
    use rustix::io::Errno;
    use std::collections::HashMap;
    use std::os::fd::OwnedFd;

    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    fn io(path: &Path, e: Errno) -> Error {
        Error::io(path, e.into())
    }

    /// Open the directory `name` in `dir` without following a link; with `create`, make it
    /// first when missing. A link or anything else than a directory is refused.
    /// A directory made is mode 0755 whatever the umask.
    fn sub_dir(dir: &OwnedFd, name: &str, create: bool, shown: &Path) -> Result<OwnedFd> {
        let mut made = false;
        loop {
            match rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => {
                    if made {
                        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o755))
                            .map_err(|e| io(shown, e))?;
                    }
                    return Ok(fd);
                }
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(0o755)) {
                        Ok(()) => {
                            made = true;
                            continue;
                        }
                        Err(Errno::EXIST) => continue,
                        Err(e) => return Err(io(shown, e)),
                    }
                }
                Err(Errno::LOOP) | Err(Errno::NOTDIR) => {
                    return Err(Error::invalid(
                        shown.display().to_string(),
                        "is a symbolic link or not a directory; not followed",
                    ))
                }
                Err(e) => return Err(io(shown, e)),
            }
        }
    }

    /// The type of `name` in `dir`, without following a link; `None` when missing.
    fn type_at(dir: &OwnedFd, name: &str, shown: &Path) -> Result<Option<FileType>> {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(FileType::from_raw_mode(st.st_mode))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(io(shown, e)),
        }
    }

    fn type_name(t: FileType) -> &'static str {
        match t {
            FileType::Directory => "a directory",
            FileType::Symlink => "a symbolic link",
            FileType::Fifo => "a FIFO (named pipe)",
            FileType::CharacterDevice => "a character device",
            FileType::BlockDevice => "a block device",
            FileType::Socket => "a socket",
            _ => "a regular file",
        }
    }

    /// Whether the directory open at `fd` has any entry.
    fn has_entries(fd: &OwnedFd, shown: &Path) -> Result<bool> {
        let dir = rustix::fs::Dir::read_from(fd).map_err(|e| io(shown, e))?;
        for e in dir {
            let e = e.map_err(|e| io(shown, e))?;
            let n = e.file_name().to_bytes();
            if n != b"." && n != b".." {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Remove the stages a crashed run left in `parent` (owned by this process's effective user,
    /// unlocked, not changed for a while; never through a link).
    fn remove_stale_stages(parent: &Path, parent_fd: &OwnedFd) {
        let Ok(rd) = std::fs::read_dir(parent) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(n) = name.to_str() else { continue };
            if !n.starts_with(STAGE_PREFIX) || !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(fd) = rustix::fs::openat(parent_fd, n, DIR_FLAGS, Mode::empty()) else {
                continue;
            };
            let f = File::from(fd);
            let Ok(meta) = f.metadata() else { continue };
            if crate::format::durable::may_be_abandoned(&meta)
                && rustix::fs::flock(&f, FlockOperation::NonBlockingLockExclusive).is_ok()
            {
                let _ = std::fs::remove_dir_all(parent.join(n));
            }
        }
    }

    /// Files being extracted: written into a locked stage directory beside the target, then
    /// put in place ([`Stage::commit`]). Dropped before, it removes the stage.
    pub struct Stage {
        out_dir: PathBuf,
        parent: PathBuf,
        parent_fd: OwnedFd,
        /// The target's name in `parent`.
        leaf: String,
        /// The target, when it exists (opened now, never looked up again).
        target: Option<OwnedFd>,
        force: bool,
        /// The directory holding the stage: the parent, or the existing target.
        stage_in: PathBuf,
        name: String,
        /// The stage (locked) and its directories, by path inside it.
        root: File,
        dirs: HashMap<String, OwnedFd>,
        /// Files written, in order.
        files: Vec<String>,
        done: bool,
    }

    impl Stage {
        /// Prepare extracting into `out_dir`: it must be missing, an empty directory, or (with
        /// `force`) any directory.
        // Longer than 80 lines: the checks on the target directory and the creation of the
        // stage use the same descriptors and must happen in this order (checked, then staged
        // beside it).
        pub fn new(out_dir: &Path, force: bool) -> Result<Stage> {
            let canon;
            let out_dir = match out_dir.file_name() {
                Some(_) => out_dir,
                None => {
                    // `.`, `..`, `dir/..`: the directory they name.
                    canon = std::fs::canonicalize(out_dir).map_err(|e| Error::io(out_dir, e))?;
                    &canon
                }
            };
            let leaf = out_dir
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| {
                    Error::invalid(
                        out_dir.display().to_string(),
                        "the output directory name must be valid UTF-8 (and not /)",
                    )
                })?
                .to_string();
            let parent = match out_dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let parent_fd = rustix::fs::openat(
                rustix::fs::CWD,
                &parent,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| io(&parent, e))?;
            remove_stale_stages(&parent, &parent_fd);
            let target = match type_at(&parent_fd, &leaf, out_dir)? {
                None => None,
                Some(FileType::Directory) => Some(sub_dir(&parent_fd, &leaf, false, out_dir)?),
                // The directory given may be a link to one (the user's own choice of path).
                Some(FileType::Symlink) => Some(
                    rustix::fs::openat(
                        rustix::fs::CWD,
                        out_dir,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(|e| io(out_dir, e))?,
                ),
                Some(t) => {
                    return Err(Error::invalid(
                        out_dir.display().to_string(),
                        format!("is {}, not a directory", type_name(t)),
                    ))
                }
            };
            if let Some(fd) = &target {
                // An existing target holds its own stage (below): what a crashed run left
                // there goes first.
                remove_stale_stages(out_dir, fd);
                if !force && has_entries(fd, out_dir)? {
                    return Err(Error::setting(
                        out_dir.display().to_string(),
                        "directory is not empty",
                        Setting::Force,
                    ));
                }
            }
            // The stage: a new directory, locked at once (a later run removes it only when
            // unlocked). Beside a missing target (renamed into place), inside an existing one
            // (its files moved into place): always on the target's own file system, so that no
            // rename crosses file systems (a target that is a mount point) after something
            // was put in place.
            let (stage_in, stage_in_fd) = match &target {
                Some(fd) => (out_dir.to_path_buf(), fd),
                None => (parent.clone(), &parent_fd),
            };
            let (name, root) = loop {
                let mut r = [0u8; 6];
                getrandom::fill(&mut r)
                    .map_err(|e| Error::io(&parent, std::io::Error::other(e.to_string())))?;
                let name = format!("{STAGE_PREFIX}{}", crate::format::text::hex(&r));
                match rustix::fs::mkdirat(stage_in_fd, name.as_str(), Mode::from_raw_mode(0o700)) {
                    Ok(()) => {}
                    Err(Errno::EXIST) => continue,
                    Err(e) => return Err(io(&stage_in, e)),
                }
                let fd = sub_dir(stage_in_fd, &name, false, &stage_in.join(&name))?;
                let f = File::from(fd);
                rustix::fs::flock(&f, FlockOperation::LockExclusive)
                    .map_err(|e| io(&stage_in, e))?;
                break (name, f);
            };
            Ok(Stage {
                out_dir: out_dir.to_path_buf(),
                parent,
                parent_fd,
                leaf,
                target,
                force,
                stage_in,
                name,
                root,
                dirs: HashMap::new(),
                files: Vec::new(),
                done: false,
            })
        }

        /// The stage directory of `dir` (a `/`-separated path inside it), made when missing.
        fn stage_dir(&mut self, dir: &str) -> Result<&OwnedFd> {
            if !self.dirs.contains_key(dir) {
                let shown = self.stage_in.join(&self.name).join(dir);
                let fd = match dir.rsplit_once('/') {
                    None => {
                        let root =
                            OwnedFd::from(self.root.try_clone().map_err(|e| Error::io(&shown, e))?);
                        sub_dir(&root, dir, true, &shown)?
                    }
                    Some((up, last)) => {
                        let up = self.stage_dir(up)?;
                        sub_dir(up, last, true, &shown)?
                    }
                };
                self.dirs.insert(dir.to_string(), fd);
            }
            Ok(&self.dirs[dir])
        }

        /// Create the file `name` (a checked bundle path: `/`-separated, no `..`) in the
        /// stage, to be written.
        pub fn create(&mut self, name: &str) -> Result<File> {
            let shown = self.out_dir.join(name);
            let (dir, last) = match name.rsplit_once('/') {
                Some((d, l)) => (Some(d), l),
                None => (None, name),
            };
            let root;
            let dir_fd = match dir {
                Some(d) => self.stage_dir(d)?,
                None => {
                    root = OwnedFd::from(self.root.try_clone().map_err(|e| Error::io(&shown, e))?);
                    &root
                }
            };
            let fd = rustix::fs::openat(
                dir_fd,
                last,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )
            .map_err(|e| io(&shown, e))?;
            // 0644 whatever the umask (as `pack` writes its output).
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o644)).map_err(|e| io(&shown, e))?;
            self.files.push(name.to_string());
            Ok(File::from(fd))
        }

        /// Put the files in place: a missing target is the stage renamed (never replacing
        /// anything); an existing one gets each file moved in, through directories opened
        /// without following links. Nothing is moved unless every file can be: no directory on
        /// a file's way is a link or something else than a directory, and no file to be
        /// replaced (with `force`) is a directory or a special file.
        // Longer than 80 lines: an all-or-nothing move through directories opened without
        // following links: every step uses the descriptors the step before opened, and nothing
        // may be moved before every file is known to be movable.
        pub fn commit(mut self) -> Result<()> {
            let root_fd = OwnedFd::from(
                self.root
                    .try_clone()
                    .map_err(|e| Error::io(&self.out_dir, e))?,
            );
            for fd in self.dirs.values() {
                rustix::fs::fsync(fd).map_err(|e| io(&self.out_dir, e))?;
            }
            rustix::fs::fsync(&root_fd).map_err(|e| io(&self.out_dir, e))?;
            let Some(target) = self.target.take() else {
                rustix::fs::renameat_with(
                    &self.parent_fd,
                    self.name.as_str(),
                    &self.parent_fd,
                    self.leaf.as_str(),
                    RenameFlags::NOREPLACE,
                )
                .map_err(|e| match e {
                    Errno::EXIST | Errno::NOTEMPTY => Error::Exists {
                        path: self.out_dir.clone(),
                    },
                    e => io(&self.out_dir, e),
                })?;
                self.done = true;
                return rustix::fs::fsync(&self.parent_fd).map_err(|e| io(&self.parent, e));
            };
            // Check every file's way first (nothing created), then move.
            let files = std::mem::take(&mut self.files);
            for pass in [false, true] {
                let mut opened: HashMap<String, OwnedFd> = HashMap::new();
                for name in &files {
                    let segs: Vec<&str> = name.split('/').collect();
                    let (last, dirs) = segs.split_last().expect("a name has a segment");
                    let mut here: Option<OwnedFd> = None;
                    let mut path = String::new();
                    let mut missing = false;
                    for seg in dirs {
                        if !path.is_empty() {
                            path.push('/');
                        }
                        path.push_str(seg);
                        let shown = self.out_dir.join(&path);
                        let up = here.as_ref().unwrap_or(&target);
                        if !pass {
                            match type_at(up, seg, &shown)? {
                                None => {
                                    missing = true;
                                    break;
                                }
                                Some(FileType::Directory) => {}
                                Some(t) => {
                                    return Err(Error::invalid(
                                        shown.display().to_string(),
                                        format!(
                                            "is {}, not a directory; not followed",
                                            type_name(t)
                                        ),
                                    ))
                                }
                            }
                        }
                        let fd = match opened.get(&path) {
                            Some(fd) => fd.try_clone().map_err(|e| Error::io(&shown, e))?,
                            None => {
                                let fd = sub_dir(up, seg, pass, &shown)?;
                                opened.insert(
                                    path.clone(),
                                    fd.try_clone().map_err(|e| Error::io(&shown, e))?,
                                );
                                fd
                            }
                        };
                        here = Some(fd);
                    }
                    if missing {
                        continue;
                    }
                    let dir = here.as_ref().unwrap_or(&target);
                    let shown = self.out_dir.join(name);
                    match type_at(dir, last, &shown)? {
                        None | Some(FileType::RegularFile) | Some(FileType::Symlink) => {}
                        Some(t) => {
                            return Err(Error::invalid(
                                shown.display().to_string(),
                                format!("is {}; not replaced", type_name(t)),
                            ))
                        }
                    }
                    if pass {
                        let from_dir = match name.rsplit_once('/') {
                            Some((d, _)) => &self.dirs[d],
                            None => &root_fd,
                        };
                        let flags = if self.force {
                            RenameFlags::empty()
                        } else {
                            RenameFlags::NOREPLACE
                        };
                        rustix::fs::renameat_with(from_dir, *last, dir, *last, flags).map_err(
                            |e| match e {
                                Errno::EXIST => Error::Exists {
                                    path: shown.clone(),
                                },
                                e => io(&shown, e),
                            },
                        )?;
                    }
                }
                if pass {
                    for fd in opened.values() {
                        rustix::fs::fsync(fd).map_err(|e| io(&self.out_dir, e))?;
                    }
                    rustix::fs::fsync(&target).map_err(|e| io(&self.out_dir, e))?;
                }
            }
            Ok(())
        }
    }

    impl Drop for Stage {
        fn drop(&mut self) {
            if !self.done {
                let _ = std::fs::remove_dir_all(self.stage_in.join(&self.name));
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub use portable::Stage;

/// Elsewhere: the same steps through paths, checking each component for links first (without
/// the guarantee that it is not swapped afterwards).
#[cfg(not(target_os = "linux"))]
mod portable {
    use super::*;

    /// See the Linux version.
    pub struct Stage {
        out_dir: PathBuf,
        tmp: Option<tempfile::TempDir>,
        existed: bool,
        force: bool,
        files: Vec<String>,
    }

    impl Stage {
        /// See the Linux version.
        pub fn new(out_dir: &Path, force: bool) -> Result<Stage> {
            let non_empty = match std::fs::read_dir(out_dir) {
                Ok(mut rd) => rd.next().is_some(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(Error::io(out_dir, e)),
            };
            if non_empty && !force {
                return Err(Error::setting(
                    out_dir.display().to_string(),
                    "directory is not empty",
                    Setting::Force,
                ));
            }
            let parent = match out_dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let tmp = tempfile::Builder::new()
                .prefix(STAGE_PREFIX)
                .tempdir_in(parent)
                .map_err(|e| Error::io(parent, e))?;
            Ok(Stage {
                out_dir: out_dir.to_path_buf(),
                tmp: Some(tmp),
                existed: out_dir.exists(),
                force,
                files: Vec::new(),
            })
        }

        /// See the Linux version.
        pub fn create(&mut self, name: &str) -> Result<File> {
            let target = self.tmp.as_ref().expect("stage").path().join(name);
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            self.files.push(name.to_string());
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)
                .map_err(|e| Error::io(&target, e))
        }

        /// See the Linux version.
        pub fn commit(mut self) -> Result<()> {
            let tmp = self.tmp.take().expect("stage");
            if !self.existed {
                let kept = tmp.keep();
                return std::fs::rename(&kept, &self.out_dir).map_err(|e| {
                    let _ = std::fs::remove_dir_all(&kept);
                    Error::io(&self.out_dir, e)
                });
            }
            for name in &self.files {
                let mut at = self.out_dir.clone();
                let segments: Vec<&str> = name.split('/').collect();
                for (k, seg) in segments.iter().enumerate() {
                    at.push(seg);
                    let Ok(m) = at.symlink_metadata() else { break };
                    let last = k + 1 == segments.len();
                    if (!last && !m.is_dir())
                        || (last && !m.is_file() && !m.file_type().is_symlink())
                    {
                        return Err(Error::invalid(at.display().to_string(), "not replaced"));
                    }
                }
            }
            for name in &self.files {
                let dst = self.out_dir.join(name);
                if let Some(dir) = dst.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                if !self.force && dst.symlink_metadata().is_ok() {
                    return Err(Error::Exists { path: dst });
                }
                std::fs::rename(tmp.path().join(name), &dst).map_err(|e| Error::io(&dst, e))?;
            }
            Ok(())
        }
    }
}
