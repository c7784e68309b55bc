#!/usr/bin/env bash
# Makes the TLS material of a ringchain cluster: a cluster CA and, for each
# node, a key and a certificate whose common name is "ringchain-node-<id>"
# (the node's id; peers refuse a certificate that names another node than
# the one they expect). Ed25519 keys; certificates valid for ten years.
#
#   scripts/make-certs.sh DIR N [CA_DIR]
#
# DIR gets ca.crt, node-1.crt, node-1.key, ...; the CA's key goes to
# CA_DIR/ca.key (default DIR). An existing CA is reused, so nodes can be
# added later; existing node files are kept. Keep ca.key away from the
# nodes (a separate CA_DIR): whoever holds it can mint a node's identity.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 DIR NODES [CA_DIR]" >&2
  exit 2
fi
dir=$1
nodes=$2
ca_dir=${3:-$1}
if ! command -v openssl >/dev/null 2>&1; then
  echo "make-certs: the openssl command is missing (Debian package openssl)" >&2
  exit 1
fi
mkdir -p "$dir" "$ca_dir"
umask 077
if [ ! -f "$ca_dir/ca.key" ]; then
  openssl genpkey -algorithm ed25519 -out "$ca_dir/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$ca_dir/ca.key" -subj "/CN=ringchain-cluster-ca" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out "$dir/ca.crt" 2>/dev/null
fi
if [ ! -f "$dir/ca.crt" ]; then
  echo "make-certs: $ca_dir holds a CA key but $dir has no ca.crt" >&2
  exit 1
fi
ext=$(mktemp)
trap 'rm -f "$ext" "$dir"/*.csr' EXIT
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth,clientAuth" > "$ext"
for i in $(seq 1 "$nodes"); do
  [ -f "$dir/node-$i.crt" ] && continue
  openssl genpkey -algorithm ed25519 -out "$dir/node-$i.key" 2>/dev/null
  openssl req -new -key "$dir/node-$i.key" -subj "/CN=ringchain-node-$i" \
    -out "$dir/node-$i.csr" 2>/dev/null
  openssl x509 -req -in "$dir/node-$i.csr" -CA "$dir/ca.crt" -CAkey "$ca_dir/ca.key" \
    -CAserial "$ca_dir/ca.srl" -CAcreateserial -days 3650 -extfile "$ext" \
    -out "$dir/node-$i.crt" 2>/dev/null
done
# Nodes read their own key; the files stay private to the user who made them.
chmod 0644 "$dir/ca.crt" "$dir"/node-*.crt
echo "make-certs: $dir holds the cluster CA and certificates for nodes 1..$nodes"
