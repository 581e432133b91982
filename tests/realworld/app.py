"""The WSGI app the real-app-server tests put behind sluice, run by gunicorn and by uWSGI.

Paths:
  /fast              200 "fast"
  /slow?s=SECONDS    sleeps, then 200 "slept"
  /healthz?s=SECONDS like a real app's check: runs on the worker pool (sleeps s, default 0)
  /upload            reads the whole body (Content-Length or chunked) and answers
                     {"length": N, "sha256": HEX} as JSON
  /echo              answers the body back byte for byte, with the request's X-Echo-* headers
                     returned as X-Echoed-* and a JSON X-Seen header of what the app saw
  /big?n=BYTES       n deterministic bytes (see big_body)
  /paused?n=BYTES&tail=T&s=SECONDS[&chunked=1]
                     the same n bytes, all but the last T at once, the last T after s seconds;
                     with Content-Length unless chunked=1 (then HTTP/1.1 chunked)

Every request appends one line "pid path start end" (times from time.time()) to the file named
by REALWORLD_APP_LOG, written once the response is produced, so a test can count how often the
app ran a path and how many requests it had in progress at once. A request killed mid-way
(harakiri, worker timeout) logs a "start" line first so its run is counted as well.
"""

import hashlib
import json
import os
import time
from urllib.parse import parse_qs

LOG = os.environ.get("REALWORLD_APP_LOG", "")


def log_line(kind, path, start, end):
    if not LOG:
        return
    line = "%s %d %s %.6f %.6f\n" % (kind, os.getpid(), path, start, end)
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def big_body(n):
    """n bytes: a repeated 256-byte pattern whose every byte is its offset mod 251, so a
    reordered, dropped or duplicated piece changes the sha256."""
    pattern = bytes(i % 251 for i in range(251 * 64))
    reps, rest = divmod(n, len(pattern))
    return pattern * reps + pattern[:rest]


def read_body(environ):
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    pieces = []
    if length.isdigit():
        left = int(length)
        while left > 0:
            piece = stream.read(min(left, 65536))
            if not piece:
                break
            pieces.append(piece)
            left -= len(piece)
    else:
        # Chunked (no Content-Length): gunicorn's wsgi.input decodes the chunks; uWSGI reads
        # its input until EOF. Either way read until an empty read.
        while True:
            piece = stream.read(65536)
            if not piece:
                break
            pieces.append(piece)
    return b"".join(pieces)


def seconds(query, default=0.0):
    try:
        return float(query.get("s", [default])[0])
    except ValueError:
        return default


def paused(query, start_response):
    n, tail = int(query.get("n", ["0"])[0]), int(query.get("tail", ["0"])[0])
    body = big_body(n)
    headers = [("Content-Type", "application/octet-stream")]
    if query.get("chunked", ["0"])[0] != "1":
        headers.append(("Content-Length", str(n)))
    start_response("200 OK", headers)

    def pieces():
        yield body[:n - tail]
        time.sleep(seconds(query))
        yield body[n - tail:]
    return pieces()


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    start = time.time()
    if path == "/paused":
        return paused(query, start_response)
    if path in ("/slow", "/healthz"):
        log_line("start", path, start, start)
    headers = [("Content-Type", "text/plain")]
    status = "200 OK"
    if path == "/fast":
        body = b"fast"
    elif path == "/slow":
        time.sleep(seconds(query))
        body = b"slept"
    elif path == "/healthz":
        time.sleep(seconds(query))
        body = b"ok"
    elif path == "/upload":
        data = read_body(environ)
        digest = hashlib.sha256(data).hexdigest()
        body = json.dumps({"length": len(data), "sha256": digest}).encode()
        headers = [("Content-Type", "application/json")]
    elif path == "/echo":
        body = read_body(environ)
        headers = [("Content-Type", "application/octet-stream")]
        for key, value in environ.items():
            if key.startswith("HTTP_X_ECHO_"):
                name = "X-Echoed-" + key[len("HTTP_X_ECHO_"):].replace("_", "-").title()
                headers.append((name, value))
        seen = {"method": environ["REQUEST_METHOD"], "query": environ.get("QUERY_STRING", ""),
                "length": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        headers.append(("X-Seen", json.dumps(seen)))
    elif path == "/big":
        body = big_body(int(query.get("n", ["0"])[0]))
        headers = [("Content-Type", "application/octet-stream")]
    else:
        status, body = "404 Not Found", b"no such path"
    headers.append(("Content-Length", str(len(body))))
    start_response(status, headers)
    log_line("done", path, start, time.time())
    return [body]
