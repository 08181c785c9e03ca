//! Verify a bundle (a .zip file or an unzipped directory) against trusted public keys:
//! `cargo run --example verify -- BUNDLE KEY.pub...`.
use docseal::{verify::Options, verify_path, Trust};

fn main() -> Result<(), docseal::Error> {
    let mut args = std::env::args().skip(1);
    let bundle = args.next().unwrap_or_else(|| "archive/sample.zip".into());
    let keys: Vec<std::path::PathBuf> = args.map(Into::into).collect();
    let trust = Trust::load(&keys)?;
    let report = verify_path(bundle.as_ref(), Some(&trust), &Options::default());
    for f in &report.findings {
        println!("{}: {}", f.code, f.message);
    }
    println!("{bundle}: {}", if report.ok { "passed" } else { "FAILED" });
    std::process::exit(if report.ok { 0 } else { 1 });
}
