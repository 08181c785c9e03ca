#!/usr/bin/env bash
# docseal's main job on the shipped sample: verify the archived bundle, then seal the sample
# article anew with a throwaway key and verify that too. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
ds=target/release/docseal
echo "== verify the shipped bundle against the shipped public key"
"$ds" verify archive/sample.zip --trust keys/sample.pub
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== seal the sample article anew with a throwaway key"
"$ds" keygen "$work/throwaway" --no-passphrase
"$ds" pack samples/000_1b4e483194c528fc.txt \
  --url https://dailytimes.com.pk/295922/a-thaw-in-pak-russia-relations/ \
  --title "A thaw in Pak-Russia relations" --publisher "Daily Times" \
  --published 2018-09-11 --author "Usman Ghani" \
  --key "$work/throwaway.key" --out "$work/sample.zip"
"$ds" verify "$work/sample.zip" --trust "$work/throwaway.pub"
echo "== what the new bundle holds (no trust decision)"
"$ds" inspect "$work/sample.zip"
