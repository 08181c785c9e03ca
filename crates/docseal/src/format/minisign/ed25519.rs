//! Strict Ed25519 verification, as ed25519-dalek's `verify_strict` decides, computed faster;
//! telling "valid only under non-strict rules" from "invalid".

use super::*;

/// Why a signature does not verify.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signature names another key id than the key given.
    #[error("signature key id {sig} differs from the key's {key}")]
    KeyIdMismatch {
        /// Id in the signature.
        sig: KeyId,
        /// Id of the key.
        key: KeyId,
    },
    /// Legacy `Ed` algorithm.
    #[error("legacy non-prehashed algorithm")]
    Legacy,
    /// Verifies only with non-strict Ed25519 rules.
    #[error("signature verifies only under non-strict Ed25519 rules")]
    NotStrict,
    /// The signature (or the global signature) does not verify.
    #[error("{0} does not verify")]
    Invalid(&'static str),
}

/// Whether `signature` verifies under exactly the rules of ed25519-dalek's `verify_strict`,
/// computed without decompressing R. `key` must not be of small order ([`PublicKey`] refuses
/// such keys when it is read).
///
/// `verify_strict` accepts when S is canonical, R decompresses to a point that is not of small
/// order, the key is not of small order, and the encoding of P = [S]B - [k]A (k = SHA-512(R, A,
/// message)) equals R's bytes. When the encodings are equal, R's bytes are P's canonical
/// encoding, so R decompresses to P, and R is of small order exactly when its bytes are the
/// encoding of one of the eight points of small order; and when R's bytes are not the encoding
/// of any point, no P can match them. This saves the square root of decompressing R and the
/// small-order multiplications. `tests::strict_fast_agrees_with_verify_strict` compares the
/// two on valid, mutated and small-order cases, `tests/ed25519_vectors.rs` on the Wycheproof
/// and "Taming the many EdDSAs" vectors, the `ed25519` fuzz target on mutated inputs.
pub(super) fn strict_fast(
    key: &ed25519_dalek::VerifyingKey,
    message: &[u8],
    signature: &[u8; 64],
) -> bool {
    candidate(key, message, signature).is_some_and(|(r, p)| p.compress().to_bytes() == r)
}

/// The first steps of [`strict_fast`]: R's bytes and P = [S]B - [k]A, or `None` when R's bytes
/// are a small-order encoding or S is not canonical (refused before any curve work). The
/// signature is valid exactly when P's canonical encoding equals R's bytes.
fn candidate(
    key: &ed25519_dalek::VerifyingKey,
    message: &[u8],
    signature: &[u8; 64],
) -> Option<([u8; 32], curve25519_dalek::EdwardsPoint)> {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    use sha2::{Digest as _, Sha512};
    let mut r = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    if small_order_encodings().contains(&r) {
        return None;
    }
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s))?;
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(key.as_bytes())
            .chain_update(message),
    );
    let p = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-key.to_edwards(), &s);
    Some((r, p))
}

/// [`strict_fast`] of two signatures by one key (a minisign signature and its global
/// signature), each verdict exactly [`strict_fast`]'s, with one field inversion for both
/// instead of one each: the two points P are compressed together
/// (`EdwardsPoint::compress_batch`, Montgomery's trick: Z1 and Z2 inverted through one
/// inversion of Z1·Z2). The encodings are the same canonical bytes `compress` gives, so each
/// comparison with R's bytes, and so strictness, is unchanged (issue 18, proposal 3).
pub(super) fn strict_fast_pair(
    key: &ed25519_dalek::VerifyingKey,
    first: (&[u8], &[u8; 64]),
    second: (&[u8], &[u8; 64]),
) -> [bool; 2] {
    use curve25519_dalek::EdwardsPoint;
    match (
        candidate(key, first.0, first.1),
        candidate(key, second.0, second.1),
    ) {
        (Some((r1, p1)), Some((r2, p2))) => {
            let [c1, c2] = EdwardsPoint::compress_batch(&[p1, p2]);
            [c1.to_bytes() == r1, c2.to_bytes() == r2]
        }
        (a, b) => [a, b].map(|c| c.is_some_and(|(r, p)| p.compress().to_bytes() == r)),
    }
}

/// A point of order exactly 8: the torsion part of a curve point Q (Q minus
/// [8^-1 mod l][8]Q), for the first Q that has one of order 8.
pub(super) fn order8_point() -> curve25519_dalek::EdwardsPoint {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::{EdwardsPoint, Scalar};
    let inv8 = Scalar::from(8u8).invert();
    (0u8..=255)
        .filter_map(|i| {
            let q = CompressedEdwardsY([i; 32]).decompress()?;
            let t = q - q.mul_by_cofactor() * inv8;
            // Of order exactly 8: [4]T is not the identity.
            let t4 = t + t + t + t;
            (t4 != EdwardsPoint::default()).then_some(t)
        })
        .next()
        .expect("a curve point with a torsion part of order 8")
}

/// The canonical encodings of the eight points of small order (the torsion subgroup E[8]),
/// computed once: the multiples of a point of order 8.
pub(super) fn small_order_encodings() -> &'static [[u8; 32]; 8] {
    use curve25519_dalek::EdwardsPoint;
    static ENCODINGS: std::sync::OnceLock<[[u8; 32]; 8]> = std::sync::OnceLock::new();
    ENCODINGS.get_or_init(|| {
        let t = order8_point();
        let mut out = [[0u8; 32]; 8];
        let mut m = EdwardsPoint::default();
        for e in &mut out {
            *e = m.compress().to_bytes();
            m += t;
        }
        out
    })
}

/// [`check_ed25519`] of two signatures by one key, the first then the second (the first
/// error is the one returned), with one field inversion when both are valid
/// ([`strict_fast_pair`]). Any signature that does not pass there goes through
/// [`check_ed25519`] for its verdict and error kind, so the result is always that of the two
/// [`check_ed25519`] calls in order.
pub(super) fn check_ed25519_pair(
    key: &ed25519_dalek::VerifyingKey,
    first: (&[u8], &[u8; 64], &'static str),
    second: (&[u8], &[u8; 64], &'static str),
) -> Result<(), VerifyError> {
    if strict_fast_pair(key, (first.0, first.1), (second.0, second.1)) == [true, true] {
        return Ok(());
    }
    check_ed25519(key, first.0, first.1, first.2)?;
    check_ed25519(key, second.0, second.1, second.2)
}

/// Strict Ed25519 verification, telling apart "only non-strict" from "invalid".
pub(super) fn check_ed25519(
    key: &ed25519_dalek::VerifyingKey,
    message: &[u8],
    signature: &[u8; 64],
    label: &'static str,
) -> Result<(), VerifyError> {
    if strict_fast(key, message, signature) {
        return Ok(());
    }
    // Not valid: classify with ed25519-dalek itself (the same strict rules, then the lax ones).
    let sig = ed25519_dalek::Signature::from_bytes(signature);
    if key.verify_strict(message, &sig).is_ok() {
        return Ok(());
    }
    if ed25519_dalek::Verifier::verify(key, message, &sig).is_ok() {
        return Err(VerifyError::NotStrict);
    }
    Err(VerifyError::Invalid(label))
}
