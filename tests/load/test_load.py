"""Black-box tests of `keel load` against real servers on loopback.

The accuracy test drives a server that stalls for 200 ms once a second and
checks that the stall shows up in corrected latency while uncorrected latency
stays small. Every run is bounded by its --duration and a subprocess timeout.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from keel_server import KeelServer, clean_env, KEEL_BIN  # noqa: E402

STALL_BIN = os.environ.get("STALL_SERVER_BIN", "/work/main/build/tests/load/stall_server")


def keel_load(args, timeout=60):
    return subprocess.run([KEEL_BIN, "load"] + list(args), env=clean_env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class StallServer:
    def __init__(self, stall_ms=200, period_ms=1000):
        self.proc = subprocess.Popen([STALL_BIN, str(stall_ms), str(period_ms)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)


class LoadTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="keel-load-")

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def run_json(self, args, timeout=60):
        out = self.path("run.json")
        p = keel_load(list(args) + ["--json", out], timeout=timeout)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        with open(out) as f:
            return p, json.load(f)


class AccuracyTest(LoadTestCase):
    def test_stall_is_visible_in_corrected_but_not_uncorrected_latency(self):
        server = StallServer(200, 1000)
        try:
            p, r = self.run_json([f"http://127.0.0.1:{server.port}/hello", "--rate", "1000",
                                  "--duration", "5s", "--connections", "4", "--warmup", "1s"])
        finally:
            server.close()
        corrected = r["latency_ms"]["corrected"]
        uncorrected = r["latency_ms"]["uncorrected"]
        self.assertGreaterEqual(corrected["p99"], 100.0, p.stdout)
        self.assertLess(uncorrected["p99"], 50.0, p.stdout)
        self.assertGreater(r["backlog"]["requests"], 0)
        self.assertEqual(r["mode"], "open")
        # 5 stalls of 200 ms at 1000/s: about a fifth of requests waited.
        self.assertGreater(corrected["p75"], uncorrected["p75"])
        self.assertIn("Requested rate", p.stdout)

    def test_count_within_counts_good_answers_per_second(self):
        # A 200 ms stall each second: requests due in its first ~150 ms wait
        # over 50 ms (corrected), so about 15 % miss a 50 ms threshold.
        ts = self.path("ts.csv")
        server = StallServer(200, 1000)
        try:
            p = keel_load([f"http://127.0.0.1:{server.port}/hello", "--rate", "500",
                           "--duration", "4s", "--connections", "4", "--timeseries", ts,
                           "--count-within", "50ms,10s"])
        finally:
            server.close()
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(ts) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 4)
        for row in rows:
            self.assertEqual(int(row["le_10s"]), int(row["ok"]), row)
            self.assertEqual(int(row["ok"]), int(row["completed"]), row)
            self.assertLessEqual(int(row["le_50ms"]), int(row["le_10s"]), row)
        ok = sum(int(row["ok"]) for row in rows)
        fast = sum(int(row["le_50ms"]) for row in rows)
        self.assertGreater(ok, 1500)
        self.assertTrue(0.6 < fast / ok < 0.97, f"{fast}/{ok}")


class OpenLoopTest(LoadTestCase):
    def test_achieves_requested_rate(self):
        with KeelServer(threads=1) as server:
            p, r = self.run_json([f"http://127.0.0.1:{server.port}/hello", "--rate", "2000",
                                  "--duration", "3s", "--connections", "16"])
        self.assertAlmostEqual(r["requested_rate"], 2000, delta=1)
        self.assertAlmostEqual(r["achieved_rate"], 2000, delta=2000 * 0.02, msg=p.stdout)
        self.assertEqual(r["errors"]["total"], 0)
        self.assertAlmostEqual(r["sent"], 6000, delta=6000 * 0.02)

    def test_stages_shape_the_rate_per_second(self):
        ts = self.path("ts.csv")
        with KeelServer(threads=1) as server:
            p = keel_load([f"http://127.0.0.1:{server.port}/hello", "--stages", "2s@200,2s@800",
                           "--connections", "8", "--timeseries", ts])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(ts) as f:
            rows = list(csv.DictReader(f))
        self.assertGreaterEqual(len(rows), 4)
        sent = [int(row["sent"]) for row in rows[:4]]
        for got, want in zip(sent, [200, 200, 800, 800]):
            self.assertAlmostEqual(got, want, delta=want * 0.1, msg=str(sent))

    def test_ramp_increases_rate(self):
        ts = self.path("ts.csv")
        with KeelServer(threads=1) as server:
            p = keel_load([f"http://127.0.0.1:{server.port}/hello", "--rate", "100:900",
                           "--duration", "4s", "--connections", "8", "--timeseries", ts])
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(ts) as f:
            sent = [int(row["sent"]) for row in csv.DictReader(f)][:4]
        # Integral of the ramp over each second: 200, 400, 600, 800.
        for got, want in zip(sent, [200, 400, 600, 800]):
            self.assertAlmostEqual(got, want, delta=want * 0.1 + 5, msg=str(sent))


class HlogTest(LoadTestCase):
    JS_DIR = os.path.join(os.path.dirname(__file__), "..", "js")

    def test_hlog_of_a_run_decodes_with_hdr_histogram_js(self):
        hlog = self.path("run.hlog")
        with KeelServer(threads=1) as server:
            p, r = self.run_json([f"http://127.0.0.1:{server.port}/hello", "--rate", "500",
                                  "--duration", "3s", "--connections", "4", "--hlog", hlog])
        node = subprocess.run(["node", "read_hlog.mjs", hlog], cwd=self.JS_DIR,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(node.returncode, 0, node.stderr)
        got = json.loads(node.stdout)
        self.assertGreaterEqual(got["intervals"], 3)
        self.assertEqual(got["total_count"], r["completed"])
        # hlog values are µs; the JSON reports ms at 3 significant digits.
        self.assertAlmostEqual(got["max"] / 1000.0, r["latency_ms"]["corrected"]["max"],
                               delta=r["latency_ms"]["corrected"]["max"] * 0.002 + 0.002)


class ClosedLoopTest(LoadTestCase):
    def test_closed_loop_reports_no_requested_rate(self):
        with KeelServer(threads=1) as server:
            p, r = self.run_json([f"http://127.0.0.1:{server.port}/hello", "--duration", "1s",
                                  "--connections", "8"])
        self.assertEqual(r["mode"], "closed")
        self.assertGreater(r["completed"], 100)
        self.assertEqual(r["errors"]["total"], 0)
        self.assertIn("n/a (closed loop)", p.stdout)


class TemplateTest(LoadTestCase):
    def test_seq_and_zipf_reach_the_server(self):
        with KeelServer(threads=1, args=["--access-log", "true"]) as server:
            p, r = self.run_json([f"http://127.0.0.1:{server.port}/k/{{{{seq}}}}/{{{{zipf:1.2:50}}}}",
                                  "--rate", "300", "--duration", "2s", "--connections", "4"])
            paths = [rec.get("path") for rec in server.records() if rec.get("msg") == "request"]
        self.assertGreaterEqual(len(paths), 500)
        seqs = {pth.split("/")[2] for pth in paths}
        self.assertEqual(len(seqs), len(paths))  # every {{seq}} distinct
        keys = [int(pth.split("/")[3]) for pth in paths]
        self.assertTrue(all(1 <= k <= 50 for k in keys))
        self.assertEqual(max(set(keys), key=keys.count), 1)  # the hottest key is 1
        self.assertEqual(r["errors"]["status_4xx"], r["completed"])  # /k/... is a 404


    def test_requests_file_is_cycled(self):
        reqs = self.path("requests.txt")
        with open(reqs, "w") as f:
            f.write("# two requests, cycled\nGET /a/{{seq}}\nPOST /b some body\n")
        with KeelServer(threads=1, args=["--access-log", "true"]) as server:
            p, r = self.run_json([f"http://127.0.0.1:{server.port}/", "--requests", reqs,
                                  "--rate", "100", "--duration", "1s", "--connections", "2"])
            seen = [(rec.get("method"), rec.get("path")) for rec in server.records()
                    if rec.get("msg") == "request"]
        self.assertGreaterEqual(len(seen), 90)
        posts = [s for s in seen if s == ("POST", "/b")]
        gets = [s for s in seen if s[0] == "GET" and s[1].startswith("/a/")]
        self.assertAlmostEqual(len(posts), len(gets), delta=2)
        self.assertEqual(len(posts) + len(gets), len(seen))


class ErrorsAndSloTest(LoadTestCase):
    def test_connect_errors_are_counted(self):
        with KeelServer() as server:
            port = server.port
        p, r = self.run_json([f"http://127.0.0.1:{port}/hello", "--rate", "100", "--duration",
                              "1s", "--connections", "2"])
        # One per connection and outage, not one per retry.
        self.assertGreaterEqual(r["errors"]["connect"], 1)
        self.assertLessEqual(r["errors"]["connect"], 2)
        self.assertEqual(r["completed"], 0)
        self.assertGreater(r["backlog"]["not_sent"], 90)

    def test_timeouts_are_counted(self):
        server = StallServer(1500, 2000)
        try:
            p, r = self.run_json([f"http://127.0.0.1:{server.port}/hello", "--rate", "50",
                                  "--duration", "2s", "--connections", "4", "--timeout", "300ms"])
        finally:
            server.close()
        self.assertGreater(r["errors"]["timeout"], 0)

    def test_slo_breach_exits_1_and_names_the_bound(self):
        with KeelServer(threads=1) as server:
            p = keel_load([f"http://127.0.0.1:{server.port}/hello", "--rate", "200", "--duration",
                           "1s", "--slo", "p99<1us,errors<1%"])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("p99<1us", p.stdout)
        self.assertIn("FAIL", p.stdout)

    def test_slo_pass_exits_0(self):
        with KeelServer(threads=1) as server:
            p = keel_load([f"http://127.0.0.1:{server.port}/hello", "--rate", "200", "--duration",
                           "1s", "--slo", "p99<5s,errors<1%,rate>=0.9"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_sliding_window_breach_is_reported_with_its_time(self):
        server = StallServer(300, 4000)  # a 300 ms stall every 4 s
        try:
            p, r = self.run_json([f"http://127.0.0.1:{server.port}/hello", "--rate", "200",
                                  "--duration", "11s", "--connections", "2", "--slo", "max<100ms"],
                                 timeout=90)
        finally:
            server.close()
        self.assertEqual(p.returncode, 1)
        slo = r["slo"][0]
        self.assertFalse(slo["passed"])
        self.assertTrue(slo["window_breached"])
        self.assertEqual(slo["window_end_s"] - slo["window_start_s"], 10)
        self.assertGreaterEqual(slo["window_measured"], 100)
        self.assertIn("breached in window", p.stdout)


class BadInputTest(unittest.TestCase):
    def test_bad_flags_exit_2_with_one_line(self):
        cases = [
            ["http://127.0.0.1:1/", "--rate", "abc"],
            ["http://127.0.0.1:1/", "--duration", "ten"],
            ["http://127.0.0.1:1/", "--stages", "10s@"],
            ["http://127.0.0.1:1/", "--rate", "10", "--stages", "1s@10"],
            ["http://127.0.0.1:1/", "--slo", "p99<<5ms"],
            ["http://127.0.0.1:1/", "--header", "NoColon"],
            ["http://127.0.0.1:1/{{nope}}"],
            ["ftp://127.0.0.1:1/"],
            ["http://127.0.0.1:1/", "--connections", "0"],
            ["http://127.0.0.1:1/", "--frobnicate"],
            ["http://127.0.0.1:1/", "--body", "@/nonexistent/file"],
        ]
        for args in cases:
            with self.subTest(args=args):
                p = keel_load(args, timeout=20)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
                self.assertTrue(p.stderr.startswith("keel: error: "), p.stderr)


if __name__ == "__main__":
    unittest.main()
