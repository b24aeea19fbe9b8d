#!/usr/bin/env bash
# make-certs.sh HOST [DIR] - an example certificate set-up for redir-mux serve,
# with the openssl command line tool: a private CA, and a server certificate
# for HOST (a DNS name or an IP address, put in subjectAltName) signed by it.
# Writes into DIR (default: the current directory):
#   ca.pem ca.key         the CA: give ca.pem to clients (connect --ca ca.pem)
#   server.pem server.key the server's chain and key (serve --cert/--key)
# and prints the server certificate's SHA-256 fingerprint, which clients can
# pin instead (connect --fingerprint). Keys are P-256, mode 0600. Existing
# files are never overwritten: remove them to start again.
set -euo pipefail

case $# in 1 | 2) ;; *) echo "usage: make-certs.sh HOST [DIR]" >&2; exit 2 ;; esac
host=$1 dir=${2:-.}
command -v openssl >/dev/null || { echo "make-certs.sh: openssl is missing (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
for f in ca.pem ca.key server.pem server.key; do
    [ ! -e "$f" ] || { echo "make-certs.sh: $dir/$f exists; not overwriting it" >&2; exit 1; }
done

if [[ $host =~ ^[0-9.]+$ || $host == *:* ]]; then san="IP:$host"; else san="DNS:$host"; fi
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
    -subj "/CN=vredir example CA" -keyout ca.key -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -subj "/CN=$host" -keyout server.key -out "$work/server.csr" 2>/dev/null
cat >"$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
openssl x509 -req -in "$work/server.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -CAserial "$work/ca.srl" \
    -sha256 -days 825 -extfile "$work/ext.cnf" -out server.pem 2>/dev/null
chmod 0644 ca.pem server.pem
chmod 0600 ca.key server.key

echo "CA: $dir/ca.pem; server: $dir/server.pem, key $dir/server.key ($san)"
openssl x509 -noout -fingerprint -sha256 -in server.pem
