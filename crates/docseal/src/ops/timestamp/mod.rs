//! RFC 3161 timestamps as an operation: adding tokens to a bundle and asking a TSA
//! ([`bundle`]), tokens as verification evidence ([`evidence`]), and tokens over archive
//! checkpoints ([`checkpoint`]). The token format itself is
//! [`crate::format::tsa`].

pub mod bundle;
pub mod checkpoint;
pub mod evidence;
