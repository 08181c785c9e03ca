//! Secret keys: generated, encrypted and decrypted (scrypt), written and read strictly.

use super::kdf::*;
use super::public::*;
use super::signature::*;
use super::text::*;
use super::*;

use std::fmt;
use zeroize::Zeroizing;

use base64::engine::general_purpose::STANDARD;
use blake2::{Blake2b512, Digest};

// ---------------------------------------------------------------------------------------------
// Secret key.
// ---------------------------------------------------------------------------------------------

/// A minisign Ed25519 secret key. Secret bytes are zeroized on drop and never printed.
pub struct SecretKey {
    pub(super) key_id: KeyId,
    pub(super) key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.key_id)
    }
}

/// The decoded 158-byte secret key block of a secret key file, after the structural checks.
pub(super) struct SecretKeyBlock {
    pub(super) raw: Zeroizing<[u8; SK_LEN]>,
    /// The scrypt parameters, already checked against the limits, when encrypted.
    pub(super) kdf: Option<scrypt::Params>,
}

pub(super) fn parse_secret_key_block(bytes: &[u8]) -> Result<SecretKeyBlock, KeyError> {
    let lines = split_lines(bytes, 2, WHAT_SK)?;
    let (first, second) = match lines.as_slice() {
        [a, b] => (*a, *b),
        _ => return Err(malformed(WHAT_SK, "expected exactly 2 lines")),
    };
    untrusted_comment_of(first, WHAT_SK)?;
    let raw = decode_exact::<SK_LEN>(second, "secret key line", WHAT_SK)?;
    if raw[SK_SIG_ALG..SK_SIG_ALG + 2] != SIGALG {
        return Err(KeyError::Algorithm(alg_name(
            &raw[SK_SIG_ALG..SK_SIG_ALG + 2],
        )));
    }
    if raw[SK_CHK_ALG..SK_CHK_ALG + 2] != CHKALG {
        return Err(KeyError::Algorithm(alg_name(
            &raw[SK_CHK_ALG..SK_CHK_ALG + 2],
        )));
    }
    let kdf = &raw[SK_KDF_ALG..SK_KDF_ALG + 2];
    let kdf = if kdf == KDFALG {
        Some(kdf_params(
            le64(&raw, SK_OPSLIMIT),
            le64(&raw, SK_MEMLIMIT),
        )?)
    } else if kdf == KDFNONE {
        None
    } else {
        return Err(KeyError::Algorithm(alg_name(kdf)));
    };
    Ok(SecretKeyBlock { raw, kdf })
}

impl SecretKey {
    /// A new random key with a random key id.
    ///
    /// # Panics
    /// Only if the operating system's random number generator fails (no input can cause it).
    pub fn generate() -> Self {
        #[allow(clippy::expect_used)]
        let seed =
            random_bytes::<32>().expect("the operating system's random number generator failed");
        #[allow(clippy::expect_used)]
        let id =
            random_bytes::<8>().expect("the operating system's random number generator failed");
        Self::from_seed(&seed, KeyId(*id))
    }

    /// A key from a 32-byte seed and a key id (for test vectors and tests only).
    pub fn from_seed(seed: &[u8; 32], key_id: KeyId) -> Self {
        SecretKey {
            key_id,
            key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::new(self.key_id, self.key.verifying_key())
    }

    /// The secret key file. `None`: unencrypted, as `minisign -G -W`. `Some(p)`: scrypt-encrypted
    /// with minisign's default parameters.
    ///
    /// The unencrypted form has KDF bytes `0,0`, a zero salt and zero limits like `minisign -G
    /// -W`, but a real checksum (as `minisign -C -W` writes; `-G -W` leaves it zero) and the
    /// comment [`SECRET_KEY_COMMENT_UNENCRYPTED`]. The encrypted form uses a random salt,
    /// [`KDF_OPSLIMIT_DEFAULT`] and [`KDF_MEMLIMIT_DEFAULT`] (scrypt N = 2^20, r = 8, p = 1:
    /// 1 GiB of memory for a few seconds). Passphrases minisign could not read back (longer
    /// than [`MAX_PASSPHRASE_BYTES`], or holding NUL, CR or LF) are refused.
    pub fn to_file_string(&self, passphrase: Option<&[u8]>) -> Result<Zeroizing<String>, KeyError> {
        match passphrase {
            None => Ok(secret_key_file(
                SECRET_KEY_COMMENT_UNENCRYPTED,
                &self.plain_block(),
            )),
            Some(p) => self.to_file_string_with_kdf(p, KDF_OPSLIMIT_DEFAULT, KDF_MEMLIMIT_DEFAULT),
        }
    }

    /// The encrypted secret key file with explicit minisign KDF limits, checked against docseal's
    /// limits as when reading. For tests (small limits are fast) and deliberate choices only.
    pub fn to_file_string_with_kdf(
        &self,
        passphrase: &[u8],
        opslimit: u64,
        memlimit: u64,
    ) -> Result<Zeroizing<String>, KeyError> {
        check_passphrase(passphrase)?;
        let params = kdf_params(opslimit, memlimit)?;
        let salt = random_bytes::<32>().map_err(|e| {
            malformed(
                WHAT_SK,
                format!("cannot get random bytes for the salt: {e}"),
            )
        })?;
        let mut block = self.plain_block();
        block[SK_KDF_ALG..SK_KDF_ALG + 2].copy_from_slice(&KDFALG);
        block[SK_SALT..SK_SALT + 32].copy_from_slice(&salt[..]);
        block[SK_OPSLIMIT..SK_OPSLIMIT + 8].copy_from_slice(&opslimit.to_le_bytes());
        block[SK_MEMLIMIT..SK_MEMLIMIT + 8].copy_from_slice(&memlimit.to_le_bytes());
        let stream = kdf_stream(passphrase, &salt[..], &params)?;
        xor_keynum_sk(&mut block, &stream);
        Ok(secret_key_file(SECRET_KEY_COMMENT_ENCRYPTED, &block))
    }

    /// The plaintext 158-byte block, unencrypted (KDF bytes 0,0; zero salt and limits), with
    /// its checksum.
    pub(super) fn plain_block(&self) -> Zeroizing<[u8; SK_LEN]> {
        let mut block = Zeroizing::new([0u8; SK_LEN]);
        block[SK_SIG_ALG..SK_SIG_ALG + 2].copy_from_slice(&SIGALG);
        block[SK_KDF_ALG..SK_KDF_ALG + 2].copy_from_slice(&KDFNONE);
        block[SK_CHK_ALG..SK_CHK_ALG + 2].copy_from_slice(&CHKALG);
        block[SK_KEYNUM..SK_KEYNUM + 8].copy_from_slice(&self.key_id.0);
        block[SK_SEED..SK_SEED + 32].copy_from_slice(self.key.as_bytes());
        block[SK_PK..SK_PK + 32].copy_from_slice(self.key.verifying_key().as_bytes());
        let chk = secret_key_checksum(&block);
        block[SK_CHK..SK_CHK + 32].copy_from_slice(&chk[..]);
        block
    }

    /// Whether a secret key file is encrypted (without decrypting it).
    ///
    /// The file is checked as far as possible without the passphrase: structure, algorithms,
    /// and, when encrypted, the scrypt limits ([`KeyError::KdfLimits`]), so that a caller can
    /// refuse a bad file before asking for a passphrase.
    pub fn file_is_encrypted(bytes: &[u8]) -> Result<bool, KeyError> {
        Ok(parse_secret_key_block(bytes)?.kdf.is_some())
    }

    /// Parse (and decrypt when encrypted) a secret key file.
    ///
    /// Encrypted (`Sc`): the scrypt limits are checked first, before any scrypt work
    /// ([`KeyError::KdfLimits`]); then `passphrase` is required ([`KeyError::PassphraseRequired`]);
    /// a checksum mismatch
    /// after decryption is [`KeyError::WrongPassphrase`]. Unencrypted (KDF bytes `0,0`): the
    /// passphrase is ignored; the checksum must match ([`KeyError::Checksum`]) unless it is all
    /// zero, as `minisign -G -W` leaves it. In both cases the stored public key must be the one
    /// the seed gives.
    pub fn from_file_bytes(bytes: &[u8], passphrase: Option<&[u8]>) -> Result<Self, KeyError> {
        let SecretKeyBlock { mut raw, kdf } = parse_secret_key_block(bytes)?;
        if let Some(params) = kdf {
            let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
            let stream = kdf_stream(passphrase, &raw[SK_SALT..SK_SALT + 32], &params)?;
            xor_keynum_sk(&mut raw, &stream);
            let chk = secret_key_checksum(&raw);
            if !ct_eq(&chk[..], &raw[SK_CHK..SK_CHK + 32]) {
                return Err(KeyError::WrongPassphrase);
            }
        } else {
            let stored = &raw[SK_CHK..SK_CHK + 32];
            if stored.iter().any(|&b| b != 0) {
                let chk = secret_key_checksum(&raw);
                if !ct_eq(&chk[..], stored) {
                    return Err(KeyError::Checksum);
                }
            }
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&raw[SK_SEED..SK_SEED + 32]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&raw[SK_KEYNUM..SK_KEYNUM + 8]);
        let sk = SecretKey::from_seed(&seed, KeyId(id));
        if !ct_eq(sk.key.verifying_key().as_bytes(), &raw[SK_PK..SK_PK + 32]) {
            return Err(malformed(
                WHAT_SK,
                "the stored public key does not match the secret key",
            ));
        }
        Ok(sk)
    }

    /// Sign `data` in minisign's prehashed (`ED`) form.
    ///
    /// Comments that could not be written or read back are made writable: control characters
    /// become U+FFFD and over-long comments are cut (see [`MAX_UNTRUSTED_COMMENT_BYTES`],
    /// [`MAX_TRUSTED_COMMENT_BYTES`]); the signature covers the trusted comment as stored in
    /// the result. [`SecretKey::try_sign`] refuses such comments instead.
    pub fn sign(&self, data: &[u8], untrusted_comment: &str, trusted_comment: &str) -> Signature {
        let uc = sanitize_comment(untrusted_comment, MAX_UNTRUSTED_COMMENT_BYTES);
        let tc = sanitize_comment(trusted_comment, MAX_TRUSTED_COMMENT_BYTES);
        self.sign_raw(data, uc, tc)
    }

    /// Like [`SecretKey::sign`], but refuses comments with control characters or beyond
    /// minisign's lengths (`KeyError::Malformed` with `what` = "signature").
    pub fn try_sign(
        &self,
        data: &[u8],
        untrusted_comment: &str,
        trusted_comment: &str,
    ) -> Result<Signature, KeyError> {
        check_comment(
            untrusted_comment,
            MAX_UNTRUSTED_COMMENT_BYTES,
            "the untrusted comment",
            WHAT_SIG,
        )?;
        check_comment(
            trusted_comment,
            MAX_TRUSTED_COMMENT_BYTES,
            "the trusted comment",
            WHAT_SIG,
        )?;
        Ok(self.sign_raw(
            data,
            untrusted_comment.to_owned(),
            trusted_comment.to_owned(),
        ))
    }

    /// A pure Ed25519 (RFC 8032) signature of `message` with this key, for formats other than
    /// minisign that sign with the same key (C2SP signed notes: [`crate::format::note`]).
    pub fn sign_ed25519(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    pub(super) fn sign_raw(
        &self,
        data: &[u8],
        untrusted_comment: String,
        trusted_comment: String,
    ) -> Signature {
        let digest = Blake2b512::digest(data);
        let signature = self.key.sign(&digest).to_bytes();
        let global_signature = self
            .key
            .sign(&global_message(&signature, &trusted_comment))
            .to_bytes();
        Signature {
            untrusted_comment,
            prehashed: true,
            key_id: self.key_id,
            signature,
            trusted_comment,
            global_signature,
        }
    }
}

/// `untrusted comment: <comment>\n<base64 of block>\n`, in a zeroizing string.
pub(super) fn secret_key_file(comment: &str, block: &[u8; SK_LEN]) -> Zeroizing<String> {
    let len = UNTRUSTED_COMMENT_PREFIX.len() + comment.len() + 1 + b64_len(SK_LEN) + 1;
    let mut out = Zeroizing::new(String::with_capacity(len));
    out.push_str(UNTRUSTED_COMMENT_PREFIX);
    out.push_str(comment);
    out.push('\n');
    STANDARD.encode_string(&block[..], &mut out);
    out.push('\n');
    out
}

pub(super) fn check_passphrase(passphrase: &[u8]) -> Result<(), KeyError> {
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(malformed(
            WHAT_SK,
            format!("the passphrase is longer than {MAX_PASSPHRASE_BYTES} bytes: minisign could not read it"),
        ));
    }
    if passphrase
        .iter()
        .any(|&b| b == 0 || b == b'\r' || b == b'\n')
    {
        return Err(malformed(
            WHAT_SK,
            "the passphrase contains NUL, CR or LF: minisign could not read it",
        ));
    }
    Ok(())
}
