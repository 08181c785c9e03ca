//! Issue 3: the verifier survives hostile bundles. One bundle, one byte sequence.
//!
//! - A hostile corpus, built from a freshly sealed good bundle: every category of the issue,
//!   each bundle refused by the real binary with its own code, and `extract` of every one of
//!   them writes nothing, anywhere.
//! - Every single-bit flip of the shipped sample bundle is refused (in process, every bit).
//! - Random multi-byte mutations, cuts and insertions never panic and are always refused.
//!
//! The corpus is deterministic (fixed seeds, fixed sealing time): `write_fuzz_corpus` (ignored;
//! run it by name) writes it to `fuzz/corpus/verify/` as the fuzzer's seeds, and
//! `tests/fuzz_corpus.rs` replays those files in CI.

use crate::common;
use common::*;
use docseal::bagit::{self, MANIFEST, METADATA, SIGNATURE, TAGMANIFEST, TAGMANIFEST_LISTS};
use docseal::metadata::Metadata;
use docseal::minisign::{KeyId, SecretKey, Signature};
use docseal::test_support::Asm;
use docseal::verify::{self, Options, Trust};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Keys and the good bundles
// ---------------------------------------------------------------------------------------------

/// The corpus key: a published seed, never a real key. Its public half is `fuzz/corpus.pub`.
fn corpus_key() -> SecretKey {
    SecretKey::from_seed(&[0x3c; 32], KeyId(*b"hostile!"))
}

/// A key nobody trusts.
fn mallory() -> SecretKey {
    SecretKey::from_seed(&[0x66; 32], KeyId(*b"mallory!"))
}

/// A temp dir holding the corpus key files and two freshly sealed good bundles: the sample
/// article (`good.zip`) and the same with an attachment whose name is not ASCII (`good2.zip`).
struct Fixture {
    env: Env,
    key: SecretKey,
    public: PathBuf,
    good: Vec<u8>,
    good2: Vec<u8>,
}

impl Fixture {
    fn new() -> Fixture {
        let env = Env::new();
        let key = corpus_key();
        docseal::keyfile::write_new_private(
            &env.path("k.key"),
            key.to_file_string(None).unwrap().as_bytes(),
        )
        .unwrap();
        let public = env.path("k.pub");
        fs::write(&public, key.public_key().to_file_string()).unwrap();
        let good = fs::read(env.pack_sample(&env.path("k.key"), "good.zip")).unwrap();
        fs::write(env.path("café.txt"), b"an attachment\n").unwrap();
        let mut args = sample_pack_args(&env.path("k.key"), "good2.zip");
        args.extend([
            "--attach".into(),
            env.path("café.txt").display().to_string(),
        ]);
        env.cmd().args(args).ok();
        let good2 = fs::read(env.path("good2.zip")).unwrap();
        Fixture {
            env,
            key,
            public,
            good,
            good2,
        }
    }
}

fn sample_trust() -> Trust {
    Trust::from_public_key_files(&[repo("keys/sample.pub")]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// A raw ZIP assembler that bypasses every check of the writer
// ---------------------------------------------------------------------------------------------

/// The bundle's entries in an assembler ([`docseal::test_support::Asm`], shared with the ZIP
/// reader's own tests).
fn asm_of(bundle: &[u8]) -> Asm {
    Asm::from_entries(
        entries(bundle)
            .into_iter()
            .map(|(n, d)| (n.into_bytes(), d))
            .collect(),
    )
}

const SIG_LOCAL: [u8; 4] = *b"PK\x03\x04";

fn is_local(h: &[u8]) -> bool {
    h[..4] == SIG_LOCAL
}
fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn set16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn set32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
/// A 16-bit field in a local header (offset `l`) or a central one (offset `c`).
fn field16(h: &mut [u8], l: usize, c: usize, v: u16) {
    let at = if is_local(h) { l } else { c };
    set16(h, at, v);
}
fn flags(h: &mut [u8], v: u16) {
    field16(h, 6, 8, v)
}
fn method(h: &mut [u8], v: u16) {
    field16(h, 8, 10, v)
}
/// Both size fields (compressed, uncompressed) of a header.
fn sizes(h: &mut [u8], compressed: u32, uncompressed: u32) {
    let at = if is_local(h) { 18 } else { 20 };
    set32(h, at, compressed);
    set32(h, at + 4, uncompressed);
}
fn crc(h: &mut [u8], v: u32) {
    let at = if is_local(h) { 14 } else { 16 };
    set32(h, at, v);
}
/// Replace the extra field of a header.
fn set_extra(h: &mut Vec<u8>, extra: &[u8]) {
    if is_local(h) {
        let n = le16(h, 26) as usize;
        h.truncate(30 + n);
        h.extend_from_slice(extra);
        set16(h, 28, extra.len() as u16);
    } else {
        let (n, m) = (le16(h, 28) as usize, le16(h, 30) as usize);
        let comment = h[46 + n + m..].to_vec();
        h.truncate(46 + n);
        h.extend_from_slice(extra);
        h.extend_from_slice(&comment);
        set16(h, 30, extra.len() as u16);
    }
}
fn extra_record(id: u16, data: &[u8]) -> Vec<u8> {
    let mut e = id.to_le_bytes().to_vec();
    e.extend_from_slice(&(data.len() as u16).to_le_bytes());
    e.extend_from_slice(data);
    e
}
fn set_comment(h: &mut Vec<u8>, comment: &[u8]) {
    let (n, m) = (le16(h, 28) as usize, le16(h, 30) as usize);
    h.truncate(46 + n + m);
    h.extend_from_slice(comment);
    set16(h, 32, comment.len() as u16);
}
/// Only for entry `i`.
fn at<'a>(i: usize, f: impl Fn(&mut Vec<u8>) + 'a) -> impl Fn(usize, &mut Vec<u8>) + 'a {
    move |j, h| {
        if j == i {
            f(h)
        }
    }
}

/// A deflate stream of `data` made of stored blocks: what a re-compressing tool may write
/// for incompressible data. Decompresses to `data` exactly.
fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = data.chunks(0xFFFF).collect();
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        out.extend_from_slice(&(c.len() as u16).to_le_bytes());
        out.extend_from_slice(&(!(c.len() as u16)).to_le_bytes());
        out.extend_from_slice(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Content edits that keep everything else valid (re-listed and re-signed with the trusted key)
// ---------------------------------------------------------------------------------------------

type Entries = Vec<(String, Vec<u8>)>;

fn get<'a>(e: &'a mut Entries, name: &str) -> &'a mut Vec<u8> {
    &mut e
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no entry {name}"))
        .1
}

fn text_replace(e: &mut Entries, name: &str, from: &str, to: &str) {
    let b = get(e, name);
    let s = String::from_utf8(b.clone()).unwrap();
    assert!(s.contains(from), "{from:?} not in {name}");
    *b = s.replacen(from, to, 1).into_bytes();
}

/// Recompute the tag manifest over the tag files as they are now and sign it with `key`, so
/// that the edit under test is the only thing wrong.
fn retag(e: &mut Entries, key: &SecretKey, good: &[u8]) {
    let list: Vec<(String, [u8; 32])> = e
        .iter()
        .filter(|(n, _)| TAGMANIFEST_LISTS.contains(&n.as_str()))
        .map(|(n, b)| (n.clone(), Sha256::digest(b).into()))
        .collect();
    let tm = bagit::manifest(&list);
    *get(e, TAGMANIFEST) = tm.clone();
    let meta = e
        .iter()
        .find(|(n, _)| n == METADATA)
        .and_then(|(_, b)| Metadata::parse(b).0)
        .unwrap_or_else(|| {
            let g = entries(good);
            Metadata::parse(&g.iter().find(|(n, _)| n == METADATA).unwrap().1)
                .0
                .unwrap()
        });
    if let Some(s) = e.iter_mut().find(|(n, _)| n == SIGNATURE) {
        s.1 = docseal::seal::sign_tagmanifest(&meta, key, &tm).into_bytes();
    }
}

/// Rebuild canonically after `f`, then re-list the tag files and re-sign.
fn resealed(good: &[u8], key: &SecretKey, f: impl FnOnce(&mut Entries)) -> Vec<u8> {
    rebuild(good, |e| {
        f(e);
        retag(e, key, good);
    })
}

/// Edit the payload manifest's list (then re-sign).
fn relist(good: &[u8], key: &SecretKey, f: impl FnOnce(&mut Vec<(String, [u8; 32])>)) -> Vec<u8> {
    resealed(good, key, |e| {
        let m = get(e, MANIFEST);
        let mut list = bagit::parse_manifest(m).unwrap();
        f(&mut list);
        *m = bagit::manifest(&list);
    })
}

/// Edit the parsed signature file (not re-signed).
fn edit_sig(good: &[u8], f: impl FnOnce(&mut Signature)) -> Vec<u8> {
    rebuild(good, |e| {
        let s = get(e, SIGNATURE);
        let mut sig = Signature::parse(s).unwrap();
        f(&mut sig);
        *s = sig.to_file_string().into_bytes();
    })
}

/// `s + ℓ` for a little-endian scalar `s < ℓ` (the result still fits in 256 bits).
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let v = u16::from(*b) + u16::from(l) + carry;
        *b = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
}

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

/// One hostile bundle and the codes it must be refused with.
struct Case {
    name: String,
    bytes: Vec<u8>,
    /// Error codes that must be present.
    want: Vec<&'static str>,
    /// Whether they must be exactly the error codes reported (as a set).
    exact: bool,
}

struct Corpus(Vec<Case>);

impl Corpus {
    /// Refused with exactly these codes.
    fn only(&mut self, name: &str, bytes: Vec<u8>, want: &[&'static str]) {
        self.push(name, bytes, want, true);
    }
    /// Refused with (at least) these codes.
    fn has(&mut self, name: &str, bytes: Vec<u8>, want: &[&'static str]) {
        self.push(name, bytes, want, false);
    }
    fn push(&mut self, name: &str, bytes: Vec<u8>, want: &[&'static str], exact: bool) {
        assert!(
            self.0.iter().all(|c| c.name != name),
            "duplicate case {name}"
        );
        self.0.push(Case {
            name: name.into(),
            bytes,
            want: want.to_vec(),
            exact,
        });
    }
}

/// Absolute name under which an escaping write would land inside the test's own directory.
fn escape_target(fx: &Fixture) -> String {
    fx.env.path("escaped-absolute").display().to_string()
}

fn build_corpus(fx: &Fixture) -> Vec<Case> {
    let good = &fx.good;
    let key = &fx.key;
    let a = asm_of(good);
    assert_eq!(a.build(), *good, "the assembler reproduces the writer");
    let n_entries = a.entries.len();
    let article = a.idx("data/article.txt");
    let bagit_i = a.idx("bagit.txt");
    let sig_i = a.idx(SIGNATURE);
    let last = n_entries - 1;
    let mut c = Corpus(Vec::new());

    // ---- not a ZIP, truncated ----
    c.only(
        "not-zip-text",
        b"<html>not a bundle</html>\n".to_vec(),
        &["zip.not_zip"],
    );
    c.only("not-zip-empty", Vec::new(), &["zip.not_zip"]);
    c.only(
        "not-zip-pdf",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec(),
        &["zip.not_zip"],
    );
    c.only(
        "truncated-half",
        good[..good.len() / 2].to_vec(),
        &["zip.truncated"],
    );
    c.only(
        "truncated-last-byte",
        good[..good.len() - 1].to_vec(),
        &["zip.truncated"],
    );
    c.only(
        "truncated-entry-past-end",
        a.both(&at(last, |h| sizes(h, 0x7000_0000, 0x7000_0000))),
        &["zip.truncated"],
    );

    // ---- bytes where the writer writes none ----
    let mut p = a.clone();
    p.prefix = b"MZ\x90\x00 a Janus-style prefix".to_vec();
    c.only(
        "prefix-bytes-adjusted-offsets",
        p.build(),
        &["zip.prefix_bytes"],
    );
    c.only(
        "prefix-bytes-concatenated",
        [b"#!/bin/sh\nexit 0\n".as_slice(), good].concat(),
        &["zip.prefix_bytes", "zip.end_record"],
    );
    let mut g = a.clone();
    g.gaps.insert(article, b"hidden between entries".to_vec());
    c.only("gap-between-entries", g.build(), &["zip.gap"]);
    let mut g = a.clone();
    g.gaps
        .insert(last, b"hidden before the central directory".to_vec());
    c.only("gap-before-central-directory", g.build(), &["zip.gap"]);
    let mut g = a.clone();
    g.before_end = b"hidden before the end record".to_vec();
    c.only("gap-before-end-record", g.build(), &["zip.gap"]);
    c.only(
        "trailing-bytes",
        [good.as_slice(), b"appended"].concat(),
        &["zip.trailing_bytes"],
    );
    c.only(
        "trailing-second-archive",
        [good.as_slice(), good.as_slice()].concat(),
        &["zip.trailing_bytes"],
    );

    // ---- comments ----
    let mut b = good.clone();
    let n = b.len();
    set16(&mut b, n - 2, 9);
    b.extend_from_slice(b"a comment");
    c.only("archive-comment", b, &["zip.comment"]);
    c.only(
        "entry-comment",
        a.central(&at(article, |h| set_comment(h, b"note"))),
        &["zip.entry_comment"],
    );

    // ---- end record ----
    let count = n_entries as u16;
    c.has(
        "end-record-count-short",
        a.end(&|_, e| {
            set16(e, 8, count - 1);
            set16(e, 10, count - 1)
        }),
        &["zip.end_record"],
    );
    c.only(
        "end-record-count-disagrees",
        a.end(&|_, e| set16(e, 8, count + 1)),
        &["zip.end_record"],
    );
    c.has(
        "end-record-offset",
        a.end(&|_, e| {
            let off = le32(e, 16);
            set32(e, 16, off - 1)
        }),
        &["zip.end_record"],
    );
    c.only(
        "end-record-cd-size",
        a.end(&|_, e| {
            let size = le32(e, 12);
            set32(e, 12, size + 1)
        }),
        &["zip.end_record"],
    );
    c.only(
        "end-record-disk",
        a.end(&|_, e| set16(e, 4, 1)),
        &["zip.end_record"],
    );

    // ---- ZIP64 where the writer would not write it ----
    c.only(
        "zip64-end-record-unneeded",
        a.end(&|_, e| {
            // cd size and offset from the plain end record, then ZIP64 records before it.
            let (size, off) = (le32(e, 12) as u64, le32(e, 16) as u64);
            let mut z = Vec::new();
            z.extend_from_slice(b"PK\x06\x06");
            z.extend_from_slice(&44u64.to_le_bytes());
            z.extend_from_slice(&0x032Du16.to_le_bytes());
            z.extend_from_slice(&45u16.to_le_bytes());
            z.extend_from_slice(&[0; 8]);
            z.extend_from_slice(&(n_entries as u64).to_le_bytes());
            z.extend_from_slice(&(n_entries as u64).to_le_bytes());
            z.extend_from_slice(&size.to_le_bytes());
            z.extend_from_slice(&off.to_le_bytes());
            z.extend_from_slice(b"PK\x06\x07");
            z.extend_from_slice(&0u32.to_le_bytes());
            z.extend_from_slice(&(off + size).to_le_bytes());
            z.extend_from_slice(&1u32.to_le_bytes());
            z.extend_from_slice(e);
            *e = z;
        }),
        &["zip.zip64"],
    );
    let data_len = a.entries[article].1.len() as u64;
    let mut z64 = Vec::new();
    z64.extend_from_slice(&data_len.to_le_bytes());
    z64.extend_from_slice(&data_len.to_le_bytes());
    c.only(
        "zip64-extra-unneeded",
        a.both(&at(article, |h| {
            sizes(h, u32::MAX, u32::MAX);
            set_extra(h, &extra_record(1, &z64));
        })),
        &["zip.zip64"],
    );
    c.only(
        "zip64-markers-without-records",
        a.end(&|_, e| set32(e, 16, u32::MAX)),
        &["zip.zip64"],
    );

    // ---- flags, methods, CRC, sizes ----
    c.only(
        "data-descriptor",
        a.both(&at(article, |h| flags(h, 0x0808))),
        &["zip.data_descriptor"],
    );
    c.only(
        "encrypted",
        a.both(&at(article, |h| flags(h, 0x0801))),
        &["zip.encrypted"],
    );
    c.only(
        "strong-encryption",
        a.both(&at(article, |h| flags(h, 0x0841))),
        &["zip.encrypted"],
    );
    c.only(
        "flags-other-bit",
        a.both(&at(article, |h| flags(h, 0x0802))),
        &["zip.flags"],
    );
    c.only(
        "flags-no-utf8",
        a.both(&at(bagit_i, |h| flags(h, 0))),
        &["zip.flags"],
    );
    c.only(
        "method-deflate-flag-only",
        a.both(&at(article, |h| method(h, 8))),
        &["zip.method"],
    );
    c.only(
        "method-bzip2",
        a.both(&at(article, |h| method(h, 12))),
        &["zip.method"],
    );
    // Really re-compressed: the article as a deflate stream, method 8, sizes to match.
    let mut d = a.clone();
    let plain = d.entries[article].1.clone();
    let packed = deflate_stored(&plain);
    let (pc, pu) = (packed.len() as u32, plain.len() as u32);
    d.entries[article].1 = packed;
    let plain_crc = crc32fast::hash(&plain);
    c.only(
        "recompressed-deflate",
        d.both(&at(article, move |h| {
            method(h, 8);
            sizes(h, pc, pu);
            crc(h, plain_crc);
        })),
        &["zip.method", "zip.size"],
    );
    c.only(
        "crc-both-headers",
        a.both(&at(article, |h| {
            let at = if is_local(h) { 14 } else { 16 };
            let v = le32(h, at) ^ 1;
            set32(h, at, v)
        })),
        &["zip.crc"],
    );
    c.has(
        "size-compressed-differs",
        a.both(&at(article, |h| {
            let at = if is_local(h) { 18 } else { 20 };
            let v = le32(h, at) + 1;
            set32(h, at, v)
        })),
        &["zip.size"],
    );

    // ---- extra fields ----
    c.only(
        "unicode-path-extra",
        a.both(&at(article, |h| {
            let mut d = vec![1];
            d.extend_from_slice(&crc32fast::hash(b"data/article.txt").to_le_bytes());
            d.extend_from_slice(b"data/evil.exe");
            set_extra(h, &extra_record(0x7075, &d))
        })),
        &["zip.unicode_path_extra"],
    );
    c.only(
        "extra-field-timestamp",
        a.both(&at(article, |h| {
            set_extra(h, &extra_record(0x5455, &[1, 0, 0, 0, 0]))
        })),
        &["zip.extra_field"],
    );
    c.only(
        "extra-field-unix-owner",
        a.both(&at(bagit_i, |h| {
            set_extra(h, &extra_record(0x7875, &[1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0]))
        })),
        &["zip.extra_field"],
    );

    // ---- local header vs central directory ----
    c.only(
        "mismatch-name",
        a.local(&at(article, |h| h[30 + 5] = b'A')),
        &["zip.header_mismatch"],
    );
    c.only(
        "mismatch-method",
        a.local(&at(article, |h| method(h, 8))),
        &["zip.header_mismatch", "zip.method"],
    );
    c.only(
        "mismatch-flags",
        a.local(&at(article, |h| flags(h, 0x0808))),
        &["zip.header_mismatch", "zip.data_descriptor"],
    );
    c.only(
        "mismatch-crc",
        a.local(&at(article, |h| {
            let v = le32(h, 14) ^ 0x8000_0000;
            set32(h, 14, v)
        })),
        &["zip.header_mismatch"],
    );
    c.only(
        "mismatch-sizes",
        a.local(&at(bagit_i, |h| sizes(h, 53, 53))),
        &["zip.header_mismatch"],
    );
    c.only(
        "mismatch-time",
        a.local(&at(article, |h| set16(h, 10, 0x6000))),
        &["zip.header_mismatch"],
    );
    c.only(
        "mismatch-extra",
        a.local(&at(article, |h| {
            set_extra(h, &extra_record(0x5455, &[1, 0, 0, 0, 0]))
        })),
        &["zip.header_mismatch", "zip.extra_field"],
    );

    // ---- timestamps, versions, attributes, file types ----
    c.only(
        "changed-timestamp",
        a.both(&at(article, |h| {
            field16(h, 10, 12, 0x6000);
            field16(h, 12, 14, 0x5a21);
        })),
        &["zip.attributes"],
    );
    c.only(
        "attributes-mode-0755",
        a.central(&at(article, |h| set32(h, 38, 0x81ED_0000))),
        &["zip.attributes"],
    );
    c.only(
        "attributes-made-by-msdos",
        a.central(&at(article, |h| set16(h, 4, 0x0014))),
        &["zip.attributes"],
    );
    c.only(
        "attributes-internal-text",
        a.central(&at(article, |h| set16(h, 36, 1))),
        &["zip.attributes"],
    );
    c.only(
        "symlink",
        a.central(&at(sig_i, |h| set32(h, 38, 0xA1FF_0000))),
        &["zip.not_regular_file"],
    );
    c.only(
        "directory-attribute",
        a.central(&at(article, |h| set32(h, 38, 0x41ED_0010))),
        &["zip.not_regular_file"],
    );
    c.only(
        "char-device",
        a.central(&at(article, |h| set32(h, 38, 0x21A4_0000))),
        &["zip.not_regular_file"],
    );
    c.only(
        "fifo",
        a.central(&at(article, |h| set32(h, 38, 0x11A4_0000))),
        &["zip.not_regular_file"],
    );
    c.only(
        "directory-entry",
        a.clone()
            .with_entry(0, b"data/", b"")
            .central(&at(0, |h| set32(h, 38, 0x41ED_0010))),
        &["zip.not_regular_file"],
    );

    // ---- overlaps ----
    c.has(
        "overlap-same-offset",
        a.central(&at(bagit_i, |h| set32(h, 42, 0))),
        &["zip.overlap"],
    );
    c.only(
        "overlap-entry-runs-into-next",
        a.both(&at(bagit_i, |h| sizes(h, 100, 100))),
        &["zip.overlap"],
    );

    // ---- names: duplicates, collisions, normalization ----
    let art = a.entries[article].1.clone();
    c.only(
        "duplicate-name",
        a.clone()
            .with_entry(article + 1, b"data/article.txt", b"evil")
            .build(),
        &["zip.duplicate_name"],
    );
    c.only(
        "collision-case",
        a.clone()
            .with_entry(article + 1, b"DATA/ARTICLE.TXT", &art)
            .build(),
        &["zip.name_collision"],
    );
    c.only(
        "collision-sharp-s",
        a.clone()
            .with_entry(0, "data/attachments/straße".as_bytes(), b"1")
            .with_entry(1, b"data/attachments/STRASSE", b"2")
            .build(),
        &["zip.name_collision"],
    );
    let a2 = asm_of(&fx.good2);
    let cafe = a2.idx("data/attachments/café.txt");
    let nfd = "data/attachments/cafe\u{301}.txt".as_bytes();
    c.only(
        "collision-nfc-nfd",
        a2.clone().with_entry(cafe + 1, nfd, b"other").build(),
        &["zip.name_collision", "path.not_nfc"],
    );
    let mut r = a2.clone();
    r.entries[cafe].0 = nfd.to_vec();
    c.only("name-not-nfc", r.build(), &["path.not_nfc"]);

    // ---- paths: each name added as one more entry, through the raw assembler ----
    let abs = escape_target(fx);
    let long_name = format!("data/attachments/{}", "x/".repeat(510) + "y");
    let long_segment = format!("data/attachments/{}", "s".repeat(256));
    let paths: Vec<(&str, Vec<u8>, &str)> = vec![
        ("path-dotdot", b"../x".to_vec(), "path.traversal"),
        (
            "path-dotdot-nested",
            b"data/../../x".to_vec(),
            "path.traversal",
        ),
        ("path-dotdot-only", b"..".to_vec(), "path.traversal"),
        ("path-absolute-etc", b"/etc/x".to_vec(), "path.absolute"),
        ("path-absolute-here", abs.into_bytes(), "path.absolute"),
        (
            "path-drive-backslash",
            b"C:\\x".to_vec(),
            "path.drive_letter",
        ),
        ("path-drive-slash", b"c:/x".to_vec(), "path.drive_letter"),
        (
            "path-colon-stream",
            b"data/a.txt:evil".to_vec(),
            "path.drive_letter",
        ),
        (
            "path-backslash",
            b"data\\..\\..\\x".to_vec(),
            "path.backslash",
        ),
        ("path-dot-segment", b"data/./x".to_vec(), "path.dot_segment"),
        (
            "path-empty-segment",
            b"data//x".to_vec(),
            "path.empty_segment",
        ),
        ("path-empty-name", b"".to_vec(), "path.empty_segment"),
        ("path-nul", b"data/a\0.txt".to_vec(), "path.control_char"),
        ("path-newline", b"data/a\nb".to_vec(), "path.control_char"),
        (
            "path-escape-sequence",
            b"data/\x1b[2Jx".to_vec(),
            "path.control_char",
        ),
        (
            "path-c1-control",
            "data/a\u{85}b".as_bytes().to_vec(),
            "path.control_char",
        ),
        (
            "path-bidi-override",
            "data/gpj\u{202e}.exe".as_bytes().to_vec(),
            "path.bidi",
        ),
        (
            "path-bidi-isolate",
            "data/\u{2066}x".as_bytes().to_vec(),
            "path.bidi",
        ),
        (
            "path-reserved-con",
            b"data/CON".to_vec(),
            "path.reserved_name",
        ),
        (
            "path-reserved-nul-ext",
            b"data/nul.txt".to_vec(),
            "path.reserved_name",
        ),
        (
            "path-reserved-com1",
            b"data/attachments/com1.log".to_vec(),
            "path.reserved_name",
        ),
        (
            "path-trailing-dot",
            b"data/x.".to_vec(),
            "path.reserved_name",
        ),
        (
            "path-trailing-space",
            b"data/x ".to_vec(),
            "path.reserved_name",
        ),
        (
            "path-reserved-char",
            b"data/a?b".to_vec(),
            "path.reserved_name",
        ),
        (
            "path-not-utf8",
            b"data/\xff\xfe.txt".to_vec(),
            "path.not_utf8",
        ),
        (
            "path-overlong-utf8-slash",
            b"data\xc0\xafx".to_vec(),
            "path.not_utf8",
        ),
        ("path-too-long", long_name.into_bytes(), "path.too_long"),
        (
            "path-segment-too-long",
            long_segment.into_bytes(),
            "path.too_long",
        ),
    ];
    for (name, path, code) in paths {
        c.only(
            name,
            a.clone()
                .with_entry(article + 1, &path, b"payload\n")
                .build(),
            &[code],
        );
    }
    // The writer's own entries renamed to escape, in both headers.
    let mut r = a.clone();
    r.entries[article].0 = b"../../../../../../tmp/docseal-escape".to_vec();
    c.only(
        "path-renamed-article-escapes",
        r.build(),
        &["path.traversal"],
    );
    c.only(
        "path-trailing-slash",
        a.clone().with_entry(article + 1, b"data/x/", b"").build(),
        &["zip.not_regular_file"],
    );

    // ---- limits declared by headers, checked before anything is read ----
    c.only(
        "limit-entries-zip64-count",
        a.end(&|_, e| {
            let (size, off) = (le32(e, 12) as u64, le32(e, 16) as u64);
            let mut z = Vec::new();
            z.extend_from_slice(b"PK\x06\x06");
            z.extend_from_slice(&44u64.to_le_bytes());
            z.extend_from_slice(&0x032Du16.to_le_bytes());
            z.extend_from_slice(&45u16.to_le_bytes());
            z.extend_from_slice(&[0; 8]);
            z.extend_from_slice(&(1u64 << 32).to_le_bytes());
            z.extend_from_slice(&(1u64 << 32).to_le_bytes());
            z.extend_from_slice(&size.to_le_bytes());
            z.extend_from_slice(&off.to_le_bytes());
            z.extend_from_slice(b"PK\x06\x07");
            z.extend_from_slice(&0u32.to_le_bytes());
            z.extend_from_slice(&(off + size).to_le_bytes());
            z.extend_from_slice(&1u32.to_le_bytes());
            let mut end = e.clone();
            set16(&mut end, 8, 0xFFFF);
            set16(&mut end, 10, 0xFFFF);
            z.extend_from_slice(&end);
            *e = z;
        }),
        &["limit.entries"],
    );
    c.only(
        "limit-entries-16bit-count",
        a.end(&|_, e| {
            set16(e, 8, 0xFFFE);
            set16(e, 10, 0xFFFE)
        }),
        &["limit.entries"],
    );
    let huge = 1u64 << 37; // 128 GiB, over the 64 GiB per-file limit
    let mut z64 = Vec::new();
    z64.extend_from_slice(&huge.to_le_bytes());
    z64.extend_from_slice(&huge.to_le_bytes());
    c.has(
        "limit-size-declared-128gib",
        a.both(&at(article, |h| {
            sizes(h, u32::MAX, u32::MAX);
            set_extra(h, &extra_record(1, &z64));
            let need = if is_local(h) { 4 } else { 6 };
            set16(h, need, 45);
            if !is_local(h) {
                set16(h, 4, 0x032D);
            }
        })),
        &["limit.size"],
    );

    // ---- layout, manifests, metadata (canonical ZIP, re-signed: only the content is wrong) ----
    c.only(
        "order-tag-files-first",
        rebuild(good, |e| {
            let x = e.remove(0);
            e.insert(3, x);
        }),
        &["zip.order"],
    );
    c.only(
        "unexpected-file",
        rebuild(good, |e| {
            e.push(("evil.sh".into(), b"#!/bin/sh\n".to_vec()))
        }),
        &["bundle.unexpected_file"],
    );
    c.only(
        "missing-bagit",
        resealed(good, key, |e| e.retain(|(n, _)| n != "bagit.txt")),
        &["bundle.missing_file"],
    );
    c.only(
        "bagit-changed",
        resealed(good, key, |e| text_replace(e, "bagit.txt", "1.0", "0.97")),
        &["bundle.bagit"],
    );
    c.only(
        "bag-info-changed",
        resealed(good, key, |e| {
            text_replace(e, "bag-info.txt", "Payload-Oxum: ", "Payload-Oxum: 1")
        }),
        &["bundle.bagit"],
    );
    c.only(
        "manifest-unlisted",
        rebuild(good, |e| {
            e.insert(1, ("data/extra.txt".into(), b"not sealed".to_vec()))
        }),
        &["manifest.unlisted", "bundle.unexpected_file"],
    );
    c.only(
        "manifest-missing-article",
        rebuild(good, |e| {
            e.remove(0);
        }),
        &["manifest.missing"],
    );
    c.only(
        "manifest-lists-ghost",
        relist(good, key, |l| l.push(("data/ghost.txt".into(), [7; 32]))),
        &["manifest.missing"],
    );
    c.only(
        "manifest-equivalent-case",
        relist(good, key, |l| l[0].0 = "data/Article.txt".into()),
        &["manifest.equivalent_path"],
    );
    c.only(
        "manifest-equivalent-nfd",
        relist(&fx.good2, key, |l| {
            for (p, _) in l.iter_mut() {
                if p == "data/attachments/café.txt" {
                    *p = "data/attachments/cafe\u{301}.txt".into();
                }
            }
        }),
        &["manifest.equivalent_path"],
    );
    c.only(
        "manifest-digest",
        rebuild(good, |e| e[0].1[100] ^= 0x20),
        &["manifest.digest"],
    );
    c.only(
        "manifest-crlf",
        resealed(good, key, |e| {
            let m = get(e, MANIFEST);
            let s = String::from_utf8(m.clone()).unwrap().replace('\n', "\r\n");
            *m = s.into_bytes();
        }),
        &["manifest.malformed"],
    );
    c.only(
        "tagmanifest-lists-signature",
        rebuild(good, |e| {
            // A tag manifest that also lists the signature file (which cannot sign itself),
            // signed by the trusted key.
            let tm = get(e, TAGMANIFEST).clone();
            let mut list = bagit::parse_manifest(&tm).unwrap();
            list.push((SIGNATURE.into(), [1; 32]));
            let tm = bagit::manifest(&list);
            *get(e, TAGMANIFEST) = tm.clone();
            let m = Metadata::parse(get(e, METADATA)).0.unwrap();
            *get(e, SIGNATURE) = docseal::seal::sign_tagmanifest(&m, key, &tm).into_bytes();
        }),
        &["manifest.malformed", "manifest.missing"],
    );
    let meta_edit = |f: &dyn Fn(&str) -> Vec<u8>| {
        resealed(good, key, |e| {
            let m = get(e, METADATA);
            *m = f(std::str::from_utf8(m).unwrap());
        })
    };
    c.only(
        "metadata-duplicate-key",
        meta_edit(&|s| {
            s.replacen(
                "  \"headline\"",
                "  \"headline\": \"Forged\",\n  \"headline\"",
                1,
            )
            .into_bytes()
        }),
        &["metadata.malformed"],
    );
    c.only(
        "metadata-bom",
        meta_edit(&|s| format!("\u{feff}{s}").into_bytes()),
        &["metadata.malformed"],
    );
    c.only(
        "metadata-trailing-data",
        meta_edit(&|s| format!("{s}{{}}\n").into_bytes()),
        &["metadata.malformed"],
    );
    c.only(
        "metadata-invalid-utf8",
        meta_edit(&|s| {
            let mut v = s.as_bytes().to_vec();
            v[s.find("Daily").unwrap() + 2] = 0xff;
            v
        }),
        &["metadata.malformed"],
    );
    c.only(
        "metadata-deep-nesting",
        meta_edit(&|s| {
            s.replacen(
                "{\n",
                &format!(
                    "{{\n  \"x\": {}1{},\n",
                    "[".repeat(10_000),
                    "]".repeat(10_000)
                ),
                1,
            )
            .into_bytes()
        }),
        &["metadata.malformed"],
    );
    c.only(
        "metadata-noncanonical-spacing",
        meta_edit(&|s| s.replacen("\": ", "\" : ", 1).into_bytes()),
        &["metadata.noncanonical"],
    );
    c.only(
        "metadata-unknown-key",
        meta_edit(&|s| s.replacen("{\n", "{\n  \"evil\": 1,\n", 1).into_bytes()),
        &["metadata.malformed"],
    );
    c.only(
        "metadata-invalid-url",
        meta_edit(&|s| s.replacen("https://", "javascript://", 1).into_bytes()),
        &["metadata.invalid"],
    );
    c.only(
        "metadata-version-2",
        meta_edit(&|s| {
            s.replacen("\"docsealFormat\": 1", "\"docsealFormat\": 2", 1)
                .into_bytes()
        }),
        &["bundle.version"],
    );
    c.only(
        "metadata-too-large",
        meta_edit(&|s| {
            s.replacen(
                "{\n",
                &format!("{{\n  \"pad\": \"{}\",\n", "x".repeat(1 << 20)),
                1,
            )
            .into_bytes()
        }),
        &["limit.tag_file"],
    );

    // ---- signatures ----
    c.only(
        "sig-missing",
        rebuild(good, |e| e.retain(|(n, _)| n != SIGNATURE)),
        &["sig.missing"],
    );
    c.only(
        "sig-garbage",
        rebuild(good, |e| *get(e, SIGNATURE) = b"not a signature\n".to_vec()),
        &["sig.malformed"],
    );
    c.only(
        "sig-crlf",
        rebuild(good, |e| {
            let s = get(e, SIGNATURE);
            *s = String::from_utf8(s.clone())
                .unwrap()
                .replace('\n', "\r\n")
                .into_bytes();
        }),
        &["sig.malformed"],
    );
    c.only(
        "sig-too-large",
        rebuild(good, |e| get(e, SIGNATURE).extend_from_slice(&[b'x'; 5000])),
        &["limit.tag_file"],
    );
    c.only(
        "sig-untrusted-comment",
        edit_sig(good, |s| {
            s.untrusted_comment = "signature from minisign secret key".into()
        }),
        &["sig.comment"],
    );
    c.only(
        "sig-trusted-comment-resigned",
        rebuild(good, |e| {
            let tm = get(e, TAGMANIFEST).clone();
            let uc = docseal::seal::untrusted_comment(key.key_id());
            *get(e, SIGNATURE) = key
                .sign(
                    &tm,
                    &uc,
                    "timestamp:1700000000\tfile:tagmanifest-sha256.txt",
                )
                .to_file_string()
                .into_bytes();
        }),
        &["sig.comment"],
    );
    c.only(
        "sig-trusted-comment-edited",
        edit_sig(good, |s| {
            s.trusted_comment = s.trusted_comment.replace("https", "http")
        }),
        &["sig.invalid"],
    );
    c.only(
        "sig-bytes-changed",
        edit_sig(good, |s| s.signature[5] ^= 1),
        &["sig.invalid"],
    );
    c.only(
        "sig-legacy-algorithm",
        edit_sig(good, |s| s.prehashed = false),
        &["sig.legacy"],
    );
    c.only(
        "sig-untrusted-key",
        resign(good, &mallory()),
        &["sig.untrusted_key"],
    );
    c.only(
        "sig-key-id-lies",
        edit_sig(good, |s| {
            s.key_id = mallory().key_id();
            s.untrusted_comment = docseal::seal::untrusted_comment(s.key_id);
        }),
        &["sig.key_id_mismatch"],
    );
    c.only(
        "sig-forged-trusted-id",
        rebuild(&resign(good, &mallory()), |e| {
            let s = get(e, SIGNATURE);
            let mut sig = Signature::parse(s).unwrap();
            sig.key_id = key.key_id();
            sig.untrusted_comment = docseal::seal::untrusted_comment(key.key_id());
            *s = sig.to_file_string().into_bytes();
        }),
        &["sig.invalid"],
    );
    c.only(
        "sig-noncanonical-s",
        edit_sig(good, |s| add_group_order(&mut s.signature[32..])),
        &["sig.not_strict"],
    );
    c.only(
        "sig-noncanonical-s-global",
        edit_sig(good, |s| add_group_order(&mut s.global_signature[32..])),
        &["sig.not_strict"],
    );
    c.only(
        "cosig-by-sealer-key",
        rebuild(good, |e| {
            let s = get(e, SIGNATURE).clone();
            let name = bagit::cosignature_name(&key.key_id().to_string());
            e.push((name, s));
        }),
        &["sig.malformed"],
    );
    c.0
}

// ---------------------------------------------------------------------------------------------
// The corpus through the real binary
// ---------------------------------------------------------------------------------------------

/// Every path under `root` (relative, with file sizes), for "nothing changed" checks.
fn snapshot(root: &Path) -> Vec<(PathBuf, Option<u64>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.path().symlink_metadata().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
            if m.is_dir() {
                stack.push(e.path());
                out.push((rel, None));
            } else {
                out.push((rel, Some(m.len())));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_corpus_is_refused_with_specific_codes_and_extract_writes_nothing() {
    let fx = Fixture::new();
    let corpus = build_corpus(&fx);
    assert!(corpus.len() >= 40, "{} cases", corpus.len());
    fs::create_dir(fx.env.path("bundles")).unwrap();
    let mut names = Vec::new();
    for case in &corpus {
        let rel = format!("bundles/{}.zip", case.name);
        fs::write(fx.env.path(&rel), &case.bytes).unwrap();
        names.push(rel);
    }
    // The good bundles pass, so refusals below are about the hostility alone.
    fx.env
        .cmd()
        .args(["verify", "good.zip", "good2.zip", "--trust"])
        .arg(&fx.public)
        .ok();

    let d = fx
        .env
        .cmd()
        .arg("verify")
        .args(&names)
        .arg("--trust")
        .arg(&fx.public)
        .arg("--json")
        .fails(1);
    let (reports, summary) = json_lines(&d.stdout());
    assert_eq!(reports.len(), corpus.len());
    let codes = json_codes(&d.stdout());
    let mut problems = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for ((case, got), report) in corpus.iter().zip(&codes).zip(&reports) {
        assert_eq!(report["path"], format!("bundles/{}.zip", case.name));
        assert_eq!(report["ok"], false, "{}", case.name);
        let got_set: std::collections::BTreeSet<&str> = got.iter().map(String::as_str).collect();
        let want_set: std::collections::BTreeSet<&str> = case.want.iter().copied().collect();
        let fine = if case.exact {
            got_set == want_set
        } else {
            want_set.is_subset(&got_set)
        };
        if !fine {
            problems.push(format!(
                "{}: want {}{:?}, got {:?}",
                case.name,
                if case.exact { "exactly " } else { "" },
                case.want,
                got
            ));
        }
        covered.extend(case.want.iter().copied());
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert_eq!(summary["failed"], corpus.len());
    assert_eq!(summary["passed"], 0);

    // Every code of the categories is exercised by at least one bundle.
    for code in [
        "zip.not_zip",
        "zip.truncated",
        "zip.prefix_bytes",
        "zip.gap",
        "zip.trailing_bytes",
        "zip.overlap",
        "zip.comment",
        "zip.entry_comment",
        "zip.end_record",
        "zip.zip64",
        "zip.data_descriptor",
        "zip.encrypted",
        "zip.flags",
        "zip.method",
        "zip.crc",
        "zip.size",
        "zip.extra_field",
        "zip.unicode_path_extra",
        "zip.header_mismatch",
        "zip.attributes",
        "zip.not_regular_file",
        "zip.duplicate_name",
        "zip.name_collision",
        "zip.order",
        "path.not_utf8",
        "path.not_nfc",
        "path.traversal",
        "path.dot_segment",
        "path.empty_segment",
        "path.absolute",
        "path.backslash",
        "path.drive_letter",
        "path.control_char",
        "path.bidi",
        "path.reserved_name",
        "path.too_long",
        "bundle.version",
        "bundle.missing_file",
        "bundle.unexpected_file",
        "bundle.bagit",
        "manifest.unlisted",
        "manifest.missing",
        "manifest.digest",
        "manifest.equivalent_path",
        "manifest.malformed",
        "metadata.malformed",
        "metadata.invalid",
        "metadata.noncanonical",
        "sig.missing",
        "sig.malformed",
        "sig.comment",
        "sig.legacy",
        "sig.untrusted_key",
        "sig.key_id_mismatch",
        "sig.invalid",
        "sig.not_strict",
        "limit.entries",
        "limit.size",
        "limit.tag_file",
    ] {
        assert!(covered.contains(code), "no hostile bundle for {code}");
    }

    // extract: refused, and nothing written anywhere: not the target, not beside it, not
    // where a hostile name points (inside this test's directory, or /etc/x).
    let root = fx.env.dir.path();
    let etc_x_before = Path::new("/etc/x").exists();
    for case in &corpus {
        let cwd = fx.env.path(&format!("x/{}/a/b", case.name));
        fs::create_dir_all(&cwd).unwrap();
        let before = snapshot(root);
        let d = fx
            .env
            .cmd()
            .cwd(&cwd)
            .arg("extract")
            .arg(fx.env.path(&format!("bundles/{}.zip", case.name)))
            .arg("--trust")
            .arg(&fx.public)
            .args(["--out", "DIR"])
            .run();
        assert_eq!(d.code(), 1, "{}: {}", case.name, d.stderr());
        assert!(
            d.stderr().contains("refused") || d.stderr().contains(case.want[0]),
            "{}: {}",
            case.name,
            d.stderr()
        );
        assert_eq!(
            snapshot(root),
            before,
            "{}: something was written",
            case.name
        );
        assert!(
            fs::read_dir(&cwd).unwrap().next().is_none(),
            "{}",
            case.name
        );
        assert_eq!(Path::new("/etc/x").exists(), etc_x_before);
        assert!(!Path::new("/tmp/docseal-escape").exists());
    }
}

#[test]
fn limits_are_enforced_from_the_command_line() {
    let fx = Fixture::new();
    let run = |flags: &[&str]| {
        let d = fx
            .env
            .cmd()
            .args(["verify", "good.zip", "--json", "--trust"])
            .arg(&fx.public)
            .args(flags)
            .fails(1);
        json_codes(&d.stdout()).remove(0)
    };
    assert_eq!(run(&["--max-entries", "6"]), ["limit.entries"]);
    assert_eq!(run(&["--max-file-size", "5000"]), ["limit.size"]);
    assert_eq!(run(&["--max-total-size", "7000"]), ["limit.size"]);
    assert_eq!(
        run(&["--max-total-size", "0", "--max-entries", "1"]),
        ["limit.bundle_size"]
    );
    // Limits at their largest values do not overflow.
    fx.env
        .cmd()
        .args(["verify", "good.zip", "--trust"])
        .arg(&fx.public)
        .args(["--max-entries", &u64::MAX.to_string()])
        .args(["--max-file-size", &u64::MAX.to_string()])
        .args(["--max-total-size", &u64::MAX.to_string()])
        .ok();
}

#[test]
fn weak_keys_given_to_trust_are_refused_when_loaded() {
    use base64::Engine as _;
    let fx = Fixture::new();
    // Small-order points: the identity, and a point of order 8.
    let mut order8 = [0u8; 32];
    order8.copy_from_slice(
        &(0..32)
            .map(|i| {
                u8::from_str_radix(
                    &"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
                        [2 * i..2 * i + 2],
                    16,
                )
                .unwrap()
            })
            .collect::<Vec<u8>>(),
    );
    let mut identity = [0u8; 32];
    identity[0] = 1;
    for (name, point) in [("identity", identity), ("order8", order8)] {
        let mut raw = b"Ed".to_vec();
        raw.extend_from_slice(&fx.key.key_id().0);
        raw.extend_from_slice(&point);
        let text = format!(
            "untrusted comment: minisign public key {}\n{}\n",
            fx.key.key_id(),
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        let p = fx.env.path(&format!("{name}.pub"));
        fs::write(&p, text).unwrap();
        for cmd in ["verify", "extract"] {
            let mut c = fx.env.cmd().args([cmd, "good.zip", "--trust"]).arg(&p);
            if cmd == "extract" {
                c = c.args(["--out", "out"]);
            }
            let d = c.fails(2);
            assert!(
                d.stderr().contains("weak") && d.stderr().contains(&format!("{name}.pub")),
                "{name} {cmd}: {}",
                d.stderr()
            );
            assert!(!fx.env.path("out").exists());
        }
        // Also alongside a good key: one weak key refuses the whole trust set.
        fx.env
            .cmd()
            .args(["verify", "good.zip", "--trust"])
            .arg(&fx.public)
            .arg("--trust")
            .arg(&p)
            .fails(2);
    }
}

/// `extract --force` into an existing directory never follows a symbolic link found there out of
/// it, and moves nothing when it refuses.
#[cfg(unix)]
#[test]
fn extract_force_never_follows_symlinks_out_of_the_target() {
    let fx = Fixture::new();
    let outside = fx.env.path("outside");
    fs::create_dir(&outside).unwrap();
    let target = fx.env.path("target");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"mine").unwrap();
    std::os::unix::fs::symlink(&outside, target.join("data")).unwrap();
    let before = snapshot(fx.env.dir.path());
    let d = fx
        .env
        .cmd()
        .args(["extract", "good.zip", "--trust"])
        .arg(&fx.public)
        .args(["--out", "target", "--force"])
        .fails(2);
    assert!(d.stderr().contains("symbolic link"), "{}", d.stderr());
    assert!(fs::read_dir(&outside).unwrap().next().is_none());
    assert_eq!(snapshot(fx.env.dir.path()), before);
    // Something else than a directory in the way: refused the same way, nothing moved.
    fs::remove_file(target.join("data")).unwrap();
    fs::write(target.join("data"), b"a file").unwrap();
    let before = snapshot(fx.env.dir.path());
    let d = fx
        .env
        .cmd()
        .args(["extract", "good.zip", "--trust"])
        .arg(&fx.public)
        .args(["--out", "target", "--force"])
        .fails(2);
    assert!(d.stderr().contains("not a directory"), "{}", d.stderr());
    assert_eq!(snapshot(fx.env.dir.path()), before);
    // With the way clear, --force writes the files beside what was there.
    fs::remove_file(target.join("data")).unwrap();
    fx.env
        .cmd()
        .args(["extract", "good.zip", "--trust"])
        .arg(&fx.public)
        .args(["--out", "target", "--force"])
        .ok();
    assert!(target.join("data/article.txt").is_file() && target.join("keep").is_file());
    assert!(fs::read_dir(&outside).unwrap().next().is_none());
}

/// Peak resident memory (KiB) of `docseal verify FILE --trust PUB --json`, measured with
/// `/usr/bin/time` (Debian package `time`); and the exit code.
fn peak_rss_kib(file: &Path, public: &Path) -> (u64, i32) {
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_docseal"))
        .arg("verify")
        .arg(file)
        .arg("--trust")
        .arg(public)
        .arg("--json")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let kib = err
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RSS figure from /usr/bin/time: {err}"));
    (kib, out.status.code().unwrap_or(-1))
}

/// Whatever a file declares, verifying it takes less than 64 MiB: the nastiest inputs under the
/// default limits (docs/VERIFY.md, "Bounded resources" has the figures of a release build).
#[test]
fn verify_memory_stays_under_64_mib_on_the_nastiest_inputs() {
    if !require_tool("/usr/bin/time") {
        return;
    }
    let fx = Fixture::new();
    let long = |i: usize| {
        let n = format!("data/{i:05}/{}", format!("{}/", "n".repeat(250)).repeat(4));
        format!("{n}{}", "x".repeat(1024 - n.len())).into_bytes()
    };
    let mut inputs: Vec<(&str, Vec<u8>)> = Vec::new();
    // The largest central directory the limits allow: 10,000 entries, 1,024-byte names.
    let names: Vec<Vec<u8>> = (0..10_000).map(long).collect();
    let list: Vec<(Vec<u8>, Vec<u8>)> = names.iter().map(|n| (n.clone(), Vec::new())).collect();
    inputs.push((
        "entries-10000-long-names",
        Asm {
            entries: list,
            ..Asm::default()
        }
        .build(),
    ));
    // A sealed bundle plus 9,990 unlisted payload files with 1,024-byte names: two findings
    // about each, were they all listed.
    let mut a = asm_of(&fx.good);
    for (i, n) in names.iter().take(10_000 - a.entries.len()).enumerate() {
        a.entries.insert(1 + i, (n.clone(), Vec::new()));
    }
    inputs.push(("payload-long-names-unlisted", a.build()));
    // End records declaring 2^32 entries, in 98 bytes.
    let mut e = Vec::new();
    e.extend_from_slice(b"PK\x06\x06");
    e.extend_from_slice(&44u64.to_le_bytes());
    e.extend_from_slice(&0x032Du16.to_le_bytes());
    e.extend_from_slice(&45u16.to_le_bytes());
    e.extend_from_slice(&[0; 8]);
    e.extend_from_slice(&(1u64 << 32).to_le_bytes());
    e.extend_from_slice(&(1u64 << 32).to_le_bytes());
    e.extend_from_slice(&[0; 16]);
    e.extend_from_slice(b"PK\x06\x07");
    e.extend_from_slice(&0u32.to_le_bytes());
    e.extend_from_slice(&0u64.to_le_bytes());
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(b"PK\x05\x06\0\0\0\0\xff\xff\xff\xff\0\0\0\0\xff\xff\xff\xff\0\0");
    inputs.push(("count-2pow32", e));
    // Tag files at their limits: a 16 MiB payload manifest listing ~230,000 absent files.
    let mut man = Vec::new();
    let mut i = 0;
    while man.len() + 80 < 16 << 20 {
        man.extend_from_slice(format!("{}  data/f{i:08}\n", "0".repeat(64)).as_bytes());
        i += 1;
    }
    inputs.push((
        "manifest-16mib",
        rebuild(&fx.good, |e| *get(e, MANIFEST) = man),
    ));
    let mut paths = Vec::new();
    for (name, bytes) in &inputs {
        let p = fx.env.path(&format!("{name}.zip"));
        fs::write(&p, bytes).unwrap();
        paths.push((name.to_string(), p));
    }
    // A 1 GiB file of zeros (sparse).
    let p = fx.env.path("sparse-1gib.zip");
    fs::File::create(&p).unwrap().set_len(1 << 30).unwrap();
    paths.push(("sparse-1gib".into(), p));
    for (name, p) in paths {
        let (kib, code) = peak_rss_kib(&p, &fx.public);
        assert_eq!(code, 1, "{name}");
        assert!(kib < 64 * 1024, "{name}: peak RSS {kib} KiB");
    }
}

/// Write the corpus as the fuzzer's seeds (`fuzz/corpus/verify/`) and the corpus key's public
/// half (`fuzz/corpus.pub`). Run by name:
/// `cargo test --test integration hostile:: -- --ignored write_fuzz_corpus`.
#[test]
#[ignore = "writes fuzz/corpus/verify; run by name to regenerate the seeds"]
fn write_fuzz_corpus() {
    let fx = Fixture::new();
    let dir = repo("fuzz/corpus/verify");
    fs::create_dir_all(&dir).unwrap();
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        if n.starts_with("hostile-") || n.starts_with("good-") {
            fs::remove_file(p).unwrap();
        }
    }
    let mut total = 0;
    for case in build_corpus(&fx) {
        if case.bytes.len() > 64 << 10 {
            continue; // keep the seeds small; the fuzzer's own limit is smaller anyway
        }
        total += case.bytes.len();
        fs::write(dir.join(format!("hostile-{}.zip", case.name)), &case.bytes).unwrap();
    }
    fs::write(dir.join("good-corpus.zip"), &fx.good).unwrap();
    fs::write(dir.join("good-corpus-attachment.zip"), &fx.good2).unwrap();
    fs::copy(repo("archive/sample.zip"), dir.join("good-sample.zip")).unwrap();
    fs::write(
        repo("fuzz/corpus.pub"),
        fx.key.public_key().to_file_string(),
    )
    .unwrap();
    assert!(total < 2 << 20, "{total} bytes");
}

// ---------------------------------------------------------------------------------------------
// Every bit of the sample bundle; random mutations
// ---------------------------------------------------------------------------------------------

/// Flipping any single bit anywhere in the shipped sample bundle makes verification refuse it.
/// Every one of the ~67,000 flips, in process; two threads, one per half.
#[test]
fn every_bit_flip_of_the_sample_bundle_is_refused() {
    let sample = fs::read(repo("archive/sample.zip")).unwrap();
    let trust = sample_trust();
    let opts = Options::default();
    assert!(verify::verify_bytes("sample.zip", &sample, Some(&trust), &opts).ok);
    let half = sample.len() / 2;
    let checked: usize = std::thread::scope(|s| {
        let work = |range: std::ops::Range<usize>| {
            let (sample, trust, opts) = (&sample, &trust, &opts);
            move || {
                let mut b = sample.clone();
                let mut n = 0;
                for i in range {
                    for bit in 0..8 {
                        b[i] ^= 1 << bit;
                        let r = verify::verify_bytes("flip", &b, Some(trust), opts);
                        assert!(
                            !r.ok && !r.error_codes().is_empty(),
                            "byte {i} bit {bit} accepted"
                        );
                        b[i] ^= 1 << bit;
                        n += 1;
                    }
                }
                n
            }
        };
        let h1 = s.spawn(work(0..half));
        let h2 = s.spawn(work(half..sample.len()));
        h1.join().unwrap() + h2.join().unwrap()
    });
    assert_eq!(checked, sample.len() * 8);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Several random byte changes, a cut and an insertion anywhere: never a panic, and any
    /// result that differs from the sample is refused.
    #[test]
    fn random_mutations_of_the_sample_are_refused(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in prop::option::of((any::<prop::sample::Index>(), 0usize..64)),
        insert in prop::option::of((any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 1..32))),
        truncate in prop::option::of(any::<prop::sample::Index>()),
    ) {
        static SAMPLE: std::sync::OnceLock<(Vec<u8>, Trust)> = std::sync::OnceLock::new();
        let (sample, trust) = SAMPLE.get_or_init(|| {
            (fs::read(repo("archive/sample.zip")).unwrap(), sample_trust())
        });
        let mut b = sample.clone();
        for (i, v) in &edits {
            let i = i.index(b.len());
            b[i] = *v;
        }
        if let Some((i, n)) = cut {
            let i = i.index(b.len());
            let end = (i + n).min(b.len());
            b.drain(i..end);
        }
        if let Some((i, bytes)) = insert {
            let i = i.index(b.len() + 1);
            b.splice(i..i, bytes);
        }
        if let Some(t) = truncate {
            b.truncate(t.index(b.len() + 1));
        }
        let r = verify::verify_bytes("mutant", &b, Some(trust), &Options::default());
        if b == *sample {
            prop_assert!(r.ok);
        } else {
            prop_assert!(!r.ok, "mutant accepted");
            prop_assert!(!r.error_codes().is_empty());
        }
    }
}
