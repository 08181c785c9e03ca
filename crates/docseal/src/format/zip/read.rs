//! The strict reader: the end records, the central directory, names, local headers, and the
//! whole-file layout, each compared with what the writer would write.

use super::central::*;
use super::end::*;
use super::local::*;
use super::render::*;
use super::report::*;
use super::*;
use crate::format::finding::{Code, Finding};
use crate::format::path;
use sha2::{Digest, Sha256};
use std::collections::hash_map::Entry as MapEntry;
use std::collections::HashMap;
use std::hash::Hash;
use std::io::{Read, Seek};

/// One entry of a strictly read archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name (valid, portable, NFC).
    pub name: String,
    /// Offset of the entry's data in the file.
    pub data_offset: u64,
    /// Size of the data.
    pub size: u64,
    /// CRC-32 declared in the headers.
    pub crc32: u32,
}

/// Read the structure of a bundle ZIP strictly: every byte outside entry data must be what the
/// writer would write for these entries. Does not read entry data (see [`hash_entry`]).
/// Returns every finding it could establish when the structure is refused.
pub fn read_strict<R: Read + Seek>(
    r: &mut R,
    file_len: u64,
    limits: &Limits,
) -> Result<Vec<Entry>, Vec<Finding>> {
    read_strict_scanning(r, file_len, limits, SCAN_MAX)
}

/// [`read_strict`], comparing entries with each other by scanning up to `scan_max` entries
/// (tests check that scanning and hash maps find the same).
pub(super) fn read_strict_scanning<R: Read + Seek>(
    r: &mut R,
    file_len: u64,
    limits: &Limits,
    scan_max: usize,
) -> Result<Vec<Entry>, Vec<Finding>> {
    let mut rep = Report::default();
    let mut src = Src { r, len: file_len };
    let res = read_inner(&mut src, limits, &mut rep, scan_max);
    match res {
        Ok(entries) if rep.is_empty() => Ok(entries),
        _ => {
            if rep.is_empty() {
                // Cannot happen (every stop records why), but never accept on a stop.
                rep.global(Code::ZipNotZip, "the archive could not be read");
            }
            Err(rep.into_findings())
        }
    }
}

/// The whole structure, step by step: end records, central directory, each record, names,
/// local headers, whole-file layout. Every step adds its findings to `rep`; a step after which
/// nothing more can be read stops.
pub(super) fn read_inner<R: Read + Seek>(
    src: &mut Src<'_, R>,
    limits: &Limits,
    rep: &mut Report,
    scan_max: usize,
) -> Result<Vec<Entry>, Stop> {
    let end = find_end(src, rep)?;
    let count = end.count;
    if count > limits.max_entries {
        rep.global(
            Code::LimitEntries,
            format!(
                "{count} entries, more than the limit of {}",
                limits.max_entries
            ),
        );
        return Err(Stop);
    }
    let (cd_start, shift) = locate_cd(src, &end, rep)?;
    let cd = read_cd(src, &end, cd_start, limits, rep)?;
    let (mut recs, taken) = parse_records(&cd, count, rep);
    if let Some(p) = taken {
        check_cd_end(src.len, &cd, p, cd_start, &end, count, rep);
    }
    // Each record on its own, then the names.
    for (i, c) in recs.iter_mut().enumerate() {
        check_central(rep, i, c);
    }
    let scan = recs.len() <= scan_max;
    check_names(&mut recs, limits, scan, rep);
    let expected = walk_locals(src, &mut recs, &cd, shift, cd_start, scan, rep)?;
    if taken.is_some() {
        if recs.is_empty() && cd_start > 0 {
            rep.global(
                Code::ZipPrefixBytes,
                format!("{cd_start} bytes come before the central directory of an empty archive"),
            );
        } else if !recs.is_empty() && expected < cd_start {
            rep.global(
                Code::ZipGap,
                format!(
                    "{} unaccounted bytes between the last entry and the central directory",
                    cd_start - expected
                ),
            );
        }
    }
    if rep.is_empty() {
        check_layout(src, &recs, cd_start, &end, rep)?;
    }
    if !rep.is_empty() {
        return Err(Stop);
    }
    let mut out = Vec::with_capacity(recs.len());
    for c in recs {
        let (Some(data_offset), Some(name)) = (c.data_offset, c.valid_name) else {
            return Err(Stop);
        };
        out.push(Entry {
            name: name.to_owned(),
            data_offset,
            size: c.size,
            crc32: c.crc,
        });
    }
    Ok(out)
}

/// Where the central directory starts, and how far the whole archive was moved by bytes
/// prefixed to it (when the end record's offset is off by that much).
fn locate_cd<R: Read + Seek>(
    src: &mut Src<'_, R>,
    end: &End,
    rep: &mut Report,
) -> Result<(u64, u64), Stop> {
    let count = end.count;
    let declared_end = end.cd_offset.checked_add(end.cd_size);
    if declared_end == Some(end.cd_end) {
        return Ok((end.cd_offset, 0));
    }
    let beyond = past(end.cd_offset, end.cd_size, src.len);
    if beyond {
        rep.global(
            Code::ZipTruncated,
            format!(
                "the central directory ({} bytes at offset {}) runs past the end of the file",
                end.cd_size, end.cd_offset
            ),
        );
    }
    let moved = |rep: &mut Report, at: u64| {
        if !beyond {
            rep.global(
                Code::ZipEndRecord,
                format!("the end record says the central directory starts at offset {}, but it is at offset {at}", end.cd_offset),
            );
        }
    };
    let inferred = end.cd_end.checked_sub(end.cd_size);
    let central_at =
        |src: &mut Src<'_, R>, off: u64| off < end.cd_end && src.sig_at(off) == Some(SIG_CENTRAL);
    if count == 0 && end.cd_size == 0 {
        moved(rep, end.cd_end);
        Ok((end.cd_end, 0))
    } else if let Some(inf) =
        inferred.filter(|&inf| count > 0 && central_at(src, inf) && !central_at(src, end.cd_offset))
    {
        // Typically an archive with bytes prefixed to it and offsets left as they were.
        moved(rep, inf);
        Ok((inf, inf.saturating_sub(end.cd_offset)))
    } else if !beyond
        && end.cd_offset <= end.cd_end
        && (count == 0 || central_at(src, end.cd_offset))
    {
        // Size wrong, or bytes between the central directory and the end records.
        Ok((end.cd_offset, 0))
    } else if beyond {
        Err(Stop)
    } else {
        rep.global(
            Code::ZipEndRecord,
            format!(
                "no central directory at offset {}, where the end record says it starts",
                end.cd_offset
            ),
        );
        Err(Stop)
    }
}

/// The central directory's bytes, from `cd_start` to where it must end, after its size was
/// checked against the limits and the count.
fn read_cd<R: Read + Seek>(
    src: &mut Src<'_, R>,
    end: &End,
    cd_start: u64,
    limits: &Limits,
    rep: &mut Report,
) -> Result<Vec<u8>, Stop> {
    let count = end.count;
    let region = end.cd_end - cd_start;
    let max_cd = limits.max_entries.saturating_mul(MAX_CENTRAL_RECORD);
    if region > max_cd {
        rep.global(
            Code::LimitEntries,
            format!("the central directory takes {region} bytes, more than {max_cd} (the limit of {} entries allows)", limits.max_entries),
        );
        return Err(Stop);
    }
    if count.saturating_mul(CENTRAL_LEN as u64) > region {
        rep.global(Code::ZipEndRecord, format!("the end record counts {count} entries, more than the {region}-byte central directory can hold"));
        return Err(Stop);
    }
    let mut cd = vec![0u8; region as usize];
    src.read(cd_start, &mut cd, rep, "central directory")?;
    Ok(cd)
}

/// The `count` records of the central directory `cd`, and the bytes they take when all of
/// them are there (`None`: one is missing or cut short, reported).
fn parse_records<'a>(
    cd: &'a [u8],
    count: u64,
    rep: &mut Report,
) -> (Vec<Central<'a>>, Option<usize>) {
    let mut recs: Vec<Central<'_>> = Vec::with_capacity(count as usize);
    let mut p = 0usize;
    for i in 0..count {
        match parse_central(cd, p) {
            Some(c) => {
                p += c.len;
                recs.push(c);
            }
            None => {
                rep.global(
                    Code::ZipEndRecord,
                    format!("the end record counts {count} entries, but central directory record {} is missing or cut short", i + 1),
                );
                return (recs, None);
            }
        }
    }
    (recs, Some(p))
}

/// What follows the `p` bytes of records in the central directory region: nothing, more
/// records than counted, an earlier end record, or a gap.
fn check_cd_end(
    file_len: u64,
    cd: &[u8],
    p: usize,
    cd_start: u64,
    end: &End,
    count: u64,
    rep: &mut Report,
) {
    let more = cd.len() - p >= 4 && le32(cd, p) == SIG_CENTRAL;
    if more {
        rep.global(
            Code::ZipEndRecord,
            format!(
                "the central directory holds more records than the {count} the end record counts"
            ),
        );
    } else if p as u64 != end.cd_size {
        rep.global(Code::ZipEndRecord, format!("the end record gives the central directory size as {} bytes, but its records take {p}", end.cd_size));
    }
    if more || p >= cd.len() {
        return;
    }
    if cd.len() - p >= EOCD_LEN && le32(cd, p) == SIG_EOCD {
        // An earlier end record: its comment runs to the end of the file (a comment holding an
        // end record), or other bytes follow it (an archive appended).
        let at = cd_start + p as u64;
        let inner_end = at + (EOCD_LEN as u64) + u64::from(le16(cd, p + 20));
        if inner_end == file_len {
            rep.global(Code::ZipComment, "another end of central directory record precedes the last one (an archive comment holding an end record)");
        } else {
            rep.global(
                Code::ZipTrailingBytes,
                format!(
                    "{} bytes follow the end of central directory record at offset {at} (another archive appended to this one)",
                    file_len.saturating_sub(at + EOCD_LEN as u64)
                ),
            );
        }
    } else {
        rep.global(
            Code::ZipGap,
            format!(
                "{} bytes between the central directory and the end record",
                cd.len() - p
            ),
        );
    }
}

/// The size limits of entry `i` (`total`: the sizes of the entries before it).
fn check_sizes(rep: &mut Report, i: usize, c: &Central<'_>, limits: &Limits, total: &mut u64) {
    let s = c.shown();
    let big = c.size.max(c.csize);
    if big > limits.max_file_size {
        rep.entry(
            i,
            s,
            Code::LimitSize,
            format!(
                "{big} bytes, more than the per-file limit of {}",
                limits.max_file_size
            ),
        );
    }
    let before = *total;
    *total = total.saturating_add(big);
    if *total > limits.max_total_size && before <= limits.max_total_size {
        rep.entry(
            i,
            s,
            Code::LimitSize,
            format!(
                "the entries add up to more than the total limit of {} bytes",
                limits.max_total_size
            ),
        );
    }
}

/// Entry `i`'s name checked as a portable path; kept in `c.valid_name` when it is one.
fn check_name(rep: &mut Report, i: usize, c: &mut Central<'_>) {
    let s = c.shown();
    let checked = match c.name.strip_suffix(b"/") {
        Some(dir) => {
            rep.entry(
                i,
                s,
                Code::ZipNotRegularFile,
                "the name ends with `/`: a directory entry",
            );
            if dir.is_empty() {
                Ok("")
            } else {
                path::check_bytes(dir)
            }
        }
        None => path::check_bytes(c.name),
    };
    match checked {
        Ok(name) if !c.name.ends_with(b"/") => c.valid_name = Some(name),
        Ok(_) => {}
        Err((code, why)) => rep.entry(i, s, code, why),
    }
}

/// Sizes and names of every entry, and names repeated or colliding with an earlier one.
///
/// A repeated name, collision key or local header offset is reported with the first entry
/// that has it. A usual bundle has a handful of entries: comparing each with the earlier ones
/// (`scan`) is cheaper there than hashing. Larger archives use hash maps, so that one with the
/// entry limit's worth of entries is not quadratic.
fn check_names(recs: &mut [Central<'_>], limits: &Limits, scan: bool, rep: &mut Report) {
    let mut by_name: HashMap<&[u8], usize> = HashMap::new();
    // Collision keys are held as their SHA-256: 32 bytes each, however long the names.
    let mut by_key: HashMap<[u8; 32], usize> = HashMap::new();
    // When scanning: each name's collision key (`None` when the name is not UTF-8).
    let keys: Vec<Option<Key<'_>>> = if scan {
        recs.iter().map(|c| Key::of(c.name)).collect()
    } else {
        Vec::new()
    };
    let mut total = 0u64;
    for i in 0..recs.len() {
        let (earlier, rest) = recs.split_at_mut(i);
        let c = &mut rest[0];
        check_sizes(rep, i, c, limits, &mut total);
        check_name(rep, i, c);
        let s = c.shown();
        let same_name = if scan {
            earlier.iter().position(|e| e.name == c.name)
        } else {
            first_or_insert(&mut by_name, c.name, i)
        };
        if let Some(j) = same_name {
            rep.entry(
                i,
                s,
                Code::ZipDuplicateName,
                format!("entry {} has the same name as entry {}", i + 1, j + 1),
            );
            continue;
        }
        // The first earlier entry with the same key is never one skipped above (its name
        // would have come first), so scanning all earlier keys finds what the map holds.
        let same_key = if scan {
            keys[i].as_ref().and_then(|k| {
                keys[..i]
                    .iter()
                    .position(|o| o.as_ref().is_some_and(|o| o.same(k)))
            })
        } else if let Ok(n) = std::str::from_utf8(c.name) {
            let key: [u8; 32] = Sha256::digest(path::collision_key(n).as_bytes()).into();
            first_or_insert(&mut by_key, key, i)
        } else {
            None
        };
        if let Some(j) = same_key {
            rep.entry(
                i,
                s,
                Code::ZipNameCollision,
                format!(
                    "the name is the same as `{}` after Unicode normalization and case folding",
                    earlier[j].shown()
                ),
            );
        }
    }
}

/// Where entry `i`'s local header at `off` lies against the end of the entries before it
/// (`expected`): the first at 0, each right after the one before.
fn check_offset(rep: &mut Report, i: usize, c: &Central<'_>, off: u64, expected: u64) {
    let s = c.shown();
    if i == 0 && off > 0 {
        rep.entry(
            i,
            s,
            Code::ZipPrefixBytes,
            format!("{off} bytes come before the first local file header"),
        );
    } else if off > expected {
        rep.entry(
            i,
            s,
            Code::ZipGap,
            format!(
                "{} unaccounted bytes before this entry's local header",
                off - expected
            ),
        );
    } else if off < expected {
        rep.entry(
            i,
            s,
            Code::ZipOverlap,
            format!("the local header at offset {off} lies inside the previous entry, which extends to offset {expected}"),
        );
    }
}

/// Walk the local headers in central directory order, each checked against its record and,
/// unless something specific was found, re-rendered and compared; returns where the entries
/// end.
fn walk_locals<R: Read + Seek>(
    src: &mut Src<'_, R>,
    recs: &mut [Central<'_>],
    cd: &[u8],
    shift: u64,
    cd_start: u64,
    scan: bool,
    rep: &mut Report,
) -> Result<u64, Stop> {
    let mut expected = 0u64;
    let mut by_offset: HashMap<u64, usize> = HashMap::new();
    // The local header being checked, and the canonical headers rendered for comparison:
    // reused from entry to entry.
    let longest = recs.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut header = Vec::with_capacity(LOCAL_LEN + longest + 20);
    let mut want = Vec::with_capacity(CENTRAL_LEN + longest + 28);
    for i in 0..recs.len() {
        let (earlier, rest) = recs.split_at_mut(i);
        let c = &mut rest[0];
        let off = c.offset.saturating_add(shift);
        // Overlapping entries were not kept by the map, but share the offset of one earlier
        // entry that was: scanning finds that one first.
        let same_offset = if scan {
            earlier
                .iter()
                .position(|e| e.offset.saturating_add(shift) == off)
        } else {
            first_or_insert(&mut by_offset, off, i)
        };
        if let Some(j) = same_offset {
            rep.entry(
                i,
                c.shown(),
                Code::ZipOverlap,
                format!(
                    "the entry has the same local header offset ({off}) as `{}`",
                    earlier[j].shown()
                ),
            );
            continue;
        }
        check_offset(rep, i, c, off, expected);
        let data_offset = walk_local(src, rep, i, c, off, cd_start, &mut header)?;
        if let Some(d) = data_offset {
            expected = expected.max(d.saturating_add(c.csize));
        }
        // Final check of this entry, unless something specific was found: re-render both
        // headers from the parsed values and compare.
        if !rep.has_entry(i) {
            let local = data_offset.map(|_| header.as_slice());
            compare_canonical(rep, i, c, &cd[c.at..c.at + c.len], local, &mut want);
        }
        c.data_offset = data_offset;
    }
    Ok(expected)
}

/// The whole-file layout: entries from byte 0, then the central directory, then the end
/// records, each exactly where and as the writer puts it.
fn check_layout<R: Read + Seek>(
    src: &mut Src<'_, R>,
    recs: &[Central<'_>],
    cd_start: u64,
    end: &End,
    rep: &mut Report,
) -> Result<(), Stop> {
    let mut pos = 0u64;
    let mut cd_len = 0u64;
    for c in recs {
        let data_offset = c.data_offset.ok_or(Stop)?;
        let header_len = (LOCAL_LEN + c.name.len() + local_extra(c.size).len) as u64;
        if c.offset != pos || data_offset != pos + header_len {
            rep.global(
                Code::ZipGap,
                format!("entry `{}` is not at its canonical offset {pos}", c.shown()),
            );
        }
        pos = pos.saturating_add(header_len).saturating_add(c.size);
        cd_len += c.len as u64;
    }
    let mut want = Vec::with_capacity(END_RECORDS_MAX);
    render_end(&mut want, recs.len() as u64, cd_len, pos);
    let end_start = pos.saturating_add(cd_len);
    if cd_start != pos
        || end_start.saturating_add(want.len() as u64) != src.len
        || end.eocd_pos + EOCD_LEN as u64 != src.len
    {
        rep.global(
            Code::ZipEndRecord,
            "the central directory and end records are not at their canonical place",
        );
        return Ok(());
    }
    let mut got = [0u8; END_RECORDS_MAX];
    let got = &mut got[..want.len()];
    src.read(end_start, got, rep, "end records")?;
    if let Some(at) = first_diff(got, &want) {
        let code = if want.len() > EOCD_LEN && at < want.len() - EOCD_LEN {
            Code::ZipZip64
        } else {
            Code::ZipEndRecord
        };
        rep.global(
            code,
            format!("the end records differ from the canonical ones (byte {at})"),
        );
    }
    Ok(())
}

/// Up to this many entries, repeated names, collision keys and offsets are found by comparing
/// each entry with the earlier ones instead of with hash maps (see `read_inner`).
pub(super) const SCAN_MAX: usize = 32;

/// The value `map` holds for `k`, or `None` after inserting `i` for it.
pub(super) fn first_or_insert<K: Hash + Eq>(
    map: &mut HashMap<K, usize>,
    k: K,
    i: usize,
) -> Option<usize> {
    match map.entry(k) {
        MapEntry::Occupied(e) => Some(*e.get()),
        MapEntry::Vacant(v) => {
            v.insert(i);
            None
        }
    }
}

/// A name's collision key ([`path::collision_key`]), built only when it has to be: an ASCII
/// name's key is the name in lower case (NFC leaves ASCII as it is, and Unicode case folding
/// changes only A-Z in it), which is compared without being built.
pub(super) enum Key<'a> {
    /// An ASCII name, whose key is its lower case.
    Ascii(&'a [u8]),
    /// The key of any other name.
    Folded(String),
}

impl<'a> Key<'a> {
    /// The key of a name, or `None` when the name is not UTF-8.
    pub(super) fn of(name: &'a [u8]) -> Option<Key<'a>> {
        if name.is_ascii() {
            return Some(Key::Ascii(name));
        }
        let n = std::str::from_utf8(name).ok()?;
        Some(Key::Folded(path::collision_key(n)))
    }

    /// Whether two names collide.
    pub(super) fn same(&self, other: &Key<'_>) -> bool {
        /// An ASCII name against a built key.
        fn ascii_is(a: &[u8], key: &str) -> bool {
            a.len() == key.len()
                && a.iter()
                    .zip(key.as_bytes())
                    .all(|(x, y)| x.to_ascii_lowercase() == *y)
        }
        match (self, other) {
            (Key::Ascii(a), Key::Ascii(b)) => a.eq_ignore_ascii_case(b),
            (Key::Ascii(a), Key::Folded(k)) | (Key::Folded(k), Key::Ascii(a)) => ascii_is(a, k),
            (Key::Folded(a), Key::Folded(b)) => a == b,
        }
    }
}

/// The last check of an entry: both headers re-rendered from the values parsed, compared with
/// the bytes of the file (`central` is the record's bytes; `local` the local header, if read).
/// `want` is a buffer for the rendering.
pub(super) fn compare_canonical(
    rep: &mut Report,
    i: usize,
    c: &Central<'_>,
    central: &[u8],
    local: Option<&[u8]>,
    want: &mut Vec<u8>,
) {
    want.clear();
    render_central(want, c.name, c.size, c.crc, c.offset);
    if let Some(at) = first_diff(central, want) {
        let (code, field) = central_field(at);
        rep.entry(
            i,
            c.shown(),
            code,
            format!(
                "the central directory record differs from the canonical one ({field}, byte {at})"
            ),
        );
        return;
    }
    if let Some(l) = local {
        want.clear();
        render_local(want, c.name, c.size, c.crc, c.offset);
        if let Some(at) = first_diff(l, want) {
            let (code, field) = local_field(at);
            rep.entry(
                i,
                c.shown(),
                code,
                format!("the local header differs from the canonical one ({field}, byte {at})"),
            );
        }
    }
}
