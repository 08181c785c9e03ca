//! `docseal archive add s3://BUCKET/PREFIX` (issue 17), on a real S3-compatible server
//! (SeaweedFS): sequenced with conditional writes only, many writers at once, writers and the
//! server killed, races lost and retried, and the same bytes as a local archive.

use crate::common;
use crate::common::weed;

use common::store_hooks::{self, Hooked, Hooks};
use common::*;
use docseal::store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct T {
    w: weed::Weed,
    env: Env,
    key: PathBuf,
    public: PathBuf,
}

impl T {
    fn start() -> Option<T> {
        let w = weed::Weed::start()?;
        let env = Env::new();
        let (key, public) = env.keygen("k");
        Some(T {
            w,
            env,
            key,
            public,
        })
    }

    fn cmd(&self) -> Run {
        let mut c = self.env.cmd();
        for (k, v) in self.w.env() {
            c = c.env(&k, &v);
        }
        c
    }

    /// `archive add LOC BUNDLES --key k.key EXTRA...`
    fn add(&self, loc: &str, bundles: &[String], extra: &[&str]) -> Run {
        self.cmd()
            .args(["archive", "add", loc])
            .args(bundles)
            .arg("--key")
            .arg(&self.key)
            .args(extra)
    }

    fn audit(&self, loc: &str) -> Done {
        self.cmd()
            .args(["archive", "audit", loc, "--json", "--trust"])
            .arg(&self.public)
            .run()
    }

    /// `count` distinct bundles `PREFIX<i>.zip` in `b/`, sealed with one `pack --batch`.
    fn bundles(&self, prefix: &str, count: usize) -> Vec<String> {
        std::fs::create_dir_all(self.env.path("art")).unwrap();
        let mut jobs = String::new();
        for i in 0..count {
            let art = self.env.path(&format!("art/{prefix}{i}.txt"));
            std::fs::write(&art, format!("Article {prefix} number {i}.\n")).unwrap();
            jobs.push_str(
                &serde_json::json!({"article": art, "url": "https://e.com/a",
                    "title": format!("{prefix} {i}"), "publisher": "P",
                    "published": "2018-09-11", "created": "2026-11-27T12:00:00Z",
                    "out": format!("{prefix}{i}.zip")})
                .to_string(),
            );
            jobs.push('\n');
        }
        let jf = self.env.path(&format!("{prefix}.jsonl"));
        std::fs::write(&jf, jobs).unwrap();
        self.cmd()
            .args(["pack", "--batch"])
            .arg(&jf)
            .arg("--key")
            .arg(&self.key)
            .args(["--out-dir", "b"])
            .ok();
        (0..count).map(|i| format!("b/{prefix}{i}.zip")).collect()
    }
}

/// Every object under the store's root: key -> bytes.
fn objects(s: &dyn Store) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let p = s.list("", after.as_deref(), 1000).unwrap();
        for i in &p.items {
            let o = s.get(&i.key, 1 << 30).unwrap().unwrap();
            out.insert(i.key.clone(), o.bytes);
        }
        match p.items.last() {
            Some(l) if p.more => after = Some(l.key.clone()),
            _ => break,
        }
    }
    out
}

/// The names of the log's entries, checked: `log/entries` of a v2 archive (one per line, in
/// index order), or the entries of a v3 archive ([`v3_layout`]).
fn logged(s: &dyn Store) -> Vec<String> {
    if s.size("log/sequence").unwrap().is_some() {
        return v3_layout(s).into_iter().map(|e| e.name).collect();
    }
    let e = s.get("log/entries", 1 << 30).unwrap().unwrap().bytes;
    let text = String::from_utf8(e).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.splitn(6, ' ').collect();
            assert_eq!(f[0], i.to_string(), "{l}");
            f[5].to_string()
        })
        .collect()
}

/// The latest checkpoint of the archive in `s` (its note's body; the signature is checked
/// by the add and the audit).
fn head_of(s: &dyn Store) -> docseal::archive::Checkpoint {
    let note = s.get("log/checkpoint", 1 << 15).unwrap().unwrap().bytes;
    let text = String::from_utf8(note).unwrap();
    let body = &text[..text.find("\n\n").unwrap() + 1];
    docseal::archive::Checkpoint::parse(body.as_bytes()).unwrap()
}

/// Check the v3 layout of a settled archive in `s` (no add running) and return its entries:
/// `log/sequence` parses strictly; its start is a checkpoint's size and the head covers its
/// tail; the tiles (every hash tile checked against the entry bundles) give the head's root;
/// the entries are the entry bundles' then the tail's; every entry has both index objects with
/// exactly its line and there is no other index object; every bundle in `bundles/` is the file
/// logged; no `log/entries`, nothing left in `log/pending/`.
fn v3_layout(s: &dyn Store) -> Vec<docseal::archive::Entry> {
    use docseal::archive::v3::{content_index_path, index_bytes, name_index_path, Sequence};
    use docseal::archive::Entry;
    let seq = s.get("log/sequence", 1 << 30).unwrap().unwrap().bytes;
    let seq = Sequence::parse(&seq).unwrap();
    assert!(
        s.size("log/entries").unwrap().is_none(),
        "v3 with log/entries"
    );
    let head = head_of(s);
    assert_eq!(
        head.size,
        seq.size(),
        "the head does not cover the sequence"
    );
    assert!(
        s.size(&format!("log/checkpoints/{}", seq.start))
            .unwrap()
            .is_some()
            || seq.start == 0
    );
    let mut tiles = docseal::tlog::Tiles::new(
        |path: &str, max: usize| -> Result<Option<Vec<u8>>, String> {
            Ok(s.get(&format!("log/{path}"), max as u64)
                .unwrap()
                .map(|o| o.bytes))
        },
        head.size,
    );
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let root = docseal::tlog::check_all(&mut tiles, 2048, &mut |i, e| {
        assert_eq!(i, lines.len() as u64);
        lines.push(e.to_vec());
    })
    .unwrap();
    assert_eq!(root, head.root, "the tiles do not give the head's root");
    let entries: Vec<Entry> = lines.iter().map(|l| Entry::parse(l).unwrap()).collect();
    assert_eq!(
        &entries[seq.start as usize..],
        &seq.tail[..],
        "tail not tiled as sequenced"
    );
    let mut index = 0;
    for e in &entries {
        let want = index_bytes(e);
        let n = s
            .get(&name_index_path(&e.name), 4096)
            .unwrap()
            .map(|o| o.bytes);
        assert_eq!(n.as_ref(), Some(&want), "name index of entry {}", e.index);
        let c = content_index_path(&e.content_sha256).unwrap();
        let c = s.get(&c, 4096).unwrap().map(|o| o.bytes);
        assert_eq!(
            c.as_ref(),
            Some(&want),
            "content index of entry {}",
            e.index
        );
        index += 2;
        let b = s.get(&format!("bundles/{}", e.name), 1 << 30).unwrap();
        let b = b
            .unwrap_or_else(|| panic!("bundles/{} missing", e.name))
            .bytes;
        use sha2::Digest;
        assert_eq!(
            docseal::metadata::hex(&sha2::Sha256::digest(&b)),
            e.file_sha256
        );
    }
    let listed = objects_under(s, "log/index/");
    assert_eq!(listed.len(), index, "index objects that are no entry's");
    assert!(
        objects_under(s, "log/pending/").is_empty(),
        "pending copies left"
    );
    entries
}

/// The keys under `prefix`.
fn objects_under(s: &dyn Store, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let p = match s.list(prefix, after.as_deref(), 1000) {
            Ok(p) => p,
            Err(docseal::store::StoreError::NotFound { .. }) => return out,
            Err(e) => panic!("{e}"),
        };
        out.extend(p.items.iter().map(|i| i.key.clone()));
        match p.items.last() {
            Some(l) if p.more => after = Some(l.key.clone()),
            _ => return out,
        }
    }
}

/// Make `s3://docseal-add/PREFIX` an archive laid out as v2 (as made before v3): `bundles`
/// added to a local archive, whose files are then uploaded.
fn seed_v2(t: &T, prefix: &str, bundles: &[String]) -> String {
    let dir = t.env.path(&format!("v2-{prefix}"));
    t.add(dir.to_str().unwrap(), bundles, &[]).ok();
    let s = t.w.store("docseal-add", prefix);
    for (k, v) in objects(&docseal::store::LocalStore::new(&dir)) {
        s.put(&k, &v).unwrap();
    }
    assert!(s.size("log/entries").unwrap().is_some());
    format!("s3://docseal-add/{prefix}")
}

/// Whether `archive audit` reads archives laid out as v3 (the reader is built on another
/// branch, "v3read"; until it is merged, a v3 archive is checked by [`v3_layout`] alone).
const AUDIT_READS_V3: bool = true;

/// The archive at `loc` (in `prefix` of the test bucket) audits clean with `n` entries; a v3
/// archive's layout is also checked by [`v3_layout`].
fn audit_clean(t: &T, loc: &str, prefix: &str, n: usize) {
    let s = t.w.store("docseal-add", prefix);
    let v3 = s.size("log/sequence").unwrap().is_some();
    if v3 {
        assert_eq!(v3_layout(&s).len(), n);
        if !AUDIT_READS_V3 {
            return;
        }
    }
    let d = t.audit(loc);
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
    let j = d.json();
    assert_eq!(j["ok"], true, "{j}");
    assert_eq!(j["entries"], n, "{j}");
    assert!(codes(&j).is_empty(), "{j}");
}

fn codes(j: &serde_json::Value) -> Vec<String> {
    j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn base(b: &str) -> String {
    Path::new(b)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

fn wait_for(p: &Path) {
    let start = Instant::now();
    while !p.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{p:?} never came"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// 8 processes adding 50 distinct bundles each at once to `loc` (holding `before` entries):
/// every bundle logged once, the log audits clean, minisign checks the latest checkpoint.
fn eight_writers(t: &T, loc: &str, prefix: &str, all: &[String], before: usize) {
    let outs: Vec<Done> = std::thread::scope(|sc| {
        let hs: Vec<_> = all
            .chunks(50)
            .map(|chunk| sc.spawn(|| t.add(loc, chunk, &["--json", "--wait", "600"]).run()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut conflicts = 0;
    for d in &outs {
        assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
        let j = d.json();
        assert_eq!(j["entries"].as_array().unwrap().len(), 50, "{j}");
        conflicts += j["conflicts"].as_u64().unwrap();
    }
    eprintln!("{loc}: 8 writers x 50 bundles: {conflicts} conflicts retried in all");
    let s = t.w.store("docseal-add", prefix);
    let names = logged(&s);
    let n = before + 400;
    assert_eq!(names.len(), n);
    let unique: BTreeSet<&String> = names[before..].iter().collect();
    assert_eq!(unique.len(), 400, "a bundle logged twice");
    let want: BTreeSet<String> = all.iter().map(|b| base(b)).collect();
    assert_eq!(unique.into_iter().cloned().collect::<BTreeSet<_>>(), want);
    audit_clean(t, loc, prefix, n);
    assert!(
        s.list("log/pending/", None, 10).unwrap().items.is_empty(),
        "pending copies left"
    );
    // minisign checks the latest checkpoint, by its own code.
    if require_tool("minisign") {
        let cp = s
            .get(&format!("log/checkpoints/{n}"), 4096)
            .unwrap()
            .unwrap()
            .bytes;
        let sig = s
            .get(&format!("log/checkpoints/{n}.minisig"), 4096)
            .unwrap()
            .unwrap()
            .bytes;
        std::fs::write(t.env.path("cp"), cp).unwrap();
        std::fs::write(t.env.path("cp.minisig"), sig).unwrap();
        let o = std::process::Command::new("minisign")
            .arg("-Vm")
            .arg(t.env.path("cp"))
            .arg("-p")
            .arg(&t.public)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
    }
}

/// On an archive laid out as v2 (made before v3): still sequenced on `log/entries`.
#[test]
fn issue17_eight_concurrent_adds_on_s3_log_each_bundle_once() {
    let Some(t) = T::start() else { return };
    let all = t.bundles("c", 400);
    let seed = t.bundles("seed", 1);
    let loc = seed_v2(&t, "many", &seed);
    eight_writers(&t, &loc, "many", &all, 1);
    let s = t.w.store("docseal-add", "many");
    assert!(
        s.size("log/sequence").unwrap().is_none(),
        "a v2 archive became v3"
    );
}

#[test]
fn issue17_v3_eight_concurrent_adds_each_bundle_once() {
    let Some(t) = T::start() else { return };
    let all = t.bundles("c", 400);
    eight_writers(&t, "s3://docseal-add/many3", "many3", &all, 0);
}

#[test]
fn issue17_s3_conflict_during_add_is_retried() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("r", 3);
    let loc = "s3://docseal-add/race";
    t.add(loc, &b[..1], &[]).ok();
    // A reads log/entries, then waits; B adds meanwhile; A's If-Match then fails.
    let gate = t.env.path("gate");
    let a = {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_docseal"));
        c.current_dir(t.env.path(""))
            .args(["archive", "add", loc, &b[1], "--json", "--key"])
            .arg(&t.key)
            .env("DOCSEAL_TEST_S3_ADD_PAUSE", &gate)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in t.w.env() {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    wait_for(&t.env.path("gate.waiting"));
    let d = t.add(loc, &b[2..3], &["--json"]).ok();
    assert_eq!(d.json()["conflicts"], 0);
    std::fs::write(&gate, b"").unwrap();
    let o = a.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(j["conflicts"].as_u64().unwrap() >= 1, "{j}");
    assert_eq!(j["entries"][0]["index"], 2, "{j}");
    let s = t.w.store("docseal-add", "race");
    assert_eq!(logged(&s), vec![base(&b[0]), base(&b[2]), base(&b[1])]);
    audit_clean(&t, loc, "race", 3);
}

/// Found by the full test run: two adds of the same bundle, where one found the pending copy
/// there (put_new refused) and, reading it back, found it gone (the other had logged it and
/// moved it into bundles/): "holds another file", exit 2. Made certain here with the pause
/// hook between the two steps.
#[test]
fn issue17_pending_copy_gone_between_two_reads_is_a_lost_race_not_an_error() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("g", 1);
    let loc = "s3://docseal-add/gone";
    // A dies after uploading its pending copy.
    let d = t
        .add(loc, &b, &[])
        .env("DOCSEAL_TEST_ARCHIVE_CRASH", "store-pending")
        .run();
    assert_ne!(d.code(), 0, "the hook did not fire");
    // B finds the copy there, then waits before reading it back.
    let gate = t.env.path("gate");
    let waiting = {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_docseal"));
        c.current_dir(t.env.path(""))
            .args(["archive", "add", loc, &b[0], "--json", "--key"])
            .arg(&t.key)
            .env("DOCSEAL_TEST_S3_ADD_PAUSE", &gate)
            .env("DOCSEAL_TEST_S3_ADD_PAUSE_AT", "pending-exists")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in t.w.env() {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    wait_for(&t.env.path("gate.waiting"));
    // C logs it meanwhile, moving the pending copy into bundles/.
    let d = t.add(loc, &b, &["--json"]).ok();
    assert_eq!(d.json()["entries"].as_array().unwrap().len(), 1);
    std::fs::write(&gate, b"").unwrap();
    let o = waiting.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["entries"].as_array().map(Vec::len), Some(0), "{j}");
    assert_eq!(j["already"].as_array().map(Vec::len), Some(1), "{j}");
    let s = t.w.store("docseal-add", "gone");
    assert_eq!(logged(&s), vec![base(&b[0])]);
    audit_clean(&t, loc, "gone", 1);
}

#[test]
fn issue17_same_bundle_added_by_two_processes_at_once_is_logged_once() {
    let Some(t) = T::start() else { return };
    // Six fresh bundles, each added by two processes at once (a race that once failed: the
    // loser found the winner's pending copy, then found it gone), then the last one again.
    let b = t.bundles("s", 6);
    let loc = "s3://docseal-add/same";
    for round in 0..7 {
        let one = vec![b[round.min(5)].clone()];
        let outs: Vec<Done> = std::thread::scope(|sc| {
            let hs: Vec<_> = (0..2)
                .map(|_| sc.spawn(|| t.add(loc, &one, &["--json"]).run()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for d in &outs {
            assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
        }
        let n: usize = outs
            .iter()
            .map(|d| d.json()["entries"].as_array().unwrap().len())
            .sum();
        // The first time one of the two logs it; after that, both find it there.
        assert_eq!(n, usize::from(round < 6), "round {round}");
    }
    let s = t.w.store("docseal-add", "same");
    assert_eq!(logged(&s), b.iter().map(|x| base(x)).collect::<Vec<_>>());
    audit_clean(&t, loc, "same", 6);
    // Text output says so.
    let d = t.add(loc, &b[..1], &[]).ok();
    assert!(
        d.stdout().contains("already in the archive as entry 0"),
        "{}",
        d.stdout()
    );
}

/// A writer killed at each step of an add on `layout` ("v2": an archive made before v3,
/// "v3"), then another add completes everything.
fn killed_at_each_step(t: &T, layout: &str, steps: &[&str]) {
    let b = t.bundles(&format!("k{layout}-"), 3 * steps.len());
    for (i, step) in steps.iter().enumerate() {
        let prefix = format!("kill{layout}-{i}");
        let (b0, b1, b2) = (&b[3 * i], &b[3 * i + 1], &b[3 * i + 2]);
        let loc = if layout == "v2" {
            seed_v2(t, &prefix, std::slice::from_ref(b0))
        } else {
            let loc = format!("s3://docseal-add/{prefix}");
            t.add(&loc, std::slice::from_ref(b0), &[]).ok();
            loc
        };
        let d = t
            .add(&loc, std::slice::from_ref(b1), &[])
            .env("DOCSEAL_TEST_ARCHIVE_CRASH", step)
            .run();
        assert_ne!(d.code(), 0, "{step}: the hook did not fire");
        let s = t.w.store("docseal-add", &prefix);
        if layout == "v3" && *step != "store-pending" {
            // The dead writer's entry is sequenced: the tail of log/sequence.
            let seq = s.get("log/sequence", 1 << 20).unwrap().unwrap().bytes;
            let seq = docseal::archive::v3::Sequence::parse(&seq).unwrap();
            assert_eq!((seq.start, seq.tail.len()), (1, 1), "{step}");
            assert_eq!(seq.tail[0].name, base(b1), "{step}");
        }
        if layout == "v2" || AUDIT_READS_V3 {
            let j = t.audit(&loc);
            assert_eq!(j.code(), 0, "{step}: {}{}", j.stdout(), j.stderr());
            let j = j.json();
            if *step == "store-published" || *step == "store-signed" {
                // The head is checkpoint 2, its files are not written yet (store-signed: only
                // its signature `2.minisig`).
                assert!(codes(&j).contains(&"log.interrupted".to_string()), "{j}");
                // The same head signed by a key not trusted is no interrupted add: forged.
                let good = s.get("log/checkpoint", 1 << 15).unwrap().unwrap().bytes;
                let cp = head_of(&s);
                let other = docseal::minisign::SecretKey::generate();
                let forged = docseal::archive::tiles::checkpoint_note(&cp, &other, &[]).unwrap();
                s.put("log/checkpoint", &forged).unwrap();
                let d = t.audit(&loc);
                assert_eq!(d.code(), 1, "{}", d.stdout());
                assert!(
                    codes(&d.json()).contains(&"log.checkpoint_invalid".to_string()),
                    "{}",
                    d.stdout()
                );
                s.put("log/checkpoint", &good).unwrap();
            }
        }
        // Another add (of the dead one's bundle and a new one) completes everything.
        let d = t.add(&loc, &[b1.clone(), b2.clone()], &["--json"]).ok();
        let j2 = d.json();
        assert_eq!(j2["layout"], layout, "{j2}");
        let logged_now = j2["entries"].as_array().unwrap().len();
        let expect_new = if *step == "store-pending" { 2 } else { 1 };
        assert_eq!(logged_now, expect_new, "{step}: {j2}");
        assert_eq!(logged(&s), vec![base(b0), base(b1), base(b2)], "{step}");
        audit_clean(t, &loc, &prefix, 3);
        assert!(s.list("log/pending/", None, 10).unwrap().items.is_empty());
    }
}

#[test]
fn issue17_s3_writer_killed_at_each_step_then_an_add_completes() {
    let Some(t) = T::start() else { return };
    let steps = [
        "store-pending",
        "store-appended",
        "store-tiled",
        "store-published",
        "store-signed",
    ];
    killed_at_each_step(&t, "v2", &steps);
}

#[test]
fn issue17_v3_writer_killed_at_each_step_then_an_add_completes() {
    let Some(t) = T::start() else { return };
    let steps = [
        "store-pending",
        "store-appended",
        "store-tiled",
        "store-indexed",
        "store-published",
        "store-signed",
    ];
    killed_at_each_step(&t, "v3", &steps);
}

#[test]
fn issue17_s3_server_killed_mid_add_then_retry_completes() {
    let Some(mut t) = T::start() else { return };
    let b = t.bundles("z", 12);
    let loc = "s3://docseal-add/down";
    t.add(loc, &b[..2], &[]).ok();
    // The server dies while an add is between reading the log and writing: the add fails
    // clearly (exit 4: storage unavailable) or, with the server back in time, completes.
    let gate = t.env.path("gate");
    let (wenv, dir, key) = (t.w.env(), t.env.path(""), t.key.clone());
    let spawn = |bundles: &[String], gate: &Path| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_docseal"));
        c.current_dir(&dir)
            .args(["archive", "add", loc])
            .args(bundles)
            .arg("--key")
            .arg(&key)
            .env("DOCSEAL_TEST_S3_ADD_PAUSE", gate)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in &wenv {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    let a = spawn(&b[2..7], &gate);
    wait_for(&t.env.path("gate.waiting"));
    t.w.kill();
    std::fs::write(&gate, b"").unwrap();
    let o = a.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("storage unavailable"), "{err}");
    assert!(!err.contains(weed::SECRET_KEY) && !err.contains(weed::ACCESS_KEY));
    t.w.restart();
    // Killed again, later: while the add uploads and appends; back after a moment.
    let gate2 = t.env.path("gate2");
    let a = spawn(&b[7..12], &gate2);
    wait_for(&t.env.path("gate2.waiting"));
    std::fs::write(&gate2, b"").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    t.w.kill();
    std::thread::sleep(Duration::from_millis(500));
    t.w.restart();
    let o = a.wait_with_output().unwrap();
    let code = o.status.code();
    assert!(
        code == Some(0) || code == Some(4),
        "{code:?} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The same adds again complete; nothing lost, nothing twice.
    t.add(loc, &b[2..7], &[]).ok();
    t.add(loc, &b[7..12], &[]).ok();
    let s = t.w.store("docseal-add", "down");
    let names = logged(&s);
    let want: BTreeSet<String> = b.iter().map(|x| base(x)).collect();
    assert_eq!(names.len(), 12, "{names:?}");
    assert_eq!(names.iter().cloned().collect::<BTreeSet<_>>(), want);
    audit_clean(&t, loc, "down", 12);
}

/// The same adds on a local archive, on a v2 archive in a bucket (made from the local one
/// after its first add) and on a new (v3) archive in a bucket: the v2 one holds the local
/// bytes exactly; the v3 one too, but for `log/entries` (it has `log/sequence` and the index
/// instead).
#[test]
fn issue17_local_and_s3_adds_write_the_same_bytes() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("e", 300);
    let steps: Vec<(&[String], &str)> = vec![
        (&b[..2], "2026-11-28T00:00:00Z"),
        (&b[2..3], "2026-11-28T01:00:00Z"),
        (&b[3..260], "2026-11-29T00:00:00Z"),
        (&b[260..300], "2026-11-30T00:00:00Z"),
    ];
    let local_store = docseal::store::LocalStore::new(&t.env.path("arch"));
    let v2 = t.w.store("docseal-add", "eq");
    for (k, (bundles, time)) in steps.iter().enumerate() {
        t.add("arch", bundles, &["--time", time]).ok();
        if k == 0 {
            for (k, v) in objects(&local_store) {
                v2.put(&k, &v).unwrap();
            }
        } else {
            t.add("s3://docseal-add/eq", bundles, &["--time", time])
                .ok();
        }
        t.add("s3://docseal-add/eq3", bundles, &["--time", time])
            .ok();
    }
    let local = objects(&local_store);
    let keys = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<BTreeSet<_>>();
    let remote = objects(&v2);
    assert_eq!(keys(&remote), keys(&local));
    for (k, v) in &local {
        assert!(remote[k] == *v, "{k} differs");
    }
    assert!(local.contains_key("log/checkpoint") && local.contains_key("log/tile/0/000"));
    assert!(local.contains_key("log/checkpoints/300.minisig"));
    let s3 = t.w.store("docseal-add", "eq3");
    assert_eq!(v3_layout(&s3).len(), 300);
    let mut v3 = objects(&s3);
    assert!(v3.remove("log/sequence").is_some());
    v3.retain(|k, _| !k.starts_with("log/index/"));
    let mut local = local;
    assert!(local.remove("log/entries").is_some());
    assert_eq!(keys(&v3), keys(&local));
    for (k, v) in &local {
        assert!(v3[k] == *v, "{k} differs");
    }
}

#[test]
fn issue17_s3_tampered_log_or_tiles_add_refuses_and_writes_nothing() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("h", 4);
    let loc = &seed_v2(&t, "hostile", &b[..2]);
    t.add(loc, &b[2..3], &[]).ok();
    let s = t.w.store("docseal-add", "hostile");
    let clean = objects(&s);
    let entries = clean["log/entries"].clone();
    let text = String::from_utf8(entries.clone()).unwrap();
    let line1 = text.lines().nth(1).unwrap().to_string();
    // A digest changed in a line; the last line cut off; a line cut in half.
    let mut changed = line1.clone();
    let at = changed.find(' ').unwrap() + 1;
    let c = if &changed[at..at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    changed.replace_range(at..at + 1, c);
    let cut = text
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    let torn = &text[..text.len() - 10];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "log/entries",
            text.replace(&line1, &changed).into_bytes(),
            "does not give the root",
        ),
        ("log/entries", cut.into_bytes(), "fewer than"),
        ("log/entries", torn.as_bytes().to_vec(), "complete line"),
        ("log/tile/0/000.p/3", vec![7u8; 96], "tiles"),
    ];
    for (key, bytes, says) in cases {
        s.put(key, &bytes).unwrap();
        let before = objects(&s);
        let d = t.add(loc, &b[3..4], &[]).run();
        assert_eq!(d.code(), 2, "{key}: {}{}", d.stdout(), d.stderr());
        assert!(d.stderr().contains(says), "{key}: {}", d.stderr());
        assert!(d.stderr().contains("archive audit"), "{}", d.stderr());
        assert_eq!(d.stderr().trim().lines().count(), 1, "{}", d.stderr());
        assert!(objects(&s) == before, "{key}: something was written");
        s.put(key, &clean[key]).unwrap();
    }
    // The same content under another name; a name whose pending copy holds another file.
    std::fs::copy(t.env.path(&b[1]), t.env.path("b/other.zip")).unwrap();
    let d = t.add(loc, &["b/other.zip".to_string()], &[]).run();
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(
        d.stderr().contains("already in the archive: entry 1"),
        "{}",
        d.stderr()
    );
    s.put("log/pending/h3.zip", b"not this bundle").unwrap();
    let before = objects(&s);
    let d = t.add(loc, &b[3..4], &[]).run();
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.stderr().contains("holds another file"), "{}", d.stderr());
    assert!(objects(&s) == before, "something was written");
    s.delete("log/pending/h3.zip").unwrap();
    // A tile the add would write, there with other bytes: refused, never overwritten.
    s.put("log/tile/0/000.p/4", &[9u8; 128]).unwrap();
    let d = t.add(loc, &b[3..4], &[]).run();
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.stderr().contains("never overwritten"), "{}", d.stderr());
    assert_eq!(
        s.get("log/tile/0/000.p/4", 1000).unwrap().unwrap().bytes,
        vec![9u8; 128]
    );
}

/// The faithful entry line of `bundle` (as a local add logs it), at `index`, named `name`,
/// with `edit` applied to its fields.
fn line_of(
    t: &T,
    bundle: &str,
    index: usize,
    name: &str,
    edit: impl Fn(&mut Vec<String>),
) -> String {
    let dir = t.env.path(&format!("scratch-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    t.cmd()
        .args(["archive", "add"])
        .arg(&dir)
        .arg(bundle)
        .arg("--key")
        .arg(&t.key)
        .ok();
    let text = std::fs::read_to_string(dir.join("log/entries")).unwrap();
    let mut f: Vec<String> = text
        .lines()
        .next()
        .unwrap()
        .splitn(6, ' ')
        .map(String::from)
        .collect();
    f[0] = index.to_string();
    f[5] = name.to_string();
    edit(&mut f);
    f.join(" ")
}

/// Someone with write access to the bucket but not the archive key appends an entry line and
/// its pending copy: an honest add must check that entry (file, every check but trust, content,
/// id, link, names and contents unique) as the local add does, and refuse to sign it.
#[test]
fn attack_s3_planted_entry_is_never_signed() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("p", 3);
    std::fs::write(t.env.path("garbage.zip"), b"not a bundle").unwrap();
    let garbage = {
        use sha2::Digest;
        let d = |x: &[u8]| docseal::metadata::hex(&sha2::Sha256::digest(x));
        format!(
            "1 {} {} urn:docseal:{} - evil.zip",
            d(b"fake content"),
            d(b"not a bundle"),
            "ab".repeat(16)
        )
    };
    let zero = |f: &mut Vec<String>| f[3] = format!("urn:docseal:{}", "0".repeat(32));
    let cases: Vec<(&str, String, String, &str, usize)> = vec![
        ("garbage", garbage, "garbage.zip".into(), "zip.not_zip", 1),
        (
            "case",
            line_of(&t, &b[0], 1, "P0.zip", |_| {}),
            b[0].clone(),
            "entries 0 and 1",
            1,
        ),
        (
            "fakeid",
            line_of(&t, &b[1], 1, "q1.zip", zero),
            b[1].clone(),
            "content or id is not the one logged",
            2,
        ),
        (
            "ownname",
            line_of(&t, &b[2], 1, "p2.zip", zero),
            b[2].clone(),
            "already has a bundle named",
            2,
        ),
    ];
    for (case, line, file, says, give) in cases {
        let loc = seed_v2(&t, &format!("planted-{case}"), &b[..1]);
        let s = t.w.store("docseal-add", &format!("planted-{case}"));
        let name = line.rsplit(' ').next().unwrap().to_string();
        let mut e = s.get("log/entries", 1 << 20).unwrap().unwrap().bytes;
        e.extend_from_slice(format!("{line}\n").as_bytes());
        s.put(
            &format!("log/pending/{name}"),
            &std::fs::read(t.env.path(&file)).unwrap(),
        )
        .unwrap();
        s.put("log/entries", &e).unwrap();
        let head = s.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes;
        let d = t.add(&loc, &b[give..give + 1], &[]).run();
        assert_eq!(d.code(), 2, "{case}: {}{}", d.stdout(), d.stderr());
        assert!(d.stderr().contains(says), "{case}: {}", d.stderr());
        assert_eq!(
            s.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes,
            head,
            "{case}: a checkpoint was signed over the planted entry"
        );
        assert!(
            s.get("log/checkpoints/2", 1 << 20).unwrap().is_none(),
            "{case}"
        );
    }
}

/// Someone with write access to the bucket but not the key removes `log/checkpoint`, or puts
/// back an older one (validly signed) with the log as it was then and other entries after it:
/// an honest add must not sign a checkpoint that forks the log (two checkpoints by the same
/// key that are not consistent), as the local add, which reads log/checkpoints/, never does.
#[test]
fn attack_s3_head_removed_or_rolled_back_is_never_signed() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("r", 5);
    for case in ["removed", "rolled-back"] {
        let loc = seed_v2(&t, &format!("head-{case}"), &b[..2]);
        let s = t.w.store("docseal-add", &format!("head-{case}"));
        let old_head = s.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes;
        let old_entries = s.get("log/entries", 1 << 20).unwrap().unwrap().bytes;
        t.add(&loc, &b[2..3], &[]).ok();
        if case == "removed" {
            s.delete("log/checkpoint").unwrap();
        } else {
            // The fork: entry 2 is another (intact) bundle.
            let line = line_of(&t, &b[3], 2, "r3.zip", |_| {});
            let mut e = old_entries.clone();
            e.extend_from_slice(format!("{line}\n").as_bytes());
            s.put(
                "log/pending/r3.zip",
                &std::fs::read(t.env.path(&b[3])).unwrap(),
            )
            .unwrap();
            s.put("log/entries", &e).unwrap();
            s.put("log/checkpoint", &old_head).unwrap();
        }
        let d = t.add(&loc, &b[4..5], &[]).run();
        assert_eq!(d.code(), 2, "{case}: {}{}", d.stdout(), d.stderr());
        assert!(
            d.stderr().contains("log/checkpoint"),
            "{case}: {}",
            d.stderr()
        );
        assert!(
            d.stderr().contains("archive audit"),
            "{case}: {}",
            d.stderr()
        );
        assert!(
            s.get("log/checkpoints/4", 1 << 20).unwrap().is_none(),
            "{case}: a checkpoint was signed after a removed or older head"
        );
        let head = s.get("log/checkpoint", 1 << 20).unwrap().map(|o| o.bytes);
        match case {
            "removed" => assert!(head.is_none(), "a head was published"),
            _ => assert_eq!(head.unwrap(), old_head, "a head was published"),
        }
    }
}

/// An object planted in bundles/ under the name an add will use (no entry logs it): the add is
/// refused before anything is logged, as locally; else its entry could never be completed and
/// every later add would fail after logging its own.
#[test]
fn attack_s3_unlisted_bundle_is_refused_before_logging() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("u", 3);
    let loc = "s3://docseal-add/squatted";
    let s = t.w.store("docseal-add", "squatted");
    t.add(loc, &b[..1], &[]).ok();
    s.put("bundles/u1.zip", b"squatter").unwrap();
    let sequence = s.get("log/sequence", 1 << 20).unwrap().unwrap().bytes;
    let d = t.add(loc, &b[1..2], &[]).run();
    assert_eq!(d.code(), 2, "{}{}", d.stdout(), d.stderr());
    assert!(
        d.stderr()
            .contains("exists in the archive but not in its log"),
        "{}",
        d.stderr()
    );
    assert_eq!(
        s.get("log/sequence", 1 << 20).unwrap().unwrap().bytes,
        sequence,
        "logged"
    );
    assert!(s.get("log/pending/u1.zip", 1 << 20).unwrap().is_none());
    // Other bundles are added as before.
    t.add(loc, &b[2..3], &[]).ok();
}

/// An error of `verify --archive s3://...` names the archive's location, never the private
/// copy it is read through (a temporary directory).
#[test]
fn attack_s3_archive_errors_name_the_bucket_not_the_copy() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("m", 1);
    let loc = "s3://docseal-add/mirror";
    t.add(loc, &b, &[]).ok();
    // The key is trusted for bundles only, not as an archive key: no checkpoint counts.
    let d = t
        .cmd()
        .arg("verify")
        .arg(&b[0])
        .arg("--trust")
        .arg(&t.public)
        .args(["--archive", loc])
        .run();
    assert_eq!(d.code(), 2, "{}{}", d.stdout(), d.stderr());
    assert!(d.stderr().contains(loc), "{}", d.stderr());
    assert!(!d.stderr().contains("docseal-s3-archive"), "{}", d.stderr());
}

/// Someone with write access to the bucket replaces an entry right after an add appended it;
/// an honest add then signs that log. The first add must not report its bundle archived
/// ("published by another writer") when the checkpoint that covers its index signs another
/// entry there.
#[test]
fn attack_s3_entries_replaced_after_append_are_not_reported_archived() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("v", 23);
    let loc = &seed_v2(&t, "replaced", &b[..1]);
    let s = t.w.store("docseal-add", "replaced");
    let a = {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_docseal"));
        c.current_dir(t.env.path(""))
            .args(["archive", "add", loc])
            .args(&b[1..21])
            .arg("--key")
            .arg(&t.key)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in t.w.env() {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    let signal = |sig: &str| {
        let st = std::process::Command::new("kill")
            .arg(sig)
            .arg(a.id().to_string())
            .status()
            .unwrap();
        assert!(st.success());
    };
    // A has appended its 20 entries: stop it there.
    let start = Instant::now();
    let entries = loop {
        let e = s.get("log/entries", 1 << 20).unwrap().unwrap().bytes;
        if e.iter().filter(|&&c| c == b'\n').count() == 21 {
            signal("-STOP");
            break e;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "A never appended"
        );
    };
    let mut lines: Vec<String> = String::from_utf8(entries)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[20] = line_of(&t, &b[21], 20, "w.zip", |_| {});
    s.put(
        "log/pending/w.zip",
        &std::fs::read(t.env.path(&b[21])).unwrap(),
    )
    .unwrap();
    s.put("log/entries", format!("{}\n", lines.join("\n")).as_bytes())
        .unwrap();
    // B signs the log with w.zip at entry 20 if A was stopped before writing its tiles; if A
    // had written them (the stop lands a moment after the append is seen), B finds A's entry
    // bundle past the head holding other entries than the log and refuses the log as
    // tampered with. Either way A must not report its bundles archived.
    let bd = t.add(loc, &b[22..23], &[]).run();
    signal("-CONT");
    let o = a.wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    if bd.code() == 0 {
        // A finds its entries replaced: by the checkpoint B published, or (checked first now)
        // by B's entry bundle past the head, which holds other entries than A appended.
        assert!(
            err.contains("does not sign the entries this add logged")
                || err.contains("rolled back, or the tiles tampered with"),
            "{err}"
        );
    } else {
        assert_eq!(bd.code(), 2, "{}", bd.stderr());
        assert!(
            bd.stderr()
                .contains("rolled back, or the tiles tampered with"),
            "{}",
            bd.stderr()
        );
    }
}

/// The point of v3: an add on a bucket reads and writes the same requests and about the same
/// bytes at a log of 300 entries and at one of 65,836 (219 times larger; the same place in a
/// tile, 44 entries into an entry bundle, so only the tree's height differs), where v2 moved
/// `log/entries` whole (about 200 bytes an entry, twice).
#[test]
fn issue17_v3_add_cost_does_not_grow_with_the_log() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("cost", 2);
    let key = common::secret_key(&t.key);
    let mut figures = Vec::new();
    for n in [300u64, 256 * 257 + 44] {
        let prefix = format!("cost{n}");
        let s = t.w.store("docseal-add", &prefix);
        common::synthetic::synthetic_v3_store(&s, &key, n);
        // Two adds of one bundle each: the second is measured (the first completes nothing
        // more, but warms nothing either: each add is a separate process in real use).
        let c = store_hooks::counting(&s);
        let add = |bundle: &str| {
            docseal::archive::store_add::add_to_store(
                &c,
                &[t.env.path(bundle)],
                &key,
                None,
                &docseal::Limits::default(),
                Duration::from_secs(60),
            )
            .unwrap()
        };
        let r = add(&b[0]);
        assert_eq!(r.layout, "v3");
        assert_eq!(r.entries[0].index, n);
        let first = c.hooks.total();
        let r = add(&b[1]);
        assert_eq!(r.entries[0].index, n + 1);
        let total = c.hooks.total();
        let second = (total.0 - first.0, total.1 - first.1);
        eprintln!(
            "log of {n} entries: first add {} requests {} bytes, second add {} requests {} bytes (bundles of {} and {} bytes, each uploaded twice); both: {:?}",
            first.0,
            first.1,
            second.0,
            second.1,
            std::fs::metadata(t.env.path(&b[0])).unwrap().len(),
            std::fs::metadata(t.env.path(&b[1])).unwrap().len(),
            c.hooks.by_kind()
        );
        figures.push((n, first, second));
    }
    let (small, large) = (&figures[0], &figures[1]);
    for (a, b) in [(small.1, large.1), (small.2, large.2)] {
        // What may differ: one more tile level, its partial (one-hash, 32-byte) tile read
        // three times (the head's tiles checked before sequencing, then when completing, the
        // head's root checked and the tree extended); and the entries' index, two
        // decimal digits longer in every line moved: the partial entry bundle read and
        // rewritten (at most 46 lines each way here), the add's own line in log/sequence and
        // its two index objects, the sizes in the checkpoint's files. At this size v2 moved
        // log/entries whole: about 2 x 13 MB.
        let digits = 2;
        assert!(b.0 <= a.0 + 3, "requests grew: {a:?} -> {b:?}");
        let lines = 3 * 46 + 2 * 3;
        assert!(
            b.1 <= a.1 + 3 * 32 + digits * (lines + 8),
            "bytes grew: {a:?} -> {b:?}"
        );
    }
}

/// A v3 archive whose sequence, index, tiles or head were tampered with by someone with write
/// access to the bucket but not the key: an add refuses (exit 2, one line naming the object,
/// pointing to the audit) and writes nothing.
#[test]
fn issue17_v3_tampered_sequence_index_or_tiles_add_refuses_and_writes_nothing() {
    use docseal::archive::v3::Sequence;
    use docseal::archive::v3::{content_index_path, index_bytes, name_index_path, parse_index};
    let Some(t) = T::start() else { return };
    let b = t.bundles("t", 4);
    let loc = "s3://docseal-add/hostile3";
    t.add(loc, &b[..2], &[]).ok();
    let s = t.w.store("docseal-add", "hostile3");
    let old_head = s.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes;
    t.add(loc, &b[2..3], &[]).ok();
    let e1 = s
        .get(&name_index_path("t1.zip"), 4096)
        .unwrap()
        .unwrap()
        .bytes;
    let e1 = parse_index(&e1).unwrap();
    let e2 = s
        .get(&name_index_path("t2.zip"), 4096)
        .unwrap()
        .unwrap()
        .bytes;
    let e2 = parse_index(&e2).unwrap();
    // t3.zip's entry, as an add would log it.
    let e3 =
        docseal::archive::Entry::parse(line_of(&t, &b[3], 3, "t3.zip", |_| {}).as_bytes()).unwrap();
    let seq = |start: u64, tail: Vec<docseal::archive::Entry>| Sequence { start, tail }.to_bytes();
    let renamed = |e: &docseal::archive::Entry, index: u64, name: &str| {
        let mut e = e.clone();
        e.index = index;
        e.name = name.into();
        e
    };
    // (objects planted: key, bytes), what the refusal says.
    type Case<'a> = (Vec<(String, Vec<u8>)>, &'a str);
    let mut cases: Vec<Case> = vec![
        (
            vec![(
                name_index_path("t3.zip"),
                index_bytes(&renamed(&e1, 1, "t3.zip")),
            )],
            "is not entry 1 of the log",
        ),
        (
            vec![(name_index_path("t3.zip"), index_bytes(&e1))],
            "not an entry named t3.zip",
        ),
        (
            vec![(
                name_index_path("t3.zip"),
                index_bytes(&renamed(&e1, 9, "t3.zip")),
            )],
            "claims an entry not logged",
        ),
        (
            vec![
                (
                    "log/sequence".into(),
                    seq(3, vec![renamed(&e2, 3, "t0.zip")]),
                ),
                (
                    "log/pending/t0.zip".into(),
                    std::fs::read(t.env.path(&b[2])).unwrap(),
                ),
            ],
            "holds entry 0 (t0.zip)",
        ),
        (
            vec![("log/sequence".into(), seq(5, vec![]))],
            "starts at entry 5 but the latest checkpoint signs 3",
        ),
        (
            vec![("log/sequence".into(), seq(2, vec![]))],
            "up to 2 entries but the latest checkpoint signs 3",
        ),
        (
            vec![(
                "log/sequence".into(),
                b"docseal-sequence v4\nstart 3\n".to_vec(),
            )],
            "log/sequence",
        ),
        (vec![("log/tile/0/000.p/3".into(), vec![7u8; 96])], "tiles"),
        (
            vec![("log/checkpoint".into(), old_head.clone())],
            "replaced by an older checkpoint",
        ),
    ];
    cases.push((
        vec![(
            content_index_path(&e3.content_sha256).unwrap(),
            index_bytes(&e1),
        )],
        "of another content",
    ));
    let clean = objects(&s);
    for (objs, says) in cases {
        for (k, v) in &objs {
            s.put(k, v).unwrap();
        }
        let before = objects(&s);
        let d = t.add(loc, &b[3..4], &[]).run();
        assert_eq!(d.code(), 2, "{says}: {}{}", d.stdout(), d.stderr());
        assert!(d.stderr().contains(says), "{says}: {}", d.stderr());
        assert!(d.stderr().contains("archive audit"), "{}", d.stderr());
        assert_eq!(d.stderr().trim().lines().count(), 1, "{}", d.stderr());
        assert!(objects(&s) == before, "{says}: something was written");
        for (k, _) in &objs {
            match clean.get(k) {
                Some(v) => drop(s.put(k, v).unwrap()),
                None => s.delete(k).unwrap(),
            }
        }
        assert!(objects(&s) == clean);
    }
    // The head removed: refused, nothing published.
    s.delete("log/checkpoint").unwrap();
    let d = t.add(loc, &b[3..4], &[]).run();
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.stderr().contains("log/checkpoint"), "{}", d.stderr());
    assert!(s.get("log/checkpoint", 1 << 20).unwrap().is_none());
    s.put("log/checkpoint", &clean["log/checkpoint"]).unwrap();
    // Untouched again: the add goes through.
    t.add(loc, &b[3..4], &[]).ok();
    audit_clean(&t, loc, "hostile3", 4);
}

/// v3: someone with write access to the bucket replaces the tail of `log/sequence` right after
/// an add sequenced its entry; another add completes that tail and its own. The first add must
/// not report its bundle archived: the checkpoint past its tail signs another entry there.
#[test]
fn attack_s3_v3_tail_replaced_after_sequencing_is_not_reported_archived() {
    use docseal::archive::v3::Sequence;
    let Some(t) = T::start() else { return };
    let b = t.bundles("y", 4);
    let loc = "s3://docseal-add/replaced3";
    let s = t.w.store("docseal-add", "replaced3");
    t.add(loc, &b[..1], &[]).ok();
    let gate = t.env.path("gate");
    let a = {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_docseal"));
        c.current_dir(t.env.path(""))
            .args(["archive", "add", loc, &b[1], "--key"])
            .arg(&t.key)
            .env("DOCSEAL_TEST_S3_ADD_PAUSE", &gate)
            .env("DOCSEAL_TEST_S3_ADD_PAUSE_AT", "sequenced")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in t.w.env() {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    wait_for(&t.env.path("gate.waiting"));
    let w =
        docseal::archive::Entry::parse(line_of(&t, &b[2], 1, "w.zip", |_| {}).as_bytes()).unwrap();
    s.put(
        "log/pending/w.zip",
        &std::fs::read(t.env.path(&b[2])).unwrap(),
    )
    .unwrap();
    let forged = Sequence {
        start: 1,
        tail: vec![w],
    };
    s.put("log/sequence", &forged.to_bytes()).unwrap();
    // B signs the log with w.zip at entry 1, then its own at 2.
    t.add(loc, &b[3..4], &[]).ok();
    std::fs::write(&gate, b"").unwrap();
    let o = a.wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(err.contains("does not sign entry 1 (y1.zip)"), "{err}");
}

/// A local archive laid out as v3 (a copy of a bucket's): a local `archive add` refuses it,
/// exit 2, one line, nothing written (adds go to the bucket).
#[test]
fn issue17_v3_local_add_refuses_a_v3_directory() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("l", 2);
    t.add("s3://docseal-add/local3", &b[..1], &[]).ok();
    let dir = t.env.path("local3");
    let local = docseal::store::LocalStore::new(&dir);
    for (k, v) in objects(&t.w.store("docseal-add", "local3")) {
        local.put(&k, &v).unwrap();
    }
    let before = objects(&local);
    let d = t.add("local3", &b[1..2], &[]).run();
    assert_eq!(d.code(), 2, "{}{}", d.stdout(), d.stderr());
    assert_eq!(d.stderr().trim().lines().count(), 1, "{}", d.stderr());
    assert!(d.stderr().contains("archive log v3"), "{}", d.stderr());
    assert!(objects(&local) == before, "something was written");
}

/// Bundles sealed locally (no server needed): `b/<prefix><i>.zip` under `env`.
fn sealed_bundles(env: &Env, key: &Path, prefix: &str, count: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(env.path("art")).unwrap();
    let mut jobs = String::new();
    for i in 0..count {
        let art = env.path(&format!("art/{prefix}{i}.txt"));
        std::fs::write(&art, format!("Article {prefix} number {i}.\n")).unwrap();
        jobs.push_str(
            &serde_json::json!({"article": art, "url": "https://e.com/a",
                "title": format!("{prefix} {i}"), "publisher": "P",
                "published": "2018-09-11", "created": "2026-11-27T12:00:00Z",
                "out": format!("{prefix}{i}.zip")})
            .to_string(),
        );
        jobs.push('\n');
    }
    let jf = env.path(&format!("{prefix}.jsonl"));
    std::fs::write(&jf, jobs).unwrap();
    env.cmd()
        .args(["pack", "--batch"])
        .arg(&jf)
        .arg("--key")
        .arg(key)
        .args(["--out-dir", "b"])
        .ok();
    (0..count)
        .map(|i| env.path(&format!("b/{prefix}{i}.zip")))
        .collect()
}

/// A server that applies the first conditional replacement of `object` but answers as
/// if it had not: the response lost and the retried request refused with 412 (`fail`
/// false), or a failure that is not retried (`fail`): the ambiguous conditional write.
struct LostResponse {
    lied: std::sync::atomic::AtomicBool,
    fail: bool,
    /// The sequencing object lied about (`log/sequence`, or `log/entries` on v2).
    object: &'static str,
}

impl Hooks for LostResponse {
    fn put_if_match(
        &self,
        inner: &dyn Store,
        key: &str,
        bytes: &[u8],
        v: &docseal::store::Version,
    ) -> docseal::store::Result<docseal::store::PutIfMatch> {
        let r = inner.put_if_match(key, bytes, v)?;
        if key == self.object && !self.lied.swap(true, std::sync::atomic::Ordering::SeqCst) {
            if self.fail {
                return Err(docseal::store::StoreError::Unavailable {
                    what: key.into(),
                    detail: "connection reset".into(),
                    retryable: false,
                });
            }
            return Ok(docseal::store::PutIfMatch::Conflict);
        }
        Ok(r)
    }
}

/// An add whose replacement of `log/sequence` was applied but reported lost (an ambiguous
/// conditional write), with no time left to retry (`--wait 0`), must not delete the pending
/// copies of the entries it sequenced: else no writer can complete that tail (its bundles
/// are neither in log/pending/ nor in bundles/) and every later add is refused.
#[test]
fn attack_s3_v3_ambiguous_sequence_write_keeps_pending_copies() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "amb", 5);
    let dir = env.path("arch");
    std::fs::create_dir_all(&dir).unwrap();
    let local = docseal::store::LocalStore::new(&dir);
    let add = |s: &dyn Store, bundle: &Path, wait: Duration| {
        docseal::archive::store_add::add_to_store(
            s,
            &[bundle.to_path_buf()],
            &key,
            None,
            &docseal::Limits::default(),
            wait,
        )
    };
    let r = add(&local, &b[0], Duration::from_secs(60)).unwrap();
    assert_eq!(r.layout, "v3");
    for (k, fail) in [(1, false), (3, true)] {
        let lying = Hooked::new(
            &local,
            LostResponse {
                lied: false.into(),
                fail,
                object: "log/sequence",
            },
        );
        // The lying add: either it finds its own entry sequenced (and completes it), or it
        // fails; either way the archive stays usable and the bundle is not lost.
        let lied = add(&lying, &b[k], Duration::ZERO);
        let seq = local.get("log/sequence", 1 << 20).unwrap().unwrap().bytes;
        let name = format!("amb{k}.zip");
        assert!(String::from_utf8_lossy(&seq).contains(&name), "{lied:?}");
        let r = add(&local, &b[k + 1], Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("archive wedged after {lied:?}: {e}"));
        assert_eq!(r.entries[0].index, k as u64 + 1);
        assert!(local.size(&format!("bundles/{name}")).unwrap().is_some());
        assert!(local
            .size(&format!("log/pending/{name}"))
            .unwrap()
            .is_none());
    }
}

/// v2 (`log/entries` the sequencer): as `attack_s3_v3_ambiguous_sequence_write_keeps_pending_copies`.
#[test]
fn attack_s3_v2_ambiguous_entries_write_keeps_pending_copies() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "amb", 5);
    let dir = env.path("arch");
    // A local add makes a v2 archive (log/entries); the store adds keep it v2.
    env.cmd()
        .args(["archive", "add"])
        .arg(&dir)
        .arg(&b[0])
        .arg("--key")
        .arg(&key_path)
        .ok();
    let local = docseal::store::LocalStore::new(&dir);
    let add = |s: &dyn Store, bundle: &Path, wait: Duration| {
        docseal::archive::store_add::add_to_store(
            s,
            &[bundle.to_path_buf()],
            &key,
            None,
            &docseal::Limits::default(),
            wait,
        )
    };
    for (k, fail) in [(1, false), (3, true)] {
        let lying = Hooked::new(
            &local,
            LostResponse {
                lied: false.into(),
                fail,
                object: "log/entries",
            },
        );
        let lied = add(&lying, &b[k], Duration::ZERO);
        let entries = local.get("log/entries", 1 << 20).unwrap().unwrap().bytes;
        let name = format!("amb{k}.zip");
        assert!(
            String::from_utf8_lossy(&entries).contains(&name),
            "{lied:?}"
        );
        let r = add(&local, &b[k + 1], Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("archive wedged after {lied:?}: {e}"));
        assert_eq!(r.layout, "v2");
        assert_eq!(r.entries[0].index, k as u64 + 1);
        assert!(local.size(&format!("bundles/{name}")).unwrap().is_some());
        assert!(local
            .size(&format!("log/pending/{name}"))
            .unwrap()
            .is_none());
    }
}

/// A bucket writer without the key deletes both index objects of a logged entry; an honest
/// retried add of that very bundle must not log (and sign) its name and content a second
/// time: `bundles/NAME` is there though the index holds nothing for the name, which is
/// damage (refused, nothing sequenced).
#[test]
fn attack_s3_v3_deleted_index_objects_do_not_make_an_add_log_twice() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "del", 2);
    let dir = env.path("arch");
    std::fs::create_dir_all(&dir).unwrap();
    let s = docseal::store::LocalStore::new(&dir);
    let add = |bundle: &Path| {
        docseal::archive::store_add::add_to_store(
            &s,
            &[bundle.to_path_buf()],
            &key,
            None,
            &docseal::Limits::default(),
            Duration::from_secs(5),
        )
    };
    let r = add(&b[0]).unwrap();
    let e = &r.entries[0];
    s.delete(&docseal::archive::v3::name_index_path(&e.name))
        .unwrap();
    s.delete(&docseal::archive::v3::content_index_path(&e.content_sha256).unwrap())
        .unwrap();
    let sequence = s.get("log/sequence", 1 << 20).unwrap().unwrap().bytes;
    match add(&b[0]) {
        Ok(r) => panic!("logged again: {:?} {:?}", r.entries, r.already),
        Err(e) => assert!(e.to_string().contains("index"), "{e}"),
    }
    assert_eq!(
        s.get("log/sequence", 1 << 20).unwrap().unwrap().bytes,
        sequence
    );
    assert!(s.get("log/pending/del0.zip", 1 << 20).unwrap().is_none());
    // Other bundles are added as before.
    assert_eq!(add(&b[1]).unwrap().entries[0].index, 1);
}

/// A server whose listings under `log/checkpoints/` never end (each page says more follow,
/// with ever larger keys under the prefix asked for; each page counted).
struct EndlessListing {
    pages: std::sync::atomic::AtomicU64,
}

impl Hooks for EndlessListing {
    fn list(
        &self,
        inner: &dyn Store,
        prefix: &str,
        after: Option<&str>,
        max: usize,
    ) -> docseal::store::Result<docseal::store::Page> {
        if !prefix.starts_with("log/checkpoints/") || max == 1 {
            return inner.list(prefix, after, max);
        }
        let n = self.pages.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n > 5_000 {
            // Far past any bound: stop the test rather than loop for ever.
            return Err(docseal::store::StoreError::Invalid {
                what: prefix.into(),
                problem: "the test's endless listing gave up".into(),
            });
        }
        let items = (0..max as u64)
            .map(|k| docseal::store::Listed {
                key: format!("{prefix}x{:020}", n * max as u64 + k),
                size: 1,
            })
            .collect();
        Ok(docseal::store::Page {
            items,
            more: true,
            stray: Vec::new(),
        })
    }
}

/// A lying server (or a bucket writer filling `log/checkpoints/` with junk) must not make an
/// add list without end before signing. v3: one page of the whole directory, then at most 4
/// pages a prefix block of the window (a log's checkpoint files take at most 3); v2: the
/// checkpoint files of its log (two a checkpoint, at most one checkpoint an entry) and a page.
/// Past that, refused.
#[test]
fn attack_s3_v3_endless_checkpoint_listing_is_refused() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "lst", 2);
    let dir = env.path("arch");
    std::fs::create_dir_all(&dir).unwrap();
    let local = docseal::store::LocalStore::new(&dir);
    let add = |s: &dyn Store, bundle: &Path| {
        docseal::archive::store_add::add_to_store(
            s,
            &[bundle.to_path_buf()],
            &key,
            None,
            &docseal::Limits::default(),
            Duration::from_secs(5),
        )
    };
    add(&local, &b[0]).unwrap();
    // v2: a log of 10 entries.
    let dir2 = env.path("v2");
    common::synthetic::synthetic_log(&dir2, 10, &[10], &key, true);
    let local2 = docseal::store::LocalStore::new(&dir2);
    for (layout, local, bound, says) in [
        (
            "v3",
            &local,
            5,
            "log/checkpoints/2: lists more than 4000 objects",
        ),
        (
            "v2",
            &local2,
            3,
            "log/checkpoints/: lists more than 1020 objects",
        ),
    ] {
        let endless = Hooked::new(local as &dyn Store, EndlessListing { pages: 0.into() });
        let e = add(&endless, &b[1]).unwrap_err().to_string();
        let pages = endless
            .hooks
            .pages
            .load(std::sync::atomic::Ordering::SeqCst);
        assert!(pages <= bound, "{layout}: {pages} pages listed: {e}");
        assert!(e.contains(says), "{layout}: {e}");
    }
}

/// A store that runs `hook` once, right after the first conditional replacement of
/// `log/sequence` through it succeeded (another party acting between an add's steps 6 and 7).
struct AfterSequenced<'a> {
    hook: std::sync::Mutex<Option<Box<dyn FnOnce() + Send + 'a>>>,
}

impl Hooks for AfterSequenced<'_> {
    fn put_if_match(
        &self,
        inner: &dyn Store,
        key: &str,
        bytes: &[u8],
        v: &docseal::store::Version,
    ) -> docseal::store::Result<docseal::store::PutIfMatch> {
        let r = inner.put_if_match(key, bytes, v)?;
        if key == "log/sequence" && matches!(r, docseal::store::PutIfMatch::Replaced(_)) {
            if let Some(hook) = self.hook.lock().unwrap().take() {
                hook();
            }
        }
        Ok(r)
    }
}

/// v3: a bucket writer replaces an add's tail right after it was sequenced with a tail of the
/// same length (another bundle at the same index); an honest add of a bundle logged already
/// completes that tail, publishing a head of exactly the sequence's size. The first add must
/// not report its bundle archived: that head signs another entry at its index.
#[test]
fn attack_s3_v3_tail_replaced_same_length_is_not_reported_archived() {
    use docseal::archive::v3::Sequence;
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "rep", 3);
    let (dir, scratch) = (env.path("arch"), env.path("scratch"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let local = docseal::store::LocalStore::new(&dir);
    let add = |s: &dyn Store, bundle: &Path| {
        docseal::archive::store_add::add_to_store(
            s,
            &[bundle.to_path_buf()],
            &key,
            None,
            &docseal::Limits::default(),
            Duration::from_secs(5),
        )
    };
    add(&local, &b[0]).unwrap();
    // The forged entry: another bundle's line at index 1.
    let mut w = add(&docseal::store::LocalStore::new(&scratch), &b[2])
        .unwrap()
        .entries[0]
        .clone();
    w.index = 1;
    let hook = || {
        local
            .put(
                &format!("log/pending/{}", w.name),
                &std::fs::read(&b[2]).unwrap(),
            )
            .unwrap();
        let forged = Sequence {
            start: 1,
            tail: vec![w.clone()],
        };
        local.put("log/sequence", &forged.to_bytes()).unwrap();
        // An honest add of a bundle logged already: completes (signs) the forged tail.
        let r = add(&local, &b[0]).unwrap();
        assert_eq!(r.checkpoint.size, 2);
    };
    let s = Hooked::new(
        &local,
        AfterSequenced {
            hook: std::sync::Mutex::new(Some(Box::new(hook))),
        },
    );
    match add(&s, &b[1]) {
        Ok(r) => panic!(
            "reported archived: {:?} under checkpoint {}",
            r.entries, r.checkpoint.size
        ),
        Err(e) => assert!(e.to_string().contains("does not sign entry 1"), "{e}"),
    }
}

/// A v2 archive in a bucket (log/entries, no index) into which a writer without the key puts
/// a `log/sequence` (start = the head's size, empty tail): an add must not take it for v3
/// (with an index that holds nothing, it would log a content logged already, under another
/// name, and sign it). `log/entries` beside `log/sequence` is a migration not finished:
/// refused (exit 2) until `archive migrate --to v3` finishes it.
#[test]
fn attack_s3_v3_stray_sequence_on_a_v2_archive_is_refused() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "str", 1);
    let dir = env.path("arch");
    env.cmd()
        .args(["archive", "add"])
        .arg(&dir)
        .arg(&b[0])
        .arg("--key")
        .arg(&key_path)
        .ok();
    let s = docseal::store::LocalStore::new(&dir);
    s.put("log/sequence", b"docseal-sequence v3\nstart 1\n")
        .unwrap();
    // The same content under another name.
    let other = env.path("b/other.zip");
    std::fs::copy(&b[0], &other).unwrap();
    let r = docseal::archive::store_add::add_to_store(
        &s,
        &[other],
        &key,
        None,
        &docseal::Limits::default(),
        Duration::from_millis(300),
    );
    match r {
        Ok(r) => panic!("logged: {:?} ({})", r.entries, r.layout),
        Err(e) => assert!(e.to_string().contains("log/entries"), "{e}"),
    }
    assert!(s.size("bundles/other.zip").unwrap().is_none());
    assert!(s.size("log/pending/other.zip").unwrap().is_none());
    assert_eq!(
        s.get("log/sequence", 1 << 20).unwrap().unwrap().bytes,
        b"docseal-sequence v3\nstart 1\n"
    );
}

/// A bucket writer without the key removes `log/sequence`, the head and every checkpoint file
/// of a v3 archive, leaving its tiles and index: an add must not take the prefix for a new
/// archive and sign a first checkpoint under the archive's origin (a fork of the log signed
/// before); refused as damage, nothing written.
#[test]
fn attack_s3_v3_removed_sequence_and_head_is_not_a_new_archive() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "gone", 3);
    let dir = env.path("arch");
    std::fs::create_dir_all(&dir).unwrap();
    let s = docseal::store::LocalStore::new(&dir);
    let add = |bundles: &[PathBuf]| {
        docseal::archive::store_add::add_to_store(
            &s,
            bundles,
            &key,
            None,
            &docseal::Limits::default(),
            Duration::from_secs(5),
        )
    };
    assert_eq!(add(&b[..2]).unwrap().checkpoint.size, 2);
    let mut removed = vec!["log/sequence".to_string(), "log/checkpoint".to_string()];
    for p in ["log/checkpoints/", "log/cosignatures/"] {
        if let Ok(page) = s.list(p, None, 1000) {
            removed.extend(page.items.into_iter().map(|i| i.key));
        }
    }
    for k in &removed {
        s.delete(k).unwrap();
    }
    match add(&b[2..]) {
        Ok(r) => panic!(
            "signed checkpoint {} of a new log ({})",
            r.checkpoint.size, r.layout
        ),
        Err(e) => assert!(e.to_string().contains("log/"), "{e}"),
    }
    assert!(s.size("log/checkpoint").unwrap().is_none());
    assert!(s.size("log/entries").unwrap().is_none());
    assert!(s.size("log/sequence").unwrap().is_none());
}

/// A bucket writer without the key rolls the head back to an older signed note (saved when it
/// was the head), removes the later checkpoint files, and puts a sequence after the old head
/// with a tail of its own bundles, longer than what was signed after it (so that the partial
/// tiles it needs are new names). An add completing that tail would sign a fork of the log
/// under the archive's key; the entry bundle holding entries past the old head (wider than
/// the head's) shows the log was larger: refused, nothing signed.
#[test]
fn attack_s3_v3_rolled_back_head_and_sequence_is_not_forked() {
    use docseal::archive::v3::Sequence;
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "fork", 5);
    let (dir, scratch) = (env.path("arch"), env.path("scratch"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&scratch).unwrap();
    let s = docseal::store::LocalStore::new(&dir);
    let add = |st: &dyn Store, bundles: &[PathBuf]| {
        docseal::archive::store_add::add_to_store(
            st,
            bundles,
            &key,
            None,
            &docseal::Limits::default(),
            Duration::from_secs(5),
        )
    };
    add(&s, &b[..1]).unwrap();
    let old_head = s.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes;
    assert_eq!(add(&s, &b[1..2]).unwrap().checkpoint.size, 2);
    // The attacker's two bundles, their entries at 1 and 2.
    let forged: Vec<_> = add(&docseal::store::LocalStore::new(&scratch), &b[2..4])
        .unwrap()
        .entries
        .into_iter()
        .map(|mut e| {
            e.index += 1;
            e
        })
        .collect();
    for (e, f) in forged.iter().zip(&b[2..4]) {
        s.put(
            &format!("log/pending/{}", e.name),
            &std::fs::read(f).unwrap(),
        )
        .unwrap();
    }
    s.put("log/checkpoint", &old_head).unwrap();
    for k in ["log/checkpoints/2", "log/checkpoints/2.minisig"] {
        s.delete(k).unwrap();
    }
    let seq = Sequence {
        start: 1,
        tail: forged,
    };
    s.put("log/sequence", &seq.to_bytes()).unwrap();
    match add(&s, &b[4..]) {
        Ok(r) => panic!(
            "signed checkpoint {} after a rolled-back head ({:?})",
            r.checkpoint.size, r.recovered
        ),
        Err(e) => assert!(e.to_string().contains("tile"), "{e}"),
    }
    assert_eq!(
        s.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes,
        old_head
    );
    assert!(s.size("log/checkpoints/3").unwrap().is_none());
}

/// v2 (`log/entries` the sequencer): as `attack_s3_v3_rolled_back_head_and_sequence_is_not_forked`,
/// with `log/entries` rolled back to the old head's entries and the attacker's appended.
#[test]
fn attack_s3_v2_rolled_back_head_and_entries_is_not_forked() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "fork", 5);
    let (dir, scratch) = (env.path("arch"), env.path("scratch"));
    std::fs::create_dir_all(&scratch).unwrap();
    env.cmd()
        .args(["archive", "add"])
        .arg(&dir)
        .arg(&b[0])
        .arg("--key")
        .arg(&key_path)
        .ok();
    let s = docseal::store::LocalStore::new(&dir);
    let add = |st: &dyn Store, bundles: &[PathBuf]| {
        docseal::archive::store_add::add_to_store(
            st,
            bundles,
            &key,
            None,
            &docseal::Limits::default(),
            Duration::from_secs(5),
        )
    };
    let old_head = s.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes;
    let old_entries = s.get("log/entries", 1 << 20).unwrap().unwrap().bytes;
    assert_eq!(add(&s, &b[1..2]).unwrap().checkpoint.size, 2);
    let mut entries = old_entries;
    for (e, f) in add(&docseal::store::LocalStore::new(&scratch), &b[2..4])
        .unwrap()
        .entries
        .into_iter()
        .zip(&b[2..4])
    {
        let e = docseal::archive::Entry {
            index: e.index + 1,
            ..e
        };
        s.put(
            &format!("log/pending/{}", e.name),
            &std::fs::read(f).unwrap(),
        )
        .unwrap();
        entries.extend_from_slice(e.line().as_bytes());
        entries.push(b'\n');
    }
    s.put("log/checkpoint", &old_head).unwrap();
    for k in ["log/checkpoints/2", "log/checkpoints/2.minisig"] {
        s.delete(k).unwrap();
    }
    s.put("log/entries", &entries).unwrap();
    match add(&s, &b[4..]) {
        Ok(r) => panic!(
            "signed checkpoint {} after a rolled-back head ({})",
            r.checkpoint.size, r.layout
        ),
        Err(e) => assert!(e.to_string().contains("tile"), "{e}"),
    }
    assert_eq!(
        s.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes,
        old_head
    );
}

/// `log/checkpoints/` with made-up checkpoint names (`1` to `fake`, each `<N>` and
/// `<N>.minisig`) besides the real ones: a listing as of an archive of that many adds,
/// without writing 2 * `fake` objects. Every other request goes to the store.
struct ManyCheckpoints {
    /// The made-up keys, sorted.
    fake: Vec<String>,
}

impl ManyCheckpoints {
    fn new(fake: u64) -> Self {
        let mut keys: Vec<String> = (1..=fake)
            .flat_map(|n| {
                [
                    format!("log/checkpoints/{n}"),
                    format!("log/checkpoints/{n}.minisig"),
                ]
            })
            .collect();
        keys.sort_unstable();
        ManyCheckpoints { fake: keys }
    }
}

impl Hooks for ManyCheckpoints {
    /// A listing of any prefix under `log/checkpoints/`: the real keys and the made-up ones
    /// with that prefix, merged in key order.
    fn list(
        &self,
        inner: &dyn Store,
        prefix: &str,
        after: Option<&str>,
        max: usize,
    ) -> docseal::store::Result<docseal::store::Page> {
        if !prefix.starts_with("log/checkpoints/") {
            return inner.list(prefix, after, max);
        }
        let real = match inner.list(prefix, after, max) {
            Ok(p) => p,
            Err(docseal::store::StoreError::NotFound { .. }) => Default::default(),
            Err(e) => return Err(e),
        };
        // The made-up keys with the prefix are contiguous in key order.
        let first = self.fake.partition_point(|k| k.as_str() < prefix);
        let from = after.map_or(first, |a| {
            first.max(self.fake.partition_point(|k| k.as_str() <= a))
        });
        let with_prefix = self.fake[from..]
            .iter()
            .take_while(|k| k.starts_with(prefix))
            .take(max + 1);
        let fake: Vec<&String> = with_prefix.collect();
        let mut keys: BTreeSet<String> = fake.iter().take(max).map(|k| k.to_string()).collect();
        keys.extend(real.items.iter().map(|i| i.key.clone()));
        let more = real.more || fake.len() > max || keys.len() > max;
        Ok(docseal::store::Page {
            more,
            items: keys
                .into_iter()
                .take(max)
                .map(|key| docseal::store::Listed { key, size: 1 })
                .collect(),
            stray: Vec::new(),
        })
    }
}

/// An add on a store, as the CLI makes it, of one bundle.
fn add_one(
    s: &dyn Store,
    key: &docseal::SecretKey,
    bundle: &Path,
) -> docseal::Result<docseal::archive::store_add::StoreAdded> {
    docseal::archive::store_add::add_to_store(
        s,
        &[bundle.to_path_buf()],
        key,
        None,
        &docseal::Limits::default(),
        Duration::from_secs(60),
    )
}

/// Store writers had a count limit: an add that would sign the 100,001st checkpoint was
/// refused (every reader refused an archive with more than 100,000, one an add). Readers now
/// stream checkpoints, and a writer counts nothing: adds on an archive with more than 100,000
/// checkpoints pass, on v3 and v2 alike.
#[test]
fn issue17_store_add_past_100000_checkpoints_is_not_refused() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "cap", 2);
    let fake = 100_005u64;
    let n = fake + 5;
    // v3: a synthetic log of n entries with one real checkpoint (n).
    let dir3 = env.path("v3");
    std::fs::create_dir_all(&dir3).unwrap();
    let local3 = docseal::store::LocalStore::new(&dir3);
    common::synthetic::synthetic_v3_store(&local3, &key, n);
    // v2: the same, with log/entries.
    let dir2 = env.path("v2");
    common::synthetic::synthetic_log(&dir2, n, &[n], &key, true);
    let local2 = docseal::store::LocalStore::new(&dir2);
    for (layout, local) in [("v3", &local3), ("v2", &local2)] {
        let s = Hooked::new(local as &dyn Store, ManyCheckpoints::new(fake));
        for (i, bundle) in b.iter().enumerate() {
            let r = add_one(&s, &key, bundle).unwrap_or_else(|e| panic!("{layout}: {e}"));
            let size = n + 1 + i as u64;
            assert_eq!((r.layout, r.checkpoint.size), (layout, size), "{layout}");
            assert!(r.published, "{layout}");
            assert!(local
                .size(&format!("log/checkpoints/{size}"))
                .unwrap()
                .is_some());
        }
    }
}

/// (LIST requests, all requests) of one v3 add of `bundle` on `local` with `fake` made-up
/// checkpoint names besides the real ones.
fn lists_of_an_add(
    local: &dyn Store,
    key: &docseal::SecretKey,
    bundle: &Path,
    fake: u64,
) -> (u64, u64) {
    let many = Hooked::new(local, ManyCheckpoints::new(fake));
    let s = store_hooks::counting(&many);
    let r = add_one(&s, key, bundle).unwrap();
    assert_eq!(r.layout, "v3");
    assert!(r.published);
    let lists = s.hooks.by_kind().get("LIST").map_or(0, |n| n.0);
    (lists, s.hooks.total().0)
}

/// A v3 add listed the whole of `log/checkpoints/` twice (two keys a checkpoint, a LIST a
/// thousand keys): 800 LISTs at 200,000 checkpoints, 4,000 at a million. Now it looks for a
/// checkpoint past the head only where its successor lies (a few prefix blocks): the LISTs of
/// one add do not grow with the number of checkpoints. (Run with `--nocapture` for the
/// figures of docs/BENCHMARKS.md.)
#[test]
fn issue17_v3_add_lists_checkpoints_in_a_bounded_number_of_requests() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "cnt", 3);
    let n = 200_010u64;
    let dir = env.path("v3");
    std::fs::create_dir_all(&dir).unwrap();
    let local = docseal::store::LocalStore::new(&dir);
    common::synthetic::synthetic_v3_store(&local, &key, n);
    let mut got = Vec::new();
    for (bundle, fake) in b.iter().zip([10u64, 99_990, 200_000]) {
        let (lists, all) = lists_of_an_add(&local, &key, bundle, fake);
        eprintln!(
            "issue17 lists: {fake} checkpoints: {lists} LIST requests ({all} requests in all)"
        );
        got.push(lists);
    }
    // Two window checks of at most 24 LISTs each (docs/STORAGE.md), and a few more LISTs
    // of an add; a few pages of the whole directory would already be more.
    for (fake, lists) in [10, 99_990, 200_000].iter().zip(&got) {
        assert!(*lists <= 64, "{fake} checkpoints: {lists} LISTs");
    }
    assert!(got[2] <= got[0] + 50, "{got:?}");
    assert!(got[2].abs_diff(got[1]) <= 4, "{got:?}");
}

/// v3: the state a rollback leaves (the head and `log/sequence` of an older state, the later
/// checkpoint files kept) is refused with the head's successor where it may be: at the head's
/// size + 1, + 65,536 (one tail, the most), and across a power of ten (head 99,990: 99,999,
/// 100,000), on an archive whose `log/checkpoints/` takes many pages (so the window, not the
/// first page, finds it). Nothing is written. One planted far away (head + 2,000,000; no
/// successor of this head can be there) is not looked for: the add passes (docs/STORAGE.md:
/// caught by the audit).
#[test]
fn issue17_v3_rolled_back_head_is_refused_across_the_window() {
    let env = Env::new();
    let (key_path, _) = env.keygen("k");
    let key = common::secret_key(&key_path);
    let b = sealed_bundles(&env, &key_path, "rb", 1);
    let h = 99_990u64;
    let dir = env.path("v3");
    std::fs::create_dir_all(&dir).unwrap();
    let local = docseal::store::LocalStore::new(&dir);
    common::synthetic::synthetic_v3_store(&local, &key, h);
    let s = Hooked::new(&local as &dyn Store, ManyCheckpoints::new(h - 1));
    let head = local.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes;
    let seq = local.get("log/sequence", 1 << 20).unwrap().unwrap().bytes;
    for m in [h + 1, 99_999, 100_000, h + 65_536] {
        for k in [
            format!("log/checkpoints/{m}"),
            format!("log/checkpoints/{m}.minisig"),
        ] {
            local.put(&k, b"kept from before the rollback").unwrap();
            let e = add_one(&s, &key, &b[0]).expect_err(&k).to_string();
            let says = format!(
                "signs {h} entries but log/checkpoints/{m} is larger (replaced by an older checkpoint, or a file put there by hand)"
            );
            assert!(e.contains(&says), "{k}: {e}");
            assert!(e.contains("an audit of the archive"), "{k}: {e}");
            assert_eq!(
                local.get("log/checkpoint", 1 << 20).unwrap().unwrap().bytes,
                head
            );
            assert_eq!(
                local.get("log/sequence", 1 << 20).unwrap().unwrap().bytes,
                seq
            );
            let pending = local.list("log/pending/", None, 10).map(|p| p.items.len());
            assert!(matches!(pending, Ok(0) | Err(_)), "{k}: {pending:?}");
            assert!(local.size("bundles/rb0.zip").unwrap().is_none(), "{k}");
            local.delete(&k).unwrap();
        }
    }
    let far = h + 2_000_000;
    local
        .put(&format!("log/checkpoints/{far}"), b"far")
        .unwrap();
    let r = add_one(&s, &key, &b[0]).unwrap();
    assert_eq!(r.checkpoint.size, h + 1);
}

/// The window check on a real server: its LISTs of a prefix block after a key (S3
/// `prefix` and `start-after`, keys in byte order) find the successor of a rolled-back head
/// on SeaweedFS as on a local store. A v3 log of 600 entries with a checkpoint file for every
/// size below (1,200 keys: more than one page, so the blocks are listed): a head whose
/// successor is kept at 601 or at 66,136 (head + 65,536, five digits) is refused, exit 2,
/// nothing logged; without it, the add passes.
#[test]
fn issue17_v3_window_check_on_a_real_server() {
    let Some(t) = T::start() else { return };
    let b = t.bundles("win", 1);
    let loc = "s3://docseal-add/window";
    let s = t.w.store("docseal-add", "window");
    let key = common::secret_key(&t.key);
    let h = 600u64;
    common::synthetic::synthetic_v3_store(&s, &key, h);
    let keys: Vec<String> = (1..h)
        .flat_map(|n| {
            [
                format!("log/checkpoints/{n}"),
                format!("log/checkpoints/{n}.minisig"),
            ]
        })
        .collect();
    std::thread::scope(|sc| {
        for part in keys.chunks(keys.len().div_ceil(8)) {
            let s = &s;
            sc.spawn(move || {
                for k in part {
                    s.put(k, b"an earlier checkpoint").unwrap();
                }
            });
        }
    });
    let seq = s.get("log/sequence", 1 << 20).unwrap().unwrap().bytes;
    for m in [h + 1, h + 65_536] {
        let k = format!("log/checkpoints/{m}.minisig");
        s.put(&k, b"kept from before the rollback").unwrap();
        let d = t.add(loc, &b, &[]).run();
        assert_eq!(d.code(), 2, "{m}: {}{}", d.stdout(), d.stderr());
        let says = format!("signs {h} entries but log/checkpoints/{m} is larger");
        assert!(d.stderr().contains(&says), "{m}: {}", d.stderr());
        assert_eq!(s.get("log/sequence", 1 << 20).unwrap().unwrap().bytes, seq);
        s.delete(&k).unwrap();
    }
    let d = t.add(loc, &b, &["--json"]).run();
    assert_eq!(d.code(), 0, "{}{}", d.stdout(), d.stderr());
    assert!(s
        .size(&format!("log/checkpoints/{}", h + 1))
        .unwrap()
        .is_some());
}
