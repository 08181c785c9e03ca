//! Co-signing: add another signer's signature to a sealed bundle without changing what is
//! sealed (`docs/FORMAT.md` section 1: `tagmanifest-sha256.txt.<KEYID>.minisig`).
//!
//! The bundle is read strictly and must pass every check but trust (a damaged bundle is
//! refused, never "repaired" by a signature). The co-signature signs the tag manifest's exact
//! bytes with the same pinned comments a sealer's signature has, so the content digest (the
//! SHA-256 of the tag manifest) does not change. The bundle is rewritten by the canonical
//! writer, entry by entry, streaming (a payload is never held in memory), into a temporary file
//! beside it that replaces it atomically; every entry copied is hashed again and compared with
//! what was checked.

use crate::format::durable::Output;
use crate::format::error::{Error, Result};
use crate::format::minisign::{KeyId, SecretKey};
use crate::format::text::hex;
use crate::format::zip::{self, Limits, ZipWriter};
use crate::ops::verify::{self, Options};
use crate::profile::bagit::{self, SIGNATURE, TAGMANIFEST};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What `cosign` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The bundle, rewritten in place.
    pub path: PathBuf,
    /// The bundle identity.
    pub id: String,
    /// The content digest (unchanged).
    pub content_sha256: String,
    /// The co-signer's key id.
    pub key_id: KeyId,
    /// The name of the co-signature file added.
    pub file: String,
    /// How many signatures the bundle holds now (the sealer's and the co-signatures).
    pub signatures: usize,
}

fn refused(path: &Path, why: impl Into<String>) -> Error {
    Error::Refused {
        path: path.to_path_buf(),
        summary: why.into(),
    }
}

/// (length, modification time, inode) of a file, to notice a concurrent change.
fn stamp(m: &std::fs::Metadata) -> (u64, Option<std::time::SystemTime>, u64) {
    #[cfg(unix)]
    let ino = {
        use std::os::unix::fs::MetadataExt;
        m.ino()
    };
    #[cfg(not(unix))]
    let ino = 0;
    (m.len(), m.modified().ok(), ino)
}

/// How long `cosign` waits for another one on the same bundle to finish.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Open the bundle (a regular file, never through a link) and hold an exclusive `flock` on it
/// for the whole read-rebuild-rename: a second `cosign` of the same bundle waits, then finds the
/// name now leads to the first one's output and starts again from that, so no co-signature is
/// lost. `timestamp` takes the same lock to add tokens. Gives up with an error after
/// [`LOCK_WAIT`].
pub(crate) fn open_locked(bundle: &Path) -> Result<(std::fs::File, std::fs::Metadata)> {
    let start = std::time::Instant::now();
    loop {
        let (file, meta) = crate::format::input::open(
            bundle,
            crate::format::input::Open::regular_nofollow("bundle"),
        )?;
        #[cfg(unix)]
        {
            use rustix::fs::FlockOperation;
            use std::os::unix::fs::MetadataExt;
            match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    if start.elapsed() >= LOCK_WAIT {
                        return Err(refused(
                            bundle,
                            format!(
                                "is being changed by another process (cosign or timestamp); waited {} s",
                                LOCK_WAIT.as_secs()
                            ),
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
                // A file system without locks (some network ones): go on unlocked; the
                // change check before the rename still applies.
                Err(_) => return Ok((file, meta)),
            }
            // Locked: the name must still lead to this file (another cosign may have replaced
            // it while we waited); otherwise start again from what it leads to now.
            // (Read again once locked.)
            let meta = file.metadata().map_err(|e| Error::io(bundle, e))?;
            let now = std::fs::symlink_metadata(bundle).map_err(|e| Error::io(bundle, e))?;
            if now.dev() != meta.dev() || now.ino() != meta.ino() {
                if start.elapsed() >= LOCK_WAIT {
                    return Err(refused(
                        bundle,
                        "keeps being replaced while waiting to change it",
                    ));
                }
                continue;
            }
            return Ok((file, meta));
        }
        #[cfg(not(unix))]
        {
            let _ = start;
            return Ok((file, meta));
        }
    }
}

/// Add a co-signature by `key` to the bundle file `bundle`, replacing it atomically. The new
/// file keeps the old one's permission bits and (where this process may set it) owner; another
/// hard link to the old file keeps the bundle as it was.
///
/// Refused (nothing written): a directory or symbolic link; a bundle with any error finding
/// of `docseal inspect`; a key that already signed the bundle (the sealer's own key included),
/// under its key id or another one (a signer is its public key); a bundle that already holds
/// [`verify::MAX_COSIGNATURES`] co-signatures; a bundle that changes while it is rewritten.
// Longer than 80 lines: the steps of one atomic rewrite (inspect, refuse a signer already
// there, sign, copy every entry unchanged, insert the co-signature in name order, keep mode and
// owner, replace) share the open bundle and its parsed entries.
pub fn cosign(bundle: &Path, key: &SecretKey, limits: &Limits) -> Result<Cosigned> {
    let lmeta = std::fs::symlink_metadata(bundle).map_err(|e| Error::io(bundle, e))?;
    if lmeta.file_type().is_symlink() {
        return Err(Error::invalid(
            bundle.display().to_string(),
            "is a symbolic link; cosign replaces the file itself, so give the real path",
        ));
    }
    if lmeta.is_dir() {
        return Err(Error::invalid(
            bundle.display().to_string(),
            "is a directory; cosign takes a bundle ZIP file",
        ));
    }
    let (file, meta) = open_locked(bundle)?;
    let before = stamp(&meta);
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let mut r = &file;
    let report = verify::verify_reader(
        &bundle.display().to_string(),
        &mut r,
        meta.len(),
        None,
        &opts,
    );
    if !report.ok {
        let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Damaged {
            path: bundle.to_path_buf(),
            summary: format!("{} (a damaged bundle is not co-signed)", codes.join(", ")),
        });
    }
    let (Some(m), Some(content)) = (report.metadata.clone(), report.content_sha256.clone()) else {
        return Err(refused(bundle, "no metadata or tag manifest"));
    };
    let kid = key.key_id();
    let kid_s = kid.to_string();
    // A signer is its public key: the same key under another key id has signed already.
    let fingerprint = hex(&Sha256::digest(key.public_key().verifying_key().as_bytes()));
    if let Some(s) = report
        .signers
        .iter()
        .find(|s| s.key_id == kid_s || s.fingerprint.as_deref() == Some(fingerprint.as_str()))
    {
        let alias = if s.key_id == kid_s {
            String::new()
        } else {
            format!(" (under key id {}: the same public key)", s.key_id)
        };
        let why = if s.file == SIGNATURE {
            format!(
                "is sealed by key {kid_s}{alias} itself; a co-signature must come from another key"
            )
        } else {
            format!("is already co-signed by key {kid_s}{alias}")
        };
        return Err(Error::invalid(bundle.display().to_string(), why));
    }
    if report.signers.len() > verify::MAX_COSIGNATURES {
        return Err(Error::invalid(
            bundle.display().to_string(),
            format!(
                "already holds {} co-signatures, the most a bundle may hold",
                verify::MAX_COSIGNATURES
            ),
        ));
    }
    let expected: HashMap<&str, &str> = report
        .files
        .iter()
        .filter_map(|f| f.sha256.as_deref().map(|d| (f.path.as_str(), d)))
        .collect();

    let mut r = &file;
    let entries = zip::read_strict(&mut r, meta.len(), limits)
        .map_err(|_| refused(bundle, "changed while being co-signed"))?;
    let tm_entry = entries
        .iter()
        .find(|e| e.name == TAGMANIFEST)
        .ok_or_else(|| refused(bundle, "changed while being co-signed"))?;
    if tm_entry.size > bagit::MAX_MANIFEST_BYTES {
        return Err(refused(bundle, "changed while being co-signed"));
    }
    let mut tagmanifest = Vec::with_capacity(tm_entry.size as usize);
    let d = zip::hash_entry(&mut r, tm_entry, Some(&mut tagmanifest))
        .map_err(|e| Error::io(bundle, e))?;
    if hex(&d.sha256) != content {
        return Err(refused(bundle, "changed while being co-signed"));
    }
    let signature = crate::profile::comments::sign_tagmanifest(&m, key, &tagmanifest);
    let name = bagit::cosignature_name(&kid_s);

    // The new file keeps the bundle's mode (a 0600 bundle stays 0600) and, where this
    // process may set it, owner. It replaces the name given: another hard link to the old
    // file keeps the old bundle (docs/SECURITY.md, "File-system guarantees").
    let mut output = Output::create(bundle, true)?;
    output.keep_mode_of(&meta);
    let out_err = |e: std::io::Error| Error::io(bundle, e);
    let mut zw = ZipWriter::new(output.file());
    let mut inserted = false;
    let mut signatures = 1;
    for e in &entries {
        let is_sig = e.name == SIGNATURE || bagit::cosignature_key_id(&e.name).is_some();
        // Co-signatures are sorted by name and come before timestamp tokens (format v2).
        let after = (bagit::cosignature_key_id(&e.name).is_some() && e.name > name)
            || crate::format::tsa::token_name_id(&e.name).is_some();
        if !inserted && after {
            zw.add_bytes(&name, signature.as_bytes()).map_err(out_err)?;
            inserted = true;
        }
        if is_sig {
            signatures += 1;
        }
        let mut f = &file;
        f.seek(SeekFrom::Start(e.data_offset)).map_err(out_err)?;
        let mut data = f.take(e.size);
        let got = zw
            .add_reader(&e.name, e.size, &mut data)
            .map_err(|err| match err.kind() {
                std::io::ErrorKind::InvalidData => refused(bundle, "changed while being co-signed"),
                _ => Error::io(bundle, err),
            })?;
        if got.crc32 != e.crc32 || expected.get(e.name.as_str()) != Some(&hex(&got.sha256).as_str())
        {
            return Err(refused(
                bundle,
                format!("{} changed while being co-signed", e.name),
            ));
        }
    }
    if !inserted {
        zw.add_bytes(&name, signature.as_bytes()).map_err(out_err)?;
    }
    let f = zw.finish().map_err(out_err)?;
    f.flush().map_err(out_err)?;
    let now = std::fs::metadata(bundle).map_err(|e| Error::io(bundle, e))?;
    if stamp(&now) != before {
        return Err(refused(
            bundle,
            "changed while being co-signed (another writer?); nothing was written, try again",
        ));
    }
    output.commit()?;
    Ok(Cosigned {
        path: bundle.to_path_buf(),
        id: m.id,
        content_sha256: content,
        key_id: kid,
        file: name,
        signatures,
    })
}
