#!/usr/bin/env python3
"""A million requests: sluice's memory and file descriptors must not grow once warmed up.

    endurance.py SLUICE_BINARY [--requests N] [--rounds N]

wrk sends N requests (default 1,000,000) in ROUNDS rounds of N/ROUNDS through sluice to three
soak backends (tests/soak/backend.py), mixed by endurance.lua: kept-alive and closed
connections, 4 KiB POST bodies, 1 MiB responses, and 1% to a backend whose server resets every
request. sluice reloads its config (SIGHUP) after every round. Its RSS and open descriptors are
sampled every 10 s and at each round's end, once its connections to the servers have idled out.

Fails when, after the first two rounds (the warm-up: pools, buffers and the allocator's caches
fill), the peak RSS grows by more than 5% + 2 MiB, or the descriptors at a round's end exceed
those at the end of the warm-up. Prints every sample, to record as a curve.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "realworld"))
import harness  # noqa: E402
import soak  # noqa: E402

WARMUP_ROUNDS = 2
SAMPLE_SECONDS = 10
SETTLE_SECONDS = 3      # pooled server connections idle out after 1 s
ROUND_LIMIT = 1800      # seconds: a round that takes longer is a failure in itself


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def config(backends, flaky):
    y = soak.sluice_config(backends, 4).replace("    queue: { max_length: 200 }\n",
                                                 "    queue: { max_length: 2000 }\n")
    y = y.replace("    default_backend: app\n",
                  "    default_backend: app\n"
                  "    routes:\n"
                  "      - match: { path_prefix: /flaky/ }\n"
                  "        backend: flaky\n"
                  "        timeouts: { queue: 100ms }\n")
    return y + ("  - name: flaky\n"
                "    servers:\n"
                "      - { name: f1, address: \"127.0.0.1:%d\" }\n" % flaky.port)


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.round = pid, 0
        self.samples = []   # (seconds, round, kind, rss KiB, fds)
        self.start_time = time.monotonic()
        self.stopped = threading.Event()

    def take(self, kind, fds=None):
        self.samples.append((time.monotonic() - self.start_time, self.round, kind,
                             rss_kib(self.pid), soak.fd_count(self.pid) if fds is None else fds))

    def take_settled(self, kind):
        """A sample whose descriptor count is the fewest seen over two seconds: a health check
        or a pooled connection may be open at any one instant, a leak is open at all of them."""
        counts = []
        for _ in range(10):
            counts.append(soak.fd_count(self.pid))
            time.sleep(0.2)
        self.take(kind, min(counts))

    def run(self):
        while not self.stopped.wait(SAMPLE_SECONDS):
            self.take("tick")


def run_round(proxy, requests, lua):
    """wrk until sluice has answered `requests` more requests (wrk stops only on time or on
    SIGINT, after which it prints its summary); returns wrk's count, socket errors and non-2xx."""
    target = proxy.metric("sluice_requests_total") + requests
    wrk = subprocess.Popen(["wrk", "-t2", "-c16", "-d%ds" % ROUND_LIMIT, "-s", lua,
                            "http://127.0.0.1:%d/" % proxy.port],
                           stdout=subprocess.PIPE, text=True)
    try:
        harness.poll(lambda: proxy.metric("sluice_requests_total") >= target, ROUND_LIMIT, 0.5)
        wrk.send_signal(signal.SIGINT)
        out = wrk.communicate(timeout=60)[0]
    finally:
        if wrk.poll() is None:
            wrk.kill()
    done = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return done, errors.group(1) if errors else "none", int(non2xx.group(1)) if non2xx else 0


def verdict(sampler):
    warm = [s for s in sampler.samples if s[1] == WARMUP_ROUNDS - 1]
    later = [s for s in sampler.samples if s[1] >= WARMUP_ROUNDS]
    problems = []
    if not warm or not later:
        return ["too few samples to judge: run more rounds"]
    rss_warm, rss_late = max(s[3] for s in warm), max(s[3] for s in later)
    if rss_late > rss_warm * 1.05 + 2048:
        problems.append("RSS grew after the warm-up: %d KiB at most then, %d KiB since"
                        % (rss_warm, rss_late))
    ends = {s[1]: s[4] for s in sampler.samples if s[2] == "round end"}
    fd_warm = ends.get(WARMUP_ROUNDS - 1)
    for r, fds in sorted(ends.items()):
        if r >= WARMUP_ROUNDS and fd_warm is not None and fds > fd_warm:
            problems.append("round %d ended with %d descriptors open, the warm-up with %d"
                            % (r + 1, fds, fd_warm))
    return problems


def endurance(args):
    run = soak.Run()
    failed = True
    try:
        backends = [soak.Backend(run, i + 1) for i in range(3)]
        flaky = soak.Backend(run, 4)
        flaky.set_mode("reset")
        path = os.path.join(run.dir, "sluice.yaml")
        with open(path, "w") as f:
            f.write(config(backends, flaky).replace("{dir}", run.dir))
        proxy = harness.Sluice(run, path, (), "sluice")
        proxy.wait_listening()
        sampler = Sampler(proxy.process.pid)
        sampler.take("start")
        sampler.start()
        per_round = args.requests // args.rounds
        total = non2xx = 0
        for r in range(args.rounds):
            sampler.round = r
            done, errors, bad = run_round(proxy, per_round, os.path.join(HERE, "endurance.lua"))
            total, non2xx = total + done, non2xx + bad
            print("round %d: %d requests, %d not 2xx/3xx, socket errors: %s"
                  % (r + 1, done, bad, errors), flush=True)
            proxy.process.signal(signal.SIGHUP)
            time.sleep(SETTLE_SECONDS)
            sampler.take_settled("round end")
        sampler.stopped.set()
        print("\n  seconds  round  sample      RSS MiB  fds")
        for t, r, kind, rss, fds in sampler.samples:
            print("  %7.0f  %5d  %-9s  %8.1f  %4d" % (t, r + 1, kind, rss / 1024, fds))
        problems = verdict(sampler)
        if not proxy.process.running():
            problems.append("sluice exited:\n" + proxy.stderr()[-2000:])
        print("\nendurance: %d requests (%d not 2xx/3xx) in %d rounds, a SIGHUP after each"
              % (total, non2xx, args.rounds))
        for p in problems:
            print("FAIL: " + p)
        print("endurance: %s" % ("FAIL" if problems else "pass"), flush=True)
        failed = bool(problems)
        return 1 if failed else 0
    finally:
        run.stop(keep=failed)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sluice")
    parser.add_argument("--requests", type=int, default=1000000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv[1:])
    harness.SLUICE = os.path.abspath(args.sluice)
    return endurance(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
