//! Format v1 test vectors: bundles made by the v1 writer with a key derived from a published
//! seed. Every vector must verify forever, and the writer must reproduce it byte for byte from
//! the same inputs (as long as the tool version recorded in it is the current one).
//!
//! To add a vector: add it to `vectors()`, run
//! `DOCSEAL_WRITE_VECTORS=1 cargo test --test integration format_vectors::`, and commit the new file.
//! Never rewrite an existing vector: old bundles must keep verifying.

use docseal::metadata::Supersedes;
use docseal::minisign::{KeyId, SecretKey};
use docseal::seal::{self, ArticleSource, SealRequest};
use docseal::verify::{self, Options, Trust, TrustedKey};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/bundle-v1")
}

/// The published test key: seed = SHA-256("docseal test vector key 1"),
/// key id = first 8 bytes of SHA-256("docseal test vector key id 1"). Never use it for anything real.
fn vector_key() -> SecretKey {
    let seed: [u8; 32] = Sha256::digest(b"docseal test vector key 1").into();
    let id: [u8; 32] = Sha256::digest(b"docseal test vector key id 1").into();
    SecretKey::from_seed(&seed, KeyId(id[..8].try_into().unwrap()))
}

fn sample_request() -> SealRequest {
    let mut req = SealRequest::new(
        ArticleSource::Path(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/000_1b4e483194c528fc.txt"),
        ),
        "https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/",
        "A thaw in Pak-Russia relations",
        "Daily Times",
        "2018-09-11",
    );
    req.authors = vec!["Usman Ghani".into()];
    req.created = Some("2026-11-27T19:00:00Z".into());
    req
}

/// (file name, request). The second supersedes the first.
fn vectors() -> Vec<(&'static str, SealRequest)> {
    let mut full = sample_request();
    full.authors = vec!["Usman Ghani".into(), "Désk Éditor".into()];
    full.retrieved = Some("2018-09-12T08:30:00+05:00".into());
    full.created = Some("2026-11-28T10:15:30+01:00".into());
    full.attachments = vec![
        dir().join("inputs/scan.png"),
        dir().join("inputs/correction-note.txt"),
    ];
    // The correction names the first vector by its identity and content digest.
    let first = verify::inspect(&dir().join("sample.zip"), &Options::default());
    full.supersedes = Some(Supersedes {
        id: first.id.expect("sample vector id"),
        sha256: first.content_sha256.expect("sample vector digest"),
    });
    vec![
        ("sample.zip", sample_request()),
        ("attachments-and-supersedes.zip", full),
    ]
}

fn trust() -> Trust {
    Trust::new(vec![TrustedKey::plain(vector_key().public_key())])
}

#[test]
fn vectors_verify_and_the_writer_reproduces_them() {
    let key = vector_key();
    let pub_path = dir().join("vector-key.pub");
    let write = std::env::var_os("DOCSEAL_WRITE_VECTORS").is_some();
    if write && !pub_path.exists() {
        std::fs::write(&pub_path, key.public_key().to_file_string()).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&pub_path).unwrap(),
        key.public_key().to_file_string(),
        "the published key"
    );
    let tmp = tempfile::tempdir().unwrap();
    for (name, req) in vectors() {
        let path = dir().join(name);
        if write && !path.exists() {
            seal::seal(&req, &key, &path, false).unwrap();
        }
        let report = verify::verify_path(&path, Some(&trust()), &Options::default());
        assert!(report.ok, "{name}: {:?}", report.findings);
        let committed = std::fs::read(&path).unwrap();
        let meta = report.metadata.expect("metadata");
        if meta.sealed_with == docseal::tool_version() {
            let again = tmp.path().join(name);
            seal::seal(&req, &key, &again, false).unwrap();
            assert!(
                std::fs::read(&again).unwrap() == committed,
                "{name}: the writer no longer reproduces the vector byte for byte"
            );
        }
    }
}

#[test]
fn vectors_pin_their_digests() {
    // The committed bytes themselves are pinned: a vector changed in place is a format break.
    let sums = std::fs::read_to_string(dir().join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (hex, name) = line.split_once("  ").unwrap();
        let got = docseal::metadata::hex(&Sha256::digest(std::fs::read(dir().join(name)).unwrap()));
        assert_eq!(got, hex, "{name}");
    }
    assert!(sums.lines().count() >= 3);
}
