/**
 * The sample worker's code for a page (web-worker.ts and everything it imports, bundled for the
 * browser as one ES module), as a string: the package build (scripts/build-web-worker.ts) writes
 * it into dist/, so that workers start from a Blob URL with no file next to the user's bundle.
 * Empty in the sources, which Node runs (Node starts node.ts instead).
 */
export const WEB_WORKER_SOURCE: string = '';
