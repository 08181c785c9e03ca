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
    // log was read), and the name index object of a listed bundle neither names (planted);
    // and one HEAD of `bundles` (an object so named beside `bundles/` is reported).
    // What the index costs, read in place: the two objects of entry 0 (below the start), the
    // names of `log/index/name/` and `content/` listed and the tail's two objects read (entry
    // 1: its objects are not compared as an entry goes by); m2's names, which no entry read
    // gives, make the walk read every object (3 + 3) and `log/sequence` once (m2 logged since
    // the log was read: not a finding).
    let requests = counted.hooks.requests();
    eprintln!("audit in place, 2 entries, 4 objects in bundles/: {requests:?}");
    let kinds = counted.hooks.by_kind();
    assert_eq!(kinds.get("HEAD").map(|k| k.0), Some(5), "{requests:?}");
    assert_eq!(kinds.get("LIST").map(|k| k.0), Some(2 + 4), "{requests:?}");
    assert_eq!(kinds.get("GET").map(|k| k.0), Some(4 + 11), "{requests:?}");
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
/// Attack (hlist, issue 17): objects planted under `bundles/` whose names hold control
/// characters (`\x01`, an escape sequence, a line break) and a U+202E. SeaweedFS lists such a
/// name without `encoding-type=url` with U+FFFD in place of the character (out of the bucket's
/// order) or as `&#xA;` (which object_store refuses): every listing of `bundles/` was refused
/// (exit 2), so one planted object denied every audit. Now each is an unlisted object, named
/// escaped on the terminal (exact in JSON), the listing goes on, and adds and `verify s3://`
/// work beside them.
#[test]
fn attack_hlist_control_character_names_are_unlisted_not_a_refused_listing() {
    let Some(t) = Bucket::start("docseal-hl-ctl", "h", 3) else {
        return;
    };
    t.add(&["h0.zip", "h1.zip"]).ok();
    let s = t.store();
    // And a directory marker (SeaweedFS keeps `bundles/d/` as one; it refuses `.` and `..`
    // components and names over 1,024 bytes, and makes `bundles//x` `bundles/x`).
    let planted = [
        "bundles/\u{1}evil",
        "bundles/e\u{1b}[2J.zip",
        "bundles/z\nq.zip",
        "bundles/d/",
    ];
    for name in planted {
        s.put_named(name, b"planted").unwrap();
    }
    // A key of its own (object_store writes it percent-encoded) that reorders text.
    s.put("bundles/\u{202e}piz.exe", b"planted").unwrap();
    // The store lists them all, in pages of one: the names that are no key as strays.
    let (mut items, mut stray, mut after) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let p = s.list("bundles/", after.as_deref(), 1).unwrap();
        items.extend(p.items.iter().map(|i| i.key.clone()));
        stray.extend(p.stray.iter().cloned());
        match p.items.last() {
            Some(l) if p.more => after = Some(l.key.clone()),
            _ => break,
        }
    }
    // In the bucket's order: U+202E is written percent-encoded (`%E2%80%AE`), before `h`.
    assert_eq!(
        items,
        [
            "bundles/\u{202e}piz.exe",
            "bundles/h0.zip",
            "bundles/h1.zip"
        ]
    );
    stray.sort();
    let mut want: Vec<String> = planted.iter().map(|p| p.to_string()).collect();
    want.sort();
    assert_eq!(stray, want);

    let (loc, public) = (t.loc(), t.public.to_str().unwrap());
    let text = t.cmd(&["archive", "audit", &loc, "--trust", public]).run();
    assert_eq!(text.code(), 1, "{}{}", text.stdout(), text.stderr());
    let all = format!("{}{}", text.stdout(), text.stderr());
    for raw in ['\u{1}', '\u{1b}', '\u{202e}'] {
        assert!(!all.contains(raw), "{raw:?} raw on the terminal: {all}");
    }
    for shown in [
        "\\u{1}evil",
        "e\\u{1b}[2J.zip",
        "z\\nq.zip",
        "\\u{202e}piz.exe",
    ] {
        assert!(all.contains(shown), "{shown} not in {all}");
    }
    let json = t
        .cmd(&["archive", "audit", &loc, "--json", "--trust", public])
        .run();
    let got = findings_of(&json.stdout());
    for name in planted.iter().copied().chain(["bundles/\u{202e}piz.exe"]) {
        assert!(
            got.iter()
                .any(|(c, _, p)| c == "archive.bundle_unlisted" && p == name),
            "{name:?} not unlisted: {got:?}"
        );
    }
    assert_eq!(got.len(), 5, "{got:?}");
    // One in `log/checkpoints/`, which an add lists before it signs: the add works beside
    // it (its listing was refused too), and the audit after it finds the same five and this
    // one, an unexpected object in the log.
    s.put_named("log/checkpoints/\u{1}9", b"planted").unwrap();
    t.add(&["h2.zip"]).ok();
    let after_add = t
        .cmd(&["archive", "audit", &loc, "--json", "--trust", public])
        .run();
    let got_after = findings_of(&after_add.stdout());
    assert_eq!(got_after.len(), 6, "{got_after:?}");
    assert!(got_after.contains(&(
        "log.malformed".to_string(),
        "error".to_string(),
        "log/checkpoints/\u{1}9".to_string()
    )));
    // `verify s3://` of the prefix: the bundles verified, the planted `*.zip` reported
    // unreadable (escaped), not the whole listing refused.
    let v = t
        .cmd(&["verify", &format!("{loc}/bundles"), "--trust", public])
        .run();
    let out = format!("{}{}", v.stdout(), v.stderr());
    assert!(out.contains("h0.zip") && out.contains("h2.zip"), "{out}");
    assert!(
        out.contains("z\\nq.zip") && !out.contains('\u{1b}'),
        "{out}"
    );
    assert!(!out.contains("listing refused"), "{out}");
}

/// Attack (hlist, issue 17): an object named exactly `bundles` (no `/`) beside the bundles
/// under `bundles/`. The audit of a full copy refused it (a disk cannot hold both); the audit
/// in place passed. Now it reports it unlisted.
#[test]
fn attack_hlist_object_named_bundles_fails_the_audit_in_place() {
    let Some(t) = Bucket::start("docseal-hl-bun", "u", 1) else {
        return;
    };
    t.add(&["u0.zip"]).ok();
    let (loc, public) = (t.loc(), t.public.to_str().unwrap());
    let clean = t.cmd(&["archive", "audit", &loc, "--trust", public]).run();
    assert_eq!(clean.code(), 0, "{}{}", clean.stdout(), clean.stderr());
    t.store().put("bundles", b"stray").unwrap();
    let d = t
        .cmd(&["archive", "audit", &loc, "--json", "--trust", public])
        .run();
    assert_eq!(d.code(), 1, "{}{}", d.stdout(), d.stderr());
    let got = findings_of(&d.stdout());
    assert_eq!(
        got,
        [(
            "archive.bundle_unlisted".to_string(),
            "error".to_string(),
            "bundles".to_string()
        )]
    );
}

/// A listing of `bundles/` that never ends: strictly increasing names forever (a lying
/// server), counting the pages asked for.
struct Endless(std::sync::atomic::AtomicU64);

impl common::store_hooks::Hooks for Endless {
    fn list(
        &self,
        inner: &dyn Store,
        prefix: &str,
        after: Option<&str>,
        max: usize,
    ) -> docseal::store::Result<docseal::store::Page> {
        if prefix != "bundles/" {
            return inner.list(prefix, after, max);
        }
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let from = after
            .and_then(|a| a.strip_prefix("bundles/x"))
            .map_or(0, |n| n.parse::<u64>().unwrap() + 1);
        let items = (from..from + max as u64)
            .map(|n| docseal::store::Listed {
                key: format!("bundles/x{n:012}"),
                size: 1,
            })
            .collect();
        Ok(docseal::store::Page {
            items,
            more: true,
            stray: Vec::new(),
        })
    }
}

/// Attack (hlist, issue 17): a listing of `bundles/` that never ends (keys strictly
/// increasing forever) spilled keys to disk without bound in the audit in place. Now it is
/// refused once it lists more than the log read can account for (its entries and
/// `MAX_UNLOGGED_BUNDLES` more), naming the `s3://` prefix.
#[test]
fn attack_hlist_endless_bundles_listing_is_refused_in_place() {
    let Some(t) = Bucket::start("docseal-hl-end", "e", 1) else {
        return;
    };
    t.add(&["e0.zip"]).ok();
    let copy = t.log_copy();
    let s = t.store();
    let h = common::store_hooks::Hooked::new(&s, Endless(Default::default()));
    let lim = docseal::Limits::default();
    let wp = docseal::archive::tiles::WitnessPolicy::default();
    let e = match docseal::archive::audit_with_store_bundles(&copy, &t.trust(), &[], &lim, &wp, &h)
    {
        Ok(a) => panic!("an audit of an endless listing: {:?}", a.findings.len()),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("s3://docseal-hl-end/a/bundles/") && e.contains("listing refused"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    let pages = h.hooks.0.load(std::sync::atomic::Ordering::SeqCst);
    let most = (1 + docseal::archive::MAX_UNLOGGED_BUNDLES) / docseal::store::MAX_PAGE as u64;
    assert!(pages <= most + 2, "{pages} pages listed");
}

/// A fake S3 endpoint on 127.0.0.1 for `docseal` to talk to (a lying server): every object is
/// absent, and `respond(prefix, start_after)` gives each listing's reply (XML). Returns its
/// URL; serves until the test ends.
fn fake_s3(respond: fn(&str, Option<&str>) -> String) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let decode = |v: &str| -> String {
        let b = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(h, 16).unwrap());
                i += 3;
            } else {
                out.push(if b[i] == b'+' { b' ' } else { b[i] });
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&req).to_string();
            let target = head.split(' ').nth(1).unwrap_or("").to_string();
            let query = target.split_once('?').map_or("", |(_, q)| q);
            let param = |k: &str| {
                query
                    .split('&')
                    .find_map(|p| p.strip_prefix(&format!("{k}=")))
                    .map(decode)
            };
            let (status, body) = if head.starts_with("GET") && param("list-type").is_some() {
                let prefix = param("prefix").unwrap_or_default();
                ("200 OK", respond(&prefix, param("start-after").as_deref()))
            } else {
                ("404 Not Found", String::new())
            };
            let body = if head.starts_with("HEAD") {
                String::new()
            } else {
                body
            };
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A reply of `ListObjectsV2` holding `keys` (names in the bucket, url-encoded as asked).
fn list_reply(keys: &[String], truncated: bool) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>");
    for k in keys {
        x.push_str(&format!(
            "<Contents><Key>{k}</Key><Size>1</Size></Contents>"
        ));
    }
    x.push_str(&format!(
        "<IsTruncated>{truncated}</IsTruncated><EncodingType>url</EncodingType></ListBucketResult>"
    ));
    x
}

/// Attack (hlist, issue 17): a server whose listing never ends (names strictly increasing,
/// every page truncated). The private copy that `archive audit s3://` and `verify --archive
/// s3://` make listed it to its end; now the copy is refused (exit 2, one line naming the
/// `s3://` prefix) once it lists more objects than the archive's log can account for, and
/// leaves nothing on the disk. (The fake server gives up after 300,000 names, so the test
/// ends either way.)
#[test]
fn attack_hlist_endless_listing_is_refused_by_the_copy() {
    let url = fake_s3(|_, after| {
        let from = after
            .and_then(|a| a.strip_prefix("a/bundles/k"))
            .map_or(0, |n| n.parse::<u64>().unwrap() + 1);
        let keys: Vec<String> = (from..from + 1000)
            .map(|n| format!("a/bundles/k{n:012}"))
            .collect();
        list_reply(&keys, from < 300_000)
    });
    let env = Env::new();
    let (key, public) = env.keygen("k");
    env.pack_text("E.\n", "E", "2026-11-30T12:00:00Z", &key, "b.zip", &[]);
    std::fs::create_dir(env.path("tmp")).unwrap();
    let run = |args: &[&str]| {
        env.cmd()
            .args(args)
            .env("TMPDIR", env.path("tmp").to_str().unwrap())
            .env("AWS_ENDPOINT_URL", &url)
            .env("AWS_ACCESS_KEY_ID", "AKFAKE")
            .env("AWS_SECRET_ACCESS_KEY", "fake-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ALLOW_HTTP", "true")
            .run()
    };
    let p = public.to_str().unwrap();
    for args in [
        vec!["archive", "audit", "s3://docseal-lying/a", "--trust", p],
        vec![
            "verify",
            "b.zip",
            "--trust",
            p,
            "--archive-key",
            p,
            "--archive",
            "s3://docseal-lying/a",
        ],
    ] {
        let d = run(&args);
        let err = d.stderr();
        assert_eq!(d.code(), 2, "{args:?}: {}{err}", d.stdout());
        assert!(
            err.contains("s3://docseal-lying/a/") && err.contains("listing refused"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        let left: Vec<_> = std::fs::read_dir(env.path("tmp")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

/// Attack (hlist, issue 17): a server that lists out of order (a name before the one it
/// listed last, or before the `start-after` asked for) is still refused: the order is checked
/// on the names as the bucket holds them.
#[test]
fn attack_hlist_out_of_order_listing_is_still_refused() {
    let url = fake_s3(|_, after| match after {
        None => list_reply(&["a/bundles/b".into(), "a/bundles/a".into()], false),
        Some(_) => list_reply(&["a/bundles/0".into()], false),
    });
    let vars = [
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKFAKE"),
        ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let s = docseal::store::S3Store::from_vars("docseal-lying", "a", vars).unwrap();
    let e = s.list("bundles/", None, 10).unwrap_err().to_string();
    assert!(e.contains("out of order"), "{e}");
    let e = s
        .list("bundles/", Some("bundles/x"), 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("out of order"), "{e}");
    // A page said to be truncated that holds nothing; names that are no key, forever: both
    // refused (after 100 pages of the latter), never an endless loop.
    let lying = |url: String| {
        let vars = [
            ("AWS_ENDPOINT_URL", url.as_str()),
            ("AWS_ACCESS_KEY_ID", "AKFAKE"),
            ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        docseal::store::S3Store::from_vars("docseal-lying", "a", vars).unwrap()
    };
    let empty = lying(fake_s3(|_, _| list_reply(&[], true)));
    let e = empty.list("bundles/", None, 10).unwrap_err().to_string();
    assert!(e.contains("held no name"), "{e}");
    let strays = lying(fake_s3(|_, after| {
        let from = after
            .and_then(|a| a.strip_prefix("a/bundles/\u{1}"))
            .map_or(0, |n| n.parse::<u64>().unwrap() + 1);
        let keys: Vec<String> = (from..from + 1000)
            .map(|n| format!("a/bundles/%01{n:012}"))
            .collect();
        list_reply(&keys, true)
    }));
    let e = strays.list("bundles/", None, 10).unwrap_err().to_string();
    assert!(e.contains("no key") && !e.contains('\u{1}'), "{e}");
}

/// Attack (hlist, issue 17): bundles whose names hold characters object_store writes
/// percent-encoded (`é`, `~`: `caf%C3%A9%7E...`). The listing gave the encoded name, which
/// no entry names, so the audit in place called each logged bundle unlisted (and a key so
/// listed could not be read back). Now the listing decodes a name to the key written there:
/// the archive audits clean in place, and a planted object is unlisted under its own name.
#[test]
fn attack_hlist_percent_encoded_bundle_names_audit_clean() {
    let Some(t) = Bucket::start("docseal-hl-enc", "caf\u{e9}~ ", 2) else {
        return;
    };
    let names = ["caf\u{e9}~ 0.zip", "caf\u{e9}~ 1.zip"];
    t.add(&names).ok();
    let s = t.store();
    let listed = s.list("bundles/", None, 10).unwrap();
    let keys: Vec<&str> = listed.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, names.map(|n| format!("bundles/{n}")));
    assert!(listed.stray.is_empty(), "{listed:?}");
    let (loc, public) = (t.loc(), t.public.to_str().unwrap());
    let d = t.cmd(&["archive", "audit", &loc, "--trust", public]).run();
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
    assert!(d.stdout().contains("2 entries"), "{}", d.stdout());
    // A planted object of such a name is unlisted under its own name.
    s.put("bundles/\u{e9}t\u{e9}+x.zip", b"planted").unwrap();
    let j = t
        .cmd(&["archive", "audit", &loc, "--json", "--trust", public])
        .run();
    let got = findings_of(&j.stdout());
    assert_eq!(
        got,
        [(
            "archive.bundle_unlisted".to_string(),
            "error".to_string(),
            "bundles/\u{e9}t\u{e9}+x.zip".to_string()
        )]
    );
}

/// Attack (hlist, issue 17): the same planted names in a v2 archive in a bucket, audited
/// through a full copy: the copy cannot hold them (no file has such a name) and its listing
/// was refused (exit 2); now they are reported unlisted beside the copy's findings.
#[test]
fn attack_hlist_control_character_names_in_a_v2_bucket_are_unlisted() {
    let Some(t) = setup() else { return };
    let s = t.w.store("docseal-arch", "a1");
    assert!(s.size("log/sequence").unwrap().is_none(), "a v2 archive");
    s.put_named("bundles/\u{1b}]0;owned\u{7}.zip", b"planted")
        .unwrap();
    let public = t.public.to_str().unwrap();
    let d = t.run(&[
        "archive",
        "audit",
        "s3://docseal-arch/a1",
        "--json",
        "--trust",
        public,
    ]);
    assert_eq!(d.code(), 1, "{}{}", d.stdout(), d.stderr());
    assert_eq!(
        findings_of(&d.stdout()),
        [(
            "archive.bundle_unlisted".to_string(),
            "error".to_string(),
            "bundles/\u{1b}]0;owned\u{7}.zip".to_string()
        )]
    );
    let text = t.run(&[
        "archive",
        "audit",
        "s3://docseal-arch/a1",
        "--trust",
        public,
    ]);
    assert_eq!(text.code(), 1);
    assert!(
        text.stdout().contains("\\u{1b}]0;owned\\u{7}.zip") && !text.stdout().contains('\u{1b}'),
        "{}",
        text.stdout()
    );
}

/// Attack (hlist, issue 17): names a server may list that no key is: longer than 1,024 bytes
/// (SeaweedFS refuses those, another server may not), a `..` component written encoded
/// (`%2E%2E`), a directory marker, an encoded `/` inside a part. Each is a stray of the page
/// (listed, never addressed), the keys beside it items, and none is an error.
#[test]
fn attack_hlist_names_no_key_can_be_are_strays_not_errors() {
    let url = fake_s3(|_, _| {
        let long = format!("a/bundles/{}", "l".repeat(2000));
        list_reply(
            &[
                "a/bundles/%2E%2E/x".into(),
                "a/bundles/a%252Fb.zip".into(),
                "a/bundles/d/".into(),
                long,
                "a/bundles/ok.zip".into(),
            ],
            false,
        )
    });
    let vars = [
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKFAKE"),
        ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let s = docseal::store::S3Store::from_vars("docseal-lying", "a", vars).unwrap();
    let p = s.list("bundles/", None, 10).unwrap();
    let items: Vec<&str> = p.items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(items, ["bundles/ok.zip"]);
    assert_eq!(
        p.stray,
        [
            "bundles/../x".to_string(),
            "bundles/a%2Fb.zip".to_string(),
            "bundles/d/".to_string(),
            format!("bundles/{}", "l".repeat(2000)),
        ]
    );
    assert!(!p.more);
}

/// The audit of a v3 archive in a bucket checks its index in place (no copy of its two objects
/// an entry: 2 x 10^7 files for a 10^7-entry log, more than a disk of 16.7 million inodes
/// holds): the library audit of a copy without `log/index/` finds the index clean through the
/// store, and each damage done to the index in the bucket gives the findings the same damage
/// gives on a disk (an object removed, one holding other bytes, a valid one copied to another
/// path, junk at a directory's depth, a name no key can have).
#[test]
fn issue17_audit_of_a_v3_bucket_checks_its_index_in_place() {
    let Some(t) = Bucket::start("docseal-index", "p", 4) else {
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
    let trust = t.trust();
    // A copy without the index: the index is read from the bucket.
    let copy = env.path("noindex");
    weed::download(&s, &copy, |k| {
        !k.starts_with("log/index/") && !k.starts_with("bundles/")
    });
    let a = audit_in_place(&copy, &trust, &s);
    assert!(a.ok, "{:?}", a.findings);
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    let clean = cmd(&["archive", "audit", loc, "--trust", p]).run();
    assert_eq!(clean.code(), 0, "{}{}", clean.stdout(), clean.stderr());

    // Damage behind the archive's back.
    let objects: Vec<String> = {
        let mut v = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = s.list("log/index/", after.as_deref(), 1000).unwrap();
            v.extend(page.items.iter().map(|i| i.key.clone()));
            match page.items.last() {
                Some(l) if page.more => after = Some(l.key.clone()),
                _ => break,
            }
        }
        v
    };
    assert_eq!(objects.len(), 8, "{objects:?}");
    let names: Vec<&String> = objects.iter().filter(|k| k.contains("/name/")).collect();
    let contents: Vec<&String> = objects.iter().filter(|k| k.contains("/content/")).collect();
    s.delete(names[0]).unwrap();
    s.put(contents[1], b"junk\n").unwrap();
    let valid = s.get(names[2], 4096).unwrap().unwrap().bytes;
    let moved =
        "log/index/name/00/00/0000000000000000000000000000000000000000000000000000000000000000";
    s.put(moved, &valid).unwrap();
    s.put("log/index/name/ab/junk", b"junk").unwrap();
    // A well-formed object at its own path for an entry the log never held (999).
    let line = String::from_utf8(valid.clone()).unwrap();
    let mut fake = docseal::archive::Entry::parse(line.trim_end().as_bytes()).unwrap();
    fake.index = 999;
    fake.name = "never.zip".into();
    let beyond = docseal::archive::v3::name_index_path(&fake.name);
    s.put(&beyond, &docseal::archive::v3::index_bytes(&fake))
        .unwrap();
    let findings = |out: &str| -> std::collections::BTreeSet<(String, String)> {
        findings_of(out)
            .into_iter()
            .filter(|(c, _, _)| c.starts_with("log."))
            .map(|(c, _, p)| (c, p))
            .collect()
    };
    let remote = cmd(&["archive", "audit", loc, "--json", "--trust", p]).run();
    assert_eq!(remote.code(), 1, "{}{}", remote.stdout(), remote.stderr());
    let got = findings(&remote.stdout());
    let local_copy = env.path("copy");
    weed::download(&s, &local_copy, |_| true);
    let local = env
        .cmd()
        .args(["archive", "audit", "copy", "--json", "--trust", p])
        .run();
    assert_eq!(local.code(), 1, "{}", local.stdout());
    assert_eq!(got, findings(&local.stdout()), "{}", remote.stdout());
    for path in [
        names[0].as_str(),
        contents[1].as_str(),
        moved,
        "log/index/name/ab/junk",
        beyond.as_str(),
    ] {
        assert!(
            got.contains(&("log.index_invalid".to_string(), path.to_string())),
            "{path} not in {got:?}"
        );
    }
    // A name no key can have under the index: a finding naming it, not a refused listing.
    s.put_named("log/index/content/ab/cd/x\u{1}y", b"junk")
        .unwrap();
    let remote = cmd(&["archive", "audit", loc, "--json", "--trust", p]).run();
    assert_eq!(remote.code(), 1, "{}{}", remote.stdout(), remote.stderr());
    let got = findings(&remote.stdout());
    assert!(
        got.iter()
            .any(|(c, p)| c == "log.index_invalid" && p.starts_with("log/index/content/ab/cd/x")),
        "{got:?}"
    );
}
