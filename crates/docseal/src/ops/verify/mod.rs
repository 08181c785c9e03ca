//! Verification: a bundle (ZIP file or unzipped directory) against its signed manifest and a
//! set of trusted keys. Problems are returned as [`Finding`]s with stable codes, all of them,
//! not just the first.
//!
//! ```no_run
//! use docseal::verify::{verify_path, Options, Trust};
//! let trust = Trust::from_public_key_files(&["keys/sample.pub".into()]).unwrap();
//! let report = verify_path("archive/sample.zip".as_ref(), Some(&trust), &Options::default());
//! assert!(report.ok);
//! ```

use crate::format::error::{Error, Result};
use crate::format::finding::{Code, Finding, Severity};
use crate::format::minisign::{with_reduced_s, KeyId, PublicKey, Signature, VerifyError};
use crate::format::zip::{self, Entry, Limits};
use crate::profile::bagit::{
    self, BAGIT, BAG_INFO, MANIFEST, METADATA, SIGNATURE, TAGMANIFEST, TAGMANIFEST_LISTS, TAG_FILES,
};
use crate::profile::metadata::{hex, Metadata};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Largest signature file the verifier reads.
pub const MAX_SIGNATURE_BYTES: u64 = 4096;

/// Most co-signatures a bundle may hold (besides the sealer's signature). A bundle with more
/// is refused with `limit.cosignatures`, and none of its co-signatures is checked: the work a
/// bundle can ask for is bounded.
pub const MAX_COSIGNATURES: usize = 64;

/// Largest tag manifest the verifier reads. It lists exactly four files, in 344 bytes.
pub const MAX_TAGMANIFEST_BYTES: u64 = 64 << 10;

/// Longest manifest line: a digest, two spaces, a path of at most
/// [`crate::format::path::MAX_PATH_BYTES`].
const MAX_MANIFEST_LINE: usize = 64 + 2 + crate::format::path::MAX_PATH_BYTES;

/// Anything a bundle ZIP can be read from: a [`File`], or bytes in memory
/// (`std::io::Cursor`). See [`verify_reader`].
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

pub use crate::profile::trust::{Trust, TrustedKey};
pub mod evidence;
mod pinned;
pub use pinned::{BundleRecord, Pinned, PinnedError, PinnedKey, PINNED_FORMAT};

/// Verification options.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Resource limits.
    pub limits: Limits,
    /// Distinct trusted signers required (at least 1).
    pub require_signers: usize,
    /// Archive evidence: content digest (hex) -> the archived copies of that content, each
    /// with the time of the first checkpoint that included it ([`crate::ops::archive::evidence`]).
    /// The time is lent only to the signatures the archived copy holds, byte for byte, and
    /// never to a signature by the key that signed the checkpoint. Used for revoked keys and
    /// validity windows.
    pub established: HashMap<String, Vec<ArchivedCopy>>,
    /// Roots of trusted Time-Stamping Authorities (`--tsa-trust`): a token counts as evidence
    /// only when its TSA chains to one of them ([`crate::format::tsa`]).
    pub tsa_roots: Vec<x509_cert::Certificate>,
    /// Refuse a bundle without a token from a trusted TSA (`--require-timestamp`).
    pub require_timestamp: bool,
}

// Defined beside the token evidence, which reads archived copies too, so that `evidence` does
// not depend on this file (issue 13: no circle between files).
pub use evidence::ArchivedCopy;

/// The SHA-256 of every signature file (the sealer's and the co-signatures) in the bundle file
/// `copy`, if its SHA-256 is `file_sha256`; `None` otherwise (missing, changed, unreadable).
fn archived_signatures(
    copy: &Path,
    file_sha256: &[u8; 32],
    limits: &Limits,
) -> Option<HashSet<[u8; 32]>> {
    let file = File::open(copy).ok()?;
    let len = file.metadata().ok()?.len();
    if len > max_bundle_size(limits) {
        return None;
    }
    let mut r = &file;
    if bagit::sha256_reader(&mut r, len).ok()? != *file_sha256 {
        return None;
    }
    let entries = zip::read_strict(&mut r, len, limits).ok()?;
    let mut out = HashSet::new();
    for e in entries
        .iter()
        .filter(|e| matches!(classify(&e.name), Kind::Sig | Kind::Cosig))
    {
        if e.size > MAX_SIGNATURE_BYTES || out.len() > MAX_COSIGNATURES {
            return None;
        }
        out.insert(zip::hash_entry(&mut r, e, None).ok()?.sha256);
    }
    Some(out)
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            require_signers: 1,
            established: HashMap::new(),
            tsa_roots: Vec::new(),
            require_timestamp: false,
        }
    }
}

/// A file in a bundle.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileInfo {
    /// Path inside the bundle.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex (absent if it could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What was established about one signature.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SignerStatus {
    /// Valid, by a trusted key.
    Trusted,
    /// Valid against the key the bundle names (inspect only: no trust decision).
    ValidUntrusted,
    /// The key is not trusted (verify), or the bundle names no usable key (inspect).
    Unknown,
    /// The signature does not verify.
    Invalid,
    /// The signature verifies with a trusted key, but the trust file refuses the key for this
    /// bundle (revoked, or outside its validity window).
    Refused,
}

/// One signature in a bundle.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SignerInfo {
    /// The signature file.
    pub file: String,
    /// Key id it names.
    pub key_id: String,
    /// The trusted key's name, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The fingerprint (SHA-256 of the Ed25519 public key, hex, as `docseal key show` prints
    /// it) of the key the signature verified with, when it verified: what identifies a signer,
    /// whatever key id it claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The outcome.
    pub status: SignerStatus,
}

/// The result of verifying (or inspecting) one bundle.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The bundle's path as given.
    pub path: String,
    /// `true` when there is no error finding.
    pub ok: bool,
    /// `false` for `inspect`: no trust decision was made.
    pub trust_checked: bool,
    /// The bundle identity, when the metadata could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// SHA-256 of the tag manifest, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    /// The metadata record, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// The files, in bundle order.
    pub files: Vec<FileInfo>,
    /// The signatures.
    pub signers: Vec<SignerInfo>,
    /// The bundle format version the files show: 1, or 2 when it holds timestamp tokens.
    pub format: u32,
    /// The RFC 3161 timestamp tokens (format v2), in bundle order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<evidence::TimestampInfo>,
    /// For a revoked key whose signature still passed: which evidence (a timestamp token or
    /// the archive log) showed it existed before the revocation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Every problem found; at most [`zip::MAX_FINDINGS_PER_CODE`] of one code, then one
    /// finding of that code saying how many more there were.
    pub findings: Vec<Finding>,
    /// Findings made so far, by code (listed or not).
    #[serde(skip)]
    counts: BTreeMap<Code, usize>,
}

impl Report {
    fn new(path: &Path, trust_checked: bool) -> Report {
        Report::labeled(path.display().to_string(), trust_checked)
    }
    fn labeled(path: String, trust_checked: bool) -> Report {
        Report {
            path,
            ok: false,
            trust_checked,
            id: None,
            content_sha256: None,
            metadata: None,
            files: Vec::new(),
            signers: Vec::new(),
            format: crate::FORMAT_VERSION,
            timestamps: Vec::new(),
            evidence: Vec::new(),
            findings: Vec::new(),
            counts: BTreeMap::new(),
        }
    }
    fn push(&mut self, f: Finding) {
        let n = self.counts.entry(f.code).or_default();
        *n += 1;
        if *n <= zip::MAX_FINDINGS_PER_CODE {
            self.findings.push(f);
        }
    }
    /// A failed report for the bundle `label` that could not be read at all (`finding`).
    pub fn failed(label: String, trust_checked: bool, finding: Finding) -> Report {
        let mut r = Report::labeled(label, trust_checked);
        r.push(finding);
        r.finish()
    }
    fn finish(mut self) -> Report {
        let counts = std::mem::take(&mut self.counts);
        for (code, n) in counts {
            if n > zip::MAX_FINDINGS_PER_CODE {
                let severity = self
                    .findings
                    .iter()
                    .rev()
                    .find(|f| f.code == code)
                    .map_or(Severity::Error, |f| f.severity);
                let mut f = zip::findings_not_listed(code, n - zip::MAX_FINDINGS_PER_CODE);
                f.severity = severity;
                self.findings.push(f);
            }
        }
        self.ok = !self.findings.iter().any(|f| f.severity == Severity::Error);
        self
    }
    /// The error findings' codes, in order (for tests and summaries).
    pub fn error_codes(&self) -> Vec<Code> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.code)
            .collect()
    }
}

/// Where a bundle's files come from: a ZIP file read strictly, or an unzipped directory.
///
/// Files are named by their index in [`Source::files`] (and by name, for messages and for
/// directories), so that no lookup by name is needed and names are held once.
trait Source {
    /// (name, size) of every file, in order. Called once: the source hands its names over.
    fn files(&mut self) -> Vec<(String, u64)>;
    /// Read file `i`, `name`, of at most `max` bytes (checking the ZIP CRC), with the SHA-256
    /// of the bytes returned (computed while reading: the caller need not hash them again).
    fn read(&mut self, i: usize, name: &str, max: u64) -> std::result::Result<FileRead, Finding>;
    /// Stream file `i`, `name`, through SHA-256 (checking the ZIP CRC).
    fn digest(&mut self, i: usize, name: &str) -> std::result::Result<[u8; 32], Finding>;
    /// Whether entry order is significant (ZIP) or not (directory).
    fn ordered(&self) -> bool;
}

/// A file read by [`Source::read`]: its bytes and their SHA-256.
type FileRead = (Vec<u8>, [u8; 32]);

struct ZipSource<'a> {
    r: &'a mut dyn ReadSeek,
    entries: Vec<Entry>,
}

impl ZipSource<'_> {
    fn stream(
        &mut self,
        i: usize,
        name: &str,
        out: Option<&mut dyn std::io::Write>,
    ) -> std::result::Result<[u8; 32], Finding> {
        let e = self
            .entries
            .get(i)
            .ok_or_else(|| Finding::at(Code::BundleMissingFile, name, "not in the bundle"))?;
        let d = zip::hash_entry(&mut self.r, e, out)
            .map_err(|err| Finding::at(Code::IoRead, name, err.to_string()))?;
        if d.crc32 != e.crc32 {
            return Err(Finding::at(
                Code::ZipCrc,
                name,
                format!(
                    "CRC-32 {:08x} differs from the declared {:08x}",
                    d.crc32, e.crc32
                ),
            ));
        }
        Ok(d.sha256)
    }
}

impl Source for ZipSource<'_> {
    fn files(&mut self) -> Vec<(String, u64)> {
        self.entries
            .iter_mut()
            .map(|e| (std::mem::take(&mut e.name), e.size))
            .collect()
    }
    fn read(&mut self, i: usize, name: &str, max: u64) -> std::result::Result<FileRead, Finding> {
        let size = self.entries.get(i).map(|e| e.size).unwrap_or(0);
        if size > max {
            return Err(Finding::at(
                Code::LimitTagFile,
                name,
                format!("{size} bytes, more than the {max} allowed"),
            ));
        }
        let mut buf = Vec::with_capacity(size as usize);
        let d = self.stream(i, name, Some(&mut buf))?;
        Ok((buf, d))
    }
    fn digest(&mut self, i: usize, name: &str) -> std::result::Result<[u8; 32], Finding> {
        self.stream(i, name, None)
    }
    fn ordered(&self) -> bool {
        true
    }
}

struct DirSource {
    root: PathBuf,
    files: Vec<(String, u64)>,
}

/// Open a file of an unzipped bundle: not through a link, never blocking (a file swapped for a
/// FIFO since the scan), and only a regular file.
fn open_nofollow(p: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o.open(p)?;
    let ft = f.metadata()?.file_type();
    if !ft.is_file() {
        return Err(std::io::Error::other(format!(
            "is {}, not a regular file",
            crate::format::input::kind_name(&ft)
        )));
    }
    Ok(f)
}

#[cfg(all(test, target_os = "linux"))]
mod open_nofollow_tests {
    /// Issue #20 item 6: a file of an unzipped bundle swapped for a FIFO after the scan is
    /// refused at once, never waited on.
    #[test]
    fn issue20_item6_unzipped_bundle_fifo_never_blocks() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("bagit.txt");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(
                super::open_nofollow(&p)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            );
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("blocked on a FIFO");
        assert!(got.unwrap_err().contains("FIFO"));
    }
}

impl DirSource {
    fn scan(root: &Path, limits: &Limits, report: &mut Report) -> DirSource {
        let mut files = Vec::new();
        let mut stack = vec![(root.to_path_buf(), String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            let rd = match std::fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) => {
                    report.push(Finding::new(
                        Code::IoRead,
                        format!("{}: {e}", dir.display()),
                    ));
                    continue;
                }
            };
            for ent in rd {
                let ent = match ent {
                    Ok(e) => e,
                    Err(e) => {
                        report.push(Finding::new(
                            Code::IoRead,
                            format!("{}: {e}", dir.display()),
                        ));
                        continue;
                    }
                };
                let raw = ent.file_name();
                let name = match raw.to_str() {
                    Some(n) => format!("{prefix}{n}"),
                    None => {
                        report.push(Finding::at(
                            Code::PathNotUtf8,
                            format!("{prefix}{}", raw.to_string_lossy()),
                            "name is not valid UTF-8",
                        ));
                        continue;
                    }
                };
                let ft = match ent.file_type() {
                    Ok(t) => t,
                    Err(e) => {
                        report.push(Finding::at(Code::IoRead, name, e.to_string()));
                        continue;
                    }
                };
                if ft.is_dir() {
                    stack.push((ent.path(), format!("{name}/")));
                } else if ft.is_file() {
                    if let Err((code, why)) = crate::format::path::check(&name) {
                        report.push(Finding::at(code, name, why));
                        continue;
                    }
                    let size = ent.metadata().map(|m| m.len()).unwrap_or(0);
                    files.push((name, size));
                } else {
                    report.push(Finding::at(
                        Code::ZipNotRegularFile,
                        name,
                        "not a regular file (symlink, device, ...)",
                    ));
                }
                if files.len() as u64 > limits.max_entries {
                    report.push(Finding::new(
                        Code::LimitEntries,
                        format!("more than {} files", limits.max_entries),
                    ));
                    return DirSource {
                        root: root.to_path_buf(),
                        files: Vec::new(),
                    };
                }
            }
        }
        files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        report_collisions(&files, report);
        DirSource {
            root: root.to_path_buf(),
            files,
        }
    }
}

/// Names of an unzipped bundle that are equal after case folding and normalization.
fn report_collisions(files: &[(String, u64)], report: &mut Report) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for (n, _) in files {
        if let Some(other) = seen.insert(crate::format::path::collision_key(n), n.clone()) {
            report.push(Finding::at(
                Code::ZipNameCollision,
                n.clone(),
                format!("collides with {other} after case folding or normalization"),
            ));
        }
    }
}

impl Source for DirSource {
    fn files(&mut self) -> Vec<(String, u64)> {
        std::mem::take(&mut self.files)
    }
    fn read(&mut self, _: usize, name: &str, max: u64) -> std::result::Result<FileRead, Finding> {
        let f = open_nofollow(&self.root.join(name))
            .map_err(|e| Finding::at(Code::IoRead, name, e.to_string()))?;
        let buf = crate::format::input::read_at_most(f, max)
            .map_err(|e| Finding::at(Code::IoRead, name, e.to_string()))?;
        if buf.len() as u64 > max {
            return Err(Finding::at(
                Code::LimitTagFile,
                name,
                format!("more than the {max} bytes allowed"),
            ));
        }
        let d = Sha256::digest(&buf).into();
        Ok((buf, d))
    }
    fn digest(&mut self, _: usize, name: &str) -> std::result::Result<[u8; 32], Finding> {
        let mut f = open_nofollow(&self.root.join(name))
            .map_err(|e| Finding::at(Code::IoRead, name, e.to_string()))?;
        bagit::sha256_reader(&mut f, 1 << 20)
            .map_err(|e| Finding::at(Code::IoRead, name, e.to_string()))
    }
    fn ordered(&self) -> bool {
        false
    }
}

/// Verify a bundle file or an unzipped bundle directory against `trust`. With `trust` `None`
/// (inspect), signatures are checked against the keys the bundle names and no trust decision
/// is made.
pub fn verify_path(path: &Path, trust: Option<&Trust>, opts: &Options) -> Report {
    verify_collect(path, trust, opts)
}

/// Inspect a bundle: everything `verify` checks except trust.
pub fn inspect(path: &Path, opts: &Options) -> Report {
    verify_path(path, None, opts)
}

fn verify_collect(path: &Path, trust: Option<&Trust>, opts: &Options) -> Report {
    let mut report = Report::new(path, trust.is_some());
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            report.push(Finding::new(
                Code::IoRead,
                format!("{}: {e}", path.display()),
            ));
            return report.finish();
        }
    };
    if meta.is_dir() {
        let mut src = DirSource::scan(path, &opts.limits, &mut report);
        check_bundle(&mut src, trust, opts, &mut report);
        return report.finish();
    }
    // A FIFO, device or socket is refused, never opened for a blocking read.
    let file = match crate::format::input::open(path, crate::format::input::Open::regular("bundle"))
    {
        Ok((f, _)) => f,
        Err(e) => {
            report.push(Finding::new(Code::IoRead, e.to_string()));
            return report.finish();
        }
    };
    verify_zip_file(&file, trust, opts, &mut report);
    report.finish()
}

/// Verify a bundle ZIP held in memory; `label` names it in the report (`path`). Exactly the
/// checks [`verify_path`] makes on a bundle file.
pub fn verify_bytes(label: &str, bytes: &[u8], trust: Option<&Trust>, opts: &Options) -> Report {
    let mut c = std::io::Cursor::new(bytes);
    verify_reader(label, &mut c, bytes.len() as u64, trust, opts)
}

/// Verify a bundle ZIP read from `r`, whose length is `len` bytes; `label` names it in the
/// report. [`verify_path`] and [`verify_bytes`] call this.
pub fn verify_reader(
    label: &str,
    r: &mut dyn ReadSeek,
    len: u64,
    trust: Option<&Trust>,
    opts: &Options,
) -> Report {
    let mut report = Report::labeled(label.to_owned(), trust.is_some());
    verify_zip(r, len, trust, opts, &mut report);
    report.finish()
}

fn verify_zip_file(file: &File, trust: Option<&Trust>, opts: &Options, report: &mut Report) {
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => {
            report.push(Finding::new(Code::IoRead, e.to_string()));
            return;
        }
    };
    let mut r = file;
    verify_zip(&mut r, len, trust, opts, report)
}

/// The largest bundle file the limits allow: every file at its limit, plus its local and central
/// headers at their largest, plus the end records.
pub fn max_bundle_size(limits: &Limits) -> u64 {
    limits.max_total_size.saturating_add(
        limits
            .max_entries
            .saturating_mul(2 * (30 + 46 + 1024 + 48))
            .saturating_add(1024),
    )
}

fn verify_zip(
    r: &mut dyn ReadSeek,
    len: u64,
    trust: Option<&Trust>,
    opts: &Options,
    report: &mut Report,
) {
    let max_bundle = max_bundle_size(&opts.limits);
    if len > max_bundle {
        report.push(Finding::new(
            Code::LimitBundleSize,
            format!("{len} bytes, more than the {max_bundle} allowed by the limits"),
        ));
        return;
    }
    match zip::read_strict(&mut &mut *r, len, &opts.limits) {
        Ok(entries) => {
            let mut src = ZipSource { r, entries };
            check_bundle(&mut src, trust, opts, report);
        }
        Err(findings) => {
            report.findings.extend(findings);
        }
    }
}

enum Kind {
    Payload,
    Tag,
    Sig,
    Cosig,
    Token,
    Unknown,
}

fn classify(name: &str) -> Kind {
    if name.starts_with("data/") {
        Kind::Payload
    } else if TAG_FILES.contains(&name) {
        Kind::Tag
    } else if name == SIGNATURE {
        Kind::Sig
    } else if bagit::cosignature_key_id(name).is_some() {
        Kind::Cosig
    } else if crate::format::tsa::token_name_id(name).is_some() {
        Kind::Token
    } else {
        Kind::Unknown
    }
}

/// The rank of a name in canonical ZIP order: payload, tag files (in their fixed order),
/// signature, co-signatures; then by name within a kind.
fn rank(name: &str) -> (u8, usize, &[u8]) {
    match classify(name) {
        Kind::Payload => (0, 0, name.as_bytes()),
        Kind::Tag => (
            1,
            TAG_FILES.iter().position(|t| *t == name).unwrap_or(0),
            b"",
        ),
        Kind::Sig => (2, 0, b""),
        Kind::Cosig => (3, 0, name.as_bytes()),
        Kind::Token => (4, 0, name.as_bytes()),
        Kind::Unknown => (5, 0, name.as_bytes()),
    }
}

/// The files of a bundle by name: index into the file list, found by binary search (one
/// allocation, no hashing; names are unique, the ZIP reader and the directory walk make sure).
struct ByName<'a>(Vec<(&'a str, usize)>);

impl<'a> ByName<'a> {
    fn new(files: &'a [(String, u64)]) -> Self {
        let mut v: Vec<(&str, usize)> = files
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.as_str(), i))
            .collect();
        v.sort_unstable();
        ByName(v)
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.0
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|at| self.0[at].1)
    }

    fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn check_bundle(src: &mut dyn Source, trust: Option<&Trust>, opts: &Options, report: &mut Report) {
    let files = src.files();
    // SHA-256 of each file, by index, as established while checking.
    let mut digests: Vec<Option<[u8; 32]>> = vec![None; files.len()];
    check_files(src, &files, &mut digests, trust, opts, report);
    report.files = files
        .into_iter()
        .zip(digests)
        .map(|((path, size), d)| FileInfo {
            path,
            size,
            sha256: d.map(|d| hex(&d)),
        })
        .collect();
}

fn check_files(
    src: &mut dyn Source,
    files: &[(String, u64)],
    digests: &mut [Option<[u8; 32]>],
    trust: Option<&Trust>,
    opts: &Options,
    report: &mut Report,
) {
    let index = ByName::new(files);
    check_layout(src, files, &index, report);
    check_bagit(src, &index, digests, report);
    let ControlFlow::Continue(meta) = check_metadata(src, &index, digests, report) else {
        return;
    };
    let (payload_names, listed_payload) = check_payload(src, files, &index, digests, opts, report);
    check_bag_info(src, files, &index, meta.as_ref(), digests, report);
    if let Some(m) = &meta {
        check_metadata_names(m, &index, &payload_names, &listed_payload, report);
    }
    let tagmanifest = check_tagmanifest(src, &index, digests, opts, report);
    // Timestamp tokens (format v2) over the sealer's signature file: checked before the
    // signatures, since a trusted one is evidence of when the signature existed.
    let token_time = check_timestamps(src, files, &index, digests, trust, opts, report);
    let signed = Signed {
        tagmanifest: tagmanifest.as_deref(),
        meta: meta.as_ref(),
        token_time: token_time.as_ref(),
    };
    let trusted_signers =
        check_signatures(src, files, &index, digests, &signed, trust, opts, report);
    check_trusted_signers(&trusted_signers, trust, opts, report);
    report.metadata = meta;
}

/// Layout: known names only, required files present, canonical order.
fn check_layout(
    src: &dyn Source,
    files: &[(String, u64)],
    index: &ByName<'_>,
    report: &mut Report,
) {
    for (n, _) in files {
        if let Kind::Unknown = classify(n) {
            report.push(Finding::at(
                Code::BundleUnexpectedFile,
                n.clone(),
                "not a file the bundle format allows",
            ));
        }
    }
    for t in TAG_FILES {
        if !index.contains(t) {
            report.push(Finding::at(
                Code::BundleMissingFile,
                t,
                "required file is missing",
            ));
        }
    }
    if !index.contains(SIGNATURE) {
        report.push(Finding::at(
            Code::SigMissing,
            SIGNATURE,
            "the bundle has no signature",
        ));
    }
    if src.ordered() && files.windows(2).any(|w| rank(&w[0].0) > rank(&w[1].0)) {
        report.push(Finding::new(
            Code::ZipOrder,
            "entries are not in the canonical order (payload, tag files, signatures)",
        ));
    }
}

/// bagit.txt: the exact BagIt 1.0 declaration.
fn check_bagit(
    src: &mut dyn Source,
    index: &ByName<'_>,
    digests: &mut [Option<[u8; 32]>],
    report: &mut Report,
) {
    if let Some(i_bagit) = index.get(BAGIT) {
        match src.read(i_bagit, BAGIT, bagit::MAX_BAG_INFO_BYTES) {
            Ok((b, d)) => {
                digests[i_bagit] = Some(d);
                if b != bagit::BAGIT_TXT {
                    report.push(Finding::at(
                        Code::BundleBagit,
                        BAGIT,
                        "not the exact BagIt 1.0 declaration",
                    ));
                }
            }
            Err(f) => report.push(f),
        }
    }
}

/// metadata.json, parsed; `Break` when its version is unknown (nothing more is checked).
fn check_metadata(
    src: &mut dyn Source,
    index: &ByName<'_>,
    digests: &mut [Option<[u8; 32]>],
    report: &mut Report,
) -> ControlFlow<(), Option<Metadata>> {
    let mut meta: Option<Metadata> = None;
    if let Some(i_metadata) = index.get(METADATA) {
        match src.read(
            i_metadata,
            METADATA,
            crate::profile::metadata::MAX_METADATA_BYTES,
        ) {
            Ok((b, d)) => {
                digests[i_metadata] = Some(d);
                let (m, f) = Metadata::parse(&b);
                let unknown_version = f.iter().any(|f| f.code == Code::BundleVersion);
                for f in f {
                    report.push(f);
                }
                if unknown_version {
                    return ControlFlow::Break(());
                }
                meta = m;
            }
            Err(f) => report.push(f),
        }
    }
    if let Some(m) = &meta {
        report.id = Some(m.id.clone());
    }
    ControlFlow::Continue(meta)
}

/// Payload: hash every payload file (also for the file list), then the payload manifest.
/// Returns the payload names and the manifest's list.
fn check_payload<'f>(
    src: &mut dyn Source,
    files: &'f [(String, u64)],
    index: &ByName<'_>,
    digests: &mut [Option<[u8; 32]>],
    opts: &Options,
    report: &mut Report,
) -> (Vec<&'f str>, Vec<(String, [u8; 32])>) {
    for (i, (n, _)) in files.iter().enumerate() {
        if !matches!(classify(n), Kind::Payload) {
            continue;
        }
        match src.digest(i, n) {
            Ok(d) => digests[i] = Some(d),
            Err(f) => report.push(f),
        }
    }
    let payload_names: Vec<&str> = files
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| matches!(classify(n), Kind::Payload))
        .collect();
    let mut listed_payload: Vec<(String, [u8; 32])> = Vec::new();
    if let Some(i_manifest) = index.get(MANIFEST) {
        match src.read(i_manifest, MANIFEST, bagit::MAX_MANIFEST_BYTES) {
            Ok((b, d)) => {
                digests[i_manifest] = Some(d);
                match parse_manifest(MANIFEST, &b, &opts.limits) {
                    Ok(list) => {
                        let bad: Vec<&String> = list
                            .iter()
                            .map(|(p, _)| p)
                            .filter(|p| !p.starts_with("data/"))
                            .collect();
                        for p in bad {
                            report.push(Finding::at(
                                Code::ManifestMalformed,
                                MANIFEST,
                                format!("lists {p}, which is not a payload file"),
                            ));
                        }
                        compare_manifest(MANIFEST, &list, &payload_names, index, digests, report);
                        listed_payload = list;
                    }
                    Err(f) => report.push(f),
                }
            }
            Err(f) => report.push(f),
        }
    }
    (payload_names, listed_payload)
}

/// bag-info.txt must be what the writer derives from the metadata and payload.
fn check_bag_info(
    src: &mut dyn Source,
    files: &[(String, u64)],
    index: &ByName<'_>,
    meta: Option<&Metadata>,
    digests: &mut [Option<[u8; 32]>],
    report: &mut Report,
) {
    let size_of = |n: &str| index.get(n).map(|i| files[i].1);
    if let Some(i_bag_info) = index.get(BAG_INFO) {
        match src.read(i_bag_info, BAG_INFO, bagit::MAX_BAG_INFO_BYTES) {
            Ok((b, d)) => {
                digests[i_bag_info] = Some(d);
                if let Some(m) = meta {
                    // Payload-Oxum of the sealed payload: the files the metadata names. When one
                    // is missing that is reported already, and the oxum cannot be known.
                    let mut named = vec![m.article_file.as_str()];
                    named.extend(m.attachments.iter().map(String::as_str));
                    let sizes: Option<Vec<u64>> = named.iter().map(|n| size_of(n)).collect();
                    if sizes
                        .is_some_and(|s| b != bagit::bag_info(m, s.iter().sum(), s.len() as u64))
                    {
                        report.push(Finding::at(
                            Code::BundleBagit,
                            BAG_INFO,
                            "not what the writer derives from metadata.json and the payload",
                        ));
                    }
                }
            }
            Err(f) => report.push(f),
        }
    }
}

/// Metadata against the payload: the files it names are there, and only those; the id binds
/// the article's listed digest, the URL and the sealing time.
fn check_metadata_names(
    m: &Metadata,
    index: &ByName<'_>,
    payload_names: &[&str],
    listed_payload: &[(String, [u8; 32])],
    report: &mut Report,
) {
    let mut named: Vec<&str> = vec![m.article_file.as_str()];
    named.extend(m.attachments.iter().map(String::as_str));
    for n in &named {
        if !index.contains(n) {
            report.push(Finding::at(
                Code::ManifestMissing,
                *n,
                "named in metadata.json but not in the bundle",
            ));
        }
    }
    for n in payload_names {
        if !named.contains(n) {
            report.push(Finding::at(
                Code::BundleUnexpectedFile,
                *n,
                "payload file not named in metadata.json",
            ));
        }
    }
    // The id binds the article's sealed digest (as listed), the URL and the sealing time.
    if let Some((_, a)) = listed_payload.iter().find(|(p, _)| *p == m.article_file) {
        if crate::profile::metadata::bundle_id(a, &m.url, &m.date_sealed) != m.id {
            report.push(Finding::at(
                Code::MetadataInvalid,
                METADATA,
                "id does not match the article, URL and sealing time",
            ));
        }
    }
}

/// Tag manifest: the signed file; lists exactly the tag files it may list, with their digests.
/// Returns its bytes (what the signatures sign).
fn check_tagmanifest(
    src: &mut dyn Source,
    index: &ByName<'_>,
    digests: &mut [Option<[u8; 32]>],
    opts: &Options,
    report: &mut Report,
) -> Option<Vec<u8>> {
    let mut tagmanifest: Option<Vec<u8>> = None;
    if let Some(i_tagmanifest) = index.get(TAGMANIFEST) {
        match src.read(i_tagmanifest, TAGMANIFEST, MAX_TAGMANIFEST_BYTES) {
            Ok((b, d)) => {
                digests[i_tagmanifest] = Some(d);
                report.content_sha256 = Some(hex(&d));
                match parse_manifest(TAGMANIFEST, &b, &opts.limits) {
                    Ok(list) => {
                        for (p, _) in &list {
                            if !TAGMANIFEST_LISTS.contains(&p.as_str())
                                && index.contains(p.as_str())
                            {
                                report.push(Finding::at(
                                    Code::ManifestMalformed,
                                    TAGMANIFEST,
                                    format!("lists {p}, which is not a tag file it may list"),
                                ));
                            }
                        }
                        let tags: Vec<&str> = TAGMANIFEST_LISTS
                            .iter()
                            .copied()
                            .filter(|t| index.contains(t))
                            .collect();
                        compare_manifest(TAGMANIFEST, &list, &tags, index, digests, report);
                    }
                    Err(f) => report.push(f),
                }
                tagmanifest = Some(b);
            }
            Err(f) => report.push(f),
        }
    }
    tagmanifest
}

/// What the signatures are checked against: the tag manifest, the metadata, and the time a
/// trusted timestamp token establishes for the sealer's signature.
struct Signed<'a> {
    tagmanifest: Option<&'a [u8]>,
    meta: Option<&'a Metadata>,
    token_time: Option<&'a (DateTime<Utc>, String)>,
}

/// Signatures: the sealer's first, then the co-signatures in name order, whatever order the
/// source lists them in (a ZIP and its unzipped directory get the same checks). Returns the
/// distinct trusted signers, by public key.
// Longer than 80 lines: one loop over the signature files, whose checks share the sealer found
// first, the archive evidence read once and the trusted signers counted so far.
#[allow(clippy::too_many_arguments)]
fn check_signatures(
    src: &mut dyn Source,
    files: &[(String, u64)],
    index: &ByName<'_>,
    digests: &mut [Option<[u8; 32]>],
    signed: &Signed<'_>,
    trust: Option<&Trust>,
    opts: &Options,
    report: &mut Report,
) -> HashSet<[u8; 32]> {
    let mut sig_names: Vec<&String> = files
        .iter()
        .map(|(n, _)| n)
        .filter(|n| matches!(classify(n), Kind::Sig | Kind::Cosig))
        .collect();
    sig_names.sort_by_key(|n| rank(n));
    let cosignatures = sig_names
        .iter()
        .filter(|n| matches!(classify(n), Kind::Cosig))
        .count();
    if cosignatures > MAX_COSIGNATURES {
        report.push(Finding::new(
            Code::LimitCosignatures,
            format!(
                "{cosignatures} co-signatures, more than the {MAX_COSIGNATURES} a bundle may hold; none of them was checked"
            ),
        ));
        sig_names.retain(|n| matches!(classify(n), Kind::Sig));
    }
    // Archive evidence for this content: the archived copies' signatures, read once, and only
    // when a signature's key needs an established time (revoked, or a validity window).
    let copies: &[ArchivedCopy] = report
        .content_sha256
        .as_ref()
        .and_then(|c| opts.established.get(c))
        .map_or(&[], |v| v);
    let evidence: std::cell::OnceCell<Vec<Evidence>> = std::cell::OnceCell::new();
    // Distinct trusted signers, by public key (an alias key id is the same signer).
    let mut trusted_signers: HashSet<[u8; 32]> = HashSet::new();
    let mut sealer: Option<(KeyId, Option<[u8; 32]>)> = None;
    for name in sig_names {
        let Some(at) = index.get(name) else { continue };
        let (bytes, sig_digest) = match src.read(at, name, MAX_SIGNATURE_BYTES) {
            Ok(r) => r,
            Err(f) => {
                report.push(f);
                continue;
            }
        };
        digests[at] = Some(sig_digest);
        let sig = match Signature::parse(&bytes) {
            Ok(s) => s,
            Err(e) => {
                report.push(Finding::at(Code::SigMalformed, name.clone(), e.to_string()));
                continue;
            }
        };
        let kid = sig.key_id.to_string();
        // The public key the signature's trusted comment names (checked below against the
        // key that verifies it: a signature that passes names its real key). Only compared
        // here, so its raw bytes: parsing it as a key (decompression, torsion check) cost a
        // fifth of verify's instructions per bundle (docs/BENCHMARKS.md, issue 18).
        let named_key = embedded_signer_bytes(&sig);
        if let Some(fid) = bagit::cosignature_key_id(name) {
            if fid != kid {
                report.push(Finding::at(
                    Code::SigMalformed,
                    name.clone(),
                    format!("file name says key {fid}, the signature says {kid}"),
                ));
                continue;
            }
            let by_sealer = sealer
                .is_some_and(|(id, pk)| id == sig.key_id || (pk.is_some() && pk == named_key));
            if by_sealer {
                report.push(Finding::at(
                    Code::SigMalformed,
                    name.clone(),
                    "a co-signature by the sealer's own key",
                ));
                continue;
            }
        } else {
            sealer = Some((sig.key_id, named_key));
        }
        if !sig.prehashed {
            report.push(Finding::at(
                Code::SigLegacy,
                name.clone(),
                "legacy Ed algorithm; docseal writes only the prehashed ED form",
            ));
            report.signers.push(SignerInfo {
                file: name.clone(),
                key_id: kid,
                name: None,
                fingerprint: None,
                status: SignerStatus::Invalid,
            });
            continue;
        }
        if sig.untrusted_comment != crate::profile::comments::untrusted_comment(sig.key_id) {
            report.push(Finding::at(
                Code::SigComment,
                name.clone(),
                "untrusted comment is not the exact value the writer produces",
            ));
        }
        let Some(tm) = signed.tagmanifest else {
            continue;
        };
        let archived = Archived {
            copies,
            limits: &opts.limits,
            evidence: &evidence,
            signature: sig_digest,
            // A trusted token covers the sealer's signature file only.
            stamped: signed.token_time.filter(|_| name.as_str() == SIGNATURE),
        };
        let (status, key_name, key) =
            check_signature(name, &sig, tm, signed.meta, trust, &archived, report);
        if status == SignerStatus::Trusted {
            if let Some(k) = key {
                trusted_signers.insert(k);
            }
        }
        report.signers.push(SignerInfo {
            file: name.clone(),
            key_id: kid,
            name: key_name,
            fingerprint: key.map(|k| hex(&Sha256::digest(k))),
            status,
        });
    }
    trusted_signers
}

/// With trust: enough distinct trusted signers (`require_signers`) make signatures by keys that
/// are not trusted warnings only; too few is a finding.
fn check_trusted_signers(
    trusted_signers: &HashSet<[u8; 32]>,
    trust: Option<&Trust>,
    opts: &Options,
    report: &mut Report,
) {
    if trust.is_some() {
        let need = opts.require_signers.max(1);
        if trusted_signers.len() >= need {
            // Enough trusted signers: signatures by keys that are not trusted are only noted.
            for f in &mut report.findings {
                if f.code == Code::SigUntrustedKey {
                    f.severity = Severity::Warning;
                }
            }
        } else if need > 1 {
            report.push(Finding::new(
                Code::SigTooFewSigners,
                format!(
                    "{} distinct trusted signer(s), {need} required",
                    trusted_signers.len()
                ),
            ));
        }
    }
}

/// Check the bundle's timestamp tokens (format v2) against the sealer's signature file;
/// returns the earliest time a token from a trusted TSA establishes, and that token's file.
// Longer than 80 lines: one loop over the token files, whose checks share the sealer's
// signature, the roots, the archived copies' tokens read once and the issuances seen so far.
fn check_timestamps(
    src: &mut dyn Source,
    files: &[(String, u64)],
    index: &ByName<'_>,
    digests: &mut [Option<[u8; 32]>],
    trust: Option<&Trust>,
    opts: &Options,
    report: &mut Report,
) -> Option<(DateTime<Utc>, String)> {
    use crate::format::tsa::{MAX_TOKENS, MAX_TOKEN_BYTES};
    let verifying = trust.is_some();
    let names: Vec<(usize, &String)> = files
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| matches!(classify(n), Kind::Token))
        .map(|(i, (n, _))| (i, n))
        .collect();
    if names.is_empty() {
        if verifying && opts.require_timestamp {
            report.push(Finding::new(
                Code::TsaRequired,
                "the bundle holds no timestamp token, and one is required",
            ));
        }
        return None;
    }
    report.format = 2;
    if names.len() > MAX_TOKENS {
        report.push(Finding::new(
            Code::TsaTooMany,
            format!(
                "{} tokens, more than the {MAX_TOKENS} a bundle may hold; none was checked",
                names.len()
            ),
        ));
        return None;
    }
    let signature = index
        .get(SIGNATURE)
        .and_then(|at| src.read(at, SIGNATURE, MAX_SIGNATURE_BYTES).ok())
        .map(|(b, _)| b);
    let mut best: Option<(DateTime<Utc>, String)> = None;
    // The --tsa-trust roots and those the trust files name (only for a bundle with tokens).
    let roots = evidence::roots(&opts.tsa_roots, trust);
    let content = report.content_sha256.clone().unwrap_or_default();
    let copies = opts.established.get(&content).map_or(&[][..], |v| v);
    let mut archived = evidence::ArchivedTokens::new(copies, &opts.limits);
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for (at, name) in names {
        let (bytes, digest) = match files[at].1 {
            n if n > MAX_TOKEN_BYTES as u64 => {
                report.push(Finding::at(
                    Code::TsaTooLarge,
                    name.clone(),
                    format!("{n} bytes, more than the {MAX_TOKEN_BYTES} a token may have"),
                ));
                continue;
            }
            _ => match src.read(at, name, MAX_TOKEN_BYTES as u64) {
                Ok(r) => r,
                Err(f) => {
                    report.push(f);
                    continue;
                }
            },
        };
        digests[at] = Some(digest);
        let Some(sig) = &signature else { continue };
        let roots = if verifying { Some(&roots[..]) } else { None };
        let (mut info, mut findings) = evidence::check(name, &bytes, sig, roots);
        // One issuance (a TSA and its serial number) held twice: the file bytes differ when an
        // unsigned part (the certificate set) is re-encoded, so the name rule alone misses it.
        // (Only tokens valid so far count: a misnamed copy is already a finding.)
        if let (Some(tsa), Some(serial), Some(_)) = (&info.tsa, &info.serial, info.established) {
            match seen.iter().find(|(t, s, _)| t == tsa && s == serial) {
                Some((_, _, first)) => {
                    findings.push(Finding::at(
                        Code::TsaName,
                        name.clone(),
                        format!("the same token as {first} (the same TSA and serial number), held again under another name"),
                    ));
                    info.established = None;
                }
                None => seen.push((tsa.clone(), serial.clone(), name.clone())),
            }
        }
        findings.extend(archived.check(&mut info));
        for f in findings {
            report.push(f);
        }
        if let (true, Some(t)) = (info.trusted == Some(true), info.established) {
            if best.as_ref().is_none_or(|b| t < b.0) {
                best = Some((t, name.clone()));
            }
        }
        report.timestamps.push(info);
    }
    if verifying && opts.require_timestamp && best.is_none() {
        report.push(Finding::new(
            Code::TsaRequired,
            "no token from a trusted TSA covers the signature, and one is required",
        ));
    }
    best
}

/// What an archive log established for one bundle content: an archived copy's signatures.
struct Evidence {
    time: DateTime<Utc>,
    archive_key: [u8; 32],
    signatures: HashSet<[u8; 32]>,
}

/// The archive evidence a signature may use.
struct Archived<'a> {
    /// The archived copies of this content the archive log vouches for.
    copies: &'a [ArchivedCopy],
    limits: &'a Limits,
    /// Their signatures, read when first needed.
    evidence: &'a std::cell::OnceCell<Vec<Evidence>>,
    /// SHA-256 of the signature file.
    signature: [u8; 32],
    /// The earliest time a token from a trusted TSA establishes for this signature file, and
    /// that token's file (tokens cover the sealer's signature only).
    stamped: Option<&'a (DateTime<Utc>, String)>,
}

impl Archived<'_> {
    /// The earliest time an archive checkpoint shows this exact signature, not counting
    /// checkpoints signed by the signature's own key (`signer`): a key never vouches for
    /// itself.
    fn time_for(&self, signer: &[u8; 32]) -> Option<DateTime<Utc>> {
        if self.copies.is_empty() {
            return None;
        }
        let evidence = self.evidence.get_or_init(|| {
            self.copies
                .iter()
                .filter_map(|a| {
                    archived_signatures(&a.copy, &a.file_sha256, self.limits).map(|sigs| Evidence {
                        time: a.time,
                        archive_key: a.archive_key,
                        signatures: sigs,
                    })
                })
                .collect()
        });
        evidence
            .iter()
            .filter(|e| e.archive_key != *signer && e.signatures.contains(&self.signature))
            .map(|e| e.time)
            .min()
    }
}

/// Check one signature; pushes findings; returns the status, the trusted key's name and the
/// Ed25519 public key that verified it (when one did).
///
/// With `trust`, the signature's key is found by its key id, or (for another key id of the
/// same key, an alias) by the public key its trusted comment names; either way the signer is
/// the public key, counted once. A key trusted only as an archive key signs no bundle.
// Longer than 80 lines: the key look-up (id, alias, embedded key), the verification with its
// error kinds, the trusted comment and the trust decision in the order a finding depends on.
fn check_signature(
    name: &str,
    sig: &Signature,
    tagmanifest: &[u8],
    meta: Option<&Metadata>,
    trust: Option<&Trust>,
    archived: &Archived<'_>,
    report: &mut Report,
) -> (SignerStatus, Option<String>, Option<[u8; 32]>) {
    let key_id = sig.key_id;
    let mut found: Option<&TrustedKey> = None;
    let (key, key_name) = match trust {
        Some(t) => {
            let tk = t.find(key_id).or_else(|| {
                embedded_signer(sig)
                    .filter(|k| k.key_id() == key_id)
                    .and_then(|k| t.find_key(&k))
            });
            match tk {
                Some(tk) if tk.signer => {
                    found = Some(tk);
                    (tk.key_under(key_id), tk.name.clone())
                }
                _ => {
                    // Diagnose a key id that lies: does a trusted key verify it anyway?
                    if let Some(f) = made_by_another_trusted_key(name, sig, tagmanifest, t) {
                        report.push(f);
                        return (SignerStatus::Invalid, None, None);
                    }
                    let why = if tk.is_some() {
                        "which is trusted only as an archive key, not to sign bundles"
                    } else {
                        "which is not trusted (its public key was not given as trusted)"
                    };
                    report.push(Finding::at(
                        Code::SigUntrustedKey,
                        name,
                        format!("signed by key {key_id}, {why}"),
                    ));
                    return (SignerStatus::Unknown, None, None);
                }
            }
        }
        None => match embedded_signer(sig) {
            Some(k) if k.key_id() == key_id => (k, None),
            _ => {
                report.push(Finding::at(
                    Code::SigComment,
                    name,
                    "the trusted comment does not name the signing key",
                ));
                return (SignerStatus::Unknown, None, None);
            }
        },
    };
    match sig.verify(&key, tagmanifest) {
        Ok(()) => {}
        Err(VerifyError::NotStrict) => {
            report.push(Finding::at(
                Code::SigNotStrict,
                name,
                "verifies only under non-strict Ed25519 rules",
            ));
            return (SignerStatus::Invalid, key_name, None);
        }
        Err(VerifyError::Legacy) => {
            report.push(Finding::at(Code::SigLegacy, name, "legacy Ed algorithm"));
            return (SignerStatus::Invalid, key_name, None);
        }
        Err(e) => {
            // An S that is not reduced modulo the group order: strict Ed25519 refuses it, lax
            // verifiers reduce it first. Say so when the reduced signature would verify.
            if let Some(reduced) = with_reduced_s(sig) {
                if reduced.verify(&key, tagmanifest).is_ok() {
                    report.push(Finding::at(
                        Code::SigNotStrict,
                        name,
                        "verifies only when its non-canonical S (not reduced modulo the group order) is reduced, as non-strict verifiers do",
                    ));
                    return (SignerStatus::Invalid, key_name, None);
                }
            }
            // Made by another trusted key than the one its id names?
            if let Some(f) =
                trust.and_then(|t| made_by_another_trusted_key(name, sig, tagmanifest, t))
            {
                report.push(f);
                return (SignerStatus::Invalid, key_name, None);
            }
            report.push(Finding::at(
                Code::SigInvalid,
                name,
                format!("{e} with key {key_id}: the tag manifest or the signature was changed"),
            ));
            return (SignerStatus::Invalid, key_name, None);
        }
    }
    let pk = key.verifying_key().to_bytes();
    if let Some(m) = meta {
        if sig.trusted_comment != crate::profile::comments::trusted_comment(m, &key) {
            report.push(Finding::at(Code::SigComment, name, "trusted comment is not the exact value the writer produces for this bundle and key"));
            return (SignerStatus::Invalid, key_name, Some(pk));
        }
    }
    if let Some(tk) = found {
        let asserted = meta.and_then(|m| crate::profile::trust::parse_time(&m.date_sealed).ok());
        // An established time matters only for a revoked key or a validity window.
        let needs_time =
            tk.revoked.is_some() || tk.valid_from.is_some() || tk.valid_until.is_some();
        let archive_time = needs_time.then(|| archived.time_for(&pk)).flatten();
        let stamped = archived.stamped.filter(|_| needs_time);
        let established = evidence::earliest(archive_time, stamped.map(|t| t.0));
        if let Some(f) = tk.check(name, asserted, established) {
            report.push(f);
            return (SignerStatus::Refused, key_name, Some(pk));
        }
        // Which evidence made a revoked key's signature pass, for the report.
        let note = evidence::note(&report.timestamps, name, Some(tk), archive_time, stamped);
        report.evidence.extend(note);
        (SignerStatus::Trusted, key_name, Some(pk))
    } else {
        (SignerStatus::ValidUntrusted, None, Some(pk))
    }
}

/// A signature whose key id names one key but that another trusted key made: the finding.
///
/// The other key is looked up by the public key the signature's trusted comment names (a
/// signature made by a key names it there, and the global signature covers the comment): one
/// look-up and at most one verification, whatever the number of trusted keys.
fn made_by_another_trusted_key(
    name: &str,
    sig: &Signature,
    tagmanifest: &[u8],
    trust: &Trust,
) -> Option<Finding> {
    let named = sig.key_id;
    let tk = trust.find_key(&embedded_signer(sig)?)?;
    let real = tk.key.key_id();
    if real == named || tk.aliases.contains(&named) {
        return None;
    }
    let mut other = sig.clone();
    other.key_id = real;
    other.verify(&tk.key, tagmanifest).is_ok().then(|| {
        Finding::at(
            Code::SigKeyIdMismatch,
            name,
            format!("names key {named} but was made by trusted key {real}"),
        )
    })
}

/// The raw 32 key bytes the trusted comment names (`signer=<base64>` of `Ed`, the 8-byte key
/// id and the key), without checking that they are a valid key: for comparisons only.
fn embedded_signer_bytes(sig: &Signature) -> Option<[u8; 32]> {
    use base64::Engine as _;
    let b64 = sig
        .trusted_comment
        .split(' ')
        .find_map(|w| w.strip_prefix("signer="))?;
    if b64.len() != 56 {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    if raw.len() != 42 || &raw[..2] != b"Ed" {
        return None;
    }
    raw[10..].try_into().ok()
}

/// The signer's public key as named in a docseal trusted comment (`signer=<base64>`).
fn embedded_signer(sig: &Signature) -> Option<PublicKey> {
    let b64 = sig
        .trusted_comment
        .split(' ')
        .find_map(|w| w.strip_prefix("signer="))?;
    PublicKey::from_base64(b64).ok()
}

/// Parse a manifest after checking its shape against the limits, before anything is allocated
/// for its lines: at most `max_entries` lines (no bundle holds more files), none longer than a
/// digest and the longest path.
fn parse_manifest(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
) -> std::result::Result<Vec<(String, [u8; 32])>, Finding> {
    let mut lines = 0u64;
    let mut start = 0usize;
    for (at, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'\n') {
        lines += 1;
        if at - start > MAX_MANIFEST_LINE {
            return Err(Finding::at(
                Code::ManifestMalformed,
                name,
                format!("line {lines} is {} bytes long, longer than any digest and path allowed ({MAX_MANIFEST_LINE})", at - start),
            ));
        }
        start = at + 1;
    }
    if lines > limits.max_entries {
        return Err(Finding::at(
            Code::LimitEntries,
            name,
            format!(
                "lists {lines} files, more than the limit of {} entries",
                limits.max_entries
            ),
        ));
    }
    bagit::parse_manifest(bytes).map_err(|why| Finding::at(Code::ManifestMalformed, name, why))
}

/// The key under which two paths collide ([`crate::format::path::collision_key`]), as its SHA-256, so
/// that keys of long names take 32 bytes each.
fn collision_digest(p: &str) -> [u8; 32] {
    Sha256::digest(crate::format::path::collision_key(p).as_bytes()).into()
}

/// Compare a manifest's entries with the files present (`names`), using the `digests`
/// established so far (by index in the bundle's file list, `index`). Linear in the sizes of the
/// manifest and of `names`.
fn compare_manifest(
    manifest: &str,
    list: &[(String, [u8; 32])],
    names: &[&str],
    index: &ByName<'_>,
    digests: &[Option<[u8; 32]>],
    report: &mut Report,
) {
    // Sorted name lists searched by bisection: cheaper than hash sets for the handful of names
    // a bundle usually has, and O(n log n) for many.
    let mut listed: Vec<&str> = list.iter().map(|(p, _)| p.as_str()).collect();
    listed.sort_unstable();
    let mut named: Vec<&str> = names.to_vec();
    named.sort_unstable();
    let has = |v: &[&str], n: &str| v.binary_search(&n).is_ok();
    // Collision keys are computed only when a name is listed but absent, or present but not
    // listed (normalization and case folding cost more than the rest of this comparison).
    let mut keys: Option<HashMap<[u8; 32], &str>> = None;
    let mut listed_keys: Option<HashSet<[u8; 32]>> = None;
    for (p, want) in list {
        if has(&named, p) {
            if let Some(got) = index.get(p).and_then(|i| digests[i]) {
                if got != *want {
                    report.push(Finding::at(
                        Code::ManifestDigest,
                        p.clone(),
                        format!("SHA-256 differs from {manifest}"),
                    ));
                }
            }
        } else if let Some(real) = keys
            .get_or_insert_with(|| names.iter().map(|n| (collision_digest(n), *n)).collect())
            .get(&collision_digest(p))
        {
            report.push(Finding::at(
                Code::ManifestEquivalentPath,
                p.clone(),
                format!("{manifest} lists {p:?}; the bundle has {real:?}"),
            ));
        } else if manifest == MANIFEST && !p.starts_with("data/") {
            // Reported as malformed by the caller.
        } else {
            report.push(Finding::at(
                Code::ManifestMissing,
                p.clone(),
                format!("listed in {manifest} but not in the bundle"),
            ));
        }
    }
    for n in names {
        if !has(&listed, n)
            && !listed_keys
                .get_or_insert_with(|| list.iter().map(|(p, _)| collision_digest(p)).collect())
                .contains(&collision_digest(n))
        {
            report.push(Finding::at(
                Code::ManifestUnlisted,
                *n,
                format!("present but not listed in {manifest}"),
            ));
        }
    }
}

/// Verify a bundle file, then write all its files under `out_dir` (which must not exist or be
/// empty, unless `force`). Nothing is written unless verification passes; the files are
/// written to a stage directory beside `out_dir` and put in place ([`crate::format::dirwrite`]: never
/// through a symbolic link inside `out_dir`; an existing directory is filled, not replaced),
/// and every byte written is hashed again and compared with what was verified.
#[cfg(not(target_arch = "wasm32"))]
pub fn extract(
    bundle: &Path,
    trust: &Trust,
    opts: &Options,
    out_dir: &Path,
    force: bool,
) -> Result<Report> {
    let (file, _) =
        crate::format::input::open(bundle, crate::format::input::Open::regular("bundle"))?;
    let mut report = Report::new(bundle, true);
    verify_zip_file(&file, Some(trust), opts, &mut report);
    let report = report.finish();
    if !report.ok {
        let summary: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Refused {
            path: bundle.to_path_buf(),
            summary: summary.join(", "),
        });
    }
    // The target is checked (missing, empty, or any directory with --force) and the stage
    // made before anything is read again.
    let mut stage = crate::format::dirwrite::Stage::new(out_dir, force)?;
    let mut r = &file;
    let len = file.metadata().map_err(|e| Error::io(bundle, e))?.len();
    let changed = |what: &str| Error::Refused {
        path: bundle.to_path_buf(),
        summary: format!("{what} changed while being extracted"),
    };
    let entries = zip::read_strict(&mut r, len, &opts.limits).map_err(|_| changed("it"))?;
    if entries.len() != report.files.len() {
        return Err(changed("it"));
    }
    for (e, verified) in entries.iter().zip(&report.files) {
        if e.name != verified.path {
            return Err(changed("it"));
        }
        let mut out = stage.create(&e.name)?;
        let target = out_dir.join(&e.name);
        let d = zip::hash_entry(&mut r, e, Some(&mut out)).map_err(|err| Error::io(bundle, err))?;
        if d.crc32 != e.crc32 || verified.sha256.as_deref() != Some(hex(&d.sha256).as_str()) {
            return Err(changed(&e.name));
        }
        out.sync_all().map_err(|err| Error::io(&target, err))?;
    }
    stage.commit()?;
    Ok(report)
}

/// The bundles under `path`: a file is one bundle; a directory with `bagit.txt` at its root is
/// one unzipped bundle; any other directory is searched recursively (without following
/// symlinks) for `*.zip` files and unzipped bundles, in sorted order.
pub fn find_bundles(path: &Path) -> Result<Vec<PathBuf>> {
    // One walker ([`discover`]): its first unreadable path is this search's error; symlinks
    // and special files met on the way are passed over, as they are not followed or opened.
    let found = discover(path);
    let unreadable = found
        .problems
        .iter()
        .find(|r| r.findings.iter().any(|f| f.code == Code::IoRead));
    if let Some(r) = unreadable {
        let message = r.findings.first().map_or("", |f| f.message.as_str());
        let message = message
            .strip_prefix(&format!("{}: ", r.path))
            .unwrap_or(message);
        return Err(Error::io(
            &r.path,
            std::io::Error::other(message.to_string()),
        ));
    }
    Ok(found.bundles)
}

/// What a search for bundles found ([`discover`]).
#[derive(Debug, Default)]
pub struct Found {
    /// The bundles, in order.
    pub bundles: Vec<PathBuf>,
    /// Paths that could not be searched or were not followed, each as a failed report with one
    /// `io.*` finding (the path given missing or unreadable, an unreadable subdirectory, a
    /// symlink met while searching a directory, a `*.zip` that is not a regular file).
    pub problems: Vec<Report>,
}

/// The bundles under `path`, as [`find_bundles`] finds them, except that a problem does not
/// stop the search: a path that cannot be read (the one given, or a subdirectory) and a
/// symlink met while searching (never followed: `*.zip` symlinks and symlinks to directories)
/// and a `*.zip` that is a FIFO, device or socket (never opened) are each reported as a failed
/// report, and the search goes on.
pub fn discover(path: &Path) -> Found {
    let mut found = Found::default();
    let problem = |p: &Path, code: Code, message: String| {
        let mut r = Report::new(p, true);
        r.push(Finding::new(code, message));
        r.finish()
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            let m = format!("{}: {e}", path.display());
            found.problems.push(problem(path, Code::IoRead, m));
            return found;
        }
    };
    if !meta.is_dir() || path.join(BAGIT).is_file() {
        found.bundles.push(path.to_path_buf());
        return found;
    }
    let mut stack: Vec<std::vec::IntoIter<(PathBuf, std::fs::FileType)>> = Vec::new();
    match sorted_entries(path) {
        Ok(e) => stack.push(e.into_iter()),
        Err(e) => found
            .problems
            .push(problem(path, Code::IoRead, e.to_string())),
    }
    while let Some(level) = stack.last_mut() {
        let Some((c, t)) = level.next() else {
            stack.pop();
            continue;
        };
        if t.is_dir() {
            if c.join(BAGIT).is_file() {
                found.bundles.push(c);
            } else {
                match sorted_entries(&c) {
                    Ok(e) => stack.push(e.into_iter()),
                    Err(e) => found
                        .problems
                        .push(problem(&c, Code::IoRead, e.to_string())),
                }
            }
        } else if t.is_file() && c.extension().is_some_and(|x| x == "zip") {
            found.bundles.push(c);
        } else if t.is_symlink() && (c.extension().is_some_and(|x| x == "zip") || c.is_dir()) {
            let m = format!(
                "{}: a symlink; not followed when searching a directory, so not verified (verify its target directly)",
                c.display()
            );
            found.problems.push(problem(&c, Code::IoSymlink, m));
        } else if c.extension().is_some_and(|x| x == "zip") && !t.is_file() && !t.is_dir() {
            // A FIFO, device or socket named like a bundle: never opened (it could block).
            let m = format!(
                "{}: not a regular file (a FIFO, device or socket); not verified",
                c.display()
            );
            found.problems.push(problem(&c, Code::IoRead, m));
        }
    }
    found
}

/// A directory's entries with their types, sorted by name. The type comes from the directory
/// itself where the file system records it (no stat per file); a symlink is a symlink, never
/// followed.
fn sorted_entries(dir: &Path) -> Result<Vec<(PathBuf, std::fs::FileType)>> {
    let mut entries: Vec<(std::ffi::OsString, std::fs::FileType)> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| {
            e.ok()
                .and_then(|e| Some((e.file_name(), e.file_type().ok()?)))
        })
        .collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(entries
        .into_iter()
        .map(|(name, t)| (dir.join(name), t))
        .collect())
}

/// A bundle known by its identity and content digest without being verified in this run: an
/// archive log entry ([`crate::ops::archive`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownBundle {
    /// The bundle identity.
    pub id: String,
    /// Its content digest, hex.
    pub content_sha256: String,
    /// The content digest of the bundle it supersedes, if any.
    pub supersedes: Option<String>,
    /// Where it is, for messages.
    pub label: String,
    /// The bundle file, when there is one to verify: a link from this bundle counts only when
    /// it verifies under the same trust (see [`check_supersedes`]).
    pub file: Option<PathBuf>,
}

/// Check `supersedes` links among bundles verified together (`reports`, verified with
/// `trust`) and `known` ones (an archive's log), by one rule, which `docseal history` applies
/// too ([`crate::ops::history::history`]): only a bundle that passes verification counts, as a
/// correction or as the version a link is compared with. A correction by a key that is not
/// trusted never marks a bundle superseded, whether it is given to `verify` or held in the
/// archive (an archived bundle is verified with `trust` and `opts` before its link is used).
///
/// A known bundle's link is the one its own signed metadata makes, never its log line's: a
/// line whose `supersedes` field differs from the archived bundle's marks nothing superseded.
///
/// A bundle naming a superseded bundle that is present (and passes) with the same id but
/// another content digest gets `prov.supersedes_mismatch` (an error); a bundle that a newer,
/// passing bundle supersedes gets `prov.superseded` (a warning, naming the newer version).
/// Links to bundles that are not present cannot be checked and are left alone.
// Longer than 80 lines: one pass over the bundles' links by the rule above, whose steps share
// the index of passing versions by id and the links already judged.
pub fn check_supersedes(
    reports: &mut [Report],
    known: &[KnownBundle],
    trust: &Trust,
    opts: &Options,
) {
    // Whether a known bundle passes (with the content and id its log entry records), verified
    // at most once, and only when a link needs it; if it does, the link its signed metadata
    // makes (the content digest it supersedes, if any). A log line's own `supersedes` field
    // only says where to look: the link used is always the verified bundle's own.
    let mut verified: HashMap<usize, Option<Option<String>>> = HashMap::new();
    let mut known_verified = |i: usize| -> Option<Option<String>> {
        verified
            .entry(i)
            .or_insert_with(|| {
                let k = &known[i];
                let r = verify_path(k.file.as_ref()?, Some(trust), opts);
                let same = r.ok
                    && r.content_sha256.as_deref() == Some(k.content_sha256.as_str())
                    && r.id.as_deref() == Some(k.id.as_str());
                same.then(|| r.metadata.and_then(|m| m.supersedes).map(|s| s.sha256))
            })
            .clone()
    };
    // id -> (content digest, where), over the reports that pass and the known bundles.
    let mut by_id: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for r in reports.iter().filter(|r| r.ok) {
        if let (Some(id), Some(c)) = (&r.id, &r.content_sha256) {
            by_id.entry(id).or_default().push((c, &r.path));
        }
    }
    let mut known_by_id: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, k) in known.iter().enumerate() {
        known_by_id.entry(&k.id).or_default().push(i);
    }
    let mut mismatches: Vec<(usize, Finding)> = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let Some(s) = r.metadata.as_ref().and_then(|m| m.supersedes.as_ref()) else {
            continue;
        };
        let own = r.content_sha256.as_deref();
        let mut present: Vec<(&str, &str)> = by_id
            .get(s.id.as_str())
            .map(|v| v.iter().filter(|(c, _)| Some(*c) != own).copied().collect())
            .unwrap_or_default();
        for &j in known_by_id.get(s.id.as_str()).map_or(&[][..], |v| v) {
            let k = &known[j];
            if Some(k.content_sha256.as_str()) != own
                && !present.iter().any(|(c, _)| *c == k.content_sha256)
                && known_verified(j).is_some()
            {
                present.push((&k.content_sha256, &k.label));
            }
        }
        if present.is_empty() || present.iter().any(|(c, _)| *c == s.sha256) {
            continue;
        }
        let (c, at) = present[0];
        mismatches.push((
            i,
            Finding::at(
                Code::ProvSupersedesMismatch,
                METADATA,
                format!(
                    "supersedes {} with content sha256 {}, but {at} holds {} with content sha256 {c}",
                    s.id, s.sha256, s.id
                ),
            ),
        ));
    }
    for (i, f) in mismatches {
        reports[i].findings.push(f);
        reports[i].ok = false;
    }
    // Newer versions: content digest superseded -> (newer id, where).
    let mut newer: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for r in reports.iter().filter(|r| r.ok) {
        if let (Some(s), Some(id)) = (
            r.metadata.as_ref().and_then(|m| m.supersedes.as_ref()),
            &r.id,
        ) {
            newer
                .entry(s.sha256.clone())
                .or_default()
                .push((id.clone(), r.path.clone()));
        }
    }
    let wanted: HashSet<&str> = reports
        .iter()
        .filter_map(|r| r.content_sha256.as_deref())
        .collect();
    for (i, k) in known.iter().enumerate() {
        if let Some(s) = &k.supersedes {
            if wanted.contains(s.as_str()) && known_verified(i) == Some(Some(s.clone())) {
                newer
                    .entry(s.clone())
                    .or_default()
                    .push((k.id.clone(), k.label.clone()));
            }
        }
    }
    for r in reports.iter_mut() {
        let Some(c) = &r.content_sha256 else { continue };
        let Some(list) = newer.get(c) else { continue };
        let mut seen: Vec<&str> = Vec::new();
        for (id, at) in list {
            if seen.contains(&id.as_str()) {
                continue;
            }
            seen.push(id);
            r.findings.push(
                Finding::new(
                    Code::ProvSuperseded,
                    format!("superseded by a newer version: {id} ({at})"),
                )
                .warning(),
            );
        }
    }
}

#[cfg(test)]
mod find_tests {
    use super::*;

    /// `find_bundles` lists exactly the `*.zip` files and unzipped bundles, in the order of
    /// sorting their paths, without following symlinks.
    #[test]
    fn finds_in_sorted_path_order() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        for d in ["a", "a/c", "a-b", "b", "bag", "bag/data", "z/y/x"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "a.zip",
            "a/b.zip",
            "a/c/d.zip",
            "a-b/e.zip",
            "a0.zip",
            "B.zip",
            "b/f.zip",
            "bag/bagit.txt",
            "bag/inner.zip",
            "z/y/x/deep.zip",
            "note.txt",
            "a/zip",
        ] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("a"), root.join("link")).unwrap();
            std::os::unix::fs::symlink(root.join("a.zip"), root.join("link.zip")).unwrap();
        }
        let found = find_bundles(root).unwrap();
        let mut want: Vec<PathBuf> = [
            "a.zip",
            "a/b.zip",
            "a/c/d.zip",
            "a-b/e.zip",
            "a0.zip",
            "B.zip",
            "b/f.zip",
            "bag",
            "z/y/x/deep.zip",
        ]
        .iter()
        .map(|p| root.join(p))
        .collect();
        want.sort();
        assert_eq!(found, want);
        // A directory that is an unzipped bundle is itself the one bundle.
        assert_eq!(
            find_bundles(&root.join("bag")).unwrap(),
            vec![root.join("bag")]
        );
    }
}

#[cfg(test)]
mod signer_bytes_tests {
    use super::*;
    use crate::format::minisign::SecretKey;

    /// Issue 18: the raw bytes the trusted comment names are the parsed key's bytes for every
    /// key docseal writes, and nothing for a comment that names no key or a malformed one.
    #[test]
    fn issue18_embedded_signer_bytes_equal_the_parsed_key() {
        for i in 0..32u8 {
            let sk = SecretKey::from_seed(&[i; 32], crate::format::minisign::KeyId([i; 8]));
            let pk = sk.public_key();
            let tc = format!("docseal v1 bundle=x signer={} url=u", pk.to_base64());
            let sig = sk.sign(b"m", "u", &tc);
            assert_eq!(
                embedded_signer_bytes(&sig),
                embedded_signer(&sig).map(|k| k.verifying_key().to_bytes())
            );
            assert!(embedded_signer_bytes(&sig).is_some());
        }
        let sk = SecretKey::from_seed(&[7; 32], crate::format::minisign::KeyId([7; 8]));
        for tc in ["docseal v1 bundle=x url=u", "signer=RWQ", "signer=!!!!"] {
            assert_eq!(embedded_signer_bytes(&sk.sign(b"m", "u", tc)), None, "{tc}");
        }
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../archive/sample.zip");
        std::fs::read(p).unwrap()
    }

    /// Issue 18, proposal 2: `Source::read` returns the SHA-256 of exactly the bytes it
    /// returns (so `check_files` no longer hashes tag and signature files a second time), for a
    /// ZIP and for the same bundle unzipped, and it equals what `Source::digest` streams.
    #[test]
    fn issue18_proposal2_read_returns_the_sha256_of_its_bytes() {
        let bytes = sample();
        let mut cur = std::io::Cursor::new(&bytes[..]);
        let entries = zip::read_strict(&mut cur, bytes.len() as u64, &Limits::default()).unwrap();
        let mut zsrc = ZipSource {
            r: &mut cur,
            entries,
        };
        let files = zsrc.files();
        let dir = tempfile::tempdir().unwrap();
        let mut read = 0;
        for (i, (name, size)) in files.iter().enumerate() {
            let (b, d) = zsrc.read(i, name, *size).unwrap();
            assert_eq!(b.len() as u64, *size, "{name}");
            assert_eq!(d, <[u8; 32]>::from(Sha256::digest(&b)), "{name}");
            assert_eq!(d, zsrc.digest(i, name).unwrap(), "{name}");
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, &b).unwrap();
            read += 1;
        }
        assert!(read >= 7, "the sample has payload, tag and signature files");
        let mut report = Report::labeled("dir".into(), false);
        let mut dsrc = DirSource::scan(dir.path(), &Limits::default(), &mut report);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        let dfiles = dsrc.files();
        let mut zfiles = files.clone();
        zfiles.sort();
        assert_eq!(dfiles, zfiles);
        for (i, (name, size)) in dfiles.iter().enumerate() {
            let (b, d) = dsrc.read(i, name, *size).unwrap();
            assert_eq!(b.len() as u64, *size, "{name}");
            assert_eq!(d, <[u8; 32]>::from(Sha256::digest(&b)), "{name}");
            assert_eq!(d, dsrc.digest(i, name).unwrap(), "{name}");
        }
    }

    /// Issue 13: `DirSource::read` goes through the library's one bounded read: a file of
    /// exactly `max` bytes is read, one byte more is refused as too large, never read whole.
    #[test]
    fn issue13_dir_source_read_is_bounded_at_max() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bagit.txt"), vec![b'x'; 100]).unwrap();
        let mut report = Report::labeled("dir".into(), false);
        let mut src = DirSource::scan(dir.path(), &Limits::default(), &mut report);
        let (b, _) = src.read(0, "bagit.txt", 100).unwrap();
        assert_eq!(b.len(), 100);
        let f = src.read(0, "bagit.txt", 99).unwrap_err();
        assert_eq!(f.code, Code::LimitTagFile);
        assert!(
            f.message.contains("more than the 99 bytes"),
            "{}",
            f.message
        );
    }
}
