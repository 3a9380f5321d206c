"""Black-box tests of `keel load rls://` against a fake Envoy RLS v3 server.

tests/load/rls_fake_server answers OK for the first N calls of each distinct
request (domain + descriptors), then OVER_LIMIT, and prints its own counts
when stopped, so the generator's counts can be checked against the server's.
"""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from keel_server import clean_env, KEEL_BIN  # noqa: E402

FAKE_BIN = os.environ.get("RLS_FAKE_SERVER_BIN", "/work/main/build/tests/load/rls_fake_server")


def keel_load(args, timeout=60):
    return subprocess.run([KEEL_BIN, "load"] + list(args), env=clean_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class FakeRls:
    def __init__(self, limit):
        self.proc = subprocess.Popen([FAKE_BIN, str(limit)], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def stop(self):
        """Stops the server; returns its counts {ok, over_limit, keys}."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=15)
        return json.loads(out.strip().splitlines()[-1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RlsTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="keel-load-rls-")

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def run_json(self, args, timeout=60):
        out = self.path("run.json")
        p = keel_load(list(args) + ["--json", out], timeout=timeout)
        self.assertIn(p.returncode, (0, 1), p.stdout + p.stderr)
        with open(out) as f:
            return p, json.load(f)


class OpenLoopTest(RlsTestCase):
    def test_achieves_requested_rate(self):
        with FakeRls(10**9) as server:
            p, r = self.run_json([f"rls://127.0.0.1:{server.port}", "--domain", "d",
                                  "--descriptor", "k=v", "--rate", "2000", "--duration", "3s",
                                  "--connections", "4", "--threads", "2"])
            counts = server.stop()
        self.assertEqual(r["protocol"], "rls")
        self.assertEqual(r["mode"], "open")
        self.assertAlmostEqual(r["achieved_rate"], 2000, delta=2000 * 0.02, msg=p.stdout)
        self.assertEqual(r["errors"]["total"], 0, p.stdout)
        self.assertEqual(r["over_limit"], 0)
        self.assertEqual(r["ok"], r["completed"])
        self.assertEqual(counts["ok"], r["completed"])
        self.assertIn("Answers", p.stdout)

    def test_ok_and_over_limit_match_the_servers_counts(self):
        ts = self.path("ts.csv")
        with FakeRls(30) as server:
            p, r = self.run_json([f"rls://127.0.0.1:{server.port}", "--domain", "d",
                                  "--descriptor", "tenant=t1,user={{rand:1:20}}",
                                  "--descriptor", "k=v", "--rate", "1000", "--duration", "2s",
                                  "--connections", "2", "--timeseries", ts,
                                  "--count-within", "10s", "--slo", "errors<0.1%"])
            counts = server.stop()
        # OVER_LIMIT answers are not errors: the SLO holds.
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(r["errors"]["total"], 0, p.stdout)
        self.assertEqual(r["ok"], counts["ok"], p.stdout)
        self.assertEqual(r["over_limit"], counts["over_limit"], p.stdout)
        self.assertEqual(r["ok"] + r["over_limit"], r["completed"])
        self.assertEqual(counts["keys"], 20)
        self.assertEqual(r["ok"], 20 * 30)  # each user got ~100 calls, 30 of them OK
        self.assertEqual(sorted(r["errors"]), ["grpc_status", "timeout", "total", "unavailable"])
        self.assertIn("over_limit", r["seconds"][0])
        self.assertEqual(sum(s["over_limit"] for s in r["seconds"]), r["over_limit"])
        with open(ts) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 2)
        self.assertEqual(sum(int(row["ok"]) for row in rows), r["ok"])
        self.assertEqual(sum(int(row["over_limit"]) for row in rows), r["over_limit"])
        # Good events of a latency SLO: OK and OVER_LIMIT answers alike.
        self.assertEqual(sum(int(row["le_10s"]) for row in rows), r["completed"])


class ClosedLoopTest(RlsTestCase):
    def test_closed_loop_drives_many_calls(self):
        hlog = self.path("run.hlog")
        with FakeRls(10**9) as server:
            p, r = self.run_json([f"rls://127.0.0.1:{server.port}", "--domain", "d",
                                  "--descriptor", "k={{seq}}", "--duration", "2s",
                                  "--connections", "8", "--hits", "2", "--hlog", hlog])
            server.stop()
        self.assertEqual(r["mode"], "closed")
        self.assertIsNone(r["requested_rate"])
        self.assertGreater(r["completed"], 500, p.stdout)
        self.assertEqual(r["errors"]["total"], 0, p.stdout)
        with open(hlog) as f:
            self.assertIn("#[Histogram log format version 1.2]", f.read())


class ErrorsTest(RlsTestCase):
    def test_unreachable_server_counts_errors(self):
        p, r = self.run_json([f"rls://127.0.0.1:{closed_port()}", "--domain", "d",
                              "--descriptor", "k=v", "--rate", "200", "--duration", "1s",
                              "--connections", "2", "--slo", "errors<1%"])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertEqual(r["completed"], 0)
        self.assertGreaterEqual(r["errors"]["unavailable"], 180, p.stdout)
        self.assertEqual(r["errors"]["total"], r["sent"])  # every call sent failed

    def test_bad_flags_exit_2_with_one_line(self):
        cases = [
            ["rls://127.0.0.1:1", "--descriptor", "k=v"],                       # no --domain
            ["rls://127.0.0.1:1", "--domain", "d"],                             # no --descriptor
            ["rls://127.0.0.1:1", "--domain", "d", "--descriptor", "novalue"],
            ["rls://127.0.0.1:1", "--domain", "d", "--descriptor", "=v"],
            ["rls://127.0.0.1:1", "--domain", "d", "--descriptor", "k={{zipf:x:1}}"],
            ["rls://127.0.0.1:1", "--domain", "d", "--descriptor", "k=v", "--header", "A: b"],
            ["rls://127.0.0.1", "--domain", "d", "--descriptor", "k=v"],        # no port
            ["rls://127.0.0.1:1/path", "--domain", "d", "--descriptor", "k=v"],
            ["http://127.0.0.1:1/", "--domain", "d"],
            ["rls://127.0.0.1:1", "--domain", "d", "--descriptor", "k=v", "--hits", "-1"],
        ]
        for args in cases:
            with self.subTest(args=args):
                p = keel_load(args, timeout=20)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertTrue(p.stderr.startswith("keel: error: "), p.stderr)


if __name__ == "__main__":
    unittest.main()
