//! Issue: seal and verify articles end to end (keygen, pack, verify, inspect, extract).

use crate::common;
use common::*;
use std::fs;

#[test]
fn round_trip_seal_verify_inspect_extract() {
    let env = Env::new();
    let (key, public) = env.keygen("me");
    let bundle = env.pack_sample(&key, "a.zip");
    let v = env
        .cmd()
        .args(["verify", "a.zip", "--trust"])
        .arg(&public)
        .ok();
    assert!(v.stdout().starts_with("OK "), "{}", v.stdout());

    let i = env.cmd().args(["inspect", "a.zip"]).ok();
    let s = i.stdout();
    assert!(s.contains("A thaw in Pak-Russia relations"), "{s}");
    assert!(s.contains("No trust decision was made"), "{s}");
    assert!(s.contains("checks out"), "{s}");

    env.cmd()
        .args(["extract", "a.zip", "--trust"])
        .arg(&public)
        .args(["--out", "x"])
        .ok();
    assert_eq!(
        fs::read(env.path("x/data/article.txt")).unwrap(),
        fs::read(sample_article()).unwrap(),
        "article bytes are exact"
    );
    // The extracted directory verifies too, with the same strictness.
    env.cmd().args(["verify", "x", "--trust"]).arg(&public).ok();
    assert!(bundle.exists());
}

#[test]
fn keygen_writes_private_key_0600_and_never_overwrites() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let pubtext = fs::read_to_string(&public).unwrap();
    assert!(
        pubtext.starts_with("untrusted comment: minisign public key "),
        "{pubtext}"
    );
    let before = fs::read(&key).unwrap();
    let d = env.cmd().args(["keygen", "k", "--no-passphrase"]).fails(3);
    assert!(
        d.stderr().contains("k.key") && d.stderr().contains("already exists"),
        "{}",
        d.stderr()
    );
    assert_eq!(fs::read(&key).unwrap(), before);
    assert!(!String::from_utf8_lossy(&before).is_empty());
    assert!(
        !d.stdout()
            .contains(&String::from_utf8_lossy(&before).to_string()),
        "secret never printed"
    );
}

#[test]
fn same_inputs_key_and_time_give_identical_bundles() {
    let env = Env::new();
    let (key, _) = env.keygen("k");
    let a = fs::read(env.pack_sample(&key, "a.zip")).unwrap();
    let b = fs::read(env.pack_sample(&key, "b.zip")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn article_from_standard_input() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let article = fs::read(sample_article()).unwrap();
    let mut args = sample_pack_args(&key, "s.zip");
    args[1] = "-".into();
    env.cmd().args(args).stdin(&article).ok();
    env.cmd()
        .args(["extract", "s.zip", "--trust"])
        .arg(&public)
        .args(["--out", "x"])
        .ok();
    assert_eq!(fs::read(env.path("x/data/article.txt")).unwrap(), article);
    // Same bytes from stdin and from the file seal to the same bundle.
    let from_file = fs::read(env.pack_sample(&key, "f.zip")).unwrap();
    assert_eq!(fs::read(env.path("s.zip")).unwrap(), from_file);
}

#[test]
fn every_changed_article_byte_is_refused() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let bundle = fs::read(env.pack_sample(&key, "a.zip")).unwrap();
    let article = fs::read(sample_article()).unwrap();
    let start = bundle
        .windows(article.len())
        .position(|w| w == article)
        .expect("article stored as is");
    let dir = env.path("mut");
    fs::create_dir(&dir).unwrap();
    let mut names = Vec::new();
    for i in 0..article.len() {
        let mut b = bundle.clone();
        b[start + i] ^= 0x20;
        let n = format!("mut/{i:05}.zip");
        fs::write(env.path(&n), &b).unwrap();
        names.push(n);
    }
    let d = env
        .cmd()
        .arg("verify")
        .args(&names)
        .arg("--trust")
        .arg(&public)
        .arg("--json")
        .fails(1);
    let codes = json_codes(&d.stdout());
    assert_eq!(codes.len(), article.len());
    for (i, c) in codes.iter().enumerate() {
        assert!(c.contains(&"zip.crc".to_string()), "byte {i}: {c:?}");
    }
    // In an unzipped bundle, where no CRC guards it, the manifest digest catches it.
    env.cmd()
        .args(["extract", "a.zip", "--trust"])
        .arg(&public)
        .args(["--out", "x"])
        .ok();
    let p = env.path("x/data/article.txt");
    for i in [0, article.len() / 2, article.len() - 1] {
        let mut a = article.clone();
        a[i] ^= 1;
        fs::write(&p, &a).unwrap();
        let d = env
            .cmd()
            .args(["verify", "x", "--trust"])
            .arg(&public)
            .arg("--json")
            .fails(1);
        assert_eq!(
            json_codes(&d.stdout()),
            [vec!["manifest.digest".to_string()]],
            "byte {i}"
        );
    }
}

fn verify_codes(env: &Env, bundle: &[u8], trust: &[&std::path::Path]) -> Vec<String> {
    let p = env.path("t.zip");
    fs::write(&p, bundle).unwrap();
    let mut c = env.cmd().args(["verify", "t.zip", "--json"]);
    for t in trust {
        c = c.arg("--trust").arg(t);
    }
    let d = c.fails(1);
    json_codes(&d.stdout()).remove(0)
}

#[test]
fn metadata_change_is_refused() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let good = fs::read(env.pack_sample(&key, "a.zip")).unwrap();
    let bad = rebuild(&good, |e| {
        let m = &mut e.iter_mut().find(|(n, _)| n == "metadata.json").unwrap().1;
        let s = String::from_utf8(m.clone())
            .unwrap()
            .replace("Pak-Russia", "Pak-China");
        *m = s.into_bytes();
    });
    let codes = verify_codes(&env, &bad, &[&public]);
    assert!(codes.contains(&"manifest.digest".to_string()), "{codes:?}");
}

#[test]
fn unlisted_missing_and_foreign_files_have_their_own_codes() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let good = fs::read(env.pack_sample(&key, "a.zip")).unwrap();
    let unlisted = rebuild(&good, |e| {
        e.insert(1, ("data/extra.txt".into(), b"not sealed".to_vec()))
    });
    assert_eq!(
        verify_codes(&env, &unlisted, &[&public]),
        ["manifest.unlisted", "bundle.unexpected_file"]
    );
    let missing = rebuild(&good, |e| {
        e.remove(0);
    });
    let codes = verify_codes(&env, &missing, &[&public]);
    assert!(codes.contains(&"manifest.missing".to_string()), "{codes:?}");
    let foreign = rebuild(&good, |e| e.push(("evil.sh".into(), b"#!/bin/sh".to_vec())));
    assert_eq!(
        verify_codes(&env, &foreign, &[&public]),
        ["bundle.unexpected_file"]
    );
}

#[test]
fn signatures_by_other_or_untrusted_keys_are_refused() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let (_, other_pub) = env.keygen("other");
    let good = fs::read(env.pack_sample(&key, "a.zip")).unwrap();
    // Trusting only another key: the bundle's own key never passes by itself.
    assert_eq!(
        verify_codes(&env, &good, &[&other_pub]),
        ["sig.untrusted_key"]
    );
    // Re-signed by a key nobody trusts.
    let mallory = docseal::minisign::SecretKey::generate();
    assert_eq!(
        verify_codes(&env, &resign(&good, &mallory), &[&public]),
        ["sig.untrusted_key"]
    );
    // Signed by another key, but naming the trusted key's id.
    let trusted = docseal::keyfile::read_public_key(&public).unwrap();
    let forged = rebuild(&resign(&good, &mallory), |e| {
        let s = &mut e
            .iter_mut()
            .find(|(n, _)| n == "tagmanifest-sha256.txt.minisig")
            .unwrap()
            .1;
        let mut sig = docseal::minisign::Signature::parse(s).unwrap();
        sig.key_id = trusted.key_id();
        sig.untrusted_comment = docseal::seal::untrusted_comment(trusted.key_id());
        *s = sig.to_file_string().into_bytes();
    });
    assert_eq!(verify_codes(&env, &forged, &[&public]), ["sig.invalid"]);
    // Signed by a second trusted key under the first one's id.
    let second = docseal::minisign::SecretKey::generate();
    fs::write(env.path("second.pub"), second.public_key().to_file_string()).unwrap();
    let swapped = rebuild(&resign(&good, &second), |e| {
        let s = &mut e
            .iter_mut()
            .find(|(n, _)| n == "tagmanifest-sha256.txt.minisig")
            .unwrap()
            .1;
        let mut sig = docseal::minisign::Signature::parse(s).unwrap();
        sig.key_id = trusted.key_id();
        sig.untrusted_comment = docseal::seal::untrusted_comment(trusted.key_id());
        *s = sig.to_file_string().into_bytes();
    });
    assert_eq!(
        verify_codes(&env, &swapped, &[&public, &env.path("second.pub")]),
        ["sig.key_id_mismatch"]
    );
    // No signature at all.
    let unsigned = rebuild(&good, |e| {
        e.pop();
    });
    assert_eq!(verify_codes(&env, &unsigned, &[&public]), ["sig.missing"]);
}

#[test]
fn verify_reports_every_bundle_and_every_problem() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let good = fs::read(env.pack_sample(&key, "a.zip")).unwrap();
    let bad = rebuild(&good, |e| {
        e[0].1[0] ^= 1;
        e.push(("evil.sh".into(), b"x".to_vec()));
    });
    fs::write(env.path("bad.zip"), &bad).unwrap();
    let d = env
        .cmd()
        .args(["verify", "a.zip", "bad.zip", "--trust"])
        .arg(&public)
        .fails(1);
    let out = d.stdout();
    assert!(out.contains("OK      a.zip"), "{out}");
    assert!(out.contains("FAILED  bad.zip"), "{out}");
    assert!(
        out.contains("manifest.digest") && out.contains("bundle.unexpected_file"),
        "{out}"
    );
    assert!(out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn verify_needs_a_trusted_key() {
    let env = Env::new();
    let (key, _) = env.keygen("k");
    env.pack_sample(&key, "a.zip");
    let d = env.cmd().args(["verify", "a.zip"]).fails(2);
    assert!(d.stderr().contains("--trust"), "{}", d.stderr());
}

#[test]
fn bad_inputs_get_one_line_errors_and_leave_nothing() {
    let env = Env::new();
    let (key, _) = env.keygen("k");
    let base = sample_pack_args(&key, "o.zip");
    let with = |flag: &str, value: &str| {
        let mut a = base.clone();
        let i = a.iter().position(|x| x == flag).unwrap();
        a[i + 1] = value.into();
        a
    };
    for (args, code, needle) in [
        (with("--url", "dailytimes.com.pk/x"), 2, "--url"),
        (with("--url", "ftp://example.com/x"), 2, "--url"),
        (with("--published", "11 Sept 2018"), 2, "--published"),
        (with("--title", ""), 2, "--title"),
        (with("--created", "yesterday"), 2, "--created"),
        (with("pack", "missing.txt"), 4, "missing.txt"),
        (with("--key", "nokey.key"), 4, "nokey.key"),
    ] {
        let d = env.cmd().args(&args).fails(code);
        let err = d.stderr();
        assert!(err.contains(needle), "{needle}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let mut a = base.clone();
    a.extend([
        "--attach".into(),
        env.path("k.pub").display().to_string(),
        "--attach".into(),
        env.path("k.pub").display().to_string(),
    ]);
    let d = env.cmd().args(&a).fails(2);
    assert!(d.stderr().contains("collides"), "{}", d.stderr());
    let left: Vec<_> = fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        left.len(),
        2,
        "only the key files, no output or temp file: {left:?}"
    );
}

#[test]
fn existing_output_is_not_replaced_without_force() {
    let env = Env::new();
    let (key, _) = env.keygen("k");
    fs::write(env.path("o.zip"), b"precious").unwrap();
    let d = env.cmd().args(sample_pack_args(&key, "o.zip")).fails(3);
    assert!(
        d.stderr().contains("o.zip") && d.stderr().contains("--force"),
        "{}",
        d.stderr()
    );
    assert_eq!(fs::read(env.path("o.zip")).unwrap(), b"precious");
    env.cmd()
        .args(sample_pack_args(&key, "o.zip"))
        .arg("--force")
        .ok();
    assert_ne!(fs::read(env.path("o.zip")).unwrap(), b"precious");
}

#[test]
fn extract_refuses_tampered_bundles_and_non_empty_dirs() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let good = fs::read(env.pack_sample(&key, "a.zip")).unwrap();
    fs::create_dir(env.path("full")).unwrap();
    fs::write(env.path("full/keep"), b"x").unwrap();
    let d = env
        .cmd()
        .args(["extract", "a.zip", "--trust"])
        .arg(&public)
        .args(["--out", "full"])
        .fails(2);
    assert!(d.stderr().contains("not empty"), "{}", d.stderr());
    env.cmd()
        .args(["extract", "a.zip", "--trust"])
        .arg(&public)
        .args(["--out", "full", "--force"])
        .ok();
    assert!(env.path("full/keep").exists() && env.path("full/bagit.txt").exists());

    let bad = rebuild(&good, |e| e[0].1[10] ^= 1);
    fs::write(env.path("bad.zip"), bad).unwrap();
    let d = env
        .cmd()
        .args(["extract", "bad.zip", "--trust"])
        .arg(&public)
        .args(["--out", "y"])
        .fails(1);
    assert!(d.stderr().contains("manifest.digest"), "{}", d.stderr());
    assert!(!env.path("y").exists());
    let stray: Vec<_> = fs::read_dir(env.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".docseal"))
        .collect();
    assert!(stray.is_empty());
}

#[test]
fn verify_a_directory_finds_every_bundle_and_json_lines_end_in_a_summary() {
    let env = Env::new();
    let (key, public) = env.keygen("k");
    fs::create_dir_all(env.path("arch/2018/09")).unwrap();
    let good = fs::read(env.pack_sample(&key, "arch/2018/09/a.zip")).unwrap();
    fs::write(
        env.path("arch/2018/b.zip"),
        rebuild(&good, |e| e[0].1[0] ^= 1),
    )
    .unwrap();
    env.cmd()
        .args(["extract", "arch/2018/09/a.zip", "--trust"])
        .arg(&public)
        .args(["--out", "arch/unzipped"])
        .ok();
    fs::write(env.path("arch/notes.txt"), b"not a bundle").unwrap();
    let d = env
        .cmd()
        .args(["verify", "arch", "--json", "--trust"])
        .arg(&public)
        .fails(1);
    let (reports, summary) = json_lines(&d.stdout());
    let paths: Vec<&str> = reports
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["arch/2018/09/a.zip", "arch/2018/b.zip", "arch/unzipped"]
    );
    assert_eq!(summary["passed"], 2);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["by_code"]["manifest.digest"], 1);
    // The limits in effect travel with the results.
    let last: serde_json::Value = serde_json::from_str(d.stdout().lines().last().unwrap()).unwrap();
    assert_eq!(last["limits"]["max_entries"], 10_000);
    // A directory with bagit.txt at its root is one unzipped bundle.
    env.cmd()
        .args(["verify", "arch/unzipped", "--trust"])
        .arg(&public)
        .ok();
}
