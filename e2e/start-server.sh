#!/bin/sh
# Starts the portal and its bundled provider for the end-to-end tests with a
# fresh, empty data folder that is removed when the server stops.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin="$here/../bin/tokenservice"
if [ ! -x "$bin" ]; then
  echo "start-server.sh: $bin is missing; build it with: go build -o bin/tokenservice ./cmd/tokenservice" >&2
  exit 1
fi
data=$(mktemp -d "${TMPDIR:-/tmp}/tokenservice-e2e.XXXXXX")
"$bin" \
  --addr "${E2E_ADDR:-127.0.0.1:18080}" \
  --bcc-addr "${E2E_BCC_ADDR:-127.0.0.1:18081}" \
  --data-dir "$data" \
  --reveal-window "${E2E_REVEAL_WINDOW:-15m}" \
  --sweep-interval 2s \
  --log-level "${E2E_LOG_LEVEL:-warn}" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT
trap 'exit 143' INT TERM
wait "$pid"
