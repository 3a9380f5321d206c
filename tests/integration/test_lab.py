"""Black-box tests of `keel lab`: a real scenario against `keel serve hello`,
faults that kill and restart it, SLO verdicts and exit codes, and cleanup of
every process the lab started — on success, on failure and on Ctrl-C.

Every run is short (seconds) and bounded by a subprocess timeout.
"""

import csv
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from keel_server import KEEL_BIN, clean_env, run_keel


def scenario(name, marker, stages="6s@200", faults="", slos=None, extra_process="", checks=""):
    slos = slos or "  - {name: availability, objective: 95%}\n"
    return f"""
name: {name}
processes:
  - name: hello
    command: ["{{{{keel}}}}", serve, hello, --http, "127.0.0.1:{{{{port:hello}}}}", --threads, "1",
              --set, "log.level=warn", --set, "http.shutdown_timeout=2s"]
    env: {{KEEL_LAB_MARKER: "{marker}"}}
    health: {{http: "http://127.0.0.1:{{{{port:hello}}}}/readyz", timeout: 10s}}
    metrics: "http://127.0.0.1:{{{{port:hello}}}}/metrics"
{extra_process}
loads:
  - {{name: main, target: "http://127.0.0.1:{{{{port:hello}}}}/hello", stages: "{stages}", connections: 4}}
faults:
{faults or "  []"}
slos:
{slos}
{checks}
alerting:
  min_events: 20
  windows:
    - {{long: 1h, short: 5m, burn_rate: 14.4, label: page}}
"""


class LabTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="keel-lab-")
        self.marker = f"keel-lab-test-{os.getpid()}-{time.monotonic_ns()}"

    def tearDown(self):
        for pid in self.children():
            os.kill(pid, signal.SIGKILL)
        self.tmp.cleanup()

    def write(self, text):
        path = os.path.join(self.tmp.name, "scenario.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def out(self):
        return os.path.join(self.tmp.name, "out")

    def children(self):
        # The marker is in the environment, not the command line: look there.
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read()
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if self.marker.encode() in env and state != "Z":
                found.append(int(pid))
        return found

    def lab(self, text, timeout=90, extra=()):
        return run_keel(["lab", self.write(text), "--out", self.out(), *extra], timeout=timeout)

    def read(self, name):
        with open(os.path.join(self.out(), name)) as f:
            return json.load(f) if name.endswith(".json") else f.read()

    def test_passing_run_exits_0_and_writes_its_data(self):
        p = self.lab(scenario("pass", self.marker))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Scenario pass: PASS", p.stdout)
        run = self.read("run.json")
        self.assertEqual(run["schema"], "keel.lab/v1")
        self.assertTrue(run["completed"])
        self.assertTrue(run["passed"])
        self.assertEqual(run["loads"][0]["name"], "main")
        self.assertLess(abs(run["loads"][0]["offset_s"]), 2.0)
        slos = self.read("slos.json")
        self.assertEqual(slos[0]["name"], "availability")
        self.assertTrue(slos[0]["passed"])
        # 6 s at 200/s, all answered.
        self.assertAlmostEqual(slos[0]["total"], 1200, delta=60)
        self.assertEqual(slos[0]["good"], slos[0]["total"])
        with open(os.path.join(self.out(), "load", "main.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 6)
        scrapes = self.read("metrics/hello.prom").count("# keel-lab scrape t=")
        self.assertGreaterEqual(scrapes, 3)
        self.assertIn("keel_http_requests_total", self.read("metrics/hello.prom"))
        self.assertEqual(self.children(), [])

    def test_checks_run_after_the_loads_with_processes_up_and_judge_the_run(self):
        # The first check reaches the service (still running), the second
        # fails; a failed check fails a run whose SLOs held.
        up = ("import sys, urllib.request; "
              "sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:{{port:hello}}/readyz').status == 200 else 1)")
        checks = ("checks:\n"
                  f"  - {{name: up, command: [python3, -c, \"{up}\"]}}\n"
                  "  - {name: broken, command: [sh, -c, 'echo invariant violated; exit 3'], timeout: 5s}\n"
                  "  - {name: slow, command: [sleep, '30'], timeout: 1s}\n")
        p = self.lab(scenario("checks", self.marker, stages="2s@100", checks=checks))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("Scenario checks: FAIL", p.stdout)
        self.assertIn("FAIL  check broken", p.stdout)
        run = self.read("run.json")
        self.assertTrue(run["completed"])
        self.assertFalse(run["passed"])
        checks = {c["name"]: c for c in run["checks"]}
        self.assertTrue(checks["up"]["passed"], checks["up"])
        self.assertEqual(checks["up"]["exit_code"], 0)
        self.assertFalse(checks["broken"]["passed"])
        self.assertEqual(checks["broken"]["exit_code"], 3)
        self.assertIn("invariant violated", self.read("logs/check-broken.log"))
        self.assertFalse(checks["slow"]["passed"])
        self.assertIsNone(checks["slow"]["exit_code"])
        self.assertIn("no exit within 1s", checks["slow"]["note"])
        self.assertLess(checks["slow"]["seconds"], 5)
        self.assertTrue(all(s["passed"] for s in self.read("slos.json")))
        self.assertEqual(self.children(), [])

    def test_fault_jitter_picks_a_moment_in_its_window_from_the_seed(self):
        faults = "  - {name: touch, at: 1s, jitter: 2s, command: [true]}\n"
        starts = []
        for _ in range(2):
            text = scenario("jitter", self.marker, stages="4s@50", faults=faults).replace(
                "name: jitter\n", "name: jitter\nseed: 7\n", 1)
            p = self.lab(text)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(self.read("run.json")["seed"], 7)
            start = self.read("faults.json")[0]["start_s"]
            self.assertGreaterEqual(start, 1.0)
            self.assertLess(start, 3.2)
            starts.append(start)
        # The same seed picks the same moment (to the lab's 20 ms tick).
        self.assertAlmostEqual(starts[0], starts[1], delta=0.1)

    def test_kill_and_restart_is_recorded_and_breaks_a_tight_slo(self):
        faults = "  - {name: crash, at: 2s, kill: hello, restart_after: 1s}\n"
        slos = ("  - {name: availability, objective: 99.99%}\n"
                "  - {name: fast, objective: 99.9%, latency: 20ms}\n")
        p = self.lab(scenario("crash", self.marker, faults=faults, slos=slos))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("Scenario crash: FAIL", p.stdout)
        faults = self.read("faults.json")
        self.assertEqual(len(faults), 1)
        self.assertEqual(faults[0]["kind"], "restart")
        self.assertAlmostEqual(faults[0]["start_s"], 2.0, delta=0.5)
        # Down for the 1 s restart_after plus the time to become healthy.
        self.assertGreater(faults[0]["end_s"] - faults[0]["start_s"], 1.0)
        self.assertLess(faults[0]["end_s"] - faults[0]["start_s"], 8.0)
        slos = {s["name"]: s for s in self.read("slos.json")}
        self.assertFalse(slos["availability"]["passed"])
        self.assertLess(slos["availability"]["good"], slos["availability"]["total"])
        # Requests queued behind the outage wait over 20 ms (corrected latency).
        self.assertFalse(slos["fast"]["passed"])
        self.assertTrue(slos["fast"]["windows"][0]["fired"])
        self.assertEqual(self.children(), [])

    def test_unhealthy_process_fails_the_run_and_stops_the_others(self):
        extra = ("  - name: broken\n"
                 "    command: [sh, -c, 'echo starting; sleep 30']\n"
                 f"    env: {{KEEL_LAB_MARKER: \"{self.marker}\"}}\n"
                 "    health: {tcp: \"127.0.0.1:{{port:nothing}}\", timeout: 1s}\n")
        p = self.lab(scenario("unhealthy", self.marker, extra_process=extra))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("process broken not healthy after 1s", p.stdout)
        run = self.read("run.json")
        self.assertFalse(run["completed"])
        self.assertIn("broken", run["failure"])
        self.assertIn("starting", self.read("logs/broken.log"))
        self.assertEqual(self.children(), [])

    def test_ctrl_c_stops_everything_and_exits_1(self):
        proc = subprocess.Popen([KEEL_BIN, "lab", self.write(scenario("interrupt", self.marker, stages="60s@100")),
                                 "--out", self.out()], env=clean_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not os.path.exists(os.path.join(self.out(), "load", "main.hlog")):
                time.sleep(0.1)
            self.assertTrue(self.children(), "the hello process should be running")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(proc.returncode, 1, out + err)
        self.assertIn("INTERRUPTED", out)
        self.assertTrue(self.read("run.json")["interrupted"])
        self.assertEqual(self.children(), [])

    def test_data_dirs_exist_before_processes_start_and_commands_run(self):
        extra = ("  - name: writer\n"
                 "    command: [sh, -c, 'echo hi > \"$0\"/marker; exec sleep 30', \"{{dir:writer}}\"]\n"
                 f"    env: {{KEEL_LAB_MARKER: \"{self.marker}\"}}\n")
        faults = "  - {name: touch, at: 1s, command: [touch, \"{{dir:writer}}/touched\"]}\n"
        p = self.lab(scenario("dirs", self.marker, stages="3s@100", faults=faults, extra_process=extra))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        data = os.path.join(self.out(), "data", "writer")
        with open(os.path.join(data, "marker")) as f:
            self.assertEqual(f.read(), "hi\n")
        self.assertTrue(os.path.exists(os.path.join(data, "touched")))
        faults = self.read("faults.json")
        self.assertEqual(faults[0]["kind"], "command")
        self.assertIsNone(faults[0]["end_s"])
        self.assertEqual(self.children(), [])

    def test_ratelimit_scenario_reloads_mid_run(self):
        # What `make demo` runs: lab/ratelimit.yaml, end to end.
        scenario_path = os.path.join(os.path.dirname(__file__), "..", "..", "lab", "ratelimit.yaml")
        p = run_keel(["lab", scenario_path, "--out", self.out()], timeout=120)
        self.assertIn(p.returncode, (0, 1), p.stdout + p.stderr)
        run = self.read("run.json")
        self.assertTrue(run["completed"], p.stdout + p.stderr)
        slos = {s["name"]: s for s in self.read("slos.json")}
        self.assertTrue(slos["availability"]["passed"], slos["availability"])
        faults = self.read("faults.json")
        self.assertEqual(faults[0]["kind"], "command")
        self.assertIn("reloads_total{result=\"ok\"} 1", self.read("metrics/ratelimit.prom"))
        with open(os.path.join(self.out(), "load", "rls.csv")) as f:
            rows = list(csv.DictReader(f))
        offset = run["loads"][0]["offset_s"]
        over = {round(float(r["t"]) + offset): int(r["over_limit"]) for r in rows}
        before = sum(over[t] for t in range(9, 14))
        after = sum(over[t] for t in range(20, 25))
        # 50/s -> 20/s per user: more users over their limit after the reload.
        self.assertGreater(after, before * 1.3, over)
        self.assertTrue(os.path.exists(os.path.join(self.out(), "report.html")))

    def test_bad_scenarios_exit_2_with_one_line(self):
        cases = {
            "name: x\nloads: [{name: l, target: t, duration: soon}]\n": "loads[0].duration: invalid duration 'soon'",
            "name: x\nlods: []\n": "scenario.lods: unknown key",
        }
        for text, want in cases.items():
            p = self.lab(text)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(want, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = run_keel(["lab", "/nonexistent.yaml"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read scenario '/nonexistent.yaml'", p.stderr)

    def test_refuses_to_reuse_a_foreign_directory(self):
        os.makedirs(self.out())
        with open(os.path.join(self.out(), "precious.txt"), "w") as f:
            f.write("keep me")
        p = self.lab(scenario("foreign", self.marker))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("holds no previous lab run", p.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.out(), "precious.txt")))


if __name__ == "__main__":
    unittest.main()
