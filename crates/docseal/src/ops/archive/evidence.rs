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
    let sizes = counted_checkpoints(archive, trust, &mut ev)?;
    // For each archive key, the first of its checkpoints that includes the entry: the time
    // that key vouches for (a key never vouches for its own signatures, so every archive key
    // is kept, not only the earliest).
    let mut distinct: Vec<[u8; 32]> = sizes.iter().map(|s| s.2).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut next = vec![0usize; distinct.len()];
    let mut pos = 0u64;
    let bundles = archive.join(BUNDLES_DIR);
    let lc = check_log(archive, Some(trust), kept, &mut |e| {
        let i = pos;
        pos += 1;
        if sizes.last().is_none_or(|s| s.0 <= i) || !interest.wants(e) {
            return Ok(());
        }
        establish(e, i, &sizes, &distinct, &mut next, &bundles, &mut ev);
        Ok(())
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
    if sizes.is_empty() {
        let mut why =
            "no checkpoint is signed by a trusted archive key that may vouch for it (a key trusted in the archive role: role = \"archive\" in a trust file)".to_string();
        if let Some(n) = ev.notes.first() {
            why.push_str(&format!(" ({n})"));
        }
        return Err(invalid(&label, why));
    }
    ev.checkpoints = lc.sound.len();
    Ok(ev)
}

/// A counted checkpoint: size, time, and the archive key that signed it.
type Counted = (u64, DateTime<Utc>, [u8; 32]);

/// The counted checkpoints, in size order (see [`Counted`]); a checkpoint signed by a key
/// trusted only to sign bundles is noted in `ev`.
fn counted_checkpoints(archive: &Path, trust: &Trust, ev: &mut Evidence) -> Result<Vec<Counted>> {
    // The counted checkpoints, in size order: (size, time, the archive key that signed it).
    // Only a key trusted in the archive role vouches for checkpoints here.
    let mut sizes: Vec<Counted> = Vec::new();
    read_checkpoints(archive, &mut |size, body, sig, cf| {
        if let (Some(body), Some(sig), Ok(cp)) = (body, sig, &cf.parsed) {
            if let Signer::Trusted { key_id, .. } = check_signature(cp, body, sig, trust) {
                match trust.find(key_id).filter(|k| k.archive) {
                    Some(k) => sizes.push((cp.size, cp.time, k.public_bytes())),
                    None => ev.notes.push(format!(
                        "log/checkpoints/{size} not counted: key {key_id} is trusted to sign bundles, not as an archive key (it counts only in the archive role: role = \"archive\" in a trust file)"
                    )),
                }
            }
        }
    })?;
    Ok(sizes)
}

/// Entry `e` (at position `i`) in `ev`: for each archive key (`distinct`), the time of the
/// first of its checkpoints (`sizes`; `next`: where each key's search stands) that includes
/// it, and the bundle as a known one.
fn establish(
    e: &Entry,
    i: u64,
    sizes: &[Counted],
    distinct: &[[u8; 32]],
    next: &mut [usize],
    bundles: &Path,
    ev: &mut Evidence,
) {
    let file = crate::profile::bagit::parse_hex32(&e.file_sha256);
    let copies = ev.established.entry(e.content_sha256.clone()).or_default();
    for (d, key) in distinct.iter().enumerate() {
        let j = &mut next[d];
        while *j < sizes.len() && (sizes[*j].2 != *key || sizes[*j].0 <= i) {
            *j += 1;
        }
        let (Some(&(_, time, _)), Some(file)) = (sizes.get(*j), file) else {
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
}
