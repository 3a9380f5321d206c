"""Hostile and broken clients: keel answers or closes, never crashes or leaks.

One server runs for the whole class with a short header timeout; the last
test (test_zz_*) checks that it survived everything and still exits 0.
"""

import json
import random
import resource
import select
import socket
import struct
import time
import unittest

from keel_server import KeelServer

HEADER_TIMEOUT_S = 0.5
WANT_IDLE = 10000


def wait_until(predicate, timeout, interval=0.1):
    """Polls `predicate` until it returns a truthy value; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class MalformedInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KeelServer(args=["--set", "http.header_timeout=500ms"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def tearDown(self):
        if not self.id().endswith("test_zz_survived_everything_and_exits_cleanly"):
            self.assertTrue(self.server.alive(), "keel exited during the test")

    def assertStillServes(self):
        status, _, body = self.server.request("GET", "/hello")
        self.assertEqual((status, body), (200, b"hello"))

    def assertErrorThenClose(self, client, code):
        """Reads one response: `code` with a JSON error body, Connection: close, then EOF."""
        resp = client.read_response()
        self.assertEqual(resp.status, code)
        self.assertEqual(resp.header("Connection"), "close")
        doc = resp.json()
        self.assertEqual(doc["code"], code)
        self.assertTrue(doc["error"])
        self.assertTrue(client.at_eof(), "connection not closed after %d" % code)
        return doc

    def assert400OrClose(self, payload):
        with self.server.raw() as c:
            try:
                c.send(payload + b"\r\n\r\n")
                data = c.read_until_eof()
            except ConnectionResetError:
                return  # closing without an answer is acceptable for garbage
            if data:
                head = data.split(b"\r\n", 1)[0]
                self.assertTrue(head.startswith(b"HTTP/1.1 400 "), data[:200])
                body = json.loads(data.split(b"\r\n\r\n", 1)[1])
                self.assertEqual(body["code"], 400)

    def test_random_garbage_is_400_or_close(self):
        rng = random.Random(1234)
        for _ in range(20):
            self.assert400OrClose(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600))))
        self.assertStillServes()

    def test_nul_bytes_are_400_or_close(self):
        for payload in [b"\0" * 64, b"GET /hello\0 HTTP/1.1\r\nHost: t",
                        b"GET /hello HTTP/1.1\r\nHost: t\0x", b"GET /hello HTTP/1.1\r\nX\0Y: 1"]:
            with self.subTest(payload=payload):
                self.assert400OrClose(payload)
        self.assertStillServes()

    def test_bad_request_lines(self):
        for line in [b"HELLO", b"GET", b"GET /hello", b"GET /hello HTTP/1.1 extra",
                     b"GET  /hello HTTP/1.1", b"GET /hello HTTX/1.1", b" GET /hello HTTP/1.1"]:
            with self.subTest(line=line), self.server.raw() as c:
                c.send(line + b"\r\nHost: t\r\n\r\n")
                self.assertErrorThenClose(c, 400)
        self.assertStillServes()

    # Regression test (this was a server bug): keel answers
    # 400 {"error":"malformed request: bad version"} instead of 505. Beast's
    # basic_parser rejects versions outside 1.0-1.1 with error::bad_version
    # *before* calling on_request_impl, so RequestParser::Feed never has
    # method_/version_ set and its 505 branch (http_parser.cc) is unreachable.
    def test_unsupported_version_is_505(self):
        with self.server.raw() as c:
            c.send(b"GET /hello HTTP/2.0\r\nHost: t\r\n\r\n")
            self.assertErrorThenClose(c, 505)

    def test_ambiguous_body_framing_is_400(self):
        for framing in [b"Content-Length: 5\r\nTransfer-Encoding: chunked",
                        b"Content-Length: 5\r\nContent-Length: 6",
                        b"Content-Length: -1"]:
            with self.subTest(framing=framing), self.server.raw() as c:
                c.send(b"POST /hello HTTP/1.1\r\nHost: t\r\n" + framing + b"\r\n\r\n0\r\n\r\n")
                self.assertErrorThenClose(c, 400)

    # Regression test (this was a server bug): a request whose
    # Transfer-Encoding does not end in "chunked" (here "gzip", also
    # "chunked, gzip" and "identity") is taken as having no body and the
    # connection stays open, so the next bytes are parsed as a new request:
    #   POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n
    #   GET /nope HTTP/1.1\r\nHost: t\r\n\r\n
    # gets 405 and then 404. RFC 9112 section 6.3 (rule 4): the server MUST
    # answer 400 and close, as a proxy in front may frame it differently
    # (request smuggling).
    def test_transfer_encoding_without_final_chunked_is_400(self):
        for coding in [b"gzip", b"chunked, gzip", b"identity"]:
            with self.subTest(coding=coding), self.server.raw() as c:
                c.send(b"POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + coding +
                       b"\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
                self.assertErrorThenClose(c, 400)

    # Regression test (this was a server bug):
    #   GET /hello HTTP/1.1\r\n\r\n
    # is answered 200 "hello". RFC 9112 section 3.2: a server MUST respond 400
    # to an HTTP/1.1 request that lacks a Host header field (or has several).
    def test_http11_without_host_is_400(self):
        for request in [b"GET /hello HTTP/1.1\r\n\r\n",
                        b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"]:
            with self.subTest(request=request), self.server.raw() as c:
                c.send(request)
                self.assertErrorThenClose(c, 400)
        with self.server.raw() as c:  # HTTP/1.0 may omit Host
            c.send(b"GET /hello HTTP/1.0\r\n\r\n")
            self.assertEqual(c.read_response().status, 200)

    def test_oversized_header_is_431(self):
        with self.server.raw() as c:
            c.send(b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            doc = self.assertErrorThenClose(c, 431)
            self.assertIn("16384", doc["error"])
        self.assertStillServes()

    def test_oversized_content_length_is_413_before_the_body(self):
        with self.server.raw() as c:
            c.send(b"POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
                   % (2 * 1024 * 1024))
            self.assertErrorThenClose(c, 413)
        self.assertStillServes()

    def test_slowloris_gets_408_then_close(self):
        partial = b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"z" * 100
        with self.server.raw() as c:
            start = time.monotonic()
            answered = None
            for i in range(len(partial)):
                try:
                    c.send(partial[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    break
                readable, _, _ = select.select([c.sock], [], [], 0.1)
                if readable:
                    answered = time.monotonic() - start
                    break
                if time.monotonic() - start > 5:
                    break
            self.assertIsNotNone(answered, "no answer to a header trickled for 5 s")
            resp = c.read_response()
            self.assertEqual(resp.status, 408)
            self.assertEqual(resp.json()["code"], 408)
            self.assertTrue(c.at_eof(), "connection not closed after 408")
        # header_timeout is 500 ms and deadlines are checked every 100 ms; the
        # extra second is slack for a loaded machine.
        self.assertGreaterEqual(answered, HEADER_TIMEOUT_S - 0.05)
        self.assertLess(answered, 1.5 + 1.0)
        self.assertStillServes()

    def test_half_closed_client_gets_full_response_then_eof(self):
        with self.server.raw() as c:
            c.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                   b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            c.sock.shutdown(socket.SHUT_WR)
            first = c.read_response()
            second = c.read_response()
            self.assertEqual((first.status, first.body), (200, b"hello"))
            self.assertEqual(second.status, 200)
            self.assertEqual(json.loads(second.body), {"status": "ok"})
            self.assertTrue(c.at_eof(), "no EOF after answering a half-closed client")

    def test_client_reset_mid_request(self):
        for partial in [b"GET /hel", b"GET /hello HTTP/1.1\r\nHost: t\r\n",
                        b"POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"]:
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
            s.sendall(partial)
            time.sleep(0.05)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # RST
        self.assertStillServes()

        def open_connections():
            return self.server.metrics().value("keel_http_connections_open")
        # Only the connection asking for /metrics may remain.
        self.assertTrue(wait_until(lambda: open_connections() <= 1, 5),
                        "reset connections still counted open: %s" % open_connections())

    def test_ten_thousand_idle_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = WANT_IDLE + 100
        if hard != resource.RLIM_INFINITY and hard < need:
            self.skipTest("RLIMIT_NOFILE hard limit %d < %d: cannot hold %d client sockets "
                          "(raise it with ulimit -Hn)" % (hard, need, WANT_IDLE))
        if soft != resource.RLIM_INFINITY and soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        fds_before = self.server.metrics().value("process_open_fds")
        socks = []
        try:
            for _ in range(WANT_IDLE):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.settimeout(10)
                s.connect(("127.0.0.1", self.server.port))

            def gauge():
                return self.server.metrics().value("keel_http_connections_open")
            self.assertTrue(wait_until(lambda: gauge() >= WANT_IDLE, 20),
                            "keel counts %s open connections, want >= %d" % (gauge(), WANT_IDLE))
            self.assertStillServes()
            m = self.server.metrics()
            self.assertGreaterEqual(m.value("keel_http_connections_open"), WANT_IDLE)
            self.assertGreaterEqual(m.value("process_open_fds"), fds_before + WANT_IDLE)
        finally:
            for s in socks:
                s.close()
            socks.clear()
        settled = wait_until(lambda: self.server.metrics().value("keel_http_connections_open") <= 2,
                             20, interval=0.2)
        m = self.server.metrics()
        self.assertTrue(settled, "connections_open stuck at %s" %
                        m.value("keel_http_connections_open"))
        self.assertLessEqual(m.value("process_open_fds"), fds_before + 5,
                             "descriptors leaked after closing %d connections" % WANT_IDLE)
        self.assertStillServes()

    def test_zz_survived_everything_and_exits_cleanly(self):
        self.assertIsNone(self.server.proc.poll(), "keel crashed")
        self.assertStillServes()
        self.assertEqual(self.server.stop(), 0)
        errors = [r for r in self.server.records() if r.get("level") == "error"]
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
