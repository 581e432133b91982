"""Processes and clients for the real-app-server tests: gunicorn, uWSGI and sluice on 127.0.0.1,
each started in its own session and stopped by its pid (SIGTERM, then SIGKILL after a bound),
plus raw-socket HTTP clients that upload, read and hang up at a chosen pace.

Nothing here sleeps for a fixed time to wait for a state: `poll` retries until a deadline.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SLUICE = os.environ.get("SLUICE_BINARY", "")
STOP_GRACE = 5.0        # seconds between SIGTERM and SIGKILL
START_DEADLINE = 20.0   # seconds for a server to accept connections


def poll(predicate, timeout, interval=0.05):
    """The first truthy value of predicate() within timeout seconds, else the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Process:
    """One child in its own session, output to files in the test's temp dir."""

    def __init__(self, name, argv, workdir, env=None, cwd=None):
        self.name = name
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                          env=env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def running(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.running():
            os.kill(self.pid, sig)

    def wait(self, timeout):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """SIGTERM, SIGKILL after STOP_GRACE; then SIGKILL what is left of the session this
        process leads (app-server workers orphaned by a killed master), by its process group id."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            if self.wait(STOP_GRACE) is None:
                os.kill(self.pid, signal.SIGKILL)
                self.wait(STOP_GRACE)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class AppServer:
    """gunicorn or uWSGI running app.py; `address` is what a sluice server entry takes."""

    def __init__(self, test, kind, port, process, app_log):
        self.test, self.kind, self.port = test, kind, port
        self.process, self.app_log = process, app_log
        self.address = "127.0.0.1:%d" % port

    def runs(self, path=None, kind=None):
        """The app's log as (kind, pid, path, start, end) tuples, optionally filtered."""
        out = []
        if not os.path.exists(self.app_log):
            return out
        with open(self.app_log) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 5:
                    continue
                entry = (parts[0], int(parts[1]), parts[2], float(parts[3]), float(parts[4]))
                if (path is None or entry[2] == path) and (kind is None or entry[0] == kind):
                    out.append(entry)
        return out

    def max_overlap(self, path=None):
        """The most completed requests the app had in progress at the same instant."""
        events = []
        for _, _, _, start, end in self.runs(path, "done"):
            events += [(start, 1), (end, -1)]
        events.sort(key=lambda e: (e[0], e[1]))
        now = peak = 0
        for _, step in events:
            now += step
            peak = max(peak, now)
        return peak


class RealworldTest(unittest.TestCase):
    """Base class: a temp dir and a list of processes, all stopped in tearDown."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-realworld-")
        self.processes = []

    def tearDown(self):
        for p in reversed(self.processes):
            p.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def spawn(self, name, argv, env=None, cwd=None):
        p = Process(name, argv, self.dir, env=env, cwd=cwd)
        self.processes.append(p)
        return p

    def app_env(self, log):
        env = dict(os.environ)
        env["REALWORLD_APP_LOG"] = log
        env["PYTHONPATH"] = HERE
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    # --- app servers -------------------------------------------------------------------------

    def gunicorn(self, workers=2, threads=None, timeout=None, name="gunicorn"):
        port = free_port()
        log = os.path.join(self.dir, name + ".applog")
        argv = ["gunicorn", "--bind", "127.0.0.1:%d" % port, "--workers", str(workers),
                "--graceful-timeout", "2", "--chdir", HERE]
        if threads:
            argv += ["--worker-class", "gthread", "--threads", str(threads)]
        if timeout:
            argv += ["--timeout", str(timeout)]
        argv.append("app:application")
        p = self.spawn(name, argv, env=self.app_env(log), cwd=HERE)
        server = AppServer(self, "gunicorn", port, p, log)
        self.wait_serving(server, http=True)
        return server

    def uwsgi(self, http_socket=False, processes=2, harakiri=None, keepalive=None, name="uwsgi"):
        """`keepalive` (seconds): HTTP/1.1 keep-alive on the http socket, a worker staying with
        its connection between requests for up to that long (uWSGI's --socket-timeout)."""
        port = free_port()
        log = os.path.join(self.dir, name + ".applog")
        socket_kind = "--http11-socket" if keepalive else "--http-socket" if http_socket \
            else "--socket"
        argv = ["uwsgi", "--plugin", "python3", "--master", "--die-on-term",
                "--processes", str(processes), "--chdir", HERE, "--wsgi-file", "app.py",
                "--callable", "application", "--disable-logging", "--need-app",
                socket_kind, "127.0.0.1:%d" % port]
        if keepalive:
            argv += ["--socket-timeout", str(keepalive)]
        if harakiri:
            argv += ["--harakiri", str(harakiri)]
        p = self.spawn(name, argv, env=self.app_env(log), cwd=HERE)
        server = AppServer(self, "uwsgi", port, p, log)
        self.wait_serving(server, http=http_socket or bool(keepalive))
        return server

    def wait_serving(self, server, http):
        def ready():
            if not server.process.running():
                raise AssertionError("%s exited:\n%s"
                                     % (server.kind, server.process.stderr()[-3000:]))
            if not http:
                return (can_connect(server.port)
                        and "spawned uWSGI worker" in server.process.stderr())
            try:
                return get(server.port, "/fast", timeout=2).status == 200
            except OSError:
                return False
        if not poll(ready, START_DEADLINE, 0.1):
            raise AssertionError("%s never served:\n%s"
                                 % (server.kind, server.process.stderr()[-3000:]))

    # --- sluice ------------------------------------------------------------------------------

    def write_config(self, yaml_text, name="sluice.yaml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(yaml_text.replace("{dir}", self.dir))
        return path

    def sluice(self, yaml_text, extra_args=(), name="sluice"):
        proxy = Sluice(self, self.write_config(yaml_text, name + ".yaml"), extra_args, name)
        proxy.wait_listening()
        return proxy

    def sluice_command(self, args, timeout=20):
        r = subprocess.run([SLUICE] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def config(servers, backend="", timeouts="", admin=""):
    """A sluice config: one listener on a free port of 127.0.0.1, admin on another, the access
    log in the test's dir, one backend `app` with the given server addresses. `backend` holds
    extra lines of the backend (indented 4), `timeouts` and `admin` extra lines of theirs
    (indented 2)."""
    y = "threads: 2\naccess_log: {dir}/access.log\n"
    y += "admin:\n  bind: 127.0.0.1:0\n" + admin
    y += "listeners:\n  - name: web\n    bind: 127.0.0.1:0\n    default_backend: app\n"
    y += "timeouts:\n  upstream_idle: 0s\n  drain: 5s\n" + timeouts
    y += "backends:\n  - name: app\n" + backend
    y += "    servers:\n"
    for i, address in enumerate(servers):
        y += '      - { name: s%d, address: "%s" }\n' % (i + 1, address)
    return y


class Sluice:
    def __init__(self, test, config_path, extra_args, name):
        self.test = test
        self.config_path = config_path
        self.access_log_path = os.path.join(test.dir, "access.log")
        self.process = test.spawn(name, [SLUICE, "run", "-c", config_path] + list(extra_args))
        self.port = self.admin_port = None

    def stderr(self):
        return self.process.stderr()

    def wait_listening(self):
        def addresses():
            text = self.stderr()
            web = re.search(r"listener \S+ listening on \S+:(\d+)", text)
            admin = re.search(r"admin listening on \S+:(\d+)", text)
            if not self.process.running():
                raise AssertionError("sluice exited %s:\n%s"
                                     % (self.process.popen.returncode, text))
            return (int(web.group(1)), int(admin.group(1))) if web and admin else None
        found = poll(addresses, START_DEADLINE)
        if not found:
            raise AssertionError("sluice never listened:\n" + self.stderr())
        self.port, self.admin_port = found

    def access_log(self):
        if not os.path.exists(self.access_log_path):
            return []
        out = []
        with open(self.access_log_path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
        return out

    def wait_access_log(self, count, timeout=10, path=None):
        def enough():
            lines = [l for l in self.access_log()
                     if path is None or l.get("path", "").startswith(path)]
            return lines if len(lines) >= count else None
        return poll(enough, timeout) or [l for l in self.access_log()
                                         if path is None or l.get("path", "").startswith(path)]

    def metrics_text(self):
        return get(self.admin_port, "/metrics", timeout=5).body.decode()

    def metric(self, name, **labels):
        """Sum of the samples of `name` whose labels include `labels` (0 if none)."""
        total = 0.0
        for line in self.metrics_text().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            m = re.match(r"([a-zA-Z_:]+)(\{(.*)\})? (\S+)$", line)
            if not m or m.group(1) != name:
                continue
            have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(m.group(4))
        return total

    def server_state(self, server, backend="app"):
        """The state sluice_server_state reports 1 for, or None."""
        for state in ("up", "busy", "down", "maint"):
            if self.metric("sluice_server_state", backend=backend, server=server, state=state) == 1:
                return state
        return None

    def status(self):
        return json.loads(get(self.admin_port, "/status", timeout=5).body)


# --- clients ---------------------------------------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body, elapsed, finished_at):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.elapsed, self.finished_at = elapsed, finished_at

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def get(port, path, timeout=30, method="GET", body=None, headers=None):
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data, time.monotonic() - start,
                        time.monotonic())
    finally:
        conn.close()


def read_response(sock, timeout):
    """Reads one whole HTTP/1.1 response (Content-Length, chunked or until close) from sock."""
    sock.settimeout(timeout)
    f = sock.makefile("rb")
    status_line = f.readline().decode("latin-1")
    if not status_line:
        raise ConnectionError("closed before a response")
    parts = status_line.split(" ", 2)
    headers = []
    while True:
        line = f.readline().decode("latin-1").rstrip("\r\n")
        if not line:
            break
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    lookup = {k.lower(): v for k, v in headers}
    if "content-length" in lookup:
        body = f.read(int(lookup["content-length"]))
    elif lookup.get("transfer-encoding", "").lower() == "chunked":
        body = read_chunked(f)
    else:
        body = f.read()
    return int(parts[1]), parts[2].strip() if len(parts) > 2 else "", headers, body


def read_chunked(f):
    """A chunked body from the file object f, trailers skipped."""
    pieces = []
    while True:
        size = int(f.readline().split(b";")[0], 16)
        if size == 0:
            while f.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(pieces)
        pieces.append(f.read(size))
        f.readline()


def slow_upload(port, path, size, rate, piece=4096, timeout=60):
    """POSTs `size` deterministic bytes at about `rate` bytes/s; returns (status, body, elapsed)."""
    data = bytes((i * 7) % 256 for i in range(size))
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("POST %s HTTP/1.1\r\nHost: realworld\r\nContent-Length: %d\r\n"
                   "Connection: close\r\n\r\n" % (path, size)).encode())
        for at in range(0, size, piece):
            s.sendall(data[at:at + piece])
            due = start + (at + piece) / rate
            time.sleep(max(0.0, due - time.monotonic()))
        status, _, _, body = read_response(s, timeout)
    return status, body, time.monotonic() - start, hashlib.sha256(data).hexdigest()


def chunked_upload(port, path, data, chunk=65536, timeout=60):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("POST %s HTTP/1.1\r\nHost: realworld\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n" % path).encode())
        for at in range(0, len(data), chunk):
            piece = data[at:at + chunk]
            s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        return read_response(s, timeout)


def run_threads(functions):
    """Runs each no-argument function on its own thread; returns their results (or exceptions)
    in order."""
    results = [None] * len(functions)

    def call(i, fn):
        try:
            results[i] = fn()
        except Exception as e:  # noqa: BLE001 - handed back to the test to assert on
            results[i] = e
    threads = [threading.Thread(target=call, args=(i, fn), daemon=True)
               for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def ok(results):
    """Fails the test with the first exception among thread results."""
    for r in results:
        if isinstance(r, Exception):
            raise AssertionError("a client failed: %r" % r) from r
    return results


def require_tools():
    missing = [t for t in ("gunicorn", "uwsgi") if shutil.which(t) is None]
    if missing:
        sys.exit("tests/realworld needs %s (Debian packages gunicorn, uwsgi-core, "
                 "uwsgi-plugin-python3)" % " and ".join(missing))
