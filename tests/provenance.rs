//! Provenance over time, driving the real binary: co-signatures (`cosign`, `--require-signers`),
//! corrections (`pack --supersedes`, `history`, `prov.*` in verify), and the archive log
//! (`archive add|audit|prove|prove-consistency|check-proof`, `verify --archive`), including
//! every kind of tampering the audit names. The log's test vectors are checked at the end.

use crate::common;

use common::{entries, Done, Env};
use docseal::archive::Checkpoint;
use std::path::{Path, PathBuf};

const URL: &str = "https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/";

/// Seal `text` as an article sealed at `created`.
fn pack(env: &Env, text: &str, created: &str, key: &Path, out: &str, extra: &[&str]) -> PathBuf {
    env.pack_text(text, "A thaw", created, key, out, extra)
}

fn error_codes(d: &Done) -> Vec<String> {
    codes_of(&d.json(), "error")
}

fn codes_of(v: &serde_json::Value, severity: &str) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn findings(v: &serde_json::Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap_or("").to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
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

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

// ---------------------------------------------------------------------------------------------
// cosign
// ---------------------------------------------------------------------------------------------

#[test]
fn cosign_adds_signers_without_changing_what_is_sealed() {
    let env = Env::new();
    let (rk, rp) = env.keygen("reporter");
    let (ek, ep) = env.keygen("editor");
    let (ck, cp) = env.keygen("chief");
    let b = env.pack_sample(&rk, "a.zip");
    let before = env.cmd().args(["inspect", "a.zip", "--json"]).ok().json();

    let out = env
        .cmd()
        .args(["cosign", "a.zip", "--key"])
        .arg(&ek)
        .ok()
        .stdout();
    assert!(
        out.contains("co-signed a.zip") && out.contains("(unchanged)"),
        "{out}"
    );
    let after = env.cmd().args(["inspect", "a.zip", "--json"]).ok().json();
    assert_eq!(before["content_sha256"], after["content_sha256"]);
    assert_eq!(before["id"], after["id"]);
    assert_eq!(after["signers"].as_array().unwrap().len(), 2);

    // One trusted signer is enough without --require-signers: either one.
    for trust in [&rp, &ep] {
        env.cmd()
            .args(["verify", "a.zip", "--trust"])
            .arg(trust)
            .ok();
    }
    // --require-signers N counts distinct trusted signers.
    let two = [
        "--trust",
        rp.to_str().unwrap(),
        "--trust",
        ep.to_str().unwrap(),
    ];
    env.cmd()
        .args(["verify", "a.zip", "--require-signers", "2"])
        .args(two)
        .ok();
    let d = env
        .cmd()
        .args([
            "verify",
            "a.zip",
            "--json",
            "--require-signers",
            "2",
            "--trust",
        ])
        .arg(&rp)
        .fails(1);
    assert!(common::json_codes(&d.stdout())[0].contains(&"sig.too_few_signers".to_string()));
    env.cmd()
        .args(["verify", "a.zip", "--require-signers", "3"])
        .args(two)
        .fails(1);

    // A third signer; co-signatures sit after the sealer's, sorted by key id, whatever the
    // order of signing: the same bytes either way.
    let other = env.pack_sample(&rk, "b.zip");
    env.cmd().args(["cosign", "a.zip", "--key"]).arg(&ck).ok();
    env.cmd().args(["cosign", "b.zip", "--key"]).arg(&ck).ok();
    env.cmd().args(["cosign", "b.zip", "--key"]).arg(&ek).ok();
    let a_bytes = std::fs::read(&b).unwrap();
    assert_eq!(a_bytes, std::fs::read(&other).unwrap());
    let list = entries(&a_bytes);
    let sigs: Vec<&String> = list
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.contains(".minisig"))
        .collect();
    assert_eq!(sigs.len(), 3);
    assert_eq!(sigs[0], "tagmanifest-sha256.txt.minisig");
    assert!(sigs[1] < sigs[2], "{sigs:?}");
    assert_eq!(list.last().map(|(n, _)| n), Some(sigs[2]));
    env.cmd()
        .args(["verify", "a.zip", "--require-signers", "3", "--trust"])
        .arg(&rp)
        .arg("--trust")
        .arg(&ep)
        .arg("--trust")
        .arg(&cp)
        .ok();

    // Each co-signature is a plain minisign signature of the tag manifest (checked here with
    // another implementation).
    let tm = &list
        .iter()
        .find(|(n, _)| n == "tagmanifest-sha256.txt")
        .unwrap()
        .1;
    for pk in [&ep, &cp] {
        let text = read(pk);
        let id = text.lines().next().unwrap().rsplit(' ').next().unwrap();
        let key = minisign_verify::PublicKey::from_base64(text.lines().nth(1).unwrap()).unwrap();
        let name = format!("tagmanifest-sha256.txt.{id}.minisig");
        let sig = &list.iter().find(|(n, _)| *n == name).unwrap().1;
        let sig = minisign_verify::Signature::decode(std::str::from_utf8(sig).unwrap()).unwrap();
        key.verify(tm, &sig, false).unwrap();
        assert!(sig
            .trusted_comment()
            .starts_with("docseal v1 bundle=urn:docseal:"));
    }
}

#[test]
fn cosign_refuses_and_leaves_the_bundle_alone() {
    let env = Env::new();
    let (rk, _) = env.keygen("reporter");
    let (ek, _) = env.keygen("editor");
    env.pack_sample(&rk, "a.zip");
    let orig = std::fs::read(env.path("a.zip")).unwrap();

    // The sealer's own key.
    let d = env
        .cmd()
        .args(["cosign", "a.zip", "--key"])
        .arg(&rk)
        .fails(2);
    assert!(d.stderr().contains("sealed by key"), "{}", d.stderr());
    env.cmd().args(["cosign", "a.zip", "--key"]).arg(&ek).ok();
    let once = std::fs::read(env.path("a.zip")).unwrap();
    // A key that already co-signed.
    let d = env
        .cmd()
        .args(["cosign", "a.zip", "--key"])
        .arg(&ek)
        .fails(2);
    assert!(d.stderr().contains("already co-signed"), "{}", d.stderr());
    assert_eq!(std::fs::read(env.path("a.zip")).unwrap(), once);

    // A damaged bundle is refused, not signed over.
    let damaged = common::rebuild(&orig, |e| {
        e.iter_mut()
            .find(|(n, _)| n.starts_with("data/article"))
            .unwrap()
            .1[0] ^= 1;
    });
    std::fs::write(env.path("bad.zip"), &damaged).unwrap();
    let d = env
        .cmd()
        .args(["cosign", "bad.zip", "--key"])
        .arg(&ek)
        .fails(1);
    assert!(d.stderr().contains("manifest.digest"), "{}", d.stderr());
    assert_eq!(std::fs::read(env.path("bad.zip")).unwrap(), damaged);
    // A directory, a missing file.
    std::fs::create_dir(env.path("dir")).unwrap();
    env.cmd().args(["cosign", "dir", "--key"]).arg(&ek).fails(2);
    env.cmd()
        .args(["cosign", "nope.zip", "--key"])
        .arg(&ek)
        .fails(4);
    // No temporary file left behind.
    let stray: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".docseal"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

// ---------------------------------------------------------------------------------------------
// corrections: pack --supersedes, verify, inspect, history
// ---------------------------------------------------------------------------------------------

#[test]
fn a_correction_supersedes_the_first_version() {
    let env = Env::new();
    let (rk, rp) = env.keygen("reporter");
    let v1 = pack(&env, "first\n", "2026-01-01T00:00:00Z", &rk, "v1.zip", &[]);
    let v2 = pack(
        &env,
        "corrected\n",
        "2026-01-02T00:00:00Z",
        &rk,
        "v2.zip",
        &["--supersedes", "v1.zip"],
    );
    let old = env.cmd().args(["inspect", "v1.zip", "--json"]).ok().json();
    let new = env.cmd().args(["inspect", "v2.zip", "--json"]).ok().json();
    assert_eq!(new["metadata"]["supersedes"]["id"], old["id"]);
    assert_eq!(
        new["metadata"]["supersedes"]["sha256"],
        old["content_sha256"]
    );
    let text = env.cmd().args(["inspect", "v2.zip"]).ok().stdout();
    assert!(
        text.contains(&format!("supersedes {}", old["id"].as_str().unwrap())),
        "{text}"
    );

    // Verified together: the old version is reported as superseded (a warning), both pass.
    let d = env
        .cmd()
        .args(["verify", "v1.zip", "v2.zip", "--json", "--trust"])
        .arg(&rp)
        .ok();
    let (reports, summary) = common::json_lines(&d.stdout());
    assert_eq!(summary["failed"], 0);
    assert_eq!(codes_of(&reports[0], "warning"), ["prov.superseded"]);
    let msg = reports[0]["findings"][0]["message"].as_str().unwrap();
    assert!(msg.contains(new["id"].as_str().unwrap()), "{msg}");
    assert!(codes_of(&reports[1], "warning").is_empty());
    let text = env
        .cmd()
        .args(["verify", "v1.zip", "v2.zip", "--trust"])
        .arg(&rp)
        .ok()
        .stdout();
    assert!(text.contains("warning prov.superseded"), "{text}");

    // A newer version that does not verify supersedes nothing.
    let (ok2, _) = env.keygen("stranger");
    pack(
        &env,
        "forged correction\n",
        "2026-01-03T00:00:00Z",
        &ok2,
        "v2x.zip",
        &["--supersedes", "v1.zip"],
    );
    let d = env
        .cmd()
        .args(["verify", "v1.zip", "v2x.zip", "--json", "--trust"])
        .arg(&rp)
        .fails(1);
    let (reports, _) = common::json_lines(&d.stdout());
    assert!(codes_of(&reports[0], "warning").is_empty());

    // A damaged old bundle cannot be superseded.
    let bytes = std::fs::read(&v1).unwrap();
    let bad = common::rebuild(&bytes, |e| e.last_mut().unwrap().1[40] ^= 1);
    std::fs::write(env.path("bad.zip"), bad).unwrap();
    let article = env.path("v3.txt");
    std::fs::write(&article, "third\n").unwrap();
    env.cmd()
        .arg("pack")
        .arg(&article)
        .args([
            "--url",
            URL,
            "--title",
            "T",
            "--publisher",
            "P",
            "--published",
        ])
        .args(["2018-09-11", "--key"])
        .arg(&rk)
        .args(["--out", "v3.zip", "--supersedes", "bad.zip"])
        .fails(1);
    assert!(!env.path("v3.zip").exists());
    let _ = v2;
}

#[test]
fn a_supersedes_link_that_does_not_match_is_an_error() {
    let env = Env::new();
    let (rk, rp) = env.keygen("reporter");
    // Same article, URL and sealing time: the same id, with another title: another content.
    let a = pack(&env, "same\n", "2026-01-01T00:00:00Z", &rk, "a.zip", &[]);
    let article = env.path("a.zip.txt");
    env.cmd()
        .arg("pack")
        .arg(&article)
        .args(["--url", URL, "--title", "Another title", "--publisher"])
        .args(["Daily Times", "--published", "2018-09-11", "--created"])
        .args(["2026-01-01T00:00:00Z", "--key"])
        .arg(&rk)
        .args(["--out", "a-other.zip"])
        .ok();
    let ia = env.cmd().args(["inspect", "a.zip", "--json"]).ok().json();
    let ib = env
        .cmd()
        .args(["inspect", "a-other.zip", "--json"])
        .ok()
        .json();
    assert_eq!(ia["id"], ib["id"]);
    assert_ne!(ia["content_sha256"], ib["content_sha256"]);
    pack(
        &env,
        "fixed\n",
        "2026-01-02T00:00:00Z",
        &rk,
        "fix.zip",
        &["--supersedes", "a.zip"],
    );

    // Given with the other bundle of that id only: the link does not match.
    let d = env
        .cmd()
        .args(["verify", "a-other.zip", "fix.zip", "--json", "--trust"])
        .arg(&rp)
        .fails(1);
    let codes = common::json_codes(&d.stdout());
    assert!(codes[0].is_empty(), "{codes:?}");
    assert_eq!(codes[1], ["prov.supersedes_mismatch"]);
    // With the right one present too, it matches; only that one is superseded.
    let d = env
        .cmd()
        .args([
            "verify",
            "a-other.zip",
            "a.zip",
            "fix.zip",
            "--json",
            "--trust",
        ])
        .arg(&rp)
        .ok();
    let (reports, _) = common::json_lines(&d.stdout());
    assert!(codes_of(&reports[0], "warning").is_empty());
    assert_eq!(codes_of(&reports[1], "warning"), ["prov.superseded"]);
    // Alone, a link cannot be checked and is not an error.
    env.cmd()
        .args(["verify", "fix.zip", "--trust"])
        .arg(&rp)
        .ok();
    let _ = a;
}

#[test]
fn history_shows_a_corrected_article_oldest_first() {
    let env = Env::new();
    let (rk, _) = env.keygen("reporter");
    let (ek, _) = env.keygen("editor");
    std::fs::create_dir(env.path("dir")).unwrap();
    pack(
        &env,
        "one\n",
        "2026-01-01T00:00:00Z",
        &rk,
        "dir/v1.zip",
        &[],
    );
    pack(
        &env,
        "two\n",
        "2026-01-02T00:00:00Z",
        &rk,
        "dir/v2.zip",
        &["--supersedes", "dir/v1.zip"],
    );
    // The third is sealed with an earlier asserted time: order follows the links, not the clock.
    pack(
        &env,
        "three\n",
        "2025-12-31T00:00:00Z",
        &rk,
        "dir/v3.zip",
        &["--supersedes", "dir/v2.zip"],
    );
    // A co-signed copy of v1 is the same version; an unrelated article is its own history.
    std::fs::copy(env.path("dir/v1.zip"), env.path("dir/v1-cosigned.zip")).unwrap();
    env.cmd()
        .args(["cosign", "dir/v1-cosigned.zip", "--key"])
        .arg(&ek)
        .ok();
    let article = env.path("other.txt");
    std::fs::write(&article, "other\n").unwrap();
    env.cmd()
        .arg("pack")
        .arg(&article)
        .args(["--url", "https://example.com/other", "--title", "Other"])
        .args(["--publisher", "P", "--published", "2020-01-01", "--created"])
        .args(["2024-01-01T00:00:00Z", "--key"])
        .arg(&rk)
        .args(["--out", "dir/other.zip"])
        .ok();

    let ids: Vec<String> = ["v1", "v2", "v3"]
        .iter()
        .map(|v| {
            env.cmd()
                .args(["inspect", &format!("dir/{v}.zip"), "--json"])
                .ok()
                .json()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Given in any order, as files or a directory.
    for args in [
        vec!["history", "dir"],
        vec![
            "history",
            "dir/v3.zip",
            "dir/v1.zip",
            "dir/v2.zip",
            "dir/v1-cosigned.zip",
        ],
    ] {
        let out = env.cmd().args(&args).ok().stdout();
        let pos: Vec<usize> = ids
            .iter()
            .map(|id| out.find(id.as_str()).unwrap())
            .collect();
        assert!(pos[0] < pos[1] && pos[1] < pos[2], "{out}");
        assert!(out.contains("(3 versions, oldest first)"), "{out}");
        assert!(out.contains("corrects version 1") && out.contains("corrects version 2"));
        assert!(out.contains("[latest]"), "{out}");
    }
    let j = env.cmd().args(["history", "dir", "--json"]).ok().json();
    let chains = j["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 2);
    let chain = &chains[1]["versions"];
    let got: Vec<&str> = (0..3).map(|i| chain[i]["id"].as_str().unwrap()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(chain[0]["files"].as_array().unwrap().len(), 2);
    assert_eq!(chains[0]["versions"].as_array().unwrap().len(), 1);

    // A missing middle version is said so; the history is still shown.
    let out = env
        .cmd()
        .args(["history", "dir/v1.zip", "dir/v3.zip"])
        .ok()
        .stdout();
    assert!(out.contains("note: supersedes") && out.contains("not among the bundles given"));
    // A damaged version fails the command, and is still placed.
    let bad = common::rebuild(&std::fs::read(env.path("dir/v2.zip")).unwrap(), |e| {
        e[0].1[0] ^= 1
    });
    std::fs::write(env.path("dir/v2.zip"), bad).unwrap();
    let out = env.cmd().args(["history", "dir"]).fails(1).stdout();
    assert!(
        out.contains("problem: ") && out.contains("manifest.digest"),
        "{out}"
    );
    assert!(out.contains("(3 versions, oldest first)"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// archive: a fixture with three bundles added in three checkpoints
// ---------------------------------------------------------------------------------------------

struct Fixture {
    env: Env,
    reporter: (PathBuf, PathBuf),
    editor: (PathBuf, PathBuf),
    archive_key: (PathBuf, PathBuf),
}

const T1: &str = "2026-02-01T00:00:00Z";
const T2: &str = "2026-03-01T00:00:00Z";
const T3: &str = "2026-04-01T00:00:00Z";

impl Fixture {
    /// `arch`: a.zip (checkpoint 1, T1), b.zip (2, T2), c.zip (3, T3); `d.zip` and `e.zip`
    /// sealed but not archived; `at2` a copy of the archive after the second add; `kept/3` a
    /// copy of checkpoint 3 (and its signature).
    fn new() -> Fixture {
        let env = Env::new();
        let reporter = env.keygen("reporter");
        let editor = env.keygen("editor");
        let archive_key = env.keygen("archive");
        std::fs::create_dir(env.path("in")).unwrap();
        for (i, n) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            pack(
                &env,
                &format!("article {n}\n"),
                &format!("2026-01-0{}T00:00:00Z", i + 1),
                &reporter.0,
                &format!("in/{n}.zip"),
                &[],
            );
        }
        let f = Fixture {
            env,
            reporter,
            editor,
            archive_key,
        };
        f.add("arch", &["in/a.zip"], T1).ok();
        f.add("arch", &["in/b.zip"], T2).ok();
        copy_dir(&f.env.path("arch"), &f.env.path("at2"));
        f.add("arch", &["in/c.zip"], T3).ok();
        std::fs::create_dir(f.env.path("kept")).unwrap();
        for n in ["3", "3.minisig"] {
            std::fs::copy(
                f.env.path(&format!("arch/log/checkpoints/{n}")),
                f.env.path(&format!("kept/{n}")),
            )
            .unwrap();
        }
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
    /// A copy of the archive to tamper with.
    fn copy(&self, name: &str) -> PathBuf {
        let p = self.env.path(name);
        copy_dir(&self.env.path("arch"), &p);
        p
    }
}

fn entry_lines(archive: &Path) -> Vec<String> {
    read(&archive.join("log/entries"))
        .lines()
        .map(String::from)
        .collect()
}

fn write_lines(archive: &Path, lines: &[String]) {
    let mut s = lines.join("\n");
    s.push('\n');
    std::fs::write(archive.join("log/entries"), s).unwrap();
}

/// Re-sign checkpoint `n` of `archive` after `change`, with `key`.
fn resign_checkpoint(
    archive: &Path,
    n: u64,
    key: &docseal::minisign::SecretKey,
    change: impl FnOnce(&mut Checkpoint),
) {
    let dir = archive.join("log/checkpoints");
    let mut cp = Checkpoint::parse(&std::fs::read(dir.join(n.to_string())).unwrap()).unwrap();
    change(&mut cp);
    std::fs::write(dir.join(n.to_string()), cp.body()).unwrap();
    std::fs::write(dir.join(format!("{n}.minisig")), cp.sign(key)).unwrap();
}

#[test]
fn archive_add_logs_bundles_and_signs_checkpoints() {
    let f = Fixture::new();
    let env = &f.env;
    let arch = env.path("arch");
    let lines = entry_lines(&arch);
    assert_eq!(lines.len(), 3);
    for (i, (l, n)) in lines.iter().zip(["a", "b", "c"]).enumerate() {
        let e = docseal::archive::Entry::parse(l.as_bytes()).unwrap();
        assert_eq!(e.index, i as u64);
        assert_eq!(e.name, format!("{n}.zip"));
        let ins = env
            .cmd()
            .args(["inspect", &format!("in/{n}.zip"), "--json"])
            .ok()
            .json();
        assert_eq!(e.content_sha256, ins["content_sha256"].as_str().unwrap());
        assert_eq!(e.id, ins["id"].as_str().unwrap());
        assert_eq!(
            std::fs::read(arch.join("bundles").join(&e.name)).unwrap(),
            std::fs::read(env.path(&format!("in/{n}.zip"))).unwrap()
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(arch.join("log/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["1", "1.minisig", "2", "2.minisig", "3", "3.minisig"]
    );
    let cp3 = Checkpoint::parse(&std::fs::read(arch.join("log/checkpoints/3")).unwrap()).unwrap();
    assert_eq!((cp3.size, cp3.previous), (3, 2));
    assert_eq!(docseal::metadata::format_sealed(cp3.time), T3);
    assert!(!arch.join("log/lock").exists());
    let d = f.audit("arch", &[]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    assert_eq!(d.json()["latest"]["size"], 3);

    // Several at once: one checkpoint; a superseding bundle records the link.
    pack(
        env,
        "a fixed\n",
        "2026-05-01T00:00:00Z",
        &f.reporter.0,
        "in/a2.zip",
        &["--supersedes", "in/a.zip"],
    );
    let out = f
        .add("arch", &["in/d.zip", "in/a2.zip"], "2026-05-02T00:00:00Z")
        .ok()
        .stdout();
    assert!(out.contains("checkpoint 5 of docseal-archive/"), "{out}");
    let last = docseal::archive::Entry::parse(entry_lines(&arch)[4].as_bytes()).unwrap();
    let a = docseal::archive::Entry::parse(entry_lines(&arch)[0].as_bytes()).unwrap();
    assert_eq!(last.supersedes.as_deref(), Some(a.content_sha256.as_str()));
    assert!(!arch.join("log/checkpoints/4").exists());
    assert_eq!(f.audit("arch", &[]).code(), 0);
}

#[test]
fn archive_add_refuses_duplicates_damage_and_time_going_backwards() {
    let f = Fixture::new();
    let env = &f.env;
    let arch = env.path("arch");
    let state = || {
        (
            read(&arch.join("log/entries")),
            std::fs::read_dir(arch.join("bundles")).unwrap().count(),
            std::fs::read_dir(arch.join("log/checkpoints"))
                .unwrap()
                .count(),
        )
    };
    let before = state();
    let later = "2026-06-01T00:00:00Z";
    // The same content again, even co-signed and renamed.
    std::fs::copy(env.path("in/a.zip"), env.path("in/a-cosigned.zip")).unwrap();
    env.cmd()
        .args(["cosign", "in/a-cosigned.zip", "--key"])
        .arg(&f.editor.0)
        .ok();
    let d = f.add("arch", &["in/a-cosigned.zip"], later).fails(2);
    assert!(
        d.stderr().contains("already in the archive"),
        "{}",
        d.stderr()
    );
    // The same file name.
    std::fs::create_dir(env.path("other")).unwrap();
    pack(
        env,
        "x\n",
        "2026-01-09T00:00:00Z",
        &f.reporter.0,
        "other/a.zip",
        &[],
    );
    let d = f.add("arch", &["other/a.zip"], later).fails(2);
    assert!(
        d.stderr().contains("already has a bundle named a.zip"),
        "{}",
        d.stderr()
    );
    // Twice in one command; and a good one with it is not added either.
    f.add("arch", &["in/d.zip", "in/e.zip", "in/d.zip"], later)
        .fails(2);
    // A damaged bundle.
    let bad = common::rebuild(&std::fs::read(env.path("in/e.zip")).unwrap(), |e| {
        e[0].1[0] ^= 1
    });
    std::fs::write(env.path("in/bad.zip"), bad).unwrap();
    let d = f.add("arch", &["in/d.zip", "in/bad.zip"], later).fails(1);
    assert!(d.stderr().contains("manifest.digest"), "{}", d.stderr());
    // A checkpoint dated before the latest.
    let d = f
        .add("arch", &["in/d.zip"], "2026-03-15T00:00:00Z")
        .fails(2);
    assert!(d.stderr().contains("never go backwards"), "{}", d.stderr());
    // Another add running: an OS lock that waits (tests/archive_integrity.rs,
    // issue17_twenty_concurrent_adds_all_succeed); no lock file is ever left.
    assert!(!arch.join("log/lock").exists());
    assert_eq!(state(), before, "nothing was added");
    assert_eq!(f.audit("arch", &[]).code(), 0);
    // A damaged log is not extended.
    let t = f.copy("t");
    let mut lines = entry_lines(&t);
    lines.swap(0, 1);
    write_lines(&t, &lines);
    let d = f.add("t", &["in/d.zip"], later).fails(2);
    assert!(d.stderr().contains("archive audit"), "{}", d.stderr());
    // And it still works.
    f.add("arch", &["in/d.zip"], later).ok();
}

/// Run an audit of a tampered copy and require `code` among its errors, at `path`.
fn expect(
    f: &Fixture,
    archive: &str,
    extra: &[&str],
    code: &str,
    path: &str,
) -> Vec<(String, String, String)> {
    let d = f.audit(archive, extra);
    assert_eq!(d.code(), 1, "{archive}: audit should fail\n{}", d.stdout());
    let v = d.json();
    assert_eq!(v["ok"], false);
    let all = findings(&v);
    assert!(
        all.iter().any(|(c, p, _)| c == code && p.contains(path)),
        "{archive}: expected {code} at {path}, got {all:#?}"
    );
    all
}

#[test]
fn audit_names_bundles_removed_replaced_swapped_or_unlisted() {
    let f = Fixture::new();
    let env = &f.env;

    let t = f.copy("removed");
    std::fs::remove_file(t.join("bundles/b.zip")).unwrap();
    let all = expect(
        &f,
        "removed",
        &[],
        "archive.bundle_removed",
        "bundles/b.zip",
    );
    assert_eq!(all.len(), 1, "{all:?}");

    // Replaced by another validly signed bundle.
    let t = f.copy("replaced");
    std::fs::copy(env.path("in/d.zip"), t.join("bundles/b.zip")).unwrap();
    env.cmd().args(["inspect", "replaced/bundles/b.zip"]).ok();
    let all = expect(
        &f,
        "replaced",
        &[],
        "archive.bundle_replaced",
        "bundles/b.zip",
    );
    assert!(all[0].2.contains("it holds urn:docseal:"), "{all:?}");

    // Co-signed in place after it was archived: the same sealed content, another file.
    f.copy("cosigned");
    env.cmd()
        .args(["cosign", "cosigned/bundles/b.zip", "--key"])
        .arg(&f.editor.0)
        .ok();
    let all = expect(
        &f,
        "cosigned",
        &[],
        "archive.bundle_replaced",
        "bundles/b.zip",
    );
    assert!(all[0].2.contains("same sealed content"), "{all:?}");

    // A byte changed.
    let t = f.copy("flipped");
    let p = t.join("bundles/c.zip");
    let mut b = std::fs::read(&p).unwrap();
    b[100] ^= 1;
    std::fs::write(&p, b).unwrap();
    expect(
        &f,
        "flipped",
        &[],
        "archive.bundle_replaced",
        "bundles/c.zip",
    );

    // Two bundles swapped.
    let t = f.copy("swapped");
    std::fs::rename(t.join("bundles/a.zip"), t.join("bundles/x")).unwrap();
    std::fs::rename(t.join("bundles/b.zip"), t.join("bundles/a.zip")).unwrap();
    std::fs::rename(t.join("bundles/x"), t.join("bundles/b.zip")).unwrap();
    let all = expect(
        &f,
        "swapped",
        &[],
        "archive.bundle_replaced",
        "bundles/a.zip",
    );
    assert!(all.iter().all(|(_, _, m)| m.contains("swapped")), "{all:?}");
    assert_eq!(all.len(), 2);

    // A bundle put in without the log.
    let t = f.copy("unlisted");
    std::fs::copy(env.path("in/d.zip"), t.join("bundles/d.zip")).unwrap();
    expect(
        &f,
        "unlisted",
        &[],
        "archive.bundle_unlisted",
        "bundles/d.zip",
    );
}

#[test]
fn audit_names_log_entries_reordered_altered_removed_or_truncated() {
    let f = Fixture::new();
    let env = &f.env;

    let t = f.copy("reordered");
    let mut lines = entry_lines(&t);
    lines.swap(1, 2);
    write_lines(&t, &lines);
    let all = expect(&f, "reordered", &[], "log.reordered", "log/entries:2");
    assert!(all
        .iter()
        .any(|(c, p, _)| c == "log.reordered" && p == "log/entries:3"));
    // The signed roots say so too, naming the first checkpoint that no longer matches.
    assert!(all
        .iter()
        .any(|(c, p, _)| c == "log.entry_altered" && p == "log/checkpoints/2"));

    // Replaced by another validly signed bundle, and the log entry rewritten to match it.
    let t = f.copy("rewritten");
    std::fs::copy(env.path("in/d.zip"), t.join("bundles/b.zip")).unwrap();
    let d = env
        .cmd()
        .args(["inspect", "in/d.zip", "--json"])
        .ok()
        .json();
    let mut lines = entry_lines(&t);
    let mut e = docseal::archive::Entry::parse(lines[1].as_bytes()).unwrap();
    e.content_sha256 = d["content_sha256"].as_str().unwrap().into();
    e.id = d["id"].as_str().unwrap().into();
    e.file_sha256 = docseal::metadata::hex(&<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(env.path("in/d.zip")).unwrap(),
    ));
    lines[1] = e.line();
    write_lines(&t, &lines);
    let all = expect(
        &f,
        "rewritten",
        &[],
        "log.entry_altered",
        "log/checkpoints/2",
    );
    assert!(all[0].2.contains("b.zip"), "{all:?}");
    assert!(
        all.iter().all(|(c, _, _)| c == "log.entry_altered"),
        "{all:?}"
    );

    // An entry removed from the middle.
    let t = f.copy("entry-removed");
    let mut lines = entry_lines(&t);
    lines.remove(1);
    write_lines(&t, &lines);
    let all = expect(&f, "entry-removed", &[], "log.entry_removed", "log/entries");
    assert!(all.iter().any(|(_, _, m)| m.contains("entry 1 is missing")));

    // The last entry removed: the log is shorter than what checkpoint 3 signs.
    let t = f.copy("truncated");
    let mut lines = entry_lines(&t);
    lines.pop();
    write_lines(&t, &lines);
    expect(&f, "truncated", &[], "log.truncated", "log/checkpoints/3");

    // A line that is not an entry.
    let t = f.copy("garbled");
    let mut lines = entry_lines(&t);
    lines[0] = lines[0].replacen(' ', "  ", 1);
    write_lines(&t, &lines);
    expect(&f, "garbled", &[], "log.malformed", "log/entries:1");

    // An entry appended by hand, which no checkpoint signs: a warning, not a failure.
    let t = f.copy("appended");
    std::fs::copy(env.path("in/d.zip"), t.join("bundles/d.zip")).unwrap();
    let mut lines = entry_lines(&t);
    let mut e = docseal::archive::Entry::parse(lines[2].as_bytes()).unwrap();
    e.index = 3;
    e.name = "d.zip".into();
    e.content_sha256 = d["content_sha256"].as_str().unwrap().into();
    e.id = d["id"].as_str().unwrap().into();
    e.file_sha256 = docseal::metadata::hex(&<sha2::Sha256 as sha2::Digest>::digest(
        std::fs::read(env.path("in/d.zip")).unwrap(),
    ));
    lines.push(e.line());
    write_lines(&t, &lines);
    let out = f.audit("appended", &[]);
    assert_eq!(out.code(), 0, "{}", out.stdout());
    assert_eq!(codes_of(&out.json(), "warning"), ["log.unsigned_entries"]);
    // The next add signs it (its bundle is there as logged).
    f.add("appended", &["in/e.zip"], "2026-07-01T00:00:00Z")
        .ok();
    let out = f.audit("appended", &[]);
    assert_eq!(out.code(), 0, "{}", out.stdout());
    assert!(codes_of(&out.json(), "warning").is_empty());
}

#[test]
fn audit_names_checkpoints_altered_forged_removed_or_back_dated() {
    let f = Fixture::new();
    let env = &f.env;
    let archive_key = common::secret_key(&f.archive_key.0);
    let other_key = common::secret_key(&f.editor.0);

    // Altered: the time changed, the signature left as it was.
    let t = f.copy("altered");
    let p = t.join("log/checkpoints/2");
    std::fs::write(&p, read(&p).replace("time 2026-03-01", "time 2026-02-15")).unwrap();
    expect(
        &f,
        "altered",
        &[],
        "log.checkpoint_invalid",
        "log/checkpoints/2",
    );

    // Forged with another key.
    let t = f.copy("forged");
    resign_checkpoint(&t, 3, &other_key, |_| {});
    let all = expect(
        &f,
        "forged",
        &[],
        "log.checkpoint_untrusted",
        "log/checkpoints/3",
    );
    assert!(all[0].2.contains("not trusted"), "{all:?}");

    // Forged to cover a rewritten log: another root, signed with another key.
    let t = f.copy("forged-root");
    resign_checkpoint(&t, 2, &other_key, |c| c.root = [7; 32]);
    expect(
        &f,
        "forged-root",
        &[],
        "log.checkpoint_untrusted",
        "log/checkpoints/2",
    );

    // Its signature removed.
    let t = f.copy("unsigned");
    std::fs::remove_file(t.join("log/checkpoints/2.minisig")).unwrap();
    expect(
        &f,
        "unsigned",
        &[],
        "log.checkpoint_invalid",
        "log/checkpoints/2",
    );

    // Removed altogether: checkpoint 3 names it as the one before.
    let t = f.copy("cp-removed");
    std::fs::remove_file(t.join("log/checkpoints/2")).unwrap();
    std::fs::remove_file(t.join("log/checkpoints/2.minisig")).unwrap();
    expect(
        &f,
        "cp-removed",
        &[],
        "log.checkpoint_missing",
        "log/checkpoints/2",
    );

    // Renamed.
    let t = f.copy("renamed");
    let dir = t.join("log/checkpoints");
    std::fs::rename(dir.join("3"), dir.join("4")).unwrap();
    std::fs::rename(dir.join("3.minisig"), dir.join("4.minisig")).unwrap();
    expect(
        &f,
        "renamed",
        &[],
        "log.checkpoint_invalid",
        "log/checkpoints/4",
    );

    // Back-dated by the archive key itself: validly signed, but earlier than checkpoint 2.
    let t = f.copy("backdated");
    resign_checkpoint(&t, 3, &archive_key, |c| {
        c.time = chrono::DateTime::parse_from_rfc3339("2026-01-15T00:00:00Z")
            .unwrap()
            .into()
    });
    let all = expect(
        &f,
        "backdated",
        &[],
        "log.checkpoint_inconsistent",
        "log/checkpoints/3",
    );
    assert!(
        all.iter().any(|(_, _, m)| m.contains("back-dated")),
        "{all:?}"
    );

    // A stray file among the checkpoints.
    let t = f.copy("stray");
    std::fs::write(t.join("log/checkpoints/notes.txt"), "x").unwrap();
    expect(
        &f,
        "stray",
        &[],
        "log.malformed",
        "log/checkpoints/notes.txt",
    );

    // The archive key given is not the one that signed: every checkpoint is untrusted.
    let d = env
        .cmd()
        .args(["archive", "audit", "arch", "--json", "--trust"])
        .arg(&f.reporter.1)
        .fails(1);
    assert!(error_codes(&d).contains(&"log.checkpoint_untrusted".to_string()));
}

#[test]
fn audit_against_a_kept_checkpoint_names_a_rewritten_or_rolled_back_log() {
    let f = Fixture::new();
    let env = &f.env;
    let kept = env.path("kept/3").display().to_string();
    // The archive as it is extends the checkpoint kept.
    let d = f.audit("arch", &["--checkpoint", &kept]);
    assert_eq!(d.code(), 0, "{}", d.stdout());

    // Rolled back to an earlier copy: consistent in itself, but shorter than what was kept.
    let d = f.audit("at2", &[]);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    let all = expect(
        &f,
        "at2",
        &["--checkpoint", &kept],
        "log.truncated",
        "kept/3",
    );
    assert!(all
        .iter()
        .any(|(c, p, _)| c == "log.checkpoint_missing" && p == "log/checkpoints/3"));

    // Rewritten from scratch by the archive key holder, in another order: every checkpoint is
    // validly signed and matches the log, so only the checkpoint kept tells.
    f.add("rewritten", &["in/b.zip"], T1).ok();
    f.add("rewritten", &["in/a.zip"], T2).ok();
    f.add("rewritten", &["in/c.zip"], T3).ok();
    assert_eq!(f.audit("rewritten", &[]).code(), 0);
    let all = expect(
        &f,
        "rewritten",
        &["--checkpoint", &kept],
        "log.entry_altered",
        "kept/3",
    );
    assert!(all[0].2.contains("rewritten"), "{all:?}");
    assert!(all
        .iter()
        .any(|(c, p, _)| c == "log.checkpoint_inconsistent" && p == "log/checkpoints/3"));

    // A proof file kept earlier works as a kept checkpoint too.
    env.cmd()
        .args(["archive", "prove", "arch", "in/a.zip", "--out", "p.json"])
        .ok();
    assert_eq!(f.audit("arch", &["--checkpoint", "p.json"]).code(), 0);
    expect(
        &f,
        "rewritten",
        &["--checkpoint", "p.json"],
        "log.entry_altered",
        "p.json",
    );
    // A kept checkpoint that was itself altered is named.
    std::fs::write(
        env.path("kept/3"),
        read(&env.path("kept/3")).replace("time 2026-04", "time 2026-05"),
    )
    .unwrap();
    expect(
        &f,
        "arch",
        &["--checkpoint", &kept],
        "log.checkpoint_invalid",
        "kept/3",
    );
}

// ---------------------------------------------------------------------------------------------
// proofs: checked by a third party with docseal and the archive's public key alone
// ---------------------------------------------------------------------------------------------

#[test]
fn inclusion_proofs_are_checked_without_the_archive() {
    let f = Fixture::new();
    let env = &f.env;
    // Against the latest checkpoint, and against the first that included the bundle.
    let out = env
        .cmd()
        .args(["archive", "prove", "arch", "in/b.zip", "--out", "b.json"])
        .ok()
        .stdout();
    assert!(out.contains("as of checkpoint 3"), "{out}");
    env.cmd()
        .args([
            "archive",
            "prove",
            "arch",
            "b.zip",
            "--checkpoint",
            "2",
            "--out",
            "b2.json",
        ])
        .ok();
    let d = env
        .cmd()
        .args([
            "archive",
            "prove",
            "arch",
            "in/c.zip",
            "--checkpoint",
            "2",
            "--out",
            "x.json",
        ])
        .fails(2);
    assert!(
        d.stderr().contains("the first that does is 3"),
        "{}",
        d.stderr()
    );
    env.cmd()
        .args(["archive", "prove", "arch", "in/d.zip", "--out", "x.json"])
        .fails(2);
    // Never replaced without --force.
    env.cmd()
        .args(["archive", "prove", "arch", "in/b.zip", "--out", "b.json"])
        .fails(3);

    // A third party: the proof, the bundle and the archive's public key; no archive.
    let third = env.path("third");
    std::fs::create_dir(&third).unwrap();
    for (from, to) in [
        ("b.json", "b.json"),
        ("b2.json", "b2.json"),
        ("in/b.zip", "b.zip"),
    ] {
        std::fs::copy(env.path(from), third.join(to)).unwrap();
    }
    std::fs::copy(&f.archive_key.1, third.join("archive.pub")).unwrap();
    let check = |args: &[&str]| {
        env.cmd()
            .cwd(&third)
            .args(["archive", "check-proof"])
            .args(args)
            .args(["--trust", "archive.pub"])
    };
    let out = check(&["b.json", "--bundle", "b.zip"]).ok().stdout();
    assert!(out.contains("OK  entry 1 (b.zip"), "{out}");
    assert!(out.contains("the very file archived"), "{out}");
    let out = check(&["b2.json"]).ok().stdout();
    assert!(
        out.contains("checkpoint 2 signed by key") && out.contains(T2),
        "{out}"
    );
    let j = check(&["b2.json", "--json"]).ok().json();
    assert_eq!(j["checkpoint"]["time"], T2);
    assert_eq!(j["entry"]["name"], "b.zip");

    // A co-signed copy is the same sealed content.
    env.cmd()
        .cwd(&third)
        .args(["cosign", "b.zip", "--key"])
        .arg(&f.editor.0)
        .ok();
    let out = check(&["b.json", "--bundle", "b.zip"]).ok().stdout();
    assert!(out.contains("the same sealed content"), "{out}");
    // Another bundle is not the one proved.
    std::fs::copy(env.path("in/a.zip"), third.join("a.zip")).unwrap();
    let d = check(&["b.json", "--bundle", "a.zip"]).fails(1);
    assert!(
        d.stderr().contains("not the bundle this proof is about"),
        "{}",
        d.stderr()
    );
    // Another archive key.
    env.cmd()
        .cwd(&third)
        .args(["archive", "check-proof", "b.json", "--trust"])
        .arg(&f.reporter.1)
        .fails(1);

    // Tampered proofs.
    let good: serde_json::Value = serde_json::from_str(&read(&third.join("b.json"))).unwrap();
    let tamper = |name: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        std::fs::write(third.join(name), serde_json::to_vec(&v).unwrap()).unwrap();
    };
    tamper("t1.json", &|v| {
        v["entry"] = v["entry"]
            .as_str()
            .unwrap()
            .replace("b.zip", "z.zip")
            .into()
    });
    tamper("t2.json", &|v| {
        let h = v["inclusionPath"][0].as_str().unwrap().to_string();
        let flipped = if h.starts_with('A') {
            h.replacen('A', "B", 1)
        } else {
            format!("A{}", &h[1..])
        };
        v["inclusionPath"][0] = flipped.into();
    });
    tamper("t3.json", &|v| {
        let b = v["checkpoint"]["body"]
            .as_str()
            .unwrap()
            .replace("\n3\n", "\n4\n");
        v["checkpoint"]["body"] = b.into();
    });
    tamper("t4.json", &|v| {
        v["inclusionPath"].as_array_mut().unwrap().pop();
    });
    for t in ["t1.json", "t2.json", "t3.json", "t4.json"] {
        check(&[t]).fails(1);
    }
    // Malformed proofs are invalid input.
    tamper("m1.json", &|v| v["extra"] = 1.into());
    tamper("m2.json", &|v| v["docsealProof"] = "inclusion-v9".into());
    tamper("m3.json", &|v| v["inclusionPath"][0] = "not base64".into());
    std::fs::write(third.join("m4.json"), vec![b' '; 100 << 10]).unwrap();
    std::fs::write(third.join("m5.json"), "{").unwrap();
    for m in ["m1.json", "m2.json", "m3.json", "m4.json", "m5.json"] {
        check(&[m]).fails(2);
    }
}

#[test]
fn consistency_proofs_show_a_checkpoint_extends_an_earlier_one() {
    let f = Fixture::new();
    let env = &f.env;
    env.cmd()
        .args([
            "archive",
            "prove-consistency",
            "arch",
            "--from",
            "1",
            "--out",
            "c13.json",
        ])
        .ok();
    env.cmd()
        .args([
            "archive",
            "prove-consistency",
            "arch",
            "--from",
            "2",
            "--to",
            "3",
        ])
        .args(["--out", "c23.json"])
        .ok();
    env.cmd()
        .args([
            "archive",
            "prove-consistency",
            "arch",
            "--from",
            "3",
            "--to",
            "1",
        ])
        .args(["--out", "x.json"])
        .fails(2);
    env.cmd()
        .args([
            "archive",
            "prove-consistency",
            "arch",
            "--from",
            "7",
            "--out",
            "x.json",
        ])
        .fails(2);
    let check = |args: &[&str]| {
        env.cmd()
            .args(["archive", "check-proof"])
            .args(args)
            .arg("--trust")
            .arg(&f.archive_key.1)
    };
    let out = check(&["c13.json"]).ok().stdout();
    assert!(
        out.contains("checkpoint 3") && out.contains("extends checkpoint 1"),
        "{out}"
    );
    let kept = env.path("kept/3").display().to_string();
    // From the checkpoint kept.
    env.cmd()
        .args([
            "archive",
            "prove-consistency",
            "arch",
            "--from",
            "3",
            "--out",
            "c33.json",
        ])
        .ok();
    let out = check(&["c33.json", "--checkpoint", &kept]).ok().stdout();
    assert!(out.contains("starts from the checkpoint you kept"), "{out}");
    check(&["c13.json", "--checkpoint", &kept]).fails(1);

    // A rewritten archive cannot prove it extends the checkpoint kept: its checkpoint 3 is
    // another tree, and a proof from its own checkpoint 3 does not start from the kept one.
    f.add("rewritten", &["in/b.zip"], T1).ok();
    f.add("rewritten", &["in/a.zip"], T2).ok();
    f.add("rewritten", &["in/c.zip"], T3).ok();
    f.add("rewritten", &["in/d.zip"], "2026-05-01T00:00:00Z")
        .ok();
    env.cmd()
        .args(["archive", "prove-consistency", "rewritten", "--from", "3"])
        .args(["--out", "r.json"])
        .ok();
    check(&["r.json"]).ok();
    check(&["r.json", "--checkpoint", &kept]).fails(1);

    // Tampered: a path hash changed; checkpoints swapped (the newer as the older).
    let good: serde_json::Value = serde_json::from_str(&read(&env.path("c13.json"))).unwrap();
    let mut v = good.clone();
    let h = v["consistencyPath"][0].as_str().unwrap().to_string();
    v["consistencyPath"][0] =
        format!("{}{}", if h.starts_with('A') { "B" } else { "A" }, &h[1..]).into();
    std::fs::write(env.path("t1.json"), serde_json::to_vec(&v).unwrap()).unwrap();
    let mut v = good.clone();
    let (o, n) = (v["old"].clone(), v["new"].clone());
    v["old"] = n;
    v["new"] = o;
    std::fs::write(env.path("t2.json"), serde_json::to_vec(&v).unwrap()).unwrap();
    for t in ["t1.json", "t2.json"] {
        check(&[t]).fails(1);
    }
}

// ---------------------------------------------------------------------------------------------
// established sealing time: verify --archive and retired keys
// ---------------------------------------------------------------------------------------------

#[test]
fn an_archive_checkpoint_establishes_sealing_before_a_key_was_retired() {
    let f = Fixture::new();
    let env = &f.env;
    env.cmd()
        .args(["key", "trust", "trust.toml"])
        .arg(&f.reporter.1)
        .args(["--name", "reporter"])
        .ok();
    env.cmd()
        .args(["key", "trust", "trust.toml"])
        .arg(&f.archive_key.1)
        .args(["--name", "archive", "--archive"])
        .ok();
    // The reporter's key is retired after b.zip was archived (T2) and before c.zip was (T3).
    env.cmd()
        .args([
            "key",
            "revoke",
            "trust.toml",
            "reporter",
            "--reason",
            "retired",
        ])
        .args(["--at", "2026-03-15T00:00:00Z"])
        .ok();
    let verify = |bundle: &str, archive: bool| {
        let mut r = env
            .cmd()
            .args(["verify", bundle, "--json", "--trust", "trust.toml"]);
        if archive {
            r = r.args(["--archive", "arch"]);
        }
        r.run()
    };
    // Without the archive, the sealing time is only the signer's word.
    for b in ["in/a.zip", "in/b.zip", "in/c.zip"] {
        let d = verify(b, false);
        assert_eq!(d.code(), 1);
        assert_eq!(common::json_codes(&d.stdout())[0], ["trust.revoked"]);
    }
    // With it, bundles archived before the retirement are good; the one after is not.
    for b in ["in/a.zip", "in/b.zip", "arch/bundles/a.zip"] {
        let d = verify(b, true);
        assert_eq!(d.code(), 0, "{b}: {}", d.stdout());
    }
    let d = verify("in/c.zip", true);
    assert_eq!(d.code(), 1);
    assert_eq!(common::json_codes(&d.stdout())[0], ["trust.revoked"]);
    assert!(
        d.stdout()
            .contains("first shows this bundle at 2026-04-01T00:00:00Z"),
        "{}",
        d.stdout()
    );
    // A whole archive at once.
    let d = env
        .cmd()
        .args([
            "verify",
            "arch",
            "--json",
            "--trust",
            "trust.toml",
            "--archive",
            "arch",
        ])
        .fails(1);
    let (_, summary) = common::json_lines(&d.stdout());
    assert_eq!(
        (summary["passed"].as_u64(), summary["failed"].as_u64()),
        (Some(2), Some(1))
    );

    // A back-dated checkpoint (re-signed by the archive key to say c.zip was there at T1)
    // contradicts checkpoint 2: nothing is taken from the archive.
    let t = f.copy("backdated");
    resign_checkpoint(&t, 3, &common::secret_key(&f.archive_key.0), |c| {
        c.time = chrono::DateTime::parse_from_rfc3339(T1).unwrap().into()
    });
    let d = env
        .cmd()
        .args([
            "verify",
            "in/c.zip",
            "--trust",
            "trust.toml",
            "--archive",
            "backdated",
        ])
        .fails(2);
    assert!(d.stderr().contains("back-dated"), "{}", d.stderr());
    // A tampered log: refused, with the audit to run.
    let t = f.copy("tampered");
    let mut lines = entry_lines(&t);
    lines.swap(0, 1);
    write_lines(&t, &lines);
    let d = env
        .cmd()
        .args([
            "verify",
            "in/a.zip",
            "--trust",
            "trust.toml",
            "--archive",
            "tampered",
        ])
        .fails(2);
    assert!(
        d.stderr().contains("docseal archive audit"),
        "{}",
        d.stderr()
    );
    // The archive's key must be trusted.
    let d = env
        .cmd()
        .args(["verify", "in/a.zip", "--archive", "arch", "--trust"])
        .arg(&f.reporter.1)
        .fails(2);
    assert!(
        d.stderr().contains("no checkpoint is signed"),
        "{}",
        d.stderr()
    );
    env.cmd()
        .args([
            "verify",
            "in/a.zip",
            "--trust",
            "trust.toml",
            "--archive",
            "in",
        ])
        .fails(2);

    // The archive's own key, retired: its checkpoints after the retirement do not count.
    env.cmd()
        .args([
            "key",
            "revoke",
            "trust.toml",
            "archive",
            "--reason",
            "retired",
        ])
        .args(["--at", "2026-02-15T00:00:00Z"])
        .ok();
    assert_eq!(verify("in/a.zip", true).code(), 0);
    let d = verify("in/b.zip", true);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert!(d.stderr().contains("not counted"), "{}", d.stderr());
    // Compromised: none of its checkpoints count.
    env.cmd()
        .args([
            "key",
            "revoke",
            "trust.toml",
            "archive",
            "--reason",
            "compromised",
        ])
        .args(["--at", "2026-02-15T00:00:00Z"])
        .ok();
    let d = verify("in/a.zip", true);
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.stderr().contains("compromised"), "{}", d.stderr());
}

#[test]
fn verify_with_an_archive_reports_newer_versions_it_holds() {
    let f = Fixture::new();
    let env = &f.env;
    pack(
        env,
        "a fixed\n",
        "2026-05-01T00:00:00Z",
        &f.reporter.0,
        "in/a2.zip",
        &["--supersedes", "in/a.zip"],
    );
    f.add("arch", &["in/a2.zip"], "2026-05-02T00:00:00Z").ok();
    let d = env
        .cmd()
        .args([
            "verify",
            "in/a.zip",
            "--json",
            "--archive",
            "arch",
            "--trust",
        ])
        .arg(&f.reporter.1)
        .arg("--archive-key")
        .arg(&f.archive_key.1)
        .ok();
    let (reports, _) = common::json_lines(&d.stdout());
    assert_eq!(codes_of(&reports[0], "warning"), ["prov.superseded"]);
    assert!(reports[0]["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("a2.zip"));

    // A correction of a bundle whose id the archive holds with other content: a mismatch.
    // (Same article, URL and sealing time as a.zip, another title: the same id.)
    env.cmd()
        .arg("pack")
        .arg(env.path("in/a.zip.txt"))
        .args([
            "--url",
            URL,
            "--title",
            "Another",
            "--publisher",
            "Daily Times",
        ])
        .args([
            "--published",
            "2018-09-11",
            "--created",
            "2026-01-01T00:00:00Z",
            "--key",
        ])
        .arg(&f.reporter.0)
        .args(["--out", "in/a-other.zip"])
        .ok();
    pack(
        env,
        "other fixed\n",
        "2026-05-03T00:00:00Z",
        &f.reporter.0,
        "in/fix.zip",
        &["--supersedes", "in/a-other.zip"],
    );
    let d = env
        .cmd()
        .args([
            "verify",
            "in/fix.zip",
            "--json",
            "--archive",
            "arch",
            "--trust",
        ])
        .arg(&f.reporter.1)
        .arg("--archive-key")
        .arg(&f.archive_key.1)
        .fails(1);
    assert_eq!(
        common::json_codes(&d.stdout())[0],
        ["prov.supersedes_mismatch"]
    );
    assert!(d.stdout().contains("archive log entry 0"), "{}", d.stdout());
}

// ---------------------------------------------------------------------------------------------
// test vectors (docs/FORMAT.md, "Archive log v1")
// ---------------------------------------------------------------------------------------------

mod vectors {
    use super::*;
    use docseal::archive::{Entry, Proof};
    use docseal::log::{self, Hash};
    use docseal::metadata::hex;
    use docseal::minisign::{KeyId, SecretKey};
    use sha2::{Digest, Sha256};

    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/log-v1")
    }

    /// The published archive test key: seed = SHA-256("docseal archive test vector key 1"),
    /// key id = first 8 bytes of SHA-256("docseal archive test vector key id 1").
    fn key() -> SecretKey {
        let seed: [u8; 32] = Sha256::digest(b"docseal archive test vector key 1").into();
        let id: [u8; 32] = Sha256::digest(b"docseal archive test vector key id 1").into();
        SecretKey::from_seed(&seed, KeyId(id[..8].try_into().unwrap()))
    }

    fn h(tag: &str) -> String {
        hex(&Sha256::digest(tag.as_bytes()))
    }

    /// Three entries (synthetic digests: SHA-256 of a label), the third superseding the first.
    fn entries() -> Vec<Entry> {
        (0..3u64)
            .map(|i| Entry {
                index: i,
                content_sha256: h(&format!("content {i}")),
                file_sha256: h(&format!("file {i}")),
                id: format!("urn:docseal:{}", &h(&format!("id {i}"))[..32]),
                supersedes: (i == 2).then(|| h("content 0")),
                name: format!("bundle-{i}.zip"),
            })
            .collect()
    }

    fn time(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().into()
    }

    /// Every file of the vector, as the current code makes it.
    fn files() -> Vec<(String, Vec<u8>)> {
        let k = key();
        let es = entries();
        let leaves: Vec<Hash> = es.iter().map(Entry::leaf_hash).collect();
        let origin = format!("docseal-archive/{}", k.key_id());
        let cp1 = Checkpoint {
            origin: origin.clone(),
            size: 1,
            root: log::root(&leaves[..1]),
            time: time("2026-01-01T00:00:00Z"),
            previous: 0,
        };
        let cp3 = Checkpoint {
            origin,
            size: 3,
            root: log::root(&leaves),
            time: time("2026-02-01T00:00:00Z"),
            previous: 1,
        };
        let mut entries_text = String::new();
        for e in &es {
            entries_text.push_str(&e.line());
            entries_text.push('\n');
        }
        let note = |c: &Checkpoint| docseal::archive::SignedNote {
            body: c.body(),
            signature: c.sign(&k),
        };
        let b64 = |h: &Hash| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(h)
        };
        let inclusion = Proof::Inclusion(docseal::archive::InclusionProof {
            docseal_proof: "inclusion-v1".into(),
            entry: es[1].line(),
            inclusion_path: log::inclusion_proof(1, &leaves)
                .unwrap()
                .iter()
                .map(b64)
                .collect(),
            checkpoint: note(&cp3),
        });
        let consistency = Proof::Consistency(docseal::archive::ConsistencyProof {
            docseal_proof: "consistency-v1".into(),
            old: note(&cp1),
            new: note(&cp3),
            consistency_path: log::consistency_proof(1, &leaves)
                .unwrap()
                .iter()
                .map(b64)
                .collect(),
        });
        let mut leaf_lines = String::new();
        for (e, l) in es.iter().zip(&leaves) {
            leaf_lines.push_str(&format!("{}  {}\n", hex(l), e.line()));
        }
        vec![
            ("archive/log/entries".into(), entries_text.into_bytes()),
            ("archive/log/checkpoints/1".into(), cp1.body().into_bytes()),
            (
                "archive/log/checkpoints/1.minisig".into(),
                cp1.sign(&k).into_bytes(),
            ),
            ("archive/log/checkpoints/3".into(), cp3.body().into_bytes()),
            (
                "archive/log/checkpoints/3.minisig".into(),
                cp3.sign(&k).into_bytes(),
            ),
            (
                "archive-key.pub".into(),
                k.public_key().to_file_string().into_bytes(),
            ),
            ("leaf-hashes.txt".into(), leaf_lines.into_bytes()),
            ("inclusion-1-at-3.json".into(), inclusion.to_bytes()),
            ("consistency-1-to-3.json".into(), consistency.to_bytes()),
        ]
    }

    #[test]
    fn log_vectors_are_reproduced_and_check_out() {
        let write = std::env::var_os("DOCSEAL_WRITE_VECTORS").is_some();
        for (name, bytes) in files() {
            let p = dir().join(&name);
            if write && !p.exists() {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, &bytes).unwrap();
            }
            let got = std::fs::read(&p).unwrap_or_else(|e| {
                panic!("{}: {e} (DOCSEAL_WRITE_VECTORS=1 makes it)", p.display())
            });
            assert_eq!(got, bytes, "{name} is not what the current code makes");
        }
        // The proofs check with docseal and the public key alone, and prove regenerates them.
        let env = Env::new();
        let pubk = dir().join("archive-key.pub");
        for (proof, what) in [
            ("inclusion-1-at-3.json", "OK  entry 1 (bundle-1.zip"),
            ("consistency-1-to-3.json", "extends checkpoint 1"),
        ] {
            let out = env
                .cmd()
                .args(["archive", "check-proof"])
                .arg(dir().join(proof))
                .arg("--trust")
                .arg(&pubk)
                .ok()
                .stdout();
            assert!(out.contains(what), "{out}");
        }
        let arch = dir().join("archive");
        env.cmd()
            .args(["archive", "prove"])
            .arg(&arch)
            .arg(h("content 1"))
            .args(["--out", "i.json"])
            .ok();
        assert_eq!(
            std::fs::read(env.path("i.json")).unwrap(),
            std::fs::read(dir().join("inclusion-1-at-3.json")).unwrap()
        );
        env.cmd()
            .args(["archive", "prove-consistency"])
            .arg(&arch)
            .args(["--from", "1", "--out", "c.json"])
            .ok();
        assert_eq!(
            std::fs::read(env.path("c.json")).unwrap(),
            std::fs::read(dir().join("consistency-1-to-3.json")).unwrap()
        );
    }

    #[test]
    fn merkle_vectors_are_reproduced() {
        let text = read(&dir().join("merkle.json"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let unhex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let leaves: Vec<Hash> = v["leaves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| log::leaf_hash(&unhex(d.as_str().unwrap())))
            .collect();
        for (n, r) in v["roots"].as_array().unwrap().iter().enumerate() {
            assert_eq!(
                hex(&log::root(&leaves[..n])),
                r.as_str().unwrap(),
                "root {n}"
            );
        }
        for c in v["inclusion"].as_array().unwrap() {
            let (i, n) = (c["index"].as_u64().unwrap(), c["size"].as_u64().unwrap());
            let want: Vec<&str> = c["path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            let got = log::inclusion_proof(i as usize, &leaves[..n as usize]).unwrap();
            assert_eq!(
                got.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                want,
                "inclusion {i} {n}"
            );
            log::verify_inclusion(
                i,
                n,
                &leaves[i as usize],
                &got,
                &log::root(&leaves[..n as usize]),
            )
            .unwrap();
        }
        for c in v["consistency"].as_array().unwrap() {
            let (m, n) = (c["old"].as_u64().unwrap(), c["new"].as_u64().unwrap());
            let want: Vec<&str> = c["path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            let got = log::consistency_proof(m as usize, &leaves[..n as usize]).unwrap();
            assert_eq!(
                got.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                want,
                "consistency {m} {n}"
            );
            log::verify_consistency(
                m,
                n,
                &log::root(&leaves[..m as usize]),
                &log::root(&leaves[..n as usize]),
                &got,
            )
            .unwrap();
        }
    }
}
