#!/usr/bin/env bash
# /healthz latency while the proxy is saturated (SPEC: "under 1 ms p99 while the proxy is
# saturated"). Everything on 127.0.0.1, about 20 s, every process killed on exit.
#
#   bench/healthz_under_load.sh [path/to/sluice]        (default build/sluice)
#
# Set-up: a backend of 2 slow servers (python, answer after $DELAY s, longer than the run so no
# slot frees), max_connections 2 each; $QUEUED requests wait in the backend's queue, which is
# then full, so wrk (-t1 -c64) against the proxy gets an immediate 503 queue_full for every
# request: the event loops answer as fast as they can. Meanwhile one keep-alive client sends
# $PROBES sequential GET /healthz to the admin port and prints p50/p90/p99/max, then wrk -c1
# measures /healthz for 3 s with its own latency distribution. The python probe runs first on the
# idle proxy, as a baseline. Latencies include the client's own cost (python: ~50 us).
set -euo pipefail

SLUICE=${1:-build/sluice}
QUEUED=${QUEUED:-250}
DELAY=${DELAY:-30}
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-64}
PROBES=${PROBES:-2000}
HERE=$(cd "$(dirname "$0")" && pwd)
LOAD=(python3 "$HERE/healthz_load.py")

if [[ ! -x $SLUICE ]]; then
    echo "no sluice binary at $SLUICE (build it: cmake --build build --target sluice)" >&2
    exit 2
fi
if ! command -v wrk >/dev/null; then
    if [[ $(id -u) == 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
    fi
    command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls until FILE contains PATTERN; fails after 10 s.
wait_for() {
    local file=$1 pattern=$2
    for _ in $(seq 200); do
        grep -q "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "timed out waiting for '$pattern' in $file:" >&2
    cat "$file" >&2
    return 1
}

"${LOAD[@]}" backend "$DELAY" 2 >"$work/ports" &
pids+=($!)
wait_for "$work/ports" '[0-9]'
read -r port1 port2 <"$work/ports"

cat >"$work/sluice.yaml" <<YAML
threads: auto
access_log: off
admin: { bind: 127.0.0.1:0, busy_hold: 1s }
listeners:
  - name: web
    bind: 127.0.0.1:0
    default_backend: app
timeouts: { upstream_idle: 0s, queue: 60s, server: 60s, drain: 1s }
backends:
  - name: app
    queue: { max_length: $QUEUED }
    server_defaults: { max_connections: 2 }
    servers:
      - { name: app1, address: "127.0.0.1:$port1" }
      - { name: app2, address: "127.0.0.1:$port2" }
YAML

"$SLUICE" run -c "$work/sluice.yaml" 2>"$work/sluice.err" &
pids+=($!)
wait_for "$work/sluice.err" 'admin listening on'
web=$(sed -n 's/.*listener web listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/sluice.err")
admin=$(sed -n 's/.*admin listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/sluice.err")
echo "$("$SLUICE" --version 2>&1 | head -1), $(nproc) cores; backend 2 servers x 2 slots, replies after ${DELAY}s"

echo "== baseline: idle proxy"
"${LOAD[@]}" probe "$admin" "$PROBES"

echo "== saturated: 4 in flight, $QUEUED queued (queue full), wrk -t1 -c$WRK_CONNECTIONS -d${WRK_SECONDS}s on the proxy"
"${LOAD[@]}" hold "$web" $((QUEUED + 4)) >"$work/hold.out" &
pids+=($!)
"${LOAD[@]}" wait-queue "$admin" "$QUEUED" 20
wrk -t1 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" "http://127.0.0.1:$web/" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 1  # let wrk open its connections and reach full rate
"${LOAD[@]}" probe "$admin" "$PROBES"
echo "-- the same from a C client, wrk -t1 -c1 -d3s --latency on /healthz (still under load):"
wrk -t1 -c1 -d3s --latency "http://127.0.0.1:$admin/healthz" 2>&1 |
    grep -E '^ +(50|90|99)%|Requests/sec|Non-2xx' | sed 's/^ */   /'
kill -0 "$wrk_pid" 2>/dev/null || echo "note: the load ended before the probes did (raise WRK_SECONDS)"
"${LOAD[@]}" wait-queue "$admin" "$QUEUED" 1 >/dev/null || echo "note: the queue drained during the probe"
wait "$wrk_pid" || true
echo "-- wrk on the proxy (every answer is an immediate 503 queue_full):"
grep -E 'Requests/sec|Latency|Non-2xx|requests in|Socket errors' "$work/wrk.out" | sed 's/^ */   /'
echo "-- /metrics after:"
python3 - "$admin" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode()
for line in body.splitlines():
    if line.startswith(("sluice_queue_rejected_total", "sluice_queue_length", "sluice_busy ",
                        "sluice_busy_transitions_total", "sluice_server_in_flight")):
        print("   " + line)
PY
