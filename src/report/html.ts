/**
 * A static HTML report of a run: a summary, the loss curve, the table of best checkpoints with
 * their post-processing parameters, and per test crop the VOI curve (SVG) and a slice of raw /
 * ground truth / prediction / segmentation (PNG), all written under `<runDir>/report/`.
 */
import { mkdir, writeFile, rename } from 'node:fs/promises';
import * as path from 'node:path';
import { escapeXml } from './plot.js';

export interface CropReport {
  name: string;
  /** Best epoch (as displayed, e.g. counted from 1); null when the crop has no evaluation yet. */
  bestEpoch: number | null;
  voi: number;
  voiSplit: number;
  voiMerge: number;
  /** Path of the best checkpoint (absolute or relative to runDir). */
  checkpoint: string;
  /** An SVG document (e.g. from lineChartSvg). */
  plotSvg: string;
  /** A PNG file (e.g. from imageToPng(hconcat([...]))); absent when there is none to show. */
  slicePng?: Uint8Array;
  /** Post-processing parameters of the best checkpoint (e.g. { threshold: 0.5 }). */
  parameters?: Record<string, unknown>;
  /** Scores of reference methods on the same crop, by name (e.g. { 'threshold raw': 3.2 }). */
  baselines?: Record<string, number>;
  /** Caption under the slice image. */
  sliceCaption?: string;
  /** The best checkpoints by the other criteria (ValidationHook's keepBestBy). */
  otherBests?: OtherBest[];
  /** More plots: the other scores over epochs (SVG documents). */
  scorePlots?: { name: string; svg: string }[];
}

/** A crop's best checkpoint by a criterion other than the primary one. */
export interface OtherBest {
  criterion: string;
  /** As displayed (from 1); null when there is none yet. */
  epoch: number | null;
  value: number;
  parameters?: Record<string, unknown>;
  /** Path of the checkpoint (absolute or relative to runDir). */
  checkpoint: string;
}

export interface RunReport {
  title: string;
  crops: CropReport[];
  notes?: string[];
  /** Key-value rows shown first (epochs trained, backend, ...). */
  summary?: [string, string][];
  /** An SVG document of the loss over batches. */
  lossSvg?: string;
}

/** A file-name-safe version of a crop name. */
export function safeFileName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return s.length > 0 ? s : '_';
}

async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

function fmt(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

function href(p: string): string {
  return p.split(path.sep).map(encodeURIComponent).join('/');
}

/** Parameters as `threshold 0.5, grow 1`. */
function formatParameters(p: Record<string, unknown> | undefined): string {
  if (!p) return '–';
  const entries = Object.entries(p);
  return entries.length
    ? entries.map(([k, v]) => `${k} ${typeof v === 'number' ? v : JSON.stringify(v)}`).join(', ')
    : '–';
}

/**
 * Writes `<runDir>/report/index.html` with its SVG and PNG files; returns the index path.
 * (long: the page's sections in page order, each a few lines of markup.)
 */
export async function writeReport(runDir: string, report: RunReport): Promise<string> {
  const reportDir = path.join(runDir, 'report');
  await mkdir(reportDir, { recursive: true });
  const used = new Set<string>(['loss']);
  const sections: string[] = [];
  const rows: string[] = [];
  const otherRows: string[] = [];
  const baselineNames = [...new Set(report.crops.flatMap((c) => Object.keys(c.baselines ?? {})))];
  const withParameters = report.crops.some((c) => c.parameters !== undefined);

  for (const crop of report.crops) {
    let base = safeFileName(crop.name);
    for (let i = 2; used.has(base); i++) base = `${safeFileName(crop.name)}_${i}`;
    used.add(base);
    const svgName = `${base}_voi.svg`;
    const pngName = `${base}_slice.png`;
    await writeAtomic(path.join(reportDir, svgName), crop.plotSvg);
    if (crop.slicePng) await writeAtomic(path.join(reportDir, pngName), crop.slicePng);

    const ckptAbs = path.resolve(runDir, crop.checkpoint);
    const ckptRel = path.relative(reportDir, ckptAbs);
    const anchor = `crop-${base}`;
    const evaluated = crop.bestEpoch !== null;
    const checkpointLink = evaluated
      ? `<a href="${escapeXml(href(ckptRel))}"><code>${escapeXml(crop.checkpoint)}</code></a>`
      : '–';
    rows.push(
      `<tr><td><a href="#${escapeXml(anchor)}">${escapeXml(crop.name)}</a></td><td>${evaluated ? crop.bestEpoch : '–'}</td>` +
        `<td><b>${evaluated ? fmt(crop.voi) : '–'}</b></td><td>${evaluated ? fmt(crop.voiSplit) : '–'}</td>` +
        `<td>${evaluated ? fmt(crop.voiMerge) : '–'}</td>` +
        (withParameters ? `<td class="text">${escapeXml(formatParameters(crop.parameters))}</td>` : '') +
        baselineNames
          .map((b) => `<td>${crop.baselines?.[b] === undefined ? '–' : fmt(crop.baselines[b]!)}</td>`)
          .join('') +
        `<td>${checkpointLink}</td></tr>`,
    );
    for (const b of crop.otherBests ?? []) {
      const link = path.relative(reportDir, path.resolve(runDir, b.checkpoint));
      otherRows.push(
        `<tr><td>${escapeXml(crop.name)}</td><td class="text">${escapeXml(b.criterion)}</td>` +
          `<td>${b.epoch ?? '–'}</td><td><b>${b.epoch === null ? '–' : fmt(b.value)}</b></td>` +
          `<td class="text">${escapeXml(formatParameters(b.parameters))}</td>` +
          `<td>${b.epoch === null ? '–' : `<a href="${escapeXml(href(link))}"><code>${escapeXml(b.checkpoint)}</code></a>`}</td></tr>`,
      );
    }
    const plots: string[] = [];
    for (const plot of crop.scorePlots ?? []) {
      const name = `${base}_${safeFileName(plot.name)}.svg`;
      await writeAtomic(path.join(reportDir, name), plot.svg);
      plots.push(
        `<figure><img src="${escapeXml(name)}" alt="${escapeXml(plot.name)} per epoch for ${escapeXml(crop.name)}"></figure>`,
      );
    }
    const baselineList = Object.entries(crop.baselines ?? {});
    sections.push(
      [
        `<section id="${escapeXml(anchor)}">`,
        `<h2>${escapeXml(crop.name)}</h2>`,
        evaluated
          ? `<p>Best epoch <b>${crop.bestEpoch}</b>: VOI <b>${fmt(crop.voi)}</b> ` +
            `(split ${fmt(crop.voiSplit)}, merge ${fmt(crop.voiMerge)})` +
            (crop.parameters ? ` with ${escapeXml(formatParameters(crop.parameters))}` : '') +
            `. Checkpoint: ${checkpointLink}.</p>`
          : '<p>Not evaluated yet.</p>',
        baselineList.length > 0
          ? `<p>Baselines: ${baselineList.map(([k, v]) => `${escapeXml(k)} ${fmt(v)}`).join(', ')} (VOI, lower is better).</p>`
          : '',
        `<figure><img src="${escapeXml(svgName)}" alt="VOI per epoch for ${escapeXml(crop.name)}"></figure>`,
        ...plots,
        crop.slicePng
          ? `<figure><img class="slice" src="${escapeXml(pngName)}" alt="slice of ${escapeXml(crop.name)}">` +
            `<figcaption>${escapeXml(crop.sliceCaption ?? 'raw | ground truth | prediction (middle section)')}</figcaption></figure>`
          : crop.sliceCaption
            ? `<p>${escapeXml(crop.sliceCaption)}</p>`
            : '',
        `</section>`,
      ]
        .filter((l) => l !== '')
        .join('\n'),
    );
  }
  if (report.lossSvg) await writeAtomic(path.join(reportDir, 'loss.svg'), report.lossSvg);

  const notes = report.notes ?? [];
  const summary = report.summary ?? [];
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(report.title)}</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 1000px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child, td:last-child, td.text { text-align: left; }
table.summary td { text-align: left; }
img.slice { image-rendering: pixelated; max-width: 100%; }
figure { margin: 1em 0; }
figcaption { color: #555; font-size: 0.9em; }
section { border-top: 1px solid #ddd; margin-top: 2em; }
</style>
</head>
<body>
<h1>${escapeXml(report.title)}</h1>
${
  summary.length > 0
    ? `<table class="summary">\n${summary.map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`).join('\n')}\n</table>`
    : ''
}
${notes.length > 0 ? `<ul class="notes">\n${notes.map((n) => `<li>${escapeXml(n)}</li>`).join('\n')}\n</ul>` : ''}
${report.lossSvg ? '<figure><img src="loss.svg" alt="training loss over batches"></figure>' : ''}
<h2>Best checkpoints</h2>
<table>
<thead><tr><th>crop</th><th>best epoch</th><th>VOI</th><th>split</th><th>merge</th>${withParameters ? '<th>parameters</th>' : ''}${baselineNames
    .map((b) => `<th>${escapeXml(b)}</th>`)
    .join('')}<th>checkpoint</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
${
  otherRows.length > 0
    ? `<h2>Best checkpoints by other criteria</h2>\n<table>\n<thead><tr><th>crop</th><th>criterion</th><th>best epoch</th><th>value</th><th>parameters</th><th>checkpoint</th></tr></thead>\n<tbody>\n${otherRows.join('\n')}\n</tbody>\n</table>`
    : ''
}
${sections.join('\n')}
</body>
</html>
`;
  const index = path.join(reportDir, 'index.html');
  await writeAtomic(index, html);
  return index;
}
