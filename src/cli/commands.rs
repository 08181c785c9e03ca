//! One function per subcommand: call the library, print, return the exit code.

use super::args::{
    Cli, Command, ExtractArgs, InspectArgs, KeyArgs, KeygenArgs, LimitArgs, PackArgs, VerifyArgs,
};
use super::output;
use anyhow::Result;
use docseal::keyfile;
use docseal::minisign::SecretKey;
use docseal::seal::{ArticleSource, SealRequest};
use docseal::verify::{self, Options, Trust};
use docseal::zipfmt::Limits;
use docseal::Error;
use std::path::Path;
use zeroize::Zeroizing;

pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Keygen(a) => keygen(a),
        Command::Pack(a) => pack(*a),
        Command::Verify(a) => verify(a),
        Command::Inspect(a) => inspect(a),
        Command::Extract(a) => extract(a),
        Command::Key(k) => super::key::run(k),
        Command::Cosign(a) => super::provenance::cosign(a),
        Command::History(a) => super::provenance::history(a),
        Command::Archive(a) => super::provenance::archive(a),
        Command::Timestamp(a) => super::timestamp::run(a),
    }
}

pub fn limits(l: &LimitArgs) -> Limits {
    Limits {
        max_entries: l.max_entries,
        max_file_size: l.max_file_size,
        max_total_size: l.max_total_size,
    }
}

/// Ask for a passphrase on the terminal (never echoing it). Fails at once, without waiting,
/// when there is no terminal.
fn ask_passphrase(prompt: &str, key: &Path) -> docseal::Result<Zeroizing<Vec<u8>>> {
    if std::fs::File::open("/dev/tty").is_err() {
        return Err(Error::NoPassphrase {
            path: key.to_path_buf(),
        });
    }
    let p = rpassword::prompt_password(prompt).map_err(|e| match e.kind() {
        // Ctrl-D or Ctrl-C at the prompt: no passphrase, not an I/O failure.
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::Interrupted => {
            // End the prompt's line, so the message does not continue it.
            if let Ok(mut t) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
                let _ = std::io::Write::write_all(&mut t, b"\n");
            }
            Error::invalid(
                key.display().to_string(),
                "no passphrase entered; nothing was done",
            )
        }
        _ => Error::io("/dev/tty", e),
    })?;
    Ok(Zeroizing::new(p.into_bytes()))
}

/// `keygen` never replaces anything; say so (there is no --force to suggest).
fn keygen_exists(path: &Path) -> Result<u8> {
    eprintln!(
        "docseal: {}: already exists (keygen never replaces or follows an existing file or symlink; remove it or choose another PATH)",
        path.display()
    );
    Ok(super::EXIT_EXISTS)
}

fn keygen(a: KeygenArgs) -> Result<u8> {
    // Refuse an existing PATH.key or PATH.pub before asking for anything.
    let key_path = match keyfile::check_new_key_paths(&a.path) {
        Ok((k, _)) => k,
        Err(Error::Exists { path }) => return keygen_exists(&path),
        Err(e) => return Err(e.into()),
    };
    let pass: Option<Zeroizing<Vec<u8>>> = if a.no_passphrase {
        None
    } else if let Some(f) = &a.passphrase_file {
        Some(keyfile::read_passphrase_file(f)?)
    } else {
        if std::fs::File::open("/dev/tty").is_err() {
            return Err(Error::invalid(
                key_path.display().to_string(),
                "no terminal to ask for a passphrase on: give --passphrase-file FILE (or --no-passphrase for an unencrypted key); nothing was written",
            )
            .into());
        }
        let p1 = ask_passphrase("Passphrase for the new key: ", &key_path)?;
        let p2 = ask_passphrase("Passphrase again: ", &key_path)?;
        if p1 != p2 {
            return Err(Error::invalid(
                key_path.display().to_string(),
                "the two passphrases differ; nothing was written",
            )
            .into());
        }
        if p1.is_empty() {
            return Err(Error::invalid(
                key_path.display().to_string(),
                "empty passphrase; use --no-passphrase for an unencrypted key",
            )
            .into());
        }
        Some(p1)
    };
    let (k, p, id) = match keyfile::generate(&a.path, pass.as_deref().map(|v| &v[..])) {
        Ok(r) => r,
        Err(Error::Exists { path }) => return keygen_exists(&path),
        Err(e) => return Err(e.into()),
    };
    println!("key id {id}");
    println!(
        "secret key: {} (keep it private; never share it)",
        k.display()
    );
    println!(
        "public key: {} (give it to verifiers: docseal verify --trust {})",
        p.display(),
        p.display()
    );
    Ok(0)
}

/// Load a secret key, asking for its passphrase when it is encrypted.
pub fn load_secret_key(k: &KeyArgs) -> docseal::Result<SecretKey> {
    let file = k.passphrase_file.clone();
    let key = k.key.clone();
    keyfile::read_secret_key(&k.key, &mut || match &file {
        Some(f) => keyfile::read_passphrase_file(f),
        None => ask_passphrase(&format!("Passphrase for {}: ", key.display()), &key),
    })
}

fn pack(a: PackArgs) -> Result<u8> {
    for u in &a.tsa {
        docseal::tsa::bundle::check_url(u)?;
    }
    if let Some(jobs) = &a.batch {
        return super::batch::pack_batch(&a, jobs);
    }
    // clap requires these without --batch.
    let need = |what: &str| Error::invalid(what, "required (or give --batch)");
    let article = a.article.clone().ok_or_else(|| need("ARTICLE"))?;
    let out = a.out.clone().ok_or_else(|| need("--out"))?;
    // The bundle corrected must be intact: checked before any passphrase is asked for.
    let supersedes = match &a.supersedes {
        Some(old) => Some(docseal::history::supersedes_link(old, &Limits::default())?),
        None => None,
    };
    let key = load_secret_key(&a.key)?;
    let article = if article.as_os_str() == "-" {
        ArticleSource::Stdin
    } else {
        ArticleSource::Path(article)
    };
    let req = SealRequest {
        article,
        url: a.url.ok_or_else(|| need("--url"))?,
        title: a.title.ok_or_else(|| need("--title"))?,
        publisher: a.publisher.ok_or_else(|| need("--publisher"))?,
        published: a.published.ok_or_else(|| need("--published"))?,
        authors: a.authors,
        retrieved: a.retrieved,
        created: a.created,
        attachments: a.attachments,
        supersedes,
    };
    let s = docseal::seal::seal(&req, &key, &out, a.force)?;
    println!("sealed {} ({} bytes)", s.path.display(), s.size);
    println!("  id {}", s.id);
    println!("  content sha256 {}", s.content_sha256);
    println!("  signed by key {}", s.key_id);
    if !a.tsa.is_empty() {
        super::timestamp::stamp(&out, &a.tsa, &[], &Limits::default())?;
    }
    Ok(0)
}

fn verify(a: VerifyArgs) -> Result<u8> {
    let trust = Trust::load(&a.trust)?;
    let mut opts = Options {
        limits: limits(&a.limits),
        require_signers: a.require_signers,
        tsa_roots: super::timestamp::load_roots(&a.tsa_trust)?,
        require_timestamp: a.require_timestamp,
        ..Options::default()
    };
    // An archive log establishes when bundles existed, and lists bundles for supersedes checks.
    let mut known = Vec::new();
    if let Some(arch) = &a.archive {
        let ev = docseal::archive::evidence(arch, &trust)?;
        if !a.quiet {
            for n in &ev.notes {
                eprintln!("docseal: note: {}: {n}", arch.display());
            }
        }
        opts.established = ev.established;
        known = ev.known;
    }
    let mut bundles = Vec::new();
    for b in &a.bundles {
        bundles.extend(verify::find_bundles(b)?);
    }
    let mut summary = output::Summary::default();
    let threads = a.threads.unwrap_or_else(docseal::batch::default_threads);
    let bar = output::progress(bundles.len() as u64, a.quiet, "bundles");
    let mut out = output::Out::new(&bar);
    if bundles.len() > 1 || a.archive.is_some() {
        // Supersedes links are checked across all the bundles (and the archive's): a report is
        // final once every bundle is verified. Bounded memory; output at the end.
        super::batch::verify_related(&a, &bundles, &trust, &opts, &known, &mut out, &mut summary)?;
    } else {
        docseal::batch::verify_all(&bundles, &trust, &opts, threads, |item| {
            let Some((_, r)) = item else {
                return out.flush();
            };
            bar.inc(1);
            summary.add(&r);
            if a.json {
                output::write_json_line(&mut out.buf, &r)?;
            } else {
                output::write_verify(&mut out.buf, &r, a.quiet)?;
            }
            out.flush_if_full()
        })?;
        bar.finish_and_clear();
    }
    if a.json {
        let l = &opts.limits;
        let limits = serde_json::json!({
            "max_entries": l.max_entries,
            "max_file_size": l.max_file_size,
            "max_total_size": l.max_total_size,
        });
        output::write_json_line(
            &mut out.buf,
            &serde_json::json!({ "summary": summary, "limits": limits }),
        )?;
    } else if !a.quiet || summary.failed > 0 {
        output::write_summary(&mut out.buf, &summary)?;
    }
    out.flush()?;
    Ok(if summary.failed == 0 {
        0
    } else {
        super::EXIT_FAILED
    })
}

fn inspect(a: InspectArgs) -> Result<u8> {
    let opts = Options {
        limits: limits(&a.limits),
        ..Options::default()
    };
    let r = verify::inspect(&a.bundle, &opts);
    if a.json {
        output::print_json(&r)?;
    } else {
        output::print_inspect(&r);
    }
    Ok(if r.ok { 0 } else { super::EXIT_FAILED })
}

fn extract(a: ExtractArgs) -> Result<u8> {
    let trust = Trust::load(&a.trust)?;
    let opts = Options {
        limits: limits(&a.limits),
        require_signers: a.require_signers,
        ..Options::default()
    };
    let r = verify::extract(&a.bundle, &trust, &opts, &a.out, a.force)?;
    println!(
        "verified {} and extracted {} files under {}",
        a.bundle.display(),
        r.files.len(),
        a.out.display()
    );
    Ok(0)
}
