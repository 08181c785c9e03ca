//! Sealing the jobs of a jobs file with one key into one directory: each bundle written
//! atomically, re-runs recognizing what is already sealed, syncs shared by the jobs settled
//! together (see the [module documentation](super)).

use super::jobs::{name_key, Job, Parsed};
use crate::format::digest::sha256_file;
use crate::format::durable::{GroupSync, Placed, Written};
use crate::format::error::{Error, Result, Setting};
use crate::format::minisign::SecretKey;
use crate::format::text::hex;
use crate::ops::seal::{self, ArticleSource, SealRequest, Sealed};
use crate::ops::verify::{self, Options, Trust, TrustedKey};
use crate::profile::metadata;
use std::path::{Path, PathBuf};

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
/// [`ordered_parallel`](super::ordered_parallel)) settles the jobs ready with one sync per step shared by all of them
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
            return Err(Error::setting(
                base.display().to_string(),
                "is not a directory",
                Setting::BatchBase,
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
            return Err(Error::setting(
                p,
                "is outside the base directory (absolute, or with ..)",
                Setting::BatchBase,
            ));
        }
        match std::fs::canonicalize(self.resolve(p)) {
            Ok(real) if !real.starts_with(root) => Err(Error::setting(
                p,
                "leads outside the base directory (through a symbolic link)",
                Setting::BatchBase,
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
        let g = &job.given;
        let mut req = SealRequest {
            article: ArticleSource::Path(article.clone()),
            url: g.url.clone().unwrap_or_default(),
            title: g.title.clone().unwrap_or_default(),
            publisher: g.publisher.clone().unwrap_or_default(),
            published: g.published.clone().unwrap_or_default(),
            authors: g.authors.clone(),
            retrieved: g.retrieved.clone(),
            created: job.created.clone(),
            attachments: job.attachments.iter().map(|a| self.resolve(a)).collect(),
            supersedes: None,
        };
        if g.url.is_some() && g.title.is_some() && g.publisher.is_some() && g.published.is_some() {
            return Ok(req);
        }
        let art = crate::ops::ingest::read_article_for_batch(&article)?;
        let r = crate::ops::ingest::resolve(g, &art)?;
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
                        Err(e) => Outcome::Failed(e),
                    };
                    (d.path, outcome, Some(self.sync.found(&path)))
                }
                Err(e) => (d.path, Outcome::Failed(e), None),
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
        for p in std::iter::once(&job.article).chain(&job.attachments) {
            if let Err(e) = self.check_confined(p) {
                return (Outcome::Failed(e), None);
            }
        }
        let req = match self.request(job) {
            Ok(r) => r,
            Err(e) => return (Outcome::Failed(e), None),
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
            Err(e) => (Outcome::Failed(e), None),
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
            Err(e) => Outcome::Failed(e),
        }
    }

    /// `Ok(Ok(id))` when `out` is a valid bundle of `req` signed by this batch's key;
    /// `Ok(Err(why))` when it is something else; `Err` when the job itself is invalid or an
    /// input cannot be read.
    // Longer than 80 lines: one comparison per sealed property (signer, metadata, names, bytes,
    // sealing time) in that order: the first difference is the one reported.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::batch::jobs::parse_job;
    use std::sync::atomic::Ordering;

    fn ok(line: &str) -> Job {
        parse_job(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }
    const BASE: &str = r#""article":"a.txt","url":"https://e.com/","title":"t","publisher":"p","published":"2020-01-01""#;

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
    // Longer than 80 lines: a test: one scenario step by step, counting syncs between steps.
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
}
