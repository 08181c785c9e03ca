//! Verification findings: what is wrong with a bundle, as data.
//!
//! Every problem the verifier can report has a stable [`Code`]. Codes are part of
//! docseal's interface: scripts match on them, `--json` carries them, and
//! `docs/VERIFY.md` lists them. A code is never renamed or reused; new codes may be added.

use serde::Serialize;
use std::fmt;

macro_rules! codes {
    ($( $(#[doc = $doc:expr])* $variant:ident => $s:literal ),* $(,)?) => {
        /// A stable finding code. See `docs/VERIFY.md` for the full list.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[doc = $doc])* $variant, )*
        }
        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];
            /// The stable string form, for example `zip.duplicate_name`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $s, )* }
            }
            /// The one-line description used in the documentation.
            pub fn describe(self) -> &'static str {
                match self { $( Code::$variant => concat!($($doc),*).trim_ascii_start(), )* }
            }
        }
    };
}

codes! {
    // ---- input ----
    /// The bundle file or directory could not be read.
    IoRead => "io.read",
    /// A symlink met while searching a directory for bundles: not followed, so not verified.
    IoSymlink => "io.symlink",
    /// The input is larger than the configured bundle size limit.
    LimitBundleSize => "limit.bundle_size",
    /// More entries than the configured limit.
    LimitEntries => "limit.entries",
    /// An entry is larger than the configured per-file or total size limit.
    LimitSize => "limit.size",
    /// A tag file (manifest, metadata, signature) is larger than its fixed limit.
    LimitTagFile => "limit.tag_file",
    /// More co-signatures than a bundle may hold (`verify::MAX_COSIGNATURES`); none of them is checked.
    LimitCosignatures => "limit.cosignatures",

    // ---- ZIP structure ----
    /// The input is not a ZIP file (no end of central directory record).
    ZipNotZip => "zip.not_zip",
    /// The file ends before a record it declares.
    ZipTruncated => "zip.truncated",
    /// Bytes before the first local file header (a prefixed archive, as in Janus).
    ZipPrefixBytes => "zip.prefix_bytes",
    /// Bytes between entries, or between the last entry and the central directory.
    ZipGap => "zip.gap",
    /// Bytes after the end of central directory record.
    ZipTrailingBytes => "zip.trailing_bytes",
    /// Two entries overlap (an entry's data runs into another header).
    ZipOverlap => "zip.overlap",
    /// The archive has a comment.
    ZipComment => "zip.comment",
    /// An entry has a comment.
    ZipEntryComment => "zip.entry_comment",
    /// The end record's entry counts, sizes, offsets or disk numbers are wrong.
    ZipEndRecord => "zip.end_record",
    /// ZIP64 records or fields where the writer would not write them, or missing where it would.
    ZipZip64 => "zip.zip64",
    /// An entry uses a data descriptor (general purpose flag bit 3).
    ZipDataDescriptor => "zip.data_descriptor",
    /// An entry is marked as encrypted.
    ZipEncrypted => "zip.encrypted",
    /// General purpose flags other than the UTF-8 flag the writer sets.
    ZipFlags => "zip.flags",
    /// A compression method other than stored (0).
    ZipMethod => "zip.method",
    /// An entry's CRC-32 does not match its data.
    ZipCrc => "zip.crc",
    /// Compressed and uncompressed sizes differ for a stored entry, or disagree with the data.
    ZipSize => "zip.size",
    /// An extra field the writer does not write (any but a required ZIP64 field).
    ZipExtraField => "zip.extra_field",
    /// The Info-ZIP Unicode Path extra field (0x7075), which lets readers see another name.
    ZipUnicodePathExtra => "zip.unicode_path_extra",
    /// A local file header disagrees with its central directory record.
    ZipHeaderMismatch => "zip.header_mismatch",
    /// Version fields, timestamps or attributes other than the fixed values the writer uses.
    ZipAttributes => "zip.attributes",
    /// An entry that is not a regular file (directory, symlink, device).
    ZipNotRegularFile => "zip.not_regular_file",
    /// Two entries with the same name.
    ZipDuplicateName => "zip.duplicate_name",
    /// Two entry names that collide after Unicode case folding or normalization.
    ZipNameCollision => "zip.name_collision",
    /// Entries are not in the canonical order.
    ZipOrder => "zip.order",

    // ---- paths ----
    /// An entry name is not valid UTF-8.
    PathNotUtf8 => "path.not_utf8",
    /// An entry name is not in Unicode NFC.
    PathNotNfc => "path.not_nfc",
    /// An entry name contains a `..` segment.
    PathTraversal => "path.traversal",
    /// An entry name contains a `.` segment.
    PathDotSegment => "path.dot_segment",
    /// An entry name contains an empty segment (`a//b`, trailing slash).
    PathEmptySegment => "path.empty_segment",
    /// An entry name is absolute.
    PathAbsolute => "path.absolute",
    /// An entry name contains a backslash.
    PathBackslash => "path.backslash",
    /// An entry name starts with a drive letter or contains a colon.
    PathDriveLetter => "path.drive_letter",
    /// An entry name contains NUL or another control character.
    PathControlChar => "path.control_char",
    /// An entry name contains a bidirectional override or isolate character.
    PathBidi => "path.bidi",
    /// An entry name uses a Windows-reserved name or character, or ends in a dot or space.
    PathReservedName => "path.reserved_name",
    /// An entry name or segment is longer than the limit.
    PathTooLong => "path.too_long",

    // ---- bundle layout ----
    /// The bundle's format version is not one this docseal knows.
    BundleVersion => "bundle.version",
    /// A file the format requires is missing.
    BundleMissingFile => "bundle.missing_file",
    /// A file the format does not allow at that place.
    BundleUnexpectedFile => "bundle.unexpected_file",
    /// `bagit.txt` or `bag-info.txt` is not exactly what the writer produces for this metadata.
    BundleBagit => "bundle.bagit",

    // ---- manifests ----
    /// A file is present but not listed in the manifest that should cover it.
    ManifestUnlisted => "manifest.unlisted",
    /// A file is listed in a manifest but not present.
    ManifestMissing => "manifest.missing",
    /// A file's SHA-256 differs from its manifest entry.
    ManifestDigest => "manifest.digest",
    /// A manifest lists a path that only matches a present file after normalization.
    ManifestEquivalentPath => "manifest.equivalent_path",
    /// A manifest is malformed or not in canonical form.
    ManifestMalformed => "manifest.malformed",

    // ---- metadata ----
    /// The metadata JSON is malformed (syntax, BOM, invalid UTF-8, trailing data, duplicate key, nesting).
    MetadataMalformed => "metadata.malformed",
    /// The metadata JSON is well formed but a value is invalid (URL, date, empty title, ...).
    MetadataInvalid => "metadata.invalid",
    /// The metadata JSON is not byte-identical to the writer's canonical serialization.
    MetadataNoncanonical => "metadata.noncanonical",

    // ---- signatures ----
    /// No signature file.
    SigMissing => "sig.missing",
    /// A signature file is malformed (lines, base64, lengths, algorithm).
    SigMalformed => "sig.malformed",
    /// A signature file's comments are not the exact values the writer produces.
    SigComment => "sig.comment",
    /// A signature uses the legacy non-prehashed algorithm (`Ed`), which docseal never writes.
    SigLegacy => "sig.legacy",
    /// The signature's key is not among the trusted signing keys (not trusted, or trusted only as an archive key).
    SigUntrustedKey => "sig.untrusted_key",
    /// The signature names a trusted key id but was made by another key.
    SigKeyIdMismatch => "sig.key_id_mismatch",
    /// The signature does not verify with the trusted key it names.
    SigInvalid => "sig.invalid",
    /// The signature only verifies under non-strict Ed25519 rules (small-order key or point, non-canonical S).
    SigNotStrict => "sig.not_strict",
    /// Fewer distinct trusted signers than `--require-signers` asks for.
    SigTooFewSigners => "sig.too_few_signers",

    // ---- trust ----
    /// The signing key is revoked in the trust file.
    TrustRevoked => "trust.revoked",
    /// The bundle's sealing time is outside the key's validity window.
    TrustOutsideValidity => "trust.outside_validity",

    // ---- timestamps (RFC 3161 tokens, format v2) ----
    /// A token (or TSA reply) is not DER as RFC 3161 and CMS require: garbage, BER, trailing data.
    TsaMalformed => "tsa.malformed",
    /// A token (or TSA reply) is larger than 64 KiB.
    TsaTooLarge => "tsa.too_large",
    /// More tokens in one bundle than the 8 allowed.
    TsaTooMany => "tsa.too_many",
    /// The TSA did not grant the request (its status is a rejection or waiting).
    TsaStatus => "tsa.status",
    /// The reply's nonce is not the request's (a replayed or misdirected reply).
    TsaNonce => "tsa.nonce",
    /// The token's message imprint covers other bytes than the bundle's signature file.
    TsaImprint => "tsa.imprint",
    /// The token's CMS signature or message digest does not verify.
    TsaSignature => "tsa.signature",
    /// A hash or signature algorithm other than SHA-256/384/512 with RSA (PKCS#1 v1.5, PSS) or ECDSA P-256/P-384.
    TsaAlgorithm => "tsa.algorithm",
    /// The ESS signing-certificate attribute is missing or names another certificate than the signer's.
    TsaSignerCert => "tsa.signer_cert",
    /// The TSA certificate lacks the timeStamping extended key usage, or it is not critical.
    TsaEku => "tsa.eku",
    /// The TSA certificate does not chain to a root given with --tsa-trust (the token does not count).
    TsaUntrusted => "tsa.untrusted",
    /// A certificate of the TSA's chain was not valid at the token's genTime.
    TsaCertValidity => "tsa.cert_validity",
    /// --require-timestamp, and no token from a trusted TSA.
    TsaRequired => "tsa.required",
    /// A token's file name does not carry the token's own 16 hex digits.
    TsaName => "tsa.name",
    /// A token's genTime, less its accuracy, is in the future.
    TsaFuture => "tsa.future",
    /// A token held by an archived copy is later than the archive's checkpoint for that copy.
    TsaAfterArchive => "tsa.after_archive",

    // ---- provenance ----
    /// A newer bundle supersedes this one.
    ProvSuperseded => "prov.superseded",
    /// The bundle names a superseded bundle whose digest or identity does not match.
    ProvSupersedesMismatch => "prov.supersedes_mismatch",

    // ---- archive log ----
    /// A log entry line or checkpoint is not in the exact form docseal writes (or an unexpected file in the log).
    LogMalformed => "log.malformed",
    /// Log entries are out of order: a line's index is not its position.
    LogReordered => "log.reordered",
    /// An entry index is missing from the log: an entry was removed.
    LogEntryRemoved => "log.entry_removed",
    /// The log's entries do not hash to the root a signed checkpoint (or one you kept) commits to: entries altered, inserted or rewritten.
    LogEntryAltered => "log.entry_altered",
    /// The log holds fewer entries than a checkpoint (or one you kept) covers: truncated or rolled back.
    LogTruncated => "log.truncated",
    /// A checkpoint's signature is missing or does not verify, or the checkpoint is not what its file name says: altered or forged.
    LogCheckpointInvalid => "log.checkpoint_invalid",
    /// A checkpoint is signed by a key not given with `--trust`, or by one revoked or outside its validity at the checkpoint's time.
    LogCheckpointUntrusted => "log.checkpoint_untrusted",
    /// Checkpoints contradict each other or one you kept: another root for the same size, time going backwards (back-dated), origin or chain changed.
    LogCheckpointInconsistent => "log.checkpoint_inconsistent",
    /// A checkpoint is missing: named as `previous` by a later one, kept by you but gone, or no checkpoint at all.
    LogCheckpointMissing => "log.checkpoint_missing",
    /// Entries after the latest checkpoint, which no checkpoint signs yet (an interrupted `archive add`).
    LogUnsignedEntries => "log.unsigned_entries",
    /// What an interrupted `archive add` left, which the next add completes or rolls back: a temporary file, a bundle copied but not yet in place, an incomplete last line, a checkpoint signature whose note was not written yet. A warning.
    LogInterrupted => "log.interrupted",
    /// A v2 log's tiles or entry bundles do not match its entries: missing, malformed or altered.
    LogTilesInvalid => "log.tiles_invalid",
    /// A v3 log's `log/sequence` is not in the exact form docseal writes, cannot be read, or its start is not the size of a signed checkpoint.
    LogSequenceInvalid => "log.sequence_invalid",
    /// A v3 log's index (`log/index/`) does not match its entries: an index object missing, holding other bytes, or not some entry's.
    LogIndexInvalid => "log.index_invalid",
    /// A witness cosignature by a key given with `--witness` does not verify over the checkpoint it is kept with.
    LogCosignatureInvalid => "log.cosignature_invalid",
    /// The latest checkpoint is cosigned by fewer distinct given witnesses than `--min-witnesses`.
    LogWitnessQuorum => "log.witness_quorum",

    // ---- archive bundles ----
    /// A bundle the log lists is missing from the archive.
    ArchiveBundleRemoved => "archive.bundle_removed",
    /// A bundle file differs from the one the log records (replaced, co-signed or rewritten after it was archived, or swapped with another).
    ArchiveBundleReplaced => "archive.bundle_replaced",
    /// A file in the archive's bundle directory that the log does not list.
    ArchiveBundleUnlisted => "archive.bundle_unlisted",
    /// A bundle the log lists fails its integrity checks.
    ArchiveBundleInvalid => "archive.bundle_invalid",
    /// A symbolic link inside the archive (never followed; what it points to is not checked).
    ArchiveSymlink => "archive.symlink",
    /// The archive's root or one of its directories is writable by group or others.
    ArchiveWritableByOthers => "archive.writable_by_others",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Whether a finding makes the bundle fail verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The bundle is refused.
    Error,
    /// Reported, but does not by itself make verification fail (for example `prov.superseded`).
    Warning,
}

/// One problem found in a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// The entry (path inside the bundle) concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A one-line explanation for people.
    pub message: String,
}

impl Finding {
    /// An error finding without a path.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: Severity::Error,
            path: None,
            message: message.into(),
        }
    }
    /// An error finding about one entry.
    pub fn at(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: Severity::Error,
            path: Some(path.into()),
            message: message.into(),
        }
    }
    /// Turn this finding into a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {}: {}", self.code, p, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(
                s.contains('.')
                    && s.bytes().all(|b| b.is_ascii_lowercase()
                        || b == b'.'
                        || b == b'_'
                        || b.is_ascii_digit()),
                "{s}"
            );
            assert!(!c.describe().is_empty());
        }
    }
}
