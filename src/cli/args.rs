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
    /// Add another signer's signature to a bundle, without changing what is sealed.
    Cosign(CosignArgs),
    /// Show the versions of corrected articles (supersedes links), oldest first.
    History(HistoryArgs),
    /// Archive directories: add bundles to an append-only signed log, audit it, prove
    /// inclusion and consistency.
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on standard
    /// output.
    #[command(after_help = "Install, for example:\n  \
docseal completions bash > ~/.local/share/bash-completion/completions/docseal\n  \
docseal completions zsh > ~/.zfunc/_docseal   (with fpath+=~/.zfunc before compinit)\n  \
docseal completions fish > ~/.config/fish/completions/docseal.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of docseal, or of one of its commands, on standard output.
    #[command(after_help = "Read it with: docseal man | man -l -\n\
Install it with: docseal man > ~/.local/share/man/man1/docseal.1")]
    Man(ManArgs),
    /// Verify a bundle, then write its article's exact bytes to standard output (nothing when
    /// verification fails).
    Cat(CatArgs),
    /// Verify two bundles, then show what changed: metadata, and the text word by word.
    ///
    /// For HTML the readable text is compared; for a WARC record, that of its HTML payload.
    /// Exit 0 identical, 1 different, 2 trouble (a bundle refused, a bad argument).
    Diff(DiffArgs),
    /// Add RFC 3161 timestamp tokens from Time-Stamping Authorities to bundles (format v2),
    /// without changing what is sealed.
    Timestamp(TimestampArgs),
    /// Write one self-contained HTML page that verifies bundles in a browser, offline, with
    /// docseal's own verifier (WebAssembly) and the given keys pinned in it.
    Web(WebArgs),
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// A command (for example verify, or "key trust"); default docseal itself.
    #[arg(value_name = "COMMAND", num_args = 0..)]
    pub command: Vec<String>,
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
        #[arg(value_parser = LocalOut)]
        trust_file: PathBuf,
        /// The public key file to trust.
        public_key: PathBuf,
        /// A name for the key.
        #[arg(long)]
        name: String,
        /// Not valid for bundles sealed before TIME (a plain date: from its first second, UTC).
        #[arg(long, value_name = "TIME")]
        valid_from: Option<String>,
        /// Not valid for bundles sealed after TIME. A plain date (YYYY-MM-DD) covers that whole
        /// day: it is stored as YYYY-MM-DDT23:59:59Z.
        #[arg(long, value_name = "TIME")]
        valid_until: Option<String>,
        /// Trust it as an archive key (role = "archive"): it vouches for archive checkpoints
        /// (verify --archive), never for bundles. Default: a key that signs bundles.
        #[arg(long)]
        archive: bool,
    },
    /// Revoke a key in a trust file: retired (orderly) or compromised.
    Revoke {
        /// The trust file (TOML).
        #[arg(value_parser = LocalOut)]
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
    #[arg(value_parser = LocalOut)]
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
    /// The article file, or - for standard input. Its bytes are sealed exactly as they are;
    /// for a WARC file (.warc, .warc.gz), the response record of the page (and its request
    /// record). Metadata not given as flags is read from the article: JSON-LD, OpenGraph and
    /// <meta> of HTML, a text's trailer ("Published in P, DATE." and "Source: URL"), the WARC
    /// record (docs/FORMAT.md, "Deriving metadata"). Flags always win.
    #[arg(value_name = "ARTICLE", required_unless_present = "batch")]
    pub article: Option<PathBuf>,
    /// Source URL (absolute http or https); for a WARC file, the page whose response to seal.
    #[arg(long)]
    pub url: Option<String>,
    /// Title (headline).
    #[arg(long)]
    pub title: Option<String>,
    /// Publisher name.
    #[arg(long)]
    pub publisher: Option<String>,
    /// Publication date: YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    pub published: Option<String>,
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
    /// The secret key file (minisign format); not needed with --dry-run.
    #[arg(long, value_name = "PATH.key", required_unless_present = "dry_run")]
    pub key: Option<PathBuf>,
    /// Read the key's passphrase from the first line of FILE (otherwise asked on the terminal).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The bundle to write, or - for standard output (the same bytes as a bundle file).
    #[arg(
        long,
        value_name = "BUNDLE.zip",
        required_unless_present_any = ["batch", "dry_run"],
        value_parser = LocalOut
    )]
    pub out: Option<PathBuf>,
    /// Print the metadata that would be sealed, each field with its source (flag, json-ld,
    /// opengraph, meta, trailer, warc), and write nothing. Exit 0 when it could be sealed, 2
    /// when a field is missing or invalid.
    #[arg(long, conflicts_with = "batch")]
    pub dry_run: bool,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// The bundle this one corrects: its identity and content digest are sealed into the new
    /// bundle's metadata (it must be intact; see docseal inspect).
    #[arg(long, value_name = "OLD.zip", conflicts_with = "batch")]
    pub supersedes: Option<PathBuf>,
    /// Seal every job of a JSON Lines file instead: one job per line, with pack's long flags
    /// as keys (article, url, title, publisher, published, author, retrieved, created, attach)
    /// and an optional out file name. Jobs run in parallel; bundles already sealed are skipped.
    #[arg(
        long,
        value_name = "JOBS.jsonl",
        requires = "out_dir",
        conflicts_with_all = [
            "article", "url", "title", "publisher", "published", "authors", "retrieved",
            "created", "attachments", "out", "force",
        ]
    )]
    pub batch: Option<PathBuf>,
    /// With --batch: the directory to write the bundles in (created if missing), or
    /// s3://BUCKET/PREFIX: bundles published to object storage with create-only writes
    /// (nothing there is replaced; endpoint and credentials from the AWS_* variables).
    #[arg(long, value_name = "DIR", requires = "batch")]
    pub out_dir: Option<PathBuf>,
    /// With --batch: resolve the jobs' relative paths against DIR (instead of the jobs file's
    /// directory) and refuse any job path that leads outside it (absolute, .., or a link).
    #[arg(long, value_name = "DIR", requires = "batch")]
    pub base: Option<PathBuf>,
    /// With --batch: threads to seal on, 1 to 1024 (default: 2 per core).
    #[arg(long, value_name = "N", requires = "batch", value_parser = threads_parser())]
    pub threads: Option<usize>,
    /// With --batch: no progress bar, and report only the jobs that failed.
    #[arg(long, short, requires = "batch")]
    pub quiet: bool,
    /// Machine-readable output: one JSON object ("type": "sealed", with its "warnings");
    /// with --dry-run, the metadata that would be sealed ("type": "dry_run");
    /// with --batch, JSON Lines: one object per job ("type": "job"), then one summary
    /// ("type": "summary"); see docs/VERIFY.md.
    #[arg(long)]
    pub json: bool,
    /// Input limits: the article and each attachment at most --max-file-size bytes, all of
    /// them at most --max-total-size (the limits docseal verify applies).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Timestamp each new bundle at this Time-Stamping Authority (http:// URL); repeat for
    /// several (see docseal timestamp).
    #[arg(long = "tsa", value_name = "URL")]
    pub tsa: Vec<String>,
}

impl PackArgs {
    /// The key arguments (clap requires --key unless --dry-run, which seals nothing).
    pub fn key_args(&self) -> KeyArgs {
        KeyArgs {
            key: self.key.clone().unwrap_or_default(),
            passphrase_file: self.passphrase_file.clone(),
        }
    }
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
    /// Bundle files, unzipped bundle directories (with bagit.txt at the root), or directories
    /// to search for bundles; all are verified in parallel. - reads one bundle from standard
    /// input. s3://BUCKET/PREFIX: the *.zip bundles in object storage under PREFIX (endpoint
    /// and credentials from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_REGION; AWS_ALLOW_HTTP=true for a plain-http endpoint).
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundles: Vec<PathBuf>,
    /// A trusted public key (PATH.pub); repeat for several. Required.
    #[arg(long = "trust", value_name = "PATH.pub", required = true)]
    pub trust: Vec<PathBuf>,
    /// Require this many distinct trusted signers.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub require_signers: usize,
    /// Machine-readable output: JSON Lines, one object per bundle ("type": "bundle"), then
    /// one summary ("type": "summary"); see docs/VERIFY.md.
    #[arg(long)]
    pub json: bool,
    /// Print only failures, and no progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Succeed when no bundle is found at all (by default that is an error, exit 1).
    #[arg(long)]
    pub allow_empty: bool,
    /// Threads to verify on, 1 to 1024 (default: one per core).
    #[arg(long, value_name = "N", value_parser = threads_parser())]
    pub threads: Option<usize>,
    /// An archive whose log establishes when bundles existed (for keys revoked later), and
    /// whose bundles count for supersedes checks; its checkpoint key must be an archive key
    /// (--archive-key, or role = "archive" in a --trust file). s3://BUCKET/PREFIX: an archive in
    /// object storage (its log read through a temporary local copy, then only the archived
    /// copies of the bundles verified fetched).
    #[arg(long, value_name = "ARCHIVE")]
    pub archive: Option<PathBuf>,
    /// An archive key (PATH.pub, a trust file or a directory of them): it vouches for the
    /// checkpoints of --archive, never for bundles. Repeat for several.
    #[arg(long = "archive-key", value_name = "PATH.pub", requires = "archive")]
    pub archive_keys: Vec<PathBuf>,
    /// With --archive: a checkpoint you kept from earlier (a checkpoint file, with
    /// FILE.minisig beside it, or a proof file); the archive's log must still extend it, as
    /// `archive audit --checkpoint` checks. Repeat for several.
    #[arg(long = "checkpoint", value_name = "FILE", requires = "archive")]
    pub checkpoints: Vec<PathBuf>,
    /// A trusted Time-Stamping Authority root (PEM); repeat for several (the --trust files'
    /// `tsa_roots` count too). A bundle's timestamp token counts as evidence only when its TSA
    /// chains to one of them at its genTime.
    #[arg(long = "tsa-trust", value_name = "CA.pem")]
    pub tsa_trust: Vec<PathBuf>,
    /// Fail a bundle that holds no valid token from a trusted TSA (--tsa-trust).
    #[arg(long)]
    pub require_timestamp: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The bundle (a file, an unzipped bundle directory, or - for standard input).
    pub bundle: PathBuf,
    /// Machine-readable output: one JSON object ("type": "bundle"); see docs/VERIFY.md.
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
    #[arg(long, value_name = "DIR", value_parser = LocalOut)]
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

#[derive(Args, Debug)]
pub struct CosignArgs {
    /// The bundle file; it is replaced atomically by the co-signed bundle.
    pub bundle: PathBuf,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Bundle files, unzipped bundles, or directories (an archive) to search for bundles.
    #[arg(required = true, value_name = "BUNDLE_OR_DIR")]
    pub bundles: Vec<PathBuf>,
    /// Trusted keys (PATH.pub, trust files, or directories of them), as for verify: each
    /// version is checked against them, and a correction no trusted key signed is marked
    /// untrusted and supersedes nothing. Without it, signers are shown but not checked.
    #[arg(long = "trust", value_name = "PATH.pub")]
    pub trust: Vec<PathBuf>,
    /// Machine-readable output: one JSON object ("type": "history"); see docs/VERIFY.md.
    #[arg(long)]
    pub json: bool,
    /// Succeed when no bundle is found at all (by default that is an error, exit 1).
    #[arg(long)]
    pub allow_empty: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Subcommand, Debug)]
pub enum ArchiveCommand {
    /// Put bundles into an archive directory (created if missing), append them to its log,
    /// then sign a new checkpoint with the archive key. Adds on one archive wait for each
    /// other (an OS lock, --wait); what an interrupted add left is completed or rolled back
    /// first.
    Add(ArchiveAddArgs),
    /// Check the log and the checkpoints against the bundles; name every problem.
    Audit(ArchiveAuditArgs),
    /// Write an inclusion proof: this bundle is in the archive as of a checkpoint.
    Prove(ArchiveProveArgs),
    /// Write a consistency proof: a later checkpoint extends an earlier one.
    ProveConsistency(ArchiveProveConsistencyArgs),
    /// Check a proof file with the archive's public key alone (no archive needed).
    CheckProof(ArchiveCheckProofArgs),
    /// Add a transparency-log witness's cosignature (C2SP tlog-cosignature) of a checkpoint:
    /// the signature lines the witness returned for log/checkpoint, or the whole cosigned
    /// checkpoint. With --witness, each line of a given witness must verify (or nothing is
    /// added); without, only the form is checked and `archive audit --witness` checks them.
    CosignCheckpoint(ArchiveCosignArgs),
    /// Lay a v1 archive's log out as v2 (C2SP tlog-tiles and a signed-note checkpoint at
    /// log/checkpoint), keeping every v1 file as it is; with --to v3, then as v3 (log/sequence
    /// and log/index/ instead of log/entries, the layout for object storage).
    Migrate(ArchiveMigrateArgs),
}

#[derive(Args, Debug)]
pub struct ArchiveCosignArgs {
    /// The archive directory (v2 log).
    pub archive: PathBuf,
    /// The witness's answer: cosignature lines ("— <name> <base64>"), or a cosigned checkpoint.
    #[arg(value_name = "SIGNATURE-FILE")]
    pub signature: PathBuf,
    /// A witness's verifier key (C2SP vkey, cosignature/v1 type 0x04) or a file holding one:
    /// each line by it must verify against the checkpoint, timestamped at most 10 minutes
    /// before the checkpoint's time and at most 10 minutes past this clock, and lines of
    /// witnesses not given are
    /// refused; any line refused adds nothing (exit 1). Repeatable.
    #[arg(long = "witness", value_name = "VKEY|FILE")]
    pub witnesses: Vec<String>,
    /// With --witness: add the lines of witnesses not given too, unchecked (without --witness
    /// every line is added unchecked).
    #[arg(long = "allow-unverified", requires = "witnesses")]
    pub allow_unverified: bool,
    /// Wait at most this long for an `archive add` on the same archive to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub wait: u64,
}

#[derive(Args, Debug)]
pub struct ArchiveMigrateArgs {
    /// The archive directory (v1 log; with --to v3, v1 or v2), or with --to v3
    /// s3://BUCKET/PREFIX (a v2 archive there; run no `archive add` on it meanwhile: an add
    /// that started on v2 can leave the prefix in a state every add refuses).
    pub archive: PathBuf,
    /// The log version to lay the archive out as: v2, or v3 (a v1 log is migrated to v2
    /// first). v3 has no log/entries: a release that reads only v2 refuses it.
    #[arg(long, value_name = "VERSION", default_value = "v2", value_parser = ["v2", "v3"])]
    pub to: String,
    /// The secret key file (minisign format): needed to migrate a v1 log (it signs
    /// log/checkpoint); v2 to v3 needs none.
    #[arg(long, value_name = "PATH.key")]
    pub key: Option<PathBuf>,
    /// Read the key's passphrase from the first line of FILE (otherwise asked on the terminal).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Wait at most this long for an `archive add` on the same archive to finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub wait: u64,
}

#[derive(Args, Debug)]
pub struct ArchiveAddArgs {
    /// The archive directory, or s3://BUCKET/PREFIX (sequenced with conditional writes: many
    /// hosts may add at once; a new archive there is laid out as archive log v3, an older one
    /// keeps its v2 layout). A local directory laid out as v3 is refused: add in its bucket.
    pub archive: PathBuf,
    /// Bundle files to add.
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundles: Vec<PathBuf>,
    #[command(flatten)]
    pub key: KeyArgs,
    /// The checkpoint's time (RFC 3339 or YYYY-MM-DD), default now: the archive operator's
    /// clock, for reproducible archives and tests. It may not be before the latest checkpoint.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// Wait at most this long for another `archive add` on the same archive to finish (an OS
    /// lock, released when its holder exits or dies); on s3://, how long lost races are
    /// retried.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub wait: u64,
    /// Print what was done as one JSON object (`"type": "archive_add"`).
    #[arg(long)]
    pub json: bool,
    /// Timestamp the new checkpoint's signature at this Time-Stamping Authority (http:// URL);
    /// repeat for several. Tokens go to ARCHIVE/log/timestamps/.
    #[arg(long = "tsa", value_name = "URL")]
    pub tsa: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct ArchiveAuditArgs {
    /// The archive directory, or s3://BUCKET/PREFIX (its log read through a temporary local
    /// copy; a v3 archive's bundles read in place, a v2 or v1 one's copied too).
    pub archive: PathBuf,
    /// The archive's public key (or a trust file); repeat for several. Required. A `.pub`
    /// file is taken as an archive key; of a trust file, only keys with `role = "archive"`
    /// vouch for checkpoints (bundle signing keys never do).
    #[arg(long = "trust", value_name = "PATH.pub", required = true)]
    pub trust: Vec<PathBuf>,
    /// A checkpoint you kept from earlier (a checkpoint file, with FILE.minisig beside it,
    /// or a proof file): the log must still extend it. Repeat for several.
    #[arg(long = "checkpoint", value_name = "FILE")]
    pub checkpoints: Vec<PathBuf>,
    /// A trusted TSA root (PEM) for the checkpoints' RFC 3161 tokens (`archive add --tsa`);
    /// repeat for several (a trust file's `tsa_roots` count too).
    #[arg(long = "tsa-trust", value_name = "CA.pem")]
    pub tsa_trust: Vec<PathBuf>,
    /// A witness's verifier key (C2SP vkey "<name>+<hex id>+<base64>", cosignature/v1 type
    /// 0x04), or a file holding one; repeat for several. The latest checkpoint must carry valid
    /// cosignatures of --min-witnesses of them (v2 logs).
    #[arg(long = "witness", value_name = "PUB")]
    pub witnesses: Vec<String>,
    /// How many distinct --witness keys must have cosigned the latest checkpoint; default all
    /// of them.
    #[arg(long = "min-witnesses", value_name = "N", requires = "witnesses")]
    pub min_witnesses: Option<usize>,
    /// Machine-readable output: one JSON object ("type": "audit"); see docs/VERIFY.md.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct ArchiveProveArgs {
    /// The archive directory, or s3://BUCKET/PREFIX (a v3 archive there read in place, a few
    /// requests; a v2 or v1 one through a temporary local copy).
    pub archive: PathBuf,
    /// The bundle: a bundle file, its name in the archive, or its content sha256.
    pub bundle: String,
    /// The checkpoint (its tree size) to prove against; default the latest.
    #[arg(long, value_name = "N")]
    pub checkpoint: Option<u64>,
    /// The proof file to write.
    #[arg(long, value_name = "PROOF.json", value_parser = LocalOut)]
    pub out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct ArchiveProveConsistencyArgs {
    /// The archive directory, or s3://BUCKET/PREFIX (a v3 archive there read in place, a few
    /// requests; a v2 or v1 one through a temporary local copy).
    pub archive: PathBuf,
    /// The earlier checkpoint (its tree size).
    #[arg(long, value_name = "N")]
    pub from: u64,
    /// The later checkpoint (its tree size); default the latest.
    #[arg(long, value_name = "M")]
    pub to: Option<u64>,
    /// The proof file to write.
    #[arg(long, value_name = "PROOF.json", value_parser = LocalOut)]
    pub out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ArchiveCheckProofArgs {
    /// The proof file.
    pub proof: PathBuf,
    /// The archive's public key (or a trust file); repeat for several. Required. A `.pub`
    /// file is taken as an archive key; of a trust file, only keys with `role = "archive"`
    /// vouch for checkpoints (bundle signing keys never do).
    #[arg(long = "trust", value_name = "ARCHIVE.pub", required = true)]
    pub trust: Vec<PathBuf>,
    /// Inclusion proof: check that this bundle is the one the proof is about.
    #[arg(long, value_name = "BUNDLE")]
    pub bundle: Option<PathBuf>,
    /// Consistency proof: check that it starts from this checkpoint you kept (a checkpoint
    /// file or a proof file).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Machine-readable output: one JSON object ("type": "proof_check"); see docs/VERIFY.md.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `--threads N`: 1 to [`docseal::batch::MAX_THREADS`] (more is a usage error, exit 2).
/// A path docseal writes (`--out` and the like): a local path. `s3://...` is refused before
/// anything is written (it would otherwise be taken as a local directory named `s3:`): only
/// `pack --batch --out-dir` and `archive add|migrate` write to object storage.
#[derive(Clone, Debug)]
pub struct LocalOut;

impl clap::builder::TypedValueParser for LocalOut {
    type Value = PathBuf;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<PathBuf, clap::Error> {
        if docseal::store::is_s3(std::path::Path::new(value)) {
            let name = arg.map_or_else(|| "the output".to_string(), |a| a.to_string());
            return Err(clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!(
                    "{name}: {}: a file docseal writes cannot be in s3:// (only pack --batch --out-dir and archive add and migrate write to object storage); give a local path\n",
                    docseal::store::safe_display(std::path::Path::new(value))
                ),
            )
            .with_cmd(cmd));
        }
        Ok(PathBuf::from(value))
    }
}

fn threads_parser() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new()
        .range(1..=docseal::batch::MAX_THREADS as u64)
}

#[derive(Args, Debug)]
pub struct CatArgs {
    /// The bundle file.
    pub bundle: PathBuf,
    /// A trusted public key (PATH.pub); repeat for several. Required.
    #[arg(long = "trust", value_name = "PATH.pub", required = true)]
    pub trust: Vec<PathBuf>,
    /// Require this many distinct trusted signers.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub require_signers: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct TimestampArgs {
    /// Bundle files; each is replaced atomically by the bundle with the new token(s).
    #[arg(required = true, value_name = "BUNDLE")]
    pub bundles: Vec<PathBuf>,
    /// A Time-Stamping Authority's URL (http:// only: for an https:// TSA use --request-out,
    /// curl and --reply); repeat for several independent TSAs.
    #[arg(long = "tsa", value_name = "URL")]
    pub tsa: Vec<String>,
    /// Write the request (DER TimeStampReq) to FILE instead of asking a TSA (one bundle).
    #[arg(long, value_name = "FILE.tsq", conflicts_with_all = ["tsa", "reply"], value_parser = LocalOut)]
    pub request_out: Option<PathBuf>,
    /// Check a TSA's reply (DER TimeStampResp, or a bare token) obtained elsewhere and add its
    /// token (one bundle).
    #[arg(long, value_name = "FILE.tsr", conflicts_with = "tsa")]
    pub reply: Option<PathBuf>,
    /// With --reply: the request written with --request-out, whose nonce the reply must carry.
    #[arg(long, value_name = "FILE.tsq", requires = "reply")]
    pub request: Option<PathBuf>,
    /// A trusted TSA root (PEM); repeat for several. When given, a token whose TSA does not
    /// chain to one of them at its genTime is refused.
    #[arg(long = "tsa-trust", value_name = "CA.pem")]
    pub tsa_trust: Vec<PathBuf>,
    /// With --request-out: replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Args, Debug)]
pub struct WebArgs {
    /// The page to write (one self-contained HTML file).
    #[arg(long, value_name = "FILE.html", value_parser = LocalOut)]
    pub out: PathBuf,
    /// A trusted public key (minisign .pub) or trust file (TOML) to pin in the page; repeat for
    /// several. Read exactly as `docseal verify --trust` reads it.
    #[arg(long = "trust", value_name = "PUB|TRUST.toml")]
    pub trust: Vec<PathBuf>,
    /// A trusted TSA root (PEM) to pin in the page; repeat for several (as `verify --tsa-trust`).
    #[arg(long = "tsa-trust", value_name = "CA.pem")]
    pub tsa_trust: Vec<PathBuf>,
    /// Replace FILE.html if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier bundle.
    pub old: PathBuf,
    /// The later bundle.
    pub new: PathBuf,
    /// A trusted public key (PATH.pub); repeat for several. Required.
    #[arg(long = "trust", value_name = "PATH.pub", required = true)]
    pub trust: Vec<PathBuf>,
    /// Require this many distinct trusted signers.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub require_signers: usize,
    /// Machine-readable output (JSON): the list of changes.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}
