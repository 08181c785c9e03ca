//! Merkle trees in the manner of Certificate Transparency (RFC 9162, section 2.1): the hash
//! structure of the archive log (`docs/FORMAT.md`, "Archive log v1").
//!
//! - leaf hash: `SHA-256(0x00 || data)`; interior node: `SHA-256(0x01 || left || right)`;
//! - the tree of `n` leaves splits at `k`, the largest power of two smaller than `n`;
//! - the empty tree's hash is `SHA-256()` of nothing.
//!
//! Inclusion proofs (a leaf is in a tree of size `n`) and consistency proofs (the tree of size
//! `n` is the tree of size `m` with leaves appended) are generated and verified with the
//! algorithms of RFC 9162 sections 2.1.3 and 2.1.4. Proofs come from strangers: verification
//! checks sizes and lengths first and never panics.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, a node hash, a tree root.
pub type Hash = [u8; 32];

/// Longest inclusion proof accepted (a tree of at most 2^64 leaves).
pub const MAX_INCLUSION_PATH: usize = 64;
/// Longest consistency proof accepted.
pub const MAX_CONSISTENCY_PATH: usize = 128;

/// The hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two smaller than `n` (`n >= 2`).
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The Merkle tree hash (root) of these leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The inclusion proof (audit path) of leaf `index` in the tree of `leaves`, or `None` when
/// `index` is out of range.
pub fn inclusion_proof(index: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    path(index, leaves, &mut out);
    Some(out)
}

fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
    let n = d.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, &d[..k], out);
        out.push(root(&d[k..]));
    } else {
        path(m - k, &d[k..], out);
        out.push(root(&d[..k]));
    }
}

/// The consistency proof from the tree of the first `old_size` leaves to the tree of all
/// `leaves`, or `None` when `old_size` is larger than the tree. Empty for `old_size` 0 or equal
/// sizes.
pub fn consistency_proof(old_size: usize, leaves: &[Hash]) -> Option<Vec<Hash>> {
    if old_size > leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    if old_size > 0 {
        subproof(old_size, leaves, true, &mut out);
    }
    Some(out)
}

fn subproof(m: usize, d: &[Hash], whole: bool, out: &mut Vec<Hash>) {
    let n = d.len();
    if m == n {
        if !whole {
            out.push(root(d));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &d[..k], whole, out);
        out.push(root(&d[k..]));
    } else {
        subproof(m - k, &d[k..], false, out);
        out.push(root(&d[..k]));
    }
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not inside a tree of size {size}")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("the old tree size {old} is larger than the new tree size {new}")]
    SizesReversed {
        /// Old size.
        old: u64,
        /// New size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("the proof has the wrong number of hashes ({0})")]
    WrongLength(usize),
    /// The proof leads to another root than the one given.
    #[error("the proof does not lead to the root given")]
    RootMismatch,
}

/// Verify that `leaf` (a leaf hash) is leaf `index` of the tree of size `size` with root
/// `root`, by the audit path `proof` (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    if proof.len() > MAX_INCLUSION_PATH {
        return Err(ProofError::WrongLength(proof.len()));
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verify that the tree of size `new_size` with root `new_root` extends the tree of size
/// `old_size` with root `old_root`, by `proof` (RFC 9162 section 2.1.4.2). Equal sizes need an
/// empty proof and equal roots; every tree extends the empty tree (empty proof).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizesReversed {
            old: old_size,
            new: new_size,
        });
    }
    if proof.len() > MAX_CONSISTENCY_PATH {
        return Err(ProofError::WrongLength(proof.len()));
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength(proof.len()));
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old_size == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::WrongLength(proof.len()))
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength(0));
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let mut f = old_size - 1;
    let mut s = new_size - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::WrongLength(proof.len()));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength(proof.len()));
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The roots of a growing tree, one leaf at a time, in memory proportional to log2(size):
/// the hashes of the perfect subtrees that make up the tree, largest first.
#[derive(Clone, Debug, Default)]
pub struct CompactRange {
    size: u64,
    /// (number of leaves, hash) of each perfect subtree, left to right.
    stack: Vec<(u64, Hash)>,
}

impl CompactRange {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }
    /// The number of leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Append a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut cur = (1u64, leaf);
        while let Some(&(n, h)) = self.stack.last() {
            if n != cur.0 {
                break;
            }
            self.stack.pop();
            cur = (n * 2, node_hash(&h, &cur.1));
        }
        self.stack.push(cur);
        self.size += 1;
    }
    /// The root of the tree of the leaves so far.
    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(&(_, last)) => it.fold(last, |acc, (_, h)| node_hash(h, &acc)),
        }
    }
}

/// The largest power of two smaller than `n` (`n >= 2`), for tree sizes.
fn split64(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (u64::BITS - 1 - (n - 1).leading_zeros())
}

/// The leaf ranges `[start, end)` whose subtree roots make up the inclusion proof of leaf
/// `index` in the tree of `size` leaves, in proof order (leaf to root); `None` when `index` is
/// out of range. With [`RangeRoots`], a proof is made from a stream of leaves in memory
/// proportional to log2(size).
pub fn inclusion_ranges(index: u64, size: u64) -> Option<Vec<(u64, u64)>> {
    if index >= size {
        return None;
    }
    let mut out = Vec::new();
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    let mut stack = Vec::new();
    while hi - lo > 1 {
        let k = split64(hi - lo);
        if m < k {
            stack.push((lo + k, hi));
            hi = lo + k;
        } else {
            stack.push((lo, lo + k));
            lo += k;
            m -= k;
        }
    }
    while let Some(r) = stack.pop() {
        out.push(r);
    }
    Some(out)
}

/// The leaf ranges whose subtree roots make up the consistency proof from the tree of
/// `old_size` leaves to the tree of `new_size`, in proof order; `None` when `old_size` is
/// larger. Empty for `old_size` 0 or equal sizes.
pub fn consistency_ranges(old_size: u64, new_size: u64) -> Option<Vec<(u64, u64)>> {
    if old_size > new_size {
        return None;
    }
    let mut stack = Vec::new();
    if old_size > 0 {
        let (mut lo, mut hi, mut m, mut whole) = (0u64, new_size, old_size, true);
        loop {
            let n = hi - lo;
            if m == n {
                if !whole {
                    stack.push((lo, hi));
                }
                break;
            }
            let k = split64(n);
            if m <= k {
                stack.push((lo + k, hi));
                hi = lo + k;
            } else {
                stack.push((lo, lo + k));
                lo += k;
                m -= k;
                whole = false;
            }
        }
    }
    stack.reverse();
    Some(stack)
}

/// The roots of disjoint leaf ranges, computed from the leaves streamed in order, in memory
/// proportional to the number of ranges and log2 of their sizes.
#[derive(Debug)]
pub struct RangeRoots {
    /// (start, end, position in the answer), by start.
    order: Vec<(u64, u64, usize)>,
    next: usize,
    pos: u64,
    cur: CompactRange,
    out: Vec<Option<Hash>>,
}

impl RangeRoots {
    /// Roots of these ranges (disjoint, each non-empty).
    pub fn new(ranges: &[(u64, u64)]) -> Self {
        let mut order: Vec<(u64, u64, usize)> = ranges
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| (a, b, i))
            .collect();
        order.sort_unstable();
        RangeRoots {
            order,
            next: 0,
            pos: 0,
            cur: CompactRange::new(),
            out: vec![None; ranges.len()],
        }
    }
    /// Whether every range is complete.
    pub fn done(&self) -> bool {
        self.next >= self.order.len()
    }
    /// The next leaf (leaf number `pos`, counting from 0, one after the other).
    pub fn push(&mut self, leaf: Hash) {
        let pos = self.pos;
        self.pos += 1;
        let Some(&(a, b, i)) = self.order.get(self.next) else {
            return;
        };
        if pos < a || pos >= b {
            return;
        }
        self.cur.push(leaf);
        if pos + 1 == b {
            self.out[i] = Some(self.cur.root());
            self.cur = CompactRange::new();
            self.next += 1;
        }
    }
    /// The roots, in the order the ranges were given; `None` if a range was not complete.
    pub fn finish(self) -> Option<Vec<Hash>> {
        self.out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    fn h(s: &str) -> Hash {
        unhex(s).try_into().unwrap()
    }

    /// The Certificate Transparency reference inputs (RFC 6962 test data).
    fn ct_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|d| leaf_hash(&unhex(d)))
        .collect()
    }

    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn roots_match_the_reference() {
        let l = ct_leaves();
        let mut cr = CompactRange::new();
        assert_eq!(cr.root(), h(CT_ROOTS[0]));
        for n in 0..=8 {
            assert_eq!(root(&l[..n]), h(CT_ROOTS[n]), "size {n}");
            if n > 0 {
                cr.push(l[n - 1]);
                assert_eq!(cr.root(), h(CT_ROOTS[n]), "compact, size {n}");
                assert_eq!(cr.size(), n as u64);
            }
        }
    }

    #[test]
    fn hand_computed_small_trees() {
        let (a, b, c) = (leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c"));
        assert_eq!(root(&[a]), a);
        assert_eq!(root(&[a, b]), node_hash(&a, &b));
        assert_eq!(root(&[a, b, c]), node_hash(&node_hash(&a, &b), &c));
        // Domain separation: a leaf is never a node.
        let mut cat = vec![1u8];
        cat.extend_from_slice(&a);
        cat.extend_from_slice(&b);
        assert_ne!(leaf_hash(&cat[1..]), node_hash(&a, &b));
    }

    #[test]
    fn inclusion_reference_vectors() {
        let l = ct_leaves();
        let cases: [(usize, usize, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (i, n, want) in cases {
            let p = inclusion_proof(i, &l[..n]).unwrap();
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(p, want, "leaf {i} of {n}");
            let r = h(CT_ROOTS[n]);
            verify_inclusion(i as u64, n as u64, &l[i], &p, &r).unwrap();
            assert!(verify_inclusion(i as u64, n as u64, &l[i], &p, &h(CT_ROOTS[0])).is_err());
        }
        assert_eq!(inclusion_proof(0, &l[..1]).unwrap(), Vec::<Hash>::new());
        verify_inclusion(0, 1, &l[0], &[], &l[0]).unwrap();
        assert_eq!(inclusion_proof(8, &l), None);
    }

    #[test]
    fn consistency_reference_vectors() {
        let l = ct_leaves();
        let cases: [(usize, usize, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (m, n, want) in cases {
            let p = consistency_proof(m, &l[..n]).unwrap();
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(p, want, "{m} -> {n}");
            verify_consistency(m as u64, n as u64, &h(CT_ROOTS[m]), &h(CT_ROOTS[n]), &p).unwrap();
        }
    }

    #[test]
    fn every_proof_round_trips_and_tampering_fails() {
        let leaves: Vec<Hash> = (0..37u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for n in 1..=leaves.len() {
            let d = &leaves[..n];
            let r = root(d);
            for i in 0..n {
                let p = inclusion_proof(i, d).unwrap();
                verify_inclusion(i as u64, n as u64, &d[i], &p, &r).unwrap();
                // Another leaf, another index, a changed path: all refused. (The size is bound by the
                // signed checkpoint that gives the root, not by the path.)
                let other = leaf_hash(b"x");
                assert!(verify_inclusion(i as u64, n as u64, &other, &p, &r).is_err());
                if n > 1 {
                    let j = (i + 1) % n;
                    assert!(verify_inclusion(j as u64, n as u64, &d[i], &p, &r).is_err());
                }
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert_ne!(bad[0], *first);
                    assert!(verify_inclusion(i as u64, n as u64, &d[i], &bad, &r).is_err());
                    assert!(verify_inclusion(i as u64, n as u64, &d[i], &p[1..], &r).is_err());
                }
                let mut long = p.clone();
                long.push(r);
                assert!(verify_inclusion(i as u64, n as u64, &d[i], &long, &r).is_err());
            }
            for m in 0..=n {
                let p = consistency_proof(m, d).unwrap();
                let old = root(&d[..m]);
                verify_consistency(m as u64, n as u64, &old, &r, &p).unwrap();
                if m > 0 && m < n {
                    let mut bad_old = old;
                    bad_old[31] ^= 1;
                    assert!(verify_consistency(m as u64, n as u64, &bad_old, &r, &p).is_err());
                    let mut bad_new = r;
                    bad_new[0] ^= 1;
                    assert!(verify_consistency(m as u64, n as u64, &old, &bad_new, &p).is_err());
                    assert!(verify_consistency(m as u64, n as u64, &old, &r, &p[1..]).is_err());
                    assert!(verify_consistency(m as u64, n as u64, &old, &r, &[]).is_err());
                    assert!(verify_consistency(n as u64, m as u64, &r, &old, &p).is_err());
                }
            }
        }
    }

    #[test]
    fn hostile_sizes_do_not_panic() {
        let x = leaf_hash(b"x");
        let long = vec![x; 200];
        assert!(verify_inclusion(u64::MAX - 1, u64::MAX, &x, &long, &x).is_err());
        assert!(verify_inclusion(0, 0, &x, &[], &x).is_err());
        assert!(verify_inclusion(u64::MAX - 1, u64::MAX, &x, &long[..64], &x).is_err());
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &x, &x, &long[..64]).is_err());
        assert!(verify_consistency(1, u64::MAX, &x, &x, &long).is_err());
        assert!(verify_consistency(3, 2, &x, &x, &[]).is_err());
        assert!(verify_consistency(0, 5, &x, &x, &[x]).is_err());
        assert!(verify_consistency(5, 5, &x, &x, &[x]).is_err());
        verify_consistency(0, 5, &x, &x, &[]).unwrap();
    }

    #[test]
    fn streamed_proofs_match_the_recursive_ones() {
        let leaves: Vec<Hash> = (0..45u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let streamed = |ranges: Vec<(u64, u64)>, n: usize| {
            let mut rr = RangeRoots::new(&ranges);
            for l in &leaves[..n] {
                rr.push(*l);
            }
            assert!(rr.done());
            rr.finish().unwrap()
        };
        for n in 1..=leaves.len() {
            for i in 0..n {
                let r = inclusion_ranges(i as u64, n as u64).unwrap();
                assert_eq!(
                    streamed(r, n),
                    inclusion_proof(i, &leaves[..n]).unwrap(),
                    "{i} of {n}"
                );
            }
            for m in 0..=n {
                let r = consistency_ranges(m as u64, n as u64).unwrap();
                assert_eq!(
                    streamed(r, n),
                    consistency_proof(m, &leaves[..n]).unwrap(),
                    "{m} -> {n}"
                );
            }
        }
        assert!(inclusion_ranges(3, 3).is_none() && consistency_ranges(4, 3).is_none());
        // A large tree: a path of at most 64 ranges, computed without the leaves in memory.
        assert_eq!(inclusion_ranges(5, 1 << 40).unwrap().len(), 40);
    }
}
