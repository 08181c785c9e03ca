//! Proofs on an archive log v3 (`docs/FORMAT.md`, C.5) in O(log n) reads, written once
//! against [`LogRead`]: the archive in a local directory ([`DirLog`]) or in object storage
//! ([`StoreLog`], any [`Store`]). A proof reads the head (`log/checkpoint`), the checkpoint's
//! two files, the content's index object, `log/sequence`, one entry bundle and one tile per
//! level and range root; never a listing, never the whole log.

use super::tiles::{CHECKPOINT_FILE, MAX_NOTE_FILE};
use super::v3::{Sequence, MAX_SEQUENCE_BYTES, SEQUENCE_FILE};
use super::{
    invalid, open_nofollow, read_limited, real_dir, Checkpoint, Entry, AUDIT_HINT, BUNDLES_DIR,
    CHECKPOINTS_DIR, MAX_CHECKPOINT_BYTES, MAX_ENTRY_LINE, MAX_SIGNATURE_BYTES,
};
use crate::format::error::{Error, Result};
use crate::format::merkle::{self, Hash};
use crate::format::note::Note;
use crate::format::store::{self, Backoff, RangeReader, Store};
use crate::format::tlog::{TileError, TileRead, Tiles, TILE_WIDTH};
use crate::format::zip::Limits;
use crate::ops::verify::{self, Options};
use std::path::Path;

/// Read-only access to the files of an archive a proof needs.
pub(super) trait LogRead {
    /// The archive, for messages: its path, or its `s3://` location (never a credential).
    fn label(&self) -> String;

    /// The file `rel` (`log/checkpoint`, `log/tile/0/000`) whole, if it has at most `max`
    /// bytes (a larger one is an error naming it); `None` if absent.
    fn read(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>>;

    /// The bundle `bundles/NAME` of the archive, checked (every check but trust) with
    /// `opts`, and its name for messages; `None` if absent.
    fn bundle(&self, name: &str, opts: &Options) -> Result<Option<(String, verify::Report)>>;
}

/// A local archive directory: every directory on the way a real one (never through a
/// symbolic link), every read bounded.
pub(super) struct DirLog<'a>(pub(super) &'a Path);

impl LogRead for DirLog<'_> {
    fn label(&self) -> String {
        self.0.display().to_string()
    }

    fn read(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let mut dir = String::new();
        if let Some((parents, _)) = rel.rsplit_once('/') {
            for p in parents.split('/') {
                if !dir.is_empty() {
                    dir.push('/');
                }
                dir.push_str(p);
                if !real_dir(self.0, &dir)? {
                    return Ok(None);
                }
            }
        }
        let path = self.0.join(rel);
        let too_large = || invalid(path.display(), format!("larger than {max} bytes"));
        // Refused by its size before a byte is read (a `log/sequence` may be 134 MB).
        if let Some(f) = open_nofollow(&path)? {
            if f.metadata().is_ok_and(|m| m.len() > max) {
                return Err(too_large());
            }
        }
        let bytes = read_limited(&path, max)?;
        if bytes.as_ref().is_some_and(|b| b.len() as u64 > max) {
            return Err(too_large());
        }
        Ok(bytes)
    }

    fn bundle(&self, name: &str, opts: &Options) -> Result<Option<(String, verify::Report)>> {
        let in_archive = self.0.join(BUNDLES_DIR).join(name);
        if !real_dir(self.0, BUNDLES_DIR)? {
            return Ok(None);
        }
        let Some(mut f) = open_nofollow(&in_archive)? else {
            return Ok(None);
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let label = in_archive.display().to_string();
        let r = verify::verify_reader(&label, &mut f, len, None, opts);
        Ok(Some((label, r)))
    }
}

/// An archive in a [`Store`] (object storage): bounded GETs, each retried on transient
/// failures ([`store::retry`], the default [`Backoff`]).
pub(super) struct StoreLog<'a>(pub(super) &'a dyn Store);

impl LogRead for StoreLog<'_> {
    fn label(&self) -> String {
        self.0.root()
    }

    fn read(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
        store::retry(&Backoff::default(), || self.0.get(rel, max))
            .map(|o| o.map(|o| o.bytes))
            .map_err(super::store_common::store_error)
    }

    fn bundle(&self, name: &str, opts: &Options) -> Result<Option<(String, verify::Report)>> {
        let key = format!("{BUNDLES_DIR}/{name}");
        let Some(len) = store::retry(&Backoff::default(), || self.0.size(&key))
            .map_err(super::store_common::store_error)?
        else {
            return Ok(None);
        };
        let label = format!("{}/{key}", self.0.root());
        let mut r = RangeReader::new(self.0, &key, len);
        let report = verify::verify_reader(&label, &mut r, len, None, opts);
        Ok(Some((label, report)))
    }
}

/// Whether the archive in `store` has a v3 log (`log/sequence` is there): one HEAD.
pub fn is_v3_store(store: &dyn Store) -> Result<bool> {
    store::retry(&Backoff::default(), || store.size(SEQUENCE_FILE))
        .map(|s| s.is_some())
        .map_err(super::store_common::store_error)
}

/// A checkpoint read from `log/checkpoints/<N>` and `<N>.minisig`, as a proof carries it.
#[derive(Debug)]
pub(super) struct Signed {
    /// Parsed.
    pub(super) cp: Checkpoint,
    /// The note's bytes.
    pub(super) body: String,
    /// The signature file's bytes.
    pub(super) signature: String,
}

/// A checkpoint's note and signature files, each `None` if absent.
type Files = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The two files of checkpoint `n` (bounded reads; the signature not read without the note).
fn files_of(r: &dyn LogRead, n: u64) -> Result<Files> {
    let at = format!("{CHECKPOINTS_DIR}/{n}");
    let body = r.read(&at, MAX_CHECKPOINT_BYTES)?;
    if body.is_none() {
        return Ok((None, None));
    }
    Ok((body, r.read(&format!("{at}.minisig"), MAX_SIGNATURE_BYTES)?))
}

/// Checkpoint `n` from its files: the note parsed strictly, its size that of its file name,
/// its signature well-formed (whoever checks a proof checks its key).
fn signed(r: &dyn LogRead, n: u64, body: Vec<u8>, sig: Vec<u8>) -> Result<Signed> {
    let label = r.label();
    let at = format!("{CHECKPOINTS_DIR}/{n}");
    let body = String::from_utf8(body).map_err(|_| invalid(&label, format!("{at}: not UTF-8")))?;
    let signature = String::from_utf8(sig)
        .map_err(|_| invalid(&label, format!("{at}: signature is not UTF-8")))?;
    let cp = Checkpoint::parse(body.as_bytes())
        .map_err(|why| invalid(&label, format!("{at}: {why}")))?;
    if cp.size != n {
        return Err(invalid(
            &label,
            format!("{at}: the file name says {n}, the note {}", cp.size),
        ));
    }
    crate::format::minisign::Signature::parse(signature.as_bytes())
        .map_err(|e| invalid(&label, format!("{at}.minisig: malformed signature: {e}")))?;
    Ok(Signed {
        cp,
        body,
        signature,
    })
}

/// Checkpoint `n`: `None` if its note is absent; an error if only its signature is.
fn checkpoint_at(r: &dyn LogRead, n: u64) -> Result<Option<Signed>> {
    match files_of(r, n)? {
        (Some(body), Some(sig)) => signed(r, n, body, sig).map(Some),
        (Some(_), None) => Err(invalid(
            r.label(),
            format!("{CHECKPOINTS_DIR}/{n}.minisig: missing"),
        )),
        _ => Ok(None),
    }
}

/// The latest checkpoint, without listing `log/checkpoints/`: the head's (`log/checkpoint`),
/// whose two files an add writes right after it (`docs/STORAGE.md`); while they are not both
/// there (an add completing it, or one interrupted there), the one before it (the head's
/// `previous`), whose files were written before that add sequenced. Else an error: no head,
/// or neither checkpoint complete.
fn latest(r: &dyn LogRead) -> Result<Signed> {
    let label = r.label();
    let damaged = |rel: &str, why: String| invalid(&label, format!("{rel}: {why} ({AUDIT_HINT})"));
    let Some(bytes) = r.read(CHECKPOINT_FILE, MAX_NOTE_FILE)? else {
        return Err(damaged(
            CHECKPOINT_FILE,
            "missing: no checkpoint signed yet, or the head removed".into(),
        ));
    };
    let note = Note::parse(&bytes).map_err(|e| damaged(CHECKPOINT_FILE, e.to_string()))?;
    let head =
        Checkpoint::parse(note.text.as_bytes()).map_err(|why| damaged(CHECKPOINT_FILE, why))?;
    let at = |n: u64| format!("{CHECKPOINTS_DIR}/{n}");
    if let (Some(body), Some(sig)) = files_of(r, head.size)? {
        let s = signed(r, head.size, body, sig)?;
        if s.cp != head {
            return Err(damaged(
                CHECKPOINT_FILE,
                format!("signs another tree than {}", at(head.size)),
            ));
        }
        return Ok(s);
    }
    if head.previous > 0 {
        if let (Some(body), Some(sig)) = files_of(r, head.previous)? {
            return signed(r, head.previous, body, sig);
        }
    }
    Err(invalid(
        &label,
        format!(
            "{}: missing (the head's checkpoint, which an add is completing or left interrupted; the next add completes it), and no earlier checkpoint complete to prove against{} ({AUDIT_HINT})",
            at(head.size),
            if head.previous == 0 {
                String::new()
            } else {
                format!(": {} missing too", at(head.previous))
            },
        ),
    ))
}

/// The checkpoint asked for (`Some(n)`: exactly `n`), or the latest.
fn checkpoint(r: &dyn LogRead, at: Option<u64>, which: &str) -> Result<Signed> {
    match at {
        Some(n) => checkpoint_at(r, n)?
            .ok_or_else(|| invalid(r.label(), format!("has no checkpoint {n}{which}"))),
        None => latest(r),
    }
}

/// The entry whose content digest is `content`, through the content index, and checked
/// against the log: the entry bundle (or the tail of `log/sequence`) at its index must hold
/// exactly that line (else the archive is damaged: refused). O(1) reads. The object that held
/// it (an entry bundle, or `log/sequence`).
fn entry_by_content(
    r: &dyn LogRead,
    which: &str,
    content: &str,
    from: &str,
) -> Result<(Entry, String)> {
    let label = r.label();
    let damaged = |why: String| invalid(&label, format!("{why} ({AUDIT_HINT})"));
    let Some(p) = super::v3::content_index_path(content) else {
        return Err(super::not_logged(which, content, from));
    };
    let Some(bytes) = r.read(&p, super::v3::MAX_INDEX_BYTES)? else {
        let what = if from.is_empty() {
            format!("content sha256 {content}")
        } else {
            format!("{from} (content sha256 {content})")
        };
        return Err(invalid(
            &label,
            format!("{what} is not in the archive's log (no {p})"),
        ));
    };
    let e = super::v3::parse_index(&bytes).map_err(|why| damaged(format!("{p}: {why}")))?;
    if e.content_sha256 != content {
        return Err(damaged(format!(
            "{p}: holds entry {} of another content",
            e.index
        )));
    }
    let seq = r
        .read(SEQUENCE_FILE, MAX_SEQUENCE_BYTES)?
        .ok_or_else(|| "missing".to_string())
        .and_then(|b| Sequence::parse(&b))
        .map_err(|why| damaged(format!("{SEQUENCE_FILE}: {why}")))?;
    let mut at = SEQUENCE_FILE.to_string();
    let held = if e.index < seq.start {
        let mut t = Tiles::new(TileReads::new(r), seq.start);
        match t.entries(e.index / TILE_WIDTH, MAX_ENTRY_LINE) {
            Ok(v) => {
                at = t.into_inner().read.pop().unwrap_or_default();
                v.get((e.index % TILE_WIDTH) as usize).cloned()
            }
            Err(err) => {
                let why = tile_problem(err);
                return Err(match t.into_inner().failed {
                    Some(f) => f,
                    None => damaged(why),
                });
            }
        }
    } else {
        seq.tail
            .get((e.index - seq.start) as usize)
            .map(|t| t.line().into_bytes())
    };
    if held.as_deref() != Some(e.line().as_bytes()) {
        return Err(damaged(format!(
            "{p}: the log does not hold this entry at index {}",
            e.index
        )));
    }
    Ok((e, at))
}

/// The tiles under `log/` of the archive `r` reads, as [`Tiles`] reads them; the first error
/// that is not about the file itself (storage unavailable, access denied) kept, so that it
/// is returned as it is (its exit code), not as a tile's problem.
struct TileReads<'a> {
    r: &'a dyn LogRead,
    failed: Option<Error>,
    /// The tiles read, `log/<path>` (to name them when they do not give a signed root).
    read: Vec<String>,
}

impl<'a> TileReads<'a> {
    fn new(r: &'a dyn LogRead) -> Self {
        TileReads {
            r,
            failed: None,
            read: Vec::new(),
        }
    }
}

impl TileRead for TileReads<'_> {
    fn read(&mut self, p: &str, max: usize) -> std::result::Result<Option<Vec<u8>>, String> {
        self.read.push(format!("log/{p}"));
        self.r
            .read(&format!("log/{p}"), max as u64)
            .map_err(|e| match e {
                Error::Invalid { problem, .. } => problem,
                e => {
                    let s = e.to_string();
                    self.failed.get_or_insert(e);
                    s
                }
            })
    }
}

/// The error of a tile read of `t` that failed with `e`, naming the archive `label`.
fn tile_failed(t: Tiles<TileReads<'_>>, e: TileError, label: &str) -> Error {
    t.into_inner()
        .failed
        .unwrap_or_else(|| invalid(label, tile_problem(e)))
}

/// A tile error as `log/<path>: <problem>`.
fn tile_problem(e: TileError) -> String {
    match &e {
        TileError::Missing(p)
        | TileError::Malformed { path: p, .. }
        | TileError::Read { path: p, .. } => {
            let s = e.to_string();
            format!(
                "log/{p}: {}",
                s.strip_prefix(&format!("{p}: ")).unwrap_or(&s)
            )
        }
        TileError::OutOfRange(_) => format!("log/tile: {e}"),
    }
}

/// The roots of these leaf ranges, from the tiles of the tree of `tree` entries, and the
/// tiles read.
fn roots_of(r: &dyn LogRead, ranges: &[(u64, u64)], tree: u64) -> Result<(Vec<Hash>, Vec<String>)> {
    let mut t = Tiles::new(TileReads::new(r), tree);
    let mut roots = Vec::with_capacity(ranges.len());
    for &(a, b) in ranges {
        match t.range_root(a, b) {
            Ok(h) => roots.push(h),
            Err(e) => return Err(tile_failed(t, e, &r.label())),
        }
    }
    Ok((roots, t.into_inner().read))
}

/// The error when the path read from the tiles does not lead to a checkpoint's signed root:
/// no proof code is wrong there, the archive is (a tile, an entry bundle or a checkpoint
/// replaced by well-formed bytes); the objects read named.
fn not_the_signed_root(label: &str, read: &[&str], cp: u64, err: impl std::fmt::Display) -> Error {
    invalid(
        label,
        format!(
            "{}: do not lead to the signed root of {CHECKPOINTS_DIR}/{cp} ({err}): one of them is replaced or damaged ({AUDIT_HINT})",
            read.join(", ")
        ),
    )
}

/// The content digest a prove command is about (a bundle file, a bundle's name in the
/// archive, a content digest), and the file it was read from (empty for a digest given).
pub(super) fn content_of(
    r: &dyn LogRead,
    which: &str,
    limits: &Limits,
) -> Result<(String, String)> {
    let p = Path::new(which);
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let digest_of = |path: &str, rep: verify::Report| {
        rep.content_sha256.ok_or_else(|| Error::Refused {
            path: path.into(),
            summary: "no content digest (its findings say why)".into(),
        })
    };
    if p.is_file() {
        let label = p.display().to_string();
        return Ok((digest_of(&label, verify::inspect(p, &opts))?, label));
    }
    if super::check_name(which).is_ok() {
        if let Some((label, rep)) = r.bundle(which, &opts)? {
            return Ok((digest_of(&label, rep)?, label));
        }
    }
    if crate::profile::metadata::is_hex64(which) {
        return Ok((which.to_string(), String::new()));
    }
    Err(invalid(
        which,
        "neither a bundle file, a bundle name in the archive, nor a content digest",
    ))
}

/// What an inclusion proof of the bundle `which` in the v3 archive `r` reads holds, against
/// checkpoint `at` (default the latest): the entry, its audit path (checked against the
/// checkpoint's root), the checkpoint.
pub(super) fn inclusion(
    r: &dyn LogRead,
    which: &str,
    at: Option<u64>,
    limits: &Limits,
) -> Result<(Entry, Vec<Hash>, Signed)> {
    let label = r.label();
    let s = checkpoint(r, at, "")?;
    let (content, from) = content_of(r, which, limits)?;
    let (e, held_in) = entry_by_content(r, which, &content, &from)?;
    let size = s.cp.size;
    if e.index >= size {
        return Err(invalid(
            &label,
            match at {
                Some(_) => format!("checkpoint {size} does not include entry {} yet", e.index),
                None => format!("no checkpoint includes entry {} yet", e.index),
            },
        ));
    }
    let ranges = merkle::inclusion_ranges(e.index, size)
        .ok_or_else(|| invalid(&label, "the entry is outside the tree"))?;
    let (path, read) = roots_of(r, &ranges, size)?;
    merkle::verify_inclusion(e.index, size, &e.leaf_hash(), &path, &s.cp.root).map_err(|err| {
        let mut objects = vec![held_in.as_str()];
        objects.extend(read.iter().map(String::as_str));
        not_the_signed_root(&label, &objects, size, err)
    })?;
    Ok((e, path, s))
}

/// What a consistency proof from checkpoint `from` to checkpoint `to` (default the latest) of
/// the v3 archive `r` reads holds: the two checkpoints and the path (checked against both
/// roots).
pub(super) fn consistency(
    r: &dyn LogRead,
    from: u64,
    to: Option<u64>,
) -> Result<(Signed, Signed, Vec<Hash>)> {
    let label = r.label();
    let old = checkpoint(r, Some(from), " (the older checkpoint asked for)")?;
    let new = checkpoint(r, to, " (the newer checkpoint asked for)")?;
    let (o, n) = (&old.cp, &new.cp);
    if o.size > n.size {
        return Err(invalid(
            &label,
            format!(
                "checkpoint {} (the older one asked for) is newer than checkpoint {}{}",
                o.size,
                n.size,
                if to.is_none() {
                    format!(" (the latest: {CHECKPOINT_FILE}'s)")
                } else {
                    String::new()
                }
            ),
        ));
    }
    let ranges = merkle::consistency_ranges(o.size, n.size)
        .ok_or_else(|| invalid(&label, "sizes outside the tree"))?;
    let (path, read) = roots_of(r, &ranges, n.size)?;
    merkle::verify_consistency(o.size, n.size, &o.root, &n.root, &path).map_err(|err| {
        let old_cp = format!("{CHECKPOINTS_DIR}/{}", o.size);
        let mut objects = vec![old_cp.as_str()];
        objects.extend(read.iter().map(String::as_str));
        not_the_signed_root(&label, &objects, n.size, err)
    })?;
    Ok((old, new, path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::minisign::{KeyId, SecretKey};
    use crate::format::store::LocalStore;
    use sha2::{Digest, Sha256};
    use std::path::PathBuf;

    /// The v3 test vector (checkpoints 1 and 3, the head 3), copied to `dir` if given.
    fn vector(dir: Option<&Path>) -> PathBuf {
        let v = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/log-v3/archive");
        let Some(dir) = dir else { return v };
        fn copy(from: &Path, to: &Path) {
            std::fs::create_dir_all(to).unwrap();
            for e in std::fs::read_dir(from).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    copy(&e.path(), &to.join(e.file_name()));
                } else {
                    std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
                }
            }
        }
        copy(&v, dir);
        dir.to_path_buf()
    }

    fn content(i: u32) -> String {
        crate::format::text::hex(&Sha256::digest(format!("content {i}").as_bytes()))
    }

    fn json(name: &str) -> serde_json::Value {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/vectors/log-v1")
            .join(name);
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    fn b64(path: &[Hash]) -> Vec<String> {
        path.iter().map(super::super::encode_hash).collect()
    }

    /// The one code path reads a directory and a store alike: both give the vectors' proofs.
    #[test]
    fn issue17_v3_proofs_through_a_directory_and_a_store_are_the_vectors() {
        let dir = vector(None);
        let store = LocalStore::new(&dir);
        let (d, s) = (DirLog(&dir), StoreLog(&store));
        let inc = json("inclusion-1-at-3.json");
        let cons = json("consistency-1-to-3.json");
        for r in [&d as &dyn LogRead, &s] {
            for at in [None, Some(3)] {
                let (e, path, cp) = inclusion(r, &content(1), at, &Limits::default()).unwrap();
                assert_eq!(e.line(), inc["entry"]);
                assert_eq!(b64(&path), inc["inclusionPath"].as_array().unwrap().clone());
                assert_eq!(cp.body, inc["checkpoint"]["body"]);
                assert_eq!(cp.signature, inc["checkpoint"]["signature"]);
            }
            let (old, new, path) = consistency(r, 1, None).unwrap();
            assert_eq!(
                b64(&path),
                cons["consistencyPath"].as_array().unwrap().clone()
            );
            assert_eq!(old.body, cons["old"]["body"]);
            assert_eq!(new.body, cons["new"]["body"]);
            assert_eq!(new.signature, cons["new"]["signature"]);
            // Entry 2 is not in checkpoint 1.
            let e = inclusion(r, &content(2), Some(1), &Limits::default()).unwrap_err();
            assert!(e.to_string().contains("does not include entry 2"), "{e}");
        }
    }

    /// Without a listing: the head's checkpoint; while its files are not both there, the one
    /// before it; else, or with no head, or with a head that is not its checkpoint, refused.
    #[test]
    fn issue17_v3_latest_checkpoint_from_the_head_or_the_one_before() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = vector(Some(tmp.path()));
        let store = LocalStore::new(&dir);
        let (d, s) = (DirLog(&dir), StoreLog(&store));
        let both = [&d as &dyn LogRead, &s];
        let latest_size = |r: &dyn LogRead| latest(r).map(|s| s.cp.size);
        let cps = dir.join(CHECKPOINTS_DIR);
        for r in both {
            assert_eq!(latest_size(r).unwrap(), 3);
        }
        let sig = std::fs::read(cps.join("3.minisig")).unwrap();
        std::fs::remove_file(cps.join("3.minisig")).unwrap();
        for r in both {
            assert_eq!(latest_size(r).unwrap(), 1);
            // Exactly 3, asked for: its signature missing is an error.
            let e = checkpoint(r, Some(3), "").err().unwrap().to_string();
            assert!(e.contains("log/checkpoints/3.minisig: missing"), "{e}");
        }
        std::fs::remove_file(cps.join("1")).unwrap();
        for r in both {
            let e = latest_size(r).unwrap_err().to_string();
            assert!(
                e.contains("log/checkpoints/3: missing")
                    && e.contains("log/checkpoints/1 missing too"),
                "{e}"
            );
        }
        std::fs::write(cps.join("3.minisig"), &sig).unwrap();
        for r in both {
            assert_eq!(latest_size(r).unwrap(), 3);
        }
        // A head of the same size that is another tree than log/checkpoints/3.
        let head = std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap();
        let note = Note::parse(&head).unwrap();
        let mut other = Checkpoint::parse(note.text.as_bytes()).unwrap();
        other.root = merkle::leaf_hash(b"another tree");
        let key = SecretKey::from_seed(&[7; 32], KeyId([1; 8]));
        let forged = super::super::tiles::checkpoint_note(&other, &key, &[]).unwrap();
        std::fs::write(dir.join(CHECKPOINT_FILE), forged).unwrap();
        for r in both {
            let e = latest_size(r).unwrap_err().to_string();
            assert!(e.contains("log/checkpoint: signs another tree"), "{e}");
        }
        // A head rolled back to checkpoint 1: the latest is 1; a proof from 3 to it, refused.
        let v1 = vector(None).join(CHECKPOINTS_DIR).join("1");
        std::fs::copy(&v1, cps.join("1")).unwrap();
        let one = Checkpoint::parse(&std::fs::read(&v1).unwrap()).unwrap();
        let rolled = super::super::tiles::checkpoint_note(&one, &key, &[]).unwrap();
        std::fs::write(dir.join(CHECKPOINT_FILE), rolled).unwrap();
        for r in both {
            assert_eq!(latest_size(r).unwrap(), 1);
            let e = consistency(r, 3, None).unwrap_err().to_string();
            assert!(e.contains("is newer than checkpoint 1 (the latest"), "{e}");
        }
        std::fs::remove_file(dir.join(CHECKPOINT_FILE)).unwrap();
        for r in both {
            let e = latest_size(r).unwrap_err().to_string();
            assert!(e.contains("log/checkpoint: missing"), "{e}");
        }
        // Objects over their bound: refused by their size.
        std::fs::write(dir.join(CHECKPOINT_FILE), vec![b'x'; 40_000]).unwrap();
        for r in both {
            let e = latest_size(r).unwrap_err().to_string();
            assert!(e.contains("log/checkpoint") && e.contains("than"), "{e}");
        }
    }

    /// A hash tile (or a checkpoint) replaced by well-formed bytes of the right size: the
    /// path does not lead to the signed root. That is damage to the archive, named with the
    /// objects read, not "internal check failed" (which tells of a bug and names nothing).
    #[test]
    fn attack_s3read_replaced_hash_tile_is_named_as_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = vector(Some(tmp.path()));
        let store = LocalStore::new(&dir);
        let (d, s) = (DirLog(&dir), StoreLog(&store));
        let tile = dir.join("log/tile/0/000.p/3");
        let len = std::fs::metadata(&tile).unwrap().len() as usize;
        std::fs::write(&tile, vec![7u8; len]).unwrap();
        for r in [&d as &dyn LogRead, &s] {
            let e = inclusion(r, &content(1), None, &Limits::default())
                .unwrap_err()
                .to_string();
            assert!(
                !e.contains("internal")
                    && e.contains("log/tile/0/000.p/3")
                    && e.contains("log/tile/entries/000.p/3, log/tile/0/000.p/3")
                    && e.contains("signed root of log/checkpoints/3")
                    && e.contains(AUDIT_HINT),
                "{e}"
            );
            let e = consistency(r, 1, None).unwrap_err().to_string();
            assert!(
                !e.contains("internal")
                    && e.contains("log/checkpoints/1, log/tile/0/000.p/3")
                    && e.contains(AUDIT_HINT),
                "{e}"
            );
        }
    }
}
