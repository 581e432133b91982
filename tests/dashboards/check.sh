#!/usr/bin/env bash
# Static checks of dashboards/: the alerting rules (promtool check rules + promtool test rules)
# and the Grafana dashboard (valid JSON, expected variables, every query uses only metric names
# of SPEC.md's metrics table, every query is valid PromQL).
#
# Run from the repository root:   bash tests/dashboards/check.sh
# Needs promtool (Debian package "prometheus"); installs it with apt-get when run as root,
# otherwise prints SKIP and exits 0.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"

fail() { echo "FAIL: $*" >&2; exit 1; }

if ! command -v python3 >/dev/null 2>&1; then
    fail "python3 is needed to validate dashboards/sluice.json"
fi

if ! command -v promtool >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "promtool not found: installing the Debian package 'prometheus' with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || fail "apt-get update failed"
        apt-get install -y -qq --no-install-recommends prometheus >/dev/null ||
            fail "apt-get install prometheus failed"
        # The package starts a prometheus service where an init system runs; we do not need it.
        command -v promtool >/dev/null 2>&1 || fail "promtool still missing after installing prometheus"
    else
        echo "SKIP: promtool is not installed and we are not root (install the Debian package" \
             "'prometheus', or run as root to let this script install it)"
        exit 0
    fi
fi

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

echo "== promtool check rules dashboards/alerts.yml"
promtool check rules dashboards/alerts.yml || fail "promtool check rules dashboards/alerts.yml"

echo "== promtool test rules dashboards/alerts_test.yml"
promtool test rules dashboards/alerts_test.yml || fail "promtool test rules dashboards/alerts_test.yml"

echo "== dashboards/sluice.json"
# Checks the dashboard and writes every panel query (template variables substituted) as a
# recording rule, so that promtool can check the PromQL syntax below.
PYTHONPATH="$repo_root/tests/dashboards" \
    python3 - dashboards/sluice.json dashboards/alerts.yml "$workdir/panel_queries.yml" <<'PY'
import json
import re
import sys

from dashboard_queries import all_panels, substitute

dashboard_path, alerts_path, rules_out = sys.argv[1:4]

# SPEC.md, "Metrics (prefix sluice_)": the names are fixed.
SPEC_METRICS = {
    "sluice_requests_total": "counter",
    "sluice_request_duration_seconds": "histogram",
    "sluice_queue_length": "gauge",
    "sluice_queue_wait_seconds": "histogram",
    "sluice_queue_rejected_total": "counter",
    "sluice_server_in_flight": "gauge",
    "sluice_server_max_connections": "gauge",
    "sluice_server_state": "gauge",
    "sluice_health_checks_total": "counter",
    "sluice_health_check_duration_seconds": "histogram",
    "sluice_upstream_errors_total": "counter",
    "sluice_retries_total": "counter",
    "sluice_timeouts_total": "counter",
    "sluice_busy": "gauge",
    "sluice_busy_transitions_total": "counter",
    "sluice_client_connections": "gauge",
    # Round 2, "Buffering: slow clients never hold a worker".
    "sluice_slot_hold_seconds": "histogram",
    "sluice_config_reloads_total": "counter",
    # Round 2, "TLS and the PROXY protocol".
    "sluice_tls_handshakes_total": "counter",
    "sluice_tls_handshake_errors_total": "counter",
    "sluice_tls_certificate_expiry_timestamp_seconds": "gauge",
    # Round 2, "Servers found by DNS" and "Several sluice instances".
    "sluice_discovery_servers": "gauge",
    "sluice_discovery_errors_total": "counter",
    "sluice_scale_out_peers": "gauge",
}
ALLOWED = set()
for name, kind in SPEC_METRICS.items():
    if kind == "histogram":
        ALLOWED.update(name + s for s in ("_bucket", "_sum", "_count"))
    else:
        ALLOWED.add(name)

errors = []


def check_names(where, expr):
    for token in re.findall(r"sluice_[a-z_]+", expr):
        if token not in ALLOWED:
            errors.append(f"{where}: metric '{token}' is not in SPEC.md's metrics table")
    if "sluice_" not in expr:
        errors.append(f"{where}: query uses no sluice_ metric: {expr}")


try:
    with open(dashboard_path) as f:
        dash = json.load(f)
except (OSError, ValueError) as e:
    print(f"FAIL: {dashboard_path} is not valid JSON: {e}", file=sys.stderr)
    sys.exit(1)

if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
    errors.append(f"schemaVersion should be a number >= 36, got {dash.get('schemaVersion')!r}")
for key in ("title", "uid", "panels", "templating"):
    if key not in dash:
        errors.append(f"dashboard has no '{key}'")

variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
ds = variables.get("datasource")
if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
    errors.append("templating needs a 'datasource' variable of type datasource, query prometheus")
for name in ("backend", "listener"):
    v = variables.get(name)
    if not v:
        errors.append(f"templating has no '{name}' variable")
        continue
    q = v.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    if v.get("type") != "query" or not q or not q.startswith("label_values("):
        errors.append(f"variable '{name}' should be a label_values() query, got {q!r}")
    else:
        check_names(f"variable '{name}'", q)
    if v.get("datasource", {}).get("uid") != "${datasource}":
        errors.append(f"variable '{name}' should use the ${{datasource}} datasource")


ids = set()
rules = []
n_targets = 0
for p in all_panels(dash.get("panels", [])):
    title = p.get("title", "<untitled>")
    pid = p.get("id")
    if pid in ids:
        errors.append(f"panel '{title}': duplicate id {pid}")
    ids.add(pid)
    if "gridPos" not in p:
        errors.append(f"panel '{title}': no gridPos")
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != "${datasource}":
        errors.append(f"panel '{title}': datasource should be ${{datasource}}")
    targets = p.get("targets") or []
    if not targets:
        errors.append(f"panel '{title}': no targets")
    refs = set()
    for t in targets:
        n_targets += 1
        where = f"panel '{title}' target {t.get('refId')}"
        expr = t.get("expr", "")
        if not expr.strip():
            errors.append(f"{where}: empty expr")
            continue
        if t.get("refId") in refs:
            errors.append(f"{where}: duplicate refId")
        refs.add(t.get("refId"))
        if t.get("datasource", {}).get("uid") != "${datasource}":
            errors.append(f"{where}: datasource should be ${{datasource}}")
        check_names(where, expr)
        leftover = re.findall(r"\$\{?\w+", substitute(expr))
        if leftover:
            errors.append(f"{where}: unknown variable(s) {leftover}")
        rules.append((f"dashboard:panel_{pid}:{t.get('refId', 'X')}", substitute(expr)))

# The alerting rules may use the spec's metrics and Prometheus's own `up`.
with open(alerts_path) as f:
    for lineno, line in enumerate(f, 1):
        if line.lstrip().startswith("#"):
            continue
        for token in re.findall(r"\bsluice_[a-z_]+", line):
            if token not in ALLOWED and not line.lstrip().startswith(("- alert:", "alert:")):
                errors.append(f"{alerts_path}:{lineno}: metric '{token}' is not in SPEC.md's metrics table")

with open(rules_out, "w") as f:
    f.write("groups:\n  - name: dashboard-panel-queries\n    rules:\n")
    for record, expr in rules:
        f.write(f"      - record: {json.dumps(record)}\n        expr: {json.dumps(expr)}\n")

if errors:
    for e in errors:
        print("FAIL: " + e, file=sys.stderr)
    sys.exit(1)
print(f"dashboard OK: {len(ids)} panels, {n_targets} queries, all metric names from SPEC.md")
PY

echo "== PromQL syntax of every panel query (promtool check rules)"
promtool check rules "$workdir/panel_queries.yml" || fail "a panel query is not valid PromQL (see above)"

echo "PASS: dashboards"
