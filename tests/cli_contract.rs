//! Issue 12: the command-line contract holds under pipes, scripts and mistakes. Also issue 19
//! item 8 (output a terminal can trust) and issue 20 item 10 (`verify DIR` reports symlinks and
//! unreadable subdirectories and goes on). Every test runs the real binary.

use crate::common;

use common::{json_lines, require_tool, sample_article, sample_pack_args, Env};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_docseal");

/// A key pair and the sample bundle `a.zip` in a fresh environment.
fn setup() -> (Env, std::path::PathBuf, std::path::PathBuf) {
    let env = Env::new();
    let (key, public) = env.keygen("me");
    env.pack_sample(&key, "a.zip");
    (env, key, public)
}

/// A copy of `src` at `dst` with one byte of its article changed (a bundle that fails).
fn damaged_copy(src: &Path, dst: &Path) {
    let mut b = fs::read(src).unwrap();
    let i = b
        .windows(6)
        .position(|w| w == b"Russia")
        .expect("article text")
        + 1;
    b[i] ^= 0x20;
    fs::write(dst, b).unwrap();
}

/// A directory of 5,000 good bundles (hard links to one) and a failing one sorted last.
fn many_bundles(env: &Env, good: &Path) -> std::path::PathBuf {
    let dir = env.path("many");
    fs::create_dir(&dir).unwrap();
    for i in 0..5000 {
        fs::hard_link(good, dir.join(format!("b{i:04}.zip"))).unwrap();
    }
    damaged_copy(good, &dir.join("zzz-damaged.zip"));
    dir
}

/// Run docseal with `args` in `env`, read `lines` lines of its standard output, close the
/// pipe, and return (exit code, the lines read, standard error).
fn run_and_close_after(env: &Env, args: &[&str], lines: usize) -> (i32, Vec<String>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut read = Vec::new();
    {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        for _ in 0..lines {
            let mut l = String::new();
            if out.read_line(&mut l).unwrap() == 0 {
                break;
            }
            read.push(l);
        }
        // Dropped here: the pipe's read end is closed.
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), read, err)
}

#[test]
fn issue12_verify_dir_piped_to_head_fails_when_the_last_bundle_fails() {
    let (env, _, _) = setup();
    many_bundles(&env, &env.path("a.zip"));
    let (code, lines, err) = run_and_close_after(&env, &["verify", "many", "--trust", "me.pub"], 1);
    assert!(lines[0].starts_with("OK "), "{lines:?}");
    assert_eq!(code, 1, "a failing bundle is never exit 0; stderr: {err}");
    assert!(err.is_empty(), "a closed pipe stops quietly: {err}");
    // The same in JSON Lines.
    let (code, lines, err) =
        run_and_close_after(&env, &["verify", "many", "--trust", "me.pub", "--json"], 1);
    assert!(lines[0].contains("\"type\":\"bundle\""), "{lines:?}");
    assert_eq!(code, 1, "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn issue12_history_and_inspect_piped_to_head_stop_quietly() {
    let (env, _, _) = setup();
    many_bundles(&env, &env.path("a.zip"));
    // history of 5,001 bundles: a long JSON document, cut after one line.
    let (code, _, err) = run_and_close_after(&env, &["history", "many", "--json"], 1);
    assert!(err.is_empty(), "no 'Broken pipe' error: {err}");
    assert_ne!(code, 2, "{err}");
    assert_ne!(code, 101, "{err}");
    // inspect with its standard output closed before it writes: no panic (exit 101).
    let mut child = Command::new(BIN)
        .args(["inspect", "a.zip"])
        .current_dir(env.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn issue12_a_full_disk_is_never_success() {
    let (env, _, _) = setup();
    if !Path::new("/dev/full").exists() {
        return;
    }
    for args in [
        vec!["verify", "a.zip", "--trust", "me.pub"],
        vec!["verify", "a.zip", "--trust", "me.pub", "--json"],
        vec!["inspect", "a.zip"],
        vec!["inspect", "a.zip", "--json"],
        vec!["completions", "bash"],
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .current_dir(env.dir.path())
            .stdout(
                fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {err}");
        assert!(err.contains("standard output"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn issue12_empty_run_is_an_error_unless_allow_empty() {
    let (env, _, _) = setup();
    fs::create_dir(env.path("empty")).unwrap();
    fs::write(env.path("empty/notes.txt"), "not a bundle").unwrap();
    let d = env
        .cmd()
        .args(["verify", "empty", "--trust", "me.pub"])
        .fails(1);
    assert_eq!(d.stderr().lines().count(), 1, "{}", d.stderr());
    assert!(d.stderr().contains("no bundle"), "{}", d.stderr());
    assert!(d.stderr().contains("--allow-empty"), "{}", d.stderr());
    let d = env
        .cmd()
        .args(["verify", "empty", "--trust", "me.pub", "--allow-empty"])
        .ok();
    assert!(d.stdout().contains("0 passed, 0 failed"), "{}", d.stdout());
    // history too.
    let d = env.cmd().args(["history", "empty"]).fails(1);
    assert_eq!(d.stderr().lines().count(), 1, "{}", d.stderr());
    env.cmd().args(["history", "empty", "--allow-empty"]).ok();
}

#[test]
fn issue12_missing_path_among_good_ones_is_a_finding() {
    let (env, key, _) = setup();
    env.pack_sample(&key, "b.zip");
    let d = env
        .cmd()
        .args([
            "verify",
            "a.zip",
            "missing.zip",
            "b.zip",
            "--trust",
            "me.pub",
            "--json",
        ])
        .fails(4);
    let (reports, summary) = json_lines(&d.stdout());
    let paths: Vec<&str> = reports
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(reports.len(), 3, "{paths:?}");
    for p in ["a.zip", "missing.zip", "b.zip"] {
        assert!(paths.contains(&p), "{paths:?}");
    }
    let missing = reports.iter().find(|r| r["path"] == "missing.zip").unwrap();
    assert_eq!(missing["ok"], false);
    assert_eq!(missing["findings"][0]["code"], "io.read");
    assert_eq!(summary["passed"], 2);
    assert_eq!(summary["failed"], 1);
    // Text: the missing path is reported, the others verified.
    let d = env
        .cmd()
        .args([
            "verify",
            "a.zip",
            "missing.zip",
            "b.zip",
            "--trust",
            "me.pub",
        ])
        .fails(4);
    let out = d.stdout();
    assert!(out.contains("FAILED  missing.zip"), "{out}");
    assert!(out.contains("io.read"), "{out}");
    assert!(
        out.contains("OK      a.zip") && out.contains("OK      b.zip"),
        "{out}"
    );
    // A bundle that fails verification is worse than a path that cannot be read: exit 1.
    damaged_copy(&env.path("a.zip"), &env.path("bad.zip"));
    env.cmd()
        .args([
            "verify",
            "a.zip",
            "missing.zip",
            "bad.zip",
            "--trust",
            "me.pub",
        ])
        .fails(1);
    // inspect of a missing file: one line, exit 4 (as verify).
    let d = env.cmd().args(["inspect", "missing.zip"]).fails(4);
    assert_eq!(d.stderr().lines().count(), 1, "{}", d.stderr());
    assert!(d.stderr().contains("missing.zip"), "{}", d.stderr());
    assert!(d.stdout().is_empty(), "{}", d.stdout());
}

#[test]
fn issue20_item10_symlinks_and_unreadable_subdirectories_are_findings() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let (env, _, _) = setup();
    let root = env.path("arch");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::create_dir_all(root.join("z")).unwrap();
    fs::copy(env.path("a.zip"), root.join("a.zip")).unwrap();
    fs::copy(env.path("a.zip"), root.join("sub/s.zip")).unwrap();
    fs::copy(env.path("a.zip"), root.join("z/last.zip")).unwrap();
    symlink(env.path("a.zip"), root.join("link.zip")).unwrap();
    symlink(root.join("z"), root.join("linkdir")).unwrap();
    // Readable by another user, except `sub`.
    for p in [env.dir.path(), &root, &root.join("z")] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    for p in [
        env.path("a.zip"),
        env.path("me.pub"),
        root.join("a.zip"),
        root.join("z/last.zip"),
    ] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::set_permissions(root.join("sub"), fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any directory: run as nobody then.
    let root_user = unsafe_free_euid() == 0;
    let mut cmd = if root_user {
        if !require_tool("setpriv") {
            return;
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        c
    } else {
        Command::new(BIN)
    };
    let out = cmd
        .args(["verify", "arch", "--trust", "me.pub", "--json"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    fs::set_permissions(root.join("sub"), fs::Permissions::from_mode(0o755)).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{stderr}");
    let (reports, summary) = json_lines(&stdout);
    let find = |p: &str| {
        reports
            .iter()
            .find(|r| r["path"] == p)
            .unwrap_or_else(|| panic!("{p} reported: {stdout}"))
    };
    assert_eq!(find("arch/sub")["findings"][0]["code"], "io.read");
    assert_eq!(find("arch/link.zip")["findings"][0]["code"], "io.symlink");
    assert_eq!(find("arch/linkdir")["findings"][0]["code"], "io.symlink");
    assert_eq!(find("arch/a.zip")["ok"], true);
    assert_eq!(find("arch/z/last.zip")["ok"], true, "the search went on");
    assert_eq!(summary["passed"], 2);
    assert_eq!(summary["failed"], 3);
}

/// The effective user id, from `id -u` (no unsafe code in tests either).
fn unsafe_free_euid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn issue12_dash_is_standard_input_and_standard_output() {
    let (env, key, _) = setup();
    let bundle = fs::read(env.path("a.zip")).unwrap();
    let d = env
        .cmd()
        .args(["verify", "-", "--trust", "me.pub"])
        .stdin(&bundle)
        .ok();
    assert!(d.stdout().starts_with("OK      -  "), "{}", d.stdout());
    let d = env
        .cmd()
        .args(["inspect", "-", "--json"])
        .stdin(&bundle)
        .ok();
    assert_eq!(d.json()["type"], "bundle");
    assert_eq!(d.json()["path"], "-");
    assert_eq!(d.json()["ok"], true);
    // A damaged bundle from standard input fails as a file would.
    damaged_copy(&env.path("a.zip"), &env.path("bad.zip"));
    let bad = fs::read(env.path("bad.zip")).unwrap();
    env.cmd()
        .args(["verify", "-", "--trust", "me.pub"])
        .stdin(&bad)
        .fails(1);
    // Bounded by the size limits.
    let d = env
        .cmd()
        .args([
            "verify",
            "-",
            "--trust",
            "me.pub",
            "--json",
            "--max-total-size",
            "100",
            "--max-entries",
            "1",
        ])
        .stdin(&bundle)
        .fails(1);
    assert_eq!(
        json_lines(&d.stdout()).0[0]["findings"][0]["code"],
        "limit.bundle_size"
    );
    // pack --out -: the same bytes as a bundle file.
    let mut args = sample_pack_args(&key, "-");
    let d = env.cmd().args(&args).ok();
    assert_eq!(
        d.out.stdout, bundle,
        "pack --out - writes the bundle's bytes"
    );
    assert!(
        d.stderr().contains("sealed to standard output"),
        "{}",
        d.stderr()
    );
    // A bundle that could not be delivered (the reader went away) is not a success.
    let mut child = Command::new(BIN)
        .args(&args)
        .current_dir(env.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... and `pack - --out -` from a pipe to a pipe.
    args[1] = "-".into();
    let article = fs::read(sample_article()).unwrap();
    let d = env.cmd().args(&args).stdin(&article).ok();
    assert!(docseal::verify::verify_bytes("-", &d.out.stdout, None, &Default::default()).ok);
}

#[test]
fn issue12_every_json_object_has_a_type() {
    let (env, key, _) = setup();
    let d = env
        .cmd()
        .args(["verify", "a.zip", "--trust", "me.pub", "--json"])
        .ok();
    for l in d.stdout().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["type"] == "bundle" || v["type"] == "summary", "{l}");
    }
    assert!(d
        .stdout()
        .lines()
        .last()
        .unwrap()
        .contains("\"type\":\"summary\""));
    let d = env.cmd().args(["inspect", "a.zip", "--json"]).ok();
    assert_eq!(d.json()["type"], "bundle");
    let d = env.cmd().args(["history", "a.zip", "--json"]).ok();
    assert_eq!(d.json()["type"], "history");
    // pack --json, and pack --batch --json in JSON Lines.
    let mut args = sample_pack_args(&key, "c.zip");
    args.push("--json".into());
    let d = env.cmd().args(&args).ok();
    assert_eq!(d.json()["type"], "sealed");
    assert_eq!(d.json()["path"], "c.zip");
    let article = sample_article();
    let job = |out: &str| {
        serde_json::json!({"article": article, "url": "https://e.com/a", "title": "T",
            "publisher": "P", "published": "2018-09-11", "out": out})
        .to_string()
    };
    fs::write(
        env.path("jobs.jsonl"),
        format!("{}\n{{\"bad\": 1}}\n{}\n", job("x.zip"), job("y.zip")),
    )
    .unwrap();
    let d = env
        .cmd()
        .args(["pack", "--batch", "jobs.jsonl", "--key"])
        .arg(&key)
        .args(["--out-dir", "out", "--json"])
        .fails(2);
    let lines: Vec<serde_json::Value> = d
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 4, "{}", d.stdout());
    assert_eq!(lines[0]["type"], "job");
    assert_eq!(lines[0]["status"], "sealed");
    assert_eq!(lines[1]["status"], "failed");
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[3]["type"], "summary");
    assert_eq!(lines[3]["sealed"], 2);
    assert_eq!(lines[3]["failed"], 1);
    // Each --help says what its JSON is.
    for cmd in ["verify", "inspect", "history", "pack"] {
        let h = env.cmd().args([cmd, "--help"]).ok().stdout();
        assert!(h.contains("\"type\""), "{cmd} --help: {h}");
    }
    let h = env.cmd().args(["verify", "--help"]).ok().stdout();
    assert!(h.contains("JSON Lines"), "{h}");
}

#[test]
fn issue12_completions_parse_in_each_shell() {
    let env = Env::new();
    for (shell, check) in [
        ("bash", vec!["bash", "-n"]),
        ("zsh", vec!["zsh", "-n"]),
        ("fish", vec!["fish", "-n"]),
    ] {
        let d = env.cmd().args(["completions", shell]).ok();
        assert!(d.stdout().contains("docseal"), "{shell}");
        if !require_tool(check[0]) {
            continue;
        }
        let f = env.path(&format!("docseal.{shell}"));
        fs::write(&f, &d.out.stdout).unwrap();
        let out = Command::new(check[0])
            .args(&check[1..])
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell} -n: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for shell in ["elvish", "powershell"] {
        let d = env.cmd().args(["completions", shell]).ok();
        assert!(d.stdout().contains("docseal"), "{shell}");
    }
    env.cmd().args(["completions", "tcsh"]).fails(2);
}

#[test]
fn issue12_man_pages_render() {
    let env = Env::new();
    let d = env.cmd().arg("man").ok();
    assert!(d.stdout().starts_with(".ie") || d.stdout().contains(".TH"));
    let d2 = env.cmd().args(["man", "verify"]).ok();
    assert!(d2.stdout().contains("docseal\\-verify"), "{}", d2.stdout());
    let d3 = env.cmd().args(["man", "key", "trust"]).ok();
    assert!(d3.stdout().contains("valid\\-until"), "{}", d3.stdout());
    env.cmd().args(["man", "nosuch"]).fails(2);
    if !require_tool("man") {
        return;
    }
    for (page, want) in [(&d, "docseal"), (&d2, "--allow-empty")] {
        let f = env.path("page.1");
        fs::write(&f, &page.out.stdout).unwrap();
        let out = Command::new("man")
            .arg("-l")
            .arg(&f)
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(want), "{text}");
    }
}

#[test]
fn issue12_mistakes_get_an_answer_naming_the_fix() {
    let (env, key, public) = setup();
    let article = sample_article().display().to_string();
    let pack = |extra: &[&str]| {
        let mut a = vec![
            "pack".to_string(),
            article.clone(),
            "--title".into(),
            "T".into(),
            "--publisher".into(),
            "P".into(),
            "--published".into(),
            "2018-09-11".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        env.cmd().args(a)
    };
    // A public key as --key.
    let d = pack(&[
        "--url",
        "https://e.com/",
        "--key",
        "me.pub",
        "--out",
        "p.zip",
    ])
    .fails(2);
    assert!(
        d.stderr().contains("this is a public key"),
        "{}",
        d.stderr()
    );
    assert!(d.stderr().contains("me.key"), "{}", d.stderr());
    // A secret key as --trust: said, and none of its bytes echoed.
    let d = env
        .cmd()
        .args(["verify", "a.zip", "--trust", "me.key"])
        .fails(2);
    assert!(
        d.stderr().contains("this is a secret key"),
        "{}",
        d.stderr()
    );
    assert!(d.stderr().contains("me.pub"), "{}", d.stderr());
    let secret = fs::read_to_string(&key).unwrap();
    for line in secret.lines().skip(1) {
        for piece in line.as_bytes().chunks(12) {
            let piece = String::from_utf8_lossy(piece);
            assert!(
                !d.stderr().contains(&*piece),
                "echoed key bytes: {}",
                d.stderr()
            );
        }
    }
    // keygen me2.key writes me2.key and me2.pub.
    env.cmd()
        .args(["keygen", "me2.key", "--no-passphrase"])
        .ok();
    assert!(env.path("me2.key").exists() && env.path("me2.pub").exists());
    assert!(!env.path("me2.key.key").exists());
    // --out in a missing directory: names it, no temp file name.
    let d = pack(&[
        "--url",
        "https://e.com/",
        "--key",
        "me.key",
        "--out",
        "nodir/p.zip",
    ])
    .fails(2);
    assert!(d.stderr().contains("nodir"), "{}", d.stderr());
    assert!(d.stderr().contains("does not exist"), "{}", d.stderr());
    assert!(
        !d.stderr().contains(".tmp") && !d.stderr().contains(".docseal-"),
        "{}",
        d.stderr()
    );
    // The same for another command's --out.
    let d = env
        .cmd()
        .args([
            "extract",
            "a.zip",
            "--trust",
            "me.pub",
            "--out",
            "nodir2/sub/x",
        ])
        .run();
    assert_ne!(d.code(), 0);
    assert!(
        !d.stderr().contains(".tmp") && !d.stderr().contains(".docseal-"),
        "{}",
        d.stderr()
    );
    env.cmd()
        .args(["archive", "add", "A0", "a.zip", "--key", "me.key"])
        .ok();
    let d = env
        .cmd()
        .args(["archive", "prove", "A0", "a.zip", "--out", "nodir3/p.json"])
        .fails(4);
    assert!(
        d.stderr().contains("the directory nodir3 does not exist"),
        "{}",
        d.stderr()
    );
    assert!(
        !d.stderr().contains(".tmp") && !d.stderr().contains(".docseal-"),
        "{}",
        d.stderr()
    );
    // --out that is a directory, with or without --force.
    fs::create_dir(env.path("d")).unwrap();
    for force in [false, true] {
        let mut extra = vec!["--url", "https://e.com/", "--key", "me.key", "--out", "d"];
        if force {
            extra.push("--force");
        }
        let d = pack(&extra).fails(2);
        assert!(d.stderr().contains("is a directory"), "{}", d.stderr());
        assert!(d.stderr().contains("--force never"), "{}", d.stderr());
    }
    // A URL without a scheme.
    let d = pack(&["--url", "e.com/x", "--key", "me.key", "--out", "p.zip"]).fails(2);
    assert!(d.stderr().contains("https://e.com/x"), "{}", d.stderr());
    // An ARTICLE that is a URL.
    let d = env
        .cmd()
        .args([
            "pack",
            "https://e.com/x",
            "--url",
            "https://e.com/x",
            "--title",
            "T",
            "--publisher",
            "P",
            "--published",
            "2018-09-11",
            "--key",
            "me.key",
            "--out",
            "p.zip",
        ])
        .fails(2);
    assert!(d.stderr().contains("reads files"), "{}", d.stderr());
    // --valid-until DATE covers that whole day.
    env.cmd()
        .args(["key", "trust", "T.toml"])
        .arg(&public)
        .args(["--name", "me", "--valid-until", "2027-12-31"])
        .ok();
    assert!(fs::read_to_string(env.path("T.toml"))
        .unwrap()
        .contains("2027-12-31T23:59:59Z"));
    pack(&[
        "--url",
        "https://e.com/",
        "--key",
        "me.key",
        "--out",
        "late.zip",
        "--created",
        "2027-12-31T18:00:00Z",
    ])
    .ok();
    env.cmd()
        .args(["verify", "late.zip", "--trust", "T.toml"])
        .ok();
    // Bare docseal lists the commands.
    let d = env.cmd().fails(2);
    for c in ["verify", "pack", "completions", "man"] {
        assert!(d.stderr().contains(c), "{}", d.stderr());
    }
    // A usage error points at the subcommand's --help.
    let d = env.cmd().args(["verify", "--bogus"]).fails(2);
    assert!(
        d.stderr().contains("docseal verify --help"),
        "{}",
        d.stderr()
    );
    let d = env.cmd().args(["key", "trust", "x"]).fails(2);
    assert!(
        d.stderr().contains("docseal key trust --help"),
        "{}",
        d.stderr()
    );
    // A refused extract says why, as verify does.
    let (_, other) = env.keygen("other");
    let d = env
        .cmd()
        .args(["extract", "a.zip", "--trust"])
        .arg(&other)
        .args(["--out", "x"])
        .fails(1);
    assert!(d.stderr().contains("sig.untrusted_key:"), "{}", d.stderr());
    assert!(d.stderr().lines().count() >= 2, "{}", d.stderr());
    assert!(!env.path("x").exists());
    // inspect of something that is not a bundle: one line.
    let d = env.cmd().args(["inspect", "me.pub"]).fails(1);
    assert_eq!(d.stderr().lines().count(), 1, "{}", d.stderr());
    assert!(
        d.stderr().contains("not a docseal bundle"),
        "{}",
        d.stderr()
    );
    assert!(d.stdout().is_empty());
    // A batch whose jobs all failed leaves no empty output folder.
    fs::write(env.path("bad.jsonl"), "{\"bad\": 1}\nnot json\n").unwrap();
    env.cmd()
        .args([
            "pack",
            "--batch",
            "bad.jsonl",
            "--key",
            "me.key",
            "--out-dir",
            "never",
        ])
        .fails(2);
    assert!(!env.path("never").exists());
}

#[test]
fn issue12_sealing_warnings_are_printed_not_fatal() {
    let (env, key, _) = setup();
    fs::write(env.path("empty.txt"), "").unwrap();
    let base = |article: &str, published: &str, extra: &[&str]| {
        let mut a: Vec<String> = vec![
            "pack".into(),
            article.into(),
            "--url".into(),
            "https://e.com/".into(),
            "--title".into(),
            "T".into(),
            "--publisher".into(),
            "P".into(),
            "--published".into(),
            published.into(),
            "--key".into(),
            key.display().to_string(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let d = env
        .cmd()
        .args(base("empty.txt", "2018-09-11", &["--out", "e.zip"]))
        .ok();
    assert!(
        d.stderr().contains("warning: the article is empty"),
        "{}",
        d.stderr()
    );
    // The same from standard input.
    let d = env
        .cmd()
        .args(base("-", "2018-09-11", &["--out", "e2.zip"]))
        .stdin(b"")
        .ok();
    assert!(
        d.stderr().contains("the article is empty"),
        "{}",
        d.stderr()
    );
    let d = env
        .cmd()
        .args(base(
            &sample_article().display().to_string(),
            "2999-01-01",
            &[
                "--retrieved",
                "2018-01-01",
                "--created",
                "2998-01-01T00:00:00Z",
                "--out",
                "f.zip",
                "--json",
            ],
        ))
        .ok();
    let v = d.json();
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("--published") && w.contains("future")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("--created") && w.contains("future")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("before --published")),
        "{warnings:?}"
    );
    assert!(env.path("f.zip").exists());
    // pack --batch: each sealed job's warnings, in text and in JSON.
    let job = serde_json::json!({"article": "empty.txt", "url": "https://e.com/a", "title": "T",
        "publisher": "P", "published": "2999-01-01", "out": "w.zip"});
    fs::write(env.path("w.jsonl"), format!("{job}\n")).unwrap();
    let d = env
        .cmd()
        .args(["pack", "--batch", "w.jsonl", "--key"])
        .arg(&key)
        .args(["--out-dir", "wout", "--json"])
        .ok();
    let first: serde_json::Value =
        serde_json::from_str(d.stdout().lines().next().unwrap()).unwrap();
    let w = first["warnings"].to_string();
    assert!(
        w.contains("the article is empty") && w.contains("--published"),
        "{w}"
    );
    fs::remove_dir_all(env.path("wout")).unwrap();
    let d = env
        .cmd()
        .args(["pack", "--batch", "w.jsonl", "--key"])
        .arg(&key)
        .args(["--out-dir", "wout"])
        .ok();
    assert!(
        d.stdout().contains("  warning: line 1: --published"),
        "{}",
        d.stdout()
    );
    // keygen warns about a short passphrase.
    fs::write(env.path("pass"), "abc\n").unwrap();
    let d = env
        .cmd()
        .args(["keygen", "weak", "--passphrase-file", "pass"])
        .ok();
    assert!(
        d.stderr()
            .contains("warning: the passphrase has 3 characters"),
        "{}",
        d.stderr()
    );
    fs::write(env.path("pass2"), "a much longer passphrase\n").unwrap();
    let d = env
        .cmd()
        .args(["keygen", "strong", "--passphrase-file", "pass2"])
        .ok();
    assert!(!d.stderr().contains("warning"), "{}", d.stderr());
}

#[test]
fn issue12_readme_verify_without_docseal_fails_on_a_damaged_bundle() {
    for t in ["minisign", "unzip", "sha256sum", "bagit.py"] {
        if !require_tool(t) {
            return;
        }
    }
    let readme = fs::read_to_string(common::repo("README.md")).unwrap();
    let block = readme
        .split("## Verify without docseal")
        .nth(1)
        .and_then(|s| s.split("```sh\n").nth(1))
        .and_then(|b| b.split("```").next())
        .expect("the README block");
    assert!(block.starts_with("set -e\n"), "{block}");
    // The block as it is, on a copy of the repository's sample with its article damaged: run by
    // plain `bash` (as a pasted script), it must exit non-zero.
    let env = Env::new();
    fs::create_dir_all(env.path("archive")).unwrap();
    fs::create_dir_all(env.path("keys")).unwrap();
    fs::copy(common::repo("keys/sample.pub"), env.path("keys/sample.pub")).unwrap();
    damaged_copy(
        &common::repo("archive/sample.zip"),
        &env.path("archive/sample.zip"),
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(block)
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the block passed a damaged bundle: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // And it passes on the real sample.
    fs::copy(
        common::repo("archive/sample.zip"),
        env.path("archive/sample.zip"),
    )
    .unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(block)
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn issue12_verify_prints_one_short_line_per_bundle_and_the_caveat_once() {
    let (env, key, _) = setup();
    env.pack_sample(&key, "b.zip");
    let d = env
        .cmd()
        .args(["verify", "a.zip", "b.zip", "--trust", "me.pub"])
        .ok();
    let out = d.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "two OK lines, the caveat, the totals: {out}"
    );
    assert!(lines[0].starts_with("OK      a.zip  signed by "), "{out}");
    assert!(lines[0].contains("sealed 2026-11-27T12:00:00Z"), "{out}");
    assert!(lines[1].starts_with("OK      b.zip"), "{out}");
    assert_eq!(out.matches("the signer's own account").count(), 1, "{out}");
    assert_eq!(lines[3], "2 passed, 0 failed");
    // Archive evidence is named on the line of the bundle it covers.
    let (arch_key, arch_pub) = env.keygen("arch");
    env.cmd()
        .args(["archive", "add", "A", "a.zip", "--key"])
        .arg(&arch_key)
        .args(["--time", "2026-11-28"])
        .ok();
    let d = env
        .cmd()
        .args(["verify", "a.zip", "--trust", "me.pub", "--archive-key"])
        .arg(&arch_pub)
        .args(["--archive", "A"])
        .ok();
    let first = d.stdout().lines().next().unwrap().to_string();
    assert!(
        first.contains("archived by 2026-11-28T00:00:00Z (archive checkpoint)"),
        "{first}"
    );
}

/// An unzipped bundle whose metadata holds terminal escape sequences and a fake result line.
fn hostile_dir_bundle(env: &Env) -> std::path::PathBuf {
    let dir = env.path("hostile");
    fs::create_dir(&dir).unwrap();
    let out = Command::new("unzip")
        .args(["-q", "../a.zip"])
        .current_dir(&dir)
        .output();
    if !out.is_ok_and(|o| o.status.success()) {
        // Without unzip: the bundle's own reader.
        panic!("unzip is needed to unpack the bundle");
    }
    let meta = fs::read_to_string(dir.join("metadata.json")).unwrap();
    let evil = "\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m\\u202e\\nOK      evil.zip  verified";
    let meta = meta.replace(
        "\"headline\": \"A thaw in Pak-Russia relations\"",
        &format!("\"headline\": \"{evil}\""),
    );
    assert!(meta.contains("pwned"));
    fs::write(dir.join("metadata.json"), meta).unwrap();
    dir
}

fn assert_terminal_safe(what: &str, out: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(
            !out.contains(bad),
            "{what}: raw U+{:04X} in {out:?}",
            bad as u32
        );
    }
    assert!(
        !out.lines().any(|l| l.starts_with("OK      evil.zip")),
        "{what}: a forged line: {out}"
    );
}

#[test]
fn issue19_item8_terminal_output_escapes_hostile_text() {
    if !require_tool("unzip") {
        return;
    }
    let (env, _, _) = setup();
    hostile_dir_bundle(&env);
    let d = env.cmd().args(["inspect", "hostile"]).run();
    assert!(
        d.stdout().contains("\\u{1b}[2J"),
        "escaped, visible: {}",
        d.stdout()
    );
    assert_terminal_safe("inspect", &d.stdout());
    let d = env.cmd().args(["history", "hostile"]).run();
    assert_terminal_safe("history", &d.stdout());
    // A file name with escapes, in verify DIR, and in an error message.
    fs::create_dir(env.path("dir")).unwrap();
    let name = "\u{1b}]0;x\u{7}\u{1b}[1A\nOK      evil.zip  verified.zip";
    fs::copy(env.path("a.zip"), env.path("dir").join(name)).unwrap();
    fs::write(env.path("dir").join(format!("{name}2.zip")), b"junk").unwrap();
    let d = env
        .cmd()
        .args(["verify", "dir", "--trust", "me.pub"])
        .fails(1);
    assert_terminal_safe("verify DIR", &d.stdout());
    assert_terminal_safe("verify DIR stderr", &d.stderr());
    let d = env
        .cmd()
        .args(["inspect"])
        .arg(env.path("dir").join(format!("{name}2.zip")))
        .fails(1);
    assert_terminal_safe("inspect error", &d.stderr());
    let d = env
        .cmd()
        .args(["verify", "a.zip", "--trust"])
        .arg(name)
        .fails(4);
    assert_terminal_safe("error message", &d.stderr());
    // JSON stays exact.
    let d = env.cmd().args(["inspect", "hostile", "--json"]).run();
    let headline = d.json()["metadata"]["headline"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        headline.starts_with("\u{1b}[2J\u{1b}]0;pwned\u{7}"),
        "{headline:?}"
    );
}

#[test]
fn issue19_item8_pack_and_key_trust_refuse_bidi_and_invisible_separators() {
    let (env, key, public) = setup();
    for c in [
        '\u{202e}', '\u{2066}', '\u{061c}', '\u{200b}', '\u{2028}', '\u{2029}',
    ] {
        for flag in ["--title", "--publisher", "--author"] {
            let mut args = sample_pack_args(&key, "bidi.zip");
            let i = args.iter().position(|a| a == flag).unwrap();
            args[i + 1] = format!("abc{c}def");
            let d = env.cmd().args(&args).fails(2);
            assert!(d.stderr().contains(flag), "{}", d.stderr());
            assert!(
                d.stderr().contains(&format!("U+{:04X}", c as u32)),
                "{}",
                d.stderr()
            );
            assert!(!env.path("bidi.zip").exists());
        }
        let d = env
            .cmd()
            .args(["key", "trust", "T.toml"])
            .arg(&public)
            .arg("--name")
            .arg(format!("me{c}x"))
            .fails(2);
        assert!(d.stderr().contains("--name"), "{}", d.stderr());
        assert!(!env.path("T.toml").exists());
    }
}

/// Run docseal with `args` in `env` with its standard output closed before it writes; return
/// (exit code, standard error).
fn run_with_stdout_closed(env: &Env, args: &[&str]) -> (i32, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn attack_f1_diff_and_dry_run_keep_their_verdict_on_a_closed_pipe() {
    let (env, key, _) = setup();
    let mut args = sample_pack_args(&key, "b.zip");
    let t = args.iter().position(|a| a == "--title").unwrap();
    args[t + 1] = "Another title".into();
    env.cmd().args(&args).ok();
    // The bundles differ: exit 1, also when nobody reads the report.
    for json in [false, true] {
        let mut a = vec!["diff", "a.zip", "b.zip", "--trust", "me.pub"];
        if json {
            a.push("--json");
        }
        let (code, err) = run_with_stdout_closed(&env, &a);
        assert_eq!(code, 1, "diff (json {json}) of different bundles: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A dry run missing required fields: exit 2, also when nobody reads it.
    fs::write(env.path("p.html"), "<html><body>x</body></html>").unwrap();
    for json in [false, true] {
        let mut a = vec!["pack", "p.html", "--key", "me.key", "--dry-run"];
        if json {
            a.push("--json");
        }
        let (code, err) = run_with_stdout_closed(&env, &a);
        assert_eq!(code, 2, "dry run (json {json}) with fields missing: {err}");
    }
}

#[test]
fn attack_f2_batch_on_a_closed_pipe_is_never_success() {
    let env = Env::new();
    env.keygen("me");
    let mut jobs = String::new();
    for i in 0..300 {
        fs::write(
            env.path(&format!("{i}.txt")),
            format!("T{i}\nPublished in P, 2018-09-11.\nSource: https://e.com/{i}\n"),
        )
        .unwrap();
        jobs.push_str(&format!(
            "{{\"article\":\"{i}.txt\",\"title\":\"T\",\"url\":\"https://e.com/{i}\",\"publisher\":\"P\",\"published\":\"2018-09-11\"}}\n"
        ));
    }
    fs::write(env.path("jobs.jsonl"), jobs).unwrap();
    let (code, err) = run_with_stdout_closed(
        &env,
        &[
            "pack",
            "--batch",
            "jobs.jsonl",
            "--key",
            "me.key",
            "--out-dir",
            "o",
            "--json",
        ],
    );
    let sealed = fs::read_dir(env.path("o")).map_or(0, |d| d.count());
    assert!(
        code != 0 || sealed == 300,
        "exit 0 with {sealed} of 300 jobs sealed: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn attack_f21_threads_out_of_range_is_a_usage_error() {
    let (env, _, _) = setup();
    fs::write(env.path("jobs.jsonl"), "").unwrap();
    for n in ["0", "1025", "18446744073709551615", "99999999999999999999"] {
        for args in [
            vec!["verify", "a.zip", "--trust", "me.pub", "--threads", n],
            vec![
                "pack",
                "--batch",
                "jobs.jsonl",
                "--key",
                "me.key",
                "--out-dir",
                "o",
                "--threads",
                n,
            ],
        ] {
            let d = env.cmd().args(&args).fails(2);
            let err = d.stderr();
            assert!(err.contains("--threads"), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        }
    }
    env.cmd()
        .args(["verify", "a.zip", "--trust", "me.pub", "--threads", "1024"])
        .ok();
}

#[test]
fn attack_f14_verify_and_inspect_of_an_endless_stdin_stop_at_once() {
    let (env, _, _) = setup();
    for args in [
        vec!["verify", "-", "--trust", "me.pub"],
        vec!["inspect", "-"],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .current_dir(env.dir.path())
            .stdin(fs::File::open("/dev/zero").unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // With the default limits (64 GiB), /dev/zero was copied until the disk filled.
        let start = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > std::time::Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{args:?} < /dev/zero still reading after 60 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {said}");
        assert!(
            said.contains("zip.not_zip") || said.contains("not a docseal bundle"),
            "{args:?}: {said}"
        );
    }
    // A bundle on standard input still verifies.
    env.cmd()
        .args(["verify", "-", "--trust", "me.pub"])
        .stdin(&fs::read(env.path("a.zip")).unwrap())
        .ok();
}

#[test]
fn attack_f15_invisible_format_characters_refused_and_escaped() {
    let (env, key, public) = setup();
    for c in [
        '\u{2060}',
        '\u{2064}',
        '\u{206a}',
        '\u{206f}',
        '\u{00ad}',
        '\u{180e}',
        '\u{034f}',
        '\u{3164}',
        '\u{115f}',
        '\u{ffa0}',
        '\u{fff9}',
        '\u{fffb}',
        '\u{e0001}',
        '\u{e007f}',
        '\u{200e}',
        '\u{200f}',
        '\u{feff}',
    ] {
        let mut args = sample_pack_args(&key, "inv.zip");
        let i = args.iter().position(|a| a == "--title").unwrap();
        args[i + 1] = format!("abc{c}def");
        let d = env.cmd().args(&args).fails(2);
        assert!(
            d.stderr().contains(&format!("U+{:04X}", c as u32)),
            "{}",
            d.stderr()
        );
        assert!(!env.path("inv.zip").exists());
        env.cmd()
            .args(["key", "trust", "T.toml"])
            .arg(&public)
            .arg("--name")
            .arg(format!("news{c}room"))
            .fails(2);
        assert!(!env.path("T.toml").exists());
        // On the terminal: shown as an escape, never as it is.
        let d = env
            .cmd()
            .args(["verify", "a.zip", "--trust"])
            .arg(format!("news{c}room.pub"))
            .fails(4);
        let err = d.stderr();
        assert!(!err.contains(c), "U+{:04X} raw in {err:?}", c as u32);
        assert!(err.contains(&format!("\\u{{{:x}}}", c as u32)), "{err:?}");
    }
}

#[test]
fn attack_f19_a_path_without_bundles_is_not_silently_passed() {
    let (env, _, _) = setup();
    fs::create_dir(env.path("empty")).unwrap();
    let d = env
        .cmd()
        .args(["verify", "empty", "a.zip", "--trust", "me.pub"])
        .fails(1);
    assert!(d.stderr().contains("empty: no bundle"), "{}", d.stderr());
    assert!(d.stderr().contains("--allow-empty"), "{}", d.stderr());
    // Accepted with --allow-empty, and said.
    let d = env
        .cmd()
        .args([
            "verify",
            "empty",
            "a.zip",
            "--trust",
            "me.pub",
            "--allow-empty",
        ])
        .ok();
    assert!(d.stderr().contains("empty: no bundle"), "{}", d.stderr());
}

/// Run docseal through `sh` with file descriptor 1 closed (`>&-`, not a closed pipe).
fn run_with_fd1_closed(env: &Env, args: &[&str]) -> (i32, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" >&-")
        .arg(BIN)
        .args(args)
        .current_dir(env.dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn closed_stdout_descriptor_is_an_io_error_never_success() {
    // Writes to a closed descriptor are swallowed by Rust's standard output; before the fix,
    // `cat`, `inspect` and `verify` exited 0 having delivered nothing.
    let (env, _, _) = setup();
    for args in [
        vec!["cat", "a.zip", "--trust", "me.pub"],
        vec!["inspect", "a.zip"],
        vec!["verify", "a.zip", "--trust", "me.pub"],
    ] {
        let (code, err) = run_with_fd1_closed(&env, &args);
        assert_eq!(code, 4, "{args:?}: {err}");
        assert!(err.contains("standard output is closed"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // Discarding the output on purpose stays a success.
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" cat a.zip --trust me.pub >/dev/null")
        .arg(BIN)
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Issue 13: library errors name the file and the problem and no flag; the command line adds
/// what to type, so its messages are as before.
/// `pack --json` says what its record is exactly once, on standard output and, with the bundle
/// on standard output, on standard error (it printed `"type": "sealed"` twice).
#[test]
fn issue13_pack_json_record_has_one_type_key() {
    let (env, key, _) = setup();
    let d = env
        .cmd()
        .args(sample_pack_args(&key, "b.zip"))
        .arg("--json")
        .run();
    assert_eq!(d.code(), 0, "{}", d.stderr());
    let out = d.stdout();
    assert_eq!(out.matches("\"type\"").count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["type"], "sealed");
    assert_eq!(v["path"], "b.zip");
    let mut args = sample_pack_args(&key, "-");
    args.push("--json".into());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_docseal"))
        .current_dir(env.path(""))
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("\"type\"").count(), 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["path"].as_str()),
        (Some("sealed"), Some("-"))
    );
}

/// The advice the library's messages no longer carry (flags, commands to run) is added by the
/// command line: the user still reads what to type, and the library's message names no flag.
#[test]
fn issue13_flags_moved_out_of_library_messages_still_reach_the_user() {
    let (env, key, _) = setup();
    // A limit (Setting::MaxFileSize): the flag that raises it.
    fs::write(env.path("big.bin"), vec![7u8; 3000]).unwrap();
    let d = env
        .cmd()
        .args(sample_pack_args(&key, "b.zip"))
        .args(["--attach", "big.bin", "--max-file-size", "2000"])
        .fails(2);
    assert!(
        d.stderr().contains(
            "larger than 2000 bytes (the per-file limit); raise the limit with --max-file-size"
        ),
        "{}",
        d.stderr()
    );
    let lib = docseal::Error::setting(
        "big.bin",
        "attachment larger than 2000 bytes (the per-file limit)",
        docseal::error::Setting::MaxFileSize,
    );
    assert!(!lib.to_string().contains("--"), "{lib}");
    // A damaged bundle (Error::Damaged): co-signing, timestamping and superseding it point to
    // inspect, with the bundle's name; exit 1 as before.
    damaged_copy(&env.path("a.zip"), &env.path("bad.zip"));
    let d = env
        .cmd()
        .args(["cosign", "bad.zip", "--key"])
        .arg(&key)
        .fails(1);
    assert!(
        d.stderr()
            .contains("(a damaged bundle is not co-signed); see docseal inspect bad.zip"),
        "{}",
        d.stderr()
    );
    let d = env
        .cmd()
        .args(sample_pack_args(&key, "c.zip"))
        .args(["--supersedes", "bad.zip"])
        .fails(1);
    assert!(
        d.stderr()
            .contains("(the bundle to supersede must be intact); see docseal inspect bad.zip"),
        "{}",
        d.stderr()
    );
    // A TSA over https: how to get a token anyway.
    let d = env
        .cmd()
        .args(["timestamp", "a.zip", "--tsa", "https://tsa.example/"])
        .fails(2);
    assert!(
        d.stderr().contains("only http:// TSA URLs are supported (a token authenticates itself); for an https:// TSA, fetch the token with curl and use --request-out/--reply"),
        "{}",
        d.stderr()
    );
}

#[test]
fn issue13_the_cli_adds_the_advice_library_errors_leave_out() {
    let (env, key, _) = setup();
    let d = env.cmd().args(sample_pack_args(&key, "a.zip")).run();
    assert_eq!(d.code(), 3, "{}", d.stderr());
    assert!(
        d.stderr()
            .contains("a.zip: already exists (use --force to replace it)"),
        "{}",
        d.stderr()
    );
    // A sealing error names the field; pack shows it as its flag.
    let args: Vec<String> = sample_pack_args(&key, "b.zip")
        .into_iter()
        .map(|a| match a.as_str() {
            "2026-11-27T12:00:00Z" => "yesterday".into(),
            _ => a,
        })
        .collect();
    let d = env.cmd().args(args).run();
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.stderr().contains("--created: "), "{}", d.stderr());
    let lib = docseal::Error::Exists {
        path: "a.zip".into(),
    }
    .to_string();
    assert_eq!(lib, "a.zip: already exists");
    let lib = docseal::Error::NoPassphrase {
        path: "k.key".into(),
    }
    .to_string();
    assert!(!lib.contains("--"), "{lib}");
}
