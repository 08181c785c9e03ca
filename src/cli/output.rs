//! What the command line prints.

use docseal::finding::Severity;
use docseal::verify::{Report, SignerStatus};
use serde::Serialize;
use std::io::Write;

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
}

pub fn print_summary(s: &Summary) {
    let codes: Vec<String> = s.by_code.iter().map(|(c, n)| format!("{c} x{n}")).collect();
    if codes.is_empty() {
        println!("{} passed, {} failed", s.passed, s.failed);
    } else {
        println!(
            "{} passed, {} failed ({})",
            s.passed,
            s.failed,
            codes.join(", ")
        );
    }
}

/// One compact JSON object on one line (JSON Lines).
pub fn print_json_line<T: Serialize + ?Sized>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    writeln!(out)?;
    Ok(())
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

pub fn print_verify(r: &Report, quiet: bool) {
    if r.ok {
        if !quiet {
            println!(
                "OK      {}  {}  {}",
                r.path,
                r.id.as_deref().unwrap_or("-"),
                signer_summary(r)
            );
        }
    } else {
        println!("FAILED  {}", r.path);
    }
    for f in &r.findings {
        if f.severity == Severity::Error || !quiet {
            let tag = if f.severity == Severity::Warning {
                "warning "
            } else {
                ""
            };
            println!("  {tag}{f}");
        }
    }
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
    for f in &r.findings {
        println!("problem: {f}");
    }
    println!("No trust decision was made: inspect does not know whom you trust. Use `docseal verify --trust KEY.pub`.");
}
