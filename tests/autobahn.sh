#!/usr/bin/env bash
# Runs the Autobahn|Testsuite fuzzingserver (on loopback) against sockette's
# Autobahn clients and fails unless every case is OK or INFORMATIONAL.
#
#   tests/autobahn.sh [--cases '1.*,2.*'] [--exclude '12.*,13.*'] [--allow-unimplemented] RUN...
#   RUN: std-ws | std-wss | mio-ws | mio-wss
#
# Each RUN gets its own fuzzingserver, port and report directory under
# target/autobahn/RUN/; the server is stopped whatever happens. The summary of
# each run is appended to target/autobahn/summary.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${AUTOBAHN_TOOLS:-$ROOT/../shared/tools/autobahn}
OUT=$ROOT/target/autobahn
CASES='*'
EXCLUDE=''
ALLOW_UNIMPLEMENTED=0
RUNS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) CASES=$2; shift 2;;
    --exclude) EXCLUDE=$2; shift 2;;
    --allow-unimplemented) ALLOW_UNIMPLEMENTED=1; shift;;
    std-ws|std-wss|mio-ws|mio-wss) RUNS+=("$1"); shift;;
    *) echo "unknown argument: $1" >&2; sed -n '2,10p' "$0" >&2; exit 2;;
  esac
done
[ ${#RUNS[@]} -gt 0 ] || RUNS=(std-ws)
[ -d "$TOOLS" ] || { echo "Autobahn tools not found at $TOOLS (set AUTOBAHN_TOOLS)" >&2; exit 1; }

log() { echo "[autobahn] $*" >&2; }

"$TOOLS/install.sh" >/dev/null
mkdir -p "$OUT"

STARTED=()
cleanup() {
  for dir in "${STARTED[@]}"; do
    "$TOOLS/run-fuzzingserver.sh" stop -d "$dir" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT INT TERM

# Builds each backend's example once; both are named `autobahn`, so each binary
# is copied aside before the other is built.
declare -A BUILT=()
build() {
  local backend=$1
  [ -n "${BUILT[$backend]:-}" ] && return
  log "building sockette-$backend's autobahn example"
  (cd "$ROOT" && cargo build --quiet --release -p "sockette-$backend" --example autobahn)
  cp "$ROOT/target/release/examples/autobahn" "$OUT/autobahn-$backend"
  BUILT[$backend]=1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

status=0
for run in "${RUNS[@]}"; do
  backend=${run%-*}
  scheme=${run#*-}
  build "$backend"
  dir=$OUT/$run
  "$TOOLS/run-fuzzingserver.sh" stop -d "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
  mkdir -p "$dir"
  port=$(free_port)
  tls_args=()
  [ "$scheme" = wss ] && tls_args=(--tls)
  STARTED+=("$dir")
  "$TOOLS/run-fuzzingserver.sh" start -p "$port" -d "$dir" --cases "$CASES" --exclude "$EXCLUDE" "${tls_args[@]}" >/dev/null
  client_args=("$scheme://127.0.0.1:$port" "sockette-$run")
  [ "$scheme" = wss ] && client_args+=(--ca "$dir/server.crt")
  log "$run: running the cases"
  started=$(date +%s)
  timeout 1800 "$OUT/autobahn-$backend" "${client_args[@]}" > "$dir/client.log" 2>&1 || {
    log "$run: the client failed (exit $?); last lines of $dir/client.log:"; tail -5 "$dir/client.log" >&2; status=1; }
  log "$run: $(( $(date +%s) - started )) s"
  "$TOOLS/run-fuzzingserver.sh" stop -d "$dir" >/dev/null 2>&1 || true
  summary=$(python3 "$TOOLS/summarize.py" "$dir/reports/clients" -v) || { echo "$summary"; status=1; continue; }
  echo "$summary" | tee -a "$OUT/summary.txt"
  last=$(echo "$summary" | tail -1)
  bad=$(echo "$last" | grep -oE '(NON-STRICT|FAILED)=[0-9]+' | awk -F= '{s+=$2} END {print s+0}')
  if [ "$ALLOW_UNIMPLEMENTED" = 0 ]; then
    bad=$(( bad + $(echo "$last" | grep -oE 'UNIMPL=[0-9]+' | cut -d= -f2) ))
  fi
  if [ "$bad" != 0 ]; then
    log "$run: $bad case(s) not OK"
    status=1
  fi
done
exit $status
