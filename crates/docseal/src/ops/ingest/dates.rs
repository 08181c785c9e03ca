//! Dates as articles write them, turned into the forms `metadata.json` takes (`YYYY-MM-DD` or
//! an RFC 3339 date-time).
//!
//! Accepted (case-insensitive month names, full or three-letter, `Sept` too; ordinal suffixes
//! `st`, `nd`, `rd`, `th`; commas and dots ignored):
//!
//! - `2018-09-11`, an RFC 3339 date-time (kept as written);
//! - an ISO 8601 date-time that is not RFC 3339 (no offset, `+0500`, fractions): its date;
//! - `September 11th 2018`, `Sep 11, 2018`, `11 September 2018`, `11th Sept. 2018`.

use crate::profile::metadata::check_date;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Longest date text looked at, in bytes.
pub(crate) const MAX_DATE_TEXT: usize = 64;

fn month(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    if w == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| *m == w || (w.len() == 3 && m.starts_with(&w)))
        .map(|i| i as u32 + 1)
}

fn day(word: &str) -> Option<u32> {
    let w = word.trim_end_matches([',', '.']).to_ascii_lowercase();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| w.strip_suffix(s))
        .unwrap_or(&w);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn year(word: &str) -> Option<i32> {
    let w = word.trim_end_matches([',', '.']);
    if w.len() != 4 || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    w.parse().ok()
}

fn ymd(y: i32, m: u32, d: u32) -> Option<String> {
    chrono::NaiveDate::from_ymd_opt(y, m, d).map(|d| d.format("%Y-%m-%d").to_string())
}

/// `s` as a `metadata.json` date, or `None` when it is not a date docseal reads.
pub fn normalize(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_DATE_TEXT {
        return None;
    }
    if check_date(s).is_ok() {
        return Some(s.to_string());
    }
    // An ISO 8601 date-time that is not RFC 3339: its date.
    if let Some(head) = s.get(..10) {
        if check_date(head).is_ok() && s[10..].starts_with(['T', 't', ' ']) {
            return Some(head.to_string());
        }
    }
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == '\u{a0}')
        .filter(|w| !w.is_empty() && *w != ",")
        .collect();
    match words.as_slice() {
        [m, d, y] => {
            if let (Some(m), Some(d), Some(y)) = (month(m), day(d), year(y)) {
                return ymd(y, m, d);
            }
            if let (Some(d), Some(m), Some(y)) = (day(m), month(d), year(y)) {
                return ymd(y, m, d);
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn issue16_dates_as_articles_write_them() {
        for (s, want) in [
            ("September 11th 2018", "2018-09-11"),
            ("September 11th, 2018", "2018-09-11"),
            ("Sep 1, 2018", "2018-09-01"),
            ("Sept. 2nd 2018", "2018-09-02"),
            ("11 September 2018", "2018-09-11"),
            ("11th sept 2018", "2018-09-11"),
            ("2018-09-11", "2018-09-11"),
            ("2018-09-11T10:00:00+05:00", "2018-09-11T10:00:00+05:00"),
            ("2018-09-11T10:00:00", "2018-09-11"),
            ("2018-09-11T10:00:00+0500", "2018-09-11"),
            ("2018-09-11 10:00", "2018-09-11"),
        ] {
            assert_eq!(normalize(s).as_deref(), Some(want), "{s}");
        }
        for s in [
            "",
            "September 31st 2018",
            "Mayday 11 2018",
            "11 2018",
            "2018-02-30",
            "yesterday",
            "September 11th 18",
            "ma 11 2018",
        ] {
            assert_eq!(normalize(s), None, "{s}");
        }
        assert_eq!(normalize(&"9".repeat(100_000)), None);
    }
}
