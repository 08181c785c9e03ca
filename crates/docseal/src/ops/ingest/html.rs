//! Metadata and readable text from an HTML page, read with html5ever's HTML5 tokenizer.
//!
//! The page is tokenized as the HTML standard says (character references, comments, CDATA,
//! raw text in `<script>`, `<style>`, `<title>`, `<textarea>` ...), but no DOM tree is built:
//! everything docseal reads is in the tokens, and without a tree the work is linear in the
//! input whatever its nesting (a tree builder checks the open elements at each tag, which on
//! pages nested 100,000 deep is quadratic). What is read is capped:
//!
//! | what | cap |
//! |---|---|
//! | bytes of HTML parsed | [`MAX_HTML_BYTES`] (the rest is sealed but not read) |
//! | JSON-LD blocks | [`MAX_JSONLD_BLOCKS`], each at most [`MAX_JSONLD_BYTES`] (larger: ignored, with a note) |
//! | JSON nesting | serde_json's 128 levels (deeper: the block is ignored, with a note) |
//! | authors | [`super::MAX_AUTHORS`] (more: the first kept, with a note) |
//! | `<meta>` tags kept | [`MAX_META`] |
//! | readable text | [`MAX_TEXT_BYTES`] |
//! | attributes (or words of a comment) in one tag | about [`MAX_TAG_SEPARATORS`] (more: the rest of the page is not read, with a note) |
//! | attribute work over all tags (sum of n^2 / 2) | [`MAX_ATTR_WORK`] (more: likewise) |
//!
//! Readable text (for `docseal diff`) is a simple readability approach: the text of the
//! `<article>` elements, or of `<main>` when there is no article, or else of the whole body,
//! leaving out what is not the article's text (`script`, `style`, `nav`, `header`, `footer`,
//! `aside`, `form`, `noscript`, `template`, `svg`, `button`, `select`, `iframe`; `figure`
//! captions are kept), with a line break at each block element. A `header`, `footer` or
//! `aside` inside an `<article>` is the article's own (its headline, byline, correction
//! note): its text is kept.

use super::{dates, Found, Inferred, Source, MAX_AUTHORS};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use serde_json::Value;
use std::cell::RefCell;

/// Bytes of an HTML page that are parsed.
pub const MAX_HTML_BYTES: usize = 16 << 20;
/// JSON-LD blocks read.
pub const MAX_JSONLD_BLOCKS: usize = 16;
/// Largest JSON-LD block read.
pub const MAX_JSONLD_BYTES: usize = 1 << 20;
/// `<meta>` tags kept.
pub const MAX_META: usize = 4096;
/// Readable text kept, in bytes.
pub const MAX_TEXT_BYTES: usize = 8 << 20;
/// Elements that may stand in `<head>`.
const IN_HEAD: &[&str] = &[
    "head", "title", "meta", "link", "script", "style", "noscript", "base", "template",
];
/// Notes kept from one page.
const MAX_NOTES: usize = 32;
/// Bytes fed to the tokenizer at a time.
const FEED_CHUNK: usize = 4096;
/// Most separators (white space, `/`, quotes) in one tag or comment: bounds the attributes of
/// a tag, whose duplicate check in the tokenizer is quadratic.
pub const MAX_TAG_SEPARATORS: usize = 20_000;
/// Most work on attributes (the sum of n^2 / 2 over the tags, n attributes each) before the
/// rest of a page is left unread: many tags of almost [`MAX_TAG_SEPARATORS`] attributes.
pub const MAX_ATTR_WORK: u64 = 100_000_000;
/// Longest `<title>` or `<meta>` value kept, in bytes.
const MAX_VALUE: usize = 4096;

const SKIP: &[&str] = &[
    "script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template", "svg",
    "math", "button", "select", "iframe", "textarea", "head",
];
/// Elements of [`SKIP`] whose text is the article's own when they stand inside an
/// `<article>`: kept there.
const IN_ARTICLE: [&str; 3] = ["header", "footer", "aside"];
/// Elements whose text no reader sees (left out of the page's text).
const HIDDEN: &[&str] = &[
    "script", "style", "template", "head", "noscript", "iframe", "svg", "math",
];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "section",
    "article",
    "main",
    "tr",
    "td",
    "th",
    "table",
    "figure",
    "figcaption",
    "hr",
    "dd",
    "dt",
    "dl",
];
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// What one pass over the tokens collects.
#[derive(Default)]
struct Scan {
    /// Tokens seen.
    tokens: u64,
    /// The tokenizer's work on the attributes of the tags seen: n^2 / 2 for n attributes.
    attr_work: u64,
    /// Open elements whose text is left out, by name (counts).
    skip: Vec<(&'static str, u32)>,
    /// Depth inside `<svg>` or `<math>` (foreign content).
    foreign: u32,
    article_depth: u32,
    main_depth: u32,
    in_title: bool,
    /// The first `<title>` has ended: the text of later ones is not the page's title (as
    /// `document.title` reads only the first).
    title_closed: bool,
    title: Option<String>,
    /// The JSON-LD block being read (`None` when not in one, or it is too large).
    jsonld: Option<String>,
    in_jsonld: bool,
    jsonld_blocks: Vec<String>,
    /// (`name`, `property` or `itemprop`, lower-cased; content).
    meta: Vec<(String, String)>,
    canonical: Option<String>,
    body_text: String,
    article_text: String,
    main_text: String,
    /// All the text a reader sees on the page (every element but [`HIDDEN`] ones).
    page_text: String,
    /// `header`, `footer`, `aside` elements open inside an `<article>` whose text is kept (the
    /// article's own headline, byline, correction note), by [`IN_ARTICLE`] index.
    kept_in_article: [u32; 3],
    notes: Vec<String>,
}

struct Sink(RefCell<Scan>);

fn attr<'a>(tag: &'a Tag, name: &str) -> Option<&'a StrTendril> {
    tag.attrs
        .iter()
        .find(|a| a.name.ns.is_empty() && &*a.name.local == name)
        .map(|a| &a.value)
}

fn push_capped(buf: &mut String, s: &str, cap: usize) {
    if buf.len() >= cap {
        return;
    }
    let mut cut = (cap - buf.len()).min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    buf.push_str(&s[..cut]);
}

fn break_line(buf: &mut String) {
    if !buf.is_empty() && !buf.ends_with('\n') && buf.len() < MAX_TEXT_BYTES {
        buf.push('\n');
    }
}

impl Scan {
    /// Record a note once (at most [`MAX_NOTES`]).
    fn note(&mut self, n: String) {
        if self.notes.len() < MAX_NOTES && !self.notes.contains(&n) {
            self.notes.push(n);
        }
    }

    fn skipping(&self) -> bool {
        self.skip.iter().any(|(_, n)| *n > 0)
    }

    fn skip_count(&mut self, name: &str) -> Option<&mut u32> {
        let known = SKIP.iter().find(|s| **s == name)?;
        if let Some(i) = self.skip.iter().position(|(n, _)| n == known) {
            return Some(&mut self.skip[i].1);
        }
        self.skip.push((known, 0));
        self.skip.last_mut().map(|(_, n)| n)
    }

    fn text(&mut self, s: &str) {
        if let Some(j) = &mut self.jsonld {
            if j.len() + s.len() > MAX_JSONLD_BYTES {
                self.note(format!(
                    "a JSON-LD block is larger than {MAX_JSONLD_BYTES} bytes; ignored"
                ));
                self.jsonld = None;
            } else {
                j.push_str(s);
            }
            return;
        }
        if self.in_jsonld {
            return;
        }
        if self.in_title {
            if let Some(t) = self.title.as_mut().filter(|_| !self.title_closed) {
                push_capped(t, s, MAX_VALUE);
            }
            return;
        }
        let hidden = self
            .skip
            .iter()
            .any(|(name, n)| *n > 0 && HIDDEN.contains(name));
        if !hidden {
            push_capped(&mut self.page_text, s, MAX_TEXT_BYTES);
        }
        if self.skipping() {
            return;
        }
        push_capped(&mut self.body_text, s, MAX_TEXT_BYTES);
        if self.article_depth > 0 {
            push_capped(&mut self.article_text, s, MAX_TEXT_BYTES);
        }
        if self.main_depth > 0 {
            push_capped(&mut self.main_text, s, MAX_TEXT_BYTES);
        }
    }

    fn block(&mut self) {
        break_line(&mut self.body_text);
        break_line(&mut self.page_text);
        if self.article_depth > 0 {
            break_line(&mut self.article_text);
        }
        if self.main_depth > 0 {
            break_line(&mut self.main_text);
        }
    }

    // Longer than 80 lines: one match arm per start tag the reader takes metadata from.
    fn start(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        let void = tag.self_closing || VOID.contains(&name);
        if BLOCK.contains(&name) {
            self.block();
        }
        if self.foreign > 0 {
            if (name == "svg" || name == "math") && !void {
                self.foreign = self.foreign.saturating_add(1);
            }
            return TokenSinkResult::Continue;
        }
        let in_article = IN_ARTICLE.iter().position(|n| *n == name);
        if !void {
            match in_article {
                // The article's own header, footer or aside: its text is the article's.
                Some(i) if self.article_depth > 0 && !self.skipping() => {
                    self.kept_in_article[i] = self.kept_in_article[i].saturating_add(1);
                }
                _ => {
                    if let Some(n) = self.skip_count(name) {
                        *n = n.saturating_add(1);
                    }
                }
            }
        }
        if !IN_HEAD.contains(&name) {
            // `<body>` or any element that belongs in it ends a `<head>` left open, as the
            // tree builder would.
            if let Some(n) = self.skip_count("head") {
                *n = 0;
            }
        }
        match name {
            "svg" | "math" if !void => {
                self.foreign = 1;
            }
            "article" if !void => self.article_depth = self.article_depth.saturating_add(1),
            "main" if !void => self.main_depth = self.main_depth.saturating_add(1),
            "meta" => {
                // Microdata (`itemprop`) is not read: an itemprop=author may belong to any
                // item of the page (a related story, a comment), not to the article.
                let key = attr(tag, "property").or_else(|| attr(tag, "name"));
                if let (Some(k), Some(c)) = (key, attr(tag, "content")) {
                    if self.meta.len() < MAX_META && c.len() <= MAX_VALUE {
                        self.meta
                            .push((k.trim().to_ascii_lowercase(), c.to_string()));
                    }
                }
            }
            "link" => {
                let canonical = attr(tag, "rel").is_some_and(|r| {
                    r.split_ascii_whitespace()
                        .any(|w| w.eq_ignore_ascii_case("canonical"))
                });
                if canonical && self.canonical.is_none() {
                    if let Some(h) = attr(tag, "href").filter(|h| h.len() <= MAX_VALUE) {
                        self.canonical = Some(h.trim().to_string());
                    }
                }
            }
            "title" if !void => {
                self.in_title = true;
                if self.title.is_none() {
                    self.title = Some(String::new());
                }
                return TokenSinkResult::RawData(RawKind::Rcdata);
            }
            "textarea" if !void => return TokenSinkResult::RawData(RawKind::Rcdata),
            "script" if !void => {
                let ld = attr(tag, "type")
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json"));
                if ld {
                    self.in_jsonld = true;
                    if self.jsonld_blocks.len() < MAX_JSONLD_BLOCKS {
                        self.jsonld = Some(String::new());
                    } else {
                        self.note(format!(
                            "more than {MAX_JSONLD_BLOCKS} JSON-LD blocks; the rest ignored"
                        ));
                    }
                }
                return TokenSinkResult::RawData(RawKind::ScriptData);
            }
            "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" if !void => {
                return TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "plaintext" => return TokenSinkResult::Plaintext,
            _ => {}
        }
        TokenSinkResult::Continue
    }

    fn end(&mut self, tag: &Tag) {
        let name: &str = &tag.name;
        if BLOCK.contains(&name) {
            self.block();
        }
        if self.foreign > 0 {
            if name == "svg" || name == "math" {
                self.foreign -= 1;
            }
            if self.foreign > 0 {
                return;
            }
        }
        // A kept one opens when nothing is skipped: one of the same name skipped now was
        // opened inside it, and is the one this tag closes.
        let skipped_open = self.skip_count(name).is_some_and(|n| *n > 0);
        match IN_ARTICLE.iter().position(|n| *n == name) {
            Some(i) if !skipped_open && self.kept_in_article[i] > 0 => {
                self.kept_in_article[i] -= 1;
            }
            _ => {
                if let Some(n) = self.skip_count(name) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        match name {
            "article" => self.article_depth = self.article_depth.saturating_sub(1),
            "main" => self.main_depth = self.main_depth.saturating_sub(1),
            "title" => {
                if self.in_title && self.title.is_some() {
                    self.title_closed = true;
                }
                self.in_title = false;
            }
            "script" => {
                if let Some(j) = self.jsonld.take() {
                    self.jsonld_blocks.push(j);
                }
                self.in_jsonld = false;
            }
            _ => {}
        }
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut s = self.0.borrow_mut();
        s.tokens += 1;
        match token {
            Token::TagToken(tag) => {
                let n = tag.attrs.len() as u64;
                s.attr_work = s.attr_work.saturating_add(n * n / 2);
                match tag.kind {
                    TagKind::StartTag => return s.start(&tag),
                    TagKind::EndTag => s.end(&tag),
                }
            }
            Token::CharacterTokens(t) => s.text(&t),
            Token::EOFToken => {
                if let Some(j) = s.jsonld.take() {
                    s.jsonld_blocks.push(j);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.0.borrow().foreign > 0
    }
}

/// Decode a page's bytes: UTF-8 (a character cut at the end of what is read is dropped);
/// bytes that are not UTF-8 are read as Latin-1 (every byte one character), the usual
/// encoding of pages that are not UTF-8.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn scan(bytes: &[u8]) -> Scan {
    let mut notes = Vec::new();
    let bytes = if bytes.len() > MAX_HTML_BYTES {
        notes.push(format!(
            "only the first {MAX_HTML_BYTES} bytes of the HTML were read"
        ));
        &bytes[..MAX_HTML_BYTES]
    } else {
        bytes
    };
    let text = decode(bytes);
    let tok = Tokenizer::new(
        Sink(RefCell::new(Scan::default())),
        TokenizerOpts::default(),
    );
    let input = BufferQueue::default();
    // Fed in chunks, to bound the tokenizer's work on one tag: it compares each attribute
    // with those before it in the same tag (duplicates are dropped), so a tag with n
    // attributes costs n^2 / 2. While no token comes out, the same tag (or comment) goes on;
    // each attribute after the first needs a white space, `/` or quote before it, so counting
    // those bytes bounds the attributes. Past MAX_TAG_SEPARATORS the rest is not read.
    let (mut at, mut seps, mut seen) = (0usize, 0usize, 0u64);
    while at < text.len() {
        let mut end = (at + FEED_CHUNK).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let chunk = &text[at..end];
        let here = chunk
            .bytes()
            .filter(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'"' | b'\''))
            .count();
        if seps + here > MAX_TAG_SEPARATORS {
            notes.push(format!(
                "a tag or comment near byte {at} has more than {MAX_TAG_SEPARATORS} attributes or words; the HTML after it was not read"
            ));
            break;
        }
        if tok.sink.0.borrow().attr_work > MAX_ATTR_WORK {
            notes.push(format!(
                "the tags before byte {at} have too many attributes; the HTML after it was not read"
            ));
            break;
        }
        input.push_back(StrTendril::from(chunk));
        // A `Script` result never comes: this sink has no script handles.
        let _ = tok.feed(&input);
        let now = tok.sink.0.borrow().tokens;
        // A token came out: whatever is open now began in this chunk.
        seps = if now != seen { here } else { seps + here };
        seen = now;
        at = end;
    }
    tok.end();
    let mut s = tok.sink.0.into_inner();
    notes.append(&mut s.notes);
    s.notes = notes;
    s
}

/// Collapse white space; `None` when nothing is left, or what is left is longer than a URL
/// may be or holds a control character.
pub(crate) fn clean(s: &str) -> Option<String> {
    if s.len() > 4 * crate::profile::metadata::MAX_URL_BYTES {
        return None;
    }
    let out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()
        && out.len() <= crate::profile::metadata::MAX_URL_BYTES
        && !out.chars().any(char::is_control))
    .then_some(out)
}

/// A title, publisher or author as `pack` seals it ([`crate::format::text::check_new_text`]):
/// a value that is not is passed over, for the next source.
pub(crate) fn text_ok(s: String) -> Option<String> {
    crate::format::text::check_new_text(&s).is_ok().then_some(s)
}

/// A URL from the page, made absolute against `base` when relative; `None` when it is not an
/// http(s) URL.
fn page_url(s: &str, base: Option<&str>) -> Option<String> {
    let s = s.trim();
    if let Ok(u) = crate::profile::metadata::normalize_url(s) {
        return Some(u);
    }
    let base = url::Url::parse(base?).ok()?;
    crate::profile::metadata::normalize_url(base.join(s).ok()?.as_str()).ok()
}

const ARTICLE_TYPES: &[&str] = &[
    "NewsArticle",
    "Article",
    "ReportageNewsArticle",
    "BlogPosting",
];

fn is_article(v: &Value) -> bool {
    let t = |s: &str| {
        let s = s.strip_prefix("https://schema.org/").unwrap_or(s);
        let s = s.strip_prefix("http://schema.org/").unwrap_or(s);
        ARTICLE_TYPES.contains(&s)
    };
    match v.get("@type") {
        Some(Value::String(s)) => t(s),
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str().is_some_and(t)),
        _ => false,
    }
}

/// The nodes of a JSON-LD document: the top object or the items of a top array, and the
/// items of every `@graph` among those (one level).
fn nodes(doc: &Value) -> Vec<&Value> {
    let top: Vec<&Value> = match doc {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    let mut out = Vec::new();
    for v in top {
        out.push(v);
        if let Some(Value::Array(g)) = v.get("@graph") {
            out.extend(g.iter());
        }
    }
    out
}

/// `v`, or the node of the same document whose `@id` it names when it is only a reference.
fn resolve<'a>(v: &'a Value, all: &[&'a Value]) -> &'a Value {
    if let Value::Object(o) = v {
        if o.get("name").is_none() {
            if let Some(Value::String(id)) = o.get("@id") {
                if let Some(n) = all
                    .iter()
                    .find(|n| n.get("@id").and_then(Value::as_str) == Some(id))
                {
                    return n;
                }
            }
        }
    }
    v
}

fn name_of(v: &Value, all: &[&Value]) -> Option<String> {
    match resolve(v, all) {
        Value::String(s) => clean(s).and_then(text_ok),
        Value::Object(o) => o
            .get("name")
            .and_then(Value::as_str)
            .and_then(clean)
            .and_then(text_ok),
        Value::Array(a) => a.first().and_then(|x| name_of(x, all)),
        _ => None,
    }
}

/// The values of a JSON-LD property that may be one value or a list.
fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    }
}

/// The `@id` a reference names (`"..."` or `{"@id": "..."}`).
fn ref_id(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("@id").and_then(Value::as_str),
        _ => None,
    }
}

/// The page's main Article node among the JSON-LD blocks, with the nodes of its block (for
/// `@id` references): the one a `mainEntity` names (or holds); else the one whose `url` or
/// `mainEntityOfPage` is the page's own address (`<link rel=canonical>` or `og:url`); else
/// the first. Also a note on the choice when there are several.
fn main_article<'a>(
    docs: &'a [Value],
    page: &[String],
    base: Option<&str>,
) -> Option<(&'a Value, Vec<&'a Value>, Option<String>)> {
    let per_doc: Vec<Vec<&Value>> = docs.iter().map(nodes).collect();
    // (block, node, named by a mainEntity)
    let mut cands: Vec<(usize, &Value, bool)> = Vec::new();
    let mut main_ids: Vec<&str> = Vec::new();
    for (d, all) in per_doc.iter().enumerate() {
        for n in all {
            if is_article(n) {
                cands.push((d, n, false));
            }
            for m in n.get("mainEntity").map(one_or_many).unwrap_or_default() {
                if is_article(m) {
                    cands.push((d, m, true));
                } else if let Some(id) = ref_id(m) {
                    main_ids.push(id);
                }
            }
        }
    }
    let named = |n: &Value| {
        n.get("@id")
            .and_then(Value::as_str)
            .is_some_and(|id| main_ids.contains(&id))
    };
    let at_page = |n: &Value| {
        let mut urls = Vec::new();
        if let Some(u) = n.get("url").and_then(Value::as_str) {
            urls.push(u);
        }
        if let Some(u) = n.get("mainEntityOfPage").and_then(ref_id) {
            urls.push(u);
        }
        urls.iter()
            .filter_map(|u| page_url(u, base))
            .any(|u| page.contains(&u))
    };
    let (pick, why) = if let Some(c) = cands.iter().find(|(_, n, m)| *m || named(n)) {
        (c, "the one a mainEntity names")
    } else if let Some(c) = cands.iter().find(|(_, n, _)| at_page(n)) {
        (c, "the one whose url is the page's canonical or og:url")
    } else {
        (cands.first()?, "the first")
    };
    let distinct = cands
        .iter()
        .filter(|(_, n, _)| !std::ptr::eq(*n, pick.1))
        .count();
    let note = (distinct > 0).then(|| {
        format!(
            "{} JSON-LD Article nodes; every JSON-LD field is read from {why}",
            distinct + 1
        )
    });
    Some((pick.1, per_doc[pick.0].clone(), note))
}

/// The JSON-LD fields, every one from the page's main Article node only ([`main_article`]).
fn json_ld(s: &Scan, base: Option<&str>, out: &mut Inferred) {
    let mut docs = Vec::new();
    for (i, block) in s.jsonld_blocks.iter().enumerate() {
        match serde_json::from_str::<Value>(block.trim()) {
            Ok(v) => docs.push(v),
            Err(e) => out.notes.push(format!(
                "JSON-LD block {} is not valid JSON ({e}); ignored",
                i + 1
            )),
        }
    }
    let page: Vec<String> = [s.canonical.clone(), first_meta(s, "og:url")]
        .into_iter()
        .flatten()
        .filter_map(|u| page_url(&u, base))
        .collect();
    let Some((art, all, note)) = main_article(&docs, &page, base) else {
        return;
    };
    out.notes.extend(note);
    {
        let text = |k: &str| art.get(k).and_then(Value::as_str).and_then(clean);
        let title = text("headline")
            .and_then(text_ok)
            .or_else(|| text("name").and_then(text_ok));
        let url = text("url")
            .or_else(|| match art.get("mainEntityOfPage") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(o)) => o.get("@id").and_then(Value::as_str).map(String::from),
                _ => None,
            })
            .and_then(|u| page_url(&u, base));
        let publisher = art.get("publisher").and_then(|p| name_of(p, &all));
        let published = match text("datePublished") {
            Some(d) => {
                let n = dates::normalize(&d);
                if n.is_none() {
                    out.notes.push(format!(
                        "JSON-LD datePublished {d:?} is not a date docseal reads; ignored"
                    ));
                }
                n
            }
            None => None,
        };
        let authors = match art.get("author") {
            Some(Value::Array(a)) => {
                if a.len() > MAX_AUTHORS {
                    out.notes.push(format!(
                        "JSON-LD lists {} authors; the first {MAX_AUTHORS} kept",
                        a.len()
                    ));
                }
                a.iter()
                    .take(MAX_AUTHORS)
                    .filter_map(|x| name_of(x, &all))
                    .collect()
            }
            Some(v) => name_of(v, &all).into_iter().collect(),
            None => Vec::new(),
        };
        let f = |v: Option<String>| v.map(|v| Found::new(v, Source::JsonLd));
        out.title = out.title.take().or(f(title));
        out.url = out.url.take().or(f(url));
        out.publisher = out.publisher.take().or(f(publisher));
        out.published = out.published.take().or(f(published));
        if out.authors.is_none() && !authors.is_empty() {
            out.authors = Some(Found::new(authors, Source::JsonLd));
        }
    }
}

fn meta_values<'a>(s: &'a Scan, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    s.meta
        .iter()
        .filter(move |(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn first_meta(s: &Scan, key: &str) -> Option<String> {
    meta_values(s, key).find_map(clean)
}

fn authors_from_meta(s: &Scan, key: &str, notes: &mut Vec<String>) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for a in meta_values(s, key).filter_map(clean).filter_map(text_ok) {
        if crate::profile::metadata::normalize_url(&a).is_ok() {
            // A profile page's address, not a name.
            if notes.len() < MAX_NOTES {
                notes.push(format!("<meta {key}> {a:?} is a URL, not a name; ignored"));
            }
            continue;
        }
        if v.len() == MAX_AUTHORS {
            notes.push(format!(
                "more than {MAX_AUTHORS} <meta {key}>; the first kept"
            ));
            break;
        }
        if !v.contains(&a) {
            v.push(a);
        }
    }
    v
}

fn fill(slot: &mut Option<Found<String>>, v: Option<String>, src: Source) {
    if slot.is_none() {
        *slot = v.map(|v| Found::new(v, src));
    }
}

fn date_meta(s: &Scan, key: &str, notes: &mut Vec<String>) -> Option<String> {
    let d = first_meta(s, key)?;
    let n = dates::normalize(&d);
    if n.is_none() {
        notes.push(format!(
            "<meta {key}> {d:?} is not a date docseal reads; ignored"
        ));
    }
    n
}

/// Read the metadata of an HTML page into `out` (fields already found are kept): JSON-LD,
/// then OpenGraph, then `<meta>`, `<link rel=canonical>` and `<title>`. Relative URLs are
/// resolved against `base` when there is one (the WARC record's target URI).
pub fn read(bytes: &[u8], base: Option<&str>, out: &mut Inferred) {
    let s = scan(bytes);
    out.notes.extend(s.notes.iter().cloned());
    json_ld(&s, base, out);
    // OpenGraph.
    let mut notes = Vec::new();
    fill(
        &mut out.title,
        first_meta(&s, "og:title").and_then(text_ok),
        Source::OpenGraph,
    );
    fill(
        &mut out.url,
        first_meta(&s, "og:url").and_then(|u| page_url(&u, base)),
        Source::OpenGraph,
    );
    fill(
        &mut out.publisher,
        first_meta(&s, "og:site_name").and_then(text_ok),
        Source::OpenGraph,
    );
    fill(
        &mut out.published,
        date_meta(&s, "article:published_time", &mut notes),
        Source::OpenGraph,
    );
    if out.authors.is_none() {
        let a = authors_from_meta(&s, "article:author", &mut notes);
        if !a.is_empty() {
            out.authors = Some(Found::new(a, Source::OpenGraph));
        }
    }
    // <meta name=author|date>, <link rel=canonical>, <title>.
    fill(
        &mut out.published,
        date_meta(&s, "date", &mut notes),
        Source::Meta,
    );
    if out.authors.is_none() {
        let a = authors_from_meta(&s, "author", &mut notes);
        if !a.is_empty() {
            out.authors = Some(Found::new(a, Source::Meta));
        }
    }
    fill(
        &mut out.url,
        s.canonical.as_deref().and_then(|u| page_url(u, base)),
        Source::Meta,
    );
    fill(
        &mut out.title,
        s.title.as_deref().and_then(clean).and_then(text_ok),
        Source::Meta,
    );
    out.notes.append(&mut notes);
}

/// All the text a reader sees on an HTML page: the readable text and the rest (navigation,
/// the site's header and footer, forms), without scripts, styles and the like.
pub fn page_text(bytes: &[u8]) -> String {
    scan(bytes).page_text
}

/// The readable text of an HTML page (see the module's documentation), with the notes
/// about what was capped.
pub fn readable_text(bytes: &[u8]) -> (String, Vec<String>) {
    let s = scan(bytes);
    let words = |t: &str| t.split_whitespace().count();
    let body = words(&s.body_text);
    // The article element when it holds the page's text (not a teaser box), else <main>.
    let text = if words(&s.article_text) * 4 >= body && !s.article_text.trim().is_empty() {
        s.article_text
    } else if words(&s.main_text) * 4 >= body && !s.main_text.trim().is_empty() {
        s.main_text
    } else {
        s.body_text
    };
    let mut notes = s.notes;
    if text.len() >= MAX_TEXT_BYTES {
        notes.push(format!(
            "only the first {MAX_TEXT_BYTES} bytes of readable text were compared"
        ));
    }
    (text, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(html: &str) -> Inferred {
        let mut i = Inferred::default();
        read(html.as_bytes(), None, &mut i);
        i
    }

    #[test]
    fn issue16_jsonld_author_shapes() {
        let page = |author: &str| {
            format!(
                r#"<script type="application/ld+json">{{"@type":"NewsArticle","headline":"H","author":{author}}}</script>"#
            )
        };
        let a = |i: Inferred| i.authors.map(|a| a.value).unwrap_or_default();
        assert_eq!(a(infer(&page(r#""Ann""#))), ["Ann"]);
        assert_eq!(
            a(infer(&page(r#"{"@type":"Person","name":"Ann"}"#))),
            ["Ann"]
        );
        assert_eq!(
            a(infer(&page(r#"[{"name":"Ann"},"Bob",{"x":1}]"#))),
            ["Ann", "Bob"]
        );
    }

    #[test]
    fn issue16_unusable_value_falls_to_next_source() {
        // A headline longer than metadata.json takes: og:title instead; an author name with
        // a control character is passed over.
        let i = infer(&format!(
            r#"<script type="application/ld+json">{{"@type":"Article","headline":"{}","author":["A\u0007B","Ann"]}}</script>
            <meta property="og:title" content="Short">"#,
            "x".repeat(2000)
        ));
        assert_eq!(
            i.title.unwrap(),
            Found::new("Short".into(), Source::OpenGraph)
        );
        assert_eq!(i.authors.unwrap().value, ["Ann"]);
    }

    #[test]
    fn issue16_jsonld_types_and_shapes() {
        let title = |doc: &str| {
            infer(&format!(
                r#"<script type="application/ld+json">{doc}</script>"#
            ))
            .title
            .map(|t| t.value)
        };
        for t in [
            "NewsArticle",
            "Article",
            "ReportageNewsArticle",
            "BlogPosting",
        ] {
            assert_eq!(
                title(&format!(r#"{{"@type":"{t}","headline":"H"}}"#)).as_deref(),
                Some("H"),
                "{t}"
            );
        }
        assert_eq!(
            title(r#"{"@type":["WebPage","https://schema.org/NewsArticle"],"headline":"H"}"#)
                .as_deref(),
            Some("H")
        );
        assert_eq!(
            title(r#"[{"@type":"Person","name":"P"},{"@type":"BlogPosting","name":"N"}]"#)
                .as_deref(),
            Some("N")
        );
        assert_eq!(
            title(
                r#"{"@graph":[{"@type":"WebSite","name":"S"},{"@type":"Article","headline":"G"}]}"#
            )
            .as_deref(),
            Some("G")
        );
        assert_eq!(title(r#"{"@type":"Recipe","headline":"R"}"#), None);
    }

    #[test]
    fn issue16_script_text_is_not_markup() {
        // A "</title>" or a tag inside a script is script text, not markup; a <title> in SVG
        // is not the page's title.
        let i = infer(
            r#"<head><script>var s = "<title>no</title>";</script><title>Yes &amp; yes</title></head>
            <body><svg><title>not this</title></svg></body>"#,
        );
        assert_eq!(i.title.unwrap().value, "Yes & yes");
    }

    #[test]
    fn issue16_readable_text_when_head_is_left_open() {
        let (t, _) = readable_text(b"<html><head><title>T</title><p>Body text");
        assert_eq!(t.trim(), "Body text");
    }

    #[test]
    fn issue16_readable_text_prefers_article() {
        let (t, _) = readable_text(
            b"<body><nav>Home News</nav><article><h1>T</h1><p>One two</p><p>three</p></article>\
              <footer>(c)</footer><script>x()</script></body>",
        );
        assert_eq!(
            t.split_whitespace().collect::<Vec<_>>(),
            ["T", "One", "two", "three"]
        );
    }
}
