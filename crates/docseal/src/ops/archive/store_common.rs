//! The steps an `archive add` on a [`Store`] takes on both layouts (`store_add`: archive log
//! v2, sequenced on `log/entries`; `store_seq`: v3, on `log/sequence` and the index): the
//! bundles given checked, the head read and checked against `log/checkpoints/`, pending
//! copies, bundles moved, the checkpoint made and published, retries and test hooks.

use super::tiles::{archive_verifier, checkpoint_note, tile_error, CHECKPOINT_FILE};
use super::{
    check_name, invalid, name_key, Checkpoint, Entry, BUNDLES_DIR, CHECKPOINTS_DIR,
    MAX_CHECKPOINT_BYTES, MAX_SIGNATURE_BYTES, ORIGIN_PREFIX, PENDING_DIR,
};
use crate::format::error::{Error, Result};
use crate::format::merkle::Hash;
use crate::format::minisign::{KeyId, SecretKey};
use crate::format::note::Note;
use crate::format::store::{self, Backoff, PutIfMatch, PutNew, Store, StoreError, Version};
use crate::format::tlog::{self, Tiles};
use crate::format::zip::Limits;
use crate::ops::verify::{self, Options};
use crate::profile::metadata::{format_sealed, hex};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::Seek;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Test hook (never set it in production): `DOCSEAL_TEST_S3_ADD_PAUSE=<FILE>` makes an add on a
/// store, after its first read of `log/entries`, create `<FILE>.waiting` and wait until
/// `<FILE>` exists (at most two minutes), so that a test can make another add win the race.
/// The crash steps of [`super::CRASH_HOOK`] on a store: `store-pending` (bundles uploaded to
/// `log/pending/`), `store-appended` (after `log/entries` was replaced; on a v3 archive, after
/// `log/sequence` was), `store-tiled` (tiles written), `store-indexed` (v3: the index objects
/// written), `store-published` (after `log/checkpoint` was replaced, before
/// `log/checkpoints/<N>` and its signature).
pub const PAUSE_HOOK: &str = "DOCSEAL_TEST_S3_ADD_PAUSE";
/// Test hook (never set it in production): where [`PAUSE_HOOK`] pauses: `read` (the default:
/// after the first read of `log/entries`, or of `log/sequence` on a v3 archive),
/// `pending-exists` (after finding a pending copy of a given name already there, before
/// reading it back) or, on a v3 archive, `sequenced` (right after `log/sequence` was replaced
/// with this add's entries, before completing them).
pub const PAUSE_AT_HOOK: &str = "DOCSEAL_TEST_S3_ADD_PAUSE_AT";

/// What [`super::store_add::add_to_store`] did.
#[derive(Debug, Clone)]
pub struct StoreAdded {
    /// The entries this add appended.
    pub entries: Vec<Entry>,
    /// Bundles given that were already in the archive exactly (same name, same file): their
    /// entries. Not an error: a retried add completes.
    pub already: Vec<Entry>,
    /// The checkpoint that covers them (written by this add, or by another writer that got
    /// there first).
    pub checkpoint: Checkpoint,
    /// Whether this add published that checkpoint.
    pub published: bool,
    /// The key this add signs with.
    pub key_id: KeyId,
    /// What other (or interrupted) writers had left that this add completed.
    pub recovered: Vec<String>,
    /// Conditional writes lost to another writer and retried.
    pub conflicts: u64,
    /// The archive's layout: `"v2"` (sequenced on `log/entries`, an archive made before v3)
    /// or `"v3"` (sequenced on `log/sequence` and the index).
    pub layout: &'static str,
}

/// One bundle given, checked (its bytes are read again when uploaded, one bundle at a time,
/// and must have the digest checked).
pub(super) struct Given {
    pub(super) path: PathBuf,
    pub(super) name: String,
    max: u64,
    /// Its entry, but for the index.
    pub(super) entry: Entry,
}

/// The head: `log/checkpoint`, checked.
pub(super) struct Head {
    pub(super) cp: Option<Checkpoint>,
    pub(super) version: Option<Version>,
}

/// Conditional writes and retries within the time allowed (`--wait`).
pub(super) struct Pace {
    pub(super) start: Instant,
    pub(super) wait: Duration,
    pub(super) backoff: Backoff,
    pub(super) conflicts: u64,
}

impl Pace {
    /// After a lost race: wait (capped exponential backoff with jitter) or give up.
    pub(super) fn conflict(&mut self, what: &str, left: &str) -> Result<()> {
        self.conflicts += 1;
        let n = u32::try_from(self.conflicts).unwrap_or(u32::MAX);
        let d = self.backoff.delay(n);
        if self.start.elapsed() + d > self.wait {
            return Err(invalid(
                what,
                format!(
                    "other writers kept winning the race for {} s ({} conflicts): {left}",
                    self.wait.as_secs(),
                    self.conflicts
                ),
            ));
        }
        std::thread::sleep(d);
        Ok(())
    }

    /// A store operation, retried on transient failures.
    pub(super) fn io<T>(&self, op: impl FnMut() -> store::Result<T>) -> Result<T> {
        store::retry(&self.backoff, op).map_err(store_error)
    }
}

/// A store failure as the library's error: unreachable storage is I/O (exit 4), anything else
/// invalid input (exit 2).
pub(super) fn store_error(e: StoreError) -> Error {
    match e {
        StoreError::Invalid { what, problem } => Error::invalid(what, problem),
        StoreError::TooLarge { what, size, max } => {
            Error::invalid(what, format!("{size} bytes, more than the {max} read"))
        }
        StoreError::Conflict { what } => {
            Error::invalid(what, "changed by another writer meanwhile; try again")
        }
        StoreError::NotFound { what } => {
            Error::io(what, std::io::Error::from(std::io::ErrorKind::NotFound))
        }
        StoreError::Unavailable { what, detail, .. } => Error::io(
            what,
            std::io::Error::other(format!("storage unavailable: {detail}")),
        ),
        StoreError::Denied { what, detail } => Error::io(
            what,
            std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("access denied: {detail}"),
            ),
        ),
    }
}

/// Reads tiles from the store, each read retried on transient failures; the last store error
/// is kept, so that storage down is reported as such (not as damaged tiles).
pub(super) struct RetryTiles<'a> {
    s: &'a dyn Store,
    backoff: Backoff,
    failed: Option<StoreError>,
}

impl tlog::TileRead for RetryTiles<'_> {
    fn read(&mut self, path: &str, max_len: usize) -> std::result::Result<Option<Vec<u8>>, String> {
        let key = format!("log/{path}");
        match store::retry(&self.backoff, || self.s.get(&key, max_len as u64)) {
            Ok(o) => Ok(o.map(|o| o.bytes)),
            Err(e) => {
                let text = e.to_string();
                self.failed = Some(e);
                Err(text)
            }
        }
    }
}

/// Run `op` on the tiles of the tree of `size` entries in `s`; a failure of the store is its
/// error, anything else the tiles' (damage).
pub(super) fn with_tiles<T>(
    s: &dyn Store,
    size: u64,
    op: impl FnOnce(&mut Tiles<RetryTiles<'_>>) -> std::result::Result<T, tlog::TileError>,
) -> Result<T> {
    let mut t = Tiles::new(
        RetryTiles {
            s,
            backoff: Backoff::default(),
            failed: None,
        },
        size,
    );
    match op(&mut t) {
        Ok(v) => Ok(v),
        Err(e) => match t.into_inner().failed {
            Some(se) if !matches!(se, StoreError::TooLarge { .. } | StoreError::Invalid { .. }) => {
                Err(store_error(se))
            }
            _ => Err(invalid(
                format!("{}/log/tile", s.root()),
                format!(
                    "{}; refusing to extend them (an audit of the archive gives the details)",
                    tile_error(e)
                ),
            )),
        },
    }
}

/// The test pause ([`PAUSE_HOOK`]) at `step` ([`PAUSE_AT_HOOK`]).
pub(super) fn pause_point(step: &str) {
    let Some(p) = std::env::var_os(PAUSE_HOOK) else {
        return;
    };
    if std::env::var(PAUSE_AT_HOOK).unwrap_or_else(|_| "read".into()) != step {
        return;
    }
    let p = PathBuf::from(p);
    let mut w = p.clone().into_os_string();
    w.push(".waiting");
    let _ = std::fs::write(&w, b"");
    let start = Instant::now();
    while !p.exists() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Check one bundle file as the local add does (name rules, every check but trust), read whole
/// (bounded by the limits).
fn check_given(path: &Path, limits: &Limits) -> Result<Given> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| invalid(path.display(), "file name is not valid UTF-8"))?
        .to_string();
    check_name(&name).map_err(|why| invalid(path.display(), why))?;
    let (f, meta) =
        crate::format::input::open(path, crate::format::input::Open::regular("bundle file"))?;
    let max = verify::max_bundle_size(limits);
    if meta.len() > max {
        return Err(invalid(path.display(), "larger than the limits allow"));
    }
    let mut f = f;
    let file_sha256 = super::sha256_reader(&mut f, path)?;
    f.rewind().map_err(|e| Error::io(path, e))?;
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let report =
        verify::verify_reader(&path.display().to_string(), &mut f, meta.len(), None, &opts);
    if !report.ok {
        let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Refused {
            path: path.to_path_buf(),
            summary: format!(
                "{} (only intact bundles are archived; its findings say why)",
                codes.join(", ")
            ),
        });
    }
    let (Some(id), Some(content)) = (report.id.clone(), report.content_sha256.clone()) else {
        return Err(Error::Refused {
            path: path.to_path_buf(),
            summary: "no identity or content digest".into(),
        });
    };
    let entry = Entry {
        index: 0,
        content_sha256: content,
        file_sha256,
        id,
        supersedes: report
            .metadata
            .as_ref()
            .and_then(|m| m.supersedes.as_ref())
            .map(|s| s.sha256.clone()),
        name: name.clone(),
    };
    Ok(Given {
        path: path.to_path_buf(),
        name,
        max,
        entry,
    })
}

impl Given {
    /// The file's bytes, which must still be the file checked.
    pub(super) fn read(&self) -> Result<Vec<u8>> {
        let p = &self.path;
        let (f, _) =
            crate::format::input::open(p, crate::format::input::Open::regular("bundle file"))?;
        let bytes = crate::format::input::read_at_most(f, self.max).map_err(|e| Error::io(p, e))?;
        if hex(&Sha256::digest(&bytes)) != self.entry.file_sha256 {
            return Err(invalid(p.display(), "changed while it was being added"));
        }
        Ok(bytes)
    }
}

/// The same entry but for the index: name, file, content, id and supersedes link.
pub(super) fn same_entry(a: &Entry, b: &Entry) -> bool {
    a.name == b.name
        && a.file_sha256 == b.file_sha256
        && a.content_sha256 == b.content_sha256
        && a.id == b.id
        && a.supersedes == b.supersedes
}

/// Check another writer's bundle against its entry before this add signs it, as the local add
/// checks the entries after its latest checkpoint (`check_entry_bundle`): the very file
/// logged, a bundle that passes every check but trust, with the entry's content, id and
/// supersedes link.
fn check_entry_bytes(
    label: &str,
    bytes: &[u8],
    e: &Entry,
    limits: &Limits,
) -> std::result::Result<(), String> {
    if hex(&Sha256::digest(bytes)) != e.file_sha256 {
        return Err("its bundle is not the file logged".into());
    }
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let mut r = std::io::Cursor::new(bytes);
    let report = verify::verify_reader(label, &mut r, bytes.len() as u64, None, &opts);
    if !report.ok {
        let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(format!("its bundle fails: {}", codes.join(", ")));
    }
    if report.content_sha256.as_deref() != Some(&e.content_sha256)
        || report.id.as_deref() != Some(&e.id)
    {
        return Err("its bundle's content or id is not the one logged".into());
    }
    if let Some(why) = super::add::link_differs(&report, e) {
        return Err(why);
    }
    Ok(())
}

/// Read and check the head: a checkpoint note validly signed by `key`.
pub(super) fn read_head(s: &dyn Store, pace: &Pace, key: &SecretKey) -> Result<Head> {
    let what = format!("{}/{CHECKPOINT_FILE}", s.root());
    let Some(o) = pace.io(|| s.get(CHECKPOINT_FILE, super::tiles::MAX_NOTE_FILE))? else {
        return Ok(Head {
            cp: None,
            version: None,
        });
    };
    let bad = |why: String| {
        invalid(
            &what,
            format!("{why}; refusing to extend it (an audit of the archive gives the details)"),
        )
    };
    let note = Note::parse(&o.bytes).map_err(|e| bad(e.to_string()))?;
    let cp = Checkpoint::parse(note.text.as_bytes()).map_err(bad)?;
    let vk = archive_verifier(&cp.origin, &key.public_key())
        .ok_or_else(|| bad("its origin is not a note key name".into()))?;
    let signed = note
        .signatures
        .iter()
        .any(|l| vk.matches(l) && vk.verify(&note.text, l).is_ok());
    if !signed {
        return Err(bad(format!(
            "has no valid note signature by key {} (the key given; adding on a store with another archive key than the head's is not supported)",
            key.key_id()
        )));
    }
    Ok(Head {
        cp: Some(cp),
        version: Some(o.version),
    })
}

/// v2: the largest size `N` of the checkpoint files `<N>` and `<N>.minisig` listed under
/// `log/checkpoints/`, from a full listing of at most `most` keys (a listing past that is a
/// lying server's or junk, never read to its end); with `first`, only whether there is any
/// (`Some(0)`: one key listed).
fn list_checkpoint_files(
    s: &dyn Store,
    pace: &Pace,
    first: bool,
    most: u64,
) -> Result<Option<u64>> {
    let dir = format!("{CHECKPOINTS_DIR}/");
    let mut largest: Option<u64> = None;
    let mut after: Option<String> = None;
    let mut listed = 0u64;
    loop {
        if listed > most {
            return Err(invalid(
                format!("{}/{dir}", s.root()),
                format!("lists more than {most} objects, more than the checkpoint files of this log (two a checkpoint, at most one checkpoint an entry); refusing to extend it (an audit of the archive gives the details)"),
            ));
        }
        let max = if first { 1 } else { store::MAX_PAGE };
        let page = match store::retry(&pace.backoff, || s.list(&dir, after.as_deref(), max)) {
            Ok(p) => p,
            // Nothing under the prefix (a new archive).
            Err(StoreError::NotFound { .. }) => return Ok(largest),
            Err(e) => return Err(store_error(e)),
        };
        listed += page.items.len() as u64;
        for item in &page.items {
            if first {
                return Ok(Some(0));
            }
            if let Some(n) = checkpoint_size(&item.key[dir.len()..]) {
                largest = Some(largest.map_or(n, |l| l.max(n)));
            }
        }
        match page.items.last() {
            Some(last) if page.more => after = Some(last.key.clone()),
            _ => return Ok(largest),
        }
    }
}

/// The size `N` a checkpoint file's name `<N>` or `<N>.minisig` gives (decimal, no leading
/// zero); `None` for any other name.
fn checkpoint_size(name: &str) -> Option<u64> {
    super::entry::parse_decimal(name.strip_suffix(".minisig").unwrap_or(name))
}

/// Most entries one checkpoint after another adds in a v3 log: one tail, one add's entries
/// (docs/FORMAT.md, C.2). The successor of a v3 checkpoint of size `h` has a size in
/// `h + 1 ..= h + WINDOW`.
const WINDOW: u64 = super::v3::MAX_SEQUENCE_ENTRIES as u64;

/// The widest block of [`window_blocks`]: `10^MAX_LEVEL` numbers. A block's prefix also
/// lists the shorter numbers starting with it (at most `1 + 10 + ... + 10^(MAX_LEVEL - 1)` =
/// 1,111, two keys each: three pages), and a wider block would list ten times more.
const MAX_LEVEL: u32 = 4;

/// Pages one block's listing may take (three at most for a log's checkpoint files, see
/// [`MAX_LEVEL`]): past that, junk or a lying server, refused.
const MAX_BLOCK_PAGES: usize = 4;

/// One LIST of [`window_blocks`]: the numbers of one length whose decimal form starts with
/// `prefix` followed by `level` digits, from `start` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Block {
    /// The decimal prefix (at least 1: no leading zero).
    pub(super) prefix: u64,
    /// How many digits follow it.
    pub(super) level: u32,
    /// The first number of the block that is in the window: the block's first
    /// (`prefix * 10^level`), or, for the block holding the window's start `lo`, `lo` (the
    /// block is then listed after the key of `lo - 1`: the numbers of its length before `lo`
    /// sort before that key).
    pub(super) start: u64,
}

impl Block {
    /// The block's first number.
    pub(super) fn first(&self) -> u64 {
        self.prefix.saturating_mul(10u64.pow(self.level))
    }

    /// The block's last number.
    #[cfg(test)]
    fn end(&self) -> u64 {
        self.first().saturating_add(10u64.pow(self.level) - 1)
    }
}

/// The decimal prefix blocks whose numbers cover `lo..=hi` (`1 <= lo`), in increasing order,
/// disjoint: the numbers of each length apart (`10^(L-1) ..= 10^L - 1`), each cut into blocks
/// of `10^level` numbers, `level` = min([`MAX_LEVEL`], L - 1), so that all the numbers of a
/// block have one length and its prefix lists few shorter ones. The first block may start
/// inside (at `lo`); the last may end past `hi` (a number there is larger too).
pub(super) fn window_blocks(lo: u64, hi: u64) -> Vec<Block> {
    let mut out = Vec::new();
    let mut a = lo.max(1);
    while a <= hi {
        let len = a.ilog10() + 1;
        let last_of_len = 10u64.checked_pow(len).map_or(u64::MAX, |p| p - 1);
        let end = last_of_len.min(hi);
        let level = (len - 1).min(MAX_LEVEL);
        let unit = 10u64.pow(level);
        for prefix in a / unit..=end / unit {
            out.push(Block {
                prefix,
                level,
                start: (prefix * unit).max(a),
            });
        }
        if end >= hi {
            break;
        }
        a = end + 1;
    }
    out
}

/// v3: a checkpoint file larger than the head's size `h` whose size is at most
/// `h + `[`WINDOW`] (where the successor of a rolled-back head lies; one beyond may be found
/// too). A bounded number of LISTs whatever the number of checkpoints: one page of the whole
/// of `log/checkpoints/` (a small archive's whole listing), else one listing of at most
/// [`MAX_BLOCK_PAGES`] pages for each of the few prefix blocks of the window
/// ([`window_blocks`]), stopping at the first name larger than `h`.
fn larger_in_window(s: &dyn Store, pace: &Pace, h: u64) -> Result<Option<u64>> {
    let dir = format!("{CHECKPOINTS_DIR}/");
    let larger = |page: &store::Page| {
        page.items
            .iter()
            .filter_map(|i| i.key.strip_prefix(&dir).and_then(checkpoint_size))
            .find(|&n| n > h)
    };
    let list = |prefix: &str, after: Option<&str>| match store::retry(&pace.backoff, || {
        s.list(prefix, after, store::MAX_PAGE)
    }) {
        Ok(p) => Ok(Some(p)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_error(e)),
    };
    let Some(page) = list(&dir, None)? else {
        return Ok(None);
    };
    if let Some(n) = larger(&page) {
        return Ok(Some(n));
    }
    if !page.more {
        return Ok(None);
    }
    let head_key = format!("{dir}{h}");
    for b in window_blocks(h.saturating_add(1), h.saturating_add(WINDOW)) {
        let prefix = format!("{dir}{}", b.prefix);
        // The block holding the head's size: its numbers up to the head's sort before the
        // head's key (one length), skipped.
        let mut after = (b.start > b.first()).then(|| head_key.clone());
        for pages in 0.. {
            if pages == MAX_BLOCK_PAGES {
                return Err(invalid(
                    format!("{}/{prefix}", s.root()),
                    format!("lists more than {} objects, more than a log's checkpoint files under one prefix; refusing to extend it (an audit of the archive gives the details)", MAX_BLOCK_PAGES * store::MAX_PAGE),
                ));
            }
            let Some(page) = list(&prefix, after.as_deref())? else {
                break;
            };
            if let Some(n) = larger(&page) {
                return Ok(Some(n));
            }
            match page.items.last() {
                Some(last) if page.more => after = Some(last.key.clone()),
                _ => break,
            }
        }
    }
    Ok(None)
}

/// Where [`head_is_latest`] looks for a checkpoint file larger than the head.
#[derive(Debug, Clone, Copy)]
pub(super) enum Look {
    /// v2: the whole listing of `log/checkpoints/`, bounded by the log of this many entries
    /// (two keys a checkpoint, at most one checkpoint an entry, and a page of slack).
    Listing { entries: u64 },
    /// v3: the window where the head's successor lies ([`larger_in_window`]).
    Window,
}

/// The head must be the latest checkpoint: no checkpoint file larger than it (or any, with no
/// head: the first key listed). Else the head was removed or replaced by an older one (a
/// rollback: signing after it would fork the log under this key), unless another writer
/// published a newer head meanwhile (`Ok(false)`: read it again). Where a larger one is looked
/// for: `look`.
pub(super) fn head_is_latest(
    s: &dyn Store,
    pace: &Pace,
    key: &SecretKey,
    head: &Head,
    look: Look,
) -> Result<bool> {
    let h = head.cp.as_ref().map(|c| c.size);
    let larger = match (h, look) {
        (None, _) => list_checkpoint_files(s, pace, true, 1)?,
        (Some(h), Look::Listing { entries }) => {
            let most = entries
                .max(h)
                .saturating_mul(2)
                .saturating_add(store::MAX_PAGE as u64);
            list_checkpoint_files(s, pace, false, most)?.filter(|&m| m > h)
        }
        (Some(h), Look::Window) => larger_in_window(s, pace, h)?,
    };
    let Some(m) = larger else {
        return Ok(true);
    };
    if read_head(s, pace, key)?.version != head.version {
        return Ok(false);
    }
    Err(invalid(
        format!("{}/{CHECKPOINT_FILE}", s.root()),
        match h {
            None => format!("is missing but {CHECKPOINTS_DIR}/ has checkpoints (removed, or a v1 archive, to migrate to v2 first)"),
            Some(h) => format!("signs {h} entries but {CHECKPOINTS_DIR}/{m} is larger (replaced by an older checkpoint, or a file put there by hand)"),
        } + "; refusing to extend it (an audit of the archive gives the details)",
    ))
}

/// Put `bytes` at `key` unless it holds them already; other bytes there are damage.
pub(super) fn put_same(
    s: &dyn Store,
    pace: &Pace,
    key: &str,
    bytes: &[u8],
    why: &str,
) -> Result<()> {
    if pace.io(|| store::put_new_or_same(s, key, bytes))? {
        return Ok(());
    }
    Err(invalid(
        format!("{}/{key}", s.root()),
        format!("exists with other bytes than {why}: damaged or tampered with; never overwritten (an audit of the archive gives the details)"),
    ))
}

/// The log was not rolled back under its head's `h` entries: the entry bundle holding entry
/// `h`, where there full or partial wider than the head's (but for what this completion
/// writes itself), holds `lines` (the entries from `h` on, as far as both go). Else the head
/// and the log (`log/sequence`, `log/entries`) were rolled back and the later checkpoint files
/// removed: signing after them would fork the log. One HEAD and one LIST (at most 255
/// partial widths), and a read of each wider entry bundle found.
pub(super) fn check_not_larger(
    s: &dyn Store,
    pace: &Pace,
    h: u64,
    lines: &[String],
    files: &tlog::TileFiles,
) -> Result<()> {
    let w = tlog::TILE_WIDTH;
    let n = h / w;
    let ours = |p: &str| files.iter().any(|(f, _)| f == p);
    let full = format!("tile/entries/{}", tlog::index_path(n));
    // The sizes of the trees whose entry bundle holding entry h is there, wider than the
    // head's (and not written by this completion).
    let mut wider = Vec::new();
    if !ours(&full) && pace.io(|| s.size(&format!("log/{full}")))?.is_some() {
        wider.push((n + 1) * w);
    }
    let dir = format!("log/{full}.p/");
    let items = match store::retry(&pace.backoff, || s.list(&dir, None, store::MAX_PAGE)) {
        Ok(p) => p.items,
        Err(StoreError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(store_error(e)),
    };
    for item in items {
        let x = item
            .key
            .strip_prefix(&dir)
            .and_then(super::entry::parse_decimal);
        let rel = item.key.strip_prefix("log/").unwrap_or(&item.key);
        if let Some(x) = x.filter(|&x| x > h % w && x < w && !ours(rel)) {
            wider.push(n * w + x);
        }
    }
    for size in wider {
        // Another writer completing a longer run of the same log meanwhile (v2) wrote the
        // same lines; a log rolled back under a longer one has other lines there.
        let got = with_tiles(s, size, |t| t.entries(n, super::MAX_ENTRY_LINE))?;
        let differs = got
            .iter()
            .enumerate()
            .skip((h % w) as usize)
            .zip(lines)
            .any(|((_, a), b)| a.as_slice() != b.as_bytes());
        if differs {
            let id = tlog::TileId::holding(None, n * w, size).map(|t| t.path());
            return Err(invalid(
                format!("{}/log/{}", s.root(), id.unwrap_or(full)),
                format!("holds other entries after entry {h} (the latest checkpoint's size) than the log: the head and the log were rolled back, or the tiles tampered with; refusing to extend it (an audit of the archive gives the details)"),
            ));
        }
    }
    Ok(())
}

/// Make the checkpoint files of `cp` (a published head signed by `key`): both deterministic.
pub(super) fn complete_checkpoint_files(
    s: &dyn Store,
    pace: &Pace,
    cp: &Checkpoint,
    key: &SecretKey,
) -> Result<bool> {
    let sig_key = format!("{CHECKPOINTS_DIR}/{}.minisig", cp.size);
    let body_key = format!("{CHECKPOINTS_DIR}/{}", cp.size);
    let had = pace.io(|| s.size(&body_key))?.is_some() && pace.io(|| s.size(&sig_key))?.is_some();
    if had {
        return Ok(false);
    }
    let sig = cp.sign(key);
    if sig.len() as u64 > MAX_SIGNATURE_BYTES || cp.body().len() as u64 > MAX_CHECKPOINT_BYTES {
        return Err(invalid("checkpoint", "larger than a checkpoint may be"));
    }
    put_same(
        s,
        pace,
        &sig_key,
        sig.as_bytes(),
        "this checkpoint's signature",
    )?;
    super::add::crash_point("store-signed");
    put_same(s, pace, &body_key, cp.body().as_bytes(), "this checkpoint")?;
    Ok(true)
}

/// The checkpoint of `n` entries of root `root` after `head`: its origin, `previous` = the
/// head's size, the time given (or now) but never before the head's (a time given before it
/// is refused).
pub(super) fn next_checkpoint(
    head: Option<&Checkpoint>,
    n: u64,
    root: Hash,
    time: Option<DateTime<Utc>>,
    key: &SecretKey,
) -> Result<Checkpoint> {
    let t = time.unwrap_or_else(Utc::now);
    let t = DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t);
    let t = match head {
        Some(c) if t < c.time && time.is_some() => {
            return Err(invalid(
                "the checkpoint time given",
                format!("{} is before the archive's latest checkpoint ({}); checkpoint times never go backwards", format_sealed(t), format_sealed(c.time)),
            ))
        }
        Some(c) => t.max(c.time),
        None => t,
    };
    Ok(Checkpoint {
        origin: head.map_or_else(
            || format!("{ORIGIN_PREFIX}{}", key.key_id()),
            |c| c.origin.clone(),
        ),
        size: n,
        root,
        time: t,
        previous: head.map_or(0, |c| c.size),
    })
}

/// Replace the head `head` (read with its version) by the note of `cp` (`If-Match`; created
/// `If-None-Match` when there was none): whether this writer won.
pub(super) fn publish_head(
    s: &dyn Store,
    pace: &Pace,
    head: &Head,
    cp: &Checkpoint,
    key: &SecretKey,
) -> Result<bool> {
    let note = checkpoint_note(cp, key, &[])?;
    Ok(match &head.version {
        Some(v) => matches!(
            pace.io(|| s.put_if_match(CHECKPOINT_FILE, &note, v))?,
            PutIfMatch::Replaced(_)
        ),
        None => matches!(
            pace.io(|| s.put_new(CHECKPOINT_FILE, &note))?,
            PutNew::Created(_)
        ),
    })
}

/// Put the bundle of entry `e` (logged, not yet signed) in `bundles/`: one of `ours` (checked
/// in step 1) from its file, any other writer's from `log/pending/` after checking it as the
/// local add checks entries after its latest checkpoint; then its pending copy removed. A
/// bundle already moved is checked where it is.
pub(super) fn place_bundle(
    s: &dyn Store,
    pace: &Pace,
    e: &Entry,
    ours: &HashMap<&str, &Given>,
    limits: &Limits,
    recovered: &mut Vec<String>,
) -> Result<()> {
    let dest = format!("{BUNDLES_DIR}/{}", e.name);
    let pending = format!("{PENDING_DIR}/{}", e.name);
    // Ours was checked in step 1; any other entry's bundle is checked here, before
    // this add signs it.
    let mine = ours
        .get(e.name.as_str())
        .is_some_and(|g| same_entry(&g.entry, e));
    let bytes = match ours.get(e.name.as_str()) {
        Some(g) if mine => Some(g.read()?),
        _ => read_logged(s, pace, &pending, e, limits)?,
    };
    let refuse = |why: String| {
        invalid(
            format!("{}/{dest}", s.root()),
            format!("log entry {} ({}) is not covered by a checkpoint and {why}; refusing to sign it (an audit of the archive gives the details)", e.index, e.name),
        )
    };
    match bytes {
        Some(b) if hex(&Sha256::digest(&b)) == e.file_sha256 => {
            if !mine {
                check_entry_bytes(&format!("{}/{pending}", s.root()), &b, e, limits)
                    .map_err(refuse)?;
            }
            put_same(s, pace, &dest, &b, &format!("log entry {}", e.index))?;
            if !ours.contains_key(e.name.as_str()) {
                recovered.push(format!(
                    "moved {pending} into {BUNDLES_DIR} (entry {})",
                    e.index
                ));
            }
        }
        _ => {
            // Gone from pending (or not the file logged): bundles/ must hold it.
            match read_logged(s, pace, &dest, e, limits)? {
                Some(b) => {
                    check_entry_bytes(&format!("{}/{dest}", s.root()), &b, e, limits)
                        .map_err(refuse)?;
                }
                _ => {
                    return Err(refuse(format!(
                        "its bundle is neither in {PENDING_DIR} nor in {BUNDLES_DIR} as logged"
                    )))
                }
            }
        }
    }
    pace.io(|| s.delete(&pending))
}

/// Objects up to this size are read whole at once by [`read_logged`].
const READ_WHOLE: u64 = 1 << 20;

/// The object `key` whole if it is the file entry `e` logs (its SHA-256); `None` when it is
/// absent, larger than any bundle the limits allow, or another file. One larger than
/// [`READ_WHOLE`] is hashed by ranges first (bounded memory) and read whole only if it is the
/// logged file: an object a bucket writer put in `log/pending/` or `bundles/` is never held
/// in memory, whatever its size.
fn read_logged(
    s: &dyn Store,
    pace: &Pace,
    key: &str,
    e: &Entry,
    limits: &Limits,
) -> Result<Option<Vec<u8>>> {
    let max = verify::max_bundle_size(limits);
    let logged = |b: &[u8]| hex(&Sha256::digest(b)) == e.file_sha256;
    match store::retry(&pace.backoff, || s.get(key, READ_WHOLE.min(max))) {
        Ok(o) => return Ok(o.map(|o| o.bytes).filter(|b| logged(b))),
        Err(StoreError::TooLarge { .. }) => {}
        Err(e) => return Err(store_error(e)),
    }
    let Some(size) = pace.io(|| s.size(key))?.filter(|n| *n <= max) else {
        return Ok(None);
    };
    let mut r = store::RangeReader::new(s, key, size);
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match std::io::Read::read(&mut r, &mut buf) {
            Ok(0) => break,
            Ok(n) => sha.update(&buf[..n]),
            Err(x) if x.kind() == std::io::ErrorKind::Interrupted => {}
            Err(x) => {
                let gone = x
                    .get_ref()
                    .and_then(|x| x.downcast_ref::<StoreError>())
                    .is_some_and(|x| matches!(x, StoreError::NotFound { .. }));
                if gone {
                    return Ok(None);
                }
                return Err(Error::io(format!("{}/{key}", s.root()), x));
            }
        }
    }
    if hex(&sha.finalize()) != e.file_sha256 {
        return Ok(None);
    }
    match store::retry(&pace.backoff, || s.get(key, size)) {
        Ok(o) => Ok(o.map(|o| o.bytes).filter(|b| logged(b))),
        // Replaced meanwhile by a larger object: not the logged file.
        Err(StoreError::TooLarge { .. }) => Ok(None),
        Err(e) => Err(store_error(e)),
    }
}

/// Upload one new bundle to `log/pending/NAME` (create-only); a file in `bundles/` under its
/// name that no entry logs is refused first. `Ok(false)`: a pending copy of the same file was
/// there and is gone now (another writer logged it: read the log again).
pub(super) fn upload_pending(
    s: &dyn Store,
    pace: &Pace,
    g: &Given,
    created: &mut HashSet<String>,
) -> Result<bool> {
    let key = format!("{PENDING_DIR}/{}", g.name);
    let bytes = g.read()?;
    // A file in bundles/ under this name that no entry logs: refused before
    // anything is logged (else this entry could never be completed and signed).
    let dest = format!("{BUNDLES_DIR}/{}", g.name);
    let squatted = pace.io(|| s.size(&dest))?.is_some()
        && match store::retry(&pace.backoff, || s.get(&dest, bytes.len() as u64)) {
            Ok(o) => o.is_some_and(|o| o.bytes != bytes),
            Err(StoreError::TooLarge { .. }) => true,
            Err(e) => return Err(store_error(e)),
        };
    if squatted {
        return Err(invalid(
            g.path.display(),
            format!("{}/{dest} exists in the archive but not in its log (an audit of the archive reports it)", s.root()),
        ));
    }
    match pace.io(|| s.put_new(&key, &bytes))? {
        PutNew::Created(_) => {
            created.insert(g.name.clone());
        }
        PutNew::AlreadyExists => {
            pause_point("pending-exists");
            let o = pace.io(|| s.get(&key, bytes.len() as u64));
            if matches!(o, Ok(None)) {
                // There a moment ago, gone now: another writer adding the same
                // name logged it and moved it into bundles/ (or gave up): read
                // the log again.
                return Ok(false);
            }
            if !matches!(o, Ok(Some(ref o)) if o.bytes == bytes) {
                return Err(invalid(
                    g.path.display(),
                    format!("{}/{key} holds another file: this name is being added by another writer, or was left by an interrupted one (docs/STORAGE.md says how to clear it)", s.root()),
                ));
            }
        }
    }
    Ok(true)
}

/// Step 1 of an add: every bundle given checked ([`check_given`]), and against the others
/// given (a name, also in another case or Unicode form, or a content given twice is refused).
pub(super) fn check_bundles(bundles: &[PathBuf], limits: &Limits) -> Result<Vec<Given>> {
    if bundles.is_empty() {
        return Err(invalid("archive add", "no bundle given"));
    }
    let mut given: Vec<Given> = Vec::new();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut contents: HashMap<String, String> = HashMap::new();
    for b in bundles {
        let g = check_given(b, limits)?;
        if let Some(other) = names.insert(name_key(&g.name), b.display().to_string()) {
            return Err(invalid(
                b.display(),
                format!("the same name as {other} (or differing only in case) is given twice"),
            ));
        }
        if let Some(other) =
            contents.insert(g.entry.content_sha256.clone(), b.display().to_string())
        {
            return Err(invalid(
                b.display(),
                format!(
                    "its content (sha256 {}) is given twice (also as {other})",
                    g.entry.content_sha256
                ),
            ));
        }
        given.push(g);
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::store::{LocalStore, Object, Page};
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A store that counts the bytes of whole reads ([`Store::get`]) apart from ranges.
    #[derive(Debug)]
    struct Whole<'a>(&'a dyn Store, AtomicU64);

    impl Store for Whole<'_> {
        fn root(&self) -> String {
            "s3://bucket/archive".into()
        }
        fn get(&self, key: &str, max: u64) -> store::Result<Option<Object>> {
            let o = self.0.get(key, max)?;
            let n = o.as_ref().map_or(0, |o| o.bytes.len() as u64);
            self.1.fetch_add(n, Ordering::Relaxed);
            Ok(o)
        }
        fn get_range(&self, key: &str, offset: u64, len: u64) -> store::Result<Vec<u8>> {
            self.0.get_range(key, offset, len)
        }
        fn size(&self, key: &str) -> store::Result<Option<u64>> {
            self.0.size(key)
        }
        fn put_new(&self, key: &str, bytes: &[u8]) -> store::Result<PutNew> {
            self.0.put_new(key, bytes)
        }
        fn put_if_match(&self, k: &str, b: &[u8], v: &Version) -> store::Result<PutIfMatch> {
            self.0.put_if_match(k, b, v)
        }
        fn put(&self, key: &str, bytes: &[u8]) -> store::Result<Version> {
            self.0.put(key, bytes)
        }
        fn list(&self, p: &str, after: Option<&str>, max: usize) -> store::Result<Page> {
            self.0.list(p, after, max)
        }
        fn delete(&self, key: &str) -> store::Result<()> {
            self.0.delete(key)
        }
    }

    /// `archive add s3://` completing another writer's entry read its pending copy (or the
    /// copy in `bundles/`) whole into memory, up to the largest bundle the limits allow (64
    /// GiB by default), whatever object a bucket writer put there. Now one over 1 MiB is
    /// hashed by ranges first and read whole only when it is the file the entry logs.
    #[test]
    fn attack_hfetch_add_never_reads_a_hostile_pending_copy_whole() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalStore::new(dir.path());
        let logged = vec![b'L'; 3 << 20];
        local.put("log/pending/a.zip", &logged).unwrap();
        local
            .put("log/pending/b.zip", &vec![b'X'; 5 << 20])
            .unwrap();
        local
            .put("log/pending/c.zip", b"small, not logged")
            .unwrap();
        let entry = |name: &str| Entry {
            index: 0,
            content_sha256: "0".repeat(64),
            file_sha256: hex(&Sha256::digest(&logged)),
            id: "urn:docseal:x".into(),
            supersedes: None,
            name: name.into(),
        };
        let pace = Pace {
            start: Instant::now(),
            wait: Duration::from_secs(1),
            backoff: Backoff::default(),
            conflicts: 0,
        };
        let limits = Limits::default();
        let s = Whole(&local, AtomicU64::new(0));
        for (key, whole) in [
            ("log/pending/b.zip", false),
            ("log/pending/c.zip", false),
            ("log/pending/gone.zip", false),
            ("log/pending/a.zip", true),
        ] {
            let before = s.1.load(Ordering::Relaxed);
            let r = read_logged(&s, &pace, key, &entry("a.zip"), &limits).unwrap();
            assert_eq!(r.as_deref() == Some(&logged[..]), whole, "{key}");
            let read = s.1.load(Ordering::Relaxed) - before;
            if whole {
                assert_eq!(read, logged.len() as u64, "{key}");
            } else {
                assert!(read <= 1 << 20, "{key}: {read} bytes read whole");
            }
        }
        // Past the limits: not read at all, even by ranges.
        let tiny = Limits::new(10, 1000, 1000);
        let r = read_logged(&s, &pace, "log/pending/a.zip", &entry("a.zip"), &tiny).unwrap();
        assert!(r.is_none());
    }

    /// The window after the head of size `h`.
    fn window(h: u64) -> Vec<Block> {
        window_blocks(h + 1, h + WINDOW)
    }

    /// What the blocks promise, checked by numbers: in order, disjoint and contiguous from
    /// `lo` on, past `hi` by less than a block, each of one length, level at most
    /// [`MAX_LEVEL`], only the first starting inside.
    fn check_blocks(lo: u64, hi: u64, blocks: &[Block]) {
        let digits = |n: u64| n.to_string().len();
        assert!(!blocks.is_empty(), "{lo}..={hi}");
        assert_eq!(blocks[0].start, lo, "{lo}..={hi}");
        for (i, b) in blocks.iter().enumerate() {
            assert!(b.prefix >= 1 && b.level <= MAX_LEVEL, "{lo}: {b:?}");
            assert_eq!(
                digits(b.first()),
                digits(b.end()),
                "{lo}: {b:?} spans two lengths"
            );
            assert_eq!(digits(b.first()), digits(b.prefix) + b.level as usize);
            assert!(b.start >= b.first() && b.start <= b.end(), "{lo}: {b:?}");
            if i > 0 {
                assert_eq!(b.start, b.first(), "{lo}: {b:?} starts inside");
                assert_eq!(
                    b.start,
                    blocks[i - 1].end() + 1,
                    "{lo}: gap or overlap at {b:?}"
                );
            }
        }
        let last = blocks.last().unwrap();
        assert!(last.end() >= hi, "{lo}..={hi}: ends at {}", last.end());
        assert!(
            last.end() - hi < 10u64.pow(last.level),
            "{lo}..={hi}: ends at {}, past a block further",
            last.end()
        );
    }

    /// The blocks' listings, by the strings a store lists, against a brute force over every
    /// number around the window: a number is listed by exactly one block (its key starts with
    /// the block's prefix, has the block's length and, in the first block, sorts after the
    /// key of `lo - 1`) if and only if it is in the window or past it in the last block.
    fn brute_force(h: u64) {
        let (lo, hi) = (h + 1, h + WINDOW);
        let blocks = window(h);
        let end = blocks.last().unwrap().end();
        let head = h.to_string();
        for n in h.saturating_sub(2_000)..=end + 2_000 {
            let key = n.to_string();
            let listed: Vec<&Block> = blocks
                .iter()
                .filter(|b| {
                    let p = b.prefix.to_string();
                    key.starts_with(&p)
                        && key.len() == p.len() + b.level as usize
                        && (b.start == b.first() || key.as_str() > head.as_str())
                })
                .collect();
            let want = usize::from(n >= lo && n <= end);
            assert_eq!(listed.len(), want, "h {h}: {n} listed by {listed:?}");
            if n >= lo && n <= hi {
                assert_eq!(want, 1);
            }
        }
    }

    /// issue 17: the prefix blocks of the window after a v3 head, over many head sizes: the
    /// union is exactly the window (and at most one block past it), the blocks disjoint, of
    /// one length each, and few; at a power of ten (99,990: 99,991..99,999 then 100,000 on),
    /// a new archive (0) and around many others.
    #[test]
    fn issue17_window_blocks_cover_the_window_exactly() {
        let mut most = 0;
        let mut hs: Vec<u64> = (0..3_000).chain((0..400_000).step_by(997)).collect();
        for k in 1..19 {
            let p = 10u64.pow(k);
            for d in [0, 1, 2, 10, WINDOW - 1, WINDOW, WINDOW + 1] {
                hs.extend([p.saturating_sub(d), p + d]);
            }
        }
        hs.extend([99_990, u64::MAX - WINDOW - 1, 10u64.pow(19) - 5]);
        for &h in &hs {
            let blocks = window(h);
            check_blocks(h + 1, h + WINDOW, &blocks);
            most = most.max(blocks.len());
            if h >= 100_000 {
                assert!(blocks.len() <= 8, "h {h}: {} blocks", blocks.len());
            }
        }
        // A new archive's window (1..=65,536) holds the most: 9 blocks of each length below
        // five digits, 6 of five.
        assert_eq!(window(0).len(), 42);
        assert!(most <= 42, "{most} blocks");
        assert_eq!(
            window(99_990),
            [(9, 4, 99_991)]
                .into_iter()
                .chain((10..=16).map(|p| (p, 4, p * 10_000)))
                .map(|(prefix, level, start)| Block {
                    prefix,
                    level,
                    start
                })
                .collect::<Vec<_>>()
        );
        for h in [
            0, 5, 9, 99, 1_000, 34_463, 34_464, 99_990, 99_999, 123_456, 999_999,
        ] {
            brute_force(h);
        }
        // An interval of its own (any lo >= 1).
        for (lo, hi) in [
            (1, 1),
            (1, 9),
            (10, 10),
            (7, 12),
            (95, 1_005),
            (99_999, 100_000),
        ] {
            check_blocks(lo, hi, &window_blocks(lo, hi));
        }
    }

    /// An in-memory store of the keys given, listing as stores do (byte order, `after`,
    /// pages of `max`); LISTs counted, and the pages of each prefix.
    #[derive(Debug, Default)]
    struct Listing {
        keys: std::collections::BTreeSet<String>,
        lists: AtomicU64,
        most_pages: std::sync::Mutex<HashMap<String, u64>>,
    }

    impl Store for Listing {
        fn root(&self) -> String {
            "s3://bucket/archive".into()
        }
        fn get(&self, _: &str, _: u64) -> store::Result<Option<Object>> {
            Ok(None)
        }
        fn get_range(&self, _: &str, _: u64, _: u64) -> store::Result<Vec<u8>> {
            Ok(Vec::new())
        }
        fn size(&self, _: &str) -> store::Result<Option<u64>> {
            Ok(None)
        }
        fn put_new(&self, _: &str, _: &[u8]) -> store::Result<PutNew> {
            Ok(PutNew::AlreadyExists)
        }
        fn put_if_match(&self, _: &str, _: &[u8], _: &Version) -> store::Result<PutIfMatch> {
            Ok(PutIfMatch::Conflict)
        }
        fn put(&self, k: &str, _: &[u8]) -> store::Result<Version> {
            Err(StoreError::invalid(k, "read-only"))
        }
        fn list(&self, p: &str, after: Option<&str>, max: usize) -> store::Result<Page> {
            self.lists.fetch_add(1, Ordering::Relaxed);
            *self.most_pages.lock().unwrap().entry(p.into()).or_default() += 1;
            let from = after.unwrap_or(p);
            let mut items: Vec<store::Listed> = self
                .keys
                .range::<str, _>((std::ops::Bound::Excluded(from), std::ops::Bound::Unbounded))
                .take_while(|k| k.starts_with(p))
                .take(max + 1)
                .map(|k| store::Listed {
                    key: k.clone(),
                    size: 1,
                })
                .collect();
            let more = items.len() > max;
            items.truncate(max);
            Ok(Page {
                items,
                more,
                stray: Vec::new(),
            })
        }
        fn delete(&self, _: &str) -> store::Result<()> {
            Ok(())
        }
    }

    /// `log/checkpoints/` of a dense v3 log: both files of every size `1..=h`, and of `extra`.
    fn dense(h: u64, extra: &[u64]) -> Listing {
        let mut keys = std::collections::BTreeSet::new();
        for n in (1..=h).chain(extra.iter().copied()) {
            keys.insert(format!("{CHECKPOINTS_DIR}/{n}"));
            keys.insert(format!("{CHECKPOINTS_DIR}/{n}.minisig"));
        }
        Listing {
            keys,
            ..Listing::default()
        }
    }

    fn pace() -> Pace {
        Pace {
            start: Instant::now(),
            wait: Duration::from_secs(1),
            backoff: Backoff::default(),
            conflicts: 0,
        }
    }

    /// issue 17: the window check on a log with a checkpoint file for every size up to the
    /// head's (the most a log has): a larger checkpoint at the window's start, its middle, its
    /// end or across a power of ten is found; none is `None`; one just past the last block is
    /// not looked for on a log larger than a page (documented); and the LISTs are few (at most
    /// 3 pages a block, 30 in all) whatever the head's size.
    #[test]
    fn issue17_window_check_finds_the_successor_in_few_lists() {
        let p = pace();
        for h in [
            0, 7, 450, 600, 9_999, 34_464, 99_990, 99_999, 123_456, 234_567,
        ] {
            let mut lists = Vec::new();
            let w = window(h);
            let past = w.last().unwrap().end() + 1;
            // Past the window: found by the first page of a small log, or by a block of
            // another length whose prefix it has, else not looked for.
            let far = if h <= 450 {
                Some(past)
            } else if h >= 99_990 {
                None
            } else {
                larger_in_window(&dense(h, &[past]), &p, h).unwrap()
            };
            for (planted, found) in [
                (None, None),
                (Some(h + 1), Some(h + 1)),
                (Some(h + WINDOW), Some(h + WINDOW)),
                (Some(h + WINDOW / 2), Some(h + WINDOW / 2)),
                (Some(past), far),
            ] {
                let s = dense(h, planted.as_slice());
                let got = larger_in_window(&s, &p, h).unwrap();
                assert_eq!(got, found, "h {h}, planted {planted:?}");
                let n = s.lists.load(Ordering::Relaxed);
                let pages = s.most_pages.lock().unwrap().values().copied().max();
                assert!(
                    pages.unwrap_or(0) <= 3,
                    "h {h}: {pages:?} pages of one prefix"
                );
                assert!(n <= 30, "h {h}, planted {planted:?}: {n} LISTs");
                lists.push(n);
            }
            // Small logs: one page of the whole directory.
            if h <= 450 {
                assert_eq!(lists[0], 1, "h {h}");
            }
        }
        // Across a power of ten: 100,000 after 99,990.
        let s = dense(99_990, &[100_000]);
        assert_eq!(larger_in_window(&s, &p, 99_990).unwrap(), Some(100_000));
    }

    /// Junk under one prefix (names no checkpoint has, with no end) is refused after a few
    /// pages, naming the prefix; junk in small amounts is skipped.
    #[test]
    fn issue17_window_check_refuses_endless_junk_under_a_prefix() {
        let p = pace();
        let mut s = dense(50_000, &[]);
        for i in 0..5_000 {
            s.keys.insert(format!("{CHECKPOINTS_DIR}/5x{i:06}"));
        }
        let e = larger_in_window(&s, &p, 50_000).unwrap_err().to_string();
        assert!(
            e.contains("log/checkpoints/5: lists more than 4000 objects"),
            "{e}"
        );
        let mut s = dense(50_000, &[]);
        for i in 0..500 {
            s.keys.insert(format!("{CHECKPOINTS_DIR}/5x{i:06}"));
            s.keys.insert(format!("{CHECKPOINTS_DIR}/06{i}"));
        }
        assert_eq!(larger_in_window(&s, &p, 50_000).unwrap(), None);
    }
}
