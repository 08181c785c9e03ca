//! Established times: what an archive log establishes for `verify --archive`.

use super::*;
use crate::format::error::Result;
use crate::format::finding::Code;
use crate::ops::verify::KnownBundle;
use crate::profile::trust::Trust;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::Path;

/// What an archive log establishes for a verifier.
#[derive(Debug, Default)]
pub struct Evidence {
    /// Content digest (hex) -> the archived copies of it, each with the time of the first
    /// counted checkpoint (per archive key) that includes it. The time covers only the
    /// signatures of the archived copy (`verify::Options::established`).
    pub established: HashMap<String, Vec<crate::ops::verify::ArchivedCopy>>,
    /// The bundles the trusted checkpoints cover (for `supersedes` checks).
    pub known: Vec<KnownBundle>,
    /// Checkpoints that were not counted, and why.
    pub notes: Vec<String>,
    /// Number of checkpoints counted.
    pub checkpoints: usize,
}

/// Read the archive's log and checkpoints and establish, for every bundle a checkpoint signed
/// by a trusted key covers, the time of the first such checkpoint.
///
/// The log gets every check `archive audit` makes of it ([`audit`] without the bundles), with
/// the checkpoints you `kept`: any error but a checkpoint signed by a key not to rely on
/// (`log.checkpoint_untrusted`: not counted, and noted) makes the whole archive refused;
/// nothing from it is used.
pub fn evidence(archive: &Path, trust: &Trust) -> Result<Evidence> {
    evidence_for(archive, trust, &[], &Interest::everything())
}

/// Which archive entries matter to the bundles being verified: those with one's content
/// digest (established times), those a bundle names as superseded (by id or content), and
/// those that supersede one. With it, [`evidence_for`] keeps only these, so that memory grows
/// with the bundles verified, not with the archive.
#[derive(Debug, Default, Clone)]
pub struct Interest {
    all: bool,
    contents: std::collections::HashSet<String>,
    ids: std::collections::HashSet<String>,
}

impl Interest {
    /// Every entry (what [`evidence`] keeps).
    pub fn everything() -> Self {
        Interest {
            all: true,
            ..Interest::default()
        }
    }
    /// A bundle to be verified: its content digest, its id, and the (id, content digest) its
    /// `supersedes` names, as far as known.
    pub fn add(
        &mut self,
        content: Option<&str>,
        id: Option<&str>,
        supersedes: Option<(&str, &str)>,
    ) {
        if let Some(c) = content {
            self.contents.insert(c.to_string());
        }
        if let Some(i) = id {
            self.ids.insert(i.to_string());
        }
        if let Some((i, c)) = supersedes {
            self.ids.insert(i.to_string());
            self.contents.insert(c.to_string());
        }
    }
    /// Whether the entry matters.
    pub fn wants(&self, e: &Entry) -> bool {
        self.all
            || self.contents.contains(&e.content_sha256)
            || self.ids.contains(&e.id)
            || e.supersedes
                .as_ref()
                .is_some_and(|s| self.contents.contains(s))
    }
}

/// [`evidence`], with checkpoints kept from an earlier look (`verify --archive A --checkpoint
/// KEPT`): the log must still extend each.
pub fn evidence_kept(archive: &Path, trust: &Trust, kept: &[KeptCheckpoint]) -> Result<Evidence> {
    evidence_for(archive, trust, kept, &Interest::everything())
}

/// [`evidence_kept`], keeping only the entries `interest` wants (every check of the log is
/// made all the same). Memory grows with what is kept, not with the archive.
pub fn evidence_for(
    archive: &Path,
    trust: &Trust,
    kept: &[KeptCheckpoint],
    interest: &Interest,
) -> Result<Evidence> {
    let label = archive.display().to_string();
    let tampered = |why: String| {
        invalid(
            &label,
            format!("{why} (an audit of the archive gives the details)"),
        )
    };
    let (has_log, _) = log_dirs(archive)?;
    if !has_log
        || (open_nofollow(&archive.join(ENTRIES_FILE))?.is_none() && !v3log::is_v3(archive)?)
    {
        return Err(invalid(&label, "is not an archive (no log/entries)"));
    }
    // The checkpoints that count are known before the entries are read: each entry goes to
    // the first that covers it as it streams by.
    let mut ev = Evidence::default();
    let counted = counted_checkpoints(archive, trust, &mut ev)?;
    // For each archive key, the first of its checkpoints that includes the entry: the time
    // that key vouches for (a key never vouches for its own signatures, so every archive key
    // is kept, not only the earliest). One cursor a key, each going once through the
    // counted checkpoints as the entries stream by.
    let mut next: Vec<_> = counted
        .keys
        .iter()
        .map(|_| counted.recs.iter().peekable())
        .collect();
    let mut pos = 0u64;
    let bundles = archive.join(BUNDLES_DIR);
    let lc = check_log(archive, Some(trust), kept, &mut |e| {
        let i = pos;
        pos += 1;
        if counted.largest.is_none_or(|s| s <= i) || !interest.wants(e) {
            return Ok(());
        }
        establish(e, i, &counted.keys, &mut next, &bundles, &mut ev)
    })?;
    if let Some(bad) = lc.sink.first_error(&[Code::LogCheckpointUntrusted]) {
        return Err(tampered(bad.to_string()));
    }
    for u in lc
        .sink
        .out
        .iter()
        .filter(|x| x.code == Code::LogCheckpointUntrusted)
    {
        ev.notes.push(format!(
            "{} not counted: {}",
            u.path.as_deref().unwrap_or("a checkpoint"),
            u.message
        ));
    }
    // The sink lists the first MAX_REPORTED of a code: say how many were not counted in all.
    if let Some((n, _)) = lc
        .sink
        .counts
        .get(&Code::LogCheckpointUntrusted)
        .filter(|(n, _)| *n > MAX_REPORTED)
    {
        ev.notes.push(format!(
            "{n} checkpoints in all not counted; the first {MAX_REPORTED} are listed"
        ));
    }
    if counted.largest.is_none() {
        let mut why =
            "no checkpoint is signed by a trusted archive key that may vouch for it (a key trusted in the archive role: role = \"archive\" in a trust file)".to_string();
        if let Some(n) = ev.notes.first() {
            why.push_str(&format!(" ({n})"));
        }
        return Err(invalid(&label, why));
    }
    ev.checkpoints = usize::try_from(lc.sound.len()).unwrap_or(usize::MAX);
    Ok(ev)
}

/// A counted checkpoint as a fixed record: size, time (seconds, nanoseconds), and the archive
/// key that signed it.
const COUNTED: usize = 8 + 8 + 4 + 32;

fn counted_bytes(size: u64, time: DateTime<Utc>, key: &[u8; 32]) -> [u8; COUNTED] {
    let mut b = [0u8; COUNTED];
    b[..8].copy_from_slice(&size.to_le_bytes());
    b[8..20].copy_from_slice(&dups::time_bytes(&time));
    b[20..].copy_from_slice(key);
    b
}

fn counted_size(b: &[u8; COUNTED]) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[..8]);
    u64::from_le_bytes(x)
}

fn counted_time(b: &[u8; COUNTED]) -> DateTime<Utc> {
    let mut t = [0u8; 12];
    t.copy_from_slice(&b[8..20]);
    dups::time_of(&t)
}

/// The counted checkpoints, in size order, as records (in memory, then in a temporary file: a
/// log may hold a checkpoint an entry); the distinct archive keys that signed them; the
/// largest size.
struct Counted {
    recs: dups::Records<COUNTED>,
    keys: Vec<[u8; 32]>,
    largest: Option<u64>,
}

/// The counted checkpoints (see [`Counted`]); a checkpoint signed by a key trusted only to
/// sign bundles is noted in `ev`.
fn counted_checkpoints(archive: &Path, trust: &Trust, ev: &mut Evidence) -> Result<Counted> {
    // Only a key trusted in the archive role vouches for checkpoints here.
    let mut out = Counted {
        recs: dups::Records::default(),
        keys: Vec::new(),
        largest: None,
    };
    let mut failed: Option<std::io::Error> = None;
    read_checkpoints(archive, &mut |size, body, sig, cf, _| {
        if let (Some(body), Some(sig), Ok(cp)) = (body, sig, &cf.parsed) {
            if let Signer::Trusted { key_id, .. } = check_signature(cp, body, sig, trust) {
                match trust.find(key_id).filter(|k| k.archive) {
                    Some(k) => {
                        let key = k.public_bytes();
                        if let Err(e) = out.recs.push(&counted_bytes(cp.size, cp.time, &key)) {
                            failed.get_or_insert(e);
                        }
                        if !out.keys.contains(&key) {
                            out.keys.push(key);
                        }
                        out.largest = Some(cp.size);
                    }
                    None => ev.notes.push(format!(
                        "log/checkpoints/{size} not counted: key {key_id} is trusted to sign bundles, not as an archive key (it counts only in the archive role: role = \"archive\" in a trust file)"
                    )),
                }
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(spilled(e));
    }
    Ok(out)
}

/// Entry `e` (at position `i`) in `ev`: for each archive key (`keys`), the time of the first
/// of its checkpoints (`next[d]`: the cursor of key `d` in the counted checkpoints, going
/// forward only) that includes it, and the bundle as a known one.
fn establish(
    e: &Entry,
    i: u64,
    keys: &[[u8; 32]],
    next: &mut [std::iter::Peekable<dups::RecordIter<'_, COUNTED>>],
    bundles: &Path,
    ev: &mut Evidence,
) -> Result<()> {
    let file = crate::profile::bagit::parse_hex32(&e.file_sha256);
    let copies = ev.established.entry(e.content_sha256.clone()).or_default();
    for (d, key) in keys.iter().enumerate() {
        let cursor = &mut next[d];
        let found = loop {
            match cursor.peek() {
                None => break None,
                Some(Err(_)) => {
                    if let Some(Err(err)) = cursor.next() {
                        return Err(spilled(err));
                    }
                }
                Some(Ok(r)) if r[20..] != key[..] || counted_size(r) <= i => {
                    cursor.next();
                }
                Some(Ok(r)) => break Some(counted_time(r)),
            }
        };
        let (Some(time), Some(file)) = (found, file) else {
            continue;
        };
        copies.push(crate::ops::verify::ArchivedCopy {
            time,
            archive_key: *key,
            file_sha256: file,
            copy: bundles.join(&e.name),
        });
    }
    ev.known.push(KnownBundle {
        file: Some(bundles.join(&e.name)),
        id: e.id.clone(),
        content_sha256: e.content_sha256.clone(),
        supersedes: e.supersedes.clone(),
        label: format!(
            "{} (archive log entry {})",
            bundles.join(&e.name).display(),
            e.index
        ),
    });
    Ok(())
}
