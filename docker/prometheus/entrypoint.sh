#!/bin/sh
# Starts Prometheus with the scrape configuration of the $RINGCHAIN_NODES-node
# cluster (3, 5 or 7); extra arguments go to prometheus.
set -eu
nodes=${RINGCHAIN_NODES:-3}
config=/etc/prometheus/ringchain-$nodes.yml
if [ ! -f "$config" ]; then
  echo "ringchain-prometheus: no $config (RINGCHAIN_NODES is 3, 5 or 7)" >&2
  exit 2
fi
exec prometheus \
  --config.file="$config" \
  --storage.tsdb.path=/prometheus \
  --storage.tsdb.retention.time="${RINGCHAIN_PROMETHEUS_RETENTION:-7d}" \
  --web.listen-address=:9090 \
  --web.console.templates=/etc/prometheus/consoles \
  --web.console.libraries=/etc/prometheus/console_libraries \
  "$@"
