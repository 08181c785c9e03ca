//! RFC 3161 timestamps as an operation: adding tokens to a bundle and asking a TSA
//! ([`bundle`]) and tokens over archive checkpoints ([`checkpoint`]). Tokens as verification
//! evidence ([`evidence`]) live in [`crate::ops::verify::evidence`] (re-exported here), so that
//! verify does not depend on this room while `timestamp` verifies the bundles it stamps. The
//! token format itself is [`crate::format::tsa`].

#[cfg(not(target_arch = "wasm32"))]
pub mod bundle;
pub mod checkpoint;
pub use crate::ops::verify::evidence;
