//! Public keys: the file and base64 forms, checked (canonical, not of small order).

use super::ed25519::*;
use super::text::*;
use super::*;

use base64::engine::general_purpose::STANDARD;

// ---------------------------------------------------------------------------------------------
// Public key.
// ---------------------------------------------------------------------------------------------

/// A minisign Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub(super) key_id: KeyId,
    pub(super) key: ed25519_dalek::VerifyingKey,
}

impl PublicKey {
    pub(super) fn new(key_id: KeyId, key: ed25519_dalek::VerifyingKey) -> Self {
        PublicKey { key_id, key }
    }
}

/// An Ed25519 public key from its 32 bytes: must decompress, be canonical, not be small-order,
/// and have no small-order component (a key A + T, T of order 8, verifies signatures made with
/// A's secret: one secret key would act as two keys).
pub(super) fn verifying_key(
    bytes: &[u8; 32],
    what: &'static str,
) -> Result<ed25519_dalek::VerifyingKey, KeyError> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
        .map_err(|_| malformed(what, "the Ed25519 public key is not a curve point"))?;
    if key.is_weak() {
        return Err(KeyError::WeakKey);
    }
    if key.to_edwards().compress().to_bytes() != *bytes {
        return Err(malformed(what, "non-canonical Ed25519 point encoding"));
    }
    if !key.to_edwards().is_torsion_free() {
        return Err(KeyError::MixedOrderKey);
    }
    Ok(key)
}

impl PublicKey {
    /// Parse a public key file (untrusted comment line, then the base64 line). Refuses weak and mixed-order keys.
    ///
    /// Exactly two LF-terminated lines; the first must start with `untrusted comment: ` (any
    /// comment within minisign's limits), the second is as in [`PublicKey::from_base64`].
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let lines = split_lines(bytes, 2, WHAT_PK)?;
        let (first, second) = match lines.as_slice() {
            [a, b] => (*a, *b),
            _ => return Err(malformed(WHAT_PK, "expected exactly 2 lines")),
        };
        untrusted_comment_of(first, WHAT_PK)?;
        Self::from_base64(second)
    }

    /// Parse the base64 line alone. Refuses weak and mixed-order keys.
    pub fn from_base64(line: &str) -> Result<Self, KeyError> {
        let raw = decode_exact::<PK_LEN>(line, "public key line", WHAT_PK)?;
        if raw[0..2] != SIGALG {
            return Err(KeyError::Algorithm(alg_name(&raw[0..2])));
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&raw[2..10]);
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&raw[10..42]);
        Ok(PublicKey::new(KeyId(id), verifying_key(&pk, WHAT_PK)?))
    }

    /// The file form: `untrusted comment: minisign public key <KEYID>\n<base64>\n`.
    pub fn to_file_string(&self) -> String {
        format!(
            "{UNTRUSTED_COMMENT_PREFIX}minisign public key {}\n{}\n",
            self.key_id,
            self.to_base64()
        )
    }

    /// The base64 line (no newline).
    pub fn to_base64(&self) -> String {
        let mut raw = [0u8; PK_LEN];
        raw[0..2].copy_from_slice(&SIGALG);
        raw[2..10].copy_from_slice(&self.key_id.0);
        raw[10..42].copy_from_slice(self.key.as_bytes());
        STANDARD.encode(raw)
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The Ed25519 key.
    pub fn verifying_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// Not part of the API (for `tests/ed25519_vectors.rs` and the `ed25519` fuzz target): how
    /// [`Signature::verify`] accepts one Ed25519 `signature` over `message` with this key,
    /// i.e. `strict_fast`, then ed25519-dalek's `verify_strict` and the non-strict check for
    /// the error kind.
    #[doc(hidden)]
    pub fn ed25519_check(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), VerifyError> {
        check_ed25519(&self.key, message, signature, "signature")
    }

    /// Not part of the API (for `tests/ed25519_vectors.rs` and the `ed25519` fuzz target):
    /// `strict_fast` alone, the function that accepts every valid signature docseal verifies.
    #[doc(hidden)]
    pub fn ed25519_strict_fast(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        strict_fast(&self.key, message, signature)
    }

    /// Not part of the API (for `tests/ed25519_vectors.rs` and the `ed25519` fuzz target): how
    /// [`Signature::verify`] accepts its two signatures, the signature (`first`) and the
    /// global signature (`second`): `strict_fast_pair` (one field inversion for both), then
    /// the one-signature check of each in order for the verdict and the error kind.
    #[doc(hidden)]
    pub fn ed25519_check_pair(
        &self,
        first: (&[u8], &[u8; 64]),
        second: (&[u8], &[u8; 64]),
    ) -> Result<(), VerifyError> {
        check_ed25519_pair(
            &self.key,
            (first.0, first.1, "signature"),
            (second.0, second.1, "global signature"),
        )
    }

    /// Not part of the API (for `tests/ed25519_vectors.rs` and the `ed25519` fuzz target):
    /// `strict_fast_pair` alone, the function that accepts every valid signature pair docseal
    /// verifies.
    #[doc(hidden)]
    pub fn ed25519_strict_fast_pair(
        &self,
        first: (&[u8], &[u8; 64]),
        second: (&[u8], &[u8; 64]),
    ) -> [bool; 2] {
        strict_fast_pair(&self.key, first, second)
    }
}
