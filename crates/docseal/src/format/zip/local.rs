//! Local file headers, walked in central directory order and compared with their records.

use super::central::*;
use super::render::*;
use super::report::*;
use super::*;
use crate::format::finding::Code;
use std::io::{Read, Seek};

/// Read and check the local header of entry `i` at `off` into `header`; return where the
/// entry's data starts. `Ok(None)` when it cannot be read (reported); `Err` only for I/O errors.
// Longer than 80 lines: one check per local-header field in the order of the header (APPNOTE
// 4.3.7), each under its own code; the checks share the parsed header, its central record and
// the extra-field values, which split functions would pass around by the dozen.
pub(super) fn walk_local<R: Read + Seek>(
    src: &mut Src<'_, R>,
    rep: &mut Report,
    i: usize,
    c: &Central<'_>,
    off: u64,
    cd_start: u64,
    header: &mut Vec<u8>,
) -> Result<Option<u64>, Stop> {
    let s = c.shown();
    if past(off, LOCAL_LEN as u64, src.len) {
        rep.entry(
            i,
            s,
            Code::ZipTruncated,
            format!("the local header offset {off} is past the end of the file"),
        );
        return Ok(None);
    }
    if off >= cd_start {
        rep.entry(
            i,
            s,
            Code::ZipOverlap,
            format!("the local header offset {off} points into the central directory or past it"),
        );
        return Ok(None);
    }
    // `header` keeps its bytes from entry to entry: resizing zeroes only what it grows by, and
    // every byte kept is read over.
    header.resize(LOCAL_LEN, 0);
    src.read(off, header, rep, "local file header")?;
    if le32(header, 0) != SIG_LOCAL {
        rep.entry(
            i,
            s,
            Code::ZipHeaderMismatch,
            format!("there is no local file header at offset {off}"),
        );
        return Ok(None);
    }
    let n = le16(header, 26) as usize;
    let m = le16(header, 28) as usize;
    let var_at = off + LOCAL_LEN as u64;
    if past(var_at, (n + m) as u64, src.len) {
        rep.entry(
            i,
            s,
            Code::ZipTruncated,
            "the file ends inside the local header's name or extra field",
        );
        return Ok(None);
    }
    header.resize(LOCAL_LEN + n + m, 0);
    src.read(
        var_at,
        &mut header[LOCAL_LEN..],
        rep,
        "local file header name and extra field",
    )?;
    let header = header.as_slice();
    let (name, extra) = header[LOCAL_LEN..].split_at(n);

    let (needed, flags, method, time, date, crc) = (
        le16(header, 4),
        le16(header, 6),
        le16(header, 8),
        le16(header, 10),
        le16(header, 12),
        le32(header, 14),
    );
    let (csize32, usize32) = (le32(header, 18), le32(header, 22));
    let zip64 = check_extra(rep, i, s, extra, "local header");
    let v = resolve_zip64(
        rep,
        i,
        s,
        "local header",
        [("uncompressed size", usize32), ("compressed size", csize32)],
        zip64,
    );
    let [lsize, lcsize] = v;
    if zip64.is_some() && csize32 as u64 != ONES32 && usize32 as u64 == ONES32 {
        // APPNOTE: a local ZIP64 field holds both sizes; the writer never writes this.
        rep.entry(
            i,
            s,
            Code::ZipZip64,
            "the local header's ZIP64 field holds only one of the two sizes",
        );
    }

    let mut differ = Vec::new();
    if name != c.name {
        differ.push("name");
    }
    if needed != c.needed {
        differ.push("version needed");
    }
    if flags != c.flags {
        differ.push("flags");
    }
    if method != c.method {
        differ.push("method");
    }
    if time != c.time || date != c.date {
        differ.push("time/date");
    }
    if crc != c.crc {
        differ.push("CRC-32");
    }
    if csize32 != c.csize32 || usize32 != c.usize32 || lsize != c.size || lcsize != c.csize {
        differ.push("sizes");
    }
    // A non-canonical extra field that both headers share is reported by `check_extra`; this
    // is only about the two disagreeing.
    if extra != local_extra(c.size).as_slice() && extra != c.extra {
        differ.push("extra field");
    }
    if !differ.is_empty() {
        rep.entry(
            i,
            s,
            Code::ZipHeaderMismatch,
            format!(
                "the local header disagrees with the central directory on: {}",
                differ.join(", ")
            ),
        );
    }
    // Non-canonical values that appear only in the local header get their own code too.
    if flags != c.flags {
        flag_findings(rep, i, s, flags, "local header");
    }
    if method != c.method && method != 0 {
        rep.entry(
            i,
            s,
            Code::ZipMethod,
            format!("the local header gives compression method {method}"),
        );
    }
    if lsize != lcsize {
        rep.entry(i, s, Code::ZipSize, format!("the local header's compressed size {lcsize} differs from its uncompressed size {lsize}"));
    }

    let data_offset = var_at + (n + m) as u64;
    match data_offset.checked_add(c.csize) {
        Some(e) if e <= src.len => {
            if e > cd_start {
                rep.entry(i, s, Code::ZipOverlap, format!("the entry's data ({} bytes from offset {data_offset}) runs into the central directory", c.csize));
            }
        }
        _ => rep.entry(i, s, Code::ZipTruncated, format!("the entry's data ({} bytes from offset {data_offset}) runs past the end of the file", c.csize)),
    }
    Ok(Some(data_offset))
}
