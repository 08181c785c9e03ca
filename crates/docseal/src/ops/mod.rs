//! Operations, the top floor of the library: seal, verify, co-sign, batch, archive, history,
//! ingest and timestamp. The CLI calls these; they are built on `profile` and `format`.

#[cfg(not(target_arch = "wasm32"))]
pub mod archive;
#[cfg(not(target_arch = "wasm32"))]
pub mod batch;
#[cfg(not(target_arch = "wasm32"))]
pub mod cosign;
#[cfg(not(target_arch = "wasm32"))]
pub mod history;
#[cfg(not(target_arch = "wasm32"))]
pub mod ingest;
#[cfg(not(target_arch = "wasm32"))]
pub mod remote;
pub mod seal;
pub mod timestamp;
pub mod verify;
