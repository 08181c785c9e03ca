//! Many bundles at once: verifying an archive in parallel, and sealing a file of jobs
//! (`docseal pack --batch JOBS.jsonl`).
//!
//! Both run their work on several threads and hand the results back **in input order**, each
//! as soon as it and all before it are done, holding at most a small window of finished
//! results ([`ordered_parallel`]); memory does not grow with the number of bundles.
//!
//! # Jobs file
//!
//! One JSON object per line (JSON Lines; blank lines are skipped, lines are numbered from 1 as
//! in an editor). The keys are pack's long flags:
//!
//! | key | type | |
//! |---|---|---|
//! | `article` | string | required; the article file (not `-`) |
//! | `url`, `title`, `publisher`, `published` | string | required unless the article gives it (below) |
//! | `author` | string or list of strings | optional |
//! | `retrieved`, `created` | string | optional (`null` = absent) |
//! | `attach` | list of strings | optional; attachment files |
//! | `out` | string | optional; the bundle's file name in the output directory (`NAME.zip`) |
//!
//! A job may leave out what its article gives, as `pack` may (`docseal::ingest`: JSON-LD,
//! OpenGraph and `<meta>` of a saved page, a text's trailer): `{"article": "page.html"}` is a
//! job. A WARC file is sealed whole in a batch when every field is given; to seal a page's
//! records from a WARC capture, use `docseal pack CAPTURE.warc --url URL`.
//!
//! Unknown keys, duplicate keys and wrong types are refused, with the line number. Relative
//! paths (`article`, `attach`) are relative to **the directory of the jobs file**, so a jobs
//! file and its inputs can be moved together.
//!
//! # Re-running
//!
//! Without `out`, a job's bundle is named `<16 hex digits>.zip`, the start of the SHA-256 of
//! the job's canonical form (every key but `out`, as written), so the same job always names the
//! same file. When that file exists already, the job is **already sealed** (skipped, not an
//! error) if the file is a valid bundle, signed by the batch's key, of exactly this job: same
//! metadata, same article and attachment names and bytes (hashed again to compare), and, when
//! the job gives `created`, the same sealing time. A job without `created` is sealed "now" on
//! its first run; re-running it finds that bundle and leaves it alone. Any other existing file
//! is a **conflict**: it is reported and never replaced. Two lines naming the same output must be
//! the same job (the later one then finds the bundle sealed); otherwise the later is refused.
//!
//! Every bundle is written atomically: a temp file (on Linux, one without a name), made
//! durable before it is put in place without replacing anything, and its name made durable
//! before the job is reported sealed. The syncs are shared by the jobs reported together
//! ([`Batch::cycle`], [`crate::format::durable::GroupSync`]: on Linux one `syncfs` of the output's file
//! system and an fsync of the directory serve every bundle written meanwhile). A failed job
//! leaves nothing behind and does not affect the others.

use crate::format::durable::{GroupSync, Placed, Written};
use crate::format::error::{Error, Result};
use crate::format::minisign::SecretKey;
use crate::ops::seal::{self, ArticleSource, SealRequest, Sealed};
use crate::ops::verify::{self, Options, Report, Trust, TrustedKey};
use crate::profile::metadata::{self, hex};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Longest line a jobs file may have.
pub const MAX_JOB_LINE: usize = 1 << 20;

/// Longest line skipped (as one refused job) before the jobs file is given up on (an endless
/// line).
pub const MAX_SKIPPED_LINE: u64 = 64 << 20;

/// The number of threads to use by default: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Most threads a pool starts (more asked for: this many).
pub const MAX_THREADS: usize = 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `work` on every item of `items` on `threads` threads, and call
/// `emit(Some((index, result)))` in input order, each result as soon as it and every earlier
/// one are done. Items are taken from `items` lazily; at most a small window (a few per
/// thread) of finished results waits for an earlier one. `emit(None)` is called whenever the
/// results have all been emitted so far and the next is not ready yet (a moment to flush
/// output), and once at the end.
///
/// `emit` runs on a worker thread, one call at a time: the one that completed the next result
/// in order, or the one already emitting, which goes on with the results that became ready
/// meanwhile (no thread hand-off per item). A worker that finds another one emitting leaves
/// its result and goes on with its next item: an `emit` that waits (for a shared sync, in
/// `pack --batch`) holds up no worker.
///
/// When `emit` fails, no further item is started and the error is returned once the threads
/// have finished the items they hold. A panic in `work` stops the other threads and is passed
/// on.
pub fn ordered_parallel<I, T, R, E, W, F>(
    items: I,
    threads: usize,
    work: W,
    emit: F,
) -> std::result::Result<(), E>
where
    I: Iterator<Item = T> + Send,
    T: Send,
    R: Send,
    E: Send,
    W: Fn(T) -> R + Sync,
    F: FnMut(Option<(usize, R)>) -> std::result::Result<(), E> + Send,
{
    let threads = threads.clamp(1, MAX_THREADS);
    ordered_parallel_window(items, threads, threads * 4 + 4, work, emit)
}

/// [`ordered_parallel`] with at most `window` items started beyond the last one emitted (at
/// least one): a larger window lets the workers go on while `emit` waits.
pub fn ordered_parallel_window<I, T, R, E, W, F>(
    items: I,
    threads: usize,
    window: usize,
    work: W,
    emit: F,
) -> std::result::Result<(), E>
where
    I: Iterator<Item = T> + Send,
    T: Send,
    R: Send,
    E: Send,
    W: Fn(T) -> R + Sync,
    F: FnMut(Option<(usize, R)>) -> std::result::Result<(), E> + Send,
{
    struct Emitter<F, E> {
        emit: F,
        error: Option<E>,
    }
    let threads = threads.clamp(1, MAX_THREADS);
    let window = window.max(1);
    let every = (window / 4).max(1);
    let source = Mutex::new((items, 0usize));
    // How many results were emitted, whether to stop, and how many workers wait on the condvar
    // for room in the window (notified only then: a notification is a system call).
    let gate = (Mutex::new((0usize, false, 0usize)), Condvar::new());
    let stopped = AtomicBool::new(false);
    // Record that `n` results were emitted, and wake the workers waiting for room. The count
    // only grows (a stale, lower count once left every worker waiting for room in the window
    // for ever); it is published under the lock.
    let publish = |n: usize| {
        let mut g = lock(&gate.0);
        g.0 = g.0.max(n);
        if g.2 > 0 {
            drop(g);
            gate.1.notify_all();
        }
    };
    let stop = || {
        let mut g = lock(&gate.0);
        g.1 = true;
        stopped.store(true, Ordering::SeqCst);
        drop(g);
        gate.1.notify_all();
    };
    // Finished results not yet emitted, and the index of the next to emit. Held only for
    // moments; `emitter` is held while emitting.
    let pending: Mutex<(BTreeMap<usize, R>, usize)> = Mutex::new((BTreeMap::new(), 0));
    let emitter = Mutex::new(Emitter { emit, error: None });
    std::thread::scope(|s| {
        let (source, gate, stopped, work, stop, pending, emitter, publish) = (
            &source, &gate, &stopped, &work, &stop, &pending, &emitter, &publish,
        );
        // Only references are captured: the worker is `Copy`, one per thread.
        let worker = move || loop {
            if stopped.load(Ordering::SeqCst) {
                break;
            }
            let (i, item) = {
                let mut g = lock(source);
                let Some(item) = g.0.next() else { break };
                let i = g.1;
                g.1 += 1;
                (i, item)
            };
            {
                let mut g = lock(&gate.0);
                while i >= g.0 + window && !g.1 {
                    g.2 += 1;
                    g = gate.1.wait(g).unwrap_or_else(|e| e.into_inner());
                    g.2 -= 1;
                }
                if g.1 {
                    break;
                }
            }
            let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item))) {
                Ok(r) => r,
                Err(p) => {
                    stop();
                    std::panic::resume_unwind(p);
                }
            };
            lock(pending).0.insert(i, r);
            // Emit what is ready, unless another worker is emitting: it will find this
            // result when it looks again (it looks after it stops emitting).
            loop {
                let mut em = match emitter.try_lock() {
                    Ok(em) => em,
                    Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
                    Err(std::sync::TryLockError::WouldBlock) => break,
                };
                if em.error.is_some() {
                    break;
                }
                let mut emitted_any = false;
                let mut res = Ok(());
                while res.is_ok() {
                    let next = {
                        let mut p = lock(pending);
                        let n = p.1;
                        p.0.remove(&n).map(|r| {
                            p.1 += 1;
                            (n, r)
                        })
                    };
                    let Some(next) = next else { break };
                    let done = next.0 + 1;
                    emitted_any = true;
                    res = (em.emit)(Some(next));
                    // Room in the window now and then, not only when this thread stops
                    // emitting (it may go on for long while results keep coming); not at
                    // every result, whose lock the workers would contend for.
                    if done % every == 0 {
                        publish(done);
                    }
                }
                if res.is_ok() && emitted_any {
                    res = (em.emit)(None);
                }
                if let Err(e) = res {
                    em.error = Some(e);
                    drop(em);
                    stop();
                    break;
                }
                let next = lock(pending).1;
                if emitted_any {
                    publish(next);
                }
                drop(em);
                // A result that became ready while this thread was emitting, left by a
                // worker that found the emitter busy: emit it now.
                if !lock(pending).0.contains_key(&next) {
                    break;
                }
            }
        };
        // A thread the system refuses to start (too many threads, no memory) is done
        // without: the others do its share; with none started, this thread does the work.
        let started = (0..threads)
            .filter(|_| std::thread::Builder::new().spawn_scoped(s, worker).is_ok())
            .count();
        if started == 0 {
            worker();
        }
    });
    let mut em = emitter.into_inner().unwrap_or_else(|e| e.into_inner());
    match em.error.take() {
        Some(e) => Err(e),
        None => (em.emit)(None),
    }
}

/// Verify `paths` on `threads` threads against `trust`; `emit` gets each report in the order
/// of `paths`, and `None` when it may flush (see [`ordered_parallel`]).
pub fn verify_all<E: Send>(
    paths: &[PathBuf],
    trust: &Trust,
    opts: &Options,
    threads: usize,
    emit: impl FnMut(Option<(usize, Report)>) -> std::result::Result<(), E> + Send,
) -> std::result::Result<(), E> {
    ordered_parallel(paths.iter(), threads, |p| verify_one(p, trust, opts), emit)
}

/// Bundle files up to this size are read whole, with one read, and verified in memory:
/// the same checks as [`verify::verify_path`], without a seek and a read per header and
/// entry. Larger files are streamed.
pub const IN_MEMORY_MAX: u64 = 1 << 20;

/// Verify one bundle as [`verify::verify_path`] does (same checks, same report).
pub fn verify_one(path: &Path, trust: &Trust, opts: &Options) -> Report {
    if crate::format::store::is_s3(path) {
        return crate::ops::remote::verify_one(path, trust, opts);
    }
    // One open, one fstat, one read for a small bundle file.
    // (A FIFO or device is not opened here: the streaming path refuses it.)
    if let Ok((mut f, meta)) =
        crate::format::input::open(path, crate::format::input::Open::regular("bundle"))
    {
        let len = Some(meta.len());
        if let Some(len) = len.filter(|&l| l <= IN_MEMORY_MAX) {
            let mut bytes = vec![0u8; len as usize];
            // Anything unexpected (an error, a file that shrank): the streaming path reports
            // it.
            if f.read_exact(&mut bytes).is_ok() {
                let label = path.display().to_string();
                return verify::verify_bytes(&label, &bytes, Some(trust), opts);
            }
        }
    }
    verify::verify_path(path, Some(trust), opts)
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

/// Fingerprints ([`name_key`]) of the names of the entries of `dir`, sorted; `None` when
/// it cannot be listed.
fn names_in(dir: &Path) -> Option<Vec<u64>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).ok()? {
        let e = e.ok()?;
        // A name that is not UTF-8 is no job's output name.
        if let Some(n) = e.file_name().to_str() {
            v.push(name_key(n));
        }
    }
    v.sort_unstable();
    Some(v)
}

/// The fingerprint of a name's collision key ([`crate::format::path::collision_key`]).
fn name_key(name: &str) -> u64 {
    fingerprint(&crate::format::path::collision_key(name))
}

/// A 64-bit fingerprint of `s` (SipHash with fixed keys).
fn fingerprint(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// One job of a jobs file, as written (paths not yet resolved).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Job {
    /// The article file.
    pub article: String,
    /// Source URL; `None`: read from the article.
    pub url: Option<String>,
    /// Title; `None`: read from the article.
    pub title: Option<String>,
    /// Publisher; `None`: read from the article.
    pub publisher: Option<String>,
    /// Publication date; `None`: read from the article.
    pub published: Option<String>,
    /// Authors, in order (a single string in the file is one author); empty: read from the
    /// article when it gives them.
    pub author: Vec<String>,
    /// Retrieval time.
    pub retrieved: Option<String>,
    /// Sealing time; absent means now.
    pub created: Option<String>,
    /// Attachment files.
    pub attach: Vec<String>,
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
        url: string("url", take("url"))?,
        title: string("title", take("title"))?,
        publisher: string("publisher", take("publisher"))?,
        published: string("published", take("published"))?,
        author: list("author", take("author"), true)?,
        retrieved: string("retrieved", take("retrieved"))?,
        created: string("created", take("created"))?,
        attach: list("attach", take("attach"), false)?,
        out: string("out", take("out"))?,
    };
    if job.attach.iter().any(String::is_empty) {
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
            "\"out\" must be a file name, not a path: {o:?} (bundles go to --out-dir)"
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

/// What became of one job.
#[derive(Debug)]
pub enum Outcome {
    /// Sealed now.
    Sealed(Sealed),
    /// The output exists and is this job's bundle, signed by this key.
    AlreadySealed {
        /// The bundle.
        path: PathBuf,
        /// Its identity.
        id: String,
    },
    /// The output exists and is something else; it was left alone.
    Conflict {
        /// The existing file.
        path: PathBuf,
        /// How it differs.
        why: String,
    },
    /// The job failed (invalid job or metadata, unreadable input, I/O error); nothing was
    /// written for it.
    Failed(Error),
}

impl Outcome {
    /// Whether the job succeeded (sealed, or already sealed).
    pub fn is_ok(&self) -> bool {
        !matches!(self, Outcome::Conflict { .. } | Outcome::Failed(_))
    }
}

/// Threads per core to seal on by default. A thread seals a job and writes its bundle
/// without waiting for any sync; the thread that reports jobs (one at a time, see
/// [`ordered_parallel`]) settles the jobs ready with one sync per step shared by all of them
/// ([`Batch::cycle`]). More threads than cores keep the cores busy while it waits; 1.5 to 4
/// per core measured the same (docs/BENCHMARKS.md).
pub const SEAL_THREADS_PER_CORE: usize = 2;

/// Jobs `pack --batch` may have started beyond the last one handed to the reporting thread.
/// Bundles written and not yet in place are open files: at most this many plus
/// [`SETTLE_AT`] plus one per thread (on Linux, 1024 files may be open by default; elsewhere
/// often only 256, hence smaller numbers there).
pub const SEAL_WINDOW: usize = if cfg!(target_os = "linux") { 256 } else { 96 };

/// Jobs put in place together at most; the reporting thread takes a step with what is
/// ready when it has caught up, or with this many.
pub const SETTLE_AT: usize = if cfg!(target_os = "linux") { 128 } else { 48 };

/// A job run up to writing its bundle ([`Batch::run_deferred`]); settle it
/// ([`Batch::settle`], [`Batch::settle_all`]) before reporting it.
#[derive(Debug)]
pub struct Deferred {
    path: Option<PathBuf>,
    outcome: Outcome,
    /// The bundle written but not yet in place, and its job (to tell, when the name was
    /// taken meanwhile, whether the bundle there is this job's).
    written: Option<(Written, Box<Job>)>,
}

/// Jobs whose bundles are in place but whose names are not yet known to be durable
/// ([`Batch::cycle`]), in order; jobs that failed or were skipped wait with them, to be
/// reported in order.
#[derive(Debug, Default)]
pub struct InPlace(Vec<(Option<PathBuf>, Outcome, Option<Placed>)>);

impl InPlace {
    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deferred {
    /// A job that came to `outcome` without a bundle to settle (a line that could not be
    /// read), to be reported in its place among the others.
    pub fn done(outcome: Outcome) -> Deferred {
        Deferred {
            path: None,
            outcome,
            written: None,
        }
    }
}

/// Seals jobs with one key into one directory.
pub struct Batch<'a> {
    key: &'a SecretKey,
    trust: Trust,
    base: PathBuf,
    out_dir: PathBuf,
    /// The syncs that make bundles and their names durable, shared by the threads that
    /// finish together (group commit).
    sync: GroupSync,
    /// Fingerprints of the collision keys of the names in `out_dir` when the batch started
    /// (so that names differing only in case or normalization match, as they may on the file
    /// system), sorted; `None` when it could not be listed. A job whose output name is not
    /// among them needs no look-up before it is sealed: a bundle put there since is found when
    /// its own is put in place (which never replaces anything). This saves a look-up per job in
    /// the output directory, which waits for its lock while bundles are put in place there.
    present: Option<Vec<u64>>,
    /// The input limits of each job (`pack --max-file-size` ...).
    limits: crate::format::zip::Limits,
    /// With `pack --batch --base DIR`: `DIR`, canonical; every job path must lead inside it.
    confined: Option<PathBuf>,
}

impl<'a> Batch<'a> {
    /// Seal each job within `limits` (default [`crate::format::zip::Limits::default`]).
    pub fn set_limits(&mut self, limits: crate::format::zip::Limits) {
        self.limits = limits;
    }

    /// Resolve job paths against `base` and confine them to it (`pack --batch --base DIR`):
    /// a job whose article or attachment is an absolute path, has a `..` component, or leads
    /// outside `base` through a symbolic link fails. (Checked before the job's files are
    /// opened; a link changed between the check and the open is not caught: this confines a
    /// jobs file's author, not a user racing the run.)
    pub fn confine_to(&mut self, base: &Path) -> Result<()> {
        let canon = std::fs::canonicalize(base).map_err(|e| Error::io(base, e))?;
        if !canon.is_dir() {
            return Err(Error::invalid(
                base.display().to_string(),
                "is not a directory (--base)",
            ));
        }
        self.base = base.to_path_buf();
        self.confined = Some(canon);
        Ok(())
    }

    /// With [`Batch::confine_to`]: refuse a job path that leads outside the base.
    fn check_confined(&self, p: &str) -> Result<()> {
        let Some(root) = &self.confined else {
            return Ok(());
        };
        let rel = Path::new(p);
        let escapes = rel.is_absolute()
            || rel.components().any(|c| {
                !matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            });
        if escapes {
            return Err(Error::invalid(
                p,
                "is outside --base DIR (absolute, or with ..)",
            ));
        }
        match std::fs::canonicalize(self.resolve(p)) {
            Ok(real) if !real.starts_with(root) => Err(Error::invalid(
                p,
                "leads outside --base DIR (through a symbolic link)",
            )),
            // A missing file is reported when it is opened.
            _ => Ok(()),
        }
    }

    /// A batch sealing with `key` into `out_dir` (which must exist: it is opened here);
    /// relative job paths are resolved against `base` (the jobs file's directory).
    pub fn new(key: &'a SecretKey, base: &Path, out_dir: &Path) -> Result<Self> {
        Ok(Self::with_sync(
            key,
            base,
            out_dir,
            GroupSync::open(out_dir)?,
        ))
    }

    fn with_sync(key: &'a SecretKey, base: &Path, out_dir: &Path, sync: GroupSync) -> Self {
        Batch {
            key,
            trust: Trust::new(vec![TrustedKey::plain(key.public_key())]),
            base: base.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            sync,
            present: names_in(out_dir),
            limits: crate::format::zip::Limits::default(),
            confined: None,
        }
    }

    /// Whether `out_name` may name a file that exists: it did when the batch started, or
    /// that is not known.
    fn maybe_present(&self, out_name: &str) -> bool {
        self.present
            .as_ref()
            .is_none_or(|p| p.binary_search(&name_key(out_name)).is_ok())
    }

    fn resolve(&self, p: &str) -> PathBuf {
        self.base.join(p)
    }

    /// The seal request of a job. What the job leaves out is read from its article
    /// ([`crate::ops::ingest`]); an error names the job key and where docseal looked.
    pub fn request(&self, job: &Job) -> Result<SealRequest> {
        let article = self.resolve(&job.article);
        let mut req = SealRequest {
            article: ArticleSource::Path(article.clone()),
            url: job.url.clone().unwrap_or_default(),
            title: job.title.clone().unwrap_or_default(),
            publisher: job.publisher.clone().unwrap_or_default(),
            published: job.published.clone().unwrap_or_default(),
            authors: job.author.clone(),
            retrieved: job.retrieved.clone(),
            created: job.created.clone(),
            attachments: job.attach.iter().map(|a| self.resolve(a)).collect(),
            supersedes: None,
        };
        if job.url.is_some()
            && job.title.is_some()
            && job.publisher.is_some()
            && job.published.is_some()
        {
            return Ok(req);
        }
        let given = crate::ops::ingest::Given {
            url: job.url.clone(),
            title: job.title.clone(),
            publisher: job.publisher.clone(),
            published: job.published.clone(),
            authors: job.author.clone(),
            retrieved: job.retrieved.clone(),
        };
        let art = crate::ops::ingest::read_article_for_batch(&article)?;
        let r = crate::ops::ingest::resolve(&given, &art)?;
        req.url = r.url.value;
        req.title = r.title.value;
        req.publisher = r.publisher.value;
        req.published = r.published.value;
        req.authors = r.authors.map(|a| a.value).unwrap_or_default();
        req.retrieved = r.retrieved.map(|a| a.value);
        Ok(req)
    }

    /// Run one parsed line.
    pub fn run(&self, parsed: Parsed) -> (Option<PathBuf>, Outcome) {
        self.settle(self.run_deferred(parsed))
    }

    /// Run one parsed line up to writing its bundle: the job must be settled
    /// ([`Batch::settle`], [`Batch::settle_all`]) before it is reported. The thread can seal
    /// its next job meanwhile: no sync is waited for here.
    pub fn run_deferred(&self, parsed: Parsed) -> Deferred {
        match parsed {
            Parsed::Invalid(why) => Deferred {
                path: None,
                outcome: Outcome::Failed(Error::invalid("job", why)),
                written: None,
            },
            Parsed::Job { job, out_name } => {
                let check = self.maybe_present(&out_name);
                let out = self.out_dir.join(out_name);
                let (outcome, written) = self.run_job(&job, &out, check);
                Deferred {
                    path: Some(out),
                    outcome,
                    written: written.map(|w| (w, job)),
                }
            }
        }
    }

    /// Put a job's bundle in place and wait until it is durable there; a failed sync makes
    /// it a failed job (and leaves no bundle).
    pub fn settle(&self, d: Deferred) -> (Option<PathBuf>, Outcome) {
        let (path, outcome, placed) = self.place(d);
        (path, self.settled(outcome, placed))
    }

    /// [`Batch::settle`] for many jobs, with two syncs in all: every bundle is put in place
    /// once a sync that started after it was written has succeeded, then every name is made
    /// durable by one sync that started after the last was put in place. Outcomes in the
    /// order of `ds`.
    pub fn settle_all(&self, ds: Vec<Deferred>) -> Vec<(Option<PathBuf>, Outcome)> {
        let (done, in_place) = self.cycle(InPlace::default(), ds);
        debug_assert!(done.is_empty());
        self.finish(in_place)
    }

    /// One step of settling a stream of jobs, with one sync: a sync that starts now makes
    /// durable both the bundles of `written` (which are then put in place) and the names of
    /// `in_place` (put in place by the step before, which are then settled). Returns the
    /// outcomes of `in_place`, in order, and the jobs of `written` now in place, for the next
    /// step or [`Batch::finish`].
    pub fn cycle(
        &self,
        in_place: InPlace,
        written: Vec<Deferred>,
    ) -> (Vec<(Option<PathBuf>, Outcome)>, InPlace) {
        // A failed sync fails every job it would cover; place_in and settle say so for each.
        let _ = self.sync.sync_now();
        let placed = InPlace(written.into_iter().map(|d| self.place(d)).collect());
        (self.settle_placed(in_place), placed)
    }

    /// The last step: one sync that makes the names of `in_place` durable; their outcomes, in
    /// order.
    pub fn finish(&self, in_place: InPlace) -> Vec<(Option<PathBuf>, Outcome)> {
        if in_place.0.iter().any(|(_, _, p)| p.is_some()) {
            let _ = self.sync.sync_now();
        }
        self.settle_placed(in_place)
    }

    fn settle_placed(&self, in_place: InPlace) -> Vec<(Option<PathBuf>, Outcome)> {
        in_place
            .0
            .into_iter()
            .map(|(path, outcome, p)| (path, self.settled(outcome, p)))
            .collect()
    }

    /// Put a written bundle in place, once it is durable.
    fn place(&self, d: Deferred) -> (Option<PathBuf>, Outcome, Option<Placed>) {
        match (d.outcome, d.written) {
            (Outcome::Sealed(s), Some((w, job))) => match w.place_in(&self.sync) {
                Ok(p) => (d.path, Outcome::Sealed(s), Some(p)),
                // Written meanwhile by someone else (another run of the same jobs, or an
                // earlier line of the same job): what it says is reported once a sync that
                // started now has succeeded, like the bundles put in place with it.
                Err(Error::Exists { path }) => {
                    let outcome = match self.request(&job) {
                        Ok(req) => self.existing(&req, &path),
                        Err(e) => Outcome::Failed(unflag(e)),
                    };
                    (d.path, outcome, Some(self.sync.found(&path)))
                }
                Err(e) => (d.path, Outcome::Failed(unflag(e)), None),
            },
            (o, _) => (d.path, o, None),
        }
    }

    /// A placed bundle's outcome once its name is durable (or, for a bundle found in place,
    /// once the sync that covers it succeeded).
    fn settled(&self, outcome: Outcome, placed: Option<Placed>) -> Outcome {
        match placed {
            Some(p) => match p.settle(&self.sync) {
                Ok(()) => outcome,
                Err(e) => Outcome::Failed(e),
            },
            None => outcome,
        }
    }

    /// Seal a job into `out`, unless it exists (looked up when `check`).
    fn run_job(&self, job: &Job, out: &Path, check: bool) -> (Outcome, Option<Written>) {
        for p in std::iter::once(&job.article).chain(&job.attach) {
            if let Err(e) = self.check_confined(p) {
                return (Outcome::Failed(e), None);
            }
        }
        let req = match self.request(job) {
            Ok(r) => r,
            Err(e) => return (Outcome::Failed(unflag(e)), None),
        };
        if check && out.symlink_metadata().is_ok() {
            return (self.existing(&req, out), None);
        }
        // The bundle is made durable before it is put in place, and its name before the job
        // is reported sealed (settled); the syncs are shared by the jobs settled together.
        match seal::seal_deferred(&req, self.key, out, false, Some(&self.sync), &self.limits) {
            Ok((s, written)) => (Outcome::Sealed(s), written),
            // Written meanwhile by someone else, found before writing (with a temp name).
            Err(Error::Exists { .. }) => (self.existing(&req, out), None),
            Err(e) => (Outcome::Failed(unflag(e)), None),
        }
    }

    /// The output exists: is it this job's bundle?
    fn existing(&self, req: &SealRequest, out: &Path) -> Outcome {
        match self.matches(req, out) {
            Ok(Ok(id)) => Outcome::AlreadySealed {
                path: out.to_path_buf(),
                id,
            },
            Ok(Err(why)) => Outcome::Conflict {
                path: out.to_path_buf(),
                why,
            },
            Err(e) => Outcome::Failed(unflag(e)),
        }
    }

    /// `Ok(Ok(id))` when `out` is a valid bundle of `req` signed by this batch's key;
    /// `Ok(Err(why))` when it is something else; `Err` when the job itself is invalid or an
    /// input cannot be read.
    fn matches(
        &self,
        req: &SealRequest,
        out: &Path,
    ) -> Result<std::result::Result<String, String>> {
        // The job's own values, checked as sealing would check them.
        let url = metadata::normalize_url(&req.url).map_err(|p| Error::invalid("url", p))?;
        let created = match &req.created {
            Some(c) => {
                Some(metadata::normalize_sealed(c).map_err(|p| Error::invalid("created", p))?)
            }
            None => None,
        };
        let ArticleSource::Path(article) = &req.article else {
            return Err(Error::invalid("article", "must name a file"));
        };
        let article_file = metadata::article_path(article.file_name().and_then(|n| n.to_str()));
        let attachments = seal::attachment_names(&req.attachments)?;

        if out.symlink_metadata().is_ok_and(|m| !m.is_file()) {
            return Ok(Err("exists and is not a regular file".into()));
        }
        let report = verify::verify_path(out, Some(&self.trust), &Options::default());
        if !report.ok {
            let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
            return Ok(Err(format!(
                "exists and is not a valid bundle signed by this key ({})",
                codes.join(", ")
            )));
        }
        let Some(m) = &report.metadata else {
            return Ok(Err("exists and has no readable metadata".into()));
        };
        let differs = |what: &str| {
            Ok(Err(format!(
                "exists and holds another bundle ({what} differs)"
            )))
        };
        if m.url != url {
            return differs("url");
        }
        if m.headline != req.title {
            return differs("title");
        }
        if m.publisher != req.publisher {
            return differs("publisher");
        }
        if m.date_published != req.published {
            return differs("published");
        }
        if m.author != req.authors {
            return differs("author");
        }
        if m.date_retrieved != req.retrieved {
            return differs("retrieved");
        }
        if created.as_ref().is_some_and(|c| *c != m.date_sealed) {
            return differs("created");
        }
        if m.supersedes.is_some() {
            return differs("supersedes");
        }
        if m.article_file != article_file {
            return differs("article file name");
        }
        let names: Vec<&String> = attachments.iter().map(|(n, _)| n).collect();
        if m.attachments.iter().collect::<Vec<_>>() != names {
            return differs("attachment names");
        }
        let mut inputs: Vec<(&str, &Path)> = vec![(article_file.as_str(), article.as_path())];
        inputs.extend(attachments.iter().map(|(n, p)| (n.as_str(), p.as_path())));
        for (name, path) in inputs {
            let sealed = report
                .files
                .iter()
                .find(|f| f.path == name)
                .and_then(|f| f.sha256.clone());
            if sealed.as_deref() != Some(hex(&sha256_file(path)?).as_str()) {
                return differs(&format!("content of {name}"));
            }
        }
        Ok(Ok(m.id.clone()))
    }
}

/// Errors from sealing name pack's flags (`--url`); in a batch they are job keys (`url`).
fn unflag(e: Error) -> Error {
    match e {
        Error::Invalid { what, problem } => match what.strip_prefix("--") {
            Some(k) => Error::Invalid {
                what: k.to_string(),
                problem,
            },
            None => Error::Invalid { what, problem },
        },
        other => other,
    }
}

/// SHA-256 of a file, streamed in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<[u8; 32]> {
    let (mut f, meta) =
        crate::format::input::open(path, crate::format::input::Open::regular("file"))?;
    let len = meta.len();
    crate::profile::bagit::sha256_reader(&mut f, len).map_err(|e| Error::io(path, e))
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
        assert!(j.author.is_empty() && j.attach.is_empty() && j.out.is_none());
        assert_eq!(ok(&format!(r#"{{{BASE},"author":"A"}}"#)).author, ["A"]);
        assert_eq!(
            ok(&format!(
                r#"{{{BASE},"author":["A","B"],"attach":["x.pdf"]}}"#
            ))
            .author,
            ["A", "B"]
        );
        assert_eq!(ok(&format!(r#"{{{BASE},"created":null}}"#)).created, None);
        assert!(err(&format!(r#"{{{BASE},"colour":"red"}}"#)).contains("unknown key \"colour\""));
        assert!(err(&format!(r#"{{{BASE},"url":"https://x/"}}"#)).contains("twice"));
        // issue 16: a job may leave out what its article gives.
        let j = ok(r#"{"article":"a.txt"}"#);
        assert!(j.url.is_none() && j.title.is_none() && j.published.is_none());
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

    /// A batch into a fresh output directory whose syncs are `op` (with syncfs semantics),
    /// writing bundles with temp names or not, and an article beside it.
    fn batch_with_sync(
        key: &SecretKey,
        named: bool,
        op: impl Fn() -> std::io::Result<()> + Send + Sync + 'static,
    ) -> (tempfile::TempDir, PathBuf, Batch<'_>) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.txt"), b"article").unwrap();
        let out_dir = d.path().join("out");
        std::fs::create_dir(&out_dir).unwrap();
        let sync = GroupSync::with_op(&out_dir, true, op);
        let sync = if named { sync.named() } else { sync };
        let batch = Batch::with_sync(key, d.path(), &out_dir, sync);
        (d, out_dir, batch)
    }

    fn job(n: u32) -> Parsed {
        let job = ok(&format!(r#"{{{BASE},"out":"{n}.zip"}}"#));
        Parsed::Job {
            out_name: job.out_name(),
            job: Box::new(job),
        }
    }

    #[test]
    fn a_job_whose_sync_fails_is_failed_and_leaves_nothing() {
        use std::sync::atomic::AtomicU32;
        let key = SecretKey::from_seed(&[1; 32], crate::format::minisign::KeyId([2; 8]));
        // The first sync fails (before the bundle is put in place), or the second (after);
        // the file system's error then fails every later job too.
        for (failing, named) in [(1, false), (2, false), (1, true), (2, true)] {
            let runs = AtomicU32::new(0);
            let (_d, out_dir, batch) = batch_with_sync(&key, named, move || {
                if runs.fetch_add(1, Ordering::SeqCst) + 1 >= failing {
                    Err(std::io::Error::from_raw_os_error(5))
                } else {
                    Ok(())
                }
            });
            for n in 0..2 {
                match batch.run(job(n)) {
                    (Some(_), Outcome::Failed(Error::Io { path, source })) => {
                        assert_eq!(path, out_dir);
                        assert!(source.to_string().contains("os error 5"), "{source}");
                    }
                    other => panic!("{other:?}"),
                }
            }
            let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
            assert!(left.is_empty(), "{left:?}");
        }
        // The same with syncs that succeed: sealed, and only the bundle is there.
        let (_d, out_dir, batch) = batch_with_sync(&key, false, || Ok(()));
        let (path, outcome) = batch.run(job(0));
        assert!(matches!(outcome, Outcome::Sealed(_)), "{outcome:?}");
        let names: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(names, [path.unwrap()]);
    }

    /// Jobs settled together share two syncs: nothing is in place before, every bundle is in
    /// place after, and a job whose bundle was written meanwhile by another run is told apart.
    #[test]
    fn jobs_settled_together_share_two_syncs() {
        use std::sync::atomic::AtomicU32;
        use std::sync::Arc;
        let key = SecretKey::from_seed(&[1; 32], crate::format::minisign::KeyId([2; 8]));
        for named in [false, true] {
            let runs = Arc::new(AtomicU32::new(0));
            let counted = Arc::clone(&runs);
            let (_d, out_dir, batch) = batch_with_sync(&key, named, move || {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            let deferred: Vec<Deferred> = (0..10).map(|n| batch.run_deferred(job(n))).collect();
            assert_eq!(runs.load(Ordering::SeqCst), 0, "no sync while sealing");
            let in_place = || {
                std::fs::read_dir(&out_dir)
                    .unwrap()
                    .filter(|e| {
                        e.as_ref()
                            .unwrap()
                            .file_name()
                            .to_string_lossy()
                            .ends_with(".zip")
                    })
                    .count()
            };
            assert_eq!(in_place(), 0, "nothing in place before it is settled");
            // Job 3's name is taken meanwhile by the same job (another run): already sealed.
            // That run's syncs cover the ten bundles written before it, so settling them takes
            // one or two more.
            let (first, _) = batch.run(job(3));
            let before = runs.load(Ordering::SeqCst);
            let settled = batch.settle_all(deferred);
            let syncs = runs.load(Ordering::SeqCst) - before;
            assert!((1..=2).contains(&syncs), "{syncs} syncs for ten jobs");
            assert_eq!(settled.len(), 10);
            for (n, (path, outcome)) in settled.iter().enumerate() {
                assert_eq!(
                    path.as_deref(),
                    Some(out_dir.join(format!("{n}.zip")).as_path())
                );
                match (n, outcome) {
                    (3, Outcome::AlreadySealed { path, .. }) => {
                        assert_eq!(Some(path), first.as_ref())
                    }
                    (3, o) => panic!("{o:?}"),
                    (_, Outcome::Sealed(_)) => {}
                    (_, o) => panic!("{o:?}"),
                }
            }
            assert_eq!(in_place(), 10);
            // Ten more, with nothing in between: exactly two syncs.
            let more: Vec<Deferred> = (10..20).map(|n| batch.run_deferred(job(n))).collect();
            let before = runs.load(Ordering::SeqCst);
            let settled = batch.settle_all(more);
            assert_eq!(runs.load(Ordering::SeqCst) - before, 2);
            assert!(settled.iter().all(|(_, o)| matches!(o, Outcome::Sealed(_))));
            assert_eq!(in_place(), 20);
            let left: Vec<_> = std::fs::read_dir(&out_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| !n.to_string_lossy().ends_with(".zip"))
                .collect();
            assert!(left.is_empty(), "no temporary files left: {left:?}");
        }
        // A sync that fails after some jobs were settled fails the rest and leaves none of them.
        let runs = AtomicU32::new(0);
        let (_d, out_dir, batch) = batch_with_sync(&key, false, move || {
            if runs.fetch_add(1, Ordering::SeqCst) >= 2 {
                Err(std::io::Error::from_raw_os_error(5))
            } else {
                Ok(())
            }
        });
        let first = batch.settle_all(vec![batch.run_deferred(job(0))]);
        assert!(matches!(first[0].1, Outcome::Sealed(_)), "{first:?}");
        let rest = batch.settle_all((1..5).map(|n| batch.run_deferred(job(n))).collect());
        for (_, o) in &rest {
            assert!(matches!(o, Outcome::Failed(Error::Io { .. })), "{o:?}");
        }
        let names: Vec<_> = std::fs::read_dir(&out_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["0.zip"]);
    }

    /// A job whose output appears after the batch started (an earlier line of the same job,
    /// another run) is found sealed, with a temp name (refused before writing) or without one
    /// (refused when linked); and what is reported on such a bundle depends on the sync that
    /// covers it, like the bundles put in place with it.
    #[test]
    fn outputs_that_appear_meanwhile_are_found_and_wait_for_the_sync() {
        use std::sync::atomic::AtomicU32;
        let key = SecretKey::from_seed(&[1; 32], crate::format::minisign::KeyId([2; 8]));
        for named in [false, true] {
            let (_d, out_dir, batch) = batch_with_sync(&key, named, || Ok(()));
            let first = batch.settle_all(vec![batch.run_deferred(job(0))]);
            assert!(matches!(first[0].1, Outcome::Sealed(_)), "{first:?}");
            // Not in the listing taken at the start: no look-up before sealing.
            let again = batch.settle_all(vec![batch.run_deferred(job(0))]);
            match &again[0].1 {
                Outcome::AlreadySealed { path, .. } => assert_eq!(path, &out_dir.join("0.zip")),
                o => panic!("named {named}: {o:?}"),
            }
        }
        // Two lines of one job settled together, and the sync after their links fails: the
        // bundle is removed, and neither job is reported sealed or skipped.
        let runs = AtomicU32::new(0);
        let (_d, out_dir, batch) = batch_with_sync(&key, false, move || {
            if runs.fetch_add(1, Ordering::SeqCst) >= 1 {
                Err(std::io::Error::from_raw_os_error(5))
            } else {
                Ok(())
            }
        });
        let both = batch.settle_all(vec![batch.run_deferred(job(0)), batch.run_deferred(job(0))]);
        for (_, o) in &both {
            assert!(matches!(o, Outcome::Failed(Error::Io { .. })), "{o:?}");
        }
        assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0);
    }

    #[test]
    fn ordered_parallel_keeps_order_and_bounds_the_window() {
        use std::sync::atomic::AtomicUsize;
        let running = AtomicUsize::new(0);
        let max_ahead = AtomicUsize::new(0);
        let emitted = AtomicUsize::new(0);
        let mut got = Vec::new();
        ordered_parallel(
            0..500u64,
            4,
            |i| {
                running.fetch_add(1, Ordering::SeqCst);
                let ahead = (i as usize).saturating_sub(emitted.load(Ordering::SeqCst));
                max_ahead.fetch_max(ahead, Ordering::SeqCst);
                // Uneven work: early items are slow.
                std::thread::sleep(std::time::Duration::from_micros((500 - i) % 7 * 50));
                i * 2
            },
            |item| {
                if let Some((idx, r)) = item {
                    assert_eq!(r, idx as u64 * 2);
                    got.push(r);
                    emitted.store(idx + 1, Ordering::SeqCst);
                }
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        assert_eq!(got, (0..500).map(|i| i * 2).collect::<Vec<_>>());
        assert!(
            max_ahead.load(Ordering::SeqCst) <= 4 * 4 + 4,
            "{max_ahead:?}"
        );
    }

    /// Many more threads than cores, tiny items, 200,000 of them: the window count must never
    /// go back (a stale count once left every worker waiting for room for ever; this test hung
    /// in two runs out of three with that code). A watchdog turns a hang into a failure.
    #[test]
    fn ordered_parallel_does_not_hang_with_many_threads() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut n = 0u64;
            ordered_parallel(
                0..200_000u64,
                64,
                |i| {
                    if i % 13 == 0 {
                        std::thread::yield_now();
                    }
                    i
                },
                |item| {
                    if let Some((idx, r)) = item {
                        assert_eq!(idx as u64, r);
                        n += 1;
                    }
                    Ok::<(), ()>(())
                },
            )
            .unwrap();
            tx.send(n).unwrap();
        });
        let n = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("ordered_parallel hung");
        assert_eq!(n, 200_000);
    }

    #[test]
    fn ordered_parallel_stops_when_emit_fails() {
        use std::sync::atomic::AtomicUsize;
        let done = AtomicUsize::new(0);
        let res = ordered_parallel(
            0..100_000u32,
            2,
            |i| {
                done.fetch_add(1, Ordering::SeqCst);
                i
            },
            |item| match item {
                Some((10, _)) => Err("broken pipe"),
                _ => Ok(()),
            },
        );
        assert_eq!(res, Err("broken pipe"));
        assert!(done.load(Ordering::SeqCst) < 100, "{done:?}");
    }
}
