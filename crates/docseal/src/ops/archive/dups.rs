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
