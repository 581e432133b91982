"""Issue 13 points 2 and 4: active checks against real app servers (SPEC "Real app servers").

Point 2: a check that waits behind busy sync workers is not a failure.
Point 4: checks speak the backend's protocol, and a protocol mismatch is named as such.
"""

import threading
import time
import unittest

from harness import RealworldTest, config, get, poll


def health(interval="400ms", timeout="250ms", rise=2, fall=2):
    return ("    health:\n      http: { path: /healthz }\n      interval: %s\n      timeout: %s\n"
            "      jitter: 0%%\n      rise: %d\n      fall: %d\n" % (interval, timeout, rise, fall))


class BusyIsNotDownTest(RealworldTest):

    # point 2: a check timing out behind busy workers that keep answering counts "busy"
    def test_checks_do_not_flap_while_every_worker_is_busy(self):
        workers, length = 2, 2.0  # each request is 8 check timeouts long
        app = self.gunicorn(workers=workers)
        proxy = self.sluice(config(
            [app.address],
            backend="    server_defaults: { max_connections: %d, worker_timeout: 30s }\n" % workers
                    + health(fall=3)))
        checks = lambda result: proxy.metric("sluice_health_checks_total", result=result)
        self.assertTrue(poll(lambda: checks("pass") >= 1, 5),
                        "the checks never passed on an idle server")
        stop = time.monotonic() + 10.0
        statuses = []

        def load(first):
            # Twice as many clients as workers keep every worker busy; the first requests are
            # staggered so that requests complete all along, as on a busy server that works.
            s = first
            while time.monotonic() < stop:
                statuses.append(get(proxy.port, "/slow?s=%.2f" % s, timeout=30).status)
                s = length
        first = [length * (i + 1) / (2 * workers) for i in range(2 * workers)]
        clients = [threading.Thread(target=load, args=(f,), daemon=True) for f in first]
        for c in clients:
            c.start()
        states = set()
        while time.monotonic() < stop:
            states.add(proxy.server_state("s1"))
            time.sleep(0.1)
        for c in clients:
            c.join(30)
        self.assertTrue(statuses)
        self.assertEqual(set(statuses), {200})
        self.assertEqual(states, {"up"}, "the server left 'up' while merely busy:\n"
                         + "\n".join(l for l in proxy.stderr().splitlines() if "s1" in l))
        self.assertGreater(proxy.metric("sluice_health_checks_total", result="busy"), 0)
        self.assertEqual(proxy.metric("sluice_health_checks_total", result="fail"), 0)


class UwsgiChecksTest(RealworldTest):

    # point 4: the HTTP check goes to the uwsgi socket as a uwsgi packet
    def test_http_check_on_a_uwsgi_backend_speaks_uwsgi(self):
        app = self.uwsgi(processes=2)
        proxy = self.sluice(config(
            [app.address], timeouts="  queue: 3s\n",
            backend="    protocol: uwsgi\n    server_defaults: { max_connections: 2 }\n"
                    + health(interval="300ms", timeout="250ms")))
        states = set()

        def three_passes():
            states.add(proxy.server_state("s1"))
            return proxy.metric("sluice_health_checks_total", result="pass") >= 3
        passed = poll(three_passes, 8, interval=0.1)
        self.assertTrue(app.runs("/healthz"), "no check reached the app")
        self.assertTrue(passed, "checks failed:\n" + proxy.stderr()[-2000:])
        self.assertEqual(proxy.metric("sluice_health_checks_total", result="fail"), 0)
        self.assertEqual(states, {"up"})
        r = get(proxy.port, "/fast", timeout=10)
        self.assertEqual((r.status, r.body), (200, b"fast"))

    # point 4: a request to a uWSGI socket behind protocol: http says protocol_mismatch
    def test_http_backend_on_a_uwsgi_socket_is_a_protocol_mismatch(self):
        app = self.uwsgi(processes=2)
        proxy = self.sluice(config([app.address],
                                   backend="    server_defaults: { max_connections: 2 }\n"))
        r = get(proxy.port, "/fast", timeout=10)
        self.assertEqual(r.status, 502)
        line = proxy.wait_access_log(1)[0]
        self.assertEqual(line["reason"], "protocol_mismatch", line)
        # The event log's hint and the access log are written apart: the hint may come second.
        self.assertTrue(poll(lambda: "protocol: uwsgi" in proxy.stderr(), 5), proxy.stderr())

    # point 4: the failing check says what it saw and suggests protocol: uwsgi
    def test_a_failing_check_on_a_uwsgi_socket_suggests_protocol_uwsgi(self):
        app = self.uwsgi(processes=2)
        proxy = self.sluice(config([app.address],
                                   backend="    server_defaults: { max_connections: 2 }\n"
                                           + health(interval="300ms", timeout="250ms")))
        fails = lambda: proxy.metric("sluice_health_checks_total", result="fail")
        self.assertTrue(poll(lambda: fails() >= 2, 8))
        self.assertTrue(poll(lambda: proxy.server_state("s1") == "down", 5))
        check_lines = lambda: [l for l in proxy.stderr().splitlines()
                               if "s1" in l and ("check" in l or "down" in l)]
        # Polled: the event log is written apart from the metrics and the state.
        self.assertTrue(poll(lambda: any("protocol: uwsgi" in l for l in check_lines()), 5),
                        "no check failure line carries the hint:\n" + "\n".join(check_lines()))


if __name__ == "__main__":
    unittest.main()
