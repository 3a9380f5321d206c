// Draws the charts of a `keel report` page from the inline JSON blob
// (#keel-data, written by keel::labreport::RenderHtml) with uPlot.
// Every chart shares the scenario time axis and shades the fault windows.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("keel-data").textContent);
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
  // Kept in step with the legend swatches in report.css.
  const faultFill = {
    toxic: "rgba(255,140,0,0.22)",
    kill: "rgba(214,39,40,0.22)",
    restart: "rgba(148,103,189,0.22)",
    signal: "rgba(23,190,207,0.22)",
  };
  const otherFill = "rgba(127,127,127,0.22)";
  const faultLine = { toxic: "#ff8c00", kill: "#d62728", restart: "#9467bd", signal: "#17becf" };
  // Kinds are user text: look them up as own keys only ("constructor" is not a colour).
  const pick = (table, kind, other) => (Object.hasOwn(table, kind) ? table[kind] : other);

  let xMax = data.duration_s || 0;
  for (const l of data.loads) if (l.t.length) xMax = Math.max(xMax, l.t[l.t.length - 1]);
  for (const f of data.faults) xMax = Math.max(xMax, f.end_s == null ? f.start_s : f.end_s);

  function faultsPlugin() {
    const clamp = (u, v) => Math.min(Math.max(v, u.bbox.left), u.bbox.left + u.bbox.width);
    return {
      hooks: {
        // Under the grid and series: shade each window, or draw a line for an instant event.
        drawClear: [(u) => {
          const { top, height } = u.bbox;
          const ctx = u.ctx;
          ctx.save();
          for (const f of data.faults) {
            const x0 = clamp(u, u.valToPos(f.start_s, "x", true));
            if (f.end_s == null) {
              ctx.strokeStyle = pick(faultLine, f.kind, "#7f7f7f");
              ctx.lineWidth = 2 * devicePixelRatio;
              ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
              ctx.beginPath();
              ctx.moveTo(x0, top);
              ctx.lineTo(x0, top + height);
              ctx.stroke();
            } else {
              const x1 = clamp(u, u.valToPos(f.end_s, "x", true));
              ctx.fillStyle = pick(faultFill, f.kind, otherFill);
              ctx.fillRect(x0, top, Math.max(x1 - x0, 1), height);
            }
          }
          ctx.restore();
        }],
        // Over the series: the labels, staggered so neighbours do not overlap.
        draw: [(u) => {
          const ctx = u.ctx;
          const px = devicePixelRatio;
          ctx.save();
          ctx.fillStyle = "#333";
          ctx.font = `${11 * px}px sans-serif`;
          ctx.textBaseline = "top";
          ctx.textAlign = "left";
          data.faults.forEach((f, i) => {
            const x0 = clamp(u, u.valToPos(f.start_s, "x", true));
            ctx.fillText(f.name, x0 + 3 * px, u.bbox.top + (3 + 13 * (i % 3)) * px);
          });
          ctx.restore();
        }],
      },
    };
  }

  // series: [{label, key, color, dash, load}] where key names an array of a load.
  function chart(id, title, unit, series, opts) {
    const el = document.getElementById(id);
    const tables = data.loads.map((l) => [l.t, ...series.filter((s) => s.load === l).map((s) => s.values)]);
    const aligned = tables.length ? uPlot.join(tables) : [[]];
    const width = Math.max(320, Math.min(1200, el.clientWidth || 900));
    const scaleY = opts.log ? { distr: 3 } : { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] };
    new uPlot({
      title,
      width,
      height: 260,
      plugins: [faultsPlugin()],
      scales: { x: { time: false, range: [0, xMax > 0 ? xMax : 1] }, y: scaleY },
      axes: [{ label: "seconds since the scenario began" }, { label: unit, size: 60 }],
      series: [{ label: "t (s)" }, ...series.map((s) => ({
        label: s.label, stroke: s.color, width: 1.5, dash: s.dash, spanGaps: false,
      }))],
    }, aligned, el);
  }

  const loadSeries = (fields) => {
    const out = [];
    data.loads.forEach((l, i) => {
      const color = palette[i % palette.length];
      fields.filter(([key]) => Array.isArray(l[key])).forEach(([key, suffix, dash, alpha]) => out.push({
        load: l, values: l[key], label: `${l.name} ${suffix}`, dash,
        color: alpha ? color + alpha : color,
      }));
    });
    return out;
  };

  chart("chart-throughput", "Throughput", "requests/s", loadSeries([
    ["completed", "completed/s", undefined, ""], ["sent", "sent/s", [5, 4], "99"],
    ["over_limit", "over limit/s", [1, 3], "cc"]]), {});
  chart("chart-errors", "Error rate", "% of sent", loadSeries([["error_pct", "errors %", undefined, ""]]), {});
  chart("chart-latency", "Latency (corrected)", "ms (log)", loadSeries([
    ["p50", "p50", [2, 3], "99"], ["p99", "p99", undefined, ""], ["p999", "p99.9", [8, 3], "cc"]]), { log: true });

  const cpuEl = document.getElementById("chart-cpu");
  if (cpuEl && data.cpu.length) {
    const tables = data.cpu.map((c) => [c.t, c.rate]);
    new uPlot({
      title: "Process CPU",
      width: Math.max(320, Math.min(1200, cpuEl.clientWidth || 900)),
      height: 220,
      plugins: [faultsPlugin()],
      scales: { x: { time: false, range: [0, xMax > 0 ? xMax : 1] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{ label: "seconds since the scenario began" }, { label: "cores", size: 60 }],
      series: [{ label: "t (s)" }, ...data.cpu.map((c, i) => ({ label: c.process, stroke: palette[i % palette.length], width: 1.5 }))],
    }, uPlot.join(tables), cpuEl);
  }
})();
