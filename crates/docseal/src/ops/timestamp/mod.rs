//! RFC 3161 timestamps as an operation: adding tokens to a bundle and asking a TSA
//! ([`bundle`]), tokens as verification evidence ([`evidence`]), and tokens over archive
//! checkpoints ([`checkpoint`]). The token format itself is
//! [`crate::format::tsa`].

#[cfg(not(target_arch = "wasm32"))]
pub mod bundle;
pub mod checkpoint;
pub mod evidence;
