//! Portable names: the only paths a bundle may hold.
//!
//! Rules: `docs/FORMAT.md` section 5, "Portable names". Each rule has its own [`Code`]; when a
//! name breaks several rules, the first one found is reported, in this order: path length,
//! empty name, absolute path, drive letter, empty / `..` / `.` segments, forbidden characters
//! (control, bidi, backslash, colon, Windows-reserved characters), segment length, leading or
//! trailing space or trailing dot, Windows device names, NFC.

use crate::format::finding::Code;
use unicode_normalization::{is_nfc_quick, IsNormalized};

/// Longest allowed path, in bytes of UTF-8.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest allowed segment (between slashes), in bytes of UTF-8.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Windows device names, refused with or without an extension, in any case.
const DEVICE_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Characters Windows refuses in file names (besides `\` and `:`, which have their own codes).
const RESERVED_CHARS: &[char] = &['*', '?', '"', '<', '>', '|', '%'];

/// Check a raw entry name; returns it as `&str` when it is a portable path.
pub fn check_bytes(name: &[u8]) -> Result<&str, (Code, String)> {
    let s = std::str::from_utf8(name).map_err(|e| {
        (
            Code::PathNotUtf8,
            format!(
                "the name is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    check(s)?;
    Ok(s)
}

/// Check a path (segments separated by `/`).
// Longer than 80 lines: one rule per portable-name hazard (length, empty and dot segments,
// drive prefixes, device names, reserved, control and bidi characters), applied in a fixed
// order so that the code reported first for a name never changes.
pub fn check(name: &str) -> Result<(), (Code, String)> {
    if name.len() > MAX_PATH_BYTES {
        return Err((
            Code::PathTooLong,
            format!(
                "the name is {} bytes long; at most {MAX_PATH_BYTES} are allowed",
                name.len()
            ),
        ));
    }
    if name.is_empty() {
        return Err((Code::PathEmptySegment, "the name is empty".into()));
    }
    if name.starts_with('/') {
        return Err((
            Code::PathAbsolute,
            "the name is an absolute path (starts with `/`)".into(),
        ));
    }
    if let Some(d) = drive_prefix(name) {
        return Err((
            Code::PathDriveLetter,
            format!("the name starts with a drive letter (`{d}:`)"),
        ));
    }
    let segments = name.split('/').count();
    for (i, seg) in name.split('/').enumerate() {
        if seg.is_empty() {
            let msg = if i + 1 == segments {
                "the name ends with `/` (a directory name, or an empty last segment)"
            } else {
                "the name has an empty segment (`//`)"
            };
            return Err((Code::PathEmptySegment, msg.into()));
        }
        if seg == ".." {
            return Err((
                Code::PathTraversal,
                "the name has a `..` segment (path traversal)".into(),
            ));
        }
        if seg == "." {
            return Err((Code::PathDotSegment, "the name has a `.` segment".into()));
        }
    }
    for (pos, c) in name.char_indices() {
        if is_control(c) {
            return Err((
                Code::PathControlChar,
                format!("control character U+{:04X} at byte {pos}", c as u32),
            ));
        }
        if is_bidi(c) {
            return Err((
                Code::PathBidi,
                format!(
                    "bidirectional control character U+{:04X} at byte {pos}",
                    c as u32
                ),
            ));
        }
        if c == '\\' {
            return Err((Code::PathBackslash, format!("backslash at byte {pos}")));
        }
        if c == ':' {
            return Err((
                Code::PathDriveLetter,
                format!("colon at byte {pos} (drive letters and alternate streams are refused)"),
            ));
        }
        if RESERVED_CHARS.contains(&c) {
            return Err((
                Code::PathReservedName,
                format!("the character `{c}` (reserved on Windows) at byte {pos}"),
            ));
        }
    }
    for seg in name.split('/') {
        if seg.len() > MAX_SEGMENT_BYTES {
            return Err((
                Code::PathTooLong,
                format!(
                    "a segment is {} bytes long; at most {MAX_SEGMENT_BYTES} are allowed",
                    seg.len()
                ),
            ));
        }
        if seg.starts_with(' ') {
            return Err((
                Code::PathReservedName,
                format!("the segment `{seg}` starts with a space"),
            ));
        }
        if seg.ends_with(' ') {
            return Err((
                Code::PathReservedName,
                format!("the segment `{seg}` ends with a space"),
            ));
        }
        if seg.ends_with('.') {
            return Err((
                Code::PathReservedName,
                format!("the segment `{seg}` ends with a dot"),
            ));
        }
        if is_device_name(seg) {
            return Err((
                Code::PathReservedName,
                format!("`{seg}` is a Windows device name"),
            ));
        }
    }
    if !is_nfc(name) {
        return Err((
            Code::PathNotNfc,
            "the name is not in Unicode normalization form C (NFC)".into(),
        ));
    }
    Ok(())
}

/// The key under which two names collide: NFC, then Unicode default case folding, then NFC.
pub fn collision_key(name: &str) -> String {
    if name.is_ascii() {
        // NFC leaves ASCII as it is and case folding only lowers A-Z: the same key, without
        // the Unicode tables (which made 10,000 names of 1,024 bytes take seconds).
        return name.to_ascii_lowercase();
    }
    unicode_collision_key(name)
}

fn unicode_collision_key(name: &str) -> String {
    nfc(&caseless::default_case_fold_str(&nfc(name)))
}

/// Whether `name` is in NFC: `unicode_normalization::is_nfc`, whose undecided case compares
/// with its `.nfc()` (see [`nfc`]).
pub fn is_nfc(name: &str) -> bool {
    match is_nfc_quick(name.chars()) {
        IsNormalized::Yes => true,
        IsNormalized::No => false,
        IsNormalized::Maybe => nfc(name) == name,
    }
}

/// `name` in Normalization Form C (UAX #15): canonical decomposition, canonical ordering,
/// canonical composition; the same string as `unicode_normalization`'s `.nfc()`, built on its
/// per-character functions. Its `.nfc()` iterator shares code with NFKC, which kept the
/// compatibility decomposition tables (about 62 KB) in the page's WebAssembly module.
pub fn nfc(name: &str) -> String {
    use unicode_normalization::char::{canonical_combining_class, compose, decompose_canonical};
    let mut d: Vec<(char, u8)> = Vec::with_capacity(name.len());
    for c in name.chars() {
        decompose_canonical(c, |x| d.push((x, canonical_combining_class(x))));
    }
    // Canonical ordering: each run of non-starters sorted by combining class, stably.
    let mut i = 0;
    while i < d.len() {
        if d[i].1 == 0 {
            i += 1;
            continue;
        }
        let run = d[i..].iter().take_while(|x| x.1 != 0).count();
        d[i..i + run].sort_by_key(|x| x.1);
        i += run;
    }
    // Canonical composition: a character joins the last starter unless it is blocked (a
    // character between them of class 0 or of a class not below its own).
    let mut out: Vec<char> = Vec::with_capacity(d.len());
    let mut starter: Option<usize> = None;
    let mut last: Option<u8> = None;
    for (c, class) in d {
        if let Some(s) = starter {
            let blocked = last.is_some_and(|l| l == 0 || l >= class);
            if !blocked {
                if let Some(joined) = compose(out[s], c) {
                    out[s] = joined;
                    continue;
                }
            }
        }
        if class == 0 {
            starter = Some(out.len());
            last = None;
        } else {
            last = Some(class);
        }
        out.push(c);
    }
    out.into_iter().collect()
}

/// A name made safe to show to a person: control and bidi characters are escaped.
pub fn display(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if is_control(c) || is_bidi(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`display`] for raw bytes: invalid UTF-8 is shown as U+FFFD.
pub fn display_bytes(name: &[u8]) -> String {
    display(&String::from_utf8_lossy(name))
}

/// C0 controls, DEL and C1 controls.
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// Bidirectional formatting characters: ALM, LRM, RLM, LRE..RLO, LRI..PDI.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `C` when the name starts with an ASCII letter followed by a colon (`C:`).
fn drive_prefix(name: &str) -> Option<char> {
    let b = name.as_bytes();
    (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':').then(|| b[0] as char)
}

/// A Windows device name, with or without an extension (`NUL`, `nul.txt`, `Com1.tar.gz`).
/// Like Windows, spaces before the extension are ignored (`CON .txt` is `CON`).
fn is_device_name(seg: &str) -> bool {
    let base = seg.split('.').next().unwrap_or(seg).trim_end_matches(' ');
    DEVICE_NAMES.iter().any(|d| d.eq_ignore_ascii_case(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(name: &str) -> Option<Code> {
        check(name).err().map(|(c, _)| c)
    }

    #[test]
    fn accepts_portable_names() {
        for ok in [
            "a",
            "data/article.txt",
            "data/attachments/photo 1.jpg",
            "tagmanifest-sha256.txt.0123456789ABCDEF.minisig",
            "Résumé.pdf",
            "日本語/ファイル.txt",
            ".hidden",
            "a.b.c",
            "CONSOLE.txt",
            "COM10",
            "LPT0",
            "xCON",
            "a-b_c(1)[2]{3}#&'+,;=@$!~^`",
            "emoji 😀.png",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok:?}");
            assert_eq!(check_bytes(ok.as_bytes()), Ok(ok));
        }
        let seg = "x".repeat(255);
        assert_eq!(check(&seg), Ok(()));
        let path = [seg.as_str(), seg.as_str(), seg.as_str(), seg.as_str()].join("/");
        assert_eq!(path.len(), 1023);
        assert_eq!(check(&path), Ok(()));
        let path = [&seg[1..], seg.as_str(), seg.as_str(), seg.as_str(), "y"].join("/");
        assert_eq!(path.len(), 1024);
        assert_eq!(check(&path), Ok(()));
        assert_eq!(code(&format!("{path}z")), Some(Code::PathTooLong));
    }

    #[test]
    fn one_code_per_rule() {
        let cases: &[(&str, Code)] = &[
            ("a\u{301}.txt", Code::PathNotNfc),
            ("\u{212b}", Code::PathNotNfc), // U+212B ANGSTROM SIGN, NFC is U+00C5
            ("..", Code::PathTraversal),
            ("../a", Code::PathTraversal),
            ("a/../b", Code::PathTraversal),
            ("a/..", Code::PathTraversal),
            (".", Code::PathDotSegment),
            ("./a", Code::PathDotSegment),
            ("a/./b", Code::PathDotSegment),
            ("", Code::PathEmptySegment),
            ("a//b", Code::PathEmptySegment),
            ("a/", Code::PathEmptySegment),
            ("data/", Code::PathEmptySegment),
            ("/etc/passwd", Code::PathAbsolute),
            ("//server/share", Code::PathAbsolute),
            ("/", Code::PathAbsolute),
            ("a\\b", Code::PathBackslash),
            ("\\a", Code::PathBackslash),
            ("C:", Code::PathDriveLetter),
            ("c:/windows", Code::PathDriveLetter),
            ("C:\\x", Code::PathDriveLetter),
            ("a:b", Code::PathDriveLetter),
            ("file.txt:stream", Code::PathDriveLetter),
            ("a\0b", Code::PathControlChar),
            ("a\nb", Code::PathControlChar),
            ("a\rb", Code::PathControlChar),
            ("a\tb", Code::PathControlChar),
            ("a\u{7f}", Code::PathControlChar),
            ("a\u{85}", Code::PathControlChar),
            ("a\u{9f}", Code::PathControlChar),
            ("a\u{202e}txt.exe", Code::PathBidi),
            ("\u{61c}", Code::PathBidi),
            ("\u{200e}", Code::PathBidi),
            ("\u{200f}", Code::PathBidi),
            ("\u{202a}", Code::PathBidi),
            ("\u{2066}", Code::PathBidi),
            ("\u{2069}", Code::PathBidi),
            ("CON", Code::PathReservedName),
            ("con", Code::PathReservedName),
            ("Con.txt", Code::PathReservedName),
            ("nul.tar.gz", Code::PathReservedName),
            ("a/PRN", Code::PathReservedName),
            ("AUX.x", Code::PathReservedName),
            ("com1", Code::PathReservedName),
            ("COM9.log", Code::PathReservedName),
            ("lpt1", Code::PathReservedName),
            ("LPT9", Code::PathReservedName),
            ("CON .txt", Code::PathReservedName),
            ("a*b", Code::PathReservedName),
            ("a?b", Code::PathReservedName),
            ("a\"b", Code::PathReservedName),
            ("a<b", Code::PathReservedName),
            ("a>b", Code::PathReservedName),
            ("a|b", Code::PathReservedName),
            ("100%", Code::PathReservedName),
            (" a", Code::PathReservedName),
            ("a ", Code::PathReservedName),
            ("a /b", Code::PathReservedName),
            ("a.", Code::PathReservedName),
            ("...", Code::PathReservedName),
            ("a./b", Code::PathReservedName),
        ];
        for (name, want) in cases {
            assert_eq!(code(name), Some(*want), "{name:?}");
        }
        assert_eq!(code(&"x".repeat(256)), Some(Code::PathTooLong));
        assert_eq!(
            code(&format!("a/{}", "é".repeat(128))),
            Some(Code::PathTooLong)
        );
        let seg = "x".repeat(200);
        let long = [seg.as_str(); 6].join("/");
        assert_eq!(code(&long), Some(Code::PathTooLong));
        assert_eq!(code(&"a/".repeat(600)), Some(Code::PathTooLong));
    }

    #[test]
    fn bytes_must_be_utf8() {
        assert_eq!(check_bytes(b"a\xffb").unwrap_err().0, Code::PathNotUtf8);
        assert_eq!(check_bytes(b"\xc3").unwrap_err().0, Code::PathNotUtf8);
        // Overlong encoding of '/'.
        assert_eq!(check_bytes(b"a\xc0\xafb").unwrap_err().0, Code::PathNotUtf8);
        // UTF-16 surrogate encoded in UTF-8 (CESU/WTF-8).
        assert_eq!(
            check_bytes(b"\xed\xa0\x80").unwrap_err().0,
            Code::PathNotUtf8
        );
        assert_eq!(check_bytes(b"../x").unwrap_err().0, Code::PathTraversal);
    }

    #[test]
    fn messages_are_not_empty() {
        for bad in [
            "",
            "/",
            "a//b",
            "..",
            "a\u{0}",
            "a\u{202e}",
            "CON",
            "a:b",
            "a\u{301}",
        ] {
            let (_, msg) = check(bad).unwrap_err();
            assert!(!msg.is_empty());
            assert!(!msg.contains('\0') && !msg.contains('\u{202e}'));
        }
    }

    #[test]
    fn collision_keys() {
        assert_eq!(collision_key("README.txt"), collision_key("readme.TXT"));
        assert_eq!(collision_key("straße"), collision_key("STRASSE"));
        assert_eq!(collision_key("e\u{301}"), collision_key("\u{e9}"));
        assert_eq!(collision_key("\u{c9}"), collision_key("e\u{301}"));
        assert_eq!(collision_key("\u{212b}"), collision_key("å")); // ANGSTROM SIGN
        assert_eq!(collision_key("\u{212a}"), collision_key("k")); // KELVIN SIGN
        assert_eq!(collision_key("ΣΑΣ"), collision_key("σας"));
        assert_ne!(collision_key("a"), collision_key("b"));
        assert_ne!(collision_key("a/b"), collision_key("ab"));
        // The key is itself NFC.
        let k = collision_key("\u{1e9e}\u{301}");
        assert!(is_nfc(&k));
    }

    /// Issue 15 (the page's size): [`nfc`] is `unicode_normalization`'s `.nfc()`, on every
    /// code point alone, after a starter and before a mark, and on strings of Hangul jamo,
    /// combining marks of several classes and composable letters in every order.
    #[test]
    fn issue15_nfc_equals_unicode_normalization_nfc() {
        use unicode_normalization::UnicodeNormalization;
        let want = |s: &str| -> String { s.nfc().collect() };
        for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
            for s in [
                c.to_string(),
                format!("a{c}"),
                format!("{c}\u{301}"),
                format!("\u{1100}{c}\u{11a8}"),
            ] {
                assert_eq!(nfc(&s), want(&s), "{:?}", s);
                assert_eq!(is_nfc(&s), unicode_normalization::is_nfc(&s), "{:?}", s);
            }
        }
        let parts: Vec<char> = [
            'a',
            'e',
            'A',
            'o',
            'u',
            'ω',
            'α',
            'ſ',
            '\u{3b9}',
            '\u{1100}',
            '\u{1161}',
            '\u{11a8}',
            '\u{ac00}',
            '\u{300}',
            '\u{301}',
            '\u{302}',
            '\u{308}',
            '\u{323}',
            '\u{327}',
            '\u{328}',
            '\u{345}',
            '\u{31b}',
            '\u{5b0}',
            '\u{5bc}',
            '\u{93c}',
            '\u{94d}',
            '\u{f71}',
            '\u{f72}',
            '\u{f74}',
            '\u{f80}',
            '\u{1e9b}',
            '\u{212b}',
            '\u{2000}',
            '\u{fb2c}',
            '\u{1d15e}',
            '\u{1d165}',
            '\u{1d16e}',
            '\u{11131}',
            '\u{11127}',
            'x',
        ]
        .into();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = 1 + (seed % 7) as usize;
            let s: String = (0..len)
                .map(|i| parts[((seed >> (8 + 5 * i)) as usize) % parts.len()])
                .collect();
            assert_eq!(nfc(&s), want(&s), "{:?}", s);
            assert_eq!(is_nfc(&s), unicode_normalization::is_nfc(&s), "{:?}", s);
        }
    }

    #[test]
    fn ascii_collision_keys_take_the_short_path_to_the_same_key() {
        let all: String = (0u8..128).map(char::from).collect();
        assert_eq!(collision_key(&all), unicode_collision_key(&all));
        for c in 0u8..128 {
            let s = format!("Data/{}x{}", char::from(c), char::from(c));
            assert_eq!(collision_key(&s), unicode_collision_key(&s), "{c}");
        }
    }

    #[test]
    fn display_escapes() {
        assert_eq!(display("a\u{202e}b\0"), "a\\u{202e}b\\u{0}");
        assert_eq!(display_bytes(b"a\xff"), "a\u{fffd}");
    }
}
