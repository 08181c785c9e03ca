//! Duplicates among many 64-bit keys in bounded memory: keys are buffered, sorted runs of
//! [`RUN_KEYS`] spill to anonymous temporary files, and the runs are merged at the end.

use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Keys held in memory before a run is written (8 MiB).
pub const RUN_KEYS: usize = 1 << 20;

/// Collects keys; [`DupFinder::finish`] returns those seen more than once.
pub struct DupFinder {
    buf: Vec<u64>,
    runs: Vec<std::fs::File>,
    run_keys: usize,
}

impl Default for DupFinder {
    fn default() -> Self {
        Self::with_run(RUN_KEYS)
    }
}

impl DupFinder {
    /// With runs of `run_keys` keys (tests use small runs).
    pub fn with_run(run_keys: usize) -> Self {
        DupFinder {
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
        Ok(())
    }

    /// The keys seen more than once, sorted (at most `cap`).
    pub fn finish(mut self, cap: usize) -> std::io::Result<Vec<u64>> {
        let mut out = Vec::new();
        if self.runs.is_empty() {
            self.buf.sort_unstable();
            for w in self.buf.windows(2) {
                if w[0] == w[1] && out.last() != Some(&w[0]) {
                    out.push(w[0]);
                    if out.len() >= cap {
                        break;
                    }
                }
            }
            return Ok(out);
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        let mut readers: Vec<BufReader<std::fs::File>> = self
            .runs
            .into_iter()
            .map(|f| BufReader::with_capacity(16 << 10, f))
            .collect();
        let next = |r: &mut BufReader<std::fs::File>| -> std::io::Result<Option<u64>> {
            let mut b = [0u8; 8];
            match r.read_exact(&mut b) {
                Ok(()) => Ok(Some(u64::from_le_bytes(b))),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(e),
            }
        };
        let mut heap = std::collections::BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(k) = next(r)? {
                heap.push(std::cmp::Reverse((k, i)));
            }
        }
        let mut prev: Option<u64> = None;
        while let Some(std::cmp::Reverse((k, i))) = heap.pop() {
            if prev == Some(k) && out.last() != Some(&k) {
                out.push(k);
                if out.len() >= cap {
                    break;
                }
            }
            prev = Some(k);
            if let Some(n) = next(&mut readers[i])? {
                heap.push(std::cmp::Reverse((n, i)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue17_duplicates_found_across_spilled_runs() {
        for run in [1usize, 3, 7, 1000] {
            let mut d = DupFinder::with_run(run);
            for k in [5u64, 9, 1, 9, 3, 5, 5, 42, 7, 0, 0] {
                d.push(k).unwrap();
            }
            assert_eq!(d.finish(50).unwrap(), vec![0, 5, 9], "run {run}");
        }
        let mut d = DupFinder::with_run(4);
        for k in 0..100u64 {
            d.push(k).unwrap();
        }
        assert!(d.finish(50).unwrap().is_empty());
        let mut d = DupFinder::with_run(4);
        for k in 0..100u64 {
            d.push(k / 2).unwrap();
        }
        assert_eq!(d.finish(3).unwrap(), vec![0, 1, 2]);
    }
}
