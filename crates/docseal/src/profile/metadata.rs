//! The metadata record (`metadata.json`): what was sealed, from where, when, by what.
//!
//! Field names follow schema.org's NewsArticle where they fit. The record is written in one
//! canonical serialization and the verifier accepts only that (`docs/FORMAT.md` section 3).

use crate::format::finding::{Code, Finding};
// The text, hex and time rules live in `format::text`; re-exported here for the callers
// that know them as metadata rules.
pub use crate::format::text::{
    check_new_text, check_text, format_sealed, hex, is_bidi_or_invisible, is_hex64,
    normalize_sealed, MAX_TEXT_BYTES,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The bundle format version this docseal writes.
pub const FORMAT_VERSION: u32 = 1;

/// The tool name and version recorded in bundles (`sealedWith`).
pub fn tool_version() -> String {
    format!("docseal {}", env!("CARGO_PKG_VERSION"))
}

/// Largest `metadata.json` the verifier reads.
pub const MAX_METADATA_BYTES: u64 = 1 << 20;
/// Largest URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Path prefix of the article inside a bundle.
pub const ARTICLE_PREFIX: &str = "data/article.";
/// Directory of attachments inside a bundle.
pub const ATTACHMENTS_DIR: &str = "data/attachments/";

/// A link to the bundle that this one corrects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Supersedes {
    /// The superseded bundle's `id`.
    pub id: String,
    /// The superseded bundle's content digest (SHA-256 of its tag manifest), lower-case hex.
    pub sha256: String,
}

/// The metadata record of a bundle, field for field as in `metadata.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Format version (1).
    #[serde(rename = "docsealFormat")]
    pub format: u32,
    /// Bundle identity, `urn:docseal:<32 hex>`.
    pub id: String,
    /// Always `https://schema.org`.
    #[serde(rename = "@context")]
    pub context: String,
    /// Always `NewsArticle`.
    #[serde(rename = "@type")]
    pub kind: String,
    /// The article's title.
    pub headline: String,
    /// Authors, in order.
    pub author: Vec<String>,
    /// Publisher name.
    pub publisher: String,
    /// Publication date (date or RFC 3339 date-time), as given.
    #[serde(rename = "datePublished")]
    pub date_published: String,
    /// Source URL (normalized by the `url` crate).
    pub url: String,
    /// When the article was retrieved, if known.
    #[serde(
        rename = "dateRetrieved",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub date_retrieved: Option<String>,
    /// When it was sealed, `YYYY-MM-DDTHH:MM:SSZ`. Asserted by the signer, not proven.
    #[serde(rename = "dateSealed")]
    pub date_sealed: String,
    /// Tool and version that sealed it.
    #[serde(rename = "sealedWith")]
    pub sealed_with: String,
    /// Path of the article inside the bundle.
    #[serde(rename = "articleFile")]
    pub article_file: String,
    /// Paths of the attachments inside the bundle, sorted.
    pub attachments: Vec<String>,
    /// The bundle this one supersedes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Supersedes>,
}

#[derive(Deserialize)]
struct VersionOnly {
    #[serde(rename = "docsealFormat")]
    format: u64,
}

impl Metadata {
    /// The canonical bytes: pretty JSON with a final LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = serde_json::to_string_pretty(self).expect("metadata serializes");
        s.push('\n');
        s.into_bytes()
    }

    /// Parse `metadata.json` strictly and check every value. Returns the record when it could
    /// be parsed (possibly with findings about its values) or the findings alone.
    pub fn parse(bytes: &[u8]) -> (Option<Metadata>, Vec<Finding>) {
        const F: &str = "metadata.json";
        let malformed = |m: String| (None, vec![Finding::at(Code::MetadataMalformed, F, m)]);
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            return malformed("starts with a byte order mark".into());
        }
        if std::str::from_utf8(bytes).is_err() {
            return malformed("not valid UTF-8".into());
        }
        // The usual case in one pass: a metadata.json of this version. Whatever parses as
        // Metadata with this version parses as VersionOnly with it too (the same key, required
        // by both), so the version check below would pass.
        let first: Option<Metadata> = serde_json::from_slice(bytes)
            .ok()
            .filter(|m: &Metadata| m.format == FORMAT_VERSION);
        match first.as_ref().map_or_else(
            || serde_json::from_slice::<VersionOnly>(bytes).map(|v| v.format),
            |m| Ok(u64::from(m.format)),
        ) {
            Ok(v) if v == u64::from(FORMAT_VERSION) => {}
            Ok(v) => {
                return (
                    None,
                    vec![Finding::at(
                        Code::BundleVersion,
                        F,
                        format!("format version {v} is not one this docseal knows (it reads 1)"),
                    )],
                )
            }
            Err(e) => return malformed(e.to_string()),
        }
        let m: Metadata = match first.map_or_else(|| serde_json::from_slice(bytes), Ok) {
            Ok(m) => m,
            Err(e) => return malformed(e.to_string()),
        };
        let mut findings: Vec<Finding> = m
            .problems()
            .into_iter()
            .map(|(field, p)| Finding::at(Code::MetadataInvalid, F, format!("{field}: {p}")))
            .collect();
        if m.to_bytes() != bytes {
            findings.push(Finding::at(
                Code::MetadataNoncanonical,
                F,
                "not in the canonical serialization the writer produces",
            ));
        }
        (Some(m), findings)
    }

    /// Every problem with the values, as (field, problem). Empty when valid.
    // Longer than 80 lines: one check per field, in the order of docs/FORMAT.md section 3, each
    // pushing its own finding.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if self.format != FORMAT_VERSION {
            p.push(("docsealFormat", format!("must be {}", FORMAT_VERSION)));
        }
        if !is_id(&self.id) {
            p.push((
                "id",
                "must be urn:docseal: and 32 lower-case hex digits".into(),
            ));
        }
        if self.context != "https://schema.org" {
            p.push(("@context", "must be https://schema.org".into()));
        }
        if self.kind != "NewsArticle" {
            p.push(("@type", "must be NewsArticle".into()));
        }
        if let Err(e) = check_text(&self.headline) {
            p.push(("headline", e));
        }
        for a in &self.author {
            if let Err(e) = check_text(a) {
                p.push(("author", e));
            }
        }
        if let Err(e) = check_text(&self.publisher) {
            p.push(("publisher", e));
        }
        if let Err(e) = check_date(&self.date_published) {
            p.push(("datePublished", e));
        }
        match normalize_url(&self.url) {
            Ok(u) if u == self.url => {}
            Ok(u) => p.push(("url", format!("not in normalized form (expected {u})"))),
            Err(e) => p.push(("url", e)),
        }
        if let Some(r) = &self.date_retrieved {
            if let Err(e) = check_date(r) {
                p.push(("dateRetrieved", e));
            }
        }
        match normalize_sealed(&self.date_sealed) {
            Ok(s) if s == self.date_sealed => {}
            Ok(_) | Err(_) => p.push(("dateSealed", "must be YYYY-MM-DDTHH:MM:SSZ (UTC)".into())),
        }
        if !self.sealed_with.starts_with("docseal ") || check_text(&self.sealed_with).is_err() {
            p.push(("sealedWith", "must be \"docseal <version>\"".into()));
        }
        if !is_article_path(&self.article_file) {
            p.push((
                "articleFile",
                "must be data/article.<ext>, ext of 1 to 10 of [a-z0-9]".into(),
            ));
        }
        let mut prev: Option<&str> = None;
        for a in &self.attachments {
            let ok = a
                .strip_prefix(ATTACHMENTS_DIR)
                .is_some_and(|n| !n.contains('/'))
                && crate::format::path::check(a).is_ok();
            if !ok {
                p.push((
                    "attachments",
                    format!("{a:?} is not data/attachments/<portable name>"),
                ));
            }
            if prev.is_some_and(|q| q.as_bytes() >= a.as_bytes()) {
                p.push(("attachments", "not sorted, or a name repeats".into()));
            }
            prev = Some(a);
        }
        if let Some(s) = &self.supersedes {
            if !is_id(&s.id) {
                p.push((
                    "supersedes.id",
                    "must be urn:docseal: and 32 lower-case hex digits".into(),
                ));
            }
            if !is_hex64(&s.sha256) {
                p.push((
                    "supersedes.sha256",
                    "must be 64 lower-case hex digits".into(),
                ));
            }
        }
        p
    }

    /// The UTC date of `dateSealed`, for `Bagging-Date`.
    pub fn bagging_date(&self) -> &str {
        self.date_sealed.get(..10).unwrap_or("")
    }
}

/// The bundle identity from the article's SHA-256, the URL and the sealing time.
pub fn bundle_id(article_sha256: &[u8; 32], url: &str, date_sealed: &str) -> String {
    let text = format!(
        "docseal-id-v1\n{}\n{}\n{}\n",
        hex(article_sha256),
        url,
        date_sealed
    );
    let d = Sha256::digest(text.as_bytes());
    format!("urn:docseal:{}", &hex(&d)[..32])
}

fn is_id(s: &str) -> bool {
    s.strip_prefix("urn:docseal:").is_some_and(|h| {
        h.len() == 32
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn is_article_path(s: &str) -> bool {
    s.strip_prefix(ARTICLE_PREFIX).is_some_and(|e| {
        (1..=10).contains(&e.len())
            && e.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The article's path in a bundle, from its file name (`None` for standard input).
pub fn article_path(file_name: Option<&str>) -> String {
    let ext = file_name
        .and_then(|n| n.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()))
        .filter(|e| {
            (1..=10).contains(&e.len())
                && e.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        .unwrap_or_else(|| "txt".into());
    format!("{ARTICLE_PREFIX}{ext}")
}

/// A date: `YYYY-MM-DD` or an RFC 3339 date-time.
pub fn check_date(s: &str) -> Result<(), String> {
    let plain = s.len() == 10 && plain_date_ok(s);
    if plain || chrono::DateTime::parse_from_rfc3339(s).is_ok() {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 date-time"
        ))
    }
}

/// Whether a 10-byte string is a valid `YYYY-MM-DD` date, as chrono's `%Y-%m-%d` parser says;
/// the all-digits form, by far the common one, without parsing the pattern each time.
fn plain_date_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
    {
        let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(u32::MAX);
        return chrono::NaiveDate::from_ymd_opt(n(0..4) as i32, n(5..7), n(8..10)).is_some();
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Parse and normalize a source URL: absolute http(s), with a host, at most 2048 bytes.
pub fn normalize_url(s: &str) -> Result<String, String> {
    let u = url::Url::parse(s).map_err(|e| format!("{s:?} is not an absolute URL ({e})"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!("{s:?}: only http and https URLs are accepted"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{s:?} has no host"));
    }
    let out = u.to_string();
    if out.len() > MAX_URL_BYTES {
        return Err(format!("longer than {MAX_URL_BYTES} bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Metadata {
        let url = normalize_url("https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/")
            .unwrap();
        Metadata {
            format: 1,
            id: bundle_id(&[7; 32], &url, "2026-11-27T00:00:00Z"),
            context: "https://schema.org".into(),
            kind: "NewsArticle".into(),
            headline: "A thaw in Pak-Russia relations".into(),
            author: vec!["Usman Ghani".into()],
            publisher: "Daily Times".into(),
            date_published: "2018-09-11".into(),
            url,
            date_retrieved: None,
            date_sealed: "2026-11-27T00:00:00Z".into(),
            sealed_with: tool_version(),
            article_file: "data/article.txt".into(),
            attachments: vec![],
            supersedes: None,
        }
    }

    #[test]
    fn canonical_round_trip() {
        let m = sample();
        assert!(m.problems().is_empty(), "{:?}", m.problems());
        let (back, f) = Metadata::parse(&m.to_bytes());
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(back.unwrap(), m);
    }

    /// The all-digits fast path of `check_date` agrees with chrono's parser.
    #[test]
    fn plain_dates_as_chrono_parses_them() {
        let mut cases: Vec<String> = vec![
            "0000-01-01",
            "9999-12-31",
            "2018-09-11",
            "2024-02-29",
            "2023-02-29",
            "2018-13-01",
            "2018-00-10",
            "2018-01-00",
            "2018-01-32",
            "2018-04-31",
            "+018-09-11",
            "2018/09/11",
            "2018-9-011",
            " 2018-9-11",
            "2018-09-1a",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        for y in [0, 1, 1900, 2000, 2100, 9999] {
            for m in 0..=13 {
                for d in [0, 1, 28, 29, 30, 31, 32] {
                    cases.push(format!("{y:04}-{m:02}-{d:02}"));
                }
            }
        }
        for c in cases {
            let chrono = chrono::NaiveDate::parse_from_str(&c, "%Y-%m-%d").is_ok();
            assert_eq!(plain_date_ok(&c), chrono, "{c}");
        }
    }

    fn codes(bytes: &[u8]) -> Vec<Code> {
        Metadata::parse(bytes)
            .1
            .into_iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn refuses_malformed_json() {
        let good = sample().to_bytes();
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&good);
        assert_eq!(codes(&bom), [Code::MetadataMalformed]);
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"{}");
        assert_eq!(codes(&trailing), [Code::MetadataMalformed]);
        let s = String::from_utf8(good.clone()).unwrap();
        let dup = s.replacen("\"publisher\"", "\"headline\": \"x\",\n  \"publisher\"", 1);
        assert_eq!(codes(dup.as_bytes()), [Code::MetadataMalformed]);
        let unknown = s.replacen("\"publisher\"", "\"extra\": 1,\n  \"publisher\"", 1);
        assert_eq!(codes(unknown.as_bytes()), [Code::MetadataMalformed]);
        let deep = s.replacen(
            "\"Usman Ghani\"",
            &format!("{}{}", "[".repeat(500), "]".repeat(500)),
            1,
        );
        assert_eq!(codes(deep.as_bytes()), [Code::MetadataMalformed]);
        let mut bad_utf8 = good.clone();
        bad_utf8[20] = 0xff;
        assert_eq!(codes(&bad_utf8), [Code::MetadataMalformed]);
    }

    #[test]
    fn refuses_unknown_version_and_noncanonical_form() {
        let s = String::from_utf8(sample().to_bytes()).unwrap();
        assert_eq!(
            codes(
                s.replacen("\"docsealFormat\": 1", "\"docsealFormat\": 2", 1)
                    .as_bytes()
            ),
            [Code::BundleVersion]
        );
        assert_eq!(
            codes(s.replace("\n", "\r\n").as_bytes()),
            [Code::MetadataNoncanonical]
        );
        assert_eq!(codes(s.trim_end().as_bytes()), [Code::MetadataNoncanonical]);
    }

    #[test]
    fn validates_values() {
        let mut m = sample();
        m.headline = " ".into();
        m.url = "ftp://example.com/".into();
        m.date_published = "11/09/2018".into();
        m.date_sealed = "2026-11-27T00:00:00+01:00".into();
        let fields: Vec<_> = m.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["headline", "datePublished", "url", "dateSealed"]);
    }

    #[test]
    fn dates_and_urls() {
        assert!(check_date("2018-09-11").is_ok());
        assert!(check_date("2018-09-11T10:00:00+05:00").is_ok());
        assert!(check_date("2018-9-11").is_err());
        assert!(check_date("2018-02-30").is_err());
        assert_eq!(
            normalize_sealed("2026-11-27T20:30:00+01:00").unwrap(),
            "2026-11-27T19:30:00Z"
        );
        assert_eq!(
            normalize_sealed("2026-11-27").unwrap(),
            "2026-11-27T00:00:00Z"
        );
        assert!(normalize_sealed("2026-11-27T20:30:00.5Z").is_err());
        assert!(normalize_url("dailytimes.com.pk/x").is_err());
        assert!(normalize_url("file:///etc/passwd").is_err());
        assert_eq!(
            normalize_url("HTTPS://Example.COM/a b").unwrap(),
            "https://example.com/a%20b"
        );
        assert_eq!(article_path(Some("a.HTML")), "data/article.html");
        assert_eq!(article_path(Some("noext")), "data/article.txt");
        assert_eq!(article_path(None), "data/article.txt");
    }
}
