"""The orders saga against real servers: PostgreSQL 15, nats-server with
JetStream, `keel serve payment-sim`, and `keel serve shop` (or orders,
inventory and payments as three processes).

One PostgreSQL for the module; each class has its own database, NATS server
and payment simulator, since its services share one set of streams.
"""

import json
import os
import signal
import threading
import time
import unittest
import uuid

from keel_server import KeelServer, run_keel
from saga_fixture import NatsServer, PostgresServer

PG = None


def setUpModule():
    global PG
    PG = PostgresServer().start()


def tearDownModule():
    PG.stop()
    import shutil
    shutil.rmtree(PG.dir, ignore_errors=True)


def unique(prefix):
    return prefix + uuid.uuid4().hex[:10]


class SagaCase(unittest.TestCase):
    SIM_ARGS = []
    SERVICE_ARGS = []
    SEPARATE = False  # orders, inventory, payments as three processes
    # `keel orders check` judges the class's database once its tests ran:
    # whatever they did, every invariant must hold once the sagas settle.
    CHECK_AT_END = True
    STEP_TIMEOUT = "30s"

    @classmethod
    def setUpClass(cls):
        cls.db = unique("shop")
        cls.db_url = PG.create_database(cls.db)
        cls.nats = NatsServer().start()
        cls.sim = KeelServer(service="payment-sim", args=cls.SIM_ARGS).start()
        cls.procs = {}
        try:
            if cls.SEPARATE:
                for name in ("orders", "inventory", "payments"):
                    cls.start_service(name)
            else:
                cls.start_service("shop")
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.CHECK_AT_END and cls.procs:
                r = cls.check("--settle", "60s")
                if r.returncode != 0:
                    raise AssertionError(f"keel orders check after {cls.__name__}: exit {r.returncode}\n"
                                         f"{r.stdout}{r.stderr}")
        finally:
            for p in cls.procs.values():
                p.kill()
            cls.sim.kill()
            cls.nats.stop()

    @classmethod
    def check(cls, *args, url=None):
        return run_keel(["orders", "check", "--postgres", url or cls.db_url, "--step-timeout", cls.STEP_TIMEOUT,
                         *args], timeout=120)

    @classmethod
    def service_args(cls):
        return ["--set", f"postgres.url={cls.db_url}", "--set", f"nats.url={cls.nats.url}",
                "--set", f"payments.provider_url=http://127.0.0.1:{cls.sim.port}"] + cls.SERVICE_ARGS

    @classmethod
    def start_service(cls, name):
        cls.procs[name] = KeelServer(service=name, args=_only_keys(cls.service_args(), name)).start()
        return cls.procs[name]

    # HTTP ------------------------------------------------------------------

    @property
    def front(self):
        return self.procs.get("shop") or self.procs["orders"]

    @property
    def stock_service(self):
        return self.procs.get("shop") or self.procs["inventory"]

    def call(self, server, method, path, body=None, headers=None):
        data = json.dumps(body) if isinstance(body, (dict, list)) else body
        status, hdrs, raw = server.request(method, path, headers=headers or {}, body=data)
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return status, hdrs, parsed

    def put_stock(self, sku, n):
        status, _, body = self.call(self.stock_service, "PUT", f"/v1/inventory/{sku}", {"on_hand": n})
        self.assertEqual(status, 200, body)
        return body

    def stock(self, sku):
        status, _, body = self.call(self.stock_service, "GET", f"/v1/inventory/{sku}")
        self.assertEqual(status, 200, body)
        return body

    def order_body(self, **over):
        body = {"customer_id": unique("c"), "items": [{"sku": "A", "qty": 2}], "payment_token": "tok_visa",
                "amount_cents": 1000, "currency": "USD"}
        body.update(over)
        return body

    def place(self, body, key=None, expect=201):
        status, hdrs, got = self.call(self.front, "POST", "/v1/orders", body,
                                      {"Idempotency-Key": key or unique("k")})
        self.assertEqual(status, expect, got)
        return got

    def get(self, order_id):
        status, _, body = self.call(self.front, "GET", f"/v1/orders/{order_id}")
        self.assertEqual(status, 200, body)
        return body

    def wait_order(self, order_id, statuses, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(order_id)
            if body["status"] in statuses:
                return body
            if time.monotonic() > deadline:
                self.fail(f"order {order_id} still {body['status']} after {timeout}s, wanted {statuses}: {body}")
            time.sleep(0.02)

    def eventually(self, fn, what, timeout=20):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(0.05)
        self.fail(f"{what}: not within {timeout}s (last: {last!r})")

    def sql(self, query):
        return PG.sql(self.db, query)

    def payment(self, order_id):
        server = self.procs.get("shop") or self.procs["payments"]
        status, _, body = self.call(server, "GET", f"/v1/payments/{order_id}")
        return body if status == 200 else None

    def sim_stats(self):
        return self.call(self.sim, "GET", "/v1/stats")[2]

    def settled_stock(self, sku, on_hand):
        """Waits until sku shows on_hand and nothing reserved."""
        return self.eventually(lambda: (lambda s: s if s["on_hand"] == on_hand and s["reserved"] == 0 else None)(
            self.stock(sku)), f"stock of {sku} back to on_hand={on_hand}, reserved=0")


def _only_keys(args, service):
    """--set pairs a service declares: orders does not take payments.* keys."""
    out = []
    i = 0
    while i < len(args):
        if args[i] == "--set" and i + 1 < len(args):
            key = args[i + 1].split("=", 1)[0]
            owner = key.split(".", 1)[0]
            if owner in ("orders", "inventory", "payments") and service not in (owner, "shop"):
                i += 2
                continue
            out += args[i:i + 2]
            i += 2
        else:
            out.append(args[i])
            i += 1
    return out


class ShopSaga(SagaCase):
    """The saga in one `keel serve shop`, against a fast provider."""

    def test_happy_path_confirms_and_consumes_stock(self):
        sku = unique("S")
        self.put_stock(sku, 10)
        order = self.place(self.order_body(items=[{"sku": sku, "qty": 3}]))
        self.assertEqual(order["status"], "PENDING")
        self.assertTrue(order["id"].startswith("ord_"))
        done = self.wait_order(order["id"], ["CONFIRMED", "CANCELLED"])
        self.assertEqual(done["status"], "CONFIRMED", done)
        self.assertEqual([h["status"] for h in done["history"]],
                         ["PENDING", "RESERVED", "RESERVED", "PAID", "CONFIRMED"])
        self.assertTrue(done["payment_id"].startswith("pi_"))
        self.assertEqual(self.stock(sku), {"sku": sku, "on_hand": 7, "reserved": 0, "available": 7})
        self.assertEqual(self.payment(order["id"])["status"], "CAPTURED")
        # Every outbox row of the three services was published and marked.
        self.eventually(lambda: all(self.sql(f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL")[0][0] == "0"
                                    for s in ("orders", "inventory", "payments")), "outboxes drained")

    def test_out_of_stock_cancels_without_touching_stock(self):
        sku = unique("S")
        self.put_stock(sku, 1)
        order = self.place(self.order_body(items=[{"sku": sku, "qty": 2}]))
        done = self.wait_order(order["id"], ["CONFIRMED", "CANCELLED"])
        self.assertEqual((done["status"], done["reason"]), ("CANCELLED", "out_of_stock"))
        self.assertEqual(self.stock(sku)["on_hand"], 1)
        self.assertEqual(self.stock(sku)["reserved"], 0)
        self.assertIsNone(self.payment(order["id"]))  # never charged

    def test_unknown_sku_is_out_of_stock(self):
        order = self.place(self.order_body(items=[{"sku": unique("NOPE"), "qty": 1}]))
        done = self.wait_order(order["id"], ["CONFIRMED", "CANCELLED"])
        self.assertEqual(done["reason"], "out_of_stock")

    def test_declined_card_cancels_and_releases_the_reservation(self):
        sku = unique("S")
        self.put_stock(sku, 5)
        order = self.place(self.order_body(items=[{"sku": sku, "qty": 2}], payment_token="tok_chargeDeclined"))
        done = self.wait_order(order["id"], ["CONFIRMED", "CANCELLED"])
        self.assertEqual((done["status"], done["reason"]), ("CANCELLED", "payment_declined"))
        self.settled_stock(sku, 5)
        self.assertEqual(self.payment(order["id"])["status"], "DECLINED")

    def test_replay_returns_the_stored_response(self):
        body = self.order_body()
        key = unique("k")
        first = self.place(body, key)
        status, hdrs, again = self.call(self.front, "POST", "/v1/orders", body, {"Idempotency-Key": key})
        self.assertEqual(status, 201)
        self.assertEqual(hdrs.get("idempotent-replayed"), "true")
        self.assertEqual(again, first)  # the stored response, not the order's state now
        # Key order and case in the body do not change the fingerprint.
        reordered = dict(reversed(list(body.items())))
        reordered["currency"] = "usd"
        self.assertEqual(self.place(reordered, key)["id"], first["id"])
        count = self.sql(f"SELECT count(*) FROM orders.orders WHERE customer_id = '{body['customer_id']}'")
        self.assertEqual(count, [["1"]])

    def test_same_key_other_parameters_is_422(self):
        body = self.order_body()
        key = unique("k")
        self.place(body, key)
        status, _, err = self.call(self.front, "POST", "/v1/orders", dict(body, amount_cents=999),
                                   {"Idempotency-Key": key})
        self.assertEqual(status, 422, err)
        self.assertIn("other parameters", err["error"])

    def test_concurrent_requests_with_one_key_make_one_order(self):
        sku = unique("S")
        self.put_stock(sku, 100)
        body = self.order_body(items=[{"sku": sku, "qty": 1}])
        key = unique("k")
        results = []
        lock = threading.Lock()

        def post():
            r = self.call(self.front, "POST", "/v1/orders", body, {"Idempotency-Key": key})
            with lock:
                results.append(r)

        threads = [threading.Thread(target=post) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = sorted({r[0] for r in results})
        self.assertEqual(len(results), 16)
        self.assertTrue(set(statuses) <= {201, 409}, statuses)
        ids = {r[2]["id"] for r in results if r[0] == 201}
        self.assertEqual(len(ids), 1, results)
        for r in results:
            if r[0] == 409:
                self.assertIn("in progress", r[2]["error"])
        count = self.sql(f"SELECT count(*) FROM orders.orders WHERE customer_id = '{body['customer_id']}'")
        self.assertEqual(count, [["1"]])
        self.wait_order(ids.pop(), ["CONFIRMED"])
        self.settled_stock(sku, 99)

    def test_cancel_after_confirm_is_409_and_cancel_is_idempotent(self):
        sku = unique("S")
        self.put_stock(sku, 5)
        confirmed = self.place(self.order_body(items=[{"sku": sku, "qty": 1}]))
        self.wait_order(confirmed["id"], ["CONFIRMED"])
        status, _, err = self.call(self.front, "POST", f"/v1/orders/{confirmed['id']}/cancel")
        self.assertEqual(status, 409, err)
        self.assertIn("confirmed", err["error"])
        declined = self.place(self.order_body(items=[{"sku": sku, "qty": 1}], payment_token="tok_chargeDeclined"))
        self.wait_order(declined["id"], ["CANCELLED"])
        status, _, body = self.call(self.front, "POST", f"/v1/orders/{declined['id']}/cancel")
        self.assertEqual(status, 200, body)
        self.assertEqual((body["status"], body["reason"]), ("CANCELLED", "payment_declined"))

    def test_bad_input_gets_json_errors(self):
        good = self.order_body()
        cases = [
            ({}, good, 400, "Idempotency-Key"),
            ({"Idempotency-Key": "x" * 300}, good, 400, "255"),
            ({"Idempotency-Key": "k"}, "{not json", 400, "JSON"),
            ({"Idempotency-Key": "k"}, [1, 2], 400, "JSON object"),
            ({"Idempotency-Key": "k"}, dict(good, items=[]), 400, "items"),
            ({"Idempotency-Key": "k"}, dict(good, items=[{"sku": "A", "qty": 0}]), 400, "qty"),
            ({"Idempotency-Key": "k"}, dict(good, items=[{"sku": "a b", "qty": 1}]), 400, "sku"),
            ({"Idempotency-Key": "k"}, dict(good, amount_cents=-5), 400, "amount_cents"),
            ({"Idempotency-Key": "k"}, dict(good, amount_cents="10"), 400, "amount_cents"),
            ({"Idempotency-Key": "k"}, dict(good, currency="dollars"), 400, "currency"),
            ({"Idempotency-Key": "k"}, {k: v for k, v in good.items() if k != "customer_id"}, 400, "customer_id"),
            ({"Idempotency-Key": "k"}, dict(good, payment_token=7), 400, "payment_token"),
        ]
        for headers, body, want, text in cases:
            status, hdrs, err = self.call(self.front, "POST", "/v1/orders", body, headers)
            self.assertEqual(status, want, (headers, body, err))
            self.assertEqual(hdrs["content-type"], "application/json")
            self.assertIn(text, err["error"], (body, err))
        self.assertEqual(self.call(self.front, "GET", "/v1/orders/ord_missing")[0], 404)
        self.assertEqual(self.call(self.front, "POST", "/v1/orders/ord_missing/cancel")[0], 404)
        for body, text in [({"on_hand": -1}, "on_hand"), ({"on_hand": "3"}, "on_hand"), ("[", "JSON"), ({}, "on_hand")]:
            status, _, err = self.call(self.stock_service, "PUT", "/v1/inventory/A", body)
            self.assertEqual(status, 400, err)
            self.assertIn(text, err["error"])
        self.assertEqual(self.call(self.stock_service, "PUT", "/v1/inventory/bad%20sku", {"on_hand": 1})[0], 400)
        self.assertEqual(self.call(self.stock_service, "GET", f"/v1/inventory/{unique('NONE')}")[0], 404)
        # Nothing of the above created a key or an order.
        self.assertEqual(self.sql("SELECT count(*) FROM orders.idempotency_keys WHERE key = 'k'"), [["0"]])

    def test_the_completer_finishes_a_request_that_crashed_after_claiming_its_key(self):
        sku = unique("S")
        self.put_stock(sku, 4)
        body = self.order_body(items=[{"sku": sku, "qty": 1}])
        norm = json.dumps(dict(body, currency="USD"), sort_keys=True, separators=(",", ":"))
        key = unique("k")
        # What a request leaves when its process dies between the two phases:
        # the key claimed (phase 1), no order (phase 2 never committed).
        self.sql(f"INSERT INTO orders.idempotency_keys (user_id, key, fingerprint, request, locked_at) "
                 f"VALUES ('{body['customer_id']}', '{key}', md5('{norm}'), '{norm}'::jsonb, "
                 f"clock_timestamp() - interval '1 hour')")
        row = self.eventually(lambda: self.sql(f"SELECT order_id, response_code FROM orders.idempotency_keys "
                                               f"WHERE key = '{key}' AND recovery_point = 'finished'"),
                              "the completer finished the request")
        order_id, code = row[0]
        self.assertEqual(code, "201")
        self.wait_order(order_id, ["CONFIRMED"])
        # The client's retry gets the stored response.
        status, hdrs, got = self.call(self.front, "POST", "/v1/orders", body, {"Idempotency-Key": key})
        self.assertEqual((status, got["id"], hdrs.get("idempotent-replayed")), (201, order_id, "true"))
        self.settled_stock(sku, 3)

    def test_a_fresh_lock_is_409_until_it_goes_stale(self):
        body = self.order_body()
        norm = json.dumps(dict(body, currency="USD"), sort_keys=True, separators=(",", ":"))
        key = unique("k")
        self.sql(f"INSERT INTO orders.idempotency_keys (user_id, key, fingerprint, request, locked_at) "
                 f"VALUES ('{body['customer_id']}', '{key}', md5('{norm}'), '{norm}'::jsonb, clock_timestamp())")
        status, _, err = self.call(self.front, "POST", "/v1/orders", body, {"Idempotency-Key": key})
        self.assertEqual(status, 409, err)


class SlowProviderSaga(SagaCase):
    """Authorizations take 400 ms, so an order can be caught in RESERVED."""
    SIM_ARGS = ["--set", "paymentsim.latency=400ms"]

    def test_cancel_while_reserved_voids_the_late_authorization(self):
        sku = unique("S")
        self.put_stock(sku, 5)
        order = self.place(self.order_body(items=[{"sku": sku, "qty": 2}]))
        self.wait_order(order["id"], ["RESERVED"])
        status, _, body = self.call(self.front, "POST", f"/v1/orders/{order['id']}/cancel")
        self.assertEqual(status, 200, body)
        self.assertEqual((body["status"], body["reason"]), ("CANCELLED", "cancelled"))
        self.settled_stock(sku, 5)
        pay = self.eventually(lambda: (lambda p: p if p and p["status"] == "VOIDED" else None)(self.payment(order["id"])),
                              "payment voided")
        self.assertTrue(pay["provider_id"].startswith("pi_"), pay)  # the authorization existed, and was voided
        self.assertGreaterEqual(self.sim_stats()["canceled"], 1)
        time.sleep(1)  # the saga stays cancelled: nothing captures it later
        self.assertEqual(self.get(order["id"])["status"], "CANCELLED")
        self.assertEqual(self.payment(order["id"])["status"], "VOIDED")

    def test_on_hand_below_reserved_is_409(self):
        sku = unique("S")
        self.put_stock(sku, 3)
        order = self.place(self.order_body(items=[{"sku": sku, "qty": 3}]))
        self.wait_order(order["id"], ["RESERVED"])
        status, _, err = self.call(self.stock_service, "PUT", f"/v1/inventory/{sku}", {"on_hand": 1})
        self.assertEqual(status, 409, err)
        self.assertIn("reserved", err["error"])
        self.wait_order(order["id"], ["CONFIRMED"])
        self.assertEqual(self.stock(sku), {"sku": sku, "on_hand": 0, "reserved": 0, "available": 0})


class SeparateServicesSaga(SagaCase):
    """orders, inventory and payments as three processes: stopping one holds
    the saga at a state, and a crash is survived by redelivery."""
    SEPARATE = True
    SIM_ARGS = ["--set", "paymentsim.latency=300ms"]
    SERVICE_ARGS = ["--set", "inbox.ack_wait=2s"]

    def test_cancel_while_pending_then_the_late_reservation_is_released(self):
        sku = unique("S")
        self.put_stock(sku, 5)
        self.procs["inventory"].stop()
        try:
            order = self.place(self.order_body(items=[{"sku": sku, "qty": 2}]))
            time.sleep(0.3)
            self.assertEqual(self.get(order["id"])["status"], "PENDING")
            status, _, body = self.call(self.front, "POST", f"/v1/orders/{order['id']}/cancel")
            self.assertEqual((status, body["status"], body["reason"]), (200, "CANCELLED", "cancelled"))
        finally:
            self.start_service("inventory")
        self.eventually(lambda: self.sql(f"SELECT status FROM inventory.reservations WHERE order_id = '{order['id']}'")
                        == [["RELEASED"]], "reservation released")
        self.settled_stock(sku, 5)
        self.assertEqual(self.get(order["id"])["status"], "CANCELLED")

    def test_cancel_while_paid_refunds_and_returns_the_stock(self):
        sku = unique("S")
        self.put_stock(sku, 5)
        order = self.place(self.order_body(items=[{"sku": sku, "qty": 2}]))
        self.wait_order(order["id"], ["RESERVED"])
        self.procs["inventory"].stop()  # the commit will wait for it
        try:
            self.wait_order(order["id"], ["PAID"])
            status, _, body = self.call(self.front, "POST", f"/v1/orders/{order['id']}/cancel")
            self.assertEqual((status, body["status"]), (200, "CANCELLED"))
        finally:
            self.start_service("inventory")
        self.eventually(lambda: (self.payment(order["id"]) or {}).get("status") == "REFUNDED", "payment refunded")
        self.settled_stock(sku, 5)
        self.assertGreaterEqual(self.sim_stats()["refunded"], 1)

    def test_a_killed_orchestrator_finishes_every_saga_after_restart(self):
        sku = unique("S")
        self.put_stock(sku, 50)
        ids = [self.place(self.order_body(items=[{"sku": sku, "qty": 1}]))["id"] for _ in range(8)]
        self.procs["orders"].proc.send_signal(signal.SIGKILL)
        self.procs["orders"].kill()
        time.sleep(0.5)
        self.start_service("orders")
        for order_id in ids:
            self.assertEqual(self.wait_order(order_id, ["CONFIRMED", "CANCELLED"], timeout=40)["status"], "CONFIRMED")
        # Each order consumed its stock once, whatever was redelivered.
        self.settled_stock(sku, 42)
        self.assertEqual(self.sql("SELECT count(*) FROM payments.payments WHERE status = 'CAPTURED' AND order_id IN (%s)"
                                  % ",".join(f"'{i}'" for i in ids)), [["8"]])


class HotSkuSaga(SagaCase):
    """Stock 100 of one SKU, 1,000 orders at once, through three processes:
    exactly 100 confirmed, 900 cancelled out of stock, no negative stock."""
    SEPARATE = True
    CHECK_AT_END = False  # the test checks, then tampers with the data

    def test_hot_sku_sells_exactly_its_stock(self):
        sku = unique("HOT")
        self.put_stock(sku, 100)
        barrier = threading.Barrier(1000)
        answers, errors = [], []

        def order():
            body = self.order_body(items=[{"sku": sku, "qty": 1}])
            try:
                barrier.wait(timeout=60)
                status, _, got = self.call(self.front, "POST", "/v1/orders", body, {"Idempotency-Key": unique("k")})
                answers.append((status, got))
            except Exception as e:  # noqa: BLE001 — reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=order) for _ in range(1000)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertEqual(errors, [])
        self.assertEqual(sorted({status for status, _ in answers}), [201], answers[:3])
        self.assertEqual(len(answers), 1000)
        self.eventually(lambda: self.sql("SELECT count(*) FROM orders.orders WHERE status NOT IN ('CONFIRMED', 'CANCELLED')")
                        == [["0"]], "every order settled", timeout=120)
        by = dict((f"{st}/{reason}", int(n)) for st, reason, n in
                  self.sql("SELECT status, coalesce(reason, ''), count(*) FROM orders.orders GROUP BY 1, 2"))
        self.assertEqual(by, {"CONFIRMED/": 100, "CANCELLED/out_of_stock": 900})
        self.assertEqual(self.stock(sku), {"sku": sku, "on_hand": 0, "reserved": 0, "available": 0})
        self.assertEqual(self.sql("SELECT count(*), sum(amount_cents) FROM payments.payments WHERE status = 'CAPTURED'"),
                         [["100", "100000"]])

        r = self.check("--settle", "30s", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        report = json.loads(r.stdout)
        self.assertTrue(report["ok"])
        self.assertEqual(report["orders_by_status"], {"CANCELLED": 900, "CONFIRMED": 100})
        self.assertEqual(report["captured_cents"], 100000)

        # The checker catches what a broken saga would leave: a confirmed
        # order whose payment was never captured, and a stock counter that
        # drifted from its reservations.
        victim = self.sql("SELECT id FROM orders.orders WHERE status = 'CONFIRMED' LIMIT 1")[0][0]
        self.sql(f"UPDATE payments.payments SET status = 'AUTHORIZED' WHERE order_id = '{victim}'")
        self.sql(f"UPDATE inventory.stock SET on_hand = 5, reserved = 2 WHERE sku = '{sku}'")
        try:
            r = self.check()
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(f"{victim}: CONFIRMED, payment AUTHORIZED", r.stdout)
            self.assertIn("sum captured 99000 != sum confirmed 100000", r.stdout)
            self.assertIn(f"sku {sku}: reserved 2 but HELD reservations hold 0", r.stdout)
            self.assertRegex(r.stdout, r"FAIL  revenue")
            self.assertRegex(r.stdout, r"OK    settled")
        finally:
            self.sql(f"UPDATE payments.payments SET status = 'CAPTURED' WHERE order_id = '{victim}'")
            self.sql(f"UPDATE inventory.stock SET on_hand = 0, reserved = 0 WHERE sku = '{sku}'")
        self.assertEqual(self.check().returncode, 0)

    def test_check_cli_errors(self):
        r = self.check("--settle", "soon")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--settle: invalid duration 'soon'", r.stderr)
        r = self.check(url="postgresql://keel@127.0.0.1:1/none?connect_timeout=1")
        self.assertEqual(r.returncode, 3)
        self.assertIn("postgres", r.stderr)
        empty = unique("empty")
        r = self.check(url=PG.create_database(empty))
        self.assertEqual(r.returncode, 3)
        self.assertIn("has the service run against this database?", r.stderr)


class PaymentTimeoutSaga(SagaCase):
    """The provider answers after 3 s, the client gives up after 200 ms a try:
    the payment step times out, the saga compensates, the commands land in
    the DLQ, and a replay once the provider is healthy settles them."""
    SIM_ARGS = ["--set", "paymentsim.latency=3s"]
    SERVICE_ARGS = ["--set", "payments.provider.timeout.per_try=200ms", "--set", "payments.provider.timeout.total=500ms",
                    "--set", "orders.step_timeout=1500ms", "--set", "orders.sweep_interval=100ms",
                    "--set", "inbox.max_deliver=2", "--set", "inbox.retry_base=50ms", "--set", "inbox.retry_cap=200ms"]

    def dlq(self):
        r = run_keel(["orders", "dlq", "--nats", self.nats.url, "list", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def test_payment_timeout_compensates_dead_letters_and_replays(self):
        sku = unique("S")
        self.put_stock(sku, 5)
        order = self.place(self.order_body(items=[{"sku": sku, "qty": 2}]))
        done = self.wait_order(order["id"], ["CANCELLED", "CONFIRMED"])
        self.assertEqual((done["status"], done["reason"]), ("CANCELLED", "payment_timeout"))
        self.settled_stock(sku, 5)
        dead = self.eventually(lambda: [d for d in self.dlq() if d["subject"] == "saga.payments.authorize"],
                               "the authorization dead-lettered")
        self.assertEqual(dead[0]["consumer"], "payments")
        self.assertEqual(dead[0]["delivered"], "2")
        self.assertIn("payment provider", dead[0]["error"])
        # The void the compensation sent fails the same way (the provider is
        # still slow) and is dead-lettered too.
        self.eventually(lambda: [d for d in self.dlq() if d["subject"] == "saga.payments.void"], "the void dead-lettered")

        # The provider recovers (restarted on its port, fast); replay all.
        port = self.sim.port
        self.sim.stop()
        type(self).sim = KeelServer(service="payment-sim", http=f"127.0.0.1:{port}").start()
        r = run_keel(["orders", "dlq", "--nats", self.nats.url, "replay", "all"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("replayed", r.stdout)
        self.assertEqual(self.dlq(), [])
        pay = self.eventually(lambda: (lambda p: p if p and p["status"] == "VOIDED" else None)(self.payment(order["id"])),
                              "the replayed authorization voided")
        self.assertTrue(pay["provider_id"].startswith("pi_"))
        stats = self.eventually(lambda: (lambda s: s if s["canceled"] >= 1 else None)(self.sim_stats()), "sim canceled")
        self.assertEqual(stats["captured"], 0)
        self.assertEqual(self.get(order["id"])["status"], "CANCELLED")

    def test_dlq_cli_errors(self):
        r = run_keel(["orders", "dlq", "--nats", self.nats.url, "replay", "12x"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a sequence number", r.stderr)
        r = run_keel(["orders", "dlq", "--nats", self.nats.url, "replay", "999999"])
        self.assertEqual(r.returncode, 2, r.stderr)
        r = run_keel(["orders", "dlq", "--nats", "nats://127.0.0.1:1", "list"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("nats.url", r.stderr)


class ReservationExpirySaga(SagaCase):
    """Reservations live 1 s and payments take 2.5 s: the reservation expires
    mid-payment. Idempotency keys live 1 s."""
    SIM_ARGS = ["--set", "paymentsim.latency=2500ms"]
    SERVICE_ARGS = ["--set", "orders.reservation_ttl=1s", "--set", "inventory.sweep_interval=100ms",
                    "--set", "payments.provider.timeout.per_try=6s", "--set", "payments.provider.timeout.total=8s",
                    "--set", "orders.idempotency_ttl=1s", "--set", "orders.sweep_interval=200ms"]

    def test_an_expired_reservation_cancels_the_order_and_voids_the_payment(self):
        sku = unique("S")
        self.put_stock(sku, 5)
        order = self.place(self.order_body(items=[{"sku": sku, "qty": 2}]))
        done = self.wait_order(order["id"], ["CANCELLED", "CONFIRMED"])
        self.assertEqual((done["status"], done["reason"]), ("CANCELLED", "reservation_expired"))
        self.assertEqual(self.sql(f"SELECT status FROM inventory.reservations WHERE order_id = '{order['id']}'"),
                         [["EXPIRED"]])
        self.settled_stock(sku, 5)
        self.eventually(lambda: (self.payment(order["id"]) or {}).get("status") == "VOIDED", "late payment voided")

    def test_keys_are_reaped_after_their_ttl(self):
        body = self.order_body(items=[{"sku": unique("NONE"), "qty": 1}])
        key = unique("k")
        first = self.place(body, key)
        self.eventually(lambda: self.sql(f"SELECT count(*) FROM orders.idempotency_keys WHERE key = '{key}'") == [["0"]],
                        "key reaped")
        second = self.place(body, key)  # a new request now, not a replay
        self.assertNotEqual(first["id"], second["id"])


if __name__ == "__main__":
    unittest.main()
