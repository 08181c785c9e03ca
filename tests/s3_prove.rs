//! `archive prove` and `archive prove-consistency` of a v3 archive in object storage (issue
//! 17), on a real S3-compatible server (SeaweedFS): read in place with O(log n) requests (no
//! copy of the archive, no listing), the same proof bytes as from a local copy, clear errors
//! on a hostile bucket, and a v2 bucket archive still proved (through a copy).

use crate::common;
use crate::common::weed;

use common::store_hooks;
use common::*;
use docseal::store::Store;
use std::path::{Path, PathBuf};

const BUCKET: &str = "docseal-prove";

struct T {
    w: weed::Weed,
    env: Env,
    key: PathBuf,
    public: PathBuf,
}

impl T {
    /// A server, and five bundles `in/b0.zip` .. `in/b4.zip` signed by key `k`.
    fn start() -> Option<T> {
        let w = weed::Weed::start()?;
        let env = Env::new();
        let (key, public) = env.keygen("k");
        std::fs::create_dir(env.path("in")).unwrap();
        for i in 0..5 {
            env.pack_text(
                &format!("Proved article {i}.\n"),
                &format!("P{i}"),
                "2026-11-27T12:00:00Z",
                &key,
                &format!("in/b{i}.zip"),
                &[],
            );
        }
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

    fn run(&self, args: &[&str]) -> Done {
        self.cmd().args(args).run()
    }

    /// A v3 archive at `s3://docseal-prove/PREFIX` made by two real adds through the binary
    /// (b0..b2, then b3, b4: checkpoints 3 and 5); its store.
    fn v3_archive(&self, prefix: &str) -> docseal::store::S3Store {
        let loc = format!("s3://{BUCKET}/{prefix}");
        for (bundles, time) in [
            (
                &["in/b0.zip", "in/b1.zip", "in/b2.zip"][..],
                "2026-11-28T00:00:00Z",
            ),
            (&["in/b3.zip", "in/b4.zip"][..], "2026-11-29T00:00:00Z"),
        ] {
            self.cmd()
                .args(["archive", "add", &loc])
                .args(bundles)
                .args(["--time", time, "--key"])
                .arg(&self.key)
                .ok();
        }
        let s = self.w.store(BUCKET, prefix);
        assert!(s.size("log/sequence").unwrap().is_some(), "not v3");
        assert!(s.size("log/entries").unwrap().is_none());
        s
    }

    fn check_proof(&self, proof: &str) {
        self.cmd()
            .args(["archive", "check-proof", proof, "--trust"])
            .arg(&self.public)
            .ok();
    }
}

/// The content digest of the entry an inclusion proof file is about.
fn content_of_proof(path: &Path) -> String {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["entry"]
        .as_str()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string()
}

#[test]
fn issue17_prove_on_a_v3_bucket_equals_the_proof_from_a_local_copy() {
    let Some(t) = T::start() else { return };
    let s = t.v3_archive("a1");
    weed::download(&s, &t.env.path("copy"), |_| true);
    let remote = format!("s3://{BUCKET}/a1");
    // The digest of b2's content, from a proof made locally by its file.
    t.run(&["archive", "prove", "copy", "in/b2.zip", "--out", "d.json"]);
    let digest = content_of_proof(&t.env.path("d.json"));
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("file", vec!["prove", "ARCH", "in/b1.zip"]),
        ("name", vec!["prove", "ARCH", "b3.zip"]),
        ("digest", vec!["prove", "ARCH", &digest]),
        (
            "at3",
            vec!["prove", "ARCH", "in/b1.zip", "--checkpoint", "3"],
        ),
        ("at5", vec!["prove", "ARCH", "b4.zip", "--checkpoint", "5"]),
        ("cons", vec!["prove-consistency", "ARCH", "--from", "3"]),
        (
            "cons35",
            vec!["prove-consistency", "ARCH", "--from", "3", "--to", "5"],
        ),
        ("cons55", vec!["prove-consistency", "ARCH", "--from", "5"]),
    ];
    for (name, args) in &cases {
        let mut outs = Vec::new();
        for arch in [remote.as_str(), "copy"] {
            let out = format!("{name}-{}.json", if arch == "copy" { "l" } else { "r" });
            let mut a: Vec<&str> = vec!["archive"];
            a.extend(args.iter().map(|x| if *x == "ARCH" { arch } else { x }));
            a.extend(["--out", &out]);
            let d = t.run(&a);
            assert_eq!(d.code(), 0, "{name} {arch}: {}{}", d.stdout(), d.stderr());
            outs.push((out, d.stdout()));
        }
        let (r, l) = (&outs[0], &outs[1]);
        assert_eq!(
            std::fs::read(t.env.path(&r.0)).unwrap(),
            std::fs::read(t.env.path(&l.0)).unwrap(),
            "{name}"
        );
        // The same line, but for the output file's name.
        assert_eq!(r.1.replace(&r.0, "F"), l.1.replace(&l.0, "F"), "{name}");
        t.check_proof(&r.0);
    }
    let d = std::fs::read_to_string(t.env.path("at3-r.json")).unwrap();
    assert!(d.contains("\\n3\\n"), "{d}");
    let d = t.run(&["archive", "prove", &remote, "b4.zip", "--out", "x.json"]);
    assert!(
        d.stdout().contains(&format!(
            "entry 4 (b4.zip) is in docseal-archive/{}",
            common::secret_key(&t.key).key_id()
        )) && d.stdout().contains("as of checkpoint 5"),
        "{}",
        d.stdout()
    );
}

/// What one proof cost: requests in all, and the requests made.
fn counted(c: &store_hooks::Hooked<'_, store_hooks::Counting>) -> (u64, Vec<String>) {
    (c.hooks.total().0, c.hooks.requests())
}

/// The entry `i` of `common::synthetic::synthetic_v3_store`, as it writes it.
fn synthetic_entry(i: u64) -> docseal::archive::Entry {
    let d = |x: String| common::synthetic::hex_sha256(x.as_bytes());
    docseal::archive::Entry {
        index: i,
        content_sha256: d(format!("c{i}")),
        file_sha256: d(format!("f{i}")),
        id: format!("urn:docseal:{}", &d(format!("i{i}"))[..32]),
        supersedes: None,
        name: format!("synthetic-{i:09}.zip"),
    }
}

/// Tile levels of a tree of `n` entries (the levels a proof may read a tile of).
fn levels(n: u64) -> u64 {
    let mut l = 1;
    let mut w = 256u64;
    while w < n {
        w *= 256;
        l += 1;
    }
    l
}

/// The requests of three proofs (inclusion against the latest checkpoint, against `--checkpoint
/// n`, consistency from n/2 to the latest) on a synthetic v3 log of `n` entries in the bucket,
/// each proof checked; only GETs, at most a small constant times the tile levels.
fn requests_per_proof(t: &T, n: u64) -> Vec<u64> {
    use docseal::archive::{self, v3, Checkpoint};
    let key = common::secret_key(&t.key);
    let trust = docseal::Trust::load_archive_keys(std::slice::from_ref(&t.public)).unwrap();
    let limits = docseal::Limits::default();
    let s = t.w.store(BUCKET, &format!("cost{n}"));
    common::synthetic::synthetic_v3_store(&s, &key, n);
    // The content index object of the entry proved, as the writer writes it.
    let e = synthetic_entry(n / 3);
    s.put(
        &v3::content_index_path(&e.content_sha256).unwrap(),
        &v3::index_bytes(&e),
    )
    .unwrap();
    // A second checkpoint, of m entries, for the consistency proof.
    let m = n / 2;
    let root = docseal::tlog::Tiles::new(archive::tiles::StoreTiles::new(&s), n)
        .range_root(0, m)
        .unwrap();
    let cp = Checkpoint {
        origin: format!("docseal-archive/{}", key.key_id()),
        size: m,
        root,
        time: chrono::Utc::now() - chrono::Duration::minutes(2),
        previous: 0,
    };
    s.put(&format!("log/checkpoints/{m}"), cp.body().as_bytes())
        .unwrap();
    s.put(
        &format!("log/checkpoints/{m}.minisig"),
        cp.sign(&key).as_bytes(),
    )
    .unwrap();
    let mut row = Vec::new();
    for kind in ["inclusion", "inclusion at n", "consistency"] {
        let c = store_hooks::counting(&s);
        let proof = match kind {
            "inclusion" => archive::Proof::Inclusion(
                archive::prove_inclusion_store(&c, &e.content_sha256, None, &limits).unwrap(),
            ),
            "inclusion at n" => archive::Proof::Inclusion(
                archive::prove_inclusion_store(&c, &e.content_sha256, Some(n), &limits).unwrap(),
            ),
            _ => {
                archive::Proof::Consistency(archive::prove_consistency_store(&c, m, None).unwrap())
            }
        };
        let (count, reqs) = counted(&c);
        // Checked as anyone would check it: it rests on checkpoint n.
        let f = t.env.path(&format!("p{n}-{}.json", row.len()));
        std::fs::write(&f, proof.to_bytes()).unwrap();
        let r = archive::check_proof(&f, &trust, None, None, &limits).unwrap();
        assert_eq!(r.checkpoint.size, n);
        if let archive::Proof::Inclusion(p) = &proof {
            assert_eq!(p.entry, e.line());
        }
        // No listing at all (not of log/index/, not of log/checkpoints/), only GETs.
        assert!(
            reqs.iter().all(|r| r.starts_with("GET ")),
            "{kind} at {n}: {reqs:?}"
        );
        let bound = 6 + 3 * levels(n);
        assert!(count <= bound, "{kind} at {n}: {count} > {bound}: {reqs:?}");
        eprintln!(
            "proof of {kind} in a v3 log of {n} entries ({} tile levels): {count} requests: {reqs:?}",
            levels(n)
        );
        row.push(count);
    }
    row
}

#[test]
fn issue17_prove_on_a_v3_bucket_reads_o_log_n_objects() {
    let Some(t) = T::start() else { return };
    let figures: Vec<(u64, Vec<u64>)> = [300u64, 256 * 257 + 44]
        .into_iter()
        .map(|n| (n, requests_per_proof(&t, n)))
        .collect();
    // One more tile level: at most one more tile read per range root on the way.
    let (small, large) = (&figures[0].1, &figures[1].1);
    for (a, b) in small.iter().zip(large) {
        assert!(*b <= a + 3, "{figures:?}");
    }
    eprintln!("requests per proof (inclusion, inclusion --checkpoint n, consistency): {figures:?}");
}

/// [`issue17_prove_on_a_v3_bucket_reads_o_log_n_objects`] on a larger log, `DOCSEAL_PROVE_N`
/// entries (default 2^20 + 44: about 8,200 objects written to the server first), by hand:
/// `cargo test --test integration -- --ignored s3_prove::issue17_prove_on_a_large --nocapture`.
#[test]
#[ignore]
fn issue17_prove_on_a_large_v3_bucket_reads_o_log_n_objects() {
    let Some(t) = T::start() else { return };
    let n: u64 = std::env::var("DOCSEAL_PROVE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or((1 << 20) + 44);
    let row = requests_per_proof(&t, n);
    eprintln!(
        "requests per proof (inclusion, inclusion --checkpoint n, consistency) at {n}: {row:?}"
    );
}

/// A hostile bucket: each damage is a one-line error (exit 2) naming the `s3://` archive and
/// the object, and no proof file is written.
#[test]
fn attack_s3_prove_on_a_hostile_v3_bucket_is_refused_clearly() {
    let Some(t) = T::start() else { return };
    let s = t.v3_archive("h");
    let remote = format!("s3://{BUCKET}/h");
    t.run(&["archive", "prove", &remote, "in/b1.zip", "--out", "ok.json"]);
    let c1 = content_of_proof(&t.env.path("ok.json"));
    t.run(&[
        "archive",
        "prove",
        &remote,
        "in/b2.zip",
        "--out",
        "ok2.json",
    ]);
    let c2 = content_of_proof(&t.env.path("ok2.json"));
    let ix = |c: &str| docseal::archive::v3::content_index_path(c).unwrap();
    let get = |k: &str| s.get(k, 1 << 20).unwrap().unwrap().bytes;
    let refused = |args: &[&str], object: &str, words: &str| {
        let mut a = vec!["archive"];
        a.extend(args);
        a.extend(["--out", "bad.json"]);
        let d = t.run(&a);
        let err = d.stderr();
        assert_eq!(d.code(), 2, "{args:?}: {}{err}", d.stdout());
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains(&remote) && err.contains(object) && err.contains(words),
            "{args:?}: {err}"
        );
        assert!(!err.contains(weed::SECRET_KEY) && !err.contains("docseal-s3-archive-"));
        assert!(!t.env.path("bad.json").exists());
    };
    let prove1 = ["prove", remote.as_str(), "in/b1.zip"];
    // Each damage is made, checked, and undone.
    let with = |k: &str, bytes: Option<&[u8]>, check: &dyn Fn()| {
        let before = s.get(k, 1 << 20).unwrap().map(|o| o.bytes);
        match bytes {
            Some(b) => s.put(k, b).map(|_| ()).unwrap(),
            None => s.delete(k).unwrap(),
        }
        check();
        match before {
            Some(b) => s.put(k, &b).map(|_| ()).unwrap(),
            None => s.delete(k).unwrap(),
        }
    };
    // The content index object naming another content; or absent.
    with(&ix(&c1), Some(&get(&ix(&c2))), &|| {
        refused(&prove1, &ix(&c1), "another content")
    });
    with(&ix(&c1), None, &|| {
        refused(&prove1, &ix(&c1), "is not in the archive's log")
    });
    // The entry bundle holding entry 1 (below the sequence's start, 3): cut, or replaced by
    // another well-formed one.
    let eb = "log/tile/entries/000.p/3";
    let whole = get(eb);
    with(eb, Some(&whole[..whole.len() - 5]), &|| {
        refused(&prove1, eb, "entries")
    });
    let other = docseal::tlog::entry_bundle_bytes(&["a", "b", "c"]);
    with(eb, Some(&other), &|| {
        refused(&prove1, &ix(&c1), "does not hold this entry")
    });
    // A hash tile cut.
    let ht = "log/tile/0/000.p/5";
    let h = get(ht);
    with(ht, Some(&h[..h.len() - 1]), &|| {
        refused(&prove1, ht, "bytes, not")
    });
    // The head missing; the latest checkpoint's files missing and the one before too.
    with("log/checkpoint", None, &|| {
        refused(&prove1, "log/checkpoint", "missing")
    });
    let cons = ["prove-consistency", remote.as_str(), "--from", "3"];
    with("log/checkpoints/5", None, &|| {
        // The one before is proved against, as locally (checked below); without it, refused.
        with("log/checkpoints/3.minisig", None, &|| {
            refused(&prove1, "log/checkpoints/5", "missing")
        });
        refused(
            &["prove", remote.as_str(), "in/b1.zip", "--checkpoint", "5"],
            "",
            "has no checkpoint 5",
        );
    });
    with("log/checkpoints/3", None, &|| {
        refused(&cons, "", "has no checkpoint 3")
    });
    // A checkpoint whose file name and note disagree.
    with(
        "log/checkpoints/5",
        Some(&get("log/checkpoints/3")),
        &|| {
            refused(
                &prove1,
                "log/checkpoints/5",
                "the file name says 5, the note 3",
            );
            refused(
                &cons,
                "log/checkpoints/5",
                "the file name says 5, the note 3",
            );
        },
    );
    // Oversized objects: refused by their size, not read whole.
    let big = vec![b'x'; 100_000];
    for k in [
        "log/checkpoint",
        "log/checkpoints/5",
        "log/checkpoints/5.minisig",
        ix(&c1).as_str(),
        ht,
    ] {
        with(k, Some(&big), &|| refused(&prove1, k, "more than"));
    }
    // The latest checkpoint's files gone (an add completing it): proved against the one
    // before, as a local copy in that state is.
    with("log/checkpoints/5.minisig", None, &|| {
        let d = t.run(&["archive", "prove", &remote, "in/b1.zip", "--out", "p3.json"]);
        assert_eq!(d.code(), 0, "{}", d.stderr());
        assert!(d.stdout().contains("as of checkpoint 3"), "{}", d.stdout());
        let copy = t.env.path("copy-h");
        weed::download(&s, &copy, |_| true);
        t.run(&[
            "archive",
            "prove",
            "copy-h",
            "in/b1.zip",
            "--out",
            "l3.json",
        ]);
        assert_eq!(
            std::fs::read(t.env.path("p3.json")).unwrap(),
            std::fs::read(t.env.path("l3.json")).unwrap()
        );
    });
    // All restored: proved again.
    t.run(&[
        "archive",
        "prove",
        &remote,
        "in/b1.zip",
        "--out",
        "again.json",
    ]);
    assert_eq!(
        std::fs::read(t.env.path("again.json")).unwrap(),
        std::fs::read(t.env.path("ok.json")).unwrap()
    );
}

/// A v2 archive in a bucket (no `log/sequence`: uploaded from a local archive) is still
/// proved, through a private copy as before, with the proofs of the local archive.
#[test]
fn issue17_prove_on_a_v2_bucket_still_proves_through_a_copy() {
    let Some(t) = T::start() else { return };
    for (bundles, time) in [
        (&["in/b0.zip", "in/b1.zip"][..], "2026-11-28T00:00:00Z"),
        (&["in/b2.zip"][..], "2026-11-29T00:00:00Z"),
    ] {
        t.cmd()
            .args(["archive", "add", "v2"])
            .args(bundles)
            .args(["--time", time, "--key"])
            .arg(&t.key)
            .ok();
    }
    let s = t.w.store(BUCKET, "v2");
    weed::upload(&s, &t.env.path("v2"));
    assert!(s.size("log/entries").unwrap().is_some());
    assert!(s.size("log/sequence").unwrap().is_none());
    let remote = format!("s3://{BUCKET}/v2");
    for (args, name) in [
        (vec!["prove", "ARCH", "b1.zip"], "i"),
        (vec!["prove-consistency", "ARCH", "--from", "2"], "c"),
    ] {
        let mut outs = Vec::new();
        for arch in [remote.as_str(), "v2"] {
            let out = format!("{name}-{}.json", outs.len());
            let mut a = vec!["archive"];
            a.extend(args.iter().map(|x| if *x == "ARCH" { arch } else { x }));
            a.extend(["--out", &out]);
            let d = t.run(&a);
            assert_eq!(d.code(), 0, "{arch}: {}", d.stderr());
            outs.push(std::fs::read(t.env.path(&out)).unwrap());
        }
        assert_eq!(outs[0], outs[1], "{name}");
        t.check_proof(&format!("{name}-0.json"));
    }
}

/// Storage failing under a proof (unavailable, access denied) is the storage's error (exit 4:
/// `Error::Io`), never reported as damage of the archive, also when a tile read fails (no
/// server needed: the v3 vector in a local store, behind a failing one).
#[test]
fn attack_s3_prove_storage_failing_is_not_called_damage() {
    use common::store_hooks::{Hooked, Hooks};
    use docseal::store::{Object, Result as SResult, StoreError};
    struct Failing(&'static str, bool);
    impl Hooks for Failing {
        fn get(&self, inner: &dyn Store, key: &str, max: u64) -> SResult<Option<Object>> {
            if !key.starts_with(self.0) {
                return inner.get(key, max);
            }
            Err(if self.1 {
                StoreError::Denied {
                    what: format!("{}/{key}", inner.root()),
                    detail: "no".into(),
                }
            } else {
                StoreError::Unavailable {
                    what: format!("{}/{key}", inner.root()),
                    detail: "connection refused".into(),
                    retryable: false,
                }
            })
        }
    }
    let local = docseal::store::LocalStore::new(&repo("tests/vectors/log-v3/archive"));
    let c1 = common::synthetic::hex_sha256(b"content 1");
    let limits = docseal::Limits::default();
    for prefix in [
        "log/checkpoint",
        "log/checkpoints/3",
        "log/index/",
        "log/sequence",
        "log/tile/entries/",
        "log/tile/0/",
    ] {
        for denied in [false, true] {
            let s = Hooked::new(&local, Failing(prefix, denied));
            let e = docseal::archive::prove_inclusion_store(&s, &c1, None, &limits).unwrap_err();
            assert!(
                matches!(e, docseal::Error::Io { .. }),
                "{prefix} {denied}: {e:?}"
            );
            let text = e.to_string();
            assert!(
                text.contains(prefix)
                    && text.contains(if denied {
                        "denied"
                    } else {
                        "storage unavailable"
                    }),
                "{prefix}: {text}"
            );
        }
    }
    // Through the same store, a proof of the vector.
    let p = docseal::archive::prove_inclusion_store(&local, &c1, None, &limits).unwrap();
    assert_eq!(
        docseal::archive::Proof::Inclusion(p).to_bytes(),
        std::fs::read(repo("tests/vectors/log-v1/inclusion-1-at-3.json")).unwrap()
    );
}

/// A bucket that does not exist holds no archive: exit 2 with the words of an empty prefix,
/// as a local path with no archive (not 4, which says the storage failed).
#[test]
fn attack_s3_prove_a_missing_bucket_is_no_archive() {
    let Some(t) = T::start() else { return };
    let remote = "s3://docseal-no-such-bucket/a";
    for args in [
        &["archive", "prove", remote, "in/b1.zip", "--out", "x.json"][..],
        &[
            "archive",
            "prove-consistency",
            remote,
            "--from",
            "1",
            "--out",
            "x.json",
        ],
        &["archive", "audit", remote, "--trust", "k.pub"],
        &[
            "verify",
            "in/b1.zip",
            "--trust",
            "k.pub",
            "--archive",
            remote,
            "--archive-key",
            "k.pub",
        ],
    ] {
        let d = t.run(args);
        let err = d.stderr();
        assert_eq!(d.code(), 2, "{args:?}: {}{err}", d.stdout());
        assert!(
            err.contains(remote) && err.contains("no archive there"),
            "{args:?}: {err}"
        );
        assert!(!t.env.path("x.json").exists());
    }
}

/// A bundle of a v2 bucket archive (proved through a private copy) that `archive prove` names
/// and refuses (damaged in the bucket) is named by its `s3://` location, never by the copy.
#[test]
fn attack_s3read_refused_bundle_of_a_v2_copy_is_named_by_s3() {
    let Some(t) = T::start() else { return };
    t.cmd()
        .args(["archive", "add", "v2", "in/b0.zip", "in/b1.zip", "--key"])
        .arg(&t.key)
        .ok();
    let s = t.w.store(BUCKET, "v2r");
    fn up(s: &dyn Store, dir: &Path, rel: &str) {
        for e in std::fs::read_dir(dir.join(rel)).unwrap() {
            let e = e.unwrap();
            let key = format!("{rel}{}", e.file_name().into_string().unwrap());
            if e.file_type().unwrap().is_dir() {
                up(s, dir, &format!("{key}/"));
            } else {
                s.put(&key, &std::fs::read(e.path()).unwrap()).unwrap();
            }
        }
    }
    up(&s, &t.env.path("v2"), "");
    s.put("bundles/b1.zip", b"not a bundle").unwrap();
    assert!(s.size("log/sequence").unwrap().is_none());
    let remote = format!("s3://{BUCKET}/v2r");
    let d = t.run(&["archive", "prove", &remote, "b1.zip", "--out", "x.json"]);
    let err = d.stderr();
    assert_ne!(d.code(), 0, "{}", d.stdout());
    assert!(
        err.contains(&format!("{remote}/bundles/b1.zip")) && !err.contains("docseal-s3-archive-"),
        "{err}"
    );
    assert!(!t.env.path("x.json").exists());
}
