//! `archive add` on an archive in a [`Store`] (object storage: `s3://BUCKET/PREFIX`), sequenced
//! with conditional writes only: no lock, no coordinator (`docs/STORAGE.md`, "Adding to an
//! archive in a bucket"; `docs/FORMAT.md` B.4).
//!
//! [`add_to_store`] checks the bundles given, then goes by the archive's layout: a new archive
//! (nothing under `log/`) is created as archive log v3 and, like any archive with
//! `log/sequence`, added to by the v3 sequencer (`store_seq`: the bytes an add moves do not grow
//! with the log). An archive made before v3 (with `log/entries`) keeps exactly the local v2
//! layout and is added to as follows. `log/entries` is the sequencer (replaced with `If-Match`
//! on its ETag), `log/checkpoint` (the signed note) the head of the checkpoints (replaced the
//! same way). One add:
//!
//! 1. checks every bundle given locally (every check but trust, the entry line made);
//! 2. reads the head and `log/entries`, checks the entries against the head's root and the
//!    head's tiles; decides on these entries which bundles are already logged exactly (not an
//!    error: a retried add completes) and refuses names or contents logged otherwise;
//! 3. uploads the new bundles to `log/pending/NAME` (`If-None-Match`), appends their lines
//!    with `If-Match` (a conflict: back off, go to 2);
//! 4. completes every entry after the head: `bundles/NAME` from its pending copy, the pending
//!    copy deleted;
//! 5. writes the tiles and entry bundles of the new tree (`If-None-Match`; they are a
//!    function of the entries, so concurrent writers agree; other bytes are damage);
//! 6. publishes the checkpoint in `log/checkpoint` first (`If-Match` on the head read; a
//!    conflict: re-read, done if the new head covers these entries), then writes
//!    `log/checkpoints/<N>.minisig` and `<N>` (deterministic: whoever finds them missing
//!    behind a head writes the same bytes).

use super::store_common::{
    check_bundles, check_not_larger, complete_checkpoint_files, head_is_latest, next_checkpoint,
    pause_point, place_bundle, publish_head, put_same, read_head, same_entry, upload_pending,
    with_tiles, Given, Head, Look, Pace,
};
pub use super::store_common::{StoreAdded, PAUSE_AT_HOOK, PAUSE_HOOK};
use super::tiles::CHECKPOINT_FILE;
use super::{
    crash_point, invalid, name_key, Entry, ENTRIES_FILE, MAX_ENTRIES_V2, MAX_ENTRY_LINE,
    PENDING_DIR,
};
use crate::format::error::Result;
use crate::format::merkle::{self, CompactRange, Hash};
use crate::format::minisign::SecretKey;
use crate::format::store::{Backoff, PutIfMatch, PutNew, Store};
use crate::format::tlog;
use crate::format::zip::Limits;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The largest `log/entries` an add on a store reads (it reads and rewrites it whole: about
/// four million entries; see `docs/STORAGE.md` for the scaling limit).
pub const MAX_STORE_ENTRIES_BYTES: u64 = 1 << 30;

/// `log/entries` read whole and parsed strictly: every line an entry in canonical form, at
/// its index, the file ending with LF (object writes are atomic: anything else is damage).
fn parse_entries(root: &str, bytes: &[u8]) -> Result<Vec<Entry>> {
    let what = format!("{root}/{ENTRIES_FILE}");
    if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
        return Err(invalid(
            &what,
            "does not end with a complete line (truncated or altered); refusing to extend it (an audit of the archive gives the details)",
        ));
    }
    let Some(body) = bytes.strip_suffix(b"\n") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if out.len() as u64 >= MAX_ENTRIES_V2 {
            return Err(invalid(&what, "more entries than a log holds"));
        }
        let e = Entry::parse(line).map_err(|why| {
            invalid(
                &what,
                format!(
                    "line {}: {why}; refusing to extend it (an audit of the archive gives the details)",
                    i + 1
                ),
            )
        })?;
        if e.index != i as u64 {
            return Err(invalid(
                &what,
                format!(
                    "line {} has index {}: entries reordered, removed or altered; refusing to extend it (an audit of the archive gives the details)",
                    i + 1,
                    e.index
                ),
            ));
        }
        out.push(e);
    }
    Ok(out)
}

/// The root of the first `n` entries.
fn root_of(entries: &[Entry], n: usize) -> Hash {
    let mut cr = CompactRange::new();
    for e in &entries[..n] {
        cr.push(merkle::leaf_hash(e.line().as_bytes()));
    }
    cr.root()
}

/// Add `bundles` to the archive in `s` and sign a checkpoint with `key`, sequenced with
/// conditional writes (module documentation), retrying lost races until `wait` has passed.
/// `time`: the checkpoint's time (default now; never before the head's: with no time given,
/// the head's time if this clock is behind).
///
/// A bundle already in the archive exactly (same name, same file) is reported in
/// [`StoreAdded::already`], not refused; a name (also in another case or Unicode form) or a
/// content logged otherwise is refused, and nothing is logged unless all can be.
// Over 80 lines: the sequence of steps 1 to 6 is read best in one place.
pub fn add_to_store(
    s: &dyn Store,
    bundles: &[PathBuf],
    key: &SecretKey,
    time: Option<DateTime<Utc>>,
    limits: &Limits,
    wait: Duration,
) -> Result<StoreAdded> {
    let root = s.root();
    let mut pace = Pace {
        start: Instant::now(),
        wait,
        backoff: Backoff::default(),
        conflicts: 0,
    };

    // 1. Every bundle checked here, and against the others given.
    let given = check_bundles(bundles, limits)?;
    if super::store_seq::is_v3(s, &pace)? {
        return super::store_seq::add(s, &given, key, time, limits, pace);
    }

    // 2-3. Read, decide, append; on a lost race read again.
    let mut uploaded: HashSet<String> = HashSet::new();
    let mut created: HashSet<String> = HashSet::new();
    let result = (|| -> Result<(Vec<Entry>, Vec<Entry>, Vec<Entry>)> {
        let mut first = true;
        loop {
            let head = read_head(s, &pace, key)?;
            let look = Look::Listing { entries: 0 };
            if head.cp.is_none() && !head_is_latest(s, &pace, key, &head, look)? {
                continue;
            }
            let got = pace.io(|| s.get(ENTRIES_FILE, MAX_STORE_ENTRIES_BYTES))?;
            if first {
                pause_point("read");
                first = false;
            }
            let (bytes, version) = match got {
                Some(o) => (o.bytes, Some(o.version)),
                None => (Vec::new(), None),
            };
            let log = parse_entries(&root, &bytes)?;
            check_against_head(s, &log, &head)?;
            // Decide on the entries read in this attempt; a name or a content logged twice is
            // damage (as the local add's check of the log finds it), never signed.
            let mut by_name: HashMap<String, &Entry> = HashMap::new();
            let mut by_content: HashMap<&str, &Entry> = HashMap::new();
            for e in &log {
                let dup = match (
                    by_name.insert(name_key(&e.name), e),
                    by_content.insert(e.content_sha256.as_str(), e),
                ) {
                    (Some(d), _) => Some((
                        d.index,
                        "name files that differ only in case or Unicode form, or the same name",
                    )),
                    (None, Some(d)) => Some((d.index, "log the same content")),
                    (None, None) => None,
                };
                if let Some((d, what)) = dup {
                    return Err(invalid(
                        format!("{root}/{ENTRIES_FILE}"),
                        format!("entries {d} and {} {what}; refusing to extend it (an audit of the archive gives the details)", e.index),
                    ));
                }
            }
            let mut already = Vec::new();
            let mut fresh: Vec<&Given> = Vec::new();
            for g in &given {
                let same = |e: &Entry| same_entry(e, &g.entry);
                match (by_name.get(&name_key(&g.name)), by_content.get(g.entry.content_sha256.as_str())) {
                    (Some(e), _) if same(e) => already.push((*e).clone()),
                    (Some(e), _) => {
                        return Err(invalid(
                            g.path.display(),
                            format!("the archive already has a bundle named {} or differing only in case (entry {})", e.name, e.index),
                        ))
                    }
                    (None, Some(e)) => {
                        return Err(invalid(
                            g.path.display(),
                            format!("its content (sha256 {}) is already in the archive: entry {} ({})", e.content_sha256, e.index, e.name),
                        ))
                    }
                    (None, None) => fresh.push(g),
                }
            }
            if fresh.is_empty() {
                return Ok((log, Vec::new(), already));
            }
            // A head rolled back is refused before anything is appended after it.
            let look = Look::Listing {
                entries: log.len() as u64,
            };
            if !head_is_latest(s, &pace, key, &head, look)? {
                continue;
            }
            // The new bundles wait in log/pending/ before they are logged.
            let mut vanished: Option<String> = None;
            for g in &fresh {
                if uploaded.contains(&g.name) {
                    continue;
                }
                if !upload_pending(s, &pace, g, &mut created)? {
                    vanished = Some(g.name.clone());
                    break;
                }
                uploaded.insert(g.name.clone());
            }
            if let Some(name) = vanished {
                pace.conflict(
                    &format!("{root}/{PENDING_DIR}/{name}"),
                    &format!("not logged: {name}"),
                )?;
                continue;
            }
            crash_point("store-pending");
            let start = log.len() as u64;
            if start + fresh.len() as u64 > MAX_ENTRIES_V2 {
                return Err(invalid(
                    &root,
                    format!("an archive log holds at most {MAX_ENTRIES_V2} entries"),
                ));
            }
            let new: Vec<Entry> = fresh
                .iter()
                .enumerate()
                .map(|(k, g)| Entry {
                    index: start + k as u64,
                    ..g.entry.clone()
                })
                .collect();
            let mut next = bytes;
            for e in &new {
                next.extend_from_slice(e.line().as_bytes());
                next.push(b'\n');
            }
            if next.len() as u64 > MAX_STORE_ENTRIES_BYTES {
                return Err(invalid(&root, format!("{ENTRIES_FILE} would be larger than the {MAX_STORE_ENTRIES_BYTES} bytes an add on a store reads")));
            }
            let won = match &version {
                Some(v) => matches!(
                    pace.io(|| s.put_if_match(ENTRIES_FILE, &next, v))?,
                    PutIfMatch::Replaced(_)
                ),
                None => matches!(
                    pace.io(|| s.put_new(ENTRIES_FILE, &next))?,
                    PutNew::Created(_)
                ),
            };
            if won {
                crash_point("store-appended");
                let mut log = log;
                log.extend(new.iter().cloned());
                return Ok((log, new, already));
            }
            // Lost (or a retried request of ours won: read again, and it is found logged).
            let names: Vec<&str> = fresh.iter().map(|g| g.name.as_str()).collect();
            pace.conflict(
                &format!("{root}/{ENTRIES_FILE}"),
                &format!("not logged: {}", names.join(", ")),
            )?;
        }
    })();
    let (log, new, already) = match result {
        Ok(r) => r,
        Err(e) => {
            // Our own pending copies, never logged: removed (another writer's are left).
            // One log/entries names now stays: our append may have been applied though
            // reported lost (an ambiguous conditional write), or another writer adding the
            // same file logged our copy; its completion needs that copy. The log unreadable:
            // nothing removed.
            let logged = pace
                .io(|| s.get(ENTRIES_FILE, MAX_STORE_ENTRIES_BYTES))
                .and_then(|o| parse_entries(&root, &o.map(|o| o.bytes).unwrap_or_default()));
            if let Ok(log) = logged {
                for n in &created {
                    if !log.iter().any(|e| &e.name == n) {
                        let _ = s.delete(&format!("{PENDING_DIR}/{n}"));
                    }
                }
            }
            return Err(e);
        }
    };
    let ours: HashMap<&str, &Given> = given.iter().map(|g| (g.name.as_str(), g)).collect();
    let n = log.len() as u64;

    // 4-6. Complete everything after the head, then publish the head.
    let mut recovered = Vec::new();
    // Entries whose bundles this add put in place (not redone after a lost race).
    let mut placed: HashSet<u64> = HashSet::new();
    let (checkpoint, published) = loop {
        let head = read_head(s, &pace, key)?;
        if !head_is_latest(s, &pace, key, &head, Look::Listing { entries: n })? {
            pace.conflict(
                &format!("{root}/{CHECKPOINT_FILE}"),
                "the head kept changing while it was checked",
            )?;
            continue;
        }
        let h = head.cp.as_ref().map_or(0, |c| c.size);
        if let Some(c) = &head.cp {
            if c.size > n {
                // Another writer published a head past our entries: they are covered if the
                // log it signs holds them (someone with write access to the bucket may have
                // replaced them after they were appended, and an honest writer signed that).
                let got = pace.io(|| s.get(ENTRIES_FILE, MAX_STORE_ENTRIES_BYTES))?;
                let now = parse_entries(&root, &got.map(|o| o.bytes).unwrap_or_default())?;
                let holds = now.len() as u64 >= c.size
                    && root_of(&now, c.size as usize) == c.root
                    && now[..log.len()]
                        .iter()
                        .zip(&log)
                        .all(|(a, b)| a.index == b.index && same_entry(a, b));
                if !holds {
                    return Err(invalid(
                        format!("{root}/{ENTRIES_FILE}"),
                        format!("checkpoint {} (published by another writer) does not sign the entries this add logged: they were replaced after they were appended; refusing to report them archived (an audit of the archive gives the details)", c.size),
                    ));
                }
                if complete_checkpoint_files(s, &pace, c, key)? {
                    recovered.push(format!(
                        "wrote checkpoint {} (published, its files were not)",
                        c.size
                    ));
                }
                break (c.clone(), false);
            }
            if c.root != root_of(&log, c.size as usize) {
                return Err(invalid(
                    format!("{root}/{CHECKPOINT_FILE}"),
                    "its root is not the root of log/entries: the log was altered; refusing to extend it (an audit of the archive gives the details)",
                ));
            }
            // Rule: a head is completed before it is replaced.
            if complete_checkpoint_files(s, &pace, c, key)? {
                recovered.push(format!(
                    "wrote checkpoint {} (published, its files were not)",
                    c.size
                ));
            }
            if c.size == n {
                break (c.clone(), false);
            }
        }
        // 4. Bundles of the entries after the head.
        for e in &log[h as usize..] {
            if !placed.insert(e.index) {
                continue;
            }
            place_bundle(s, &pace, e, &ours, limits, &mut recovered)?;
        }
        // 5. Tiles and entry bundles of the tree of n entries.
        let lines: Vec<String> = log[h as usize..].iter().map(Entry::line).collect();
        let (files, troot) = with_tiles(s, h, |t| tlog::append(t, &lines, MAX_ENTRY_LINE))?;
        check_not_larger(s, &pace, h, &lines, &files)?;
        let lroot = root_of(&log, log.len());
        if troot != lroot {
            return Err(invalid(format!("{root}/log/tile"), "the tiles do not give the root of log/entries; refusing to extend them (an audit of the archive gives the details)"));
        }
        for (path, bytes) in &files {
            put_same(
                s,
                &pace,
                &format!("log/{path}"),
                bytes,
                "the tiles of these entries",
            )?;
        }
        crash_point("store-tiled");
        // 6. The checkpoint: the head first.
        let cp = next_checkpoint(head.cp.as_ref(), n, lroot, time, key)?;
        let won = publish_head(s, &pace, &head, &cp, key)?;
        if won {
            crash_point("store-published");
            complete_checkpoint_files(s, &pace, &cp, key)?;
            break (cp, true);
        }
        pace.conflict(
            &format!("{root}/{CHECKPOINT_FILE}"),
            &format!("entries {h}..{n} are logged but not signed (the next add signs them)"),
        )?;
    };
    // Our own pending copies of bundles already logged by another writer: covered now.
    for g in &given {
        if created.contains(&g.name) && !new.iter().any(|e| e.name == g.name) {
            let _ = pace.io(|| s.delete(&format!("{PENDING_DIR}/{}", g.name)));
        }
    }
    Ok(StoreAdded {
        entries: new,
        already,
        checkpoint,
        published,
        key_id: key.key_id(),
        recovered,
        conflicts: pace.conflicts,
        layout: "v2",
    })
}

/// Before anything is appended: the entries must extend the head (its size at most theirs,
/// its root theirs at that size), and the head's tiles must be there and give its root.
fn check_against_head(s: &dyn Store, log: &[Entry], head: &Head) -> Result<()> {
    let root = s.root();
    let Some(c) = &head.cp else {
        return Ok(());
    };
    let refuse = |why: String| {
        invalid(
            &root,
            format!("{why}; refusing to extend it (an audit of the archive gives the details)"),
        )
    };
    if (log.len() as u64) < c.size {
        return Err(refuse(format!(
            "{ENTRIES_FILE} has {} entries, fewer than the {} its latest checkpoint signs (truncated)",
            log.len(),
            c.size
        )));
    }
    if root_of(log, c.size as usize) != c.root {
        return Err(refuse(format!(
            "{ENTRIES_FILE} does not give the root checkpoint {} signs (altered)",
            c.size
        )));
    }
    let r = with_tiles(s, c.size, |t| {
        let r = t.root(c.size)?;
        if !c.size.is_multiple_of(tlog::TILE_WIDTH) {
            t.entries(c.size / tlog::TILE_WIDTH, MAX_ENTRY_LINE)?;
        }
        Ok(r)
    })?;
    if r != c.root {
        return Err(refuse(format!(
            "its tiles do not give the root of checkpoint {}",
            c.size
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::metadata::hex;
    use sha2::{Digest, Sha256};

    fn line(i: u64, name: &str) -> String {
        let d = |s: &str| hex(&Sha256::digest(s.as_bytes()));
        Entry {
            index: i,
            content_sha256: d(&format!("c{i}")),
            file_sha256: d(&format!("f{i}")),
            id: format!("urn:docseal:{}", &d(&format!("i{i}"))[..32]),
            supersedes: None,
            name: name.into(),
        }
        .line()
    }

    #[test]
    fn issue17_store_entries_are_parsed_strictly() {
        let good = format!("{}\n{}\n", line(0, "a.zip"), line(1, "b c.zip"));
        let e = parse_entries("s3://b/p", good.as_bytes()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].name, "b c.zip");
        assert!(parse_entries("s3://b/p", b"").unwrap().is_empty());
        let torn = &good[..good.len() - 1];
        let swapped = format!("{}\n{}\n", line(1, "b.zip"), line(0, "a.zip"));
        let blank = format!("{}\n\n", line(0, "a.zip"));
        let crlf = format!("{}\r\n", line(0, "a.zip"));
        let long = format!("{}\n", line(0, &format!("{}.zip", "x".repeat(3000))));
        for (bad, says) in [
            (torn.to_string(), "complete line"),
            (swapped, "has index 1"),
            (blank, "line 2"),
            (crlf, "line 1"),
            ("\n".to_string(), "line 1"),
            (long, "line 1"),
        ] {
            let e = parse_entries("s3://b/p", bad.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(says) && e.contains("s3://b/p/log/entries"),
                "{e}"
            );
        }
    }
}
