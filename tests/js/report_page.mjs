// Shared by the report page tests: open a report in headless Chromium with
// the network off and collect what went wrong, then decode the screenshot to
// tell whether each uPlot chart drew and whether a fault window is shaded.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { inflateSync } from "node:zlib";

// The shade of a toxic window (rgba(255,140,0,0.22), see report.js) over the white page.
export const TOXIC_SHADE = [255, 230, 199];

// Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to RGBA rows.
export function decodePng(buf) {
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

export function regionStats(png, box) {
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

// Opens `html` (file path) offline, waits for the charts, screenshots the full
// page to `shot`. Returns what the tests assert on.
export async function loadReport(chromium, html, shot, charts, executablePath) {
  const browser = await chromium.launch({
    executablePath,
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
    await page.waitForFunction((n) => document.querySelectorAll(".uplot canvas").length >= n, charts.length,
                               { timeout: 20000 });
    const sizes = {}, boxes = {};
    for (const id of charts) {
      const canvas = page.locator(`${id} canvas`);
      assert.equal(await canvas.count(), 1, `${id} has one canvas`);
      sizes[id] = await canvas.evaluate((c) => ({ w: c.width, h: c.height }));
      boxes[id] = await canvas.boundingBox();
    }
    return {
      title: await page.title(),
      verdict: await page.locator("#verdict").innerText(),
      markup: await page.locator("b").count(),
      sizes, boxes, problems, requests,
      png: decodePng(await page.screenshot({ path: shot, fullPage: true })),
    };
  } finally {
    await browser.close();
  }
}
