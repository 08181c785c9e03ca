//! Input files: opened without ever blocking (a FIFO with no writer, a device), accepted only
//! when they are what is expected (a regular file; a pipe only where that is documented), and
//! read with a bound. Every file docseal reads whole (key, passphrase, trust and jobs files,
//! bundles, articles and attachments) is opened here.

use crate::format::error::{Error, Result};
use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::path::Path;

/// What an input may be besides a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// A regular file only.
    Regular,
    /// A regular file or a pipe (a FIFO, `/dev/stdin` on a pipe, `<(command)`): read until its
    /// writer closes it; one with no writer reads as empty, never blocks.
    RegularOrPipe,
}

/// How an input is opened.
#[derive(Clone, Copy, Debug)]
pub struct Open<'a> {
    /// What the file is, for messages: `article`, `trust file`, ...
    pub what: &'a str,
    /// Follow a symbolic link (false: a link is refused).
    pub follow: bool,
    /// What is accepted.
    pub accept: Accept,
}

impl<'a> Open<'a> {
    /// A regular file (a symbolic link to one is followed).
    pub fn regular(what: &'a str) -> Self {
        Open {
            what,
            follow: true,
            accept: Accept::Regular,
        }
    }

    /// A regular file that is not a symbolic link.
    pub fn regular_nofollow(what: &'a str) -> Self {
        Open {
            what,
            follow: false,
            accept: Accept::Regular,
        }
    }
}

/// What a file type is called in messages.
pub fn kind_name(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

fn is_pipe(ft: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        ft.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = ft;
        false
    }
}

/// Open `path` for reading as `how` says. The open never blocks (`O_NONBLOCK`: a FIFO with no
/// writer, a terminal, a tape); then the type is checked on the open file, so that it cannot
/// change between the check and the read. A refused file is named with its type.
pub fn open(path: &Path, how: Open<'_>) -> Result<(File, Metadata)> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
        if !how.follow {
            flags |= libc::O_NOFOLLOW;
        }
        opts.custom_flags(flags);
    }
    let file = opts.open(path).map_err(|e| {
        #[cfg(unix)]
        let eloop = e.raw_os_error() == Some(libc::ELOOP);
        #[cfg(not(unix))]
        let eloop = false;
        if !how.follow && eloop {
            Error::invalid(
                path.display().to_string(),
                format!(
                    "is a symbolic link; a {} is never followed through a link",
                    how.what
                ),
            )
        } else {
            Error::io(path, e)
        }
    })?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    let ft = meta.file_type();
    let ok = ft.is_file() || (how.accept == Accept::RegularOrPipe && is_pipe(&ft));
    if !ok {
        return Err(Error::invalid(
            path.display().to_string(),
            format!(
                "is {}; a {} must be a regular file",
                kind_name(&ft),
                how.what
            ),
        ));
    }
    if is_pipe(&ft) {
        // Reads wait for the writer again (one that never opened it has closed it: EOF).
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::OFlags;
            let flags = rustix::fs::fcntl_getfl(&file).map_err(|e| Error::io(path, e.into()))?;
            rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)
                .map_err(|e| Error::io(path, e.into()))?;
        }
    }
    Ok((file, meta))
}

/// Read all of `file` (opened with [`open`]) into `buf`, refusing more than `max` bytes: at most
/// `max + 1` bytes are ever read, whatever the file claims. `buf` is given room for all of it
/// first, so that no reallocation leaves a copy of a secret behind.
pub fn read_to_end_bounded(
    mut file: &File,
    path: &Path,
    max: u64,
    what: &str,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let room = file
        .metadata()
        .map(|m| m.len())
        .unwrap_or(0)
        .min(max)
        .saturating_add(1);
    buf.reserve(room as usize);
    file.by_ref()
        .take(max.saturating_add(1))
        .read_to_end(buf)
        .map_err(|e| Error::io(path, e))?;
    // (Not `read_at_most`: the buffer is the caller's, sized first so that no reallocation
    // leaves a copy of a secret behind.)
    if buf.len() as u64 > max {
        return Err(Error::invalid(
            path.display().to_string(),
            format!("larger than {max} bytes: not a {what}"),
        ));
    }
    Ok(())
}

/// Read from `r` until its end or until more than `max` bytes were read: at most `max + 1`
/// bytes are ever read, whatever the input claims, so the caller can tell "exactly `max`"
/// from "more" (`len() > max`). The one bounded read the floors above share.
pub fn read_at_most(r: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Open `path` as `how` says and read all of it, at most `max` bytes (a larger file is refused).
pub fn read_bounded(path: &Path, max: u64, how: Open<'_>) -> Result<Vec<u8>> {
    let (file, _) = open(path, how)?;
    let mut buf = Vec::new();
    read_to_end_bounded(&file, path, max, how.what, &mut buf)?;
    Ok(buf)
}

/// The longest first line of a minisign key file worth looking at.
const KEY_HEAD: usize = 2048;

/// Whether `head` (the first bytes of a file) is a minisign or docseal secret key file: an
/// `untrusted comment:` line, then a line of 212 base64 characters holding a key of the Ed25519
/// algorithm (`Ed`). Used to refuse sealing a secret key into a bundle.
pub fn looks_like_secret_key(head: &[u8]) -> bool {
    use base64::Engine;
    let mut lines = head.splitn(3, |&b| b == b'\n');
    let (Some(first), Some(second)) = (lines.next(), lines.next()) else {
        return false;
    };
    if !first.starts_with(b"untrusted comment:") {
        return false;
    }
    let second = second.strip_suffix(b"\r").unwrap_or(second);
    if second.len() != 212 {
        return false;
    }
    base64::engine::general_purpose::STANDARD
        .decode(second)
        .is_ok_and(|raw| raw.starts_with(b"Ed"))
}

/// Refuse `file` (at its start) if it is a secret key file ([`looks_like_secret_key`]); the
/// file's position is not moved.
pub fn refuse_secret_key(file: &File, path: &Path, what: &str) -> Result<()> {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut head = vec![0u8; KEY_HEAD];
    let mut n = 0;
    while n < head.len() {
        #[cfg(unix)]
        let got = {
            use std::os::unix::fs::FileExt;
            file.read_at(&mut head[n..], n as u64)
        };
        #[cfg(not(unix))]
        let got: std::io::Result<usize> = {
            let _ = file;
            Ok(0)
        };
        match got {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    if looks_like_secret_key(&head[..n]) {
        return Err(Error::invalid(
            path.display().to_string(),
            format!("is a secret key file; refusing to seal it as an {what}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue13_read_at_most_reads_one_byte_past_the_cap_and_no_more() {
        // An endless input: the cap bounds what is read.
        let endless = std::io::repeat(7);
        assert_eq!(read_at_most(endless, 10).unwrap(), vec![7; 11]);
        assert_eq!(read_at_most(&b"abc"[..], 3).unwrap(), b"abc");
        assert_eq!(read_at_most(&b"abcd"[..], 3).unwrap(), b"abcd");
        assert_eq!(read_at_most(&b""[..], 0).unwrap(), b"");
    }

    #[test]
    fn secret_key_files_are_recognised_and_public_ones_are_not() {
        let sk = crate::format::minisign::SecretKey::from_seed(
            &[7; 32],
            crate::format::minisign::KeyId([1; 8]),
        );
        let plain = sk.to_file_string(None).unwrap();
        assert!(looks_like_secret_key(plain.as_bytes()));
        let crlf = plain.replace('\n', "\r\n");
        assert!(looks_like_secret_key(crlf.as_bytes()));
        let public = sk.public_key().to_file_string();
        assert!(!looks_like_secret_key(public.as_bytes()));
        assert!(!looks_like_secret_key(b"untrusted comment: x\n"));
        assert!(!looks_like_secret_key(b"hello\nworld\n"));
    }
}
