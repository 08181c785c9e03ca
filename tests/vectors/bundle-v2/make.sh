#!/usr/bin/env bash
# How the bundle-v2 vectors were made (run once; kept for the record, not by the tests: a TSA's
# clock cannot be set, so the tokens are fixtures). Needs openssl 3 and a built docseal.
# Usage: tests/vectors/bundle-v2/make.sh path/to/docseal
set -euo pipefail
docseal=$(realpath "$1")
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The TSA root: P-256, valid 100 years. Its key is thrown away.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/root.key" \
  -out tsa-root.pem -subj "/CN=docseal test vector TSA root" -days 36500 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"

printf 'extendedKeyUsage=critical,timeStamping\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' > "$work/tsa.ext"
# TSA 1: P-256, valid 100 years, ESS signing-certificate-v2 (SHA-256).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tsa1.key" \
  -out "$work/tsa1.csr" -subj "/CN=docseal test vector TSA P-256"
openssl x509 -req -in "$work/tsa1.csr" -CA tsa-root.pem -CAkey "$work/root.key" -set_serial 1 \
  -days 36500 -extfile "$work/tsa.ext" -out "$work/tsa1.pem"
# TSA 2: RSA 2048, signing with SHA-384, ESS signing-certificate (SHA-1), and a certificate
# that expires two minutes after it is made: its token stays valid because the chain is checked
# at genTime.
openssl req -new -newkey rsa:2048 -nodes -keyout "$work/tsa2.key" -out "$work/tsa2.csr" \
  -subj "/CN=docseal test vector TSA RSA short-lived"
mkdir -p "$work/ca/newcerts"; : > "$work/ca/index.txt"; echo 02 > "$work/ca/serial"
cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = c
[ c ]
dir = $work/ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = p
copy_extensions = none
unique_subject = no
[ p ]
commonName = supplied
[ ext ]
extendedKeyUsage = critical,timeStamping
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
CNF
end=$(date -u -d '+2 minutes' +%Y%m%d%H%M%SZ)
openssl ca -batch -config "$work/ca.cnf" -extensions ext -cert tsa-root.pem -keyfile "$work/root.key" \
  -in "$work/tsa2.csr" -out "$work/tsa2.pem" -enddate "$end" -notext

cat > "$work/tsa.cnf" <<CNF
[ tsa ]
default_tsa = t1
[ t1 ]
serial = $work/serial1
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ess_cert_id_alg = sha256
[ t2 ]
serial = $work/serial2
crypto_device = builtin
signer_digest = sha384
default_policy = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = millisecs:500
ess_cert_id_alg = sha1
CNF
echo 01 > "$work/serial1"; echo 01 > "$work/serial2"

stamp() { # bundle section cert key
  "$docseal" timestamp "$1" --request-out "$work/q.tsq" --force
  openssl ts -reply -config "$work/tsa.cnf" -section "$2" -queryfile "$work/q.tsq" \
    -signer "$3" -inkey "$4" -chain tsa-root.pem -out "$work/r.tsr"
  "$docseal" timestamp "$1" --reply "$work/r.tsr" --request "$work/q.tsq" --tsa-trust tsa-root.pem
}
cp ../bundle-v1/sample.zip timestamped.zip
stamp timestamped.zip t1 "$work/tsa1.pem" "$work/tsa1.key"
cp ../bundle-v1/sample.zip timestamped-expired-tsa.zip
stamp timestamped-expired-tsa.zip t2 "$work/tsa2.pem" "$work/tsa2.key"
cp "$work/tsa1.pem" tsa-p256.pem
cp "$work/tsa2.pem" tsa-rsa-short-lived.pem
sha256sum tsa-root.pem tsa-p256.pem tsa-rsa-short-lived.pem timestamped.zip timestamped-expired-tsa.zip > SHA256SUMS
