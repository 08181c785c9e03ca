//! Hashing entry data: SHA-256 and CRC-32 of an entry read strictly within its bounds.

use super::read::*;
use super::*;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom, Write};

thread_local! {
    /// [`hash_entry`]'s buffer, kept for the thread's next call: verifying a bundle hashes each
    /// of its entries in turn, and a bundle archive holds thousands of bundles.
    static HASH_BUF: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Largest [`hash_entry`] buffer kept between calls; larger ones are freed after use.
pub(super) const HASH_BUF_KEEP: usize = 64 << 10;

/// Stream an entry's data through SHA-256 and CRC-32, copying it to `out` when given.
pub fn hash_entry<R: Read + Seek>(
    r: &mut R,
    e: &Entry,
    out: Option<&mut dyn Write>,
) -> io::Result<EntryDigest> {
    r.seek(SeekFrom::Start(e.data_offset))?;
    // Taken out of the cell, not borrowed: a call made from inside `out` finds it empty and
    // uses a buffer of its own.
    let mut buf = HASH_BUF.take();
    let need = e.size.min(BUF_SIZE as u64) as usize;
    if buf.len() < need {
        // Zeroes only what it grows by; the bytes kept are read over before they are used.
        buf.resize(need, 0);
    }
    let res = hash_with(r, e, out, &mut buf[..need]);
    if buf.len() <= HASH_BUF_KEEP {
        HASH_BUF.set(buf);
    }
    res
}

pub(super) fn hash_with<R: Read + Seek>(
    r: &mut R,
    e: &Entry,
    mut out: Option<&mut dyn Write>,
    buf: &mut [u8],
) -> io::Result<EntryDigest> {
    let mut crc = crc32fast::Hasher::new();
    let mut sha = Sha256::new();
    let mut remaining = e.size;
    while remaining > 0 {
        let n = remaining.min(buf.len() as u64) as usize;
        let chunk = &mut buf[..n];
        r.read_exact(chunk)?;
        crc.update(chunk);
        sha.update(&*chunk);
        if let Some(o) = out.as_deref_mut() {
            o.write_all(chunk)?;
        }
        remaining -= n as u64;
    }
    Ok(EntryDigest {
        size: e.size,
        crc32: crc.finalize(),
        sha256: sha.finalize().into(),
    })
}
