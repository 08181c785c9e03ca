//! Metadata from a text export's trailer: its last lines.
//!
//! Patterns (each on a line of its own, among the last [`TRAILER_LINES`] non-blank lines, in
//! the last [`TRAILER_BYTES`] bytes of the file; the last match of each wins):
//!
//! - `Published in <publisher>, <date>.`: the publisher is the text up to the first comma
//!   whose rest is a date ([`super::dates`]), so a publisher may hold a comma; the final dot is
//!   optional;
//! - `Source: <URL>`: the first word after the colon, an absolute http(s) URL.
//!
//! Both prefixes are matched case-insensitively. Around the values, white space, U+00A0 (a
//! no-break space) and U+00C2 (`Â`, what a no-break space becomes when its UTF-8 bytes are
//! read as Latin-1, as in the shipped sample) are ignored. Bytes that are not UTF-8 are read
//! as U+FFFD. This only reads: the sealed bytes are never changed.

use super::{dates, Found, Inferred, Source};

/// How many bytes at the end of a text file are read for a trailer.
pub const TRAILER_BYTES: usize = 64 << 10;
/// How many non-blank lines at the end are looked at.
pub const TRAILER_LINES: usize = 12;

fn junk(c: char) -> bool {
    c.is_whitespace() || c == '\u{a0}' || c == '\u{c2}'
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `Published in <publisher>, <date>.` -> (publisher, date).
fn published_in(line: &str) -> Option<(String, String)> {
    let rest = strip_prefix_ci(line, "Published in")?;
    if !rest.starts_with(junk) {
        return None;
    }
    let rest = rest.trim_matches(junk);
    let rest = rest.strip_suffix('.').unwrap_or(rest).trim_matches(junk);
    for (i, _) in rest.match_indices(',') {
        // A date is short: commas far from the end are not before one.
        if rest.len() - i > 2 * dates::MAX_DATE_TEXT {
            continue;
        }
        let publisher = rest[..i].trim_matches(junk);
        if crate::format::text::check_new_text(publisher).is_err() {
            continue;
        }
        if let Some(d) = dates::normalize(&rest[i + 1..].replace(['\u{a0}', '\u{c2}'], " ")) {
            return Some((publisher.to_string(), d));
        }
    }
    None
}

/// `Source: <URL>` -> URL.
fn source(line: &str) -> Option<String> {
    let rest = strip_prefix_ci(line, "Source:")?;
    let word = rest.trim_start_matches(junk).split(junk).next()?;
    crate::profile::metadata::normalize_url(word).ok()
}

/// Read the trailer of `tail` (the end of a text file).
pub fn read(tail: &[u8], out: &mut Inferred) {
    let text = String::from_utf8_lossy(tail);
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_matches(junk))
        .filter(|l| !l.is_empty())
        .collect();
    let start = lines.len().saturating_sub(TRAILER_LINES);
    for line in &lines[start..] {
        if let Some((p, d)) = published_in(line) {
            out.publisher = Some(Found::new(p, Source::Trailer));
            out.published = Some(Found::new(d, Source::Trailer));
        }
        if let Some(u) = source(line) {
            out.url = Some(Found::new(u, Source::Trailer));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue16_trailer_patterns() {
        assert_eq!(
            published_in("Published in Daily Times, September 11th 2018."),
            Some(("Daily Times".into(), "2018-09-11".into()))
        );
        assert_eq!(
            published_in("published in The Post, Lahore, 11 September 2018"),
            Some(("The Post, Lahore".into(), "2018-09-11".into()))
        );
        assert_eq!(
            published_in("Published in\u{c2}\u{a0}Dawn, 2018-09-11."),
            Some(("Dawn".into(), "2018-09-11".into()))
        );
        assert_eq!(published_in("Published in Dawn."), None);
        assert_eq!(published_in("Published inDawn, 2018-09-11"), None);
        assert_eq!(published_in("Published in , 2018-09-11"), None);
        assert_eq!(
            source("Source:\u{c2} https://e.com/a b").as_deref(),
            Some("https://e.com/a")
        );
        assert_eq!(source("Source: not a url"), None);
        assert_eq!(source("Source: ftp://e.com/"), None);
    }

    #[test]
    fn issue16_trailer_line_of_commas_is_linear() {
        let line = format!("Published in {}", ",".repeat(60_000));
        assert_eq!(published_in(&line), None);
    }

    #[test]
    fn issue16_trailer_only_last_lines() {
        let mut text = String::from("Source: https://early.example/\n");
        for i in 0..TRAILER_LINES {
            text.push_str(&format!("line {i}\n"));
        }
        let mut inf = Inferred::default();
        read(text.as_bytes(), &mut inf);
        assert!(inf.url.is_none());
        text.push_str("Source: https://late.example/x\n");
        read(text.as_bytes(), &mut inf);
        assert_eq!(inf.url.unwrap().value, "https://late.example/x");
    }
}
