//! `pack` with metadata from the article itself (library: `docseal::ingest`), `pack
//! --dry-run`, `cat` and `diff`.

use super::args::{CatArgs, DiffArgs, LimitArgs, PackArgs};
use super::output;
use anyhow::Result;
use docseal::ingest::{self, Article, Found, Given, Kind, Resolved};
use docseal::metadata::{self, hex, Metadata};
use docseal::seal::ArticleSource;
use docseal::verify::{self, Options, Report, Trust};
use docseal::{zipfmt, Error};
use serde::Serialize;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The metadata and the article to seal, from the flags and the article.
pub struct Prepared {
    pub article: ArticleSource,
    pub resolved: Resolved,
    /// Files sealed as attachments besides `--attach` (a WARC's request record).
    pub attachments: Vec<PathBuf>,
    /// What reading the article noted (the record sealed, values passed over): shown as
    /// warnings, as `--dry-run` shows them.
    pub notes: Vec<String>,
    /// Holds the temporary files sealed (standard input, WARC records) until sealed.
    _tmp: Option<tempfile::TempDir>,
}

/// The library's record of what a sealing job gives, from pack's flags.
fn given(a: &PackArgs) -> Given {
    let mut g = Given::default();
    g.url = a.url.clone();
    g.title = a.title.clone();
    g.publisher = a.publisher.clone();
    g.published = a.published.clone();
    g.authors = a.authors.clone();
    g.retrieved = a.retrieved.clone();
    g
}

fn all_given(g: &Given) -> bool {
    g.url.is_some() && g.title.is_some() && g.publisher.is_some() && g.published.is_some()
}

/// How standard input is named in messages.
const STDIN_LABEL: &str = "standard input";

/// `e` with the temporary copy of standard input (`tmp`) named as standard input.
fn stdin_named(e: Error, tmp: &Path) -> Error {
    let shown = tmp.display().to_string();
    let fix = |s: &str| s.replace(&shown, STDIN_LABEL);
    match e {
        Error::Io { path, source } if path == tmp => Error::io(STDIN_LABEL, source),
        Error::Invalid { what, problem } => Error::invalid(fix(&what), fix(&problem)),
        e => e,
    }
}

/// Read the article (standard input is kept in a temporary file when something must be read
/// from it).
fn read(a: &PackArgs, article: &Path) -> Result<(Option<Article>, Option<tempfile::TempDir>)> {
    let g = given(a);
    if article.as_os_str() == "-" {
        if all_given(&g) {
            return Ok((None, None));
        }
        // A private copy (mode 0600 in a 0700 directory), at most --max-file-size bytes: an
        // endless or oversized input is refused as `pack FILE` refuses a large file.
        use std::os::unix::fs::OpenOptionsExt;
        let label = Path::new(STDIN_LABEL);
        let tmp = tempfile::tempdir().map_err(|e| Error::io("<temporary directory>", e))?;
        let path = tmp.path().join("stdin");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io(label, e))?;
        let max = a.limits.max_file_size;
        let n = std::io::copy(
            &mut std::io::stdin().lock().take(max.saturating_add(1)),
            &mut f,
        )
        .map_err(|e| Error::io(label, e))?;
        if n > max {
            return Err(Error::invalid(
                STDIN_LABEL,
                format!("article larger than {max} bytes (the per-file limit, --max-file-size)"),
            )
            .into());
        }
        drop(f);
        let art = ingest::read_article(&path, g.url.as_deref())
            .map_err(|e| stdin_named(Error::from(e), &path))?;
        return Ok((Some(art), Some(tmp)));
    }
    let art = ingest::read_article(article, g.url.as_deref()).map_err(Error::from)?;
    Ok((Some(art), None))
}

/// Resolve the metadata of `pack ARTICLE` from the flags and the article; for a WARC, write
/// the records to seal into temporary files.
pub fn prepare(a: &PackArgs, article: &Path) -> Result<Prepared> {
    let g = given(a);
    let (art, mut tmp) = read(a, article)?;
    let Some(art) = art else {
        let f =
            |v: &Option<String>| Found::new(v.clone().unwrap_or_default(), ingest::Source::Flag);
        return Ok(Prepared {
            article: ArticleSource::Stdin,
            resolved: Resolved {
                url: f(&g.url),
                title: f(&g.title),
                publisher: f(&g.publisher),
                published: f(&g.published),
                authors: (!g.authors.is_empty())
                    .then(|| Found::new(g.authors.clone(), ingest::Source::Flag)),
                retrieved: g
                    .retrieved
                    .clone()
                    .map(|r| Found::new(r, ingest::Source::Flag)),
            },
            attachments: Vec::new(),
            notes: Vec::new(),
            _tmp: None,
        });
    };
    let resolved = ingest::resolve(&g, &art).map_err(|e| {
        let e = super::advice::as_flag(Error::from(e));
        if article.as_os_str() == "-" {
            stdin_named(e, &art.path)
        } else {
            e
        }
    })?;
    let mut attachments = Vec::new();
    let source = match &art.capture {
        Some(c) => {
            // The records are sealed, not the WARC file: the response as the article
            // (data/article.warc), the request as data/attachments/request.warc.
            if tmp.is_none() {
                tmp = Some(tempfile::tempdir().map_err(|e| Error::io("<temporary directory>", e))?);
            }
            let dir = tmp
                .as_ref()
                .map(|t| t.path().to_path_buf())
                .unwrap_or_default();
            let write = |name: &str, bytes: &[u8]| -> Result<PathBuf> {
                let p = dir.join(name);
                std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
                Ok(p)
            };
            let resp = write("response.warc", c.response.bytes.as_deref().unwrap_or(&[]))?;
            if let Some(q) = &c.request {
                attachments.push(write("request.warc", q.bytes.as_deref().unwrap_or(&[]))?);
            }
            ArticleSource::Path(resp)
        }
        None => ArticleSource::Path(art.path.clone()),
    };
    Ok(Prepared {
        article: source,
        resolved,
        attachments,
        notes: art.inferred.notes.clone(),
        _tmp: tmp,
    })
}

#[derive(Serialize)]
struct DryField {
    field: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<ingest::Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

#[derive(Serialize)]
struct DrySealed {
    path: String,
    bytes: u64,
    what: String,
}

#[derive(Serialize)]
struct DryRun {
    article: String,
    kind: Option<Kind>,
    ok: bool,
    fields: Vec<DryField>,
    sealed: Vec<DrySealed>,
    notes: Vec<String>,
}

/// `pack ARTICLE --dry-run [--json]`: the metadata that would be sealed, each field with its
/// source; writes nothing. Exit 0 when the bundle could be sealed, 2 when a field is missing
/// or invalid.
// Longer than 80 lines: one row per metadata field, each built by the same closures over the
// article read once; split, the closures would become a struct for one caller.
pub fn dry_run(a: &PackArgs, article: &Path) -> Result<u8> {
    let g = given(a);
    let (art, _tmp) = read(a, article)?;
    let inferred = art.as_ref().map(|x| x.inferred.clone()).unwrap_or_default();
    let pick = |flag: &Option<String>, found: &Option<Found<String>>| match flag {
        Some(v) => Some(Found::new(v.clone(), ingest::Source::Flag)),
        None => found.clone(),
    };
    let kind = art.as_ref().map(|x| x.kind);
    let looked_err = |flag: &str| -> String {
        match &art {
            Some(x) => format!(
                "not given, and not found in {} (looked at: {})",
                if article.as_os_str() == "-" {
                    STDIN_LABEL.to_string()
                } else {
                    x.path.display().to_string()
                },
                ingest::looked(x.kind, flag.trim_start_matches("--"))
            ),
            None => "not given".into(),
        }
    };
    let mut fields = Vec::new();
    let mut ok = true;
    let mut text_field = |field: &'static str,
                          flag: &str,
                          v: Option<Found<String>>,
                          check: &dyn Fn(&str) -> Result<String, String>,
                          required: bool| {
        match v {
            Some(f) => {
                let problem = check(&f.value).err();
                ok &= problem.is_none();
                let value = check(&f.value).unwrap_or(f.value);
                fields.push(DryField {
                    field,
                    value: Some(serde_json::Value::String(value)),
                    source: Some(f.source),
                    problem,
                });
            }
            None if required => {
                ok = false;
                fields.push(DryField {
                    field,
                    value: None,
                    source: None,
                    problem: Some(looked_err(flag)),
                });
            }
            None => fields.push(DryField {
                field,
                value: None,
                source: None,
                problem: None,
            }),
        }
    };
    let text = |s: &str| metadata::check_new_text(s).map(|_| s.to_string());
    let date = |s: &str| metadata::check_date(s).map(|_| s.to_string());
    text_field(
        "url",
        "--url",
        pick(&g.url, &inferred.url),
        &metadata::normalize_url,
        true,
    );
    text_field(
        "title",
        "--title",
        pick(&g.title, &inferred.title),
        &text,
        true,
    );
    text_field(
        "publisher",
        "--publisher",
        pick(&g.publisher, &inferred.publisher),
        &text,
        true,
    );
    text_field(
        "published",
        "--published",
        pick(&g.published, &inferred.published),
        &date,
        true,
    );
    text_field(
        "retrieved",
        "--retrieved",
        pick(&g.retrieved, &inferred.retrieved),
        &date,
        false,
    );
    let authors = if g.authors.is_empty() {
        inferred.authors.clone()
    } else {
        Some(Found::new(g.authors.clone(), ingest::Source::Flag))
    };
    let author_problem = authors.as_ref().and_then(|a| {
        a.value
            .iter()
            .find_map(|x| metadata::check_new_text(x).err())
    });
    ok &= author_problem.is_none();
    fields.push(DryField {
        field: "author",
        value: authors.as_ref().map(|a| serde_json::json!(a.value)),
        source: authors.as_ref().map(|a| a.source),
        problem: author_problem,
    });
    let mut sealed = Vec::new();
    match &art {
        Some(x) => match &x.capture {
            Some(c) => {
                let n = |r: &ingest::warc::Record| r.bytes.as_ref().map_or(0, |b| b.len() as u64);
                sealed.push(DrySealed {
                    path: "data/article.warc".into(),
                    bytes: n(&c.response),
                    what: format!(
                        "WARC response record {} for {} ({})",
                        c.response.number,
                        ingest::warc::printable(&c.target),
                        match c.response.header.digests() {
                            0 => "no digest recorded: its bytes are not checked against one".into(),
                            1 => "its digest checked".to_string(),
                            n => format!("its {n} digests checked"),
                        }
                    ),
                });
                if let Some(q) = &c.request {
                    sealed.push(DrySealed {
                        path: "data/attachments/request.warc".into(),
                        bytes: n(q),
                        what: format!("WARC request record {}", q.number),
                    });
                }
            }
            None => {
                let len = std::fs::metadata(&x.path).map(|m| m.len()).unwrap_or(0);
                sealed.push(DrySealed {
                    path: metadata::article_path(if article.as_os_str() == "-" {
                        None
                    } else {
                        article.file_name().and_then(|n| n.to_str())
                    }),
                    bytes: len,
                    what: "the article, byte for byte".into(),
                });
            }
        },
        None => sealed.push(DrySealed {
            path: metadata::article_path(None),
            bytes: 0,
            what: "standard input, byte for byte (not read in a dry run)".into(),
        }),
    }
    for p in &a.attachments {
        sealed.push(DrySealed {
            path: format!(
                "{}{}",
                metadata::ATTACHMENTS_DIR,
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ),
            bytes: std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            what: "attachment, byte for byte".into(),
        });
    }
    let report = DryRun {
        article: article.display().to_string(),
        kind,
        ok,
        fields,
        sealed,
        notes: inferred.notes.clone(),
    };
    // The verdict is known before the first write: a closed pipe exits with it.
    let code = if ok { 0 } else { super::EXIT_INVALID };
    output::set_earned(code);
    if a.json {
        output::print_json("dry_run", &report)?;
    } else {
        println!(
            "dry run: nothing written; {} would seal:",
            article.display()
        );
        for f in &report.fields {
            let v = match &f.value {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Array(a)) if a.is_empty() => "(none)".into(),
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(other) => other.to_string(),
                None => "(none)".into(),
            };
            let src = f.source.map(|s| format!(" [{s}]")).unwrap_or_default();
            println!("  {:<10} {v}{src}", f.field);
            if let Some(p) = &f.problem {
                println!("  {:<10} error: {p}", "");
            }
        }
        for s in &report.sealed {
            println!("  file       {} ({} bytes): {}", s.path, s.bytes, s.what);
        }
        for n in &report.notes {
            println!("  note       {n}");
        }
    }
    Ok(code)
}

fn options(limits: &LimitArgs, require_signers: usize) -> Options {
    let mut opts = Options::default();
    opts.limits = super::load::limits(limits);
    opts.require_signers = require_signers;
    opts
}

/// Verify `bundle` and copy its article's bytes into a temporary file, checked against the
/// digest verified. Returns the report (with the metadata) and the file.
fn verified_article(
    bundle: &Path,
    trust: &Trust,
    opts: &Options,
) -> docseal::Result<(Report, Metadata, std::fs::File)> {
    // A regular file (a FIFO or device is refused without blocking).
    let _ = docseal::input::open(bundle, docseal::input::Open::regular("bundle"))?;
    let report = verify::verify_path(bundle, Some(trust), opts);
    let refused = |summary: String| Error::Refused {
        path: bundle.to_path_buf(),
        summary,
    };
    if !report.ok {
        let codes: Vec<String> = report.error_codes().iter().map(|c| c.to_string()).collect();
        return Err(refused(codes.join(", ")));
    }
    let m = report
        .metadata
        .clone()
        .ok_or_else(|| refused("no metadata".into()))?;
    let want = report
        .files
        .iter()
        .find(|f| f.path == m.article_file)
        .and_then(|f| f.sha256.clone())
        .ok_or_else(|| refused("no article".into()))?;
    // Read again from the file verified (opened before verifying): the bytes copied must be
    // the ones verified.
    let (file, _) = docseal::input::open(bundle, docseal::input::Open::regular("bundle"))?;
    let len = file.metadata().map_err(|e| Error::io(bundle, e))?.len();
    let changed = || refused("it changed while being read".into());
    let mut r = &file;
    let entries = zipfmt::read_strict(&mut r, len, &opts.limits).map_err(|_| changed())?;
    let e = entries
        .iter()
        .find(|e| e.name == m.article_file)
        .ok_or_else(changed)?;
    let mut tmp = tempfile::tempfile().map_err(|e| Error::io("<temporary file>", e))?;
    let d = zipfmt::hash_entry(&mut r, e, Some(&mut tmp)).map_err(|err| Error::io(bundle, err))?;
    if hex(&d.sha256) != want {
        return Err(changed());
    }
    tmp.rewind().map_err(|e| Error::io("<temporary file>", e))?;
    Ok((report, m, tmp))
}

/// `docseal cat BUNDLE --trust K`: verify, then the article's exact bytes on standard output;
/// nothing on standard output when verification fails.
pub fn cat(a: CatArgs) -> Result<u8> {
    let trust = super::load::load_trust(&a.trust)?;
    let opts = options(&a.limits, a.require_signers);
    let (_, _, mut tmp) = verified_article(&a.bundle, &trust, &opts)?;
    // An article cut short by a closed pipe is not delivered: not a success.
    output::set_earned(super::EXIT_IO);
    let mut out = std::io::stdout().lock();
    std::io::copy(&mut tmp, &mut out).map_err(output::stdout_error)?;
    out.flush().map_err(output::stdout_error)?;
    output::set_earned(0);
    Ok(0)
}

#[derive(Serialize)]
struct FieldChange {
    field: String,
    old: serde_json::Value,
    new: serde_json::Value,
}

#[derive(Serialize)]
struct TextChange {
    /// Word index in the old text (from 0).
    old_word: usize,
    /// Word index in the new text.
    new_word: usize,
    deleted: String,
    inserted: String,
}

#[derive(Serialize)]
struct Side {
    path: String,
    id: String,
    content_sha256: String,
    article_sha256: String,
}

#[derive(Serialize)]
struct DiffReport {
    identical: bool,
    old: Side,
    new: Side,
    article_bytes_identical: bool,
    metadata: Vec<FieldChange>,
    text: Vec<TextChange>,
    /// When the readable text is the same: the changes in the rest of the page's visible text
    /// (word indexes in the whole page's text).
    page_text: Vec<TextChange>,
    notes: Vec<String>,
}

/// Most bytes of an article read for `diff`.
const DIFF_READ_MAX: u64 = 64 << 20;

fn side(path: &Path, r: &Report, m: &Metadata) -> Side {
    Side {
        path: path.display().to_string(),
        id: m.id.clone(),
        content_sha256: r.content_sha256.clone().unwrap_or_default(),
        article_sha256: r
            .files
            .iter()
            .find(|f| f.path == m.article_file)
            .and_then(|f| f.sha256.clone())
            .unwrap_or_default(),
    }
}

/// `docseal diff OLD NEW --trust K`: verify both, then the changes of metadata and text.
/// Exit 0 identical, 1 different; a bundle that fails verification is an error (exit 2).
// Longer than 80 lines: the two bundles verified and read, then each comparison in the order it
// is printed.
pub fn diff(a: DiffArgs) -> Result<u8> {
    let trust = super::load::load_trust(&a.trust)?;
    let opts = options(&a.limits, a.require_signers);
    let load = |p: &Path| -> Result<(Report, Metadata, Vec<u8>)> {
        let (r, m, f) = verified_article(p, &trust, &opts).map_err(|e| match e {
            // Exit 1 means "they differ" here, as for diff(1): a refused bundle is trouble.
            Error::Refused { path, summary } => {
                Error::invalid(path.display().to_string(), format!("refused: {summary}"))
            }
            e => e,
        })?;
        let mut bytes = Vec::new();
        f.take(DIFF_READ_MAX)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("<temporary file>", e))?;
        Ok((r, m, bytes))
    };
    let (ro, mo, bo) = load(&a.old)?;
    let (rn, mn, bn) = load(&a.new)?;
    let mut changes = Vec::new();
    let mut field = |field: &str, o: serde_json::Value, n: serde_json::Value| {
        if o != n {
            changes.push(FieldChange {
                field: field.to_string(),
                old: o,
                new: n,
            });
        }
    };
    use serde_json::json;
    field("headline", json!(mo.headline), json!(mn.headline));
    field("author", json!(mo.author), json!(mn.author));
    field("publisher", json!(mo.publisher), json!(mn.publisher));
    field(
        "datePublished",
        json!(mo.date_published),
        json!(mn.date_published),
    );
    field("url", json!(mo.url), json!(mn.url));
    field(
        "dateRetrieved",
        json!(mo.date_retrieved),
        json!(mn.date_retrieved),
    );
    field(
        "articleFile",
        json!(mo.article_file),
        json!(mn.article_file),
    );
    let att = |r: &Report, m: &Metadata| -> serde_json::Value {
        let v: Vec<serde_json::Value> = m
            .attachments
            .iter()
            .map(|n| {
                let d = r
                    .files
                    .iter()
                    .find(|f| &f.path == n)
                    .and_then(|f| f.sha256.clone());
                json!({"path": n, "sha256": d})
            })
            .collect();
        json!(v)
    };
    field("attachments", att(&ro, &mo), att(&rn, &mn));
    // Every other field of metadata.json (supersedes, and any a later format adds), but not
    // those about the sealing itself (a page sealed again later is the same article).
    const COMPARED: &[&str] = &[
        "headline",
        "author",
        "publisher",
        "datePublished",
        "url",
        "dateRetrieved",
        "articleFile",
        "attachments",
        "id",
        "dateSealed",
        "sealedWith",
    ];
    let (vo, vn) = (serde_json::to_value(&mo)?, serde_json::to_value(&mn)?);
    let mut keys: Vec<&String> = vo
        .as_object()
        .into_iter()
        .chain(vn.as_object())
        .flat_map(|o| o.keys())
        .filter(|k| !COMPARED.contains(&k.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let get = |v: &serde_json::Value| v.get(k.as_str()).cloned().unwrap_or_default();
        field(k, get(&vo), get(&vn));
    }
    let so = side(&a.old, &ro, &mo);
    let sn = side(&a.new, &rn, &mn);
    let same_bytes = so.article_sha256 == sn.article_sha256;
    let mut notes = Vec::new();
    let mut text = Vec::new();
    let mut page_text = Vec::new();
    if !same_bytes {
        let (to, mut n1) = ingest::readable_text(&mo.article_file, &bo);
        let (tn, mut n2) = ingest::readable_text(&mn.article_file, &bn);
        notes.append(&mut n1);
        notes.append(&mut n2);
        let wo: Vec<&str> = to.split_whitespace().collect();
        let wn: Vec<&str> = tn.split_whitespace().collect();
        text = word_changes(&wo, &wn);
        if text.is_empty() {
            // Said only when no visible text at all changed.
            let po = ingest::page_text(&mo.article_file, &bo);
            let pn = ingest::page_text(&mn.article_file, &bn);
            let wo: Vec<&str> = po.split_whitespace().collect();
            let wn: Vec<&str> = pn.split_whitespace().collect();
            page_text = word_changes(&wo, &wn);
            notes.push(if page_text.is_empty() {
                "the article's bytes differ, but not its text (markup, spacing or line ends changed)"
                    .into()
            } else {
                "the article's readable text is the same, but other text of the page changed (listed as page text)"
                    .into()
            });
        }
    }
    let identical = changes.is_empty() && same_bytes;
    let report = DiffReport {
        identical,
        old: so,
        new: sn,
        article_bytes_identical: same_bytes,
        metadata: changes,
        text,
        page_text,
        notes,
    };
    // The verdict is known before the first write: a closed pipe exits with it.
    let code = if identical { 0 } else { super::EXIT_FAILED };
    output::set_earned(code);
    if a.json {
        output::print_json("diff", &report)?;
    } else {
        print_diff(&report, &a)?;
    }
    Ok(code)
}

fn print_diff(r: &DiffReport, a: &DiffArgs) -> Result<()> {
    if r.identical {
        println!(
            "identical: {} and {} seal the same article and metadata",
            a.old.display(),
            a.new.display()
        );
        return Ok(());
    }
    println!("--- {} ({})", a.old.display(), r.old.id);
    println!("+++ {} ({})", a.new.display(), r.new.id);
    for c in &r.metadata {
        println!("metadata {}: {} -> {}", c.field, c.old, c.new);
    }
    if !r.article_bytes_identical {
        println!(
            "article: sha256 {} -> {}",
            r.old.article_sha256, r.new.article_sha256
        );
    }
    for t in &r.text {
        let mut s = format!("text at word {}:", t.old_word + 1);
        if !t.deleted.is_empty() {
            s.push_str(&format!(" [-{}-]", t.deleted));
        }
        if !t.inserted.is_empty() {
            s.push_str(&format!(" {{+{}+}}", t.inserted));
        }
        println!("{s}");
    }
    for t in &r.page_text {
        let mut s = format!("page text at word {}:", t.old_word + 1);
        if !t.deleted.is_empty() {
            s.push_str(&format!(" [-{}-]", t.deleted));
        }
        if !t.inserted.is_empty() {
            s.push_str(&format!(" {{+{}+}}", t.inserted));
        }
        println!("{s}");
    }
    for n in &r.notes {
        println!("note: {n}");
    }
    Ok(())
}

/// Most edits the word diff looks for; beyond, the differing middle is one change.
const MAX_EDITS: usize = 1000;
/// Bound on the word diff's steps (words times edits searched).
const MAX_DIFF_WORK: usize = 50_000_000;

/// The word-by-word changes from `a` to `b` (Myers' algorithm after the common start and end,
/// at most [`MAX_EDITS`] edits, else one change for the whole differing middle).
fn word_changes(a: &[&str], b: &[&str]) -> Vec<TextChange> {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    if ma.is_empty() && mb.is_empty() {
        return Vec::new();
    }
    // Myers' time is O((N + M) D): fewer edits are searched in long texts.
    let max_d = MAX_EDITS.min(MAX_DIFF_WORK / (ma.len() + mb.len()).max(1));
    let ops = myers(ma, mb, max_d).unwrap_or_else(|| {
        let mut v = vec![Op::Del; ma.len()];
        v.extend(std::iter::repeat_n(Op::Ins, mb.len()));
        v
    });
    // Group runs of edits into changes.
    let mut out: Vec<TextChange> = Vec::new();
    let (mut i, mut j) = (0usize, 0usize);
    let mut open = false;
    for op in ops {
        match op {
            Op::Same => {
                i += 1;
                j += 1;
                open = false;
            }
            Op::Del | Op::Ins => {
                if !open {
                    out.push(TextChange {
                        old_word: pre + i,
                        new_word: pre + j,
                        deleted: String::new(),
                        inserted: String::new(),
                    });
                    open = true;
                }
                let c = out.last_mut().expect("opened above");
                let (s, w) = if op == Op::Del {
                    i += 1;
                    (&mut c.deleted, ma[i - 1])
                } else {
                    j += 1;
                    (&mut c.inserted, mb[j - 1])
                };
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(w);
            }
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Ins,
}

/// Myers' O(ND) diff; `None` when more than `max_d` edits are needed. Memory O(D^2).
fn myers(a: &[&str], b: &[&str], max_d: usize) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let off = max_d as isize + 1;
    let mut v = vec![0isize; 2 * max_d + 3];
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=max_d as isize {
        for k in (-d..=d).step_by(2) {
            let idx = (k + off) as usize;
            let mut x = if k == -d || (k != d && v[idx - 1] < v[idx + 1]) {
                v[idx + 1]
            } else {
                v[idx - 1] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[idx] = x;
            if x >= n && y >= m {
                trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
                return Some(backtrack(&trace, n, m));
            }
        }
        trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
    }
    None
}

fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<Op> {
    // trace[d][k + d] is V[k] after step d.
    let get = |d: isize, k: isize| trace[d as usize][(k + d) as usize];
    let (mut x, mut y) = (n, m);
    let mut ops = Vec::new();
    for d in (1..trace.len() as isize).rev() {
        let k = x - y;
        let prev_k = if k == -d || (k != d && get(d - 1, k - 1) < get(d - 1, k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let px = get(d - 1, prev_k);
        let py = px - prev_k;
        while x > px && y > py {
            ops.push(Op::Same);
            x -= 1;
            y -= 1;
        }
        ops.push(if x == px { Op::Ins } else { Op::Del });
        x = px;
        y = py;
    }
    while x > 0 && y > 0 {
        ops.push(Op::Same);
        x -= 1;
        y -= 1;
    }
    ops.reverse();
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(a: &[&str], b: &[&str]) -> Vec<String> {
        word_changes(a, b)
            .iter()
            .map(|c| format!("{}:{}|{}", c.old_word, c.deleted, c.inserted))
            .collect()
    }

    #[test]
    fn issue16_word_diff() {
        let a: Vec<&str> = "the cat sat on the mat".split(' ').collect();
        let b: Vec<&str> = "the dog sat on a mat today".split(' ').collect();
        assert_eq!(apply(&a, &b), ["1:cat|dog", "4:the|a", "6:|today"]);
        assert!(apply(&a, &a).is_empty());
        assert_eq!(apply(&[], &["x"]), ["0:|x"]);
        // Beyond the edit cap: one change for the middle.
        let x: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
        let y: Vec<String> = (0..3000).map(|i| format!("y{i}")).collect();
        let xs: Vec<&str> = x.iter().map(String::as_str).collect();
        let ys: Vec<&str> = y.iter().map(String::as_str).collect();
        let c = word_changes(&xs, &ys);
        assert_eq!(c.len(), 1);
    }
}
