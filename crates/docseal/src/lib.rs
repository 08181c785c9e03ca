//! docseal: seal published articles into signed, verifiable archive bundles.
//!
//! A bundle is one ZIP file holding an article's exact bytes, its attachments, a metadata
//! record and a SHA-256 manifest signed with Ed25519 in minisign's format; unzipped, it is a
//! BagIt 1.0 bag. The format is specified in `docs/FORMAT.md`; verification codes and limits in
//! `docs/VERIFY.md`.
//!
//! Which API for which job:
//! - seal an article: [`seal::seal`] with a [`seal::SealRequest`] and a [`minisign::SecretKey`];
//! - read an article's own metadata (saved page, WARC capture, text trailer) before sealing:
//!   [`ingest::read_article`] and [`ingest::resolve`] (flags win);
//! - verify a bundle file or an unzipped bundle directory: [`verify::verify_path`], which
//!   returns a [`verify::Report`] whose findings carry stable [`finding::Code`]s;
//! - read a bundle without a trust decision: [`verify::inspect`];
//! - many bundles at once: [`batch::verify_all`] (parallel, results in order) and
//!   [`batch::Batch`] with [`batch::JobReader`] (a jobs file, as `pack --batch`);
//! - make and read keys: [`keyfile`] (files on disk) over [`minisign`] (the formats);
//! - provenance over time: [`cosign::cosign`] (another signer), [`history`] (corrections and
//!   their order), [`archive`] (an append-only, signed archive log and its proofs) over [`log`]
//!   (RFC 9162 Merkle trees).
//!
//! The data flows one way: inputs ([`seal::SealRequest`], [`batch`]) -> sealed bundle ([`seal`], [`zipfmt`],
//! [`bagit`], [`metadata`]) -> findings ([`verify`]).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

// The floors, top to bottom (docs/ARCHITECTURE.md): operations, the bundle profile, formats
// and primitives. Imports run only downward (and sideways within a floor).
pub mod format;
pub mod ops;
pub mod profile;

// The names users have always had.
pub use format::{
    dirwrite, durable as atomic, error, finding, input, merkle as log, minisign, path, tsa,
    zip as zipfmt,
};
pub use ops::{archive, batch, cosign, history, ingest, seal, timestamp, verify};
pub use profile::{bagit, keyfile, metadata, trust};

pub use error::{Error, Result};
pub use profile::metadata::{tool_version, FORMAT_VERSION};
