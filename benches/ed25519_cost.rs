//! The floor under `docseal verify`'s per-bundle CPU time (issue 18): the two strict Ed25519
//! verifications every bundle needs (its signature over BLAKE2b-512 of the tag manifest, and
//! the global signature over the signature and trusted comment), through the exact function
//! docseal accepts a signature with (`PublicKey::ed25519_check`: `strict_fast`).
//!
//! `bench/compare.sh` runs it under `/usr/bin/time` on one of its own bundles with the same N as
//! the verify run, so both CPU times come from the same run and the same measure:
//!
//! ```text
//! cargo bench --bench ed25519_cost -- BUNDLE.zip KEY.pub N
//! ```
//!
//! It reads the bundle's tag manifest and signature once (not timed by anyone: a few hundred
//! microseconds), then makes 2 x N verifications and prints one line. A verification that fails
//! stops it (exit 1): the cost measured is that of signatures that pass.

use blake2::{Blake2b512, Digest};
use docseal::minisign::{PublicKey, Signature};
use docseal::zipfmt::{self, Limits};
use std::io::Cursor;
use std::time::Instant;

fn entry(bytes: &[u8], entries: &[zipfmt::Entry], name: &str) -> Vec<u8> {
    let e = entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("the bundle has no {name}"));
    let mut out = Vec::new();
    zipfmt::hash_entry(&mut Cursor::new(bytes), e, Some(&mut out)).expect("read the entry");
    out
}

fn main() {
    // `cargo bench` passes `--bench`; the operands are what is left.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [bundle, key, n] = &args[..] else {
        eprintln!("usage: ed25519_cost BUNDLE.zip KEY.pub N");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("N is a number");
    let bytes = std::fs::read(bundle).expect("read the bundle");
    let entries = zipfmt::read_strict(
        &mut Cursor::new(&bytes),
        bytes.len() as u64,
        &Limits::default(),
    )
    .expect("a bundle ZIP");
    let tagmanifest = entry(&bytes, &entries, "tagmanifest-sha256.txt");
    let sig = Signature::parse(&entry(&bytes, &entries, "tagmanifest-sha256.txt.minisig"))
        .expect("a minisign signature");
    let key = PublicKey::from_file_bytes(&std::fs::read(key).expect("read the key"))
        .expect("a minisign public key");
    // The two messages exactly as `Signature::verify` builds them.
    let prehash = Blake2b512::digest(&tagmanifest);
    let mut global = sig.signature.to_vec();
    global.extend_from_slice(sig.trusted_comment.as_bytes());

    let start = Instant::now();
    for _ in 0..n {
        let a = key.ed25519_check(std::hint::black_box(&prehash), &sig.signature);
        let b = key.ed25519_check(std::hint::black_box(&global), &sig.global_signature);
        if a.is_err() || b.is_err() {
            eprintln!("ed25519_cost: a signature of {bundle} does not verify");
            std::process::exit(1);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} x 2 strict Ed25519 verifications: {secs:.3} s wall, {:.1} µs per bundle",
        secs * 1e6 / n.max(1) as f64
    );
}
