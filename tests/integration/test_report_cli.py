"""`keel report DIR -o FILE`: one-line errors with exit 2, a self-contained page on success."""

import json
import os
import re
import shutil
import tempfile
import unittest

import lab_fixture
from keel_server import run_keel


class ReportCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="keel-report-")
        self.dir = os.path.join(self.tmp, "run")
        lab_fixture.main(self.dir)
        self.out = os.path.join(self.tmp, "report.html")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assertOneLineError(self, args, *mentions):
        r = run_keel(args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, "want one stderr line, got %r" % r.stderr)
        self.assertTrue(lines[0].startswith("keel: error: "), lines[0])
        for word in mentions:
            self.assertIn(word, lines[0])
        self.assertFalse(os.path.exists(self.out))

    def test_missing_dir(self):
        self.assertOneLineError(["report", os.path.join(self.tmp, "nosuch"), "-o", self.out],
                                "nosuch")

    def test_missing_run_json(self):
        os.remove(os.path.join(self.dir, "run.json"))
        self.assertOneLineError(["report", self.dir, "-o", self.out], "run.json")

    def test_malformed_run_json(self):
        with open(os.path.join(self.dir, "run.json"), "w") as f:
            f.write("{not json")
        self.assertOneLineError(["report", self.dir, "-o", self.out], "run.json", "not valid JSON")

    def test_malformed_csv(self):
        with open(os.path.join(self.dir, "load", "main.csv"), "a") as f:
            f.write("61.000,x,1,0,1,1,1,true,1\n")
        self.assertOneLineError(["report", self.dir, "-o", self.out], "main.csv:62", "sent")

    def test_missing_dir_argument(self):
        self.assertOneLineError(["report"], "dir")

    def test_writes_self_contained_page(self):
        r = run_keel(["report", self.dir, "-o", self.out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.out, r.stdout)
        with open(self.out, encoding="utf-8") as f:
            html = f.read()
        self.assertIn("<title>keel lab: hello &lt;b&gt;under&lt;/b&gt; fire &amp; &quot;friends&quot;"
                      "</title>", html)
        self.assertNotIn("<b>under</b>", html)
        self.assertIn("FAILED", html)
        self.assertIn("latency 100ms &lt;toxic&gt;", html)
        self.assertIsNone(re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I))
        self.assertNotIn("url(http", html)
        blob = re.search(r'<script type="application/json" id="keel-data">(.*?)</script>',
                         html, re.S).group(1)
        data = json.loads(blob)
        self.assertEqual(data["loads"][0]["t"][0], 3.0)  # offset 2 s + first second
        self.assertEqual(len(data["loads"][0]["t"]), 60)

    def test_optional_files_may_be_missing(self):
        for name in ("faults.json", "slos.json", os.path.join("load", "main.json")):
            os.remove(os.path.join(self.dir, name))
        shutil.rmtree(os.path.join(self.dir, "metrics"))
        r = run_keel(["report", self.dir, "-o", self.out])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.getsize(self.out) > 0)

    def test_default_output_is_in_dir(self):
        r = run_keel(["report", self.dir])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "report.html")))


if __name__ == "__main__":
    unittest.main()
