//! Archive log v2 (`docs/FORMAT.md`, "Archive log v2"): the v1 layout plus the log served
//! as C2SP tlog-tiles under `ARCHIVE/log/` (hash tiles, entry bundles) and the latest
//! checkpoint at the fixed name `log/checkpoint` as a C2SP signed note (Ed25519 note
//! signature by the archive key), which transparency-log witnesses can cosign
//! (`log/cosignatures/<N>`).

use super::{
    ensure_dir, invalid, open_nofollow, parent_dir, read_limited, real_dir, temp_file, Checkpoint,
    Entry, Sink, CHECKPOINTS_DIR, MAX_CHECKPOINT_BYTES, MAX_ENTRY_LINE,
};
use crate::format::durable as atomic;
use crate::format::error::{Error, Result};
use crate::format::finding::{Code, Finding};
use crate::format::merkle::Hash;
use crate::format::minisign::{PublicKey, SecretKey};
use crate::format::note::{KeyKind, Note, NoteSigner, SignatureLine, VerifierKey};
use crate::format::store::Store;
use crate::format::tlog::{self, TileId, TileRead, Tiles};
use crate::profile::trust::Trust;
use std::collections::BTreeSet;
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
    base: &'a str,
}

impl<'a> DiskTiles<'a> {
    /// The tiles of this archive.
    pub fn new(archive: &'a Path) -> Self {
        DiskTiles {
            archive,
            base: "log",
        }
    }
}

impl TileRead for DiskTiles<'_> {
    fn read(&mut self, path: &str, max_len: usize) -> std::result::Result<Option<Vec<u8>>, String> {
        let rel = format!("{}/{path}", self.base);
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

pub(super) fn tile_error(e: tlog::TileError) -> Error {
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
    put_file_sync(archive, rel, bytes, true)
}

/// [`put_file`]; without `durable`, the file and its directory are not synced (the caller
/// syncs the whole file system before anything depends on them).
fn put_file_sync(archive: &Path, rel: &str, bytes: &[u8], durable: bool) -> Result<()> {
    let dest = archive.join(rel);
    let dir_rel = rel.rsplit_once('/').map_or("", |(d, _)| d);
    ensure_dir(archive, dir_rel)?;
    let (tmp, mut f) = temp_file(parent_dir(&dest))?;
    f.write_all(bytes)
        .and_then(|()| if durable { f.sync_all() } else { Ok(()) })
        .map_err(|e| Error::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
    if !durable {
        return Ok(());
    }
    let dir = parent_dir(&dest);
    atomic::sync_dir(dir).map_err(|e| Error::io(dir, e))
}

/// Make everything written under `archive` durable: `syncfs` where there is one, else each
/// file was synced as written.
fn sync_all_written(archive: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let d = std::fs::File::open(archive).map_err(|e| Error::io(archive, e))?;
        rustix::fs::syncfs(&d).map_err(|e| Error::io(archive, e.into()))?;
    }
    Ok(())
}

/// Whether files may be written without syncing each (one `syncfs` at the end instead).
const DEFER_SYNC: bool = cfg!(target_os = "linux");

/// Extend the tiles of the tree of `old_size` entries with `lines` (entry lines without LF);
/// returns the new root. Files beyond `old_size` left by an interrupted add are replaced;
/// no file the tree of `old_size` needs is touched.
pub fn extend(archive: &Path, old_size: u64, lines: &[String]) -> Result<Hash> {
    extend_in(archive, "log", old_size, lines)
}

fn extend_in(archive: &Path, base: &str, old_size: u64, lines: &[String]) -> Result<Hash> {
    ensure_dir(archive, &format!("{base}/tile"))?;
    let mut tiles = Tiles::new(DiskTiles { archive, base }, old_size);
    let (files, root) = tlog::append(&mut tiles, lines, MAX_ENTRY_LINE).map_err(tile_error)?;
    // Migrating: synced once at the end, before the tiles are moved into place.
    let durable = base == "log" || !DEFER_SYNC;
    // Temporary files an add killed while writing tiles left in these directories (the same
    // ones: the next add rewrites at least the range the killed one wrote); under the lock.
    // (A full tile `N` also clears `N.p/`, where its partial versions were written.)
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for (p, _) in &files {
        if let Some((d, _)) = p.rsplit_once('/') {
            dirs.insert(d.to_string());
        }
        if !p.contains(".p/") {
            dirs.insert(format!("{p}.p"));
        }
    }
    for d in dirs {
        let dir = archive.join(base).join(d);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for ent in rd.flatten() {
            let n = ent.file_name();
            if super::is_temp_name(&n.to_string_lossy())
                && ent.file_type().is_ok_and(|t| t.is_file())
            {
                std::fs::remove_file(ent.path()).map_err(|e| Error::io(ent.path(), e))?;
            }
        }
    }
    for (path, bytes) in files {
        put_file_sync(archive, &format!("{base}/{path}"), &bytes, durable)?;
    }
    Ok(root)
}

/// Whether the tiles of the tree of `size` entries can be extended: its right edge (hash tiles
/// and the last entry bundle) is there and gives `root`.
pub fn check_extendable(archive: &Path, size: u64, root: &Hash) -> Result<()> {
    let mut t = Tiles::new(DiskTiles::new(archive), size);
    let r = t.root(size).map_err(tile_error)?;
    if !size.is_multiple_of(tlog::TILE_WIDTH) {
        t.entries(size / tlog::TILE_WIDTH, MAX_ENTRY_LINE)
            .map_err(tile_error)?;
    }
    if &r != root {
        return Err(invalid(
            TILE_DIR,
            format!("they do not give the root of checkpoint {size}"),
        ));
    }
    Ok(())
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// Entries laid out in tiles.
    pub entries: u64,
    /// The checkpoint written to `log/checkpoint`.
    pub checkpoint: u64,
}

/// Entries held in memory at a time while migrating.
const MIGRATE_CHUNK: usize = 1 << 14;
/// Where `migrate` builds the tiles before moving them into place.
const MIGRATING: &str = "log/.migrating";

/// Lay a v1 archive's log out as v2 (`docs/FORMAT.md`, "Archive log v2", B.4): the tiles and
/// entry bundles of the whole log, built in `log/.migrating/` and moved into place as
/// `log/tile/` at the end, and `log/checkpoint` for the latest checkpoint, signed with `key`
/// (which must be the key of that checkpoint). Every v1 file stays as it is. Refuses a log
/// with problems (`archive audit` names them) or entries after its latest checkpoint.
pub fn migrate(archive: &Path, key: &SecretKey, wait: std::time::Duration) -> Result<Migrated> {
    let label = archive.display().to_string();
    if !real_dir(archive, "log")? {
        return Err(invalid(&label, "is not an archive (no log/ directory)"));
    }
    if is_v2(archive)? {
        return Err(invalid(&label, "its log is v2 already (log/tile/ exists)"));
    }
    let _lock = super::Lock::acquire(archive, wait, true)?;
    let (latest, sizes) = migratable(archive, &label, key)?;
    let latest = &latest;
    // A migration interrupted before: start again.
    if real_dir(archive, MIGRATING)? {
        let p = archive.join(MIGRATING);
        std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
    }
    ensure_dir(archive, MIGRATING)?;
    let mut chunk: Vec<String> = Vec::new();
    let mut done = 0u64;
    let mut root = crate::format::merkle::empty_root();
    let mut failed: Option<Error> = None;
    let mut next_size = sizes.sizes().peekable();
    super::scan_entries(archive, &BTreeSet::new(), &mut |pos, _, line| {
        if failed.is_some() || pos >= latest.size {
            return Ok(());
        }
        chunk.push(String::from_utf8_lossy(line).into_owned());
        // Partial tiles at every checkpoint's size, as adds would have made them.
        let mut at_size = false;
        while let Some(s) = next_size.next_if(|s| s.as_ref().map_or(true, |&s| s <= pos + 1)) {
            at_size |= s? == pos + 1;
        }
        if chunk.len() >= MIGRATE_CHUNK || at_size {
            match extend_in(archive, MIGRATING, done, &chunk) {
                Ok(r) => root = r,
                Err(e) => failed = Some(e),
            }
            done += chunk.len() as u64;
            chunk.clear();
        }
        Ok(())
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    if done != latest.size || root != latest.root {
        return Err(invalid(
            &label,
            "the tiles built do not give the latest checkpoint's root (the log changed?)",
        ));
    }
    sync_all_written(archive)?;
    write_checkpoint(archive, latest, key)?;
    let from = archive.join(MIGRATING).join("tile");
    let to = archive.join(TILE_DIR);
    std::fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
    let p = archive.join(MIGRATING);
    std::fs::remove_dir(&p).map_err(|e| Error::io(&p, e))?;
    let log = archive.join("log");
    atomic::sync_dir(&log).map_err(|e| Error::io(&log, e))?;
    Ok(Migrated {
        entries: done,
        checkpoint: latest.size,
    })
}

/// The log of `archive` (`label`) as checked before a migration with `key`: its latest
/// checkpoint signed by `key`, and the sizes of its checkpoints; refused if damaged or with
/// entries after that checkpoint.
fn migratable(archive: &Path, label: &str, key: &SecretKey) -> Result<(Checkpoint, super::Sound)> {
    let me = Trust::new(vec![crate::profile::trust::TrustedKey::archive(
        key.public_key(),
    )]);
    let lc = super::check_log(archive, Some(&me), &[], &mut |_| Ok(()))?;
    if let Some(bad) = lc.sink.first_error(&[Code::LogCheckpointUntrusted]) {
        return Err(invalid(
            label,
            format!(
                "{bad}; not migrating a damaged log (an audit of the archive gives the details)"
            ),
        ));
    }
    let Some((latest, _)) = lc.sound.last() else {
        return Err(invalid(
            label,
            "has no checkpoint signed by this key to migrate",
        ));
    };
    if lc.n != latest.size || lc.orphan.is_some() {
        return Err(invalid(
            label,
            "has entries after its latest checkpoint (an interrupted add): the next add completes them; migrate after it",
        ));
    }
    Ok((latest.clone(), lc.sound))
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
    let Some(bytes) = read_limited(&p, MAX_NOTE_FILE)? else {
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

/// The witnesses an audit requires: their keys and how many must have cosigned the latest
/// checkpoint.
#[derive(Debug, Clone, Default)]
pub struct WitnessPolicy {
    /// Witness keys (cosignature/v1 verifier keys).
    pub witnesses: Vec<VerifierKey>,
    /// How many distinct witnesses must have cosigned the latest checkpoint.
    pub min: usize,
}

/// The v2 parts of an audit: `log/checkpoint` against the latest checkpoint `latest` (as the
/// audit trusted it), the tiles and entry bundles of its tree against `log/entries`. Whether
/// the witnesses' cosignatures of `latest` are to be checked next (a v2 log with a latest
/// checkpoint: [`super::witness`]); on a v1 log, witnesses asked for are a quorum not met.
pub(super) fn audit_v2(
    archive: &Path,
    trust: &Trust,
    latest: Option<&Checkpoint>,
    sizes: &super::Sound,
    policy: &WitnessPolicy,
    f: &mut Sink,
) -> Result<bool> {
    let v2 = is_v2(archive)?;
    if !v2 {
        if !policy.witnesses.is_empty() && policy.min > 0 {
            f.push(Finding::at(
                Code::LogWitnessQuorum,
                "log",
                "a v1 log has no cosigned checkpoint (migrating it to v2 makes one)",
            ));
        }
        return Ok(false);
    }
    let Some(cp) = latest else {
        return Ok(false);
    };
    check_published_note(archive, trust, cp, f)?;
    // The tiles of the latest trusted checkpoint's tree: entry bundles, hash tiles, and the
    // root they give against the one the checkpoint signs (log/entries against the same root
    // is the v1 checks' job: each is reported where it differs).
    let mut tiles = Tiles::new(DiskTiles::new(archive), cp.size);
    let bad = match tlog::check_all(&mut tiles, MAX_ENTRY_LINE, &mut |_, _| {}) {
        Ok(root) if root == cp.root => None,
        Ok(_) => Some(format!(
            "the entry bundles do not give the root checkpoint {} signs",
            cp.size
        )),
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = bad {
        f.push(Finding::at(
            Code::LogTilesInvalid,
            TILE_DIR,
            format!("{why} (tree of {} entries)", cp.size),
        ));
    } else if let Some(why) = check_older_partial_tiles(archive, cp.size, sizes)? {
        f.push(Finding::at(Code::LogTilesInvalid, TILE_DIR, why));
    }
    Ok(true)
}

/// `log/checkpoint`: the note of the largest checkpoint, signed by a trusted archive key (`cp`:
/// the latest checkpoint the audit trusted).
fn check_published_note(
    archive: &Path,
    trust: &Trust,
    cp: &Checkpoint,
    f: &mut Sink,
) -> Result<()> {
    let largest = largest_checkpoint_file(archive)?;
    // log/checkpoint: the note of the largest checkpoint, signed by a trusted archive key.
    // A symbolic link or a FIFO there is tampering, reported like any other.
    match read_limited(&archive.join(CHECKPOINT_FILE), MAX_NOTE_FILE) {
        Err(e) => f.push(Finding::at(
            Code::LogCheckpointInvalid,
            CHECKPOINT_FILE,
            e.to_string(),
        )),
        Ok(None) => f.push(Finding::at(
            Code::LogCheckpointMissing,
            CHECKPOINT_FILE,
            format!("missing (it should be checkpoint {largest} as a signed note)"),
        )),
        Ok(Some(bytes)) => match Note::parse(&bytes) {
            Err(e) => f.push(Finding::at(
                Code::LogCheckpointInvalid,
                CHECKPOINT_FILE,
                e.to_string(),
            )),
            Ok(n) => check_note(archive, trust, cp, largest, &n, f),
        },
    }
    Ok(())
}

/// The largest checkpoint file (trusted or not: untrusted ones are reported by the v1 checks).
fn largest_checkpoint_file(archive: &Path) -> Result<u64> {
    let mut largest = 0u64;
    if real_dir(archive, CHECKPOINTS_DIR)? {
        let dir = archive.join(CHECKPOINTS_DIR);
        for ent in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let ent = ent.map_err(|e| Error::io(&dir, e))?;
            if let Some(n) = ent.file_name().to_str().and_then(super::parse_decimal) {
                largest = largest.max(n);
            }
        }
    }
    Ok(largest)
}

/// `log/checkpoint`'s note `n` (parsed): it must be the note of the latest checkpoint file
/// (`largest`), validly signed by a trusted archive key if that checkpoint is `cp`.
fn check_note(
    archive: &Path,
    trust: &Trust,
    cp: &Checkpoint,
    largest: u64,
    n: &Note,
    f: &mut Sink,
) {
    let named = Checkpoint::parse(n.text.as_bytes()).ok().filter(|c| {
        read_limited(
            &archive.join(CHECKPOINTS_DIR).join(c.size.to_string()),
            MAX_CHECKPOINT_BYTES,
        )
        .ok()
        .flatten()
        .as_deref()
            == Some(n.text.as_bytes())
    });
    match named {
        None => match published_ahead(archive, trust, n, largest) {
            Some(size) => f.push(
                Finding::at(
                    Code::LogInterrupted,
                    CHECKPOINT_FILE,
                    format!(
                        "is checkpoint {size}, published but not yet in {CHECKPOINTS_DIR} (an add on object storage was interrupted after publishing it; the next add writes its files)"
                    ),
                )
                .warning(),
            ),
            None => f.push(Finding::at(
                Code::LogCheckpointInvalid,
                CHECKPOINT_FILE,
                "is not the note of one of the log's checkpoints (altered or forged)",
            )),
        },
        Some(c) if c.size < largest => f.push(
            Finding::at(
                Code::LogInterrupted,
                CHECKPOINT_FILE,
                format!(
                    "is checkpoint {}, not the latest ({largest}): an add was interrupted after writing its checkpoint; the next add writes it",
                    c.size
                ),
            )
            .warning(),
        ),
        Some(c) => {
            let verifies = note_signed(trust, &c, n);
            // A checkpoint whose minisign signature is not trusted is reported by
            // the v1 checks already; a trusted one must have a valid note too.
            if !verifies && c.size == cp.size {
                f.push(Finding::at(
                    Code::LogCheckpointInvalid,
                    CHECKPOINT_FILE,
                    "has no valid note signature by a trusted archive key (altered or forged)",
                ));
            }
        }
    }
}

/// The one state an add on object storage leaves when it dies between publishing
/// `log/checkpoint` and writing `log/checkpoints/<N>` (`docs/FORMAT.md` B.4): the note is a
/// checkpoint of size N beyond the largest checkpoint file `largest`, with `previous` =
/// `largest`, no file `<N>` (its `<N>.minisig` may be there: it is written first), a valid note signature by a trusted archive
/// key, and the root of the first N entries of `log/entries` and of the tiles. Its size, or
/// `None` when the note is anything else.
fn published_ahead(archive: &Path, trust: &Trust, n: &Note, largest: u64) -> Option<u64> {
    let c = Checkpoint::parse(n.text.as_bytes()).ok()?;
    if c.size <= largest || c.previous != largest {
        return None;
    }
    // `<N>` not written yet; `<N>.minisig` may be (an add on a store writes it first, then
    // `<N>`: one killed between the two, or read between them, leaves it alone; it is
    // reported by itself as interrupted).
    let dir = archive.join(CHECKPOINTS_DIR);
    if std::fs::symlink_metadata(dir.join(c.size.to_string())).is_ok() {
        return None;
    }
    if !note_signed(trust, &c, n) {
        return None;
    }
    let want: BTreeSet<u64> = [c.size].into();
    let scan = super::scan_entries(archive, &want, &mut |_, _, _| Ok(())).ok()?;
    if scan.roots.get(&c.size) != Some(&c.root) {
        return None;
    }
    let mut t = Tiles::new(DiskTiles::new(archive), c.size);
    (t.root(c.size).ok()? == c.root).then_some(c.size)
}

/// Whether note `n` (of checkpoint `c`) carries a valid signature by a trusted archive key.
fn note_signed(trust: &Trust, c: &Checkpoint, n: &Note) -> bool {
    trust.keys().iter().filter(|k| k.archive).any(|k| {
        archive_verifier(&c.origin, &k.key).is_some_and(|vk| {
            n.signatures
                .iter()
                .any(|l| vk.matches(l) && vk.verify(&n.text, l).is_ok())
        })
    })
}

/// The partial tiles and entry bundles left for the trees of older checkpoints (`sizes`) must
/// be prefixes of the latest tree's tiles (checked above against its root): a tile client of
/// an older tree reads them. Absent ones are allowed (tlog-tiles lets them be deleted).
fn check_older_partial_tiles(
    archive: &Path,
    latest: u64,
    sizes: &super::Sound,
) -> Result<Option<String>> {
    let mut reader = DiskTiles::new(archive);
    let levels = std::iter::once(None).chain((0..8u8).map(Some));
    let levels: Vec<Option<u8>> = levels.collect();
    for s in sizes.sizes() {
        let s = s?;
        if s >= latest {
            break;
        }
        for &level in &levels {
            let shift = u32::from(level.unwrap_or(0)) * tlog::TILE_HEIGHT;
            let count = if shift >= 64 { 0 } else { s >> shift };
            if count.is_multiple_of(tlog::TILE_WIDTH) {
                continue;
            }
            let Some(old) = TileId::holding(level, count - 1, s) else {
                continue;
            };
            let Some(new) = TileId::holding(level, count - 1, latest) else {
                continue;
            };
            let max = tlog::FULL_TILE_BYTES.max(256 * (2 + MAX_ENTRY_LINE));
            let old_bytes = match reader.read(&old.path(), max) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) => return Ok(Some(format!("{}: {e} (tree of {s} entries)", old.path()))),
            };
            let ok = match reader.read(&new.path(), max) {
                // Exactly the first `width` hashes, or entries (each length-prefixed).
                Ok(Some(b)) => b.get(..prefix_len(level, &b, old.width)) == Some(&old_bytes[..]),
                _ => false,
            };
            if !ok {
                return Ok(Some(format!(
                    "{} (the tree of checkpoint {s}) is not the start of {} (the latest tree's)",
                    old.path(),
                    new.path()
                )));
            }
        }
    }
    Ok(None)
}

/// The length of the first `width` hashes of a hash tile, or entries of an entry bundle.
fn prefix_len(level: Option<u8>, bytes: &[u8], width: u16) -> usize {
    if level.is_some() {
        return usize::from(width) * 32;
    }
    let mut at = 0usize;
    for _ in 0..width {
        let Some(l) = bytes.get(at..at + 2) else {
            return usize::MAX;
        };
        at += 2 + usize::from(u16::from_be_bytes([l[0], l[1]]));
    }
    at
}

/// Reads the tiles under `log/` of an archive in a [`Store`] (local or object storage), each
/// read bounded; [`Tiles::reads`] counts them.
pub struct StoreTiles<'a> {
    store: &'a dyn Store,
}

impl<'a> StoreTiles<'a> {
    /// The tiles of the archive at the root of `store`.
    pub fn new(store: &'a dyn Store) -> Self {
        StoreTiles { store }
    }
}

impl std::fmt::Debug for StoreTiles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreTiles({})", self.store.root())
    }
}

impl TileRead for StoreTiles<'_> {
    fn read(&mut self, path: &str, max_len: usize) -> std::result::Result<Option<Vec<u8>>, String> {
        match self.store.get(&format!("log/{path}"), max_len as u64) {
            Ok(o) => Ok(o.map(|o| o.bytes)),
            Err(e) => Err(e.to_string()),
        }
    }
}
