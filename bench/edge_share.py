#!/usr/bin/env python3
"""What the edge share costs (SPEC.md "Several sluice instances"), measured in one run on
127.0.0.1: two edge sluices share two app servers through scale_out.peers (N = 2 from a DNS
name), and each app has a sidecar sluice that enforces its worker count exactly.

    bench/edge_share.py build/sluice [--seconds 20] [--workers 3] [--sidecar-queue 1]
                                     [--clients 12] [--work-ms 20]

    clients -> edge1, edge2 (each allows ceil(workers / 2) per server)
            -> sidecar1, sidecar2 (max_connections = workers, a queue of --sidecar-queue)
            -> app1, app2 (tests/soak/backend.py: /work?ms=N holds a "worker" N ms)

Prints, for the run: requests answered and their statuses, the edges' retries of a sidecar's
not-processed 503 (sluice_retries_total{reason="not_processed"}), each app's peak of requests in
progress (never above --workers, or the layout failed) and how full its workers stayed (the
sidecars' sluice_server_in_flight sampled every 50 ms, divided by --workers). Everything listens
on 127.0.0.1 and stops by itself.
"""

import argparse
import os
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "realworld"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "soak"))
import harness  # noqa: E402
import soak  # noqa: E402  (Backend, Run)


class dns_server:
    """A names -> A records responder on UDP 127.0.0.1 (the peers' name only), TTL 1 s."""

    def __init__(self, records):
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                query, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            self.sock.sendto(self.answer(query), peer)

    def answer(self, query):
        qid = query[:2]
        end = 12
        labels = []
        while query[end]:
            labels.append(query[end + 1:end + 1 + query[end]].decode())
            end += 1 + query[end]
        question = query[12:end + 5]
        qtype = struct.unpack("!H", query[end + 1:end + 3])[0]
        addresses = self.records.get(".".join(labels).lower(), None)
        if addresses is None:
            return qid + struct.pack("!HHHHH", 0x8183, 1, 0, 0, 0) + question  # NXDOMAIN
        answers = [a for a in addresses] if qtype == 1 else []
        out = qid + struct.pack("!HHHHH", 0x8180, 1, len(answers), 0, 0) + question
        for a in answers:
            out += struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(a)
        return out

    def stop(self):
        self.stopping = True
        self.thread.join()


def write_config(run, name, servers, extra, workers, queue, admin_port=0):
    y = "threads: 1\naccess_log: off\n"
    y += "admin:\n  bind: 127.0.0.1:%d\n" % admin_port
    y += "listeners:\n  - name: web\n    bind: 127.0.0.1:0\n    default_backend: app\n"
    y += "timeouts:\n  upstream_idle: 0s\n  drain: 2s\n  queue: 1s\n  server: 10s\n" + extra
    y += ("backends:\n  - name: app\n    balance: leastconn\n"
          "    queue: { max_length: %d }\n"
          "    server_defaults: { max_connections: %d, keepalive_timeout: 5s }\n"
          "    servers:\n" % (queue, workers))
    for i, address in enumerate(servers):
        y += '      - { name: s%d, address: "%s" }\n' % (i + 1, address)
    path = os.path.join(run.dir, name + ".yaml")
    with open(path, "w") as f:
        f.write(y)
    return path


def start(run, name, path):
    s = harness.Sluice(run, path, ["--allow-chain-errors"], name)
    s.wait_listening()
    return s


def sample_in_flight(sidecars, deadline, samples):
    while time.monotonic() < deadline:
        for i, s in enumerate(sidecars):
            samples[i].append(s.metric("sluice_server_in_flight"))
        time.sleep(0.05)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sluice")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=3,
                        help="per app; 3 makes each edge's share ceil(3/2) = 2, one too many")
    parser.add_argument("--sidecar-queue", type=int, default=1)
    parser.add_argument("--clients", type=int, default=12, help="per edge")
    parser.add_argument("--work-ms", type=int, default=20)
    args = parser.parse_args(argv[1:])
    harness.SLUICE = os.path.abspath(args.sluice)
    run = soak.Run()
    dns = dns_server({"edges.bench": ["127.0.0.2", "127.0.0.3"]})
    try:
        apps = [soak.Backend(run, i + 1) for i in range(2)]
        sidecars = [start(run, "sidecar%d" % (i + 1),
                          write_config(run, "sidecar%d" % (i + 1),
                                       ["127.0.0.1:%d" % a.port], "", args.workers,
                                       args.sidecar_queue))
                    for i, a in enumerate(apps)]
        peers = ("scale_out: { peers: { dns: edges.bench, interval: 1s, "
                 "resolvers: [127.0.0.1:%d] } }\n" % dns.port)
        edges = []
        for i in range(2):
            path = write_config(run, "edge%d" % (i + 1),
                                ["127.0.0.1:%d" % s.port for s in sidecars], "", args.workers,
                                1000)
            with open(path, "a") as f:
                f.write(peers)
            edges.append(start(run, "edge%d" % (i + 1), path))
        if not harness.poll(lambda: all(e.metric("sluice_scale_out_peers") == 2 for e in edges),
                            10):
            raise RuntimeError("the edges never counted 2 peers")
        deadline = time.monotonic() + args.seconds
        samples = [[], []]
        sampler = threading.Thread(target=sample_in_flight, args=(sidecars, deadline, samples))
        sampler.start()
        loads = [subprocess.Popen(["wrk", "-t1", "-c%d" % args.clients, "-d%ds" % args.seconds,
                                   "http://127.0.0.1:%d/work?ms=%d" % (e.port, args.work_ms)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for e in edges]
        outputs = [p.communicate(timeout=args.seconds + 30)[0] for p in loads]
        sampler.join()
        answered = sum(e.metric("sluice_requests_total") for e in edges)
        ok = sum(e.metric("sluice_requests_total", code="200") for e in edges)
        retried = sum(e.metric("sluice_retries_total", reason="not_processed") for e in edges)
        refused = sum(s.metric("sluice_queue_rejected_total") for s in sidecars)
        print("## Edge share: 2 edges (N = 2 from DNS), 2 apps of %d workers, each behind a "
              "sidecar\n" % args.workers)
        print("`bench/edge_share.py %s --seconds %d --workers %d --sidecar-queue %d --clients %d "
              "--work-ms %d`\n" % (args.sluice, args.seconds, args.workers, args.sidecar_queue,
                                  args.clients, args.work_ms))
        print("| figure | value |\n| --- | --- |")
        print("| requests answered by the edges | %d (%d with 200) |" % (answered, ok))
        print("| retried by an edge after a sidecar's not-processed 503 | %d (%.2f %%) |"
              % (retried, 100.0 * retried / max(answered, 1)))
        print("| refused by a sidecar's queue (full or timed out) | %d |" % refused)
        for i, a in enumerate(apps):
            s = samples[i]
            mean = sum(s) / max(len(s), 1)
            print("| app%d: peak requests in progress / workers full on average | %d of %d / "
                  "%.0f %% |" % (i + 1, a.peak(), args.workers, 100.0 * mean / args.workers))
        for i, out in enumerate(outputs):
            rps = [l for l in out.splitlines() if "Requests/sec" in l or "Non-2xx" in l]
            print("| edge%d wrk | %s |" % (i + 1, "; ".join(x.strip() for x in rps)))
        return 0
    finally:
        dns.stop()
        run.stop(keep=False)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
