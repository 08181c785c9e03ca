//! docseal's verifier in the browser: the bindings that the page `docseal web` writes calls
//! (compiled to `wasm32-unknown-unknown` with wasm-bindgen). Verification is the library's own
//! ([`docseal::verify::verify_reader`]), on bytes in memory or on a file read in slices through
//! a JavaScript callback; this crate only adds what a page needs around it: the keys pinned in
//! the page and those added by hand, a verdict in words, and where each verified file lies in
//! the bundle (for downloads after a pass).

#![forbid(unsafe_code)]

pub mod session;

pub use session::{keys, run, Outcome};

#[cfg(target_arch = "wasm32")]
mod bindings {
    use std::io::{Read, Seek, SeekFrom};
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// Fill `buf` with the bundle's bytes from `offset` on; returns how many it wrote.
        #[wasm_bindgen(js_name = docsealRead)]
        fn js_read(offset: f64, buf: &mut [u8]) -> f64;
        /// Progress: `done` of `total` bytes read.
        #[wasm_bindgen(js_name = docsealProgress)]
        fn js_progress(done: f64, total: f64);
    }

    /// Bytes read from JavaScript at a time (one `File.slice`).
    const CHUNK: usize = 1 << 20;

    /// A bundle file read through `docsealRead`, one chunk at a time: memory stays at one
    /// chunk whatever the file's size.
    struct JsFile {
        len: u64,
        pos: u64,
        buf: Vec<u8>,
        /// Offset of `buf[0]` in the file.
        start: u64,
    }

    impl JsFile {
        fn fetch(&mut self, at: u64, out: &mut [u8]) -> std::io::Result<usize> {
            let want = out.len().min((self.len - at).min(CHUNK as u64) as usize);
            let got = js_read(at as f64, &mut out[..want]);
            if !(0.0..=want as f64).contains(&got) {
                return Err(std::io::Error::other("the browser could not read the file"));
            }
            js_progress((at + got as u64) as f64, self.len as f64);
            Ok(got as usize)
        }
    }

    impl Read for JsFile {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pos >= self.len || out.is_empty() {
                return Ok(0);
            }
            let in_buf = self.pos >= self.start && self.pos < self.start + self.buf.len() as u64;
            if !in_buf {
                if out.len() >= CHUNK {
                    let n = self.fetch(self.pos, out)?;
                    self.pos += n as u64;
                    return Ok(n);
                }
                let mut buf = std::mem::take(&mut self.buf);
                buf.resize(CHUNK, 0);
                let n = self.fetch(self.pos, &mut buf)?;
                buf.truncate(n);
                self.buf = buf;
                self.start = self.pos;
                if n == 0 {
                    return Ok(0);
                }
            }
            let from = (self.pos - self.start) as usize;
            let n = out.len().min(self.buf.len() - from);
            out[..n].copy_from_slice(&self.buf[from..from + n]);
            self.pos += n as u64;
            Ok(n)
        }
    }

    impl Seek for JsFile {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            let base = match to {
                SeekFrom::Start(n) => Some(n),
                SeekFrom::End(d) => self.len.checked_add_signed(d),
                SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            };
            self.pos = base.ok_or_else(|| std::io::Error::other("seek before the start"))?;
            Ok(self.pos)
        }
    }

    /// Verify a bundle held in memory. `config`: the page's pinned keys and the keys added by
    /// hand (JSON, [`super::session::Config`]). Returns the outcome as JSON.
    #[wasm_bindgen(js_name = verifyBytes)]
    pub fn verify_bytes(bytes: &[u8], label: &str, config: &str) -> Result<String, JsError> {
        let mut c = std::io::Cursor::new(bytes);
        super::run(label, &mut c, bytes.len() as u64, config)
            .map(|o| o.to_json())
            .map_err(|e| JsError::new(&e))
    }

    /// The keys `config` trusts, as the page lists them (JSON), or why one is refused.
    #[wasm_bindgen(js_name = describeKeys)]
    pub fn describe_keys(config: &str) -> Result<String, JsError> {
        super::keys(config).map_err(|e| JsError::new(&e))
    }

    /// Verify a bundle file of `len` bytes read through `docsealRead` (a `File` read in slices
    /// in a worker), reporting progress through `docsealProgress`.
    #[wasm_bindgen(js_name = verifyFile)]
    pub fn verify_file(len: f64, label: &str, config: &str) -> Result<String, JsError> {
        if !(0.0..=9.007e15).contains(&len) {
            return Err(JsError::new("the file's size is not a size"));
        }
        let mut f = JsFile {
            len: len as u64,
            pos: 0,
            buf: Vec::new(),
            start: 0,
        };
        super::run(label, &mut f, len as u64, config)
            .map(|o| o.to_json())
            .map_err(|e| JsError::new(&e))
    }
}
