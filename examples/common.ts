/** Command-line options shared by the examples: `--smoke` (or TFJS_ZARR_SMOKE=1) and `--name value`. */
export function exampleArgs(argv: string[] = process.argv.slice(2)): {
  smoke: boolean;
  option: (name: string, fallback: string) => string;
} {
  const option = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  return { smoke: argv.includes('--smoke') || process.env['TFJS_ZARR_SMOKE'] === '1', option };
}
