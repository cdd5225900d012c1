/** A command line that does not parse: the command prints its usage and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
