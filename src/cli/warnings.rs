//! Warnings about what is about to be sealed (it can be sealed, but looks wrong): shared by
//! `pack` and `pack --batch`.

use docseal::seal::SealRequest;
use docseal::verify;

/// The warning for an empty article.
pub const EMPTY_ARTICLE: &str =
    "the article is empty (0 bytes): the bundle seals nothing but its metadata";

pub fn article_len_warning(warnings: &mut Vec<String>, r: &verify::Report) {
    if r.files.first().is_some_and(|f| f.size == 0) {
        warnings.insert(0, EMPTY_ARTICLE.into());
    }
}

/// What looks wrong in a request, though it can be sealed: a time in the future, a retrieval
/// before the publication.
pub fn sealing_warnings(req: &SealRequest, now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| docseal::trust::parse_time(s).ok())
    };
    let published = parse(&Some(req.published.clone()));
    let retrieved = parse(&req.retrieved);
    let created = parse(&req.created);
    let mut w = Vec::new();
    for (flag, t) in [
        ("--published", published),
        ("--retrieved", retrieved),
        ("--created", created),
    ] {
        if let Some(t) = t.filter(|t| *t > now) {
            w.push(format!(
                "{flag} {} is in the future",
                docseal::metadata::format_sealed(t)
            ));
        }
    }
    if let (Some(p), Some(r)) = (published, retrieved) {
        if r < p {
            w.push(format!(
                "--retrieved {} is before --published {}",
                req.retrieved.as_deref().unwrap_or_default(),
                req.published
            ));
        }
    }
    w
}
