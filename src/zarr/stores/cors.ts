/**
 * Naming CORS refusals. In a page (or a worker), a cross-origin request that the server does not
 * allow fails exactly like a network error (a TypeError, no status). A `no-cors` HEAD request to
 * the same URL tells them apart: it succeeds (with an opaque answer) when the server is reachable,
 * so the failure was CORS. A cross-origin isolated page (COEP require-corp) cannot make that probe
 * unless the server sends Cross-Origin-Resource-Policy, so there a failed probe leaves both
 * causes open. Outside a page there is no CORS.
 */
export interface FetchFailure {
  /** 'yes': refused by CORS; 'maybe': CORS or the network, the page cannot tell; 'no': not CORS. */
  cors: 'yes' | 'maybe' | 'no';
  /** What to tell the user ('' when not CORS). */
  message: string;
}

export async function explainFetchFailure(url: string, range: boolean): Promise<FetchFailure> {
  const scope = globalThis as { location?: { origin?: string }; crossOriginIsolated?: boolean };
  const page = scope.location?.origin;
  if (!page || page === 'null') return { cors: 'no', message: '' };
  const target = new URL(url);
  if (target.origin === page) return { cors: 'no', message: '' };
  const needed =
    `it must send Access-Control-Allow-Origin: ${page} (or *)` +
    (range
      ? ', and answer the preflight (OPTIONS) of range requests with Access-Control-Allow-Headers: Range ' +
        '(Access-Control-Expose-Headers: Content-Range lets the reader check the ranges it gets)'
      : '') +
    (scope.crossOriginIsolated
      ? '; this page is cross-origin isolated, so also Cross-Origin-Resource-Policy: cross-origin'
      : '');
  try {
    await fetch(url, { method: 'HEAD', mode: 'no-cors', cache: 'no-store' });
  } catch {
    if (!scope.crossOriginIsolated) return { cors: 'no', message: '' }; // unreachable: a genuine network error
    return {
      cors: 'maybe',
      message: `the server at ${target.origin} is unreachable or does not allow this page (${page}) by CORS; if it is CORS, ${needed}`,
    };
  }
  return {
    cors: 'yes',
    message: `blocked by CORS: the server at ${target.origin} answers, but does not let this page (${page}) read it; ${needed}`,
  };
}
