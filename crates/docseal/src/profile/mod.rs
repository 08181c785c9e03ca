//! The bundle profile: what docseal puts in a ZIP and a BagIt bag and what it means (metadata,
//! BagIt files, keys and trust files). Built on `format`; used by `ops`.

pub mod bagit;
pub mod comments;
pub mod keyfile;
pub mod metadata;
pub mod trust;
