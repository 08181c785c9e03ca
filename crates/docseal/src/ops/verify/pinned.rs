//! Keys and TSA roots pinned in a page (`docseal web`): a verification's trust written out as
//! data, and read back into exactly the same trust. The page format: docs/VERIFY.md, "The
//! page".

use super::Report;
use crate::format::minisign::PublicKey;
use crate::profile::trust::{Reason, Trust, TrustedKey};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The version of [`Pinned`]'s format.
pub const PINNED_FORMAT: &str = "docseal-pinned-1";

/// The trust a page carries: every trusted key with what the trust files said about it (after
/// merging, as [`Trust`] holds it), and the TSA roots (PEM).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pinned {
    /// Always [`PINNED_FORMAT`].
    pub format: String,
    /// The keys, in the trust's order.
    pub keys: Vec<PinnedKey>,
    /// The TSA roots, one PEM certificate each.
    #[serde(default)]
    pub tsa_roots: Vec<String>,
}

/// One pinned key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedKey {
    /// The minisign public key line (base64: key id and Ed25519 key).
    pub public_key: String,
    /// Its name in a trust file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Validity window start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Validity window end (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// Revocation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Revocation reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<Reason>,
    /// Trusted to sign bundles.
    pub signer: bool,
    /// Trusted to sign archive checkpoints.
    pub archive: bool,
    /// The same key under other key ids (public key lines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// Why pinned data could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum PinnedError {
    /// Not the format this docseal reads.
    #[error("pinned data format {0:?}, not {PINNED_FORMAT:?}")]
    Format(String),
    /// A key line that is not a usable public key.
    #[error("pinned key {line:?}: {why}")]
    Key {
        /// The line.
        line: String,
        /// Why.
        why: String,
    },
    /// A time that is not RFC 3339.
    #[error("pinned time {0:?} is not an RFC 3339 time")]
    Time(String),
    /// A key with a revocation time and no reason, or the reverse.
    #[error("pinned key {0:?}: a revocation needs both its time and its reason")]
    Revocation(String),
    /// TSA roots that are not PEM certificates.
    #[error("pinned TSA root: {0}")]
    Root(String),
}

fn time_out(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn time_in(s: &str) -> Result<DateTime<Utc>, PinnedError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| PinnedError::Time(s.to_owned()))
}

fn key_in(line: &str) -> Result<PublicKey, PinnedError> {
    PublicKey::from_base64(line).map_err(|e| PinnedError::Key {
        line: line.to_owned(),
        why: e.to_string(),
    })
}

impl Pinned {
    /// Write out `trust` and the TSA roots `tsa_roots`.
    pub fn new(trust: &Trust, tsa_roots: &[x509_cert::Certificate]) -> Result<Pinned, PinnedError> {
        use der::EncodePem as _;
        let keys = trust
            .keys()
            .iter()
            .map(|k| PinnedKey {
                public_key: k.key.to_base64(),
                name: k.name.clone(),
                valid_from: k.valid_from.as_ref().map(time_out),
                valid_until: k.valid_until.as_ref().map(time_out),
                revoked_at: k.revoked.as_ref().map(|r| time_out(&r.0)),
                revoked_reason: k.revoked.map(|r| r.1),
                signer: k.signer,
                archive: k.archive,
                aliases: k
                    .aliases
                    .iter()
                    .map(|id| crate::profile::trust::with_key_id(&k.key, *id).to_base64())
                    .collect(),
            })
            .collect();
        let tsa_roots = tsa_roots
            .iter()
            .map(|c| c.to_pem(der::pem::LineEnding::LF))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PinnedError::Root(e.to_string()))?;
        Ok(Pinned {
            format: PINNED_FORMAT.into(),
            keys,
            tsa_roots,
        })
    }

    /// Read back the keys (in order) and the TSA roots.
    pub fn resolve(&self) -> Result<(Vec<TrustedKey>, Vec<x509_cert::Certificate>), PinnedError> {
        if self.format != PINNED_FORMAT {
            return Err(PinnedError::Format(self.format.clone()));
        }
        let mut keys = Vec::with_capacity(self.keys.len());
        for k in &self.keys {
            let key = key_in(&k.public_key)?;
            let revoked = match (&k.revoked_at, k.revoked_reason) {
                (Some(at), Some(why)) => Some((time_in(at)?, why)),
                (None, None) => None,
                _ => return Err(PinnedError::Revocation(k.public_key.clone())),
            };
            let mut aliases = Vec::with_capacity(k.aliases.len());
            for a in &k.aliases {
                let alias = key_in(a)?;
                if alias.verifying_key() != key.verifying_key() {
                    return Err(PinnedError::Key {
                        line: a.clone(),
                        why: "an alias of another public key".into(),
                    });
                }
                aliases.push(alias.key_id());
            }
            keys.push(TrustedKey {
                key,
                name: k.name.clone(),
                valid_from: k.valid_from.as_deref().map(time_in).transpose()?,
                valid_until: k.valid_until.as_deref().map(time_in).transpose()?,
                revoked,
                signer: k.signer,
                archive: k.archive,
                aliases,
            });
        }
        let mut roots = Vec::new();
        for pem in &self.tsa_roots {
            roots.extend(
                crate::format::tsa::chain::load_roots(pem.as_bytes()).map_err(PinnedError::Root)?,
            );
        }
        Ok((keys, roots))
    }

    /// The pinned trust, as [`Trust`] holds it.
    pub fn trust(&self) -> Result<(Trust, Vec<x509_cert::Certificate>), PinnedError> {
        let (keys, roots) = self.resolve()?;
        Ok((Trust::new(keys), roots))
    }
}

/// One bundle's record exactly as `docseal verify --json` prints it (with `"type": "bundle"`
/// first): the page's `docsealVerify` returns the same object.
pub struct BundleRecord<'a>(pub &'a Report);

impl Serialize for BundleRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Typed<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            #[serde(flatten)]
            value: &'a Report,
        }
        Typed {
            kind: "bundle",
            value: self.0,
        }
        .serialize(s)
    }
}

impl BundleRecord<'_> {
    /// The record as one line of compact JSON (without the newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::minisign::{KeyId, SecretKey};

    fn key(seed: u8, id: &[u8; 8]) -> PublicKey {
        SecretKey::from_seed(&[seed; 32], KeyId(*id)).public_key()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn roots() -> Vec<x509_cert::Certificate> {
        let pem = include_bytes!("../../../../../tests/vectors/bundle-v2/tsa-root.pem");
        crate::format::tsa::chain::load_roots(pem).unwrap()
    }

    /// Every field of every key (the public key by its bytes and id, not its in-memory form).
    fn canon(t: &Trust) -> Vec<String> {
        t.keys()
            .iter()
            .map(|k| {
                format!(
                    "{} {:?} {:?} {:?} {:?} {} {} {:?}",
                    k.key.to_base64(),
                    k.name,
                    k.valid_from,
                    k.valid_until,
                    k.revoked,
                    k.signer,
                    k.archive,
                    k.aliases
                )
            })
            .collect()
    }

    /// Issue 15: what `docseal web` pins reads back into exactly the trust it was made from:
    /// names, windows (to the nanosecond), revocations, roles, aliases, and the TSA roots.
    #[test]
    fn issue15_pinned_trust_round_trips_exactly() {
        let a = key(1, b"newsroom");
        let full = TrustedKey {
            key: a.clone(),
            name: Some("newsroom \"2026\" <x>".into()),
            valid_from: Some(t("2026-01-01T00:00:00Z")),
            valid_until: Some(t("2027-01-01T12:30:00.123456789Z")),
            revoked: Some((t("2026-06-01T00:00:00Z"), Reason::Compromised)),
            signer: true,
            archive: true,
            aliases: Vec::new(),
        };
        let alias = crate::profile::trust::with_key_id(&a, KeyId(*b"alias-id"));
        let trust = Trust::new(vec![
            full,
            TrustedKey::plain(alias),
            TrustedKey::archive(key(2, b"archive!")),
            TrustedKey::plain(key(3, b"plainkey")),
        ]);
        assert_eq!(trust.keys()[0].aliases.len(), 1, "the alias was merged");
        let pinned = Pinned::new(&trust, &roots()).unwrap();
        let json = serde_json::to_string(&pinned).unwrap();
        let back: Pinned = serde_json::from_str(&json).unwrap();
        assert_eq!(back, pinned);
        let (again, again_roots) = back.trust().unwrap();
        assert_eq!(canon(&again), canon(&trust));
        assert_eq!(again_roots, roots());
        assert!(again.find(KeyId(*b"alias-id")).is_some());
    }

    /// Pinned data that is not what `docseal web` writes is refused, never half read.
    #[test]
    fn issue15_bad_pinned_data_is_refused() {
        let trust = Trust::new(vec![TrustedKey::plain(key(1, b"newsroom"))]);
        let good = Pinned::new(&trust, &[]).unwrap();
        let mut p = good.clone();
        p.format = "docseal-pinned-2".into();
        assert!(matches!(p.resolve(), Err(PinnedError::Format(_))));
        let mut p = good.clone();
        p.keys[0].public_key = "RWQ".into();
        assert!(matches!(p.resolve(), Err(PinnedError::Key { .. })));
        let mut p = good.clone();
        p.keys[0].valid_from = Some("yesterday".into());
        assert!(matches!(p.resolve(), Err(PinnedError::Time(_))));
        let mut p = good.clone();
        p.keys[0].revoked_at = Some("2026-01-01T00:00:00Z".into());
        assert!(matches!(p.resolve(), Err(PinnedError::Revocation(_))));
        let mut p = good.clone();
        p.keys[0].aliases = vec![key(2, b"otherkey").to_base64()];
        assert!(matches!(p.resolve(), Err(PinnedError::Key { .. })));
        let mut p = good;
        p.tsa_roots = vec!["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into()];
        assert!(matches!(p.resolve(), Err(PinnedError::Root(_))));
        assert!(serde_json::from_str::<Pinned>(
            r#"{"format":"docseal-pinned-1","keys":[],"extra":1}"#
        )
        .is_err());
    }

    /// The record is `"type": "bundle"` first, then the report's fields, as `verify --json`.
    #[test]
    fn issue15_bundle_record_is_typed_first() {
        let r = super::super::verify_bytes("x.zip", b"not a zip", None, &Default::default());
        let line = BundleRecord(&r).to_json();
        assert!(
            line.starts_with(r#"{"type":"bundle","path":"x.zip","ok":false"#),
            "{line}"
        );
    }
}
