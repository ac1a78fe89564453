#!/usr/bin/env bash
# Replication's cost, measured in one run on this machine: the same produce load (1 KiB,
# $PRODUCERS producers × $IN_FLIGHT in flight) against a lone ASYNC_MASTER, an ASYNC_MASTER with
# a slave and a SYNC_MASTER with a slave, each an `apogee namesrv` + `apogee broker` process
# (+ a slave process), rounds alternated. Prints msgs/s, p99 and the master's and the slave's
# CPU per message (from /proc), and the loopback TCP echo of the same size as the ceiling.
#
#   scripts/perf-replication.sh                 # release build, then 2 rounds of each mode
#   ROUNDS=3 MESSAGES=50000 scripts/perf-replication.sh
set -euo pipefail

cd "$(dirname "$0")/.."
PRODUCERS=${PRODUCERS:-4}
IN_FLIGHT=${IN_FLIGHT:-32}
MESSAGES=${MESSAGES:-100000}
ROUNDS=${ROUNDS:-2}
LATENCY_MESSAGES=${LATENCY_MESSAGES:-5000}

cargo build --release -p apogee-cli >&2
BIN="${CARGO_TARGET_DIR:-target}/release/apogee"
WORK=$(mktemp -d "${PERF_DIR:-/tmp}/apogee-perf-ha.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

addr_in() { # log file, prefix: waits for "<prefix> listening on <addr>" and prints 127.0.0.1:<port>
    for _ in $(seq 200); do
        local line
        line=$(grep -m1 "$2 listening on" "$1" || true)
        if [[ -n "$line" ]]; then
            line=${line#*listening on }
            line=${line%% *}
            echo "127.0.0.1:${line##*:}"
            return
        fi
        sleep 0.05
    done
    echo "error: no '$2 listening on' in $1:" >&2
    cat "$1" >&2
    exit 1
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

broker() { # name, role, id, namesrv; prints the pid
    "$BIN" broker -n "$4" -p 0 --store-dir "$WORK/$1" \
        --set 'broker_ip1="127.0.0.1"' --set 'listen_address="127.0.0.1"' \
        --set "broker_role=\"$2\"" --set "broker_id=$3" \
        --set mapped_file_size_commit_log=$((256 * 1024 * 1024)) \
        >"$WORK/$1.log" 2>&1 &
    echo $!
}

run() { # mode (single|async|sync), round
    local mode=$1 name="$1-$2"
    "$BIN" namesrv --listen-address 127.0.0.1 --listen-port 0 --data-dir "$WORK/ns-$name" \
        >"$WORK/ns-$name.log" 2>&1 &
    local ns_pid=$!
    PIDS+=("$ns_pid")
    local ns
    ns=$(addr_in "$WORK/ns-$name.log" "NameServer")
    local role=ASYNC_MASTER
    [[ $mode == sync ]] && role=SYNC_MASTER
    local master slave=""
    master=$(broker "m-$name" "$role" 0 "$ns")
    PIDS+=("$master")
    addr_in "$WORK/m-$name.log" "broker" >/dev/null
    if [[ $mode != single ]]; then
        slave=$(broker "s-$name" SLAVE 1 "$ns")
        PIDS+=("$slave")
        addr_in "$WORK/s-$name.log" "broker" >/dev/null
    fi
    # Warm-up: creates the topic, and for a pair waits until the slave is connected.
    "$BIN" bench produce -n "$ns" --topic PerfHa --size 1024 --messages 2000 --quiet \
        --json-out "$WORK/warm-$name.json" >/dev/null
    # One producer, one send at a time: the latency a lone caller sees.
    "$BIN" bench produce -n "$ns" --topic PerfHa --size 1024 --producers 1 --in-flight 1 \
        --messages "$LATENCY_MESSAGES" --quiet --json-out "$WORK/lat-$name.json" >/dev/null
    jq -r --arg m "$mode" --arg r "$2" \
        '"| \($m) | \($r) | \(.sent.msgs_per_s | floor) | \(.send_latency.p50_us / 1000) | \(.send_latency.p99_us / 1000) |"' \
        "$WORK/lat-$name.json" >>"$WORK/latency.md"
    local m0 s0=0 m1 s1=0
    m0=$(cpu_ticks "$master")
    [[ -n $slave ]] && s0=$(cpu_ticks "$slave")
    "$BIN" bench produce -n "$ns" --topic PerfHa --size 1024 --producers "$PRODUCERS" \
        --in-flight "$IN_FLIGHT" --messages "$MESSAGES" --quiet --json-out "$WORK/$name.json" >/dev/null
    m1=$(cpu_ticks "$master")
    [[ -n $slave ]] && s1=$(cpu_ticks "$slave")
    local hz
    hz=$(getconf CLK_TCK)
    local rate p99 errors
    rate=$(jq -r .sent.msgs_per_s "$WORK/$name.json")
    p99=$(jq -r .send_latency.p99_us "$WORK/$name.json")
    errors=$(jq -r .error_total "$WORK/$name.json")
    awk -v mode="$mode" -v round="$2" -v rate="$rate" -v p99="$p99" -v err="$errors" \
        -v m=$((m1 - m0)) -v s=$((s1 - s0)) -v hz="$hz" -v n="$MESSAGES" -v slave="$slave" \
        'BEGIN { printf "| %s | %d | %.0f | %.1f | %.1f | %s | %s |\n", mode, round, rate, p99 / 1000,
                 m * 1e6 / hz / n, (slave == "" ? "-" : sprintf("%.1f", s * 1e6 / hz / n)), err }'
    for pid in $slave $master $ns_pid; do
        kill "$pid" 2>/dev/null || true
        # Started in a subshell, so not ours to `wait` for: poll until it is gone.
        for _ in $(seq 200); do [[ -d /proc/$pid ]] || break; sleep 0.05; done
    done
    PIDS=()
    rm -rf "$WORK"/m-* "$WORK"/s-* "$WORK"/ns-*
}

"$BIN" bench raw-tcp --size 1024 --connections "$PRODUCERS" --in-flight "$IN_FLIGHT" \
    --messages "$MESSAGES" --quiet --json-out "$WORK/tcp.json" >/dev/null
echo
echo "Machine: $(nproc) cores; loopback TCP echo of 1 KiB: $(jq -r '.sent.msgs_per_s | floor' "$WORK/tcp.json") msgs/s"
echo
echo "| mode | round | msgs/s | p99 ms | master µs/msg | slave µs/msg | errors |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for round in $(seq "$ROUNDS"); do
    for mode in single async sync; do
        run "$mode" "$round"
    done
done
echo
echo "One producer, one send in flight ($LATENCY_MESSAGES sends):"
echo
echo "| mode | round | msgs/s | p50 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- |"
cat "$WORK/latency.md"
