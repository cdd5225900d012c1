#!/usr/bin/env node
/**
 * The `tfjs-zarr` command: one module per subcommand (`run(argv)` → exit code, `usage`,
 * `summary`), loaded only when used. Bad data exits non-zero with the library's message.
 */
import { UsageError } from './usage.js';

interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  inspect: () => import('./inspect.js'),
  train: () => import('./train.js'),
  report: () => import('./report.js'),
  predict: () => import('./predict.js'),
  segment: () => import('./segment.js'),
};

async function usage(): Promise<string> {
  const lines = ['usage: tfjs-zarr <command> [options]   (tfjs-zarr <command> --help for its options)', ''];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(9)} ${(await load()).summary}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(await usage());
    return name === undefined ? 1 : 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    console.error(`tfjs-zarr: unknown command ${JSON.stringify(name)}\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    // node:util parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    const code = (error as { code?: string }).code ?? '';
    if (error instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`tfjs-zarr ${name}: ${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`tfjs-zarr: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
