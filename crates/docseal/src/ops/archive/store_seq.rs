//! `archive add` on an archive in a [`Store`] laid out as archive log v3 (`docs/FORMAT.md`,
//! "Archive log v3"; `docs/STORAGE.md`, "Adding to an archive in a bucket"): sequenced on
//! `log/sequence` (the entries of at most one add not yet tiled) and the name and content
//! index, so the bytes an add reads and writes do not grow with the log.
//!
//! One add:
//! 1. checks every bundle given locally (`store_add::check_bundles`);
//! 2. reads `log/sequence` with its version;
//! 3. completes its tail, if any (any writer's, live or dead): checks the tail's entries
//!    against the index and one another, moves their bundles from `log/pending/` into
//!    `bundles/` (checking another writer's), writes the tiles and entry bundles, then the index
//!    objects (all create-only, deterministic), then publishes the checkpoint as v2 does;
//! 4. decides each own bundle with the name and content index (two reads a bundle);
//! 5. uploads the new bundles to `log/pending/` (create-only);
//! 6. replaces `log/sequence` (`If-Match`) with start = the old size and its own entries as
//!    tail; a lost race goes back to 2;
//! 7. completes its own tail as in 3.

use super::store_common::{
    check_not_larger, complete_checkpoint_files, head_is_latest, next_checkpoint, pause_point,
    place_bundle, publish_head, put_same, read_head, same_entry, store_error, upload_pending,
    with_tiles, Given, Look, Pace, StoreAdded,
};
use super::tiles::CHECKPOINT_FILE;
use super::v3::{
    content_index_path, index_bytes, name_index_path, parse_index, Sequence, MAX_INDEX_BYTES,
    MAX_SEQUENCE_BYTES, MAX_SEQUENCE_ENTRIES, SEQUENCE_FILE,
};
use super::{
    crash_point, invalid, name_key, Checkpoint, Entry, BUNDLES_DIR, ENTRIES_FILE, MAX_ENTRIES_V2,
    MAX_ENTRY_LINE, PENDING_DIR,
};
use crate::format::error::Result;
use crate::format::minisign::SecretKey;
use crate::format::store::{self, PutIfMatch, Store, StoreError, Version};
use crate::format::tlog;
use crate::format::zip::Limits;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

/// Whether the archive in `s` is laid out as v3 (has `log/sequence`), making it so when the
/// archive is new (nothing under `log/`): `false` for a v2 archive (`log/entries` or
/// `log/checkpoint` without `log/sequence`), added to as before.
pub(super) fn is_v3(s: &dyn Store, pace: &Pace) -> Result<bool> {
    if pace.io(|| s.size(SEQUENCE_FILE))?.is_some() {
        return Ok(true);
    }
    if pace.io(|| s.size(ENTRIES_FILE))?.is_some() || pace.io(|| s.size(CHECKPOINT_FILE))?.is_some()
    {
        return Ok(false);
    }
    let empty = match store::retry(&pace.backoff, || s.list("log/", None, 1)) {
        Ok(p) => p.items.is_empty(),
        Err(StoreError::NotFound { .. }) => true,
        Err(e) => return Err(store_error(e)),
    };
    if !empty {
        // Something under log/: a v3 writer creates log/sequence before anything else there,
        // so it is v3 if log/sequence exists now (created since the first look). Else only
        // an earlier release's first add (its pending copies come first) may be under way;
        // tiles or index objects without a sequencer or a head are a log whose sequencer and
        // checkpoints were removed: never taken for a new archive (its first checkpoint,
        // under the same origin, would fork the log signed before).
        if pace.io(|| s.size(SEQUENCE_FILE))?.is_some() {
            return Ok(true);
        }
        for dir in ["log/tile/", "log/index/"] {
            let found = match store::retry(&pace.backoff, || s.list(dir, None, 1)) {
                Ok(p) => !p.items.is_empty(),
                Err(StoreError::NotFound { .. }) => false,
                Err(e) => return Err(store_error(e)),
            };
            if found {
                return Err(damaged(
                    &format!("{}/{dir}", s.root()),
                    format!("holds a log but neither {SEQUENCE_FILE}, {ENTRIES_FILE} nor {CHECKPOINT_FILE} exists (removed?)"),
                ));
            }
        }
        return Ok(false);
    }
    let first = Sequence {
        start: 0,
        tail: Vec::new(),
    };
    // Created, or created meanwhile by another writer (which is the same thing).
    pace.io(|| s.put_new(SEQUENCE_FILE, &first.to_bytes()))?;
    Ok(true)
}

/// `log/sequence` read and parsed strictly, with its version.
fn read_sequence(s: &dyn Store, pace: &Pace) -> Result<(Sequence, Version)> {
    let what = format!("{}/{SEQUENCE_FILE}", s.root());
    let o = pace
        .io(|| s.get(SEQUENCE_FILE, MAX_SEQUENCE_BYTES))?
        .ok_or_else(|| damaged(&what, "is missing (removed?)".into()))?;
    let seq = Sequence::parse(&o.bytes).map_err(|why| damaged(&what, why))?;
    Ok((seq, o.version))
}

/// A refusal naming `what`, pointing to the audit.
fn damaged(what: &str, why: String) -> crate::format::error::Error {
    invalid(
        what,
        format!("{why}; refusing to extend it (an audit of the archive gives the details)"),
    )
}

/// What this add knows while it sequences: the archive key, the time asked for, the limits,
/// its own bundles, what it completed of others' work, the retries.
struct Ctx<'a> {
    s: &'a dyn Store,
    key: &'a SecretKey,
    time: Option<DateTime<Utc>>,
    limits: &'a Limits,
    ours: HashMap<&'a str, &'a Given>,
    recovered: Vec<String>,
    pace: Pace,
}

/// Add `given` (checked) to the v3 archive in `s` (module documentation).
pub(super) fn add(
    s: &dyn Store,
    given: &[Given],
    key: &SecretKey,
    time: Option<DateTime<Utc>>,
    limits: &Limits,
    pace: Pace,
) -> Result<StoreAdded> {
    if given.len() > MAX_SEQUENCE_ENTRIES {
        return Err(invalid(
            s.root(),
            format!("an add on a store logs at most {MAX_SEQUENCE_ENTRIES} bundles at once"),
        ));
    }
    let mut c = Ctx {
        s,
        key,
        time,
        limits,
        ours: given.iter().map(|g| (g.name.as_str(), g)).collect(),
        recovered: Vec::new(),
        pace,
    };
    migration_finished(s, &c.pace)?;
    let mut created = HashSet::new();
    let (next, already, head) = match sequence_own(&mut c, given, &mut created) {
        Ok(r) => r,
        Err(e) => {
            // Our own pending copies, never sequenced: removed (another writer's are left).
            // One the sequence names now stays: our replacement of it may have been applied
            // though reported lost (an ambiguous conditional write), or another writer
            // adding the same file sequenced our copy; its completion needs that copy. The
            // sequence unreadable: nothing removed.
            if let Ok((seq, _)) = read_sequence(s, &c.pace) {
                for n in &created {
                    if !seq.tail.iter().any(|e| &e.name == n) {
                        let _ = s.delete(&format!("{PENDING_DIR}/{n}"));
                    }
                }
            }
            return Err(e);
        }
    };
    let (checkpoint, published) = match &next {
        Some(seq) => settle(&mut c, seq, true)?,
        None => (head, false),
    };
    let entries = next.map(|n| n.tail).unwrap_or_default();
    // Our own pending copies of bundles found logged meanwhile: covered now.
    for g in given {
        if created.contains(&g.name) && !entries.iter().any(|e| e.name == g.name) {
            let _ = c.pace.io(|| s.delete(&format!("{PENDING_DIR}/{}", g.name)));
        }
    }
    let checkpoint = checkpoint.ok_or_else(|| invalid(s.root(), "no checkpoint after an add"))?;
    Ok(StoreAdded {
        entries,
        already,
        checkpoint,
        published,
        key_id: key.key_id(),
        recovered: c.recovered,
        conflicts: c.pace.conflicts,
        layout: "v3",
    })
}

/// `log/entries` beside `log/sequence` is a migration to v3 not finished (it removes
/// `log/entries` last), or a sequence put into a v2 archive by hand: its index may not hold the
/// log (an add deciding on it would log a name or content logged already). Waited for
/// (within `--wait`), then refused.
fn migration_finished(s: &dyn Store, pace: &Pace) -> Result<()> {
    let mut n = 0;
    while pace.io(|| s.size(ENTRIES_FILE))?.is_some() {
        n += 1;
        let d = pace.backoff.delay(n);
        if pace.start.elapsed() + d > pace.wait {
            return Err(damaged(
                &format!("{}/{ENTRIES_FILE}", s.root()),
                format!("is beside {SEQUENCE_FILE}: a migration to v3 not finished (migrate it again to finish it), or {SEQUENCE_FILE} put there by hand"),
            ));
        }
        std::thread::sleep(d);
    }
    Ok(())
}

/// Steps 2 to 6: the sequence replaced with this add's new entries as its tail (`None`: all
/// were logged already), the entries already logged, the head covering the log read.
type Sequenced = (Option<Sequence>, Vec<Entry>, Option<Checkpoint>);

fn sequence_own(c: &mut Ctx, given: &[Given], created: &mut HashSet<String>) -> Result<Sequenced> {
    let s = c.s;
    let root = s.root();
    let mut first = true;
    let mut uploaded: HashSet<String> = HashSet::new();
    loop {
        let (seq, version) = read_sequence(s, &c.pace)?;
        if first {
            pause_point("read");
            first = false;
        }
        let (head, _) = settle(c, &seq, false)?;
        let size = head.as_ref().map_or(0, |h| h.size);
        let decided = if size == seq.size() {
            decide(c, given, size)?
        } else {
            None
        };
        let Some((already, fresh)) = decided else {
            // The log moved on since log/sequence was read (or it is behind the head).
            if read_sequence(s, &c.pace)?.1 == version {
                return Err(damaged(
                    &format!("{root}/{SEQUENCE_FILE}"),
                    format!("holds the log up to {} entries but the latest checkpoint signs {size} (rolled back, or an index object claims an entry not logged)", seq.size()),
                ));
            }
            c.pace
                .conflict(&format!("{root}/{SEQUENCE_FILE}"), "nothing logged yet")?;
            continue;
        };
        if fresh.is_empty() {
            return Ok((None, already, head));
        }
        if let Some(cp) = &head {
            check_head_tiles(s, cp)?;
        }
        if let Some(name) = unindexed_bundle(c, &fresh)? {
            // bundles/NAME is there though the index holds no entry for its name: placed by
            // a writer that sequenced it after our read (read again), or, the sequence
            // unchanged, an index object removed (logging it again would sign its name and
            // content twice) or a file put there by hand.
            if read_sequence(s, &c.pace)?.1 == version {
                return Err(damaged(
                    &format!("{root}/{BUNDLES_DIR}/{name}"),
                    format!("exists in the archive but not in its log's index (an index object of {name} removed, or a file put there by hand): not logged again"),
                ));
            }
            c.pace
                .conflict(&format!("{root}/{SEQUENCE_FILE}"), "nothing logged yet")?;
            continue;
        }
        let mut vanished = None;
        for g in &fresh {
            if !uploaded.contains(&g.name) {
                if !upload_pending(s, &c.pace, g, created)? {
                    vanished = Some(g.name.clone());
                    break;
                }
                uploaded.insert(g.name.clone());
            }
        }
        if let Some(name) = vanished {
            let what = format!("{root}/{PENDING_DIR}/{name}");
            c.pace.conflict(&what, &format!("not logged: {name}"))?;
            continue;
        }
        crash_point("store-pending");
        let next = next_sequence(&root, seq.size(), &fresh)?;
        let bytes = next.to_bytes();
        if let PutIfMatch::Replaced(_) = c
            .pace
            .io(|| s.put_if_match(SEQUENCE_FILE, &bytes, &version))?
        {
            crash_point("store-appended");
            pause_point("sequenced");
            return Ok((Some(next), already, head));
        }
        // Lost (or a retried request of ours won: read again, and it is found logged; out
        // of time, its pending copies stay for the next add to complete it).
        let names: Vec<&str> = fresh.iter().map(|g| g.name.as_str()).collect();
        let what = format!("{root}/{SEQUENCE_FILE}");
        c.pace
            .conflict(&what, &format!("not logged: {}", names.join(", ")))?;
    }
}

/// Before sequencing after `cp`: its tiles must be there and give its root, and its partial
/// entry bundle must be there (the next completion extends them), so that nothing is
/// sequenced on damaged tiles.
fn check_head_tiles(s: &dyn Store, cp: &Checkpoint) -> Result<()> {
    let r = with_tiles(s, cp.size, |t| {
        let r = t.root(cp.size)?;
        if !cp.size.is_multiple_of(tlog::TILE_WIDTH) {
            t.entries(cp.size / tlog::TILE_WIDTH, MAX_ENTRY_LINE)?;
        }
        Ok(r)
    })?;
    if r != cp.root {
        return Err(damaged(
            &format!("{}/log/tile", s.root()),
            format!("the tiles do not give the root of checkpoint {}", cp.size),
        ));
    }
    Ok(())
}

/// The first of `fresh` (found in neither index) whose `bundles/NAME` exists.
fn unindexed_bundle(c: &Ctx, fresh: &[&Given]) -> Result<Option<String>> {
    for g in fresh {
        let dest = format!("{BUNDLES_DIR}/{}", g.name);
        if c.pace.io(|| c.s.size(&dest))?.is_some() {
            return Ok(Some(g.name.clone()));
        }
    }
    Ok(None)
}

/// The sequence of `fresh` after a log of `size` entries.
fn next_sequence(root: &str, size: u64, fresh: &[&Given]) -> Result<Sequence> {
    if size + fresh.len() as u64 > MAX_ENTRIES_V2 {
        return Err(invalid(
            root,
            format!("an archive log holds at most {MAX_ENTRIES_V2} entries"),
        ));
    }
    let tail = fresh
        .iter()
        .enumerate()
        .map(|(k, g)| Entry {
            index: size + k as u64,
            ..g.entry.clone()
        })
        .collect();
    Ok(Sequence { start: size, tail })
}

/// What the index holds at one path.
enum Found {
    /// Nothing.
    None,
    /// The entry, checked against the entry bundle holding its index.
    Entry(Entry),
    /// An entry at or past the log's `size` read: the log moved on meanwhile (or damage).
    Ahead,
}

/// Step 4: each given bundle decided with the index of the log of `size` entries (all
/// tiled): the entries already logged exactly, the bundles to log. `None`: an index object
/// names an entry at or after `size` (read the sequence again).
type Decided<'a> = Option<(Vec<Entry>, Vec<&'a Given>)>;

fn decide<'a>(c: &Ctx, given: &'a [Given], size: u64) -> Result<Decided<'a>> {
    let mut already = Vec::new();
    let mut fresh = Vec::new();
    for g in given {
        let npath = name_index_path(&g.name);
        match lookup(c, &npath, size)? {
            Found::Ahead => return Ok(None),
            Found::Entry(e) if name_key(&e.name) != name_key(&g.name) => {
                return Err(damaged(
                    &format!("{}/{npath}", c.s.root()),
                    format!("holds entry {} ({}), not an entry named {}", e.index, e.name, g.name),
                ))
            }
            Found::Entry(e) if same_entry(&e, &g.entry) => {
                already.push(e);
                continue;
            }
            Found::Entry(e) => {
                return Err(invalid(
                    g.path.display(),
                    format!("the archive already has a bundle named {} or differing only in case (entry {})", e.name, e.index),
                ))
            }
            Found::None => {}
        }
        let cpath = content_index_path(&g.entry.content_sha256)
            .ok_or_else(|| invalid(g.path.display(), "no content digest"))?;
        match lookup(c, &cpath, size)? {
            Found::Ahead => return Ok(None),
            Found::Entry(e) if e.content_sha256 != g.entry.content_sha256 => {
                return Err(damaged(
                    &format!("{}/{cpath}", c.s.root()),
                    format!("holds entry {} of another content", e.index),
                ))
            }
            Found::Entry(e) => {
                return Err(invalid(
                    g.path.display(),
                    format!(
                        "its content (sha256 {}) is already in the archive: entry {} ({})",
                        e.content_sha256, e.index, e.name
                    ),
                ))
            }
            Found::None => fresh.push(g),
        }
    }
    Ok(Some((already, fresh)))
}

/// The index object at `path`, parsed strictly and checked against the entry bundle that
/// holds its entry in the tiles of the log of `size` entries.
fn lookup(c: &Ctx, path: &str, size: u64) -> Result<Found> {
    let s = c.s;
    let what = format!("{}/{path}", s.root());
    let o = match store::retry(&c.pace.backoff, || s.get(path, MAX_INDEX_BYTES)) {
        Ok(None) => return Ok(Found::None),
        Ok(Some(o)) => o,
        Err(StoreError::TooLarge { .. }) => {
            return Err(damaged(&what, "is larger than an index object".into()))
        }
        Err(e) => return Err(store_error(e)),
    };
    let e = parse_index(&o.bytes).map_err(|why| damaged(&what, why))?;
    if e.index >= size {
        return Ok(Found::Ahead);
    }
    let line = entry_at(s, size, e.index)?;
    if line != e.line().as_bytes() {
        return Err(damaged(
            &what,
            format!(
                "is not entry {} of the log (an index object planted or altered)",
                e.index
            ),
        ));
    }
    Ok(Found::Entry(e))
}

/// Entry `i`'s line, from the entry bundle of the tiles of the log of `size` entries.
fn entry_at(s: &dyn Store, size: u64, i: u64) -> Result<Vec<u8>> {
    let mut lines = with_tiles(s, size, |t| t.entries(i / tlog::TILE_WIDTH, MAX_ENTRY_LINE))?;
    let k = (i % tlog::TILE_WIDTH) as usize;
    if k >= lines.len() {
        return Err(damaged(
            &format!("{}/log/tile", s.root()),
            format!("no entry {i} in its entry bundle"),
        ));
    }
    Ok(lines.swap_remove(k))
}

/// Steps 3 and 7: make the head cover `seq` (complete its tail if no checkpoint covers it
/// yet). Returns the head then and whether this add published it. `own`: this add's tail,
/// decided against the index a moment ago (its index objects are not read again).
fn settle(c: &mut Ctx, seq: &Sequence, own: bool) -> Result<(Option<Checkpoint>, bool)> {
    let s = c.s;
    let root = s.root();
    loop {
        let head = read_head(s, &c.pace, c.key)?;
        if !head_is_latest(s, &c.pace, c.key, &head, Look::Window)? {
            let what = format!("{root}/{CHECKPOINT_FILE}");
            c.pace
                .conflict(&what, "the head kept changing while it was checked")?;
            continue;
        }
        let h = head.cp.as_ref().map_or(0, |c| c.size);
        if h >= seq.size() {
            if let Some(cp) = &head.cp {
                // Past the tail, or (our own tail) signed by another writer: it must sign
                // the tail as sequenced (a tail replaced by one of the same length after it
                // was sequenced gives a head of the very same size).
                if h > seq.size() || own {
                    check_covered(s, seq, cp)?;
                }
                if complete_checkpoint_files(s, &c.pace, cp, c.key)? {
                    c.recovered.push(format!(
                        "wrote checkpoint {h} (published, its files were not)"
                    ));
                }
            }
            return Ok((head.cp, false));
        }
        if h != seq.start {
            return Err(damaged(
                &format!("{root}/{SEQUENCE_FILE}"),
                format!(
                    "starts at entry {} but the latest checkpoint signs {h} entries",
                    seq.start
                ),
            ));
        }
        if let Some(cp) = &head.cp {
            if complete_checkpoint_files(s, &c.pace, cp, c.key)? {
                c.recovered.push(format!(
                    "wrote checkpoint {h} (published, its files were not)"
                ));
            }
        }
        let cp = complete_tail(c, seq, head.cp.as_ref(), own)?;
        if publish_head(s, &c.pace, &head, &cp, c.key)? {
            crash_point("store-published");
            complete_checkpoint_files(s, &c.pace, &cp, c.key)?;
            return Ok((Some(cp), true));
        }
        let what = format!("{root}/{CHECKPOINT_FILE}");
        let left = format!(
            "entries {h}..{} are sequenced but not signed (the next add signs them)",
            seq.size()
        );
        c.pace.conflict(&what, &left)?;
    }
}

/// A head covering the tail of `seq`, signed by another writer, must sign its entries: the
/// entry bundles of its tiles hold them at their indices (else they were replaced after they
/// were sequenced).
fn check_covered(s: &dyn Store, seq: &Sequence, cp: &Checkpoint) -> Result<()> {
    let Some(first) = seq.tail.first() else {
        return Ok(());
    };
    let w = tlog::TILE_WIDTH;
    let mut b = first.index / w;
    let mut lines = Vec::new();
    for e in &seq.tail {
        if e.index / w != b || lines.is_empty() {
            b = e.index / w;
            lines = with_tiles(s, cp.size, |t| t.entries(b, MAX_ENTRY_LINE))?;
        }
        if lines.get((e.index % w) as usize).map(Vec::as_slice) != Some(e.line().as_bytes()) {
            return Err(damaged(
                &format!("{}/{SEQUENCE_FILE}", s.root()),
                format!("checkpoint {} (published by another writer) does not sign entry {} ({}) as it was sequenced: replaced after it was sequenced; refusing to report it archived", cp.size, e.index, e.name),
            ));
        }
    }
    Ok(())
}

/// Complete the tail of `seq` after `head` (whose size is `seq.start`): check its entries,
/// put their bundles in `bundles/`, write the tiles and entry bundles and the index objects;
/// the checkpoint to publish.
fn complete_tail(
    c: &mut Ctx,
    seq: &Sequence,
    head: Option<&Checkpoint>,
    own: bool,
) -> Result<Checkpoint> {
    let s = c.s;
    if !own {
        check_tail(c, seq)?;
    }
    let lines: Vec<String> = seq.tail.iter().map(Entry::line).collect();
    let h = seq.start;
    let (files, root) = with_tiles(s, h, |t| {
        let r = if h == 0 { None } else { Some(t.root(h)?) };
        Ok((r, tlog::append(t, &lines, MAX_ENTRY_LINE)?))
    })
    .and_then(|(r, out)| match (r, head) {
        (Some(r), Some(cp)) if r != cp.root => Err(damaged(
            &format!("{}/log/tile", s.root()),
            format!("the tiles do not give the root of checkpoint {h}"),
        )),
        _ => Ok(out),
    })?;
    check_not_larger(s, &c.pace, h, &lines, &files)?;
    for e in &seq.tail {
        place_bundle(s, &c.pace, e, &c.ours, c.limits, &mut c.recovered)?;
    }
    for (path, bytes) in &files {
        let key = format!("log/{path}");
        put_same(s, &c.pace, &key, bytes, "the tiles of these entries")?;
    }
    crash_point("store-tiled");
    write_index(s, &c.pace, &seq.tail)?;
    crash_point("store-indexed");
    next_checkpoint(head, seq.size(), root, c.time, c.key)
}

/// Both index objects of each entry (create-only; the same bytes there already are fine).
fn write_index(s: &dyn Store, pace: &Pace, tail: &[Entry]) -> Result<()> {
    for e in tail {
        let bytes = index_bytes(e);
        let why = format!("the index object of entry {}", e.index);
        put_same(s, pace, &name_index_path(&e.name), &bytes, &why)?;
        let cpath = content_index_path(&e.content_sha256)
            .ok_or_else(|| invalid(s.root(), "an entry without a content digest"))?;
        put_same(s, pace, &cpath, &bytes, &why)?;
    }
    Ok(())
}

/// Before completing another writer's tail: names and contents unique within it, and the
/// index holds no other entry for them (else the tail repeats a logged name or content, or
/// the index was tampered with): nothing is written for a tail refused.
fn check_tail(c: &Ctx, seq: &Sequence) -> Result<()> {
    let s = c.s;
    let what = format!("{}/{SEQUENCE_FILE}", s.root());
    let mut names: HashMap<String, u64> = HashMap::new();
    let mut contents: HashMap<&str, u64> = HashMap::new();
    for e in &seq.tail {
        if let Some(d) = names.insert(name_key(&e.name), e.index) {
            return Err(damaged(&what, format!("entries {d} and {} have the same name (or names differing only in case or Unicode form)", e.index)));
        }
        if let Some(d) = contents.insert(e.content_sha256.as_str(), e.index) {
            return Err(damaged(
                &what,
                format!("entries {d} and {} log the same content", e.index),
            ));
        }
        let want = index_bytes(e);
        let cpath = content_index_path(&e.content_sha256).unwrap_or_default();
        for path in [name_index_path(&e.name), cpath] {
            let got = match store::retry(&c.pace.backoff, || s.get(&path, MAX_INDEX_BYTES)) {
                Ok(o) => o.map(|o| o.bytes),
                Err(StoreError::TooLarge { .. }) => Some(Vec::new()),
                Err(e) => return Err(store_error(e)),
            };
            match got {
                None => {}
                Some(b) if b == want => {}
                Some(b) => {
                    let other = parse_index(&b)
                        .map(|o| format!("entry {} ({})", o.index, o.name))
                        .unwrap_or_else(|_| "no entry".into());
                    return Err(damaged(&what, format!("entry {} ({}) is not signed yet and {}/{path} holds {other}: the name or content is logged already, or the index was tampered with; refusing to sign it", e.index, e.name, s.root())));
                }
            }
        }
    }
    Ok(())
}
