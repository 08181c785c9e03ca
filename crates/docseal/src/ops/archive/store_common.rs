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

/// The checkpoint files listed under `log/checkpoints/`: the largest size `N` of the files
/// `<N>` and `<N>.minisig`, and how many sizes have one (a full listing: two keys a checkpoint,
/// at most [`super::MAX_CHECKPOINTS`] checkpoints, plus a page of slack); with `first`, only
/// whether there is any (`Some(0)`, one size). The keys come sorted, so the two files of one
/// size are next to each other (`12`, `12.minisig`, `120`): sizes are counted without keeping
/// them.
fn list_checkpoint_files(s: &dyn Store, pace: &Pace, first: bool) -> Result<(Option<u64>, usize)> {
    let dir = format!("{CHECKPOINTS_DIR}/");
    let mut largest: Option<u64> = None;
    let mut count = 0usize;
    let mut last: Option<u64> = None;
    let mut after: Option<String> = None;
    // Two files a checkpoint, and a page of slack for anything else there: a listing past
    // that is a lying server's or junk, never read to its end.
    let most = 2 * super::MAX_CHECKPOINTS as usize + store::MAX_PAGE;
    let mut listed = 0usize;
    loop {
        if listed > most {
            return Err(invalid(
                format!("{}/{dir}", s.root()),
                format!("lists more than {most} objects, more than an archive holds (at most {} checkpoints); refusing to extend it (an audit of the archive gives the details)", super::MAX_CHECKPOINTS),
            ));
        }
        let max = if first { 1 } else { store::MAX_PAGE };
        let page = match store::retry(&pace.backoff, || s.list(&dir, after.as_deref(), max)) {
            Ok(p) => p,
            // Nothing under the prefix (a new archive).
            Err(StoreError::NotFound { .. }) => return Ok((largest, count)),
            Err(e) => return Err(store_error(e)),
        };
        listed += page.items.len();
        for item in &page.items {
            if first {
                return Ok((Some(0), 1));
            }
            let name = &item.key[dir.len()..];
            let n = super::entry::parse_decimal(name.strip_suffix(".minisig").unwrap_or(name));
            if let Some(n) = n {
                largest = Some(largest.map_or(n, |l| l.max(n)));
                if last != Some(n) {
                    count += 1;
                    last = Some(n);
                }
            }
        }
        match page.items.last() {
            Some(last) if page.more => after = Some(last.key.clone()),
            _ => return Ok((largest, count)),
        }
    }
}

/// The head must be the latest checkpoint: no checkpoint file larger than it (or any, with no
/// head). Else the head was removed or replaced by an older one (a rollback: signing after it
/// would fork the log under this key), unless another writer published a newer head meanwhile
/// (`Ok(None)`: read it again). `Some(n)`: the head is the latest, and the archive holds `n`
/// checkpoints, the head's counted even when its files are not written yet.
pub(super) fn head_is_latest(
    s: &dyn Store,
    pace: &Pace,
    key: &SecretKey,
    head: &Head,
) -> Result<Option<usize>> {
    let h = head.cp.as_ref().map(|c| c.size);
    let (largest, count) = list_checkpoint_files(s, pace, h.is_none())?;
    let Some(m) = largest else {
        return Ok(Some(usize::from(h.is_some())));
    };
    if let Some(h) = h.filter(|&h| m <= h) {
        // The head's files are written after it is published: counted if not listed yet.
        return Ok(Some(count + usize::from(m < h)));
    }
    if read_head(s, pace, key)?.version != head.version {
        return Ok(None);
    }
    Err(invalid(
        format!("{}/{CHECKPOINT_FILE}", s.root()),
        match h {
            None => format!("is missing but {CHECKPOINTS_DIR}/ has checkpoints (removed, or a v1 archive, to migrate to v2 first)"),
            Some(h) => format!("signs {h} entries but {CHECKPOINTS_DIR}/{m} is larger (replaced by an older checkpoint)"),
        } + "; refusing to extend it (an audit of the archive gives the details)",
    ))
}

/// An add that would sign a checkpoint past [`super::MAX_CHECKPOINTS`] (`held`: the archive's
/// checkpoints now) is refused before it logs anything: every reader refuses an archive with
/// more (docs/FORMAT.md, C.1), so such an archive could no longer be audited or used as
/// evidence.
pub(super) fn room_for_a_checkpoint(s: &dyn Store, held: usize) -> Result<()> {
    if held < super::MAX_CHECKPOINTS as usize {
        return Ok(());
    }
    Err(invalid(
        format!("{}/{CHECKPOINTS_DIR}/", s.root()),
        format!(
            "holds {held} checkpoints, the most an archive log holds ({} checkpoints, one an add): this archive takes no more adds, nothing was logged (docs/FORMAT.md, C.1)",
            super::MAX_CHECKPOINTS
        ),
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
}
