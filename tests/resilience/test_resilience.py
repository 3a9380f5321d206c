"""The core's resilience policies end to end, through `keel chaos`.

    keel load / test client -> keel serve relay -> keel chaos -> upstream_server

`keel serve relay` forwards GET /relay/{path} to its upstream with the core
HTTP client and the full policy stack; `keel chaos` (Toxiproxy's API) injects
the faults; upstream_server (tests/resilience/upstream_server.cc) is a keel
HTTP server with a known capacity. Every wait and every load is bounded.

Timing comparisons (hedging's p99, the overload run) are asserted in the
release build only: under ASan/TSan (KEEL_SANITIZE set) the same scenarios
run and their functional checks hold, but a sanitizer's slowdown is not the
latency being measured.
"""

import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))

from keel_server import KeelServer, parse_prometheus  # noqa: E402
from test_chaos import ChaosServer  # noqa: E402

KEEL_BIN = os.environ.get("KEEL_BIN", "/work/main/build/keel")
UPSTREAM_BIN = os.environ.get("UPSTREAM_SERVER_BIN",
                              "/work/main/build/tests/resilience/upstream_server")
SANITIZED = bool(os.environ.get("KEEL_SANITIZE"))


class Upstream:
    """upstream_server THREADS WORK_MS on a free loopback port."""

    def __init__(self, threads=2, work_ms=5):
        self.proc = subprocess.Popen([UPSTREAM_BIN, str(threads), str(work_ms)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("upstream_server did not start")
        self.port = json.loads(line)["port"]
        self.addr = "127.0.0.1:%d" % self.port

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


def relay(upstream_addr, sets=(), threads=2):
    args = ["--set", "relay.upstream=" + upstream_addr]
    for s in sets:
        args += ["--set", s]
    return KeelServer(service="relay", args=args, threads=threads)


def load(url, rate, duration, connections=64, extra=()):
    """Runs keel load open loop; returns its --json summary."""
    fd, path = tempfile.mkstemp(prefix="keel-load-", suffix=".json")
    os.close(fd)
    try:
        cmd = [KEEL_BIN, "load", url, "--rate", str(rate), "--duration", duration,
               "--connections", str(connections), "--timeout", "5s", "--json", path] + list(extra)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        if done.returncode not in (0, 1):
            raise AssertionError("keel load failed (%d): %s" % (done.returncode, done.stderr))
        with open(path) as f:
            return json.load(f)
    finally:
        os.unlink(path)


def val(metrics, metric, **labels):
    """The single sample of `metric` with (at least) `labels` (a label may be
    called name, which Metrics.value's own parameter would shadow); None if absent."""
    found = [v for n, l, v in metrics.samples
             if n == metric and all(l.get(k) == want for k, want in labels.items())]
    if len(found) > 1:
        raise AssertionError("%d samples for %s%s" % (len(found), metric, labels))
    return found[0] if found else None


def histogram_quantile(metrics, name, q, **labels):
    """The q-quantile of a Prometheus histogram, from its cumulative buckets
    (upper bound of the bucket holding the q-th observation)."""
    buckets = []
    for n, l, v in metrics.samples:
        if n == name + "_bucket" and all(l.get(k) == want for k, want in labels.items()):
            le = float("inf") if l["le"] == "+Inf" else float(l["le"])
            buckets.append((le, v))
    merged = {}
    for le, v in buckets:
        merged[le] = merged.get(le, 0) + v
    bounds = sorted(merged)
    if not bounds or merged[bounds[-1]] == 0:
        return None
    total = merged[bounds[-1]]
    for le in bounds:
        if merged[le] >= q * total:
            return le
    return bounds[-1]


class ResilienceTest(unittest.TestCase):
    def setUp(self):
        self.cleanup = []

    def tearDown(self):
        for fn in reversed(self.cleanup):
            try:
                fn()
            except Exception:  # noqa: BLE001 - best effort teardown
                pass

    # Fixtures ---------------------------------------------------------------

    def start_upstream(self, threads=2, work_ms=5):
        u = Upstream(threads, work_ms)
        self.cleanup.append(u.close)
        return u

    def start_chaos(self, upstream):
        chaos = ChaosServer().start()
        self.cleanup.append(chaos.kill)
        status, proxy = chaos.api("POST", "/proxies", {
            "name": "up", "listen": "127.0.0.1:0", "upstream": upstream.addr})
        self.assertEqual(status, 201, proxy)
        return chaos, proxy["listen"]

    def start_relay(self, addr, sets=(), threads=2):
        r = relay(addr, sets, threads).start()
        self.cleanup.append(r.kill)
        return r

    def toxic(self, chaos, body):
        status, toxic = chaos.api("POST", "/proxies/up/toxics", body)
        self.assertEqual(status, 200, toxic)
        return toxic["name"]

    def untoxic(self, chaos, name):
        status, _ = chaos.api("DELETE", "/proxies/up/toxics/" + name)
        self.assertEqual(status, 204)

    def get_many(self, server, path, n, workers=8):
        """(statuses in order) of n GETs from `workers` client threads."""
        def one(_):
            status, _, _ = server.request("GET", path)
            return status
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(n)))

    # Circuit breaker --------------------------------------------------------

    def test_breaker_opens_under_half_failures_and_closes_after_recovery(self):
        up = self.start_upstream()
        chaos, listen = self.start_chaos(up)
        r = self.start_relay(listen, [
            "relay.keep_alive=false",             # one connection per call: toxicity per call
            "relay.retry.max_attempts=1",         # let every failure reach the breaker
            "relay.breaker.window_size=20", "relay.breaker.minimum_calls=10",
            "relay.breaker.wait_in_open=1s", "relay.breaker.half_open_calls=3"])
        self.assertEqual(self.get_many(r, "/relay/hello", 20), [200] * 20)
        self.assertEqual(val(r.metrics(), "keel_breaker_state", name="upstream"), 0)

        # Half of the upstream connections are reset as they open.
        name = self.toxic(chaos, {"type": "reset_peer", "toxicity": 0.5,
                                  "attributes": {"timeout": 0}})
        statuses = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            statuses += self.get_many(r, "/relay/hello", 10, workers=2)
            if val(r.metrics(), "keel_breaker_state", name="upstream") == 1:
                break
        m = r.metrics()
        self.assertEqual(val(m, "keel_breaker_state", name="upstream"), 1, statuses)
        self.assertEqual(val(m, "keel_breaker_transitions_total", name="upstream",
                                 **{"from": "closed", "to": "open"}), 1)
        self.assertIn(502, statuses)  # failures passed through as Bad Gateway
        # While open, calls fail fast without reaching the upstream.
        start = time.monotonic()
        status, headers, body = r.request("GET", "/relay/hello")
        self.assertEqual(status, 503, body)
        self.assertIn(b"circuit", body)
        self.assertLess(time.monotonic() - start, 0.5)
        self.assertGreater(val(m, "keel_breaker_calls_total", name="upstream",
                                   outcome="failure"), 0)

        # Recovery: remove the fault; after wait_in_open the probes succeed.
        self.untoxic(chaos, name)
        time.sleep(1.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.get_many(r, "/relay/hello", 3, workers=1)
            if val(r.metrics(), "keel_breaker_state", name="upstream") == 0:
                break
        m = r.metrics()
        self.assertEqual(val(m, "keel_breaker_state", name="upstream"), 0)
        self.assertGreaterEqual(val(m, "keel_breaker_transitions_total", name="upstream",
                                        **{"from": "half_open", "to": "closed"}), 1)
        self.assertEqual(self.get_many(r, "/relay/hello", 20), [200] * 20)

    # Retry budget -----------------------------------------------------------

    def test_retries_stay_within_budget_during_an_outage(self):
        up = self.start_upstream()
        chaos, listen = self.start_chaos(up)
        r = self.start_relay(listen, [
            "relay.keep_alive=false", "relay.breaker.enabled=false",
            "relay.retry.max_attempts=3", "relay.retry.base=1ms", "relay.retry.cap=5ms",
            "relay.retry.budget_ratio=0.1", "relay.retry.min_retries_per_second=1"])
        # Healthy traffic first: 300 calls, no retries needed.
        self.assertEqual(self.get_many(r, "/relay/hello", 300), [200] * 300)
        self.toxic(chaos, {"type": "reset_peer", "toxicity": 1.0, "attributes": {"timeout": 0}})
        start = time.monotonic()
        outage = self.get_many(r, "/relay/hello", 300)
        elapsed = time.monotonic() - start
        self.assertEqual(set(outage), {502})
        m = r.metrics()
        calls = 600
        retries = val(m, "keel_retries_total", name="upstream")
        # Without a budget 300 failing calls would make 600 retries (3 attempts each).
        budget = 0.1 * calls + 1 * (elapsed + 10) + 5
        self.assertLessEqual(retries, budget, "retries %s > budget %s" % (retries, budget))
        self.assertGreater(val(m, "keel_retry_budget_exhausted_total", name="upstream"), 200)

    # Bulkhead ---------------------------------------------------------------

    def test_bulkhead_rejects_past_its_limit(self):
        up = self.start_upstream()
        chaos, listen = self.start_chaos(up)
        self.toxic(chaos, {"type": "latency", "attributes": {"latency": 400}})
        r = self.start_relay(listen, ["relay.bulkhead.max_concurrent=4",
                                      "relay.bulkhead.max_queue=0",
                                      "relay.retry.max_attempts=1"])
        statuses = self.get_many(r, "/relay/hello", 10, workers=10)
        self.assertEqual(statuses.count(200), 4, statuses)
        self.assertEqual(statuses.count(503), 6, statuses)
        m = r.metrics()
        self.assertEqual(val(m, "keel_bulkhead_rejected_total", name="upstream",
                                 reason="full"), 6)
        self.assertEqual(val(m, "keel_bulkhead_in_use", name="upstream"), 0)

    # Hedging ----------------------------------------------------------------

    def test_hedging_cuts_p99_when_a_tenth_of_calls_are_slow(self):
        up = self.start_upstream()
        chaos, listen = self.start_chaos(up)
        # 10 % of upstream connections (one per call) get 200 ms of latency.
        self.toxic(chaos, {"type": "latency", "toxicity": 0.1, "attributes": {"latency": 200}})
        p99, slow = {}, {}
        hedged = None
        # With 10 % of calls slow the p95 lies inside the slow mode, so the
        # hedge waits for the 80th percentile (relay.hedge.percentile). One
        # hedge leaves the calls whose two legs were both slow, 10 % x 10 % =
        # 1 %: p99's own boundary. Up to two hedges (relay.hedge.max_attempts=3,
        # gRPC's maxAttempts) leave 0.1 %, so p99 falls to the fast mode.
        runs = (("plain", ["relay.hedge.enabled=false"]),
                ("one hedge", ["relay.hedge.enabled=true", "relay.hedge.percentile=80"]),
                ("two hedges", ["relay.hedge.enabled=true", "relay.hedge.percentile=80",
                                "relay.hedge.max_attempts=3"]))
        for name, sets in runs:
            r = self.start_relay(listen, ["relay.keep_alive=false",
                                          "relay.bulkhead.max_concurrent=64"] + sets)
            load("http://127.0.0.1:%d/relay/hello" % r.port, 100, "2s", 16)  # warm the tracker
            summary = load("http://127.0.0.1:%d/relay/hello" % r.port, 100, "8s", 32,
                           ["--count-within", "100ms"])
            self.assertEqual(summary["errors"]["total"], 0, summary["errors"])
            p99[name] = summary["latency_ms"]["corrected"]["p99"]
            fast = sum(s["within"]["le_100ms"] for s in summary["seconds"])
            slow[name] = 1 - fast / summary["completed"]
            if name != "plain":
                hedged = r.metrics()
                self.assertGreater(val(hedged, "keel_hedges_total", name="upstream",
                                       result="won"), 0, name)
            r.kill()
        print("hedging: p99 ms %s, share of answers over 100 ms %s" % (p99, slow))
        self.assertGreaterEqual(p99["plain"], 150, p99)
        self.assertGreater(slow["plain"], 0.05, slow)
        if not SANITIZED:
            self.assertLessEqual(slow["one hedge"], 0.5 * slow["plain"], slow)
            self.assertLessEqual(slow["two hedges"], 0.5 * slow["plain"], slow)
            # The target: p99 with hedging <= 0.5 x without.
            self.assertLessEqual(p99["two hedges"], 0.5 * p99["plain"], p99)

    # Adaptive concurrency ---------------------------------------------------

    def test_adaptive_limit_bounds_p99_under_twice_the_capacity(self):
        # upstream capacity: 2 threads x 1000/5 ms = 400 req/s; load 800 req/s.
        up = self.start_upstream(threads=2, work_ms=5)
        chaos, listen = self.start_chaos(up)
        p99 = {}
        rejected = {}
        for name, sets in (("fixed", ["relay.admission.limit=fixed", "relay.admission.fixed_limit=1000"]),
                           ("gradient", ["relay.admission.limit=gradient"])):
            r = self.start_relay(listen, sets + ["relay.retry.max_attempts=1",
                                                 "relay.bulkhead.max_concurrent=1000",
                                                 "relay.bulkhead.max_queue=0",
                                                 "relay.timeout.total=5s",
                                                 "relay.timeout.per_try=5s"])
            load("http://127.0.0.1:%d/relay/work" % r.port, 800, "8s", 256)
            m = r.metrics()
            p99[name] = histogram_quantile(m, "keel_relay_request_duration_seconds", 0.99,
                                           result="ok")
            rejected[name] = sum(v for n, l, v in m.samples if n == "keel_concurrency_rejected_total")
            print("overload %s: accepted p99 %s s, rejected %s" % (name, p99[name], rejected[name]))
            r.kill()
        self.assertEqual(rejected["fixed"], 0)
        self.assertGreater(rejected["gradient"], 0)
        if not SANITIZED:
            self.assertLessEqual(p99["gradient"], 0.25, p99)  # accepted calls stay fast
            self.assertGreaterEqual(p99["fixed"], 1.0, p99)   # the queue grows without bound


if __name__ == "__main__":
    unittest.main()
