//! Tokens as verification evidence: what `verify` and `inspect` report for each token, and
//! how a trusted token's time joins the archive log's as evidence that a signature existed
//! before its key was revoked (`docs/SECURITY.md`, the same rule as the archive log).

use crate::format::finding::{Code, Finding};
use crate::format::tsa::{chain, token};
use crate::ops::verify::Report;
use crate::profile::trust::TrustedKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use x509_cert::Certificate;

/// One timestamp token in a report.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TimestampInfo {
    /// The token file.
    pub file: String,
    /// The TSA certificate's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsa: Option<String>,
    /// genTime as the token writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gen_time: Option<String>,
    /// The accuracy, e.g. `±1s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<String>,
    /// The token's serial number, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// The TSA policy OID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// `true`: the TSA chains to a `--tsa-trust` root at genTime; `false`: it does not, or the
    /// token is invalid; absent: no trust decision (`inspect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// The trusted root reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// The latest time the token allows (genTime plus accuracy): the signature existed by
    /// then. Set for a token that is valid by itself.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_time")]
    pub established: Option<DateTime<Utc>>,
}

fn ser_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => s.serialize_none(),
    }
}

/// Check one stored token against the signature file's bytes. `roots`: `None` for inspect (no
/// trust decision), the `--tsa-trust` roots for verify. Returns what to report and the
/// findings: a token that is invalid by itself is an error; one whose TSA is not trusted (or
/// whose chain was not valid at genTime) is a warning and does not count as evidence.
pub fn check(
    file: &str,
    der: &[u8],
    signature_file: &[u8],
    roots: Option<&[Certificate]>,
) -> (TimestampInfo, Vec<Finding>) {
    let mut info = TimestampInfo {
        file: file.to_string(),
        tsa: None,
        gen_time: None,
        accuracy: None,
        serial: None,
        policy: None,
        trusted: roots.map(|_| false),
        root: None,
        established: None,
    };
    let t = match token::check(der, signature_file) {
        Ok(t) => t,
        Err(e) => return (info, vec![Finding::at(e.code, file, e.message)]),
    };
    info.tsa = Some(t.tsa_subject());
    info.gen_time = Some(t.gen_time_text.clone());
    info.accuracy = t.accuracy_text();
    info.serial = Some(t.serial_hex());
    info.policy = Some(t.tst.policy.to_string());
    info.established = Some(t.latest());
    let mut findings = Vec::new();
    if let Some(roots) = roots {
        if roots.is_empty() {
            findings.push(
                Finding::at(
                    Code::TsaUntrusted,
                    file,
                    "no --tsa-trust root given; the token does not count as evidence",
                )
                .warning(),
            );
        } else {
            match chain::check(&t, roots) {
                Ok(root) => {
                    info.trusted = Some(true);
                    info.root = Some(root);
                }
                Err(e) => findings.push(Finding::at(e.code, file, e.message).warning()),
            }
        }
    }
    (info, findings)
}

/// The earlier of two established times.
pub fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// After a signature by `tk` passed: when the key is revoked, record in the report which
/// evidence (a timestamp token or the archive log) showed the signature existed before the
/// revocation.
pub fn note(
    report: &mut Report,
    sig_file: &str,
    tk: Option<&TrustedKey>,
    archive: Option<DateTime<Utc>>,
    stamped: Option<&(DateTime<Utc>, String)>,
) {
    let Some((at, _)) = tk.and_then(|k| k.revoked) else {
        return;
    };
    let f = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let by_token = stamped.filter(|(t, _)| *t < at);
    let by_archive = archive.filter(|t| *t < at);
    let what = match (by_token, by_archive) {
        (Some((t, file)), a) if a.is_none_or(|a| *t <= a) => {
            let tsa = report
                .timestamps
                .iter()
                .find(|i| i.file == *file)
                .and_then(|i| i.tsa.clone())
                .unwrap_or_default();
            format!(
                "timestamp token {file} (TSA {tsa}) shows it existed by {}",
                f(*t)
            )
        }
        (_, Some(a)) => format!("the archive log shows it existed by {}", f(a)),
        _ => return,
    };
    report.evidence.push(format!(
        "{sig_file}: key {} was revoked at {}; {what}, before the revocation",
        tk.map(|k| k.key.key_id().to_string()).unwrap_or_default(),
        f(at)
    ));
}
