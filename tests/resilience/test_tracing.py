"""Traces end to end: keel serve relay's server and client spans reach a real
OTLP/HTTP receiver with the right ids, parents and attributes; the trace
continues upstream in traceparent; trace ids show up as OpenMetrics exemplars
and in log lines.

    test -> keel serve relay (tracing.otlp_endpoint=receiver) -> upstream_server
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))

from otlp_receiver import OtlpReceiver, attributes  # noqa: E402
from test_resilience import Upstream, relay  # noqa: E402

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class TracingTest(unittest.TestCase):
    def setUp(self):
        self.cleanup = []

    def tearDown(self):
        for fn in reversed(self.cleanup):
            fn()

    def start_upstream(self):
        u = Upstream()
        self.cleanup.append(u.close)
        return u

    def start_relay(self, addr, sets):
        r = relay(addr, sets).start()
        self.cleanup.append(r.kill)
        return r

    def start_traced_relay(self, rx, upstream, extra=()):
        return self.start_relay(upstream.addr, [
            "tracing.otlp_endpoint=" + rx.endpoint, "tracing.batch_delay=100ms",
            "tracing.sample_ratio=0", "log.access=true"] + list(extra))

    def test_sampled_caller_trace_is_exported_with_parents_and_attributes(self):
        up = self.start_upstream()
        with OtlpReceiver() as rx:
            r = self.start_traced_relay(rx, up)
            status, headers, body = r.request("GET", "/relay/hello", headers={
                "traceparent": "00-%s-%s-01" % (CALLER_TRACE, CALLER_SPAN),
                "tracestate": "vendor=abc"})
            self.assertEqual((status, body), (200, b"hello"))
            # The answer names the relay's own span in the caller's trace.
            self.assertRegex(headers["traceparent"], "^00-%s-[0-9a-f]{16}-01$" % CALLER_TRACE)
            spans = rx.wait_for_spans(lambda s: len(s) >= 2)
            path, content_type, _ = rx.requests[0]
            self.assertEqual(path, "/v1/traces")
            self.assertEqual(content_type, "application/json")
            by_kind = {s["kind"]: s for s in spans}
            server, client = by_kind[2], by_kind[3]   # SPAN_KIND_SERVER, SPAN_KIND_CLIENT
            for s in (server, client):
                self.assertEqual(s["traceId"], CALLER_TRACE)
                self.assertEqual(s["_service"], "relay")
            self.assertEqual(server["parentSpanId"], CALLER_SPAN)
            self.assertEqual(client["parentSpanId"], server["spanId"])
            self.assertEqual(server["traceState"], "vendor=abc")
            self.assertEqual(server["name"], "GET /relay/{path}")
            a = attributes(server)
            self.assertEqual(a["http.request.method"], "GET")
            self.assertEqual(a["url.path"], "/relay/hello")
            self.assertEqual(a["http.route"], "/relay/{path}")
            self.assertEqual(int(a["http.response.status_code"]), 200)
            c = attributes(client)
            self.assertEqual(c["server.address"], up.addr)
            self.assertEqual(int(c["http.response.status_code"]), 200)
            self.assertLessEqual(int(server["startTimeUnixNano"]), int(client["startTimeUnixNano"]))
            self.assertLessEqual(int(client["endTimeUnixNano"]), int(server["endTimeUnixNano"]))
            # The trace id is an exemplar on the duration histogram (OpenMetrics only).
            om = r.metrics_text(accept="application/openmetrics-text; version=1.0.0")
            self.assertRegex(om, r'keel_http_request_duration_seconds_bucket\{[^}]*route="/relay/\{path\}"'
                                 r'[^}]*\} \d+ # \{trace_id="%s",span_id="%s"\} [0-9.e-]+ [0-9.]+'
                             % (CALLER_TRACE, server["spanId"]))
            self.assertNotIn("# {trace_id", r.metrics_text())
            # And in the request's log line.
            record = r.wait_for_log(lambda rec: rec.get("msg") == "request"
                                    and rec.get("path") == "/relay/hello")
            self.assertEqual(record["trace_id"], CALLER_TRACE)

    def test_unsampled_fast_trace_is_dropped_but_errors_are_kept(self):
        up = self.start_upstream()
        with OtlpReceiver() as rx:
            r = self.start_traced_relay(rx, up, ["relay.retry.max_attempts=1"])
            unsampled = "00-%s-%s-00" % ("a" * 32, "b" * 16)
            self.assertEqual(r.request("GET", "/relay/hello",
                                       headers={"traceparent": unsampled})[0], 200)
            failing = "00-%s-%s-00" % ("c" * 32, "d" * 16)
            self.assertEqual(r.request("GET", "/relay/fail",
                                       headers={"traceparent": failing})[0], 500)
            spans = rx.wait_for_spans(lambda s: any(x["traceId"] == "c" * 32 for x in s))
            self.assertFalse([s for s in spans if s["traceId"] == "a" * 32])
            server = [s for s in spans if s["traceId"] == "c" * 32 and s["kind"] == 2][0]
            self.assertEqual(server["status"]["code"], 2)  # STATUS_CODE_ERROR
            m = r.metrics()
            self.assertGreaterEqual(
                sum(v for n, l, v in m.samples if n == "keel_trace_spans_total"
                    and l.get("result") == "dropped_unsampled"), 2)


if __name__ == "__main__":
    unittest.main()
