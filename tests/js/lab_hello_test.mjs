// End to end, what `make demo` does: `keel lab lab/hello.yaml` starts keel
// serve hello behind keel chaos, drives keel load through the proxy, adds
// 100 ms of latency from 14 s to 20 s, judges the SLOs and writes the report;
// then the report opens in headless Chromium with no errors and every chart
// draws with the fault shaded.
//
//   KEEL_BIN=build/keel KEEL_LAB_OUT_DIR=<dir> node --test lab_hello_test.mjs
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { loadReport, regionStats } from "./report_page.mjs";

const { chromium } = await import("playwright-core");
const keel = process.env.KEEL_BIN;
const out = process.env.KEEL_LAB_OUT_DIR;
const browserPath = process.env.KEEL_CHROMIUM || "/usr/bin/chromium";
assert.ok(keel && out, "KEEL_BIN and KEEL_LAB_OUT_DIR must be set");
const scenario = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "lab", "hello.yaml");

const json = (name) => JSON.parse(readFileSync(join(out, name), "utf8"));

test("lab/hello.yaml runs, injects its fault, judges its SLOs and reports it", async () => {
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync(keel, ["lab", scenario, "--out", out], { encoding: "utf8", timeout: 120_000 });
  const log = `keel lab exited ${r.status}\n${r.stdout}\n${r.stderr}`;
  // 0: every SLO held; 1: one did not. On a quiet machine "fast" holds with
  // room to spare, but a sanitizer build under a parallel test run can add
  // enough latency to spend the rest of its budget, so the verdict itself is
  // checked against slos.json rather than fixed here.
  assert.ok(r.status === 0 || r.status === 1, log);

  const run = json("run.json");
  assert.equal(run.completed, true, log);
  const slos = Object.fromEntries(json("slos.json").map((s) => [s.name, s]));
  assert.equal(run.passed, Object.values(slos).every((s) => s.passed), log);
  assert.equal(r.status, run.passed ? 0 : 1, log);
  assert.match(r.stdout, run.passed ? /Scenario hello: PASS/ : /Scenario hello: FAIL/);

  const faults = json("faults.json");
  assert.equal(faults.length, 1);
  assert.equal(faults[0].kind, "toxic");
  assert.ok(Math.abs(faults[0].start_s - 14) < 1, `fault started at ${faults[0].start_s}`);
  assert.ok(Math.abs(faults[0].end_s - faults[0].start_s - 6) < 1, `fault lasted ${faults[0].end_s - faults[0].start_s}`);

  // The latency the fault adds shows in the load's own per-second data.
  const rows = readFileSync(join(out, "load", "main.csv"), "utf8").trim().split("\n").slice(1)
    .map((l) => l.split(",")).map((c) => ({ t: Number(c[0]), p50: Number(c[4]) }));
  const offset = run.loads[0].offset_s;
  const p50At = (s) => rows.find((row) => Math.round(row.t + offset) === s).p50;
  const quiet = Math.max(...[8, 9, 10, 11].map(p50At));
  for (const s of [16, 17, 18, 19]) {
    assert.ok(p50At(s) >= 90, `p50 at ${s}s is ${p50At(s)} ms (latency 100 ms, jitter 10 ms)`);
    assert.ok(p50At(s) >= quiet + 50, `p50 at ${s}s is ${p50At(s)} ms, before the fault ${quiet} ms`);
  }

  // Nothing fails outright; the fault only slows answers down.
  assert.equal(slos.availability.passed, true, JSON.stringify(slos.availability));
  assert.equal(slos.availability.windows[0].fired, false);
  // 6 s at 500/s of 13,500 requests are slower than 50 ms: ~22 % of a 30 % budget.
  assert.ok(slos.fast.budget_consumed > 0.6, `fast used ${slos.fast.budget_consumed} of its budget`);
  const fastBurn = slos.fast.windows[0];
  assert.equal(fastBurn.fired, true, JSON.stringify(fastBurn));
  assert.ok(fastBurn.first_fired_s >= 14 && fastBurn.first_fired_s <= 22, `fired at ${fastBurn.first_fired_s}`);

  const charts = ["#chart-throughput", "#chart-errors", "#chart-latency", "#chart-cpu"];
  const page = await loadReport(chromium, join(out, "report.html"), join(out, "report.png"), charts, browserPath);
  console.log(`screenshot: ${join(out, "report.png")}`);
  assert.equal(page.title, "keel lab: hello");
  assert.equal(page.verdict, run.passed ? "PASSED" : "FAILED");
  for (const id of charts) {
    const { colours, shade } = regionStats(page.png, page.boxes[id]);
    assert.ok(colours > 20, `${id}: only ${colours} distinct colours; did it draw?`);
    assert.ok(shade > 500, `${id}: fault window shade covers ${shade} pixels`);
  }
  assert.deepEqual(page.problems, []);
});
