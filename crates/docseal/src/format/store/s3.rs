//! A store in an S3-compatible bucket (AWS S3, Ceph RGW, SeaweedFS, Garage, MinIO), through
//! the `object_store` crate, driven by a small current-thread tokio runtime owned by the store
//! (callers stay synchronous; several threads may call at once).
//!
//! - [`Store::put_new`]: `PUT` with `If-None-Match: *` (HTTP 412: [`PutNew::AlreadyExists`]);
//! - [`Store::put_if_match`]: `PUT` with `If-Match: ETAG` (HTTP 412: [`PutIfMatch::Conflict`]);
//! - versions are ETags;
//! - reads are bounded: [`Store::get`] asks for the object's first `max_len + 1` bytes only.
//!
//! Time is bounded too: one storage operation (a method of [`Store`], object_store's own
//! retries included) that takes longer than the deadline ([`DEADLINE_VAR`], default
//! [`DEFAULT_DEADLINE`]) fails as [`StoreError::Unavailable`] that is not retryable, and every
//! later operation of the same store fails at once (an endpoint that accepts connections and
//! never answers costs one deadline, not one per request and retry).
//!
//! Configuration comes from the environment (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ALLOW_HTTP`, ...). The
//! credentials are never printed: this store's `Debug` shows only the location, and error
//! details have any credential value found in them replaced by `[redacted]`.

use super::{
    check_key, check_order, check_prefix, escape_key, Listed, Object, Page, PutIfMatch, PutNew,
    Result, Store, StoreError, Version, MAX_PAGE,
};
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsAuthorizer};
use object_store::client::{HttpClient, HttpConnector, HttpRequest, HttpRequestBody};
use object_store::path::{Path as ObjPath, PathPart};
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The environment variable that sets the deadline of one storage operation, in seconds
/// (a positive number, decimals allowed; default [`DEFAULT_DEADLINE`]).
pub const DEADLINE_VAR: &str = "DOCSEAL_S3_DEADLINE";

/// The longest one storage operation may take by default, object_store's retries included:
/// the request timeout docseal always had.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// A store in `s3://BUCKET/PREFIX`.
pub struct S3Store {
    bucket: String,
    prefix: String,
    inner: AmazonS3,
    rt: tokio::runtime::Runtime,
    /// Credential values, to be sure no error detail shows them.
    secrets: Vec<String>,
    /// The deadline of one operation ([`DEADLINE_VAR`]).
    deadline: Duration,
    /// The endpoint for messages: scheme, host and port only.
    endpoint: String,
    /// Set once an operation missed its deadline: later ones are not tried.
    stalled: AtomicBool,
    /// What this store's own listing requests need.
    lister: Lister,
}

/// Listings are requested here, not by object_store: it lists without `encoding-type=url`,
/// so a key holding a control character comes back with U+FFFD in its place (an XML 1.0
/// document cannot hold the character) and out of the bucket's order, or as `&#xA;`, which
/// object_store refuses, failing the whole listing; and its keys are parsed, not decoded. A
/// planted object so named refused every listing of its prefix (issue 17).
struct Lister {
    /// The client object_store made (same TLS, proxy and timeout options).
    http: HttpClient,
    /// `ENDPOINT/BUCKET`, or the endpoint itself with virtual-hosted-style requests.
    bucket_url: String,
    region: String,
    sign: bool,
    request_payer: bool,
}

/// Keeps the HTTP client object_store builds its S3 client with (the last one it connects):
/// docseal's ([`NoRedirects`], with this deadline).
#[derive(Debug, Clone, Default)]
struct Capture(
    std::sync::Arc<std::sync::Mutex<Option<HttpClient>>>,
    Duration,
);

impl HttpConnector for Capture {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let c = NoRedirects { deadline: self.1 }.connect(options)?;
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(c.clone());
        }
        Ok(c)
    }
}

/// Most bytes of one listing reply (1,000 keys of 1,024 bytes each percent-encoded, and
/// their XML, are under 4 MiB).
const MAX_LIST_BODY: usize = 8 << 20;

/// Most pages of names that are no key read in a row by one [`Store::list`] before the
/// listing is refused (each page is [`MAX_PAGE`] names).
const MAX_STRAY_RUNS: usize = 100;

/// The characters left as they are in a query value (SigV4's unreserved set).
const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `key` as object_store names it in the bucket: each `/`-separated part percent-encoded as
/// `Path::from` does (a prefix's trailing `/` kept).
fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|p| PathPart::from(p).as_ref().to_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The key whose name in the bucket is `name` ([`encode_key`]), if `name` is one object_store
/// makes of a key ([`check_key`]): else the object is none this store can address.
fn decode_key(name: &str) -> Option<String> {
    let mut key = String::with_capacity(name.len());
    for (n, part) in name.split('/').enumerate() {
        let p = percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .ok()?;
        // `%2F` is no `/` of a key: `a%2Fb` is one part, which no key's `a/b` is written as.
        if p.contains('/') || PathPart::from(p.as_ref()).as_ref() != part {
            return None;
        }
        if n > 0 {
            key.push('/');
        }
        key.push_str(&p);
    }
    check_key(&key).ok()?;
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_hlist_names_decode_only_to_the_key_written_there() {
        for key in [
            "bundles/a.zip",
            "bundles/caf\u{e9} ~%41.zip",
            "log/index/name/ab/cd/x",
        ] {
            assert_eq!(decode_key(&encode_key(key)).as_deref(), Some(key), "{key}");
        }
        assert_eq!(encode_key("bundles/"), "bundles/");
        // Names no key is written as: raw characters object_store encodes, a `/` encoded in
        // a part, `.` components, control characters, empty parts, lower-case escapes.
        for name in [
            "bundles/a~b",
            "bundles/caf\u{e9}.zip",
            "bundles/a%2Fb.zip",
            "bundles/%2E",
            "bundles/%01x",
            "bundles/\u{1}x",
            "bundles//x",
            "bundles/x/",
            "bundles/caf%c3%a9.zip",
            "bundles/%FF.zip",
        ] {
            assert_eq!(decode_key(name), None, "{name:?}");
        }
    }
}

/// One reply of `ListObjectsV2`, as far as a listing reads it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListXml {
    #[serde(default)]
    contents: Vec<ContentsXml>,
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    encoding_type: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContentsXml {
    key: String,
    size: u64,
}

/// One reply: the names (as the bucket holds them, whole) and sizes, and whether more follow.
struct RawPage {
    keys: Vec<(String, u64)>,
    truncated: bool,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("location", &self.root())
            .finish_non_exhaustive()
    }
}

/// The environment variables whose values are secret.
const SECRET_VARS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

impl S3Store {
    /// The store `s3://bucket/prefix` with the endpoint and credentials of the environment
    /// (its `AWS_*` variables).
    pub fn from_env(bucket: &str, prefix: &str) -> Result<S3Store> {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        S3Store::from_vars(bucket, prefix, vars)
    }

    /// The store `s3://bucket/prefix` configured by `vars`, as [`S3Store::from_env`] is by the
    /// environment: pairs like (`AWS_ENDPOINT_URL`, `http://127.0.0.1:8333`); names not
    /// starting with `AWS_` are ignored.
    pub fn from_vars(
        bucket: &str,
        prefix: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<S3Store> {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with("AWS_") || k == DEADLINE_VAR)
            .collect();
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let root = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        let secrets = secrets_of(&var);
        let allow_http = var("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if var("AWS_ENDPOINT_URL").is_some_and(|e| e.starts_with("http://")) && !allow_http {
            return Err(StoreError::invalid(
                &root,
                "AWS_ENDPOINT_URL is a plain-http endpoint: set AWS_ALLOW_HTTP=true to use it",
            ));
        }
        let deadline = deadline_of(var(DEADLINE_VAR).as_deref())
            .map_err(|p| StoreError::invalid(DEADLINE_VAR, p))?;
        let endpoint = var("AWS_ENDPOINT_URL")
            .and_then(|e| url::Url::parse(&e).ok())
            .map_or_else(
                || "the S3 endpoint".to_string(),
                |u| {
                    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                    format!("{}://{}{port}", u.scheme(), u.host_str().unwrap_or(""))
                },
            );
        let builder = builder_of(bucket, &vars, deadline);
        let (lister_of, captured) = lister_parts(&builder, bucket);
        let captured = Capture(captured.0, deadline);
        let builder = builder.with_http_connector(captured.clone());
        let redact = |s: String| redact(&secrets, s);
        let inner = builder.build().map_err(|e| {
            StoreError::invalid(
                &root,
                format!("S3 configuration: {}", redact(e.to_string())),
            )
        })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable {
                what: root.clone(),
                detail: format!("cannot start the I/O runtime: {e}"),
                retryable: false,
            })?;
        let http = captured.0.lock().ok().and_then(|mut c| c.take());
        let Some(http) = http else {
            return Err(StoreError::invalid(
                &root,
                "S3 configuration: no HTTP client",
            ));
        };
        Ok(S3Store {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            inner,
            rt,
            secrets,
            deadline,
            endpoint,
            stalled: AtomicBool::new(false),
            lister: lister_of(http),
        })
    }

    /// Run one storage operation within the deadline. `Err`: it missed the deadline now or
    /// an earlier one did (not retryable); `Ok`: what object_store said.
    fn run<T>(
        &self,
        key: &str,
        op: impl Future<Output = std::result::Result<T, object_store::Error>>,
    ) -> Result<std::result::Result<T, object_store::Error>> {
        if self.stalled.load(Ordering::Relaxed) {
            return Err(self.stalled_error(key, true));
        }
        match self
            .rt
            .block_on(async { tokio::time::timeout(self.deadline, op).await })
        {
            Ok(Err(e)) if is_timeout(&e) => Err(self.stalled_error(key, false)),
            Ok(r) => Ok(r),
            Err(_) => Err(self.stalled_error(key, false)),
        }
    }

    /// [`S3Store::run`] for an operation whose errors are already typed.
    fn run_typed<T>(&self, key: &str, op: impl Future<Output = Result<T>>) -> Result<T> {
        if self.stalled.load(Ordering::Relaxed) {
            return Err(self.stalled_error(key, true));
        }
        self.rt
            .block_on(async { tokio::time::timeout(self.deadline, op).await })
            .unwrap_or_else(|_| Err(self.stalled_error(key, false)))
    }

    /// The error of an operation that missed its deadline (`before`: an earlier one did);
    /// later operations are not tried.
    fn stalled_error(&self, key: &str, before: bool) -> StoreError {
        self.stalled_at(self.what(key), before)
    }

    /// [`S3Store::stalled_error`] of the object or listing `what`.
    fn stalled_at(&self, what: String, before: bool) -> StoreError {
        self.stalled.store(true, Ordering::Relaxed);
        let secs = self.deadline.as_secs_f64();
        let detail = if before {
            format!(
                "not asked: {} did not answer within {secs} s earlier in this command ({DEADLINE_VAR})",
                self.endpoint
            )
        } else {
            format!(
                "{} did not answer within {secs} s ({DEADLINE_VAR}); not retried",
                self.endpoint
            )
        };
        StoreError::Unavailable {
            what,
            detail: redact(&self.secrets, detail),
            retryable: false,
        }
    }

    /// Write `bytes` at `name` in the bucket (under the store's prefix), the name as the
    /// server is to hold it, not encoded as a key is: the tests plant objects whose names no
    /// key can have (control characters, empty components, a trailing `/`).
    #[cfg(feature = "test-support")]
    pub fn put_named(&self, name: &str, bytes: &[u8]) -> Result<()> {
        const PATH: &percent_encoding::AsciiSet = &QUERY.remove(b'/');
        let full = if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        };
        let url = format!(
            "{}/{}",
            self.lister.bucket_url,
            percent_encoding::utf8_percent_encode(&full, PATH)
        );
        let what = self.what(name);
        let mut req = HttpRequest::new(HttpRequestBody::from(bytes.to_vec()));
        *req.method_mut() = "PUT"
            .parse()
            .map_err(|_| StoreError::invalid(&what, "PUT"))?;
        *req.uri_mut() = url
            .parse()
            .map_err(|e| StoreError::invalid(&what, format!("{e}")))?;
        self.rt.block_on(async {
            let cred = self
                .inner
                .credentials()
                .get_credential()
                .await
                .map_err(|e| self.error(name, e))?;
            AwsAuthorizer::new(&cred, "s3", &self.lister.region)
                .try_authorize(&mut req, None)
                .map_err(|e| self.error(name, e))?;
            let res = self
                .lister
                .http
                .execute(req)
                .await
                .map_err(|e| StoreError::Unavailable {
                    what: what.clone(),
                    detail: e.to_string(),
                    retryable: false,
                })?;
            match res.status().is_success() {
                true => Ok(()),
                false => Err(StoreError::invalid(&what, format!("PUT: {}", res.status()))),
            }
        })
    }

    // Over 80 lines: one request in order, its URL, signature, bounded read of the reply and
    // the mapping of its status to an error.
    /// One `ListObjectsV2` request (`encoding-type=url`): up to [`MAX_PAGE`] names under
    /// `prefix` after `start_after` (names in the bucket, [`encode_key`]), decoded, with no
    /// check of their order (the caller's).
    async fn list_raw(&self, what: &str, prefix: &str, after: Option<&str>) -> Result<RawPage> {
        let what = what.to_owned();
        let q = |v: &str| percent_encoding::utf8_percent_encode(v, QUERY).to_string();
        let mut url = format!(
            "{}?list-type=2&encoding-type=url&max-keys={MAX_PAGE}&prefix={}",
            self.lister.bucket_url,
            q(prefix)
        );
        if let Some(a) = after {
            url.push_str(&format!("&start-after={}", q(a)));
        }
        let mut req = HttpRequest::new(HttpRequestBody::empty());
        *req.uri_mut() = url
            .parse()
            .map_err(|e| StoreError::invalid(&what, format!("listing request: {e}")))?;
        if self.lister.sign {
            let denied = |e: object_store::Error| StoreError::Denied {
                what: what.clone(),
                detail: redact(&self.secrets, format!("listing: {e:.300}")),
            };
            let cred = self.inner.credentials().get_credential().await;
            let cred = cred.map_err(denied)?;
            AwsAuthorizer::new(&cred, "s3", &self.lister.region)
                .with_request_payer(self.lister.request_payer)
                .try_authorize(&mut req, None)
                .map_err(denied)?;
        }
        let unavailable = |detail: String| StoreError::Unavailable {
            what: what.clone(),
            detail: redact(&self.secrets, detail),
            retryable: true,
        };
        // The innermost cause too (a transport error says "error sending request" and hides
        // why: an untrusted certificate, a refused connection).
        let failed = |e: &dyn std::error::Error| {
            let cause = innermost_cause(e);
            unavailable(format!("listing: {e} ({cause})"))
        };
        let res =
            self.lister
                .http
                .execute(req)
                .await
                .map_err(|e| match find_in::<ReplyTooLong>(&e) {
                    Some(t) => StoreError::invalid(&what, format!("{}: {t}", self.endpoint)),
                    None if e.kind() == object_store::client::HttpErrorKind::Timeout => {
                        self.stalled_at(what.clone(), false)
                    }
                    None => failed(&e),
                })?;
        let status = res.status();
        let mut body = Vec::new();
        let mut stream = res.into_body().bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| match find_in::<ReplyTooLong>(&e) {
                Some(t) => StoreError::invalid(&what, format!("{}: {t}", self.endpoint)),
                None if e.kind() == object_store::client::HttpErrorKind::Timeout => {
                    self.stalled_at(what.clone(), false)
                }
                None => failed(&e),
            })?;
            if body.len() + chunk.len() > MAX_LIST_BODY {
                return Err(StoreError::invalid(
                    &what,
                    format!("listing refused: a reply of more than {MAX_LIST_BODY} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let code = text
                .split_once("<Code>")
                .and_then(|(_, r)| r.split_once("</Code>"))
                .map_or("", |(c, _)| c);
            let code: String = code.chars().take(80).collect();
            let detail = redact(
                &self.secrets,
                format!("listing: HTTP status {status} {code}"),
            );
            return Err(match status.as_u16() {
                401 | 403 => StoreError::Denied { what, detail },
                404 => StoreError::NotFound { what },
                // A redirect, not followed ([`NoRedirects`]).
                s if (300..400).contains(&s) => StoreError::Invalid {
                    what,
                    problem: format!(
                        "{} answered with a redirect (HTTP {s}), which docseal does not follow: set AWS_ENDPOINT_URL (and AWS_REGION) to the endpoint that serves the bucket",
                        self.endpoint
                    ),
                },
                s if (400..500).contains(&s) && s != 408 && s != 429 => StoreError::Invalid {
                    what,
                    problem: detail,
                },
                _ => unavailable(detail),
            });
        }
        parse_list(&what, &body)
    }
}

/// A `ListObjectsV2` reply (`what`: the listing, for errors): at most [`MAX_PAGE`] names,
/// each decoded when the reply says they are url-encoded.
fn parse_list(what: &str, body: &[u8]) -> Result<RawPage> {
    let bad = |p: &str| StoreError::invalid(what, format!("listing refused: {p}"));
    let text = std::str::from_utf8(body).map_err(|_| bad("a reply that is not UTF-8"))?;
    // Any other document (`<Error>`, a proxy's page) parsed as one with no names and not
    // truncated: an empty listing, in which an audit in place found no unlisted bundle.
    if !is_listing(text) {
        return Err(bad("a reply that is no listing (not a ListBucketResult)"));
    }
    let x: ListXml = quick_xml::de::from_str(text)
        .map_err(|e| bad(&format!("a reply that is no listing ({e:.120})")))?;
    if x.contents.len() > MAX_PAGE {
        return Err(bad("more names than asked for"));
    }
    let url_encoded = x
        .encoding_type
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("url"));
    let mut keys = Vec::with_capacity(x.contents.len());
    for c in x.contents {
        // Encoded as a form is (AWS and SeaweedFS alike): `+` is a space, `%2B` a `+`.
        let key = if url_encoded {
            percent_encoding::percent_decode_str(&c.key.replace('+', " "))
                .decode_utf8()
                .map_err(|_| bad("a name that is not UTF-8"))?
                .into_owned()
        } else {
            c.key
        };
        keys.push((key, c.size));
    }
    Ok(RawPage {
        keys,
        truncated: x.is_truncated,
    })
}

/// Whether the XML document `text` is a `ListBucketResult` (its root element, after any
/// XML declaration, processing instruction, comment or whitespace).
fn is_listing(text: &str) -> bool {
    let mut t = text.trim_start_matches('\u{feff}');
    loop {
        t = t.trim_start();
        let (open, close) = if t.starts_with("<?") {
            ("<?", "?>")
        } else if t.starts_with("<!--") {
            ("<!--", "-->")
        } else {
            break;
        };
        match t[open.len()..].find(close) {
            Some(i) => t = &t[open.len() + i + close.len()..],
            None => return false,
        }
    }
    t.strip_prefix("<ListBucketResult")
        .is_some_and(|r| r.starts_with(|c: char| c == '>' || c == '/' || c.is_ascii_whitespace()))
}

#[cfg(test)]
mod listing_tests {
    use super::*;

    /// A 200 reply to a listing that is another XML document (an `<Error>`, a proxy's page)
    /// was parsed as a listing with no names: an empty `bundles/`, so an audit in place
    /// reported no unlisted bundle. Now it is refused as no listing; real replies (with a
    /// declaration, a namespace, a comment) are read.
    #[test]
    fn attack_att6_a_reply_that_is_no_listing_is_not_an_empty_listing() {
        for bad in [
            "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code></Error>",
            "<html><body>Welcome</body></html>",
            "<ListBucketResultX></ListBucketResultX>",
            "",
            "<?xml version=\"1.0\"",
        ] {
            let e = parse_list("s3://b/p", bad.as_bytes()).err();
            let e = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("a reply that is no listing"), "{bad}: {e}");
        }
        for good in [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Contents><Key>p/a</Key><Size>1</Size></Contents><IsTruncated>false</IsTruncated></ListBucketResult>",
            "<!-- x --><ListBucketResult><Contents><Key>p/a</Key><Size>1</Size></Contents></ListBucketResult>",
        ] {
            let page = parse_list("s3://b/p", good.as_bytes()).unwrap();
            assert_eq!(page.keys, [("p/a".to_string(), 1)]);
        }
        assert!(parse_list("s3://b/p", b"<ListBucketResult/>")
            .unwrap()
            .keys
            .is_empty());
    }
}

impl S3Store {
    fn path(&self, key: &str) -> Result<ObjPath> {
        check_key(key)
            .map_err(|p| StoreError::invalid(format!("{}: key {:.80}", self.root(), key), p))?;
        Ok(self.obj_path(key))
    }

    fn obj_path(&self, key: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(key)
        } else {
            ObjPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn what(&self, key: &str) -> String {
        format!("{}/{key}", self.root())
    }

    /// A typed error, with no credential in it.
    fn error(&self, key: &str, e: object_store::Error) -> StoreError {
        use object_store::Error as E;
        if is_timeout(&e) {
            return self.stalled_error(key, false);
        }
        if let Some(t) = find_in::<ReplyTooLong>(&e) {
            return StoreError::Invalid {
                what: self.what(key),
                problem: format!("{}: {t}", self.endpoint),
            };
        }
        let what = self.what(key);
        let text = e.to_string();
        // The first line, without the server's XML body, and the innermost cause where the
        // text does not give it (a transport error says "error sending request" and hides why:
        // an untrusted certificate, a refused connection), shortened, redacted.
        let detail = {
            let t = text.split(": <?xml").next().unwrap_or("");
            let t = t.split(", body: ").next().unwrap_or("");
            let mut t: String = t.lines().next().unwrap_or("").chars().take(300).collect();
            let cause = innermost_cause(&e);
            if !cause.is_empty() && !t.contains(&cause) {
                t = format!("{t} ({cause})");
            }
            redact(&self.secrets, t)
        };
        match &e {
            E::NotFound { .. } => return StoreError::NotFound { what },
            E::AlreadyExists { .. } | E::Precondition { .. } => {
                return StoreError::Conflict { what }
            }
            E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
                return StoreError::Denied { what, detail }
            }
            E::NotSupported { .. }
            | E::NotImplemented { .. }
            | E::InvalidPath { .. }
            | E::UnknownConfigurationKey { .. } => {
                return StoreError::Invalid {
                    what,
                    problem: detail,
                }
            }
            _ => {}
        }
        // Other failures (listings among them) carry the HTTP status only in their text.
        match http_status(&text) {
            Some(401 | 403) => StoreError::Denied { what, detail },
            Some(404) => StoreError::NotFound { what },
            Some(409 | 412) => StoreError::Conflict { what },
            // A redirect, not followed ([`NoRedirects`]): the endpoint is not the bucket's.
            Some(s) if (300..400).contains(&s) => StoreError::Invalid {
                what,
                problem: format!(
                    "{} answered with a redirect (HTTP {s}), which docseal does not follow: set AWS_ENDPOINT_URL (and AWS_REGION) to the endpoint that serves the bucket",
                    self.endpoint
                ),
            },
            Some(s) if (400..500).contains(&s) && s != 408 && s != 429 => StoreError::Invalid {
                what,
                problem: detail,
            },
            // Transport failures and server errors that outlasted object_store's own retries.
            _ => StoreError::Unavailable {
                what,
                detail,
                retryable: true,
            },
        }
    }
}

/// The first error of type `T` in `e`'s chain of sources.
fn find_in<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut c: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = c {
        if let Some(t) = x.downcast_ref::<T>() {
            return Some(t);
        }
        c = x.source();
    }
    None
}

/// Whether `e` is a request that timed out (connecting, or waiting for the reply).
fn is_timeout(e: &object_store::Error) -> bool {
    let mut c: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = c {
        if let Some(h) = x.downcast_ref::<object_store::client::HttpError>() {
            if h.kind() == object_store::client::HttpErrorKind::Timeout {
                return true;
            }
        }
        c = x.source();
    }
    false
}

/// The deadline `value` of [`DEADLINE_VAR`] gives (seconds; [`DEFAULT_DEADLINE`] if unset).
fn deadline_of(value: Option<&str>) -> std::result::Result<Duration, String> {
    let Some(v) = value else {
        return Ok(DEFAULT_DEADLINE);
    };
    match v.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{v:.20}: not a number of seconds from 0 (excluded) to 86400"
        )),
    }
}

/// The first line (at most 200 characters) of the last error in `e`'s chain of sources ("" when
/// it has none).
fn innermost_cause(e: &dyn std::error::Error) -> String {
    let mut c = match e.source() {
        Some(c) => c,
        None => return String::new(),
    };
    while let Some(next) = c.source() {
        c = next;
    }
    c.to_string()
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}

/// The credential values among the variables (`var` gives a variable's value), to be kept
/// out of every error detail.
fn secrets_of(var: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut secrets: Vec<String> = SECRET_VARS
        .iter()
        .filter_map(|v| var(v))
        .filter(|v| !v.is_empty())
        .collect();
    // A credential put in the endpoint URL (`http://user:secret@host`) is secret too.
    if let Some(e) = var("AWS_ENDPOINT_URL") {
        if let Ok(u) = url::Url::parse(&e) {
            secrets.extend(
                [
                    u.username().to_owned(),
                    u.password().unwrap_or("").to_owned(),
                ]
                .into_iter()
                .filter(|s| !s.is_empty()),
            );
        }
    }
    secrets
}

/// The S3 client builder for `bucket`: bounded retries and timeouts (a request within
/// `deadline`), then the `AWS_*` variables `vars`.
fn builder_of(bucket: &str, vars: &[(String, String)], deadline: Duration) -> AmazonS3Builder {
    // Bounded retries inside object_store (connection errors, 5xx, 429); the callers
    // retry again with [`super::retry`] where they can.
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
    };
    // Timeouts first: the variables (AWS_ALLOW_HTTP, ...) then set the other client
    // options without being overwritten.
    let client = ClientOptions::new()
        .with_timeout(deadline + Duration::from_secs(1))
        .with_connect_timeout(deadline.min(Duration::from_secs(5)));
    let mut builder = AmazonS3Builder::new()
        .with_retry(retry)
        .with_client_options(client);
    for (k, v) in vars {
        if let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, v);
        }
    }
    builder.with_bucket_name(bucket)
}

/// The HTTP client of the store: object_store's (reqwest, its TLS and HTTP/2 features), built
/// as object_store builds it from the options the `AWS_*` variables set, but that follows no
/// redirect: an endpoint answering 3xx to another host (or port) would otherwise have the
/// request sent there, without its signature, and its answer read as the object's (a 3xx is a
/// failed request instead). Timeouts are the store's deadline's.
#[derive(Debug)]
struct NoRedirects {
    deadline: Duration,
}

impl object_store::client::HttpConnector for NoRedirects {
    fn connect(&self, o: &ClientOptions) -> object_store::Result<object_store::client::HttpClient> {
        use object_store::ClientConfigKey as K;
        let on = |k: K| o.get_config_value(&k).is_some_and(|v| v == "true");
        let fail = |e: reqwest::Error| object_store::Error::Generic {
            store: "S3",
            source: Box::new(e),
        };
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.deadline + Duration::from_secs(1))
            .connect_timeout(self.deadline.min(Duration::from_secs(5)))
            .no_gzip()
            .no_brotli()
            .no_zstd()
            .no_deflate()
            .https_only(!on(K::AllowHttp));
        if let Some(url) = o.get_config_value(&K::ProxyUrl) {
            let mut proxy = reqwest::Proxy::all(url).map_err(fail)?;
            if let Some(ex) = o.get_config_value(&K::ProxyExcludes) {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(&ex));
            }
            if let Some(pem) = o.get_config_value(&K::ProxyCaCertificate) {
                let ca = reqwest::tls::Certificate::from_pem(pem.as_bytes()).map_err(fail)?;
                b = b.tls_certs_merge(std::iter::once(ca));
            }
            b = b.proxy(proxy);
        }
        if on(K::AllowInvalidCertificates) {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if on(K::Http1Only) {
            b = b.http1_only();
        }
        if on(K::Http2Only) {
            b = b.http2_prior_knowledge();
        }
        Ok(object_store::client::HttpClient::new(Bounded(
            b.build().map_err(fail)?,
        )))
    }
}

/// The longest reply body taken to a request that does not ask for a bounded range (a page
/// of a listing: 1,000 keys of at most 1 KiB and their metadata; an error; credentials).
const MAX_REPLY: u64 = 16 << 20;

/// A reply body longer than docseal asked for: refused as it comes ([`Bounded`]).
#[derive(Debug)]
struct ReplyTooLong {
    max: u64,
}

impl std::fmt::Display for ReplyTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the reply is longer than the {} bytes asked for; not read further",
            self.max
        )
    }
}

impl std::error::Error for ReplyTooLong {}

/// The boxed future of [`Bounded`]'s `call`.
type Reply<'b> = std::pin::Pin<
    Box<
        dyn Future<
                Output = std::result::Result<
                    object_store::client::HttpResponse,
                    object_store::client::HttpError,
                >,
            > + Send
            + 'b,
    >,
>;

/// The HTTP client, every reply body bounded: a success by the range asked for (`Range:
/// bytes=A-B`), else (and an error's) by [`MAX_REPLY`]. object_store reads some replies whole
/// into memory (a listing page, a ranged GET); a hostile endpoint answering with gigabytes
/// (its `Content-Length`, or a chunked body that never ends) is cut at the bound, not held.
#[derive(Debug)]
struct Bounded(reqwest::Client);

impl object_store::client::HttpService for Bounded {
    fn call<'a, 'b>(&'a self, req: object_store::client::HttpRequest) -> Reply<'b>
    where
        'a: 'b,
        Self: 'b,
    {
        // A HEAD's Content-Length is the object's size, not a body's.
        let head = req.method() == "HEAD";
        let max = req
            .headers()
            .get("range")
            .and_then(|r| r.to_str().ok())
            .and_then(range_len)
            .unwrap_or(MAX_REPLY);
        Box::pin(async move {
            let resp = object_store::client::HttpService::call(&self.0, req).await?;
            // An error's body (a 404's XML) is not the range asked for.
            let max = if resp.status().is_success() {
                max
            } else {
                MAX_REPLY
            };
            let claimed = resp
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if !head && claimed.is_some_and(|n| n > max) {
                return Err(too_long(max));
            }
            let (parts, body) = resp.into_parts();
            let body = LimitedBody {
                body,
                left: max,
                max,
            };
            let body = object_store::client::HttpResponseBody::new(body);
            Ok(object_store::client::HttpResponse::from_parts(parts, body))
        })
    }
}

fn too_long(max: u64) -> object_store::client::HttpError {
    object_store::client::HttpError::new(
        object_store::client::HttpErrorKind::Decode,
        ReplyTooLong { max },
    )
}

/// The bytes `Range: bytes=A-B` asks for, `None` for any other form.
fn range_len(range: &str) -> Option<u64> {
    let (a, b) = range.strip_prefix("bytes=")?.split_once('-')?;
    let (a, b) = (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?);
    b.checked_sub(a)?.checked_add(1)
}

/// A reply body that fails once more than `max` bytes came (`left` of them to come).
struct LimitedBody {
    body: object_store::client::HttpResponseBody,
    left: u64,
    max: u64,
}

impl http_body::Body for LimitedBody {
    type Data = bytes::Bytes;
    type Error = object_store::client::HttpError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<bytes::Bytes>, Self::Error>>>
    {
        let r = std::pin::Pin::new(&mut self.body).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Ok(f))) = &r {
            let n = f.data_ref().map_or(0, |d| d.len() as u64);
            if n > self.left {
                self.left = 0;
                return std::task::Poll::Ready(Some(Err(too_long(self.max))));
            }
            self.left -= n;
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
}

/// What [`Lister`] needs from the builder's configuration, and the connector that will keep
/// the HTTP client `build` makes.
fn lister_parts(
    builder: &AmazonS3Builder,
    bucket: &str,
) -> (impl FnOnce(HttpClient) -> Lister, Capture) {
    let cfg = |k: AmazonS3ConfigKey| builder.get_config_value(&k);
    let is_true = |v: Option<String>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let region = cfg(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".into());
    let endpoint = cfg(AmazonS3ConfigKey::S3Endpoint).or(cfg(AmazonS3ConfigKey::Endpoint));
    // As object_store makes it (its `bucket_endpoint`).
    let bucket_url = match (
        endpoint,
        is_true(cfg(AmazonS3ConfigKey::VirtualHostedStyleRequest)),
    ) {
        (Some(e), true) => e,
        (Some(e), false) => format!("{}/{bucket}", e.trim_end_matches('/')),
        (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    };
    let sign = !is_true(cfg(AmazonS3ConfigKey::SkipSignature));
    let request_payer = is_true(cfg(AmazonS3ConfigKey::RequestPayer));
    let of = move |http| Lister {
        http,
        bucket_url,
        region,
        sign,
        request_payer,
    };
    (of, Capture::default())
}

/// The HTTP status in an object_store error's text ("... status code: 403 Forbidden ...").
fn http_status(text: &str) -> Option<u16> {
    let (_, rest) = text.split_once("status code: ")?;
    rest.get(..3)?.parse().ok()
}

fn redact(secrets: &[String], mut text: String) -> String {
    for s in secrets {
        if s.len() >= 4 {
            text = text.replace(s.as_str(), "[redacted]");
        }
    }
    text
}

impl Store for S3Store {
    fn root(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn get(&self, key: &str, max_len: u64) -> Result<Option<Object>> {
        let path = self.path(key)?;
        // Never more than max_len + 1 bytes: a larger object is refused without being read.
        let opts = GetOptions {
            range: Some(GetRange::Bounded(0..max_len.saturating_add(1))),
            ..Default::default()
        };
        let r = self.run(key, async {
            let res = self.inner.get_opts(&path, opts).await?;
            let size = res.meta.size;
            let etag = res.meta.e_tag.clone();
            if size > max_len {
                return Ok((size, etag, None, false));
            }
            // Read as it comes, and stop past the size announced: a server sending more than
            // it said is not followed.
            let mut stream = res.into_stream();
            // Room for what came, never for what the server claims (at most 1 MiB ahead).
            let mut bytes = Vec::with_capacity(size.min(1 << 20) as usize);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                if bytes.len() as u64 + chunk.len() as u64 > size {
                    return Ok((size, etag, None, true));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok((size, etag, Some(bytes), false))
        })?;
        match r {
            Ok((_, _, None, true)) => Err(StoreError::invalid(
                self.what(key),
                "the server sent more bytes than it announced; not read further",
            )),
            Ok((size, _, None, false)) => Err(StoreError::TooLarge {
                what: self.what(key),
                size,
                max: max_len,
            }),
            Ok((size, etag, Some(bytes), _)) => {
                if bytes.len() as u64 != size {
                    return Err(StoreError::Unavailable {
                        what: self.what(key),
                        detail: format!("{} bytes read of {size}", bytes.len()),
                        retryable: true,
                    });
                }
                let Some(etag) = etag else {
                    return Err(StoreError::invalid(self.what(key), "no ETag in the reply"));
                };
                Ok(Some(Object {
                    bytes,
                    version: Version(etag),
                }))
            }
            // An empty object: a range from 0 is not satisfiable on some servers.
            Err(object_store::Error::Generic { .. }) if self.size(key)? == Some(0) => {
                self.get_empty(key)
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = self.path(key)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let size = match self.size(key)? {
            Some(s) => s,
            None => {
                return Err(StoreError::NotFound {
                    what: self.what(key),
                })
            }
        };
        if offset >= size {
            return Ok(Vec::new());
        }
        let end = offset.saturating_add(len).min(size);
        let r = self.run(key, self.inner.get_range(&path, offset..end))?;
        match r {
            Ok(b) if b.len() as u64 == end - offset => Ok(b.to_vec()),
            Ok(b) => Err(StoreError::Unavailable {
                what: self.what(key),
                detail: format!("{} bytes read of {}", b.len(), end - offset),
                retryable: true,
            }),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn size(&self, key: &str) -> Result<Option<u64>> {
        let path = self.path(key)?;
        match self.run(key, self.inner.head(&path))? {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<PutNew> {
        let path = self.path(key)?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let payload = PutPayload::from(bytes.to_vec());
        match self.run(key, self.inner.put_opts(&path, payload, opts))? {
            Ok(r) => Ok(PutNew::Created(Version(r.e_tag.unwrap_or_default()))),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(PutNew::AlreadyExists),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn put_if_match(&self, key: &str, bytes: &[u8], version: &Version) -> Result<PutIfMatch> {
        let path = self.path(key)?;
        let opts = PutOptions {
            mode: PutMode::Update(UpdateVersion {
                e_tag: Some(version.0.clone()),
                version: None,
            }),
            ..Default::default()
        };
        let payload = PutPayload::from(bytes.to_vec());
        match self.run(key, self.inner.put_opts(&path, payload, opts))? {
            Ok(r) => Ok(PutIfMatch::Replaced(Version(r.e_tag.unwrap_or_default()))),
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::NotFound { .. }) => Ok(PutIfMatch::Conflict),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<Version> {
        let path = self.path(key)?;
        let payload = PutPayload::from(bytes.to_vec());
        match self.run(key, self.inner.put(&path, payload))? {
            Ok(r) => Ok(Version(r.e_tag.unwrap_or_default())),
            Err(e) => Err(self.error(key, e)),
        }
    }

    fn list(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Page> {
        check_prefix(prefix).map_err(|p| StoreError::invalid(self.root(), p))?;
        if let Some(a) = after {
            check_key(a).map_err(|p| StoreError::invalid(self.root(), p))?;
        }
        let max = max.clamp(1, MAX_PAGE);
        let what = self.root();
        // Names in the bucket: the store's prefix and the key as object_store encodes them
        // (`Path::from`: `%`, `~`, non-ASCII, ... percent-encoded), which is where every
        // object this store writes is.
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", encode_key(&self.prefix))
        };
        let want = format!("{strip}{}", encode_key(prefix));
        let mut cursor = after.map(|a| format!("{strip}{}", encode_key(a)));
        let named = self.what(prefix);
        let mut page = Page::default();
        // Strays after the last item: listed again by the next page (which starts after it).
        let mut pending: Vec<String> = Vec::new();
        let mut runs = 0;
        loop {
            let raw = self.run_typed(prefix, self.list_raw(&named, &want, cursor.as_deref()))?;
            let names = raw.keys.iter().map(|(k, _)| k.as_str());
            check_order(&what, &want, cursor.as_deref(), names)?;
            for (full, size) in &raw.keys {
                let name = &full[strip.len()..];
                match decode_key(name).filter(|k| k.starts_with(prefix)) {
                    Some(key) => {
                        if page.items.len() == max {
                            page.more = true;
                            return Ok(page);
                        }
                        page.stray.append(&mut pending);
                        page.items.push(Listed { key, size: *size });
                    }
                    None if page.stray.len() + pending.len() < MAX_PAGE => {
                        pending.push(name.to_owned())
                    }
                    None => {}
                }
            }
            if !raw.truncated {
                page.stray.append(&mut pending);
                return Ok(page);
            }
            if !page.items.is_empty() {
                // Its trailing strays come again after its last item.
                page.more = true;
                return Ok(page);
            }
            // Nothing but strays so far: on, from the last name listed.
            runs += 1;
            if runs > MAX_STRAY_RUNS {
                return Err(StoreError::invalid(
                    &what,
                    format!(
                        "listing refused: more than {} names in a row under {} that are no key",
                        MAX_STRAY_RUNS * MAX_PAGE,
                        escape_key(prefix)
                    ),
                ));
            }
            match raw.keys.last() {
                Some((k, _)) => cursor = Some(k.clone()),
                None => {
                    return Err(StoreError::invalid(
                        &what,
                        "listing refused: a page said to be truncated held no name",
                    ))
                }
            }
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        let path = self.path(key)?;
        match self.run(key, self.inner.delete(&path))? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(key, e)),
        }
    }
}

impl S3Store {
    fn get_empty(&self, key: &str) -> Result<Option<Object>> {
        let path = self.path(key)?;
        match self.run(key, self.inner.head(&path))? {
            Ok(m) if m.size == 0 => Ok(Some(Object {
                bytes: Vec::new(),
                version: Version(m.e_tag.unwrap_or_default()),
            })),
            Ok(_) => Err(StoreError::Conflict {
                what: self.what(key),
            }),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(key, e)),
        }
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    /// `DOCSEAL_S3_DEADLINE` is a positive number of seconds, at most a day; anything else
    /// is refused naming the variable (never a credential), not taken for the default.
    #[test]
    fn attack_hfetch_deadline_is_parsed_strictly() {
        assert_eq!(deadline_of(None).unwrap(), DEFAULT_DEADLINE);
        assert_eq!(
            deadline_of(Some("2.5")).unwrap(),
            Duration::from_millis(2500)
        );
        assert_eq!(deadline_of(Some(" 3 ")).unwrap(), Duration::from_secs(3));
        for bad in ["0", "-1", "soon", "", "NaN", "inf", "1e9"] {
            assert!(deadline_of(Some(bad)).is_err(), "{bad:?}");
        }
        let e = S3Store::from_vars(
            "bkt",
            "p",
            [
                (DEADLINE_VAR.to_string(), "soon".to_string()),
                ("AWS_SECRET_ACCESS_KEY".into(), "top-secret-value".into()),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("DOCSEAL_S3_DEADLINE: soon: not a number"),
            "{e}"
        );
        assert!(!e.contains("top-secret-value"), "{e}");
    }
}
