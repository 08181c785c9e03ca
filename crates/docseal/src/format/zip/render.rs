//! Rendering: the one definition of the canonical bytes of every header and end record,
//! used by the writer and by the reader's final comparison.

use super::*;

// ---------------------------------------------------------------------------------------------
// Rendering: the one definition of the canonical bytes, used by the writer and the reader.
// ---------------------------------------------------------------------------------------------

pub(super) fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// `v` as a 32-bit field: the value, or all ones when it does not fit (ZIP64).
pub(super) fn field32(v: u64) -> u32 {
    v.min(ONES32) as u32
}
/// `v` as a 16-bit field: the value, or all ones when it does not fit (ZIP64).
pub(super) fn field16(v: u64) -> u16 {
    v.min(ONES16) as u16
}

/// Whether an entry of this size at this offset needs ZIP64 (version needed 45).
pub fn entry_needs_zip64(size: u64, offset: u64) -> bool {
    size >= ONES32 || offset >= ONES32
}

/// Whether the end of the archive needs the ZIP64 end record and locator.
pub fn end_needs_zip64(count: u64, cd_size: u64, cd_offset: u64) -> bool {
    count >= ONES16 || cd_size >= ONES32 || cd_offset >= ONES32
}

pub(super) fn version_needed(size: u64, offset: u64) -> u16 {
    if entry_needs_zip64(size, offset) {
        VERSION_ZIP64
    } else {
        VERSION
    }
}

/// A canonical extra field: empty, or one ZIP64 field of at most three values. Held inline, so
/// that rendering and checking headers allocates nothing.
pub(super) struct Extra {
    pub(super) bytes: [u8; 4 + 3 * 8],
    pub(super) len: usize,
}

impl Extra {
    /// The ZIP64 field holding `vals` (at most three), or an empty field when there are none.
    pub(super) fn zip64(vals: &[u64]) -> Extra {
        let mut bytes = [0u8; 4 + 3 * 8];
        if vals.is_empty() {
            return Extra { bytes, len: 0 };
        }
        bytes[0..2].copy_from_slice(&EXTRA_ZIP64.to_le_bytes());
        bytes[2..4].copy_from_slice(&((vals.len() * 8) as u16).to_le_bytes());
        for (k, v) in vals.iter().enumerate() {
            bytes[4 + 8 * k..12 + 8 * k].copy_from_slice(&v.to_le_bytes());
        }
        Extra {
            bytes,
            len: 4 + 8 * vals.len(),
        }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The extra field of a canonical local header: empty, or the ZIP64 field with the size twice.
pub(super) fn local_extra(size: u64) -> Extra {
    if size >= ONES32 {
        Extra::zip64(&[size, size])
    } else {
        Extra::zip64(&[])
    }
}

/// The extra field of a canonical central directory header.
pub(super) fn central_extra(size: u64, offset: u64) -> Extra {
    let mut vals = [0u64; 3];
    let mut n = 0;
    if size >= ONES32 {
        vals[..2].copy_from_slice(&[size, size]);
        n = 2;
    }
    if offset >= ONES32 {
        vals[n] = offset;
        n += 1;
    }
    Extra::zip64(&vals[..n])
}

/// Append the canonical local file header of an entry (`name` at most 65535 bytes).
pub fn render_local(out: &mut Vec<u8>, name: &[u8], size: u64, crc: u32, offset: u64) {
    let extra = local_extra(size);
    put32(out, SIG_LOCAL);
    put16(out, version_needed(size, offset));
    put16(out, FLAGS);
    put16(out, 0);
    put16(out, DOS_TIME);
    put16(out, DOS_DATE);
    put32(out, crc);
    put32(out, field32(size));
    put32(out, field32(size));
    put16(out, name.len() as u16);
    put16(out, extra.len as u16);
    out.extend_from_slice(name);
    out.extend_from_slice(extra.as_slice());
}

/// Append the canonical central directory header of an entry (`name` at most 65535 bytes).
pub fn render_central(out: &mut Vec<u8>, name: &[u8], size: u64, crc: u32, offset: u64) {
    let extra = central_extra(size, offset);
    let needed = version_needed(size, offset);
    put32(out, SIG_CENTRAL);
    put16(out, MADE_BY_UNIX | needed);
    put16(out, needed);
    put16(out, FLAGS);
    put16(out, 0);
    put16(out, DOS_TIME);
    put16(out, DOS_DATE);
    put32(out, crc);
    put32(out, field32(size));
    put32(out, field32(size));
    put16(out, name.len() as u16);
    put16(out, extra.len as u16);
    put16(out, 0); // comment length
    put16(out, 0); // disk number start
    put16(out, 0); // internal attributes
    put32(out, EXTERNAL_ATTRS);
    put32(out, field32(offset));
    out.extend_from_slice(name);
    out.extend_from_slice(extra.as_slice());
}

/// Append the canonical end records: the ZIP64 end record and locator when needed, then the end
/// of central directory record.
pub fn render_end(out: &mut Vec<u8>, count: u64, cd_size: u64, cd_offset: u64) {
    if end_needs_zip64(count, cd_size, cd_offset) {
        let z64_offset = cd_offset.saturating_add(cd_size);
        put32(out, SIG_EOCD64);
        put64(out, ZIP64_END_RECORD_SIZE);
        put16(out, ZIP64_MADE_BY);
        put16(out, VERSION_ZIP64);
        put32(out, 0); // this disk
        put32(out, 0); // disk with the central directory
        put64(out, count);
        put64(out, count);
        put64(out, cd_size);
        put64(out, cd_offset);
        put32(out, SIG_LOCATOR);
        put32(out, 0); // disk with the ZIP64 end record
        put64(out, z64_offset);
        put32(out, 1); // total disks
    }
    put32(out, SIG_EOCD);
    put16(out, 0);
    put16(out, 0);
    put16(out, field16(count));
    put16(out, field16(count));
    put32(out, field32(cd_size));
    put32(out, field32(cd_offset));
    put16(out, 0); // comment length
}
