//! Signatures: the file form, strict Ed25519 verification and signing.

use super::ed25519::*;
use super::public::*;
use super::text::*;
use super::*;

use base64::engine::general_purpose::STANDARD;
use blake2::{Blake2b512, Digest};

// ---------------------------------------------------------------------------------------------
// Signature.
// ---------------------------------------------------------------------------------------------

/// A minisign signature file, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The untrusted comment (after `untrusted comment: `).
    pub untrusted_comment: String,
    /// `true` for the prehashed `ED` algorithm, `false` for legacy `Ed`.
    pub prehashed: bool,
    /// The key id the signature names.
    pub key_id: KeyId,
    /// The Ed25519 signature of the (prehashed) data.
    pub signature: [u8; 64],
    /// The trusted comment (after `trusted comment: `).
    pub trusted_comment: String,
    /// The Ed25519 signature of `signature` + `trusted_comment`.
    pub global_signature: [u8; 64],
}

impl Signature {
    /// Parse a signature file strictly: exactly four lines, each ending in LF, no CR;
    /// `untrusted comment: ` and `trusted comment: ` prefixes; comments UTF-8 without control
    /// characters and within minisign's limits; canonical padded base64 of exactly 74 and 64
    /// bytes; algorithm `ED` (prehashed) or `Ed` (legacy, parsed but never verified).
    pub fn parse(bytes: &[u8]) -> Result<Self, KeyError> {
        let lines = split_lines(bytes, 4, WHAT_SIG)?;
        let (l1, l2, l3, l4) = match lines.as_slice() {
            [a, b, c, d] => (*a, *b, *c, *d),
            _ => return Err(malformed(WHAT_SIG, "expected exactly 4 lines")),
        };
        let untrusted_comment = untrusted_comment_of(l1, WHAT_SIG)?;
        let sig = decode_exact::<SIG_LEN>(l2, "signature line", WHAT_SIG)?;
        let trusted_comment = l3.strip_prefix(TRUSTED_COMMENT_PREFIX).ok_or_else(|| {
            malformed(
                WHAT_SIG,
                format!("the third line does not start with {TRUSTED_COMMENT_PREFIX:?}"),
            )
        })?;
        check_comment(
            trusted_comment,
            MAX_TRUSTED_COMMENT_BYTES,
            "the trusted comment",
            WHAT_SIG,
        )?;
        let global = decode_exact::<GLOBAL_SIG_LEN>(l4, "global signature line", WHAT_SIG)?;
        let prehashed = if sig[0..2] == SIGALG_HASHED {
            true
        } else if sig[0..2] == SIGALG {
            false
        } else {
            return Err(KeyError::Algorithm(alg_name(&sig[0..2])));
        };
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&sig[2..10]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&sig[10..74]);
        Ok(Signature {
            untrusted_comment: untrusted_comment.to_owned(),
            prehashed,
            key_id: KeyId(key_id),
            signature,
            trusted_comment: trusted_comment.to_owned(),
            global_signature: *global,
        })
    }

    /// The file form (four lines, each ending in LF).
    ///
    /// Comments are written as [`SecretKey::sign`] would store them (control characters
    /// replaced, cut to minisign's limits), so the output always has four lines; a signature
    /// whose trusted comment needed that no longer verifies.
    pub fn to_file_string(&self) -> String {
        let mut raw = [0u8; SIG_LEN];
        raw[0..2].copy_from_slice(if self.prehashed {
            &SIGALG_HASHED
        } else {
            &SIGALG
        });
        raw[2..10].copy_from_slice(&self.key_id.0);
        raw[10..74].copy_from_slice(&self.signature);
        format!(
            "{UNTRUSTED_COMMENT_PREFIX}{}\n{}\n{TRUSTED_COMMENT_PREFIX}{}\n{}\n",
            sanitize_comment(&self.untrusted_comment, MAX_UNTRUSTED_COMMENT_BYTES),
            STANDARD.encode(raw),
            sanitize_comment(&self.trusted_comment, MAX_TRUSTED_COMMENT_BYTES),
            STANDARD.encode(self.global_signature),
        )
    }

    /// Verify over `data` with `key`, strictly, including the global signature.
    ///
    /// Order: key id ([`VerifyError::KeyIdMismatch`]), algorithm ([`VerifyError::Legacy`]),
    /// then the signature of BLAKE2b-512(`data`) and the global signature, each with Ed25519
    /// `verify_strict`; one that passes only the non-strict check is [`VerifyError::NotStrict`].
    pub fn verify(&self, key: &PublicKey, data: &[u8]) -> Result<(), VerifyError> {
        if self.key_id != key.key_id {
            return Err(VerifyError::KeyIdMismatch {
                sig: self.key_id,
                key: key.key_id,
            });
        }
        if !self.prehashed {
            return Err(VerifyError::Legacy);
        }
        let digest = Blake2b512::digest(data);
        // Both verifications with one field inversion; the verdicts and the first error are
        // those of checking the signature, then the global signature (`check_ed25519_pair`).
        check_ed25519_pair(
            &key.key,
            (&digest, &self.signature, "signature"),
            (
                &global_message(&self.signature, &self.trusted_comment),
                &self.global_signature,
                "global signature",
            ),
        )
    }
}

/// The message of the global signature: signature bytes, then the trusted comment's bytes.
pub(super) fn global_message(signature: &[u8; 64], trusted_comment: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + trusted_comment.len());
    m.extend_from_slice(signature);
    m.extend_from_slice(trusted_comment.as_bytes());
    m
}
