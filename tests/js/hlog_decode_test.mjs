// Reads the .hlog written by keel::load::HlogWriter (via the hlog_fixture
// program) with hdr-histogram-js, an HdrHistogram implementation Keel did not
// write, and checks it finds what the sidecar JSON says was recorded.
//
//   KEEL_HLOG_FIXTURE_DIR=<dir holding fixture.hlog and fixture.json> node --test hlog_decode_test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { inflateSync } from "node:zlib";

let hdr;
try {
  hdr = (await import("hdr-histogram-js")).default;
} catch (err) {
  throw new Error(`hdr-histogram-js is not installed; run scripts/install-npm.sh (${err.message})`);
}

const dir = process.env.KEEL_HLOG_FIXTURE_DIR;
assert.ok(dir, "KEEL_HLOG_FIXTURE_DIR must name the directory hlog_fixture wrote");
const log = readFileSync(join(dir, "fixture.hlog"), "utf8");
const expected = JSON.parse(readFileSync(join(dir, "fixture.json"), "utf8"));
const intervalLines = log.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith('"'));

// Values HdrHistogram cannot tell apart (same bucket) count as equal.
function assertEquivalent(h, actual, wanted, what) {
  assert.equal(h.lowestEquivalentValue(actual), h.lowestEquivalentValue(wanted),
    `${what}: ${actual} is not equivalent to ${wanted}`);
}

function assertMatches(h, want, label) {
  assert.equal(h.totalCount, want.total_count, `${label} total count`);
  assertEquivalent(h, h.maxValue, want.max, `${label} max`);
  for (const [p, value] of Object.entries(want.percentiles)) {
    assertEquivalent(h, h.getValueAtPercentile(Number(p)), value, `${label} p${p}`);
  }
  assert.ok(Math.abs(h.mean - want.mean) <= 1e-9 * Math.max(1, want.mean),
    `${label} mean ${h.mean} != ${want.mean}`);
  let sum = 0;
  for (const [value, count] of want.counts) {
    assert.equal(h.getCountAtIndex(h.countsArrayIndex(value)), count, `${label} count at ${value}`);
    sum += count;
  }
  assert.equal(sum, want.total_count, `${label}: sidecar counts add up`);
}

test("log has the v1.2 header lines", () => {
  const lines = log.split("\n");
  assert.equal(lines[0], "#[Histogram log format version 1.2]");
  assert.match(lines[1], /^#\[StartTime: 1700000000\.000 \(seconds since epoch\), .+\]$/);
  assert.equal(lines[2], '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"');
  assert.equal(intervalLines.length, expected.intervals.length);
});

test("HistogramLogReader reads every interval with its counts, max and percentiles", () => {
  const reader = new hdr.HistogramLogReader(log);
  expected.intervals.forEach((want, i) => {
    const h = reader.nextIntervalHistogram();
    assert.ok(h, `interval ${i} is missing`);
    assert.equal(h.startTimeStampMsec, (expected.start_time_s + want.start_s) * 1000);
    assert.equal(h.endTimeStampMsec, (expected.start_time_s + want.start_s + want.length_s) * 1000);
    assertMatches(h, want, `interval ${i}`);
  });
  assert.equal(reader.nextIntervalHistogram(), null, "no interval beyond the expected ones");
});

test("decodeFromCompressedBase64 decodes each line's histogram", () => {
  intervalLines.forEach((line, i) => {
    const [start, length, max, base64] = line.split(",");
    const want = expected.intervals[i];
    assert.equal(Number(start), want.start_s);
    assert.equal(Number(length), want.length_s);
    assert.ok(Math.abs(Number(max) - want.interval_max_ms) < 0.0005, `line ${i} Interval_Max ${max}`);
    assert.ok(base64.startsWith("HISTF"), `line ${i} is a V2 compressed histogram`);
    const h = hdr.decodeFromCompressedBase64(base64);
    assertMatches(h, want, `line ${i}`);
    assert.equal(h.numberOfSignificantValueDigits, 3);
    assert.equal(h.lowestDiscernibleValue, 1);
  });
});

// The V2 encoding of a decoded histogram, as bytes (base64 -> cookie, length, zlib).
function uncompressedV2(base64) {
  const bytes = Buffer.from(base64, "base64");
  assert.equal(bytes.readUInt32BE(0) & ~0xf0, 0x1c849304, "compressed V2 cookie");
  return inflateSync(bytes.subarray(8, 8 + bytes.readUInt32BE(4)));
}

test("Keel's V2 encoding equals hdr-histogram-js's encoding of the same histogram", () => {
  intervalLines.forEach((line, i) => {
    const ours = uncompressedV2(line.split(",")[3]);
    const theirs = uncompressedV2(hdr.encodeIntoCompressedBase64(
      hdr.decodeFromCompressedBase64(line.split(",")[3])));
    // Header: cookie, payload length, then (skipping normalizingIndexOffset
    // and the conversion ratio, which hdr-histogram-js writes as 1 and int64
    // 1 where Java writes 0 and double 1.0) sigfigs, lowest, highest.
    assert.equal(ours.readUInt32BE(0), 0x1c849313, `line ${i} cookie`);
    assert.equal(ours.readUInt32BE(0), theirs.readUInt32BE(0), `line ${i} cookie`);
    assert.equal(ours.readUInt32BE(8), 0, `line ${i} normalizingIndexOffset`);
    assert.equal(ours.readDoubleBE(32), 1.0, `line ${i} integerToDoubleValueConversionRatio`);
    assert.deepEqual(ours.subarray(4, 8), theirs.subarray(4, 8), `line ${i} payload length`);
    assert.deepEqual(ours.subarray(12, 32), theirs.subarray(12, 32), `line ${i} layout`);
    assert.deepEqual(ours.subarray(40), theirs.subarray(40), `line ${i} counts payload`);
  });
});
