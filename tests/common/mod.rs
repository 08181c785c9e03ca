//! Shared test helpers: an isolated temp dir and a fluent runner for the real binary.
#![allow(dead_code)]

pub mod store_hooks;
pub mod synthetic;
pub mod weed;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The sample article, byte-identical to the seed.
pub fn sample_article() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/000_1b4e483194c528fc.txt")
}

/// The sample article's source URL.
pub const SAMPLE_URL: &str = "https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/";

pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Whether external tools must be present (CI set): then a missing tool fails the test.
pub fn require_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{name} is required when CI is set (install it: see .ci/run)");
        }
        eprintln!("skipping: {name} not installed (set CI to make this a failure)");
    }
    found
}

/// A temp directory for one test, with helpers to run docseal in it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn cmd(&self) -> Run {
        Run {
            cmd: Command::new(env!("CARGO_BIN_EXE_docseal")),
            stdin: None,
        }
        .cwd(self.dir.path())
    }
    /// `docseal keygen NAME --no-passphrase`; returns (NAME.key, NAME.pub).
    pub fn keygen(&self, name: &str) -> (PathBuf, PathBuf) {
        self.cmd().args(["keygen", name, "--no-passphrase"]).ok();
        (
            self.path(&format!("{name}.key")),
            self.path(&format!("{name}.pub")),
        )
    }
    /// Seal `text` (written to `OUT.txt`) as the sample's article, titled `title` and sealed
    /// (by the signer's account) at `created`; `extra` flags follow.
    pub fn pack_text(
        &self,
        text: &str,
        title: &str,
        created: &str,
        key: &Path,
        out: &str,
        extra: &[&str],
    ) -> PathBuf {
        let article = self.path(&format!("{out}.txt"));
        std::fs::write(&article, text).unwrap();
        self.cmd()
            .arg("pack")
            .arg(&article)
            .args([
                "--url",
                SAMPLE_URL,
                "--title",
                title,
                "--publisher",
                "Daily Times",
            ])
            .args(["--published", "2018-09-11", "--created", created, "--key"])
            .arg(key)
            .args(["--out", out])
            .args(extra)
            .ok();
        self.path(out)
    }
    /// Seal the sample article with fixed metadata and sealing time.
    pub fn pack_sample(&self, key: &Path, out: &str) -> PathBuf {
        self.cmd().args(sample_pack_args(key, out)).ok();
        self.path(out)
    }
}

pub fn sample_pack_args(key: &Path, out: &str) -> Vec<String> {
    vec![
        "pack".into(),
        sample_article().display().to_string(),
        "--url".into(),
        "https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/".into(),
        "--title".into(),
        "A thaw in Pak-Russia relations".into(),
        "--publisher".into(),
        "Daily Times".into(),
        "--published".into(),
        "2018-09-11".into(),
        "--author".into(),
        "Usman Ghani".into(),
        "--created".into(),
        "2026-11-27T12:00:00Z".into(),
        "--key".into(),
        key.display().to_string(),
        "--out".into(),
        out.into(),
    ]
}

pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

pub struct Done {
    pub out: Output,
}

impl Done {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout()))
    }
}

impl Run {
    pub fn cwd(mut self, d: &Path) -> Self {
        self.cmd.current_dir(d);
        self
    }
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, a: I) -> Self {
        self.cmd.args(a);
        self
    }
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(a);
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }
    pub fn stdin(mut self, b: &[u8]) -> Self {
        self.stdin = Some(b.to_vec());
        self
    }
    pub fn run(mut self) -> Done {
        use std::io::Write;
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self.cmd.spawn().expect("spawn docseal");
        if let Some(b) = self.stdin.take() {
            let mut si = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = si.write_all(&b);
            });
        }
        Done {
            out: child.wait_with_output().unwrap(),
        }
    }
    /// Run and require exit 0.
    pub fn ok(self) -> Done {
        let d = self.run();
        assert_eq!(
            d.code(),
            0,
            "expected success\nstdout: {}\nstderr: {}",
            d.stdout(),
            d.stderr()
        );
        d
    }
    /// Run and require this exit code and a one-line error on stderr.
    pub fn fails(self, code: i32) -> Done {
        let d = self.run();
        assert_eq!(
            d.code(),
            code,
            "expected exit {code}\nstdout: {}\nstderr: {}",
            d.stdout(),
            d.stderr()
        );
        d
    }
}

/// The JSON Lines of `docseal verify --json`: one report per bundle, then the summary.
pub fn json_lines(stdout: &str) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut v: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let summary = v.pop().expect("a summary line");
    assert!(
        summary.get("summary").is_some(),
        "last line is the summary: {summary}"
    );
    (v, summary["summary"].clone())
}

/// Error codes of each bundle in `docseal verify --json` output.
pub fn json_codes(stdout: &str) -> Vec<Vec<String>> {
    json_lines(stdout)
        .0
        .iter()
        .map(|r| {
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["severity"] == "error")
                .map(|f| f["code"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// The entries (name, bytes) of a bundle, read with the library's strict reader.
pub fn entries(bundle: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut c = std::io::Cursor::new(bundle);
    let list = docseal::zipfmt::read_strict(
        &mut c,
        bundle.len() as u64,
        &docseal::zipfmt::Limits::default(),
    )
    .expect("a valid bundle");
    list.iter()
        .map(|e| {
            let mut buf = Vec::new();
            docseal::zipfmt::hash_entry(&mut c, e, Some(&mut buf)).unwrap();
            (e.name.clone(), buf)
        })
        .collect()
}

/// Write entries as a canonical ZIP (the writer's byte form), so that only content checks fire.
pub fn write_entries(list: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = docseal::zipfmt::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, b) in list {
        w.add_bytes(n, b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Rebuild a bundle after changing its entries.
pub fn rebuild(bundle: &[u8], f: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let mut e = entries(bundle);
    f(&mut e);
    write_entries(&e)
}

/// Re-sign a bundle's tag manifest with another key (keeping docseal's comments for that key).
pub fn resign(bundle: &[u8], key: &docseal::minisign::SecretKey) -> Vec<u8> {
    rebuild(bundle, |e| {
        let meta_bytes = &e.iter().find(|(n, _)| n == "metadata.json").unwrap().1;
        let m = docseal::metadata::Metadata::parse(meta_bytes).0.unwrap();
        let tm = e
            .iter()
            .find(|(n, _)| n == "tagmanifest-sha256.txt")
            .unwrap()
            .1
            .clone();
        let sig = docseal::seal::sign_tagmanifest(&m, key, &tm);
        e.iter_mut()
            .find(|(n, _)| n == "tagmanifest-sha256.txt.minisig")
            .unwrap()
            .1 = sig.into_bytes();
    })
}

/// What `/usr/bin/time` measured of one run of a command.
pub struct Measured {
    /// Peak RSS, KiB.
    pub kib: u64,
    /// Wall-clock seconds.
    pub secs: f64,
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    pub stdout: String,
}

/// Run `BIN ARGS` in `dir` under `/usr/bin/time`: peak RSS, wall time, exit code and standard
/// output (the figures are printed to the test's output too).
pub fn measure(dir: &Path, bin: &Path, args: &[&str]) -> Measured {
    let out = Command::new("/usr/bin/time")
        .current_dir(dir)
        .args(["-f", "%M %e %U %S"])
        .arg(bin)
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    let mut it = last.split_whitespace();
    let kib: u64 = it
        .next()
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("no figure from /usr/bin/time: {err}"));
    let mut next = || -> f64 { it.next().and_then(|x| x.parse().ok()).unwrap_or(0.0) };
    let (secs, user, sys) = (next(), next(), next());
    eprintln!("{args:?}: peak RSS {kib} KiB, {secs} s wall, {user} s user + {sys} s system CPU");
    Measured {
        kib,
        secs,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// The secret key in the unencrypted key file `p` (as `keygen` writes it in tests).
pub fn secret_key(p: &Path) -> docseal::minisign::SecretKey {
    docseal::keyfile::read_secret_key(p, &mut || {
        Err(docseal::Error::invalid(
            p.display().to_string(),
            "encrypted",
        ))
    })
    .unwrap()
}
