//! The canonical ZIP encoding of a bundle.
//!
//! The writer produces exactly the byte form of `docs/FORMAT.md` section 5; the strict reader
//! accepts nothing else. See `docs/VERIFY.md` for the codes it reports.
//!
//! Both sides share the header rendering functions ([`render_local`] and friends), and the
//! reader's last check re-renders every header from the values it parsed and compares them with
//! the bytes of the file, so that nothing the writer would not write can slip through unnoticed.

use crate::format::finding::{Code, Finding};
use crate::format::path;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::Hash;
use std::io::{self, Read, Seek, SeekFrom, Write};

const SIG_LOCAL: u32 = 0x0403_4b50;
const SIG_CENTRAL: u32 = 0x0201_4b50;
const SIG_EOCD: u32 = 0x0605_4b50;
const SIG_EOCD64: u32 = 0x0606_4b50;
const SIG_LOCATOR: u32 = 0x0706_4b50;

const VERSION: u16 = 20;
const VERSION_ZIP64: u16 = 45;
const MADE_BY_UNIX: u16 = 0x0300;
const FLAGS: u16 = 0x0800;
const FLAG_ENCRYPTED: u16 = 0x0001;
const FLAG_DATA_DESCRIPTOR: u16 = 0x0008;
const FLAG_STRONG_ENCRYPTION: u16 = 0x0040;
const DOS_TIME: u16 = 0x0000;
const DOS_DATE: u16 = 0x0021;
const EXTERNAL_ATTRS: u32 = 0x81A4_0000;
const EXTRA_ZIP64: u16 = 0x0001;
const EXTRA_UNICODE_PATH: u16 = 0x7075;
const ZIP64_END_RECORD_SIZE: u64 = 44;
const ZIP64_MADE_BY: u16 = MADE_BY_UNIX | VERSION_ZIP64;

const ONES32: u64 = 0xFFFF_FFFF;
const ONES16: u64 = 0xFFFF;

const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
const EOCD_LEN: usize = 22;
const EOCD64_LEN: usize = 56;
const LOCATOR_LEN: usize = 20;
/// The end records at their largest: ZIP64 end record, locator, end record.
const END_RECORDS_MAX: usize = EOCD64_LEN + LOCATOR_LEN + EOCD_LEN;
/// The furthest an end of central directory record can be from the end of the file.
const EOCD_SEARCH: u64 = EOCD_LEN as u64 + 0xFFFF;

/// Size of the streaming buffer.
const BUF_SIZE: usize = 1 << 20;

/// Largest central directory record a canonical archive can hold (name at most 1024 bytes,
/// ZIP64 field of at most 28 bytes).
pub const MAX_CENTRAL_RECORD: u64 = (CENTRAL_LEN + path::MAX_PATH_BYTES + 28) as u64;

/// Resource limits for reading a bundle. Checked before anything is allocated or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest number of entries (default 10,000).
    pub max_entries: u64,
    /// Largest single entry (default 64 GiB).
    pub max_file_size: u64,
    /// Largest sum of all entries (default 64 GiB).
    pub max_total_size: u64,
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

// ---------------------------------------------------------------------------------------------
// Rendering: the one definition of the canonical bytes, used by the writer and the reader.
// ---------------------------------------------------------------------------------------------

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// `v` as a 32-bit field: the value, or all ones when it does not fit (ZIP64).
fn field32(v: u64) -> u32 {
    v.min(ONES32) as u32
}
/// `v` as a 16-bit field: the value, or all ones when it does not fit (ZIP64).
fn field16(v: u64) -> u16 {
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

fn version_needed(size: u64, offset: u64) -> u16 {
    if entry_needs_zip64(size, offset) {
        VERSION_ZIP64
    } else {
        VERSION
    }
}

/// A canonical extra field: empty, or one ZIP64 field of at most three values. Held inline, so
/// that rendering and checking headers allocates nothing.
struct Extra {
    bytes: [u8; 4 + 3 * 8],
    len: usize,
}

impl Extra {
    /// The ZIP64 field holding `vals` (at most three), or an empty field when there are none.
    fn zip64(vals: &[u64]) -> Extra {
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

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The extra field of a canonical local header: empty, or the ZIP64 field with the size twice.
fn local_extra(size: u64) -> Extra {
    if size >= ONES32 {
        Extra::zip64(&[size, size])
    } else {
        Extra::zip64(&[])
    }
}

/// The extra field of a canonical central directory header.
fn central_extra(size: u64, offset: u64) -> Extra {
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

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

struct Written {
    name: String,
    size: u64,
    crc: u32,
    offset: u64,
}

/// Writes a canonical bundle ZIP, streaming each entry once.
///
/// A refused name writes nothing. After any other error (I/O, or input that changed while it
/// was read) the archive is incomplete and every later call fails.
pub struct ZipWriter<W: Write + Seek> {
    w: W,
    pos: u64,
    entries: Vec<Written>,
    keys: HashSet<String>,
    buf: Vec<u8>,
    started: bool,
    failed: bool,
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn changed(msg: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("input changed while being read: {msg}"),
    )
}

/// Read until `buf` is full or the reader is at its end; returns the number of bytes read.
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<W: Write + Seek> ZipWriter<W> {
    /// Start an archive at the writer's current position (which must be 0).
    pub fn new(w: W) -> Self {
        ZipWriter {
            w,
            pos: 0,
            entries: Vec::new(),
            keys: HashSet::new(),
            buf: Vec::new(),
            started: false,
            failed: false,
        }
    }

    /// Checks before an entry is written; nothing is written when they fail.
    fn begin(&mut self, name: &str) -> io::Result<String> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier error left the archive incomplete",
            ));
        }
        if !self.started {
            let p = self.w.stream_position()?;
            if p != 0 {
                return Err(invalid_input(format!(
                    "the archive must start at offset 0, not {p}"
                )));
            }
            self.started = true;
        }
        path::check(name).map_err(|(code, why)| {
            invalid_input(format!(
                "entry name {:?} refused ({code}): {why}",
                path::display(name)
            ))
        })?;
        let key = path::collision_key(name);
        if self.keys.contains(&key) {
            return Err(invalid_input(format!(
                "entry name {:?} is the same as an earlier entry's after Unicode normalization and case folding",
                path::display(name)
            )));
        }
        Ok(key)
    }

    fn commit(&mut self, key: String, name: &str, size: u64, crc: u32, offset: u64, end: u64) {
        self.keys.insert(key);
        self.entries.push(Written {
            name: name.to_owned(),
            size,
            crc,
            offset,
        });
        self.pos = end;
    }

    /// Add an entry whose data is exactly `size` bytes read from `r`. Fails with
    /// `io::ErrorKind::InvalidData` if `r` yields fewer or more bytes (the input changed).
    pub fn add_reader(
        &mut self,
        name: &str,
        size: u64,
        r: &mut dyn Read,
    ) -> io::Result<EntryDigest> {
        let key = self.begin(name)?;
        let res = self.stream_entry(name, size, r);
        match res {
            Ok((digest, end)) => {
                let offset = self.pos;
                self.commit(key, name, size, digest.crc32, offset, end);
                Ok(digest)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    fn stream_entry(
        &mut self,
        name: &str,
        size: u64,
        r: &mut dyn Read,
    ) -> io::Result<(EntryDigest, u64)> {
        let offset = self.pos;
        let mut header = Vec::with_capacity(LOCAL_LEN + name.len() + 20);
        render_local(&mut header, name.as_bytes(), size, 0, offset);
        let data_start = offset + header.len() as u64;
        let end = data_start
            .checked_add(size)
            .ok_or_else(|| invalid_input(format!("entry of {size} bytes is too large")))?;
        self.w.write_all(&header)?;
        // As large as this entry needs, at most BUF_SIZE: a small entry does not pay for
        // zeroing a 1 MiB buffer.
        let need = size.min(BUF_SIZE as u64) as usize;
        if self.buf.len() < need {
            self.buf = vec![0u8; need];
        }
        let mut crc = crc32fast::Hasher::new();
        let mut sha = Sha256::new();
        let mut remaining = size;
        while remaining > 0 {
            let want = remaining.min(BUF_SIZE as u64) as usize;
            let chunk = &mut self.buf[..want];
            let got = fill(r, chunk)?;
            if got < want {
                return Err(changed(format!(
                    "it ended after {} of {size} bytes",
                    size - remaining + got as u64
                )));
            }
            crc.update(chunk);
            sha.update(&*chunk);
            self.w.write_all(chunk)?;
            remaining -= want as u64;
        }
        let mut probe = [0u8; 1];
        if fill(r, &mut probe)? != 0 {
            return Err(changed(format!(
                "it has more than the {size} bytes expected"
            )));
        }
        let crc32 = crc.finalize();
        self.w.seek(SeekFrom::Start(offset + 14))?;
        self.w.write_all(&crc32.to_le_bytes())?;
        self.w.seek(SeekFrom::Start(end))?;
        Ok((
            EntryDigest {
                size,
                crc32,
                sha256: sha.finalize().into(),
            },
            end,
        ))
    }

    /// Add an entry from memory.
    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> io::Result<EntryDigest> {
        let key = self.begin(name)?;
        let offset = self.pos;
        let size = data.len() as u64;
        let crc32 = crc32fast::hash(data);
        let digest = EntryDigest {
            size,
            crc32,
            sha256: Sha256::digest(data).into(),
        };
        let mut header = Vec::with_capacity(LOCAL_LEN + name.len() + 20);
        render_local(&mut header, name.as_bytes(), size, crc32, offset);
        let end = offset + header.len() as u64 + size;
        let res = self
            .w
            .write_all(&header)
            .and_then(|()| self.w.write_all(data));
        if let Err(e) = res {
            self.failed = true;
            return Err(e);
        }
        self.commit(key, name, size, crc32, offset, end);
        Ok(digest)
    }

    /// Write the central directory and end records; return the writer (not flushed to disk).
    pub fn finish(mut self) -> io::Result<W> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier error left the archive incomplete",
            ));
        }
        let cd_offset = self.pos;
        let mut cd_size = 0u64;
        let mut out =
            Vec::with_capacity(BUF_SIZE.min(self.entries.len() * (CENTRAL_LEN + 64) + 128));
        for e in &self.entries {
            render_central(&mut out, e.name.as_bytes(), e.size, e.crc, e.offset);
            if out.len() >= BUF_SIZE {
                self.w.write_all(&out)?;
                cd_size += out.len() as u64;
                out.clear();
            }
        }
        cd_size += out.len() as u64;
        render_end(&mut out, self.entries.len() as u64, cd_size, cd_offset);
        self.w.write_all(&out)?;
        self.w.flush()?;
        Ok(self.w)
    }
}

// ---------------------------------------------------------------------------------------------
// Strict reader
// ---------------------------------------------------------------------------------------------

/// One entry of a strictly read archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The name (valid, portable, NFC).
    pub name: String,
    /// Offset of the entry's data in the file.
    pub data_offset: u64,
    /// Size of the data.
    pub size: u64,
    /// CRC-32 declared in the headers.
    pub crc32: u32,
}

/// Whether `n` bytes at `off` would run past `limit` (or overflow).
fn past(off: u64, n: u64, limit: u64) -> bool {
    match off.checked_add(n) {
        Some(end) => end > limit,
        None => true,
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le64(b: &[u8], at: usize) -> u64 {
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
struct Report {
    items: Vec<Finding>,
    /// Whether each entry has a finding, by index (grown as findings come; a bundle without
    /// findings allocates nothing).
    flagged: Vec<bool>,
    /// Findings made, by code (listed or not).
    counts: BTreeMap<Code, usize>,
}

impl Report {
    fn push(&mut self, f: Finding) {
        let n = self.counts.entry(f.code).or_default();
        *n += 1;
        if *n <= MAX_FINDINGS_PER_CODE {
            self.items.push(f);
        }
    }
    fn global(&mut self, code: Code, msg: impl Into<String>) {
        self.push(Finding::new(code, msg));
    }
    fn entry(&mut self, i: usize, name: impl Into<String>, code: Code, msg: impl Into<String>) {
        self.push(Finding::at(code, name, msg));
        if self.flagged.len() <= i {
            self.flagged.resize(i + 1, false);
        }
        self.flagged[i] = true;
    }
    /// The listed findings, then one for each code with findings not listed.
    fn into_findings(mut self) -> Vec<Finding> {
        for (&code, &n) in &self.counts {
            if n > MAX_FINDINGS_PER_CODE {
                self.items
                    .push(findings_not_listed(code, n - MAX_FINDINGS_PER_CODE));
            }
        }
        self.items
    }
    fn has_entry(&self, i: usize) -> bool {
        self.flagged.get(i).copied().unwrap_or(false)
    }
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Reading cannot go on; the reason is in the report.
struct Stop;

struct Src<'a, R> {
    r: &'a mut R,
    len: u64,
}

impl<R: Read + Seek> Src<'_, R> {
    /// Fill `buf` from `off`, reporting nothing.
    fn read_raw(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        self.r.seek(SeekFrom::Start(off))?;
        self.r.read_exact(buf)
    }

    /// Fill `buf` from `off`; the caller has bounded its length. Errors become findings.
    fn read(&mut self, off: u64, buf: &mut [u8], rep: &mut Report, what: &str) -> Result<(), Stop> {
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
    fn sig_at(&mut self, off: u64) -> Option<u32> {
        if past(off, 4, self.len) {
            return None;
        }
        let mut b = [0u8; 4];
        self.r.seek(SeekFrom::Start(off)).ok()?;
        self.r.read_exact(&mut b).ok()?;
        Some(u32::from_le_bytes(b))
    }
}

/// A parsed central directory record, with what the later passes find out about its entry.
struct Central<'a> {
    /// Offset of the record inside the central directory.
    at: usize,
    /// Length of the whole record.
    len: usize,
    made_by: u16,
    needed: u16,
    flags: u16,
    method: u16,
    time: u16,
    date: u16,
    crc: u32,
    csize32: u32,
    usize32: u32,
    disk: u16,
    internal: u16,
    external: u32,
    offset32: u32,
    /// The name and extra field, in the central directory's bytes.
    name: &'a [u8],
    extra: &'a [u8],
    comment_len: u16,
    /// Resolved values (from the ZIP64 field where the 32-bit field is all ones).
    size: u64,
    csize: u64,
    offset: u64,
    /// The name, when it is a valid file name (it becomes the entry's name).
    valid_name: Option<&'a str>,
    /// Where the entry's data starts, when its local header could be read.
    data_offset: Option<u64>,
}

impl<'a> Central<'a> {
    /// The name as shown in findings, rendered only when a finding is made (names can be long
    /// and many, and most entries have no finding).
    fn shown(&self) -> Shown<'a> {
        Shown(self.name)
    }
}

/// An entry name as findings show it: escaped for display; a name longer than any path allowed
/// is cut to that length, with its length said.
#[derive(Clone, Copy)]
struct Shown<'a>(&'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() <= path::MAX_PATH_BYTES {
            return f.write_str(&path::display_bytes(self.0));
        }
        write!(
            f,
            "{}... ({} bytes)",
            path::display_bytes(&self.0[..path::MAX_PATH_BYTES]),
            self.0.len()
        )
    }
}

impl From<Shown<'_>> for String {
    fn from(s: Shown<'_>) -> String {
        s.to_string()
    }
}

/// The records of an extra field, or `None` when it does not parse.
fn extra_records(extra: &[u8]) -> Option<impl Iterator<Item = (u16, &[u8])>> {
    // Validate the whole field first (a malformed one is reported as such, before any of its
    // records), then walk it again without allocating.
    let mut p = 0;
    while p < extra.len() {
        if extra.len() - p < 4 {
            return None;
        }
        let n = le16(extra, p + 2) as usize;
        if extra.len() - p - 4 < n {
            return None;
        }
        p += 4 + n;
    }
    let mut p = 0;
    Some(std::iter::from_fn(move || {
        if p >= extra.len() {
            return None;
        }
        let id = le16(extra, p);
        let n = le16(extra, p + 2) as usize;
        let data = &extra[p + 4..p + 4 + n];
        p += 4 + n;
        Some((id, data))
    }))
}

/// Check an extra field (`where_` is "central directory" or "local header") and return the data
/// of its ZIP64 field, if any. Everything but one ZIP64 field is reported.
fn check_extra<'a>(
    rep: &mut Report,
    i: usize,
    shown: Shown<'_>,
    extra: &'a [u8],
    where_: &str,
) -> Option<&'a [u8]> {
    let Some(records) = extra_records(extra) else {
        rep.entry(i, shown, Code::ZipExtraField, format!("the extra field in the {where_} is malformed ({} bytes that do not parse as records)", extra.len()));
        return None;
    };
    let mut zip64 = None;
    for (id, data) in records {
        match id {
            EXTRA_UNICODE_PATH => rep.entry(
                i,
                shown,
                Code::ZipUnicodePathExtra,
                format!("the {where_} has an Info-ZIP Unicode Path extra field (0x7075), which can make readers show another name"),
            ),
            EXTRA_ZIP64 if zip64.is_none() => zip64 = Some(data),
            EXTRA_ZIP64 => rep.entry(i, shown, Code::ZipZip64, format!("the {where_} has more than one ZIP64 extra field")),
            other => rep.entry(i, shown, Code::ZipExtraField, format!("the {where_} has an extra field of type 0x{other:04x}, which the writer never writes")),
        }
    }
    zip64
}

/// Resolve 32-bit fields that are all ones from a ZIP64 field, in order; report misuse.
/// Returns the resolved values.
fn resolve_zip64<const N: usize>(
    rep: &mut Report,
    i: usize,
    shown: Shown<'_>,
    where_: &str,
    fields: [(&str, u32); N],
    zip64: Option<&[u8]>,
) -> [u64; N] {
    let data = zip64.unwrap_or(&[]);
    let mut p = 0;
    let mut out = [0u64; N];
    for ((what, v), out) in fields.into_iter().zip(&mut out) {
        if u64::from(v) != ONES32 {
            *out = u64::from(v);
            continue;
        }
        if zip64.is_none() {
            rep.entry(
                i,
                shown,
                Code::ZipZip64,
                format!(
                    "the {what} in the {where_} is 0xFFFFFFFF but there is no ZIP64 extra field"
                ),
            );
            *out = ONES32;
        } else if data.len() < p + 8 {
            rep.entry(
                i,
                shown,
                Code::ZipZip64,
                format!("the ZIP64 extra field in the {where_} has no value for the {what}"),
            );
            *out = ONES32;
        } else {
            let val = le64(data, p);
            p += 8;
            if val < ONES32 {
                rep.entry(i, shown, Code::ZipZip64, format!("the {what} in the {where_} ({val}) fits in 32 bits but is stored in a ZIP64 field"));
            }
            *out = val;
        }
    }
    if let Some(data) = zip64 {
        if p == 0 {
            rep.entry(
                i,
                shown,
                Code::ZipZip64,
                format!("the {where_} has a ZIP64 extra field although no size or offset needs it"),
            );
        } else if data.len() != p {
            rep.entry(
                i,
                shown,
                Code::ZipZip64,
                format!(
                    "the ZIP64 extra field in the {where_} is {} bytes long; {p} were expected",
                    data.len()
                ),
            );
        }
    }
    out
}

fn flag_findings(rep: &mut Report, i: usize, shown: Shown<'_>, flags: u16, where_: &str) {
    if flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) != 0 {
        rep.entry(
            i,
            shown,
            Code::ZipEncrypted,
            format!("the {where_} marks the entry as encrypted (flags 0x{flags:04x})"),
        );
    }
    if flags & FLAG_DATA_DESCRIPTOR != 0 {
        rep.entry(i, shown, Code::ZipDataDescriptor, format!("the {where_} says sizes and CRC follow the data in a data descriptor (flags 0x{flags:04x})"));
    }
    let other = flags & !(FLAGS | FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR | FLAG_STRONG_ENCRYPTION);
    if other != 0 || flags & FLAGS == 0 {
        rep.entry(i, shown, Code::ZipFlags, format!("the {where_} has flags 0x{flags:04x}; the writer sets exactly 0x0800 (UTF-8 names)"));
    }
}

/// Parse the central directory record at `p` of `cd`; `None` when it does not fit.
fn parse_central(cd: &[u8], p: usize) -> Option<Central<'_>> {
    if cd.len() - p < CENTRAL_LEN || le32(cd, p) != SIG_CENTRAL {
        return None;
    }
    let h = &cd[p..p + CENTRAL_LEN];
    let n = le16(h, 28) as usize;
    let m = le16(h, 30) as usize;
    let k = le16(h, 32) as usize;
    let len = CENTRAL_LEN + n + m + k;
    if cd.len() - p < len {
        return None;
    }
    let name = &cd[p + CENTRAL_LEN..p + CENTRAL_LEN + n];
    let extra = &cd[p + CENTRAL_LEN + n..p + CENTRAL_LEN + n + m];
    Some(Central {
        at: p,
        len,
        made_by: le16(h, 4),
        needed: le16(h, 6),
        flags: le16(h, 8),
        method: le16(h, 10),
        time: le16(h, 12),
        date: le16(h, 14),
        crc: le32(h, 16),
        csize32: le32(h, 20),
        usize32: le32(h, 24),
        comment_len: k as u16,
        disk: le16(h, 34),
        internal: le16(h, 36),
        external: le32(h, 38),
        offset32: le32(h, 42),
        name,
        extra,
        size: 0,
        csize: 0,
        offset: 0,
        valid_name: None,
        data_offset: None,
    })
}

/// Check one central directory record against the canonical values; fills in the resolved
/// sizes and offset.
fn check_central(rep: &mut Report, i: usize, c: &mut Central<'_>) {
    let s = Shown(c.name);
    let zip64 = check_extra(rep, i, s, c.extra, "central directory");
    let v = resolve_zip64(
        rep,
        i,
        s,
        "central directory",
        [
            ("uncompressed size", c.usize32),
            ("compressed size", c.csize32),
            ("local header offset", c.offset32),
        ],
        zip64,
    );
    [c.size, c.csize, c.offset] = v;
    if c.csize != c.size {
        rep.entry(
            i,
            s,
            Code::ZipSize,
            format!(
                "compressed size {} differs from uncompressed size {} for a stored entry",
                c.csize, c.size
            ),
        );
    }
    let needed = version_needed(c.size, c.offset);
    if c.needed != needed {
        rep.entry(
            i,
            s,
            Code::ZipAttributes,
            format!(
                "version needed to extract is {}, expected {needed}",
                c.needed
            ),
        );
    }
    if c.made_by != MADE_BY_UNIX | needed {
        rep.entry(
            i,
            s,
            Code::ZipAttributes,
            format!(
                "version made by is 0x{:04x}, expected 0x{:04x}",
                c.made_by,
                MADE_BY_UNIX | needed
            ),
        );
    }
    flag_findings(rep, i, s, c.flags, "central directory");
    if c.method != 0 {
        rep.entry(
            i,
            s,
            Code::ZipMethod,
            format!(
                "compression method {} (only 0, stored, is allowed)",
                c.method
            ),
        );
    }
    if c.time != DOS_TIME || c.date != DOS_DATE {
        rep.entry(i, s, Code::ZipAttributes, format!("timestamp 0x{:04x}/0x{:04x} (time/date), expected 0x0000/0x0021 (1980-01-01 00:00)", c.time, c.date));
    }
    if c.comment_len != 0 {
        rep.entry(
            i,
            s,
            Code::ZipEntryComment,
            format!("the entry has a {}-byte comment", c.comment_len),
        );
    }
    if c.disk != 0 {
        rep.entry(
            i,
            s,
            Code::ZipAttributes,
            format!("disk number start is {}, expected 0", c.disk),
        );
    }
    if c.internal != 0 {
        rep.entry(
            i,
            s,
            Code::ZipAttributes,
            format!("internal attributes are 0x{:04x}, expected 0", c.internal),
        );
    }
    if c.external != EXTERNAL_ATTRS {
        let kind = (c.external >> 16) & 0o170000;
        let what = match kind {
            0o040000 => Some("a directory"),
            0o120000 => Some("a symbolic link"),
            0o020000 => Some("a character device"),
            0o060000 => Some("a block device"),
            0o010000 => Some("a FIFO"),
            0o140000 => Some("a socket"),
            _ if c.external & 0x10 != 0 => Some("a directory (MS-DOS attribute)"),
            _ => None,
        };
        match what {
            Some(w) => rep.entry(i, s, Code::ZipNotRegularFile, format!("external attributes 0x{:08x} mark the entry as {w}", c.external)),
            None => rep.entry(i, s, Code::ZipAttributes, format!("external attributes are 0x{:08x}, expected 0x81a40000 (regular file, mode 0644)", c.external)),
        }
    }
}

/// Which header field a byte offset falls in, for the final comparison.
fn local_field(at: usize) -> (Code, &'static str) {
    match at {
        0..=3 => (Code::ZipHeaderMismatch, "signature"),
        4..=5 => (Code::ZipAttributes, "version needed"),
        6..=7 => (Code::ZipFlags, "flags"),
        8..=9 => (Code::ZipMethod, "method"),
        10..=13 => (Code::ZipAttributes, "time or date"),
        14..=17 => (Code::ZipHeaderMismatch, "CRC-32"),
        18..=25 => (Code::ZipSize, "sizes"),
        26..=27 => (Code::ZipHeaderMismatch, "name length"),
        28..=29 => (Code::ZipExtraField, "extra field length"),
        _ => (Code::ZipHeaderMismatch, "name or extra field"),
    }
}

fn central_field(at: usize) -> (Code, &'static str) {
    match at {
        0..=3 => (Code::ZipEndRecord, "signature"),
        4..=7 => (Code::ZipAttributes, "versions"),
        8..=9 => (Code::ZipFlags, "flags"),
        10..=11 => (Code::ZipMethod, "method"),
        12..=15 => (Code::ZipAttributes, "time or date"),
        16..=19 => (Code::ZipHeaderMismatch, "CRC-32"),
        20..=27 => (Code::ZipSize, "sizes"),
        28..=29 => (Code::ZipHeaderMismatch, "name length"),
        30..=31 => (Code::ZipExtraField, "extra field length"),
        32..=33 => (Code::ZipEntryComment, "comment length"),
        34..=41 => (Code::ZipAttributes, "disk number or attributes"),
        42..=45 => (Code::ZipOverlap, "local header offset"),
        _ => (Code::ZipAttributes, "name or extra field"),
    }
}

fn first_diff(a: &[u8], b: &[u8]) -> Option<usize> {
    if a == b {
        // The usual case, and a far cheaper comparison than the search below.
        return None;
    }
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then_some(a.len().min(b.len())))
}

/// Read the structure of a bundle ZIP strictly: every byte outside entry data must be what the
/// writer would write for these entries. Does not read entry data (see [`hash_entry`]).
/// Returns every finding it could establish when the structure is refused.
pub fn read_strict<R: Read + Seek>(
    r: &mut R,
    file_len: u64,
    limits: &Limits,
) -> Result<Vec<Entry>, Vec<Finding>> {
    read_strict_scanning(r, file_len, limits, SCAN_MAX)
}

/// [`read_strict`], comparing entries with each other by scanning up to `scan_max` entries
/// (tests check that scanning and hash maps find the same).
fn read_strict_scanning<R: Read + Seek>(
    r: &mut R,
    file_len: u64,
    limits: &Limits,
    scan_max: usize,
) -> Result<Vec<Entry>, Vec<Finding>> {
    let mut rep = Report::default();
    let mut src = Src { r, len: file_len };
    let res = read_inner(&mut src, limits, &mut rep, scan_max);
    match res {
        Ok(entries) if rep.is_empty() => Ok(entries),
        _ => {
            if rep.is_empty() {
                // Cannot happen (every stop records why), but never accept on a stop.
                rep.global(Code::ZipNotZip, "the archive could not be read");
            }
            Err(rep.into_findings())
        }
    }
}

/// What the end records say.
struct End {
    count: u64,
    cd_size: u64,
    cd_offset: u64,
    /// Where the central directory must end: the ZIP64 end record, or the end record.
    cd_end: u64,
    /// Where the end record is.
    eocd_pos: u64,
}

fn find_end<R: Read + Seek>(src: &mut Src<'_, R>, rep: &mut Report) -> Result<End, Stop> {
    let len = src.len;
    if len < EOCD_LEN as u64 {
        rep.global(
            Code::ZipNotZip,
            format!("the file is {len} bytes long, too short to be a ZIP archive"),
        );
        return Err(Stop);
    }
    // Usually the end record ends the file, right after the ZIP64 records if any: read only
    // those last bytes first. The whole search range is read (as before) only when the record is
    // not there, or when this short read fails (the full read then reports why).
    let mut quick = [0u8; END_RECORDS_MAX];
    let quick_len = len.min(END_RECORDS_MAX as u64) as usize;
    let quick = &mut quick[..quick_len];
    let quick_start = len - quick_len as u64;
    let mut full = Vec::new();
    let (tail, tail_start): (&[u8], u64) = if src.read_raw(quick_start, quick).is_ok()
        && le32(quick, quick_len - EOCD_LEN) == SIG_EOCD
    {
        (quick, quick_start)
    } else {
        let tail_len = len.min(EOCD_SEARCH) as usize;
        let tail_start = len - tail_len as u64;
        full.resize(tail_len, 0);
        src.read(tail_start, &mut full, rep, "end of the file")?;
        (&full, tail_start)
    };
    let tail_len = tail.len();
    let last = tail_len - EOCD_LEN;
    let eocd_at = if le32(tail, last) == SIG_EOCD {
        let cl = le16(tail, last + 20);
        if cl != 0 {
            rep.global(Code::ZipComment, format!("the end record declares a {cl}-byte archive comment, but the file ends right after it"));
        }
        last
    } else {
        // Not at the end: look for an end record followed by a comment or by other bytes.
        let found = (0..last).rev().find(|&p| {
            if le32(tail, p) != SIG_EOCD {
                return false;
            }
            let end = p + EOCD_LEN + le16(tail, p + 20) as usize;
            let abs = tail_start + p as u64;
            let (size, off) = (u64::from(le32(tail, p + 12)), u64::from(le32(tail, p + 16)));
            end <= tail_len && (size == ONES32 || off == ONES32 || size + off <= abs)
        });
        let Some(p) = found else {
            if src.sig_at(0) == Some(SIG_LOCAL) {
                rep.global(
                    Code::ZipTruncated,
                    "the file starts like a ZIP archive but has no end of central directory record: it is cut short (or has more than 64 KiB appended)",
                );
            } else {
                rep.global(
                    Code::ZipNotZip,
                    "no end of central directory record: this is not a ZIP archive",
                );
            }
            return Err(Stop);
        };
        let cl = le16(tail, p + 20) as usize;
        if cl > 0 {
            rep.global(
                Code::ZipComment,
                format!("the archive has a {cl}-byte comment"),
            );
        }
        let trailing = tail_len - (p + EOCD_LEN + cl);
        if trailing > 0 {
            rep.global(
                Code::ZipTrailingBytes,
                format!("{trailing} bytes follow the end of central directory record"),
            );
        }
        p
    };
    let e = &tail[eocd_at..eocd_at + EOCD_LEN];
    let eocd_pos = tail_start + eocd_at as u64;
    let (disk, cd_disk, n_disk, n_total) = (le16(e, 4), le16(e, 6), le16(e, 8), le16(e, 10));
    let (size32, off32) = (le32(e, 12), le32(e, 16));
    if disk != 0 || cd_disk != 0 {
        rep.global(Code::ZipEndRecord, format!("the end record names disk {disk} and central directory disk {cd_disk}; both must be 0"));
    }
    if n_disk != n_total {
        rep.global(
            Code::ZipEndRecord,
            format!("the end record counts {n_disk} entries on this disk but {n_total} in total"),
        );
    }
    let saturated = u64::from(n_total) == ONES16
        || u64::from(n_disk) == ONES16
        || u64::from(size32) == ONES32
        || u64::from(off32) == ONES32;

    // A ZIP64 locator right before the end record. Outside ZIP64 archives its signature can only
    // be there by accident, so a locator is recognized there only with its "1 disk" field.
    let mut locator = None;
    if eocd_pos >= LOCATOR_LEN as u64 {
        let at = eocd_pos - LOCATOR_LEN as u64;
        let mut l = [0u8; LOCATOR_LEN];
        if at >= tail_start {
            let o = (at - tail_start) as usize;
            l.copy_from_slice(&tail[o..o + LOCATOR_LEN]);
        } else {
            src.read(at, &mut l, rep, "ZIP64 end of central directory locator")?;
        }
        if le32(&l, 0) == SIG_LOCATOR && (saturated || le32(&l, 16) == 1) {
            locator = Some((at, l));
        }
    }
    let Some((loc_at, l)) = locator else {
        if saturated {
            rep.global(Code::ZipZip64, "the end record has ZIP64 markers (fields set to all ones) but there is no ZIP64 end record locator");
            return Err(Stop);
        }
        let (count, cd_size, cd_offset) = (u64::from(n_total), u64::from(size32), u64::from(off32));
        return Ok(End {
            count,
            cd_size,
            cd_offset,
            cd_end: eocd_pos,
            eocd_pos,
        });
    };

    let (l_disk, z_at, l_total) = (le32(&l, 4), le64(&l, 8), le32(&l, 16));
    if l_disk != 0 || l_total != 1 {
        rep.global(
            Code::ZipZip64,
            format!("the ZIP64 locator names disk {l_disk} of {l_total}; expected disk 0 of 1"),
        );
    }
    let expected_z = loc_at.checked_sub(EOCD64_LEN as u64);
    if Some(z_at) != expected_z {
        rep.global(Code::ZipZip64, format!("the ZIP64 locator points to offset {z_at}, not to the ZIP64 end record right before it"));
    }
    if past(z_at, EOCD64_LEN as u64, loc_at) {
        rep.global(Code::ZipZip64, format!("the ZIP64 end record at offset {z_at} would overlap the locator or the end of the file"));
        return Err(Stop);
    }
    let mut z = [0u8; EOCD64_LEN];
    src.read(z_at, &mut z, rep, "ZIP64 end of central directory record")?;
    if le32(&z, 0) != SIG_EOCD64 {
        rep.global(
            Code::ZipZip64,
            format!("no ZIP64 end of central directory record at offset {z_at}"),
        );
        return Err(Stop);
    }
    let (rec_size, made_by, needed, z_disk, z_cd_disk) = (
        le64(&z, 4),
        le16(&z, 12),
        le16(&z, 14),
        le32(&z, 16),
        le32(&z, 20),
    );
    let (z_n_disk, count, cd_size, cd_offset) =
        (le64(&z, 24), le64(&z, 32), le64(&z, 40), le64(&z, 48));
    if rec_size != ZIP64_END_RECORD_SIZE {
        rep.global(
            Code::ZipZip64,
            format!("the ZIP64 end record says its size is {rec_size}, expected 44"),
        );
    }
    if made_by != ZIP64_MADE_BY || needed != VERSION_ZIP64 {
        rep.global(
            Code::ZipZip64,
            format!(
                "the ZIP64 end record has versions 0x{made_by:04x}/{needed}, expected 0x032d/45"
            ),
        );
    }
    if z_disk != 0 || z_cd_disk != 0 {
        rep.global(Code::ZipEndRecord, format!("the ZIP64 end record names disk {z_disk} and central directory disk {z_cd_disk}; both must be 0"));
    }
    if z_n_disk != count {
        rep.global(
            Code::ZipEndRecord,
            format!(
                "the ZIP64 end record counts {z_n_disk} entries on this disk but {count} in total"
            ),
        );
    }
    if !end_needs_zip64(count, cd_size, cd_offset) {
        rep.global(
            Code::ZipZip64,
            "ZIP64 end records are present although the counts, size and offset fit the end record",
        );
    }
    if n_total != field16(count)
        || n_disk != field16(count)
        || size32 != field32(cd_size)
        || off32 != field32(cd_offset)
    {
        rep.global(
            Code::ZipEndRecord,
            format!(
                "the end record's count/size/offset ({n_total}, {size32}, {off32}) disagree with the ZIP64 end record ({count}, {cd_size}, {cd_offset})"
            ),
        );
    }
    Ok(End {
        count,
        cd_size,
        cd_offset,
        cd_end: z_at,
        eocd_pos,
    })
}

fn read_inner<R: Read + Seek>(
    src: &mut Src<'_, R>,
    limits: &Limits,
    rep: &mut Report,
    scan_max: usize,
) -> Result<Vec<Entry>, Stop> {
    let end = find_end(src, rep)?;
    let count = end.count;
    if count > limits.max_entries {
        rep.global(
            Code::LimitEntries,
            format!(
                "{count} entries, more than the limit of {}",
                limits.max_entries
            ),
        );
        return Err(Stop);
    }

    // Locate the central directory.
    let mut shift = 0u64; // how far the whole archive was moved by bytes prefixed to it
    let declared_end = end.cd_offset.checked_add(end.cd_size);
    let cd_start = if declared_end == Some(end.cd_end) {
        end.cd_offset
    } else {
        let beyond = past(end.cd_offset, end.cd_size, src.len);
        if beyond {
            rep.global(
                Code::ZipTruncated,
                format!(
                    "the central directory ({} bytes at offset {}) runs past the end of the file",
                    end.cd_size, end.cd_offset
                ),
            );
        }
        let moved = |rep: &mut Report, at: u64| {
            if !beyond {
                rep.global(
                    Code::ZipEndRecord,
                    format!("the end record says the central directory starts at offset {}, but it is at offset {at}", end.cd_offset),
                );
            }
        };
        let inferred = end.cd_end.checked_sub(end.cd_size);
        let central_at = |src: &mut Src<'_, R>, off: u64| {
            off < end.cd_end && src.sig_at(off) == Some(SIG_CENTRAL)
        };
        if count == 0 && end.cd_size == 0 {
            moved(rep, end.cd_end);
            end.cd_end
        } else if let Some(inf) = inferred
            .filter(|&inf| count > 0 && central_at(src, inf) && !central_at(src, end.cd_offset))
        {
            // Typically an archive with bytes prefixed to it and offsets left as they were.
            moved(rep, inf);
            shift = inf.saturating_sub(end.cd_offset);
            inf
        } else if !beyond
            && end.cd_offset <= end.cd_end
            && (count == 0 || central_at(src, end.cd_offset))
        {
            end.cd_offset // size wrong, or bytes between the central directory and the end records
        } else if beyond {
            return Err(Stop);
        } else {
            rep.global(
                Code::ZipEndRecord,
                format!(
                    "no central directory at offset {}, where the end record says it starts",
                    end.cd_offset
                ),
            );
            return Err(Stop);
        }
    };
    let region = end.cd_end - cd_start;
    let max_cd = limits.max_entries.saturating_mul(MAX_CENTRAL_RECORD);
    if region > max_cd {
        rep.global(
            Code::LimitEntries,
            format!("the central directory takes {region} bytes, more than {max_cd} (the limit of {} entries allows)", limits.max_entries),
        );
        return Err(Stop);
    }
    if count.saturating_mul(CENTRAL_LEN as u64) > region {
        rep.global(Code::ZipEndRecord, format!("the end record counts {count} entries, more than the {region}-byte central directory can hold"));
        return Err(Stop);
    }
    let mut cd = vec![0u8; region as usize];
    src.read(cd_start, &mut cd, rep, "central directory")?;

    // Parse the records.
    let mut recs: Vec<Central<'_>> = Vec::with_capacity(count as usize);
    let mut p = 0usize;
    let mut cd_complete = true;
    for i in 0..count {
        match parse_central(&cd, p) {
            Some(c) => {
                p += c.len;
                recs.push(c);
            }
            None => {
                rep.global(
                    Code::ZipEndRecord,
                    format!("the end record counts {count} entries, but central directory record {} is missing or cut short", i + 1),
                );
                cd_complete = false;
                break;
            }
        }
    }
    if cd_complete {
        let more = cd.len() - p >= 4 && le32(&cd, p) == SIG_CENTRAL;
        if more {
            rep.global(Code::ZipEndRecord, format!("the central directory holds more records than the {count} the end record counts"));
        } else if p as u64 != end.cd_size {
            rep.global(Code::ZipEndRecord, format!("the end record gives the central directory size as {} bytes, but its records take {p}", end.cd_size));
        }
        if !more && p < cd.len() {
            if cd.len() - p >= EOCD_LEN && le32(&cd, p) == SIG_EOCD {
                // An earlier end record: its comment runs to the end of the file (a comment
                // holding an end record), or other bytes follow it (an archive appended).
                let at = cd_start + p as u64;
                let inner_end = at + (EOCD_LEN as u64) + u64::from(le16(&cd, p + 20));
                if inner_end == src.len {
                    rep.global(Code::ZipComment, "another end of central directory record precedes the last one (an archive comment holding an end record)");
                } else {
                    rep.global(
                        Code::ZipTrailingBytes,
                        format!(
                            "{} bytes follow the end of central directory record at offset {at} (another archive appended to this one)",
                            src.len.saturating_sub(at + EOCD_LEN as u64)
                        ),
                    );
                }
            } else {
                rep.global(
                    Code::ZipGap,
                    format!(
                        "{} bytes between the central directory and the end record",
                        cd.len() - p
                    ),
                );
            }
        }
    }

    // Each record on its own, then the names.
    for (i, c) in recs.iter_mut().enumerate() {
        check_central(rep, i, c);
    }
    // A repeated name, collision key or local header offset is reported with the first entry
    // that has it. A usual bundle has a handful of entries: comparing each with the earlier
    // ones is cheaper there than hashing. Larger archives use hash maps, so that one with the
    // entry limit's worth of entries is not quadratic.
    let scan = recs.len() <= scan_max;
    let mut by_name: HashMap<&[u8], usize> = HashMap::new();
    // Collision keys are held as their SHA-256: 32 bytes each, however long the names.
    let mut by_key: HashMap<[u8; 32], usize> = HashMap::new();
    // When scanning: each name's collision key (`None` when the name is not UTF-8).
    let keys: Vec<Option<Key<'_>>> = if scan {
        recs.iter().map(|c| Key::of(c.name)).collect()
    } else {
        Vec::new()
    };
    let mut total = 0u64;
    for i in 0..recs.len() {
        let (earlier, rest) = recs.split_at_mut(i);
        let c = &mut rest[0];
        let s = c.shown();
        let big = c.size.max(c.csize);
        if big > limits.max_file_size {
            rep.entry(
                i,
                s,
                Code::LimitSize,
                format!(
                    "{big} bytes, more than the per-file limit of {}",
                    limits.max_file_size
                ),
            );
        }
        let before = total;
        total = total.saturating_add(big);
        if total > limits.max_total_size && before <= limits.max_total_size {
            rep.entry(
                i,
                s,
                Code::LimitSize,
                format!(
                    "the entries add up to more than the total limit of {} bytes",
                    limits.max_total_size
                ),
            );
        }
        let checked = match c.name.strip_suffix(b"/") {
            Some(dir) => {
                rep.entry(
                    i,
                    s,
                    Code::ZipNotRegularFile,
                    "the name ends with `/`: a directory entry",
                );
                if dir.is_empty() {
                    Ok("")
                } else {
                    path::check_bytes(dir)
                }
            }
            None => path::check_bytes(c.name),
        };
        match checked {
            Ok(name) if !c.name.ends_with(b"/") => c.valid_name = Some(name),
            Ok(_) => {}
            Err((code, why)) => rep.entry(i, s, code, why),
        }
        let same_name = if scan {
            earlier.iter().position(|e| e.name == c.name)
        } else {
            first_or_insert(&mut by_name, c.name, i)
        };
        if let Some(j) = same_name {
            rep.entry(
                i,
                s,
                Code::ZipDuplicateName,
                format!("entry {} has the same name as entry {}", i + 1, j + 1),
            );
            continue;
        }
        // The first earlier entry with the same key is never one skipped above (its name
        // would have come first), so scanning all earlier keys finds what the map holds.
        let same_key = if scan {
            keys[i].as_ref().and_then(|k| {
                keys[..i]
                    .iter()
                    .position(|o| o.as_ref().is_some_and(|o| o.same(k)))
            })
        } else if let Ok(n) = std::str::from_utf8(c.name) {
            let key: [u8; 32] = Sha256::digest(path::collision_key(n).as_bytes()).into();
            first_or_insert(&mut by_key, key, i)
        } else {
            None
        };
        if let Some(j) = same_key {
            rep.entry(
                i,
                s,
                Code::ZipNameCollision,
                format!(
                    "the name is the same as `{}` after Unicode normalization and case folding",
                    earlier[j].shown()
                ),
            );
        }
    }

    // Walk the local headers in central directory order.
    let mut expected = 0u64;
    let mut by_offset: HashMap<u64, usize> = HashMap::new();
    // The local header being checked, and the canonical headers rendered for comparison:
    // reused from entry to entry.
    let longest = recs.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut header = Vec::with_capacity(LOCAL_LEN + longest + 20);
    let mut want = Vec::with_capacity(CENTRAL_LEN + longest + 28);
    for i in 0..recs.len() {
        let (earlier, rest) = recs.split_at_mut(i);
        let c = &mut rest[0];
        let s = c.shown();
        let off = c.offset.saturating_add(shift);
        // Overlapping entries were not kept by the map, but share the offset of one earlier
        // entry that was: scanning finds that one first.
        let same_offset = if scan {
            earlier
                .iter()
                .position(|e| e.offset.saturating_add(shift) == off)
        } else {
            first_or_insert(&mut by_offset, off, i)
        };
        if let Some(j) = same_offset {
            rep.entry(
                i,
                s,
                Code::ZipOverlap,
                format!(
                    "the entry has the same local header offset ({off}) as `{}`",
                    earlier[j].shown()
                ),
            );
            continue;
        }
        if i == 0 && off > 0 {
            rep.entry(
                i,
                s,
                Code::ZipPrefixBytes,
                format!("{off} bytes come before the first local file header"),
            );
        } else if off > expected {
            rep.entry(
                i,
                s,
                Code::ZipGap,
                format!(
                    "{} unaccounted bytes before this entry's local header",
                    off - expected
                ),
            );
        } else if off < expected {
            rep.entry(
                i,
                s,
                Code::ZipOverlap,
                format!("the local header at offset {off} lies inside the previous entry, which extends to offset {expected}"),
            );
        }
        let data_offset = walk_local(src, rep, i, c, off, cd_start, &mut header)?;
        if let Some(d) = data_offset {
            expected = expected.max(d.saturating_add(c.csize));
        }
        // Final check of this entry, unless something specific was found: re-render both
        // headers from the parsed values and compare.
        if !rep.has_entry(i) {
            let local = data_offset.map(|_| header.as_slice());
            compare_canonical(rep, i, c, &cd[c.at..c.at + c.len], local, &mut want);
        }
        c.data_offset = data_offset;
    }
    if cd_complete {
        if recs.is_empty() && cd_start > 0 {
            rep.global(
                Code::ZipPrefixBytes,
                format!("{cd_start} bytes come before the central directory of an empty archive"),
            );
        } else if !recs.is_empty() && expected < cd_start {
            rep.global(
                Code::ZipGap,
                format!(
                    "{} unaccounted bytes between the last entry and the central directory",
                    cd_start - expected
                ),
            );
        }
    }

    if rep.is_empty() {
        // Whole-file layout: entries from byte 0, then the central directory, then the end records.
        let mut pos = 0u64;
        let mut cd_len = 0u64;
        for c in &recs {
            let data_offset = c.data_offset.ok_or(Stop)?;
            let header_len = (LOCAL_LEN + c.name.len() + local_extra(c.size).len) as u64;
            if c.offset != pos || data_offset != pos + header_len {
                rep.global(
                    Code::ZipGap,
                    format!("entry `{}` is not at its canonical offset {pos}", c.shown()),
                );
            }
            pos = pos.saturating_add(header_len).saturating_add(c.size);
            cd_len += c.len as u64;
        }
        want.clear();
        render_end(&mut want, recs.len() as u64, cd_len, pos);
        let end_start = pos.saturating_add(cd_len);
        if cd_start != pos
            || end_start.saturating_add(want.len() as u64) != src.len
            || end.eocd_pos + EOCD_LEN as u64 != src.len
        {
            rep.global(
                Code::ZipEndRecord,
                "the central directory and end records are not at their canonical place",
            );
        } else {
            let mut got = [0u8; END_RECORDS_MAX];
            let got = &mut got[..want.len()];
            src.read(end_start, got, rep, "end records")?;
            if let Some(at) = first_diff(got, &want) {
                let code = if want.len() > EOCD_LEN && at < want.len() - EOCD_LEN {
                    Code::ZipZip64
                } else {
                    Code::ZipEndRecord
                };
                rep.global(
                    code,
                    format!("the end records differ from the canonical ones (byte {at})"),
                );
            }
        }
    }
    if !rep.is_empty() {
        return Err(Stop);
    }
    let mut out = Vec::with_capacity(recs.len());
    for c in recs {
        let (Some(data_offset), Some(name)) = (c.data_offset, c.valid_name) else {
            return Err(Stop);
        };
        out.push(Entry {
            name: name.to_owned(),
            data_offset,
            size: c.size,
            crc32: c.crc,
        });
    }
    Ok(out)
}

/// Up to this many entries, repeated names, collision keys and offsets are found by comparing
/// each entry with the earlier ones instead of with hash maps (see `read_inner`).
const SCAN_MAX: usize = 32;

/// The value `map` holds for `k`, or `None` after inserting `i` for it.
fn first_or_insert<K: Hash + Eq>(map: &mut HashMap<K, usize>, k: K, i: usize) -> Option<usize> {
    match map.entry(k) {
        MapEntry::Occupied(e) => Some(*e.get()),
        MapEntry::Vacant(v) => {
            v.insert(i);
            None
        }
    }
}

/// A name's collision key ([`path::collision_key`]), built only when it has to be: an ASCII
/// name's key is the name in lower case (NFC leaves ASCII as it is, and Unicode case folding
/// changes only A-Z in it), which is compared without being built.
enum Key<'a> {
    /// An ASCII name, whose key is its lower case.
    Ascii(&'a [u8]),
    /// The key of any other name.
    Folded(String),
}

impl<'a> Key<'a> {
    /// The key of a name, or `None` when the name is not UTF-8.
    fn of(name: &'a [u8]) -> Option<Key<'a>> {
        if name.is_ascii() {
            return Some(Key::Ascii(name));
        }
        let n = std::str::from_utf8(name).ok()?;
        Some(Key::Folded(path::collision_key(n)))
    }

    /// Whether two names collide.
    fn same(&self, other: &Key<'_>) -> bool {
        /// An ASCII name against a built key.
        fn ascii_is(a: &[u8], key: &str) -> bool {
            a.len() == key.len()
                && a.iter()
                    .zip(key.as_bytes())
                    .all(|(x, y)| x.to_ascii_lowercase() == *y)
        }
        match (self, other) {
            (Key::Ascii(a), Key::Ascii(b)) => a.eq_ignore_ascii_case(b),
            (Key::Ascii(a), Key::Folded(k)) | (Key::Folded(k), Key::Ascii(a)) => ascii_is(a, k),
            (Key::Folded(a), Key::Folded(b)) => a == b,
        }
    }
}

/// The last check of an entry: both headers re-rendered from the values parsed, compared with
/// the bytes of the file (`central` is the record's bytes; `local` the local header, if read).
/// `want` is a buffer for the rendering.
fn compare_canonical(
    rep: &mut Report,
    i: usize,
    c: &Central<'_>,
    central: &[u8],
    local: Option<&[u8]>,
    want: &mut Vec<u8>,
) {
    want.clear();
    render_central(want, c.name, c.size, c.crc, c.offset);
    if let Some(at) = first_diff(central, want) {
        let (code, field) = central_field(at);
        rep.entry(
            i,
            c.shown(),
            code,
            format!(
                "the central directory record differs from the canonical one ({field}, byte {at})"
            ),
        );
        return;
    }
    if let Some(l) = local {
        want.clear();
        render_local(want, c.name, c.size, c.crc, c.offset);
        if let Some(at) = first_diff(l, want) {
            let (code, field) = local_field(at);
            rep.entry(
                i,
                c.shown(),
                code,
                format!("the local header differs from the canonical one ({field}, byte {at})"),
            );
        }
    }
}

/// Read and check the local header of entry `i` at `off` into `header`; return where the
/// entry's data starts. `Ok(None)` when it cannot be read (reported); `Err` only for I/O errors.
fn walk_local<R: Read + Seek>(
    src: &mut Src<'_, R>,
    rep: &mut Report,
    i: usize,
    c: &Central<'_>,
    off: u64,
    cd_start: u64,
    header: &mut Vec<u8>,
) -> Result<Option<u64>, Stop> {
    let s = c.shown();
    if past(off, LOCAL_LEN as u64, src.len) {
        rep.entry(
            i,
            s,
            Code::ZipTruncated,
            format!("the local header offset {off} is past the end of the file"),
        );
        return Ok(None);
    }
    if off >= cd_start {
        rep.entry(
            i,
            s,
            Code::ZipOverlap,
            format!("the local header offset {off} points into the central directory or past it"),
        );
        return Ok(None);
    }
    // `header` keeps its bytes from entry to entry: resizing zeroes only what it grows by, and
    // every byte kept is read over.
    header.resize(LOCAL_LEN, 0);
    src.read(off, header, rep, "local file header")?;
    if le32(header, 0) != SIG_LOCAL {
        rep.entry(
            i,
            s,
            Code::ZipHeaderMismatch,
            format!("there is no local file header at offset {off}"),
        );
        return Ok(None);
    }
    let n = le16(header, 26) as usize;
    let m = le16(header, 28) as usize;
    let var_at = off + LOCAL_LEN as u64;
    if past(var_at, (n + m) as u64, src.len) {
        rep.entry(
            i,
            s,
            Code::ZipTruncated,
            "the file ends inside the local header's name or extra field",
        );
        return Ok(None);
    }
    header.resize(LOCAL_LEN + n + m, 0);
    src.read(
        var_at,
        &mut header[LOCAL_LEN..],
        rep,
        "local file header name and extra field",
    )?;
    let header = header.as_slice();
    let (name, extra) = header[LOCAL_LEN..].split_at(n);

    let (needed, flags, method, time, date, crc) = (
        le16(header, 4),
        le16(header, 6),
        le16(header, 8),
        le16(header, 10),
        le16(header, 12),
        le32(header, 14),
    );
    let (csize32, usize32) = (le32(header, 18), le32(header, 22));
    let zip64 = check_extra(rep, i, s, extra, "local header");
    let v = resolve_zip64(
        rep,
        i,
        s,
        "local header",
        [("uncompressed size", usize32), ("compressed size", csize32)],
        zip64,
    );
    let [lsize, lcsize] = v;
    if zip64.is_some() && csize32 as u64 != ONES32 && usize32 as u64 == ONES32 {
        // APPNOTE: a local ZIP64 field holds both sizes; the writer never writes this.
        rep.entry(
            i,
            s,
            Code::ZipZip64,
            "the local header's ZIP64 field holds only one of the two sizes",
        );
    }

    let mut differ = Vec::new();
    if name != c.name {
        differ.push("name");
    }
    if needed != c.needed {
        differ.push("version needed");
    }
    if flags != c.flags {
        differ.push("flags");
    }
    if method != c.method {
        differ.push("method");
    }
    if time != c.time || date != c.date {
        differ.push("time/date");
    }
    if crc != c.crc {
        differ.push("CRC-32");
    }
    if csize32 != c.csize32 || usize32 != c.usize32 || lsize != c.size || lcsize != c.csize {
        differ.push("sizes");
    }
    // A non-canonical extra field that both headers share is reported by `check_extra`; this
    // is only about the two disagreeing.
    if extra != local_extra(c.size).as_slice() && extra != c.extra {
        differ.push("extra field");
    }
    if !differ.is_empty() {
        rep.entry(
            i,
            s,
            Code::ZipHeaderMismatch,
            format!(
                "the local header disagrees with the central directory on: {}",
                differ.join(", ")
            ),
        );
    }
    // Non-canonical values that appear only in the local header get their own code too.
    if flags != c.flags {
        flag_findings(rep, i, s, flags, "local header");
    }
    if method != c.method && method != 0 {
        rep.entry(
            i,
            s,
            Code::ZipMethod,
            format!("the local header gives compression method {method}"),
        );
    }
    if lsize != lcsize {
        rep.entry(i, s, Code::ZipSize, format!("the local header's compressed size {lcsize} differs from its uncompressed size {lsize}"));
    }

    let data_offset = var_at + (n + m) as u64;
    match data_offset.checked_add(c.csize) {
        Some(e) if e <= src.len => {
            if e > cd_start {
                rep.entry(i, s, Code::ZipOverlap, format!("the entry's data ({} bytes from offset {data_offset}) runs into the central directory", c.csize));
            }
        }
        _ => rep.entry(i, s, Code::ZipTruncated, format!("the entry's data ({} bytes from offset {data_offset}) runs past the end of the file", c.csize)),
    }
    Ok(Some(data_offset))
}

thread_local! {
    /// [`hash_entry`]'s buffer, kept for the thread's next call: verifying a bundle hashes each
    /// of its entries in turn, and a bundle archive holds thousands of bundles.
    static HASH_BUF: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Largest [`hash_entry`] buffer kept between calls; larger ones are freed after use.
const HASH_BUF_KEEP: usize = 64 << 10;

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

fn hash_with<R: Read + Seek>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::io::Cursor;
    use std::sync::OnceLock;

    // ---- helpers --------------------------------------------------------------------------

    fn sample() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("data/article.html", b"<h1>Hello</h1>\n".to_vec()),
            (
                "data/attachments/photo.bin",
                (0..5000u32).map(|i| (i * 7 % 251) as u8).collect(),
            ),
            ("data/attachments/zero.txt", Vec::new()),
            (
                "bagit.txt",
                b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec(),
            ),
            (
                "tagmanifest-sha256.txt.minisig",
                b"untrusted comment: x\nRWQ\n".to_vec(),
            ),
        ]
    }

    /// A reader that hands out at most 7 bytes per call.
    struct Dribble<'a>(&'a [u8]);
    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn write(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (i, (name, data)) in entries.iter().enumerate() {
            let d = if i % 2 == 0 {
                w.add_reader(name, data.len() as u64, &mut Dribble(data))
                    .unwrap()
            } else {
                w.add_bytes(name, data).unwrap()
            };
            assert_eq!(d.size, data.len() as u64);
            assert_eq!(d.crc32, crc32fast::hash(data));
            assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(data)));
        }
        w.finish().unwrap().into_inner()
    }

    fn good() -> &'static [u8] {
        static GOOD: OnceLock<Vec<u8>> = OnceLock::new();
        GOOD.get_or_init(|| write(&sample()))
    }

    /// Byte ranges of entry data in `good()`.
    fn data_ranges() -> &'static [(usize, usize)] {
        static R: OnceLock<Vec<(usize, usize)>> = OnceLock::new();
        R.get_or_init(|| {
            let bytes = good();
            let entries = read(bytes).unwrap();
            entries
                .iter()
                .map(|e| (e.data_offset as usize, (e.data_offset + e.size) as usize))
                .collect()
        })
    }

    fn read(bytes: &[u8]) -> Result<Vec<Entry>, Vec<Finding>> {
        read_strict(
            &mut Cursor::new(bytes),
            bytes.len() as u64,
            &Limits::default(),
        )
    }

    fn codes(bytes: &[u8]) -> Vec<Code> {
        match read(bytes) {
            Ok(_) => vec![],
            Err(f) => f.iter().map(|f| f.code).collect(),
        }
    }

    #[track_caller]
    fn assert_code(bytes: &[u8], code: Code) {
        match read(bytes) {
            Ok(_) => panic!("accepted; expected {code}"),
            Err(f) => {
                assert!(
                    f.iter().any(|f| f.code == code),
                    "expected {code}, got:\n{}",
                    show(&f)
                );
                for x in &f {
                    assert!(!x.message.is_empty());
                }
            }
        }
    }

    #[track_caller]
    fn assert_only(bytes: &[u8], code: Code) {
        let got = codes(bytes);
        assert!(
            !got.is_empty() && got.iter().all(|c| *c == code),
            "expected only {code}, got {got:?}:\n{}",
            show(&read(bytes).unwrap_err())
        );
    }

    fn show(f: &[Finding]) -> String {
        f.iter().map(|f| format!("  {f}\n")).collect()
    }

    fn set16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    /// Set a 16-bit field at `local` in a local header or at `central` in a central one.
    fn set_both16(h: &mut [u8], local: usize, central: usize, v: u16) {
        let at = if le32(h, 0) == SIG_LOCAL {
            local
        } else {
            central
        };
        set16(h, at, v);
    }
    fn set32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn local_set_extra(h: &mut Vec<u8>, extra: &[u8]) {
        let n = le16(h, 26) as usize;
        h.truncate(LOCAL_LEN + n);
        h.extend_from_slice(extra);
        set16(h, 28, extra.len() as u16);
    }
    fn central_set_extra(h: &mut Vec<u8>, extra: &[u8]) {
        let (n, m) = (le16(h, 28) as usize, le16(h, 30) as usize);
        let comment = h[CENTRAL_LEN + n + m..].to_vec();
        h.truncate(CENTRAL_LEN + n);
        h.extend_from_slice(extra);
        h.extend_from_slice(&comment);
        set16(h, 30, extra.len() as u16);
    }
    fn central_set_comment(h: &mut Vec<u8>, comment: &[u8]) {
        let (n, m) = (le16(h, 28) as usize, le16(h, 30) as usize);
        h.truncate(CENTRAL_LEN + n + m);
        h.extend_from_slice(comment);
        set16(h, 32, comment.len() as u16);
    }
    fn extra(id: u16, data: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        put16(&mut e, id);
        put16(&mut e, data.len() as u16);
        e.extend_from_slice(data);
        e
    }

    /// Hand-assembles archives from the rendering functions, with hooks to damage them.
    #[derive(Clone, Default)]
    struct Asm {
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        prefix: Vec<u8>,
        gaps: BTreeMap<usize, Vec<u8>>,
        before_end: Vec<u8>,
        trailing: Vec<u8>,
    }

    type Hook<'a> = &'a dyn Fn(usize, &mut Vec<u8>);

    impl Asm {
        fn new(entries: &[(&[u8], &[u8])]) -> Self {
            Asm {
                entries: entries
                    .iter()
                    .map(|(n, d)| (n.to_vec(), d.to_vec()))
                    .collect(),
                ..Asm::default()
            }
        }
        fn sample() -> Self {
            let s = sample();
            Asm {
                entries: s
                    .into_iter()
                    .map(|(n, d)| (n.as_bytes().to_vec(), d))
                    .collect(),
                ..Asm::default()
            }
        }
        fn build(&self) -> Vec<u8> {
            self.build_with(&|_, _| {}, &|_, _| {}, &|_, _| {})
        }
        fn local(&self, f: Hook<'_>) -> Vec<u8> {
            self.build_with(f, &|_, _| {}, &|_, _| {})
        }
        fn central(&self, f: Hook<'_>) -> Vec<u8> {
            self.build_with(&|_, _| {}, f, &|_, _| {})
        }
        fn both(&self, f: Hook<'_>) -> Vec<u8> {
            self.build_with(f, f, &|_, _| {})
        }
        fn end(&self, f: Hook<'_>) -> Vec<u8> {
            self.build_with(&|_, _| {}, &|_, _| {}, f)
        }
        /// `local` and `central` get the entry index and the header; `end` gets 0 and the end
        /// records.
        fn build_with(&self, local: Hook<'_>, central: Hook<'_>, end: Hook<'_>) -> Vec<u8> {
            let mut out = self.prefix.clone();
            let mut cd = Vec::new();
            for (i, (name, data)) in self.entries.iter().enumerate() {
                let off = out.len() as u64;
                let (size, crc) = (data.len() as u64, crc32fast::hash(data));
                let mut h = Vec::new();
                render_local(&mut h, name, size, crc, off);
                local(i, &mut h);
                out.extend_from_slice(&h);
                out.extend_from_slice(data);
                if let Some(g) = self.gaps.get(&i) {
                    out.extend_from_slice(g);
                }
                let mut c = Vec::new();
                render_central(&mut c, name, size, crc, off);
                central(i, &mut c);
                cd.extend_from_slice(&c);
            }
            let cd_off = out.len() as u64;
            out.extend_from_slice(&cd);
            out.extend_from_slice(&self.before_end);
            let mut e = Vec::new();
            render_end(&mut e, self.entries.len() as u64, cd.len() as u64, cd_off);
            end(0, &mut e);
            out.extend_from_slice(&e);
            out.extend_from_slice(&self.trailing);
            out
        }
    }

    // ---- writer ---------------------------------------------------------------------------

    #[test]
    fn writer_output_is_exact() {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        w.add_bytes("a", b"x").unwrap();
        let got = w.finish().unwrap().into_inner();
        let crc = crc32fast::hash(b"x").to_le_bytes();
        let mut want = vec![
            0x50, 0x4b, 0x03, 0x04, 20, 0, 0x00, 0x08, 0, 0, 0, 0, 0x21, 0,
        ];
        want.extend_from_slice(&crc);
        want.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, b'a', b'x']);
        let cd_off = want.len() as u8;
        want.extend_from_slice(&[
            0x50, 0x4b, 0x01, 0x02, 20, 3, 20, 0, 0x00, 0x08, 0, 0, 0, 0, 0x21, 0,
        ]);
        want.extend_from_slice(&crc);
        want.extend_from_slice(&[
            1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa4, 0x81, 0, 0, 0, 0,
            b'a',
        ]);
        want.extend_from_slice(&[
            0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0, 47, 0, 0, 0, cd_off, 0, 0, 0, 0, 0,
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn writer_is_deterministic_and_matches_the_assembler() {
        let a = write(&sample());
        let b = write(&sample());
        assert_eq!(a, b);
        // All through add_bytes, and all through add_reader, give the same bytes.
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (n, d) in sample() {
            w.add_bytes(n, &d).unwrap();
        }
        assert_eq!(w.finish().unwrap().into_inner(), a);
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for (n, d) in sample() {
            w.add_reader(n, d.len() as u64, &mut d.as_slice()).unwrap();
        }
        assert_eq!(w.finish().unwrap().into_inner(), a);
        assert_eq!(Asm::sample().build(), a);
    }

    #[test]
    fn empty_archive() {
        let bytes = ZipWriter::new(Cursor::new(Vec::new()))
            .finish()
            .unwrap()
            .into_inner();
        assert_eq!(
            bytes,
            [0x50, 0x4b, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(read(&bytes).unwrap(), vec![]);
    }

    #[test]
    fn writer_refuses_bad_names_and_collisions() {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for bad in ["../x", "/abs", "a\\b", "CON", "a/", "", "e\u{301}", "a:b"] {
            let e = w.add_bytes(bad, b"x").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            let e = w.add_reader(bad, 1, &mut &b"x"[..]).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        w.add_bytes("Readme.txt", b"x").unwrap();
        for dup in ["Readme.txt", "README.TXT"] {
            assert_eq!(
                w.add_bytes(dup, b"y").unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
        }
        // Refused names leave nothing behind.
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(read(&bytes).unwrap().len(), 1);
    }

    #[test]
    fn writer_detects_changed_input() {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let e = w.add_reader("short", 10, &mut &b"12345"[..]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string().contains("input changed while being read"),
            "{e}"
        );
        // The archive is incomplete now: everything else fails.
        assert!(w.add_bytes("other", b"x").is_err());
        assert!(w.finish().is_err());

        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let e = w.add_reader("long", 4, &mut &b"12345"[..]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            e.to_string().contains("input changed while being read"),
            "{e}"
        );

        // Exactly at a buffer boundary, too.
        let data = vec![7u8; BUF_SIZE + 1];
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let e = w
            .add_reader("long", BUF_SIZE as u64, &mut data.as_slice())
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn writer_must_start_at_zero() {
        let mut c = Cursor::new(vec![1, 2, 3]);
        c.set_position(3);
        let mut w = ZipWriter::new(c);
        assert_eq!(
            w.add_bytes("a", b"x").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn large_entry_crosses_buffer_boundaries() {
        let data: Vec<u8> = (0..(BUF_SIZE * 2 + 12345) as u32)
            .map(|i| (i % 253) as u8)
            .collect();
        let entries = vec![("data/article.txt", data.clone()), ("b", b"tail".to_vec())];
        let bytes = write(&entries);
        let got = read(&bytes).unwrap();
        let mut out = Vec::new();
        let d = hash_entry(&mut Cursor::new(&bytes), &got[0], Some(&mut out)).unwrap();
        assert_eq!(out, data);
        assert_eq!(d.crc32, got[0].crc32);
        assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
    }

    // ---- round trip and other readers ------------------------------------------------------

    #[test]
    fn round_trip() {
        let bytes = good();
        let entries = read(bytes).unwrap();
        assert_eq!(entries.len(), sample().len());
        for (e, (name, data)) in entries.iter().zip(sample()) {
            assert_eq!(e.name, name);
            assert_eq!(e.size, data.len() as u64);
            assert_eq!(e.crc32, crc32fast::hash(&data));
            assert_eq!(
                &bytes[e.data_offset as usize..(e.data_offset + e.size) as usize],
                data.as_slice()
            );
            let mut out = Vec::new();
            let d = hash_entry(&mut Cursor::new(bytes), e, Some(&mut out)).unwrap();
            assert_eq!(out, data);
            assert_eq!(
                d,
                EntryDigest {
                    size: e.size,
                    crc32: e.crc32,
                    sha256: Sha256::digest(&data).into()
                }
            );
            assert_eq!(hash_entry(&mut Cursor::new(bytes), e, None).unwrap(), d);
        }
    }

    #[test]
    fn hash_entry_reports_short_files() {
        let e = Entry {
            name: "a".into(),
            data_offset: 10,
            size: 100,
            crc32: 0,
        };
        assert!(hash_entry(&mut Cursor::new(vec![0u8; 50]), &e, None).is_err());
    }

    #[test]
    fn zip_crate_reads_the_output() {
        let bytes = good();
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(z.len(), sample().len());
        for (i, (name, data)) in sample().into_iter().enumerate() {
            let mut f = z.by_index(i).unwrap();
            assert_eq!(f.name(), name);
            assert_eq!(f.size(), data.len() as u64);
            assert_eq!(f.compression(), zip::CompressionMethod::Stored);
            assert_eq!(f.unix_mode(), Some(0o100644));
            let mut got = Vec::new();
            f.read_to_end(&mut got).unwrap();
            assert_eq!(got, data);
        }
    }

    fn unzip_test(path: &std::path::Path) -> Option<String> {
        let out = match std::process::Command::new("unzip")
            .arg("-t")
            .arg(path)
            .output()
        {
            Ok(o) => o,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "cannot run unzip (needed in CI): {e}"
                );
                eprintln!("skipping: cannot run unzip: {e}");
                return None;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "unzip -t failed:\n{text}");
        Some(text)
    }

    #[test]
    fn unzip_reads_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.zip");
        std::fs::write(&p, good()).unwrap();
        if let Some(text) = unzip_test(&p) {
            assert!(text.contains("No errors detected"), "{text}");
            for (name, _) in sample() {
                assert!(text.contains(name), "{text}");
            }
        }
    }

    #[test]
    fn info_zip_archives_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"hello\n").unwrap();
        let status = std::process::Command::new("zip")
            .current_dir(dir.path())
            .args(["-q", "-X", "-0", "out.zip", "a.txt"])
            .status();
        if !status.is_ok_and(|s| s.success()) {
            assert!(
                std::env::var_os("CI").is_none(),
                "no working `zip` program (needed in CI)"
            );
            eprintln!("skipping: no working `zip` program");
            return;
        }
        let bytes = std::fs::read(dir.path().join("out.zip")).unwrap();
        let got = codes(&bytes);
        assert!(got.contains(&Code::ZipAttributes), "{got:?}");
    }

    // ---- ZIP64 ----------------------------------------------------------------------------

    #[test]
    fn zip64_rendering_thresholds() {
        let below = ONES32 - 1;
        // Below the thresholds: plain headers.
        let mut h = Vec::new();
        render_local(&mut h, b"n", below, 7, below);
        assert_eq!(h.len(), 31);
        assert_eq!(
            (le16(&h, 4), le32(&h, 18), le32(&h, 22), le16(&h, 28)),
            (20, below as u32, below as u32, 0)
        );
        let mut c = Vec::new();
        render_central(&mut c, b"n", below, 7, below);
        assert_eq!(c.len(), 47);
        assert_eq!(
            (le16(&c, 4), le16(&c, 6), le16(&c, 30), le32(&c, 42)),
            (0x0314, 20, 0, below as u32)
        );

        // Size at the threshold: ZIP64 in both headers, sizes all ones, size twice.
        let size = ONES32;
        let mut h = Vec::new();
        render_local(&mut h, b"n", size, 7, 0);
        assert_eq!(
            (le16(&h, 4), le32(&h, 18), le32(&h, 22), le16(&h, 28)),
            (45, u32::MAX, u32::MAX, 20)
        );
        assert_eq!(
            &h[31..],
            extra(1, &[size.to_le_bytes(), size.to_le_bytes()].concat()).as_slice()
        );
        let mut c = Vec::new();
        render_central(&mut c, b"n", size, 7, 0);
        assert_eq!(
            (
                le16(&c, 4),
                le16(&c, 6),
                le32(&c, 20),
                le32(&c, 24),
                le16(&c, 30),
                le32(&c, 42)
            ),
            (0x032d, 45, u32::MAX, u32::MAX, 20, 0)
        );
        assert_eq!(
            &c[47..],
            extra(1, &[size.to_le_bytes(), size.to_le_bytes()].concat()).as_slice()
        );

        // Offset at the threshold only: version 45 in both, but only the central header has a
        // ZIP64 field, holding just the offset.
        let off = ONES32;
        let mut h = Vec::new();
        render_local(&mut h, b"n", 5, 7, off);
        assert_eq!(
            (h.len(), le16(&h, 4), le32(&h, 18), le16(&h, 28)),
            (31, 45, 5, 0)
        );
        let mut c = Vec::new();
        render_central(&mut c, b"n", 5, 7, off);
        assert_eq!(
            (
                le16(&c, 4),
                le16(&c, 6),
                le32(&c, 20),
                le16(&c, 30),
                le32(&c, 42)
            ),
            (0x032d, 45, 5, 12, u32::MAX)
        );
        assert_eq!(&c[47..], extra(1, &off.to_le_bytes()).as_slice());

        // Both: size, size, offset.
        let (size, off) = (5 << 32, 6 << 32);
        let mut c = Vec::new();
        render_central(&mut c, b"n", size, 7, off);
        assert_eq!(le16(&c, 30), 28);
        assert_eq!(
            &c[47..],
            extra(
                1,
                &[size.to_le_bytes(), size.to_le_bytes(), off.to_le_bytes()].concat()
            )
            .as_slice()
        );
    }

    #[test]
    fn zip64_end_record_thresholds() {
        let mut e = Vec::new();
        render_end(&mut e, 0xFFFE, ONES32 - 1, ONES32 - 1);
        assert_eq!(e.len(), 22);
        assert_eq!(
            (le16(&e, 8), le16(&e, 10), le32(&e, 12), le32(&e, 16)),
            (0xFFFE, 0xFFFE, u32::MAX - 1, u32::MAX - 1)
        );

        for (count, size, off) in [
            (0xFFFF, 10, 20),
            (3, ONES32, 20),
            (3, 10, ONES32),
            (1 << 20, 1 << 33, 1 << 34),
        ] {
            let mut e = Vec::new();
            render_end(&mut e, count, size, off);
            assert_eq!(e.len(), 56 + 20 + 22);
            let z = &e[..56];
            assert_eq!(le32(z, 0), SIG_EOCD64);
            assert_eq!(
                (
                    le64(z, 4),
                    le16(z, 12),
                    le16(z, 14),
                    le32(z, 16),
                    le32(z, 20)
                ),
                (44, 0x032d, 45, 0, 0)
            );
            assert_eq!(
                (le64(z, 24), le64(z, 32), le64(z, 40), le64(z, 48)),
                (count, count, size, off)
            );
            let l = &e[56..76];
            assert_eq!(
                (le32(l, 0), le32(l, 4), le64(l, 8), le32(l, 16)),
                (SIG_LOCATOR, 0, off + size, 1)
            );
            let d = &e[76..];
            assert_eq!(le32(d, 0), SIG_EOCD);
            assert_eq!((le16(d, 4), le16(d, 6), le16(d, 20)), (0, 0, 0));
            assert_eq!(u64::from(le16(d, 8)), count.min(0xFFFF));
            assert_eq!(u64::from(le16(d, 10)), count.min(0xFFFF));
            assert_eq!(u64::from(le32(d, 12)), size.min(ONES32));
            assert_eq!(u64::from(le32(d, 16)), off.min(ONES32));
        }
    }

    /// A file held in memory except for one range that is all zeros and never stored.
    #[derive(Clone)]
    struct Sparse {
        len: u64,
        pos: u64,
        chunks: BTreeMap<u64, Vec<u8>>,
        hole: (u64, u64),
    }

    impl Sparse {
        fn new(hole: (u64, u64)) -> Self {
            Sparse {
                len: 0,
                pos: 0,
                chunks: BTreeMap::new(),
                hole,
            }
        }
    }

    impl Write for Sparse {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (s, e) = (self.pos, self.pos + buf.len() as u64);
            if !(s >= self.hole.0 && e <= self.hole.1) {
                let inside = self
                    .chunks
                    .range_mut(..=s)
                    .next_back()
                    .filter(|(&cs, c)| e <= cs + c.len() as u64);
                match inside {
                    Some((&cs, c)) => c[(s - cs) as usize..(e - cs) as usize].copy_from_slice(buf),
                    None => {
                        self.chunks.insert(s, buf.to_vec());
                    }
                }
            }
            self.pos = e;
            self.len = self.len.max(e);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Read for Sparse {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
            let (s, e) = (self.pos, self.pos + n as u64);
            buf[..n].fill(0);
            for (&cs, c) in self.chunks.range(..e) {
                let ce = cs + c.len() as u64;
                if ce <= s {
                    continue;
                }
                let (from, to) = (cs.max(s), ce.min(e));
                buf[(from - s) as usize..(to - s) as usize]
                    .copy_from_slice(&c[(from - cs) as usize..(to - cs) as usize]);
            }
            self.pos = e;
            Ok(n)
        }
    }

    impl Seek for Sparse {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            self.pos = match to {
                SeekFrom::Start(p) => p,
                SeekFrom::End(d) => self.len.checked_add_signed(d).unwrap(),
                SeekFrom::Current(d) => self.pos.checked_add_signed(d).unwrap(),
            };
            Ok(self.pos)
        }
    }

    /// An entry of exactly 0xFFFFFFFF bytes (the first size that needs ZIP64), followed by one
    /// whose offset needs ZIP64, so that the central directory's offset does too. The data is
    /// streamed and hashed for real, but never stored.
    #[test]
    fn zip64_archive_round_trip() {
        let big = ONES32;
        let data_start = (LOCAL_LEN + 3 + 20) as u64;
        let mut w = ZipWriter::new(Sparse::new((data_start, data_start + big)));
        let d_big = w
            .add_reader("big", big, &mut io::repeat(0).take(big))
            .unwrap();
        let d_small = w.add_bytes("small.txt", b"hi").unwrap();
        let mut f = w.finish().unwrap();

        let len = f.len;
        let entries = read_strict(&mut f, len, &Limits::default()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (
                entries[0].name.as_str(),
                entries[0].data_offset,
                entries[0].size
            ),
            ("big", data_start, big)
        );
        assert_eq!(entries[0].crc32, d_big.crc32);
        assert_eq!(
            (entries[1].name.as_str(), entries[1].size),
            ("small.txt", 2)
        );
        assert_eq!(
            entries[1].data_offset,
            data_start + big + (LOCAL_LEN + 9) as u64
        );
        assert_eq!(hash_entry(&mut f, &entries[1], None).unwrap(), d_small);
        assert_eq!(hash_entry(&mut f, &entries[0], None).unwrap(), d_big);

        // The zip crate agrees on the ZIP64 layout.
        f.pos = 0;
        let mut z = zip::ZipArchive::new(f).unwrap();
        let a = z.by_index_raw(0).unwrap();
        assert_eq!(
            (a.name(), a.size(), a.compressed_size(), a.data_start()),
            ("big", big, big, data_start)
        );
        drop(a);
        let b = z.by_index_raw(1).unwrap();
        assert_eq!(
            (b.name(), b.size(), b.header_start()),
            ("small.txt", 2, data_start + big)
        );
        drop(b);
        let mut f = z.into_inner();

        // A too small size limit is reported without reading the data.
        let limits = Limits {
            max_file_size: 1 << 30,
            ..Limits::default()
        };
        let err = read_strict(&mut f, len, &limits).unwrap_err();
        assert_eq!(
            err.iter().map(|f| f.code).collect::<Vec<_>>(),
            vec![Code::LimitSize]
        );
    }

    #[test]
    fn zip64_for_many_entries() {
        let n = 0xFFFF;
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..n {
            w.add_bytes(&format!("f{i:05}"), b"").unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let tail = &bytes[bytes.len() - 98..];
        assert_eq!(le32(tail, 0), SIG_EOCD64);
        assert_eq!(le16(tail, 76 + 10), 0xFFFF);
        let limits = Limits {
            max_entries: 70_000,
            ..Limits::default()
        };
        let entries = read_strict(&mut Cursor::new(&bytes), bytes.len() as u64, &limits).unwrap();
        assert_eq!(entries.len(), n);
        assert_eq!(entries[n - 1].name, "f65534");
        let z = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(z.len(), n);
        // The default limit refuses it before reading the central directory.
        assert_eq!(codes(&bytes), vec![Code::LimitEntries]);
        // One entry fewer: no ZIP64.
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..n - 1 {
            w.add_bytes(&format!("f{i:05}"), b"").unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        assert_ne!(le32(&bytes, bytes.len() - 98), SIG_EOCD64);
        assert_eq!(
            read_strict(&mut Cursor::new(&bytes), bytes.len() as u64, &limits)
                .unwrap()
                .len(),
            n - 1
        );
    }

    /// The real thing on disk (about 4 GiB, written sparsely); run with `--ignored`.
    #[test]
    #[ignore]
    fn zip64_file_on_disk_passes_unzip() {
        struct Holes(std::fs::File, (u64, u64), u64);
        impl Write for Holes {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let e = self.2 + buf.len() as u64;
                if self.2 >= self.1 .0 && e <= self.1 .1 {
                    self.0.seek(SeekFrom::Start(e))?;
                } else {
                    self.0.write_all(buf)?;
                }
                self.2 = e;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                self.0.flush()
            }
        }
        impl Seek for Holes {
            fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
                self.2 = self.0.seek(to)?;
                Ok(self.2)
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.zip");
        let big = ONES32 + 10;
        let data_start = (LOCAL_LEN + 3 + 20) as u64;
        let f = std::fs::File::create(&p).unwrap();
        let mut w = ZipWriter::new(Holes(f, (data_start, data_start + big), 0));
        w.add_reader("big", big, &mut io::repeat(0).take(big))
            .unwrap();
        w.add_bytes("small.txt", b"hi").unwrap();
        w.finish().unwrap();
        let mut f = std::fs::File::open(&p).unwrap();
        let len = f.metadata().unwrap().len();
        assert_eq!(
            read_strict(&mut f, len, &Limits::default()).unwrap().len(),
            2
        );
        unzip_test(&p);
    }

    // ---- hostile archives: one test per code --------------------------------------------------

    #[test]
    fn not_zip() {
        assert_only(
            b"this is plainly not a ZIP archive, just text",
            Code::ZipNotZip,
        );
        assert_only(b"PK\x05\x06", Code::ZipNotZip);
        assert_only(b"", Code::ZipNotZip);
    }

    #[test]
    fn truncated() {
        let g = good();
        assert_only(&g[..g.len() / 2], Code::ZipTruncated);
        assert_only(&g[..g.len() - 1], Code::ZipTruncated);
        // An entry whose data runs past the end of the file: the central directory is
        // consistent, but the size in both headers is huge.
        let a = Asm::new(&[(b"a", b"abc")]);
        let bytes = a.both(&|_, h| {
            let at = if le32(h, 0) == SIG_LOCAL { 18 } else { 20 };
            set32(h, at, 0x7000_0000);
            set32(h, at + 4, 0x7000_0000);
        });
        assert_code(&bytes, Code::ZipTruncated);
        // The end record points past the end of the file.
        let mut bytes = good().to_vec();
        let n = bytes.len();
        set32(&mut bytes, n - 6, 0x7fff_ffff);
        assert_code(&bytes, Code::ZipTruncated);
        // A file shorter than the length it was said to have.
        let g = good();
        let err = read_strict(
            &mut Cursor::new(&g[..g.len() - 30]),
            g.len() as u64,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.iter().any(|f| f.code == Code::ZipTruncated), "{err:?}");
    }

    #[test]
    fn prefix_bytes() {
        // Janus style: offsets adjusted to the prefix.
        let mut a = Asm::sample();
        a.prefix = b"dex\n035\0 some other file format".to_vec();
        assert_only(&a.build(), Code::ZipPrefixBytes);
        // Plain concatenation: the offsets are all off by the prefix.
        let bytes = [b"#!/bin/sh\nexit 0\n".as_slice(), good()].concat();
        let got = codes(&bytes);
        assert!(
            got.contains(&Code::ZipPrefixBytes) && got.contains(&Code::ZipEndRecord),
            "{got:?}"
        );
        // An empty archive after some bytes.
        let empty = ZipWriter::new(Cursor::new(Vec::new()))
            .finish()
            .unwrap()
            .into_inner();
        let bytes = [b"xx".as_slice(), &empty].concat();
        assert_code(&bytes, Code::ZipPrefixBytes);
        let mut bytes = bytes;
        set32(&mut bytes, 2 + 16, 2);
        assert_only(&bytes, Code::ZipPrefixBytes);
    }

    #[test]
    fn gap() {
        let mut a = Asm::sample();
        a.gaps.insert(1, b"hidden".to_vec());
        assert_only(&a.build(), Code::ZipGap);
        let mut a = Asm::sample();
        a.gaps.insert(
            a.entries.len() - 1,
            b"before the central directory".to_vec(),
        );
        assert_only(&a.build(), Code::ZipGap);
        let mut a = Asm::sample();
        a.before_end = b"between".to_vec();
        assert_code(&a.build(), Code::ZipGap);
    }

    /// Regression (hostile corpus, `trailing-second-archive`): a second archive appended to the
    /// first was reported as an archive comment.
    #[test]
    fn appended_archive_is_trailing_bytes_not_a_comment() {
        assert_only(&[good(), good()].concat(), Code::ZipTrailingBytes);
    }

    /// Regression (hostile corpus, `extra-field-timestamp`): the same extra field in both
    /// headers is a non-canonical extra field, not a disagreement between the headers.
    #[test]
    fn shared_extra_field_is_not_a_header_mismatch() {
        let a = Asm::sample();
        let x = extra(0x5455, &[1, 0, 0, 0, 0]);
        let bytes = a.build_with(
            &|i, h| {
                if i == 0 {
                    local_set_extra(h, &x)
                }
            },
            &|i, h| {
                if i == 0 {
                    central_set_extra(h, &x)
                }
            },
            &|_, _| {},
        );
        assert_only(&bytes, Code::ZipExtraField);
        // Only in the local header: both.
        let bytes = a.local(&|i, h| {
            if i == 0 {
                local_set_extra(h, &x)
            }
        });
        let got = codes(&bytes);
        assert!(
            got.contains(&Code::ZipHeaderMismatch) && got.contains(&Code::ZipExtraField),
            "{got:?}"
        );
    }

    /// Findings of one code are listed up to the cap, then counted in one more finding.
    #[test]
    fn findings_of_one_code_are_capped() {
        let names: Vec<Vec<u8>> = (0..250).map(|i| format!("a/../{i}").into_bytes()).collect();
        let list: Vec<(&[u8], &[u8])> = names.iter().map(|n| (n.as_slice(), &b"x"[..])).collect();
        let f = read(&Asm::new(&list).build()).unwrap_err();
        assert_eq!(f.len(), MAX_FINDINGS_PER_CODE + 1);
        assert!(f.iter().all(|f| f.code == Code::PathTraversal));
        assert!(f[MAX_FINDINGS_PER_CODE]
            .message
            .starts_with("150 more findings"));
    }

    /// A name longer than any path is shown cut, so findings stay small.
    #[test]
    fn long_names_are_shown_cut() {
        let name = vec![b'n'; 60_000];
        let f = read(&Asm::new(&[(&name, b"x")]).build()).unwrap_err();
        assert_eq!(f[0].code, Code::PathTooLong);
        let shown = f[0].path.as_deref().unwrap();
        assert!(
            shown.ends_with("... (60000 bytes)") && shown.len() < 1100,
            "{}",
            shown.len()
        );
    }

    #[test]
    fn trailing_bytes() {
        assert_only(&[good(), b"trailing"].concat(), Code::ZipTrailingBytes);
        assert_only(&[good(), &[0u8; 1000]].concat(), Code::ZipTrailingBytes);
        // An archive appended to another: the last end record wins, which is not at the end.
        let mut a = Asm::sample();
        a.trailing = vec![0x50, 0x4b, 5, 6];
        assert_code(&a.build(), Code::ZipTrailingBytes);
    }

    #[test]
    fn overlap() {
        let a = Asm::sample();
        // Two records point at the same local header.
        assert_code(
            &a.central(&|i, h| {
                if i == 1 {
                    set32(h, 42, 0)
                }
            }),
            Code::ZipOverlap,
        );
        // Offsets go backwards (entries 1 and 2 swapped in the central directory).
        let bytes = a.build();
        let es = read(&bytes).unwrap();
        let off = |i: usize| (es[i].data_offset - (LOCAL_LEN + es[i].name.len()) as u64) as u32;
        let (o1, o2) = (off(1), off(2));
        assert_code(
            &a.central(&|i, h| match i {
                1 => set32(h, 42, o2),
                2 => set32(h, 42, o1),
                _ => {}
            }),
            Code::ZipOverlap,
        );
        // An entry's declared extent runs past the next header (sizes agree in both headers).
        let bytes = a.both(&|i, h| {
            if i == 0 {
                let at = if le32(h, 0) == SIG_LOCAL { 18 } else { 20 };
                set32(h, at, 100);
                set32(h, at + 4, 100);
            }
        });
        assert_code(&bytes, Code::ZipOverlap);
        // The last entry runs into the central directory.
        let last = a.entries.len() - 1;
        let bytes = a.both(&|i, h| {
            if i == last {
                let at = if le32(h, 0) == SIG_LOCAL { 18 } else { 20 };
                set32(h, at, 60);
                set32(h, at + 4, 60);
            }
        });
        assert_code(&bytes, Code::ZipOverlap);
    }

    #[test]
    fn comment() {
        let mut bytes = good().to_vec();
        let n = bytes.len();
        set16(&mut bytes, n - 2, 7);
        bytes.extend_from_slice(b"comment");
        assert_only(&bytes, Code::ZipComment);
        // A comment length without the comment.
        let mut bytes = good().to_vec();
        set16(&mut bytes, n - 2, 7);
        assert_code(&bytes, Code::ZipComment);
        // A comment that holds a fake end record.
        let mut bytes = good().to_vec();
        set16(&mut bytes, n - 2, 22);
        bytes.extend_from_slice(&good()[n - 22..]);
        assert_code(&bytes, Code::ZipComment);
    }

    #[test]
    fn entry_comment() {
        let a = Asm::sample();
        assert_only(
            &a.central(&|i, h| {
                if i == 2 {
                    central_set_comment(h, b"note")
                }
            }),
            Code::ZipEntryComment,
        );
    }

    #[test]
    fn end_record() {
        let n = good().len();
        let patch = |at: usize, v: u16| {
            let mut b = good().to_vec();
            set16(&mut b, n - 22 + at, v);
            b
        };
        assert_code(&patch(4, 1), Code::ZipEndRecord); // disk number
        assert_code(&patch(6, 1), Code::ZipEndRecord); // central directory disk
        assert_code(&patch(8, 4), Code::ZipEndRecord); // entries on this disk
        assert_code(&patch(10, 4), Code::ZipEndRecord); // total entries (fewer)
        let count = le16(good(), n - 12);
        assert_code(&patch(8, count + 1), Code::ZipEndRecord);
        let mut b = good().to_vec();
        set16(&mut b, n - 14, count + 1);
        set16(&mut b, n - 12, count + 1);
        assert_code(&b, Code::ZipEndRecord); // more entries than there are
        let mut b = good().to_vec();
        let size = le32(&b, n - 10);
        set32(&mut b, n - 10, size - 1);
        assert_code(&b, Code::ZipEndRecord); // central directory size
        let mut b = good().to_vec();
        let off = le32(&b, n - 6);
        set32(&mut b, n - 6, off - 1);
        assert_code(&b, Code::ZipEndRecord); // central directory offset
    }

    #[test]
    fn zip64() {
        let a = Asm::sample();
        // A ZIP64 field that nothing needs, in the central directory and in both headers.
        let z = extra(1, &[]);
        assert_code(
            &a.central(&|i, h| {
                if i == 0 {
                    central_set_extra(h, &z)
                }
            }),
            Code::ZipZip64,
        );
        // Sizes moved into ZIP64 fields although they fit.
        let bytes = a.both(&|i, h| {
            if i == 1 {
                let local = le32(h, 0) == SIG_LOCAL;
                let (at, size) = if local {
                    (18, le32(h, 18))
                } else {
                    (20, le32(h, 20))
                };
                set32(h, at, u32::MAX);
                set32(h, at + 4, u32::MAX);
                let z = extra(
                    1,
                    &[u64::from(size).to_le_bytes(), u64::from(size).to_le_bytes()].concat(),
                );
                if local {
                    local_set_extra(h, &z)
                } else {
                    central_set_extra(h, &z)
                }
            }
        });
        assert_code(&bytes, Code::ZipZip64);
        // 0xFFFFFFFF without a ZIP64 field.
        assert_code(
            &a.central(&|i, h| {
                if i == 1 {
                    set32(h, 42, u32::MAX)
                }
            }),
            Code::ZipZip64,
        );
        // ZIP64 markers in the end record without ZIP64 records.
        let mut b = good().to_vec();
        let n = b.len();
        set32(&mut b, n - 6, u32::MAX);
        assert_only(&b, Code::ZipZip64);
        // ZIP64 end records although nothing needs them.
        let bytes = a.end(&|_, e| {
            let (count, size, off) = (
                u64::from(le16(e, 10)),
                u64::from(le32(e, 12)),
                u64::from(le32(e, 16)),
            );
            let mut z = Vec::new();
            put32(&mut z, SIG_EOCD64);
            put64(&mut z, 44);
            put16(&mut z, ZIP64_MADE_BY);
            put16(&mut z, 45);
            put32(&mut z, 0);
            put32(&mut z, 0);
            for v in [count, count, size, off] {
                put64(&mut z, v);
            }
            put32(&mut z, SIG_LOCATOR);
            put32(&mut z, 0);
            put64(&mut z, off + size);
            put32(&mut z, 1);
            z.extend_from_slice(e);
            *e = z;
        });
        assert_code(&bytes, Code::ZipZip64);
        assert_eq!(
            read(&zip64_unneeded())
                .unwrap_err()
                .iter()
                .filter(|f| f.code == Code::ZipZip64)
                .count(),
            1
        );
    }

    /// A small archive with ZIP64 end records and saturated end record fields (refused: ZIP64
    /// is not needed), for exercising the ZIP64 paths of the reader.
    fn zip64_unneeded() -> Vec<u8> {
        Asm::sample().end(&|_, e| {
            let (count, size, off) = (
                u64::from(le16(e, 10)),
                u64::from(le32(e, 12)),
                u64::from(le32(e, 16)),
            );
            let mut z = Vec::new();
            put32(&mut z, SIG_EOCD64);
            put64(&mut z, 44);
            put16(&mut z, ZIP64_MADE_BY);
            put16(&mut z, 45);
            put32(&mut z, 0);
            put32(&mut z, 0);
            for v in [count, count, size, off] {
                put64(&mut z, v);
            }
            put32(&mut z, SIG_LOCATOR);
            put32(&mut z, 0);
            put64(&mut z, off + size);
            put32(&mut z, 1);
            let mut d = e.clone();
            set16(&mut d, 8, 0xFFFF);
            set16(&mut d, 10, 0xFFFF);
            set32(&mut d, 12, u32::MAX);
            set32(&mut d, 16, u32::MAX);
            z.extend_from_slice(&d);
            *e = z;
        })
    }

    #[test]
    fn data_descriptor() {
        let a = Asm::sample();
        assert_only(
            &a.both(&|i, h| {
                if i == 1 {
                    set_both16(h, 6, 8, 0x0808)
                }
            }),
            Code::ZipDataDescriptor,
        );
        // Only in the local header.
        let bytes = a.local(&|i, h| {
            if i == 1 {
                set16(h, 6, 0x0808)
            }
        });
        assert_code(&bytes, Code::ZipDataDescriptor);
        assert_code(&bytes, Code::ZipHeaderMismatch);
    }

    #[test]
    fn encrypted() {
        let a = Asm::sample();
        assert_only(
            &a.both(&|i, h| {
                if i == 0 {
                    set_both16(h, 6, 8, 0x0801)
                }
            }),
            Code::ZipEncrypted,
        );
    }

    #[test]
    fn flags() {
        let a = Asm::sample();
        for f in [0x0000, 0x0802, 0x2800, 0x8800] {
            assert_only(
                &a.both(&|i, h| {
                    if i == 0 {
                        set_both16(h, 6, 8, f)
                    }
                }),
                Code::ZipFlags,
            );
        }
    }

    #[test]
    fn method() {
        let a = Asm::sample();
        for m in [8u16, 12, 99] {
            assert_only(
                &a.both(&|i, h| {
                    if i == 0 {
                        set_both16(h, 8, 10, m)
                    }
                }),
                Code::ZipMethod,
            );
        }
    }

    #[test]
    fn size() {
        let a = Asm::sample();
        // Compressed size differs from uncompressed size, the same in both headers.
        let bytes = a.both(&|i, h| {
            if i == 0 {
                let at = if le32(h, 0) == SIG_LOCAL { 18 } else { 20 };
                let s = le32(h, at);
                set32(h, at, s - 1);
            }
        });
        assert_code(&bytes, Code::ZipSize);
    }

    #[test]
    fn extra_field() {
        let a = Asm::sample();
        let ut = extra(0x5455, &[3, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_only(
            &a.central(&|i, h| {
                if i == 0 {
                    central_set_extra(h, &ut)
                }
            }),
            Code::ZipExtraField,
        );
        let bytes = a.local(&|i, h| {
            if i == 0 {
                local_set_extra(h, &ut)
            }
        });
        assert_code(&bytes, Code::ZipExtraField);
        // Malformed: not a sequence of records.
        assert_code(
            &a.central(&|i, h| {
                if i == 0 {
                    central_set_extra(h, &[1, 2, 3])
                }
            }),
            Code::ZipExtraField,
        );
        assert_code(
            &a.central(&|i, h| {
                if i == 0 {
                    central_set_extra(h, &[9, 9, 200, 0, 1])
                }
            }),
            Code::ZipExtraField,
        );
    }

    #[test]
    fn unicode_path_extra() {
        let a = Asm::sample();
        let mut up = vec![1];
        up.extend_from_slice(&crc32fast::hash(b"data/article.html").to_le_bytes());
        up.extend_from_slice(b"evil.exe");
        let up = extra(EXTRA_UNICODE_PATH, &up);
        assert_only(
            &a.central(&|i, h| {
                if i == 0 {
                    central_set_extra(h, &up)
                }
            }),
            Code::ZipUnicodePathExtra,
        );
        assert_code(
            &a.local(&|i, h| {
                if i == 0 {
                    local_set_extra(h, &up)
                }
            }),
            Code::ZipUnicodePathExtra,
        );
    }

    #[test]
    fn header_mismatch() {
        let a = Asm::sample();
        // Local name differs (same length): the Android "master key" pattern of readers
        // disagreeing about which name or data they see.
        assert_only(
            &a.local(&|i, h| {
                if i == 0 {
                    h[LOCAL_LEN] = b'D'
                }
            }),
            Code::ZipHeaderMismatch,
        );
        for at in [14, 15, 16, 17] {
            assert_only(
                &a.local(&|i, h| {
                    if i == 1 {
                        h[at] ^= 0x55
                    }
                }),
                Code::ZipHeaderMismatch,
            );
        }
        assert_code(
            &a.local(&|i, h| {
                if i == 1 {
                    set16(h, 4, 45)
                }
            }),
            Code::ZipHeaderMismatch,
        );
        assert_code(
            &a.local(&|i, h| {
                if i == 1 {
                    set16(h, 10, 1)
                }
            }),
            Code::ZipHeaderMismatch,
        );
        // Local sizes differ from the central ones.
        assert_code(
            &a.local(&|i, h| {
                if i == 1 {
                    set32(h, 18, 1)
                }
            }),
            Code::ZipHeaderMismatch,
        );
        // No local header at the offset.
        assert_code(
            &a.local(&|i, h| {
                if i == 1 {
                    h[0] = b'X'
                }
            }),
            Code::ZipHeaderMismatch,
        );
    }

    #[test]
    fn attributes() {
        let a = Asm::sample();
        let c = |at: usize, v: u16| {
            a.central(&|i, h| {
                if i == 0 {
                    set16(h, at, v)
                }
            })
        };
        assert_only(&c(4, 0x0014), Code::ZipAttributes); // made by MS-DOS
        assert_only(&c(4, 0x031e), Code::ZipAttributes); // made by Unix, version 3.0
        assert_code(&c(6, 10), Code::ZipAttributes); // version needed (local differs too)
        assert_code(&c(12, 0x6000), Code::ZipAttributes); // time
        assert_code(&c(14, 0x5a21), Code::ZipAttributes); // date
        assert_only(&c(34, 1), Code::ZipAttributes); // disk number start
        assert_only(&c(36, 1), Code::ZipAttributes); // internal attributes (text)
        let x = |v: u32| {
            a.central(&|i, h| {
                if i == 0 {
                    set32(h, 38, v)
                }
            })
        };
        assert_only(&x(0x81ED_0000), Code::ZipAttributes); // mode 0755
        assert_only(&x(0), Code::ZipAttributes);
        assert_only(&x(0x81A4_0020), Code::ZipAttributes); // MS-DOS archive bit
                                                           // Both headers agree on a timestamp: still refused.
        assert_only(
            &a.both(&|i, h| {
                if i == 0 {
                    set_both16(h, 12, 14, 0x5a21)
                }
            }),
            Code::ZipAttributes,
        );
    }

    #[test]
    fn not_regular_file() {
        let a = Asm::sample();
        let x = |v: u32| {
            a.central(&|i, h| {
                if i == 0 {
                    set32(h, 38, v)
                }
            })
        };
        assert_only(&x(0x41ED_0010), Code::ZipNotRegularFile); // directory
        assert_only(&x(0xA1FF_0000), Code::ZipNotRegularFile); // symlink
        assert_only(&x(0x0000_0010), Code::ZipNotRegularFile); // MS-DOS directory
        assert_only(&x(0x21A4_0000), Code::ZipNotRegularFile); // character device
        let dir = Asm::new(&[(b"data/", b""), (b"data/a.txt", b"x")]);
        assert_only(&dir.build(), Code::ZipNotRegularFile);
    }

    #[test]
    fn duplicate_name() {
        let a = Asm::new(&[
            (b"data/article.txt", b"real"),
            (b"bagit.txt", b"x"),
            (b"data/article.txt", b"evil"),
        ]);
        assert_only(&a.build(), Code::ZipDuplicateName);
    }

    #[test]
    fn name_collision() {
        let a = Asm::new(&[
            (b"data/attachments/Photo.jpg", b"1"),
            (b"data/attachments/PHOTO.JPG", b"2"),
        ]);
        assert_only(&a.build(), Code::ZipNameCollision);
        let a = Asm::new(&[(b"stra\xc3\x9fe", b"1"), (b"STRASSE", b"2")]);
        assert_only(&a.build(), Code::ZipNameCollision);
        // NFC and non-NFC spellings: the second is refused as not NFC, and collides.
        let a = Asm::new(&[("é".as_bytes(), b"1"), ("e\u{301}".as_bytes(), b"2")]);
        let got = codes(&a.build());
        assert!(
            got.contains(&Code::ZipNameCollision) && got.contains(&Code::PathNotNfc),
            "{got:?}"
        );
    }

    /// Keys compared without being built ([`Key`]) agree with `path::collision_key`.
    #[test]
    fn unbuilt_keys_agree_with_collision_keys() {
        let ascii: String = (0u8..128).map(char::from).collect();
        assert_eq!(path::collision_key(&ascii), ascii.to_ascii_lowercase());
        let names =
            "Photo.JPG photo.jpg PHOTO.JPG STRASSE strasse stra\u{df}e K k \u{212a} \u{e9} \
                     e\u{301} \u{c9} ss \u{df} \u{1e9e} fi FI \u{fb01} \u{1c5} \u{1c4} \u{1c6} \
                     i\u{307} \u{130} a/b A/B \u{3a3}\u{391}\u{3a3} \u{3c3}\u{3b1}\u{3c2}";
        let names: Vec<&str> = names.split_whitespace().collect();
        for &a in &names {
            for &b in &names {
                let (ka, kb) = (Key::of(a.as_bytes()), Key::of(b.as_bytes()));
                let (ka, kb) = (ka.unwrap(), kb.unwrap());
                let want = path::collision_key(a) == path::collision_key(b);
                assert_eq!(ka.same(&kb), want, "{a:?} {b:?}");
            }
        }
        assert!(Key::of(b"A\xff").is_none());
    }

    /// Scanning the earlier entries and hash maps find the same repeated names, collisions and
    /// local header offsets, reported the same way.
    #[test]
    fn scanning_and_hash_maps_agree() {
        let both = |b: &[u8]| {
            let (len, l) = (b.len() as u64, Limits::default());
            let scanned = read_strict_scanning(&mut Cursor::new(b), len, &l, usize::MAX);
            let mapped = read_strict_scanning(&mut Cursor::new(b), len, &l, 0);
            assert_eq!(scanned, mapped);
            scanned
        };
        let names: [&[u8]; 18] = [
            b"a",
            b"B",
            "stra\u{df}e".as_bytes(),
            b"A",
            b"b\xff",
            b"STRASSE",
            b"b\xff",
            "\u{212a}".as_bytes(),
            b"k",
            b"a",
            "\u{e9}".as_bytes(),
            "e\u{301}".as_bytes(),
            b"x/",
            b"X/",
            b"c",
            b"C",
            b"B\xff",
            b"k",
        ];
        let entries: Vec<(&[u8], &[u8])> = names.iter().map(|n| (*n, &b"x"[..])).collect();
        let a = Asm::new(&entries);
        let f = both(&a.build()).unwrap_err();
        let of = |code| f.iter().filter(|f| f.code == code).count();
        assert_eq!(of(Code::ZipDuplicateName), 3, "{}", show(&f));
        assert_eq!(of(Code::ZipNameCollision), 6, "{}", show(&f));
        // Entries sharing a local header offset.
        let shared = a.central(&|i, h| {
            if i % 3 == 2 {
                set32(h, 42, 0)
            }
        });
        let f = both(&shared).unwrap_err();
        assert!(f.iter().any(|f| f.code == Code::ZipOverlap), "{}", show(&f));
        // Every change of a structure byte.
        let g = a.build();
        for i in 0..g.len() {
            for x in [1u8, 0x20, 0xff] {
                let mut b = g.clone();
                b[i] ^= x;
                let _ = both(&b);
            }
        }
        // Beyond the scanning limit, as `read_strict` reads it.
        let many: Vec<Vec<u8>> = (0..3 * SCAN_MAX)
            .map(|i| match i % 4 {
                0 => format!("f{i}").into_bytes(),
                1 => format!("F{}", i - 1).into_bytes(),
                2 => b"f0".to_vec(),
                _ => format!("stra\u{df}e{}", i % 8).into_bytes(),
            })
            .collect();
        let entries: Vec<(&[u8], &[u8])> = many.iter().map(|n| (&n[..], &b""[..])).collect();
        let big = Asm::new(&entries).build();
        let f = both(&big).unwrap_err();
        assert_eq!(read(&big).unwrap_err(), f);
        assert!(f.iter().any(|f| f.code == Code::ZipDuplicateName));
        assert!(f.iter().any(|f| f.code == Code::ZipNameCollision));
        let shared = Asm::new(&entries).central(&|i, h| {
            if i % 5 == 4 {
                set32(h, 42, 0)
            }
        });
        both(&shared).unwrap_err();
    }

    #[test]
    fn path_codes() {
        let cases: &[(&[u8], Code)] = &[
            (b"a\xff", Code::PathNotUtf8),
            ("a\u{301}".as_bytes(), Code::PathNotNfc),
            (b"../evil", Code::PathTraversal),
            (b"a/./b", Code::PathDotSegment),
            (b"a//b", Code::PathEmptySegment),
            (b"/etc/passwd", Code::PathAbsolute),
            (b"a\\..\\b", Code::PathBackslash),
            (b"C:/x", Code::PathDriveLetter),
            (b"a\x00b", Code::PathControlChar),
            ("a\u{202e}gpj.exe".as_bytes(), Code::PathBidi),
            (b"data/CON.txt", Code::PathReservedName),
            (&[b'x'; 300], Code::PathTooLong),
        ];
        for (name, code) in cases {
            let a = Asm::new(&[(name, b"x"), (b"other", b"y")]);
            assert_only(&a.build(), *code);
        }
        // Findings name the entry with control characters escaped.
        let a = Asm::new(&[(b"a\x1b[2J", b"x")]);
        let f = read(&a.build()).unwrap_err();
        assert_eq!(f[0].path.as_deref(), Some("a\\u{1b}[2J"));
    }

    #[test]
    fn limits() {
        let limits = Limits {
            max_entries: 2,
            ..Limits::default()
        };
        let err = read_strict(&mut Cursor::new(good()), good().len() as u64, &limits).unwrap_err();
        assert_eq!(
            err.iter().map(|f| f.code).collect::<Vec<_>>(),
            vec![Code::LimitEntries]
        );
        // A central directory larger than the entry limit allows (huge comments).
        let a = Asm::new(&[(b"a", b"1")]);
        let big = a.central(&|_, h| central_set_comment(h, &[b'c'; 60000]));
        let limits = Limits {
            max_entries: 10,
            ..Limits::default()
        };
        let err = read_strict(&mut Cursor::new(&big), big.len() as u64, &limits).unwrap_err();
        assert_eq!(
            err.iter().map(|f| f.code).collect::<Vec<_>>(),
            vec![Code::LimitEntries]
        );
        // Sizes.
        let limits = Limits {
            max_file_size: 1000,
            ..Limits::default()
        };
        let err = read_strict(&mut Cursor::new(good()), good().len() as u64, &limits).unwrap_err();
        assert_eq!(
            err.iter().map(|f| f.code).collect::<Vec<_>>(),
            vec![Code::LimitSize]
        );
        let limits = Limits {
            max_total_size: 5000,
            ..Limits::default()
        };
        let err = read_strict(&mut Cursor::new(good()), good().len() as u64, &limits).unwrap_err();
        assert_eq!(
            err.iter().map(|f| f.code).collect::<Vec<_>>(),
            vec![Code::LimitSize]
        );
        // A hostile count is refused before anything is allocated for it.
        let mut b = good().to_vec();
        let n = b.len();
        set16(&mut b, n - 14, 0xFFFE);
        set16(&mut b, n - 12, 0xFFFE);
        assert_eq!(codes(&b), vec![Code::LimitEntries]);
    }

    #[test]
    fn io_errors_are_reported() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        impl Seek for Broken {
            fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
                Ok(0)
            }
        }
        let err = read_strict(&mut Broken, 1000, &Limits::default()).unwrap_err();
        assert_eq!(err[0].code, Code::IoRead);
        assert!(err[0].message.contains("disk on fire"));
    }

    #[test]
    fn every_finding_is_collected() {
        // Several independent problems in one archive are all reported.
        let a = Asm::sample();
        let bytes = a.build_with(
            &|i, h| {
                if i == 1 {
                    h[14] ^= 1
                }
            },
            &|i, h| match i {
                0 => set16(h, 10, 8),
                3 => central_set_comment(h, b"c"),
                _ => {}
            },
            &|_, _| {},
        );
        let got = codes(&[bytes.as_slice(), b"x"].concat());
        for c in [
            Code::ZipHeaderMismatch,
            Code::ZipMethod,
            Code::ZipEntryComment,
            Code::ZipTrailingBytes,
        ] {
            assert!(got.contains(&c), "{c} missing from {got:?}");
        }
    }

    #[test]
    fn fallback_catches_what_the_field_checks_do_not() {
        // Sanity: the catch-all finds a difference in an otherwise unchecked region, if any
        // existed; here it must stay silent on the good archive.
        assert!(read(good()).is_ok());
        assert!(read(&zip64_unneeded()).is_err());
    }

    /// Every change of every byte outside entry data (each single bit, and all bits) is
    /// refused, and always by a specific check, not only by the final canonical comparison.
    #[test]
    fn every_structure_byte_is_checked() {
        let g = good();
        let ranges = data_ranges();
        for i in 0..g.len() {
            if ranges.iter().any(|&(s, e)| i >= s && i < e) {
                continue;
            }
            for x in [1u8, 2, 4, 8, 16, 32, 64, 128, 255] {
                let mut b = g.to_vec();
                b[i] ^= x;
                let f = read(&b)
                    .err()
                    .unwrap_or_else(|| panic!("byte {i} ^ {x:#x} accepted"));
                assert!(
                    f.iter().any(|f| !f.message.contains("canonical")),
                    "byte {i} ^ {x:#x} only caught by the final check:\n{}",
                    show(&f)
                );
            }
        }
    }

    /// The same for a ZIP64 archive (held sparsely in memory).
    #[test]
    fn every_zip64_structure_byte_is_checked() {
        let big = ONES32 + 1;
        let data_start = (LOCAL_LEN + 3 + 20) as u64;
        let mut w = ZipWriter::new(Sparse::new((data_start, data_start + big)));
        w.add_reader("big", big, &mut io::repeat(0).take(big))
            .unwrap();
        w.add_bytes("small.txt", b"hi").unwrap();
        let f = w.finish().unwrap();
        let small_data = data_start + big + (LOCAL_LEN + 9) as u64;
        let mut f0 = f.clone();
        assert!(read_strict(&mut f0, f.len, &Limits::default()).is_ok());
        let positions: Vec<u64> = f
            .chunks
            .iter()
            .flat_map(|(&s, c)| s..s + c.len() as u64)
            .filter(|&p| !(small_data..small_data + 2).contains(&p))
            .collect();
        assert!(positions.len() > 250, "{}", positions.len());
        for p in positions {
            for x in [1u8, 16, 128, 255] {
                let mut m = f.clone();
                let (&cs, c) = m.chunks.range_mut(..=p).next_back().unwrap();
                c[(p - cs) as usize] ^= x;
                let len = m.len;
                let res = read_strict(&mut m, len, &Limits::default());
                let fs = res
                    .err()
                    .unwrap_or_else(|| panic!("byte {p} ^ {x:#x} accepted"));
                assert!(
                    fs.iter().any(|f| !f.message.contains("canonical")),
                    "byte {p} ^ {x:#x} only caught by the final check:\n{}",
                    show(&fs)
                );
            }
        }
    }

    // ---- properties -------------------------------------------------------------------------

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// Any single-byte change outside entry data is refused; changes inside entry data are
        /// left for the CRC check, which catches them.
        #[test]
        fn single_byte_changes_are_caught(idx in any::<prop::sample::Index>(), x in 1u8..=255) {
            let g = good();
            let i = idx.index(g.len());
            let mut b = g.to_vec();
            b[i] ^= x;
            let in_data = data_ranges().iter().any(|&(s, e)| i >= s && i < e);
            match read(&b) {
                Err(f) => {
                    prop_assert!(!in_data, "data byte {} refused: {:?}", i, f);
                    prop_assert!(!f.is_empty());
                }
                Ok(entries) => {
                    prop_assert!(in_data, "byte {} changed but accepted", i);
                    let e = entries.iter().find(|e| (e.data_offset as usize) <= i && i < (e.data_offset + e.size) as usize).unwrap();
                    let d = hash_entry(&mut Cursor::new(&b), e, None).unwrap();
                    prop_assert_ne!(d.crc32, e.crc32);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Several random changes, cuts and additions never panic.
        #[test]
        fn mutations_never_panic(
            which in 0usize..3,
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in prop::option::of(any::<prop::sample::Index>()),
            add in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            let base = match which {
                0 => good().to_vec(),
                1 => zip64_unneeded(),
                _ => Asm::new(&[(b"a", b"")]).build(),
            };
            let mut b = base.clone();
            for (idx, v) in &edits {
                let i = idx.index(b.len());
                b[i] = *v;
            }
            if let Some(c) = cut {
                b.truncate(c.index(b.len() + 1));
            }
            b.extend_from_slice(&add);
            let res = read(&b);
            if b != base {
                // Not necessarily refused (a change may hit entry data), but never a panic,
                // and refusals always say why.
                if let Err(f) = res {
                    prop_assert!(!f.is_empty());
                }
            }
            // Also with a file length that lies.
            let _ = read_strict(&mut Cursor::new(&b), b.len() as u64 + 1000, &Limits::default());
            let _ = read_strict(&mut Cursor::new(&b), b.len().saturating_sub(10) as u64, &Limits::default());
        }

        /// Arbitrary bytes ending in an end record that points into them.
        #[test]
        fn garbage_with_end_record_never_panics(
            body in prop::collection::vec(any::<u8>(), 0..600),
            count in any::<u16>(),
            size in any::<u32>(),
            off in any::<u32>(),
            zip64 in any::<bool>(),
            z in (any::<u64>(), any::<u64>(), any::<u64>()),
        ) {
            let mut b = body;
            if zip64 {
                let at = b.len() as u64;
                put32(&mut b, SIG_EOCD64);
                put64(&mut b, 44);
                put16(&mut b, ZIP64_MADE_BY);
                put16(&mut b, 45);
                put64(&mut b, 0);
                put64(&mut b, z.0);
                put64(&mut b, z.0);
                put64(&mut b, z.1 % 2000);
                put64(&mut b, z.2 % 2000);
                put32(&mut b, SIG_LOCATOR);
                put32(&mut b, 0);
                put64(&mut b, at);
                put32(&mut b, 1);
            }
            put32(&mut b, SIG_EOCD);
            put32(&mut b, 0);
            put16(&mut b, count);
            put16(&mut b, count);
            put32(&mut b, size % 1000);
            put32(&mut b, if zip64 { u32::MAX } else { off % 1000 });
            put16(&mut b, 0);
            let _ = read(&b);
        }
    }
}
