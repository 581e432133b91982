"""uWSGI behind `protocol: uwsgi`: bodies and headers cross both hops byte for byte (holds
today), and a chunked upload of any size up to max_spool reaches the app (issue 13 point 5).
"""

import hashlib
import json
import unittest

from harness import RealworldTest, chunked_upload, config, get

import app as wsgi_app


def binary_body(size, seed=b"realworld"):
    """size bytes covering every byte value, in an order no codec would keep by accident."""
    out, block = [], seed
    while sum(map(len, out)) < size:
        block = hashlib.sha256(block).digest()
        out.append(block + bytes(range(256)))
    return b"".join(out)[:size]


def uwsgi_backend():
    return "    protocol: uwsgi\n    server_defaults: { max_connections: 2 }\n"


class UwsgiRoundTripTest(RealworldTest):

    def test_bodies_and_headers_cross_a_uwsgi_socket_byte_exact(self):
        app = self.uwsgi(processes=2)
        proxy = self.sluice(config([app.address], backend=uwsgi_backend()))
        body = binary_body(300 * 1024 + 7)
        r = get(proxy.port, "/echo?a=1&b=%20x&c=%C3%A9", method="POST", body=body,
                headers={"X-Echo-Token": "a b;c=d, \"q\"", "X-Echo-Empty-Ok": "-",
                         "Content-Type": "application/octet-stream"})
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.body), len(body))
        self.assertTrue(r.body == body, "the echoed body differs from the one sent")
        self.assertEqual(r.header("X-Echoed-Token"), "a b;c=d, \"q\"")
        self.assertEqual(r.header("X-Echoed-Empty-Ok"), "-")
        seen = json.loads(r.header("X-Seen"))
        self.assertEqual(seen, {"method": "POST", "query": "a=1&b=%20x&c=%C3%A9",
                                "length": len(body), "sha256": hashlib.sha256(body).hexdigest()})

        n = 3 * 1000 * 1000 + 1
        big = get(proxy.port, "/big?n=%d" % n)
        self.assertEqual(big.status, 200)
        self.assertEqual(len(big.body), n)
        self.assertTrue(big.body == wsgi_app.big_body(n), "the large response differs")

        empty = get(proxy.port, "/echo", method="POST", body=b"")
        self.assertEqual((empty.status, empty.body), (200, b""))

        # A chunked body under 1 MiB is read whole and sent with its length (the 3 MiB case
        # below is point 5).
        small = binary_body(512 * 1024, seed=b"chunked")
        status, _, _, answer = chunked_upload(proxy.port, "/upload", small)
        self.assertEqual(status, 200, answer[:300])
        self.assertEqual(json.loads(answer), {"length": len(small),
                                              "sha256": hashlib.sha256(small).hexdigest()})

    def test_a_chunked_upload_of_3_mib_reaches_a_uwsgi_app_whole(self):
        app = self.uwsgi(processes=2)
        proxy = self.sluice(config([app.address], backend=uwsgi_backend()))
        data = binary_body(3 * 1024 * 1024)
        status, _, _, body = chunked_upload(proxy.port, "/upload", data)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(json.loads(body), {"length": len(data),
                                            "sha256": hashlib.sha256(data).hexdigest()})


if __name__ == "__main__":
    unittest.main()
