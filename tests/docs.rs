//! The documentation says what the code does: every finding code is documented.

#[test]
fn every_code_is_documented_in_verify_md() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/VERIFY.md")).unwrap();
    for c in docseal::finding::Code::ALL {
        assert!(
            doc.contains(&format!("| `{}` |", c.as_str())),
            "{} is not in docs/VERIFY.md",
            c.as_str()
        );
    }
}

/// Every `.rs` file under `dir`, recursively (no symbolic links followed).
fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let t = e.file_type().unwrap();
        if t.is_dir() && e.file_name() != "target" && e.file_name() != "node_modules" {
            rust_files(&e.path(), out);
        } else if t.is_file() && e.path().extension().is_some_and(|x| x == "rs") {
            out.push(e.path());
        }
    }
}

/// The docs name tests as the evidence for their claims (docs/SECURITY.md, STORAGE.md,
/// FORMAT.md, BENCHMARKS.md, ...): every such name, a backticked `issueN_...` or `attack_...`
/// identifier, is a function in the tests or the library's unit tests. A test renamed or
/// removed without its citation fails here.
#[test]
fn every_test_the_docs_cite_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::new();
    let mut files = Vec::new();
    for d in ["tests", "crates", "src", "fuzz", "benches"] {
        if root.join(d).is_dir() {
            rust_files(&root.join(d), &mut files);
        }
    }
    for f in files {
        code.push_str(&std::fs::read_to_string(f).unwrap());
        code.push('\n');
    }
    let is_test_name = |w: &str| {
        let ident = !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let issue = w
            .strip_prefix("issue")
            .and_then(|r| r.split_once('_'))
            .is_some_and(|(n, rest)| {
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
            });
        ident && (issue || (w.starts_with("attack_") && w.len() > 7))
    };
    let mut docs: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.push(root.join("README.md"));
    let mut missing = Vec::new();
    let mut cited = 0;
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for (i, part) in text.split('`').enumerate() {
            // Odd parts are inside backticks; a name may be written `a::b::name` or `name`
            // (a command line, with spaces, may name a prefix of tests: not a citation).
            let name = part.rsplit("::").next().unwrap_or("");
            if i % 2 == 0 || part.contains(' ') || !is_test_name(name) {
                continue;
            }
            cited += 1;
            if !code.contains(&format!("fn {name}(")) {
                missing.push(format!(
                    "{}: `{name}`",
                    doc.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(cited > 100, "only {cited} test names found in the docs");
    assert!(
        missing.is_empty(),
        "tests the docs cite but no code defines:\n{}",
        missing.join("\n")
    );
}
