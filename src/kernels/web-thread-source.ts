/**
 * A page's kernel thread code (web-thread.ts and what it imports, bundled for the browser as one ES
 * module), as a string: the package build (scripts/build-web-worker.ts) writes it into dist/, so
 * that threads start from a Blob URL with no file next to the user's bundle. Empty in the sources,
 * which Node runs (Node starts node-threads.ts instead).
 */
export const KERNEL_THREAD_SOURCE: string = '';
