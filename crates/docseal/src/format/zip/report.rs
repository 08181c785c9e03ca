//! What the reader collects (findings, capped per code, and which entries they concern) and
//! how it reads (bounded reads that turn errors into findings).

use crate::format::finding::{Code, Finding};
use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};

// ---------------------------------------------------------------------------------------------
// Strict reader
// ---------------------------------------------------------------------------------------------

/// Whether `n` bytes at `off` would run past `limit` (or overflow).
pub(super) fn past(off: u64, n: u64, limit: u64) -> bool {
    match off.checked_add(n) {
        Some(end) => end > limit,
        None => true,
    }
}

pub(super) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(super) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(super) fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// At most this many findings of one code are listed for one bundle; one more finding of
/// that code says how many others there were. This bounds a report's size (and the memory it
/// takes) whatever a bundle holds: 10,000 entries with the same problem are reported as 100
/// and a count.
pub const MAX_FINDINGS_PER_CODE: usize = 100;

/// The finding that stands for `more` findings of `code` that are not listed.
pub fn findings_not_listed(code: Code, more: usize) -> Finding {
    Finding::new(
        code,
        format!(
            "{more} more findings with this code are not listed (at most {MAX_FINDINGS_PER_CODE} of one code are)"
        ),
    )
}

/// The findings collected so far, and which entries they concern.
#[derive(Default)]
pub(super) struct Report {
    pub(super) items: Vec<Finding>,
    /// Whether each entry has a finding, by index (grown as findings come; a bundle without
    /// findings allocates nothing).
    pub(super) flagged: Vec<bool>,
    /// Findings made, by code (listed or not).
    pub(super) counts: BTreeMap<Code, usize>,
}

impl Report {
    pub(super) fn push(&mut self, f: Finding) {
        let n = self.counts.entry(f.code).or_default();
        *n += 1;
        if *n <= MAX_FINDINGS_PER_CODE {
            self.items.push(f);
        }
    }
    pub(super) fn global(&mut self, code: Code, msg: impl Into<String>) {
        self.push(Finding::new(code, msg));
    }
    pub(super) fn entry(
        &mut self,
        i: usize,
        name: impl Into<String>,
        code: Code,
        msg: impl Into<String>,
    ) {
        self.push(Finding::at(code, name, msg));
        if self.flagged.len() <= i {
            self.flagged.resize(i + 1, false);
        }
        self.flagged[i] = true;
    }
    /// The listed findings, then one for each code with findings not listed.
    pub(super) fn into_findings(mut self) -> Vec<Finding> {
        for (&code, &n) in &self.counts {
            if n > MAX_FINDINGS_PER_CODE {
                self.items
                    .push(findings_not_listed(code, n - MAX_FINDINGS_PER_CODE));
            }
        }
        self.items
    }
    pub(super) fn has_entry(&self, i: usize) -> bool {
        self.flagged.get(i).copied().unwrap_or(false)
    }
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Reading cannot go on; the reason is in the report.
pub(super) struct Stop;

pub(super) struct Src<'a, R> {
    pub(super) r: &'a mut R,
    pub(super) len: u64,
}

impl<R: Read + Seek> Src<'_, R> {
    /// Fill `buf` from `off`, reporting nothing.
    pub(super) fn read_raw(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        self.r.seek(SeekFrom::Start(off))?;
        self.r.read_exact(buf)
    }

    /// Fill `buf` from `off`; the caller has bounded its length. Errors become findings.
    pub(super) fn read(
        &mut self,
        off: u64,
        buf: &mut [u8],
        rep: &mut Report,
        what: &str,
    ) -> Result<(), Stop> {
        let n = buf.len();
        if past(off, n as u64, self.len) {
            rep.global(
                Code::ZipTruncated,
                format!("the file ends before the {what} ({n} bytes at offset {off})"),
            );
            return Err(Stop);
        }
        match self.read_raw(off, buf) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                rep.global(
                    Code::ZipTruncated,
                    format!("the file ends before the {what} (at offset {off})"),
                );
                Err(Stop)
            }
            Err(e) => {
                rep.global(
                    Code::IoRead,
                    format!("reading the {what} at offset {off}: {e}"),
                );
                Err(Stop)
            }
        }
    }

    /// The 4 bytes at `off` as a signature, when they are inside the file and readable.
    pub(super) fn sig_at(&mut self, off: u64) -> Option<u32> {
        if past(off, 4, self.len) {
            return None;
        }
        let mut b = [0u8; 4];
        self.r.seek(SeekFrom::Start(off)).ok()?;
        self.r.read_exact(&mut b).ok()?;
        Some(u32::from_le_bytes(b))
    }
}
