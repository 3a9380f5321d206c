// A gRPC client Keel did not write — @grpc/grpc-js with @grpc/proto-loader,
// loading the .proto files under api/ — calls `keel serve ratelimit`'s Envoy
// RLS v3 endpoint: OK with a falling limit_remaining, then OVER_LIMIT with
// duration_until_reset inside the window; bad requests get INVALID_ARGUMENT.
//
//   KEEL_BIN=build/keel node --test ratelimit_grpc_test.mjs
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const keel = process.env.KEEL_BIN;
assert.ok(keel, "KEEL_BIN must be set");
const apiDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "api");

const RULES = `
domain: edge
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 3, name: per_user}
  - key: ip
    rate_limit: {unit: second, requests_per_unit: 5, algorithm: token_bucket}
`;

let server, client, dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "keel-rls-js-"));
  const rules = join(dir, "rules.yaml");
  writeFileSync(rules, RULES);
  server = spawn(keel, ["serve", "ratelimit", "--config", rules, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0",
                        "--threads", "1"], { stdio: ["ignore", "ignore", "pipe"] });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no 'grpc listening' log line in 20 s")), 20_000);
    createInterface({ input: server.stderr }).on("line", (line) => {
      try {
        const rec = JSON.parse(line);
        if (rec.msg === "grpc listening") {
          clearTimeout(timer);
          resolve(Number(rec.grpc.split(":").pop()));
        }
      } catch { /* not JSON */ }
    });
    server.on("exit", (code) => reject(new Error(`keel exited with ${code}`)));
  });
  const def = protoLoader.loadSync("envoy/service/ratelimit/v3/rls.proto", {
    includeDirs: [apiDir], keepCase: true, longs: Number, enums: String, defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def);
  client = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${port}`,
                                                                  grpc.credentials.createInsecure());
});

after(() => {
  client?.close();
  server?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

const call = (request) => new Promise((resolve, reject) => {
  client.ShouldRateLimit(request, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res)));
});

const seconds = (d) => Number(d.seconds) + d.nanos / 1e9;

test("OK until the limit, then OVER_LIMIT, with remaining and reset", async () => {
  const request = { domain: "edge", descriptors: [{ entries: [{ key: "user", value: "ann" }] }] };
  for (const remaining of [2, 1, 0]) {
    const res = await call(request);
    assert.equal(res.overall_code, "OK");
    const s = res.statuses[0];
    assert.equal(s.code, "OK");
    assert.equal(s.limit_remaining, remaining);
    assert.equal(s.current_limit.requests_per_unit, 3);
    assert.equal(s.current_limit.unit, "MINUTE");
    assert.equal(s.current_limit.name, "per_user");
    assert.ok(seconds(s.duration_until_reset) > 0 && seconds(s.duration_until_reset) <= 60, JSON.stringify(s));
  }
  const res = await call(request);
  assert.equal(res.overall_code, "OVER_LIMIT");
  assert.equal(res.statuses[0].code, "OVER_LIMIT");
  assert.equal(res.statuses[0].limit_remaining, 0);
  const reset = seconds(res.statuses[0].duration_until_reset);
  assert.ok(reset > 0 && reset <= 60, `duration_until_reset ${reset}`);
});

test("several descriptors: one over limit makes the whole call OVER_LIMIT", async () => {
  const res = await call({
    domain: "edge", hits_addend: 6,
    descriptors: [{ entries: [{ key: "user", value: "bob" }] }, { entries: [{ key: "ip", value: "10.0.0.1" }] }],
  });
  assert.equal(res.overall_code, "OVER_LIMIT");
  assert.equal(res.statuses.length, 2);
  assert.equal(res.statuses[0].code, "OVER_LIMIT");  // 6 > 3 per minute
  assert.equal(res.statuses[1].code, "OVER_LIMIT");  // 6 > a bucket of 5
  const ok = await call({ domain: "edge", descriptors: [{ entries: [{ key: "ip", value: "10.0.0.1" }] }] });
  assert.equal(ok.overall_code, "OK");  // the denied 6 consumed nothing
  assert.equal(ok.statuses[0].limit_remaining, 4);
});

test("a descriptor without a rule is OK and carries no limit", async () => {
  const res = await call({ domain: "edge", descriptors: [{ entries: [{ key: "nothing", value: "x" }] }] });
  assert.equal(res.overall_code, "OK");
  assert.equal(res.statuses[0].current_limit, null);
});

test("an empty domain is INVALID_ARGUMENT, not UNKNOWN", async () => {
  await assert.rejects(call({ domain: "", descriptors: [{ entries: [{ key: "user", value: "x" }] }] }),
                       (err) => err.code === grpc.status.INVALID_ARGUMENT && /domain/.test(err.details));
  await assert.rejects(call({ domain: "edge", descriptors: [] }),
                       (err) => err.code === grpc.status.INVALID_ARGUMENT);
});
