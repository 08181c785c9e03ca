//! The `ed25519` fuzz target's input format and oracle. Shared (as a module) by the fuzz target
//! `fuzz_targets/ed25519.rs` and by `tests/fuzz_corpus.rs`, which replays
//! `fuzz/corpus/ed25519/` in the ordinary `cargo test`.
//!
//! The oracle: docseal's acceptance of one Ed25519 signature (the key read as a public key
//! line, then `strict_fast` alone and the whole check that `Signature::verify` does) gives
//! exactly ed25519-dalek `verify_strict`'s verdict, and a refusal has the error kind the
//! non-strict check implies. The one allowed difference: docseal refuses a non-canonical key
//! encoding that `verify_strict` takes (docs/KEYS.md, "Ed25519 verification against public
//! vectors").
//!
//! Input: byte 0 is the mode, bytes 1..33 are `a`, bytes 33..97 are `b`, the rest is the
//! message; shorter inputs are skipped.
//! - Mode below 0x80 ("raw"): the key is `a`, the signature `b`, as they are (the seeds from the
//!   public vectors are raw inputs).
//! - Mode 0x80 and above ("made"): a signature made here, so that valid and nearly valid
//!   signatures of mixed-order keys and R are reached. Secret scalar `a` (reduced), nonce
//!   `b[..32]` (reduced); the key is [a]B plus the small-order point `EIGHT_TORSION[mode & 7]`,
//!   R is [r]B plus `EIGHT_TORSION[(mode >> 3) & 7]`, S = r + k·a with k = SHA-512(R, key,
//!   message); bit 0x40 adds the group order L to S (a non-canonical S); then `b[32..]` is
//!   XORed into R's bytes. With mode 0x80, a zero mask and a secret and nonce that are not 0
//!   modulo L it is an ordinary valid signature (the oracle checks that too).
//!
//! Pairs (issue 18, proposal 3: `Signature::verify` checks its signature and global signature
//! together, with one field inversion): the signature above is also checked beside a second
//! one by the same key, in both orders and beside itself, through `strict_fast_pair` and the
//! whole pair check, against `verify_strict` on each. In "made" mode the second is made the
//! same way with the next nonce over the signature's bytes followed by the message (the
//! global signature's shape) and no mask; in "raw" mode it is the signature itself.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::Scalar;
use docseal::minisign::{KeyError, PublicKey, VerifyError};
use sha2::{Digest, Sha512};

/// Shortest input the target looks at.
pub const MIN_LEN: usize = 1 + 32 + 64;

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// What the oracle saw (for the replay test's counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Too short: skipped.
    Skipped,
    /// docseal refused the key when read (and `verify_strict` refuses too).
    KeyRefused,
    /// Non-canonical key: docseal refuses it, `verify_strict` accepts (the documented difference).
    NonCanonicalKeyAcceptedByDalek,
    /// Mixed-order key (a torsion component): docseal refuses it on purpose, `verify_strict`
    /// accepts (one secret could otherwise sign as two keys; docs/KEYS.md).
    MixedOrderKeyAcceptedByDalek,
    /// Both accept.
    Accepted,
    /// Both refuse (key read, signature refused).
    Refused,
}

/// `x + y` on 32-byte little-endian integers (no overflow for S + L: S < L < 2^253).
fn add_le(x: &[u8; 32], y: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(x[i]) + u16::from(y[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

/// What an input stands for.
pub struct Decoded<'a> {
    /// The 32 bytes of the public key.
    pub key: [u8; 32],
    /// The 64 bytes of the signature.
    pub sig: [u8; 64],
    /// The message.
    pub msg: &'a [u8],
    /// An ordinary valid signature made here (mode 0x80, zero mask, secret and nonce not 0
    /// modulo L): both must accept it.
    pub ordinary: bool,
    /// The second signature of the pairs, and its message.
    pub second: ([u8; 64], Vec<u8>),
}

/// Decode an input (`None`: too short).
pub fn decode(data: &[u8]) -> Option<Decoded<'_>> {
    if data.len() < MIN_LEN {
        return None;
    }
    let mode = data[0];
    let a: [u8; 32] = data[1..33].try_into().ok()?;
    let b: [u8; 64] = data[33..97].try_into().ok()?;
    let msg = &data[97..];
    if mode < 0x80 {
        return Some(Decoded {
            key: a,
            sig: b,
            msg,
            ordinary: false,
            second: (b, msg.to_vec()),
        });
    }
    let secret = Scalar::from_bytes_mod_order(a);
    let nonce = Scalar::from_bytes_mod_order(b[..32].try_into().ok()?);
    let key = (ED25519_BASEPOINT_POINT * secret + EIGHT_TORSION[usize::from(mode & 7)])
        .compress()
        .to_bytes();
    let make = |nonce: Scalar, msg: &[u8]| {
        let r = (ED25519_BASEPOINT_POINT * nonce + EIGHT_TORSION[usize::from((mode >> 3) & 7)])
            .compress()
            .to_bytes();
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(r)
                .chain_update(key)
                .chain_update(msg),
        );
        let mut s = (nonce + k * secret).to_bytes();
        if mode & 0x40 != 0 {
            s = add_le(&s, &L);
        }
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r);
        sig[32..].copy_from_slice(&s);
        sig
    };
    let mut sig = make(nonce, msg);
    for (x, m) in sig[..32].iter_mut().zip(&b[32..]) {
        *x ^= m;
    }
    let mut msg2 = sig.to_vec();
    msg2.extend_from_slice(msg);
    let second = (make(nonce + Scalar::ONE, &msg2), msg2);
    let ordinary = mode == 0x80
        && b[32..].iter().all(|&m| m == 0)
        && secret != Scalar::ZERO
        && nonce != Scalar::ZERO;
    Some(Decoded {
        key,
        sig,
        msg,
        ordinary,
        second,
    })
}

/// Run the oracle on one input; panics on any disagreement.
pub fn check(data: &[u8]) -> Outcome {
    let Some(Decoded {
        key,
        sig,
        msg,
        ordinary,
        second,
    }) = decode(data)
    else {
        return Outcome::Skipped;
    };
    let dalek = |msg: &[u8], sig: &[u8; 64]| match ed25519_dalek::VerifyingKey::from_bytes(&key) {
        Ok(k) => {
            let s = ed25519_dalek::Signature::from_bytes(sig);
            (
                k.verify_strict(msg, &s).is_ok(),
                ed25519_dalek::Verifier::verify(&k, msg, &s).is_ok(),
            )
        }
        Err(_) => (false, false),
    };
    let (strict, lax) = dalek(msg, &sig);
    if ordinary {
        assert!(
            strict,
            "an ordinary signature made by the target does not verify"
        );
    }
    let mut line = b"Ed".to_vec();
    line.extend_from_slice(&[0x5a; 8]);
    line.extend_from_slice(&key);
    let pk = match PublicKey::from_base64(&STANDARD.encode(line)) {
        Ok(pk) => pk,
        Err(e) => {
            if !strict {
                return Outcome::KeyRefused;
            }
            let point = CompressedEdwardsY(key).decompress();
            let canonical = point.is_some_and(|p| p.compress().to_bytes() == key);
            let mixed = point.is_some_and(|p| !p.is_small_order() && !p.is_torsion_free());
            if canonical && mixed && matches!(e, KeyError::MixedOrderKey) {
                return Outcome::MixedOrderKeyAcceptedByDalek;
            }
            assert!(
                !canonical,
                "docseal refuses a canonical key verify_strict accepts: {e}"
            );
            return Outcome::NonCanonicalKeyAcceptedByDalek;
        }
    };
    assert_eq!(pk.ed25519_strict_fast(msg, &sig), strict, "strict_fast");
    let want = if strict {
        Ok(())
    } else if lax {
        Err(VerifyError::NotStrict)
    } else {
        Err(VerifyError::Invalid("signature"))
    };
    assert_eq!(pk.ed25519_check(msg, &sig), want, "the whole check");
    // Pairs: (this, second), (second, this), (this, this).
    let (sig2, msg2) = (&second.0, &second.1[..]);
    let (strict2, lax2) = dalek(msg2, sig2);
    if ordinary {
        assert!(
            strict2,
            "the second ordinary signature made by the target does not verify"
        );
    }
    let one = |strict: bool, lax: bool, label| {
        if strict {
            Ok(())
        } else if lax {
            Err(VerifyError::NotStrict)
        } else {
            Err(VerifyError::Invalid(label))
        }
    };
    let verdict = [(msg, &sig, strict, lax), (msg2, sig2, strict2, lax2)];
    for (x, y) in [(0, 1), (1, 0), (0, 0)] {
        let ((mx, sx, tx, lx), (my, sy, ty, ly)) = (verdict[x], verdict[y]);
        assert_eq!(
            pk.ed25519_strict_fast_pair((mx, sx), (my, sy)),
            [tx, ty],
            "strict_fast_pair ({x}, {y})"
        );
        assert_eq!(
            pk.ed25519_check_pair((mx, sx), (my, sy)),
            one(tx, lx, "signature").and_then(|()| one(ty, ly, "global signature")),
            "the whole pair check ({x}, {y})"
        );
    }
    if strict {
        Outcome::Accepted
    } else {
        Outcome::Refused
    }
}
