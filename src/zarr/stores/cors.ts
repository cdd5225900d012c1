/**
 * Naming CORS refusals. In a page (or a worker), a cross-origin request that the server does not
 * allow fails exactly like a network error (a TypeError, no status). A `no-cors` HEAD request to
 * the same URL tells them apart: it succeeds (with an opaque answer) when the server is reachable,
 * so the failure was CORS. Outside a page there is no CORS and this says nothing.
 */
export async function corsFailure(url: string, range: boolean): Promise<string | null> {
  const page = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (!page || page === 'null') return null;
  const target = new URL(url);
  if (target.origin === page) return null;
  try {
    await fetch(url, { method: 'HEAD', mode: 'no-cors', cache: 'no-store' });
  } catch {
    return null; // unreachable: a genuine network error
  }
  return (
    `blocked by CORS: the server at ${target.origin} answers, but does not let this page (${page}) read it; ` +
    `it must send Access-Control-Allow-Origin: ${page} (or *)` +
    (range
      ? ', and answer the preflight (OPTIONS) of range requests with Access-Control-Allow-Headers: Range ' +
        '(Access-Control-Expose-Headers: Content-Range lets the reader check the ranges it gets)'
      : '')
  );
}
