//! `docseal pack --batch JOBS --key K --out-dir s3://BUCKET/PREFIX` (issue 17) on a real
//! S3-compatible server (SeaweedFS): bundles published with create-only writes, re-runs skip
//! what is sealed, nothing in the bucket is ever replaced.

use crate::common;
use crate::common::weed;

use common::*;
use docseal::store::Store;

/// The job lines and the summary of `pack --batch --json`.
fn batch_lines(stdout: &str) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut v: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = v.pop().unwrap();
    assert_eq!(summary["type"], "summary");
    (v, summary)
}

fn job(env: &Env, i: usize, out: Option<&str>) -> String {
    let article = format!("a{i}.txt");
    std::fs::write(env.path(&article), format!("Article {i}.\n")).unwrap();
    let mut j = serde_json::json!({
        "article": article, "url": SAMPLE_URL, "title": format!("Title {i}"),
        "publisher": "Daily Times", "published": "2018-09-11",
    });
    if let Some(o) = out {
        j["out"] = o.into();
    }
    j.to_string()
}

#[test]
fn issue17_pack_batch_to_s3_publishes_once_and_never_clobbers() {
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let (key, public) = env.keygen("k");
    let jobs: Vec<String> = (0..4)
        .map(|i| job(&env, i, (i == 3).then_some("named.zip")))
        .collect();
    std::fs::write(env.path("jobs.jsonl"), jobs.join("\n") + "\n").unwrap();
    let run = |extra: &[&str]| {
        let mut c = env
            .cmd()
            .args(["pack", "--batch", "jobs.jsonl", "--json", "--key"])
            .arg(&key)
            .args(["--out-dir", "s3://docseal-batch/out/2026"])
            .args(extra);
        for (k, v) in w.env() {
            c = c.env(&k, &v);
        }
        c.run()
    };
    let d = run(&[]);
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
    let (lines, summary) = batch_lines(&d.stdout());
    assert_eq!(summary["sealed"], 4, "{}", d.stdout());
    for l in &lines {
        let p = l["path"].as_str().unwrap();
        assert!(p.starts_with("s3://docseal-batch/out/2026/"), "{p}");
    }
    let s = w.store("docseal-batch", "out/2026");
    let listed = s.list("", None, 100).unwrap();
    assert_eq!(listed.items.len(), 4, "{listed:?}");
    let before: Vec<Vec<u8>> = listed
        .items
        .iter()
        .map(|l| s.get(&l.key, 1 << 20).unwrap().unwrap().bytes)
        .collect();
    // The bundles in the bucket verify.
    let mut v = env
        .cmd()
        .args(["verify", "s3://docseal-batch/out/2026", "--trust"])
        .arg(&public);
    for (k, val) in w.env() {
        v = v.env(&k, &val);
    }
    v.ok();

    // A re-run seals nothing again: every job is found sealed in the bucket.
    let d = run(&[]);
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
    let (_, summary) = batch_lines(&d.stdout());
    assert_eq!(
        (summary["sealed"].clone(), summary["skipped"].clone()),
        (0.into(), 4.into())
    );
    let after: Vec<Vec<u8>> = listed
        .items
        .iter()
        .map(|l| s.get(&l.key, 1 << 20).unwrap().unwrap().bytes)
        .collect();
    assert_eq!(after, before);

    // Another object under a job's name is a conflict (exit 3) and stays as it was.
    s.delete("named.zip").unwrap();
    s.put("named.zip", b"somebody else's object").unwrap();
    let d = run(&[]);
    assert_eq!(d.code(), 3, "{}{}", d.stdout(), d.stderr());
    let (lines, summary) = batch_lines(&d.stdout());
    assert_eq!(summary["failed"], 1);
    let failed = lines.iter().find(|l| l["status"] == "failed").unwrap();
    assert_eq!(failed["path"], "s3://docseal-batch/out/2026/named.zip");
    assert_eq!(
        s.get("named.zip", 100).unwrap().unwrap().bytes,
        b"somebody else's object"
    );
    let all = format!("{}{}", d.stdout(), d.stderr());
    assert!(!all.contains(weed::SECRET_KEY) && !all.contains(weed::ACCESS_KEY));
}
