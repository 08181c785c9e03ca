#!/usr/bin/env bash
# Check Cargo.lock against a local copy of the RustSec advisory database (issue 18).
#
#   scripts/check-advisories.sh DIR    DIR: a checkout of https://github.com/rustsec/advisory-db
#
# CI cannot run this: the database is a git repository on GitHub, which CI does not reach, and
# no registry package carries it (deny.toml says what was tried). A developer who has a copy
# runs this script and writes the database's commit and the result in the issue note; the
# exceptions it needs are in deny.toml's [advisories] with their reasons. Nothing of the
# database is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
db=${1:?usage: scripts/check-advisories.sh ADVISORY-DB-CHECKOUT}
[ -d "$db/crates" ] || { echo "check-advisories: $db is not an advisory-db checkout (no crates/)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# cargo-deny looks for the database under db-path in a directory named after its URL.
mkdir "$tmp/db"
ln -s "$(cd "$db" && pwd)" "$tmp/db/advisory-db-3157b0e258782691"
sed 's|^\[advisories\]$|[advisories]\ndb-path = "'"$tmp"'/db"\ndb-urls = ["https://github.com/rustsec/advisory-db"]|' deny.toml > "$tmp/deny.toml"
echo "check-advisories: database at $(git -C "$db" log -1 --format='%H (%cs)' 2>/dev/null || echo "$db")"
cargo deny --offline --locked --config "$tmp/deny.toml" check advisories
