//! Turning flags into the library's values: input limits, the secret key (asking for its
//! passphrase), the trusted keys. Shared by every command that takes these flags.

use super::args::{KeyArgs, LimitArgs};
use docseal::keyfile;
use docseal::minisign::SecretKey;
use docseal::verify::Trust;
use docseal::zipfmt::Limits;
use docseal::Error;
use std::path::Path;
use zeroize::Zeroizing;

/// `--max-entries`, `--max-file-size`, `--max-total-size`.
pub fn limits(l: &LimitArgs) -> Limits {
    Limits::new(l.max_entries, l.max_file_size, l.max_total_size)
}

/// Ask for a passphrase on the terminal (never echoing it). Fails at once, without waiting,
/// when there is no terminal.
pub fn ask_passphrase(prompt: &str, key: &Path) -> docseal::Result<Zeroizing<Vec<u8>>> {
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

/// Say, on a terminal, that a slow step is under way (the scrypt key derivation).
pub fn slow_step(what: &str) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!("docseal: {what}...");
    }
}

/// Passphrases shorter than this get a warning.
/// Load a secret key, asking for its passphrase when it is encrypted.
pub fn load_secret_key(k: &KeyArgs) -> docseal::Result<SecretKey> {
    if let Ok(keyfile::KeyFileKind::Public(_)) = keyfile::identify_key_file(&k.key) {
        let hint = if k.key.extension().is_some_and(|x| x == "pub") {
            format!(" ({})", k.key.with_extension("key").display())
        } else {
            String::new()
        };
        return Err(Error::invalid(
            k.key.display().to_string(),
            format!("this is a public key; give the secret key PATH.key{hint} with --key"),
        ));
    }
    let file = k.passphrase_file.clone();
    let key = k.key.clone();
    keyfile::read_secret_key(&k.key, &mut || {
        let p = match &file {
            Some(f) => keyfile::read_passphrase_file(f),
            None => ask_passphrase(&format!("Passphrase for {}: ", key.display()), &key),
        }?;
        slow_step("deriving the key from the passphrase (scrypt)");
        Ok(p)
    })
}

/// Load `--trust` arguments, refusing a secret key given by mistake (without showing any of
/// its bytes).
pub fn load_trust(paths: &[std::path::PathBuf]) -> docseal::Result<Trust> {
    for p in paths.iter().filter(|p| p.is_file()) {
        if let Ok(keyfile::KeyFileKind::Secret { .. }) = keyfile::identify_key_file(p) {
            let hint = if p.extension().is_some_and(|x| x == "key") {
                format!(" ({})", p.with_extension("pub").display())
            } else {
                String::new()
            };
            return Err(Error::invalid(
                p.display().to_string(),
                format!("this is a secret key; --trust takes its public key PATH.pub{hint} (keep the secret key private)"),
            ));
        }
    }
    Trust::load(paths)
}
