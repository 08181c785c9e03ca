//! Every integration test, in one test binary (issue 18: one link instead of twenty-four, and
//! the tests of every file share the test threads, so a file's slow last test no longer leaves
//! a core idle while the next file waits). Each file is a module named as before: `cargo test
//! --test integration archive_v2::` runs what `cargo test --test archive_v2` ran. A new file
//! under tests/ is added here (Cargo.toml sets `autotests = false`).

mod common;

mod archive_integrity;
mod archive_v2;
mod archive_v3;
mod borrowed_evidence;
mod cli_contract;
mod docs;
mod ed25519_vectors;
mod format_vectors;
mod fs_safety;
mod fuzz_corpus;
mod hostile;
mod ingest;
mod interop;
mod keys;
mod layering;
mod provenance;
mod s3_archive;
mod s3_archive_add;
mod s3_hostile;
mod s3_pack_batch;
mod s3_prove;
mod s3_store;
mod s3_verify;
mod scale;
mod seal_verify;
mod timestamp;
mod web;

/// Every `tests/*.rs` file is a module here: a file left out would never be compiled or run.
#[test]
fn issue18_every_test_file_is_a_module_of_the_one_test_binary() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let me = std::fs::read_to_string(format!("{dir}/integration.rs")).unwrap();
    let mut files = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if module != "integration" {
            files += 1;
            assert!(
                me.lines().any(|l| l == format!("mod {module};")),
                "tests/{name} is not declared in tests/integration.rs (`mod {module};`)"
            );
        }
    }
    assert!(files >= 24, "{files} test files");
}
