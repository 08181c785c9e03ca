//! Many 64-bit keys in bounded memory, for audits of logs of any size: keys are buffered,
//! sorted runs of [`RUN_KEYS`] spill to one anonymous temporary file, and the runs are merged into
//! one sorted stream at the end. Used to find duplicate names and contents, and files no
//! entry lists, in a log of 10^7 entries and more without holding its keys in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

/// Keys held in memory before a run is written (4 MiB).
pub const RUN_KEYS: usize = 1 << 19;

/// Bytes of read buffer for all the runs of one merge together (each run gets its share, at
/// least [`MIN_RUN_BUFFER`]): a log of 10^9 entries has about 1,900 runs a sorter.
const MERGE_BUFFER: usize = 2 << 20;
const MIN_RUN_BUFFER: usize = 1 << 10;

/// Collects keys; [`KeySorter::sorted`] streams them in order.
pub struct KeySorter {
    buf: Vec<u64>,
    /// Every run spilled, one after another in one anonymous temporary file (one descriptor
    /// however many runs: an audit holds several sorters at once).
    file: Option<std::fs::File>,
    /// Each run: its first key's place in the file, and how many keys.
    runs: Vec<(u64, u64)>,
    run_keys: usize,
}

impl Default for KeySorter {
    fn default() -> Self {
        Self::with_run(RUN_KEYS)
    }
}

impl KeySorter {
    /// With runs of `run_keys` keys (tests use small runs).
    pub fn with_run(run_keys: usize) -> Self {
        KeySorter {
            buf: Vec::new(),
            file: None,
            runs: Vec::new(),
            run_keys: run_keys.max(1),
        }
    }

    /// One more key.
    pub fn push(&mut self, key: u64) -> std::io::Result<()> {
        self.buf.push(key);
        if self.buf.len() >= self.run_keys {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        self.buf.sort_unstable();
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile()?);
        }
        let start = self.runs.last().map_or(0, |(s, n)| s + n);
        if let Some(f) = &mut self.file {
            f.seek(SeekFrom::Start(start * 8))?;
            let mut w = BufWriter::new(&*f);
            for k in &self.buf {
                w.write_all(&k.to_le_bytes())?;
            }
            w.flush()?;
        }
        self.runs.push((start, self.buf.len() as u64));
        self.buf.clear();
        self.buf.shrink_to_fit();
        Ok(())
    }

    /// Every key pushed, in ascending order (duplicates included).
    pub fn sorted(mut self) -> std::io::Result<Sorted> {
        if !self.runs.is_empty() && !self.buf.is_empty() {
            self.spill()?;
        }
        self.buf.sort_unstable();
        let share = (MERGE_BUFFER / self.runs.len().max(1)).max(MIN_RUN_BUFFER) / 8;
        let mut readers: Vec<Run> = self
            .runs
            .iter()
            .map(|&(at, n)| Run {
                at,
                end: at + n,
                keys: Vec::with_capacity(share),
                next: 0,
                share,
            })
            .collect();
        let mut heap = BinaryHeap::new();
        if let Some(f) = &self.file {
            for (i, r) in readers.iter_mut().enumerate() {
                if let Some(k) = r.next_key(f)? {
                    heap.push(Reverse((k, i)));
                }
            }
        }
        Ok(Sorted {
            mem: std::mem::take(&mut self.buf).into_iter(),
            file: self.file,
            readers,
            heap,
        })
    }

    /// The keys pushed more than once, ascending (at most `cap`).
    pub fn duplicates(self, cap: usize) -> std::io::Result<Vec<u64>> {
        let mut out = Vec::new();
        let mut prev = None;
        for k in self.sorted()? {
            let k = k?;
            if prev == Some(k) && out.last() != Some(&k) {
                out.push(k);
                if out.len() >= cap {
                    break;
                }
            }
            prev = Some(k);
        }
        Ok(out)
    }
}

/// One spilled run being merged: keys `at..end` of the file, read `share` at a time.
struct Run {
    at: u64,
    end: u64,
    keys: Vec<u64>,
    next: usize,
    share: usize,
}

impl Run {
    fn next_key(&mut self, f: &std::fs::File) -> std::io::Result<Option<u64>> {
        if self.next == self.keys.len() {
            let n = (self.end - self.at).min(self.share as u64) as usize;
            if n == 0 {
                return Ok(None);
            }
            let mut bytes = vec![0u8; n * 8];
            f.read_exact_at(&mut bytes, self.at * 8)?;
            self.keys.clear();
            self.keys.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
            );
            self.at += n as u64;
            self.next = 0;
        }
        let k = self.keys[self.next];
        self.next += 1;
        Ok(Some(k))
    }
}

/// The keys of a [`KeySorter`], ascending.
pub struct Sorted {
    mem: std::vec::IntoIter<u64>,
    file: Option<std::fs::File>,
    readers: Vec<Run>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
}

impl Iterator for Sorted {
    type Item = std::io::Result<u64>;
    fn next(&mut self) -> Option<Self::Item> {
        let Some(f) = self.file.as_ref().filter(|_| !self.readers.is_empty()) else {
            return self.mem.next().map(Ok);
        };
        let Reverse((k, i)) = self.heap.pop()?;
        match self.readers[i].next_key(f) {
            Ok(Some(n)) => self.heap.push(Reverse((n, i))),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(k))
    }
}

/// The keys of `have` that are not in `known` (both streamed, ascending), at most `cap`.
pub fn missing_from(have: KeySorter, known: KeySorter, cap: usize) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    let mut known = known.sorted()?.peekable();
    for k in have.sorted()? {
        let k = k?;
        loop {
            match known.peek() {
                Some(Ok(x)) if *x < k => {
                    known.next();
                }
                Some(Err(_)) => {
                    if let Some(Err(e)) = known.next() {
                        return Err(e);
                    }
                }
                _ => break,
            }
        }
        let found = matches!(known.peek(), Some(Ok(x)) if *x == k);
        if !found && out.last() != Some(&k) {
            out.push(k);
            if out.len() >= cap {
                break;
            }
        }
    }
    Ok(out)
}

/// Records of `N` bytes appended in order and read back by index, in memory up to
/// [`RECORDS_IN_MEMORY`] bytes, then in one anonymous temporary file: what an audit keeps for
/// each checkpoint (an archive log may hold one checkpoint an entry, 10^9 and more), without
/// memory growing with their number.
pub struct Records<const N: usize> {
    mem: Vec<u8>,
    file: Option<std::fs::File>,
    /// Records in the file (then `mem` holds those appended after them, not yet written).
    in_file: u64,
}

/// Bytes of records kept in memory before they go to a temporary file (256 KiB).
pub const RECORDS_IN_MEMORY: usize = 256 << 10;

impl<const N: usize> Default for Records<N> {
    fn default() -> Self {
        Records {
            mem: Vec::new(),
            file: None,
            in_file: 0,
        }
    }
}

impl<const N: usize> Records<N> {
    /// How many records.
    pub fn len(&self) -> u64 {
        self.in_file + (self.mem.len() / N) as u64
    }

    /// No record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One more record, after the others.
    pub fn push(&mut self, r: &[u8; N]) -> std::io::Result<()> {
        self.mem.extend_from_slice(r);
        if self.mem.len() >= RECORDS_IN_MEMORY {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(tempfile::tempfile()?);
        }
        if let Some(f) = &self.file {
            f.write_all_at(&self.mem, self.in_file * N as u64)?;
        }
        self.in_file += (self.mem.len() / N) as u64;
        self.mem.clear();
        Ok(())
    }

    /// Record `i` (`None` past the end).
    pub fn get(&self, i: u64) -> std::io::Result<Option<[u8; N]>> {
        let mut r = [0u8; N];
        if i < self.in_file {
            if let Some(f) = &self.file {
                f.read_exact_at(&mut r, i * N as u64)?;
                return Ok(Some(r));
            }
        }
        let at = (i - self.in_file) as usize * N;
        match self.mem.get(at..at + N) {
            Some(b) => {
                r.copy_from_slice(b);
                Ok(Some(r))
            }
            None => Ok(None),
        }
    }

    /// The last record.
    pub fn last(&self) -> std::io::Result<Option<[u8; N]>> {
        match self.len() {
            0 => Ok(None),
            n => self.get(n - 1),
        }
    }

    /// The first index whose record fails `pred` (records ascending by what `pred` looks at:
    /// `pred` holds for a prefix), by binary search.
    pub fn partition_point(&self, mut pred: impl FnMut(&[u8; N]) -> bool) -> std::io::Result<u64> {
        let (mut lo, mut hi) = (0u64, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid)? {
                Some(r) if pred(&r) => lo = mid + 1,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }

    /// Every record, in order (read a block at a time).
    pub fn iter(&self) -> RecordIter<'_, N> {
        RecordIter {
            of: self,
            next: 0,
            block: Vec::new(),
            block_at: 0,
        }
    }
}

/// The records of [`Records::iter`].
pub struct RecordIter<'a, const N: usize> {
    of: &'a Records<N>,
    next: u64,
    block: Vec<u8>,
    block_at: u64,
}

impl<const N: usize> Iterator for RecordIter<'_, N> {
    type Item = std::io::Result<[u8; N]>;
    fn next(&mut self) -> Option<Self::Item> {
        let i = self.next;
        if i >= self.of.len() {
            return None;
        }
        self.next += 1;
        if i >= self.of.in_file {
            return self.of.get(i).transpose();
        }
        let per = (64 << 10) / N.max(1);
        if i < self.block_at || i >= self.block_at + (self.block.len() / N) as u64 {
            let n = (self.of.in_file - i).min(per as u64) as usize;
            self.block.resize(n * N, 0);
            if let Some(f) = &self.of.file {
                if let Err(e) = f.read_exact_at(&mut self.block, i * N as u64) {
                    return Some(Err(e));
                }
            }
            self.block_at = i;
        }
        let at = (i - self.block_at) as usize * N;
        let mut r = [0u8; N];
        r.copy_from_slice(&self.block[at..at + N]);
        Some(Ok(r))
    }
}

/// A time in a record: seconds and nanoseconds, little-endian (12 bytes).
pub fn time_bytes(t: &chrono::DateTime<chrono::Utc>) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..8].copy_from_slice(&t.timestamp().to_le_bytes());
    b[8..].copy_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
    b
}

/// The time [`time_bytes`] wrote (written from a parsed checkpoint's time: always in range).
pub fn time_of(b: &[u8; 12]) -> chrono::DateTime<chrono::Utc> {
    let (mut s, mut n) = ([0u8; 8], [0u8; 4]);
    s.copy_from_slice(&b[..8]);
    n.copy_from_slice(&b[8..]);
    chrono::DateTime::from_timestamp(i64::from_le_bytes(s), u32::from_le_bytes(n))
        .unwrap_or_default()
}

/// Distinct sizes, ascending, in [`Records`]: the checkpoint files of a log.
#[derive(Default)]
pub struct Sizes(Records<8>);

impl Sizes {
    /// One more size, larger than the last.
    pub fn push(&mut self, s: u64) -> std::io::Result<()> {
        self.0.push(&s.to_le_bytes())
    }
    /// How many.
    pub fn len(&self) -> u64 {
        self.0.len()
    }
    /// None.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The largest.
    pub fn last(&self) -> std::io::Result<Option<u64>> {
        Ok(self.0.last()?.map(u64::from_le_bytes))
    }
    /// The largest size below `s` (`None`: none).
    pub fn before(&self, s: u64) -> std::io::Result<Option<u64>> {
        let i = self.0.partition_point(|r| u64::from_le_bytes(*r) < s)?;
        match i {
            0 => Ok(None),
            i => Ok(self.0.get(i - 1)?.map(u64::from_le_bytes)),
        }
    }
    /// Whether `s` is one of them.
    pub fn contains(&self, s: u64) -> std::io::Result<bool> {
        let i = self.0.partition_point(|r| u64::from_le_bytes(*r) < s)?;
        Ok(self.0.get(i)?.map(u64::from_le_bytes) == Some(s))
    }
    /// Every size, ascending.
    pub fn iter(&self) -> impl Iterator<Item = std::io::Result<u64>> + '_ {
        self.0.iter().map(|r| r.map(u64::from_le_bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorter(keys: &[u64], run: usize) -> KeySorter {
        let mut s = KeySorter::with_run(run);
        for &k in keys {
            s.push(k).unwrap();
        }
        s
    }

    #[test]
    fn issue17_duplicates_found_across_spilled_runs() {
        for run in [1usize, 3, 7, 1000] {
            let d = sorter(&[5u64, 9, 1, 9, 3, 5, 5, 42, 7, 0, 0], run);
            assert_eq!(d.duplicates(50).unwrap(), vec![0, 5, 9], "run {run}");
        }
        let all: Vec<u64> = (0..100).collect();
        assert!(sorter(&all, 4).duplicates(50).unwrap().is_empty());
        let halves: Vec<u64> = (0..100).map(|k| k / 2).collect();
        assert_eq!(sorter(&halves, 4).duplicates(3).unwrap(), vec![0, 1, 2]);
        let sorted: Vec<u64> = sorter(&[3, 1, 2, 1], 2)
            .sorted()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(sorted, vec![1, 1, 2, 3]);
    }

    /// A sorter holds one descriptor however many runs it spills (a 10^9-entry log spills
    /// about 1,900 runs a sorter, and an audit holds three sorters: one descriptor a run ran
    /// out of descriptors past about 3 * 10^8 entries), and merges them right.
    #[test]
    fn issue17_many_runs_take_one_descriptor_and_merge_in_order() {
        let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let before = fds();
        let keys: Vec<u64> = (0..3000u64).map(|k| (k * 7919) % 3001).collect();
        let sorters: Vec<KeySorter> = (0..3).map(|_| sorter(&keys, 1)).collect();
        assert!(sorters.iter().all(|s| s.runs.len() == 3000));
        // Other tests of this binary run at once and open files too: a margin, far below
        // the 9,000 descriptors one a run would take.
        assert!(fds() <= before + 3 + 64, "{} descriptors", fds() - before);
        for s in sorters {
            let got: Vec<u64> = s.sorted().unwrap().map(Result::unwrap).collect();
            let mut want = keys.clone();
            want.sort_unstable();
            assert_eq!(got, want);
        }
    }

    /// Records spilled to their file and the ones still in memory read back alike, by index,
    /// in order and by binary search.
    #[test]
    fn issue17_records_past_memory_read_back_in_order() {
        let mut s = Sizes::default();
        let n = (RECORDS_IN_MEMORY / 8) as u64 * 2 + 77;
        for i in 0..n {
            s.push(3 * i + 1).unwrap();
        }
        assert!(s.0.file.is_some() && !s.0.mem.is_empty());
        assert_eq!(s.len(), n);
        assert_eq!(s.last().unwrap(), Some(3 * (n - 1) + 1));
        for (i, v) in s.iter().enumerate() {
            assert_eq!(v.unwrap(), 3 * i as u64 + 1);
        }
        for probe in [
            0u64,
            1,
            2,
            4,
            3 * (n - 1),
            3 * (n - 1) + 1,
            3 * n + 9,
            3 * 131_072 + 1,
        ] {
            let want: Vec<u64> = (0..n).map(|i| 3 * i + 1).collect();
            assert_eq!(
                s.contains(probe).unwrap(),
                want.binary_search(&probe).is_ok(),
                "{probe}"
            );
            let before = want.iter().copied().rfind(|&v| v < probe);
            assert_eq!(s.before(probe).unwrap(), before, "{probe}");
        }
        let empty = Sizes::default();
        assert_eq!(
            (empty.last().unwrap(), empty.before(5).unwrap()),
            (None, None)
        );
        assert!(!empty.contains(0).unwrap() && empty.iter().next().is_none());
    }

    #[test]
    fn issue17_files_not_listed_found_across_spilled_runs() {
        for run in [1usize, 2, 5, 1000] {
            let have = sorter(&[10, 3, 7, 3, 99, 1], run);
            let known = sorter(&[1, 7, 8, 10, 11], run);
            assert_eq!(
                missing_from(have, known, 50).unwrap(),
                vec![3, 99],
                "run {run}"
            );
        }
        let have = sorter(&[1, 2, 3], 1);
        assert!(missing_from(have, sorter(&[3, 2, 1, 0], 1), 50)
            .unwrap()
            .is_empty());
        assert_eq!(
            missing_from(sorter(&[5, 6], 1), sorter(&[], 1), 1).unwrap(),
            vec![5]
        );
    }
}
