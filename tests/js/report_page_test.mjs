// Opens the page `keel report` writes in headless Chromium (Debian's, driven by
// playwright-core) with the network off, and checks that it works offline:
// no console or page errors, no request leaves file://, and every uPlot chart
// drew (non-uniform pixels in its area, the fault window's shade among them).
//
//   KEEL_BIN=build/keel KEEL_REPORT_FIXTURE_DIR=<lab_fixture.py output> \
//   KEEL_REPORT_OUT_DIR=<where report.html and report.png go> node --test report_page_test.mjs
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { loadReport, regionStats } from "./report_page.mjs";

let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (err) {
  throw new Error(`playwright-core is not installed; run scripts/install-npm.sh (${err.message})`);
}

const keel = process.env.KEEL_BIN;
const fixture = process.env.KEEL_REPORT_FIXTURE_DIR;
const outDir = process.env.KEEL_REPORT_OUT_DIR;
const browserPath = process.env.KEEL_CHROMIUM || "/usr/bin/chromium";
assert.ok(keel && fixture && outDir, "KEEL_BIN, KEEL_REPORT_FIXTURE_DIR and KEEL_REPORT_OUT_DIR must be set");

test("keel report's page draws every chart offline, without errors", async () => {
  mkdirSync(outDir, { recursive: true });
  const html = join(outDir, "report.html");
  const r = spawnSync(keel, ["report", fixture, "-o", html], { encoding: "utf8" });
  assert.equal(r.status, 0, `keel report failed: ${r.stderr}`);

  const text = readFileSync(html, "utf8");
  assert.doesNotMatch(text, /(src|href)\s*=\s*["']?\s*(https?:|\/\/)/i, "external src/href");
  assert.doesNotMatch(text, /url\(\s*["']?(https?:|\/\/)/i, "external CSS url()");
  assert.doesNotMatch(text, /@import/i);

  const charts = ["#chart-throughput", "#chart-errors", "#chart-latency", "#chart-cpu"];
  const shot = join(outDir, "report.png");
  const r2 = await loadReport(chromium, html, shot, charts, browserPath);
  console.log(`screenshot: ${shot}`);
  assert.equal(r2.title, 'keel lab: hello <b>under</b> fire & "friends"');
  assert.equal(r2.verdict, "FAILED");
  assert.equal(r2.markup, 0, "user text became markup");
  for (const id of charts) {
    assert.ok(r2.sizes[id].w > 0 && r2.sizes[id].h > 0, `${id} canvas is ${r2.sizes[id].w}x${r2.sizes[id].h}`);
    const { colours, shade } = regionStats(r2.png, r2.boxes[id]);
    assert.ok(colours > 20, `${id}: only ${colours} distinct colours; did it draw?`);
    assert.ok(shade > 500, `${id}: fault window shade covers ${shade} pixels`);
  }
  assert.deepEqual(r2.problems, []);
  assert.deepEqual(r2.requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:")), []);
});
