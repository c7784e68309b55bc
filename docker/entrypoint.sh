#!/bin/sh
# The image's entry point.
#
#   (no arguments, or flags)  with RINGCHAIN_ID set: runs ringchain-node as
#                             node $RINGCHAIN_ID of the cluster described by
#                             $RINGCHAIN_CONFIG (default
#                             /etc/ringchain/cluster-$RINGCHAIN_NODES.toml);
#                             flags go to ringchain-node and win over the file,
#                             e.g. --io epoll. Without RINGCHAIN_ID the flags
#                             alone go to ringchain-node (--config FILE --id N).
#   a command                 runs it: ringchain-client ..., ringchain-sim ...,
#                             ringchain-load, sh
set -eu
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  exec "$@"
fi
nodes=${RINGCHAIN_NODES:-3}
config=${RINGCHAIN_CONFIG:-/etc/ringchain/cluster-$nodes.toml}
if [ -z "${RINGCHAIN_ID:-}" ]; then
  [ $# -gt 0 ] && exec ringchain-node "$@"
  echo "ringchain-entrypoint: set RINGCHAIN_ID to this node's id (1..$nodes)" >&2
  exit 2
fi
if [ ! -f "$config" ]; then
  echo "ringchain-entrypoint: no config $config (RINGCHAIN_NODES is 3, 5 or 7, or set RINGCHAIN_CONFIG)" >&2
  exit 2
fi
# Mutual TLS between the nodes: the certs service writes the cluster's
# certificates into the shared tls volume; wait for this node's (bounded).
tls=${RINGCHAIN_TLS_DIR:-/var/lib/ringchain/tls}
if [ "${RINGCHAIN_TLS:-on}" = "on" ]; then
  waited=0
  while [ ! -f "$tls/node-$RINGCHAIN_ID.crt" ] || [ ! -f "$tls/ca.crt" ]; do
    if [ "$waited" -ge 60 ]; then
      echo "ringchain-entrypoint: no certificate $tls/node-$RINGCHAIN_ID.crt after 60 s (the certs service makes them; RINGCHAIN_TLS=off runs without TLS)" >&2
      exit 2
    fi
    sleep 1
    waited=$((waited + 1))
  done
  set -- --tls_ca "$tls/ca.crt" --tls_cert "$tls/node-$RINGCHAIN_ID.crt" \
    --tls_key "$tls/node-$RINGCHAIN_ID.key" "$@"
fi
exec ringchain-node --config "$config" --id "$RINGCHAIN_ID" "$@"
