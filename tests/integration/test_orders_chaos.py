"""The orders saga's chaos scenario, end to end: `keel lab
lab/orders-chaos.yaml` (three services on PostgreSQL and JetStream, each
service, PostgreSQL and NATS SIGKILLed in turn, the payment provider slowed
and reset through keel chaos) must end with `keel orders check` finding zero
violations. About 80 s: 60 s of load, start-up and settling.
"""

import json
import os
import tempfile
import unittest

from keel_server import run_keel

SCENARIO = os.path.join(os.path.dirname(__file__), "..", "..", "lab", "orders-chaos.yaml")


class OrdersChaosScenario(unittest.TestCase):
    def test_every_invariant_holds_after_the_faults(self):
        with tempfile.TemporaryDirectory(prefix="keel-orders-chaos-") as tmp:
            os.chmod(tmp, 0o755)  # PostgreSQL runs as the user postgres under it
            out = os.path.join(tmp, "run")
            p = run_keel(["lab", SCENARIO, "--out", out, "--no-report"], timeout=280)
            with open(os.path.join(out, "run.json")) as f:
                run = json.load(f)
            self.assertTrue(run["completed"], p.stdout + p.stderr)
            with open(os.path.join(out, "logs", "check-invariants.log")) as f:
                check = f.read()
            checks = {c["name"]: c for c in run["checks"]}
            self.assertTrue(checks["invariants"]["passed"], check)
            self.assertIn("every invariant holds", check)
            # Every fault ran, and each killed process came back.
            with open(os.path.join(out, "faults.json")) as f:
                faults = {x["name"]: x for x in json.load(f)}
            for name in ("orders killed", "inventory killed", "payments killed", "postgres killed", "nats killed",
                         "orders killed between commit and publish", "orders killed again"):
                self.assertEqual(faults[name]["kind"], "restart", name)
                self.assertIsNotNone(faults[name]["end_s"], f"{name}: never healthy again")
            self.assertEqual(faults["provider 30% resets"]["detail"]["toxicity"], 0.3)
            # Orders of every kind went through: confirmed, declined, sold out.
            self.assertRegex(check, r"\d+ CONFIRMED")
            self.assertIn("payment_declined", check)
            self.assertIn("out_of_stock", check)


if __name__ == "__main__":
    unittest.main()
