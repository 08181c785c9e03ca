//! C2SP signed notes (<https://c2sp.org/signed-note>): a text signed by one or more keys,
//! Ed25519 note signatures, verifier keys (vkeys), and C2SP `tlog-cosignature` v1 (timestamped
//! Ed25519 cosignatures of a checkpoint by a witness).
//!
//! ```text
//! <text, one or more lines, each ending in LF>
//! <empty line>
//! — <key name> <base64(4-byte key id || signature)>
//! ...
//! ```
//!
//! Everything is parsed strictly and bounded: a note is at most [`MAX_NOTE_BYTES`] with at most
//! [`MAX_SIGNATURES`] signature lines, valid UTF-8 without control characters but LF.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha256};

/// The largest note accepted (text and signature lines).
pub const MAX_NOTE_BYTES: usize = 32 << 10;
/// The most signature lines accepted in one note (the specification asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// The longest key name accepted, in bytes.
pub const MAX_KEY_NAME: usize = 256;
/// Signature type of Ed25519 note signatures.
pub const TYPE_ED25519: u8 = 0x01;
/// Signature type of timestamped Ed25519 checkpoint cosignatures (`cosignature/v1`).
pub const TYPE_COSIGNATURE_V1: u8 = 0x04;
/// The largest cosignature timestamp allowed (2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

const EM_DASH: &str = "\u{2014}";

/// A problem with a note, a signature line or a verifier key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    /// Larger than [`MAX_NOTE_BYTES`].
    #[error("note larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    /// Not in the form the specification requires.
    #[error("malformed note: {0}")]
    Malformed(String),
    /// A signature line is not in the form the specification requires.
    #[error("malformed signature line: {0}")]
    BadSignatureLine(String),
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("more than {MAX_SIGNATURES} signature lines")]
    TooManySignatures,
    /// A verifier key is not in the form `<name>+<hex id>+<base64 key>`.
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(String),
    /// A key name is empty, too long, or holds a space or a plus sign.
    #[error("invalid key name: {0}")]
    BadKeyName(String),
    /// A signature by a known key does not verify.
    #[error("signature by {0} does not verify")]
    BadSignature(String),
}

fn malformed(s: impl Into<String>) -> NoteError {
    NoteError::Malformed(s.into())
}

/// Check a key name: non-empty, at most [`MAX_KEY_NAME`] bytes, no Unicode space, no `+`, no
/// control character.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name.len() > MAX_KEY_NAME
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(NoteError::BadKeyName(format!("{name:?}")));
    }
    Ok(())
}

/// The key id of a key: the first four bytes, big-endian, of
/// `SHA-256(name || LF || signature type || public key)`.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// One signature line: `— <name> base64(key id || signature)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignatureLine {
    /// The key name.
    pub name: String,
    /// The 4-byte key id.
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

impl SignatureLine {
    /// Parse one line, without its final LF.
    pub fn parse(line: &str) -> Result<Self, NoteError> {
        let bad = |s: &str| NoteError::BadSignatureLine(s.to_string());
        let rest = line
            .strip_prefix(EM_DASH)
            .and_then(|r| r.strip_prefix(' '))
            .ok_or_else(|| bad("does not start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad("no space between key name and signature"))?;
        check_key_name(name)?;
        if b64.len() > 8192 {
            return Err(bad("signature too long"));
        }
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| bad("signature is not standard padded base64"))?;
        if raw.len() < 5 {
            return Err(bad("signature shorter than a key id and one byte"));
        }
        Ok(SignatureLine {
            name: name.to_string(),
            key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            signature: raw[4..].to_vec(),
        })
    }

    /// The line, ending in LF.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{EM_DASH} {} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// A signed note: its text (ending in LF) and its signature lines, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text, including its final LF.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<SignatureLine>,
}

fn check_chars(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c != '\n' && c.is_ascii_control()) {
        return Err(malformed("control character other than LF"));
    }
    Ok(())
}

/// Parse the signature lines part of a note (each line ending in LF), at least one.
pub fn parse_signature_lines(s: &str) -> Result<Vec<SignatureLine>, NoteError> {
    check_chars(s)?;
    let body = s
        .strip_suffix('\n')
        .ok_or_else(|| malformed("signature lines do not end in LF"))?;
    let mut out = Vec::new();
    for line in body.split('\n') {
        if out.len() == MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        out.push(SignatureLine::parse(line)?);
    }
    Ok(out)
}

impl Note {
    /// Parse a signed note strictly (bounded, UTF-8, no control character but LF, at least
    /// one signature line).
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        let s = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
        check_chars(s)?;
        let split = s
            .rfind("\n\n")
            .ok_or_else(|| malformed("no empty line before the signatures"))?;
        let text = &s[..split + 1];
        let sigs = &s[split + 2..];
        if sigs.is_empty() {
            return Err(malformed("no signature line"));
        }
        Ok(Note {
            text: text.to_string(),
            signatures: parse_signature_lines(sigs)?,
        })
    }

    /// A note with this text (which must end in LF) and no signature yet.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_chars(text)?;
        if !text.ends_with('\n') || text == "\n" {
            return Err(malformed("text must be non-empty and end in LF"));
        }
        Ok(Note {
            text: text.to_string(),
            signatures: Vec::new(),
        })
    }

    /// The note's bytes: the text, an empty line, the signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone().into_bytes();
        out.push(b'\n');
        for s in &self.signatures {
            out.extend_from_slice(s.to_line().as_bytes());
        }
        out
    }
}

/// What a verifier key checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Ed25519 note signatures (type 0x01): the note's signer (a log).
    Ed25519,
    /// `cosignature/v1` timestamped Ed25519 cosignatures (type 0x04): a witness.
    Cosignature,
}

impl KeyKind {
    fn type_byte(self) -> u8 {
        match self {
            KeyKind::Ed25519 => TYPE_ED25519,
            KeyKind::Cosignature => TYPE_COSIGNATURE_V1,
        }
    }
}

/// A verifier key: a name, a key id and an Ed25519 public key of one of the two kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    /// The key name.
    pub name: String,
    /// The key id (always the one computed from name, kind and key).
    pub key_id: u32,
    /// What it checks.
    pub kind: KeyKind,
    key: ed25519_dalek::VerifyingKey,
}

/// The message a `cosignature/v1` signs: the header, the time line and the checkpoint text.
pub fn cosignature_message(text: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

impl VerifierKey {
    /// The verifier key of an Ed25519 public key.
    pub fn new(
        name: &str,
        kind: KeyKind,
        key: ed25519_dalek::VerifyingKey,
    ) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(VerifierKey {
            name: name.to_string(),
            key_id: key_id(name, kind.type_byte(), key.as_bytes()),
            kind,
            key,
        })
    }

    /// Parse `<name>+<8 hex>+<base64(type || 32-byte key)>`; the id must be the computed one.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let bad = |m: &str| NoteError::BadVerifierKey(m.to_string());
        if s.len() > MAX_KEY_NAME + 80 {
            return Err(bad("too long"));
        }
        // The name and id hold no `+`; the base64 key may.
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected <name>+<hex key id>+<base64 key>"));
        };
        check_key_name(name)?;
        if id.len() != 8
            || !id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad("key id is not 8 lower-case hex digits"));
        }
        let id = u32::from_str_radix(id, 16).map_err(|_| bad("key id is not hex"))?;
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| bad("key is not standard padded base64"))?;
        let (kind, key) = match raw.split_first() {
            Some((&TYPE_ED25519, k)) => (KeyKind::Ed25519, k),
            Some((&TYPE_COSIGNATURE_V1, k)) => (KeyKind::Cosignature, k),
            Some((t, _)) => return Err(bad(&format!("unsupported signature type 0x{t:02x}"))),
            None => return Err(bad("empty key")),
        };
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| bad("Ed25519 key is not 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key)
            .map_err(|_| bad("not a valid Ed25519 public key"))?;
        if key.is_weak() {
            return Err(bad("weak (small-order) Ed25519 public key"));
        }
        let vk = VerifierKey::new(name, kind, key)?;
        if vk.key_id != id {
            return Err(bad("key id does not match the name and key"));
        }
        Ok(vk)
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// The vkey string.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.kind.type_byte()];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, STANDARD.encode(raw))
    }

    /// Whether this key is the one a signature line names (same name and key id).
    pub fn matches(&self, line: &SignatureLine) -> bool {
        line.name == self.name && line.key_id == self.key_id
    }

    /// Check a signature line of this key over `text` (the note text). For a cosignature,
    /// returns its timestamp.
    pub fn verify(&self, text: &str, line: &SignatureLine) -> Result<Option<u64>, NoteError> {
        let bad = || NoteError::BadSignature(self.name.clone());
        if !self.matches(line) {
            return Err(bad());
        }
        let (msg, sig, ts) = match self.kind {
            KeyKind::Ed25519 => {
                let sig: [u8; 64] = line.signature.as_slice().try_into().map_err(|_| bad())?;
                (text.as_bytes().to_vec(), sig, None)
            }
            KeyKind::Cosignature => {
                if line.signature.len() != 72 {
                    return Err(bad());
                }
                let (t, s) = line.signature.split_at(8);
                let ts = u64::from_be_bytes(t.try_into().map_err(|_| bad())?);
                if ts > MAX_TIMESTAMP {
                    return Err(bad());
                }
                let sig: [u8; 64] = s.try_into().map_err(|_| bad())?;
                (cosignature_message(text, ts), sig, Some(ts))
            }
        };
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        self.key.verify_strict(&msg, &sig).map_err(|_| bad())?;
        Ok(ts)
    }
}

/// An Ed25519 signing key, as a note signer needs it (the secret never leaves it).
pub trait Ed25519Sign {
    /// The public key.
    fn public_key_bytes(&self) -> ed25519_dalek::VerifyingKey;
    /// A pure Ed25519 (RFC 8032) signature of `message`.
    fn sign_ed25519(&self, message: &[u8]) -> [u8; 64];
}

impl Ed25519Sign for ed25519_dalek::SigningKey {
    fn public_key_bytes(&self) -> ed25519_dalek::VerifyingKey {
        self.verifying_key()
    }
    fn sign_ed25519(&self, message: &[u8]) -> [u8; 64] {
        self.sign(message).to_bytes()
    }
}

impl Ed25519Sign for crate::format::minisign::SecretKey {
    fn public_key_bytes(&self) -> ed25519_dalek::VerifyingKey {
        *self.public_key().verifying_key()
    }
    fn sign_ed25519(&self, message: &[u8]) -> [u8; 64] {
        crate::format::minisign::SecretKey::sign_ed25519(self, message)
    }
}

/// A signer of notes: a key name and an Ed25519 signing key.
pub struct NoteSigner<'a> {
    name: String,
    key: &'a dyn Ed25519Sign,
}

impl std::fmt::Debug for NoteSigner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({}, <redacted>)", self.name)
    }
}

impl<'a> NoteSigner<'a> {
    /// A signer named `name`.
    pub fn new(name: &str, key: &'a dyn Ed25519Sign) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(NoteSigner {
            name: name.to_string(),
            key,
        })
    }

    /// Its verifier key of this kind.
    pub fn verifier(&self, kind: KeyKind) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: key_id(
                &self.name,
                kind.type_byte(),
                self.key.public_key_bytes().as_bytes(),
            ),
            kind,
            key: self.key.public_key_bytes(),
        }
    }

    /// An Ed25519 note signature (type 0x01) of `text`.
    pub fn sign(&self, text: &str) -> SignatureLine {
        let sig = self.key.sign_ed25519(text.as_bytes());
        SignatureLine {
            name: self.name.clone(),
            key_id: self.verifier(KeyKind::Ed25519).key_id,
            signature: sig.to_vec(),
        }
    }

    /// A `cosignature/v1` (type 0x04) of the checkpoint `text` at `timestamp` (POSIX seconds,
    /// at most [`MAX_TIMESTAMP`]).
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<SignatureLine, NoteError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(malformed("timestamp beyond 2^63 - 1"));
        }
        let sig = self.key.sign_ed25519(&cosignature_message(text, timestamp));
        let mut raw = timestamp.to_be_bytes().to_vec();
        raw.extend_from_slice(&sig);
        Ok(SignatureLine {
            name: self.name.clone(),
            key_id: self.verifier(KeyKind::Cosignature).key_id,
            signature: raw,
        })
    }
}

/// The witnesses that validly cosigned `text`: each key of `witnesses` counts at most once,
/// however many of its lines are present; lines of unknown keys are ignored. A line of a
/// known key that does not verify is returned in the error list (it does not count).
pub fn count_cosigners(
    text: &str,
    lines: &[SignatureLine],
    witnesses: &[VerifierKey],
) -> (Vec<usize>, Vec<NoteError>) {
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    for (i, w) in witnesses.iter().enumerate() {
        // The same public key listed twice (under any name) counts once.
        if witnesses[..i].iter().any(|o| o.key == w.key) {
            continue;
        }
        let mut good = false;
        for l in lines.iter().filter(|l| w.matches(l)) {
            match w.verify(text, l) {
                Ok(_) => good = true,
                Err(e) => errors.push(e),
            }
        }
        if good {
            ok.push(i);
        }
    }
    (ok, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector from C2SP signed-note.md ("Example"), https://github.com/C2SP/C2SP, commit
    // 5ba5ee830903e91240fc6f9f3a7a9293d49e69c9; specification text CC BY 4.0.
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    fn key(seed: u8) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn issue17_spec_vector_note_verifies() {
        let vk = VerifierKey::parse(SPEC_VKEY).unwrap();
        assert_eq!(vk.kind, KeyKind::Ed25519);
        assert_eq!(vk.to_vkey(), SPEC_VKEY);
        let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
        assert_eq!(note.text, "This is an example message.\n");
        assert_eq!(note.to_bytes(), SPEC_NOTE.as_bytes());
        assert_eq!(vk.verify(&note.text, &note.signatures[0]), Ok(None));
        // One changed byte of text: no longer verifies.
        assert!(vk
            .verify("This is an example message!\n", &note.signatures[0])
            .is_err());
    }

    #[test]
    fn issue17_spec_cosignature_timestamp_layout() {
        // From C2SP tlog-cosignature.md's example: the line's bytes are key id, then the
        // big-endian timestamp 1679315147 that the example's signed message shows.
        let l = SignatureLine::parse("\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==").unwrap();
        assert_eq!(l.signature.len(), 72);
        assert_eq!(
            u64::from_be_bytes(l.signature[..8].try_into().unwrap()),
            1679315147
        );
    }

    #[test]
    fn issue17_sign_and_cosign_round_trip() {
        let k = key(1);
        let s = NoteSigner::new("docseal-archive/0102030405060708", &k).unwrap();
        let text = "docseal-archive/0102030405060708\n3\nAAAA\n";
        let mut note = Note::new(text).unwrap();
        note.signatures.push(s.sign(text));
        let w = key(2);
        let ws = NoteSigner::new("witness.example/w1", &w).unwrap();
        note.signatures
            .push(ws.cosign(text, 1_700_000_000).unwrap());
        let back = Note::parse(&note.to_bytes()).unwrap();
        assert_eq!(back, note);
        let vk = VerifierKey::parse(&s.verifier(KeyKind::Ed25519).to_vkey()).unwrap();
        assert_eq!(vk.verify(text, &back.signatures[0]), Ok(None));
        let wk = VerifierKey::parse(&ws.verifier(KeyKind::Cosignature).to_vkey()).unwrap();
        assert_eq!(
            wk.verify(text, &back.signatures[1]),
            Ok(Some(1_700_000_000))
        );
        // Kinds are not interchangeable.
        assert!(!wk.matches(&back.signatures[0]));
        let wrong_kind = ws.verifier(KeyKind::Ed25519);
        assert!(!wrong_kind.matches(&back.signatures[1]));
    }

    #[test]
    fn issue17_hostile_cosignatures_count_once_and_only_when_valid() {
        let text = "o\n1\nAAAA\n";
        let other = "o\n2\nBBBB\n";
        let (w1, w2, w3) = (key(3), key(4), key(5));
        let s1 = NoteSigner::new("w1", &w1).unwrap();
        let s2 = NoteSigner::new("w2", &w2).unwrap();
        let s3 = NoteSigner::new("w3", &w3).unwrap();
        let mut lines = vec![
            s1.cosign(text, 1).unwrap(),
            s1.cosign(text, 2).unwrap(),  // duplicated witness
            s2.cosign(other, 1).unwrap(), // wrong checkpoint
        ];
        // Wrong key: w3's name with w1's key id.
        let mut forged = s3.cosign(text, 1).unwrap();
        forged.key_id = s1.verifier(KeyKind::Cosignature).key_id;
        forged.name = "w1".into();
        lines.push(forged);
        let keys = [
            s1.verifier(KeyKind::Cosignature),
            s2.verifier(KeyKind::Cosignature),
            s3.verifier(KeyKind::Cosignature),
            s1.verifier(KeyKind::Cosignature),
        ];
        let (ok, errs) = count_cosigners(text, &lines, &keys);
        assert_eq!(ok, vec![0]);
        assert_eq!(errs.len(), 2); // the wrong checkpoint and the forged line
    }

    #[test]
    fn issue17_vkeys_whose_base64_holds_a_plus_parse() {
        // Many keys: some base64 encodings hold `+` (the separator of the vkey's parts).
        let mut with_plus = 0;
        for seed in 0..64u8 {
            let k = key(seed);
            for kind in [KeyKind::Ed25519, KeyKind::Cosignature] {
                let vk = NoteSigner::new("w.example/x", &k).unwrap().verifier(kind);
                let s = vk.to_vkey();
                with_plus += usize::from(s.matches('+').count() > 2);
                assert_eq!(VerifierKey::parse(&s).unwrap(), vk, "{s}");
            }
        }
        assert!(with_plus > 0);
    }

    #[test]
    fn issue17_hostile_notes_refused() {
        let good = SPEC_NOTE.as_bytes();
        for (bad, why) in [
            (&b"no signatures\n"[..], "no empty line"),
            (b"text\n\n", "no signature line"),
            (b"text\n\n- example.com/foo AAAAAAA=\n", "hyphen"),
            (b"text\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "plus in name"),
            (b"text\n\n\xe2\x80\x94 a AAAA\n", "too short"),
            (b"text\n\n\xe2\x80\x94 a AAAAAAA=", "no final LF"),
            (b"te\rxt\n\n\xe2\x80\x94 a AAAAAAA=\n", "CR"),
            (b"text\xff\n\n\xe2\x80\x94 a AAAAAAA=\n", "not utf-8"),
            (b"text\n\n\xe2\x80\x94 a AAAAAAA\n", "unpadded"),
        ] {
            assert!(Note::parse(bad).is_err(), "{why}");
        }
        let mut big = good.to_vec();
        big.resize(MAX_NOTE_BYTES + 1, b'a');
        assert_eq!(Note::parse(&big), Err(NoteError::TooLarge));
        let mut many = b"t\n\n".to_vec();
        for _ in 0..=MAX_SIGNATURES {
            many.extend_from_slice("\u{2014} a AAAAAAA=\n".as_bytes());
        }
        assert_eq!(Note::parse(&many), Err(NoteError::TooManySignatures));
        for bad in [
            "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+530d903a",
            "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad}");
        }
    }
}
