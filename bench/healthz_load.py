#!/usr/bin/env python3
"""Helpers of healthz_under_load.sh, everything on 127.0.0.1.

  backend DELAY_S N     N slow HTTP servers (threaded, answer after DELAY_S); prints their ports
  hold PORT N           opens N connections, sends one GET on each and keeps them open
  wait-queue ADMIN N T  polls /status until a backend's queue_length >= N; exit 1 after T s
  probe ADMIN N         N sequential GET /healthz on one keep-alive connection; prints latencies
"""
import http.client
import http.server
import json
import socket
import socketserver
import sys
import threading
import time


def backend(delay, count):
    class Slow(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            time.sleep(delay)
            body = b"slow\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        request_queue_size = 1024

    servers = [Server(("127.0.0.1", 0), Slow) for _ in range(count)]
    print(" ".join(str(s.server_address[1]) for s in servers), flush=True)
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    servers[0].serve_forever()


def hold(port, count):
    held = []
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /held/%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % i)
        held.append(s)
    print("holding %d requests" % len(held), flush=True)
    while True:
        time.sleep(60)


def queue_length(admin):
    c = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
    c.request("GET", "/status")
    status = json.loads(c.getresponse().read())
    c.close()
    return max(b["queue_length"] for b in status["backends"])


def wait_queue(admin, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = queue_length(admin)
        if n >= count:
            print("queue_length %d" % n, flush=True)
            return 0
        time.sleep(0.05)
    print("queue_length stayed at %d (wanted %d)" % (queue_length(admin), count), flush=True)
    return 1


def probe(admin, count):
    c = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies, statuses = [], {}
    for _ in range(count):
        start = time.perf_counter()
        c.request("GET", "/healthz")
        r = c.getresponse()
        body = r.read()
        latencies.append((time.perf_counter() - start) * 1000.0)
        key = "%d %s" % (r.status, body.decode().strip())
        statuses[key] = statuses.get(key, 0) + 1
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100.0 * len(latencies)))]

    print("/healthz x%d on one keep-alive connection: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms"
          "  max %.3f ms" % (count, pct(50), pct(90), pct(99), latencies[-1]))
    print("/healthz answers: " + ", ".join("%s x%d" % kv for kv in sorted(statuses.items())))


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "backend":
        backend(float(argv[2]), int(argv[3]))
    elif cmd == "hold":
        hold(int(argv[2]), int(argv[3]))
    elif cmd == "wait-queue":
        return wait_queue(int(argv[2]), int(argv[3]), float(argv[4]))
    elif cmd == "probe":
        probe(int(argv[2]), int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
