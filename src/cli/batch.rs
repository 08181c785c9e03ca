//! `docseal pack --batch JOBS.jsonl --key PATH.key --out-dir DIR`: the jobs run in parallel
//! (library: `docseal::batch`); one report line per job, in line order, then a summary.

use super::args::PackArgs;
use super::commands::load_secret_key;
use super::output;
use anyhow::Result;
use docseal::batch::{self, Batch, JobReader, Outcome};
use docseal::Error;
use std::io::{BufReader, Read, Write};
use std::path::Path;

#[derive(Default)]
struct Totals {
    sealed: usize,
    skipped: usize,
    failed: usize,
    /// The exit code of the first failed job.
    code: Option<u8>,
}

fn exit_code(o: &Outcome) -> u8 {
    match o {
        Outcome::Conflict { .. } => super::EXIT_EXISTS,
        Outcome::Failed(Error::Io { .. }) => super::EXIT_IO,
        Outcome::Failed(Error::Exists { .. }) => super::EXIT_EXISTS,
        _ => super::EXIT_INVALID,
    }
}

/// Lines in a file (for the progress bar's length).
fn count_lines(path: &Path) -> u64 {
    let Ok(mut f) = std::fs::File::open(path) else {
        return 0;
    };
    let mut buf = vec![0u8; 1 << 16];
    let (mut n, mut last) = (0u64, b'\n');
    while let Ok(k) = f.read(&mut buf) {
        if k == 0 {
            break;
        }
        n += buf[..k].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[k - 1];
    }
    n + u64::from(last != b'\n')
}

pub fn pack_batch(a: &PackArgs, jobs: &Path) -> Result<u8> {
    let out_dir = a
        .out_dir
        .as_deref()
        .ok_or_else(|| Error::invalid("--out-dir", "required with --batch"))?;
    let file = std::fs::File::open(jobs).map_err(|e| Error::io(jobs, e))?;
    if file.metadata().map_err(|e| Error::io(jobs, e))?.is_dir() {
        return Err(Error::invalid(
            jobs.display().to_string(),
            "is a directory, not a jobs file",
        )
        .into());
    }
    let key = load_secret_key(&a.key)?;
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let base = match jobs.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let runner = Batch::new(&key, base, out_dir);
    let threads = a.threads.unwrap_or_else(|| 4 * batch::default_threads());
    let bar = output::progress(0, a.quiet, "lines");
    if !bar.is_hidden() {
        bar.set_length(count_lines(jobs));
    }
    let mut out = output::Out::new(&bar);
    let mut t = Totals::default();
    let reader = JobReader::new(BufReader::with_capacity(1 << 16, file));
    batch::ordered_parallel(
        reader,
        threads,
        |(line, parsed)| {
            let (path, outcome) = match parsed {
                Ok(p) => runner.run(p),
                Err(e) => (None, Outcome::Failed(Error::io(jobs, e))),
            };
            (line, path, outcome)
        },
        |item| {
            let Some((_, (line, path, outcome))) = item else {
                return out.flush();
            };
            let w = &mut out.buf;
            let shown = path.as_deref().map(|p| p.display().to_string());
            let shown = shown.as_deref().unwrap_or("-");
            match &outcome {
                Outcome::Sealed(s) => {
                    t.sealed += 1;
                    if !a.quiet {
                        writeln!(w, "sealed   line {line}  {shown}  {}", s.id)?;
                    }
                }
                Outcome::AlreadySealed { id, .. } => {
                    t.skipped += 1;
                    if !a.quiet {
                        writeln!(w, "skipped  line {line}  {shown}  already sealed ({id})")?;
                    }
                }
                Outcome::Conflict { why, .. } => {
                    t.failed += 1;
                    writeln!(w, "FAILED   line {line}  {shown}  {why}; not replaced")?;
                }
                Outcome::Failed(e) => {
                    t.failed += 1;
                    let msg = match e {
                        // A refused line: the problem says it all.
                        Error::Invalid { what, problem } if what == "job" => problem.clone(),
                        e => e.to_string(),
                    };
                    let msg = msg.replace('\n', " ");
                    writeln!(w, "FAILED   line {line}  {msg}")?;
                }
            }
            if !outcome.is_ok() && t.code.is_none() {
                t.code = Some(exit_code(&outcome));
            }
            bar.inc(1);
            out.flush_if_full()
        },
    )?;
    bar.finish_and_clear();
    if !a.quiet || t.failed > 0 {
        writeln!(
            out.buf,
            "{} sealed, {} skipped, {} failed",
            t.sealed, t.skipped, t.failed
        )?;
    }
    out.flush()?;
    Ok(t.code.unwrap_or(0))
}
