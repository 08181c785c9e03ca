//! Adding bundles: copy, append, checkpoint, sign; and rolling back what an interrupted add
//! left.

use super::*;
use crate::format::durable;
use crate::format::error::{Error, Result};
use crate::format::finding::{Code, Finding, Severity};
use crate::format::merkle::CompactRange;
use crate::format::minisign::{KeyId, SecretKey};
use crate::format::zip::Limits;
use crate::ops::verify::{self, Options};
use crate::profile::metadata::{format_sealed, hex};
use crate::profile::trust::Trust;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

pub(super) fn crash_point(step: &str) {
    if std::env::var_os(CRASH_HOOK).is_some_and(|v| v == step) {
        std::process::abort();
    }
}

/// Remove what an interrupted add left and can only be rolled back: temporary files in
/// `bundles/`, `log/pending/` and `log/checkpoints/`, and bytes after the last LF of the log
/// (never covered by a checkpoint). Returns what was removed, for the report.
pub(super) fn roll_back_leftovers(archive: &Path) -> Result<Vec<String>> {
    let mut done = Vec::new();
    // (`log/` and `log/cosignatures/`: log/checkpoint and cosignature files of a v2 log.)
    for rel in [
        BUNDLES_DIR,
        PENDING_DIR,
        CHECKPOINTS_DIR,
        "log",
        tiles::COSIGNATURES_DIR,
    ] {
        let dir = archive.join(rel);
        if !real_dir(archive, rel)? {
            continue;
        }
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for ent in rd {
            let ent = ent.map_err(|e| Error::io(&dir, e))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            let ft = ent.file_type().map_err(|e| Error::io(&dir, e))?;
            if is_temp_name(&name) && ft.is_file() {
                let p = dir.join(&name);
                std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                done.push(format!("removed {rel}/{name}"));
            }
        }
    }
    let path = archive.join(ENTRIES_FILE);
    if let Some(mut f) = open_nofollow(&path)? {
        let len = f.metadata().map_err(|e| Error::io(&path, e))?.len();
        let back = len.min(MAX_ENTRY_LINE as u64 + 1);
        let mut tail = Vec::new();
        f.seek(std::io::SeekFrom::Start(len - back))
            .and_then(|_| f.read_to_end(&mut tail))
            .map_err(|e| Error::io(&path, e))?;
        if !tail.is_empty() && tail.last() != Some(&b'\n') {
            // The last LF within a line's length of the end; none: the whole file is one torn
            // line only if it is that short.
            let cut = match tail.iter().rposition(|&b| b == b'\n') {
                Some(i) => len - back + i as u64 + 1,
                None if len == back => 0,
                None => return Ok(done), // a line too long: left for audit to name
            };
            let w = open_write_nofollow(&path)?;
            w.set_len(cut)
                .and_then(|()| w.sync_all())
                .map_err(|e| Error::io(&path, e))?;
            done.push(format!(
                "removed {} bytes of an incomplete last line from {ENTRIES_FILE}",
                len - cut
            ));
        }
    }
    Ok(done)
}

/// What `archive add` did.
#[derive(Debug, Clone)]
pub struct Added {
    /// The new entries (including earlier unsigned ones now signed, if any).
    pub entries: Vec<Entry>,
    /// The new checkpoint.
    pub checkpoint: Checkpoint,
    /// The key that signed it.
    pub key_id: KeyId,
    /// What an interrupted add had left, completed or rolled back first.
    pub recovered: Vec<String>,
}

/// When a bundle's signed metadata makes another `supersedes` link than its log entry records
/// (a link is the signer's claim, never the log's): what differs.
pub(super) fn link_differs(r: &verify::Report, e: &Entry) -> Option<String> {
    let signed = r
        .metadata
        .as_ref()
        .and_then(|m| m.supersedes.as_ref())
        .map(|s| s.sha256.as_str());
    (signed != e.supersedes.as_deref()).then(|| {
        format!(
            "log entry {} records that it supersedes {}, but its bundle's signed metadata {}",
            e.index,
            e.supersedes.as_deref().unwrap_or("nothing"),
            match signed {
                Some(s) => format!("supersedes {s}"),
                None => "supersedes nothing".into(),
            }
        )
    })
}

/// Check an archive bundle file (not followed if a link) against its entry: the very file
/// logged, and a bundle that passes every check but trust with the entry's content, id and
/// supersedes link.
pub(super) fn check_entry_bundle(
    path: &Path,
    e: &Entry,
    limits: &Limits,
) -> std::result::Result<(), String> {
    let mut f = match open_nofollow(path) {
        Ok(Some(f)) => f,
        Ok(None) => return Err("its bundle is not in the archive".into()),
        Err(err) => return Err(err.to_string()),
    };
    let sha = sha256_reader(&mut f, path).map_err(|e| e.to_string())?;
    if sha != e.file_sha256 {
        return Err("its bundle is not the file logged".into());
    }
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    f.rewind().map_err(|err| err.to_string())?;
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let r = verify::verify_reader(&path.display().to_string(), &mut f, len, None, &opts);
    if !r.ok {
        let codes: Vec<String> = r.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(format!("its bundle fails: {}", codes.join(", ")));
    }
    if r.content_sha256.as_deref() != Some(&e.content_sha256) || r.id.as_deref() != Some(&e.id) {
        return Err("its bundle's content or id is not the one logged".into());
    }
    // The link is the bundle's signed claim; a line may not add, drop or change it.
    if let Some(why) = link_differs(&r, e) {
        return Err(why);
    }
    Ok(())
}

/// Add `bundles` to the archive (created if missing), append them to its log and sign a new
/// checkpoint with `key`, dated `time` (default now; the archive operator's clock). Waits up
/// to `wait` for another add on the same archive.
///
/// Each bundle must pass every check but trust; a bundle whose content is already in the
/// archive, or whose file name is taken (also in another case), is refused. Nothing is added
/// unless all can be. What an interrupted add left is completed (entries logged: their
/// bundles are checked and signed) or rolled back (files copied but not logged) first.
pub fn add(
    archive: &Path,
    bundles: &[PathBuf],
    key: &SecretKey,
    time: Option<DateTime<Utc>>,
    limits: &Limits,
) -> Result<Added> {
    add_wait(archive, bundles, key, time, limits, DEFAULT_WAIT)
}

/// [`add`], waiting up to `wait` for the archive lock.
pub fn add_wait(
    archive: &Path,
    bundles: &[PathBuf],
    key: &SecretKey,
    time: Option<DateTime<Utc>>,
    limits: &Limits,
    wait: std::time::Duration,
) -> Result<Added> {
    if bundles.is_empty() {
        return Err(invalid("archive add", "no bundle given"));
    }
    let label = archive.display().to_string();
    // A v3 log (docs/FORMAT.md C.4) is added to by the object-storage sequencer, never by
    // appending to log/entries (that would fork it).
    let refuse_v3 = || -> Result<()> {
        if v3log::is_v3(archive)? {
            return Err(invalid(
                &label,
                "laid out as archive log v3 (log/sequence), for object storage: add to it in its bucket",
            ));
        }
        Ok(())
    };
    refuse_v3()?;
    lay_out(archive)?;
    let _lock = Lock::acquire(archive, wait, true)?;
    // Again under the lock: a migration to v3 may have held it while this add waited.
    refuse_v3()?;
    let v2 = lay_out_v2(archive)?;

    // 1. What an interrupted add left: roll back what was not logged, check the log, then
    //    complete what was.
    let state = recover(archive, bundles, key, limits, v2, &label)?;
    let time = check_room(archive, &label, bundles.len(), &state, time)?;

    // 2. Copy each bundle into log/pending, checking the copy.
    let new_entries = copy_all(archive, bundles, limits, &state)?;

    // 3. Append to the log.
    append_entries(archive, &new_entries)?;

    // 4. Move the copies into bundles/.
    move_into_bundles(archive, &new_entries)?;

    // 5. Sign the new checkpoint: the signature first, then the note.
    let (cp, all) = sign_checkpoint(archive, key, &label, &state, new_entries.len(), time, v2)?;
    Ok(Added {
        entries: all,
        checkpoint: cp,
        key_id: key.key_id(),
        recovered: state.recovered,
    })
}

/// What step 1 of an add learnt of the archive, for the steps after it.
struct AddState {
    /// Complete entry lines in the log.
    count: u64,
    /// Checkpoint files.
    files: u64,
    /// The latest checkpoint (with its note just written, if it had none).
    latest: Option<Checkpoint>,
    /// Its size (0 without one): the entries from there on are signed by this add.
    signed: u64,
    /// The given names (by [`name_key`]) already in the log, with their entry's index.
    existing_names: HashMap<String, u64>,
    /// What an interrupted add had left, completed or rolled back.
    recovered: Vec<String>,
}

/// The refusal of an archive whose log is damaged.
fn damaged(label: &str, why: String) -> Error {
    invalid(
        label,
        format!("{why}; refusing to extend it (an audit of the archive gives the details)"),
    )
}

/// Create the archive directory and its layout (if missing), with tight permissions.
fn lay_out(archive: &Path) -> Result<()> {
    if !archive.is_dir() {
        let mut b = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o755);
        }
        b.recursive(true)
            .create(archive)
            .map_err(|e| Error::io(archive, e))?;
    }
    tighten_root(archive)?;
    for d in [BUNDLES_DIR, "log", CHECKPOINTS_DIR, PENDING_DIR] {
        ensure_dir(archive, d)?;
    }
    Ok(())
}

/// Whether the archive is (or, new, is laid out as) v2.
fn lay_out_v2(archive: &Path) -> Result<bool> {
    // A new archive is laid out as v2 (tiles: "Archive log v2"); a v1 archive stays v1 until
    // `archive migrate`.
    Ok(tiles::is_v2(archive)?
        || (std::fs::symlink_metadata(archive.join(ENTRIES_FILE)).is_err()
            && std::fs::read_dir(archive.join(CHECKPOINTS_DIR))
                .map_err(|e| Error::io(archive.join(CHECKPOINTS_DIR), e))?
                .next()
                .is_none()
            && {
                ensure_dir(archive, tiles::TILE_DIR)?;
                true
            }))
}

/// Step 1 of an add: roll back what an interrupted add left and was not logged, check the
/// log, then complete what was logged (a missing note, bundles left in log/pending).
fn recover(
    archive: &Path,
    bundles: &[PathBuf],
    key: &SecretKey,
    limits: &Limits,
    v2: bool,
    label: &str,
) -> Result<AddState> {
    let mut recovered = roll_back_leftovers(archive)?;
    let me = Trust::new(vec![crate::profile::trust::TrustedKey::archive(
        key.public_key(),
    )]);
    let LogRead {
        lc,
        existing_names,
        mut unsigned,
        count,
    } = read_log(archive, bundles, label)?;
    // A signature written without its note: write the note (if the signature is ours).
    if let Some(cp) = &lc.orphan {
        write_orphan_note(archive, cp, &me, label, &mut recovered)?;
    }
    let latest: Option<Checkpoint> = lc
        .orphan
        .clone()
        .or_else(|| lc.sound.last().map(|(c, _)| c.clone()));
    if let Some(l) = &latest {
        check_latest_signature(archive, l, &me, label)?;
    }
    let signed = latest.as_ref().map_or(0, |c| c.size);
    // The tiles this add extends must be there before anything is appended (else the add
    // would fail after logging, and every later add with it).
    if let (true, Some(l)) = (v2, &latest) {
        tiles::check_extendable(archive, l.size, &l.root)
            .map_err(|e| damaged(label, format!("its tiles: {e}")))?;
    }
    unsigned.retain(|e| e.index >= signed);
    complete_unsigned(archive, &unsigned, limits, label, &mut recovered)?;
    roll_back_pending(archive, &unsigned, label, &mut recovered)?;
    Ok(AddState {
        count,
        files: lc.files,
        latest,
        signed,
        existing_names,
        recovered,
    })
}

/// The log as [`read_log`] found it.
struct LogRead {
    /// The check of the log.
    lc: LogCheck,
    /// The given names (by [`name_key`]) already in the log, with their entry's index.
    existing_names: HashMap<String, u64>,
    /// The entries after the largest checkpoint file.
    unsigned: Vec<Entry>,
    /// Complete entry lines in the log.
    count: u64,
}

/// Check the log (refusing errors, but those of a first add interrupted before it signed),
/// keeping the given names it already has and the entries after its largest checkpoint.
fn read_log(archive: &Path, bundles: &[PathBuf], label: &str) -> Result<LogRead> {
    // Memory stays proportional to the bundles given, not to the log: the log's names are
    // compared with the given ones as it streams by, its contents after the copies (below).
    let given: BTreeSet<String> = bundles
        .iter()
        .filter_map(|b| b.file_name().and_then(|n| n.to_str()).map(name_key))
        .collect();
    let mut existing_names: HashMap<String, u64> = HashMap::new();
    let mut unsigned: Vec<Entry> = Vec::new();
    let mut count = 0u64;
    // The size signed last is known only after the pass: keep the entries after the largest
    // checkpoint file (at most those of one interrupted add are expected).
    let mut largest_file = 0u64;
    read_checkpoints(archive, &mut |size, _, _, _, _| {
        largest_file = largest_file.max(size)
    })?;
    let lc = check_log(archive, None, &[], &mut |e| {
        count += 1;
        let nk = name_key(&e.name);
        if given.contains(&nk) {
            existing_names.entry(nk).or_insert(e.index);
        }
        if e.index >= largest_file {
            unsigned.push(e.clone());
        }
        Ok(())
    })?;
    // Entries and no checkpoint at all: the first add was interrupted before it signed (its
    // entries are checked below before they are signed); anything else is refused.
    let first_interrupted = |x: &Finding| {
        x.code == Code::LogCheckpointMissing
            && x.path.as_deref() == Some(CHECKPOINTS_DIR)
            && lc.files == 0
    };
    if let Some(bad) = lc
        .sink
        .out
        .iter()
        .find(|x| x.severity == Severity::Error && !first_interrupted(x))
    {
        return Err(damaged(label, bad.to_string()));
    }
    Ok(LogRead {
        lc,
        existing_names,
        unsigned,
        count,
    })
}

/// A checkpoint signature written without its note: write the note if the signature is this
/// key's, else refuse.
fn write_orphan_note(
    archive: &Path,
    cp: &Checkpoint,
    me: &Trust,
    label: &str,
    recovered: &mut Vec<String>,
) -> Result<()> {
    let sig_path = archive
        .join(CHECKPOINTS_DIR)
        .join(format!("{}.minisig", cp.size));
    let sig = read_limited(&sig_path, MAX_SIGNATURE_BYTES)?.unwrap_or_default();
    match check_signature(cp, cp.body().as_bytes(), &sig, me) {
        Signer::Trusted { .. } => {
            write_new(
                &archive.join(CHECKPOINTS_DIR).join(cp.size.to_string()),
                cp.body().as_bytes(),
                "",
            )?;
            recovered.push(format!(
                "wrote checkpoint {} (its signature was there, its note was not)",
                cp.size
            ));
        }
        Signer::Untrusted(why) | Signer::Invalid(why) => {
            return Err(damaged(
                label,
                format!(
                    "log/checkpoints/{}.minisig has no note, and it is not this key's signature ({why})",
                    cp.size
                ),
            ))
        }
    }
    Ok(())
}

/// The latest checkpoint's signature must not be forged under this key's id.
fn check_latest_signature(archive: &Path, l: &Checkpoint, me: &Trust, label: &str) -> Result<()> {
    if let Some(sig) = read_limited(
        &archive
            .join(CHECKPOINTS_DIR)
            .join(format!("{}.minisig", l.size)),
        MAX_SIGNATURE_BYTES,
    )? {
        if let Signer::Invalid(why) = check_signature(l, l.body().as_bytes(), &sig, me) {
            return Err(damaged(label, format!("log/checkpoints/{}: {why}", l.size)));
        }
    }
    Ok(())
}

/// Entries after the latest checkpoint (an interrupted add): their bundles go into place
/// and must be exactly as logged and intact (issue 19 item 5); else refuse to sign them.
fn complete_unsigned(
    archive: &Path,
    unsigned: &[Entry],
    limits: &Limits,
    label: &str,
    recovered: &mut Vec<String>,
) -> Result<()> {
    for e in unsigned {
        let dest = archive.join(BUNDLES_DIR).join(&e.name);
        let pending = archive.join(PENDING_DIR).join(&e.name);
        let refuse = |why: String| {
            damaged(
                label,
                format!(
                    "log entry {} ({}) is not covered by a checkpoint and {why}",
                    e.index, e.name
                ),
            )
        };
        if open_nofollow(&dest)?.is_none() && open_nofollow(&pending)?.is_some() {
            check_entry_bundle(&pending, e, limits).map_err(refuse)?;
            place(&pending, &dest)?;
            recovered.push(format!("moved {PENDING_DIR}/{} into {BUNDLES_DIR}", e.name));
        }
        check_entry_bundle(&dest, e, limits).map_err(refuse)?;
    }
    Ok(())
}

/// Copies into log/pending that were never logged: rolled back.
fn roll_back_pending(
    archive: &Path,
    unsigned: &[Entry],
    label: &str,
    recovered: &mut Vec<String>,
) -> Result<()> {
    let dir = archive.join(PENDING_DIR);
    let logged: BTreeSet<&str> = unsigned.iter().map(|e| e.name.as_str()).collect();
    let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(&dir, e))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let p = dir.join(&name);
        let ft = ent.file_type().map_err(|e| Error::io(&dir, e))?;
        if ft.is_dir() {
            return Err(damaged(
                label,
                format!("{PENDING_DIR}/{name} is a directory"),
            ));
        }
        if logged.contains(name.as_str()) {
            // Logged and also in bundles/: the move was interrupted after the link.
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
            continue;
        }
        std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        recovered.push(format!(
            "removed {PENDING_DIR}/{name} (copied, never logged)"
        ));
    }
    Ok(())
}

/// The checks before copying: room in the log for the given bundles and for one more
/// checkpoint, and a time not before the latest checkpoint's. Returns the time (whole seconds).
fn check_room(
    archive: &Path,
    label: &str,
    given: usize,
    state: &AddState,
    time: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>> {
    let max = max_entries(archive);
    if state.count + given as u64 > max {
        return Err(invalid(
            label,
            format!("an archive log holds at most {max} entries"),
        ));
    }
    if state.files >= MAX_CHECKPOINTS {
        return Err(invalid(
            label,
            format!("an archive log holds at most {MAX_CHECKPOINTS} checkpoints"),
        ));
    }
    let time = time.unwrap_or_else(Utc::now);
    let time = DateTime::from_timestamp(time.timestamp(), 0).unwrap_or(time);
    if let Some(l) = &state.latest {
        if time < l.time {
            return Err(invalid(
                "the checkpoint time given",
                format!(
                    "{} is before the archive's latest checkpoint ({}); checkpoint times never go backwards",
                    format_sealed(time),
                    format_sealed(l.time)
                ),
            ));
        }
    }
    Ok(time)
}

/// Step 2: copy each bundle into log/pending, checking the copy, its name and its content
/// (against the log and each other). On any failure the copies made are removed.
fn copy_all(
    archive: &Path,
    bundles: &[PathBuf],
    limits: &Limits,
    state: &AddState,
) -> Result<Vec<Entry>> {
    let count = state.count;
    let mut names: HashMap<String, String> = state
        .existing_names
        .iter()
        .map(|(k, i)| (k.clone(), format!("entry {i}")))
        .collect();
    let mut contents: HashMap<String, String> = HashMap::new();
    let mut copied: Vec<PathBuf> = Vec::new();
    let mut new_entries: Vec<Entry> = Vec::new();
    let result = (|| -> Result<()> {
        for (k, b) in bundles.iter().enumerate() {
            let name = b
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| invalid(b.display(), "file name is not valid UTF-8"))?
                .to_string();
            check_name(&name).map_err(|why| invalid(b.display(), why))?;
            let nk = name_key(&name);
            if let Some(other) = names.get(&nk) {
                return Err(invalid(
                    b.display(),
                    format!("the archive already has a bundle named {name} or differing only in case ({other})"),
                ));
            }
            let dest = archive.join(BUNDLES_DIR).join(&name);
            if dest.symlink_metadata().is_ok() {
                return Err(invalid(
                    b.display(),
                    format!("{BUNDLES_DIR}/{name} exists in the archive but not in its log (an audit of the archive reports it)"),
                ));
            }
            let pending = archive.join(PENDING_DIR).join(&name);
            let e = copy_checked(b, &pending, limits, count + k as u64, &contents)?;
            copied.push(pending);
            crash_point("copied");
            names.insert(nk, format!("given as {}", b.display()));
            contents.insert(
                e.content_sha256.clone(),
                format!("{} (given as {})", name, b.display()),
            );
            new_entries.push(e);
        }
        check_contents_new(archive, bundles, count, &new_entries)
    })();
    if let Err(e) = result {
        for p in copied {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    Ok(new_entries)
}

/// Contents already in the log: one more pass over it, against the new ones only.
fn check_contents_new(
    archive: &Path,
    bundles: &[PathBuf],
    count: u64,
    new_entries: &[Entry],
) -> Result<()> {
    let fresh: HashMap<&str, usize> = new_entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.content_sha256.as_str(), i))
        .collect();
    let mut clash: Option<(usize, u64)> = None;
    scan_entries(archive, &BTreeSet::new(), &mut |pos, _, line| {
        if clash.is_none() && pos < count {
            if let Ok(e) = Entry::parse(line) {
                if let Some(&i) = fresh.get(e.content_sha256.as_str()) {
                    clash = Some((i, e.index));
                }
            }
        }
        Ok(())
    })?;
    if let Some((i, index)) = clash {
        return Err(invalid(
            bundles[i].display(),
            format!(
                "its content (sha256 {}) is already in the archive: entry {index}",
                new_entries[i].content_sha256
            ),
        ));
    }
    Ok(())
}

/// Step 3: append the new entries to log/entries, durably.
fn append_entries(archive: &Path, new_entries: &[Entry]) -> Result<()> {
    let entries_path = archive.join(ENTRIES_FILE);
    let mut text = String::new();
    for e in new_entries {
        text.push_str(&e.line());
        text.push('\n');
    }
    {
        let mut o = std::fs::OpenOptions::new();
        o.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o644).custom_flags(libc::O_NOFOLLOW);
        }
        let mut f = o
            .open(&entries_path)
            .map_err(|e| Error::io(&entries_path, e))?;
        if !f
            .metadata()
            .map_err(|e| Error::io(&entries_path, e))?
            .is_file()
        {
            return Err(invalid(entries_path.display(), "is not a regular file"));
        }
        not_group_writable(&entries_path, &f)?;
        if std::env::var_os(CRASH_HOOK).is_some_and(|v| v == "appending") {
            // The first line whole and half of the next.
            let first = new_entries[0].line().len() + 1;
            let cut = first + (text.len() - first) / 2;
            let _ = f.write_all(&text.as_bytes()[..cut]);
            let _ = f.sync_all();
            crash_point("appending");
        }
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&entries_path, e))?;
    }
    let log_dir = archive.join("log");
    durable::sync_dir(&log_dir).map_err(|e| Error::io(&log_dir, e))?;
    crash_point("appended");
    Ok(())
}

/// Step 4: move the copies from log/pending into bundles/, durably.
fn move_into_bundles(archive: &Path, new_entries: &[Entry]) -> Result<()> {
    for (i, e) in new_entries.iter().enumerate() {
        let pending = archive.join(PENDING_DIR).join(&e.name);
        let dest = archive.join(BUNDLES_DIR).join(&e.name);
        let linked = link_new(&pending, &dest)?;
        if i == 0 {
            crash_point("moving");
        }
        if linked {
            std::fs::remove_file(&pending).map_err(|err| Error::io(&pending, err))?;
        }
    }
    for d in [BUNDLES_DIR, PENDING_DIR] {
        let p = archive.join(d);
        durable::sync_dir(&p).map_err(|e| Error::io(&p, e))?;
    }
    crash_point("moved");
    Ok(())
}

/// Step 5: the new checkpoint (in a v2 archive its tiles first), its signature, then its
/// note (and in v2 the published checkpoint). Returns it and the entries it newly signs.
fn sign_checkpoint(
    archive: &Path,
    key: &SecretKey,
    label: &str,
    state: &AddState,
    added: usize,
    time: DateTime<Utc>,
    v2: bool,
) -> Result<(Checkpoint, Vec<Entry>)> {
    let signed = state.signed;
    let mut cr = CompactRange::new();
    let mut all: Vec<Entry> = Vec::new();
    scan_entries(archive, &BTreeSet::new(), &mut |pos, leaf, line| {
        cr.push(*leaf);
        if pos >= signed {
            if let Ok(e) = Entry::parse(line) {
                all.push(e);
            }
        }
        Ok(())
    })?;
    if cr.size() != state.count + added as u64 {
        return Err(damaged(
            label,
            "log/entries changed while this add ran (another writer?)".into(),
        ));
    }
    let cp = Checkpoint {
        origin: state
            .latest
            .as_ref()
            .map(|l| l.origin.clone())
            .unwrap_or_else(|| format!("{ORIGIN_PREFIX}{}", key.key_id())),
        size: cr.size(),
        root: cr.root(),
        time,
        previous: signed,
    };
    if v2 {
        // The tiles of the new tree, extending those of the latest checkpoint.
        let root = tiles::extend(archive, signed, &tiles::lines_of(&all))
            .map_err(|e| damaged(label, format!("its tiles: {e}")))?;
        if root != cp.root {
            return Err(damaged(
                label,
                "its tiles do not give the root of log/entries".into(),
            ));
        }
        crash_point("tiled");
    }
    let dir = archive.join(CHECKPOINTS_DIR);
    write_new(
        &dir.join(format!("{}.minisig", cp.size)),
        cp.sign(key).as_bytes(),
        "signing",
    )?;
    crash_point("signed");
    write_new(
        &dir.join(cp.size.to_string()),
        cp.body().as_bytes(),
        "noting",
    )?;
    crash_point("noted");
    if v2 {
        tiles::write_checkpoint(archive, &cp, key)?;
        crash_point("published");
    }
    Ok((cp, all))
}

/// Copy the bundle `src` to `dest` (through a temporary file, never replacing), hashing it,
/// and check the copy: every check but trust, and a content not already in the archive.
pub(super) fn copy_checked(
    src: &Path,
    dest: &Path,
    limits: &Limits,
    index: u64,
    contents: &HashMap<String, String>,
) -> Result<Entry> {
    let meta = std::fs::metadata(src).map_err(|e| Error::io(src, e))?;
    if !meta.is_file() {
        return Err(invalid(
            src.display(),
            "is not a bundle file (an archive holds bundle ZIP files)",
        ));
    }
    if meta.len() > verify::max_bundle_size(limits) {
        return Err(invalid(src.display(), "larger than the limits allow"));
    }
    let mut input = File::open(src).map_err(|e| Error::io(src, e))?;
    let (tmp, mut out) = temp_file(parent_dir(dest))?;
    let result = (|| -> Result<Entry> {
        let (file_sha256, len) = copy_hashing(src, dest, &mut input, &mut out, limits)?;
        let (id, content, supersedes) = verify_copy(src, &mut out, len, limits, contents)?;
        Ok(Entry {
            index,
            content_sha256: content,
            file_sha256,
            id,
            supersedes,
            name: dest
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string(),
        })
    })();
    drop(out);
    match result {
        Ok(e) => {
            place(&tmp, dest)?;
            Ok(e)
        }
        Err(err) => {
            let _ = std::fs::remove_file(&tmp);
            Err(err)
        }
    }
}

/// Copy `input` (the bundle `src`) into `out` (the temporary copy for `dest`), bounded by the
/// limits, then make the copy durable and rewind it. Returns its SHA-256 (hex) and length.
fn copy_hashing(
    src: &Path,
    dest: &Path,
    input: &mut File,
    out: &mut File,
    limits: &Limits,
) -> Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(src, e)),
        };
        h.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| Error::io(dest, e))?;
        if len == 0 {
            crash_point("copying");
        }
        len += n as u64;
        if len > verify::max_bundle_size(limits) {
            return Err(invalid(src.display(), "larger than the limits allow"));
        }
    }
    let file_sha256 = hex(&h.finalize());
    out.sync_all().map_err(|e| Error::io(dest, e))?;
    out.rewind().map_err(|e| Error::io(dest, e))?;
    Ok((file_sha256, len))
}

/// Check the copy `out` (`len` bytes) of the bundle `src`: every check but trust, and a
/// content not in `contents` (the bundles copied before it). Returns its identity, content
/// digest and the content digest it supersedes (if any).
fn verify_copy(
    src: &Path,
    out: &mut File,
    len: u64,
    limits: &Limits,
    contents: &HashMap<String, String>,
) -> Result<(String, String, Option<String>)> {
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let report = verify::verify_reader(&src.display().to_string(), out, len, None, &opts);
    if !report.ok {
        let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Refused {
            path: src.to_path_buf(),
            summary: format!(
                "{} (only intact bundles are archived; its findings say why)",
                codes.join(", ")
            ),
        });
    }
    let (Some(id), Some(content)) = (report.id.clone(), report.content_sha256.clone()) else {
        return Err(Error::Refused {
            path: src.to_path_buf(),
            summary: "no identity or content digest".into(),
        });
    };
    if let Some(other) = contents.get(&content) {
        return Err(invalid(
            src.display(),
            format!("its content (sha256 {content}) is already in the archive: {other}"),
        ));
    }
    let supersedes = report
        .metadata
        .as_ref()
        .and_then(|m| m.supersedes.as_ref())
        .map(|s| s.sha256.clone());
    Ok((id, content, supersedes))
}
