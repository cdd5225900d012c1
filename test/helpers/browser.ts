/**
 * Opens a page in headless Chromium through the DevTools protocol over a pipe
 * (--remote-debugging-pipe: commands on fd 3, replies and events on fd 4, NUL-separated JSON)
 * and reports what a user would see: the images with their natural sizes, and every console
 * error, uncaught exception and failed load.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** The first Chromium on PATH, or null. */
export function findChromium(): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const p = path.join(dir, name);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return null;
}

export interface PageReport {
  title: string;
  images: { src: string; naturalWidth: number; naturalHeight: number }[];
  errors: string[];
}

/** The fields of protocol messages this helper reads. */
interface Message {
  id?: number;
  method?: string;
  params?: {
    type?: string;
    args?: { value?: unknown; description?: string }[];
    exceptionDetails?: { text?: string; exception?: { description?: string } };
    entry?: { level?: string; text?: string; url?: string };
  };
  result?: { targetId?: string; sessionId?: string; result?: { value?: unknown } };
  error?: { message: string };
  sessionId?: string;
}

export async function inspectPage(chromium: string, file: string, timeoutMs = 30_000): Promise<PageReport> {
  const profile = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-chromium-'));
  const child = spawn(
    chromium,
    [
      '--headless',
      '--disable-gpu',
      '--no-sandbox',
      '--no-first-run',
      '--disable-extensions',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));

  let nextId = 1;
  const pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  const listeners: ((m: Message) => void)[] = [];
  let buffer = '';
  fromBrowser.on('data', (chunk) => {
    buffer += String(chunk);
    for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
      const message = JSON.parse(buffer.slice(0, end)) as Message;
      buffer = buffer.slice(end + 1);
      if (message.id !== undefined && pending.has(message.id)) {
        const p = pending.get(message.id)!;
        pending.delete(message.id);
        if (message.error) p.reject(new Error(message.error.message));
        else p.resolve(message);
      } else {
        for (const l of listeners) l(message);
      }
    }
  });
  const send = (method: string, params: object = {}, sessionId?: string): Promise<Message> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      toBrowser.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });

  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    const errors: string[] = [];
    const { result: created } = await send('Target.createTarget', { url: 'about:blank' });
    const { result: attached } = await send('Target.attachToTarget', { targetId: created!.targetId, flatten: true });
    const session = attached!.sessionId!;
    let loaded!: () => void;
    const load = new Promise<void>((resolve) => (loaded = resolve));
    listeners.push((m) => {
      if (m.sessionId !== session) return;
      if (m.method === 'Page.loadEventFired') loaded();
      const p = m.params ?? {};
      if (m.method === 'Runtime.exceptionThrown') {
        errors.push(`exception: ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`);
      }
      if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) {
        errors.push(`console.${p.type}: ${JSON.stringify(p.args?.map((a) => a.value ?? a.description))}`);
      }
      if (m.method === 'Log.entryAdded' && p.entry?.level === 'error') {
        errors.push(`log: ${p.entry.text} ${p.entry.url ?? ''}`);
      }
    });
    await send('Page.enable', {}, session);
    await send('Runtime.enable', {}, session);
    await send('Log.enable', {}, session);
    await send('Page.navigate', { url: pathToFileURL(file).href }, session);
    await load;
    const { result } = await send(
      'Runtime.evaluate',
      {
        expression:
          'JSON.stringify({ title: document.title, images: Array.from(document.images).map((i) => ({ src: i.src, naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight })) })',
        returnByValue: true,
      },
      session,
    );
    const page = JSON.parse(result!.result!.value as string) as Omit<PageReport, 'errors'>;
    await send('Browser.close').catch(() => undefined);
    return { ...page, errors };
  } catch (e) {
    throw new Error(`chromium: ${(e as Error).message}\n${stderr.slice(-2000)}`);
  } finally {
    clearTimeout(timer);
    child.kill();
    await exited;
    await rm(profile, { recursive: true, force: true });
  }
}
