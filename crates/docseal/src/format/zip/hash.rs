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
    let mut crc = Crc::new();
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

/// CRC-32 as `crc32fast` computes it. In the page's WebAssembly module (issue 15, the 1 MiB
/// budget) it is [`SmallCrc`], one 1 KiB table instead of crc32fast's 16 KiB of tables.
#[cfg(not(target_arch = "wasm32"))]
type Crc = crc32fast::Hasher;
#[cfg(target_arch = "wasm32")]
type Crc = SmallCrc;

/// CRC-32 (ISO-HDLC, the ZIP one), a byte at a time from a 256-entry table.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(super) struct SmallCrc(u32);

const SMALL_CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl SmallCrc {
    pub(super) fn new() -> Self {
        SmallCrc(!0)
    }
    pub(super) fn update(&mut self, data: &[u8]) {
        let mut c = self.0;
        for &b in data {
            c = SMALL_CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }
    pub(super) fn finalize(self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod small_crc_tests {
    use super::SmallCrc;

    /// Issue 15: the page's CRC-32 is crc32fast's, on the check value, on empty input, and on
    /// data of every length up to 1,100 bytes fed whole and in uneven pieces.
    #[test]
    fn issue15_small_crc_equals_crc32fast() {
        let mut c = SmallCrc::new();
        c.update(b"123456789");
        assert_eq!(c.finalize(), 0xCBF4_3926);
        assert_eq!(SmallCrc::new().finalize(), crc32fast::hash(b""));
        let data: Vec<u8> = (0..1100u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for n in 0..data.len() {
            let d = &data[..n];
            let mut whole = SmallCrc::new();
            whole.update(d);
            let mut parts = SmallCrc::new();
            for piece in d.chunks(1 + n % 7) {
                parts.update(piece);
            }
            assert_eq!(whole.finalize(), crc32fast::hash(d), "{n}");
            assert_eq!(parts.finalize(), crc32fast::hash(d), "{n}");
        }
    }
}
