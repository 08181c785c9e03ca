//! Ed25519 scalars modulo the group order ℓ: telling a signature whose S is not reduced (which
//! strict verification refuses and lax verifiers reduce first) from one that is wrong.

use super::Signature;

/// The Ed25519 group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
pub const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Reduce a little-endian 256-bit scalar modulo ℓ in place (at most 16 subtractions, since
/// ℓ > 2^252); returns whether it was not reduced.
fn reduce_mod_order(s: &mut [u8]) -> bool {
    let ge = |s: &[u8]| {
        for i in (0..32).rev() {
            if s[i] != GROUP_ORDER[i] {
                return s[i] > GROUP_ORDER[i];
            }
        }
        true
    };
    let mut changed = false;
    while ge(s) {
        let mut borrow = 0i16;
        for (b, l) in s.iter_mut().zip(GROUP_ORDER) {
            let d = i16::from(*b) - i16::from(l) - borrow;
            borrow = i16::from(d < 0);
            *b = d.rem_euclid(256) as u8;
        }
        changed = true;
    }
    changed
}

/// `sig` with the S halves of both Ed25519 signatures reduced modulo ℓ, when either was not.
pub fn with_reduced_s(sig: &Signature) -> Option<Signature> {
    let mut r = sig.clone();
    let a = reduce_mod_order(&mut r.signature[32..]);
    let b = reduce_mod_order(&mut r.global_signature[32..]);
    (a || b).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_mod_order_reduces_exactly_the_unreduced() {
        let mut l = GROUP_ORDER;
        assert!(reduce_mod_order(&mut l));
        assert_eq!(l, [0; 32]);
        let mut below = GROUP_ORDER;
        below[0] -= 1;
        let kept = below;
        assert!(!reduce_mod_order(&mut below));
        assert_eq!(below, kept);
        // 2^256 - 1 = 15 * l + r with r < l: at most 16 subtractions, result reduced.
        let mut max = [0xff; 32];
        assert!(reduce_mod_order(&mut max));
        assert!(!reduce_mod_order(&mut max.clone()));
        // l + 5 -> 5.
        let mut x = GROUP_ORDER;
        x[0] += 5;
        assert!(reduce_mod_order(&mut x));
        let mut five = [0u8; 32];
        five[0] = 5;
        assert_eq!(x, five);
    }
}
