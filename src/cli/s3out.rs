//! `docseal pack --batch JOBS --key K --out-dir s3://BUCKET/PREFIX` (issue 17): the batch is
//! sealed as into a local directory, a private staging directory, and each settled bundle is
//! then published to `PREFIX/NAME` with a create-only write (`If-None-Match: *`), so nothing in
//! the bucket is ever replaced (batch has no --force).
//!
//! Re-running a batch works as locally: before sealing, the objects the jobs would write that
//! exist already are fetched into the staging directory (by ranges, bounded by the limits'
//! largest bundle), so the batch finds them and skips the jobs already sealed, or reports a
//! conflict. An object that appears between that check and the publication (another host
//! sealing the same job) is a conflict unless it holds the very same bytes.

use super::args::PackArgs;
use super::batch::pack_batch_into;
use super::load::{limits, load_secret_key};
use anyhow::Result;
use docseal::batch::{JobReader, Outcome, Parsed};
use docseal::store::{self, Location, RangeReader, Store};
use docseal::Error;
use std::collections::HashSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

pub fn pack_batch(a: &PackArgs, jobs: &Path, out: &Path) -> Result<u8> {
    if !a.tsa.is_empty() {
        return Err(Error::invalid(
            "--tsa",
            "not available with an s3:// --out-dir yet: timestamp the bundles after copying them to a disk, or seal to a local --out-dir",
        )
        .into());
    }
    let loc = Location::parse(out).map_err(|e| Error::invalid("--out-dir", e.to_string()))?;
    let Location::S3 { bucket, prefix } = &loc else {
        unreachable!("an s3:// location");
    };
    let s = loc.open().map_err(store_error)?;
    let (file, _) = docseal::input::open(jobs, docseal::input::Open::regular("jobs file"))?;
    let key = load_secret_key(&a.key_args())?;
    let stage = tempfile::Builder::new()
        .prefix("docseal-s3-batch-")
        .tempdir()?;
    fetch_existing(a, jobs, s.as_ref(), stage.path())?;
    let name_of = |p: &Path| -> PathBuf {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        match prefix.is_empty() {
            true => PathBuf::from(format!("s3://{bucket}/{name}")),
            false => PathBuf::from(format!("s3://{bucket}/{prefix}/{name}")),
        }
    };
    let mut publish = |done: Vec<(Option<PathBuf>, Outcome)>| {
        done.into_iter()
            .map(|(path, outcome)| publish_one(s.as_ref(), path, outcome, &name_of))
            .collect()
    };
    pack_batch_into(a, jobs, file, &key, stage.path(), &mut publish)
}

fn store_error(e: store::StoreError) -> anyhow::Error {
    match e {
        store::StoreError::Invalid { what, problem } => Error::invalid(what, problem).into(),
        e => Error::io("--out-dir", std::io::Error::other(e.to_string())).into(),
    }
}

/// Fetch into `stage` the objects the jobs of `jobs` would write that exist already.
fn fetch_existing(a: &PackArgs, jobs: &Path, s: &dyn Store, stage: &Path) -> Result<()> {
    let (file, _) = docseal::input::open(jobs, docseal::input::Open::regular("jobs file"))?;
    let mut wanted = HashSet::new();
    for (_, parsed) in JobReader::new(BufReader::with_capacity(1 << 16, file)) {
        if let Ok(Parsed::Job { out_name, .. }) = parsed {
            wanted.insert(out_name);
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let max = docseal::verify::max_bundle_size(&limits(&a.limits));
    let backoff = store::Backoff::default();
    let mut after: Option<String> = None;
    loop {
        let page = match store::retry(&backoff, || s.list("", after.as_deref(), store::MAX_PAGE)) {
            Ok(p) => p,
            // No bucket yet: nothing sealed there (a server that creates buckets on the first
            // write makes it; others refuse the first write, clearly).
            Err(store::StoreError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(store_error(e)),
        };
        for item in &page.items {
            // Only the names directly under the prefix are outputs.
            if item.key.contains('/') || !wanted.contains(&item.key) || item.size > max {
                continue;
            }
            let dest = stage.join(&item.key);
            let mut out = std::fs::File::create(&dest).map_err(|e| Error::io(&dest, e))?;
            let mut r = RangeReader::new(s, &item.key, item.size);
            std::io::copy(&mut r, &mut out)
                .map_err(|e| Error::io(format!("{}/{}", s.root(), item.key), e))?;
        }
        match page.items.last() {
            Some(last) if page.more => after = Some(last.key.clone()),
            _ => return Ok(()),
        }
    }
}

/// Publish one settled job's bundle from the staging directory, and name it by its object.
fn publish_one(
    s: &dyn Store,
    path: Option<PathBuf>,
    outcome: Outcome,
    name_of: &dyn Fn(&Path) -> PathBuf,
) -> (Option<PathBuf>, Outcome) {
    let Some(staged) = path else {
        return (None, outcome);
    };
    let shown = name_of(&staged);
    let key = staged
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let outcome = match outcome {
        Outcome::Sealed(sealed) => {
            let r = std::fs::read(&staged)
                .map_err(|e| Error::io(&staged, e))
                .and_then(|bytes| {
                    store::retry(&store::Backoff::default(), || {
                        store::put_new_or_same(s, &key, &bytes)
                    })
                    .map_err(|e| Error::io(&shown, std::io::Error::other(e.to_string())))
                });
            match r {
                Ok(true) => Outcome::Sealed(sealed),
                Ok(false) => Outcome::Conflict {
                    path: shown.clone(),
                    why: "another object with this name appeared in the bucket meanwhile".into(),
                },
                Err(e) => Outcome::Failed(e),
            }
        }
        Outcome::AlreadySealed { id, .. } => Outcome::AlreadySealed {
            path: shown.clone(),
            id,
        },
        Outcome::Conflict { why, .. } => Outcome::Conflict {
            path: shown.clone(),
            why,
        },
        other => other,
    };
    // The staging copy is not needed any more (disk use stays bounded by the window).
    let _ = std::fs::remove_file(&staged);
    (Some(shown), outcome)
}
