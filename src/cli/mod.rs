//! The command line. Exit codes (also in the README):
//! 0 success; 1 verification failed; 2 usage error or invalid input (metadata, key, passphrase);
//! 3 an output exists and `--force` was not given; 4 an I/O error (read, write, disk full).
//!
//! Output rules (issue 12 and issue 19 item 8): nothing here prints with the standard
//! `println!`/`eprintln!`, which panic when a write fails. The two macros below shadow them in
//! every module of the command line: a line is escaped for the terminal
//! ([`output::term`]: control, bidi and separator characters made visible) and written; a
//! failed write to standard output is an error (`?`), so a closed pipe or a full disk is never
//! success (see [`main`]); a failed write to standard error is ignored.

/// Print one line on standard output, escaped for the terminal; `?` on a write error.
macro_rules! println {
    () => {
        $crate::cli::output::line_out(format_args!(""))?
    };
    ($($t:tt)*) => {
        $crate::cli::output::line_out(format_args!($($t)*))?
    };
}

/// Print one line on standard error, escaped for the terminal; a write error is ignored.
macro_rules! eprintln {
    ($($t:tt)*) => {
        $crate::cli::output::line_err(format_args!($($t)*))
    };
}

mod advice;
mod args;
mod batch;
mod commands;
mod ingest;
mod key;
mod load;
mod output;
mod provenance;
mod s3archive;
mod s3out;
mod timestamp;
mod warnings;
mod web;

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

/// Run one subcommand: one function per subcommand, each returning its exit code.
fn run(cli: args::Cli) -> anyhow::Result<u8> {
    match cli.command {
        args::Command::Keygen(a) => commands::keygen(a),
        args::Command::Pack(a) => commands::pack(*a),
        args::Command::Verify(a) => commands::verify(a),
        args::Command::Inspect(a) => commands::inspect(a),
        args::Command::Extract(a) => commands::extract(a),
        args::Command::Key(k) => key::run(k),
        args::Command::Cosign(a) => provenance::cosign(a),
        args::Command::History(a) => provenance::history(a),
        args::Command::Archive(a) => provenance::archive(a),
        args::Command::Completions(a) => commands::completions(a),
        args::Command::Man(a) => commands::man(a),
        args::Command::Cat(a) => ingest::cat(a),
        args::Command::Diff(a) => ingest::diff(a),
        args::Command::Timestamp(a) => timestamp::run(a),
        args::Command::Web(a) => web::run(a),
    }
}

/// Whether file descriptor 1 was closed when docseal started (`>&-`). Rust's runtime reopens a
/// closed descriptor 0-2 on `/dev/null` for reading and writing before `main`, so every write
/// would "succeed" into nothing. A shell's `>/dev/null` opens it write-only; only a
/// read-write `/dev/null` on descriptor 1 (what the runtime leaves, or a deliberate `1<>/dev/null`)
/// is taken for a closed standard output.
#[cfg(target_os = "linux")]
fn stdout_is_closed() -> bool {
    use rustix::fs::{fstat, FileType, OFlags};
    let fd = std::io::stdout();
    let Ok(st) = fstat(&fd) else {
        return true;
    };
    let null = FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
        && rustix::fs::major(st.st_rdev) == 1
        && rustix::fs::minor(st.st_rdev) == 3;
    let rw = rustix::fs::fcntl_getfl(&fd)
        .map(|f| f & OFlags::RWMODE == OFlags::RDWR)
        .unwrap_or(false);
    null && rw
}

#[cfg(not(target_os = "linux"))]
fn stdout_is_closed() -> bool {
    false
}

/// Run the command line and turn its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help, --version: on standard output (a closed pipe is not a failure).
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Bare `docseal` (or `docseal key`): the commands, on standard error.
            let _ = e.print();
            return ExitCode::from(EXIT_INVALID);
        }
        Err(e) => {
            eprintln!("docseal: {}", usage_error_line(&e.render().to_string()));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    if stdout_is_closed() {
        // Rust's standard output swallows writes to a closed descriptor (EBADF) as if they
        // succeeded: `docseal cat B >&-` would exit 0 having delivered nothing. Refuse at once.
        eprintln!("docseal: standard output is closed (file descriptor 1); nothing was done");
        return ExitCode::from(EXIT_IO);
    }
    let res = run(cli).and_then(|code| {
        // Whatever is still buffered must reach its destination for the run to succeed.
        std::io::Write::flush(&mut std::io::stdout()).map_err(output::stdout_error)?;
        Ok(code)
    });
    match res {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                // The reader went away: stop quietly, with the exit code earned so far (never
                // 0 for a run that found a failure or did not finish checking).
                return ExitCode::from(output::earned());
            }
            eprintln!("docseal: {}", one_line(&e));
            ExitCode::from(exit_code(&e).max(output::earned()))
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
    format!("{s} (see {} --help)", command_path(rendered))
}

/// The (sub)command a usage error is about, from clap's usage line: `docseal verify`,
/// `docseal key trust`; `docseal` when there is none.
fn command_path(rendered: &str) -> String {
    let usage = rendered
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .unwrap_or("docseal");
    let words: Vec<&str> = usage
        .split_whitespace()
        .take_while(|w| {
            w.starts_with(|c: char| c.is_ascii_lowercase())
                && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        })
        .collect();
    if words.is_empty() {
        "docseal".into()
    } else {
        words.join(" ")
    }
}

fn one_line(e: &anyhow::Error) -> String {
    // An output in a directory that does not exist: name the directory, not a temporary file
    // the library tried to create in it.
    if let Some(docseal::Error::Io { path, source }) = e.downcast_ref::<docseal::Error>() {
        if source.kind() == std::io::ErrorKind::NotFound {
            if let Some(dir) = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty() && !d.exists())
            {
                return format!(
                    "{}: the directory {} does not exist (create it first: mkdir -p {})",
                    path.display(),
                    dir.display(),
                    dir.display()
                );
            }
        }
    }
    // The library names the file and the problem; the command line adds what to type.
    if let Some(line) = e.downcast_ref::<docseal::Error>().and_then(advice::message) {
        return line;
    }
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
    if e.downcast_ref::<std::io::Error>().is_some() {
        // Writing the output failed (a full disk, a closed file).
        return EXIT_IO;
    }
    match e.downcast_ref::<Error>() {
        Some(Error::Io { .. }) => EXIT_IO,
        Some(Error::Exists { .. }) => EXIT_EXISTS,
        Some(Error::Refused { .. } | Error::Damaged { .. }) => EXIT_FAILED,
        _ => EXIT_INVALID,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
