"""Accuracy of `keel serve ratelimit` end to end, over both front ends: keel
load offers 2x each limit for 10 s, open loop, and the admitted count is
compared with what the algorithm allows in theory.

- HTTP (POST /json): admitted = answers 200 (`completed - status_4xx`); every
  request must be answered, 200 or 429 (no connect, timeout or read errors,
  no 5xx).
- gRPC (Envoy RLS v3, `keel load rls://HOST:PORT --domain acc --descriptor
  alg=ALG`): admitted = answers with overall_code OK (the report's `ok`);
  OVER_LIMIT answers are counted in `over_limit`, not as errors; every call
  must be answered, OK or OVER_LIMIT (no timeout, unavailable or grpc_status
  errors).

Limits are 100/s; 2,000 requests arrive evenly over 10 s (200/s):
- token_bucket (capacity 100) and gcra (limit 100): the full burst of 100,
  then 100/s: 100 + 10 * 100 = 1,100, within 1 %;
- sliding_window: 100 per sliding second: 10 * 100 = 1,000, within 1 %;
- fixed_window: 100 per clock window; 10 s of arrivals touch 11 windows,
  the first and last partly, so between 1,000 and 1,100 depending on where
  the windows fall (the boundary effect the docs describe), each window
  admitting min(100, arrivals in it).

Each transport is one test method with its own server (the HTTP port comes
from its "listening" log line, the gRPC port, bound with --grpc
127.0.0.1:0, from its "grpc listening" line); within a method the four loads
run at the same time (one descriptor each), so a method takes about 12 s and
the file about 25 s.
"""

import dataclasses
import json
import os
import subprocess
import tempfile
import unittest
from typing import Callable

from keel_server import KEEL_BIN, KeelServer, clean_env

RULES = """
domain: acc
descriptors:
  - {key: alg, value: token_bucket, rate_limit: {unit: second, requests_per_unit: 100, algorithm: token_bucket}}
  - {key: alg, value: gcra, rate_limit: {unit: second, requests_per_unit: 100, algorithm: gcra}}
  - {key: alg, value: sliding_window, rate_limit: {unit: second, requests_per_unit: 100, algorithm: sliding_window}}
  - {key: alg, value: fixed_window, rate_limit: {unit: second, requests_per_unit: 100, algorithm: fixed_window}}
"""

RATE = 200  # offered per descriptor: 2x its limit
DURATION_S = 10
SENT = RATE * DURATION_S

EXPECTED = {  # (low, high) admitted
    "token_bucket": (1100 * 0.99, 1100 * 1.01),
    "gcra": (1100 * 0.99, 1100 * 1.01),
    "sliding_window": (1000 * 0.99, 1000 * 1.01),
    "fixed_window": (1000 * 0.99, 1100 * 1.01),
}


@dataclasses.dataclass(frozen=True)
class Transport:
    name: str
    # keel load's URL and request flags for one descriptor {alg: ALG}.
    target: Callable[[KeelServer, str], list]
    # Error kinds in the --json report that mean a request got no answer (or
    # a failed one); each must be 0.
    unanswered: tuple
    # (admitted, refused) from the --json report.
    answers: Callable[[dict], tuple]


def http_target(server, alg):
    body = json.dumps({"domain": "acc", "descriptors": [{"entries": [{"key": "alg", "value": alg}]}]})
    return [f"http://127.0.0.1:{server.port}/json", "-m", "POST", "--body", body,
            "-H", "Content-Type: application/json"]


def rls_target(server, alg):
    # Logged before "listening", which KeelServer.start() waited for.
    grpc = server.wait_for_log(lambda rec: rec.get("msg") == "grpc listening")["grpc"]
    return [f"rls://{grpc}", "--domain", "acc", "--descriptor", f"alg={alg}"]


HTTP = Transport("http", http_target, ("connect", "timeout", "read", "status_5xx"),
                 lambda r: (r["completed"] - r["errors"]["status_4xx"], r["errors"]["status_4xx"]))
RLS = Transport("rls", rls_target, ("timeout", "unavailable", "grpc_status"),
                lambda r: (r["ok"], r["over_limit"]))


class AccuracyTest(unittest.TestCase):
    def run_loads(self, transport):
        """Starts a server, runs one load per algorithm at once; returns {alg: --json report}."""
        with tempfile.TemporaryDirectory(prefix="keel-rl-acc-") as tmp, \
                KeelServer(service="ratelimit", config=RULES, args=["--grpc", "127.0.0.1:0"]) as server:
            procs = {}
            try:
                for alg in EXPECTED:
                    out = os.path.join(tmp, alg + ".json")
                    procs[alg] = (out, subprocess.Popen(
                        [KEEL_BIN, "load", *transport.target(server, alg), "--rate", str(RATE),
                         "--duration", f"{DURATION_S}s", "--connections", "8", "--json", out],
                        env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True))
                results = {}
                for alg, (out, p) in procs.items():
                    stdout, stderr = p.communicate(timeout=60)
                    self.assertIn(p.returncode, (0, 1), stdout + stderr)
                    with open(out) as f:
                        results[alg] = json.load(f)
                return results
            finally:
                for _, p in procs.values():
                    if p.poll() is None:
                        p.kill()
                        p.communicate(timeout=10)

    def check_admitted_counts(self, transport):
        for alg, r in self.run_loads(transport).items():
            with self.subTest(transport=transport.name, alg=alg):
                errors = r["errors"]
                admitted, refused = transport.answers(r)
                low, high = EXPECTED[alg]
                print(f"{transport.name} {alg}: admitted {admitted}, refused {refused} of {r['sent']} "
                      f"(expected {low:.0f}..{high:.0f})")
                self.assertEqual(r["sent"], SENT)
                # Every request was answered, admitted or refused, nothing else.
                self.assertEqual({k: errors[k] for k in transport.unanswered},
                                 dict.fromkeys(transport.unanswered, 0))
                self.assertEqual((r["completed"], admitted + refused), (SENT, SENT), errors)
                self.assertTrue(low <= admitted <= high,
                                f"{alg}: admitted {admitted}, expected [{low:.0f}, {high:.0f}]")

    def test_admitted_counts_at_twice_the_limit_http(self):
        self.check_admitted_counts(HTTP)

    def test_admitted_counts_at_twice_the_limit_rls(self):
        self.check_admitted_counts(RLS)


if __name__ == "__main__":
    unittest.main()
