//! Archive log v2 (`docs/FORMAT.md`, "Archive log v2"): the v1 layout plus the log served
//! as C2SP tlog-tiles under `ARCHIVE/log/` (hash tiles, entry bundles) and the latest
//! checkpoint at the fixed name `log/checkpoint` as a C2SP signed note (Ed25519 note
//! signature by the archive key), which transparency-log witnesses can cosign
//! (`log/cosignatures/<N>`).

use super::{
    ensure_dir, invalid, open_nofollow, parent_dir, real_dir, temp_file, Checkpoint, Entry,
    MAX_ENTRY_LINE,
};
use crate::format::durable as atomic;
use crate::format::error::{Error, Result};
use crate::format::merkle::Hash;
use crate::format::minisign::{PublicKey, SecretKey};
use crate::format::note::{KeyKind, Note, NoteSigner, SignatureLine, VerifierKey};
use crate::format::tlog::{self, TileRead, Tiles};
use std::io::{Read, Write};
use std::path::Path;

/// The latest checkpoint as a signed note (tlog-tiles' fixed name).
pub const CHECKPOINT_FILE: &str = "log/checkpoint";
/// The directory of the tiles; its presence makes an archive v2.
pub const TILE_DIR: &str = "log/tile";
/// Witness cosignatures of checkpoint `<N>`: `log/cosignatures/<N>`.
pub const COSIGNATURES_DIR: &str = "log/cosignatures";
/// The largest `log/checkpoint` or cosignatures file read.
pub const MAX_NOTE_FILE: u64 = crate::format::note::MAX_NOTE_BYTES as u64;

/// Whether the archive's log is laid out as v2 (it has `log/tile/`).
pub fn is_v2(archive: &Path) -> Result<bool> {
    Ok(real_dir(archive, "log")? && real_dir(archive, TILE_DIR)?)
}

/// Reads tiles under `ARCHIVE/log/`, never through a symbolic link, bounded; counts reads.
pub struct DiskTiles<'a> {
    archive: &'a Path,
}

impl<'a> DiskTiles<'a> {
    /// The tiles of this archive.
    pub fn new(archive: &'a Path) -> Self {
        DiskTiles { archive }
    }
}

impl TileRead for DiskTiles<'_> {
    fn read(&mut self, path: &str, max_len: usize) -> std::result::Result<Option<Vec<u8>>, String> {
        let rel = format!("log/{path}");
        // Every directory on the way must be a real directory.
        let mut dir = String::new();
        let parts: Vec<&str> = rel.split('/').collect();
        for p in &parts[..parts.len() - 1] {
            if !dir.is_empty() {
                dir.push('/');
            }
            dir.push_str(p);
            match real_dir(self.archive, &dir) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(e.to_string()),
            }
        }
        let full = self.archive.join(&rel);
        let f = match open_nofollow(&full) {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        let mut buf = Vec::new();
        f.take(max_len as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        if buf.len() > max_len {
            return Err(format!("larger than {max_len} bytes"));
        }
        Ok(Some(buf))
    }
}

fn tile_error(e: tlog::TileError) -> Error {
    match &e {
        tlog::TileError::Missing(p)
        | tlog::TileError::Malformed { path: p, .. }
        | tlog::TileError::Read { path: p, .. } => invalid(format!("log/{p}"), {
            let s = e.to_string();
            s.strip_prefix(&format!("{p}: ")).unwrap_or(&s).to_string()
        }),
        tlog::TileError::OutOfRange(_) => invalid(TILE_DIR, e.to_string()),
    }
}

/// Write (or replace) an archive file through a temporary file in its directory.
pub(super) fn put_file(archive: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    let dest = archive.join(rel);
    let dir_rel = rel.rsplit_once('/').map_or("", |(d, _)| d);
    ensure_dir(archive, dir_rel)?;
    let (tmp, mut f) = temp_file(parent_dir(&dest))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
    let dir = parent_dir(&dest);
    atomic::sync_dir(dir).map_err(|e| Error::io(dir, e))
}

/// Extend the tiles of the tree of `old_size` entries with `lines` (entry lines without LF);
/// returns the new root. Files beyond `old_size` left by an interrupted add are replaced;
/// no file the tree of `old_size` needs is touched.
pub fn extend(archive: &Path, old_size: u64, lines: &[String]) -> Result<Hash> {
    ensure_dir(archive, TILE_DIR)?;
    let mut tiles = Tiles::new(DiskTiles::new(archive), old_size);
    let (files, root) = tlog::append(&mut tiles, lines, MAX_ENTRY_LINE).map_err(tile_error)?;
    for (path, bytes) in files {
        put_file(archive, &format!("log/{path}"), &bytes)?;
    }
    Ok(root)
}

/// The note key name and signer of an archive's checkpoints: the origin, the archive key.
fn signer<'a>(origin: &str, key: &'a SecretKey) -> Result<NoteSigner<'a>> {
    NoteSigner::new(origin, key).map_err(|e| invalid("checkpoint origin", e.to_string()))
}

/// The signed note of a checkpoint: its body and the archive key's Ed25519 note signature,
/// then `cosignatures`.
pub fn checkpoint_note(
    cp: &Checkpoint,
    key: &SecretKey,
    cosignatures: &[SignatureLine],
) -> Result<Vec<u8>> {
    let body = cp.body();
    let mut note = Note::new(&body).map_err(|e| invalid("checkpoint", e.to_string()))?;
    note.signatures.push(signer(&cp.origin, key)?.sign(&body));
    note.signatures.extend(cosignatures.iter().cloned());
    Ok(note.to_bytes())
}

/// Write `log/checkpoint` for `cp` (replacing the one before).
pub fn write_checkpoint(archive: &Path, cp: &Checkpoint, key: &SecretKey) -> Result<()> {
    let cos = read_cosignatures(archive, cp.size)?;
    put_file(archive, CHECKPOINT_FILE, &checkpoint_note(cp, key, &cos)?)
}

/// The verifier key of an archive key for checkpoints of `origin`.
pub fn archive_verifier(origin: &str, key: &PublicKey) -> Option<VerifierKey> {
    VerifierKey::new(origin, KeyKind::Ed25519, *key.verifying_key()).ok()
}

/// The cosignature lines kept for checkpoint `size` (none if the file is absent).
pub fn read_cosignatures(archive: &Path, size: u64) -> Result<Vec<SignatureLine>> {
    let rel = format!("{COSIGNATURES_DIR}/{size}");
    if !real_dir(archive, "log")? || !real_dir(archive, COSIGNATURES_DIR)? {
        return Ok(Vec::new());
    }
    let p = archive.join(&rel);
    let Some(bytes) = super::read_limited(&p, MAX_NOTE_FILE)? else {
        return Ok(Vec::new());
    };
    if bytes.len() as u64 > MAX_NOTE_FILE {
        return Err(invalid(&rel, "too large"));
    }
    let s = std::str::from_utf8(&bytes).map_err(|_| invalid(&rel, "not UTF-8"))?;
    crate::format::note::parse_signature_lines(s).map_err(|e| invalid(&rel, e.to_string()))
}

/// Used by `add` and `migrate`: the entries as lines.
pub fn lines_of(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(Entry::line).collect()
}
