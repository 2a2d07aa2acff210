// Small canvas charts: lines, filled areas (drawdown), stacked areas (allocation) and
// horizontal bars (refusals). Each chart writes how many points it drew and its last
// value into data-points / data-last, so a test (or a person) can see it change.

const PALETTE = [
  '#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
];

/** The colour of series number `i`. */
export function color(i) {
  return PALETTE[i % PALETTE.length];
}

function setup(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600;
  const h = canvas.clientHeight || 200;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px system-ui, sans-serif';
  return { ctx, w, h };
}

/** Compact number: 101234.5 → "101.2k". */
export function short(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  return v.toFixed(2);
}

function timeLabel(ms) {
  const d = new Date(ms);
  return d.toISOString().replace('T', ' ').slice(5, 16);
}

function empty(ctx, w, h, text) {
  ctx.fillStyle = '#888';
  ctx.textAlign = 'center';
  ctx.fillText(text, w / 2, h / 2);
}

/** Axis labels precise enough to tell the gridlines apart (equity moves by cents too). */
function axisFormat(y0, y1) {
  const span = y1 - y0;
  if (span >= 1000) return short;
  const digits = span < 10 ? 2 : 0;
  return (v) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function frame(ctx, w, h, x0, x1, y0, y1, fmt) {
  fmt = fmt || axisFormat(y0, y1);
  const pad = { l: 70, r: 10, t: 8, b: 18 };
  const X = (t) => pad.l + ((t - x0) / (x1 - x0 || 1)) * (w - pad.l - pad.r);
  const Y = (v) => h - pad.b - ((v - y0) / (y1 - y0 || 1)) * (h - pad.t - pad.b);
  ctx.strokeStyle = '#3333';
  ctx.fillStyle = '#777';
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  for (let i = 0; i <= 3; i++) {
    const v = y0 + ((y1 - y0) * i) / 3;
    const y = Y(v);
    ctx.beginPath();
    ctx.moveTo(pad.l, y);
    ctx.lineTo(w - pad.r, y);
    ctx.stroke();
    ctx.fillText(fmt(v), pad.l - 4, y + 4);
  }
  ctx.textAlign = 'left';
  ctx.fillText(timeLabel(x0), pad.l, h - 4);
  ctx.textAlign = 'right';
  ctx.fillText(timeLabel(x1), w - pad.r, h - 4);
  return { X, Y, base: h - pad.b };
}

function mark(canvas, count, last) {
  canvas.dataset.points = String(count);
  canvas.dataset.last = last === undefined ? '' : String(last);
}

/**
 * Line chart of `series` = [{name, points: [[ms, value], ...]}]; `fill` shades the area
 * between the line and zero (a drawdown).
 */
export function lines(canvas, series, { fill = false, fmt = null } = {}) {
  const { ctx, w, h } = setup(canvas);
  const all = series.flatMap((s) => s.points);
  const count = all.length;
  if (count < 2) {
    empty(ctx, w, h, count ? 'one point so far' : 'no data yet');
    mark(canvas, count, all[0]?.[1]);
    return;
  }
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [t, v] of all) {
    x0 = Math.min(x0, t);
    x1 = Math.max(x1, t);
    y0 = Math.min(y0, v);
    y1 = Math.max(y1, v);
  }
  if (fill) y1 = Math.max(y1, 0);
  if (y0 === y1) {
    y0 -= 1;
    y1 += 1;
  }
  const { X, Y } = frame(ctx, w, h, x0, x1, y0, y1, fmt);
  series.forEach((s, i) => {
    if (!s.points.length) return;
    ctx.strokeStyle = s.color || color(i);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    s.points.forEach(([t, v], j) => (j ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v))));
    ctx.stroke();
    if (fill) {
      ctx.lineTo(X(s.points[s.points.length - 1][0]), Y(0));
      ctx.lineTo(X(s.points[0][0]), Y(0));
      ctx.closePath();
      ctx.fillStyle = `${s.color || color(i)}55`;
      ctx.fill();
    }
  });
  const lastSeries = series[series.length - 1].points;
  mark(canvas, count, lastSeries[lastSeries.length - 1]?.[1]);
}

/**
 * Stacked areas: `times` (ms) shared by every layer, `layers` = [{name, values}] with
 * one value per time. Draws bottom-up in the given order.
 */
export function stacked(canvas, times, layers) {
  const { ctx, w, h } = setup(canvas);
  if (times.length < 2 || !layers.length) {
    empty(ctx, w, h, times.length ? 'one allocation so far' : 'no allocations yet');
    mark(canvas, times.length);
    return;
  }
  const tops = times.map((_, j) => layers.reduce((a, l) => a + (l.values[j] || 0), 0));
  const y1 = Math.max(...tops) || 1;
  const { X, Y } = frame(ctx, w, h, times[0], times[times.length - 1], 0, y1);
  const below = times.map(() => 0);
  layers.forEach((l, i) => {
    const above = below.map((b, j) => b + (l.values[j] || 0));
    ctx.beginPath();
    times.forEach((t, j) => (j ? ctx.lineTo(X(t), Y(above[j])) : ctx.moveTo(X(t), Y(above[j]))));
    for (let j = times.length - 1; j >= 0; j--) ctx.lineTo(X(times[j]), Y(below[j]));
    ctx.closePath();
    ctx.fillStyle = `${color(i)}cc`;
    ctx.fill();
    above.forEach((v, j) => (below[j] = v));
  });
  mark(canvas, times.length * layers.length, tops[tops.length - 1]);
}

/** Horizontal bars: `rows` = [{label, value}], largest first. */
export function bars(canvas, rows) {
  const { ctx, w, h } = setup(canvas);
  if (!rows.length) {
    empty(ctx, w, h, 'no refusals');
    mark(canvas, 0);
    return;
  }
  const max = Math.max(...rows.map((r) => r.value)) || 1;
  const rowH = Math.max(14, Math.min(24, (h - 4) / rows.length));
  const labelW = Math.min(180, w * 0.4);
  rows.forEach((r, i) => {
    const y = 2 + i * rowH;
    ctx.fillStyle = '#999';
    ctx.textAlign = 'right';
    ctx.fillText(r.label, labelW - 6, y + rowH * 0.7);
    ctx.fillStyle = color(i);
    const bw = ((w - labelW - 50) * r.value) / max;
    ctx.fillRect(labelW, y + 2, Math.max(1, bw), rowH - 4);
    ctx.fillStyle = '#bbb';
    ctx.textAlign = 'left';
    ctx.fillText(String(r.value), labelW + bw + 4, y + rowH * 0.7);
  });
  mark(canvas, rows.length, rows[0].value);
}
