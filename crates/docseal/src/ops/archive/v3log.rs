//! Reading an archive log v3 (`docs/FORMAT.md`, "Archive log v3", C.5): the log's entries are
//! the entry bundles of the tree of `start` entries followed by the tail of `log/sequence`,
//! exactly the bytes a v2 `log/entries` would hold. [`EntrySource`] gives them as one stream,
//! one entry bundle in memory at a time, so every check made on `log/entries` is made the
//! same way on v3.

use super::tiles::DiskTiles;
use super::v3::{Sequence, MAX_SEQUENCE_BYTES, SEQUENCE_FILE};
use super::{invalid, read_limited, real_dir, ENTRIES_FILE, MAX_ENTRY_LINE};
use crate::format::error::Result;
use crate::format::tlog::{TileId, Tiles, TILE_WIDTH};
use std::io::{BufRead, Read};
use std::path::Path;

/// The entry bundles' directory, under the archive (where v3 findings about entries point).
pub const ENTRY_BUNDLES_DIR: &str = "log/tile/entries";

/// Whether the archive's log is v3: `log/sequence` is there (whatever it is: a link or a FIFO
/// there makes it v3 all the same, and is reported, never followed).
pub fn is_v3(archive: &Path) -> Result<bool> {
    if !real_dir(archive, "log")? {
        return Ok(false);
    }
    Ok(std::fs::symlink_metadata(archive.join(SEQUENCE_FILE)).is_ok())
}

/// `log/sequence` read (bounded, never through a link, no FIFO) and parsed strictly; the
/// problem otherwise (without the file's name).
pub fn read_sequence(archive: &Path) -> std::result::Result<Sequence, String> {
    let bytes = match read_limited(&archive.join(SEQUENCE_FILE), MAX_SEQUENCE_BYTES) {
        Err(e) => {
            let s = e.to_string();
            let p = archive.join(SEQUENCE_FILE).display().to_string();
            return Err(s.strip_prefix(&format!("{p}: ")).unwrap_or(&s).to_string());
        }
        Ok(None) => return Err("missing".into()),
        Ok(Some(b)) => b,
    };
    Sequence::parse(&bytes)
}

/// Where findings about the log's entries point: `log/entries:LINE` (v1, v2); on v3 the entry
/// bundle and the entry's place in it (`log/tile/entries/000:5`), or the tail's line in
/// `log/sequence`.
#[derive(Clone, Debug)]
pub(super) enum EntriesAt {
    /// `log/entries`.
    File,
    /// Entry bundles below `start`, then `log/sequence`.
    V3 {
        /// The sequence's start (0 when it does not parse).
        start: u64,
    },
}

impl EntriesAt {
    /// How this archive's entries are named.
    pub(super) fn of(archive: &Path) -> EntriesAt {
        if is_v3(archive).unwrap_or(false) {
            EntriesAt::V3 {
                start: read_sequence(archive).map_or(0, |s| s.start),
            }
        } else {
            EntriesAt::File
        }
    }
    /// The entries as a whole.
    pub(super) fn whole(&self) -> &'static str {
        match self {
            EntriesAt::File => ENTRIES_FILE,
            EntriesAt::V3 { .. } => ENTRY_BUNDLES_DIR,
        }
    }
    /// Entry at position `i`.
    pub(super) fn line(&self, i: u64) -> String {
        match self {
            EntriesAt::File => format!("{ENTRIES_FILE}:{}", i + 1),
            EntriesAt::V3 { start } if i < *start => match TileId::holding(None, i, *start) {
                Some(id) => format!("log/{}:{}", id.path(), i % TILE_WIDTH + 1),
                None => format!("entry {i}"),
            },
            EntriesAt::V3 { start } => format!("{SEQUENCE_FILE}:{}", i - start + 3),
        }
    }
}

/// The log's entries of a v3 archive as the bytes `log/entries` would hold (each entry line
/// and LF): the entry bundles of the tree of `start`, one at a time, then the tail. A bundle
/// or a sequence that cannot be read ends the stream; [`EntrySource::problem`] says where
/// and why.
pub(super) struct EntrySource<'a> {
    tiles: Tiles<DiskTiles<'a>>,
    bundles: u64,
    next: u64,
    buf: Vec<u8>,
    at: usize,
    tail: Option<Vec<u8>>,
    problem: Option<(String, String)>,
}

impl<'a> EntrySource<'a> {
    /// The entries of the v3 archive `archive`.
    pub(super) fn open(archive: &'a Path) -> EntrySource<'a> {
        let (start, tail, problem) = match read_sequence(archive) {
            Ok(s) => {
                let mut tail = Vec::new();
                for e in &s.tail {
                    tail.extend_from_slice(e.line().as_bytes());
                    tail.push(b'\n');
                }
                (s.start, Some(tail), None)
            }
            Err(why) => (0, None, Some((SEQUENCE_FILE.to_string(), why))),
        };
        EntrySource {
            tiles: Tiles::new(DiskTiles::new(archive), start),
            bundles: start.div_ceil(TILE_WIDTH),
            next: 0,
            buf: Vec::new(),
            at: 0,
            tail,
            problem,
        }
    }

    /// Where and why the stream ended early: a missing or malformed entry bundle, or a
    /// `log/sequence` that does not parse.
    pub(super) fn problem(&self) -> Option<&(String, String)> {
        self.problem.as_ref()
    }

    /// Refill `buf` with the next entry bundle's lines, or the tail; false at the end.
    fn refill(&mut self) -> bool {
        self.buf.clear();
        self.at = 0;
        if self.problem.is_some() {
            return false;
        }
        if self.next < self.bundles {
            let b = self.next;
            self.next += 1;
            let path = TileId::holding(None, b * TILE_WIDTH, self.tiles.size()).map_or_else(
                || format!("entry bundle {b}"),
                |id| format!("log/{}", id.path()),
            );
            match self.tiles.entries(b, MAX_ENTRY_LINE) {
                Ok(entries) => {
                    if entries.iter().any(|e| e.contains(&b'\n')) {
                        self.problem = Some((path, "an entry holds a line feed".into()));
                        return false;
                    }
                    for e in entries {
                        self.buf.extend_from_slice(&e);
                        self.buf.push(b'\n');
                    }
                    return true;
                }
                Err(e) => {
                    use crate::format::tlog::TileError;
                    let why = match e {
                        TileError::Missing(_) => "missing".to_string(),
                        TileError::Malformed { problem, .. } | TileError::Read { problem, .. } => {
                            problem
                        }
                        TileError::OutOfRange(w) => format!("out of range: {w}"),
                    };
                    self.problem = Some((path, why));
                    return false;
                }
            }
        }
        match self.tail.take() {
            Some(t) => {
                self.buf = t;
                !self.buf.is_empty()
            }
            None => false,
        }
    }
}

impl Read for EntrySource<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for EntrySource<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.at >= self.buf.len() {
            if !self.refill() {
                break;
            }
        }
        Ok(&self.buf[self.at.min(self.buf.len())..])
    }
    fn consume(&mut self, amt: usize) {
        self.at = (self.at + amt).min(self.buf.len());
    }
}

/// What [`migrate_v3`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigratedV3 {
    /// The log's entries (all below the sequence's start).
    pub entries: u64,
    /// Whether the log was v3 already (nothing left to do, or only `log/entries` to remove).
    pub already: bool,
}

/// Lay a v2 archive's log out as v3 (`docs/FORMAT.md`, "Archive log v3", C.6): every entry's
/// two index objects (create-only; the same bytes there already are fine, other bytes are
/// damage), then `log/sequence` with the latest checkpoint's size as start and an empty tail,
/// then `log/entries` removed. Refuses a damaged log (any error an audit without trust
/// reports), tiles that do not give the latest checkpoint's root, and entries after the latest
/// checkpoint. Restartable at any point; under the archive's lock. Writes go through the
/// archive's [`LocalStore`](crate::format::store::LocalStore).
pub fn migrate_v3(archive: &Path, wait: std::time::Duration) -> Result<MigratedV3> {
    use crate::format::store::{put_new_or_same, Store};
    let label = archive.display().to_string();
    if !real_dir(archive, "log")? {
        return Err(invalid(&label, "is not an archive (no log/ directory)"));
    }
    let v3 = is_v3(archive)?;
    if !v3 && !super::tiles::is_v2(archive)? {
        return Err(invalid(
            &label,
            "its log is v1: it must be migrated to v2 first (which needs the archive key)",
        ));
    }
    let _lock = super::Lock::acquire(archive, wait, true)?;
    let store = crate::format::store::LocalStore::new(archive);
    let store: &dyn Store = &store;
    let lc = super::check_log(archive, None, &[], &mut |_| Ok(()))?;
    if let Some(bad) = lc.sink.first_error(&[]) {
        return Err(invalid(
            &label,
            format!("{bad}; not migrating a damaged log ({})", super::AUDIT_HINT),
        ));
    }
    let Some((latest, _)) = lc.sound.last() else {
        return Err(invalid(&label, "has no checkpoint to migrate"));
    };
    if v3 {
        // Interrupted after log/sequence was written (or done): v3 wins, log/entries goes.
        remove_entries_file(archive)?;
        return Ok(MigratedV3 {
            entries: lc.n,
            already: true,
        });
    }
    if lc.n != latest.size || lc.orphan.is_some() {
        return Err(invalid(
            &label,
            "has entries after its latest checkpoint (an interrupted add): the next add completes them; migrate after it",
        ));
    }
    // The entry bundles become the only copy of the entries: they must give the signed root.
    let mut t = Tiles::new(DiskTiles::new(archive), latest.size);
    match crate::format::tlog::check_all(&mut t, MAX_ENTRY_LINE, &mut |_, _| {}) {
        Ok(root) if root == latest.root => {}
        Ok(_) => {
            return Err(invalid(
                &label,
                format!(
                    "its entry bundles do not give the root checkpoint {} signs; not migrating a damaged log",
                    latest.size
                ),
            ))
        }
        Err(e) => {
            return Err(invalid(
                format!("{label}/log/{e}"),
                "not migrating a damaged log",
            ))
        }
    }
    let mut failed: Option<crate::format::error::Error> = None;
    super::scan_entries(archive, &Default::default(), &mut |_, _, line| {
        if failed.is_some() {
            return Ok(());
        }
        let Ok(e) = super::Entry::parse(line) else {
            return Ok(());
        };
        let bytes = super::v3::index_bytes(&e);
        let paths = [
            Some(super::v3::name_index_path(&e.name)),
            super::v3::content_index_path(&e.content_sha256),
        ];
        for p in paths.into_iter().flatten() {
            match put_new_or_same(store, &p, &bytes) {
                Ok(true) => {}
                Ok(false) => {
                    failed = Some(invalid(
                        format!("{label}/{p}"),
                        format!(
                            "holds another entry than entry {} (damage); not migrating",
                            e.index
                        ),
                    ));
                    return Ok(());
                }
                Err(err) => {
                    failed = Some(invalid(format!("{label}/{p}"), err.to_string()));
                    return Ok(());
                }
            }
        }
        Ok(())
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let seq = Sequence {
        start: latest.size,
        tail: Vec::new(),
    };
    match put_new_or_same(store, SEQUENCE_FILE, &seq.to_bytes()) {
        Ok(true) => {}
        Ok(false) => {
            return Err(invalid(
                format!("{label}/{SEQUENCE_FILE}"),
                "appeared during the migration with other contents",
            ))
        }
        Err(e) => return Err(invalid(format!("{label}/{SEQUENCE_FILE}"), e.to_string())),
    }
    remove_entries_file(archive)?;
    Ok(MigratedV3 {
        entries: latest.size,
        already: false,
    })
}

/// Remove `log/entries` (a v2-only release then refuses the archive rather than fork it).
fn remove_entries_file(archive: &Path) -> Result<()> {
    let p = archive.join(ENTRIES_FILE);
    match std::fs::remove_file(&p) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::format::error::Error::io(&p, e)),
    }
    let log = archive.join("log");
    crate::format::durable::sync_dir(&log).map_err(|e| crate::format::error::Error::io(&log, e))
}
