/**
 * The browser demo (examples/browser/index.html): train a 3D U-Net on a zarr container from this
 * page with tfjs-zarr's browser entry — a container over http(s) or a folder the user picks, the
 * fastest backend of this browser, batches assembled in Web Workers, VOI per test crop after each
 * epoch with the best checkpoint per crop kept in IndexedDB. Everything is drawn in the page.
 *
 * URL parameters preset the form (data, epochs, batches, batch, patch, filters, lr, workers,
 * backend); `autostart=1` trains at once. `document.body.dataset.state` is 'training', 'stopped',
 * 'done' or 'error' (for tests).
 */
import * as tf from '@tensorflow/tfjs';
import {
  type BackendName,
  boundaryPostProcessor,
  type ContainerSource,
  type DataSplit,
  describeBackend,
  downloadCheckpoint,
  type Evaluation,
  maskedLoss,
  openDataSplit,
  predictCrop,
  trainingDataset,
  unet3d,
  useFastestBackend,
  ValidationHook,
} from 'tfjs-zarr';
import { COLOURS, greySlice, labelSlice, lineChart } from './charts.js';

const $ = <T extends HTMLElement = HTMLInputElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

interface Settings {
  backend: 'auto' | BackendName;
  epochs: number;
  batchesPerEpoch: number;
  batchSize: number;
  patch: [number, number, number];
  baseFilters: number;
  learningRate: number;
  workers: number | undefined;
}

/** One training session: its data, model, hook and what the charts show. */
interface Session {
  split: DataSplit;
  model: tf.LayersModel;
  hook: ValidationHook;
  settings: Settings;
  outputShape: number[];
  epochsDone: number;
  runs: number;
  losses: [number, number][];
  voi: Map<string, [number, number][]>;
}

let picked: ContainerSource | null = null;
let session: Session | null = null;
let stopRequested = false;

function setState(state: 'ready' | 'training' | 'stopped' | 'done' | 'error', text: string): void {
  document.body.dataset['state'] = state;
  $('status').textContent = text;
  $('status').classList.toggle('error', state === 'error');
  $<HTMLButtonElement>('train').disabled = state === 'training';
  $<HTMLButtonElement>('stop').disabled = state !== 'training';
  $<HTMLButtonElement>('continue').disabled = state === 'training' || session === null;
}

function readSettings(): Settings {
  const number = (id: string) => Number($(id).value);
  const patch = $('patch')
    .value.split(',')
    .map((s) => Number(s.trim()));
  if (patch.length !== 3 || patch.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`patch must be three positive integers z,y,x, got ${$('patch').value}`);
  }
  const workers = $('workers').value.trim();
  return {
    backend: $<HTMLSelectElement>('backend-choice').value as Settings['backend'],
    epochs: number('epochs'),
    batchesPerEpoch: number('batches'),
    batchSize: number('batch'),
    patch: patch as [number, number, number],
    baseFilters: number('filters'),
    learningRate: number('lr'),
    workers: workers === '' ? undefined : Number(workers),
  };
}

/** The part of each prediction tile kept: the centre, away from the zero-padded borders. */
function keptShape(patch: readonly number[]): number[] {
  return patch.map((s) => s - 2 * Math.floor(s / 8));
}

async function start(): Promise<void> {
  const settings = readSettings();
  setState('training', 'Choosing a backend…');
  await useFastestBackend(settings.backend === 'auto' ? {} : { prefer: settings.backend });
  $('backend').textContent = `backend: ${describeBackend()}`;
  setState('training', 'Opening the container…');
  const split = await openDataSplit(picked ?? $('url').value);
  const dataset = trainingDataset(split.train, datasetOptions(settings, 0));
  const { channels, targetChannels } = await dataset.setup();
  dataset.close();
  const model = unet3d({
    inputShape: [...settings.patch, channels],
    outputChannels: targetChannels,
    baseFilters: settings.baseFilters,
    depth: 2,
    seed: 1,
  });
  model.compile({ optimizer: tf.train.adam(settings.learningRate), loss: maskedLoss('binaryCrossentropy') });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const outputShape = keptShape(settings.patch);
  const hook = new ValidationHook({
    crops: split.test,
    runDir: `indexeddb://demo-${stamp}`,
    predict: { outputShape },
    onEvaluation: (e) => showEvaluation(e),
  });
  $('rundir').textContent = `(kept in ${hook.options.runDir})`;
  const voi = new Map(split.test.map((c) => [c.name, [] as [number, number][]]));
  session = { split, model, hook, settings, outputShape, epochsDone: 0, runs: 0, losses: [], voi };
  $<HTMLSelectElement>('crop').replaceChildren(...split.test.map((c) => new Option(c.name, c.name)));
  await train(session);
}

function datasetOptions(settings: Settings, run: number): Parameters<typeof trainingDataset>[1] {
  return {
    inputShape: settings.patch,
    batchSize: settings.batchSize,
    seed: 1 + run,
    target: 'boundary',
    minMasked: 0.5,
    augment: { mirror: true, transpose: true, intensity: { scale: [0.8, 1.2], shift: [-0.1, 0.1] } },
    reuseDisposed: true,
    ...(settings.workers === undefined ? {} : { workers: settings.workers }),
  };
}

/** Trains `settings.epochs` more epochs (a new sample sequence for each continuation). */
async function train(s: Session): Promise<void> {
  stopRequested = false;
  const dataset = trainingDataset(s.split.train, datasetOptions(s.settings, s.runs++));
  const first = s.epochsDone;
  let batches = s.losses.length;
  let started = performance.now();
  const progress = new tf.CustomCallback({
    onEpochBegin: async () => {
      started = performance.now();
    },
    onBatchEnd: async (batch, logs) => {
      s.losses.push([++batches, logs?.['loss'] ?? Number.NaN]);
      drawLoss(s);
      const rate = ((batch + 1) * s.settings.batchSize) / ((performance.now() - started) / 1000);
      setState(
        'training',
        `Epoch ${s.epochsDone + 1}, batch ${batch + 1}/${s.settings.batchesPerEpoch}: ` +
          `loss ${(logs?.['loss'] ?? Number.NaN).toFixed(4)}, ${rate.toFixed(1)} samples/s, ${dataset.workersRunning} workers`,
      );
    },
    onEpochEnd: async (epoch) => {
      s.epochsDone = epoch + 1;
      setState('training', `Epoch ${epoch + 1} done; evaluating the test crops…`);
    },
  });
  try {
    await s.model.fitDataset(dataset, {
      epochs: first + s.settings.epochs,
      initialEpoch: first,
      batchesPerEpoch: s.settings.batchesPerEpoch,
      callbacks: [progress, s.hook],
      verbose: 0,
    });
  } finally {
    dataset.close();
  }
  const stopped = stopRequested;
  setState(
    stopped ? 'stopped' : 'done',
    `${stopped ? 'Stopped' : 'Done'} after ${s.epochsDone} epochs. Continue trains ${s.settings.epochs} more.`,
  );
}

function drawLoss(s: Session): void {
  lineChart($<HTMLCanvasElement>('loss'), [{ name: 'loss', points: s.losses, colour: COLOURS[0]! }], {
    x: 'batch',
    y: 'loss',
  });
}

function drawVoi(s: Session): void {
  const series = [...s.voi].map(([crop, points], i) => {
    const best = s.hook.best.get(crop);
    return {
      name: crop,
      points,
      colour: COLOURS[i % COLOURS.length]!,
      ...(best ? { mark: { x: best.epoch + 1, label: `best: epoch ${best.epoch + 1}` } } : {}),
    };
  });
  lineChart($<HTMLCanvasElement>('voi'), series, { x: 'epoch', y: 'VOI' });
}

async function showEvaluation(e: Evaluation): Promise<void> {
  const s = session!;
  for (const row of e.best) s.voi.get(row.crop)?.push([e.epoch + 1, row.voi]);
  drawVoi(s);
  drawBestTable(s);
  await drawSlices(s, e);
}

function drawBestTable(s: Session): void {
  const rows = [...s.hook.best.values()].map((b) => {
    const tr = document.createElement('tr');
    const cells = [b.crop, String(b.epoch + 1), b.voi.toFixed(4), b.voiSplit.toFixed(4), b.voiMerge.toFixed(4)];
    cells.push(String(b.parameters['threshold'] ?? ''));
    for (const text of cells) tr.append(Object.assign(document.createElement('td'), { textContent: text }));
    const button = Object.assign(document.createElement('button'), { textContent: 'download', type: 'button' });
    button.onclick = () => void downloadCheckpoint(b.checkpoint, { name: `${b.crop}-epoch${b.epoch + 1}` });
    const td = document.createElement('td');
    td.append(button);
    tr.append(td);
    return tr;
  });
  $('best').replaceChildren(...rows);
}

/** raw | labels | prediction | segmentation: the middle z section of the chosen test crop. */
async function drawSlices(s: Session, e: Evaluation): Promise<void> {
  const crop = s.split.test.find((c) => c.name === $<HTMLSelectElement>('crop').value) ?? s.split.test[0]!;
  const threshold = Number(e.best.find((r) => r.crop === crop.name)?.parameters['threshold'] ?? 0.5);
  const prediction = await predictCrop(s.model, crop, { outputShape: s.outputShape });
  const [z, h, w, c] = prediction.shape as [number, number, number, number];
  const instances = boundaryPostProcessor({ thresholds: [threshold] }).apply(prediction.data, prediction.shape, {
    threshold,
  });
  const sample = await crop.read(prediction.roi);
  const section = <V extends number | bigint>(data: ArrayLike<V>, shape: readonly number[], channels = 1): V[] => {
    const [sz, sy, sx] = shape as [number, number, number];
    const k = Math.floor(sz / 2);
    return Array.from({ length: sy * sx }, (_, i) => data[(k * sy * sx + i) * channels]!);
  };
  const scale = Math.max(2, Math.floor(240 / Math.max(h, w)));
  const [rz, ry, rx, rc] = sample.rawShape as [number, number, number, number];
  const rawScale = Math.max(1, Math.round((scale * w) / rx));
  greySlice($<HTMLCanvasElement>('raw'), section(sample.raw, [rz, ry, rx], rc), ry, rx, rawScale);
  labelSlice($<HTMLCanvasElement>('labels'), section<number | bigint>(sample.labels, sample.labelShape), h, w, scale);
  greySlice($<HTMLCanvasElement>('prediction'), section(prediction.data, [z, h, w], c), h, w, scale);
  labelSlice($<HTMLCanvasElement>('segmentation'), section(instances, [z, h, w]), h, w, scale);
  $('slice-caption').textContent = `(epoch ${e.epoch + 1}, threshold ${threshold}, z = ${Math.floor(z / 2)})`;
}

function fail(e: unknown): void {
  console.error(e);
  setState('error', `Error: ${(e as Error).message}`);
}

function init(): void {
  $('url').value = new URL(params.get('data') ?? '/data/demo.zarr', location.href).href;
  for (const [param, id] of Object.entries({
    epochs: 'epochs',
    batches: 'batches',
    batch: 'batch',
    patch: 'patch',
    filters: 'filters',
    lr: 'lr',
    workers: 'workers',
    backend: 'backend-choice',
  })) {
    const value = params.get(param);
    if (value !== null) $(id).value = value;
  }
  $('pick').onclick = async () => {
    const picker = (window as { showDirectoryPicker?: () => Promise<FileSystemDirectoryHandle> }).showDirectoryPicker;
    if (!picker) return $('folder').click(); // no File System Access API: <input webkitdirectory>
    try {
      picked = await picker();
      $('picked').textContent = `picked: ${(picked as FileSystemDirectoryHandle).name}`;
    } catch {
      // the user cancelled
    }
  };
  $('folder').onchange = () => {
    const files = $('folder').files;
    picked = files && files.length > 0 ? files : null;
    $('picked').textContent = picked ? `picked: ${files!.length} files` : '';
  };
  $('url').oninput = () => {
    picked = null;
    $('picked').textContent = '';
  };
  $('train').onclick = () => void start().catch(fail);
  $('stop').onclick = () => {
    stopRequested = true;
    // fitDataset checks this after every batch; the epoch's evaluation still runs.
    if (session) session.model.stopTraining = true;
    $('status').textContent = 'Stopping after this batch (and the evaluation of this epoch)…';
  };
  $('continue').onclick = () => {
    if (session) void train(session).catch(fail);
  };
  $('crop').onchange = () => {
    const last = session?.hook.evaluations.at(-1);
    if (session && last) void drawSlices(session, last).catch(fail);
  };
  lineChart($<HTMLCanvasElement>('loss'), [], { x: 'batch', y: 'loss' });
  lineChart($<HTMLCanvasElement>('voi'), [], { x: 'epoch', y: 'VOI' });
  setState('ready', 'Ready: pick a container (the synthetic demo container is filled in) and train.');
  if (params.get('autostart') === '1') void start().catch(fail);
}

init();
