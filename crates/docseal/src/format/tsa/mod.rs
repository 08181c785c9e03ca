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

/// A certificate name as text, RFC 4514 form (as `x509_cert`'s `Display` writes it): RDNs last
/// first, separated by `,`, attributes of one RDN by `+`, `TYPE=value` with the value escaped,
/// or `OID=#hex` of its DER when it is not a string or its type has no name.
///
/// In the page's WebAssembly module (issue 15, the 1 MiB budget) the type names come from
/// `ATTRIBUTE_NAMES`, const-oid's names of the attribute types of X.520 (2.5.4), RFC 4519
/// (0.9.2342.19200300.100.1) and PKCS #9 (1.2.840.113549.1.9), instead of const-oid's whole
/// database (about 96 KB, which `x509_cert`'s `Display` looks names up in): a type outside those
/// arcs is written as its dotted OID there, where `docseal` may give a name. Everywhere else it
/// is `x509_cert`'s `Display`.
pub fn name_text(name: &x509_cert::name::Name) -> String {
    #[cfg(not(target_arch = "wasm32"))]
    {
        name.to_string()
    }
    #[cfg(target_arch = "wasm32")]
    {
        compact_name_text(name)
    }
}

/// [`name_text`] with the type names of [`ATTRIBUTE_NAMES`] only.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn compact_name_text(name: &x509_cert::name::Name) -> String {
    use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
    use der::{Tag, Tagged};
    use std::fmt::Write as _;
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let v = &atv.value;
            let text = match v.tag() {
                Tag::PrintableString => PrintableStringRef::try_from(v).ok().map(|s| s.as_str()),
                Tag::Utf8String => Utf8StringRef::try_from(v).ok().map(|s| s.as_str()),
                Tag::Ia5String => Ia5StringRef::try_from(v).ok().map(|s| s.as_str()),
                Tag::TeletexString => TeletexStringRef::try_from(v).ok().map(|s| s.as_str()),
                _ => None,
            };
            match (attribute_name(&atv.oid), text) {
                (Some(key), Some(text)) => {
                    out.push_str(&key.to_ascii_uppercase());
                    out.push('=');
                    let last = text.char_indices().last().map(|(i, _)| i);
                    for (k, c) in text.char_indices() {
                        match c {
                            '#' if k == 0 => out.push_str("\\#"),
                            ' ' if k == 0 || Some(k) == last => out.push_str("\\ "),
                            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                                out.push('\\');
                                out.push(c);
                            }
                            '\x00'..='\x1f' | '\x7f' => {
                                let _ = write!(out, "\\{:02x}", c as u8);
                            }
                            _ => out.push(c),
                        }
                    }
                }
                _ => {
                    let _ = write!(out, "{}=#", atv.oid);
                    for b in v.to_der().unwrap_or_default() {
                        let _ = write!(out, "{b:02x}");
                    }
                }
            }
        }
    }
    out
}

/// The name const-oid gives an attribute type (its shortest), for the arcs of [`ATTRIBUTE_NAMES`].
fn attribute_name(oid: &der::asn1::ObjectIdentifier) -> Option<&'static str> {
    let dotted = oid.to_string();
    let (arc, last) = dotted.rsplit_once('.')?;
    let last: u32 = last.parse().ok()?;
    let (_, names) = ATTRIBUTE_NAMES.iter().find(|(a, _)| *a == arc)?;
    names
        .iter()
        .find(|(n, _)| *n == last)
        .map(|(_, name)| *name)
}

/// Attribute types by arc, with const-oid's shortest name for each (`db` feature, as of
/// const-oid 0.10; a test checks them against its database).
const ATTRIBUTE_NAMES: &[(&str, &[(u32, &str)])] = &[
    (
        "2.5.4",
        &[
            (0, "objectClass"),
            (1, "aliasedObjectName"),
            (2, "knowledgeInformation"),
            (3, "cn"),
            (4, "sn"),
            (5, "serialNumber"),
            (6, "c"),
            (7, "L"),
            (8, "st"),
            (9, "street"),
            (10, "o"),
            (11, "ou"),
            (12, "title"),
            (13, "description"),
            (14, "searchGuide"),
            (15, "businessCategory"),
            (16, "postalAddress"),
            (17, "postalCode"),
            (18, "postOfficeBox"),
            (19, "physicalDeliveryOfficeName"),
            (20, "telephoneNumber"),
            (21, "telexNumber"),
            (22, "teletexTerminalIdentifier"),
            (23, "facsimileTelephoneNumber"),
            (24, "x121Address"),
            (25, "internationaliSDNNumber"),
            (26, "registeredAddress"),
            (27, "destinationIndicator"),
            (28, "preferredDeliveryMethod"),
            (29, "presentationAddress"),
            (30, "supportedApplicationContext"),
            (31, "member"),
            (32, "owner"),
            (33, "roleOccupant"),
            (34, "seeAlso"),
            (35, "userPassword"),
            (36, "userCertificate"),
            (37, "cACertificate"),
            (38, "authorityRevocationList"),
            (39, "certificateRevocationList"),
            (40, "crossCertificatePair"),
            (41, "name"),
            (42, "GN"),
            (43, "initials"),
            (44, "generationQualifier"),
            (45, "x500UniqueIdentifier"),
            (46, "dnQualifier"),
            (47, "enhancedSearchGuide"),
            (48, "protocolInformation"),
            (49, "distinguishedName"),
            (50, "uniqueMember"),
            (51, "houseIdentifier"),
            (52, "supportedAlgorithms"),
            (53, "deltaRevocationList"),
            (54, "dmdName"),
            (65, "pseudonym"),
            (72, "id-at-role"),
        ],
    ),
    (
        "0.9.2342.19200300.100.1",
        &[
            (1, "uid"),
            (2, "textEncodedORAddress"),
            (3, "mail"),
            (4, "info"),
            (5, "drink"),
            (6, "roomNumber"),
            (7, "photo"),
            (8, "userClass"),
            (9, "host"),
            (10, "manager"),
            (11, "documentIdentifier"),
            (12, "documentTitle"),
            (13, "documentVersion"),
            (14, "documentAuthor"),
            (15, "documentLocation"),
            (20, "homePhone"),
            (21, "secretary"),
            (22, "otherMailbox"),
            (23, "lastModifiedTime"),
            (24, "lastModifiedBy"),
            (25, "DC"),
            (26, "aRecord"),
            (27, "mDRecord"),
            (28, "mXRecord"),
            (29, "nSRecord"),
            (30, "sOARecord"),
            (31, "cNAMERecord"),
            (37, "associatedDomain"),
            (38, "associatedName"),
            (39, "homePostalAddress"),
            (40, "personalTitle"),
            (41, "mobile"),
            (42, "pager"),
            (43, "co"),
            (44, "uniqueIdentifier"),
            (45, "organizationalStatus"),
            (46, "janetMailbox"),
            (47, "mailPreferenceOption"),
            (48, "buildingName"),
            (49, "dSAQuality"),
            (50, "singleLevelQuality"),
            (51, "subtreeMinimumQuality"),
            (52, "subtreeMaximumQuality"),
            (53, "personalSignature"),
            (54, "dITRedirect"),
            (55, "audio"),
            (56, "documentPublisher"),
            (60, "jpegPhoto"),
        ],
    ),
    (
        "1.2.840.113549.1.9",
        &[
            (0, "pkcs-9-mo"),
            (1, "email"),
            (2, "pkcs-9-at-unstructuredName"),
            (3, "id-contentType"),
            (4, "id-messageDigest"),
            (5, "id-signingTime"),
            (6, "id-countersignature"),
            (7, "pkcs-9-at-challengePassword"),
            (8, "pkcs-9-at-unstructuredAddress"),
            (9, "pkcs-9-at-extendedCertificateAttributes"),
            (10, "pkcs-9-at-issuerAndSerialNumber"),
            (11, "pkcs-9-at-passwordCheck"),
            (12, "pkcs-9-at-publicKey"),
            (13, "pkcs-9-at-signingDescription"),
            (14, "id-ExtensionReq"),
            (15, "smimeCapabilities"),
            (16, "smime"),
            (20, "pkcs-9-at-friendlyName"),
            (21, "pkcs-9-at-localKeyId"),
            (22, "certTypes"),
            (23, "crlTypes"),
            (24, "pkcs-9-oc"),
            (25, "pkcs-9-at"),
            (26, "pkcs-9-sx"),
            (27, "pkcs-9-mr"),
            (52, "id-aa-cmsAlgorithmProtect"),
        ],
    ),
];

#[cfg(test)]
mod name_tests {
    use super::*;
    use const_oid::db::DB;
    use der::asn1::{Any, ObjectIdentifier, SetOfVec};
    use der::Tag;
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

    fn shortest(oid: ObjectIdentifier) -> Option<&'static str> {
        DB.find_names_for_oid(oid)
            .fold(None, |best: Option<&str>, n| match best {
                Some(b) if b.len() <= n.len() => Some(b),
                _ => Some(n),
            })
    }

    /// Issue 15: the table is const-oid's database on its arcs, exactly: every number up to
    /// 300 under each arc has the same name (or none) in both.
    #[test]
    fn issue15_attribute_names_are_const_oids_on_their_arcs() {
        for (arc, _) in ATTRIBUTE_NAMES {
            for n in 0..=300u32 {
                let oid = ObjectIdentifier::new(&format!("{arc}.{n}")).unwrap();
                assert_eq!(attribute_name(&oid), shortest(oid), "{oid}");
            }
        }
        assert!(ATTRIBUTE_NAMES.iter().map(|(_, v)| v.len()).sum::<usize>() > 100);
    }

    fn as_name(rdns: Vec<RelativeDistinguishedName>) -> Name {
        Name::from_der(&RdnSequence::from(rdns).to_der().unwrap()).unwrap()
    }

    fn atv(oid: &str, tag: Tag, value: &[u8]) -> AttributeTypeAndValue {
        AttributeTypeAndValue {
            oid: ObjectIdentifier::new(oid).unwrap(),
            value: Any::new(tag, value).unwrap(),
        }
    }

    /// Issue 15: the compact text is `x509_cert`'s `Display` for names of those types: several
    /// RDNs, a multi-valued RDN, every string kind, escapes, a value that is not a string, and
    /// a type outside the arcs that const-oid does not name either.
    #[test]
    fn issue15_compact_name_text_equals_x509_cert_display() {
        let values: [&[u8]; 7] = [
            b"Example TSA",
            b"#lead and trail ",
            b" a,b+c;d<e>f\\g\"h",
            b"ctl\x01\x1f\x7f",
            "Zürich ☃".as_bytes(),
            b"",
            b"x",
        ];
        let types = [
            "2.5.4.3",
            "2.5.4.10",
            "2.5.4.6",
            "2.5.4.97",
            "0.9.2342.19200300.100.1.25",
            "1.2.840.113549.1.9.1",
            "1.3.6.1.4.1.99999.1",
        ];
        let tags = [
            Tag::Utf8String,
            Tag::PrintableString,
            Tag::Ia5String,
            Tag::TeletexString,
            Tag::OctetString,
            Tag::BmpString,
        ];
        let mut rdns = Vec::new();
        for (i, t) in types.iter().enumerate() {
            for (j, v) in values.iter().enumerate() {
                let tag = tags[(i + j) % tags.len()];
                let a = atv(t, tag, v);
                let one =
                    RelativeDistinguishedName::from(SetOfVec::try_from(vec![a.clone()]).unwrap());
                let name = as_name(vec![one.clone()]);
                assert_eq!(
                    compact_name_text(&name),
                    name.to_string(),
                    "{t} {tag:?} {v:?}"
                );
                rdns.push(one);
            }
        }
        let two = SetOfVec::try_from(vec![
            atv("2.5.4.3", Tag::Utf8String, b"a+b"),
            atv("2.5.4.5", Tag::PrintableString, b"42"),
        ])
        .unwrap();
        rdns.push(RelativeDistinguishedName::from(two));
        let name = as_name(rdns);
        assert_eq!(compact_name_text(&name), name.to_string());
        assert_eq!(name_text(&name), name.to_string());
    }
}
