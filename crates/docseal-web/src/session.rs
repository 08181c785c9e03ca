//! One verification as the page asks for it: the keys (pinned in the page, and added by hand),
//! the library's verification, and what the page shows around the record.

use docseal::minisign::PublicKey;
use docseal::verify::{self, Options, ReadSeek, Report, Trust, TrustedKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What the page passes with each bundle.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The keys and TSA roots pinned in the page by `docseal web`.
    #[serde(default)]
    pub pinned: Option<verify::Pinned>,
    /// Public keys added by hand: `.pub` file texts or single base64 key lines.
    #[serde(default)]
    pub added: Vec<String>,
}

/// A key the page trusts, as shown.
#[derive(Serialize)]
pub struct KeyView {
    /// Key id, as minisign prints it.
    pub key_id: String,
    /// SHA-256 of the Ed25519 public key, hex (as `SignerInfo::fingerprint`).
    pub fingerprint: String,
    /// Its name in the trust file it was pinned from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `pinned` (written into the page) or `added` (by hand, in this page).
    pub source: &'static str,
    /// Trusted to sign bundles (not only archive checkpoints).
    pub signer: bool,
}

/// A verified file: where its bytes lie in the bundle file (stored, uncompressed).
#[derive(Serialize)]
pub struct FileView {
    /// Path inside the bundle.
    pub path: String,
    /// Offset of its data in the bundle file.
    pub offset: u64,
    /// Its size.
    pub size: u64,
}

/// What the page shows for one bundle.
#[derive(Serialize)]
pub struct Outcome {
    /// The bundle record, exactly as one line of `docseal verify --json` (JSON text).
    pub record: String,
    /// `passed`, `failed`, or `untrusted` (every check passes but no trusted key signed).
    pub verdict: &'static str,
    /// The keys this verification trusted.
    pub keys: Vec<KeyView>,
    /// Every finding code in the record with its sentence from docs/VERIFY.md.
    pub codes: BTreeMap<&'static str, &'static str>,
    /// Where the files lie, after a pass only (nothing is offered from a bundle that failed).
    pub files: Vec<FileView>,
}

impl Outcome {
    /// As JSON for the page.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
    }
}

/// Parse a key added by hand: a `.pub` file's text, or the base64 line of one.
pub fn parse_added_key(text: &str) -> Result<PublicKey, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty: paste a public key line or choose a .pub file".into());
    }
    let parsed = if t.starts_with("untrusted comment:") {
        PublicKey::from_file_bytes(text.as_bytes())
    } else if t.contains('\n') {
        return Err("not a public key: give one base64 line or a whole .pub file".into());
    } else {
        PublicKey::from_base64(t)
    };
    parsed.map_err(|e| format!("not a usable public key: {e}"))
}

fn fingerprint(k: &PublicKey) -> String {
    let d = Sha256::digest(k.verifying_key().to_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The trust and options for one run, and the keys as shown.
fn setup(config: &Config) -> Result<(Trust, Options, Vec<KeyView>), String> {
    let mut opts = Options::default();
    let mut keys: Vec<TrustedKey> = Vec::new();
    if let Some(p) = &config.pinned {
        let (k, roots) = p
            .resolve()
            .map_err(|e| format!("the page's pinned keys: {e}"))?;
        keys = k;
        opts.tsa_roots = roots;
    }
    let pinned = keys.len();
    for (i, text) in config.added.iter().enumerate() {
        let k = parse_added_key(text).map_err(|e| format!("added key {}: {e}", i + 1))?;
        let id = k.key_id();
        if let Some(other) = keys
            .iter()
            .find(|o| o.key.key_id() == id || o.aliases.contains(&id))
        {
            if other.public_bytes() != k.verifying_key().to_bytes() {
                return Err(format!(
                    "added key {}: another key already has the id {}",
                    i + 1,
                    k.key_id()
                ));
            }
        }
        keys.push(TrustedKey::plain(k));
    }
    let view = keys
        .iter()
        .enumerate()
        .map(|(i, k)| KeyView {
            key_id: k.key.key_id().to_string(),
            fingerprint: fingerprint(&k.key),
            name: k.name.clone(),
            source: if i < pinned { "pinned" } else { "added" },
            signer: k.signer,
        })
        .collect();
    Ok((Trust::new(keys), opts, view))
}

fn parse_config(config: &str) -> Result<Config, String> {
    serde_json::from_str(config).map_err(|e| format!("bad configuration: {e}"))
}

/// The keys `config` (JSON) trusts, as JSON for the page; or why one of them is refused.
pub fn keys(config: &str) -> Result<String, String> {
    let (_, _, view) = setup(&parse_config(config)?)?;
    serde_json::to_string(&view).map_err(|e| e.to_string())
}

/// Verify the bundle `r` (`len` bytes, named `label`) with the keys in `config` (JSON).
pub fn run(label: &str, r: &mut dyn ReadSeek, len: u64, config: &str) -> Result<Outcome, String> {
    let config = parse_config(config)?;
    let (trust, opts, keys) = setup(&config)?;
    let report = verify::verify_reader(label, r, len, Some(&trust), &opts);
    let verdict = if report.ok {
        "passed"
    } else if only_untrusted(&report) && verify::verify_reader(label, r, len, None, &opts).ok {
        "untrusted"
    } else {
        "failed"
    };
    let files = if report.ok {
        locate(r, len, &opts, &report)
    } else {
        Vec::new()
    };
    let codes = report
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.code.describe()))
        .collect();
    Ok(Outcome {
        record: verify::BundleRecord(&report).to_json(),
        verdict,
        keys,
        codes,
        files,
    })
}

/// Whether every error is about trust alone (a signature by a key that is not trusted).
fn only_untrusted(r: &Report) -> bool {
    let errors = r.error_codes();
    !errors.is_empty() && errors.iter().all(|c| c.as_str() == "sig.untrusted_key")
}

/// Where each verified file's bytes are: the bundle's entries read again, and kept only when
/// they are exactly the files verified (same names, sizes, order).
fn locate(r: &mut dyn ReadSeek, len: u64, opts: &Options, report: &Report) -> Vec<FileView> {
    let Ok(entries) = docseal::zipfmt::read_strict(&mut &mut *r, len, &opts.limits) else {
        return Vec::new();
    };
    let same = entries.len() == report.files.len()
        && entries
            .iter()
            .zip(&report.files)
            .all(|(e, f)| e.name == f.path && e.size == f.size);
    if !same {
        return Vec::new();
    }
    entries
        .into_iter()
        .map(|e| FileView {
            path: e.name,
            offset: e.data_offset,
            size: e.size,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const SAMPLE: &[u8] = include_bytes!("../../../archive/sample.zip");
    const SAMPLE_PUB: &str = include_str!("../../../keys/sample.pub");

    fn go(bytes: &[u8], added: &[&str]) -> Result<Outcome, String> {
        let config = serde_json::json!({ "pinned": null, "added": added }).to_string();
        run(
            "b.zip",
            &mut Cursor::new(bytes),
            bytes.len() as u64,
            &config,
        )
    }

    /// Issue 15: a pass locates every verified file, byte for byte, for the page's downloads.
    #[test]
    fn issue15_pass_locates_every_verified_file() {
        let o = go(SAMPLE, &[SAMPLE_PUB]).unwrap();
        assert_eq!(o.verdict, "passed");
        let record: serde_json::Value = serde_json::from_str(&o.record).unwrap();
        let files = record["files"].as_array().unwrap();
        assert_eq!(o.files.len(), files.len());
        for (at, f) in o.files.iter().zip(files) {
            let bytes = &SAMPLE[at.offset as usize..(at.offset + at.size) as usize];
            let d: String = Sha256::digest(bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(f["sha256"], d.as_str(), "{}", at.path);
        }
        assert_eq!(o.keys.len(), 1);
        assert_eq!(o.keys[0].source, "added");
    }

    /// Without a trusted key: "signature valid, key not trusted", and nothing to download.
    #[test]
    fn issue15_untrusted_and_failed_verdicts_offer_nothing() {
        let o = go(SAMPLE, &[]).unwrap();
        assert_eq!(o.verdict, "untrusted");
        assert!(o.files.is_empty());
        assert!(o.codes.contains_key("sig.untrusted_key"));
        let mut bad = SAMPLE.to_vec();
        let at = bad.len() / 3;
        bad[at] ^= 1;
        let o = go(&bad, &[SAMPLE_PUB]).unwrap();
        assert_eq!(o.verdict, "failed");
        assert!(o.files.is_empty());
        let o = go(&bad, &[]).unwrap();
        assert_eq!(o.verdict, "failed", "a changed bundle is never 'untrusted'");
    }

    /// A key added by hand: a base64 line or a .pub text; anything else is refused by name.
    #[test]
    fn issue15_keys_added_by_hand() {
        let line = SAMPLE_PUB.lines().nth(1).unwrap();
        assert_eq!(go(SAMPLE, &[line]).unwrap().verdict, "passed");
        for bad in ["", "RWQ", "untrusted comment: x\nRWQ\n", "RWQa\nRWQb"] {
            let e = go(SAMPLE, &[bad]).err().unwrap();
            assert!(e.starts_with("added key 1: "), "{e}");
        }
        let e = run("b.zip", &mut Cursor::new(SAMPLE), 3, "{\"nope\":1}")
            .err()
            .unwrap();
        assert!(e.starts_with("bad configuration"), "{e}");
    }

    /// A key added by hand under an id the pinned trust already gives another key as an alias
    /// is refused, as `docseal verify --trust` refuses two keys sharing an id.
    #[test]
    fn attack_web_added_key_under_a_pinned_alias_id() {
        use docseal::minisign::{KeyId, SecretKey};
        use docseal::verify::{Pinned, Trust, TrustedKey};
        let pinned = SecretKey::from_seed(&[1; 32], KeyId(*b"newsroom")).public_key();
        let alias = docseal::trust::with_key_id(&pinned, KeyId(*b"alias-id"));
        let trust = Trust::new(vec![TrustedKey::plain(pinned), TrustedKey::plain(alias)]);
        let p = Pinned::new(&trust, &[]).unwrap();
        assert_eq!(p.keys[0].aliases.len(), 1);
        let other = SecretKey::from_seed(&[2; 32], KeyId(*b"alias-id")).public_key();
        let config = serde_json::json!({ "pinned": p, "added": [other.to_base64()] }).to_string();
        let e = keys(&config).expect_err("refused");
        assert!(e.starts_with("added key 1: "), "{e}");
    }
}
