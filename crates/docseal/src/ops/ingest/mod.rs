//! Metadata from the article itself: saved web pages (HTML), WARC captures, and text exports
//! with a trailer. `docseal pack` uses it for every field not given as a flag.
//!
//! Nothing here changes what is sealed: the article's bytes are sealed exactly as given, and
//! the metadata found is recorded in the ordinary v1 `metadata.json` fields
//! (`docs/FORMAT.md`, "Deriving metadata"). Every input is read within caps (see [`html`],
//! [`trailer`], [`warc`]), so a hostile file gives an error or a bounded result.
//!
//! Order of the sources, per field, the first that gives a usable value winning:
//!
//! | field | HTML | text | WARC |
//! |---|---|---|---|
//! | url | JSON-LD `url` / `mainEntityOfPage`, `og:url`, `<link rel=canonical>` | `Source: <URL>` | `WARC-Target-URI`, then as HTML |
//! | title | JSON-LD `headline` / `name`, `og:title`, `<title>` | - | as HTML |
//! | publisher | JSON-LD `publisher.name`, `og:site_name` | `Published in <publisher>, <date>.` | as HTML |
//! | published | JSON-LD `datePublished`, `article:published_time`, `<meta name=date>` | `Published in <publisher>, <date>.` | as HTML |
//! | authors | JSON-LD `author`, `article:author`, `<meta name=author>` | - | as HTML |
//! | retrieved | - | - | `WARC-Date` |

pub mod dates;
pub mod html;
pub mod trailer;
pub mod warc;

use serde::Serialize;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Most authors read from an article.
pub const MAX_AUTHORS: usize = 100;

/// Where a field's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Source {
    /// A command-line flag (or a batch job's key).
    #[serde(rename = "flag")]
    Flag,
    /// A JSON-LD block of the page.
    #[serde(rename = "json-ld")]
    JsonLd,
    /// OpenGraph `<meta property>` tags.
    #[serde(rename = "opengraph")]
    OpenGraph,
    /// `<meta name>`, `<link rel=canonical>` or `<title>`.
    #[serde(rename = "meta")]
    Meta,
    /// A text trailer line.
    #[serde(rename = "trailer")]
    Trailer,
    /// The WARC record's header.
    #[serde(rename = "warc")]
    Warc,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::JsonLd => "json-ld",
            Source::OpenGraph => "opengraph",
            Source::Meta => "meta",
            Source::Trailer => "trailer",
            Source::Warc => "warc",
        })
    }
}

/// A value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found<T> {
    /// The value.
    pub value: T,
    /// Its source.
    pub source: Source,
}

impl<T> Found<T> {
    /// `value` from `source`.
    pub fn new(value: T, source: Source) -> Self {
        Found { value, source }
    }
}

/// What kind of article a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A web page.
    Html,
    /// Plain text (read for a trailer).
    Text,
    /// A WARC file (`.warc` or `.warc.gz`).
    Warc,
}

/// The metadata found in an article.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Inferred {
    /// Source URL.
    pub url: Option<Found<String>>,
    /// Title.
    pub title: Option<Found<String>>,
    /// Publisher.
    pub publisher: Option<Found<String>>,
    /// Publication date.
    pub published: Option<Found<String>>,
    /// Authors.
    pub authors: Option<Found<Vec<String>>>,
    /// Retrieval time.
    pub retrieved: Option<Found<String>>,
    /// What was ignored or capped while reading.
    pub notes: Vec<String>,
}

/// An article's metadata could not be read or is not there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The input is not one docseal reads (a FIFO, device, directory, a secret key...): the
    /// shared input checks (`crate::format::input`) said so.
    #[error("{0}")]
    Input(Box<crate::Error>),
    /// Reading the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A WARC file is malformed, truncated, too large or a gzip bomb.
    #[error("{path}: {problem}")]
    Warc {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A WARC record's digest does not match its bytes.
    #[error("{path}: record {record} ({uri}): {which} does not match its bytes ({problem}); the capture was altered or damaged, refused")]
    Digest {
        /// The file.
        path: PathBuf,
        /// The record's number, from 1.
        record: u64,
        /// Its target URI.
        uri: String,
        /// `WARC-Block-Digest` or `WARC-Payload-Digest`.
        which: String,
        /// Recorded and computed values.
        problem: String,
    },
    /// No record, or more than one, fits.
    #[error("{path}: {problem}")]
    Select {
        /// The file.
        path: PathBuf,
        /// What was found.
        problem: String,
    },
    /// A capture holds several records that fit and none was chosen by its URL (an
    /// [`crate::Error::Setting`] of [`crate::error::Setting::Record`] once converted).
    #[error("{path}: {problem}")]
    Choose {
        /// The file.
        path: PathBuf,
        /// What was found.
        problem: String,
    },
    /// A required field is neither given nor found.
    #[error("{field}: not given, and not found in {article} (looked at: {looked})")]
    Missing {
        /// The field, as [`Given`] and a jobs line name it: `url`, `title`, `publisher`,
        /// `published` (the command line shows it as its flag).
        field: String,
        /// The article.
        article: PathBuf,
        /// Where docseal looked.
        looked: String,
    },
}

impl From<IngestError> for crate::Error {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Input(e) => *e,
            IngestError::Io { path, source } => crate::Error::Io { path, source },
            IngestError::Missing { ref field, .. } => {
                let problem = e.to_string();
                let problem = problem
                    .strip_prefix(&format!("{field}: "))
                    .unwrap_or(&problem)
                    .to_string();
                crate::Error::invalid(field.clone(), problem)
            }
            IngestError::Choose { path, problem } => crate::Error::setting(
                path.display().to_string(),
                problem,
                crate::format::error::Setting::Record,
            ),
            IngestError::Warc { ref path, .. }
            | IngestError::Digest { ref path, .. }
            | IngestError::Select { ref path, .. } => {
                let what = path.display().to_string();
                let s = e.to_string();
                let problem = s
                    .strip_prefix(&format!("{what}: "))
                    .unwrap_or(&s)
                    .to_string();
                crate::Error::invalid(what, problem)
            }
        }
    }
}

/// Bytes read from the start of a file to tell its kind.
const SNIFF: usize = 1024;

fn io(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `head` starts as a WARC record does: the version line `WARC/1.0` or `WARC/1.1`
/// ended by CR LF, then header fields (`Name: value` lines ended by CR LF) among which
/// `WARC-Type`. A text that merely begins with "WARC/1." is text.
fn starts_as_warc(head: &[u8]) -> bool {
    let Some(rest) = head
        .strip_prefix(b"WARC/1.0\r\n")
        .or_else(|| head.strip_prefix(b"WARC/1.1\r\n"))
    else {
        return false;
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines: Vec<&str> = text.split("\r\n").collect();
    // The last piece may be cut by the sniff (or be the block after the empty line).
    lines.pop();
    let mut typed = false;
    for l in lines {
        if l.is_empty() {
            break;
        }
        let Some((name, _)) = l.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return false;
        }
        typed |= name.eq_ignore_ascii_case("WARC-Type");
    }
    typed
}

/// The kind of an article, from its name and its first bytes.
pub fn kind_of(name: &Path, head: &[u8]) -> Kind {
    let n = name
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if n.ends_with(".warc") || n.ends_with(".warc.gz") || starts_as_warc(head) {
        return Kind::Warc;
    }
    let ext = n.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if ["html", "htm", "xhtml", "shtml"].contains(&ext) {
        return Kind::Html;
    }
    let start = String::from_utf8_lossy(&head[..head.len().min(SNIFF)]).to_ascii_lowercase();
    let start = start.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if start.starts_with("<!doctype html") || start.starts_with("<html") {
        return Kind::Html;
    }
    Kind::Text
}

/// Open an article for reading metadata: a regular file only, never blocking (a FIFO, device
/// or socket is refused by the shared input checks).
pub(crate) fn open_input(path: &Path) -> Result<std::fs::File, IngestError> {
    crate::format::input::open(path, crate::format::input::Open::regular("article"))
        .map(|(f, _)| f)
        .map_err(|e| IngestError::Input(Box::new(e)))
}

fn read_head(f: &mut std::fs::File, path: &Path, max: usize) -> Result<Vec<u8>, IngestError> {
    let mut v = Vec::new();
    f.take(max as u64).read_to_end(&mut v).map_err(io(path))?;
    Ok(v)
}

/// What an article file is, and what it says about itself.
#[derive(Clone, Debug)]
pub struct Article {
    /// The file.
    pub path: PathBuf,
    /// Its kind.
    pub kind: Kind,
    /// The metadata found.
    pub inferred: Inferred,
    /// For a WARC: the records to seal.
    pub capture: Option<warc::Capture>,
}

/// Read an article file for its metadata. For a WARC file, `url` selects the response.
pub fn read_article(path: &Path, url: Option<&str>) -> Result<Article, IngestError> {
    let mut f = open_input(path)?;
    let head = read_head(&mut f, path, SNIFF)?;
    let gz_warc = warc::is_gzip(&head)
        && path.file_name().is_some_and(|n| {
            n.to_string_lossy()
                .to_ascii_lowercase()
                .ends_with(".warc.gz")
        });
    let kind = if gz_warc {
        Kind::Warc
    } else {
        kind_of(path, &head)
    };
    let mut inferred = Inferred::default();
    let mut capture = None;
    match kind {
        Kind::Html => {
            f.seek(SeekFrom::Start(0)).map_err(io(path))?;
            let bytes = read_head(&mut f, path, html::MAX_HTML_BYTES + 1)?;
            html::read(&bytes, None, &mut inferred);
        }
        Kind::Text => {
            let len = f.metadata().map_err(io(path))?.len();
            let from = len.saturating_sub(trailer::TRAILER_BYTES as u64);
            f.seek(SeekFrom::Start(from)).map_err(io(path))?;
            let tail = read_head(&mut f, path, trailer::TRAILER_BYTES)?;
            trailer::read(&tail, &mut inferred);
        }
        Kind::Warc => {
            let c = warc::select(path, url)?;
            inferred.notes.extend(c.notes.iter().cloned());
            if let Ok(u) = crate::profile::metadata::normalize_url(&c.target) {
                inferred.url = Some(Found::new(u, Source::Warc));
            }
            if let Some(d) = c.date.as_deref().and_then(dates::normalize) {
                inferred.retrieved = Some(Found::new(d, Source::Warc));
            }
            match payload_html(&c.response) {
                Ok(Some(bytes)) => html::read(&bytes, Some(&c.target), &mut inferred),
                Ok(None) => inferred
                    .notes
                    .push("the response's payload is not HTML; no metadata read from it".into()),
                Err(e) => inferred
                    .notes
                    .push(format!("the response's payload cannot be read: {e}")),
            }
            capture = Some(c);
        }
    }
    Ok(Article {
        path: path.to_path_buf(),
        kind,
        inferred,
        capture,
    })
}

/// [`read_article`] for a `pack --batch` job: a WARC capture is refused (its records are
/// sealed by `docseal pack CAPTURE --url URL`, one page at a time).
pub fn read_article_for_batch(path: &Path) -> Result<Article, crate::Error> {
    let mut f = open_input(path)?;
    let head = read_head(&mut f, path, SNIFF)?;
    if warc::is_gzip(&head) || kind_of(path, &head) == Kind::Warc {
        return Err(crate::Error::setting(
            path.display().to_string(),
            "a WARC capture gives its metadata for one chosen record, not to a batch job (or give every field in the job)",
            crate::format::error::Setting::Record,
        ));
    }
    Ok(read_article(path, None)?)
}

/// The HTML payload of a response record (decoded), `None` when it is not HTML.
pub fn payload_html(r: &warc::Record) -> Result<Option<Vec<u8>>, String> {
    let Some(block) = r.block() else {
        return Ok(None);
    };
    let Some(h) = warc::http(block) else {
        return Ok(None);
    };
    if !h.is_html() {
        return Ok(None);
    }
    warc::decoded_body(block, &h, html::MAX_HTML_BYTES).map(Some)
}

/// The metadata a sealing job gives itself (`pack`'s flags, a jobs line's keys; `None`, empty:
/// not given, to be read from the article). Serialized with a jobs line's key names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Given {
    /// `--url`.
    pub url: Option<String>,
    /// `--title`.
    pub title: Option<String>,
    /// `--publisher`.
    pub publisher: Option<String>,
    /// `--published`.
    pub published: Option<String>,
    /// `--author`, repeated.
    #[serde(rename = "author")]
    pub authors: Vec<String>,
    /// `--retrieved`.
    pub retrieved: Option<String>,
}

/// The metadata to seal, each field with its source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// Source URL.
    pub url: Found<String>,
    /// Title.
    pub title: Found<String>,
    /// Publisher.
    pub publisher: Found<String>,
    /// Publication date.
    pub published: Found<String>,
    /// Authors (possibly none).
    pub authors: Option<Found<Vec<String>>>,
    /// Retrieval time.
    pub retrieved: Option<Found<String>>,
}

/// Where docseal looks for a required field (`url`, `title`, `publisher`, `published`) in an
/// article of `kind`.
pub fn looked(kind: Kind, field: &str) -> &'static str {
    match (kind, field) {
        (Kind::Text, "url") => "a trailer line \"Source: <URL>\" at the end of the text",
        (Kind::Text, "publisher" | "published") => {
            "a trailer line \"Published in <publisher>, <date>.\" at the end of the text"
        }
        (Kind::Text, _) => "nothing: text gives only the trailer's URL, publisher and date",
        (_, "url") => {
            "WARC-Target-URI (WARC), JSON-LD url and mainEntityOfPage, og:url, <link rel=canonical>"
        }
        (_, "title") => "JSON-LD headline and name, og:title, <title>",
        (_, "publisher") => "JSON-LD publisher.name, og:site_name",
        (_, "published") => "JSON-LD datePublished, article:published_time, <meta name=date>",
        _ => "nowhere",
    }
}

/// Merge the flags over what the article gives: a flag always wins. A required field given
/// by neither is an error naming the flag and where docseal looked.
pub fn resolve(given: &Given, article: &Article) -> Result<Resolved, IngestError> {
    let inf = &article.inferred;
    let pick = |field: &str,
                g: &Option<String>,
                found: &Option<Found<String>>|
     -> Result<Found<String>, IngestError> {
        if let Some(v) = g {
            return Ok(Found::new(v.clone(), Source::Flag));
        }
        found.clone().ok_or_else(|| IngestError::Missing {
            field: field.to_string(),
            article: article.path.clone(),
            looked: looked(article.kind, field).to_string(),
        })
    };
    Ok(Resolved {
        url: pick("url", &given.url, &inf.url)?,
        title: pick("title", &given.title, &inf.title)?,
        publisher: pick("publisher", &given.publisher, &inf.publisher)?,
        published: pick("published", &given.published, &inf.published)?,
        authors: if given.authors.is_empty() {
            inf.authors.clone()
        } else {
            Some(Found::new(given.authors.clone(), Source::Flag))
        },
        retrieved: match &given.retrieved {
            Some(r) => Some(Found::new(r.clone(), Source::Flag)),
            None => inf.retrieved.clone(),
        },
    })
}

/// The readable text of a sealed article, for `docseal diff`: for HTML the page's readable
/// text ([`html::readable_text`]), for a WARC record that of its HTML payload, for text the
/// text itself (not UTF-8: read as U+FFFD), at most [`html::MAX_TEXT_BYTES`].
pub fn readable_text(article_file: &str, bytes: &[u8]) -> (String, Vec<String>) {
    let ext = article_file.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let head = &bytes[..bytes.len().min(SNIFF)];
    let kind = kind_of(Path::new(&format!("article.{ext}")), head);
    match kind {
        Kind::Html => html::readable_text(bytes),
        Kind::Warc => match warc::parse_record(bytes)
            .map_err(|e| e.to_string())
            .and_then(|r| payload_html(&r))
        {
            Ok(Some(h)) => html::readable_text(&h),
            Ok(None) => (
                String::new(),
                vec!["the WARC record's payload is not HTML; only the metadata compared".into()],
            ),
            Err(e) => (
                String::new(),
                vec![format!("the WARC record cannot be read: {e}")],
            ),
        },
        Kind::Text => {
            let cut = bytes.len().min(html::MAX_TEXT_BYTES);
            let mut notes = Vec::new();
            if cut < bytes.len() {
                notes.push(format!(
                    "only the first {} bytes of text were compared",
                    html::MAX_TEXT_BYTES
                ));
            }
            (String::from_utf8_lossy(&bytes[..cut]).into_owned(), notes)
        }
    }
}

/// All the text a reader sees in a sealed article, for `docseal diff` when the readable text
/// is the same: for HTML (and a WARC record's HTML payload) every visible element's text
/// ([`html::page_text`]); for anything else its readable text.
pub fn page_text(article_file: &str, bytes: &[u8]) -> String {
    let ext = article_file.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let head = &bytes[..bytes.len().min(SNIFF)];
    match kind_of(Path::new(&format!("article.{ext}")), head) {
        Kind::Html => html::page_text(bytes),
        Kind::Warc => match warc::parse_record(bytes).map(|r| payload_html(&r)) {
            Ok(Ok(Some(h))) => html::page_text(&h),
            _ => String::new(),
        },
        Kind::Text => readable_text(article_file, bytes).0,
    }
}
