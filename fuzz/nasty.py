#!/usr/bin/env python3
"""The nastiest inputs for `docseal verify` under its default limits, for the peak-RSS and time
figures of docs/VERIFY.md ("Bounded resources"). Usage: python3 fuzz/nasty.py DIR

Three of them are 1 GiB sparse files (they take no disk space). Everything else is small."""
import os, struct, sys, zlib, hashlib

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def local(name, size, crc, off):
    z64 = size >= 0xFFFFFFFF
    extra = struct.pack('<HHQQ', 1, 16, size, size) if z64 else b''
    s32 = 0xFFFFFFFF if z64 else size
    return struct.pack('<IHHHHHIIIHH', 0x04034b50, 45 if (z64 or off >= 0xFFFFFFFF) else 20, 0x800, 0, 0, 0x21,
                       crc, s32, s32, len(name), len(extra)) + name + extra

def central(name, size, crc, off):
    vals = []
    if size >= 0xFFFFFFFF: vals += [size, size]
    if off >= 0xFFFFFFFF: vals += [off]
    extra = struct.pack('<HH', 1, 8 * len(vals)) + b''.join(struct.pack('<Q', v) for v in vals) if vals else b''
    need = 45 if (size >= 0xFFFFFFFF or off >= 0xFFFFFFFF) else 20
    s32 = min(size, 0xFFFFFFFF)
    return struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 0x300 | need, need, 0x800, 0, 0, 0x21, crc, s32, s32,
                       len(name), len(extra), 0, 0, 0, 0x81A40000, min(off, 0xFFFFFFFF)) + name + extra

def end(count, cd_size, cd_off):
    out = b''
    if count >= 0xFFFF or cd_size >= 0xFFFFFFFF or cd_off >= 0xFFFFFFFF:
        out += struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 0x032D, 45, 0, 0, count, count, cd_size, cd_off)
        out += struct.pack('<IIQI', 0x07064b50, 0, cd_off + cd_size, 1)
    out += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                       min(cd_size, 0xFFFFFFFF), min(cd_off, 0xFFFFFFFF), 0)
    return out

def archive(entries, path):
    """entries: list of (name bytes, data bytes)."""
    with open(path, 'wb') as f:
        cd = []
        off = 0
        for name, data in entries:
            crc = zlib.crc32(data)
            h = local(name, len(data), crc, off)
            f.write(h); f.write(data)
            cd.append(central(name, len(data), crc, off))
            off += len(h) + len(data)
        cdb = b''.join(cd)
        f.write(cdb)
        f.write(end(len(entries), len(cdb), off))

def sha(b): return hashlib.sha256(b).hexdigest()

# 1. End records declaring 2^32 entries (ZIP64) in a tiny file.
with open(f'{out}/count-2pow32.zip', 'wb') as f:
    f.write(end(1 << 32, 0, 0))

# 2. 9,999 entries declared (under the limit), central directory of 1 record.
c = central(b'a', 0, 0, 0)
with open(f'{out}/count-9999-declared.zip', 'wb') as f:
    l = local(b'a', 0, 0, 0)
    f.write(l); f.write(c)
    f.write(struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 9999, 9999, len(c), len(l), 0))

# 3. One entry declaring 60 GiB (under the 64 GiB limit) in a 200-byte file.
size = 60 << 30
with open(f'{out}/declares-60gib.zip', 'wb') as f:
    l = local(b'data/article.txt', size, 0, 0)
    cdb = central(b'data/article.txt', size, 0, 0)
    f.write(l); f.write(cdb); f.write(end(1, len(cdb), len(l)))

# 4. 1 GiB sparse file of zeros.
with open(f'{out}/sparse-1gib-zeros.zip', 'wb') as f:
    f.truncate(1 << 30)

# 5. 1 GiB sparse file of zeros ending in an end record whose central directory claims
#    to be 11 MB (near the most 10,000 entries allow) of zeros.
with open(f'{out}/sparse-1gib-eocd.zip', 'wb') as f:
    f.truncate((1 << 30) - 22)
    f.seek((1 << 30) - 22)
    cd_size = 10_000 * 1098
    f.write(struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 9999, 9999, cd_size, (1 << 30) - 22 - cd_size, 0))

# 6. A real 1 GiB entry of zeros (sparse on disk): hashed in 1 MiB blocks.
size = 1 << 30
with open(f'{out}/entry-1gib.zip', 'wb') as f:
    name = b'data/article.txt'
    crc = 0
    # CRC-32 of 1 GiB of zeros, computed in chunks.
    z = bytes(1 << 20)
    for _ in range(1024): crc = zlib.crc32(z, crc)
    l = local(name, size, crc, 0)
    f.write(l)
    f.seek(len(l) + size)
    cdb = central(name, size, crc, 0)
    f.write(cdb); f.write(end(1, len(cdb), len(l) + size))

# 7. 10,000 entries with 1,024-byte names: the largest central directory the limits allow.
ents = []
for i in range(10_000):
    n = 'data/' + ('%05d' % i) + '/' + ('n' * 250 + '/') * 4
    n = (n + 'x' * (1024 - len(n))).encode()
    assert len(n) == 1024 and max(len(s) for s in n.split(b'/')) <= 255, n
    ents.append((n, b''))
archive(ents, f'{out}/entries-10000-long-names.zip')

# 8. Tag files at their size limits: metadata.json 1 MiB, both manifests 16 MiB listing
#    ~230,000 files that are not there, bag-info.txt 64 KiB, a 4 KiB signature.
def manifest_lines(prefix, total):
    lines = []
    n = 0
    i = 0
    while True:
        line = f'{"0" * 64}  {prefix}{i:08d}\n'.encode()
        if n + len(line) > total: break
        lines.append(line); n += len(line); i += 1
    return b''.join(lines)
man = manifest_lines('data/f', 16 << 20)
tag = manifest_lines('t', 16 << 20)
meta = b'{\n  "docsealFormat": 1,\n  "pad": "' + b'x' * ((1 << 20) - 64) + b'"\n}\n'
archive([(b'data/article.txt', b'hello\n'),
         (b'bagit.txt', b'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'),
         (b'bag-info.txt', b'X: ' + b'y' * ((64 << 10) - 5) + b'\n'),
         (b'metadata.json', meta),
         (b'manifest-sha256.txt', man),
         (b'tagmanifest-sha256.txt', tag),
         (b'tagmanifest-sha256.txt.minisig', b'z' * 4096)], f'{out}/tag-files-at-limits.zip')

# 9. 10,000 payload files, none listed; the manifest lists 10,000 other names.
ents = [(f'data/attachments/f{i:05d}'.encode(), b'') for i in range(9_990)]
listed = b''.join(f'{sha(b"")}  data/attachments/g{i:05d}\n'.encode() for i in range(9_990))
ents += [(b'bagit.txt', b'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'),
         (b'manifest-sha256.txt', listed)]
archive(ents, f'{out}/unlisted-10000-vs-listed-10000.zip')

# 10. 10,000 payload files with 1,024-byte names, none listed or named in the (valid) metadata
#     of the sample: two findings per file, each naming it.
import zipfile
with zipfile.ZipFile(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'archive', 'sample.zip')) as z:
    sample = [(i.filename.encode(), z.read(i.filename)) for i in z.infolist()]
ents = []
for i in range(10_000 - len(sample)):
    n = 'data/' + ('%05d' % i) + '/' + ('n' * 250 + '/') * 4
    n = (n + 'x' * (1024 - len(n))).encode()
    ents.append((n, b''))
archive(ents + sample, f'{out}/payload-9993-long-names-unlisted.zip')

# 11. The same names, not ASCII (é is two bytes): normalization and case folding on every one.
ents = []
for i in range(10_000 - len(sample)):
    n = 'data/' + ('%05d' % i) + '/' + ('é' * 125 + '/') * 4
    n = (n + 'x' * (1024 - len(n.encode()))).encode()
    assert len(n) == 1024
    ents.append((n, b''))
archive(ents + sample, f'{out}/payload-9993-long-nonascii-names-unlisted.zip')

# 12. A payload manifest of one 16 MiB line.
archive([(b'data/article.txt', b'x'), (b'manifest-sha256.txt', b'0' * 64 + b'  ' + b'p' * ((16 << 20) - 67) + b'\n')],
        f'{out}/manifest-one-16mib-line.zip')
