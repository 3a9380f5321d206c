"""Black-box tests of `keel serve payment-sim` over HTTP: an authorize and
capture round trip, the Idempotent-Replayed header on a replay, Stripe-shaped
errors, and paymentsim.latency delaying every answer without holding a worker
thread. The API's rules are unit-tested in services/paymentsim/test.
"""

import json
import threading
import time
import unittest

from keel_server import KeelServer

LATENCY = 0.2  # seconds, as --set paymentsim.latency=200ms
VISA = json.dumps({"amount": 1000, "currency": "usd", "payment_method": "tok_visa"})


class PaymentSimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KeelServer(service="payment-sim",
                                args=["--set", "paymentsim.latency=200ms"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def tearDown(self):
        self.assertTrue(self.server.alive(), "keel exited during the test")

    def call(self, method, path, body=None, key=None):
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        status, hdrs, raw = self.server.request(method, path, headers=headers, body=body)
        self.assertEqual(hdrs.get("content-type"), "application/json", raw)
        return status, hdrs, json.loads(raw)

    def test_authorize_capture_round_trip(self):
        status, _, intent = self.call("POST", "/v1/payment_intents", VISA, key="round-trip")
        self.assertEqual(status, 200, intent)
        self.assertEqual(intent["object"], "payment_intent")
        self.assertEqual(intent["status"], "requires_capture")
        self.assertEqual((intent["amount"], intent["currency"]), (1000, "usd"))
        self.assertTrue(intent["id"].startswith("pi_"))

        status, _, captured = self.call("POST", "/v1/payment_intents/%s/capture" % intent["id"])
        self.assertEqual(status, 200, captured)
        self.assertEqual(captured["status"], "succeeded")
        status, _, got = self.call("GET", "/v1/payment_intents/" + intent["id"])
        self.assertEqual((status, got), (200, captured))

    def test_replay_has_idempotent_replayed_header(self):
        status, hdrs, first = self.call("POST", "/v1/payment_intents", VISA, key="replay")
        self.assertEqual(status, 200, first)
        self.assertNotIn("idempotent-replayed", hdrs)
        status, hdrs, again = self.call("POST", "/v1/payment_intents", VISA, key="replay")
        self.assertEqual(status, 200, again)
        self.assertEqual(hdrs.get("idempotent-replayed"), "true")
        self.assertEqual(again, first)

        other = json.dumps({"amount": 1, "currency": "usd", "payment_method": "tok_visa"})
        status, _, doc = self.call("POST", "/v1/payment_intents", other, key="replay")
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["type"], "idempotency_error")

    def test_errors_are_stripe_shaped(self):
        cases = [
            ("POST", "/v1/payment_intents", VISA, None, 400, "parameter_missing"),
            ("POST", "/v1/payment_intents", "{not json", "bad-json", 400, "invalid_json"),
            ("POST", "/v1/payment_intents", json.dumps({"amount": -1, "currency": "usd",
                                                        "payment_method": "tok_visa"}),
             "negative", 400, "parameter_invalid_integer"),
            ("POST", "/v1/payment_intents", json.dumps({"amount": 1, "currency": "usd",
                                                        "payment_method": "tok_chargeDeclined"}),
             "declined", 402, "card_declined"),
            ("GET", "/v1/payment_intents/pi_999999", None, None, 404, "resource_missing"),
        ]
        for method, path, body, key, want_status, want_code in cases:
            with self.subTest(code=want_code):
                status, _, doc = self.call(method, path, body, key=key)
                self.assertEqual(status, want_status, doc)
                self.assertEqual(doc["error"]["code"], want_code, doc)
                self.assertIsInstance(doc["error"]["message"], str)

    def test_latency_delays_every_answer(self):
        for method, path, body, key in [("GET", "/v1/stats", None, None),
                                        ("POST", "/v1/payment_intents", VISA, "slow"),
                                        ("GET", "/v1/payment_intents/pi_999999", None, None)]:
            with self.subTest(path=path):
                start = time.monotonic()
                self.call(method, path, body, key=key)
                self.assertGreaterEqual(time.monotonic() - start, LATENCY)

    def test_latency_does_not_hold_worker_threads(self):
        # Ten delayed answers on two worker threads: sleeping workers would
        # need at least 5 x 200 ms; timers answer them all in about 200 ms.
        n = 10
        statuses = []
        lock = threading.Lock()

        def one():
            status, _, _ = self.server.request("GET", "/v1/stats")
            with lock:
                statuses.append(status)

        threads = [threading.Thread(target=one) for _ in range(n)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        elapsed = time.monotonic() - start
        self.assertEqual(statuses, [200] * n)
        self.assertGreaterEqual(elapsed, LATENCY)
        self.assertLess(elapsed, n / 2 * LATENCY * 0.9, "answers were delayed one after another")

    def test_stats_shape(self):
        status, _, stats = self.call("GET", "/v1/stats")
        self.assertEqual(status, 200)
        for field in ("authorized", "declined", "captured", "canceled", "refunded", "errors",
                      "requests"):
            self.assertIsInstance(stats[field], int, field)


if __name__ == "__main__":
    unittest.main()
