//! Text helpers: the exact lines of a file, comments, strict base64.

use super::*;

use zeroize::Zeroizing;

use base64::engine::general_purpose::STANDARD;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};

// ---------------------------------------------------------------------------------------------
// Text helpers.
// ---------------------------------------------------------------------------------------------

/// Split a file into exactly `n` lines, each terminated by LF, with no CR anywhere.
pub(super) fn split_lines<'a>(
    bytes: &'a [u8],
    n: usize,
    what: &'static str,
) -> Result<Vec<&'a str>, KeyError> {
    if bytes.is_empty() {
        return Err(malformed(what, "empty file"));
    }
    if bytes.contains(&b'\r') {
        return Err(malformed(
            what,
            "carriage return found (CRLF line endings are not accepted)",
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| malformed(what, "not valid UTF-8"))?;
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| malformed(what, "the last line does not end with a line feed"))?;
    let lines: Vec<&str> = body.split('\n').collect();
    if lines.len() != n {
        return Err(malformed(
            what,
            format!("expected exactly {n} lines, found {}", lines.len()),
        ));
    }
    Ok(lines)
}

/// Check a comment: at most `max` bytes, no control characters.
pub(super) fn check_comment(
    comment: &str,
    max: usize,
    label: &str,
    what: &'static str,
) -> Result<(), KeyError> {
    if comment.len() > max {
        return Err(malformed(
            what,
            format!("{label} is {} bytes, more than {max}", comment.len()),
        ));
    }
    if let Some(c) = comment.chars().find(|c| c.is_control()) {
        return Err(malformed(
            what,
            format!("{label} contains the control character {c:?}"),
        ));
    }
    Ok(())
}

/// The comment of an `untrusted comment: ...` line.
pub(super) fn untrusted_comment_of<'a>(
    line: &'a str,
    what: &'static str,
) -> Result<&'a str, KeyError> {
    let comment = line.strip_prefix(UNTRUSTED_COMMENT_PREFIX).ok_or_else(|| {
        malformed(
            what,
            format!("the first line does not start with {UNTRUSTED_COMMENT_PREFIX:?}"),
        )
    })?;
    check_comment(
        comment,
        MAX_UNTRUSTED_COMMENT_BYTES,
        "the untrusted comment",
        what,
    )?;
    Ok(comment)
}

/// A comment made writable: control characters become U+FFFD, then it is cut (at a character
/// boundary) to `max` bytes.
pub(super) fn sanitize_comment(comment: &str, max: usize) -> String {
    let mut out = String::with_capacity(comment.len().min(max));
    for c in comment.chars() {
        let c = if c.is_control() {
            char::REPLACEMENT_CHARACTER
        } else {
            c
        };
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// Length of the padded base64 encoding of `n` bytes.
pub(super) const fn b64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Decode one base64 line of exactly `N` bytes: standard alphabet, padded, canonical (the
/// re-encoding must be the same text). The result is zeroized on drop.
pub(super) fn decode_exact<const N: usize>(
    line: &str,
    label: &str,
    what: &'static str,
) -> Result<Zeroizing<[u8; N]>, KeyError> {
    if line.len() != b64_len(N) {
        return Err(malformed(
            what,
            format!(
                "{label}: {} base64 characters, expected {} ({N} bytes)",
                line.len(),
                b64_len(N)
            ),
        ));
    }
    let mut out = Zeroizing::new([0u8; N]);
    let n = STANDARD
        .decode_slice(line.as_bytes(), &mut out[..])
        .map_err(|e| malformed(what, format!("{label}: invalid base64 ({e})")))?;
    if n != N {
        return Err(malformed(
            what,
            format!("{label}: decodes to {n} bytes, expected {N}"),
        ));
    }
    let mut again = Zeroizing::new(String::with_capacity(b64_len(N)));
    STANDARD.encode_string(&out[..], &mut again);
    if again.as_str() != line {
        return Err(malformed(what, format!("{label}: non-canonical base64")));
    }
    Ok(out)
}

/// BLAKE2b-256 checksum minisign stores in `keynum_sk.chk`: over sig_alg, key id, and the
/// 64-byte libsodium secret key (seed + public key).
pub(super) fn secret_key_checksum(sk: &[u8; SK_LEN]) -> Zeroizing<[u8; 32]> {
    let mut h = Blake2b::<U32>::new();
    h.update(&sk[SK_SIG_ALG..SK_SIG_ALG + 2]);
    h.update(&sk[SK_KEYNUM..SK_KEYNUM + 8]);
    h.update(&sk[SK_SEED..SK_SEED + 64]);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&h.finalize());
    out
}

pub(super) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub(super) fn le64(bytes: &[u8; SK_LEN], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}
