//! Archive log v2 (issue 17, "The log, scaled"; docs/FORMAT.md, "Archive log v2"), driving the
//! real binary: `archive add` lays the log out as C2SP tlog-tiles with a signed-note checkpoint
//! (and still the minisign signature); audit checks the tiles and the note; witnesses'
//! cosignatures are added with `archive cosign-checkpoint` and counted by `archive audit
//! --witness --min-witnesses`; proofs come from the tiles; v1 archives migrate; the v2 vectors
//! are recomputed.

use crate::common;

use common::synthetic::hex_sha256;
use common::{require_tool, Done, Env};
use docseal::minisign::SecretKey;
use docseal::note::{KeyKind, Note, NoteSigner, SignatureLine, VerifierKey};
use std::path::{Path, PathBuf};

const T1: &str = "2026-02-01T00:00:00Z";
const T2: &str = "2026-03-01T00:00:00Z";

fn codes(d: &Done, severity: &str) -> Vec<String> {
    assert!(!d.stdout().is_empty(), "exit {}: {}", d.code(), d.stderr());
    d.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

/// An archive `arch` of 5 bundles added in two adds (checkpoints 3 and 5).
struct Fixture {
    env: Env,
    archive_key: PathBuf,
    archive_pub: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let env = Env::new();
        let (rk, _) = env.keygen("reporter");
        let (ak, ap) = env.keygen("archive");
        std::fs::create_dir(env.path("in")).unwrap();
        for i in 0..6 {
            env.pack_text(
                &format!("story {i}\n"),
                "A thaw",
                "2026-01-01T00:00:00Z",
                &rk,
                &format!("in/s{i}.zip"),
                &[],
            );
        }
        let f = Fixture {
            env,
            archive_key: ak,
            archive_pub: ap,
        };
        f.add(&["in/s0.zip", "in/s1.zip", "in/s2.zip"], T1).ok();
        f.add(&["in/s3.zip", "in/s4.zip"], T2).ok();
        f
    }
    fn add(&self, bundles: &[&str], time: &str) -> common::Run {
        self.env
            .cmd()
            .args(["archive", "add", "arch"])
            .args(bundles)
            .args(["--time", time, "--key"])
            .arg(&self.archive_key)
    }
    fn audit(&self, extra: &[&str]) -> Done {
        self.env
            .cmd()
            .args(["archive", "audit", "arch", "--json", "--trust"])
            .arg(&self.archive_pub)
            .args(extra)
            .run()
    }
    fn arch(&self) -> PathBuf {
        self.env.path("arch")
    }
    fn note(&self) -> Note {
        Note::parse(&std::fs::read(self.arch().join("log/checkpoint")).unwrap()).unwrap()
    }
}

/// A witness key made in the test, its vkey written to `NAME.vkey`.
fn witness(env: &Env, name: &str) -> (SecretKey, PathBuf) {
    let k = SecretKey::generate();
    let vk = NoteSigner::new(name, &k)
        .unwrap()
        .verifier(KeyKind::Cosignature);
    let p = env.path(&format!("{}.vkey", name.replace('/', "_")));
    std::fs::write(&p, format!("{}\n", vk.to_vkey())).unwrap();
    (k, p)
}

fn cosign(k: &SecretKey, name: &str, text: &str, ts: u64) -> SignatureLine {
    NoteSigner::new(name, k).unwrap().cosign(text, ts).unwrap()
}

#[test]
fn issue17_v2_add_writes_tiles_and_a_signed_note_checkpoint_minisign_still_checks() {
    let f = Fixture::new();
    let a = f.arch();
    for p in [
        "log/tile/0/000.p/3",
        "log/tile/0/000.p/5",
        "log/tile/entries/000.p/3",
        "log/tile/entries/000.p/5",
        "log/checkpoint",
        "log/checkpoints/5.minisig",
    ] {
        assert!(a.join(p).is_file(), "{p}");
    }
    // The entry bundle holds log/entries' lines; the tile their leaf hashes.
    let entries = std::fs::read_to_string(a.join("log/entries")).unwrap();
    let bundle = std::fs::read(a.join("log/tile/entries/000.p/5")).unwrap();
    let id = docseal::tlog::TileId::parse("tile/entries/000.p/5").unwrap();
    let got = docseal::tlog::parse_entry_bundle(&id, &bundle, 2048).unwrap();
    let want: Vec<Vec<u8>> = entries.lines().map(|l| l.as_bytes().to_vec()).collect();
    assert_eq!(got, want);
    let tile = std::fs::read(a.join("log/tile/0/000.p/5")).unwrap();
    let leaves: Vec<u8> = want
        .iter()
        .flat_map(|l| docseal::log::leaf_hash(l).to_vec())
        .collect();
    assert_eq!(tile, leaves);
    // log/checkpoint: checkpoint 5's body, signed (Ed25519 note signature) by the archive key.
    let note = f.note();
    let body = std::fs::read_to_string(a.join("log/checkpoints/5")).unwrap();
    assert_eq!(note.text, body);
    let key = common::secret_key(&f.archive_key);
    let origin = body.lines().next().unwrap();
    let vk = VerifierKey::new(origin, KeyKind::Ed25519, *key.public_key().verifying_key()).unwrap();
    assert_eq!(note.signatures.len(), 1);
    assert_eq!(vk.verify(&note.text, &note.signatures[0]), Ok(None));
    // The minisign signature beside it still checks with minisign itself.
    if require_tool("minisign") {
        let out = std::process::Command::new("minisign")
            .arg("-Vm")
            .arg(a.join("log/checkpoints/5"))
            .arg("-p")
            .arg(&f.archive_pub)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let d = f.audit(&[]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
}

#[test]
fn issue17_v2_audit_catches_tampered_or_missing_tiles_and_a_forged_checkpoint_note() {
    let f = Fixture::new();
    let a = f.arch();
    type Tamper = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Tamper, &str)> = vec![
        (
            "tile byte flipped",
            Box::new(|a: &Path| {
                let p = a.join("log/tile/0/000.p/5");
                let mut b = std::fs::read(&p).unwrap();
                b[40] ^= 1;
                std::fs::write(&p, b).unwrap();
            }),
            "log.tiles_invalid",
        ),
        (
            "entry bundle removed",
            Box::new(|a: &Path| std::fs::remove_file(a.join("log/tile/entries/000.p/5")).unwrap()),
            "log.tiles_invalid",
        ),
        (
            "entry bundle rewritten",
            Box::new(|a: &Path| {
                let p = a.join("log/tile/entries/000.p/5");
                let mut b = std::fs::read(&p).unwrap();
                let n = b.len();
                b[n - 3] ^= 1;
                std::fs::write(&p, b).unwrap();
            }),
            "log.tiles_invalid",
        ),
        (
            "tile directory swapped for a symbolic link to the same tiles",
            Box::new(|a: &Path| {
                std::fs::rename(a.join("log/tile/0"), a.join("elsewhere")).unwrap();
                std::os::unix::fs::symlink(a.join("elsewhere"), a.join("log/tile/0")).unwrap();
            }),
            "log.tiles_invalid",
        ),
        (
            "checkpoint note altered",
            Box::new(|a: &Path| {
                let p = a.join("log/checkpoint");
                let s = std::fs::read_to_string(&p)
                    .unwrap()
                    .replace("\n5\n", "\n6\n");
                std::fs::write(&p, s).unwrap();
            }),
            "log.checkpoint_invalid",
        ),
        (
            "checkpoint note signed by another key",
            Box::new(|a: &Path| {
                let p = a.join("log/checkpoint");
                let n = Note::parse(&std::fs::read(&p).unwrap()).unwrap();
                let other = SecretKey::generate();
                let origin = n.text.lines().next().unwrap().to_string();
                let forged = Note {
                    signatures: vec![NoteSigner::new(&origin, &other).unwrap().sign(&n.text)],
                    text: n.text,
                };
                std::fs::write(&p, forged.to_bytes()).unwrap();
            }),
            "log.checkpoint_invalid",
        ),
    ];
    let pristine = f.env.path("pristine");
    copy_dir(&a, &pristine);
    for (what, tamper, code) in cases {
        std::fs::remove_dir_all(&a).unwrap();
        copy_dir(&pristine, &a);
        tamper(&a);
        let d = f.audit(&[]);
        assert_eq!(d.code(), 1, "{what}: {}", d.stdout());
        assert!(
            codes(&d, "error").contains(&code.to_string()),
            "{what}: {}",
            d.stdout()
        );
    }
    // An older checkpoint at log/checkpoint (an add killed after its note): a warning only.
    std::fs::remove_dir_all(&a).unwrap();
    copy_dir(&pristine, &a);
    let key = common::secret_key(&f.archive_key);
    let body3 = std::fs::read_to_string(a.join("log/checkpoints/3")).unwrap();
    let origin = body3.lines().next().unwrap().to_string();
    let old = Note {
        signatures: vec![NoteSigner::new(&origin, &key).unwrap().sign(&body3)],
        text: body3,
    };
    std::fs::write(a.join("log/checkpoint"), old.to_bytes()).unwrap();
    let d = f.audit(&[]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    assert_eq!(codes(&d, "warning"), vec!["log.interrupted"]);
    // ... which the next add replaces.
    f.add(&["in/s5.zip"], T2).ok();
    let d = f.audit(&[]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    assert!(codes(&d, "warning").is_empty(), "{}", d.stdout());
    assert!(f.note().text.contains("\n6\n"));
}

#[test]
fn issue17_witness_cosignatures_added_and_counted() {
    let f = Fixture::new();
    let (w1, v1) = witness(&f.env, "witness.example/w1");
    let (w2, v2) = witness(&f.env, "witness.example/w2");
    let text = f.note().text;
    // No cosignature yet: quorum not met.
    let d = f.audit(&["--witness", v1.to_str().unwrap()]);
    assert_eq!(d.code(), 1, "{}", d.stderr());
    assert_eq!(codes(&d, "error"), vec!["log.witness_quorum"]);
    // The lines a witness returns, alone.
    let line = cosign(&w1, "witness.example/w1", &text, 1_780_000_000);
    std::fs::write(f.env.path("w1.sig"), line.to_line()).unwrap();
    let out = f
        .env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "w1.sig"])
        .ok()
        .stdout();
    assert!(out.contains("checkpoint 5: 1 new"), "{out}");
    // Kept in log/cosignatures/5 and carried by log/checkpoint.
    let n = f.note();
    assert_eq!(n.signatures.len(), 2);
    assert_eq!(n.signatures[1], line);
    assert_eq!(
        std::fs::read_to_string(f.arch().join("log/cosignatures/5")).unwrap(),
        line.to_line()
    );
    // The vkey given as is, and as a file.
    let vkey1 = std::fs::read_to_string(&v1).unwrap().trim().to_string();
    for w in [vkey1.as_str(), v1.to_str().unwrap()] {
        let d = f.audit(&["--witness", w]);
        assert_eq!(d.code(), 0, "{}", d.stdout());
    }
    // Two witnesses required, one cosigned.
    let d = f.audit(&[
        "--witness",
        v1.to_str().unwrap(),
        "--witness",
        v2.to_str().unwrap(),
    ]);
    assert_eq!(codes(&d, "error"), vec!["log.witness_quorum"]);
    let d = f.audit(&[
        "--witness",
        v1.to_str().unwrap(),
        "--witness",
        v2.to_str().unwrap(),
        "--min-witnesses",
        "1",
    ]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    // Duplicated witness: w1 cosigning again counts once; the same key given twice counts once.
    let again = cosign(&w1, "witness.example/w1", &text, 1_780_000_100);
    std::fs::write(f.env.path("again.sig"), again.to_line()).unwrap();
    f.env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "again.sig"])
        .ok();
    let d = f.audit(&[
        "--witness",
        v1.to_str().unwrap(),
        "--witness",
        v2.to_str().unwrap(),
    ]);
    assert_eq!(
        codes(&d, "error"),
        vec!["log.witness_quorum"],
        "{}",
        d.stdout()
    );
    let d = f
        .env
        .cmd()
        .args(["archive", "audit", "arch", "--json", "--trust"])
        .arg(&f.archive_pub)
        .args(["--witness", v1.to_str().unwrap(), "--witness", &vkey1])
        .args(["--min-witnesses", "2"])
        .run();
    assert_eq!(
        d.code(),
        2,
        "the same key twice is one witness: {}",
        d.stderr()
    );
    // Hostile: w2's name and key id on a signature by another key (wrong key).
    let mut forged = cosign(&w1, "witness.example/w2", &text, 1_780_000_000);
    forged.key_id = NoteSigner::new("witness.example/w2", &w2)
        .unwrap()
        .verifier(KeyKind::Cosignature)
        .key_id;
    std::fs::write(f.env.path("forged.sig"), forged.to_line()).unwrap();
    f.env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "forged.sig"])
        .ok();
    let d = f.audit(&[
        "--witness",
        v1.to_str().unwrap(),
        "--witness",
        v2.to_str().unwrap(),
    ]);
    let errs = codes(&d, "error");
    assert!(
        errs.contains(&"log.cosignature_invalid".to_string()),
        "{errs:?}"
    );
    assert!(errs.contains(&"log.witness_quorum".to_string()), "{errs:?}");
    // Hostile: a cosignature of another checkpoint (3) offered for the latest (5).
    let body3 = std::fs::read_to_string(f.arch().join("log/checkpoints/3")).unwrap();
    let f2 = Fixture::new();
    let wrong = cosign(&w2, "witness.example/w2", &body3, 1_780_000_000);
    std::fs::write(f2.env.path("wrong.sig"), wrong.to_line()).unwrap();
    f2.env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "wrong.sig"])
        .ok();
    let v2b = f2.env.path("w2.vkey");
    std::fs::copy(&v2, &v2b).unwrap();
    let d = f2.audit(&["--witness", v2b.to_str().unwrap()]);
    let errs = codes(&d, "error");
    assert!(
        errs.contains(&"log.cosignature_invalid".to_string()),
        "{errs:?}"
    );
    assert!(errs.contains(&"log.witness_quorum".to_string()), "{errs:?}");
    // The whole cosigned note as the witness's answer: for the checkpoint its text names.
    let f3 = Fixture::new();
    let mut n = f3.note();
    n.signatures
        .push(cosign(&w2, "witness.example/w2", &n.text, 1_780_000_000));
    std::fs::write(f3.env.path("note.sig"), n.to_bytes()).unwrap();
    f3.env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "note.sig"])
        .ok();
    std::fs::copy(&v2, f3.env.path("w2.vkey")).unwrap();
    let d = f3.audit(&["--witness", f3.env.path("w2.vkey").to_str().unwrap()]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    // A note that is not one of the archive's checkpoints is refused, nothing written.
    let mut alien = Note::new("docseal-archive/0000000000000000\n5\nAAAA\n").unwrap();
    alien
        .signatures
        .push(cosign(&w2, "witness.example/w2", &alien.text, 1));
    std::fs::write(f3.env.path("alien.sig"), alien.to_bytes()).unwrap();
    let before = std::fs::read(f3.arch().join("log/cosignatures/5")).unwrap();
    let d = f3
        .env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "alien.sig"])
        .fails(2);
    assert!(d.stderr().contains("signature file"), "{}", d.stderr());
    assert_eq!(
        std::fs::read(f3.arch().join("log/cosignatures/5")).unwrap(),
        before
    );
    // Garbage is refused with one line.
    std::fs::write(f3.env.path("junk.sig"), "not a signature\n").unwrap();
    f3.env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "junk.sig"])
        .fails(2);
    // A checkpoint key is not a witness key (type 0x01).
    let key = common::secret_key(&f3.archive_key);
    let origin = n.text.lines().next().unwrap();
    let vk = VerifierKey::new(origin, KeyKind::Ed25519, *key.public_key().verifying_key()).unwrap();
    let d = f3
        .env
        .cmd()
        .args(["archive", "audit", "arch", "--trust"])
        .arg(&f3.archive_pub)
        .args(["--witness", &vk.to_vkey()])
        .run();
    assert_eq!(d.code(), 2, "{}", d.stderr());
}

/// The latest checkpoint's time in [`Fixture`] (`T2`), in POSIX seconds.
const T2_SECS: u64 = 1_772_323_200;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `archive cosign-checkpoint arch FILE` with `extra` arguments.
fn cosign_cmd(f: &Fixture, file: &str, extra: &[&str]) -> common::Run {
    f.env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", file])
        .args(extra)
}

#[test]
fn issue17_cosign_checkpoint_with_witness_refuses_a_line_that_does_not_verify() {
    let f = Fixture::new();
    let (w1, v1) = witness(&f.env, "witness.example/w1");
    let (_, v2) = witness(&f.env, "witness.example/w2");
    let v1 = v1.to_str().unwrap();
    let text = f.note().text;
    let good = cosign(&w1, "witness.example/w1", &text, T2_SECS + 60);
    // w1's name and key id over a signature of another text: it does not verify.
    let bad = cosign(
        &w1,
        "witness.example/w1",
        &text.replace('5', "6"),
        T2_SECS + 60,
    );
    std::fs::write(
        f.env.path("mixed.sig"),
        format!("{}{}", good.to_line(), bad.to_line()),
    )
    .unwrap();
    let d = cosign_cmd(&f, "mixed.sig", &["--witness", v1]).fails(1);
    let err = d.stderr();
    assert!(
        err.contains("mixed.sig") && err.contains("line 2 (witness.example/w1)"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // Nothing was added, not even the good line.
    assert!(!f.arch().join("log/cosignatures/5").exists());
    assert_eq!(f.note().signatures.len(), 1);
    // --allow-unverified never lets a bad line of a given witness through.
    cosign_cmd(&f, "mixed.sig", &["--witness", v1, "--allow-unverified"]).fails(1);
    // The good line alone, checked: added, and counted by the audit.
    std::fs::write(f.env.path("good.sig"), good.to_line()).unwrap();
    let d = cosign_cmd(
        &f,
        "good.sig",
        &["--witness", v1, "--witness", v2.to_str().unwrap()],
    )
    .ok();
    assert!(d.stdout().contains("1 new"), "{}", d.stdout());
    assert!(!d.stderr().contains("not verified"), "{}", d.stderr());
    assert_eq!(f.audit(&["--witness", v1]).code(), 0);
    // A whole cosigned note names the line by its line in the file (after text + empty line).
    let mut n = f.note();
    n.signatures.push(bad.clone());
    std::fs::write(f.env.path("note.sig"), n.to_bytes()).unwrap();
    let d = cosign_cmd(&f, "note.sig", &["--witness", v1]).fails(1);
    let at = n.text.lines().count() + 1 + n.signatures.len();
    assert!(
        d.stderr()
            .contains(&format!("line {at} (witness.example/w1)")),
        "{}",
        d.stderr()
    );
}

#[test]
fn issue17_cosign_checkpoint_with_witness_refuses_other_witnesses_unless_allowed() {
    let f = Fixture::new();
    let (w1, v1) = witness(&f.env, "witness.example/w1");
    let (w2, _) = witness(&f.env, "witness.example/w2");
    let v1 = v1.to_str().unwrap();
    let text = f.note().text;
    let l1 = cosign(&w1, "witness.example/w1", &text, T2_SECS + 60);
    let l2 = cosign(&w2, "witness.example/w2", &text, T2_SECS + 60);
    std::fs::write(
        f.env.path("two.sig"),
        format!("{}{}", l1.to_line(), l2.to_line()),
    )
    .unwrap();
    let d = cosign_cmd(&f, "two.sig", &["--witness", v1]).fails(1);
    assert!(
        d.stderr().contains("line 2 (witness.example/w2)"),
        "{}",
        d.stderr()
    );
    assert!(!f.arch().join("log/cosignatures/5").exists());
    let d = cosign_cmd(&f, "two.sig", &["--witness", v1, "--allow-unverified"]).ok();
    assert!(d.stdout().contains("2 new"), "{}", d.stdout());
    assert!(
        d.stderr().contains("1 cosignature line(s) not verified"),
        "{}",
        d.stderr()
    );
    // --allow-unverified means nothing without --witness (usage error).
    cosign_cmd(&f, "two.sig", &["--allow-unverified"]).fails(2);
}

#[test]
fn issue17_cosign_checkpoint_without_witness_adds_unchecked_and_says_so() {
    // The issue's command line, unchanged: no witness key to check with, so the lines are added
    // on their form alone (docs/FORMAT.md B.3) and stderr says how many were not verified.
    let f = Fixture::new();
    let (w1, _) = witness(&f.env, "witness.example/w1");
    let text = f.note().text;
    let early = cosign(&w1, "witness.example/w1", &text, T2_SECS - 1);
    std::fs::write(f.env.path("w.sig"), early.to_line()).unwrap();
    let d = cosign_cmd(&f, "w.sig", &[]).ok();
    assert!(d.stdout().contains("1 new"), "{}", d.stdout());
    assert!(
        d.stderr().contains("1 cosignature line(s) not verified"),
        "{}",
        d.stderr()
    );
    assert!(f.arch().join("log/cosignatures/5").exists());
}

#[test]
fn issue17_cosignature_timestamped_before_its_checkpoint_is_refused() {
    let f = Fixture::new();
    let (w1, v1) = witness(&f.env, "witness.example/w1");
    let v1 = v1.to_str().unwrap();
    let text = f.note().text;
    // Over ten minutes before the checkpoint's time (T2): a witness cannot have seen it yet
    // (ten minutes are allowed for clocks that differ).
    let early = cosign(&w1, "witness.example/w1", &text, T2_SECS - 601);
    std::fs::write(f.env.path("early.sig"), early.to_line()).unwrap();
    let d = cosign_cmd(&f, "early.sig", &["--witness", v1]).fails(1);
    assert!(
        d.stderr()
            .contains("more than 10 minutes before the checkpoint's time 2026-03-01T00:00:00Z"),
        "{}",
        d.stderr()
    );
    assert!(!f.arch().join("log/cosignatures/5").exists());
    // Added unchecked (no --witness), the audit with the witness key refuses it.
    cosign_cmd(&f, "early.sig", &[]).ok();
    let d = f.audit(&["--witness", v1]);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    let mut errs = codes(&d, "error");
    errs.sort();
    assert_eq!(errs, vec!["log.cosignature_invalid", "log.witness_quorum"]);
    let found = d.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "log.cosignature_invalid")
        .unwrap()
        .clone();
    assert!(
        found["message"].as_str().unwrap().contains(
            "timestamped 2026-02-28T23:49:59Z, more than 10 minutes before the checkpoint's time"
        ),
        "{found}"
    );
    // Ten minutes before the checkpoint's time (a witness's clock behind the archive's) counts.
    let on_time = cosign(&w1, "witness.example/w1", &text, T2_SECS - 600);
    std::fs::write(f.env.path("on.sig"), on_time.to_line()).unwrap();
    cosign_cmd(&f, "on.sig", &["--witness", v1]).ok();
    let d = f.audit(&["--witness", v1]);
    assert_eq!(
        codes(&d, "error"),
        vec!["log.cosignature_invalid"],
        "{}",
        d.stdout()
    );
}

#[test]
fn issue17_cosignature_timestamped_over_ten_minutes_ahead_is_refused() {
    let f = Fixture::new();
    let (w1, v1) = witness(&f.env, "witness.example/w1");
    let v1 = v1.to_str().unwrap();
    let text = f.note().text;
    let ahead = cosign(&w1, "witness.example/w1", &text, now_secs() + 3600);
    std::fs::write(f.env.path("ahead.sig"), ahead.to_line()).unwrap();
    let d = cosign_cmd(&f, "ahead.sig", &["--witness", v1]).fails(1);
    assert!(
        d.stderr().contains("more than 10 minutes after this clock"),
        "{}",
        d.stderr()
    );
    cosign_cmd(&f, "ahead.sig", &[]).ok();
    let d = f.audit(&["--witness", v1]);
    let mut errs = codes(&d, "error");
    errs.sort();
    assert_eq!(errs, vec!["log.cosignature_invalid", "log.witness_quorum"]);
    // Five minutes ahead is within the allowed skew: counted.
    let f = Fixture::new();
    let (w1, v1) = witness(&f.env, "witness.example/w1");
    let v1 = v1.to_str().unwrap();
    let soon = cosign(&w1, "witness.example/w1", &f.note().text, now_secs() + 300);
    std::fs::write(f.env.path("soon.sig"), soon.to_line()).unwrap();
    cosign_cmd(&f, "soon.sig", &["--witness", v1]).ok();
    assert_eq!(f.audit(&["--witness", v1]).code(), 0);
}

#[test]
fn issue17_audit_reports_tile_and_cosignature_dirs_writable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let (w1, v1) = witness(&f.env, "witness.example/w1");
    let line = cosign(&w1, "witness.example/w1", &f.note().text, T2_SECS + 1);
    std::fs::write(f.env.path("w.sig"), line.to_line()).unwrap();
    cosign_cmd(&f, "w.sig", &["--witness", v1.to_str().unwrap()]).ok();
    let d = f.audit(&[]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    let writable = |d: &Done| -> Vec<String> {
        let mut v: Vec<String> = d.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["code"] == "archive.writable_by_others")
            .map(|x| x["path"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    for rel in [
        "log/tile",
        "log/tile/0",
        "log/tile/0/000.p",
        "log/tile/entries/000.p",
        "log/cosignatures",
    ] {
        let p = f.arch().join(rel);
        let old = std::fs::metadata(&p).unwrap().permissions().mode();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
        let d = f.audit(&[]);
        assert_eq!(d.code(), 1, "{rel}: {}", d.stdout());
        assert_eq!(writable(&d), vec![rel.to_string()], "{}", d.stdout());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(old)).unwrap();
    }
}

#[test]
fn issue17_proofs_from_tiles_are_the_v1_proofs_byte_for_byte() {
    let f = Fixture::new();
    let v1 = f.env.path("v1");
    copy_dir(&f.arch(), &v1);
    std::fs::remove_dir_all(v1.join("log/tile")).unwrap();
    for (arch, tag) in [("arch", "v2"), ("v1", "v1")] {
        f.env
            .cmd()
            .args([
                "archive",
                "prove",
                arch,
                "s1.zip",
                "--checkpoint",
                "3",
                "--out",
            ])
            .arg(format!("inc-{tag}.json"))
            .ok();
        f.env
            .cmd()
            .args(["archive", "prove-consistency", arch, "--from", "3", "--out"])
            .arg(format!("con-{tag}.json"))
            .ok();
    }
    for p in ["inc", "con"] {
        let a = std::fs::read(f.env.path(&format!("{p}-v2.json"))).unwrap();
        let b = std::fs::read(f.env.path(&format!("{p}-v1.json"))).unwrap();
        assert_eq!(a, b, "{p}");
        f.env
            .cmd()
            .args(["archive", "check-proof"])
            .arg(format!("{p}-v2.json"))
            .arg("--trust")
            .arg(&f.archive_pub)
            .ok();
    }
    // A tampered tile makes prove refuse rather than write a wrong proof.
    let p = f.arch().join("log/tile/0/000.p/5");
    let mut b = std::fs::read(&p).unwrap();
    b[0] ^= 1;
    std::fs::write(&p, b).unwrap();
    f.env
        .cmd()
        .args(["archive", "prove", "arch", "s1.zip", "--out", "bad.json"])
        .fails(2);
    assert!(!f.env.path("bad.json").exists());
}

#[test]
fn issue17_add_killed_while_writing_tiles_or_the_note_then_add_succeeds() {
    for step in ["tiled", "signed", "noted", "published"] {
        let f = Fixture::new();
        let d = f
            .add(&["in/s5.zip"], T2)
            .env("DOCSEAL_TEST_ARCHIVE_CRASH", step)
            .run();
        assert_eq!(d.code(), -1, "{step}: killed by a signal\n{}", d.stderr());
        let d = f.audit(&[]);
        assert_eq!(d.code(), 0, "{step}: {}", d.stdout());
        // Another add completes what was left and goes on.
        let (rk, _) = (f.env.path("reporter.key"), ());
        f.env.pack_text(
            "later\n",
            "A thaw",
            "2026-01-01T00:00:00Z",
            &rk,
            "in/s6.zip",
            &[],
        );
        f.add(&["in/s6.zip"], T2).ok();
        let d = f.audit(&[]);
        assert_eq!(d.code(), 0, "{step}: {}", d.stdout());
        assert!(codes(&d, "warning").is_empty(), "{step}: {}", d.stdout());
        assert_eq!(f.note().text.lines().nth(1), Some("7"), "{step}");
    }
}

#[test]
fn issue17_v1_archive_stays_v1_until_migrate_then_extends_as_v2() {
    let f = Fixture::new();
    // Make it v1: what the released docseal wrote.
    let a = f.arch();
    std::fs::remove_dir_all(a.join("log/tile")).unwrap();
    std::fs::remove_file(a.join("log/checkpoint")).unwrap();
    f.add(&["in/s5.zip"], T2).ok();
    assert!(!a.join("log/tile").exists() && !a.join("log/checkpoint").exists());
    // Witnesses need a v2 log.
    let (_, v1) = witness(&f.env, "witness.example/w1");
    let d = f.audit(&["--witness", v1.to_str().unwrap()]);
    assert_eq!(codes(&d, "error"), vec!["log.witness_quorum"]);
    // Migrate: needs the archive's key.
    let (other, _) = f.env.keygen("other");
    let d = f
        .env
        .cmd()
        .args(["archive", "migrate", "arch", "--key"])
        .arg(&other)
        .fails(2);
    assert!(
        d.stderr().contains("no checkpoint signed by this key"),
        "{}",
        d.stderr()
    );
    assert!(!a.join("log/tile").exists());
    let before_entries = std::fs::read(a.join("log/entries")).unwrap();
    f.env
        .cmd()
        .args(["archive", "migrate", "arch", "--key"])
        .arg(&f.archive_key)
        .ok();
    assert_eq!(
        std::fs::read(a.join("log/entries")).unwrap(),
        before_entries
    );
    // Partial tiles at every checkpoint's size, as adds would have written them.
    for p in [
        "log/tile/0/000.p/3",
        "log/tile/0/000.p/5",
        "log/tile/0/000.p/6",
    ] {
        assert!(a.join(p).is_file(), "{p}");
    }
    let d = f.audit(&[]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    f.env
        .cmd()
        .args(["archive", "migrate", "arch", "--key"])
        .arg(&f.archive_key)
        .fails(2);
    let (rk, _) = (f.env.path("reporter.key"), ());
    f.env.pack_text(
        "later\n",
        "A thaw",
        "2026-01-01T00:00:00Z",
        &rk,
        "in/s6.zip",
        &[],
    );
    f.add(&["in/s6.zip"], T2).ok();
    assert!(a.join("log/tile/0/000.p/7").is_file());
    let d = f.audit(&[]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
}

// ---------------------------------------------------------------------------------------------
// Test vectors (docs/FORMAT.md, "Archive log v2", B.6)
// ---------------------------------------------------------------------------------------------

mod vectors {
    use super::*;
    use docseal::minisign::KeyId;
    use sha2::{Digest, Sha256};

    fn v1_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/log-v1")
    }
    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/log-v2")
    }

    /// The v1 vector's archive key (docs/FORMAT.md A.7).
    fn archive_key() -> SecretKey {
        let seed: [u8; 32] = Sha256::digest(b"docseal archive test vector key 1").into();
        let id: [u8; 32] = Sha256::digest(b"docseal archive test vector key id 1").into();
        SecretKey::from_seed(&seed, KeyId(id[..8].try_into().unwrap()))
    }

    /// The witness vector key: seed = SHA-256("docseal witness test vector key 1").
    fn witness_key() -> SecretKey {
        let seed: [u8; 32] = Sha256::digest(b"docseal witness test vector key 1").into();
        SecretKey::from_seed(&seed, KeyId([0; 8]))
    }

    const WITNESS: &str = "witness.example/w1";
    const WITNESS_TIME: u64 = 1_767_225_600;

    /// The v2 vector as the current code makes it: the v1 vector archive migrated, then
    /// cosigned by the witness vector key.
    fn make(env: &Env) -> PathBuf {
        let arch = env.path("archive");
        copy_dir(&v1_dir().join("archive"), &arch);
        let key = env.path("vector.key");
        std::fs::write(&key, archive_key().to_file_string(None).unwrap().as_bytes()).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        env.cmd()
            .args(["archive", "migrate"])
            .arg(&arch)
            .arg("--key")
            .arg(&key)
            .ok();
        let text = std::fs::read_to_string(arch.join("log/checkpoints/3")).unwrap();
        let line = cosign(&witness_key(), WITNESS, &text, WITNESS_TIME);
        std::fs::write(env.path("w.sig"), line.to_line()).unwrap();
        env.cmd()
            .args(["archive", "cosign-checkpoint"])
            .arg(&arch)
            .arg(env.path("w.sig"))
            .ok();
        std::fs::write(
            env.path("witness.vkey"),
            format!(
                "{}\n",
                NoteSigner::new(WITNESS, &witness_key())
                    .unwrap()
                    .verifier(KeyKind::Cosignature)
                    .to_vkey()
            ),
        )
        .unwrap();
        let origin = text.lines().next().unwrap().to_string();
        std::fs::write(
            env.path("archive.vkey"),
            format!(
                "{}\n",
                NoteSigner::new(&origin, &archive_key())
                    .unwrap()
                    .verifier(KeyKind::Ed25519)
                    .to_vkey()
            ),
        )
        .unwrap();
        arch
    }

    fn files_under(root: &Path, rel: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(root.join(rel)).unwrap() {
            let e = e.unwrap();
            let r = format!("{rel}/{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                files_under(root, &r, out);
            } else {
                out.push(r);
            }
        }
    }

    #[test]
    fn issue17_log_v2_vectors_are_reproduced_and_check_out() {
        let env = Env::new();
        let arch = make(&env);
        let mut made = Vec::new();
        files_under(env.dir.path(), "archive", &mut made);
        made.push("witness.vkey".into());
        made.push("archive.vkey".into());
        made.sort();
        let write = std::env::var_os("DOCSEAL_WRITE_VECTORS").is_some();
        for name in &made {
            let bytes = std::fs::read(env.dir.path().join(name)).unwrap();
            let p = dir().join(name);
            if write && !p.exists() {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, &bytes).unwrap();
            }
            let got = std::fs::read(&p).unwrap_or_else(|e| {
                panic!("{}: {e} (DOCSEAL_WRITE_VECTORS=1 makes it)", p.display())
            });
            assert_eq!(got, bytes, "{name} is not what the current code makes");
        }
        // Nothing in the committed vector that the code does not make.
        let mut committed = Vec::new();
        files_under(&dir(), "archive", &mut committed);
        committed.sort();
        let made_archive: Vec<&String> =
            made.iter().filter(|m| m.starts_with("archive/")).collect();
        assert_eq!(committed.iter().collect::<Vec<_>>(), made_archive);
        // The v1 files are the v1 vector's, byte for byte.
        for f in [
            "log/entries",
            "log/checkpoints/1",
            "log/checkpoints/3.minisig",
        ] {
            assert_eq!(
                std::fs::read(dir().join("archive").join(f)).unwrap(),
                std::fs::read(v1_dir().join("archive").join(f)).unwrap(),
                "{f}"
            );
        }
        // The note and the cosignature verify with the published vkeys alone.
        let note =
            Note::parse(&std::fs::read(dir().join("archive/log/checkpoint")).unwrap()).unwrap();
        let av = VerifierKey::parse(
            std::fs::read_to_string(dir().join("archive.vkey"))
                .unwrap()
                .trim(),
        )
        .unwrap();
        let wv = VerifierKey::parse(
            std::fs::read_to_string(dir().join("witness.vkey"))
                .unwrap()
                .trim(),
        )
        .unwrap();
        assert_eq!(av.verify(&note.text, &note.signatures[0]), Ok(None));
        assert_eq!(
            wv.verify(&note.text, &note.signatures[1]),
            Ok(Some(WITNESS_TIME))
        );
        // Proofs from the v2 vector's tiles are the v1 vector's proofs.
        env.cmd()
            .args(["archive", "prove"])
            .arg(dir().join("archive"))
            .arg(docseal::metadata::hex(&Sha256::digest(b"content 1")))
            .args(["--out", "i.json"])
            .ok();
        assert_eq!(
            std::fs::read(env.path("i.json")).unwrap(),
            std::fs::read(v1_dir().join("inclusion-1-at-3.json")).unwrap()
        );
        env.cmd()
            .args(["archive", "prove-consistency"])
            .arg(dir().join("archive"))
            .args(["--from", "1", "--out", "c.json"])
            .ok();
        assert_eq!(
            std::fs::read(env.path("c.json")).unwrap(),
            std::fs::read(v1_dir().join("consistency-1-to-3.json")).unwrap()
        );
        let _ = arch;
    }
}

// ---------------------------------------------------------------------------------------------
// Scale: audit of a synthetic v2 log in bounded memory (issue 17, "Audit streams")
// ---------------------------------------------------------------------------------------------

/// Peak RSS (KiB), wall seconds, exit code and stdout of `BIN ARGS`, with `/usr/bin/time`.
fn measure(env: &Env, bin: &Path, args: &[&str]) -> (u64, f64, i32, String) {
    let m = common::measure(env.dir.path(), bin, args);
    (m.kib, m.secs, m.code, m.stdout)
}

/// A synthetic v2 log of `n` entries (migrated from v1), audited; and an inclusion proof
/// from its tiles. Returns (audit peak RSS KiB, audit seconds, prove peak RSS KiB).
fn audit_synthetic(env: &Env, bin: &Path, n: u64) -> (u64, f64, u64) {
    let (k, p) = env.keygen("archive");
    let direct = n > 1 << 20;
    // DOCSEAL_BENCH_EVERY=K: a checkpoint every K entries (and n), as many adds of K bundles
    // make (K = n / 100,000: the most checkpoints a log holds).
    let sizes: Vec<u64> = match std::env::var("DOCSEAL_BENCH_EVERY")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(k) => (k..n).step_by(k as usize).chain([n]).collect(),
        None => vec![1000, n - 1, n],
    };
    common::synthetic::synthetic_log(&env.path("big"), n, &sizes, &common::secret_key(&k), direct);
    let k = k.display().to_string();
    let p = p.display().to_string();
    if !direct {
        let (_, _, code, _) = measure(env, bin, &["archive", "migrate", "big", "--key", &k]);
        assert_eq!(code, 0);
    }
    assert!(env.path("big/log/checkpoint").is_file());
    let (kib, secs, code, out) = measure(
        env,
        bin,
        &["archive", "audit", "big", "--trust", &p, "--json"],
    );
    // Every bundle is missing (synthetic entries): that is the only kind of error.
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["entries"], n);
    let errs: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        errs.into_iter().collect::<Vec<_>>(),
        vec!["archive.bundle_removed"]
    );
    let digest = hex_sha256(format!("content {}", n / 3).as_bytes());
    let (pkib, _, code, _) = measure(
        env,
        bin,
        &["archive", "prove", "big", &digest, "--out", "p.json"],
    );
    assert_eq!(code, 0);
    env.cmd()
        .args(["archive", "check-proof", "p.json", "--trust", &p])
        .ok();
    // Reads per proof through the Store (as on object storage): a few tiles per level.
    let store = docseal::store::LocalStore::new(&env.path("big"));
    let mut worst = 0;
    for i in [0, 1, n / 3, n / 2, n - 2, n - 1] {
        let mut fresh =
            docseal::tlog::Tiles::new(docseal::archive::tiles::StoreTiles::new(&store), n);
        let path = fresh.inclusion_proof(i, n).unwrap();
        worst = worst.max(fresh.reads());
        if i == n / 3 {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(env.path("p.json")).unwrap()).unwrap();
            let want: Vec<String> = v["inclusionPath"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            use base64::Engine;
            let got: Vec<String> = path
                .iter()
                .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
                .collect();
            assert_eq!(got, want);
        }
    }
    let mut c = docseal::tlog::Tiles::new(docseal::archive::tiles::StoreTiles::new(&store), n);
    c.consistency_proof(1000, n).unwrap();
    let levels = (64 - n.leading_zeros()).div_ceil(8) as u64;
    eprintln!(
        "entries {n}: {worst} Store reads for the worst inclusion proof, {} for consistency 1000 -> {n} ({levels} tile levels)",
        c.reads()
    );
    assert!(worst <= 3 * levels, "{worst} reads");
    assert!(c.reads() <= 3 * levels, "{} reads", c.reads());
    // An add to the big log: memory proportional to what is added, not to the log.
    let (rk, _) = env.keygen("reporter");
    env.pack_text(
        "one more\n",
        "A thaw",
        "2026-01-01T00:00:00Z",
        &rk,
        "s.zip",
        &[],
    );
    let (akib, _, code, _) = measure(
        env,
        bin,
        &[
            "archive",
            "add",
            "big",
            "s.zip",
            "--key",
            &k,
            "--time",
            "2027-01-01",
        ],
    );
    assert!(akib < 64 * 1024, "add: peak RSS {akib} KiB");
    // However many checkpoints the log holds (before this release, one with 100,000 took no
    // more adds).
    assert_eq!(code, 0);
    let w = (n + 1) % 256;
    assert!(env
        .path(&format!(
            "big/log/tile/entries/{}.p/{w}",
            docseal::tlog::index_path((n + 1) / 256)
        ))
        .is_file());
    (kib, secs, pkib)
}

#[test]
fn issue17_audit_of_a_million_entry_v2_log_stays_under_64_mib() {
    if !require_tool("/usr/bin/time") {
        return;
    }
    let env = Env::new();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_docseal"));
    let (kib, _, pkib) = audit_synthetic(&env, &bin, 1_000_000);
    assert!(kib < 64 * 1024, "audit: peak RSS {kib} KiB");
    assert!(pkib < 64 * 1024, "prove: peak RSS {pkib} KiB");
}

/// The figures of docs/BENCHMARKS.md ("Archive log v2"): `DOCSEAL_BENCH_BIN=<release docseal>
/// DOCSEAL_BENCH_ENTRIES=10000000 cargo test --test integration archive_v2:: -- --ignored --nocapture`
/// (with `DOCSEAL_BENCH_EVERY=100`: 100,000 checkpoints, the most a log holds).
#[test]
#[ignore]
fn issue17_bench_audit_of_a_synthetic_v2_log() {
    let env = Env::new();
    let bin = std::env::var_os("DOCSEAL_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_docseal")));
    let n: u64 = std::env::var("DOCSEAL_BENCH_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let (kib, secs, pkib) = audit_synthetic(&env, &bin, n);
    println!("entries {n}: audit peak RSS {kib} KiB, {secs} s; prove peak RSS {pkib} KiB");
}

#[test]
fn attack_witness_archive_key_is_not_its_own_witness() {
    // The archive operator cosigns its own checkpoint with the archive key under a witness
    // name (type 0x04): an auditor handed that vkey as a "witness" must not count it.
    let f = Fixture::new();
    let key = common::secret_key(&f.archive_key);
    let text = f.note().text;
    let name = "witness.example/self";
    let line = cosign(&key, name, &text, 1_780_000_000);
    std::fs::write(f.env.path("self.sig"), line.to_line()).unwrap();
    f.env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "self.sig"])
        .ok();
    let vk = NoteSigner::new(name, &key)
        .unwrap()
        .verifier(KeyKind::Cosignature)
        .to_vkey();
    let d = f.audit(&["--witness", &vk]);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert!(
        codes(&d, "error").contains(&"log.witness_quorum".to_string()),
        "{}",
        d.stdout()
    );
}

#[test]
fn attack_cosign_signature_file_read_is_bounded() {
    // An endless "signature file" (a pipe) is refused as too large, not read into memory until
    // the process dies. (A device such as /dev/zero is refused by its type.)
    let f = Fixture::new();
    let bin = env!("CARGO_BIN_EXE_docseal");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 1000000; yes | exec '{bin}' archive cosign-checkpoint arch /dev/stdin"
        ))
        .current_dir(f.env.path(""))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("too large"), "{err}");
}

#[test]
fn attack_tiles_older_checkpoint_partial_tiles_edited_are_caught() {
    // The partial tiles left for checkpoint 3's tree are what a tile client of that tree
    // reads: edited (or emptied), audit fails, though the latest tree's tiles are intact.
    for rel in ["log/tile/0/000.p/3", "log/tile/entries/000.p/3"] {
        let f = Fixture::new();
        let p = f.arch().join(rel);
        let mut b = std::fs::read(&p).unwrap();
        b[5] ^= 1;
        std::fs::write(&p, &b).unwrap();
        let d = f.audit(&[]);
        assert_eq!(d.code(), 1, "{rel}: {}", d.stdout());
        assert_eq!(codes(&d, "error"), vec!["log.tiles_invalid"], "{rel}");
        std::fs::write(&p, b"").unwrap();
        assert_eq!(codes(&f.audit(&[]), "error"), vec!["log.tiles_invalid"]);
        // Removed: allowed (tlog-tiles lets partial tiles go).
        std::fs::remove_file(&p).unwrap();
        assert_eq!(f.audit(&[]).code(), 0, "{rel}");
    }
}

#[test]
fn attack_witness_oversized_cosignature_lines_cannot_break_the_checkpoint_note() {
    // Lines of the right form but huge "signatures" (a hostile witness's answer), added in
    // two goes: refused before log/checkpoint grows past a note's limit.
    let f = Fixture::new();
    let big = |i: u8| {
        use base64::Engine as _;
        format!(
            "\u{2014} w{i}.example/x {}\n",
            base64::engine::general_purpose::STANDARD.encode(vec![i; 6140])
        )
    };
    std::fs::write(f.env.path("b1.sig"), big(0) + &big(1)).unwrap();
    std::fs::write(f.env.path("b2.sig"), big(2) + &big(3)).unwrap();
    f.env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "b1.sig"])
        .ok();
    let d = f
        .env
        .cmd()
        .args(["archive", "cosign-checkpoint", "arch", "b2.sig"])
        .fails(2);
    assert!(d.stderr().contains("larger than"), "{}", d.stderr());
    assert_eq!(f.audit(&[]).code(), 0);
    assert_eq!(f.note().signatures.len(), 3);
}

#[test]
fn attack_tiles_add_refuses_missing_tiles_before_logging() {
    // A tile of the latest tree gone (an incomplete mirror, a hostile edit): add refuses
    // before it appends anything, so log/entries keeps no unsigned entry and the archive is
    // exactly as it was.
    for rel in ["log/tile/0/000.p/5", "log/tile/entries/000.p/5"] {
        let f = Fixture::new();
        let entries = std::fs::read(f.arch().join("log/entries")).unwrap();
        std::fs::remove_file(f.arch().join(rel)).unwrap();
        let d = f.add(&["in/s5.zip"], "2026-04-01T00:00:00Z").fails(2);
        assert!(d.stderr().contains("000.p/5"), "{}", d.stderr());
        assert_eq!(
            std::fs::read(f.arch().join("log/entries")).unwrap(),
            entries,
            "{rel}"
        );
    }
}

#[test]
fn attack_checkpoint_note_symlink_or_fifo_is_a_finding_not_a_crash() {
    // log/checkpoint replaced by a link to its own (valid) bytes, or by a FIFO: audit reports
    // log.checkpoint_invalid (exit 1, the other findings still listed), never hangs.
    let f = Fixture::new();
    let cp = f.arch().join("log/checkpoint");
    let saved = f.env.path("saved-checkpoint");
    std::fs::rename(&cp, &saved).unwrap();
    std::os::unix::fs::symlink(&saved, &cp).unwrap();
    let d = f.audit(&[]);
    assert_eq!(d.code(), 1, "{}", d.stderr());
    assert!(codes(&d, "error").contains(&"log.checkpoint_invalid".to_string()));
    std::fs::remove_file(&cp).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(&cp)
        .status()
        .unwrap();
    assert!(st.success());
    let d = f.audit(&[]);
    assert_eq!(d.code(), 1, "{}", d.stderr());
    assert!(codes(&d, "error").contains(&"log.checkpoint_invalid".to_string()));
}

#[test]
fn attack_tiles_temp_files_of_a_killed_add_are_removed_by_the_next_add() {
    // `kill -9` while a tile, log/checkpoint or a cosignature file was being written leaves
    // its temporary file; the next add removes it (as it does in log/checkpoints/).
    let f = Fixture::new();
    let dirs = [
        "log",
        "log/cosignatures",
        "log/tile/0/000.p",
        "log/tile/entries/000.p",
    ];
    for d in dirs {
        std::fs::create_dir_all(f.arch().join(d)).unwrap();
        std::fs::write(f.arch().join(d).join(".docseal-0123456789abcdef.tmp"), b"x").unwrap();
    }
    f.add(&["in/s5.zip"], "2026-04-01T00:00:00Z").ok();
    for d in dirs {
        assert!(
            !f.arch()
                .join(d)
                .join(".docseal-0123456789abcdef.tmp")
                .exists(),
            "{d}"
        );
    }
    assert!(f.audit(&[]).json()["findings"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn attack_witness_argument_naming_a_fifo_is_refused_without_blocking() {
    // `--witness FILE` where FILE is a FIFO nobody writes to: refused at once by its type
    // (before: the open blocked until a writer came).
    let f = Fixture::new();
    let fifo = f.env.path("w.fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let start = std::time::Instant::now();
    let d = f.audit(&["--witness", fifo.to_str().unwrap()]);
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.stderr().contains("FIFO"), "{}", d.stderr());
    assert_eq!(d.stderr().lines().count(), 1, "{}", d.stderr());
}

#[test]
fn attack_arch_links_under_cosignatures_and_tile_are_archive_symlink_findings() {
    // A link anywhere under log/cosignatures/ or log/tile/, even one no audit reads (a
    // checkpoint's cosignatures without --witness, a tile of no tree), is named, as elsewhere
    // in the archive. Before: audit passed with them.
    for (rel, target) in [
        ("log/cosignatures/9", "/etc/passwd"),
        ("log/tile/0/zz", "/etc/passwd"),
        ("log/tile/7", "/tmp"),
    ] {
        let f = Fixture::new();
        std::fs::create_dir_all(f.arch().join("log/cosignatures")).unwrap();
        std::os::unix::fs::symlink(target, f.arch().join(rel)).unwrap();
        let d = f.audit(&[]);
        assert_eq!(d.code(), 1, "{rel}: {}", d.stdout());
        assert!(
            codes(&d, "error").contains(&"archive.symlink".to_string()),
            "{rel}: {}",
            d.stdout()
        );
        assert!(d.stdout().contains(rel), "{rel}: {}", d.stdout());
    }
}

#[test]
fn attack_arch_cosign_signature_fifo_without_writer_never_blocks() {
    // `archive cosign-checkpoint arch FIFO` with nobody writing to the FIFO: before, the open
    // blocked for ever; now it reads as empty at once (refused, exit 2), and a device is
    // refused by its type. Nothing is added.
    let f = Fixture::new();
    let fifo = f.env.path("s.fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let bin = env!("CARGO_BIN_EXE_docseal");
    for file in [fifo.to_str().unwrap(), "/dev/zero"] {
        let out = std::process::Command::new("timeout")
            .args(["20", bin, "archive", "cosign-checkpoint", "arch", file])
            .current_dir(f.env.path(""))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert_eq!(err.lines().count(), 1, "{file}: {err}");
    }
    assert!(!f.arch().join("log/cosignatures/5").exists());
}

#[test]
fn attack_arch_witness_key_under_two_names_counts_once_in_any_order() {
    // One witness key given under two names (its cosignature carries one of them) is one
    // witness: it counts once whichever name comes first (before: listed after the other
    // name, its good line was never looked at), and "all" (no --min-witnesses) means every
    // distinct key (before: two, which could never be met).
    let f = Fixture::new();
    let (k, va) = witness(&f.env, "witness.example/a");
    let vb = NoteSigner::new("witness.example/b", &k)
        .unwrap()
        .verifier(KeyKind::Cosignature)
        .to_vkey();
    let va = va.to_str().unwrap();
    let line = cosign(&k, "witness.example/a", &f.note().text, T2_SECS + 60);
    std::fs::write(f.env.path("a.sig"), line.to_line()).unwrap();
    cosign_cmd(&f, "a.sig", &["--witness", va]).ok();
    for order in [[va, vb.as_str()], [vb.as_str(), va]] {
        for min in [&["--min-witnesses", "1"][..], &[]] {
            let mut args = vec!["--witness", order[0], "--witness", order[1]];
            args.extend_from_slice(min);
            let d = f.audit(&args);
            assert_eq!(d.code(), 0, "{order:?} {min:?}: {}", d.stdout());
        }
    }
    let d = f.audit(&["--witness", va, "--witness", &vb, "--min-witnesses", "2"]);
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.stderr().contains("1 distinct"), "{}", d.stderr());
}

#[test]
fn attack_arch_witnesses_with_one_name_and_key_id_each_count() {
    // Two witness keys with the same name and the same 4-byte key id (a collision found in
    // seconds: about 2^16 keys): a good line of either is checked against both. Before,
    // cosign-checkpoint refused the second key's good line (checked against the first key
    // only), and every audit with both reported log.cosignature_invalid.
    let f = Fixture::new();
    let name = "witness.example/w";
    let keys: Vec<SecretKey> = [388u32, 123_918]
        .iter()
        .map(|i| {
            let seed: Vec<u8> = i.to_be_bytes().repeat(8);
            SecretKey::from_seed(&seed.try_into().unwrap(), docseal::minisign::KeyId([0; 8]))
        })
        .collect();
    let vkeys: Vec<String> = keys
        .iter()
        .map(|k| {
            NoteSigner::new(name, k)
                .unwrap()
                .verifier(KeyKind::Cosignature)
                .to_vkey()
        })
        .collect();
    assert_ne!(vkeys[0], vkeys[1]);
    assert_eq!(vkeys[0].split('+').nth(1), vkeys[1].split('+').nth(1));
    let text = f.note().text;
    let both = ["--witness", &vkeys[0], "--witness", &vkeys[1]];
    for (i, k) in keys.iter().enumerate().rev() {
        let file = format!("w{i}.sig");
        std::fs::write(
            f.env.path(&file),
            cosign(k, name, &text, T2_SECS + 60).to_line(),
        )
        .unwrap();
        cosign_cmd(&f, &file, &both).ok();
    }
    let d = f.audit(&both);
    assert_eq!(d.code(), 0, "{}", d.stdout());
}
