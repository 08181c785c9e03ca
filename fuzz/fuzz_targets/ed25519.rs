//! docseal's Ed25519 acceptance (`strict_fast`, and the whole check `Signature::verify` does)
//! against ed25519-dalek `verify_strict` on mutated keys, signatures and messages. The input
//! format and the oracle are in `ed25519_oracle.rs` (shared with `tests/fuzz_corpus.rs`); the
//! seeds (`fuzz/corpus/ed25519/`) are the public vectors of `tests/vectors/ed25519/` and
//! signatures made with every pair of small-order components for the key and R.
#![no_main]

mod ed25519_oracle;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ed25519_oracle::check(data);
});
