//! What the command line prints.

use docseal::finding::Severity;
use docseal::verify::{Report, SignerStatus};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Totals over a verification run.
#[derive(Default, Serialize)]
pub struct Summary {
    pub bundles: usize,
    pub passed: usize,
    pub failed: usize,
    /// Error findings by code.
    pub by_code: std::collections::BTreeMap<String, usize>,
}

impl Summary {
    pub fn add(&mut self, r: &Report) {
        self.bundles += 1;
        if r.ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
            *self.by_code.entry(f.code.to_string()).or_default() += 1;
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

pub fn write_summary(w: &mut dyn Write, s: &Summary) -> std::io::Result<()> {
    let codes: Vec<String> = s.by_code.iter().map(|(c, n)| format!("{c} x{n}")).collect();
    if codes.is_empty() {
        writeln!(w, "{} passed, {} failed", s.passed, s.failed)
    } else {
        writeln!(
            w,
            "{} passed, {} failed ({})",
            s.passed,
            s.failed,
            codes.join(", ")
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
            o.write_all(buf)?;
            o.flush()
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

pub fn print_json<T: Serialize + ?Sized>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
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

pub fn write_verify(w: &mut dyn Write, r: &Report, quiet: bool) -> std::io::Result<()> {
    if r.ok {
        if !quiet {
            writeln!(
                w,
                "OK      {}  {}  {}",
                r.path,
                r.id.as_deref().unwrap_or("-"),
                signer_summary(r)
            )?;
            // Say what the sealing time is: the signer's claim (docs/SECURITY.md).
            if let Some(m) = &r.metadata {
                writeln!(
                    w,
                    "  sealed {} by the signer's own account (the signature proves who sealed the bundle and that it has not changed since, not when)",
                    m.date_sealed
                )?;
            }
            super::timestamp::write_tokens(w, r, "  ")?;
        }
    } else {
        writeln!(w, "FAILED  {}", r.path)?;
    }
    for f in &r.findings {
        if f.severity == Severity::Error || !quiet {
            let tag = if f.severity == Severity::Warning {
                "warning "
            } else {
                ""
            };
            writeln!(w, "  {tag}{f}")?;
        }
    }
    Ok(())
}

pub fn print_inspect(r: &Report) {
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
    let _ = super::timestamp::write_tokens(&mut std::io::stdout(), r, "");
    for f in &r.findings {
        println!("problem: {f}");
    }
    println!("No trust decision was made: inspect does not know whom you trust. Use `docseal verify --trust KEY.pub`.");
}
