//! Issue 16: sealing what archivists hold (saved pages, WARC captures, text with trailers),
//! `pack --dry-run`, `cat` and `diff`.

use crate::common;

use common::{repo, sample_article, Env};
use docseal::ingest::{self, Kind, Source};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const SAMPLE_URL: &str = "https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/";
const SAMPLE_TITLE: &str = "A thaw in Pak-Russia relations";

fn fixture(name: &str) -> PathBuf {
    repo("tests/fixtures/ingest").join(name)
}

/// Whether a Python module can be imported; with CI set, a missing module fails the test.
fn require_py(module: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!(
                "python module {module} is required when CI is set (pip install it: see .ci/run)"
            );
        }
        eprintln!("skipping: python module {module} not installed (set CI to make this a failure)");
    }
    ok
}

fn dry_run(env: &Env, article: &Path, extra: &[&str]) -> (i32, Value) {
    let d = env
        .cmd()
        .args(["pack"])
        .arg(article)
        .args(["--key", "k.key", "--dry-run", "--json"])
        .args(extra)
        .run();
    (d.code(), d.json())
}

/// `{field: (value, source)}` of a dry run's JSON.
fn fields(v: &Value) -> serde_json::Map<String, Value> {
    v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("value").is_some())
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_string(),
                json!([f["value"], f["source"]]),
            )
        })
        .collect()
}

fn metadata_of(env: &Env, bundle: &str) -> Value {
    env.cmd().args(["inspect", bundle, "--json"]).ok().json()["metadata"].clone()
}

#[test]
fn issue16_sample_seals_with_only_title_and_author() {
    let env = Env::new();
    let (key, _) = env.keygen("k");
    // Only --title and --author: URL, publisher and date come from the trailer.
    env.cmd()
        .arg("pack")
        .arg(sample_article())
        .args(["--title", SAMPLE_TITLE, "--author", "Usman Ghani"])
        .args([
            "--created",
            "2026-11-27T12:00:00Z",
            "--key",
            "k.key",
            "--out",
            "a.zip",
        ])
        .ok();
    // The same bundle, byte for byte, as with every field given by hand.
    let full = env.pack_sample(&key, "full.zip");
    assert_eq!(
        std::fs::read(env.path("a.zip")).unwrap(),
        std::fs::read(full).unwrap()
    );
    let m = metadata_of(&env, "a.zip");
    assert_eq!(m["url"], SAMPLE_URL);
    assert_eq!(m["publisher"], "Daily Times");
    assert_eq!(m["datePublished"], "2018-09-11");
    // Its odd bytes (the stray C3 82) are sealed as they are.
    let out = env
        .cmd()
        .args(["cat", "a.zip", "--trust", "k.pub"])
        .ok()
        .out
        .stdout;
    let orig = std::fs::read(sample_article()).unwrap();
    assert_eq!(out, orig);
    assert!(orig.windows(2).any(|w| w == [0xC3, 0x82]));
}

#[test]
fn issue16_dry_run_names_sources_and_writes_nothing() {
    let env = Env::new();
    env.keygen("k");
    let (code, v) = dry_run(
        &env,
        &sample_article(),
        &[
            "--title",
            SAMPLE_TITLE,
            "--publisher",
            "Daily Times (Lahore)",
            "--out",
            "x.zip",
        ],
    );
    assert_eq!(code, 0, "{v}");
    let f = fields(&v);
    assert_eq!(f["url"], json!([SAMPLE_URL, "trailer"]));
    assert_eq!(f["title"], json!([SAMPLE_TITLE, "flag"]));
    // A flag always wins over the article.
    assert_eq!(f["publisher"], json!(["Daily Times (Lahore)", "flag"]));
    assert_eq!(f["published"], json!(["2018-09-11", "trailer"]));
    assert_eq!(v["kind"], "text");
    assert!(!env.path("x.zip").exists());
    // The text form names each source too.
    let d = env
        .cmd()
        .arg("pack")
        .arg(sample_article())
        .args(["--title", SAMPLE_TITLE, "--key", "k.key", "--dry-run"])
        .ok();
    assert!(
        d.stdout().contains("publisher  Daily Times [trailer]"),
        "{}",
        d.stdout()
    );
    let names: Vec<_> = std::fs::read_dir(env.dir.path()).unwrap().collect();
    assert_eq!(names.len(), 2, "only the key pair");
}

#[test]
fn issue16_missing_field_names_flag_and_where_docseal_looked() {
    let env = Env::new();
    env.keygen("k");
    let d = env
        .cmd()
        .arg("pack")
        .arg(sample_article())
        .args(["--key", "k.key", "--out", "x.zip"])
        .fails(2);
    let e = d.stderr();
    assert!(e.contains("--title: not given, and not found in"), "{e}");
    assert!(e.contains("looked at"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(!env.path("x.zip").exists());
    // HTML without a publisher: the error says where docseal looked.
    let d = env
        .cmd()
        .arg("pack")
        .arg(fixture("title-only.html"))
        .args(["--key", "k.key", "--out", "x.zip"])
        .fails(2);
    assert!(
        d.stderr()
            .contains("--publisher: not given, and not found in")
            && d.stderr().contains("og:site_name"),
        "{}",
        d.stderr()
    );
    // A dry run shows every field and the missing one, and exits 2.
    let (code, v) = dry_run(&env, &fixture("title-only.html"), &[]);
    assert_eq!(code, 2);
    assert_eq!(v["ok"], false);
    let p = v["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "publisher")
        .unwrap();
    assert!(p["problem"]
        .as_str()
        .unwrap()
        .contains("JSON-LD publisher.name"));
}

/// What each CMS-shaped fixture gives, field by field, with the source.
#[test]
fn issue16_html_fixtures_in_cms_shapes() {
    let env = Env::new();
    env.keygen("k");
    let cases: Vec<(&str, Value)> = vec![
        (
            "wordpress-yoast.html",
            json!({
                "url": ["https://courier.example/2023/05/harbour-cranes-return/", "json-ld"],
                "title": ["Harbour cranes return to the old quay", "json-ld"],
                // The Organization node the Article's publisher @id names, not og:site_name.
                "publisher": ["Lakeside Courier Media", "json-ld"],
                "published": ["2023-05-14T08:30:00+00:00", "json-ld"],
                "author": [["Ines Marlow"], "json-ld"],
            }),
        ),
        (
            "arc.html",
            json!({
                "url": ["https://www.herald.example/news/2021/03/04/council-approves-bridge/", "json-ld"],
                "title": ["Council approves river bridge budget", "json-ld"],
                "publisher": ["The Northfield Herald", "json-ld"],
                "published": ["2021-03-04T15:22:10.123Z", "json-ld"],
                "author": [["Tomas Ek", "Priya Nand"], "json-ld"],
            }),
        ),
        (
            "opengraph-only.html",
            json!({
                "url": ["https://railnotes.example/posts/night-trains", "opengraph"],
                "title": ["Night trains: a comeback?", "opengraph"],
                "publisher": ["Rail Notes", "opengraph"],
                "published": ["2019-11-02", "opengraph"],
                "author": [["Jo Lindqvist"], "opengraph"],
            }),
        ),
        (
            "title-only.html",
            json!({
                "url": ["https://allotments.example/minutes/2022-06", "meta"],
                "title": ["Minutes of the allotment society, June meeting", "meta"],
                "published": ["2022-06-03", "meta"],
                "author": [["Secretary R. Okafor"], "meta"],
            }),
        ),
        (
            "broken-jsonld.html",
            json!({
                "url": ["https://valley.example/weather-station", "opengraph"],
                "title": ["Weather station goes online", "opengraph"],
                "publisher": ["Valley Post", "opengraph"],
                "published": ["2020-02-20T06:00:00+01:00", "opengraph"],
            }),
        ),
    ];
    for (name, want) in cases {
        let (_, v) = dry_run(&env, &fixture(name), &[]);
        assert_eq!(v["kind"], "html", "{name}");
        assert_eq!(Value::Object(fields(&v)), want, "{name}");
        if name == "broken-jsonld.html" {
            let notes = v["notes"].to_string();
            assert!(
                notes.contains("JSON-LD block 1 is not valid JSON"),
                "{notes}"
            );
        }
    }
}

/// extruct (Python) as an oracle: the JSON-LD and OpenGraph values docseal reads are the ones
/// extruct finds in the same pages.
#[test]
fn issue16_jsonld_and_opengraph_agree_with_extruct() {
    if !require_py("extruct") {
        return;
    }
    let env = Env::new();
    env.keygen("k");
    for name in [
        "wordpress-yoast.html",
        "arc.html",
        "opengraph-only.html",
        "title-only.html",
        "broken-jsonld.html",
    ] {
        let o = Command::new("python3")
            .arg(fixture("oracle.py"))
            .arg(fixture(name))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let oracle: serde_json::Map<String, Value> = serde_json::from_slice(&o.stdout).unwrap();
        let (_, v) = dry_run(&env, &fixture(name), &[]);
        let ours: serde_json::Map<String, Value> = fields(&v)
            .into_iter()
            .filter(|(_, x)| x[1] == "json-ld" || x[1] == "opengraph")
            .collect();
        let theirs: serde_json::Map<String, Value> = oracle
            .into_iter()
            .map(|(k, x)| (k, json!([x["value"], x["source"]])))
            .collect();
        assert_eq!(ours, theirs, "{name}");
        // Only the <title>-only page gives extruct nothing to compare.
        assert_eq!(
            theirs.is_empty(),
            name == "title-only.html",
            "{name}: {theirs:?}"
        );
    }
}

#[test]
fn issue16_html_sealed_byte_for_byte_and_cat() {
    let env = Env::new();
    env.keygen("k");
    let page = fixture("wordpress-yoast.html");
    env.cmd()
        .arg("pack")
        .arg(&page)
        .args(["--key", "k.key", "--out", "p.zip"])
        .ok();
    env.cmd().args(["verify", "p.zip", "--trust", "k.pub"]).ok();
    let m = metadata_of(&env, "p.zip");
    assert_eq!(m["headline"], "Harbour cranes return to the old quay");
    assert_eq!(m["articleFile"], "data/article.html");
    let out = env.cmd().args(["cat", "p.zip", "--trust", "k.pub"]).ok();
    assert_eq!(out.out.stdout, std::fs::read(&page).unwrap());
}

#[test]
fn issue16_cat_prints_nothing_when_verification_fails() {
    let env = Env::new();
    env.keygen("k");
    env.keygen("other");
    env.cmd()
        .arg("pack")
        .arg(fixture("arc.html"))
        .args(["--key", "k.key", "--out", "p.zip"])
        .ok();
    // Not trusted.
    let d = env
        .cmd()
        .args(["cat", "p.zip", "--trust", "other.pub"])
        .fails(1);
    assert!(d.out.stdout.is_empty());
    // A byte of the article changed.
    let mut b = std::fs::read(env.path("p.zip")).unwrap();
    let at = b.windows(7).position(|w| w == b"seven v").unwrap();
    b[at] = b'S';
    std::fs::write(env.path("bad.zip"), &b).unwrap();
    let d = env
        .cmd()
        .args(["cat", "bad.zip", "--trust", "k.pub"])
        .fails(1);
    assert!(d.out.stdout.is_empty());
    assert!(d.stderr().contains("bad.zip"), "{}", d.stderr());
}

fn pack_html(env: &Env, html: &str, out: &str) {
    std::fs::write(env.path("page.html"), html).unwrap();
    env.cmd()
        .args(["pack", "page.html", "--key", "k.key", "--out", out])
        .ok();
}

#[test]
fn issue16_diff_catches_a_silent_edit() {
    let env = Env::new();
    env.keygen("k");
    env.keygen("other");
    let page = std::fs::read_to_string(fixture("arc.html")).unwrap();
    pack_html(&env, &page, "v1.zip");
    // Sealed again later, unchanged: identical.
    pack_html(&env, &page, "v1-again.zip");
    let d = env
        .cmd()
        .args(["diff", "v1.zip", "v1-again.zip", "--trust", "k.pub"])
        .ok();
    assert!(d.stdout().starts_with("identical"), "{}", d.stdout());
    // The page was edited silently: a vote count changed, and the headline.
    let edited = page
        .replace("by seven votes to two", "by six votes to three")
        .replace("river\\n bridge budget", "bridge budget");
    pack_html(&env, &edited, "v2.zip");
    let d = env
        .cmd()
        .args(["diff", "v1.zip", "v2.zip", "--trust", "k.pub"])
        .fails(1);
    let s = d.stdout();
    assert!(s.contains("[-seven-] {+six+}"), "{s}");
    assert!(s.contains("[-two.-] {+three.+}"), "{s}");
    assert!(
        s.contains(r#"metadata headline: "Council approves river bridge budget" -> "Council approves bridge budget""#),
        "{s}"
    );
    let j = env
        .cmd()
        .args(["diff", "v1.zip", "v2.zip", "--trust", "k.pub", "--json"])
        .fails(1)
        .json();
    assert_eq!(j["identical"], false);
    assert_eq!(j["metadata"][0]["field"], "headline");
    let t = j["text"].as_array().unwrap();
    assert_eq!(t.len(), 2, "{j}");
    assert_eq!(t[0]["deleted"], "seven");
    assert_eq!(t[0]["inserted"], "six");
    // The readable text leaves out scripts, the masthead and the footer.
    assert!(!j.to_string().contains("loadAd"));
    // Markup alone changed: they differ (exit 1), with no text change.
    pack_html(
        &env,
        &page.replace("<p class=\"article-paragraph\">", "<p>"),
        "v3.zip",
    );
    let j = env
        .cmd()
        .args(["diff", "v1.zip", "v3.zip", "--trust", "k.pub", "--json"])
        .fails(1)
        .json();
    assert_eq!(j["text"], json!([]));
    assert_eq!(j["article_bytes_identical"], false);
    // A bundle that fails verification is trouble (exit 2), not "different".
    let d = env
        .cmd()
        .args(["diff", "v1.zip", "v2.zip", "--trust", "other.pub"])
        .run();
    assert_eq!(d.code(), 2, "{}", d.stderr());
    assert!(d.out.stdout.is_empty());
}

#[test]
fn issue16_diff_text_article_word_by_word() {
    let env = Env::new();
    env.keygen("k");
    let orig = std::fs::read(sample_article()).unwrap();
    let edited =
        String::from_utf8(orig.clone())
            .unwrap()
            .replacen("Joseph Stalin", "Josef Stalin", 1);
    std::fs::write(env.path("edited.txt"), edited).unwrap();
    for (a, out) in [
        (sample_article(), "a.zip"),
        (env.path("edited.txt"), "b.zip"),
    ] {
        env.cmd()
            .arg("pack")
            .arg(a)
            .args(["--title", SAMPLE_TITLE, "--key", "k.key", "--out", out])
            .ok();
    }
    let j = env
        .cmd()
        .args(["diff", "a.zip", "b.zip", "--trust", "k.pub", "--json"])
        .fails(1)
        .json();
    assert_eq!(j["metadata"], json!([]));
    let at = String::from_utf8_lossy(&orig)
        .split_whitespace()
        .position(|w| w == "Joseph")
        .unwrap();
    assert_eq!(
        j["text"],
        json!([{"old_word": at, "new_word": at, "deleted": "Joseph", "inserted": "Josef"}])
    );
}

// ---------------------------------------------------------------------------------------------
// WARC
// ---------------------------------------------------------------------------------------------

const WARC_PY: &str = r#"
import sys
from io import BytesIO
from warcio.warcwriter import WARCWriter
from warcio.statusandheaders import StatusAndHeaders
out_path, gz = sys.argv[1], sys.argv[2] == 'gz'
args = sys.argv[3:]
with open(out_path, 'wb') as out:
    w = WARCWriter(out, gzip=gz)
    for uri, body_path, ctype, date in zip(*[iter(args)] * 4):
        body = open(body_path, 'rb').read()
        headers = [('Content-Type', ctype)]
        if body_path.endswith('.gz'):
            headers.append(('Content-Encoding', 'gzip'))
        req = w.create_warc_record(uri, 'request', warc_headers_dict={'WARC-Date': date},
            http_headers=StatusAndHeaders('GET / HTTP/1.1', [('Host', 'example')], is_http_request=True))
        resp = w.create_warc_record(uri, 'response', payload=BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders('200 OK', headers, protocol='HTTP/1.1'),
            warc_headers_dict={'WARC-Date': date})
        req.rec_headers.add_header('WARC-Concurrent-To', resp.rec_headers.get_header('WARC-Record-ID'))
        w.write_record(req)
        w.write_record(resp)
"#;

const READ_PY: &str = r#"
import sys, json
from warcio.archiveiterator import ArchiveIterator
out = []
with open(sys.argv[1], 'rb') as f:
    for r in ArchiveIterator(f):
        out.append({'type': r.rec_type, 'id': r.rec_headers.get_header('WARC-Record-ID'),
                    'uri': r.rec_headers.get_header('WARC-Target-URI'),
                    'payload': r.content_stream().read().decode('utf-8', 'replace')})
print(json.dumps(out))
"#;

const YOAST_URL: &str = "https://courier.example/2023/05/harbour-cranes-return/";
const RAIL_URL: &str = "https://railnotes.example/posts/night-trains";

/// Write a WARC with warcio: (uri, body file, content type, date) per page.
fn warcio(env: &Env, out: &str, gz: bool, pages: &[(&str, &Path, &str, &str)]) -> PathBuf {
    std::fs::write(env.path("mkwarc.py"), WARC_PY).unwrap();
    let mut c = Command::new("python3");
    c.arg(env.path("mkwarc.py"))
        .arg(env.path(out))
        .arg(if gz { "gz" } else { "plain" });
    for (u, b, t, d) in pages {
        c.arg(u).arg(b).arg(t).arg(d);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    env.path(out)
}

fn warcio_read(env: &Env, file: &Path) -> Value {
    std::fs::write(env.path("readwarc.py"), READ_PY).unwrap();
    let o = Command::new("python3")
        .arg(env.path("readwarc.py"))
        .arg(file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn three_pages(env: &Env, gz: bool) -> PathBuf {
    warcio(
        env,
        if gz { "crawl.warc.gz" } else { "crawl.warc" },
        gz,
        &[
            (
                YOAST_URL,
                &fixture("wordpress-yoast.html"),
                "text/html; charset=UTF-8",
                "2024-01-02T03:04:05Z",
            ),
            (
                RAIL_URL,
                &fixture("opengraph-only.html"),
                "text/html",
                "2024-01-03T00:00:00Z",
            ),
            (
                "https://courier.example/style.css",
                &fixture("title-only.html"),
                "text/css",
                "2024-01-03T00:00:01Z",
            ),
        ],
    )
}

#[test]
fn issue16_warc_response_and_request_sealed_as_captured() {
    if !require_py("warcio") {
        return;
    }
    let env = Env::new();
    env.keygen("k");
    for gz in [true, false] {
        let crawl = three_pages(&env, gz);
        let out = if gz { "gz.zip" } else { "plain.zip" };
        env.cmd()
            .arg("pack")
            .arg(&crawl)
            .args(["--url", RAIL_URL, "--key", "k.key", "--out", out])
            .ok();
        env.cmd().args(["verify", out, "--trust", "k.pub"]).ok();
        let m = metadata_of(&env, out);
        assert_eq!(m["url"], RAIL_URL);
        assert_eq!(m["headline"], "Night trains: a comeback?");
        assert_eq!(m["publisher"], "Rail Notes");
        assert_eq!(m["datePublished"], "2019-11-02");
        // --retrieved defaults to the record's WARC-Date.
        assert_eq!(m["dateRetrieved"], "2024-01-03T00:00:00Z");
        assert_eq!(m["articleFile"], "data/article.warc");
        assert_eq!(m["attachments"], json!(["data/attachments/request.warc"]));
        // The sealed article is the response record, which warcio reads back as it wrote it.
        let rec = env
            .cmd()
            .args(["cat", out, "--trust", "k.pub"])
            .ok()
            .out
            .stdout;
        std::fs::write(env.path("rec.warc"), &rec).unwrap();
        let back = warcio_read(&env, &env.path("rec.warc"));
        let orig = warcio_read(&env, &crawl);
        let resp = orig
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "response" && r["uri"] == RAIL_URL)
            .unwrap();
        assert_eq!(back, json!([resp]));
        assert_eq!(
            back[0]["payload"],
            std::fs::read_to_string(fixture("opengraph-only.html")).unwrap()
        );
        // For an uncompressed WARC, its bytes are those of the file.
        if !gz {
            let file = std::fs::read(&crawl).unwrap();
            assert!(file.windows(rec.len()).any(|w| w == rec.as_slice()));
        }
    }
}

#[test]
fn issue16_warc_without_url_one_html_response_or_a_list() {
    if !require_py("warcio") {
        return;
    }
    let env = Env::new();
    env.keygen("k");
    let crawl = three_pages(&env, true);
    let d = env
        .cmd()
        .arg("pack")
        .arg(&crawl)
        .args(["--key", "k.key", "--out", "x.zip"])
        .fails(2);
    let e = d.stderr();
    assert!(
        e.contains("holds 2 HTML responses; choose one by its URL")
            && e.contains("docseal pack CAPTURE --url URL"),
        "{e}"
    );
    assert!(e.contains(YOAST_URL) && e.contains(RAIL_URL), "{e}");
    assert!(!e.contains("style.css"), "{e}");
    // One HTML response (and a stylesheet): enough without --url.
    let one = warcio(
        &env,
        "one.warc.gz",
        true,
        &[
            (
                YOAST_URL,
                &fixture("wordpress-yoast.html"),
                "text/html",
                "2024-01-02T03:04:05Z",
            ),
            (
                "https://courier.example/s.css",
                &fixture("title-only.html"),
                "text/css",
                "2024-01-02T03:04:06Z",
            ),
        ],
    );
    let (code, v) = dry_run(&env, &one, &[]);
    assert_eq!(code, 0, "{v}");
    let f = fields(&v);
    assert_eq!(f["url"], json!([YOAST_URL, "warc"]));
    assert_eq!(f["retrieved"], json!(["2024-01-02T03:04:05Z", "warc"]));
    assert_eq!(f["publisher"], json!(["Lakeside Courier Media", "json-ld"]));
    // A flag wins over the WARC-Date.
    let (_, v) = dry_run(&env, &one, &["--retrieved", "2024-01-05"]);
    assert_eq!(fields(&v)["retrieved"], json!(["2024-01-05", "flag"]));
    // A URL the WARC does not hold.
    let d = env
        .cmd()
        .arg("pack")
        .arg(&one)
        .args([
            "--url",
            "https://nowhere.example/",
            "--key",
            "k.key",
            "--out",
            "x.zip",
        ])
        .fails(2);
    assert!(d
        .stderr()
        .contains("holds no response record for https://nowhere.example/"));
}

#[test]
fn issue16_warc_gzip_content_encoding_is_read() {
    if !require_py("warcio") {
        return;
    }
    let env = Env::new();
    env.keygen("k");
    let html = std::fs::read(fixture("arc.html")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&html).unwrap();
    std::fs::write(env.path("page.html.gz"), gz.finish().unwrap()).unwrap();
    let w = warcio(
        &env,
        "enc.warc",
        false,
        &[(
            "https://www.herald.example/news/2021/03/04/council-approves-bridge/",
            &env.path("page.html.gz"),
            "text/html",
            "2024-02-02T00:00:00Z",
        )],
    );
    let (code, v) = dry_run(&env, &w, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        fields(&v)["title"],
        json!(["Council approves river bridge budget", "json-ld"])
    );
}

#[test]
fn issue16_warc_digest_mismatch_refused() {
    if !require_py("warcio") {
        return;
    }
    let env = Env::new();
    env.keygen("k");
    let crawl = three_pages(&env, false);
    let mut b = std::fs::read(&crawl).unwrap();
    // One word of the captured page changed, same length: only the digests can tell.
    let at = b.windows(8).position(|w| w == b"Sleeper ").unwrap();
    b[at..at + 8].copy_from_slice(b"Sleepy  ");
    std::fs::write(env.path("tampered.warc"), &b).unwrap();
    let d = env
        .cmd()
        .args([
            "pack",
            "tampered.warc",
            "--url",
            RAIL_URL,
            "--key",
            "k.key",
            "--out",
            "x.zip",
        ])
        .fails(2);
    let e = d.stderr();
    assert!(e.contains("WARC-Block-Digest does not match"), "{e}");
    assert!(e.contains("tampered.warc") && e.contains(RAIL_URL), "{e}");
    assert!(!env.path("x.zip").exists());
    // A dry run refuses it too.
    env.cmd()
        .args([
            "pack",
            "tampered.warc",
            "--url",
            RAIL_URL,
            "--key",
            "k.key",
            "--dry-run",
        ])
        .fails(2);
    // The other pages of the same file are intact and can be sealed.
    env.cmd()
        .args([
            "pack",
            "tampered.warc",
            "--url",
            YOAST_URL,
            "--key",
            "k.key",
            "--out",
            "y.zip",
        ])
        .ok();
}

#[test]
fn issue16_warc_truncated_records_are_errors() {
    if !require_py("warcio") {
        return;
    }
    let env = Env::new();
    env.keygen("k");
    for gz in [false, true] {
        let crawl = three_pages(&env, gz);
        let b = std::fs::read(&crawl).unwrap();
        for cut in [b.len() / 3, b.len() - 2] {
            let p = env.path(if gz { "cut.warc.gz" } else { "cut.warc" });
            std::fs::write(&p, &b[..cut]).unwrap();
            let d = env
                .cmd()
                .arg("pack")
                .arg(&p)
                .args([
                    "--url",
                    "https://courier.example/style.css",
                    "--key",
                    "k.key",
                    "--out",
                    "x.zip",
                ])
                .fails(2);
            let e = d.stderr();
            assert!(
                e.contains("truncated") || e.contains("not followed by CR LF CR LF"),
                "{e}"
            );
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile input (library; no tools needed)
// ---------------------------------------------------------------------------------------------

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn issue16_hostile_html_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 50 MiB of HTML: the metadata in its head is read; the rest is capped.
    let mut big = b"<html><head><title>Big page</title></head><body>".to_vec();
    let para = b"<p>word word word word word word word word word word word word</p>\n";
    while big.len() < 50 << 20 {
        big.extend_from_slice(para);
    }
    let p = write(dir.path(), "big.html", &big);
    let a = ingest::read_article(&p, None).unwrap();
    assert_eq!(a.inferred.title.unwrap().value, "Big page");
    assert!(a
        .inferred
        .notes
        .iter()
        .any(|n| n.contains("only the first")));
    let (text, notes) = ingest::readable_text("data/article.html", &big);
    assert!(text.len() <= ingest::html::MAX_TEXT_BYTES);
    assert!(!notes.is_empty());
    drop(big);

    // A tag with a million attributes (the tokenizer's duplicate check is quadratic in
    // them): what comes before it is read, the rest is not, with a note.
    let mut wide = String::from("<html><head><title>Wide</title></head><body><div ");
    for i in 0..1_000_000 {
        wide.push_str(&format!("a{i} "));
    }
    wide.push_str(
        r#"><script type="application/ld+json">{"@type":"Article","headline":"After"}</script>"#,
    );
    let p = write(dir.path(), "wide.html", wide.as_bytes());
    let a = ingest::read_article(&p, None).unwrap();
    assert_eq!(a.inferred.title.unwrap().value, "Wide");
    assert!(
        a.inferred
            .notes
            .iter()
            .any(|n| n.contains("attributes or words")),
        "{:?}",
        a.inferred.notes
    );
    // Many tags of almost that many attributes: the work on them is bounded too.
    let mut tag = String::from("<div ");
    for i in 0..19_000 {
        tag.push_str(&format!("a{i} "));
    }
    tag.push_str(">x</div>\n");
    let mut wide = String::from("<title>Wide</title>");
    for _ in 0..40 {
        wide.push_str(&tag);
    }
    let p = write(dir.path(), "wide2.html", wide.as_bytes());
    let a = ingest::read_article(&p, None).unwrap();
    assert!(
        a.inferred
            .notes
            .iter()
            .any(|n| n.contains("too many attributes")),
        "{:?}",
        a.inferred.notes
    );
    // Many ordinary tags with attributes are no problem.
    let mut many = String::from("<title>Many</title>");
    for i in 0..100_000 {
        many.push_str(&format!("<p class=\"c{i}\" id=\"p{i}\">text {i}</p>\n"));
    }
    many.push_str(
        r#"<script type="application/ld+json">{"@type":"Article","headline":"Read"}</script>"#,
    );
    let p = write(dir.path(), "many.html", many.as_bytes());
    let a = ingest::read_article(&p, None).unwrap();
    assert_eq!(a.inferred.title.unwrap().value, "Read");

    // Nested 100,000 deep, then JSON-LD: read, in linear time.
    let mut deep = String::from("<html><body>");
    deep.push_str(&"<div><span>".repeat(100_000));
    deep.push_str(
        r#"<script type="application/ld+json">{"@type":"Article","headline":"Deep"}</script>"#,
    );
    deep.push_str(&"</span></div>".repeat(100_000));
    let p = write(dir.path(), "deep.html", deep.as_bytes());
    let a = ingest::read_article(&p, None).unwrap();
    let t = a.inferred.title.unwrap();
    assert_eq!((t.value.as_str(), t.source), ("Deep", Source::JsonLd));

    // 100,000 authors: the first 100 kept, with a note.
    let authors: Vec<String> = (0..100_000).map(|i| format!("\"A{i}\"")).collect();
    let page = format!(
        r#"<script type="application/ld+json">{{"@type":"NewsArticle","headline":"Many","author":[{}]}}</script>"#,
        authors.join(",")
    );
    let p = write(dir.path(), "authors.html", page.as_bytes());
    let a = ingest::read_article(&p, None).unwrap();
    let got = a.inferred.authors.unwrap().value;
    assert_eq!(got.len(), ingest::MAX_AUTHORS);
    assert_eq!(got[99], "A99");
    assert!(a
        .inferred
        .notes
        .iter()
        .any(|n| n.contains("100000 authors")));

    // Broken JSON-LD, and JSON nested 100,000 deep: ignored with a note, no crash.
    for (name, block) in [
        (
            "broken.html",
            r#"{"@type":"NewsArticle","headline":"x""#.to_string(),
        ),
        (
            "nested.html",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
    ] {
        let page =
            format!(r#"<title>T</title><script type="application/ld+json">{block}</script>"#);
        let p = write(dir.path(), name, page.as_bytes());
        let a = ingest::read_article(&p, None).unwrap();
        assert_eq!(a.inferred.title.unwrap().source, Source::Meta, "{name}");
        assert!(
            a.inferred
                .notes
                .iter()
                .any(|n| n.contains("not valid JSON")),
            "{name}"
        );
    }

    // A JSON-LD block over the cap is ignored whole.
    let page = format!(
        r#"<script type="application/ld+json">{{"@type":"Article","headline":"H","x":"{}"}}</script>"#,
        "y".repeat(ingest::html::MAX_JSONLD_BYTES)
    );
    let p = write(dir.path(), "bigld.html", page.as_bytes());
    let a = ingest::read_article(&p, None).unwrap();
    assert!(a.inferred.title.is_none());
    assert!(a.inferred.notes.iter().any(|n| n.contains("larger than")));
}

fn bomb(dir: &Path, name: &str, len: u64) -> PathBuf {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    write!(
        gz,
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://e.example/\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {len}\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    )
    .unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..(len >> 20) {
        gz.write_all(&zeros).unwrap();
    }
    write(dir, name, &gz.finish().unwrap())
}

/// `.warc.gz` files whose record is a block of zeros: refused as gzip bombs long before they
/// are inflated (512 MiB, about 0.5 MiB compressed, read for the list of HTML responses; 60
/// MiB, under the cap of a record kept, selected by its URL); a record over the cap of a
/// record sealed is refused by its claimed size.
#[test]
fn issue16_warc_gzip_bomb_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = bomb(dir.path(), "bomb.warc.gz", 512 << 20);
    let e = ingest::read_article(&big, None).unwrap_err();
    assert!(e.to_string().contains("gzip bomb"), "{e}");
    let e = ingest::read_article(&big, Some("https://e.example/")).unwrap_err();
    assert!(
        e.to_string().contains("docseal seals a record of at most"),
        "{e}"
    );
    let small = bomb(dir.path(), "small.warc.gz", 60 << 20);
    let e = ingest::read_article(&small, Some("https://e.example/")).unwrap_err();
    assert!(e.to_string().contains("gzip bomb"), "{e}");
}

#[test]
fn issue16_warc_malformed_records() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "notwarc.warc",
            b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
            "expected a WARC/1.0 or WARC/1.1 record",
        ),
        (
            "nolen.warc",
            b"WARC/1.0\r\nWARC-Type: response\r\n\r\n\r\n\r\n".to_vec(),
            "no Content-Length",
        ),
        (
            "badlen.warc",
            b"WARC/1.0\r\nContent-Length: -5\r\n\r\n".to_vec(),
            "is not a number",
        ),
        (
            "huge.warc",
            b"WARC/1.0\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
            "docseal reads at most",
        ),
        (
            "short.warc",
            b"WARC/1.0\r\nContent-Length: 100\r\n\r\nabc".to_vec(),
            "truncated",
        ),
        (
            "header.warc",
            format!("WARC/1.0\r\nX: {}\r\n", "a".repeat(100_000)).into_bytes(),
            "header longer than",
        ),
        (
            "notgzip.warc.gz",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xffgarbage".to_vec(),
            "not valid gzip",
        ),
        (
            "cutgzip.warc.gz",
            b"\x1f\x8b\x08\x00garbage".to_vec(),
            "truncated",
        ),
    ];
    for (name, bytes, want) in cases {
        let p = write(dir.path(), name, &bytes);
        let e = ingest::read_article(&p, None).unwrap_err().to_string();
        assert!(e.contains(want), "{name}: {e}");
        assert!(e.contains(name), "{name}: {e}");
    }
}

#[test]
fn issue16_text_kinds_and_trailer_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    // The sample's trailer with its stray bytes.
    let a = ingest::read_article(&sample_article(), None).unwrap();
    assert_eq!(a.kind, Kind::Text);
    assert_eq!(a.inferred.url.unwrap().value, SAMPLE_URL);
    // Other date forms.
    for (line, want) in [
        ("Published in The Star, 11 September 2018.", "2018-09-11"),
        ("Published in The Star, 2018-09-11.", "2018-09-11"),
    ] {
        let p = write(dir.path(), "t.txt", format!("Body.\n{line}\n").as_bytes());
        let a = ingest::read_article(&p, None).unwrap();
        assert_eq!(a.inferred.published.unwrap().value, want);
        assert_eq!(a.inferred.publisher.unwrap().value, "The Star");
    }
}

#[test]
fn issue16_batch_jobs_may_leave_out_what_the_article_gives() {
    let env = Env::new();
    env.keygen("k");
    std::fs::copy(fixture("wordpress-yoast.html"), env.path("yoast.html")).unwrap();
    std::fs::copy(fixture("title-only.html"), env.path("minutes.html")).unwrap();
    std::fs::copy(sample_article(), env.path("sample.txt")).unwrap();
    let jobs = format!(
        "{}\n{}\n{}\n",
        r#"{"article": "yoast.html", "out": "yoast.zip"}"#,
        format_args!(
            r#"{{"article": "sample.txt", "title": "{SAMPLE_TITLE}", "author": "Usman Ghani", "out": "sample.zip"}}"#
        ),
        r#"{"article": "minutes.html", "out": "minutes.zip"}"#,
    );
    std::fs::write(env.path("jobs.jsonl"), jobs).unwrap();
    let run = || {
        env.cmd()
            .args([
                "pack",
                "--batch",
                "jobs.jsonl",
                "--key",
                "k.key",
                "--out-dir",
                "out",
            ])
            .run()
    };
    let d = run();
    assert_eq!(d.code(), 2, "{}", d.stdout());
    let s = d.stdout() + &d.stderr();
    assert!(s.contains("2 sealed, 0 skipped, 1 failed"), "{s}");
    assert!(s.contains("publisher: not given, and not found in"), "{s}");
    assert!(!env.path("out/minutes.zip").exists());
    let m = metadata_of(&env, "out/yoast.zip");
    assert_eq!(m["publisher"], "Lakeside Courier Media");
    assert_eq!(m["headline"], "Harbour cranes return to the old quay");
    let m = metadata_of(&env, "out/sample.zip");
    assert_eq!(m["url"], SAMPLE_URL);
    assert_eq!(m["datePublished"], "2018-09-11");
    // Run again: the bundles sealed are found and left alone.
    let s = run().stdout();
    assert!(s.contains("0 sealed, 2 skipped, 1 failed"), "{s}");
}

#[test]
fn issue16_stdin_article_gives_its_metadata_too() {
    let env = Env::new();
    env.keygen("k");
    let sample = std::fs::read(sample_article()).unwrap();
    env.cmd()
        .args([
            "pack",
            "-",
            "--title",
            SAMPLE_TITLE,
            "--key",
            "k.key",
            "--out",
            "s.zip",
        ])
        .stdin(&sample)
        .ok();
    let m = metadata_of(&env, "s.zip");
    assert_eq!(m["url"], SAMPLE_URL);
    assert_eq!(m["publisher"], "Daily Times");
    assert_eq!(m["articleFile"], "data/article.txt");
    let out = env.cmd().args(["cat", "s.zip", "--trust", "k.pub"]).ok();
    assert_eq!(out.out.stdout, sample);
}

#[test]
fn issue16_diff_of_two_warc_captures() {
    if !require_py("warcio") {
        return;
    }
    let env = Env::new();
    env.keygen("k");
    let page = std::fs::read_to_string(fixture("opengraph-only.html")).unwrap();
    std::fs::write(
        env.path("later.html"),
        page.replace("three routes", "two routes"),
    )
    .unwrap();
    let w1 = warcio(
        &env,
        "first.warc.gz",
        true,
        &[(
            RAIL_URL,
            &fixture("opengraph-only.html"),
            "text/html",
            "2024-01-03T00:00:00Z",
        )],
    );
    let w2 = warcio(
        &env,
        "later.warc.gz",
        true,
        &[(
            RAIL_URL,
            &env.path("later.html"),
            "text/html",
            "2024-06-01T00:00:00Z",
        )],
    );
    for (w, out) in [(&w1, "first.zip"), (&w2, "later.zip")] {
        env.cmd()
            .arg("pack")
            .arg(w)
            .args(["--key", "k.key", "--out", out])
            .ok();
    }
    let j = env
        .cmd()
        .args([
            "diff",
            "first.zip",
            "later.zip",
            "--trust",
            "k.pub",
            "--json",
        ])
        .fails(1)
        .json();
    // The retrieval time, and the request record (another capture: its own id and date).
    let changed: Vec<&str> = j["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["dateRetrieved", "attachments"], "{j}");
    assert_eq!(j["metadata"][0]["new"], "2024-06-01T00:00:00Z");
    let t = j["text"].as_array().unwrap();
    assert_eq!(t.len(), 1, "{j}");
    assert_eq!(
        (t[0]["deleted"].as_str(), t[0]["inserted"].as_str()),
        (Some("three"), Some("two"))
    );
}

#[test]
fn attack_f3_diff_sees_the_articles_header_footer_and_aside() {
    let env = Env::new();
    env.keygen("k");
    let page = |headline: &str, note: &str, aside: &str, nav: &str| {
        format!(
            "<!doctype html><html><body><nav>{nav}</nav><article><header><h1>{headline}</h1></header>\
             <p>The council voted on the budget today.</p><aside>{aside}</aside>\
             <footer>Correction: {note}</footer></article></body></html>"
        )
    };
    let pack = |html: &str, out: &str| {
        std::fs::write(env.path("page.html"), html).unwrap();
        env.cmd()
            .args([
                "pack",
                "page.html",
                "--url",
                "https://city.example/b",
                "--title",
                "Budget",
            ])
            .args(["--publisher", "CP", "--published", "2024-01-01"])
            .args(["--key", "k.key", "--out", out])
            .ok();
    };
    pack(
        &page(
            "Council approves budget",
            "An earlier version misstated the vote.",
            "Vote: 7-2",
            "Home",
        ),
        "h1.zip",
    );
    pack(
        &page("Council rejects budget", "None.", "Vote: 2-7", "Home"),
        "h2.zip",
    );
    let j = env
        .cmd()
        .args(["diff", "h1.zip", "h2.zip", "--trust", "k.pub", "--json"])
        .fails(1)
        .json();
    let text = j["text"].to_string();
    assert!(text.contains("approves") && text.contains("rejects"), "{j}");
    assert!(
        text.contains("misstated"),
        "the removed correction note: {j}"
    );
    assert!(text.contains("7-2"), "the article's aside: {j}");
    assert!(!j["notes"].to_string().contains("not its"), "{j}");
    // Only the site's navigation changed: not "markup only"; the change is listed.
    pack(
        &page(
            "Council approves budget",
            "An earlier version misstated the vote.",
            "Vote: 7-2",
            "Sport",
        ),
        "h3.zip",
    );
    let j = env
        .cmd()
        .args(["diff", "h1.zip", "h3.zip", "--trust", "k.pub", "--json"])
        .fails(1)
        .json();
    assert_eq!(j["text"], json!([]), "{j}");
    let p = j["page_text"].to_string();
    assert!(p.contains("Home") && p.contains("Sport"), "{j}");
    assert!(!j["notes"].to_string().contains("markup"), "{j}");
    let d = env
        .cmd()
        .args(["diff", "h1.zip", "h3.zip", "--trust", "k.pub"])
        .fails(1);
    assert!(
        d.stdout()
            .contains("page text at word 1: [-Home-] {+Sport+}"),
        "{}",
        d.stdout()
    );
}

#[test]
fn attack_f4_jsonld_fields_come_from_one_main_article_node() {
    let env = Env::new();
    env.keygen("k");
    let related = r#"<script type="application/ld+json">{"@type":"NewsArticle","headline":"Old story","url":"https://news.example/old","datePublished":"2009-01-01","author":{"name":"Someone Else"}}</script>"#;
    // The main article gives no date or author: none are taken from the related one.
    let page = format!(
        r#"<!doctype html><html><head><title>Mayor resigns</title>
<script type="application/ld+json">{{"@type":"NewsArticle","headline":"Mayor resigns","url":"https://news.example/mayor","publisher":{{"name":"Daily Example"}}}}</script>
<meta property="article:published_time" content="2024-05-02">
</head><body><article><p>Story.</p></article><aside>Related: {related}</aside></body></html>"#
    );
    std::fs::write(env.path("mix.html"), &page).unwrap();
    let (_, j) = dry_run(&env, &env.path("mix.html"), &[]);
    let f = fields(&j);
    assert_eq!(f["title"], json!(["Mayor resigns", "json-ld"]), "{j}");
    assert_eq!(f["published"], json!(["2024-05-02", "opengraph"]), "{j}");
    assert!(
        !j.to_string().contains("Someone Else") && !j.to_string().contains("2009"),
        "{j}"
    );
    // The related block first, but the canonical address names the main one.
    let page = format!(
        r#"<!doctype html><html><head><link rel="canonical" href="https://news.example/mayor">
{related}
<script type="application/ld+json">{{"@type":"NewsArticle","headline":"Mayor resigns","mainEntityOfPage":{{"@id":"https://news.example/mayor"}},"datePublished":"2024-05-01"}}</script>
</head><body><p>Story.</p></body></html>"#
    );
    std::fs::write(env.path("canon.html"), &page).unwrap();
    let (_, j) = dry_run(&env, &env.path("canon.html"), &[]);
    let f = fields(&j);
    assert_eq!(f["title"], json!(["Mayor resigns", "json-ld"]), "{j}");
    assert_eq!(f["published"], json!(["2024-05-01", "json-ld"]), "{j}");
    assert_eq!(
        f["url"],
        json!(["https://news.example/mayor", "json-ld"]),
        "{j}"
    );
    assert!(!j.to_string().contains("Someone Else"), "{j}");
    // A WebPage's mainEntity names the main article by its @id.
    let page = r##"<!doctype html><html><head><script type="application/ld+json">{"@graph":[
{"@type":"NewsArticle","@id":"#rel","headline":"Old story","datePublished":"2009-01-01"},
{"@type":"WebPage","mainEntity":{"@id":"#main"}},
{"@type":"NewsArticle","@id":"#main","headline":"Mayor resigns","datePublished":"2024-05-03"}]}</script>
</head><body><p>Story.</p></body></html>"##;
    std::fs::write(env.path("graph.html"), page).unwrap();
    let (_, j) = dry_run(&env, &env.path("graph.html"), &[]);
    let f = fields(&j);
    assert_eq!(f["title"], json!(["Mayor resigns", "json-ld"]), "{j}");
    assert_eq!(f["published"], json!(["2024-05-03", "json-ld"]), "{j}");
}

#[test]
fn attack_f13_f16_pack_stdin_is_bounded_and_named_standard_input() {
    let env = Env::new();
    env.keygen("k");
    // More than --max-file-size on standard input, metadata to infer: refused promptly (not
    // copied whole), naming standard input.
    let big = vec![b'x'; 100_000];
    let d = env
        .cmd()
        .args([
            "pack", "-", "--title", "T", "--key", "k.key", "--out", "z.zip",
        ])
        .args(["--max-file-size", "1000"])
        .stdin(&big)
        .fails(2);
    let err = d.stderr();
    assert!(err.contains("standard input"), "{err}");
    assert!(err.contains("--max-file-size"), "{err}");
    assert!(!env.path("z.zip").exists());
    // A field missing: the message names standard input, not a temporary file.
    let d = env
        .cmd()
        .args([
            "pack", "-", "--key", "k.key", "--out", "s.zip", "--title", "T",
        ])
        .stdin(b"hello\n")
        .fails(2);
    let err = d.stderr();
    assert!(err.contains("standard input"), "{err}");
    assert!(!err.contains("/tmp") && !err.contains(".tmp"), "{err}");
    let d = env
        .cmd()
        .args(["pack", "-", "--key", "k.key", "--dry-run", "--json"])
        .stdin(b"hello\n")
        .fails(2);
    assert!(!d.stdout().contains(".tmp"), "{}", d.stdout());
    assert!(d.stdout().contains("standard input"), "{}", d.stdout());
}

#[test]
fn attack_f8_inference_passes_over_values_pack_refuses() {
    let env = Env::new();
    env.keygen("k");
    let page = "<!doctype html><html><head>\
        <script type=\"application/ld+json\">{\"@type\":\"NewsArticle\",\"headline\":\"Mayor \u{202e}sngiser\",\"url\":\"https://news.example/m\",\"datePublished\":\"2024-05-01\",\"publisher\":{\"name\":\"Daily\u{202b} Example\"}}</script>\
        <meta property=\"og:title\" content=\"Mayor resigns\">\
        <meta property=\"og:site_name\" content=\"Daily Example\">\
        </head><body><p>Story.</p></body></html>";
    std::fs::write(env.path("rlo.html"), page).unwrap();
    let (code, j) = dry_run(&env, &env.path("rlo.html"), &[]);
    assert_eq!(code, 0, "{j}");
    let f = fields(&j);
    assert_eq!(f["title"], json!(["Mayor resigns", "opengraph"]), "{j}");
    assert_eq!(f["publisher"], json!(["Daily Example", "opengraph"]), "{j}");
    // pack agrees with the dry run.
    env.cmd()
        .args(["pack", "rlo.html", "--key", "k.key", "--out", "r.zip"])
        .ok();
    assert_eq!(metadata_of(&env, "r.zip")["headline"], "Mayor resigns");
}

/// One WARC response record for `uri` by hand: `block` is the HTTP response; `digests` are
/// extra header lines (`WARC-Block-Digest: ...`).
fn warc_response(uri: &str, date: &str, block: &[u8], digests: &[String]) -> Vec<u8> {
    let mut h = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {date}\r\n\
         WARC-Record-ID: <urn:uuid:{date}>\r\nContent-Type: application/http; msgtype=response\r\n"
    );
    for d in digests {
        h.push_str(d);
        h.push_str("\r\n");
    }
    h.push_str(&format!("Content-Length: {}\r\n\r\n", block.len()));
    let mut out = h.into_bytes();
    out.extend_from_slice(block);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

fn http_response(status: &str, ctype: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn sha256_digest(b: &[u8]) -> String {
    use sha2::Digest;
    format!(
        "WARC-Block-Digest: sha256:{}",
        docseal::metadata::hex(&sha2::Sha256::digest(b))
    )
}

const WARC_PAGE: &[u8] = b"<!doctype html><html><head><title>Real E</title>\
    <meta property=\"og:site_name\" content=\"Pub\">\
    <meta property=\"article:published_time\" content=\"2024-05-05\"></head>\
    <body>Real article</body></html>";

#[test]
fn attack_f9_f7_warc_seals_the_html_response_chosen_and_says_so() {
    let env = Env::new();
    env.keygen("k");
    let err503 = http_response(
        "503 Service Unavailable",
        "text/plain",
        b"Service unavailable",
    );
    let ok = http_response("200 OK", "text/html", WARC_PAGE);
    let mut w = warc_response(
        "https://e.com/e",
        "2024-05-05T10:00:00Z",
        &err503,
        &[sha256_digest(&err503)],
    );
    w.extend(warc_response(
        "https://e.com/e",
        "2024-05-05T10:00:05Z",
        &ok,
        &[sha256_digest(&ok)],
    ));
    std::fs::write(env.path("e.warc"), &w).unwrap();
    // Without --url (the only HTML response) and with it (the last HTML 200 response).
    for (n, url) in [(0, None), (1, Some("https://e.com/e"))] {
        let out = format!("e{n}.zip");
        let mut c = env
            .cmd()
            .args(["pack", "e.warc", "--key", "k.key", "--out", &out]);
        if let Some(u) = url {
            c = c.args(["--url", u]);
        }
        let d = c.ok();
        // The choice is said on standard error (pack, not only --dry-run).
        assert!(d.stderr().contains("record 2"), "{}", d.stderr());
        let cat = env.cmd().args(["cat", &out, "--trust", "k.pub"]).ok();
        let sealed = cat.stdout();
        assert!(sealed.contains("Real article"), "{sealed}");
        assert!(!sealed.contains("Service unavailable"), "{sealed}");
        assert_eq!(metadata_of(&env, &out)["headline"], "Real E");
    }
    // In --json too.
    let d = env
        .cmd()
        .args([
            "pack", "e.warc", "--key", "k.key", "--out", "e2.zip", "--json",
        ])
        .ok();
    assert!(
        d.json()["warnings"].to_string().contains("record 2"),
        "{}",
        d.stdout()
    );
}

#[test]
fn attack_f10_warc_digests_said_truthfully_and_all_checked() {
    let env = Env::new();
    env.keygen("k");
    let ok = http_response("200 OK", "text/html", WARC_PAGE);
    // No digest recorded: not "(digests checked)".
    std::fs::write(
        env.path("nd.warc"),
        warc_response("https://e.com/nd", "2024-05-05T10:00:00Z", &ok, &[]),
    )
    .unwrap();
    let (code, j) = dry_run(&env, &env.path("nd.warc"), &[]);
    assert_eq!(code, 0, "{j}");
    let what = j["sealed"][0]["what"].as_str().unwrap().to_string();
    assert!(!what.contains("digests checked"), "{what}");
    assert!(what.contains("no digest recorded"), "{what}");
    // With one: checked.
    std::fs::write(
        env.path("d1.warc"),
        warc_response(
            "https://e.com/d1",
            "2024-05-05T10:00:00Z",
            &ok,
            &[sha256_digest(&ok)],
        ),
    )
    .unwrap();
    let (_, j) = dry_run(&env, &env.path("d1.warc"), &[]);
    assert!(
        j["sealed"][0]["what"]
            .as_str()
            .unwrap()
            .contains("digest checked"),
        "{j}"
    );
    // A second, wrong WARC-Block-Digest: refused.
    let wrong = format!("WARC-Block-Digest: sha256:{}", "00".repeat(32));
    std::fs::write(
        env.path("dd.warc"),
        warc_response(
            "https://e.com/dd",
            "2024-05-05T10:00:00Z",
            &ok,
            &[sha256_digest(&ok), wrong],
        ),
    )
    .unwrap();
    let d = env
        .cmd()
        .args(["pack", "dd.warc", "--key", "k.key", "--out", "dd.zip"])
        .run();
    assert_ne!(d.code(), 0, "{}", d.stderr());
    assert!(d.stderr().contains("WARC-Block-Digest"), "{}", d.stderr());
    assert!(!env.path("dd.zip").exists());
}

#[test]
fn attack_f12_a_text_starting_with_warc_version_is_text() {
    let env = Env::new();
    env.keygen("k");
    std::fs::write(
        env.path("w.txt"),
        "WARC/1.0 is a file format. This article explains it.\n",
    )
    .unwrap();
    env.cmd()
        .args(["pack", "w.txt", "--url", "https://e.com/w", "--title", "T"])
        .args(["--publisher", "P", "--published", "2020-01-01"])
        .args(["--key", "k.key", "--out", "w.zip"])
        .ok();
    assert_eq!(
        metadata_of(&env, "w.zip")["articleFile"],
        "data/article.txt"
    );
    // Even a line break after the version, without WARC fields, is text.
    std::fs::write(
        env.path("w2.txt"),
        "WARC/1.0\r\nis a format.\r\n\r\nMore.\n",
    )
    .unwrap();
    env.cmd()
        .args(["pack", "w2.txt", "--url", "https://e.com/w", "--title", "T"])
        .args(["--publisher", "P", "--published", "2020-01-01"])
        .args(["--key", "k.key", "--out", "w2.zip"])
        .ok();
    // A real WARC record without the .warc name is still read as one.
    let ok = http_response("200 OK", "text/html", WARC_PAGE);
    std::fs::write(
        env.path("capture.bin"),
        warc_response("https://e.com/c", "2024-05-05T10:00:00Z", &ok, &[]),
    )
    .unwrap();
    let (_, j) = dry_run(&env, &env.path("capture.bin"), &[]);
    assert_eq!(j["kind"], "warc", "{j}");
}

#[test]
fn attack_f17_diff_compares_supersedes() {
    let env = Env::new();
    env.keygen("k");
    std::fs::write(
        env.path("x.txt"),
        "Body.\nPublished in P, 2018-09-11.\nSource: https://e.com/x\n",
    )
    .unwrap();
    let pack = |out: &str, extra: &[&str]| {
        env.cmd()
            .args(["pack", "x.txt", "--key", "k.key", "--out", out])
            .args(["--created", "2025-01-01T00:00:00Z"])
            .args(extra)
            .ok();
    };
    pack("old.zip", &["--title", "A"]);
    pack("s1.zip", &["--title", "B"]);
    pack("s2.zip", &["--title", "B", "--supersedes", "old.zip"]);
    let j = env
        .cmd()
        .args(["diff", "s1.zip", "s2.zip", "--trust", "k.pub", "--json"])
        .fails(1)
        .json();
    assert_eq!(j["identical"], false, "{j}");
    assert_eq!(j["metadata"][0]["field"], "supersedes", "{j}");
    assert_eq!(j["metadata"][0]["old"], Value::Null, "{j}");
    let d = env
        .cmd()
        .args(["diff", "s1.zip", "s2.zip", "--trust", "k.pub"])
        .fails(1);
    assert!(
        d.stdout().contains("metadata supersedes:"),
        "{}",
        d.stdout()
    );
}

#[test]
fn attack_f6_f5_first_title_only_and_no_microdata_author() {
    let env = Env::new();
    env.keygen("k");
    let page = "<!doctype html><html><head><title>Real title</title><title>Injected</title>\
        </head><body><article><p>Story.</p></article>\
        <div itemscope><meta itemprop=\"author\" content=\"Comment Writer\"></div></body></html>";
    std::fs::write(env.path("t.html"), page).unwrap();
    let (_, j) = dry_run(&env, &env.path("t.html"), &[]);
    let f = fields(&j);
    assert_eq!(f["title"], json!(["Real title", "meta"]), "{j}");
    assert!(!j.to_string().contains("Comment Writer"), "{j}");
    assert!(!j.to_string().contains("Injected"), "{j}");
}

/// `pack ARTICLE --dry-run` seals nothing, so it needs no key; without --dry-run the key is
/// still required.
#[test]
fn issue16_dry_run_needs_no_key() {
    let env = Env::new();
    let d = env
        .cmd()
        .args(["pack"])
        .arg(sample_article())
        .args(["--title", SAMPLE_TITLE, "--dry-run", "--json"])
        .run();
    assert_eq!(d.code(), 0, "{}", d.stderr());
    let v = d.json();
    assert_eq!(fields(&v)["url"], json!([SAMPLE_URL, "trailer"]));
    let d = env
        .cmd()
        .args(["pack"])
        .arg(sample_article())
        .args(["--title", SAMPLE_TITLE, "--out", "x.zip"])
        .run();
    assert_eq!(d.code(), 2);
    assert!(d.stderr().contains("--key"), "{}", d.stderr());
    assert!(!env.path("x.zip").exists());
}
