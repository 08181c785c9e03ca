//! Hostile S3 endpoints (issue 17): an endpoint that accepts connections and never answers,
//! one that answers a byte a second, a slow but working one, and other replies no S3 server
//! sends (redirects elsewhere, lying lengths, compressed bodies, HTML error pages, huge
//! headers). docseal gives up in a bounded, documented time (`DOCSEAL_S3_DEADLINE`, one
//! storage operation) with exit 4 and one line naming the object and the cause, never a
//! credential; a slow but working server still works.
//!
//! The hostile endpoints are small HTTP servers in this file, on 127.0.0.1 (no tool needed).

use crate::common;
use crate::common::weed;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCESS: &str = "AKIAHOSTILEEXAMPLE";
const SECRET: &str = "hostile-secret-value-never-printed";

/// What a hostile endpoint does with one request (its head: request line and headers);
/// `false` closes the connection.
type Handler = dyn Fn(&mut TcpStream, &str) -> bool + Send + Sync;

/// A hostile HTTP endpoint on 127.0.0.1; stops when dropped.
struct Hostile {
    port: u16,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    fn start(handler: impl Fn(&mut TcpStream, &str) -> bool + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (n, halt) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            while !halt.load(Ordering::Relaxed) {
                let Ok((mut c, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (h, n, halt) = (handler.clone(), n.clone(), halt.clone());
                std::thread::spawn(move || {
                    c.set_nonblocking(false).unwrap();
                    c.set_read_timeout(Some(Duration::from_millis(200)))
                        .unwrap();
                    while !halt.load(Ordering::Relaxed) {
                        let Some(head) = read_head(&mut c, &halt) else {
                            return;
                        };
                        n.fetch_add(1, Ordering::Relaxed);
                        if !h(&mut c, &head) {
                            return;
                        }
                    }
                });
            }
        });
        Hostile {
            port,
            requests,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One request head (up to the blank line; at most 64 KiB), `None` at the end of the
/// connection or when the endpoint stops.
fn read_head(c: &mut TcpStream, halt: &AtomicBool) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if halt.load(Ordering::Relaxed) || head.len() > 64 << 10 {
            return None;
        }
        match c.read(&mut b) {
            Ok(0) => return None,
            Ok(_) => head.push(b[0]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Hold the connection without answering until the endpoint stops.
fn never_answer(c: &mut TcpStream, _: &str) -> bool {
    let mut b = [0u8; 1024];
    while c.read(&mut b).map_or(true, |n| n > 0) {}
    std::thread::sleep(Duration::from_secs(3600));
    false
}

/// The environment that points docseal at `endpoint` (`AWS_*`), with this deadline.
fn s3_env(endpoint: &str, deadline: Option<&str>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", ACCESS),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_REGION", "us-east-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(d) = deadline {
        v.push(("DOCSEAL_S3_DEADLINE".into(), d.into()));
    }
    v
}

/// Run docseal in `dir` with `env`; killed (and `None`) after `limit`.
fn run_within(
    dir: &Path,
    args: &[&str],
    env: &[(String, String)],
    limit: Duration,
) -> Option<(i32, String, Duration)> {
    let start = Instant::now();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_docseal"));
    c.current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let text = format!("{}{}", o.join().unwrap(), e.join().unwrap());
            return Some((status.code().unwrap_or(-1), text, start.elapsed()));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A key pair and one sealed bundle in `env` (`b.zip`).
fn key_and_bundle(env: &Env) -> (std::path::PathBuf, std::path::PathBuf) {
    let (key, public) = env.keygen("k");
    env.pack_text(
        "Hostile endpoints.\n",
        "T",
        "2026-11-27T12:00:00Z",
        &key,
        "b.zip",
        &[],
    );
    (key, public)
}

/// `docseal COMMAND --trust PUB EXTRA` against the endpoint `url` with
/// `DOCSEAL_S3_DEADLINE=deadline`, in a new directory with a key pair and `b.zip`
/// ([`key_and_bundle`]): its exit code and output; a panic if it still runs after `limit`
/// seconds.
fn run_against(
    url: &str,
    deadline: &str,
    command: &[&str],
    extra: &[&str],
    limit: u64,
) -> (i32, String) {
    let env = Env::new();
    let (_, public) = key_and_bundle(&env);
    let public = public.to_str().unwrap();
    let args: Vec<&str> = command
        .iter()
        .copied()
        .chain(["--trust", public])
        .chain(extra.iter().copied())
        .collect();
    let vars = s3_env(url, Some(deadline));
    let (code, text, _) = run_within(
        env.path("").as_path(),
        &args,
        &vars,
        Duration::from_secs(limit),
    )
    .unwrap_or_else(|| panic!("{args:?}: still running after {limit} s"));
    (code, text)
}

/// An endpoint that accepts connections and never answers held every command for about 10
/// minutes (a 60 s request timeout, retried by object_store and again by docseal, ten
/// times). Now one storage operation gives up after `DOCSEAL_S3_DEADLINE` (1 s here), is not
/// retried, and the command ends with exit 4 and one line naming the object, the endpoint
/// and the cause; later operations of the command are not tried.
#[test]
fn attack_hfetch_endpoint_that_never_answers_gives_up_within_the_deadline() {
    let h = Hostile::start(never_answer);
    let env = Env::new();
    let (key, public) = key_and_bundle(&env);
    let (key, public) = (key.to_str().unwrap(), public.to_str().unwrap());
    let vars = s3_env(&h.url(), Some("1"));
    let commands: [&[&str]; 4] = [
        &["verify", "s3://bkt/p", "--trust", public],
        &["archive", "audit", "s3://bkt/arch", "--trust", public],
        &["archive", "add", "s3://bkt/arch", "b.zip", "--key", key],
        &[
            "verify",
            "b.zip",
            "--trust",
            public,
            "--archive-key",
            public,
            "--archive",
            "s3://bkt/arch",
        ],
    ];
    for args in commands {
        let before = h.requests();
        let (code, text, took) =
            run_within(env.path("").as_path(), args, &vars, Duration::from_secs(30))
                .unwrap_or_else(|| panic!("{args:?}: still running after 30 s"));
        assert_eq!(code, 4, "{args:?}: {text}");
        assert!(
            text.contains(&format!(
                "{} did not answer within 1 s (DOCSEAL_S3_DEADLINE)",
                h.url()
            )),
            "{args:?}: {text}"
        );
        assert!(text.contains("s3://bkt/"), "{args:?}: {text}");
        assert!(!text.contains(SECRET) && !text.contains(ACCESS), "{text}");
        // One operation timed out, nothing after it was asked (object_store may have retried
        // that one request within its deadline).
        assert!(
            h.requests() - before <= 2,
            "{args:?}: {} requests",
            h.requests() - before
        );
        assert!(took < Duration::from_secs(20), "{args:?}: {took:?}");
        if args[0] == "archive" {
            let lines: Vec<&str> = text.trim().lines().collect();
            assert_eq!(lines.len(), 1, "{args:?}: {text}");
        }
    }
}

/// An endpoint that answers the object's size at once, then its bytes one a second: the
/// request never times out by itself (each byte resets a read timeout); the operation's
/// deadline ends it.
#[test]
fn attack_hfetch_one_byte_a_second_is_cut_by_the_deadline() {
    let h = Hostile::start(|c, head| {
        let size = 400_000;
        let common = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nETag: \"e\"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n"
        );
        if head.starts_with("HEAD ") {
            let _ = c.write_all(format!("{common}\r\n").as_bytes());
            return true;
        }
        // A range GET: 206 with the range asked for, then a byte a second.
        let _ = c.write_all(
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {size}\r\nContent-Range: bytes 0-{}/{size}\r\nETag: \"e\"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\nP",
                size - 1
            )
            .as_bytes(),
        );
        for _ in 0..3600 {
            std::thread::sleep(Duration::from_secs(1));
            if c.write_all(b"K").is_err() {
                return false;
            }
        }
        false
    });
    let (code, text) = run_against(&h.url(), "2", &["verify", "s3://bkt/p/x.zip"], &[], 40);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("s3://bkt/p/x.zip"), "{text}");
    assert!(
        text.contains("did not answer within 2 s (DOCSEAL_S3_DEADLINE)"),
        "{text}"
    );
}

/// A TCP proxy to `to` that holds every chunk a client sends for `delay` before passing it
/// on: each request takes at least `delay`.
fn slow_proxy(to: u16, delay: Duration) -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let halt = stop.clone();
    std::thread::spawn(move || {
        while !halt.load(Ordering::Relaxed) {
            let Ok((client, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            client.set_nonblocking(false).unwrap();
            let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                continue;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut b = vec![0u8; 1 << 16];
                while let Ok(n) = c_in.read(&mut b) {
                    if n == 0 {
                        break;
                    }
                    std::thread::sleep(delay);
                    if s_out.write_all(&b[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (port, stop)
}

/// A TCP proxy to `to` that passes everything on but the `stall`-th `PUT` request (counted
/// over all connections from 1): held unanswered until stopped, either not passed on (`done`
/// false) or passed on and done, its reply held.
fn stalling_proxy(to: u16, stall: usize, done: bool) -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let halt = stop.clone();
    let puts = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        while !halt.load(Ordering::Relaxed) {
            let Ok((client, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            client.set_nonblocking(false).unwrap();
            let Ok(server) = TcpStream::connect(("127.0.0.1", to)) else {
                continue;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (puts, halt) = (puts.clone(), halt.clone());
            let held = Arc::new(AtomicBool::new(false));
            let hold = held.clone();
            let wait = halt.clone();
            std::thread::spawn(move || {
                let mut b = vec![0u8; 1 << 16];
                while let Ok(n) = c_in.read(&mut b) {
                    if n == 0 {
                        break;
                    }
                    if b[..n].starts_with(b"PUT /")
                        && puts.fetch_add(1, Ordering::Relaxed) + 1 == stall
                    {
                        hold.store(true, Ordering::Relaxed);
                        if !done {
                            while !halt.load(Ordering::Relaxed) {
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            return;
                        }
                    }
                    if s_out.write_all(&b[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let mut b = vec![0u8; 1 << 16];
                while let Ok(n) = s_in.read(&mut b) {
                    if n == 0 {
                        break;
                    }
                    if held.load(Ordering::Relaxed) {
                        while !wait.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        return;
                    }
                    if c_out.write_all(&b[..n]).is_err() {
                        break;
                    }
                }
                let _ = c_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (port, stop)
}

/// An `archive add s3://` whose storage stops answering at each of its writes in turn (the
/// k-th PUT held unanswered, not done or done) gives up within `DOCSEAL_S3_DEADLINE`, exit 4,
/// one line naming the deadline; the next add (storage answering again) completes or adds, a
/// further add appends after it, and the archive audits clean: nothing half-written stays in
/// the way.
#[test]
fn attack_att6_deadline_missed_at_each_write_of_an_add_then_adds_complete() {
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let (key, public) = key_and_bundle(&env);
    env.pack_text(
        "Second.\n",
        "T2",
        "2026-11-27T12:00:00Z",
        &key,
        "b2.zip",
        &[],
    );
    let (key, public) = (key.to_str().unwrap(), public.to_str().unwrap());
    let port = w
        .env()
        .iter()
        .find(|(k, _)| k == "AWS_ENDPOINT_URL")
        .and_then(|(_, v)| v.rsplit(':').next()?.parse::<u16>().ok())
        .unwrap();
    let dir = env.path("");
    let direct = w.env();
    let run = |args: &[&str], vars: &[(String, String)]| {
        run_within(&dir, args, vars, Duration::from_secs(60)).expect("still running after 60 s")
    };
    let mut stalled = 0;
    for (k, done) in (1..40).flat_map(|k| [(k, false), (k, true)]) {
        let loc = format!("s3://docseal-stall/k{k}{done}");
        let (proxy, stop) = stalling_proxy(port, k, done);
        let mut vars = direct.clone();
        for (n, v) in &mut vars {
            if n == "AWS_ENDPOINT_URL" {
                *v = format!("http://127.0.0.1:{proxy}");
            }
        }
        vars.push(("DOCSEAL_S3_DEADLINE".into(), "1".into()));
        let (code, text, took) = run(&["archive", "add", &loc, "b.zip", "--key", key], &vars);
        stop.store(true, Ordering::Relaxed);
        if code == 0 {
            // Fewer PUTs than k: the add never stalled.
            assert!(text.contains("as entry 0"), "{text}");
            break;
        }
        stalled += 1;
        assert_eq!(code, 4, "PUT {k}: {text}");
        assert!(text.contains("DOCSEAL_S3_DEADLINE"), "PUT {k}: {text}");
        assert_eq!(text.trim().lines().count(), 1, "PUT {k}: {text}");
        assert!(took < Duration::from_secs(20), "PUT {k}: {took:?}");
        let (code, text, _) = run(&["archive", "add", &loc, "b.zip", "--key", key], &direct);
        assert_eq!(code, 0, "PUT {k}, then again: {text}");
        let (code, text, _) = run(&["archive", "add", &loc, "b2.zip", "--key", key], &direct);
        assert_eq!(code, 0, "PUT {k}, then b2: {text}");
        assert!(text.contains("as entry 1"), "PUT {k}, then b2: {text}");
        let (code, text, _) = run(&["archive", "audit", &loc, "--trust", public], &direct);
        assert_eq!(code, 0, "PUT {k}, audit: {text}");
        assert!(text.contains("2 entries"), "PUT {k}, audit: {text}");
    }
    assert!(stalled >= 10, "only {stalled} PUTs stalled");
}

/// A genuinely slow but working server (2 s before each request reaches it) still works:
/// the deadline bounds one operation, not the command, and a slow answer is not a missed
/// deadline (here 3 s; the default is 60 s).
#[test]
fn attack_hfetch_slow_but_working_server_still_works() {
    let Some(w) = weed::Weed::start() else { return };
    let env = Env::new();
    let (_, public) = key_and_bundle(&env);
    let s = w.store("docseal-slow", "");
    docseal::store::Store::put(&s, "p/b.zip", &std::fs::read(env.path("b.zip")).unwrap()).unwrap();
    let port = w
        .env()
        .iter()
        .find(|(k, _)| k == "AWS_ENDPOINT_URL")
        .and_then(|(_, v)| v.rsplit(':').next()?.parse::<u16>().ok())
        .unwrap();
    let (proxy, stop) = slow_proxy(port, Duration::from_secs(2));
    let mut vars = w.env();
    for (k, v) in &mut vars {
        if k == "AWS_ENDPOINT_URL" {
            *v = format!("http://127.0.0.1:{proxy}");
        }
    }
    vars.push(("DOCSEAL_S3_DEADLINE".into(), "3".into()));
    let args = [
        "verify",
        "s3://docseal-slow/p",
        "--trust",
        public.to_str().unwrap(),
    ];
    let r = run_within(
        env.path("").as_path(),
        &args,
        &vars,
        Duration::from_secs(60),
    );
    stop.store(true, Ordering::Relaxed);
    let (code, text, took) = r.expect("still running after 60 s");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("1 passed"), "{text}");
    // Each request waited: the proxy was in the way.
    assert!(took >= Duration::from_secs(4), "{took:?}");
}

/// `--out s3://...` (and every other path docseal writes) was taken as a local path: a
/// directory named `s3:` appeared. Now refused before anything is read or written: exit 2,
/// one line naming the flag and the location.
#[test]
fn attack_hfetch_out_to_s3_is_refused_not_a_local_directory() {
    let env = Env::new();
    let (key, public) = key_and_bundle(&env);
    let (key, public) = (key.to_str().unwrap(), public.to_str().unwrap());
    let article = env.path("b.zip.txt");
    let article = article.to_str().unwrap();
    let commands: [&[&str]; 9] = [
        &[
            "pack",
            article,
            "--url",
            SAMPLE_URL,
            "--title",
            "T",
            "--publisher",
            "P",
            "--published",
            "2018-09-11",
            "--key",
            key,
            "--out",
            "s3://bkt/x.zip",
        ],
        &[
            "archive",
            "prove",
            "s3://bkt/a",
            "b.zip",
            "--out",
            "s3://bkt/p.json",
        ],
        &[
            "archive",
            "prove-consistency",
            "arch",
            "--from",
            "1",
            "--out",
            "s3://bkt/c.json",
        ],
        &[
            "extract",
            "b.zip",
            "--trust",
            public,
            "--out",
            "s3://bkt/dir",
        ],
        &["web", "--out", "s3://bkt/page.html", "--trust", public],
        &["timestamp", "b.zip", "--request-out", "s3://bkt/r.tsq"],
        &["keygen", "s3://bkt/k", "--no-passphrase"],
        &["key", "trust", "s3://bkt/t.toml", public, "--name", "n"],
        &[
            "key",
            "revoke",
            "s3://bkt/t.toml",
            "n",
            "--reason",
            "retired",
        ],
    ];
    for args in commands {
        let d = env.cmd().args(args).fails(2);
        let err = d.stderr();
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("s3://bkt/") && err.contains("cannot be in s3://"),
            "{args:?}: {err}"
        );
        assert!(!env.path("s3:").exists(), "{args:?} made a directory s3:");
    }
}

/// `archive add s3:/bkt/arc` (one slash) wrote an archive into a local directory named `s3:`
/// and said it logged the bundle, and `S3://` did the same: a mistyped location is now
/// refused (exit 2, one line) by every command, before anything is written; `./s3:` still
/// names that local directory.
#[test]
fn attack_att6_mistyped_s3_location_writes_no_local_directory() {
    let env = Env::new();
    let (key, public) = key_and_bundle(&env);
    let (key, public) = (key.to_str().unwrap(), public.to_str().unwrap());
    let commands: [&[&str]; 5] = [
        &["archive", "add", "s3:/bkt/arc", "b.zip", "--key", key],
        &["archive", "add", "S3://bkt/arc", "b.zip", "--key", key],
        &["archive", "audit", "s3:/bkt/arc", "--trust", public],
        &["keygen", "s3:/bkt/k", "--no-passphrase"],
        &["extract", "b.zip", "--trust", public, "--out", "S3:/bkt/d"],
    ];
    for args in commands {
        let d = env.cmd().args(args).fails(2);
        let err = d.stderr();
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("s3:"), "{args:?}: {err}");
        for dir in ["s3:", "S3:"] {
            assert!(!env.path(dir).exists(), "{args:?} made a directory {dir}");
        }
    }
    env.cmd()
        .args(["archive", "add", "./s3:/bkt/arc", "b.zip", "--key", key])
        .ok();
    assert!(env.path("s3:/bkt/arc/bundles/b.zip").exists());
}

/// An endpoint answering with a redirect to another host (here another port) had the request
/// followed there, without its signature, and that host's answer read as the object's. Now
/// no redirect is followed: the other host gets no request, and the command fails at once
/// with one line saying the endpoint redirected (exit 2: not the bucket's endpoint).
#[test]
fn attack_hfetch_redirect_to_another_host_is_not_followed() {
    let other = Hostile::start(|c, _| {
        let body = "<html><body>not S3</body></html>";
        let _ = c.write_all(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"e\"\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        true
    });
    let to = other.url();
    let h = Hostile::start(move |c, head| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let _ = c.write_all(
            format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}{path}\r\nContent-Length: 0\r\n\r\n")
                .as_bytes(),
        );
        true
    });
    for (args, want) in [
        (&["archive", "audit", "s3://bkt/arch"][..], 2),
        (&["verify", "s3://bkt/p/x.zip"][..], 4),
    ] {
        let (code, text) = run_against(&h.url(), "5", args, &[], 60);
        assert_eq!(code, want, "{args:?}: {text}");
        assert!(
            text.contains("answered with a redirect (HTTP 307), which docseal does not follow"),
            "{args:?}: {text}"
        );
        assert!(!text.contains(SECRET) && !text.contains(ACCESS), "{text}");
    }
    assert!(h.requests() >= 2);
    assert_eq!(other.requests(), 0, "a redirect was followed");
}

/// The deadline does not stop the retries of answers that say "try again": HTTP 503 (and
/// 5xx, 429) are still retried, by object_store and by docseal, so a server that fails its
/// first requests then answers is read (here: it then says there is nothing, exit 2 "no
/// archive there", not a storage failure).
#[test]
fn attack_hfetch_5xx_is_still_retried_under_a_deadline() {
    let failing = Arc::new(AtomicUsize::new(6));
    let left = failing.clone();
    let h = Hostile::start(move |c, _| {
        let busy = left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        let status = if busy {
            "503 Service Unavailable"
        } else {
            "404 Not Found"
        };
        let _ = c.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
        true
    });
    let (code, text) = run_against(
        &h.url(),
        "5",
        &["archive", "audit", "s3://bkt/arch"],
        &[],
        120,
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("no archive there"), "{text}");
    assert_eq!(failing.load(Ordering::Relaxed), 0);
    assert!(h.requests() > 6);
}

/// `verify s3://B/P` of an object claiming 50 GB, past the bundle limits: refused by its
/// size (`limit.bundle_size`) with none of it downloaded but the first bounded GET's; the S3
/// store reserves no memory by the size the server claims.
#[test]
fn attack_hfetch_verify_s3_of_a_huge_object_reads_none_of_it() {
    let huge: u64 = 50 << 30;
    let sent = Arc::new(AtomicUsize::new(0));
    let out = sent.clone();
    let h = Hostile::start(move |c, head| {
        let meta = "ETag: \"e\"\r\nLast-Modified: Tue, 01 Dec 2026 00:00:00 GMT\r\n";
        if head.starts_with("GET /bkt?") {
            // The listing: one object, the huge one.
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>bkt</Name><Prefix>p/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>p/huge.zip</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified><ETag>\"e\"</ETag><Size>{huge}</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
            );
            let _ = c.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
            return true;
        }
        if head.starts_with("HEAD ") {
            let _ = c.write_all(
                format!("HTTP/1.1 200 OK\r\n{meta}Content-Length: {huge}\r\n\r\n").as_bytes(),
            );
            return true;
        }
        let range = head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("range: bytes=")
                .map(str::to_owned)
        });
        let Some((a, b)) = range.as_deref().and_then(|r| r.trim().split_once('-')) else {
            return false;
        };
        let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap_or(huge - 1));
        let b = b.min(huge - 1);
        let _ = c.write_all(
            format!(
                "HTTP/1.1 206 Partial Content\r\n{meta}Content-Range: bytes {a}-{b}/{huge}\r\nContent-Length: {}\r\n\r\n",
                b - a + 1
            )
            .as_bytes(),
        );
        let chunk = vec![0u8; 64 << 10];
        let mut left = b - a + 1;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if c.write_all(&chunk[..n]).is_err() {
                return false;
            }
            out.fetch_add(n, Ordering::Relaxed);
            left -= n as u64;
        }
        true
    });
    let (code, text) = run_against(
        &h.url(),
        "10",
        &["verify", "s3://bkt/p"],
        &["--max-entries", "20", "--max-total-size", "100000"],
        120,
    );
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("limit.bundle_size") && text.contains("s3://bkt/p/huge.zip"),
        "{text}"
    );
    // At most the first bounded GET (1 MiB + 1) was sent, none of it kept.
    assert!(
        sent.load(Ordering::Relaxed) <= (1 << 20) + 1,
        "{} bytes sent",
        sent.load(Ordering::Relaxed)
    );
}

/// A listing page answered with gigabytes: object_store reads a page whole into memory, so a
/// 512 MiB reply cost a `verify s3://` 2.1 GB of peak RSS (and a larger one all the memory
/// there is). Now every reply body is bounded (by the range asked for, else 16 MiB), whether
/// its `Content-Length` says so at once or a chunked body runs on: refused as a one-line error
/// naming the endpoint, after at most the bound (exit 2 for an audit, `io.read` for verify).
#[test]
fn attack_hfetch_endless_listing_reply_is_cut_at_its_bound() {
    for chunked in [false, true] {
        let sent = Arc::new(AtomicUsize::new(0));
        let out = sent.clone();
        let h = Hostile::start(move |c, req| {
            if !req.contains("list-type=2") {
                let _ = c.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                return true;
            }
            let head = if chunked {
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_string()
            } else {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", 4u64 << 30)
            };
            if c.write_all(head.as_bytes()).is_err() {
                return false;
            }
            let junk = vec![b'a'; 1 << 16];
            for _ in 0..(1 << 16) {
                let ok = if chunked {
                    c.write_all(format!("{:x}\r\n", junk.len()).as_bytes())
                        .is_ok()
                        && c.write_all(&junk).is_ok()
                        && c.write_all(b"\r\n").is_ok()
                } else {
                    c.write_all(&junk).is_ok()
                };
                if !ok {
                    return false;
                }
                out.fetch_add(junk.len(), Ordering::Relaxed);
            }
            false
        });
        let (code, text) = run_against(
            &h.url(),
            "30",
            &["archive", "audit", "s3://bkt/arch"],
            &[],
            60,
        );
        assert_eq!(code, 2, "chunked {chunked}: {text}");
        assert_eq!(text.trim().lines().count(), 1, "{text}");
        // Cut by the reply bound (16 MiB) or, first, by the listing's own (8 MiB).
        assert!(
            text.contains(&format!(
                "{}: the reply is longer than the 16777216 bytes asked for",
                h.url()
            )) || text.contains("listing refused: a reply of more than 8388608 bytes"),
            "chunked {chunked}: {text}"
        );
        // At most the bound and what the sockets buffer.
        let n = sent.load(Ordering::Relaxed);
        assert!(n < 32 << 20, "chunked {chunked}: {n} bytes sent");
    }
}
