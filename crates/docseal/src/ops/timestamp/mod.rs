//! RFC 3161 timestamps as an operation: adding tokens to a bundle and asking a TSA
//! ([`bundle`]), and tokens as verification evidence ([`evidence`]). The token format itself is
//! [`crate::format::tsa`].

#[cfg(not(target_arch = "wasm32"))]
pub mod bundle;
pub mod evidence;
