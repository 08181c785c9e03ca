//! A strict WARC 1.0/1.1 reader: finds the `response` record of a page (and its `request`
//! record), checks their digests, and reads the HTML payload.
//!
//! A `.warc.gz` is read as gzip members one after another (the usual one record per member,
//! or several). Every record is: the version line `WARC/1.0` or `WARC/1.1`, header fields up
//! to an empty line, a block of exactly `Content-Length` bytes, then CR LF CR LF. Anything else
//! (a truncated record, a missing or malformed `Content-Length`, garbage between records) is an
//! error naming the file, the record's number and its offset in the uncompressed stream.
//!
//! Caps (documented in `docs/FORMAT.md`, "Deriving metadata"):
//!
//! | what | cap |
//! |---|---|
//! | a record's header | [`MAX_HEADER_BYTES`] |
//! | any record's block (`Content-Length`) | [`MAX_RECORD_BYTES`] |
//! | a record kept (the response and request sealed) | [`MAX_KEPT_BYTES`] |
//! | decompressed bytes of a `.warc.gz` | [`MAX_RATIO`] times the compressed bytes read, plus [`RATIO_SLACK`] (more: refused as a gzip bomb) |
//! | HTTP header of a payload | [`MAX_HEADER_BYTES`] |
//! | a payload decoded for reading (de-chunked, gunzipped) | [`super::html::MAX_HTML_BYTES`] |
//! | HTML responses listed in an error | [`MAX_LISTED`] |

use super::IngestError;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Longest WARC record header (or HTTP header) read.
pub const MAX_HEADER_BYTES: usize = 64 << 10;
/// Largest record block accepted at all.
pub const MAX_RECORD_BYTES: u64 = 1 << 30;
/// Largest record kept in memory to be sealed.
pub const MAX_KEPT_BYTES: u64 = 64 << 20;
/// Largest ratio of decompressed to compressed bytes in a `.warc.gz`.
pub const MAX_RATIO: u64 = 100;
/// Decompressed bytes allowed beyond [`MAX_RATIO`].
pub const RATIO_SLACK: u64 = 16 << 20;
/// HTML responses named in the error when there are several.
pub const MAX_LISTED: usize = 20;

/// A record's header fields, in order (names as written).
#[derive(Clone, Debug, Default)]
pub struct Header {
    /// `WARC/1.0` or `WARC/1.1`.
    pub version: String,
    /// The fields.
    pub fields: Vec<(String, String)>,
}

impl Header {
    /// The first field named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every field named `name` (case-insensitive), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many digest fields (`WARC-Block-Digest`, `WARC-Payload-Digest`) the record has:
    /// each one is checked when it is selected.
    pub fn digests(&self) -> usize {
        self.all("WARC-Block-Digest").count() + self.all("WARC-Payload-Digest").count()
    }

    /// `WARC-Type`, lower-cased.
    pub fn kind(&self) -> String {
        self.get("WARC-Type").unwrap_or("").to_ascii_lowercase()
    }

    /// `WARC-Target-URI`, without the `<...>` that some writers put around it (as written:
    /// see [`printable`] before showing it).
    pub fn target(&self) -> Option<&str> {
        self.get("WARC-Target-URI")
            .map(|u| u.trim().trim_start_matches('<').trim_end_matches('>'))
    }
}

/// A record, with its exact bytes when it was kept.
#[derive(Clone, Debug)]
pub struct Record {
    /// Its number in the file, from 1.
    pub number: u64,
    /// Its offset in the uncompressed stream.
    pub offset: u64,
    /// Its header.
    pub header: Header,
    /// The record's bytes (header, block, CR LF CR LF) when kept.
    pub bytes: Option<Vec<u8>>,
    /// The start of the block (up to [`MAX_HEADER_BYTES`]), for its HTTP header.
    pub head: Vec<u8>,
    /// Where the block starts in `bytes`.
    pub block_at: usize,
}

impl Record {
    /// The block, when the record was kept.
    pub fn block(&self) -> Option<&[u8]> {
        self.bytes
            .as_deref()
            .map(|b| &b[self.block_at..b.len() - 4])
    }
}

/// A `BufRead` that counts the bytes consumed (the compressed bytes of a `.warc.gz`).
struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

impl<R: BufRead> BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.n += amt as u64;
        self.inner.consume(amt)
    }
}

type Gz<R> = flate2::bufread::MultiGzDecoder<Counted<BufReader<R>>>;

enum Stream<R: Read> {
    Plain(BufReader<R>),
    Gz(Box<BufReader<Gz<R>>>),
}

/// A WARC reader over a file or bytes.
pub struct Reader<R: Read> {
    label: PathBuf,
    s: Stream<R>,
    /// Uncompressed bytes read.
    pos: u64,
    records: u64,
}

impl<R: Read> Reader<R> {
    /// A reader of `r`; `gz` for a `.warc.gz`.
    pub fn new(label: &Path, r: R, gz: bool) -> Self {
        let br = BufReader::with_capacity(1 << 16, r);
        let s = if gz {
            Stream::Gz(Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::bufread::MultiGzDecoder::new(Counted { inner: br, n: 0 }),
            )))
        } else {
            Stream::Plain(br)
        };
        Reader {
            label: label.to_path_buf(),
            s,
            pos: 0,
            records: 0,
        }
    }

    fn err(&self, problem: impl Into<String>) -> IngestError {
        IngestError::Warc {
            path: self.label.clone(),
            problem: problem.into(),
        }
    }

    fn io(&self, e: std::io::Error) -> IngestError {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => self.err(format!(
                "truncated at byte {} (of the uncompressed stream)",
                self.pos
            )),
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                self.err(format!("not valid gzip at byte {} ({e})", self.pos))
            }
            _ => IngestError::Io {
                path: self.label.clone(),
                source: e,
            },
        }
    }

    fn buf(&mut self) -> &mut dyn BufRead {
        match &mut self.s {
            Stream::Plain(r) => r,
            Stream::Gz(r) => r,
        }
    }

    /// After reading: refuse a gzip stream that expands more than a WARC can.
    fn check_ratio(&self) -> Result<(), IngestError> {
        if let Stream::Gz(r) = &self.s {
            let compressed = r.get_ref().get_ref().n;
            if self.pos
                > compressed
                    .saturating_mul(MAX_RATIO)
                    .saturating_add(RATIO_SLACK)
            {
                return Err(self.err(format!(
                    "gzip data expands more than {MAX_RATIO} times ({} bytes from {compressed}); refused as a likely gzip bomb",
                    self.pos
                )));
            }
        }
        Ok(())
    }

    /// Read up to `max` bytes through the end of a line (LF); empty at the end of input.
    fn line(&mut self, max: usize) -> Result<Vec<u8>, IngestError> {
        let mut v = Vec::new();
        let n = self
            .buf()
            .take(max as u64)
            .read_until(b'\n', &mut v)
            .map_err(|e| self.io(e))?;
        self.pos += n as u64;
        self.check_ratio()?;
        Ok(v)
    }

    /// Read exactly `n` bytes into `out` (or discard them), hashing them with `hash`.
    fn block(
        &mut self,
        n: u64,
        mut out: Option<&mut Vec<u8>>,
        head: &mut Vec<u8>,
    ) -> Result<(), IngestError> {
        let mut left = n;
        let mut chunk = vec![0u8; 1 << 16];
        while left > 0 {
            let want = (left as usize).min(chunk.len());
            let k = self
                .buf()
                .read(&mut chunk[..want])
                .map_err(|e| self.io(e))?;
            if k == 0 {
                return Err(self.err(format!(
                    "record {} is truncated: its block ends {} bytes early",
                    self.records, left
                )));
            }
            if head.len() < MAX_HEADER_BYTES {
                let room = (MAX_HEADER_BYTES - head.len()).min(k);
                head.extend_from_slice(&chunk[..room]);
            }
            if let Some(o) = out.as_deref_mut() {
                o.extend_from_slice(&chunk[..k]);
            }
            left -= k as u64;
            self.pos += k as u64;
            self.check_ratio()?;
        }
        Ok(())
    }

    /// The next record, or `None` at the end. `keep` decides from the header whether the
    /// record's bytes are kept.
    // Longer than 80 lines: a WARC record header read strictly: one branch per rule of the
    // header grammar (WARC 1.1 section 4), with bounded reads between them on the same stream
    // state.
    pub fn next_record(
        &mut self,
        keep: &mut dyn FnMut(&Header) -> bool,
    ) -> Result<Option<Record>, IngestError> {
        let offset = self.pos;
        let first = self.line(64)?;
        if first.is_empty() {
            return Ok(None);
        }
        self.records += 1;
        let number = self.records;
        let mut raw = first.clone();
        let version = String::from_utf8_lossy(&first).trim_end().to_string();
        if version != "WARC/1.0" && version != "WARC/1.1" {
            return Err(self.err(format!(
                "record {number} at byte {offset}: expected a WARC/1.0 or WARC/1.1 record, found {:?}",
                version.chars().take(40).collect::<String>()
            )));
        }
        let mut header = Header {
            version,
            fields: Vec::new(),
        };
        loop {
            let room = MAX_HEADER_BYTES.saturating_sub(raw.len());
            if room == 0 {
                return Err(self.err(format!(
                    "record {number} at byte {offset}: header longer than {MAX_HEADER_BYTES} bytes"
                )));
            }
            let l = self.line(room)?;
            if l.len() == room && !l.ends_with(b"\n") {
                return Err(self.err(format!(
                    "record {number} at byte {offset}: header longer than {MAX_HEADER_BYTES} bytes"
                )));
            }
            if l.is_empty() || !l.ends_with(b"\n") {
                return Err(self.err(format!(
                    "record {number} at byte {offset}: truncated in its header"
                )));
            }
            raw.extend_from_slice(&l);
            let text = String::from_utf8_lossy(&l);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                break;
            }
            if text.starts_with([' ', '\t']) {
                match header.fields.last_mut() {
                    Some((_, v)) => {
                        v.push(' ');
                        v.push_str(text.trim());
                    }
                    None => {
                        return Err(self.err(format!(
                        "record {number} at byte {offset}: header starts with a continuation line"
                    )))
                    }
                }
                continue;
            }
            let Some((n, v)) = text.split_once(':') else {
                return Err(self.err(format!(
                    "record {number} at byte {offset}: header line without a colon: {:?}",
                    text.chars().take(60).collect::<String>()
                )));
            };
            header
                .fields
                .push((n.trim().to_string(), v.trim().to_string()));
        }
        let len = header.get("Content-Length").ok_or_else(|| {
            self.err(format!(
                "record {number} at byte {offset}: no Content-Length"
            ))
        })?;
        let len: u64 = if !len.is_empty() && len.bytes().all(|b| b.is_ascii_digit()) {
            len.parse().unwrap_or(u64::MAX)
        } else {
            return Err(self.err(format!(
                "record {number} at byte {offset}: Content-Length {len:?} is not a number"
            )));
        };
        if len > MAX_RECORD_BYTES {
            return Err(self.err(format!(
                "record {number} at byte {offset}: block of {len} bytes; docseal reads at most {MAX_RECORD_BYTES}"
            )));
        }
        let kept = keep(&header);
        if kept && len > MAX_KEPT_BYTES {
            return Err(self.err(format!(
                "record {number} at byte {offset}: block of {len} bytes; docseal seals a record of at most {MAX_KEPT_BYTES}"
            )));
        }
        let block_at = raw.len();
        let mut bytes = kept.then(|| {
            let mut b = raw;
            b.reserve(len as usize + 4);
            b
        });
        let mut head = Vec::new();
        self.block(len, bytes.as_mut(), &mut head)?;
        let mut end = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let k = self.buf().read(&mut end[got..]).map_err(|e| self.io(e))?;
            if k == 0 {
                break;
            }
            got += k;
        }
        self.pos += got as u64;
        if &end[..got] != b"\r\n\r\n" {
            return Err(self.err(format!(
                "record {number} at byte {offset}: its block is not followed by CR LF CR LF (truncated, or a wrong Content-Length)"
            )));
        }
        if let Some(b) = &mut bytes {
            b.extend_from_slice(b"\r\n\r\n");
        }
        Ok(Some(Record {
            number,
            offset,
            header,
            bytes,
            head,
            block_at,
        }))
    }
}

/// `s` with its control characters (escape sequences for a terminal, ...) shown as U+FFFD,
/// at most 2048 bytes: a value read from a file, fit to print.
pub fn printable(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if out.len() > 2048 {
        let mut cut = 2048;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

/// Whether a file is gzip-compressed (its first two bytes).
pub fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// An HTTP message's header: status or request line, fields, and where the body starts.
#[derive(Clone, Debug, Default)]
pub struct Http {
    /// The status code of a response's status line (`HTTP/1.1 200 OK`: 200).
    pub status: Option<u16>,
    /// Header fields.
    pub fields: Vec<(String, String)>,
    /// The body's offset in the block.
    pub body_at: usize,
}

impl Http {
    /// The first field named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body is HTML (by its Content-Type).
    pub fn is_html(&self) -> bool {
        self.get("Content-Type").is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t.contains("text/html") || t.contains("application/xhtml")
        })
    }
}

/// Parse the HTTP header at the start of `block` (at most [`MAX_HEADER_BYTES`]).
pub fn http(block: &[u8]) -> Option<Http> {
    let head = &block[..block.len().min(MAX_HEADER_BYTES)];
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)?;
    let text = String::from_utf8_lossy(&head[..end]);
    let mut lines = text.split("\r\n");
    let first = lines.next()?;
    if !first.starts_with("HTTP/") && !first.contains(" HTTP/") {
        return None;
    }
    let fields = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let status = first
        .strip_prefix("HTTP/")
        .and_then(|r| r.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok());
    Some(Http {
        status,
        fields,
        body_at: end,
    })
}

/// Undo `Transfer-Encoding: chunked`, up to `max` bytes.
fn dechunk(body: &[u8], max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let eol = body[at..].windows(2).position(|w| w == b"\r\n")? + at;
        let size = std::str::from_utf8(&body[at..eol]).ok()?;
        let size = size.split(';').next()?.trim();
        let n = usize::from_str_radix(size, 16).ok()?;
        at = eol + 2;
        if n == 0 {
            return Some(out);
        }
        let end = at.checked_add(n)?;
        let chunk = body.get(at..end)?;
        if out.len() + chunk.len() > max {
            out.extend_from_slice(&chunk[..max - out.len()]);
            return Some(out);
        }
        out.extend_from_slice(chunk);
        at = end + 2;
        if at > body.len() {
            return Some(out);
        }
    }
}

/// The body of an HTTP response as the page's bytes: de-chunked and decompressed (gzip,
/// deflate), at most `max` bytes. An error names an encoding docseal cannot undo.
pub fn decoded_body(block: &[u8], h: &Http, max: usize) -> Result<Vec<u8>, String> {
    let mut body = block[h.body_at..].to_vec();
    if h.get("Transfer-Encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"))
    {
        body = dechunk(&body, MAX_KEPT_BYTES as usize)
            .ok_or("its chunked transfer encoding is malformed")?;
    }
    let enc = h.get("Content-Encoding").unwrap_or("").to_ascii_lowercase();
    let mut out = Vec::new();
    let cap = max as u64 + 1;
    match enc.trim() {
        "" | "identity" => {
            body.truncate(max);
            return Ok(body);
        }
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(&body[..])
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|e| format!("its gzip content encoding cannot be read ({e})"))?,
        "deflate" => {
            // Usually zlib-wrapped; raw deflate from some servers.
            let z = flate2::read::ZlibDecoder::new(&body[..])
                .take(cap)
                .read_to_end(&mut out);
            if z.is_err() {
                out.clear();
                flate2::read::DeflateDecoder::new(&body[..])
                    .take(cap)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("its deflate content encoding cannot be read ({e})"))?;
            }
            0
        }
        other => {
            return Err(format!(
                "its content encoding {other:?} is not one docseal reads"
            ))
        }
    };
    out.truncate(max);
    Ok(out)
}

fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((acc >> bits) & 31) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(A[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Check a `WARC-*-Digest` value (`sha1:` or `sha256:`, base32, hex or base64) against
/// `data`. `Err` says why it cannot be checked or does not match.
pub fn check_digest(value: &str, data: &[u8]) -> Result<(), String> {
    use base64::Engine as _;
    let (algo, want) = value
        .split_once(':')
        .ok_or_else(|| format!("{value:?} is not ALGORITHM:VALUE"))?;
    let d: Vec<u8> = match algo.trim().to_ascii_lowercase().as_str() {
        "sha1" | "sha-1" => Sha1::digest(data).to_vec(),
        "sha256" | "sha-256" => Sha256::digest(data).to_vec(),
        other => {
            return Err(format!(
                "algorithm {other:?} is not one docseal checks (sha1, sha256)"
            ))
        }
    };
    let want = want.trim();
    let b32 = base32(&d);
    let ok = want.trim_end_matches('=').eq_ignore_ascii_case(&b32)
        || want.eq_ignore_ascii_case(&crate::format::text::hex(&d))
        || want == base64::engine::general_purpose::STANDARD.encode(&d);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "recorded {value}, computed {}:{b32}",
            algo.trim().to_ascii_lowercase()
        ))
    }
}

/// Check the record's `WARC-Block-Digest` and, for a response, its `WARC-Payload-Digest`.
fn check_record(path: &Path, r: &Record) -> Result<(), IngestError> {
    let block = r.block().unwrap_or(&[]);
    let mismatch = |which: &str, why: String| IngestError::Digest {
        path: path.to_path_buf(),
        record: r.number,
        uri: printable(r.header.target().unwrap_or("")),
        which: which.to_string(),
        problem: why,
    };
    // Every digest field, not only the first: a record with two must match both.
    for v in r.header.all("WARC-Block-Digest") {
        check_digest(v, block).map_err(|e| mismatch("WARC-Block-Digest", e))?;
    }
    let payload = match http(block) {
        Some(h) => &block[h.body_at..],
        None => block,
    };
    for v in r.header.all("WARC-Payload-Digest") {
        check_digest(v, payload).map_err(|e| mismatch("WARC-Payload-Digest", e))?;
    }
    Ok(())
}

/// What `pack` seals from a WARC file.
#[derive(Clone, Debug)]
pub struct Capture {
    /// The response record's bytes (uncompressed).
    pub response: Record,
    /// The request record's bytes, when the file has one for it.
    pub request: Option<Record>,
    /// Its target URI.
    pub target: String,
    /// Its `WARC-Date`.
    pub date: Option<String>,
    /// Notes for `--dry-run`.
    pub notes: Vec<String>,
}

fn same_url(a: &str, b: &str) -> bool {
    match (
        crate::profile::metadata::normalize_url(a),
        crate::profile::metadata::normalize_url(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn open(path: &Path) -> Result<Reader<std::fs::File>, IngestError> {
    let io = |e| IngestError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let mut f = super::open_input(path)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).map_err(io)?;
    Ok(Reader::new(path, f, is_gzip(&magic[..n])))
}

/// A response listed: (target URI, `WARC-Date`, record number).
pub type Listed = (String, String, u64);

/// The HTML responses of a WARC file ([`Listed`]); at most [`MAX_LISTED`] + 1
/// listed, with the total count.
pub fn html_responses(path: &Path) -> Result<(Vec<Listed>, usize), IngestError> {
    let mut r = open(path)?;
    let (mut list, mut count) = (Vec::new(), 0);
    while let Some(rec) = r.next_record(&mut |_| false)? {
        if rec.header.kind() != "response" {
            continue;
        }
        if http(&rec.head).is_some_and(|h| h.is_html()) {
            count += 1;
            if list.len() <= MAX_LISTED {
                list.push((
                    rec.header.target().unwrap_or("?").to_string(),
                    printable(rec.header.get("WARC-Date").unwrap_or("?")),
                    rec.number,
                ));
            }
        }
    }
    Ok((list, count))
}

/// A response record for one URI, as [`choose_response`] weighs it.
struct Candidate {
    number: u64,
    date: String,
    status: Option<u16>,
    html: bool,
}

/// The response records whose target is `url`, in file order.
fn responses_for(path: &Path, url: &str) -> Result<Vec<Candidate>, IngestError> {
    let mut r = open(path)?;
    let mut out = Vec::new();
    // The responses for `url` are read as if kept (one at a time, dropped at once): one larger
    // than a record docseal seals is refused by its claimed size, before it is inflated.
    let mut keep =
        |h: &Header| h.kind() == "response" && h.target().is_some_and(|t| same_url(t, url));
    while let Some(rec) = r.next_record(&mut keep)? {
        if rec.header.kind() != "response" || !rec.header.target().is_some_and(|t| same_url(t, url))
        {
            continue;
        }
        let h = http(&rec.head);
        out.push(Candidate {
            number: rec.number,
            date: printable(rec.header.get("WARC-Date").unwrap_or("?")),
            status: h.as_ref().and_then(|h| h.status),
            html: h.is_some_and(|h| h.is_html()),
        });
    }
    Ok(out)
}

/// Which response for `url` is sealed (its index among them) and, when there are several, a
/// note saying which: the last HTML response with status 200, else the last HTML one, else
/// the last one.
fn choose_response(path: &Path, url: &str) -> Result<(usize, Option<String>), IngestError> {
    let list = responses_for(path, url)?;
    if list.len() <= 1 {
        return Ok((0, None));
    }
    let (i, why) = if let Some(i) = list.iter().rposition(|c| c.html && c.status == Some(200)) {
        (i, "the last HTML response with status 200")
    } else if let Some(i) = list.iter().rposition(|c| c.html) {
        (i, "the last HTML response")
    } else {
        (list.len() - 1, "the last response")
    };
    let c = &list[i];
    let status = c.status.map_or("no".into(), |s| s.to_string());
    Ok((
        i,
        Some(format!(
            "{} responses for {}; record {} ({}, HTTP status {status}) is sealed: {why}",
            list.len(),
            printable(url),
            c.number,
            c.date
        )),
    ))
}

/// Select the `response` record for `url` (or, without `url`, the file's only HTML response)
/// and its `request` record; check their digests.
// Longer than 80 lines: one streaming pass over the records pairing responses with their
// requests; the pairing state is the pass's own.
pub fn select(path: &Path, url: Option<&str>) -> Result<Capture, IngestError> {
    let mut notes = Vec::new();
    let (target, chosen) = match url {
        Some(u) => {
            let (chosen, note) = choose_response(path, u)?;
            notes.extend(note);
            (u.to_string(), chosen)
        }
        None => {
            let (list, count) = html_responses(path)?;
            match count {
                0 => {
                    return Err(IngestError::Select {
                        path: path.to_path_buf(),
                        problem: "holds no response record with an HTML payload".into(),
                    })
                }
                // That very record, not the first response for its URI (an error page).
                1 => {
                    let u = list[0].0.clone();
                    let all = responses_for(path, &u)?;
                    let n = all.iter().position(|r| r.number == list[0].2).unwrap_or(0);
                    if all.len() > 1 {
                        notes.push(format!(
                            "{} responses for {}; record {} ({}) is sealed: the only HTML response (a URL chooses by address; the last HTML response with status 200 is then taken)",
                            all.len(),
                            printable(&u),
                            list[0].2,
                            list[0].1
                        ));
                    }
                    (u, n)
                }
                n => {
                    let mut names: Vec<String> = list
                        .iter()
                        .take(MAX_LISTED)
                        .map(|(u, d, _)| format!("{} ({d})", printable(u)))
                        .collect();
                    if n > MAX_LISTED {
                        names.push(format!("and {} more", n - MAX_LISTED));
                    }
                    return Err(IngestError::Choose {
                        path: path.to_path_buf(),
                        problem: format!(
                            "holds {n} HTML responses; choose one by its URL: {}",
                            names.join(", ")
                        ),
                    });
                }
            }
        }
    };
    let mut r = open(path)?;
    let mut response: Option<Record> = None;
    let mut request: Option<Record> = None;
    // The request of a response comes just before it or among the few records after it.
    let mut after = 0;
    // Responses for the target seen (the chosen one is the `chosen`-th, from 0).
    let mut seen = 0usize;
    let linked = |a: &Record, b: &Record| {
        let id = b.header.get("WARC-Record-ID");
        a.header
            .fields
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("WARC-Concurrent-To") && Some(v.as_str()) == id)
    };
    while after < 8 {
        let want_resp = response.is_none();
        let matches = |h: &Header| h.target().is_some_and(|t| same_url(t, &target));
        let Some(rec) = r.next_record(&mut |h| {
            let k = h.kind();
            if !matches(h) {
                return false;
            }
            if k == "response" {
                seen += 1;
                return want_resp && seen == chosen + 1;
            }
            k == "request"
        })?
        else {
            break;
        };
        if response.is_some() {
            after += 1;
        }
        let kind = rec.header.kind();
        let for_target = rec.header.target().is_some_and(|t| same_url(t, &target));
        match (kind.as_str(), &response) {
            ("response", None) if for_target && rec.bytes.is_some() => response = Some(rec),
            // The latest request for the page before its response...
            ("request", None) if rec.bytes.is_some() => request = Some(rec),
            // ... unless one after it is the one linked to it.
            ("request", Some(p)) if rec.bytes.is_some() => {
                let kept_linked = request
                    .as_ref()
                    .is_some_and(|q| linked(q, p) || linked(p, q));
                if !kept_linked && (linked(&rec, p) || linked(p, &rec)) {
                    request = Some(rec);
                }
            }
            _ => {}
        }
    }
    let Some(response) = response else {
        return Err(IngestError::Select {
            path: path.to_path_buf(),
            problem: format!("holds no response record for {}", printable(&target)),
        });
    };
    let date = response.header.get("WARC-Date").map(String::from);
    check_record(path, &response)?;
    if let Some(q) = &request {
        check_record(path, q)?;
    }
    Ok(Capture {
        target: response.header.target().unwrap_or(&target).to_string(),
        response,
        request,
        date,
        notes,
    })
}

/// The first record of `bytes` (a sealed record), kept.
pub fn parse_record(bytes: &[u8]) -> Result<Record, IngestError> {
    let mut r = Reader::new(Path::new("<record>"), bytes, is_gzip(bytes));
    r.next_record(&mut |_| true)?
        .ok_or_else(|| r.err("no WARC record"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue16_base32_and_digests() {
        // RFC 4648 test vectors.
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert!(check_digest("sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5", b"abc").is_ok());
        assert!(check_digest("sha1:a9993e364706816aba3e25717850c26c9cd0d89d", b"abc").is_ok());
        assert!(check_digest("sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5", b"abd").is_err());
        assert!(check_digest("md5:x", b"abc").is_err());
        assert!(check_digest(
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            b"abc"
        )
        .is_ok());
    }

    #[test]
    fn issue16_values_from_a_warc_are_printable() {
        assert_eq!(printable("https://e/\u{1b}[2J"), "https://e/\u{fffd}[2J");
        assert!(printable(&"é".repeat(3000)).len() <= 2048 + 3);
    }

    #[test]
    fn issue16_dechunk() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", 100).unwrap(),
            b"abcde"
        );
        assert_eq!(dechunk(b"zz\r\n", 100), None);
        assert_eq!(dechunk(b"ffffffffffffffff\r\nab", 100), None);
    }
}
