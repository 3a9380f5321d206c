"""`keel chaos`: Toxiproxy-compatible API and the effect of each toxic, end to end.

Each test starts the real binary on port 0 and small upstreams on loopback;
every wait is bounded. Tolerances (±10 % or a few ms) leave room for a
machine shared with compilers.
"""

import json
import os
import signal
import socket
import statistics
import threading
import time
import unittest
import urllib.request

from keel_server import KeelServer, write_temp


class ChaosServer(KeelServer):
    """`keel chaos --api 127.0.0.1:0` (the API port comes from the listening line)."""

    def __init__(self, args=()):
        super().__init__(args=args, service=None, http=None, threads=None)

    def command(self):
        return [os.environ.get("KEEL_BIN", "/work/main/build/keel"), "chaos",
                "--api", "127.0.0.1:0", "--threads", "2"] + self.args

    def api(self, method, path, body=None):
        """(status, parsed JSON or None)."""
        data = None if body is None else (body if isinstance(body, (bytes, str))
                                          else json.dumps(body))
        status, _, raw = self.request(method, path, body=data)
        return status, (json.loads(raw) if raw.strip() else None)


class Upstream:
    """A TCP server on loopback; `handler(conn)` runs per connection in a thread."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.handler(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port


def echo(conn):
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def source(n, close=True):
    def handler(conn):
        conn.sendall(b"x" * n)
        if not close:
            time.sleep(5)
    return handler


def connect(listen, timeout=5.0):
    host, port = listen.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def round_trip(sock, payload=b"ping"):
    start = time.monotonic()
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed after %r" % got)
        got += chunk
    return time.monotonic() - start


def read_all(sock, deadline_s=10.0):
    """(bytes, number of recv calls, seconds until EOF)."""
    start = time.monotonic()
    data, calls = b"", 0
    sock.settimeout(deadline_s)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, calls, time.monotonic() - start
        data += chunk
        calls += 1


class ChaosTest(unittest.TestCase):
    def setUp(self):
        self.upstreams = []
        self.server = ChaosServer().start()

    def tearDown(self):
        self.server.kill()
        for u in self.upstreams:
            u.close()

    def upstream(self, handler=echo):
        u = Upstream(handler)
        self.upstreams.append(u)
        return u

    def proxy(self, name="p", handler=echo, toxics=None):
        body = {"name": name, "listen": "127.0.0.1:0", "upstream": self.upstream(handler).addr}
        if toxics is not None:
            body["toxics"] = toxics
        status, p = self.server.api("POST", "/proxies", body)
        self.assertEqual(status, 201, p)
        return p

    def toxic(self, body, proxy="p"):
        status, t = self.server.api("POST", "/proxies/%s/toxics" % proxy, body)
        self.assertEqual(status, 200, t)
        return t

    # API -------------------------------------------------------------------

    def test_api_status_codes_and_bodies(self):
        p = self.proxy()
        self.assertNotEqual(p["listen"], "127.0.0.1:0")
        self.assertEqual(p["enabled"], True)
        self.assertEqual(p["toxics"], [])
        api = self.server.api
        self.assertEqual(api("POST", "/proxies", {"name": "p", "upstream": "127.0.0.1:1"}),
                         (409, {"error": "proxy already exists", "status": 409}))
        self.assertEqual(api("POST", "/proxies", {"upstream": "127.0.0.1:1"}),
                         (400, {"error": "missing required field: name", "status": 400}))
        self.assertEqual(api("POST", "/proxies", "{nope")[0], 400)
        self.assertEqual(api("GET", "/proxies/nope"),
                         (404, {"error": "proxy not found", "status": 404}))
        self.assertEqual(api("GET", "/proxies/p/toxics/nope"),
                         (404, {"error": "toxic not found", "status": 404}))
        self.assertEqual(api("POST", "/proxies/p/toxics", {"type": "nope"}),
                         (400, {"error": "invalid toxic type", "status": 400}))
        status, body = api("POST", "/proxies/p/toxics",
                           {"type": "latency", "attributes": {"latency": "x"}})
        self.assertEqual((status, body["status"]), (400, 400))
        t = self.toxic({"type": "latency", "attributes": {"latency": 10}})
        self.assertEqual(t, {"name": "latency_downstream", "type": "latency",
                             "stream": "downstream", "toxicity": 1.0,
                             "attributes": {"latency": 10, "jitter": 0}})
        self.assertEqual(api("POST", "/proxies/p/toxics", {"type": "latency"})[0], 409)
        status, t = api("POST", "/proxies/p/toxics/latency_downstream",
                        {"attributes": {"jitter": 2}})
        self.assertEqual((status, t["attributes"]), (200, {"latency": 10, "jitter": 2}))
        self.assertEqual(api("GET", "/proxies/p/toxics")[1], [t])
        status, all_proxies = api("GET", "/proxies")
        self.assertEqual(list(all_proxies), ["p"])
        self.assertEqual(all_proxies["p"]["toxics"], [t])
        self.assertEqual(api("DELETE", "/proxies/p/toxics/latency_downstream"), (204, None))
        status, version = api("GET", "/version")
        self.assertEqual(status, 200)
        self.assertIn("version", version)
        status, pop = api("POST", "/populate", [{"name": "q", "upstream": "127.0.0.1:1"},
                                                {"name": "r", "upstream": "127.0.0.1:1",
                                                 "enabled": False}])
        self.assertEqual(status, 201, pop)
        self.assertEqual([x["name"] for x in pop["proxies"]], ["q", "r"])
        self.assertEqual(api("POST", "/populate", [{"name": "s"}])[0], 400)
        self.assertEqual(api("DELETE", "/proxies/q"), (204, None))
        self.assertEqual(api("DELETE", "/proxies/q")[0], 404)
        self.assertEqual(api("POST", "/reset"), (204, None))
        self.assertEqual(api("GET", "/proxies/r")[1]["enabled"], True)
        status, _, _ = self.server.request("GET", "/proxies", headers={"User-Agent": "Mozilla/5.0"})
        self.assertEqual(status, 403)

    def test_healthz_and_metrics_count_bytes_and_connections(self):
        p = self.proxy()
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)
        with connect(p["listen"]) as s:
            round_trip(s, b"x" * 1000)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = self.server.metrics()
            if m.value("keel_chaos_connections_open", proxy="p") == 0:
                break
            time.sleep(0.05)
        self.assertEqual(m.value("keel_chaos_bytes_total", proxy="p", direction="upstream"), 1000)
        self.assertEqual(m.value("keel_chaos_bytes_total", proxy="p", direction="downstream"), 1000)
        self.assertEqual(m.value("keel_chaos_connections_total", proxy="p"), 1)
        self.toxic({"type": "latency"})
        self.assertEqual(self.server.metrics().value("keel_chaos_toxics_active", proxy="p"), 1)

    # Toxics ----------------------------------------------------------------

    def test_latency_adds_configured_delay(self):
        p = self.proxy()
        with connect(p["listen"]) as s:
            base = statistics.median(round_trip(s) for _ in range(5))
            self.toxic({"type": "latency", "attributes": {"latency": 200}})  # live connection
            delayed = statistics.median(round_trip(s) for _ in range(5))
            added = delayed - base
            self.assertAlmostEqual(added, 0.200, delta=0.020, msg="added %.4fs" % added)
            self.server.api("DELETE", "/proxies/p/toxics/latency_downstream")
            self.assertLess(round_trip(s), 0.1)

    def test_latency_keeps_throughput(self):
        # 20 chunks, 10 ms apart, each delayed 300 ms: all arrive by ~0.5 s, not 6 s.
        p = self.proxy(toxics=[{"type": "latency", "attributes": {"latency": 300}}])
        with connect(p["listen"]) as s:
            start = time.monotonic()
            for _ in range(20):
                s.sendall(b"y" * 100)
                time.sleep(0.01)
            got = b""
            while len(got) < 2000:
                got += s.recv(65536)
            self.assertLess(time.monotonic() - start, 1.0)

    def test_bandwidth_paces_within_ten_percent(self):
        p = self.proxy(handler=source(500_000),
                       toxics=[{"type": "bandwidth", "attributes": {"rate": 500}}])
        with connect(p["listen"]) as s:
            data, _, took = read_all(s)
        self.assertEqual(len(data), 500_000)
        self.assertAlmostEqual(took, 1.0, delta=0.1)

    def test_reset_peer_resets_connection(self):
        p = self.proxy(toxics=[{"type": "reset_peer", "attributes": {"timeout": 100}}])
        with connect(p["listen"]) as s:
            s.sendall(b"hello")
            start = time.monotonic()
            with self.assertRaises(ConnectionResetError):
                read_all(s, 5)
            self.assertGreaterEqual(time.monotonic() - start, 0.08)

    def test_timeout_holds_data_then_closes(self):
        p = self.proxy(toxics=[{"type": "timeout", "attributes": {"timeout": 300}}])
        with connect(p["listen"]) as s:
            s.sendall(b"hello")
            data, _, took = read_all(s, 5)
        self.assertEqual(data, b"")
        self.assertAlmostEqual(took, 0.3, delta=0.05)

    def test_timeout_zero_holds_until_removed(self):
        p = self.proxy(toxics=[{"type": "timeout", "attributes": {"timeout": 0}}])
        with connect(p["listen"]) as s:
            s.sendall(b"hello")
            s.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                s.recv(10)
            self.server.api("DELETE", "/proxies/p/toxics/timeout_downstream")
            s.settimeout(5)
            self.assertEqual(s.recv(10), b"")  # removal closes, as in Toxiproxy

    def test_slow_close_delays_close(self):
        def bye(conn):
            conn.sendall(b"bye")
        p = self.proxy(handler=bye, toxics=[{"type": "slow_close", "attributes": {"delay": 300}}])
        with connect(p["listen"]) as s:
            start = time.monotonic()
            self.assertEqual(s.recv(10), b"bye")
            self.assertLess(time.monotonic() - start, 0.2)
            data, _, _ = read_all(s, 5)
            self.assertEqual(data, b"")
            self.assertAlmostEqual(time.monotonic() - start, 0.3, delta=0.05)

    def test_limit_data_closes_after_n_bytes(self):
        p = self.proxy(handler=source(5000, close=False),
                       toxics=[{"type": "limit_data", "attributes": {"bytes": 1000}}])
        with connect(p["listen"]) as s:
            data, _, took = read_all(s, 5)
        self.assertEqual(len(data), 1000)
        self.assertLess(took, 2.0)

    def test_slicer_delivers_every_byte_in_pieces(self):
        p = self.proxy(handler=source(5000),
                       toxics=[{"type": "slicer", "attributes": {
                           "average_size": 100, "size_variation": 10, "delay": 2000}}])
        with connect(p["listen"]) as s:
            data, calls, took = read_all(s, 5)
        self.assertEqual(data, b"x" * 5000)
        self.assertGreater(calls, 10)
        self.assertGreater(took, 0.05)  # ~50 pieces, 2 ms apart

    def test_upstream_toxic_applies_to_client_bytes(self):
        received = []

        def record(conn):
            conn.settimeout(5)
            while True:
                data = conn.recv(100)
                if not data:
                    return
                received.append(data)
        p = self.proxy(handler=record, toxics=[{"type": "limit_data", "stream": "upstream",
                                                "attributes": {"bytes": 3}}])
        with connect(p["listen"]) as s:
            s.sendall(b"abcdef")
            data, _, _ = read_all(s, 5)
        self.assertEqual(data, b"")
        deadline = time.monotonic() + 5
        while b"".join(received) != b"abc" and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(b"".join(received), b"abc")

    def test_toxicity_zero_never_applies(self):
        p = self.proxy(toxics=[{"type": "latency", "toxicity": 0.0,
                                "attributes": {"latency": 500}}])
        with connect(p["listen"]) as s:
            self.assertLess(round_trip(s), 0.2)

    # Proxy lifecycle -------------------------------------------------------

    def test_disabled_proxy_refuses_connections(self):
        p = self.proxy()
        with connect(p["listen"]) as held:
            round_trip(held)
            status, q = self.server.api("POST", "/proxies/p", {"enabled": False})
            self.assertEqual((status, q["enabled"]), (200, False))
            held.settimeout(5)
            try:
                self.assertEqual(held.recv(10), b"")
            except ConnectionResetError:
                pass
        with self.assertRaises(ConnectionRefusedError):
            connect(p["listen"])
        status, q = self.server.api("POST", "/proxies/p", {"enabled": True})
        self.assertEqual((status, q["listen"]), (200, p["listen"]))
        with connect(p["listen"]) as s:
            round_trip(s)

    def test_reset_removes_toxics(self):
        p = self.proxy(toxics=[{"type": "latency", "attributes": {"latency": 500}}])
        self.assertEqual(self.server.api("POST", "/reset"), (204, None))
        self.assertEqual(self.server.api("GET", "/proxies/p/toxics"), (200, []))
        with connect(p["listen"]) as s:
            self.assertLess(round_trip(s), 0.2)

    def test_sigterm_exits_promptly_with_connections_open(self):
        p = self.proxy(toxics=[{"type": "timeout", "attributes": {"timeout": 0}}])
        socks = [connect(p["listen"]) for _ in range(5)]
        for s in socks:
            s.sendall(b"held")
        time.sleep(0.1)
        start = time.monotonic()
        self.assertEqual(self.server.stop(timeout=10), 0)
        self.assertLess(time.monotonic() - start, 3.0)
        for s in socks:
            s.settimeout(2)
            try:
                self.assertEqual(s.recv(10), b"")
            except ConnectionResetError:
                pass
            s.close()


class ChaosConfigTest(unittest.TestCase):
    def test_yaml_config_creates_proxies(self):
        up = Upstream(echo)
        path = write_temp("- name: cfg\n  listen: 127.0.0.1:0\n  upstream: %s\n"
                          "  toxics:\n    - type: latency\n      attributes: {latency: 50}\n"
                          % up.addr)
        server = ChaosServer(args=["--config", path])
        try:
            server.start()
            status, p = server.api("GET", "/proxies/cfg")
            self.assertEqual(status, 200)
            self.assertEqual(p["toxics"][0]["attributes"]["latency"], 50)
            with connect(p["listen"]) as s:
                self.assertGreaterEqual(round_trip(s), 0.045)
            self.assertEqual(server.stop(), 0)
        finally:
            server.kill()
            up.close()
            os.unlink(path)

    def test_bad_flags_are_one_line_usage_errors(self):
        from keel_server import run_keel
        for args in (["--api", "nope"], ["--threads", "0"], ["--config", "/nonexistent.yaml"]):
            r = run_keel(["chaos"] + args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertTrue(r.stderr.startswith("keel: error: "), r.stderr)

    def test_bad_config_is_a_usage_error(self):
        path = write_temp('[{"name": "x"}]', suffix=".json")
        try:
            server = ChaosServer(args=["--config", path])
            import subprocess
            r = subprocess.run(server.command(), capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1)
            self.assertIn("keel: error:", r.stderr)
            self.assertIn("missing required field: upstream", r.stderr)
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
