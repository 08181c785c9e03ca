//! `docseal verify s3://BUCKET/PREFIX` (issue 17) on a real S3-compatible server (SeaweedFS):
//! the same records as verifying the same bundles on a local disk, and no credential shown.

use crate::common;
use crate::common::weed;

use common::*;
use docseal::store::Store;

/// The JSON records of a verify run, each with its bundle's file name instead of its path.
fn records(stdout: &str) -> Vec<serde_json::Value> {
    let (mut lines, _summary) = json_lines(stdout);
    for r in lines.iter_mut() {
        let p = r["path"].as_str().unwrap().to_string();
        let name = p.rsplit('/').next().unwrap().to_string();
        r["path"] = serde_json::Value::String(name.clone());
        // Finding messages name the bundle too.
        if let Some(fs) = r["findings"].as_array_mut() {
            for f in fs {
                if let Some(m) = f["message"].as_str() {
                    f["message"] = m.replace(&p, &name).into();
                }
            }
        }
    }
    lines.sort_by_key(|r| r["path"].as_str().unwrap().to_string());
    lines
}

#[test]
fn issue17_verify_s3_gives_the_same_records_as_local_disk() {
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let dir = env.path("bundles");
    std::fs::create_dir(&dir).unwrap();
    // Small bundles, one larger than 1 MiB (read by ranges), one tampered, one not a bundle.
    for i in 0..5 {
        env.pack_text(
            &format!("Article number {i}.\n"),
            &format!("Title {i}"),
            "2026-11-27T12:00:00Z",
            &key,
            &format!("bundles/b{i}.zip"),
            &[],
        );
    }
    let big: Vec<u8> = (0..2_500_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(env.path("big.bin"), &big).unwrap();
    env.pack_text(
        "An article with a large attachment.\n",
        "Large",
        "2026-11-27T12:00:00Z",
        &key,
        "bundles/large.zip",
        &["--attach", env.path("big.bin").to_str().unwrap()],
    );
    let mut t = std::fs::read(dir.join("b1.zip")).unwrap();
    let at = t.len() / 3;
    t[at] ^= 1;
    std::fs::write(dir.join("b1.zip"), &t).unwrap();
    std::fs::write(dir.join("junk.zip"), b"not a zip at all").unwrap();

    let s = w.store("docseal-verify", "");
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        s.put(
            &format!("pub/2026/{name}"),
            &std::fs::read(e.path()).unwrap(),
        )
        .unwrap();
    }
    s.put("pub/2026/readme.txt", b"not a bundle").unwrap();
    s.put("pubX/other.zip", b"outside the prefix").unwrap();

    let local = env
        .cmd()
        .args(["verify", "bundles", "--json", "--trust"])
        .arg(&public)
        .run();
    let mut remote = env
        .cmd()
        .args(["verify", "s3://docseal-verify/pub", "--json", "--trust"])
        .arg(&public);
    for (k, v) in w.env() {
        remote = remote.env(&k, &v);
    }
    let remote = remote.run();
    assert_eq!(local.code(), 1, "{}", local.stderr());
    assert_eq!(remote.code(), local.code(), "{}", remote.stderr());
    let (l, r) = (records(&local.stdout()), records(&remote.stdout()));
    assert_eq!(l.len(), 7);
    assert_eq!(r, l);
    let ok: Vec<bool> = r.iter().map(|x| x["ok"].as_bool().unwrap()).collect();
    assert_eq!(ok.iter().filter(|&&o| o).count(), 5, "{r:?}");
    for p in remote.stdout().lines().filter_map(|l| {
        serde_json::from_str::<serde_json::Value>(l).ok()?["path"]
            .as_str()
            .map(String::from)
    }) {
        assert!(p.starts_with("s3://docseal-verify/pub/2026/"), "{p}");
    }
    let all = format!("{}{}", remote.stdout(), remote.stderr());
    assert!(!all.contains(weed::SECRET_KEY) && !all.contains(weed::ACCESS_KEY));

    // One object named directly.
    let mut one = env
        .cmd()
        .args([
            "verify",
            "s3://docseal-verify/pub/2026/large.zip",
            "--trust",
        ])
        .arg(&public);
    for (k, v) in w.env() {
        one = one.env(&k, &v);
    }
    one.ok();
}

#[test]
fn issue17_verify_s3_errors_are_clear_and_show_no_credential() {
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let (_key, public) = env.keygen("k");
    let wrong = "WrongSecretShouldNotShow/123";
    let mut cmd = env
        .cmd()
        .args(["verify", "s3://docseal-denied/x", "--json", "--trust"])
        .arg(&public);
    for (k, v) in w.env() {
        let v = if k == "AWS_SECRET_ACCESS_KEY" {
            wrong.to_string()
        } else {
            v
        };
        cmd = cmd.env(&k, &v);
    }
    // An unreadable location is reported as an unreadable path is (io.read, exit 4).
    let d = cmd.run();
    assert_eq!(d.code(), 4, "{}", d.stderr());
    let all = format!("{}{}", d.stdout(), d.stderr());
    assert!(
        all.contains("access denied") && all.contains("io.read"),
        "{all}"
    );
    for s in [wrong, weed::SECRET_KEY, weed::ACCESS_KEY] {
        assert!(!all.contains(s), "{all}");
    }
    // A credential in the location is refused without being echoed.
    let d = env
        .cmd()
        .args(["verify", "s3://AKIAXX:TopSecret99@bucket/p", "--trust"])
        .arg(&public)
        .run();
    assert_eq!(d.code(), 4);
    let all = format!("{}{}", d.stdout(), d.stderr());
    assert!(
        all.contains("AWS_ACCESS_KEY_ID") && !all.contains("TopSecret99"),
        "{all}"
    );
    // An empty prefix of a bucket: nothing to verify, as for an empty directory; a missing
    // bucket: not found, as for a missing directory.
    w.store("docseal-empty", "")
        .put("elsewhere/a.zip", b"x")
        .unwrap();
    for (loc, code, says) in [
        ("s3://docseal-empty/none", 1, "nothing to verify"),
        ("s3://docseal-missing/x", 4, "not found"),
    ] {
        let mut cmd = env.cmd().args(["verify", loc, "--trust"]).arg(&public);
        for (k, v) in w.env() {
            cmd = cmd.env(&k, &v);
        }
        let d = cmd.run();
        let all = format!("{}{}", d.stdout(), d.stderr());
        assert_eq!(d.code(), code, "{all}");
        assert!(all.contains(says), "{all}");
    }
}
