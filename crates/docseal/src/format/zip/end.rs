//! The end records: the end of central directory record, and the ZIP64 locator and end
//! record when present.

use super::render::*;
use super::report::*;
use super::*;
use crate::format::finding::Code;
use std::io::{Read, Seek};

/// What the end records say.
pub(super) struct End {
    pub(super) count: u64,
    pub(super) cd_size: u64,
    pub(super) cd_offset: u64,
    /// Where the central directory must end: the ZIP64 end record, or the end record.
    pub(super) cd_end: u64,
    /// Where the end record is.
    pub(super) eocd_pos: u64,
}

/// The end records: find and check the end record, then the ZIP64 locator and end record when
/// present.
pub(super) fn find_end<R: Read + Seek>(
    src: &mut Src<'_, R>,
    rep: &mut Report,
) -> Result<End, Stop> {
    let len = src.len;
    if len < EOCD_LEN as u64 {
        rep.global(
            Code::ZipNotZip,
            format!("the file is {len} bytes long, too short to be a ZIP archive"),
        );
        return Err(Stop);
    }
    // Usually the end record ends the file, right after the ZIP64 records if any: read only
    // those last bytes first. The whole search range is read (as before) only when the record is
    // not there, or when this short read fails (the full read then reports why).
    let mut quick = [0u8; END_RECORDS_MAX];
    let quick_len = len.min(END_RECORDS_MAX as u64) as usize;
    let quick = &mut quick[..quick_len];
    let quick_start = len - quick_len as u64;
    let mut full = Vec::new();
    let (tail, tail_start): (&[u8], u64) = if src.read_raw(quick_start, quick).is_ok()
        && le32(quick, quick_len - EOCD_LEN) == SIG_EOCD
    {
        (quick, quick_start)
    } else {
        let tail_len = len.min(EOCD_SEARCH) as usize;
        let tail_start = len - tail_len as u64;
        full.resize(tail_len, 0);
        src.read(tail_start, &mut full, rep, "end of the file")?;
        (&full, tail_start)
    };
    let eocd_at = locate_eocd(src, tail, tail_start, rep)?;
    let e = &tail[eocd_at..eocd_at + EOCD_LEN];
    let eocd_pos = tail_start + eocd_at as u64;
    let eocd = check_eocd(e, rep);
    let Some((loc_at, l)) = find_locator(src, tail, tail_start, eocd_pos, eocd.saturated, rep)?
    else {
        if eocd.saturated {
            rep.global(Code::ZipZip64, "the end record has ZIP64 markers (fields set to all ones) but there is no ZIP64 end record locator");
            return Err(Stop);
        }
        return Ok(End {
            count: u64::from(eocd.n_total),
            cd_size: u64::from(eocd.size32),
            cd_offset: u64::from(eocd.off32),
            cd_end: eocd_pos,
            eocd_pos,
        });
    };
    let z_at = check_locator(&l, loc_at, rep)?;
    let (count, cd_size, cd_offset) = read_zip64_end(src, z_at, rep)?;
    if eocd.n_total != field16(count)
        || eocd.n_disk != field16(count)
        || eocd.size32 != field32(cd_size)
        || eocd.off32 != field32(cd_offset)
    {
        let EndRecord {
            n_total,
            size32,
            off32,
            ..
        } = eocd;
        rep.global(
            Code::ZipEndRecord,
            format!(
                "the end record's count/size/offset ({n_total}, {size32}, {off32}) disagree with the ZIP64 end record ({count}, {cd_size}, {cd_offset})"
            ),
        );
    }
    Ok(End {
        count,
        cd_size,
        cd_offset,
        cd_end: z_at,
        eocd_pos,
    })
}

/// Where in `tail` (the last bytes of the file, from `tail_start`) the end record is: at its
/// very end, or (reported) followed by a comment or other bytes.
fn locate_eocd<R: Read + Seek>(
    src: &mut Src<'_, R>,
    tail: &[u8],
    tail_start: u64,
    rep: &mut Report,
) -> Result<usize, Stop> {
    let tail_len = tail.len();
    let last = tail_len - EOCD_LEN;
    if le32(tail, last) == SIG_EOCD {
        let cl = le16(tail, last + 20);
        if cl != 0 {
            rep.global(Code::ZipComment, format!("the end record declares a {cl}-byte archive comment, but the file ends right after it"));
        }
        return Ok(last);
    }
    // Not at the end: look for an end record followed by a comment or by other bytes.
    let found = (0..last).rev().find(|&p| {
        if le32(tail, p) != SIG_EOCD {
            return false;
        }
        let end = p + EOCD_LEN + le16(tail, p + 20) as usize;
        let abs = tail_start + p as u64;
        let (size, off) = (u64::from(le32(tail, p + 12)), u64::from(le32(tail, p + 16)));
        end <= tail_len && (size == ONES32 || off == ONES32 || size + off <= abs)
    });
    let Some(p) = found else {
        if src.sig_at(0) == Some(SIG_LOCAL) {
            rep.global(
                Code::ZipTruncated,
                "the file starts like a ZIP archive but has no end of central directory record: it is cut short (or has more than 64 KiB appended)",
            );
        } else {
            rep.global(
                Code::ZipNotZip,
                "no end of central directory record: this is not a ZIP archive",
            );
        }
        return Err(Stop);
    };
    let cl = le16(tail, p + 20) as usize;
    if cl > 0 {
        rep.global(
            Code::ZipComment,
            format!("the archive has a {cl}-byte comment"),
        );
    }
    let trailing = tail_len - (p + EOCD_LEN + cl);
    if trailing > 0 {
        rep.global(
            Code::ZipTrailingBytes,
            format!("{trailing} bytes follow the end of central directory record"),
        );
    }
    Ok(p)
}

/// The fields of the end record.
#[derive(Clone, Copy)]
struct EndRecord {
    n_disk: u16,
    n_total: u16,
    size32: u32,
    off32: u32,
    /// Whether a field holds the ZIP64 marker (all ones).
    saturated: bool,
}

/// The end record `e`, its disk fields and counts checked.
fn check_eocd(e: &[u8], rep: &mut Report) -> EndRecord {
    let (disk, cd_disk, n_disk, n_total) = (le16(e, 4), le16(e, 6), le16(e, 8), le16(e, 10));
    let (size32, off32) = (le32(e, 12), le32(e, 16));
    if disk != 0 || cd_disk != 0 {
        rep.global(Code::ZipEndRecord, format!("the end record names disk {disk} and central directory disk {cd_disk}; both must be 0"));
    }
    if n_disk != n_total {
        rep.global(
            Code::ZipEndRecord,
            format!("the end record counts {n_disk} entries on this disk but {n_total} in total"),
        );
    }
    let saturated = u64::from(n_total) == ONES16
        || u64::from(n_disk) == ONES16
        || u64::from(size32) == ONES32
        || u64::from(off32) == ONES32;
    EndRecord {
        n_disk,
        n_total,
        size32,
        off32,
        saturated,
    }
}

/// A ZIP64 locator right before the end record, with its offset. Outside ZIP64 archives its
/// signature can only be there by accident, so a locator is recognized there only with its
/// "1 disk" field.
fn find_locator<R: Read + Seek>(
    src: &mut Src<'_, R>,
    tail: &[u8],
    tail_start: u64,
    eocd_pos: u64,
    saturated: bool,
    rep: &mut Report,
) -> Result<Option<(u64, [u8; LOCATOR_LEN])>, Stop> {
    if eocd_pos < LOCATOR_LEN as u64 {
        return Ok(None);
    }
    let at = eocd_pos - LOCATOR_LEN as u64;
    let mut l = [0u8; LOCATOR_LEN];
    if at >= tail_start {
        let o = (at - tail_start) as usize;
        l.copy_from_slice(&tail[o..o + LOCATOR_LEN]);
    } else {
        src.read(at, &mut l, rep, "ZIP64 end of central directory locator")?;
    }
    Ok((le32(&l, 0) == SIG_LOCATOR && (saturated || le32(&l, 16) == 1)).then_some((at, l)))
}

/// The locator `l` at `loc_at` checked; where the ZIP64 end record is.
fn check_locator(l: &[u8], loc_at: u64, rep: &mut Report) -> Result<u64, Stop> {
    let (l_disk, z_at, l_total) = (le32(l, 4), le64(l, 8), le32(l, 16));
    if l_disk != 0 || l_total != 1 {
        rep.global(
            Code::ZipZip64,
            format!("the ZIP64 locator names disk {l_disk} of {l_total}; expected disk 0 of 1"),
        );
    }
    let expected_z = loc_at.checked_sub(EOCD64_LEN as u64);
    if Some(z_at) != expected_z {
        rep.global(Code::ZipZip64, format!("the ZIP64 locator points to offset {z_at}, not to the ZIP64 end record right before it"));
    }
    if past(z_at, EOCD64_LEN as u64, loc_at) {
        rep.global(Code::ZipZip64, format!("the ZIP64 end record at offset {z_at} would overlap the locator or the end of the file"));
        return Err(Stop);
    }
    Ok(z_at)
}

/// The ZIP64 end record at `z_at`, checked: its count, central directory size and offset.
fn read_zip64_end<R: Read + Seek>(
    src: &mut Src<'_, R>,
    z_at: u64,
    rep: &mut Report,
) -> Result<(u64, u64, u64), Stop> {
    let mut z = [0u8; EOCD64_LEN];
    src.read(z_at, &mut z, rep, "ZIP64 end of central directory record")?;
    if le32(&z, 0) != SIG_EOCD64 {
        rep.global(
            Code::ZipZip64,
            format!("no ZIP64 end of central directory record at offset {z_at}"),
        );
        return Err(Stop);
    }
    let (rec_size, made_by, needed, z_disk, z_cd_disk) = (
        le64(&z, 4),
        le16(&z, 12),
        le16(&z, 14),
        le32(&z, 16),
        le32(&z, 20),
    );
    let (z_n_disk, count, cd_size, cd_offset) =
        (le64(&z, 24), le64(&z, 32), le64(&z, 40), le64(&z, 48));
    if rec_size != ZIP64_END_RECORD_SIZE {
        rep.global(
            Code::ZipZip64,
            format!("the ZIP64 end record says its size is {rec_size}, expected 44"),
        );
    }
    if made_by != ZIP64_MADE_BY || needed != VERSION_ZIP64 {
        rep.global(
            Code::ZipZip64,
            format!(
                "the ZIP64 end record has versions 0x{made_by:04x}/{needed}, expected 0x032d/45"
            ),
        );
    }
    if z_disk != 0 || z_cd_disk != 0 {
        rep.global(Code::ZipEndRecord, format!("the ZIP64 end record names disk {z_disk} and central directory disk {z_cd_disk}; both must be 0"));
    }
    if z_n_disk != count {
        rep.global(
            Code::ZipEndRecord,
            format!(
                "the ZIP64 end record counts {z_n_disk} entries on this disk but {count} in total"
            ),
        );
    }
    if !end_needs_zip64(count, cd_size, cd_offset) {
        rep.global(
            Code::ZipZip64,
            "ZIP64 end records are present although the counts, size and offset fit the end record",
        );
    }
    Ok((count, cd_size, cd_offset))
}
