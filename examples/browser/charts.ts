/**
 * The demo's drawings on canvases: line charts (loss over batches, VOI over epochs with the best
 * epoch marked) and slices of volumes (grey values, label colours).
 */

export interface Series {
  name: string;
  points: [number, number][];
  colour: string;
  /** x of a point to mark (the best epoch), with its label. */
  mark?: { x: number; label: string };
}

export const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

function context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  return ctx;
}

/** Draws `series` on `canvas` with axes, ticks, a legend and the marks. */
export function lineChart(canvas: HTMLCanvasElement, series: Series[], labels: { x: string; y: string }): void {
  const ctx = context(canvas);
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const left = 52;
  const right = 12;
  const top = 28;
  const bottom = 36;
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  ctx.font = '12px sans-serif';
  ctx.fillStyle = '#555';
  if (all.length === 0) {
    ctx.fillText('waiting for data…', left + 10, top + 20);
    return;
  }
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.08;
  [y0, y1] = [Math.max(0, y0 - pad), y1 + pad];
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const py = (y: number) => top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom);
  // Axes and ticks.
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, height - bottom);
  ctx.lineTo(width - right, height - bottom);
  ctx.stroke();
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    ctx.fillText(y.toFixed(y1 - y0 < 0.1 ? 4 : 3), 4, py(y) + 4);
  }
  // x: batches and epochs are whole numbers; ticks at whole numbers.
  const step = Math.max(1, Math.ceil((x1 - x0) / 6));
  for (let x = x0; x <= x1; x += step) ctx.fillText(String(x), px(x) - 6, height - bottom + 14);
  ctx.fillText(labels.x, width / 2 - 20, height - 6);
  // Lines, points, marks, legend.
  series.forEach((s, i) => {
    const points = s.points.filter(([, y]) => Number.isFinite(y));
    ctx.strokeStyle = s.colour;
    ctx.fillStyle = s.colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    for (const [j, [x, y]] of points.entries()) {
      if (j === 0) ctx.moveTo(px(x), py(y));
      else ctx.lineTo(px(x), py(y));
    }
    ctx.stroke();
    if (points.length < 60) for (const [x, y] of points) ctx.fillRect(px(x) - 2, py(y) - 2, 4, 4);
    const mark = s.mark && points.find(([x]) => x === s.mark!.x);
    if (mark) {
      ctx.beginPath();
      ctx.arc(px(mark[0]), py(mark[1]), 6, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.stroke();
      const label = s.mark!.label;
      const [lx, ly] = [Math.min(px(mark[0]) + 8, width - right - ctx.measureText(label).width), py(mark[1]) - 8];
      ctx.fillStyle = 'rgba(255, 255, 255, 0.8)';
      ctx.fillRect(lx - 2, ly - 11, ctx.measureText(label).width + 4, 14);
      ctx.fillStyle = s.colour;
      ctx.fillText(label, lx, ly);
    }
    ctx.fillText(`— ${s.name}`, left + 100 * i, 14);
  });
  ctx.fillStyle = '#555';
  ctx.fillText(labels.y, 4, top - 12);
}

/** Grey values in [0, 1] of a [h, w] slice, drawn at `scale` pixels per voxel. */
export function greySlice(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  h: number,
  w: number,
  scale: number,
): void {
  paint(canvas, h, w, scale, (i) => {
    const v = Math.max(0, Math.min(255, Math.round(values[i]! * 255)));
    return [v, v, v];
  });
}

/** Instance or label ids of a [h, w] slice, each id its own colour (0 black). */
export function labelSlice(
  canvas: HTMLCanvasElement,
  ids: ArrayLike<number | bigint>,
  h: number,
  w: number,
  scale: number,
): void {
  paint(canvas, h, w, scale, (i) => idColour(ids[i]!));
}

function idColour(id: number | bigint): [number, number, number] {
  if (id === 0 || id === 0n) return [0, 0, 0];
  // A hash of the id, so neighbouring ids differ.
  let h = Number(BigInt.asUintN(32, BigInt(id) * 2654435761n));
  h ^= h >>> 15;
  return [64 + (h & 0x7f) * 1.5, 64 + ((h >>> 8) & 0x7f) * 1.5, 64 + ((h >>> 16) & 0x7f) * 1.5].map(Math.round) as [
    number,
    number,
    number,
  ];
}

function paint(
  canvas: HTMLCanvasElement,
  h: number,
  w: number,
  scale: number,
  colour: (i: number) => [number, number, number],
): void {
  canvas.width = w * scale;
  canvas.height = h * scale;
  const ctx = context(canvas);
  const image = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = colour(i);
    image.data.set([r, g, b, 255], 4 * i);
  }
  const small = document.createElement('canvas');
  small.width = w;
  small.height = h;
  context(small).putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, w * scale, h * scale);
}
