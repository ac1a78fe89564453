#!/usr/bin/env bash
# Apogee's performance run: the machine's raw limits and the broker's figures, measured in one
# go on this machine, printed as markdown tables where every broker figure is also shown as a
# fraction of the matching raw limit (see docs/PERFORMANCE.md for what each ratio means).
#
#   scripts/perf.sh                  # release build, then every measurement (~20 s after the build)
#   PERF_DIR=/data scripts/perf.sh   # data on another disk (default: a new dir under /tmp)
#   MESSAGES=20000 scripts/perf.sh   # fewer messages per run (default 100000, at most 256 MiB)
#
# Data (broker store, disk-append files) lives in one temp dir that is deleted at the end.
# The broker runs as `apogee standalone` on free ports, once with ASYNC_FLUSH and once with
# SYNC_FLUSH; bench client and broker share the machine's cores.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=(128 1024 16384)
PRODUCERS=${PRODUCERS:-4}
IN_FLIGHT=${IN_FLIGHT:-32}
MESSAGES=${MESSAGES:-100000}
# Sync-flush sends wait for fdatasync: fewer of them keep the run short.
SYNC_MESSAGES=${SYNC_MESSAGES:-$((MESSAGES / 4))}
# Most messages a group commit can gather with this many sends outstanding.
SYNC_BATCH=$((PRODUCERS * IN_FLIGHT))
E2E_RATE=${E2E_RATE:-5000}
BYTES_MAX=$((256 * 1024 * 1024))

cargo build --release -p apogee-cli >&2
BIN="${CARGO_TARGET_DIR:-target}/release/apogee"

WORK=$(mktemp -d "${PERF_DIR:-/tmp}/apogee-perf.XXXXXX")
BROKER_PID=""
cleanup() {
    if [[ -n "$BROKER_PID" ]]; then
        kill "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The broker refuses writes when its disk is over 90 % used (counting reserved blocks).
used=$(df -P "$WORK" | awk 'NR == 2 { printf "%d", ($2 - $4) * 100 / $2 }')
if ((used >= 89)); then
    echo "error: the disk of $WORK is ${used}% used; the broker refuses writes above 90%." >&2
    echo "Free some space or point PERF_DIR at another disk." >&2
    exit 1
fi

messages_for() { # messages of size $1 out of a budget of $2, capped at BYTES_MAX
    local n=$2
    ((n * $1 > BYTES_MAX)) && n=$((BYTES_MAX / $1))
    echo "$n"
}

bench() { # name, then `apogee bench` arguments; the JSON report goes to $WORK/<name>.json
    local name=$1
    shift
    echo "  $name" >&2
    "$BIN" bench "$@" --quiet --json-out "$WORK/$name.json" >/dev/null
}

start_broker() { # flush type: ASYNC_FLUSH or SYNC_FLUSH; sets NAMESRV and BROKER_PID
    local data="$WORK/data-$1"
    mkdir -p "$data"
    "$BIN" standalone --namesrv-port 0 -p 0 --data-dir "$data" \
        --set 'broker_ip1="127.0.0.1"' \
        --set "flush_disk_type=\"$1\"" \
        --set mapped_file_size_commit_log=$((256 * 1024 * 1024)) \
        >"$WORK/standalone-$1.log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 100); do
        local line
        line=$(grep -m1 "NameServer listening on" "$WORK/standalone-$1.log" || true)
        if [[ -n "$line" ]]; then
            NAMESRV="127.0.0.1:${line##*:}"
            return
        fi
        sleep 0.1
    done
    echo "error: standalone did not start:" >&2
    cat "$WORK/standalone-$1.log" >&2
    exit 1
}

stop_broker() {
    kill "$BROKER_PID"
    wait "$BROKER_PID" || true
    BROKER_PID=""
    rm -rf "$WORK"/data-*
}

echo "raw limits" >&2
for size in "${SIZES[@]}"; do
    n=$(messages_for "$size" "$MESSAGES")
    bench "raw-tcp-$size" raw-tcp --size "$size" --connections "$PRODUCERS" \
        --in-flight "$IN_FLIGHT" --messages "$n"
    bench "raw-disk-async-$size" raw-disk --dir "$WORK" --size "$size" --messages "$n"
    bench "raw-disk-sync-$size" raw-disk --dir "$WORK" --size "$size" --sync \
        --batch "$SYNC_BATCH" --messages "$(messages_for "$size" "$SYNC_MESSAGES")"
done

echo "broker, ASYNC_FLUSH" >&2
start_broker ASYNC_FLUSH
for size in "${SIZES[@]}"; do
    n=$(messages_for "$size" "$MESSAGES")
    topic="Perf$size"
    bench "produce-async-$size" produce -n "$NAMESRV" --topic "$topic" --size "$size" \
        --producers "$PRODUCERS" --in-flight "$IN_FLIGHT" --messages "$n"
    bench "consume-$size" consume -n "$NAMESRV" --topic "$topic" --messages "$n" \
        --idle-timeout 10s
done
e2e_n=$((E2E_RATE * 4))
bench e2e-1024 e2e -n "$NAMESRV" --topic PerfE2e --size 1024 --producers "$PRODUCERS" \
    --in-flight "$IN_FLIGHT" --rate "$E2E_RATE" --messages "$e2e_n"
stop_broker

echo "broker, SYNC_FLUSH" >&2
start_broker SYNC_FLUSH
for size in "${SIZES[@]}"; do
    bench "produce-sync-$size" produce -n "$NAMESRV" --topic "Perf$size" --size "$size" \
        --producers "$PRODUCERS" --in-flight "$IN_FLIGHT" \
        --messages "$(messages_for "$size" "$SYNC_MESSAGES")"
done
stop_broker

# ---- report ----
get() { jq -r "$2" "$WORK/$1.json"; }
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }'; }
ms() { awk -v v="$1" 'BEGIN { if (v == "null") printf "-"; else printf "%.1f", v / 1000 }'; }
errors() {
    local e
    e=$(get "$1" .error_total)
    [[ "$e" == 0 ]] && echo "" || echo " ($e errors)"
}

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM," \
    "kernel $(uname -r); data in $(df -P "$WORK" | awk 'NR == 2 { print $1 }')" \
    "($(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || echo '?'))."
echo "Clients: $PRODUCERS producers x $IN_FLIGHT sends in flight (async callbacks), 1 push consumer;" \
    "raw TCP: $PRODUCERS connections x $IN_FLIGHT frames in flight; sync disk: fdatasync every $SYNC_BATCH appends."
echo
echo "### Raw limits"
echo
echo "| size | TCP echo msgs/s | TCP echo MB/s | disk append (async) msgs/s | MB/s | disk append + fdatasync/$SYNC_BATCH msgs/s | MB/s | fdatasync p99 ms |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for size in "${SIZES[@]}"; do
    t="raw-tcp-$size" a="raw-disk-async-$size" s="raw-disk-sync-$size"
    echo "| $size B | $(fmt "$(get "$t" .sent.msgs_per_s)") | $(fmt "$(get "$t" .sent.mb_per_s)" 1)" \
        "| $(fmt "$(get "$a" .sent.msgs_per_s)") | $(fmt "$(get "$a" .sent.mb_per_s)" 1)" \
        "| $(fmt "$(get "$s" .sent.msgs_per_s)") | $(fmt "$(get "$s" .sent.mb_per_s)" 1)" \
        "| $(ms "$(get "$s" .extra.fsync_latency.p99_us)") |"
done
echo
echo "### Apogee against the limits"
echo
echo "| size | run | msgs/s | MB/s | p99 ms | ÷ TCP echo (msgs/s) | ÷ matching disk limit |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
for size in "${SIZES[@]}"; do
    t="raw-tcp-$size" pa="produce-async-$size" c="consume-$size" ps="produce-sync-$size"
    tcp=$(get "$t" .sent.msgs_per_s)
    echo "| $size B | produce, async flush$(errors "$pa") | $(fmt "$(get "$pa" .sent.msgs_per_s)")" \
        "| $(fmt "$(get "$pa" .sent.mb_per_s)" 1) | $(ms "$(get "$pa" .send_latency.p99_us)")" \
        "| $(ratio "$(get "$pa" .sent.msgs_per_s)" "$tcp")" \
        "| $(ratio "$(get "$pa" .sent.mb_per_s)" "$(get "raw-disk-async-$size" .sent.mb_per_s)") of async disk MB/s |"
    echo "| $size B | consume (push, from backlog)$(errors "$c") | $(fmt "$(get "$c" .received.msgs_per_s)")" \
        "| $(fmt "$(get "$c" .received.mb_per_s)" 1) | - | $(ratio "$(get "$c" .received.msgs_per_s)" "$tcp") | - |"
    echo "| $size B | produce, sync flush$(errors "$ps") | $(fmt "$(get "$ps" .sent.msgs_per_s)")" \
        "| $(fmt "$(get "$ps" .sent.mb_per_s)" 1) | $(ms "$(get "$ps" .send_latency.p99_us)")" \
        "| $(ratio "$(get "$ps" .sent.msgs_per_s)" "$tcp")" \
        "| $(ratio "$(get "$ps" .sent.msgs_per_s)" "$(get "raw-disk-sync-$size" .sent.msgs_per_s)") of sync disk msgs/s |"
done
echo
e=e2e-1024
echo "End to end (1024 B, $E2E_RATE msgs/s offered, async flush): received" \
    "$(get "$e" .received.messages) of $(get "$e" .sent.messages)$(errors "$e"); send → receive" \
    "p50 $(ms "$(get "$e" .e2e_latency.p50_us)") ms, p99 $(ms "$(get "$e" .e2e_latency.p99_us)") ms," \
    "max $(ms "$(get "$e" .e2e_latency.max_us)") ms."
