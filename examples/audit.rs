//! Audit an archive (its log, signed checkpoints and bundles) against the archive's key:
//! `cargo run --example audit -- ARCHIVE_DIR ARCHIVE_KEY.pub`.
use docseal::{archive, Limits, Trust, TrustedKey};

fn main() -> Result<(), docseal::Error> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [dir, key] = &a[..] else {
        return Err(docseal::Error::invalid(
            "usage",
            "ARCHIVE_DIR ARCHIVE_KEY.pub",
        ));
    };
    let key = docseal::keyfile::read_public_key(key.as_ref())?;
    let trust = Trust::new(vec![TrustedKey::archive(key)]);
    let audit = archive::audit(dir.as_ref(), &trust, &[], &Limits::default())?;
    for f in &audit.findings {
        println!("{}: {}", f.code, f.message);
    }
    println!(
        "{dir}: {} entries, {}",
        audit.entries,
        if audit.ok { "passed" } else { "FAILED" }
    );
    std::process::exit(if audit.ok { 0 } else { 1 });
}
