//! SHA-256 of streams and files, read in bounded blocks.

use crate::format::error::{Error, Result};
use std::path::Path;

/// SHA-256 of everything `r` yields, read in blocks of at most 1 MiB (`size_hint` sizes the
/// buffer for small inputs).
pub fn sha256_reader(r: &mut dyn std::io::Read, size_hint: u64) -> std::io::Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf = vec![0u8; size_hint.clamp(1, 1 << 20) as usize];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(h.finalize().into())
}

/// SHA-256 of a regular file, streamed in blocks of at most 1 MiB.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub fn sha256_file(path: &Path) -> Result<[u8; 32]> {
    let (mut f, meta) =
        crate::format::input::open(path, crate::format::input::Open::regular("file"))?;
    let len = meta.len();
    sha256_reader(&mut f, len).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn sha256_reader_and_file_agree_with_one_shot() {
        let data: Vec<u8> = (0..(3 << 20) + 17).map(|i| (i % 251) as u8).collect();
        let want: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(sha256_reader(&mut &data[..], 1).unwrap(), want);
        assert_eq!(sha256_reader(&mut &data[..], 1 << 30).unwrap(), want);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, &data).unwrap();
        assert_eq!(sha256_file(&p).unwrap(), want);
        assert!(sha256_file(dir.path()).is_err());
    }
}
