//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): the Merkle tree of a log stored as tiles
//! of 256 hashes, and its entries as entry bundles, so that a log of any size (tested to 10^9
//! entries) is served as static files and a proof needs O(log n) tile reads.
//!
//! ```text
//! tile/<L>/<N>[.p/<W>]       level L, tile N (N in 3-digit groups: x001/x234/067), W < 256
//! tile/entries/<N>[.p/<W>]   entries N*256 .. N*256+W, each as a big-endian u16 length + bytes
//! ```
//!
//! Hashing is RFC 9162 ([`crate::log`]). Tiles read back are hostile: their length must be
//! exactly their width times 32, entry bundles must hold exactly their width of entries, and
//! every read is bounded.

use crate::format::merkle::{self, CompactRange, Hash};
use std::collections::HashMap;

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Levels of the tree a tile spans.
pub const TILE_HEIGHT: u32 = 8;
/// Bytes of a full tile.
pub const FULL_TILE_BYTES: usize = 256 * 32;
/// The largest entry an entry bundle can hold (u16 length).
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;
/// Tiles a [`Tiles`] reader keeps in memory.
const CACHE_TILES: usize = 64;

/// A problem reading or checking tiles.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TileError {
    /// A tile or entry bundle that the tree size requires is not there.
    #[error("{0}: missing")]
    Missing(String),
    /// A tile or entry bundle is not what it must be.
    #[error("{path}: {problem}")]
    Malformed {
        /// Its path under the log.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The store could not be read.
    #[error("{path}: {problem}")]
    Read {
        /// Its path under the log.
        path: String,
        /// What failed.
        problem: String,
    },
    /// A proof or root asked of sizes or indices that do not fit.
    #[error("out of range: {0}")]
    OutOfRange(String),
}

/// Which tile: level (`None` for an entry bundle), index and width (1..=256; 256 is full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// The level, or `None` for the entry bundle.
    pub level: Option<u8>,
    /// The tile's index within its level.
    pub index: u64,
    /// The number of hashes (entries), 1 to 256.
    pub width: u16,
}

/// `N` in 3-digit path elements, all but the last prefixed with `x`.
pub fn index_path(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

impl TileId {
    /// The path, relative to the log's prefix.
    pub fn path(&self) -> String {
        let level = match self.level {
            Some(l) => l.to_string(),
            None => "entries".to_string(),
        };
        let mut p = format!("tile/{level}/{}", index_path(self.index));
        if u64::from(self.width) < TILE_WIDTH {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// Parse a path as [`TileId::path`] writes it (the canonical form only).
    pub fn parse(path: &str) -> Option<TileId> {
        let rest = path.strip_prefix("tile/")?;
        let (level, rest) = rest.split_once('/')?;
        let level = if level == "entries" {
            None
        } else {
            let l: u8 = level.parse().ok()?;
            if l > 63 || l.to_string() != level {
                return None;
            }
            Some(l)
        };
        let (idx, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let wv: u16 = w.parse().ok()?;
                if !(1..256).contains(&wv) || wv.to_string() != w {
                    return None;
                }
                (i, wv)
            }
            None => (rest, 256),
        };
        let mut index: u64 = 0;
        let parts: Vec<&str> = idx.split('/').collect();
        for (k, p) in parts.iter().enumerate() {
            let digits = if k + 1 < parts.len() {
                p.strip_prefix('x')?
            } else {
                p
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            index = index
                .checked_mul(1000)?
                .checked_add(digits.parse::<u64>().ok()?)?;
        }
        let id = TileId {
            level,
            index,
            width,
        };
        (id.path() == path).then_some(id)
    }

    /// The tile holding hash `hash_index` of `level` in the tree of `size` leaves (`level`
    /// `None`: the entry bundle holding entry `hash_index`); `None` if no such hash.
    pub fn holding(level: Option<u8>, hash_index: u64, size: u64) -> Option<TileId> {
        let l = u32::from(level.unwrap_or(0));
        let count = if l * TILE_HEIGHT >= 64 {
            0
        } else {
            size >> (l * TILE_HEIGHT)
        };
        if hash_index >= count {
            return None;
        }
        let index = hash_index / TILE_WIDTH;
        let width = if (index + 1) * TILE_WIDTH <= count {
            256
        } else {
            (count % TILE_WIDTH) as u16
        };
        Some(TileId {
            level,
            index,
            width,
        })
    }
}

/// The hashes of a tile's bytes (exactly `width` * 32 bytes).
pub fn parse_tile(id: &TileId, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    if bytes.len() != usize::from(id.width) * 32 {
        return Err(TileError::Malformed {
            path: id.path(),
            problem: format!("{} bytes, not {}", bytes.len(), usize::from(id.width) * 32),
        });
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// The entries of an entry bundle's bytes: exactly `width` entries, each at most `max_entry`.
pub fn parse_entry_bundle(
    id: &TileId,
    bytes: &[u8],
    max_entry: usize,
) -> Result<Vec<Vec<u8>>, TileError> {
    let bad = |p: &str| TileError::Malformed {
        path: id.path(),
        problem: p.to_string(),
    };
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if out.len() == usize::from(id.width) {
            return Err(bad("more entries than its width"));
        }
        let [a, b, tail @ ..] = rest else {
            return Err(bad("truncated length"));
        };
        let n = usize::from(u16::from_be_bytes([*a, *b]));
        if n > max_entry {
            return Err(bad("entry longer than allowed"));
        }
        if tail.len() < n {
            return Err(bad("truncated entry"));
        }
        out.push(tail[..n].to_vec());
        rest = &tail[n..];
    }
    if out.len() != usize::from(id.width) {
        return Err(bad("fewer entries than its width"));
    }
    Ok(out)
}

/// The bytes of an entry bundle.
pub fn entry_bundle_bytes<E: AsRef<[u8]>>(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let e = e.as_ref();
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// Files to write: (path under the log's prefix, bytes).
pub type TileFiles = Vec<(String, Vec<u8>)>;

/// Reads tile files by path (relative to the log's prefix): `Ok(None)` when absent. A reader
/// must refuse a file longer than `max_len` without reading it whole.
pub trait TileRead {
    /// Read one file.
    fn read(&mut self, path: &str, max_len: usize) -> Result<Option<Vec<u8>>, String>;
}

impl<F: FnMut(&str, usize) -> Result<Option<Vec<u8>>, String>> TileRead for F {
    fn read(&mut self, path: &str, max_len: usize) -> Result<Option<Vec<u8>>, String> {
        self(path, max_len)
    }
}

/// The tiles of a tree of a given size: hashes, roots and proofs read from them, with a small
/// cache. [`Tiles::reads`] counts the reads made.
pub struct Tiles<R> {
    reader: R,
    size: u64,
    cache: HashMap<TileId, Vec<Hash>>,
    reads: u64,
}

/// Bytes a file of this tile may have.
fn max_len(id: &TileId, max_entry: usize) -> usize {
    match id.level {
        Some(_) => usize::from(id.width) * 32,
        None => usize::from(id.width) * (2 + max_entry),
    }
}

impl<R: TileRead> Tiles<R> {
    /// The tree of `size` leaves stored by `reader`.
    pub fn new(reader: R, size: u64) -> Self {
        Tiles {
            reader,
            size,
            cache: HashMap::new(),
            reads: 0,
        }
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The number of tile reads so far.
    pub fn reads(&self) -> u64 {
        self.reads
    }

    /// The reader back.
    pub fn into_inner(self) -> R {
        self.reader
    }

    fn read_file(&mut self, id: &TileId, max_entry: usize) -> Result<Vec<u8>, TileError> {
        self.reads += 1;
        let path = id.path();
        match self.reader.read(&path, max_len(id, max_entry)) {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(TileError::Missing(path)),
            Err(problem) => Err(TileError::Read { path, problem }),
        }
    }

    /// The hashes of a tile (cached).
    pub fn tile(&mut self, id: TileId) -> Result<&[Hash], TileError> {
        if !self.cache.contains_key(&id) {
            let bytes = self.read_file(&id, 0)?;
            let hashes = parse_tile(&id, &bytes)?;
            if self.cache.len() >= CACHE_TILES {
                self.cache.clear();
            }
            self.cache.insert(id, hashes);
        }
        Ok(self.cache.get(&id).map(Vec::as_slice).unwrap_or(&[]))
    }

    /// The entries of an entry bundle of this tree (not cached).
    pub fn entries(&mut self, bundle: u64, max_entry: usize) -> Result<Vec<Vec<u8>>, TileError> {
        let id = TileId::holding(None, bundle.saturating_mul(TILE_WIDTH), self.size)
            .ok_or_else(|| TileError::OutOfRange(format!("entry bundle {bundle}")))?;
        let bytes = self.read_file(&id, max_entry)?;
        parse_entry_bundle(&id, &bytes, max_entry)
    }

    /// The root of the perfect subtree of 2^`height` leaves number `index` (leaves
    /// `index * 2^height ..`), which must lie inside the tree.
    pub fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, TileError> {
        let out = || TileError::OutOfRange(format!("subtree {height}/{index}"));
        if height >= 64 {
            return Err(out());
        }
        let end = index
            .checked_add(1)
            .and_then(|i| i.checked_mul(1u64 << height))
            .ok_or_else(out)?;
        if end > self.size {
            return Err(out());
        }
        let level = height / TILE_HEIGHT;
        let r = height % TILE_HEIGHT;
        let first = index << r;
        let id = TileId::holding(Some(level as u8), first, self.size).ok_or_else(out)?;
        let start = (first % TILE_WIDTH) as usize;
        let n = 1usize << r;
        let hashes = self.tile(id)?;
        let mut layer: Vec<Hash> = hashes.get(start..start + n).ok_or_else(out)?.to_vec();
        while layer.len() > 1 {
            layer = layer
                .chunks_exact(2)
                .map(|p| merkle::node_hash(&p[0], &p[1]))
                .collect();
        }
        layer.pop().ok_or_else(out)
    }

    /// MTH(D\[lo:hi\]) of a node of the tree (`lo` aligned as tree nodes are).
    pub fn range_root(&mut self, lo: u64, hi: u64) -> Result<Hash, TileError> {
        let out = || TileError::OutOfRange(format!("range {lo}..{hi}"));
        if lo >= hi || hi > self.size {
            return Err(out());
        }
        let n = hi - lo;
        if n.is_power_of_two() {
            let h = n.trailing_zeros();
            if !lo.is_multiple_of(n) {
                return Err(out());
            }
            return self.subtree(h, lo >> h);
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if !lo.is_multiple_of(k) {
            return Err(out());
        }
        let left = self.subtree(k.trailing_zeros(), lo / k)?;
        let right = self.range_root(lo + k, hi)?;
        Ok(merkle::node_hash(&left, &right))
    }

    /// The root of the first `size` leaves (at most the tree's size).
    pub fn root(&mut self, size: u64) -> Result<Hash, TileError> {
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        if size > self.size {
            return Err(TileError::OutOfRange(format!("root of {size}")));
        }
        // The right edge of a smaller tree: its perfect subtrees, largest first.
        let mut hashes = Vec::new();
        let mut lo = 0u64;
        for bit in (0..64).rev() {
            let k = 1u64 << bit;
            if size & k != 0 {
                hashes.push(self.subtree(bit, lo >> bit)?);
                lo += k;
            }
        }
        let mut it = hashes.into_iter().rev();
        let last = it.next().unwrap_or_else(merkle::empty_root);
        Ok(it.fold(last, |acc, h| merkle::node_hash(&h, &acc)))
    }

    /// The RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, TileError> {
        if size > self.size {
            return Err(TileError::OutOfRange(format!("tree size {size}")));
        }
        let ranges = merkle::inclusion_ranges(index, size)
            .ok_or_else(|| TileError::OutOfRange(format!("leaf {index} of {size}")))?;
        ranges.iter().map(|&(a, b)| self.range_root(a, b)).collect()
    }

    /// The RFC 9162 consistency proof from the tree of `old` leaves to that of `new`.
    pub fn consistency_proof(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, TileError> {
        if new > self.size {
            return Err(TileError::OutOfRange(format!("tree size {new}")));
        }
        let ranges = merkle::consistency_ranges(old, new)
            .ok_or_else(|| TileError::OutOfRange(format!("{old} to {new}")))?;
        ranges.iter().map(|&(a, b)| self.range_root(a, b)).collect()
    }
}

/// The files (path, bytes) that extend the tiles and entry bundles of the tree of `old_size`
/// leaves (read through `tiles`, whose size must be `old_size`) with `entries`: every full
/// tile completed and the new partial tiles, at every level; plus the new root. Memory is
/// proportional to the number of entries added.
pub fn append<R: TileRead, E: AsRef<[u8]>>(
    tiles: &mut Tiles<R>,
    entries: &[E],
    max_entry: usize,
) -> Result<(TileFiles, Hash), TileError> {
    let old_size = tiles.size();
    let new_size = old_size
        .checked_add(entries.len() as u64)
        .ok_or_else(|| TileError::OutOfRange("tree size".into()))?;
    let mut files = Vec::new();
    if entries.is_empty() {
        return Ok((files, tiles.root(old_size)?));
    }
    // Entry bundles.
    let first_bundle = old_size / TILE_WIDTH;
    let mut all: Vec<Vec<u8>> = if !old_size.is_multiple_of(TILE_WIDTH) {
        tiles.entries(first_bundle, max_entry)?
    } else {
        Vec::new()
    };
    for e in entries {
        if e.as_ref().len() > max_entry.min(MAX_ENTRY_BYTES) {
            return Err(TileError::OutOfRange("entry too long".into()));
        }
        all.push(e.as_ref().to_vec());
    }
    for (k, chunk) in all.chunks(TILE_WIDTH as usize).enumerate() {
        let id = TileId {
            level: None,
            index: first_bundle + k as u64,
            width: chunk.len() as u16,
        };
        files.push((id.path(), entry_bundle_bytes(chunk)));
    }
    drop(all);
    // Hash tiles, level by level: the new hashes of each level.
    let mut new_hashes: Vec<Hash> = entries
        .iter()
        .map(|e| merkle::leaf_hash(e.as_ref()))
        .collect();
    let mut level: u8 = 0;
    while !new_hashes.is_empty() {
        let shift = u32::from(level) * TILE_HEIGHT;
        let old_count = if shift >= 64 { 0 } else { old_size >> shift };
        let first_tile = old_count / TILE_WIDTH;
        let mut row: Vec<Hash> = if !old_count.is_multiple_of(TILE_WIDTH) {
            let id = TileId::holding(Some(level), old_count - 1, old_size)
                .ok_or_else(|| TileError::OutOfRange("tile".into()))?;
            tiles.tile(id)?.to_vec()
        } else {
            Vec::new()
        };
        row.extend_from_slice(&new_hashes);
        let mut up = Vec::new();
        for (k, chunk) in row.chunks(TILE_WIDTH as usize).enumerate() {
            let id = TileId {
                level: Some(level),
                index: first_tile + k as u64,
                width: chunk.len() as u16,
            };
            files.push((id.path(), chunk.concat()));
            if chunk.len() == TILE_WIDTH as usize {
                up.push(merkle::root(chunk));
            }
        }
        new_hashes = up;
        level += 1;
    }
    // The new root, from the tiles just made and the old ones.
    let made: HashMap<&str, &[u8]> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let mut reader = OverlayRead {
        made: &made,
        under: &mut tiles.reader,
    };
    let root = Tiles::new(&mut reader, new_size).root(new_size)?;
    Ok((files, root))
}

struct OverlayRead<'a, R> {
    made: &'a HashMap<&'a str, &'a [u8]>,
    under: &'a mut R,
}

impl<R: TileRead> TileRead for &mut OverlayRead<'_, R> {
    fn read(&mut self, path: &str, max_len: usize) -> Result<Option<Vec<u8>>, String> {
        match self.made.get(path) {
            Some(b) => Ok(Some(b.to_vec())),
            None => self.under.read(path, max_len),
        }
    }
}

/// Checks stored tiles and entry bundles against entries given one by one, in order, in
/// bounded memory (one entry bundle and one row of up to 256 hashes per level).
pub struct Checker {
    max_entry: usize,
    count: u64,
    bundle: Vec<Vec<u8>>,
    /// Per level: the hashes of its current tile computed from below.
    rows: Vec<Vec<Hash>>,
    range: CompactRange,
}

impl Checker {
    /// A checker for entries of at most `max_entry` bytes.
    pub fn new(max_entry: usize) -> Self {
        Checker {
            max_entry,
            count: 0,
            bundle: Vec::new(),
            rows: vec![Vec::new()],
            range: CompactRange::new(),
        }
    }

    /// The next entry; a full entry bundle and the tiles it completes are compared as soon as
    /// it is complete (`tiles` must be of the final tree size).
    pub fn push<R: TileRead>(
        &mut self,
        tiles: &mut Tiles<R>,
        entry: &[u8],
    ) -> Result<(), TileError> {
        if self.count >= tiles.size() {
            return Err(TileError::OutOfRange(
                "more entries than the tree size".into(),
            ));
        }
        self.count += 1;
        let h = merkle::leaf_hash(entry);
        self.range.push(h);
        self.bundle.push(entry.to_vec());
        self.rows[0].push(h);
        if self.bundle.len() as u64 == TILE_WIDTH {
            self.flush_bundle(tiles)?;
            self.flush_row(tiles, 0)?;
        }
        Ok(())
    }

    fn flush_bundle<R: TileRead>(&mut self, tiles: &mut Tiles<R>) -> Result<(), TileError> {
        let index = (self.count - 1) / TILE_WIDTH;
        let got = tiles.entries(index, self.max_entry)?;
        if got != self.bundle {
            let id = TileId::holding(None, self.count - 1, tiles.size())
                .ok_or_else(|| TileError::OutOfRange("entry bundle".into()))?;
            return Err(TileError::Malformed {
                path: id.path(),
                problem: "entries differ from the log's".into(),
            });
        }
        self.bundle.clear();
        Ok(())
    }

    fn flush_row<R: TileRead>(
        &mut self,
        tiles: &mut Tiles<R>,
        level: usize,
    ) -> Result<(), TileError> {
        let hashes = std::mem::take(&mut self.rows[level]);
        let shift = level as u32 * TILE_HEIGHT;
        let last = (self.count >> shift) - 1;
        let id = TileId::holding(Some(level as u8), last, tiles.size())
            .ok_or_else(|| TileError::OutOfRange("tile".into()))?;
        let want_full = hashes.len() as u64 == TILE_WIDTH;
        // A full row compares to the full tile (also when the tree's tile there is full).
        let id = if want_full {
            TileId { width: 256, ..id }
        } else {
            id
        };
        compare(tiles, id, &hashes)?;
        if want_full {
            if self.rows.len() <= level + 1 {
                self.rows.push(Vec::new());
            }
            self.rows[level + 1].push(merkle::root(&hashes));
            if self.rows[level + 1].len() as u64 == TILE_WIDTH {
                self.flush_row(tiles, level + 1)?;
            }
        }
        Ok(())
    }

    /// After the last entry: compare the partial entry bundle and partial tiles; the root.
    pub fn finish<R: TileRead>(mut self, tiles: &mut Tiles<R>) -> Result<Hash, TileError> {
        if self.count != tiles.size() {
            return Err(TileError::OutOfRange(format!(
                "{} entries for a tree of {}",
                self.count,
                tiles.size()
            )));
        }
        if !self.bundle.is_empty() {
            self.flush_bundle(tiles)?;
        }
        for level in 0..self.rows.len() {
            if !self.rows[level].is_empty() {
                self.flush_row(tiles, level)?;
            }
        }
        Ok(self.range.root())
    }
}

/// Stream every entry of the tree from its entry bundles in order (`each(index, entry)`),
/// checking every stored hash tile against them, and return the root.
pub fn check_all<R: TileRead>(
    tiles: &mut Tiles<R>,
    max_entry: usize,
    each: &mut dyn FnMut(u64, &[u8]),
) -> Result<Hash, TileError> {
    let mut c = Checker::new(max_entry);
    let size = tiles.size();
    for b in 0..size.div_ceil(TILE_WIDTH) {
        let entries = tiles.entries(b, max_entry)?;
        for (k, e) in entries.iter().enumerate() {
            each(b * TILE_WIDTH + k as u64, e);
            c.push(tiles, e)?;
        }
    }
    c.finish(tiles)
}

fn compare<R: TileRead>(tiles: &mut Tiles<R>, id: TileId, want: &[Hash]) -> Result<(), TileError> {
    let got = tiles.tile(id)?;
    if got != want {
        return Err(TileError::Malformed {
            path: id.path(),
            problem: "hashes do not match the entries".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Mem(BTreeMap<String, Vec<u8>>);
    impl TileRead for &mut Mem {
        fn read(&mut self, path: &str, max_len: usize) -> Result<Option<Vec<u8>>, String> {
            match self.0.get(path) {
                Some(b) if b.len() > max_len => Err("too large".into()),
                Some(b) => Ok(Some(b.to_vec())),
                None => Ok(None),
            }
        }
    }

    fn entry(i: u64) -> Vec<u8> {
        format!("entry {i}").into_bytes()
    }

    /// A log built by appending batches of these sizes.
    fn build(batches: &[u64]) -> (Mem, u64) {
        let mut m = Mem::default();
        let mut size = 0;
        for &b in batches {
            let es: Vec<Vec<u8>> = (size..size + b).map(entry).collect();
            let (files, root) = {
                let mut t = Tiles::new(&mut m, size);
                append(&mut t, &es, 100).unwrap()
            };
            m.0.extend(files);
            size += b;
            let leaves: Vec<Hash> = (0..size).map(|i| merkle::leaf_hash(&entry(i))).collect();
            assert_eq!(root, merkle::root(&leaves), "root after {size}");
        }
        (m, size)
    }

    #[test]
    fn issue17_tile_paths_as_spec() {
        assert_eq!(index_path(1234067), "x001/x234/067");
        assert_eq!(index_path(0), "000");
        let id = TileId {
            level: Some(0),
            index: 1234067,
            width: 256,
        };
        assert_eq!(id.path(), "tile/0/x001/x234/067");
        let p = TileId {
            level: None,
            index: 5,
            width: 17,
        };
        assert_eq!(p.path(), "tile/entries/005.p/17");
        for s in [
            "tile/0/x001/x234/067",
            "tile/entries/005.p/17",
            "tile/3/000.p/1",
        ] {
            assert_eq!(TileId::parse(s).unwrap().path(), s);
        }
        for s in [
            "tile/0/1234",
            "tile/0/x001/x234/67",
            "tile/0/001/234",
            "tile/00/000",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/0/000.p/01",
            "tile/64/000",
            "tile/0/x000/001",
            "tile/x/000",
        ] {
            assert_eq!(TileId::parse(s), None, "{s}");
        }
        // The spec's example: size 70,000.
        let size = 70_000;
        assert_eq!(
            TileId::holding(Some(0), size - 1, size).unwrap().path(),
            "tile/0/273.p/112"
        );
        assert_eq!(
            TileId::holding(Some(1), 272, size).unwrap().path(),
            "tile/1/001.p/17"
        );
        assert_eq!(
            TileId::holding(Some(2), 0, size).unwrap().path(),
            "tile/2/000.p/1"
        );
        assert_eq!(
            TileId::holding(Some(1), 0, size).unwrap().path(),
            "tile/1/000"
        );
        assert_eq!(TileId::holding(Some(3), 0, size), None);
    }

    #[test]
    fn issue17_tiles_match_merkle_proofs() {
        for batches in [
            &[1u64][..],
            &[3, 250, 3, 1],
            &[256],
            &[255, 1, 256, 1],
            &[700, 66_000],
        ] {
            let (mut m, size) = build(batches);
            let leaves: Vec<Hash> = (0..size).map(|i| merkle::leaf_hash(&entry(i))).collect();
            let mut t = Tiles::new(&mut m, size);
            let picks = [0, 1, size / 3, size / 2, size - 1];
            for &n in &[1, size / 2 + 1, size - 1, size] {
                if n == 0 {
                    continue;
                }
                assert_eq!(t.root(n).unwrap(), merkle::root(&leaves[..n as usize]));
                for &i in &picks {
                    if i < n {
                        assert_eq!(
                            t.inclusion_proof(i, n).unwrap(),
                            merkle::inclusion_proof(i as usize, &leaves[..n as usize]).unwrap()
                        );
                    }
                }
                for &o in &[1, n / 2, n] {
                    if o >= 1 && o <= n {
                        assert_eq!(
                            t.consistency_proof(o, n).unwrap(),
                            merkle::consistency_proof(o as usize, &leaves[..n as usize]).unwrap()
                        );
                    }
                }
            }
            let mut seen = 0;
            let root = check_all(&mut t, 100, &mut |i, e| {
                assert_eq!(e, entry(i));
                seen += 1;
            })
            .unwrap();
            assert_eq!(seen, size);
            assert_eq!(root, merkle::root(&leaves));
        }
    }

    #[test]
    fn issue17_tampered_tiles_caught() {
        let (m, size) = build(&[300, 70]);
        for path in [
            "tile/0/000",
            "tile/0/001.p/114",
            "tile/entries/001.p/114",
            "tile/1/000.p/1",
        ] {
            let mut bad = Mem(m.0.clone());
            let f = bad.0.get_mut(path).unwrap();
            let last = f.len() - 1;
            f[last] ^= 1;
            let mut t = Tiles::new(&mut bad, size);
            assert!(check_all(&mut t, 100, &mut |_, _| {}).is_err(), "{path}");
        }
        let mut gone = Mem(m.0.clone());
        gone.0.remove("tile/0/000");
        let mut t = Tiles::new(&mut gone, size);
        assert_eq!(
            t.inclusion_proof(3, size),
            Err(TileError::Missing("tile/0/000".into()))
        );
        // A tile with the wrong length is refused, not read out of bounds.
        let mut short = Mem(m.0.clone());
        short.0.get_mut("tile/0/000").unwrap().pop();
        let mut t = Tiles::new(&mut short, size);
        assert!(matches!(
            t.inclusion_proof(3, size),
            Err(TileError::Malformed { .. })
        ));
    }

    /// Synthetic tiles of a tree of any size: every hash is derived from its position, so a
    /// proof in a tree of 10^9 leaves is made without building it; counts reads.
    struct Synthetic;
    impl TileRead for Synthetic {
        fn read(&mut self, path: &str, _max: usize) -> Result<Option<Vec<u8>>, String> {
            let id = TileId::parse(path).ok_or("bad path")?;
            let mut out = Vec::new();
            for i in 0..u64::from(id.width) {
                let mut h = [0u8; 32];
                h[..8].copy_from_slice(&(id.index * 256 + i).to_be_bytes());
                h[8] = id.level.unwrap_or(0);
                out.extend_from_slice(&h);
            }
            Ok(Some(out))
        }
    }

    #[test]
    fn issue17_proofs_at_a_billion_entries_need_log_reads() {
        let size = 1_000_000_007u64;
        let mut t = Tiles::new(Synthetic, size);
        let mut worst = 0;
        for &i in &[0, 1, 255, 256, 123_456_789, size / 2, size - 2, size - 1] {
            let before = t.reads();
            t.cache.clear();
            let p = t.inclusion_proof(i, size).unwrap();
            assert_eq!(p.len(), merkle::inclusion_ranges(i, size).unwrap().len());
            worst = worst.max(t.reads() - before);
        }
        // 4 levels of tiles (256^4 > 10^9): at most two tiles per level plus the right edge.
        assert!(worst <= 10, "{worst} reads");
        t.cache.clear();
        let before = t.reads();
        t.consistency_proof(999_999_999, size).unwrap();
        assert!(t.reads() - before <= 10);
    }

    #[test]
    fn issue17_hostile_entry_bundles_refused() {
        let id = TileId {
            level: None,
            index: 0,
            width: 2,
        };
        assert!(parse_entry_bundle(&id, &[0, 1, b'a', 0, 1, b'b'], 10).is_ok());
        for bad in [
            &[0u8, 1, b'a'][..],
            &[0, 1, b'a', 0, 2, b'b'],
            &[0, 1, b'a', 0],
            &[0, 1, b'a', 0, 1, b'b', 0, 0],
            &[0, 20, b'a'],
        ] {
            assert!(parse_entry_bundle(&id, bad, 10).is_err(), "{bad:?}");
        }
    }
}
