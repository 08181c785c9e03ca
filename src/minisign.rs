//! minisign key and signature files (STUB: API contract; bodies to be implemented).
//!
//! docseal's keys are minisign keys and its signatures minisign signatures, so that the
//! `minisign` program can check a bundle without docseal. See `docs/KEYS.md`.

use std::fmt;
use zeroize::Zeroizing;

/// Errors reading or writing minisign files. Messages do not name the file; callers add it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file is not in the expected minisign format.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// "public key", "secret key" or "signature".
        what: &'static str,
        /// What exactly is wrong.
        detail: String,
    },
    /// The public key is a weak (small-order) Ed25519 key.
    #[error("weak public key (small-order point): refused")]
    WeakKey,
    /// The secret key is encrypted and no passphrase was given.
    #[error("the secret key is encrypted: a passphrase is needed")]
    PassphraseRequired,
    /// The passphrase does not decrypt the key (checksum mismatch after decryption).
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The unencrypted key's checksum does not match: the file is corrupt.
    #[error("checksum mismatch: the secret key file is corrupt")]
    Checksum,
    /// The file's scrypt parameters exceed docseal's limits.
    #[error("scrypt parameters beyond limits ({detail})")]
    KdfLimits {
        /// Which parameter and its value.
        detail: String,
    },
    /// An algorithm docseal does not support.
    #[error("unsupported algorithm {0:?}")]
    Algorithm(String),
}

/// An 8-byte minisign key id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    /// 16 upper-case hex digits of the bytes read as a little-endian u64, as minisign prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

/// A minisign Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key_id: KeyId,
    key: ed25519_dalek::VerifyingKey,
}

impl PublicKey {
    /// Parse a public key file (untrusted comment line, then the base64 line). Refuses weak keys.
    pub fn from_file_bytes(_bytes: &[u8]) -> Result<Self, KeyError> {
        todo!()
    }
    /// Parse the base64 line alone. Refuses weak keys.
    pub fn from_base64(_line: &str) -> Result<Self, KeyError> {
        todo!()
    }
    /// The file form: `untrusted comment: minisign public key <KEYID>\n<base64>\n`.
    pub fn to_file_string(&self) -> String {
        todo!()
    }
    /// The base64 line (no newline).
    pub fn to_base64(&self) -> String {
        todo!()
    }
    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    /// The Ed25519 key.
    pub fn verifying_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }
}

/// A minisign Ed25519 secret key. Secret bytes are zeroized on drop and never printed.
pub struct SecretKey {
    key_id: KeyId,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.key_id)
    }
}

impl SecretKey {
    /// A new random key with a random key id.
    pub fn generate() -> Self {
        todo!()
    }
    /// A key from a 32-byte seed and a key id (for test vectors and tests only).
    pub fn from_seed(_seed: &[u8; 32], _key_id: KeyId) -> Self {
        todo!()
    }
    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        todo!()
    }
    /// The secret key file. `None`: unencrypted, as `minisign -G -W`. `Some(p)`: scrypt-encrypted
    /// with minisign's default parameters.
    pub fn to_file_string(&self, _passphrase: Option<&[u8]>) -> Result<Zeroizing<String>, KeyError> {
        todo!()
    }
    /// Whether a secret key file is encrypted (without decrypting it).
    pub fn file_is_encrypted(_bytes: &[u8]) -> Result<bool, KeyError> {
        todo!()
    }
    /// Parse (and decrypt when encrypted) a secret key file.
    pub fn from_file_bytes(_bytes: &[u8], _passphrase: Option<&[u8]>) -> Result<Self, KeyError> {
        todo!()
    }
    /// Sign `data` in minisign's prehashed (`ED`) form.
    pub fn sign(&self, _data: &[u8], _untrusted_comment: &str, _trusted_comment: &str) -> Signature {
        todo!()
    }
}

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

impl Signature {
    /// Parse a signature file strictly: exactly four LF-terminated lines, canonical base64.
    pub fn parse(_bytes: &[u8]) -> Result<Self, KeyError> {
        todo!()
    }
    /// The file form (four lines, each ending in LF).
    pub fn to_file_string(&self) -> String {
        todo!()
    }
    /// Verify over `data` with `key`, strictly, including the global signature.
    pub fn verify(&self, _key: &PublicKey, _data: &[u8]) -> Result<(), VerifyError> {
        todo!()
    }
}
