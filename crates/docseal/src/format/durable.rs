//! Atomic outputs: a temp file in the target directory, fsync, rename into place, fsync the
//! directory. An existing output is never replaced without `force`; a failed write leaves
//! nothing behind (the temp file is removed when dropped).
//!
//! Many outputs in one directory can share that work ([`GroupSync`], `docseal pack --batch`):
//! each is still durable before it is put in place, and its name durable before
//! [`Output::commit_in`] returns, but the threads finishing together share the syncs
//! ([`GroupCommit`]). On Linux such an output is written without a name (`O_TMPFILE`) and
//! linked into place, which never replaces anything either.

use crate::format::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// An output file being written. Dropped without [`Output::commit`], it leaves nothing.
pub struct Output {
    path: PathBuf,
    tmp: Temp,
    force: bool,
    /// The permission bits it gets (0644 unless [`Output::keep_mode_of`]).
    mode: u32,
    /// The owner and group it gets, when another file's are kept.
    owner: Option<(u32, u32)>,
}

/// Where an output is written until it is put in place.
enum Temp {
    /// A temp file beside the output, renamed into place.
    Named(tempfile::NamedTempFile),
    /// A file without a name in the output's directory (`O_TMPFILE`), linked into place.
    #[cfg(target_os = "linux")]
    Unnamed(File),
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Refuse an existing `path` unless `force`; with `force`, refuse anything but a regular file
/// or a symbolic link (which is replaced itself, never followed): a device node, a FIFO, a
/// directory or a socket is never replaced.
fn refuse_existing(path: &Path, force: bool) -> Result<()> {
    let Ok(meta) = path.symlink_metadata() else {
        return Ok(());
    };
    if !force {
        return Err(Error::Exists {
            path: path.to_path_buf(),
        });
    }
    let ft = meta.file_type();
    if ft.is_file() || ft.is_symlink() {
        return Ok(());
    }
    Err(Error::invalid(
        path.display().to_string(),
        format!(
            "is {}; only a regular file (or a symbolic link itself) is ever replaced",
            crate::format::input::kind_name(&ft)
        ),
    ))
}

/// The names of docseal's named temp files (`.docseal-XXXX.tmp`).
const TEMP_PREFIX: &str = ".docseal-";
const TEMP_SUFFIX: &str = ".tmp";

/// A named temp file (or an extract stage) whose writer has not held its lock for this long
/// is a crashed run's.
#[cfg_attr(not(unix), allow(dead_code))]
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether a leftover (a temp file, an extract stage) may be a crashed run's: unchanged for
/// [`STALE_AFTER`], and owned by this process's effective user (in a shared, sticky directory
/// root never removes another user's entry that happens to have the name). The caller still
/// takes its lock before removing it.
#[cfg(target_os = "linux")]
pub(crate) fn may_be_abandoned(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let old = meta
        .modified()
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_some_and(|age| age > STALE_AFTER);
    old && meta.uid() == rustix::process::geteuid().as_raw()
}

/// Hold a kernel lock on a temp file while it is written: a run killed with it loses the lock,
/// which tells its leftovers ([`remove_stale_temps`]) from a running writer's files.
#[cfg(target_os = "linux")]
fn lock_temp(f: &File) -> std::io::Result<()> {
    rustix::fs::flock(f, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn lock_temp(_f: &File) -> std::io::Result<()> {
    Ok(())
}

/// Remove what a crashed run (killed with `kill -9`, a power cut) left in `dir`: named temp
/// files (`.docseal-*.tmp`) that are regular files owned by this process's effective user (never
/// another user's, in a shared directory), that no process holds the lock of
/// (`lock_temp`), and were last written more than `STALE_AFTER` ago. Best effort: errors
/// are ignored. Returns how many were removed.
pub fn remove_stale_temps(dir: &Path) -> usize {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{FlockOperation, Mode, OFlags};
        let Ok(rd) = std::fs::read_dir(dir) else {
            return 0;
        };
        let mut removed = 0;
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(n) = name.to_str() else { continue };
            if !n.starts_with(TEMP_PREFIX)
                || !n.ends_with(TEMP_SUFFIX)
                || !e.file_type().is_ok_and(|t| t.is_file())
            {
                continue;
            }
            let p = e.path();
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
            let Ok(fd) = rustix::fs::openat(rustix::fs::CWD, &p, flags, Mode::empty()) else {
                continue;
            };
            let f = File::from(fd);
            let Ok(meta) = f.metadata() else { continue };
            if !meta.is_file() || !may_be_abandoned(&meta) {
                continue;
            }
            if rustix::fs::flock(&f, FlockOperation::NonBlockingLockExclusive).is_ok() {
                // Still the file just checked (not one put there since)?
                use std::os::unix::fs::MetadataExt;
                let same = p
                    .symlink_metadata()
                    .is_ok_and(|m| m.ino() == meta.ino() && m.dev() == meta.dev());
                if same && std::fs::remove_file(&p).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        0
    }
}

/// [`remove_stale_temps`], once per directory per process (a directory of many outputs, such
/// as an archive's, is listed once, not once per output).
fn remove_stale_temps_once(dir: &Path) {
    static DONE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    {
        let mut done = lock(&DONE);
        if done.iter().any(|d| d == dir) {
            return;
        }
        done.push(dir.to_path_buf());
    }
    remove_stale_temps(dir);
}

impl Output {
    /// Start writing `path`. Fails at once if it exists and `force` is false; with `force`,
    /// if it is anything but a regular file or a symbolic link. Where the OS allows, the file
    /// has no name until it is put in place (`O_TMPFILE`), so that a run killed meanwhile
    /// leaves nothing; otherwise it is a locked temp file `.docseal-XXXX.tmp` beside `path`,
    /// which a later run removes if a crash left it ([`remove_stale_temps`]).
    pub fn create(path: &Path, force: bool) -> Result<Output> {
        refuse_existing(path, force)?;
        let dir = parent_of(path);
        remove_stale_temps_once(dir);
        #[cfg(target_os = "linux")]
        if let Some(file) = proc_fd_available()
            .then(|| open_unnamed(dir).ok())
            .flatten()
        {
            // Best effort: a file system without locks (some network ones) still gets its
            // output (and the cleaner, which cannot lock there either, leaves temps alone).
            let _ = lock_temp(&file);
            return Ok(Output {
                path: path.to_path_buf(),
                tmp: Temp::Unnamed(file),
                force,
                mode: 0o644,
                owner: None,
            });
        }
        let tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)
            .map_err(|e| Error::io(path, e))?;
        let _ = lock_temp(tmp.as_file());
        Ok(Output {
            path: path.to_path_buf(),
            tmp: Temp::Named(tmp),
            force,
            mode: 0o644,
            owner: None,
        })
    }

    /// Give the output the permission bits, and (where this process may) the owner and group,
    /// of `meta`: a rewrite of a file (`cosign`, a trust file) keeps them.
    pub fn keep_mode_of(&mut self, meta: &std::fs::Metadata) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.mode = meta.mode() & 0o7777;
            self.owner = Some((meta.uid(), meta.gid()));
        }
        #[cfg(not(unix))]
        let _ = meta;
    }

    /// [`Output::create`] (never replacing) of one of many outputs in `group`'s directory, to
    /// be committed with [`Output::commit_in`]. Where the group allows, the file has no name
    /// until it is linked into place: one directory entry is written instead of a temp name
    /// and a rename, and an interrupted run leaves no temp file. An existing `path` is then
    /// refused when the file is linked ([`Written::place_in`] says [`Error::Exists`]); with a
    /// temp name, it is refused here too.
    pub fn create_in(path: &Path, group: &GroupSync) -> Result<Output> {
        #[cfg(target_os = "linux")]
        if group.unnamed {
            let file = open_unnamed(parent_of(path)).map_err(|e| Error::io(path, e))?;
            return Ok(Output {
                path: path.to_path_buf(),
                tmp: Temp::Unnamed(file),
                force: false,
                mode: 0o644,
                owner: None,
            });
        }
        let _ = group;
        Output::create(path, false)
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        match &mut self.tmp {
            Temp::Named(t) => t.as_file_mut(),
            #[cfg(target_os = "linux")]
            Temp::Unnamed(f) => f,
        }
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flush and give mode 0644 (or the mode and owner kept, [`Output::keep_mode_of`]).
    fn finish(&mut self) -> std::io::Result<()> {
        let (mode, owner) = (self.mode, self.owner);
        #[cfg(not(unix))]
        let _ = owner;
        let f = self.file();
        f.flush()?;
        #[cfg(unix)]
        if let Some((uid, gid)) = owner {
            use std::os::unix::fs::MetadataExt;
            let m = f.metadata()?;
            if (m.uid(), m.gid()) != (uid, gid) {
                // Only root may give a file away; others keep their own (best effort).
                let _ = std::os::unix::fs::fchown(&*f, Some(uid), Some(gid));
            }
        }
        set_mode(f, mode)
    }

    /// Flush, fsync, give mode 0644, put in place (without replacing unless forced), and
    /// fsync the directory.
    pub fn commit(mut self) -> Result<()> {
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        self.finish().map_err(io)?;
        self.file().sync_all().map_err(io)?;
        self.place()?;
        sync_dir(parent_of(&path)).map_err(io)
    }

    /// [`Output::commit`] for one of many outputs in `group`'s directory: flush, give mode
    /// 0644, make the bytes durable (a run of the group's sync that started after this call,
    /// or, where that sync does not cover file contents, an fsync of this file), put it in
    /// place (without replacing unless forced), and make that durable (another run of the
    /// group's sync, started after). When a sync fails, nothing is left: neither the temp
    /// file nor, unless forced, the output.
    pub fn commit_in(self, group: &GroupSync) -> Result<()> {
        self.commit_in_deferred(group)?.settle(group)
    }

    /// [`Output::commit_in`] up to putting the file in place: the file is durable before it
    /// is in place, and the returned [`Placed`] must be settled ([`Placed::settle`]) before
    /// the output is reported written. Lets a thread go on with its next output while the
    /// sync that makes this one's name durable is shared with the next outputs' syncs.
    pub fn commit_in_deferred(self, group: &GroupSync) -> Result<Placed> {
        self.written_in(group)?.place_in(group)
    }

    /// [`Output::commit_in`] up to the point where the file is written: flushed, mode 0644,
    /// and either fsynced (where the group's sync does not cover file contents) or holding a
    /// ticket for a run of the group's sync, which [`Written::place_in`] waits for before it
    /// puts the file in place. Lets the thread that wrote it go on at once, while another
    /// puts many written outputs in place after one shared sync (`pack --batch`).
    pub fn written_in(mut self, group: &GroupSync) -> Result<Written> {
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        self.finish().map_err(io)?;
        let ticket = if group.whole_fs {
            Some(group.group.ticket())
        } else {
            self.file().sync_all().map_err(io)?;
            None
        };
        Ok(Written {
            output: self,
            ticket,
        })
    }

    /// Put the file in place: replacing only when forced.
    fn place(self) -> Result<()> {
        let path = self.path;
        let exists = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Exists { path: path.clone() }
            } else {
                Error::io(&path, e)
            }
        };
        match self.tmp {
            Temp::Named(t) if self.force => {
                refuse_existing(&path, true)?;
                t.persist(&path).map_err(|e| Error::io(&path, e.error))?;
            }
            Temp::Named(t) => {
                t.persist_noclobber(&path).map_err(|e| exists(e.error))?;
            }
            #[cfg(target_os = "linux")]
            Temp::Unnamed(f) if self.force => {
                // Looked at again just before: a special file put there since is not
                // replaced either.
                refuse_existing(&path, true)?;
                replace_with_unnamed(&f, &path).map_err(|e| Error::io(&path, e))?
            }
            #[cfg(target_os = "linux")]
            Temp::Unnamed(f) => link_unnamed(&f, &path).map_err(exists)?,
        }
        Ok(())
    }
}

/// An output written but not yet in place ([`Output::written_in`]). Dropped, it leaves nothing.
#[must_use = "an output is in place only once placed"]
pub struct Written {
    output: Output,
    /// Taken after the output was written: a run of the group's sync that started after it
    /// makes the output durable. `None` when the output was fsynced itself.
    ticket: Option<u64>,
}

impl std::fmt::Debug for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Written")
            .field("path", &self.output.path)
            .field("ticket", &self.ticket)
            .finish()
    }
}

impl Written {
    /// Wait until the output is durable (a run of `group`'s sync that started after it was
    /// written), then put it in place without replacing anything (unless forced). The
    /// returned [`Placed`] must be settled before the output is reported written. When the
    /// sync fails, the output is dropped and nothing is left.
    pub fn place_in(self, group: &GroupSync) -> Result<Placed> {
        if let Some(t) = self.ticket {
            group
                .group
                .wait_ticket(t)
                .map_err(|e| Error::io(&group.dir, e))?;
        }
        let path = self.output.path.clone();
        let force = self.output.force;
        self.output.place()?;
        Ok(Placed {
            path,
            ticket: group.group.ticket(),
            force,
        })
    }
}

/// An output in place whose name is not yet known to be durable ([`Output::commit_in_deferred`]).
#[must_use = "an output is durable only once settled"]
#[derive(Debug)]
pub struct Placed {
    path: PathBuf,
    /// Taken after the output was put in place.
    ticket: u64,
    force: bool,
}

impl Placed {
    /// Wait for a run of `group`'s sync that started after the output was put in place. When
    /// it fails the output is removed (unless forced: then it replaced something), so that
    /// nothing is left that was not reported written.
    pub fn settle(self, group: &GroupSync) -> Result<()> {
        group
            .group
            .wait_ticket(self.ticket)
            .map_err(|e| Error::io(&group.dir, e))
            .inspect_err(|_| {
                if !self.force {
                    let _ = std::fs::remove_file(&self.path);
                }
            })
    }
}

/// A new file without a name in `dir` (`O_TMPFILE`, mode 0600), that [`link_unnamed`] can
/// give one.
#[cfg(target_os = "linux")]
fn open_unnamed(dir: &Path) -> std::io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDWR | OFlags::TMPFILE | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(rustix::fs::CWD, dir, flags, Mode::from_raw_mode(0o600))?;
    Ok(File::from(fd))
}

/// Give the unnamed file `f` the name `path` (which must be in the directory it was opened
/// in); fails with `AlreadyExists` if `path` exists.
///
/// Linking the descriptor itself (`AT_EMPTY_PATH`) needs a privilege (`CAP_DAC_READ_SEARCH`)
/// on most kernels; without it the kernel says `ENOENT` or `EPERM`, and the link is made
/// through `/proc/self/fd` instead, which every process may do (and is remembered, so the
/// refused call is tried once). Both give the same inode the same name; the direct call saves
/// the lookup of the `/proc` path (about 2 % of `pack --batch`'s CPU time).
#[cfg(target_os = "linux")]
fn link_unnamed(f: &File, path: &Path) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, CWD};
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    static DIRECT_REFUSED: AtomicBool = AtomicBool::new(false);
    if !DIRECT_REFUSED.load(Relaxed) {
        match rustix::fs::linkat(f, "", CWD, path, AtFlags::EMPTY_PATH) {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::NOENT || e == rustix::io::Errno::PERM => {
                DIRECT_REFUSED.store(true, Relaxed);
            }
            Err(e) => return Err(e.into()),
        }
    }
    link_via_proc(f, path)
}

/// Put the unnamed file `f` in place at `path`, replacing what is there: linked under a temp
/// name beside it (the file is locked, [`lock_temp`], so a crash right then leaves a temp file
/// the next run removes), then renamed over `path` (which replaces a symbolic link itself).
#[cfg(target_os = "linux")]
fn replace_with_unnamed(f: &File, path: &Path) -> std::io::Result<()> {
    let dir = parent_of(path);
    let mut tries = 0;
    let tmp = loop {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).map_err(|e| std::io::Error::other(e.to_string()))?;
        let name = format!("{TEMP_PREFIX}{}{TEMP_SUFFIX}", crate::format::text::hex(&r));
        let tmp = dir.join(name);
        match link_unnamed(f, &tmp) {
            Ok(()) => break tmp,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            Err(e) => return Err(e),
        }
    };
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// [`link_unnamed`] through the `/proc/self/fd` link of the descriptor.
#[cfg(target_os = "linux")]
fn link_via_proc(f: &File, path: &Path) -> std::io::Result<()> {
    use rustix::fs::{AtFlags, CWD};
    use std::os::fd::AsRawFd;
    let fd_path = format!("/proc/self/fd/{}", f.as_raw_fd());
    rustix::fs::linkat(CWD, fd_path.as_str(), CWD, path, AtFlags::SYMLINK_FOLLOW)?;
    Ok(())
}

/// Whether `/proc/self/fd` is there, through which every process may link an unnamed file.
#[cfg(target_os = "linux")]
fn proc_fd_available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}

/// Whether outputs in `dir` can be written unnamed and linked into place.
#[cfg(target_os = "linux")]
fn unnamed_works(dir: &Path) -> bool {
    Path::new("/proc/self/fd").is_dir() && open_unnamed(dir).is_ok()
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Group commit: threads that each need an operation (a sync) to run **after** a point of
/// theirs share its runs. [`GroupCommit::wait`] takes a ticket and returns once a run that
/// started after the ticket was taken has succeeded; it starts a run itself when none is in
/// progress. Threads arriving while a run is in progress are served together by the next.
///
/// A failed run fails every ticket it would have covered, and every ticket after it: a
/// file system's writeback error cannot be pinned on one file, and `syncfs` reports it only
/// once, so nothing written since can be trusted to be durable. The operation is not run
/// again.
pub struct GroupCommit {
    op: Box<dyn Fn() -> std::io::Result<()> + Send + Sync>,
    state: Mutex<GroupState>,
    /// Every ticket below this is covered by a successful run that started after it. Read
    /// without the lock by a woken waiter.
    synced_below: AtomicU64,
}

#[derive(Default)]
struct GroupState {
    /// Tickets are handed out in order, one per wait.
    next_ticket: u64,
    /// A run is in progress.
    running: bool,
    /// The waiters parked until a run ends: their tickets and threads. The end of a run wakes
    /// those it covers, and one other to start the next run.
    parked: Vec<(u64, std::thread::Thread)>,
    /// The first failure: kind and message.
    failed: Option<(std::io::ErrorKind, String)>,
}

impl GroupCommit {
    /// Share runs of `op`.
    pub fn new(op: impl Fn() -> std::io::Result<()> + Send + Sync + 'static) -> Self {
        GroupCommit {
            op: Box::new(op),
            state: Mutex::new(GroupState::default()),
            synced_below: AtomicU64::new(0),
        }
    }

    fn covered(&self, ticket: u64) -> bool {
        self.synced_below.load(Ordering::Acquire) > ticket
    }

    /// Wait for a successful run of the operation that started after this call; or its
    /// error, or an earlier one.
    pub fn wait(&self) -> std::io::Result<()> {
        self.wait_ticket(self.ticket())
    }

    /// Take a ticket: a point after which a run must start to cover it.
    pub fn ticket(&self) -> u64 {
        let mut g = lock(&self.state);
        let ticket = g.next_ticket;
        g.next_ticket += 1;
        ticket
    }

    /// Wait for a successful run that started after `ticket` was taken ([`GroupCommit::ticket`]);
    /// or its error, or an earlier one.
    pub fn wait_ticket(&self, ticket: u64) -> std::io::Result<()> {
        let mut g = lock(&self.state);
        loop {
            if self.covered(ticket) {
                return Ok(());
            }
            if let Some((kind, msg)) = &g.failed {
                return Err(std::io::Error::new(*kind, msg.clone()));
            }
            if g.running {
                if !g.parked.iter().any(|(t, _)| *t == ticket) {
                    g.parked.push((ticket, std::thread::current()));
                }
                drop(g);
                std::thread::park();
                if self.covered(ticket) {
                    return Ok(());
                }
                g = lock(&self.state);
                continue;
            }
            g.running = true;
            let covers = g.next_ticket;
            drop(g);
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.op)()));
            g = lock(&self.state);
            g.running = false;
            match &res {
                Ok(Ok(())) => self.synced_below.store(covers, Ordering::Release),
                Ok(Err(e)) => g.failed = Some((e.kind(), e.to_string())),
                Err(_) => g.failed = Some((std::io::ErrorKind::Other, "sync panicked".into())),
            }
            // Wake the waiters this run covered (every one after a failure), and the first
            // of the others, to start the next run.
            let all = g.failed.is_some();
            let mut wake = Vec::new();
            g.parked.retain(|(t, thread)| {
                let done = all || *t < covers;
                if done {
                    wake.push(thread.clone());
                }
                !done
            });
            if !g.parked.is_empty() {
                wake.push(g.parked.remove(0).1);
            }
            drop(g);
            for thread in wake {
                thread.unpark();
            }
            if let Err(p) = res {
                std::panic::resume_unwind(p);
            }
            g = lock(&self.state);
        }
    }

    #[cfg(test)]
    fn tickets(&self) -> u64 {
        lock(&self.state).next_ticket
    }
}

/// Outputs in one directory made durable together ([`Output::commit_in`]).
///
/// On Linux 5.8 and later, one run is `syncfs` on the directory, which writes every dirty
/// page and inode of its file system and waits for them (and reports any writeback error on
/// it since the directory was opened here), then an fsync of the directory, whose cache flush
/// makes all of that durable (`syncfs` writes the last metadata after its own flush). Files
/// are then not fsynced one by one. Elsewhere, each file is fsynced before it is put in place
/// and only the directory fsync is shared.
pub struct GroupSync {
    dir: PathBuf,
    /// A run makes file contents durable too.
    whole_fs: bool,
    /// Outputs are written without a name and linked into place ([`Output::create_in`]).
    #[cfg(target_os = "linux")]
    unnamed: bool,
    group: GroupCommit,
}

impl GroupSync {
    /// Share the syncs of outputs written into `dir` (opened once, here).
    pub fn open(dir: &Path) -> Result<GroupSync> {
        let d = File::open(dir).map_err(|e| Error::io(dir, e))?;
        #[cfg(target_os = "linux")]
        if syncfs_reports_errors() {
            return Ok(Self::with_op(dir, true, move || {
                rustix::fs::syncfs(&d)?;
                d.sync_all()
            }));
        }
        Ok(Self::with_op(dir, false, move || d.sync_all()))
    }

    /// With `op` as the sync: `whole_fs` when it makes file contents durable too.
    pub(crate) fn with_op(
        dir: &Path,
        whole_fs: bool,
        op: impl Fn() -> std::io::Result<()> + Send + Sync + 'static,
    ) -> GroupSync {
        GroupSync {
            dir: dir.to_path_buf(),
            whole_fs,
            #[cfg(target_os = "linux")]
            unnamed: unnamed_works(dir),
            group: GroupCommit::new(op),
        }
    }

    /// A file found in place under `path` that this process did not write (a name taken
    /// meanwhile): settling it waits, as for one's own, for a run that started after this call,
    /// so that reporting on it depends on the same sync; nothing is removed if that fails.
    pub fn found(&self, path: &Path) -> Placed {
        Placed {
            path: path.to_path_buf(),
            ticket: self.group.ticket(),
            force: true,
        }
    }

    /// Wait for a run of the sync that started after this call: it makes durable every
    /// output written, and every name given, before the call. Then [`Written::place_in`] and
    /// [`Placed::settle`] wait no more for those. An error names the directory.
    pub fn sync_now(&self) -> Result<()> {
        self.group.wait().map_err(|e| Error::io(&self.dir, e))
    }

    /// Outputs with a temp name, renamed into place, wherever unnamed files would work.
    #[cfg(test)]
    pub(crate) fn named(mut self) -> Self {
        #[cfg(target_os = "linux")]
        {
            self.unnamed = false;
        }
        self
    }
}

/// `syncfs` reports writeback errors since Linux 5.8; before, it returns success whatever
/// happened, so files are fsynced one by one.
#[cfg(target_os = "linux")]
fn syncfs_reports_errors() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .is_ok_and(|release| kernel_at_least(&release, (5, 8)))
}

/// Whether a kernel release (`6.18.44-fc`) is at least `major.minor`; an unreadable one is not.
#[cfg(any(target_os = "linux", test))]
fn kernel_at_least(release: &str, want: (u32, u32)) -> bool {
    let mut nums = release.trim().split(['.', '-', '+']);
    let mut num = || nums.next().and_then(|n| n.parse::<u32>().ok());
    match (num(), num()) {
        (Some(major), Some(minor)) => (major, minor) >= want,
        _ => false,
    }
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
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    use std::sync::{Arc, Condvar};

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

    /// Calls `f` until it holds; panics with `what` after 10 s.
    fn eventually(what: &str, f: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !f() {
            assert!(start.elapsed().as_secs() < 10, "timed out waiting: {what}");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// A sync whose runs are counted and each held until the test lets it finish; run `n`
    /// (from 1) returns `results(n)`.
    struct HeldSync {
        started: AtomicU64,
        allowed: Mutex<u64>,
        cv: Condvar,
    }

    impl HeldSync {
        fn new() -> Arc<Self> {
            Arc::new(HeldSync {
                started: AtomicU64::new(0),
                allowed: Mutex::new(0),
                cv: Condvar::new(),
            })
        }
        fn op(
            self: &Arc<Self>,
            results: impl Fn(u64) -> std::io::Result<()> + Send + Sync + 'static,
        ) -> impl Fn() -> std::io::Result<()> + Send + Sync + 'static {
            let me = Arc::clone(self);
            move || {
                let n = me.started.fetch_add(1, SeqCst) + 1;
                let mut a = lock(&me.allowed);
                while *a < n {
                    a = me.cv.wait(a).unwrap();
                }
                results(n)
            }
        }
        fn started(&self) -> u64 {
            self.started.load(SeqCst)
        }
        /// Let runs up to `n` finish.
        fn allow(&self, n: u64) {
            *lock(&self.allowed) = n;
            self.cv.notify_all();
        }
    }

    #[test]
    fn group_waiter_is_released_only_by_a_run_started_after_its_ticket() {
        let held = HeldSync::new();
        let group = Arc::new(GroupCommit::new(held.op(|_| Ok(()))));
        let waiter = |done: &Arc<AtomicBool>| {
            let (group, done) = (Arc::clone(&group), Arc::clone(done));
            std::thread::spawn(move || {
                let r = group.wait();
                done.store(true, SeqCst);
                r
            })
        };
        let (a_done, b_done, c_done) = Default::default();
        let a = waiter(&a_done);
        eventually("A starts run 1", || held.started() == 1);
        // B and C take their tickets while run 1 is in progress.
        let (b, c) = (waiter(&b_done), waiter(&c_done));
        eventually("B and C take tickets", || group.tickets() == 3);
        held.allow(1);
        a.join().unwrap().unwrap();
        // Run 1 started before their tickets: it must not release B or C; one of them
        // starts run 2 for both.
        eventually("run 2 starts", || held.started() == 2);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!b_done.load(SeqCst) && !c_done.load(SeqCst));
        held.allow(2);
        b.join().unwrap().unwrap();
        c.join().unwrap().unwrap();
        assert_eq!(held.started(), 2, "B and C share run 2");
    }

    #[test]
    fn group_runs_are_shared_serial_and_cover_every_waiter() {
        let started = Arc::new(AtomicU64::new(0));
        let finished = Arc::new(AtomicU64::new(0));
        let busy = Arc::new(AtomicBool::new(false));
        let group = {
            let (started, finished, busy) = (started.clone(), finished.clone(), busy.clone());
            Arc::new(GroupCommit::new(move || {
                assert!(!busy.swap(true, SeqCst), "two runs at once");
                let n = started.fetch_add(1, SeqCst) + 1;
                std::thread::sleep(std::time::Duration::from_micros(300));
                busy.store(false, SeqCst);
                finished.store(n, SeqCst);
                Ok(())
            }))
        };
        let (threads, each) = (8, 50);
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (group, started, finished) = (group.clone(), started.clone(), finished.clone());
                std::thread::spawn(move || {
                    for _ in 0..each {
                        let before = started.load(SeqCst);
                        group.wait().unwrap();
                        // A run numbered after `before` (so started after this point) is done.
                        assert!(finished.load(SeqCst) > before);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let runs = started.load(SeqCst);
        assert!(
            runs * 2 < threads * each,
            "{runs} runs for {} waits",
            threads * each
        );
    }

    #[test]
    fn group_error_reaches_every_waiter_and_sticks() {
        let held = HeldSync::new();
        let group = Arc::new(GroupCommit::new(
            held.op(|_| Err(std::io::Error::from_raw_os_error(5))),
        ));
        let spawn = || {
            let group = Arc::clone(&group);
            std::thread::spawn(move || group.wait())
        };
        let a = spawn();
        eventually("A starts run 1", || held.started() == 1);
        let (b, c) = (spawn(), spawn());
        eventually("B and C take tickets", || group.tickets() == 3);
        held.allow(u64::MAX);
        let want = std::io::Error::from_raw_os_error(5).to_string();
        for h in [a, b, c] {
            let e = h.join().unwrap().unwrap_err();
            assert_eq!(e.to_string(), want);
        }
        // Later waiters fail too, without another run.
        assert_eq!(group.wait().unwrap_err().to_string(), want);
        assert_eq!(held.started(), 1);
    }

    /// The ways a group writes outputs: (sync covers file contents, temp file has a name).
    const KINDS: [(bool, bool); 3] = [(true, false), (true, true), (false, true)];

    fn group(
        dir: &Path,
        (whole_fs, named): (bool, bool),
        op: impl Fn() -> std::io::Result<()> + Send + Sync + 'static,
    ) -> GroupSync {
        let g = GroupSync::with_op(dir, whole_fs, op);
        if named {
            g.named()
        } else {
            g
        }
    }

    #[test]
    fn commit_in_syncs_before_and_after_the_file_is_in_place() {
        for kind in KINDS {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("out.zip");
            let seen = Arc::new(Mutex::new(Vec::new()));
            let sync = {
                let (p, seen) = (p.clone(), seen.clone());
                group(d.path(), kind, move || {
                    lock(&seen).push(p.exists());
                    Ok(())
                })
            };
            let mut o = Output::create_in(&p, &sync).unwrap();
            o.file().write_all(b"bytes").unwrap();
            o.commit_in(&sync).unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), b"bytes", "{kind:?}");
            // With syncfs, a run before the file is in place (its bytes) and one after (its
            // name); otherwise the file is fsynced on its own and only the name waits for a
            // run.
            let want = if kind.0 {
                vec![false, true]
            } else {
                vec![true]
            };
            assert_eq!(*lock(&seen), want, "{kind:?}");
            let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
            assert_eq!(names.len(), 1, "{kind:?}: {names:?}");
        }
    }

    #[test]
    fn commit_in_leaves_nothing_when_a_sync_fails() {
        // Run 1 (before the file is in place) fails, or run 2 (after).
        for kind in KINDS {
            for failing in [1, 2] {
                let d = tempfile::tempdir().unwrap();
                let p = d.path().join("out.zip");
                let runs = AtomicU64::new(0);
                let sync = group(d.path(), kind, move || {
                    if runs.fetch_add(1, SeqCst) + 1 == failing {
                        Err(std::io::Error::from_raw_os_error(5))
                    } else {
                        Ok(())
                    }
                });
                let mut o = Output::create_in(&p, &sync).unwrap();
                o.file().write_all(b"bytes").unwrap();
                // Without syncfs there is one run only, after the file is in place.
                let runs = if kind.0 { 2 } else { 1 };
                match o.commit_in(&sync) {
                    Err(Error::Io { path, .. }) if failing <= runs => {
                        assert_eq!(path, d.path(), "{kind:?}")
                    }
                    Ok(()) if failing > runs => {}
                    other => panic!("{kind:?}, run {failing}: {other:?}"),
                }
                let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
                let want = usize::from(failing > runs);
                assert_eq!(left.len(), want, "{kind:?}, run {failing}: {left:?}");
            }
        }
    }

    #[test]
    fn commit_in_never_replaces() {
        for kind in KINDS {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("out.zip");
            std::fs::write(&p, b"theirs").unwrap();
            let sync = group(d.path(), kind, || Ok(()));
            let res = Output::create_in(&p, &sync).and_then(|mut o| {
                o.file().write_all(b"ours").unwrap();
                o.commit_in(&sync)
            });
            assert!(
                matches!(res, Err(Error::Exists { .. })),
                "{kind:?}: {res:?}"
            );
            assert_eq!(std::fs::read(&p).unwrap(), b"theirs");
            assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "{kind:?}");
        }
    }

    #[test]
    fn group_sync_opens_and_syncs_a_real_directory() {
        let d = tempfile::tempdir().unwrap();
        let sync = GroupSync::open(d.path()).unwrap();
        for name in ["a.zip", "b.zip"] {
            let p = d.path().join(name);
            let mut o = Output::create_in(&p, &sync).unwrap();
            o.file().write_all(name.as_bytes()).unwrap();
            o.commit_in(&sync).unwrap();
        }
        assert_eq!(std::fs::read(d.path().join("b.zip")).unwrap(), b"b.zip");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.path().join("a.zip"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        assert!(GroupSync::open(&d.path().join("missing")).is_err());
    }

    /// Both ways of naming an unnamed file: the direct link (where this process may make it)
    /// and the `/proc/self/fd` one every process may use; neither replaces an existing name.
    #[cfg(target_os = "linux")]
    #[test]
    fn unnamed_files_get_their_name_both_ways() {
        let d = tempfile::tempdir().unwrap();
        if !unnamed_works(d.path()) {
            return; // A file system without O_TMPFILE: the named temporary file is used.
        }
        for (name, link) in [
            (
                "direct.zip",
                link_unnamed as fn(&File, &Path) -> std::io::Result<()>,
            ),
            ("proc.zip", link_via_proc),
        ] {
            let p = d.path().join(name);
            let mut f = open_unnamed(d.path()).unwrap();
            f.write_all(name.as_bytes()).unwrap();
            assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0, "unnamed");
            link(&f, &p).unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), name.as_bytes());
            // A second name for the same path is refused, and the first stays.
            let mut g = open_unnamed(d.path()).unwrap();
            g.write_all(b"other").unwrap();
            let e = link(&g, &p).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{name}");
            assert_eq!(std::fs::read(&p).unwrap(), name.as_bytes());
            std::fs::remove_file(&p).unwrap();
        }
    }

    #[test]
    fn kernel_releases_compare() {
        assert!(kernel_at_least("6.18.44-fc-v595\n", (5, 8)));
        assert!(kernel_at_least("5.8.0", (5, 8)));
        assert!(kernel_at_least("5.10", (5, 8)));
        assert!(!kernel_at_least("5.4.0-150-generic", (5, 8)));
        assert!(!kernel_at_least("4.19.0+", (5, 8)));
        assert!(!kernel_at_least("", (5, 8)));
        assert!(!kernel_at_least("six", (5, 8)));
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
