//! Audit: the log against its checkpoints and the kept ones, the signatures against the trust
//! file, and the bundles against the log.

use super::*;
use crate::format::error::{Error, Result};
use crate::format::finding::{Code, Finding, Severity};
use crate::format::store::{self, Store, StoreError};
use crate::format::zip::Limits;
use crate::ops::verify::{self, Options};
use crate::profile::metadata::format_sealed;
use crate::profile::trust::Trust;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The latest checkpoint, as summarized in an audit.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointSummary {
    /// Tree size.
    pub size: u64,
    /// Root, base64.
    pub root: String,
    /// The operator's time.
    pub time: String,
    /// Who signed it (key id and name), if trusted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// The outcome of an audit.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// The archive.
    pub archive: String,
    /// `true` when there is no error finding.
    pub ok: bool,
    /// Log entries (complete lines).
    pub entries: usize,
    /// Checkpoint files.
    pub checkpoints: usize,
    /// The latest checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<CheckpointSummary>,
    /// Every problem found.
    pub findings: Vec<Finding>,
    /// RFC 3161 tokens over checkpoints (`archive add --tsa`), checked against the TSA roots of
    /// `trust` ([`crate::ops::timestamp::checkpoint`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<crate::ops::timestamp::checkpoint::CheckpointToken>,
}

pub(super) const MAX_REPORTED: usize = 50;

/// Audit an archive: the log against its checkpoints and the checkpoints you `kept`, the
/// checkpoints' signatures against `trust`, and the bundles against the log. Every problem is
/// reported with a code naming its kind (`docs/VERIFY.md`) and a path naming where, at most
/// 50 of one kind. The log is streamed: memory does not grow with it but for a few bytes an
/// entry.
pub fn audit(
    archive: &Path,
    trust: &Trust,
    kept: &[KeptCheckpoint],
    limits: &Limits,
) -> Result<Audit> {
    audit_with(
        archive,
        trust,
        kept,
        limits,
        &tiles::WitnessPolicy::default(),
    )
}

/// [`audit`], also requiring witness cosignatures of the latest checkpoint (v2 logs: "Archive
/// log v2" in `docs/FORMAT.md`).
pub fn audit_with(
    archive: &Path,
    trust: &Trust,
    kept: &[KeptCheckpoint],
    limits: &Limits,
    witnesses: &tiles::WitnessPolicy,
) -> Result<Audit> {
    audit_bundles_in(archive, trust, kept, limits, witnesses, None)
}

/// [`audit_with`] of an archive whose log is in `archive` (a local copy of a v3 archive's log
/// in object storage, without `bundles/`) and whose bundles are read from `bundles`, the
/// archive's store, in place: each bundle is streamed through its checks by ranged reads as
/// the log goes by, and `bundles/` is listed for the bundles no entry names. No bundle is kept
/// on the disk. A bundle the listing holds but the log read does not, whose name index object
/// says it was logged after that read (an add running meanwhile), is not called unlisted.
pub fn audit_with_store_bundles(
    archive: &Path,
    trust: &Trust,
    kept: &[KeptCheckpoint],
    limits: &Limits,
    witnesses: &tiles::WitnessPolicy,
    bundles: &dyn Store,
) -> Result<Audit> {
    audit_bundles_in(archive, trust, kept, limits, witnesses, Some(bundles))
}

// One function for the whole audit (the order of its steps is the report's): over the usual
// length by the bundle source's two branches.
fn audit_bundles_in(
    archive: &Path,
    trust: &Trust,
    kept: &[KeptCheckpoint],
    limits: &Limits,
    witnesses: &tiles::WitnessPolicy,
    in_store: Option<&dyn Store>,
) -> Result<Audit> {
    let lstat = |rel: &str| std::fs::symlink_metadata(archive.join(rel)).ok();
    if lstat("log").is_none() && lstat(BUNDLES_DIR).is_none() {
        return Err(invalid(
            archive.display(),
            "is not an archive (no log/ or bundles/ directory)",
        ));
    }
    let mut f = Sink::default();
    let (log_readable, bundles_readable) = check_layout(archive, &mut f)?;

    // The log, with each entry's bundle checked as it streams by.
    let keyed = Keyed::new();
    let mut bundles = BundleCheck::new(archive, &keyed, bundles_readable, limits);
    bundles.store = in_store;
    let mut index = v3log::IndexCheck::new(archive);
    index.store = in_store;
    let lc = if log_readable {
        Some(check_log(archive, Some(trust), kept, &mut |e| {
            index.entry(e)?;
            bundles.entry(e)
        })?)
    } else {
        None
    };
    // v3: the index walked, the sequence's start, a migration left half done.
    if let Some(lc) = &lc {
        index.finish(&lc.sound, lc.n, &mut f)?;
    }
    let LogSummary {
        n,
        files,
        signed,
        latest,
    } = log_summary(archive, trust, witnesses, lc, &mut f)?;

    // Bundles swapped or replaced: which entry's file each now holds.
    swapped(archive, &bundles.differs, &mut f)?;
    pending_findings(&bundles, signed, limits, &mut f);
    let BundleCheck {
        dir,
        pending_dir,
        listed,
        in_pending,
        f: bundle_f,
        ..
    } = bundles;
    f.absorb(bundle_f);

    // Files in bundles/ that no entry names, and what an interrupted add left in log/pending.
    if let Some(s) = in_store {
        unlisted_in_store(s, &keyed, listed, n, &mut f)?;
    } else if bundles_readable && dir.is_dir() {
        unlisted_bundles(&dir, &keyed, listed, &mut f)?;
    }
    let listed_pending: BTreeSet<&str> = in_pending.iter().map(|(_, n)| n.as_str()).collect();
    let pending_link = lstat(PENDING_DIR).is_some_and(|m| m.file_type().is_symlink());
    if log_readable && !pending_link && pending_dir.is_dir() {
        pending_dir_findings(&pending_dir, &listed_pending, &mut f)?;
    }

    // Checkpoint tokens (`archive add --tsa`): each over its checkpoint's signature file.
    let stamped = crate::ops::timestamp::checkpoint::audit(archive, trust.tsa_roots(), &mut |s| {
        crate::ops::timestamp::checkpoint::signature_file(
            archive,
            CHECKPOINTS_DIR,
            s,
            MAX_SIGNATURE_BYTES,
        )
    });
    for x in stamped.findings {
        f.push(x);
    }
    let findings = f.finish();
    Ok(Audit {
        archive: archive.display().to_string(),
        ok: !findings.iter().any(|x| x.severity == Severity::Error),
        entries: n as usize,
        checkpoints: usize::try_from(files).unwrap_or(usize::MAX),
        latest,
        findings,
        timestamps: stamped.tokens,
    })
}

/// The log check summed up for the audit.
struct LogSummary {
    /// Entries.
    n: u64,
    /// Checkpoint files.
    files: u64,
    /// The size of the latest checkpoint signed (0 if none).
    signed: u64,
    latest: Option<CheckpointSummary>,
}

/// Sum up the log check `lc` (none if the log could not be read), check the v2 parts against
/// its latest checkpoint, and add the log's findings to `f`.
fn log_summary(
    archive: &Path,
    trust: &Trust,
    witnesses: &tiles::WitnessPolicy,
    lc: Option<LogCheck>,
    f: &mut Sink,
) -> Result<LogSummary> {
    let (n, files, signed) = match &lc {
        Some(lc) => (
            lc.n,
            lc.files,
            lc.orphan
                .as_ref()
                .map(|c| c.size)
                .or(lc.sound.last().map(|(c, _)| c.size))
                .unwrap_or(0),
        ),
        None => (0, 0, 0),
    };
    let latest = lc.as_ref().and_then(|lc| {
        lc.sound.last().map(|(cp, signer)| CheckpointSummary {
            size: cp.size,
            root: encode_hash(&cp.root),
            time: format_sealed(cp.time),
            signer: Some(signer.to_string()),
        })
    });
    // A head with no checkpoint file beside it: every checkpoint (and with them, as a rule,
    // the entries) removed; the head says the log signed some. Not an empty archive.
    if lc.is_some()
        && files == 0
        && std::fs::symlink_metadata(archive.join(tiles::CHECKPOINT_FILE)).is_ok()
    {
        f.push(Finding::at(
            Code::LogCheckpointMissing,
            CHECKPOINTS_DIR,
            format!("holds no checkpoint, but {} is there (the head of a log that signed some): removed", tiles::CHECKPOINT_FILE),
        ));
    }
    if let Some(lc) = lc {
        let cp = lc.sound.last().map(|(c, _)| c);
        if tiles::audit_v2(archive, trust, cp, &lc.sound, witnesses, f)? {
            if let Some(cp) = cp.filter(|_| !witnesses.witnesses.is_empty()) {
                witness::check_witnesses(archive, trust, cp, &cp.body(), witnesses, f);
            }
        }
        f.absorb(lc.sink);
    }
    Ok(LogSummary {
        n,
        files,
        signed,
        latest,
    })
}

/// A symbolic link where the archive's files are (never followed).
fn link(rel: &str) -> Finding {
    Finding::at(
        Code::ArchiveSymlink,
        rel,
        "a symbolic link in the archive (never followed: what it points to is not checked)",
    )
}

/// The archive's layout: symbolic links where its own files belong and anywhere at its top,
/// directories others can write into, a log that is gone. Whether the log and the bundles can
/// be read.
fn check_layout(archive: &Path, f: &mut Sink) -> Result<(bool, bool)> {
    let is_link = |rel: &str| {
        std::fs::symlink_metadata(archive.join(rel)).is_ok_and(|m| m.file_type().is_symlink())
    };
    // Symbolic links where the archive's own files belong, and anywhere in it.
    let mut log_readable = true;
    for rel in ["log", CHECKPOINTS_DIR, ENTRIES_FILE] {
        if is_link(rel) {
            f.push(link(rel));
            log_readable = false;
        }
    }
    let bundles_readable = if is_link(BUNDLES_DIR) {
        f.push(link(BUNDLES_DIR));
        false
    } else {
        true
    };
    for (rel, dir) in [("", archive.to_path_buf()), ("log/", archive.join("log"))] {
        if (rel.is_empty() || log_readable) && dir.is_dir() {
            let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
            for ent in rd.take(10_000) {
                let ent = ent.map_err(|e| Error::io(&dir, e))?;
                let name = format!("{rel}{}", ent.file_name().to_string_lossy());
                let known = [
                    BUNDLES_DIR,
                    "log",
                    CHECKPOINTS_DIR,
                    ENTRIES_FILE,
                    PENDING_DIR,
                ];
                if !known.contains(&name.as_str()) && ent.file_type().is_ok_and(|t| t.is_symlink())
                {
                    f.push(link(&name));
                }
            }
        }
    }
    if log_readable {
        links_under(archive, f);
    }
    // Directories others can write into: anyone could replace the log or a bundle.
    #[cfg(unix)]
    writable_by_others(archive, f);
    if !archive.join("log").is_dir() && log_readable {
        f.push(Finding::at(
            Code::LogCheckpointMissing,
            "log",
            "the archive's log is gone: no entry and no checkpoint vouches for its bundles",
        ));
        log_readable = false;
    }
    Ok((log_readable, bundles_readable))
}

/// A bundle whose file differs from the one logged: named once the other entries are known.
struct Differs {
    at: String,
    index: u64,
    id: String,
    content: String,
    sha: String,
    found_id: Option<String>,
    found_content: Option<String>,
}

/// Each entry's bundle, checked as the log streams by ([`BundleCheck::entry`]).
struct BundleCheck<'a> {
    dir: PathBuf,
    pending_dir: PathBuf,
    keyed: &'a Keyed,
    /// `bundles/` can be read (not a symbolic link).
    readable: bool,
    opts: Options,
    /// Keys of the names the log lists.
    listed: dups::KeySorter,
    differs: Vec<Differs>,
    /// Entries whose bundle is still in `log/pending/` (index, name), and the entries.
    in_pending: Vec<(u64, String)>,
    pending_entries: Vec<Entry>,
    f: Sink,
    /// The bundles read from this store instead of `dir` ([`audit_with_store_bundles`]).
    store: Option<&'a dyn Store>,
}

impl<'a> BundleCheck<'a> {
    fn new(archive: &Path, keyed: &'a Keyed, readable: bool, limits: &Limits) -> Self {
        BundleCheck {
            dir: archive.join(BUNDLES_DIR),
            pending_dir: archive.join(PENDING_DIR),
            keyed,
            readable,
            opts: Options {
                limits: limits.clone(),
                ..Options::default()
            },
            listed: dups::KeySorter::default(),
            differs: Vec::new(),
            in_pending: Vec::new(),
            pending_entries: Vec::new(),
            f: Sink::default(),
            store: None,
        }
    }

    /// Entry `e`'s bundle: there, a regular file, the file logged, valid, holding what the
    /// entry says.
    fn entry(&mut self, e: &Entry) -> Result<()> {
        self.listed
            .push(self.keyed.of(&e.name))
            .map_err(super::spilled)?;
        if !self.readable {
            return Ok(());
        }
        let at = format!("{BUNDLES_DIR}/{}", e.name);
        if let Some(s) = self.store {
            return self.entry_in_store(s, e, at);
        }
        let p = self.dir.join(&e.name);
        let m = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                self.gone(e, &at);
                return Ok(());
            }
            Err(err) => return Err(Error::io(&p, err)),
        };
        if m.file_type().is_symlink() {
            self.f.push(link(&at));
            return Ok(());
        }
        let not_regular = || {
            Finding::at(
                Code::ArchiveBundleReplaced,
                &at,
                format!("log entry {}: not a regular file any more", e.index),
            )
        };
        if !m.is_file() {
            self.f.push(not_regular());
            return Ok(());
        }
        match open_nofollow(&p) {
            Ok(Some(file)) => self.check_file(e, at, &p, file),
            Ok(None) | Err(_) => {
                self.f.push(not_regular());
                Ok(())
            }
        }
    }

    /// Entry `e`'s bundle is not in `bundles/`: still in `log/pending/` (an interrupted add),
    /// or gone.
    fn gone(&mut self, e: &Entry, at: &str) {
        if self.in_pending.len() < 10 * MAX_REPORTED
            && std::fs::symlink_metadata(self.pending_dir.join(&e.name)).is_ok_and(|m| m.is_file())
        {
            self.in_pending.push((e.index, e.name.clone()));
            self.pending_entries.push(e.clone());
        } else {
            self.f.push(Finding::at(
                Code::ArchiveBundleRemoved,
                at,
                format!("log entry {} ({}) is gone from the archive", e.index, e.id),
            ));
        }
    }

    /// Entry `e`'s bundle read from the store `s` in place (ranged reads, nothing on the
    /// disk): there, the file logged, valid, holding what the entry says.
    fn entry_in_store(&mut self, s: &dyn Store, e: &Entry, at: String) -> Result<()> {
        let label = PathBuf::from(format!("{}/{at}", s.root()));
        let size = match store::retry(&store::Backoff::default(), || s.size(&at)) {
            Ok(size) => size,
            // A name the log holds that is no key of the store's: nothing there to read.
            Err(StoreError::Invalid { problem, .. }) => {
                self.f.push(Finding::at(
                    Code::ArchiveBundleRemoved,
                    &at,
                    format!(
                        "log entry {}: no object can have this name ({problem})",
                        e.index
                    ),
                ));
                return Ok(());
            }
            Err(err) => return Err(super::store_common::store_error(err)),
        };
        match size {
            None => {
                self.gone(e, &at);
                Ok(())
            }
            Some(len) => {
                let key = at.clone();
                let mut r = Pinned::new(s, &key, len);
                let checked = self.check_bundle(e, at, &label, &mut r, len);
                // The store failed under a read (the verification would call the bundle
                // invalid): an error of the audit, naming the object, not a finding.
                match r.failed.take() {
                    // Removed since its size was read: gone, as if listed a moment later.
                    Some(StoreError::NotFound { .. }) => {
                        self.gone(e, &key);
                        return Ok(());
                    }
                    Some(err) => return Err(super::store_common::store_error(err)),
                    None => {}
                }
                // Both passes saw one object of the size first read, and it still has that
                // size (a bundle is never replaced by an add: anything else is damage).
                let now = store::retry(&store::Backoff::default(), || s.size(&key))
                    .map_err(super::store_common::store_error)?;
                if r.changed || now != Some(len) {
                    self.f.push(Finding::at(
                        Code::ArchiveBundleReplaced,
                        &key,
                        format!(
                            "log entry {}: the object changed while the audit read it (replaced in the bucket)",
                            e.index
                        ),
                    ));
                    return Ok(());
                }
                checked
            }
        }
    }

    /// The bundle file of entry `e`, open: its digest against the log's, then verified.
    fn check_file(&mut self, e: &Entry, at: String, p: &Path, mut file: File) -> Result<()> {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.check_bundle(e, at, p, &mut file, len)
    }

    /// The bundle of entry `e` (`len` bytes, read from `r`, named `p` in errors): its digest
    /// against the log's, then verified.
    fn check_bundle(
        &mut self,
        e: &Entry,
        at: String,
        p: &Path,
        r: &mut dyn verify::ReadSeek,
        len: u64,
    ) -> Result<()> {
        let sha = sha256_reader(r, p)?;
        r.rewind().map_err(|err| Error::io(p, err))?;
        let report = verify::verify_reader(&p.display().to_string(), r, len, None, &self.opts);
        if sha != e.file_sha256 {
            if self.differs.len() < MAX_REPORTED {
                self.differs.push(Differs {
                    at,
                    index: e.index,
                    id: e.id.clone(),
                    content: e.content_sha256.clone(),
                    sha,
                    found_id: report.id.clone(),
                    found_content: report.content_sha256.clone(),
                });
            } else {
                self.f.push(Finding::at(
                    Code::ArchiveBundleReplaced,
                    &at,
                    format!(
                        "the file differs from the one log entry {} records",
                        e.index
                    ),
                ));
            }
            return Ok(());
        }
        if !report.ok {
            let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
            self.f.push(Finding::at(
                Code::ArchiveBundleInvalid,
                &at,
                format!("log entry {}: {}", e.index, codes.join(", ")),
            ));
        } else if report.content_sha256.as_deref() != Some(&e.content_sha256)
            || report.id.as_deref() != Some(&e.id)
        {
            self.f.push(Finding::at(
                Code::LogEntryAltered,
                &at,
                format!(
                    "log entry {} records {} (content sha256 {}), but its file holds {} ({})",
                    e.index,
                    e.id,
                    e.content_sha256,
                    report.id.as_deref().unwrap_or("-"),
                    report.content_sha256.as_deref().unwrap_or("-")
                ),
            ));
        } else if let Some(why) = link_differs(&report, e) {
            self.f.push(Finding::at(Code::LogEntryAltered, &at, why));
        }
        Ok(())
    }
}

/// A store object read as a file by an audit's two passes over it (its digest, then its
/// verification), in chunks of [`store::RANGE_CHUNK`]: each chunk's SHA-256 is kept from its
/// first read and checked at every later one, so that both passes read the same bytes (an
/// object replaced between them is `changed`, never a digest of one version and a
/// verification of another). Memory: one chunk, and 40 bytes for each chunk read.
struct Pinned<'a> {
    s: &'a dyn Store,
    key: &'a str,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    /// The chunk in `buf`.
    at: Option<u64>,
    seen: HashMap<u64, [u8; 32]>,
    changed: bool,
    /// The store's error under a read, if any.
    failed: Option<StoreError>,
}

impl<'a> Pinned<'a> {
    fn new(s: &'a dyn Store, key: &'a str, len: u64) -> Self {
        Pinned {
            s,
            key,
            len,
            pos: 0,
            buf: Vec::new(),
            at: None,
            seen: HashMap::new(),
            changed: false,
            failed: None,
        }
    }
}

impl std::io::Read for Pinned<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use sha2::{Digest, Sha256};
        if out.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let c = self.pos / store::RANGE_CHUNK;
        if self.at != Some(c) {
            let from = c * store::RANGE_CHUNK;
            let want = store::RANGE_CHUNK.min(self.len - from);
            let bytes = match store::retry(&store::Backoff::default(), || {
                self.s.get_range(self.key, from, want)
            }) {
                Ok(b) => b,
                Err(e) => {
                    let err = std::io::Error::other(e.to_string());
                    self.failed = Some(e);
                    return Err(err);
                }
            };
            let h: [u8; 32] = Sha256::digest(&bytes).into();
            if bytes.len() as u64 != want || *self.seen.entry(c).or_insert(h) != h {
                self.changed = true;
                return Err(std::io::Error::other(format!(
                    "{}/{}: changed while it was read",
                    self.s.root(),
                    self.key
                )));
            }
            self.buf = bytes;
            self.at = Some(c);
        }
        let start = (self.pos - c * store::RANGE_CHUNK) as usize;
        let n = out.len().min(self.buf.len() - start);
        out[..n].copy_from_slice(&self.buf[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Pinned<'_> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let t = match to {
            std::io::SeekFrom::Start(n) => Some(n),
            std::io::SeekFrom::End(d) => self.len.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        self.pos = t;
        Ok(t)
    }
}

/// Bundles swapped or replaced (`differs`): which entry's file each now holds.
fn swapped(archive: &Path, differs: &[Differs], f: &mut Sink) -> Result<()> {
    if differs.is_empty() {
        return Ok(());
    }
    let shas: BTreeSet<&str> = differs.iter().map(|d| d.sha.as_str()).collect();
    let mut owner: HashMap<String, (u64, String)> = HashMap::new();
    scan_entries(archive, &BTreeSet::new(), &mut |_, _, line| {
        if let Ok(e) = Entry::parse(line) {
            if shas.contains(e.file_sha256.as_str()) {
                owner
                    .entry(e.file_sha256.clone())
                    .or_insert((e.index, e.name));
            }
        }
        Ok(())
    })?;
    for d in differs {
        let why = if let Some((i, name)) = owner.get(&d.sha) {
            format!(
                "holds the bundle of log entry {i} ({name}), not that of entry {}: files swapped or renamed",
                d.index
            )
        } else if d.found_content.as_deref() == Some(&d.content) {
            format!(
                "the file differs from the one log entry {} records, though it holds the same sealed content: co-signed or rewritten after it was archived",
                d.index
            )
        } else {
            format!(
                "the file differs from the one log entry {} records: it holds {} (content sha256 {}), not {} ({})",
                d.index,
                d.found_id.as_deref().unwrap_or("an unreadable bundle"),
                d.found_content.as_deref().unwrap_or("-"),
                d.id,
                d.content
            )
        };
        f.push(Finding::at(Code::ArchiveBundleReplaced, &d.at, why));
    }
    Ok(())
}

/// Entries whose bundle is still in `log/pending/`: an interrupted add (what the next add does
/// with each), or, under a checkpoint already, a bundle gone.
fn pending_findings(b: &BundleCheck<'_>, signed: u64, limits: &Limits, f: &mut Sink) {
    let pending_dir = &b.pending_dir;
    for (index, name) in &b.in_pending {
        if *index >= signed {
            // The next add checks it before it signs; say now if it will refuse.
            if let Some(e) = b.pending_entries.iter().find(|e| e.index == *index) {
                if let Err(why) = check_entry_bundle(&pending_dir.join(name), e, limits) {
                    f.push(Finding::at(
                        Code::LogEntryAltered,
                        format!("{PENDING_DIR}/{name}"),
                        format!("log entry {index} ({name}) is not covered by a checkpoint and {why}: the next archive add refuses to sign it"),
                    ));
                }
            }
            f.push(
                Finding::at(
                    Code::LogInterrupted,
                    format!("{PENDING_DIR}/{name}"),
                    format!("log entry {index}'s bundle is still in {PENDING_DIR}: an archive add was interrupted (the next add moves it into place)"),
                )
                .warning(),
            );
        } else {
            f.push(Finding::at(
                Code::ArchiveBundleRemoved,
                format!("{BUNDLES_DIR}/{name}"),
                format!("log entry {index} is gone from the archive (a copy is in {PENDING_DIR}, but a checkpoint already signs it)"),
            ));
        }
    }
}

/// Files in `bundles/` that no entry names (their keys against the `listed` ones, both sorted
/// on disk past a million: bounded memory), then a second pass over the directory names them;
/// temporary files of an interrupted add.
fn unlisted_bundles(
    dir: &Path,
    keyed: &Keyed,
    listed: dups::KeySorter,
    f: &mut Sink,
) -> Result<()> {
    let mut present = dups::KeySorter::default();
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        present.push(keyed.of(&name)).map_err(super::spilled)?;
    }
    let unlisted: BTreeSet<u64> = dups::missing_from(present, listed, 100_000)
        .map_err(super::spilled)?
        .into_iter()
        .collect();
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let ft = ent.file_type().map_err(|e| Error::io(dir, e))?;
        let at = format!("{BUNDLES_DIR}/{name}");
        if is_temp_name(&name) && ft.is_file() {
            f.push(
                Finding::at(
                    Code::LogInterrupted,
                    at,
                    "a temporary file of an interrupted add (the next add removes it)",
                )
                .warning(),
            );
        } else if unlisted.contains(&keyed.of(&name)) {
            if ft.is_symlink() {
                f.push(link(&at));
            } else {
                f.push(Finding::at(
                    Code::ArchiveBundleUnlisted,
                    at,
                    "in the archive but not in its log (added without an archive add, or its entry was removed)",
                ));
            }
        }
    }
    Ok(())
}

/// How many objects under `bundles/` an audit in place accepts beyond one an entry of the
/// log it read (docs/SECURITY.md, "Archives in a bucket").
pub const MAX_UNLOGGED_BUNDLES: u64 = 100_000;

/// [`unlisted_bundles`] of the store `s`'s `bundles/` (two listings, in bounded pages; keys in
/// bounded memory). A key the log read (`n` entries) does not name is unlisted unless its
/// name index object holds an entry at or after `n`: logged by an add since the log was read.
fn unlisted_in_store(
    s: &dyn Store,
    keyed: &Keyed,
    listed: dups::KeySorter,
    n: u64,
    f: &mut Sink,
) -> Result<()> {
    let prefix = format!("{BUNDLES_DIR}/");
    let backoff = store::Backoff::default();
    // An object named `bundles` itself, beside the keys under `bundles/`: no add writes one,
    // and no file system holds both (a copy of the bucket on a disk is refused for it).
    if store::retry(&backoff, || s.size(BUNDLES_DIR))
        .map_err(super::store_common::store_error)?
        .is_some()
    {
        f.push(Finding::at(
            Code::ArchiveBundleUnlisted,
            BUNDLES_DIR,
            "an object named `bundles` beside the bundles under `bundles/`: in the archive but not in its log, in a layout no add writes (a copy on a disk cannot hold both; remove it by hand)",
        ));
    }
    // The most names a listing of `bundles/` may give for a log of `n` entries: one bundle an
    // entry, and [`MAX_UNLOGGED_BUNDLES`] more (planted, or added since the log was read).
    // A listing past it (a server whose listing never ends) is refused before it fills a disk.
    let most = n.saturating_add(MAX_UNLOGGED_BUNDLES);
    // Each name under `bundles/`, and whether it is a key (else a stray: no key, so no
    // bundle, has its name).
    let each = |visit: &mut dyn FnMut(&str, bool) -> Result<()>| -> Result<()> {
        let mut after: Option<String> = None;
        let mut seen: u64 = 0;
        loop {
            let page = store::retry(&backoff, || {
                s.list(&prefix, after.as_deref(), store::MAX_PAGE)
            })
            .map_err(super::store_common::store_error)?;
            seen = seen.saturating_add((page.items.len() + page.stray.len()) as u64);
            if seen > most {
                return Err(invalid(
                    format!("{}/{prefix}", s.root()),
                    format!("listing refused: more than {most} objects for a log of {n} entries (at most {MAX_UNLOGGED_BUNDLES} more than its entries; a listing that never ends?)"),
                ));
            }
            for item in &page.items {
                visit(item.key.strip_prefix(&prefix).unwrap_or(&item.key), true)?;
            }
            for name in &page.stray {
                visit(name.strip_prefix(&prefix).unwrap_or(name), false)?;
            }
            match page.items.last() {
                Some(last) if page.more => after = Some(last.key.clone()),
                _ => return Ok(()),
            }
        }
    };
    let mut present = dups::KeySorter::default();
    let mut strays = false;
    each(&mut |name, key| match key {
        true => present.push(keyed.of(name)).map_err(super::spilled),
        false => {
            strays = true;
            Ok(())
        }
    })?;
    let unlisted: BTreeSet<u64> = dups::missing_from(present, listed, 100_000)
        .map_err(super::spilled)?
        .into_iter()
        .collect();
    if unlisted.is_empty() && !strays {
        return Ok(());
    }
    // An add places its bundles in `bundles/` before it writes their index objects, and its
    // entries leave `log/sequence`'s tail only once both are written: the sequence, read after
    // the listing that found the bundle, holds its entry, or else its name index object does.
    let tail: Vec<(String, u64)> = match store::retry(&backoff, || {
        s.get(v3::SEQUENCE_FILE, v3::MAX_SEQUENCE_BYTES)
    }) {
        Ok(Some(o)) => v3::Sequence::parse(&o.bytes)
            .map(|q| {
                q.tail
                    .iter()
                    .map(|e| (name_key(&e.name), e.index))
                    .collect()
            })
            .unwrap_or_default(),
        Ok(None) | Err(StoreError::TooLarge { .. }) | Err(StoreError::Invalid { .. }) => Vec::new(),
        Err(err) => return Err(super::store_common::store_error(err)),
    };
    let logged_since = |name: &str| -> Result<bool> {
        let k = name_key(name);
        if tail.iter().any(|(t, i)| *i >= n && *t == k) {
            return Ok(true);
        }
        let key = v3::name_index_path(name);
        let got = store::retry(&backoff, || s.get(&key, v3::MAX_INDEX_BYTES));
        Ok(match got {
            Ok(Some(o)) => v3::parse_index(&o.bytes)
                .is_ok_and(|e| e.index >= n && name_key(&e.name) == name_key(name)),
            Ok(None) | Err(StoreError::TooLarge { .. }) | Err(StoreError::Invalid { .. }) => false,
            Err(err) => return Err(super::store_common::store_error(err)),
        })
    };
    each(&mut |name, key| {
        let at = format!("{BUNDLES_DIR}/{name}");
        if !key {
            f.push(Finding::at(
                Code::ArchiveBundleUnlisted,
                at,
                "in the archive but not in its log, under a name no bundle can have (a control character, an empty or `.` component, a trailing `/`): planted by hand (remove it by hand)",
            ));
            return Ok(());
        }
        if !unlisted.contains(&keyed.of(name)) {
            return Ok(());
        }
        if is_temp_name(name) {
            // An add on a store writes no temporary object and removes none: planted, or a
            // local archive's leftover uploaded with it. Either way no add removes it.
            f.push(Finding::at(
                Code::ArchiveBundleUnlisted,
                at,
                "named like a temporary file of an interrupted local add, but in a bucket, where no add writes or removes one: in the archive but not in its log (remove it by hand)",
            ));
        } else if !logged_since(name)? {
            f.push(Finding::at(
                Code::ArchiveBundleUnlisted,
                at,
                "in the archive but not in its log (added without an archive add, or its entry was removed)",
            ));
        }
        Ok(())
    })
}

/// What an interrupted add left in `log/pending/` besides the bundles of entries
/// (`listed_pending`).
fn pending_dir_findings(
    pending_dir: &Path,
    listed_pending: &BTreeSet<&str>,
    f: &mut Sink,
) -> Result<()> {
    let rd = std::fs::read_dir(pending_dir).map_err(|e| Error::io(pending_dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(pending_dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let at = format!("{PENDING_DIR}/{name}");
        let ft = ent.file_type().map_err(|e| Error::io(pending_dir, e))?;
        if ft.is_symlink() {
            f.push(link(&at));
        } else if !ft.is_file() {
            f.push(Finding::at(
                Code::LogMalformed,
                at,
                "not a file an archive add writes (archive add refuses to go on)",
            ));
        } else if !listed_pending.contains(name.as_str()) {
            f.push(
                Finding::at(
                    Code::LogInterrupted,
                    at,
                    "copied by an interrupted archive add (the next add removes it, or moves it into place if it was logged)",
                )
                .warning(),
            );
        }
    }
    Ok(())
}

/// Symbolic links in `log/cosignatures/` and anywhere under `log/tile/` (never through a link;
/// at most [`MAX_LINK_WALK`] directory entries are looked at).
fn links_under(archive: &Path, f: &mut Sink) {
    let mut todo = std::collections::VecDeque::from([
        tiles::COSIGNATURES_DIR.to_string(),
        tiles::TILE_DIR.to_string(),
    ]);
    let mut seen = 0usize;
    while let Some(rel) = todo.pop_front() {
        let Ok(m) = std::fs::symlink_metadata(archive.join(&rel)) else {
            continue;
        };
        // A link in place of log/tile or log/cosignatures is reported with the rest of log/.
        if !m.is_dir() {
            continue;
        }
        let Ok(dir) = std::fs::read_dir(archive.join(&rel)) else {
            continue;
        };
        for ent in dir.flatten() {
            if seen == MAX_LINK_WALK {
                return;
            }
            seen += 1;
            let name = format!("{rel}/{}", ent.file_name().to_string_lossy());
            match ent.file_type() {
                Ok(t) if t.is_symlink() => f.push(link(&name)),
                Ok(t) if t.is_dir() => todo.push_back(name),
                _ => {}
            }
        }
    }
}

/// The most directory entries under `log/cosignatures/` and `log/tile/` that an audit looks at
/// for symbolic links.
const MAX_LINK_WALK: usize = 1 << 22;

/// Report each directory of the archive that group or others can write into
/// (`archive.writable_by_others`): the root, every directory an add or a cosign writes, and
/// every directory under `log/tile/` (never through a symbolic link; at most
/// [`MAX_TILE_DIRS`] of them are looked at).
#[cfg(unix)]
fn writable_by_others(archive: &Path, f: &mut Sink) {
    use std::os::unix::fs::PermissionsExt;
    let mut check = |rel: &str, m: &std::fs::Metadata| {
        let mode = m.permissions().mode();
        if m.is_dir() && mode & 0o022 != 0 {
            f.push(Finding::at(
                Code::ArchiveWritableByOthers,
                if rel.is_empty() { "." } else { rel },
                format!(
                    "directory writable by group or others (mode {:o}): anyone in them could replace the archive's files",
                    mode & 0o7777
                ),
            ));
        }
    };
    if let Ok(m) = std::fs::metadata(archive) {
        check("", &m);
    }
    for rel in [
        BUNDLES_DIR,
        "log",
        CHECKPOINTS_DIR,
        PENDING_DIR,
        crate::ops::timestamp::checkpoint::TOKENS_DIR,
        tiles::COSIGNATURES_DIR,
    ] {
        if let Ok(m) = std::fs::symlink_metadata(archive.join(rel)) {
            check(rel, &m);
        }
    }
    // log/tile and the directories under it, breadth first; links are not directories here.
    let mut todo = std::collections::VecDeque::from([tiles::TILE_DIR.to_string()]);
    let mut seen = 0usize;
    while let Some(rel) = todo.pop_front() {
        let Ok(m) = std::fs::symlink_metadata(archive.join(&rel)) else {
            continue;
        };
        if !m.is_dir() || seen == MAX_TILE_DIRS {
            continue;
        }
        seen += 1;
        check(&rel, &m);
        let Ok(dir) = std::fs::read_dir(archive.join(&rel)) else {
            continue;
        };
        for ent in dir.flatten() {
            if ent.file_type().is_ok_and(|t| t.is_dir()) && seen + todo.len() < MAX_TILE_DIRS {
                todo.push_back(format!("{rel}/{}", ent.file_name().to_string_lossy()));
            }
        }
    }
}

/// The most directories under `log/tile/` whose mode an audit checks (1,000 tiles to a
/// directory: a log of 10^9 entries has about 8,000 of them).
#[cfg(unix)]
const MAX_TILE_DIRS: usize = 1 << 20;
