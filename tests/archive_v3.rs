//! Archive log v3 (issue 17; docs/FORMAT.md, "Archive log v3"), reading side, driving the real
//! binary: `archive migrate --to v3` lays a v2 log out as v3 (log/sequence and log/index/
//! instead of log/entries); audit, prove, prove-consistency and verify --archive read the
//! entries from the entry bundles and the sequence's tail and give what they give on v2; the
//! log-v3 vector is recomputed; tampering and hostile files are findings.

use crate::common;
use crate::common::weed;

use common::{Done, Env};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The log-v2 vector copied to `name` under the test directory.
fn v2_copy(env: &Env, name: &str) -> PathBuf {
    let a = env.path(name);
    copy_dir(&repo("tests/vectors/log-v2/archive"), &a);
    a
}

/// The log-v2 vector migrated to v3 in `name`.
fn v3_copy(env: &Env, name: &str) -> PathBuf {
    let a = v2_copy(env, name);
    env.cmd()
        .args(["archive", "migrate"])
        .arg(&a)
        .args(["--to", "v3"])
        .ok();
    a
}

fn audit(env: &Env, a: &Path) -> Done {
    env.cmd()
        .args(["archive", "audit", "--json"])
        .arg(a)
        .arg("--trust")
        .arg(repo("tests/vectors/log-v1/archive-key.pub"))
        .run()
}

/// The findings of an audit as (code, severity, path), the archive's own path taken out.
fn findings(d: &Done) -> Vec<(String, String, String)> {
    assert!(!d.stdout().is_empty(), "exit {}: {}", d.code(), d.stderr());
    d.json()["findings"]
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

/// The codes of the findings beyond the vector's own (it has no bundles/: every entry's
/// bundle is `archive.bundle_removed`).
fn extra_codes(d: &Done) -> Vec<String> {
    findings(d)
        .into_iter()
        .filter(|(c, _, _)| c != "archive.bundle_removed")
        .map(|(c, s, p)| format!("{c} {s} {p}"))
        .collect()
}

fn content(i: u32) -> String {
    hex(&Sha256::digest(format!("content {i}").as_bytes()))
}

#[test]
fn issue17_log_v3_vector_is_the_v2_vector_migrated_byte_for_byte() {
    let env = Env::new();
    let made = v3_copy(&env, "archive");
    let mut got = Vec::new();
    files_under(&made, ".", &mut got);
    got.sort();
    let dir = repo("tests/vectors/log-v3/archive");
    let write = std::env::var_os("DOCSEAL_WRITE_VECTORS").is_some();
    for name in &got {
        let bytes = std::fs::read(made.join(name)).unwrap();
        let p = dir.join(name);
        if write && !p.exists() {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, &bytes).unwrap();
        }
        let want = std::fs::read(&p)
            .unwrap_or_else(|e| panic!("{}: {e} (DOCSEAL_WRITE_VECTORS=1 makes it)", p.display()));
        assert_eq!(want, bytes, "{name} is not what the current code makes");
    }
    let mut committed = Vec::new();
    files_under(&dir, ".", &mut committed);
    committed.sort();
    assert_eq!(committed, got, "files of the vector");
    assert!(!dir.join("log/entries").exists());
    assert_eq!(
        std::fs::read(dir.join("log/sequence")).unwrap(),
        b"docseal-sequence v3\nstart 3\n"
    );
    // Everything but log/entries is the v2 vector's, byte for byte.
    let mut v2 = Vec::new();
    files_under(&repo("tests/vectors/log-v2/archive"), ".", &mut v2);
    for f in v2.iter().filter(|f| *f != "./log/entries") {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(repo("tests/vectors/log-v2/archive").join(f)).unwrap(),
            "{f}"
        );
    }
    // Each v2 entry line is in both of its index objects.
    let entries =
        std::fs::read_to_string(repo("tests/vectors/log-v2/archive/log/entries")).unwrap();
    for line in entries.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let name = fields.last().unwrap().to_lowercase();
        let h = hex(&Sha256::digest(name.as_bytes()));
        let c = fields[1];
        for p in [
            format!("log/index/name/{}/{}/{h}", &h[..2], &h[2..4]),
            format!("log/index/content/{}/{}/{c}", &c[..2], &c[2..4]),
        ] {
            assert_eq!(
                std::fs::read_to_string(dir.join(&p)).unwrap(),
                format!("{line}\n"),
                "{p}"
            );
        }
    }
}

#[test]
fn issue17_v3_audit_prove_and_verify_archive_equal_v2() {
    let env = Env::new();
    let v3 = repo("tests/vectors/log-v3/archive");
    let v2 = repo("tests/vectors/log-v2/archive");
    let (a3, a2) = (audit(&env, &v3), audit(&env, &v2));
    assert_eq!(a3.code(), a2.code());
    assert_eq!(findings(&a3), findings(&a2));
    assert!(extra_codes(&a3).is_empty(), "{:?}", extra_codes(&a3));
    for k in ["entries", "checkpoints", "latest"] {
        assert_eq!(a3.json()[k], a2.json()[k], "{k}");
    }
    // Proofs from the v3 vector are the v1 vector's, byte for byte.
    env.cmd()
        .args(["archive", "prove"])
        .arg(&v3)
        .arg(content(1))
        .args(["--out", "i.json"])
        .ok();
    assert_eq!(
        std::fs::read(env.path("i.json")).unwrap(),
        std::fs::read(repo("tests/vectors/log-v1/inclusion-1-at-3.json")).unwrap()
    );
    env.cmd()
        .args(["archive", "prove-consistency"])
        .arg(&v3)
        .args(["--from", "1", "--out", "c.json"])
        .ok();
    assert_eq!(
        std::fs::read(env.path("c.json")).unwrap(),
        std::fs::read(repo("tests/vectors/log-v1/consistency-1-to-3.json")).unwrap()
    );
}

/// The v3 vector copy `name`, changed by `change`, audited: the codes (with severity and
/// path) beyond the vector's own `archive.bundle_removed`.
fn tampered(name: &str, change: impl FnOnce(&Path)) -> (Done, Vec<String>) {
    let env = Env::new();
    let a = v3_copy(&env, name);
    change(&a);
    let d = audit(&env, &a);
    let x = extra_codes(&d);
    (d, x)
}

fn has(codes: &[String], prefix: &str) -> bool {
    codes.iter().any(|c| c.starts_with(prefix))
}

fn v2_lines() -> Vec<String> {
    std::fs::read_to_string(repo("tests/vectors/log-v2/archive/log/entries"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn name_path(name: &str) -> String {
    let h = hex(&Sha256::digest(name.to_lowercase().as_bytes()));
    format!("log/index/name/{}/{}/{h}", &h[..2], &h[2..4])
}

#[test]
fn issue17_v3_audit_catches_an_altered_or_missing_entry_bundle() {
    let (d, x) = tampered("a", |a| {
        let p = a.join("log/tile/entries/000.p/3");
        let mut b = std::fs::read(&p).unwrap();
        let at = b.windows(8).position(|w| w == b"bundle-1").unwrap();
        b[at + 7] = b'9';
        std::fs::write(&p, b).unwrap();
    });
    assert_eq!(d.code(), 1);
    assert!(has(&x, "log.entry_altered error"), "{x:?}");
    assert!(has(&x, "log.tiles_invalid error"), "{x:?}");
    let (d, x) = tampered("a", |a| {
        std::fs::remove_file(a.join("log/tile/entries/000.p/3")).unwrap();
    });
    assert_eq!(d.code(), 1);
    assert!(
        x.contains(&"log.tiles_invalid error log/tile/entries/000.p/3".to_string()),
        "{x:?}"
    );
    // Garbage where the entry bundle belongs: a finding, not a crash.
    let (d, x) = tampered("a", |a| {
        std::fs::write(a.join("log/tile/entries/000.p/3"), [0xffu8; 40]).unwrap();
    });
    assert_eq!(d.code(), 1);
    assert!(has(&x, "log.tiles_invalid error"), "{x:?}");
}

#[test]
fn issue17_v3_audit_catches_index_objects_missing_altered_or_planted() {
    let lines = v2_lines();
    // Missing.
    let (d, x) = tampered("a", |a| {
        std::fs::remove_file(a.join(name_path("bundle-1.zip"))).unwrap();
    });
    assert_eq!(d.code(), 1);
    assert!(
        x.contains(&format!(
            "log.index_invalid error {}",
            name_path("bundle-1.zip")
        )),
        "{x:?}"
    );
    // Pointing elsewhere: holds another entry's line.
    let other = lines[2].clone();
    let (_, x) = tampered("a", |a| {
        std::fs::write(a.join(name_path("bundle-1.zip")), format!("{other}\n")).unwrap();
    });
    assert!(
        has(
            &x,
            &format!("log.index_invalid error {}", name_path("bundle-1.zip"))
        ),
        "{x:?}"
    );
    // Planted: a well-formed object, where its line's name puts it, claiming entry 1 under
    // another name.
    let planted = lines[1].replace("bundle-1.zip", "planted.zip");
    let (d, x) = tampered("a", |a| {
        let p = a.join(name_path("planted.zip"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("{planted}\n")).unwrap();
    });
    assert_eq!(d.code(), 1);
    assert!(
        x.contains(&format!(
            "log.index_invalid error {}",
            name_path("planted.zip")
        )),
        "{x:?}"
    );
    // Planted garbage, and an object at a path its entry does not give.
    let (_, x) = tampered("a", |a| {
        let dir = a.join("log/index/content/00/00");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("0".repeat(64)), b"\x00\x01binary").unwrap();
        std::fs::write(dir.join("1".repeat(64)), format!("{}\n", lines[0])).unwrap();
    });
    assert_eq!(
        x.iter()
            .filter(|c| c.starts_with("log.index_invalid error log/index/content/00/00/"))
            .count(),
        2,
        "{x:?}"
    );
}

#[test]
fn issue17_v3_audit_checks_the_sequence_start_and_tail() {
    let lines = v2_lines();
    // start 2 is no checkpoint's size (checkpoints 1 and 3), tail entry 2.
    let l2 = lines[2].clone();
    let (d, x) = tampered("a", |a| {
        std::fs::write(
            a.join("log/sequence"),
            format!("docseal-sequence v3\nstart 2\n{l2}\n"),
        )
        .unwrap();
    });
    assert_eq!(d.code(), 1);
    assert!(
        x.contains(&"log.sequence_invalid error log/sequence".to_string()),
        "{x:?}"
    );
    // start 1 (a checkpoint's size), tail entries 1 and 2: the same log, clean.
    let (l1, l2) = (lines[1].clone(), lines[2].clone());
    let (_, x) = tampered("a", |a| {
        std::fs::write(
            a.join("log/sequence"),
            format!("docseal-sequence v3\nstart 1\n{l1}\n{l2}\n"),
        )
        .unwrap();
    });
    assert!(x.is_empty(), "{x:?}");
    // The same with a tail entry altered: the checkpoint of 3 no longer hashes.
    let bad = lines[2].replace("bundle-2", "bundle-7");
    let (d, x) = tampered("a", |a| {
        std::fs::write(
            a.join("log/sequence"),
            format!("docseal-sequence v3\nstart 1\n{l1}\n{bad}\n"),
        )
        .unwrap();
    });
    assert_eq!(d.code(), 1);
    assert!(has(&x, "log.entry_altered error"), "{x:?}");
    // A tail entry no checkpoint signs yet: the interrupted add's warning, on its line.
    let next = lines[2]
        .replacen("2 ", "3 ", 1)
        .replace(&content(2), &content(3))
        .replace("bundle-2", "bundle-3");
    let (d, x) = tampered("a", |a| {
        std::fs::write(
            a.join("log/sequence"),
            format!("docseal-sequence v3\nstart 3\n{next}\n"),
        )
        .unwrap();
    });
    assert_eq!(d.code(), 1, "{x:?}");
    assert!(
        x.contains(&"log.unsigned_entries warning log/sequence:3".to_string()),
        "{x:?}"
    );
}

#[test]
fn issue17_v3_both_entries_and_sequence_is_an_interrupted_migration_v3_wins() {
    let (d, x) = tampered("a", |a| {
        // A stale log/entries with an entry altered: not read.
        let s = std::fs::read_to_string(repo("tests/vectors/log-v2/archive/log/entries"))
            .unwrap()
            .replace("bundle-1", "bundle-8");
        std::fs::write(a.join("log/entries"), s).unwrap();
    });
    assert_eq!(x, vec!["log.interrupted warning log/entries".to_string()]);
    assert_eq!(
        d.code(),
        1,
        "the vector's bundles are absent: exit 1 either way"
    );
}

#[cfg(unix)]
#[test]
fn issue17_v3_hostile_sequence_and_index_files_are_findings_not_hangs() {
    use std::os::unix::fs::symlink;
    let mkfifo = |p: &Path| {
        assert!(std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap()
            .success());
    };
    type Change = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "huge",
            Box::new(|a: &Path| {
                let f = std::fs::File::create(a.join("log/sequence")).unwrap();
                f.set_len(1 << 40).unwrap();
            }),
            "log.sequence_invalid error log/sequence",
        ),
        (
            "binary",
            Box::new(|a: &Path| {
                std::fs::write(a.join("log/sequence"), [0u8, 0xff, 7, 10]).unwrap()
            }),
            "log.sequence_invalid error log/sequence",
        ),
        (
            "symlink",
            Box::new(|a: &Path| {
                std::fs::remove_file(a.join("log/sequence")).unwrap();
                symlink("/dev/zero", a.join("log/sequence")).unwrap();
            }),
            "log.sequence_invalid error log/sequence",
        ),
        (
            "fifo",
            Box::new(move |a: &Path| {
                std::fs::remove_file(a.join("log/sequence")).unwrap();
                mkfifo(&a.join("log/sequence"));
            }),
            "log.sequence_invalid error log/sequence",
        ),
        (
            "index fifo",
            Box::new(move |a: &Path| {
                let p = a.join(name_path("bundle-0.zip"));
                std::fs::remove_file(&p).unwrap();
                mkfifo(&p);
            }),
            "log.index_invalid error",
        ),
        (
            "index huge",
            Box::new(|a: &Path| {
                let f = std::fs::File::create(a.join(name_path("bundle-0.zip"))).unwrap();
                f.set_len(1 << 40).unwrap();
            }),
            "log.index_invalid error",
        ),
        (
            "index symlink",
            Box::new(|a: &Path| {
                let p = a.join(name_path("bundle-0.zip"));
                std::fs::remove_file(&p).unwrap();
                symlink("/dev/zero", &p).unwrap();
            }),
            "log.index_invalid error",
        ),
    ];
    for (what, change, want) in cases {
        let (d, x) = tampered("a", change);
        assert_eq!(d.code(), 1, "{what}: {}", d.stderr());
        assert!(has(&x, want), "{what}: {x:?}");
    }
}

#[test]
fn issue17_migrate_to_v3_is_restartable_and_refuses_damage() {
    let env = Env::new();
    // Interrupted after log/sequence was written: migrating again removes log/entries.
    let a = v3_copy(&env, "a");
    std::fs::copy(
        repo("tests/vectors/log-v2/archive/log/entries"),
        a.join("log/entries"),
    )
    .unwrap();
    env.cmd()
        .args(["archive", "migrate"])
        .arg(&a)
        .args(["--to", "v3"])
        .ok();
    assert!(!a.join("log/entries").exists());
    // Back to v2 is not a migration there is.
    let d = env.cmd().args(["archive", "migrate"]).arg(&a).fails(2);
    assert!(d.stderr().contains("its log is v3"), "{}", d.stderr());
    // Interrupted while writing the index: some objects there, no sequence yet.
    let b = v2_copy(&env, "b");
    let p = name_path("bundle-0.zip");
    std::fs::create_dir_all(b.join(&p).parent().unwrap()).unwrap();
    std::fs::copy(a.join(&p), b.join(&p)).unwrap();
    env.cmd()
        .args(["archive", "migrate"])
        .arg(&b)
        .args(["--to", "v3"])
        .ok();
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    files_under(&repo("tests/vectors/log-v3/archive"), ".", &mut fa);
    files_under(&b, ".", &mut fb);
    fa.sort();
    fb.sort();
    assert_eq!(fa, fb);
    // An index object with other bytes: damage, refused, log/entries kept.
    let c = v2_copy(&env, "c");
    std::fs::create_dir_all(c.join(&p).parent().unwrap()).unwrap();
    std::fs::write(c.join(&p), format!("{}\n", v2_lines()[2])).unwrap();
    let d = env
        .cmd()
        .args(["archive", "migrate"])
        .arg(&c)
        .args(["--to", "v3"])
        .fails(2);
    assert!(d.stderr().contains(&p), "{}", d.stderr());
    assert!(c.join("log/entries").exists() && !c.join("log/sequence").exists());
    // A damaged log: refused, nothing written.
    let e = v2_copy(&env, "e");
    let s = std::fs::read_to_string(e.join("log/entries")).unwrap();
    std::fs::write(e.join("log/entries"), s.replace("bundle-1", "bundle-5")).unwrap();
    env.cmd()
        .args(["archive", "migrate"])
        .arg(&e)
        .args(["--to", "v3"])
        .fails(2);
    assert!(!e.join("log/index").exists() && !e.join("log/sequence").exists());
    // Entries after the latest checkpoint: refused.
    let g = v2_copy(&env, "g");
    let next = v2_lines()[2]
        .replacen("2 ", "3 ", 1)
        .replace(&content(2), &content(3))
        .replace("bundle-2", "bundle-3");
    let mut s = std::fs::read_to_string(g.join("log/entries")).unwrap();
    s.push_str(&format!("{next}\n"));
    std::fs::write(g.join("log/entries"), s).unwrap();
    let d = env
        .cmd()
        .args(["archive", "migrate"])
        .arg(&g)
        .args(["--to", "v3"])
        .fails(2);
    assert!(
        d.stderr().contains("after its latest checkpoint"),
        "{}",
        d.stderr()
    );
    // A v1 log needs the key (to v2 first); with it, v1 goes to v3 in one command.
    let h = env.path("h");
    copy_dir(&repo("tests/vectors/log-v1/archive"), &h);
    let d = env
        .cmd()
        .args(["archive", "migrate"])
        .arg(&h)
        .args(["--to", "v3"])
        .fails(2);
    assert!(d.stderr().contains("--key"), "{}", d.stderr());
}

/// An archive `arch` of real bundles (3 then 2 added), its keys, and copies as v2 and v3.
fn real_archive(env: &Env) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let (rk, rp) = env.keygen("reporter");
    let (ak, ap) = env.keygen("archive");
    std::fs::create_dir(env.path("in")).unwrap();
    for i in 0..5 {
        env.pack_text(
            &format!("story {i}\n"),
            "A thaw",
            "2026-01-01T00:00:00Z",
            &rk,
            &format!("in/s{i}.zip"),
            &[],
        );
    }
    for (b, t) in [
        (
            &["in/s0.zip", "in/s1.zip", "in/s2.zip"][..],
            "2026-02-01T00:00:00Z",
        ),
        (&["in/s3.zip", "in/s4.zip"][..], "2026-03-01T00:00:00Z"),
    ] {
        env.cmd()
            .args(["archive", "add", "v2"])
            .args(b)
            .args(["--time", t, "--key"])
            .arg(&ak)
            .ok();
    }
    let v3 = env.path("v3");
    copy_dir(&env.path("v2"), &v3);
    env.cmd()
        .args(["archive", "migrate", "v3", "--to", "v3"])
        .ok();
    (rp, ap, env.path("v2"), v3)
}

#[test]
fn issue17_v3_verify_archive_and_audit_of_real_bundles_equal_v2() {
    let env = Env::new();
    let (rp, ap, v2, v3) = real_archive(&env);
    assert!(!v3.join("log/entries").exists() && v3.join("log/sequence").exists());
    let verify = |arch: &Path, bundle: &str| {
        env.cmd()
            .args(["verify", bundle, "--json", "--trust"])
            .arg(&rp)
            .arg("--archive-key")
            .arg(&ap)
            .arg("--archive")
            .arg(arch)
            .run()
    };
    for b in ["in/s1.zip", "in/s4.zip"] {
        let (d2, d3) = (verify(&v2, b), verify(&v3, b));
        assert_eq!(d3.code(), 0, "{}", d3.stdout());
        assert_eq!(d2.code(), d3.code());
        let strip = |d: &Done| {
            d.stdout()
                .replace(&v2.display().to_string(), "ARCH")
                .replace(&v3.display().to_string(), "ARCH")
        };
        assert_eq!(strip(&d2), strip(&d3), "{b}");
    }
    let audit = |arch: &Path| {
        env.cmd()
            .args(["archive", "audit", "--json"])
            .arg(arch)
            .arg("--trust")
            .arg(&ap)
            .run()
    };
    let (a2, a3) = (audit(&v2), audit(&v3));
    assert_eq!(a3.code(), 0, "{}", a3.stdout());
    assert_eq!(findings(&a2), findings(&a3));
    // A bundle removed behind the archive's back: the same finding on both.
    std::fs::remove_file(v2.join("bundles/s3.zip")).unwrap();
    std::fs::remove_file(v3.join("bundles/s3.zip")).unwrap();
    let (a2, a3) = (audit(&v2), audit(&v3));
    assert_eq!(a3.code(), 1);
    assert_eq!(findings(&a2), findings(&a3));
}

#[test]
fn issue17_local_add_refuses_a_v3_archive_and_writes_nothing() {
    let env = Env::new();
    let (_, _, _, v3) = real_archive(&env);
    let ak = env.path("archive.key");
    env.pack_text(
        "late\n",
        "Late",
        "2026-01-01T00:00:00Z",
        &env.path("reporter.key"),
        "in/late.zip",
        &[],
    );
    let mut before = Vec::new();
    files_under(&v3, ".", &mut before);
    let d = env
        .cmd()
        .args(["archive", "add", "v3", "in/late.zip", "--key"])
        .arg(&ak)
        .fails(2);
    assert!(d.stderr().contains("v3"), "{}", d.stderr());
    let mut after = Vec::new();
    files_under(&v3, ".", &mut after);
    assert_eq!(before, after);
}

#[test]
fn issue17_v3_prove_reads_the_index_and_tiles_not_the_whole_log() {
    let env = Env::new();
    let (k, p) = env.keygen("archive");
    let key = common::secret_key(&k);
    let big = env.path("big");
    common::synthetic::synthetic_log(&big, 600, &[300, 600], &key, true);
    common::synthetic::synthetic_to_v3(&big);
    // Entry bundle 0 gone: audit says so; a proof of an entry of bundle 1 needs only the
    // index, that bundle and hash tiles, so it is still made (and checks out).
    std::fs::remove_file(big.join("log/tile/entries/000")).unwrap();
    let d = env
        .cmd()
        .args(["archive", "audit", "big", "--json", "--trust"])
        .arg(&p)
        .run();
    assert!(
        has(
            &extra_codes(&d),
            "log.tiles_invalid error log/tile/entries/000"
        ),
        "{:?}",
        extra_codes(&d)
    );
    let c = common::synthetic::hex_sha256(b"content 400");
    env.cmd()
        .args(["archive", "prove", "big", &c, "--out", "p.json"])
        .ok();
    env.cmd()
        .args(["archive", "check-proof", "p.json", "--trust"])
        .arg(&p)
        .ok();
    env.cmd()
        .args([
            "archive",
            "prove-consistency",
            "big",
            "--from",
            "300",
            "--out",
            "c.json",
        ])
        .ok();
    env.cmd()
        .args(["archive", "check-proof", "c.json", "--trust"])
        .arg(&p)
        .ok();
    // The content's index object naming another entry: refused, nothing written.
    let c2 = common::synthetic::hex_sha256(b"content 401");
    let obj = |c: &str| big.join(format!("log/index/content/{}/{}/{c}", &c[..2], &c[2..4]));
    std::fs::copy(obj(&c2), obj(&c)).unwrap();
    let d = env
        .cmd()
        .args(["archive", "prove", "big", &c, "--out", "q.json"])
        .fails(2);
    assert!(d.stderr().contains("another content"), "{}", d.stderr());
    assert!(!env.path("q.json").exists());
    // Its index object holding a well-formed line the log does not hold at that index.
    let line = std::fs::read_to_string(obj(&c2))
        .unwrap()
        .replace("b00000401", "b00009999");
    std::fs::write(obj(&c2), line).unwrap();
    let d = env
        .cmd()
        .args(["archive", "prove", "big", &c2, "--out", "q.json"])
        .fails(2);
    assert!(
        d.stderr().contains("does not hold this entry"),
        "{}",
        d.stderr()
    );
    assert!(!env.path("q.json").exists());
}

/// Peak RSS (KiB), exit code and stdout of `BIN ARGS` in `dir`, with `/usr/bin/time`.
fn peak_rss(dir: &Path, bin: &Path, args: &[&str]) -> (u64, i32, String) {
    let m = common::measure(dir, bin, args);
    (m.kib, m.code, m.stdout)
}

/// Audit of a synthetic v3 log of `DOCSEAL_V3_N` entries (default 10^6): peak RSS under 64
/// MiB. Heavy (two index files an entry: about 8 GB of disk at 10^6 on a 4 KiB-block file
/// system), so run by hand: `cargo test --test integration archive_v3:: -- --ignored audit_of_a_synthetic`.
/// Checkpoints at 1,000, n - 1 and n; with `DOCSEAL_V3_EVERY=K`, one every K entries and n
/// (`DOCSEAL_V3_N=100000 DOCSEAL_V3_EVERY=1`: the most checkpoints a log holds, one an add).
#[test]
#[ignore]
fn issue17_audit_of_a_synthetic_v3_log_stays_under_64_mib() {
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let n: u64 = var("DOCSEAL_V3_N").unwrap_or(1_000_000);
    let sizes: Vec<u64> = match var("DOCSEAL_V3_EVERY") {
        Some(k) => (k..n).step_by(k as usize).chain([n]).collect(),
        None => vec![1000, n - 1, n],
    };
    let env = Env::new();
    let (k, p) = env.keygen("archive");
    let key = common::secret_key(&k);
    let big = env.path("big");
    common::synthetic::synthetic_log(&big, n, &sizes, &key, true);
    common::synthetic::synthetic_to_v3(&big);
    let bin = std::env::var_os("DOCSEAL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_docseal")));
    let p = p.display().to_string();
    let (kib, code, out) = peak_rss(
        env.dir.path(),
        &bin,
        &["archive", "audit", "big", "--trust", &p, "--json"],
    );
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
    let c = common::synthetic::hex_sha256(format!("content {}", n / 3).as_bytes());
    let (pkib, code, _) = peak_rss(
        env.dir.path(),
        &bin,
        &["archive", "prove", "big", &c, "--out", "p.json"],
    );
    assert_eq!(code, 0);
    eprintln!("entries {n}: audit peak RSS {kib} KiB; prove peak RSS {pkib} KiB");
    assert!(kib < 64 * 1024, "audit: peak RSS {kib} KiB");
}

#[test]
fn issue17_migrate_to_v3_in_a_bucket_gives_the_v3_vector_and_reads_as_on_disk() {
    use docseal::store::Store;
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let s = w.store("docseal-v3", "m1");
    weed::upload(&s, &repo("tests/vectors/log-v2/archive"));
    let run = |args: &[&str]| {
        let mut c = env.cmd().args(args);
        for (k, v) in w.env() {
            c = c.env(&k, &v);
        }
        c.run()
    };
    let d = run(&["archive", "migrate", "s3://docseal-v3/m1", "--to", "v3"]);
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
    // The bucket now holds the v3 vector, object for object, byte for byte.
    let mut want = Vec::new();
    files_under(&repo("tests/vectors/log-v3/archive"), ".", &mut want);
    let mut keys = Vec::new();
    let page = s.list("", None, 1000).unwrap();
    for item in &page.items {
        keys.push(format!("./{}", item.key));
        let got = s.get(&item.key, 1 << 20).unwrap().unwrap().bytes;
        assert_eq!(
            got,
            std::fs::read(repo("tests/vectors/log-v3/archive").join(&item.key)).unwrap(),
            "{}",
            item.key
        );
    }
    want.sort();
    keys.sort();
    assert_eq!(keys, want);
    // Run again: nothing to do.
    let d = run(&["archive", "migrate", "s3://docseal-v3/m1", "--to", "v3"]);
    assert_eq!(d.code(), 0, "{}", d.stderr());
    assert!(d.stdout().contains("already"), "{}", d.stdout());
    // Audit and proofs from the bucket are those of the vector on disk.
    let key = repo("tests/vectors/log-v1/archive-key.pub");
    let key = key.to_str().unwrap();
    let r = run(&[
        "archive",
        "audit",
        "s3://docseal-v3/m1",
        "--json",
        "--trust",
        key,
    ]);
    let l = audit(&env, &repo("tests/vectors/log-v3/archive"));
    assert_eq!(findings(&r), findings(&l));
    let c = content(1);
    let d = run(&[
        "archive",
        "prove",
        "s3://docseal-v3/m1",
        &c,
        "--out",
        "i.json",
    ]);
    assert_eq!(d.code(), 0, "{}", d.stderr());
    assert_eq!(
        std::fs::read(env.path("i.json")).unwrap(),
        std::fs::read(repo("tests/vectors/log-v1/inclusion-1-at-3.json")).unwrap()
    );
    // A damaged v2 log in a bucket: refused, nothing written.
    let s2 = w.store("docseal-v3", "m2");
    weed::upload(&s2, &repo("tests/vectors/log-v2/archive"));
    let e = std::fs::read_to_string(repo("tests/vectors/log-v2/archive/log/entries")).unwrap();
    s2.put("log/entries", e.replace("bundle-1", "bundle-6").as_bytes())
        .unwrap();
    let d = run(&["archive", "migrate", "s3://docseal-v3/m2", "--to", "v3"]);
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(s2.get("log/sequence", 1 << 20).unwrap().is_none());
    assert!(s2.list("log/index/", None, 10).unwrap().items.is_empty());
}

#[cfg(unix)]
#[test]
fn issue17_v3_index_directories_as_symbolic_links_are_findings_never_followed() {
    for dir in ["log/index", "log/index/name", "log/index/content"] {
        let (d, x) = tampered("a", |a| {
            // The real index moved out of the archive; a link to it where it was.
            let out = a.parent().unwrap().join("elsewhere");
            std::fs::rename(a.join(dir), &out).unwrap();
            std::os::unix::fs::symlink(&out, a.join(dir)).unwrap();
            // What it points to is garbage: read through the link, it would be findings.
            let mut files = Vec::new();
            files_under(&out, ".", &mut files);
            for f in files {
                std::fs::write(out.join(f), b"garbage\n").unwrap();
            }
        });
        assert_eq!(d.code(), 1, "{dir}");
        assert!(
            x.contains(&format!("archive.symlink error {dir}")),
            "{dir}: {x:?}"
        );
        // Not followed: no index object was read through it.
        assert!(!has(&x, "log.index_invalid"), "{dir}: {x:?}");
    }
}

#[test]
fn issue17_v3_huge_sequence_is_refused_by_its_size_not_read() {
    let env = Env::new();
    let a = v3_copy(&env, "a");
    let f = std::fs::File::create(a.join("log/sequence")).unwrap();
    f.set_len(1 << 40).unwrap();
    let key = repo("tests/vectors/log-v1/archive-key.pub");
    let (kib, code, out) = peak_rss(
        env.dir.path(),
        Path::new(env!("CARGO_BIN_EXE_docseal")),
        &[
            "archive",
            "audit",
            "a",
            "--json",
            "--trust",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(out.contains("log.sequence_invalid"), "{out}");
    // Reading up to the bound (134 MB) before refusing would show here.
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB");
}

// ---------------------------------------------------------------------------------------------
// Attacks on the reading side and migration (attack3-read)
// ---------------------------------------------------------------------------------------------

/// A file or directory under `log/index/` whose name is not UTF-8 was skipped by audit's walk
/// (its lossy name named nothing): planted objects there audited clean.
#[cfg(unix)]
#[test]
fn attack_v3_audit_reports_index_files_whose_names_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let (d, x) = tampered("a", |a| {
        let bad = std::ffi::OsStr::from_bytes(b"\xff\xfe");
        let dir = a.join("log/index/name").join(bad).join("ab");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("x"), b"junk\n").unwrap();
        let c = content(1);
        let h4 = a.join(format!("log/index/content/{}/{}", &c[..2], &c[2..4]));
        std::fs::write(h4.join(bad), b"junk\n").unwrap();
    });
    assert_eq!(d.code(), 1, "{x:?}");
    assert_eq!(
        x.iter()
            .filter(|c| c.starts_with("log.index_invalid error"))
            .count(),
        2,
        "{x:?}"
    );
}

/// Audit's walk of `log/index/` listed each directory whole into memory: a planted directory
/// of 400,000 empty files took ~50 MB more (millions: gigabytes). Now read as walked.
#[test]
fn attack_v3_audit_of_a_huge_planted_index_directory_stays_small() {
    let env = Env::new();
    let a = v3_copy(&env, "a");
    let dir = a.join("log/index/name/00/00");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..400_000u32 {
        std::fs::File::create(dir.join(format!("{i:0>60}"))).unwrap();
    }
    let key = repo("tests/vectors/log-v1/archive-key.pub");
    let (kib, code, out) = peak_rss(
        env.dir.path(),
        Path::new(env!("CARGO_BIN_EXE_docseal")),
        &["archive", "audit", "a", "--trust", key.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(out.contains("400000 findings of this kind"), "{out}");
    assert!(kib < 40 * 1024, "peak RSS {kib} KiB");
}

/// An entry bundle that cannot be read (missing): audit named every index object "planted"
/// (inviting their removal) though they are right; the objects of entries the log could not
/// be read as far as are now left alone (the entry bundle's finding says why).
#[test]
fn attack_v3_unreadable_entry_bundle_does_not_call_the_index_planted() {
    let (d, x) = tampered("a", |a| {
        std::fs::remove_file(a.join("log/tile/entries/000.p/3")).unwrap();
    });
    assert_eq!(d.code(), 1);
    assert!(
        x.contains(&"log.tiles_invalid error log/tile/entries/000.p/3".to_string()),
        "{x:?}"
    );
    assert!(!has(&x, "log.index_invalid"), "{x:?}");
}

/// `archive prove` read the content index object through a symbolic link at `<h2>` or
/// `<h2>/<h4>` (only `log/index` and `log/index/content` were checked): now refused.
#[cfg(unix)]
#[test]
fn attack_v3_prove_never_reads_the_index_through_a_linked_directory() {
    let c = content(1);
    for depth in [2usize, 3] {
        let env = Env::new();
        let a = v3_copy(&env, "a");
        let rel = if depth == 2 {
            format!("log/index/content/{}", &c[..2])
        } else {
            format!("log/index/content/{}/{}", &c[..2], &c[2..4])
        };
        let out = env.path("elsewhere");
        std::fs::rename(a.join(&rel), &out).unwrap();
        std::os::unix::fs::symlink(&out, a.join(&rel)).unwrap();
        let d = env
            .cmd()
            .args(["archive", "prove", "a", &c, "--out", "p.json"])
            .fails(2);
        assert!(d.stderr().contains("symbolic link"), "{}", d.stderr());
        assert!(!env.path("p.json").exists());
    }
}

/// A temporary file an interrupted write of an index object leaves (`.docseal-*.tmp`, where
/// the file system has no unnamed temp files) was an error (`log.index_invalid`), unlike the
/// same file anywhere else in the log: now the warning `log.interrupted`.
#[test]
fn attack_v3_index_temp_file_of_an_interrupted_write_is_a_warning() {
    let c = content(1);
    let (d, x) = tampered("a", |a| {
        let dir = a.join(format!("log/index/content/{}/{}", &c[..2], &c[2..4]));
        std::fs::write(dir.join(".docseal-0011223344556677.tmp"), b"0 ab").unwrap();
    });
    // (Exit 1 for the vector's own absent bundles: nothing else is found.)
    assert_eq!(d.code(), 1, "{x:?}");
    assert_eq!(
        x,
        vec![format!(
            "log.interrupted warning log/index/content/{}/{}/.docseal-0011223344556677.tmp",
            &c[..2],
            &c[2..4]
        )],
    );
}

/// `log/sequence` beside `log/entries` with the index not (fully) written: migrate said "v3
/// already" and removed log/entries, leaving a v3 log without its index. It now writes the
/// missing index objects first.
#[test]
fn attack_v3_migrate_rerun_completes_the_index_before_removing_entries() {
    let env = Env::new();
    let a = v2_copy(&env, "a");
    std::fs::write(a.join("log/sequence"), b"docseal-sequence v3\nstart 3\n").unwrap();
    env.cmd()
        .args(["archive", "migrate", "a", "--to", "v3"])
        .ok();
    assert!(!a.join("log/entries").exists());
    let d = audit(&env, &a);
    assert!(
        !has(&extra_codes(&d), "log.index_invalid"),
        "{:?}",
        extra_codes(&d)
    );
    // The same files as the v3 vector.
    let (mut got, mut want) = (Vec::new(), Vec::new());
    files_under(&a, "log", &mut got);
    files_under(&repo("tests/vectors/log-v3/archive"), "log", &mut want);
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

/// A bucket holding both `K` and `K/...` (object storage allows it, a file system not): audit,
/// prove and verify --archive of it failed with an I/O error (exit 4, as if the disk had
/// failed) naming the private local copy's temporary path. Now refused (exit 2) by the key;
/// since the audit reads a v3 archive's index in place (no copy of it), that object is a
/// finding of the audit (exit 1), named by its key.
#[test]
fn attack_s3_mirror_of_a_key_that_is_also_a_prefix_is_refused_by_its_key() {
    use docseal::store::Store;
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let s = w.store("docseal-v3", "clash");
    weed::upload(&s, &repo("tests/vectors/log-v3/archive"));
    let obj = name_path("bundle-1.zip");
    let dir = &obj[..obj.rfind('/').unwrap()];
    s.put(dir, b"junk\n").unwrap();
    let key = repo("tests/vectors/log-v1/archive-key.pub");
    // A proof reads a v3 archive in place (tests/s3_prove.rs), never the name index: made.
    // The audit reads the index in place (no copy on a disk): the object named like a
    // directory is a finding, not a copy refused.
    for (args, code) in [
        (
            &[
                "archive",
                "audit",
                "s3://docseal-v3/clash",
                "--trust",
                key.to_str().unwrap(),
            ][..],
            1,
        ),
        (
            &[
                "archive",
                "prove",
                "s3://docseal-v3/clash",
                &content(1),
                "--out",
                "p.json",
            ][..],
            0,
        ),
    ] {
        let mut c = env.cmd().args(args);
        for (k, v) in w.env() {
            c = c.env(&k, &v);
        }
        let d = c.run();
        assert_eq!(d.code(), code, "{}", d.stderr());
        assert!(
            code == 0
                || d.stdout()
                    .contains(&format!("log.index_invalid: {dir}: not an index object"))
                    && !d.stdout().contains("docseal-s3-archive-"),
            "{}",
            d.stdout()
        );
    }
}

/// `verify --archive s3://` and `prove-consistency s3://` copied the whole v3 index (two
/// objects an entry: 2 x 10^9 GETs at the issue's scale) though they never read it; now left
/// out. Shown by an index no file system can hold (`K` and `K/...`): they do not see it.
#[test]
fn attack_s3_verify_archive_and_prove_consistency_do_not_copy_the_index() {
    use docseal::store::Store;
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let (rp, ap, _, v3) = real_archive(&env);
    let s = w.store("docseal-v3", "noindex");
    weed::upload(&s, &v3);
    let any = s.list("log/index/name/", None, 1).unwrap().items[0]
        .key
        .clone();
    s.put(&any[..any.rfind('/').unwrap()], b"junk\n").unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let mut c = env.cmd().args(args);
        for (k, v) in w.env() {
            c = c.env(&k, &v);
        }
        c.run()
    };
    let arch = std::ffi::OsStr::new("s3://docseal-v3/noindex");
    let d = run(&[
        "verify".as_ref(),
        "in/s1.zip".as_ref(),
        "--trust".as_ref(),
        rp.as_os_str(),
        "--archive-key".as_ref(),
        ap.as_os_str(),
        "--archive".as_ref(),
        arch,
    ]);
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
    assert!(d.stdout().contains("archived by"), "{}", d.stdout());
    let d = run(&[
        "archive".as_ref(),
        "prove-consistency".as_ref(),
        arch,
        "--from".as_ref(),
        "3".as_ref(),
        "--out".as_ref(),
        "c.json".as_ref(),
    ]);
    assert_eq!(d.code(), 0, "{}", d.stderr());
}

/// A `log/sequence` whose tail does not parse (one bad byte in one line) made the whole log
/// unreadable: every checkpoint "truncated", every bundle "unlisted" (v2 reports such damage
/// at its line, the rest checked). Now the entries below its start are read and checked;
/// only the tail is reported.
#[test]
fn attack_v3_damaged_tail_still_reads_the_entries_below_start() {
    let (d, x) = tampered("a", |a| {
        std::fs::write(
            a.join("log/sequence"),
            b"docseal-sequence v3\nstart 3\ngarbage\n",
        )
        .unwrap();
    });
    assert_eq!(d.code(), 1);
    assert_eq!(
        x,
        vec!["log.sequence_invalid error log/sequence".to_string()]
    );
    assert!(
        d.stdout().contains("from entry 3 on cannot be read"),
        "{}",
        d.stdout()
    );
}

/// The private copy of an `s3://` archive downloaded every object whole (up to 1 TiB each)
/// before the local reader refused an oversized `log/sequence` or index object by its size:
/// a planted huge object filled the disk (here: a 1 MiB index object under a 256 KiB file
/// size limit, `ulimit -f`, made audit die). Now a sparse stand-in one byte over the bound
/// takes its place: the same finding, nothing downloaded (and since the audit reads a v3
/// archive's index in place, the object is read with its bound: the same finding again).
#[cfg(unix)]
#[test]
fn attack_s3_oversized_v3_objects_are_not_downloaded_into_the_copy() {
    use docseal::store::Store;
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let s = w.store("docseal-v3", "huge");
    weed::upload(&s, &repo("tests/vectors/log-v3/archive"));
    let obj = name_path("bundle-1.zip");
    s.put(&obj, &vec![b'x'; 1 << 20]).unwrap();
    let key = repo("tests/vectors/log-v1/archive-key.pub");
    let mut c = std::process::Command::new("sh");
    c.current_dir(env.dir.path())
        .arg("-c")
        .arg("ulimit -f 256; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_docseal"))
        .args(["archive", "audit", "s3://docseal-v3/huge", "--trust"])
        .arg(&key);
    for (k, v) in w.env() {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("log.index_invalid: {obj}"))
            && stdout.contains("more than the 2049 allowed"),
        "{stdout}"
    );
}

/// `archive prove s3://... NAME` (a bundle named as it is in the archive, as on a disk) was
/// refused, "neither a bundle file, a bundle name in the archive, nor a content digest": the
/// private copy holds no `bundles/`. That one bundle is now copied too.
#[test]
fn attack_s3_prove_by_the_bundles_name_in_the_archive() {
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let (_, _, _, v3) = real_archive(&env);
    let s = w.store("docseal-v3", "byname");
    weed::upload(&s, &v3);
    let run = |args: &[&str]| {
        let mut c = env.cmd().args(args);
        for (k, v) in w.env() {
            c = c.env(&k, &v);
        }
        c.run()
    };
    let d = run(&[
        "archive",
        "prove",
        "s3://docseal-v3/byname",
        "s3.zip",
        "--out",
        "p.json",
    ]);
    assert_eq!(d.code(), 0, "{}", d.stderr());
    assert!(d.stdout().contains("entry 3 (s3.zip)"), "{}", d.stdout());
    env.cmd()
        .args(["archive", "prove", "v3", "s3.zip", "--out", "q.json"])
        .ok();
    assert_eq!(
        std::fs::read(env.path("p.json")).unwrap(),
        std::fs::read(env.path("q.json")).unwrap()
    );
}
