//! minisign key and signature files.
//!
//! docseal's keys are minisign keys and its signatures minisign signatures, so that the
//! `minisign` program (0.11) can check a bundle without docseal. `docs/KEYS.md` gives the byte
//! layouts, the scrypt limits and what was tested against the real `minisign` program.
//!
//! Parsing is strict: every file must have exactly its lines, each ending in LF (no CR), the
//! base64 must be standard, padded and canonical, and every decoded block must have its exact
//! length. Comments must be UTF-8 without control characters and fit minisign's own limits.
//! No parser here panics on any input.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::Signer as _;

mod ed25519;
mod kdf;
mod public;
mod scalar;
mod secret;
mod signature;
#[cfg(test)]
mod tests;
mod text;

pub use ed25519::VerifyError;
pub use public::PublicKey;
pub use scalar::{with_reduced_s, GROUP_ORDER};
pub use secret::SecretKey;
pub use signature::Signature;

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
    /// The public key has a small-order (torsion) component: it is not in the prime-order
    /// subgroup, so one secret key could sign under it and under the plain key as two keys.
    #[error("mixed-order public key (a small-order component; not in the prime-order subgroup): refused")]
    MixedOrderKey,
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

// ---------------------------------------------------------------------------------------------
// Format constants (minisign's `src/minisign.h`).
// ---------------------------------------------------------------------------------------------

/// Prefix of the first line of every minisign file.
pub const UNTRUSTED_COMMENT_PREFIX: &str = "untrusted comment: ";
/// Prefix of the third line of a signature file.
pub const TRUSTED_COMMENT_PREFIX: &str = "trusted comment: ";

/// Longest untrusted comment (bytes, after the prefix). minisign reads the first line with
/// `fgets` into a 1024-byte buffer (`COMMENTMAXBYTES`): prefix (19) + comment + LF + NUL must
/// fit, so 1024 - 19 - 1 - 1 = 1003.
pub const MAX_UNTRUSTED_COMMENT_BYTES: usize = 1024 - UNTRUSTED_COMMENT_PREFIX.len() - 2;
/// Longest trusted comment (bytes, after the prefix). `minisign -V` reads the third line into
/// an 8192-byte buffer (`TRUSTEDCOMMENTMAXBYTES`): 8192 - 17 - 1 - 1 = 8173. (`minisign -S`
/// itself can only write 4077 bytes, its `xfprintf()` buffer being 4096 bytes; longer
/// signatures made here still verify with `minisign -V`.)
pub const MAX_TRUSTED_COMMENT_BYTES: usize = 8192 - TRUSTED_COMMENT_PREFIX.len() - 2;

/// Untrusted comment of the encrypted secret key file (minisign's default).
pub const SECRET_KEY_COMMENT_ENCRYPTED: &str = "minisign encrypted secret key";
/// Untrusted comment of the unencrypted secret key file. (`minisign -G -W` writes the
/// "encrypted" comment even for an unencrypted key; docseal says what the file is.)
pub const SECRET_KEY_COMMENT_UNENCRYPTED: &str = "minisign unencrypted secret key";

/// scrypt `opslimit` docseal writes (2^25): libsodium's
/// `crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE`, as `minisign -G` uses. With
/// [`KDF_MEMLIMIT_DEFAULT`] it derives N = 2^20, r = 8, p = 1.
pub const KDF_OPSLIMIT_DEFAULT: u64 = 33_554_432;
/// scrypt `memlimit` docseal writes: libsodium's `..._MEMLIMIT_SENSITIVE` (1 GiB), as minisign.
pub const KDF_MEMLIMIT_DEFAULT: u64 = 1_073_741_824;
/// Largest `opslimit` docseal accepts in a secret key file (2^34).
pub const KDF_OPSLIMIT_MAX: u64 = 1 << 34;
/// Largest `memlimit` docseal accepts in a secret key file (2 GiB). The scrypt table the derived
/// parameters need (128·r·N bytes) is at most this too.
pub const KDF_MEMLIMIT_MAX: u64 = 1 << 31;
/// Largest scrypt `B` buffer (128·r·p bytes) docseal accepts: 64 MiB.
pub const KDF_PBUF_MAX: u64 = 64 << 20;
/// Longest passphrase docseal encrypts with: minisign reads passwords with `fgets` into a
/// 1024-byte buffer, so a longer one (with its LF) could not be typed into minisign.
pub const MAX_PASSPHRASE_BYTES: usize = 1022;

pub(crate) const SIGALG: [u8; 2] = *b"Ed";
pub(crate) const SIGALG_HASHED: [u8; 2] = *b"ED";
pub(crate) const KDFALG: [u8; 2] = *b"Sc";
pub(crate) const KDFNONE: [u8; 2] = [0, 0];
pub(crate) const CHKALG: [u8; 2] = *b"B2";

/// `"Ed"` + key id + public key.
pub(crate) const PK_LEN: usize = 2 + 8 + 32;
/// `"ED"` + key id + signature.
pub(crate) const SIG_LEN: usize = 2 + 8 + 64;
/// Global signature.
pub(crate) const GLOBAL_SIG_LEN: usize = 64;
/// sig_alg, kdf_alg, chk_alg, salt, opslimit, memlimit, then the 104-byte keynum_sk block.
pub(crate) const SK_LEN: usize = 2 + 2 + 2 + 32 + 8 + 8 + KEYNUM_SK_LEN;
/// key id (8) + libsodium secret key (seed 32 + public key 32) + checksum (32).
pub(crate) const KEYNUM_SK_LEN: usize = 8 + 64 + 32;

// Offsets in the secret key block.
pub(crate) const SK_SIG_ALG: usize = 0;
pub(crate) const SK_KDF_ALG: usize = 2;
pub(crate) const SK_CHK_ALG: usize = 4;
pub(crate) const SK_SALT: usize = 6;
pub(crate) const SK_OPSLIMIT: usize = 38;
pub(crate) const SK_MEMLIMIT: usize = 46;
pub(crate) const SK_KEYNUM_SK: usize = 54;
pub(crate) const SK_KEYNUM: usize = 54;
pub(crate) const SK_SEED: usize = 62;
pub(crate) const SK_PK: usize = 94;
pub(crate) const SK_CHK: usize = 126;

pub(crate) const WHAT_PK: &str = "public key";
pub(crate) const WHAT_SK: &str = "secret key";
pub(crate) const WHAT_SIG: &str = "signature";

pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> KeyError {
    KeyError::Malformed {
        what,
        detail: detail.into(),
    }
}

pub(crate) fn alg_name(alg: &[u8]) -> String {
    String::from_utf8_lossy(alg).into_owned()
}
