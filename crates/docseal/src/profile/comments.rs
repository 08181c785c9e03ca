//! The comments of a bundle signature (`docs/FORMAT.md`, section 4): docseal pins both, so
//! that a signature says which bundle, when and by whom, and a verifier can demand the exact
//! text the writer produces. Sealing writes them; verification and co-signing check them.

use crate::format::minisign::{KeyId, PublicKey, SecretKey};
use crate::profile::metadata::Metadata;

/// The pinned untrusted comment of a signature by `key_id`.
pub fn untrusted_comment(key_id: KeyId) -> String {
    format!("docseal signature from key {key_id}")
}

/// Longest trusted comment docseal writes.
pub const MAX_TRUSTED_COMMENT: usize = 900;

/// The pinned trusted comment of a signature of the bundle `m` by `key`.
pub fn trusted_comment(m: &Metadata, key: &PublicKey) -> String {
    let head = format!(
        "docseal v1 bundle={} sealed={} signer={} url=",
        m.id,
        m.date_sealed,
        key.to_base64()
    );
    if head.len() + m.url.len() <= MAX_TRUSTED_COMMENT {
        return head + &m.url;
    }
    let room = MAX_TRUSTED_COMMENT.saturating_sub(head.len() + 3);
    let mut cut = room.min(m.url.len());
    while !m.url.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{head}{}...", &m.url[..cut])
}

/// The signature file of `tagmanifest` for bundle `m`, by `key`.
pub fn sign_tagmanifest(m: &Metadata, key: &SecretKey, tagmanifest: &[u8]) -> String {
    let pk = key.public_key();
    key.sign(
        tagmanifest,
        &untrusted_comment(key.key_id()),
        &trusted_comment(m, &pk),
    )
    .to_file_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_comment_is_capped() {
        let key = SecretKey::from_seed(&[1; 32], KeyId([2; 8]));
        let mut m: Metadata = serde_json::from_str(&format!(
            r#"{{"docsealFormat":1,"id":"urn:docseal:{}","@context":"https://schema.org","@type":"NewsArticle","headline":"t","author":[],"publisher":"p","datePublished":"2018-09-11","url":"https://e.com/","dateSealed":"2026-01-01T00:00:00Z","sealedWith":"docseal 0","articleFile":"data/article.txt","attachments":[]}}"#,
            "0".repeat(32)
        ))
        .unwrap();
        assert!(trusted_comment(&m, &key.public_key()).ends_with("url=https://e.com/"));
        m.url = format!("https://e.com/{}", "a".repeat(2000));
        let tc = trusted_comment(&m, &key.public_key());
        assert_eq!(tc.len(), MAX_TRUSTED_COMMENT);
        assert!(tc.ends_with("..."));
    }
}
