//! Proofs: inclusion and consistency proof files, making and checking them, and the checkpoints
//! an auditor kept.

use super::proof_read::{self, DirLog, LogRead, StoreLog};
use super::*;
use crate::format::error::{Error, Result};
use crate::format::merkle::{self, Hash};
use crate::format::minisign::Signature;
use crate::format::store::Store;
use crate::format::zip::Limits;
use crate::ops::verify::{self, Options};
use crate::profile::metadata::{format_sealed, hex};
use crate::profile::trust::Trust;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;

/// A checkpoint with its signature, as carried in a proof file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedNote {
    /// The checkpoint note body.
    pub body: String,
    /// Its minisign signature file.
    pub signature: String,
}

/// An inclusion proof file: this entry is in the log as of this checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InclusionProof {
    /// `inclusion-v1`.
    pub docseal_proof: String,
    /// The entry's line (without LF).
    pub entry: String,
    /// The audit path, base64 hashes, leaf to root.
    pub inclusion_path: Vec<String>,
    /// The checkpoint.
    pub checkpoint: SignedNote,
}

/// A consistency proof file: the log as of `new` extends the log as of `old`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConsistencyProof {
    /// `consistency-v1`.
    pub docseal_proof: String,
    /// The older checkpoint.
    pub old: SignedNote,
    /// The newer checkpoint.
    pub new: SignedNote,
    /// The consistency path, base64 hashes.
    pub consistency_path: Vec<String>,
}

/// A proof file of either kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proof {
    /// Inclusion.
    Inclusion(InclusionProof),
    /// Consistency.
    Consistency(ConsistencyProof),
}

#[derive(Deserialize)]
pub(super) struct Kind {
    #[serde(rename = "docsealProof")]
    pub(super) docseal_proof: String,
}

impl Proof {
    /// Parse a proof file strictly (size limit, known kind, no unknown or duplicate fields).
    pub fn parse(bytes: &[u8]) -> std::result::Result<Proof, String> {
        if bytes.len() as u64 > MAX_PROOF_BYTES {
            return Err(format!("larger than {MAX_PROOF_BYTES} bytes"));
        }
        let kind: Kind = serde_json::from_slice(bytes).map_err(|e| format!("not a proof: {e}"))?;
        let p = match kind.docseal_proof.as_str() {
            INCLUSION_PROOF => Proof::Inclusion(
                serde_json::from_slice(bytes).map_err(|e| format!("not a proof: {e}"))?,
            ),
            CONSISTENCY_PROOF => Proof::Consistency(
                serde_json::from_slice(bytes).map_err(|e| format!("not a proof: {e}"))?,
            ),
            other => return Err(format!("unknown proof kind {other:?}")),
        };
        Ok(p)
    }

    /// The file form: pretty JSON and a final LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = match self {
            Proof::Inclusion(p) => serde_json::to_string_pretty(p),
            Proof::Consistency(p) => serde_json::to_string_pretty(p),
        }
        .unwrap_or_default();
        s.push('\n');
        s.into_bytes()
    }
}

pub(super) fn decode_path(path: &[String], max: usize) -> std::result::Result<Vec<Hash>, String> {
    if path.len() > max {
        return Err(format!("the path has more than {max} hashes"));
    }
    path.iter()
        .map(|h| decode_hash(h).ok_or_else(|| format!("{h:?} is not the base64 of 32 bytes")))
        .collect()
}

/// The archive's log checked for making proofs (every check but the checkpoints' keys, which
/// whoever checks the proof does): refused on any error.
pub(super) fn proof_log(archive: &Path) -> Result<LogCheck> {
    let label = archive.display().to_string();
    let (has_log, _) = log_dirs(archive)?;
    if !has_log
        || (open_nofollow(&archive.join(ENTRIES_FILE))?.is_none() && !v3log::is_v3(archive)?)
    {
        return Err(invalid(&label, "is not an archive (no log/entries)"));
    }
    let lc = check_log(archive, None, &[], &mut |_| Ok(()))?;
    if let Some(bad) = lc.sink.first_error(&[]) {
        return Err(invalid(
            &label,
            format!("{bad} (an audit of the archive gives the details)"),
        ));
    }
    Ok(lc)
}

/// Which entry a prove command is about: a bundle file (by its content digest), the name of a
/// bundle in the archive, or a content digest (v1, v2: by scanning the log).
pub(super) fn find_entry(archive: &Path, which: &str, limits: &Limits) -> Result<Entry> {
    let (content, label) = proof_read::content_of(&DirLog(archive), which, limits)?;
    let mut found = None;
    scan_entries(archive, &BTreeSet::new(), &mut |_, _, line| {
        // The content digest is the second field: parse only the line that has it.
        if found.is_none() && line.split(|&b| b == b' ').nth(1) == Some(content.as_bytes()) {
            found = Entry::parse(line).ok();
        }
        Ok(())
    })?;
    found.ok_or_else(|| not_logged(which, &content, &label))
}

/// The error for a content digest no entry of the log has.
pub(super) fn not_logged(which: &str, content: &str, label: &str) -> Error {
    if label.is_empty() {
        invalid(which, "no log entry has this content digest")
    } else {
        invalid(
            label,
            format!("its content (sha256 {content}) is not in the archive's log"),
        )
    }
}

/// The roots of these leaf ranges of the log, streamed.
pub(super) fn roots_of(archive: &Path, ranges: &[(u64, u64)], tree: u64) -> Result<Vec<Hash>> {
    // A v2 log: from the tiles of the latest checkpoint's tree (`tree`), O(log n) reads.
    if tiles::is_v2(archive)? {
        let mut t = crate::format::tlog::Tiles::new(tiles::DiskTiles::new(archive), tree);
        return ranges
            .iter()
            .map(|&(a, b)| t.range_root(a, b).map_err(tiles::tile_error))
            .collect();
    }
    let mut rr = merkle::RangeRoots::new(ranges);
    scan_entries(archive, &BTreeSet::new(), &mut |_, leaf, _| {
        rr.push(*leaf);
        Ok(())
    })?;
    rr.finish()
        .ok_or_else(|| invalid(archive.display(), "the log ended before the proof's range"))
}

/// An inclusion proof of the bundle `which` in the archive, against checkpoint `at` (a tree
/// size; default the latest). The log is streamed: memory does not grow with it.
pub fn prove_inclusion(
    archive: &Path,
    which: &str,
    at: Option<u64>,
    limits: &Limits,
) -> Result<InclusionProof> {
    // v3: O(log n) reads, the same code as for an archive in object storage.
    if v3log::is_v3(archive)? {
        return v3_inclusion(&DirLog(archive), which, at, limits);
    }
    let sound = proof_log(archive)?.sound;
    let e = find_entry(archive, which, limits)?;
    let latest = |sound: &Sound| {
        sound
            .last()
            .map(|(c, _)| Rec::of(c))
            .ok_or_else(|| invalid(archive.display(), "has no checkpoint"))
    };
    let cp = match at {
        Some(n) => sound
            .get(n)?
            .ok_or_else(|| invalid(archive.display(), format!("has no checkpoint {n}")))?,
        None => latest(&sound)?,
    };
    let size = cp.size;
    if e.index >= size {
        let first = sound.first_above(e.index)?;
        return Err(invalid(
            archive.display(),
            match first {
                Some(f) => format!(
                    "checkpoint {size} does not include entry {} yet; the first that does is {f}",
                    e.index
                ),
                None => format!("no checkpoint includes entry {} yet", e.index),
            },
        ));
    }
    let ranges = merkle::inclusion_ranges(e.index, size)
        .ok_or_else(|| invalid(archive.display(), "the entry is outside the tree"))?;
    let tree = sound.last().map_or(size, |(c, _)| c.size);
    let path = roots_of(archive, &ranges, tree)?;
    merkle::verify_inclusion(e.index, size, &e.leaf_hash(), &path, &cp.root)
        .map_err(|err| invalid(archive.display(), format!("internal check failed: {err}")))?;
    Ok(InclusionProof {
        docseal_proof: INCLUSION_PROOF.into(),
        entry: e.line(),
        inclusion_path: path.iter().map(encode_hash).collect(),
        checkpoint: read_note(archive, size)?,
    })
}

/// A consistency proof from checkpoint `from` to checkpoint `to` (tree sizes; `to` defaults to
/// the latest). The log is streamed: memory does not grow with it.
pub fn prove_consistency(archive: &Path, from: u64, to: Option<u64>) -> Result<ConsistencyProof> {
    // v3: O(log n) reads, the same code as for an archive in object storage.
    if v3log::is_v3(archive)? {
        return v3_consistency(&DirLog(archive), from, to);
    }
    let sound = proof_log(archive)?.sound;
    let get = |n: u64, which: &str| {
        sound.get(n)?.ok_or_else(|| {
            invalid(
                archive.display(),
                format!("has no checkpoint {n} (the {which} checkpoint asked for)"),
            )
        })
    };
    let old = get(from, "older")?;
    let new = match to {
        Some(n) => get(n, "newer")?,
        None => sound
            .last()
            .map(|(c, _)| Rec::of(c))
            .ok_or_else(|| invalid(archive.display(), "has no checkpoint"))?,
    };
    if old.size > new.size {
        return Err(invalid(
            archive.display(),
            format!(
                "checkpoint {} (the older one asked for) is newer than checkpoint {}",
                old.size, new.size
            ),
        ));
    }
    let ranges = merkle::consistency_ranges(old.size, new.size)
        .ok_or_else(|| invalid(archive.display(), "sizes outside the tree"))?;
    let tree = sound.last().map_or(new.size, |(c, _)| c.size);
    let path = roots_of(archive, &ranges, tree)?;
    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &path)
        .map_err(|err| invalid(archive.display(), format!("internal check failed: {err}")))?;
    Ok(ConsistencyProof {
        docseal_proof: CONSISTENCY_PROOF.into(),
        old: read_note(archive, old.size)?,
        new: read_note(archive, new.size)?,
        consistency_path: path.iter().map(encode_hash).collect(),
    })
}

/// [`prove_inclusion`] of a v3 log, read through `r` (a local directory or a store).
fn v3_inclusion(
    r: &dyn LogRead,
    which: &str,
    at: Option<u64>,
    limits: &Limits,
) -> Result<InclusionProof> {
    let (e, path, s) = proof_read::inclusion(r, which, at, limits)?;
    Ok(InclusionProof {
        docseal_proof: INCLUSION_PROOF.into(),
        entry: e.line(),
        inclusion_path: path.iter().map(encode_hash).collect(),
        checkpoint: SignedNote {
            body: s.body,
            signature: s.signature,
        },
    })
}

/// [`prove_consistency`] of a v3 log, read through `r` (a local directory or a store).
fn v3_consistency(r: &dyn LogRead, from: u64, to: Option<u64>) -> Result<ConsistencyProof> {
    let (old, new, path) = proof_read::consistency(r, from, to)?;
    let note = |s: proof_read::Signed| SignedNote {
        body: s.body,
        signature: s.signature,
    };
    Ok(ConsistencyProof {
        docseal_proof: CONSISTENCY_PROOF.into(),
        old: note(old),
        new: note(new),
        consistency_path: path.iter().map(encode_hash).collect(),
    })
}

/// An inclusion proof of the bundle `which` (a bundle file, the name of a bundle in the
/// archive, or a content digest) in the v3 archive in `store` ([`super::is_v3_store`]), against
/// checkpoint `at` (default the latest: the head's, or while an add completes it, the one
/// before), in O(log n) bounded reads, no listing. Errors name the archive by
/// [`Store::root`].
pub fn prove_inclusion_store(
    store: &dyn Store,
    which: &str,
    at: Option<u64>,
    limits: &Limits,
) -> Result<InclusionProof> {
    v3_inclusion(&StoreLog(store), which, at, limits)
}

/// A consistency proof from checkpoint `from` to `to` (default the latest) of the v3 archive
/// in `store` ([`super::is_v3_store`]), in O(log n) bounded reads, no listing.
pub fn prove_consistency_store(
    store: &dyn Store,
    from: u64,
    to: Option<u64>,
) -> Result<ConsistencyProof> {
    v3_consistency(&StoreLog(store), from, to)
}

/// A checkpoint a proof rests on, as checked.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedCheckpoint {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root, base64.
    pub root: String,
    /// The archive operator's time.
    pub time: String,
    /// The key that signed it.
    pub key_id: String,
    /// Its name in the trust file, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
}

/// What a proof established.
#[derive(Debug, Clone, Serialize)]
pub struct ProofCheck {
    /// `inclusion-v1` or `consistency-v1`.
    pub kind: String,
    /// Inclusion: the entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    /// The checkpoint (inclusion), or the newer one (consistency).
    pub checkpoint: CheckedCheckpoint,
    /// Consistency: the older checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<CheckedCheckpoint>,
    /// What was checked about a bundle given with the proof.
    pub notes: Vec<String>,
}

pub(super) fn check_note(
    note: &SignedNote,
    trust: &Trust,
    what: &str,
    proof: &Path,
) -> Result<(Checkpoint, CheckedCheckpoint)> {
    let label = proof.display().to_string();
    let cp = Checkpoint::parse(note.body.as_bytes())
        .map_err(|why| invalid(&label, format!("{what}: {why}")))?;
    match check_signature(&cp, note.body.as_bytes(), note.signature.as_bytes(), trust) {
        Signer::Trusted { key_id, name } => {
            let checked = CheckedCheckpoint {
                origin: cp.origin.clone(),
                size: cp.size,
                root: encode_hash(&cp.root),
                time: format_sealed(cp.time),
                key_id: key_id.to_string(),
                key_name: name,
            };
            Ok((cp, checked))
        }
        Signer::Untrusted(why) | Signer::Invalid(why) => Err(Error::Refused {
            path: proof.to_path_buf(),
            summary: format!("{what}: {why}"),
        }),
    }
}

/// Check a proof file against the archive keys in `trust`, without the archive. With
/// `bundle`, also check that the bundle is the one an inclusion proof is about (same content
/// digest; it must pass every check but trust). With `kept`, check that a consistency proof
/// starts from that checkpoint.
pub fn check_proof(
    proof_path: &Path,
    trust: &Trust,
    bundle: Option<&Path>,
    kept: Option<&KeptCheckpoint>,
    limits: &Limits,
) -> Result<ProofCheck> {
    let label = proof_path.display().to_string();
    let bytes = read_user_file(proof_path, MAX_PROOF_BYTES)?
        .ok_or_else(|| Error::io(proof_path, std::io::ErrorKind::NotFound.into()))?;
    let proof = Proof::parse(&bytes).map_err(|why| invalid(&label, why))?;
    let c = ProofContext {
        path: proof_path,
        label,
        trust,
        kept,
    };
    match proof {
        Proof::Inclusion(p) => check_inclusion(&c, &p, bundle, limits),
        Proof::Consistency(p) => {
            if let Some(b) = bundle {
                return Err(invalid(
                    b.display(),
                    "a consistency proof is about two checkpoints, not a bundle; an inclusion proof is the one checked against a bundle",
                ));
            }
            check_consistency(&c, &p)
        }
    }
}

/// What checking a proof file goes by: the file, the archive keys, the checkpoint kept.
struct ProofContext<'a> {
    path: &'a Path,
    label: String,
    trust: &'a Trust,
    kept: Option<&'a KeptCheckpoint>,
}

impl ProofContext<'_> {
    /// The proof is refused, for `why`.
    fn refuse(&self, why: String) -> Error {
        Error::Refused {
            path: self.path.to_path_buf(),
            summary: why,
        }
    }
}

/// [`check_proof`] of an inclusion proof, and of the bundle it is about if one is given.
fn check_inclusion(
    c: &ProofContext<'_>,
    p: &InclusionProof,
    bundle: Option<&Path>,
    limits: &Limits,
) -> Result<ProofCheck> {
    let (label, trust, proof_path) = (&c.label, c.trust, c.path);
    let refuse = |why: String| c.refuse(why);
    let entry =
        Entry::parse(p.entry.as_bytes()).map_err(|why| invalid(label, format!("entry: {why}")))?;
    let path = decode_path(&p.inclusion_path, merkle::MAX_INCLUSION_PATH)
        .map_err(|why| invalid(label, why))?;
    let (cp, checked) = check_note(&p.checkpoint, trust, "checkpoint", proof_path)?;
    merkle::verify_inclusion(entry.index, cp.size, &entry.leaf_hash(), &path, &cp.root).map_err(
        |e| {
            refuse(format!(
                "the entry is not in the log as of checkpoint {}: {e}",
                cp.size
            ))
        },
    )?;
    let mut notes = Vec::new();
    if let Some(k) = c.kept {
        // Only the very checkpoint the proof rests on relates to an inclusion proof;
        // anything else would be ignored, so it is refused.
        if k.checkpoint != cp {
            return Err(invalid(
                &k.label,
                format!(
                "an inclusion proof rests on checkpoint {} of {:?}, and the one you kept is checkpoint {} of {:?}{}; a consistency proof is what shows a later checkpoint extends the one you kept",
                cp.size,
                cp.origin,
                k.checkpoint.size,
                k.checkpoint.origin,
                if k.checkpoint.origin != cp.origin { ", another log" } else { "" }
            )));
        }
        notes.push(format!("rests on the checkpoint you kept ({})", k.label));
    }
    if let Some(b) = bundle {
        notes.push(check_proof_bundle(
            c,
            p,
            &entry,
            (&cp, &checked),
            b,
            limits,
        )?);
    }
    Ok(ProofCheck {
        kind: INCLUSION_PROOF.into(),
        entry: Some(entry),
        checkpoint: checked,
        old: None,
        notes,
    })
}

/// The bundle `b` an inclusion proof `p` (of `entry`, at checkpoint `cp`) is said to be
/// about: it must pass every check but trust, hold the entry's content, and not be signed by
/// the checkpoint's key. What it is, for the report.
fn check_proof_bundle(
    c: &ProofContext<'_>,
    p: &InclusionProof,
    entry: &Entry,
    (cp, checked): (&Checkpoint, &CheckedCheckpoint),
    b: &Path,
    limits: &Limits,
) -> Result<String> {
    let trust = c.trust;
    let refuse = |why: String| c.refuse(why);
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let r = verify::inspect(b, &opts);
    if !r.ok {
        let codes: Vec<String> = r.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Refused {
            path: b.to_path_buf(),
            summary: format!("{} (its findings say why)", codes.join(", ")),
        });
    }
    if r.content_sha256.as_deref() != Some(&entry.content_sha256) {
        return Err(refuse(format!(
            "{} is not the bundle this proof is about: its content sha256 is {}, the entry's is {}",
            b.display(),
            r.content_sha256.as_deref().unwrap_or("-"),
            entry.content_sha256
        )));
    }
    // A key never vouches for its own signatures: the checkpoint's key may not
    // establish the time of a bundle it signed (under any key id). Every signature
    // of a bundle that passed inspect verified, with its key's fingerprint.
    let cp_key = Signature::parse(p.checkpoint.signature.as_bytes())
        .ok()
        .and_then(|s| trust.find(s.key_id))
        .map(|k| hex(&Sha256::digest(k.public_bytes())));
    if let Some(own) = r
        .signers
        .iter()
        .find(|s| cp_key.is_some() && s.fingerprint == cp_key)
    {
        return Err(refuse(format!(
            "checkpoint {} is signed by key {}, the key that signed {} ({}): a key never vouches for its own signatures, so it establishes no time for this bundle (check a proof from another archive key's log)",
            cp.size,
            checked.key_id,
            b.display(),
            own.file
        )));
    }
    let same_file = b.is_file()
        && sha256_reader(&mut File::open(b).map_err(|e| Error::io(b, e))?, b)? == entry.file_sha256;
    Ok(if same_file {
        format!("{}: the very file archived", b.display())
    } else {
        format!(
            "{}: the same sealed content as archived, in another file (co-signed or unzipped since)",
            b.display()
        )
    })
}

/// [`check_proof`] of a consistency proof.
fn check_consistency(c: &ProofContext<'_>, p: &ConsistencyProof) -> Result<ProofCheck> {
    let (label, trust, proof_path) = (&c.label, c.trust, c.path);
    let refuse = |why: String| c.refuse(why);
    let path = decode_path(&p.consistency_path, merkle::MAX_CONSISTENCY_PATH)
        .map_err(|why| invalid(label, why))?;
    let (old, old_checked) = check_note(&p.old, trust, "old checkpoint", proof_path)?;
    let (new, new_checked) = check_note(&p.new, trust, "new checkpoint", proof_path)?;
    if old.origin != new.origin {
        return Err(refuse(format!(
            "the checkpoints are of two logs ({:?} and {:?})",
            old.origin, new.origin
        )));
    }
    if new.time < old.time {
        return Err(refuse(format!(
            "checkpoint {} is dated {}, before checkpoint {} ({}): back-dated",
            new.size,
            format_sealed(new.time),
            old.size,
            format_sealed(old.time)
        )));
    }
    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &path).map_err(|e| {
        refuse(format!(
            "checkpoint {} does not extend checkpoint {}: {e}",
            new.size, old.size
        ))
    })?;
    let mut notes = Vec::new();
    if let Some(k) = c.kept {
        if k.checkpoint.origin != old.origin
            || k.checkpoint.size != old.size
            || k.checkpoint.root != old.root
        {
            return Err(refuse(format!(
                "the proof starts from checkpoint {} of {:?}, not from the one you kept ({}: checkpoint {} of {:?}, root {})",
                old.size,
                old.origin,
                k.label,
                k.checkpoint.size,
                k.checkpoint.origin,
                encode_hash(&k.checkpoint.root)
            )));
        }
        notes.push(format!("starts from the checkpoint you kept ({})", k.label));
    }
    Ok(ProofCheck {
        kind: CONSISTENCY_PROOF.into(),
        entry: None,
        checkpoint: new_checked,
        old: Some(old_checked),
        notes,
    })
}

/// A checkpoint kept by an auditor from an earlier look at the archive.
#[derive(Debug, Clone)]
pub struct KeptCheckpoint {
    /// Where it came from.
    pub label: String,
    /// The note body.
    pub body: Vec<u8>,
    /// Its signature, when kept.
    pub signature: Option<Vec<u8>>,
    /// Parsed.
    pub checkpoint: Checkpoint,
}

/// Read checkpoints kept by an auditor: a checkpoint note (with `FILE.minisig` beside it, if
/// kept) or a proof file (its checkpoints).
pub fn read_kept(path: &Path) -> Result<Vec<KeptCheckpoint>> {
    let bytes = read_user_file(path, MAX_PROOF_BYTES)?
        .ok_or_else(|| Error::io(path, std::io::ErrorKind::NotFound.into()))?;
    if bytes.len() as u64 > MAX_PROOF_BYTES {
        return Err(invalid(
            path.display(),
            "too large for a checkpoint or proof",
        ));
    }
    let label = path.display().to_string();
    if bytes.first() == Some(&b'{') {
        let notes = match Proof::parse(&bytes).map_err(|why| invalid(&label, why))? {
            Proof::Inclusion(p) => vec![p.checkpoint],
            Proof::Consistency(p) => vec![p.old, p.new],
        };
        return notes
            .into_iter()
            .map(|n| {
                let checkpoint = Checkpoint::parse(n.body.as_bytes())
                    .map_err(|why| invalid(&label, format!("checkpoint: {why}")))?;
                Ok(KeptCheckpoint {
                    label: label.clone(),
                    body: n.body.into_bytes(),
                    signature: Some(n.signature.into_bytes()),
                    checkpoint,
                })
            })
            .collect();
    }
    let checkpoint = Checkpoint::parse(&bytes).map_err(|why| invalid(&label, why))?;
    let mut sig_path = path.as_os_str().to_owned();
    sig_path.push(".minisig");
    let signature = read_user_file(Path::new(&sig_path), MAX_SIGNATURE_BYTES)?;
    Ok(vec![KeptCheckpoint {
        label,
        body: bytes,
        signature,
        checkpoint,
    }])
}
