//! Command-line arguments (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Seal documents into signed, verifiable archive bundles.
#[derive(Parser, Debug)]
#[command(name = "docseal", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 ok; 1 verification failed; 2 usage error or invalid input; \
3 output exists (use --force); 4 I/O error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make a key pair: PATH.key (secret, mode 0600) and PATH.pub (public), minisign format.
    Keygen(KeygenArgs),
    /// Seal an article with its metadata and attachments into a signed bundle.
    Pack(Box<PackArgs>),
    /// Verify bundles (files or unzipped directories) against trusted public keys.
    Verify(VerifyArgs),
    /// Show a bundle's metadata, files and signatures without making a trust decision.
    Inspect(InspectArgs),
    /// Verify a bundle, then write its files under a directory.
    Extract(ExtractArgs),
    /// Show keys and manage trust files (names, validity, rotation, revocation).
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Show a key's id and fingerprint (PATH.pub or PATH.key; a secret key is never printed).
    Show {
        /// A public or secret key file.
        path: PathBuf,
    },
    /// Add a public key to a trust file (created if missing).
    Trust {
        /// The trust file (TOML).
        trust_file: PathBuf,
        /// The public key file to trust.
        public_key: PathBuf,
        /// A name for the key.
        #[arg(long)]
        name: String,
        /// Not valid for bundles sealed before TIME.
        #[arg(long, value_name = "TIME")]
        valid_from: Option<String>,
        /// Not valid for bundles sealed after TIME.
        #[arg(long, value_name = "TIME")]
        valid_until: Option<String>,
    },
    /// Revoke a key in a trust file: retired (orderly) or compromised.
    Revoke {
        /// The trust file (TOML).
        trust_file: PathBuf,
        /// The key: its name in the trust file, or its 16-digit key id.
        key: String,
        /// Why: retired or compromised.
        #[arg(long, value_parser = ["retired", "compromised"])]
        reason: String,
        /// From when (RFC 3339 or YYYY-MM-DD); default now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
    /// List the keys of a trust file with their status.
    List {
        /// The trust file (TOML).
        trust_file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Base path: writes PATH.key and PATH.pub; neither may exist.
    pub path: PathBuf,
    /// Leave the secret key unencrypted (as `minisign -G -W`).
    #[arg(long, conflicts_with = "passphrase_file")]
    pub no_passphrase: bool,
    /// Read the passphrase from the first line of FILE instead of asking on the terminal.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PackArgs {
    /// The article file, or - for standard input. Its bytes are sealed exactly as they are.
    #[arg(value_name = "ARTICLE")]
    pub article: PathBuf,
    /// Source URL (absolute http or https).
    #[arg(long)]
    pub url: String,
    /// Title (headline).
    #[arg(long)]
    pub title: String,
    /// Publisher name.
    #[arg(long)]
    pub publisher: String,
    /// Publication date: YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    pub published: String,
    /// An author; repeat for several, in order.
    #[arg(long = "author", value_name = "NAME")]
    pub authors: Vec<String>,
    /// When the article was retrieved: YYYY-MM-DD or RFC 3339.
    #[arg(long, value_name = "TIME")]
    pub retrieved: Option<String>,
    /// Sealing time (RFC 3339, whole seconds, or YYYY-MM-DD); default now. Fixing it makes
    /// the bundle reproducible byte for byte.
    #[arg(long, value_name = "TIME")]
    pub created: Option<String>,
    /// A file to seal with the article; repeat for several.
    #[arg(long = "attach", value_name = "FILE")]
    pub attachments: Vec<PathBuf>,
    #[command(flatten)]
    pub key: KeyArgs,
    /// The bundle to write.
    #[arg(long, value_name = "BUNDLE.zip")]
    pub out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct KeyArgs {
    /// The secret key file (minisign format).
    #[arg(long, value_name = "PATH.key")]
    pub key: PathBuf,
    /// Read the key's passphrase from the first line of FILE (otherwise asked on the terminal).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Refuse bundles with more entries than this.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_entries: u64,
    /// Refuse bundles with a file larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 30)]
    pub max_file_size: u64,
    /// Refuse bundles whose files add up to more than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 30)]
    pub max_total_size: u64,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Bundle files or unzipped bundle directories.
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundles: Vec<PathBuf>,
    /// A trusted public key (PATH.pub); repeat for several. Required.
    #[arg(long = "trust", value_name = "PATH.pub", required = true)]
    pub trust: Vec<PathBuf>,
    /// Require this many distinct trusted signers.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub require_signers: usize,
    /// Machine-readable output (JSON).
    #[arg(long)]
    pub json: bool,
    /// Print only failures.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The bundle.
    pub bundle: PathBuf,
    /// Machine-readable output (JSON).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// The bundle.
    pub bundle: PathBuf,
    /// A trusted public key; repeat for several. Required.
    #[arg(long = "trust", value_name = "PATH.pub", required = true)]
    pub trust: Vec<PathBuf>,
    /// Directory to write the files under (must not exist or be empty, unless --force).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write into a non-empty directory, replacing files of the same name.
    #[arg(long)]
    pub force: bool,
    /// Require this many distinct trusted signers.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub require_signers: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
}
