//! Witness cosignatures of archive checkpoints (C2SP tlog-cosignature, `cosignature/v1`):
//! kept in `log/cosignatures/<N>`, added by `archive cosign-checkpoint`, counted by `archive
//! audit --witness ... --min-witnesses N`.

use super::tiles::{
    read_cosignatures, WitnessPolicy, CHECKPOINT_FILE, COSIGNATURES_DIR, MAX_NOTE_FILE,
};
use super::{
    invalid, read_limited, read_user_file, Checkpoint, Lock, Sink, CHECKPOINTS_DIR,
    MAX_CHECKPOINT_BYTES,
};
use crate::format::error::{Error, Result};
use crate::format::finding::{Code, Finding};
use crate::format::note::{self, Note, SignatureLine, VerifierKey, MAX_SIGNATURES};
use crate::profile::metadata::format_sealed;
use crate::profile::trust::Trust;
use chrono::{DateTime, Utc};
use std::path::Path;

/// How far a cosignature's timestamp may be past the verifier's clock, or before the
/// checkpoint's time (the archive's clock): clocks differ a little.
pub const MAX_COSIGNATURE_SKEW: std::time::Duration = std::time::Duration::from_secs(600);

/// What `cosign-checkpoint` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The tree size of the checkpoint cosigned.
    pub size: u64,
    /// Lines added (new ones).
    pub added: usize,
    /// Lines kept for that checkpoint in all.
    pub total: usize,
    /// Cosignature lines of the file not checked against a witness key (none given for them).
    pub unverified: usize,
}

/// Which lines [`cosign_checkpoint_with`] adds (build it from `CosignPolicy::default()`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CosignPolicy {
    /// Witness keys: each line of one of these must verify against the checkpoint, with a
    /// timestamp from the checkpoint's time to [`MAX_COSIGNATURE_SKEW`] past `now`, or the
    /// whole file is refused.
    pub witnesses: Vec<VerifierKey>,
    /// Add lines of witnesses not given, unchecked. Without witness keys, lines are always
    /// added unchecked (the form only is checked).
    pub allow_unverified: bool,
    /// The clock the timestamps are checked against (`None`: the system clock).
    pub now: Option<DateTime<Utc>>,
}

/// Why cosignature `line` by witness `w` of the checkpoint `text` (signed at `time`) does not
/// count, if it does not: its signature must verify, and its timestamp must be no earlier than
/// [`MAX_COSIGNATURE_SKEW`] before the checkpoint's time (a witness cannot have seen the
/// checkpoint before it was signed; the archive's and the witness's clocks may differ by that
/// much) and no later than [`MAX_COSIGNATURE_SKEW`] past `now`.
pub fn check_cosignature(
    w: &VerifierKey,
    text: &str,
    time: DateTime<Utc>,
    line: &SignatureLine,
    now: DateTime<Utc>,
) -> std::result::Result<(), String> {
    let ts = match w.verify(text, line) {
        Ok(Some(ts)) => ts,
        Ok(None) => return Err(format!("{} is not a cosignature", w.name)),
        Err(e) => return Err(e.to_string()),
    };
    let shown = i64::try_from(ts)
        .ok()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
        .map_or_else(|| format!("{ts} (POSIX seconds)"), format_sealed);
    let skew = i64::try_from(MAX_COSIGNATURE_SKEW.as_secs()).unwrap_or(i64::MAX);
    if i128::from(ts) < i128::from(time.timestamp()) - i128::from(skew) {
        return Err(format!(
            "cosignature by {} is timestamped {shown}, more than {} minutes before the checkpoint's time {}: a witness cannot have seen the checkpoint before it was signed",
            w.name,
            skew / 60,
            format_sealed(time)
        ));
    }
    if i128::from(ts) > i128::from(now.timestamp()) + i128::from(skew) {
        return Err(format!(
            "cosignature by {} is timestamped {shown}, more than {} minutes after this clock ({})",
            w.name,
            skew / 60,
            format_sealed(now)
        ));
    }
    Ok(())
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
/// whole cosigned checkpoint) to the archive, unchecked: [`cosign_checkpoint_with`] and no
/// witness key (the form only is checked; audit checks signatures with the witness keys).
pub fn cosign_checkpoint(
    archive: &Path,
    bytes: &[u8],
    wait: std::time::Duration,
) -> Result<Cosigned> {
    cosign_checkpoint_with(archive, bytes, wait, &CosignPolicy::default())
}

/// Add the cosignatures in `bytes` (the file a witness returned: its signature lines, or the
/// whole cosigned checkpoint) to the archive. Lines alone are for the checkpoint in
/// `log/checkpoint`; a whole note names its checkpoint by its text, which must be one of the
/// archive's. The log's own signature lines (key name = origin) are not cosignatures and are
/// left out. Each line of a witness in `policy` must verify ([`check_cosignature`]); a line of
/// another witness is added only if `policy` allows unverified lines or gives no witness key.
/// Any line refused refuses the whole file ([`Error::Refused`]): nothing is added.
pub fn cosign_checkpoint_with(
    archive: &Path,
    bytes: &[u8],
    wait: std::time::Duration,
    policy: &CosignPolicy,
) -> Result<Cosigned> {
    let label = archive.display().to_string();
    if !super::tiles::is_v2(archive)? {
        return Err(invalid(
            &label,
            "has a v1 log: witnesses cosign the signed note log/checkpoint of a v2 log (migrate it to v2 first)",
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
    let (body, numbered) = read_answer(text, &current)?;
    let cp = archive_checkpoint(archive, &body)?;
    let unverified = check_lines(&numbered, &cp, &body, policy)?;
    let new: Vec<SignatureLine> = numbered
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| l.name != cp.origin)
        .collect();
    if new.is_empty() {
        return Err(invalid(
            "signature file",
            "holds no cosignature (only the log's own signature)",
        ));
    }
    let (all, added) = merged(archive, &label, &cp, &body, new)?;
    let lines_text: String = all.iter().map(SignatureLine::to_line).collect();
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
        unverified,
    })
}

/// The witness's answer `text`: the checkpoint text it cosigns (that of `current` for lines
/// alone) and its signature lines, numbered as in the file (after the note's text and its
/// empty line, if a whole note).
fn read_answer(text: &str, current: &Note) -> Result<(String, Vec<(usize, SignatureLine)>)> {
    let (body, lines) = if text.contains("\n\n") {
        let n =
            Note::parse(text.as_bytes()).map_err(|e| invalid("signature file", e.to_string()))?;
        (n.text, n.signatures)
    } else {
        let lines = note::parse_signature_lines(text)
            .map_err(|e| invalid("signature file", e.to_string()))?;
        (current.text.clone(), lines)
    };
    // Line numbers in the file: after the note's text and its empty line, if a whole note.
    let first = if text.contains("\n\n") {
        body.lines().count() + 2
    } else {
        1
    };
    let numbered: Vec<(usize, SignatureLine)> = (first..).zip(lines).collect();
    Ok((body, numbered))
}

/// The checkpoint whose note text is `body`, which must be one of the archive's.
fn archive_checkpoint(archive: &Path, body: &str) -> Result<Checkpoint> {
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
    Ok(cp)
}

/// The cosignatures kept for `cp` with the `new` ones (no line twice), and how many are new;
/// refused if there would be too many, or too many bytes for the note they go into.
fn merged(
    archive: &Path,
    label: &str,
    cp: &Checkpoint,
    body: &str,
    new: Vec<SignatureLine>,
) -> Result<(Vec<SignatureLine>, usize)> {
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
            label,
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
            label,
            format!(
                "checkpoint {} with these cosignatures would be a note larger than {} bytes",
                cp.size,
                note::MAX_NOTE_BYTES
            ),
        ));
    }
    Ok((all, added))
}

/// Check the cosignature lines of `cp` (numbered as in the file) as `policy` says; how many
/// are left unchecked (no key given for them). The log's own lines are not looked at.
fn check_lines(
    lines: &[(usize, SignatureLine)],
    cp: &Checkpoint,
    body: &str,
    policy: &CosignPolicy,
) -> Result<usize> {
    let now = policy.now.unwrap_or_else(Utc::now);
    let refuse = |n: usize, l: &SignatureLine, why: String| Error::Refused {
        path: "signature file".into(),
        summary: format!("line {n} ({}): {why}; nothing was added", l.name),
    };
    let mut unverified = 0;
    for (n, l) in lines.iter().filter(|(_, l)| l.name != cp.origin) {
        // Two keys may share a name and a 4-byte key id: the line is good if one of them
        // verifies it.
        let mut given = policy.witnesses.iter().filter(|w| w.matches(l));
        match given.next() {
            Some(w) => {
                let first = check_cosignature(w, body, cp.time, l, now);
                if first.is_err()
                    && !given.any(|o| check_cosignature(o, body, cp.time, l, now).is_ok())
                {
                    first.map_err(|why| refuse(*n, l, why))?;
                }
            }
            None if policy.witnesses.is_empty() || policy.allow_unverified => unverified += 1,
            None => {
                return Err(refuse(
                    *n,
                    l,
                    "not by one of the witness keys given, so it cannot be verified".into(),
                ))
            }
        }
    }
    Ok(unverified)
}

/// The witnesses' cosignatures of the latest checkpoint `cp` (note text `body`) against
/// `policy`.
pub(super) fn check_witnesses(
    archive: &Path,
    trust: &Trust,
    cp: &Checkpoint,
    body: &str,
    policy: &WitnessPolicy,
    f: &mut Sink,
) {
    let (mut ok, errs) = match cosigners(archive, body, cp.size, &policy.witnesses) {
        Ok(r) => r,
        Err(e) => (Vec::new(), vec![e.to_string()]),
    };
    // A log is not its own witness: a "witness" key that is an archive key never counts.
    ok.retain(|&i| {
        let own = trust
            .keys()
            .iter()
            .any(|k| k.archive && k.key.verifying_key() == policy.witnesses[i].public_key());
        if own {
            f.push(Finding::at(
                Code::LogCosignatureInvalid,
                format!("{COSIGNATURES_DIR}/{}", cp.size),
                format!(
                    "witness {} has the archive's own key: a log does not witness itself",
                    policy.witnesses[i].name
                ),
            ));
        }
        !own
    });
    for e in errs {
        f.push(Finding::at(
            Code::LogCosignatureInvalid,
            format!("{COSIGNATURES_DIR}/{}", cp.size),
            e,
        ));
    }
    if ok.len() < policy.min {
        let names: Vec<&str> = ok
            .iter()
            .map(|&i| policy.witnesses[i].name.as_str())
            .collect();
        f.push(Finding::at(
            Code::LogWitnessQuorum,
            format!("{COSIGNATURES_DIR}/{}", cp.size),
            format!(
                "checkpoint {} is cosigned by {} of the given witnesses ({}); at least {} are required",
                cp.size,
                ok.len(),
                if names.is_empty() { "none".to_string() } else { names.join(", ") },
                policy.min
            ),
        ));
    }
}

/// The witnesses (indices into `witnesses`) whose cosignature of checkpoint `body` (tree size
/// `size`) verifies with a timestamp the system clock allows
/// ([`check_cosignature`]), from `log/cosignatures/<size>` and
/// `log/checkpoint`; and the problems with lines of given witnesses that do not. Each key
/// counts at most once, however many of its lines are present; lines of other keys are ignored.
pub fn cosigners(
    archive: &Path,
    body: &str,
    size: u64,
    witnesses: &[VerifierKey],
) -> Result<(Vec<usize>, Vec<String>)> {
    let mut lines = read_cosignatures(archive, size)?;
    if let Some(b) = read_limited(&archive.join(CHECKPOINT_FILE), MAX_NOTE_FILE)? {
        if let Ok(n) = Note::parse(&b) {
            if n.text == body {
                for l in n.signatures {
                    if !lines.contains(&l) {
                        lines.push(l);
                    }
                }
            }
        }
    }
    let time = Checkpoint::parse(body.as_bytes())
        .map_err(|why| invalid(format!("checkpoint {size}"), why))?
        .time;
    let now = chrono::Utc::now();
    let mut ok = Vec::new();
    let mut errs = Vec::new();
    for (i, w) in witnesses.iter().enumerate() {
        let mut good = false;
        for l in lines.iter().filter(|l| w.matches(l)) {
            match check_cosignature(w, body, time, l, now) {
                Ok(()) => good = true,
                // Another given key with the same name and 4-byte key id made it: its line.
                Err(_)
                    if witnesses.iter().any(|o| {
                        o.public_key() != w.public_key()
                            && o.matches(l)
                            && check_cosignature(o, body, time, l, now).is_ok()
                    }) => {}
                Err(e) => errs.push(e),
            }
        }
        // The same public key listed twice (under any name) counts once: whichever of its
        // names has a good line.
        if good
            && !ok
                .iter()
                .any(|&o: &usize| witnesses[o].public_key() == w.public_key())
        {
            ok.push(i);
        }
    }
    Ok((ok, errs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::minisign::{KeyId, SecretKey};
    use crate::format::note::{KeyKind, NoteSigner};

    #[test]
    fn issue17_cosignature_time_bounds_are_ten_minutes_around_checkpoint_and_clock() {
        let k = SecretKey::from_seed(&[7; 32], KeyId([7; 8]));
        let signer = NoteSigner::new("witness.example/w", &k).unwrap();
        let w = signer.verifier(KeyKind::Cosignature);
        let text = "docseal-archive/0000000000000000\n1\nAAAA\n";
        let time = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let now = DateTime::<Utc>::from_timestamp(1_900_000_000, 0).unwrap();
        let at =
            |ts: u64| check_cosignature(&w, text, time, &signer.cosign(text, ts).unwrap(), now);
        assert_eq!(at(1_800_000_000), Ok(()));
        // Ten minutes before the checkpoint's time (clocks differ) counts, a second more not.
        assert_eq!(at(1_799_999_400), Ok(()));
        assert!(at(1_799_999_399)
            .unwrap_err()
            .contains("more than 10 minutes before the checkpoint's time"));
        assert_eq!(at(1_900_000_600), Ok(()));
        assert!(at(1_900_000_601)
            .unwrap_err()
            .contains("more than 10 minutes after this clock (2030-03-17T17:46:40Z)"));
        // The largest timestamp a line can carry is refused, never an overflow.
        assert!(at(i64::MAX as u64).is_err());
        // Another text: the signature does not verify, whatever the time.
        let line = signer.cosign("other\n", 1_850_000_000).unwrap();
        assert!(check_cosignature(&w, text, time, &line, now).is_err());
    }
}
