//! Timestamps and bundle files: the signature bytes a token covers, adding tokens to a
//! bundle atomically, and asking a TSA over HTTP.

use crate::format::durable::Output;
use crate::format::error::{Error, Result};
use crate::format::tsa::{token_name, token_name_id, MAX_TOKENS, MAX_TOKEN_BYTES};
use crate::format::zip::{self, Limits, ZipWriter};
use crate::ops::verify::{self, Options};
use crate::profile::bagit::SIGNATURE;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn refused(path: &Path, why: impl Into<String>) -> Error {
    Error::Refused {
        path: path.to_path_buf(),
        summary: why.into(),
    }
}

/// A bundle read for timestamping: its sealer's signature file and the names of its tokens.
#[derive(Clone, Debug)]
pub struct Sealed {
    /// The exact bytes of `tagmanifest-sha256.txt.minisig` (what a token covers).
    pub signature_file: Vec<u8>,
    /// The bundle's content digest (unchanged by adding tokens).
    pub content_sha256: String,
    /// Names of the tokens it holds already.
    pub tokens: Vec<String>,
}

/// Read a bundle file for timestamping: it must pass every check but trust (a damaged
/// bundle is refused, never timestamped).
pub fn read(bundle: &Path, limits: &Limits) -> Result<Sealed> {
    let lmeta = std::fs::symlink_metadata(bundle).map_err(|e| Error::io(bundle, e))?;
    if lmeta.file_type().is_symlink() || lmeta.is_dir() {
        return Err(Error::invalid(
            bundle.display().to_string(),
            "is a directory or a symbolic link; timestamp takes a bundle ZIP file (the real path)",
        ));
    }
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let report = verify::inspect(bundle, &opts);
    if !report.ok {
        let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Damaged {
            path: bundle.to_path_buf(),
            summary: format!("{} (a damaged bundle is not timestamped)", codes.join(", ")),
        });
    }
    // Held until the new file is in place: a concurrent `cosign` or `timestamp` of the same
    // bundle waits, then starts again from this one's output (none of their additions is lost).
    let (file, meta) = crate::ops::cosign::open_locked(bundle)?;
    let len = meta.len();
    let mut r = &file;
    let entries = zip::read_strict(&mut r, len, limits)
        .map_err(|_| refused(bundle, "changed while being read"))?;
    let sig = entries
        .iter()
        .find(|e| e.name == SIGNATURE)
        .ok_or_else(|| refused(bundle, "no signature"))?;
    let mut signature_file = Vec::new();
    if sig.size > 4096 {
        return Err(refused(bundle, "signature file too large"));
    }
    zip::hash_entry(&mut r, sig, Some(&mut signature_file)).map_err(|e| Error::io(bundle, e))?;
    Ok(Sealed {
        signature_file,
        content_sha256: report.content_sha256.unwrap_or_default(),
        tokens: entries
            .iter()
            .filter(|e| token_name_id(&e.name).is_some())
            .map(|e| e.name.clone())
            .collect(),
    })
}

/// What [`add_tokens`] did.
#[derive(Clone, Debug)]
pub struct Added {
    /// The bundle, rewritten in place.
    pub path: PathBuf,
    /// The names of the token files added.
    pub files: Vec<String>,
    /// How many tokens the bundle holds now.
    pub tokens: usize,
}

/// Add `tokens` (DER, each already checked with [`crate::format::tsa::check_reply`] against this bundle's
/// signature file) to the bundle file, replacing it atomically: every other entry is copied
/// byte for byte and checked again; tokens go last, sorted by name. A token the bundle holds
/// already is refused, and so is a bundle that would hold more than [`MAX_TOKENS`].
pub fn add_tokens(
    bundle: &Path,
    expected: &Sealed,
    tokens: &[Vec<u8>],
    limits: &Limits,
) -> Result<Added> {
    // Held until the new file is in place: a concurrent `cosign` or `timestamp` of the same
    // bundle waits, then starts again from this one's output (none of their additions is lost).
    let (file, meta) = crate::ops::cosign::open_locked(bundle)?;
    let len = meta.len();
    let mut r = &file;
    let entries = zip::read_strict(&mut r, len, limits)
        .map_err(|_| refused(bundle, "changed while being timestamped"))?;
    let mut all = held_tokens(bundle, &file, &entries)?;
    let added = merge_tokens(bundle, expected, &mut all, tokens)?;
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut output = Output::create(bundle, true)?;
    let out_err = |e: std::io::Error| Error::io(bundle, e);
    let mut zw = ZipWriter::new(output.file());
    copy_sealed(bundle, expected, &file, &entries, &mut zw)?;
    for (n, b) in &all {
        zw.add_bytes(n, b).map_err(out_err)?;
    }
    let f = zw.finish().map_err(out_err)?;
    f.flush().map_err(out_err)?;
    output.commit()?;
    Ok(Added {
        path: bundle.to_path_buf(),
        files: added,
        tokens: all.len(),
    })
}

/// The tokens the bundle holds already: (name, DER).
fn held_tokens(
    bundle: &Path,
    file: &std::fs::File,
    entries: &[zip::Entry],
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut r = file;
    let mut all: Vec<(String, Vec<u8>)> = Vec::new();
    for e in entries.iter().filter(|e| token_name_id(&e.name).is_some()) {
        if e.size > MAX_TOKEN_BYTES as u64 {
            return Err(refused(bundle, format!("{}: token too large", e.name)));
        }
        let mut b = Vec::new();
        zip::hash_entry(&mut r, e, Some(&mut b)).map_err(|err| Error::io(bundle, err))?;
        all.push((e.name.clone(), b));
    }
    Ok(all)
}

/// Add `tokens` to `all`, refusing one the bundle holds already (by name, or by issuance) and
/// more than [`MAX_TOKENS`] in all; the names added.
fn merge_tokens(
    bundle: &Path,
    expected: &Sealed,
    all: &mut Vec<(String, Vec<u8>)>,
    tokens: &[Vec<u8>],
) -> Result<Vec<String>> {
    let mut added = Vec::new();
    // One issuance is one TSA and serial number, whatever the bytes of its unsigned parts.
    let issuance = |der: &[u8]| {
        crate::format::tsa::token::check(der, &expected.signature_file)
            .ok()
            .map(|t| (t.tsa_subject(), t.serial_hex()))
    };
    for t in tokens {
        let name = token_name(t);
        let this = issuance(t);
        if all
            .iter()
            .any(|(n, b)| *n == name || (this.is_some() && issuance(b) == this))
        {
            return Err(Error::invalid(
                bundle.display().to_string(),
                format!("already holds this token ({name})"),
            ));
        }
        all.push((name.clone(), t.clone()));
        added.push(name);
    }
    if all.len() > MAX_TOKENS {
        return Err(Error::invalid(
            bundle.display().to_string(),
            format!(
                "would hold {} tokens, more than the {MAX_TOKENS} a bundle may",
                all.len()
            ),
        ));
    }
    Ok(added)
}

/// Copy every entry but the tokens from `file` into `zw` byte for byte, checking each against
/// its CRC-32 and the signature file against `expected` (a bundle that changed is refused).
fn copy_sealed<W: Write + Seek>(
    bundle: &Path,
    expected: &Sealed,
    file: &std::fs::File,
    entries: &[zip::Entry],
    zw: &mut ZipWriter<W>,
) -> Result<()> {
    let out_err = |e: std::io::Error| Error::io(bundle, e);
    for e in entries.iter().filter(|e| token_name_id(&e.name).is_none()) {
        let mut f = file;
        f.seek(SeekFrom::Start(e.data_offset)).map_err(out_err)?;
        let mut data = f.take(e.size);
        let mut buf = if e.name == SIGNATURE {
            Some(Vec::new())
        } else {
            None
        };
        let got = match &mut buf {
            Some(b) => {
                data.read_to_end(b).map_err(out_err)?;
                zw.add_bytes(&e.name, b).map_err(out_err)?
            }
            None => zw
                .add_reader(&e.name, e.size, &mut data)
                .map_err(|err| match err.kind() {
                    std::io::ErrorKind::InvalidData => {
                        refused(bundle, "changed while being timestamped")
                    }
                    _ => Error::io(bundle, err),
                })?,
        };
        if got.crc32 != e.crc32 || buf.is_some_and(|b| b != expected.signature_file) {
            return Err(refused(
                bundle,
                format!("{} changed while being timestamped", e.name),
            ));
        }
    }
    Ok(())
}

/// The problem [`check_url`] reports for a URL that is not `http://` (an [`Error::Invalid`]'s
/// `problem`), for a caller that adds how to get a token over https in its own words.
pub const ONLY_HTTP: &str = "only http:// TSA URLs are supported (a token authenticates itself)";

/// Check a TSA URL before anything is done: an absolute `http://` URL.
pub fn check_url(url: &str) -> Result<()> {
    let what = || format!("TSA {url}");
    let u = url::Url::parse(url).map_err(|e| Error::invalid(what(), format!("not a URL: {e}")))?;
    if u.scheme() != "http" || u.host().is_none() {
        return Err(Error::invalid(what(), ONLY_HTTP));
    }
    Ok(())
}

/// POST a request to a TSA (`application/timestamp-query`) and return its reply (at most
/// [`MAX_TOKEN_BYTES`]). Plain `http://` only: a token authenticates itself, and TSAs are
/// commonly served over plain HTTP; `https://` is refused with a clear message.
pub fn fetch(url: &str, request: &[u8]) -> Result<Vec<u8>> {
    let what = || format!("TSA {url}");
    check_url(url)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .send(request)
        .map_err(|e| Error::invalid(what(), e.to_string()))?;
    let status = resp.status();
    if status != 200 {
        return Err(Error::invalid(what(), format!("answered HTTP {status}")));
    }
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !ct.starts_with("application/timestamp-reply") {
        return Err(Error::invalid(
            what(),
            format!("answered Content-Type {ct:?}, not application/timestamp-reply"),
        ));
    }
    resp.body_mut()
        .with_config()
        .limit(MAX_TOKEN_BYTES as u64)
        .read_to_vec()
        .map_err(|e| Error::invalid(what(), format!("reading the reply: {e}")))
}
