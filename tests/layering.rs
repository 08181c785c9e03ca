//! The library's layering rule (issue 13; docs/ARCHITECTURE.md), checked on its sources:
//!
//! - floors, top to bottom: `ops`, `profile`, `format`; a file may use its own floor and the
//!   floors below, never one above (`format` -> `profile`/`ops`, `profile` -> `ops`), and no
//!   floor uses what `lib.rs` itself defines;
//! - no circle between rooms (a room is a floor's module: `format/zip`, `ops/batch`, ...), and
//!   no circle between the files of a room (a file's use of its own parent `mod.rs` excepted:
//!   that is where a room keeps what its files share);
//! - the command line (`src/main.rs`, `src/cli/`) is the floor above the library: `main.rs`
//!   uses `cli`, nothing in `cli` uses `main.rs`, no circle between the files of `cli` (their
//!   use of `cli/mod.rs` excepted; a file invoking `println!` uses what the macro's body uses);
//!   the library names neither the binary nor the crates only the command line uses.
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

/// Every path in `src` that starts at `crate`, `super`, `self` or a child module the file
/// declares (`mod cli;` then `cli::main()`), made absolute (segments after `crate`), with the
/// name it is known by. The module `module` holds the source; inline modules (`mod tests {
/// ... }`) are followed, so `super` in them means the file itself.
fn paths(module: &[String], src: &str) -> Vec<Named> {
    paths_in(module, &tokens(&strip(src)))
}

/// The names of the modules `t` declares in files of their own (`mod NAME;`).
fn child_modules(t: &[Tok]) -> BTreeSet<String> {
    t.windows(3)
        .filter_map(|w| match w {
            [Tok::Ident(m), Tok::Ident(name), Tok::Other(';')] if m == "mod" => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// [`paths`] on tokens.
fn paths_in(module: &[String], t: &[Tok]) -> Vec<Named> {
    let children = child_modules(t);
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
            Tok::Ident(root) => {
                let preceded_by_sep = i > 0 && t[i - 1] == Tok::Sep;
                let mut here: Vec<String> = module.to_vec();
                here.extend(inline.iter().map(|(n, _)| n.clone()));
                let base = match root.as_str() {
                    "crate" => Some(Vec::new()),
                    "super" => {
                        here.pop();
                        Some(here)
                    }
                    "self" => Some(here),
                    child if inline.is_empty() && children.contains(child) => {
                        here.push(child.to_string());
                        Some(here)
                    }
                    _ => None,
                };
                if let Some(mut base) = base.filter(|_| !preceded_by_sep) {
                    if t.get(i + 1) == Some(&Tok::Sep) {
                        let mut j = i + 2;
                        while t.get(j) == Some(&Tok::Ident("super".into()))
                            && t.get(j + 1) == Some(&Tok::Sep)
                        {
                            base.pop();
                            j += 2;
                        }
                        for (p, alias) in tree(t, &mut j) {
                            let mut full = base.clone();
                            full.extend(p);
                            out.push((full, alias));
                        }
                        i = j;
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The `macro_rules!` macros of a file: each name with the paths its body uses (`$crate::a::b`
/// is `crate::a::b`). A file that invokes one uses what its body uses.
fn macros(module: &[String], src: &str) -> Vec<(String, Vec<Named>)> {
    let t = tokens(&strip(src));
    let mut out = Vec::new();
    for i in 0..t.len() {
        let Some([Tok::Ident(m), Tok::Other('!'), Tok::Ident(name), Tok::Open]) = t.get(i..i + 4)
        else {
            continue;
        };
        if m != "macro_rules" {
            continue;
        }
        let mut depth = 0usize;
        let body_end = (i + 3..t.len())
            .find(|&k| {
                match t[k] {
                    Tok::Open => depth += 1,
                    Tok::Close => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .unwrap_or(t.len());
        out.push((name.clone(), paths_in(module, &t[i + 4..body_end])));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The crate: files as modules, aliases, edges.
// ---------------------------------------------------------------------------------------------

/// A file's module path: `ops/batch/mod.rs` -> `[ops, batch]`, `lib.rs` and `main.rs` -> `[]`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut m: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    // A folder's `mod.rs`, the library's `lib.rs` and the binary's `main.rs` are the module
    // of their folder (the crate root for the last two).
    if m.last().is_some_and(|l| l == "mod" || l == "lib") || m == ["main"] {
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

    /// Every file's uses of other files: the paths it names, and those of the macros it
    /// invokes that are defined in its own module or an ancestor (`println!` of the command
    /// line, defined in `cli/mod.rs`, uses `cli/output`).
    fn edges(&self) -> BTreeSet<(Vec<String>, Vec<String>)> {
        let defined: Vec<(&Vec<String>, String, Vec<Named>)> = self
            .files
            .iter()
            .flat_map(|(m, src)| macros(m, src).into_iter().map(move |(n, p)| (m, n, p)))
            .collect();
        let mut e = BTreeSet::new();
        for (m, src) in &self.files {
            let t = tokens(&strip(src));
            let invoked = |name: &str| {
                t.windows(2)
                    .any(|w| matches!(w, [Tok::Ident(n), Tok::Other('!')] if n == name))
            };
            let from_macros = defined
                .iter()
                .filter(|(d, name, _)| m.starts_with(d) && invoked(name))
                .flat_map(|(_, _, p)| p.iter().cloned());
            for (p, _) in paths(m, src).into_iter().chain(from_macros) {
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
// The command line (src/main.rs, src/cli/): the floor above the library.
// ---------------------------------------------------------------------------------------------

/// Everything wrong with the binary's layering, one line each: `main.rs` is the top and uses
/// `cli`; nothing in `cli` uses `main.rs`; no circle between the files of `cli` (a file's use
/// of `cli/mod.rs`, where the exit codes and the output macros live, excepted, as a room's
/// `mod.rs` in the library).
fn cli_problems(c: &Crate) -> Vec<String> {
    let root: Vec<String> = Vec::new();
    let cli = vec!["cli".to_string()];
    let edges = c.edges();
    let mut bad = Vec::new();
    if !edges.contains(&(root.clone(), cli.clone())) {
        bad.push("main.rs does not use cli".to_string());
    }
    for (a, b) in &edges {
        if *b == root {
            bad.push(format!("upward import: {} uses main.rs", name(a)));
        }
    }
    let files: BTreeSet<Vec<String>> = c
        .files
        .keys()
        .filter(|m| m.starts_with(&cli))
        .cloned()
        .collect();
    let file_edges: BTreeSet<_> = edges
        .iter()
        .filter(|(a, b)| files.contains(a) && files.contains(b) && !a.starts_with(b))
        .cloned()
        .collect();
    for circle in circles(&files, &file_edges) {
        bad.push(format!("circle between files: {}", circle.join(" <-> ")));
    }
    bad
}

/// What the library must never name: the binary's crate and the crates only the command line
/// uses.
const CLI_ONLY: &[&str] = &[
    "docseal-cli",
    "docseal_cli",
    "clap",
    "indicatif",
    "rpassword",
    "anyhow",
];

/// The library's dependencies (every `[...dependencies]` table but `[dev-dependencies]`)
/// and Rust sources that name one of [`CLI_ONLY`].
fn library_names_the_cli(manifest: &str, sources: &Crate) -> Vec<String> {
    let mut bad = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.ends_with("dependencies]") && !line.contains("dev-dependencies");
            continue;
        }
        let key = line
            .split(['=', '.', ' '])
            .next()
            .unwrap_or("")
            .trim_matches('"');
        if in_deps && CLI_ONLY.contains(&key) {
            bad.push(format!("Cargo.toml depends on {key}"));
        }
    }
    for (m, src) in &sources.files {
        for t in tokens(&strip(src)) {
            if matches!(&t, Tok::Ident(n) if CLI_ONLY.contains(&n.as_str())) {
                bad.push(format!("{} names {t:?}", name(m)));
            }
        }
    }
    bad
}

#[test]
fn issue13_cli_sits_above_the_library_and_its_files_make_no_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let c = load(&src);
    assert!(
        c.files.len() > 10
            && c.files
                .contains_key(&vec!["cli".to_string(), "output".to_string()]),
        "found only {:?} under {}",
        c.files.keys().collect::<Vec<_>>(),
        src.display()
    );
    let bad = cli_problems(&c);
    assert!(
        bad.is_empty(),
        "the command line's layering (docs/ARCHITECTURE.md) is broken:\n  {}",
        bad.join("\n  ")
    );
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/docseal");
    let manifest = std::fs::read_to_string(lib.join("Cargo.toml")).unwrap();
    let bad = library_names_the_cli(&manifest, &load(&lib.join("src")));
    assert!(
        bad.is_empty(),
        "the library names the command line: {bad:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Library messages without the command line's words (issue 13).
// ---------------------------------------------------------------------------------------------

/// The library's files whose messages are checked: all of `format/`, `profile/` and `ops/`.
fn wording_checked(m: &[String]) -> bool {
    let s: Vec<&str> = m.iter().map(String::as_str).collect();
    matches!(s.as_slice(), ["format" | "profile" | "ops", ..])
}

/// The string literals of `src` outside comments and `#[cfg(test)]` modules.
fn literals(src: &str) -> Vec<String> {
    let c: Vec<char> = src.chars().collect();
    let bare: Vec<char> = strip(src).chars().collect();
    // `#[cfg(test)] mod NAME {...}` cut out, braces matched on the stripped text.
    let mut keep = vec![true; c.len()];
    let text: String = bare.iter().collect();
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]").map(|p| p + from) {
        from = at + 1;
        let after: String = text[at + 12..].chars().take(200).collect();
        let head = after.trim_start();
        if !head.starts_with("mod ") {
            continue;
        }
        let Some(open) = text[at..].find('{').map(|p| p + at) else {
            break;
        };
        let (mut depth, mut end) = (0usize, text.len());
        for (k, ch) in text[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = open + k + 1;
                break;
            }
        }
        // Byte offsets to char offsets (the stripped text keeps the characters' positions).
        let (a, b) = (text[..at].chars().count(), text[..end].chars().count());
        keep[a..b].iter_mut().for_each(|k| *k = false);
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if keep[i] && bare[i] == ' ' && c[i] != ' ' && !c[i].is_whitespace() {
            // Blanked: a comment or a literal; literals start with a quote, `r`, or `b`.
            let j = (i..c.len())
                .find(|&k| bare[k] != ' ' && bare[k] != '\n')
                .unwrap_or(c.len());
            let span: String = c[i..j].iter().collect();
            let t = span.trim_start();
            if !(t.starts_with("//") || t.starts_with("/*")) {
                out.push(span);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The command line's words in a message: a flag (`--force`) or a subcommand to run
/// (`docseal pack`).
fn cli_words(literal: &str) -> Vec<String> {
    const COMMANDS: &[&str] = &[
        "archive",
        "cat",
        "completions",
        "cosign",
        "diff",
        "extract",
        "history",
        "inspect",
        "key",
        "keygen",
        "man",
        "pack",
        "timestamp",
        "verify",
        "web",
    ];
    let mut found = Vec::new();
    let b = literal.as_bytes();
    for (k, _) in literal.match_indices("--") {
        let starts_word = k == 0 || !(b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'-');
        if starts_word && b.get(k + 2).is_some_and(u8::is_ascii_lowercase) {
            let flag: String = literal[k..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                .collect();
            found.push(flag);
        }
    }
    for (k, _) in literal.match_indices("docseal ") {
        let next: String = literal[k + 8..]
            .chars()
            .take_while(char::is_ascii_lowercase)
            .collect();
        if COMMANDS.contains(&next.as_str()) {
            found.push(format!("docseal {next}"));
        }
    }
    found
}

/// Every message of the checked library files that speaks the command line's language.
fn cli_wording(c: &Crate) -> Vec<String> {
    let mut bad = Vec::new();
    for (m, src) in c.files.iter().filter(|(m, _)| wording_checked(m)) {
        if m.last().is_some_and(|l| l == "tests") {
            continue;
        }
        for l in literals(src) {
            for w in cli_words(&l) {
                bad.push(format!("{}: {w} in {}", name(m), l.trim()));
            }
        }
    }
    bad
}

/// Literals that are not messages but name the command line on purpose: (file, words, why).
const WORDING_ALLOWED: &[(&str, &str, &str)] = &[
    (
        "profile/trust",
        "docseal verify",
        "the comment at the top of a trust file `key trust` writes: what the file is for",
    ),
    (
        "ops/archive/files",
        "docseal archive",
        "names the process holding the archive's lock (another docseal archive add), not a command to type",
    ),
];

#[test]
fn issue13_library_messages_name_no_flag_and_no_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/docseal/src");
    let c = load(&root);
    let all = cli_wording(&c);
    let allowed = |b: &String| {
        WORDING_ALLOWED
            .iter()
            .any(|(f, w, _)| b.starts_with(&format!("{f}: {w} in ")))
    };
    for (f, w, why) in WORDING_ALLOWED {
        assert!(
            all.iter().any(|b| b.starts_with(&format!("{f}: {w} in "))),
            "{f} no longer has {w} ({why}): remove it from WORDING_ALLOWED"
        );
    }
    let bad: Vec<&String> = all.iter().filter(|b| !allowed(b)).collect();
    assert!(
        bad.is_empty(),
        "library messages with the command line's words (the CLI adds those: \
         src/cli/advice.rs):\n  {}",
        bad.iter()
            .map(|b| b.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[test]
fn issue13_wording_check_finds_flags_and_commands_in_messages_only() {
    let c = made_up(&[
        (
            "format/dirwrite.rs",
            "//! Use --force (a comment).\n\
             fn f() -> E { E::new(\"directory is not empty (use --force)\") }\n\
             const PEM: &str = \"-----BEGIN\"; const R: &str = r#\"run \"docseal pack\" --url\"#;\n\
             const OK: &str = \"this docseal does not process it; 2--3\";\n\
             #[cfg(test)]\nmod tests { const T: &str = \"--force\"; }\n\
             fn g() -> &'static str { \"docseal verify B\" }",
        ),
        ("format/zip/tests.rs", "const A: &str = \"--max-entries\";"),
    ]);
    assert_eq!(
        cli_wording(&c),
        [
            "format/dirwrite: --force in \"directory is not empty (use --force)\"",
            "format/dirwrite: --url in r#\"run \"docseal pack\" --url\"#",
            "format/dirwrite: docseal pack in r#\"run \"docseal pack\" --url\"#",
            "format/dirwrite: docseal verify in \"docseal verify B\"",
        ]
    );
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

#[test]
fn issue13_cli_check_finds_circles_macro_uses_and_upward_imports() {
    let main = "mod cli;\nfn main() { cli::main(); }\npub fn helper() {}";
    let cli_mod = "macro_rules! say { ($($t:tt)*) => { $crate::cli::output::line(format_args!($($t)*)) }; }\n\
                   mod output; mod timestamp;\npub const EXIT: u8 = 1;\n\
                   pub fn main() { timestamp::run(); }";
    let output = "pub fn line(_: std::fmt::Arguments) {} pub fn code() -> u8 { super::EXIT }";
    let stamp = "pub fn run() { say!(\"x\"); }";
    let ok = made_up(&[
        ("main.rs", main),
        ("cli/mod.rs", cli_mod),
        ("cli/output.rs", output),
        ("cli/timestamp.rs", stamp),
    ]);
    assert!(cli_problems(&ok).is_empty(), "{:?}", cli_problems(&ok));
    // `cli::main()` in main.rs and `timestamp::run()` in cli/mod.rs are uses of child
    // modules; `say!` in cli/timestamp.rs is a use of cli/output.
    let e = ok.edges();
    let m = |p: &str| {
        p.split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect::<Vec<_>>()
    };
    for (a, b) in [
        ("", "cli"),
        ("cli", "cli/timestamp"),
        ("cli/timestamp", "cli/output"),
    ] {
        assert!(e.contains(&(m(a), m(b))), "{a} -> {b} not in {e:?}");
    }

    // A circle made only through the macro: output now calls timestamp.
    let output_round = "pub fn line(_: std::fmt::Arguments) {} fn f() { super::timestamp::run(); }";
    let round = made_up(&[
        ("main.rs", main),
        ("cli/mod.rs", cli_mod),
        ("cli/output.rs", output_round),
        ("cli/timestamp.rs", stamp),
    ]);
    assert_eq!(
        cli_problems(&round),
        ["circle between files: cli/output <-> cli/timestamp"]
    );

    // The command line reaching up into main.rs; main.rs that does not use cli.
    let up = made_up(&[
        ("main.rs", "mod cli; fn main() {} pub fn helper() {}"),
        ("cli/mod.rs", "pub fn main() { crate::helper(); }"),
    ]);
    assert_eq!(
        cli_problems(&up),
        [
            "main.rs does not use cli",
            "upward import: cli uses main.rs"
        ]
    );

    // The library naming the command line's crates, in its manifest or its code.
    let manifest = "[package]\nname = \"docseal\"\n[dependencies]\nserde = \"1\"\n\
                    clap = { version = \"4\" }\n[target.'cfg(unix)'.dependencies]\n\
                    rpassword.workspace = true\n[dev-dependencies]\nanyhow = \"1\"\n";
    let code = made_up(&[
        ("lib.rs", "pub mod format;"),
        (
            "format/zip.rs",
            "// anyhow in a comment\nfn f() -> anyhow::Result<()> { Ok(()) }",
        ),
    ]);
    assert_eq!(
        library_names_the_cli(manifest, &code),
        [
            "Cargo.toml depends on clap",
            "Cargo.toml depends on rpassword",
            "format/zip names Ident(\"anyhow\")"
        ]
    );
}
