#!/usr/bin/env bash
# Side-by-side benchmark: docseal against bagit.py 1.9.0, a plain unzip/sha256sum/minisign
# pipeline, sha256sum and openssl dgst; and docseal verify's per-bundle CPU time against the
# cost of the two strict Ed25519 verifications each bundle needs, measured in the same run
# (benches/ed25519_cost.rs, under /usr/bin/time like the rest). Builds its corpus on the spot:
#   - N sample-sized bundles (default 10,000): the shipped sample article, numbered;
#   - one bundle with a BIG_MIB attachment (default 1024 MiB of random bytes);
#   - one bundle with an attachment just over 4 GiB (sparse input; ZIP64), unless SKIP_HUGE=1.
# Every measured command runs once under /usr/bin/time (wall time and peak RSS), on a warm
# page cache; the 1 GiB comparison runs under hyperfine (warm-up 1, 5 runs).
#
# Usage: bench/compare.sh [WORKDIR]     (WORKDIR default: a new directory under /var/tmp)
#        N=1000 BIG_MIB=64 SKIP_HUGE=1 bench/compare.sh    (a quick, smaller run)
#        DOCSEAL=PATH ED25519_COST=PATH bench/compare.sh   (binaries built elsewhere)
# Needs: cargo, bagit.py (pip install bagit==1.9.0), minisign, unzip, sha256sum, openssl,
#        python3, /usr/bin/time (apt-get install time), hyperfine (apt-get install hyperfine).
# Disk: about 2 GB, plus 8.6 GB for the 4 GiB round trip. Time: about 15 minutes on 2 cores.
# Results: WORKDIR/results.md (also printed at the end).
set -euo pipefail
export LC_ALL=C
N=${N:-10000}
BIG_MIB=${BIG_MIB:-1024}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /var/tmp/docseal-bench.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
for tool in bagit.py minisign unzip sha256sum openssl python3 hyperfine; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is not installed" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "compare.sh: /usr/bin/time is not installed (apt-get install time)" >&2; exit 2; }

# DOCSEAL=PATH uses that binary instead of building target/release/docseal.
if [ -n "${DOCSEAL:-}" ]; then
  ds=$(cd "$(dirname "$DOCSEAL")" && pwd)/$(basename "$DOCSEAL")
else
  (cd "$root" && cargo build --release --quiet)
  ds="$root/target/release/docseal"
fi
# The Ed25519 cost binary (benches/ed25519_cost.rs), built with the release profile
# (ED25519_COST=PATH uses that binary instead).
ed_cost=${ED25519_COST:-}
[ -n "$ed_cost" ] || ed_cost=$(cd "$root" && cargo bench --bench ed25519_cost --no-run --quiet --message-format=json |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "ed25519_cost":
        print(m["executable"])')
[ -x "$ed_cost" ] || { echo "compare.sh: could not build benches/ed25519_cost.rs" >&2; exit 2; }
ed_cost=$(realpath "$ed_cost")
results="$work/results.md"
: >"$results"
log() { printf '%s\n' "$*" | tee -a "$results"; }

# run NAME COMMAND...: run once, record wall seconds and peak RSS (KiB) in $work/t.NAME.
run() {
  local name=$1
  shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/t.$name" "$@" >"$work/out.$name" 2>"$work/err.$name" || {
    echo "compare.sh: $name failed: $*" >&2
    tail -5 "$work/err.$name" "$work/out.$name" >&2
    exit 1
  }
  read -r secs kib user sys <"$work/t.$name"
  local shown
  shown=$(printf '%s' "$*" | sed -E 's#( (bags_made|bags_check)/[0-9]+)+# \2/*#g')
  log "| $name | $secs s | $(python3 -c "print(f'{$user + $sys:.2f}')") s | $((kib / 1024)) MiB | \`$shown\` |"
}
secs() { cut -d' ' -f1 "$work/t.$1"; }
cpu() { awk '{print $3 + $4}' "$work/t.$1"; }
# Ratios of times too short for /usr/bin/time (0.00 s, a tiny N) print "n/a".
rate() { python3 -c "s = $(secs "$1"); print(f'{$N / s:,.0f}' if s > 0 else 'n/a')"; }
ratio() { python3 -c "a, b = $(secs "$1"), $(secs "$2"); print(f'{a / b:.1f}x' if b > 0 else 'n/a')"; }
ratio2() { python3 -c "a, b = $(secs "$1"), $(secs "$2"); print(f'{a / b:.2f}x' if b > 0 else 'n/a')"; }

log "# docseal benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log ""
log "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB RAM, $(uname -sr)"
log "- SHA-256 (openssl speed -evp sha256, 16 KiB blocks, one core): $(openssl speed -evp sha256 -seconds 1 2>/dev/null | awk '/^sha256/{print $NF}')"
log "- $("$ds" --version), $(bagit.py --version 2>&1), $(minisign -v), $(sha256sum --version | head -1)"
log "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; wall times include waiting for a core)"
log "- corpus: $N bundles of the sample article ($(wc -c <"$root/samples/000_1b4e483194c528fc.txt") bytes each), one ${BIG_MIB} MiB attachment"
log ""
log "| step | wall | CPU (user+sys) | peak RSS | command |"
log "|---|---|---|---|---|"

# ---- corpus ------------------------------------------------------------------------------
cd "$work"
rm -rf articles bundles bags_made bags_check big x huge
"$ds" keygen bench --no-passphrase >/dev/null 2>&1 || true
python3 - "$root/samples/000_1b4e483194c528fc.txt" "$N" <<'EOF'
import json, os, sys
sample = open(sys.argv[1], "rb").read()
n = int(sys.argv[2])
os.makedirs("articles", exist_ok=True)
os.makedirs("bags_made", exist_ok=True)
with open("jobs.jsonl", "w") as jobs:
    for i in range(n):
        body = sample + f"\n{i:06d}\n".encode()
        open(f"articles/{i:06d}.txt", "wb").write(body)
        # The same article, as a directory for bagit.py to turn into a bag.
        os.makedirs(f"bags_made/{i:06d}", exist_ok=True)
        open(f"bags_made/{i:06d}/article.txt", "wb").write(body)
        jobs.write(json.dumps({
            "article": f"articles/{i:06d}.txt",
            "url": f"https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/?n={i}",
            "title": "A thaw in Pak-Russia relations",
            "publisher": "Daily Times",
            "published": "2018-09-11",
            "author": "Usman Ghani",
            "created": "2026-11-27T12:00:00Z",
            "out": f"{i:06d}.zip",
        }) + "\n")
EOF
sync

# ---- batch sealing -------------------------------------------------------------------------
run pack_batch "$ds" pack --batch jobs.jsonl --key bench.key --out-dir bundles --quiet
run pack_batch_rerun "$ds" pack --batch jobs.jsonl --key bench.key --out-dir bundles --quiet
# The same on tmpfs, where fsync costs nothing: what sealing costs without the disk.
if [ -d /dev/shm ]; then
  shm=$(mktemp -d /dev/shm/docseal-bench.XXXXXX)
  run pack_batch_tmpfs "$ds" pack --batch jobs.jsonl --key bench.key --out-dir "$shm" --quiet
  rm -rf "$shm"
fi
# bagit.py bag creation (one process for all bags) plus one minisign -S per bag.
run bagit_make bagit.py --quiet --sha256 bags_made/*
cat >sign_all.sh <<'EOF'
for d in bags_made/*; do
  minisign -S -s bench.key -m "$d/tagmanifest-sha256.txt" -t "bag $d" >/dev/null </dev/null
done
EOF
run minisign_sign bash sign_all.sh
sync

# ---- verification --------------------------------------------------------------------------
# The same bundles unzipped as bags, for bagit.py (setup, not measured).
mkdir -p bags_check
for f in bundles/*.zip; do
  b=${f##*/}
  unzip -q "$f" -d "bags_check/${b%.zip}"
done
cat bundles/*.zip >/dev/null # warm the page cache
run verify "$ds" verify bundles --trust bench.pub --quiet
run verify_1thread "$ds" verify bundles --trust bench.pub --quiet --threads 1
run verify_json "$ds" verify bundles --trust bench.pub --json
run verify_unzipped "$ds" verify bags_check --trust bench.pub --quiet
# The floor: the two strict Ed25519 verifications of one of these bundles, N times (one thread).
run ed25519_cost "$ed_cost" bundles/000000.zip bench.pub "$N"
run bagit_validate bagit.py --quiet --validate bags_check/*
# What a user would write without docseal: per bundle, unzip, check both manifests, check the
# signature.
cat >pipeline.sh <<'EOF'
set -e
for f in bundles/*.zip; do
  t=$(mktemp -d)
  unzip -q "$f" -d "$t"
  (cd "$t" && sha256sum -c --quiet tagmanifest-sha256.txt && sha256sum -c --quiet manifest-sha256.txt)
  minisign -Vq -m "$t/tagmanifest-sha256.txt" -p bench.pub
  rm -rf "$t"
done
EOF
run pipeline bash pipeline.sh

# ---- one large attachment ------------------------------------------------------------------
mkdir -p big
head -c $((BIG_MIB << 20)) /dev/urandom >big/attachment.bin
cp "$root/samples/000_1b4e483194c528fc.txt" big/article.txt
pack_big=("$ds" pack big/article.txt --url https://example.com/big --title Big --publisher Bench
  --published 2026-01-01 --created 2026-11-27T12:00:00Z --attach big/attachment.bin
  --key bench.key --out big/big.zip --force)
"${pack_big[@]}" >/dev/null
run pack_big "${pack_big[@]}"
run verify_big "$ds" verify big/big.zip --trust bench.pub
run sha256sum_big sha256sum big/attachment.bin
run openssl_dgst_big openssl dgst -sha256 big/attachment.bin
hyperfine --style basic --warmup 1 --runs 5 --export-markdown hyperfine_big.md \
  "$ds verify big/big.zip --trust bench.pub" "openssl dgst -sha256 big/attachment.bin" \
  "sha256sum big/attachment.bin" >hyperfine_big.txt
rm -rf big

# ---- over 4 GiB (ZIP64), sparse input -----------------------------------------------------
if [ -z "${SKIP_HUGE:-}" ]; then
  mkdir -p huge
  echo "a large original" >huge/article.txt
  truncate -s $(((4 << 30) + 4096)) huge/huge.bin
  run pack_4gib "$ds" pack huge/article.txt --url https://example.com/huge --title Huge \
    --publisher Bench --published 2026-01-01 --attach huge/huge.bin --key bench.key --out huge/huge.zip
  run verify_4gib "$ds" verify huge/huge.zip --trust bench.pub
  run extract_4gib "$ds" extract huge/huge.zip --trust bench.pub --out huge/x
  cmp huge/huge.bin huge/x/data/attachments/huge.bin
  rm -rf huge
fi

# ---- summary -------------------------------------------------------------------------------
log ""
log "## Ratios"
log ""
log "| measure | value |"
log "|---|---|"
log "| docseal pack --batch | $(rate pack_batch) bundles/s |"
log "| bagit.py bag creation + minisign -S | $(python3 -c "print(f'{$N / ($(secs bagit_make) + $(secs minisign_sign)):,.0f}')") bags/s |"
[ -f "$work/t.pack_batch_tmpfs" ] && log "| docseal pack --batch, output on tmpfs (no fsync cost) | $(rate pack_batch_tmpfs) bundles/s |"
log "| sealing speed-up over bagit.py + minisign | $(python3 -c "print(f'{($(secs bagit_make) + $(secs minisign_sign)) / $(secs pack_batch):.1f}x')") |"
log "| docseal verify | $(rate verify) bundles/s |"
log "| docseal verify --threads 1 | $(rate verify_1thread) bundles/s |"
log "| bagit.py --validate (no signatures) | $(rate bagit_validate) bags/s |"
log "| unzip + sha256sum -c + minisign -V | $(rate pipeline) bundles/s |"
log "| verify speed-up over bagit.py --validate | $(ratio bagit_validate verify) |"
log "| verify speed-up over the pipeline | $(ratio pipeline verify) |"
log "| verify CPU time per bundle: docseal / bagit.py / pipeline | $(python3 -c "print(' / '.join(f'{c * 1e6 / $N:.0f} µs' for c in ($(cpu verify), $(cpu bagit_validate), $(cpu pipeline))))") |"
log "| sealing CPU time per bundle: docseal / bagit.py + minisign | $(python3 -c "print(f'{$(cpu pack_batch) * 1e6 / $N:.0f} µs / {($(cpu bagit_make) + $(cpu minisign_sign)) * 1e6 / $N:.0f} µs')") |"
# per_bundle STEP: docseal's CPU per bundle in STEP against the Ed25519 floor, same run.
per_bundle() {
  python3 -c "
v, e = $(cpu "$1") * 1e6 / $N, $(cpu ed25519_cost) * 1e6 / $N
print(f'{v:.0f} µs / {e:.0f} µs = {v / e:.2f}x' if v > 0 and e > 0 else 'n/a: too few bundles for /usr/bin/time to see')"
}
log "| verify CPU per bundle / the two strict Ed25519 verifications per bundle (target at most 1.5x) | $(per_bundle verify) |"
log "| the same, verify --threads 1 | $(per_bundle verify_1thread) |"
log "| verify of the ${BIG_MIB} MiB bundle / sha256sum of the attachment (single runs) | $(ratio2 verify_big sha256sum_big) |"
log "| verify of the ${BIG_MIB} MiB bundle / openssl dgst -sha256 of the attachment (single runs; target at most 1.15x) | $(ratio2 verify_big openssl_dgst_big) |"
log ""
log "hyperfine, ${BIG_MIB} MiB:"
log ""
cat hyperfine_big.md | tee -a "$results"
echo
echo "results: $results"
