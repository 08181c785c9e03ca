//! RFC 3161 tokens over archive checkpoints (`archive add --tsa`), and their audit.
//!
//! A checkpoint's token covers the exact bytes of the checkpoint's signature file, as a bundle's
//! token covers the bundle's signature file (`docs/FORMAT.md`, "Format v2"). Tokens live in
//! `ARCHIVE/log/timestamps/` as `<size>.minisig.<16 hex>.tsr`, beside (not in) the checkpoints,
//! so the checkpoint files are unchanged. [`check`] checks one token against the signature
//! bytes it covers; [`audit`] checks every token of an archive for `archive audit`.

use crate::format::finding::{Code, Finding};
use crate::format::input::{self, Open};
use crate::format::tsa::MAX_TOKEN_BYTES;
use crate::ops::verify::evidence::{self, TimestampInfo};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::Path;
use x509_cert::Certificate;

/// Where a checkpoint's tokens are, relative to the archive.
pub const TOKENS_DIR: &str = "log/timestamps";

/// Most token files `archive audit` reads from [`TOKENS_DIR`]; more is a finding.
pub const MAX_CHECKPOINT_TOKENS: usize = 10_000;

/// The file a checkpoint token covers: `<size>.minisig`, the checkpoint's signature file.
pub fn signature_name(size: u64) -> String {
    format!("{size}.minisig")
}

/// One checkpoint token, as `archive audit` reports it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CheckpointToken {
    /// The checkpoint (tree size) whose signature the token covers.
    pub checkpoint: u64,
    /// What the token says and whether its TSA is trusted (`file` is relative to the archive).
    #[serde(flatten)]
    pub token: TimestampInfo,
}

/// What [`audit`] found.
#[derive(Clone, Debug, Default)]
pub struct CheckpointTokens {
    /// Every token read, in name order.
    pub tokens: Vec<CheckpointToken>,
    /// Problems: an invalid token, or one not over a checkpoint of the archive, is an error; a
    /// token whose TSA is not trusted at its genTime is a warning.
    pub findings: Vec<Finding>,
}

/// Check one checkpoint token: `file` names it (its last component must be
/// `<size>.minisig.<16 hex>.tsr`, the hex digits the token's own), `signature` is the exact
/// bytes of checkpoint `size`'s signature file, `roots` the trusted TSA roots (none: every
/// token is reported untrusted, a warning). The same checks as a bundle's token: strict DER,
/// imprint over `signature`, CMS signature, ESS certificate, critical timeStamping EKU, the
/// name, a genTime not in the future, and the chain to a root valid at genTime.
pub fn check(
    file: &str,
    size: u64,
    signature: &[u8],
    token: &[u8],
    roots: &[Certificate],
    now: DateTime<Utc>,
) -> (CheckpointToken, Vec<Finding>) {
    let (info, findings) = evidence::check_at(
        file,
        &signature_name(size),
        token,
        signature,
        Some(roots),
        now,
    );
    (
        CheckpointToken {
            checkpoint: size,
            token: info,
        },
        findings,
    )
}

/// The checkpoint size a token file name is for: `<size>.minisig.<16 hex>.tsr`.
pub fn size_of(name: &str) -> Option<u64> {
    let (size, _) = name.split_once('.')?;
    if size.is_empty() || size.len() > 20 || !size.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let size: u64 = size.parse().ok()?;
    crate::format::tsa::token_file_id(&signature_name(size), name)?;
    Some(size)
}

/// Check every token in `ARCHIVE/log/timestamps/` (none there: nothing to report). `signature_of`
/// gives the exact bytes of checkpoint `size`'s signature file, or `None` when the archive has
/// no such checkpoint. Bounded: at most [`MAX_CHECKPOINT_TOKENS`] files, each read only up to
/// [`MAX_TOKEN_BYTES`]; symbolic links and anything but regular files are never opened.
pub fn audit(
    archive: &Path,
    roots: &[Certificate],
    signature_of: &mut dyn FnMut(u64) -> Option<Vec<u8>>,
) -> CheckpointTokens {
    let mut out = CheckpointTokens::default();
    let dir = archive.join(TOKENS_DIR);
    let Some(names) = token_names(&dir, &mut out.findings) else {
        return out;
    };
    let now = Utc::now();
    for name in names {
        let at = format!("{TOKENS_DIR}/{name}");
        let Some(size) = size_of(&name) else {
            out.findings.push(Finding::at(
                Code::TsaName,
                at,
                "not a checkpoint token name (<size>.minisig.<16 hex digits>.tsr)",
            ));
            continue;
        };
        let Some(token) = read_token(&dir.join(&name), &at, &mut out.findings) else {
            continue;
        };
        let Some(signature) = signature_of(size) else {
            out.findings.push(Finding::at(
                Code::TsaImprint,
                at,
                format!(
                    "the archive has no checkpoint {size} whose signature this token could cover"
                ),
            ));
            continue;
        };
        let (t, findings) = check(&at, size, &signature, &token, roots, now);
        out.findings.extend(findings);
        out.tokens.push(t);
    }
    out
}

/// The names in the token directory `dir`, sorted, at most [`MAX_CHECKPOINT_TOKENS`]; `None`
/// when there is nothing to check (no directory, or one that is refused, with a finding).
fn token_names(dir: &Path, findings: &mut Vec<Finding>) -> Option<Vec<String>> {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return None;
    };
    if !meta.is_dir() {
        findings.push(Finding::at(
            Code::ArchiveSymlink,
            TOKENS_DIR,
            "not a directory (a symbolic link is never followed): its tokens are not checked",
        ));
        return None;
    }
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            findings.push(Finding::at(Code::IoRead, TOKENS_DIR, e.to_string()));
            return None;
        }
    };
    let mut names = Vec::new();
    for ent in rd {
        let Ok(ent) = ent else { continue };
        if names.len() == MAX_CHECKPOINT_TOKENS {
            findings.push(Finding::at(
                Code::TsaTooMany,
                TOKENS_DIR,
                format!("more than {MAX_CHECKPOINT_TOKENS} files; only the first were checked"),
            ));
            break;
        }
        names.push(ent.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Some(names)
}

/// The bytes of the token file `path` (shown as `at`), read only when it is a regular file
/// of at most [`MAX_TOKEN_BYTES`]; `None`, with a finding, when it is not.
fn read_token(path: &Path, at: &str, findings: &mut Vec<Finding>) -> Option<Vec<u8>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            findings.push(Finding::at(
                Code::ArchiveSymlink,
                at,
                "a symbolic link in the archive (never followed: what it points to is not checked)",
            ));
            return None;
        }
        Ok(m) if m.is_file() && m.len() > MAX_TOKEN_BYTES as u64 => {
            findings.push(Finding::at(
                Code::TsaTooLarge,
                at,
                format!(
                    "{} bytes, more than the {MAX_TOKEN_BYTES} a token may have",
                    m.len()
                ),
            ));
            return None;
        }
        _ => {}
    }
    match input::read_bounded(
        path,
        MAX_TOKEN_BYTES as u64,
        Open::regular_nofollow("checkpoint token"),
    ) {
        Ok(t) => Some(t),
        Err(e) => {
            findings.push(Finding::at(Code::IoRead, at, e.to_string()));
            None
        }
    }
}

/// The signature file of checkpoint `size` in a log v1 archive (`log/checkpoints/<size>.minisig`),
/// read without following a symbolic link, at most `max` bytes; `None` when absent or refused.
pub fn signature_file(
    archive: &Path,
    checkpoints_dir: &str,
    size: u64,
    max: u64,
) -> Option<Vec<u8>> {
    input::read_bounded(
        &archive.join(checkpoints_dir).join(signature_name(size)),
        max,
        Open::regular_nofollow("checkpoint signature"),
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue14_checkpoint_token_names() {
        let name = crate::format::tsa::token_file_name("12.minisig", b"token");
        assert_eq!(size_of(&name), Some(12));
        for bad in [
            "12.minisig.tsr",
            "x.minisig.0123456789ABCDEF.tsr",
            ".minisig.0123456789ABCDEF.tsr",
            "12.minisig.0123456789abcdef.tsr",
            "12.sig.0123456789ABCDEF.tsr",
            "99999999999999999999999.minisig.0123456789ABCDEF.tsr",
            "tagmanifest-sha256.txt.minisig.0123456789ABCDEF.tsr",
        ] {
            assert_eq!(size_of(bad), None, "{bad}");
        }
    }
}
