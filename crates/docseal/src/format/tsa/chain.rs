//! Trust in a TSA: the signer's certificate chain to a root given with `--tsa-trust`, every
//! certificate valid **at genTime** (an expired TSA certificate does not void older tokens).

use super::sig::verify_cert;
use super::token::Token;
use super::TsaError;
use crate::format::finding::Code;
use chrono::{DateTime, Utc};
use const_oid::db::rfc5280::{
    ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS, ID_CE_EXT_KEY_USAGE, ID_CE_KEY_USAGE,
    ID_CE_NAME_CONSTRAINTS, ID_CE_SUBJECT_ALT_NAME, ID_CE_SUBJECT_KEY_IDENTIFIER,
};
use der::Encode;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::Certificate;

/// Longest chain looked at (signer, intermediates, root).
pub const MAX_DEPTH: usize = 6;

fn at(t: &x509_cert::time::Time) -> DateTime<Utc> {
    DateTime::<Utc>::from(t.to_system_time())
}

fn valid_at(c: &Certificate, t: DateTime<Utc>) -> Result<(), TsaError> {
    let v = c.tbs_certificate().validity();
    let (from, until) = (at(&v.not_before), at(&v.not_after));
    if t < from || t > until {
        return Err(TsaError::new(
            Code::TsaCertValidity,
            format!(
                "certificate {} is valid from {} to {}, not at the token's genTime {}",
                super::name_text(c.tbs_certificate().subject()),
                from.format("%Y-%m-%dT%H:%M:%SZ"),
                until.format("%Y-%m-%dT%H:%M:%SZ"),
                t.format("%Y-%m-%dT%H:%M:%SZ"),
            ),
        ));
    }
    Ok(())
}

fn is_ca(c: &Certificate) -> bool {
    matches!(
        c.tbs_certificate().get_extension::<BasicConstraints>(),
        Ok(Some((_, bc))) if bc.ca
    )
}

/// A critical extension docseal does not process makes the certificate unusable (RFC 5280
/// 4.2), as `openssl verify` says ("unhandled critical extension").
fn no_unknown_critical(c: &Certificate) -> Result<(), TsaError> {
    let known = [
        ID_CE_BASIC_CONSTRAINTS,
        ID_CE_KEY_USAGE,
        ID_CE_EXT_KEY_USAGE,
        ID_CE_SUBJECT_KEY_IDENTIFIER,
        ID_CE_AUTHORITY_KEY_IDENTIFIER,
        ID_CE_SUBJECT_ALT_NAME,
    ];
    let exts = c
        .tbs_certificate()
        .extensions()
        .map_or(&[][..], |e| e.as_slice());
    match exts
        .iter()
        .find(|e| e.critical && !known.contains(&e.extn_id))
    {
        Some(e) => Err(TsaError::new(
            Code::TsaUntrusted,
            format!(
                "certificate {} has a critical extension docseal does not process ({})",
                super::name_text(c.tbs_certificate().subject()),
                e.extn_id
            ),
        )),
        None => Ok(()),
    }
}

/// Name constraints restrict the names below a CA, critical or not (`openssl verify` applies
/// them either way: "permitted subtree violation"). docseal does not process them, so a chain
/// with any is refused rather than trusted past its constraints.
fn no_name_constraints(c: &Certificate) -> Result<(), TsaError> {
    let exts = c
        .tbs_certificate()
        .extensions()
        .map_or(&[][..], |e| e.as_slice());
    if exts.iter().any(|e| e.extn_id == ID_CE_NAME_CONSTRAINTS) {
        return Err(TsaError::new(
            Code::TsaUntrusted,
            format!(
                "certificate {} has name constraints, which docseal does not process",
                super::name_text(c.tbs_certificate().subject())
            ),
        ));
    }
    Ok(())
}

fn same(a: &Certificate, b: &Certificate) -> bool {
    matches!((a.to_der(), b.to_der()), (Ok(x), Ok(y)) if x == y)
}

/// Check that `token`'s signer chains to one of `roots`, every certificate valid at genTime.
/// Returns the subject of the root reached.
pub fn check(token: &Token, roots: &[Certificate]) -> Result<String, TsaError> {
    let t = token.gen_time;
    let mut chain: Vec<&Certificate> = vec![&token.signer];
    let root = 'walk: loop {
        let cur = *chain.last().expect("never empty");
        if let Some(r) = roots.iter().find(|r| same(r, cur)) {
            break 'walk r;
        }
        let issuer_name = cur.tbs_certificate().issuer();
        for r in roots {
            if r.tbs_certificate().subject() == issuer_name && verify_cert(cur, r).is_ok() {
                chain.push(r);
                break 'walk r;
            }
        }
        if chain.len() >= MAX_DEPTH {
            return Err(TsaError::new(
                Code::TsaUntrusted,
                format!("no chain of at most {MAX_DEPTH} certificates to a trusted TSA root"),
            ));
        }
        let next = token.certs.iter().find(|c| {
            c.tbs_certificate().subject() == issuer_name
                && !chain.iter().any(|k| same(k, c))
                && is_ca(c)
                && verify_cert(cur, c).is_ok()
        });
        match next {
            Some(c) => chain.push(c),
            None => {
                return Err(TsaError::new(
                    Code::TsaUntrusted,
                    format!(
                        "the TSA certificate ({}) does not chain to a trusted TSA root",
                        token.tsa_subject()
                    ),
                ))
            }
        }
    };
    for c in &chain {
        valid_at(c, t)?;
        no_unknown_critical(c)?;
        no_name_constraints(c)?;
    }
    // Every issuer may issue: its key usage (when it has one) allows certificate signing, and
    // its path length constraint covers the intermediates below it (RFC 5280 6.1.4).
    for (i, c) in chain.iter().enumerate().skip(1) {
        let untrusted = |why: String| {
            TsaError::new(
                Code::TsaUntrusted,
                format!("{} {why}", super::name_text(c.tbs_certificate().subject())),
            )
        };
        match c.tbs_certificate().get_extension::<KeyUsage>() {
            Ok(Some((_, ku))) if !ku.key_cert_sign() => {
                return Err(untrusted(
                    "issues a certificate of the TSA chain, but its key usage does not allow certificate signing".into(),
                ))
            }
            Err(e) => return Err(untrusted(format!("has a malformed key usage: {e}"))),
            _ => {}
        }
        if let Ok(Some((_, bc))) = c.tbs_certificate().get_extension::<BasicConstraints>() {
            let below = i - 1;
            if let Some(max) = bc.path_len_constraint {
                if below > usize::from(max) {
                    return Err(untrusted(format!(
                        "allows {max} intermediate certificate(s) below it, the chain has {below}"
                    )));
                }
            }
        }
    }
    Ok(super::name_text(root.tbs_certificate().subject()))
}

/// Read PEM certificates (one or more) from `bytes`; at most 64 certificates.
pub fn load_roots(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    let certs =
        Certificate::load_pem_chain(bytes).map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the file".into());
    }
    if certs.len() > 64 {
        return Err("more than 64 certificates".into());
    }
    Ok(certs)
}
