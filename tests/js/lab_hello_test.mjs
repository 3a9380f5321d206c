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

test("lab/hello.yaml runs, holds its SLOs through the fault and reports it", async () => {
  rmSync(out, { recursive: true, force: true });
  const r = spawnSync(keel, ["lab", scenario, "--out", out], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, `keel lab exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /Scenario hello: PASS/);

  const run = json("run.json");
  assert.equal(run.completed, true);
  assert.equal(run.passed, true);

  const faults = json("faults.json");
  assert.equal(faults.length, 1);
  assert.equal(faults[0].kind, "toxic");
  assert.ok(Math.abs(faults[0].start_s - 14) < 1, `fault started at ${faults[0].start_s}`);
  assert.ok(Math.abs(faults[0].end_s - faults[0].start_s - 6) < 1, `fault lasted ${faults[0].end_s - faults[0].start_s}`);

  // The latency the fault adds shows in the load's own per-second data.
  const rows = readFileSync(join(out, "load", "main.csv"), "utf8").trim().split("\n").slice(1)
    .map((l) => l.split(",")).map((c) => ({ t: Number(c[0]), p50: Number(c[4]) }));
  const offset = run.loads[0].offset_s;
  const at = (s) => rows.find((row) => Math.round(row.t + offset) === s);
  for (const s of [16, 17, 18, 19]) assert.ok(at(s).p50 >= 100, `p50 at ${s}s is ${at(s).p50} ms`);
  for (const s of [8, 9, 10, 11]) assert.ok(at(s).p50 < 50, `p50 at ${s}s is ${at(s).p50} ms`);

  const slos = Object.fromEntries(json("slos.json").map((s) => [s.name, s]));
  assert.equal(slos.availability.passed, true);
  assert.equal(slos.responsive.passed, true);
  assert.equal(slos.fast.passed, true);
  // 6 s at 500/s of 13,500 requests are slower than 50 ms: ~22 % of 30 %.
  assert.ok(slos.fast.budget_consumed > 0.4 && slos.fast.budget_consumed < 1,
            `fast used ${slos.fast.budget_consumed} of its budget`);
  const fastBurn = slos.fast.windows[0];
  assert.equal(fastBurn.fired, true);
  assert.ok(fastBurn.first_fired_s >= 14 && fastBurn.first_fired_s <= 22, `fired at ${fastBurn.first_fired_s}`);
  assert.equal(slos.availability.windows[0].fired, false);

  const charts = ["#chart-throughput", "#chart-errors", "#chart-latency", "#chart-cpu"];
  const page = await loadReport(chromium, join(out, "report.html"), join(out, "report.png"), charts, browserPath);
  console.log(`screenshot: ${join(out, "report.png")}`);
  assert.equal(page.title, "keel lab: hello");
  assert.equal(page.verdict, "PASSED");
  for (const id of charts) {
    const { colours, shade } = regionStats(page.png, page.boxes[id]);
    assert.ok(colours > 20, `${id}: only ${colours} distinct colours; did it draw?`);
    assert.ok(shade > 500, `${id}: fault window shade covers ${shade} pixels`);
  }
  assert.deepEqual(page.problems, []);
});
