//! Many bundles at once on the command line (library: `docseal::batch`):
//! `docseal pack --batch JOBS.jsonl --key PATH.key --out-dir DIR` (one report line per job, in
//! line order, then a summary), and `verify` of many bundles whose supersedes links are
//! checked across all of them.

use super::args::{PackArgs, VerifyArgs};
use super::load::{limits, load_secret_key};
use super::output;
use anyhow::Result;
use docseal::batch::{self, Batch, JobReader, Outcome, RelatedOutput};
use docseal::verify::{KnownBundle, Options, Report, Trust};
use docseal::Error;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Default)]
struct Totals {
    sealed: usize,
    skipped: usize,
    failed: usize,
    /// The exit code of the first failed job.
    code: Option<u8>,
    /// Bundles sealed now (to timestamp with --tsa).
    sealed_paths: Vec<PathBuf>,
}

fn exit_code(o: &Outcome) -> u8 {
    match o {
        Outcome::Conflict { .. } => super::EXIT_EXISTS,
        Outcome::Failed(Error::Io { .. }) => super::EXIT_IO,
        Outcome::Failed(Error::Exists { .. }) => super::EXIT_EXISTS,
        _ => super::EXIT_INVALID,
    }
}

/// A job's line number and the warnings about what it seals.
type JobLine = (usize, Vec<String>);

/// The sealing warnings of a job ([`super::warnings::sealing_warnings`], and an empty
/// article).
fn job_warnings(
    runner: &Batch,
    job: &batch::Job,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<String> {
    // A job whose request cannot be made fails when it runs, with its own error.
    let Ok(req) = runner.request(job) else {
        return Vec::new();
    };
    let mut w = super::warnings::sealing_warnings(&req, now);
    if let docseal::seal::ArticleSource::Path(p) = &req.article {
        if std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == 0) {
            w.insert(0, super::warnings::EMPTY_ARTICLE.into());
        }
    }
    w
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

/// `pack --batch JOBS --out-dir DIR` into a local directory (an `s3://` one: cli/s3out.rs).
pub fn pack_batch(a: &PackArgs, jobs: &Path, out_dir: &Path) -> Result<u8> {
    // A regular file: a FIFO or device (`/dev/zero`) is refused, never read.
    let (file, _) = docseal::input::open(jobs, docseal::input::Open::regular("jobs file"))?;
    let key = load_secret_key(&a.key_args())?;
    // Made by this run: removed again if no bundle ends up in it.
    let made_dir = !out_dir.exists();
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let res = pack_batch_into(a, jobs, file, &key, out_dir, &mut |done| done);
    if made_dir {
        // Only an empty directory is removed (a failed run leaves no empty folder behind).
        let _ = std::fs::remove_dir(out_dir);
    }
    res
}

/// Settled jobs, before they are reported: `pack --batch --out-dir s3://...` publishes them
/// there (cli/s3out.rs); a local run leaves them as they are.
pub type Publish<'a> =
    dyn FnMut(Vec<(Option<PathBuf>, Outcome)>) -> Vec<(Option<PathBuf>, Outcome)> + Send + 'a;

// Longer than 80 lines: the reporting loop of `pack --batch`: the settle-and-report state (held
// jobs, jobs in place, totals, output) is local to the loop driven by the thread pool.
pub fn pack_batch_into(
    a: &PackArgs,
    jobs: &Path,
    file: std::fs::File,
    key: &docseal::minisign::SecretKey,
    out_dir: &Path,
    publish: &mut Publish<'_>,
) -> Result<u8> {
    let base = match jobs.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut runner = Batch::new(key, base, out_dir)?;
    runner.set_limits(limits(&a.limits));
    if let Some(dir) = &a.base {
        runner.confine_to(dir)?;
    }
    let threads = a
        .threads
        .unwrap_or_else(|| batch::SEAL_THREADS_PER_CORE * batch::default_threads());
    let bar = output::progress(0, a.quiet, "lines");
    if !bar.is_hidden() {
        bar.set_length(count_lines(jobs));
    }
    let mut out = output::Out::new(&bar);
    let mut t = Totals::default();
    // Until every job is sealed and reported, a run cut short by a closed pipe is not a
    // success (jobs may remain unsealed): exit 4.
    output::set_earned(super::EXIT_IO);
    let reader = JobReader::new(BufReader::with_capacity(1 << 16, file));
    // Jobs written, not yet in place (their lines, and the jobs), in order; and the jobs in
    // place before them whose names are not yet durable. Each sync (a cycle) makes the first
    // durable and puts them in place, and makes the names of the second durable: those are
    // then reported. The other threads seal the next jobs meanwhile.
    let mut held: (Vec<JobLine>, Vec<batch::Deferred>) = Default::default();
    let mut in_place: (Vec<JobLine>, batch::InPlace) = Default::default();
    let now = chrono::Utc::now();
    let res = batch::ordered_parallel_window(
        reader,
        threads,
        batch::SEAL_WINDOW,
        |(line, parsed)| {
            // Up to the bundle written; put in place and reported later.
            let mut warnings = Vec::new();
            let job = match parsed {
                Ok(p) => {
                    if let batch::Parsed::Job { job, .. } = &p {
                        warnings = job_warnings(&runner, job, now);
                    }
                    runner.run_deferred(p)
                }
                Err(e) => batch::Deferred::done(Outcome::Failed(Error::io(jobs, e))),
            };
            ((line, warnings), job)
        },
        |item| {
            // A step when no more jobs are ready (or many are held).
            let caught_up = match item {
                Some((_, (line, job))) => {
                    held.0.push(line);
                    held.1.push(job);
                    if held.1.len() < batch::SETTLE_AT {
                        return Ok(());
                    }
                    false
                }
                None => true,
            };
            if !held.1.is_empty() || (caught_up && !in_place.1.is_empty()) {
                // Few jobs ready: the jobs come slowly (or the file ends), so this step's jobs
                // are reported now, with a second sync, rather than when more jobs come.
                let slow = caught_up && held.1.len() <= threads;
                let (lines, written) = std::mem::take(&mut held);
                let (prev_lines, prev) = std::mem::take(&mut in_place);
                let (done, now) = runner.cycle(prev, written);
                let mut steps = vec![(prev_lines, done)];
                if slow && !now.is_empty() {
                    steps.push((lines, runner.finish(now)));
                } else {
                    in_place = (lines, now);
                }
                for (lines, done) in steps {
                    report(&mut out.buf, &mut t, &bar, a, lines, publish(done))?;
                }
            }
            if caught_up {
                out.flush()
            } else {
                out.flush_if_full()
            }
        },
    );
    // The last jobs in place: one more sync, then they are reported (also when the output
    // failed, so that no bundle is left in place with its name not durable).
    let (lines, last) = std::mem::take(&mut in_place);
    let done = publish(runner.finish(last));
    res?;
    report(&mut out.buf, &mut t, &bar, a, lines, done)?;
    // Every job is sealed or failed: the exit code stands whatever happens to the output.
    output::set_earned(t.code.unwrap_or(0));
    bar.finish_and_clear();
    if a.json {
        output::write_json_line(
            &mut out.buf,
            &serde_json::json!({
                "type": "summary",
                "sealed": t.sealed,
                "skipped": t.skipped,
                "failed": t.failed,
            }),
        )?;
    } else if !a.quiet || t.failed > 0 {
        writeln!(
            out.buf,
            "{} sealed, {} skipped, {} failed",
            t.sealed, t.skipped, t.failed
        )?;
    }
    out.flush()?;
    // --tsa: the bundles sealed now, each in place already, timestamped one by one.
    for p in &t.sealed_paths {
        if !a.tsa.is_empty() {
            super::timestamp::stamp(p, &a.tsa, &[], &docseal::zipfmt::Limits::default())?;
        }
    }
    Ok(t.code.unwrap_or(0))
}

/// `verify` of many bundles on the command line: [`batch::verify_related`] with the command's
/// rendering, progress bar, summary and earned exit code.
struct RelatedCli<'a, 'b> {
    a: &'a VerifyArgs,
    opts: &'a Options,
    out: &'a mut output::Out<'b>,
    summary: &'a mut output::Summary,
}

impl RelatedOutput for RelatedCli<'_, '_> {
    fn render(&mut self, r: &Report, w: &mut Vec<u8>) -> std::io::Result<()> {
        output::render_verify(w, r, self.a.json, self.a.quiet, self.opts)
    }

    fn first(&mut self, r: &Report) {
        self.out.bar().inc(1);
        self.summary.add(r);
        // Cut short now, the run is not a success (nothing is printed before the end).
        output::set_earned(self.summary.code().max(super::EXIT_FAILED));
    }

    fn first_pass_done(&mut self) {
        self.out.bar().finish_and_clear();
    }

    fn revised(&mut self, before: &Report, after: &Report) {
        self.summary.remove(before);
        self.summary.add(after);
    }

    fn checked(&mut self) {
        // Every bundle is checked: a reader that goes away now gets the run's verdict.
        output::set_earned(self.summary.code());
    }

    fn write(&mut self, rendered: &[u8]) -> std::io::Result<()> {
        self.out.buf.extend_from_slice(rendered);
        self.out.flush_if_full()
    }
}

/// Verify many bundles and check the supersedes links among them (and the archive's `known`
/// bundles) in bounded memory ([`batch::verify_related`]); the output comes at the end.
pub fn verify_related(
    a: &VerifyArgs,
    bundles: &[PathBuf],
    trust: &Trust,
    opts: &Options,
    known: &[KnownBundle],
    out: &mut output::Out,
    summary: &mut output::Summary,
) -> Result<()> {
    let threads = a.threads.unwrap_or_else(batch::default_threads);
    let mut sink = RelatedCli {
        a,
        opts,
        out,
        summary,
    };
    batch::verify_related(bundles, trust, opts, known, threads, &mut sink)?;
    Ok(())
}

/// Report settled jobs (their line numbers, and their outputs and outcomes, in order): a line
/// of output each (unless quiet and it went well), the totals, the progress bar.
fn report(
    w: &mut Vec<u8>,
    t: &mut Totals,
    bar: &indicatif::ProgressBar,
    a: &PackArgs,
    lines: Vec<JobLine>,
    done: Vec<(Option<PathBuf>, Outcome)>,
) -> std::io::Result<()> {
    for ((line, warnings), (path, outcome)) in lines.into_iter().zip(done) {
        // Warnings are about what was sealed now.
        let warnings = match outcome {
            Outcome::Sealed(_) => warnings,
            _ => Vec::new(),
        };
        if a.json {
            report_json(w, t, line, path.as_deref(), &outcome, &warnings)?;
        } else {
            report_one(w, t, a.quiet, line, path.as_deref(), &outcome)?;
            for warning in &warnings {
                output::line(w, format_args!("  warning: line {line}: {warning}"))?;
            }
        }
        bar.inc(1);
    }
    Ok(())
}

/// Report one settled job as a JSON line (`"type": "job"`), and count it.
fn report_json(
    w: &mut Vec<u8>,
    t: &mut Totals,
    line: usize,
    path: Option<&Path>,
    outcome: &Outcome,
    warnings: &[String],
) -> std::io::Result<()> {
    let path = path.map(|p| p.display().to_string());
    let v = match outcome {
        Outcome::Sealed(s) => {
            t.sealed += 1;
            serde_json::json!({"type": "job", "line": line, "status": "sealed", "path": path,
                "id": s.id, "content_sha256": s.content_sha256, "warnings": warnings})
        }
        Outcome::AlreadySealed { id, .. } => {
            t.skipped += 1;
            serde_json::json!({"type": "job", "line": line, "status": "skipped", "path": path,
                "id": id})
        }
        Outcome::Conflict { why, .. } => {
            t.failed += 1;
            serde_json::json!({"type": "job", "line": line, "status": "failed", "path": path,
                "error": format!("{why}; not replaced")})
        }
        Outcome::Failed(e) => {
            t.failed += 1;
            let msg = match e {
                Error::Invalid { what, problem } if what == "job" => problem.clone(),
                e => super::advice::message_or_plain(e),
            };
            serde_json::json!({"type": "job", "line": line, "status": "failed", "path": path,
                "error": msg})
        }
    };
    if !outcome.is_ok() && t.code.is_none() {
        t.code = Some(exit_code(outcome));
    }
    output::write_json_line(w, &v)
}

/// Report one settled job: its line of output (unless quiet and it went well) and the totals.
fn report_one(
    w: &mut Vec<u8>,
    t: &mut Totals,
    quiet: bool,
    line: usize,
    path: Option<&Path>,
    outcome: &Outcome,
) -> std::io::Result<()> {
    let shown = path.map(|p| p.display().to_string());
    let shown = shown.as_deref().unwrap_or("-");
    match outcome {
        Outcome::Sealed(s) => {
            t.sealed += 1;
            t.sealed_paths.extend(path.map(Path::to_path_buf));
            if !quiet {
                output::line(w, format_args!("sealed   line {line}  {shown}  {}", s.id))?;
            }
        }
        Outcome::AlreadySealed { id, .. } => {
            t.skipped += 1;
            if !quiet {
                output::line(
                    w,
                    format_args!("skipped  line {line}  {shown}  already sealed ({id})"),
                )?;
            }
        }
        Outcome::Conflict { why, .. } => {
            t.failed += 1;
            output::line(
                w,
                format_args!("FAILED   line {line}  {shown}  {why}; not replaced"),
            )?;
        }
        Outcome::Failed(e) => {
            t.failed += 1;
            let msg = match e {
                // A refused line: the problem says it all.
                Error::Invalid { what, problem } if what == "job" => problem.clone(),
                e => super::advice::message_or_plain(e),
            };
            let msg = msg.replace('\n', " ");
            output::line(w, format_args!("FAILED   line {line}  {msg}"))?;
        }
    }
    if !outcome.is_ok() && t.code.is_none() {
        t.code = Some(exit_code(outcome));
    }
    Ok(())
}
