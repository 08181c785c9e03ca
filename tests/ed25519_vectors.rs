//! docseal's Ed25519 acceptance against public test vectors (issue 18, "The Ed25519 core
//! against public test vectors").
//!
//! The vectors are in `tests/vectors/ed25519/` (sources and licence in its README.md):
//! Project Wycheproof's `ed25519_test.json` (151 tests) and the 10 edge cases of "Taming the
//! many EdDSAs" (Chalkias, Garillot, Nikolaenko, 2020; ed25519-speccheck's `cases.json`).
//!
//! Each vector goes through docseal's own acceptance path, piece by piece as
//! [`docseal::minisign::Signature::verify`] does it:
//! 1. the 32-byte key through [`PublicKey::from_base64`] (a public key line: `"Ed"`, a key id,
//!    the key), which refuses keys that are not curve points, non-canonical encodings and keys
//!    of small order;
//! 2. the signature through [`Signature::parse`] of a signature file carrying it, which refuses
//!    anything but exactly 64 bytes;
//! 3. the 64 bytes and the message through `strict_fast` (the function that accepts every valid
//!    signature docseal verifies) and through the whole check (`strict_fast`, then
//!    ed25519-dalek's `verify_strict` and the non-strict check for the error kind).
//!
//! Every verdict must equal ed25519-dalek's `verify_strict` on the same bytes. Against
//! Wycheproof's own `result`, docseal and `verify_strict` agree on all 151 tests. Strict
//! verification refuses what RFC 8032 lets a verifier accept in two ways: a small-order R or
//! key, and a signature that holds only under the cofactored equation (`verify_strict` checks
//! the cofactorless one); no Wycheproof test is either with a `valid` result. The test still
//! computes each disagreement and accepts it only when it is the first kind (R or A of small
//! order, the non-strict equation holding), so that a new vector file is explained rather
//! than waved through; any other disagreement fails it. The speccheck cases are made to tell
//! verification rules apart; their expected verdicts under `verify_strict`'s rules are given
//! below with the reason of each, from the paper's description of the cases.
//!
//! One difference from `verify_strict` is not reachable with vectors: docseal refuses a public
//! key whose 32 bytes are a non-canonical encoding (y >= p), which `verify_strict` would take
//! (hashing the bytes as given); a signature for such a key cannot be made without the
//! discrete logarithm of a point chosen by its y-coordinate. docs/KEYS.md says so too.
//!
//! One difference is reachable, and deliberate: docseal refuses a public key with a torsion
//! component (a mixed-order key, not in the prime-order subgroup), which `verify_strict` takes.
//! With such a key A' = A + T, the holder of A's secret can make signatures that verify
//! strictly under A' too, so one secret would count as two signers (issue 19's attack). The
//! speccheck case 3 is such a key: `verify_strict` accepts it, docseal refuses the key. The
//! check below allows exactly that disagreement (`KeyError::MixedOrderKey` on a key that is
//! of mixed order on the bytes) and no other.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use docseal::minisign::{KeyError, PublicKey, Signature, VerifyError};
use serde_json::Value;
use sha2::Digest as _;
use std::path::PathBuf;

fn vector_file(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/ed25519")
        .join(name);
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// One vector: a public key, a message, a signature (any lengths, as in the files).
struct Case {
    id: String,
    key: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
}

/// docseal's key acceptance: the key as the base64 line of a public key file.
fn docseal_key(key: &[u8]) -> Result<PublicKey, KeyError> {
    let mut raw = b"Ed".to_vec();
    raw.extend_from_slice(&[0x5a; 8]);
    raw.extend_from_slice(key);
    PublicKey::from_base64(&STANDARD.encode(raw))
}

/// docseal's signature parsing: `sig` as the signature of a signature file.
fn docseal_signature(sig: &[u8]) -> Result<Signature, KeyError> {
    let mut raw = b"ED".to_vec();
    raw.extend_from_slice(&[0x5a; 8]);
    raw.extend_from_slice(sig);
    let file = format!(
        "untrusted comment: vector\n{}\ntrusted comment: vector\n{}\n",
        STANDARD.encode(raw),
        STANDARD.encode([0u8; 64])
    );
    Signature::parse(file.as_bytes())
}

/// What docseal does with a case.
#[derive(Debug)]
enum Docseal {
    /// The public key is refused when read.
    KeyRefused(KeyError),
    /// The signature file is refused when parsed (wrong length).
    SignatureRefused(KeyError),
    /// Both parse: `strict_fast`'s verdict and the whole check's.
    Checked {
        strict_fast: bool,
        check: Result<(), VerifyError>,
    },
}

impl Docseal {
    fn accepts(&self) -> bool {
        matches!(self, Docseal::Checked { check: Ok(()), .. })
    }
}

fn docseal(c: &Case) -> Docseal {
    let key = match docseal_key(&c.key) {
        Ok(k) => k,
        Err(e) => return Docseal::KeyRefused(e),
    };
    let sig = match docseal_signature(&c.sig) {
        Ok(s) => s,
        Err(e) => return Docseal::SignatureRefused(e),
    };
    assert_eq!(sig.signature[..], c.sig[..], "{}", c.id);
    Docseal::Checked {
        strict_fast: key.ed25519_strict_fast(&c.msg, &sig.signature),
        check: key.ed25519_check(&c.msg, &sig.signature),
    }
}

/// ed25519-dalek on the raw bytes: (`verify_strict`, the non-strict `verify`).
fn dalek(c: &Case) -> (bool, bool) {
    let Ok(key) = <[u8; 32]>::try_from(&c.key[..]) else {
        return (false, false);
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key) else {
        return (false, false);
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&c.sig) else {
        return (false, false);
    };
    (
        key.verify_strict(&c.msg, &sig).is_ok(),
        ed25519_dalek::Verifier::verify(&key, &c.msg, &sig).is_ok(),
    )
}

/// Whether 32 bytes decode to a point of small order (with curve25519-dalek itself).
fn small_order(bytes: &[u8]) -> bool {
    <[u8; 32]>::try_from(bytes)
        .ok()
        .and_then(|b| curve25519_dalek::edwards::CompressedEdwardsY(b).decompress())
        .is_some_and(|p| p.is_small_order())
}

/// Whether 32 bytes decode to a point of mixed order: not of small order, with a torsion
/// component (not in the prime-order subgroup).
fn mixed_order(bytes: &[u8]) -> bool {
    <[u8; 32]>::try_from(bytes)
        .ok()
        .and_then(|b| curve25519_dalek::edwards::CompressedEdwardsY(b).decompress())
        .is_some_and(|p| !p.is_small_order() && !p.is_torsion_free())
}

/// The check every case must pass: docseal's verdict is `verify_strict`'s, `strict_fast`
/// alone gives it too, and a refusal has the error kind the non-strict check implies.
/// Returns docseal's verdict.
fn assert_docseal_is_verify_strict(c: &Case) -> bool {
    let (strict, lax) = dalek(c);
    let d = docseal(c);
    match &d {
        Docseal::KeyRefused(e) => {
            // Every key refused here is one `verify_strict` cannot accept a signature for (not
            // a point, or of small order; no vector has a non-canonical key that is not), or a
            // mixed-order key, which docseal refuses on purpose (see the module comment).
            let mixed = matches!(e, KeyError::MixedOrderKey) && mixed_order(&c.key);
            assert!(
                !strict || mixed,
                "{}: key refused ({e}) but verify_strict accepts",
                c.id
            );
            if mixed {
                return false;
            }
        }
        Docseal::SignatureRefused(e) => {
            assert_ne!(c.sig.len(), 64, "{}: 64-byte signature refused: {e}", c.id);
            assert!(matches!(e, KeyError::Malformed { what, .. } if *what == "signature"));
            assert!(!strict, "{}", c.id);
        }
        Docseal::Checked { strict_fast, check } => {
            assert_eq!(*strict_fast, strict, "{}: strict_fast", c.id);
            let want = if strict {
                Ok(())
            } else if lax {
                Err(VerifyError::NotStrict)
            } else {
                Err(VerifyError::Invalid("signature"))
            };
            assert_eq!(*check, want, "{}: the whole check", c.id);
        }
    }
    assert_eq!(d.accepts(), strict, "{}: {d:?}", c.id);
    d.accepts()
}

/// Wycheproof's tests: (case, whether `result` is `valid`).
fn wycheproof_cases() -> Vec<(Case, bool)> {
    let file = vector_file("wycheproof_ed25519_test.json");
    assert_eq!(file["algorithm"], "EDDSA");
    let mut cases = Vec::new();
    for group in file["testGroups"].as_array().unwrap() {
        let key = unhex(group["publicKey"]["pk"].as_str().unwrap());
        for t in group["tests"].as_array().unwrap() {
            let result = t["result"].as_str().unwrap();
            assert!(result == "valid" || result == "invalid", "{result}");
            cases.push((
                Case {
                    id: format!("wycheproof tcId {}", t["tcId"]),
                    key: key.clone(),
                    msg: unhex(t["msg"].as_str().unwrap()),
                    sig: unhex(t["sig"].as_str().unwrap()),
                },
                result == "valid",
            ));
        }
    }
    assert_eq!(
        file["numberOfTests"].as_u64(),
        Some(cases.len() as u64),
        "numberOfTests"
    );
    cases
}

/// The speccheck cases, in the file's order (case 0 first).
fn speccheck_cases() -> Vec<Case> {
    let file = vector_file("speccheck_cases.json");
    file.as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| Case {
            id: format!("speccheck case {i}"),
            key: unhex(c["pub_key"].as_str().unwrap()),
            msg: unhex(c["message"].as_str().unwrap()),
            sig: unhex(c["signature"].as_str().unwrap()),
        })
        .collect()
}

#[test]
fn issue18_ed25519_wycheproof_verdicts_equal_verify_strict() {
    let cases = wycheproof_cases();
    assert_eq!(cases.len(), 151);
    let (mut accepted, mut refused, mut differ) = (0, 0, Vec::new());
    for (c, valid) in &cases {
        let accepts = assert_docseal_is_verify_strict(c);
        if accepts {
            accepted += 1;
        } else {
            refused += 1;
        }
        if accepts != *valid {
            // Only strictness may make docseal differ from Wycheproof: a signature Wycheproof
            // calls valid that holds under the non-strict equation, with R or the key of small
            // order. Anything else is a bug in docseal or in this reading of the file.
            let (_, lax) = dalek(c);
            let strictness = *valid
                && lax
                && c.sig.len() == 64
                && (small_order(&c.sig[..32]) || small_order(&c.key));
            assert!(
                strictness,
                "{}: docseal {accepts}, Wycheproof {valid}",
                c.id
            );
            differ.push(c.id.clone());
        }
    }
    // The counts of the file: 88 valid, 63 invalid, and no strictness difference in it.
    assert_eq!((accepted, refused), (88, 63));
    assert!(differ.is_empty(), "differ from Wycheproof: {differ:?}");
}

#[test]
fn issue18_ed25519_speccheck_verdicts_equal_verify_strict() {
    let cases = speccheck_cases();
    assert_eq!(cases.len(), 10);
    // (case, verdict under verify_strict's rules, why), from the paper's section 5.1: cases
    // 0-3 pass both the cofactored and the cofactorless equation, 0-2 with R, A or both of
    // small order; 4 passes only the cofactored one; 5 only where the scalar is not
    // pre-reduced (cofactored); 6-7 have S >= L; 8-9 a non-canonical small-order R.
    let expected: [(bool, &str); 10] = [
        (false, "A and R of small order"),
        (false, "A of small order"),
        (false, "R of small order"),
        // verify_strict accepts it; docseal refuses the mixed-order key itself.
        (
            false,
            "mixed-order A and R: docseal refuses a key with a torsion component",
        ),
        (false, "only the cofactored equation holds"),
        (false, "only the cofactored equation holds"),
        (false, "S is not canonical (S >= L)"),
        (false, "S is not canonical (S >= L)"),
        (
            false,
            "R is a non-canonical encoding of a small-order point",
        ),
        (
            false,
            "R is a non-canonical encoding of a small-order point",
        ),
    ];
    for (c, (want, why)) in cases.iter().zip(expected) {
        let accepts = assert_docseal_is_verify_strict(c);
        assert_eq!(accepts, want, "{}: {why}", c.id);
    }
    // The reasons hold on the bytes (so the table above describes these files).
    let key_small = |i: usize| small_order(&cases[i].key);
    let r_small = |i: usize| small_order(&cases[i].sig[..32]);
    assert!(key_small(0) && r_small(0));
    assert!(key_small(1) && !r_small(1));
    assert!(!key_small(2) && r_small(2));
    for i in 3..=5 {
        assert!(!key_small(i) && !r_small(i), "case {i}");
    }
    assert!(dalek(&cases[3]).1, "case 3: cofactorless");
    assert!(!dalek(&cases[4]).1 && !dalek(&cases[5]).1, "cases 4, 5");
    for i in [6, 7] {
        let s: [u8; 32] = cases[i].sig[32..].try_into().unwrap();
        assert!(bool::from(
            curve25519_dalek::Scalar::from_canonical_bytes(s).is_none()
        ));
    }
    for i in [8, 9] {
        let r: [u8; 32] = cases[i].sig[..32].try_into().unwrap();
        let p = curve25519_dalek::edwards::CompressedEdwardsY(r)
            .decompress()
            .unwrap();
        assert!(
            p.is_small_order() && p.compress().to_bytes() != r,
            "case {i}"
        );
    }
}

/// Issue 18, proposal 3: the pair check (`Signature::verify` checks its signature and global
/// signature together, with one field inversion) on every ordered pair of vectors by one key
/// (Wycheproof's test groups share keys; each speccheck case is paired with itself): the two
/// verdicts of `strict_fast_pair` equal `verify_strict`'s, and the whole pair check equals the
/// two one-signature checks in order (the first error wins, with its label).
#[test]
fn issue18_proposal3_vector_pairs_through_the_pair_check_equal_verify_strict() {
    let mut all: Vec<Case> = wycheproof_cases().into_iter().map(|(c, _)| c).collect();
    all.extend(speccheck_cases());
    let mut by_key: Vec<(Vec<u8>, Vec<&Case>)> = Vec::new();
    for c in &all {
        if c.sig.len() != 64 || docseal_key(&c.key).is_err() {
            continue;
        }
        match by_key.iter_mut().find(|(k, _)| *k == c.key) {
            Some((_, v)) => v.push(c),
            None => by_key.push((c.key.clone(), vec![c])),
        }
    }
    let (mut pairs, mut both_valid, mut mixed) = (0, 0, 0);
    for (k, cases) in &by_key {
        let key = docseal_key(k).unwrap();
        let one = |c: &Case, label: &'static str| {
            let (strict, lax) = dalek(c);
            if strict {
                Ok(())
            } else if lax {
                Err(VerifyError::NotStrict)
            } else {
                Err(VerifyError::Invalid(label))
            }
        };
        for x in cases {
            for y in cases {
                let (sx, sy): ([u8; 64], [u8; 64]) =
                    (x.sig[..].try_into().unwrap(), y.sig[..].try_into().unwrap());
                let want = [dalek(x).0, dalek(y).0];
                assert_eq!(
                    key.ed25519_strict_fast_pair((&x.msg, &sx), (&y.msg, &sy)),
                    want,
                    "{} / {}",
                    x.id,
                    y.id
                );
                assert_eq!(
                    key.ed25519_check_pair((&x.msg, &sx), (&y.msg, &sy)),
                    one(x, "signature").and_then(|()| one(y, "global signature")),
                    "{} / {}",
                    x.id,
                    y.id
                );
                pairs += 1;
                match want {
                    [true, true] => both_valid += 1,
                    [a, b] if a != b => mixed += 1,
                    _ => {}
                }
            }
        }
    }
    // Both kinds that matter were reached: two valid signatures (the shared inversion) and a
    // valid one beside an invalid one, in both orders.
    assert!(
        pairs > 1000 && both_valid > 100 && mixed > 100,
        "{pairs} {both_valid} {mixed}"
    );
}

/// Writes the seeds of the `ed25519` fuzz target (`fuzz/corpus/ed25519/seed-*`, input format in
/// `fuzz/fuzz_targets/ed25519_oracle.rs`): every vector above with a 32-byte key and a 64-byte
/// signature as a raw input, and one signature made by the target for each of the 64 pairs of
/// small-order components of the key and R, and with a non-canonical S (S + L).
/// `cargo test --test integration ed25519_vectors:: -- --ignored write_ed25519_fuzz_seeds`
#[test]
#[ignore]
fn write_ed25519_fuzz_seeds() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/ed25519");
    std::fs::create_dir_all(&dir).unwrap();
    let raw = |c: &Case| {
        let mut v = vec![0u8];
        v.extend_from_slice(&c.key);
        v.extend_from_slice(&c.sig);
        v.extend_from_slice(&c.msg);
        v
    };
    let mut n = 0;
    for (c, _) in wycheproof_cases() {
        if c.key.len() == 32 && c.sig.len() == 64 {
            let id = c.id.strip_prefix("wycheproof tcId ").unwrap();
            std::fs::write(dir.join(format!("seed-wycheproof-{id:0>3}")), raw(&c)).unwrap();
            n += 1;
        }
    }
    for (i, c) in speccheck_cases().iter().enumerate() {
        std::fs::write(dir.join(format!("seed-speccheck-{i}")), raw(c)).unwrap();
        n += 1;
    }
    // Made signatures: secret scalar and nonce from SHA-512 of fixed strings, a zero mask.
    let a: [u8; 64] = sha2::Sha512::digest(b"docseal ed25519 fuzz seed secret").into();
    let r: [u8; 64] = sha2::Sha512::digest(b"docseal ed25519 fuzz seed nonce").into();
    for mode in (0x80u8..0xc0).chain([0xc0, 0xc9]) {
        let mut v = vec![mode];
        v.extend_from_slice(&a[..32]);
        v.extend_from_slice(&r[..32]);
        v.extend_from_slice(&[0u8; 32]);
        v.extend_from_slice(b"docseal ed25519 fuzz seed message");
        std::fs::write(dir.join(format!("seed-made-{mode:02x}")), v).unwrap();
        n += 1;
    }
    eprintln!("wrote {n} seeds to {}", dir.display());
}
