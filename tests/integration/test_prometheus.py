"""A real Prometheus server scrapes keel, and its query API sees keel's counts.

Prometheus asks for OpenMetrics first, so this also checks that keel's
OpenMetrics exposition is accepted by the reference parser.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from keel_server import KeelServer

PROMETHEUS = "/usr/bin/prometheus"
REQUESTS = 37
QUERY_TIMEOUT_S = 30.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(os.access(PROMETHEUS, os.X_OK), PROMETHEUS + " is not installed "
                     "(Debian package 'prometheus')")
class PrometheusScrapeTest(unittest.TestCase):
    def setUp(self):
        self.keel = None
        self.prometheus = None
        self.prom_log = None
        self.tmp = tempfile.mkdtemp(prefix="keel-it-prom-")

    def tearDown(self):
        if self.prometheus is not None and self.prometheus.poll() is None:
            self.prometheus.terminate()
            try:
                self.prometheus.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.prometheus.kill()
                self.prometheus.wait(timeout=5)
        if self.prom_log is not None:
            self.prom_log.close()
        if self.keel is not None:
            self.keel.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def prometheus_output(self):
        with open(os.path.join(self.tmp, "prometheus.log"), errors="replace") as f:
            return f.read()[-3000:]

    def start_prometheus(self, target_port):
        config = os.path.join(self.tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: keel\n"
                    "    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % target_port)
        self.prom_port = free_port()
        self.prom_log = open(os.path.join(self.tmp, "prometheus.log"), "wb")
        self.prometheus = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(self.tmp, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.prom_port,
             "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.prom_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + QUERY_TIMEOUT_S
        while True:
            if self.prometheus.poll() is not None:
                self.fail("prometheus exited with %d:\n%s" % (self.prometheus.returncode,
                                                              self.prometheus_output()))
            try:
                with urllib.request.urlopen(self.prom_url("/-/ready"), timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.fail("prometheus not ready within %.0fs:\n%s" % (QUERY_TIMEOUT_S,
                                                                      self.prometheus_output()))
            time.sleep(0.2)

    def prom_url(self, path):
        return "http://127.0.0.1:%d%s" % (self.prom_port, path)

    def api(self, path, **params):
        url = self.prom_url(path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as r:
            doc = json.load(r)
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]

    def query(self, promql):
        """The values of an instant query's result vector, as floats."""
        data = self.api("/api/v1/query", query=promql)
        self.assertEqual(data["resultType"], "vector")
        return [float(s["value"][1]) for s in data["result"]]

    def poll_query(self, promql, want):
        deadline = time.monotonic() + QUERY_TIMEOUT_S
        got = None
        while time.monotonic() < deadline:
            got = self.query(promql)
            if got == [want]:
                return got
            time.sleep(0.5)
        targets = self.api("/api/v1/targets")["activeTargets"]
        self.fail("%s = %s after %.0fs, want [%s]; targets: %s" % (
            promql, got, QUERY_TIMEOUT_S, want,
            [(t["health"], t["lastError"]) for t in targets]))

    def test_prometheus_sees_exact_request_count(self):
        self.keel = KeelServer().start()
        self.start_prometheus(self.keel.port)

        conn = self.keel.connection()
        try:
            for _ in range(REQUESTS):
                conn.request("GET", "/hello")
                resp = conn.getresponse()
                self.assertEqual((resp.status, resp.read()), (200, b"hello"))
        finally:
            conn.close()

        self.poll_query('keel_http_requests_total{route="/hello",code="200"}', REQUESTS)
        self.poll_query('up{job="keel"}', 1)
        self.assertEqual(self.query('keel_http_request_duration_seconds_count'
                                    '{route="/hello",method="GET"}'), [REQUESTS])

        targets = self.api("/api/v1/targets")["activeTargets"]
        self.assertEqual(len(targets), 1, targets)
        target = targets[0]
        self.assertEqual(target["labels"]["job"], "keel")
        self.assertEqual(target["health"], "up", target)
        self.assertEqual(target["lastError"], "", target)
        scraped = self.query('scrape_samples_scraped{job="keel"}')
        self.assertEqual(len(scraped), 1)
        self.assertGreater(scraped[0], 20, "prometheus kept too few of keel's samples")
        self.assertTrue(self.keel.alive())
        self.assertEqual(self.keel.stop(), 0)


if __name__ == "__main__":
    unittest.main()
