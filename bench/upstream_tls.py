#!/usr/bin/env python3
"""TLS to the servers: the same load through HAProxy, NGINX and sluice, each taking plain HTTP from
wrk and speaking TLS to an origin NGINX that answers HTTPS only. compare.sh has no such scenario,
so this script sets it up the way compare.sh sets up its own (one proxy thread or worker each, one
origin NGINX worker with a fixed 100-byte body and a 1 MiB file, no logging, no health checks),
plus TLS to the origin: TLS 1.3 (NGINX 1.22 offers only up to 1.2 to servers unless told:
`proxy_ssl_protocols TLSv1.3`), one ECDSA P-256 certificate made here, verified by each proxy
against itself as the CA and the name bench.test, connections kept alive and pooled.

    bench/upstream_tls.py --sluice build/sluice --repeat 3

Rounds are interleaved (scenario outside, systems inside). For each scenario it prints the medians
of req/s (MiB/s for `large`), p99 and the proxy's CPU per 1,000 requests (user + system, from /proc
over the measured run), with ratios to HAProxy in the same run: above 1 is better, for CPU too.
Scenarios: keepalive (`wrk -t1 -c50`) and large (1 MiB responses, `-c10`).
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from cpu_per_request import TICK_MS, ticks, tree  # the same /proc reading

ORIGIN, ADMIN = 28301, 28314
PORTS = {"haproxy": 28311, "nginx": 28312, "sluice": 28313}
SCENARIOS = {"keepalive": ("/", 50), "large": ("/1m", 10)}


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def configs(w, sluice):
    """Writes every config into `w`; returns the command of each system (the origin first)."""
    cert, key = w + "/cert.pem", w + "/key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj",
                    "/CN=bench.test", "-addext", "subjectAltName=DNS:bench.test",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.makedirs(w + "/www")
    write(w + "/www/1m", "\0" * (1 << 20))
    main = ("%sworker_processes 1; daemon off; master_process on; "
            "events { worker_connections 16384; }\n" % ("" if os.geteuid() else "user root; "))
    http = ("access_log off; keepalive_timeout 300s; keepalive_requests 10000000; "
            + " ".join("%s_temp_path %s/%s;" % (t, w, t)
                       for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")))
    write(w + "/origin.conf", main + "pid %s/origin.pid; error_log %s/origin.err warn;\n"
          "http { %s sendfile on; ssl_protocols TLSv1.3;\n"
          "  server { listen 127.0.0.1:%d ssl; ssl_certificate %s; ssl_certificate_key %s;\n"
          "    location = /1m { root %s/www; default_type application/octet-stream; }\n"
          "    location / { default_type text/plain; return 200 \"%s\"; } } }\n"
          % (w, w, http, ORIGIN, cert, key, w, "x" * 100))
    write(w + "/haproxy.cfg", "global\n  nbthread 1\n  maxconn 9000\ndefaults\n  mode http\n"
          "  maxconn 9000\n  timeout connect 5s\n  timeout client 300s\n  timeout server 300s\n"
          "  http-reuse always\nfrontend bench\n  bind 127.0.0.1:%d\n  default_backend origin\n"
          "backend origin\n  server o1 127.0.0.1:%d ssl verify required ca-file %s "
          "sni str(bench.test) verifyhost bench.test\n" % (PORTS["haproxy"], ORIGIN, cert))
    write(w + "/nginx.conf", main + "pid %s/nginx.pid; error_log %s/nginx.err warn;\n"
          "http { %s\n  upstream origin { server 127.0.0.1:%d; keepalive 64; "
          "keepalive_requests 10000000; keepalive_timeout 300s; }\n"
          "  server { listen 127.0.0.1:%d;\n    location / { proxy_pass https://origin; "
          "proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_max_temp_file_size 0;\n"
          "      proxy_ssl_verify on; proxy_ssl_trusted_certificate %s; proxy_ssl_name bench.test; "
          "proxy_ssl_server_name on; proxy_ssl_session_reuse on; proxy_ssl_protocols TLSv1.3; } } }\n"
          % (w, w, http, ORIGIN, PORTS["nginx"], cert))
    write(w + "/sluice.yaml", "threads: 1\nlisteners:\n  - name: bench\n    bind: 127.0.0.1:%d\n"
          "    max_connections: 100000\n    default_backend: origin\nadmin:\n"
          "  bind: 127.0.0.1:%d\naccess_log: off\nbackends:\n  - name: origin\n"
          "    keepalive: { max_idle: 256, idle_timeout: 50s }\n"
          "    server_defaults: { keepalive_timeout: 300s, tls: { ca: %s, sni: bench.test } }\n"
          "    servers:\n      - { name: o1, address: 127.0.0.1:%d }\n"
          % (PORTS["sluice"], ADMIN, cert, ORIGIN))
    return {"origin": ["nginx", "-p", w, "-e", w + "/origin.err", "-c", w + "/origin.conf"],
            "haproxy": ["haproxy", "-db", "-f", w + "/haproxy.cfg"],
            "nginx": ["nginx", "-p", w, "-e", w + "/nginx.err", "-c", w + "/nginx.conf"],
            "sluice": [sluice, "run", "-c", w + "/sluice.yaml"]}


def answers(port):
    """The origin listens (urllib would not trust its certificate); a proxy answers a 200."""
    try:
        if port == ORIGIN:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return True
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        return opener.open("http://127.0.0.1:%d/" % port, timeout=2).status == 200
    except Exception:
        return False


def cpu_ms(pid):
    """User + system CPU of a process and its descendants (NGINX's worker), in ms."""
    return ticks(tree(pid)) * TICK_MS


def run_wrk(port, path, conns, seconds):
    url = "http://127.0.0.1:%d%s" % (port, path)
    load = ["wrk", "-t1", "-c%d" % conns, "--latency", "--timeout", "5s"]
    subprocess.run(load + ["-d2s", url], capture_output=True, timeout=60)
    return subprocess.run(load + ["-d%ds" % seconds, url], capture_output=True, text=True,
                          timeout=seconds + 60).stdout


def measure(pid, port, path, conns, seconds):
    before = cpu_ms(pid)
    out = run_wrk(port, path, conns, seconds)
    spent = cpu_ms(pid) - before
    requests = int(re.search(r"(\d+) requests in", out)[1])
    errors = sum(map(int, re.findall(r"(?:connect|read|write|timeout|responses:) (\d+)", out)))
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    rate = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out) if path == "/1m" else \
        re.search(r"Requests/sec:\s+([\d.]+)()", out)
    scale = {"": 1, "B": 2**-20, "KB": 2**-10, "MB": 1, "GB": 1024}[rate[2]]
    return {"rate": float(rate[1]) * scale, "p99": float(p99[1]) * {"us": 1e-3, "ms": 1, "s": 1e3}[p99[2]],
            "cpu": spent * 1000.0 / requests, "errors": errors}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    a = ap.parse_args()
    for tool in ("wrk", "haproxy", "nginx", "openssl"):
        if not shutil.which(tool):
            sys.exit("upstream_tls.py: %s is not installed" % tool)
    w = tempfile.mkdtemp(prefix="upstream-tls-")
    procs = {}
    try:
        commands = configs(w, os.path.abspath(a.sluice))
        for name, cmd in commands.items():
            procs[name] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(
                "%s/%s.log" % (w, name), "w"), start_new_session=True)
            port = ORIGIN if name == "origin" else PORTS[name]
            for _ in range(50):
                if answers(port):
                    break
                time.sleep(0.2)
            else:
                sys.exit("upstream_tls.py: %s did not answer on 127.0.0.1:%d; its output:\n%s" % (
                    name, port, open("%s/%s.log" % (w, name)).read()[-2000:]))
        print("# upstream_tls.py %s: nproc=%d, %d rounds of %d s, sluice %s" % (
            time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()), os.cpu_count(), a.repeat,
            a.duration, a.sluice))
        results = {}
        for _ in range(a.repeat):
            for scenario, (path, conns) in SCENARIOS.items():
                for name in PORTS:
                    r = measure(procs[name].pid, PORTS[name], path, conns, a.duration)
                    results.setdefault((scenario, name), []).append(r)
                    print("[round] %s %s %s" % (scenario, name, r), file=sys.stderr)
        print("\n| scenario | system | %s | p99 ms | proxy CPU ms per 1,000 | errors |" % "req/s or MiB/s")
        print("|---|---|---|---|---|---|")
        for scenario in SCENARIOS:
            med = {n: {k: statistics.median(r[k] for r in results[(scenario, n)])
                       for k in ("rate", "p99", "cpu")} for n in PORTS}
            base = med["haproxy"]
            for n in PORTS:
                m = med[n]
                print("| %s | %s | %.1f (%.2fx) | %.2f (%.2fx) | %.1f (%.2fx) | %d |" % (
                    scenario, n, m["rate"], m["rate"] / base["rate"], m["p99"], base["p99"] / m["p99"],
                    m["cpu"], base["cpu"] / m["cpu"], sum(r["errors"] for r in results[(scenario, n)])))
    finally:
        for p in procs.values():
            try:
                os.killpg(p.pid, 15)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(w, ignore_errors=True)


if __name__ == "__main__":
    main()
