//! The library's layering rule (issue 13; docs/ARCHITECTURE.md), checked on its sources:
//!
//! - floors, top to bottom: `ops`, `profile`, `format`; a file may use its own floor and the
//!   floors below, never one above (`format` -> `profile`/`ops`, `profile` -> `ops`), and no
//!   floor uses what `lib.rs` itself defines;
//! - no circle between rooms (a room is a floor's module: `format/zip`, `ops/batch`, ...), and
//!   no circle between the files of a room (a file's use of its own parent `mod.rs` excepted:
//!   that is where a room keeps what its files share).
//!
//! The sources are read as tokens, with comments and string literals removed, so that a
//! path in documentation or in a message is not an import. Paths are resolved through the
//! `pub use` aliases of `lib.rs` (`crate::verify` is `crate::ops::verify`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Edges that break the rule today, each with its owner and its fix. The test fails when one
/// no longer occurs, so that the list only shrinks.
/// Empty since issue 13's last item: `ops/timestamp/evidence` no longer uses `ops/verify`
/// (`ArchivedCopy` moved down to it, `note` returns its line instead of writing a `Report`).
const KNOWN: &[(&str, &str, &str)] = &[];

// ---------------------------------------------------------------------------------------------
// Lexing: the source without comments, strings and character literals.
// ---------------------------------------------------------------------------------------------

/// `src` with every comment, string, byte string, raw string and character literal replaced
/// by spaces (line breaks kept); lifetimes are kept.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let blank = |out: &mut String, s: &[char]| {
        for &ch in s {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
    };
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && ident(c[i - 1]);
        let end = if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            c[i..]
                .iter()
                .position(|&x| x == '\n')
                .map_or(c.len(), |p| i + p)
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            block_comment_end(&c, i)
        } else if !prev_ident && (c[i] == 'r' || (c[i] == 'b' && c.get(i + 1) == Some(&'r'))) {
            raw_string_end(&c, i).unwrap_or(i)
        } else if c[i] == '"' || (!prev_ident && c[i] == 'b' && c.get(i + 1) == Some(&'"')) {
            string_end(&c, if c[i] == 'b' { i + 1 } else { i })
        } else if c[i] == '\'' {
            char_literal_end(&c, i).unwrap_or(i)
        } else {
            i
        };
        if end > i {
            blank(&mut out, &c[i..end]);
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The end of the (nested) block comment starting at `i`.
fn block_comment_end(c: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    c.len()
}

/// The end of the raw string (`r"..."`, `r#"..."#`, `br"..."`) starting at `i`, if it is one.
fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let mut j = if c[i] == 'b' { i + 2 } else { i + 1 };
    let mut hashes = 0;
    while c.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if c.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < c.len() {
        if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(c.len())
}

/// The end of the string starting with the quote at `i`.
fn string_end(c: &[char], mut i: usize) -> usize {
    i += 1;
    while i < c.len() {
        match c[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    c.len()
}

/// The end of the character literal starting at `i`; `None` for a lifetime or a label.
fn char_literal_end(c: &[char], i: usize) -> Option<usize> {
    match c.get(i + 1)? {
        '\\' => {
            let close = c[i + 2..].iter().position(|&x| x == '\'')?;
            Some(i + 2 + close + 1)
        }
        _ if c.get(i + 2) == Some(&'\'') => Some(i + 3),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Paths: every `crate::`, `super::` and `self::` path, use trees expanded.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Sep,
    Open,
    Close,
    Comma,
    Star,
    Other(char),
}

fn tokens(s: &str) -> Vec<Tok> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
            continue;
        }
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::Sep);
            i += 2;
            continue;
        }
        out.push(match ch {
            '{' => Tok::Open,
            '}' => Tok::Close,
            ',' => Tok::Comma,
            '*' => Tok::Star,
            other => Tok::Other(other),
        });
        i += 1;
    }
    out
}

/// A path with the name it is known by (its last segment, or its `as` alias).
type Named = (Vec<String>, Option<String>);

/// Parse a use tree (or the rest of an expression path) at `t[*i]`.
fn tree(t: &[Tok], i: &mut usize) -> Vec<Named> {
    match t.get(*i) {
        Some(Tok::Ident(name)) => {
            *i += 1;
            if t.get(*i) == Some(&Tok::Sep)
                && matches!(t.get(*i + 1), Some(Tok::Ident(_) | Tok::Open | Tok::Star))
            {
                *i += 1;
                let mut sub = tree(t, i);
                for (p, _) in &mut sub {
                    p.insert(0, name.clone());
                }
                return sub;
            }
            let mut alias = None;
            if t.get(*i) == Some(&Tok::Ident("as".into())) {
                if let Some(Tok::Ident(a)) = t.get(*i + 1) {
                    alias = Some(a.clone());
                    *i += 2;
                }
            }
            vec![(vec![name.clone()], alias)]
        }
        Some(Tok::Open) => {
            *i += 1;
            let mut all = Vec::new();
            while *i < t.len() && t[*i] != Tok::Close {
                if t[*i] == Tok::Comma {
                    *i += 1;
                    continue;
                }
                let before = *i;
                all.extend(tree(t, i));
                if *i == before {
                    *i += 1;
                }
            }
            *i += 1;
            all
        }
        Some(Tok::Star) => {
            *i += 1;
            vec![(Vec::new(), None)]
        }
        _ => Vec::new(),
    }
}

/// Every path in `src` that starts at `crate`, `super` or `self`, made absolute (segments
/// after `crate`), with the name it is known by. The module `module` holds the source; inline
/// modules (`mod tests { ... }`) are followed, so `super` in them means the file itself.
fn paths(module: &[String], src: &str) -> Vec<Named> {
    let t = tokens(&strip(src));
    let mut out = Vec::new();
    // Inline modules open: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < t.len() {
        match &t[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(m) if m == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) = (t.get(i + 1), t.get(i + 2)) {
                    inline.push((name.clone(), depth + 1));
                }
            }
            Tok::Ident(root) if ["crate", "super", "self"].contains(&root.as_str()) => {
                let preceded_by_sep = i > 0 && t[i - 1] == Tok::Sep;
                if !preceded_by_sep && t.get(i + 1) == Some(&Tok::Sep) {
                    let mut here: Vec<String> = module.to_vec();
                    here.extend(inline.iter().map(|(n, _)| n.clone()));
                    let mut base = match root.as_str() {
                        "crate" => Vec::new(),
                        "super" => {
                            here.pop();
                            here
                        }
                        _ => here,
                    };
                    let mut j = i + 2;
                    while t.get(j) == Some(&Tok::Ident("super".into()))
                        && t.get(j + 1) == Some(&Tok::Sep)
                    {
                        base.pop();
                        j += 2;
                    }
                    for (p, alias) in tree(&t, &mut j) {
                        let mut full = base.clone();
                        full.extend(p);
                        out.push((full, alias));
                    }
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The crate: files as modules, aliases, edges.
// ---------------------------------------------------------------------------------------------

/// A file's module path: `ops/batch/mod.rs` -> `[ops, batch]`, `lib.rs` -> `[]`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut m: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if m.last().is_some_and(|l| l == "mod" || l == "lib") {
        m.pop();
    }
    m
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

struct Crate {
    /// Module path -> source.
    files: BTreeMap<Vec<String>, String>,
    /// Names `lib.rs` makes (`pub use`), to what they are.
    aliases: BTreeMap<String, Vec<String>>,
}

impl Crate {
    fn new(files: BTreeMap<Vec<String>, String>) -> Crate {
        let mut aliases = BTreeMap::new();
        if let Some(lib) = files.get(&Vec::new()) {
            // `pub use a::b::{c as d}` in lib.rs: relative to the crate root.
            let t = tokens(&strip(lib));
            let mut i = 0;
            while i < t.len() {
                if t[i] == Tok::Ident("use".into()) {
                    i += 1;
                    for (p, alias) in tree(&t, &mut i) {
                        let p: Vec<String> = p.into_iter().skip_while(|s| s == "crate").collect();
                        if let Some(name) = alias.or_else(|| p.last().cloned()) {
                            if !p.is_empty() {
                                aliases.insert(name, p);
                            }
                        }
                    }
                } else {
                    i += 1;
                }
            }
        }
        Crate { files, aliases }
    }

    /// The file a path leads into: its longest prefix that is a file's module, after the
    /// aliases of `lib.rs` are followed.
    fn resolve(&self, path: &[String]) -> Vec<String> {
        let mut p = path.to_vec();
        for _ in 0..8 {
            match p.first().and_then(|f| self.aliases.get(f)) {
                Some(target) if !self.files.contains_key(&p[..1]) => {
                    let mut q = target.clone();
                    q.extend(p[1..].iter().cloned());
                    p = q;
                }
                _ => break,
            }
        }
        (0..=p.len())
            .rev()
            .map(|n| p[..n].to_vec())
            .find(|m| self.files.contains_key(m))
            .unwrap_or_default()
    }

    /// Every file's uses of other files.
    fn edges(&self) -> BTreeSet<(Vec<String>, Vec<String>)> {
        let mut e = BTreeSet::new();
        for (m, src) in &self.files {
            for (p, _) in paths(m, src) {
                let to = self.resolve(&p);
                if to != *m {
                    e.insert((m.clone(), to));
                }
            }
        }
        e
    }
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "lib".into()
    } else {
        m.join("/")
    }
}

/// A module's floor: 0 format, 1 profile, 2 ops, 3 the crate root.
fn floor(m: &[String]) -> usize {
    match m.first().map(String::as_str) {
        Some("format") => 0,
        Some("profile") => 1,
        Some("ops") => 2,
        _ => 3,
    }
}

fn room(m: &[String]) -> Vec<String> {
    m.iter().take(2).cloned().collect()
}

/// The circles of a graph: its strongly connected components of more than one node.
fn circles(
    nodes: &BTreeSet<Vec<String>>,
    edges: &BTreeSet<(Vec<String>, Vec<String>)>,
) -> Vec<Vec<String>> {
    // Reachability by repeated search: the graphs are small (tens of nodes).
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for (_, b) in edges.iter().filter(|(a, _)| *a == n) {
                if seen.insert(b.clone()) {
                    stack.push(b.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<_, _> = nodes.iter().map(|n| (n.clone(), reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in nodes {
        if done.contains(n) || !reach[n].contains(n) {
            continue;
        }
        let comp: Vec<String> = nodes
            .iter()
            .filter(|m| reach[n].contains(*m) && reach[*m].contains(n))
            .inspect(|m| {
                done.insert((*m).clone());
            })
            .map(|m| name(m))
            .collect();
        out.push(comp);
    }
    out
}

/// Everything wrong with a crate's layering, one line each; `known` edges (by name) are left
/// out of the checks and returned separately when they occur.
fn problems(c: &Crate, known: &[(&str, &str)]) -> (Vec<String>, BTreeSet<(String, String)>) {
    let mut bad = Vec::new();
    let mut seen_known = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for (a, b) in c.edges() {
        let pair = (name(&a), name(&b));
        if known.iter().any(|(x, y)| *x == pair.0 && *y == pair.1) {
            seen_known.insert(pair);
            continue;
        }
        if floor(&a) < 3 && floor(&b) > floor(&a) {
            bad.push(format!("upward import: {} uses {}", pair.0, pair.1));
        }
        edges.insert((a, b));
    }
    // Circles between rooms.
    let rooms: BTreeSet<Vec<String>> = c.files.keys().map(|m| room(m)).collect();
    let room_edges: BTreeSet<_> = edges
        .iter()
        .map(|(a, b)| (room(a), room(b)))
        .filter(|(a, b)| a != b && !a.is_empty() && !b.is_empty())
        .collect();
    for circle in circles(&rooms, &room_edges) {
        bad.push(format!("circle between rooms: {}", circle.join(" <-> ")));
    }
    // Circles between the files of a room, a file's use of its ancestors excepted.
    let files: BTreeSet<Vec<String>> = c.files.keys().cloned().collect();
    let file_edges: BTreeSet<_> = edges
        .iter()
        .filter(|(a, b)| room(a) == room(b) && !a.starts_with(b))
        .cloned()
        .collect();
    for circle in circles(&files, &file_edges) {
        bad.push(format!("circle between files: {}", circle.join(" <-> ")));
    }
    (bad, seen_known)
}

fn load(root: &Path) -> Crate {
    let mut list = Vec::new();
    rust_files(root, &mut list);
    let files = list
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap();
            (module_of(rel), std::fs::read_to_string(p).unwrap())
        })
        .collect();
    Crate::new(files)
}

#[test]
fn issue13_library_imports_run_only_downward_and_in_no_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/docseal/src");
    let c = load(&root);
    assert!(
        c.files.len() > 40,
        "found only {} files under {}",
        c.files.len(),
        root.display()
    );
    let known: Vec<(&str, &str)> = KNOWN.iter().map(|(a, b, _)| (*a, *b)).collect();
    let (bad, seen) = problems(&c, &known);
    assert!(
        bad.is_empty(),
        "the layering rule (docs/ARCHITECTURE.md) is broken:\n  {}",
        bad.join("\n  ")
    );
    for (a, b, why) in KNOWN {
        assert!(
            seen.contains(&(a.to_string(), b.to_string())),
            "{a} no longer uses {b} ({why}): remove it from KNOWN in tests/layering.rs"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The checker checked, on small made-up crates.
// ---------------------------------------------------------------------------------------------

fn made_up(files: &[(&str, &str)]) -> Crate {
    Crate::new(
        files
            .iter()
            .map(|(p, s)| (module_of(Path::new(p)), s.to_string()))
            .collect(),
    )
}

const LIB: &str = "pub mod format; pub mod profile; pub mod ops;\n\
                   pub use ops::{seal, verify as check};\npub use format::zip as zipfmt;";

#[test]
fn issue13_layering_check_finds_upward_imports_and_circles() {
    let ok = made_up(&[
        ("lib.rs", LIB),
        ("format/mod.rs", "pub mod zip; pub mod text;"),
        (
            "format/zip.rs",
            "use crate::format::text::hex; use super::text;",
        ),
        ("format/text.rs", "pub fn hex() {}"),
        ("profile/mod.rs", "pub mod meta;"),
        (
            "profile/meta.rs",
            "use crate::format::{zip::{self, Entry}, text};",
        ),
        ("ops/mod.rs", "pub mod seal; pub mod verify;"),
        (
            "ops/seal.rs",
            "use crate::profile::meta; use crate::check::Report;",
        ),
        (
            "ops/verify.rs",
            "pub struct Report; fn f() { crate::zipfmt::read(); }",
        ),
    ]);
    let (bad, _) = problems(&ok, &[]);
    assert!(bad.is_empty(), "{bad:?}");

    // An upward import, through a grouped use and through a lib.rs alias.
    let up = made_up(&[
        ("lib.rs", LIB),
        (
            "format/zip.rs",
            "use crate::{format::text, profile::meta::X};",
        ),
        (
            "format/text.rs",
            "fn f() -> crate::seal::Sealed { todo!() }",
        ),
        ("profile/meta.rs", ""),
        ("ops/seal.rs", ""),
    ]);
    let (bad, _) = problems(&up, &[]);
    assert_eq!(
        bad,
        [
            "upward import: format/text uses ops/seal",
            "upward import: format/zip uses profile/meta"
        ]
    );
    // Known edges are left out and reported as seen.
    let (bad, seen) = problems(
        &up,
        &[("format/zip", "profile/meta"), ("format/text", "ops/seal")],
    );
    assert!(bad.is_empty() && seen.len() == 2, "{bad:?} {seen:?}");

    // A circle between rooms, and one between the files of a room; a file's use of its own
    // mod.rs is no circle.
    let round = made_up(&[
        ("lib.rs", LIB),
        ("ops/seal.rs", "use crate::ops::verify::Report;"),
        ("ops/verify.rs", "fn f() { crate::ops::seal::seal(); }"),
        (
            "ops/batch/mod.rs",
            "mod a; mod b; fn shared() {} fn g() { self::a::x(); }",
        ),
        ("ops/batch/a.rs", "use super::b::y; use super::shared;"),
        ("ops/batch/b.rs", "use super::a::x;"),
    ]);
    let (bad, _) = problems(&round, &[]);
    assert_eq!(
        bad,
        [
            "circle between rooms: ops/seal <-> ops/verify",
            "circle between files: ops/batch/a <-> ops/batch/b"
        ]
    );
}

#[test]
fn issue13_layering_check_ignores_comments_strings_and_follows_inline_modules() {
    let c = made_up(&[
        ("lib.rs", LIB),
        (
            "format/zip.rs",
            "//! See [`crate::ops::seal`].\n/* crate::profile::meta /* nested */ crate::ops */\n\
             const A: &str = \"crate::ops::seal\"; const B: &str = r#\"crate::ops::\"seal\"#;\n\
             const C: char = '\"'; fn f<'a>(x: &'a str) -> &'a str { x }\n\
             #[cfg(test)] mod tests { use super::*; use super::super::text; }",
        ),
        ("format/text.rs", ""),
        ("profile/meta.rs", ""),
        ("ops/seal.rs", ""),
    ]);
    let (bad, _) = problems(&c, &[]);
    assert!(bad.is_empty(), "{bad:?}");
    let e = c.edges();
    let zip = vec!["format".to_string(), "zip".to_string()];
    let text = vec!["format".to_string(), "text".to_string()];
    assert!(e.contains(&(zip.clone(), text)), "{e:?}");
    assert_eq!(e.iter().filter(|(a, _)| *a == zip).count(), 1, "{e:?}");
}
