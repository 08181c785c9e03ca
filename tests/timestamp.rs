//! Issue 14: RFC 3161 timestamps on bundles (format v2). A real TSA runs on 127.0.0.1:
//! `openssl ts -reply` behind a small HTTP handler this file starts on port 0 and stops; test
//! CAs and TSA certificates (P-256, P-384, RSA with PSS) are made here with the openssl CLI.
//! Cross-checks both ways: `openssl ts -verify` accepts docseal's stored tokens, and docseal
//! accepts tokens `openssl ts` made from its `--request-out`.

use crate::common;

use common::*;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn have_openssl() -> bool {
    require_tool("openssl")
}

/// Run openssl in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn key_args(kind: &str) -> Vec<&'static str> {
    match kind {
        "p256" => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "p384" => vec!["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "rsa" => vec!["-newkey", "rsa:2048"],
        k => panic!("{k}"),
    }
}

/// A self-signed root `NAME-root.pem` (+ `.key`).
fn make_root(dir: &Path, name: &str, kind: &str, digest: &str) {
    let (pem, key, subj) = (
        format!("{name}-root.pem"),
        format!("{name}-root.key"),
        format!("/CN={name} root"),
    );
    let mut a = vec!["req", "-x509", "-nodes", "-days", "3650", &digest];
    a.extend(key_args(kind));
    a.extend([
        "-keyout",
        &key,
        "-out",
        &pem,
        "-subj",
        &subj,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(dir, &a);
}

/// A TSA certificate `TSA.pem` (+ `.key`) issued by `ROOT-root.pem` with extensions `ext`
/// (one per line) and extra signing options (`-sigopt ...`).
fn make_tsa(dir: &Path, root: &str, tsa: &str, kind: &str, ext: &str, sign: &[&str]) {
    let (csr, key, subj) = (
        format!("{tsa}.csr"),
        format!("{tsa}.key"),
        format!("/CN={tsa}"),
    );
    let mut a = vec!["req", "-new", "-nodes"];
    a.extend(key_args(kind));
    a.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
    openssl(dir, &a);
    fs::write(dir.join(format!("{tsa}.ext")), ext).unwrap();
    let (ca, cakey, extf, out) = (
        format!("{root}-root.pem"),
        format!("{root}-root.key"),
        format!("{tsa}.ext"),
        format!("{tsa}.pem"),
    );
    let mut a = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &cakey,
        "-set_serial",
        "7",
        "-days",
        "365",
        "-extfile",
        &extf,
        "-out",
        &out,
    ];
    a.extend(sign);
    openssl(dir, &a);
}

const GOOD_EXT: &str =
    "extendedKeyUsage=critical,timeStamping\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n";

/// The TSA configuration: section `tsa_NAME` per TSA, ESS v2 (SHA-256) or v1 (SHA-1).
fn tsa_config(dir: &Path, name: &str, digest: &str, ess: &str) -> String {
    let serial = dir.join(format!("{name}.serial"));
    fs::write(&serial, "01\n").unwrap();
    let cnf = format!(
        "[ tsa ]\ndefault_tsa = tsa_{name}\n[ tsa_{name} ]\nserial = {}\ncrypto_device = builtin\nsigner_digest = {digest}\ndefault_policy = 1.3.6.1.4.1.99999.7\ndigests = sha256, sha384, sha512\naccuracy = secs:1, millisecs:250\ness_cert_id_alg = {ess}\n",
        serial.display()
    );
    let path = format!("{name}.cnf");
    fs::write(dir.join(&path), cnf).unwrap();
    path
}

/// `openssl ts -reply` for a request file; returns the reply's DER.
fn openssl_reply(
    dir: &Path,
    tsa: &str,
    cnf: &str,
    root: &str,
    query: &Path,
    token_only: bool,
) -> Vec<u8> {
    let out = dir.join(format!("reply-{}.tsr", rand_suffix()));
    let (signer, key, chain) = (
        format!("{tsa}.pem"),
        format!("{tsa}.key"),
        format!("{root}-root.pem"),
    );
    let q = query.display().to_string();
    let o = out.display().to_string();
    let mut a = vec![
        "ts",
        "-reply",
        "-config",
        cnf,
        "-queryfile",
        &q,
        "-signer",
        &signer,
        "-inkey",
        &key,
        "-chain",
        &chain,
        "-out",
        &o,
    ];
    if token_only {
        a.push("-token_out");
    }
    openssl(dir, &a);
    fs::read(out).unwrap()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::AtomicU64;
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// What the test TSA answers.
#[derive(Clone)]
enum Mode {
    /// `openssl ts -reply` with this TSA (name, config, root).
    Openssl(String, String, String),
    /// Always these bytes.
    Fixed(Vec<u8>),
    /// The first reply `openssl ts -reply` makes, for every request (a replay).
    ReplayFirst(String, String, String),
}

/// A TSA over HTTP on 127.0.0.1, port 0; stopped when dropped (and by itself after 120 s).
struct HttpTsa {
    url: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpTsa {
    fn start(dir: &Path, mode: Mode) -> HttpTsa {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsr", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let dir = dir.to_path_buf();
        let first: Mutex<Option<Vec<u8>>> = Mutex::new(None);
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            while !stop2.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(120) {
                let (mut s, _) = match listener.accept() {
                    Ok(c) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let Some(body) = read_request(&mut s) else {
                    continue;
                };
                let q = dir.join(format!("http-{}.tsq", rand_suffix()));
                fs::write(&q, &body).unwrap();
                let reply = match &mode {
                    Mode::Fixed(b) => b.clone(),
                    Mode::Openssl(t, c, r) => openssl_reply(&dir, t, c, r, &q, false),
                    Mode::ReplayFirst(t, c, r) => {
                        let mut f = first.lock().unwrap();
                        f.get_or_insert_with(|| openssl_reply(&dir, t, c, r, &q, false))
                            .clone()
                    }
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.len()
                );
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&reply);
            }
        });
        HttpTsa {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HttpTsa {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read one HTTP request; returns its body (at most 64 KiB), checking the content type.
fn read_request(s: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 65536 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("post "), "{head}");
    assert!(
        head.contains("content-type: application/timestamp-query"),
        "{head}"
    );
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())?;
    assert!(len <= 65536);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(body)
}

/// Two PKIs: "ec" (P-384 root signing with SHA-384, P-256 TSA, tokens with SHA-256, ESS v2)
/// and "rsa" (RSA root signing the TSA certificate with RSASSA-PSS, RSA TSA, tokens with
/// SHA-512, ESS v1).
fn two_pkis(dir: &Path) -> (String, String) {
    make_root(dir, "ec", "p384", "-sha384");
    make_tsa(dir, "ec", "ectsa", "p256", GOOD_EXT, &["-sha384"]);
    make_root(dir, "rsa", "rsa", "-sha256");
    make_tsa(
        dir,
        "rsa",
        "rsatsa",
        "rsa",
        GOOD_EXT,
        &[
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
        ],
    );
    (
        tsa_config(dir, "ectsa", "sha256", "sha256"),
        tsa_config(dir, "rsatsa", "sha512", "sha1"),
    )
}

fn zip_names(bundle: &Path) -> Vec<String> {
    let f = fs::File::open(bundle).unwrap();
    let z = zip::ZipArchive::new(f).unwrap();
    z.file_names().map(String::from).collect()
}

fn zip_entry(bundle: &Path, name: &str) -> Vec<u8> {
    let f = fs::File::open(bundle).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut e = z.by_name(name).unwrap();
    let mut v = Vec::new();
    e.read_to_end(&mut v).unwrap();
    v
}

fn tokens(bundle: &Path) -> Vec<String> {
    let mut t: Vec<String> = zip_names(bundle)
        .into_iter()
        .filter(|n| n.ends_with(".tsr"))
        .collect();
    t.sort();
    t
}

fn verify_json(env: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let d = env.cmd().arg("verify").args(args).arg("--json").run();
    let (mut r, _) = json_lines(&d.stdout());
    (d.code(), r.remove(0))
}

/// Seal the sample; returns (bundle, public key).
fn sealed(env: &Env, out: &str) -> (PathBuf, PathBuf) {
    let (k, p) = if env.path("k.key").exists() {
        (env.path("k.key"), env.path("k.pub"))
    } else {
        env.keygen("k")
    };
    (env.pack_sample(&k, out), p)
}

/// `openssl ts -verify` of a stored token against the signature file it covers.
fn openssl_verifies(dir: &Path, bundle: &Path, token: &str, root: &str) -> bool {
    let sig = dir.join(format!("sig-{}", rand_suffix()));
    let tok = dir.join(format!("tok-{}", rand_suffix()));
    fs::write(&sig, zip_entry(bundle, "tagmanifest-sha256.txt.minisig")).unwrap();
    fs::write(&tok, zip_entry(bundle, token)).unwrap();
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-data"])
        .arg(&sig)
        .arg("-in")
        .arg(&tok)
        .args(["-token_in", "-CAfile", root])
        .current_dir(dir)
        .output()
        .unwrap();
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verification: OK")
}

#[test]
fn issue14_timestamp_over_http_from_two_tsas_and_openssl_verifies_the_stored_tokens() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, rsa_cnf) = two_pkis(dir);
    let (b, pubk) = sealed(&env, "b.zip");
    let before = env.cmd().args(["inspect", "b.zip", "--json"]).ok().json();
    let ec = HttpTsa::start(dir, Mode::Openssl("ectsa".into(), ec_cnf, "ec".into()));
    let rsa = HttpTsa::start(dir, Mode::Openssl("rsatsa".into(), rsa_cnf, "rsa".into()));
    let d = env
        .cmd()
        .args(["timestamp", "b.zip", "--tsa", &ec.url, "--tsa", &rsa.url])
        .ok();
    assert!(
        d.stdout().contains("CN=ectsa") && d.stdout().contains("CN=rsatsa"),
        "{}",
        d.stdout()
    );
    let toks = tokens(&b);
    assert_eq!(toks.len(), 2, "{toks:?}");

    // inspect: the tokens, the version, no trust decision; the content digest is unchanged.
    let i = env.cmd().args(["inspect", "b.zip", "--json"]).ok().json();
    assert_eq!(i["content_sha256"], before["content_sha256"]);
    assert_eq!(i["format"], 2);
    assert_eq!(before["format"], 1);
    let ts = i["timestamps"].as_array().unwrap();
    assert_eq!(ts.len(), 2);
    assert!(ts.iter().all(|t| t.get("trusted").is_none()), "{i}");
    let text = env.cmd().args(["inspect", "b.zip"]).ok().stdout();
    assert!(
        text.contains("format v2") && text.contains("no trust decision"),
        "{text}"
    );

    // verify, both roots: both trusted, with --require-timestamp.
    let pk = pubk.display().to_string();
    let (code, r) = verify_json(
        &env,
        &[
            "b.zip",
            "--trust",
            &pk,
            "--tsa-trust",
            "ec-root.pem",
            "--tsa-trust",
            "rsa-root.pem",
            "--require-timestamp",
        ],
    );
    assert_eq!(code, 0, "{r}");
    let ts = r["timestamps"].as_array().unwrap();
    assert!(ts.iter().all(|t| t["trusted"] == true), "{r}");
    let mut subjects: Vec<&str> = ts.iter().map(|t| t["tsa"].as_str().unwrap()).collect();
    subjects.sort();
    assert_eq!(subjects, ["CN=ectsa", "CN=rsatsa"]);
    assert!(ts.iter().all(|t| t["accuracy"] == "±1.25s"), "{r}");
    let text = env
        .cmd()
        .args([
            "verify",
            "b.zip",
            "--trust",
            &pk,
            "--tsa-trust",
            "ec-root.pem",
        ])
        .ok()
        .stdout();
    assert!(text.contains("trusted (root CN=ec root)"), "{text}");
    assert!(text.contains("NOT trusted"), "{text}");

    // Only one root: the other token is a warning, the bundle still passes.
    let (code, r) = verify_json(
        &env,
        &["b.zip", "--trust", &pk, "--tsa-trust", "rsa-root.pem"],
    );
    assert_eq!(code, 0, "{r}");
    let warned: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(warned, ["tsa.untrusted"], "{r}");

    // No root but --require-timestamp: refused.
    let (code, r) = verify_json(&env, &["b.zip", "--trust", &pk, "--require-timestamp"]);
    assert_eq!(code, 1, "{r}");
    assert!(r["findings"].to_string().contains("tsa.required"), "{r}");

    // openssl ts -verify accepts each stored token over the stored signature file.
    let ec_tok = toks
        .iter()
        .find(|t| openssl_verifies(dir, &b, t, "ec-root.pem"));
    let rsa_tok = toks
        .iter()
        .find(|t| openssl_verifies(dir, &b, t, "rsa-root.pem"));
    assert!(ec_tok.is_some() && rsa_tok.is_some() && ec_tok != rsa_tok);

    // A v1 bundle with --require-timestamp: refused with tsa.required.
    let (v1, _) = sealed(&env, "v1.zip");
    let (code, r) = verify_json(
        &env,
        &[v1.to_str().unwrap(), "--trust", &pk, "--require-timestamp"],
    );
    assert_eq!(code, 1);
    assert!(r["findings"].to_string().contains("tsa.required"), "{r}");
}

#[test]
fn issue14_docseal_accepts_openssl_replies_made_from_its_request_out() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, rsa_cnf) = two_pkis(dir);
    let (b, pubk) = sealed(&env, "b.zip");
    fs::copy(&b, env.path("c.zip")).unwrap();
    env.cmd()
        .args(["timestamp", "b.zip", "--request-out", "q.tsq"])
        .ok();
    // openssl reads the request docseal wrote: SHA-256 of the signature file, a nonce, certReq.
    let text = openssl(dir, &["ts", "-query", "-in", "q.tsq", "-text"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("Hash Algorithm: sha256") && text.contains("Certificate required: yes"),
        "{text}"
    );
    assert!(text.contains("Nonce: 0x"), "{text}");
    // --request-out refuses to replace a file.
    env.cmd()
        .args(["timestamp", "b.zip", "--request-out", "q.tsq"])
        .fails(3);

    let reply = openssl_reply(dir, "rsatsa", &rsa_cnf, "rsa", &env.path("q.tsq"), false);
    fs::write(env.path("r.tsr"), reply).unwrap();
    env.cmd()
        .args([
            "timestamp",
            "b.zip",
            "--reply",
            "r.tsr",
            "--request",
            "q.tsq",
            "--tsa-trust",
            "rsa-root.pem",
        ])
        .ok();
    // The same reply again: refused, the bundle holds it.
    env.cmd()
        .args(["timestamp", "b.zip", "--reply", "r.tsr"])
        .fails(2);
    // A bare token (-token_out) for the other bundle.
    env.cmd()
        .args(["timestamp", "c.zip", "--request-out", "q2.tsq"])
        .ok();
    let tok = openssl_reply(dir, "ectsa", &ec_cnf, "ec", &env.path("q2.tsq"), true);
    fs::write(env.path("t.tsr"), tok).unwrap();
    env.cmd()
        .args([
            "timestamp",
            "c.zip",
            "--reply",
            "t.tsr",
            "--request",
            "q2.tsq",
        ])
        .ok();
    let pk = pubk.display().to_string();
    for (bundle, root) in [("b.zip", "rsa-root.pem"), ("c.zip", "ec-root.pem")] {
        let (code, r) = verify_json(
            &env,
            &[
                bundle,
                "--trust",
                &pk,
                "--tsa-trust",
                root,
                "--require-timestamp",
            ],
        );
        assert_eq!(code, 0, "{r}");
        assert_eq!(r["timestamps"][0]["trusted"], true, "{r}");
    }
}

/// Run `docseal timestamp` that must be refused with `code`; the bundle is unchanged.
fn refused(env: &Env, bundle: &Path, args: &[&str], code: &str) {
    let before = fs::read(bundle).unwrap();
    let d = env.cmd().arg("timestamp").arg(bundle).args(args).fails(1);
    assert!(d.stderr().contains(code), "want {code}: {}", d.stderr());
    assert_eq!(d.stderr().lines().count(), 1, "{}", d.stderr());
    assert_eq!(fs::read(bundle).unwrap(), before, "nothing written");
}

/// A CMS SignedData over `tst` (TSTInfo DER) made by `openssl cms -sign` with this signer:
/// signed attributes, but no ESS signing-certificate attribute.
fn cms_token(dir: &Path, tst: &[u8], signer: &str) -> Vec<u8> {
    let n = rand_suffix();
    let (inp, out) = (format!("tst-{n}.der"), format!("cms-{n}.der"));
    fs::write(dir.join(&inp), tst).unwrap();
    let (cert, key) = (format!("{signer}.pem"), format!("{signer}.key"));
    openssl(
        dir,
        &[
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-outform",
            "DER",
            "-in",
            &inp,
            "-econtent_type",
            "1.2.840.113549.1.9.16.1.4",
            "-signer",
            &cert,
            "-inkey",
            &key,
            "-md",
            "sha256",
            "-out",
            &out,
        ],
    );
    fs::read(dir.join(out)).unwrap()
}

#[test]
fn issue14_hostile_replies_are_refused_with_their_own_codes() {
    if !have_openssl() {
        return;
    }
    use der::Encode;
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, _) = two_pkis(dir);
    let (b, _) = sealed(&env, "b.zip");
    let (other, _) = sealed(&env, "other.zip");
    // Another signature: seal the same article at another time.
    let args: Vec<String> = sample_pack_args(&env.path("k.key"), "later.zip")
        .into_iter()
        .map(|a| a.replace("2026-11-27T12:00:00Z", "2026-11-28T12:00:00Z"))
        .collect();
    let d = env.cmd().args(args).run();
    assert_eq!(d.code(), 0, "{}", d.stderr());
    let later = env.path("later.zip");

    env.cmd()
        .args(["timestamp", "b.zip", "--request-out", "q1.tsq"])
        .ok();
    env.cmd()
        .args(["timestamp", "b.zip", "--request-out", "q2.tsq"])
        .ok();
    let good = openssl_reply(dir, "ectsa", &ec_cnf, "ec", &env.path("q1.tsq"), false);
    fs::write(env.path("good.tsr"), &good).unwrap();

    // Garbage DER.
    fs::write(env.path("garbage.tsr"), b"\x30\x03\x02\x01").unwrap();
    refused(&env, &b, &["--reply", "garbage.tsr"], "tsa.malformed");
    // 10 MiB of DER (a SEQUENCE claiming 10 MiB): refused by its size, never read whole.
    let mut big = vec![0x30, 0x84, 0x00, 0xa0, 0x00, 0x00];
    big.resize(10 << 20, 0);
    fs::write(env.path("big.tsr"), &big).unwrap();
    refused(&env, &b, &["--reply", "big.tsr"], "tsa.too_large");
    // A token over another signature.
    refused(&env, &later, &["--reply", "good.tsr"], "tsa.imprint");
    // The wrong nonce: the reply to q1 offered as the reply to q2.
    refused(
        &env,
        &b,
        &["--reply", "good.tsr", "--request", "q2.tsq"],
        "tsa.nonce",
    );
    // A rejected request (status 2).
    fs::write(
        env.path("rejected.tsr"),
        [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02],
    )
    .unwrap();
    refused(&env, &b, &["--reply", "rejected.tsr"], "tsa.status");
    // An untrusted TSA, when roots are given.
    refused(
        &env,
        &b,
        &["--reply", "good.tsr", "--tsa-trust", "rsa-root.pem"],
        "tsa.untrusted",
    );
    // The CMS signature altered (the last byte is the signature's).
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    fs::write(env.path("badsig.tsr"), &bad).unwrap();
    refused(&env, &b, &["--reply", "badsig.tsr"], "tsa.signature");
    // The ESS signing-certificate hash altered: names another certificate than the signer's.
    let cert_der = {
        let pem = fs::read(env.path("ectsa.pem")).unwrap();
        let c = x509_cert::Certificate::load_pem_chain(&pem)
            .unwrap()
            .remove(0);
        c.to_der().unwrap()
    };
    let h: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(&cert_der).into()
    };
    let at = good
        .windows(32)
        .position(|w| w == h)
        .expect("the ESS hash is in the token");
    let mut ess = good.clone();
    ess[at] ^= 1;
    fs::write(env.path("ess.tsr"), &ess).unwrap();
    refused(&env, &b, &["--reply", "ess.tsr"], "tsa.signer_cert");

    // Tokens signed by certificates without a (critical) timeStamping EKU, and one with no ESS
    // attribute: made with openssl cms over the good token's TSTInfo.
    let sig = zip_entry(&b, "tagmanifest-sha256.txt.minisig");
    let bare = {
        let resp: docseal::tsa::asn1::TimeStampResp = der::Decode::from_der(&good).unwrap();
        resp.time_stamp_token.unwrap().to_der().unwrap()
    };
    let t = docseal::tsa::token::check(&bare, &sig).expect("the good token checks");
    let tst = t.tst.to_der().unwrap();
    make_tsa(
        dir,
        "ec",
        "noeku",
        "p256",
        "basicConstraints=CA:FALSE\n",
        &["-sha256"],
    );
    make_tsa(
        dir,
        "ec",
        "softeku",
        "p256",
        "extendedKeyUsage=timeStamping\nbasicConstraints=CA:FALSE\n",
        &["-sha256"],
    );
    for (signer, code) in [
        ("noeku", "tsa.eku"),
        ("softeku", "tsa.eku"),
        ("ectsa", "tsa.signer_cert"),
    ] {
        let tok = cms_token(dir, &tst, signer);
        let f = format!("{signer}.tsr");
        fs::write(env.path(&f), &tok).unwrap();
        refused(&env, &b, &["--reply", &f], code);
        let e = docseal::tsa::token::check(&tok, &sig).unwrap_err();
        assert_eq!(e.code.as_str(), code, "{e}");
    }

    // A replayed reply over HTTP: the nonce is not the new request's.
    let replay = HttpTsa::start(dir, Mode::ReplayFirst("ectsa".into(), ec_cnf, "ec".into()));
    env.cmd()
        .args(["timestamp", "other.zip", "--tsa", &replay.url])
        .ok();
    refused(&env, &other, &["--tsa", &replay.url], "tsa.nonce");
    // A TSA that rejects, over HTTP.
    let rejecting = HttpTsa::start(
        dir,
        Mode::Fixed(vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]),
    );
    refused(&env, &b, &["--tsa", &rejecting.url], "tsa.status");
    // Only http:// URLs: a clear usage error, nothing written.
    let d = env
        .cmd()
        .args(["timestamp", "b.zip", "--tsa", "https://127.0.0.1:1/"])
        .fails(2);
    assert!(d.stderr().contains("only http://"), "{}", d.stderr());
    // pack refuses it before sealing anything.
    let d = env
        .cmd()
        .args(sample_pack_args(&env.path("k.key"), "never.zip"))
        .args(["--tsa", "https://127.0.0.1:1/"])
        .fails(2);
    assert!(d.stderr().contains("only http://"), "{}", d.stderr());
    assert!(!env.path("never.zip").exists());
}

#[test]
fn issue14_expired_at_gentime_tsa_is_refused_but_expired_now_is_not() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, _) = two_pkis(dir);
    // A TSA certificate valid only in 2020: openssl ts signs with it anyway (its genTime is
    // now, outside the certificate's validity).
    let ca = dir.join("ca");
    fs::create_dir_all(ca.join("new")).unwrap();
    fs::write(ca.join("index.txt"), "").unwrap();
    fs::write(ca.join("serial"), "10\n").unwrap();
    fs::write(
        dir.join("ca.cnf"),
        format!(
            "[ ca ]\ndefault_ca = c\n[ c ]\ndir = {}\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/new\nserial = $dir/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[ p ]\ncommonName = supplied\n[ ext ]\nextendedKeyUsage = critical,timeStamping\nbasicConstraints = CA:FALSE\n",
            ca.display()
        ),
    )
    .unwrap();
    let mut a = vec!["req", "-new", "-nodes"];
    a.extend(key_args("p256"));
    a.extend(["-keyout", "old.key", "-out", "old.csr", "-subj", "/CN=old"]);
    openssl(dir, &a);
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-extensions",
            "ext",
            "-cert",
            "ec-root.pem",
            "-keyfile",
            "ec-root.key",
            "-in",
            "old.csr",
            "-out",
            "old.pem",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20210101000000Z",
            "-notext",
        ],
    );
    let (b, pubk) = sealed(&env, "b.zip");
    env.cmd()
        .args(["timestamp", "b.zip", "--request-out", "q.tsq"])
        .ok();
    let cnf = tsa_config(dir, "old", "sha256", "sha256");
    let reply = openssl_reply(dir, "old", &cnf, "ec", &env.path("q.tsq"), false);
    fs::write(env.path("old.tsr"), reply).unwrap();
    refused(
        &env,
        &b,
        &["--reply", "old.tsr", "--tsa-trust", "ec-root.pem"],
        "tsa.cert_validity",
    );
    // Added without a trust decision, verify says why it does not count.
    env.cmd()
        .args(["timestamp", "b.zip", "--reply", "old.tsr"])
        .ok();
    let pk = pubk.display().to_string();
    let (code, r) = verify_json(
        &env,
        &["b.zip", "--trust", &pk, "--tsa-trust", "ec-root.pem"],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["timestamps"][0]["trusted"], false);
    assert!(
        r["findings"].to_string().contains("tsa.cert_validity"),
        "{r}"
    );
    let (code, _) = verify_json(
        &env,
        &[
            "b.zip",
            "--trust",
            &pk,
            "--tsa-trust",
            "ec-root.pem",
            "--require-timestamp",
        ],
    );
    assert_eq!(code, 1);
    drop(ec_cnf);

    // The committed vector's RSA TSA certificate expired two minutes after its token: openssl
    // (which checks now) refuses it, docseal (which checks at genTime) accepts it.
    let v2 = repo("tests/vectors/bundle-v2");
    let cert = v2.join("tsa-rsa-short-lived.pem");
    let expired = Command::new("openssl")
        .args(["x509", "-checkend", "0", "-noout", "-in"])
        .arg(&cert)
        .status()
        .unwrap();
    assert!(
        !expired.success(),
        "the short-lived TSA certificate has expired"
    );
    let (code, r) = verify_json(
        &env,
        &[
            v2.join("timestamped-expired-tsa.zip").to_str().unwrap(),
            "--trust",
            repo("tests/vectors/bundle-v1/vector-key.pub")
                .to_str()
                .unwrap(),
            "--tsa-trust",
            v2.join("tsa-root.pem").to_str().unwrap(),
            "--require-timestamp",
        ],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["timestamps"][0]["trusted"], true, "{r}");
}

#[test]
fn issue14_hostile_tokens_inside_a_bundle_are_findings() {
    use docseal::zipfmt::{self, Limits, ZipWriter};
    let v2 = repo("tests/vectors/bundle-v2/timestamped.zip");
    let bytes = fs::read(&v2).unwrap();
    let entries = zipfmt::read_strict(
        &mut std::io::Cursor::new(&bytes),
        bytes.len() as u64,
        &Limits::default(),
    )
    .unwrap();
    let token_name = entries
        .iter()
        .find(|e| e.name.ends_with(".tsr"))
        .unwrap()
        .name
        .clone();
    // Rewrite the bundle with the token replaced by `token` under its name.
    let with = |token: &[u8]| -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zw = ZipWriter::new(&mut out);
        for e in &entries {
            let data = &bytes[e.data_offset as usize..(e.data_offset + e.size) as usize];
            let data = if e.name == token_name { token } else { data };
            zw.add_bytes(&e.name, data).unwrap();
        }
        zw.finish().unwrap();
        out.into_inner()
    };
    let trust =
        docseal::trust::Trust::load(&[repo("tests/vectors/bundle-v1/vector-key.pub")]).unwrap();
    let roots = docseal::tsa::chain::load_roots(
        &fs::read(repo("tests/vectors/bundle-v2/tsa-root.pem")).unwrap(),
    )
    .unwrap();
    let mut opts = docseal::verify::Options::default();
    opts.tsa_roots = roots;
    let codes = |b: &[u8]| -> Vec<String> {
        let r = docseal::verify::verify_bytes("t.zip", b, Some(&trust), &opts);
        r.error_codes().iter().map(|c| c.to_string()).collect()
    };
    // An empty token file.
    assert_eq!(codes(&with(&bytes[..0])), ["tsa.malformed"]);
    let orig = {
        let e = entries.iter().find(|e| e.name == token_name).unwrap();
        bytes[e.data_offset as usize..(e.data_offset + e.size) as usize].to_vec()
    };
    // Unchanged: passes.
    assert_eq!(codes(&with(&orig)), Vec::<String>::new());
    // Garbage, 10 MiB of DER, a truncated token, every single-bit flip: refused, never a panic.
    assert_eq!(codes(&with(b"garbage")), ["tsa.malformed"]);
    let mut big = vec![0x30, 0x84, 0x00, 0xa0, 0x00, 0x00];
    big.resize(10 << 20, 0);
    assert_eq!(codes(&with(&big)), ["tsa.too_large"]);
    for cut in [1, 10, orig.len() / 2, orig.len() - 1] {
        assert!(!codes(&with(&orig[..cut])).is_empty(), "cut at {cut}");
    }
    let sig = {
        let e = entries
            .iter()
            .find(|e| e.name == "tagmanifest-sha256.txt.minisig")
            .unwrap();
        &bytes[e.data_offset as usize..(e.data_offset + e.size) as usize]
    };
    for i in 0..orig.len() {
        let mut t = orig.clone();
        t[i] ^= 0x01;
        // Library level (fast): every flip is handled without a panic.
        let _ = docseal::tsa::token::check(&t, sig);
    }
    // A token over another signature (the v1 sample with a co-signature-free other bundle).
    let other = fs::read(repo(
        "tests/vectors/bundle-v1/attachments-and-supersedes.zip",
    ))
    .unwrap();
    let oe = zipfmt::read_strict(
        &mut std::io::Cursor::new(&other),
        other.len() as u64,
        &Limits::default(),
    )
    .unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zw = ZipWriter::new(&mut out);
    for e in &oe {
        zw.add_bytes(
            &e.name,
            &other[e.data_offset as usize..(e.data_offset + e.size) as usize],
        )
        .unwrap();
    }
    zw.add_bytes(&token_name, &orig).unwrap();
    zw.finish().unwrap();
    assert_eq!(codes(&out.into_inner()), ["tsa.imprint"]);
}

#[test]
fn issue14_v2_vectors_verify_and_keep_the_v1_content_digest() {
    let v2 = repo("tests/vectors/bundle-v2");
    // Pinned bytes.
    let sums = fs::read_to_string(v2.join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        let got = {
            use sha2::Digest;
            docseal::metadata::hex(&sha2::Sha256::digest(fs::read(v2.join(name)).unwrap()))
        };
        assert_eq!(got, hash, "{name} changed");
    }
    let env = Env::new();
    let key = repo("tests/vectors/bundle-v1/vector-key.pub");
    let v1 = env
        .cmd()
        .args([
            "inspect",
            repo("tests/vectors/bundle-v1/sample.zip").to_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    for name in ["timestamped.zip", "timestamped-expired-tsa.zip"] {
        let (code, r) = verify_json(
            &env,
            &[
                v2.join(name).to_str().unwrap(),
                "--trust",
                key.to_str().unwrap(),
                "--tsa-trust",
                v2.join("tsa-root.pem").to_str().unwrap(),
                "--require-timestamp",
            ],
        );
        assert_eq!(code, 0, "{r}");
        assert_eq!(r["format"], 2);
        assert_eq!(r["timestamps"][0]["trusted"], true);
        assert_eq!(r["timestamps"][0]["gen_time"], "20261130104909Z");
        // Adding a token never changes the content digest.
        assert_eq!(r["content_sha256"], v1["content_sha256"]);
        // The v2 bundle is the v1 bundle's entries, byte for byte, then the token.
        let names = zip_names(&v2.join(name));
        let v1_names = zip_names(&repo("tests/vectors/bundle-v1/sample.zip"));
        assert_eq!(names[..v1_names.len()], v1_names[..]);
        assert_eq!(names.len(), v1_names.len() + 1);
        for n in &v1_names {
            assert_eq!(
                zip_entry(&v2.join(name), n),
                zip_entry(&repo("tests/vectors/bundle-v1/sample.zip"), n)
            );
        }
    }
}

/// Attack on `timestamp` (issue 14): it rebuilt the bundle without the lock `cosign` holds, so a
/// `timestamp` and a `cosign` of one bundle at once lost one's addition while both exited 0 (18
/// rounds in 30). It now takes the same lock: each round ends with the token and the
/// co-signature, or with a command that failed and added nothing.
#[test]
fn attack_tsa_concurrent_timestamp_and_cosign_lose_nothing() {
    use std::process::Stdio;
    let env = Env::new();
    let v2 = repo("tests/vectors/bundle-v2").join("timestamped.zip");
    let token = tokens(&v2).remove(0);
    fs::write(env.path("t.tsr"), zip_entry(&v2, &token)).unwrap();
    let original = fs::read(repo("tests/vectors/bundle-v1/sample.zip")).unwrap();
    let (k2, _) = env.keygen("k2");
    let k2 = k2.display().to_string();
    for round in 0..20 {
        let b = env.path("b.zip");
        fs::write(&b, &original).unwrap();
        let spawn = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_docseal"))
                .args(args)
                .current_dir(env.dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let c = spawn(&["cosign", "b.zip", "--key", &k2]);
        let t = spawn(&["timestamp", "b.zip", "--reply", "t.tsr"]);
        let (oc, ot) = (c.wait_with_output().unwrap(), t.wait_with_output().unwrap());
        let names: Vec<String> = zip_names(&b);
        let has_token = names.contains(&token);
        let has_cosig = names
            .iter()
            .any(|n| n.ends_with(".minisig") && n != "tagmanifest-sha256.txt.minisig");
        assert_eq!(
            (has_cosig, has_token),
            (oc.status.success(), ot.status.success()),
            "round {round}: {names:?}; cosign: {}; timestamp: {}",
            String::from_utf8_lossy(&oc.stderr),
            String::from_utf8_lossy(&ot.stderr)
        );
    }
}

/// Attack on token names (issue 14): "one token has one name" held only for the exact bytes. The
/// same issuance with an unsigned part re-encoded (here an empty CRL set) is other bytes, so
/// another valid name: `timestamp --reply` added it beside the original and `verify` passed a
/// bundle holding one token twice. Now one issuance (TSA and serial number) counts once.
#[test]
fn attack_tsa_same_token_reencoded_under_a_second_name() {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::{Decode, Encode};
    let env = Env::new();
    let v2 = repo("tests/vectors/bundle-v2");
    let stamped = v2.join("timestamped.zip");
    let token = zip_entry(&stamped, &tokens(&stamped)[0]);
    let ci = ContentInfo::from_der(&token).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    sd.crls = Some(cms::revocation::RevocationInfoChoices(Default::default()));
    let again = ContentInfo {
        content_type: ci.content_type,
        content: der::asn1::Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap();
    assert_ne!(again, token);
    fs::write(env.path("again.tsr"), &again).unwrap();
    fs::copy(&stamped, env.path("b.zip")).unwrap();
    let d = env
        .cmd()
        .args(["timestamp", "b.zip", "--reply", "again.tsr"])
        .run();
    assert_ne!(d.code(), 0, "{}", d.stdout());
    assert!(
        d.stderr().contains("already holds this token"),
        "{}",
        d.stderr()
    );
    assert_eq!(tokens(&env.path("b.zip")).len(), 1);
    // A bundle made to hold both: the second is a tsa.name error.
    let name = docseal::tsa::token_name(&again);
    fs::write(
        env.path("c.zip"),
        with_entry(&fs::read(&stamped).unwrap(), &name, &again),
    )
    .unwrap();
    let key = repo("tests/vectors/bundle-v1/vector-key.pub");
    let root = v2.join("tsa-root.pem");
    let (code, v) = verify_json(
        &env,
        &[
            env.path("c.zip").to_str().unwrap(),
            "--trust",
            key.to_str().unwrap(),
            "--tsa-trust",
            root.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{v}");
    assert!(finding_codes(&v).contains(&"tsa.name".to_string()), "{v}");
}

/// Attack on the report (issue 14): a revoked key whose only evidence is a trusted timestamp
/// token later than the revocation was refused with "the archive log first shows this bundle",
/// though no archive was given: the message names what the evidence may be.
#[test]
fn attack_tsa_revoked_refusal_does_not_blame_an_archive_log() {
    let env = Env::new();
    let v2 = repo("tests/vectors/bundle-v2");
    let key = repo("tests/vectors/bundle-v1/vector-key.pub");
    env.cmd()
        .args([
            "key",
            "trust",
            "t.toml",
            key.to_str().unwrap(),
            "--name",
            "vec",
        ])
        .ok();
    // genTime 2026-11-30T10:49:09Z, accuracy 1 s: the token shows 10:49:10 at the latest.
    env.cmd()
        .args(["key", "revoke", "t.toml", "vec", "--reason", "retired"])
        .args(["--at", "2026-11-30T10:49:10Z"])
        .ok();
    let d = env
        .cmd()
        .arg("verify")
        .arg(v2.join("timestamped.zip"))
        .args(["--trust", "t.toml", "--tsa-trust"])
        .arg(v2.join("tsa-root.pem"))
        .fails(1);
    let out = d.stdout();
    assert!(out.contains("trust.revoked"), "{out}");
    assert!(!out.contains("the archive log first shows"), "{out}");
    assert!(
        out.contains("timestamp token")
            && out.contains("first shows this bundle at 2026-11-30T10:49:10Z"),
        "{out}"
    );
}

#[test]
fn issue14_revoked_key_passes_when_a_trusted_token_predates_the_revocation() {
    let env = Env::new();
    let v2 = repo("tests/vectors/bundle-v2");
    let key = repo("tests/vectors/bundle-v1/vector-key.pub");
    let bundle = v2.join("timestamped.zip");
    let root = v2.join("tsa-root.pem");
    // genTime 2026-11-30T10:49:09Z (accuracy 1 s): revoked after it, and before it.
    for (at, passes) in [
        ("2026-11-30T11:00:00Z", true),
        ("2026-11-30T10:00:00Z", false),
    ] {
        let t = format!("trust-{passes}.toml");
        env.cmd()
            .args(["key", "trust", &t, key.to_str().unwrap(), "--name", "vec"])
            .ok();
        env.cmd()
            .args([
                "key", "revoke", &t, "vec", "--reason", "retired", "--at", at,
            ])
            .ok();
        // Without a trusted token the signer's own time does not count.
        let d = env
            .cmd()
            .args(["verify", bundle.to_str().unwrap(), "--trust", &t])
            .fails(1);
        assert!(d.stdout().contains("trust.revoked"), "{}", d.stdout());
        let d = env
            .cmd()
            .args([
                "verify",
                bundle.to_str().unwrap(),
                "--trust",
                &t,
                "--tsa-trust",
            ])
            .arg(&root)
            .run();
        if passes {
            assert_eq!(d.code(), 0, "{}", d.stdout());
            assert!(
                d.stdout().contains("evidence: tagmanifest-sha256.txt.minisig: key E3ED3EB4063F5F19 was revoked at 2026-11-30T11:00:00Z; timestamp token"),
                "{}",
                d.stdout()
            );
            let (_, r) = verify_json(
                &env,
                &[
                    bundle.to_str().unwrap(),
                    "--trust",
                    &t,
                    "--tsa-trust",
                    root.to_str().unwrap(),
                ],
            );
            assert!(
                r["evidence"][0]
                    .as_str()
                    .unwrap()
                    .contains("CN=docseal test vector TSA P-256"),
                "{r}"
            );
        } else {
            assert_eq!(d.code(), 1, "{}", d.stdout());
            assert!(d.stdout().contains("trust.revoked"), "{}", d.stdout());
        }
    }
}

/// Found while splitting the CLI (issue 13): `pack --json --tsa` and `pack --out - --tsa`
/// exited 0 and never asked the TSA (the report ended the run first).
#[test]
fn issue14_pack_tsa_with_json_or_to_stdout_timestamps() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, _) = two_pkis(dir);
    let tsa = HttpTsa::start(dir, Mode::Openssl("ectsa".into(), ec_cnf, "ec".into()));
    let (k, _) = env.keygen("k");
    let d = env
        .cmd()
        .args(sample_pack_args(&k, "j.zip"))
        .args(["--tsa", &tsa.url, "--json"])
        .ok();
    assert_eq!(tokens(&env.path("j.zip")).len(), 1);
    let v: serde_json::Value = serde_json::from_str(d.stdout().trim()).unwrap();
    assert_eq!(v["type"], "sealed", "{v}");
    assert_eq!(v["timestamps"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        v["size"].as_u64(),
        Some(fs::metadata(env.path("j.zip")).unwrap().len()),
        "{v}"
    );
    let d = env
        .cmd()
        .args(sample_pack_args(&k, "-"))
        .args(["--tsa", &tsa.url])
        .ok();
    fs::write(env.path("s.zip"), &d.out.stdout).unwrap();
    assert_eq!(tokens(&env.path("s.zip")).len(), 1, "{}", d.stderr());
    assert!(d.stderr().contains("timestamped:"), "{}", d.stderr());
    // A TSA that fails: nothing on standard output, exit non-zero.
    let d = env
        .cmd()
        .args(sample_pack_args(&k, "-"))
        .args(["--tsa", "http://127.0.0.1:1/"])
        .run();
    assert_ne!(d.code(), 0);
    assert!(d.out.stdout.is_empty(), "{} bytes out", d.out.stdout.len());
}

#[test]
fn issue14_pack_and_pack_batch_with_tsa() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, _) = two_pkis(dir);
    let tsa = HttpTsa::start(dir, Mode::Openssl("ectsa".into(), ec_cnf, "ec".into()));
    let (k, p) = env.keygen("k");
    env.cmd()
        .args(sample_pack_args(&k, "one.zip"))
        .args(["--tsa", &tsa.url])
        .ok();
    assert_eq!(tokens(&env.path("one.zip")).len(), 1);
    fs::create_dir_all(env.path("in")).unwrap();
    fs::copy(sample_article(), env.path("in/a.txt")).unwrap();
    let job = |url: &str| {
        format!(
            r#"{{"article":"a.txt","url":"{url}","title":"T","publisher":"P","published":"2018-09-11"}}"#
        )
    };
    fs::write(
        env.path("in/jobs.jsonl"),
        format!("{}\n{}\n", job("https://e.com/1"), job("https://e.com/2")),
    )
    .unwrap();
    env.cmd()
        .args([
            "pack",
            "--batch",
            "in/jobs.jsonl",
            "--out-dir",
            "out",
            "--key",
        ])
        .arg(&k)
        .args(["--tsa", &tsa.url])
        .ok();
    let out: Vec<PathBuf> = fs::read_dir(env.path("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(out.len(), 2);
    for b in out.iter().chain([&env.path("one.zip")]) {
        assert_eq!(tokens(b).len(), 1, "{}", b.display());
        let (code, r) = verify_json(
            &env,
            &[
                b.to_str().unwrap(),
                "--trust",
                p.to_str().unwrap(),
                "--tsa-trust",
                "ec-root.pem",
                "--require-timestamp",
            ],
        );
        assert_eq!(code, 0, "{r}");
    }
}

/// The README's `openssl ts -verify` block ("Verify without docseal"), run literally from the
/// repository root.
#[test]
fn issue14_readme_openssl_ts_verify_line_runs_literally() {
    for t in ["openssl", "unzip", "minisign"] {
        if !require_tool(t) {
            return;
        }
    }
    let readme = fs::read_to_string(repo("README.md")).unwrap();
    let section = readme
        .split("## Verify without docseal")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has the section");
    let block = section
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("openssl ts -verify"))
        .expect("a sh block with openssl ts -verify");
    let out = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(block)
        .current_dir(repo(""))
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
        "README commands failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn issue14_cosigning_a_timestamped_bundle_keeps_tokens_last() {
    let env = Env::new();
    let v2 = repo("tests/vectors/bundle-v2");
    fs::copy(v2.join("timestamped.zip"), env.path("b.zip")).unwrap();
    let (k, p) = env.keygen("co");
    env.cmd().args(["cosign", "b.zip", "--key"]).arg(&k).ok();
    let names = zip_names(&env.path("b.zip"));
    assert!(names.last().unwrap().ends_with(".tsr"), "{names:?}");
    let (code, r) = verify_json(
        &env,
        &[
            "b.zip",
            "--trust",
            repo("tests/vectors/bundle-v1/vector-key.pub")
                .to_str()
                .unwrap(),
            "--trust",
            p.to_str().unwrap(),
            "--require-signers",
            "2",
            "--tsa-trust",
            v2.join("tsa-root.pem").to_str().unwrap(),
            "--require-timestamp",
        ],
    );
    assert_eq!(code, 0, "{r}");
}

#[test]
fn issue14_archive_add_with_tsa_timestamps_the_checkpoint() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, _) = two_pkis(dir);
    let tsa = HttpTsa::start(dir, Mode::Openssl("ectsa".into(), ec_cnf, "ec".into()));
    let (b, _) = sealed(&env, "b.zip");
    let (ak, ap) = env.keygen("archive");
    env.cmd()
        .args(["archive", "add", "A"])
        .arg(&b)
        .arg("--key")
        .arg(&ak)
        .args(["--tsa", &tsa.url])
        .ok();
    let toks: Vec<PathBuf> = fs::read_dir(env.path("A/log/timestamps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(toks.len(), 1);
    let name = toks[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with("1.minisig.") && name.ends_with(".tsr"),
        "{name}"
    );
    // The token covers the checkpoint's signature file: docseal and openssl agree.
    let sig = fs::read(env.path("A/log/checkpoints/1.minisig")).unwrap();
    let t = docseal::tsa::token::check(&fs::read(&toks[0]).unwrap(), &sig).unwrap();
    let roots =
        docseal::tsa::chain::load_roots(&fs::read(env.path("ec-root.pem")).unwrap()).unwrap();
    docseal::tsa::chain::check(&t, &roots).unwrap();
    let out = Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-data",
            "A/log/checkpoints/1.minisig",
            "-in",
        ])
        .arg(&toks[0])
        .args(["-token_in", "-CAfile", "ec-root.pem"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The archive itself is unchanged in form: the audit passes.
    env.cmd()
        .args(["archive", "audit", "A", "--trust"])
        .arg(&ap)
        .ok();
}

/// Attack on checkpoint tokens (issue 14): `archive add --tsa` made `log/timestamps` with
/// `create_dir_all`, so under umask 000 it was world-writable (anyone could delete the archive's
/// tokens or plant bad ones), and `archive audit` did not look at its mode. Now it is made and
/// tightened like every other archive directory, and audit names it when others can write it.
#[cfg(unix)]
#[test]
fn attack_tsa_checkpoint_tokens_dir_never_writable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, _) = two_pkis(dir);
    let tsa = HttpTsa::start(dir, Mode::Openssl("ectsa".into(), ec_cnf, "ec".into()));
    let (b, _) = sealed(&env, "b.zip");
    let mut other = sample_pack_args(&env.path("k.key"), "c.zip");
    let t = other.iter().position(|a| a == "--title").unwrap();
    other[t + 1] = "Another article".into();
    env.cmd().args(&other).ok();
    let (ak, ap) = env.keygen("archive");
    let add = |bundle: &Path| {
        env.cmd()
            .args(["archive", "add", "A"])
            .arg(bundle)
            .arg("--key")
            .arg(&ak)
            .args(["--tsa", &tsa.url])
            .ok();
    };
    add(&b);
    let ts = env.path("A/log/timestamps");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    fs::set_permissions(&ts, fs::Permissions::from_mode(0o777)).unwrap();
    let d = env
        .cmd()
        .args(["archive", "audit", "A", "--json", "--trust"])
        .arg(&ap)
        .run();
    assert_eq!(d.code(), 1, "{}", d.stdout());
    assert!(
        d.stdout().contains("archive.writable_by_others") && d.stdout().contains("log/timestamps"),
        "{}",
        d.stdout()
    );
    add(&env.path("c.zip"));
    assert_eq!(mode(&ts), 0o755, "add --tsa tightens log/timestamps");
    env.cmd()
        .args(["archive", "audit", "A", "--trust"])
        .arg(&ap)
        .ok();
}

/// Attack on the TSA chain (issue 14): a chain `openssl verify` refuses is never trusted: an
/// intermediate below a root whose path length is 0, an intermediate whose key usage does not
/// allow certificate signing, a TSA certificate with an unknown critical extension, and an
/// extended key usage that is not timeStamping alone (RFC 3161 2.3). Each would otherwise
/// lend its time to a revoked key's signature.
#[test]
fn attack_tsa_chain_rules_of_rfc_5280_are_applied() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.path("pki");
    fs::create_dir(&dir).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ext = |name: &str, text: &str| {
        fs::write(dir.join(name), text).unwrap();
        name.to_string()
    };
    let req = |name: &str| {
        let mut a = vec!["req"];
        a.extend(ec);
        let (key, csr, subj) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("/CN={name}"),
        );
        a.extend(["-keyout", &key, "-out", &csr, "-subj", &subj]);
        openssl(&dir, &a);
    };
    let sign = |name: &str, ca: &str, extfile: &str| {
        let (csr, pem, capem, cakey) = (
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{ca}.pem"),
            format!("{ca}.key"),
        );
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &capem,
                "-CAkey",
                &cakey,
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "3650",
                "-extfile",
                extfile,
            ],
        );
    };
    // Roots: one that allows no intermediate, one ordinary.
    for (name, bc) in [("root0", "CA:TRUE,pathlen:0"), ("root", "CA:TRUE")] {
        let mut a = vec!["req", "-x509"];
        a.extend(ec);
        let (key, pem, subj, bcx) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("/CN={name}"),
            format!("basicConstraints=critical,{bc}"),
        );
        a.extend([
            "-keyout",
            &key,
            "-out",
            &pem,
            "-subj",
            &subj,
            "-days",
            "3650",
            "-addext",
            &bcx,
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&dir, &a);
    }
    let ca_ext = ext(
        "ca.ext",
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
    );
    let no_sign_ext = ext(
        "nosign.ext",
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n",
    );
    let tsa_ext = ext(
        "tsa.ext",
        "extendedKeyUsage=critical,timeStamping\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n",
    );
    let crit_ext = ext(
        "crit.ext",
        "extendedKeyUsage=critical,timeStamping\nbasicConstraints=CA:FALSE\n1.3.6.1.4.1.99999.99=critical,DER:05:00\n",
    );
    // Name constraints that are not critical still bind (`openssl verify`: "permitted subtree
    // violation"): CN=tsa_nc is outside the O=Good subtree its issuer may name.
    let nc_ext = ext(
        "nc.ext",
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nnameConstraints=permitted;dirName:nc_sect\n[nc_sect]\nO=Good\n",
    );
    req("intnc");
    sign("intnc", "root", &nc_ext);
    req("tsa_nc");
    sign("tsa_nc", "intnc", &tsa_ext);
    // (TSA, its issuer, the root to trust, why it must be refused)
    req("int0");
    sign("int0", "root0", &ca_ext);
    req("intnosign");
    sign("intnosign", "root", &no_sign_ext);
    req("tsa_pl");
    sign("tsa_pl", "int0", &tsa_ext);
    req("tsa_ku");
    sign("tsa_ku", "intnosign", &tsa_ext);
    req("tsa_crit");
    sign("tsa_crit", "root", &crit_ext);
    let cnf = tsa_config(&dir, "att", "sha256", "sha256");
    let (bundle, public) = sealed(&env, "s.zip");
    let pk = public.display().to_string();
    let cases = [
        ("tsa_pl", Some("int0"), "root0", "allows 0 intermediate"),
        (
            "tsa_ku",
            Some("intnosign"),
            "root",
            "does not allow certificate signing",
        ),
        ("tsa_crit", None, "root", "critical extension"),
        ("tsa_nc", Some("intnc"), "root", "name constraints"),
    ];
    for (tsa, int, root, why) in cases {
        let b = env.path(&format!("{tsa}.zip"));
        fs::copy(&bundle, &b).unwrap();
        let q = env.path(&format!("{tsa}.tsq"));
        env.cmd()
            .args(["timestamp"])
            .arg(&b)
            .arg("--request-out")
            .arg(&q)
            .ok();
        let chain = dir.join(format!("{tsa}-chain.pem"));
        let mut pems = fs::read(dir.join(format!("{tsa}.pem"))).unwrap();
        if let Some(i) = int {
            pems.extend(fs::read(dir.join(format!("{i}.pem"))).unwrap());
        }
        fs::write(&chain, pems).unwrap();
        let r = env.path(&format!("{tsa}.tsr"));
        let (signer, key, qs, rs, cs) = (
            format!("{tsa}.pem"),
            format!("{tsa}.key"),
            q.display().to_string(),
            r.display().to_string(),
            chain.display().to_string(),
        );
        openssl(
            &dir,
            &[
                "ts",
                "-reply",
                "-config",
                &cnf,
                "-queryfile",
                &qs,
                "-signer",
                &signer,
                "-inkey",
                &key,
                "-chain",
                &cs,
                "-out",
                &rs,
            ],
        );
        env.cmd()
            .args(["timestamp"])
            .arg(&b)
            .arg("--reply")
            .arg(&r)
            .ok();
        let rootpem = dir.join(format!("{root}.pem")).display().to_string();
        let bs = b.display().to_string();
        let (code, v) = verify_json(
            &env,
            &[
                &bs,
                "--trust",
                &pk,
                "--tsa-trust",
                &rootpem,
                "--require-timestamp",
            ],
        );
        assert_eq!(code, 1, "{tsa}: {v}");
        let text = v.to_string();
        assert!(
            text.contains("tsa.untrusted") && text.contains(why),
            "{tsa}: {v}"
        );
    }
}

/// A complete RFC 3161 token made by this test rather than by `openssl ts -reply`, which signs
/// only with a certificate it accepts and only at its own clock's time: a TSTInfo over `signed`
/// (SHA-256 imprint) with `gen_time` (`YYYYMMDDhhmmssZ`) and `accuracy` seconds, the signed
/// attributes a TSA writes (content type, message digest, ESS signing-certificate-v2 naming the
/// signer), signed by `openssl dgst -sha256 -sign` with the P-256 key `SIGNER.key`, and the
/// certificate `SIGNER.pem`.
fn made_token(
    dir: &Path,
    signer: &str,
    signed: &[u8],
    gen_time: &str,
    accuracy: Option<u32>,
) -> Vec<u8> {
    use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
    use cms::content_info::{CmsVersion, ContentInfo};
    use cms::signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
        SignerInfos,
    };
    use der::asn1::{Any, Int, OctetString, SetOfVec};
    use der::Encode;
    use docseal::tsa::asn1::*;
    use sha2::Digest;
    use x509_cert::attr::Attribute;
    let alg = |oid| spki::AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    };
    let sha256 = |b: &[u8]| sha2::Sha256::digest(b).to_vec();
    let pem = fs::read(dir.join(format!("{signer}.pem"))).unwrap();
    let cert = x509_cert::Certificate::load_pem_chain(&pem)
        .unwrap()
        .remove(0);
    let tst = TstInfo {
        version: 1,
        policy: der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.9"),
        message_imprint: MessageImprint {
            hash_algorithm: alg(ID_SHA256),
            hashed_message: OctetString::new(sha256(signed)).unwrap(),
        },
        serial_number: {
            // A positive INTEGER, minimally encoded: a non-zero first byte, top bit clear.
            let mut b = rand_suffix().to_be_bytes();
            b[0] = (b[0] & 0x7f) | 0x01;
            Int::new(&b).unwrap()
        },
        gen_time: Any::new(der::Tag::GeneralizedTime, gen_time.as_bytes()).unwrap(),
        accuracy: accuracy.map(|s| Accuracy {
            seconds: Some(s),
            ..Default::default()
        }),
        ordering: false,
        nonce: None,
        tsa: None,
        extensions: None,
    }
    .to_der()
    .unwrap();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(sha256(&cert.to_der().unwrap())).unwrap(),
            issuer_serial: None,
        }],
        policies: None,
    };
    let attr = |oid, v: Any| Attribute {
        oid,
        values: SetOfVec::try_from(vec![v]).unwrap(),
    };
    let attrs = SetOfVec::try_from(vec![
        attr(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TSTINFO).unwrap()),
        attr(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(sha256(&tst)).unwrap()).unwrap(),
        ),
        attr(
            ID_AA_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&ess).unwrap(),
        ),
    ])
    .unwrap();
    let n = rand_suffix();
    let (input, output) = (format!("attrs-{n}.der"), format!("sig-{n}.der"));
    fs::write(dir.join(&input), attrs.to_der().unwrap()).unwrap();
    let key = format!("{signer}.key");
    openssl(
        dir,
        &["dgst", "-sha256", "-sign", &key, "-out", &output, &input],
    );
    let signature = fs::read(dir.join(&output)).unwrap();
    let tbs = cert.tbs_certificate();
    let si = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: alg(ID_SHA256),
        signed_attrs: Some(attrs),
        signature_algorithm: alg(ECDSA_SHA256),
        signature: OctetString::new(signature).unwrap(),
        unsigned_attrs: None,
    };
    let sd = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![alg(ID_SHA256)]).unwrap(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_CT_TSTINFO,
            econtent: Some(Any::encode_from(&OctetString::new(tst).unwrap()).unwrap()),
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(vec![CertificateChoices::Certificate(cert)]).unwrap(),
        )),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![si]).unwrap()),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// `YYYYMMDDhhmmssZ` for now plus `secs`.
fn gen_time_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .format("%Y%m%d%H%M%SZ")
        .to_string()
}

/// `openssl ts -verify` of a bare token file against the data file it covers.
fn openssl_ts_verifies(dir: &Path, data: &str, token: &str, root: &str) -> bool {
    Command::new("openssl")
        .args(["ts", "-verify", "-data", data, "-in", token, "-token_in"])
        .args(["-CAfile", root])
        .current_dir(dir)
        .output()
        .unwrap()
        .status
        .success()
}

/// Issue 14, gap 5: the TSA certificate's extended key usage must be timeStamping alone and
/// critical (RFC 3161 2.3). Certificates made by openssl here; complete tokens made by this test
/// (openssl ts refuses to sign with the wrong ones). docseal and `openssl ts -verify` agree on
/// each, and the accepted one also verifies as a trusted token inside a bundle.
#[test]
fn issue14_eku_timestamping_only_critical_is_accepted_other_ekus_refused() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    make_root(dir, "ec", "p384", "-sha384");
    let (b, p) = sealed(&env, "b.zip");
    let sig = zip_entry(&b, "tagmanifest-sha256.txt.minisig");
    fs::write(env.path("sig.bin"), &sig).unwrap();
    let rest = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n";
    let cases = [
        ("good", "extendedKeyUsage=critical,timeStamping\n", None),
        ("missing", "", Some("tsa.eku")),
        (
            "noncritical",
            "extendedKeyUsage=timeStamping\n",
            Some("tsa.eku"),
        ),
        (
            "extra",
            "extendedKeyUsage=critical,timeStamping,codeSigning\n",
            Some("tsa.eku"),
        ),
        (
            "other",
            "extendedKeyUsage=critical,codeSigning\n",
            Some("tsa.eku"),
        ),
    ];
    for (name, eku, want) in cases {
        make_tsa(
            dir,
            "ec",
            name,
            "p256",
            &format!("{eku}{rest}"),
            &["-sha384"],
        );
        // genTime now: the certificate was made a moment ago (valid from then).
        let tok = made_token(dir, name, &sig, &gen_time_in(0), Some(1));
        let file = format!("{name}.tsr");
        fs::write(env.path(&file), &tok).unwrap();
        // docseal's verdict, in the library and through the command.
        let lib = docseal::tsa::token::check(&tok, &sig);
        assert_eq!(
            lib.as_ref().err().map(|e| e.code.as_str()),
            want,
            "{name}: {lib:?}"
        );
        // openssl's verdict on the same token agrees.
        assert_eq!(
            openssl_ts_verifies(dir, "sig.bin", &file, "ec-root.pem"),
            want.is_none(),
            "{name}: openssl ts -verify disagrees"
        );
        match want {
            Some(code) => refused(&env, &b, &["--reply", &file], code),
            None => {
                let copy = env.path("good.zip");
                fs::copy(&b, &copy).unwrap();
                env.cmd()
                    .args(["timestamp", "good.zip", "--reply", &file])
                    .args(["--tsa-trust", "ec-root.pem"])
                    .ok();
                let (code, r) = verify_json(
                    &env,
                    &[
                        "good.zip",
                        "--trust",
                        p.to_str().unwrap(),
                        "--tsa-trust",
                        "ec-root.pem",
                        "--require-timestamp",
                    ],
                );
                assert_eq!(code, 0, "{r}");
                assert_eq!(r["timestamps"][0]["trusted"], true, "{r}");
            }
        }
    }
}

/// Issue 14, gap 2: a genTime in the future (beyond its accuracy and a minute of clock skew) is
/// `tsa.future`, in `verify` and when adding the token; within that it is accepted.
#[test]
fn issue14_token_from_the_future_is_refused() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    make_root(dir, "ec", "p384", "-sha384");
    make_tsa(dir, "ec", "ectsa", "p256", GOOD_EXT, &["-sha384"]);
    let (b, p) = sealed(&env, "b.zip");
    let sig = zip_entry(&b, "tagmanifest-sha256.txt.minisig");
    // 2099: refused when added.
    let far = made_token(dir, "ectsa", &sig, "20990101000000Z", Some(1));
    fs::write(env.path("far.tsr"), &far).unwrap();
    refused(&env, &b, &["--reply", "far.tsr"], "tsa.future");
    // An hour ahead, with an accuracy of ten minutes: still the future.
    let hour = made_token(dir, "ectsa", &sig, &gen_time_in(3600), Some(600));
    fs::write(env.path("hour.tsr"), &hour).unwrap();
    refused(&env, &b, &["--reply", "hour.tsr"], "tsa.future");
    // Ten minutes ahead with an accuracy of ten minutes: could be now, accepted.
    let near = made_token(dir, "ectsa", &sig, &gen_time_in(600), Some(600));
    fs::write(env.path("near.tsr"), &near).unwrap();
    env.cmd()
        .args(["timestamp", "b.zip", "--reply", "near.tsr"])
        .ok();
    // A future token put into a bundle by other means: verify refuses it, and it is no
    // evidence (--require-timestamp then fails too).
    let with_far = env.path("far.zip");
    let bytes = fs::read(&b).unwrap();
    fs::write(
        &with_far,
        with_entry(&bytes, &docseal::tsa::token_name(&far), &far),
    )
    .unwrap();
    let (code, r) = verify_json(
        &env,
        &[
            "far.zip",
            "--trust",
            p.to_str().unwrap(),
            "--tsa-trust",
            "ec-root.pem",
        ],
    );
    assert_eq!(code, 1, "{r}");
    let codes: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"tsa.future"), "{r}");
    // `inspect` reports it too.
    let d = env.cmd().args(["inspect", "far.zip"]).run();
    assert!(d.stdout().contains("tsa.future"), "{}", d.stdout());
}

/// `bundle` (bytes) with one more token file `name` holding `data`: every other entry copied,
/// the tokens last in name order (as docseal writes them).
fn with_entry(bundle: &[u8], name: &str, data: &[u8]) -> Vec<u8> {
    use docseal::zipfmt::{self, Limits, ZipWriter};
    let entries = zipfmt::read_strict(
        &mut std::io::Cursor::new(bundle),
        bundle.len() as u64,
        &Limits::default(),
    )
    .unwrap();
    let mut all: Vec<(String, &[u8])> = entries
        .iter()
        .map(|e| {
            let d = &bundle[e.data_offset as usize..(e.data_offset + e.size) as usize];
            (e.name.clone(), d)
        })
        .collect();
    all.push((name.to_string(), data));
    // A stable sort that moves only the tokens: everything else keeps its order.
    all.sort_by_key(|(n, _)| docseal::tsa::token_name_id(n).map(|_| n.clone()));
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zw = ZipWriter::new(&mut out);
    for (n, d) in &all {
        zw.add_bytes(n, d).unwrap();
    }
    zw.finish().unwrap();
    out.into_inner()
}

/// Issue 14, gap 3: the `<HEX>` in a token's file name must be the token's own, so one token
/// cannot be held twice under two names.
#[test]
fn issue14_token_file_name_must_match_the_token() {
    let v2 = fs::read(repo("tests/vectors/bundle-v2/timestamped.zip")).unwrap();
    let key = repo("tests/vectors/bundle-v1/vector-key.pub");
    let root = repo("tests/vectors/bundle-v2/tsa-root.pem");
    let token_name = tokens(&repo("tests/vectors/bundle-v2/timestamped.zip")).remove(0);
    let token = zip_entry(
        &repo("tests/vectors/bundle-v2/timestamped.zip"),
        &token_name,
    );
    let env = Env::new();
    // The same token a second time, under another name.
    let twice = env.path("twice.zip");
    let other = "tagmanifest-sha256.txt.minisig.0123456789ABCDEF.tsr";
    fs::write(&twice, with_entry(&v2, other, &token)).unwrap();
    let (code, r) = verify_json(
        &env,
        &[
            twice.to_str().unwrap(),
            "--trust",
            key.to_str().unwrap(),
            "--tsa-trust",
            root.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{r}");
    let f: Vec<(&str, &str)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap(),
                f["path"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(f, [("tsa.name", other)], "{r}");
    assert!(r["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&token_name));
    // The correctly named one still counts; the other does not.
    let by_name = |n: &str| {
        r["timestamps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["file"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name(&token_name)["trusted"], true, "{r}");
    assert!(by_name(other).get("established").is_none(), "{r}");
    // Unchanged, the vector passes (its name is its token's).
    let (code, r) = verify_json(
        &env,
        &[
            repo("tests/vectors/bundle-v2/timestamped.zip")
                .to_str()
                .unwrap(),
            "--trust",
            key.to_str().unwrap(),
            "--tsa-trust",
            root.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{r}");
}

/// Issue 14, gap 1: TSA roots named in a trust file (a path relative to the trust file, or the
/// PEM itself) are used by `verify --trust TRUST.toml` as `--tsa-trust` roots are, and survive
/// `key trust` rewriting the file.
#[test]
fn issue14_trust_file_tsa_roots_are_used_by_verify() {
    let env = Env::new();
    let v2 = repo("tests/vectors/bundle-v2/timestamped.zip");
    let root = fs::read_to_string(repo("tests/vectors/bundle-v2/tsa-root.pem")).unwrap();
    fs::create_dir(env.path("t")).unwrap();
    fs::copy(
        repo("tests/vectors/bundle-v1/vector-key.pub"),
        env.path("vector.pub"),
    )
    .unwrap();
    fs::create_dir_all(env.path("t/roots")).unwrap();
    fs::write(env.path("t/roots/tsa.pem"), &root).unwrap();
    let trusted = |r: &serde_json::Value| r["timestamps"][0]["trusted"].clone();
    for (name, roots) in [
        // Relative to the trust file, not to the working directory.
        (
            "t/rel.toml",
            "tsa_roots = [\"roots/tsa.pem\"]\n".to_string(),
        ),
        (
            "t/inline.toml",
            format!("tsa_roots = [\"\"\"\n{root}\"\"\"]\n"),
        ),
    ] {
        fs::write(env.path(name), roots).unwrap();
        // Add the signing key with the command, which rewrites the file.
        env.cmd()
            .args(["key", "trust", name, "vector.pub", "--name", "vector"])
            .ok();
        let text = fs::read_to_string(env.path(name)).unwrap();
        assert!(text.contains("tsa_roots"), "{text}");
        let (code, r) = verify_json(
            &env,
            &[v2.to_str().unwrap(), "--trust", name, "--require-timestamp"],
        );
        assert_eq!(code, 0, "{name}: {r}");
        assert_eq!(trusted(&r), true, "{name}: {r}");
    }
    // Without the roots: the token is not trusted and --require-timestamp fails.
    env.cmd()
        .args([
            "key",
            "trust",
            "plain.toml",
            "vector.pub",
            "--name",
            "vector",
        ])
        .ok();
    let (code, r) = verify_json(
        &env,
        &[
            v2.to_str().unwrap(),
            "--trust",
            "plain.toml",
            "--require-timestamp",
        ],
    );
    assert_eq!(code, 1, "{r}");
    assert_eq!(trusted(&r), false, "{r}");
    // A root file that is missing: a clear error naming the trust file and the entry.
    fs::write(env.path("t/bad.toml"), "tsa_roots = [\"nowhere.pem\"]\n").unwrap();
    let d = env
        .cmd()
        .args(["verify", v2.to_str().unwrap(), "--trust", "t/bad.toml"])
        .run();
    assert_ne!(d.code(), 0);
    assert!(
        d.stderr().contains("bad.toml") && d.stderr().contains("nowhere.pem"),
        "{}",
        d.stderr()
    );
}

/// The codes of a verify/audit JSON record's findings.
fn finding_codes(r: &serde_json::Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Issue 14, gap 2: a token that the archived copy of a bundle holds, byte for byte, cannot be
/// later than the checkpoint that logged that copy (`tsa.after_archive`): the TSA's clock or the
/// archive's is wrong. A later token added after archiving (not in the archived copy) is fine.
#[test]
fn issue14_token_later_than_the_archive_checkpoint_that_logged_it() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    make_root(dir, "ec", "p384", "-sha384");
    make_tsa(dir, "ec", "ectsa", "p256", GOOD_EXT, &["-sha384"]);
    let (b, p) = sealed(&env, "b.zip");
    let c = env.path("c.zip");
    fs::copy(&b, &c).unwrap();
    let sig = zip_entry(&b, "tagmanifest-sha256.txt.minisig");
    let token = made_token(dir, "ectsa", &sig, &gen_time_in(0), None);
    fs::write(env.path("now.tsr"), &token).unwrap();
    env.cmd()
        .args(["timestamp", "b.zip", "--reply", "now.tsr"])
        .args(["--tsa-trust", "ec-root.pem"])
        .ok();
    // The archive logs the bundle, token included, at a checkpoint time an hour before the
    // token's genTime (an archive clock an hour slow, or a TSA clock an hour fast).
    let (ak, ap) = env.keygen("archive");
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    env.cmd()
        .args(["archive", "add", "A", "b.zip", "--time", &hour_ago, "--key"])
        .arg(&ak)
        .ok();
    env.cmd()
        .args(["key", "trust", "T.toml"])
        .arg(&p)
        .args(["--name", "sealer"])
        .ok();
    env.cmd()
        .args(["key", "trust", "T.toml"])
        .arg(&ap)
        .args(["--name", "archive", "--archive"])
        .ok();
    let v = |bundle: &str, archive: bool| {
        let mut a = vec![bundle, "--trust", "T.toml", "--tsa-trust", "ec-root.pem"];
        if archive {
            a.extend(["--archive", "A"]);
        }
        verify_json(&env, &a)
    };
    let (code, r) = v("b.zip", true);
    assert_eq!(code, 1, "{r}");
    assert_eq!(finding_codes(&r), ["tsa.after_archive"], "{r}");
    assert!(r["timestamps"][0].get("established").is_none(), "{r}");
    // Without the archive, the token alone contradicts nothing.
    let (code, r) = v("b.zip", false);
    assert_eq!(code, 0, "{r}");
    // The same content timestamped after it was archived, by another token also later than
    // the checkpoint but not in the archived copy: no contradiction.
    let later = made_token(dir, "ectsa", &sig, &gen_time_in(0), None);
    fs::write(env.path("later.tsr"), &later).unwrap();
    env.cmd()
        .args(["timestamp", "c.zip", "--reply", "later.tsr"])
        .ok();
    let (code, r) = v("c.zip", true);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["timestamps"][0]["trusted"], true, "{r}");
    // The archive in a bucket (issue 17): `verify --archive s3://...` reads the archived copy
    // of the bundle it verifies (fetched alone, after the log) and finds the same.
    let Some(w) = common::weed::Weed::start() else {
        return;
    };
    let with_weed = |mut c: Run| {
        for (k, val) in w.env() {
            c = c.env(&k, &val);
        }
        c
    };
    let arch = "s3://docseal-ts/a";
    with_weed(env.cmd())
        .args([
            "archive", "add", arch, "b.zip", "--time", &hour_ago, "--key",
        ])
        .arg(&ak)
        .ok();
    let d = with_weed(env.cmd())
        .args([
            "verify",
            "b.zip",
            "--trust",
            "T.toml",
            "--tsa-trust",
            "ec-root.pem",
        ])
        .args(["--json", "--archive", arch])
        .run();
    let (mut r, _) = json_lines(&d.stdout());
    assert_eq!(d.code(), 1, "{}{}", d.stdout(), d.stderr());
    assert_eq!(finding_codes(&r.remove(0)), ["tsa.after_archive"]);
}

/// Issue 14, gap 4: `archive audit` checks the checkpoint tokens `archive add --tsa` writes
/// (imprint over the checkpoint's signature file, chain to --tsa-trust or a trust file's
/// tsa_roots) and reports each; broken ones are errors, untrusted ones warnings.
#[test]
fn issue14_archive_audit_checks_checkpoint_tokens() {
    if !have_openssl() {
        return;
    }
    let env = Env::new();
    let dir = env.dir.path();
    let (ec_cnf, _) = two_pkis(dir);
    let tsa = HttpTsa::start(dir, Mode::Openssl("ectsa".into(), ec_cnf, "ec".into()));
    let (b, _) = sealed(&env, "b.zip");
    let (ak, ap) = env.keygen("archive");
    env.cmd()
        .args(["archive", "add", "A"])
        .arg(&b)
        .arg("--key")
        .arg(&ak)
        .args(["--tsa", &tsa.url])
        .ok();
    let name = fs::read_dir(env.path("A/log/timestamps"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    let token = fs::read(env.path(&format!("A/log/timestamps/{name}"))).unwrap();
    let audit = |extra: &[&str]| {
        let d = env
            .cmd()
            .args(["archive", "audit", "A", "--trust"])
            .arg(&ap)
            .args(extra)
            .arg("--json")
            .run();
        (d.code(), d.json())
    };
    // Trusted with the right root: reported, the audit passes.
    let (code, r) = audit(&["--tsa-trust", "ec-root.pem"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(finding_codes(&r), Vec::<String>::new(), "{r}");
    let t = &r["timestamps"][0];
    assert_eq!(t["checkpoint"], 1, "{r}");
    assert_eq!(t["file"], format!("log/timestamps/{name}"), "{r}");
    assert_eq!(t["trusted"], true, "{r}");
    assert_eq!(t["tsa"], "CN=ectsa", "{r}");
    let text = env
        .cmd()
        .args(["archive", "audit", "A", "--trust"])
        .arg(&ap)
        .args(["--tsa-trust", "ec-root.pem"])
        .ok()
        .stdout();
    assert!(
        text.contains(&format!(
            "checkpoint 1 token log/timestamps/{name}: genTime"
        )) && text.contains("trusted (root CN=ec root)"),
        "{text}"
    );
    // The same roots from a trust file (with the archive key).
    fs::write(env.path("T.toml"), "tsa_roots = [\"ec-root.pem\"]\n").unwrap();
    env.cmd()
        .args(["key", "trust", "T.toml"])
        .arg(&ap)
        .args(["--name", "archive", "--archive"])
        .ok();
    let d = env
        .cmd()
        .args(["archive", "audit", "A", "--trust", "T.toml", "--json"])
        .run();
    assert_eq!(d.code(), 0, "{}", d.stdout());
    assert_eq!(d.json()["timestamps"][0]["trusted"], true);
    // No root, or another TSA's: a warning, the token counts for nothing, the audit passes.
    for extra in [&[][..], &["--tsa-trust", "rsa-root.pem"]] {
        let (code, r) = audit(extra);
        assert_eq!(code, 0, "{r}");
        assert_eq!(finding_codes(&r), ["tsa.untrusted"], "{r}");
        assert_eq!(r["timestamps"][0]["trusted"], false, "{r}");
    }
    // Broken tokens are errors (each put in, checked, taken out again).
    let hex = docseal::tsa::token_id(&token);
    let mut flipped = token.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        // Over a checkpoint the archive does not have.
        (format!("9.minisig.{hex}.tsr"), token.clone(), "tsa.imprint"),
        // Under a name that is not its own.
        (
            "1.minisig.0123456789ABCDEF.tsr".into(),
            token.clone(),
            "tsa.name",
        ),
        // Altered, garbage, not a token name at all.
        (
            format!("1.minisig.{}.tsr", docseal::tsa::token_id(&flipped)),
            flipped.clone(),
            "tsa.signature",
        ),
        (
            format!("1.minisig.{}.tsr", docseal::tsa::token_id(b"junk")),
            b"junk".to_vec(),
            "tsa.malformed",
        ),
        ("notes.txt".into(), b"x".to_vec(), "tsa.name"),
    ];
    fs::remove_file(env.path(&format!("A/log/timestamps/{name}"))).unwrap();
    for (file, bytes, code) in cases {
        let at = env.path(&format!("A/log/timestamps/{file}"));
        fs::write(&at, &bytes).unwrap();
        let (exit, r) = audit(&["--tsa-trust", "ec-root.pem"]);
        assert_eq!(exit, 1, "{file}: {r}");
        assert_eq!(finding_codes(&r), [code], "{file}: {r}");
        fs::remove_file(&at).unwrap();
    }
    // A token over checkpoint 1 put under checkpoint 2's name once there is a checkpoint 2:
    // its imprint is checkpoint 1's signature, not 2's.
    let other = env.pack_text(
        "another text\n",
        "Other",
        "2026-11-27T12:00:00Z",
        &env.path("k.key"),
        "o.zip",
        &[],
    );
    env.cmd()
        .args(["archive", "add", "A"])
        .arg(&other)
        .arg("--key")
        .arg(&ak)
        .ok();
    fs::write(
        env.path(&format!("A/log/timestamps/2.minisig.{hex}.tsr")),
        &token,
    )
    .unwrap();
    let (exit, r) = audit(&["--tsa-trust", "ec-root.pem"]);
    assert_eq!(exit, 1, "{r}");
    assert_eq!(finding_codes(&r), ["tsa.imprint"], "{r}");
}

/// Issue 14, gap 6: https TSA URLs are refused (docs/FORMAT.md section 8 says why), by every
/// command that takes --tsa, before anything is written, with the way round in the message.
#[test]
fn issue14_https_tsa_refused_everywhere_before_anything_is_written() {
    let env = Env::new();
    let (k, _) = env.keygen("k");
    let b = env.pack_sample(&k, "b.zip");
    let before = fs::read(&b).unwrap();
    let url = "https://127.0.0.1:1/tsr";
    let check = |d: Done| {
        let e = d.stderr();
        assert!(
            e.contains("only http://") && e.contains("--request-out"),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    };
    check(
        env.cmd()
            .args(["timestamp", "b.zip", "--tsa", url])
            .fails(2),
    );
    assert_eq!(fs::read(&b).unwrap(), before);
    check(
        env.cmd()
            .args(sample_pack_args(&k, "new.zip"))
            .args(["--tsa", url])
            .fails(2),
    );
    assert!(!env.path("new.zip").exists());
    fs::write(
        env.path("jobs.jsonl"),
        r#"{"article":"b.txt","url":"https://e.com/1","title":"T","publisher":"P","published":"2018-09-11"}"#,
    )
    .unwrap();
    fs::write(env.path("b.txt"), "text\n").unwrap();
    check(
        env.cmd()
            .args(["pack", "--batch", "jobs.jsonl", "--out-dir", "out", "--key"])
            .arg(&k)
            .args(["--tsa", url])
            .fails(2),
    );
    assert!(!env.path("out").exists() || fs::read_dir(env.path("out")).unwrap().count() == 0);
    let (ak, _) = env.keygen("archive");
    check(
        env.cmd()
            .args(["archive", "add", "A", "b.zip", "--key"])
            .arg(&ak)
            .args(["--tsa", url])
            .fails(2),
    );
    assert!(!env.path("A").exists());
}

/// Attack finding (issue 14): `pack --tsa` with a TSA that fails after the bundle was sealed
/// exited 2 without saying the bundle was written, so a retry met "already exists". The error
/// now says the bundle is sealed without a token and how to add one.
#[test]
fn attack_tsa_pack_with_a_failing_tsa_says_the_bundle_is_sealed_without_a_token() {
    let env = Env::new();
    let (k, _) = env.keygen("k");
    // A port nobody listens on: the TSA request fails after sealing.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/tsr");
    let d = env
        .cmd()
        .args(sample_pack_args(&k, "new.zip"))
        .args(["--tsa", &url])
        .run();
    assert_ne!(d.code(), 0, "{}", d.stderr());
    let e = d.stderr();
    assert!(
        e.contains("new.zip is sealed but holds no timestamp token")
            && e.contains("docseal timestamp new.zip --tsa URL"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    // What it says is true: the bundle is there and verifies.
    env.cmd()
        .args(["verify", "new.zip", "--trust"])
        .arg(env.path("k.pub"))
        .ok();
}

/// `--reply`, `--request` and `--tsa-trust` naming a FIFO nobody writes to are refused at once
/// by their type (before: the open blocked until a writer came).
#[test]
fn attack_tsa_files_named_on_the_command_line_never_block() {
    let env = Env::new();
    let (k, _) = env.keygen("k");
    env.pack_sample(&k, "b.zip");
    let fifo = env.path("f.fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let f = fifo.to_str().unwrap();
    for args in [
        vec!["timestamp", "b.zip", "--reply", f],
        vec!["verify", "b.zip", "--trust", "k.pub", "--tsa-trust", f],
    ] {
        let start = Instant::now();
        let d = env.cmd().args(&args).run();
        assert!(start.elapsed() < Duration::from_secs(20), "{args:?}");
        assert_ne!(d.code(), 0, "{args:?}");
        assert!(d.stderr().contains("FIFO"), "{args:?}: {}", d.stderr());
        assert_eq!(d.stderr().lines().count(), 1, "{args:?}: {}", d.stderr());
    }
}
