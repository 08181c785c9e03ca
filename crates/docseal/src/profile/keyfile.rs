//! Key files on disk: created new with mode 0600, never following a symlink, never
//! overwritten; secret key files readable by others are refused.
//!
//! The formats are minisign's ([`crate::format::minisign`]); this module is about files.

use crate::format::error::{Error, Result};
use crate::format::minisign::{KeyId, PublicKey, SecretKey};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Largest key or passphrase file docseal reads.
pub const MAX_KEY_FILE: u64 = 64 << 10;

/// `PATH.key` and `PATH.pub` for a key base path.
pub fn key_paths(base: &Path) -> (PathBuf, PathBuf) {
    let mut k = base.as_os_str().to_owned();
    k.push(".key");
    let mut p = base.as_os_str().to_owned();
    p.push(".pub");
    (PathBuf::from(k), PathBuf::from(p))
}

/// Check that neither `PATH.key` nor `PATH.pub` exists (as anything: a file, a directory, a
/// symlink, even a dangling one), so that `keygen` can refuse before asking for a passphrase.
/// [`generate`] checks again and creates the secret key with `create_new`.
pub fn check_new_key_paths(base: &Path) -> Result<(PathBuf, PathBuf)> {
    let (key_path, pub_path) = key_paths(base);
    for p in [&key_path, &pub_path] {
        if p.symlink_metadata().is_ok() {
            return Err(Error::Exists { path: p.clone() });
        }
    }
    let dir = key_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(
            dir.display().to_string(),
            "is not a directory",
        ));
    }
    Ok((key_path, pub_path))
}

/// Generate a key pair and write `PATH.key` (mode 0600, created new) and `PATH.pub`.
/// Neither file may exist. With a passphrase the secret key is scrypt-encrypted.
pub fn generate(base: &Path, passphrase: Option<&[u8]>) -> Result<(PathBuf, PathBuf, KeyId)> {
    let (key_path, pub_path) = check_new_key_paths(base)?;
    let sk = SecretKey::generate();
    let text = sk.to_file_string(passphrase).map_err(|e| Error::Key {
        path: key_path.clone(),
        source: e,
    })?;
    write_new_private(&key_path, text.as_bytes())?;
    if let Err(e) = crate::format::durable::write(
        &pub_path,
        sk.public_key().to_file_string().as_bytes(),
        false,
    ) {
        let _ = std::fs::remove_file(&key_path);
        return Err(e);
    }
    Ok((key_path, pub_path, sk.key_id()))
}

/// Write a new file with mode 0600: `create_new` (so an existing file or symlink is never
/// followed or replaced), fsync, fsync the directory. Removed again if writing fails.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let mut f = opts.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Exists {
            path: path.to_path_buf(),
        },
        _ => Error::io(path, e),
    })?;
    let res = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = res {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(Error::io(path, e));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::format::durable::sync_dir(dir).map_err(|e| Error::io(path, e))
}

/// Open a file for reading without following a symlink (nor blocking on a FIFO), refuse
/// anything but a regular file, and read at most [`MAX_KEY_FILE`].
fn read_small_nofollow(path: &Path) -> Result<(File, Zeroizing<Vec<u8>>)> {
    let (f, _) = crate::format::input::open(
        path,
        crate::format::input::Open::regular_nofollow("key file"),
    )?;
    let mut buf = Zeroizing::new(Vec::new());
    crate::format::input::read_to_end_bounded(&f, path, MAX_KEY_FILE, "key file", &mut buf)?;
    Ok((f, buf))
}

/// Read a public key file (refusing weak keys).
pub fn read_public_key(path: &Path) -> Result<PublicKey> {
    let (_, bytes) = read_small_nofollow(path)?;
    PublicKey::from_file_bytes(&bytes).map_err(|e| Error::Key {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Whether a secret key file is encrypted.
pub fn secret_key_is_encrypted(path: &Path) -> Result<bool> {
    let (_, bytes) = read_small_nofollow(path)?;
    SecretKey::file_is_encrypted(&bytes).map_err(|e| Error::Key {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Read a secret key file. Refuses files readable by group or others and symlinks. When the key
/// is encrypted, `passphrase` is called to get the passphrase.
pub fn read_secret_key(
    path: &Path,
    passphrase: &mut dyn FnMut() -> Result<Zeroizing<Vec<u8>>>,
) -> Result<SecretKey> {
    let (f, bytes) = read_small_nofollow(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = f
            .metadata()
            .map_err(|e| Error::io(path, e))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::KeyPermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    drop(f);
    let key_err = |e| Error::Key {
        path: path.to_path_buf(),
        source: e,
    };
    if SecretKey::file_is_encrypted(&bytes).map_err(key_err)? {
        let pass = passphrase()?;
        SecretKey::from_file_bytes(&bytes, Some(&pass)).map_err(key_err)
    } else {
        SecretKey::from_file_bytes(&bytes, None).map_err(key_err)
    }
}

/// What a key file holds, as far as can be told without a passphrase.
#[derive(Debug)]
pub enum KeyFileKind {
    /// A public key file (checked: canonical, not weak).
    Public(PublicKey),
    /// A secret key file (structure, algorithms and, when encrypted, the scrypt limits checked;
    /// not decrypted).
    Secret {
        /// Whether it is scrypt-encrypted.
        encrypted: bool,
        /// Its permission bits (Unix), to warn about files readable by others.
        mode: Option<u32>,
    },
}

/// Tell a public key file from a secret key file (by the length of the base64 line: 56
/// characters for a public key, 212 for a secret key) and check it, without decrypting
/// anything and without following a symlink.
pub fn identify_key_file(path: &Path) -> Result<KeyFileKind> {
    let (f, bytes) = read_small_nofollow(path)?;
    let second_len = bytes
        .split(|&b| b == b'\n')
        .nth(1)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).len());
    let key_err = |e| Error::Key {
        path: path.to_path_buf(),
        source: e,
    };
    match second_len {
        Some(56) => Ok(KeyFileKind::Public(
            PublicKey::from_file_bytes(&bytes).map_err(key_err)?,
        )),
        Some(212) => {
            let encrypted = SecretKey::file_is_encrypted(&bytes).map_err(key_err)?;
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt;
                let m = f.metadata().map_err(|e| Error::io(path, e))?;
                Some(m.permissions().mode() & 0o777)
            };
            #[cfg(not(unix))]
            let mode = {
                drop(f);
                None
            };
            Ok(KeyFileKind::Secret { encrypted, mode })
        }
        _ => Err(Error::invalid(
            path.display().to_string(),
            "not a minisign public or secret key file",
        )),
    }
}

/// Read a passphrase file: its first line, without the line ending (LF or CRLF). Empty is
/// refused. Unlike key files, a passphrase file may be a symlink or a pipe, so that
/// `--passphrase-file /dev/stdin` (on a pipe), `--passphrase-file <(pass show key)` and secrets
/// mounted through links work; at most [`MAX_KEY_FILE`] bytes are read. A FIFO with no writer
/// reads as empty (never blocks); a device or socket is refused.
pub fn read_passphrase_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let how = crate::format::input::Open {
        what: "passphrase file",
        follow: true,
        accept: crate::format::input::Accept::RegularOrPipe,
    };
    let (f, _) = crate::format::input::open(path, how)?;
    // Room for all of it, so that no reallocation leaves a copy behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    crate::format::input::read_to_end_bounded(
        &f,
        path,
        MAX_KEY_FILE,
        "passphrase file",
        &mut bytes,
    )?;
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let mut line = &bytes[..end];
    if let Some(l) = line.strip_suffix(b"\r") {
        line = l;
    }
    if line.is_empty() {
        return Err(Error::invalid(
            path.display().to_string(),
            "the passphrase (first line) is empty",
        ));
    }
    Ok(Zeroizing::new(line.to_vec()))
}
