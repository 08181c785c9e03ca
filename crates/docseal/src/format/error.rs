//! Library errors. Verification problems are not errors but findings ([`crate::format::finding`]).

use std::io;
use std::path::PathBuf;

/// A docseal operation failed. Each variant says when it happens; every message names the file
/// concerned, so the command line can print it as one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed (missing file, permission, disk full, ...).
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// An input is invalid: metadata (URL, date, title), an attachment name, a batch job.
    #[error("{what}: {problem}")]
    Invalid {
        /// The file, flag or job concerned, for example `--url` or `article.txt`.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// A key file is malformed, weak, or cannot be decrypted.
    #[error("{path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: crate::format::minisign::KeyError,
    },
    /// An input is refused by a setting of the operation (a limit, not writing over an
    /// output, a batch's base directory, the record chosen in a capture): `setting` says
    /// which, so that a caller can tell its user what to change in its own words (the command
    /// line names its flag). The message itself gives no such advice.
    #[error("{what}: {problem}")]
    Setting {
        /// The file, field or job concerned.
        what: String,
        /// What is wrong.
        problem: String,
        /// The setting that refused it.
        setting: Setting,
    },
    /// A secret key file can be read by group or others.
    #[error(
        "{path}: secret key is readable by others (mode {mode:o}); fix with: chmod 600 {path}"
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// An output exists and replacing it was not asked for.
    #[error("{path}: already exists")]
    Exists {
        /// The output.
        path: PathBuf,
    },
    /// A passphrase is needed and there is no way to ask for one.
    #[error(
        "{path}: the secret key is encrypted and there is no terminal to ask for its passphrase on"
    )]
    NoPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// A bundle fails its own checks and the operation needs an intact one (co-signing,
    /// timestamping, superseding it): `summary` gives the findings' codes and what was not
    /// done. The findings themselves are what inspecting the bundle reports.
    #[error("{path}: refused: {summary}")]
    Damaged {
        /// The bundle.
        path: PathBuf,
        /// The findings' codes, and what was not done.
        summary: String,
    },
    /// A bundle was refused during `extract` or another operation that needs a valid bundle.
    #[error("{path}: refused: {summary}")]
    Refused {
        /// The bundle.
        path: PathBuf,
        /// The findings, summarized on one line.
        summary: String,
    },
}

/// The setting of an operation that refused an input ([`Error::Setting`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// Writing into an existing output was not asked for (an operation's `force`).
    Force,
    /// The per-file limit ([`crate::format::zip::Limits::max_file_size`]).
    MaxFileSize,
    /// The per-bundle limit ([`crate::format::zip::Limits::max_total_size`]).
    MaxTotalSize,
    /// The most entries a bundle may have ([`crate::format::zip::Limits::max_entries`]).
    MaxEntries,
    /// The base directory a batch's job paths are confined to.
    BatchBase,
    /// The record of a web capture (WARC) to seal, chosen by its target URI.
    Record,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// An input refused by `setting`.
    pub fn setting(what: impl Into<String>, problem: impl Into<String>, setting: Setting) -> Self {
        Error::Setting {
            what: what.into(),
            problem: problem.into(),
            setting,
        }
    }
    /// An invalid input.
    pub fn invalid(what: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            problem: problem.into(),
        }
    }
}
