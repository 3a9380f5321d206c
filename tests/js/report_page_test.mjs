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
import { pathToFileURL } from "node:url";
import { inflateSync } from "node:zlib";

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

// The shade of a toxic window (rgba(255,140,0,0.22), see report.js) over the white page.
const TOXIC_SHADE = [255, 230, 199];

// Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to RGBA rows.
function decodePng(buf) {
  assert.equal(buf.toString("latin1", 1, 4), "PNG");
  let off = 8, width = 0, height = 0, colorType = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString("latin1", off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, "bit depth");
      colorType = data[9];
      assert.equal(data[12], 0, "interlace");
    } else if (type === "IDAT") {
      idat.push(data);
    }
    off += 12 + len;
  }
  const bpp = { 2: 3, 6: 4 }[colorType];
  assert.ok(bpp, `colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(width * height * 4);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[i] = (line[i] + add) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 4; k++) out[(y * width + x) * 4 + k] = k < bpp ? line[x * bpp + k] : 255;
    }
    prev = line;
  }
  return { width, height, pixels: out };
}

function regionStats(png, box) {
  const colours = new Set();
  let shade = 0;
  const x0 = Math.max(0, Math.floor(box.x)), y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(png.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(png.height, Math.ceil(box.y + box.height));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.pixels[i], png.pixels[i + 1], png.pixels[i + 2]];
      colours.add((r << 16) | (g << 8) | b);
      if (Math.abs(r - TOXIC_SHADE[0]) <= 3 && Math.abs(g - TOXIC_SHADE[1]) <= 3 &&
          Math.abs(b - TOXIC_SHADE[2]) <= 3) shade++;
    }
  }
  return { colours: colours.size, shade };
}

test("keel report's page draws every chart offline, without errors", async () => {
  mkdirSync(outDir, { recursive: true });
  const html = join(outDir, "report.html");
  const r = spawnSync(keel, ["report", fixture, "-o", html], { encoding: "utf8" });
  assert.equal(r.status, 0, `keel report failed: ${r.stderr}`);

  const text = readFileSync(html, "utf8");
  assert.doesNotMatch(text, /(src|href)\s*=\s*["']?\s*(https?:|\/\/)/i, "external src/href");
  assert.doesNotMatch(text, /url\(\s*["']?(https?:|\/\/)/i, "external CSS url()");
  assert.doesNotMatch(text, /@import/i);

  const browser = await chromium.launch({
    executablePath: browserPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const context = await browser.newContext({
      offline: true, viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1,
    });
    const requests = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      requests.push(url);
      return url.startsWith("file:") || url.startsWith("data:") ? route.continue() : route.abort();
    });
    const page = await context.newPage();
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (q) => problems.push(`request failed: ${q.url()}`));

    await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
    await page.waitForFunction(() => document.querySelectorAll(".uplot canvas").length >= 4, null, { timeout: 20000 });
    assert.equal(await page.title(), 'keel lab: hello <b>under</b> fire & "friends"');
    assert.equal(await page.locator("#verdict").innerText(), "FAILED");
    assert.equal(await page.locator("b").count(), 0, "user text became markup");

    const charts = ["#chart-throughput", "#chart-errors", "#chart-latency", "#chart-cpu"];
    const boxes = {};
    for (const id of charts) {
      const canvas = page.locator(`${id} canvas`);
      assert.equal(await canvas.count(), 1, `${id} has one canvas`);
      const size = await canvas.evaluate((c) => ({ w: c.width, h: c.height }));
      assert.ok(size.w > 0 && size.h > 0, `${id} canvas is ${size.w}x${size.h}`);
      boxes[id] = await canvas.boundingBox();
    }
    const shot = join(outDir, "report.png");
    const png = decodePng(await page.screenshot({ path: shot, fullPage: true }));
    console.log(`screenshot: ${shot}`);
    for (const id of charts) {
      const { colours, shade } = regionStats(png, boxes[id]);
      assert.ok(colours > 20, `${id}: only ${colours} distinct colours; did it draw?`);
      assert.ok(shade > 500, `${id}: fault window shade covers ${shade} pixels`);
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:")), []);
  } finally {
    await browser.close();
  }
});
