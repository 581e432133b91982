#!/usr/bin/env bash
# Live check of dashboards/: a real sluice under real traffic, scraped by a real Prometheus
# (Debian package), then every query of every panel of dashboards/sluice.json is evaluated
# through Prometheus's HTTP API. Fails on any query that errors, returns nothing, or returns only
# NaN. Also loads dashboards/alerts.yml into that Prometheus and fails if a rule cannot be
# evaluated against the real series.
#
#   SLUICE_BINARY=build/sluice bash tests/dashboards/live_check.sh
#   bash tests/dashboards/live_check.sh build/sluice          (the same)
#
# Everything listens on 127.0.0.1 only, on free ports; every process it starts is stopped on exit;
# the whole run is bounded by LIVE_CHECK_TIMEOUT seconds (default 90).
# Without prometheus installed: installs the Debian package when root, else prints SKIP, exit 0.
set -uo pipefail

# ------------------------------------------------------------------------------------------------
# Panels that may be skipped, and only while the feature behind them is not there.
# One entry per line: panel title | regex that must match the /metrics text for the panel to be
# checked | why it is skipped otherwise. A listed panel whose regex matches is checked like any
# other, so entries do not hide regressions once the feature exists.
ALLOW_MISSING='
Health check results            | ^sluice_health_checks_total\{                         | active health checks do not export sluice_health_checks_total yet
Health check duration quantiles | ^sluice_health_check_duration_seconds_bucket\{        | active health checks do not export sluice_health_check_duration_seconds yet
Servers down                    | ^sluice_server_state\{[^}]*state="down"               | no server is reported in state down (health checks not built yet?)
Busy/free signal                | ^sluice_busy_transitions_total\{                      | sluice_busy_transitions_total not exported (no busy/free transition yet)
Config reloads                  | ^sluice_config_reloads_total\{                        | SIGHUP reload not built yet (sluice does not catch SIGHUP), so no reload was counted
Days to certificate expiry      | ^sluice_tls_certificate_expiry_timestamp_seconds\{    | no TLS listener in the live config (or TLS metrics not exported yet)
TLS handshakes                  | ^sluice_tls_handshakes_total\{                        | no TLS listener in the live config (or TLS metrics not exported yet)
TLS handshake errors            | ^sluice_tls_handshake_errors_total\{                  | no failed TLS handshake in the live traffic (or TLS metrics not exported yet)
'
# ------------------------------------------------------------------------------------------------

LIMIT="${LIVE_CHECK_TIMEOUT:-90}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [ -z "${SLUICE_LIVE_CHECK_INNER:-}" ]; then
    # Outer run: preconditions, then the real work under a hard time limit.
    SLUICE_BINARY="${SLUICE_BINARY:-${1:-}}"
    if [ -z "${SLUICE_BINARY:-}" ]; then
        echo "FAIL: set SLUICE_BINARY to the built sluice binary (e.g. build/sluice)" >&2
        exit 1
    fi
    case "$SLUICE_BINARY" in /*) ;; *) SLUICE_BINARY="$PWD/$SLUICE_BINARY" ;; esac
    if [ ! -x "$SLUICE_BINARY" ]; then
        echo "FAIL: SLUICE_BINARY=$SLUICE_BINARY is not an executable file" >&2
        exit 1
    fi
    for tool in python3 curl; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "FAIL: $tool is needed" >&2
            exit 1
        fi
    done
    if ! command -v prometheus >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "prometheus not found: installing the Debian package 'prometheus' with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } ||
                { echo "FAIL: apt-get install prometheus failed" >&2; exit 1; }
        else
            echo "SKIP: prometheus is not installed and we are not root (install the Debian package" \
                 "'prometheus', or run as root to let this script install it)"
            exit 0
        fi
    fi
    export SLUICE_BINARY SLUICE_LIVE_CHECK_INNER=1
    timeout -k 5 "$LIMIT" bash "${BASH_SOURCE[0]}" "$@"
    rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "FAIL: live check did not finish within ${LIMIT}s" >&2
        exit 1
    fi
    exit "$rc"
fi

# ------------------------------------------------------------------------------------------------
# Inner run.
PROMETHEUS="$(command -v prometheus)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-live-check.XXXXXX")"
pids=()

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        # Our traffic subshell has curl children: freeze it, end them (by parent id), then it.
        kill -STOP "$pid" 2>/dev/null
        pkill -TERM -P "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
        kill -CONT "$pid" 2>/dev/null
    done
    sleep 0.3
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    if [ -n "${KEEP_WORKDIR:-}" ]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted (time limit?)" >&2; exit 124' TERM INT

fail() {
    echo "FAIL: $*" >&2
    for f in sluice.err prometheus.log; do
        if [ -s "$work/$f" ]; then
            echo "---- last lines of $f" >&2
            tail -n 25 "$work/$f" >&2
        fi
    done
    exit 1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Polls "$@" every 0.1 s until it succeeds or $1 seconds passed.
wait_for() {
    local secs="$1"; shift
    local end=$((SECONDS + secs))
    until "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.1
    done
}

# ---------------------------------------------------------------- backends
# app1: a real HTTP server (200 for /, 404 for anything else).
mkdir -p "$work/www"
echo "hello from app1" > "$work/www/index.html"
app_port="$(free_port)"
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$app_port" \
    >"$work/app.log" 2>&1 &
pids+=($!)

# slow1: accepts connections, reads the request and never answers (-> server timeouts, queueing,
# queue rejections, busy).
cat > "$work/blackhole.py" <<'PY'
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(256)
print(s.getsockname()[1], flush=True)
held = []
def reaper():
    while True:
        time.sleep(1)
        now = time.monotonic()
        for item in [h for h in held if now - h[1] > 10]:
            held.remove(item)
            item[0].close()
threading.Thread(target=reaper, daemon=True).start()
while True:
    c, _ = s.accept()
    held.append((c, time.monotonic()))
PY
python3 "$work/blackhole.py" > "$work/blackhole.port" 2>"$work/blackhole.log" &
pids+=($!)
wait_for 5 test -s "$work/blackhole.port" || fail "blackhole backend did not start"
slow_port="$(head -n1 "$work/blackhole.port")"

# Closed ports: nothing listens there (connect refused).
closed_port1="$(free_port)"
closed_port2="$(free_port)"
# A DNS resolver that is not there (nothing listens on this UDP port): discovery never gets an
# answer, and no query leaves the machine.
no_resolver_port="$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"

wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$app_port/" || fail "python http.server did not start"

# ---------------------------------------------------------------- sluice
cat > "$work/sluice.yaml" <<EOF
threads: 2
access_log: $work/access.log

listeners:
  - name: web
    bind: 127.0.0.1:0
    routes:
      - match: { path_prefix: /dead }
        backend: dead
      - match: { path_prefix: /retry }
        backend: retry
      - match: { path_prefix: /slow }
        backend: slow
        timeouts: { server: 400ms, queue: 300ms }
    default_backend: app

admin:
  bind: 127.0.0.1:0
  busy_hold: 100ms

timeouts:
  upstream_idle: 0s
  connect: 500ms
  server: 2s
  queue: 1s
  drain: 1s

backends:
  # app: one healthy server (200 for /, 404 for anything else)
  - name: app
    queue: { max_length: 100 }
    server_defaults: { max_connections: 4 }
    servers:
      - { name: app1, address: 127.0.0.1:$app_port }
    health:
      http: { method: GET, path: /, expect_status: [200] }
      interval: 500ms
      timeout: 300ms
      rise: 1
      fall: 1
  # dead: its only server is a closed port (502 connect failure; once health checks run it is
  # down and requests wait for timeouts.queue: 503)
  - name: dead
    server_defaults: { max_connections: 2 }
    servers:
      - { name: dead1, address: 127.0.0.1:$closed_port1 }
    health:
      interval: 500ms
      timeout: 300ms
      rise: 1
      fall: 1
  # retry: one closed port and one healthy server, no health checks: connect failures retried
  - name: retry
    retries: { attempts: 1, on: [connect_failure] }
    passive: { consecutive_failures: 0 }
    server_defaults: { max_connections: 2 }
    servers:
      - { name: r1, address: 127.0.0.1:$closed_port2 }
      - { name: r2, address: 127.0.0.1:$app_port }
  # slow: one server that never answers (504 server timeouts, queueing, 503 queue full/timeout)
  - name: slow
    queue: { max_length: 2 }
    server_defaults: { max_connections: 1 }
    servers:
      - { name: slow1, address: 127.0.0.1:$slow_port }
  # found: servers from DNS, asked of a resolver that is not there: every resolution fails, no
  # server is ever found (sluice_discovery_servers 0, sluice_discovery_errors_total counting).
  # No route leads here.
  - name: found
    discovery:
      dns: app.sluice.invalid
      port: $app_port
      interval: 1s
      resolvers: [127.0.0.1:$no_resolver_port]
      timeout: 300ms
    server_defaults: { max_connections: 2 }
EOF

"$SLUICE_BINARY" run -c "$work/sluice.yaml" >"$work/sluice.out" 2>"$work/sluice.err" &
sluice_pid=$!
pids+=("$sluice_pid")

addresses_logged() {
    grep -q 'listener web listening on ' "$work/sluice.err" 2>/dev/null &&
        grep -Eq 'admin[^ ]* listening on ' "$work/sluice.err" 2>/dev/null
}
if ! wait_for 10 addresses_logged; then
    kill -0 "$sluice_pid" 2>/dev/null || fail "sluice exited at start-up"
    grep -q 'listener web listening on ' "$work/sluice.err" 2>/dev/null &&
        fail "sluice did not log 'admin listening on HOST:PORT' (no admin server / metrics yet?)"
    fail "sluice did not log its listening addresses"
fi
listen_addr="$(sed -n 's/.*listener web listening on \([0-9.]*:[0-9]*\).*/\1/p' "$work/sluice.err" | head -n1)"
admin_addr="$(sed -En 's/.*admin[^ ]* listening on ([0-9.]+:[0-9]+).*/\1/p' "$work/sluice.err" | head -n1)"
if [ -z "$listen_addr" ] || [ -z "$admin_addr" ]; then fail "cannot parse the listening addresses"; fi
echo "sluice: listener web on $listen_addr, admin on $admin_addr"

metrics_ok() { curl -sf --max-time 2 "http://$admin_addr/metrics" -o "$work/metrics.txt" && grep -q '^sluice_' "$work/metrics.txt"; }
wait_for 5 metrics_ok || fail "http://$admin_addr/metrics does not answer 200 with sluice_ metrics"

# ---------------------------------------------------------------- traffic
traffic() {
    local i
    while :; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 3 "http://$listen_addr/"
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 3 "http://$listen_addr/missing-$RANDOM"
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 3 "http://$listen_addr/dead/x"
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 3 "http://$listen_addr/retry/$RANDOM"
        for i in 1 2 3 4 5; do
            curl -s -o /dev/null -w '%{http_code}\n' --max-time 3 "http://$listen_addr/slow/$i" &
        done
        wait
        sleep 0.1
    done >>"$work/codes.txt" 2>/dev/null
}
traffic &
pids+=($!)

# ---------------------------------------------------------------- prometheus
prom_port="$(free_port)"
prom="http://127.0.0.1:$prom_port"
cat > "$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - $repo_root/dashboards/alerts.yml
scrape_configs:
  - job_name: sluice
    static_configs:
      - targets: ['$admin_addr']
EOF
"$PROMETHEUS" --config.file="$work/prometheus.yml" \
    --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" \
    --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
wait_for 20 curl -sf -o /dev/null --max-time 1 "$prom/-/ready" || fail "prometheus did not become ready"
echo "prometheus: $prom (scraping $admin_addr every 1s)"

# A reload, if this sluice handles SIGHUP (otherwise SIGHUP would kill it).
sigcgt="$(awk '/^SigCgt:/ {print $2}' "/proc/$sluice_pid/status" 2>/dev/null)"
if [ -n "$sigcgt" ] && (( (16#$sigcgt) & 1 )); then
    sleep 1
    kill -HUP "$sluice_pid"
    echo "sent SIGHUP to sluice (config reload)"
else
    echo "sluice does not catch SIGHUP: no reload sent"
fi

# prom_value QUERY: prints the first sample's value of an instant query, or nothing.
prom_value() {
    curl -s --max-time 3 --get "$prom/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    pass'
}
enough_scrapes() {
    local n
    n="$(prom_value 'count_over_time(up{job="sluice"}[1m])')"
    [ -n "$n" ] && [ "${n%.*}" -ge 12 ] && [ "$(prom_value 'up{job="sluice"}')" = "1" ]
}
wait_for 40 enough_scrapes || fail "prometheus did not scrape sluice successfully 12 times ($(prom_value 'up{job="sluice"}') = up)"
kill -0 "$sluice_pid" 2>/dev/null || fail "sluice died during the test"
echo "prometheus has scraped sluice $(prom_value 'count_over_time(up{job="sluice"}[1m])') times"

curl -sf --max-time 2 "http://$admin_addr/metrics" -o "$work/metrics.txt" || fail "/metrics stopped answering"

echo "responses seen by the traffic generator:"
sort "$work/codes.txt" | uniq -c | sed 's/^/   /'
grep -q '^200$' "$work/codes.txt" || fail "no 200 response through sluice"
grep -q '^404$' "$work/codes.txt" || fail "no 404 response through sluice"
grep -q '^5[0-9][0-9]$' "$work/codes.txt" || fail "no 5xx response through sluice (dead and slow backends)"
echo "discovery of backend found (its resolver is not there):"
grep -E '^sluice_discovery_(servers|errors_total)\{[^}]*backend="found"' "$work/metrics.txt" | sed 's/^/   /'
grep -Eq '^sluice_discovery_errors_total\{[^}]*backend="found"[^}]*\} [1-9]' "$work/metrics.txt" ||
    fail "backend found's failed resolutions are not counted in sluice_discovery_errors_total"

# ---------------------------------------------------------------- every panel query
ALLOW_MISSING="$ALLOW_MISSING" PYTHONPATH="$repo_root/tests/dashboards" \
    python3 - "$repo_root/dashboards/sluice.json" "$prom" "$work/metrics.txt" <<'PY' || fail "dashboard queries failed against live data (see above)"
import json
import math
import os
import re
import sys
import urllib.parse
import urllib.request

from dashboard_queries import all_panels, substitute

dash_path, prom, metrics_path = sys.argv[1:4]
metrics = open(metrics_path).read()

allow = {}
for line in os.environ["ALLOW_MISSING"].strip().splitlines():
    title, regex, why = (part.strip() for part in line.split("|", 2))
    allow[title] = (regex, why)


def get(path, **params):
    url = prom + path + "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": f"HTTP {e.code}"}


dash = json.load(open(dash_path))
failures, skipped, checked = [], [], 0

# Template variables: label_values(metric, label) must list the labels of the live series.
for var in dash["templating"]["list"]:
    if var.get("type") != "query":
        continue
    q = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
    m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", q)
    if not m:
        failures.append(f"variable {var['name']}: cannot read {q!r}")
        continue
    r = get(f"/api/v1/label/{m.group(2)}/values", **{"match[]": m.group(1)})
    values = r.get("data") or []
    print(f"variable {var['name']}: {q} -> {values}")
    if r.get("status") != "success" or not values:
        failures.append(f"variable {var['name']}: {q} returned nothing ({r.get('error', '')})")
    if var["name"] == "backend" and not {"app", "dead", "retry", "slow"} <= set(values):
        failures.append(f"variable backend: expected app, dead, retry, slow in {values}")


for p in all_panels(dash["panels"]):
    if p.get("type") == "row":
        continue
    title = p["title"]
    if title in allow and not re.search(allow[title][0], metrics, re.M):
        skipped.append(f"{title}: {allow[title][1]}")
        continue
    for t in p.get("targets", []):
        expr = substitute(t["expr"])
        checked += 1
        r = get("/api/v1/query", query=expr)
        where = f"[{title} / {t['refId']}]"
        if r.get("status") != "success":
            failures.append(f"{where} error: {r.get('errorType', '')} {r.get('error', '')}\n      {expr}")
            continue
        data = r["data"]
        result = data["result"]
        if data["resultType"] == "scalar":
            result = [{"metric": {}, "value": result}]
        if not result:
            failures.append(f"{where} returned no series\n      {expr}")
            continue
        values = [float(s["value"][1]) for s in result]
        if all(math.isnan(v) for v in values):
            failures.append(f"{where} returned only NaN (a histogram without observations or without le=\"+Inf\"?)\n      {expr}")
            continue
        shown = ", ".join(
            "{" + ",".join(f"{k}={v}" for k, v in sorted(s["metric"].items())) + "}=" + s["value"][1]
            for s in result[:4])
        more = f" (+{len(result) - 4} more)" if len(result) > 4 else ""
        print(f"ok   {where} {len(result)} series: {shown}{more}")

# The alerting rules, evaluated by this Prometheus against the live series.
rules = get("/api/v1/rules")
n_rules = 0
for g in rules.get("data", {}).get("groups", []):
    for rule in g["rules"]:
        n_rules += 1
        if rule.get("health") not in ("ok", "unknown") or rule.get("lastError"):
            failures.append(f"alert rule {rule['name']}: health {rule.get('health')}: {rule.get('lastError')}")
        for a in rule.get("alerts", []):
            labels = ",".join(f"{k}={v}" for k, v in sorted(a["labels"].items())
                              if k not in ("alertname", "job", "instance", "severity"))
            print(f"alert {rule['name']} {a['state']} {{{labels}}}")
if n_rules == 0:
    failures.append("prometheus loaded no alerting rules from dashboards/alerts.yml")

for s in skipped:
    print(f"SKIPPED panel {s}")
if failures:
    print(f"\n{len(failures)} problem(s):", file=sys.stderr)
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    sys.exit(1)
print(f"\n{checked} panel queries returned data; {len(skipped)} panel(s) skipped; {n_rules} alert rules evaluate")
PY

kill -0 "$sluice_pid" 2>/dev/null || fail "sluice died during the test"
echo "PASS: live dashboard check"
