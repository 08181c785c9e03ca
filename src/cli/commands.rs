//! One function per subcommand: call the library, print, return the exit code.

use super::advice::as_flag;
use super::args::{
    Cli, CompletionsArgs, ExtractArgs, InspectArgs, KeygenArgs, ManArgs, PackArgs, VerifyArgs,
};
use super::load::{ask_passphrase, limits, load_secret_key, load_trust, slow_step};
use super::output;
use super::warnings::{article_len_warning, sealing_warnings, EMPTY_ARTICLE};
use anyhow::Context as _;
use anyhow::Result;
use docseal::keyfile;
use docseal::seal::SealRequest;
use docseal::verify::{self, Options, Trust};
use docseal::zipfmt::Limits;
use docseal::Error;
use std::path::Path;
use zeroize::Zeroizing;

/// Write `bytes` to standard output (a completion script, a manual page, a bundle).
fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(bytes).map_err(output::stdout_error)?;
    o.flush().map_err(output::stdout_error)?;
    Ok(())
}

pub fn completions(a: CompletionsArgs) -> Result<u8> {
    use clap::CommandFactory;
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut Cli::command(), "docseal", &mut buf);
    write_stdout(&buf)?;
    Ok(0)
}

pub fn man(a: ManArgs) -> Result<u8> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    for name in a.command.iter().flat_map(|c| c.split_whitespace()) {
        cmd = match cmd.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                return Err(Error::invalid(
                    name,
                    "no such command (see docseal --help for the list)",
                )
                .into())
            }
        };
    }
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(output::stdout_error)?;
    write_stdout(&buf)?;
    Ok(0)
}

/// `keygen` never replaces anything; say so (there is no --force to suggest).
fn keygen_exists(path: &Path) -> Result<u8> {
    eprintln!(
        "docseal: {}: already exists (keygen never replaces or follows an existing file or symlink; remove it or choose another PATH)",
        path.display()
    );
    Ok(super::EXIT_EXISTS)
}

/// `keygen me.key` (or `me.pub`) means the pair `me.key` and `me.pub`, not `me.key.key`.
fn key_base(path: &Path) -> std::path::PathBuf {
    match path.extension() {
        Some(x) if x == "key" || x == "pub" => path.with_extension(""),
        _ => path.to_path_buf(),
    }
}

const SHORT_PASSPHRASE: usize = 8;

pub fn keygen(a: KeygenArgs) -> Result<u8> {
    let base = key_base(&a.path);
    // Refuse an existing PATH.key or PATH.pub before asking for anything.
    let key_path = match keyfile::check_new_key_paths(&base) {
        Ok((k, _)) => k,
        Err(Error::Exists { path }) => return keygen_exists(&path),
        Err(e) => return Err(e.into()),
    };
    let pass: Option<Zeroizing<Vec<u8>>> = if a.no_passphrase {
        None
    } else if let Some(f) = &a.passphrase_file {
        Some(keyfile::read_passphrase_file(f)?)
    } else {
        if std::fs::File::open("/dev/tty").is_err() {
            return Err(Error::invalid(
                key_path.display().to_string(),
                "no terminal to ask for a passphrase on: give --passphrase-file FILE (or --no-passphrase for an unencrypted key); nothing was written",
            )
            .into());
        }
        let p1 = ask_passphrase("Passphrase for the new key: ", &key_path)?;
        let p2 = ask_passphrase("Passphrase again: ", &key_path)?;
        if p1 != p2 {
            return Err(Error::invalid(
                key_path.display().to_string(),
                "the two passphrases differ; nothing was written",
            )
            .into());
        }
        if p1.is_empty() {
            return Err(Error::invalid(
                key_path.display().to_string(),
                "empty passphrase; use --no-passphrase for an unencrypted key",
            )
            .into());
        }
        Some(p1)
    };
    if let Some(p) = &pass {
        let chars = String::from_utf8_lossy(p).chars().count();
        if chars < SHORT_PASSPHRASE {
            eprintln!(
                "docseal: warning: the passphrase has {chars} characters: one under {SHORT_PASSPHRASE} is easy to guess by anyone who gets a copy of {}",
                key_path.display()
            );
        }
        slow_step("deriving the key from the passphrase (scrypt)");
    }
    let (k, p, id) = match keyfile::generate(&base, pass.as_deref().map(|v| &v[..])) {
        Ok(r) => r,
        Err(Error::Exists { path }) => return keygen_exists(&path),
        Err(e) => return Err(e.into()),
    };
    println!("key id {id}");
    println!(
        "secret key: {} (keep it private; never share it)",
        k.display()
    );
    println!(
        "public key: {} (give it to verifiers: docseal verify --trust {})",
        p.display(),
        p.display()
    );
    Ok(0)
}

// Longer than 80 lines: the subcommand's steps in the order of its contract (flags checked, key
// read, article read, sealed to a file or to standard output, warnings, timestamps); each step
// is a call or a few lines.
pub fn pack(a: PackArgs) -> Result<u8> {
    for u in &a.tsa {
        docseal::timestamp::bundle::check_url(u)?;
    }
    if let Some(jobs) = &a.batch {
        let out_dir = a
            .out_dir
            .as_deref()
            .ok_or_else(|| Error::invalid("--out-dir", "required with --batch"))?;
        if docseal::store::is_s3(out_dir) {
            return super::s3out::pack_batch(&a, jobs, out_dir);
        }
        return super::batch::pack_batch(&a, jobs, out_dir);
    }
    // clap requires these without --batch.
    let need = |what: &str| Error::invalid(what, "required (or give --batch)");
    let article = a.article.clone().ok_or_else(|| need("ARTICLE"))?;
    if a.dry_run {
        return super::ingest::dry_run(&a, &article);
    }
    let out = a.out.clone().ok_or_else(|| need("--out"))?;
    let to_stdout = out.as_os_str() == "-";
    if to_stdout {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            return Err(Error::invalid(
                "--out -",
                "standard output is a terminal: redirect it to a file or a pipe (or give --out BUNDLE.zip)",
            )
            .into());
        }
    } else {
        check_out_path(&out)?;
    }
    if let Some(url) = &a.url {
        check_url(url)?;
    }
    if article.as_os_str() != "-" && !article.exists() {
        let s = article.to_string_lossy();
        if s.starts_with("http://") || s.starts_with("https://") || s.starts_with("www.") {
            return Err(Error::invalid(
                s.into_owned(),
                "ARTICLE is a file to seal, not a URL: docseal reads files and never fetches; save the page first (for example: curl -o article.html URL) and give that file, with the URL as --url",
            )
            .into());
        }
    }
    // The bundle corrected must be intact: checked before any passphrase is asked for.
    let supersedes = match &a.supersedes {
        Some(old) => Some(docseal::history::supersedes_link(old, &Limits::default())?),
        None => None,
    };
    // Metadata not given is read from the article; also before any passphrase is asked for.
    let p = super::ingest::prepare(&a, &article)?;
    let key = load_secret_key(&a.key_args())?;
    let article_len = match &p.article {
        docseal::seal::ArticleSource::Path(path) => std::fs::metadata(path).ok().map(|m| m.len()),
        docseal::seal::ArticleSource::Stdin => None,
    };
    let r = &p.resolved;
    let mut attachments = a.attachments.clone();
    attachments.extend(p.attachments.iter().cloned());
    let mut req = SealRequest::new(
        p.article.clone(),
        r.url.value.clone(),
        r.title.value.clone(),
        r.publisher.value.clone(),
        r.published.value.clone(),
    );
    req.authors = r
        .authors
        .as_ref()
        .map(|x| x.value.clone())
        .unwrap_or_default();
    req.retrieved = r.retrieved.as_ref().map(|x| x.value.clone());
    req.created = a.created.clone();
    req.attachments = attachments;
    req.supersedes = supersedes;
    let mut warnings = sealing_warnings(&req, chrono::Utc::now());
    // What reading the article noted (which WARC record was sealed, values passed over).
    warnings.extend(p.notes.iter().cloned());
    let mut stamped = None;
    let s = if to_stdout {
        // Sealed into a private temporary directory, then copied out: the same bytes as a
        // bundle file.
        let dir = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let tmp = dir.path().join("bundle.zip");
        let mut s = docseal::seal::seal_limited(&req, &key, &tmp, false, &limits(&a.limits))
            .map_err(as_flag)?;
        if article_len.is_none() {
            article_len_warning(&mut warnings, &verify::inspect(&tmp, &Options::default()));
        }
        // Tokens go into the bundle before it is written out: nothing has left yet, so a TSA
        // that fails leaves no bundle behind.
        if !a.tsa.is_empty() {
            stamped = Some(
                super::timestamp::stamp_quiet(&tmp, &a.tsa, &[], &Limits::default())
                    .context("nothing was written to standard output")?,
            );
        }
        let bytes = std::fs::read(&tmp).map_err(|e| Error::io(&tmp, e))?;
        s.size = bytes.len() as u64;
        // A bundle cut short by a closed pipe is not delivered: not a success.
        output::set_earned(super::EXIT_IO);
        write_stdout(&bytes)?;
        output::set_earned(0);
        s
    } else {
        let mut s = docseal::seal::seal_limited(&req, &key, &out, a.force, &limits(&a.limits))
            .map_err(as_flag)?;
        if article_len.is_none() {
            article_len_warning(&mut warnings, &verify::inspect(&out, &Options::default()));
        }
        if a.json && !a.tsa.is_empty() {
            // The record describes the bundle as it ends: with its tokens. The bundle is
            // sealed and in place; a TSA that fails now leaves it without a token, which the
            // error says, with the command that adds one later.
            stamped = Some(
                super::timestamp::stamp_quiet(&out, &a.tsa, &[], &Limits::default())
                    .with_context(|| no_token(&out))?,
            );
            s.size = std::fs::metadata(&out)
                .map_err(|e| Error::io(&out, e))?
                .len();
        }
        s
    };
    if article_len == Some(0) {
        warnings.insert(0, EMPTY_ARTICLE.into());
    }
    for w in &warnings {
        eprintln!("docseal: warning: {w}");
    }
    if report_sealed(&s, to_stdout, a.json, &warnings, stamped.as_ref())? {
        return Ok(0);
    }
    if !a.tsa.is_empty() {
        super::timestamp::stamp(&out, &a.tsa, &[], &Limits::default())
            .with_context(|| no_token(&out))?;
    }
    Ok(0)
}

/// The context of a TSA failure after the bundle was sealed in place.
fn no_token(out: &Path) -> String {
    format!(
        "{} is sealed but holds no timestamp token (add one later: docseal timestamp {} --tsa URL)",
        out.display(),
        out.display()
    )
}

/// pack's report of the bundle `s`: a JSON record (`json`) or text, on standard output, or on
/// standard error when standard output holds the bundle (`to_stdout`). Whether the run ends
/// here (a JSON record, or a bundle on standard output: no timestamp is asked for).
fn report_sealed(
    s: &docseal::seal::Sealed,
    to_stdout: bool,
    json: bool,
    warnings: &[String],
    stamped: Option<&super::timestamp::Stamped>,
) -> Result<bool> {
    let tokens: &[(String, String)] = stamped.map_or(&[], |t| &t.tokens);
    if json {
        #[derive(serde::Serialize)]
        struct Token<'a> {
            file: &'a str,
            token: &'a str,
        }
        #[derive(serde::Serialize)]
        struct SealedLine<'a> {
            path: String,
            id: &'a str,
            content_sha256: &'a str,
            key_id: String,
            size: u64,
            warnings: &'a [String],
            #[serde(skip_serializing_if = "Vec::is_empty")]
            timestamps: Vec<Token<'a>>,
        }
        let v = SealedLine {
            path: if to_stdout {
                "-".into()
            } else {
                s.path.display().to_string()
            },
            id: &s.id,
            content_sha256: &s.content_sha256,
            key_id: s.key_id.to_string(),
            size: s.size,
            warnings,
            timestamps: tokens
                .iter()
                .map(|(f, l)| Token { file: f, token: l })
                .collect(),
        };
        if to_stdout {
            // Standard output holds the bundle: the record goes to standard error.
            let text = serde_json::to_string(&output::Typed {
                kind: "sealed",
                value: &v,
            })?;
            let _ =
                std::io::Write::write_all(&mut std::io::stderr(), format!("{text}\n").as_bytes());
        } else {
            // "type" once: print_json adds it.
            output::print_json("sealed", &v)?;
        }
        return Ok(true);
    }
    if to_stdout {
        // Standard output holds the bundle: the report goes to standard error.
        eprintln!("sealed to standard output ({} bytes)", s.size);
        eprintln!("  id {}", s.id);
        eprintln!("  content sha256 {}", s.content_sha256);
        eprintln!("  signed by key {}", s.key_id);
        for (f, l) in tokens {
            eprintln!("  timestamped: {f}, {l}");
        }
        return Ok(true);
    }
    println!("sealed {} ({} bytes)", s.path.display(), s.size);
    println!("  id {}", s.id);
    println!("  content sha256 {}", s.content_sha256);
    println!("  signed by key {}", s.key_id);
    Ok(false)
}

/// `--out`: a file name in a directory that exists.
fn check_out_path(out: &Path) -> Result<()> {
    if out.is_dir() {
        return Err(Error::invalid(
            out.display().to_string(),
            "is a directory; --out takes the bundle's file name (for example DIR/NAME.zip); --force never replaces a directory",
        )
        .into());
    }
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::invalid(
            out.display().to_string(),
            format!("{} is not a directory", dir.display()),
        )
        .into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::invalid(
            out.display().to_string(),
            format!(
                "the directory {} does not exist (create it first: mkdir -p {})",
                dir.display(),
                dir.display()
            ),
        )
        .into()),
        Err(e) => Err(Error::io(dir, e).into()),
    }
}

/// `--url`: an absolute URL; one without a scheme gets a suggestion.
fn check_url(url: &str) -> Result<()> {
    if let Err(url::ParseError::RelativeUrlWithoutBase) = url::Url::parse(url) {
        return Err(Error::invalid(
            "--url",
            format!("{url:?} has no scheme; did you mean \"https://{url}\"?"),
        )
        .into());
    }
    Ok(())
}

// Longer than 80 lines: the subcommand's steps in the order of its contract (trust, options,
// paths found, archive evidence, standard input, reports in order, summary); each step is a
// call or a few lines.
pub fn verify(a: VerifyArgs) -> Result<u8> {
    let mut trust = load_trust(&a.trust)?;
    trust.add_archive_keys(&a.archive_keys)?;
    let mut opts = Options::default();
    opts.limits = limits(&a.limits);
    opts.require_signers = a.require_signers;
    opts.tsa_roots = super::timestamp::load_roots(&a.tsa_trust)?;
    opts.require_timestamp = a.require_timestamp;
    // A run cut short (a closed pipe) before every bundle was checked is not a success.
    output::set_earned(super::EXIT_FAILED);
    let mut summary = output::Summary::default();
    let threads = a.threads.unwrap_or_else(docseal::batch::default_threads);
    // Reports known before any bundle is verified: standard input (`-`), and the paths that
    // could not be read or searched. Then the bundles found.
    let mut first = Vec::new();
    let mut bundles = Vec::new();
    let mut stdin = false;
    // Paths given that hold no bundle at all (an empty or mistyped directory).
    let mut empty = Vec::new();
    for b in &a.bundles {
        if b.as_os_str() == "-" {
            if std::mem::replace(&mut stdin, true) {
                return Err(Error::invalid("-", "standard input can be given only once").into());
            }
            continue;
        }
        let found = if docseal::store::is_s3(b) {
            docseal::remote::discover(b)
        } else {
            verify::discover(b)
        };
        if found.problems.is_empty() && found.bundles.is_empty() {
            empty.push(b.display().to_string());
        }
        first.extend(found.problems);
        bundles.extend(found.bundles);
    }
    if !stdin && first.is_empty() && bundles.is_empty() && !a.allow_empty {
        let given: Vec<String> = a.bundles.iter().map(|b| b.display().to_string()).collect();
        eprintln!(
            "docseal: nothing to verify: no bundle (*.zip file or unzipped bundle directory) found in {} (give --allow-empty to accept that)",
            given.join(", ")
        );
        return Ok(super::EXIT_FAILED);
    }
    // Some paths hold bundles, these none: not a silent success.
    for e in &empty {
        if a.allow_empty {
            eprintln!("docseal: note: {e}: no bundle found in it");
        } else {
            eprintln!(
                "docseal: {e}: no bundle (*.zip file or unzipped bundle directory) found in it (give --allow-empty to accept that)"
            );
        }
    }
    // An archive log establishes when bundles existed, and lists bundles for supersedes checks.
    let mut known = Vec::new();
    // A copy of an archive in object storage lives until every bundle is verified (evidence
    // reads the archived copies).
    let mirror = match &a.archive {
        // Without `bundles/`: the archived copies of the bundles verified are fetched once
        // the log says which they are (below).
        Some(arch) => super::s3archive::Mirror::of_parts(arch, false, false, None)?,
        None => None,
    };
    if let Some(arch) = &a.archive {
        let mut kept = Vec::new();
        for k in &a.checkpoints {
            kept.extend(docseal::archive::read_kept(k)?);
        }
        // Only the entries these bundles concern are kept: memory grows with the bundles, not
        // with the archive (each bundle is read once more for it). A bundle from standard input
        // is not known yet: then every entry is kept.
        let mut interest = if stdin {
            docseal::archive::Interest::everything()
        } else {
            docseal::archive::Interest::default()
        };
        if !stdin {
            docseal::batch::verify_all(&bundles, &trust, &opts, threads, |item| {
                if let Some((_, r)) = item {
                    let sup = r.metadata.as_ref().and_then(|m| m.supersedes.as_ref());
                    interest.add(
                        r.content_sha256.as_deref(),
                        r.id.as_deref(),
                        sup.map(|s| (s.id.as_str(), s.sha256.as_str())),
                    );
                }
                Ok::<(), std::io::Error>(())
            })?;
        }
        // An archive in object storage: read through a local copy (cli/s3archive.rs).
        let at = mirror.as_ref().map_or(arch.as_path(), |m| m.path());
        let mut ev = super::s3archive::renamed(
            mirror.as_ref(),
            docseal::archive::evidence_for(at, &trust, &kept, &interest),
        )?;
        if let Some(m) = &mirror {
            let copies = ev
                .established
                .values()
                .flatten()
                .map(|c| (c.copy.as_path(), Some(c.file_sha256)));
            let known = ev
                .known
                .iter()
                .filter_map(|k| k.file.as_deref())
                .map(|f| (f, None));
            let max = verify::max_bundle_size(&opts.limits);
            let notes = m.fetch_bundles(copies.chain(known), max)?;
            ev.notes.extend(notes);
            // Reports name the archived bundles by the archive's s3:// location, never by the
            // private copy (removed when the command ends).
            for k in &mut ev.known {
                k.label = m.rename(&k.label);
            }
        }
        if !a.quiet {
            for n in &ev.notes {
                let n = mirror.as_ref().map_or_else(|| n.clone(), |m| m.rename(n));
                eprintln!("docseal: note: {}: {n}", arch.display());
            }
        }
        opts.established = ev.established;
        known = ev.known;
    }
    if stdin {
        first.insert(0, verify_stdin(Some(&trust), &opts)?);
    }
    let bar = output::progress(bundles.len() as u64, a.quiet, "bundles");
    let mut out = output::Out::new(&bar);
    for r in &first {
        summary.add(r);
        output::render_verify(&mut out.buf, r, a.json, a.quiet, &opts)?;
    }
    output::set_earned(summary.code().max(super::EXIT_FAILED));
    out.flush()?;
    if bundles.len() > 1 || a.archive.is_some() {
        // Supersedes links are checked across all the bundles (and the archive's): a report is
        // final once every bundle is verified. Bounded memory; output at the end.
        super::batch::verify_related(&a, &bundles, &trust, &opts, &known, &mut out, &mut summary)?;
    } else {
        docseal::batch::verify_all(&bundles, &trust, &opts, threads, |item| {
            let Some((_, r)) = item else {
                return out.flush();
            };
            bar.inc(1);
            summary.add(&r);
            output::render_verify(&mut out.buf, &r, a.json, a.quiet, &opts)?;
            out.flush_if_full()
        })?;
        bar.finish_and_clear();
    }
    // Every bundle is checked: the verdict stands whatever happens to the output.
    let mut code = summary.code();
    if !empty.is_empty() && !a.allow_empty {
        code = code.max(super::EXIT_FAILED);
    }
    output::set_earned(code);
    if a.json {
        let l = &opts.limits;
        let limits = serde_json::json!({
            "max_entries": l.max_entries,
            "max_file_size": l.max_file_size,
            "max_total_size": l.max_total_size,
        });
        #[derive(serde::Serialize)]
        struct SummaryLine<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            summary: &'a output::Summary,
            limits: serde_json::Value,
        }
        let line = SummaryLine {
            kind: "summary",
            summary: &summary,
            limits,
        };
        output::write_json_line(&mut out.buf, &line)?;
    } else if !a.quiet || summary.failed > 0 {
        output::write_summary(&mut out.buf, &summary, a.quiet)?;
    }
    out.flush()?;
    Ok(code)
}

/// Bytes of standard input read before deciding whether it can be a bundle.
const STDIN_SNIFF: u64 = 64 << 10;

/// A bundle read from standard input (`-`), copied to an unnamed temporary file as it comes,
/// up to the largest bundle the limits allow (one byte more is refused as
/// `limit.bundle_size`), then verified (`trust`) or inspected (`None`) as a bundle file.
fn verify_stdin(trust: Option<&Trust>, opts: &Options) -> Result<verify::Report> {
    use std::io::{Read, Seek};
    let label = std::path::Path::new("<standard input>");
    let mut tmp = tempfile::tempfile().map_err(|e| Error::io(label, e))?;
    let max = verify::max_bundle_size(&opts.limits);
    let mut input = std::io::stdin().lock();
    // A stream that does not start as a bundle does (a ZIP local file header) is read no
    // further than its first STDIN_SNIFF bytes: `/dev/zero` is refused at once, not after
    // the limits' tens of GiB.
    let mut head = Vec::new();
    (&mut input)
        .take(STDIN_SNIFF.min(max.saturating_add(1)))
        .read_to_end(&mut head)
        .map_err(|e| Error::io(label, e))?;
    std::io::Write::write_all(&mut tmp, &head).map_err(|e| Error::io(label, e))?;
    let mut len = head.len() as u64;
    if head.starts_with(b"PK\x03\x04") {
        len += std::io::copy(
            &mut input.take(max.saturating_add(1).saturating_sub(len)),
            &mut tmp,
        )
        .map_err(|e| Error::io(label, e))?;
    }
    tmp.rewind().map_err(|e| Error::io(label, e))?;
    Ok(verify::verify_reader("-", &mut tmp, len, trust, opts))
}

pub fn inspect(a: InspectArgs) -> Result<u8> {
    let mut opts = Options::default();
    opts.limits = limits(&a.limits);
    let r = if a.bundle.as_os_str() == "-" {
        verify_stdin(None, &opts)?
    } else {
        verify::inspect(&a.bundle, &opts)
    };
    let code = if r.ok { 0 } else { super::EXIT_FAILED };
    output::set_earned(code);
    if a.json {
        output::print_json("bundle", &r)?;
        return Ok(code);
    }
    // A path that cannot be read, or a file that is not a bundle at all: one line, as verify.
    let codes = r.error_codes();
    if let [only] = codes[..] {
        let f = r.findings.iter().find(|f| f.code == only);
        let why = f.map(|f| f.message.as_str()).unwrap_or_default();
        if only == docseal::finding::Code::IoRead {
            output::set_earned(super::EXIT_IO);
            eprintln!("docseal: {why}");
            return Ok(super::EXIT_IO);
        }
        if only == docseal::finding::Code::ZipNotZip {
            eprintln!(
                "docseal: {}: not a docseal bundle (not a ZIP file, nor a directory with bagit.txt): {why}",
                r.path
            );
            return Ok(super::EXIT_FAILED);
        }
    }
    output::print_inspect(&r)?;
    Ok(code)
}

pub fn extract(a: ExtractArgs) -> Result<u8> {
    let trust = load_trust(&a.trust)?;
    let mut opts = Options::default();
    opts.limits = limits(&a.limits);
    opts.require_signers = a.require_signers;
    let r = match verify::extract(&a.bundle, &trust, &opts, &a.out, a.force) {
        Err(Error::Refused { .. }) => {
            // Say why, as verify does: the bundle's error findings, one per line.
            let report = verify::verify_path(&a.bundle, Some(&trust), &opts);
            eprintln!(
                "docseal: {}: refused (it does not verify), nothing extracted:",
                a.bundle.display()
            );
            for f in report
                .findings
                .iter()
                .filter(|f| f.severity == docseal::finding::Severity::Error)
            {
                eprintln!("  {f}");
            }
            return Ok(super::EXIT_FAILED);
        }
        r => r?,
    };
    println!(
        "verified {} and extracted {} files under {}",
        a.bundle.display(),
        r.files.len(),
        a.out.display()
    );
    Ok(0)
}
