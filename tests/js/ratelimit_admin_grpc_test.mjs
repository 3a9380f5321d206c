// A gRPC client Keel did not write — @grpc/grpc-js with @grpc/proto-loader,
// loading api/keel/ratelimit/admin/v1/admin.proto — calls every RPC of the
// rate limiter's admin service on a running `keel serve ratelimit`, on the
// same port as Envoy's RateLimitService: the bearer token in metadata
// (UNAUTHENTICATED without it or with a wrong one), INVALID_ARGUMENT and
// NOT_FOUND, an override that changes ShouldRateLimit's answers, reset,
// key state and a reload of the rules file (FAILED_PRECONDITION when invalid).
//
//   KEEL_BIN=build/keel node --test ratelimit_admin_grpc_test.mjs
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

const TOKEN = "js-admin-token-0123456789";
const RULES = `
domain: edge
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 2, algorithm: token_bucket, name: per_user}
  - key: ip
    rate_limit: {unit: second, requests_per_unit: 5, algorithm: token_bucket, burst: 8}
`;

let server, admin, rls, dir, rulesPath;

const loadOptions = { includeDirs: [apiDir], keepCase: true, longs: Number, enums: String, defaults: true };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "keel-rladmin-js-"));
  rulesPath = join(dir, "rules.yaml");
  writeFileSync(rulesPath, RULES);
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, TOKEN + "\n");
  // The file is checked hourly: only Reload() reads it again in this test.
  server = spawn(keel, ["serve", "ratelimit", "--config", rulesPath, "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0",
                        "--admin-token-file", tokenFile, "--threads", "1", "--set", "ratelimit.reload_interval=1h"],
                 { stdio: ["ignore", "ignore", "pipe"] });
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
  const adminPkg = grpc.loadPackageDefinition(protoLoader.loadSync("keel/ratelimit/admin/v1/admin.proto", loadOptions));
  const rlsPkg = grpc.loadPackageDefinition(protoLoader.loadSync("envoy/service/ratelimit/v3/rls.proto", loadOptions));
  admin = new adminPkg.keel.ratelimit.admin.v1.RateLimitAdmin(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  rls = new rlsPkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(() => {
  admin?.close();
  rls?.close();
  server?.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

const bearer = (token) => {
  const md = new grpc.Metadata();
  if (token !== null) md.add("authorization", `Bearer ${token}`);
  return md;
};

// Token buckets everywhere: no window boundary can fall inside a test.

// Calls admin.<method>; resolves with the response, rejects with the gRPC error.
const call = (method, request, token = TOKEN) => new Promise((resolve, reject) => {
  admin[method](request, bearer(token), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res)));
});

const decide = (user) => new Promise((resolve, reject) => {
  rls.ShouldRateLimit({ domain: "edge", descriptors: [{ entries: [{ key: "user", value: user }] }] },
                      { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res.overall_code)));
});

const rejectsWith = (promise, code, details) =>
  assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `${err.code} ${err.details}`);
    if (details) assert.match(err.details, details);
    return true;
  });

const key = (user) => ({ domain: "edge", entries: [{ key: "user", value: user }] });
const seconds = (d) => Number(d.seconds) + d.nanos / 1e9;

const EVERY_RPC = {
  ListRules: {},
  PutOverride: { key: key("x"), limit: { unit: "UNIT_MINUTE", requests_per_unit: 1 } },
  DeleteOverride: { key: key("x") },
  ListOverrides: {},
  ResetKey: { key: key("x") },
  GetKeyState: { key: key("x") },
  Reload: {},
};

test("every RPC is UNAUTHENTICATED without the token or with a wrong one", async () => {
  for (const [method, request] of Object.entries(EVERY_RPC)) {
    await rejectsWith(call(method, request, null), grpc.status.UNAUTHENTICATED, /missing bearer token/);
    await rejectsWith(call(method, request, "wrong-token-0000000000"), grpc.status.UNAUTHENTICATED, /wrong bearer token/);
  }
  assert.equal((await call("ListOverrides", {})).overrides.length, 0, "the refused PutOverride must not have landed");
});

test("ListRules describes the rules file", async () => {
  const { rules } = await call("ListRules", { domain: "edge" });
  assert.deepEqual(rules.map((r) => r.key), ["edge.ip", "edge.user"]);
  const ip = rules[0];
  assert.deepEqual(ip.match, [{ key: "ip", value: "" }]);
  assert.equal(ip.limits.length, 1);
  assert.equal(ip.limits[0].unit, "UNIT_SECOND");
  assert.equal(ip.limits[0].requests_per_unit, 5);
  assert.equal(ip.limits[0].algorithm, "ALGORITHM_TOKEN_BUCKET");
  assert.equal(ip.limits[0].burst, 8);
  assert.equal(rules[1].limits[0].name, "per_user");
  await rejectsWith(call("ListRules", { domain: "nope" }), grpc.status.NOT_FOUND);
});

test("an override changes ShouldRateLimit's decisions until it is deleted", async () => {
  // The rule: 2 per minute.
  assert.equal(await decide("ann"), "OK");
  assert.equal(await decide("ann"), "OK");
  assert.equal(await decide("ann"), "OVER_LIMIT");

  const o = await call("PutOverride", {
    key: key("ann"), limit: { unit: "UNIT_HOUR", requests_per_unit: 5, algorithm: "ALGORITHM_TOKEN_BUCKET" },
    ttl: { seconds: 600 },
  });
  assert.equal(o.rule, "edge.user");
  assert.equal(o.limit.requests_per_unit, 5);
  assert.ok(seconds(o.expires_in) > 590 && seconds(o.expires_in) <= 600, JSON.stringify(o.expires_in));
  for (let i = 0; i < 5; ++i) assert.equal(await decide("ann"), "OK", `hit ${i} under the override`);
  assert.equal(await decide("ann"), "OVER_LIMIT");
  assert.equal(await decide("bob"), "OK", "other users keep the rule");

  const { overrides } = await call("ListOverrides", { domain: "edge" });
  assert.equal(overrides.length, 1);
  assert.deepEqual(overrides[0].key, key("ann"));
  assert.equal(overrides[0].limit.unit, "UNIT_HOUR");

  const state = await call("GetKeyState", { key: key("ann") });
  assert.equal(state.code, "OK");
  assert.equal(state.limit_remaining, 0);
  assert.equal(state.current_limit.requests_per_unit, 5);
  assert.equal(state.current_limit.algorithm, "ALGORITHM_TOKEN_BUCKET");
  assert.equal(state.rule, "edge.user");
  assert.ok(state.active_override);
  const reset = seconds(state.duration_until_reset);
  assert.ok(reset > 3500 && reset <= 3600, `duration_until_reset ${reset}`);  // 5 tokens at 1 per 12 min

  await call("DeleteOverride", { key: key("ann") });
  assert.equal(await decide("ann"), "OVER_LIMIT", "the rule's bucket is still empty");
  await rejectsWith(call("DeleteOverride", { key: key("ann") }), grpc.status.NOT_FOUND);
  assert.equal((await call("ListOverrides", {})).overrides.length, 0);
});

test("ResetKey refills a key and GetKeyState shows it", async () => {
  await decide("cy");
  await decide("cy");
  let state = await call("GetKeyState", { key: key("cy") });
  assert.equal(state.limit_remaining, 0);
  assert.equal(state.current_limit.name, "per_user");
  assert.equal(state.active_override, null);
  await call("ResetKey", { key: key("cy") });
  state = await call("GetKeyState", { key: key("cy") });
  assert.equal(state.limit_remaining, 2);
  assert.equal(await decide("cy"), "OK");
  await rejectsWith(call("ResetKey", { key: { domain: "edge", entries: [{ key: "nope", value: "x" }] } }),
                    grpc.status.NOT_FOUND);
});

test("bad input is INVALID_ARGUMENT, an unknown rule NOT_FOUND", async () => {
  await rejectsWith(call("PutOverride", { key: key("x") }), grpc.status.INVALID_ARGUMENT, /limit: required/);
  await rejectsWith(call("PutOverride", { key: key("x"), limit: { requests_per_unit: 3 } }),
                    grpc.status.INVALID_ARGUMENT, /limit\.unit/);
  await rejectsWith(call("PutOverride", { key: { domain: "", entries: [] }, limit: { unit: "UNIT_SECOND" } }),
                    grpc.status.INVALID_ARGUMENT, /domain: required/);
  await rejectsWith(call("PutOverride", { key: key("x"), limit: { unit: "UNIT_SECOND", requests_per_unit: 3, burst: 9 } }),
                    grpc.status.INVALID_ARGUMENT, /burst/);
  await rejectsWith(call("PutOverride", { key: key("x"), limit: { unit: "UNIT_SECOND", requests_per_unit: 3 },
                                          ttl: { seconds: 0 } }),
                    grpc.status.INVALID_ARGUMENT, /ttl/);
  await rejectsWith(call("PutOverride", { key: { domain: "edge", entries: [{ key: "nope", value: "x" }] },
                                          limit: { unit: "UNIT_SECOND", requests_per_unit: 3 } }),
                    grpc.status.NOT_FOUND, /no rule matches/);
  await rejectsWith(call("GetKeyState", { key: { domain: "edge" } }), grpc.status.INVALID_ARGUMENT, /entries/);
});

test("Reload reads the rules file again; an invalid one is FAILED_PRECONDITION and keeps the rules", async () => {
  writeFileSync(rulesPath, RULES + `  - key: tenant\n    rate_limit: {unit: day, requests_per_unit: 1}\n`);
  const res = await call("Reload", {});
  assert.equal(res.rules, 3);
  assert.equal(res.domains, 1);
  assert.equal((await call("ListRules", {})).rules.length, 3);
  writeFileSync(rulesPath, "domain: edge\ndescriptors:\n  - key: user\n    rate_limit: {unit: fortnight, requests_per_unit: 1}\n");
  await rejectsWith(call("Reload", {}), grpc.status.FAILED_PRECONDITION, /unit/);
  assert.equal((await call("ListRules", {})).rules.length, 3);
});
