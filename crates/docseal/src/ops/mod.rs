//! Operations, the top floor of the library: seal, verify, co-sign, batch, archive, history,
//! ingest and timestamp. The CLI calls these; they are built on `profile` and `format`.

pub mod archive;
pub mod batch;
pub mod cosign;
pub mod history;
pub mod ingest;
pub mod remote;
pub mod seal;
pub mod timestamp;
pub mod verify;
