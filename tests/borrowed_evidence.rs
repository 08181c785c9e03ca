//! Issue 19, "Evidence that cannot be borrowed": signature policy, archive evidence and key
//! identity (items 1, 2, 3, 6, 10, 11), driving the real binary as an attacker would, with the
//! documented commands and small scripts. Each test is named after the item it holds
//! (docs/SECURITY.md maps the claims to these names); the `issue19_attack_*` tests hold the
//! four holes a second attacker review found in those fixes.

use crate::common;

use common::{json_codes, json_lines, Done, Env};
use docseal::bagit;
use docseal::minisign::{KeyId, SecretKey};
use std::path::{Path, PathBuf};

const SIGNATURE: &str = "tagmanifest-sha256.txt.minisig";

/// Seal `text` as an article sealed (by the signer's account) at `created`.
fn pack(env: &Env, text: &str, created: &str, key: &Path, out: &str, extra: &[&str]) -> PathBuf {
    pack_titled(env, text, "A thaw", created, key, out, extra)
}

fn pack_titled(
    env: &Env,
    text: &str,
    title: &str,
    created: &str,
    key: &Path,
    out: &str,
    extra: &[&str],
) -> PathBuf {
    env.pack_text(text, title, created, key, out, extra)
}

/// Write a secret key (unencrypted, mode 0600) and its public key as NAME.key / NAME.pub.
fn write_key(env: &Env, name: &str, key: &SecretKey) -> (PathBuf, PathBuf) {
    let (k, p) = (
        env.path(&format!("{name}.key")),
        env.path(&format!("{name}.pub")),
    );
    std::fs::write(&k, key.to_file_string(None).unwrap().as_bytes()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(&p, key.public_key().to_file_string()).unwrap();
    (k, p)
}

fn trust_key(env: &Env, file: &str, public: &Path, name: &str, extra: &[&str]) {
    env.cmd()
        .args(["key", "trust", file])
        .arg(public)
        .args(["--name", name])
        .args(extra)
        .ok();
}

fn revoke(env: &Env, file: &str, name: &str, reason: &str, at: &str) {
    env.cmd()
        .args(["key", "revoke", file, name, "--reason", reason, "--at", at])
        .ok();
}

fn archive_add(env: &Env, archive: &str, bundle: &Path, key: &Path, time: &str) {
    env.cmd()
        .args(["archive", "add", archive])
        .arg(bundle)
        .arg("--key")
        .arg(key)
        .args(["--time", time])
        .ok();
}

/// Error and warning codes of a one-bundle `verify --json`.
fn codes(d: &Done) -> (Vec<String>, Vec<String>) {
    let (reports, _) = json_lines(&d.stdout());
    let of = |sev: &str| -> Vec<String> {
        reports[0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == sev)
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    (of("error"), of("warning"))
}

fn verify(env: &Env, bundle: &Path, args: &[&str]) -> Done {
    env.cmd()
        .arg("verify")
        .arg(bundle)
        .arg("--json")
        .args(args)
        .run()
}

/// Unzip a bundle (its entries, as they are) into a directory.
fn unzip_to(bundle: &[u8], dir: &Path) {
    for (name, bytes) in common::entries(bundle) {
        let p = dir.join(&name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// A co-signature of `bundle` by `key`, as `cosign` would write it: (file name, bytes).
fn cosignature(bundle: &[u8], key: &SecretKey) -> (String, Vec<u8>) {
    let e = common::entries(bundle);
    let get = |n: &str| e.iter().find(|(x, _)| x == n).unwrap().1.clone();
    let m = docseal::metadata::Metadata::parse(&get("metadata.json"))
        .0
        .unwrap();
    let sig = docseal::seal::sign_tagmanifest(&m, key, &get("tagmanifest-sha256.txt"));
    (
        bagit::cosignature_name(&key.key_id().to_string()),
        sig.into_bytes(),
    )
}

/// Add entries and keep the canonical order (payload, tag files, signature, co-signatures).
fn with_cosignatures(bundle: &[u8], extra: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    common::rebuild(bundle, |e| {
        e.extend(extra);
        let sig_at = e.iter().position(|(n, _)| n == SIGNATURE).unwrap();
        let mut tail = e.split_off(sig_at + 1);
        tail.sort_by(|a, b| a.0.cmp(&b.0));
        e.extend(tail);
    })
}

// ---------------------------------------------------------------------------------------------
// Item 1: archive time is lent only to the signatures that were archived
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item1_archive_time_is_not_lent_to_signatures_added_or_replaced_later() {
    let env = Env::new();
    let (xk, _) = env.keygen("x"); // untrusted sealer
    let (sk, sp) = env.keygen("signer");
    let (ak, ap) = env.keygen("arch");
    trust_key(&env, "T.toml", &sp, "signer", &[]);
    trust_key(&env, "T.toml", &ap, "archive", &["--archive"]);

    // Seal with an untrusted key, archive it before the signer's key is compromised.
    let it = pack(&env, "story\n", "2025-06-01T00:00:00Z", &xk, "it.zip", &[]);
    let archived = std::fs::read(&it).unwrap();
    // A control: a bundle the signer sealed, archived at the same time.
    let good = pack(&env, "good\n", "2025-06-01T00:00:00Z", &sk, "good.zip", &[]);
    archive_add(&env, "C", &it, &ak, "2025-06-02T00:00:00Z");
    archive_add(&env, "C", &good, &ak, "2025-06-03T00:00:00Z");
    revoke(
        &env,
        "T.toml",
        "signer",
        "compromised",
        "2026-01-01T00:00:00Z",
    );
    let args = ["--trust", "T.toml", "--archive", "C"];

    // The control passes: its signature is the one archived before the compromise.
    let d = verify(&env, &good, &args);
    assert_eq!(d.code(), 0, "{}", d.stdout());

    // After the compromise, the thief co-signs the archived bundle: the co-signature was not
    // archived, so it gets no archive time and the compromised key does not count.
    env.cmd().args(["cosign", "it.zip", "--key"]).arg(&sk).ok();
    let d = verify(&env, &it, &args);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    let (errors, _) = codes(&d);
    assert!(errors.contains(&"trust.revoked".to_string()), "{errors:?}");
    assert!(
        d.stdout().contains("only the signer's word"),
        "{}",
        d.stdout()
    );
    // The same bundle unzipped: the same verdict.
    let dir = env.path("it-dir");
    unzip_to(&std::fs::read(&it).unwrap(), &dir);
    let dd = verify(&env, &dir, &args);
    assert_eq!(dd.code(), 1, "{}", dd.stdout());
    assert_eq!(codes(&dd), codes(&d));

    // Nor when the archived copy is replaced by the co-signed bundle: the log vouches for the
    // file digest it recorded, not for whatever file is there now.
    let name = std::fs::read_dir(env.path("C/bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == archived)
        .unwrap();
    std::fs::copy(&it, &name).unwrap();
    let d = verify(&env, &it, &args);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert!(codes(&d).0.contains(&"trust.revoked".to_string()));
    std::fs::write(&name, &archived).unwrap();

    // The sealer's signature replaced by one from the compromised key: not archived either.
    let replaced = common::resign(&archived, &docseal_key(&sk));
    std::fs::write(env.path("replaced.zip"), &replaced).unwrap();
    let d = verify(&env, &env.path("replaced.zip"), &args);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert_eq!(codes(&d).0, ["trust.revoked"]);

    // A signature by the compromised key that nothing archived never counts, even when a
    // trusted co-signer would otherwise vouch for the time: only exact archived bytes do.
    let d = verify(&env, &it, &["--trust", "T.toml"]);
    assert_eq!(d.code(), 1);
}

/// The secret key in a key file written by `keygen --no-passphrase`.
fn docseal_key(path: &Path) -> SecretKey {
    SecretKey::from_file_bytes(&std::fs::read(path).unwrap(), None).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Item 2: archive keys are a separate role; no key vouches for itself
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item2_a_signing_key_is_not_an_archive_key_and_never_vouches_for_itself() {
    let env = Env::new();
    let (sk, sp) = env.keygen("signer");
    let (ak, ap) = env.keygen("arch");
    trust_key(&env, "T.toml", &sp, "signer", &[]);
    revoke(&env, "T.toml", "signer", "retired", "2026-01-01T00:00:00Z");

    // The retired signer back-dates a bundle and "archives" it with its own key.
    let evil = pack(&env, "evil\n", "2025-06-01T00:00:00Z", &sk, "evil.zip", &[]);
    archive_add(&env, "evilarch", &evil, &sk, "2025-06-02T00:00:00Z");
    let d = verify(&env, &evil, &["--trust", "T.toml", "--archive", "evilarch"]);
    assert_eq!(d.code(), 2, "{}", d.stdout());
    assert!(
        d.stderr().contains("not as an archive key"),
        "{}",
        d.stderr()
    );
    // Even given as an archive key too, it does not vouch for its own signature.
    let d = env
        .cmd()
        .arg("verify")
        .arg(&evil)
        .args(["--json", "--trust", "T.toml", "--archive", "evilarch"])
        .arg("--archive-key")
        .arg(&sp)
        .run();
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert_eq!(codes(&d).0, ["trust.revoked"]);

    // In a log whose checkpoints two keys sign, the bundle's time comes from the other key's
    // first checkpoint, never from its own key's.
    let other = pack(&env, "two\n", "2025-06-01T00:00:00Z", &sk, "o.zip", &[]);
    let later = pack(&env, "later\n", "2025-06-01T00:00:00Z", &sk, "l.zip", &[]);
    archive_add(&env, "mixed", &other, &sk, "2025-06-02T00:00:00Z");
    archive_add(&env, "mixed", &later, &ak, "2026-02-01T00:00:00Z");
    let d = env
        .cmd()
        .arg("verify")
        .arg(&other)
        .args(["--json", "--trust", "T.toml", "--archive", "mixed"])
        .arg("--archive-key")
        .arg(&sp)
        .arg("--archive-key")
        .arg(&ap)
        .run();
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert_eq!(codes(&d).0, ["trust.revoked"]);
    assert!(
        d.stdout()
            .contains("first shows this bundle at 2026-02-01T00:00:00Z"),
        "{}",
        d.stdout()
    );

    // A real archive key, named as such in the trust file, does vouch (the control).
    trust_key(&env, "T.toml", &ap, "archive", &["--archive"]);
    let honest = pack(&env, "honest\n", "2025-06-01T00:00:00Z", &sk, "h.zip", &[]);
    archive_add(&env, "real", &honest, &ak, "2025-06-02T00:00:00Z");
    let d = verify(&env, &honest, &["--trust", "T.toml", "--archive", "real"]);
    assert_eq!(d.code(), 0, "{} {}", d.stdout(), d.stderr());
    // Given as a plain --trust key instead (a signer), it vouches for nothing.
    let d = env
        .cmd()
        .arg("verify")
        .arg(&honest)
        .arg("--trust")
        .arg(&sp)
        .arg("--trust")
        .arg(&ap)
        .args(["--archive", "real"])
        .run();
    assert_eq!(d.code(), 2, "{}", d.stderr());
    // ... and with --archive-key it does.
    let d = env
        .cmd()
        .arg("verify")
        .arg(&honest)
        .args(["--trust", "T.toml", "--archive", "real", "--archive-key"])
        .arg(&ap)
        .run();
    assert_eq!(d.code(), 0, "{}", d.stderr());
    // An archive key signs no bundle.
    let by_arch = pack(&env, "arch\n", "2025-06-01T00:00:00Z", &ak, "a.zip", &[]);
    let d = verify(&env, &by_arch, &["--trust", "T.toml"]);
    assert_eq!(d.code(), 1);
    assert_eq!(codes(&d).0, ["sig.untrusted_key"]);
    assert!(
        d.stdout().contains("only as an archive key"),
        "{}",
        d.stdout()
    );
    // The trust file says so, and older trust files (no role) still read.
    let text = std::fs::read_to_string(env.path("T.toml")).unwrap();
    assert!(text.contains("role = \"archive\""), "{text}");
    let list = env.cmd().args(["key", "list", "T.toml"]).ok().stdout();
    assert!(
        list.lines()
            .any(|l| l.contains("archive") && l.ends_with("(archive key)")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.contains("signer") && !l.contains("(archive key)")),
        "{list}"
    );

    // A compromised archive key vouches for nothing, a retired one nothing after its time.
    revoke(&env, "T.toml", "archive", "retired", "2025-06-01T00:00:00Z");
    let d = verify(&env, &honest, &["--trust", "T.toml", "--archive", "real"]);
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.stderr().contains("retired"), "{}", d.stderr());
}

// ---------------------------------------------------------------------------------------------
// Item 3: a signer is its public key
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item3_alias_key_counts_once() {
    let env = Env::new();
    let seed = [7u8; 32];
    let editor = SecretKey::from_seed(&seed, KeyId([1, 1, 1, 1, 1, 1, 1, 1]));
    let alias = SecretKey::from_seed(&seed, KeyId([2, 2, 2, 2, 2, 2, 2, 2]));
    let (ek, ep) = write_key(&env, "editor", &editor);
    let (ak, apub) = write_key(&env, "alias", &alias);
    let (rk, rp) = env.keygen("reporter");

    // `key show` prints the same fingerprint; `key trust` refuses the alias.
    let fp = |p: &Path| {
        let out = env.cmd().args(["key", "show"]).arg(p).ok().stdout();
        out.lines()
            .find(|l| l.starts_with("fingerprint"))
            .unwrap()
            .to_string()
    };
    assert_eq!(fp(&ep), fp(&apub));
    trust_key(&env, "T.toml", &rp, "reporter", &[]);
    trust_key(&env, "T.toml", &ep, "editor", &[]);
    let d = env
        .cmd()
        .args(["key", "trust", "T.toml"])
        .arg(&apub)
        .args(["--name", "alias"])
        .fails(2);
    assert!(d.stderr().contains("already trusts"), "{}", d.stderr());

    // Sealed by the editor, co-signed by the alias: one secret key, one signer.
    let b = pack(&env, "one key\n", "2026-01-01T00:00:00Z", &ek, "b.zip", &[]);
    let d = env
        .cmd()
        .args(["cosign", "b.zip", "--key"])
        .arg(&ak)
        .fails(2);
    assert!(d.stderr().contains("the same public key"), "{}", d.stderr());
    let forged = with_cosignatures(
        &std::fs::read(&b).unwrap(),
        vec![cosignature(&std::fs::read(&b).unwrap(), &alias)],
    );
    std::fs::write(env.path("forged.zip"), &forged).unwrap();
    let two = [
        "--trust",
        "T.toml",
        "--trust",
        apub.to_str().unwrap(),
        "--require-signers",
        "2",
    ];
    let d = verify(&env, &env.path("forged.zip"), &two);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    let (errors, _) = codes(&d);
    assert!(errors.contains(&"sig.malformed".to_string()), "{errors:?}");
    assert!(
        errors.contains(&"sig.too_few_signers".to_string()),
        "{errors:?}"
    );

    // Sealed by the reporter, co-signed by the editor and by its alias: two signers, not three.
    let r = pack(
        &env,
        "two keys\n",
        "2026-01-01T00:00:00Z",
        &rk,
        "r.zip",
        &[],
    );
    env.cmd().args(["cosign", "r.zip", "--key"]).arg(&ek).ok();
    let d = env
        .cmd()
        .args(["cosign", "r.zip", "--key"])
        .arg(&ak)
        .fails(2);
    assert!(d.stderr().contains("the same public key"), "{}", d.stderr());
    let rb = std::fs::read(&r).unwrap();
    let three = with_cosignatures(&rb, vec![cosignature(&rb, &alias)]);
    std::fs::write(env.path("three.zip"), &three).unwrap();
    let mut args = two.to_vec();
    args[5] = "3";
    let d = verify(&env, &env.path("three.zip"), &args);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert_eq!(codes(&d).0, ["sig.too_few_signers"]);
    assert!(d.stdout().contains("2 distinct trusted signer(s)"));
    args[5] = "2";
    assert_eq!(verify(&env, &env.path("three.zip"), &args).code(), 0);

    // Revoking the key under one id revokes it under every id.
    trust_key(&env, "R.toml", &apub, "alias", &[]);
    revoke(
        &env,
        "R.toml",
        "alias",
        "compromised",
        "2025-01-01T00:00:00Z",
    );
    let d = verify(&env, &b, &["--trust", "T.toml", "--trust", "R.toml"]);
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert_eq!(codes(&d).0, ["trust.revoked"]);
    // Revoked by its key id (the alias's id, in a file that only lists the alias).
    trust_key(&env, "S.toml", &apub, "alias", &[]);
    revoke(
        &env,
        "S.toml",
        &alias.key_id().to_string(),
        "retired",
        "2025-01-01T00:00:00Z",
    );
    let d = verify(&env, &b, &["--trust", "T.toml", "--trust", "S.toml"]);
    assert_eq!(codes(&d).0, ["trust.revoked"]);

    // A trust file listing one key under two ids is refused when read.
    let text = std::fs::read_to_string(env.path("T.toml")).unwrap();
    let alias_line = alias.public_key().to_base64();
    std::fs::write(
        env.path("U.toml"),
        format!("{text}\n[[key]]\nname = \"alias\"\npublic_key = \"{alias_line}\"\n"),
    )
    .unwrap();
    let d = env
        .cmd()
        .arg("verify")
        .arg(&b)
        .args(["--trust", "U.toml"])
        .fails(2);
    assert!(d.stderr().contains("the same public key"), "{}", d.stderr());
}

// ---------------------------------------------------------------------------------------------
// Item 6: bounded work
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item6_cosignatures_are_limited_and_keys_looked_up_by_key() {
    let env = Env::new();
    let (rk, rp) = env.keygen("reporter");
    let b = pack(&env, "many\n", "2026-01-01T00:00:00Z", &rk, "b.zip", &[]);
    let bytes = std::fs::read(&b).unwrap();
    let keys: Vec<SecretKey> = (0..9_990u32)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            seed[4] = 0xc0;
            let mut id = [0xa5u8; 8];
            id[..4].copy_from_slice(&i.to_le_bytes());
            SecretKey::from_seed(&seed, KeyId(id))
        })
        .collect();

    // 9,990 co-signatures: refused by the limit, none checked.
    let sigs: Vec<(String, Vec<u8>)> = keys.iter().map(|k| cosignature(&bytes, k)).collect();
    let many = with_cosignatures(&bytes, sigs.clone());
    std::fs::write(env.path("many.zip"), &many).unwrap();
    let d = verify(
        &env,
        &env.path("many.zip"),
        &["--trust", rp.to_str().unwrap()],
    );
    assert_eq!(d.code(), 1);
    assert_eq!(codes(&d).0, ["limit.cosignatures"]);
    let (reports, _) = json_lines(&d.stdout());
    assert_eq!(reports[0]["signers"].as_array().unwrap().len(), 1);
    // At the limit, every one is checked.
    let max = docseal::verify::MAX_COSIGNATURES;
    let at_limit = with_cosignatures(&bytes, sigs[..max].to_vec());
    std::fs::write(env.path("limit.zip"), &at_limit).unwrap();
    // `cosign` does not add one more.
    let d = env
        .cmd()
        .args(["cosign", "limit.zip", "--key"])
        .arg(&rk)
        .fails(2);
    assert!(d.stderr().contains("reporter") || d.stderr().contains("sealed by key"));
    let (extra_k, _) = env.keygen("extra");
    let d = env
        .cmd()
        .args(["cosign", "limit.zip", "--key"])
        .arg(&extra_k)
        .fails(2);
    assert!(d.stderr().contains("co-signatures"), "{}", d.stderr());

    // A 50,000-key trust set (two trust files in a directory; the keys are not the
    // co-signers): each of the 64 untrusted co-signatures is one look-up, not 50,000 tries.
    std::fs::create_dir(env.path("trust")).unwrap();
    for f in 0..2u32 {
        let mut text = String::new();
        for i in 0..25_000u32 {
            let n = f * 25_000 + i;
            let mut seed = [0x11u8; 32];
            seed[..4].copy_from_slice(&n.to_le_bytes());
            let mut id = [0x5au8; 8];
            id[..4].copy_from_slice(&n.to_le_bytes());
            let k = SecretKey::from_seed(&seed, KeyId(id)).public_key();
            text.push_str(&format!(
                "[[key]]\nname = \"k{n}\"\npublic_key = \"{}\"\n",
                k.to_base64()
            ));
        }
        std::fs::write(env.path(&format!("trust/{f}.toml")), text).unwrap();
    }
    std::fs::copy(&rp, env.path("trust/reporter.pub")).unwrap();
    let started = std::time::Instant::now();
    let d = verify(&env, &env.path("limit.zip"), &["--trust", "trust"]);
    let took = started.elapsed();
    assert_eq!(d.code(), 0, "{}", d.stderr());
    let (reports, _) = json_lines(&d.stdout());
    assert_eq!(reports[0]["signers"].as_array().unwrap().len(), max + 1);
    let (errors, warnings) = codes(&d);
    assert!(errors.is_empty());
    assert_eq!(warnings.len(), max, "{warnings:?}");
    assert!(warnings.iter().all(|w| w == "sig.untrusted_key"));
    // A generous sanity bound only (trying every key took minutes).
    assert!(took.as_secs() < 120, "{took:?}");
}

// ---------------------------------------------------------------------------------------------
// Item 10: supersedes links, one rule for verify and history
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item10_an_untrusted_correction_supersedes_nothing() {
    let env = Env::new();
    let (rk, rp) = env.keygen("reporter");
    let (mk, _) = env.keygen("mallory");
    let (ak, ap) = env.keygen("arch");
    std::fs::create_dir(env.path("dir")).unwrap();
    let v1 = pack(
        &env,
        "one\n",
        "2026-01-01T00:00:00Z",
        &rk,
        "dir/v1.zip",
        &[],
    );
    let fake = pack(
        &env,
        "fake fix\n",
        "2026-01-02T00:00:00Z",
        &mk,
        "dir/fake.zip",
        &["--supersedes", "dir/v1.zip"],
    );
    let rp_s = rp.to_str().unwrap();

    // From the command line.
    let d = env
        .cmd()
        .arg("verify")
        .arg(&v1)
        .arg(&fake)
        .args(["--json", "--trust", rp_s])
        .fails(1);
    let (reports, _) = json_lines(&d.stdout());
    assert!(!d.stdout().contains("prov.superseded\""), "{}", d.stdout());
    assert_eq!(reports[0]["ok"], true);

    // From the archive: the archive holds the fake correction; it is not trusted.
    archive_add(&env, "A", &fake, &ak, "2026-01-03T00:00:00Z");
    let with_archive = |b: &Path| {
        env.cmd()
            .arg("verify")
            .arg(b)
            .args(["--json", "--trust", rp_s, "--archive", "A", "--archive-key"])
            .arg(&ap)
            .run()
    };
    let d = with_archive(&v1);
    assert_eq!(d.code(), 0, "{}", d.stdout());
    assert_eq!(codes(&d), (vec![], vec![]), "{}", d.stdout());
    // A trusted correction in the archive does mark it (the control).
    let v2 = pack(
        &env,
        "two\n",
        "2026-01-04T00:00:00Z",
        &rk,
        "dir/v2.zip",
        &["--supersedes", "dir/v1.zip"],
    );
    archive_add(&env, "A", &v2, &ak, "2026-01-05T00:00:00Z");
    let d = with_archive(&v1);
    assert_eq!(codes(&d).1, ["prov.superseded"], "{}", d.stdout());
    assert!(d.stdout().contains("v2.zip"), "{}", d.stdout());

    // An untrusted bundle with the old version's id and other content does not make a trusted
    // correction a mismatch.
    let same_id = pack_titled(
        &env,
        "one\n",
        "Another title",
        "2026-01-01T00:00:00Z",
        &mk,
        "other.zip",
        &[],
    );
    let d = env
        .cmd()
        .arg("verify")
        .arg(&same_id)
        .arg(&v2)
        .args(["--json", "--trust", rp_s])
        .fails(1);
    let c = json_codes(&d.stdout());
    assert_eq!(c[0], ["sig.untrusted_key"]);
    assert!(c[1].is_empty(), "{c:?}");

    // history applies the same rule and shows who signed each version.
    let j = env
        .cmd()
        .args(["history", "dir", "--json", "--trust", rp_s])
        .fails(1)
        .json();
    let versions = j["chains"][0]["versions"].as_array().unwrap();
    let by_file = |f: &str| {
        versions
            .iter()
            .find(|v| v["files"][0].as_str().unwrap().ends_with(f))
            .unwrap()
            .clone()
    };
    let (one, fake_v, two) = (by_file("v1.zip"), by_file("fake.zip"), by_file("v2.zip"));
    assert_eq!(fake_v["trusted"], false);
    assert_eq!(two["trusted"], true);
    let v2_digest = two["content_sha256"].clone();
    assert_eq!(one["superseded_by"], serde_json::json!([v2_digest]));
    assert_eq!(fake_v["signers"][0]["status"], "unknown");
    assert_eq!(two["signers"][0]["status"], "trusted");
    let text = env
        .cmd()
        .args(["history", "dir", "--trust", rp_s])
        .fails(1)
        .stdout();
    assert!(text.contains("UNTRUSTED"), "{text}");
    assert!(text.contains("NOT TRUSTED"), "{text}");
    assert!(text.contains("supersedes nothing"), "{text}");
    // Without --trust: signers are shown, not checked.
    let text = env.cmd().args(["history", "dir"]).ok().stdout();
    assert!(text.contains("not checked against trust"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Item 11: a bundle and its unzipped directory get the same verdict
// ---------------------------------------------------------------------------------------------

#[test]
fn issue19_item11_zip_and_directory_get_the_same_verdict() {
    let env = Env::new();
    let sealer = SecretKey::from_seed(&[3; 32], KeyId([3; 8]));
    let sealer_alias = SecretKey::from_seed(&[3; 32], KeyId([4; 8]));
    let other = SecretKey::from_seed(&[5; 32], KeyId([5; 8]));
    let stranger = SecretKey::from_seed(&[6; 32], KeyId([6; 8]));
    let (sk, sp) = write_key(&env, "sealer", &sealer);
    let (_, op) = write_key(&env, "other", &other);
    let good = std::fs::read(pack(&env, "x\n", "2026-01-01T00:00:00Z", &sk, "g.zip", &[])).unwrap();
    let sig = common::entries(&good)
        .into_iter()
        .find(|(n, _)| n == SIGNATURE)
        .unwrap()
        .1;
    let own_id = bagit::cosignature_name(&sealer.key_id().to_string());
    let mut renamed = cosignature(&good, &other);
    renamed.0 = bagit::cosignature_name(&stranger.key_id().to_string());
    let other_alias = SecretKey::from_seed(&[5; 32], KeyId([7; 8]));
    let edit = |bytes: &[u8], name: &str, f: &dyn Fn(&mut docseal::minisign::Signature)| {
        common::rebuild(bytes, |e| {
            let s = &mut e.iter_mut().find(|(n, _)| n == name).unwrap().1;
            let mut sig = docseal::minisign::Signature::parse(s).unwrap();
            f(&mut sig);
            *s = sig.to_file_string().into_bytes();
        })
    };
    let with_other = with_cosignatures(&good, vec![cosignature(&good, &other)]);
    let other_name = bagit::cosignature_name(&other.key_id().to_string());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("good", good.clone()),
        (
            "sealer-key-id-lies",
            edit(&good, SIGNATURE, &|s| {
                s.key_id = stranger.key_id();
                s.untrusted_comment = docseal::seal::untrusted_comment(s.key_id);
            }),
        ),
        (
            "sealer-legacy",
            edit(&good, SIGNATURE, &|s| s.prehashed = false),
        ),
        (
            "cosig-invalid",
            edit(&with_other, &other_name, &|s| s.signature[5] ^= 1),
        ),
        (
            "cosig-by-trusted-and-its-alias",
            with_cosignatures(
                &good,
                vec![cosignature(&good, &other), cosignature(&good, &other_alias)],
            ),
        ),
        (
            "cosig-by-sealer-key-id",
            with_cosignatures(&good, vec![(own_id, sig.clone())]),
        ),
        (
            "cosig-by-sealer-alias",
            with_cosignatures(&good, vec![cosignature(&good, &sealer_alias)]),
        ),
        (
            "cosig-by-trusted",
            with_cosignatures(&good, vec![cosignature(&good, &other)]),
        ),
        (
            "cosig-by-stranger",
            with_cosignatures(&good, vec![cosignature(&good, &stranger)]),
        ),
        ("cosig-misnamed", with_cosignatures(&good, vec![renamed])),
        (
            "two-cosigs",
            with_cosignatures(
                &good,
                vec![cosignature(&good, &other), cosignature(&good, &stranger)],
            ),
        ),
    ];
    let trust = [
        "--trust",
        sp.to_str().unwrap(),
        "--trust",
        op.to_str().unwrap(),
    ];
    let mut refused = 0;
    for (name, bytes) in &cases {
        let zip = env.path(&format!("{name}.zip"));
        std::fs::write(&zip, bytes).unwrap();
        let dir = env.path(name);
        unzip_to(bytes, &dir);
        for require in ["1", "2"] {
            let mut args = trust.to_vec();
            args.extend(["--require-signers", require]);
            let z = verify(&env, &zip, &args);
            let d = verify(&env, &dir, &args);
            assert_eq!(
                (z.code(), codes(&z)),
                (d.code(), codes(&d)),
                "{name}, --require-signers {require}: zip {} / dir {}",
                z.stdout(),
                d.stdout()
            );
            refused += usize::from(z.code() != 0);
        }
    }
    // The cases are not all alike: the sealer's own key as a co-signer is refused both ways.
    let d = verify(&env, &env.path("cosig-by-sealer-key-id"), &trust);
    assert_eq!(codes(&d).0, ["sig.malformed"]);
    let d = verify(&env, &env.path("cosig-by-sealer-alias"), &trust);
    assert_eq!(codes(&d).0, ["sig.malformed"]);
    // One key under two ids is one co-signer.
    let d = verify(
        &env,
        &env.path("cosig-by-trusted-and-its-alias"),
        &[&trust[..], &["--require-signers", "3"]].concat(),
    );
    assert_eq!(codes(&d).0, ["sig.too_few_signers"]);
    assert!(refused >= 12, "{refused}");
}

// ---------------------------------------------------------------------------------------------
// A second attacker review of the issue-19 fixes (four holes)
// ---------------------------------------------------------------------------------------------

/// The public key A' = A + T of a secret key's point A and a point T of order 8: a canonical
/// encoding of a point that is not of small order, but not in the prime-order subgroup.
fn mixed_order_point(key: &SecretKey) -> curve25519_dalek::EdwardsPoint {
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let a = CompressedEdwardsY(key.public_key().verifying_key().to_bytes())
        .decompress()
        .unwrap();
    let mixed = a + curve25519_dalek::constants::EIGHT_TORSION[1];
    assert!(!mixed.is_small_order() && !mixed.is_torsion_free());
    mixed
}

/// The base64 line of a minisign public key ("Ed", key id, 32 bytes of the point).
fn public_key_line(id: KeyId, point: &curve25519_dalek::EdwardsPoint) -> String {
    use base64::Engine as _;
    let mut raw = b"Ed".to_vec();
    raw.extend_from_slice(&id.0);
    raw.extend_from_slice(point.compress().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// An Ed25519 signature of `msg` made with the secret scalar of `seed` that verifies strictly
/// under the mixed-order key `mixed` (= A + T): the nonce point R = rB + jT is chosen, for each
/// r, with the j that makes the torsion part of [S]B - [k]A' cancel.
fn mixed_order_sign(
    seed: &[u8; 32],
    mixed: &curve25519_dalek::EdwardsPoint,
    msg: &[u8],
) -> [u8; 64] {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
    use curve25519_dalek::Scalar;
    use sha2::{Digest, Sha512};
    let h = Sha512::digest(seed);
    let mut a = [0u8; 32];
    a.copy_from_slice(&h[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a);
    let mixed_bytes = mixed.compress().to_bytes();
    for counter in 0u64.. {
        let r = Scalar::from_hash(
            Sha512::new()
                .chain_update(b"nonce")
                .chain_update(counter.to_le_bytes())
                .chain_update(msg),
        );
        for j in 0u8..8 {
            let big_r = B * r + EIGHT_TORSION[1] * Scalar::from(j);
            let rb = big_r.compress().to_bytes();
            let k = Scalar::from_hash(
                Sha512::new()
                    .chain_update(rb)
                    .chain_update(mixed_bytes)
                    .chain_update(msg),
            );
            let s = r + k * a;
            if B * s == big_r + mixed * k {
                let mut out = [0u8; 64];
                out[..32].copy_from_slice(&rb);
                out[32..].copy_from_slice(s.as_bytes());
                return out;
            }
        }
    }
    unreachable!()
}

/// A co-signature file of `bundle` under the mixed-order key (id `id`), made with `seed`'s
/// secret as docseal's signer would write it (prehashed, docseal's comments).
fn mixed_order_cosignature(
    bundle: &[u8],
    seed: &[u8; 32],
    plain: &SecretKey,
    id: KeyId,
) -> (String, Vec<u8>) {
    use base64::Engine as _;
    use blake2::Digest as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mixed = mixed_order_point(plain);
    let e = common::entries(bundle);
    let get = |n: &str| e.iter().find(|(x, _)| x == n).unwrap().1.clone();
    let m = docseal::metadata::Metadata::parse(&get("metadata.json"))
        .0
        .unwrap();
    let tm = get("tagmanifest-sha256.txt");
    let sig = mixed_order_sign(seed, &mixed, &blake2::Blake2b512::digest(&tm));
    let trusted = docseal::seal::trusted_comment(&m, &plain.public_key()).replace(
        &plain.public_key().to_base64(),
        &public_key_line(id, &mixed),
    );
    let mut global_msg = sig.to_vec();
    global_msg.extend_from_slice(trusted.as_bytes());
    let global = mixed_order_sign(seed, &mixed, &global_msg);
    // The forgery is real: both signatures verify strictly under A'.
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&mixed.compress().to_bytes()).unwrap();
    let gs = ed25519_dalek::Signature::from_bytes(&global);
    assert!(vk.verify_strict(&global_msg, &gs).is_ok());
    let mut line2 = b"ED".to_vec();
    line2.extend_from_slice(&id.0);
    line2.extend_from_slice(&sig);
    let file = format!(
        "untrusted comment: {}\n{}\ntrusted comment: {trusted}\n{}\n",
        docseal::seal::untrusted_comment(id),
        b64.encode(line2),
        b64.encode(global)
    );
    (bagit::cosignature_name(&id.to_string()), file.into_bytes())
}

#[test]
fn issue19_attack_mixed_order_key_is_refused_everywhere() {
    let env = Env::new();
    let seed = [21u8; 32];
    let alice = SecretKey::from_seed(&seed, KeyId([0x11; 8]));
    let bob_id = KeyId([0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28]);
    let (_, alice_pub) = write_key(&env, "alice", &alice);
    let (xk, _) = env.keygen("x");
    let (ak, ap) = env.keygen("arch");
    let bob_line = public_key_line(bob_id, &mixed_order_point(&alice));
    let bob_pub = env.path("bob.pub");
    std::fs::write(
        &bob_pub,
        format!("untrusted comment: minisign public key {bob_id}\n{bob_line}\n"),
    )
    .unwrap();

    // Every torsion component (order 2, 4 or 8) makes a key refused, in the library too.
    for t in &curve25519_dalek::constants::EIGHT_TORSION[1..] {
        let a = mixed_order_point(&alice) - curve25519_dalek::constants::EIGHT_TORSION[1];
        let line = public_key_line(bob_id, &(a + t));
        assert!(
            matches!(
                docseal::minisign::PublicKey::from_base64(&line),
                Err(docseal::minisign::KeyError::MixedOrderKey)
            ),
            "{line}"
        );
    }
    assert!(docseal::minisign::PublicKey::from_base64(&alice.public_key().to_base64()).is_ok());

    // One secret key, two "signers": alice co-signs, and her secret signs again as bob.
    let a = pack(
        &env,
        "one secret\n",
        "2025-06-01T00:00:00Z",
        &xk,
        "a.zip",
        &[],
    );
    let ab = std::fs::read(&a).unwrap();
    let two = with_cosignatures(
        &ab,
        vec![
            cosignature(&ab, &alice),
            mixed_order_cosignature(&ab, &seed, &alice, bob_id),
        ],
    );
    std::fs::write(env.path("two.zip"), &two).unwrap();
    let alice_line = alice.public_key().to_base64();
    std::fs::write(
        env.path("T.toml"),
        format!(
            "[[key]]\nname = \"alice\"\npublic_key = \"{alice_line}\"\n\n\
             [[key]]\nname = \"bob\"\npublic_key = \"{bob_line}\"\n"
        ),
    )
    .unwrap();
    let d = env
        .cmd()
        .arg("verify")
        .arg(env.path("two.zip"))
        .args(["--trust", "T.toml", "--require-signers", "2"])
        .fails(2);
    assert!(d.stderr().contains("T.toml"), "{}", d.stderr());
    assert!(d.stderr().contains("mixed-order"), "{}", d.stderr());

    // The key file itself, wherever a public key is taken as a key.
    let refused = |d: Done| {
        assert_eq!(d.code(), 2, "{} {}", d.stdout(), d.stderr());
        assert!(
            d.stderr().contains("bob.pub") && d.stderr().contains("mixed-order"),
            "{}",
            d.stderr()
        );
    };
    refused(env.cmd().args(["key", "show"]).arg(&bob_pub).run());
    trust_key(&env, "K.toml", &alice_pub, "alice", &[]);
    let before = std::fs::read(env.path("K.toml")).unwrap();
    refused(
        env.cmd()
            .args(["key", "trust", "K.toml"])
            .arg(&bob_pub)
            .args(["--name", "bob"])
            .run(),
    );
    refused(
        env.cmd()
            .args(["key", "trust", "K.toml"])
            .arg(&bob_pub)
            .args(["--name", "bob", "--archive"])
            .run(),
    );
    assert_eq!(std::fs::read(env.path("K.toml")).unwrap(), before);
    refused(
        env.cmd()
            .arg("verify")
            .arg(env.path("two.zip"))
            .args(["--trust", "K.toml", "--trust"])
            .arg(&bob_pub)
            .run(),
    );
    archive_add(&env, "C", &a, &ak, "2025-06-02T00:00:00Z");
    refused(
        env.cmd()
            .arg("verify")
            .arg(&a)
            .args(["--trust", "K.toml", "--archive", "C", "--archive-key"])
            .arg(&bob_pub)
            .run(),
    );
    refused(
        env.cmd()
            .args(["archive", "audit", "C", "--trust"])
            .arg(&bob_pub)
            .run(),
    );
    // The control: the same commands take the plain keys.
    env.cmd()
        .args(["archive", "audit", "C", "--trust"])
        .arg(&ap)
        .ok();
    env.cmd().args(["key", "show"]).arg(&alice_pub).ok();

    // A key named in a signature (signer=A') is not taken as that signer's key either: with
    // alice alone trusted, the bundle has one trusted co-signer, not two.
    let d = verify(
        &env,
        &env.path("two.zip"),
        &["--trust", "K.toml", "--require-signers", "2"],
    );
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert!(
        codes(&d).0.contains(&"sig.too_few_signers".to_string()),
        "{}",
        d.stdout()
    );
}

#[test]
fn issue19_attack_key_trust_never_writes_a_trust_file_it_cannot_read() {
    let env = Env::new();
    let limit = docseal::trust::MAX_TRUST_FILE as usize;
    // A compact trust file (no header, no blank lines) just under the read limit: long names
    // fill it with a few thousand keys.
    let entry = |i: u32, name: &str| {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&i.to_le_bytes());
        seed[31] = 0x5a;
        let key = SecretKey::from_seed(&seed, KeyId(seed[..8].try_into().unwrap()));
        format!(
            "[[key]]\nname = \"{name}\"\npublic_key = \"{}\"\n",
            key.public_key().to_base64()
        )
    };
    let mut text = String::new();
    let mut i = 0u32;
    loop {
        let e = entry(i, &format!("{i:06}{}", "n".repeat(1000)));
        if text.len() + 2 * e.len() > limit - 20 {
            break;
        }
        text.push_str(&e);
        i += 1;
    }
    // Two last keys share the rest (each name within the 1024-byte limit on names).
    let short = entry(i, "x").len();
    let rest = limit - 20 - text.len() - 2 * short;
    text.push_str(&entry(i, &format!("x{}", "y".repeat(rest / 2))));
    text.push_str(&entry(i + 1, &format!("z{}", "y".repeat(rest - rest / 2))));
    assert_eq!(text.len(), limit - 20);
    std::fs::write(env.path("T.toml"), &text).unwrap();
    // docseal reads it.
    let list = env.cmd().args(["key", "list", "T.toml"]).ok().stdout();
    assert!(list.contains("000000nnn"), "{}", &list[..200]);

    // `key trust` would rewrite it past the limit (its header, blank lines and the new key):
    // refused, naming the file and the limit, nothing written.
    let (_, np) = env.keygen("new");
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(env.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let files = listing();
    let d = env
        .cmd()
        .args(["key", "trust", "T.toml"])
        .arg(&np)
        .args(["--name", "new"])
        .fails(2);
    let err = d.stderr();
    assert!(err.contains("T.toml"), "{err}");
    assert!(err.contains(&limit.to_string()), "{err}");
    assert!(err.contains("nothing written"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(std::fs::read_to_string(env.path("T.toml")).unwrap(), text);
    assert_eq!(listing(), files);
    // The same for `key revoke` (the revocation adds lines).
    let d = env
        .cmd()
        .args(["key", "revoke", "T.toml"])
        .arg(format!("000000{}", "n".repeat(1000)))
        .args(["--reason", "retired", "--at", "2026-01-01T00:00:00Z"])
        .fails(2);
    assert!(d.stderr().contains(&limit.to_string()), "{}", d.stderr());
    assert_eq!(std::fs::read_to_string(env.path("T.toml")).unwrap(), text);
    assert_eq!(listing(), files);
    // The file is still read, and a smaller one is still updated (the control).
    env.cmd().args(["key", "list", "T.toml"]).ok();
    trust_key(&env, "S.toml", &np, "new", &[]);
    revoke(&env, "S.toml", "new", "retired", "2026-01-01T00:00:00Z");
}

#[test]
fn issue19_attack_audit_and_check_proof_take_only_archive_keys() {
    let env = Env::new();
    let (rk, rp) = env.keygen("ret");
    let (ak, ap) = env.keygen("arch");
    let (sk, _) = env.keygen("signer");
    trust_key(&env, "T.toml", &rp, "ret", &[]); // role signer (the default)
    revoke(&env, "T.toml", "ret", "retired", "2026-01-01T00:00:00Z");

    // The retired signer back-dates a bundle and keeps its own "archive" of it.
    let evil = pack(
        &env,
        "back-dated\n",
        "2025-06-01T00:00:00Z",
        &rk,
        "evil.zip",
        &[],
    );
    archive_add(&env, "EA", &evil, &rk, "2025-06-02T00:00:00Z");
    env.cmd()
        .args(["archive", "prove", "EA", "evil.zip", "--out", "p.json"])
        .ok();
    // audit: a key trusted to sign bundles vouches for no checkpoint.
    let d = env
        .cmd()
        .args(["archive", "audit", "EA", "--trust", "T.toml"])
        .fails(1);
    assert!(
        d.stdout().contains("log.checkpoint_untrusted"),
        "{}",
        d.stdout()
    );
    assert!(
        d.stdout().contains("not as an archive key"),
        "{}",
        d.stdout()
    );
    // check-proof: the same; and with the key given as a .pub (taken as an archive key), it
    // still does not establish the time of a bundle it signed itself.
    let d = env
        .cmd()
        .args(["archive", "check-proof", "p.json", "--trust", "T.toml"])
        .args(["--bundle", "evil.zip"])
        .fails(1);
    assert!(
        d.stderr().contains("not as an archive key"),
        "{}",
        d.stderr()
    );
    let d = env
        .cmd()
        .args(["archive", "check-proof", "p.json", "--trust"])
        .arg(&rp)
        .args(["--bundle", "evil.zip"])
        .fails(1);
    assert!(
        d.stderr().contains("never vouches for its own"),
        "{}",
        d.stderr()
    );
    assert!(!d.stdout().contains("OK"), "{}", d.stdout());
    // The proof itself (no bundle) is that key's word about its log: it checks.
    env.cmd()
        .args(["archive", "check-proof", "p.json", "--trust"])
        .arg(&rp)
        .ok();

    // The control: a real archive key, as a .pub or in its role in a trust file.
    let good = pack(&env, "good\n", "2025-06-01T00:00:00Z", &sk, "good.zip", &[]);
    archive_add(&env, "C", &good, &ak, "2025-06-02T00:00:00Z");
    env.cmd()
        .args(["archive", "prove", "C", "good.zip", "--out", "g.json"])
        .ok();
    env.cmd()
        .args(["archive", "audit", "C", "--trust"])
        .arg(&ap)
        .ok();
    trust_key(&env, "A.toml", &ap, "arch", &["--archive"]);
    env.cmd()
        .args(["archive", "audit", "C", "--trust", "A.toml"])
        .ok();
    let ok = env
        .cmd()
        .args(["archive", "check-proof", "g.json", "--trust", "A.toml"])
        .args(["--bundle", "good.zip"])
        .ok();
    assert!(ok.stdout().starts_with("OK"), "{}", ok.stdout());
    // The archive key in a trust file without its role (a signer) vouches for nothing here.
    trust_key(&env, "S.toml", &ap, "arch", &[]);
    let d = env
        .cmd()
        .args(["archive", "audit", "C", "--trust", "S.toml"])
        .fails(1);
    assert!(
        d.stdout().contains("not as an archive key"),
        "{}",
        d.stdout()
    );
    env.cmd()
        .args(["archive", "check-proof", "g.json", "--trust", "S.toml"])
        .fails(1);
    // Once the archive key co-signs the bundle, its checkpoint no longer dates it.
    env.cmd()
        .args(["cosign", "good.zip", "--key"])
        .arg(&ak)
        .ok();
    let d = env
        .cmd()
        .args(["archive", "check-proof", "g.json", "--trust"])
        .arg(&ap)
        .args(["--bundle", "good.zip"])
        .fails(1);
    assert!(
        d.stderr().contains("never vouches for its own"),
        "{}",
        d.stderr()
    );
}

/// Sign a checkpoint over every line of `archive`'s log/entries with the archive key, as the
/// key holder's own tooling could (the log's `previous` is the latest checkpoint).
fn sign_log_by_hand(env: &Env, archive: &str, key: &SecretKey, previous: u64, time: &str) {
    use docseal::archive::{Checkpoint, Entry};
    let dir = env.path(&format!("{archive}/log"));
    let entries = std::fs::read(dir.join("entries")).unwrap();
    let leaves: Vec<_> = entries
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| Entry::parse(l).unwrap().leaf_hash())
        .collect();
    let prev = std::fs::read(dir.join(format!("checkpoints/{previous}"))).unwrap();
    let prev = Checkpoint::parse(&prev).unwrap();
    let cp = Checkpoint {
        origin: prev.origin,
        size: leaves.len() as u64,
        root: docseal::log::root(&leaves),
        time: chrono::DateTime::parse_from_rfc3339(time).unwrap().into(),
        previous,
    };
    let at = dir.join(format!("checkpoints/{}", cp.size));
    std::fs::write(&at, cp.body()).unwrap();
    std::fs::write(at.with_extension("minisig"), cp.sign(key)).unwrap();
}

#[test]
fn issue19_attack_a_log_line_makes_no_supersedes_link() {
    let env = Env::new();
    let (sk, sp) = env.keygen("signer");
    let (ak, ap) = env.keygen("arch");
    let (ok_, op) = env.keygen("other");
    trust_key(&env, "T.toml", &sp, "signer", &[]);
    trust_key(&env, "T.toml", &op, "other", &[]);
    trust_key(&env, "T.toml", &ap, "arch", &["--archive"]);
    let victim = pack(&env, "victim\n", "2025-06-01T00:00:00Z", &ok_, "V.zip", &[]);
    // A genuine bundle by a trusted key that corrects nothing.
    let c = pack(
        &env,
        "unrelated\n",
        "2025-06-01T00:00:00Z",
        &sk,
        "c.zip",
        &[],
    );
    let d = pack(&env, "third\n", "2025-06-01T00:00:00Z", &sk, "d.zip", &[]);
    archive_add(&env, "C", &victim, &ak, "2025-06-02T00:00:00Z");
    let inspect = |p: &Path| env.cmd().arg("inspect").arg(p).arg("--json").ok().json();
    let (v, cj) = (inspect(&victim), inspect(&c));
    assert!(cj["metadata"].get("supersedes").is_none_or(|s| s.is_null()));
    let file_sha = {
        use sha2::Digest as _;
        docseal::metadata::hex(&sha2::Sha256::digest(std::fs::read(&c).unwrap()))
    };
    // By hand: c.zip into bundles/, and a log line for it whose supersedes field names V.
    std::fs::copy(&c, env.path("C/bundles/c.zip")).unwrap();
    let line = format!(
        "1 {} {file_sha} {} {} c.zip\n",
        cj["content_sha256"].as_str().unwrap(),
        cj["id"].as_str().unwrap(),
        v["content_sha256"].as_str().unwrap()
    );
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(env.path("C/log/entries"))
        .unwrap();
    std::io::Write::write_all(&mut log, line.as_bytes()).unwrap();
    drop(log);

    // archive add refuses to sign the line, naming the link; audit flags it.
    let before = std::fs::read(env.path("C/log/entries")).unwrap();
    let e = env
        .cmd()
        .args(["archive", "add", "C"])
        .arg(&d)
        .arg("--key")
        .arg(&ak)
        .args(["--time", "2025-06-03T00:00:00Z"])
        .fails(2);
    assert!(
        e.stderr().contains("signed metadata supersedes nothing"),
        "{}",
        e.stderr()
    );
    assert_eq!(std::fs::read(env.path("C/log/entries")).unwrap(), before);
    let audit = |want: i32| {
        let a = env
            .cmd()
            .args(["archive", "audit", "C", "--json", "--trust"])
            .arg(&ap)
            .fails(want)
            .json();
        a["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_string(),
                    f["path"].as_str().unwrap_or_default().to_string(),
                    f["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let found = audit(1);
    assert!(
        found.iter().any(|(c, p, m)| c == "log.entry_altered"
            && p == "bundles/c.zip"
            && m.contains("signed metadata supersedes nothing")),
        "{found:?}"
    );

    // Even signed into the log (by the archive key's holder), the line makes no link: verify
    // --archive takes the link from the archived bundle's signed metadata.
    sign_log_by_hand(&env, "C", &docseal_key(&ak), 1, "2025-06-03T00:00:00Z");
    let found = audit(1);
    assert!(
        found
            .iter()
            .any(|(c, p, _)| c == "log.entry_altered" && p == "bundles/c.zip"),
        "{found:?}"
    );
    let args = ["--trust", "T.toml", "--archive", "C"];
    let r = verify(&env, &victim, &args);
    assert_eq!(r.code(), 0, "{} {}", r.stdout(), r.stderr());
    assert_eq!(codes(&r), (vec![], vec![]), "{}", r.stdout());

    // The control: a real correction, archived by docseal, does mark it superseded.
    let fix = pack(
        &env,
        "victim, corrected\n",
        "2025-06-04T00:00:00Z",
        &ok_,
        "fix.zip",
        &["--supersedes", "V.zip"],
    );
    archive_add(&env, "C2", &victim, &ak, "2025-06-02T00:00:00Z");
    archive_add(&env, "C2", &fix, &ak, "2025-06-05T00:00:00Z");
    let r = verify(&env, &victim, &["--trust", "T.toml", "--archive", "C2"]);
    assert_eq!(codes(&r).1, ["prov.superseded"], "{}", r.stdout());
    env.cmd()
        .args(["archive", "audit", "C2", "--trust"])
        .arg(&ap)
        .ok();

    // The same line with its bundle left in log/pending (as an interrupted add leaves it): add
    // refuses to sign it, audit says so rather than only "interrupted".
    archive_add(&env, "P", &victim, &ak, "2025-06-02T00:00:00Z");
    std::fs::copy(&c, env.path("P/log/pending/c.zip")).unwrap();
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(env.path("P/log/entries"))
        .unwrap();
    std::io::Write::write_all(&mut log, line.as_bytes()).unwrap();
    drop(log);
    let e = env
        .cmd()
        .args(["archive", "add", "P"])
        .arg(&d)
        .arg("--key")
        .arg(&ak)
        .args(["--time", "2025-06-03T00:00:00Z"])
        .fails(2);
    assert!(e.stderr().contains("supersedes nothing"), "{}", e.stderr());
    let a = env
        .cmd()
        .args(["archive", "audit", "P", "--json", "--trust"])
        .arg(&ap)
        .fails(1)
        .json();
    assert!(
        a["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "log.entry_altered"
                && f["path"] == "log/pending/c.zip"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("supersedes nothing")),
        "{a}"
    );
}
