//! The verifier's entry point on arbitrary bytes: `docseal::verify::verify_bytes`, with the
//! keys the seeds are signed with trusted (`keys/sample.pub`, `fuzz/corpus.pub`), and without
//! trust (what `inspect` does).
//!
//! Besides "never panics, never hangs, never allocates without bound" (libFuzzer's -timeout and
//! -rss_limit_mb), one oracle: a bundle that is accepted is exactly what the writer produces
//! for its entries (one bundle, one byte sequence).
#![no_main]

use docseal::minisign::PublicKey;
use docseal::verify::{verify_bytes, Options, Trust, TrustedKey};
use docseal::zipfmt::{hash_entry, read_strict, ZipWriter};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;
use std::sync::OnceLock;

fn trust() -> &'static Trust {
    static TRUST: OnceLock<Trust> = OnceLock::new();
    TRUST.get_or_init(|| {
        let files: [&[u8]; 2] = [
            include_bytes!("../../keys/sample.pub"),
            include_bytes!("../corpus.pub"),
        ];
        Trust {
            keys: files
                .iter()
                .map(|f| TrustedKey::plain(PublicKey::from_file_bytes(f).expect("a public key")))
                .collect(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let opts = Options::default();
    let r = verify_bytes("fuzz", data, Some(trust()), &opts);
    assert_eq!(r.ok, r.error_codes().is_empty());
    if r.ok {
        // Accepted: re-writing its entries must give back exactly these bytes.
        let mut c = Cursor::new(data);
        let entries = read_strict(&mut c, data.len() as u64, &opts.limits).expect("readable");
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        for e in &entries {
            let mut buf = Vec::new();
            hash_entry(&mut c, e, Some(&mut buf)).expect("entry data");
            w.add_bytes(&e.name, &buf).expect("a name the writer takes");
        }
        assert!(
            w.finish().expect("written").into_inner() == data,
            "accepted a non-canonical form"
        );
    }
    let i = verify_bytes("fuzz", data, None, &opts);
    assert_eq!(i.ok, i.error_codes().is_empty());
});
