//! Corrections: the `supersedes` link from a corrected version of an article to the version
//! it replaces (`docs/FORMAT.md` section 3), and the history of a corrected article built from
//! those links, oldest first.
//!
//! A link names the old bundle by its identity and its content digest (the SHA-256 of its tag
//! manifest), so it survives co-signatures and pins exactly what was sealed.
//!
//! Links follow the rule `docseal verify` applies ([`crate::ops::verify::check_supersedes`]): with
//! trust checked, only a version that passes verification counts, as a correction or as the
//! version a link is compared with; a "correction" by a key that is not trusted is shown, marked
//! untrusted, and never marks another version superseded.

use crate::format::error::{Error, Result};
use crate::format::zip::Limits;
use crate::ops::verify::{self, Options, Report, SignerInfo, SignerStatus};
use crate::profile::metadata::Supersedes;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `supersedes` link to the bundle `old`: its id and content digest. The old bundle must
/// pass every check but trust (`docseal inspect`); a damaged one is refused.
pub fn supersedes_link(old: &Path, limits: &Limits) -> Result<Supersedes> {
    let opts = Options {
        limits: limits.clone(),
        ..Options::default()
    };
    let r = verify::inspect(old, &opts);
    if !r.ok {
        let codes: Vec<String> = r.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(Error::Damaged {
            path: old.to_path_buf(),
            summary: format!(
                "{} (the bundle to supersede must be intact)",
                codes.join(", ")
            ),
        });
    }
    match (r.id, r.content_sha256) {
        (Some(id), Some(sha256)) => Ok(Supersedes { id, sha256 }),
        _ => Err(Error::Refused {
            path: old.to_path_buf(),
            summary: "no identity or content digest".into(),
        }),
    }
}

/// One version of an article.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Version {
    /// Bundle identity.
    pub id: String,
    /// Content digest, hex.
    pub content_sha256: String,
    /// The bundle files holding this version (a co-signed copy is the same version).
    pub files: Vec<String>,
    /// Its title.
    pub headline: String,
    /// Source URL.
    pub url: String,
    /// Sealing time, as asserted by the signer.
    pub date_sealed: String,
    /// The version it supersedes, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Supersedes>,
    /// Content digests of the versions given that supersede this one.
    pub superseded_by: Vec<String>,
    /// Whether every file of this version passed its checks.
    pub ok: bool,
    /// Whether a trusted key vouches for this version: some file of it passed verification
    /// with `--trust` (a trusted signer, nothing damaged); `None` when no trust was given
    /// (signers not checked). A version that is not trusted supersedes nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// Who signed it: every signature of every file of this version (one entry per key).
    pub signers: Vec<SignerInfo>,
    /// Problems: error codes of a damaged file, a link that does not match.
    pub problems: Vec<String>,
    /// Notes: a superseded version that was not given.
    pub notes: Vec<String>,
}

/// The versions of one article, oldest first (each after the version it supersedes).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Chain {
    /// Oldest first.
    pub versions: Vec<Version>,
}

/// A bundle that could not be placed in any history (no readable metadata).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Unplaced {
    /// The file.
    pub path: String,
    /// Its error codes.
    pub problems: Vec<String>,
}

/// The histories found among a set of bundles.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct History {
    /// One chain per article, ordered by the first version's sealing time.
    pub chains: Vec<Chain>,
    /// Bundles that could not be read well enough to place.
    pub unplaced: Vec<Unplaced>,
}

impl History {
    /// Whether every bundle was intact and every link that could be checked matched.
    pub fn ok(&self) -> bool {
        self.unplaced.is_empty()
            && self
                .chains
                .iter()
                .all(|c| c.versions.iter().all(|v| v.ok && v.problems.is_empty()))
    }
}

/// The order of signer outcomes, best first.
fn rank(s: SignerStatus) -> u8 {
    match s {
        SignerStatus::Trusted => 0,
        SignerStatus::ValidUntrusted => 1,
        SignerStatus::Refused => 2,
        SignerStatus::Unknown => 3,
        SignerStatus::Invalid => 4,
    }
}

/// Build the histories of the bundles in `reports` (from [`verify::inspect`], signers not
/// checked against trust, or [`verify::verify_path`] with trust).
// Longer than 80 lines: three passes over the same maps (versions a trusted key vouches for,
// links, components ordered parents first), each commented; split, each pass would take and
// return all of the maps.
pub fn history(reports: &[Report]) -> History {
    let mut nodes: BTreeMap<String, Version> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for r in reports {
        let codes: Vec<String> = r.error_codes().iter().map(|c| c.to_string()).collect();
        let (Some(m), Some(c)) = (&r.metadata, &r.content_sha256) else {
            unplaced.push(Unplaced {
                path: r.path.clone(),
                problems: codes,
            });
            continue;
        };
        let v = nodes.entry(c.clone()).or_insert_with(|| Version {
            id: m.id.clone(),
            content_sha256: c.clone(),
            files: Vec::new(),
            headline: m.headline.clone(),
            url: m.url.clone(),
            date_sealed: m.date_sealed.clone(),
            supersedes: m.supersedes.clone(),
            superseded_by: Vec::new(),
            ok: true,
            trusted: None,
            signers: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
        });
        v.files.push(r.path.clone());
        if !r.ok {
            v.ok = false;
            v.problems.push(format!("{}: {}", r.path, codes.join(", ")));
        }
        if r.trust_checked {
            v.trusted = Some(v.trusted == Some(true) || r.ok);
        }
        for s in &r.signers {
            let same = |o: &SignerInfo| match (&o.fingerprint, &s.fingerprint) {
                (Some(a), Some(b)) => a == b,
                _ => o.key_id == s.key_id,
            };
            match v.signers.iter_mut().find(|o| same(o)) {
                // The best outcome of the key over the version's files.
                Some(o) if rank(s.status) < rank(o.status) => *o = s.clone(),
                Some(_) => {}
                None => v.signers.push(s.clone()),
            }
        }
    }
    // Only versions a trusted key vouches for count in links (all, when trust was not checked).
    let counts = |v: &Version| v.trusted != Some(false);
    // Links.
    let keys: Vec<String> = nodes.keys().cloned().collect();
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    for k in &keys {
        let Some(s) = nodes[k].supersedes.clone() else {
            continue;
        };
        let child_counts = counts(&nodes[k]);
        if nodes.contains_key(&s.sha256) && &s.sha256 != k {
            parent.insert(k.clone(), s.sha256.clone());
            if child_counts {
                if let Some(p) = nodes.get_mut(&s.sha256) {
                    p.superseded_by.push(k.clone());
                }
            } else if let Some(v) = nodes.get_mut(k) {
                v.notes.push(format!(
                    "claims to correct {} (content sha256 {}), but it does not pass verification with the keys given (no trusted key signed it, or it is damaged): it supersedes nothing",
                    s.id, s.sha256
                ));
            }
            continue;
        }
        let same_id: Vec<String> = nodes
            .values()
            .filter(|v| v.id == s.id && counts(v))
            .map(|v| v.content_sha256.clone())
            .collect();
        let Some(v) = nodes.get_mut(k) else { continue };
        match same_id.first() {
            Some(other) => v.problems.push(format!(
                "prov.supersedes_mismatch: supersedes {} with content sha256 {}, but the bundle given with that id has content sha256 {other}",
                s.id, s.sha256
            )),
            None => v.notes.push(format!(
                "supersedes {} (content sha256 {}), which is not among the bundles given",
                s.id, s.sha256
            )),
        }
    }
    // Components (union of links), each ordered parents first, ties by sealing time.
    let mut comp: BTreeMap<String, String> = keys.iter().map(|k| (k.clone(), k.clone())).collect();
    fn find(comp: &mut BTreeMap<String, String>, k: &str) -> String {
        let mut cur = k.to_string();
        let mut guard = 0usize;
        while let Some(p) = comp.get(&cur) {
            if *p == cur || guard > comp.len() {
                break;
            }
            cur = p.clone();
            guard += 1;
        }
        cur
    }
    for (child, p) in &parent {
        let a = find(&mut comp, child);
        let b = find(&mut comp, p);
        if a != b {
            comp.insert(a, b);
        }
    }
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in &keys {
        let root = find(&mut comp, k);
        groups.entry(root).or_default().push(k.clone());
    }
    let sort_key = |n: &BTreeMap<String, Version>, k: &str| -> (String, String) {
        (n[k].date_sealed.clone(), k.to_string())
    };
    let mut chains: Vec<Chain> = Vec::new();
    for members in groups.into_values() {
        let mut placed: BTreeSet<String> = BTreeSet::new();
        let mut order: Vec<String> = Vec::new();
        while order.len() < members.len() {
            let mut ready: Vec<&String> = members
                .iter()
                .filter(|k| !placed.contains(*k))
                .filter(|k| parent.get(*k).is_none_or(|p| placed.contains(p)))
                .collect();
            if ready.is_empty() {
                // A cycle cannot be made without breaking SHA-256; place the rest by time.
                ready = members.iter().filter(|k| !placed.contains(*k)).collect();
            }
            ready.sort_by_key(|k| sort_key(&nodes, k));
            let next = ready[0].clone();
            placed.insert(next.clone());
            order.push(next);
        }
        chains.push(Chain {
            versions: order.iter().filter_map(|k| nodes.get(k).cloned()).collect(),
        });
    }
    chains.sort_by(|a, b| {
        let ka = a
            .versions
            .first()
            .map(|v| (v.date_sealed.clone(), v.content_sha256.clone()));
        let kb = b
            .versions
            .first()
            .map(|v| (v.date_sealed.clone(), v.content_sha256.clone()));
        ka.cmp(&kb)
    });
    History { chains, unplaced }
}
