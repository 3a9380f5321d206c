"""HTTP/1.1 behaviour of `keel serve hello` seen from real clients."""

import json
import unittest

from keel_server import KeelServer


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KeelServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def tearDown(self):
        self.assertTrue(self.server.alive(), "keel exited during the test")

    def assertJsonError(self, body, code):
        doc = json.loads(body)
        self.assertEqual(doc["code"], code)
        self.assertIsInstance(doc["error"], str)
        self.assertTrue(doc["error"])

    def test_hello(self):
        status, headers, body = self.server.request("GET", "/hello")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"hello")
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        self.assertEqual(headers["content-length"], "5")

    def test_unknown_path_is_404_json(self):
        status, headers, body = self.server.request("GET", "/no/such/path")
        self.assertEqual(status, 404)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertJsonError(body, 404)

    def test_wrong_method_is_405_json_with_allow(self):
        status, headers, body = self.server.request("DELETE", "/hello")
        self.assertEqual(status, 405)
        self.assertIn("GET", headers["allow"])
        self.assertJsonError(body, 405)

    def test_keep_alive_reuses_one_connection(self):
        conn = self.server.connection()
        try:
            local = None
            for path, want in [("/hello", 200), ("/healthz", 200), ("/nope", 404),
                               ("/readyz", 200), ("/hello", 200)]:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                self.assertEqual(resp.status, want, path)
                self.assertFalse(resp.will_close, "keel asked to close after " + path)
                name = conn.sock.getsockname()
                if local is None:
                    local = name
                self.assertEqual(name, local, "http.client had to reconnect")
        finally:
            conn.close()

    def test_pipelined_requests_answered_in_order(self):
        paths = ["/hello", "/healthz", "/missing", "/readyz", "/hello"]
        wire = b"".join(b"GET %s HTTP/1.1\r\nHost: t\r\nX-Seq: %d\r\n\r\n" % (p.encode(), i)
                        for i, p in enumerate(paths))
        with self.server.raw() as c:
            c.send(wire)
            got = [c.read_response() for _ in paths]
        self.assertEqual([r.status for r in got], [200, 200, 404, 200, 200])
        self.assertEqual(got[0].body, b"hello")
        self.assertEqual(json.loads(got[1].body), {"status": "ok"})
        self.assertJsonError(got[2].body, 404)
        self.assertEqual(json.loads(got[3].body), {"status": "ready"})
        self.assertEqual(got[4].body, b"hello")
        self.assertTrue(all(r.header("Connection") is None for r in got))

    def test_head_has_headers_but_no_body(self):
        with self.server.raw() as c:
            c.send(b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                   b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            head = c.read_response(head=True)
            # The next response must start right after HEAD's header block.
            get = c.read_response()
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("Content-Length"), "5")
        self.assertEqual(get.status, 200)
        self.assertEqual(get.body, b"hello")

    def test_chunked_post_to_get_route_is_405_and_connection_survives(self):
        with self.server.raw() as c:
            c.send(b"POST /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
            resp = c.read_response()
            self.assertEqual(resp.status, 405)
            self.assertJsonError(resp.body, 405)
            c.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
            after = c.read_response()
        self.assertEqual(after.status, 200, "the chunked body was not consumed")
        self.assertEqual(after.body, b"hello")

    def test_http10_closes_by_default(self):
        with self.server.raw() as c:
            c.send(b"GET /hello HTTP/1.0\r\n\r\n")
            resp = c.read_response()
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.body, b"hello")
            self.assertEqual(resp.header("Connection"), "close")
            self.assertTrue(c.at_eof(), "HTTP/1.0 connection left open")

    def test_http10_keep_alive_when_asked(self):
        with self.server.raw() as c:
            for _ in range(2):
                c.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                resp = c.read_response()
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.header("Connection").lower(), "keep-alive")
                self.assertEqual(resp.body, b"hello")

    def test_expect_100_continue(self):
        for path, final in [("/hello", 405), ("/upload", 404)]:
            with self.subTest(path=path), self.server.raw() as c:
                c.send(b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                       b"Expect: 100-continue\r\n\r\n" % path.encode())
                interim = c.read_response()
                self.assertEqual(interim.status, 100)
                self.assertEqual(interim.reason, "Continue")
                c.send(b"12345")
                resp = c.read_response()
                self.assertEqual(resp.status, final)
                self.assertJsonError(resp.body, final)


if __name__ == "__main__":
    unittest.main()
