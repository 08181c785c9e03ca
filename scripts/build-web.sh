#!/usr/bin/env bash
# Rebuild the verifier that `docseal web` puts in its page (issue 15): crates/docseal-web
# compiled to wasm32, its wasm-bindgen glue, and wasm-opt; writes web/dist/. The result is
# committed, so that building docseal needs no wasm toolchain.
#
#   scripts/build-web.sh           rebuild web/dist/
#   scripts/build-web.sh --check   rebuild in a temp dir and fail if it differs from web/dist/
#                                  (CI: the committed assets are what the source gives)
#
# Needs: rustup target wasm32-unknown-unknown; wasm-bindgen-cli at exactly the wasm-bindgen
# version crates/docseal-web pins; node and npm (binaryen's wasm-opt, web/tools/). .ci/run
# installs them. The build is reproducible: paths are remapped and nothing else varies.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' crates/docseal-web/Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "build-web: wasm-bindgen-cli $want is needed (found: ${have:-none}); cargo install wasm-bindgen-cli --version $want" >&2
  exit 2
fi
out=web/dist
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
[ -x web/tools/node_modules/.bin/wasm-opt ] || npm ci --prefix web/tools --no-audit --no-fund >/dev/null

# Reproducible: no build paths in the module (panic locations name files), and the
# getrandom setting of .cargo/config.toml (RUSTFLAGS replaces it, so it is repeated here).
cargo_home=${CARGO_HOME:-$HOME/.cargo}
export RUSTFLAGS="--cfg getrandom_backend=\"unsupported\" --remap-path-prefix=$root=/docseal --remap-path-prefix=$cargo_home=/cargo"
export CARGO_TARGET_DIR=$root/target/web
cargo build --locked -p docseal-web --target wasm32-unknown-unknown --profile wasm
tmp=$(mktemp -d)
wasm-bindgen --target no-modules --no-typescript --out-dir "$tmp" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/docseal_web.wasm"
mkdir -p "$out"
web/tools/node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$tmp/docseal_web_bg.wasm" -o "$out/docseal_web_bg.wasm"
cp "$tmp/docseal_web.js" "$out/docseal_web.js"
rm -rf "$tmp"
# Size: the budget is 1 MiB (issue 15); a module over it fails the build (docs/VERIFY.md, "The
# page", says where the bytes go and what was cut).
size=$(wc -c < "$out/docseal_web_bg.wasm")
budget=1048576
echo "build-web: docseal_web_bg.wasm is $size bytes (budget $budget, $((budget - size)) to spare)"
if [ "$size" -ge "$budget" ]; then
  echo "build-web: docseal_web_bg.wasm is $size bytes, not under the 1 MiB budget ($budget bytes)" >&2
  exit 1
fi
if [ "${1:-}" = "--check" ]; then
  for f in docseal_web_bg.wasm docseal_web.js; do
    if ! cmp -s "$out/$f" "web/dist/$f"; then
      echo "build-web: web/dist/$f differs from what the source builds: run scripts/build-web.sh and commit" >&2
      exit 1
    fi
  done
  echo "build-web: web/dist matches the source"
fi
