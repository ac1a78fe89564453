#!/usr/bin/env bash
# Regenerates crates/cli/code-order.txt: the functions `apogee standalone` runs, first while it
# starts and idles, then while it serves sends, pulls and the console; the link puts them
# next to each other at the start of the code (crates/cli/build.rs; docs/PERFORMANCE.md,
# "Code laid out in the order it runs"). Run it after changes that move start-up or the hot
# paths; names that no longer exist are skipped at link time, so a stale file costs memory,
# never correctness.
#
#   scripts/code-order.sh          # needs valgrind (apt-get install valgrind); ~5 minutes
#
# Each profile runs the release build under callgrind (which records every function a
# program runs) on free ports and a temp data directory, then stops it with SIGINT.
set -euo pipefail

cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "error: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
IDLE_SECONDS=${IDLE_SECONDS:-40}
ORDER=crates/cli/code-order.txt

cargo build --release -p apogee-cli >&2
BIN="${CARGO_TARGET_DIR:-target}/release/apogee"
WORK=$(mktemp -d /tmp/apogee-code-order.XXXXXX)
PID=""
cleanup() {
    if [[ -n "$PID" ]]; then kill -INT "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

NAMESRV_PORT=29876
BROKER_PORT=20911
CONSOLE_PORT=28080

profile() { # name, then what to do while the broker runs under callgrind
    local name=$1
    shift
    rm -rf "$WORK/data"
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/$name.out" \
        "$BIN" standalone --data-dir "$WORK/data" --namesrv-port $NAMESRV_PORT -p $BROKER_PORT \
        --console-port $CONSOLE_PORT --set grpc_listen_port=28081 \
        >"$WORK/$name.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 600); do
        grep -q "Ctrl-C to stop" "$WORK/$name.log" && break
        kill -0 "$PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; exit 1; }
        sleep 0.2
    done
    grep -q "Ctrl-C to stop" "$WORK/$name.log" || { echo "error: no start within 120 s" >&2; exit 1; }
    "$@"
    kill -INT "$PID"
    wait "$PID" || true
    PID=""
}

idle() { sleep "$IDLE_SECONDS"; }

traffic() {
    local ns=127.0.0.1:$NAMESRV_PORT
    curl -fsS -m 30 "http://127.0.0.1:$CONSOLE_PORT/" -o /dev/null || true
    curl -fsS -m 30 "http://127.0.0.1:$CONSOLE_PORT/api/manager/DefaultCluster/tps" -o /dev/null || true
    "$BIN" bench produce -n "$ns" -m 3000 -p 2 --in-flight 8 --quiet
    "$BIN" bench produce -n "$ns" -m 1000 -p 1 --sync --quiet
    "$BIN" bench produce -n "$ns" -m 3200 -b 32 -p 1 --quiet
    "$BIN" bench consume -n "$ns" -m 7000 --idle-timeout 10s --quiet
}

profile idle idle
python3 scripts/code_order.py "$WORK/idle.out" "$BIN" >"$WORK/idle.txt"
profile traffic traffic
python3 scripts/code_order.py "$WORK/traffic.out" "$BIN" "$WORK/idle.txt" >"$ORDER"
echo "wrote $ORDER; rebuild to link with it: cargo build --release -p apogee-cli" >&2
