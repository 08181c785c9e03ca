//! Archives in object storage (issue 17), read on a real S3-compatible server (SeaweedFS):
//! `archive audit|prove|prove-consistency s3://...` and `verify --archive s3://...` give what
//! they give on the same archive on a disk, and an archive whose bundles were tampered with or
//! removed in the bucket fails its audit.

use crate::common;
use crate::common::weed;

use common::*;
use docseal::store::Store;
use std::path::{Path, PathBuf};

struct Setup {
    w: weed::Weed,
    env: Env,
    public: std::path::PathBuf,
}

impl Setup {
    fn run(&self, args: &[&str]) -> Done {
        let mut c = self.env.cmd().args(args);
        for (k, v) in self.w.env() {
            c = c.env(&k, &v);
        }
        c.run()
    }
}

/// An archive of 4 bundles in two adds (checkpoints 2 and 4), on disk at `arch` and in the
/// bucket at s3://docseal-arch/a1.
fn setup() -> Option<Setup> {
    let w = weed::Weed::start()?;
    let env = Env::new();
    let (key, public) = env.keygen("k");
    for i in 0..4 {
        env.pack_text(
            &format!("Archived article {i}.\n"),
            &format!("T{i}"),
            "2026-11-27T12:00:00Z",
            &key,
            &format!("b{i}.zip"),
            &[],
        );
    }
    for (bundles, time) in [
        (["b0.zip", "b1.zip"], "2026-11-28T00:00:00Z"),
        (["b2.zip", "b3.zip"], "2026-11-29T00:00:00Z"),
    ] {
        env.cmd()
            .args(["archive", "add", "arch"])
            .args(bundles)
            .args(["--time", time, "--key"])
            .arg(&key)
            .ok();
    }
    weed::upload(&w.store("docseal-arch", "a1"), &env.path("arch"));
    Some(Setup { w, env, public })
}

#[test]
fn issue17_archive_in_a_bucket_audits_proves_and_lends_evidence_as_on_disk() {
    let Some(t) = setup() else { return };
    let public = t.public.to_str().unwrap();
    let remote = t.run(&[
        "archive",
        "audit",
        "s3://docseal-arch/a1",
        "--json",
        "--trust",
        public,
    ]);
    let local = t.run(&["archive", "audit", "arch", "--json", "--trust", public]);
    assert_eq!(remote.code(), 0, "{}{}", remote.stdout(), remote.stderr());
    assert_eq!(local.code(), 0);
    let (mut r, mut l) = (remote.json(), local.json());
    assert_eq!(r["archive"], "s3://docseal-arch/a1");
    r["archive"] = "X".into();
    l["archive"] = "X".into();
    assert_eq!(r, l);
    assert_eq!(r["entries"], 4);

    // Proofs from the bucket are the proofs from the disk, byte for byte.
    t.run(&[
        "archive",
        "prove",
        "s3://docseal-arch/a1",
        "b1.zip",
        "--out",
        "r.json",
    ]);
    t.run(&["archive", "prove", "arch", "b1.zip", "--out", "l.json"]);
    let (rp, lp) = (t.env.path("r.json"), t.env.path("l.json"));
    assert_eq!(std::fs::read(&rp).unwrap(), std::fs::read(&lp).unwrap());
    t.run(&[
        "archive",
        "prove-consistency",
        "s3://docseal-arch/a1",
        "--from",
        "2",
        "--out",
        "rc.json",
    ]);
    t.run(&[
        "archive",
        "prove-consistency",
        "arch",
        "--from",
        "2",
        "--out",
        "lc.json",
    ]);
    assert_eq!(
        std::fs::read(t.env.path("rc.json")).unwrap(),
        std::fs::read(t.env.path("lc.json")).unwrap()
    );

    // verify --archive: the same records with the archive in the bucket.
    let v = |arch: &str| {
        t.run(&[
            "verify",
            "b0.zip",
            "b3.zip",
            "--json",
            "--trust",
            public,
            "--archive-key",
            public,
            "--archive",
            arch,
        ])
    };
    let (vr, vl) = (v("s3://docseal-arch/a1"), v("arch"));
    assert_eq!(vl.code(), 0, "{}{}", vl.stdout(), vl.stderr());
    assert_eq!(vr.code(), 0, "{}{}", vr.stdout(), vr.stderr());
    let (reports, _) = json_lines(&vr.stdout());
    assert_eq!(reports.len(), 2);
    assert_eq!(vr.stdout(), vl.stdout());

    // Adding a bundle the archive in object storage holds already: found there, nothing
    // written (tests/s3_archive_add.rs tests adding).
    let d = t.run(&[
        "archive",
        "add",
        "s3://docseal-arch/a1",
        "b0.zip",
        "--key",
        "k.key",
    ]);
    assert_eq!(d.code(), 0, "{}", d.stderr());
    assert!(
        d.stdout().contains("already in the archive as entry 0"),
        "{}",
        d.stdout()
    );
    let all = format!("{}{}{}", remote.stdout(), remote.stderr(), d.stderr());
    assert!(!all.contains(weed::SECRET_KEY) && !all.contains(weed::ACCESS_KEY));
}

#[test]
fn issue17_bundles_tampered_or_removed_in_the_bucket_fail_the_audit() {
    let Some(t) = setup() else { return };
    let public = t.public.to_str().unwrap();
    let s = t.w.store("docseal-arch", "a1");
    let listed = s.list("bundles/", None, 100).unwrap();
    assert_eq!(listed.items.len(), 4, "{listed:?}");
    let (first, second) = (&listed.items[0].key, &listed.items[1].key);
    // One bundle changed by one bit behind the archive's back.
    let mut b = s.get(first, 1 << 20).unwrap().unwrap().bytes;
    let at = b.len() / 2;
    b[at] ^= 1;
    s.put(first, &b).unwrap();
    let d = t.run(&[
        "archive",
        "audit",
        "s3://docseal-arch/a1",
        "--trust",
        public,
    ]);
    assert_eq!(d.code(), 1, "{}{}", d.stdout(), d.stderr());
    let out = d.stdout();
    assert!(
        out.starts_with("FAILED") && out.contains("s3://docseal-arch/a1"),
        "{out}"
    );
    let name = first.rsplit('/').next().unwrap();
    assert!(out.contains(name), "{out}");
    // Another removed.
    s.delete(second).unwrap();
    let d = t.run(&[
        "archive",
        "audit",
        "s3://docseal-arch/a1",
        "--trust",
        public,
    ]);
    assert_eq!(d.code(), 1);
    let gone = second.rsplit('/').next().unwrap();
    assert!(d.stdout().contains(gone), "{}", d.stdout());
    assert!(
        !d.stdout().contains("docseal-s3-archive-"),
        "the copy's path shows: {}",
        d.stdout()
    );
}

/// An audit of a bucket archive while adds run (issue 17; found by an attacker): the private
/// copy is one state of the archive (the log's sequencing point read before and after, the
/// log copied before `bundles/`), so a live archive audits clean, never with a checkpoint, a
/// sequence or a bundle of another moment (`log.sequence_invalid`, `archive.bundle_removed`,
/// `archive.bundle_unlisted` were reported by copies mixing two states).
/// A SeaweedFS server, a key `k`, `n` bundles `{stem}0.zip`... sealed with it, and the location
/// of an archive on the server (`s3://BUCKET/a`, made by the test's adds): what the tests of
/// an archive in a bucket start from.
struct Bucket {
    w: weed::Weed,
    env: Env,
    key: PathBuf,
    public: PathBuf,
    bucket: &'static str,
}

impl Bucket {
    fn start(bucket: &'static str, stem: &str, n: usize) -> Option<Bucket> {
        let w = weed::Weed::start()?;
        let env = Env::new();
        let (key, public) = env.keygen("k");
        for i in 0..n {
            env.pack_text(
                &format!("Article {i} of {stem}.\n"),
                &format!("{stem}{i}"),
                "2026-11-30T12:00:00Z",
                &key,
                &format!("{stem}{i}.zip"),
                &[],
            );
        }
        Some(Bucket {
            w,
            env,
            key,
            public,
            bucket,
        })
    }

    /// `s3://BUCKET/a`.
    fn loc(&self) -> String {
        format!("s3://{}/a", self.bucket)
    }

    /// `docseal ARGS` with the server's variables.
    fn cmd(&self, args: &[&str]) -> Run {
        let mut c = self.env.cmd().args(args);
        for (k, v) in self.w.env() {
            c = c.env(&k, &v);
        }
        c
    }

    /// `docseal archive add s3://BUCKET/a BUNDLES --key k`.
    fn add(&self, bundles: &[&str]) -> Run {
        let loc = self.loc();
        self.cmd(&["archive", "add", &loc])
            .args(bundles)
            .arg("--key")
            .arg(&self.key)
    }

    fn store(&self) -> docseal::store::S3Store {
        self.w.store(self.bucket, "a")
    }

    /// The archive's log as an audit in place copies it (every object but `bundles/`), in
    /// `copy/`.
    fn log_copy(&self) -> PathBuf {
        let copy = self.env.path("copy");
        weed::download(&self.store(), &copy, |k| !k.starts_with("bundles/"));
        copy
    }

    /// The trust an audit takes: `k` as the archive key.
    fn trust(&self) -> docseal::Trust {
        docseal::Trust::load_archive_keys(std::slice::from_ref(&self.public)).unwrap()
    }
}

/// The library's audit of the log in `copy` with the bundles read in place from `s` (default
/// limits, no witnesses).
fn audit_in_place(copy: &Path, trust: &docseal::Trust, s: &dyn Store) -> docseal::archive::Audit {
    docseal::archive::audit_with_store_bundles(
        copy,
        trust,
        &[],
        &docseal::Limits::default(),
        &docseal::archive::tiles::WitnessPolicy::default(),
        s,
    )
    .unwrap()
}

/// The findings of an `audit --json` output: (code, severity, path).
fn findings_of(out: &str) -> Vec<(String, String, String)> {
    let v: serde_json::Value = serde_json::from_str(out).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn issue17_audit_of_a_bucket_archive_while_adds_run_sees_one_state() {
    let n = 40;
    let Some(t) = Bucket::start("docseal-live", "l", n) else {
        return;
    };
    let (loc, public) = (t.loc(), &t.public);
    let cmd = |args: &[&str]| t.cmd(args);
    t.add(&["l0.zip"]).ok();
    // Adds run until four audits are done (or the bundles run out); each audit races them.
    let done = std::sync::atomic::AtomicBool::new(false);
    let added = std::sync::atomic::AtomicUsize::new(1);
    let audits = std::thread::scope(|sc| {
        sc.spawn(|| {
            for i in 1..n {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let b = format!("l{i}.zip");
                t.add(&[&b]).ok();
                added.store(i + 1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let mut audits = Vec::new();
        for _ in 0..4 {
            let d = cmd(&["archive", "audit", &loc, "--json", "--trust"])
                .arg(public)
                .run();
            audits.push((d.code(), d.stdout(), d.stderr()));
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        audits
    });
    let added = added.load(std::sync::atomic::Ordering::SeqCst);
    assert!(added > 4, "only {added} adds ran while the audits did");
    for (code, out, err) in &audits {
        // Exit 4 with "changed while it was read": every attempt raced an add (allowed, rare).
        if *code == 4 && err.contains("changed while it was read") {
            continue;
        }
        assert_eq!(*code, 0, "{out}{err}");
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        for f in v["findings"].as_array().unwrap() {
            assert_ne!(f["severity"], "error", "{out}");
        }
    }
    let last = cmd(&["archive", "audit", &loc, "--json", "--trust"])
        .arg(public)
        .run();
    assert_eq!(last.code(), 0, "{}", last.stdout());
    assert_eq!(last.json()["entries"], added);
}

/// `verify --archive s3://...` copies the log and only the archived bundles it verifies, not
/// every bundle of the archive (which a billion-entry archive could not afford): an unrelated
/// object under `bundles/` that no disk could hold (`bundles/zz` beside `bundles/zz/x`), which
/// a whole copy refuses, is never read. (The archived copy of a bundle verified is read: the
/// s3:// part of `timestamp::issue14_token_later_than_the_archive_checkpoint_that_logged_it`.)
#[test]
fn issue17_verify_with_a_bucket_archive_reads_only_the_bundles_it_verifies() {
    let Some(t) = setup() else { return };
    let public = t.public.to_str().unwrap();
    let s = t.w.store("docseal-arch", "a1");
    s.put("bundles/zz", b"junk").unwrap();
    s.put("bundles/zz/x", b"junk").unwrap();
    let audit = t.run(&[
        "archive",
        "audit",
        "s3://docseal-arch/a1",
        "--trust",
        public,
    ]);
    assert_ne!(audit.code(), 0, "{}", audit.stdout());
    assert!(
        audit.stderr().contains("bundles/zz"),
        "{}{}",
        audit.stdout(),
        audit.stderr()
    );
    let v = |arch: &str| {
        t.run(&[
            "verify",
            "b1.zip",
            "--json",
            "--trust",
            public,
            "--archive-key",
            public,
            "--archive",
            arch,
        ])
    };
    let (vr, vl) = (v("s3://docseal-arch/a1"), v("arch"));
    assert_eq!(vr.code(), 0, "{}{}", vr.stdout(), vr.stderr());
    assert_eq!(vr.stdout(), vl.stdout());
}

/// `archive audit s3://...` of a v3 archive copies the log only and reads each bundle from the
/// bucket in place (ranged reads as the log streams by, nothing kept on the disk), listing
/// `bundles/` for the unlisted ones: the same findings as an audit of a full local copy, and
/// objects no disk could hold (`bundles/zz` beside `bundles/zz/x`, which a copy refuses) are
/// named unlisted like any other.
#[test]
fn issue17_audit_of_a_v3_bucket_reads_the_bundles_in_place() {
    let Some(t) = Bucket::start("docseal-inplace", "p", 4) else {
        return;
    };
    let (env, loc) = (&t.env, t.loc());
    let loc = loc.as_str();
    let cmd = |args: &[&str]| t.cmd(args);
    t.add(&["p0.zip", "p1.zip"]).ok();
    t.add(&["p2.zip", "p3.zip"]).ok();
    let s = t.store();
    assert!(s.size("log/sequence").unwrap().is_some(), "a v3 archive");
    let p = t.public.to_str().unwrap();
    let clean = cmd(&["archive", "audit", loc, "--trust", p]).run();
    assert_eq!(clean.code(), 0, "{}{}", clean.stdout(), clean.stderr());
    assert!(clean.stdout().contains("4 entries"), "{}", clean.stdout());
    // Behind the archive's back: one bit of p1 changed, p2 removed, three objects planted.
    let mut b = s.get("bundles/p1.zip", 1 << 20).unwrap().unwrap().bytes;
    let at = b.len() / 2;
    b[at] ^= 1;
    s.put("bundles/p1.zip", &b).unwrap();
    s.delete("bundles/p2.zip").unwrap();
    let p0 = s.get("bundles/p0.zip", 1 << 20).unwrap().unwrap().bytes;
    s.put("bundles/junk.zip", &p0).unwrap();
    s.put("bundles/zz", b"junk").unwrap();
    s.put("bundles/zz/x", b"junk").unwrap();
    let findings = |out: &str| -> std::collections::BTreeSet<(String, String)> {
        findings_of(out)
            .into_iter()
            .map(|(c, _, p)| (c, p))
            .collect()
    };
    let remote = cmd(&["archive", "audit", loc, "--json", "--trust", p]).run();
    assert_eq!(remote.code(), 1, "{}{}", remote.stdout(), remote.stderr());
    let got = findings(&remote.stdout());
    // The same archive on a disk (every object but the one a file system cannot hold).
    let copy = env.path("copy");
    weed::download(&s, &copy, |k| k != "bundles/zz/x");
    let local = env
        .cmd()
        .args(["archive", "audit", "copy", "--json", "--trust", p])
        .run();
    assert_eq!(local.code(), 1, "{}", local.stdout());
    let mut want = findings(&local.stdout());
    want.insert(("archive.bundle_unlisted".into(), "bundles/zz/x".into()));
    assert_eq!(got, want);
    for f in [
        ("archive.bundle_replaced", "bundles/p1.zip"),
        ("archive.bundle_removed", "bundles/p2.zip"),
        ("archive.bundle_unlisted", "bundles/junk.zip"),
        ("archive.bundle_unlisted", "bundles/zz"),
    ] {
        assert!(
            got.contains(&(f.0.to_string(), f.1.to_string())),
            "{f:?} not in {got:?}"
        );
    }
    assert!(!remote.stdout().contains("/tmp/"), "{}", remote.stdout());
}

/// An audit in place that lists `bundles/` after an add logged more (the log read first, the
/// add meanwhile): the newer bundle, whose name index object holds an entry at or past the
/// entries read, is not called unlisted; a planted one beside it is.
#[test]
fn issue17_audit_in_place_does_not_call_a_bundle_added_meanwhile_unlisted() {
    let Some(t) = Bucket::start("docseal-meanwhile", "m", 3) else {
        return;
    };
    t.add(&["m0.zip"]).ok();
    t.add(&["m1.zip"]).ok();
    let s = t.store();
    // The log as an audit reads it first: every object but bundles/.
    let copy = t.log_copy();
    // Then an add, and a bundle planted without one.
    t.add(&["m2.zip"]).ok();
    let m0 = s.get("bundles/m0.zip", 1 << 20).unwrap().unwrap().bytes;
    s.put("bundles/planted.zip", &m0).unwrap();
    let trust = t.trust();
    let counted = common::store_hooks::counting(&s);
    let r = audit_in_place(&copy, &trust, &counted);
    assert_eq!(r.entries, 2);
    // What the bundles cost: a HEAD before and after, and one ranged GET each (a bundle under
    // one range read is read once for its digest and its verification), two listings of
    // bundles/ (one page each here), `log/sequence` once (its tail holds m2, logged after the
    // log was read), and the name index object of a listed bundle neither names (planted).
    let requests = counted.hooks.requests();
    eprintln!("audit in place, 2 entries, 4 objects in bundles/: {requests:?}");
    let kinds = counted.hooks.by_kind();
    assert_eq!(kinds.get("HEAD").map(|k| k.0), Some(4), "{requests:?}");
    assert_eq!(kinds.get("LIST").map(|k| k.0), Some(2), "{requests:?}");
    assert_eq!(kinds.get("GET").map(|k| k.0), Some(4), "{requests:?}");
    assert_eq!(kinds.len(), 3, "{requests:?}");
    let errors: Vec<(String, String)> = r
        .findings
        .iter()
        .filter(|f| f.severity == docseal::Severity::Error)
        .map(|f| {
            (
                f.code.as_str().to_string(),
                f.path.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![(
            "archive.bundle_unlisted".to_string(),
            "bundles/planted.zip".to_string()
        )]
    );
}

/// `verify --archive s3://...` names an archived bundle it reports (here, the newer version
/// that supersedes the bundle verified) by its `s3://` location, never by the private copy
/// (a temporary directory removed when the command ends).
#[test]
fn attack_s3read_verify_archive_names_archived_bundles_by_s3() {
    let Some(t) = setup() else { return };
    let public = t.public.to_str().unwrap();
    let key = t.env.path("k.key");
    t.env.pack_text(
        "Archived article 1, corrected.\n",
        "T1c",
        "2026-11-28T12:00:00Z",
        &key,
        "c1.zip",
        &["--supersedes", "b1.zip"],
    );
    let remote = "s3://docseal-arch/sup";
    let add = t.run(&[
        "archive",
        "add",
        remote,
        "b1.zip",
        "c1.zip",
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(add.code(), 0, "{}", add.stderr());
    for json in [false, true] {
        let mut args = vec![
            "verify",
            "b1.zip",
            "--trust",
            public,
            "--archive-key",
            public,
            "--archive",
            remote,
        ];
        if json {
            args.push("--json");
        }
        let d = t.run(&args);
        let out = format!("{}{}", d.stdout(), d.stderr());
        assert_eq!(d.code(), 0, "{out}");
        assert!(
            out.contains("superseded")
                && out.contains(&format!("{remote}/bundles/c1.zip"))
                && !out.contains("docseal-s3-archive-"),
            "{out}"
        );
    }
}

/// An audit in place of a v3 archive whose last add was killed after it sequenced its entry
/// (the bundle still in `log/pending/`): the pending copy is copied with the log and checked,
/// so the findings are those of an audit of a full copy (the entry interrupted, not its
/// bundle gone).
#[test]
fn issue17_audit_in_place_checks_the_pending_copies_of_an_interrupted_add() {
    let Some(t) = Bucket::start("docseal-pending", "q", 2) else {
        return;
    };
    let loc = t.loc();
    t.add(&["q0.zip"]).ok();
    let killed = t
        .add(&["q1.zip"])
        .env(docseal::archive::CRASH_HOOK, "store-appended")
        .run();
    assert_ne!(killed.code(), 0);
    let s = t.store();
    assert!(s.size("log/pending/q1.zip").unwrap().is_some());
    assert!(s.size("bundles/q1.zip").unwrap().is_none());
    let p = t.public.to_str().unwrap();
    let remote = t
        .cmd(&["archive", "audit", &loc, "--json", "--trust", p])
        .run();
    weed::download(&s, &t.env.path("copy"), |_| true);
    let local = t
        .env
        .cmd()
        .args(["archive", "audit", "copy", "--json", "--trust", p])
        .run();
    assert_eq!(remote.code(), local.code(), "{}", remote.stdout());
    let got = findings_of(&remote.stdout());
    assert_eq!(got, findings_of(&local.stdout()));
    assert!(
        got.iter()
            .any(|f| f.0 == "log.interrupted" && f.2 == "log/pending/q1.zip"),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|f| f.0 == "archive.bundle_removed"),
        "{got:?}"
    );
}

/// Attack (issue 17, audit in place): an add places its bundles in `bundles/` before it writes
/// their index objects (tiles first). An audit in place whose log was read before that add
/// sequenced, listing `bundles/` in between (the add here stopped there for good: a crash at
/// `store-tiled`, the same state as an add still writing its tiles), must not call the
/// add's bundle unlisted: `log/sequence` holds its entry.
#[test]
fn attack_s3audit_bundle_placed_before_its_index_is_not_unlisted() {
    let Some(t) = Bucket::start("docseal-placed", "q", 3) else {
        return;
    };
    t.add(&["q0.zip"]).ok();
    t.add(&["q1.zip"]).ok();
    let s = t.store();
    let copy = t.log_copy();
    let crashed = t
        .add(&["q2.zip"])
        .env(docseal::archive::CRASH_HOOK, "store-tiled")
        .run();
    assert_ne!(crashed.code(), 0);
    assert!(s.size("bundles/q2.zip").unwrap().is_some(), "placed");
    let npath = docseal::archive::v3::name_index_path("q2.zip");
    assert!(s.size(&npath).unwrap().is_none(), "not indexed yet");
    let r = audit_in_place(&copy, &t.trust(), &s);
    assert_eq!(r.entries, 2);
    assert!(r.ok, "{:?}", r.findings);
}

/// A v3 archive in a bucket whose one bundle (`c0.zip`, co-signed by `x` after `k` sealed it)
/// was added; the log copied as an audit in place reads it first. Returns the store's weed,
/// the env, the copy, the trust and the same bundle co-signed by `y` instead (same size,
/// valid, same identity and content: another file).
fn cosigned_archive() -> Option<(Bucket, PathBuf, docseal::Trust, Vec<u8>)> {
    let t = Bucket::start("docseal-pinned", "c", 0)?;
    let (env, key) = (&t.env, &t.key);
    let (x, _) = env.keygen("x");
    let (y, _) = env.keygen("y");
    // Larger than one ranged read (1 MiB): the two passes read it in several.
    let mut big = vec![0u8; 3 << 19];
    let mut r = 0x9e37_79b9_7f4a_7c15u64;
    for b in big.iter_mut() {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        *b = r as u8;
    }
    std::fs::write(env.path("big.bin"), &big).unwrap();
    env.pack_text(
        "Co-signed.\n",
        "C",
        "2026-11-30T12:00:00Z",
        key,
        "c0.zip",
        &["--attach", "big.bin"],
    );
    std::fs::copy(env.path("c0.zip"), env.path("cy.zip")).unwrap();
    env.cmd().args(["cosign", "c0.zip", "--key"]).arg(&x).ok();
    env.cmd().args(["cosign", "cy.zip", "--key"]).arg(&y).ok();
    let (a, b) = (
        std::fs::read(env.path("c0.zip")).unwrap(),
        std::fs::read(env.path("cy.zip")).unwrap(),
    );
    assert!(a.len() == b.len() && a != b);
    t.add(&["c0.zip"]).ok();
    let copy = t.log_copy();
    let trust = t.trust();
    Some((t, copy, trust, b))
}

/// What a writer without the key does to `bundles/c0.zip` during an audit in place, right
/// before each ranged read of it (`n`: the reads so far, `ended`: whether one reached the
/// object's end, i.e. the digest pass is over).
struct Meddle<F: Fn(&dyn Store, u32, bool) + Send + Sync> {
    n: std::sync::Mutex<(u32, bool)>,
    f: F,
}

impl<F: Fn(&dyn Store, u32, bool) + Send + Sync> common::store_hooks::Hooks for Meddle<F> {
    fn get_range(
        &self,
        inner: &dyn Store,
        key: &str,
        offset: u64,
        len: u64,
    ) -> docseal::store::Result<Vec<u8>> {
        if key != "bundles/c0.zip" {
            return inner.get_range(key, offset, len);
        }
        let mut n = self.n.lock().unwrap();
        (self.f)(inner, n.0, n.1);
        let size = inner.size(key)?;
        let r = inner.get_range(key, offset, len)?;
        n.0 += 1;
        n.1 |= size == Some(offset + r.len() as u64);
        Ok(r)
    }
}

fn audit_meddled(
    s: &dyn Store,
    copy: &Path,
    trust: &docseal::Trust,
    f: impl Fn(&dyn Store, u32, bool) + Send + Sync,
) -> docseal::archive::Audit {
    let h = common::store_hooks::Hooked::new(
        s,
        Meddle {
            n: std::sync::Mutex::new((0, false)),
            f,
        },
    );
    audit_in_place(copy, trust, &h)
}

/// Attack (issue 17, audit in place): the bundle replaced in the bucket between the audit's
/// digest pass and its verification pass (by another valid file of the same size: the bundle
/// co-signed by someone else). The digest of one version and the verification of another
/// must not make an audit pass that an audit of the bucket as it now is fails.
#[test]
fn attack_s3audit_bundle_replaced_between_digest_and_verify() {
    let Some((t, copy, trust, other)) = cosigned_archive() else {
        return;
    };
    let s = t.store();
    let once = std::sync::atomic::AtomicBool::new(false);
    let r = audit_meddled(&s, &copy, &trust, |inner, _, ended| {
        if ended && !once.swap(true, std::sync::atomic::Ordering::SeqCst) {
            inner.put("bundles/c0.zip", &other).unwrap();
        }
    });
    let replaced: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code.as_str() == "archive.bundle_replaced")
        .collect();
    assert!(!r.ok && !replaced.is_empty(), "{:?}", r.findings);
    // The audit of a full copy of the bucket as it now is fails too.
    let full = t.env.path("full");
    let page = s.list("", None, 1000).unwrap();
    for item in &page.items {
        let dest = full.join(&item.key);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, s.get(&item.key, 1 << 30).unwrap().unwrap().bytes).unwrap();
    }
    let l = docseal::archive::audit(&full, &trust, &[], &docseal::Limits::default()).unwrap();
    assert!(!l.ok);
}

/// Attack (issue 17, audit in place): bytes appended to the bundle in the bucket after the
/// audit read its size (its reads, bounded by that size, see the logged file whole): the
/// object the bucket holds is not the one logged, and the audit must say so.
#[test]
fn attack_s3audit_bundle_grown_after_its_size_was_read() {
    let Some((t, copy, trust, _)) = cosigned_archive() else {
        return;
    };
    let s = t.store();
    let r = audit_meddled(&s, &copy, &trust, |inner, n, _| {
        if n == 0 {
            let mut b = inner.get("bundles/c0.zip", 1 << 30).unwrap().unwrap().bytes;
            b.extend_from_slice(b"appended behind the archive's back");
            inner.put("bundles/c0.zip", &b).unwrap();
        }
    });
    assert!(!r.ok, "{:?}", r.findings);
    assert!(r
        .findings
        .iter()
        .any(|f| f.code.as_str() == "archive.bundle_replaced"
            && f.path.as_deref() == Some("bundles/c0.zip")));
}

/// Attack (issue 17, audit in place): the storage fails under the verification pass of a
/// bundle (after the digest pass read it whole). The audit fails with an error naming the
/// `s3://` object (exit 4), not a finding that calls a sound bundle invalid; a bundle removed
/// between its size and its reads is gone from the archive.
#[test]
fn attack_s3audit_storage_failing_mid_bundle_is_an_error_not_a_finding() {
    let Some((t, copy, trust, _)) = cosigned_archive() else {
        return;
    };
    let s = t.store();
    struct Down(std::sync::atomic::AtomicU32);
    impl common::store_hooks::Hooks for Down {
        fn get_range(
            &self,
            inner: &dyn Store,
            key: &str,
            offset: u64,
            len: u64,
        ) -> docseal::store::Result<Vec<u8>> {
            // The digest pass reads it in two ranges (1.5 MiB); the verification's reads
            // fail.
            if key != "bundles/c0.zip" {
                return inner.get_range(key, offset, len);
            }
            if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 2 {
                return Err(docseal::store::StoreError::Unavailable {
                    what: format!("{}/{key}", inner.root()),
                    detail: "connection refused".into(),
                    retryable: false,
                });
            }
            inner.get_range(key, offset, len)
        }
    }
    let h = common::store_hooks::Hooked::new(&s, Down(Default::default()));
    let lim = docseal::Limits::default();
    let wp = docseal::archive::tiles::WitnessPolicy::default();
    let r = docseal::archive::audit_with_store_bundles(&copy, &trust, &[], &lim, &wp, &h);
    let e = match r {
        Ok(a) => panic!("an audit despite the failure: {:?}", a.findings),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("s3://docseal-pinned/a/bundles/c0.zip") && e.contains("connection refused"),
        "{e}"
    );
    // Removed after its size was read: gone.
    let r = audit_meddled(&s, &copy, &trust, |inner, n, _| {
        if n == 0 {
            inner.delete("bundles/c0.zip").unwrap();
        }
    });
    assert!(r
        .findings
        .iter()
        .any(|f| f.code.as_str() == "archive.bundle_removed"
            && f.path.as_deref() == Some("bundles/c0.zip")));
}

/// Attack (issue 17, audit in place): an object planted under `bundles/` with the name of a
/// local add's temporary file. An add on a bucket never writes nor removes one, so it is not
/// "removed by the next add" (a warning, exit 0): it is unlisted.
#[test]
fn attack_s3audit_temp_named_object_in_a_bucket_is_unlisted() {
    let Some((t, copy, trust, other)) = cosigned_archive() else {
        return;
    };
    let s = t.store();
    s.put("bundles/.docseal-hidden.tmp", &other).unwrap();
    let r = audit_meddled(&s, &copy, &trust, |_, _, _| {});
    assert!(!r.ok, "{:?}", r.findings);
    assert!(r
        .findings
        .iter()
        .any(|f| f.code.as_str() == "archive.bundle_unlisted"
            && f.path.as_deref() == Some("bundles/.docseal-hidden.tmp")));
}

/// `verify --archive s3://` fetched an archived copy whole, whatever its size: a bucket writer
/// replacing `bundles/NAME` with a huge object cost that download and disk before the digest
/// rejected it. Now an archived copy larger than the largest bundle the limits allow is not
/// fetched at all, one that is not the file its log entry names is noted; both name the
/// `s3://` object, and neither lends an archive time.
#[test]
fn attack_hfetch_verify_archive_refuses_an_archived_copy_past_the_bundle_limit() {
    let Some(t) = setup() else { return };
    let public = t.public.to_str().unwrap();
    let s = t.w.store("docseal-arch", "a1");
    s.put("bundles/b0.zip", &vec![b'x'; 3 << 20]).unwrap();
    let b0 = std::fs::read(t.env.path("b0.zip")).unwrap();
    s.put("bundles/b1.zip", &b0).unwrap();
    let v = t.run(&[
        "verify",
        "b0.zip",
        "b1.zip",
        "--trust",
        public,
        "--archive-key",
        public,
        "--archive",
        "s3://docseal-arch/a1",
        "--max-entries",
        "20",
        "--max-total-size",
        "200000",
    ]);
    let err = v.stderr();
    assert_eq!(v.code(), 0, "{}{err}", v.stdout());
    assert!(
        err.contains("s3://docseal-arch/a1/bundles/b0.zip: 3145728 bytes, more than the")
            && err.contains("not fetched, no archive time from it"),
        "{err}"
    );
    assert!(
        err.contains(
            "s3://docseal-arch/a1/bundles/b1.zip: not the file its archive log entry names"
        ),
        "{err}"
    );
    assert!(
        !err.contains("docseal-s3-archive-"),
        "the private copy is named: {err}"
    );
}
