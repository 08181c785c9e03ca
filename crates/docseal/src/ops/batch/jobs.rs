//! The jobs file of `pack --batch`: one JSON object per line, parsed strictly, read lazily
//! with output names claimed in line order (see the [module documentation](super)).

use crate::format::text::hex;
use crate::ops::ingest::Given;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, Read};

/// Longest line a jobs file may have.
pub const MAX_JOB_LINE: usize = 1 << 20;

/// Longest line skipped (as one refused job) before the jobs file is given up on (an endless
/// line).
pub const MAX_SKIPPED_LINE: u64 = 64 << 20;

/// The fingerprint of a name's collision key ([`crate::format::path::collision_key`]).
pub(super) fn name_key(name: &str) -> u64 {
    fingerprint(&crate::format::path::collision_key(name))
}

/// A 64-bit fingerprint of `s` (SipHash with fixed keys).
pub(super) fn fingerprint(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// One job of a jobs file, as written (paths not yet resolved): the same record as `pack`'s
/// flags ([`Given`], what the job says of the article; the rest is read from the article),
/// with the keys of a jobs line as serialized names (`author`, `attach`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Job {
    /// The article file.
    pub article: String,
    /// The metadata the job gives (`None`, empty: read from the article). A single string in
    /// the file is one author.
    #[serde(flatten)]
    pub given: Given,
    /// Sealing time; absent means now.
    pub created: Option<String>,
    /// Attachment files.
    #[serde(rename = "attach")]
    pub attachments: Vec<String>,
    /// The bundle's file name, if given.
    #[serde(skip)]
    pub out: Option<String>,
}

impl Job {
    /// The job's identity: SHA-256 of its canonical form (every key but `out`), hex.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        hex(&Sha256::digest(format!("docseal-job-v1\n{canonical}\n")))
    }

    /// The bundle's file name: `out`, or the first 16 hex digits of [`Job::digest`] + `.zip`.
    pub fn out_name(&self) -> String {
        match &self.out {
            Some(o) => o.clone(),
            None => format!("{}.zip", &self.digest()[..16]),
        }
    }
}

/// A JSON object's members in order, keeping duplicates so that they can be refused.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Members, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = map.next_entry::<String, Value>()? {
                    v.push((k, val));
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

const KEYS: [&str; 10] = [
    "article",
    "url",
    "title",
    "publisher",
    "published",
    "author",
    "retrieved",
    "created",
    "attach",
    "out",
];

/// Parse one line of a jobs file (without its line ending). The error says what is wrong.
pub fn parse_job(line: &str) -> std::result::Result<Job, String> {
    let Members(members) =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let mut fields: HashMap<&str, Value> = HashMap::new();
    for (k, v) in members {
        let Some(key) = KEYS.iter().find(|x| **x == k) else {
            return Err(format!("unknown key {k:?} (known: {})", KEYS.join(", ")));
        };
        if fields.insert(key, v).is_some() {
            return Err(format!("key {k:?} appears twice"));
        }
    }
    let mut take = |k: &str| fields.remove(k);
    let string = |k: &str, v: Option<Value>| -> std::result::Result<Option<String>, String> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("{k:?} must be a string, not {}", kind(&other))),
        }
    };
    let required = |k: &str, v: Option<Value>| -> std::result::Result<String, String> {
        match v {
            None => Err(format!("missing key {k:?}")),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(format!("{k:?} must be a string, not {}", kind(&other))),
        }
    };
    let list =
        |k: &str, v: Option<Value>, single: bool| -> std::result::Result<Vec<String>, String> {
            let what = if single {
                "a string or a list of strings"
            } else {
                "a list of strings"
            };
            match v {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(s)) if single => Ok(vec![s]),
                Some(Value::Array(items)) => items
                    .into_iter()
                    .map(|i| match i {
                        Value::String(s) => Ok(s),
                        other => Err(format!("{k:?} must be {what}; it holds {}", kind(&other))),
                    })
                    .collect(),
                Some(other) => Err(format!("{k:?} must be {what}, not {}", kind(&other))),
            }
        };
    let article = required("article", take("article"))?;
    if article.is_empty() || article == "-" {
        return Err(
            "\"article\" must name a file (standard input is not available in a batch)".into(),
        );
    }
    let job = Job {
        article,
        given: Given {
            url: string("url", take("url"))?,
            title: string("title", take("title"))?,
            publisher: string("publisher", take("publisher"))?,
            published: string("published", take("published"))?,
            authors: list("author", take("author"), true)?,
            retrieved: string("retrieved", take("retrieved"))?,
        },
        created: string("created", take("created"))?,
        attachments: list("attach", take("attach"), false)?,
        out: string("out", take("out"))?,
    };
    if job.attachments.iter().any(String::is_empty) {
        return Err("\"attach\" holds an empty file name".into());
    }
    if let Some(o) = &job.out {
        check_out_name(o)?;
    }
    Ok(job)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `out` is a plain, portable file name ending in `.zip` (so `docseal verify DIR` finds it).
fn check_out_name(o: &str) -> std::result::Result<(), String> {
    if o.contains('/') || o.contains('\\') {
        return Err(format!(
            "\"out\" must be a file name, not a path: {o:?} (bundles go to the output directory)"
        ));
    }
    crate::format::path::check(o)
        .map_err(|(code, why)| format!("\"out\" refused ({code}): {why}"))?;
    if !o.ends_with(".zip") || o.len() <= 4 {
        return Err(format!("\"out\" must end in .zip: {o:?}"));
    }
    Ok(())
}

/// The jobs of a jobs file, read lazily, one line at a time: `(line number, job or error)`.
/// Output names are claimed in line order; a later line naming a claimed output (compared
/// after Unicode normalization and case folding, as a case-insensitive file system would) is
/// the same job or refused (see the module documentation). What is kept per line is a few
/// machine words: fingerprints of the name and of the job.
pub struct JobReader<R> {
    reader: R,
    line: usize,
    claimed: HashMap<u64, (usize, u64)>,
    buf: Vec<u8>,
    failed: bool,
}

/// A parsed line: its job, or why it was refused, with the output name it claims.
#[derive(Debug)]
pub enum Parsed {
    /// A job to run, writing `out_name`.
    Job {
        /// The job.
        job: Box<Job>,
        /// Its bundle's file name.
        out_name: String,
    },
    /// The line is refused.
    Invalid(String),
}

impl<R: BufRead> JobReader<R> {
    /// Read jobs from `reader`.
    pub fn new(reader: R) -> Self {
        JobReader {
            reader,
            line: 0,
            claimed: HashMap::new(),
            buf: Vec::new(),
            failed: false,
        }
    }

    /// The next non-blank line, or its read error; `None` at the end.
    fn next_line(
        &mut self,
    ) -> Option<(usize, std::io::Result<std::result::Result<String, String>>)> {
        loop {
            self.buf.clear();
            self.line += 1;
            let limit = (MAX_JOB_LINE + 1) as u64;
            let n = match (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
            {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) => return Some((self.line, Err(e))),
            };
            if n as u64 == limit && self.buf.last() != Some(&b'\n') {
                // Skip the rest of the over-long line, up to MAX_SKIPPED_LINE bytes: an endless
                // line (`/dev/zero` through a pipe) ends the jobs file with an error.
                let mut skipped = n as u64;
                loop {
                    self.buf.clear();
                    match (&mut self.reader)
                        .take(1 << 16)
                        .read_until(b'\n', &mut self.buf)
                    {
                        Ok(0) => break,
                        Ok(_) if self.buf.last() == Some(&b'\n') => break,
                        Ok(k) => {
                            skipped += k as u64;
                            if skipped > MAX_SKIPPED_LINE {
                                let e = std::io::Error::new(
                                    std::io::ErrorKind::InvalidData,
                                    format!(
                                        "line {} is longer than {MAX_SKIPPED_LINE} bytes; the rest of the jobs file is not read",
                                        self.line
                                    ),
                                );
                                return Some((self.line, Err(e)));
                            }
                        }
                        Err(e) => return Some((self.line, Err(e))),
                    }
                }
                return Some((
                    self.line,
                    Ok(Err(format!("line longer than {MAX_JOB_LINE} bytes"))),
                ));
            }
            while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                self.buf.pop();
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some((
                self.line,
                Ok(String::from_utf8(std::mem::take(&mut self.buf))
                    .map_err(|_| "not valid UTF-8".to_string())),
            ));
        }
    }
}

impl<R: BufRead> Iterator for JobReader<R> {
    type Item = (usize, std::io::Result<Parsed>);

    /// Lines with their jobs; after a read error, the end.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let (line, text) = self.next_line()?;
        let parsed = match text {
            Err(e) => {
                self.failed = true;
                return Some((line, Err(e)));
            }
            Ok(Err(why)) => Parsed::Invalid(why),
            Ok(Ok(text)) => match parse_job(&text) {
                Err(why) => Parsed::Invalid(why),
                Ok(job) => {
                    let out_name = job.out_name();
                    let digest = fingerprint(&job.digest());
                    let key = name_key(&out_name);
                    match self.claimed.get(&key) {
                        // The same job again: it runs, and finds the bundle sealed.
                        Some((_, d)) if *d == digest => Parsed::Job {
                            job: Box::new(job),
                            out_name,
                        },
                        Some((l, _)) => Parsed::Invalid(format!(
                            "output {out_name} is already the output of line {l}, a different job"
                        )),
                        None => {
                            self.claimed.insert(key, (line, digest));
                            Parsed::Job {
                                job: Box::new(job),
                                out_name,
                            }
                        }
                    }
                }
            },
        };
        Some((line, Ok(parsed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Job {
        parse_job(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }
    fn err(line: &str) -> String {
        parse_job(line).expect_err(line)
    }
    const BASE: &str = r#""article":"a.txt","url":"https://e.com/","title":"t","publisher":"p","published":"2020-01-01""#;

    #[test]
    fn jobs_parse_strictly() {
        let j = ok(&format!("{{{BASE}}}"));
        assert!(j.given.authors.is_empty() && j.attachments.is_empty() && j.out.is_none());
        assert_eq!(
            ok(&format!(r#"{{{BASE},"author":"A"}}"#)).given.authors,
            ["A"]
        );
        assert_eq!(
            ok(&format!(
                r#"{{{BASE},"author":["A","B"],"attach":["x.pdf"]}}"#
            ))
            .given
            .authors,
            ["A", "B"]
        );
        assert_eq!(ok(&format!(r#"{{{BASE},"created":null}}"#)).created, None);
        assert!(err(&format!(r#"{{{BASE},"colour":"red"}}"#)).contains("unknown key \"colour\""));
        assert!(err(&format!(r#"{{{BASE},"url":"https://x/"}}"#)).contains("twice"));
        // issue 16: a job may leave out what its article gives.
        let j = ok(r#"{"article":"a.txt"}"#);
        assert!(j.given.url.is_none() && j.given.title.is_none() && j.given.published.is_none());
        assert!(err(r#"{"title":"t"}"#).contains("missing key \"article\""));
        assert!(err(&format!(r#"{{{BASE},"author":3}}"#)).contains("string or a list"));
        assert!(err(&format!(r#"{{{BASE},"author":["A",1]}}"#)).contains("holds a number"));
        assert!(err(&format!(r#"{{{BASE},"attach":"x.pdf"}}"#)).contains("a list of strings"));
        assert!(err(&format!(r#"{{{BASE},"created":5}}"#)).contains("must be a string"));
        assert!(err(&format!(r#"{{{BASE},"out":"../x.zip"}}"#)).contains("file name"));
        assert!(err(&format!(r#"{{{BASE},"out":"x.tar"}}"#)).contains(".zip"));
        assert!(err("[1,2]").contains("JSON object"));
        assert!(err("{").contains("JSON object"));
        assert!(err(&format!(r#"{{{BASE}}} x"#)).contains("JSON object"));
        assert!(
            err(r#"{"article":"-","url":"u","title":"t","publisher":"p","published":"d"}"#)
                .contains("standard input")
        );
    }

    /// A job's default name is the start of the digest of its canonical form: pinned, so that
    /// re-running a jobs file written for an earlier docseal finds its bundles.
    #[test]
    fn issue13_job_names_are_unchanged() {
        let j = ok(&format!(
            r#"{{"out":"o.zip","attach":["x.pdf"],{BASE},"created":"2026-01-01T00:00:00Z","author":["A","B"]}}"#
        ));
        assert_eq!(
            serde_json::to_string(&j).unwrap(),
            r#"{"article":"a.txt","url":"https://e.com/","title":"t","publisher":"p","published":"2020-01-01","author":["A","B"],"retrieved":null,"created":"2026-01-01T00:00:00Z","attach":["x.pdf"]}"#
        );
        assert_eq!(
            j.digest(),
            "fd6f8ee2648bf2c59d7412aff92c82d82cdc595d33c8a40b59300f6e9ba063f6"
        );
    }

    #[test]
    fn default_names_are_stable_and_ignore_out() {
        let a = ok(&format!("{{{BASE}}}"));
        let mut b = a.clone();
        b.out = Some("x.zip".into());
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.out_name().len(), 16 + 4);
        assert_eq!(a.out_name(), ok(&format!("{{{BASE}}}")).out_name());
        let c = ok(&format!(r#"{{{BASE},"author":"other"}}"#));
        assert_ne!(a.out_name(), c.out_name());
    }

    #[test]
    fn reader_numbers_lines_and_claims_outputs() {
        let text = format!(
            "{{{BASE}}}\n\n  \nnot json\n{{{BASE}}}\n{{{BASE},\"author\":\"u\",\"out\":\"{}\"}}\n\u{0}\n",
            ok(&format!("{{{BASE}}}")).out_name()
        );
        let got: Vec<(usize, Parsed)> = JobReader::new(text.as_bytes())
            .map(|(l, p)| (l, p.unwrap()))
            .collect();
        let lines: Vec<usize> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 4, 5, 6, 7]);
        assert!(matches!(got[0].1, Parsed::Job { .. }));
        assert!(matches!(got[1].1, Parsed::Invalid(_)));
        assert!(matches!(got[2].1, Parsed::Job { .. }));
        assert!(matches!(&got[3].1, Parsed::Invalid(w) if w.contains("line 1")));
        assert!(matches!(got[4].1, Parsed::Invalid(_)));
    }

    #[test]
    fn overlong_lines_are_refused_and_skipped() {
        let mut text = vec![b' '; MAX_JOB_LINE + 10];
        text.push(b'\n');
        text.extend_from_slice(format!("{{{BASE}}}\n").as_bytes());
        let got: Vec<(usize, Parsed)> = JobReader::new(&text[..])
            .map(|(l, p)| (l, p.unwrap()))
            .collect();
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0].1, Parsed::Invalid(w) if w.contains("longer")));
        assert_eq!(got[1].0, 2);
        assert!(matches!(got[1].1, Parsed::Job { .. }));
    }
}
