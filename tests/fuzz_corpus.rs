//! CI replays the fuzzer's corpus as an ordinary test: every file in `fuzz/corpus/verify/`
//! (the hostile seeds written by `tests/hostile.rs`, and inputs kept from fuzzing runs) goes
//! through the verifier's entry point with the keys the fuzz target trusts. Nothing panics;
//! `good-*` files pass (and are exactly what the writer writes for their entries); every other
//! file is refused with at least one code.
//!
//! It replays the `ed25519` target's corpus too (`fuzz/corpus/ed25519/`): every input through
//! the target's own oracle (docseal's Ed25519 acceptance gives ed25519-dalek `verify_strict`'s
//! verdict).

use crate::common;
#[path = "../fuzz/fuzz_targets/ed25519_oracle.rs"]
mod ed25519_oracle;
use common::*;
use docseal::verify::{verify_bytes, Options, Trust};
use docseal::zipfmt::{hash_entry, read_strict, ZipWriter};
use std::io::Cursor;

#[test]
fn fuzz_corpus_replays() {
    let trust =
        Trust::from_public_key_files(&[repo("keys/sample.pub"), repo("fuzz/corpus.pub")]).unwrap();
    let opts = Options::default();
    let mut files: Vec<_> = std::fs::read_dir(repo("fuzz/corpus/verify"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let (mut good, mut refused) = (0, 0);
    for p in &files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(p).unwrap();
        let r = verify_bytes(&name, &bytes, Some(&trust), &opts);
        assert_eq!(r.ok, r.error_codes().is_empty(), "{name}");
        if name.starts_with("good-") {
            assert!(r.ok, "{name}: {:?}", r.findings);
            let mut c = Cursor::new(&bytes);
            let entries = read_strict(&mut c, bytes.len() as u64, &opts.limits).unwrap();
            let mut w = ZipWriter::new(Cursor::new(Vec::new()));
            for e in &entries {
                let mut buf = Vec::new();
                hash_entry(&mut c, e, Some(&mut buf)).unwrap();
                w.add_bytes(&e.name, &buf).unwrap();
            }
            assert_eq!(w.finish().unwrap().into_inner(), bytes, "{name}");
            good += 1;
        } else {
            assert!(!r.ok, "{name} accepted");
            refused += 1;
        }
        // Without trust (inspect): never a panic either.
        let _ = verify_bytes(&name, &bytes, None, &opts);
    }
    assert!(good >= 1, "no good-* seed in fuzz/corpus/verify");
    assert!(
        refused >= 40,
        "only {refused} hostile seeds in fuzz/corpus/verify"
    );
}

#[test]
fn issue18_fuzz_ed25519_corpus_replays() {
    use ed25519_oracle::{check, Outcome};
    let mut files: Vec<_> = std::fs::read_dir(repo("fuzz/corpus/ed25519"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut counts = std::collections::BTreeMap::new();
    let mut seeds = 0;
    for p in &files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(p).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&bytes))
            .unwrap_or_else(|_| panic!("fuzz/corpus/ed25519/{name}: the oracle fails"));
        *counts.entry(format!("{outcome:?}")).or_insert(0) += 1;
        if name.starts_with("seed-") {
            assert_ne!(outcome, Outcome::Skipped, "{name}");
            seeds += 1;
        }
    }
    // The seeds of `write_ed25519_fuzz_seeds` (tests/ed25519_vectors.rs): 139 Wycheproof tests
    // with 64-byte signatures, 10 speccheck cases, 66 made signatures.
    eprintln!("fuzz/corpus/ed25519: {} inputs, {counts:?}", files.len());
    assert!(seeds >= 215, "only {seeds} seeds in fuzz/corpus/ed25519");
    for kind in ["Accepted", "Refused", "KeyRefused"] {
        assert!(counts.contains_key(kind), "no {kind} input: {counts:?}");
    }
}
