use super::hash::*;

use super::assemble::Asm;
use super::read::*;
use super::render::*;
use super::report::*;
use super::write::*;
use super::*;
use crate::format::finding::{Code, Finding};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::io::{self, Read, Seek, SeekFrom, Write};
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

fn sample_asm() -> Asm {
    Asm::from_entries(
        sample()
            .into_iter()
            .map(|(n, d)| (n.as_bytes().to_vec(), d))
            .collect(),
    )
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
        1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa4, 0x81, 0, 0, 0, 0, b'a',
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
    assert_eq!(sample_asm().build(), a);
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
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
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
// Longer than 80 lines: a test: a table of sizes and offsets at each ZIP64 threshold.
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
    let mut a = sample_asm();
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
    let mut a = sample_asm();
    a.gaps.insert(1, b"hidden".to_vec());
    assert_only(&a.build(), Code::ZipGap);
    let mut a = sample_asm();
    a.gaps.insert(
        a.entries.len() - 1,
        b"before the central directory".to_vec(),
    );
    assert_only(&a.build(), Code::ZipGap);
    let mut a = sample_asm();
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
    let a = sample_asm();
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
    let mut a = sample_asm();
    a.trailing = vec![0x50, 0x4b, 5, 6];
    assert_code(&a.build(), Code::ZipTrailingBytes);
}

#[test]
fn overlap() {
    let a = sample_asm();
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
    let a = sample_asm();
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
// Longer than 80 lines: a test: one case per ZIP64 field.
fn zip64() {
    let a = sample_asm();
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
    sample_asm().end(&|_, e| {
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let a = sample_asm();
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
    let names = "Photo.JPG photo.jpg PHOTO.JPG STRASSE strasse stra\u{df}e K k \u{212a} \u{e9} \
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
    let a = sample_asm();
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
