//! A real store with some of its requests changed, for tests: requests counted, a response
//! lost, a listing that never ends, something done right after a step. One wrapper,
//! [`Hooked`]; a test names only the requests it changes ([`Hooks`]: every other request goes
//! to the real store untouched).

use docseal::store::{Object, Page, PutIfMatch, PutNew, Result, Store, Version};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What a test changes: each method gets the real store and the request, and by default
/// passes the request on.
pub trait Hooks: Send + Sync {
    fn get(&self, inner: &dyn Store, key: &str, max: u64) -> Result<Option<Object>> {
        inner.get(key, max)
    }
    fn get_range(&self, inner: &dyn Store, key: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        inner.get_range(key, offset, len)
    }
    fn size(&self, inner: &dyn Store, key: &str) -> Result<Option<u64>> {
        inner.size(key)
    }
    fn put_new(&self, inner: &dyn Store, key: &str, bytes: &[u8]) -> Result<PutNew> {
        inner.put_new(key, bytes)
    }
    fn put_if_match(
        &self,
        inner: &dyn Store,
        key: &str,
        bytes: &[u8],
        v: &Version,
    ) -> Result<PutIfMatch> {
        inner.put_if_match(key, bytes, v)
    }
    fn put(&self, inner: &dyn Store, key: &str, bytes: &[u8]) -> Result<Version> {
        inner.put(key, bytes)
    }
    fn list(
        &self,
        inner: &dyn Store,
        prefix: &str,
        after: Option<&str>,
        max: usize,
    ) -> Result<Page> {
        inner.list(prefix, after, max)
    }
    fn delete(&self, inner: &dyn Store, key: &str) -> Result<()> {
        inner.delete(key)
    }
}

/// The store `inner` with `hooks` in front of it.
pub struct Hooked<'a, H> {
    pub inner: &'a dyn Store,
    pub hooks: H,
}

impl<'a, H: Hooks> Hooked<'a, H> {
    pub fn new(inner: &'a dyn Store, hooks: H) -> Self {
        Hooked { inner, hooks }
    }
}

impl<H> std::fmt::Debug for Hooked<'_, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hooked({})", self.inner.root())
    }
}

impl<H: Hooks> Store for Hooked<'_, H> {
    fn root(&self) -> String {
        self.inner.root()
    }
    fn get(&self, key: &str, max: u64) -> Result<Option<Object>> {
        self.hooks.get(self.inner, key, max)
    }
    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.hooks.get_range(self.inner, key, offset, len)
    }
    fn size(&self, key: &str) -> Result<Option<u64>> {
        self.hooks.size(self.inner, key)
    }
    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<PutNew> {
        self.hooks.put_new(self.inner, key, bytes)
    }
    fn put_if_match(&self, key: &str, bytes: &[u8], v: &Version) -> Result<PutIfMatch> {
        self.hooks.put_if_match(self.inner, key, bytes, v)
    }
    fn put(&self, key: &str, bytes: &[u8]) -> Result<Version> {
        self.hooks.put(self.inner, key, bytes)
    }
    fn list(&self, prefix: &str, after: Option<&str>, max: usize) -> Result<Page> {
        self.hooks.list(self.inner, prefix, after, max)
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.hooks.delete(self.inner, key)
    }
}

/// Requests counted by kind (`GET`, `HEAD`, `PUT`, `LIST`, `DELETE`), with the bytes of the
/// object bodies they read or wrote; the keys read, in order.
#[derive(Default)]
pub struct Counting {
    n: Mutex<BTreeMap<&'static str, (u64, u64)>>,
    keys: Mutex<Vec<String>>,
}

/// A store that counts the requests made through it.
pub fn counting(inner: &dyn Store) -> Hooked<'_, Counting> {
    Hooked::new(inner, Counting::default())
}

impl Counting {
    fn count(&self, kind: &'static str, key: &str, bytes: usize) {
        let mut n = self.n.lock().unwrap();
        let e = n.entry(kind).or_default();
        e.0 += 1;
        e.1 += bytes as u64;
        self.keys.lock().unwrap().push(format!("{kind} {key}"));
    }

    /// (requests, bytes) in all.
    pub fn total(&self) -> (u64, u64) {
        let n = self.n.lock().unwrap();
        n.values().fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1))
    }

    /// (requests, bytes) by kind.
    pub fn by_kind(&self) -> BTreeMap<&'static str, (u64, u64)> {
        self.n.lock().unwrap().clone()
    }

    /// Every request so far, `KIND key`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.keys.lock().unwrap().clone()
    }
}

impl Hooks for Counting {
    fn get(&self, inner: &dyn Store, key: &str, max: u64) -> Result<Option<Object>> {
        let r = inner.get(key, max);
        let len = r
            .as_ref()
            .ok()
            .and_then(|o| o.as_ref())
            .map_or(0, |o| o.bytes.len());
        self.count("GET", key, len);
        r
    }
    fn get_range(&self, inner: &dyn Store, key: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let r = inner.get_range(key, offset, len);
        self.count("GET", key, r.as_ref().map_or(0, Vec::len));
        r
    }
    fn size(&self, inner: &dyn Store, key: &str) -> Result<Option<u64>> {
        self.count("HEAD", key, 0);
        inner.size(key)
    }
    fn put_new(&self, inner: &dyn Store, key: &str, bytes: &[u8]) -> Result<PutNew> {
        self.count("PUT", key, bytes.len());
        inner.put_new(key, bytes)
    }
    fn put_if_match(
        &self,
        inner: &dyn Store,
        key: &str,
        bytes: &[u8],
        v: &Version,
    ) -> Result<PutIfMatch> {
        self.count("PUT", key, bytes.len());
        inner.put_if_match(key, bytes, v)
    }
    fn put(&self, inner: &dyn Store, key: &str, bytes: &[u8]) -> Result<Version> {
        self.count("PUT", key, bytes.len());
        inner.put(key, bytes)
    }
    fn list(
        &self,
        inner: &dyn Store,
        prefix: &str,
        after: Option<&str>,
        max: usize,
    ) -> Result<Page> {
        self.count("LIST", prefix, 0);
        inner.list(prefix, after, max)
    }
    fn delete(&self, inner: &dyn Store, key: &str) -> Result<()> {
        self.count("DELETE", key, 0);
        inner.delete(key)
    }
}
