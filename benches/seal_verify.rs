//! Sealing and verifying the shipped sample (`cargo bench --bench seal_verify`).
//!
//! `seal` includes everything `docseal pack` does per bundle: reading the article, hashing,
//! signing, writing the ZIP, fsync, rename and directory fsync (so its time depends on the
//! disk). `verify` is `docseal verify` of one bundle: strict ZIP reading, hashing, metadata,
//! one Ed25519 signature.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use docseal::minisign::{KeyId, SecretKey};
use docseal::seal::{seal, ArticleSource, SealRequest};
use docseal::verify::{verify_bytes, verify_path, Options, Trust, TrustedKey};
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn request() -> SealRequest {
    let mut req = SealRequest::new(
        ArticleSource::Path(repo("samples/000_1b4e483194c528fc.txt")),
        "https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/",
        "A thaw in Pak-Russia relations",
        "Daily Times",
        "2018-09-11",
    );
    req.authors = vec!["Usman Ghani".into()];
    req.created = Some("2026-11-27T12:00:00Z".into());
    req
}

fn benches(c: &mut Criterion) {
    let key = SecretKey::from_seed(&[7; 32], KeyId([1, 2, 3, 4, 5, 6, 7, 8]));
    let trust = Trust::new(vec![TrustedKey::plain(key.public_key())]);
    let dir = tempfile::tempdir().expect("temp dir");
    let req = request();
    let mut g = c.benchmark_group("sample");
    g.throughput(Throughput::Elements(1));

    let mut n = 0u64;
    g.bench_function("seal", |b| {
        b.iter(|| {
            n += 1;
            let out = dir.path().join(format!("{n}.zip"));
            let s = seal(&req, &key, &out, false).expect("seal");
            std::fs::remove_file(&out).expect("remove");
            s.size
        })
    });

    let bundle = dir.path().join("sample.zip");
    seal(&req, &key, &bundle, false).expect("seal");
    let opts = Options::default();
    g.bench_function("verify_file", |b| {
        b.iter(|| {
            let r = verify_path(&bundle, Some(&trust), &opts);
            assert!(r.ok);
        })
    });
    let bytes = std::fs::read(&bundle).expect("read");
    g.bench_function("verify_in_memory", |b| {
        b.iter(|| {
            let r = verify_bytes("sample.zip", &bytes, Some(&trust), &opts);
            assert!(r.ok);
        })
    });
    // The shipped bundle against the shipped public key, as `scripts/demo.sh` checks it.
    let shipped = repo("archive/sample.zip");
    let shipped_trust = Trust::from_public_key_files(&[repo("keys/sample.pub")]).expect("key");
    g.bench_function("verify_shipped", |b| {
        b.iter(|| {
            let r = verify_path(&shipped, Some(&shipped_trust), &opts);
            assert!(r.ok);
        })
    });
    g.finish();
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
