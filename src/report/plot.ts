/** Standalone SVG line charts (axes, ticks, grid, legend) without dependencies. */

export interface Series {
  name: string;
  points: [number, number][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Force the y range (default: the data's, padded, with 0 included when close). */
  yRange?: [number, number];
  /** Draw a dot on each point (default: when a series has ≤ 60 points). */
  markers?: boolean;
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

function fmtTick(v: number, step: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e5 || abs < 1e-3) return v.toExponential(1);
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step > 0 ? step : 1) + 1e-9)));
  return v.toFixed(decimals);
}

function hashString(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/**
 * A standalone SVG document: one polyline per series, axes with ticks, grid and a legend.
 * (long: the chart's layers in drawing order, sharing the scales and plot frame.)
 */
export function lineChartSvg(series: readonly Series[], options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const margin = { top: 40, right: 20, bottom: 52, left: 68 };
  const legendRowH = 18;
  const pw = Math.max(10, width - margin.left - margin.right);
  const ph = Math.max(10, height - margin.top - margin.bottom);

  const finite = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])));
  let [x0, x1] = finite.length ? [Math.min(...finite.map((p) => p[0])), Math.max(...finite.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = finite.length ? [Math.min(...finite.map((p) => p[1])), Math.max(...finite.map((p) => p[1]))] : [0, 1];
  if (options.yRange) [y0, y1] = options.yRange;
  else {
    if (y0 >= 0 && y0 < 0.25 * y1) y0 = 0;
    const pad = (y1 - y0) * 0.05 || Math.abs(y1) * 0.1 || 1;
    y1 += pad;
    if (y0 !== 0) y0 -= pad;
  }
  if (x1 === x0) {
    x0 -= 1;
    x1 += 1;
  }
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor(pw / 80)));
  const yTicks = niceTicks(y0, y1, Math.max(2, Math.floor(ph / 50)));
  // Extend the ranges to the outer ticks so the axes end on a labelled value.
  if (xTicks.length) {
    x0 = Math.min(x0, xTicks[0]!);
    x1 = Math.max(x1, xTicks[xTicks.length - 1]!);
  }
  if (yTicks.length && !options.yRange) {
    y0 = Math.min(y0, yTicks[0]!);
    y1 = Math.max(y1, yTicks[yTicks.length - 1]!);
  }
  const sx = (x: number): number => margin.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => margin.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  const yStep = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(
    `<text x="${num(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  // Grid and ticks.
  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const t of yTicks)
    out.push(`<line x1="${margin.left}" x2="${margin.left + pw}" y1="${num(sy(t))}" y2="${num(sy(t))}"/>`);
  for (const t of xTicks)
    out.push(`<line x1="${num(sx(t))}" x2="${num(sx(t))}" y1="${margin.top}" y2="${margin.top + ph}"/>`);
  out.push('</g>');
  out.push('<g class="axes" stroke="#333" stroke-width="1">');
  out.push(`<line x1="${margin.left}" x2="${margin.left + pw}" y1="${margin.top + ph}" y2="${margin.top + ph}"/>`);
  out.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + ph}"/>`);
  for (const t of xTicks)
    out.push(`<line x1="${num(sx(t))}" x2="${num(sx(t))}" y1="${margin.top + ph}" y2="${margin.top + ph + 5}"/>`);
  for (const t of yTicks)
    out.push(`<line x1="${margin.left - 5}" x2="${margin.left}" y1="${num(sy(t))}" y2="${num(sy(t))}"/>`);
  out.push('</g>');
  out.push('<g class="tick-labels" fill="#333">');
  for (const t of xTicks) {
    out.push(
      `<text x="${num(sx(t))}" y="${margin.top + ph + 18}" text-anchor="middle">${escapeXml(fmtTick(t, xStep))}</text>`,
    );
  }
  for (const t of yTicks) {
    out.push(
      `<text x="${margin.left - 8}" y="${num(sy(t) + 4)}" text-anchor="end">${escapeXml(fmtTick(t, yStep))}</text>`,
    );
  }
  out.push('</g>');
  out.push(
    `<text x="${num(margin.left + pw / 2)}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
  );
  out.push(
    `<text x="16" y="${num(margin.top + ph / 2)}" text-anchor="middle" transform="rotate(-90 16 ${num(margin.top + ph / 2)})">${escapeXml(options.yLabel)}</text>`,
  );

  // Series.
  // An id unique to this chart, so several charts can be inlined in one page.
  const clipId = `plot-${hashString(`${options.title}\u0000${series.map((s) => s.name).join('\u0000')}`)}`;
  out.push(
    `<defs><clipPath id="${clipId}"><rect x="${margin.left}" y="${margin.top}" width="${pw}" height="${ph}"/></clipPath></defs>`,
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = s.points
      .filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))
      .slice()
      .sort((a, b) => a[0] - b[0]);
    out.push(`<g class="series" data-name="${escapeXml(s.name)}" clip-path="url(#${clipId})">`);
    if (pts.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${num(sx(p[0]))},${num(sy(p[1]))}`).join(' ')}"/>`,
      );
    }
    const markers = options.markers ?? pts.length <= 60;
    if (markers || pts.length === 1) {
      for (const p of pts) {
        out.push(
          `<circle cx="${num(sx(p[0]))}" cy="${num(sy(p[1]))}" r="3" fill="${color}"><title>${escapeXml(`${s.name}: (${p[0]}, ${p[1]})`)}</title></circle>`,
        );
      }
    }
    out.push('</g>');
  });

  // Legend, top-right inside the plot.
  if (series.length > 0) {
    const longest = Math.max(...series.map((s) => s.name.length));
    const lw = Math.min(pw, 34 + longest * 7);
    const lx = margin.left + pw - lw - 6;
    const ly = margin.top + 6;
    out.push(`<g class="legend">`);
    out.push(
      `<rect x="${lx}" y="${ly}" width="${lw}" height="${series.length * legendRowH + 8}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
    );
    series.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length]!;
      const y = ly + 4 + legendRowH * i + legendRowH / 2;
      out.push(`<line x1="${lx + 6}" x2="${lx + 24}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
      out.push(`<text x="${lx + 30}" y="${y + 4}">${escapeXml(s.name)}</text>`);
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
