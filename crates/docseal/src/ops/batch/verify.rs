//! Verifying many bundles in parallel, reports in input order.

use super::pool::ordered_parallel;
use crate::ops::verify::{self, Options, Report, Trust};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Verify `paths` on `threads` threads against `trust`; `emit` gets each report in the order
/// of `paths`, and `None` when it may flush (see [`ordered_parallel`]).
pub fn verify_all<E: Send>(
    paths: &[PathBuf],
    trust: &Trust,
    opts: &Options,
    threads: usize,
    emit: impl FnMut(Option<(usize, Report)>) -> std::result::Result<(), E> + Send,
) -> std::result::Result<(), E> {
    ordered_parallel(paths.iter(), threads, |p| verify_one(p, trust, opts), emit)
}

/// Bundle files up to this size are read whole, with one read, and verified in memory:
/// the same checks as [`verify::verify_path`], without a seek and a read per header and
/// entry. Larger files are streamed.
pub const IN_MEMORY_MAX: u64 = 1 << 20;

/// Verify one bundle as [`verify::verify_path`] does (same checks, same report).
pub fn verify_one(path: &Path, trust: &Trust, opts: &Options) -> Report {
    if crate::format::store::is_s3(path) {
        return crate::ops::remote::verify_one(path, trust, opts);
    }
    // One open, one fstat, one read for a small bundle file.
    // (A FIFO or device is not opened here: the streaming path refuses it.)
    if let Ok((mut f, meta)) =
        crate::format::input::open(path, crate::format::input::Open::regular("bundle"))
    {
        let len = Some(meta.len());
        if let Some(len) = len.filter(|&l| l <= IN_MEMORY_MAX) {
            let mut bytes = vec![0u8; len as usize];
            // Anything unexpected (an error, a file that shrank): the streaming path reports
            // it.
            if f.read_exact(&mut bytes).is_ok() {
                let label = path.display().to_string();
                return verify::verify_bytes(&label, &bytes, Some(trust), opts);
            }
        }
    }
    verify::verify_path(path, Some(trust), opts)
}
