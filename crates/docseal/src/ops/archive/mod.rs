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
//! The log is a Merkle tree in the manner of Certificate Transparency ([`crate::format::merkle`]); a
//! checkpoint signs its size, root and the archive operator's time. The first checkpoint
//! that includes a bundle establishes that the bundle existed by then, which a verifier uses
//! for keys revoked later (`docs/SECURITY.md`). Inclusion and consistency proofs are
//! self-contained JSON files that anyone can check with docseal and the archive's public key.
//!
//! Everything read from an archive, a log, a checkpoint or a proof is treated as hostile:
//! sizes are bounded before reading, every field is parsed strictly and must be in the exact
//! form docseal writes.

pub mod dups;
pub mod tiles;
pub mod witness;

use crate::format::durable;
use crate::format::error::{Error, Result};
use crate::format::finding::{Code, Finding, Severity};
use crate::format::merkle::{self, CompactRange, Hash};
use crate::format::minisign::{KeyId, SecretKey, Signature};
use crate::format::zip::Limits;
use crate::ops::verify::{self, KnownBundle, Options};
use crate::profile::metadata::{format_sealed, hex, is_hex64};
use crate::profile::trust::{Reason, Trust};
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
/// The lock file of `archive add` where the OS has no `flock` (not Linux); on Linux the lock
/// is an `flock` on the `log` directory, and no file is written.
pub const LOCK_FILE: &str = "log/lock";
/// Where `archive add` copies bundles before logging them (empty but while an add runs, or
/// after one was interrupted: the next add completes or rolls back what it holds).
pub const PENDING_DIR: &str = "log/pending";
/// Longest entry line (without its LF).
pub const MAX_ENTRY_LINE: usize = 2048;
/// Most entries a log may hold.
pub const MAX_ENTRIES: usize = 1 << 20;
/// The most entries a v2 log (tiles: "Archive log v2") holds: 2^40.
pub const MAX_ENTRIES_V2: u64 = 1 << 40;

/// The entry limit of this archive's log: [`MAX_ENTRIES`] for v1, [`MAX_ENTRIES_V2`] for v2.
fn max_entries(archive: &Path) -> u64 {
    if tiles::is_v2(archive).unwrap_or(false) {
        MAX_ENTRIES_V2
    } else {
        MAX_ENTRIES as u64
    }
}
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
    crate::format::path::check(name).map_err(|(code, why)| format!("{name:?}: {why} ({code})"))
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
        merkle::leaf_hash(self.line().as_bytes())
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
            "signed by key {kid}, which is not trusted (give the archive's public key with --trust)"
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
            "{who} is trusted to sign bundles, not as an archive key (role = \"archive\" in a trust file; verify also takes --archive-key)"
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

// ---------------------------------------------------------------------------------------------
// Reading an archive: never through a symbolic link
// ---------------------------------------------------------------------------------------------

fn symlink_refused(path: &Path) -> Error {
    invalid(
        path.display(),
        "is a symbolic link: docseal never follows links inside an archive",
    )
}

/// Open a file of the archive for reading without following a symbolic link at its last
/// component, without blocking on a FIFO, and only if it is a regular file; `None` if absent.
/// (The directories above it are checked with [`real_dir`] first.)
fn open_nofollow(path: &Path) -> Result<Option<File>> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(symlink_refused(path));
    }
    let f = match o.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(symlink_refused(path)),
        Err(e) => return Err(Error::io(path, e)),
    };
    let m = f.metadata().map_err(|e| Error::io(path, e))?;
    if !m.is_file() {
        return Err(invalid(path.display(), "is not a regular file"));
    }
    Ok(Some(f))
}

/// Whether the directory `ARCHIVE/rel` exists; an error if it is a symbolic link or not a
/// directory (`rel`'s parents must have been checked first).
fn real_dir(archive: &Path, rel: &str) -> Result<bool> {
    let p = archive.join(rel);
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.file_type().is_symlink() => Err(symlink_refused(&p)),
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(invalid(p.display(), "is not a directory")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(&p, e)),
    }
}

/// The log's directories that exist: `(log, log/checkpoints)`. Refuses a symbolic link for
/// either.
fn log_dirs(archive: &Path) -> Result<(bool, bool)> {
    let log = real_dir(archive, "log")?;
    let cps = log && real_dir(archive, CHECKPOINTS_DIR)?;
    Ok((log, cps))
}

fn read_limited(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    let Some(f) = open_nofollow(path)? else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    Ok(Some(buf))
}

/// Read a file given by the user (a kept checkpoint, a proof): links are followed, FIFOs and
/// devices refused.
fn read_user_file(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    // Opened without blocking (a FIFO or device named on the command line is refused at
    // once, by its type) and read with the one bounded read.
    let (f, _) = match crate::format::input::open(path, crate::format::input::Open::regular("file"))
    {
        Ok(f) => f,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    crate::format::input::read_at_most(f, max)
        .map(Some)
        .map_err(|e| Error::io(path, e))
}

/// Whether `name` is a temporary file docseal writes before linking it into place.
fn is_temp_name(name: &str) -> bool {
    name.starts_with(".docseal-") && name.ends_with(".tmp")
}

/// What reading `log/entries` found besides its lines.
#[derive(Debug, Default)]
struct Scan {
    /// Complete lines.
    lines: u64,
    /// Bytes after the last LF (an interrupted write).
    torn_tail: usize,
    /// Set when reading stopped early: a line longer than the limit, or too many lines.
    stopped: Option<String>,
    /// The root of the first `n` entries, for each `n` asked for.
    roots: HashMap<u64, Hash>,
}

/// What [`scan_entries`] calls for each line: its position, leaf hash and bytes.
type EachLine<'a> = dyn FnMut(u64, &Hash, &[u8]) -> Result<()> + 'a;

/// Stream `ARCHIVE/log/entries` (a missing file is an empty log): each complete line's position,
/// leaf hash and bytes (without LF) go to `each`, in order; the roots of the prefixes of sizes `want` are
/// computed on the way. Memory does not grow with the log.
fn scan_entries(archive: &Path, want: &BTreeSet<u64>, each: &mut EachLine<'_>) -> Result<Scan> {
    let path = archive.join(ENTRIES_FILE);
    let Some(f) = open_nofollow(&path)? else {
        return Ok(Scan::default());
    };
    let mut r = BufReader::with_capacity(64 << 10, f);
    let mut out = Scan::default();
    let max = max_entries(archive);
    let mut cr = CompactRange::new();
    let mut wanted = want.iter().copied().filter(|&s| s > 0).peekable();
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
        while wanted.peek() == Some(&cr.size()) {
            out.roots.insert(cr.size(), cr.root());
            wanted.next();
        }
        each(out.lines, &leaf, line)?;
        out.lines += 1;
    }
    Ok(out)
}

/// One checkpoint file (and its signature) as found in `log/checkpoints`, checked and without
/// its bytes.
#[derive(Debug, Clone)]
struct CheckpointFile {
    /// The body parsed (or why not).
    parsed: std::result::Result<Checkpoint, String>,
}

/// The checkpoints of an archive, by size, and any other files beside them.
#[derive(Debug, Default)]
struct Checkpoints {
    files: BTreeMap<u64, CheckpointFile>,
    /// Temporary files of an interrupted add.
    temp: Vec<String>,
    /// Names of files that are neither `<N>`, `<N>.minisig` nor a temporary file.
    stray: Vec<String>,
    /// Symbolic links (never followed).
    links: Vec<String>,
}

/// What [`read_checkpoints`] calls for each checkpoint size: its body and signature (if
/// present), and the file as checked.
type EachCheckpoint<'a> = dyn FnMut(u64, Option<&[u8]>, Option<&[u8]>, &CheckpointFile) + 'a;

/// List `ARCHIVE/log/checkpoints` (a missing directory has no checkpoints), reading each
/// checkpoint and signature in turn; `each` sees the bytes of each (body, signature) before
/// they are dropped.
fn read_checkpoints(archive: &Path, each: &mut EachCheckpoint<'_>) -> Result<Checkpoints> {
    let mut out = Checkpoints::default();
    if !log_dirs(archive)?.1 {
        return Ok(out);
    }
    let dir = archive.join(CHECKPOINTS_DIR);
    let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut sizes: BTreeSet<u64> = BTreeSet::new();
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
                    sizes.insert(size);
                }
                _ => out.stray.push(name),
            }
        }
        if sizes.len() > MAX_CHECKPOINTS
            || out.stray.len() + out.temp.len() + out.links.len() > MAX_CHECKPOINTS
        {
            return Err(invalid(
                dir.display(),
                format!("holds more than {MAX_CHECKPOINTS} checkpoints or other files"),
            ));
        }
    }
    out.stray.sort();
    out.temp.sort();
    out.links.sort();
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
        let cf = CheckpointFile { parsed };
        each(size, body.as_deref(), signature.as_deref(), &cf);
        out.files.insert(size, cf);
    }
    Ok(out)
}

/// Read checkpoint `size`'s note and signature (for a proof).
fn read_note(archive: &Path, size: u64) -> Result<SignedNote> {
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
fn rebuild_checkpoint(sig: &[u8], root: Hash, previous: u64) -> Option<Checkpoint> {
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

fn sha256_reader(r: &mut dyn Read, label: &Path) -> Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(label, e)),
        }
    }
    Ok(hex(&h.finalize()))
}

// ---------------------------------------------------------------------------------------------
// Checking the log: one function for audit, verify --archive, prove and add
// ---------------------------------------------------------------------------------------------

/// Findings, at most [`MAX_REPORTED`] of each code listed (then one saying how many in all).
#[derive(Debug, Default)]
struct Sink {
    out: Vec<Finding>,
    counts: BTreeMap<Code, (usize, Severity)>,
}

impl Sink {
    fn push(&mut self, f: Finding) {
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
    fn absorb(&mut self, o: Sink) {
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
    fn first_error(&self, except: &[Code]) -> Option<&Finding> {
        self.out
            .iter()
            .find(|f| f.severity == Severity::Error && !except.contains(&f.code))
    }
    fn finish(mut self) -> Vec<Finding> {
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
struct Keyed(std::collections::hash_map::RandomState);

impl Keyed {
    fn new() -> Self {
        Keyed(std::collections::hash_map::RandomState::new())
    }
    fn of(&self, s: &str) -> u64 {
        use std::hash::BuildHasher;
        self.0.hash_one(s)
    }
}

/// A file name as two file systems that ignore case would see it: NFC, case-folded.
fn name_key(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    use unicode_normalization::UnicodeNormalization;
    let nfc: String = name.nfc().collect();
    caseless::default_case_fold_str(&nfc).nfc().collect()
}

/// The keys that occur more than once (at most `cap`).
fn duplicates(v: dups::KeySorter, cap: usize) -> Result<BTreeSet<u64>> {
    Ok(v.duplicates(cap)
        .map_err(|e| Error::io(std::env::temp_dir(), e))?
        .into_iter()
        .collect())
}

/// The log as checked.
#[derive(Debug)]
struct LogCheck {
    /// Complete entry lines.
    n: u64,
    /// Checkpoint files (by size).
    files: usize,
    /// The complete checkpoints that count (signed by a trusted key; with no trust given, all
    /// with a signature), in size order, with who signed them.
    sound: Vec<(Checkpoint, String)>,
    /// An interrupted add's checkpoint signature without its note: the checkpoint rebuilt.
    orphan: Option<Checkpoint>,
    /// Every problem found with the log.
    sink: Sink,
}

/// Check the archive's log: every entry line, every checkpoint (note, signature, key, file name,
/// `previous`, origin, time order), every checkpoint's root against the entries, every kept
/// checkpoint, duplicate names (also differing only in case) and contents, and what an
/// interrupted add left. `audit`, `verify --archive`, `prove` and `add` all use this one check.
///
/// With `trust`, only checkpoints validly signed by a key usable at their time count (others
/// are `log.checkpoint_untrusted`); without, every checkpoint with a signature counts (its
/// signature is checked by whoever checks the proof). `each` sees every well-formed entry, in
/// order, while the log is streamed once; memory does not grow with the log but for 16 bytes
/// an entry.
fn check_log(
    archive: &Path,
    trust: Option<&Trust>,
    kept: &[KeptCheckpoint],
    each: &mut dyn FnMut(&Entry) -> Result<()>,
) -> Result<LogCheck> {
    let mut f = Sink::default();
    let line_at = |i: u64| format!("{ENTRIES_FILE}:{}", i + 1);

    // Checkpoints: signatures first (they do not need the entries).
    let mut sound: Vec<(Checkpoint, String)> = Vec::new();
    let mut orphan_sig: Option<(u64, Vec<u8>)> = None;
    let cps = read_checkpoints(archive, &mut |size, body, sig, cf| {
        let at = format!("{CHECKPOINTS_DIR}/{size}");
        let (body, sig) = match (body, sig) {
            (Some(b), Some(s)) => (b, s),
            (None, Some(s)) => {
                orphan_sig = Some((size, s.to_vec()));
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
        let signer = match trust {
            None => match Signature::parse(sig) {
                Ok(s) => s.key_id.to_string(),
                Err(e) => {
                    f.push(Finding::at(
                        Code::LogCheckpointInvalid,
                        &at,
                        format!("malformed signature: {e}"),
                    ));
                    return;
                }
            },
            Some(trust) => match check_signature(cp, body, sig, trust) {
                Signer::Invalid(why) => {
                    f.push(Finding::at(Code::LogCheckpointInvalid, &at, why));
                    return;
                }
                Signer::Untrusted(why) => {
                    // Whatever it says, it is not the archive's word: not compared with the log.
                    f.push(Finding::at(Code::LogCheckpointUntrusted, &at, why));
                    return;
                }
                Signer::Trusted { key_id, name } => match name {
                    Some(n) => format!("{key_id} ({n})"),
                    None => key_id.to_string(),
                },
            },
        };
        sound.push((cp.clone(), signer));
    })?;
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
    // A signature without its note is what an add interrupted between the two leaves, but only
    // for the largest size of all; any other is a checkpoint removed.
    let largest = cps.files.keys().next_back().copied();
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

    // The entries, streamed once.
    let mut want: BTreeSet<u64> = cps.files.keys().copied().collect();
    want.extend(kept.iter().map(|k| k.checkpoint.size));
    let keyed = Keyed::new();
    // Keys of names and contents, spilled to temporary files beyond a million (bounded memory).
    let mut name_keys = dups::KeySorter::default();
    let mut content_keys = dups::KeySorter::default();
    let spill = |e: std::io::Error| Error::io(std::env::temp_dir(), e);
    // Index fields: kept only once one is not its position (u32::MAX: a malformed line).
    let mut indices: Option<Vec<u32>> = None;
    let mut misplaced: Vec<(u64, u64, String)> = Vec::new();
    let scan = scan_entries(archive, &want, &mut |pos, _leaf, line| {
        let e = match Entry::parse(line) {
            Ok(e) => e,
            Err(why) => {
                f.push(Finding::at(Code::LogMalformed, line_at(pos), why));
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
        f.push(Finding::at(Code::LogMalformed, ENTRIES_FILE, why.clone()));
    }
    if scan.torn_tail > 0 {
        f.push(
            Finding::at(
                Code::LogInterrupted,
                line_at(n),
                format!(
                    "{} bytes after the last complete line: an interrupted archive add (the next add removes them; no checkpoint covers them)",
                    scan.torn_tail
                ),
            )
            .warning(),
        );
    }
    if let Some(v) = indices {
        index_findings(&v, &misplaced, &mut f);
    }

    // Roots against the log: name the first checkpoint whose range does not hash.
    let roots = &scan.roots;
    let mut good_before: u64 = 0;
    let mut failing = false;
    let mut altered_range: Option<(u64, u64, String)> = None;
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
                if !failing && altered_range.is_none() {
                    altered_range = Some((good_before, cp.size, at));
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
        if i > 0 {
            let b = &sound[i - 1].0;
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

    // The interrupted add's signature: its checkpoint rebuilt and checked.
    let mut orphan = None;
    if let Some((size, sig)) = orphan_sig {
        let at = format!("{CHECKPOINTS_DIR}/{size}");
        let previous = cps.files.range(..size).next_back().map_or(0, |(s, _)| *s);
        let rebuilt = roots
            .get(&size)
            .and_then(|r| rebuild_checkpoint(&sig, *r, previous))
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
    let signed = orphan
        .as_ref()
        .map(|c| c.size)
        .or(sound.last().map(|(c, _)| c.size));
    match signed {
        None if n > 0 && cps.files.is_empty() => f.push(Finding::at(
            Code::LogCheckpointMissing,
            CHECKPOINTS_DIR,
            "no checkpoint signs the log (its checkpoints were removed, or the archive's first add was interrupted before it signed: the next add checks and signs its entries)",
        )),
        Some(s) if n > s => f.push(
            Finding::at(
                Code::LogUnsignedEntries,
                line_at(s),
                format!(
                    "entries {s}..{} come after the latest checkpoint ({s}) and no checkpoint signs them",
                    n - 1
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
            // Notes are canonical: the same parse is the same bytes.
            Some(cf) if cf.parsed.as_ref().ok() != Some(cp) => f.push(Finding::at(
                Code::LogCheckpointInconsistent,
                format!("{CHECKPOINTS_DIR}/{}", cp.size),
                format!("differs from the checkpoint {} you kept ({at})", cp.size),
            )),
            Some(_) => {}
        }
    }

    // Duplicate names and contents, and the names in an altered range: a second pass, only
    // when needed.
    let dup_names = duplicates(name_keys, MAX_REPORTED)?;
    let dup_contents = duplicates(content_keys, MAX_REPORTED)?;
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
                    ENTRIES_FILE,
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

    Ok(LogCheck {
        n,
        files: cps.files.len(),
        sound,
        orphan,
        sink: f,
    })
}

/// Name removals, reorderings and duplicates from the entries' index fields (`indices` by
/// position; `misplaced`: the first lines whose index is not their position).
fn index_findings(indices: &[u32], misplaced: &[(u64, u64, String)], f: &mut Sink) {
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
                ENTRIES_FILE,
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
                    ENTRIES_FILE,
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
                format!("{ENTRIES_FILE}:{}", pos + 1),
                format!("holds entry {index} ({name}): entries were reordered"),
            ));
        }
    }
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
    pub established: HashMap<String, Vec<crate::ops::verify::ArchivedCopy>>,
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
/// The log gets every check `archive audit` makes of it ([`audit`] without the bundles), with
/// the checkpoints you `kept`: any error but a checkpoint signed by a key not to rely on
/// (`log.checkpoint_untrusted`: not counted, and noted) makes the whole archive refused;
/// nothing from it is used.
pub fn evidence(archive: &Path, trust: &Trust) -> Result<Evidence> {
    evidence_for(archive, trust, &[], &Interest::everything())
}

/// Which archive entries matter to the bundles being verified: those with one's content
/// digest (established times), those a bundle names as superseded (by id or content), and
/// those that supersede one. With it, [`evidence_for`] keeps only these, so that memory grows
/// with the bundles verified, not with the archive.
#[derive(Debug, Default, Clone)]
pub struct Interest {
    all: bool,
    contents: std::collections::HashSet<String>,
    ids: std::collections::HashSet<String>,
}

impl Interest {
    /// Every entry (what [`evidence`] keeps).
    pub fn everything() -> Self {
        Interest {
            all: true,
            ..Interest::default()
        }
    }
    /// A bundle to be verified: its content digest, its id, and the (id, content digest) its
    /// `supersedes` names, as far as known.
    pub fn add(
        &mut self,
        content: Option<&str>,
        id: Option<&str>,
        supersedes: Option<(&str, &str)>,
    ) {
        if let Some(c) = content {
            self.contents.insert(c.to_string());
        }
        if let Some(i) = id {
            self.ids.insert(i.to_string());
        }
        if let Some((i, c)) = supersedes {
            self.ids.insert(i.to_string());
            self.contents.insert(c.to_string());
        }
    }
    /// Whether the entry matters.
    pub fn wants(&self, e: &Entry) -> bool {
        self.all
            || self.contents.contains(&e.content_sha256)
            || self.ids.contains(&e.id)
            || e.supersedes
                .as_ref()
                .is_some_and(|s| self.contents.contains(s))
    }
}

/// [`evidence`], with checkpoints kept from an earlier look (`verify --archive A --checkpoint
/// KEPT`): the log must still extend each.
pub fn evidence_kept(archive: &Path, trust: &Trust, kept: &[KeptCheckpoint]) -> Result<Evidence> {
    evidence_for(archive, trust, kept, &Interest::everything())
}

/// [`evidence_kept`], keeping only the entries `interest` wants (every check of the log is
/// made all the same). Memory grows with what is kept, not with the archive.
pub fn evidence_for(
    archive: &Path,
    trust: &Trust,
    kept: &[KeptCheckpoint],
    interest: &Interest,
) -> Result<Evidence> {
    let label = archive.display().to_string();
    let tampered = |why: String| {
        invalid(
            &label,
            format!("{why} (run docseal archive audit {label} for details)"),
        )
    };
    let (has_log, _) = log_dirs(archive)?;
    if !has_log || open_nofollow(&archive.join(ENTRIES_FILE))?.is_none() {
        return Err(invalid(&label, "is not a docseal archive (no log/entries)"));
    }
    // The checkpoints that count are known before the entries are read: each entry goes to
    // the first that covers it as it streams by.
    let mut ev = Evidence::default();
    // The counted checkpoints, in size order: (size, time, the archive key that signed it).
    // Only a key trusted in the archive role vouches for checkpoints here.
    let mut sizes: Vec<(u64, DateTime<Utc>, [u8; 32])> = Vec::new();
    read_checkpoints(archive, &mut |size, body, sig, cf| {
        if let (Some(body), Some(sig), Ok(cp)) = (body, sig, &cf.parsed) {
            if let Signer::Trusted { key_id, .. } = check_signature(cp, body, sig, trust) {
                match trust.find(key_id).filter(|k| k.archive) {
                    Some(k) => sizes.push((cp.size, cp.time, k.public_bytes())),
                    None => ev.notes.push(format!(
                        "log/checkpoints/{size} not counted: key {key_id} is trusted to sign bundles, not as an archive key (give it with --archive-key, or role = \"archive\" in a trust file)"
                    )),
                }
            }
        }
    })?;
    // For each archive key, the first of its checkpoints that includes the entry: the time
    // that key vouches for (a key never vouches for its own signatures, so every archive key
    // is kept, not only the earliest).
    let mut distinct: Vec<[u8; 32]> = sizes.iter().map(|s| s.2).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut next = vec![0usize; distinct.len()];
    let mut pos = 0u64;
    let bundles = archive.join(BUNDLES_DIR);
    let lc = check_log(archive, Some(trust), kept, &mut |e| {
        let i = pos;
        pos += 1;
        if sizes.last().is_none_or(|s| s.0 <= i) || !interest.wants(e) {
            return Ok(());
        }
        let file = crate::profile::bagit::parse_hex32(&e.file_sha256);
        let copies = ev.established.entry(e.content_sha256.clone()).or_default();
        for (d, key) in distinct.iter().enumerate() {
            let j = &mut next[d];
            while *j < sizes.len() && (sizes[*j].2 != *key || sizes[*j].0 <= i) {
                *j += 1;
            }
            let (Some(&(_, time, _)), Some(file)) = (sizes.get(*j), file) else {
                continue;
            };
            copies.push(crate::ops::verify::ArchivedCopy {
                time,
                archive_key: *key,
                file_sha256: file,
                copy: bundles.join(&e.name),
            });
        }
        ev.known.push(KnownBundle {
            file: Some(bundles.join(&e.name)),
            id: e.id.clone(),
            content_sha256: e.content_sha256.clone(),
            supersedes: e.supersedes.clone(),
            label: format!(
                "{} (archive log entry {})",
                bundles.join(&e.name).display(),
                e.index
            ),
        });
        Ok(())
    })?;
    if let Some(bad) = lc.sink.first_error(&[Code::LogCheckpointUntrusted]) {
        return Err(tampered(bad.to_string()));
    }
    for u in lc
        .sink
        .out
        .iter()
        .filter(|x| x.code == Code::LogCheckpointUntrusted)
    {
        ev.notes.push(format!(
            "{} not counted: {}",
            u.path.as_deref().unwrap_or("a checkpoint"),
            u.message
        ));
    }
    if sizes.is_empty() {
        let mut why =
            "no checkpoint is signed by a trusted archive key that may vouch for it (--archive-key, or role = \"archive\" in a --trust file)".to_string();
        if let Some(n) = ev.notes.first() {
            why.push_str(&format!(" ({n})"));
        }
        return Err(invalid(&label, why));
    }
    ev.checkpoints = lc.sound.len();
    Ok(ev)
}

// ---------------------------------------------------------------------------------------------
// Adding bundles
// ---------------------------------------------------------------------------------------------

/// How long `archive add` waits for another add on the same archive by default.
pub const DEFAULT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Test hook (never set it in production): `DOCSEAL_TEST_ARCHIVE_CRASH=<step>` makes `archive
/// add` abort at that step, as a `kill -9` would, to test that every step is recoverable. The
/// steps, in order: `copying`, `copied`, `appending`, `appended`, `moving`, `moved`,
/// `signing`, `signed`, `noting`, `noted`.
pub const CRASH_HOOK: &str = "DOCSEAL_TEST_ARCHIVE_CRASH";

fn crash_point(step: &str) {
    if std::env::var_os(CRASH_HOOK).is_some_and(|v| v == step) {
        std::process::abort();
    }
}

/// The archive lock: an OS lock (`flock`) on the `log` directory, released by the kernel when
/// its holder exits or dies, so no lock file is ever left behind.
struct Lock {
    #[cfg(target_os = "linux")]
    _dir: File,
    #[cfg(not(target_os = "linux"))]
    path: PathBuf,
}

impl Lock {
    fn acquire(archive: &Path, wait: std::time::Duration, exclusive: bool) -> Result<Lock> {
        let log_dir = archive.join("log");
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{flock, FlockOperation};
            use std::os::unix::fs::OpenOptionsExt;
            let dir = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_DIRECTORY)
                .open(&log_dir)
                .map_err(|e| Error::io(&log_dir, e))?;
            let op = if exclusive {
                FlockOperation::NonBlockingLockExclusive
            } else {
                FlockOperation::NonBlockingLockShared
            };
            let start = std::time::Instant::now();
            loop {
                match flock(&dir, op) {
                    Ok(()) => return Ok(Lock { _dir: dir }),
                    Err(rustix::io::Errno::WOULDBLOCK) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => return Err(Error::io(&log_dir, e.into())),
                }
                if start.elapsed() >= wait {
                    return Err(invalid(
                        archive.display(),
                        format!(
                            "another docseal archive add is running on it; waited {} s (--wait)",
                            wait.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            // Without flock: a lock file, waited for.
            let _ = exclusive;
            let p = archive.join(LOCK_FILE);
            let start = std::time::Instant::now();
            loop {
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&p)
                {
                    Ok(_) => return Ok(Lock { path: p }),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Error::io(&p, e)),
                }
                if start.elapsed() >= wait {
                    return Err(invalid(
                        p.display(),
                        "exists: another docseal archive add is running, or one was interrupted (remove the file if none is running)",
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Create the directory `ARCHIVE/rel` if missing (never group- or world-writable, whatever the
/// umask); refuse a symbolic link. Every component is opened from its parent's descriptor with
/// `O_NOFOLLOW | O_DIRECTORY`, and the permissions are read and changed on the descriptor
/// (never by path: a component swapped for a link between a check and a `chmod` would
/// otherwise make docseal change the mode of whatever the link points to).
pub fn ensure_dir(archive: &Path, rel: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        use rustix::io::Errno;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mut fd = archive_root_fd(archive)?;
        let mut p = archive.to_path_buf();
        for comp in rel.split('/') {
            p.push(comp);
            let mut made = false;
            fd = loop {
                match rustix::fs::openat(&fd, comp, flags, Mode::empty()) {
                    Ok(d) => break d,
                    Err(Errno::NOENT) if !made => {
                        match rustix::fs::mkdirat(&fd, comp, Mode::from_raw_mode(0o755)) {
                            Ok(()) | Err(Errno::EXIST) => made = true,
                            Err(e) => return Err(Error::io(&p, e.into())),
                        }
                    }
                    Err(Errno::LOOP) => return Err(symlink_refused(&p)),
                    Err(Errno::NOTDIR) => {
                        return Err(
                            if rustix::fs::statat(&fd, comp, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
                                .is_ok_and(|st| {
                                    rustix::fs::FileType::from_raw_mode(st.st_mode)
                                        == rustix::fs::FileType::Symlink
                                })
                            {
                                symlink_refused(&p)
                            } else {
                                invalid(p.display(), "is not a directory")
                            },
                        )
                    }
                    Err(e) => return Err(Error::io(&p, e.into())),
                }
            };
        }
        tighten_fd(&fd, &p)
    }
    #[cfg(not(unix))]
    {
        let p = archive.join(rel);
        if !real_dir(archive, rel)? {
            match std::fs::DirBuilder::new().create(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&p, e)),
            }
            real_dir(archive, rel)?;
        }
        Ok(())
    }
}

/// The archive's root directory, opened (the root itself may be reached through a link the
/// user chose; what is inside it never is).
#[cfg(unix)]
fn archive_root_fd(archive: &Path) -> Result<std::os::fd::OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    rustix::fs::open(
        archive,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io(archive, e.into()))
}

/// Take group and world write permission off the archive's root directory (on its
/// descriptor): `archive add` never keeps an archive others can write into.
fn tighten_root(archive: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let fd = archive_root_fd(archive)?;
        tighten_fd(&fd, archive)?;
    }
    let _ = archive;
    Ok(())
}

/// Take group and world write permission off an open file or directory: read and changed on
/// the descriptor, never by path.
#[cfg(unix)]
fn tighten_fd(fd: &std::os::fd::OwnedFd, path: &Path) -> Result<()> {
    let st = rustix::fs::fstat(fd).map_err(|e| Error::io(path, e.into()))?;
    let mode = st.st_mode & 0o7777;
    if mode & 0o022 != 0 {
        rustix::fs::fchmod(fd, rustix::fs::Mode::from_raw_mode(mode & 0o7755))
            .map_err(|e| Error::io(path, e.into()))?;
    }
    Ok(())
}

/// Take group and world write permission off an archive file docseal writes (on its open
/// descriptor, never by path).
fn not_group_writable(path: &Path, file: &File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = file.metadata().map_err(|e| Error::io(path, e))?;
        let mode = m.permissions().mode();
        if mode & 0o022 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7755))
                .map_err(|e| Error::io(path, e))?;
        }
    }
    let _ = (path, file);
    Ok(())
}

/// Create a new archive file for writing: never following a link, never replacing, mode 0644.
fn create_new_file(path: &Path) -> Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o644).custom_flags(libc::O_NOFOLLOW);
    }
    let f = o.open(path).map_err(|e| Error::io(path, e))?;
    not_group_writable(path, &f)?;
    Ok(f)
}

/// A temporary file in `dir` (named `.docseal-<random>.tmp`, which an interrupted add leaves
/// and the next removes).
fn temp_file(dir: &Path) -> Result<(PathBuf, File)> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(|e| Error::io(dir, std::io::Error::other(e.to_string())))?;
    let p = dir.join(format!(".docseal-{}.tmp", hex(&r)));
    let f = create_new_file(&p)?;
    Ok((p, f))
}

/// Link `from` as `dest` too, never replacing anything (not even a link). Where the file
/// system has no hard links, `from` is renamed instead (under the archive lock, once `dest` is
/// known to be absent). Returns whether `from` is still there.
fn link_new(from: &Path, dest: &Path) -> Result<bool> {
    match std::fs::hard_link(from, dest) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::io(dest, e)),
        Err(e) => {
            if std::fs::symlink_metadata(dest).is_ok() {
                return Err(Error::io(dest, e));
            }
            std::fs::rename(from, dest).map_err(|e| Error::io(dest, e))?;
            Ok(false)
        }
    }
}

/// Put `tmp` in place as `dest` (never replacing anything, not even a link), durably.
fn place(tmp: &Path, dest: &Path) -> Result<()> {
    if link_new(tmp, dest)? {
        std::fs::remove_file(tmp).map_err(|e| Error::io(tmp, e))?;
    }
    let dir = parent_dir(dest);
    durable::sync_dir(dir).map_err(|e| Error::io(dir, e))
}

/// Open an archive file for writing, not following a link.
fn open_write_nofollow(path: &Path) -> Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o.open(path).map_err(|e| Error::io(path, e))?;
    if !f.metadata().map_err(|e| Error::io(path, e))?.is_file() {
        return Err(invalid(path.display(), "is not a regular file"));
    }
    Ok(f)
}

fn parent_dir(p: &Path) -> &Path {
    p.parent().unwrap_or(Path::new("."))
}

/// Write a small archive file (a checkpoint or its signature) through a temporary file;
/// `crash` names the step between writing and placing it.
fn write_new(dest: &Path, bytes: &[u8], crash: &str) -> Result<()> {
    let (tmp, mut f) = temp_file(parent_dir(dest))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    crash_point(crash);
    place(&tmp, dest)
}

/// Remove what an interrupted add left and can only be rolled back: temporary files in
/// `bundles/`, `log/pending/` and `log/checkpoints/`, and bytes after the last LF of the log
/// (never covered by a checkpoint). Returns what was removed, for the report.
fn roll_back_leftovers(archive: &Path) -> Result<Vec<String>> {
    let mut done = Vec::new();
    // (`log/` and `log/cosignatures/`: log/checkpoint and cosignature files of a v2 log.)
    for rel in [
        BUNDLES_DIR,
        PENDING_DIR,
        CHECKPOINTS_DIR,
        "log",
        tiles::COSIGNATURES_DIR,
    ] {
        let dir = archive.join(rel);
        if !real_dir(archive, rel)? {
            continue;
        }
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| Error::io(&dir, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let ft = ent.file_type().map_err(|e| Error::io(&dir, e))?;
            if is_temp_name(&name) && ft.is_file() {
                let p = dir.join(&name);
                std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                done.push(format!("removed {rel}/{name}"));
            }
        }
    }
    let path = archive.join(ENTRIES_FILE);
    if let Some(mut f) = open_nofollow(&path)? {
        let len = f.metadata().map_err(|e| Error::io(&path, e))?.len();
        let back = len.min(MAX_ENTRY_LINE as u64 + 1);
        let mut tail = Vec::new();
        f.seek(std::io::SeekFrom::Start(len - back))
            .and_then(|_| f.read_to_end(&mut tail))
            .map_err(|e| Error::io(&path, e))?;
        if !tail.is_empty() && tail.last() != Some(&b'\n') {
            // The last LF within a line's length of the end; none: the whole file is one torn
            // line only if it is that short.
            let cut = match tail.iter().rposition(|&b| b == b'\n') {
                Some(i) => len - back + i as u64 + 1,
                None if len == back => 0,
                None => return Ok(done), // a line too long: left for audit to name
            };
            let w = open_write_nofollow(&path)?;
            w.set_len(cut)
                .and_then(|()| w.sync_all())
                .map_err(|e| Error::io(&path, e))?;
            done.push(format!(
                "removed {} bytes of an incomplete last line from {ENTRIES_FILE}",
                len - cut
            ));
        }
    }
    Ok(done)
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
    /// What an interrupted add had left, completed or rolled back first.
    pub recovered: Vec<String>,
}

/// When a bundle's signed metadata makes another `supersedes` link than its log entry records
/// (a link is the signer's claim, never the log's): what differs.
fn link_differs(r: &verify::Report, e: &Entry) -> Option<String> {
    let signed = r
        .metadata
        .as_ref()
        .and_then(|m| m.supersedes.as_ref())
        .map(|s| s.sha256.as_str());
    (signed != e.supersedes.as_deref()).then(|| {
        format!(
            "log entry {} records that it supersedes {}, but its bundle's signed metadata {}",
            e.index,
            e.supersedes.as_deref().unwrap_or("nothing"),
            match signed {
                Some(s) => format!("supersedes {s}"),
                None => "supersedes nothing".into(),
            }
        )
    })
}

/// Check an archive bundle file (not followed if a link) against its entry: the very file
/// logged, and a bundle that passes every check but trust with the entry's content, id and
/// supersedes link.
fn check_entry_bundle(path: &Path, e: &Entry, limits: &Limits) -> std::result::Result<(), String> {
    let mut f = match open_nofollow(path) {
        Ok(Some(f)) => f,
        Ok(None) => return Err("its bundle is not in the archive".into()),
        Err(err) => return Err(err.to_string()),
    };
    let sha = sha256_reader(&mut f, path).map_err(|e| e.to_string())?;
    if sha != e.file_sha256 {
        return Err("its bundle is not the file logged".into());
    }
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    f.rewind().map_err(|err| err.to_string())?;
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let r = verify::verify_reader(&path.display().to_string(), &mut f, len, None, &opts);
    if !r.ok {
        let codes: Vec<String> = r.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(format!("its bundle fails: {}", codes.join(", ")));
    }
    if r.content_sha256.as_deref() != Some(&e.content_sha256) || r.id.as_deref() != Some(&e.id) {
        return Err("its bundle's content or id is not the one logged".into());
    }
    // The link is the bundle's signed claim; a line may not add, drop or change it.
    if let Some(why) = link_differs(&r, e) {
        return Err(why);
    }
    Ok(())
}

/// Add `bundles` to the archive (created if missing), append them to its log and sign a new
/// checkpoint with `key`, dated `time` (default now; the archive operator's clock). Waits up
/// to `wait` for another add on the same archive.
///
/// Each bundle must pass every check but trust; a bundle whose content is already in the
/// archive, or whose file name is taken (also in another case), is refused. Nothing is added
/// unless all can be. What an interrupted add left is completed (entries logged: their
/// bundles are checked and signed) or rolled back (files copied but not logged) first.
pub fn add(
    archive: &Path,
    bundles: &[PathBuf],
    key: &SecretKey,
    time: Option<DateTime<Utc>>,
    limits: &Limits,
) -> Result<Added> {
    add_wait(archive, bundles, key, time, limits, DEFAULT_WAIT)
}

/// [`add`], waiting up to `wait` for the archive lock.
pub fn add_wait(
    archive: &Path,
    bundles: &[PathBuf],
    key: &SecretKey,
    time: Option<DateTime<Utc>>,
    limits: &Limits,
    wait: std::time::Duration,
) -> Result<Added> {
    if bundles.is_empty() {
        return Err(invalid("archive add", "no bundle given"));
    }
    let label = archive.display().to_string();
    if !archive.is_dir() {
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o755);
        }
        b.recursive(true)
            .create(archive)
            .map_err(|e| Error::io(archive, e))?;
    }
    tighten_root(archive)?;
    for d in [BUNDLES_DIR, "log", CHECKPOINTS_DIR, PENDING_DIR] {
        ensure_dir(archive, d)?;
    }
    let _lock = Lock::acquire(archive, wait, true)?;
    // A new archive is laid out as v2 (tiles: "Archive log v2"); a v1 archive stays v1 until
    // `archive migrate`.
    let v2 = tiles::is_v2(archive)?
        || (std::fs::symlink_metadata(archive.join(ENTRIES_FILE)).is_err()
            && std::fs::read_dir(archive.join(CHECKPOINTS_DIR))
                .map_err(|e| Error::io(archive.join(CHECKPOINTS_DIR), e))?
                .next()
                .is_none()
            && {
                ensure_dir(archive, tiles::TILE_DIR)?;
                true
            });
    let damaged = |why: String| {
        invalid(
            &label,
            format!("{why}; refusing to extend it (run docseal archive audit {label})"),
        )
    };

    // 1. What an interrupted add left: roll back what was not logged, check the log, then
    //    complete what was.
    let mut recovered = roll_back_leftovers(archive)?;
    let me = Trust::new(vec![crate::profile::trust::TrustedKey::archive(
        key.public_key(),
    )]);
    // Memory stays proportional to the bundles given, not to the log: the log's names are
    // compared with the given ones as it streams by, its contents after the copies (below).
    let given: BTreeSet<String> = bundles
        .iter()
        .filter_map(|b| b.file_name().and_then(|n| n.to_str()).map(name_key))
        .collect();
    let mut existing_names: HashMap<String, u64> = HashMap::new();
    let mut unsigned: Vec<Entry> = Vec::new();
    let mut count = 0u64;
    // The size signed last is known only after the pass: keep the entries after the largest
    // checkpoint file (at most those of one interrupted add are expected).
    let mut largest_file = 0u64;
    read_checkpoints(archive, &mut |size, _, _, _| {
        largest_file = largest_file.max(size)
    })?;
    let lc = check_log(archive, None, &[], &mut |e| {
        count += 1;
        let nk = name_key(&e.name);
        if given.contains(&nk) {
            existing_names.entry(nk).or_insert(e.index);
        }
        if e.index >= largest_file {
            unsigned.push(e.clone());
        }
        Ok(())
    })?;
    // Entries and no checkpoint at all: the first add was interrupted before it signed (its
    // entries are checked below before they are signed); anything else is refused.
    let first_interrupted = |x: &Finding| {
        x.code == Code::LogCheckpointMissing
            && x.path.as_deref() == Some(CHECKPOINTS_DIR)
            && lc.files == 0
    };
    if let Some(bad) = lc
        .sink
        .out
        .iter()
        .find(|x| x.severity == Severity::Error && !first_interrupted(x))
    {
        return Err(damaged(bad.to_string()));
    }
    // A signature written without its note: write the note (if the signature is ours).
    if let Some(cp) = &lc.orphan {
        let sig_path = archive
            .join(CHECKPOINTS_DIR)
            .join(format!("{}.minisig", cp.size));
        let sig = read_limited(&sig_path, MAX_SIGNATURE_BYTES)?.unwrap_or_default();
        match check_signature(cp, cp.body().as_bytes(), &sig, &me) {
            Signer::Trusted { .. } => {
                write_new(
                    &archive.join(CHECKPOINTS_DIR).join(cp.size.to_string()),
                    cp.body().as_bytes(),
                    "",
                )?;
                recovered.push(format!(
                    "wrote checkpoint {} (its signature was there, its note was not)",
                    cp.size
                ));
            }
            Signer::Untrusted(why) | Signer::Invalid(why) => {
                return Err(damaged(format!(
                    "log/checkpoints/{}.minisig has no note, and it is not this key's signature ({why})",
                    cp.size
                )))
            }
        }
    }
    let latest: Option<Checkpoint> = lc
        .orphan
        .clone()
        .or_else(|| lc.sound.last().map(|(c, _)| c.clone()));
    if let Some(l) = &latest {
        // The latest checkpoint's signature must not be forged under this key's id.
        if let Some(sig) = read_limited(
            &archive
                .join(CHECKPOINTS_DIR)
                .join(format!("{}.minisig", l.size)),
            MAX_SIGNATURE_BYTES,
        )? {
            if let Signer::Invalid(why) = check_signature(l, l.body().as_bytes(), &sig, &me) {
                return Err(damaged(format!("log/checkpoints/{}: {why}", l.size)));
            }
        }
    }
    let signed = latest.as_ref().map_or(0, |c| c.size);
    // The tiles this add extends must be there before anything is appended (else the add
    // would fail after logging, and every later add with it).
    if let (true, Some(l)) = (v2, &latest) {
        tiles::check_extendable(archive, l.size, &l.root)
            .map_err(|e| damaged(format!("its tiles: {e}")))?;
    }
    unsigned.retain(|e| e.index >= signed);
    // Entries after the latest checkpoint (an interrupted add): their bundles go into place
    // and must be exactly as logged and intact (issue 19 item 5); else refuse to sign them.
    for e in &unsigned {
        let dest = archive.join(BUNDLES_DIR).join(&e.name);
        let pending = archive.join(PENDING_DIR).join(&e.name);
        if open_nofollow(&dest)?.is_none() && open_nofollow(&pending)?.is_some() {
            check_entry_bundle(&pending, e, limits).map_err(|why| {
                damaged(format!(
                    "log entry {} ({}) is not covered by a checkpoint and {why}",
                    e.index, e.name
                ))
            })?;
            place(&pending, &dest)?;
            recovered.push(format!("moved {PENDING_DIR}/{} into {BUNDLES_DIR}", e.name));
        }
        check_entry_bundle(&dest, e, limits).map_err(|why| {
            damaged(format!(
                "log entry {} ({}) is not covered by a checkpoint and {why}",
                e.index, e.name
            ))
        })?;
    }
    // Copies into log/pending that were never logged: rolled back.
    {
        let dir = archive.join(PENDING_DIR);
        let logged: BTreeSet<&str> = unsigned.iter().map(|e| e.name.as_str()).collect();
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| Error::io(&dir, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let p = dir.join(&name);
            let ft = ent.file_type().map_err(|e| Error::io(&dir, e))?;
            if ft.is_dir() {
                return Err(damaged(format!("{PENDING_DIR}/{name} is a directory")));
            }
            if logged.contains(name.as_str()) {
                // Logged and also in bundles/: the move was interrupted after the link.
                std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                continue;
            }
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            recovered.push(format!(
                "removed {PENDING_DIR}/{name} (copied, never logged)"
            ));
        }
    }
    let max = max_entries(archive);
    if count + bundles.len() as u64 > max {
        return Err(invalid(
            &label,
            format!("an archive log holds at most {max} entries"),
        ));
    }
    if lc.files >= MAX_CHECKPOINTS {
        return Err(invalid(
            &label,
            format!("an archive log holds at most {MAX_CHECKPOINTS} checkpoints"),
        ));
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

    // 2. Copy each bundle into log/pending, checking the copy.
    let mut names: HashMap<String, String> = existing_names
        .into_iter()
        .map(|(k, i)| (k, format!("entry {i}")))
        .collect();
    let mut contents: HashMap<String, String> = HashMap::new();
    let mut copied: Vec<PathBuf> = Vec::new();
    let mut new_entries: Vec<Entry> = Vec::new();
    let result = (|| -> Result<()> {
        for (k, b) in bundles.iter().enumerate() {
            let name = b
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| invalid(b.display(), "file name is not valid UTF-8"))?
                .to_string();
            check_name(&name).map_err(|why| invalid(b.display(), why))?;
            let nk = name_key(&name);
            if let Some(other) = names.get(&nk) {
                return Err(invalid(
                    b.display(),
                    format!("the archive already has a bundle named {name} or differing only in case ({other})"),
                ));
            }
            let dest = archive.join(BUNDLES_DIR).join(&name);
            if dest.symlink_metadata().is_ok() {
                return Err(invalid(
                    b.display(),
                    format!("{BUNDLES_DIR}/{name} exists in the archive but not in its log (see docseal archive audit)"),
                ));
            }
            let pending = archive.join(PENDING_DIR).join(&name);
            let e = copy_checked(b, &pending, limits, count + k as u64, &contents)?;
            copied.push(pending);
            crash_point("copied");
            names.insert(nk, format!("given as {}", b.display()));
            contents.insert(
                e.content_sha256.clone(),
                format!("{} (given as {})", name, b.display()),
            );
            new_entries.push(e);
        }
        // Contents already in the log: one more pass over it, against the new ones only.
        let fresh: HashMap<&str, usize> = new_entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.content_sha256.as_str(), i))
            .collect();
        let mut clash: Option<(usize, u64)> = None;
        scan_entries(archive, &BTreeSet::new(), &mut |pos, _, line| {
            if clash.is_none() && pos < count {
                if let Ok(e) = Entry::parse(line) {
                    if let Some(&i) = fresh.get(e.content_sha256.as_str()) {
                        clash = Some((i, e.index));
                    }
                }
            }
            Ok(())
        })?;
        if let Some((i, index)) = clash {
            return Err(invalid(
                bundles[i].display(),
                format!(
                    "its content (sha256 {}) is already in the archive: entry {index}",
                    new_entries[i].content_sha256
                ),
            ));
        }
        Ok(())
    })();
    if let Err(e) = result {
        for p in copied {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }

    // 3. Append to the log.
    let entries_path = archive.join(ENTRIES_FILE);
    let mut text = String::new();
    for e in &new_entries {
        text.push_str(&e.line());
        text.push('\n');
    }
    {
        let mut o = std::fs::OpenOptions::new();
        o.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o644).custom_flags(libc::O_NOFOLLOW);
        }
        let mut f = o
            .open(&entries_path)
            .map_err(|e| Error::io(&entries_path, e))?;
        if !f
            .metadata()
            .map_err(|e| Error::io(&entries_path, e))?
            .is_file()
        {
            return Err(invalid(entries_path.display(), "is not a regular file"));
        }
        not_group_writable(&entries_path, &f)?;
        if std::env::var_os(CRASH_HOOK).is_some_and(|v| v == "appending") {
            // The first line whole and half of the next.
            let first = new_entries[0].line().len() + 1;
            let cut = first + (text.len() - first) / 2;
            let _ = f.write_all(&text.as_bytes()[..cut]);
            let _ = f.sync_all();
            crash_point("appending");
        }
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&entries_path, e))?;
    }
    let log_dir = archive.join("log");
    durable::sync_dir(&log_dir).map_err(|e| Error::io(&log_dir, e))?;
    crash_point("appended");

    // 4. Move the copies into bundles/.
    for (i, e) in new_entries.iter().enumerate() {
        let pending = archive.join(PENDING_DIR).join(&e.name);
        let dest = archive.join(BUNDLES_DIR).join(&e.name);
        let linked = link_new(&pending, &dest)?;
        if i == 0 {
            crash_point("moving");
        }
        if linked {
            std::fs::remove_file(&pending).map_err(|err| Error::io(&pending, err))?;
        }
    }
    for d in [BUNDLES_DIR, PENDING_DIR] {
        let p = archive.join(d);
        durable::sync_dir(&p).map_err(|e| Error::io(&p, e))?;
    }
    crash_point("moved");

    // 5. Sign the new checkpoint: the signature first, then the note.
    let mut cr = CompactRange::new();
    let mut all: Vec<Entry> = Vec::new();
    scan_entries(archive, &BTreeSet::new(), &mut |pos, leaf, line| {
        cr.push(*leaf);
        if pos >= signed {
            if let Ok(e) = Entry::parse(line) {
                all.push(e);
            }
        }
        Ok(())
    })?;
    if cr.size() != count + new_entries.len() as u64 {
        return Err(damaged(
            "log/entries changed while this add ran (another writer?)".into(),
        ));
    }
    let cp = Checkpoint {
        origin: latest
            .as_ref()
            .map(|l| l.origin.clone())
            .unwrap_or_else(|| format!("{ORIGIN_PREFIX}{}", key.key_id())),
        size: cr.size(),
        root: cr.root(),
        time,
        previous: signed,
    };
    if v2 {
        // The tiles of the new tree, extending those of the latest checkpoint.
        let root = tiles::extend(archive, signed, &tiles::lines_of(&all))
            .map_err(|e| damaged(format!("its tiles: {e}")))?;
        if root != cp.root {
            return Err(damaged(
                "its tiles do not give the root of log/entries".into(),
            ));
        }
        crash_point("tiled");
    }
    let dir = archive.join(CHECKPOINTS_DIR);
    write_new(
        &dir.join(format!("{}.minisig", cp.size)),
        cp.sign(key).as_bytes(),
        "signing",
    )?;
    crash_point("signed");
    write_new(
        &dir.join(cp.size.to_string()),
        cp.body().as_bytes(),
        "noting",
    )?;
    crash_point("noted");
    if v2 {
        tiles::write_checkpoint(archive, &cp, key)?;
        crash_point("published");
    }
    Ok(Added {
        entries: all,
        checkpoint: cp,
        key_id: key.key_id(),
        recovered,
    })
}

/// Copy the bundle `src` to `dest` (through a temporary file, never replacing), hashing it,
/// and check the copy: every check but trust, and a content not already in the archive.
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
    let (tmp, mut out) = temp_file(parent_dir(dest))?;
    let result = (|| -> Result<Entry> {
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
            out.write_all(&buf[..n]).map_err(|e| Error::io(dest, e))?;
            if len == 0 {
                crash_point("copying");
            }
            len += n as u64;
            if len > verify::max_bundle_size(limits) {
                return Err(invalid(src.display(), "larger than the limits allow"));
            }
        }
        let file_sha256 = hex(&h.finalize());
        out.sync_all().map_err(|e| Error::io(dest, e))?;
        out.rewind().map_err(|e| Error::io(dest, e))?;
        let opts = Options {
            limits: limits.clone(),
            ..Options::default()
        };
        let report = verify::verify_reader(&src.display().to_string(), &mut out, len, None, &opts);
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
    })();
    drop(out);
    match result {
        Ok(e) => {
            place(&tmp, dest)?;
            Ok(e)
        }
        Err(err) => {
            let _ = std::fs::remove_file(&tmp);
            Err(err)
        }
    }
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

const MAX_REPORTED: usize = 50;

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
    let lstat = |rel: &str| std::fs::symlink_metadata(archive.join(rel)).ok();
    let is_link = |rel: &str| lstat(rel).is_some_and(|m| m.file_type().is_symlink());
    if lstat("log").is_none() && lstat(BUNDLES_DIR).is_none() {
        return Err(invalid(
            archive.display(),
            "is not a docseal archive (no log/ or bundles/ directory)",
        ));
    }
    let mut f = Sink::default();
    let link = |rel: &str| {
        Finding::at(
            Code::ArchiveSymlink,
            rel,
            "a symbolic link in the archive (never followed: what it points to is not checked)",
        )
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
    // Directories others can write into: anyone could replace the log or a bundle.
    #[cfg(unix)]
    for rel in [
        "",
        BUNDLES_DIR,
        "log",
        CHECKPOINTS_DIR,
        PENDING_DIR,
        crate::ops::timestamp::checkpoint::TOKENS_DIR,
    ] {
        use std::os::unix::fs::PermissionsExt;
        let Some(m) = (if rel.is_empty() {
            std::fs::metadata(archive).ok()
        } else {
            lstat(rel)
        }) else {
            continue;
        };
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
    }
    if !archive.join("log").is_dir() && log_readable {
        f.push(Finding::at(
            Code::LogCheckpointMissing,
            "log",
            "the archive's log is gone: no entry and no checkpoint vouches for its bundles",
        ));
        log_readable = false;
    }

    // The log, with each entry's bundle checked as it streams by.
    let dir = archive.join(BUNDLES_DIR);
    let pending_dir = archive.join(PENDING_DIR);
    let keyed = Keyed::new();
    let mut listed = dups::KeySorter::default();
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    // Bundles whose file differs from the one logged: named once the other entries are known.
    struct Differs {
        at: String,
        index: u64,
        id: String,
        content: String,
        sha: String,
        found_id: Option<String>,
        found_content: Option<String>,
    }
    let mut differs: Vec<Differs> = Vec::new();
    let mut in_pending: Vec<(u64, String)> = Vec::new();
    let mut pending_entries: Vec<Entry> = Vec::new();
    let mut bundle_f = Sink::default();
    let mut each = |e: &Entry| -> Result<()> {
        listed
            .push(keyed.of(&e.name))
            .map_err(|err| Error::io(std::env::temp_dir(), err))?;
        if !bundles_readable {
            return Ok(());
        }
        let at = format!("{BUNDLES_DIR}/{}", e.name);
        let p = dir.join(&e.name);
        let m = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if in_pending.len() < 10 * MAX_REPORTED
                    && std::fs::symlink_metadata(pending_dir.join(&e.name))
                        .is_ok_and(|m| m.is_file())
                {
                    in_pending.push((e.index, e.name.clone()));
                    pending_entries.push(e.clone());
                } else {
                    bundle_f.push(Finding::at(
                        Code::ArchiveBundleRemoved,
                        &at,
                        format!("log entry {} ({}) is gone from the archive", e.index, e.id),
                    ));
                }
                return Ok(());
            }
            Err(err) => return Err(Error::io(&p, err)),
        };
        if m.file_type().is_symlink() {
            bundle_f.push(link(&at));
            return Ok(());
        }
        if !m.is_file() {
            bundle_f.push(Finding::at(
                Code::ArchiveBundleReplaced,
                &at,
                format!("log entry {}: not a regular file any more", e.index),
            ));
            return Ok(());
        }
        let mut file = match open_nofollow(&p) {
            Ok(Some(file)) => file,
            Ok(None) | Err(_) => {
                bundle_f.push(Finding::at(
                    Code::ArchiveBundleReplaced,
                    &at,
                    format!("log entry {}: not a regular file any more", e.index),
                ));
                return Ok(());
            }
        };
        let sha = sha256_reader(&mut file, &p)?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        file.rewind().map_err(|err| Error::io(&p, err))?;
        let report = verify::verify_reader(&p.display().to_string(), &mut file, len, None, &opts);
        if sha != e.file_sha256 {
            if differs.len() < MAX_REPORTED {
                differs.push(Differs {
                    at,
                    index: e.index,
                    id: e.id.clone(),
                    content: e.content_sha256.clone(),
                    sha,
                    found_id: report.id.clone(),
                    found_content: report.content_sha256.clone(),
                });
            } else {
                bundle_f.push(Finding::at(
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
            bundle_f.push(Finding::at(
                Code::ArchiveBundleInvalid,
                &at,
                format!("log entry {}: {}", e.index, codes.join(", ")),
            ));
        } else if report.content_sha256.as_deref() != Some(&e.content_sha256)
            || report.id.as_deref() != Some(&e.id)
        {
            bundle_f.push(Finding::at(
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
            bundle_f.push(Finding::at(Code::LogEntryAltered, &at, why));
        }
        Ok(())
    };
    let lc = if log_readable {
        Some(check_log(archive, Some(trust), kept, &mut each)?)
    } else {
        None
    };
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
            signer: Some(signer.clone()),
        })
    });
    if let Some(lc) = lc {
        if log_readable {
            tiles::audit_v2(
                archive,
                trust,
                lc.sound.last().map(|(c, _)| c),
                &lc.sound.iter().map(|(c, _)| c.size).collect::<Vec<_>>(),
                witnesses,
                &mut f,
            )?;
        }
        f.absorb(lc.sink);
    }

    // Bundles swapped or replaced: which entry's file each now holds.
    if !differs.is_empty() {
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
        for d in &differs {
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
    }
    for (index, name) in &in_pending {
        if *index >= signed {
            // The next add checks it before it signs; say now if it will refuse.
            if let Some(e) = pending_entries.iter().find(|e| e.index == *index) {
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
    f.absorb(bundle_f);

    // Files in bundles/ that no entry names (their keys against the listed ones, both sorted
    // on disk past a million: bounded memory), then a second pass over the directory names
    // them; what an interrupted add left in log/pending.
    if bundles_readable && dir.is_dir() {
        let mut present = dups::KeySorter::default();
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| Error::io(&dir, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            present
                .push(keyed.of(&name))
                .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        }
        let unlisted: BTreeSet<u64> = dups::missing_from(present, listed, 100_000)
            .map_err(|e| Error::io(std::env::temp_dir(), e))?
            .into_iter()
            .collect();
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| Error::io(&dir, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let ft = ent.file_type().map_err(|e| Error::io(&dir, e))?;
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
                        "in the archive but not in its log (added without docseal archive add, or its entry was removed)",
                    ));
                }
            }
        }
    }
    let listed_pending: BTreeSet<&str> = in_pending.iter().map(|(_, n)| n.as_str()).collect();
    if log_readable && !is_link(PENDING_DIR) && pending_dir.is_dir() {
        let rd = std::fs::read_dir(&pending_dir).map_err(|e| Error::io(&pending_dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| Error::io(&pending_dir, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let at = format!("{PENDING_DIR}/{name}");
            let ft = ent.file_type().map_err(|e| Error::io(&pending_dir, e))?;
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
        checkpoints: files,
        latest,
        findings,
        timestamps: stamped.tokens,
    })
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

/// The archive's log checked for making proofs (every check but the checkpoints' keys, which
/// whoever checks the proof does): refused on any error.
fn proof_log(archive: &Path) -> Result<LogCheck> {
    let label = archive.display().to_string();
    let (has_log, _) = log_dirs(archive)?;
    if !has_log || open_nofollow(&archive.join(ENTRIES_FILE))?.is_none() {
        return Err(invalid(&label, "is not a docseal archive (no log/entries)"));
    }
    let lc = check_log(archive, None, &[], &mut |_| Ok(()))?;
    if let Some(bad) = lc.sink.first_error(&[]) {
        return Err(invalid(
            &label,
            format!("{bad} (run docseal archive audit {label})"),
        ));
    }
    Ok(lc)
}

/// Which entry a prove command is about: a bundle file (by its content digest), the name of a
/// bundle in the archive, or a content digest.
fn find_entry(archive: &Path, which: &str, limits: &Limits) -> Result<Entry> {
    let p = Path::new(which);
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let digest_of = |path: &Path, r: verify::Report| {
        r.content_sha256.ok_or_else(|| Error::Refused {
            path: path.to_path_buf(),
            summary: "no content digest (see docseal inspect)".into(),
        })
    };
    let (content, label) = if p.is_file() {
        (
            digest_of(p, verify::inspect(p, &opts))?,
            p.display().to_string(),
        )
    } else if check_name(which).is_ok()
        && real_dir(archive, BUNDLES_DIR)?
        && open_nofollow(&archive.join(BUNDLES_DIR).join(which))?.is_some()
    {
        let in_archive = archive.join(BUNDLES_DIR).join(which);
        let mut f = open_nofollow(&in_archive)?.ok_or_else(|| invalid(which, "gone"))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let r = verify::verify_reader(&in_archive.display().to_string(), &mut f, len, None, &opts);
        (digest_of(&in_archive, r)?, in_archive.display().to_string())
    } else if is_hex64(which) {
        (which.to_string(), String::new())
    } else {
        return Err(invalid(
            which,
            "neither a bundle file, a bundle name in the archive, nor a content digest",
        ));
    };
    let mut found = None;
    scan_entries(archive, &BTreeSet::new(), &mut |_, _, line| {
        // The content digest is the second field: parse only the line that has it.
        if found.is_none() && line.split(|&b| b == b' ').nth(1) == Some(content.as_bytes()) {
            found = Entry::parse(line).ok();
        }
        Ok(())
    })?;
    found.ok_or_else(|| {
        if label.is_empty() {
            invalid(which, "no log entry has this content digest")
        } else {
            invalid(
                &label,
                format!("its content (sha256 {content}) is not in the archive's log"),
            )
        }
    })
}

/// The roots of these leaf ranges of the log, streamed.
fn roots_of(archive: &Path, ranges: &[(u64, u64)], tree: u64) -> Result<Vec<Hash>> {
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
    let lc = proof_log(archive)?;
    let e = find_entry(archive, which, limits)?;
    let sizes: Vec<u64> = lc.sound.iter().map(|(c, _)| c.size).collect();
    let cp = match at {
        Some(n) => lc
            .sound
            .iter()
            .find(|(c, _)| c.size == n)
            .map(|(c, _)| c)
            .ok_or_else(|| invalid("--checkpoint", format!("the archive has no checkpoint {n}")))?,
        None => lc
            .sound
            .last()
            .map(|(c, _)| c)
            .ok_or_else(|| invalid(archive.display(), "has no checkpoint"))?,
    };
    let size = cp.size;
    if e.index >= size {
        let first = sizes.iter().find(|s| **s > e.index);
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
    let ranges = merkle::inclusion_ranges(e.index, size)
        .ok_or_else(|| invalid(archive.display(), "the entry is outside the tree"))?;
    let tree = lc.sound.last().map_or(size, |(c, _)| c.size);
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
    let lc = proof_log(archive)?;
    let get = |n: u64, flag: &str| {
        lc.sound
            .iter()
            .find(|(c, _)| c.size == n)
            .map(|(c, _)| c)
            .ok_or_else(|| invalid(flag, format!("the archive has no checkpoint {n}")))
    };
    let old = get(from, "--from")?;
    let new = match to {
        Some(n) => get(n, "--to")?,
        None => lc
            .sound
            .last()
            .map(|(c, _)| c)
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
    let ranges = merkle::consistency_ranges(old.size, new.size)
        .ok_or_else(|| invalid(archive.display(), "sizes outside the tree"))?;
    let tree = lc.sound.last().map_or(new.size, |(c, _)| c.size);
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
    let bytes = read_user_file(proof_path, MAX_PROOF_BYTES)?
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
            let path = decode_path(&p.inclusion_path, merkle::MAX_INCLUSION_PATH)
                .map_err(|why| invalid(&label, why))?;
            let (cp, checked) = check_note(&p.checkpoint, trust, "checkpoint", proof_path)?;
            merkle::verify_inclusion(entry.index, cp.size, &entry.leaf_hash(), &path, &cp.root)
                .map_err(|e| {
                    refuse(format!(
                        "the entry is not in the log as of checkpoint {}: {e}",
                        cp.size
                    ))
                })?;
            let mut notes = Vec::new();
            if let Some(k) = kept {
                // Only the very checkpoint the proof rests on relates to an inclusion proof;
                // anything else would be ignored, so it is refused.
                if k.checkpoint != cp {
                    return Err(invalid(
                        format!("--checkpoint {}", k.label),
                        format!(
                        "an inclusion proof rests on checkpoint {} of {:?}, and the one you kept is checkpoint {} of {:?}{}; to show a later checkpoint extends the one you kept, check a consistency proof (docseal archive prove-consistency) with --checkpoint",
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
                    && sha256_reader(&mut File::open(b).map_err(|e| Error::io(b, e))?, b)?
                        == entry.file_sha256;
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
            if let Some(b) = bundle {
                return Err(invalid(
                    format!("--bundle {}", b.display()),
                    "a consistency proof is about two checkpoints, not a bundle; check an inclusion proof (docseal archive prove) with --bundle",
                ));
            }
            let path = decode_path(&p.consistency_path, merkle::MAX_CONSISTENCY_PATH)
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
            merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &path).map_err(
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
            root: merkle::leaf_hash(b"x"),
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
        use crate::profile::trust::TrustedKey;
        let key = SecretKey::from_seed(&[9; 32], KeyId([1, 2, 3, 4, 5, 6, 7, 8]));
        let other = SecretKey::from_seed(&[8; 32], KeyId([8, 7, 6, 5, 4, 3, 2, 1]));
        let c = cp();
        let sig = c.sign(&key);
        let trust = Trust::new(vec![TrustedKey::archive(key.public_key())]);
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
        // A bundle signing key (not in the archive role) vouches for no checkpoint.
        let signer = Trust::new(vec![TrustedKey::plain(key.public_key())]);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &signer),
            Signer::Untrusted(why) if why.contains("not as an archive key")
        ));
        // Retired before the checkpoint: not counted; retired after: counted; compromised: never.
        let mut tk = TrustedKey::archive(key.public_key());
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
    fn streamed_prefix_roots_match_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("log")).unwrap();
        let lines: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
        let mut text = lines.join("\n");
        text.push_str("\ntorn");
        std::fs::write(dir.path().join(ENTRIES_FILE), text).unwrap();
        let leaves: Vec<Hash> = lines
            .iter()
            .map(|l| merkle::leaf_hash(l.as_bytes()))
            .collect();
        let sizes: BTreeSet<u64> = [0, 1, 5, 8, 20, 21].into_iter().collect();
        let mut seen = 0;
        let scan = scan_entries(dir.path(), &sizes, &mut |pos, leaf, line| {
            assert_eq!(line, lines[pos as usize].as_bytes());
            assert_eq!(*leaf, leaves[pos as usize]);
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((seen, scan.lines, scan.torn_tail), (20, 20, 4));
        for s in [1u64, 5, 8, 20] {
            assert_eq!(scan.roots[&s], merkle::root(&leaves[..s as usize]));
        }
        assert!(!scan.roots.contains_key(&21) && !scan.roots.contains_key(&0));
    }
}
