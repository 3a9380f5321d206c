"""Metrics exposition, W3C trace context and access logs of `keel serve`."""

import json
import re
import unittest

from keel_server import KeelServer, parse_prometheus

TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.server = KeelServer().start()

    def tearDown(self):
        self.server.kill()

    def test_request_counter_and_histogram_count_every_hello(self):
        n = 23
        conn = self.server.connection()
        try:
            for _ in range(n):
                conn.request("GET", "/hello")
                resp = conn.getresponse()
                self.assertEqual(resp.read(), b"hello")
        finally:
            conn.close()
        self.server.request("GET", "/nope")
        m = self.server.metrics()
        self.assertEqual(m.types.get("keel_http_requests_total"), "counter")
        self.assertEqual(m.value("keel_http_requests_total", route="/hello", method="GET",
                                 code="200"), n)
        self.assertEqual(m.types.get("keel_http_request_duration_seconds"), "histogram")
        self.assertEqual(m.value("keel_http_request_duration_seconds_count", route="/hello",
                                 method="GET"), n)
        self.assertEqual(m.value("keel_http_request_duration_seconds_bucket", route="/hello",
                                 method="GET", le="+Inf"), n)
        self.assertGreater(m.value("keel_http_request_duration_seconds_sum", route="/hello",
                                   method="GET"), 0)
        # Unrouted paths are one label value, so that scanners cannot blow up cardinality.
        self.assertEqual(m.value("keel_http_requests_total", route="unmatched", code="404"), 1)
        self.assertEqual(m.find("keel_http_requests_total", route="/nope"), [])

    def test_process_and_server_gauges_present(self):
        m = self.server.metrics()
        self.assertGreaterEqual(m.value("process_cpu_seconds_total"), 0)  # 10 ms ticks
        self.assertGreater(m.value("process_resident_memory_bytes"), 1024 * 1024)
        self.assertGreater(m.value("process_open_fds"), 2)
        self.assertGreaterEqual(m.value("keel_process_threads"), 3)  # main + 2 workers
        self.assertGreaterEqual(m.value("keel_http_connections_open"), 1)  # this scrape
        self.assertEqual(m.value("keel_http_requests_in_flight"), 0)
        lags = m.find("keel_event_loop_lag_seconds")
        self.assertEqual(len(lags), 2, "one lag gauge per worker")
        self.assertEqual({l["worker"] for n, l, v in m.samples
                          if n == "keel_event_loop_lag_seconds"}, {"0", "1"})
        for name in ["process_cpu_seconds_total", "keel_http_connections_open",
                     "keel_event_loop_lag_seconds", "keel_process_threads"]:
            self.assertIn(name, m.types, "no # TYPE for " + name)

    def test_prometheus_text_content_type(self):
        status, headers, body = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        self.assertNotIn(b"# EOF", body)

    def test_openmetrics_when_accept_asks(self):
        self.server.request("GET", "/hello")
        status, headers, body = self.server.request(
            "GET", "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("application/openmetrics-text"),
                        headers["content-type"])
        text = body.decode()
        self.assertTrue(text.endswith("# EOF\n"), text[-100:])
        self.assertEqual(text.count("# EOF"), 1)
        self.assertIn("# TYPE keel_http_requests counter\n", text)
        self.assertNotIn("# TYPE keel_http_requests_total", text)
        m = parse_prometheus(text)
        self.assertEqual(m.value("keel_http_requests_total", route="/hello", code="200"), 1)
        # OpenMetrics wants canonical floats for le.
        self.assertIn('le="1.0"', text)


class TraceContextTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KeelServer(args=["--access-log", "true"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()

    def traceparent(self, incoming=None, path="/hello"):
        headers = {"traceparent": incoming} if incoming is not None else {}
        status, resp_headers, _ = self.server.request("GET", path, headers=headers)
        self.assertIn("traceparent", resp_headers)
        m = TRACEPARENT.match(resp_headers["traceparent"])
        self.assertIsNotNone(m, "malformed traceparent %r" % resp_headers["traceparent"])
        return m.groups()

    def test_continues_incoming_trace_with_new_span(self):
        trace_id, span_id, flags = self.traceparent(INCOMING)
        self.assertEqual(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736")
        self.assertNotEqual(span_id, "00f067aa0ba902b7")
        self.assertNotEqual(span_id, "0" * 16)
        self.assertEqual(flags, "01")
        unsampled = INCOMING[:-2] + "00"
        self.assertEqual(self.traceparent(unsampled)[2], "00")

    def test_each_request_gets_its_own_span(self):
        spans = {self.traceparent(INCOMING)[1] for _ in range(5)}
        self.assertEqual(len(spans), 5)

    def test_starts_a_trace_when_absent(self):
        first = self.traceparent()
        second = self.traceparent()
        for trace_id, span_id, _ in (first, second):
            self.assertNotEqual(trace_id, "0" * 32)
            self.assertNotEqual(span_id, "0" * 16)
        self.assertNotEqual(first[0], second[0])

    def test_starts_a_trace_when_invalid(self):
        invalid = [
            "garbage",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper-case hex
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero parent id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # forbidden version
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  # v00 has no tail
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        ]
        for header in invalid:
            with self.subTest(header=header):
                trace_id, span_id, _ = self.traceparent(header)
                self.assertNotEqual(trace_id.lower(), "4bf92f3577b34da6a3ce929d0e0e4736")
                self.assertNotEqual(trace_id, "0" * 32)

    def test_access_log_lines_carry_the_trace(self):
        trace_id, span_id, _ = self.traceparent(INCOMING, path="/hello?from=access-log-test")
        record = self.server.wait_for_log(
            lambda r: r.get("msg") == "request" and r.get("span_id") == span_id, timeout=5)
        self.assertEqual(record["trace_id"], trace_id)
        self.assertEqual(record["level"], "info")
        self.assertEqual(record["method"], "GET")
        self.assertEqual(record["path"], "/hello")
        self.assertEqual(record["status"], 200)
        self.assertEqual(record["bytes"], 5)
        self.assertGreaterEqual(record["duration_us"], 0)
        self.assertRegex(record["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_every_log_line_is_json(self):
        self.server.request("GET", "/nope")
        self.server.wait_for_log(lambda r: r.get("path") == "/nope", timeout=5)
        lines = self.server.log_lines()
        self.assertGreater(len(lines), 1)
        for line in lines:
            record = json.loads(line)
            for key in ("ts", "level", "msg"):
                self.assertIn(key, record, line)
            self.assertIn(record["level"], ("debug", "info", "warn", "error"))


if __name__ == "__main__":
    unittest.main()
