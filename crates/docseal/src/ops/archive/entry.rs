//! Log entries: one line per bundle in `log/entries`, and the names bundles may have.

use super::*;
use crate::format::merkle::{self, Hash};
use crate::profile::metadata::is_hex64;
use serde::Serialize;

/// One log entry: one bundle added to the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Its position in the log, from 0.
    pub index: u64,
    /// The bundle's content digest (SHA-256 of its tag manifest), hex.
    pub content_sha256: String,
    /// SHA-256 of the bundle file as added, hex.
    pub file_sha256: String,
    /// The bundle identity.
    pub id: String,
    /// The content digest of the bundle it supersedes, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// Its file name under `bundles/`.
    pub name: String,
}

/// Whether `name` may be a bundle's file name in an archive: one portable path segment
/// ending in `.zip`, at most 255 bytes.
pub fn check_name(name: &str) -> std::result::Result<(), String> {
    if name.len() > MAX_NAME_BYTES || name.contains('/') {
        return Err(format!(
            "{name:?} is not a single file name of at most {MAX_NAME_BYTES} bytes"
        ));
    }
    if !name.ends_with(".zip") || name.len() <= 4 {
        return Err(format!("{name:?} does not end in .zip"));
    }
    crate::format::path::check(name).map_err(|(code, why)| format!("{name:?}: {why} ({code})"))
}

pub(super) fn is_bundle_id(s: &str) -> bool {
    s.strip_prefix("urn:docseal:").is_some_and(|h| {
        h.len() == 32
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A decimal number as docseal writes it (no sign, no leading zeros).
pub(super) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Entry {
    /// The entry's line, without its LF:
    /// `<index> <content sha256> <file sha256> <id> <supersedes sha256 or -> <name>`.
    pub fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}",
            self.index,
            self.content_sha256,
            self.file_sha256,
            self.id,
            self.supersedes.as_deref().unwrap_or("-"),
            self.name
        )
    }

    /// The entry's leaf hash in the log's Merkle tree: `SHA-256(0x00 || line)`.
    pub fn leaf_hash(&self) -> Hash {
        merkle::leaf_hash(self.line().as_bytes())
    }

    /// Parse an entry line (without its LF) strictly.
    pub fn parse(line: &[u8]) -> std::result::Result<Entry, String> {
        if line.len() > MAX_ENTRY_LINE {
            return Err(format!("longer than {MAX_ENTRY_LINE} bytes"));
        }
        let text = std::str::from_utf8(line).map_err(|_| "not valid UTF-8".to_string())?;
        let mut it = text.splitn(6, ' ');
        let mut field = |what: &str| {
            it.next()
                .filter(|f| !f.is_empty())
                .ok_or_else(|| format!("no {what} field"))
        };
        let index = field("index")?;
        let content = field("content digest")?;
        let file = field("file digest")?;
        let id = field("bundle id")?;
        let sup = field("supersedes")?;
        let name = field("file name")?;
        let index = parse_decimal(index).ok_or("the index is not a decimal number")?;
        if !is_hex64(content) || !is_hex64(file) {
            return Err("a digest is not 64 lower-case hex digits".into());
        }
        if !is_bundle_id(id) {
            return Err("the bundle id is not urn:docseal:<32 hex>".into());
        }
        let supersedes = match sup {
            "-" => None,
            s if is_hex64(s) => Some(s.to_string()),
            _ => return Err("supersedes is neither - nor 64 lower-case hex digits".into()),
        };
        check_name(name)?;
        let e = Entry {
            index,
            content_sha256: content.into(),
            file_sha256: file.into(),
            id: id.into(),
            supersedes,
            name: name.into(),
        };
        if e.line().as_bytes() != line {
            return Err("not in canonical form".into());
        }
        Ok(e)
    }
}
