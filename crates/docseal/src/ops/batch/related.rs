//! Verifying many bundles whose supersedes links are checked across all of them (and the
//! bundles an archive knows), in bounded memory.

use super::verify::{verify_all, verify_one};
use crate::ops::verify::{self, KnownBundle, Options, Report, Trust};
use std::collections::HashSet;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// What [`verify_related`] tells its caller, in this order: every bundle of the first pass
/// ([`first`](RelatedOutput::first), with [`render`](RelatedOutput::render)), the end of that
/// pass, the reports the supersedes check revised, the end of checking, then the output of
/// every bundle in input order ([`write`](RelatedOutput::write)).
pub trait RelatedOutput {
    /// Render a report as it is to be written.
    fn render(&mut self, report: &Report, out: &mut Vec<u8>) -> std::io::Result<()>;
    /// A bundle verified in the first pass, before the links are checked.
    fn first(&mut self, report: &Report);
    /// The first pass is over.
    fn first_pass_done(&mut self) {}
    /// A report that can concern a supersedes link, before and after the links were checked
    /// (the same report when nothing changed).
    fn revised(&mut self, before: &Report, after: &Report);
    /// Every bundle and link is checked; only writing the output is left.
    fn checked(&mut self) {}
    /// The rendered output of the next bundle, in input order.
    fn write(&mut self, rendered: &[u8]) -> std::io::Result<()>;
}

/// What is kept of a bundle's first report: fingerprints of its id and content digest, its
/// supersedes link, and the length of its rendered output in the spill file.
struct Trace {
    id: u64,
    content: u64,
    link: Option<Box<(String, String)>>,
    len: u64,
}

fn fingerprint(s: Option<&str>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Verify `bundles` in parallel on `threads` threads and check the supersedes links among them
/// (and the archive's `known` bundles), in bounded memory: each report is rendered as soon as
/// it is ready into an unnamed temporary file and only a small trace is kept; afterwards the
/// bundles a link can concern (those with a link, and those whose id or content digest a link
/// names) are verified again and checked together with [`verify::check_supersedes`], and the
/// output is written in order, the rendered text of the others copied from the temporary
/// file. Errors are those of `out` and of the temporary file.
pub fn verify_related(
    bundles: &[PathBuf],
    trust: &Trust,
    opts: &Options,
    known: &[KnownBundle],
    threads: usize,
    out: &mut (dyn RelatedOutput + Send),
) -> std::io::Result<()> {
    let spill = tempfile::tempfile()?;
    let traces = first_pass(bundles, trust, opts, threads, out, &spill)?;
    out.first_pass_done();

    // The bundles a supersedes link can concern.
    let mut ids = HashSet::new();
    let mut contents = HashSet::new();
    for l in traces.iter().filter_map(|t| t.link.as_ref()) {
        ids.insert(fingerprint(Some(&l.0)));
        contents.insert(fingerprint(Some(&l.1)));
    }
    for k in known {
        if let Some(s) = &k.supersedes {
            contents.insert(fingerprint(Some(s)));
        }
    }
    let involved: Vec<usize> = traces
        .iter()
        .enumerate()
        .filter(|(_, t)| t.link.is_some() || ids.contains(&t.id) || contents.contains(&t.content))
        .map(|(i, _)| i)
        .collect();
    let before: Vec<Report> = involved
        .iter()
        .map(|&i| verify_one(&bundles[i], trust, opts))
        .collect();
    let mut fresh = before.clone();
    verify::check_supersedes(&mut fresh, known, trust, opts);
    for (b, a) in before.iter().zip(&fresh) {
        out.revised(b, a);
    }
    drop(before);
    out.checked();

    let mut spilled = BufReader::with_capacity(1 << 16, &spill);
    spilled.seek(SeekFrom::Start(0))?;
    let mut fresh = involved.iter().copied().zip(fresh).peekable();
    let mut text = Vec::new();
    for (i, t) in traces.iter().enumerate() {
        text.clear();
        (&mut spilled).take(t.len).read_to_end(&mut text)?;
        if let Some((_, r)) = fresh.next_if(|(j, _)| *j == i) {
            text.clear();
            out.render(&r, &mut text)?;
        }
        out.write(&text)?;
    }
    Ok(())
}

/// The first pass of [`verify_related`]: every report rendered into `spill`, its trace kept.
fn first_pass(
    bundles: &[PathBuf],
    trust: &Trust,
    opts: &Options,
    threads: usize,
    out: &mut (dyn RelatedOutput + Send),
    spill: &std::fs::File,
) -> std::io::Result<Vec<Trace>> {
    let mut traces: Vec<Trace> = Vec::with_capacity(bundles.len());
    let mut w = BufWriter::with_capacity(1 << 16, spill);
    let mut text = Vec::new();
    verify_all(bundles, trust, opts, threads, |item| {
        let Some((_, r)) = item else {
            return Ok(());
        };
        text.clear();
        out.render(&r, &mut text)?;
        w.write_all(&text)?;
        out.first(&r);
        traces.push(Trace {
            id: fingerprint(r.id.as_deref()),
            content: fingerprint(r.content_sha256.as_deref()),
            link: r
                .metadata
                .as_ref()
                .and_then(|m| m.supersedes.as_ref())
                .map(|s| Box::new((s.id.clone(), s.sha256.clone()))),
            len: text.len() as u64,
        });
        Ok::<(), std::io::Error>(())
    })?;
    w.flush()?;
    Ok(traces)
}
