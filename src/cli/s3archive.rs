//! Reading an archive in object storage (issue 17): `archive audit|prove|prove-consistency
//! s3://BUCKET/PREFIX` and `verify ... --archive s3://BUCKET/PREFIX`.
//!
//! `archive prove` and `prove-consistency` of a v3 archive (`log/sequence` there: [`v3_store`])
//! run on the store itself, with O(log n) requests and no copy
//! (`docseal::archive::prove_inclusion_store`, `prove_consistency_store`). Otherwise (audit,
//! `verify --archive`, proofs of a v2 or v1 archive), until those operations run on a
//! [`Store`] themselves, an archive at `s3://` is read through a private copy: its objects are
//! fetched by ranges (bounded memory) into a temporary directory laid out as the archive is on
//! a disk (keys as relative paths), and the local operation runs on it; the copy is removed
//! afterwards. Disk use is the archive's size (without `bundles/` for proofs, for the audit of
//! a v3 archive, which reads the bundles from the store in place, and for `verify --archive`,
//! which then fetches the archived copies of the bundles it verifies alone:
//! [`Mirror::fetch_bundles`]). `archive add
//! s3://...` does not use a copy: it runs on the store itself, sequenced with conditional
//! writes (`docseal::archive::store_add`).

use super::args::ArchiveAddArgs;
use super::load::limits;
use super::output;
use anyhow::Result;
use chrono::{DateTime, Utc};
use docseal::archive;
use docseal::metadata::format_sealed;
use docseal::store::{self, Location, RangeReader, Store, StoreError};
use docseal::{Error, SecretKey};
use std::path::{Path, PathBuf};

/// A local copy of an archive in object storage.
pub struct Mirror {
    dir: tempfile::TempDir,
    /// The archive's `s3://` name.
    name: String,
    /// The store it was copied from (for the bundles fetched afterwards).
    store: std::sync::Arc<dyn Store>,
    /// Objects whose names are no key (`Page::stray`): not copied (no file can have the
    /// name), reported by the audit of the copy ([`Mirror::strays`]).
    strays: Vec<String>,
}

fn store_error(what: &str, e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Invalid { what, problem } => Error::invalid(what, problem).into(),
        // Only a listing fails so (an object absent is `None`): the bucket does not exist.
        // No archive there, as for a prefix with no object (exit 2, not an I/O error).
        e @ StoreError::NotFound { .. } => {
            Error::invalid(what, format!("no archive there ({e})")).into()
        }
        e => Error::io(what, std::io::Error::other(e.to_string())).into(),
    }
}

/// Most bytes one archive object may have to be copied (a bundle at the largest the default
/// limits allow is far below; log files are small).
const MAX_OBJECT: u64 = 1 << 40;

impl Mirror {
    /// A copy of the archive at `path` if it is an `s3://` location (`None` for a local path).
    /// Without `bundles`, the objects under `bundles/` are left out (proofs need the log only).
    pub fn of(path: &Path, bundles: bool) -> Result<Option<Mirror>> {
        Mirror::of_parts(path, bundles, true, None)
    }

    /// [`Mirror::of`], without the v3 index (`log/index/`) unless `index`: `verify --archive`
    /// and `prove-consistency` never read it, and it holds two objects an entry. `bundle`:
    /// one bundle copied even without `bundles` (`archive prove s3://... NAME`).
    pub fn of_parts(
        path: &Path,
        bundles: bool,
        index: bool,
        bundle: Option<&str>,
    ) -> Result<Option<Mirror>> {
        let want = Want {
            bundles,
            index,
            pending: bundles,
            one: bundle.map(|n| format!("bundles/{n}")),
        };
        Mirror::of_want(path, want)
    }

    /// The copy an audit reads: the log and the pending copies an interrupted add left
    /// (`log/pending/`, which the audit checks), and `bundles/` and the v3 index unless
    /// `in_place` (an audit of a v3 archive reads its bundles and its index from the store in
    /// place: the index holds two objects an entry, which a disk may not have the inodes for).
    pub fn for_audit(path: &Path, in_place: bool) -> Result<Option<Mirror>> {
        let want = Want {
            bundles: !in_place,
            index: !in_place,
            pending: true,
            one: None,
        };
        Mirror::of_want(path, want)
    }

    fn of_want(path: &Path, want: Want) -> Result<Option<Mirror>> {
        if !store::is_s3(path) {
            return Ok(None);
        }
        let name = store::safe_display(path);
        let loc = Location::parse(path).map_err(|e| store_error(&name, e))?;
        let s = loc.open().map_err(|e| store_error(&name, e))?;
        // A consistent copy of a live archive: the log's sequencing point is read before and
        // after the copy, the head (`log/checkpoint`) before the listing, the log copied before
        // `bundles/`. If nothing was sequenced meanwhile, what changed is the completion of the
        // entries the copy's log already holds (their bundles, tiles, index objects,
        // checkpoint): the copy's log is one state of the archive and every bundle it lists is
        // in the copy. Else copy again.
        for _ in 0..COPY_ATTEMPTS {
            let before = sequenced(s.as_ref(), &name)?;
            let dir = tempfile::Builder::new()
                .prefix("docseal-s3-archive-")
                .tempdir()?;
            // The head before the listing: the one object an add replaces whose files (tiles,
            // index) are written before it, so the listing that follows holds them.
            let head = archive::tiles::CHECKPOINT_FILE;
            let had_head = copy_head(s.as_ref(), &name, dir.path())?;
            let most = most_objects(&before);
            let mut strays = Vec::new();
            let logged = copy_where(s.as_ref(), &name, dir.path(), "", most, &mut strays, |k| {
                k != head && !k.starts_with("bundles/") && want.takes(k)
            })? || had_head;
            let filed = copy_where(
                s.as_ref(),
                &name,
                dir.path(),
                "bundles/",
                most,
                &mut strays,
                |k| want.takes(k),
            )?;
            if !logged && !filed {
                return Err(
                    Error::invalid(name, "no archive there (no object under this prefix)").into(),
                );
            }
            if sequenced(s.as_ref(), &name)? == before {
                return Ok(Some(Mirror {
                    dir,
                    name,
                    store: s,
                    strays,
                }));
            }
        }
        Err(Error::io(
            &name,
            std::io::Error::other(format!(
                "the archive's log changed while it was read, {COPY_ATTEMPTS} times (adds are running): try again"
            )),
        )
        .into())
    }

    /// Copy into the copy the archived bundles at these paths (`<copy>/bundles/NAME`, names
    /// from the copy's log; other paths are ignored), each with the SHA-256 its log entry
    /// names when known: `verify --archive` reads the archived copies of the bundles it
    /// verifies only, so the copy is made without `bundles/` and those few are fetched
    /// afterwards (a bundle, once in `bundles/`, is never replaced by an add). A bundle absent
    /// from the store is left absent: the verifier reports it as it would on a disk.
    ///
    /// Bounded (a bucket writer may replace an archived copy with any object): one larger than
    /// `max` (the largest bundle the limits allow) is not fetched at all, and one is read by
    /// ranges into the copy, never more than its size said, its SHA-256 computed as it comes.
    /// Returns a note for each copy left out or not the file its entry names (it lends no
    /// archive time either way), naming the `s3://` object.
    pub fn fetch_bundles<'p>(
        &self,
        paths: impl IntoIterator<Item = (&'p Path, Option<[u8; 32]>)>,
        max: u64,
    ) -> Result<Vec<String>> {
        let base = self.dir.path().join("bundles");
        let backoff = store::Backoff::default();
        let mut wanted: std::collections::BTreeMap<&str, Option<[u8; 32]>> = Default::default();
        for (p, digest) in paths {
            if p.parent() != Some(base.as_path()) {
                continue;
            }
            if let Some(n) = p.file_name().and_then(|n| n.to_str()) {
                let d = wanted.entry(n).or_default();
                *d = d.or(digest);
            }
        }
        let mut notes = Vec::new();
        for (n, digest) in wanted {
            let key = format!("bundles/{n}");
            if self.dir.path().join(&key).exists() || store::check_key(&key).is_err() {
                continue;
            }
            let s = self.store.as_ref();
            let object = format!("{}/{key}", s.root());
            let size = match store::retry(&backoff, || s.size(&key))
                .map_err(|e| store_error(&self.name, e))?
            {
                Some(size) => size,
                None => continue,
            };
            if size > max {
                notes.push(format!(
                    "{object}: {size} bytes, more than the {max} a bundle may have under the limits: not fetched, no archive time from it"
                ));
                continue;
            }
            let got = fetch_hashed(s, &key, size, self.dir.path())?;
            if got.is_some_and(|got| digest.is_some_and(|d| d != got)) {
                notes.push(format!(
                    "{object}: not the file its archive log entry names (its SHA-256 differs): no archive time from it"
                ));
            }
        }
        Ok(notes)
    }

    /// The names the copy listed that are no key (at most 1,000 under `bundles/` and 1,000
    /// elsewhere): objects there, in no log, that the copy cannot hold.
    pub fn strays(&self) -> &[String] {
        &self.strays
    }

    /// Where the copy is.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `text` with the copy's path replaced by the archive's `s3://` name.
    pub fn rename(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), &self.name)
    }

    /// An error of an operation on the copy, naming the archive's `s3://` location instead of
    /// the copy's temporary path (same kind, same exit code).
    pub fn rename_error(&self, e: Error) -> Error {
        match e {
            Error::Io { path, source } => Error::Io {
                path: PathBuf::from(self.rename(&path.display().to_string())),
                source: std::io::Error::new(source.kind(), self.rename(&source.to_string())),
            },
            Error::Invalid { what, problem } => Error::Invalid {
                what: self.rename(&what),
                problem: self.rename(&problem),
            },
            Error::Setting {
                what,
                problem,
                setting,
            } => Error::Setting {
                what: self.rename(&what),
                problem: self.rename(&problem),
                setting,
            },
            // A bundle of the copy refused (`archive prove s3://... NAME` of a damaged one).
            Error::Refused { path, summary } => Error::Refused {
                path: PathBuf::from(self.rename(&path.display().to_string())),
                summary: self.rename(&summary),
            },
            e => e,
        }
    }
}

/// The store of the archive at `path` if it is an `s3://` location whose log is v3
/// (`log/sequence` is there: one HEAD): proofs read it in place, without a copy. `None` for
/// a local path, or a v2 or v1 archive in object storage (read through a [`Mirror`]).
pub fn v3_store(path: &Path) -> Result<Option<std::sync::Arc<dyn Store>>> {
    if !store::is_s3(path) {
        return Ok(None);
    }
    let name = store::safe_display(path);
    let loc = Location::parse(path).map_err(|e| store_error(&name, e))?;
    let s = loc.open().map_err(|e| store_error(&name, e))?;
    Ok(archive::is_v3_store(s.as_ref())?.then_some(s))
}

/// The result of an operation on `mirror`'s copy (if any), its error renamed.
pub fn renamed<T>(
    mirror: Option<&Mirror>,
    r: std::result::Result<T, Error>,
) -> std::result::Result<T, Error> {
    r.map_err(|e| match mirror {
        Some(m) => m.rename_error(e),
        None => e,
    })
}

/// Copy the head `log/checkpoint` (read whole, in one request: it is replaced, never
/// appended to); whether it exists. One larger than a note may be is not downloaded: a sparse
/// stand-in one byte over its bound (the audit refuses it by its size).
fn copy_head(s: &dyn Store, name: &str, dir: &Path) -> Result<bool> {
    let head = archive::tiles::CHECKPOINT_FILE;
    let backoff = store::Backoff::default();
    match store::retry(&backoff, || s.get(head, archive::tiles::MAX_NOTE_FILE)) {
        Ok(None) => Ok(false),
        Ok(Some(o)) => {
            let dest = dir.join(head);
            let parent = dest.parent().unwrap_or(dir);
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            std::fs::write(&dest, &o.bytes).map_err(|e| Error::io(&dest, e))?;
            Ok(true)
        }
        Err(StoreError::TooLarge { .. }) => {
            match store::retry(&backoff, || s.size(head)).map_err(|e| store_error(name, e))? {
                // Any size: a stand-in one byte over its bound is what is copied.
                Some(n) => copy(s, head, n, dir).map(|()| true),
                None => Ok(false),
            }
        }
        Err(e) => Err(store_error(name, e)),
    }
}

/// How many times a copy of a live archive is made before giving up.
const COPY_ATTEMPTS: usize = 5;

/// Which objects of an archive a copy takes.
struct Want {
    bundles: bool,
    index: bool,
    /// The pending copies of bundles an interrupted add left (`log/pending/`).
    pending: bool,
    /// One bundle taken even without `bundles`.
    one: Option<String>,
}

impl Want {
    fn takes(&self, key: &str) -> bool {
        // The copies an add left in `log/pending/` are bundles too: only the audit reads them.
        if key.starts_with("log/pending/") {
            return self.pending;
        }
        (self.bundles || !key.starts_with("bundles/") || self.one.as_deref() == Some(key))
            && (self.index || !key.starts_with("log/index/"))
    }
}

/// What changes when an add sequences entries: `log/sequence` (v3, small: its bytes) and the
/// size of `log/entries` (v2 and v1: append-only), each `None` when absent.
fn sequenced(s: &dyn Store, name: &str) -> Result<(Option<Vec<u8>>, Option<u64>)> {
    let backoff = store::Backoff::default();
    let seq = match store::retry(&backoff, || {
        s.get(archive::v3::SEQUENCE_FILE, archive::v3::MAX_SEQUENCE_BYTES)
    }) {
        Ok(o) => o.map(|o| o.bytes),
        // Too large: the copy stands in for it and the audit reports it; its size tells.
        Err(StoreError::TooLarge { .. }) => {
            store::retry(&backoff, || s.size(archive::v3::SEQUENCE_FILE))
                .map_err(|e| store_error(name, e))?
                .map(|n| n.to_be_bytes().to_vec())
        }
        Err(e) => return Err(store_error(name, e)),
    };
    let entries = store::retry(&backoff, || s.size(archive::ENTRIES_FILE))
        .map_err(|e| store_error(name, e))?;
    Ok((seq, entries))
}

/// Objects an archive holds beyond [`OBJECTS_PER_ENTRY`] an entry (the head, the sequence, a
/// few files an interrupted add left, objects planted by hand).
const MAX_SPARE_OBJECTS: u64 = archive::MAX_UNLOGGED_BUNDLES;

/// Objects an archive holds an entry at most: its bundle (and a pending copy), two index
/// objects, its checkpoint's files (one add an entry at worst: checkpoint, signature,
/// cosignature, token) and a share of the tiles.
const OBJECTS_PER_ENTRY: u64 = 8;

/// The most objects a copy lists under one prefix for the log whose sequencing point is
/// `sequenced` ([`sequenced`]: the v3 sequence's size, or a v2 or v1 `log/entries` of that
/// many bytes, 64 bytes an entry at least): a listing past it (a server whose listing never
/// ends) is refused, not copied to the disk without end.
fn most_objects(sequenced: &(Option<Vec<u8>>, Option<u64>)) -> u64 {
    let v3 = sequenced
        .0
        .as_deref()
        .and_then(|b| archive::v3::Sequence::parse(b).ok())
        .map_or(0, |q| q.size());
    let v2 = sequenced.1.unwrap_or(0) / 64;
    v3.max(v2)
        .saturating_mul(OBJECTS_PER_ENTRY)
        .saturating_add(MAX_SPARE_OBJECTS)
}

/// Copy every object of `s` under `prefix` whose key `take`s into `dir`; whether there was
/// any object under `prefix` (taken or not). More than `most` objects listed: refused. The
/// names that are no key (never copied) are kept in `strays`, 1,000 at most.
fn copy_where(
    s: &dyn Store,
    name: &str,
    dir: &Path,
    prefix: &str,
    most: u64,
    strays: &mut Vec<String>,
    take: impl Fn(&str) -> bool,
) -> Result<bool> {
    let backoff = store::Backoff::default();
    let mut after: Option<String> = None;
    let mut any = false;
    let mut listed: u64 = 0;
    loop {
        let page = store::retry(&backoff, || {
            s.list(prefix, after.as_deref(), store::MAX_PAGE)
        })
        .map_err(|e| store_error(name, e))?;
        listed = listed.saturating_add((page.items.len() + page.stray.len()) as u64);
        if listed > most {
            return Err(Error::invalid(
                format!("{name}/{prefix}"),
                format!("listing refused: more than {most} objects, more than the archive's log can account for (a listing that never ends?)"),
            )
            .into());
        }
        any |= !page.stray.is_empty();
        // Those under `bundles/` are kept from its own listing.
        let room = 1000usize.saturating_sub(strays.len());
        let mine = |k: &&String| prefix == "bundles/" || !k.starts_with("bundles/");
        strays.extend(page.stray.iter().filter(mine).take(room).cloned());
        for item in &page.items {
            any = true;
            if !take(&item.key) {
                continue;
            }
            // Past the most an object is copied (a bundle, a pending copy, a v2 log/entries
            // are copied whole): refused, not left out of the copy (a bundle left out is one
            // the audit of the copy never sees, unlisted or not).
            if item.size > MAX_OBJECT && bound(&item.key).is_none() {
                return Err(Error::invalid(
                    format!("{}/{}", s.root(), item.key),
                    format!("listed at {} bytes, more than the {MAX_OBJECT} an archive object is copied at: not an archive docseal reads", item.size),
                )
                .into());
            }
            copy(s, &item.key, item.size, dir)?;
        }
        match page.items.last() {
            Some(last) if page.more => after = Some(last.key.clone()),
            _ => return Ok(any),
        }
    }
}

/// Most bytes a reader takes of the archive object `key` (more is refused by the size alone),
/// `None` where a reader takes any size: a bundle (`bundles/`, `log/pending/`) and a v1 or
/// v2 `log/entries`. Every other object (the head, checkpoints, cosignatures, timestamp
/// tokens, and keys no reader reads, such as a hostile `log/junk`) is read whole by a bounded
/// read of at most [`MAX_SMALL_OBJECT`] bytes, if at all.
fn bound(key: &str) -> Option<u64> {
    if key.starts_with("bundles/")
        || key.starts_with("log/pending/")
        || key == archive::ENTRIES_FILE
    {
        None
    } else if key == archive::v3::SEQUENCE_FILE {
        Some(archive::v3::MAX_SEQUENCE_BYTES)
    } else if key.starts_with("log/index/") {
        Some(archive::v3::MAX_INDEX_BYTES)
    } else if key.starts_with("log/tile/") {
        // An entry bundle: 256 entries, each a 2-byte length and a line; a hash tile less.
        Some(256 * (2 + archive::MAX_ENTRY_LINE as u64))
    } else {
        Some(MAX_SMALL_OBJECT)
    }
}

/// The bound of the other log objects: the largest is a timestamp token (64 KiB); the head
/// and cosignatures are notes (32 KiB), checkpoint files 1 KiB.
const MAX_SMALL_OBJECT: u64 = 64 << 10;

/// Copy the object `key` (of `size` bytes) to `dir/key`.
fn copy(s: &dyn Store, key: &str, size: u64, dir: &Path) -> Result<()> {
    // Keys from a listing are checked (no `..`, no empty component) before they are paths.
    let dest: PathBuf = dir.join(key);
    // An object whose key is also the prefix of other keys (`a` and `a/b`: object storage
    // allows both, a file system not): a layout no docseal writes, refused by its key (not
    // an I/O error naming the private copy).
    let clash = |e: std::io::Error| -> anyhow::Error {
        use std::io::ErrorKind::{AlreadyExists, IsADirectory, NotADirectory};
        if matches!(e.kind(), AlreadyExists | NotADirectory | IsADirectory) {
            return Error::invalid(
                format!("{}/{key}", s.root()),
                "an object whose key is also the prefix of other objects' keys (or the other way round): not an archive's layout",
            )
            .into();
        }
        Error::io(&dest, e).into()
    };
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(clash)?;
    }
    let mut out = std::fs::File::create(&dest).map_err(clash)?;
    // A log object larger than its bound is refused by its size, never read: a sparse file
    // one byte over the bound stands in for it (nothing downloaded, no disk used; the
    // finding is the same).
    if let Some(b) = bound(key).filter(|b| size > *b) {
        out.set_len(b + 1).map_err(|e| Error::io(&dest, e))?;
        return Ok(());
    }
    let mut r = RangeReader::new(s, key, size);
    if let Err(e) = std::io::copy(&mut r, &mut out) {
        // Listed, then removed before it was read (an add moving a pending copy into place):
        // left out, as if listed a moment later; the caller's check of the log's sequencing
        // point says whether the copy is still one state of the archive.
        let gone = e
            .get_ref()
            .and_then(|x| x.downcast_ref::<StoreError>())
            .is_some_and(|x| matches!(x, StoreError::NotFound { .. }));
        if gone {
            drop(out);
            std::fs::remove_file(&dest).map_err(|e| Error::io(&dest, e))?;
            return Ok(());
        }
        return Err(Error::io(format!("{}/{key}", s.root()), e).into());
    }
    Ok(())
}

/// Copy the bundle `key` (of `size` bytes, as its store said) to `dir/key` by ranges, at most
/// `size` bytes whatever the server sends; its SHA-256 (`None`: removed meanwhile, left out).
fn fetch_hashed(s: &dyn Store, key: &str, size: u64, dir: &Path) -> Result<Option<[u8; 32]>> {
    use sha2::Digest;
    use std::io::{Read, Write};
    let dest = dir.join(key);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let mut out = std::fs::File::create(&dest).map_err(|e| Error::io(&dest, e))?;
    let mut r = RangeReader::new(s, key, size);
    let mut sha = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                drop(out);
                std::fs::remove_file(&dest).map_err(|e| Error::io(&dest, e))?;
                let gone = e
                    .get_ref()
                    .and_then(|x| x.downcast_ref::<StoreError>())
                    .is_some_and(|x| matches!(x, StoreError::NotFound { .. }));
                if gone {
                    return Ok(None);
                }
                return Err(Error::io(format!("{}/{key}", s.root()), e).into());
            }
        };
        sha.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| Error::io(&dest, e))?;
    }
    Ok(Some(sha.finalize().into()))
}

/// A checkpoint in `archive add --json`.
#[derive(serde::Serialize)]
pub struct CheckpointReport {
    pub size: u64,
    pub origin: String,
    pub time: String,
    pub key_id: String,
    /// Whether this add published it (else another writer did, covering these entries).
    pub published: bool,
}

impl CheckpointReport {
    pub fn of(cp: &archive::Checkpoint, key_id: docseal::KeyId, published: bool) -> Self {
        CheckpointReport {
            size: cp.size,
            origin: cp.origin.clone(),
            time: format_sealed(cp.time),
            key_id: key_id.to_string(),
            published,
        }
    }
}

/// `archive add --json`: what was logged, what was there already, the checkpoint, and how
/// many conditional writes lost a race and were retried (always 0 on a local archive).
#[derive(serde::Serialize)]
pub struct AddReport<'a> {
    pub archive: String,
    pub entries: &'a [archive::Entry],
    pub already: &'a [archive::Entry],
    pub checkpoint: CheckpointReport,
    pub recovered: &'a [String],
    pub conflicts: u64,
    /// The archive's log layout (`v2`, `v3`); absent for a local archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<&'static str>,
}

/// `archive add s3://BUCKET/PREFIX BUNDLE... --key K`: sequenced on the store with
/// conditional writes (`docseal::archive::store_add`).
pub fn add(a: &ArchiveAddArgs, key: &SecretKey, time: Option<DateTime<Utc>>) -> Result<u8> {
    let name = store::safe_display(&a.archive);
    if !a.tsa.is_empty() {
        return Err(Error::invalid(
            "--tsa",
            format!("{name}: timestamping checkpoints of an archive in object storage is not available yet; add without --tsa"),
        )
        .into());
    }
    let loc = Location::parse(&a.archive).map_err(|e| store_error(&name, e))?;
    let s = loc.open().map_err(|e| store_error(&name, e))?;
    let r = archive::store_add::add_to_store(
        s.as_ref(),
        &a.bundles,
        key,
        time,
        &limits(&a.limits),
        std::time::Duration::from_secs(a.wait),
    )?;
    if a.json {
        output::print_json(
            "archive_add",
            &AddReport {
                archive: name,
                entries: &r.entries,
                already: &r.already,
                checkpoint: CheckpointReport::of(&r.checkpoint, r.key_id, r.published),
                recovered: &r.recovered,
                conflicts: r.conflicts,
                layout: Some(r.layout),
            },
        )?;
        return Ok(0);
    }
    for what in &r.recovered {
        println!("completed what another or an interrupted add left: {what}");
    }
    for e in &r.already {
        println!(
            "{} is already in the archive as entry {} (the same file); nothing to add",
            e.name, e.index
        );
    }
    for e in &r.entries {
        println!(
            "logged {} as entry {} ({}, content sha256 {})",
            e.name, e.index, e.id, e.content_sha256
        );
    }
    let cp = &r.checkpoint;
    println!(
        "checkpoint {} of {} {} at {}{}",
        cp.size,
        cp.origin,
        if r.published {
            format!("signed by key {}", r.key_id)
        } else {
            "published by another writer".to_string()
        },
        format_sealed(cp.time),
        if r.conflicts > 0 {
            format!(" ({} lost races retried)", r.conflicts)
        } else {
            String::new()
        }
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use docseal::store::{LocalStore, Object, Page, PutIfMatch, PutNew, Version};
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A store that counts the bytes read from it.
    #[derive(Debug)]
    struct Counting<'a>(&'a dyn Store, AtomicU64);

    impl Store for Counting<'_> {
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
            let b = self.0.get_range(key, offset, len)?;
            self.1.fetch_add(b.len() as u64, Ordering::Relaxed);
            Ok(b)
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

    /// A store whose listing and HEAD say every object under `bundles/` (and the head) has
    /// more than [`MAX_OBJECT`] bytes, as a lying server (or a planted multi-terabyte object)
    /// does.
    #[derive(Debug)]
    struct Huge<'a>(&'a dyn Store);

    impl Store for Huge<'_> {
        fn root(&self) -> String {
            "s3://bucket/archive".into()
        }
        fn get(&self, key: &str, max: u64) -> store::Result<Option<Object>> {
            match self.size(key)? {
                Some(n) if n > max => Err(store::StoreError::TooLarge {
                    what: key.into(),
                    size: n,
                    max,
                }),
                _ => self.0.get(key, max),
            }
        }
        fn get_range(&self, key: &str, offset: u64, len: u64) -> store::Result<Vec<u8>> {
            self.0.get_range(key, offset, len)
        }
        fn size(&self, key: &str) -> store::Result<Option<u64>> {
            let big = key.starts_with("bundles/") || key == archive::tiles::CHECKPOINT_FILE;
            Ok(self
                .0
                .size(key)?
                .map(|n| if big { MAX_OBJECT + 1 } else { n }))
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
            let mut page = self.0.list(p, after, max)?;
            for i in &mut page.items {
                i.size = self.size(&i.key)?.unwrap_or(i.size);
            }
            Ok(page)
        }
        fn delete(&self, key: &str) -> store::Result<()> {
            self.0.delete(key)
        }
    }

    /// An object listed past [`MAX_OBJECT`] was left out of the copy: a planted
    /// `bundles/evil.zip` so listed was never seen by the audit of a v2 bucket (through its
    /// copy), which passed where the audit of the same archive on a disk reports it unlisted;
    /// and a head so large was taken for none. Now the bundle refuses the copy, naming the
    /// object, and the head is copied as a stand-in one byte over its bound.
    #[test]
    fn attack_att6_object_listed_past_the_copy_limit_is_not_left_out() {
        let src = tempfile::tempdir().unwrap();
        for k in ["bundles/evil.zip", "log/checkpoint", "log/entries"] {
            let p = src.path().join(k);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let local = LocalStore::new(src.path());
        let s = Huge(&local);
        let dir = tempfile::tempdir().unwrap();
        assert!(copy_head(&s, "n", dir.path()).unwrap());
        let head = std::fs::metadata(dir.path().join("log/checkpoint")).unwrap();
        assert_eq!(head.len(), bound("log/checkpoint").unwrap() + 1);
        let e = copy_where(
            &s,
            "n",
            dir.path(),
            "bundles/",
            u64::MAX,
            &mut Vec::new(),
            |_| true,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("s3://bucket/archive/bundles/evil.zip: listed at 1099511627777 bytes"),
            "{e}"
        );
        // Log objects of any listed size are copied (bounded ones as stand-ins).
        copy_where(&s, "n", dir.path(), "", u64::MAX, &mut Vec::new(), |k| {
            !k.starts_with("bundles/") && k != "log/checkpoint"
        })
        .unwrap();
        assert_eq!(std::fs::read(dir.path().join("log/entries")).unwrap(), b"x");
    }

    /// `verify --archive s3://`: an archived copy a bucket writer replaced with an object
    /// larger than any bundle the limits allow is not fetched at all (a note names the
    /// object); one that is not the file its log entry names is fetched (as a disk copy would
    /// be read) with a note; the copy's size bounds what is read, never the claim.
    #[test]
    fn attack_hfetch_verify_archive_does_not_fetch_an_oversized_archived_copy() {
        use sha2::Digest;
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("bundles")).unwrap();
        let ok = vec![b'o'; 1000];
        std::fs::write(src.path().join("bundles/ok.zip"), &ok).unwrap();
        std::fs::write(src.path().join("bundles/bad.zip"), vec![b'b'; 1000]).unwrap();
        std::fs::write(src.path().join("bundles/big.zip"), vec![b'x'; 4 << 20]).unwrap();
        let local: &'static LocalStore = Box::leak(Box::new(LocalStore::new(src.path())));
        let counting = std::sync::Arc::new(Counting(local, AtomicU64::new(0)));
        let m = Mirror {
            dir: tempfile::tempdir().unwrap(),
            name: "s3://bucket/archive".into(),
            store: counting.clone(),
            strays: Vec::new(),
        };
        let at = |n: &str| m.path().join("bundles").join(n);
        let (p_ok, p_bad, p_big, p_gone) =
            (at("ok.zip"), at("bad.zip"), at("big.zip"), at("gone.zip"));
        let sha: [u8; 32] = sha2::Sha256::digest(&ok).into();
        let notes = m
            .fetch_bundles(
                [
                    (p_big.as_path(), Some([1; 32])),
                    (p_ok.as_path(), Some(sha)),
                    (p_ok.as_path(), None),
                    (p_bad.as_path(), Some(sha)),
                    (p_gone.as_path(), Some(sha)),
                ],
                2 << 20,
            )
            .unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[0].starts_with("s3://bucket/archive/bundles/bad.zip: ")
                && notes[0].contains("SHA-256 differs"),
            "{notes:?}"
        );
        assert!(
            notes[1].starts_with("s3://bucket/archive/bundles/big.zip: 4194304 bytes")
                && notes[1].contains("not fetched"),
            "{notes:?}"
        );
        assert!(!p_big.exists() && !p_gone.exists());
        assert_eq!(std::fs::read(&p_ok).unwrap(), ok);
        assert_eq!(std::fs::read(&p_bad).unwrap().len(), 1000);
        assert_eq!(counting.1.load(Ordering::Relaxed), 2000, "bytes read");
    }

    /// Without bundles (proofs, `verify --archive`), the pending copies of bundles an add
    /// left (`log/pending/`, bundles of any size, read by the audit alone) are not copied.
    #[test]
    fn attack_s3archive_copy_without_bundles_leaves_pending_copies_out() {
        let w = |bundles| Want {
            bundles,
            index: false,
            pending: bundles,
            one: Some("bundles/b.zip".into()),
        };
        assert!(!w(false).takes("log/pending/huge.zip"));
        assert!(!w(false).takes("bundles/huge.zip"));
        assert!(w(false).takes("bundles/b.zip"));
        assert!(w(false).takes("log/sequence"));
        assert!(w(true).takes("log/pending/huge.zip"));
        // The audit of a v3 archive (bundles read in place) still checks the pending copies.
        let audit = Want {
            bundles: false,
            index: true,
            pending: true,
            one: None,
        };
        assert!(audit.takes("log/pending/b.zip"));
        assert!(!audit.takes("bundles/b.zip"));
        assert!(audit.takes("log/index/name/ab/cd/x"));
    }

    /// A hostile bucket's huge objects in the log (a head, a tile, a checkpoint, a key no
    /// reader reads) are not downloaded into the private copy `verify --archive` and `audit`
    /// make: a sparse stand-in one byte over the bound (the reader refuses it by its size);
    /// bundles and a v2 `log/entries` are copied whole.
    #[test]
    fn attack_s3archive_copy_does_not_download_huge_log_objects() {
        let src = tempfile::tempdir().unwrap();
        let huge = 4u64 << 20;
        let hostile = [
            "log/checkpoint",
            "log/junk",
            "log/checkpoints/5",
            "log/tile/0/000",
            "log/cosignatures/5",
        ];
        let whole = ["log/entries", "bundles/b.zip", "log/pending/b.zip"];
        for k in hostile.iter().chain(&whole) {
            let p = src.path().join(k);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, vec![b'x'; huge as usize]).unwrap();
        }
        let local = LocalStore::new(src.path());
        let s = Counting(&local, AtomicU64::new(0));
        let dir = tempfile::tempdir().unwrap();
        assert!(copy_head(&s, "n", dir.path()).unwrap());
        copy_where(&s, "n", dir.path(), "", u64::MAX, &mut Vec::new(), |k| {
            k != "log/checkpoint"
        })
        .unwrap();
        for k in hostile {
            let len = std::fs::metadata(dir.path().join(k)).unwrap().len();
            assert!(len < 1 << 20 && len == bound(k).unwrap() + 1, "{k}: {len}");
        }
        for k in whole {
            assert_eq!(
                std::fs::read(dir.path().join(k)).unwrap().len() as u64,
                huge
            );
        }
        // Only the bundles and log/entries were read (the head: a bounded GET, refused).
        let read = s.1.load(Ordering::Relaxed);
        assert!(read <= 3 * huge + (64 << 10), "{read} bytes read");
        // Every bounded object a reader takes fits its bound.
        for b in [
            archive::tiles::MAX_NOTE_FILE,
            archive::MAX_CHECKPOINT_BYTES,
            archive::MAX_SIGNATURE_BYTES,
            64 << 10,
        ] {
            assert!(b <= MAX_SMALL_OBJECT);
        }
    }
}
