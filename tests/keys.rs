//! Issue: key lifecycle. Passphrase-protected secret keys (minisign's scrypt format, usable by
//! the real `minisign` both ways), safe key files, and rotation and revocation through trust
//! files, all driven through the real binary.
//!
//! Terminals: prompts are driven through a pseudo-terminal made by `python3`'s `pty` module
//! (the driver waits for each prompt and for the program to turn echo off before typing, so
//! it is not racy and proves the passphrase is not echoed). "No terminal" runs use `setsid -w`
//! (util-linux) with standard input `/dev/null`, in a new session without a controlling
//! terminal, and are killed and failed after 20 s. Without `python3`, `setsid` or `minisign`
//! these tests say so and pass, unless `CI` is set, when they fail.
//!
//! Encrypted keys use minisign's default scrypt parameters (1 GiB, a few seconds each time), so
//! one docseal-made encrypted key is shared by the tests that need one, and at most two such
//! operations run at once.

use crate::common;
use base64::Engine as _;
use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_docseal");
/// The passphrase of the shared encrypted key (and of the keys made on a terminal).
const PASS: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

/// At most two scrypt-heavy commands (1 GiB each) at a time, whatever the test thread count.
struct Heavy {
    n: Mutex<usize>,
    cv: Condvar,
}
struct HeavyGuard(&'static Heavy);
impl Drop for HeavyGuard {
    fn drop(&mut self) {
        *self.0.n.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.0.cv.notify_one();
    }
}
fn heavy() -> HeavyGuard {
    static H: OnceLock<Heavy> = OnceLock::new();
    let h = H.get_or_init(|| Heavy {
        n: Mutex::new(0),
        cv: Condvar::new(),
    });
    let mut n = h.n.lock().unwrap_or_else(|e| e.into_inner());
    while *n >= 2 {
        n = h.cv.wait(n).unwrap_or_else(|e| e.into_inner());
    }
    *n += 1;
    HeavyGuard(h)
}

/// The decoded base64 line of a minisign key file.
fn key_block(path: &Path) -> Vec<u8> {
    let text = fs::read_to_string(path).unwrap();
    let line = text.lines().nth(1).expect("a second line");
    base64::engine::general_purpose::STANDARD
        .decode(line)
        .unwrap()
}

fn key_line(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

fn chmod(path: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(m)).unwrap();
}

/// The names in a directory (everything, hidden temp files included).
fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The 32-byte seed and 64-byte libsodium secret key of an unencrypted key file.
fn secret_bytes(plain_key_file: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = std::str::from_utf8(plain_key_file).unwrap();
    let b = base64::engine::general_purpose::STANDARD
        .decode(text.lines().nth(1).unwrap())
        .unwrap();
    assert_eq!(&b[2..4], &[0, 0], "unencrypted");
    (b[62..94].to_vec(), b[62..126].to_vec())
}

/// Everything a secret key may leak as: its file's base64 line, the decoded block, and (given
/// the plaintext key file) the seed and the 64-byte secret key, raw, base64 and hex.
fn secret_needles(key_file: &Path, plain: Option<&[u8]>) -> Vec<(String, Vec<u8>)> {
    let mut v = vec![
        ("key file line".to_string(), key_line(key_file).into_bytes()),
        ("key block".to_string(), key_block(key_file)),
    ];
    if let Some(p) = plain {
        let (seed, sk) = secret_bytes(p);
        for (what, b) in [("seed", seed), ("secret key", sk)] {
            v.push((
                format!("{what} (base64)"),
                base64::engine::general_purpose::STANDARD
                    .encode(&b)
                    .into_bytes(),
            ));
            v.push((
                format!("{what} (hex)"),
                docseal::metadata::hex(&b).into_bytes(),
            ));
            v.push((what.to_string(), b));
        }
    }
    v
}

fn assert_no_secret(what: &str, hay: &[u8], needles: &[(String, Vec<u8>)]) {
    for (n, b) in needles {
        assert!(!contains(hay, b), "{what} contains the {n}");
    }
}

fn pack_args(key: &Path, out: &str, pass_file: Option<&str>) -> Vec<String> {
    let mut a = sample_pack_args(key, out);
    if let Some(f) = pass_file {
        a.push("--passphrase-file".into());
        a.push(f.into());
    }
    a
}

/// A docseal-made encrypted key (`keygen --passphrase-file`), made once and copied (with its
/// mode) into each test's directory.
struct SharedKey {
    dir: PathBuf,
    stdout: String,
    stderr: String,
}

fn shared_key() -> &'static SharedKey {
    static K: OnceLock<SharedKey> = OnceLock::new();
    K.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("docseal-keys-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep();
        fs::write(
            dir.join("pass.txt"),
            format!("{PASS}\nsecond line ignored\n"),
        )
        .unwrap();
        let _g = heavy();
        let d = Env::new()
            .cmd()
            .cwd(&dir)
            .args(["keygen", "enc", "--passphrase-file", "pass.txt"])
            .ok();
        SharedKey {
            dir,
            stdout: d.stdout(),
            stderr: d.stderr(),
        }
    })
}

/// Copy the shared encrypted key into `env` as `NAME.key` / `NAME.pub`, and write `pass.txt`.
fn encrypted_key(env: &Env, name: &str) -> (PathBuf, PathBuf) {
    let s = shared_key();
    let (k, p) = (
        env.path(&format!("{name}.key")),
        env.path(&format!("{name}.pub")),
    );
    fs::copy(s.dir.join("enc.key"), &k).unwrap();
    fs::copy(s.dir.join("enc.pub"), &p).unwrap();
    chmod(&k, 0o600);
    fs::write(env.path("pass.txt"), format!("{PASS}\n")).unwrap();
    (k, p)
}

/// The result of a run on a pseudo-terminal.
#[derive(Debug)]
struct Pty {
    code: i32,
    timed_out: bool,
    /// Everything the program wrote to the terminal (its stdout and stderr), with CR LF.
    transcript: String,
    /// For each step: whether echo was off when the answer was typed.
    echo_off: Vec<bool>,
    /// How many steps found their prompt.
    steps_done: usize,
}

/// Runs a program on a new pseudo-terminal (its controlling terminal, stdin, stdout and
/// stderr). For each step, waits for the prompt text, then for echo to be turned off (at most
/// 5 s), then types the answer. Then reads to the end. Kills the program after `timeout`.
const PTY_DRIVER: &str = r#"
import json, os, pty, select, signal, sys, termios, time
spec = json.loads(sys.argv[1])
deadline = time.monotonic() + spec["timeout"]
pid, fd = pty.fork()
if pid == 0:
    try:
        os.chdir(spec["cwd"])
        os.execvp(spec["argv"][0], spec["argv"])
    finally:
        os._exit(127)
out = bytearray()
def pump(wait):
    # Read what arrives within `wait` seconds; False once the program has closed the terminal.
    r, _, _ = select.select([fd], [], [], wait)
    if not r:
        return True
    try:
        b = os.read(fd, 4096)
    except OSError:
        return False
    out.extend(b)
    return bool(b)
alive, timed_out, pos, echo_off, done = True, False, 0, [], 0
for expect, send in spec["steps"]:
    e = expect.encode()
    while alive and e not in out[pos:] and time.monotonic() < deadline:
        alive = pump(0.05)
    if e not in out[pos:]:
        timed_out = time.monotonic() >= deadline
        break
    pos = out.index(e, pos) + len(e)
    done += 1
    off = False
    echo_deadline = min(deadline, time.monotonic() + 5)
    while alive and time.monotonic() < echo_deadline:
        try:
            if not termios.tcgetattr(fd)[3] & termios.ECHO:
                off = True
                break
        except termios.error:
            break
        alive = pump(0.01)
    echo_off.append(off)
    os.write(fd, send.encode())
while alive and not timed_out:
    if time.monotonic() >= deadline:
        timed_out = True
        break
    alive = pump(0.1)
if timed_out:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
json.dump({"code": os.waitstatus_to_exitcode(status), "timed_out": timed_out,
           "transcript": out.decode("utf-8", "replace"), "echo_off": echo_off,
           "steps_done": done}, sys.stdout)
"#;

/// Whether the pseudo-terminal driver can run (python3). Fails under CI when it cannot.
fn have_pty() -> bool {
    require_tool("python3")
}

fn pty(dir: &Path, argv: &[&str], steps: &[(&str, &str)], timeout_secs: u64) -> Pty {
    let spec = serde_json::json!({
        "argv": argv,
        "cwd": dir,
        "steps": steps,
        "timeout": timeout_secs,
    });
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(PTY_DRIVER).arg(spec.to_string());
    // The driver kills the program at the timeout; this bounds the driver itself.
    let out = run_bounded(
        cmd,
        Duration::from_secs(timeout_secs + 30),
        "the pty driver",
    );
    assert!(out.code == 0, "pty driver failed: {}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    Pty {
        code: v["code"].as_i64().unwrap() as i32,
        timed_out: v["timed_out"].as_bool().unwrap(),
        transcript: v["transcript"].as_str().unwrap().to_string(),
        echo_off: v["echo_off"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_bool().unwrap())
            .collect(),
        steps_done: v["steps_done"].as_u64().unwrap() as usize,
    }
}

/// The result of a bounded run (without a controlling terminal, for docseal).
struct Detached {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Whether runs without a controlling terminal are possible (setsid). Fails under CI otherwise.
fn have_setsid() -> bool {
    require_tool("setsid")
}

/// Run docseal in a new session without a controlling terminal (`setsid -w`), standard input
/// `/dev/null`. Kills it and fails the test if it takes more than 20 s: it must never wait for
/// input that cannot come.
fn detached<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> Detached {
    let mut cmd = Command::new("setsid");
    cmd.arg("-w").arg(BIN).args(args).current_dir(dir);
    run_bounded(
        cmd,
        Duration::from_secs(20),
        "docseal, without a terminal, (it waited for input that cannot come)",
    )
}

/// Run a command with standard input `/dev/null`; kill it and fail the test after `limit`.
fn run_bounded(mut cmd: Command, limit: Duration, what: &str) -> Detached {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let te = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} took more than {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Detached {
        code: status.code().unwrap_or(-1),
        stdout: to.join().unwrap(),
        stderr: te.join().unwrap(),
        took: start.elapsed(),
    }
}

fn one_line(stderr: &str) {
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
}

/// Write a bundle's entries as files under `dir` (what `unzip` would give).
fn unpack(bundle: &Path, dir: &Path) {
    for (name, bytes) in entries(&fs::read(bundle).unwrap()) {
        let p = dir.join(&name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// keygen.
// ---------------------------------------------------------------------------------------------

#[test]
fn keygen_with_passphrase_file_writes_a_minisign_encrypted_key() {
    let s = shared_key();
    let (k, p) = (s.dir.join("enc.key"), s.dir.join("enc.pub"));
    let text = fs::read_to_string(&k).unwrap();
    assert!(
        text.starts_with("untrusted comment: minisign encrypted secret key\n"),
        "{text}"
    );
    let b = key_block(&k);
    assert_eq!(b.len(), 158);
    assert_eq!(&b[0..6], b"EdScB2", "Ed25519, scrypt, BLAKE2b");
    assert_eq!(u64::from_le_bytes(b[38..46].try_into().unwrap()), 1 << 25);
    assert_eq!(u64::from_le_bytes(b[46..54].try_into().unwrap()), 1 << 30);
    assert_eq!(mode(&k), 0o600);
    assert!(fs::read_to_string(&p)
        .unwrap()
        .starts_with("untrusted comment: minisign public key "));
    let id = docseal::keyfile::read_public_key(&p).unwrap().key_id();
    assert!(s.stdout.contains(&format!("key id {id}")), "{}", s.stdout);
    for out in [&s.stdout, &s.stderr] {
        assert_no_secret("keygen output", out.as_bytes(), &secret_needles(&k, None));
        assert!(!out.contains(PASS));
    }
}

#[test]
fn keygen_refuses_bad_passphrase_sources_and_writes_nothing() {
    let env = Env::new();
    fs::write(env.path("empty.txt"), "\nsecond\n").unwrap();
    let before = listing(env.dir.path());
    let d = env
        .cmd()
        .args(["keygen", "k", "--passphrase-file", "empty.txt"])
        .fails(2);
    assert!(d.stderr().contains("empty"), "{}", d.stderr());
    one_line(&d.stderr());
    let d = env
        .cmd()
        .args(["keygen", "k", "--passphrase-file", "missing.txt"])
        .fails(4);
    assert!(d.stderr().contains("missing.txt"), "{}", d.stderr());
    one_line(&d.stderr());
    // A missing directory is found before any passphrase is read or asked for.
    let d = env
        .cmd()
        .args(["keygen", "nodir/k", "--passphrase-file", "missing.txt"])
        .fails(4);
    assert!(d.stderr().contains("nodir"), "{}", d.stderr());
    // --no-passphrase and --passphrase-file contradict each other.
    env.cmd()
        .args([
            "keygen",
            "k",
            "--no-passphrase",
            "--passphrase-file",
            "empty.txt",
        ])
        .fails(2);
    assert_eq!(listing(env.dir.path()), before, "nothing written");
}

#[test]
fn keygen_no_passphrase_is_unchanged_and_needs_no_terminal() {
    let env = Env::new();
    let d = env.cmd().args(["keygen", "k", "--no-passphrase"]).ok();
    let k = env.path("k.key");
    let text = fs::read(&k).unwrap();
    assert!(text.starts_with(b"untrusted comment: minisign unencrypted secret key\n"));
    let b = key_block(&k);
    assert_eq!(&b[0..6], b"Ed\0\0B2");
    assert_eq!(mode(&k), 0o600);
    let needles = secret_needles(&k, Some(&text));
    assert_no_secret("keygen stdout", d.stdout().as_bytes(), &needles);
    assert_no_secret("keygen stderr", d.stderr().as_bytes(), &needles);

    // Sealing with it asks nothing, even without a terminal.
    if !have_setsid() {
        return;
    }
    let r = detached(env.dir.path(), &pack_args(&k, "a.zip", None));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_no_secret("pack stdout", r.stdout.as_bytes(), &needles);
    assert_no_secret("pack stderr", r.stderr.as_bytes(), &needles);
    assert_no_secret(
        "the bundle",
        &fs::read(env.path("a.zip")).unwrap(),
        &needles,
    );
    let show = env.cmd().args(["key", "show", "k.key"]).ok();
    assert_no_secret("key show", show.stdout().as_bytes(), &needles);
    assert_no_secret("key show", show.stderr().as_bytes(), &needles);
    env.cmd().args(["verify", "a.zip", "--trust", "k.pub"]).ok();
}

#[test]
fn keygen_on_a_terminal_asks_twice_and_the_key_seals_from_a_terminal() {
    if !have_pty() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let first = "Passphrase for the new key: ";
    let again = "Passphrase again: ";

    // Two different passphrases: refused, nothing written, before any scrypt work.
    let r = pty(
        dir,
        &[BIN, "keygen", "k"],
        &[(first, "one passphrase\r"), (again, "another one\r")],
        30,
    );
    assert_eq!((r.code, r.timed_out), (2, false), "{r:?}");
    assert!(r.transcript.contains("differ"), "{r:?}");
    assert!(
        !r.transcript.contains("one passphrase"),
        "not echoed: {r:?}"
    );
    assert_eq!(listing(dir), BTreeSet::new(), "nothing written");

    // Empty: refused (an unencrypted key is --no-passphrase).
    let r = pty(
        dir,
        &[BIN, "keygen", "k"],
        &[(first, "\r"), (again, "\r")],
        30,
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.transcript.contains("--no-passphrase"), "{r:?}");
    // Ctrl-D at the prompt: no passphrase, no I/O error, nothing written.
    let r = pty(dir, &[BIN, "keygen", "k"], &[(first, "\x04")], 30);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.transcript.contains("\r\ndocseal: ") && r.transcript.contains("no passphrase entered"),
        "{r:?}"
    );
    assert_eq!(listing(dir), BTreeSet::new(), "nothing written");

    // The same passphrase twice: an encrypted key, the passphrase never echoed.
    let typed = format!("{PASS}\r");
    let r = {
        let _g = heavy();
        pty(
            dir,
            &[BIN, "keygen", "k"],
            &[(first, &typed), (again, &typed)],
            120,
        )
    };
    assert_eq!((r.code, r.timed_out), (0, false), "{r:?}");
    assert_eq!(r.steps_done, 2, "asked twice: {r:?}");
    assert_eq!(r.echo_off, [true, true], "echo off while typing: {r:?}");
    assert!(!r.transcript.contains(PASS), "not echoed: {r:?}");
    let k = env.path("k.key");
    assert_eq!(&key_block(&k)[0..6], b"EdScB2");
    assert_eq!(mode(&k), 0o600);
    assert_no_secret(
        "keygen transcript",
        r.transcript.as_bytes(),
        &secret_needles(&k, None),
    );

    // An existing key: refused before asking anything.
    let r = pty(dir, &[BIN, "keygen", "k"], &[], 30);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(!r.transcript.contains("Passphrase"), "{r:?}");
    assert!(r.transcript.contains("k.key: already exists"), "{r:?}");

    // pack with this key and no --passphrase-file asks on the terminal, once.
    let mut argv: Vec<String> = vec![BIN.into()];
    argv.extend(pack_args(&k, "t.zip", None));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let prompt = format!("Passphrase for {}: ", k.display());
    let r = {
        let _g = heavy();
        pty(dir, &argv, &[(&prompt, &typed)], 120)
    };
    assert_eq!((r.code, r.timed_out), (0, false), "{r:?}");
    assert_eq!(r.echo_off, [true], "{r:?}");
    assert!(!r.transcript.contains(PASS), "not echoed: {r:?}");
    assert!(r.transcript.contains("sealed t.zip"), "{r:?}");
    env.cmd().args(["verify", "t.zip", "--trust", "k.pub"]).ok();
    assert_no_secret(
        "the bundle",
        &fs::read(env.path("t.zip")).unwrap(),
        &secret_needles(&k, None),
    );
}

// ---------------------------------------------------------------------------------------------
// pack with an encrypted key.
// ---------------------------------------------------------------------------------------------

#[test]
fn pack_with_an_encrypted_key_from_a_script() {
    let env = Env::new();
    let (k, p) = encrypted_key(&env, "e");
    let d = {
        let _g = heavy();
        env.cmd()
            .args(pack_args(&k, "a.zip", Some("pass.txt")))
            .ok()
    };
    env.cmd().args(["verify", "a.zip", "--trust"]).arg(&p).ok();

    // The decrypted secret never leaves: not in the bundle, not in any output.
    let plain = {
        let _g = heavy();
        let sk = docseal::minisign::SecretKey::from_file_bytes(
            &fs::read(&k).unwrap(),
            Some(PASS.as_bytes()),
        )
        .unwrap();
        sk.to_file_string(None).unwrap().as_bytes().to_vec()
    };
    let needles = secret_needles(&k, Some(&plain));
    let bundle = fs::read(env.path("a.zip")).unwrap();
    assert_no_secret("the bundle", &bundle, &needles);
    assert!(!contains(&bundle, PASS.as_bytes()));
    assert_no_secret("pack stdout", d.stdout().as_bytes(), &needles);
    assert_no_secret("pack stderr", d.stderr().as_bytes(), &needles);

    // key show: the id and fingerprint from the .pub beside it, never the secret.
    let show = env.cmd().args(["key", "show", "e.key"]).ok();
    let id = docseal::keyfile::read_public_key(&p).unwrap().key_id();
    let s = show.stdout();
    assert!(s.contains("encrypted"), "{s}");
    assert!(s.contains(&format!("key id      {id}")), "{s}");
    assert!(s.contains("fingerprint "), "{s}");
    assert_no_secret("key show", s.as_bytes(), &needles);
    assert_no_secret("key show", show.stderr().as_bytes(), &needles);
    let pubshow = env.cmd().args(["key", "show", "e.pub"]).ok().stdout();
    let fp = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("fingerprint "))
            .map(|l| l["fingerprint ".len()..].trim().to_string())
            .unwrap()
    };
    assert_eq!(fp(s.as_str()), fp(&pubshow));
    assert_eq!(fp(&pubshow).len(), 64);
}

#[test]
fn passphrase_from_standard_input() {
    // --passphrase-file /dev/stdin: scripts can pipe it in (a symlink, and a pipe).
    let env = Env::new();
    let (k, p) = encrypted_key(&env, "e");
    {
        let _g = heavy();
        env.cmd()
            .args(pack_args(&k, "a.zip", Some("/dev/stdin")))
            .stdin(format!("{PASS}\n").as_bytes())
            .ok();
    }
    env.cmd().args(["verify", "a.zip", "--trust"]).arg(&p).ok();
}

#[test]
fn encrypted_key_without_terminal_or_passphrase_file_fails_at_once() {
    if !have_setsid() {
        return;
    }
    let env = Env::new();
    let (k, _) = encrypted_key(&env, "e");
    let before = listing(env.dir.path());
    let r = detached(env.dir.path(), &pack_args(&k, "a.zip", None));
    assert_eq!(r.code, 2, "{}", r.stderr);
    one_line(&r.stderr);
    assert!(
        r.stderr.contains(&k.display().to_string()) && r.stderr.contains("--passphrase-file"),
        "{}",
        r.stderr
    );
    assert!(r.took < Duration::from_secs(10), "took {:?}", r.took);
    assert_eq!(listing(env.dir.path()), before, "nothing written");

    // keygen without a terminal and without --passphrase-file: the same, nothing written.
    let r = detached(env.dir.path(), &["keygen", "n"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    one_line(&r.stderr);
    assert!(
        r.stderr.contains("--passphrase-file") && r.stderr.contains("--no-passphrase"),
        "{}",
        r.stderr
    );
    assert_eq!(listing(env.dir.path()), before, "nothing written");
}

#[test]
fn wrong_passphrase_is_reported_and_nothing_is_written() {
    let env = Env::new();
    let (k, _) = encrypted_key(&env, "e");
    fs::write(env.path("wrong.txt"), "not the passphrase\n").unwrap();
    let before = listing(env.dir.path());
    let d = {
        let _g = heavy();
        env.cmd()
            .args(pack_args(&k, "a.zip", Some("wrong.txt")))
            .fails(2)
    };
    one_line(&d.stderr());
    assert!(
        d.stderr()
            .contains(&format!("{}: wrong passphrase", k.display())),
        "{}",
        d.stderr()
    );
    assert_eq!(d.stdout(), "", "no output");
    assert_eq!(listing(env.dir.path()), before, "no bundle, no temp file");
}

// ---------------------------------------------------------------------------------------------
// The real minisign, both ways, on a terminal.
// ---------------------------------------------------------------------------------------------

#[test]
fn minisign_made_key_seals_with_docseal() {
    if !require_tool("minisign") || !have_pty() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let mpass = "minisign's own passphrase";
    let typed = format!("{mpass}\n");
    let r = {
        let _g = heavy();
        pty(
            dir,
            &["minisign", "-G", "-p", "m.pub", "-s", "m.key"],
            &[
                ("Password: ", &typed),
                ("Password (one more time): ", &typed),
            ],
            120,
        )
    };
    assert_eq!((r.code, r.timed_out), (0, false), "{r:?}");
    let k = env.path("m.key");
    assert_eq!(&key_block(&k)[0..6], b"EdScB2", "minisign encrypted it");
    fs::write(env.path("mpass.txt"), format!("{mpass}\n")).unwrap();
    let d = {
        let _g = heavy();
        env.cmd()
            .args(pack_args(&k, "m.zip", Some("mpass.txt")))
            .ok()
    };
    let id = docseal::keyfile::read_public_key(&env.path("m.pub"))
        .unwrap()
        .key_id();
    assert!(
        d.stdout().contains(&format!("signed by key {id}")),
        "{}",
        d.stdout()
    );
    env.cmd().args(["verify", "m.zip", "--trust", "m.pub"]).ok();
    // minisign checks the unzipped bundle with its own public key file.
    let bag = env.path("bag");
    unpack(&env.path("m.zip"), &bag);
    let v = Command::new("minisign")
        .args(["-V", "-m", "tagmanifest-sha256.txt", "-p"])
        .arg(env.path("m.pub"))
        .current_dir(&bag)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "minisign -V: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(String::from_utf8_lossy(&v.stdout).contains("Signature and comment signature verified"));
}

#[test]
fn docseal_made_key_signs_with_minisign() {
    if !require_tool("minisign") || !have_pty() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    encrypted_key(&env, "d");
    fs::write(env.path("file"), "signed by minisign with a docseal key\n").unwrap();
    let typed = format!("{PASS}\n");
    let r = {
        let _g = heavy();
        pty(
            dir,
            &[
                "minisign",
                "-S",
                "-s",
                "d.key",
                "-m",
                "file",
                "-t",
                "signed with a docseal key",
            ],
            &[("Password: ", &typed)],
            120,
        )
    };
    assert_eq!((r.code, r.timed_out), (0, false), "{r:?}");
    assert!(!r.transcript.contains("Wrong password"), "{r:?}");
    let v = Command::new("minisign")
        .args(["-V", "-p", "d.pub", "-m", "file"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "minisign -V: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(String::from_utf8_lossy(&v.stdout).contains("signed with a docseal key"));
    // And docseal checks minisign's signature too.
    let sig =
        docseal::minisign::Signature::parse(&fs::read(env.path("file.minisig")).unwrap()).unwrap();
    let pk = docseal::keyfile::read_public_key(&env.path("d.pub")).unwrap();
    sig.verify(&pk, &fs::read(env.path("file")).unwrap())
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// KDF limits.
// ---------------------------------------------------------------------------------------------

/// An "encrypted" key file with the given scrypt limits (and random bytes where the encrypted
/// key would be), mode 0600.
fn crafted_key(env: &Env, name: &str, opslimit: u64, memlimit: u64) -> PathBuf {
    let base = env.path(&format!("{name}-plain"));
    env.cmd()
        .arg("keygen")
        .arg(&base)
        .arg("--no-passphrase")
        .ok();
    let mut b = key_block(&env.path(&format!("{name}-plain.key")));
    b[2..4].copy_from_slice(b"Sc");
    for (i, x) in b[6..38].iter_mut().enumerate() {
        *x = i as u8; // salt
    }
    b[38..46].copy_from_slice(&opslimit.to_le_bytes());
    b[46..54].copy_from_slice(&memlimit.to_le_bytes());
    for (i, x) in b[54..].iter_mut().enumerate() {
        *x ^= 0x5a ^ i as u8;
    }
    let k = env.path(&format!("{name}.key"));
    fs::write(
        &k,
        format!(
            "untrusted comment: minisign encrypted secret key\n{}\n",
            base64::engine::general_purpose::STANDARD.encode(&b)
        ),
    )
    .unwrap();
    chmod(&k, 0o600);
    k
}

#[test]
fn absurd_kdf_parameters_are_refused_before_any_prompt_or_work() {
    let env = Env::new();
    let cases = [
        ("huge", u64::MAX, u64::MAX),
        ("ops", 1 << 40, 1 << 30),
        ("mem", 1 << 25, 1 << 40),
        // A tiny memlimit and a large opslimit derive a huge p (128 GiB of scrypt buffer).
        ("p", 1 << 34, 0),
    ];
    fs::write(env.path("pass.txt"), "whatever\n").unwrap();
    for (name, ops, mem) in cases {
        let k = crafted_key(&env, name, ops, mem);
        let before = listing(env.dir.path());
        let start = Instant::now();
        let d = env
            .cmd()
            .args(pack_args(&k, "a.zip", Some("pass.txt")))
            .fails(2);
        assert!(start.elapsed() < Duration::from_secs(10), "{name}: slow");
        one_line(&d.stderr());
        assert!(
            d.stderr().contains(&k.display().to_string())
                && d.stderr().contains("scrypt parameters beyond limits"),
            "{name}: {}",
            d.stderr()
        );
        assert_eq!(listing(env.dir.path()), before, "{name}: nothing written");
        let s = env.cmd().args(["key", "show"]).arg(&k).fails(2);
        assert!(
            s.stderr().contains("scrypt parameters beyond limits"),
            "{}",
            s.stderr()
        );
    }
    // On a terminal and without a passphrase file: refused before the prompt.
    if have_pty() {
        let k = env.path("huge.key");
        let mut argv: Vec<String> = vec![BIN.into()];
        argv.extend(pack_args(&k, "b.zip", None));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let r = pty(env.dir.path(), &argv, &[], 30);
        assert_eq!((r.code, r.timed_out), (2, false), "{r:?}");
        assert!(!r.transcript.contains("Passphrase"), "no prompt: {r:?}");
        assert!(
            r.transcript.contains("scrypt parameters beyond limits"),
            "{r:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Key files on disk.
// ---------------------------------------------------------------------------------------------

#[test]
fn secret_keys_readable_by_others_are_refused_with_the_fix() {
    let env = Env::new();
    let (k, _) = env.keygen("k");
    for m in [0o644, 0o640, 0o604, 0o660] {
        chmod(&k, m);
        let d = env.cmd().args(sample_pack_args(&k, "a.zip")).fails(2);
        one_line(&d.stderr());
        assert!(
            d.stderr()
                .contains(&format!("fix with: chmod 600 {}", k.display())),
            "{}",
            d.stderr()
        );
        assert!(!env.path("a.zip").exists());
    }
    chmod(&k, 0o400);
    env.cmd().args(sample_pack_args(&k, "a.zip")).ok();

    // An encrypted key readable by others: refused before any prompt.
    if have_setsid() {
        let (e, _) = encrypted_key(&env, "e");
        chmod(&e, 0o644);
        let r = detached(env.dir.path(), &pack_args(&e, "b.zip", None));
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("chmod 600 {}", e.display())),
            "{}",
            r.stderr
        );
        // key show warns, and still shows no secret.
        let s = env.cmd().args(["key", "show", "e.key"]).ok();
        assert!(s.stderr().contains("chmod 600"), "{}", s.stderr());
    }
}

#[test]
fn key_files_are_never_followed_through_symlinks_or_replaced() {
    let env = Env::new();
    let (k, p) = env.keygen("real");
    let real_key = fs::read(&k).unwrap();

    // A symlinked secret key is refused.
    std::os::unix::fs::symlink(&k, env.path("link.key")).unwrap();
    let d = env
        .cmd()
        .args(sample_pack_args(&env.path("link.key"), "a.zip"))
        .fails(2);
    assert!(d.stderr().contains("symbolic link"), "{}", d.stderr());
    one_line(&d.stderr());
    let d = env.cmd().args(["key", "show", "link.key"]).fails(2);
    assert!(d.stderr().contains("symbolic link"), "{}", d.stderr());

    // keygen onto an existing key file: refused, untouched.
    let d = env
        .cmd()
        .args(["keygen", "real", "--no-passphrase"])
        .fails(3);
    assert!(
        d.stderr().contains("real.key: already exists"),
        "{}",
        d.stderr()
    );
    assert!(
        !d.stderr().contains("--force"),
        "keygen has no --force: {}",
        d.stderr()
    );
    assert_eq!(fs::read(&k).unwrap(), real_key);
    assert_eq!(mode(&k), 0o600);

    // Only PATH.pub exists: refused, and no PATH.key left behind.
    fs::write(env.path("half.pub"), "mine\n").unwrap();
    env.cmd()
        .args(["keygen", "half", "--no-passphrase"])
        .fails(3);
    assert!(!env.path("half.key").exists());
    assert_eq!(fs::read(env.path("half.pub")).unwrap(), b"mine\n");

    // A dangling symlink where the key would go: refused, its target not created.
    std::os::unix::fs::symlink(env.path("target.key"), env.path("dang.key")).unwrap();
    env.cmd()
        .args(["keygen", "dang", "--no-passphrase"])
        .fails(3);
    assert!(
        !env.path("target.key").exists(),
        "the symlink was not followed"
    );
    assert!(fs::symlink_metadata(env.path("dang.key"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!env.path("dang.pub").exists());
    // The same for the public half.
    std::os::unix::fs::symlink(env.path("target.pub"), env.path("dang2.pub")).unwrap();
    env.cmd()
        .args(["keygen", "dang2", "--no-passphrase"])
        .fails(3);
    assert!(!env.path("target.pub").exists());
    assert!(!env.path("dang2.key").exists());

    // A symlink to an existing file: refused, the file untouched.
    std::os::unix::fs::symlink(&p, env.path("other.pub")).unwrap();
    let pubtext = fs::read(&p).unwrap();
    env.cmd()
        .args(["keygen", "other", "--no-passphrase"])
        .fails(3);
    assert_eq!(fs::read(&p).unwrap(), pubtext);
    assert!(!env.path("other.key").exists());
}

// ---------------------------------------------------------------------------------------------
// Trust files: rotation and revocation.
// ---------------------------------------------------------------------------------------------

fn pack_at(env: &Env, key: &Path, created: &str, out: &str) {
    let mut a = sample_pack_args(key, out);
    let i = a.iter().position(|x| x == "--created").unwrap();
    a[i + 1] = created.into();
    env.cmd().args(a).ok();
}

fn verify_codes(env: &Env, bundle: &str, trust: &str) -> Vec<String> {
    let d = env
        .cmd()
        .args(["verify", bundle, "--json", "--trust", trust])
        .run();
    json_codes(&d.stdout()).remove(0)
}

fn key_id(p: &Path) -> String {
    docseal::keyfile::read_public_key(p)
        .unwrap()
        .key_id()
        .to_string()
}

#[test]
fn rotation_and_revocation_through_a_trust_file() {
    let env = Env::new();
    let (old_k, old_p) = env.keygen("old");
    let (new_k, new_p) = env.keygen("new");
    pack_at(&env, &old_k, "2026-01-01T00:00:00Z", "old.zip");
    pack_at(&env, &new_k, "2026-06-01T00:00:00Z", "new.zip");
    pack_at(&env, &new_k, "2026-02-01T00:00:00Z", "early.zip");

    // key show: id and fingerprint.
    let s = env.cmd().args(["key", "show", "old.pub"]).ok().stdout();
    assert!(
        s.contains(&format!("key id      {}", key_id(&old_p))),
        "{s}"
    );
    assert!(s.contains("fingerprint "), "{s}");

    env.cmd()
        .args([
            "key",
            "trust",
            "T.toml",
            "old.pub",
            "--name",
            "newsroom-2025",
        ])
        .ok();
    let d = env
        .cmd()
        .args([
            "key",
            "trust",
            "T.toml",
            "new.pub",
            "--name",
            "newsroom-2026",
        ])
        .args(["--valid-from", "2026-03-01"])
        .ok();
    assert!(d.stdout().contains(&key_id(&new_p)), "{}", d.stdout());
    // A name or a key only once.
    let d = env
        .cmd()
        .args(["key", "trust", "T.toml", "old.pub", "--name", "again"])
        .fails(2);
    assert!(d.stderr().contains("already trusts"), "{}", d.stderr());
    let d = env
        .cmd()
        .args([
            "key",
            "trust",
            "T.toml",
            "early.zip",
            "--name",
            "newsroom-2025",
        ])
        .fails(2);
    one_line(&d.stderr());
    let (_, other_p) = env.keygen("other");
    let d = env
        .cmd()
        .args(["key", "trust", "T.toml"])
        .arg(&other_p)
        .args(["--name", "newsroom-2025"])
        .fails(2);
    assert!(
        d.stderr().contains("already has a key named"),
        "{}",
        d.stderr()
    );
    // A window that ends before it starts.
    let d = env
        .cmd()
        .args(["key", "trust", "T2.toml"])
        .arg(&other_p)
        .args([
            "--name",
            "x",
            "--valid-from",
            "2027-01-01",
            "--valid-until",
            "2026-01-01",
        ])
        .fails(2);
    assert!(d.stderr().contains("after valid_until"), "{}", d.stderr());
    assert!(!env.path("T2.toml").exists());

    let l = env.cmd().args(["key", "list", "T.toml"]).ok().stdout();
    assert!(
        l.contains("newsroom-2025") && l.contains("newsroom-2026"),
        "{l}"
    );
    assert!(l.contains("trusted"), "{l}");

    // Not revoked: both pass; the validity window refuses a bundle sealed before it.
    assert_eq!(
        verify_codes(&env, "old.zip", "T.toml"),
        Vec::<String>::new()
    );
    assert_eq!(
        verify_codes(&env, "new.zip", "T.toml"),
        Vec::<String>::new()
    );
    assert_eq!(
        verify_codes(&env, "early.zip", "T.toml"),
        ["trust.outside_validity"]
    );
    // A passing bundle's sealing time is shown as what it is: the signer's claim (said once,
    // in the summary).
    let d = env
        .cmd()
        .args(["verify", "new.zip", "--trust", "T.toml"])
        .ok();
    assert!(
        d.stdout().contains("sealed 2026-06-01T00:00:00Z")
            && d.stdout()
                .contains("sealing times are the signer's own account"),
        "{}",
        d.stdout()
    );
    let d = env
        .cmd()
        .args(["verify", "early.zip", "--trust", "T.toml"])
        .fails(1);
    assert!(
        d.stdout().contains("as asserted by the signer"),
        "{}",
        d.stdout()
    );

    // Retire the old key at the switch: its bundles now fail without independent evidence of
    // their time, and the output says the sealing time is only the signer's word.
    let d = env
        .cmd()
        .args([
            "key",
            "revoke",
            "T.toml",
            "newsroom-2025",
            "--reason",
            "retired",
        ])
        .args(["--at", "2026-03-01"])
        .ok();
    assert!(d.stdout().contains("retired"), "{}", d.stdout());
    assert_eq!(verify_codes(&env, "old.zip", "T.toml"), ["trust.revoked"]);
    let d = env
        .cmd()
        .args(["verify", "old.zip", "--trust", "T.toml"])
        .fails(1);
    let out = d.stdout();
    assert!(out.contains("trust.revoked"), "{out}");
    assert!(out.contains("retired at 2026-03-01T00:00:00Z"), "{out}");
    assert!(
        out.contains("sealed at 2026-01-01T00:00:00Z") && out.contains("only the signer's word"),
        "{out}"
    );
    assert_eq!(
        verify_codes(&env, "new.zip", "T.toml"),
        Vec::<String>::new()
    );
    let l = env.cmd().args(["key", "list", "T.toml"]).ok().stdout();
    assert!(l.contains("retired at 2026-03-01T00:00:00Z"), "{l}");

    // A revocation is never weakened: a later time or "retired" after "compromised" is refused;
    // the same again changes nothing; an earlier time is accepted.
    let d = env
        .cmd()
        .args([
            "key",
            "revoke",
            "T.toml",
            "newsroom-2025",
            "--reason",
            "retired",
        ])
        .args(["--at", "2027-01-01"])
        .fails(2);
    assert!(d.stderr().contains("already revoked"), "{}", d.stderr());
    let before = fs::read(env.path("T.toml")).unwrap();
    let d = env
        .cmd()
        .args([
            "key",
            "revoke",
            "T.toml",
            "newsroom-2025",
            "--reason",
            "retired",
        ])
        .args(["--at", "2026-03-01T00:00:00Z"])
        .ok();
    assert!(d.stdout().contains("nothing changed"), "{}", d.stdout());
    assert_eq!(fs::read(env.path("T.toml")).unwrap(), before);

    // Compromised, by key id (lower case works too): refused all the same.
    let id = key_id(&new_p);
    env.cmd()
        .args([
            "key",
            "revoke",
            "T.toml",
            &id.to_lowercase(),
            "--reason",
            "compromised",
        ])
        .args(["--at", "2026-07-01"])
        .ok();
    assert_eq!(verify_codes(&env, "new.zip", "T.toml"), ["trust.revoked"]);
    let d = env
        .cmd()
        .args(["verify", "new.zip", "--trust", "T.toml"])
        .fails(1);
    assert!(d.stdout().contains("compromised"), "{}", d.stdout());
    let l = env.cmd().args(["key", "list", "T.toml"]).ok().stdout();
    assert!(l.contains("COMPROMISED at 2026-07-01T00:00:00Z"), "{l}");
    let d = env
        .cmd()
        .args(["key", "revoke", "T.toml", &id, "--reason", "retired"])
        .args(["--at", "2026-07-01"])
        .fails(2);
    assert!(d.stderr().contains("never weakened"), "{}", d.stderr());
    let d = env
        .cmd()
        .args(["key", "revoke", "T.toml", "nobody", "--reason", "retired"])
        .fails(2);
    assert!(d.stderr().contains("no key named"), "{}", d.stderr());

    // The trust file is a valid TOML file that names what it says.
    let text = fs::read_to_string(env.path("T.toml")).unwrap();
    assert!(text.contains("reason = \"compromised\""), "{text}");
    let _ = (old_k, new_k);
}

#[test]
fn validity_window_until_and_plain_pub_files() {
    let env = Env::new();
    let (k, p) = env.keygen("k");
    pack_at(&env, &k, "2026-01-01T00:00:00Z", "in.zip");
    pack_at(&env, &k, "2027-06-01T00:00:00Z", "late.zip");
    env.cmd()
        .args(["key", "trust", "T.toml", "k.pub", "--name", "k"])
        .args(["--valid-until", "2026-12-31T23:59:59Z"])
        .ok();
    assert!(verify_codes(&env, "in.zip", "T.toml").is_empty());
    assert_eq!(
        verify_codes(&env, "late.zip", "T.toml"),
        ["trust.outside_validity"]
    );
    // The plain .pub file trusts without conditions.
    assert!(verify_codes(&env, "late.zip", "k.pub").is_empty());
    // Given both, the stricter statement wins: the window is not lost.
    let d = env
        .cmd()
        .args([
            "verify", "late.zip", "--json", "--trust", "k.pub", "--trust", "T.toml",
        ])
        .run();
    assert_eq!(json_codes(&d.stdout()), [["trust.outside_validity"]]);
    let d = env
        .cmd()
        .args([
            "verify", "late.zip", "--json", "--trust", "T.toml", "--trust", "k.pub",
        ])
        .run();
    assert_eq!(json_codes(&d.stdout()), [["trust.outside_validity"]]);
    let _ = p;
}

#[test]
fn a_directory_of_trust_files_and_pub_files() {
    let env = Env::new();
    let (a_k, _) = env.keygen("a");
    let (b_k, b_p) = env.keygen("b");
    let (c_k, _) = env.keygen("c");
    pack_at(&env, &a_k, "2026-01-01T00:00:00Z", "a.zip");
    pack_at(&env, &b_k, "2026-01-01T00:00:00Z", "b.zip");
    pack_at(&env, &c_k, "2026-01-01T00:00:00Z", "c.zip");
    fs::create_dir(env.path("trust")).unwrap();
    env.cmd()
        .args([
            "key",
            "trust",
            "trust/newsroom.toml",
            "a.pub",
            "--name",
            "a",
        ])
        .ok();
    env.cmd()
        .args([
            "key",
            "trust",
            "trust/newsroom.toml",
            "b.pub",
            "--name",
            "b",
        ])
        .ok();
    env.cmd()
        .args([
            "key",
            "revoke",
            "trust/newsroom.toml",
            "b",
            "--reason",
            "retired",
        ])
        .args(["--at", "2025-06-01"])
        .ok();
    fs::copy(env.path("c.pub"), env.path("trust/c.pub")).unwrap();
    // The revocation in the trust file wins over the plain copy of b.pub in the directory.
    fs::copy(&b_p, env.path("trust/zz-b.pub")).unwrap();
    // Secret keys and other files in the directory are ignored.
    fs::copy(&a_k, env.path("trust/a.key")).unwrap();
    fs::write(env.path("trust/README"), "not a key").unwrap();
    let d = env
        .cmd()
        .args([
            "verify", "a.zip", "b.zip", "c.zip", "--json", "--trust", "trust",
        ])
        .run();
    assert_eq!(
        json_codes(&d.stdout()),
        [vec![], vec!["trust.revoked".to_string()], vec![]]
    );
    // An empty directory is an error, not "trust nothing".
    fs::create_dir(env.path("empty")).unwrap();
    let d = env
        .cmd()
        .args(["verify", "a.zip", "--trust", "empty"])
        .fails(2);
    one_line(&d.stderr());
}

#[test]
fn hand_edited_trust_files_are_checked() {
    let env = Env::new();
    let (k, p) = env.keygen("k");
    pack_at(&env, &k, "2026-01-01T00:00:00Z", "a.zip");
    let line = key_line(&p);
    let cases = [
        (
            "twice.toml",
            format!("[[key]]\nname = \"a\"\npublic_key = \"{line}\"\n[[key]]\nname = \"b\"\npublic_key = \"{line}\"\n"),
            "already listed",
        ),
        (
            "names.toml",
            format!("[[key]]\nname = \"a\"\npublic_key = \"{line}\"\n[[key]]\nname = \"a\"\npublic_key = \"{line}\"\n"),
            "used twice",
        ),
        (
            "control.toml",
            format!("[[key]]\nname = \"a\\u001b[31m\"\npublic_key = \"{line}\"\n"),
            "control character",
        ),
        (
            "reason.toml",
            format!("[[key]]\nname = \"a\"\npublic_key = \"{line}\"\nrevoked = {{ at = \"2026-01-01\", reason = \"lost\" }}\n"),
            "not a trust file",
        ),
        (
            "time.toml",
            format!("[[key]]\nname = \"a\"\npublic_key = \"{line}\"\nvalid_from = \"yesterday\"\n"),
            "valid_from",
        ),
    ];
    for (name, text, want) in cases {
        fs::write(env.path(name), text).unwrap();
        let d = env
            .cmd()
            .args(["verify", "a.zip", "--trust", name])
            .fails(2);
        one_line(&d.stderr());
        assert!(
            d.stderr().contains(name) && d.stderr().contains(want),
            "{name}: {}",
            d.stderr()
        );
        env.cmd().args(["key", "list", name]).fails(2);
    }
    // A revocation written by hand with a plain date works like one from `key revoke`.
    fs::write(
        env.path("ok.toml"),
        format!("[[key]]\nname = \"k\"\npublic_key = \"{line}\"\nrevoked = {{ at = \"2025-12-01\", reason = \"retired\" }}\n"),
    )
    .unwrap();
    assert_eq!(verify_codes(&env, "a.zip", "ok.toml"), ["trust.revoked"]);
}

#[test]
fn trust_file_updates_are_locked_atomic_and_land_where_the_file_is() {
    let env = Env::new();
    let (k, _) = env.keygen("k");
    pack_at(&env, &k, "2026-01-01T00:00:00Z", "a.zip");
    fs::create_dir(env.path("shared")).unwrap();
    env.cmd()
        .args(["key", "trust", "shared/trust.toml", "k.pub", "--name", "k"])
        .ok();
    assert_eq!(
        listing(&env.path("shared")),
        BTreeSet::from(["trust.toml".to_string()]),
        "no lock or temp file left"
    );
    // Revoking through a symlink changes the file verifiers read, not a new file by the link.
    std::os::unix::fs::symlink("shared/trust.toml", env.path("T.toml")).unwrap();
    env.cmd()
        .args(["key", "revoke", "T.toml", "k", "--reason", "compromised"])
        .args(["--at", "2025-01-01"])
        .ok();
    assert!(fs::symlink_metadata(env.path("T.toml"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        verify_codes(&env, "a.zip", "shared/trust.toml"),
        ["trust.revoked"]
    );
    // A lock file left by an interrupted command holds no lock: taken over, then removed.
    fs::write(env.path("shared/trust.toml.lock"), "").unwrap();
    let (_, o) = env.keygen("o");
    env.cmd()
        .args(["key", "trust", "shared/trust.toml"])
        .arg(&o)
        .args(["--name", "o"])
        .ok();
    assert_eq!(
        listing(&env.path("shared")),
        BTreeSet::from(["trust.toml".to_string()]),
        "the stale lock file is gone"
    );
    // Another update in progress (a process holding the kernel lock): the command waits for
    // it, then makes its change on top.
    let lockf = fs::File::create(env.path("shared/trust.toml.lock")).unwrap();
    rustix::fs::flock(&lockf, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        drop(lockf);
    });
    let start = std::time::Instant::now();
    env.cmd()
        .args([
            "key",
            "revoke",
            "shared/trust.toml",
            "o",
            "--reason",
            "retired",
        ])
        .ok();
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(400),
        "waited for the lock"
    );
    holder.join().unwrap();
    let text = fs::read_to_string(env.path("shared/trust.toml")).unwrap();
    assert!(
        text.contains("name = \"o\"") && text.contains("retired"),
        "{text}"
    );
    // A missing trust file is not created by revoke.
    env.cmd()
        .args(["key", "revoke", "none.toml", "k", "--reason", "retired"])
        .fails(4);
    assert!(!env.path("none.toml").exists());
}
