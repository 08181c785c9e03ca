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

mod jobs;
mod pool;
mod related;
mod sealing;
mod verify;

pub use jobs::{parse_job, Job, JobReader, Parsed, MAX_JOB_LINE, MAX_SKIPPED_LINE};
pub use pool::{default_threads, ordered_parallel, ordered_parallel_window, MAX_THREADS};
pub use related::{verify_related, RelatedOutput};
pub use sealing::{
    Batch, Deferred, InPlace, Outcome, SEAL_THREADS_PER_CORE, SEAL_WINDOW, SETTLE_AT,
};
pub use verify::{verify_all, verify_one, IN_MEMORY_MAX};
