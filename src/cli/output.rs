//! What the command line prints.

use docseal::finding::Severity;
use docseal::verify::{Report, SignerStatus};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// Whether a character must not reach a terminal as it is: C0 controls, DEL, C1 controls
/// (escape sequences, bells, line breaks), the bidirectional controls and invisible
/// characters `pack` refuses ([`docseal::metadata::is_bidi_or_invisible`], the shared list),
/// and the zero-width (non-)joiners U+200C, U+200D.
fn unsafe_on_terminal(c: char) -> bool {
    c.is_control()
        || docseal::metadata::is_bidi_or_invisible(c)
        || matches!(c, '\u{200c}' | '\u{200d}')
}

/// Text made safe to show on a terminal: every character that could move the cursor, change
/// colours or the title, ring the bell, start a new line or reorder the text is shown as an
/// escape (`\n`, `\t`, `\r`, `\u{1b}`). The one escaping function of the command line's text
/// output; JSON output is never escaped this way (it stays exact).
pub fn term(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_on_terminal) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if unsafe_on_terminal(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// One line of text into `w`: `args` escaped with [`term`] (line breaks in it included),
/// then a line break.
pub fn line(w: &mut dyn Write, args: std::fmt::Arguments) -> std::io::Result<()> {
    let s = std::fmt::format(args);
    w.write_all(term(&s).as_bytes())?;
    w.write_all(b"\n")
}

/// A failed write to standard output, saying so (the kind is kept: a closed pipe stays
/// [`std::io::ErrorKind::BrokenPipe`]).
pub fn stdout_error(e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("standard output: {e}"))
}

/// `println!` of the command line: one escaped line on standard output; an error when the
/// write fails.
pub fn line_out(args: std::fmt::Arguments) -> std::io::Result<()> {
    line(&mut std::io::stdout().lock(), args).map_err(stdout_error)
}

/// `eprintln!` of the command line: one escaped line on standard error; a failed write is
/// ignored (there is nowhere left to report it).
pub fn line_err(args: std::fmt::Arguments) {
    let _ = line(&mut std::io::stderr().lock(), args);
}

/// The exit code the run has earned so far: what a run cut short by a closed pipe exits with.
static EARNED: AtomicU8 = AtomicU8::new(0);

/// Record the exit code the run has earned so far (see [`earned`]).
pub fn set_earned(code: u8) {
    EARNED.store(code, Ordering::SeqCst);
}

/// The exit code the run has earned so far.
pub fn earned() -> u8 {
    EARNED.load(Ordering::SeqCst)
}

/// Totals over a verification run.
#[derive(Default, Serialize)]
pub struct Summary {
    pub bundles: usize,
    pub passed: usize,
    pub failed: usize,
    /// Error findings by code.
    pub by_code: std::collections::BTreeMap<String, usize>,
    /// Failed reports whose every error is an `io.*` finding (a path that could not be read).
    #[serde(skip)]
    pub unreadable: usize,
}

/// Whether every error finding of a failed report is an `io.*` one.
fn only_io(r: &Report) -> bool {
    !r.ok
        && r.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .all(|f| f.code.as_str().starts_with("io."))
}

impl Summary {
    pub fn add(&mut self, r: &Report) {
        self.bundles += 1;
        if r.ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        if only_io(r) {
            self.unreadable += 1;
        }
        for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
            *self.by_code.entry(f.code.to_string()).or_default() += 1;
        }
    }

    /// The exit code of the bundles counted: 0 when all passed; 1 when one failed
    /// verification; 4 when the only failures are paths that could not be read.
    pub fn code(&self) -> u8 {
        if self.failed == 0 {
            0
        } else if self.failed > self.unreadable {
            super::EXIT_FAILED
        } else {
            super::EXIT_IO
        }
    }

    /// Take back what [`Summary::add`] counted for `r`.
    pub fn remove(&mut self, r: &Report) {
        self.bundles = self.bundles.saturating_sub(1);
        if r.ok {
            self.passed = self.passed.saturating_sub(1);
        } else {
            self.failed = self.failed.saturating_sub(1);
        }
        if only_io(r) {
            self.unreadable = self.unreadable.saturating_sub(1);
        }
        for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
            let code = f.code.to_string();
            if let Some(n) = self.by_code.get_mut(&code) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.by_code.remove(&code);
                }
            }
        }
    }
}

/// The caveat on sealing times, said once per run in the summary.
pub const SEALING_TIME_CAVEAT: &str = "sealing times are the signer's own account: a signature proves who sealed a bundle and that it has not changed since, not when";

/// The totals of a verify run; before them, unless `quiet`, the sealing-time caveat (once for
/// the run, when a bundle passed).
pub fn write_summary(w: &mut dyn Write, s: &Summary, quiet: bool) -> std::io::Result<()> {
    if s.passed > 0 && !quiet {
        line(w, format_args!("note: {SEALING_TIME_CAVEAT}"))?;
    }
    let codes: Vec<String> = s.by_code.iter().map(|(c, n)| format!("{c} x{n}")).collect();
    if codes.is_empty() {
        line(w, format_args!("{} passed, {} failed", s.passed, s.failed))
    } else {
        line(
            w,
            format_args!(
                "{} passed, {} failed ({})",
                s.passed,
                s.failed,
                codes.join(", ")
            ),
        )
    }
}

/// A progress bar on standard error, shown only when standard error is a terminal and not
/// `quiet`.
pub fn progress(len: u64, quiet: bool, unit: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{bar:40}} {{pos}}/{{len}} {unit}, {{elapsed}}, eta {{eta}}"
    )) {
        bar.set_style(style);
    }
    bar
}

/// Standard output for a run with a progress bar: lines collect in `buf` and are written out
/// when the run has caught up (or `buf` is large), with the bar hidden meanwhile when both
/// go to the same terminal.
pub struct Out<'a> {
    pub buf: Vec<u8>,
    bar: &'a ProgressBar,
    suspend: bool,
}

impl<'a> Out<'a> {
    pub fn new(bar: &'a ProgressBar) -> Self {
        Out {
            buf: Vec::with_capacity(1 << 16),
            bar,
            suspend: !bar.is_hidden() && std::io::stdout().is_terminal(),
        }
    }

    /// Write out what was collected.
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let write = |buf: &[u8]| {
            let mut o = std::io::stdout().lock();
            o.write_all(buf).map_err(stdout_error)?;
            o.flush().map_err(stdout_error)
        };
        if self.suspend {
            self.bar.suspend(|| write(&self.buf))?;
        } else {
            write(&self.buf)?;
        }
        self.buf.clear();
        Ok(())
    }

    /// The progress bar.
    pub fn bar(&self) -> &ProgressBar {
        self.bar
    }

    /// Write out what was collected when it is large.
    pub fn flush_if_full(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= 1 << 16 {
            self.flush()
        } else {
            Ok(())
        }
    }
}

/// One compact JSON object on one line (JSON Lines), to `w`.
pub fn write_json_line<T: Serialize + ?Sized>(w: &mut dyn Write, v: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, v)?;
    writeln!(w)
}

/// A JSON object with its `"type"` first (docs/VERIFY.md, "JSON output"): every object
/// docseal prints says what it is.
#[derive(Serialize)]
pub struct Typed<'a, T: Serialize + ?Sized> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub value: &'a T,
}

/// One JSON object (pretty, with its `"type"`) on standard output.
pub fn print_json<T: Serialize + ?Sized>(kind: &'static str, v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut text = serde_json::to_vec_pretty(&Typed { kind, value: v })?;
    text.push(b'\n');
    out.write_all(&text).map_err(stdout_error)?;
    out.flush().map_err(stdout_error)?;
    Ok(())
}

fn signer_summary(r: &Report) -> String {
    let s: Vec<String> = r
        .signers
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                SignerStatus::Trusted | SignerStatus::ValidUntrusted
            )
        })
        .map(|s| match &s.name {
            Some(n) => format!("{} ({n})", s.key_id),
            None => s.key_id.clone(),
        })
        .collect();
    if s.is_empty() {
        "no valid signature".into()
    } else {
        format!("signed by {}", s.join(", "))
    }
}

/// The time an archive checkpoint shows `r`'s bundle existed by, if `opts` has one.
pub fn established(opts: &docseal::verify::Options, r: &Report) -> Option<String> {
    let t = opts
        .established
        .get(r.content_sha256.as_deref()?)?
        .iter()
        .map(|c| c.time)
        .min()?;
    Some(docseal::metadata::format_sealed(t))
}

/// A bundle's report in a verify run: a JSON line (with `"type": "bundle"`) or text.
pub fn render_verify(
    w: &mut dyn Write,
    r: &Report,
    json: bool,
    quiet: bool,
    opts: &docseal::verify::Options,
) -> std::io::Result<()> {
    if json {
        // The library's record: the page `docseal web` writes returns the same (issue 15).
        write_json_line(w, &docseal::verify::BundleRecord(r))
    } else {
        write_verify(w, r, quiet, established(opts, r).as_deref())
    }
}

/// One bundle's report as text: one short `OK` line for a bundle that passed (who signed, the
/// sealing time, and the independent evidence used, if any), or `FAILED` and its findings.
/// `established`: the time an archive checkpoint shows the bundle existed by, if one does.
pub fn write_verify(
    w: &mut dyn Write,
    r: &Report,
    quiet: bool,
    established: Option<&str>,
) -> std::io::Result<()> {
    if r.ok {
        if !quiet {
            let sealed = r
                .metadata
                .as_ref()
                .map(|m| format!(", sealed {}", m.date_sealed))
                .unwrap_or_default();
            let evidence = established
                .map(|t| format!(", archived by {t} (archive checkpoint)"))
                .unwrap_or_default();
            line(
                w,
                format_args!(
                    "OK      {}  {}{sealed}{evidence}",
                    r.path,
                    signer_summary(r)
                ),
            )?;
            write_tokens(w, r, "  ")?;
        }
    } else {
        line(w, format_args!("FAILED  {}", r.path))?;
    }
    for f in &r.findings {
        if f.severity == Severity::Error || !quiet {
            let tag = if f.severity == Severity::Warning {
                "warning "
            } else {
                ""
            };
            line(w, format_args!("  {tag}{f}"))?;
        }
    }
    Ok(())
}

pub fn print_inspect(r: &Report) -> std::io::Result<()> {
    println!("bundle   {}", r.path);
    if let Some(m) = &r.metadata {
        println!("id       {}", m.id);
        println!("title    {}", m.headline);
        for a in &m.author {
            println!("author   {a}");
        }
        println!("publisher {}", m.publisher);
        println!("published {}", m.date_published);
        println!("url      {}", m.url);
        if let Some(t) = &m.date_retrieved {
            println!("retrieved {t}");
        }
        println!("sealed   {} (as asserted by the signer)", m.date_sealed);
        println!("tool     {}", m.sealed_with);
        if let Some(s) = &m.supersedes {
            println!("supersedes {} (content sha256 {})", s.id, s.sha256);
        }
    }
    if let Some(c) = &r.content_sha256 {
        println!("content sha256 {c}");
    }
    println!("files:");
    for f in &r.files {
        println!(
            "  {:>12}  {}  {}",
            f.size,
            f.sha256.as_deref().unwrap_or("-"),
            f.path
        );
    }
    println!("signatures:");
    for s in &r.signers {
        let what = match s.status {
            SignerStatus::ValidUntrusted => "checks out against the key the bundle names",
            SignerStatus::Trusted => "valid, trusted",
            SignerStatus::Unknown => "cannot be checked: the bundle does not name a usable key",
            SignerStatus::Invalid => "does NOT check out",
            SignerStatus::Refused => "valid, but the trust file refuses this key for this bundle",
        };
        println!("  key {}  {}  ({})", s.key_id, what, s.file);
    }
    let _ = write_tokens(&mut std::io::stdout(), r, "");
    for f in &r.findings {
        println!("problem: {f}");
    }
    println!("No trust decision was made: inspect does not know whom you trust. Use `docseal verify --trust KEY.pub`.");
    Ok(())
}

/// The token lines of a verify or inspect report (nothing for a v1 bundle).
pub fn write_tokens(w: &mut dyn Write, r: &Report, indent: &str) -> std::io::Result<()> {
    // Certificate subjects are hostile input: every line goes through the terminal escaping.
    let mut out = |args: std::fmt::Arguments| line(w, args);
    if r.timestamps.is_empty() {
        return Ok(());
    }
    out(format_args!(
        "{indent}format v{} (RFC 3161 timestamp tokens):",
        r.format
    ))?;
    for t in &r.timestamps {
        let trust = match t.trusted {
            Some(true) => format!("trusted (root {})", t.root.as_deref().unwrap_or("-")),
            Some(false) => "NOT trusted".to_string(),
            None => "no trust decision".to_string(),
        };
        out(format_args!(
            "{indent}  token {}: {}",
            t.file,
            token_text(t, &trust)
        ))?;
    }
    for e in &r.evidence {
        out(format_args!("{indent}evidence: {e}"))?;
    }
    Ok(())
}

/// What a token says, for its line: `genTime ... by TSA ...; TRUST`, or that it is invalid.
fn token_text(t: &docseal::verify::evidence::TimestampInfo, trust: &str) -> String {
    match (&t.gen_time, &t.tsa) {
        (Some(g), Some(s)) => format!(
            "genTime {g}{} by TSA {s}; {trust}",
            t.accuracy
                .as_deref()
                .map(|a| format!(" {a}"))
                .unwrap_or_default()
        ),
        _ => "invalid (see the problems)".to_string(),
    }
}

/// The checkpoint token lines of `archive audit` (nothing when the archive has none).
pub fn write_checkpoint_tokens(
    w: &mut dyn Write,
    tokens: &[docseal::timestamp::checkpoint::CheckpointToken],
) -> std::io::Result<()> {
    // Certificate subjects are hostile input: every line goes through the terminal escaping.
    let mut out = |args: std::fmt::Arguments| line(w, args);
    for c in tokens {
        let t = &c.token;
        let trust = match t.trusted {
            Some(true) => format!("trusted (root {})", t.root.as_deref().unwrap_or("-")),
            _ => "NOT trusted".to_string(),
        };
        out(format_args!(
            "  checkpoint {} token {}: {}",
            c.checkpoint,
            t.file,
            token_text(t, &trust)
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::term;

    #[test]
    fn issue19_item8_term_escapes_controls_bidi_and_separators() {
        assert_eq!(term("plain café ü"), "plain café ü");
        assert_eq!(
            term("a\u{1b}]0;x\u{7}b\nOK\t\r"),
            "a\\u{1b}]0;x\\u{7}b\\nOK\\t\\r"
        );
        for c in [
            '\u{0}', '\u{7f}', '\u{85}', '\u{9b}', '\u{61c}', '\u{200b}', '\u{200e}', '\u{2028}',
            '\u{2029}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{feff}',
        ] {
            let s = format!("x{c}y");
            let t = term(&s);
            assert!(!t.contains(c), "U+{:04X}", c as u32);
            assert!(t.starts_with("x\\u{") && t.ends_with("}y"), "{t}");
        }
    }
}
