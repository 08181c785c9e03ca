//! The archive: a directory of bundles with an append-only, tamper-evident log
//! (`docs/FORMAT.md`, "Archive log v1").
//!
//! ```text
//! ARCHIVE/bundles/<file>.zip          the bundles, as added
//! ARCHIVE/log/entries                 one line per bundle, append-only: the Merkle tree's leaves
//! ARCHIVE/log/checkpoints/<N>         checkpoint of the tree of the first N entries (a note)
//! ARCHIVE/log/checkpoints/<N>.minisig its minisign signature by the archive key
//! ```
//!
//! The log is a Merkle tree in the manner of Certificate Transparency ([`crate::format::merkle`]); a
//! checkpoint signs its size, root and the archive operator's time. The first checkpoint
//! that includes a bundle establishes that the bundle existed by then, which a verifier uses
//! for keys revoked later (`docs/SECURITY.md`). Inclusion and consistency proofs are
//! self-contained JSON files that anyone can check with docseal and the archive's public key.
//!
//! Everything read from an archive, a log, a checkpoint or a proof is treated as hostile:
//! sizes are bounded before reading, every field is parsed strictly and must be in the exact
//! form docseal writes.

mod add;
mod audit;
mod checkpoint;
pub mod dups;
mod entry;
mod evidence;
mod files;
mod log;
mod proof;
mod proof_read;
pub mod store_add;
mod store_common;
mod store_seq;
pub mod tiles;
pub mod v3;
pub mod v3log;
pub mod witness;

pub use add::*;
pub use audit::*;
pub use checkpoint::*;
pub use entry::*;
pub use evidence::*;
pub use files::*;
use log::*;
pub use proof::*;
pub use proof_read::is_v3_store;

use crate::format::error::Error;
use std::path::Path;

/// Directory of the bundles, under the archive.
pub const BUNDLES_DIR: &str = "bundles";
/// The log's entries file, under the archive.
pub const ENTRIES_FILE: &str = "log/entries";
/// Directory of the checkpoints, under the archive.
pub const CHECKPOINTS_DIR: &str = "log/checkpoints";
/// The lock file of `archive add` where the OS has no `flock` (not Linux); on Linux the lock
/// is an `flock` on the `log` directory, and no file is written.
pub const LOCK_FILE: &str = "log/lock";
/// Where `archive add` copies bundles before logging them (empty but while an add runs, or
/// after one was interrupted: the next add completes or rolls back what it holds).
pub const PENDING_DIR: &str = "log/pending";
/// Longest entry line (without its LF).
pub const MAX_ENTRY_LINE: usize = 2048;
/// Most entries a log may hold.
pub const MAX_ENTRIES: usize = 1 << 20;
/// The most entries a v2 log (tiles: "Archive log v2") holds: 2^40.
pub const MAX_ENTRIES_V2: u64 = 1 << 40;

/// The entry limit of this archive's log: [`MAX_ENTRIES`] for v1, [`MAX_ENTRIES_V2`] for v2.
fn max_entries(archive: &Path) -> u64 {
    if tiles::is_v2(archive).unwrap_or(false) || v3log::is_v3(archive).unwrap_or(false) {
        MAX_ENTRIES_V2
    } else {
        MAX_ENTRIES as u64
    }
}
/// Most checkpoints a log may hold: one a size, so as many as entries (before this release,
/// 100,000; readers keep none of them in memory, docs/FORMAT.md C.1).
pub const MAX_CHECKPOINTS: u64 = MAX_ENTRIES_V2;
/// Most files in `log/checkpoints/` that are not checkpoints (temporary files, strays, links)
/// an audit lists by name.
pub const MAX_OTHER_FILES: usize = 100_000;
/// Largest checkpoint note.
pub const MAX_CHECKPOINT_BYTES: u64 = 1024;
/// Largest checkpoint signature (docseal's are about 400 bytes).
pub const MAX_SIGNATURE_BYTES: u64 = 1024;
/// Largest proof file.
pub const MAX_PROOF_BYTES: u64 = 64 << 10;
/// Longest archive file name of a bundle.
pub const MAX_NAME_BYTES: usize = 255;
/// The origin line of a new archive's checkpoints: this prefix and the first key's id.
pub const ORIGIN_PREFIX: &str = "docseal-archive/";
/// `docsealProof` of an inclusion proof file.
pub const INCLUSION_PROOF: &str = "inclusion-v1";
/// `docsealProof` of a consistency proof file.
pub const CONSISTENCY_PROOF: &str = "consistency-v1";

fn invalid(what: impl std::fmt::Display, problem: impl Into<String>) -> Error {
    Error::invalid(what.to_string(), problem)
}

/// The words by which an archive error says an audit tells more (the command line puts its
/// command there: docs/ARCHITECTURE.md, library messages name no command).
pub const AUDIT_HINT: &str = "an audit of the archive gives the details";

/// How long `archive add` waits for another add on the same archive by default.
pub const DEFAULT_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Test hook (never set it in production): `DOCSEAL_TEST_ARCHIVE_CRASH=<step>` makes `archive
/// add` abort at that step, as a `kill -9` would, to test that every step is recoverable. The
/// steps, in order: `copying`, `copied`, `appending`, `appended`, `moving`, `moved`,
/// `signing`, `signed`, `noting`, `noted`.
pub const CRASH_HOOK: &str = "DOCSEAL_TEST_ARCHIVE_CRASH";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::merkle::{self, Hash};
    use crate::format::minisign::{KeyId, SecretKey};
    use crate::profile::trust::{Reason, Trust};
    use chrono::{DateTime, Utc};
    use std::collections::BTreeSet;

    fn entry() -> Entry {
        Entry {
            index: 3,
            content_sha256: "ab".repeat(32),
            file_sha256: "cd".repeat(32),
            id: format!("urn:docseal:{}", "0".repeat(32)),
            supersedes: None,
            name: "my article.zip".into(),
        }
    }

    #[test]
    fn entry_lines_round_trip_and_are_strict() {
        let e = entry();
        let line = e.line();
        assert_eq!(Entry::parse(line.as_bytes()).unwrap(), e);
        let mut s = e.clone();
        s.supersedes = Some("ef".repeat(32));
        assert_eq!(Entry::parse(s.line().as_bytes()).unwrap(), s);
        for bad in [
            line.replacen("3 ", "03 ", 1),
            line.replacen("3 ", "+3 ", 1),
            line.replacen(' ', "  ", 1),
            line.to_uppercase(),
            format!("{line} "),
            format!("{line}\r"),
            line.replace("my article.zip", "../x.zip"),
            line.replace("my article.zip", "a/b.zip"),
            line.replace("my article.zip", "x.txt"),
            line.replace("my article.zip", ".zip"),
            line.replace(" - ", " x "),
            line.replace("urn:docseal:", "urn:other:"),
            String::new(),
            "3".into(),
        ] {
            assert!(Entry::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(Entry::parse(&[0xff; 10]).is_err());
        assert!(Entry::parse(&vec![b'1'; MAX_ENTRY_LINE + 1]).is_err());
    }

    fn cp() -> Checkpoint {
        Checkpoint {
            origin: "docseal-archive/0123456789ABCDEF".into(),
            size: 7,
            root: merkle::leaf_hash(b"x"),
            time: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .unwrap()
                .with_timezone(&Utc),
            previous: 5,
        }
    }

    #[test]
    fn checkpoints_round_trip_and_are_strict() {
        let c = cp();
        let body = c.body();
        assert_eq!(Checkpoint::parse(body.as_bytes()).unwrap(), c);
        for bad in [
            body.replace("\n7\n", "\n07\n"),
            body.replace(
                "time 2026-01-02T03:04:05Z",
                "time 2026-01-02T03:04:05+00:00",
            ),
            body.replace("previous 5", "previous 7"),
            body.replace("previous 5", "previous  5"),
            body.replace("docseal-archive/", "docseal archive/"),
            body.trim_end().to_string(),
            format!("{body}\n"),
            format!("{body}extra\n"),
            body.replace('\n', "\r\n"),
            body.replace("\n7\n", "\n0\n"),
        ] {
            assert!(Checkpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        // A root whose unused base64 bits are set decodes to the same bytes: refused.
        let root_line = encode_hash(&c.root);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut noncanon = root_line.clone().into_bytes();
        let last = noncanon.len() - 2;
        let v = alphabet.iter().position(|&a| a == noncanon[last]).unwrap();
        noncanon[last] = alphabet[v ^ 1];
        let swapped = body.replace(&root_line, std::str::from_utf8(&noncanon).unwrap());
        assert!(Checkpoint::parse(swapped.as_bytes()).is_err());
    }

    #[test]
    fn checkpoint_signatures() {
        use crate::profile::trust::TrustedKey;
        let key = SecretKey::from_seed(&[9; 32], KeyId([1, 2, 3, 4, 5, 6, 7, 8]));
        let other = SecretKey::from_seed(&[8; 32], KeyId([8, 7, 6, 5, 4, 3, 2, 1]));
        let c = cp();
        let sig = c.sign(&key);
        let trust = Trust::new(vec![TrustedKey::archive(key.public_key())]);
        let body = c.body();
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &trust),
            Signer::Trusted { .. }
        ));
        // Altered body.
        let mut c2 = c.clone();
        c2.time -= chrono::Duration::days(1);
        assert!(matches!(
            check_signature(&c2, c2.body().as_bytes(), sig.as_bytes(), &trust),
            Signer::Invalid(_)
        ));
        // Another key.
        let forged = c.sign(&other);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), forged.as_bytes(), &trust),
            Signer::Untrusted(_)
        ));
        // A bundle signing key (not in the archive role) vouches for no checkpoint.
        let signer = Trust::new(vec![TrustedKey::plain(key.public_key())]);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &signer),
            Signer::Untrusted(why) if why.contains("not as an archive key")
        ));
        // Retired before the checkpoint: not counted; retired after: counted; compromised: never.
        let mut tk = TrustedKey::archive(key.public_key());
        tk.revoked = Some((c.time, Reason::Retired));
        let t = Trust::new(vec![tk.clone()]);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &t),
            Signer::Untrusted(_)
        ));
        tk.revoked = Some((c.time + chrono::Duration::seconds(1), Reason::Retired));
        let t = Trust::new(vec![tk.clone()]);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &t),
            Signer::Trusted { .. }
        ));
        tk.revoked = Some((c.time + chrono::Duration::days(9), Reason::Compromised));
        let t = Trust::new(vec![tk]);
        assert!(matches!(
            check_signature(&c, body.as_bytes(), sig.as_bytes(), &t),
            Signer::Untrusted(_)
        ));
        assert!(matches!(
            check_signature(&c, body.as_bytes(), b"garbage", &trust),
            Signer::Invalid(_)
        ));
    }

    #[test]
    fn hostile_proofs_are_refused() {
        for bad in [
            &b"{}"[..],
            b"[]",
            b"{\"docsealProof\":\"other\"}",
            b"{\"docsealProof\":\"inclusion-v1\"}",
            b"{\"docsealProof\":\"inclusion-v1\",\"entry\":\"x\",\"inclusionPath\":[],\"checkpoint\":{\"body\":\"\",\"signature\":\"\"},\"extra\":1}",
            b"{\"docsealProof\":\"inclusion-v1\",\"docsealProof\":\"inclusion-v1\",\"entry\":\"x\",\"inclusionPath\":[],\"checkpoint\":{\"body\":\"\",\"signature\":\"\"}}",
        ] {
            assert!(Proof::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(Proof::parse(&vec![b' '; MAX_PROOF_BYTES as usize + 1]).is_err());
        assert!(decode_path(&vec!["AAAA".into(); 65], 64).is_err());
        assert!(decode_path(&["AAAA".into()], 64).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = Entry::parse(&bytes);
            let _ = Checkpoint::parse(&bytes);
            let _ = Proof::parse(&bytes);
        }

        #[test]
        fn mutated_lines_and_notes_never_panic(i in 0usize..400, b in proptest::num::u8::ANY) {
            let mut line = entry().line().into_bytes();
            let at = i % line.len();
            line[at] = b;
            if let Ok(e) = Entry::parse(&line) {
                proptest::prop_assert_eq!(e.line().into_bytes(), line);
            }
            let mut body = cp().body().into_bytes();
            let at = i % body.len();
            body[at] = b;
            if let Ok(c) = Checkpoint::parse(&body) {
                proptest::prop_assert_eq!(c.body().into_bytes(), body);
            }
        }
    }

    #[test]
    fn streamed_prefix_roots_match_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("log")).unwrap();
        let lines: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
        let mut text = lines.join("\n");
        text.push_str("\ntorn");
        std::fs::write(dir.path().join(ENTRIES_FILE), text).unwrap();
        let leaves: Vec<Hash> = lines
            .iter()
            .map(|l| merkle::leaf_hash(l.as_bytes()))
            .collect();
        let sizes: BTreeSet<u64> = [0, 1, 5, 8, 20, 21].into_iter().collect();
        let mut seen = 0;
        let scan = scan_entries(dir.path(), &sizes, &mut |pos, leaf, line| {
            assert_eq!(line, lines[pos as usize].as_bytes());
            assert_eq!(*leaf, leaves[pos as usize]);
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((seen, scan.lines, scan.torn_tail), (20, 20, 4));
        for s in [1u64, 5, 8, 20] {
            assert_eq!(scan.roots[&s], merkle::root(&leaves[..s as usize]));
        }
        assert!(!scan.roots.contains_key(&21) && !scan.roots.contains_key(&0));
    }
}
