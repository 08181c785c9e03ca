//! The writer: entries streamed into the canonical form, CRC-32 and SHA-256 computed on the
//! way, inputs that change while being read detected.

use super::render::*;
use super::*;
use crate::format::path;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

pub(super) struct Written {
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) crc: u32,
    pub(super) offset: u64,
}

/// Writes a canonical bundle ZIP, streaming each entry once.
///
/// A refused name writes nothing. After any other error (I/O, or input that changed while it
/// was read) the archive is incomplete and every later call fails.
pub struct ZipWriter<W: Write + Seek> {
    pub(super) w: W,
    pub(super) pos: u64,
    pub(super) entries: Vec<Written>,
    pub(super) keys: HashSet<String>,
    pub(super) buf: Vec<u8>,
    pub(super) started: bool,
    pub(super) failed: bool,
}

pub(super) fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

pub(super) fn changed(msg: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("input changed while being read: {msg}"),
    )
}

/// Read until `buf` is full or the reader is at its end; returns the number of bytes read.
pub(super) fn fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<W: Write + Seek> ZipWriter<W> {
    /// Start an archive at the writer's current position (which must be 0).
    pub fn new(w: W) -> Self {
        ZipWriter {
            w,
            pos: 0,
            entries: Vec::new(),
            keys: HashSet::new(),
            buf: Vec::new(),
            started: false,
            failed: false,
        }
    }

    /// Checks before an entry is written; nothing is written when they fail.
    pub(super) fn begin(&mut self, name: &str) -> io::Result<String> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier error left the archive incomplete",
            ));
        }
        if !self.started {
            let p = self.w.stream_position()?;
            if p != 0 {
                return Err(invalid_input(format!(
                    "the archive must start at offset 0, not {p}"
                )));
            }
            self.started = true;
        }
        path::check(name).map_err(|(code, why)| {
            invalid_input(format!(
                "entry name {:?} refused ({code}): {why}",
                path::display(name)
            ))
        })?;
        let key = path::collision_key(name);
        if self.keys.contains(&key) {
            return Err(invalid_input(format!(
                "entry name {:?} is the same as an earlier entry's after Unicode normalization and case folding",
                path::display(name)
            )));
        }
        Ok(key)
    }

    pub(super) fn commit(
        &mut self,
        key: String,
        name: &str,
        size: u64,
        crc: u32,
        offset: u64,
        end: u64,
    ) {
        self.keys.insert(key);
        self.entries.push(Written {
            name: name.to_owned(),
            size,
            crc,
            offset,
        });
        self.pos = end;
    }

    /// Add an entry whose data is exactly `size` bytes read from `r`. Fails with
    /// `io::ErrorKind::InvalidData` if `r` yields fewer or more bytes (the input changed).
    pub fn add_reader(
        &mut self,
        name: &str,
        size: u64,
        r: &mut dyn Read,
    ) -> io::Result<EntryDigest> {
        let key = self.begin(name)?;
        let res = self.stream_entry(name, size, r);
        match res {
            Ok((digest, end)) => {
                let offset = self.pos;
                self.commit(key, name, size, digest.crc32, offset, end);
                Ok(digest)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    pub(super) fn stream_entry(
        &mut self,
        name: &str,
        size: u64,
        r: &mut dyn Read,
    ) -> io::Result<(EntryDigest, u64)> {
        let offset = self.pos;
        let mut header = Vec::with_capacity(LOCAL_LEN + name.len() + 20);
        render_local(&mut header, name.as_bytes(), size, 0, offset);
        let data_start = offset + header.len() as u64;
        let end = data_start
            .checked_add(size)
            .ok_or_else(|| invalid_input(format!("entry of {size} bytes is too large")))?;
        self.w.write_all(&header)?;
        // As large as this entry needs, at most BUF_SIZE: a small entry does not pay for
        // zeroing a 1 MiB buffer.
        let need = size.min(BUF_SIZE as u64) as usize;
        if self.buf.len() < need {
            self.buf = vec![0u8; need];
        }
        let mut crc = crc32fast::Hasher::new();
        let mut sha = Sha256::new();
        let mut remaining = size;
        while remaining > 0 {
            let want = remaining.min(BUF_SIZE as u64) as usize;
            let chunk = &mut self.buf[..want];
            let got = fill(r, chunk)?;
            if got < want {
                return Err(changed(format!(
                    "it ended after {} of {size} bytes",
                    size - remaining + got as u64
                )));
            }
            crc.update(chunk);
            sha.update(&*chunk);
            self.w.write_all(chunk)?;
            remaining -= want as u64;
        }
        let mut probe = [0u8; 1];
        if fill(r, &mut probe)? != 0 {
            return Err(changed(format!(
                "it has more than the {size} bytes expected"
            )));
        }
        let crc32 = crc.finalize();
        self.w.seek(SeekFrom::Start(offset + 14))?;
        self.w.write_all(&crc32.to_le_bytes())?;
        self.w.seek(SeekFrom::Start(end))?;
        Ok((
            EntryDigest {
                size,
                crc32,
                sha256: sha.finalize().into(),
            },
            end,
        ))
    }

    /// Add an entry from memory.
    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> io::Result<EntryDigest> {
        let key = self.begin(name)?;
        let offset = self.pos;
        let size = data.len() as u64;
        let crc32 = crc32fast::hash(data);
        let digest = EntryDigest {
            size,
            crc32,
            sha256: Sha256::digest(data).into(),
        };
        let mut header = Vec::with_capacity(LOCAL_LEN + name.len() + 20);
        render_local(&mut header, name.as_bytes(), size, crc32, offset);
        let end = offset + header.len() as u64 + size;
        let res = self
            .w
            .write_all(&header)
            .and_then(|()| self.w.write_all(data));
        if let Err(e) = res {
            self.failed = true;
            return Err(e);
        }
        self.commit(key, name, size, crc32, offset, end);
        Ok(digest)
    }

    /// Write the central directory and end records; return the writer (not flushed to disk).
    pub fn finish(mut self) -> io::Result<W> {
        if self.failed {
            return Err(io::Error::other(
                "an earlier error left the archive incomplete",
            ));
        }
        let cd_offset = self.pos;
        let mut cd_size = 0u64;
        let mut out =
            Vec::with_capacity(BUF_SIZE.min(self.entries.len() * (CENTRAL_LEN + 64) + 128));
        for e in &self.entries {
            render_central(&mut out, e.name.as_bytes(), e.size, e.crc, e.offset);
            if out.len() >= BUF_SIZE {
                self.w.write_all(&out)?;
                cd_size += out.len() as u64;
                out.clear();
            }
        }
        cd_size += out.len() as u64;
        render_end(&mut out, self.entries.len() as u64, cd_size, cd_offset);
        self.w.write_all(&out)?;
        self.w.flush()?;
        Ok(self.w)
    }
}
