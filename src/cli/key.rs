//! `docseal key ...`: show keys, manage trust files.

use super::args::KeyCommand;
use anyhow::Result;
use docseal::keyfile::KeyFileKind;
use docseal::metadata::hex;
use docseal::minisign::{PublicKey, SecretKey};
use docseal::trust::{self, KeyEntry, Reason, Revocation};
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
            archive,
        } => {
            let role = if archive {
                trust::Role::Archive
            } else {
                trust::Role::Signer
            };
            add(
                &trust_file,
                &public_key,
                name,
                valid_from,
                valid_until,
                role,
            )
        }
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
    let public = match keyfile::identify_key_file(path)? {
        KeyFileKind::Public(p) => {
            println!("public key file {}", path.display());
            p
        }
        KeyFileKind::Secret { encrypted, mode } => {
            // (An unencrypted one is refused below, with the same fix.)
            if let Some(m) = mode.filter(|m| encrypted && m & 0o077 != 0) {
                eprintln!(
                    "docseal: warning: {}: secret key is readable by others (mode {m:o}); fix with: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
            if encrypted {
                // The key id and public key inside an encrypted minisign key are encrypted too:
                // without the passphrase, the matching .pub file is the only source.
                println!(
                    "secret key file {} (encrypted with a passphrase; the secret is never shown)",
                    path.display()
                );
                let pubp = path.with_extension("pub");
                match keyfile::read_public_key(&pubp) {
                    Ok(p) => {
                        println!("key id      {} (from {}: not checked against the secret key, which needs the passphrase)", p.key_id(), pubp.display());
                        println!("fingerprint {}", fingerprint(&p));
                        println!("public key  {}", p.to_base64());
                    }
                    Err(_) => println!(
                        "key id      unknown without the passphrase (no readable {} beside it)",
                        pubp.display()
                    ),
                }
                return Ok(0);
            }
            let sk: SecretKey = keyfile::read_secret_key(path, &mut || {
                Err(Error::NoPassphrase {
                    path: path.to_path_buf(),
                })
            })?;
            println!(
                "secret key file {} (unencrypted; the secret is never shown)",
                path.display()
            );
            sk.public_key()
        }
    };
    println!("key id      {}", public.key_id());
    println!("fingerprint {}", fingerprint(&public));
    println!("public key  {}", public.to_base64());
    Ok(0)
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
    role: trust::Role,
) -> Result<u8> {
    let key = keyfile::read_public_key(pub_path)?;
    docseal::metadata::check_new_text(&name).map_err(|e| Error::invalid("--name", e))?;
    let valid_from = check_time("--valid-from", &valid_from)?;
    // A plain date as --valid-until covers that whole day (docs/KEYS.md).
    let valid_until = match valid_until {
        Some(d) if d.len() == 10 && docseal::metadata::check_date(&d).is_ok() => {
            Some(format!("{d}T23:59:59Z"))
        }
        v => v,
    };
    let valid_until = check_time("--valid-until", &valid_until)?;
    let bad = |m: String| Error::invalid(tf_path.display().to_string(), m);
    trust::update_trust_file(tf_path, true, |tf| {
        if tf.keys.iter().any(|k| k.name == name) {
            return Err(bad(format!("already has a key named {name:?}")));
        }
        // A signer is its public key: the same key under another key id is refused too.
        if let Some(k) = tf.keys.iter().find(|k| {
            PublicKey::from_base64(&k.public_key).is_ok_and(|p| {
                p.key_id() == key.key_id() || p.verifying_key() == key.verifying_key()
            })
        }) {
            return Err(bad(format!(
                "already trusts key {} (as {:?}; the same public key, whatever its key id, is one key)",
                key.key_id(),
                k.name
            )));
        }
        tf.keys.push(KeyEntry {
            name: name.clone(),
            public_key: key.to_base64(),
            valid_from,
            valid_until,
            revoked: None,
            role,
        });
        Ok(((), true))
    })?;
    println!(
        "{}: now trusts key {} as {name:?}{}",
        tf_path.display(),
        key.key_id(),
        if role == trust::Role::Archive {
            " (archive key: it vouches for archive checkpoints, not bundles)"
        } else {
            ""
        }
    );
    Ok(0)
}

fn reason_name(r: Reason) -> &'static str {
    match r {
        Reason::Retired => "retired",
        Reason::Compromised => "compromised",
    }
}

/// Revoke a key, found by its name or, failing that, its key id. A revocation is only ever made
/// stricter (earlier, or from retired to compromised); weakening one is refused, since an
/// attacker with a stolen key would like nothing better.
// Longer than 80 lines: the trust file read, the key found, the revocation checked and written
// under one lock.
fn revoke(tf_path: &Path, which: &str, reason: &str, at: Option<String>) -> Result<u8> {
    let at_text = match check_time("--at", &at)? {
        Some(t) => t,
        None => docseal::metadata::format_sealed(chrono::Utc::now()),
    };
    let at = trust::parse_time(&at_text).map_err(|e| Error::invalid("--at", e))?;
    let reason = if reason == "compromised" {
        Reason::Compromised
    } else {
        Reason::Retired
    };
    let bad = |m: String| Error::invalid(tf_path.display().to_string(), m);
    let msg = trust::update_trust_file(tf_path, false, |tf| {
        let resolved = trust::resolve(tf_path, tf)?;
        let by_name = tf.keys.iter().position(|k| k.name == which);
        let by_id = resolved
            .iter()
            .position(|k| k.key.key_id().to_string().eq_ignore_ascii_case(which));
        let i = match (by_name, by_id) {
            (Some(a), Some(b)) if a != b => {
                return Err(bad(format!(
                    "{which:?} is the name of one key and the id of another ({:?}); edit the file by hand",
                    tf.keys[b].name
                )))
            }
            (Some(i), _) | (None, Some(i)) => i,
            (None, None) => {
                return Err(bad(format!(
                    "no key named {which:?} or with that key id (see docseal key list)"
                )))
            }
        };
        let name = tf.keys[i].name.clone();
        let id = resolved[i].key.key_id();
        let (at, reason) = match resolved[i].revoked {
            None => (at, reason),
            Some((old_at, old_reason)) => {
                let weaker = at > old_at
                    || (at == old_at
                        && old_reason == Reason::Compromised
                        && reason == Reason::Retired);
                if weaker {
                    return Err(bad(format!(
                        "key {name:?} is already revoked ({} at {}); a revocation is only made earlier or changed to compromised, never weakened (edit the file by hand to undo a mistake)",
                        reason_name(old_reason),
                        docseal::metadata::format_sealed(old_at)
                    )));
                }
                let merged = (
                    at.min(old_at),
                    if old_reason == Reason::Compromised {
                        Reason::Compromised
                    } else {
                        reason
                    },
                );
                if merged == (old_at, old_reason) {
                    let m = format!(
                        "{}: key {name:?} ({id}) is already revoked ({}) at {}; nothing changed",
                        tf_path.display(),
                        reason_name(old_reason),
                        docseal::metadata::format_sealed(old_at)
                    );
                    return Ok((m, false));
                }
                merged
            }
        };
        let at_text = docseal::metadata::format_sealed(at);
        tf.keys[i].revoked = Some(Revocation {
            at: at_text.clone(),
            reason,
        });
        let m = format!(
            "{}: key {name:?} ({id}) revoked ({}) at {at_text}",
            tf_path.display(),
            reason_name(reason)
        );
        Ok((m, true))
    })?;
    println!("{msg}");
    Ok(0)
}

fn list(tf_path: &Path) -> Result<u8> {
    let tf = trust::read_trust_file(tf_path)?;
    let keys = trust::resolve(tf_path, &tf)?;
    if keys.is_empty() {
        println!("{}: no keys", tf_path.display());
    }
    for k in keys {
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
        let role = if k.archive { "  (archive key)" } else { "" };
        println!(
            "{}  {:<20} {status}{window}{role}",
            k.key.key_id(),
            k.name.unwrap_or_default()
        );
    }
    Ok(0)
}
