// Charts as inline SVG, drawn by this page's own code. Each chart has a <title> and a
// description; the numbers are also in a table beside it.
import { s } from "./dom.js";
import { monthShort, points as fmt } from "./format.js";

let ids = 0;
const nextId = (p) => `${p}-${++ids}`;

function frame(width, height, title, desc, cls) {
  const t = nextId("t");
  const d = nextId("d");
  return s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${t} ${d}`, class: `chart ${cls || ""}` },
    s("title", { id: t }, title),
    s("desc", { id: d }, desc),
  );
}

/** A metric as a bar: points of max, the minimum marked, red when under it. */
export function metricBar({ points, maxPoints, minimum, label }) {
  const W = 300;
  const H = 22;
  const max = Math.max(maxPoints, 1e-9);
  const w = Math.max(0, Math.min(1, points / max)) * W;
  const below = points < minimum;
  const svg = frame(W, H, label, `${fmt(points)} of ${fmt(maxPoints)} points; minimum ${fmt(minimum)}${below ? ", under the minimum" : ""}`, "bar");
  svg.append(
    s("rect", { x: 0, y: 3, width: W, height: H - 6, class: "bar-track", rx: 3 }),
    s("rect", { x: 0, y: 3, width: w, height: H - 6, class: below ? "bar-fill below" : "bar-fill", rx: 3 }),
    s("line", { x1: (minimum / max) * W, x2: (minimum / max) * W, y1: 0, y2: H, class: "bar-min" }),
  );
  return svg;
}

/**
 * A line chart over months: series [{name, values, cls}], a dashed threshold line, and an optional
 * projection {labels, series: [{name, values, cls}]} drawn as a dashed continuation after the last month.
 */
export function lineChart({ labels, series, threshold, projection, title }) {
  const W = 720;
  const H = 300;
  const m = { l: 44, r: 70, t: 34, b: 34 };
  const all = [...labels, ...(projection ? projection.labels : [])];
  const values = [...series, ...(projection ? projection.series : [])].flatMap((x) => x.values).filter((v) => v !== null);
  const top = Math.max(threshold || 0, ...values, threshold ? 10 : 1);
  const yMax = Math.ceil((top * 1.05) / 10) * 10;
  const yMin = Math.min(0, ...values);
  const x = (i) => m.l + (all.length <= 1 ? (W - m.l - m.r) / 2 : (i * (W - m.l - m.r)) / (all.length - 1));
  const y = (v) => m.t + ((yMax - v) * (H - m.t - m.b)) / (yMax - yMin || 1);
  const desc = series.map((se) => `${se.name}: ${se.values.map(fmt).join(", ")}`).join("; ");
  const svg = frame(W, H, title, `${labels[0] || ""} to ${labels[labels.length - 1] || ""}. ${desc}`, "line");
  const step = Math.max(10, Math.ceil((yMax - yMin) / 50) * 10);
  for (let v = Math.ceil(yMin / step) * step; v <= yMax; v += step) {
    svg.append(s("line", { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: "grid" }));
    svg.append(s("text", { x: m.l - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, String(v)));
  }
  const every = Math.max(1, Math.ceil(all.length / 12));
  all.forEach((lab, i) => {
    if (i % every === 0 || i === all.length - 1)
      svg.append(s("text", { x: x(i), y: H - m.b + 18, class: "axis", "text-anchor": "middle" }, monthShort(lab)));
  });
  if (threshold !== undefined && threshold !== null) {
    svg.append(s("line", { x1: m.l, x2: W - m.r, y1: y(threshold), y2: y(threshold), class: "threshold" }));
    svg.append(s("text", { x: W - m.r + 6, y: y(threshold) + 4, class: "threshold-label" }, `${threshold} points`));
  }
  const path = (vals, offset) => {
    let d = "";
    vals.forEach((v, i) => {
      if (v === null || v === undefined) return;
      d += `${d ? "L" : "M"}${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`;
    });
    return d;
  };
  series.forEach((se, k) => {
    svg.append(s("path", { d: path(se.values, 0), class: `series ${se.cls || `s${k}`}` }));
    se.values.forEach((v, i) => {
      if (v !== null) svg.append(s("circle", { cx: x(i), cy: y(v), r: 2.5, class: `dot ${se.cls || `s${k}`}` }, s("title", {}, `${se.name}, ${labels[i]}: ${fmt(v)}`)));
    });
  });
  // the legend, in a row above the plot
  let lx = m.l;
  series.forEach((se, k) => {
    const cls = se.cls || `s${k}`;
    svg.append(s("line", { x1: lx, x2: lx + 22, y1: 12, y2: 12, class: `series ${cls}` }));
    svg.append(s("text", { x: lx + 28, y: 16, class: `legend ${cls}` }, se.name));
    lx += 40 + se.name.length * 7.5;
  });
  if (projection) {
    svg.append(s("line", { x1: lx, x2: lx + 22, y1: 12, y2: 12, class: "series projected score" }));
    svg.append(s("text", { x: lx + 28, y: 16, class: "legend" }, "projected"));
  }
  if (projection) {
    // the continuation starts at the last actual point so the dashed line joins it
    projection.series.forEach((pe, k) => {
      const base = series.find((se) => se.name === pe.name) || series[k];
      const start = base ? base.values[base.values.length - 1] : null;
      const vals = [start, ...pe.values];
      svg.append(s("path", { d: path(vals, labels.length - 1), class: `series projected ${pe.cls || `s${k}`}` }));
    });
    svg.append(s("line", { x1: x(labels.length - 1), x2: x(labels.length - 1), y1: m.t, y2: H - m.b, class: "now" }));
  }
  return svg;
}

/** A timeline: rows [{label, bars: [{from, to, cls, title}]}] (ISO dates), with a marker date. */
export function timeline({ rows, marker, title, desc }) {
  const W = 720;
  const rowH = 22;
  const m = { l: 150, r: 12, t: 8, b: 26 };
  const H = m.t + m.b + rows.length * rowH;
  const ms = (d) => Date.parse(`${d}T00:00:00Z`);
  const dates = rows.flatMap((r) => r.bars.flatMap((b) => [b.from, b.to])).filter(Boolean).map(ms);
  dates.push(ms(marker));
  const lo = Math.min(...dates);
  const hi = Math.max(...dates) + 86400000;
  const x = (t) => m.l + ((t - lo) * (W - m.l - m.r)) / (hi - lo || 1);
  const svg = frame(W, H, title, desc, "timeline");
  const y0 = new Date(lo).getUTCFullYear();
  const y1 = new Date(hi).getUTCFullYear();
  for (let yr = y0 + 1; yr <= y1; yr++) {
    const t = Date.UTC(yr, 0, 1);
    svg.append(s("line", { x1: x(t), x2: x(t), y1: m.t, y2: H - m.b, class: "grid" }));
    svg.append(s("text", { x: x(t), y: H - 8, class: "axis", "text-anchor": "middle" }, String(yr)));
  }
  rows.forEach((r, i) => {
    const yy = m.t + i * rowH;
    svg.append(s("text", { x: m.l - 8, y: yy + rowH / 2 + 4, class: "axis", "text-anchor": "end" }, r.label));
    for (const b of r.bars) {
      const a = x(ms(b.from));
      const e = b.to ? x(ms(b.to) + 86400000) : W - m.r;
      svg.append(s("rect", { x: a, y: yy + 4, width: Math.max(2, e - a), height: rowH - 8, rx: 2, class: `span ${b.cls || ""}` }, s("title", {}, b.title)));
    }
  });
  svg.append(s("line", { x1: x(ms(marker)), x2: x(ms(marker)), y1: m.t - 4, y2: H - m.b + 4, class: "now" }));
  svg.append(s("text", { x: x(ms(marker)), y: m.t + 2, class: "now-label", "text-anchor": "end" }, "month end "));
  return svg;
}

/** A histogram of buckets [{from, to, partners}]. */
export function histogram({ buckets, title, threshold }) {
  const W = 720;
  const H = 240;
  const m = { l: 44, r: 12, t: 14, b: 34 };
  const max = Math.max(1, ...buckets.map((b) => b.partners));
  const bw = (W - m.l - m.r) / buckets.length;
  const y = (v) => m.t + ((max - v) * (H - m.t - m.b)) / max;
  const svg = frame(W, H, title, buckets.map((b) => `${b.from}${b.to === null ? "+" : `–${b.to}`}: ${b.partners}`).join(", "), "histogram");
  buckets.forEach((b, i) => {
    const cls = threshold !== undefined && b.from >= threshold ? "hist over" : "hist";
    svg.append(s("rect", { x: m.l + i * bw + 2, y: y(b.partners), width: bw - 4, height: H - m.b - y(b.partners), class: cls }, s("title", {}, `${b.partners} partners`)));
    svg.append(s("text", { x: m.l + i * bw + bw / 2, y: y(b.partners) - 4, class: "axis", "text-anchor": "middle" }, String(b.partners)));
    svg.append(s("text", { x: m.l + i * bw + bw / 2, y: H - m.b + 16, class: "axis", "text-anchor": "middle" }, b.to === null ? `${b.from}+` : `${b.from}–${b.to}`));
  });
  svg.append(s("line", { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, class: "grid" }));
  return svg;
}
