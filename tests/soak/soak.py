#!/usr/bin/env python3
"""The fault soak: sluice in front of several backends while they are killed and restarted,
made slow, made to reset every request and made to fail their health check, with clients on
new and kept-alive connections sending GETs and POSTs, each with its own request id.

    soak.py SLUICE_BINARY [--seconds N] [--backends N] [--workers N] [--clients N] [--keep]

Passes only when, over the whole run:
  1. every request sent got an HTTP response (a proxy-made 502/503/504 counts; a connection
     closed with no response does not);
  2. every request id is in the access log exactly once, with the status the client saw;
  3. no backend ever had more requests in progress than its max_connections;
  4. sluice's open file descriptors return to what they were before the traffic.
Every process is stopped at the end, and the run stops by itself after --seconds of traffic.
"""

import argparse
import collections
import http.client
import os
import random
import signal
import sys
import tempfile
import threading
import time
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "realworld"))
import harness  # noqa: E402  (the realworld tests' processes, polling and sluice wrapper)

FAULTS = ("kill", "slow", "reset", "failcheck")
FAULT_SECONDS = 2.5        # how long one backend misbehaves
FAULT_GAP = 1.0            # all backends healthy between two faults
FD_SETTLE_SECONDS = 20.0   # for pooled and client connections to close after the traffic


class Backend:
    def __init__(self, run, index):
        self.run, self.index = run, index
        self.port = harness.free_port()
        self.mode_path = os.path.join(run.dir, "b%d.mode" % index)
        self.stats_path = os.path.join(run.dir, "b%d.stats" % index)
        self.set_mode("normal")
        self.process = None
        self.start()

    def start(self):
        self.process = self.run.spawn(
            "backend%d" % self.index,
            [sys.executable, os.path.join(HERE, "backend.py"), str(self.port), self.mode_path,
             self.stats_path])
        if not harness.poll(lambda: harness.can_connect(self.port), harness.START_DEADLINE):
            raise RuntimeError("backend %d never listened:\n%s"
                               % (self.index, self.process.stderr()))

    def kill(self):
        self.process.signal(signal.SIGKILL)
        self.process.wait(5)

    def set_mode(self, mode):
        with open(self.mode_path + ".new", "w") as f:
            f.write(mode)
        os.replace(self.mode_path + ".new", self.mode_path)

    def peak(self):
        try:
            with open(self.stats_path) as f:
                return max((int(line.split()[1]) for line in f if line.startswith("peak")),
                           default=0)
        except OSError:
            return 0


class Run:
    """What harness.Sluice needs of a test: a directory and a way to start processes."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-soak-")
        self.processes = []

    def spawn(self, name, argv):
        p = harness.Process(name, argv, self.dir)
        self.processes.append(p)
        return p

    def stop(self, keep):
        for p in reversed(self.processes):
            p.stop()
        if keep:
            print("soak: logs kept in %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def sluice_config(backends, workers):
    return harness.config(
        ["127.0.0.1:%d" % b.port for b in backends],
        backend=("    balance: leastconn\n"
                 "    queue: { max_length: 200 }\n"
                 "    keepalive: { max_idle: 8, idle_timeout: 1s }\n"
                 "    server_defaults: { max_connections: %d }\n"
                 "    health:\n"
                 "      http: { path: /healthz }\n"
                 "      interval: 300ms\n"
                 "      timeout: 300ms\n"
                 "      rise: 2\n"
                 "      fall: 2\n" % workers),
        timeouts="  queue: 2s\n  connect: 500ms\n  server: 5s\n")


class Outcomes:
    def __init__(self):
        self.lock = threading.Lock()
        self.status = {}          # request id -> status the client saw
        self.no_response = []     # (request id, what happened)
        self.wrong_body = []

    def add(self, rid, status=None, error=None, body_ok=True):
        with self.lock:
            if status is None:
                self.no_response.append((rid, error))
            else:
                self.status[rid] = status
                if not body_ok:
                    self.wrong_body.append(rid)


def one_request(conn, rid, rng, close):
    """Sends one request on conn; returns (status, body as expected)."""
    kind = rng.random()
    headers = {"X-Request-Id": rid}
    if close:
        headers["Connection"] = "close"
    if kind < 0.3:
        body = rng.randbytes(rng.randint(1, 64 * 1024))
        conn.request("POST", "/echo", body=body, headers=headers)
    else:
        body = None
        conn.request("GET", "/work?ms=%d" % rng.randint(0, 20) if kind < 0.7 else "/",
                     headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, body is None or r.status != 200 or data == body


def client(port, name, keepalive, deadline, outcomes, seed):
    rng = random.Random(seed)
    conn = None
    n = 0
    while time.monotonic() < deadline:
        n += 1
        rid = "soak-%s-%d" % (name, n)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            status, body_ok = one_request(conn, rid, rng, close=not keepalive)
            outcomes.add(rid, status, body_ok=body_ok)
        except (OSError, http.client.HTTPException) as e:
            outcomes.add(rid, error=repr(e))
            conn.close()
            conn = None
        if not keepalive and conn is not None:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()


def faults(backends, deadline, log, timeline_path):
    """One backend misbehaves at a time, each fault in turn, the backends in turn; each fault's
    start goes to timeline_path with the time, to read next to sluice's logs."""
    turn = 0
    while time.monotonic() + FAULT_SECONDS < deadline:
        fault = FAULTS[turn % len(FAULTS)]
        b = backends[turn % len(backends)]
        log[fault] += 1
        with open(timeline_path, "a") as f:
            f.write("%s %s s%d for %.1fs\n" % (time.strftime("%H:%M:%S"), fault, b.index,
                                               FAULT_SECONDS))
        if fault == "kill":
            b.kill()
            time.sleep(FAULT_SECONDS)
            b.start()
        else:
            b.set_mode(fault)
            time.sleep(FAULT_SECONDS)
            b.set_mode("normal")
        time.sleep(FAULT_GAP)
        turn += 1


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def check_access_log(proxy, outcomes, problems):
    """Checks criterion 2; returns how many answers of each status and reason the log has."""
    sent = len(outcomes.status)
    lines = proxy.wait_access_log(sent, timeout=20)
    seen = collections.Counter(l.get("request_id") for l in lines)
    logged = {l.get("request_id"): l.get("status") for l in lines}
    for rid, status in outcomes.status.items():
        if seen[rid] != 1:
            problems.append("request %s is in the access log %d times" % (rid, seen[rid]))
        elif logged[rid] != status:
            problems.append("request %s: client saw %d, access log says %s"
                            % (rid, status, logged[rid]))
    for rid, _ in outcomes.no_response:
        if seen[rid] > 1:
            problems.append("request %s is in the access log %d times" % (rid, seen[rid]))
    return collections.Counter("%s %s" % (l.get("status"), l.get("reason") or "")
                               for l in lines if l.get("status") != 200)


def soak(args):
    run = Run()
    failed = True
    try:
        backends = [Backend(run, i + 1) for i in range(args.backends)]
        proxy = harness.Sluice(run, run_config(run, backends, args.workers), (), "sluice")
        proxy.wait_listening()
        if not harness.poll(lambda: all(proxy.server_state("s%d" % (i + 1)) == "up"
                                        for i in range(args.backends)), 20):
            raise RuntimeError("servers never all up:\n" + proxy.stderr())
        fds_before = fd_count(proxy.process.pid)

        outcomes, fault_log = Outcomes(), collections.Counter()
        deadline = time.monotonic() + args.seconds
        threads = [threading.Thread(target=client, daemon=True,
                                    args=(proxy.port, "c%d" % i, i % 2 == 0, deadline, outcomes,
                                          i))
                   for i in range(args.clients)]
        threads.append(threading.Thread(target=faults, daemon=True,
                                        args=(backends, deadline, fault_log,
                                              os.path.join(run.dir, "faults.log"))))
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.seconds + 60)
        for b in backends:
            b.set_mode("normal")

        problems = []
        for rid, error in outcomes.no_response[:20]:
            problems.append("request %s got no response: %s" % (rid, error))
        if len(outcomes.no_response) > 20:
            problems.append("... %d requests without a response in all"
                            % len(outcomes.no_response))
        for rid in outcomes.wrong_body[:20]:
            problems.append("request %s: 200 with a body other than the one sent" % rid)
        errors = check_access_log(proxy, outcomes, problems)
        peaks = [b.peak() for b in backends]
        for b, peak in zip(backends, peaks):
            if peak > args.workers:
                problems.append("backend %d had %d requests in progress at once; "
                                "max_connections is %d" % (b.index, peak, args.workers))
        fds_after = harness.poll(lambda: fd_count(proxy.process.pid) <= fds_before
                                 and fd_count(proxy.process.pid), FD_SETTLE_SECONDS) \
            or fd_count(proxy.process.pid)
        if fds_after > fds_before:
            problems.append("sluice has %d file descriptors open, %d before the traffic"
                            % (fds_after, fds_before))

        statuses = collections.Counter(outcomes.status.values())
        print("soak: %d s, %d backends x %d workers, %d clients (half kept alive)"
              % (args.seconds, args.backends, args.workers, args.clients))
        print("faults: %s" % ", ".join("%s %d" % (f, fault_log[f]) for f in FAULTS))
        print("requests: %d answered (%s), %d without a response"
              % (len(outcomes.status),
                 ", ".join("%d: %d" % kv for kv in sorted(statuses.items())),
                 len(outcomes.no_response)))
        print("proxy-made answers by reason: %s"
              % (", ".join("%s x%d" % kv for kv in sorted(errors.items())) or "none"))
        print("peak requests in progress per backend: %s (max_connections %d)"
              % (peaks, args.workers))
        print("sluice file descriptors: %d before, %d after" % (fds_before, fds_after))
        for p in problems:
            print("FAIL: " + p)
        print("soak: %s" % ("FAIL" if problems else "pass"), flush=True)
        failed = bool(problems)
        return 1 if failed else 0
    finally:
        run.stop(keep=failed or args.keep)


def run_config(run, backends, workers):
    path = os.path.join(run.dir, "sluice.yaml")
    with open(path, "w") as f:
        f.write(sluice_config(backends, workers).replace("{dir}", run.dir))
    return path


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sluice")
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--backends", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--keep", action="store_true",
                        help="keep the logs (sluice's, the access log, the backends') after a "
                             "passing run too; a failing run always keeps them")
    args = parser.parse_args(argv[1:])
    harness.SLUICE = os.path.abspath(args.sluice)
    return soak(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
