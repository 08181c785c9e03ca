//! Tokens as verification evidence: what `verify` and `inspect` report for each token, and
//! how a trusted token's time joins the archive log's as evidence that a signature existed
//! before its key was revoked (`docs/SECURITY.md`, the same rule as the archive log).

use crate::format::finding::{Code, Finding};
use crate::format::tsa::{
    chain, token, token_file_name, token_name_id, token_name_matches, MAX_TOKENS, MAX_TOKEN_BYTES,
    SIGNATURE_FILE,
};
use crate::format::zip::{self, Limits};
use crate::profile::trust::{Trust, TrustedKey};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
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
    /// The earliest time the token allows (genTime less accuracy): it cannot have been made
    /// before then. Set for a token that is valid by itself; not in the JSON report.
    #[serde(skip)]
    pub earliest: Option<DateTime<Utc>>,
    /// SHA-256 of the token file (to find the same token in an archived copy); not in the
    /// JSON report.
    #[serde(skip)]
    pub sha256: [u8; 32],
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
    check_at(file, SIGNATURE_FILE, der, signature_file, roots, Utc::now())
}

/// [`check`] for a token over any signature file: `file` is the token file (its last path
/// component must be `base.<16 hex>.tsr`, the hex digits being the token's own), `signed` the
/// exact bytes of the file `base` it covers, `now` this machine's time (a token from the future
/// is refused). Besides what [`check`] refuses: a file name that is not the token's own
/// (`tsa.name`: one token has one name, so a bundle cannot hold it twice) and a genTime, less
/// its accuracy, in the future (`tsa.future`). Such a token is reported but counts as nothing.
pub fn check_at(
    file: &str,
    base: &str,
    der: &[u8],
    signed: &[u8],
    roots: Option<&[Certificate]>,
    now: DateTime<Utc>,
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
        earliest: None,
        sha256: Sha256::digest(der).into(),
    };
    let t = match token::check(der, signed) {
        Ok(t) => t,
        Err(e) => return (info, vec![Finding::at(e.code, file, e.message)]),
    };
    info.tsa = Some(t.tsa_subject());
    info.gen_time = Some(t.gen_time_text.clone());
    info.accuracy = t.accuracy_text();
    info.serial = Some(t.serial_hex());
    info.policy = Some(t.tst.policy.to_string());
    let name = file.rsplit('/').next().unwrap_or(file);
    if !token_name_matches(base, name, der) {
        let f = Finding::at(
            Code::TsaName,
            file,
            format!(
                "the file name is not the token's own ({}): one token has one name, so it cannot be held twice",
                token_file_name(base, der)
            ),
        );
        return (info, vec![f]);
    }
    if let Err(e) = t.check_not_future(now) {
        return (info, vec![Finding::at(e.code, file, e.message)]);
    }
    info.established = Some(t.latest());
    info.earliest = Some(t.earliest());
    let mut findings = Vec::new();
    if let Some(roots) = roots {
        if roots.is_empty() {
            findings.push(
                Finding::at(
                    Code::TsaUntrusted,
                    file,
                    "no trusted TSA root was given; the token does not count as evidence",
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

/// A token that an archived copy of the bundle holds, byte for byte, must not be later than
/// the checkpoint that logged the copy: the copy (token included) existed by the checkpoint's
/// time, so a token whose earliest time (genTime less accuracy) is after it means that the
/// TSA's clock or the archive's is wrong (`tsa.after_archive`, an error: neither can be relied
/// on for this bundle). A token added to the bundle after it was archived is not in the
/// archived copy and is not compared. `copies`: (time of the checkpoint, the SHA-256 of every
/// token file the copy holds), as [`archived_tokens`] reads them.
pub fn check_against_archive(info: &TimestampInfo, copies: &[CopyTokens]) -> Option<Finding> {
    let earliest = info.earliest?;
    let logged = copies
        .iter()
        .filter(|(_, tokens)| tokens.contains(&info.sha256))
        .map(|(t, _)| *t)
        .min()?;
    (earliest > logged).then(|| {
        Finding::at(
            Code::TsaAfterArchive,
            info.file.clone(),
            format!(
                "genTime {} is after the archive checkpoint of {} that logged a copy of the bundle holding this token: the TSA's clock or the archive's is wrong",
                info.gen_time.as_deref().unwrap_or_default(),
                logged.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        )
    })
}

/// A bundle copy an archive log vouches for: its entry's file digest, under a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivedCopy {
    /// The time of the first counted checkpoint by `archive_key` that includes the entry.
    pub time: DateTime<Utc>,
    /// The Ed25519 public key that signed that checkpoint.
    pub archive_key: [u8; 32],
    /// SHA-256 of the archived bundle file, as the log entry records it.
    pub file_sha256: [u8; 32],
    /// Where the archived copy is (`ARCHIVE/bundles/NAME`).
    pub copy: PathBuf,
}

/// An archived copy as [`check_against_archive`] needs it: the time of the checkpoint that
/// logged it, and the SHA-256 of every token file it holds.
pub type CopyTokens = (DateTime<Utc>, Vec<[u8; 32]>);

/// The tokens that archived copies of one bundle content hold, read once, when a token first
/// needs them ([`check_against_archive`]).
pub struct ArchivedTokens<'a> {
    copies: &'a [ArchivedCopy],
    limits: &'a Limits,
    read: Option<Vec<CopyTokens>>,
}

impl<'a> ArchivedTokens<'a> {
    /// For the archived copies of the bundle's content (`Options::established`).
    pub fn new(copies: &'a [ArchivedCopy], limits: &'a Limits) -> Self {
        ArchivedTokens {
            copies,
            limits,
            read: None,
        }
    }

    /// [`check_against_archive`] for one token; a token it refuses no longer counts as
    /// evidence (its `established` time is cleared).
    pub fn check(&mut self, info: &mut TimestampInfo) -> Option<Finding> {
        if info.earliest.is_none() || self.copies.is_empty() {
            return None;
        }
        let (copies, limits) = (self.copies, self.limits);
        let read = self.read.get_or_insert_with(|| {
            copies
                .iter()
                .filter_map(|c| {
                    archived_tokens(&c.copy, &c.file_sha256, limits).map(|t| (c.time, t))
                })
                .collect()
        });
        let f = check_against_archive(info, read);
        if f.is_some() {
            info.established = None;
        }
        f
    }
}

/// The SHA-256 of every token file in the archived bundle file `copy`, if the file's SHA-256 is
/// `file_sha256` (the log entry's); `None` otherwise (missing, changed, unreadable, or not a
/// bundle ZIP within `limits`).
pub fn archived_tokens(
    copy: &Path,
    file_sha256: &[u8; 32],
    limits: &Limits,
) -> Option<Vec<[u8; 32]>> {
    let file = std::fs::File::open(copy).ok()?;
    let len = file.metadata().ok()?.len();
    let mut r = &file;
    if crate::profile::bagit::sha256_reader(&mut r, len).ok()? != *file_sha256 {
        return None;
    }
    let entries = zip::read_strict(&mut r, len, limits).ok()?;
    let mut out = Vec::new();
    for e in entries
        .iter()
        .filter(|e| token_name_id(&e.name).is_some())
        .take(MAX_TOKENS)
    {
        if e.size > MAX_TOKEN_BYTES as u64 {
            continue;
        }
        out.push(zip::hash_entry(&mut r, e, None).ok()?.sha256);
    }
    Some(out)
}

/// The TSA roots a verification trusts: `given` (`--tsa-trust`) and those the trust files
/// name (`tsa_roots`).
pub fn roots<'a>(given: &'a [Certificate], trust: Option<&Trust>) -> Cow<'a, [Certificate]> {
    match trust.map(|t| t.tsa_roots()).filter(|r| !r.is_empty()) {
        None => Cow::Borrowed(given),
        Some(more) => Cow::Owned(given.iter().chain(more).cloned().collect()),
    }
}

/// The earlier of two established times.
pub fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// After a signature by `tk` passed: when the key is revoked, the line for the report's
/// `evidence` saying which evidence (a timestamp token, found in `timestamps`, or the archive
/// log) showed the signature existed before the revocation.
pub fn note(
    timestamps: &[TimestampInfo],
    sig_file: &str,
    tk: Option<&TrustedKey>,
    archive: Option<DateTime<Utc>>,
    stamped: Option<&(DateTime<Utc>, String)>,
) -> Option<String> {
    let (at, _) = tk.and_then(|k| k.revoked)?;
    let f = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let by_token = stamped.filter(|(t, _)| *t < at);
    let by_archive = archive.filter(|t| *t < at);
    let what = match (by_token, by_archive) {
        (Some((t, file)), a) if a.is_none_or(|a| *t <= a) => {
            let tsa = timestamps
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
        _ => return None,
    };
    Some(format!(
        "{sig_file}: key {} was revoked at {}; {what}, before the revocation",
        tk.map(|k| k.key.key_id().to_string()).unwrap_or_default(),
        f(at)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tsa::token_name;
    use chrono::TimeZone;

    /// The token of the committed v2 vector (`tests/vectors/bundle-v2/timestamped.zip`, genTime
    /// 2026-11-30T10:49:09Z, accuracy 1 s) and the signature file it covers.
    fn vector() -> (String, Vec<u8>, Vec<u8>) {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/vectors/bundle-v2/timestamped.zip");
        let bytes = std::fs::read(p).unwrap();
        let mut r = std::io::Cursor::new(&bytes);
        let entries = zip::read_strict(&mut r, bytes.len() as u64, &Limits::default()).unwrap();
        let get = |name: &str| {
            let e = entries.iter().find(|e| e.name == name).unwrap();
            bytes[e.data_offset as usize..(e.data_offset + e.size) as usize].to_vec()
        };
        let tok = entries
            .iter()
            .find(|e| token_name_id(&e.name).is_some())
            .unwrap()
            .name
            .clone();
        (tok.clone(), get(&tok), get(SIGNATURE_FILE))
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn issue14_signature_file_name_is_the_profiles() {
        assert_eq!(SIGNATURE_FILE, crate::profile::bagit::SIGNATURE);
    }

    #[test]
    fn issue14_token_name_must_be_the_tokens_own() {
        let (name, der, sig) = vector();
        assert_eq!(name, token_name(&der));
        let now = at("2026-12-01T00:00:00Z");
        let (info, f) = check_at(&name, SIGNATURE_FILE, &der, &sig, None, now);
        assert!(f.is_empty(), "{f:?}");
        assert!(info.established.is_some());
        // The same token under another name: refused, counts as nothing.
        let other = format!("{SIGNATURE_FILE}.0123456789ABCDEF.tsr");
        let (info, f) = check_at(&other, SIGNATURE_FILE, &der, &sig, Some(&[]), now);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, Code::TsaName);
        assert!(f[0].message.contains(&name), "{}", f[0].message);
        assert_eq!(info.established, None);
        assert_eq!(info.trusted, Some(false));
        // A path's last component is the name; a checkpoint token has its own base.
        let (_, f) = check_at(&format!("x/{name}"), SIGNATURE_FILE, &der, &sig, None, now);
        assert!(f.is_empty(), "{f:?}");
        let cp = token_file_name("7.minisig", &der);
        assert!(token_name_matches("7.minisig", &cp, &der));
        assert!(!token_name_matches("8.minisig", &cp, &der));
        assert!(!token_name_matches("7.minisig", &cp.to_lowercase(), &der));
    }

    #[test]
    fn issue14_token_from_the_future_is_refused() {
        let (name, der, sig) = vector();
        // genTime 10:49:09 with ±1s: made at 10:49:08 at the earliest; 60 s of clock skew.
        for (now, future) in [
            ("2026-11-30T10:48:08Z", false),
            ("2026-11-30T10:48:07Z", true),
            ("2026-01-01T00:00:00Z", true),
            ("2030-01-01T00:00:00Z", false),
        ] {
            let (info, f) = check_at(&name, SIGNATURE_FILE, &der, &sig, None, at(now));
            assert_eq!(
                f.iter().any(|f| f.code == Code::TsaFuture),
                future,
                "{now}: {f:?}"
            );
            assert_eq!(info.established.is_none(), future, "{now}");
            assert_eq!(info.gen_time.as_deref(), Some("20261130104909Z"));
        }
    }

    #[test]
    fn issue14_token_later_than_the_archive_that_held_it() {
        let (name, der, sig) = vector();
        let (mut info, _) = check_at(&name, SIGNATURE_FILE, &der, &sig, None, Utc::now());
        assert_eq!(info.earliest, Some(at("2026-11-30T10:49:08Z")));
        let held = vec![info.sha256];
        let before = Utc.with_ymd_and_hms(2026, 11, 30, 10, 49, 7).unwrap();
        let same = Utc.with_ymd_and_hms(2026, 11, 30, 10, 49, 8).unwrap();
        // A copy logged before the token's earliest time, holding it: contradiction.
        let f = check_against_archive(&info, &[(before, held.clone())]).unwrap();
        assert_eq!(f.code, Code::TsaAfterArchive);
        assert!(f.message.contains("2026-11-30T10:49:07Z"), "{}", f.message);
        // The earliest copy counts.
        assert!(
            check_against_archive(&info, &[(same, held.clone()), (before, held.clone())]).is_some()
        );
        // Logged at (or after) the token's earliest time: consistent.
        assert!(check_against_archive(&info, &[(same, held.clone())]).is_none());
        // A copy that does not hold this token (it was added after archiving): not compared.
        assert!(check_against_archive(&info, &[(before, vec![[0; 32]])]).is_none());
        assert!(check_against_archive(&info, &[]).is_none());
        // An invalid token (no earliest time) is never compared.
        info.earliest = None;
        assert!(check_against_archive(&info, &[(before, held)]).is_none());
    }

    #[test]
    fn issue14_trust_file_names_tsa_roots() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/vectors/bundle-v2/tsa-root.pem");
        let pem = std::fs::read_to_string(&root).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ca")).unwrap();
        std::fs::write(dir.path().join("ca/root.pem"), &pem).unwrap();
        let tf = dir.path().join("trust.toml");
        // A path relative to the trust file (not to the working directory) and an inline PEM.
        std::fs::write(
            &tf,
            format!("tsa_roots = [\"ca/root.pem\", \"\"\"\n{pem}\"\"\"]\n"),
        )
        .unwrap();
        let t = Trust::load(std::slice::from_ref(&tf)).unwrap();
        assert_eq!(t.tsa_roots().len(), 2);
        assert_eq!(t.keys().len(), 0);
        assert_eq!(roots(&[], Some(&t)).len(), 2);
        assert_eq!(roots(&t.tsa_roots()[..1], Some(&t)).len(), 3);
        assert_eq!(roots(&t.tsa_roots()[..1], None).len(), 1);
        // The roots survive a rewrite of the trust file (key trust / key revoke).
        let parsed = crate::profile::trust::read_trust_file(&tf).unwrap();
        assert_eq!(parsed.tsa_roots.len(), 2);
        let copy = dir.path().join("copy.toml");
        crate::profile::trust::write_trust_file(&copy, &parsed).unwrap();
        let again = crate::profile::trust::read_trust_file(&copy).unwrap();
        assert_eq!(again, parsed);
        // Errors name the trust file and the entry.
        for (body, want) in [
            ("tsa_roots = [\"missing.pem\"]\n", "tsa_roots[0] \"missing.pem\""),
            ("tsa_roots = [\"bad.toml\"]\n", "tsa_roots[0] \"bad.toml\""),
            (
                "tsa_roots = [\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\"]\n",
                "tsa_roots[0] (inline PEM)",
            ),
            ("tsa_roots = \"ca/root.pem\"\n", "not a trust file"),
        ] {
            let bad = dir.path().join("bad.toml");
            std::fs::write(&bad, body).unwrap();
            let e = Trust::load(std::slice::from_ref(&bad)).unwrap_err().to_string();
            assert!(e.contains("bad.toml") && e.contains(want), "{body}: {e}");
        }
    }
}
