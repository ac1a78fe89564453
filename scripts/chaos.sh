#!/usr/bin/env bash
# Chaos for controller-mode failover, with real processes on loopback: an `apogee namesrv`,
# three `apogee controller`s and two broker sets (broker-a, broker-b) of two `apogee broker`s
# each (allAckInSyncStateSet). `apogee bench checked` produces ordered messages (retried until
# acknowledged) and consumes them with an orderly consumer throughout. Each round takes the
# current master of one set down — SIGKILL (then restarted), SIGSTOP (then SIGCONT) or, when
# run as root, a network partition — waits until the controllers name a new master (the
# recovery time), brings the old one back and waits until both brokers are in sync again.
#
# As root (NETNS=auto, the default; NETNS=0 turns it off) every broker runs in its own network
# namespace joined to a bridge (10.77.0.0/24: NameServer and checker on .1, controllers on
# .2–.4, brokers on .11–.14), and every third round partitions the master: blackhole routes in
# its namespace cut it off from the controllers and from the other broker of its set while
# producers and consumers still reach it (the split-brain case fencing is for). Healing
# removes the routes. Without root, rounds alternate SIGKILL and SIGSTOP on loopback.
#
# The last line is machine-readable: `lost N, duplicated N, recovery p99 N ms`.
#
#   scripts/chaos.sh                    # release build, 20 rounds
#   ROUNDS=5 scripts/chaos.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-20}
TIMEOUT=${TIMEOUT:-60}

cargo build --release -p apogee-cli >&2
used=$(df --output=pcent "${CHAOS_DIR:-/tmp}" | tail -1 | tr -dc 0-9)
if (( used > 80 )); then
    echo "warning: ${CHAOS_DIR:-/tmp} is ${used}% full; brokers refuse writes above 90% (disk_space_warning_level_ratio)" >&2
fi
BIN="${CARGO_TARGET_DIR:-target}/release/apogee"
WORK=$(mktemp -d "${CHAOS_DIR:-/tmp}/apogee-chaos.XXXXXX")
declare -A PID ADDR STARTS IP
BROKERS=(a0 a1 b0 b1)
NETNS=${NETNS:-auto}
if [[ $NETNS == auto ]]; then
    NETNS=0
    if [[ $(id -u) == 0 ]] && ip netns add apg-probe 2>/dev/null; then ip netns del apg-probe; NETNS=1; fi
fi
netns_down() {
    for name in "${BROKERS[@]}"; do ip netns del "apg-$name" 2>/dev/null || true; done
    ip link del apg-br0 2>/dev/null || true
}
cleanup() {
    for pid in "${PID[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ $NETNS == 1 ]]; then netns_down; fi
    if [[ -z "${KEEP:-}" ]]; then rm -rf "$WORK"; else echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

HOST_IP=127.0.0.1
CTL_IP=(127.0.0.1 127.0.0.1 127.0.0.1)
for name in "${BROKERS[@]}"; do IP[$name]=127.0.0.1; done
if [[ $NETNS == 1 ]]; then
    netns_down
    ip link add apg-br0 type bridge
    ip link set apg-br0 up
    HOST_IP=10.77.0.1
    CTL_IP=(10.77.0.2 10.77.0.3 10.77.0.4)
    for ip in "$HOST_IP" "${CTL_IP[@]}"; do ip addr add "$ip/24" dev apg-br0; done
    n=11
    for name in "${BROKERS[@]}"; do
        IP[$name]=10.77.0.$n
        ip netns add "apg-$name"
        ip link add "apg-$name-h" type veth peer name "apg-$name-n"
        ip link set "apg-$name-n" netns "apg-$name"
        ip link set "apg-$name-h" master apg-br0 up
        ip netns exec "apg-$name" ip addr add "${IP[$name]}/24" dev "apg-$name-n"
        ip netns exec "apg-$name" ip link set "apg-$name-n" up
        ip netns exec "apg-$name" ip link set lo up
        n=$((n + 1))
    done
    echo "network namespaces: brokers $(for b in "${BROKERS[@]}"; do printf "%s=%s " "$b" "${IP[$b]}"; done)controllers ${CTL_IP[*]}, NameServer $HOST_IP" >&2
fi
in_ns() { # broker name, command...: runs the command in the broker's namespace (if any)
    local name=$1
    shift
    if [[ $NETNS == 1 ]]; then exec ip netns exec "apg-$name" "$@"; else exec "$@"; fi
}

free_port() { python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "${1:-127.0.0.1}"; }

addr_in() { # log file, prefix, ip: waits for "<prefix> listening on <addr>"; prints <ip>:<port>
    for _ in $(seq 400); do
        local line
        line=$(grep -m1 "$2 listening on" "$1" || true)
        if [[ -n "$line" ]]; then
            line=${line#*listening on }
            line=${line%% *}
            echo "${3:-127.0.0.1}:${line##*:}"
            return
        fi
        sleep 0.05
    done
    echo "error: no '$2 listening on' in $1" >&2
    tail -20 "$1" >&2
    exit 1
}

now_ms() { date +%s%3N; }

"$BIN" namesrv --listen-address "$HOST_IP" --listen-port 0 --data-dir "$WORK/ns" >"$WORK/ns.log" 2>&1 &
PID[ns]=$!
NS=$(addr_in "$WORK/ns.log" "NameServer" "$HOST_IP")

PEERS=""
CONTROLLERS=""
for i in 0 1 2; do
    port=$(free_port "${CTL_IP[$i]}")
    PEERS+="n$i-${CTL_IP[$i]}:$port;"
    CONTROLLERS+="${CTL_IP[$i]}:$port;"
done
for i in 0 1 2; do
    "$BIN" controller --peers "$PEERS" --self-id "n$i" --data-dir "$WORK/ctl$i" \
        --set "listen_address=\"${CTL_IP[$i]}\"" >"$WORK/ctl$i.log" 2>&1 &
    PID[ctl$i]=$!
    addr_in "$WORK/ctl$i.log" "controller" >/dev/null
done
FIRST_CONTROLLER=${CONTROLLERS%%;*}

start_broker() { # name (a0, a1, b0, b1); each start logs to its own file
    local name=$1 set="broker-${1:0:1}"
    STARTS[$name]=$(( ${STARTS[$name]:-0} + 1 ))
    local log="$WORK/$name.${STARTS[$name]}.log" ip=${IP[$name]}
    (in_ns "$name" "$BIN" broker -n "$NS" -p 0 --store-dir "$WORK/$name" \
        --set "broker_ip1=\"$ip\"" --set "listen_address=\"$ip\"" \
        --set "broker_name=\"$set\"" --set enable_controller_mode=true \
        --set "controller_addr=\"$CONTROLLERS\"" --set all_ack_in_sync_state_set=true \
        --set ha_send_heartbeat_interval_ms=500 --set ha_housekeeping_interval_ms=5000 \
        --set mapped_file_size_commit_log=$((64 * 1024 * 1024)) \
        --set mapped_file_size_consume_queue=600000) \
        >"$log" 2>&1 &
    PID[$name]=$!
    ADDR[$name]=$(addr_in "$log" "broker" "$ip")
}

sync_state() { # set: prints "<master address> <in-sync count>" or nothing
    "$BIN" admin -n "$NS" getSyncStateSet -a "$FIRST_CONTROLLER" -b "$1" --json 2>/dev/null |
        python3 -c 'import json,sys
try:
    s = json.load(sys.stdin)["replicasInfoTable"][sys.argv[1]]
    print(s.get("masterAddress", ""), len(s["inSyncReplicas"]))
except Exception:
    pass' "$1"
}

wait_for() { # description, command...: polls until the command succeeds
    local what=$1 deadline=$(( $(date +%s) + TIMEOUT ))
    shift
    until "$@"; do
        if (( $(date +%s) > deadline )); then echo "error: timed out waiting for $what" >&2; exit 1; fi
        sleep 0.05
    done
}

in_sync() { local s; s=$(sync_state "$1"); [[ -n "$s" && "${s##* }" == 2 ]]; }

for name in "${BROKERS[@]}"; do start_broker "$name"; done
wait_for "broker-a in sync" in_sync broker-a
wait_for "broker-b in sync" in_sync broker-b
echo "cluster up: namesrv $NS, controllers $CONTROLLERS" >&2

SECONDS_TOTAL=$(( ROUNDS * 14 + 20 )) # rounds take 8–14 s; the checker outlasts them
"$BIN" bench checked -n "$NS" --topic ChaosOrdered --cluster DefaultCluster --seconds "$SECONDS_TOTAL" \
    --drain-seconds 90 >"$WORK/checked.json" 2>"$WORK/checked.log" &
CHECKER=$!
sleep 5
kill -0 "$CHECKER" 2>/dev/null || { echo "error: the checker stopped:" >&2; cat "$WORK/checked.log" >&2; exit 1; }

owner_of() { # address → broker name
    for name in a0 a1 b0 b1; do
        if [[ "${ADDR[$name]}" == "$1" ]]; then echo "$name"; return; fi
    done
}

peer_of() { case $1 in a0) echo a1 ;; a1) echo a0 ;; b0) echo b1 ;; b1) echo b0 ;; esac; }

RECOVERY=()
for round in $(seq 1 "$ROUNDS"); do
    set=broker-$([[ $((round % 2)) == 0 ]] && echo a || echo b)
    read -r master _ <<<"$(sync_state "$set")"
    victim=$(owner_of "$master")
    [[ -n "$victim" ]] || { echo "error: no broker owns $master" >&2; exit 1; }
    if [[ $NETNS == 1 ]]; then
        signal=$(case $((round % 3)) in 0) echo PART ;; 1) echo STOP ;; *) echo KILL ;; esac)
    elif (( round % 2 == 0 )); then signal=KILL; else signal=STOP; fi
    t0=$(now_ms)
    if [[ $signal == PART ]]; then
        cut=("${CTL_IP[@]}" "${IP[$(peer_of "$victim")]}")
        for ip in "${cut[@]}"; do ip netns exec "apg-$victim" ip route add blackhole "$ip/32"; done
    else
        kill -"$signal" "${PID[$victim]}"
    fi
    new_master() { local s; s=$(sync_state "$set"); [[ -n "$s" && "${s%% *}" != "$master" && -n "${s%% *}" ]]; }
    wait_for "a new master of $set" new_master
    t1=$(now_ms)
    RECOVERY+=( $(( t1 - t0 )) )
    what=$([[ $signal == PART ]] && echo partition || echo "SIG$signal")
    echo "round $round: $what $victim ($set master $master) → new master after $(( t1 - t0 )) ms" >&2
    if [[ $signal == KILL ]]; then
        { wait "${PID[$victim]}"; } 2>/dev/null || true
        start_broker "$victim"
    elif [[ $signal == PART ]]; then
        sleep 2 # the old master stays cut off a while longer, its clients still sending to it
        for ip in "${cut[@]}"; do ip netns exec "apg-$victim" ip route del blackhole "$ip/32"; done
    else
        kill -CONT "${PID[$victim]}"
    fi
    wait_for "$set back in sync" in_sync "$set"
    sleep 1
done

wait "$CHECKER" || true
cat "$WORK/checked.json" >&2
python3 - "$WORK/checked.json" "${RECOVERY[@]}" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rec = sorted(int(x) for x in sys.argv[2:])
def pct(p):
    return rec[min(len(rec) - 1, int(round(p / 100 * (len(rec) - 1))))] if rec else 0
outages = sorted(report["outages_ms"])
print(f"rounds {len(rec)}; recovery (new master named) p50 {pct(50)} ms, p99 {pct(99)} ms, max {rec[-1] if rec else 0} ms;"
      f" acknowledged {report['acknowledged']}, received {report['received']}, out of order {report['out_of_order']},"
      f" producer stalls > 100 ms: {len(outages)} (longest {outages[-1] if outages else 0} ms)", file=sys.stderr)
if report.get("stalled"):
    print(f"producer stopped early: {report['stalled']}", file=sys.stderr)
print(f"lost {report['lost']}, duplicated {report['duplicated']}, recovery p99 {pct(99)} ms")
PY
