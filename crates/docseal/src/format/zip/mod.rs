//! The canonical ZIP encoding of a bundle.
//!
//! The writer produces exactly the byte form of `docs/FORMAT.md` section 5; the strict reader
//! accepts nothing else. See `docs/VERIFY.md` for the codes it reports.
//!
//! Both sides share the header rendering functions ([`render_local`] and friends), and the
//! reader's last check re-renders every header from the values it parsed and compares them with
//! the bytes of the file, so that nothing the writer would not write can slip through unnoticed.

#[cfg(any(test, feature = "test-support"))]
pub mod assemble;
mod central;
mod end;
mod hash;
mod local;
mod read;
mod render;
mod report;
#[cfg(test)]
mod tests;
mod write;

pub use hash::hash_entry;
pub use read::{read_strict, Entry};
pub use render::{end_needs_zip64, entry_needs_zip64, render_central, render_end, render_local};
pub use report::{findings_not_listed, MAX_FINDINGS_PER_CODE};
pub use write::ZipWriter;

use crate::format::path;

pub(crate) const SIG_LOCAL: u32 = 0x0403_4b50;
pub(crate) const SIG_CENTRAL: u32 = 0x0201_4b50;
pub(crate) const SIG_EOCD: u32 = 0x0605_4b50;
pub(crate) const SIG_EOCD64: u32 = 0x0606_4b50;
pub(crate) const SIG_LOCATOR: u32 = 0x0706_4b50;

pub(crate) const VERSION: u16 = 20;
pub(crate) const VERSION_ZIP64: u16 = 45;
pub(crate) const MADE_BY_UNIX: u16 = 0x0300;
pub(crate) const FLAGS: u16 = 0x0800;
pub(crate) const FLAG_ENCRYPTED: u16 = 0x0001;
pub(crate) const FLAG_DATA_DESCRIPTOR: u16 = 0x0008;
pub(crate) const FLAG_STRONG_ENCRYPTION: u16 = 0x0040;
pub(crate) const DOS_TIME: u16 = 0x0000;
pub(crate) const DOS_DATE: u16 = 0x0021;
pub(crate) const EXTERNAL_ATTRS: u32 = 0x81A4_0000;
pub(crate) const EXTRA_ZIP64: u16 = 0x0001;
pub(crate) const EXTRA_UNICODE_PATH: u16 = 0x7075;
pub(crate) const ZIP64_END_RECORD_SIZE: u64 = 44;
pub(crate) const ZIP64_MADE_BY: u16 = MADE_BY_UNIX | VERSION_ZIP64;

pub(crate) const ONES32: u64 = 0xFFFF_FFFF;
pub(crate) const ONES16: u64 = 0xFFFF;

pub(crate) const LOCAL_LEN: usize = 30;
pub(crate) const CENTRAL_LEN: usize = 46;
pub(crate) const EOCD_LEN: usize = 22;
pub(crate) const EOCD64_LEN: usize = 56;
pub(crate) const LOCATOR_LEN: usize = 20;
/// The end records at their largest: ZIP64 end record, locator, end record.
pub(crate) const END_RECORDS_MAX: usize = EOCD64_LEN + LOCATOR_LEN + EOCD_LEN;
/// The furthest an end of central directory record can be from the end of the file.
pub(crate) const EOCD_SEARCH: u64 = EOCD_LEN as u64 + 0xFFFF;

/// Size of the streaming buffer.
pub(crate) const BUF_SIZE: usize = 1 << 20;

/// Largest central directory record a canonical archive can hold (name at most 1024 bytes,
/// ZIP64 field of at most 28 bytes).
pub const MAX_CENTRAL_RECORD: u64 = (CENTRAL_LEN + path::MAX_PATH_BYTES + 28) as u64;

/// Resource limits for reading a bundle. Checked before anything is allocated or read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest number of entries (default 10,000).
    pub max_entries: u64,
    /// Largest single entry (default 64 GiB).
    pub max_file_size: u64,
    /// Largest sum of all entries (default 64 GiB).
    pub max_total_size: u64,
}

impl Limits {
    /// Limits of `max_entries` entries, `max_file_size` bytes per file and `max_total_size`
    /// bytes in all.
    pub fn new(max_entries: u64, max_file_size: u64, max_total_size: u64) -> Limits {
        Limits {
            max_entries,
            max_file_size,
            max_total_size,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_file_size: 64 << 30,
            max_total_size: 64 << 30,
        }
    }
}

/// Size, CRC-32 and SHA-256 of an entry's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryDigest {
    /// Size in bytes.
    pub size: u64,
    /// CRC-32 (IEEE).
    pub crc32: u32,
    /// SHA-256.
    pub sha256: [u8; 32],
}
