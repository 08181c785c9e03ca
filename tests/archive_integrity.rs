//! The archive log's integrity, bounds and crash safety (issues 17, 19 and 20), driving the real
//! binary: `verify --archive` applies every log check `archive audit` applies; `archive add`
//! checks what it signs, takes an OS lock that waits and dies with its holder, never follows a
//! symbolic link, writes nothing group- or world-writable, and can be killed at any step;
//! audit and proofs run in bounded memory with capped findings; `check-proof` refuses options
//! that do not apply; names that differ only in case are refused.

use crate::common;

use common::synthetic::{hex_sha256, synthetic_log};
use common::{require_tool, Done, Env};
use docseal::archive::{Checkpoint, Entry};
use docseal::log::{self, CompactRange};
use std::path::{Path, PathBuf};

const T1: &str = "2026-02-01T00:00:00Z";
const T2: &str = "2026-03-01T00:00:00Z";
const T3: &str = "2026-04-01T00:00:00Z";
const LATER: &str = "2026-06-01T00:00:00Z";

/// Seal `text` as an article sealed at `created`.
fn pack(env: &Env, text: &str, created: &str, key: &Path, out: &str) -> PathBuf {
    env.pack_text(text, "A thaw", created, key, out, &[])
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

fn codes(d: &Done, severity: &str) -> Vec<String> {
    d.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn entry_lines(archive: &Path) -> Vec<String> {
    std::fs::read_to_string(archive.join("log/entries"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// Every path under `dir` (files and directories), recursively, not following links.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        out.push(e.path());
        if e.file_type().unwrap().is_dir() {
            walk(&e.path(), out);
        }
    }
}

struct Fixture {
    env: Env,
    reporter: (PathBuf, PathBuf),
    archive_key: (PathBuf, PathBuf),
}

impl Fixture {
    /// `in/a.zip` .. `in/h.zip` sealed by `reporter`; `arch`: a (checkpoint 1, T1), b (2, T2),
    /// c (3, T3).
    fn new() -> Fixture {
        let env = Env::new();
        let reporter = env.keygen("reporter");
        let archive_key = env.keygen("archive");
        std::fs::create_dir(env.path("in")).unwrap();
        for (i, n) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            pack(
                &env,
                &format!("article {n}\n"),
                &format!("2026-01-0{}T00:00:00Z", i + 1),
                &reporter.0,
                &format!("in/{n}.zip"),
            );
        }
        let f = Fixture {
            env,
            reporter,
            archive_key,
        };
        f.add("arch", &["in/a.zip"], T1).ok();
        f.add("arch", &["in/b.zip"], T2).ok();
        f.add("arch", &["in/c.zip"], T3).ok();
        f
    }
    fn add(&self, archive: &str, bundles: &[&str], time: &str) -> common::Run {
        self.env
            .cmd()
            .args(["archive", "add", archive])
            .args(bundles)
            .arg("--key")
            .arg(&self.archive_key.0)
            .args(["--time", time])
    }
    fn audit(&self, archive: &str, extra: &[&str]) -> Done {
        self.env
            .cmd()
            .args(["archive", "audit", archive, "--json", "--trust"])
            .arg(&self.archive_key.1)
            .args(extra)
            .run()
    }
    fn verify(&self, archive: &str, extra: &[&str]) -> Done {
        self.env
            .cmd()
            .args(["verify", "in/a.zip", "--trust"])
            .arg(&self.reporter.1)
            .arg("--archive-key")
            .arg(&self.archive_key.1)
            .args(["--archive", archive])
            .args(extra)
            .run()
    }
    fn copy(&self, name: &str) -> PathBuf {
        let p = self.env.path(name);
        copy_dir(&self.env.path("arch"), &p);
        p
    }
    /// Re-sign checkpoint `n` of `archive` after `change`, with the archive key.
    fn resign(&self, archive: &Path, n: u64, change: impl FnOnce(&mut Checkpoint)) {
        let dir = archive.join("log/checkpoints");
        let mut cp = Checkpoint::parse(&std::fs::read(dir.join(n.to_string())).unwrap()).unwrap();
        change(&mut cp);
        let key = common::secret_key(&self.archive_key.0);
        std::fs::write(dir.join(cp.size.to_string()), cp.body()).unwrap();
        std::fs::write(dir.join(format!("{}.minisig", cp.size)), cp.sign(&key)).unwrap();
    }
}

/// The root of the first `n` entry lines of `archive`.
fn root_of(archive: &Path, n: usize) -> log::Hash {
    let mut cr = CompactRange::new();
    for l in entry_lines(archive).iter().take(n) {
        cr.push(log::leaf_hash(l.as_bytes()));
    }
    cr.root()
}

// ---------------------------------------------------------------------------------------------
// Issue 19 item 4: verify --archive applies every log check audit applies
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item4_verify_archive_refuses_a_log_audit_refuses() {
    let f = Fixture::new();
    assert_eq!(
        f.verify("arch", &[]).code(),
        0,
        "{}",
        f.verify("arch", &[]).stderr()
    );

    // A `previous` that skips a checkpoint.
    let t = f.copy("previous");
    f.resign(&t, 3, |c| c.previous = 1);
    // A middle checkpoint removed.
    let m = f.copy("missing");
    std::fs::remove_file(m.join("log/checkpoints/2")).unwrap();
    std::fs::remove_file(m.join("log/checkpoints/2.minisig")).unwrap();
    // A checkpoint of another origin.
    let o = f.copy("origin");
    f.resign(&o, 3, |c| {
        c.origin = "docseal-archive/0000000000000000".into()
    });
    // An inserted checkpoint: a and b+c were added (checkpoints 1 and 3); a checkpoint 2 is
    // slipped in, dated earlier, with a valid root and signature, giving b an earlier time.
    f.add("ins", &["in/a.zip"], T1).ok();
    f.add("ins", &["in/b.zip", "in/c.zip"], T3).ok();
    let ins = f.env.path("ins");
    assert_eq!(f.audit("ins", &[]).code(), 0);
    let key = common::secret_key(&f.archive_key.0);
    let c1 = Checkpoint::parse(&std::fs::read(ins.join("log/checkpoints/1")).unwrap()).unwrap();
    let forged = Checkpoint {
        origin: c1.origin.clone(),
        size: 2,
        root: root_of(&ins, 2),
        time: chrono::DateTime::parse_from_rfc3339(T2)
            .unwrap()
            .with_timezone(&chrono::Utc),
        previous: 1,
    };
    std::fs::write(ins.join("log/checkpoints/2"), forged.body()).unwrap();
    std::fs::write(ins.join("log/checkpoints/2.minisig"), forged.sign(&key)).unwrap();

    for (name, code) in [
        ("previous", "log.checkpoint_inconsistent"),
        ("missing", "log.checkpoint_missing"),
        ("origin", "log.checkpoint_inconsistent"),
        ("ins", "log.checkpoint_inconsistent"),
    ] {
        let a = f.audit(name, &[]);
        assert_eq!(a.code(), 1, "{name}: {}", a.stdout());
        assert!(
            codes(&a, "error").contains(&code.to_string()),
            "{name}: {}",
            a.stdout()
        );
        let v = f.verify(name, &[]);
        assert_eq!(
            v.code(),
            2,
            "{name}: verify --archive must refuse\n{}",
            v.stdout()
        );
        assert!(v.stderr().contains(code), "{name}: {}", v.stderr());
        assert!(v.stderr().contains("archive audit"), "{}", v.stderr());
    }
}

#[test]
fn issue19_item4_verify_archive_with_a_kept_checkpoint_works_as_in_audit() {
    let f = Fixture::new();
    let env = &f.env;
    std::fs::create_dir(env.path("kept")).unwrap();
    for n in ["3", "3.minisig"] {
        std::fs::copy(
            env.path(&format!("arch/log/checkpoints/{n}")),
            env.path(&format!("kept/{n}")),
        )
        .unwrap();
    }
    // The key holder builds another, internally consistent log: only the kept checkpoint
    // shows it.
    f.add("rebuilt", &["in/c.zip"], T1).ok();
    f.add("rebuilt", &["in/a.zip"], T2).ok();
    f.add("rebuilt", &["in/b.zip"], T3).ok();
    assert_eq!(f.audit("rebuilt", &[]).code(), 0);
    assert_eq!(f.verify("rebuilt", &[]).code(), 0);
    let a = f.audit("rebuilt", &["--checkpoint", "kept/3"]);
    assert_eq!(a.code(), 1);
    let v = f.verify("rebuilt", &["--checkpoint", "kept/3"]);
    assert_eq!(v.code(), 2, "{}", v.stdout());
    assert!(v.stderr().contains("kept/3"), "{}", v.stderr());
    // The archive the checkpoint was kept from still extends it.
    let v = f.verify("arch", &["--checkpoint", "kept/3"]);
    assert_eq!(v.code(), 0, "{}", v.stderr());
    // --checkpoint means nothing without --archive.
    env.cmd()
        .args(["verify", "in/a.zip", "--trust"])
        .arg(&f.reporter.1)
        .args(["--checkpoint", "kept/3"])
        .fails(2);
}

// ---------------------------------------------------------------------------------------------
// Issue 19 item 5: add verifies every pending entry as a bundle before signing
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item5_add_refuses_to_sign_entries_whose_bundles_do_not_verify() {
    let f = Fixture::new();
    let append = |arch: &Path, line: String| {
        use std::io::Write;
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .open(arch.join("log/entries"))
            .unwrap();
        writeln!(w, "{line}").unwrap();
    };
    let cps = |arch: &Path| {
        std::fs::read_dir(arch.join("log/checkpoints"))
            .unwrap()
            .count()
    };

    // A hand-appended line whose bundle is junk (its file digest right).
    let t = f.copy("junk");
    let junk = b"PK junk, not a bundle".to_vec();
    std::fs::write(t.join("bundles/junk.zip"), &junk).unwrap();
    let line = format!(
        "3 {} {} urn:docseal:{} - junk.zip",
        hex_sha256(b"content junk"),
        hex_sha256(&junk),
        "5".repeat(32)
    );
    assert!(Entry::parse(line.as_bytes()).is_ok());
    append(&t, line);
    let before = cps(&t);
    let d = f.add("junk", &["in/d.zip"], LATER).fails(2);
    assert!(d.stderr().contains("junk.zip"), "{}", d.stderr());
    assert_eq!(cps(&t), before, "no checkpoint signed over junk");
    assert_eq!(entry_lines(&t).len(), 4);

    // A valid bundle, exactly the file logged, but the line claims another content.
    let t = f.copy("wrong");
    let d_bytes = std::fs::read(f.env.path("in/d.zip")).unwrap();
    std::fs::write(t.join("bundles/d.zip"), &d_bytes).unwrap();
    append(
        &t,
        format!(
            "3 {} {} urn:docseal:{} - d.zip",
            hex_sha256(b"not d"),
            hex_sha256(&d_bytes),
            "6".repeat(32)
        ),
    );
    let d = f.add("wrong", &["in/e.zip"], LATER).fails(2);
    assert!(d.stderr().contains("d.zip"), "{}", d.stderr());
    assert_eq!(cps(&t), before);

    // The line an interrupted add leaves for an intact bundle is completed.
    let t = f.copy("good");
    let e = f
        .env
        .cmd()
        .args(["inspect", "in/d.zip", "--json"])
        .ok()
        .json();
    std::fs::write(t.join("bundles/d.zip"), &d_bytes).unwrap();
    append(
        &t,
        format!(
            "3 {} {} {} - d.zip",
            e["content_sha256"].as_str().unwrap(),
            hex_sha256(&d_bytes),
            e["id"].as_str().unwrap()
        ),
    );
    f.add("good", &["in/e.zip"], LATER).ok();
    assert!(t.join("log/checkpoints/5").is_file());
    assert_eq!(f.audit("good", &[]).code(), 0);
}

// ---------------------------------------------------------------------------------------------
// Issue 19 item 7: findings capped; audit, prove and verify --archive in bounded memory
// ---------------------------------------------------------------------------------------------

/// Peak RSS (KiB), exit code and stdout of `docseal ARGS`, measured with `/usr/bin/time`.
fn peak_rss(env: &Env, args: &[&str]) -> (u64, i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_docseal"));
    let m = common::measure(env.dir.path(), bin, args);
    (m.kib, m.code, m.stdout)
}

#[test]
fn issue19_item7_audit_lists_at_most_50_findings_of_a_kind() {
    let env = Env::new();
    let (k, p) = env.keygen("archive");
    synthetic_log(
        &env.path("a"),
        130,
        &[100, 130],
        &common::secret_key(&k),
        false,
    );
    let d = env
        .cmd()
        .args(["archive", "audit", "a", "--json", "--trust"])
        .arg(&p)
        .run();
    assert_eq!(d.code(), 1);
    let removed: Vec<serde_json::Value> = d.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "archive.bundle_removed")
        .cloned()
        .collect();
    assert_eq!(removed.len(), 51, "50 listed and one saying how many");
    assert!(removed[50]["message"]
        .as_str()
        .unwrap()
        .contains("130 findings of this kind in all"));
    // The text form says the same.
    let d = env
        .cmd()
        .args(["archive", "audit", "a", "--trust"])
        .arg(&p)
        .run();
    assert_eq!(d.stdout().matches("archive.bundle_removed").count(), 51);
}

/// 2^20 entries whose bundles are all missing: audit (text and JSON), prove, prove-consistency
/// and verify --archive each stay under 64 MiB (they took 0.5 to 1.7 GB).
#[test]
fn issue19_item7_a_2pow20_entry_log_is_audited_and_proved_in_under_64_mib() {
    if !require_tool("/usr/bin/time") {
        return;
    }
    let env = Env::new();
    let (k, p) = env.keygen("archive");
    let n = 1u64 << 20;
    synthetic_log(
        &env.path("big"),
        n,
        &[1000, n - 1, n],
        &common::secret_key(&k),
        false,
    );
    let p = p.display().to_string();
    let limit = 64 * 1024;
    let (kib, code, out) = peak_rss(&env, &["archive", "audit", "big", "--trust", &p, "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["entries"], n);
    assert!(v["findings"].as_array().unwrap().len() <= 60, "capped");
    assert!(kib < limit, "audit --json: peak RSS {kib} KiB");
    let digest = hex_sha256(b"content 777777");
    let (kib, code, _) = peak_rss(
        &env,
        &["archive", "prove", "big", &digest, "--out", "p.json"],
    );
    assert_eq!(code, 0);
    assert!(kib < limit, "prove: peak RSS {kib} KiB");
    env.cmd()
        .args(["archive", "check-proof", "p.json", "--trust", &p])
        .ok();
    let (kib, code, _) = peak_rss(
        &env,
        &[
            "archive",
            "prove-consistency",
            "big",
            "--from",
            "1000",
            "--out",
            "c.json",
        ],
    );
    assert_eq!(code, 0);
    assert!(kib < limit, "prove-consistency: peak RSS {kib} KiB");
    env.cmd()
        .args(["archive", "check-proof", "c.json", "--trust", &p])
        .ok();
    let (pk, pp) = env.keygen("reporter");
    env.pack_sample(&pk, "s.zip");
    let pp = pp.display().to_string();
    let (kib, code, _) = peak_rss(
        &env,
        &[
            "verify",
            "s.zip",
            "--trust",
            &pp,
            "--archive-key",
            &p,
            "--archive",
            "big",
        ],
    );
    assert_eq!(code, 0);
    assert!(kib < limit, "verify --archive: peak RSS {kib} KiB");
}

// ---------------------------------------------------------------------------------------------
// Issue 19 item 9: check-proof refuses options that do not apply
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item9_check_proof_refuses_options_that_do_not_apply() {
    let f = Fixture::new();
    let env = &f.env;
    let run = |args: &[&str]| {
        env.cmd()
            .args(["archive", "check-proof"])
            .args(args)
            .arg("--trust")
            .arg(&f.archive_key.1)
    };
    env.cmd()
        .args(["archive", "prove", "arch", "in/a.zip", "--out", "inc.json"])
        .ok();
    env.cmd()
        .args([
            "archive",
            "prove-consistency",
            "arch",
            "--from",
            "1",
            "--out",
            "con.json",
        ])
        .ok();
    // Another log's checkpoint, kept.
    f.add("other", &["in/d.zip"], T1).ok();
    run(&["inc.json"]).ok();
    let d = run(&["inc.json", "--checkpoint", "other/log/checkpoints/1"]).fails(2);
    assert!(d.stderr().contains("--checkpoint"), "{}", d.stderr());
    assert!(!d.stdout().contains("OK"), "{}", d.stdout());
    // An older checkpoint of the same log: an inclusion proof cannot relate to it either.
    let d = run(&["inc.json", "--checkpoint", "arch/log/checkpoints/1"]).fails(2);
    assert!(d.stderr().contains("consistency proof"), "{}", d.stderr());
    // The very checkpoint the proof rests on is fine.
    run(&["inc.json", "--checkpoint", "arch/log/checkpoints/3"]).ok();
    // A bundle with a consistency proof.
    run(&["con.json"]).ok();
    let d = run(&["con.json", "--bundle", "in/a.zip"]).fails(2);
    assert!(d.stderr().contains("--bundle"), "{}", d.stderr());
    assert!(!d.stdout().contains("OK"));
    // A consistency proof against another log's checkpoint: refused as before.
    run(&["con.json", "--checkpoint", "other/log/checkpoints/1"]).fails(1);
}

// ---------------------------------------------------------------------------------------------
// Issue 19 item 12: bundle names that differ only in case
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item12_archive_names_differing_only_in_case_are_refused() {
    let f = Fixture::new();
    let env = &f.env;
    for (dir, name, from) in [
        ("x", "Story.zip", "d"),
        ("y", "story.zip", "e"),
        ("z", "STORY.ZIP", "f"),
    ] {
        std::fs::create_dir(env.path(dir)).unwrap();
        std::fs::copy(
            env.path(&format!("in/{from}.zip")),
            env.path(&format!("{dir}/{name}")),
        )
        .unwrap();
    }
    f.add("arch", &["x/Story.zip"], LATER).ok();
    let d = f.add("arch", &["y/story.zip"], LATER).fails(2);
    assert!(
        d.stderr().contains("differing only in case"),
        "{}",
        d.stderr()
    );
    // Within one command too.
    let d = f.add("arch", &["in/g.zip", "y/story.zip"], LATER).fails(2);
    assert!(d.stderr().contains("story.zip"), "{}", d.stderr());
    assert_eq!(entry_lines(&env.path("arch")).len(), 4);
    // A log that names two such files (written by hand) is named by audit.
    let t = f.copy("t");
    let bytes = std::fs::read(env.path("y/story.zip")).unwrap();
    let e = env
        .cmd()
        .args(["inspect", "y/story.zip", "--json"])
        .ok()
        .json();
    std::fs::write(t.join("bundles/story.zip"), &bytes).unwrap();
    let line = format!(
        "4 {} {} {} - story.zip",
        e["content_sha256"].as_str().unwrap(),
        hex_sha256(&bytes),
        e["id"].as_str().unwrap()
    );
    let mut s = std::fs::read_to_string(t.join("log/entries")).unwrap();
    s.push_str(&line);
    s.push('\n');
    std::fs::write(t.join("log/entries"), s).unwrap();
    let a = f.audit("t", &[]);
    assert_eq!(a.code(), 1, "{}", a.stdout());
    assert!(a.stdout().contains("differ only in case"), "{}", a.stdout());
}

// ---------------------------------------------------------------------------------------------
// Issue 20 item 4: no symbolic link inside an archive is followed
// ---------------------------------------------------------------------------------------------

#[test]
fn issue20_item4_archive_paths_are_never_followed_and_audit_flags_links() {
    let f = Fixture::new();
    let env = &f.env;
    let outside = env.path("outside");
    let cases: [(&str, &str); 5] = [
        ("bundles", "dir"),
        ("log/checkpoints", "dir"),
        ("log", "dir"),
        ("log/entries", "file"),
        ("log/pending", "dir"),
    ];
    for (i, (rel, kind)) in cases.iter().enumerate() {
        let t = f.copy(&format!("s{i}"));
        let target = outside.join(format!("{i}"));
        let p = t.join(rel);
        if *kind == "dir" {
            copy_dir(&p, &target);
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::create_dir_all(&outside).unwrap();
            std::fs::rename(&p, &target).unwrap();
        }
        std::os::unix::fs::symlink(&target, &p).unwrap();
        let mut before = Vec::new();
        walk(&outside, &mut before);
        let sizes = |v: &[PathBuf]| -> Vec<(PathBuf, u64)> {
            v.iter()
                .map(|p| (p.clone(), std::fs::symlink_metadata(p).unwrap().len()))
                .collect()
        };
        let before = sizes(&before);
        let name = format!("s{i}");
        let d = f.add(&name, &["in/d.zip"], LATER).fails(2);
        assert!(
            d.stderr().contains("symbolic link"),
            "{rel}: {}",
            d.stderr()
        );
        let mut after = Vec::new();
        walk(&outside, &mut after);
        assert_eq!(
            sizes(&after),
            before,
            "{rel}: nothing written through the link"
        );
        let a = f.audit(&name, &[]);
        assert_eq!(a.code(), 1, "{rel}: {}", a.stdout());
        assert!(
            codes(&a, "error").contains(&"archive.symlink".to_string()),
            "{rel}: {}",
            a.stdout()
        );
        if *rel != "bundles" {
            let v = f.verify(&name, &[]);
            assert_eq!(v.code(), 2, "{rel}: {}", v.stderr());
        }
    }
    // A link among the bundles, listed or not; and in log/checkpoints.
    let t = f.copy("files");
    std::fs::rename(t.join("bundles/a.zip"), outside.join("a.zip")).unwrap();
    std::os::unix::fs::symlink(outside.join("a.zip"), t.join("bundles/a.zip")).unwrap();
    std::os::unix::fs::symlink(outside.join("a.zip"), t.join("bundles/extra.zip")).unwrap();
    std::os::unix::fs::symlink(outside.join("a.zip"), t.join("log/checkpoints/x")).unwrap();
    let a = f.audit("files", &[]);
    let links: Vec<String> = a.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "archive.symlink")
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    for p in ["bundles/a.zip", "bundles/extra.zip", "log/checkpoints/x"] {
        assert!(links.contains(&p.to_string()), "{p}: {links:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 20 item 8: every step of archive add is recoverable
// ---------------------------------------------------------------------------------------------

const STEPS: [&str; 10] = [
    "copying",
    "copied",
    "appending",
    "appended",
    "moving",
    "moved",
    "signing",
    "signed",
    "noting",
    "noted",
];

/// No temporary file, nothing in log/pending, no lock file.
fn clean(arch: &Path) -> bool {
    let mut all = Vec::new();
    walk(arch, &mut all);
    all.iter().all(|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        !(n.ends_with(".tmp") || n == "lock" || p.parent().unwrap().ends_with("log/pending"))
    })
}

#[test]
fn issue20_item8_add_killed_at_every_step_is_completed_or_rolled_back() {
    let f = Fixture::new();
    for (i, step) in STEPS.iter().enumerate() {
        let name = format!("k{i}");
        let t = f.copy(&name);
        let d = f
            .add(&name, &["in/d.zip", "in/e.zip"], LATER)
            .env(docseal::archive::CRASH_HOOK, step)
            .run();
        assert_eq!(d.code(), -1, "{step}: killed by a signal\n{}", d.stderr());
        // What audit sees: only what an interrupted add leaves, never an error.
        let a = f.audit(&name, &[]);
        assert_eq!(a.code(), 0, "{step}: {}", a.stdout());
        let warnings = codes(&a, "warning");
        assert!(
            warnings
                .iter()
                .all(|c| c == "log.interrupted" || c == "log.unsigned_entries"),
            "{step}: {warnings:?}"
        );
        if *step != "noted" {
            assert!(!warnings.is_empty(), "{step}: the interruption is reported");
        }
        // verify --archive still works on it.
        assert_eq!(f.verify(&name, &[]).code(), 0, "{step}");
        // The next add completes or rolls back, with no manual step.
        let d = f.add(&name, &["in/f.zip"], LATER).ok();
        let a = f.audit(&name, &[]);
        assert_eq!(a.code(), 0, "{step}: {}", a.stdout());
        assert!(
            a.json()["findings"].as_array().unwrap().is_empty(),
            "{step}: {}",
            a.stdout()
        );
        assert!(clean(&t), "{step}: leftovers");
        let names: Vec<String> = entry_lines(&t)
            .iter()
            .map(|l| Entry::parse(l.as_bytes()).unwrap().name)
            .collect();
        let logged = i >= STEPS.iter().position(|s| *s == "appended").unwrap();
        if *step == "appending" {
            // Killed in the middle of the second line: the first is logged, the rest rolled
            // back.
            assert_eq!(
                names,
                ["a.zip", "b.zip", "c.zip", "d.zip", "f.zip"],
                "{step}"
            );
            f.add(&name, &["in/e.zip"], LATER).ok();
            assert_eq!(f.audit(&name, &[]).code(), 0);
        } else if logged {
            assert_eq!(
                names,
                ["a.zip", "b.zip", "c.zip", "d.zip", "e.zip", "f.zip"],
                "{step}"
            );
        } else {
            assert_eq!(names, ["a.zip", "b.zip", "c.zip", "f.zip"], "{step}");
            // Rolled back: the same bundles can be added again.
            f.add(&name, &["in/d.zip", "in/e.zip"], LATER).ok();
            assert_eq!(f.audit(&name, &[]).code(), 0);
        }
        let _ = d;
    }
}

#[test]
fn issue20_item8_first_add_killed_at_every_step_is_completed_or_rolled_back() {
    let f = Fixture::new();
    for (i, step) in STEPS.iter().enumerate() {
        let name = format!("new{i}");
        let d = f
            .add(&name, &["in/d.zip", "in/e.zip"], T1)
            .env(docseal::archive::CRASH_HOOK, step)
            .run();
        assert_eq!(d.code(), -1, "{step}: killed by a signal\n{}", d.stderr());
        f.add(&name, &["in/f.zip"], T2).ok();
        let a = f.audit(&name, &[]);
        assert_eq!(a.code(), 0, "{step}: {}", a.stdout());
        assert!(
            a.json()["findings"].as_array().unwrap().is_empty(),
            "{step}: {}",
            a.stdout()
        );
        let t = f.env.path(&name);
        assert!(clean(&t), "{step}: leftovers");
        let n = entry_lines(&t).len();
        let appended = STEPS.iter().position(|s| *s == "appended").unwrap();
        let want = match i {
            _ if *step == "appending" => 2,
            _ if i >= appended => 3,
            _ => 1,
        };
        assert_eq!(n, want, "{step}");
    }
}

#[test]
fn issue20_item8_audit_tells_interrupted_from_tampered() {
    let f = Fixture::new();
    // Interrupted after signing: a warning; the note removed from the middle: an error.
    let t = f.copy("mid");
    std::fs::remove_file(t.join("log/checkpoints/2")).unwrap();
    let a = f.audit("mid", &[]);
    assert_eq!(a.code(), 1);
    assert!(codes(&a, "error").contains(&"log.checkpoint_missing".to_string()));
    // The latest note removed, but its signature is not the archive key's: an error.
    let t = f.copy("forged");
    std::fs::remove_file(t.join("log/checkpoints/3")).unwrap();
    let other = f.env.keygen("other");
    let cp =
        Checkpoint::parse(&std::fs::read(f.env.path("arch/log/checkpoints/3")).unwrap()).unwrap();
    std::fs::write(
        t.join("log/checkpoints/3.minisig"),
        cp.sign(&common::secret_key(&other.0)),
    )
    .unwrap();
    let a = f.audit("forged", &[]);
    assert_eq!(a.code(), 1, "{}", a.stdout());
    assert!(codes(&a, "error").contains(&"log.checkpoint_missing".to_string()));
    f.add("forged", &["in/d.zip"], LATER).fails(2);
    // Any other file in log/checkpoints: tampered; a docseal temporary file: interrupted.
    let t = f.copy("stray");
    std::fs::write(t.join("log/checkpoints/notes.txt"), "x").unwrap();
    assert!(codes(&f.audit("stray", &[]), "error").contains(&"log.malformed".to_string()));
    let t = f.copy("temp");
    std::fs::write(t.join("log/checkpoints/.docseal-abc123.tmp"), "x").unwrap();
    let a = f.audit("temp", &[]);
    assert_eq!(a.code(), 0);
    assert_eq!(codes(&a, "warning"), ["log.interrupted"]);
    f.add("temp", &["in/d.zip"], LATER).ok();
    assert!(!t.join("log/checkpoints/.docseal-abc123.tmp").exists());
    // A directory in log/pending is no add's doing.
    let t = f.copy("pdir");
    std::fs::create_dir_all(t.join("log/pending/x.zip")).unwrap();
    assert!(codes(&f.audit("pdir", &[]), "error").contains(&"log.malformed".to_string()));
    f.add("pdir", &["in/d.zip"], LATER).fails(2);
    // A bundle put in bundles/ by hand stays an error (never removed by add).
    let t = f.copy("unlisted");
    std::fs::copy(f.env.path("in/g.zip"), t.join("bundles/g.zip")).unwrap();
    assert!(
        codes(&f.audit("unlisted", &[]), "error").contains(&"archive.bundle_unlisted".to_string())
    );
}

/// Real `kill -9` at random moments of an add: after each, audit reports no error and the next
/// add succeeds with no manual step (the lock died with its holder).
#[test]
fn issue20_item8_kill_9_at_random_moments_then_add_succeeds() {
    let f = Fixture::new();
    let arch = f.env.path("arch");
    let bundles = ["in/d.zip", "in/e.zip", "in/f.zip", "in/g.zip", "in/h.zip"];
    let mut next = 0;
    for round in 0..6u64 {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_docseal"));
        cmd.current_dir(f.env.dir.path())
            .args(["archive", "add", "arch", bundles[next % bundles.len()]])
            .arg("--key")
            .arg(&f.archive_key.0)
            .args(["--time", LATER])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3 + round * 7));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let a = f.audit("arch", &[]);
        assert_eq!(a.code(), 0, "round {round}: {}", a.stdout());
        // The next add (of something not yet logged) succeeds.
        let logged: Vec<String> = entry_lines(&arch)
            .iter()
            .map(|l| Entry::parse(l.as_bytes()).unwrap().name)
            .collect();
        while next < bundles.len()
            && logged.contains(&bundles[next].trim_start_matches("in/").to_string())
        {
            next += 1;
        }
        if next >= bundles.len() {
            break;
        }
        f.add("arch", &[bundles[next]], LATER).ok();
        next += 1;
        let a = f.audit("arch", &[]);
        assert!(
            a.json()["findings"].as_array().unwrap().is_empty(),
            "{}",
            a.stdout()
        );
        assert!(clean(&arch));
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 20 item 9: archive files and directories are never group- or world-writable
// ---------------------------------------------------------------------------------------------

#[test]
fn issue20_item9_archive_is_never_group_or_world_writable_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let env = &f.env;
    let run = |archive: &str, bundle: &str| {
        let out = std::process::Command::new("sh")
            .current_dir(env.dir.path())
            .arg("-c")
            .arg(format!(
                "umask 000; exec \"$0\" archive add {archive} {bundle} --key \"$1\" --time {LATER}"
            ))
            .arg(env!("CARGO_BIN_EXE_docseal"))
            .arg(&f.archive_key.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run("fresh", "in/d.zip");
    run("fresh", "in/e.zip");
    let arch = env.path("fresh");
    let mut all = vec![arch.clone()];
    walk(&arch, &mut all);
    assert!(all.len() >= 9, "{all:?}");
    for p in &all {
        let mode = std::fs::symlink_metadata(p).unwrap().permissions().mode();
        assert_eq!(mode & 0o022, 0, "{}: mode {:o}", p.display(), mode);
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 17 (local part): an OS lock that waits, released when its holder dies
// ---------------------------------------------------------------------------------------------

#[test]
fn issue17_twenty_concurrent_adds_all_succeed() {
    let env = Env::new();
    let (rk, _) = env.keygen("reporter");
    let (ak, ap) = env.keygen("archive");
    std::fs::create_dir(env.path("in")).unwrap();
    for i in 0..20 {
        pack(
            &env,
            &format!("story {i}\n"),
            "2026-01-01T00:00:00Z",
            &rk,
            &format!("in/s{i:02}.zip"),
        );
    }
    let children: Vec<std::process::Child> = (0..20)
        .map(|i| {
            std::process::Command::new(env!("CARGO_BIN_EXE_docseal"))
                .current_dir(env.dir.path())
                .args([
                    "archive",
                    "add",
                    "arch",
                    &format!("in/s{i:02}.zip"),
                    "--key",
                ])
                .arg(&ak)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let arch = env.path("arch");
    let mut names: Vec<String> = entry_lines(&arch)
        .iter()
        .map(|l| Entry::parse(l.as_bytes()).unwrap().name)
        .collect();
    names.sort();
    let want: Vec<String> = (0..20).map(|i| format!("s{i:02}.zip")).collect();
    assert_eq!(names, want);
    let a = env
        .cmd()
        .args(["archive", "audit", "arch", "--json", "--trust"])
        .arg(&ap)
        .run();
    assert_eq!(a.code(), 0, "{}", a.stdout());
    assert!(!arch.join("log/lock").exists());
}

#[test]
fn issue17_add_waits_for_the_lock_and_gives_up_after_wait_seconds() {
    if !require_tool("flock") {
        return;
    }
    let f = Fixture::new();
    // Another holder of the archive's lock (flock(1) on the log directory).
    let mut holder = std::process::Command::new("flock")
        .current_dir(f.env.dir.path())
        .args(["-o", "arch/log", "sleep", "30"])
        .spawn()
        .unwrap();
    // Until it holds the lock (`flock -n` fails while another holds it).
    let held = || {
        !std::process::Command::new("flock")
            .current_dir(f.env.dir.path())
            .args(["-n", "arch/log", "true"])
            .status()
            .unwrap()
            .success()
    };
    let start = std::time::Instant::now();
    while !held() {
        assert!(
            start.elapsed().as_secs() < 20,
            "flock(1) never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let d = f
        .add("arch", &["in/d.zip"], LATER)
        .args(["--wait", "1"])
        .fails(2);
    assert!(
        d.stderr().contains("another docseal archive add"),
        "{}",
        d.stderr()
    );
    assert_eq!(entry_lines(&f.env.path("arch")).len(), 3);
    // The holder dies: its lock goes with it, and the add goes through (while waiting).
    let waiting = f.add("arch", &["in/d.zip"], LATER).args(["--wait", "20"]);
    let t = std::thread::spawn(move || waiting.run());
    std::thread::sleep(std::time::Duration::from_millis(500));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let d = t.join().unwrap();
    assert_eq!(d.code(), 0, "{}", d.stderr());
    assert_eq!(entry_lines(&f.env.path("arch")).len(), 4);
}

/// An archive stripped to its head (every checkpoint, entry and tile removed, `log/checkpoint`
/// left, or a head of garbage alone) is not an empty archive that audits OK: the head says
/// the log signed checkpoints, and none is there (`log.checkpoint_missing`, exit 1).
#[test]
fn attack_head_without_any_checkpoint_is_not_an_ok_archive() {
    let f = Fixture::new();
    assert_eq!(f.audit("arch", &[]).code(), 0);
    let stripped = f.copy("stripped");
    for p in ["log/checkpoints", "log/tile", "bundles"] {
        std::fs::remove_dir_all(stripped.join(p)).unwrap();
    }
    std::fs::create_dir(stripped.join("log/checkpoints")).unwrap();
    std::fs::remove_file(stripped.join("log/entries")).unwrap();
    let garbage = f.env.path("garbage");
    std::fs::create_dir_all(garbage.join("log")).unwrap();
    std::fs::write(garbage.join("log/checkpoint"), "garbage\n").unwrap();
    for a in ["stripped", "garbage"] {
        let d = f.audit(a, &[]);
        assert_eq!(d.code(), 1, "{a}: {}", d.stdout());
        assert!(
            codes(&d, "error").contains(&"log.checkpoint_missing".to_string()),
            "{a}: {}",
            d.stdout()
        );
    }
    // A new, empty archive (no head) still audits OK.
    std::fs::create_dir_all(f.env.path("empty/log")).unwrap();
    assert_eq!(f.audit("empty", &[]).code(), 0);
}

/// A checkpoint file that cannot be read (a FIFO, a directory in its place) is a finding among
/// the others (`log.malformed` naming it, exit 1), not the end of the audit (exit 2 with no
/// report); `verify --archive` refuses such an archive as a whole, as any damaged log.
#[test]
fn attack_unreadable_checkpoint_file_is_a_finding_not_the_end_of_the_audit() {
    let f = Fixture::new();
    let fifo = f.copy("fifo");
    std::fs::remove_file(fifo.join("log/checkpoints/1")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(fifo.join("log/checkpoints/1"))
        .status()
        .unwrap();
    assert!(made.success());
    let dir = f.copy("dir");
    std::fs::remove_file(dir.join("log/checkpoints/2.minisig")).unwrap();
    std::fs::create_dir(dir.join("log/checkpoints/2.minisig")).unwrap();
    for (a, at) in [
        ("fifo", "log/checkpoints/1"),
        ("dir", "log/checkpoints/2.minisig"),
    ] {
        let d = f.audit(a, &[]);
        assert_eq!(d.code(), 1, "{a}: {}{}", d.stdout(), d.stderr());
        let v: serde_json::Value = serde_json::from_str(&d.stdout()).unwrap();
        let named = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "log.malformed" && x["path"].as_str() == Some(at));
        assert!(named, "{a}: {}", d.stdout());
        assert_eq!(v["entries"], 3, "{a}: the entries are still read");
        assert_eq!(f.verify(a, &[]).code(), 2, "{a}");
    }
}

/// A checkpoint an entry (before, every reader kept them in memory and refused more than
/// 100,000): audit counts and checks them all, proofs are made from any of them, a local add
/// extends the log, `verify --archive` reads it; and every check of the chain still fires on
/// checkpoints far into it (past the records an audit keeps in memory, so read back from its
/// temporary file): a root that does not hash, a checkpoint removed, one back-dated, the log
/// truncated under the last ones. 40,000 checkpoints by default (both kinds of records spill
/// past 256 KiB); `DOCSEAL_CHECKPOINTS_N=100010` runs it past the old limit (229 s, debug
/// build).
#[test]
fn issue17_more_checkpoints_than_the_old_limit_are_checked_proved_and_added_to() {
    let env = Env::new();
    let (k, p) = env.keygen("archive");
    let key = common::secret_key(&k);
    let n: u64 = std::env::var("DOCSEAL_CHECKPOINTS_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40_000);
    let (a, late, m, b) = (n * 6 / 10, n * 7 / 10, n * 8 / 10, n * 9 / 10);
    let sizes: Vec<u64> = (1..=n).collect();
    synthetic_log(&env.path("a"), n, &sizes, &key, false);
    let p = p.display().to_string();
    let audit = || {
        env.cmd()
            .args(["archive", "audit", "a", "--json", "--trust", &p])
            .run()
    };
    let d = audit();
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert_eq!(d.json()["checkpoints"], n);
    assert_eq!(d.json()["latest"]["size"], n);
    let mut errors = codes(&d, "error");
    errors.dedup();
    assert_eq!(errors, vec!["archive.bundle_removed"], "{}", d.stdout());

    // Proofs against checkpoints deep in the log.
    let digest = hex_sha256(b"content 5");
    let (a_s, b_s) = (a.to_string(), b.to_string());
    env.cmd()
        .args(["archive", "prove", "a", &digest, "--checkpoint", &a_s])
        .args(["--out", "p.json"])
        .ok();
    let proof = std::fs::read_to_string(env.path("p.json")).unwrap();
    assert!(proof.contains(&format!("\\n{a}\\n")), "{proof}");
    env.cmd()
        .args(["archive", "check-proof", "p.json", "--trust", &p])
        .ok();
    let late_digest = hex_sha256(format!("content {late}").as_bytes());
    let d = env
        .cmd()
        .args(["archive", "prove", "a", &late_digest, "--checkpoint", &a_s])
        .args(["--out", "q.json"])
        .run();
    assert_eq!(d.code(), 2);
    let first = format!("the first that does is {}", late + 1);
    assert!(d.stderr().contains(&first), "{}", d.stderr());
    env.cmd()
        .args([
            "archive",
            "prove-consistency",
            "a",
            "--from",
            &(n / 2).to_string(),
        ])
        .args(["--to", &b_s, "--out", "c.json"])
        .ok();
    env.cmd()
        .args(["archive", "check-proof", "c.json", "--trust", &p])
        .ok();

    // A local add past them all (refused past 100,000 before), and verify --archive.
    let (rk, rp) = env.keygen("reporter");
    env.pack_sample(&rk, "s.zip");
    let k = k.display().to_string();
    env.cmd()
        .args(["archive", "add", "a", "s.zip", "--key", &k])
        .ok();
    let d = audit();
    assert_eq!(d.json()["checkpoints"], n + 1, "{}", d.stdout());
    let mut errors = codes(&d, "error");
    errors.dedup();
    assert_eq!(errors, vec!["archive.bundle_removed"], "{}", d.stdout());
    let verify = || {
        env.cmd()
            .args(["verify", "s.zip", "--trust"])
            .arg(&rp)
            .args(["--archive-key", &p, "--archive", "a"])
            .run()
    };
    let d = verify();
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());

    // Damage far into the chain.
    let dir = env.path("a/log/checkpoints");
    let resign = |size: u64, edit: &dyn Fn(&mut Checkpoint)| {
        let mut cp =
            Checkpoint::parse(&std::fs::read(dir.join(size.to_string())).unwrap()).unwrap();
        edit(&mut cp);
        std::fs::write(dir.join(size.to_string()), cp.body()).unwrap();
        std::fs::write(dir.join(format!("{size}.minisig")), cp.sign(&key)).unwrap();
    };
    resign(a, &|cp| cp.root = [7u8; 32]);
    resign(b, &|cp| {
        cp.time = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    });
    for f in [m.to_string(), format!("{m}.minisig")] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let entries = entry_lines(&env.path("a"));
    let kept: String = entries[..entries.len() - 6]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(env.path("a/log/entries"), kept).unwrap();
    let d = audit();
    assert_eq!(d.code(), 1);
    let at = |code: &str| -> Vec<String> {
        d.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .filter_map(|f| f["path"].as_str().map(String::from))
            .collect()
    };
    let cp = |s: u64| vec![format!("log/checkpoints/{s}")];
    assert_eq!(at("log.entry_altered"), cp(a), "{}", d.stdout());
    assert_eq!(at("log.checkpoint_missing"), cp(m), "{}", d.stdout());
    assert_eq!(at("log.checkpoint_inconsistent"), cp(b), "{}", d.stdout());
    let truncated: Vec<String> = (n - 4..=n + 1)
        .map(|s| format!("log/checkpoints/{s}"))
        .collect();
    assert_eq!(at("log.truncated"), truncated, "{}", d.stdout());
    // verify --archive refuses the damaged log, as audit finds it.
    let d = verify();
    assert_eq!(d.code(), 2, "{}{}", d.stdout(), d.stderr());
}

/// Two checkpoint notes removed, their signatures left: the one that is not the largest is a
/// checkpoint removed (`log.checkpoint_missing`), as it is when it is the only one; the
/// largest's signature alone no longer hides it (before, the second signature without its
/// note replaced the first, and the audit passed with two warnings).
#[test]
fn attack_att7_two_notes_removed_is_not_an_interrupted_add() {
    let f = Fixture::new();
    let one = f.copy("one");
    std::fs::remove_file(one.join("log/checkpoints/1")).unwrap();
    let two = f.copy("two");
    for n in ["1", "3"] {
        std::fs::remove_file(two.join("log/checkpoints").join(n)).unwrap();
    }
    for a in ["one", "two"] {
        let d = f.audit(a, &[]);
        assert_eq!(d.code(), 1, "{a}: {}{}", d.stdout(), d.stderr());
        let v: serde_json::Value = serde_json::from_str(&d.stdout()).unwrap();
        let named = v["findings"].as_array().unwrap().iter().any(|x| {
            x["code"] == "log.checkpoint_missing" && x["path"].as_str() == Some("log/checkpoints/1")
        });
        assert!(named, "{a}: {}", d.stdout());
        assert_eq!(f.verify(a, &[]).code(), 2, "{a}");
    }
}

/// More than 100,000 files that are not checkpoints in `log/checkpoints/` end the audit (exit
/// 2) with one line naming the directory and that bound, not "more than 1099511627776
/// checkpoints" (the checkpoints' bound, which a few strays are far from); `verify --archive`
/// refuses the archive the same way.
#[test]
fn attack_att7_too_many_strays_are_named_as_strays() {
    let f = Fixture::new();
    let a = f.copy("strays");
    for i in 0..=100_000 {
        std::fs::File::create(a.join(format!("log/checkpoints/x{i}"))).unwrap();
    }
    let d = f.audit("strays", &[]);
    assert_eq!(d.code(), 2, "{}{}", d.stdout(), d.stderr());
    let e = d.stderr();
    assert!(
        e.contains("strays/log/checkpoints: holds more than 100000 files that are not checkpoints")
            && !e.contains("1099511627776")
            && e.trim().lines().count() == 1,
        "{e}"
    );
    let v = f.verify("strays", &[]);
    assert_eq!(v.code(), 2, "{}", v.stderr());
    assert!(
        v.stderr().contains("100000 files that are not checkpoints"),
        "{}",
        v.stderr()
    );
}

/// `verify --archive` notes at most 50 checkpoints it does not count (here signed by a key
/// trusted only to sign bundles), then says how many in all: the other 8 are not passed over
/// in silence (before, the 51st to 58th went unmentioned).
#[test]
fn attack_att7_verify_archive_says_how_many_checkpoints_it_did_not_count() {
    let env = Env::new();
    let (k, p) = env.keygen("archive");
    let (rk, rp) = env.keygen("reporter");
    let key = common::secret_key(&k);
    let reporter = common::secret_key(&rk);
    let sizes: Vec<u64> = (1..=60).collect();
    synthetic_log(&env.path("a"), 60, &sizes, &key, false);
    let dir = env.path("a/log/checkpoints");
    for size in 2..=59u64 {
        let cp = Checkpoint::parse(&std::fs::read(dir.join(size.to_string())).unwrap()).unwrap();
        std::fs::write(dir.join(format!("{size}.minisig")), cp.sign(&reporter)).unwrap();
    }
    env.pack_sample(&rk, "s.zip");
    let d = env
        .cmd()
        .args(["verify", "s.zip", "--trust"])
        .arg(&rp)
        .arg("--archive-key")
        .arg(&p)
        .args(["--archive", "a"])
        .run();
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
    let e = d.stderr();
    let listed = e.lines().filter(|l| l.contains("not counted: key")).count();
    assert_eq!(listed, 50, "{e}");
    assert!(
        e.contains("58 checkpoints in all not counted; the first 50 are listed"),
        "{e}"
    );
}

/// Readers spill checkpoint records and sizes to anonymous temporary files (in `TMPDIR`): with
/// `TMPDIR` unusable, audit, prove and `verify --archive` of a log of 5,000 checkpoints (past
/// the records kept in memory) stop with one line naming that directory, exit 4 (I/O), no
/// panic, and prove writes no proof.
#[test]
fn attack_att7_unusable_tmpdir_is_one_line_exit_4() {
    let env = Env::new();
    let (k, p) = env.keygen("archive");
    let key = common::secret_key(&k);
    let sizes: Vec<u64> = (1..=5_000).collect();
    synthetic_log(&env.path("a"), 5_000, &sizes, &key, false);
    let (rk, rp) = env.keygen("reporter");
    env.pack_sample(&rk, "s.zip");
    let gone = env.path("no-such-tmp");
    let tmp = gone.display().to_string();
    let digest = hex_sha256(b"content 5");
    let runs: [Vec<String>; 3] = [
        vec!["archive", "audit", "a", "--trust", &p.display().to_string()],
        vec!["archive", "prove", "a", &digest, "--out", "p.json"],
        vec![
            "verify",
            "s.zip",
            "--trust",
            &rp.display().to_string(),
            "--archive-key",
            &p.display().to_string(),
            "--archive",
            "a",
        ],
    ]
    .map(|v| v.iter().map(|s| s.to_string()).collect());
    for args in &runs {
        let d = env.cmd().args(args).env("TMPDIR", &tmp).run();
        assert_eq!(d.code(), 4, "{args:?}: {}{}", d.stdout(), d.stderr());
        let e = d.stderr();
        assert!(
            e.trim().lines().count() == 1 && e.contains(&tmp) && !e.contains("panicked"),
            "{args:?}: {e}"
        );
    }
    assert!(!env.path("p.json").exists());
    // With it usable, the same commands run.
    env.cmd()
        .args(["archive", "prove", "a", &digest, "--out", "p.json"])
        .ok();
}
