//! BagIt 1.0 (RFC 8493) tag files: `bagit.txt`, `bag-info.txt`, and the SHA-256 manifests.
//!
//! An unzipped bundle is a bag; the tag manifest is the file the signature covers.

// Re-exported for the callers that know them as BagIt helpers.
pub use crate::format::digest::sha256_reader;
use crate::format::text::hex;
pub use crate::format::text::parse_hex32;
use crate::profile::metadata::Metadata;

/// `bagit.txt`, exactly.
pub const BAGIT_TXT: &[u8] = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
/// Name of the BagIt declaration.
pub const BAGIT: &str = "bagit.txt";
/// Name of the bag metadata file.
pub const BAG_INFO: &str = "bag-info.txt";
/// Name of the metadata record.
pub const METADATA: &str = "metadata.json";
/// Name of the payload manifest.
pub const MANIFEST: &str = "manifest-sha256.txt";
/// Name of the tag manifest (the signed file).
pub const TAGMANIFEST: &str = "tagmanifest-sha256.txt";
/// Name of the sealer's signature.
pub const SIGNATURE: &str = "tagmanifest-sha256.txt.minisig";
/// Tag files, in ZIP order, before the signatures.
pub const TAG_FILES: [&str; 5] = [BAGIT, BAG_INFO, METADATA, MANIFEST, TAGMANIFEST];
/// Files the tag manifest lists, in manifest (bytewise) order.
pub const TAGMANIFEST_LISTS: [&str; 4] = [BAG_INFO, BAGIT, MANIFEST, METADATA];
/// Largest manifest the verifier reads.
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// Largest `bag-info.txt` or `bagit.txt` the verifier reads.
pub const MAX_BAG_INFO_BYTES: u64 = 64 << 10;

/// The file name of a co-signature by the key with this id (16 upper-case hex digits).
pub fn cosignature_name(key_id: &str) -> String {
    format!("{TAGMANIFEST}.{key_id}.minisig")
}

/// The key id in a co-signature's file name, if `name` is one.
pub fn cosignature_key_id(name: &str) -> Option<&str> {
    let id = name
        .strip_prefix(TAGMANIFEST)?
        .strip_prefix('.')?
        .strip_suffix(".minisig")?;
    (id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)))
    .then_some(id)
}

/// `bag-info.txt` for this metadata and payload (total bytes, file count).
pub fn bag_info(m: &Metadata, payload_bytes: u64, payload_files: u64) -> Vec<u8> {
    let mut s = String::new();
    let mut line = |label: &str, value: &str| {
        s.push_str(label);
        s.push_str(": ");
        s.push_str(value);
        s.push('\n');
    };
    line("Source-Organization", &m.publisher);
    line("External-Description", &m.headline);
    line("External-Identifier", &m.id);
    line("Bagging-Date", m.bagging_date());
    line("Bag-Software-Agent", &m.sealed_with);
    line("Payload-Oxum", &format!("{payload_bytes}.{payload_files}"));
    line("Source-URL", &m.url);
    for a in &m.author {
        line("Author", a);
    }
    line("Date-Published", &m.date_published);
    if let Some(r) = &m.date_retrieved {
        line("Date-Retrieved", r);
    }
    line("Date-Sealed", &m.date_sealed);
    s.into_bytes()
}

/// A manifest: `<hex>  <path>\n` per file, sorted by path bytewise. Paths must be unique.
pub fn manifest(entries: &[(String, [u8; 32])]) -> Vec<u8> {
    let mut sorted: Vec<&(String, [u8; 32])> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut s = String::new();
    for (path, digest) in sorted {
        s.push_str(&hex(digest));
        s.push_str("  ");
        s.push_str(path);
        s.push('\n');
    }
    s.into_bytes()
}

/// Parse a manifest strictly: canonical form only (lower-case hex, two spaces, LF, sorted,
/// unique, non-empty, UTF-8 without BOM). Returns (path, digest) pairs in file order.
pub fn parse_manifest(bytes: &[u8]) -> Result<Vec<(String, [u8; 32])>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())?;
    if text.starts_with('\u{feff}') {
        return Err("starts with a byte order mark".into());
    }
    if text.is_empty() {
        return Err("empty".into());
    }
    if !text.ends_with('\n') {
        return Err("last line does not end in LF".into());
    }
    let mut out: Vec<(String, [u8; 32])> = Vec::new();
    for (i, line) in text[..text.len() - 1].split('\n').enumerate() {
        let n = i + 1;
        let (h, path) = line
            .split_at_checked(64)
            .ok_or_else(|| format!("line {n}: too short"))?;
        let path = path
            .strip_prefix("  ")
            .ok_or_else(|| format!("line {n}: digest and path must be separated by two spaces"))?;
        let digest = parse_hex32(h)
            .ok_or_else(|| format!("line {n}: digest is not 64 lower-case hex digits"))?;
        if path.is_empty() || path.contains('\r') {
            return Err(format!("line {n}: bad path"));
        }
        if let Some((prev, _)) = out.last() {
            if prev.as_bytes() >= path.as_bytes() {
                return Err(format!("line {n}: paths not sorted or repeated ({path})"));
            }
        }
        out.push((path.to_string(), digest));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_strictness() {
        let e = vec![
            ("data/b".to_string(), [0xabu8; 32]),
            ("data/a".to_string(), [1u8; 32]),
        ];
        let m = manifest(&e);
        let text = String::from_utf8(m.clone()).unwrap();
        assert!(text.starts_with(&format!("{}  data/a\n", "01".repeat(32))));
        let parsed = parse_manifest(&m).unwrap();
        assert_eq!(parsed[0].0, "data/a");
        assert_eq!(parsed[1].1, [0xabu8; 32]);
        assert!(parse_manifest(text.replace("  ", " ").as_bytes()).is_err());
        assert!(parse_manifest(text.replace('\n', "\r\n").as_bytes()).is_err());
        assert!(parse_manifest(text.to_uppercase().as_bytes()).is_err());
        assert!(parse_manifest(text.trim_end().as_bytes()).is_err());
        let swapped: String = text.lines().rev().map(|l| format!("{l}\n")).collect();
        assert!(parse_manifest(swapped.as_bytes()).is_err());
        let dup = format!("{text}{}", text.lines().last().unwrap()) + "\n";
        assert!(parse_manifest(dup.as_bytes()).is_err());
        assert!(parse_manifest(format!("\u{feff}{text}").as_bytes()).is_err());
    }

    #[test]
    fn cosignature_names() {
        assert_eq!(
            cosignature_key_id(&cosignature_name("0123456789ABCDEF")),
            Some("0123456789ABCDEF")
        );
        assert_eq!(cosignature_key_id("tagmanifest-sha256.txt.minisig"), None);
        assert_eq!(
            cosignature_key_id("tagmanifest-sha256.txt.0123456789abcdef.minisig"),
            None
        );
    }
}
