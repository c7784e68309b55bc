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
exec ringchain-node --config "$config" --id "$RINGCHAIN_ID" "$@"
