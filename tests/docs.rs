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
