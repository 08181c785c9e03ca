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
//! ```
//!
//! Trust never comes from a bundle. What a sealing time proves: `dateSealed` is the signer's
//! own word. A key revoked at time T makes its bundles fail, except bundles whose sealing
//! before T is established by something other than the signer: a checkpoint of an archive log
//! that included the bundle before T (see `docs/SECURITY.md`).

use crate::error::{Error, Result};
use crate::finding::{Code, Finding};
use crate::minisign::{KeyId, PublicKey};
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
}

/// A trust file, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
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
}

impl TrustedKey {
    /// A key trusted without conditions (a plain `.pub` file).
    pub fn plain(key: PublicKey) -> Self {
        TrustedKey {
            key,
            name: None,
            valid_from: None,
            valid_until: None,
            revoked: None,
        }
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
        if let Some((at, reason)) = self.revoked {
            let why = match reason {
                Reason::Retired => "retired",
                Reason::Compromised => "compromised",
            };
            return match established {
                Some(t) if t < at => None,
                Some(t) => Some(Finding::at(
                    Code::TrustRevoked,
                    file,
                    format!("key {id} was {why} at {}; the archive log first shows this bundle at {}, not before", fmt(at), fmt(t)),
                )),
                None => Some(Finding::at(
                    Code::TrustRevoked,
                    file,
                    format!(
                        "key {id} was {why} at {}; the bundle's sealing time is only the signer's word (give an archive log that includes it to establish it)",
                        fmt(at)
                    ),
                )),
            };
        }
        let when = established.or(asserted)?;
        if self.valid_from.is_some_and(|f| when < f) || self.valid_until.is_some_and(|u| when > u) {
            return Some(Finding::at(
                Code::TrustOutsideValidity,
                file,
                format!(
                    "sealed at {} (as asserted by the signer), outside key {id}'s validity window",
                    fmt(when)
                ),
            ));
        }
        None
    }
}

fn fmt(t: DateTime<Utc>) -> String {
    crate::metadata::format_sealed(t)
}

/// Parse an RFC 3339 time or a plain date (midnight UTC).
pub fn parse_time(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    let norm = crate::metadata::normalize_sealed(s)?;
    DateTime::parse_from_rfc3339(&norm)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

/// The keys a verification trusts. Trust comes only from here, never from a bundle.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// The trusted keys.
    pub keys: Vec<TrustedKey>,
}

impl Trust {
    /// Load `--trust` arguments: minisign `.pub` files, trust files, or directories holding
    /// them (`*.pub` and `*.toml`). Weak keys are refused when loaded.
    pub fn load(paths: &[PathBuf]) -> Result<Trust> {
        let mut t = Trust::default();
        for p in paths {
            if p.is_dir() {
                let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| Error::io(p, e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "pub" || x == "toml"))
                    .collect();
                files.sort();
                if files.is_empty() {
                    return Err(Error::invalid(
                        p.display().to_string(),
                        "holds no .pub or .toml trust file",
                    ));
                }
                for f in files {
                    t.add_file(&f)?;
                }
            } else {
                t.add_file(p)?;
            }
        }
        Ok(t)
    }

    /// Load minisign public key files only.
    pub fn from_public_key_files(paths: &[PathBuf]) -> Result<Trust> {
        let mut keys = Vec::new();
        for p in paths {
            keys.push(TrustedKey::plain(crate::keyfile::read_public_key(p)?));
        }
        Ok(Trust { keys })
    }

    fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if text.starts_with(b"untrusted comment:") {
            let k = crate::keyfile::read_public_key(path)?;
            self.push(path, TrustedKey::plain(k))
        } else {
            let tf = read_trust_file(path)?;
            for k in resolve(path, &tf)? {
                self.push(path, k)?;
            }
            Ok(())
        }
    }

    fn push(&mut self, path: &Path, k: TrustedKey) -> Result<()> {
        if let Some(prev) = self.keys.iter().find(|p| p.key.key_id() == k.key.key_id()) {
            if prev.key != k.key {
                return Err(Error::invalid(
                    path.display().to_string(),
                    format!("two different keys share the id {}", k.key.key_id()),
                ));
            }
            // The same key twice: the stricter statement wins (a revocation is never lost).
            if k.revoked.is_some() || (k.name.is_some() && prev.name.is_none()) {
                let i = self
                    .keys
                    .iter()
                    .position(|p| p.key.key_id() == k.key.key_id())
                    .unwrap_or(0);
                self.keys[i] = k;
            }
            return Ok(());
        }
        self.keys.push(k);
        Ok(())
    }

    /// The trusted key with this id.
    pub fn find(&self, id: KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key.key_id() == id)
    }
}

/// Read and parse a trust file (not checking the keys).
pub fn read_trust_file(path: &Path) -> Result<TrustFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    toml::from_str(&text).map_err(|e| {
        Error::invalid(
            path.display().to_string(),
            format!("not a trust file: {}", e.message()),
        )
    })
}

/// Check a trust file's entries and turn them into trusted keys.
pub fn resolve(path: &Path, tf: &TrustFile) -> Result<Vec<TrustedKey>> {
    let bad = |what: String| Error::invalid(path.display().to_string(), what);
    let mut out = Vec::new();
    let mut names: HashMap<&str, ()> = HashMap::new();
    for k in &tf.keys {
        if names.insert(k.name.as_str(), ()).is_some() {
            return Err(bad(format!("the name {:?} is used twice", k.name)));
        }
        let key = PublicKey::from_base64(&k.public_key)
            .map_err(|e| bad(format!("key {:?}: {e}", k.name)))?;
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
        out.push(TrustedKey {
            key,
            name: Some(k.name.clone()),
            valid_from: time(&k.valid_from, "valid_from")?,
            valid_until: time(&k.valid_until, "valid_until")?,
            revoked,
        });
    }
    Ok(out)
}

/// Write a trust file atomically (replacing the old one).
pub fn write_trust_file(path: &Path, tf: &TrustFile) -> Result<()> {
    resolve(path, tf)?;
    let mut text =
        String::from("# docseal trust file: the keys docseal verify trusts (docs/SECURITY.md)\n\n");
    text.push_str(
        &toml::to_string(tf)
            .map_err(|e| Error::invalid(path.display().to_string(), e.to_string()))?,
    );
    crate::atomic::write(path, text.as_bytes(), true)
}
