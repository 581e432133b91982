"""Issue 13 point 1: slow clients never hold a worker (SPEC "Buffering").

gunicorn's sync workers, two of them, behind max_connections 2: a client that uploads or reads
slowly must not keep a worker (or a sluice slot) for the time of its transfer.
"""

import socket
import time
import unittest

from app import big_body
from harness import RealworldTest, config, get, ok, read_response, run_threads, slow_upload

UPLOAD = 100 * 1024
RATE = 12 * 1024           # bytes per second: each upload takes about 8.5 s
BIG = 8 * 1000 * 1000      # more than the loopback socket buffers on both hops absorb


def one_slot_buffered():
    return "    server_defaults: { max_connections: 1, worker_timeout: 30s }\n"


def two_slots():
    return "    server_defaults: { max_connections: 2, worker_timeout: 30s }\n"


def ask_for_big(port, timeout):
    """A connection with a small receive buffer that has asked for BIG bytes, not read yet."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /big?n=%d HTTP/1.1\r\nHost: realworld\r\n\r\n" % BIG)
    return s


def read_paused(port, path, stall, timeout, rate=None):
    """Asks for `path` on a small receive buffer, reads nothing for `stall` s, then reads as fast
    as it can (or at about `rate` bytes/s): (the body, seconds from the request until each byte
    count first reached)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    began = time.monotonic()
    s.sendall(b"GET %s HTTP/1.1\r\nHost: realworld\r\n\r\n" % path.encode())
    time.sleep(stall)
    f = s.makefile("rb")
    length = None  # chunked when no Content-Length comes
    while (line := f.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body, reached = bytearray(), []
    while length is None or len(body) < length:
        want = 65536 if length is not None else int(f.readline().split(b";")[0] or b"0", 16)
        if want == 0:
            break
        piece = f.read1(min(want, length - len(body))) if length is not None else f.read(want)
        if length is None:
            f.readline()
        if not piece:
            break
        body += piece
        reached.append((len(body), time.monotonic() - began))
        if rate:
            time.sleep(len(piece) / rate)
    s.close()
    return bytes(body), reached


def when_reached(reached, count):
    return next((t for n, t in reached if n >= count), None)


class BufferingTest(RealworldTest):

    def test_slow_uploads_do_not_hold_workers(self):
        app = self.gunicorn(workers=2)
        proxy = self.sluice(config([app.address], backend=two_slots()))
        uploads = [lambda: slow_upload(proxy.port, "/upload", UPLOAD, RATE)] * 2

        def fast_after_a_second():
            time.sleep(1.0)
            return get(proxy.port, "/fast", timeout=30)
        *ups, fast = ok(run_threads(uploads + [fast_after_a_second]))
        uploads_done = time.monotonic()  # an upper bound; each upload's own end is below
        for status, body, elapsed, sha in ups:
            self.assertEqual(status, 200, body)
            self.assertIn(sha, body.decode(), "the app saw other bytes than were sent")
            self.assertGreater(elapsed, 5.0, "the upload was not slow: the test proves nothing")
        slowest_upload = max(u[2] for u in ups)
        self.assertEqual(fast.status, 200)
        self.assertLess(fast.elapsed, slowest_upload / 3,
                        "GET /fast waited for a slow upload: %.1f s (uploads %.1f s)"
                        % (fast.elapsed, slowest_upload))
        self.assertLess(fast.finished_at, uploads_done - 2.0)
        line = proxy.wait_access_log(1, path="/fast")[0]
        self.assertLess(line["queue_ms"], 1000, line)

    def test_a_slow_reader_does_not_hold_a_worker(self):
        app = self.gunicorn(workers=2)
        proxy = self.sluice(config([app.address], backend=two_slots()))
        closed_at = []

        def crawl():
            s = ask_for_big(proxy.port, timeout=10)
            got, until = 0, time.monotonic() + 6.0
            while time.monotonic() < until:
                got += len(s.recv(1024))
                time.sleep(0.02)
            s.close()
            closed_at.append(time.monotonic())
            return got

        def fast_after_a_second():
            time.sleep(1.0)
            return get(proxy.port, "/fast", timeout=30)
        got_a, got_b, fast = ok(run_threads([crawl, crawl, fast_after_a_second]))
        self.assertLess(max(got_a, got_b), BIG // 4, "the readers were not slow")
        self.assertEqual(fast.status, 200)
        self.assertLess(fast.finished_at, min(closed_at) - 2.0,
                        "GET /fast waited for a slow reader to hang up (%.1f s)" % fast.elapsed)
        line = proxy.wait_access_log(1, path="/fast")[0]
        self.assertLess(line["queue_ms"], 1000, line)

    def test_a_slow_reader_does_not_hold_a_keep_alive_worker(self):
        # uWSGI's HTTP/1.1 socket: its one worker stays with a kept-alive connection, so the
        # server connection must go back to sluice's pool at the body's last byte, with the slot,
        # not when the stalled reader has taken the body.
        # With one proxy thread the next request finds that connection in the pool; with two it
        # may come to the other thread, which has the first one's idle connection closed.
        # With no pooling (max_idle 0) the connection is closed at that byte instead.
        for threads, max_idle in ((1, 8), (2, 8), (1, 0)):
            with self.subTest(threads=threads, max_idle=max_idle):
                self.slow_reader_and_keep_alive_worker(threads, max_idle)

    def slow_reader_and_keep_alive_worker(self, threads, max_idle):
        name = "%d-%d" % (threads, max_idle)
        app = self.uwsgi(processes=1, keepalive=30, name="uwsgi" + name)
        proxy = self.sluice(config([app.address], backend=(
            "    keepalive: { max_idle: %d }\n"
            "    server_defaults: { max_connections: 1, worker_timeout: 30s,"
            " keepalive_timeout: 20s }\n" % max_idle), timeouts="  queue: 20s\n").replace(
                "threads: 2", "threads: %d" % threads), name="sluice" + name)
        stall = 6.0

        def stalled_reader():
            s = ask_for_big(proxy.port, timeout=20)
            time.sleep(stall)
            body = read_response(s, 20)[3]
            s.close()
            return body

        def fast_after_a_second():
            time.sleep(1.0)
            return get(proxy.port, "/fast", timeout=30)
        body, fast = ok(run_threads([stalled_reader, fast_after_a_second]))
        self.assertEqual(len(body), BIG, "the stalled reader did not get its whole response")
        self.assertTrue(body == big_body(BIG), "the stalled reader got other bytes than the app's")
        self.assertEqual(fast.status, 200)
        self.assertLess(fast.elapsed, stall / 3,
                        "GET /fast waited for the stalled reader's server connection: %.1f s"
                        % fast.elapsed)

    def test_bytes_held_for_a_client_go_out_while_the_server_pauses(self):
        # The client stalls just long enough for sluice to take the body into its buffer, then
        # reads at full speed while the app pauses before its last bytes: all the others are in
        # sluice already and must not wait for the app's next ones.
        app = self.gunicorn(workers=1)
        proxy = self.sluice(config([app.address], backend=one_slot_buffered()))
        n, tail, pause = 4 * 1024 * 1024, 1000, 4.0
        for chunked in ("0", "1"):
            body, reached = read_paused(
                proxy.port, "/paused?n=%d&tail=%d&s=%g&chunked=%s" % (n, tail, pause, chunked),
                stall=0.5, timeout=20)
            self.assertEqual(len(body), n, "chunked=" + chunked)
            self.assertTrue(body == big_body(n), "chunked=%s: other bytes than the app's" % chunked)
            prefix_at = when_reached(reached, n - tail)
            self.assertLess(prefix_at, 0.5 + pause / 2,
                            "chunked=%s: the bytes before the pause waited for the app's last "
                            "ones (%.1f s)" % (chunked, prefix_at))

    def test_bytes_held_for_a_client_still_reach_it_when_the_server_times_out(self):
        app = self.gunicorn(workers=1)
        proxy = self.sluice(config([app.address], backend=one_slot_buffered(),
                                   timeouts="  server: 1500ms\n"))
        # The client reads at 1 MB/s: the held bytes take it seconds past the server's timeout,
        # during which the app's slot must be free.
        n, tail = 8 * 1024 * 1024, 1000
        body, _ = read_paused(proxy.port, "/paused?n=%d&tail=%d&s=12" % (n, tail), stall=0.5,
                              timeout=30, rate=1000 * 1000)
        self.assertEqual(len(body), n - tail,
                         "not every byte the app sent before it went quiet reached the client")
        self.assertTrue(body == big_body(n)[:n - tail], "other bytes than the app's")
        line = proxy.wait_access_log(1, path="/paused")[0]
        self.assertEqual(line["reason"], "server_timeout", line)
        self.assertLess(line["slot_ms"], 3000, "the slot was held while the client read: %s" % line)
        self.assertGreater(line["total_ms"], 5000, "the client was not slow: %s" % line)

    def test_the_access_log_shows_slot_time_apart_from_upload_time(self):
        app = self.gunicorn(workers=2)
        proxy = self.sluice(config([app.address], backend=two_slots()))
        status, body, elapsed, _ = slow_upload(proxy.port, "/upload", 48 * 1024, RATE)
        self.assertEqual(status, 200, body)
        line = proxy.wait_access_log(1, path="/upload")[0]
        self.assertIn("body_ms", line)
        self.assertIn("slot_ms", line)
        self.assertGreater(line["body_ms"], line["total_ms"] / 2, line)
        self.assertLess(line["slot_ms"] * 4, line["total_ms"],
                        "the slot was held while the client uploaded: %s" % line)
        self.assertGreater(proxy.metric("sluice_slot_hold_seconds_count", backend="app"), 0)


if __name__ == "__main__":
    unittest.main()
