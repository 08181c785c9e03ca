//! Checkpoints: the signed notes over the log's Merkle tree, their signatures, and reading
//! `log/checkpoints`.

use super::*;
use crate::format::error::{Error, Result};
use crate::format::merkle::Hash;
use crate::format::minisign::{KeyId, SecretKey, Signature};
use crate::profile::metadata::format_sealed;
use crate::profile::trust::{Reason, Trust};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use std::path::Path;

/// A checkpoint: the archive operator's signed statement that the log's first `size` entries
/// have Merkle root `root`, at `time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name (the same in every checkpoint of a log).
    pub origin: String,
    /// Number of entries covered.
    pub size: u64,
    /// Merkle root of those entries.
    pub root: Hash,
    /// The archive operator's clock when it signed.
    pub time: DateTime<Utc>,
    /// The size of the checkpoint before this one (0 for the first).
    pub previous: u64,
}

pub(super) fn check_origin(o: &str) -> std::result::Result<(), String> {
    if o.is_empty() || o.len() > 255 {
        return Err("the origin must be 1 to 255 bytes".into());
    }
    if !o.bytes().all(|b| b.is_ascii_graphic() && b != b'+') {
        return Err("the origin must be printable ASCII without spaces or +".into());
    }
    Ok(())
}

pub(super) fn decode_hash(s: &str) -> Option<Hash> {
    let v = STANDARD.decode(s).ok()?;
    let h: Hash = v.try_into().ok()?;
    (STANDARD.encode(h) == s).then_some(h)
}

pub(super) fn encode_hash(h: &Hash) -> String {
    STANDARD.encode(h)
}

impl Checkpoint {
    /// The note body, exactly:
    /// `<origin>\n<size>\n<base64 root>\ntime <YYYY-MM-DDTHH:MM:SSZ>\nprevious <size>\n`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\nprevious {}\n",
            self.origin,
            self.size,
            encode_hash(&self.root),
            format_sealed(self.time),
            self.previous
        )
    }

    /// Parse a note body strictly (only the exact form [`Checkpoint::body`] writes).
    pub fn parse(bytes: &[u8]) -> std::result::Result<Checkpoint, String> {
        if bytes.len() as u64 > MAX_CHECKPOINT_BYTES {
            return Err(format!("larger than {MAX_CHECKPOINT_BYTES} bytes"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())?;
        let body = text
            .strip_suffix('\n')
            .ok_or("does not end in a line feed")?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, time, previous] = lines.as_slice() else {
            return Err(format!("{} lines, not 5", lines.len()));
        };
        check_origin(origin)?;
        let size = parse_decimal(size).ok_or("the size is not a decimal number")?;
        let root = decode_hash(root).ok_or("the root is not the base64 of 32 bytes")?;
        let time = time
            .strip_prefix("time ")
            .ok_or("the fourth line is not `time <T>`")?;
        let time = DateTime::parse_from_rfc3339(time)
            .map_err(|_| "the time is not an RFC 3339 time".to_string())?
            .with_timezone(&Utc);
        let previous = previous
            .strip_prefix("previous ")
            .and_then(parse_decimal)
            .ok_or("the fifth line is not `previous <size>`")?;
        if size == 0 || previous >= size {
            return Err("the size must be positive and larger than the previous size".into());
        }
        let cp = Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            time,
            previous,
        };
        if cp.body().as_bytes() != bytes {
            return Err("not in canonical form".into());
        }
        Ok(cp)
    }

    /// The pinned untrusted comment of a checkpoint signature by `key_id`.
    pub fn untrusted_comment(key_id: KeyId) -> String {
        format!("docseal checkpoint from key {key_id}")
    }

    /// The pinned trusted comment of this checkpoint's signature.
    pub fn trusted_comment(&self) -> String {
        format!(
            "docseal v1 checkpoint origin={} size={} time={}",
            self.origin,
            self.size,
            format_sealed(self.time)
        )
    }

    /// Sign the note body with the archive key: a minisign signature file.
    pub fn sign(&self, key: &SecretKey) -> String {
        key.sign(
            self.body().as_bytes(),
            &Self::untrusted_comment(key.key_id()),
            &self.trusted_comment(),
        )
        .to_file_string()
    }
}

/// What a checkpoint's signature establishes under a set of trusted keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signer {
    /// Valid, by a trusted key usable at the checkpoint's time.
    Trusted {
        /// The key.
        key_id: KeyId,
        /// Its name in the trust file, if any.
        name: Option<String>,
    },
    /// Valid or not, the key is not one to rely on for this checkpoint: not trusted, revoked,
    /// or outside its validity window at the checkpoint's time.
    Untrusted(String),
    /// The signature is malformed or does not verify: the checkpoint was altered or forged.
    Invalid(String),
}

/// Check a checkpoint's signature (`sig`, a minisign signature file) over its note `body`.
///
/// Only a key trusted in the archive role ([`crate::profile::trust::TrustedKey::archive`]) counts. A key
/// retired at T counts only for checkpoints dated before T; a compromised key never counts
/// (whoever holds it can sign any time); a validity window must contain the time.
pub fn check_signature(cp: &Checkpoint, body: &[u8], sig: &[u8], trust: &Trust) -> Signer {
    if sig.len() as u64 > MAX_SIGNATURE_BYTES {
        return Signer::Invalid(format!(
            "the signature is larger than {MAX_SIGNATURE_BYTES} bytes"
        ));
    }
    let s = match Signature::parse(sig) {
        Ok(s) => s,
        Err(e) => return Signer::Invalid(format!("malformed signature: {e}")),
    };
    let kid = s.key_id;
    let Some(tk) = trust.find(kid) else {
        return Signer::Untrusted(format!(
            "signed by key {kid}, which is not trusted (the archive's public key was not given as trusted)"
        ));
    };
    if let Err(e) = s.verify(&tk.key, body) {
        return Signer::Invalid(format!(
            "the signature does not verify with key {kid} ({e}): altered or forged"
        ));
    }
    if s.untrusted_comment != Checkpoint::untrusted_comment(kid)
        || s.trusted_comment != cp.trusted_comment()
    {
        return Signer::Invalid(
            "the signature's comments are not the exact values docseal writes for this checkpoint"
                .into(),
        );
    }
    let who = match &tk.name {
        Some(n) => format!("key {kid} ({n})"),
        None => format!("key {kid}"),
    };
    // Only a key trusted in the archive role vouches for a checkpoint: a bundle signing key
    // would otherwise date its own bundles with a log it keeps itself.
    if !tk.archive {
        return Signer::Untrusted(format!(
            "{who} is trusted to sign bundles, not as an archive key (a key vouches for checkpoints only in the archive role: role = \"archive\" in a trust file)"
        ));
    }
    let t = format_sealed(cp.time);
    match tk.revoked {
        Some((_, Reason::Compromised)) => {
            return Signer::Untrusted(format!(
                "{who} is revoked as compromised: whoever holds it can sign any time, so its checkpoints prove nothing"
            ))
        }
        Some((at, Reason::Retired)) if cp.time >= at => {
            return Signer::Untrusted(format!(
                "{who} was retired at {}, and this checkpoint is dated {t}",
                format_sealed(at)
            ))
        }
        _ => {}
    }
    if tk.valid_from.is_some_and(|f| cp.time < f) || tk.valid_until.is_some_and(|u| cp.time > u) {
        return Signer::Untrusted(format!("dated {t}, outside {who}'s validity window"));
    }
    Signer::Trusted {
        key_id: kid,
        name: tk.name.clone(),
    }
}

/// One checkpoint file (and its signature) as found in `log/checkpoints`, checked and without
/// its bytes.
#[derive(Debug, Clone)]
pub(super) struct CheckpointFile {
    /// The body parsed (or why not).
    pub(super) parsed: std::result::Result<Checkpoint, String>,
}

/// The checkpoints of an archive, by size, and any other files beside them.
#[derive(Default)]
pub(super) struct Checkpoints {
    /// Each size with a checkpoint file, ascending, kept in a temporary file past a few
    /// thousand: a log may hold a checkpoint an entry.
    pub(super) files: super::dups::Sizes,
    /// Temporary files of an interrupted add.
    pub(super) temp: Vec<String>,
    /// Names of files that are neither `<N>`, `<N>.minisig` nor a temporary file.
    pub(super) stray: Vec<String>,
    /// Symbolic links (never followed).
    pub(super) links: Vec<String>,
    /// Checkpoint files that could not be read, and why: the first [`MAX_REPORTED`] (no more
    /// are listed), names already in `stray` (a FIFO, a directory) left out.
    pub(super) unreadable: Vec<(String, String)>,
    /// How many more could not be read: counted, not kept (memory does not grow with them).
    pub(super) unreadable_more: u64,
}

/// What [`read_checkpoints`] calls for each checkpoint size: its body and signature (if
/// present), and the file as checked.
/// The last argument: the sizes of the checkpoint files before this one.
pub(super) type EachCheckpoint<'a> =
    dyn FnMut(u64, Option<&[u8]>, Option<&[u8]>, &CheckpointFile, &super::dups::Sizes) + 'a;

/// List `ARCHIVE/log/checkpoints` (a missing directory has no checkpoints), reading each
/// checkpoint and signature in turn; `each` sees the bytes of each (body, signature) before
/// they are dropped.
pub(super) fn read_checkpoints(
    archive: &Path,
    each: &mut EachCheckpoint<'_>,
) -> Result<Checkpoints> {
    let mut out = Checkpoints::default();
    if !log_dirs(archive)?.1 {
        return Ok(out);
    }
    let dir = archive.join(CHECKPOINTS_DIR);
    let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    // The sizes, sorted in bounded memory (a directory lists in no order, and may hold a
    // checkpoint an entry).
    let mut sizes = super::dups::KeySorter::default();
    let spill = super::spilled;
    let mut listed = 0u64;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(&dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let ft = ent.file_type().map_err(|e| Error::io(&dir, e))?;
        let n = name.strip_suffix(".minisig").unwrap_or(&name).to_string();
        if ft.is_symlink() {
            out.links.push(name);
        } else if is_temp_name(&name) && ft.is_file() {
            out.temp.push(name);
        } else {
            match parse_decimal(&n) {
                Some(size) if ft.is_file() && size > 0 => {
                    sizes.push(size).map_err(spill)?;
                    listed += 1;
                }
                _ => out.stray.push(name),
            }
        }
        if listed > 2 * MAX_CHECKPOINTS {
            return Err(invalid(
                dir.display(),
                format!("holds more than {MAX_CHECKPOINTS} checkpoints"),
            ));
        }
        // Named as such: the checkpoints' bound is far away, this one is what was passed.
        if out.stray.len() + out.temp.len() + out.links.len() > MAX_OTHER_FILES {
            return Err(invalid(
                dir.display(),
                format!("holds more than {MAX_OTHER_FILES} files that are not checkpoints (strays, links, temporary files)"),
            ));
        }
    }
    out.stray.sort();
    out.temp.sort();
    out.links.sort();
    // `<N>` and `<N>.minisig` give one size twice.
    let mut last = None;
    for size in sizes.sorted().map_err(spill)? {
        let size = size.map_err(spill)?;
        if last == Some(size) {
            continue;
        }
        last = Some(size);
        let body_path = dir.join(size.to_string());
        let sig_path = dir.join(format!("{size}.minisig"));
        // A file that cannot be read (not a regular file, too large) is a finding among the
        // others, not the end of the audit: read as absent, and named.
        let mut read = |path: &Path, name: String, max: u64| match read_limited(path, max) {
            Ok(b) => b,
            Err(e) => {
                // A name already reported as not a checkpoint file is reported once.
                if out.stray.binary_search(&name).is_err() {
                    if out.unreadable.len() < MAX_REPORTED {
                        out.unreadable.push((name, e.to_string()));
                    } else {
                        out.unreadable_more += 1;
                    }
                }
                None
            }
        };
        let body = read(&body_path, size.to_string(), MAX_CHECKPOINT_BYTES);
        let signature = read(&sig_path, format!("{size}.minisig"), MAX_SIGNATURE_BYTES);
        let parsed = match &body {
            None => Err("missing".to_string()),
            Some(b) => Checkpoint::parse(b).and_then(|cp| {
                if cp.size == size {
                    Ok(cp)
                } else {
                    Err(format!(
                        "the file name says size {size}, the checkpoint says {}",
                        cp.size
                    ))
                }
            }),
        };
        let cf = CheckpointFile { parsed };
        each(size, body.as_deref(), signature.as_deref(), &cf, &out.files);
        out.files.push(size).map_err(spill)?;
    }
    Ok(out)
}

/// Read checkpoint `size`'s note and signature (for a proof).
pub(super) fn read_note(archive: &Path, size: u64) -> Result<SignedNote> {
    let dir = archive.join(CHECKPOINTS_DIR);
    let at = format!("log/checkpoints/{size}");
    let body = read_limited(&dir.join(size.to_string()), MAX_CHECKPOINT_BYTES)?;
    let sig = read_limited(&dir.join(format!("{size}.minisig")), MAX_SIGNATURE_BYTES)?;
    let (Some(body), Some(sig)) = (body, sig) else {
        return Err(invalid(archive.display(), format!("{at}: missing")));
    };
    Ok(SignedNote {
        body: String::from_utf8(body)
            .map_err(|_| invalid(archive.display(), format!("{at}: not UTF-8")))?,
        signature: String::from_utf8(sig)
            .map_err(|_| invalid(archive.display(), format!("{at}: signature is not UTF-8")))?,
    })
}

/// The checkpoint a signature file without its note was made for, rebuilt from the
/// signature's trusted comment (origin, size, time), the log's root at that size and the
/// previous checkpoint's size: what an `archive add` interrupted between writing the
/// signature and the note had signed. `None` if the comment is not docseal's.
pub(super) fn rebuild_checkpoint(sig: &[u8], root: Hash, previous: u64) -> Option<Checkpoint> {
    let s = Signature::parse(sig).ok()?;
    let rest = s
        .trusted_comment
        .strip_prefix("docseal v1 checkpoint origin=")?;
    let (origin, rest) = rest.split_once(" size=")?;
    let (size, time) = rest.split_once(" time=")?;
    let cp = Checkpoint {
        origin: origin.to_string(),
        size: parse_decimal(size)?,
        root,
        time: DateTime::parse_from_rfc3339(time).ok()?.with_timezone(&Utc),
        previous,
    };
    // Only what docseal writes: the parse of the rebuilt body must give it back.
    (Checkpoint::parse(cp.body().as_bytes()).ok()? == cp).then_some(cp)
}

#[cfg(test)]
mod att7_tests {
    use super::*;

    /// Checkpoint files that cannot be read are kept (name, why) only up to the number a
    /// report lists, the rest counted: before, one a file, without bound (a checkpoint
    /// directory a user cannot read, 300,000 files: 78 MB of audit, 22 MB without them).
    /// Here each `<N>.minisig` is a symbolic link (never followed: it cannot be read).
    #[test]
    fn attack_att7_unreadable_checkpoint_files_are_counted_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cps = dir.path().join(CHECKPOINTS_DIR);
        std::fs::create_dir_all(&cps).unwrap();
        let n = MAX_REPORTED as u64 + 10;
        for size in 1..=n {
            std::fs::write(cps.join(size.to_string()), b"x").unwrap();
            std::os::unix::fs::symlink("/dev/null", cps.join(format!("{size}.minisig"))).unwrap();
        }
        let mut seen = 0u64;
        let got = read_checkpoints(dir.path(), &mut |_, _, sig, _, _| {
            assert!(sig.is_none());
            seen += 1;
        })
        .unwrap();
        assert_eq!(seen, n);
        assert_eq!(got.links.len() as u64, n);
        assert_eq!(got.unreadable.len(), MAX_REPORTED);
        assert_eq!(got.unreadable_more, 10);
        assert!(got.unreadable[0].0.ends_with(".minisig"));
    }
}
