//! `docseal timestamp`: RFC 3161 tokens over bundles' signatures (issue 14); tokens over
//! archive checkpoints (`archive add --tsa`); `--tsa-trust` roots. The token lines of `verify`,
//! `inspect` and `archive audit` are printed by [`super::output`].

use super::args::TimestampArgs;
use super::load::limits;
use anyhow::Result;
use docseal::timestamp::bundle;
use docseal::timestamp::checkpoint;
use docseal::tsa::{self, chain};
use docseal::zipfmt::Limits;
use docseal::Error;
use std::path::{Path, PathBuf};

/// Read `--tsa-trust` roots.
pub fn load_roots(paths: &[PathBuf]) -> Result<Vec<x509_cert::Certificate>> {
    let mut roots = Vec::new();
    for p in paths {
        let bytes = read_small(p, 1 << 20)?;
        let certs =
            chain::load_roots(&bytes).map_err(|e| Error::invalid(p.display().to_string(), e))?;
        roots.extend(certs);
    }
    Ok(roots)
}

fn read_small(p: &Path, max: u64) -> Result<Vec<u8>> {
    // Opened without blocking (a FIFO or device is refused by its type), read with a bound.
    Ok(docseal::input::read_bounded(
        p,
        max,
        docseal::input::Open::regular("file"),
    )?)
}

/// Read at most `max` bytes of `p` (the caller judges a longer file by its length).
fn read_capped(p: &Path, max: u64) -> Result<Vec<u8>> {
    let (f, _) = docseal::input::open(p, docseal::input::Open::regular("file"))?;
    docseal::input::read_at_most(f, max.saturating_sub(1)).map_err(|e| Error::io(p, e).into())
}

fn refused(bundle: &Path, from: &str, e: tsa::TsaError) -> Error {
    Error::Refused {
        path: bundle.to_path_buf(),
        summary: format!("{from}: {e}; nothing was added"),
    }
}

/// Check `token` against `--tsa-trust` roots, when any were given.
fn trust_check(
    bundle: &Path,
    from: &str,
    t: &tsa::token::Token,
    roots: &[x509_cert::Certificate],
) -> Result<()> {
    if !roots.is_empty() {
        chain::check(t, roots).map_err(|e| refused(bundle, from, e))?;
    }
    Ok(())
}

/// Ask every TSA in `urls` for a token over `bundle`'s signature and add the tokens, all at
/// once, atomically. Prints one line per token.
pub fn stamp(
    bundle: &Path,
    urls: &[String],
    roots: &[x509_cert::Certificate],
    limits: &Limits,
) -> Result<()> {
    let (sealed, tokens, lines) = ask(bundle, urls, roots, limits)?;
    add(bundle, &sealed, &tokens, &lines, limits)
}

/// What [`stamp`] added, for a caller that reports it itself (pack's `--json`, or `--out -`
/// where standard output holds the bundle): one `(token file, token line)` a TSA.
pub struct Stamped {
    pub tokens: Vec<(String, String)>,
}

/// [`stamp`] without printing.
pub fn stamp_quiet(
    bundle: &Path,
    urls: &[String],
    roots: &[x509_cert::Certificate],
    limits: &Limits,
) -> Result<Stamped> {
    let (sealed, tokens, lines) = ask(bundle, urls, roots, limits)?;
    let added = bundle::add_tokens(bundle, &sealed, &tokens, limits)?;
    Ok(Stamped {
        tokens: added.files.into_iter().zip(lines).collect(),
    })
}

/// A token from each TSA in `urls` over `bundle`'s signature, each checked, with its line.
fn ask(
    bundle: &Path,
    urls: &[String],
    roots: &[x509_cert::Certificate],
    limits: &Limits,
) -> Result<(bundle::Sealed, Vec<Vec<u8>>, Vec<String>)> {
    let sealed = bundle::read(bundle, limits)?;
    let mut tokens = Vec::new();
    let mut lines = Vec::new();
    for url in urls {
        let req = tsa::request(&sealed.signature_file);
        let reply = bundle::fetch(url, &req.der)?;
        let t = tsa::check_reply(&reply, &sealed.signature_file, Some(&req.nonce))
            .map_err(|e| refused(bundle, url, e))?;
        trust_check(bundle, url, &t, roots)?;
        lines.push(token_line(&t));
        tokens.push(t.der);
    }
    Ok((sealed, tokens, lines))
}

fn token_line(t: &tsa::token::Token) -> String {
    format!(
        "genTime {}{} by {}",
        t.gen_time_text,
        t.accuracy_text()
            .map(|a| format!(" {a}"))
            .unwrap_or_default(),
        t.tsa_subject()
    )
}

fn add(
    bundle: &Path,
    sealed: &bundle::Sealed,
    tokens: &[Vec<u8>],
    lines: &[String],
    limits: &Limits,
) -> Result<()> {
    let added = bundle::add_tokens(bundle, sealed, tokens, limits)?;
    for (f, l) in added.files.iter().zip(lines) {
        println!("timestamped {}: {f}, {l}", bundle.display());
    }
    println!(
        "  {} token(s) in the bundle; content sha256 {} (unchanged)",
        added.tokens, sealed.content_sha256
    );
    Ok(())
}

pub fn run(a: TimestampArgs) -> Result<u8> {
    let limits = limits(&a.limits);
    for u in &a.tsa {
        bundle::check_url(u)?;
    }
    let roots = load_roots(&a.tsa_trust)?;
    let one = |what: &str| -> Result<&PathBuf> {
        match &a.bundles[..] {
            [b] => Ok(b),
            _ => Err(Error::invalid(what, "takes exactly one BUNDLE").into()),
        }
    };
    if let Some(out) = &a.request_out {
        let b = one("--request-out")?;
        let sealed = bundle::read(b, &limits)?;
        let req = tsa::request(&sealed.signature_file);
        docseal::atomic::write(out, &req.der, a.force)?;
        println!(
            "wrote {} (SHA-256 over {}'s {}); send it to a TSA, then: docseal timestamp {} --reply FILE.tsr --request {}",
            out.display(),
            b.display(),
            docseal::bagit::SIGNATURE,
            b.display(),
            out.display()
        );
        return Ok(0);
    }
    if let Some(reply) = &a.reply {
        let b = one("--reply")?;
        let sealed = bundle::read(b, &limits)?;
        let nonce = match &a.request {
            Some(r) => tsa::request_nonce(&read_small(r, tsa::MAX_TOKEN_BYTES as u64)?)
                .map_err(|e| Error::invalid(r.display().to_string(), e.to_string()))?,
            None => None,
        };
        let from = reply.display().to_string();
        // Read at most one byte more than a reply may have: a larger file is refused by its
        // size, never read whole.
        let bytes = read_capped(reply, tsa::MAX_TOKEN_BYTES as u64 + 1)?;
        if bytes.len() > tsa::MAX_TOKEN_BYTES {
            let e = tsa::TsaError::new(
                docseal::finding::Code::TsaTooLarge,
                format!(
                    "more than the {} bytes a reply may have",
                    tsa::MAX_TOKEN_BYTES
                ),
            );
            return Err(refused(b, &from, e).into());
        }
        let t = tsa::check_reply_or_token(&bytes, &sealed.signature_file, nonce.as_deref())
            .map_err(|e| refused(b, &from, e))?;
        trust_check(b, &from, &t, &roots)?;
        add(
            b,
            &sealed,
            std::slice::from_ref(&t.der),
            &[token_line(&t)],
            &limits,
        )?;
        return Ok(0);
    }
    if a.tsa.is_empty() {
        return Err(Error::invalid(
            "timestamp",
            "give --tsa URL, --request-out FILE.tsq or --reply FILE.tsr",
        )
        .into());
    }
    for b in &a.bundles {
        stamp(b, &a.tsa, &roots, &limits)?;
    }
    Ok(0)
}

/// Ask every TSA in `urls` for a token over the signature file of checkpoint `size`
/// (`log/checkpoints/<size>.minisig`, the same rule as a bundle's: the signature's exact
/// bytes), check each reply, and write each token to
/// `log/timestamps/<size>.minisig.<16 hex>.tsr` (atomically; never replacing a file).
pub fn stamp_checkpoint(archive: &Path, size: u64, urls: &[String]) -> Result<()> {
    let sig_path = archive
        .join(docseal::archive::CHECKPOINTS_DIR)
        .join(format!("{size}.minisig"));
    let sig = read_small(&sig_path, docseal::archive::MAX_SIGNATURE_BYTES)?;
    let dir = archive.join(checkpoint::TOKENS_DIR);
    // Never group- or world-writable, whatever the umask; a symbolic link is refused.
    docseal::archive::ensure_dir(archive, checkpoint::TOKENS_DIR)?;
    for url in urls {
        let req = tsa::request(&sig);
        let reply = bundle::fetch(url, &req.der)?;
        let t = tsa::check_reply(&reply, &sig, Some(&req.nonce)).map_err(|e| Error::Refused {
            path: sig_path.clone(),
            summary: format!("{url}: {e}; no token was written"),
        })?;
        let name = tsa::token_file_name(&checkpoint::signature_name(size), &t.der);
        let out = dir.join(&name);
        docseal::atomic::write(&out, &t.der, false)?;
        println!(
            "timestamped checkpoint {size}: {}, {}",
            out.display(),
            token_line(&t)
        );
    }
    Ok(())
}
