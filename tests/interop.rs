//! Issue: verify without docseal. The real `minisign`, `sha256sum`, `unzip` and `bagit.py`
//! accept a bundle and refuse it after a change; the README's commands run literally.

use crate::common;
use common::*;
use std::fs;
use std::process::Command;

fn sh(dir: &std::path::Path, script: &str) -> std::process::Output {
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn unzipped(env: &Env, bundle: &std::path::Path, to: &str) -> std::path::PathBuf {
    let out = sh(
        env.dir.path(),
        &format!("unzip -q '{}' -d '{to}'", bundle.display()),
    );
    assert!(
        out.status.success(),
        "unzip: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.path(to)
}

#[test]
fn minisign_verifies_an_unzipped_bundle() {
    if !require_tool("minisign") || !require_tool("unzip") {
        return;
    }
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let bundle = env.pack_sample(&key, "a.zip");
    let bag = unzipped(&env, &bundle, "bag");
    let ok = sh(
        &bag,
        &format!(
            "minisign -Vm tagmanifest-sha256.txt -p '{}'",
            public.display()
        ),
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        said.contains("Signature and comment signature verified"),
        "{said}"
    );
    assert!(
        said.contains("Trusted comment: docseal v1 bundle=urn:docseal:"),
        "{said}"
    );
    // The independent Rust implementation agrees.
    let pk = minisign_verify::PublicKey::from_base64(
        fs::read_to_string(&public).unwrap().lines().nth(1).unwrap(),
    )
    .unwrap();
    let sig = minisign_verify::Signature::decode(
        &fs::read_to_string(bag.join("tagmanifest-sha256.txt.minisig")).unwrap(),
    )
    .unwrap();
    pk.verify(
        &fs::read(bag.join("tagmanifest-sha256.txt")).unwrap(),
        &sig,
        false,
    )
    .unwrap();
    // A changed tag manifest is refused by minisign.
    let mut tm = fs::read(bag.join("tagmanifest-sha256.txt")).unwrap();
    tm[0] ^= 1;
    fs::write(bag.join("tagmanifest-sha256.txt"), tm).unwrap();
    let bad = sh(
        &bag,
        &format!(
            "minisign -Vm tagmanifest-sha256.txt -p '{}'",
            public.display()
        ),
    );
    assert!(!bad.status.success());
}

#[test]
fn sha256sum_checks_both_manifests() {
    if !require_tool("unzip") || !require_tool("sha256sum") {
        return;
    }
    let env = Env::new();
    let (key, _) = env.keygen("k");
    let bag = unzipped(&env, &env.pack_sample(&key, "a.zip"), "bag");
    let ok = sh(
        &bag,
        "sha256sum -c --strict tagmanifest-sha256.txt && sha256sum -c --strict manifest-sha256.txt",
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let mut a = fs::read(bag.join("data/article.txt")).unwrap();
    a[100] ^= 1;
    fs::write(bag.join("data/article.txt"), a).unwrap();
    assert!(!sh(&bag, "sha256sum -c --quiet manifest-sha256.txt")
        .status
        .success());
}

#[test]
fn bagit_py_validates_an_unzipped_bundle_and_refuses_changes() {
    if !require_tool("bagit.py") || !require_tool("unzip") {
        return;
    }
    let env = Env::new();
    let (key, _) = env.keygen("k");
    fs::write(env.path("scan.pdf"), b"%PDF-1.4 attachment bytes").unwrap();
    let mut args = sample_pack_args(&key, "a.zip");
    args.extend([
        "--attach".to_string(),
        env.path("scan.pdf").display().to_string(),
    ]);
    env.cmd().args(args).ok();
    let bag = unzipped(&env, &env.path("a.zip"), "bag");
    let ok = sh(&bag, "bagit.py --validate . 2>&1");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let info = fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    for label in [
        "Source-Organization: Daily Times",
        "External-Identifier: urn:docseal:",
        "Bagging-Date: 2026-11-27",
        "Bag-Software-Agent: docseal ",
        "Payload-Oxum: ",
    ] {
        assert!(info.contains(label), "{label} in {info}");
    }
    // Any payload change is refused.
    let mut a = fs::read(bag.join("data/attachments/scan.pdf")).unwrap();
    a[0] ^= 1;
    fs::write(bag.join("data/attachments/scan.pdf"), a).unwrap();
    assert!(!sh(&bag, "bagit.py --validate . 2>&1").status.success());
}

/// The README's "Verify without docseal" block, run literally from the repository root.
#[test]
fn readme_verify_without_docseal_commands_work() {
    for t in ["minisign", "unzip", "sha256sum", "bagit.py"] {
        if !require_tool(t) {
            return;
        }
    }
    let readme = fs::read_to_string(repo("README.md")).unwrap();
    let section = readme
        .split("## Verify without docseal")
        .nth(1)
        .expect("README has the section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    let out = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(block)
        .current_dir(repo(""))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "README commands failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shipped_sample_bundle_verifies_and_matches_the_seed() {
    let env = Env::new();
    env.cmd()
        .args(["verify"])
        .arg(repo("archive/sample.zip"))
        .arg("--trust")
        .arg(repo("keys/sample.pub"))
        .ok();
    env.cmd()
        .args(["extract"])
        .arg(repo("archive/sample.zip"))
        .arg("--trust")
        .arg(repo("keys/sample.pub"))
        .args(["--out", "x"])
        .ok();
    let article = fs::read(env.path("x/data/article.txt")).unwrap();
    assert_eq!(article, fs::read(sample_article()).unwrap());
    use sha2::Digest;
    assert_eq!(
        docseal::metadata::hex(&sha2::Sha256::digest(&article)),
        "7881dbf9eebc255666cc9d7e0f2301be20ae877ec18f615596d38045469d9c3c"
    );
    assert!(
        article.windows(2).any(|w| w == [0xC3, 0x82]),
        "the stray Â (C3 82) is kept"
    );
}
