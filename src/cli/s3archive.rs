//! Reading an archive in object storage (issue 17): `archive audit|prove|prove-consistency
//! s3://BUCKET/PREFIX` and `verify ... --archive s3://BUCKET/PREFIX`.
//!
//! Until the archive operations run on a [`Store`] themselves, an archive at `s3://` is read
//! through a private copy: its objects are fetched by ranges (bounded memory) into a temporary
//! directory laid out as the archive is on a disk (keys as relative paths), and the local
//! operation runs on it; the copy is removed afterwards. Disk use is the archive's size
//! (without `bundles/` for proofs). Writing (`archive add s3://...`) is refused: it needs the
//! archive's own sequencing on the store (conditional writes), which this copy cannot give.

use anyhow::Result;
use docseal::store::{self, Location, RangeReader, Store, StoreError};
use docseal::Error;
use std::path::{Path, PathBuf};

/// A local copy of an archive in object storage.
pub struct Mirror {
    dir: tempfile::TempDir,
    /// The archive's `s3://` name.
    name: String,
}

fn store_error(what: &str, e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Invalid { what, problem } => Error::invalid(what, problem).into(),
        e => Error::io(what, std::io::Error::other(e.to_string())).into(),
    }
}

/// Most bytes one archive object may have to be copied (a bundle at the largest the default
/// limits allow is far below; log files are small).
const MAX_OBJECT: u64 = 1 << 40;

impl Mirror {
    /// A copy of the archive at `path` if it is an `s3://` location (`None` for a local path).
    /// Without `bundles`, the objects under `bundles/` are left out (proofs need the log only).
    pub fn of(path: &Path, bundles: bool) -> Result<Option<Mirror>> {
        if !store::is_s3(path) {
            return Ok(None);
        }
        let name = store::safe_display(path);
        let loc = Location::parse(path).map_err(|e| store_error(&name, e))?;
        let s = loc.open().map_err(|e| store_error(&name, e))?;
        let dir = tempfile::Builder::new()
            .prefix("docseal-s3-archive-")
            .tempdir()?;
        let backoff = store::Backoff::default();
        let mut after: Option<String> = None;
        let mut any = false;
        loop {
            let page = store::retry(&backoff, || s.list("", after.as_deref(), store::MAX_PAGE))
                .map_err(|e| store_error(&name, e))?;
            for item in &page.items {
                any = true;
                if (!bundles && item.key.starts_with("bundles/")) || item.size > MAX_OBJECT {
                    continue;
                }
                copy(s.as_ref(), &item.key, item.size, dir.path())?;
            }
            match page.items.last() {
                Some(last) if page.more => after = Some(last.key.clone()),
                _ => break,
            }
        }
        if !any {
            return Err(
                Error::invalid(name, "no archive there (no object under this prefix)").into(),
            );
        }
        Ok(Some(Mirror { dir, name }))
    }

    /// Where the copy is.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `text` with the copy's path replaced by the archive's `s3://` name.
    pub fn rename(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), &self.name)
    }
}

/// Copy the object `key` (of `size` bytes) to `dir/key`.
fn copy(s: &dyn Store, key: &str, size: u64, dir: &Path) -> Result<()> {
    // Keys from a listing are checked (no `..`, no empty component) before they are paths.
    let dest: PathBuf = dir.join(key);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let mut out = std::fs::File::create(&dest).map_err(|e| Error::io(&dest, e))?;
    let mut r = RangeReader::new(s, key, size);
    std::io::copy(&mut r, &mut out).map_err(|e| Error::io(format!("{}/{key}", s.root()), e))?;
    Ok(())
}

/// Refuse to write to an archive in object storage (see the module's documentation).
pub fn refuse_write(path: &Path) -> Result<()> {
    if store::is_s3(path) {
        return Err(Error::invalid(
            store::safe_display(path),
            "archive add to object storage is not available yet (the archive's sequencing on a store is not in this build); add to a local archive",
        )
        .into());
    }
    Ok(())
}
