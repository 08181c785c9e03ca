//! Many 64-bit keys in bounded memory, for audits of logs of any size: keys are buffered,
//! sorted runs of [`RUN_KEYS`] spill to anonymous temporary files, and the runs are merged into
//! one sorted stream at the end. Used to find duplicate names and contents, and files no
//! entry lists, in a log of 10^7 entries and more without holding its keys in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Keys held in memory before a run is written (8 MiB).
pub const RUN_KEYS: usize = 1 << 20;

/// Collects keys; [`KeySorter::sorted`] streams them in order.
pub struct KeySorter {
    buf: Vec<u64>,
    runs: Vec<std::fs::File>,
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
        let f = tempfile::tempfile()?;
        let mut w = BufWriter::new(f);
        for k in &self.buf {
            w.write_all(&k.to_le_bytes())?;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        self.runs.push(f);
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
        let mut readers: Vec<BufReader<std::fs::File>> = self
            .runs
            .into_iter()
            .map(|f| BufReader::with_capacity(16 << 10, f))
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(k) = next_key(r)? {
                heap.push(Reverse((k, i)));
            }
        }
        Ok(Sorted {
            mem: std::mem::take(&mut self.buf).into_iter(),
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

fn next_key(r: &mut BufReader<std::fs::File>) -> std::io::Result<Option<u64>> {
    let mut b = [0u8; 8];
    match r.read_exact(&mut b) {
        Ok(()) => Ok(Some(u64::from_le_bytes(b))),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// The keys of a [`KeySorter`], ascending.
pub struct Sorted {
    mem: std::vec::IntoIter<u64>,
    readers: Vec<BufReader<std::fs::File>>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
}

impl Iterator for Sorted {
    type Item = std::io::Result<u64>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.readers.is_empty() {
            return self.mem.next().map(Ok);
        }
        let Reverse((k, i)) = self.heap.pop()?;
        match next_key(&mut self.readers[i]) {
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
