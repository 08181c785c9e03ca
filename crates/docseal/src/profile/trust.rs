//! Whom a verification trusts: public keys given with `--trust`, either minisign `.pub` files
//! or trust files that name keys and record their validity and revocation.
//!
//! A trust file (TOML) lists keys:
//!
//! ```toml
//! [[key]]
//! name = "newsroom-2026"
//! public_key = "RWQ..."                 # the base64 line of the key's .pub file
//! valid_from = "2026-01-01T00:00:00Z"   # optional
//! valid_until = "2027-01-01T00:00:00Z"  # optional
//! revoked = { at = "2026-06-01T00:00:00Z", reason = "retired" }   # optional: retired | compromised
//! role = "archive"                      # optional: signer (the default) | archive
//! ```
//!
//! A signer is its Ed25519 public key: the same public key under two key ids is one key (one
//! signer, one revocation), whatever id a file claims. Keys have a role: a `signer` key vouches
//! for bundles it signs, an `archive` key for archive checkpoints it signs; neither does the
//! other's work.
//!
//! Trust never comes from a bundle. What a sealing time proves: `dateSealed` is the signer's
//! own word. A key revoked at time T makes its bundles fail, except bundles whose sealing
//! before T is established by something other than the signer: a checkpoint of an archive log
//! that included the bundle before T (see `docs/SECURITY.md`).

use crate::format::error::{Error, Result};
use crate::format::finding::{Code, Finding};
use crate::format::minisign::{KeyId, PublicKey};
pub use crate::format::text::parse_time;
use crate::format::text::{check_text, format_sealed};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why a key was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Taken out of use in an orderly way; its earlier bundles stay good when their time is
    /// established independently.
    Retired,
    /// The secret key may be in someone else's hands from `at` on.
    Compromised,
}

/// A revocation: when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// From when the key is no longer to be relied on (RFC 3339).
    pub at: String,
    /// Retired or compromised.
    pub reason: Reason,
}

/// What a trusted key may vouch for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Signs bundles (the default: a trust file entry without `role`, a plain `.pub` file).
    #[default]
    Signer,
    /// Signs archive log checkpoints (`verify --archive`); never vouches for a bundle itself.
    Archive,
}

impl Role {
    fn is_signer(&self) -> bool {
        *self == Role::Signer
    }
}

/// One key of a trust file, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// A name for people.
    pub name: String,
    /// The minisign public key line (base64).
    pub public_key: String,
    /// Not valid for bundles sealed before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Not valid for bundles sealed after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// Revocation, if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
    /// What the key vouches for: bundles (`signer`, the default) or archive checkpoints
    /// (`archive`).
    #[serde(default, skip_serializing_if = "Role::is_signer")]
    pub role: Role,
}

/// A trust file, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    /// Roots of trusted Time-Stamping Authorities (RFC 3161 timestamps): each a PEM file, its
    /// path relative to the trust file's directory, or the PEM text itself (`docs/KEYS.md`).
    /// `verify --trust` uses them as it uses `--tsa-trust`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tsa_roots: Vec<String>,
    /// The keys.
    #[serde(default, rename = "key")]
    pub keys: Vec<KeyEntry>,
}

/// A trusted public key and what the trust file says about it.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// The key.
    pub key: PublicKey,
    /// Its name, if it came from a trust file.
    pub name: Option<String>,
    /// Validity window start.
    pub valid_from: Option<DateTime<Utc>>,
    /// Validity window end.
    pub valid_until: Option<DateTime<Utc>>,
    /// Revocation time and reason.
    pub revoked: Option<(DateTime<Utc>, Reason)>,
    /// Trusted to sign bundles.
    pub signer: bool,
    /// Trusted to sign archive checkpoints.
    pub archive: bool,
    /// Other key ids under which the same public key was given (aliases); `key` has the first.
    pub aliases: Vec<KeyId>,
}

impl TrustedKey {
    /// A bundle signing key trusted without conditions (a plain `.pub` file).
    pub fn plain(key: PublicKey) -> Self {
        TrustedKey {
            key,
            name: None,
            valid_from: None,
            valid_until: None,
            revoked: None,
            signer: true,
            archive: false,
            aliases: Vec::new(),
        }
    }

    /// An archive key trusted without conditions (`verify --archive-key PATH.pub`).
    pub fn archive(key: PublicKey) -> Self {
        TrustedKey {
            signer: false,
            archive: true,
            ..TrustedKey::plain(key)
        }
    }

    /// The 32 bytes of the Ed25519 public key: what identifies a signer.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The key as a minisign public key under `id` (its own id or an alias).
    pub fn key_under(&self, id: KeyId) -> PublicKey {
        if id == self.key.key_id() {
            return self.key.clone();
        }
        with_key_id(&self.key, id)
    }

    /// Whether this key may vouch for a bundle sealed at `asserted` (the signer's word), with
    /// `established` the latest time by which the bundle provably existed (an archive
    /// checkpoint), if known. Returns the finding that refuses it.
    pub fn check(
        &self,
        file: &str,
        asserted: Option<DateTime<Utc>>,
        established: Option<DateTime<Utc>>,
    ) -> Option<Finding> {
        let id = self.key.key_id();
        let who = match &self.name {
            Some(n) => format!("key {id} ({n})"),
            None => format!("key {id}"),
        };
        if let Some((at, reason)) = self.revoked {
            let why = match reason {
                Reason::Retired => "retired",
                Reason::Compromised => "compromised",
            };
            match established {
                // Provably sealed before the revocation: the validity window still applies.
                Some(t) if t < at => {}
                Some(t) => {
                    return Some(Finding::at(
                        Code::TrustRevoked,
                        file,
                        format!(
                            "{who} was {why} at {}; the earliest evidence (the archive log or a trusted timestamp token) first shows this bundle at {}, not before",
                            fmt(at),
                            fmt(t)
                        ),
                    ))
                }
                None => {
                    let claim = match asserted {
                        Some(s) => format!("the bundle says it was sealed at {}, but", fmt(s)),
                        None => "the bundle's sealing time".into(),
                    };
                    return Some(Finding::at(
                        Code::TrustRevoked,
                        file,
                        format!(
                            "{who} was {why} at {}; {claim} that is only the signer's word, which anyone holding the key can backdate (an archive log that included the bundle before {} would establish it)",
                            fmt(at),
                            fmt(at)
                        ),
                    ));
                }
            }
        }
        // Every time known for the bundle must fall inside the window: the archive-established
        // time (the bundle existed by then) and the signer-asserted one (its own claim).
        let times = [
            (
                established,
                "established by the archive log or a trusted timestamp token",
            ),
            (asserted, "as asserted by the signer, not proven"),
        ];
        for (t, how) in times {
            let Some(t) = t else { continue };
            let before = self.valid_from.filter(|&f| t < f);
            let after = self.valid_until.filter(|&u| t > u);
            let edge = match (before, after) {
                (Some(f), _) => format!("before {who} is valid (from {})", fmt(f)),
                (_, Some(u)) => format!("after {who} stopped being valid (until {})", fmt(u)),
                (None, None) => continue,
            };
            return Some(Finding::at(
                Code::TrustOutsideValidity,
                file,
                format!("sealed at {} ({how}), {edge}", fmt(t)),
            ));
        }
        None
    }
}

/// The same Ed25519 public key under another key id.
pub fn with_key_id(key: &PublicKey, id: KeyId) -> PublicKey {
    use base64::Engine as _;
    let mut raw = [0u8; 42];
    raw[0..2].copy_from_slice(b"Ed");
    raw[2..10].copy_from_slice(&id.0);
    raw[10..].copy_from_slice(key.verifying_key().as_bytes());
    // The key was valid under its own id; the id does not change what is checked.
    PublicKey::from_base64(&base64::engine::general_purpose::STANDARD.encode(raw))
        .unwrap_or_else(|_| key.clone())
}

fn fmt(t: DateTime<Utc>) -> String {
    format_sealed(t)
}

/// The keys a verification trusts. Trust comes only from here, never from a bundle.
///
/// Keys are held once per Ed25519 public key and found by key id or by public key through hash
/// maps, so a look-up costs the same whatever the number of keys.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    keys: Vec<TrustedKey>,
    /// The TSA roots the trust files name (`tsa_roots`).
    tsa_roots: Vec<x509_cert::Certificate>,
    /// Key id (the key's own and its aliases) -> index in `keys`.
    by_id: HashMap<KeyId, usize>,
    /// Ed25519 public key -> index in `keys`.
    by_key: HashMap<[u8; 32], usize>,
}

impl Trust {
    /// A trust set from keys given directly. The same public key given twice (under one id or
    /// several) is merged into the strictest statement, as [`Trust::load`] does.
    pub fn new(keys: Vec<TrustedKey>) -> Trust {
        let mut t = Trust::default();
        for k in keys {
            t.merge(k);
        }
        t
    }

    /// Load `--trust` arguments: minisign `.pub` files, trust files, or directories holding
    /// them (`*.pub` and `*.toml`). Weak keys are refused when loaded.
    pub fn load(paths: &[PathBuf]) -> Result<Trust> {
        let mut t = Trust::default();
        t.add_paths(paths, None, Role::Signer)?;
        Ok(t)
    }

    /// Load the `--trust` arguments of the archive commands (`archive audit`, `archive
    /// check-proof`), which check checkpoints only: a plain `.pub` file is the archive's key
    /// (archive role); a trust file's keys keep the roles it gives them, so only those with
    /// `role = "archive"` vouch for a checkpoint.
    pub fn load_archive_keys(paths: &[PathBuf]) -> Result<Trust> {
        let mut t = Trust::default();
        t.add_paths(paths, None, Role::Archive)?;
        Ok(t)
    }

    /// Add archive keys (`verify --archive-key`): every key these files give is trusted to sign
    /// archive checkpoints (and, unless it is also given as a signer, only that).
    pub fn add_archive_keys(&mut self, paths: &[PathBuf]) -> Result<()> {
        self.add_paths(paths, Some(Role::Archive), Role::Archive)
    }

    /// `role`: the role of every key read (else the trust file's); `pub_role`: that of a key
    /// given as a plain `.pub` file when `role` is `None`.
    fn add_paths(&mut self, paths: &[PathBuf], role: Option<Role>, pub_role: Role) -> Result<()> {
        for p in paths {
            if p.is_dir() {
                let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| Error::io(p, e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "pub" || x == "toml"))
                    // Only regular files (or links to them): a FIFO or device is never opened.
                    .filter(|f| std::fs::metadata(f).is_ok_and(|m| m.is_file()))
                    .collect();
                files.sort();
                if files.is_empty() {
                    return Err(Error::invalid(
                        p.display().to_string(),
                        "holds no .pub or .toml trust file",
                    ));
                }
                for f in files {
                    self.add_file(&f, role, pub_role)?;
                }
            } else {
                self.add_file(p, role, pub_role)?;
            }
        }
        Ok(())
    }

    /// Load minisign public key files only.
    pub fn from_public_key_files(paths: &[PathBuf]) -> Result<Trust> {
        let mut t = Trust::default();
        for p in paths {
            t.push(
                p,
                TrustedKey::plain(crate::profile::keyfile::read_public_key(p)?),
            )?;
        }
        Ok(t)
    }

    fn add_file(&mut self, path: &Path, role: Option<Role>, pub_role: Role) -> Result<()> {
        let text = read_bounded(path)?;
        let as_role = |mut k: TrustedKey| {
            if let Some(r) = role {
                k.signer = r == Role::Signer;
                k.archive = r == Role::Archive;
            }
            k
        };
        if text.starts_with(b"untrusted comment:") {
            let k = crate::profile::keyfile::read_public_key(path)?;
            let k = match pub_role {
                Role::Signer => TrustedKey::plain(k),
                Role::Archive => TrustedKey::archive(k),
            };
            self.push(path, as_role(k))
        } else {
            let tf = parse_trust_file(path, &text)?;
            for k in resolve(path, &tf)? {
                self.push(path, as_role(k))?;
            }
            self.tsa_roots.extend(tsa_roots(path, &tf)?);
            Ok(())
        }
    }

    /// Add a key. The same key given twice (a `.pub` file and a trust file, or two trust files)
    /// is merged into the strictest statement: the earliest revocation (a compromise wins a
    /// tie), the narrowest validity window, the first name, both roles. A revocation is never
    /// lost. The same public key under another key id is the same key (an alias). A different
    /// key under an id already given is refused.
    fn push(&mut self, path: &Path, k: TrustedKey) -> Result<()> {
        if let Some(&i) = self.by_id.get(&k.key.key_id()) {
            if self.keys[i].public_bytes() != k.public_bytes() {
                return Err(Error::invalid(
                    path.display().to_string(),
                    format!("two different keys share the id {}", k.key.key_id()),
                ));
            }
        }
        self.merge(k);
        Ok(())
    }

    /// Merge `k` into the key with the same public key, or add it. A key id already taken by
    /// another public key stays with the first (callers that read files refuse that first).
    fn merge(&mut self, k: TrustedKey) {
        let pk = k.public_bytes();
        let Some(&i) = self.by_key.get(&pk) else {
            let i = self.keys.len();
            self.by_key.insert(pk, i);
            for id in std::iter::once(k.key.key_id()).chain(k.aliases.iter().copied()) {
                self.by_id.entry(id).or_insert(i);
            }
            self.keys.push(k);
            return;
        };
        for id in std::iter::once(k.key.key_id()).chain(k.aliases.iter().copied()) {
            if let std::collections::hash_map::Entry::Vacant(v) = self.by_id.entry(id) {
                v.insert(i);
                self.keys[i].aliases.push(id);
            }
        }
        let prev = &mut self.keys[i];
        if prev.name.is_none() {
            prev.name = k.name;
        }
        prev.signer |= k.signer;
        prev.archive |= k.archive;
        prev.valid_from = match (prev.valid_from, k.valid_from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        prev.valid_until = match (prev.valid_until, k.valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        prev.revoked = match (prev.revoked, k.revoked) {
            (Some(a), Some(b)) => {
                if b.0 < a.0 || (b.0 == a.0 && b.1 == Reason::Compromised) {
                    Some(b)
                } else {
                    Some(a)
                }
            }
            (a, b) => a.or(b),
        };
    }

    /// The trusted keys, one per public key.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The roots of trusted Time-Stamping Authorities the trust files name (`tsa_roots`), and
    /// those added with [`Trust::add_tsa_roots`].
    pub fn tsa_roots(&self) -> &[x509_cert::Certificate] {
        &self.tsa_roots
    }

    /// Trust more TSA roots (`--tsa-trust` of `archive audit`).
    pub fn add_tsa_roots(&mut self, roots: impl IntoIterator<Item = x509_cert::Certificate>) {
        self.tsa_roots.extend(roots);
    }

    /// The trusted key with this id (its own or an alias), whatever its role.
    pub fn find(&self, id: KeyId) -> Option<&TrustedKey> {
        self.by_id.get(&id).map(|&i| &self.keys[i])
    }

    /// The trusted key with this Ed25519 public key, whatever id it is given under.
    pub fn find_key(&self, key: &PublicKey) -> Option<&TrustedKey> {
        self.by_key
            .get(key.verifying_key().as_bytes())
            .map(|&i| &self.keys[i])
    }
}

/// Largest trust file docseal reads (about ten thousand keys).
pub const MAX_TRUST_FILE: u64 = 4 << 20;

/// Read at most [`MAX_TRUST_FILE`] bytes of a regular file; a larger one, or anything but a
/// regular file (a FIFO, a device), is refused.
fn read_bounded(path: &Path) -> Result<Vec<u8>> {
    crate::format::input::read_bounded(
        path,
        MAX_TRUST_FILE,
        crate::format::input::Open::regular("trust file"),
    )
}

fn parse_trust_file(path: &Path, bytes: &[u8]) -> Result<TrustFile> {
    let bad = |m: String| Error::invalid(path.display().to_string(), m);
    let text = std::str::from_utf8(bytes).map_err(|_| bad("not a trust file: not UTF-8".into()))?;
    toml::from_str(text).map_err(|e| bad(format!("not a trust file: {}", e.message().trim())))
}

/// Read and parse a trust file (not checking the keys; see [`resolve`]).
pub fn read_trust_file(path: &Path) -> Result<TrustFile> {
    parse_trust_file(path, &read_bounded(path)?)
}

/// Most `tsa_roots` entries one trust file may have.
pub const MAX_TSA_ROOTS: usize = 64;

/// Largest TSA root file a trust file may name.
const MAX_TSA_ROOT_FILE: u64 = 1 << 20;

/// Read the TSA roots a trust file names: a PEM file (relative to the trust file's directory)
/// or the PEM text itself (an entry holding `-----BEGIN`). Errors name the trust file and the
/// entry.
pub fn tsa_roots(path: &Path, tf: &TrustFile) -> Result<Vec<x509_cert::Certificate>> {
    let bad = |what: String| Error::invalid(path.display().to_string(), what);
    if tf.tsa_roots.len() > MAX_TSA_ROOTS {
        return Err(bad(format!(
            "tsa_roots: {} entries, more than {MAX_TSA_ROOTS}",
            tf.tsa_roots.len()
        )));
    }
    let mut out = Vec::new();
    for (i, r) in tf.tsa_roots.iter().enumerate() {
        let (what, pem) = if r.contains("-----BEGIN") {
            (
                format!("tsa_roots[{i}] (inline PEM)"),
                r.as_bytes().to_vec(),
            )
        } else {
            let file = path.parent().unwrap_or(Path::new("")).join(r);
            let bytes = crate::format::input::read_bounded(
                &file,
                MAX_TSA_ROOT_FILE,
                crate::format::input::Open::regular("TSA root"),
            )
            .map_err(|e| bad(format!("tsa_roots[{i}] {r:?}: {e}")))?;
            (format!("tsa_roots[{i}] {r:?}"), bytes)
        };
        let certs =
            crate::format::tsa::chain::load_roots(&pem).map_err(|e| bad(format!("{what}: {e}")))?;
        out.extend(certs);
    }
    Ok(out)
}

/// Check a trust file's entries and turn them into trusted keys.
pub fn resolve(path: &Path, tf: &TrustFile) -> Result<Vec<TrustedKey>> {
    let bad = |what: String| Error::invalid(path.display().to_string(), what);
    let mut out: Vec<TrustedKey> = Vec::new();
    let mut names: HashMap<&str, ()> = HashMap::new();
    let mut ids: HashMap<KeyId, usize> = HashMap::new();
    let mut keys: HashMap<[u8; 32], usize> = HashMap::new();
    for k in &tf.keys {
        check_text(&k.name).map_err(|e| bad(format!("key name {:?}: {e}", k.name)))?;
        if names.insert(k.name.as_str(), ()).is_some() {
            return Err(bad(format!("the name {:?} is used twice", k.name)));
        }
        let key = PublicKey::from_base64(&k.public_key)
            .map_err(|e| bad(format!("key {:?}: {e}", k.name)))?;
        // One entry per key: the same key id, or the same public key under another id (an
        // alias would count as a second signer and escape a revocation of the first).
        let pk = key.verifying_key().to_bytes();
        if let Some(&o) = ids.get(&key.key_id()).or_else(|| keys.get(&pk)) {
            let other: &TrustedKey = &out[o];
            let what = if other.key.key_id() == key.key_id() {
                format!("key {} is already listed", key.key_id())
            } else {
                format!(
                    "the same public key as key {} (another key id for one key) is already listed",
                    other.key.key_id()
                )
            };
            return Err(bad(format!(
                "key {:?}: {what} as {:?}",
                k.name,
                other.name.as_deref().unwrap_or_default()
            )));
        }
        ids.insert(key.key_id(), out.len());
        keys.insert(pk, out.len());
        let time = |s: &Option<String>, field: &str| -> Result<Option<DateTime<Utc>>> {
            s.as_deref()
                .map(|v| parse_time(v).map_err(|e| bad(format!("key {:?}: {field}: {e}", k.name))))
                .transpose()
        };
        let revoked = match &k.revoked {
            Some(r) => Some((
                parse_time(&r.at).map_err(|e| bad(format!("key {:?}: revoked.at: {e}", k.name)))?,
                r.reason,
            )),
            None => None,
        };
        let valid_from = time(&k.valid_from, "valid_from")?;
        let valid_until = time(&k.valid_until, "valid_until")?;
        if let (Some(f), Some(u)) = (valid_from, valid_until) {
            if f > u {
                return Err(bad(format!(
                    "key {:?}: valid_from ({}) is after valid_until ({})",
                    k.name,
                    fmt(f),
                    fmt(u)
                )));
            }
        }
        out.push(TrustedKey {
            key,
            name: Some(k.name.clone()),
            valid_from,
            valid_until,
            revoked,
            signer: k.role == Role::Signer,
            archive: k.role == Role::Archive,
            aliases: Vec::new(),
        });
    }
    Ok(out)
}

/// The lock held while a trust file is read, changed and written: a kernel lock (`flock`) on
/// `PATH.lock`, which the kernel releases when the process ends, however it ends. The lock
/// file is removed (while locked) when dropped; one left by a killed process holds no lock
/// and is taken over by the next command.
struct TrustLock {
    path: PathBuf,
    #[cfg(target_os = "linux")]
    _file: std::fs::File,
}

/// How long a command waits for another to finish changing the trust file.
#[cfg_attr(not(unix), allow(dead_code))]
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl TrustLock {
    #[cfg(target_os = "linux")]
    fn acquire(trust_file: &Path) -> Result<TrustLock> {
        use rustix::fs::{FlockOperation, Mode, OFlags};
        use std::os::unix::fs::MetadataExt;
        let mut name = trust_file.as_os_str().to_owned();
        name.push(".lock");
        let lock = PathBuf::from(name);
        let start = std::time::Instant::now();
        loop {
            let flags = OFlags::RDWR
                | OFlags::CREATE
                | OFlags::NOFOLLOW
                | OFlags::NONBLOCK
                | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(rustix::fs::CWD, &lock, flags, Mode::from_raw_mode(0o600))
                .map_err(|e| Error::io(&lock, e.into()))?;
            let file = std::fs::File::from(fd);
            let meta = file.metadata().map_err(|e| Error::io(&lock, e))?;
            if !meta.is_file() {
                return Err(Error::invalid(
                    lock.display().to_string(),
                    format!(
                        "is {}; the lock file of a trust file must be a regular file",
                        crate::format::input::kind_name(&meta.file_type())
                    ),
                ));
            }
            match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {
                    // Still the lock file (not one removed by its holder meanwhile)?
                    let same = lock
                        .symlink_metadata()
                        .is_ok_and(|m| m.ino() == meta.ino() && m.dev() == meta.dev());
                    if same {
                        return Ok(TrustLock {
                            path: lock,
                            _file: file,
                        });
                    }
                }
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    if start.elapsed() > LOCK_WAIT {
                        return Err(Error::invalid(
                            trust_file.display().to_string(),
                            format!(
                                "is being changed by another docseal command (it holds the lock on {}); try again",
                                lock.display()
                            ),
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(Error::io(&lock, e.into())),
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn acquire(trust_file: &Path) -> Result<TrustLock> {
        let mut name = trust_file.as_os_str().to_owned();
        name.push(".lock");
        Ok(TrustLock {
            path: PathBuf::from(name),
        })
    }
}

impl Drop for TrustLock {
    fn drop(&mut self) {
        // Removed while still locked: a command waiting on it finds it gone and starts over.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Read, change and write a trust file as one step. `change` returns its result and whether
/// to write. A kernel lock (`TrustLock`, on `PATH.lock`) keeps two docseal commands from
/// losing each other's changes. The trust file must be a regular file with one name, or absent
/// (a missing file starts empty when `create` is true): a device, FIFO or directory is refused
/// (never read, never replaced), and so is a file with other hard links (a rewrite would leave
/// them with the old keys). A trust file that is a symlink is updated where it points (so that
/// a revocation lands in the file verifiers read, not in a new file beside the link); the link
/// stays. The write is atomic and keeps the file's permission bits and owner.
pub fn update_trust_file<R>(
    path: &Path,
    create: bool,
    change: impl FnOnce(&mut TrustFile) -> Result<(R, bool)>,
) -> Result<R> {
    let real = match path.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?
        }
        _ => path.to_path_buf(),
    };
    let _lock = TrustLock::acquire(&real)?;
    // Not following a link now: `real` has none (one put there since is refused).
    let opened = match crate::format::input::open(
        &real,
        crate::format::input::Open::regular_nofollow("trust file"),
    ) {
        Ok(o) => Some(o),
        Err(Error::Io { source, .. })
            if create && source.kind() == std::io::ErrorKind::NotFound =>
        {
            None
        }
        Err(e) => return Err(e),
    };
    let mut tf = TrustFile::default();
    let mut keep = None;
    if let Some((file, meta)) = opened {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if meta.nlink() > 1 {
                return Err(Error::invalid(
                    real.display().to_string(),
                    format!(
                        "has {} hard links; a rewrite would leave the other names with the old keys (give it one name, or edit it by hand)",
                        meta.nlink()
                    ),
                ));
            }
        }
        let mut bytes = Vec::new();
        crate::format::input::read_to_end_bounded(
            &file,
            &real,
            MAX_TRUST_FILE,
            "trust file",
            &mut bytes,
        )?;
        tf = parse_trust_file(&real, &bytes)?;
        keep = Some(meta);
    }
    let (r, write) = change(&mut tf)?;
    if write {
        write_trust_file_as(&real, &tf, keep.as_ref())?;
    }
    Ok(r)
}

/// Write a trust file atomically (replacing the old one; see [`update_trust_file`] to change
/// one). Comments other than docseal's header line are not kept. A file larger than
/// [`MAX_TRUST_FILE`] is not written (docseal could not read it back).
pub fn write_trust_file(path: &Path, tf: &TrustFile) -> Result<()> {
    write_trust_file_as(path, tf, None)
}

/// [`write_trust_file`], giving the file the mode and owner of `keep`.
fn write_trust_file_as(
    path: &Path,
    tf: &TrustFile,
    keep: Option<&std::fs::Metadata>,
) -> Result<()> {
    resolve(path, tf)?;
    let mut text =
        String::from("# docseal trust file: the keys docseal verify trusts (docs/SECURITY.md)\n\n");
    text.push_str(
        &toml::to_string(tf)
            .map_err(|e| Error::invalid(path.display().to_string(), e.to_string()))?,
    );
    // Never write what docseal would refuse to read back (a key could no longer be revoked).
    if text.len() as u64 > MAX_TRUST_FILE {
        return Err(Error::invalid(
            path.display().to_string(),
            format!(
                "the rewritten trust file would be {} bytes, over the {MAX_TRUST_FILE}-byte (4 MiB) limit docseal reads; nothing written (split the keys over several trust files)",
                text.len()
            ),
        ));
    }
    let mut out = crate::format::durable::Output::create(path, true)?;
    if let Some(m) = keep {
        out.keep_mode_of(m);
    }
    std::io::Write::write_all(out.file(), text.as_bytes()).map_err(|e| Error::io(path, e))?;
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::minisign::SecretKey;

    fn key(n: u8) -> PublicKey {
        SecretKey::from_seed(&[n; 32], KeyId([n; 8])).public_key()
    }
    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }
    fn code(f: Option<Finding>) -> Option<(Code, String)> {
        f.map(|f| (f.code, f.message))
    }

    #[test]
    fn revocation_needs_an_established_time_before_it() {
        let mut k = TrustedKey::plain(key(1));
        k.revoked = Some((t("2026-03-01"), Reason::Retired));
        let asserted = Some(t("2026-01-01"));
        let (c, m) = code(k.check("sig", asserted, None)).unwrap();
        assert_eq!(c, Code::TrustRevoked);
        assert!(m.contains("sealed at 2026-01-01T00:00:00Z"), "{m}");
        assert!(m.contains("only the signer's word"), "{m}");
        assert!(k.check("sig", asserted, Some(t("2026-02-01"))).is_none());
        let (c, m) = code(k.check("sig", asserted, Some(t("2026-03-01")))).unwrap();
        assert_eq!(c, Code::TrustRevoked);
        assert!(m.contains("first shows this bundle at 2026-03-01"), "{m}");
        k.revoked = Some((t("2026-03-01"), Reason::Compromised));
        let (_, m) = code(k.check("sig", asserted, None)).unwrap();
        assert!(m.contains("compromised"), "{m}");
        assert!(k.check("sig", asserted, Some(t("2026-02-01"))).is_none());
    }

    #[test]
    fn a_revoked_key_proven_earlier_still_needs_its_window() {
        let mut k = TrustedKey::plain(key(1));
        k.revoked = Some((t("2026-03-01"), Reason::Retired));
        k.valid_from = Some(t("2026-02-15"));
        let (c, m) = code(k.check("sig", Some(t("2026-01-01")), Some(t("2026-02-01")))).unwrap();
        assert_eq!(c, Code::TrustOutsideValidity);
        assert!(m.contains("established by the archive log"), "{m}");
    }

    #[test]
    fn every_known_time_must_be_inside_the_window() {
        let mut k = TrustedKey::plain(key(1));
        k.valid_from = Some(t("2026-01-01"));
        k.valid_until = Some(t("2026-12-31"));
        assert!(k.check("sig", Some(t("2026-06-01")), None).is_none());
        assert!(k
            .check("sig", Some(t("2026-06-01")), Some(t("2026-07-01")))
            .is_none());
        let (c, m) = code(k.check("sig", Some(t("2025-06-01")), None)).unwrap();
        assert_eq!(c, Code::TrustOutsideValidity);
        assert!(m.contains("as asserted by the signer"), "{m}");
        assert!(m.contains("before key"), "{m}");
        // The signer's claim is inside, but the archive only saw it after the window.
        let (_, m) = code(k.check("sig", Some(t("2026-06-01")), Some(t("2027-02-01")))).unwrap();
        assert!(
            m.contains("established by the archive log") && m.contains("after key"),
            "{m}"
        );
        // The archive saw it inside, but the signer claims a time before the window.
        let (_, m) = code(k.check("sig", Some(t("2025-06-01")), Some(t("2026-02-01")))).unwrap();
        assert!(m.contains("as asserted by the signer"), "{m}");
    }

    #[test]
    fn the_same_key_twice_merges_into_the_strictest_statement() {
        let p = Path::new("x");
        let mut tr = Trust::default();
        tr.push(p, TrustedKey::plain(key(1))).unwrap();
        let mut named = TrustedKey::plain(key(1));
        named.name = Some("n".into());
        named.valid_until = Some(t("2026-12-31"));
        named.revoked = Some((t("2026-06-01"), Reason::Retired));
        tr.push(p, named.clone()).unwrap();
        let mut other = TrustedKey::plain(key(1));
        other.name = Some("other".into());
        other.valid_from = Some(t("2026-01-01"));
        other.valid_until = Some(t("2027-12-31"));
        other.revoked = Some((t("2026-09-01"), Reason::Compromised));
        tr.push(p, other).unwrap();
        tr.push(p, TrustedKey::plain(key(1))).unwrap();
        assert_eq!(tr.keys.len(), 1);
        let k = &tr.keys[0];
        assert_eq!(k.name.as_deref(), Some("n"));
        assert_eq!(k.valid_from, Some(t("2026-01-01")));
        assert_eq!(k.valid_until, Some(t("2026-12-31")));
        assert_eq!(k.revoked, Some((t("2026-06-01"), Reason::Retired)));
        // At the same time, compromised wins.
        let mut same = TrustedKey::plain(key(1));
        same.revoked = Some((t("2026-06-01"), Reason::Compromised));
        tr.push(p, same).unwrap();
        assert_eq!(
            tr.keys[0].revoked,
            Some((t("2026-06-01"), Reason::Compromised))
        );
        // A different key under the same id is refused.
        let mut clash = TrustedKey::plain(key(2));
        clash.key = SecretKey::from_seed(&[2; 32], KeyId([1; 8])).public_key();
        assert!(tr.push(p, clash).is_err());
    }

    #[test]
    fn issue19_item3_aliases_merge_into_one_key() {
        let p = Path::new("x");
        let mut tr = Trust::default();
        tr.push(p, TrustedKey::plain(key(1))).unwrap();
        let alias_id = KeyId([9; 8]);
        let mut alias = TrustedKey::plain(with_key_id(&key(1), alias_id));
        alias.revoked = Some((t("2026-06-01"), Reason::Compromised));
        tr.push(p, alias).unwrap();
        assert_eq!(tr.keys().len(), 1);
        // Found under either id, with the revocation given under the alias.
        let a = tr.find(key(1).key_id()).unwrap();
        let b = tr.find(alias_id).unwrap();
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.revoked, Some((t("2026-06-01"), Reason::Compromised)));
        assert_eq!(a.key_under(alias_id).key_id(), alias_id);
        assert_eq!(
            a.key_under(alias_id).verifying_key(),
            key(1).verifying_key()
        );
        assert!(std::ptr::eq(tr.find_key(&key(1)).unwrap(), a));
        // Roles merge: given as a signer and as an archive key, it is both.
        let mut arch = Trust::default();
        arch.push(p, TrustedKey::archive(key(2))).unwrap();
        assert!(!arch.keys()[0].signer && arch.keys()[0].archive);
        arch.push(p, TrustedKey::plain(key(2))).unwrap();
        assert!(arch.keys()[0].signer && arch.keys()[0].archive);
    }

    #[test]
    fn resolve_refuses_ambiguous_or_unreadable_entries() {
        let p = Path::new("t.toml");
        let entry = |name: &str, n: u8| KeyEntry {
            name: name.into(),
            public_key: key(n).to_base64(),
            valid_from: None,
            valid_until: None,
            revoked: None,
            role: Role::Signer,
        };
        let ok = TrustFile {
            keys: vec![entry("a", 1), entry("b", 2)],
            ..Default::default()
        };
        assert_eq!(resolve(p, &ok).unwrap().len(), 2);
        let err = |tf: TrustFile| resolve(p, &tf).unwrap_err().to_string();
        assert!(err(TrustFile {
            keys: vec![entry("a", 1), entry("a", 2)],
            ..Default::default()
        })
        .contains("used twice"));
        assert!(err(TrustFile {
            keys: vec![entry("a", 1), entry("b", 1)],
            ..Default::default()
        })
        .contains("already listed"));
        assert!(err(TrustFile {
            keys: vec![entry("a\u{1b}[2J", 1)],
            ..Default::default()
        })
        .contains("control character"));
        // The same public key under another key id: one key, listed twice.
        let mut alias = entry("b", 1);
        alias.public_key = with_key_id(&key(1), KeyId([9; 8])).to_base64();
        assert!(err(TrustFile {
            keys: vec![entry("a", 1), alias],
            ..Default::default()
        })
        .contains("the same public key"));
        let mut w = entry("a", 1);
        w.valid_from = Some("2027-01-01".into());
        w.valid_until = Some("2026-01-01".into());
        assert!(err(TrustFile {
            keys: vec![w],
            ..Default::default()
        })
        .contains("after valid_until"));
    }

    #[test]
    fn oversized_trust_files_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big.toml");
        std::fs::write(&f, vec![b'#'; MAX_TRUST_FILE as usize + 1]).unwrap();
        let e = Trust::load(&[f]).unwrap_err().to_string();
        assert!(e.contains("not a trust file"), "{e}");
    }
}
