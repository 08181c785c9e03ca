//! The command line. Exit codes (also in the README):
//! 0 success; 1 verification failed; 2 usage error or invalid input (metadata, key, passphrase);
//! 3 an output exists and `--force` was not given; 4 an I/O error (read, write, disk full).

mod args;
mod batch;
mod commands;
mod key;
mod output;
mod provenance;
mod timestamp;

use clap::Parser;
use std::process::ExitCode;

/// Exit code: a bundle failed verification.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error or invalid input.
pub const EXIT_INVALID: u8 = 2;
/// Exit code: output exists.
pub const EXIT_EXISTS: u8 = 3;
/// Exit code: I/O error.
pub const EXIT_IO: u8 = 4;

/// Run the command line and turn its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("docseal: {}", usage_error_line(&e.render().to_string()));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("docseal: {}", one_line(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// clap's usage error on one line: the error and its details, without the usage block.
fn usage_error_line(rendered: &str) -> String {
    let parts: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:"))
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .collect();
    let mut s = parts.join(" ");
    if let Some(rest) = s.strip_prefix("error: ") {
        s = rest.to_string();
    }
    format!("{s} (see docseal --help)")
}

fn one_line(e: &anyhow::Error) -> String {
    // The library's messages name the file and the problem; context chains go on one line.
    let mut s = e.to_string();
    for c in e.chain().skip(1) {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
    }
    s.replace('\n', " ")
}

fn exit_code(e: &anyhow::Error) -> u8 {
    use docseal::Error;
    match e.downcast_ref::<Error>() {
        Some(Error::Io { .. }) => EXIT_IO,
        Some(Error::Exists { .. }) => EXIT_EXISTS,
        Some(Error::Refused { .. }) => EXIT_FAILED,
        _ => EXIT_INVALID,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
