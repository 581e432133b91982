#!/usr/bin/env python3
"""CPU per request of each process in ../shared/bench/compare.sh's own runs.

On a 2-core box the harness runs three busy processes at once (wrk, the origin NGINX and a proxy),
so req/s is capped by whichever pair shares a core, not by the proxy alone: every proxy then shows
about the same req/s. What a proxy costs is its CPU per request, which this script reads from
/proc while compare.sh runs, unchanged, with the arguments given here:

    bench/cpu_per_request.py --sluice build/sluice --repeat 3 --scenarios keepalive,close,large

For each measured wrk run (not the warm-ups) it samples, every 20 ms, the CPU time (user + system,
all threads and child processes) of the system under load, of the origin NGINX and of wrk, and
divides by the requests wrk reported. It prints compare.sh's own output, then a table of medians
over the rounds: CPU ms per 1,000 requests (per 1,000 responses of 1 MiB for `large`) of the proxy,
of the origin and of wrk, and the proxy's ratio to HAProxy (HAProxy/system: above 1 is cheaper).
Loopback TCP charges part of one side's work to the other (a send runs the receiver's TCP input),
so the three columns are each process's share as the kernel books it, summed as `total`.
"""
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
COMPARE = os.path.join(HERE, "..", "..", "shared", "bench", "compare.sh")
PORTS = {"18001": "direct", "18002": "direct", "18101": "haproxy", "18102": "nginx",
         "18103": "sluice", "18011": "direct", "18111": "haproxy", "18112": "nginx",
         "18113": "sluice"}
TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def stat_of(pid):
    """(ppid, CPU ticks: user + system) of a process, (0, 0) once it is gone."""
    fields = read("/proc/%d/stat" % pid).rsplit(b")", 1)[-1].split()
    return (int(fields[1]), int(fields[11]) + int(fields[12])) if len(fields) > 12 else (0, 0)


def tree(root):
    """`root` and its descendants, from the kernel's per-thread lists of children."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        for task in os.listdir("/proc/%d/task" % pid) if os.path.isdir("/proc/%d" % pid) else []:
            todo += map(int, read("/proc/%d/task/%s/children" % (pid, task)).split())
    return pids


def command_lines(root):
    """pid -> command line of `root` and its descendants (compare.sh: its servers and wrk)."""
    return {pid: read("/proc/%d/cmdline" % pid).replace(b"\0", b" ").decode(errors="replace")
            for pid in tree(root)}


def root_of(cmds, workdir, system):
    """The top process of a system, found by the config file compare.sh wrote for it."""
    marker = {"direct": "origin.conf", "haproxy": "haproxy.cfg", "nginx": "nginx.conf",
              "sluice": "sluice.yaml"}.get(system)
    for pid, cmd in cmds.items():
        if workdir and marker and os.path.join(workdir, marker) in cmd:
            return pid
    return -1


def ticks(pids):
    return sum(stat_of(p)[1] for p in pids)


def scenario_of(cmd):
    """compare.sh's scenario name for a wrk command line."""
    if "/1m" in cmd:
        return "large"
    close = "Connection: close" in cmd
    if "https://" in cmd:
        return "tls_handshake" if close else "tls_keepalive"
    return "close" if close else "keepalive"


class sampler(threading.Thread):
    def __init__(self, compare_pid, duration):
        super().__init__(daemon=True)
        self.compare, self.flag, self.runs, self.stop = compare_pid, "-d%ds" % duration, [], False

    def run(self):
        current, workdir, trees = None, None, {}
        while not self.stop:
            cmds = command_lines(self.compare)
            if workdir is None:
                for cmd in cmds.values():
                    if m := re.search(r"(/tmp/sluice-bench\.\w+)/origin\.conf", cmd):
                        workdir = m[1]
            wrk = [pid for pid, cmd in cmds.items()
                   if cmd.startswith("wrk ") and self.flag in cmd.split()]
            if current and current["wrk"] not in wrk:
                current["end"] = {k: ticks(trees[k]) for k in ("proxy", "origin")}
                self.runs.append(current)
                current = None
            if not current and wrk:
                port = re.search(r"127\.0\.0\.1:(\d+)", cmds[wrk[0]])
                system = PORTS.get(port[1], "?") if port else "?"
                trees = {"proxy": tree(root_of(cmds, workdir, system)),
                         "origin": tree(root_of(cmds, workdir, "direct"))}
                current = {"wrk": wrk[0], "system": system, "scenario": scenario_of(cmds[wrk[0]]),
                           "start": {k: ticks(trees[k]) for k in ("proxy", "origin")}}
                current["start"]["wrk"] = current["wrk_last"] = stat_of(wrk[0])[1]
            elif current:
                current["wrk_last"] = stat_of(current["wrk"])[1] or current["wrk_last"]
            time.sleep(0.02)


def main(args):
    duration = 3 if "--quick" in args else 10
    if "--duration" in args:
        duration = int(args[args.index("--duration") + 1])
    proc = subprocess.Popen([COMPARE] + args, stderr=subprocess.PIPE, text=True)
    s = sampler(proc.pid, duration)
    s.start()
    err = proc.communicate()[1]
    s.stop = True
    s.join()
    sys.stderr.write(err)
    # compare.sh's progress lines, in order: one per measured run, with its req/s
    done = [dict(x.split("=", 1) for x in l.split()[1:]) for l in err.splitlines()
            if l.startswith("[bench] scenario=") and "rps=" in l]
    done = [d for d in done if d["scenario"] != "idle_memory"]
    rows = {}
    for run, d in zip(s.runs, done):
        if (run["scenario"], run["system"]) != (d["scenario"], d["system"]):
            sys.exit("cpu_per_request: lost track of the runs (%s/%s against %s/%s)" % (
                run["scenario"], run["system"], d["scenario"], d["system"]))
        # thousands of requests: `large` reports MiB/s, one MiB per response
        k = float(d["mbps" if d["scenario"] == "large" else "rps"]) * duration / 1000.0
        cpu = {p: (run["end"][p] - run["start"][p]) * TICK_MS / k for p in ("proxy", "origin")}
        cpu["wrk"] = (run["wrk_last"] - run["start"]["wrk"]) * TICK_MS / k
        if run["system"] == "direct":
            cpu["proxy"] = 0.0
        rows.setdefault((d["scenario"], d["system"]), []).append(cpu)
    print("\nCPU ms per 1,000 requests (`large`: per 1,000 responses of 1 MiB), medians of %s"
          " rounds\n" % max((len(v) for v in rows.values()), default=0))
    print("| scenario | system | proxy | ratio | origin | wrk | total |\n|---|---|---|---|---|---|---|")
    for (sc, system), cpus in rows.items():
        med = {p: statistics.median(c[p] for c in cpus) for p in ("proxy", "origin", "wrk")}
        base = rows.get((sc, "haproxy"))
        ratio = ""
        if base and system != "direct" and med["proxy"] > 0:
            ratio = "%.2fx" % (statistics.median(c["proxy"] for c in base) / med["proxy"])
        print("| %s | %s | %.1f | %s | %.1f | %.1f | %.1f |" % (
            sc, system, med["proxy"], ratio, med["origin"], med["wrk"], sum(med.values())))
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
