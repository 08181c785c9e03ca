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
    }
}

fn limits(l: &LimitArgs) -> Limits {
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
    let p = rpassword::prompt_password(prompt).map_err(|e| Error::io("/dev/tty", e))?;
    Ok(Zeroizing::new(p.into_bytes()))
}

fn keygen(a: KeygenArgs) -> Result<u8> {
    let pass: Option<Zeroizing<Vec<u8>>> = if a.no_passphrase {
        None
    } else if let Some(f) = &a.passphrase_file {
        Some(keyfile::read_passphrase_file(f)?)
    } else {
        let (key_path, _) = keyfile::key_paths(&a.path);
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
    let (k, p, id) = keyfile::generate(&a.path, pass.as_deref().map(|v| &v[..]))?;
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
    let key = load_secret_key(&a.key)?;
    let article = if a.article.as_os_str() == "-" {
        ArticleSource::Stdin
    } else {
        ArticleSource::Path(a.article.clone())
    };
    let req = SealRequest {
        article,
        url: a.url,
        title: a.title,
        publisher: a.publisher,
        published: a.published,
        authors: a.authors,
        retrieved: a.retrieved,
        created: a.created,
        attachments: a.attachments,
        supersedes: None,
    };
    let s = docseal::seal::seal(&req, &key, &a.out, a.force)?;
    println!("sealed {} ({} bytes)", s.path.display(), s.size);
    println!("  id {}", s.id);
    println!("  content sha256 {}", s.content_sha256);
    println!("  signed by key {}", s.key_id);
    Ok(0)
}

fn verify(a: VerifyArgs) -> Result<u8> {
    let trust = Trust::load(&a.trust)?;
    let opts = Options {
        limits: limits(&a.limits),
        require_signers: a.require_signers,
        ..Options::default()
    };
    let mut bundles = Vec::new();
    for b in &a.bundles {
        bundles.extend(verify::find_bundles(b)?);
    }
    let mut summary = output::Summary::default();
    for b in &bundles {
        let r = verify::verify_path(b, Some(&trust), &opts);
        summary.add(&r);
        if a.json {
            output::print_json_line(&r)?;
        } else {
            output::print_verify(&r, a.quiet);
        }
    }
    if a.json {
        output::print_json_line(&serde_json::json!({ "summary": summary }))?;
    } else if !a.quiet || summary.failed > 0 {
        output::print_summary(&summary);
    }
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
