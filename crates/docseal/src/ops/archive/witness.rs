//! Witness cosignatures of archive checkpoints (C2SP tlog-cosignature, `cosignature/v1`):
//! kept in `log/cosignatures/<N>`, added by `archive cosign-checkpoint`, counted by `archive
//! audit --witness ... --min-witnesses N`.

use super::tiles::{read_cosignatures, CHECKPOINT_FILE, COSIGNATURES_DIR, MAX_NOTE_FILE};
use super::{
    invalid, read_limited, read_user_file, Checkpoint, Lock, CHECKPOINTS_DIR, MAX_CHECKPOINT_BYTES,
};
use crate::format::error::Result;
use crate::format::note::{self, Note, SignatureLine, VerifierKey, MAX_SIGNATURES};
use std::path::Path;

/// What `cosign-checkpoint` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The tree size of the checkpoint cosigned.
    pub size: u64,
    /// Lines added (new ones).
    pub added: usize,
    /// Lines kept for that checkpoint in all.
    pub total: usize,
}

/// Read a witness key: a vkey (`<name>+<hex id>+<base64>`, signature type 0x04) given as is,
/// or a file holding one on its first line.
pub fn read_witness(arg: &str) -> Result<VerifierKey> {
    let parsed = match VerifierKey::parse(arg.trim()) {
        Ok(k) => k,
        Err(first) => {
            let p = Path::new(arg);
            let bytes = read_user_file(p, 4096)?.ok_or_else(|| {
                invalid(
                    arg,
                    format!("is neither a witness verifier key ({first}) nor a file"),
                )
            })?;
            let s = std::str::from_utf8(&bytes).map_err(|_| invalid(arg, "not UTF-8"))?;
            let line = s.lines().next().unwrap_or("").trim();
            VerifierKey::parse(line).map_err(|e| invalid(arg, e.to_string()))?
        }
    };
    if parsed.kind != note::KeyKind::Cosignature {
        return Err(invalid(
            arg,
            "is not a witness key: its signature type must be 0x04 (cosignature/v1)",
        ));
    }
    Ok(parsed)
}

/// Add the cosignatures in `bytes` (the file a witness returned: its signature lines, or the
/// whole cosigned checkpoint) to the archive. Lines alone are for the checkpoint in
/// `log/checkpoint`; a whole note names its checkpoint by its text, which must be one of the
/// archive's. The log's own signature lines (key name = origin) are not cosignatures and are
/// left out. Nothing is checked cryptographically here (audit does, with the witness keys).
pub fn cosign_checkpoint(
    archive: &Path,
    bytes: &[u8],
    wait: std::time::Duration,
) -> Result<Cosigned> {
    let label = archive.display().to_string();
    if !super::tiles::is_v2(archive)? {
        return Err(invalid(
            &label,
            "has a v1 log: witnesses cosign the signed note log/checkpoint of a v2 log (run docseal archive migrate first)",
        ));
    }
    if bytes.len() > note::MAX_NOTE_BYTES {
        return Err(invalid("signature file", "too large"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("signature file", "not UTF-8"))?;
    let _lock = Lock::acquire(archive, wait, true)?;
    let current = read_limited(&archive.join(CHECKPOINT_FILE), MAX_NOTE_FILE)?
        .ok_or_else(|| invalid(format!("{label}/{CHECKPOINT_FILE}"), "missing"))?;
    let current = Note::parse(&current).map_err(|e| invalid(CHECKPOINT_FILE, e.to_string()))?;
    let (body, lines) = if text.contains("\n\n") {
        let n = Note::parse(bytes).map_err(|e| invalid("signature file", e.to_string()))?;
        (n.text, n.signatures)
    } else {
        let lines = note::parse_signature_lines(text)
            .map_err(|e| invalid("signature file", e.to_string()))?;
        (current.text.clone(), lines)
    };
    let cp = Checkpoint::parse(body.as_bytes()).map_err(|why| {
        invalid(
            "signature file",
            format!("not a checkpoint of this archive: {why}"),
        )
    })?;
    let stored = read_limited(
        &archive.join(CHECKPOINTS_DIR).join(cp.size.to_string()),
        MAX_CHECKPOINT_BYTES,
    )?;
    if stored.as_deref() != Some(body.as_bytes()) {
        return Err(invalid(
            "signature file",
            format!(
                "cosigns a checkpoint of size {} that is not this archive's",
                cp.size
            ),
        ));
    }
    let new: Vec<SignatureLine> = lines.into_iter().filter(|l| l.name != cp.origin).collect();
    if new.is_empty() {
        return Err(invalid(
            "signature file",
            "holds no cosignature (only the log's own signature)",
        ));
    }
    let mut all = read_cosignatures(archive, cp.size)?;
    let mut added = 0;
    for l in new {
        if !all.contains(&l) {
            all.push(l);
            added += 1;
        }
    }
    if all.len() > MAX_SIGNATURES - 1 {
        return Err(invalid(
            &label,
            format!(
                "checkpoint {} would have more than {} cosignatures",
                cp.size,
                MAX_SIGNATURES - 1
            ),
        ));
    }
    let lines_text: String = all.iter().map(SignatureLine::to_line).collect();
    // The note they go into (body, empty line, the log's own signature line, these) must stay
    // within a note's limit, or log/checkpoint could no longer be read.
    let own_line = 4 + note::MAX_KEY_NAME + 1 + 92;
    if body.len() + 1 + own_line + lines_text.len() > note::MAX_NOTE_BYTES {
        return Err(invalid(
            &label,
            format!(
                "checkpoint {} with these cosignatures would be a note larger than {} bytes",
                cp.size,
                note::MAX_NOTE_BYTES
            ),
        ));
    }
    super::tiles::put_file(
        archive,
        &format!("{COSIGNATURES_DIR}/{}", cp.size),
        lines_text.as_bytes(),
    )?;
    // The fixed-name checkpoint carries them too, when it is the one cosigned.
    if current.text == body {
        let mut n = Note {
            text: current.text,
            signatures: current
                .signatures
                .into_iter()
                .filter(|l| l.name == cp.origin)
                .collect(),
        };
        n.signatures.extend(all.iter().cloned());
        super::tiles::put_file(archive, CHECKPOINT_FILE, &n.to_bytes())?;
    }
    Ok(Cosigned {
        size: cp.size,
        added,
        total: all.len(),
    })
}
