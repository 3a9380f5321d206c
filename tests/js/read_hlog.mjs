// Reads an HdrHistogram log with hdr-histogram-js and prints a JSON summary:
// {"intervals": N, "total_count": C, "max": M (µs), "p99": P (µs)} of all
// intervals added together. Used by tests/load/test_load.py on `keel load --hlog`.
//
//   node read_hlog.mjs run.hlog
import { readFileSync } from "node:fs";

const hdr = (await import("hdr-histogram-js")).default;
const text = readFileSync(process.argv[2], "utf8");
const reader = new hdr.HistogramLogReader(text);
const total = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3600000000,
                          numberOfSignificantValueDigits: 3 });
let intervals = 0;
for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
  total.add(h);
  intervals += 1;
}
console.log(JSON.stringify({ intervals, total_count: total.totalCount, max: total.maxValue,
                             p99: total.getValueAtPercentile(99) }));
