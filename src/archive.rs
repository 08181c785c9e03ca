//! The archive: a directory of bundles with an append-only, tamper-evident log
//! (`docs/FORMAT.md`, "Archive log v1").
//!
//! ```text
//! ARCHIVE/bundles/<file>.zip          the bundles, as added
//! ARCHIVE/log/entries                 one line per bundle, append-only: the Merkle tree's leaves
//! ARCHIVE/log/checkpoints/<N>         checkpoint of the tree of the first N entries (a note)
//! ARCHIVE/log/checkpoints/<N>.minisig its minisign signature by the archive key
//! ```
//!
//! The log is a Merkle tree in the manner of Certificate Transparency ([`crate::log`]); a
//! checkpoint signs its size, root and the archive operator's time. The first checkpoint
//! that includes a bundle establishes that the bundle existed by then, which a verifier uses
//! for keys revoked later (`docs/SECURITY.md`). Inclusion and consistency proofs are
//! self-contained JSON files that anyone can check with docseal and the archive's public key.
//!
//! Everything read from an archive, a log, a checkpoint or a proof is treated as hostile:
//! sizes are bounded before reading, every field is parsed strictly and must be in the exact
//! form docseal writes.

use crate::atomic::{self, Output};
use crate::error::{Error, Result};
use crate::finding::{Code, Finding, Severity};
use crate::log::{self, CompactRange, Hash};
use crate::metadata::{format_sealed, hex, is_hex64};
use crate::minisign::{KeyId, SecretKey, Signature};
use crate::trust::{Reason, Trust};
use crate::verify::{self, KnownBundle, Options};
use crate::zipfmt::Limits;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Directory of the bundles, under the archive.
pub const BUNDLES_DIR: &str = "bundles";
/// The log's entries file, under the archive.
pub const ENTRIES_FILE: &str = "log/entries";
/// Directory of the checkpoints, under the archive.
pub const CHECKPOINTS_DIR: &str = "log/checkpoints";
/// Present while `archive add` runs.
pub const LOCK_FILE: &str = "log/lock";
/// Longest entry line (without its LF).
pub const MAX_ENTRY_LINE: usize = 2048;
/// Most entries a log may hold.
pub const MAX_ENTRIES: usize = 1 << 20;
/// Most checkpoints a log may hold.
pub const MAX_CHECKPOINTS: usize = 100_000;
/// Largest checkpoint note.
pub const MAX_CHECKPOINT_BYTES: u64 = 1024;
/// Largest checkpoint signature (docseal's are about 400 bytes).
pub const MAX_SIGNATURE_BYTES: u64 = 1024;
/// Largest proof file.
pub const MAX_PROOF_BYTES: u64 = 64 << 10;
/// Longest archive file name of a bundle.
pub const MAX_NAME_BYTES: usize = 255;
/// The origin line of a new archive's checkpoints: this prefix and the first key's id.
pub const ORIGIN_PREFIX: &str = "docseal-archive/";
/// `docsealProof` of an inclusion proof file.
pub const INCLUSION_PROOF: &str = "inclusion-v1";
/// `docsealProof` of a consistency proof file.
pub const CONSISTENCY_PROOF: &str = "consistency-v1";

fn invalid(what: impl std::fmt::Display, problem: impl Into<String>) -> Error {
    Error::invalid(what.to_string(), problem)
}

// ---------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------

/// One log entry: one bundle added to the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Its position in the log, from 0.
    pub index: u64,
    /// The bundle's content digest (SHA-256 of its tag manifest), hex.
    pub content_sha256: String,
    /// SHA-256 of the bundle file as added, hex.
    pub file_sha256: String,
    /// The bundle identity.
    pub id: String,
    /// The content digest of the bundle it supersedes, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// Its file name under `bundles/`.
    pub name: String,
}

/// Whether `name` may be a bundle's file name in an archive: one portable path segment
/// ending in `.zip`, at most 255 bytes.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.len() > MAX_NAME_BYTES || name.contains('/') {
        return Err(format!(
            "{name:?} is not a single file name of at most {MAX_NAME_BYTES} bytes"
        ));
    }
    if !name.ends_with(".zip") || name.len() <= 4 {
        return Err(format!("{name:?} does not end in .zip"));
    }
    crate::path::check(name).map_err(|(code, why)| format!("{name:?}: {why} ({code})"))
}

fn is_bundle_id(s: &str) -> bool {
    s.strip_prefix("urn:docseal:").is_some_and(|h| {
        h.len() == 32
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A decimal number as docseal writes it (no sign, no leading zeros).
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Entry {
    /// The entry's line, without its LF:
    /// `<index> <content sha256> <file sha256> <id> <supersedes sha256 or -> <name>`.
    pub fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.index,
            self.content_sha256,
            self.file_sha256,
            self.id,
            self.supersedes.as_deref().unwrap_or("-"),
            self.name
        )
    }

    /// The entry's leaf hash in the log's Merkle tree: `SHA-256(0x00 || line)`.
    pub fn leaf_hash(&self) -> Hash {
        log::leaf_hash(self.line().as_bytes())
    }

    /// Parse an entry line (without its LF) strictly.
    pub fn parse(line: &[u8]) -> std::result::Result<Entry, String> {
        if line.len() > MAX_ENTRY_LINE {
            return Err(format!("longer than {MAX_ENTRY_LINE} bytes"));
        }
        let text = std::str::from_utf8(line).map_err(|_| "not valid UTF-8".to_string())?;
        let mut it = text.splitn(6, ' ');
        let mut field = |what: &str| {
            it.next()
                .filter(|f| !f.is_empty())
                .ok_or_else(|| format!("no {what} field"))
        };
        let index = field("index")?;
        let content = field("content digest")?;
        let file = field("file digest")?;
        let id = field("bundle id")?;
        let sup = field("supersedes")?;
        let name = field("file name")?;
        let index = parse_decimal(index).ok_or("the index is not a decimal number")?;
        if !is_hex64(content) || !is_hex64(file) {
            return Err("a digest is not 64 lower-case hex digits".into());
        }
        if !is_bundle_id(id) {
            return Err("the bundle id is not urn:docseal:<32 hex>".into());
        }
        let supersedes = match sup {
            "-" => None,
            s if is_hex64(s) => Some(s.to_string()),
            _ => return Err("supersedes is neither - nor 64 lower-case hex digits".into()),
        };
        check_name(name)?;
        let e = Entry {
            index,
            content_sha256: content.into(),
            file_sha256: file.into(),
            id: id.into(),
            supersedes,
            name: name.into(),
        };
        if e.line().as_bytes() != line {
            return Err("not in canonical form".into());
        }
        Ok(e)
    }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

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

fn check_origin(o: &str) -> std::result::Result<(), String> {
    if o.is_empty() || o.len() > 255 {
        return Err("the origin must be 1 to 255 bytes".into());
    }
    if !o.bytes().all(|b| b.is_ascii_graphic() && b != b'+') {
        return Err("the origin must be printable ASCII without spaces or +".into());
    }
    Ok(())
}

fn decode_hash(s: &str) -> Option<Hash> {
    let v = STANDARD.decode(s).ok()?;
    let h: Hash = v.try_into().ok()?;
    (STANDARD.encode(h) == s).then_some(h)
}

fn encode_hash(h: &Hash) -> String {
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
/// A key retired at T counts only for checkpoints dated before T; a compromised key never
/// counts (whoever holds it can sign any time); a validity window must contain the time.
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
            "signed by key {kid}, which is not trusted (give the archive's public key with --trust)"
        ));
    };
    if let Err(e) = s.verify(&tk.key_under(kid), body) {
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

// ---------------------------------------------------------------------------------------------
// Reading an archive
// ---------------------------------------------------------------------------------------------

/// The log's entries as read.
#[derive(Debug, Default)]
pub struct Entries {
    /// The leaf hash of every complete line, in order.
    pub leaves: Vec<Hash>,
    /// Each line parsed (or why it could not be).
    pub parsed: Vec<std::result::Result<Entry, String>>,
    /// Bytes after the last LF (an interrupted write), if any.
    pub torn_tail: usize,
    /// Set when reading stopped early: a line longer than the limit, or too many lines.
    pub stopped: Option<String>,
}

impl Entries {
    /// The first malformed line (1-based line number and why), if any.
    pub fn first_malformed(&self) -> Option<(usize, &str)> {
        self.parsed
            .iter()
            .enumerate()
            .find_map(|(i, p)| p.as_ref().err().map(|e| (i + 1, e.as_str())))
    }
}

/// Read `ARCHIVE/log/entries` (a missing file is an empty log).
pub fn read_entries(archive: &Path) -> Result<Entries> {
    let path = archive.join(ENTRIES_FILE);
    let f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entries::default()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut r = BufReader::new(f);
    let mut out = Entries::default();
    let mut buf = Vec::with_capacity(512);
    loop {
        buf.clear();
        let n = (&mut r)
            .take(MAX_ENTRY_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(&path, e))?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') {
            if buf.len() > MAX_ENTRY_LINE {
                out.stopped = Some(format!(
                    "line {} is longer than {MAX_ENTRY_LINE} bytes: not a docseal log",
                    out.leaves.len() + 1
                ));
            } else {
                out.torn_tail = buf.len();
            }
            break;
        }
        if out.leaves.len() >= MAX_ENTRIES {
            out.stopped = Some(format!("more than {MAX_ENTRIES} entries"));
            break;
        }
        let line = &buf[..buf.len() - 1];
        out.leaves.push(log::leaf_hash(line));
        out.parsed.push(Entry::parse(line));
    }
    Ok(out)
}

/// One checkpoint file (and its signature) as found in `log/checkpoints`.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    /// The size its file name says.
    pub name_size: u64,
    /// The note body, if present and not larger than the limit.
    pub body: Option<Vec<u8>>,
    /// The signature file, if present and not larger than the limit.
    pub signature: Option<Vec<u8>>,
    /// The body parsed (or why not).
    pub parsed: std::result::Result<Checkpoint, String>,
}

/// The checkpoints of an archive, by size, and any stray files beside them.
#[derive(Debug, Default)]
pub struct Checkpoints {
    /// By the size in the file name.
    pub files: BTreeMap<u64, CheckpointFile>,
    /// Names of files that are neither `<N>` nor `<N>.minisig`.
    pub stray: Vec<String>,
}

fn read_limited(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    Ok(Some(buf))
}

/// Read `ARCHIVE/log/checkpoints` (a missing directory has no checkpoints).
pub fn read_checkpoints(archive: &Path) -> Result<Checkpoints> {
    let dir = archive.join(CHECKPOINTS_DIR);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Checkpoints::default()),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut out = Checkpoints::default();
    let mut sizes: BTreeSet<u64> = BTreeSet::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(&dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let is_file = ent.file_type().map(|t| t.is_file()).unwrap_or(false);
        let n = name.strip_suffix(".minisig").unwrap_or(&name).to_string();
        match parse_decimal(&n) {
            Some(size) if is_file && size > 0 => {
                sizes.insert(size);
            }
            _ => out.stray.push(name),
        }
        if sizes.len() > MAX_CHECKPOINTS || out.stray.len() > MAX_CHECKPOINTS {
            return Err(invalid(
                dir.display(),
                format!("holds more than {MAX_CHECKPOINTS} checkpoints or other files"),
            ));
        }
    }
    out.stray.sort();
    for size in sizes {
        let body_path = dir.join(size.to_string());
        let sig_path = dir.join(format!("{size}.minisig"));
        let body = read_limited(&body_path, MAX_CHECKPOINT_BYTES)?;
        let signature = read_limited(&sig_path, MAX_SIGNATURE_BYTES)?;
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
        out.files.insert(
            size,
            CheckpointFile {
                name_size: size,
                body,
                signature,
                parsed,
            },
        );
    }
    Ok(out)
}

/// The Merkle root of the first `n` leaves, for each `n` in `sizes` that is at most
/// `leaves.len()`, in one pass.
fn prefix_roots(leaves: &[Hash], sizes: &BTreeSet<u64>) -> HashMap<u64, Hash> {
    let mut out = HashMap::new();
    let mut cr = CompactRange::new();
    let mut want = sizes.iter().copied().filter(|&s| s > 0).peekable();
    for l in leaves {
        cr.push(*l);
        while want.peek() == Some(&cr.size()) {
            out.insert(cr.size(), cr.root());
            want.next();
        }
        if want.peek().is_none() {
            break;
        }
    }
    out
}

fn sha256_file(path: &Path) -> Result<String> {
    crate::batch::sha256_file(path).map(|d| hex(&d))
}

// ---------------------------------------------------------------------------------------------
// Established times (verify --archive)
// ---------------------------------------------------------------------------------------------

/// What an archive log establishes for a verifier.
#[derive(Debug, Default)]
pub struct Evidence {
    /// Content digest (hex) -> the archived copies of it, each with the time of the first
    /// counted checkpoint (per archive key) that includes it. The time covers only the
    /// signatures of the archived copy (`verify::Options::established`).
    pub established: HashMap<String, Vec<crate::verify::ArchivedCopy>>,
    /// The bundles the trusted checkpoints cover (for `supersedes` checks).
    pub known: Vec<KnownBundle>,
    /// Checkpoints that were not counted, and why.
    pub notes: Vec<String>,
    /// Number of checkpoints counted.
    pub checkpoints: usize,
}

/// Read the archive's log and checkpoints and establish, for every bundle a checkpoint signed
/// by a trusted key covers, the time of the first such checkpoint.
///
/// Checkpoints by keys that are not trusted, retired before the checkpoint's time, compromised
/// or outside their validity window are not counted (and noted). A log that does not check out
/// against a counted checkpoint (altered, truncated, forged signature by a trusted key id,
/// time going backwards) is an error: nothing from it is used.
pub fn evidence(archive: &Path, trust: &Trust) -> Result<Evidence> {
    let label = archive.display().to_string();
    let tampered = |why: String| {
        invalid(
            &label,
            format!("{why} (run docseal archive audit {label} for details)"),
        )
    };
    if !archive.join(ENTRIES_FILE).is_file() {
        return Err(invalid(&label, "is not a docseal archive (no log/entries)"));
    }
    let entries = read_entries(archive)?;
    if let Some(why) = &entries.stopped {
        return Err(tampered(format!("log/entries: {why}")));
    }
    if let Some((line, why)) = entries.first_malformed() {
        return Err(tampered(format!("log/entries:{line}: {why}")));
    }
    let cps = read_checkpoints(archive)?;
    let sizes: BTreeSet<u64> = cps.files.keys().copied().collect();
    let roots = prefix_roots(&entries.leaves, &sizes);
    let mut ev = Evidence::default();
    let mut counted: Vec<&Checkpoint> = Vec::new();
    // The archive key of each counted checkpoint.
    let mut archive_keys: Vec<[u8; 32]> = Vec::new();
    for (size, f) in &cps.files {
        let at = format!("log/checkpoints/{size}");
        let cp = match &f.parsed {
            Ok(cp) => cp,
            Err(why) => return Err(tampered(format!("{at}: {why}"))),
        };
        let (Some(body), Some(sig)) = (&f.body, &f.signature) else {
            return Err(tampered(format!("{at}: no signature")));
        };
        match check_signature(cp, body, sig, trust) {
            Signer::Invalid(why) => return Err(tampered(format!("{at}: {why}"))),
            Signer::Untrusted(why) => {
                ev.notes.push(format!("{at} not counted: {why}"));
                continue;
            }
            Signer::Trusted { key_id, .. } => {
                // Only a key trusted in the archive role vouches for checkpoints here.
                match trust.find(key_id).filter(|k| k.archive) {
                    Some(k) => archive_keys.push(k.public_bytes()),
                    None => {
                        ev.notes.push(format!(
                            "{at} not counted: key {key_id} is trusted to sign bundles, not as an archive key (give it with --archive-key, or role = \"archive\" in a trust file)"
                        ));
                        continue;
                    }
                }
            }
        }
        match roots.get(size) {
            None => {
                return Err(tampered(format!(
                    "{at} covers {size} entries, the log has only {}",
                    entries.leaves.len()
                )))
            }
            Some(r) if *r != cp.root => {
                return Err(tampered(format!(
                    "the log's first {size} entries do not hash to the root {at} signs"
                )))
            }
            _ => {}
        }
        if let Some(prev) = counted.last() {
            if cp.time < prev.time {
                return Err(tampered(format!(
                    "{at} is dated {}, before checkpoint {} ({}): back-dated",
                    format_sealed(cp.time),
                    prev.size,
                    format_sealed(prev.time)
                )));
            }
        }
        counted.push(cp);
    }
    if counted.is_empty() {
        let mut why =
            "no checkpoint is signed by a trusted archive key that may vouch for it (--archive-key, or role = \"archive\" in a --trust file)".to_string();
        if let Some(n) = ev.notes.first() {
            why.push_str(&format!(" ({n})"));
        }
        return Err(invalid(&label, why));
    }
    ev.checkpoints = counted.len();
    // An archive key whose checkpoint was skipped (not counted) pushed nothing, so
    // `archive_keys` matches `counted` one to one.
    let mut distinct: Vec<[u8; 32]> = archive_keys.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let mut next = vec![0usize; distinct.len()];
    let mut k = 0;
    for (i, e) in entries.parsed.iter().enumerate() {
        while k < counted.len() && counted[k].size <= i as u64 {
            k += 1;
        }
        if k >= counted.len() {
            break;
        }
        let Ok(e) = e else { continue };
        // For each archive key, the first of its checkpoints that includes the entry.
        let copies = ev.established.entry(e.content_sha256.clone()).or_default();
        for (d, key) in distinct.iter().enumerate() {
            let j = &mut next[d];
            while *j < counted.len() && (archive_keys[*j] != *key || counted[*j].size <= i as u64) {
                *j += 1;
            }
            let (Some(cp), Some(file)) =
                (counted.get(*j), crate::bagit::parse_hex32(&e.file_sha256))
            else {
                continue;
            };
            copies.push(crate::verify::ArchivedCopy {
                time: cp.time,
                archive_key: *key,
                file_sha256: file,
                copy: archive.join(BUNDLES_DIR).join(&e.name),
            });
        }
        ev.known.push(KnownBundle {
            id: e.id.clone(),
            content_sha256: e.content_sha256.clone(),
            supersedes: e.supersedes.clone(),
            label: format!(
                "{} (archive log entry {})",
                archive.join(BUNDLES_DIR).join(&e.name).display(),
                e.index
            ),
            file: Some(archive.join(BUNDLES_DIR).join(&e.name)),
        });
    }
    Ok(ev)
}

// ---------------------------------------------------------------------------------------------
// Adding bundles
// ---------------------------------------------------------------------------------------------

/// Holds `log/lock` while an add runs; removes it when dropped.
struct Lock(PathBuf);

impl Lock {
    fn acquire(archive: &Path) -> Result<Lock> {
        let p = archive.join(LOCK_FILE);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", std::process::id());
                Ok(Lock(p))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(invalid(
                p.display(),
                "exists: another docseal archive add is running, or one was interrupted (remove the file if none is running)",
            )),
            Err(e) => Err(Error::io(&p, e)),
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What `archive add` did.
#[derive(Debug, Clone)]
pub struct Added {
    /// The new entries (including earlier unsigned ones now signed, if any).
    pub entries: Vec<Entry>,
    /// The new checkpoint.
    pub checkpoint: Checkpoint,
    /// The key that signed it.
    pub key_id: KeyId,
}

/// Add `bundles` to the archive (created if missing), append them to its log and sign a new
/// checkpoint with `key`, dated `time` (default now; the archive operator's clock).
///
/// Each bundle must pass every check but trust; a bundle whose content is already in the
/// archive, or whose file name is taken, is refused. Nothing is added unless all can be.
pub fn add(
    archive: &Path,
    bundles: &[PathBuf],
    key: &SecretKey,
    time: Option<DateTime<Utc>>,
    limits: &Limits,
) -> Result<Added> {
    if bundles.is_empty() {
        return Err(invalid("archive add", "no bundle given"));
    }
    let label = archive.display().to_string();
    for d in [BUNDLES_DIR, CHECKPOINTS_DIR] {
        let p = archive.join(d);
        std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    let _lock = Lock::acquire(archive)?;
    let damaged = |why: String| {
        invalid(
            &label,
            format!("{why}; refusing to extend it (run docseal archive audit {label})"),
        )
    };
    let entries = read_entries(archive)?;
    if let Some(why) = &entries.stopped {
        return Err(damaged(format!("log/entries: {why}")));
    }
    if let Some((line, why)) = entries.first_malformed() {
        return Err(damaged(format!("log/entries:{line}: {why}")));
    }
    if entries.torn_tail > 0 {
        return Err(damaged(
            "log/entries ends in an incomplete line (an interrupted write)".into(),
        ));
    }
    let existing: Vec<Entry> = entries.parsed.iter().flatten().cloned().collect();
    for (i, e) in existing.iter().enumerate() {
        if e.index != i as u64 {
            return Err(damaged(format!(
                "log/entries:{}: index {} is not its position",
                i + 1,
                e.index
            )));
        }
    }
    if existing.len() + bundles.len() > MAX_ENTRIES {
        return Err(invalid(
            &label,
            format!("an archive log holds at most {MAX_ENTRIES} entries"),
        ));
    }
    let cps = read_checkpoints(archive)?;
    if cps.files.len() >= MAX_CHECKPOINTS {
        return Err(invalid(
            &label,
            format!("an archive log holds at most {MAX_CHECKPOINTS} checkpoints"),
        ));
    }
    let latest = match cps.files.iter().next_back() {
        None => None,
        Some((size, f)) => {
            let cp = f
                .parsed
                .clone()
                .map_err(|why| damaged(format!("log/checkpoints/{size}: {why}")))?;
            let mut s = BTreeSet::new();
            s.insert(*size);
            if prefix_roots(&entries.leaves, &s).get(size) != Some(&cp.root) {
                return Err(damaged(format!(
                    "the log's entries do not hash to the root log/checkpoints/{size} signs"
                )));
            }
            if let (Some(body), Some(sig)) = (&f.body, &f.signature) {
                let me = Trust::new(vec![crate::trust::TrustedKey::plain(key.public_key())]);
                if let Signer::Invalid(why) = check_signature(&cp, body, sig, &me) {
                    return Err(damaged(format!("log/checkpoints/{size}: {why}")));
                }
            } else {
                return Err(damaged(format!("log/checkpoints/{size}: no signature")));
            }
            Some(cp)
        }
    };
    let signed = latest.as_ref().map_or(0, |c| c.size) as usize;
    // Entries after the latest checkpoint (an interrupted add): sign them only if their
    // bundles are there, exactly as logged.
    for e in &existing[signed.min(existing.len())..] {
        let p = archive.join(BUNDLES_DIR).join(&e.name);
        if !p.is_file() || sha256_file(&p)? != e.file_sha256 {
            return Err(damaged(format!(
                "log entry {} ({}) is not covered by a checkpoint and its bundle is not as logged",
                e.index, e.name
            )));
        }
    }
    let time = time.unwrap_or_else(Utc::now);
    let time = DateTime::from_timestamp(time.timestamp(), 0).unwrap_or(time);
    if let Some(l) = &latest {
        if time < l.time {
            return Err(invalid(
                "--time",
                format!(
                    "{} is before the archive's latest checkpoint ({}); checkpoint times never go backwards",
                    format_sealed(time),
                    format_sealed(l.time)
                ),
            ));
        }
    }

    // Copy each bundle into the archive, checking the copy.
    let mut names: BTreeSet<String> = existing.iter().map(|e| e.name.clone()).collect();
    let mut contents: HashMap<String, String> = existing
        .iter()
        .map(|e| {
            (
                e.content_sha256.clone(),
                format!("entry {} ({})", e.index, e.name),
            )
        })
        .collect();
    let mut committed: Vec<PathBuf> = Vec::new();
    let mut new_entries: Vec<Entry> = Vec::new();
    let result = (|| -> Result<()> {
        for (k, b) in bundles.iter().enumerate() {
            let name = b
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| invalid(b.display(), "file name is not valid UTF-8"))?
                .to_string();
            check_name(&name).map_err(|why| invalid(b.display(), why))?;
            if names.contains(&name) {
                return Err(invalid(
                    b.display(),
                    format!("the archive already has a bundle named {name}"),
                ));
            }
            let dest = archive.join(BUNDLES_DIR).join(&name);
            if dest.symlink_metadata().is_ok() {
                return Err(invalid(
                    b.display(),
                    format!("{BUNDLES_DIR}/{name} exists in the archive but not in its log (see docseal archive audit)"),
                ));
            }
            let e = copy_checked(b, &dest, limits, (existing.len() + k) as u64, &contents)?;
            committed.push(dest);
            names.insert(name.clone());
            contents.insert(
                e.content_sha256.clone(),
                format!("{} (given as {})", name, b.display()),
            );
            new_entries.push(e);
        }
        Ok(())
    })();
    if let Err(e) = result {
        for p in committed {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }

    // Append to the log, then sign the new checkpoint.
    let entries_path = archive.join(ENTRIES_FILE);
    let mut text = String::new();
    for e in &new_entries {
        text.push_str(&e.line());
        text.push('\n');
    }
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&entries_path)
            .map_err(|e| Error::io(&entries_path, e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&entries_path, e))?;
    }
    let log_dir = archive.join("log");
    atomic::sync_dir(&log_dir).map_err(|e| Error::io(&log_dir, e))?;
    let mut cr = CompactRange::new();
    for l in &entries.leaves {
        cr.push(*l);
    }
    for e in &new_entries {
        cr.push(e.leaf_hash());
    }
    let cp = Checkpoint {
        origin: latest
            .as_ref()
            .map(|l| l.origin.clone())
            .unwrap_or_else(|| format!("{ORIGIN_PREFIX}{}", key.key_id())),
        size: cr.size(),
        root: cr.root(),
        time,
        previous: latest.as_ref().map_or(0, |l| l.size),
    };
    let dir = archive.join(CHECKPOINTS_DIR);
    atomic::write(
        &dir.join(format!("{}.minisig", cp.size)),
        cp.sign(key).as_bytes(),
        false,
    )?;
    atomic::write(&dir.join(cp.size.to_string()), cp.body().as_bytes(), false)?;
    let mut all: Vec<Entry> = existing[signed.min(existing.len())..].to_vec();
    all.extend(new_entries);
    Ok(Added {
        entries: all,
        checkpoint: cp,
        key_id: key.key_id(),
    })
}

/// Copy the bundle `src` to `dest` (atomically, never replacing), hashing it, and check the
/// copy: every check but trust, and a content not already in the archive.
fn copy_checked(
    src: &Path,
    dest: &Path,
    limits: &Limits,
    index: u64,
    contents: &HashMap<String, String>,
) -> Result<Entry> {
    let meta = std::fs::metadata(src).map_err(|e| Error::io(src, e))?;
    if !meta.is_file() {
        return Err(invalid(
            src.display(),
            "is not a bundle file (an archive holds bundle ZIP files)",
        ));
    }
    if meta.len() > verify::max_bundle_size(limits) {
        return Err(invalid(src.display(), "larger than the limits allow"));
    }
    let mut input = File::open(src).map_err(|e| Error::io(src, e))?;
    let mut out = Output::create(dest, false)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(src, e)),
        };
        h.update(&buf[..n]);
        out.file()
            .write_all(&buf[..n])
            .map_err(|e| Error::io(dest, e))?;
        len += n as u64;
    }
    let file_sha256 = hex(&h.finalize());
    let f = out.file();
    f.flush().map_err(|e| Error::io(dest, e))?;
    f.rewind().map_err(|e| Error::io(dest, e))?;
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let report = verify::verify_reader(&src.display().to_string(), f, len, None, &opts);
    if !report.ok {
        let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Refused {
            path: src.to_path_buf(),
            summary: format!(
                "{} (only intact bundles are archived; see docseal inspect)",
                codes.join(", ")
            ),
        });
    }
    let (Some(id), Some(content)) = (report.id.clone(), report.content_sha256.clone()) else {
        return Err(Error::Refused {
            path: src.to_path_buf(),
            summary: "no identity or content digest".into(),
        });
    };
    if let Some(other) = contents.get(&content) {
        return Err(invalid(
            src.display(),
            format!("its content (sha256 {content}) is already in the archive: {other}"),
        ));
    }
    let supersedes = report
        .metadata
        .as_ref()
        .and_then(|m| m.supersedes.as_ref())
        .map(|s| s.sha256.clone());
    out.commit()?;
    Ok(Entry {
        index,
        content_sha256: content,
        file_sha256,
        id,
        supersedes,
        name: dest
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------------

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
    let bytes = read_limited(path, MAX_PROOF_BYTES)?
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
    let signature = read_limited(Path::new(&sig_path), MAX_SIGNATURE_BYTES)?;
    Ok(vec![KeptCheckpoint {
        label,
        body: bytes,
        signature,
        checkpoint,
    }])
}

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
}

const MAX_REPORTED: usize = 50;

/// Audit an archive: the log against its checkpoints and the checkpoints you `kept`, the
/// checkpoints' signatures against `trust`, and the bundles against the log. Every problem is
/// reported with a code naming its kind (`docs/VERIFY.md`) and a path naming where.
pub fn audit(
    archive: &Path,
    trust: &Trust,
    kept: &[KeptCheckpoint],
    limits: &Limits,
) -> Result<Audit> {
    if !archive.join("log").is_dir() && !archive.join(BUNDLES_DIR).is_dir() {
        return Err(invalid(
            archive.display(),
            "is not a docseal archive (no log/ or bundles/ directory)",
        ));
    }
    let mut f: Vec<Finding> = Vec::new();
    if !archive.join("log").is_dir() {
        f.push(Finding::at(
            Code::LogCheckpointMissing,
            "log",
            "the archive's log is gone: no entry and no checkpoint vouches for its bundles",
        ));
    }
    let entries = read_entries(archive)?;
    let n = entries.leaves.len();
    let line_at = |i: usize| format!("{ENTRIES_FILE}:{}", i + 1);

    // Entry lines.
    let mut malformed = 0;
    for (i, p) in entries.parsed.iter().enumerate() {
        if let Err(why) = p {
            malformed += 1;
            if malformed <= MAX_REPORTED {
                f.push(Finding::at(Code::LogMalformed, line_at(i), why.clone()));
            }
        }
    }
    if let Some(why) = &entries.stopped {
        f.push(Finding::at(Code::LogMalformed, ENTRIES_FILE, why.clone()));
    }
    if entries.torn_tail > 0 {
        f.push(Finding::at(
            Code::LogMalformed,
            line_at(n),
            format!(
                "{} bytes after the last complete line (an interrupted write, or an entry appended by hand)",
                entries.torn_tail
            ),
        ));
    }
    index_findings(&entries, &mut f);

    // Checkpoints.
    let cps = read_checkpoints(archive)?;
    for s in &cps.stray {
        f.push(Finding::at(
            Code::LogMalformed,
            format!("{CHECKPOINTS_DIR}/{s}"),
            "not a checkpoint file (<N> or <N>.minisig)",
        ));
    }
    let mut sizes: BTreeSet<u64> = cps.files.keys().copied().collect();
    sizes.extend(kept.iter().map(|k| k.checkpoint.size));
    let roots = prefix_roots(&entries.leaves, &sizes);
    // The checkpoints validly signed by a trusted key, in size order, with their signer.
    let mut sound: Vec<(&Checkpoint, String)> = Vec::new();
    for (size, cf) in &cps.files {
        let at = format!("{CHECKPOINTS_DIR}/{size}");
        let (body, sig) = match (&cf.body, &cf.signature) {
            (Some(b), Some(s)) => (b, s),
            (None, Some(_)) => {
                f.push(Finding::at(
                    Code::LogCheckpointMissing,
                    &at,
                    format!("{size}.minisig is there but checkpoint {size} is gone"),
                ));
                continue;
            }
            (_, None) => {
                f.push(Finding::at(
                    Code::LogCheckpointInvalid,
                    &at,
                    format!("has no signature ({size}.minisig is missing)"),
                ));
                continue;
            }
        };
        let cp = match &cf.parsed {
            Ok(cp) => cp,
            Err(why) if why.starts_with("the file name says") => {
                f.push(Finding::at(Code::LogCheckpointInvalid, &at, why.clone()));
                continue;
            }
            Err(why) => {
                f.push(Finding::at(Code::LogMalformed, &at, why.clone()));
                continue;
            }
        };
        let signer = match check_signature(cp, body, sig, trust) {
            Signer::Invalid(why) => {
                f.push(Finding::at(Code::LogCheckpointInvalid, &at, why));
                continue;
            }
            Signer::Untrusted(why) => {
                // Whatever it says, it is not the archive's word: not compared with the log.
                f.push(Finding::at(Code::LogCheckpointUntrusted, &at, why));
                continue;
            }
            Signer::Trusted { key_id, name } => match name {
                Some(n) => format!("{key_id} ({n})"),
                None => key_id.to_string(),
            },
        };
        sound.push((cp, signer));
    }
    // Roots against the log: name the first checkpoint whose range does not hash.
    let mut good_before: u64 = 0;
    let mut failing = false;
    for (cp, _) in &sound {
        let at = format!("{CHECKPOINTS_DIR}/{}", cp.size);
        match roots.get(&cp.size) {
            None => f.push(Finding::at(
                Code::LogTruncated,
                &at,
                format!(
                    "covers {} entries, but the log has only {n}: entries were removed from its end",
                    cp.size
                ),
            )),
            Some(r) if *r != cp.root => {
                if !failing {
                    f.push(Finding::at(
                        Code::LogEntryAltered,
                        &at,
                        format!(
                            "the log's first {} entries do not hash to the root this checkpoint signs: an entry in lines {}..{} was altered, inserted, removed or reordered ({})",
                            cp.size,
                            good_before + 1,
                            cp.size,
                            names_in(&entries, good_before, cp.size)
                        ),
                    ));
                }
                failing = true;
            }
            Some(_) => {
                failing = false;
                good_before = cp.size;
            }
        }
    }
    // The chain of checkpoints: origin, previous, time.
    for (i, (cp, _)) in sound.iter().enumerate() {
        let at = format!("{CHECKPOINTS_DIR}/{}", cp.size);
        if let Some((first, _)) = sound.first() {
            if cp.origin != first.origin {
                f.push(Finding::at(
                    Code::LogCheckpointInconsistent,
                    &at,
                    format!(
                        "origin {:?} differs from the first checkpoint's {:?}",
                        cp.origin, first.origin
                    ),
                ));
            }
        }
        let before = if i == 0 { None } else { Some(sound[i - 1].0) };
        let expected = cps
            .files
            .range(..cp.size)
            .next_back()
            .map_or(0, |(s, _)| *s);
        if cp.previous != expected {
            if cp.previous > 0 && !cps.files.contains_key(&cp.previous) {
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
        if let Some(b) = before {
            if cp.time < b.time {
                f.push(Finding::at(
                    Code::LogCheckpointInconsistent,
                    &at,
                    format!(
                        "dated {}, before checkpoint {} ({}): back-dated",
                        format_sealed(cp.time),
                        b.size,
                        format_sealed(b.time)
                    ),
                ));
            }
        }
    }
    match sound.last() {
        None if n > 0 && cps.files.is_empty() => f.push(Finding::at(
            Code::LogCheckpointMissing,
            CHECKPOINTS_DIR,
            "no checkpoint signs the log",
        )),
        Some((cp, _)) if (n as u64) > cp.size => f.push(
            Finding::at(
                Code::LogUnsignedEntries,
                line_at(cp.size as usize),
                format!(
                    "entries {}..{} come after the latest checkpoint ({}) and no checkpoint signs them",
                    cp.size,
                    n - 1,
                    cp.size
                ),
            )
            .warning(),
        ),
        _ => {}
    }

    // Checkpoints the auditor kept.
    for k in kept {
        let cp = &k.checkpoint;
        let at = k.label.clone();
        if let Some(sig) = &k.signature {
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
        if let Some((first, _)) = sound.first() {
            if first.origin != cp.origin {
                f.push(Finding::at(
                    Code::LogCheckpointInconsistent,
                    &at,
                    format!(
                        "kept checkpoint is of log {:?}, this archive's is {:?}",
                        cp.origin, first.origin
                    ),
                ));
                continue;
            }
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
        match cps.files.get(&cp.size) {
            None => f.push(Finding::at(
                Code::LogCheckpointMissing,
                format!("{CHECKPOINTS_DIR}/{}", cp.size),
                format!("checkpoint {}, which you kept ({at}), is gone", cp.size),
            )),
            Some(cf) if cf.body.as_deref() != Some(&k.body[..]) => f.push(Finding::at(
                Code::LogCheckpointInconsistent,
                format!("{CHECKPOINTS_DIR}/{}", cp.size),
                format!("differs from the checkpoint {} you kept ({at})", cp.size),
            )),
            Some(_) => {}
        }
    }

    // Bundles against the log.
    bundle_findings(archive, &entries, limits, &mut f)?;

    let latest = sound.last().map(|(cp, signer)| CheckpointSummary {
        size: cp.size,
        root: encode_hash(&cp.root),
        time: format_sealed(cp.time),
        signer: Some(signer.clone()),
    });
    Ok(Audit {
        archive: archive.display().to_string(),
        ok: !f.iter().any(|x| x.severity == Severity::Error),
        entries: n,
        checkpoints: cps.files.len(),
        latest,
        findings: f,
    })
}

/// The file names of entries `from..to` (0-based, `to` exclusive), for messages.
fn names_in(entries: &Entries, from: u64, to: u64) -> String {
    let names: Vec<&str> = entries
        .parsed
        .iter()
        .skip(from as usize)
        .take((to.saturating_sub(from)) as usize)
        .filter_map(|p| p.as_ref().ok().map(|e| e.name.as_str()))
        .take(10)
        .collect();
    if names.is_empty() {
        "no readable entry".into()
    } else {
        names.join(", ")
    }
}

/// Name removals, reorderings and duplicates from the entries' index fields.
fn index_findings(entries: &Entries, f: &mut Vec<Finding>) {
    let mut by_index: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut misplaced: Vec<(usize, &Entry)> = Vec::new();
    for (pos, p) in entries.parsed.iter().enumerate() {
        if let Ok(e) = p {
            by_index.entry(e.index).or_default().push(pos);
            if e.index != pos as u64 {
                misplaced.push((pos, e));
            }
        }
    }
    if misplaced.is_empty() {
        return;
    }
    let at = |pos: usize| format!("{ENTRIES_FILE}:{}", pos + 1);
    // Indices beyond the number of lines cannot be told apart from altered ones: look for
    // gaps among the indices a log of this length can have.
    let max = by_index
        .keys()
        .next_back()
        .copied()
        .unwrap_or(0)
        .min(entries.parsed.len() as u64);
    let mut removed = 0;
    let mut dup = 0;
    for k in 0..=max {
        match by_index.get(&k).map(Vec::len) {
            None => {
                removed += 1;
                if removed <= MAX_REPORTED {
                    f.push(Finding::at(
                        Code::LogEntryRemoved,
                        ENTRIES_FILE,
                        format!("entry {k} is missing: its line was removed from the log"),
                    ));
                }
            }
            Some(c) if c > 1 => {
                dup += 1;
                if dup <= MAX_REPORTED {
                    let lines: Vec<String> =
                        by_index[&k].iter().map(|p| (p + 1).to_string()).collect();
                    f.push(Finding::at(
                        Code::LogEntryAltered,
                        ENTRIES_FILE,
                        format!(
                            "lines {} all claim to be entry {k}: an entry was inserted or altered",
                            lines.join(", ")
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    if removed == 0 && dup == 0 {
        for (pos, e) in misplaced.iter().take(MAX_REPORTED) {
            f.push(Finding::at(
                Code::LogReordered,
                at(*pos),
                format!(
                    "holds entry {} ({}): entries were reordered",
                    e.index, e.name
                ),
            ));
        }
    }
}

fn bundle_findings(
    archive: &Path,
    entries: &Entries,
    limits: &Limits,
    f: &mut Vec<Finding>,
) -> Result<()> {
    let dir = archive.join(BUNDLES_DIR);
    let parsed: Vec<&Entry> = entries.parsed.iter().flatten().collect();
    let by_file: HashMap<&str, &Entry> = parsed
        .iter()
        .map(|e| (e.file_sha256.as_str(), *e))
        .collect();
    let mut seen_name: HashMap<&str, u64> = HashMap::new();
    let mut seen_content: HashMap<&str, u64> = HashMap::new();
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    for e in &parsed {
        let at = format!("{BUNDLES_DIR}/{}", e.name);
        if let Some(j) = seen_name.insert(&e.name, e.index) {
            f.push(Finding::at(
                Code::LogEntryAltered,
                &at,
                format!("entries {j} and {} name the same file", e.index),
            ));
            continue;
        }
        if let Some(j) = seen_content.insert(&e.content_sha256, e.index) {
            f.push(Finding::at(
                Code::LogEntryAltered,
                &at,
                format!("entries {j} and {} log the same content", e.index),
            ));
        }
        let p = dir.join(&e.name);
        let m = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                f.push(Finding::at(
                    Code::ArchiveBundleRemoved,
                    &at,
                    format!("log entry {} ({}) is gone from the archive", e.index, e.id),
                ));
                continue;
            }
            Err(err) => return Err(Error::io(&p, err)),
        };
        if !m.is_file() {
            f.push(Finding::at(
                Code::ArchiveBundleReplaced,
                &at,
                format!(
                    "log entry {}: not a regular file any more (a directory or symbolic link)",
                    e.index
                ),
            ));
            continue;
        }
        let sha = sha256_file(&p)?;
        let report = verify::inspect(&p, &opts);
        if sha != e.file_sha256 {
            let why = if let Some(other) = by_file.get(sha.as_str()) {
                format!(
                    "holds the bundle of log entry {} ({}), not that of entry {}: files swapped or renamed",
                    other.index, other.name, e.index
                )
            } else if report.content_sha256.as_deref() == Some(&e.content_sha256) {
                format!(
                    "the file differs from the one log entry {} records, though it holds the same sealed content: co-signed or rewritten after it was archived",
                    e.index
                )
            } else {
                format!(
                    "the file differs from the one log entry {} records: it holds {} (content sha256 {}), not {} ({})",
                    e.index,
                    report.id.as_deref().unwrap_or("an unreadable bundle"),
                    report.content_sha256.as_deref().unwrap_or("-"),
                    e.id,
                    e.content_sha256
                )
            };
            f.push(Finding::at(Code::ArchiveBundleReplaced, &at, why));
            continue;
        }
        if !report.ok {
            let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
            f.push(Finding::at(
                Code::ArchiveBundleInvalid,
                &at,
                format!("log entry {}: {}", e.index, codes.join(", ")),
            ));
        } else if report.content_sha256.as_deref() != Some(&e.content_sha256)
            || report.id.as_deref() != Some(&e.id)
        {
            f.push(Finding::at(
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
        }
    }
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let names: BTreeSet<&str> = parsed.iter().map(|e| e.name.as_str()).collect();
    let mut unlisted: Vec<String> = Vec::new();
    let mut more = 0usize;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(&dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        if !names.contains(name.as_str()) {
            if unlisted.len() < 10 * MAX_REPORTED {
                unlisted.push(name);
            } else {
                more += 1;
            }
        }
    }
    unlisted.sort();
    if unlisted.len() > MAX_REPORTED || more > 0 {
        f.push(Finding::at(
            Code::ArchiveBundleUnlisted,
            BUNDLES_DIR,
            format!(
                "{} files in all are not in the log; the first {MAX_REPORTED} follow",
                unlisted.len() + more
            ),
        ));
    }
    for name in unlisted.iter().take(MAX_REPORTED) {
        f.push(Finding::at(
            Code::ArchiveBundleUnlisted,
            format!("{BUNDLES_DIR}/{name}"),
            "in the archive but not in its log (added without docseal archive add, or its entry was removed)",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Proofs
// ---------------------------------------------------------------------------------------------

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
struct Kind {
    #[serde(rename = "docsealProof")]
    docseal_proof: String,
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

fn decode_path(path: &[String], max: usize) -> std::result::Result<Vec<Hash>, String> {
    if path.len() > max {
        return Err(format!("the path has more than {max} hashes"));
    }
    path.iter()
        .map(|h| decode_hash(h).ok_or_else(|| format!("{h:?} is not the base64 of 32 bytes")))
        .collect()
}

/// A loaded, internally consistent view of an archive's log, for making proofs.
struct View {
    leaves: Vec<Hash>,
    entries: Vec<Entry>,
    checkpoints: BTreeMap<u64, (Checkpoint, SignedNote)>,
}

fn view(archive: &Path) -> Result<View> {
    let label = archive.display().to_string();
    let damaged =
        |why: String| invalid(&label, format!("{why} (run docseal archive audit {label})"));
    if !archive.join(ENTRIES_FILE).is_file() {
        return Err(invalid(&label, "is not a docseal archive (no log/entries)"));
    }
    let e = read_entries(archive)?;
    if let Some(why) = &e.stopped {
        return Err(damaged(format!("log/entries: {why}")));
    }
    if let Some((line, why)) = e.first_malformed() {
        return Err(damaged(format!("log/entries:{line}: {why}")));
    }
    let entries: Vec<Entry> = e.parsed.iter().flatten().cloned().collect();
    let cps = read_checkpoints(archive)?;
    let sizes: BTreeSet<u64> = cps.files.keys().copied().collect();
    let roots = prefix_roots(&e.leaves, &sizes);
    let mut checkpoints = BTreeMap::new();
    for (size, f) in cps.files {
        let at = format!("log/checkpoints/{size}");
        let cp = f.parsed.map_err(|why| damaged(format!("{at}: {why}")))?;
        if roots.get(&size) != Some(&cp.root) {
            return Err(damaged(format!(
                "the log's entries do not hash to the root {at} signs"
            )));
        }
        let (Some(body), Some(sig)) = (f.body, f.signature) else {
            return Err(damaged(format!("{at}: no signature")));
        };
        let note = SignedNote {
            body: String::from_utf8(body).unwrap_or_default(),
            signature: String::from_utf8(sig)
                .map_err(|_| damaged(format!("{at}: signature is not UTF-8")))?,
        };
        checkpoints.insert(size, (cp, note));
    }
    Ok(View {
        leaves: e.leaves,
        entries,
        checkpoints,
    })
}

/// Which entry a prove command is about: a bundle file (by its content digest), the name of a
/// bundle in the archive, or a content digest.
fn find_entry<'a>(v: &'a View, archive: &Path, which: &str, limits: &Limits) -> Result<&'a Entry> {
    let p = Path::new(which);
    let in_archive = archive.join(BUNDLES_DIR).join(which);
    let by_file = |path: &Path| -> Result<&'a Entry> {
        let opts = Options {
            limits: limits.clone(),
            ..Options::default()
        };
        let r = verify::inspect(path, &opts);
        let c = r.content_sha256.ok_or_else(|| Error::Refused {
            path: path.to_path_buf(),
            summary: "no content digest (see docseal inspect)".into(),
        })?;
        v.entries
            .iter()
            .find(|e| e.content_sha256 == c)
            .ok_or_else(|| {
                invalid(
                    path.display(),
                    format!("its content (sha256 {c}) is not in the archive's log"),
                )
            })
    };
    if p.is_file() {
        return by_file(p);
    }
    if check_name(which).is_ok() && in_archive.is_file() {
        return by_file(&in_archive);
    }
    if is_hex64(which) {
        return v
            .entries
            .iter()
            .find(|e| e.content_sha256 == which)
            .ok_or_else(|| invalid(which, "no log entry has this content digest"));
    }
    Err(invalid(
        which,
        "neither a bundle file, a bundle name in the archive, nor a content digest",
    ))
}

/// An inclusion proof of the bundle `which` in the archive, against checkpoint `at` (a tree
/// size; default the latest).
pub fn prove_inclusion(
    archive: &Path,
    which: &str,
    at: Option<u64>,
    limits: &Limits,
) -> Result<InclusionProof> {
    let v = view(archive)?;
    let e = find_entry(&v, archive, which, limits)?;
    let (size, (cp, note)) = match at {
        Some(n) => v
            .checkpoints
            .get_key_value(&n)
            .ok_or_else(|| invalid("--checkpoint", format!("the archive has no checkpoint {n}")))?,
        None => v
            .checkpoints
            .iter()
            .next_back()
            .ok_or_else(|| invalid(archive.display(), "has no checkpoint"))?,
    };
    if e.index >= *size {
        let first = v.checkpoints.keys().find(|s| **s > e.index);
        return Err(invalid(
            "--checkpoint",
            match first {
                Some(f) => format!(
                    "checkpoint {size} does not include entry {} yet; the first that does is {f}",
                    e.index
                ),
                None => format!("no checkpoint includes entry {} yet", e.index),
            },
        ));
    }
    let leaves = &v.leaves[..*size as usize];
    let path = log::inclusion_proof(e.index as usize, leaves)
        .ok_or_else(|| invalid(archive.display(), "the entry is outside the tree"))?;
    log::verify_inclusion(e.index, *size, &e.leaf_hash(), &path, &cp.root)
        .map_err(|err| invalid(archive.display(), format!("internal check failed: {err}")))?;
    Ok(InclusionProof {
        docseal_proof: INCLUSION_PROOF.into(),
        entry: e.line(),
        inclusion_path: path.iter().map(encode_hash).collect(),
        checkpoint: note.clone(),
    })
}

/// A consistency proof from checkpoint `from` to checkpoint `to` (tree sizes; `to` defaults to
/// the latest).
pub fn prove_consistency(archive: &Path, from: u64, to: Option<u64>) -> Result<ConsistencyProof> {
    let v = view(archive)?;
    let get = |n: u64, flag: &str| {
        v.checkpoints
            .get(&n)
            .ok_or_else(|| invalid(flag, format!("the archive has no checkpoint {n}")))
    };
    let (old, old_note) = get(from, "--from")?;
    let (new, new_note) = match to {
        Some(n) => get(n, "--to")?,
        None => v
            .checkpoints
            .values()
            .next_back()
            .ok_or_else(|| invalid(archive.display(), "has no checkpoint"))?,
    };
    if old.size > new.size {
        return Err(invalid(
            "--from",
            format!(
                "checkpoint {} is newer than checkpoint {}",
                old.size, new.size
            ),
        ));
    }
    let path = log::consistency_proof(old.size as usize, &v.leaves[..new.size as usize])
        .ok_or_else(|| invalid(archive.display(), "sizes outside the tree"))?;
    log::verify_consistency(old.size, new.size, &old.root, &new.root, &path)
        .map_err(|err| invalid(archive.display(), format!("internal check failed: {err}")))?;
    Ok(ConsistencyProof {
        docseal_proof: CONSISTENCY_PROOF.into(),
        old: old_note.clone(),
        new: new_note.clone(),
        consistency_path: path.iter().map(encode_hash).collect(),
    })
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

fn check_note(
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
    let bytes = read_limited(proof_path, MAX_PROOF_BYTES)?
        .ok_or_else(|| Error::io(proof_path, std::io::ErrorKind::NotFound.into()))?;
    let proof = Proof::parse(&bytes).map_err(|why| invalid(&label, why))?;
    let refuse = |why: String| Error::Refused {
        path: proof_path.to_path_buf(),
        summary: why,
    };
    match proof {
        Proof::Inclusion(p) => {
            let entry = Entry::parse(p.entry.as_bytes())
                .map_err(|why| invalid(&label, format!("entry: {why}")))?;
            let path = decode_path(&p.inclusion_path, log::MAX_INCLUSION_PATH)
                .map_err(|why| invalid(&label, why))?;
            let (cp, checked) = check_note(&p.checkpoint, trust, "checkpoint", proof_path)?;
            log::verify_inclusion(entry.index, cp.size, &entry.leaf_hash(), &path, &cp.root)
                .map_err(|e| {
                    refuse(format!(
                        "the entry is not in the log as of checkpoint {}: {e}",
                        cp.size
                    ))
                })?;
            let mut notes = Vec::new();
            if let Some(b) = bundle {
                let opts = Options {
                    limits: limits.clone(),
                    ..Options::default()
                };
                let r = verify::inspect(b, &opts);
                if !r.ok {
                    let codes: Vec<String> =
                        r.error_codes().iter().map(|c| c.to_string()).collect();
                    return Err(Error::Refused {
                        path: b.to_path_buf(),
                        summary: format!("{} (see docseal inspect)", codes.join(", ")),
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
                let same_file = b.is_file() && sha256_file(b)? == entry.file_sha256;
                notes.push(if same_file {
                    format!("{}: the very file archived", b.display())
                } else {
                    format!(
                        "{}: the same sealed content as archived, in another file (co-signed or unzipped since)",
                        b.display()
                    )
                });
            }
            Ok(ProofCheck {
                kind: INCLUSION_PROOF.into(),
                entry: Some(entry),
                checkpoint: checked,
                old: None,
                notes,
            })
        }
        Proof::Consistency(p) => {
            let path = decode_path(&p.consistency_path, log::MAX_CONSISTENCY_PATH)
                .map_err(|why| invalid(&label, why))?;
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
            log::verify_consistency(old.size, new.size, &old.root, &new.root, &path).map_err(
                |e| {
                    refuse(format!(
                        "checkpoint {} does not extend checkpoint {}: {e}",
                        new.size, old.size
                    ))
                },
            )?;
            let mut notes = Vec::new();
            if let Some(k) = kept {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            index: 3,
            content_sha256: "ab".repeat(32),
            file_sha256: "cd".repeat(32),
            id: format!("urn:docseal:{}", "0".repeat(32)),
            supersedes: None,
            name: "my article.zip".into(),
        }
    }

    #[test]
    fn entry_lines_round_trip_and_are_strict() {
        let e = entry();
        let line = e.line();
        assert_eq!(Entry::parse(line.as_bytes()).unwrap(), e);
        let mut s = e.clone();
        s.supersedes = Some("ef".repeat(32));
        assert_eq!(Entry::parse(s.line().as_bytes()).unwrap(), s);
        for bad in [
            line.replacen("3 ", "03 ", 1),
            line.replacen("3 ", "+3 ", 1),
            line.replacen(' ', "  ", 1),
            line.to_uppercase(),
            format!("{line} "),
            format!("{line}\r"),
            line.replace("my article.zip", "../x.zip"),
            line.replace("my article.zip", "a/b.zip"),
            line.replace("my article.zip", "x.txt"),
            line.replace("my article.zip", ".zip"),
            line.replace(" - ", " x "),
            line.replace("urn:docseal:", "urn:other:"),
            String::new(),
            "3".into(),
        ] {
            assert!(Entry::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(Entry::parse(&[0xff; 10]).is_err());
        assert!(Entry::parse(&vec![b'1'; MAX_ENTRY_LINE + 1]).is_err());
    }

    fn cp() -> Checkpoint {
        Checkpoint {
            origin: "docseal-archive/0123456789ABCDEF".into(),
            size: 7,
            root: log::leaf_hash(b"x"),
            time: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .unwrap()
                .with_timezone(&Utc),
            previous: 5,
        }
    }

    #[test]
    fn checkpoints_round_trip_and_are_strict() {
        let c = cp();
        let body = c.body();
        assert_eq!(Checkpoint::parse(body.as_bytes()).unwrap(), c);
        for bad in [
            body.replace("\n7\n", "\n07\n"),
            body.replace(
                "time 2026-01-02T03:04:05Z",
                "time 2026-01-02T03:04:05+00:00",
            ),
            body.replace("previous 5", "previous 7"),
            body.replace("previous 5", "previous  5"),
            body.replace("docseal-archive/", "docseal archive/"),
            body.trim_end().to_string(),
            format!("{body}\n"),
            format!("{body}extra\n"),
            body.replace('\n', "\r\n"),
            body.replace("\n7\n", "\n0\n"),
        ] {
            assert!(Checkpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        // A root whose unused base64 bits are set decodes to the same bytes: refused.
        let root_line = encode_hash(&c.root);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut noncanon = root_line.clone().into_bytes();
        let last = noncanon.len() - 2;
        let v = alphabet.iter().position(|&a| a == noncanon[last]).unwrap();
        noncanon[last] = alphabet[v ^ 1];
        let swapped = body.replace(&root_line, std::str::from_utf8(&noncanon).unwrap());
        assert!(Checkpoint::parse(swapped.as_bytes()).is_err());
    }

    #[test]
    fn checkpoint_signatures() {
        use crate::trust::TrustedKey;
        let key = SecretKey::from_seed(&[9; 32], KeyId([1, 2, 3, 4, 5, 6, 7, 8]));
        let other = SecretKey::from_seed(&[8; 32], KeyId([8, 7, 6, 5, 4, 3, 2, 1]));
        let c = cp();
        let sig = c.sign(&key);
        let trust = Trust::new(vec![TrustedKey::plain(key.public_key())]);
        let body = c.body();
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &trust),
            Signer::Trusted { .. }
        ));
        // Altered body.
        let mut c2 = c.clone();
        c2.time -= chrono::Duration::days(1);
        assert!(matches!(
            check_signature(&c2, c2.body().as_bytes(), sig.as_bytes(), &trust),
            Signer::Invalid(_)
        ));
        // Another key.
        let forged = c.sign(&other);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), forged.as_bytes(), &trust),
            Signer::Untrusted(_)
        ));
        // Retired before the checkpoint: not counted; retired after: counted; compromised: never.
        let mut tk = TrustedKey::plain(key.public_key());
        tk.revoked = Some((c.time, Reason::Retired));
        let t = Trust::new(vec![tk.clone()]);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &t),
            Signer::Untrusted(_)
        ));
        tk.revoked = Some((c.time + chrono::Duration::seconds(1), Reason::Retired));
        let t = Trust::new(vec![tk.clone()]);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &t),
            Signer::Trusted { .. }
        ));
        tk.revoked = Some((c.time + chrono::Duration::days(9), Reason::Compromised));
        let t = Trust::new(vec![tk]);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &t),
            Signer::Untrusted(_)
        ));
        assert!(matches!(
            check_signature(&c, body.as_bytes(), b"garbage", &trust),
            Signer::Invalid(_)
        ));
    }

    #[test]
    fn hostile_proofs_are_refused() {
        for bad in [
            &b"{}"[..],
            b"[]",
            b"{\"docsealProof\":\"other\"}",
            b"{\"docsealProof\":\"inclusion-v1\"}",
            b"{\"docsealProof\":\"inclusion-v1\",\"entry\":\"x\",\"inclusionPath\":[],\"checkpoint\":{\"body\":\"\",\"signature\":\"\"},\"extra\":1}",
            b"{\"docsealProof\":\"inclusion-v1\",\"docsealProof\":\"inclusion-v1\",\"entry\":\"x\",\"inclusionPath\":[],\"checkpoint\":{\"body\":\"\",\"signature\":\"\"}}",
        ] {
            assert!(Proof::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(Proof::parse(&vec![b' '; MAX_PROOF_BYTES as usize + 1]).is_err());
        assert!(decode_path(&vec!["AAAA".into(); 65], 64).is_err());
        assert!(decode_path(&["AAAA".into()], 64).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = Entry::parse(&bytes);
            let _ = Checkpoint::parse(&bytes);
            let _ = Proof::parse(&bytes);
        }

        #[test]
        fn mutated_lines_and_notes_never_panic(i in 0usize..400, b in proptest::num::u8::ANY) {
            let mut line = entry().line().into_bytes();
            let at = i % line.len();
            line[at] = b;
            if let Ok(e) = Entry::parse(&line) {
                proptest::prop_assert_eq!(e.line().into_bytes(), line);
            }
            let mut body = cp().body().into_bytes();
            let at = i % body.len();
            body[at] = b;
            if let Ok(c) = Checkpoint::parse(&body) {
                proptest::prop_assert_eq!(c.body().into_bytes(), body);
            }
        }
    }

    #[test]
    fn prefix_roots_match_the_tree() {
        let leaves: Vec<Hash> = (0..20u8).map(|i| log::leaf_hash(&[i])).collect();
        let sizes: BTreeSet<u64> = [0, 1, 5, 8, 20, 21].into_iter().collect();
        let r = prefix_roots(&leaves, &sizes);
        for s in [1u64, 5, 8, 20] {
            assert_eq!(r[&s], log::root(&leaves[..s as usize]));
        }
        assert!(!r.contains_key(&21) && !r.contains_key(&0));
    }
}
