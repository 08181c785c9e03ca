//! scrypt parameters, as libsodium's crypto_pwhash_scryptsalsa208sha256 derives them, and the
//! key stream that encrypts a secret key.

use super::*;

use zeroize::Zeroizing;

// ---------------------------------------------------------------------------------------------
// scrypt parameters, as libsodium's crypto_pwhash_scryptsalsa208sha256 derives them.
// ---------------------------------------------------------------------------------------------

/// scrypt parameters derived from minisign's (opslimit, memlimit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ScryptParams {
    pub(super) log_n: u32,
    pub(super) r: u32,
    pub(super) p: u32,
}

/// libsodium's `pickparams()` (crypto_pwhash/scryptsalsa208sha256/pwhash_scryptsalsa208sha256.c),
/// on a 64-bit `size_t`.
pub(super) fn pick_params(opslimit: u64, memlimit: u64) -> ScryptParams {
    fn smallest_log2_above_half(max_n: u64) -> u32 {
        let mut log_n = 1u32;
        while log_n < 63 {
            if (1u64 << log_n) > max_n / 2 {
                break;
            }
            log_n += 1;
        }
        log_n
    }
    let opslimit = opslimit.max(32_768);
    let r: u32 = 8;
    if opslimit < memlimit / 32 {
        let max_n = opslimit / (u64::from(r) * 4);
        ScryptParams {
            log_n: smallest_log2_above_half(max_n),
            r,
            p: 1,
        }
    } else {
        let max_n = memlimit / (u64::from(r) * 128);
        let log_n = smallest_log2_above_half(max_n);
        let maxrp = ((opslimit / 4) / (1u64 << log_n)).min(0x3fff_ffff);
        // maxrp <= 0x3fffffff, so the conversion is lossless.
        let p = u32::try_from(maxrp).unwrap_or(0x3fff_ffff) / r;
        ScryptParams { log_n, r, p }
    }
}

/// Check a file's (opslimit, memlimit) against docseal's limits and derive scrypt parameters.
/// Runs before any scrypt work.
pub(super) fn kdf_params(opslimit: u64, memlimit: u64) -> Result<scrypt::Params, KeyError> {
    let limits = |detail: String| KeyError::KdfLimits { detail };
    if opslimit > KDF_OPSLIMIT_MAX {
        return Err(limits(format!("opslimit {opslimit} > {KDF_OPSLIMIT_MAX}")));
    }
    if memlimit > KDF_MEMLIMIT_MAX {
        return Err(limits(format!("memlimit {memlimit} > {KDF_MEMLIMIT_MAX}")));
    }
    let sp = pick_params(opslimit, memlimit);
    let desc = format!(
        "opslimit {opslimit}, memlimit {memlimit} give N = 2^{}, r = {}, p = {}",
        sp.log_n, sp.r, sp.p
    );
    if sp.p == 0 || sp.r == 0 {
        return Err(limits(format!("{desc}: invalid scrypt parameters")));
    }
    // libsodium refuses N > 2^32 - 1 and r·p >= 2^30.
    if sp.log_n > 31 || u64::from(sp.r) * u64::from(sp.p) >= 1 << 30 {
        return Err(limits(format!("{desc}: invalid scrypt parameters")));
    }
    let table = 128u64 * u64::from(sp.r) * (1u64 << sp.log_n);
    if table > KDF_MEMLIMIT_MAX {
        return Err(limits(format!(
            "{desc}: needs {table} bytes > {KDF_MEMLIMIT_MAX}"
        )));
    }
    let pbuf = 128u64 * u64::from(sp.r) * u64::from(sp.p);
    if pbuf > KDF_PBUF_MAX {
        return Err(limits(format!(
            "{desc}: needs a {pbuf}-byte B buffer > {KDF_PBUF_MAX}"
        )));
    }
    let log_n =
        u8::try_from(sp.log_n).map_err(|_| limits(format!("{desc}: invalid scrypt parameters")))?;
    scrypt::Params::new(log_n, sp.r, sp.p)
        .map_err(|_| limits(format!("{desc}: invalid scrypt parameters")))
}

/// The 104-byte key stream that encrypts `keynum_sk`.
pub(super) fn kdf_stream(
    passphrase: &[u8],
    salt: &[u8],
    params: &scrypt::Params,
) -> Result<Zeroizing<[u8; KEYNUM_SK_LEN]>, KeyError> {
    let mut stream = Zeroizing::new([0u8; KEYNUM_SK_LEN]);
    scrypt::scrypt(passphrase, salt, params, &mut stream[..]).map_err(|_| KeyError::KdfLimits {
        detail: "scrypt refused the output length".into(),
    })?;
    Ok(stream)
}

pub(super) fn xor_keynum_sk(block: &mut [u8; SK_LEN], stream: &[u8; KEYNUM_SK_LEN]) {
    for (b, s) in block[SK_KEYNUM_SK..].iter_mut().zip(stream.iter()) {
        *b ^= s;
    }
}

pub(super) fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, getrandom::Error> {
    let mut out = Zeroizing::new([0u8; N]);
    getrandom::fill(&mut out[..])?;
    Ok(out)
}
