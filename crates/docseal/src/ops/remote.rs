//! Bundles in object storage: `docseal verify s3://BUCKET/PREFIX`.
//!
//! A bundle there is named by its location, `s3://BUCKET/KEY.zip`, wherever a local bundle is
//! named by its path ([`crate::ops::verify::Found`], [`crate::ops::batch::verify_one`]), so the
//! reports are those of the same bundles on a local disk but for that name. Bundles of at most
//! [`WHOLE_MAX`] bytes are read with one bounded GET; larger ones by
//! ranges ([`RangeReader`]: the ZIP's end records, then the entries), never whole. Only bundle
//! files (`*.zip`) are found in a bucket; unzipped bundle directories are a local thing.

use crate::format::finding::{Code, Finding};
use crate::format::store::{self, Location, RangeReader, Store, StoreError};
use crate::ops::verify::{self, Found, Options, Report, Trust};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Bundles up to this size are read with one GET and verified in memory (as bundle files up
/// to `batch::IN_MEMORY_MAX` are); larger ones by ranges.
pub const WHOLE_MAX: u64 = 1 << 20;

/// The bucket stores opened so far by this process (one client per bucket, shared by the
/// verifying threads).
fn bucket_store(bucket: &str) -> Result<Arc<dyn Store>, StoreError> {
    static OPEN: OnceLock<Mutex<HashMap<String, Arc<dyn Store>>>> = OnceLock::new();
    let mut open = OPEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(s) = open.get(bucket) {
        return Ok(s.clone());
    }
    let s = Location::S3 {
        bucket: bucket.to_owned(),
        prefix: String::new(),
    }
    .open()?;
    open.insert(bucket.to_owned(), s.clone());
    Ok(s)
}

/// The bucket and key of an object named `s3://BUCKET/KEY`.
fn split(path: &Path) -> Result<(String, String), StoreError> {
    match Location::parse(path)? {
        Location::S3 { bucket, prefix } => Ok((bucket, prefix)),
        Location::Local(p) => Err(StoreError::invalid(
            p.display().to_string(),
            "not an s3:// location",
        )),
    }
}

fn object_name(bucket: &str, key: &str) -> PathBuf {
    PathBuf::from(format!("{}{bucket}/{key}", store::S3_SCHEME))
}

/// The bundles at `s3://BUCKET/PREFIX`, as [`verify::discover`] finds them on a disk: the
/// object itself when it is a `*.zip`, otherwise every `*.zip` under `PREFIX/`, in key order.
/// A location that cannot be read is a problem report (`io.read`), not an error.
pub fn discover(path: &Path) -> Found {
    let mut found = Found::default();
    let label = store::safe_display(path);
    let problem =
        |message: String| Report::failed(label.clone(), true, Finding::new(Code::IoRead, message));
    let r = (|| -> Result<(), StoreError> {
        let (bucket, prefix) = split(path)?;
        let s = bucket_store(&bucket)?;
        if prefix.ends_with(".zip") && s.size(&prefix)?.is_some() {
            found.bundles.push(object_name(&bucket, &prefix));
            return Ok(());
        }
        let dir = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let mut after: Option<String> = None;
        loop {
            let page = store::retry(&store::Backoff::default(), || {
                s.list(&dir, after.as_deref(), store::MAX_PAGE)
            })?;
            for item in &page.items {
                if item.key.ends_with(".zip") {
                    found.bundles.push(object_name(&bucket, &item.key));
                }
            }
            // A `*.zip` whose name is no key (a control character, ...): there, unreadable.
            for name in page.stray.iter().filter(|n| n.ends_with(".zip")) {
                found.problems.push(Report::failed(
                    object_name(&bucket, name).display().to_string(),
                    true,
                    Finding::new(
                        Code::IoRead,
                        "a name no object can be read by (a control character, an empty or `.` component): not verified".to_string(),
                    ),
                ));
            }
            match page.items.last() {
                Some(last) if page.more => after = Some(last.key.clone()),
                _ => return Ok(()),
            }
        }
    })();
    if let Err(e) = r {
        found.problems.push(problem(e.to_string()));
    }
    found
}

/// Verify the bundle object named `s3://BUCKET/KEY.zip` ([`discover`]), as
/// [`crate::ops::batch::verify_one`] verifies a bundle file.
pub fn verify_one(path: &Path, trust: &Trust, opts: &Options) -> Report {
    let label = path.display().to_string();
    let failed = |e: StoreError| {
        Report::failed(
            label.clone(),
            true,
            Finding::new(Code::IoRead, e.to_string()),
        )
    };
    let (bucket, key) = match split(path) {
        Ok(x) => x,
        Err(e) => return failed(e),
    };
    let s = match bucket_store(&bucket) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let backoff = store::Backoff::default();
    // Small bundles: one GET of at most IN_MEMORY_MAX bytes.
    match store::retry(&backoff, || s.get(&key, WHOLE_MAX)) {
        Ok(Some(o)) => return verify::verify_bytes(&label, &o.bytes, Some(trust), opts),
        Ok(None) => {
            return failed(StoreError::NotFound {
                what: label.clone(),
            })
        }
        Err(StoreError::TooLarge { .. }) => {}
        Err(e) => return failed(e),
    }
    let len = match store::retry(&backoff, || s.size(&key)) {
        Ok(Some(len)) => len,
        Ok(None) => {
            return failed(StoreError::NotFound {
                what: label.clone(),
            })
        }
        Err(e) => return failed(e),
    };
    let mut r = RangeReader::new(s.as_ref(), &key, len);
    verify::verify_reader(&label, &mut r, len, Some(trust), opts)
}
