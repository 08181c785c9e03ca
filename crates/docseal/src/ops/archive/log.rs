//! Checking the log: one function for audit, verify --archive, prove and add.

use super::*;
use crate::format::error::{Error, Result};
use crate::format::finding::{Code, Finding, Severity};
use crate::format::merkle::{self, CompactRange, Hash};
use crate::format::minisign::Signature;
use crate::profile::metadata::format_sealed;
use crate::profile::trust::Trust;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// What reading `log/entries` found besides its lines.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Complete lines.
    pub(super) lines: u64,
    /// Bytes after the last LF (an interrupted write).
    pub(super) torn_tail: usize,
    /// Set when reading stopped early: a line longer than the limit, or too many lines.
    pub(super) stopped: Option<String>,
    /// The root of the first `n` entries, for each `n` asked for.
    pub(super) roots: HashMap<u64, Hash>,
    /// v3: where and why reading the entries stopped early (an entry bundle missing or
    /// malformed, `log/sequence` unreadable).
    pub(super) source_problem: Option<(String, String)>,
}

/// What [`scan_entries`] calls for each line: its position, leaf hash and bytes.
pub(super) type EachLine<'a> = dyn FnMut(u64, &Hash, &[u8]) -> Result<()> + 'a;

/// Stream `ARCHIVE/log/entries` (a missing file is an empty log): each complete line's position,
/// leaf hash and bytes (without LF) go to `each`, in order; the roots of the prefixes of sizes `want` are
/// computed on the way. Memory does not grow with the log.
pub(super) fn scan_entries(
    archive: &Path,
    want: &BTreeSet<u64>,
    each: &mut EachLine<'_>,
) -> Result<Scan> {
    let mut roots = HashMap::new();
    let mut out = scan_entries_at(
        archive,
        &mut want.iter().copied(),
        &mut |size, r| {
            roots.insert(size, *r);
            Ok(())
        },
        each,
    )?;
    out.roots = roots;
    Ok(out)
}

/// What [`scan_entries_at`] calls with the root of the first `size` entries, for each size
/// asked for that the log reaches.
pub(super) type AtRoot<'a> = dyn FnMut(u64, &Hash) -> Result<()> + 'a;

/// [`scan_entries`] with the sizes asked for streamed (`want`, ascending; 0 and repeats
/// ignored) and each root given to `at_root` as the stream reaches it, not kept.
pub(super) fn scan_entries_at(
    archive: &Path,
    want: &mut dyn Iterator<Item = u64>,
    at_root: &mut AtRoot<'_>,
    each: &mut EachLine<'_>,
) -> Result<Scan> {
    let path = archive.join(ENTRIES_FILE);
    // v3: the entry bundles and the tail of log/sequence, as log/entries would hold them.
    if v3log::is_v3(archive)? {
        let mut r = v3log::EntrySource::open(archive);
        let mut out = scan_lines(archive, &mut r, &path, want, at_root, each)?;
        out.source_problem = r.problem().cloned();
        return Ok(out);
    }
    let Some(f) = open_nofollow(&path)? else {
        return Ok(Scan::default());
    };
    let mut r = BufReader::with_capacity(64 << 10, f);
    scan_lines(archive, &mut r, &path, want, at_root, each)
}

/// [`scan_entries_at`] over the entry lines `r` gives (`path`: where errors point).
fn scan_lines(
    archive: &Path,
    r: &mut dyn BufRead,
    path: &Path,
    want: &mut dyn Iterator<Item = u64>,
    at_root: &mut AtRoot<'_>,
    each: &mut EachLine<'_>,
) -> Result<Scan> {
    let mut out = Scan::default();
    let max = max_entries(archive);
    let mut cr = CompactRange::new();
    let mut wanted = want.filter(|&s| s > 0).peekable();
    let mut buf = Vec::with_capacity(512);
    loop {
        buf.clear();
        let n = (&mut *r)
            .take(MAX_ENTRY_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            if buf.len() > MAX_ENTRY_LINE {
                out.stopped = Some(format!(
                    "line {} is longer than {MAX_ENTRY_LINE} bytes: not a docseal log",
                    out.lines + 1
                ));
            } else {
                out.torn_tail = buf.len();
            }
            break;
        }
        if out.lines >= max {
            out.stopped = Some(format!("more than {max} entries"));
            break;
        }
        let line = &buf[..buf.len() - 1];
        let leaf = merkle::leaf_hash(line);
        cr.push(leaf);
        // Sizes below this one were passed (repeats, or out of order): skipped.
        while wanted.peek().is_some_and(|&s| s <= cr.size()) {
            if wanted.next() == Some(cr.size()) {
                at_root(cr.size(), &cr.root())?;
            }
        }
        each(out.lines, &leaf, line)?;
        out.lines += 1;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Checking the log: one function for audit, verify --archive, prove and add
// ---------------------------------------------------------------------------------------------

/// Findings, at most [`MAX_REPORTED`] of each code listed (then one saying how many in all).
#[derive(Debug, Default)]
pub(super) struct Sink {
    pub(super) out: Vec<Finding>,
    pub(super) counts: BTreeMap<Code, (usize, Severity)>,
}

impl Sink {
    pub(super) fn push(&mut self, f: Finding) {
        let c = self.counts.entry(f.code).or_insert((0, f.severity));
        c.0 += 1;
        if f.severity == Severity::Error {
            c.1 = Severity::Error;
        }
        if c.0 <= MAX_REPORTED {
            self.out.push(f);
        }
    }
    /// Take in the findings of `o` (listed and counted).
    pub(super) fn absorb(&mut self, o: Sink) {
        for x in o.out {
            if self.out.iter().filter(|y| y.code == x.code).count() < MAX_REPORTED {
                self.out.push(x);
            }
        }
        for (code, (n, sev)) in o.counts {
            let c = self.counts.entry(code).or_insert((0, sev));
            c.0 += n;
            if sev == Severity::Error {
                c.1 = Severity::Error;
            }
        }
    }
    /// The first error finding, ignoring `except`.
    pub(super) fn first_error(&self, except: &[Code]) -> Option<&Finding> {
        self.out
            .iter()
            .find(|f| f.severity == Severity::Error && !except.contains(&f.code))
    }
    pub(super) fn finish(mut self) -> Vec<Finding> {
        for (code, (n, sev)) in &self.counts {
            if *n > MAX_REPORTED {
                let mut f = Finding::new(
                    *code,
                    format!(
                        "{n} findings of this kind in all; the first {MAX_REPORTED} are listed"
                    ),
                );
                f.severity = *sev;
                self.out.push(f);
            }
        }
        self.out
    }
}

/// A keyed 64-bit hash (random key per run: no input can be made to collide on purpose), to
/// find duplicates among a million entries in 8 bytes each.
#[derive(Clone)]
pub(super) struct Keyed(std::collections::hash_map::RandomState);

impl Keyed {
    pub(super) fn new() -> Self {
        Keyed(std::collections::hash_map::RandomState::new())
    }
    pub(super) fn of(&self, s: &str) -> u64 {
        use std::hash::BuildHasher;
        self.0.hash_one(s)
    }
}

/// A file name as two file systems that ignore case would see it: NFC, case-folded.
pub(super) fn name_key(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    use unicode_normalization::UnicodeNormalization;
    let nfc: String = name.nfc().collect();
    caseless::default_case_fold_str(&nfc).nfc().collect()
}

/// The keys that occur more than once (at most `cap`).
pub(super) fn duplicates(v: dups::KeySorter, cap: usize) -> Result<BTreeSet<u64>> {
    Ok(v.duplicates(cap).map_err(spilled)?.into_iter().collect())
}

/// A checkpoint that counts, as [`check_log`] keeps it after reading: a fixed record of what
/// the checks and the proofs need (its origin and signer are kept for the latest only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rec {
    pub(super) size: u64,
    pub(super) previous: u64,
    pub(super) time: DateTime<Utc>,
    pub(super) root: Hash,
}

/// Bytes of a [`Rec`]: size, previous, seconds, nanoseconds, root.
const REC: usize = 8 + 8 + 8 + 4 + 32;

impl Rec {
    pub(super) fn of(cp: &Checkpoint) -> Self {
        Rec {
            size: cp.size,
            previous: cp.previous,
            time: cp.time,
            root: cp.root,
        }
    }
    fn to_bytes(self) -> [u8; REC] {
        let mut b = [0u8; REC];
        b[..8].copy_from_slice(&self.size.to_le_bytes());
        b[8..16].copy_from_slice(&self.previous.to_le_bytes());
        b[16..28].copy_from_slice(&dups::time_bytes(&self.time));
        b[28..].copy_from_slice(&self.root);
        b
    }
    fn from_bytes(b: &[u8; REC]) -> Self {
        let u = |r: std::ops::Range<usize>| {
            let mut x = [0u8; 8];
            x[..r.len()].copy_from_slice(&b[r]);
            u64::from_le_bytes(x)
        };
        let (mut root, mut time) = ([0u8; 32], [0u8; 12]);
        root.copy_from_slice(&b[28..]);
        time.copy_from_slice(&b[16..28]);
        Rec {
            size: u(0..8),
            previous: u(8..16),
            time: dups::time_of(&time),
            root,
        }
    }
}

/// An error of the temporary files a reader spills to.
pub(super) fn spilled(e: std::io::Error) -> Error {
    Error::io(std::env::temp_dir(), e)
}

/// The checkpoints that count, in size order (see [`check_log`]): fixed records in
/// [`dups::Records`] (in memory up to 256 KiB, then in a temporary file: a log may hold a
/// checkpoint an entry), and the latest one whole, with who signed it.
#[derive(Default)]
pub(super) struct Sound {
    recs: dups::Records<REC>,
    last: Option<(Checkpoint, Arc<str>)>,
    first_origin: Option<String>,
}

impl Sound {
    fn push(&mut self, cp: &Checkpoint, signer: Arc<str>) -> Result<()> {
        self.recs.push(&Rec::of(cp).to_bytes()).map_err(spilled)?;
        self.first_origin.get_or_insert_with(|| cp.origin.clone());
        self.last = Some((cp.clone(), signer));
        Ok(())
    }
    /// How many.
    pub(super) fn len(&self) -> u64 {
        self.recs.len()
    }
    /// The latest (largest), with who signed it.
    pub(super) fn last(&self) -> Option<&(Checkpoint, Arc<str>)> {
        self.last.as_ref()
    }
    /// Every one, in size order.
    pub(super) fn iter(&self) -> impl Iterator<Item = Result<Rec>> + '_ {
        self.recs
            .iter()
            .map(|r| r.map(|b| Rec::from_bytes(&b)).map_err(spilled))
    }
    /// Their sizes, ascending.
    pub(super) fn sizes(&self) -> impl Iterator<Item = Result<u64>> + '_ {
        self.iter().map(|r| r.map(|r| r.size))
    }
    /// The first whose size is at least `size`.
    fn at_least(&self, size: u64) -> Result<Option<Rec>> {
        let i = self
            .recs
            .partition_point(|b| Rec::from_bytes(b).size < size)
            .map_err(spilled)?;
        Ok(self
            .recs
            .get(i)
            .map_err(spilled)?
            .map(|b| Rec::from_bytes(&b)))
    }
    /// The one of size `size`.
    pub(super) fn get(&self, size: u64) -> Result<Option<Rec>> {
        Ok(self.at_least(size)?.filter(|r| r.size == size))
    }
    /// Whether one has size `size`.
    pub(super) fn contains(&self, size: u64) -> Result<bool> {
        Ok(self.get(size)?.is_some())
    }
    /// The first larger than `size` (the first to include entry `size`).
    pub(super) fn first_above(&self, size: u64) -> Result<Option<u64>> {
        Ok(self.at_least(size.saturating_add(1))?.map(|r| r.size))
    }
}

/// The log as checked.
pub(super) struct LogCheck {
    /// Complete entry lines.
    pub(super) n: u64,
    /// Checkpoint files (by size).
    pub(super) files: u64,
    /// The complete checkpoints that count (signed by a trusted key; with no trust given, all
    /// with a signature), in size order, the latest with who signed it.
    pub(super) sound: Sound,
    /// An interrupted add's checkpoint signature without its note: the checkpoint rebuilt.
    pub(super) orphan: Option<Checkpoint>,
    /// Every problem found with the log.
    pub(super) sink: Sink,
}

/// Check the archive's log: every entry line, every checkpoint (note, signature, key, file name,
/// `previous`, origin, time order), every checkpoint's root against the entries, every kept
/// checkpoint, duplicate names (also differing only in case) and contents, and what an
/// interrupted add left. `audit`, `verify --archive`, `prove` and `add` all use this one check.
///
/// With `trust`, only checkpoints validly signed by a key usable at their time count (others
/// are `log.checkpoint_untrusted`); without, every checkpoint with a signature counts (its
/// signature is checked by whoever checks the proof). `each` sees every well-formed entry, in
/// order, while the log is streamed once; memory grows neither with the log nor with its
/// checkpoints (each is checked in turn, then kept as a fixed record in a temporary file; the
/// entries' keys are sorted in spilled runs).
pub(super) fn check_log(
    archive: &Path,
    trust: Option<&Trust>,
    kept: &[KeptCheckpoint],
    each: &mut dyn FnMut(&Entry) -> Result<()>,
) -> Result<LogCheck> {
    let mut f = Sink::default();
    // Checkpoints: signatures and their chain first (they do not need the entries).
    let (cps, sound, orphan_sig, chain) = read_sound_checkpoints(archive, trust, &mut f)?;
    // The entries, streamed once; each checkpoint's root compared as the stream reaches its
    // size.
    let mut kept_sizes: Vec<u64> = kept.iter().map(|k| k.checkpoint.size).collect();
    kept_sizes.sort_unstable();
    kept_sizes.dedup();
    let orphan_size = orphan_sig.as_ref().map(|(s, _)| *s);
    let mut kept_roots: HashMap<u64, Hash> = HashMap::new();
    let mut orphan_root = None;
    let mut roots = RootCheck::default();
    let mut want = Want::new(cps.files.iter(), kept_sizes.iter().copied());
    let mut next_sound = sound.iter().peekable();
    let keyed = Keyed::new();
    let at = v3log::EntriesAt::of(archive);
    let (scan, keys) = stream_entries(
        archive,
        &at,
        &mut want,
        &mut |size, r| {
            if kept_sizes.binary_search(&size).is_ok() {
                kept_roots.insert(size, *r);
            }
            if orphan_size == Some(size) {
                orphan_root = Some(*r);
            }
            while let Some(rec) =
                next_sound.next_if(|x| x.as_ref().map_or(true, |x| x.size <= size))
            {
                let rec = rec?;
                if rec.size == size {
                    roots.check(&rec, r);
                }
            }
            Ok(())
        },
        &keyed,
        each,
        &mut f,
    )?;
    if let Some(e) = want.failed.take() {
        return Err(spilled(e));
    }
    let n = scan.lines;
    // The checkpoints past the entries read.
    for rec in next_sound {
        let rec = rec?;
        f.push(Finding::at(
            Code::LogTruncated,
            format!("{CHECKPOINTS_DIR}/{}", rec.size),
            format!(
                "covers {} entries, but the log has only {n}: entries were removed from its end",
                rec.size
            ),
        ));
    }
    let altered_range = roots.altered_range;
    f.absorb(chain);
    let orphan = check_orphan(orphan_sig, &cps.files, orphan_root, trust, &mut f)?;
    check_signed(
        &at,
        orphan.as_ref(),
        &sound,
        n,
        cps.files.is_empty(),
        &mut f,
    );
    check_kept(
        archive,
        kept,
        trust,
        &sound,
        &kept_roots,
        &cps.files,
        n,
        &mut f,
    )?;
    // Duplicate names and contents, and the names in an altered range: a second pass, only
    // when needed.
    check_duplicates(archive, &at, &keyed, keys, altered_range, &mut f)?;
    Ok(LogCheck {
        n,
        files: cps.files.len(),
        sound,
        orphan,
        sink: f,
    })
}

/// The sizes whose roots [`check_log`] compares: the checkpoint files' and the kept
/// checkpoints', merged, ascending, without repeats (an error reading the files' is kept for
/// after the stream).
struct Want<A: Iterator<Item = std::io::Result<u64>>, B: Iterator<Item = u64>> {
    files: std::iter::Peekable<A>,
    kept: std::iter::Peekable<B>,
    failed: Option<std::io::Error>,
}

impl<A: Iterator<Item = std::io::Result<u64>>, B: Iterator<Item = u64>> Want<A, B> {
    fn new(files: A, kept: B) -> Self {
        Want {
            files: files.peekable(),
            kept: kept.peekable(),
            failed: None,
        }
    }
}

impl<A: Iterator<Item = std::io::Result<u64>>, B: Iterator<Item = u64>> Iterator for Want<A, B> {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        let file = match self.files.peek() {
            Some(Ok(s)) => Some(*s),
            Some(Err(_)) => {
                if let Some(Err(e)) = self.files.next() {
                    self.failed = Some(e);
                }
                return None;
            }
            None => None,
        };
        let kept = self.kept.peek().copied();
        let next = match (file, kept) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return None,
        };
        if file == Some(next) {
            self.files.next();
        }
        if kept == Some(next) {
            self.kept.next();
        }
        Some(next)
    }
}

/// The checkpoints that count, compared with the roots of the entries as the stream reaches
/// their sizes: the first range of entries a checkpoint fails to hash.
#[derive(Default)]
struct RootCheck {
    good_before: u64,
    failing: bool,
    altered_range: AlteredRange,
}

impl RootCheck {
    fn check(&mut self, rec: &Rec, root: &Hash) {
        if *root != rec.root {
            if !self.failing && self.altered_range.is_none() {
                self.altered_range = Some((
                    self.good_before,
                    rec.size,
                    format!("{CHECKPOINTS_DIR}/{}", rec.size),
                ));
            }
            self.failing = true;
        } else {
            self.failing = false;
            self.good_before = rec.size;
        }
    }
}

/// A checkpoint's signature (bytes of `log/checkpoints/<N>.minisig` without its note).
type OrphanSignature = Option<(u64, Vec<u8>)>;

/// Read `log/checkpoints`: the checkpoints that count, with who signed them (see
/// [`check_log`]), and a signature left without its note by an interrupted add (only for the
/// largest size); everything else found there is reported in `f`, the chain of the
/// checkpoints that count (origin, `previous`, time order) in the sink returned.
fn read_sound_checkpoints(
    archive: &Path,
    trust: Option<&Trust>,
    f: &mut Sink,
) -> Result<(Checkpoints, Sound, OrphanSignature, Sink)> {
    let mut sound = Sound::default();
    let mut chain = Sink::default();
    let mut first_origin: Option<String> = None;
    let mut prev_time: Option<(u64, DateTime<Utc>)> = None;
    let mut failed: Option<Error> = None;
    let mut orphan_sig: OrphanSignature = None;
    let cps = read_checkpoints(archive, &mut |size, body, sig, cf, before| {
        let at = format!("{CHECKPOINTS_DIR}/{size}");
        let (body, sig) = match (body, sig) {
            (Some(b), Some(s)) => (b, s),
            (None, Some(s)) => {
                // Sizes come ascending: an earlier one is not the largest, so a note removed.
                if let Some((gone, _)) = orphan_sig.replace((size, s.to_vec())) {
                    f.push(Finding::at(
                        Code::LogCheckpointMissing,
                        format!("{CHECKPOINTS_DIR}/{gone}"),
                        format!("{gone}.minisig is there but checkpoint {gone} is gone"),
                    ));
                }
                return;
            }
            (_, None) => {
                f.push(Finding::at(
                    Code::LogCheckpointInvalid,
                    &at,
                    format!("has no signature ({size}.minisig is missing)"),
                ));
                return;
            }
        };
        let cp = match &cf.parsed {
            Ok(cp) => cp,
            Err(why) if why.starts_with("the file name says") => {
                f.push(Finding::at(Code::LogCheckpointInvalid, &at, why.clone()));
                return;
            }
            Err(why) => {
                f.push(Finding::at(Code::LogMalformed, &at, why.clone()));
                return;
            }
        };
        match signer_of(cp, body, sig, trust, &at) {
            Ok(signer) => {
                let checked =
                    check_chain(cp, before, &mut first_origin, &mut prev_time, &mut chain)
                        .and_then(|()| sound.push(cp, Arc::from(signer)));
                if let Err(e) = checked {
                    failed.get_or_insert(e);
                }
            }
            Err(finding) => f.push(finding),
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    other_checkpoint_files(archive, &cps, f);
    // A signature without its note is what an add interrupted between the two leaves, but only
    // for the largest size of all; any other is a checkpoint removed.
    let largest = cps.files.last().map_err(spilled)?;
    if let Some((size, _)) = &orphan_sig {
        if Some(*size) != largest {
            f.push(Finding::at(
                Code::LogCheckpointMissing,
                format!("{CHECKPOINTS_DIR}/{size}"),
                format!("{size}.minisig is there but checkpoint {size} is gone"),
            ));
            orphan_sig = None;
        }
    }
    Ok((cps, sound, orphan_sig, chain))
}

/// What `log/checkpoints` (and `log/pending`) hold besides checkpoints: symbolic links,
/// temporary files of an interrupted add, stray files.
fn other_checkpoint_files(archive: &Path, cps: &Checkpoints, f: &mut Sink) {
    if std::fs::symlink_metadata(archive.join(PENDING_DIR))
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        f.push(Finding::at(
            Code::ArchiveSymlink,
            PENDING_DIR,
            "a symbolic link in the archive (never followed: what it points to is not checked)",
        ));
    }
    for s in &cps.links {
        f.push(Finding::at(
            Code::ArchiveSymlink,
            format!("{CHECKPOINTS_DIR}/{s}"),
            "a symbolic link in the archive (never followed)",
        ));
    }
    for s in &cps.temp {
        f.push(
            Finding::at(
                Code::LogInterrupted,
                format!("{CHECKPOINTS_DIR}/{s}"),
                "a temporary file of an interrupted archive add (the next add removes it)",
            )
            .warning(),
        );
    }
    for s in &cps.stray {
        f.push(Finding::at(
            Code::LogMalformed,
            format!("{CHECKPOINTS_DIR}/{s}"),
            "not a checkpoint file (<N> or <N>.minisig)",
        ));
    }
    for (s, why) in &cps.unreadable {
        f.push(Finding::at(
            Code::LogMalformed,
            format!("{CHECKPOINTS_DIR}/{s}"),
            format!("cannot be read: {why}"),
        ));
    }
    // Past the ones kept: counted only (none of them would be listed).
    if cps.unreadable_more > 0 {
        let c = f
            .counts
            .entry(Code::LogMalformed)
            .or_insert((0, Severity::Error));
        c.0 =
            c.0.saturating_add(usize::try_from(cps.unreadable_more).unwrap_or(usize::MAX));
        c.1 = Severity::Error;
    }
}

/// Who signed checkpoint `cp` (file `at`), as [`check_log`] counts it: with `trust`, a trusted
/// key; without, any well-formed signature; else the finding that says why it does not count.
fn signer_of(
    cp: &Checkpoint,
    body: &[u8],
    sig: &[u8],
    trust: Option<&Trust>,
    at: &str,
) -> std::result::Result<String, Finding> {
    match trust {
        None => match Signature::parse(sig) {
            Ok(s) => Ok(s.key_id.to_string()),
            Err(e) => Err(Finding::at(
                Code::LogCheckpointInvalid,
                at,
                format!("malformed signature: {e}"),
            )),
        },
        Some(trust) => match check_signature(cp, body, sig, trust) {
            Signer::Invalid(why) => Err(Finding::at(Code::LogCheckpointInvalid, at, why)),
            // Whatever it says, it is not the archive's word: not compared with the log.
            Signer::Untrusted(why) => Err(Finding::at(Code::LogCheckpointUntrusted, at, why)),
            Signer::Trusted { key_id, name } => Ok(match name {
                Some(n) => format!("{key_id} ({n})"),
                None => key_id.to_string(),
            }),
        },
    }
}

/// The keys of the entries' names and contents, for the duplicates.
struct EntryKeys {
    names: dups::KeySorter,
    contents: dups::KeySorter,
}

/// Stream `log/entries` once: each well-formed entry to `each`, the roots of the sizes in
/// `want`, malformed lines, an interrupted write and index fields reported.
fn stream_entries(
    archive: &Path,
    at: &v3log::EntriesAt,
    want: &mut dyn Iterator<Item = u64>,
    at_root: &mut AtRoot<'_>,
    keyed: &Keyed,
    each: &mut dyn FnMut(&Entry) -> Result<()>,
    f: &mut Sink,
) -> Result<(Scan, EntryKeys)> {
    // Keys of names and contents, spilled to temporary files beyond a million (bounded memory).
    let mut name_keys = dups::KeySorter::default();
    let mut content_keys = dups::KeySorter::default();
    let spill = spilled;
    // Index fields: kept only once one is not its position (u32::MAX: a malformed line).
    let mut indices: Option<Vec<u32>> = None;
    let mut misplaced: Vec<(u64, u64, String)> = Vec::new();
    let scan = scan_entries_at(archive, want, at_root, &mut |pos, _leaf, line| {
        let e = match Entry::parse(line) {
            Ok(e) => e,
            Err(why) => {
                f.push(Finding::at(Code::LogMalformed, at.line(pos), why));
                if let Some(v) = &mut indices {
                    v.push(u32::MAX);
                }
                return Ok(());
            }
        };
        if e.index != pos && indices.is_none() {
            indices = Some((0..pos as u32).collect());
        }
        if let Some(v) = &mut indices {
            v.push(u32::try_from(e.index).unwrap_or(u32::MAX - 1));
            if e.index != pos && misplaced.len() < MAX_REPORTED {
                misplaced.push((pos, e.index, e.name.clone()));
            }
        }
        name_keys
            .push(keyed.of(&name_key(&e.name)))
            .map_err(spill)?;
        content_keys
            .push(keyed.of(&e.content_sha256))
            .map_err(spill)?;
        each(&e)
    })?;
    let n = scan.lines;
    if let Some(why) = &scan.stopped {
        f.push(Finding::at(Code::LogMalformed, at.whole(), why.clone()));
    }
    if let Some((path, why)) = &scan.source_problem {
        let code = if path == v3::SEQUENCE_FILE {
            Code::LogSequenceInvalid
        } else {
            Code::LogTilesInvalid
        };
        f.push(Finding::at(
            code,
            path,
            format!("{why}: the log's entries from entry {n} on cannot be read"),
        ));
    }
    if scan.torn_tail > 0 {
        f.push(
            Finding::at(
                Code::LogInterrupted,
                at.line(n),
                format!(
                    "{} bytes after the last complete line: an interrupted archive add (the next add removes them; no checkpoint covers them)",
                    scan.torn_tail
                ),
            )
            .warning(),
        );
    }
    if let Some(v) = indices {
        index_findings(at, &v, &misplaced, f);
    }
    let keys = EntryKeys {
        names: name_keys,
        contents: content_keys,
    };
    Ok((scan, keys))
}

/// The entries a range of checkpoints fails to hash: from the last good size, to the first
/// bad one, at that checkpoint's file.
type AlteredRange = Option<(u64, u64, String)>;

/// The chain of the checkpoints that count, one at a time in size order: `cp`'s origin against
/// the first's, its `previous` against the checkpoint file before it (`before`: the sizes of
/// the files before it), its time against the one before it that counts.
fn check_chain(
    cp: &Checkpoint,
    before: &dups::Sizes,
    first_origin: &mut Option<String>,
    prev_time: &mut Option<(u64, DateTime<Utc>)>,
    f: &mut Sink,
) -> Result<()> {
    let at = format!("{CHECKPOINTS_DIR}/{}", cp.size);
    match first_origin {
        None => *first_origin = Some(cp.origin.clone()),
        Some(first) if *first != cp.origin => f.push(Finding::at(
            Code::LogCheckpointInconsistent,
            &at,
            format!(
                "origin {:?} differs from the first checkpoint's {:?}",
                cp.origin, first
            ),
        )),
        Some(_) => {}
    }
    let expected = before.last().map_err(spilled)?.unwrap_or(0);
    if cp.previous != expected {
        // `previous` is below the size (parsed so), so every file it may name is listed.
        if cp.previous > 0 && !before.contains(cp.previous).map_err(spilled)? {
            f.push(Finding::at(
                Code::LogCheckpointMissing,
                format!("{CHECKPOINTS_DIR}/{}", cp.previous),
                format!(
                    "checkpoint {} names checkpoint {} as the one before it, and it is gone",
                    cp.size, cp.previous
                ),
            ));
        } else {
            f.push(Finding::at(
                Code::LogCheckpointInconsistent,
                &at,
                format!(
                    "names checkpoint {} as the one before it, but the one before it is checkpoint {expected} (inserted?)",
                    cp.previous
                ),
            ));
        }
    }
    if let Some((size, time)) = *prev_time {
        if cp.time < time {
            f.push(Finding::at(
                Code::LogCheckpointInconsistent,
                &at,
                format!(
                    "dated {}, before checkpoint {size} ({}): back-dated",
                    format_sealed(cp.time),
                    format_sealed(time)
                ),
            ));
        }
    }
    *prev_time = Some((cp.size, cp.time));
    Ok(())
}

/// The interrupted add's signature: its checkpoint rebuilt (`root`: the entries' root at its
/// size, if the log reaches it) and checked; the checkpoint if it is one this log's next add
/// can complete.
fn check_orphan(
    orphan_sig: OrphanSignature,
    files: &dups::Sizes,
    root: Option<Hash>,
    trust: Option<&Trust>,
    f: &mut Sink,
) -> Result<Option<Checkpoint>> {
    let mut orphan = None;
    if let Some((size, sig)) = orphan_sig {
        let at = format!("{CHECKPOINTS_DIR}/{size}");
        let previous = files.before(size).map_err(spilled)?.unwrap_or(0);
        let rebuilt = root
            .and_then(|r| rebuild_checkpoint(&sig, r, previous))
            .filter(|cp| cp.size == size);
        let ok = match (&rebuilt, trust) {
            (None, _) => Err(
                "its note is gone and the signature is not one docseal wrote for this log"
                    .to_string(),
            ),
            (Some(cp), Some(t)) => match check_signature(cp, cp.body().as_bytes(), &sig, t) {
                Signer::Trusted { .. } => Ok(()),
                Signer::Untrusted(why) | Signer::Invalid(why) => Err(why),
            },
            (Some(_), None) => Ok(()),
        };
        match ok {
            Ok(()) => {
                f.push(
                    Finding::at(
                        Code::LogInterrupted,
                        &at,
                        format!("{size}.minisig is there but not its note: an archive add interrupted after signing (the next add writes the note)"),
                    )
                    .warning(),
                );
                orphan = rebuilt;
            }
            Err(why) => f.push(Finding::at(
                Code::LogCheckpointMissing,
                &at,
                format!("{size}.minisig is there but checkpoint {size} is gone ({why})"),
            )),
        }
    }
    Ok(orphan)
}

/// Entries no checkpoint signs (the latest being `orphan`, if any, else the last sound one).
fn check_signed(
    at: &v3log::EntriesAt,
    orphan: Option<&Checkpoint>,
    sound: &Sound,
    n: u64,
    no_files: bool,
    f: &mut Sink,
) {
    let signed = orphan.map(|c| c.size).or(sound.last().map(|(c, _)| c.size));
    match signed {
        None if n > 0 && no_files => f.push(Finding::at(
            Code::LogCheckpointMissing,
            CHECKPOINTS_DIR,
            "no checkpoint signs the log (its checkpoints were removed, or the archive's first add was interrupted before it signed: the next add checks and signs its entries)",
        )),
        Some(s) if n > s => f.push(
            Finding::at(
                Code::LogUnsignedEntries,
                at.line(s),
                format!(
                    "entries {s}..{} come after the latest checkpoint ({s}) and no checkpoint signs them",
                    n - 1
                ),
            )
            .warning(),
        ),
        _ => {}
    }
}

/// Checkpoints the auditor kept: signature, log, root against the entries, the archive's copy.
// Eight arguments: the kept checkpoints checked against every part of the log check.
#[allow(clippy::too_many_arguments)]
fn check_kept(
    archive: &Path,
    kept: &[KeptCheckpoint],
    trust: Option<&Trust>,
    sound: &Sound,
    roots: &HashMap<u64, Hash>,
    files: &dups::Sizes,
    n: u64,
    f: &mut Sink,
) -> Result<()> {
    let first_origin = sound.first_origin.as_ref();
    for k in kept {
        let cp = &k.checkpoint;
        let at = k.label.clone();
        if let (Some(sig), Some(trust)) = (&k.signature, trust) {
            match check_signature(cp, &k.body, sig, trust) {
                Signer::Invalid(why) => {
                    f.push(Finding::at(Code::LogCheckpointInvalid, &at, why));
                    continue;
                }
                Signer::Untrusted(why) => {
                    f.push(Finding::at(Code::LogCheckpointUntrusted, &at, why))
                }
                Signer::Trusted { .. } => {}
            }
        }
        if let Some(first) = first_origin.filter(|o| **o != cp.origin) {
            f.push(Finding::at(
                Code::LogCheckpointInconsistent,
                &at,
                format!(
                    "kept checkpoint is of log {:?}, this archive's is {first:?}",
                    cp.origin
                ),
            ));
            continue;
        }
        match roots.get(&cp.size) {
            None => f.push(Finding::at(
                Code::LogTruncated,
                &at,
                format!(
                    "the checkpoint you kept covers {} entries; the log now has {n}: it was truncated or rolled back",
                    cp.size
                ),
            )),
            Some(r) if *r != cp.root => f.push(Finding::at(
                Code::LogEntryAltered,
                &at,
                format!(
                    "the log was rewritten since the checkpoint you kept: its first {} entries no longer hash to that checkpoint's root",
                    cp.size
                ),
            )),
            Some(_) => {}
        }
        // Notes are canonical: the same checkpoint is the same bytes (read again: only the
        // sizes of the checkpoint files are kept).
        let file = match files.contains(cp.size).map_err(spilled)? {
            false => None,
            true => Some(
                read_limited(
                    &archive.join(CHECKPOINTS_DIR).join(cp.size.to_string()),
                    MAX_CHECKPOINT_BYTES,
                )
                .ok()
                .flatten(),
            ),
        };
        match file {
            None => f.push(Finding::at(
                Code::LogCheckpointMissing,
                format!("{CHECKPOINTS_DIR}/{}", cp.size),
                format!("checkpoint {}, which you kept ({at}), is gone", cp.size),
            )),
            Some(b) if b.as_deref() != Some(cp.body().as_bytes()) => f.push(Finding::at(
                Code::LogCheckpointInconsistent,
                format!("{CHECKPOINTS_DIR}/{}", cp.size),
                format!("differs from the checkpoint {} you kept ({at})", cp.size),
            )),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Duplicate names (also differing only in case) and contents, and the names in an altered
/// range: a second pass over `log/entries`, only when needed.
fn check_duplicates(
    archive: &Path,
    at: &v3log::EntriesAt,
    keyed: &Keyed,
    keys: EntryKeys,
    altered_range: AlteredRange,
    f: &mut Sink,
) -> Result<()> {
    let dup_names = duplicates(keys.names, MAX_REPORTED)?;
    let dup_contents = duplicates(keys.contents, MAX_REPORTED)?;
    if !dup_names.is_empty() || !dup_contents.is_empty() || altered_range.is_some() {
        let mut by_name: BTreeMap<u64, Vec<(u64, String)>> = BTreeMap::new();
        let mut by_content: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let mut range_names: Vec<String> = Vec::new();
        scan_entries(archive, &BTreeSet::new(), &mut |pos, _, line| {
            let Ok(e) = Entry::parse(line) else {
                return Ok(());
            };
            let k = keyed.of(&name_key(&e.name));
            if dup_names.contains(&k) {
                let v = by_name.entry(k).or_default();
                if v.len() < 10 {
                    v.push((e.index, e.name.clone()));
                }
            }
            let k = keyed.of(&e.content_sha256);
            if dup_contents.contains(&k) {
                let v = by_content.entry(k).or_default();
                if v.len() < 10 {
                    v.push(e.index);
                }
            }
            if let Some((from, to, _)) = &altered_range {
                if pos >= *from && pos < *to && range_names.len() < 10 {
                    range_names.push(e.name);
                }
            }
            Ok(())
        })?;
        duplicate_findings(at, &by_name, &by_content, altered_range, &range_names, f);
    }
    Ok(())
}

/// The findings of [`check_duplicates`]: entries naming the same file (also differing only
/// in case or Unicode form) or logging the same content, and the altered range with its names.
fn duplicate_findings(
    at: &v3log::EntriesAt,
    by_name: &BTreeMap<u64, Vec<(u64, String)>>,
    by_content: &BTreeMap<u64, Vec<u64>>,
    altered_range: AlteredRange,
    range_names: &[String],
    f: &mut Sink,
) {
    for v in by_name.values().filter(|v| v.len() > 1) {
        let (first, rest) = (&v[0], &v[1..]);
        for (i, name) in rest {
            let how = if *name == first.1 {
                "name the same file".to_string()
            } else {
                format!(
                    "name files that differ only in case or Unicode form ({} and {name}): they cannot both live on every file system",
                    first.1
                )
            };
            f.push(Finding::at(
                Code::LogEntryAltered,
                format!("{BUNDLES_DIR}/{name}"),
                format!("entries {} and {i} {how}", first.0),
            ));
        }
    }
    for v in by_content.values().filter(|v| v.len() > 1) {
        for i in &v[1..] {
            f.push(Finding::at(
                Code::LogEntryAltered,
                at.whole(),
                format!("entries {} and {i} log the same content", v[0]),
            ));
        }
    }
    if let Some((from, to, at)) = altered_range {
        let names = if range_names.is_empty() {
            "no readable entry".to_string()
        } else {
            range_names.join(", ")
        };
        f.push(Finding::at(
            Code::LogEntryAltered,
            &at,
            format!(
                "the log's first {to} entries do not hash to the root this checkpoint signs: an entry in lines {}..{to} was altered, inserted, removed or reordered ({names})",
                from + 1
            ),
        ));
    }
}

/// Name removals, reorderings and duplicates from the entries' index fields (`indices` by
/// position; `misplaced`: the first lines whose index is not their position).
pub(super) fn index_findings(
    at: &v3log::EntriesAt,
    indices: &[u32],
    misplaced: &[(u64, u64, String)],
    f: &mut Sink,
) {
    let mut sorted: Vec<u32> = indices.iter().copied().filter(|&i| i != u32::MAX).collect();
    sorted.sort_unstable();
    // Indices beyond the number of lines cannot be told apart from altered ones: look for
    // gaps among the indices a log of this length can have.
    let max = sorted
        .last()
        .copied()
        .unwrap_or(0)
        .min(indices.len() as u32);
    let mut removed = 0;
    let mut dup = 0;
    let mut j = 0usize;
    for k in 0..=max {
        while j < sorted.len() && sorted[j] < k {
            j += 1;
        }
        let c = sorted[j..].iter().take_while(|&&x| x == k).count();
        if c == 0 {
            removed += 1;
            f.push(Finding::at(
                Code::LogEntryRemoved,
                at.whole(),
                format!("entry {k} is missing: its line was removed from the log"),
            ));
        } else if c > 1 {
            dup += 1;
            if dup <= MAX_REPORTED {
                let lines: Vec<String> = indices
                    .iter()
                    .enumerate()
                    .filter(|(_, &x)| x == k)
                    .map(|(p, _)| (p + 1).to_string())
                    .collect();
                f.push(Finding::at(
                    Code::LogEntryAltered,
                    at.whole(),
                    format!(
                        "lines {} all claim to be entry {k}: an entry was inserted or altered",
                        lines.join(", ")
                    ),
                ));
            }
        }
    }
    if removed == 0 && dup == 0 {
        for (pos, index, name) in misplaced {
            f.push(Finding::at(
                Code::LogReordered,
                at.line(*pos),
                format!("holds entry {index} ({name}): entries were reordered"),
            ));
        }
    }
}
