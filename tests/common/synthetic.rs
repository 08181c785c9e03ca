//! Synthetic archive logs for the scale tests (`tests/archive_integrity.rs`,
//! `tests/archive_v2.rs`): entry lines, checkpoints and (v2) tiles written directly, without
//! bundles.

use docseal::minisign::SecretKey;
use std::path::Path;

/// SHA-256 of `b`, hex.
pub fn hex_sha256(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    docseal::metadata::hex(&Sha256::digest(b))
}

/// A v1 log of `n` synthetic entries (no bundles; entry `i` is content `content {i}`, file
/// `b{i:08}.zip`) with checkpoints at `sizes`, signed by `key`: the way a test builds a
/// 2^20-entry log in seconds.
/// With `v2`, the tiles and `log/checkpoint` are written too (a v1 log holds at most 2^20
/// entries, so a larger one is made v2 directly rather than migrated).
pub fn synthetic_log(archive: &Path, n: u64, sizes: &[u64], key: &SecretKey, v2: bool) {
    use docseal::archive::Checkpoint;
    use std::io::Write;
    std::fs::create_dir_all(archive.join("log/checkpoints")).unwrap();
    std::fs::create_dir_all(archive.join("bundles")).unwrap();
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(archive.join("log/entries")).unwrap());
    let mut cr = docseal::log::CompactRange::new();
    let mut previous = 0;
    let origin = format!("docseal-archive/{}", key.key_id());
    let mut line = String::new();
    let mut chunk: Vec<String> = Vec::new();
    let sizes: std::collections::HashSet<u64> = sizes.iter().copied().collect();
    if v2 {
        std::fs::create_dir_all(archive.join("log/tile")).unwrap();
    }
    for i in 0..n {
        line.clear();
        let c = hex_sha256(format!("content {i}").as_bytes());
        use std::fmt::Write as _;
        write!(
            line,
            "{i} {c} {} urn:docseal:{} - b{i:08}.zip",
            &c[..32].repeat(2),
            &c[32..]
        )
        .unwrap();
        w.write_all(line.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
        cr.push(docseal::log::leaf_hash(line.as_bytes()));
        if v2 {
            chunk.push(line.clone());
            if chunk.len() == 1 << 16 || sizes.contains(&cr.size()) {
                let root = tiles_of(archive, cr.size() - chunk.len() as u64, &chunk);
                assert_eq!(root, cr.root());
                chunk.clear();
            }
        }
        if sizes.contains(&cr.size()) {
            let cp = Checkpoint {
                origin: origin.clone(),
                size: cr.size(),
                root: cr.root(),
                time: chrono::DateTime::from_timestamp(1_770_000_000 + i as i64, 0).unwrap(),
                previous,
            };
            previous = cp.size;
            let dir = archive.join("log/checkpoints");
            std::fs::write(dir.join(cp.size.to_string()), cp.body()).unwrap();
            std::fs::write(dir.join(format!("{}.minisig", cp.size)), cp.sign(key)).unwrap();
            if v2 && cp.size == n {
                let note = docseal::archive::tiles::checkpoint_note(&cp, key, &[]).unwrap();
                std::fs::write(archive.join("log/checkpoint"), note).unwrap();
            }
        }
    }
    w.flush().unwrap();
}

/// Write the tiles extending the tree of `old` entries of `archive` with `lines` (plain file
/// writes: a benchmark fixture); the new root.
fn tiles_of(archive: &Path, old: u64, lines: &[String]) -> docseal::log::Hash {
    let base = archive.join("log");
    let read = |path: &str, _max: usize| -> Result<Option<Vec<u8>>, String> {
        Ok(std::fs::read(base.join(path)).ok())
    };
    let mut t = docseal::tlog::Tiles::new(read, old);
    let (files, root) = docseal::tlog::append(&mut t, lines, 2048).unwrap();
    for (path, bytes) in files {
        let p = base.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    root
}

/// Lay the synthetic v2 log of `archive` (latest checkpoint = every entry) out as v3 the way
/// `archive migrate --to v3` does (both index objects of every entry, `log/sequence` with
/// start = the number of entries, `log/entries` removed), with plain file writes (no sync
/// per object: a fixture for the scale tests, not a migration).
pub fn synthetic_to_v3(archive: &Path) {
    use docseal::archive::v3;
    use std::io::BufRead;
    let entries = archive.join("log/entries");
    let r = std::io::BufReader::new(std::fs::File::open(&entries).unwrap());
    let mut n = 0u64;
    let mut made = std::collections::HashSet::new();
    for line in r.lines() {
        let line = line.unwrap();
        let e = docseal::archive::Entry::parse(line.as_bytes()).unwrap();
        let bytes = v3::index_bytes(&e);
        for p in [
            v3::name_index_path(&e.name),
            v3::content_index_path(&e.content_sha256).unwrap(),
        ] {
            let p = archive.join(p);
            let dir = p.parent().unwrap().to_path_buf();
            if made.insert(dir.clone()) {
                std::fs::create_dir_all(&dir).unwrap();
            }
            std::fs::write(p, &bytes).unwrap();
        }
        n += 1;
    }
    let seq = v3::Sequence {
        start: n,
        tail: Vec::new(),
    };
    std::fs::write(archive.join(v3::SEQUENCE_FILE), seq.to_bytes()).unwrap();
    std::fs::remove_file(entries).unwrap();
}

/// A v3 log of `n` synthetic entries written directly with the library (entry bundles and
/// tiles, `log/sequence` at `n`, the checkpoint of `n` signed by `key`), for measuring an add
/// at a size no test could reach by adding. The old entries have no index objects and no
/// bundles: an add reads neither (it reads the index objects of its own names only, absent
/// either way).
pub fn synthetic_v3_store(s: &dyn docseal::store::Store, key: &docseal::SecretKey, n: u64) {
    use docseal::archive::{v3::Sequence, Checkpoint, Entry};
    use sha2::Digest;
    let d = |x: String| docseal::metadata::hex(&sha2::Sha256::digest(x.as_bytes()));
    let lines: Vec<String> = (0..n)
        .map(|i| {
            Entry {
                index: i,
                content_sha256: d(format!("c{i}")),
                file_sha256: d(format!("f{i}")),
                id: format!("urn:docseal:{}", &d(format!("i{i}"))[..32]),
                supersedes: None,
                name: format!("synthetic-{i:09}.zip"),
            }
            .line()
        })
        .collect();
    let mut made: std::collections::HashMap<String, Vec<u8>> = Default::default();
    let mut size = 0u64;
    let mut root = None;
    for chunk in lines.chunks(4096) {
        let (files, r) = {
            let mut t = docseal::tlog::Tiles::new(
                |p: &str, _: usize| -> Result<Option<Vec<u8>>, String> { Ok(made.get(p).cloned()) },
                size,
            );
            docseal::tlog::append(&mut t, chunk, 2048).unwrap()
        };
        made.extend(files);
        size += chunk.len() as u64;
        root = Some(r);
    }
    let all: Vec<(&String, &Vec<u8>)> = made.iter().collect();
    std::thread::scope(|sc| {
        for part in all.chunks(all.len().div_ceil(8)) {
            sc.spawn(move || {
                for (p, b) in part {
                    s.put(&format!("log/{p}"), b).unwrap();
                }
            });
        }
    });
    let cp = Checkpoint {
        origin: format!("docseal-archive/{}", key.key_id()),
        size: n,
        root: root.unwrap(),
        time: chrono::Utc::now() - chrono::Duration::minutes(1),
        previous: 0,
    };
    let note = docseal::archive::tiles::checkpoint_note(&cp, key, &[]).unwrap();
    s.put(
        &format!("log/checkpoints/{n}.minisig"),
        cp.sign(key).as_bytes(),
    )
    .unwrap();
    s.put(&format!("log/checkpoints/{n}"), cp.body().as_bytes())
        .unwrap();
    s.put("log/checkpoint", &note).unwrap();
    let seq = Sequence {
        start: n,
        tail: Vec::new(),
    };
    s.put("log/sequence", &seq.to_bytes()).unwrap();
}
