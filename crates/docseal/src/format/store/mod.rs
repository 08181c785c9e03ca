//! Where an archive or a directory of bundles lives: a local directory or an S3-compatible
//! bucket (`s3://BUCKET/PREFIX`), behind one small, synchronous interface ([`Store`]).
//!
//! Keys are relative to the store's root (`log/checkpoint`, `tile/0/000`, `bundles/NAME.zip`):
//! portable path components separated by `/` ([`check_key`]). Every read is bounded: a whole
//! object is read only up to a limit the caller gives ([`Store::get`]), a large one by ranges
//! ([`Store::get_range`], [`RangeReader`]); listings come in bounded pages ([`Store::list`]).
//!
//! Sequencing without a coordinator: [`Store::put_new`] creates an object only if it does not
//! exist (S3 `If-None-Match: *`; locally a durable temp file linked into place), and
//! [`Store::put_if_match`] replaces an object only if it is still the version read (S3
//! `If-Match` on the ETag; locally a compare and replace under a kernel lock). A lost race is a
//! value ([`PutNew::AlreadyExists`], [`PutIfMatch::Conflict`]), not an error; transient
//! failures are [`StoreError::Unavailable`] with `retryable`, for [`retry`].
//!
//! Endpoint and credentials of an S3 store come from the environment only (`AWS_ENDPOINT_URL`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`, ...), never
//! from the location string, and are never printed: not in errors, not in `Debug`.

mod local;
#[cfg(feature = "s3")]
mod s3;

pub use local::LocalStore;
#[cfg(feature = "s3")]
pub use s3::S3Store;

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Longest key, in bytes (S3 allows 1024; with a prefix the whole name must fit).
pub const MAX_KEY_BYTES: usize = 1024;

/// Most entries one page of a listing holds ([`Store::list`]).
pub const MAX_PAGE: usize = 1000;

/// A failed storage operation. `what` names the object or the store (`s3://bucket/a/b`,
/// `/srv/archive/log/checkpoint`), never a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The object (or the bucket) does not exist where it must.
    #[error("{what}: not found")]
    NotFound {
        /// The object.
        what: String,
    },
    /// The object is larger than the caller allows; it was not read.
    #[error("{what}: {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// The object.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A conditional write lost to another writer where the operation has no value for it.
    #[error("{what}: changed by another writer meanwhile")]
    Conflict {
        /// The object.
        what: String,
    },
    /// The store could not be reached or failed; `retryable` when trying again may help
    /// (a timeout, a connection refused, an HTTP 5xx or 429).
    #[error("{what}: storage unavailable: {detail}")]
    Unavailable {
        /// The object or the store.
        what: String,
        /// What happened (no credential in it).
        detail: String,
        /// Whether trying again may help.
        retryable: bool,
    },
    /// Access denied: missing or wrong credentials, or no permission.
    #[error("{what}: access denied: {detail}")]
    Denied {
        /// The object or the store.
        what: String,
        /// What the store said (no credential in it).
        detail: String,
    },
    /// An invalid location, key or listing (a hostile or broken store), or a store
    /// misconfigured.
    #[error("{what}: {problem}")]
    Invalid {
        /// The location, key or object.
        what: String,
        /// What is wrong.
        problem: String,
    },
}

impl StoreError {
    /// Whether trying the operation again may succeed ([`retry`]).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable {
                retryable: true,
                ..
            }
        )
    }

    pub(crate) fn invalid(what: impl Into<String>, problem: impl Into<String>) -> Self {
        StoreError::Invalid {
            what: what.into(),
            problem: problem.into(),
        }
    }
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An object's version, for [`Store::put_if_match`]: the ETag on S3, the SHA-256 of the
/// contents locally. Opaque; equal versions mean equal contents.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Version(pub(crate) String);

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({})", self.0)
    }
}

impl Version {
    /// The version as text (an ETag, a hex digest).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An object read whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its version.
    pub version: Version,
}

/// What [`Store::put_new`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutNew {
    /// The object was created, with this version.
    Created(Version),
    /// An object was there already; it was left alone. (After a retried request this may be
    /// this writer's own earlier attempt: compare the contents, [`put_new_or_same`].)
    AlreadyExists,
}

/// What [`Store::put_if_match`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutIfMatch {
    /// The object was replaced; its new version.
    Replaced(Version),
    /// The object is no longer the version given (or is gone); nothing was written. Read it
    /// again. (After a retried request this may be this writer's own earlier attempt.)
    Conflict,
}

/// One object in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Its key, relative to the store's root.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
}

/// One page of a listing: keys in increasing order (as the store orders them: byte order of
/// the keys it holds), all after the `after` asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The objects.
    pub items: Vec<Listed>,
    /// Whether more may follow (ask again with `after` = the last key).
    pub more: bool,
    /// Objects listed among `items` (after `after`, up to the last item, or to the end when
    /// nothing more follows) whose names are no key ([`check_key`]: a control character, an
    /// empty or `.` component, a trailing `/`, ...): no operation can address them, but they
    /// are there. Their names as the store holds them, relative to its root, raw (print them
    /// with [`escape_key`]); at most [`MAX_PAGE`] a page.
    pub stray: Vec<String>,
}

/// An archive's or a bundle directory's storage. Synchronous for callers; every method is
/// bounded in memory by its arguments.
pub trait Store: Send + Sync + fmt::Debug {
    /// The store's root as the user wrote it (`s3://bucket/prefix`, a path): for messages.
    fn root(&self) -> String;

    /// The object `key` whole, if it exists and has at most `max_len` bytes (a larger one is
    /// [`StoreError::TooLarge`], and is not read whole).
    fn get(&self, key: &str, max_len: u64) -> Result<Option<Object>>;

    /// `len` bytes of `key` from `offset`: fewer only at the end of the object.
    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>>;

    /// The size of `key`, if it exists.
    fn size(&self, key: &str) -> Result<Option<u64>>;

    /// Create `key` with `bytes`, only if it does not exist. Durable once it returns.
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<PutNew>;

    /// Replace `key` with `bytes`, only if its version is still `version`.
    fn put_if_match(&self, key: &str, bytes: &[u8], version: &Version) -> Result<PutIfMatch>;

    /// Create or replace `key` with `bytes`, atomically (readers see the old or the new
    /// object, never a mix). Not for sequencing points: use the conditional writes.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<Version>;

    /// Up to `max` (at most [`MAX_PAGE`]) objects whose keys start with `prefix`, after the
    /// key `after` (from the first when `None`), in increasing order. Objects whose names are
    /// no key are not items but [`Page::stray`]. A listing that breaks the rules (a key
    /// outside the prefix, not after the previous one) is [`StoreError::Invalid`].
    fn list(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Page>;

    /// Remove `key` (absent: nothing to do).
    fn delete(&self, key: &str) -> Result<()>;
}

/// Check a key: 1 to [`MAX_KEY_BYTES`] bytes of `/`-separated components, none empty, `.`
/// or `..`, no NUL, backslash or control character, not starting with `/`.
pub fn check_key(key: &str) -> std::result::Result<(), String> {
    if key.is_empty() {
        return Err("empty key".into());
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(format!("key longer than {MAX_KEY_BYTES} bytes"));
    }
    if key.chars().any(|c| c.is_control() || c == '\\') {
        return Err("key with a control character or a backslash".into());
    }
    if key
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("key with an empty, `.` or `..` component".into());
    }
    Ok(())
}

/// Check a listing prefix: empty, or a key ([`check_key`]) optionally ending with `/`.
pub fn check_prefix(prefix: &str) -> std::result::Result<(), String> {
    match prefix.strip_suffix('/').unwrap_or(prefix) {
        "" if prefix.is_empty() => Ok(()),
        "" => Err("prefix `/`".into()),
        p => check_key(p),
    }
}

/// Check one page of a listing against the rules of [`Store::list`] (by byte order): every
/// item a key ([`check_key`]), and [`check_order`].
pub fn check_page(what: &str, prefix: &str, after: Option<&str>, page: &Page) -> Result<()> {
    for item in &page.items {
        check_key(&item.key).map_err(|p| {
            StoreError::invalid(
                what,
                format!("listing refused: {p}: {}", escape_key(&item.key)),
            )
        })?;
    }
    check_order(
        what,
        prefix,
        after,
        page.items.iter().map(|i| i.key.as_str()),
    )
}

/// Check the names a server listed, as it listed them: each starts with `prefix` and comes
/// after `after` and the one before it, in byte order (a server going back or repeating
/// itself, looping forever, is refused). The S3 backend checks each page so, on the names
/// the bucket holds.
pub fn check_order<'k>(
    what: &str,
    prefix: &str,
    after: Option<&str>,
    keys: impl IntoIterator<Item = &'k str>,
) -> Result<()> {
    let mut last = after;
    for key in keys {
        let bad =
            |problem: String| StoreError::invalid(what, format!("listing refused: {problem}"));
        if !key.starts_with(prefix) {
            return Err(bad(format!(
                "key {} outside the prefix asked for",
                escape_key(key)
            )));
        }
        if last.is_some_and(|l| key <= l) {
            return Err(bad(format!(
                "key {} out of order (not after the previous one)",
                escape_key(key)
            )));
        }
        last = Some(key);
    }
    Ok(())
}

/// A name from a listing as it may be printed in a message: control and bidirectional
/// characters escaped ([`crate::format::path::display`]), cut at 80 characters (then `...`).
pub fn escape_key(key: &str) -> String {
    match key.char_indices().nth(80) {
        Some((at, _)) => format!("{}...", crate::format::path::display(&key[..at])),
        None => crate::format::path::display(key),
    }
}

/// [`Store::put_new`], treating an object that exists with exactly `bytes` as created (a
/// retried request, a re-run): `Ok(true)` created or the same, `Ok(false)` another object
/// is there (left alone).
pub fn put_new_or_same(store: &dyn Store, key: &str, bytes: &[u8]) -> Result<bool> {
    match store.put_new(key, bytes)? {
        PutNew::Created(_) => Ok(true),
        PutNew::AlreadyExists => {
            let max = bytes.len() as u64;
            match store.get(key, max) {
                Ok(Some(o)) => Ok(o.bytes == bytes),
                Ok(None) => Err(StoreError::Conflict {
                    what: format!("{}/{key}", store.root()),
                }),
                Err(StoreError::TooLarge { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

/// Retry with capped exponential backoff and jitter.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Give up after this many attempts (at least 1).
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(5),
            attempts: 10,
        }
    }
}

impl Backoff {
    /// The wait before attempt `n + 1` (`n` from 1): `initial * 2^(n-1)`, capped at `max`,
    /// times a random factor in [0.5, 1.0] ("equal jitter"), so that writers that collided
    /// spread out.
    pub fn delay(&self, n: u32) -> Duration {
        let base = self
            .initial
            .saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
            .min(self.max);
        let mut r = [0u8; 2];
        let jitter = if getrandom::fill(&mut r).is_ok() {
            u16::from_le_bytes(r) as f64 / u16::MAX as f64
        } else {
            0.5
        };
        base.mul_f64(0.5 + 0.5 * jitter)
    }
}

/// Run `op` until it succeeds, fails with an error that is not retryable
/// ([`StoreError::is_retryable`]), or `policy.attempts` attempts failed (the last error).
pub fn retry<T>(policy: &Backoff, mut op: impl FnMut() -> Result<T>) -> Result<T> {
    let mut n = 1;
    loop {
        match op() {
            Err(e) if e.is_retryable() && n < policy.attempts.max(1) => {
                std::thread::sleep(policy.delay(n));
                n += 1;
            }
            r => return r,
        }
    }
}

/// Where a store is: a local directory, or a bucket and a prefix on S3-compatible storage.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Local(PathBuf),
    /// `s3://BUCKET/PREFIX` (the prefix without leading or trailing `/`, maybe empty).
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix: the store's keys are `PREFIX/KEY`.
        prefix: String,
    },
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// The scheme that names an S3 location.
pub const S3_SCHEME: &str = "s3://";

/// Whether `s` names an S3 location, valid or not: it starts with `s3://`, or with `s3:` in
/// any case (`s3:/b/p`, `S3://b`: a mistyped location, refused by [`Location::parse`], never
/// taken for a local directory named `s3:`; `./s3:` names that directory).
pub fn is_s3(s: &Path) -> bool {
    s.to_str()
        .is_some_and(|s| s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("s3:")))
}

/// `s` for messages: an `s3://` location with anything before an `@` in its bucket part
/// (a credential someone put there) replaced by `[redacted]`; a path as it is.
pub fn safe_display(s: &Path) -> String {
    let text = s.display().to_string();
    let Some(rest) = text.strip_prefix(S3_SCHEME) else {
        return text;
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((_, host)) => {
            let sep = if rest.contains('/') { "/" } else { "" };
            format!("{S3_SCHEME}[redacted]@{host}{sep}{path}")
        }
        None => text,
    }
}

fn check_bucket(b: &str) -> std::result::Result<(), String> {
    let ok_chars = b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let ends_ok = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&b.len())
        || !ok_chars
        || !ends_ok(b.bytes().next())
        || !ends_ok(b.bytes().last())
        || b.contains("..")
    {
        return Err(format!(
            "bucket name {b:?}: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

impl Location {
    /// Parse a command-line location: `s3://BUCKET[/PREFIX]`, or a local path. An `s3://`
    /// location never holds a credential (`user:secret@` is refused: they come from the
    /// environment), a query or a fragment.
    pub fn parse(s: &Path) -> Result<Location> {
        let Some(text) = s.to_str().filter(|_| is_s3(s)) else {
            return Ok(Location::Local(s.to_path_buf()));
        };
        if !text.starts_with(S3_SCHEME) {
            return Err(StoreError::invalid(
                "s3:// location",
                "not spelled s3://BUCKET/PREFIX (lowercase s3, two slashes); a local directory named s3: is ./s3:",
            ));
        }
        let rest = &text[S3_SCHEME.len()..];
        // Never echo what may be a credential: name only the scheme and bucket part checked.
        let what = "s3:// location";
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.contains('@') || bucket.contains(':') {
            return Err(StoreError::invalid(
                what,
                "credentials or a port in an s3:// location are refused; give the endpoint in AWS_ENDPOINT_URL and credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        }
        check_bucket(bucket).map_err(|p| StoreError::invalid(what, p))?;
        if prefix.contains('?') || prefix.contains('#') {
            return Err(StoreError::invalid(
                format!("s3://{bucket}"),
                "a query or fragment in an s3:// location is refused",
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty() {
            check_key(prefix).map_err(|p| {
                StoreError::invalid(format!("s3://{bucket}"), format!("prefix: {p}"))
            })?;
        }
        Ok(Location::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// Whether this is an S3 location.
    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }

    /// Open the store: a local directory as it is (created by writers when needed), an S3
    /// bucket with the endpoint and credentials of the environment.
    pub fn open(&self) -> Result<Arc<dyn Store>> {
        match self {
            Location::Local(p) => Ok(Arc::new(LocalStore::new(p))),
            #[cfg(feature = "s3")]
            Location::S3 { bucket, prefix } => Ok(Arc::new(S3Store::from_env(bucket, prefix)?)),
            #[cfg(not(feature = "s3"))]
            Location::S3 { .. } => Err(StoreError::invalid(
                self.to_string(),
                "this docseal was built without S3 support (cargo feature `s3`)",
            )),
        }
    }
}

/// How much [`RangeReader`] reads at once.
pub const RANGE_CHUNK: u64 = 1 << 20;

/// A store object read as a file: [`Read`] + [`Seek`] over [`Store::get_range`], one chunk
/// ([`RANGE_CHUNK`]) at a time, so a ZIP is read by its end records and the entries asked for
/// without downloading it whole.
pub struct RangeReader<'a> {
    store: &'a dyn Store,
    key: String,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_at: u64,
}

impl<'a> RangeReader<'a> {
    /// A reader of `key`, whose size (from a listing or [`Store::size`]) is `len`.
    pub fn new(store: &'a dyn Store, key: &str, len: u64) -> Self {
        RangeReader {
            store,
            key: key.to_owned(),
            len,
            pos: 0,
            buf: Vec::new(),
            buf_at: 0,
        }
    }

    /// The object's size.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the object is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let in_buf = self.pos >= self.buf_at && self.pos < self.buf_at + self.buf.len() as u64;
        if !in_buf {
            let want = RANGE_CHUNK.min(self.len - self.pos);
            let bytes = retry(&Backoff::default(), || {
                self.store.get_range(&self.key, self.pos, want)
            })
            .map_err(std::io::Error::other)?;
            if bytes.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{}/{}: shorter than listed", self.store.root(), self.key),
                ));
            }
            self.buf = bytes;
            self.buf_at = self.pos;
        }
        let start = (self.pos - self.buf_at) as usize;
        let n = out.len().min(self.buf.len() - start);
        out[..n].copy_from_slice(&self.buf[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(t) = target else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start",
            ));
        };
        self.pos = t;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue17_locations_parse_and_refuse_credentials() {
        let l = Location::parse(Path::new("s3://my-bucket/a/b/")).unwrap();
        assert_eq!(
            l,
            Location::S3 {
                bucket: "my-bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(l.to_string(), "s3://my-bucket/a/b");
        assert_eq!(
            Location::parse(Path::new("s3://bkt")).unwrap().to_string(),
            "s3://bkt"
        );
        assert_eq!(
            Location::parse(Path::new("dir/s3://x")).unwrap(),
            Location::Local(PathBuf::from("dir/s3://x"))
        );
        for bad in [
            "s3://AKIAEXAMPLE:hunter2secret@bucket/p",
            "s3://user@bucket",
            "s3://bucket:9000/p",
        ] {
            let e = Location::parse(Path::new(bad)).unwrap_err().to_string();
            assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
            assert!(
                !e.contains("hunter2") && !e.contains("AKIA") && !e.contains("user"),
                "{e}"
            );
        }
        for bad in [
            "s3://",
            "s3://ab",
            "s3://Bucket",
            "s3://b..b",
            "s3://-bb",
            "s3://bkt/a//b",
            "s3://bkt/../x",
            "s3://bkt/a?x=1",
        ] {
            assert!(Location::parse(Path::new(bad)).is_err(), "{bad}");
        }
    }

    /// `s3:/bkt/arc` (one slash: the same path components as `s3://bkt/arc`) and `S3://bkt`
    /// were local paths: `archive add s3:/bkt/arc` wrote an archive into a local directory
    /// named `s3:` and said it logged the bundle. Now they are mistyped locations, refused;
    /// `./s3:/bkt` is still that local directory.
    #[test]
    fn attack_att6_mistyped_s3_location_is_not_a_local_directory() {
        for bad in ["s3:/bkt/arc", "S3://bkt/arc", "s3:bkt", "s3:", "S3:/x"] {
            assert!(is_s3(Path::new(bad)), "{bad}");
            let e = Location::parse(Path::new(bad)).unwrap_err().to_string();
            assert!(
                e.starts_with("s3:// location: not spelled s3://BUCKET/PREFIX"),
                "{bad}: {e}"
            );
        }
        for local in ["./s3:/bkt", "s3", "s3x:/y", "dir/s3://x"] {
            assert!(!is_s3(Path::new(local)), "{local}");
            assert_eq!(
                Location::parse(Path::new(local)).unwrap(),
                Location::Local(PathBuf::from(local))
            );
        }
    }

    #[test]
    fn issue17_keys_are_checked() {
        for ok in ["log/checkpoint", "tile/0/x001/234", "bundles/a b.zip", "a"] {
            check_key(ok).unwrap();
        }
        let long = "a".repeat(MAX_KEY_BYTES + 1);
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "./a",
            "a/../b",
            "a\\b",
            "a\nb",
            "a\0b",
            long.as_str(),
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        check_prefix("").unwrap();
        check_prefix("bundles/").unwrap();
        assert!(check_prefix("/").is_err());
    }

    #[test]
    fn issue17_hostile_listing_pages_are_refused() {
        let page = |keys: &[&str]| Page {
            items: keys
                .iter()
                .map(|k| Listed {
                    key: k.to_string(),
                    size: 1,
                })
                .collect(),
            more: true,
            stray: Vec::new(),
        };
        check_page("s", "b/", None, &page(&["b/1", "b/2"])).unwrap();
        // Outside the prefix, repeated or going back (a server looping forever), bad keys.
        assert!(check_page("s", "b/", None, &page(&["c/1"])).is_err());
        assert!(check_page("s", "b/", None, &page(&["b/2", "b/2"])).is_err());
        assert!(check_page("s", "b/", Some("b/5"), &page(&["b/4"])).is_err());
        assert!(check_page("s", "b/", None, &page(&["b/../x"])).is_err());
    }

    #[test]
    fn issue17_backoff_grows_capped_with_jitter() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(800),
            attempts: 5,
        };
        for n in 1..40 {
            let d = b.delay(n);
            let base = (100u64 << (n - 1).min(20)).min(800);
            assert!(
                d >= Duration::from_millis(base / 2) && d <= Duration::from_millis(base),
                "{n} {d:?}"
            );
        }
        let mut calls = 0;
        let r: Result<()> = retry(
            &Backoff {
                initial: Duration::from_millis(1),
                max: Duration::from_millis(2),
                attempts: 3,
            },
            || {
                calls += 1;
                Err(StoreError::Unavailable {
                    what: "x".into(),
                    detail: "down".into(),
                    retryable: true,
                })
            },
        );
        assert!(r.is_err());
        assert_eq!(calls, 3);
        let mut calls = 0;
        let r: Result<()> = retry(&Backoff::default(), || {
            calls += 1;
            Err(StoreError::invalid("x", "bad"))
        });
        assert!(r.is_err());
        assert_eq!(calls, 1, "a permanent error is not retried");
    }
}
