use super::ed25519::*;
use super::kdf::*;
use super::public::*;
use super::secret::*;
use super::signature::*;
use super::*;
use base64::engine::general_purpose::STANDARD;
use blake2::Blake2b512;

const DATA: &[u8] = b"tagmanifest-sha256.txt contents\n";

fn test_key() -> SecretKey {
    SecretKey::from_seed(&[7u8; 32], KeyId([1, 2, 3, 4, 5, 6, 7, 8]))
}

/// KDF limits 0, 0: libsodium derives N = 2, r = 8, p = 512 (512 KiB, instant).
const FAST_OPS: u64 = 0;
const FAST_MEM: u64 = 0;

fn is_malformed(r: &Result<impl fmt::Debug, KeyError>, want: &str) -> bool {
    matches!(r, Err(KeyError::Malformed { what, .. }) if *what == want)
}

// ----- key ids, public keys -------------------------------------------------------------

#[test]
fn key_id_display_is_le_hex() {
    assert_eq!(
        KeyId([0x62, 0xf2, 0xa5, 0xc6, 0x39, 0xa6, 0xfa, 0x77]).to_string(),
        "77FAA639C6A5F262"
    );
    assert_eq!(
        KeyId([1, 0, 0, 0, 0, 0, 0, 0]).to_string(),
        "0000000000000001"
    );
}

#[test]
fn public_key_round_trip() {
    let pk = test_key().public_key();
    let text = pk.to_file_string();
    assert!(text.starts_with("untrusted comment: minisign public key 0807060504030201\n"));
    assert_eq!(text.lines().count(), 2);
    assert_eq!(PublicKey::from_file_bytes(text.as_bytes()).unwrap(), pk);
    assert_eq!(PublicKey::from_base64(&pk.to_base64()).unwrap(), pk);
    assert_eq!(pk.to_base64().len(), 56);
}

/// A public key as written by `minisign -G -W` 0.11 (this machine, see docs/KEYS.md).
const MINISIGN_PUB: &str = "untrusted comment: minisign public key 77FAA639C6A5F262\n\
                                RWRi8qXGOab6d1vBHkhwBOtQjfO4nO6KeJNqTgQORu0+O1Vh0wmBCyon\n";
/// The matching secret key file (`-W`: unencrypted, zero checksum).
const MINISIGN_KEY: &str = "untrusted comment: minisign encrypted secret key\n\
RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAYvKlxjmm+newEBPURUGErv6DgjqvO4zHcj7fhgC2Mt9DBWKHjxEKdFvBHkhwBOtQjfO4nO6KeJNqTgQORu0+O1Vh0wmBCyonAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

#[test]
fn reads_minisign_written_files() {
    let pk = PublicKey::from_file_bytes(MINISIGN_PUB.as_bytes()).unwrap();
    assert_eq!(pk.key_id().to_string(), "77FAA639C6A5F262");
    assert!(!SecretKey::file_is_encrypted(MINISIGN_KEY.as_bytes()).unwrap());
    let sk = SecretKey::from_file_bytes(MINISIGN_KEY.as_bytes(), None).unwrap();
    assert_eq!(sk.public_key(), pk);
    // Our unencrypted form: same block except the (real) checksum.
    let ours = sk.to_file_string(None).unwrap();
    let line = |s: &str| s.lines().nth(1).unwrap().to_owned();
    let (a, b) = (
        STANDARD.decode(line(&ours)).unwrap(),
        STANDARD.decode(line(MINISIGN_KEY)).unwrap(),
    );
    assert_eq!(a[..SK_CHK], b[..SK_CHK]);
    assert_ne!(a[SK_CHK..], b[SK_CHK..]);
    assert!(ours.starts_with("untrusted comment: minisign unencrypted secret key\n"));
}

#[test]
fn public_key_strict_structure() {
    let good = test_key().public_key().to_file_string();
    let b64 = test_key().public_key().to_base64();
    let bad: Vec<String> = vec![
        String::new(),
        good.replace('\n', "\r\n"),
        good.trim_end().to_owned(),
        format!("{good}\n"),
        format!("{good}extra\n"),
        format!("{b64}\n"),
        format!("comment without prefix\n{b64}\n"),
        format!("untrusted comment: x\n{b64} \n"),
        format!("untrusted comment: x\n{}\n", &b64[..52]),
        format!("untrusted comment: x\n{b64}=\n"),
        format!("untrusted comment: x\n{b64}AAAA\n"),
        format!("untrusted comment: tab\there\n{b64}\n"),
        format!(
            "untrusted comment: {}\n{b64}\n",
            "x".repeat(MAX_UNTRUSTED_COMMENT_BYTES + 1)
        ),
    ];
    for text in bad {
        let r = PublicKey::from_file_bytes(text.as_bytes());
        assert!(is_malformed(&r, "public key"), "{text:?} gave {r:?}");
    }
    let ok = format!(
        "untrusted comment: {}\n{b64}\n",
        "é".repeat(MAX_UNTRUSTED_COMMENT_BYTES / 2)
    );
    assert!(PublicKey::from_file_bytes(ok.as_bytes()).is_ok());
    assert!(PublicKey::from_file_bytes(b"untrusted comment: \xff\nAAAA\n").is_err());
}

fn pk_line(alg: &[u8; 2], point: &[u8; 32]) -> String {
    let mut raw = Vec::new();
    raw.extend_from_slice(alg);
    raw.extend_from_slice(&[9; 8]);
    raw.extend_from_slice(point);
    STANDARD.encode(raw)
}

#[test]
fn weak_and_invalid_public_keys_refused() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        PublicKey::from_base64(&pk_line(b"Ed", &identity)),
        Err(KeyError::WeakKey)
    ));
    // Order-2 point (0, -1): y = p - 1.
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    assert!(matches!(
        PublicKey::from_base64(&pk_line(b"Ed", &minus_one)),
        Err(KeyError::WeakKey)
    ));
    // A y that is not on the curve.
    let mut found_invalid = false;
    for y in 2u8..=50 {
        let mut enc = [0u8; 32];
        enc[0] = y;
        if ed25519_dalek::VerifyingKey::from_bytes(&enc).is_err() {
            assert!(is_malformed(
                &PublicKey::from_base64(&pk_line(b"Ed", &enc)),
                "public key"
            ));
            found_invalid = true;
        }
    }
    assert!(found_invalid);
    // Non-canonical encodings y + p (y < 19) of points that are not small-order.
    let mut found_noncanonical = false;
    for y in 2u8..=18 {
        let mut enc = [0xffu8; 32];
        enc[0] = 0xed + y;
        enc[31] = 0x7f;
        if let Ok(k) = ed25519_dalek::VerifyingKey::from_bytes(&enc) {
            if !k.is_weak() {
                assert!(is_malformed(
                    &PublicKey::from_base64(&pk_line(b"Ed", &enc)),
                    "public key"
                ));
                found_noncanonical = true;
            }
        }
    }
    assert!(found_noncanonical);
    let good = *test_key().public_key().verifying_key().as_bytes();
    assert!(
        matches!(PublicKey::from_base64(&pk_line(b"ED", &good)), Err(KeyError::Algorithm(a)) if a == "ED")
    );
    assert!(PublicKey::from_base64(&pk_line(b"Ed", &good)).is_ok());
}

// ----- secret keys ----------------------------------------------------------------------

#[test]
fn pick_params_matches_libsodium() {
    // Sensitive (minisign's default), interactive, and the minimum.
    assert_eq!(
        pick_params(33_554_432, 1_073_741_824),
        ScryptParams {
            log_n: 20,
            r: 8,
            p: 1
        }
    );
    assert_eq!(
        pick_params(524_288, 16_777_216),
        ScryptParams {
            log_n: 14,
            r: 8,
            p: 1
        }
    );
    assert_eq!(
        pick_params(0, 0),
        ScryptParams {
            log_n: 1,
            r: 8,
            p: 512
        }
    );
    // opslimit < memlimit / 32: p = 1, N from opslimit.
    assert_eq!(
        pick_params(1 << 20, 1 << 30),
        ScryptParams {
            log_n: 15,
            r: 8,
            p: 1
        }
    );
    let p = kdf_params(KDF_OPSLIMIT_DEFAULT, KDF_MEMLIMIT_DEFAULT).unwrap();
    assert_eq!((p.log_n(), p.r(), p.p()), (20, 8, 1));
}

#[test]
fn kdf_limits() {
    assert!(kdf_params(KDF_OPSLIMIT_MAX, KDF_MEMLIMIT_MAX).is_ok());
    assert!(matches!(
        kdf_params(KDF_OPSLIMIT_MAX + 1, 0),
        Err(KeyError::KdfLimits { .. })
    ));
    assert!(matches!(
        kdf_params(0, KDF_MEMLIMIT_MAX + 1),
        Err(KeyError::KdfLimits { .. })
    ));
    assert!(matches!(
        kdf_params(u64::MAX, u64::MAX),
        Err(KeyError::KdfLimits { .. })
    ));
    // Tiny memlimit with a huge opslimit: N = 2, p = 2^27 -> a 128 GiB B buffer.
    assert!(matches!(
        kdf_params(KDF_OPSLIMIT_MAX, 0),
        Err(KeyError::KdfLimits { .. })
    ));
    // No accepted (opslimit, memlimit) pair derives parameters scrypt refuses: spot checks.
    for ops in [
        0,
        1,
        32_767,
        32_768,
        1 << 20,
        1 << 25,
        1 << 30,
        KDF_OPSLIMIT_MAX,
    ] {
        for mem in [0, 1, 1 << 10, 1 << 24, 1 << 30, KDF_MEMLIMIT_MAX] {
            if let Ok(p) = kdf_params(ops, mem) {
                assert!(p.p() >= 1 && (128 * u64::from(p.r())) << p.log_n() <= KDF_MEMLIMIT_MAX);
            }
        }
    }
}

/// Replace the opslimit/memlimit of an encrypted file (they are outside the checksum).
fn with_limits(file: &str, ops: u64, mem: u64) -> String {
    let mut raw = STANDARD.decode(file.lines().nth(1).unwrap()).unwrap();
    raw[SK_OPSLIMIT..SK_OPSLIMIT + 8].copy_from_slice(&ops.to_le_bytes());
    raw[SK_MEMLIMIT..SK_MEMLIMIT + 8].copy_from_slice(&mem.to_le_bytes());
    format!(
        "{}\n{}\n",
        file.lines().next().unwrap(),
        STANDARD.encode(raw)
    )
}

#[test]
fn kdf_limits_checked_before_scrypt() {
    let file = test_key()
        .to_file_string_with_kdf(b"pw", FAST_OPS, FAST_MEM)
        .unwrap();
    let t = std::time::Instant::now();
    for (ops, mem) in [
        (1 << 40, 1 << 20),
        (1 << 20, 1 << 40),
        (u64::MAX, u64::MAX),
        (KDF_OPSLIMIT_MAX, 0),
    ] {
        let r = SecretKey::from_file_bytes(with_limits(&file, ops, mem).as_bytes(), Some(b"pw"));
        assert!(
            matches!(r, Err(KeyError::KdfLimits { .. })),
            "{ops} {mem}: {r:?}"
        );
    }
    assert!(t.elapsed() < std::time::Duration::from_secs(1));
    // Checked without a passphrase too, so callers can refuse before prompting.
    let huge = with_limits(&file, 1 << 40, 1 << 20);
    assert!(matches!(
        SecretKey::file_is_encrypted(huge.as_bytes()),
        Err(KeyError::KdfLimits { .. })
    ));
    assert!(matches!(
        SecretKey::from_file_bytes(huge.as_bytes(), None),
        Err(KeyError::KdfLimits { .. })
    ));
    // Refused when writing too.
    assert!(matches!(
        test_key().to_file_string_with_kdf(b"pw", 1 << 40, 0),
        Err(KeyError::KdfLimits { .. })
    ));
}

#[test]
fn unencrypted_secret_key_round_trip() {
    let sk = test_key();
    let text = sk.to_file_string(None).unwrap();
    assert!(!SecretKey::file_is_encrypted(text.as_bytes()).unwrap());
    let back = SecretKey::from_file_bytes(text.as_bytes(), None).unwrap();
    assert_eq!(back.key_id(), sk.key_id());
    assert_eq!(back.public_key(), sk.public_key());
    // A passphrase is ignored for an unencrypted key.
    assert!(SecretKey::from_file_bytes(text.as_bytes(), Some(b"x")).is_ok());
    let raw = STANDARD.decode(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(raw.len(), SK_LEN);
    assert_eq!(&raw[..6], b"Ed\0\0B2");
    assert!(raw[SK_SALT..SK_KEYNUM_SK].iter().all(|&b| b == 0));
    assert_eq!(&raw[SK_KEYNUM..SK_KEYNUM + 8], &sk.key_id().0);
    assert_eq!(&raw[SK_SEED..SK_SEED + 32], &[7u8; 32]);
    assert_eq!(
        &raw[SK_PK..SK_PK + 32],
        sk.public_key().verifying_key().as_bytes()
    );
}

fn edit_block(text: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut raw = STANDARD.decode(text.lines().nth(1).unwrap()).unwrap();
    f(&mut raw);
    format!(
        "{}\n{}\n",
        text.lines().next().unwrap(),
        STANDARD.encode(raw)
    )
}

#[test]
fn unencrypted_checksum_checked() {
    let text = test_key().to_file_string(None).unwrap();
    let corrupt = edit_block(&text, |r| r[SK_SEED] ^= 1);
    assert!(matches!(
        SecretKey::from_file_bytes(corrupt.as_bytes(), None),
        Err(KeyError::Checksum)
    ));
    let corrupt = edit_block(&text, |r| r[SK_CHK + 5] ^= 1);
    assert!(matches!(
        SecretKey::from_file_bytes(corrupt.as_bytes(), None),
        Err(KeyError::Checksum)
    ));
    // Zero checksum (as `minisign -G -W` writes) is accepted...
    let zero = edit_block(&text, |r| r[SK_CHK..].fill(0));
    assert!(SecretKey::from_file_bytes(zero.as_bytes(), None).is_ok());
    // ...but the public half must still match the seed.
    let mismatch = edit_block(&zero, |r| r[SK_PK] ^= 1);
    assert!(is_malformed(
        &SecretKey::from_file_bytes(mismatch.as_bytes(), None),
        "secret key"
    ));
}

#[test]
fn secret_key_algorithms() {
    let text = test_key().to_file_string(None).unwrap();
    for (at, alg) in [
        (SK_SIG_ALG, *b"ED"),
        (SK_KDF_ALG, *b"Ar"),
        (SK_CHK_ALG, *b"B3"),
    ] {
        let t = edit_block(&text, |r| r[at..at + 2].copy_from_slice(&alg));
        assert!(matches!(
            SecretKey::from_file_bytes(t.as_bytes(), None),
            Err(KeyError::Algorithm(_))
        ));
        assert!(matches!(
            SecretKey::file_is_encrypted(t.as_bytes()),
            Err(KeyError::Algorithm(_))
        ));
    }
    let bad = ["", "untrusted comment: x\n", "untrusted comment: x\nAAAA\n"];
    for b in bad {
        assert!(is_malformed(
            &SecretKey::from_file_bytes(b.as_bytes(), None),
            "secret key"
        ));
    }
    let crlf = text.replace('\n', "\r\n");
    assert!(is_malformed(
        &SecretKey::from_file_bytes(crlf.as_bytes(), None),
        "secret key"
    ));
}

#[test]
fn encrypted_secret_key_fast_params() {
    let sk = test_key();
    let text = sk
        .to_file_string_with_kdf(b"correct horse", FAST_OPS, FAST_MEM)
        .unwrap();
    assert!(text.starts_with("untrusted comment: minisign encrypted secret key\n"));
    assert!(SecretKey::file_is_encrypted(text.as_bytes()).unwrap());
    let raw = STANDARD.decode(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(&raw[..6], b"EdScB2");
    // The key id is encrypted too.
    assert_ne!(&raw[SK_KEYNUM..SK_KEYNUM + 8], &sk.key_id().0);
    let back = SecretKey::from_file_bytes(text.as_bytes(), Some(b"correct horse")).unwrap();
    assert_eq!(back.public_key(), sk.public_key());
    assert!(matches!(
        SecretKey::from_file_bytes(text.as_bytes(), None),
        Err(KeyError::PassphraseRequired)
    ));
    assert!(matches!(
        SecretKey::from_file_bytes(text.as_bytes(), Some(b"wrong horse")),
        Err(KeyError::WrongPassphrase)
    ));
    assert!(matches!(
        SecretKey::from_file_bytes(text.as_bytes(), Some(b"")),
        Err(KeyError::WrongPassphrase)
    ));
    // Two encryptions use different salts.
    let again = sk
        .to_file_string_with_kdf(b"correct horse", FAST_OPS, FAST_MEM)
        .unwrap();
    assert_ne!(*text, *again);
    // Passphrases minisign could not read back.
    for p in [
        &b"a\nb"[..],
        b"a\0b",
        b"a\r",
        &[b'x'; MAX_PASSPHRASE_BYTES + 1],
    ] {
        assert!(is_malformed(&sk.to_file_string(Some(p)), "secret key"));
    }
}

#[test]
fn encrypted_secret_key_default_params() {
    // minisign's defaults: N = 2^20, r = 8, p = 1 (1 GiB, a few seconds).
    let sk = SecretKey::generate();
    let text = sk.to_file_string(Some(b"pass phrase")).unwrap();
    let raw = STANDARD.decode(text.lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        raw[SK_OPSLIMIT..SK_OPSLIMIT + 8],
        KDF_OPSLIMIT_DEFAULT.to_le_bytes()
    );
    assert_eq!(
        raw[SK_MEMLIMIT..SK_MEMLIMIT + 8],
        KDF_MEMLIMIT_DEFAULT.to_le_bytes()
    );
    let back = SecretKey::from_file_bytes(text.as_bytes(), Some(b"pass phrase")).unwrap();
    assert_eq!(back.public_key(), sk.public_key());
}

#[test]
fn generate_is_random_and_debug_redacts() {
    let (a, b) = (SecretKey::generate(), SecretKey::generate());
    assert_ne!(a.key_id(), b.key_id());
    assert_ne!(a.public_key(), b.public_key());
    let sk = test_key();
    let dbg = format!("{sk:?}");
    assert_eq!(dbg, "SecretKey(0807060504030201, <redacted>)");
    let seed_hex: String = [7u8; 32].iter().map(|b| format!("{b:02x}")).collect();
    assert!(!dbg.contains(&seed_hex) && !dbg.contains("7, 7"));
}

// ----- signatures -----------------------------------------------------------------------

#[test]
fn sign_verify_round_trip() {
    let sk = test_key();
    let pk = sk.public_key();
    let sig = sk.sign(
        DATA,
        "docseal signature from key 0807060504030201",
        "docseal v1 bundle=x",
    );
    assert!(sig.prehashed);
    assert_eq!(sig.key_id, sk.key_id());
    sig.verify(&pk, DATA).unwrap();
    let text = sig.to_file_string();
    assert_eq!(text.lines().count(), 4);
    assert!(text.starts_with("untrusted comment: docseal signature from key 0807060504030201\n"));
    assert!(text.contains("\ntrusted comment: docseal v1 bundle=x\n"));
    assert!(text.ends_with("==\n"));
    let parsed = Signature::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, sig);
    parsed.verify(&pk, DATA).unwrap();
    // Deterministic.
    assert_eq!(
        sk.sign(
            DATA,
            "docseal signature from key 0807060504030201",
            "docseal v1 bundle=x"
        ),
        sig
    );
    // Empty data and empty comments.
    let e = sk.sign(b"", "", "");
    Signature::parse(e.to_file_string().as_bytes())
        .unwrap()
        .verify(&pk, b"")
        .unwrap();
}

#[test]
fn minisign_verify_crate_accepts_our_signatures() {
    let sk = SecretKey::generate();
    let pk = minisign_verify::PublicKey::from_base64(&sk.public_key().to_base64()).unwrap();
    let pk_file = minisign_verify::PublicKey::decode(&sk.public_key().to_file_string()).unwrap();
    for (data, tc) in [
        (DATA, "t"),
        (&b""[..], ""),
        (&[0u8; 100_000][..], "ünïcödé trusted comment"),
    ] {
        let text = sk.sign(data, "u", tc).to_file_string();
        let sig = minisign_verify::Signature::decode(&text).unwrap();
        assert_eq!(sig.trusted_comment(), tc);
        pk.verify(data, &sig, false).unwrap();
        pk_file.verify(data, &sig, false).unwrap();
        assert!(pk.verify(b"other data", &sig, false).is_err());
    }
}

/// `strict_fast` must accept exactly what ed25519-dalek's `verify_strict` accepts.
#[test]
// Longer than 80 lines: a test: every class of case (valid, mutated, non-canonical, small
// order, mixed order) against the reference.
fn strict_fast_agrees_with_verify_strict() {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use ed25519_dalek::{SigningKey, VerifyingKey};
    use sha2::{Digest as _, Sha512};

    // The table of small-order encodings: eight distinct canonical encodings of points of
    // small order, among them the identity and the point of order 2.
    let table = small_order_encodings();
    for (i, e) in table.iter().enumerate() {
        let p = CompressedEdwardsY(*e).decompress().unwrap();
        assert!(p.is_small_order() && p.compress().to_bytes() == *e);
        assert!(!table[..i].contains(e));
    }
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order2 = [0xff; 32];
    order2[0] = 0xec;
    order2[31] = 0x7f;
    assert!(table.contains(&identity) && table.contains(&order2));

    fn agree(key: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> bool {
        assert!(!key.is_weak(), "strict_fast's precondition");
        let fast = strict_fast(key, msg, sig);
        let dalek = key
            .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
            .is_ok();
        assert_eq!(fast, dalek, "sig {sig:02x?} msg {msg:02x?}");
        fast
    }
    fn k_of(r: &[u8], a: &[u8], msg: &[u8]) -> Scalar {
        Scalar::from_hash(
            Sha512::new()
                .chain_update(r)
                .chain_update(a)
                .chain_update(msg),
        )
    }
    // A point with a torsion component of order 8: Q minus its prime-order part.
    let torsion = order8_point();
    assert!(torsion.is_small_order() && torsion != EdwardsPoint::default());

    // Valid signatures, and every one-bit change of one of them.
    let sk = SigningKey::from_bytes(&[9; 32]);
    let vk = sk.verifying_key();
    for i in 0..32u32 {
        let msg = format!("message {i}");
        let sig = sk.sign(msg.as_bytes()).to_bytes();
        assert!(agree(&vk, msg.as_bytes(), &sig));
    }
    let sig = sk.sign(b"m").to_bytes();
    for bit in 0..512 {
        let mut bad = sig;
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(!agree(&vk, b"m", &bad));
    }
    // S + l: not canonical.
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig[32..]);
    let mut high = sig;
    let (mut carry, l) = (0u16, GROUP_ORDER);
    for i in 0..32 {
        let v = s[i] as u16 + l[i] as u16 + carry;
        high[32 + i] = v as u8;
        carry = v >> 8;
    }
    assert!(carry == 0 && !agree(&vk, b"m", &high));

    // R with a torsion component added, signed correctly for that R.
    let a = Scalar::from_bytes_mod_order([5; 32]);
    let pk = EdwardsPoint::mul_base(&a);
    let key = VerifyingKey::from_bytes(pk.compress().as_bytes()).unwrap();
    let r_point = EdwardsPoint::mul_base(&Scalar::from(77u8)) + torsion;
    let r = r_point.compress().to_bytes();
    let k = k_of(&r, pk.compress().as_bytes(), b"m");
    let s = Scalar::from(77u8) + k * a;
    let mut mixed = [0u8; 64];
    mixed[..32].copy_from_slice(&r);
    mixed[32..].copy_from_slice(s.as_bytes());
    assert!(!agree(&key, b"m", &mixed));

    // A mixed-order key, and a small-order R that the equation holds for: only the
    // small-order checks refuse it (ground over messages until k makes it hold).
    let mixed_pk = pk + torsion;
    let mixed_key = VerifyingKey::from_bytes(mixed_pk.compress().as_bytes()).unwrap();
    let mut found = 0;
    for i in 0u32..400 {
        let msg = i.to_le_bytes();
        for r_point in [
            torsion,
            -torsion,
            torsion + torsion,
            torsion + torsion + torsion + torsion,
        ] {
            let r = r_point.compress().to_bytes();
            let k = k_of(&r, mixed_pk.compress().as_bytes(), &msg);
            let s = k * a;
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&r);
            sig[32..].copy_from_slice(s.as_bytes());
            // The lax equation: [s]B - [k]A == R.
            if EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-mixed_pk, &s) == r_point {
                found += 1;
                assert!(!agree(&mixed_key, &msg, &sig));
                let lax = ed25519_dalek::Verifier::verify(
                    &mixed_key,
                    &msg,
                    &ed25519_dalek::Signature::from_bytes(&sig),
                );
                assert!(lax.is_ok(), "the lax rules accept it");
            }
        }
    }
    assert!(found > 10, "{found} small-order cases");
}

#[test]
fn tampering_detected() {
    let sk = test_key();
    let pk = sk.public_key();
    let sig = sk.sign(DATA, "u", "trusted");
    let mut t = sig.clone();
    t.trusted_comment = "trusted!".into();
    assert_eq!(
        t.verify(&pk, DATA),
        Err(VerifyError::Invalid("global signature"))
    );
    // Tampered comment in the file text.
    let text = sig
        .to_file_string()
        .replace("trusted comment: trusted", "trusted comment: trustee");
    assert_eq!(
        Signature::parse(text.as_bytes()).unwrap().verify(&pk, DATA),
        Err(VerifyError::Invalid("global signature"))
    );
    assert_eq!(
        sig.verify(&pk, b"other"),
        Err(VerifyError::Invalid("signature"))
    );
    let mut t = sig.clone();
    t.signature[3] ^= 1;
    assert_eq!(t.verify(&pk, DATA), Err(VerifyError::Invalid("signature")));
    let mut t = sig.clone();
    t.global_signature[40] ^= 1;
    assert_eq!(
        t.verify(&pk, DATA),
        Err(VerifyError::Invalid("global signature"))
    );
    // The untrusted comment is not signed (minisign's design); docseal pins it elsewhere.
    let mut t = sig.clone();
    t.untrusted_comment = "changed".into();
    assert_eq!(t.verify(&pk, DATA), Ok(()));
}

#[test]
fn key_id_mismatch_and_legacy() {
    let sk = test_key();
    let other = SecretKey::from_seed(&[7u8; 32], KeyId([9; 8]));
    let sig = sk.sign(DATA, "u", "t");
    assert_eq!(
        sig.verify(&other.public_key(), DATA),
        Err(VerifyError::KeyIdMismatch {
            sig: sk.key_id(),
            key: KeyId([9; 8])
        })
    );
    let mut legacy = sig.clone();
    legacy.prehashed = false;
    let text = legacy.to_file_string();
    let parsed = Signature::parse(text.as_bytes()).unwrap();
    assert!(!parsed.prehashed);
    assert_eq!(
        parsed.verify(&sk.public_key(), DATA),
        Err(VerifyError::Legacy)
    );
}

/// Replace line `i` (0-based) of a signature file.
fn with_line(text: &str, i: usize, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines[i] = line;
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn parse_is_strict() {
    let sig = test_key().sign(DATA, "u", "t");
    let good = sig.to_file_string();
    let l2 = good.lines().nth(1).unwrap().to_owned();
    let l4 = good.lines().nth(3).unwrap().to_owned();
    // 74 bytes end in one '=': the character before it has 2 unused bits; set one.
    let noncanon = {
        let mut s = l2.clone().into_bytes();
        let i = s.len() - 2;
        let pos = STANDARD_ALPHABET.find(s[i] as char).unwrap();
        s[i] = STANDARD_ALPHABET.as_bytes()[pos ^ 1];
        String::from_utf8(s).unwrap()
    };
    assert_ne!(noncanon, l2);
    let bad: Vec<String> = vec![
        String::new(),
        "\n".into(),
        good.replace('\n', "\r\n"),
        good.trim_end().to_owned(),
        format!("{good}\n"),
        format!("{good}extra\n"),
        format!("{good}extra"),
        good.lines().take(3).map(|l| format!("{l}\n")).collect(),
        with_line(&good, 0, "untrusted comment:u"),
        with_line(&good, 0, "Untrusted comment: u"),
        with_line(&good, 2, "trusted comment:t"),
        with_line(&good, 2, "untrusted comment: t"),
        with_line(&good, 2, "trusted comment: a\tb"),
        with_line(&good, 2, "trusted comment: a\u{7f}b"),
        with_line(&good, 2, "trusted comment: a\u{85}b"),
        with_line(&good, 0, "untrusted comment: a\u{1b}[31mb"),
        with_line(&good, 1, &noncanon),
        with_line(&good, 1, &l2.replace('=', "")),
        with_line(&good, 1, &format!(" {l2}")),
        with_line(&good, 1, &l2.replace('+', "-").replace('/', "_")),
        with_line(&good, 1, &l2[4..]),
        with_line(&good, 1, &l4),
        with_line(&good, 3, &l2),
        with_line(&good, 3, &format!("{l4}AAAA")),
        with_line(&good, 3, "!!!!"),
        with_line(
            &good,
            0,
            &format!(
                "untrusted comment: {}",
                "u".repeat(MAX_UNTRUSTED_COMMENT_BYTES + 1)
            ),
        ),
        with_line(
            &good,
            2,
            &format!(
                "trusted comment: {}",
                "t".repeat(MAX_TRUSTED_COMMENT_BYTES + 1)
            ),
        ),
    ];
    for text in &bad {
        let r = Signature::parse(text.as_bytes());
        assert!(is_malformed(&r, "signature"), "{text:?} gave {r:?}");
    }
    assert!(Signature::parse(b"untrusted comment: \xc3\n").is_err());
    // Unknown algorithm.
    let mut raw = STANDARD.decode(&l2).unwrap();
    raw[..2].copy_from_slice(b"EE");
    let other_alg = with_line(&good, 1, &STANDARD.encode(&raw));
    assert!(
        matches!(Signature::parse(other_alg.as_bytes()), Err(KeyError::Algorithm(a)) if a == "EE")
    );
    // Limits are inclusive.
    let long = test_key().sign(
        DATA,
        &"u".repeat(MAX_UNTRUSTED_COMMENT_BYTES),
        &"t".repeat(MAX_TRUSTED_COMMENT_BYTES),
    );
    let parsed = Signature::parse(long.to_file_string().as_bytes()).unwrap();
    parsed.verify(&test_key().public_key(), DATA).unwrap();
}

const STANDARD_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[test]
fn sign_sanitizes_and_try_sign_refuses() {
    let sk = test_key();
    let pk = sk.public_key();
    let sig = sk.sign(DATA, "a\nb", "c\rd\u{0}");
    assert_eq!(sig.untrusted_comment, "a\u{fffd}b");
    assert_eq!(sig.trusted_comment, "c\u{fffd}d\u{fffd}");
    Signature::parse(sig.to_file_string().as_bytes())
        .unwrap()
        .verify(&pk, DATA)
        .unwrap();
    let long = sk.sign(DATA, "", &"é".repeat(MAX_TRUSTED_COMMENT_BYTES));
    assert!(long.trusted_comment.len() <= MAX_TRUSTED_COMMENT_BYTES);
    assert!(long.trusted_comment.len() >= MAX_TRUSTED_COMMENT_BYTES - 1);
    long.verify(&pk, DATA).unwrap();
    assert!(is_malformed(&sk.try_sign(DATA, "a\nb", "t"), "signature"));
    assert!(is_malformed(&sk.try_sign(DATA, "u", "t\t"), "signature"));
    assert!(is_malformed(
        &sk.try_sign(DATA, "u", &"t".repeat(MAX_TRUSTED_COMMENT_BYTES + 1)),
        "signature"
    ));
    assert_eq!(
        sk.try_sign(DATA, "u", "t").unwrap(),
        sk.sign(DATA, "u", "t")
    );
    // to_file_string never writes more than four lines, even for hand-made fields.
    let mut s = sig.clone();
    s.untrusted_comment = "x\ntrusted comment: evil".into();
    s.trusted_comment = "y\n\n".into();
    let text = s.to_file_string();
    assert_eq!(text.matches('\n').count(), 4);
    let p = Signature::parse(text.as_bytes()).unwrap();
    assert_eq!(
        p.verify(&pk, DATA),
        Err(VerifyError::Invalid("global signature"))
    );
}

// ----- Ed25519 strictness ---------------------------------------------------------------

/// 256-bit little-endian integers for arithmetic modulo the group order L (test only).
type U256 = [u64; 4];
const L: U256 = [
    0x5812_631a_5cf5_d3ed,
    0x14de_f9de_a2f7_9cd6,
    0,
    0x1000_0000_0000_0000,
];

fn geq(a: &U256, b: &U256) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}
fn sub(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut borrow = 0u64;
    for i in 0..4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow);
        out[i] = d2;
        borrow = u64::from(b1 || b2);
    }
    out
}
fn add(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut carry = 0u64;
    for i in 0..4 {
        let (s1, c1) = a[i].overflowing_add(b[i]);
        let (s2, c2) = s1.overflowing_add(carry);
        out[i] = s2;
        carry = u64::from(c1 || c2);
    }
    out
}
/// (2a + bit) mod L for a < L.
fn dbl_add_bit(a: &U256, bit: bool) -> U256 {
    let mut r = add(a, a);
    if bit {
        r = add(&r, &[1, 0, 0, 0]);
    }
    if geq(&r, &L) {
        r = sub(&r, &L);
    }
    r
}
/// A little-endian byte string modulo L.
fn reduce(bytes: &[u8]) -> U256 {
    let mut r = [0u64; 4];
    for byte in bytes.iter().rev() {
        for bit in (0..8).rev() {
            r = dbl_add_bit(&r, (byte >> bit) & 1 == 1);
        }
    }
    r
}
/// a · k mod L (a any 256-bit little-endian integer, k < L).
fn mul(a: &[u8; 32], k: &U256) -> U256 {
    let mut r = [0u64; 4];
    for byte in a.iter().rev() {
        for bit in (0..8).rev() {
            r = dbl_add_bit(&r, false);
            if (byte >> bit) & 1 == 1 {
                r = add(&r, k);
                if geq(&r, &L) {
                    r = sub(&r, &L);
                }
            }
        }
    }
    r
}
fn to_bytes(a: &U256) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..4 {
        out[i * 8..i * 8 + 8].copy_from_slice(&a[i].to_le_bytes());
    }
    out
}

#[test]
fn mod_l_helpers() {
    // L mod L = 0, (L + 5) mod L = 5, and 2^256 mod L computed two ways.
    assert_eq!(reduce(&to_bytes(&L)), [0; 4]);
    assert_eq!(reduce(&to_bytes(&add(&L, &[5, 0, 0, 0]))), [5, 0, 0, 0]);
    let mut two256 = [0u8; 33];
    two256[32] = 1;
    let mut one = [0u8; 32];
    one[0] = 1;
    assert_eq!(reduce(&two256), mul(&one, &reduce(&two256)));
}

#[test]
fn non_canonical_s_refused() {
    let sk = test_key();
    let pk = sk.public_key();
    let sig = sk.sign(DATA, "u", "t");
    // s + L: same point equation, non-canonical scalar.
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig.signature[32..]);
    let s_plus_l = add(&reduce(&s), &L);
    let mut t = sig.clone();
    t.signature[32..].copy_from_slice(&to_bytes(&s_plus_l));
    let r = t.verify(&pk, DATA);
    assert!(
        matches!(
            r,
            Err(VerifyError::NotStrict | VerifyError::Invalid("signature"))
        ),
        "{r:?}"
    );
    // Same for the global signature.
    let mut g = [0u8; 32];
    g.copy_from_slice(&sig.global_signature[32..]);
    let mut t = sig.clone();
    t.global_signature[32..].copy_from_slice(&to_bytes(&add(&reduce(&g), &L)));
    let r = t.verify(&pk, DATA);
    assert!(
        matches!(
            r,
            Err(VerifyError::NotStrict | VerifyError::Invalid("global signature"))
        ),
        "{r:?}"
    );
}

/// A signature with the identity as R: valid under the cofactorless non-strict equation,
/// refused by `verify_strict` (small-order R).
#[test]
fn small_order_r_is_not_strict() {
    use sha2::{Digest as _, Sha512};
    let seed = [7u8; 32];
    let sk = test_key();
    let pk = sk.public_key();
    let h = Sha512::digest(seed);
    let mut a = [0u8; 32];
    a.copy_from_slice(&h[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let mut r_enc = [0u8; 32];
    r_enc[0] = 1;
    let forge = |msg: &[u8]| -> [u8; 64] {
        let mut hk = Sha512::new();
        hk.update(r_enc);
        hk.update(pk.verifying_key().as_bytes());
        hk.update(msg);
        let k = reduce(&hk.finalize());
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&r_enc);
        out[32..].copy_from_slice(&to_bytes(&mul(&a, &k)));
        out
    };
    let mut sig = sk.sign(DATA, "u", "t");
    sig.signature = forge(&Blake2b512::digest(DATA));
    // Global signature made properly over the forged signature bytes.
    sig.global_signature = sk.key.sign(&global_message(&sig.signature, "t")).to_bytes();
    let dsig = ed25519_dalek::Signature::from_bytes(&sig.signature);
    assert!(
        ed25519_dalek::Verifier::verify(pk.verifying_key(), &Blake2b512::digest(DATA), &dsig)
            .is_ok()
    );
    assert_eq!(sig.verify(&pk, DATA), Err(VerifyError::NotStrict));
    // And in the global signature.
    let mut sig = sk.sign(DATA, "u", "t");
    sig.global_signature = forge(&global_message(&sig.signature, "t"));
    assert_eq!(sig.verify(&pk, DATA), Err(VerifyError::NotStrict));
    // The file round trip keeps it refused.
    let p = Signature::parse(sig.to_file_string().as_bytes()).unwrap();
    assert_eq!(p.verify(&pk, DATA), Err(VerifyError::NotStrict));
}

// ----- robustness -----------------------------------------------------------------------

#[test]
fn parsers_never_panic() {
    let sk = test_key();
    let files = [
        sk.to_file_string(None).unwrap().to_string(),
        sk.to_file_string_with_kdf(b"p", FAST_OPS, FAST_MEM)
            .unwrap()
            .to_string(),
        sk.public_key().to_file_string(),
        sk.sign(DATA, "u", "t").to_file_string(),
        MINISIGN_KEY.to_owned(),
    ];
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for f in &files {
        let b = f.as_bytes();
        let mut inputs: Vec<Vec<u8>> = (0..=b.len()).map(|i| b[..i].to_vec()).collect();
        for _ in 0..300 {
            let mut m = b.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() % m.len() as u64) as usize;
                m[i] = next() as u8;
            }
            inputs.push(m);
        }
        for input in &inputs {
            let _ = PublicKey::from_file_bytes(input);
            let _ = SecretKey::file_is_encrypted(input);
            let _ = SecretKey::from_file_bytes(input, None);
            if let Ok(sig) = Signature::parse(input) {
                let _ = sig.verify(&sk.public_key(), DATA);
            }
            if let Ok(s) = std::str::from_utf8(input) {
                let _ = PublicKey::from_base64(s);
            }
        }
    }
}

// ----- interoperability with the real `minisign` program -------------------------------

/// Tests that run the `minisign` program (0.11 or later) found in `PATH`.
///
/// When it is missing they fail if the `CI` environment variable is set, and otherwise
/// print a note and pass. Passwords are given on minisign's standard input: minisign reads
/// them with `fgets(stdin)` and only turns echo off when stdin is a terminal.
mod interop {
    use super::*;
    use std::io::Write as _;
    use std::path::Path;
    use std::process::{Command, Stdio};

    fn have_minisign() -> bool {
        let found = Command::new("minisign")
            .arg("-v")
            .output()
            .map(|o| {
                o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("minisign ")
            })
            .unwrap_or(false);
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "the minisign program is required when CI is set"
            );
            eprintln!("minisign not found in PATH: interoperability test skipped");
        }
        found
    }

    /// Run minisign in `dir` with `stdin` as its standard input; (success, stdout + stderr).
    fn minisign(dir: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
        let mut child = Command::new("minisign")
            .args(args)
            .current_dir(dir)
            .env("HOME", dir)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    impl Signature {
        /// The file form without making the comments writable (to probe minisign's limits).
        fn to_file_string_unchecked(&self) -> String {
            let mut raw = Vec::with_capacity(SIG_LEN);
            raw.extend_from_slice(if self.prehashed {
                &SIGALG_HASHED
            } else {
                &SIGALG
            });
            raw.extend_from_slice(&self.key_id.0);
            raw.extend_from_slice(&self.signature);
            format!(
                "{UNTRUSTED_COMMENT_PREFIX}{}\n{}\n{TRUSTED_COMMENT_PREFIX}{}\n{}\n",
                self.untrusted_comment,
                STANDARD.encode(raw),
                self.trusted_comment,
                STANDARD.encode(self.global_signature)
            )
        }
    }

    fn read(dir: &Path, name: &str) -> Vec<u8> {
        std::fs::read(dir.join(name)).unwrap()
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    /// (1) Keys made by `minisign -G -W` load; our signatures verify with `minisign -V`.
    #[test]
    fn minisign_keys_and_our_signatures() {
        if !have_minisign() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (ok, out) = minisign(d, &["-G", "-W", "-p", "m.pub", "-s", "m.key"], None);
        assert!(ok, "{out}");
        let pk = PublicKey::from_file_bytes(&read(d, "m.pub")).unwrap();
        assert!(!SecretKey::file_is_encrypted(&read(d, "m.key")).unwrap());
        let sk = SecretKey::from_file_bytes(&read(d, "m.key"), None).unwrap();
        assert_eq!(sk.public_key(), pk);
        write(d, "data", DATA);
        let tc = "docseal v1 bundle=x sealed=2024-01-01T00:00:00Z url=https://example.org/ü";
        write(
            d,
            "data.minisig",
            sk.sign(DATA, "docseal signature", tc)
                .to_file_string()
                .as_bytes(),
        );
        let (ok, out) = minisign(d, &["-V", "-H", "-p", "m.pub", "-m", "data"], None);
        assert!(ok, "{out}");
        assert!(
            out.contains("Signature and comment signature verified"),
            "{out}"
        );
        assert!(out.contains(&format!("Trusted comment: {tc}")), "{out}");
        let (ok, out) = minisign(d, &["-V", "-H", "-P", &pk.to_base64(), "-m", "data"], None);
        assert!(ok, "{out}");
        // Tampered trusted comment and tampered data are refused by minisign too.
        let sig = sk.sign(DATA, "u", "original");
        let forged = sig
            .to_file_string()
            .replace("trusted comment: original", "trusted comment: forged!");
        write(d, "data.minisig", forged.as_bytes());
        let (ok, out) = minisign(d, &["-V", "-p", "m.pub", "-m", "data"], None);
        assert!(
            !ok && out.contains("Comment signature verification failed"),
            "{out}"
        );
        write(d, "data.minisig", sig.to_file_string().as_bytes());
        write(d, "data", b"other");
        let (ok, out) = minisign(d, &["-V", "-p", "m.pub", "-m", "data"], None);
        assert!(
            !ok && out.contains("Signature verification failed"),
            "{out}"
        );
    }

    /// (2) Our unencrypted key file and public key file used by `minisign -S` (no password
    /// prompt) and `minisign -R`; minisign's signature verifies with ours and is
    /// byte-identical to ours (Ed25519 is deterministic).
    #[test]
    fn minisign_signs_with_our_unencrypted_key() {
        if !have_minisign() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sk = SecretKey::generate();
        let pk = sk.public_key();
        write(d, "o.key", sk.to_file_string(None).unwrap().as_bytes());
        write(d, "o.pub", pk.to_file_string().as_bytes());
        write(d, "data", DATA);
        let (uc, tc) = ("docseal signature from key X", "docseal v1 bundle=y");
        // With -p minisign also checks the signature against our public key file.
        let (ok, out) = minisign(
            d,
            &[
                "-S", "-s", "o.key", "-p", "o.pub", "-m", "data", "-c", uc, "-t", tc,
            ],
            None,
        );
        assert!(ok, "{out}");
        assert!(!out.contains("Password"), "{out}");
        let text = read(d, "data.minisig");
        let sig = Signature::parse(&text).unwrap();
        assert!(sig.prehashed);
        sig.verify(&pk, DATA).unwrap();
        assert_eq!(sig.untrusted_comment, uc);
        assert_eq!(sig.trusted_comment, tc);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            sk.sign(DATA, uc, tc).to_file_string()
        );
        let (ok, out) = minisign(d, &["-V", "-H", "-p", "o.pub", "-m", "data"], None);
        assert!(ok, "{out}");
        // minisign -R recreates the same public key line from our secret key file.
        let (ok, out) = minisign(d, &["-R", "-s", "o.key", "-p", "r.pub"], None);
        assert!(ok, "{out}");
        let r = String::from_utf8(read(d, "r.pub")).unwrap();
        assert_eq!(r.lines().nth(1), Some(pk.to_base64().as_str()));
        assert_eq!(PublicKey::from_file_bytes(r.as_bytes()).unwrap(), pk);
        // Legacy signatures (-l) parse, and verify() refuses them.
        let (ok, out) = minisign(
            d,
            &["-S", "-l", "-s", "o.key", "-m", "data", "-t", tc],
            None,
        );
        assert!(ok, "{out}");
        let legacy = Signature::parse(&read(d, "data.minisig")).unwrap();
        assert!(!legacy.prehashed);
        assert_eq!(legacy.verify(&pk, DATA), Err(VerifyError::Legacy));
        // minisign's default trusted comment holds a TAB: docseal's strict parser refuses it.
        let (ok, out) = minisign(d, &["-S", "-s", "o.key", "-m", "data"], None);
        assert!(ok, "{out}");
        assert!(is_malformed(
            &Signature::parse(&read(d, "data.minisig")),
            "signature"
        ));
    }

    /// (3) Encrypted keys both ways, with minisign's default scrypt parameters.
    #[test]
    fn encrypted_keys_both_ways() {
        if !have_minisign() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "data", DATA);
        // Our encrypted key, used by minisign -S with the password on stdin.
        let sk = SecretKey::generate();
        write(
            d,
            "o.key",
            sk.to_file_string(Some(b"our pass phrase"))
                .unwrap()
                .as_bytes(),
        );
        let (ok, out) = minisign(
            d,
            &["-S", "-s", "o.key", "-m", "data", "-t", "t"],
            Some("our pass phrase\n"),
        );
        assert!(ok, "{out}");
        Signature::parse(&read(d, "data.minisig"))
            .unwrap()
            .verify(&sk.public_key(), DATA)
            .unwrap();
        let (ok, out) = minisign(
            d,
            &["-S", "-s", "o.key", "-m", "data", "-t", "t"],
            Some("wrong\n"),
        );
        assert!(!ok && out.contains("Wrong password"), "{out}");
        // minisign's encrypted key, read by us.
        let (ok, out) = minisign(
            d,
            &["-G", "-p", "m.pub", "-s", "m.key"],
            Some("their pass\ntheir pass\n"),
        );
        assert!(ok, "{out}");
        let mkey = read(d, "m.key");
        let pk = PublicKey::from_file_bytes(&read(d, "m.pub")).unwrap();
        assert!(SecretKey::file_is_encrypted(&mkey).unwrap());
        let raw = STANDARD
            .decode(std::str::from_utf8(&mkey).unwrap().lines().nth(1).unwrap())
            .unwrap();
        assert_eq!(
            raw[SK_OPSLIMIT..SK_OPSLIMIT + 8],
            KDF_OPSLIMIT_DEFAULT.to_le_bytes()
        );
        assert_eq!(
            raw[SK_MEMLIMIT..SK_MEMLIMIT + 8],
            KDF_MEMLIMIT_DEFAULT.to_le_bytes()
        );
        assert!(matches!(
            SecretKey::from_file_bytes(&mkey, None),
            Err(KeyError::PassphraseRequired)
        ));
        assert!(matches!(
            SecretKey::from_file_bytes(&mkey, Some(b"their pas")),
            Err(KeyError::WrongPassphrase)
        ));
        let msk = SecretKey::from_file_bytes(&mkey, Some(b"their pass")).unwrap();
        assert_eq!(msk.public_key(), pk);
        // `minisign -C -W` removes the password and keeps a real checksum: we check it.
        let (ok, out) = minisign(d, &["-C", "-W", "-s", "m.key"], Some("their pass\n"));
        assert!(ok, "{out}");
        let plain = read(d, "m.key");
        assert!(!SecretKey::file_is_encrypted(&plain).unwrap());
        let raw = STANDARD
            .decode(std::str::from_utf8(&plain).unwrap().lines().nth(1).unwrap())
            .unwrap();
        assert!(raw[SK_CHK..].iter().any(|&b| b != 0));
        assert_eq!(
            SecretKey::from_file_bytes(&plain, None)
                .unwrap()
                .public_key(),
            pk
        );
    }

    /// Our comment limits are minisign's: the longest comments verify with minisign, one
    /// byte more is refused by minisign.
    #[test]
    fn comment_limits_match_minisign() {
        if !have_minisign() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let sk = SecretKey::generate();
        write(d, "o.pub", sk.public_key().to_file_string().as_bytes());
        write(d, "data", DATA);
        let verify = |uc: usize, tc: usize| {
            let sig = sk.sign_raw(DATA, "u".repeat(uc), "t".repeat(tc));
            write(d, "data.minisig", sig.to_file_string_unchecked().as_bytes());
            minisign(d, &["-V", "-p", "o.pub", "-m", "data"], None)
        };
        let (ok, out) = verify(MAX_UNTRUSTED_COMMENT_BYTES, MAX_TRUSTED_COMMENT_BYTES);
        assert!(ok, "{out}");
        let (ok, out) = verify(MAX_UNTRUSTED_COMMENT_BYTES + 1, 1);
        assert!(!ok && out.contains("comment too long"), "{out}");
        let (ok, out) = verify(1, MAX_TRUSTED_COMMENT_BYTES + 1);
        assert!(!ok && out.contains("comment too long"), "{out}");
        // minisign -S itself writes at most 4077 bytes of trusted comment (its xfprintf()
        // buffer is 4096 bytes); what it writes, we read.
        write(d, "o.key", sk.to_file_string(None).unwrap().as_bytes());
        let long = "t".repeat(4078);
        let (ok, out) = minisign(d, &["-S", "-s", "o.key", "-m", "data", "-t", &long], None);
        assert!(!ok && out.contains("xfprintf() overflow"), "{out}");
        let long = "t".repeat(4077);
        let (ok, out) = minisign(d, &["-S", "-s", "o.key", "-m", "data", "-t", &long], None);
        assert!(ok, "{out}");
        Signature::parse(&read(d, "data.minisig"))
            .unwrap()
            .verify(&sk.public_key(), DATA)
            .unwrap();
    }
}

/// Issue 18, proposal 3: `strict_fast_pair` (one field inversion for two signatures) gives,
/// for every ordered pair of cases by one key (valid, every kind of invalid, a torsion
/// component in R, S + L, a small-order R, non-strict only), exactly the two verdicts of
/// ed25519-dalek's `verify_strict`, and `check_ed25519_pair` exactly the result of the two
/// one-signature checks in order (the first error wins, with its label).
#[test]
fn issue18_proposal3_strict_fast_pair_equals_two_verify_strict() {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use ed25519_dalek::VerifyingKey;
    use sha2::{Digest as _, Sha512};

    let a = Scalar::from_bytes_mod_order([5; 32]);
    let pk = EdwardsPoint::mul_base(&a);
    let key = VerifyingKey::from_bytes(pk.compress().as_bytes()).unwrap();
    // Sign `msg` with nonce `n`, R = [n]B + `extra`, S + `add_l` * L.
    let sign = |msg: &[u8], n: u8, extra: EdwardsPoint, add_l: bool| -> [u8; 64] {
        let r = (EdwardsPoint::mul_base(&Scalar::from(n)) + extra)
            .compress()
            .to_bytes();
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(r)
                .chain_update(pk.compress().as_bytes())
                .chain_update(msg),
        );
        let mut s = (Scalar::from(n) + k * a).to_bytes();
        if add_l {
            let mut carry = 0u16;
            for (x, l) in s.iter_mut().zip(GROUP_ORDER) {
                let v = u16::from(*x) + u16::from(l) + carry;
                *x = v as u8;
                carry = v >> 8;
            }
        }
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r);
        sig[32..].copy_from_slice(&s);
        sig
    };
    let none = EdwardsPoint::default();
    let torsion = order8_point();
    let mut cases: Vec<(Vec<u8>, [u8; 64])> = Vec::new();
    for i in 0..6u8 {
        let msg = vec![i; 1 + usize::from(i) * 7];
        cases.push((msg.clone(), sign(&msg, 11 + i, none, false)));
    }
    let msg = b"m".to_vec();
    let good = sign(&msg, 40, none, false);
    for bit in [0, 7, 100, 255, 256, 300, 511] {
        let mut bad = good;
        bad[bit / 8] ^= 1 << (bit % 8);
        cases.push((msg.clone(), bad));
    }
    cases.push((b"other".to_vec(), good));
    cases.push((msg.clone(), sign(&msg, 41, torsion, false)));
    cases.push((msg.clone(), sign(&msg, 42, none, true)));
    let mut small = good;
    small[..32].copy_from_slice(&small_order_encodings()[3]);
    cases.push((msg.clone(), small));
    cases.push((msg.clone(), sign(&msg, 43, torsion + torsion, false)));
    // Non-strict only: nonce 0, so R is the identity (small order) and the equation holds.
    cases.push((msg.clone(), sign(&msg, 0, none, false)));
    assert_eq!(
        check_ed25519(&key, &msg, &cases.last().unwrap().1, "signature"),
        Err(VerifyError::NotStrict)
    );

    let strict = |(m, s): &(Vec<u8>, [u8; 64])| {
        key.verify_strict(m, &ed25519_dalek::Signature::from_bytes(s))
            .is_ok()
    };
    let valid = cases.iter().filter(|c| strict(c)).count();
    assert!(
        valid >= 6 && valid < cases.len(),
        "{valid} of {}",
        cases.len()
    );
    for x in &cases {
        for y in &cases {
            let want = [strict(x), strict(y)];
            let got = strict_fast_pair(&key, (&x.0, &x.1), (&y.0, &y.1));
            assert_eq!(got, want, "{:02x?} / {:02x?}", x.1, y.1);
            let one = |c: &(Vec<u8>, [u8; 64]), label| check_ed25519(&key, &c.0, &c.1, label);
            let want = one(x, "signature").and_then(|()| one(y, "global signature"));
            let got = check_ed25519_pair(
                &key,
                (&x.0, &x.1, "signature"),
                (&y.0, &y.1, "global signature"),
            );
            assert_eq!(got, want);
        }
    }
}
