//! Archive log v3 (`docs/FORMAT.md`, "Archive log v3"): the v2 log without `log/entries`,
//! sequenced for object storage. An add reads and replaces one small object, `log/sequence`
//! (the entries not yet in the tiles), and looks names and contents up in `log/index/`,
//! instead of reading and replacing the whole of `log/entries`: the bytes an add moves do not
//! grow with the log.
//!
//! ```text
//! ARCHIVE/log/sequence                          the sequencer; its presence makes the log v3
//! ARCHIVE/log/index/name/<h2>/<h4>/<h>          h = hex SHA-256 of an entry's name key
//! ARCHIVE/log/index/content/<h2>/<h4>/<h>       h = the entry's content digest
//! ```
//!
//! This module holds the layout's names and the strict parser and writer of its two kinds of
//! object; the operations that write and read them are in `store_add` (adding), `log`,
//! `proof`, `evidence`, `audit` (reading).

use super::{log::name_key, Entry, MAX_ENTRIES_V2, MAX_ENTRY_LINE};
use crate::profile::metadata::is_hex64;
use sha2::{Digest, Sha256};

/// The sequencer object, under the archive. With `log/entries` absent, its presence makes
/// the log v3.
pub const SEQUENCE_FILE: &str = "log/sequence";
/// The index of entries by name key, under the archive.
pub const NAME_INDEX_DIR: &str = "log/index/name";
/// The index of entries by content digest, under the archive.
pub const CONTENT_INDEX_DIR: &str = "log/index/content";
/// The first line of `log/sequence`.
pub const SEQUENCE_MAGIC: &str = "docseal-sequence v3";
/// Most entries `log/sequence` holds after its start (the entries of one add).
pub const MAX_SEQUENCE_ENTRIES: usize = 1 << 16;
/// Largest `log/sequence`: its two header lines and [`MAX_SEQUENCE_ENTRIES`] longest lines.
pub const MAX_SEQUENCE_BYTES: u64 =
    64 + (MAX_SEQUENCE_ENTRIES as u64) * (MAX_ENTRY_LINE as u64 + 1);
/// Largest index object: one entry line and its LF.
pub const MAX_INDEX_BYTES: u64 = MAX_ENTRY_LINE as u64 + 1;

/// `log/sequence`: the log's size at the start of the entries not yet in the tiles and
/// checkpoints, and those entries (the tail, indices `start..start + tail.len()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequence {
    /// The size of the log before the tail: every entry below it is in the entry bundles
    /// and both indices.
    pub start: u64,
    /// The entries after `start`, in order.
    pub tail: Vec<Entry>,
}

impl Sequence {
    /// The log's size with the tail: `start + tail.len()`.
    pub fn size(&self) -> u64 {
        self.start + self.tail.len() as u64
    }

    /// The object's bytes: `docseal-sequence v3` LF, `start <N>` LF, then each tail entry's
    /// line and LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{SEQUENCE_MAGIC}\nstart {}\n", self.start).into_bytes();
        for e in &self.tail {
            out.extend_from_slice(e.line().as_bytes());
            out.push(b'\n');
        }
        out
    }

    /// Parse `log/sequence` strictly: the exact form [`Sequence::to_bytes`] writes, tail
    /// entries numbered from `start` on, at most [`MAX_SEQUENCE_ENTRIES`] of them, the size
    /// within [`MAX_ENTRIES_V2`].
    pub fn parse(bytes: &[u8]) -> Result<Sequence, String> {
        if bytes.len() as u64 > MAX_SEQUENCE_BYTES {
            return Err(format!("larger than {MAX_SEQUENCE_BYTES} bytes"));
        }
        if bytes.last() != Some(&b'\n') {
            return Err("does not end in LF".into());
        }
        let mut lines = bytes[..bytes.len() - 1].split(|&b| b == b'\n');
        if lines.next() != Some(SEQUENCE_MAGIC.as_bytes()) {
            return Err(format!("its first line is not {SEQUENCE_MAGIC:?}"));
        }
        let start = lines
            .next()
            .and_then(|l| l.strip_prefix(b"start "))
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(super::entry::parse_decimal)
            .ok_or("its second line is not start <N>")?;
        let mut tail = Vec::new();
        for (i, line) in lines.enumerate() {
            if tail.len() == MAX_SEQUENCE_ENTRIES {
                return Err(format!("holds more than {MAX_SEQUENCE_ENTRIES} entries"));
            }
            let e = Entry::parse(line).map_err(|why| format!("line {}: {why}", i + 3))?;
            if e.index != start + i as u64 {
                return Err(format!(
                    "line {}: entry {} where entry {} belongs",
                    i + 3,
                    e.index,
                    start + i as u64
                ));
            }
            tail.push(e);
        }
        let s = Sequence { start, tail };
        if s.size() > MAX_ENTRIES_V2 {
            return Err(format!("a log of more than {MAX_ENTRIES_V2} entries"));
        }
        Ok(s)
    }
}

fn index_path(dir: &str, h: &str) -> String {
    format!("{dir}/{}/{}/{h}", &h[..2], &h[2..4])
}

/// Where the name index holds `name`'s entry: `log/index/name/<h2>/<h4>/<h>`, `h` the hex
/// SHA-256 of its name key (NFC, case-folded: two names one case-insensitive file system
/// would confuse have one index object).
pub fn name_index_path(name: &str) -> String {
    let h = crate::format::text::hex(&Sha256::digest(name_key(name).as_bytes()));
    index_path(NAME_INDEX_DIR, &h)
}

/// Where the content index holds the entry of the content digest `content_sha256` (64
/// lower-case hex), or `None` for anything else.
pub fn content_index_path(content_sha256: &str) -> Option<String> {
    is_hex64(content_sha256).then(|| index_path(CONTENT_INDEX_DIR, content_sha256))
}

/// An index object's bytes: the entry's line and LF (the same in both indices).
pub fn index_bytes(e: &Entry) -> Vec<u8> {
    let mut b = e.line().into_bytes();
    b.push(b'\n');
    b
}

/// Parse an index object strictly: one entry line and its LF.
pub fn parse_index(bytes: &[u8]) -> Result<Entry, String> {
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(format!("larger than {MAX_INDEX_BYTES} bytes"));
    }
    match bytes.split_last() {
        Some((b'\n', line)) if !line.contains(&b'\n') => Entry::parse(line),
        _ => Err("not one line ending in LF".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64, name: &str) -> Entry {
        Entry {
            index: i,
            content_sha256: format!("{:064x}", i + 1),
            file_sha256: "cd".repeat(32),
            id: format!("urn:docseal:{:032x}", i),
            supersedes: None,
            name: name.into(),
        }
    }

    #[test]
    fn sequence_round_trips_and_parses_strictly() {
        let s = Sequence {
            start: 7,
            tail: vec![entry(7, "a.zip"), entry(8, "b c.zip")],
        };
        let b = s.to_bytes();
        assert_eq!(Sequence::parse(&b).unwrap(), s);
        let empty = Sequence {
            start: 0,
            tail: vec![],
        };
        assert_eq!(empty.to_bytes(), b"docseal-sequence v3\nstart 0\n");
        assert_eq!(Sequence::parse(&empty.to_bytes()).unwrap(), empty);
        let text = String::from_utf8(b.clone()).unwrap();
        for bad in [
            text.replace("start 7", "start 07"),
            text.replace("start 7", "start 6"),
            text.replace("v3", "v4"),
            text.trim_end().to_string(),
            format!("{text}\n"),
            text.replace("\n8 ", "\n9 "),
            text.replacen('\n', "\r\n", 1),
        ] {
            assert!(Sequence::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn index_paths_and_objects() {
        let p = name_index_path("A.zip");
        assert_eq!(p, name_index_path("a.zip"));
        let h = crate::format::text::hex(&Sha256::digest(b"a.zip"));
        assert_eq!(p, format!("log/index/name/{}/{}/{h}", &h[..2], &h[2..4]));
        assert_eq!(
            content_index_path(&"ab".repeat(32)).unwrap(),
            format!("log/index/content/ab/ab/{}", "ab".repeat(32))
        );
        assert!(content_index_path("../x").is_none());
        let e = entry(3, "x.zip");
        assert_eq!(parse_index(&index_bytes(&e)).unwrap(), e);
        assert!(parse_index(e.line().as_bytes()).is_err());
        let mut two = index_bytes(&e);
        two.extend(index_bytes(&e));
        assert!(parse_index(&two).is_err());
    }
}
