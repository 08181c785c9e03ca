//! `docseal key ...`: show keys, manage trust files.

use super::args::KeyCommand;
use anyhow::Result;
use docseal::metadata::hex;
use docseal::minisign::{PublicKey, SecretKey};
use docseal::trust::{self, KeyEntry, Reason, Revocation, TrustFile};
use docseal::{keyfile, Error};
use sha2::{Digest, Sha256};
use std::path::Path;

pub fn run(k: KeyCommand) -> Result<u8> {
    match k {
        KeyCommand::Show { path } => show(&path),
        KeyCommand::Trust {
            trust_file,
            public_key,
            name,
            valid_from,
            valid_until,
        } => add(&trust_file, &public_key, name, valid_from, valid_until),
        KeyCommand::Revoke {
            trust_file,
            key,
            reason,
            at,
        } => revoke(&trust_file, &key, &reason, at),
        KeyCommand::List { trust_file } => list(&trust_file),
    }
}

/// The fingerprint: SHA-256 of the 32-byte Ed25519 public key.
fn fingerprint(k: &PublicKey) -> String {
    hex(&Sha256::digest(k.verifying_key().as_bytes()))
}

fn show(path: &Path) -> Result<u8> {
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let public = if text.starts_with(b"untrusted comment: minisign public key")
        || path.extension().is_some_and(|e| e == "pub")
    {
        keyfile::read_public_key(path)?
    } else {
        let encrypted = keyfile::secret_key_is_encrypted(path)?;
        if encrypted {
            println!("secret key (encrypted; its public key is in the matching .pub file)");
            println!("key id      {}", key_id_of_encrypted(&text, path)?);
            return Ok(0);
        }
        let sk: SecretKey = keyfile::read_secret_key(path, &mut || {
            Err(Error::NoPassphrase {
                path: path.to_path_buf(),
            })
        })?;
        println!("secret key (unencrypted)");
        sk.public_key()
    };
    println!("key id      {}", public.key_id());
    println!("fingerprint {}", fingerprint(&public));
    println!("public key  {}", public.to_base64());
    Ok(0)
}

/// The key id of an encrypted minisign secret key is itself encrypted; say so plainly.
fn key_id_of_encrypted(_text: &[u8], path: &Path) -> Result<String> {
    let pubp = path.with_extension("pub");
    match keyfile::read_public_key(&pubp) {
        Ok(p) => Ok(format!("{} (from {})", p.key_id(), pubp.display())),
        Err(_) => Ok("unknown without the passphrase (no matching .pub beside it)".into()),
    }
}

fn load_or_new(path: &Path) -> Result<TrustFile> {
    if path.exists() {
        Ok(trust::read_trust_file(path)?)
    } else {
        Ok(TrustFile::default())
    }
}

fn check_time(flag: &str, t: &Option<String>) -> Result<Option<String>> {
    match t {
        Some(v) => {
            let parsed = trust::parse_time(v).map_err(|e| Error::invalid(flag, e))?;
            Ok(Some(docseal::metadata::format_sealed(parsed)))
        }
        None => Ok(None),
    }
}

fn add(
    tf_path: &Path,
    pub_path: &Path,
    name: String,
    valid_from: Option<String>,
    valid_until: Option<String>,
) -> Result<u8> {
    let key = keyfile::read_public_key(pub_path)?;
    docseal::metadata::check_text(&name).map_err(|e| Error::invalid("--name", e))?;
    let mut tf = load_or_new(tf_path)?;
    if tf.keys.iter().any(|k| k.name == name) {
        return Err(Error::invalid(
            tf_path.display().to_string(),
            format!("already has a key named {name:?}"),
        )
        .into());
    }
    if tf
        .keys
        .iter()
        .any(|k| PublicKey::from_base64(&k.public_key).is_ok_and(|p| p.key_id() == key.key_id()))
    {
        return Err(Error::invalid(
            tf_path.display().to_string(),
            format!("already trusts key {}", key.key_id()),
        )
        .into());
    }
    tf.keys.push(KeyEntry {
        name: name.clone(),
        public_key: key.to_base64(),
        valid_from: check_time("--valid-from", &valid_from)?,
        valid_until: check_time("--valid-until", &valid_until)?,
        revoked: None,
    });
    trust::write_trust_file(tf_path, &tf)?;
    println!(
        "{}: now trusts key {} as {name:?}",
        tf_path.display(),
        key.key_id()
    );
    Ok(0)
}

fn revoke(tf_path: &Path, which: &str, reason: &str, at: Option<String>) -> Result<u8> {
    let mut tf = trust::read_trust_file(tf_path)?;
    let at = match check_time("--at", &at)? {
        Some(t) => t,
        None => docseal::metadata::format_sealed(chrono::Utc::now()),
    };
    let reason = if reason == "compromised" {
        Reason::Compromised
    } else {
        Reason::Retired
    };
    let entry = tf
        .keys
        .iter_mut()
        .find(|k| {
            k.name == which
                || PublicKey::from_base64(&k.public_key)
                    .is_ok_and(|p| p.key_id().to_string() == which.to_ascii_uppercase())
        })
        .ok_or_else(|| {
            Error::invalid(
                tf_path.display().to_string(),
                format!("no key named or with id {which:?}"),
            )
        })?;
    entry.revoked = Some(Revocation {
        at: at.clone(),
        reason,
    });
    let name = entry.name.clone();
    trust::write_trust_file(tf_path, &tf)?;
    println!(
        "{}: key {name:?} revoked ({}) at {at}",
        tf_path.display(),
        if reason == Reason::Compromised {
            "compromised"
        } else {
            "retired"
        }
    );
    Ok(0)
}

fn list(tf_path: &Path) -> Result<u8> {
    let tf = trust::read_trust_file(tf_path)?;
    for k in trust::resolve(tf_path, &tf)? {
        let status = match k.revoked {
            Some((t, Reason::Retired)) => {
                format!("retired at {}", docseal::metadata::format_sealed(t))
            }
            Some((t, Reason::Compromised)) => {
                format!("COMPROMISED at {}", docseal::metadata::format_sealed(t))
            }
            None => "trusted".into(),
        };
        let window = match (k.valid_from, k.valid_until) {
            (None, None) => String::new(),
            (f, u) => format!(
                "  valid {} .. {}",
                f.map(docseal::metadata::format_sealed).unwrap_or_default(),
                u.map(docseal::metadata::format_sealed).unwrap_or_default()
            ),
        };
        println!(
            "{}  {:<20} {status}{window}",
            k.key.key_id(),
            k.name.unwrap_or_default()
        );
    }
    Ok(0)
}
