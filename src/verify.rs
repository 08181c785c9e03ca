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

use crate::bagit::{
    self, BAGIT, BAG_INFO, MANIFEST, METADATA, SIGNATURE, TAGMANIFEST, TAGMANIFEST_LISTS, TAG_FILES,
};
use crate::error::{Error, Result};
use crate::finding::{Code, Finding, Severity};
use crate::metadata::{hex, Metadata};
use crate::minisign::{KeyId, PublicKey, Signature, VerifyError};
use crate::zipfmt::{self, Entry, Limits};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// Largest signature file the verifier reads.
pub const MAX_SIGNATURE_BYTES: u64 = 4096;

/// Largest tag manifest the verifier reads. It lists exactly four files, in 344 bytes.
pub const MAX_TAGMANIFEST_BYTES: u64 = 64 << 10;

/// Longest manifest line: a digest, two spaces, a path of at most
/// [`crate::path::MAX_PATH_BYTES`].
const MAX_MANIFEST_LINE: usize = 64 + 2 + crate::path::MAX_PATH_BYTES;

/// Anything a bundle ZIP can be read from: a [`File`], or bytes in memory
/// (`std::io::Cursor`). See [`verify_reader`].
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek + ?Sized> ReadSeek for T {}

pub use crate::trust::{Trust, TrustedKey};

/// Verification options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Resource limits.
    pub limits: Limits,
    /// Distinct trusted signers required (at least 1).
    pub require_signers: usize,
    /// Independently established times: content digest (hex) -> the time of the first archive
    /// checkpoint that included the bundle. Used for keys revoked after that time.
    pub established: HashMap<String, DateTime<Utc>>,
    /// Roots of trusted Time-Stamping Authorities (`--tsa-trust`): a token counts as evidence
    /// only when its TSA chains to one of them ([`crate::tsa`]).
    pub tsa_roots: Vec<x509_cert::Certificate>,
    /// Refuse a bundle without a token from a trusted TSA (`--require-timestamp`).
    pub require_timestamp: bool,
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
    /// The outcome.
    pub status: SignerStatus,
}

/// The result of verifying (or inspecting) one bundle.
#[derive(Clone, Debug, Serialize)]
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
    pub timestamps: Vec<crate::tsa::evidence::TimestampInfo>,
    /// For a revoked key whose signature still passed: which evidence (a timestamp token or
    /// the archive log) showed it existed before the revocation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Every problem found; at most [`zipfmt::MAX_FINDINGS_PER_CODE`] of one code, then one
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
        if *n <= zipfmt::MAX_FINDINGS_PER_CODE {
            self.findings.push(f);
        }
    }
    fn finish(mut self) -> Report {
        let counts = std::mem::take(&mut self.counts);
        for (code, n) in counts {
            if n > zipfmt::MAX_FINDINGS_PER_CODE {
                let severity = self
                    .findings
                    .iter()
                    .rev()
                    .find(|f| f.code == code)
                    .map_or(Severity::Error, |f| f.severity);
                let mut f = zipfmt::findings_not_listed(code, n - zipfmt::MAX_FINDINGS_PER_CODE);
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
    /// Read file `i`, `name`, of at most `max` bytes (checking the ZIP CRC).
    fn read(&mut self, i: usize, name: &str, max: u64) -> std::result::Result<Vec<u8>, Finding>;
    /// Stream file `i`, `name`, through SHA-256 (checking the ZIP CRC).
    fn digest(&mut self, i: usize, name: &str) -> std::result::Result<[u8; 32], Finding>;
    /// Whether entry order is significant (ZIP) or not (directory).
    fn ordered(&self) -> bool;
}

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
        let d = zipfmt::hash_entry(&mut self.r, e, out)
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
    fn read(&mut self, i: usize, name: &str, max: u64) -> std::result::Result<Vec<u8>, Finding> {
        let size = self.entries.get(i).map(|e| e.size).unwrap_or(0);
        if size > max {
            return Err(Finding::at(
                Code::LimitTagFile,
                name,
                format!("{size} bytes, more than the {max} allowed"),
            ));
        }
        let mut buf = Vec::with_capacity(size as usize);
        self.stream(i, name, Some(&mut buf))?;
        Ok(buf)
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

fn open_nofollow(p: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW);
    }
    o.open(p)
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
                    if let Err((code, why)) = crate::path::check(&name) {
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
        let mut seen: HashMap<String, String> = HashMap::new();
        for (n, _) in &files {
            if let Some(other) = seen.insert(crate::path::collision_key(n), n.clone()) {
                report.push(Finding::at(
                    Code::ZipNameCollision,
                    n.clone(),
                    format!("collides with {other} after case folding or normalization"),
                ));
            }
        }
        DirSource {
            root: root.to_path_buf(),
            files,
        }
    }
}

impl Source for DirSource {
    fn files(&mut self) -> Vec<(String, u64)> {
        std::mem::take(&mut self.files)
    }
    fn read(&mut self, _: usize, name: &str, max: u64) -> std::result::Result<Vec<u8>, Finding> {
        let f = open_nofollow(&self.root.join(name))
            .map_err(|e| Finding::at(Code::IoRead, name, e.to_string()))?;
        let mut buf = Vec::new();
        f.take(max + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Finding::at(Code::IoRead, name, e.to_string()))?;
        if buf.len() as u64 > max {
            return Err(Finding::at(
                Code::LimitTagFile,
                name,
                format!("more than the {max} bytes allowed"),
            ));
        }
        Ok(buf)
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
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.push(Finding::new(
                Code::IoRead,
                format!("{}: {e}", path.display()),
            ));
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
    match zipfmt::read_strict(&mut &mut *r, len, &opts.limits) {
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
    } else if crate::tsa::token_name_id(name).is_some() {
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
    let size_of = |n: &str| index.get(n).map(|i| files[i].1);

    // Layout: known names only, required files present, canonical order.
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

    // bagit.txt
    if let Some(i_bagit) = index.get(BAGIT) {
        match src.read(i_bagit, BAGIT, bagit::MAX_BAG_INFO_BYTES) {
            Ok(b) => {
                digests[i_bagit] = Some(Sha256::digest(&b).into());
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

    // metadata.json
    let mut meta: Option<Metadata> = None;
    if let Some(i_metadata) = index.get(METADATA) {
        match src.read(i_metadata, METADATA, crate::metadata::MAX_METADATA_BYTES) {
            Ok(b) => {
                digests[i_metadata] = Some(Sha256::digest(&b).into());
                let (m, f) = Metadata::parse(&b);
                let unknown_version = f.iter().any(|f| f.code == Code::BundleVersion);
                for f in f {
                    report.push(f);
                }
                if unknown_version {
                    return;
                }
                meta = m;
            }
            Err(f) => report.push(f),
        }
    }
    if let Some(m) = &meta {
        report.id = Some(m.id.clone());
    }

    // Payload: hash every payload file (also for the file list), then the payload manifest.
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
            Ok(b) => {
                digests[i_manifest] = Some(Sha256::digest(&b).into());
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
                        compare_manifest(MANIFEST, &list, &payload_names, &index, digests, report);
                        listed_payload = list;
                    }
                    Err(f) => report.push(f),
                }
            }
            Err(f) => report.push(f),
        }
    }

    // bag-info.txt must be what the writer derives from the metadata and payload.
    if let Some(i_bag_info) = index.get(BAG_INFO) {
        match src.read(i_bag_info, BAG_INFO, bagit::MAX_BAG_INFO_BYTES) {
            Ok(b) => {
                digests[i_bag_info] = Some(Sha256::digest(&b).into());
                if let Some(m) = &meta {
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

    // Metadata against the payload.
    if let Some(m) = &meta {
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
        for n in &payload_names {
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
            if crate::metadata::bundle_id(a, &m.url, &m.date_sealed) != m.id {
                report.push(Finding::at(
                    Code::MetadataInvalid,
                    METADATA,
                    "id does not match the article, URL and sealing time",
                ));
            }
        }
    }

    // Tag manifest: the signed file.
    let mut tagmanifest: Option<Vec<u8>> = None;
    if let Some(i_tagmanifest) = index.get(TAGMANIFEST) {
        match src.read(i_tagmanifest, TAGMANIFEST, MAX_TAGMANIFEST_BYTES) {
            Ok(b) => {
                let d: [u8; 32] = Sha256::digest(&b).into();
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
                        compare_manifest(TAGMANIFEST, &list, &tags, &index, digests, report);
                    }
                    Err(f) => report.push(f),
                }
                tagmanifest = Some(b);
            }
            Err(f) => report.push(f),
        }
    }

    // Timestamp tokens (format v2) over the sealer's signature file: checked before the
    // signatures, since a trusted one is evidence of when the signature existed.
    let token_time = check_timestamps(src, files, &index, digests, trust.is_some(), opts, report);

    // Signatures.
    let sig_names = files
        .iter()
        .map(|(n, _)| n)
        .filter(|n| matches!(classify(n), Kind::Sig | Kind::Cosig));
    let mut trusted_signers: Vec<KeyId> = Vec::new();
    let mut sealer_id: Option<KeyId> = None;
    for name in sig_names {
        let Some(at) = index.get(name) else { continue };
        let bytes = match src.read(at, name, MAX_SIGNATURE_BYTES) {
            Ok(b) => b,
            Err(f) => {
                report.push(f);
                continue;
            }
        };
        digests[at] = Some(Sha256::digest(&bytes).into());
        let sig = match Signature::parse(&bytes) {
            Ok(s) => s,
            Err(e) => {
                report.push(Finding::at(Code::SigMalformed, name.clone(), e.to_string()));
                continue;
            }
        };
        let kid = sig.key_id.to_string();
        if let Some(fid) = bagit::cosignature_key_id(name) {
            if fid != kid {
                report.push(Finding::at(
                    Code::SigMalformed,
                    name.clone(),
                    format!("file name says key {fid}, the signature says {kid}"),
                ));
                continue;
            }
            if sealer_id == Some(sig.key_id) {
                report.push(Finding::at(
                    Code::SigMalformed,
                    name.clone(),
                    "a co-signature by the sealer's own key",
                ));
                continue;
            }
        } else {
            sealer_id = Some(sig.key_id);
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
                status: SignerStatus::Invalid,
            });
            continue;
        }
        if sig.untrusted_comment != crate::seal::untrusted_comment(sig.key_id) {
            report.push(Finding::at(
                Code::SigComment,
                name.clone(),
                "untrusted comment is not the exact value the writer produces",
            ));
        }
        let Some(tm) = &tagmanifest else { continue };
        let archive_time = report
            .content_sha256
            .as_ref()
            .and_then(|c| opts.established.get(c))
            .copied();
        // A trusted token covers the sealer's signature file only.
        let stamped = token_time.as_ref().filter(|_| name == SIGNATURE);
        let established = crate::tsa::evidence::earliest(archive_time, stamped.map(|t| t.0));
        let (status, key_name) =
            check_signature(name, &sig, tm, meta.as_ref(), trust, established, report);
        if status == SignerStatus::Trusted {
            let tk = trust.and_then(|t| t.find(sig.key_id));
            crate::tsa::evidence::note(report, name, tk, archive_time, stamped);
        }
        if status == SignerStatus::Trusted && !trusted_signers.contains(&sig.key_id) {
            trusted_signers.push(sig.key_id);
        }
        report.signers.push(SignerInfo {
            file: name.clone(),
            key_id: kid,
            name: key_name,
            status,
        });
    }
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

    report.metadata = meta;
}

/// Check the bundle's timestamp tokens (format v2) against the sealer's signature file;
/// returns the earliest time a token from a trusted TSA establishes, and that token's file.
fn check_timestamps(
    src: &mut dyn Source,
    files: &[(String, u64)],
    index: &ByName<'_>,
    digests: &mut [Option<[u8; 32]>],
    verifying: bool,
    opts: &Options,
    report: &mut Report,
) -> Option<(DateTime<Utc>, String)> {
    use crate::tsa::{evidence, MAX_TOKENS, MAX_TOKEN_BYTES};
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
                "the bundle holds no timestamp token (--require-timestamp)",
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
        .and_then(|at| src.read(at, SIGNATURE, MAX_SIGNATURE_BYTES).ok());
    let mut best: Option<(DateTime<Utc>, String)> = None;
    for (at, name) in names {
        let bytes = match files[at].1 {
            n if n > MAX_TOKEN_BYTES as u64 => {
                report.push(Finding::at(
                    Code::TsaTooLarge,
                    name.clone(),
                    format!("{n} bytes, more than the {MAX_TOKEN_BYTES} a token may have"),
                ));
                continue;
            }
            _ => match src.read(at, name, MAX_TOKEN_BYTES as u64) {
                Ok(b) => b,
                Err(f) => {
                    report.push(f);
                    continue;
                }
            },
        };
        digests[at] = Some(Sha256::digest(&bytes).into());
        let Some(sig) = &signature else { continue };
        let roots = if verifying {
            Some(&opts.tsa_roots[..])
        } else {
            None
        };
        let (info, findings) = evidence::check(name, &bytes, sig, roots);
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
            "no token from a trusted TSA (--tsa-trust) covers the signature (--require-timestamp)",
        ));
    }
    best
}

/// Check one signature; pushes findings; returns the status and the trusted key's name.
fn check_signature(
    name: &str,
    sig: &Signature,
    tagmanifest: &[u8],
    meta: Option<&Metadata>,
    trust: Option<&Trust>,
    established: Option<DateTime<Utc>>,
    report: &mut Report,
) -> (SignerStatus, Option<String>) {
    let key_id = sig.key_id;
    let (key, key_name) = match trust {
        Some(t) => {
            match t.find(key_id) {
                Some(tk) => (tk.key.clone(), tk.name.clone()),
                None => {
                    // Diagnose a key id that lies: does a trusted key verify it anyway?
                    if let Some(f) = made_by_another_trusted_key(name, sig, tagmanifest, t) {
                        report.push(f);
                        return (SignerStatus::Invalid, None);
                    }
                    report.push(Finding::at(Code::SigUntrustedKey, name, format!("signed by key {key_id}, which is not trusted (give its .pub with --trust)")));
                    return (SignerStatus::Unknown, None);
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
                return (SignerStatus::Unknown, None);
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
            return (SignerStatus::Invalid, key_name);
        }
        Err(VerifyError::Legacy) => {
            report.push(Finding::at(Code::SigLegacy, name, "legacy Ed algorithm"));
            return (SignerStatus::Invalid, key_name);
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
                    return (SignerStatus::Invalid, key_name);
                }
            }
            // Made by another trusted key than the one its id names?
            if let Some(f) =
                trust.and_then(|t| made_by_another_trusted_key(name, sig, tagmanifest, t))
            {
                report.push(f);
                return (SignerStatus::Invalid, key_name);
            }
            report.push(Finding::at(
                Code::SigInvalid,
                name,
                format!("{e} with key {key_id}: the tag manifest or the signature was changed"),
            ));
            return (SignerStatus::Invalid, key_name);
        }
    }
    if let Some(m) = meta {
        if sig.trusted_comment != crate::seal::trusted_comment(m, &key) {
            report.push(Finding::at(Code::SigComment, name, "trusted comment is not the exact value the writer produces for this bundle and key"));
            return (SignerStatus::Invalid, key_name);
        }
    }
    if let Some(tk) = trust.and_then(|t| t.find(key_id)) {
        let asserted = meta.and_then(|m| crate::trust::parse_time(&m.date_sealed).ok());
        if let Some(f) = tk.check(name, asserted, established) {
            report.push(f);
            return (SignerStatus::Refused, key_name);
        }
        (SignerStatus::Trusted, key_name)
    } else {
        (SignerStatus::ValidUntrusted, None)
    }
}

/// The Ed25519 group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
pub(crate) const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Reduce a little-endian 256-bit scalar modulo ℓ in place (at most 16 subtractions, since
/// ℓ > 2^252); returns whether it was not reduced.
fn reduce_mod_order(s: &mut [u8]) -> bool {
    let ge = |s: &[u8]| {
        for i in (0..32).rev() {
            if s[i] != GROUP_ORDER[i] {
                return s[i] > GROUP_ORDER[i];
            }
        }
        true
    };
    let mut changed = false;
    while ge(s) {
        let mut borrow = 0i16;
        for (b, l) in s.iter_mut().zip(GROUP_ORDER) {
            let d = i16::from(*b) - i16::from(l) - borrow;
            borrow = i16::from(d < 0);
            *b = d.rem_euclid(256) as u8;
        }
        changed = true;
    }
    changed
}

#[cfg(test)]
mod group_order_tests {
    use super::*;

    #[test]
    fn reduce_mod_order_reduces_exactly_the_unreduced() {
        let mut l = GROUP_ORDER;
        assert!(reduce_mod_order(&mut l));
        assert_eq!(l, [0; 32]);
        let mut below = GROUP_ORDER;
        below[0] -= 1;
        let kept = below;
        assert!(!reduce_mod_order(&mut below));
        assert_eq!(below, kept);
        // 2^256 - 1 = 15 * l + r with r < l: at most 16 subtractions, result reduced.
        let mut max = [0xff; 32];
        assert!(reduce_mod_order(&mut max));
        assert!(!reduce_mod_order(&mut max.clone()));
        // l + 5 -> 5.
        let mut x = GROUP_ORDER;
        x[0] += 5;
        assert!(reduce_mod_order(&mut x));
        let mut five = [0u8; 32];
        five[0] = 5;
        assert_eq!(x, five);
    }
}

/// `sig` with the S halves of both Ed25519 signatures reduced modulo ℓ, when either was not.
fn with_reduced_s(sig: &Signature) -> Option<Signature> {
    let mut r = sig.clone();
    let a = reduce_mod_order(&mut r.signature[32..]);
    let b = reduce_mod_order(&mut r.global_signature[32..]);
    (a || b).then_some(r)
}

/// A signature whose key id names one key but that another trusted key made: the finding.
fn made_by_another_trusted_key(
    name: &str,
    sig: &Signature,
    tagmanifest: &[u8],
    trust: &Trust,
) -> Option<Finding> {
    let named = sig.key_id;
    trust
        .keys
        .iter()
        .filter(|k| k.key.key_id() != named)
        .find_map(|tk| {
            let mut other = sig.clone();
            other.key_id = tk.key.key_id();
            other.verify(&tk.key, tagmanifest).is_ok().then(|| {
                Finding::at(
                    Code::SigKeyIdMismatch,
                    name,
                    format!(
                        "names key {named} but was made by trusted key {}",
                        tk.key.key_id()
                    ),
                )
            })
        })
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

/// The key under which two paths collide ([`crate::path::collision_key`]), as its SHA-256, so
/// that keys of long names take 32 bytes each.
fn collision_digest(p: &str) -> [u8; 32] {
    Sha256::digest(crate::path::collision_key(p).as_bytes()).into()
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
/// written to a temporary directory beside `out_dir` and renamed into place, and every byte
/// written is hashed again and compared with what was verified.
pub fn extract(
    bundle: &Path,
    trust: &Trust,
    opts: &Options,
    out_dir: &Path,
    force: bool,
) -> Result<Report> {
    let file = File::open(bundle).map_err(|e| Error::io(bundle, e))?;
    let mut report = Report::new(bundle, true);
    if file.metadata().map_err(|e| Error::io(bundle, e))?.is_dir() {
        return Err(Error::invalid(
            bundle.display().to_string(),
            "is a directory; extract takes a bundle file",
        ));
    }
    verify_zip_file(&file, Some(trust), opts, &mut report);
    let report = report.finish();
    if !report.ok {
        let summary: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Refused {
            path: bundle.to_path_buf(),
            summary: summary.join(", "),
        });
    }
    let non_empty = match std::fs::read_dir(out_dir) {
        Ok(mut rd) => rd.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io(out_dir, e)),
    };
    if non_empty && !force {
        return Err(Error::invalid(
            out_dir.display().to_string(),
            "directory is not empty (use --force to write into it)",
        ));
    }
    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".docseal-extract-")
        .tempdir_in(parent)
        .map_err(|e| Error::io(parent, e))?;
    let mut r = &file;
    let len = file.metadata().map_err(|e| Error::io(bundle, e))?.len();
    let changed = |what: &str| Error::Refused {
        path: bundle.to_path_buf(),
        summary: format!("{what} changed while being extracted"),
    };
    let entries = zipfmt::read_strict(&mut r, len, &opts.limits).map_err(|_| changed("it"))?;
    if entries.len() != report.files.len() {
        return Err(changed("it"));
    }
    for (e, verified) in entries.iter().zip(&report.files) {
        if e.name != verified.path {
            return Err(changed("it"));
        }
        let target = tmp.path().join(&e.name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, err))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|err| Error::io(&target, err))?;
        let d =
            zipfmt::hash_entry(&mut r, e, Some(&mut out)).map_err(|err| Error::io(bundle, err))?;
        if d.crc32 != e.crc32 || verified.sha256.as_deref() != Some(hex(&d.sha256).as_str()) {
            return Err(changed(&e.name));
        }
        out.sync_all().map_err(|err| Error::io(&target, err))?;
    }
    if non_empty {
        // --force into a non-empty directory. Nothing is moved unless every file can be: no
        // existing directory on a file's way is a symbolic link (which could lead outside DIR)
        // or something else than a directory, and no file to be replaced is a directory.
        for e in &entries {
            let mut at = out_dir.to_path_buf();
            let segments: Vec<&str> = e.name.split('/').collect();
            for (k, seg) in segments.iter().enumerate() {
                at.push(seg);
                let Ok(m) = at.symlink_metadata() else {
                    break; // not there yet: created below, inside DIR
                };
                let last = k + 1 == segments.len();
                let why = if m.file_type().is_symlink() && !last {
                    "is a symbolic link; not followed"
                } else if !last && !m.is_dir() {
                    "is not a directory"
                } else if last && m.is_dir() {
                    "is a directory; not replaced"
                } else {
                    continue;
                };
                return Err(Error::invalid(at.display().to_string(), why));
            }
        }
        // Then move each file over, atomically per file.
        for e in &entries {
            let dst = out_dir.join(&e.name);
            if let Some(dir) = dst.parent() {
                std::fs::create_dir_all(dir).map_err(|err| Error::io(dir, err))?;
            }
            if dst.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                return Err(Error::invalid(
                    dst.display().to_string(),
                    "is a directory; not replaced",
                ));
            }
            std::fs::rename(tmp.path().join(&e.name), &dst).map_err(|err| Error::io(&dst, err))?;
        }
        crate::atomic::sync_dir(out_dir).map_err(|e| Error::io(out_dir, e))?;
    } else {
        if out_dir.exists() {
            std::fs::remove_dir(out_dir).map_err(|e| Error::io(out_dir, e))?;
        }
        let kept = tmp.keep();
        std::fs::rename(&kept, out_dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&kept);
            Error::io(out_dir, e)
        })?;
        crate::atomic::sync_dir(parent).map_err(|e| Error::io(parent, e))?;
    }
    Ok(report)
}

/// The bundles under `path`: a file is one bundle; a directory with `bagit.txt` at its root is
/// one unzipped bundle; any other directory is searched recursively (without following
/// symlinks) for `*.zip` files and unzipped bundles, in sorted order.
pub fn find_bundles(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() || path.join(BAGIT).is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    // Depth first, each directory's entries sorted by name: the same order as sorting all the
    // paths (paths compare component by component), without comparing whole paths (sorting
    // 10,000 paths that way took 25 ms, before any bundle was verified).
    let mut out = Vec::new();
    let mut stack: Vec<std::vec::IntoIter<(PathBuf, std::fs::FileType)>> =
        vec![sorted_entries(path)?.into_iter()];
    while let Some(level) = stack.last_mut() {
        let Some((c, t)) = level.next() else {
            stack.pop();
            continue;
        };
        if t.is_dir() {
            if c.join(BAGIT).is_file() {
                out.push(c);
            } else {
                stack.push(sorted_entries(&c)?.into_iter());
            }
        } else if t.is_file() && c.extension().is_some_and(|x| x == "zip") {
            out.push(c);
        }
    }
    Ok(out)
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
/// archive log entry ([`crate::archive`]).
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
}

/// Check `supersedes` links among bundles verified together (`reports`) and `known` ones
/// (an archive's log). A bundle naming a superseded bundle that is present with the same id
/// but another content digest gets `prov.supersedes_mismatch` (an error); a bundle that a
/// newer bundle supersedes (one that passed verification here, or one the archive holds) gets
/// `prov.superseded` (a warning, naming the newer version). Links to bundles that are not
/// present cannot be checked and are left alone.
pub fn check_supersedes(reports: &mut [Report], known: &[KnownBundle]) {
    // id -> (content digest, where), over everything present.
    let mut by_id: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
    for r in reports.iter() {
        if let (Some(id), Some(c)) = (&r.id, &r.content_sha256) {
            by_id.entry(id).or_default().push((c, &r.path));
        }
    }
    for k in known {
        by_id
            .entry(&k.id)
            .or_default()
            .push((&k.content_sha256, &k.label));
    }
    let mut mismatches: Vec<(usize, Finding)> = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        let Some(s) = r.metadata.as_ref().and_then(|m| m.supersedes.as_ref()) else {
            continue;
        };
        let own = r.content_sha256.as_deref();
        let present: Vec<&(&str, &str)> = by_id
            .get(s.id.as_str())
            .map(|v| v.iter().filter(|(c, _)| Some(*c) != own).collect())
            .unwrap_or_default();
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
    for k in known {
        if let Some(s) = &k.supersedes {
            newer
                .entry(s.clone())
                .or_default()
                .push((k.id.clone(), k.label.clone()));
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
