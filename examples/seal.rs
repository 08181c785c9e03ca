//! Seal an article into a bundle with an unencrypted key:
//! `cargo run --example seal -- ARTICLE KEY.key OUT.zip URL TITLE PUBLISHER PUBLISHED`.
use docseal::{keyfile, seal, ArticleSource, Error, SealRequest};

fn main() -> Result<(), Error> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [article, key, out, url, title, publisher, published] = &a[..] else {
        return Err(Error::invalid(
            "usage",
            "ARTICLE KEY.key OUT.zip URL TITLE PUBLISHER DATE",
        ));
    };
    let no_passphrase = &mut || Err(Error::NoPassphrase { path: key.into() });
    let key = keyfile::read_secret_key(key.as_ref(), no_passphrase)?;
    let req = SealRequest::new(
        ArticleSource::Path(article.into()),
        url,
        title,
        publisher,
        published,
    );
    let sealed = seal(&req, &key, out.as_ref(), false)?;
    println!(
        "{} sealed as {} ({} bytes)",
        sealed.path.display(),
        sealed.id,
        sealed.size
    );
    Ok(())
}
