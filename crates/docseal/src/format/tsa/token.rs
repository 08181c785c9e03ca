//! Reading an RFC 3161 token strictly and checking what it says by itself: the CMS signature,
//! the signed attributes, the ESS signing-certificate attribute and the signer's extended key
//! usage. Trust in the TSA (a certificate chain to a root) is [`super::chain`].

use super::asn1::{self, *};
use super::{Hash, TsaError, MAX_TOKEN_BYTES};
use crate::format::finding::Code;
use chrono::{DateTime, NaiveDate, Utc};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{Any, Int, OctetString};
use der::{Decode, Encode, Tag, Tagged};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

/// Most certificates a token may carry.
pub const MAX_CERTS: usize = 8;

/// How far a token's genTime, less its accuracy, may be ahead of this machine's clock before
/// the token is refused as one from the future (`tsa.future`): 60 seconds, so that a verifier
/// whose clock is a little slow does not blame a TSA for it.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// What a token says, checked against itself (no trust decision).
#[derive(Clone, Debug)]
pub struct Token {
    /// The token's DER bytes.
    pub der: Vec<u8>,
    /// The parsed `TSTInfo`.
    pub tst: TstInfo,
    /// `genTime`, whole seconds (a fraction is dropped; see [`Token::latest`]).
    pub gen_time: DateTime<Utc>,
    /// `genTime` as the token writes it.
    pub gen_time_text: String,
    /// The accuracy in microseconds, when the token gives one.
    pub accuracy_micros: Option<u64>,
    /// The signer's certificate.
    pub signer: Certificate,
    /// Every certificate the token carries (the signer's included).
    pub certs: Vec<Certificate>,
}

impl Token {
    /// The latest time the token allows for its event: genTime plus its accuracy (rounded up
    /// to the second; a fraction of genTime counts as a whole second). This is the time a
    /// token establishes as evidence.
    pub fn latest(&self) -> DateTime<Utc> {
        let frac = self.gen_time_text.contains('.') as i64;
        let acc = self.accuracy_micros.unwrap_or(0).div_ceil(1_000_000) as i64;
        self.gen_time + chrono::Duration::seconds(frac + acc)
    }

    /// The earliest time the token allows for its event: genTime minus its accuracy (rounded
    /// up to the second). A token cannot have been made before then.
    pub fn earliest(&self) -> DateTime<Utc> {
        let acc = self.accuracy_micros.unwrap_or(0).div_ceil(1_000_000) as i64;
        self.gen_time - chrono::Duration::seconds(acc)
    }

    /// Refuse a token from the future (`tsa.future`): one whose earliest time ([`Self::earliest`])
    /// is later than `now` plus [`CLOCK_SKEW_SECS`]. No honest TSA writes such a token; its TSA's
    /// clock is wrong or the token was made to order, so it proves nothing.
    pub fn check_not_future(&self, now: DateTime<Utc>) -> Result<(), TsaError> {
        if self.earliest() > now + chrono::Duration::seconds(CLOCK_SKEW_SECS) {
            return Err(TsaError::new(
                Code::TsaFuture,
                format!(
                    "genTime {}{} is in the future (this machine's clock says {}): the TSA's clock is wrong, so the token proves nothing",
                    self.gen_time_text,
                    self.accuracy_text()
                        .map(|a| format!(" {a}"))
                        .unwrap_or_default(),
                    now.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            ));
        }
        Ok(())
    }

    /// The signer certificate's subject, RFC 4514 form.
    pub fn tsa_subject(&self) -> String {
        super::name_text(self.signer.tbs_certificate().subject())
    }

    /// The serial number, hex.
    pub fn serial_hex(&self) -> String {
        crate::format::text::hex(self.tst.serial_number.as_bytes())
    }

    /// The accuracy in words (`±1.5s`), when the token gives one.
    pub fn accuracy_text(&self) -> Option<String> {
        let us = self.accuracy_micros?;
        Some(if us % 1_000_000 == 0 {
            format!("±{}s", us / 1_000_000)
        } else {
            let frac = format!("{:06}", us % 1_000_000);
            format!("±{}.{}s", us / 1_000_000, frac.trim_end_matches('0'))
        })
    }
}

fn malformed(why: impl std::fmt::Display) -> TsaError {
    TsaError::new(Code::TsaMalformed, why.to_string())
}

/// Parse `GeneralizedTime` as RFC 3161 requires it: `YYYYMMDDhhmmss[.f]Z`, UTC, a fraction
/// without trailing zeros. Returns the whole seconds.
pub fn parse_gen_time(any: &Any) -> Result<(DateTime<Utc>, String), TsaError> {
    if any.tag() != Tag::GeneralizedTime {
        return Err(malformed("genTime is not a GeneralizedTime"));
    }
    let v = any.value();
    let s = std::str::from_utf8(v).map_err(|_| malformed("genTime is not ASCII"))?;
    let bad = || malformed(format!("genTime {s:?} is not YYYYMMDDhhmmss[.fff]Z"));
    let body = s.strip_suffix('Z').ok_or_else(bad)?;
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || f.ends_with('0') || !f.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
    }
    let n = |a: usize, b: usize| whole[a..b].parse::<u32>().unwrap_or(u32::MAX);
    let t = NaiveDate::from_ymd_opt(n(0, 4) as i32, n(4, 6), n(6, 8))
        .and_then(|d| d.and_hms_opt(n(8, 10), n(10, 12), n(12, 14)))
        .ok_or_else(bad)?;
    Ok((t.and_utc(), s.to_string()))
}

fn accuracy_micros(a: &Accuracy) -> Result<u64, TsaError> {
    for v in [a.millis, a.micros].into_iter().flatten() {
        if !(1..=999).contains(&v) {
            return Err(malformed("accuracy millis or micros outside 1..999"));
        }
    }
    Ok(u64::from(a.seconds.unwrap_or(0)) * 1_000_000
        + u64::from(a.millis.unwrap_or(0)) * 1_000
        + u64::from(a.micros.unwrap_or(0)))
}

/// The single value of the signed attribute `oid`: refused when present twice or with other
/// than one value; `None` when absent.
fn attr<'a>(
    si: &'a SignerInfo,
    oid: &der::asn1::ObjectIdentifier,
) -> Result<Option<&'a Any>, TsaError> {
    let Some(attrs) = &si.signed_attrs else {
        return Ok(None);
    };
    let mut found = attrs.iter().filter(|a| a.oid == *oid);
    let Some(a) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() || a.values.len() != 1 {
        return Err(malformed(format!(
            "signed attribute {oid} is not exactly one value"
        )));
    }
    Ok(a.values.iter().next())
}

/// Parse a token (a CMS `ContentInfo` with `SignedData` over `TSTInfo`) and check it against
/// itself and against `signed`: the exact bytes it must timestamp (imprint), the CMS signature
/// over the signed attributes, the message digest, the ESS signing certificate, and the
/// signer's critical timeStamping extended key usage. Bounded: at most [`MAX_TOKEN_BYTES`]
/// bytes; DER lengths are checked against the input before anything is allocated.
pub fn check(der: &[u8], signed: &[u8]) -> Result<Token, TsaError> {
    if der.len() > MAX_TOKEN_BYTES {
        return Err(TsaError::new(
            Code::TsaTooLarge,
            format!(
                "{} bytes, more than the {MAX_TOKEN_BYTES} a token may have",
                der.len()
            ),
        ));
    }
    let sd = signed_data(der)?;
    let tst_os = tst_info_octets(&sd)?;
    let tst_bytes = tst_os.as_bytes();
    let tst: TstInfo = asn1::decode(tst_bytes).map_err(|e| malformed(format!("TSTInfo: {e}")))?;
    if tst.version != 1 {
        return Err(malformed(format!("TSTInfo version {}", tst.version)));
    }
    check_imprint(&tst, signed)?;
    let (gen_time, gen_time_text) = parse_gen_time(&tst.gen_time)?;
    let accuracy_micros = tst.accuracy.as_ref().map(accuracy_micros).transpose()?;
    let certs = certificates(&sd)?;
    let (si, signer) = signer_of(&sd, &certs)?;
    // RFC 3161 section 2.3: only a certificate for time-stamping signs tokens.
    check_eku(&signer)?;
    check_signer_info(si, &signer, tst_bytes)?;
    Ok(Token {
        der: der.to_vec(),
        tst,
        gen_time,
        gen_time_text,
        accuracy_micros,
        signer,
        certs,
    })
}

/// The token's `SignedData`, whose content must be a `TSTInfo`.
fn signed_data(der: &[u8]) -> Result<SignedData, TsaError> {
    let ci = ContentInfo::from_der(der)
        .map_err(|e| malformed(format!("not a DER CMS ContentInfo: {e}")))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(malformed("not a CMS SignedData"));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| malformed(format!("SignedData: {e}")))?;
    if sd.encap_content_info.econtent_type != ID_CT_TSTINFO {
        return Err(malformed("the signed content is not a TSTInfo"));
    }
    Ok(sd)
}

/// The `OCTET STRING` holding the `TSTInfo`'s DER.
fn tst_info_octets(sd: &SignedData) -> Result<OctetString, TsaError> {
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| malformed("no TSTInfo in the token"))?;
    econtent
        .decode_as()
        .map_err(|e| malformed(format!("TSTInfo is not an OCTET STRING: {e}")))
}

/// The imprint: the exact bytes `signed`, hashed with the token's algorithm.
fn check_imprint(tst: &TstInfo, signed: &[u8]) -> Result<(), TsaError> {
    let ih = Hash::from_oid(&tst.message_imprint.hash_algorithm.oid).ok_or_else(|| {
        TsaError::new(
            Code::TsaAlgorithm,
            format!(
                "imprint hash {} is not SHA-256, SHA-384 or SHA-512",
                tst.message_imprint.hash_algorithm.oid
            ),
        )
    })?;
    if ih.digest(signed) != tst.message_imprint.hashed_message.as_bytes() {
        return Err(TsaError::new(
            Code::TsaImprint,
            "the token timestamps other bytes than this signature file",
        ));
    }
    Ok(())
}

/// The certificates the token carries (at most [`MAX_CERTS`]).
fn certificates(sd: &SignedData) -> Result<Vec<Certificate>, TsaError> {
    let mut certs = Vec::new();
    for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
        if let cms::cert::CertificateChoices::Certificate(c) = c {
            if certs.len() == MAX_CERTS {
                return Err(malformed(format!("more than {MAX_CERTS} certificates")));
            }
            certs.push(c.clone());
        }
    }
    Ok(certs)
}

/// The token's one `SignerInfo` and its certificate, which the token must carry.
fn signer_of<'a>(
    sd: &'a SignedData,
    certs: &[Certificate],
) -> Result<(&'a SignerInfo, Certificate), TsaError> {
    let mut signers = sd.signer_infos.0.iter();
    let (Some(si), None) = (signers.next(), signers.next()) else {
        return Err(malformed("a token has exactly one SignerInfo"));
    };
    let signer = certs
        .iter()
        .find(|c| identifies(&si.sid, c))
        .cloned()
        .ok_or_else(|| {
            TsaError::new(
                Code::TsaSignerCert,
                "the token does not carry its signer's certificate (ask with certReq)",
            )
        })?;
    Ok((si, signer))
}

/// The signed attributes (content type, message digest of `tst_bytes`, ESS signing
/// certificate) and the CMS signature over them by `signer`.
fn check_signer_info(
    si: &SignerInfo,
    signer: &Certificate,
    tst_bytes: &[u8],
) -> Result<(), TsaError> {
    let Some(attrs) = &si.signed_attrs else {
        return Err(malformed("no signed attributes"));
    };
    let dh = Hash::from_oid(&si.digest_alg.oid).ok_or_else(|| {
        TsaError::new(
            Code::TsaAlgorithm,
            format!(
                "digest {} is not SHA-256, SHA-384 or SHA-512",
                si.digest_alg.oid
            ),
        )
    })?;
    let ct = attr(si, &ID_CONTENT_TYPE)?
        .ok_or_else(|| malformed("no content-type attribute"))?
        .decode_as::<der::asn1::ObjectIdentifier>()
        .map_err(|e| malformed(format!("content-type attribute: {e}")))?;
    if ct != ID_CT_TSTINFO {
        return Err(malformed("content-type attribute is not TSTInfo"));
    }
    let md = attr(si, &ID_MESSAGE_DIGEST)?
        .ok_or_else(|| malformed("no message-digest attribute"))?
        .decode_as::<OctetString>()
        .map_err(|e| malformed(format!("message-digest attribute: {e}")))?;
    if md.as_bytes() != dh.digest(tst_bytes) {
        return Err(TsaError::new(
            Code::TsaSignature,
            "the message digest does not match the TSTInfo (the token was altered)",
        ));
    }
    check_ess(si, signer)?;
    let signed_attrs = attrs
        .to_der()
        .map_err(|e| malformed(format!("signed attributes: {e}")))?;
    super::sig::verify(
        signer.tbs_certificate().subject_public_key_info(),
        &si.signature_algorithm,
        Some(dh),
        &signed_attrs,
        si.signature.as_bytes(),
    )
    .map_err(|e| e.context("the token's CMS signature"))
}

fn identifies(sid: &SignerIdentifier, c: &Certificate) -> bool {
    let tbs = c.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(i) => {
            i.issuer == *tbs.issuer() && i.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
            tbs.get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>(),
            Ok(Some((_, s))) if s == *ski
        ),
    }
}

fn mismatch(why: &str) -> TsaError {
    TsaError::new(Code::TsaSignerCert, why.to_string())
}

/// The ESS signing-certificate(-v2) attribute must name the signer's certificate first.
fn check_ess(si: &SignerInfo, signer: &Certificate) -> Result<(), TsaError> {
    let cert_der = signer
        .to_der()
        .map_err(|e| malformed(format!("signer certificate: {e}")))?;
    let tbs = signer.tbs_certificate();
    let serial_ok = |is: &Option<IssuerSerial>| {
        match is {
        None => true,
        Some(is) => {
            is.serial_number.as_bytes() == tbs.serial_number().as_bytes()
                && is.issuer.iter().any(|g| {
                    matches!(g, x509_cert::ext::pkix::name::GeneralName::DirectoryName(n) if n == tbs.issuer())
                })
        }
    }
    };
    if let Some(v2) = attr(si, &ID_AA_SIGNING_CERTIFICATE_V2)? {
        let sc: SigningCertificateV2 = v2
            .decode_as()
            .map_err(|e| malformed(format!("signing-certificate-v2 attribute: {e}")))?;
        let first = sc
            .certs
            .first()
            .ok_or_else(|| mismatch("the signing-certificate-v2 attribute names no certificate"))?;
        let oid = first.hash_algorithm.as_ref().map_or(ID_SHA256, |a| a.oid);
        let h = Hash::from_oid(&oid).ok_or_else(|| {
            TsaError::new(Code::TsaAlgorithm, format!("ESS certificate hash {oid}"))
        })?;
        if h.digest(&cert_der) != first.cert_hash.as_bytes() || !serial_ok(&first.issuer_serial) {
            return Err(mismatch(
                "the signing-certificate-v2 attribute names another certificate than the signer's",
            ));
        }
        return Ok(());
    }
    if let Some(v1) = attr(si, &ID_AA_SIGNING_CERTIFICATE)? {
        let sc: SigningCertificate = v1
            .decode_as()
            .map_err(|e| malformed(format!("signing-certificate attribute: {e}")))?;
        let first = sc
            .certs
            .first()
            .ok_or_else(|| mismatch("the signing-certificate attribute names no certificate"))?;
        use sha1::Digest;
        if sha1::Sha1::digest(&cert_der).as_slice() != first.cert_hash.as_bytes()
            || !serial_ok(&first.issuer_serial)
        {
            return Err(mismatch(
                "the signing-certificate attribute names another certificate than the signer's",
            ));
        }
        return Ok(());
    }
    Err(mismatch(
        "no ESS signing-certificate attribute (RFC 3161 requires one)",
    ))
}

/// RFC 3161 section 2.3: the TSA certificate has the extended key usage extension, critical,
/// with id-kp-timeStamping.
pub fn check_eku(signer: &Certificate) -> Result<(), TsaError> {
    let exts = signer
        .tbs_certificate()
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or(&[]);
    let mut ekus = exts.iter().filter(|e| e.extn_id == ID_CE_EXT_KEY_USAGE);
    let (Some(e), None) = (ekus.next(), ekus.next()) else {
        return Err(TsaError::new(
            Code::TsaEku,
            "the TSA certificate has no (or more than one) extended key usage extension",
        ));
    };
    let purposes: x509_cert::ext::pkix::ExtendedKeyUsage =
        Decode::from_der(e.extn_value.as_bytes())
            .map_err(|err| malformed(format!("extended key usage: {err}")))?;
    if purposes.0.as_slice() != [ID_KP_TIME_STAMPING] {
        return Err(TsaError::new(
            Code::TsaEku,
            "the TSA certificate's extended key usage is not timeStamping alone (RFC 3161 2.3)",
        ));
    }
    if !e.critical {
        return Err(TsaError::new(
            Code::TsaEku,
            "the TSA certificate's extended key usage is not critical (RFC 3161 requires it)",
        ));
    }
    Ok(())
}

/// A nonce as a positive DER INTEGER from random bytes.
pub fn nonce_int(bytes: &[u8; 8]) -> Int {
    let mut b = bytes.to_vec();
    b[0] &= 0x7f;
    if b[0] == 0 {
        b[0] = 1;
    }
    Int::new(&b).expect("eight bytes with the top bit clear and a non-zero first byte")
}

/// An algorithm identifier with absent parameters.
pub fn alg(oid: der::asn1::ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}
