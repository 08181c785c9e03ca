//! docseal: seal published articles into signed, verifiable archive bundles.
//!
//! A bundle is one ZIP file holding an article's exact bytes, its attachments, a metadata
//! record and a SHA-256 manifest signed with Ed25519 in minisign's format; unzipped, it is a
//! BagIt 1.0 bag. The format is specified in `docs/FORMAT.md`; verification codes and limits in
//! `docs/VERIFY.md`.
//!
//! The common jobs take a few names from the crate root:
//! - seal an article: [`seal()`] with a [`SealRequest`] and a [`SecretKey`] (read one with
//!   [`keyfile::read_secret_key`]);
//! - verify a bundle file or an unzipped bundle directory: [`verify_path`] against a [`Trust`]
//!   (trusted keys), which returns a [`Report`] whose [`Finding`]s carry stable [`Code`]s;
//!   [`verify_bytes`] for a bundle in memory; [`inspect`] reads one without a trust decision;
//! - audit an archive: [`archive::audit`] (an append-only, signed log of bundles and its
//!   proofs, over RFC 9162 Merkle trees in [`log`]).
//!
//! The rest is in modules, one per concern:
//! - read an article's own metadata (saved page, WARC capture, text trailer) before sealing:
//!   [`ingest::read_article`] and [`ingest::resolve`] (flags win);
//! - many bundles at once: [`batch::verify_all`] (parallel, results in order),
//!   [`batch::verify_related`] (supersedes links across bundles) and [`batch::Batch`] with
//!   [`batch::JobReader`] (a jobs file, as `pack --batch`);
//! - keys: [`keyfile`] (files on disk) over [`minisign`] (the formats); trust files: [`trust`];
//! - provenance over time: [`cosign()`] (another signer), [`history`] (corrections and their
//!   order), [`timestamp`] (RFC 3161 tokens, read by [`tsa`]);
//! - the bundle format's parts: [`zipfmt`], [`bagit`], [`metadata`], [`path`];
//! - where archives and bundles are kept: [`store`] (a local directory or an S3-compatible
//!   bucket, `s3://BUCKET/PREFIX`, with conditional writes), [`remote`] (bundles in a bucket).
//!
//! The crate is built in floors (`docs/ARCHITECTURE.md`): operations over the bundle profile
//! over formats and primitives, imports only downward. The floors themselves are private; the
//! modules above are their public faces.
//!
//! ```no_run
//! let trust = docseal::Trust::from_public_key_files(&["keys/sample.pub".into()]).unwrap();
//! let report = docseal::verify_path(
//!     "archive/sample.zip".as_ref(),
//!     Some(&trust),
//!     &docseal::verify::Options::default(),
//! );
//! for f in &report.findings {
//!     println!("{}: {}", f.code, f.message);
//! }
//! assert!(report.ok);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The floors, top to bottom (docs/ARCHITECTURE.md): operations, the bundle profile, formats
// and primitives. Imports run only downward (and sideways within a floor).
mod format;
mod ops;
mod profile;

// The modules, by the names users have always had.
pub use format::{
    durable as atomic, error, finding, input, merkle as log, minisign, note, path, tlog, tsa,
    zip as zipfmt,
};
pub use ops::{seal, timestamp, verify};
pub use profile::{bagit, keyfile, metadata, trust};
// Not on wasm32 (`docseal web`: the verification path only, no file writing, threads or network).
#[cfg(not(target_arch = "wasm32"))]
pub use {
    format::{dirwrite, store},
    ops::{archive, batch, cosign, history, ingest, remote},
};

pub use error::{Error, Result};

// What most users need, at the root.
pub use format::finding::{Code, Finding, Severity};
pub use format::minisign::{KeyId, PublicKey, SecretKey};
pub use format::zip::Limits;
#[cfg(not(target_arch = "wasm32"))]
pub use ops::cosign::cosign;
pub use ops::seal::{seal, ArticleSource, SealRequest, Sealed};
pub use ops::verify::{inspect, verify_bytes, verify_path, Report};
pub use profile::trust::{Trust, TrustedKey};

/// Test helpers shared by the library's tests and the workspace's (feature `test-support`):
/// not part of the API.
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod test_support {
    pub use crate::format::zip::assemble::{Asm, Hook};
}
pub use profile::metadata::{tool_version, FORMAT_VERSION};
