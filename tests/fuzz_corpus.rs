//! CI replays the fuzzer's corpus as an ordinary test: every file in `fuzz/corpus/verify/`
//! (the hostile seeds written by `tests/hostile.rs`, and inputs kept from fuzzing runs) goes
//! through the verifier's entry point with the keys the fuzz target trusts. Nothing panics;
//! `good-*` files pass (and are exactly what the writer writes for their entries); every other
//! file is refused with at least one code.

mod common;
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
