#!/usr/bin/env python3
"""A soak backend: an HTTP/1.1 app server on 127.0.0.1 whose misbehaviour the soak switches at
run time, and which counts how many requests it has in progress at once.

    backend.py PORT MODE_FILE STATS_FILE

It takes any number of connections (one thread each), so it does not hide an overload the way
a real pool of sync workers does behind its listen backlog: what it counts is what the proxy
sent it. MODE_FILE holds one word, read for every request:

  normal    answers at once
  slow      every request takes SLOW_SECONDS (the queue in front fills up)
  reset     reads the request, then resets the connection (RST, no response)
  failcheck /healthz answers 500; requests are served as normal

Paths: /healthz (200, or 500 in failcheck; not counted: checks are not requests),
/work?ms=N (holds its "worker" N ms), /echo (answers the body back), /big (1 MiB), anything
else 200 "ok".
Each response carries X-Seen-Request-Id, the request's X-Request-Id as the backend saw it.

STATS_FILE gets a line "peak N" each time the number of requests in progress reaches a new
high, so the soak reads the peak even of a backend it has killed.
"""

import os
import socket
import socketserver
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "realworld"))
import harness  # noqa: E402  (read_chunked)

SLOW_SECONDS = 0.7
BIG = bytes(i % 251 for i in range(1 << 20))


class Counter:
    def __init__(self, stats_path):
        self.lock = threading.Lock()
        self.now = self.peak = 0
        self.stats_path = stats_path

    def enter(self):
        with self.lock:
            self.now += 1
            if self.now > self.peak:
                self.peak = self.now
                with open(self.stats_path, "a") as f:
                    f.write("peak %d\n" % self.peak)

    def leave(self):
        with self.lock:
            self.now -= 1


def read_head(f):
    line = f.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers = {}
    while True:
        h = f.readline().decode("latin-1").rstrip("\r\n")
        if not h:
            break
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    return method, target, headers


def read_body(f, headers):
    if headers.get("transfer-encoding", "").lower() == "chunked":
        return harness.read_chunked(f)
    return f.read(int(headers.get("content-length", "0")))


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            head = read_head(self.rfile)
            if head is None:
                return
            method, target, headers = head
            if not self.answer(method, target, headers):
                return

    def answer(self, method, target, headers):
        mode = self.server.mode()
        path = target.split("?", 1)[0]
        if path == "/healthz":
            status = b"500 Failing" if mode == "failcheck" else b"200 OK"
            self.respond(status, b"check\n", headers)
            return True
        counter = self.server.counter
        counter.enter()
        try:
            body = read_body(self.rfile, headers)
            if mode == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                return False
            if mode == "slow":
                time.sleep(SLOW_SECONDS)
            if path == "/work":
                time.sleep(int(target.partition("ms=")[2] or "0") / 1000.0)
        finally:
            # Before the response goes out: the proxy may hand the slot on the moment the last
            # byte arrives, as a sync worker is free again once it has written its response.
            counter.leave()
        reply = body if path == "/echo" else BIG if path == "/big" else b"ok\n"
        self.respond(b"200 OK", reply, headers)
        return headers.get("connection", "").lower() != "close"

    def respond(self, status, body, headers):
        head = (b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n" % len(body)
                + b"X-Seen-Request-Id: " + headers.get("x-request-id", "").encode() + b"\r\n\r\n")
        self.wfile.write(head + body)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, port, mode_path, stats_path):
        self.mode_path = mode_path
        self.counter = Counter(stats_path)
        super().__init__(("127.0.0.1", port), Handler)

    def mode(self):
        try:
            with open(self.mode_path) as f:
                return f.read().strip() or "normal"
        except OSError:
            return "normal"


def main(argv):
    port, mode_path, stats_path = int(argv[1]), argv[2], argv[3]
    with Server(port, mode_path, stats_path) as server:
        server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
