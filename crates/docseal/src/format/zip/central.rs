//! Central directory records: parsed, each checked on its own (flags, method, sizes, extra
//! fields, ZIP64), and the fields a header mismatch is reported under.

use super::render::*;
use super::report::*;
use super::*;
use crate::format::finding::Code;
use crate::format::path;
use std::fmt;

/// A parsed central directory record, with what the later passes find out about its entry.
pub(super) struct Central<'a> {
    /// Offset of the record inside the central directory.
    pub(super) at: usize,
    /// Length of the whole record.
    pub(super) len: usize,
    pub(super) made_by: u16,
    pub(super) needed: u16,
    pub(super) flags: u16,
    pub(super) method: u16,
    pub(super) time: u16,
    pub(super) date: u16,
    pub(super) crc: u32,
    pub(super) csize32: u32,
    pub(super) usize32: u32,
    pub(super) disk: u16,
    pub(super) internal: u16,
    pub(super) external: u32,
    pub(super) offset32: u32,
    /// The name and extra field, in the central directory's bytes.
    pub(super) name: &'a [u8],
    pub(super) extra: &'a [u8],
    pub(super) comment_len: u16,
    /// Resolved values (from the ZIP64 field where the 32-bit field is all ones).
    pub(super) size: u64,
    pub(super) csize: u64,
    pub(super) offset: u64,
    /// The name, when it is a valid file name (it becomes the entry's name).
    pub(super) valid_name: Option<&'a str>,
    /// Where the entry's data starts, when its local header could be read.
    pub(super) data_offset: Option<u64>,
}

impl<'a> Central<'a> {
    /// The name as shown in findings, rendered only when a finding is made (names can be long
    /// and many, and most entries have no finding).
    pub(super) fn shown(&self) -> Shown<'a> {
        Shown(self.name)
    }
}

/// An entry name as findings show it: escaped for display; a name longer than any path allowed
/// is cut to that length, with its length said.
#[derive(Clone, Copy)]
pub(super) struct Shown<'a>(pub(super) &'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() <= path::MAX_PATH_BYTES {
            return f.write_str(&path::display_bytes(self.0));
        }
        write!(
            f,
            "{}... ({} bytes)",
            path::display_bytes(&self.0[..path::MAX_PATH_BYTES]),
            self.0.len()
        )
    }
}

impl From<Shown<'_>> for String {
    fn from(s: Shown<'_>) -> String {
        s.to_string()
    }
}

/// The records of an extra field, or `None` when it does not parse.
pub(super) fn extra_records(extra: &[u8]) -> Option<impl Iterator<Item = (u16, &[u8])>> {
    // Validate the whole field first (a malformed one is reported as such, before any of its
    // records), then walk it again without allocating.
    let mut p = 0;
    while p < extra.len() {
        if extra.len() - p < 4 {
            return None;
        }
        let n = le16(extra, p + 2) as usize;
        if extra.len() - p - 4 < n {
            return None;
        }
        p += 4 + n;
    }
    let mut p = 0;
    Some(std::iter::from_fn(move || {
        if p >= extra.len() {
            return None;
        }
        let id = le16(extra, p);
        let n = le16(extra, p + 2) as usize;
        let data = &extra[p + 4..p + 4 + n];
        p += 4 + n;
        Some((id, data))
    }))
}

/// Check an extra field (`where_` is "central directory" or "local header") and return the data
/// of its ZIP64 field, if any. Everything but one ZIP64 field is reported.
pub(super) fn check_extra<'a>(
    rep: &mut Report,
    i: usize,
    shown: Shown<'_>,
    extra: &'a [u8],
    where_: &str,
) -> Option<&'a [u8]> {
    let Some(records) = extra_records(extra) else {
        rep.entry(i, shown, Code::ZipExtraField, format!("the extra field in the {where_} is malformed ({} bytes that do not parse as records)", extra.len()));
        return None;
    };
    let mut zip64 = None;
    for (id, data) in records {
        match id {
            EXTRA_UNICODE_PATH => rep.entry(
                i,
                shown,
                Code::ZipUnicodePathExtra,
                format!("the {where_} has an Info-ZIP Unicode Path extra field (0x7075), which can make readers show another name"),
            ),
            EXTRA_ZIP64 if zip64.is_none() => zip64 = Some(data),
            EXTRA_ZIP64 => rep.entry(i, shown, Code::ZipZip64, format!("the {where_} has more than one ZIP64 extra field")),
            other => rep.entry(i, shown, Code::ZipExtraField, format!("the {where_} has an extra field of type 0x{other:04x}, which the writer never writes")),
        }
    }
    zip64
}

/// Resolve 32-bit fields that are all ones from a ZIP64 field, in order; report misuse.
/// Returns the resolved values.
pub(super) fn resolve_zip64<const N: usize>(
    rep: &mut Report,
    i: usize,
    shown: Shown<'_>,
    where_: &str,
    fields: [(&str, u32); N],
    zip64: Option<&[u8]>,
) -> [u64; N] {
    let data = zip64.unwrap_or(&[]);
    let mut p = 0;
    let mut out = [0u64; N];
    for ((what, v), out) in fields.into_iter().zip(&mut out) {
        if u64::from(v) != ONES32 {
            *out = u64::from(v);
            continue;
        }
        if zip64.is_none() {
            rep.entry(
                i,
                shown,
                Code::ZipZip64,
                format!(
                    "the {what} in the {where_} is 0xFFFFFFFF but there is no ZIP64 extra field"
                ),
            );
            *out = ONES32;
        } else if data.len() < p + 8 {
            rep.entry(
                i,
                shown,
                Code::ZipZip64,
                format!("the ZIP64 extra field in the {where_} has no value for the {what}"),
            );
            *out = ONES32;
        } else {
            let val = le64(data, p);
            p += 8;
            if val < ONES32 {
                rep.entry(i, shown, Code::ZipZip64, format!("the {what} in the {where_} ({val}) fits in 32 bits but is stored in a ZIP64 field"));
            }
            *out = val;
        }
    }
    if let Some(data) = zip64 {
        if p == 0 {
            rep.entry(
                i,
                shown,
                Code::ZipZip64,
                format!("the {where_} has a ZIP64 extra field although no size or offset needs it"),
            );
        } else if data.len() != p {
            rep.entry(
                i,
                shown,
                Code::ZipZip64,
                format!(
                    "the ZIP64 extra field in the {where_} is {} bytes long; {p} were expected",
                    data.len()
                ),
            );
        }
    }
    out
}

pub(super) fn flag_findings(
    rep: &mut Report,
    i: usize,
    shown: Shown<'_>,
    flags: u16,
    where_: &str,
) {
    if flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) != 0 {
        rep.entry(
            i,
            shown,
            Code::ZipEncrypted,
            format!("the {where_} marks the entry as encrypted (flags 0x{flags:04x})"),
        );
    }
    if flags & FLAG_DATA_DESCRIPTOR != 0 {
        rep.entry(i, shown, Code::ZipDataDescriptor, format!("the {where_} says sizes and CRC follow the data in a data descriptor (flags 0x{flags:04x})"));
    }
    let other = flags & !(FLAGS | FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR | FLAG_STRONG_ENCRYPTION);
    if other != 0 || flags & FLAGS == 0 {
        rep.entry(i, shown, Code::ZipFlags, format!("the {where_} has flags 0x{flags:04x}; the writer sets exactly 0x0800 (UTF-8 names)"));
    }
}

/// Parse the central directory record at `p` of `cd`; `None` when it does not fit.
pub(super) fn parse_central(cd: &[u8], p: usize) -> Option<Central<'_>> {
    if cd.len() - p < CENTRAL_LEN || le32(cd, p) != SIG_CENTRAL {
        return None;
    }
    let h = &cd[p..p + CENTRAL_LEN];
    let n = le16(h, 28) as usize;
    let m = le16(h, 30) as usize;
    let k = le16(h, 32) as usize;
    let len = CENTRAL_LEN + n + m + k;
    if cd.len() - p < len {
        return None;
    }
    let name = &cd[p + CENTRAL_LEN..p + CENTRAL_LEN + n];
    let extra = &cd[p + CENTRAL_LEN + n..p + CENTRAL_LEN + n + m];
    Some(Central {
        at: p,
        len,
        made_by: le16(h, 4),
        needed: le16(h, 6),
        flags: le16(h, 8),
        method: le16(h, 10),
        time: le16(h, 12),
        date: le16(h, 14),
        crc: le32(h, 16),
        csize32: le32(h, 20),
        usize32: le32(h, 24),
        comment_len: k as u16,
        disk: le16(h, 34),
        internal: le16(h, 36),
        external: le32(h, 38),
        offset32: le32(h, 42),
        name,
        extra,
        size: 0,
        csize: 0,
        offset: 0,
        valid_name: None,
        data_offset: None,
    })
}

/// Check one central directory record against the canonical values; fills in the resolved
/// sizes and offset.
// Longer than 80 lines: one check per central-record field in the order of the record (APPNOTE
// 4.3.12), each under its own code, all on the same parsed record.
pub(super) fn check_central(rep: &mut Report, i: usize, c: &mut Central<'_>) {
    let s = Shown(c.name);
    let zip64 = check_extra(rep, i, s, c.extra, "central directory");
    let v = resolve_zip64(
        rep,
        i,
        s,
        "central directory",
        [
            ("uncompressed size", c.usize32),
            ("compressed size", c.csize32),
            ("local header offset", c.offset32),
        ],
        zip64,
    );
    [c.size, c.csize, c.offset] = v;
    if c.csize != c.size {
        rep.entry(
            i,
            s,
            Code::ZipSize,
            format!(
                "compressed size {} differs from uncompressed size {} for a stored entry",
                c.csize, c.size
            ),
        );
    }
    let needed = version_needed(c.size, c.offset);
    if c.needed != needed {
        rep.entry(
            i,
            s,
            Code::ZipAttributes,
            format!(
                "version needed to extract is {}, expected {needed}",
                c.needed
            ),
        );
    }
    if c.made_by != MADE_BY_UNIX | needed {
        rep.entry(
            i,
            s,
            Code::ZipAttributes,
            format!(
                "version made by is 0x{:04x}, expected 0x{:04x}",
                c.made_by,
                MADE_BY_UNIX | needed
            ),
        );
    }
    flag_findings(rep, i, s, c.flags, "central directory");
    if c.method != 0 {
        rep.entry(
            i,
            s,
            Code::ZipMethod,
            format!(
                "compression method {} (only 0, stored, is allowed)",
                c.method
            ),
        );
    }
    if c.time != DOS_TIME || c.date != DOS_DATE {
        rep.entry(i, s, Code::ZipAttributes, format!("timestamp 0x{:04x}/0x{:04x} (time/date), expected 0x0000/0x0021 (1980-01-01 00:00)", c.time, c.date));
    }
    if c.comment_len != 0 {
        rep.entry(
            i,
            s,
            Code::ZipEntryComment,
            format!("the entry has a {}-byte comment", c.comment_len),
        );
    }
    if c.disk != 0 {
        rep.entry(
            i,
            s,
            Code::ZipAttributes,
            format!("disk number start is {}, expected 0", c.disk),
        );
    }
    if c.internal != 0 {
        rep.entry(
            i,
            s,
            Code::ZipAttributes,
            format!("internal attributes are 0x{:04x}, expected 0", c.internal),
        );
    }
    if c.external != EXTERNAL_ATTRS {
        let kind = (c.external >> 16) & 0o170000;
        let what = match kind {
            0o040000 => Some("a directory"),
            0o120000 => Some("a symbolic link"),
            0o020000 => Some("a character device"),
            0o060000 => Some("a block device"),
            0o010000 => Some("a FIFO"),
            0o140000 => Some("a socket"),
            _ if c.external & 0x10 != 0 => Some("a directory (MS-DOS attribute)"),
            _ => None,
        };
        match what {
            Some(w) => rep.entry(i, s, Code::ZipNotRegularFile, format!("external attributes 0x{:08x} mark the entry as {w}", c.external)),
            None => rep.entry(i, s, Code::ZipAttributes, format!("external attributes are 0x{:08x}, expected 0x81a40000 (regular file, mode 0644)", c.external)),
        }
    }
}

/// Which header field a byte offset falls in, for the final comparison.
pub(super) fn local_field(at: usize) -> (Code, &'static str) {
    match at {
        0..=3 => (Code::ZipHeaderMismatch, "signature"),
        4..=5 => (Code::ZipAttributes, "version needed"),
        6..=7 => (Code::ZipFlags, "flags"),
        8..=9 => (Code::ZipMethod, "method"),
        10..=13 => (Code::ZipAttributes, "time or date"),
        14..=17 => (Code::ZipHeaderMismatch, "CRC-32"),
        18..=25 => (Code::ZipSize, "sizes"),
        26..=27 => (Code::ZipHeaderMismatch, "name length"),
        28..=29 => (Code::ZipExtraField, "extra field length"),
        _ => (Code::ZipHeaderMismatch, "name or extra field"),
    }
}

pub(super) fn central_field(at: usize) -> (Code, &'static str) {
    match at {
        0..=3 => (Code::ZipEndRecord, "signature"),
        4..=7 => (Code::ZipAttributes, "versions"),
        8..=9 => (Code::ZipFlags, "flags"),
        10..=11 => (Code::ZipMethod, "method"),
        12..=15 => (Code::ZipAttributes, "time or date"),
        16..=19 => (Code::ZipHeaderMismatch, "CRC-32"),
        20..=27 => (Code::ZipSize, "sizes"),
        28..=29 => (Code::ZipHeaderMismatch, "name length"),
        30..=31 => (Code::ZipExtraField, "extra field length"),
        32..=33 => (Code::ZipEntryComment, "comment length"),
        34..=41 => (Code::ZipAttributes, "disk number or attributes"),
        42..=45 => (Code::ZipOverlap, "local header offset"),
        _ => (Code::ZipAttributes, "name or extra field"),
    }
}

pub(super) fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        // The usual case, and a far cheaper comparison than the search below.
        return None;
    }
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then_some(a.len().min(b.len())))
}
