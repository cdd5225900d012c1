/**
 * `npm run demo:browser [-- --port N]`: builds the browser demo and serves it on
 * http://127.0.0.1:N/ (default 8123; 0 picks a free port) until Ctrl-C. Open the printed URL in
 * Chrome, Edge or Firefox: train a U-Net on the synthetic container (or your own: a URL whose
 * server allows the page by CORS, or a folder you pick), watch the loss, VOI per test crop and
 * slices, and download the best checkpoint per crop.
 */
import { startDemo } from './demo.js';

const at = process.argv.indexOf('--port');
const port = at >= 0 ? Number(process.argv[at + 1]) : 8123;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number (0: any free port), got ${process.argv[at + 1]}`);
  process.exit(2);
}
try {
  const server = await startDemo({ port });
  console.log(`tfjs-zarr browser demo: ${server.url}/  (Ctrl-C stops the server)`);
  process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
} catch (e) {
  const busy = (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
  console.error(busy ? `port ${port} is in use: try --port 0 (any free port)` : (e as Error).stack);
  process.exit(1);
}
