"""What already holds in front of real gunicorn: workers never see more than max_connections,
/healthz answers off the worker pool, and reload and drain under load lose no request.
"""

import signal
import threading
import time
import unittest

from harness import RealworldTest, config, get, ok, poll, run_threads


class QueueingTest(RealworldTest):

    def test_gunicorn_never_sees_more_requests_than_max_connections(self):
        # gthread: the app server could run 8 at once; sluice must send it 3 at most.
        app = self.gunicorn(workers=1, threads=8)
        proxy = self.sluice(config(
            [app.address],
            backend="    server_defaults: { max_connections: 3, worker_timeout: 30s }\n"))
        results = ok(run_threads([lambda: get(proxy.port, "/slow?s=0.3", timeout=30)] * 20))
        self.assertEqual([r.status for r in results], [200] * 20)
        self.assertEqual(len(app.runs("/slow", "done")), 20)
        peak = app.max_overlap("/slow")
        self.assertLessEqual(peak, 3, "gunicorn had %d requests at once" % peak)
        self.assertGreaterEqual(peak, 2, "the slots were not used: the test proves nothing")


class HealthzOffThePoolTest(RealworldTest):

    def test_sluice_healthz_answers_busy_at_once_while_gunicorn_healthz_waits(self):
        app = self.gunicorn(workers=2)
        proxy = self.sluice(config(
            [app.address], admin="  busy_hold: 0s\n",
            backend="    server_defaults: { max_connections: 2, worker_timeout: 30s }\n"))
        load = [threading.Thread(target=run_threads, args=([lambda: get(proxy.port, "/slow?s=4")],),
                                 daemon=True) for _ in range(4)]
        for t in load:
            t.start()
        busy = poll(lambda: get(proxy.admin_port, "/healthz", timeout=5).status == 503, 5)
        self.assertTrue(busy, "sluice never said busy with 4 requests on 2 slots")
        app_check = []
        direct = threading.Thread(
            target=lambda: app_check.append(get(app.port, "/healthz", timeout=30)),
                                  daemon=True)
        direct.start()
        answers = [get(proxy.admin_port, "/healthz", timeout=5) for _ in range(20)]
        direct.join(30)
        self.assertEqual({(a.status, a.body.strip()) for a in answers}, {(503, b"busy")})
        times = sorted(a.elapsed for a in answers)
        median, slowest = times[len(times) // 2], times[-1]
        # Generous for a noisy machine: the spec's bound is 1 ms p99 (bench/ measures that).
        self.assertLess(median, 0.05, "sluice's /healthz took %.3f s (median)" % median)
        self.assertLess(slowest, 0.5, "sluice's /healthz took %.3f s" % slowest)
        self.assertEqual(app_check[0].status, 200)
        self.assertGreater(app_check[0].elapsed, 1.0, "gunicorn's /healthz was not held up: "
                           "the workers were not busy, the test proves nothing")
        self.assertGreater(app_check[0].elapsed, 20 * median)


class LifecycleTest(RealworldTest):

    def keep_requesting(self, port, stop, results):
        while not stop.is_set():
            try:
                r = get(port, "/slow?s=0.1", timeout=30)
                results.append((r.status, r.body))
            except OSError as e:
                results.append(("error", repr(e)))

    def test_reload_under_load_loses_no_request(self):
        app = self.gunicorn(workers=2, threads=4)
        yaml = config([app.address],
                      backend="    server_defaults: { max_connections: %d, worker_timeout: 30s }\n")
        proxy = self.sluice(yaml % 8)
        stop, results = threading.Event(), []
        clients = [threading.Thread(target=self.keep_requesting, args=(proxy.port, stop, results),
                                    daemon=True) for _ in range(8)]
        for c in clients:
            c.start()
        for max_connections in (4, 8, 6):
            time.sleep(0.8)
            self.write_config(yaml % max_connections, "sluice.yaml")
            reloads = lambda: proxy.metric("sluice_config_reloads_total", result="success")
            before = reloads()
            proxy.process.signal(signal.SIGHUP)
            self.assertTrue(poll(lambda: reloads() > before, 5), proxy.stderr())
        time.sleep(0.8)
        stop.set()
        for c in clients:
            c.join(30)
        self.assertGreater(len(results), 50)
        self.assertEqual([r for r in results if r != (200, b"slept")], [])
        self.assertEqual(proxy.metric("sluice_config_reloads_total", result="error"), 0)

    def test_drain_under_load_finishes_every_request_in_flight(self):
        app = self.gunicorn(workers=2, threads=4)
        proxy = self.sluice(config(
            [app.address],
            backend="    server_defaults: { max_connections: 8, worker_timeout: 30s }\n"))
        in_flight = 10  # 8 at the app, 2 waiting in sluice's queue

        def late_then_term():
            self.assertTrue(poll(lambda: len(app.runs("/slow", "start")) >= 8, 10))
            proxy.process.signal(signal.SIGTERM)
            return proxy.process.wait(15)
        clients = [lambda: get(proxy.port, "/slow?s=1.5", timeout=30)] * in_flight
        *responses, exit_code = ok(run_threads(clients + [late_then_term]))
        self.assertEqual([(r.status, r.body) for r in responses], [(200, b"slept")] * in_flight)
        self.assertEqual(exit_code, 0, proxy.stderr())
        self.assertEqual(len(app.runs("/slow", "done")), in_flight)


if __name__ == "__main__":
    unittest.main()
