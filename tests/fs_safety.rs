//! Issue #20, "Safe on a real machine": special files, symlinks, endless inputs, crashes and
//! permissions. These tests run as root where they can (device nodes are made with mknod, in a
//! temp dir, never /dev itself), and check the file-system guarantees listed in
//! docs/SECURITY.md ("File-system guarantees").
#![cfg(target_os = "linux")]

use crate::common;

use common::Env;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A temp dir with a key pair (k.key, k.pub) and a sealed bundle good.zip.
struct Fx {
    env: Env,
    key: PathBuf,
    public: PathBuf,
}

impl Fx {
    fn new() -> Fx {
        let env = Env::new();
        let (key, public) = env.keygen("k");
        env.pack_sample(&key, "good.zip");
        Fx { env, key, public }
    }
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_docseal"));
        c.current_dir(self.env.dir.path());
        c
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.env.path(rel)
    }
}

/// Run `cmd` (stdin closed unless set) and wait at most `secs`: a command still running then
/// blocked (on a FIFO, an endless input) and fails the test.
fn run_within(mut cmd: Command, secs: u64) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn docseal");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "blocked: still running after {secs} s: {cmd:?}\nstderr: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Run with stdin closed; require exit `code` and a one-line error containing `want`.
fn refused(mut cmd: Command, code: i32, want: &str) -> String {
    cmd.stdin(Stdio::null());
    let o = run_within(cmd, 30);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {err}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(err.contains(want), "want {want:?} in: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

fn ok(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null());
    let o = run_within(cmd, 60);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A character device node like /dev/null (1, 3), made in `path`.
fn mknod_null(path: &Path) {
    use rustix::fs::{FileType, Mode};
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        FileType::CharacterDevice,
        Mode::from_raw_mode(0o666),
        rustix::fs::makedev(1, 3),
    )
    .expect("mknod (tests run as root)");
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
}

fn is_char_device(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Names in `dir` that a docseal run leaves only when it was interrupted.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".docseal-") || n.ends_with(".lock"))
        .collect()
}

fn pack_args(fx: &Fx, article: &str, out: &str) -> Vec<String> {
    let mut a = common::sample_pack_args(&fx.key, out);
    a[1] = article.to_string();
    a
}

// ---------------------------------------------------------------------------------------------
// Item 1: trust files are regular files (or absent); mode and owner kept.

#[test]
fn issue20_item1_key_trust_refuses_a_char_device_and_leaves_it() {
    let fx = Fx::new();
    let node = fx.path("null");
    mknod_null(&node);
    let mut c = fx.cmd();
    c.args(["key", "trust", "null"])
        .arg(&fx.public)
        .args(["--name", "k"]);
    refused(c, 2, "character device");
    assert!(is_char_device(&node), "the device node survives");
    let mut c = fx.cmd();
    c.args(["key", "revoke", "null", "k", "--reason", "retired"]);
    refused(c, 2, "character device");
    assert!(is_char_device(&node));
    // Through a symlink to it: the same.
    std::os::unix::fs::symlink(&node, fx.path("link.toml")).unwrap();
    let mut c = fx.cmd();
    c.args(["key", "trust", "link.toml"])
        .arg(&fx.public)
        .args(["--name", "k"]);
    refused(c, 2, "character device");
    assert!(is_char_device(&node));
    assert!(fs::symlink_metadata(fx.path("link.toml"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(
        leftovers(fx.env.dir.path()).is_empty(),
        "{:?}",
        leftovers(fx.env.dir.path())
    );
}

#[test]
fn issue20_item1_trust_file_fifo_is_refused_without_blocking() {
    let fx = Fx::new();
    mkfifo(&fx.path("t.toml"));
    let mut c = fx.cmd();
    c.args(["key", "trust", "t.toml"])
        .arg(&fx.public)
        .args(["--name", "k"]);
    refused(c, 2, "FIFO");
    let mut c = fx.cmd();
    c.args(["key", "list", "t.toml"]);
    refused(c, 2, "FIFO");
    assert!(fs::symlink_metadata(fx.path("t.toml"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn issue20_item1_hard_linked_trust_file_is_refused() {
    let fx = Fx::new();
    let mut c = fx.cmd();
    c.args(["key", "trust", "t.toml"])
        .arg(&fx.public)
        .args(["--name", "k"]);
    ok(c);
    fs::hard_link(fx.path("t.toml"), fx.path("other.toml")).unwrap();
    let before = fs::read(fx.path("t.toml")).unwrap();
    let mut c = fx.cmd();
    c.args(["key", "revoke", "t.toml", "k", "--reason", "compromised"]);
    refused(c, 2, "hard links");
    assert_eq!(fs::read(fx.path("t.toml")).unwrap(), before);
    assert_eq!(
        fs::metadata(fx.path("t.toml")).unwrap().nlink(),
        2,
        "links kept"
    );
}

#[test]
fn issue20_item1_trust_file_edit_keeps_mode_and_owner_and_symlink() {
    let fx = Fx::new();
    fs::create_dir(fx.path("etc")).unwrap();
    let real = fx.path("etc/trust.toml");
    let mut c = fx.cmd();
    c.args(["key", "trust", "etc/trust.toml"])
        .arg(&fx.public)
        .args(["--name", "k"]);
    ok(c);
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(&real, Some(1234), Some(5678)).unwrap();
    std::os::unix::fs::symlink("etc/trust.toml", fx.path("T.toml")).unwrap();
    let mut c = fx.cmd();
    c.args(["key", "revoke", "T.toml", "k", "--reason", "compromised"]);
    ok(c);
    assert!(fs::symlink_metadata(fx.path("T.toml"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::read_to_string(&real).unwrap().contains("compromised"));
    assert_eq!(mode(&real), 0o640, "mode kept");
    let m = fs::metadata(&real).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 5678), "owner kept");
    assert!(leftovers(&fx.path("etc")).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Item 2: --force replaces only a regular file or a symlink itself.

#[test]
fn issue20_item2_force_never_replaces_devices_fifos_or_directories() {
    let fx = Fx::new();
    mknod_null(&fx.path("dev"));
    mkfifo(&fx.path("fifo"));
    fs::create_dir(fx.path("dir")).unwrap();
    for (name, want) in [
        ("dev", "character device"),
        ("fifo", "FIFO"),
        ("dir", "directory"),
    ] {
        let mut c = fx.cmd();
        c.args(pack_args(
            &fx,
            &common::sample_article().display().to_string(),
            name,
        ))
        .arg("--force");
        refused(c, 2, want);
        // Every atomic output goes the same way (archive prove --out, trust files, ...).
        let e = docseal::atomic::write(&fx.path(name), b"x", true).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    assert!(is_char_device(&fx.path("dev")));
    assert!(fs::symlink_metadata(fx.path("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert!(fx.path("dir").is_dir());
    assert!(leftovers(fx.env.dir.path()).is_empty());
}

#[test]
fn issue20_item2_force_replaces_a_symlink_itself_never_its_target() {
    let fx = Fx::new();
    fs::write(fx.path("target.txt"), b"theirs").unwrap();
    std::os::unix::fs::symlink("target.txt", fx.path("out.zip")).unwrap();
    let mut c = fx.cmd();
    c.args(pack_args(
        &fx,
        &common::sample_article().display().to_string(),
        "out.zip",
    ))
    .arg("--force");
    ok(c);
    assert_eq!(fs::read(fx.path("target.txt")).unwrap(), b"theirs");
    assert!(fs::symlink_metadata(fx.path("out.zip")).unwrap().is_file());
    // A regular file is replaced, with mode 0644.
    assert_eq!(mode(&fx.path("out.zip")), 0o644);
}

// ---------------------------------------------------------------------------------------------
// Item 3: extract --force never writes through a directory swapped for a symlink.

#[test]
fn issue20_item3_extract_force_race_with_rename_exchange_never_writes_outside() {
    use docseal::trust::{Trust, TrustedKey};
    let fx = Fx::new();
    let pk = docseal::keyfile::read_public_key(&fx.public).unwrap();
    let trust = Trust::new(vec![TrustedKey::plain(pk)]);
    let opts = docseal::verify::Options::default();
    let outside = fx.path("outside");
    let out = fx.path("out");
    fs::create_dir(&outside).unwrap();
    fs::create_dir(&out).unwrap();
    fs::create_dir(out.join("data")).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("link")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (out, stop) = (out.clone(), stop.clone());
        std::thread::spawn(move || {
            let dir = rustix::fs::open(
                &out,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
                rustix::fs::Mode::empty(),
            )
            .unwrap();
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    &dir,
                    "data",
                    &dir,
                    "link",
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    let (mut written, mut refused) = (0, 0);
    for _ in 0..300 {
        match docseal::verify::extract(&fx.path("good.zip"), &trust, &opts, &out, true) {
            Ok(_) => written += 1,
            Err(_) => refused += 1,
        }
        let escaped: Vec<_> = fs::read_dir(&outside).unwrap().collect();
        assert!(escaped.is_empty(), "written outside: {escaped:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 100, "the race ran ({swaps} swaps)");
    assert!(written + refused == 300);
    // Whatever was written is under out, in the real directory (by either name).
    assert!(fs::read_dir(&outside).unwrap().next().is_none());
}

// ---------------------------------------------------------------------------------------------
// Item 5: bounded inputs.

#[test]
fn issue20_item5_pack_refuses_endless_inputs_and_leaves_nothing() {
    let fx = Fx::new();
    let art = common::sample_article().display().to_string();
    // A device as the article or an attachment.
    let mut c = fx.cmd();
    c.args(pack_args(&fx, "/dev/zero", "a.zip"));
    refused(c, 2, "character device");
    let mut c = fx.cmd();
    c.args(pack_args(&fx, &art, "a.zip"))
        .args(["--attach", "/dev/zero"]);
    refused(c, 2, "character device");
    // Standard input without end: read up to the limit, then refused.
    let mut c = fx.cmd();
    c.args(pack_args(&fx, "-", "a.zip"))
        .args(["--max-file-size", "1000000"])
        .stdin(fs::File::open("/dev/zero").unwrap());
    let o = run_within(c, 30);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger than 1000000 bytes"));
    // Regular files over the per-file and per-bundle limits.
    fs::write(fx.path("big.bin"), vec![7u8; 3000]).unwrap();
    let mut c = fx.cmd();
    c.args(pack_args(&fx, &art, "a.zip"))
        .args(["--attach", "big.bin", "--max-file-size", "2000"]);
    refused(c, 2, "larger than 2000 bytes");
    let mut c = fx.cmd();
    c.args(pack_args(&fx, &art, "a.zip"))
        .args(["--attach", "big.bin", "--max-total-size", "5000"]);
    refused(c, 2, "more than 5000 bytes");
    // The same limits for each job of a batch.
    let job = serde_json::json!({
        "article": art, "url": "https://e.com/a", "title": "t", "publisher": "p",
        "published": "2020-01-01", "attach": ["big.bin"], "out": "j.zip"
    });
    fs::write(fx.path("jobs.jsonl"), format!("{job}\n")).unwrap();
    let mut c = fx.cmd();
    c.args(["pack", "--batch", "jobs.jsonl", "--out-dir", "b", "--key"])
        .arg(&fx.key)
        .args(["--max-file-size", "2000"])
        .stdin(Stdio::null());
    let o = run_within(c, 60);
    assert_eq!(o.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(all.contains("larger than 2000 bytes"), "{all}");
    assert!(!fx.path("b/j.zip").exists());
    assert!(!fx.path("a.zip").exists());
    assert!(leftovers(fx.env.dir.path()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Item 6: FIFOs never block; special files refused where a regular file is expected.

#[test]
fn issue20_item6_fifos_are_refused_without_blocking_everywhere() {
    let fx = Fx::new();
    let art = common::sample_article().display().to_string();
    mkfifo(&fx.path("fifo"));
    mkfifo(&fx.path("fifo.zip"));
    let pk = fx.public.display().to_string();
    let key = fx.key.display().to_string();
    // Exit codes: 2 for a refused input, 4 when verify or inspect could not read the one path
    // given (docs/VERIFY.md), 1 for a failed check.
    let cases: Vec<(Vec<String>, i32)> = vec![
        (pack_args(&fx, "fifo", "a.zip"), 2),
        (
            [
                pack_args(&fx, &art, "a.zip"),
                vec!["--attach".into(), "fifo".into()],
            ]
            .concat(),
            2,
        ),
        (
            [
                pack_args(&fx, &art, "a.zip"),
                vec!["--supersedes".into(), "fifo.zip".into()],
            ]
            .concat(),
            1,
        ),
        (
            {
                let mut a = pack_args(&fx, &art, "a.zip");
                let i = a.iter().position(|x| x == "--key").unwrap();
                a[i + 1] = "fifo".into();
                a
            },
            2,
        ),
        (
            vec![
                "verify".into(),
                "fifo.zip".into(),
                "--trust".into(),
                pk.clone(),
            ],
            4,
        ),
        (vec!["inspect".into(), "fifo.zip".into()], 4),
        (
            vec![
                "extract".into(),
                "fifo.zip".into(),
                "--trust".into(),
                pk.clone(),
                "--out".into(),
                "x".into(),
            ],
            2,
        ),
        (
            vec![
                "cosign".into(),
                "fifo.zip".into(),
                "--key".into(),
                key.clone(),
            ],
            2,
        ),
        (vec!["history".into(), "fifo.zip".into()], 1),
        (
            vec![
                "verify".into(),
                "good.zip".into(),
                "--trust".into(),
                "fifo".into(),
            ],
            2,
        ),
        (
            vec![
                "pack".into(),
                "--batch".into(),
                "fifo".into(),
                "--out-dir".into(),
                "b".into(),
                "--key".into(),
                key.clone(),
            ],
            2,
        ),
        (
            vec![
                "pack".into(),
                "--batch".into(),
                "/dev/zero".into(),
                "--out-dir".into(),
                "b".into(),
                "--key".into(),
                key.clone(),
            ],
            2,
        ),
    ];
    for (args, code) in cases {
        let mut c = fx.cmd();
        c.args(&args).stdin(Stdio::null());
        let o = run_within(c, 30);
        let err = String::from_utf8_lossy(&o.stderr);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{args:?}\nstdout: {out}\nstderr: {err}"
        );
        assert!(
            err.contains("FIFO")
                || out.contains("FIFO")
                || err.contains("character device")
                // --supersedes and history show only the finding's code (without blocking).
                || format!("{out}{err}").contains("fifo.zip: io.read")
                || err.contains("fifo.zip: refused: io.read"),
            "{args:?}: {out} {err}"
        );
    }
    // A passphrase file that is a FIFO with no writer reads as empty, at once.
    let mut c = fx.cmd();
    c.args(["keygen", "enc", "--passphrase-file", "fifo"]);
    let o = run_within(c, 30);
    assert_ne!(o.status.code(), Some(0));
    // A --trust directory considers only regular files: a FIFO named x.pub is skipped.
    fs::create_dir(fx.path("keys")).unwrap();
    fs::copy(&fx.public, fx.path("keys/k.pub")).unwrap();
    mkfifo(&fx.path("keys/x.pub"));
    mkfifo(&fx.path("keys/y.toml"));
    let mut c = fx.cmd();
    c.args(["verify", "good.zip", "--trust", "keys"]);
    ok(c);
}

#[test]
fn issue20_item6_an_endless_jobs_line_ends_the_batch_with_an_error() {
    use std::io::BufReader;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = docseal::batch::JobReader::new(BufReader::new(std::io::repeat(b'x')));
        let first = r
            .next()
            .map(|(line, item)| (line, item.map(|_| ()).map_err(|e| e.to_string())));
        let after = r.next().is_none();
        let _ = tx.send((first, after));
    });
    let (first, after) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("an endless line must not spin forever");
    let (line, res) = first.expect("one item");
    assert_eq!(line, 1);
    let e = res.unwrap_err();
    assert!(e.contains("longer than"), "{e}");
    assert!(after, "nothing is read after it");
}

// ---------------------------------------------------------------------------------------------
// Item 7: kill -9 at any moment leaves nothing to repair by hand.

/// Start `cmd`, kill it with SIGKILL after `delay`, and wait for it.
fn kill_after(mut cmd: Command, delay: Duration) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[test]
fn issue20_item7_kill_9_during_pack_leaves_no_temp_file() {
    let fx = Fx::new();
    // An article big enough for the kill to land while it is written.
    let big: Vec<u8> = (0..40u32 << 20).map(|i| (i % 251) as u8).collect();
    fs::write(fx.path("big.txt"), &big).unwrap();
    fs::create_dir(fx.path("out")).unwrap();
    for i in 0..20u64 {
        let mut c = fx.cmd();
        c.args(pack_args(&fx, "big.txt", "out/a.zip"))
            .arg("--force");
        kill_after(c, Duration::from_millis(5 + i * 15));
        assert!(
            leftovers(&fx.path("out")).is_empty(),
            "kill {i}: {:?}",
            leftovers(&fx.path("out"))
        );
        // The bundle is either absent or whole.
        if fx.path("out/a.zip").exists() {
            let mut c = fx.cmd();
            c.args(["verify", "out/a.zip", "--trust"]).arg(&fx.public);
            ok(c);
        }
    }
    let mut c = fx.cmd();
    c.args(pack_args(&fx, "big.txt", "out/a.zip"))
        .arg("--force");
    ok(c);
    assert!(leftovers(&fx.path("out")).is_empty());
}

#[test]
fn issue20_item7_kill_9_during_cosign_and_extract_and_key_trust_leaves_nothing_next_run_works() {
    let fx = Fx::new();
    let (k2, p2) = fx.env.keygen("k2");
    let big: Vec<u8> = (0..20u32 << 20).map(|i| (i % 253) as u8).collect();
    fs::write(fx.path("big.txt"), &big).unwrap();
    let mut c = fx.cmd();
    c.args(pack_args(&fx, "big.txt", "big.zip"));
    ok(c);
    fs::write(fx.path("pubs"), b"").unwrap();
    for i in 0..12u64 {
        let delay = Duration::from_millis(2 + i * 12);
        let mut c = fx.cmd();
        c.args(["cosign", "big.zip", "--key"]).arg(&k2);
        kill_after(c, delay);
        let mut c = fx.cmd();
        c.args(["extract", "big.zip", "--trust"])
            .arg(&fx.public)
            .args(["--out", "x", "--force"]);
        kill_after(c, delay);
        let mut c = fx.cmd();
        c.args(["key", "trust", "t.toml"])
            .arg(&p2)
            .args(["--name", &format!("k{i}")]);
        kill_after(c, Duration::from_micros(200 + i * 300));
        let _ = fs::remove_file(fx.path("t.toml"));
    }
    // Whatever a kill left, the next runs finish the work and leave nothing behind.
    std::thread::sleep(Duration::from_millis(2100));
    let mut c = fx.cmd();
    c.args(["key", "trust", "t.toml"])
        .arg(&p2)
        .args(["--name", "k2"]);
    ok(c);
    let mut c = fx.cmd();
    c.args(["extract", "big.zip", "--trust"])
        .arg(&fx.public)
        .args(["--out", "x", "--force"]);
    ok(c);
    let mut c = fx.cmd();
    c.args(["cosign", "big.zip", "--key"]).arg(&k2);
    let o = run_within(c, 60);
    // Co-signed now, or already by a run that finished before its kill.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() || err.contains("already co-signed"),
        "{err}"
    );
    assert!(
        leftovers(fx.env.dir.path()).is_empty(),
        "{:?}",
        leftovers(fx.env.dir.path())
    );
    let mut c = fx.cmd();
    c.args(["verify", "big.zip", "--trust"]).arg(&fx.public);
    ok(c);
}

// ---------------------------------------------------------------------------------------------
// Item 9: rewrites keep the mode; extract fills an existing directory.

#[test]
fn issue20_item9_cosign_keeps_mode_and_owner() {
    let fx = Fx::new();
    let (k2, _) = fx.env.keygen("k2");
    let b = fx.path("good.zip");
    fs::set_permissions(&b, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::chown(&b, Some(1234), Some(5678)).unwrap();
    // A second hard link keeps the bundle as it was (documented: cosign replaces the name).
    fs::hard_link(&b, fx.path("other.zip")).unwrap();
    let before = fs::read(&b).unwrap();
    let mut c = fx.cmd();
    c.args(["cosign", "good.zip", "--key"]).arg(&k2);
    ok(c);
    assert_eq!(mode(&b), 0o600, "a 0600 bundle stays 0600");
    let m = fs::metadata(&b).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 5678));
    assert_ne!(fs::read(&b).unwrap(), before);
    assert_eq!(fs::read(fx.path("other.zip")).unwrap(), before);
}

#[test]
fn issue20_item9_extract_fills_an_existing_empty_directory() {
    let fx = Fx::new();
    let out = fx.path("out");
    fs::create_dir(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::chown(&out, Some(1234), Some(5678)).unwrap();
    let ino = fs::metadata(&out).unwrap().ino();
    let mut c = fx.cmd();
    c.args(["extract", "good.zip", "--trust"])
        .arg(&fx.public)
        .args(["--out", "out"]);
    ok(c);
    let m = fs::metadata(&out).unwrap();
    assert_eq!(m.ino(), ino, "the same directory, filled");
    assert_eq!(m.permissions().mode() & 0o7777, 0o750);
    assert_eq!((m.uid(), m.gid()), (1234, 5678));
    assert!(out.join("bagit.txt").is_file());
    assert!(leftovers(fx.env.dir.path()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Item 11: secret keys are never sealed.

#[test]
fn issue20_item11_secret_key_files_are_refused_as_inputs() {
    let fx = Fx::new();
    let art = common::sample_article().display().to_string();
    let mut c = fx.cmd();
    c.args(pack_args(&fx, "k.key", "a.zip"));
    refused(c, 2, "secret key");
    let mut c = fx.cmd();
    c.args(pack_args(&fx, &art, "a.zip"))
        .args(["--attach", "k.key"]);
    refused(c, 2, "secret key");
    // Through standard input too.
    let mut c = fx.cmd();
    c.args(pack_args(&fx, "-", "a.zip"))
        .stdin(fs::File::open(&fx.key).unwrap());
    let o = run_within(c, 30);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("secret key"));
    // An encrypted minisign key (made by minisign's format: docseal keygen with a passphrase).
    fs::write(fx.path("pass"), b"correct horse\n").unwrap();
    let mut c = fx.cmd();
    c.args(["keygen", "enc", "--passphrase-file", "pass"]);
    ok(c);
    let mut c = fx.cmd();
    c.args(pack_args(&fx, &art, "a.zip"))
        .args(["--attach", "enc.key"]);
    refused(c, 2, "secret key");
    // A jobs file naming the key: that job fails, nothing sealed.
    let job = serde_json::json!({
        "article": art, "url": "https://e.com/a", "title": "t", "publisher": "p",
        "published": "2020-01-01", "attach": ["k.key"], "out": "j.zip"
    });
    fs::write(fx.path("jobs.jsonl"), format!("{job}\n")).unwrap();
    let mut c = fx.cmd();
    c.args(["pack", "--batch", "jobs.jsonl", "--out-dir", "b", "--key"])
        .arg(&fx.key);
    c.stdin(Stdio::null());
    let o = run_within(c, 60);
    assert_ne!(o.status.code(), Some(0));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(all.contains("secret key"), "{all}");
    assert!(!fx.path("b/j.zip").exists());
    assert!(!fx.path("a.zip").exists());
}

#[test]
fn issue20_item11_batch_base_confines_job_paths() {
    let fx = Fx::new();
    fs::create_dir(fx.path("base")).unwrap();
    fs::write(fx.path("base/in.txt"), b"inside").unwrap();
    fs::write(fx.path("secret.txt"), b"outside").unwrap();
    std::os::unix::fs::symlink(fx.path("secret.txt"), fx.path("base/link.txt")).unwrap();
    let job = |article: &str, out: &str| {
        serde_json::json!({
            "article": article, "url": "https://e.com/a", "title": "t", "publisher": "p",
            "published": "2020-01-01", "out": out
        })
        .to_string()
    };
    let outside = fx.path("secret.txt").display().to_string();
    let lines = [
        job("in.txt", "in.zip"),
        job("../secret.txt", "dots.zip"),
        job(&outside, "abs.zip"),
        job("link.txt", "link.zip"),
    ];
    fs::write(fx.path("jobs.jsonl"), lines.join("\n") + "\n").unwrap();
    let mut c = fx.cmd();
    c.args([
        "pack",
        "--batch",
        "jobs.jsonl",
        "--base",
        "base",
        "--out-dir",
        "b",
        "--key",
    ])
    .arg(&fx.key)
    .stdin(Stdio::null());
    let o = run_within(c, 60);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(fx.path("b/in.zip").is_file(), "{all}");
    for name in ["dots.zip", "abs.zip", "link.zip"] {
        assert!(!fx.path("b").join(name).exists(), "{name}: {all}");
    }
    assert!(
        all.contains(
            "outside the base directory (absolute, or with ..); job paths are confined to --base DIR"
        ),
        "{all}"
    );
    assert!(all.contains("through a symbolic link"), "{all}");
    // Without --base, the same jobs file (relative to its own directory) may name any file:
    // documented, the operator's authority.
}

// ---------------------------------------------------------------------------------------------
// Attacks found after issue 20 (wip/fix20b).

/// `archive add` checked `bundles/` with lstat and then changed its mode by path (following a
/// link): a `bundles/` swapped for a link to a victim file in between made docseal chmod the
/// victim 0755. Permissions are now read and changed on a descriptor opened O_NOFOLLOW.
#[test]
fn attack_archive_add_race_never_chmods_through_a_swapped_link() {
    let fx = Fx::new();
    let sk = common::secret_key(&fx.key);
    let limits = docseal::zipfmt::Limits::default();
    let arch = fx.path("A");
    let good = fx.path("good.zip");
    docseal::archive::add(&arch, std::slice::from_ref(&good), &sk, None, &limits).unwrap();
    let victim = fx.path("victim");
    fs::write(&victim, b"secret").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&victim, arch.join("evil")).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (arch, stop) = (arch.clone(), stop.clone());
        std::thread::spawn(move || {
            let dir = rustix::fs::open(
                &arch,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
                rustix::fs::Mode::empty(),
            )
            .unwrap();
            let mut swaps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    &dir,
                    "bundles",
                    &dir,
                    "evil",
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    let mut changed = None;
    for i in 0..400 {
        let _ = docseal::archive::add_wait(
            &arch,
            std::slice::from_ref(&good),
            &sk,
            None,
            &limits,
            Duration::from_millis(0),
        );
        if mode(&victim) != 0o600 {
            changed = Some(i);
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 100, "the race ran ({swaps} swaps)");
    assert_eq!(
        changed,
        None,
        "victim's mode changed to {:o} after an add",
        mode(&victim)
    );
}

/// A world-writable archive root was kept by `archive add` and passed `archive audit`.
#[test]
fn attack_world_writable_archive_root_is_tightened_and_audited() {
    let fx = Fx::new();
    let arch = fx.path("A");
    fs::create_dir(&arch).unwrap();
    fs::set_permissions(&arch, fs::Permissions::from_mode(0o777)).unwrap();
    let add = |arch: &str| {
        let mut c = fx.cmd();
        c.args(["archive", "add", arch, "good.zip", "--key"])
            .arg(&fx.key);
        ok(c);
    };
    add("A");
    assert_eq!(mode(&arch), 0o755, "add tightens the root");
    // Made writable again behind docseal's back: audit says so.
    let trust = fx.public.to_string_lossy().into_owned();
    for rel in ["", "bundles", "log"] {
        let p = if rel.is_empty() {
            arch.clone()
        } else {
            arch.join(rel)
        };
        let old = mode(&p);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o777)).unwrap();
        let mut c = fx.cmd();
        c.args(["archive", "audit", "A", "--trust", &trust, "--json"]);
        c.stdin(Stdio::null());
        let o = run_within(c, 60);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_ne!(o.status.code(), Some(0), "audit fails for {rel:?}: {out}");
        assert!(
            out.contains("archive.writable_by_others"),
            "finding for {rel:?}: {out}"
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(old)).unwrap();
    }
    let mut c = fx.cmd();
    c.args(["archive", "audit", "A", "--trust", &trust]);
    ok(c);
}

/// Two `cosign`s of one bundle at once: each read the old bundle and the last rename won, so a
/// co-signature was lost while both exited 0. The bundle is now locked for the whole
/// read-rebuild-rename; every round ends with both co-signatures, or a command that failed.
#[test]
fn attack_concurrent_cosigns_never_lose_a_signature() {
    let fx = Fx::new();
    let (k2, _) = fx.env.keygen("k2");
    let (k3, _) = fx.env.keygen("k3");
    let original = fs::read(fx.path("good.zip")).unwrap();
    let (mut both, mut failed) = (0, 0);
    for round in 0..10 {
        let b = fx.path("b.zip");
        fs::write(&b, &original).unwrap();
        let spawn = |k: &Path| {
            let mut c = fx.cmd();
            c.args(["cosign", "b.zip", "--key"]).arg(k);
            c.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        };
        let (c2, c3) = (spawn(&k2), spawn(&k3));
        let (o2, o3) = (
            c2.wait_with_output().unwrap(),
            c3.wait_with_output().unwrap(),
        );
        let names: Vec<String> = common::entries(&fs::read(&b).unwrap())
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with("tagmanifest-sha256.txt.") && n.ends_with(".minisig"))
            .filter(|n| n != "tagmanifest-sha256.txt.minisig")
            .collect();
        if o2.status.success() && o3.status.success() {
            assert_eq!(names.len(), 2, "round {round}: both exited 0 but {names:?}");
            both += 1;
        } else {
            failed += 1;
            let n_ok = [&o2, &o3].iter().filter(|o| o.status.success()).count();
            assert_eq!(names.len(), n_ok, "round {round}: {names:?}");
        }
    }
    assert_eq!(both + failed, 10);
}

/// Make `path` look left by a crash long ago.
fn age(path: &Path) {
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let f = fs::File::open(path).unwrap();
    f.set_modified(old).unwrap();
}

/// Crash cleanup removed any `.docseal-*.tmp` file and `.docseal-extract-*` directory beside
/// an output, whoever owned it: run as root in a shared sticky directory, it deleted other
/// users' data. Only the running user's own leftovers are removed now.
#[test]
fn attack_crash_cleanup_never_removes_other_users_files() {
    let fx = Fx::new();
    let shared = fx.path("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let theirs_tmp = shared.join(".docseal-theirs.tmp");
    fs::write(&theirs_tmp, b"another user's data").unwrap();
    std::os::unix::fs::chown(&theirs_tmp, Some(1234), Some(1234)).unwrap();
    age(&theirs_tmp);
    let theirs_stage = shared.join(".docseal-extract-theirs");
    fs::create_dir(&theirs_stage).unwrap();
    fs::write(theirs_stage.join("work.txt"), b"another user's work").unwrap();
    std::os::unix::fs::chown(&theirs_stage, Some(1234), Some(1234)).unwrap();
    age(&theirs_stage);
    // Our own crash leftovers still go.
    let ours_tmp = shared.join(".docseal-ours.tmp");
    fs::write(&ours_tmp, b"x").unwrap();
    age(&ours_tmp);
    let ours_stage = shared.join(".docseal-extract-ours");
    fs::create_dir(&ours_stage).unwrap();
    age(&ours_stage);

    let mut c = fx.cmd();
    c.args(["extract", "good.zip", "--trust"])
        .arg(&fx.public)
        .args(["--out", "shared/out"]);
    ok(c);
    let mut c = fx.cmd();
    c.args(pack_args(
        &fx,
        &common::sample_article().to_string_lossy(),
        "shared/p.zip",
    ));
    ok(c);
    assert_eq!(fs::read(&theirs_tmp).unwrap(), b"another user's data");
    assert_eq!(
        fs::read(theirs_stage.join("work.txt")).unwrap(),
        b"another user's work"
    );
    assert!(!ours_tmp.exists(), "our own stale temp file is removed");
    assert!(!ours_stage.exists(), "our own stale stage is removed");
}

/// `extract` under umask 000 made files 0666 and directories 0777; they are 0644 and 0755
/// whatever the umask, as `pack` writes.
#[test]
fn attack_extract_modes_ignore_the_umask() {
    let fx = Fx::new();
    for (out, existing) in [("out1", false), ("out2", true)] {
        if existing {
            fs::create_dir(fx.path(out)).unwrap();
        }
        let mut c = Command::new("sh");
        c.current_dir(fx.env.dir.path())
            .arg("-c")
            .arg("umask 000; exec \"$@\"")
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_docseal"))
            .args(["extract", "good.zip", "--trust"])
            .arg(&fx.public)
            .args(["--out", out]);
        ok(c);
        let root = fx.path(out);
        let mut stack = vec![root.clone()];
        let mut seen = 0;
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                seen += 1;
                if p.is_dir() {
                    assert_eq!(mode(&p), 0o755, "{}", p.display());
                    stack.push(p);
                } else {
                    assert_eq!(mode(&p), 0o644, "{}", p.display());
                }
            }
        }
        assert!(seen > 3 && fx.path(out).join("data").is_dir());
    }
}

/// `verify DIR` skipped a FIFO named `x.zip` without a word; it is reported (`io.read`, not a
/// regular file) and never opened.
#[test]
fn attack_verify_dir_reports_a_fifo_named_zip() {
    let fx = Fx::new();
    let d = fx.path("d");
    fs::create_dir(&d).unwrap();
    fs::copy(fx.path("good.zip"), d.join("a.zip")).unwrap();
    mkfifo(&d.join("x.zip"));
    let mut c = fx.cmd();
    c.args(["verify", "d", "--json", "--trust"]).arg(&fx.public);
    c.stdin(Stdio::null());
    let o = run_within(c, 30);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_ne!(o.status.code(), Some(0), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("x.zip"))
        .unwrap_or_else(|| panic!("x.zip reported: {out}"));
    assert!(
        line.contains("io.read") && line.contains("not a regular file"),
        "{line}"
    );
}

/// Unmounts a tmpfs when dropped (even when the test fails).
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// `extract` into an empty directory that is a mount point staged in the parent (another file
/// system): the rename failed (EXDEV) after `data/` was made in the target, and the re-run was
/// refused "not empty". The stage is now inside an existing target.
#[test]
fn attack_extract_into_a_mount_point_works_and_leaves_nothing() {
    let fx = Fx::new();
    let mnt = fx.path("mnt");
    fs::create_dir(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .status()
        .expect("mount (tests run as root)");
    assert!(st.success(), "mount -t tmpfs (tests run as root)");
    let _guard = Mounted(mnt.clone());
    assert_ne!(
        fs::metadata(&mnt).unwrap().dev(),
        fs::metadata(fx.env.dir.path()).unwrap().dev()
    );
    let mut c = fx.cmd();
    c.args(["extract", "good.zip", "--trust"])
        .arg(&fx.public)
        .args(["--out", "mnt"]);
    ok(c);
    assert!(mnt.join("data/article.txt").is_file());
    assert!(mnt.join("bagit.txt").is_file());
    assert!(leftovers(&mnt).is_empty(), "{:?}", leftovers(&mnt));
    assert!(leftovers(fx.env.dir.path()).is_empty());
}
