"""Accuracy of `keel serve ratelimit` end to end: keel load offers 2x each
limit for 10 s over HTTP (POST /json), open loop, and the admitted count
(answers 200) is compared with what the algorithm allows in theory.

Limits are 100/s; 2,000 requests arrive evenly over 10 s (200/s):
- token_bucket (capacity 100) and gcra (limit 100): the full burst of 100,
  then 100/s: 100 + 10 * 100 = 1,100, within 1 %;
- sliding_window: 100 per sliding second: 10 * 100 = 1,000, within 1 %;
- fixed_window: 100 per clock window; 10 s of arrivals touch 11 windows,
  the first and last partly, so between 1,000 and 1,100 depending on where
  the windows fall (the boundary effect the docs describe), each window
  admitting min(100, arrivals in it).

The four loads run at the same time against one server (one descriptor
each), so the whole test takes about 12 s.
"""

import json
import os
import subprocess
import tempfile
import unittest

from keel_server import KEEL_BIN, KeelServer, clean_env

RULES = """
domain: acc
descriptors:
  - {key: alg, value: token_bucket, rate_limit: {unit: second, requests_per_unit: 100, algorithm: token_bucket}}
  - {key: alg, value: gcra, rate_limit: {unit: second, requests_per_unit: 100, algorithm: gcra}}
  - {key: alg, value: sliding_window, rate_limit: {unit: second, requests_per_unit: 100, algorithm: sliding_window}}
  - {key: alg, value: fixed_window, rate_limit: {unit: second, requests_per_unit: 100, algorithm: fixed_window}}
"""

EXPECTED = {  # (low, high) admitted
    "token_bucket": (1100 * 0.99, 1100 * 1.01),
    "gcra": (1100 * 0.99, 1100 * 1.01),
    "sliding_window": (1000 * 0.99, 1000 * 1.01),
    "fixed_window": (1000 * 0.99, 1100 * 1.01),
}


class AccuracyTest(unittest.TestCase):
    def test_admitted_counts_at_twice_the_limit(self):
        with tempfile.TemporaryDirectory(prefix="keel-rl-acc-") as tmp, \
                KeelServer(service="ratelimit", config=RULES, args=["--grpc", "127.0.0.1:0"]) as server:
            procs = {}
            for alg in EXPECTED:
                body = json.dumps({"domain": "acc", "descriptors": [{"entries": [{"key": "alg", "value": alg}]}]})
                out = os.path.join(tmp, alg + ".json")
                procs[alg] = (out, subprocess.Popen(
                    [KEEL_BIN, "load", f"http://127.0.0.1:{server.port}/json", "-m", "POST", "--body", body,
                     "-H", "Content-Type: application/json", "--rate", "200", "--duration", "10s",
                     "--connections", "8", "--json", out],
                    env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            results = {}
            for alg, (out, p) in procs.items():
                stdout, stderr = p.communicate(timeout=60)
                self.assertIn(p.returncode, (0, 1), stderr)
                with open(out) as f:
                    results[alg] = json.load(f)
        for alg, r in results.items():
            errors = r["errors"]
            self.assertEqual(r["sent"], 2000, alg)
            # Every request was answered: 200 or 429, nothing else.
            self.assertEqual(errors["connect"] + errors["timeout"] + errors["read"] + errors["status_5xx"], 0, (alg, errors))
            admitted = r["completed"] - errors["status_4xx"]
            low, high = EXPECTED[alg]
            print(f"{alg}: admitted {admitted} of {r['sent']} (expected {low:.0f}..{high:.0f})")
            self.assertTrue(low <= admitted <= high, f"{alg}: admitted {admitted}, expected [{low:.0f}, {high:.0f}]")


if __name__ == "__main__":
    unittest.main()
