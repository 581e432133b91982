"""The status page in a real browser (issue 16): headless Chromium loads GET / from a running
sluice under traffic, and the test fails on any console error or uncaught exception, a backend or
server of /status missing from the page, or a figure on the page that differs from /status. It
clicks drain and ready, and saves screenshots at 1280x800 and 390 px wide.

usage: status_page_test.py SLUICE_BINARY OUT_DIR      (exit 77 = skipped: no browser to be had)

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
ending in NUL on fds 3 and 4), so nothing beyond the Python standard library is needed.
"""

import http.server
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from cdp import Browser

SKIP = 77
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def poll(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    # Installed when missing, as the Makefile's deps do; only root can (CI and dev machines are).
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("browser test: chromium missing; installing it (Debian package chromium)")
        subprocess.run(["bash", os.path.join(ROOT, ".ci", "deps.sh"), "chromium"], check=False)
        return shutil.which("chromium")
    return None


class App(http.server.BaseHTTPRequestHandler):
    """A small app server: /healthz at once, anything else after 20-150 ms."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path != "/healthz":
            time.sleep(random.uniform(0.02, 0.15))
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_app():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


CONFIG = """threads: 2
access_log: off
listeners:
  - name: web
    bind: 127.0.0.1:0
    routes:
      - {{ match: {{ path_prefix: /api }}, backend: api }}
    default_backend: app
admin: {{ bind: 127.0.0.1:0 }}
backends:
  - name: app
    server_defaults: {{ max_connections: 2, keepalive_timeout: 5s }}
    health: {{ http: {{ path: /healthz }}, interval: 1s, timeout: 500ms }}
    servers:
      - {{ name: app1, address: 127.0.0.1:{a1} }}
      - {{ name: app2, address: 127.0.0.1:{a2}, weight: 2 }}
  - name: api
    server_defaults: {{ max_connections: 1, keepalive_timeout: 5s }}
    servers:
      - {{ name: api1, address: 127.0.0.1:{a3} }}
"""


class Sluice:
    def __init__(self, binary, workdir, config):
        path = os.path.join(workdir, "sluice.yaml")
        with open(path, "w") as f:
            f.write(config)
        self.err_path = os.path.join(workdir, "sluice.err")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([binary, "run", "-c", path], stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        self.port = self.listening("listener web")
        self.admin = self.listening("admin")

    def log(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def listening(self, prefix):
        pattern = re.compile(re.escape(prefix) + r" listening on 127\.0\.0\.1:(\d+)")
        found = poll(lambda: pattern.search(self.log()), 20)
        if not found:
            raise SystemExit("sluice did not start:\n" + self.log())
        return int(found.group(1))

    def status(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/status", timeout=5) as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.err.close()


class Traffic:
    """Clients that keep both backends busy (some requests queue) until stopped."""

    def __init__(self, port, clients=6):
        self.running = True
        self.threads = [threading.Thread(target=self.client, args=(port, i), daemon=True)
                        for i in range(clients)]
        for t in self.threads:
            t.start()

    def client(self, port, i):
        path = "/api/x" if i % 3 == 0 else "/page"
        while self.running:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read()
            except OSError:
                pass

    def stop(self):
        self.running = False
        for t in self.threads:
            t.join(15)


# What the page shows for each figure of /status, read back from its data-value elements.
PAGE_FIGURES = """(() => {
  const text = (root, name) => { const e = root.querySelector('[data-value="' + name + '"]');
                                 return e ? e.textContent : null; };
  return [...document.querySelectorAll("section[data-backend]")].map(sec => ({
    name: sec.dataset.backend,
    queue: text(sec, "queue"), free_slots: text(sec, "free_slots"),
    p50: text(sec, "queue_wait_p50_ms"), p99: text(sec, "queue_wait_p99_ms"),
    servers: [...sec.querySelectorAll("tr[data-server]")].map(tr => ({
      name: tr.dataset.server, state: tr.querySelector(".pill").textContent,
      set_by: tr.querySelector('[data-field="state_set_by"]').textContent,
      in_flight: text(tr, "in_flight"), max_connections: text(tr, "max_connections"),
      weight: text(tr, "weight"), effective_weight: text(tr, "effective_weight"),
      source: text(tr, "source"), last_check: text(tr, "last_check"),
      age: tr.querySelector('[data-value="last_check_age_s"]').dataset.age,
      requests_1m: text(tr, "requests_1m"), errors_1m: text(tr, "errors_1m")}))}));
})()"""


def wait_refresh(browser, after, timeout=10):
    """Waits until the page has rendered /status more than `after` times; returns the count."""
    def refreshes():  # 0 while a navigation has no body yet
        n = browser.eval("document.body ? Number(document.body.dataset.refreshes) : 0")
        return n if n > after else 0
    count = poll(refreshes, timeout, 0.1)
    if not count:
        raise AssertionError(f"the page did not refresh from /status within {timeout} s")
    return count


def shown_ms(value):
    return "–" if value is None else f"≤ {value:g} ms"


def compare(page, status, failures):
    """Every backend and server of /status is on the page with the same figures."""
    on_page = {b["name"]: b for b in page}
    for b in status["backends"]:
        pb = on_page.get(b["name"])
        if pb is None:
            failures.append(f"backend {b['name']} is missing from the page")
            continue
        expect = {"queue": f"{b['queue_length']} / {b['queue_max_length']}",
                  "free_slots": str(b["free_slots"]), "p50": shown_ms(b["queue_wait_p50_ms"]),
                  "p99": shown_ms(b["queue_wait_p99_ms"])}
        for key, value in expect.items():
            if pb[key] != value:
                failures.append(f"backend {b['name']} {key}: page {pb[key]!r}, /status {value!r}")
        servers = {s["name"]: s for s in pb["servers"]}
        for s in b["servers"]:
            ps = servers.get(s["name"])
            if ps is None:
                failures.append(f"server {b['name']}/{s['name']} is missing from the page")
                continue
            expect = {"state": s["state"], "set_by": "by " + s["state_set_by"],
                      "in_flight": str(s["in_flight"]),
                      "max_connections": str(s["max_connections"] or "∞"),
                      "weight": str(s["weight"]), "effective_weight": f"{s['effective_weight']:g}",
                      "source": s["source"], "last_check": s["last_check"],
                      "requests_1m": str(s["requests_1m"]), "errors_1m": str(s["errors_1m"])}
            for key, value in expect.items():
                if ps[key] != value:
                    failures.append(f"server {s['name']} {key}: page {ps[key]!r}, "
                                    f"/status {value!r}")
            if (s["last_check_age_s"] is None) != (ps["age"] == "null"):
                failures.append(f"server {s['name']}: last check age shown as {ps['age']!r}")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    binary, out_dir = sys.argv[1], sys.argv[2]
    chromium = find_chromium()
    if not chromium:
        print("SKIPPED: no chromium, and it cannot be installed here (not root or no apt-get); "
              "install the Debian package chromium to run this test")
        return SKIP
    os.makedirs(out_dir, exist_ok=True)
    started = time.monotonic()
    apps = [start_app() for _ in range(3)]
    workdir = tempfile.mkdtemp(prefix="sluice-browser-")
    proxy = Sluice(binary, workdir, CONFIG.format(a1=apps[0].server_address[1],
                                                  a2=apps[1].server_address[1],
                                                  a3=apps[2].server_address[1]))
    traffic, browser, failures = None, None, []
    try:
        traffic = Traffic(proxy.port)
        browser = Browser(chromium, workdir)
        browser.size(1280, 800, False)
        browser.call("Page.navigate", {"url": f"http://127.0.0.1:{proxy.admin}/"})
        seen = wait_refresh(browser, 1)  # the first render, then one refresh under traffic
        compare(browser.eval(PAGE_FIGURES), proxy.status(), [])  # names at least, under load
        names = [(b["name"], s["name"]) for b in proxy.status()["backends"] for s in b["servers"]]
        page = browser.eval(PAGE_FIGURES)
        for backend, server in names:
            if not any(b["name"] == backend and any(s["name"] == server for s in b["servers"])
                       for b in page):
                failures.append(f"{backend}/{server} is not on the page under traffic")
        browser.screenshot(os.path.join(out_dir, "status-page-1280-traffic.png"))

        # Figures move under traffic; once it stops they hold still and must match exactly.
        traffic.stop()
        poll(lambda: all(s["in_flight"] == 0 for b in proxy.status()["backends"]
                         for s in b["servers"]), 10)
        seen = wait_refresh(browser, wait_refresh(browser, seen))
        compare(browser.eval(PAGE_FIGURES), proxy.status(), failures)
        width = browser.eval("document.documentElement.scrollWidth")
        if width > 1280:
            failures.append(f"at 1280 px wide the page is {width} px wide (scrolls sideways)")
        browser.screenshot(os.path.join(out_dir, "status-page-1280.png"))

        # The drain button calls the API (same origin, loopback: no token needed).
        browser.eval("""document.querySelector('section[data-backend="app"] tr[data-server="app1"]')
                        .querySelectorAll("button")[0].click()""")
        drained = poll(lambda: [s for b in proxy.status()["backends"] for s in b["servers"]
                                if s["name"] == "app1" and s["state_set_by"] == "api"], 5)
        if not drained or drained[0]["state"] != "busy":
            failures.append(f"the drain button did not drain app1: {drained}")
        seen = wait_refresh(browser, seen)
        compare(browser.eval(PAGE_FIGURES), proxy.status(), failures)
        browser.eval("""document.querySelector('section[data-backend="app"] tr[data-server="app1"]')
                        .querySelectorAll("button")[1].click()""")
        if not poll(lambda: [s for b in proxy.status()["backends"] for s in b["servers"]
                             if s["name"] == "app1" and s["state"] == "up"], 5):
            failures.append("the ready button did not bring app1 back")

        browser.size(390, 844, True)
        browser.call("Page.reload")
        seen = wait_refresh(browser, 0)
        width = browser.eval("document.documentElement.scrollWidth")
        if width > 390:
            failures.append(f"at 390 px wide the page is {width} px wide (scrolls sideways)")
        compare(browser.eval(PAGE_FIGURES), proxy.status(), failures)
        browser.screenshot(os.path.join(out_dir, "status-page-390.png"))
        failures += browser.errors
    finally:
        if traffic:
            traffic.stop()
        if browser:
            browser.close()
        proxy.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    took = time.monotonic() - started
    print(f"browser test: {'failed' if failures else 'passed'} in {took:.1f} s; screenshots in "
          f"{out_dir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
