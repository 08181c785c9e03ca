//! Formats and primitives, the lowest floor: ZIP, minisign, Merkle trees, RFC 3161 tokens,
//! portable names, findings, bounded input and durable output. Nothing here knows what a
//! bundle is for; nothing here imports from `profile` or `ops`.

pub mod digest;
#[cfg(not(target_arch = "wasm32"))]
pub mod dirwrite;
pub mod durable;
pub mod error;
pub mod finding;
pub mod input;
pub mod merkle;
pub mod minisign;
pub mod note;
pub mod path;
#[cfg(not(target_arch = "wasm32"))]
pub mod store;
pub mod text;
pub mod tlog;
pub mod tsa;
pub mod zip;
