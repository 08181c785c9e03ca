//! Sealing: article + metadata + attachments -> one signed bundle, written atomically.
//!
//! The writer is canonical and deterministic: the same inputs, key and sealing time give a
//! byte-identical bundle (`docs/FORMAT.md`).

use crate::format::durable::{GroupSync, Output, Written};
use crate::format::error::{Error, Result, Setting};
use crate::format::minisign::{KeyId, SecretKey};
use crate::format::text::hex;
use crate::format::zip::{Limits, ZipWriter};
use crate::profile::bagit::{self, BAGIT, BAG_INFO, MANIFEST, METADATA, SIGNATURE, TAGMANIFEST};
pub use crate::profile::comments::{
    sign_tagmanifest, trusted_comment, untrusted_comment, MAX_TRUSTED_COMMENT,
};
use crate::profile::metadata::{self, Metadata, Supersedes, ATTACHMENTS_DIR};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

/// Where the article comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArticleSource {
    /// A file.
    Path(PathBuf),
    /// Standard input (read to its end).
    Stdin,
}

/// What to seal: the article, its metadata as given on the command line, attachments.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SealRequest {
    /// The article's bytes.
    pub article: ArticleSource,
    /// Source URL.
    pub url: String,
    /// Title (`headline`).
    pub title: String,
    /// Publisher name.
    pub publisher: String,
    /// Publication date.
    pub published: String,
    /// Authors, in order.
    pub authors: Vec<String>,
    /// Retrieval time.
    pub retrieved: Option<String>,
    /// Sealing time; `None` means now.
    pub created: Option<String>,
    /// Attachment files.
    pub attachments: Vec<PathBuf>,
    /// The bundle this one supersedes.
    pub supersedes: Option<Supersedes>,
}

impl SealRequest {
    /// A request to seal `article` with the required metadata: the source URL, the title, the
    /// publisher and the publication date. The optional fields (authors, retrieval and sealing
    /// times, attachments, the bundle superseded) start empty; set them on the result.
    pub fn new(
        article: ArticleSource,
        url: impl Into<String>,
        title: impl Into<String>,
        publisher: impl Into<String>,
        published: impl Into<String>,
    ) -> SealRequest {
        SealRequest {
            article,
            url: url.into(),
            title: title.into(),
            publisher: publisher.into(),
            published: published.into(),
            authors: Vec::new(),
            retrieved: None,
            created: None,
            attachments: Vec::new(),
            supersedes: None,
        }
    }
}

/// What was sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sealed {
    /// The bundle written.
    pub path: PathBuf,
    /// The bundle identity.
    pub id: String,
    /// The content digest (SHA-256 of the tag manifest), hex.
    pub content_sha256: String,
    /// The sealer's key id.
    pub key_id: KeyId,
    /// The bundle's size in bytes.
    pub size: u64,
}

/// An opened input: a file with a known size.
struct Input {
    file: File,
    size: u64,
    label: PathBuf,
}

/// Open an article or attachment: a regular file (never a FIFO, device or socket, so that no
/// open blocks and no endless input is read), not a secret key file, at most
/// `limits.max_file_size` bytes.
fn open_input(path: &Path, what: &str, limits: &Limits) -> Result<Input> {
    let (file, meta) = crate::format::input::open(path, crate::format::input::Open::regular(what))?;
    crate::format::input::refuse_secret_key(&file, path, what)?;
    if meta.len() > limits.max_file_size {
        return Err(too_large(path, what, limits.max_file_size));
    }
    Ok(Input {
        file,
        size: meta.len(),
        label: path.to_path_buf(),
    })
}

fn too_large(path: &Path, what: &str, max: u64) -> Error {
    Error::setting(
        path.display().to_string(),
        format!("{what} larger than {max} bytes (the per-file limit)"),
        Setting::MaxFileSize,
    )
}

/// Copy a stream (stdin) to an anonymous temp file so its size is known; at most
/// `limits.max_file_size` bytes are read (an endless stream is refused, and the temp file,
/// which has no name, goes with it).
fn spool(r: impl Read, label: &Path, limits: &Limits) -> Result<Input> {
    let mut tmp = tempfile::tempfile().map_err(|e| Error::io(label, e))?;
    let max = limits.max_file_size;
    let size = std::io::copy(&mut r.take(max.saturating_add(1)), &mut tmp)
        .map_err(|e| Error::io(label, e))?;
    if size > max {
        return Err(too_large(label, "article", max));
    }
    crate::format::input::refuse_secret_key(&tmp, label, "article")?;
    tmp.rewind().map_err(|e| Error::io(label, e))?;
    Ok(Input {
        file: tmp,
        size,
        label: label.to_path_buf(),
    })
}

/// Check the request's metadata; returns the normalized URL and sealing time. An error names
/// the field ([`SEALED_FIELDS`]): `url`, `title`, ...
/// The names [`seal`] gives the request's fields in its errors ([`Error::Invalid`]'s `what`):
/// the jobs-file keys; the command line shows them as its flags (`--url`).
pub const SEALED_FIELDS: [&str; 7] = [
    "url",
    "title",
    "publisher",
    "author",
    "published",
    "retrieved",
    "created",
];

fn check_request(req: &SealRequest) -> Result<(String, String)> {
    let url = metadata::normalize_url(&req.url).map_err(|p| Error::invalid("url", p))?;
    metadata::check_new_text(&req.title).map_err(|p| Error::invalid("title", p))?;
    metadata::check_new_text(&req.publisher).map_err(|p| Error::invalid("publisher", p))?;
    for a in &req.authors {
        metadata::check_new_text(a).map_err(|p| Error::invalid("author", p))?;
    }
    metadata::check_date(&req.published).map_err(|p| Error::invalid("published", p))?;
    if let Some(r) = &req.retrieved {
        metadata::check_date(r).map_err(|p| Error::invalid("retrieved", p))?;
    }
    let sealed = match &req.created {
        Some(c) => metadata::normalize_sealed(c).map_err(|p| Error::invalid("created", p))?,
        None => metadata::format_sealed(chrono::Utc::now()),
    };
    Ok((url, sealed))
}

/// The bundle path of each attachment, sorted; refuses non-portable or colliding names.
pub(crate) fn attachment_names(paths: &[PathBuf]) -> Result<Vec<(String, &PathBuf)>> {
    let mut out: Vec<(String, &PathBuf)> = Vec::new();
    for p in paths {
        let label = p.display().to_string();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::invalid(&label, "attachment file name is not valid UTF-8"))?;
        let name: String = name.nfc().collect();
        let full = format!("{ATTACHMENTS_DIR}{name}");
        crate::format::path::check(&full).map_err(|(code, why)| {
            Error::invalid(&label, format!("attachment name refused ({code}): {why}"))
        })?;
        let key = crate::format::path::collision_key(&full);
        if let Some((other, _)) = out
            .iter()
            .find(|(o, _)| crate::format::path::collision_key(o) == key)
        {
            return Err(Error::invalid(
                &label,
                format!("attachment name collides with {other}"),
            ));
        }
        out.push((full, p));
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// Seal `req` with `key` into the bundle `out` (atomically; never replacing `out` unless
/// `force`). On any error nothing is left at `out`.
pub fn seal(req: &SealRequest, key: &SecretKey, out: &Path, force: bool) -> Result<Sealed> {
    seal_limited(req, key, out, force, &Limits::default())
}

/// [`seal`] with input limits: an article or attachment larger than `limits.max_file_size`,
/// inputs adding up to more than `limits.max_total_size`, or more files than
/// `limits.max_entries` are refused (the limits `docseal verify` applies; the defaults are
/// [`Limits::default`]). Checked from each file's size before it is read, and while standard
/// input is read.
pub fn seal_limited(
    req: &SealRequest,
    key: &SecretKey,
    out: &Path,
    force: bool,
    limits: &Limits,
) -> Result<Sealed> {
    Ok(seal_deferred(req, key, out, force, None, limits)?.0)
}

/// [`seal`]; with a `group`, the bundle is committed with [`Output::commit_in`]: it is
/// durable before it is put in place and its name durable before this returns, as with
/// [`seal`], but the syncs are shared with the other bundles written into the same directory
/// meanwhile (`docseal pack --batch`). `out` must be in the group's directory.
pub fn seal_with(
    req: &SealRequest,
    key: &SecretKey,
    out: &Path,
    force: bool,
    group: Option<&GroupSync>,
) -> Result<Sealed> {
    let (sealed, written) = seal_deferred(req, key, out, force, group, &Limits::default())?;
    if let (Some(w), Some(g)) = (written, group) {
        w.place_in(g)?.settle(g)?;
    }
    Ok(sealed)
}

/// [`seal_with`] up to writing the bundle: with a `group`, the returned [`Written`] must be
/// put in place ([`Written::place_in`], which waits until it is durable) and settled
/// ([`crate::format::durable::Placed::settle`]) before the bundle is reported sealed.
// Longer than 80 lines: the sealing pipeline in the order of the bundle's bytes (inputs opened,
// metadata, manifests, signature, ZIP written), on the same writer.
pub(crate) fn seal_deferred(
    req: &SealRequest,
    key: &SecretKey,
    out: &Path,
    force: bool,
    group: Option<&GroupSync>,
    limits: &Limits,
) -> Result<(Sealed, Option<Written>)> {
    let (url, date_sealed) = check_request(req)?;
    let attachments = attachment_names(&req.attachments)?;
    // The payload, plus the six tag files.
    let entries = attachments.len() as u64 + 1 + 6;
    if entries > limits.max_entries {
        return Err(Error::setting(
            "attachments",
            format!(
                "{entries} files in the bundle, more than the {} allowed",
                limits.max_entries
            ),
            Setting::MaxEntries,
        ));
    }
    let article = match &req.article {
        ArticleSource::Path(p) => (
            metadata::article_path(p.file_name().and_then(|n| n.to_str())),
            open_input(p, "article", limits)?,
        ),
        ArticleSource::Stdin => (
            metadata::article_path(None),
            spool(std::io::stdin().lock(), Path::new("<stdin>"), limits)?,
        ),
    };
    // The payload in bundle order: the article, then the attachments.
    let mut payload = Vec::with_capacity(1 + attachments.len());
    payload.push(article);
    let mut payload_size = 0u64;
    for (name, p) in
        std::iter::once((&String::new(), None)).chain(attachments.iter().map(|(n, p)| (n, Some(p))))
    {
        let input = match p {
            None => None,
            Some(p) => Some(open_input(p, "attachment", limits)?),
        };
        let (size, label) = match &input {
            None => (payload[0].1.size, payload[0].1.label.clone()),
            Some(i) => (i.size, i.label.clone()),
        };
        payload_size = payload_size.saturating_add(size);
        if payload_size > limits.max_total_size {
            return Err(Error::setting(
                label.display().to_string(),
                format!(
                    "the article and attachments add up to more than {} bytes (the per-bundle limit)",
                    limits.max_total_size
                ),
                Setting::MaxTotalSize,
            ));
        }
        if let Some(input) = input {
            payload.push((name.clone(), input));
        }
    }
    let mut output = match group {
        Some(g) if !force => Output::create_in(out, g)?,
        _ => Output::create(out, force)?,
    };
    let out_err = |e| Error::io(out, e);
    let (m, tagmanifest, size) = if payload_size <= IN_MEMORY_PAYLOAD {
        // Built in memory and written with one write, not one or two per entry.
        let room = payload_size as usize + IN_MEMORY_ROOM;
        let zip = std::io::Cursor::new(Vec::with_capacity(room));
        let (zip, m, tagmanifest) = write_bundle(zip, req, key, url, date_sealed, payload, out)?;
        output.file().write_all(zip.get_ref()).map_err(out_err)?;
        (m, tagmanifest, zip.get_ref().len() as u64)
    } else {
        let file = output.file();
        let (f, m, tagmanifest) = write_bundle(file, req, key, url, date_sealed, payload, out)?;
        let size = f.stream_position().map_err(out_err)?;
        f.flush().map_err(out_err)?;
        (m, tagmanifest, size)
    };
    let written = match group {
        Some(g) => Some(output.written_in(g)?),
        None => {
            output.commit()?;
            None
        }
    };
    let sealed = Sealed {
        path: out.to_path_buf(),
        id: m.id,
        content_sha256: hex(&Sha256::digest(&tagmanifest)),
        key_id: key.key_id(),
        size,
    };
    Ok((sealed, written))
}

/// Bundles whose payload is at most this many bytes are built in memory first.
const IN_MEMORY_PAYLOAD: u64 = 1 << 20;
/// Room for the ZIP structure and the tag files beyond the payload, enough for the usual
/// bundle.
const IN_MEMORY_ROOM: usize = 16 << 10;

/// Write the bundle of `req` to `w`: the `payload` entries (the article first, then the
/// attachments, each with its name in the bundle), then the tag files, signed with `key`.
/// Returns the writer, the metadata and the tag manifest.
fn write_bundle<W: Write + Seek>(
    w: W,
    req: &SealRequest,
    key: &SecretKey,
    url: String,
    date_sealed: String,
    payload: Vec<(String, Input)>,
    out: &Path,
) -> Result<(W, Metadata, Vec<u8>)> {
    let out_err = |e| Error::io(out, e);
    let mut zw = ZipWriter::new(w);
    let mut digests: Vec<(String, [u8; 32])> = Vec::with_capacity(payload.len());
    let mut payload_bytes = 0u64;
    for (name, mut input) in payload {
        let d = zw
            .add_reader(&name, input.size, &mut input.file)
            .map_err(|e| classify(e, &input.label, out))?;
        digests.push((name, d.sha256));
        payload_bytes += d.size;
    }
    let (article_file, article_sha256) = digests[0].clone();
    let m = Metadata {
        format: metadata::FORMAT_VERSION,
        id: metadata::bundle_id(&article_sha256, &url, &date_sealed),
        context: "https://schema.org".into(),
        kind: "NewsArticle".into(),
        headline: req.title.clone(),
        author: req.authors.clone(),
        publisher: req.publisher.clone(),
        date_published: req.published.clone(),
        url,
        date_retrieved: req.retrieved.clone(),
        date_sealed,
        sealed_with: metadata::tool_version(),
        article_file,
        attachments: digests[1..].iter().map(|(n, _)| n.clone()).collect(),
        supersedes: req.supersedes.clone(),
    };
    if let Some((field, p)) = m.problems().into_iter().next() {
        return Err(Error::invalid(field, p));
    }
    let bag_info = bagit::bag_info(&m, payload_bytes, digests.len() as u64);
    let meta_bytes = m.to_bytes();
    let manifest = bagit::manifest(&digests);
    let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
    let tagmanifest = bagit::manifest(&[
        (BAG_INFO.to_string(), sha(&bag_info)),
        (BAGIT.to_string(), sha(bagit::BAGIT_TXT)),
        (MANIFEST.to_string(), sha(&manifest)),
        (METADATA.to_string(), sha(&meta_bytes)),
    ]);
    let signature = sign_tagmanifest(&m, key, &tagmanifest);
    for (name, bytes) in [
        (BAGIT, bagit::BAGIT_TXT),
        (BAG_INFO, &bag_info[..]),
        (METADATA, &meta_bytes[..]),
        (MANIFEST, &manifest[..]),
        (TAGMANIFEST, &tagmanifest[..]),
        (SIGNATURE, signature.as_bytes()),
    ] {
        zw.add_bytes(name, bytes).map_err(out_err)?;
    }
    let w = zw.finish().map_err(out_err)?;
    Ok((w, m, tagmanifest))
}

/// An error while copying an input into the bundle: the input changed, or reading it failed,
/// or writing the bundle failed.
fn classify(e: std::io::Error, input: &Path, out: &Path) -> Error {
    match e.kind() {
        std::io::ErrorKind::InvalidData => Error::invalid(
            input.display().to_string(),
            "changed size while being sealed",
        ),
        std::io::ErrorKind::InvalidInput => {
            Error::invalid(input.display().to_string(), e.to_string())
        }
        _ => {
            // The zip writer reports read and write failures alike; name both files.
            Error::Io {
                path: PathBuf::from(format!("{} -> {}", input.display(), out.display())),
                source: e,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::minisign::KeyId;

    #[test]
    fn issue13_seal_errors_name_fields_not_flags() {
        let key = SecretKey::from_seed(&[1; 32], KeyId([2; 8]));
        let dir = tempfile::tempdir().unwrap();
        let article = dir.path().join("a.txt");
        std::fs::write(&article, b"text").unwrap();
        let mut req = SealRequest::new(
            ArticleSource::Path(article),
            "https://e.com/",
            "t",
            "p",
            "2020-01-01",
        );
        req.created = Some("yesterday".into());
        let e = seal(&req, &key, &dir.path().join("o.zip"), false).unwrap_err();
        assert!(
            matches!(&e, Error::Invalid { what, .. } if what == "created"),
            "{e}"
        );
        assert!(SEALED_FIELDS.contains(&"created"));
        assert!(!dir.path().join("o.zip").exists());
    }
}
