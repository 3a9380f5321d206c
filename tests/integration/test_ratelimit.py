"""Black-box tests of `keel serve ratelimit` over HTTP: POST /json with the
RateLimit-* and Retry-After headers, the admin API behind a bearer token,
hot reload of the rules file (an invalid file keeps the old rules) and
`keel ratelimit validate`. The gRPC front end is driven by grpc-js in
tests/js/ratelimit_grpc_test.mjs.
"""

import json
import os
import time
import unittest

from keel_server import KeelServer, run_keel, write_temp

RULES = """
domain: api
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 3}
  - key: login
    rate_limits:
      - {unit: second, requests_per_unit: 100, algorithm: token_bucket}
      - {unit: hour, requests_per_unit: 2, name: hourly}
"""

TOKEN = "s3cret-token-0123456789"


def body(domain="api", entries=(("user", "ann"),), **extra):
    doc = {"domain": domain, "descriptors": [{"entries": [{"key": k, "value": v} for k, v in entries]}]}
    doc.update(extra)
    return json.dumps(doc)


class RateLimitHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.token_file = write_temp(TOKEN + "\n", suffix=".token")
        cls.server = KeelServer(service="ratelimit", config=RULES,
                                args=["--grpc", "127.0.0.1:0", "--admin-token-file", cls.token_file]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        os.unlink(cls.token_file)

    def post(self, data, headers=None):
        status, hdrs, raw = self.server.request("POST", "/json", body=data,
                                                headers=headers or {"Content-Type": "application/json"})
        return status, hdrs, json.loads(raw)

    def admin(self, method, path, token=TOKEN, data=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        return self.server.request(method, path, headers=headers, body=data)

    def test_ok_then_429_with_ratelimit_headers(self):
        for remaining in (2, 1, 0):
            status, hdrs, doc = self.post(body(entries=(("user", "h1"),)))
            self.assertEqual(status, 200, doc)
            self.assertEqual(doc["overallCode"], "OK")
            self.assertEqual(hdrs["ratelimit-limit"], "3")
            self.assertEqual(hdrs["ratelimit-remaining"], str(remaining))
            self.assertTrue(1 <= int(hdrs["ratelimit-reset"]) <= 60, hdrs)
            self.assertNotIn("retry-after", hdrs)
        status, hdrs, doc = self.post(body(entries=(("user", "h1"),)))
        self.assertEqual(status, 429)
        self.assertEqual(doc["overallCode"], "OVER_LIMIT")
        self.assertEqual(doc["statuses"][0]["code"], "OVER_LIMIT")
        self.assertEqual(doc["statuses"][0]["currentLimit"], {"requestsPerUnit": 3, "unit": "MINUTE"})
        self.assertTrue(doc["statuses"][0]["durationUntilReset"].endswith("s"))
        self.assertEqual(hdrs["ratelimit-remaining"], "0")
        self.assertTrue(1 <= int(hdrs["retry-after"]) <= 60, hdrs)

    def test_negative_hits_refund_and_zero_queries(self):
        self.post(body(entries=(("user", "r1"),), hits_addend=3))
        _, _, doc = self.post(body(entries=(("user", "r1"),), hitsAddend=0))  # camelCase too
        self.assertNotIn("limitRemaining", doc["statuses"][0])  # 0 is omitted, as proto3 JSON does
        status, hdrs, _ = self.post(body(entries=(("user", "r1"),), hits_addend=-2))
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["ratelimit-remaining"], "2")

    def test_several_limits_on_one_descriptor(self):
        codes = [self.post(body(entries=(("login", "l1"),)))[0] for _ in range(3)]
        self.assertEqual(codes, [200, 200, 429])
        _, hdrs, doc = self.post(body(entries=(("login", "l1"),)))
        self.assertEqual(doc["statuses"][0]["currentLimit"]["name"], "hourly")
        self.assertEqual(hdrs["ratelimit-limit"], "2")

    def test_bad_requests_get_400_with_a_json_error(self):
        for data, want in [("{not json", "not valid JSON"),
                           (json.dumps({"descriptors": []}), "domain"),
                           (body(domain=""), "domain must not be empty"),
                           (json.dumps({"domain": "api", "descriptors": [{"entries": []}]}), "entries"),
                           (json.dumps({"domain": "api", "descriptors": [{"entries": [{"key": 1}]}]}), "key")]:
            status, _, raw = self.server.request("POST", "/json", body=data)
            self.assertEqual(status, 400, data)
            self.assertIn(want, json.loads(raw)["error"], data)

    def test_admin_api_needs_the_token(self):
        self.assertEqual(self.admin("GET", "/v1/config", token=None)[0], 401)
        self.assertEqual(self.admin("GET", "/v1/config", token="wrong-token-0000000")[0], 401)
        status, _, raw = self.admin("GET", "/v1/config")
        self.assertEqual(status, 200)
        self.assertIn("requests_per_unit: 3", raw.decode())

    def test_admin_inspects_and_resets_a_bucket(self):
        self.post(body(entries=(("user", "k1"),), hits_addend=3))
        status, _, raw = self.admin("GET", "/v1/keys?domain=api&descriptor=user=k1")
        self.assertEqual(status, 200)
        self.assertNotIn("limitRemaining", json.loads(raw)["statuses"][0])  # 0 left
        self.assertEqual(self.admin("DELETE", "/v1/keys?domain=api&descriptor=user=k1")[0], 204)
        _, _, raw = self.admin("GET", "/v1/keys?domain=api&descriptor=user=k1")
        self.assertEqual(json.loads(raw)["statuses"][0]["limitRemaining"], 3)
        self.assertEqual(self.admin("GET", "/v1/keys?domain=api&descriptor=nope=x")[0], 404)
        self.assertEqual(self.admin("GET", "/v1/keys?domain=api")[0], 400)

    def test_admin_override_changes_decisions_until_deleted(self):
        override = {"domain": "api", "entries": [{"key": "user", "value": "o1"}],
                    "limit": {"unit": "hour", "requests_per_unit": 5, "algorithm": "token_bucket"}, "ttl": "10m"}
        status, _, raw = self.admin("PUT", "/v1/overrides", data=json.dumps(override))
        self.assertEqual(status, 200, raw)
        doc = json.loads(raw)
        self.assertEqual(doc["rule"], "api.user")
        self.assertEqual(doc["limit"]["requests_per_unit"], 5)
        for remaining in (4, 3, 2, 1, 0):  # the rule alone allows 3
            status, hdrs, doc = self.post(body(entries=(("user", "o1"),)))
            self.assertEqual(status, 200, doc)
            self.assertEqual(hdrs["ratelimit-limit"], "5")
            self.assertEqual(hdrs["ratelimit-remaining"], str(remaining))
        self.assertEqual(self.post(body(entries=(("user", "o1"),)))[0], 429)
        status, _, raw = self.admin("GET", "/v1/overrides?domain=api")
        self.assertEqual([o["entries"] for o in json.loads(raw)["overrides"]], [[{"key": "user", "value": "o1"}]])
        self.assertEqual(self.admin("DELETE", "/v1/overrides?domain=api&descriptor=user=o1")[0], 204)
        self.assertEqual(self.post(body(entries=(("user", "o1"),)))[1]["ratelimit-limit"], "3")
        self.assertEqual(self.admin("DELETE", "/v1/overrides?domain=api&descriptor=user=o1")[0], 404)

    def test_admin_bad_override_is_400_with_a_json_error(self):
        for data, want in (("{", "expected a JSON object"),
                           (json.dumps({"domain": "api", "entries": [{"key": "user", "value": "x"}],
                                        "limit": {"unit": "minute"}}), "limit.requests_per_unit: required")):
            status, hdrs, raw = self.admin("PUT", "/v1/overrides", data=data)
            self.assertEqual(status, 400, raw)
            self.assertEqual(hdrs["content-type"], "application/json")
            self.assertIn(want, json.loads(raw)["error"])
        status, _, raw = self.admin("PUT", "/v1/overrides", data=json.dumps(
            {"domain": "api", "entries": [{"key": "nope", "value": "x"}],
             "limit": {"unit": "minute", "requests_per_unit": 1}}))
        self.assertEqual(status, 404, raw)
        self.assertEqual(json.loads(raw)["code"], 404)

    def test_admin_lists_rules(self):
        status, _, raw = self.admin("GET", "/v1/rules")
        self.assertEqual(status, 200)
        rules = {r["key"]: r for r in json.loads(raw)["rules"]}
        self.assertEqual(sorted(rules), ["api.login", "api.user"])
        self.assertEqual([l.get("name") for l in rules["api.login"]["limits"]], [None, "hourly"])

    def test_metrics_per_rule(self):
        self.post(body(entries=(("user", "m1"),)))
        m = self.server.metrics()
        self.assertGreaterEqual(m.value("keel_ratelimit_total_hits_total", rule="api.user"), 1)
        self.assertIsNotNone(m.value("keel_ratelimit_decision_seconds_count"))
        self.assertIsNotNone(m.value("keel_ratelimit_store_entries"))


class RateLimitReloadTest(unittest.TestCase):
    def test_changed_file_is_swapped_in_and_an_invalid_one_is_not(self):
        token_file = write_temp(TOKEN, suffix=".token")
        server = KeelServer(service="ratelimit", config=RULES,
                            args=["--grpc", "127.0.0.1:0", "--admin-token-file", token_file,
                                  "--set", "ratelimit.reload_interval=100ms"]).start()
        try:
            path = server._config_path
            with open(path, "w") as f:
                f.write(RULES.replace("requests_per_unit: 3}", "requests_per_unit: 1}"))
            server.wait_for_log(lambda r: r.get("msg") == "rules reloaded")
            codes = [server.request("POST", "/json", body=body(entries=(("user", "z"),)))[0] for _ in range(2)]
            self.assertEqual(codes, [200, 429])

            with open(path, "w") as f:
                f.write("domain: api\ndescriptors:\n  - {key: user, rate_limit: {unit: fortnight, requests_per_unit: 1}}\n")
            record = server.wait_for_log(lambda r: r.get("msg", "").startswith("rules reload failed"))
            self.assertIn("fortnight", record["error"])
            m = server.metrics()
            self.assertEqual(m.value("keel_ratelimit_config_reloads_total", result="failed"), 1)
            self.assertEqual(m.value("keel_ratelimit_config_reloads_total", result="ok"), 1)
            # The old (valid) rules still answer.
            self.assertEqual(server.request("POST", "/json", body=body(entries=(("user", "z2"),)))[0], 200)
            status, _, raw = server.request("POST", "/v1/config/reload", headers={"Authorization": "Bearer " + TOKEN})
            self.assertEqual(status, 422)
            self.assertIn("fortnight", json.loads(raw)["error"])
        finally:
            server.stop()
            os.unlink(token_file)

    def test_admin_api_is_off_without_a_token_file(self):
        with KeelServer(service="ratelimit", config=RULES, args=["--grpc", "127.0.0.1:0"]) as server:
            self.assertEqual(server.request("GET", "/v1/config")[0], 404)

    def test_one_file_holds_keel_keys_and_rules(self):
        with KeelServer(service="ratelimit", config="ratelimit:\n  max_keys: 1000\n" + RULES,
                        args=["--grpc", "127.0.0.1:0"]) as server:
            self.assertEqual(server.request("POST", "/json", body=body())[0], 200)
            # The cap came from the same file (the default is 1,000,000 keys).
            self.assertLess(server.metrics().value("keel_ratelimit_store_capacity"), 10000)

    def test_bad_rules_at_start_exit_1_naming_the_problem(self):
        path = write_temp("domain: api\ndescriptors:\n  - {key: user, rate_limit: {unit: second}}\n")
        try:
            p = run_keel(["serve", "ratelimit", "--config", path, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("descriptors[0].rate_limit.requests_per_unit: required", p.stderr)
        finally:
            os.unlink(path)


class ValidateTest(unittest.TestCase):
    def test_validate_explains_errors_in_one_line(self):
        good = write_temp(RULES)
        bad = write_temp("domain: api\ndescriptors:\n  - {key: a, rate_limit: {unit: second, requests_per_unit: 1, algorithm: leaky}}\n")
        try:
            p = run_keel(["ratelimit", "validate", good])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("OK: 1 domain(s), 2 rule(s)", p.stdout)
            p = run_keel(["ratelimit", "validate", bad])
            self.assertEqual(p.returncode, 2)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn("descriptors[0].rate_limit.algorithm: unknown rate limit algorithm \"leaky\"", p.stderr)
            p = run_keel(["ratelimit", "validate", "/nonexistent.yaml"])
            self.assertEqual(p.returncode, 2)
            self.assertIn("cannot read rate limit config '/nonexistent.yaml'", p.stderr)
        finally:
            os.unlink(good)
            os.unlink(bad)


if __name__ == "__main__":
    unittest.main()
