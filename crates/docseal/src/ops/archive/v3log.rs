//! Reading an archive log v3 (`docs/FORMAT.md`, "Archive log v3", C.5): the log's entries are
//! the entry bundles of the tree of `start` entries followed by the tail of `log/sequence`,
//! exactly the bytes a v2 `log/entries` would hold. `EntrySource` gives them as one stream,
//! one entry bundle in memory at a time, so every check made on `log/entries` is made the
//! same way on v3.

use super::tiles::DiskTiles;
use super::v3::{Sequence, MAX_SEQUENCE_BYTES, SEQUENCE_FILE};
use super::{invalid, read_limited, real_dir, ENTRIES_FILE, MAX_ENTRY_LINE};
use crate::format::error::Result;
use crate::format::store::Store;
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
    // A file larger than the bound is refused by its size, before any byte is read.
    if let Ok(Some(f)) = super::open_nofollow(&archive.join(SEQUENCE_FILE)) {
        if f.metadata().is_ok_and(|m| m.len() > MAX_SEQUENCE_BYTES) {
            return Err(format!("larger than {MAX_SEQUENCE_BYTES} bytes"));
        }
    }
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

/// The start of a `log/sequence` that does not parse as a whole, from its first two lines
/// alone (its first 64 bytes): the entries below it are in the entry bundles and can be read
/// all the same. `None` if those lines do not parse either (or it cannot be opened).
fn start_alone(archive: &Path) -> Option<u64> {
    let f = super::open_nofollow(&archive.join(SEQUENCE_FILE)).ok()??;
    let mut head = Vec::new();
    f.take(64).read_to_end(&mut head).ok()?;
    let mut lines = head.split(|&b| b == b'\n');
    if lines.next()? != super::v3::SEQUENCE_MAGIC.as_bytes() {
        return None;
    }
    let start = lines.next()?;
    // The start line ends in LF within those bytes.
    lines.next()?;
    let n = std::str::from_utf8(start.strip_prefix(b"start ")?).ok()?;
    super::entry::parse_decimal(n).filter(|&n| n <= super::MAX_ENTRIES_V2)
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
                start: read_sequence(archive)
                    .map_or_else(|_| start_alone(archive).unwrap_or(0), |s| s.start),
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
    /// `log/sequence`'s problem, once the entry bundles below its start are read.
    tail_problem: Option<(String, String)>,
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
            // The tail cannot be read; the entries below the start (if its line parses)
            // can: they are read, then the sequence's problem ends the stream.
            Err(why) => (
                start_alone(archive).unwrap_or(0),
                None,
                Some((SEQUENCE_FILE.to_string(), why)),
            ),
        };
        EntrySource {
            tiles: Tiles::new(DiskTiles::new(archive), start),
            bundles: start.div_ceil(TILE_WIDTH),
            next: 0,
            buf: Vec::new(),
            at: 0,
            tail,
            problem: None,
            tail_problem: problem,
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
            None => {
                self.problem = self.tail_problem.take();
                false
            }
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
/// archive's [`LocalStore`](crate::format::store::LocalStore), as [`migrate_v3_store`] does.
pub fn migrate_v3(archive: &Path, wait: std::time::Duration) -> Result<MigratedV3> {
    let label = archive.display().to_string();
    if !real_dir(archive, "log")? {
        return Err(invalid(&label, "is not an archive (no log/ directory)"));
    }
    let _lock = super::Lock::acquire(archive, wait, true)?;
    let store = crate::format::store::LocalStore::new(archive);
    migrate_v3_store(&store, archive)
}

/// [`migrate_v3`] of the archive in `store` (local or object storage), checked on `copy`: the
/// archive itself for a local store, else a copy of the store's log (`log/`) made just
/// before. On object storage, `log/entries` must still be the bytes of the copy when the
/// sequence is written and after (else the sequence is removed again and the migration
/// refused: an add of a v2-only release ran meanwhile); no add of such a release may run
/// during a migration (one that ran between the last check and the removal of `log/entries`
/// would be lost).
pub fn migrate_v3_store(store: &dyn Store, copy: &Path) -> Result<MigratedV3> {
    let label = store.root();
    let fail = |what: &str, e: crate::format::store::StoreError| {
        invalid(format!("{label}/{what}"), e.to_string())
    };
    if !real_dir(copy, "log")? {
        return Err(invalid(&label, "is not an archive (no log/ directory)"));
    }
    let v3 = is_v3(copy)?;
    if !v3 && !super::tiles::is_v2(copy)? {
        return Err(invalid(
            &label,
            "its log is v1: it must be migrated to v2 first (which needs the archive key)",
        ));
    }
    let (latest, n) = migratable_v3(copy, &label, v3)?;
    if v3 {
        // Interrupted after log/sequence was written (or done): v3 wins, log/entries goes,
        // but only once every entry has both its index objects (the same bytes there are
        // fine): a sequence beside a log/entries whose index was never written would
        // otherwise leave a v3 log without its index.
        if std::fs::symlink_metadata(copy.join(ENTRIES_FILE)).is_ok() {
            write_index(store, copy, &label)?;
        }
        store
            .delete(ENTRIES_FILE)
            .map_err(|e| fail(ENTRIES_FILE, e))?;
        return Ok(MigratedV3 {
            entries: n,
            already: true,
        });
    }
    write_index(store, copy, &label)?;
    let entries_now = || -> Result<Option<Vec<u8>>> {
        let max = std::fs::metadata(copy.join(ENTRIES_FILE)).map_or(0, |m| m.len());
        match store.get(ENTRIES_FILE, max) {
            Ok(o) => Ok(o.map(|o| o.bytes)),
            Err(crate::format::store::StoreError::TooLarge { .. }) => Ok(None),
            Err(e) => Err(fail(ENTRIES_FILE, e)),
        }
    };
    let checked = std::fs::read(copy.join(ENTRIES_FILE))
        .map_err(|e| crate::format::error::Error::io(copy.join(ENTRIES_FILE), e))?;
    let changed = || {
        invalid(
            format!("{label}/{ENTRIES_FILE}"),
            "changed during the migration (an add ran meanwhile); nothing migrated: migrate again",
        )
    };
    if entries_now()?.as_deref() != Some(&checked[..]) {
        return Err(changed());
    }
    let seq = Sequence {
        start: latest,
        tail: Vec::new(),
    };
    match crate::format::store::put_new_or_same(store, SEQUENCE_FILE, &seq.to_bytes()) {
        Ok(true) => {}
        Ok(false) => {
            return Err(invalid(
                format!("{label}/{SEQUENCE_FILE}"),
                "appeared during the migration with other contents",
            ))
        }
        Err(e) => return Err(fail(SEQUENCE_FILE, e)),
    }
    if entries_now()?.as_deref() != Some(&checked[..]) {
        store
            .delete(SEQUENCE_FILE)
            .map_err(|e| fail(SEQUENCE_FILE, e))?;
        return Err(changed());
    }
    store
        .delete(ENTRIES_FILE)
        .map_err(|e| fail(ENTRIES_FILE, e))?;
    Ok(MigratedV3 {
        entries: latest,
        already: false,
    })
}

/// The log of `copy` as checked before a migration to v3: the latest checkpoint's size and
/// the number of entries; refused if damaged, with entries after that checkpoint, or (v2)
/// with entry bundles that do not give its root.
fn migratable_v3(copy: &Path, label: &str, v3: bool) -> Result<(u64, u64)> {
    let lc = super::check_log(copy, None, &[], &mut |_| Ok(()))?;
    if let Some(bad) = lc.sink.first_error(&[]) {
        return Err(invalid(
            label,
            format!("{bad}; not migrating a damaged log ({})", super::AUDIT_HINT),
        ));
    }
    let Some((latest, _)) = lc.sound.last() else {
        return Err(invalid(label, "has no checkpoint to migrate"));
    };
    if v3 {
        return Ok((latest.size, lc.n));
    }
    if lc.n != latest.size || lc.orphan.is_some() {
        return Err(invalid(
            label,
            "has entries after its latest checkpoint (an interrupted add): the next add completes them; migrate after it",
        ));
    }
    // The entry bundles become the only copy of the entries: they must give the signed root.
    let mut t = Tiles::new(DiskTiles::new(copy), latest.size);
    match crate::format::tlog::check_all(&mut t, MAX_ENTRY_LINE, &mut |_, _| {}) {
        Ok(root) if root == latest.root => Ok((latest.size, lc.n)),
        Ok(_) => Err(invalid(
            label,
            format!(
                "its entry bundles do not give the root checkpoint {} signs; not migrating a damaged log",
                latest.size
            ),
        )),
        Err(e) => Err(invalid(format!("{label}/log/{e}"), "not migrating a damaged log")),
    }
}

/// Write both index objects of every entry of `copy`'s `log/entries` to `store`
/// (create-only; the same bytes there already are fine; other bytes refuse).
fn write_index(store: &dyn Store, copy: &Path, label: &str) -> Result<()> {
    let mut failed: Option<crate::format::error::Error> = None;
    super::scan_entries(copy, &Default::default(), &mut |_, _, line| {
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
            match crate::format::store::put_new_or_same(store, &p, &bytes) {
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
    failed.map_or(Ok(()), Err)
}

// ---------------------------------------------------------------------------------------------
// Audit of the v3 parts: log/sequence, the index (docs/FORMAT.md C.5)
// ---------------------------------------------------------------------------------------------

/// The keyed hash of an index object (its path and bytes), to compare the objects found with
/// the objects the entries give without keeping either.
fn object_key(keyed: &super::Keyed, path: &str, bytes: &[u8]) -> u64 {
    let mut s = String::with_capacity(path.len() + 1 + bytes.len());
    s.push_str(path);
    s.push('\0');
    s.push_str(&String::from_utf8_lossy(bytes));
    keyed.of(&s)
}

/// The v3 checks of an audit: each entry, as the log streams by, against its two index
/// objects ([`IndexCheck::entry`]); then the index walked, `log/sequence`'s start against the
/// signed checkpoints, and `log/entries` left by an interrupted migration
/// ([`IndexCheck::finish`]). Memory: a few words, and two keys per entry of the tail.
pub(super) struct IndexCheck<'a> {
    archive: &'a Path,
    /// `None`: not a v3 log (nothing to check).
    seq: Option<std::result::Result<Sequence, String>>,
    keyed: super::Keyed,
    /// `log/index/` and its two directories are no symbolic links.
    readable: bool,
    /// Sum and count of the keys of the index objects found as the entries below start give
    /// them.
    sum: u64,
    count: u64,
    /// In a store: the same, of the objects that hold exactly their entry's line only (`sum`
    /// and `count` also have those with other bytes, whose names the walk lists).
    sum_ok: u64,
    count_ok: u64,
    /// In a store: the size of the log when `log/sequence` was read again (see
    /// [`IndexCheck::logged_since`]).
    now: Option<u64>,
    /// Keys of the index objects the tail's entries give (they may be written already), as
    /// [`IndexCheck::key`] gives them (in a store, of their paths) and of their paths and
    /// bytes.
    tail: std::collections::HashSet<u64>,
    tail_full: std::collections::HashSet<u64>,
    /// How many of the log's entries could be read (objects claiming later ones cannot be
    /// checked: the entries' own finding says why).
    read: u64,
    /// The index read from this store in place instead of under `archive` (an audit of a v3
    /// archive in a bucket: no copy of its two objects an entry). Then the objects the entries
    /// give are read (two GETs an entry), the walk only lists names (their keys are of the
    /// path alone: each object at an entry's path was compared byte for byte when its entry
    /// went by), and objects are read in the walk only when it finds names no entry gives.
    pub(super) store: Option<&'a dyn Store>,
    f: super::Sink,
}

/// Most objects under `log/index/` beyond two an entry read (planted, or written by an add
/// since the log was read) before a listing in place is refused as one that never ends.
const MAX_UNINDEXED_OBJECTS: u64 = 100_000;

impl<'a> IndexCheck<'a> {
    /// The checks for `archive` (nothing is checked unless its log is v3).
    pub(super) fn new(archive: &'a Path) -> IndexCheck<'a> {
        let seq = is_v3(archive)
            .unwrap_or(false)
            .then(|| read_sequence(archive));
        // The index's directories, never through a symbolic link (reported as such; then
        // no index object is read).
        let mut f = super::Sink::default();
        let mut readable = true;
        for dir in [
            "log/index",
            super::v3::NAME_INDEX_DIR,
            super::v3::CONTENT_INDEX_DIR,
        ] {
            let link = std::fs::symlink_metadata(archive.join(dir))
                .is_ok_and(|m| m.file_type().is_symlink());
            // (`log/index` itself: the audit's layout check reports it.)
            if seq.is_some() && readable && link && dir != "log/index" {
                f.push(crate::format::finding::Finding::at(
                    crate::format::finding::Code::ArchiveSymlink,
                    dir,
                    "a symbolic link in the archive (never followed: the index is not checked)",
                ));
            }
            readable &= !link;
        }
        IndexCheck {
            archive,
            readable,
            seq,
            keyed: super::Keyed::new(),
            sum: 0,
            count: 0,
            sum_ok: 0,
            count_ok: 0,
            tail: Default::default(),
            tail_full: Default::default(),
            now: None,
            read: u64::MAX,
            store: None,
            f,
        }
    }

    /// The key an object found at `path` with `bytes` is summed under: of its path and bytes
    /// on a disk, of its path alone in a store (see [`IndexCheck::store`]).
    fn key(&self, path: &str, bytes: &[u8]) -> u64 {
        match self.store {
            Some(_) => object_key(&self.keyed, path, b""),
            None => object_key(&self.keyed, path, bytes),
        }
    }

    /// In a store, an object at an entry's path found wrong (reported by the entry): the walk
    /// lists its name and sums it (the path alone), so it is counted here too.
    fn reported_here(&mut self, k: u64) {
        if self.store.is_some() {
            self.sum = self.sum.wrapping_add(k);
            self.count += 1;
        }
    }

    /// In a store, whether the log holds entry `index` now (read after the log this audit
    /// checks: an add since then logged it and wrote its index objects). `log/sequence` is
    /// read once.
    fn logged_since(&mut self, index: u64) -> bool {
        use crate::format::store;
        let Some(s) = self.store else {
            return false;
        };
        let size = *self.now.get_or_insert_with(|| {
            match store::retry(&store::Backoff::default(), || {
                s.get(SEQUENCE_FILE, MAX_SEQUENCE_BYTES)
            }) {
                Ok(Some(o)) => Sequence::parse(&o.bytes).map_or(0, |q| q.size()),
                _ => 0,
            }
        });
        index < size
    }

    /// The index object at `path` (at most [`super::v3::MAX_INDEX_BYTES`]): `Ok(None)` if
    /// absent, `Ok(Err(why))` if it cannot be read as one (a finding); a store that fails is
    /// the audit's error.
    fn read_object(&self, path: &str) -> Result<std::result::Result<Option<Vec<u8>>, String>> {
        use crate::format::store::{self, StoreError};
        let Some(s) = self.store else {
            return Ok(
                read_limited(&self.archive.join(path), super::v3::MAX_INDEX_BYTES)
                    .map_err(|e| e.to_string()),
            );
        };
        match store::retry(&store::Backoff::default(), || {
            s.get(path, super::v3::MAX_INDEX_BYTES)
        }) {
            Ok(o) => Ok(Ok(o.map(|o| o.bytes))),
            Err(e @ (StoreError::TooLarge { .. } | StoreError::Invalid { .. })) => {
                Ok(Err(e.to_string()))
            }
            Err(e) => Err(super::store_common::store_error(e)),
        }
    }

    fn start(&self) -> Option<u64> {
        match &self.seq {
            Some(Ok(s)) => Some(s.start),
            _ => None,
        }
    }

    /// One entry of the log, in order.
    pub(super) fn entry(&mut self, e: &super::Entry) -> Result<()> {
        use crate::format::finding::{Code, Finding};
        let Some(start) = self.start().filter(|_| self.readable) else {
            return Ok(());
        };
        let bytes = super::v3::index_bytes(e);
        let paths = [
            Some(super::v3::name_index_path(&e.name)),
            super::v3::content_index_path(&e.content_sha256),
        ];
        for p in paths.into_iter().flatten() {
            let k = self.key(&p, &bytes);
            if e.index >= start {
                self.tail.insert(k);
                self.tail_full.insert(object_key(&self.keyed, &p, &bytes));
                continue;
            }
            let problem = match self.read_object(&p)? {
                Ok(Some(b)) if b == bytes => {
                    self.sum = self.sum.wrapping_add(k);
                    self.count += 1;
                    self.sum_ok = self.sum_ok.wrapping_add(k);
                    self.count_ok += 1;
                    continue;
                }
                Ok(Some(_)) => {
                    self.reported_here(k);
                    format!("holds other bytes than entry {}'s line", e.index)
                }
                Ok(None) => format!(
                    "missing: entry {} ({}) has no index object here",
                    e.index, e.name
                ),
                Err(err) => {
                    self.reported_here(k);
                    format!("entry {}'s index object cannot be read: {err}", e.index)
                }
            };
            self.f.push(Finding::at(Code::LogIndexInvalid, &p, problem));
        }
        Ok(())
    }

    /// After the log (of which `read` entries could be read): the index walked (every object
    /// found must be one an entry gives), the sequence's start against the signed
    /// checkpoints' sizes `signed`, `log/entries` beside `log/sequence`. Findings go to `f`.
    pub(super) fn finish(
        mut self,
        signed: &super::Sound,
        read: u64,
        f: &mut super::Sink,
    ) -> Result<()> {
        self.read = read;
        use crate::format::finding::{Code, Finding};
        let Some(seq) = self.seq.take() else {
            return Ok(());
        };
        // A sequence that does not parse: reading the entries reported it already.
        let Ok(seq) = seq else {
            f.absorb(self.f);
            return Ok(());
        };
        // Start 0 vouches for nothing (the empty tree): a new archive, or one whose first
        // add's tail is signed but not yet followed by the next add's sequence.
        if seq.start != 0 && !signed.contains(seq.start)? {
            f.push(Finding::at(
                Code::LogSequenceInvalid,
                SEQUENCE_FILE,
                format!(
                    "start {} is not the size of a signed checkpoint (the entry bundles below it are not vouched for)",
                    seq.start
                ),
            ));
        }
        if std::fs::symlink_metadata(self.archive.join(ENTRIES_FILE)).is_ok() {
            f.push(
                Finding::at(
                    Code::LogInterrupted,
                    ENTRIES_FILE,
                    "log/entries beside log/sequence: a migration to v3 was interrupted (v3 wins: log/entries is not read; migrating again removes it)",
                )
                .warning(),
            );
        }
        if self.readable {
            self.walk(seq.start)?;
        }
        f.absorb(self.f);
        Ok(())
    }

    /// Walk `log/index/`: objects that no entry gives are findings; the sum of the keys of
    /// the others must be the sum the entries gave (else some object claims an entry the log
    /// does not hold at that index: named by a second walk reading the entries' bundles).
    fn walk(&mut self, start: u64) -> Result<()> {
        let (mut sum, mut n) = (0u64, 0u64);
        let mut ignore = |_: &str, _: u64, _| {};
        if self.store.is_some() {
            // Names only: each object an entry gives was read when its entry went by.
            let mut add = |k: u64| {
                sum = sum.wrapping_add(k);
                n += 1;
            };
            for dir in [super::v3::NAME_INDEX_DIR, super::v3::CONTENT_INDEX_DIR] {
                self.visit_store(dir, start, true, Some(&mut add), &mut ignore)?;
            }
            if n != self.count || sum != self.sum {
                // Names no entry gives: every object read and checked, as on a disk (the
                // well-formed ones summed again), then those that claim an entry the log
                // holds otherwise named.
                let keyed = self.keyed.clone();
                let (mut sum, mut n) = (0u64, 0u64);
                let mut add = |rel: &str, _: u64, _| {
                    sum = sum.wrapping_add(object_key(&keyed, rel, b""));
                    n += 1;
                };
                for dir in [super::v3::NAME_INDEX_DIR, super::v3::CONTENT_INDEX_DIR] {
                    self.visit_store(dir, start, true, None, &mut add)?;
                }
                if n != self.count_ok || sum != self.sum_ok {
                    self.name_planted(start)?;
                }
            }
            return Ok(());
        }
        self.each_object(start, true, &mut |_, k, _| {
            sum = sum.wrapping_add(k);
            n += 1;
        })?;
        if n != self.count || sum != self.sum {
            self.name_planted(start)?;
        }
        Ok(())
    }

    /// Each well-formed index object under `log/index/` that is not the tail's, at the path its
    /// line gives, for an entry below `start`: its path, key and entry to `each`. With
    /// `report`, the others are findings.
    fn each_object(
        &mut self,
        start: u64,
        report: bool,
        each: &mut dyn FnMut(&str, u64, super::Entry),
    ) -> Result<()> {
        for dir in [super::v3::NAME_INDEX_DIR, super::v3::CONTENT_INDEX_DIR] {
            if self.store.is_some() {
                self.visit_store(dir, start, report, None, each)?;
                continue;
            }
            let os = std::path::PathBuf::from(dir);
            self.visit(dir, &os, dir, 0, start, report, each)?;
        }
        Ok(())
    }

    /// [`IndexCheck::each_object`] of the store's `dir` in place: its names listed in pages
    /// (bounded by the log: two an entry read and [`MAX_UNINDEXED_OBJECTS`] more), and each
    /// object read and checked as on a disk; with `names`, nothing is read: each name at the
    /// depth of an index object, but the tail's, goes to `names` as the key of its path alone
    /// (that walk reports, with `report`, the names at another depth and those no key can have;
    /// a walk that reads reports what it reads).
    fn visit_store(
        &mut self,
        dir: &str,
        start: u64,
        report: bool,
        mut names: Option<&mut dyn FnMut(u64)>,
        each: &mut dyn FnMut(&str, u64, super::Entry),
    ) -> Result<()> {
        use crate::format::finding::{Code, Finding};
        use crate::format::store::{self, StoreError};
        let Some(s) = self.store else {
            return Ok(());
        };
        let backoff = store::Backoff::default();
        let prefix = format!("{dir}/");
        // One object an entry under each of the two directories.
        let most = self
            .read
            .min(start)
            .saturating_add(self.tail.len() as u64)
            .saturating_add(MAX_UNINDEXED_OBJECTS);
        let mut after: Option<String> = None;
        let mut seen = 0u64;
        loop {
            let page = match store::retry(&backoff, || {
                s.list(&prefix, after.as_deref(), store::MAX_PAGE)
            }) {
                Ok(p) => p,
                Err(StoreError::NotFound { .. }) => return Ok(()),
                Err(e) => return Err(super::store_common::store_error(e)),
            };
            seen = seen.saturating_add((page.items.len() + page.stray.len()) as u64);
            if seen > most {
                return Err(invalid(
                    format!("{}/{prefix}", s.root()),
                    format!("listing refused: more than {most} objects for a log of {} entries read (a listing that never ends?)", self.read.min(start)),
                ));
            }
            // Names are reported once, by the walk that lists names only.
            let report_names = report && names.is_some();
            if report_names {
                for name in &page.stray {
                    self.f.push(Finding::at(
                        Code::LogIndexInvalid,
                        crate::format::store::escape_key(name),
                        "not an index object where one belongs (a name no key can have: planted by hand)",
                    ));
                }
            }
            for item in &page.items {
                let rel = item.key.as_str();
                let depth = rel[prefix.len()..].split('/').count();
                if depth != 3 {
                    if report_names {
                        self.f.push(Finding::at(
                            Code::LogIndexInvalid,
                            rel,
                            "not an index object where one belongs (the index is <dir>/<h2>/<h4>/<h>)",
                        ));
                    }
                    continue;
                }
                if let Some(names) = names.as_mut() {
                    let k = self.key(rel, b"");
                    if !self.tail.contains(&k) {
                        names(k);
                        continue;
                    }
                    // A name the tail gives: its entry was not read from the index (the tail
                    // may not be indexed yet), so the object is read here.
                }
                let bytes = match self.read_object(rel)? {
                    Ok(Some(b)) => b,
                    Ok(None) => continue,
                    Err(why) => {
                        if report {
                            self.f.push(Finding::at(
                                Code::LogIndexInvalid,
                                rel,
                                format!("cannot be read: {why}"),
                            ));
                        }
                        continue;
                    }
                };
                self.found(dir, rel, &bytes, start, report, each);
            }
            match page.items.last() {
                Some(last) if page.more => after = Some(last.key.clone()),
                _ => return Ok(()),
            }
        }
    }

    /// One file or directory of the walk of [`IndexCheck::each_object`]: `rel` its path under
    /// the archive as found (`os`: the same, byte for byte, whatever its names are; `rel`
    /// shows them lossily), `depth` below `dir`. Directories are read as they are walked
    /// (never listed whole into memory: a planted directory of millions of files costs no
    /// memory).
    // About 80 lines: one object, each way it can be wrong checked in order.
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &mut self,
        dir: &str,
        os: &Path,
        rel: &str,
        depth: usize,
        start: u64,
        report: bool,
        each: &mut dyn FnMut(&str, u64, super::Entry),
    ) -> Result<()> {
        use crate::format::finding::{Code, Finding};
        let io = |p: &Path, e| crate::format::error::Error::io(p, e);
        let p = self.archive.join(os);
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            return Ok(());
        };
        let mut bad = |why: String, code: Code| {
            if report {
                self.f.push(Finding::at(code, rel, why));
            }
        };
        if m.file_type().is_symlink() {
            bad(
                "a symbolic link in the archive (never followed)".into(),
                Code::ArchiveSymlink,
            );
            return Ok(());
        }
        if depth < 3 && m.is_dir() {
            for ent in std::fs::read_dir(&p).map_err(|e| io(&p, e))? {
                let ent = ent.map_err(|e| io(&p, e))?;
                let name = ent.file_name();
                let child = format!("{rel}/{}", name.to_string_lossy());
                self.visit(dir, &os.join(&name), &child, depth + 1, start, report, each)?;
            }
            return Ok(());
        }
        let inv = Code::LogIndexInvalid;
        if m.is_file()
            && os
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(super::is_temp_name)
        {
            if report {
                self.f.push(
                    Finding::at(
                        Code::LogInterrupted,
                        rel,
                        "a temporary file of an interrupted write of an index object (not an index object; safe to remove)",
                    )
                    .warning(),
                );
            }
            return Ok(());
        }
        if depth != 3 {
            bad(
                "not an index object where one belongs (the index is <dir>/<h2>/<h4>/<h>)".into(),
                inv,
            );
            return Ok(());
        }
        if os.to_str() != Some(rel) {
            bad(
                "not an index object where one belongs (a name that is not UTF-8)".into(),
                inv,
            );
            return Ok(());
        }
        let bytes = match read_limited(&p, super::v3::MAX_INDEX_BYTES) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(()),
            Err(e) => {
                bad(format!("cannot be read: {e}"), inv);
                return Ok(());
            }
        };
        self.found(dir, rel, &bytes, start, report, each);
        Ok(())
    }

    /// An object found at `rel` under `dir` at the depth of an index object, with `bytes`:
    /// one the tail gives is skipped; else it must parse, be at the path its own line gives,
    /// and claim an entry below `start`; then it goes to `each` (if the log could be read as
    /// far as its entry). With `report`, each way it is wrong is a finding.
    fn found(
        &mut self,
        dir: &str,
        rel: &str,
        bytes: &[u8],
        start: u64,
        report: bool,
        each: &mut dyn FnMut(&str, u64, super::Entry),
    ) {
        use crate::format::finding::{Code, Finding};
        let inv = Code::LogIndexInvalid;
        let k = object_key(&self.keyed, rel, bytes);
        if self.tail_full.contains(&k) {
            return;
        }
        let e = match super::v3::parse_index(bytes) {
            Ok(e) => e,
            Err(why) => {
                if report {
                    self.f
                        .push(Finding::at(inv, rel, format!("not an index object: {why}")));
                }
                return;
            }
        };
        // Past the entries read, in a store: logged since the log was read?
        let since = e.index >= self.read.max(start) && self.logged_since(e.index);
        let mut bad = |why: String, code: Code| {
            if report {
                self.f.push(Finding::at(code, rel, why));
            }
        };
        let want = if dir == super::v3::NAME_INDEX_DIR {
            Some(super::v3::name_index_path(&e.name))
        } else {
            super::v3::content_index_path(&e.content_sha256)
        };
        if want.as_deref() != Some(rel) {
            bad(
                format!(
                    "holds entry {} ({}), whose index object is elsewhere: planted or moved",
                    e.index, e.name
                ),
                inv,
            );
        } else if since {
            // An add since the log was read (in a store, read in place after it): checked
            // by the next audit.
        } else if e.index >= start {
            bad(format!("claims entry {}, which the log does not hold below its start ({start}) nor in its tail", e.index), inv);
        } else if e.index < self.read {
            each(rel, k, e);
        }
        // (Else the log could not be read as far as its entry: not checked, not counted.)
    }

    /// Some well-formed index objects claim entries the log holds otherwise: name them (at
    /// most [`super::MAX_REPORTED`]) by reading the entries they claim from the entry bundles
    /// (only on damage).
    fn name_planted(&mut self, start: u64) -> Result<()> {
        use crate::format::finding::{Code, Finding};
        let mut tiles = Tiles::new(DiskTiles::new(self.archive), start);
        let mut last: Option<(u64, Vec<Vec<u8>>)> = None;
        let mut planted: Vec<(String, super::Entry)> = Vec::new();
        self.each_object(start, false, &mut |rel, _, e| {
            if planted.len() >= super::MAX_REPORTED {
                return;
            }
            let b = e.index / TILE_WIDTH;
            if last.as_ref().is_none_or(|(lb, _)| *lb != b) {
                last = Some((b, tiles.entries(b, MAX_ENTRY_LINE).unwrap_or_default()));
            }
            let real = last
                .as_ref()
                .and_then(|(_, v)| v.get((e.index % TILE_WIDTH) as usize));
            if real.map(Vec::as_slice) != Some(e.line().as_bytes()) {
                planted.push((rel.to_string(), e));
            }
        })?;
        if planted.is_empty() {
            self.f.push(Finding::at(
                Code::LogIndexInvalid,
                "log/index",
                "index objects found do not match the log's entries (planted or altered)",
            ));
        }
        for (rel, e) in planted {
            self.f.push(Finding::at(
                Code::LogIndexInvalid,
                &rel,
                format!(
                    "claims entry {} ({}), which the log holds otherwise: planted",
                    e.index, e.name
                ),
            ));
        }
        Ok(())
    }
}
