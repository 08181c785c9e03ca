//! The S3 backend of the archive storage interface (issue 17) on a real S3-compatible server
//! (SeaweedFS, tests/common/weed.rs): conditional writes, bounded and ranged reads, listings,
//! and credentials never shown.

use crate::common::weed;

use docseal::store::{
    put_new_or_same, Location, PutIfMatch, PutNew, RangeReader, Store, StoreError,
};
use std::io::{Read, Seek, SeekFrom};

#[test]
fn issue17_s3_conditional_writes_and_bounded_reads() {
    let Some(w) = weed::Weed::start() else { return };
    let s = w.store("docseal-t1", "arch/one");

    // put_new: If-None-Match: *.
    assert!(matches!(
        s.put_new("log/a", b"first").unwrap(),
        PutNew::Created(_)
    ));
    assert_eq!(
        s.put_new("log/a", b"second").unwrap(),
        PutNew::AlreadyExists
    );
    assert!(put_new_or_same(&s, "log/a", b"first").unwrap());
    assert!(!put_new_or_same(&s, "log/a", b"other").unwrap());
    let o = s.get("log/a", 100).unwrap().unwrap();
    assert_eq!(o.bytes, b"first");

    // put_if_match: If-Match on the ETag; a stale version is a conflict, nothing written.
    let PutIfMatch::Replaced(v2) = s.put_if_match("log/a", b"v2", &o.version).unwrap() else {
        panic!("replace with the current version failed")
    };
    assert_eq!(
        s.put_if_match("log/a", b"v3", &o.version).unwrap(),
        PutIfMatch::Conflict
    );
    assert_eq!(s.get("log/a", 100).unwrap().unwrap().bytes, b"v2");
    assert_eq!(s.get("log/a", 100).unwrap().unwrap().version, v2);
    assert_eq!(
        s.put_if_match("log/none", b"x", &v2).unwrap(),
        PutIfMatch::Conflict
    );

    // Bounded reads: a larger object is refused, not read whole; ranges; sizes.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    s.put("bundles/big.zip", &big).unwrap();
    match s.get("bundles/big.zip", 1000) {
        Err(StoreError::TooLarge { size, max, .. }) => assert_eq!((size, max), (3_000_000, 1000)),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.size("bundles/big.zip").unwrap(), Some(3_000_000));
    assert_eq!(s.get_range("bundles/big.zip", 10, 5).unwrap(), &big[10..15]);
    assert_eq!(
        s.get_range("bundles/big.zip", 2_999_998, 100).unwrap(),
        &big[2_999_998..]
    );
    assert!(s
        .get_range("bundles/big.zip", 3_000_000, 10)
        .unwrap()
        .is_empty());
    let mut r = RangeReader::new(&s, "bundles/big.zip", 3_000_000);
    r.seek(SeekFrom::End(-1_500_000)).unwrap();
    let mut back = Vec::new();
    r.read_to_end(&mut back).unwrap();
    assert_eq!(back, &big[1_500_000..]);
    assert_eq!(s.get("missing", 10).unwrap(), None);
    assert_eq!(s.size("missing").unwrap(), None);
    s.put("empty", b"").unwrap();
    assert_eq!(s.get("empty", 10).unwrap().unwrap().bytes, b"");

    // The prefix isolates stores in one bucket.
    let other = w.store("docseal-t1", "arch/two");
    assert_eq!(other.get("log/a", 100).unwrap(), None);
    s.delete("log/a").unwrap();
    s.delete("log/a").unwrap();
    assert_eq!(s.get("log/a", 100).unwrap(), None);
}

#[test]
fn issue17_s3_concurrent_conditional_writes_lose_nothing() {
    let Some(w) = weed::Weed::start() else { return };
    let s = w.store("docseal-t2", "");
    s.put("counter", b"0").unwrap();
    // 8 threads, 15 increments each, by read + put_if_match, re-reading on conflict: the
    // conflicts happen (counted) and no increment is lost.
    let conflicts = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for _ in 0..8 {
            sc.spawn(|| {
                let s = w.store("docseal-t2", "");
                for _ in 0..15 {
                    loop {
                        let o = s.get("counter", 32).unwrap().unwrap();
                        let n: u64 = std::str::from_utf8(&o.bytes).unwrap().parse().unwrap();
                        match s
                            .put_if_match("counter", (n + 1).to_string().as_bytes(), &o.version)
                            .unwrap()
                        {
                            PutIfMatch::Replaced(_) => break,
                            PutIfMatch::Conflict => {
                                conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    }
                }
            });
        }
    });
    assert_eq!(s.get("counter", 32).unwrap().unwrap().bytes, b"120");
    assert!(conflicts.into_inner() > 0, "8 writers never collided");
    // put_new: of 8 racing creators exactly one wins.
    let wins = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for i in 0..8 {
            let wins = &wins;
            let w = &w;
            sc.spawn(move || {
                let s = w.store("docseal-t2", "");
                if let PutNew::Created(_) = s.put_new("once", format!("{i}").as_bytes()).unwrap() {
                    wins.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(wins.into_inner(), 1);
}

#[test]
fn issue17_s3_listings_come_in_bounded_pages() {
    let Some(w) = weed::Weed::start() else { return };
    let s = w.store("docseal-t3", "p");
    let mut want = Vec::new();
    for i in 0..23 {
        let k = format!("bundles/{i:03}.zip");
        s.put(&k, format!("{i}").as_bytes()).unwrap();
        want.push(k);
    }
    s.put("bundlesX", b"not under bundles/").unwrap();
    s.put("log/checkpoint", b"cp").unwrap();
    let mut got = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let p = s.list("bundles/", after.as_deref(), 5).unwrap();
        assert!(p.items.len() <= 5);
        pages += 1;
        got.extend(p.items.iter().map(|l| l.key.clone()));
        after = got.last().cloned();
        if !p.more {
            break;
        }
    }
    assert_eq!(got, want);
    assert_eq!(pages, 5);
    let p = s.list("bundles/01", None, 100).unwrap();
    assert_eq!(p.items.len(), 10);
    assert_eq!(p.items[3].size, 2);
    let all = s.list("", None, 1000).unwrap();
    assert_eq!(all.items.len(), 25);
}

#[test]
fn issue17_s3_credentials_never_printed() {
    let Some(w) = weed::Weed::start() else { return };
    let s = w.store("docseal-t4", "x");
    let debug = format!("{s:?}");
    assert!(
        !debug.contains(weed::SECRET_KEY) && !debug.contains(weed::ACCESS_KEY),
        "{debug}"
    );
    // Wrong secret: denied, and the message names neither the key id nor a secret.
    let mut env = w.env();
    let wrong = "WrongSecretValue/ZZZZ";
    for (k, v) in env.iter_mut() {
        if k == "AWS_SECRET_ACCESS_KEY" {
            *v = wrong.into();
        }
    }
    let bad = docseal::store::S3Store::from_vars("docseal-t4", "x", env.clone()).unwrap();
    let e = bad.put("k", b"v").unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(matches!(e, StoreError::Denied { .. }), "{text}");
    for secret in [wrong, weed::ACCESS_KEY, weed::SECRET_KEY] {
        assert!(!text.contains(secret), "{text}");
    }
    // A credential in the endpoint URL is redacted too.
    for (k, v) in env.iter_mut() {
        if k == "AWS_ENDPOINT_URL" {
            *v = "http://someuser:UrlSecret9@127.0.0.1:1".into();
        }
    }
    if let Ok(s) = docseal::store::S3Store::from_vars("docseal-t4", "x", env) {
        let e = s.get("k", 10).unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains("UrlSecret9"), "{text}");
    }
    let l = Location::parse(std::path::Path::new("s3://docseal-t4/x")).unwrap();
    assert_eq!(format!("{l:?}"), "Location(s3://docseal-t4/x)");
}

#[test]
fn issue17_s3_server_killed_and_restarted_mid_writes_loses_and_duplicates_nothing() {
    use docseal::store::{retry, Backoff};
    let Some(mut w) = weed::Weed::start() else {
        return;
    };
    let env = w.env();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let policy = Backoff {
        initial: std::time::Duration::from_millis(100),
        max: std::time::Duration::from_secs(2),
        attempts: 60,
    };
    let errors_seen = std::thread::scope(|sc| {
        let writer = sc.spawn(|| {
            let s = docseal::store::S3Store::from_vars("docseal-t5", "w", env).unwrap();
            let mut errors = 0;
            for i in 0..60 {
                let key = format!("entries/{i:03}");
                let body = format!("entry {i}");
                // Create-only writes, retried through the outage; an object already there
                // with these bytes (a write whose reply was lost) counts as written.
                let ok = retry(&policy, || {
                    let r = put_new_or_same(&s, &key, body.as_bytes());
                    if r.is_err() {
                        errors += 1;
                    }
                    r
                })
                .unwrap_or_else(|e| panic!("{key}: {e}"));
                assert!(ok, "{key} holds other bytes");
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            errors
        });
        while done.load(std::sync::atomic::Ordering::SeqCst) < 15 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        w.kill();
        std::thread::sleep(std::time::Duration::from_secs(1));
        w.restart();
        writer.join().unwrap()
    });
    assert!(errors_seen > 0, "the writer never saw the outage");
    let s = w.store("docseal-t5", "w");
    let page = s.list("entries/", None, 1000).unwrap();
    let keys: Vec<&str> = page.items.iter().map(|l| l.key.as_str()).collect();
    let want: Vec<String> = (0..60).map(|i| format!("entries/{i:03}")).collect();
    assert_eq!(keys, want);
    for (i, k) in want.iter().enumerate() {
        assert_eq!(
            s.get(k, 100).unwrap().unwrap().bytes,
            format!("entry {i}").as_bytes()
        );
    }
}
