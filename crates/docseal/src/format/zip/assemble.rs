//! A raw ZIP assembler for tests: archives built from the library's own header rendering,
//! with hooks to damage any header and places to put bytes where the writer never would.
//! Shared by the reader's unit tests and the hostile-input tests (feature `test-support`).

use super::render::{render_central, render_end, render_local};
use std::collections::BTreeMap;

/// A hook: gets an entry's index (0 for the end records) and its rendered header to change.
pub type Hook<'a> = &'a dyn Fn(usize, &mut Vec<u8>);

/// Entries (name, data) to assemble, and bytes to put where the writer never would.
#[derive(Clone, Debug, Default)]
pub struct Asm {
    /// The entries in order: name bytes, data.
    pub entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Bytes before the first local header.
    pub prefix: Vec<u8>,
    /// Bytes after the data of entry i.
    pub gaps: BTreeMap<usize, Vec<u8>>,
    /// Bytes between the central directory and the end records.
    pub before_end: Vec<u8>,
    /// Bytes after the end record.
    pub trailing: Vec<u8>,
}

impl Asm {
    /// Entries given as (name, data) byte strings.
    pub fn new(entries: &[(&[u8], &[u8])]) -> Asm {
        Asm::from_entries(
            entries
                .iter()
                .map(|(n, d)| (n.to_vec(), d.to_vec()))
                .collect(),
        )
    }

    /// Entries given as owned (name, data).
    pub fn from_entries(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Asm {
        Asm {
            entries,
            ..Asm::default()
        }
    }

    /// The index of the entry named `name`; panics when there is none.
    pub fn idx(&self, name: &str) -> usize {
        self.entries
            .iter()
            .position(|(n, _)| n == name.as_bytes())
            .unwrap_or_else(|| panic!("no entry {name}"))
    }

    /// With one more entry, inserted at `at`.
    pub fn with_entry(mut self, at: usize, name: &[u8], data: &[u8]) -> Asm {
        self.entries.insert(at, (name.to_vec(), data.to_vec()));
        self
    }

    /// The archive, undamaged.
    pub fn build(&self) -> Vec<u8> {
        self.build_with(&|_, _| {}, &|_, _| {}, &|_, _| {})
    }

    /// The archive with `f` applied to every local header.
    pub fn local(&self, f: Hook<'_>) -> Vec<u8> {
        self.build_with(f, &|_, _| {}, &|_, _| {})
    }

    /// The archive with `f` applied to every central directory record.
    pub fn central(&self, f: Hook<'_>) -> Vec<u8> {
        self.build_with(&|_, _| {}, f, &|_, _| {})
    }

    /// The archive with `f` applied to every local header and central record.
    pub fn both(&self, f: Hook<'_>) -> Vec<u8> {
        self.build_with(f, f, &|_, _| {})
    }

    /// The archive with `f` applied to the end records.
    pub fn end(&self, f: Hook<'_>) -> Vec<u8> {
        self.build_with(&|_, _| {}, &|_, _| {}, f)
    }

    /// `local` and `central` get the entry index and the header; `end` gets 0 and the end
    /// records.
    pub fn build_with(&self, local: Hook<'_>, central: Hook<'_>, end: Hook<'_>) -> Vec<u8> {
        let mut out = self.prefix.clone();
        let mut cd = Vec::new();
        for (i, (name, data)) in self.entries.iter().enumerate() {
            let off = out.len() as u64;
            let (size, crc) = (data.len() as u64, crc32fast::hash(data));
            let mut h = Vec::new();
            render_local(&mut h, name, size, crc, off);
            local(i, &mut h);
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            if let Some(g) = self.gaps.get(&i) {
                out.extend_from_slice(g);
            }
            let mut c = Vec::new();
            render_central(&mut c, name, size, crc, off);
            central(i, &mut c);
            cd.extend_from_slice(&c);
        }
        let cd_off = out.len() as u64;
        out.extend_from_slice(&cd);
        out.extend_from_slice(&self.before_end);
        let mut e = Vec::new();
        render_end(&mut e, self.entries.len() as u64, cd.len() as u64, cd_off);
        end(0, &mut e);
        out.extend_from_slice(&e);
        out.extend_from_slice(&self.trailing);
        out
    }
}
