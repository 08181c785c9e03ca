//! Text rules shared by every floor: lower-case hex, the checks on human-written text
//! (headlines, names, key names), and the one time format docseal writes
//! (`YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds).

use chrono::{DateTime, Utc};

/// Largest headline, author, publisher or key name, in bytes.
pub const MAX_TEXT_BYTES: usize = 1024;

// ---------------------------------------------------------------------------------------------
// Hex.
// ---------------------------------------------------------------------------------------------

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// Whether `s` is 64 lower-case hex digits.
pub fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parse 64 lower-case hex digits.
pub fn parse_hex32(h: &str) -> Option<[u8; 32]> {
    if h.len() != 64
        || !h
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut d = [0u8; 32];
    for (i, byte) in d.iter_mut().enumerate() {
        *byte = u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(d)
}

// ---------------------------------------------------------------------------------------------
// Text written by people.
// ---------------------------------------------------------------------------------------------

/// A headline, author or publisher: not empty, no control characters, at most 1024 bytes.
pub fn check_text(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_TEXT_BYTES {
        return Err(format!("longer than {MAX_TEXT_BYTES} bytes"));
    }
    if s.chars().any(char::is_control) {
        return Err("contains a control character (line break, tab, ...)".into());
    }
    Ok(())
}

/// Bidirectional controls and invisible characters: they reorder, hide or fake what a person
/// reads. The one list shared by `pack` and `key trust` (refused in new text) and the
/// terminal escaping of the command line: U+061C, U+200B, U+200E, U+200F, U+2028-202E,
/// U+2060-2064, U+2066-206F, U+00AD, U+034F, U+115F, U+180E, U+3164, U+FEFF, U+FFA0,
/// U+FFF9-FFFB and the tags U+E0000-E007F.
pub fn is_bidi_or_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'
            | '\u{180e}'
            | '\u{200b}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// [`check_text`] for text about to be written (a title, publisher or author given to `pack`,
/// a key name given to `key trust`): also no bidirectional control or invisible separator
/// ([`is_bidi_or_invisible`]). Bundles and trust files already written are read with
/// [`check_text`] alone.
pub fn check_new_text(s: &str) -> Result<(), String> {
    check_text(s)?;
    if let Some(c) = s.chars().find(|&c| is_bidi_or_invisible(c)) {
        return Err(format!(
            "contains U+{:04X}, a bidirectional control or invisible separator (it changes how the text reads)",
            c as u32
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Times.
// ---------------------------------------------------------------------------------------------

/// Normalize a sealing time to `YYYY-MM-DDTHH:MM:SSZ` (UTC). Accepts an RFC 3339 date-time
/// with whole seconds, or a plain date (midnight UTC).
pub fn normalize_sealed(s: &str) -> Result<String, String> {
    let bad =
        || format!("{s:?} is not an RFC 3339 date-time with whole seconds, or a YYYY-MM-DD date");
    if s.len() == 10 {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())?;
        return Ok(format!("{}T00:00:00Z", d.format("%Y-%m-%d")));
    }
    let t = chrono::DateTime::parse_from_rfc3339(s).map_err(|_| bad())?;
    if t.timestamp_subsec_nanos() != 0 {
        return Err(bad());
    }
    Ok(format_sealed(t.with_timezone(&chrono::Utc)))
}

/// Format a UTC time as `dateSealed`.
pub fn format_sealed(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike as _, Timelike as _};
    if (0..=9999).contains(&t.year()) {
        // What the strftime pattern below gives for these years, without parsing a pattern
        // (which was 1.5 % of verifying a small bundle).
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
    }
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parse an RFC 3339 time or a plain date (midnight UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let norm = normalize_sealed(s)?;
    DateTime::parse_from_rfc3339(&norm)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written `dateSealed` formatting is the strftime pattern's output, at the ends
    /// of the range too.
    #[test]
    fn format_sealed_matches_strftime() {
        use chrono::TimeZone as _;
        let mut times = vec![
            chrono::Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc
                .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
                .unwrap(),
            chrono::Utc.with_ymd_and_hms(-1, 12, 31, 23, 0, 0).unwrap(),
            chrono::Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            chrono::Utc.with_ymd_and_hms(2026, 11, 27, 9, 5, 7).unwrap(),
        ];
        let mut t = 0i64;
        while t < 300_000_000_000 {
            times.push(chrono::Utc.timestamp_opt(t, 0).unwrap());
            t += 7_777_777_777 + t / 3;
        }
        for t in times {
            assert_eq!(format_sealed(t), t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
        assert_eq!(
            normalize_sealed("0000-01-01T00:30:00+01:00").unwrap(),
            "-0001-12-31T23:30:00Z"
        );
    }

    #[test]
    fn hex_round_trips_and_parse_is_strict() {
        let d: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let h = hex(&d);
        assert!(is_hex64(&h));
        assert_eq!(parse_hex32(&h), Some(d));
        assert_eq!(parse_hex32(&h.to_uppercase()), None);
        assert_eq!(parse_hex32(&h[1..]), None);
        assert!(!is_hex64(&h.to_uppercase()));
    }

    #[test]
    fn text_rules() {
        assert!(check_text("A headline").is_ok());
        assert!(check_text(" ").is_err());
        assert!(check_text("a\nb").is_err());
        assert!(check_text(&"x".repeat(MAX_TEXT_BYTES + 1)).is_err());
        assert!(check_text("a\u{202e}b").is_ok());
        assert!(check_new_text("a\u{202e}b").is_err());
        assert_eq!(
            parse_time("2026-11-27").unwrap(),
            parse_time("2026-11-27T01:00:00+01:00").unwrap()
        );
    }
}
