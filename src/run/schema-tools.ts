/**
 * What the run-config schema (schema.ts) is built from and how its failures read: building blocks
 * whose failures map to one wording (`must be a number, got the string "4"`), the first issue of a
 * parse turned into a ConfigError naming its key path, unknown keys with the closest known one,
 * and a walk over the schema (the keys of an object, its defaults, its descriptions) shared by the
 * messages and the README's table.
 */
import * as v from 'valibot';
import { ConfigError, closest, describeValue, keyPath } from './check.js';

// Building blocks. Messages come from `issueMessage` unless a check writes its own.

export const finiteNumber = v.pipe(v.number(), v.finite());
export const integer = v.pipe(v.number(), v.integer());
export const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
export const nonEmptyString = v.pipe(v.string(), v.nonEmpty());
export const numberIn = (min: number, max: number) => v.pipe(finiteNumber, v.minValue(min), v.maxValue(max));
export const numberAbove = (bound: number) => v.pipe(finiteNumber, v.gtValue(bound));

/** An object with exactly these keys (not an array, which valibot's objects would take). */
export function object<E extends v.ObjectEntries>(entries: E) {
  const plain = v.custom<Record<string, unknown>>(
    (x) => x !== null && typeof x === 'object' && !Array.isArray(x),
    (issue) => `must be an object, got ${describeValue(issue.input)}`,
  );
  return v.pipe(plain, v.strictObject(entries));
}

/** [z, y, x] positive integers. */
export const shape3 = v.pipe(
  v.array(positiveInt),
  v.length(3),
  v.transform((s) => s as [number, number, number]),
);

/** [low, high] with low ≤ high, each entry valid for `entry`. */
export const range = (entry: v.GenericSchema<unknown, number> = finiteNumber) =>
  v.pipe(
    v.array(entry),
    v.length(2),
    v.check(
      (r) => r[0]! <= r[1]!,
      (issue) => `must be [low, high] with low ≤ high, got [${(issue.input as number[]).join(', ')}]`,
    ),
    v.transform((r) => r as [number, number]),
  );

/** What a key's metadata may say: what it is for, the message when it is missing, the table's default. */
export type About = {
  description: string;
  missing?: string;
  shownDefault?: string;
  /** A resumed run may change it (the schedule, where the data is...): no other run for it. */
  resumable?: boolean;
};

/** `schema` with what it is for (the README's table) and, for a required key, what to say when it is missing. */
export function about<S extends v.GenericSchema>(
  schema: S,
  description: string,
  extra: Omit<About, 'description'> = {},
) {
  return v.pipe(schema, v.metadata<v.InferOutput<S>, About>({ description, ...extra }));
}

// The schema's structure, as the messages and the README's table need it.

type Node = Record<string, unknown> & { type: string };
type PathItem = { key: unknown; input?: unknown };

/** The schema under optional/nullable wrappers (their default, if any, stays on the wrapper) and `object`'s guard. */
export function unwrap(schema: unknown): Node {
  let s = schema as Node;
  while (s.type === 'optional' || s.type === 'nullable' || s.type === 'nullish') s = s['wrapped'] as Node;
  return s.type === 'custom' ? (find(s, (n) => n.type === 'strict_object') ?? s) : s;
}

/** The first schema under `schema` (itself, wrapped, in its pipe or among its options) that `test` accepts. */
function find(schema: unknown, test: (n: Node) => boolean): Node | undefined {
  const s = schema as Node;
  if (test(s)) return s;
  const inner = [
    s['wrapped'],
    ...((s['pipe'] as Node[] | undefined) ?? []).filter((p) => p !== s && p.kind === 'schema'),
    ...((s['options'] as unknown[] | undefined) ?? []),
  ];
  for (const n of inner) {
    const found = n && typeof n === 'object' ? find(n, test) : undefined;
    if (found) return found;
  }
  return undefined;
}

/** The metadata given with `about`, wherever it sits in the schema's pipes and wrappers. */
export function aboutOf(schema: unknown): Partial<About> {
  let s = schema as Node | undefined;
  const found: Partial<About> = {};
  while (s) {
    for (const item of (s['pipe'] as Node[] | undefined) ?? []) {
      if (item.type === 'metadata') Object.assign(found, item['metadata']);
    }
    s = s['wrapped'] as Node | undefined;
  }
  return found;
}

/**
 * The object schemas a value at this node may be checked by: the object itself, the options of a
 * union that are objects, or the variant option for `input`'s discriminator (all options when
 * the input names none).
 */
function objectOptions(schema: unknown, input?: unknown): Node[] {
  const s = unwrap(schema);
  if (s.type === 'object' || s.type === 'strict_object') return [s];
  if (s.type === 'union') return (s['options'] as unknown[]).flatMap((o) => objectOptions(o, input));
  if (s.type === 'variant') {
    const options = (s['options'] as Node[]).map(unwrap);
    const key = s['key'] as string;
    const tag = (input as Record<string, unknown> | undefined)?.[key];
    const picked = options.filter((o) => variantTag(o, key) === tag);
    return picked.length > 0 ? picked : options;
  }
  return [];
}

function variantTag(option: Node, key: string): unknown {
  return unwrap((option['entries'] as Record<string, Node>)[key])['literal'];
}

/**
 * The entries of the object schema at the first `depth` keys of `path` (the values along the path,
 * from its first item's input, pick variant options).
 */
function entriesAt(root: unknown, path: readonly PathItem[], depth = path.length): Record<string, Node> {
  let node: unknown = root;
  let value: unknown = path[0]?.input;
  for (const item of path.slice(0, depth)) {
    const key = String(item.key);
    const owner = objectOptions(node, value).find((o) => key in (o['entries'] as object));
    value = (value as Record<string, unknown> | undefined)?.[key];
    if (owner) {
      node = (owner['entries'] as Record<string, unknown>)[key];
      continue;
    }
    const list = unwrap(node);
    const array =
      list.type === 'array'
        ? list
        : list.type === 'union'
          ? (list['options'] as unknown[]).map(unwrap).find((o) => o.type === 'array')
          : undefined;
    node = array?.['item'];
    if (node === undefined) return {};
  }
  return (objectOptions(node, value)[0]?.['entries'] as Record<string, Node> | undefined) ?? {};
}

/** The schema of the key at the end of `path`. */
function entryAt(root: unknown, path: readonly PathItem[]): Node | undefined {
  if (path.length === 0) return root as Node;
  const last = path[path.length - 1]!;
  if (typeof last.key === 'number') {
    // An item of a list (`validation.scores[0]`): the list's item schema.
    const list = entryAt(root, path.slice(0, -1));
    return list && (find(unwrap(list), (n) => n.type === 'array')?.['item'] as Node | undefined);
  }
  return entriesAt(root, path, path.length - 1)[String(path[path.length - 1]!.key)];
}

/** The node at the first `depth` keys of `path` (the object or variant holding a key). */
function nodeAt(root: unknown, path: readonly PathItem[], depth: number): Node {
  return unwrap(depth === 0 ? root : entryAt(root, path.slice(0, depth)));
}

/** The key paths marked `resumable` (`optimizer.learningRate`), through nested objects. */
export function resumableKeys(schema: unknown, parent = ''): string[] {
  const entries = (find(unwrap(schema), (n) => n.type === 'strict_object')?.['entries'] ?? {}) as Record<string, Node>;
  return Object.entries(entries).flatMap(([key, entry]) =>
    aboutOf(entry).resumable ? [keyPath(parent, key)] : resumableKeys(entry, keyPath(parent, key)),
  );
}

/** Each key's parsed default (a default object or array with its own defaults filled in). */
export function defaultsOf(schema: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(unwrap(schema)['entries'] as Record<string, Node>)) {
    if ((entry.type === 'optional' || entry.type === 'nullish') && entry['default'] !== undefined) {
      out[key] = v.parse(entry as unknown as v.GenericSchema, undefined);
    }
  }
  return out;
}

/** The keys of the object `schema` checks (also as one option of a union), in order; [] for others. */
export function keysOf(schema: unknown): string[] {
  const s = unwrap(schema);
  if (s.type === 'variant') return [];
  return Object.keys(find(s, (n) => n.type === 'strict_object')?.['entries'] ?? {});
}

// Issues as messages.

type Issue = v.BaseIssue<unknown>;

/** An issue with the whole path to it. */
type Located = { issue: Issue; path: PathItem[] };

const located = (issue: Issue, prefix: PathItem[] = []): Located => ({
  issue,
  path: [...prefix, ...((issue.path ?? []) as PathItem[])],
});

/** A key missing beside an unknown key is likely a typo of it: the unknown key is the better message. */
function preferTypo(chosen: Located, all: readonly Located[]): Located {
  const parentOf = (l: Located) =>
    l.path
      .slice(0, -1)
      .map((p) => String(p.key))
      .join('\u0000');
  if (chosen.issue.type !== 'strict_object' || chosen.issue.input !== undefined) return chosen;
  const typo = all.find(
    (l) => l.issue.type === 'strict_object' && l.issue.expected === 'never' && parentOf(l) === parentOf(chosen),
  );
  return typo ?? chosen;
}

/** The issue that says the most: inside a union, the one of the option that got furthest. */
function specific(issue: Issue, prefix: PathItem[] = []): Located {
  let current = located(issue, prefix);
  while (current.issue.type === 'union' && current.issue.issues && current.issue.issues.length > 0) {
    const options = current.issue.issues.map((i) => located(i, current.path));
    const deepest = options.reduce((a, b) => (b.path.length > a.path.length ? b : a));
    current = preferTypo(deepest, options);
  }
  return current;
}

/** The issue a message is about: the first one (the most specific inside it), or the typo beside it. */
function firstIssue(issues: readonly Issue[]): Located {
  const all = issues.map((i) => specific(i));
  return preferTypo(all[0]!, all);
}

function quoted(choices: readonly unknown[]): string {
  return choices.map((c) => `'${String(c)}'`).join(', ');
}

function oneOf(choices: readonly string[], input: unknown): string {
  const near = typeof input === 'string' ? closest(input, choices) : null;
  return `must be one of ${quoted(choices)}, got ${describeValue(input)}${near ? ` (did you mean '${near}'?)` : ''}`;
}

/** An unknown key: the closest known one, or the variant it belongs to (`offsets` of a boundary target). */
function unknownKeyMessage(root: unknown, path: PathItem[], key: string, parentKey: string): string {
  const parentInput = path[path.length - 1]?.input;
  const known = Object.keys(entriesAt(root, path, path.length - 1));
  const parentNode = nodeAt(root, path, path.length - 1);
  if (parentNode.type === 'variant') {
    const tagKey = parentNode['key'] as string;
    const owner = (parentNode['options'] as Node[]).map(unwrap).find((o) => key in (o['entries'] as object));
    if (owner) {
      const tag = (parentInput as Record<string, unknown>)[tagKey];
      return `is for ${parentKey} '${String(variantTag(owner, tagKey))}', not '${String(tag)}'`;
    }
  }
  const near = closest(key, known);
  return `unknown key${near ? ` (did you mean ${near}?)` : ''}; known keys${parentKey ? ` of ${parentKey}` : ''}: ${known.join(', ')}`;
}

/** The message of an issue of `root`'s parse, and the key path it is about. */
function issueMessage(root: unknown, { issue, path }: Located): { key: string; message: string } {
  const key = path.reduce<string>((k, p) => keyPath(k, p.key as string | number), '');
  const parentKey = path.slice(0, -1).reduce<string>((k, p) => keyPath(k, p.key as string | number), '');
  const input = issue.input;
  const got = `got ${describeValue(input)}`;
  const node = entryAt(root, path);
  const requirement = (issue as { requirement?: unknown }).requirement;
  switch (issue.type) {
    case 'strict_object':
    case 'object':
      if (issue.expected === 'never') return { key, message: unknownKeyMessage(root, path, String(input), parentKey) };
      if (input === undefined && path.length > 0) return { key, message: aboutOf(node).missing ?? 'is missing' };
      return { key, message: `must be an object, ${got}` };
    case 'number':
    case 'finite':
      return { key, message: `must be a number, ${got}` };
    case 'integer':
      return { key, message: `must be an integer, got ${input}` };
    case 'min_value':
      return { key, message: `must be at least ${requirement}, got ${input}` };
    case 'max_value':
      return { key, message: `must be at most ${requirement}, got ${input}` };
    case 'gt_value':
      return { key, message: `must be greater than ${requirement}, got ${input}` };
    case 'string':
    case 'non_empty':
      return { key, message: `must be a non-empty string, ${got}` };
    case 'boolean':
      return { key, message: `must be true or false, ${got}` };
    case 'array':
      return { key, message: `must be an array, ${got}` };
    case 'length':
      return { key, message: `must have ${requirement} entries, got ${(input as unknown[]).length}` };
    case 'picklist':
      return { key, message: oneOf(find(node, (n) => n.type === 'picklist')?.['options'] as string[], input) };
    case 'variant': {
      const variant = nodeAt(root, path, path.length - 1);
      if (variant.type !== 'variant') return { key, message: `must be an object, ${got}` };
      const tags = (variant['options'] as Node[]).map((o) => String(variantTag(unwrap(o), variant['key'] as string)));
      return { key, message: oneOf(tags, input) };
    }
    default:
      return { key, message: issue.message };
  }
}

/**
 * Parses `input` with `schema`; the first failure throws a ConfigError naming its key (through
 * `rename`: a flag's name for a value that came from the command line) and prefixed by `source`.
 */
export function parseOrThrow<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  rename: (key: string) => string,
  source?: string,
): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const { key, message } = issueMessage(schema, firstIssue(result.issues));
  throw new ConfigError(rename(key), message, source);
}
