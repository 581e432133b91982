"""Issue 13 points 3 and 6: what the app ran and what the log says happened.

Point 3: a request the app worked on is never sent again, and a worker killed by the app server
(uWSGI harakiri, gunicorn --timeout) is logged as `worker_killed`.
Point 6: a client that hung up is logged 499 `client_gone`, never with the server's status.
"""

import socket
import time
import unittest

from harness import RealworldTest, config, get, poll, run_threads, ok

KILLED_AFTER = 3  # seconds: the app server's own worker timeout, declared to sluice as well


def declared_worker_timeout():
    return ("    server_defaults: { max_connections: 2, worker_timeout: %ds }\n" % KILLED_AFTER)


class NeverASecondRunTest(RealworldTest):

    def assert_one_run_and_worker_killed(self, app, proxy):
        r = get(proxy.port, "/slow?s=10", timeout=30)
        self.assertEqual(r.status, 502, r.body)
        line = proxy.wait_access_log(1, path="/slow")[0]
        runs = app.runs("/slow", "start")
        self.assertEqual(len(runs), 1,
                         "the app ran the GET %d times; access log: %s" % (len(runs), line))
        self.assertEqual(line["retries"], 0, line)
        self.assertEqual(line["reason"], "worker_killed", line)
        self.assertNotIn("set `protocol:", proxy.stderr(),
                         "a killed worker is not a protocol mismatch")

    # point 3: a GET killed by harakiri is a 502 worker_killed, not a second run
    def test_uwsgi_harakiri_is_not_retried(self):
        app = self.uwsgi(http_socket=True, processes=2, harakiri=KILLED_AFTER)
        proxy = self.sluice(config([app.address], backend=declared_worker_timeout()))
        self.assert_one_run_and_worker_killed(app, proxy)

    # point 3: the same over the uwsgi protocol (uWSGI --socket)
    def test_uwsgi_harakiri_on_a_uwsgi_socket_is_not_retried(self):
        app = self.uwsgi(processes=2, harakiri=KILLED_AFTER)
        proxy = self.sluice(config([app.address],
                                   backend="    protocol: uwsgi\n" + declared_worker_timeout()))
        self.assert_one_run_and_worker_killed(app, proxy)

    # point 3: the same after gunicorn's WORKER TIMEOUT
    def test_gunicorn_worker_timeout_is_not_retried(self):
        app = self.gunicorn(workers=2, timeout=KILLED_AFTER)
        proxy = self.sluice(config([app.address], backend=declared_worker_timeout()))
        self.assert_one_run_and_worker_killed(app, proxy)

    # point 3: a PUT the app answered early (and closed) is never sent again
    def test_an_app_that_answers_before_reading_the_body_runs_once(self):
        # uWSGI answers /fast without reading the 5 MiB body and closes: the app ran the PUT,
        # so it must not run it again (a uwsgi connection is never a reused one).
        app = self.uwsgi(processes=2)
        proxy = self.sluice(config([app.address],
                                   backend="    protocol: uwsgi\n" + declared_worker_timeout()))
        try:
            get(proxy.port, "/fast", method="PUT", body=b"z" * (5 * 1024 * 1024), timeout=10)
        except OSError:
            pass  # how the client hears of it is not the point here
        line = proxy.wait_access_log(1, path="/fast")[0]
        self.assertEqual(len(app.runs("/fast")), 1, "the app ran the PUT again: %s" % line)
        self.assertEqual(line["retries"], 0, line)


class EarlyAnswerTest(RealworldTest):
    """An app that answers before reading the upload: the client, which writes its whole body
    before it reads (http.client, as `get` does), gets that answer, not a broken pipe."""

    def assert_the_early_answer_arrives(self, app, backend=""):
        proxy = self.sluice(config([app.address], backend=backend))
        for _ in range(3):
            r = get(proxy.port, "/fast", method="PUT", body=b"z" * (20 * 1024 * 1024), timeout=20)
            self.assertEqual((r.status, r.body), (200, b"fast"))
        lines = proxy.wait_access_log(3, path="/fast")
        self.assertEqual([line["status"] for line in lines], [200] * 3, lines)

    def test_gunicorns_early_answer_reaches_a_client_still_sending(self):
        self.assert_the_early_answer_arrives(self.gunicorn(workers=2))

    def test_uwsgis_early_answer_reaches_a_client_still_sending(self):
        self.assert_the_early_answer_arrives(self.uwsgi(http_socket=True, processes=2))


class ClientGoneTest(RealworldTest):

    def test_a_client_that_hung_up_is_logged_499_every_time(self):
        cases = 20
        app = self.gunicorn(workers=2, threads=cases // 2)
        proxy = self.sluice(config(
            [app.address],
            backend="    server_defaults: { max_connections: %d, worker_timeout: 30s }\n" % cases))

        def hang_up_after_a_second():
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
                s.sendall(b"GET /slow?s=1.5 HTTP/1.1\r\nHost: realworld\r\n\r\n")
                time.sleep(1.0)
            return time.monotonic()
        ok(run_threads([hang_up_after_a_second] * cases))
        lines = proxy.wait_access_log(cases, timeout=15, path="/slow")
        self.assertEqual(len(lines), cases)
        self.assertTrue(poll(lambda: len(app.runs("/slow", "done")) == cases, 10),
                        "the app did not finish every request: the test proves nothing")
        ends = [(l["status"], l["reason"]) for l in lines]
        wrong = [e for e in ends if e != (499, "client_gone")]
        self.assertEqual(wrong, [],
                         "%d of %d hung-up clients logged otherwise" % (len(wrong), cases))


if __name__ == "__main__":
    unittest.main()
