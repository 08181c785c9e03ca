//! Signature checks for tokens and certificates: RSA (PKCS#1 v1.5 and PSS) and ECDSA over
//! P-256 and P-384, with SHA-256, SHA-384 or SHA-512. Nothing else is accepted.

use super::asn1::*;
use super::{Hash, TsaError};
use crate::format::finding::Code;
use der::{Decode, Encode, Tagged};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

fn unsupported(why: String) -> TsaError {
    TsaError::new(Code::TsaAlgorithm, why)
}

fn bad_sig(why: &str) -> TsaError {
    TsaError::new(Code::TsaSignature, why.to_string())
}

enum Scheme {
    Pkcs1(Hash),
    Pss(Hash, usize),
    Ecdsa(Hash),
}

/// The parameters of a signature algorithm must be absent or NULL (RSA), absent (ECDSA).
fn params_null_or_absent(a: &AlgorithmIdentifierOwned) -> bool {
    match &a.parameters {
        None => true,
        Some(p) => p.tag() == der::Tag::Null && p.value().is_empty(),
    }
}

fn scheme(a: &AlgorithmIdentifierOwned, digest: Option<Hash>) -> Result<Scheme, TsaError> {
    let with = |h: Hash| -> Result<Hash, TsaError> {
        match digest {
            Some(d) if d != h => Err(unsupported(format!(
                "signature algorithm {} hashes with another digest than the SignerInfo's",
                a.oid
            ))),
            _ => Ok(h),
        }
    };
    let s = match a.oid {
        o if o == RSA_ENCRYPTION => {
            let h = digest.ok_or_else(|| unsupported("rsaEncryption without a digest".into()))?;
            Scheme::Pkcs1(h)
        }
        o if o == SHA256_WITH_RSA => Scheme::Pkcs1(with(Hash::Sha256)?),
        o if o == SHA384_WITH_RSA => Scheme::Pkcs1(with(Hash::Sha384)?),
        o if o == SHA512_WITH_RSA => Scheme::Pkcs1(with(Hash::Sha512)?),
        o if o == ECDSA_SHA256 => Scheme::Ecdsa(with(Hash::Sha256)?),
        o if o == ECDSA_SHA384 => Scheme::Ecdsa(with(Hash::Sha384)?),
        o if o == ECDSA_SHA512 => Scheme::Ecdsa(with(Hash::Sha512)?),
        o if o == RSASSA_PSS => {
            let p: PssParams = a
                .parameters
                .as_ref()
                .ok_or_else(|| unsupported("RSASSA-PSS without parameters (SHA-1)".into()))?
                .decode_as()
                .map_err(|e| unsupported(format!("RSASSA-PSS parameters: {e}")))?;
            let h = p
                .hash_algorithm
                .as_ref()
                .and_then(|h| Hash::from_oid(&h.oid))
                .ok_or_else(|| unsupported("RSASSA-PSS with a hash other than SHA-2".into()))?;
            let mgf = p
                .mask_gen_algorithm
                .as_ref()
                .ok_or_else(|| unsupported("RSASSA-PSS with MGF1-SHA-1".into()))?;
            let mgf_hash: Option<AlgorithmIdentifierOwned> =
                mgf.parameters.as_ref().and_then(|p| p.decode_as().ok());
            if mgf.oid != ID_MGF1 || mgf_hash.and_then(|m| Hash::from_oid(&m.oid)) != Some(h) {
                return Err(unsupported(
                    "RSASSA-PSS whose mask generation is not MGF1 with the same hash".into(),
                ));
            }
            if p.trailer_field.unwrap_or(1) != 1 {
                return Err(unsupported("RSASSA-PSS trailer field other than 1".into()));
            }
            let salt = p.salt_length.unwrap_or(20) as usize;
            Scheme::Pss(with(h)?, salt)
        }
        o => {
            return Err(unsupported(format!(
                "signature algorithm {o} is not supported"
            )))
        }
    };
    if !matches!(s, Scheme::Pss(..)) && !params_null_or_absent(a) {
        return Err(unsupported(format!(
            "parameters on signature algorithm {}",
            a.oid
        )));
    }
    Ok(s)
}

/// Verify `sig` over `msg` with the key `spki` under algorithm `alg`. `digest` is the CMS
/// SignerInfo's digest algorithm (a combined algorithm must agree with it); `None` for a
/// certificate.
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    digest: Option<Hash>,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), TsaError> {
    let scheme = scheme(alg, digest)?;
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad_sig("the public key is not a whole number of bytes"))?;
    match scheme {
        Scheme::Pkcs1(h) | Scheme::Pss(h, _) => {
            if spki.algorithm.oid != RSA_ENCRYPTION {
                return Err(unsupported(
                    "an RSA signature by a key that is not RSA".into(),
                ));
            }
            verify_rsa(key_bytes, scheme, h, msg, sig)
        }
        Scheme::Ecdsa(h) => {
            if spki.algorithm.oid != ID_EC_PUBLIC_KEY {
                return Err(unsupported(
                    "an ECDSA signature by a key that is not EC".into(),
                ));
            }
            verify_ecdsa(spki, key_bytes, h, msg, sig)
        }
    }
}

/// [`verify`] of an RSA signature (PKCS #1 v1.5 or PSS) by the PKCS #1 key `key_bytes`.
fn verify_rsa(
    key_bytes: &[u8],
    scheme: Scheme,
    h: Hash,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), TsaError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    let key = rsa::PublicKey::from_pkcs1_der(key_bytes)
        .map_err(|e| bad_sig(&format!("the RSA public key: {e}")))?;
    let hashed = h.digest(msg);
    let r = match (scheme, h) {
        (Scheme::Pkcs1(_), Hash::Sha256) => {
            key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed, sig)
        }
        (Scheme::Pkcs1(_), Hash::Sha384) => {
            key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), &hashed, sig)
        }
        (Scheme::Pkcs1(_), Hash::Sha512) => {
            key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), &hashed, sig)
        }
        (Scheme::Pss(_, salt), Hash::Sha256) => key.verify(
            rsa::pss::Pss::<sha2::Sha256>::new_with_salt(salt),
            &hashed,
            sig,
        ),
        (Scheme::Pss(_, salt), Hash::Sha384) => key.verify(
            rsa::pss::Pss::<sha2::Sha384>::new_with_salt(salt),
            &hashed,
            sig,
        ),
        (Scheme::Pss(_, salt), Hash::Sha512) => key.verify(
            rsa::pss::Pss::<sha2::Sha512>::new_with_salt(salt),
            &hashed,
            sig,
        ),
        (Scheme::Ecdsa(_), _) => unreachable!("matched above"),
    };
    r.map_err(|_| bad_sig("the RSA signature does not verify"))
}

/// [`verify`] of an ECDSA signature by the SEC1 point `key_bytes` on the curve `spki` names.
fn verify_ecdsa(
    spki: &SubjectPublicKeyInfoOwned,
    key_bytes: &[u8],
    h: Hash,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), TsaError> {
    let curve: Option<der::asn1::ObjectIdentifier> = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as().ok());
    let hashed = h.digest(msg);
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let ok = match curve {
        Some(c) if c == SECP256R1 => {
            let k = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|_| bad_sig("the P-256 public key is not a valid point"))?;
            let s = p256::ecdsa::Signature::from_der(sig)
                .map_err(|_| bad_sig("the ECDSA signature is not DER"))?;
            k.verify_prehash(&hashed, &s).is_ok()
        }
        Some(c) if c == SECP384R1 => {
            let k = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map_err(|_| bad_sig("the P-384 public key is not a valid point"))?;
            let s = p384::ecdsa::Signature::from_der(sig)
                .map_err(|_| bad_sig("the ECDSA signature is not DER"))?;
            k.verify_prehash(&hashed, &s).is_ok()
        }
        _ => {
            return Err(unsupported(
                "an EC key on a curve other than P-256 or P-384".into(),
            ))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(bad_sig("the ECDSA signature does not verify"))
    }
}

/// Verify a certificate's signature with its issuer's key.
pub fn verify_cert(
    cert: &x509_cert::Certificate,
    issuer: &x509_cert::Certificate,
) -> Result<(), TsaError> {
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|e| TsaError::new(Code::TsaMalformed, format!("certificate: {e}")))?;
    if cert.signature_algorithm() != cert.tbs_certificate().signature() {
        return Err(TsaError::new(
            Code::TsaMalformed,
            "a certificate's two signature algorithm fields differ",
        ));
    }
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| bad_sig("a certificate signature is not a whole number of bytes"))?;
    verify(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        None,
        &tbs,
        sig,
    )
}

/// Parse a DER certificate (for tests and callers holding DER).
pub fn parse_cert(der: &[u8]) -> der::Result<x509_cert::Certificate> {
    x509_cert::Certificate::from_der(der)
}
