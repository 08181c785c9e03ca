//! Hashing throughput (`cargo bench --bench hashing`): raw SHA-256 (the `sha2` crate, which
//! uses the CPU's SHA extensions when present), CRC-32, and the ZIP entry path that both
//! sealing and verifying use (SHA-256 and CRC-32 of each 1 MiB block). The gap between the
//! first and the last is what docseal adds on top of the SHA-256 rate.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use docseal::zipfmt::{hash_entry, read_strict, Limits, ZipWriter};
use sha2::{Digest, Sha256};
use std::io::Cursor;

const SIZE: usize = 64 << 20;

fn benches(c: &mut Criterion) {
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
    let mut g = c.benchmark_group("hash_64MiB");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(20);

    g.bench_function("sha256", |b| b.iter(|| Sha256::digest(&data)));
    g.bench_function("crc32", |b| b.iter(|| crc32fast::hash(&data)));

    // A one-entry archive in memory, read back through the strict reader's entry hashing.
    let mut w = ZipWriter::new(Cursor::new(Vec::with_capacity(SIZE + 4096)));
    w.add_bytes("data/article.bin", &data).expect("write");
    let zip = w.finish().expect("finish").into_inner();
    let entries = read_strict(&mut Cursor::new(&zip), zip.len() as u64, &Limits::default())
        .expect("strict read");
    g.bench_function("zip_entry_sha256_crc32", |b| {
        b.iter(|| {
            let mut r = Cursor::new(&zip);
            hash_entry(&mut r, &entries[0], None).expect("hash")
        })
    });
    // Sealing's side: streaming an input into a new archive (hash, CRC, copy).
    g.bench_function("zip_write_entry", |b| {
        let mut out = Cursor::new(Vec::with_capacity(SIZE + 4096));
        b.iter(|| {
            out.set_position(0);
            let mut w = ZipWriter::new(&mut out);
            let d = w
                .add_reader("data/article.bin", SIZE as u64, &mut &data[..])
                .expect("write");
            w.finish().expect("finish");
            d
        })
    });
    g.finish();
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
