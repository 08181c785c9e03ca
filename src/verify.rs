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
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest signature file the verifier reads.
pub const MAX_SIGNATURE_BYTES: u64 = 4096;

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            require_signers: 1,
            established: HashMap::new(),
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
    /// Every problem found.
    pub findings: Vec<Finding>,
}

impl Report {
    fn new(path: &Path, trust_checked: bool) -> Report {
        Report {
            path: path.display().to_string(),
            ok: false,
            trust_checked,
            id: None,
            content_sha256: None,
            metadata: None,
            files: Vec::new(),
            signers: Vec::new(),
            findings: Vec::new(),
        }
    }
    fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }
    fn finish(mut self) -> Report {
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
trait Source {
    /// (name, size) of every file, in order.
    fn files(&self) -> Vec<(String, u64)>;
    /// Read a file of at most `max` bytes (checking the ZIP CRC).
    fn read(&mut self, name: &str, max: u64) -> std::result::Result<Vec<u8>, Finding>;
    /// Stream a file through SHA-256 (checking the ZIP CRC).
    fn digest(&mut self, name: &str) -> std::result::Result<[u8; 32], Finding>;
    /// Whether entry order is significant (ZIP) or not (directory).
    fn ordered(&self) -> bool;
}

struct ZipSource<'a> {
    file: &'a File,
    entries: Vec<Entry>,
}

impl ZipSource<'_> {
    fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }
    fn stream(
        &mut self,
        name: &str,
        out: Option<&mut dyn std::io::Write>,
    ) -> std::result::Result<[u8; 32], Finding> {
        let e = self
            .entry(name)
            .cloned()
            .ok_or_else(|| Finding::at(Code::BundleMissingFile, name, "not in the bundle"))?;
        let mut f = self.file;
        let d = zipfmt::hash_entry(&mut f, &e, out)
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
    fn files(&self) -> Vec<(String, u64)> {
        self.entries
            .iter()
            .map(|e| (e.name.clone(), e.size))
            .collect()
    }
    fn read(&mut self, name: &str, max: u64) -> std::result::Result<Vec<u8>, Finding> {
        let size = self.entry(name).map(|e| e.size).unwrap_or(0);
        if size > max {
            return Err(Finding::at(
                Code::LimitTagFile,
                name,
                format!("{size} bytes, more than the {max} allowed"),
            ));
        }
        let mut buf = Vec::with_capacity(size as usize);
        self.stream(name, Some(&mut buf))?;
        Ok(buf)
    }
    fn digest(&mut self, name: &str) -> std::result::Result<[u8; 32], Finding> {
        self.stream(name, None)
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
    fn files(&self) -> Vec<(String, u64)> {
        self.files.clone()
    }
    fn read(&mut self, name: &str, max: u64) -> std::result::Result<Vec<u8>, Finding> {
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
    fn digest(&mut self, name: &str) -> std::result::Result<[u8; 32], Finding> {
        let mut f = open_nofollow(&self.root.join(name))
            .map_err(|e| Finding::at(Code::IoRead, name, e.to_string()))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => h.update(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Finding::at(Code::IoRead, name, e.to_string())),
            }
        }
        Ok(h.finalize().into())
    }
    fn ordered(&self) -> bool {
        false
    }
}

/// Verify a bundle file or an unzipped bundle directory against `trust`. With `trust` `None`
/// (inspect), signatures are checked against the keys the bundle names and no trust decision
/// is made.
pub fn verify_path(path: &Path, trust: Option<&Trust>, opts: &Options) -> Report {
    verify_collect(path, trust, opts).0
}

/// Inspect a bundle: everything `verify` checks except trust.
pub fn inspect(path: &Path, opts: &Options) -> Report {
    verify_path(path, None, opts)
}

/// Digests established during verification, by file name.
type Digests = BTreeMap<String, [u8; 32]>;

fn verify_collect(path: &Path, trust: Option<&Trust>, opts: &Options) -> (Report, Digests) {
    let mut report = Report::new(path, trust.is_some());
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            report.push(Finding::new(
                Code::IoRead,
                format!("{}: {e}", path.display()),
            ));
            return (report.finish(), Digests::new());
        }
    };
    if meta.is_dir() {
        let mut src = DirSource::scan(path, &opts.limits, &mut report);
        let d = check_bundle(&mut src, trust, opts, &mut report);
        return (report.finish(), d);
    }
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            report.push(Finding::new(
                Code::IoRead,
                format!("{}: {e}", path.display()),
            ));
            return (report.finish(), Digests::new());
        }
    };
    let d = verify_zip_file(&file, trust, opts, &mut report);
    (report.finish(), d)
}

fn verify_zip_file(
    file: &File,
    trust: Option<&Trust>,
    opts: &Options,
    report: &mut Report,
) -> Digests {
    let len = match file.metadata() {
        Ok(m) => m.len(),
        Err(e) => {
            report.push(Finding::new(Code::IoRead, e.to_string()));
            return Digests::new();
        }
    };
    let max_bundle = opts.limits.max_total_size.saturating_add(
        opts.limits
            .max_entries
            .saturating_mul(2 * (30 + 46 + 1024 + 48))
            + 1024,
    );
    if len > max_bundle {
        report.push(Finding::new(
            Code::LimitBundleSize,
            format!("{len} bytes, more than the {max_bundle} allowed by the limits"),
        ));
        return Digests::new();
    }
    let mut r = file;
    match zipfmt::read_strict(&mut r, len, &opts.limits) {
        Ok(entries) => {
            let mut src = ZipSource { file, entries };
            check_bundle(&mut src, trust, opts, report)
        }
        Err(findings) => {
            report.findings.extend(findings);
            Digests::new()
        }
    }
}

enum Kind {
    Payload,
    Tag,
    Sig,
    Cosig,
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
    } else {
        Kind::Unknown
    }
}

/// The rank of a name in canonical ZIP order: payload, tag files, signature, co-signatures.
fn rank(name: &str) -> (u8, Vec<u8>) {
    match classify(name) {
        Kind::Payload => (0, name.as_bytes().to_vec()),
        Kind::Tag => (
            1,
            vec![TAG_FILES.iter().position(|t| *t == name).unwrap_or(0) as u8],
        ),
        Kind::Sig => (2, Vec::new()),
        Kind::Cosig => (3, name.as_bytes().to_vec()),
        Kind::Unknown => (4, name.as_bytes().to_vec()),
    }
}

fn check_bundle(
    src: &mut dyn Source,
    trust: Option<&Trust>,
    opts: &Options,
    report: &mut Report,
) -> Digests {
    let mut digests = Digests::new();
    let files = src.files();
    let present: HashMap<&str, u64> = files.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    report.files = files
        .iter()
        .map(|(n, s)| FileInfo {
            path: n.clone(),
            size: *s,
            sha256: None,
        })
        .collect();

    // Layout: known names only, required files present, canonical order.
    for (n, _) in &files {
        if let Kind::Unknown = classify(n) {
            report.push(Finding::at(
                Code::BundleUnexpectedFile,
                n.clone(),
                "not a file the bundle format allows",
            ));
        }
    }
    for t in TAG_FILES {
        if !present.contains_key(t) {
            report.push(Finding::at(
                Code::BundleMissingFile,
                t,
                "required file is missing",
            ));
        }
    }
    if !present.contains_key(SIGNATURE) {
        report.push(Finding::at(
            Code::SigMissing,
            SIGNATURE,
            "the bundle has no signature",
        ));
    }
    if src.ordered() {
        let mut sorted = files.clone();
        sorted.sort_by_key(|(n, _)| rank(n));
        if sorted != files {
            report.push(Finding::new(
                Code::ZipOrder,
                "entries are not in the canonical order (payload, tag files, signatures)",
            ));
        }
    }

    // bagit.txt
    if present.contains_key(BAGIT) {
        match src.read(BAGIT, bagit::MAX_BAG_INFO_BYTES) {
            Ok(b) => {
                digests.insert(BAGIT.into(), Sha256::digest(&b).into());
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
    if present.contains_key(METADATA) {
        match src.read(METADATA, crate::metadata::MAX_METADATA_BYTES) {
            Ok(b) => {
                digests.insert(METADATA.into(), Sha256::digest(&b).into());
                let (m, f) = Metadata::parse(&b);
                let unknown_version = f.iter().any(|f| f.code == Code::BundleVersion);
                report.findings.extend(f);
                if unknown_version {
                    return digests;
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
    for (n, _) in files
        .iter()
        .filter(|(n, _)| matches!(classify(n), Kind::Payload))
    {
        match src.digest(n) {
            Ok(d) => {
                digests.insert(n.clone(), d);
            }
            Err(f) => report.push(f),
        }
    }
    let payload_names: Vec<&str> = files
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| matches!(classify(n), Kind::Payload))
        .collect();
    let mut listed_payload: Vec<(String, [u8; 32])> = Vec::new();
    if present.contains_key(MANIFEST) {
        match src.read(MANIFEST, bagit::MAX_MANIFEST_BYTES) {
            Ok(b) => {
                digests.insert(MANIFEST.into(), Sha256::digest(&b).into());
                match bagit::parse_manifest(&b) {
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
                        compare_manifest(MANIFEST, &list, &payload_names, &digests, report);
                        listed_payload = list;
                    }
                    Err(why) => report.push(Finding::at(Code::ManifestMalformed, MANIFEST, why)),
                }
            }
            Err(f) => report.push(f),
        }
    }

    // bag-info.txt must be what the writer derives from the metadata and payload.
    if present.contains_key(BAG_INFO) {
        match src.read(BAG_INFO, bagit::MAX_BAG_INFO_BYTES) {
            Ok(b) => {
                digests.insert(BAG_INFO.into(), Sha256::digest(&b).into());
                if let Some(m) = &meta {
                    // Payload-Oxum of the sealed payload: the files the metadata names. When one
                    // is missing that is reported already, and the oxum cannot be known.
                    let mut named = vec![m.article_file.as_str()];
                    named.extend(m.attachments.iter().map(String::as_str));
                    let sizes: Option<Vec<u64>> =
                        named.iter().map(|n| present.get(n).copied()).collect();
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
            if !present.contains_key(n) {
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
    if present.contains_key(TAGMANIFEST) {
        match src.read(TAGMANIFEST, bagit::MAX_MANIFEST_BYTES) {
            Ok(b) => {
                let d: [u8; 32] = Sha256::digest(&b).into();
                digests.insert(TAGMANIFEST.into(), d);
                report.content_sha256 = Some(hex(&d));
                match bagit::parse_manifest(&b) {
                    Ok(list) => {
                        for (p, _) in &list {
                            if !TAGMANIFEST_LISTS.contains(&p.as_str())
                                && present.contains_key(p.as_str())
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
                            .filter(|t| present.contains_key(t))
                            .collect();
                        compare_manifest(TAGMANIFEST, &list, &tags, &digests, report);
                    }
                    Err(why) => report.push(Finding::at(Code::ManifestMalformed, TAGMANIFEST, why)),
                }
                tagmanifest = Some(b);
            }
            Err(f) => report.push(f),
        }
    }

    // Signatures.
    let sig_names: Vec<String> = files
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| matches!(classify(n), Kind::Sig | Kind::Cosig))
        .collect();
    let mut trusted_signers: Vec<KeyId> = Vec::new();
    let mut untrusted: Vec<usize> = Vec::new();
    let mut sealer_id: Option<KeyId> = None;
    for name in &sig_names {
        let bytes = match src.read(name, MAX_SIGNATURE_BYTES) {
            Ok(b) => b,
            Err(f) => {
                report.push(f);
                continue;
            }
        };
        digests.insert(name.clone(), Sha256::digest(&bytes).into());
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
        let established = report
            .content_sha256
            .as_ref()
            .and_then(|c| opts.established.get(c))
            .copied();
        let (status, key_name) =
            check_signature(name, &sig, tm, meta.as_ref(), trust, established, report);
        if status == SignerStatus::Trusted && !trusted_signers.contains(&sig.key_id) {
            trusted_signers.push(sig.key_id);
        }
        if status == SignerStatus::Unknown && trust.is_some() {
            untrusted.push(report.findings.len() - 1);
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
            for i in untrusted {
                report.findings[i].severity = Severity::Warning;
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

    for fi in &mut report.files {
        fi.sha256 = digests.get(&fi.path).map(|d| hex(d));
    }
    report.metadata = meta;
    digests
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
                    for tk in &t.keys {
                        let mut other = sig.clone();
                        other.key_id = tk.key.key_id();
                        if other.verify(&tk.key, tagmanifest).is_ok() {
                            report.push(Finding::at(
                                Code::SigKeyIdMismatch,
                                name,
                                format!(
                                    "names key {key_id} but was made by trusted key {}",
                                    tk.key.key_id()
                                ),
                            ));
                            return (SignerStatus::Invalid, None);
                        }
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
            // Made by another trusted key than the one its id names?
            if let Some(t) = trust {
                for tk in t.keys.iter().filter(|k| k.key.key_id() != key_id) {
                    let mut other = sig.clone();
                    other.key_id = tk.key.key_id();
                    if other.verify(&tk.key, tagmanifest).is_ok() {
                        report.push(Finding::at(
                            Code::SigKeyIdMismatch,
                            name,
                            format!(
                                "names key {key_id} but was made by trusted key {}",
                                tk.key.key_id()
                            ),
                        ));
                        return (SignerStatus::Invalid, key_name);
                    }
                }
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

/// The signer's public key as named in a docseal trusted comment (`signer=<base64>`).
fn embedded_signer(sig: &Signature) -> Option<PublicKey> {
    let b64 = sig
        .trusted_comment
        .split(' ')
        .find_map(|w| w.strip_prefix("signer="))?;
    PublicKey::from_base64(b64).ok()
}

/// Compare a manifest's entries with the files present (`names`), using known `digests`.
fn compare_manifest(
    manifest: &str,
    list: &[(String, [u8; 32])],
    names: &[&str],
    digests: &Digests,
    report: &mut Report,
) {
    let listed: HashMap<&str, &[u8; 32]> = list.iter().map(|(p, d)| (p.as_str(), d)).collect();
    let keys: HashMap<String, &str> = names
        .iter()
        .map(|n| (crate::path::collision_key(n), *n))
        .collect();
    for (p, want) in list {
        if names.contains(&p.as_str()) {
            if let Some(got) = digests.get(p) {
                if got != want {
                    report.push(Finding::at(
                        Code::ManifestDigest,
                        p.clone(),
                        format!("SHA-256 differs from {manifest}"),
                    ));
                }
            }
        } else if let Some(real) = keys.get(&crate::path::collision_key(p)) {
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
        if !listed.contains_key(n)
            && !list
                .iter()
                .any(|(p, _)| crate::path::collision_key(p) == crate::path::collision_key(n))
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
    let digests = verify_zip_file(&file, Some(trust), opts, &mut report);
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
    let entries = zipfmt::read_strict(&mut r, len, &opts.limits).map_err(|_| Error::Refused {
        path: bundle.to_path_buf(),
        summary: "changed while being extracted".into(),
    })?;
    for e in &entries {
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
        if d.crc32 != e.crc32 || digests.get(&e.name) != Some(&d.sha256) {
            return Err(Error::Refused {
                path: bundle.to_path_buf(),
                summary: format!("{} changed while being extracted", e.name),
            });
        }
        out.sync_all().map_err(|err| Error::io(&target, err))?;
    }
    if non_empty {
        // --force into a non-empty directory: move each file over, atomically per file.
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
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut children: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        children.sort();
        for c in children.into_iter().rev() {
            let Ok(m) = c.symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                if c.join(BAGIT).is_file() {
                    out.push(c);
                } else {
                    stack.push(c);
                }
            } else if m.is_file() && c.extension().is_some_and(|x| x == "zip") {
                out.push(c);
            }
        }
    }
    out.sort();
    Ok(out)
}
