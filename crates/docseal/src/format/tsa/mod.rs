//! RFC 3161 timestamps over a bundle's signature (`docs/FORMAT.md`, "Format v2").
//!
//! A Time-Stamping Authority (TSA) signs a token saying that a hash (the message imprint)
//! existed at its time, genTime. docseal asks for a token over the exact bytes of the
//! bundle's signature file `tagmanifest-sha256.txt.minisig` and stores it in the bundle as
//! `tagmanifest-sha256.txt.minisig.<16 hex>.tsr`, beside (never inside) what is signed, so the
//! content digest does not change.
//!
//! - [`request`]: a `TimeStampReq` (SHA-256 imprint, random nonce, certReq);
//! - [`check_reply`]: a `TimeStampResp` checked against the request (status, nonce, imprint,
//!   signature, certificate); returns the token;
//! - [`token::check`]: a stored token checked against itself and the signature file;
//! - [`chain::check`]: trust in the TSA, a chain to a `--tsa-trust` root valid at genTime;
//! - `ops::timestamp`: adding tokens to a bundle file atomically, fetching them over HTTP, and
//!   tokens as verification evidence.
//!
//! Everything is bounded: a token or reply is at most [`MAX_TOKEN_BYTES`], a bundle holds at
//! most [`MAX_TOKENS`] tokens, and DER is parsed strictly (no BER, no trailing data).

pub mod asn1;
pub mod chain;
pub mod sig;
pub mod token;

use crate::format::finding::Code;
use der::asn1::OctetString;
use der::{Decode, Encode};
use sha2::Digest;

/// Largest token (or reply) docseal reads: 64 KiB. Real tokens with a certificate chain are a
/// few KiB.
pub const MAX_TOKEN_BYTES: usize = 64 << 10;
/// Most tokens one bundle holds.
pub const MAX_TOKENS: usize = 8;

/// A token refused, with its finding code (`docs/VERIFY.md`, "timestamps").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct TsaError {
    /// The finding code.
    pub code: Code,
    /// What is wrong.
    pub message: String,
}

impl TsaError {
    /// A new error.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        TsaError {
            code,
            message: message.into(),
        }
    }
    fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

/// The hash functions a token may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Hash {
    /// The hash named by `oid`, if it is one of the three.
    pub fn from_oid(oid: &der::asn1::ObjectIdentifier) -> Option<Hash> {
        match *oid {
            o if o == asn1::ID_SHA256 => Some(Hash::Sha256),
            o if o == asn1::ID_SHA384 => Some(Hash::Sha384),
            o if o == asn1::ID_SHA512 => Some(Hash::Sha512),
            _ => None,
        }
    }
    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// The bundle's signature file, whose exact bytes a bundle token covers (the same name as
/// `profile::bagit::SIGNATURE`, which the format floor does not import; a test in
/// `ops::timestamp` keeps the two equal).
pub const SIGNATURE_FILE: &str = "tagmanifest-sha256.txt.minisig";

/// The 16 upper-case hex digits that name a token: the first 8 bytes of its SHA-256.
pub fn token_id(token_der: &[u8]) -> String {
    let d = sha2::Sha256::digest(token_der);
    d[..8].iter().map(|b| format!("{b:02X}")).collect()
}

/// The file name of a token over the file `base`: `base`, `.`, [`token_id`], `.tsr`.
pub fn token_file_name(base: &str, token_der: &[u8]) -> String {
    format!("{base}.{}.tsr", token_id(token_der))
}

/// The 16 hex digits in `name`, if it is the name of a token over the file `base`
/// (`base.<16 upper-case hex>.tsr`).
pub fn token_file_id<'a>(base: &str, name: &'a str) -> Option<&'a str> {
    let id = name
        .strip_prefix(base)?
        .strip_prefix('.')?
        .strip_suffix(".tsr")?;
    (id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)))
    .then_some(id)
}

/// Whether the 16 hex digits of the token file `name` (over the file `base`) are the token's
/// own ([`token_id`]): one token has one name, so a bundle cannot hold it twice.
pub fn token_name_matches(base: &str, name: &str, token_der: &[u8]) -> bool {
    token_file_id(base, name).is_some_and(|id| id == token_id(token_der))
}

/// The file name of a token in a bundle: the signature file's name, `.`, the first 16
/// upper-case hex digits of the token's SHA-256, `.tsr`.
pub fn token_name(token_der: &[u8]) -> String {
    token_file_name(SIGNATURE_FILE, token_der)
}

/// The 16 hex digits in a token's file name, if `name` is one.
pub fn token_name_id(name: &str) -> Option<&str> {
    token_file_id(SIGNATURE_FILE, name)
}

/// A request and the nonce it carries.
#[derive(Clone, Debug)]
pub struct Request {
    /// The DER `TimeStampReq` (what `openssl ts -query` writes).
    pub der: Vec<u8>,
    /// The nonce's content bytes (a positive DER INTEGER's value).
    pub nonce: Vec<u8>,
}

/// A `TimeStampReq` over `signature_file` (the exact bytes of the signature file): SHA-256
/// imprint, a random 64-bit nonce, certReq true, no policy.
pub fn request(signature_file: &[u8]) -> Request {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).expect("the operating system's random number generator failed");
    request_with_nonce(signature_file, &raw)
}

/// [`request`] with a given nonce (tests).
pub fn request_with_nonce(signature_file: &[u8], nonce: &[u8; 8]) -> Request {
    let n = token::nonce_int(nonce);
    let req = asn1::TimeStampReq {
        version: 1,
        message_imprint: asn1::MessageImprint {
            hash_algorithm: token::alg(asn1::ID_SHA256),
            hashed_message: OctetString::new(Hash::Sha256.digest(signature_file))
                .expect("32 bytes"),
        },
        req_policy: None,
        nonce: Some(n.clone()),
        cert_req: true,
        extensions: None,
    };
    Request {
        der: req.to_der().expect("a fixed-size request encodes"),
        nonce: n.as_bytes().to_vec(),
    }
}

/// Read a `TimeStampReq` written by [`request`] (for `--reply` with `--request`): its nonce.
pub fn request_nonce(der: &[u8]) -> Result<Option<Vec<u8>>, TsaError> {
    if der.len() > MAX_TOKEN_BYTES {
        return Err(TsaError::new(Code::TsaTooLarge, "the request is too large"));
    }
    let r = asn1::TimeStampReq::from_der(der)
        .map_err(|e| TsaError::new(Code::TsaMalformed, format!("not a TimeStampReq: {e}")))?;
    Ok(r.nonce.map(|n| n.as_bytes().to_vec()))
}

/// Check a `TimeStampResp` (or, with `accept_bare_token`, a bare token as `openssl ts -reply
/// -token_out` writes) against the signature file it must cover and, when known, the nonce
/// of the request. Returns the checked token.
pub fn check_reply(
    reply: &[u8],
    signature_file: &[u8],
    nonce: Option<&[u8]>,
) -> Result<token::Token, TsaError> {
    if reply.len() > MAX_TOKEN_BYTES {
        return Err(TsaError::new(
            Code::TsaTooLarge,
            format!(
                "{} bytes, more than the {MAX_TOKEN_BYTES} a reply may have",
                reply.len()
            ),
        ));
    }
    let resp = asn1::TimeStampResp::from_der(reply)
        .map_err(|e| TsaError::new(Code::TsaMalformed, format!("not a DER TimeStampResp: {e}")))?;
    if resp.status.status > 1 {
        let text = resp.status.text();
        return Err(TsaError::new(
            Code::TsaStatus,
            format!(
                "the TSA did not grant the request (status {}{})",
                resp.status.status,
                if text.is_empty() {
                    String::new()
                } else {
                    format!(": {text}")
                }
            ),
        ));
    }
    let tok = resp
        .time_stamp_token
        .ok_or_else(|| TsaError::new(Code::TsaMalformed, "granted, but no token"))?;
    let der = tok
        .to_der()
        .map_err(|e| TsaError::new(Code::TsaMalformed, e.to_string()))?;
    let t = token::check(&der, signature_file)?;
    check_nonce(&t, nonce)?;
    t.check_not_future(chrono::Utc::now())?;
    Ok(t)
}

/// A reply from a file: a `TimeStampResp` ([`check_reply`]) or a bare token (as `openssl ts
/// -reply -token_out` writes), checked the same way (a bare token carries no status).
pub fn check_reply_or_token(
    bytes: &[u8],
    signature_file: &[u8],
    nonce: Option<&[u8]>,
) -> Result<token::Token, TsaError> {
    if bytes.len() <= MAX_TOKEN_BYTES
        && asn1::TimeStampResp::from_der(bytes).is_err()
        && cms::content_info::ContentInfo::from_der(bytes).is_ok()
    {
        let t = token::check(bytes, signature_file)?;
        check_nonce(&t, nonce)?;
        t.check_not_future(chrono::Utc::now())?;
        return Ok(t);
    }
    check_reply(bytes, signature_file, nonce)
}

fn check_nonce(t: &token::Token, nonce: Option<&[u8]>) -> Result<(), TsaError> {
    if let Some(n) = nonce {
        if t.tst.nonce.as_ref().map(|x| x.as_bytes()) != Some(n) {
            return Err(TsaError::new(
                Code::TsaNonce,
                "the reply's nonce is not the request's (a replayed or misdirected reply)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue14_request_is_der_with_nonce_and_cert_req() {
        let r = request_with_nonce(b"sig", &[0xff, 0, 1, 2, 3, 4, 5, 6]);
        let back = asn1::TimeStampReq::from_der(&r.der).unwrap();
        assert_eq!(back.version, 1);
        assert!(back.cert_req);
        assert_eq!(back.message_imprint.hash_algorithm.oid, asn1::ID_SHA256);
        assert_eq!(
            back.message_imprint.hashed_message.as_bytes(),
            &Hash::Sha256.digest(b"sig")[..]
        );
        // A positive INTEGER: the top bit is cleared.
        assert_eq!(r.nonce, [0x7f, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(request_nonce(&r.der).unwrap(), Some(r.nonce.clone()));
        // Two requests differ by their random nonce.
        assert_ne!(request(b"sig").nonce, request(b"sig").nonce);
    }

    #[test]
    fn issue14_token_names() {
        let n = token_name(b"token");
        assert!(n.starts_with("tagmanifest-sha256.txt.minisig.") && n.ends_with(".tsr"));
        assert!(token_name_id(&n).is_some());
        for bad in [
            "tagmanifest-sha256.txt.minisig.tsr",
            "tagmanifest-sha256.txt.minisig.0123456789abcdef.tsr",
            "tagmanifest-sha256.txt.minisig.0123456789ABCDE.tsr",
            "tagmanifest-sha256.txt.0123456789ABCDEF.minisig",
        ] {
            assert!(token_name_id(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn issue14_gen_time_strict() {
        use der::asn1::Any;
        let t = |s: &str| {
            token::parse_gen_time(&Any::new(der::Tag::GeneralizedTime, s.as_bytes()).unwrap())
        };
        assert_eq!(
            t("20261130104909Z").unwrap().0.to_rfc3339(),
            "2026-11-30T10:49:09+00:00"
        );
        assert!(t("20261130104909.5Z").is_ok());
        for bad in [
            "20261130104909.50Z",
            "20261130104909",
            "20261130104909.Z",
            "20261330104909Z",
            "2026113010490Z",
            "20261130104909+0100",
        ] {
            assert!(t(bad).is_err(), "{bad}");
        }
        let utc = Any::new(der::Tag::UtcTime, b"261130104909Z".as_slice()).unwrap();
        assert!(token::parse_gen_time(&utc).is_err());
    }

    #[test]
    fn issue14_reply_bounds_and_garbage() {
        let big = vec![0x30u8; MAX_TOKEN_BYTES + 1];
        assert_eq!(
            check_reply(&big, b"", None).unwrap_err().code,
            Code::TsaTooLarge
        );
        assert_eq!(token::check(&big, b"").unwrap_err().code, Code::TsaTooLarge);
        for g in [&b""[..], b"\x30", b"\x30\x84\xff\xff\xff\xff", b"garbage"] {
            assert_eq!(
                check_reply(g, b"", None).unwrap_err().code,
                Code::TsaMalformed
            );
            assert_eq!(token::check(g, b"").unwrap_err().code, Code::TsaMalformed);
        }
        // Rejected: status 2 with a text.
        let rejected = [
            0x30, 0x0b, 0x30, 0x09, 0x02, 0x01, 0x02, 0x30, 0x04, 0x0c, 0x02, b'n', b'o',
        ];
        let e = check_reply(&rejected, b"", None).unwrap_err();
        assert_eq!(e.code, Code::TsaStatus);
        assert!(e.message.contains("status 2: no"), "{e}");
    }
}
