import { parseArgs } from 'node:util';
import { SluiceError } from '../../lib/errors.js';
import type { Role } from '../../domain/types.js';
import type { SluiceClient } from './client.js';

/** Exit codes of every command (documented in `sluice --help` and the README). */
export const EXIT = {
  /** The command did what was asked. */
  ok: 0,
  /** An error: the service refused, a file is missing, a run failed. */
  error: 1,
  /** Bad usage: unknown command or flag, a missing argument, a malformed value. */
  usage: 2,
  /** An output was blocked by the audit (submit --wait, status). */
  blocked: 3,
} as const;

/** One flag of a command. */
export interface FlagSpec {
  /** `string` and `integer` take a value; `boolean` does not. */
  type: 'string' | 'integer' | 'boolean';
  description: string;
  /** Shown in help as the value's name, e.g. `N` in `--rows N`. */
  value?: string;
  /** Applied by the parser when the flag is absent, so help and behaviour agree. */
  default?: string | number;
  /** How the default is decided when it is not a constant (help text only). */
  defaultText?: string;
  required?: boolean;
  /** The only accepted values of a string flag. */
  choices?: readonly string[];
  /** Smallest accepted value of an integer flag (default 0). */
  min?: number;
}

/** One positional argument of a command. */
export interface ArgSpec {
  name: string;
  description: string;
  /** Default true. */
  required?: boolean;
}

/** What a handler receives. */
export interface CommandContext {
  /** Positional arguments by name. */
  args: Record<string, string | undefined>;
  /** Flags, with the table's defaults filled in; integers already checked. */
  flags: Record<string, string | number | boolean | undefined>;
  /** `--json`: print one JSON document on stdout instead of text. */
  json: boolean;
  /** The arguments after the command name, as typed (for commands that hand them on). */
  rawArgs: string[];
  /** Writes one line to stdout. */
  out(line: string): void;
  /** Writes one line to stderr. */
  err(line: string): void;
  /** Prints `value` as JSON on stdout. */
  printJson(value: unknown): void;
  /** A client of the service (SLUICE_URL/SLUICE_TOKEN or `<data root>/cli.json`). */
  client(): SluiceClient;
}

/** One row of the command table: it drives parsing, help, the README table and dispatch. */
export interface CommandSpec {
  /** One or two words: `runs`, `review approve`. */
  name: string;
  summary: string;
  /** Where it runs: in the domain's own process(es), or against the service's API. */
  group: 'local' | 'service';
  args?: ArgSpec[];
  flags?: Record<string, FlagSpec>;
  /** Accepts `--json` (every command that prints results does). */
  json?: boolean;
  /** The roles the service lets run it, for "what to do next" hints; absent = any role. */
  roles?: Role[];
  /** Longer text for `sluice <command> --help`. */
  details?: string;
  /** Returns the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** A usage mistake: exit code 2 and a pointer to the command's help. */
export class UsageError extends SluiceError {
  constructor(readonly command: string | null, message: string) {
    super('SLUICE_ERR_INPUT_INVALID', message);
  }
}

/**
 * Finds the command `argv` names: the longest name in the table whose words
 * start argv. Returns the command and the remaining arguments, or null.
 */
export function findCommand(table: readonly CommandSpec[], argv: readonly string[]): { spec: CommandSpec; rest: string[] } | null {
  let best: CommandSpec | null = null;
  for (const spec of table) {
    const words = spec.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.name.split(' ').length)) best = spec;
  }
  return best ? { spec: best, rest: argv.slice(best.name.split(' ').length) } : null;
}

/** Commands whose first word is `word` (the family of `sluice review …`). */
export function familyOf(table: readonly CommandSpec[], word: string): CommandSpec[] {
  return table.filter((c) => c.name.split(' ')[0] === word);
}

function flagHead(name: string, f: FlagSpec): string {
  return f.type === 'boolean' ? `--${name}` : `--${name} ${f.value ?? (f.type === 'integer' ? 'N' : 'VALUE')}`;
}

/** `review approve HASH --reason TEXT [--exception] [--json]`: the one-line synopsis. */
export function synopsis(spec: CommandSpec): string {
  const parts = [spec.name];
  for (const a of spec.args ?? []) parts.push(a.required === false ? `[${a.name}]` : a.name);
  for (const [name, f] of Object.entries(spec.flags ?? {})) parts.push(f.required ? flagHead(name, f) : `[${flagHead(name, f)}]`);
  if (spec.json) parts.push('[--json]');
  return parts.join(' ');
}

/**
 * Parses a command's arguments against its table row: unknown flags, missing
 * required flags or arguments, extra arguments and malformed integers are
 * UsageErrors naming the flag; defaults come from the table.
 */
export function parseCommandArgs(spec: CommandSpec, rest: string[]): { args: Record<string, string | undefined>; flags: Record<string, string | number | boolean | undefined>; json: boolean } {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, f] of Object.entries(spec.flags ?? {})) options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string' };
  if (spec.json) options['json'] = { type: 'boolean' };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? 'bad arguments';
    // node's messages name the flag ("Unknown option '--x'", "Option '--rows <value>' argument missing").
    throw new UsageError(spec.name, msg.replace(/\. To specify a positional argument.*$/, '').slice(0, 200));
  }
  const args: Record<string, string | undefined> = {};
  const argSpecs = spec.args ?? [];
  if (parsed.positionals.length > argSpecs.length) {
    const extra = parsed.positionals.slice(argSpecs.length);
    throw new UsageError(spec.name, `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((x) => `"${x.slice(0, 40)}"`).join(' ')}; ${spec.name} takes ${argSpecs.length ? argSpecs.map((a) => a.name).join(' ') : 'no arguments'}`);
  }
  argSpecs.forEach((a, i) => {
    const v = parsed.positionals[i];
    if (v === undefined && a.required !== false) throw new UsageError(spec.name, `${a.name}: expected ${a.description.replace(/\.$/, '')}, found nothing`);
    args[a.name] = v;
  });
  const flags: Record<string, string | number | boolean | undefined> = {};
  for (const [name, f] of Object.entries(spec.flags ?? {})) {
    const raw = parsed.values[name];
    if (f.type === 'boolean') {
      flags[name] = raw === true;
      continue;
    }
    if (raw === undefined || raw === '') {
      if (f.required) throw new UsageError(spec.name, `--${name}: expected ${f.description.replace(/\.$/, '').toLowerCase()}, found nothing`);
      flags[name] = f.default;
      continue;
    }
    const s = String(raw);
    if (f.type === 'integer') {
      const n = Number(s);
      const min = f.min ?? 0;
      if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n) || n < min) throw new UsageError(spec.name, `--${name}: expected a whole number ≥ ${min}, found "${s.slice(0, 20)}"`);
      flags[name] = n;
    } else {
      if (f.choices && !f.choices.includes(s)) throw new UsageError(spec.name, `--${name}: expected one of ${f.choices.join(', ')}, found "${s.slice(0, 40)}"`);
      flags[name] = s;
    }
  }
  return { args, flags, json: parsed.values['json'] === true };
}

const EXIT_TEXT = `Exit codes: 0 done · 1 error · 2 bad usage · 3 blocked (an output failed its audit)`;

/** `sluice --help`: every command of the table, grouped. */
export function renderHelp(table: readonly CommandSpec[], version: string): string {
  const width = Math.max(...table.map((c) => c.name.length)) + 2;
  const section = (group: CommandSpec['group']) => table.filter((c) => c.group === group).map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return [
    `sluice ${version} — the processing pipeline of a public-data authorized operation domain`,
    '',
    'Usage: sluice <command> [arguments] [flags]     sluice <command> --help     sluice --version',
    '',
    'In the domain (local):',
    ...section('local'),
    '',
    'Against the service (SLUICE_URL and SLUICE_TOKEN, or <data root>/cli.json):',
    ...section('service'),
    '',
    'Every command that prints results takes --json. Hashes are shown as 12 characters; any unique',
    'prefix of 8 or more is accepted where a HASH is asked for.',
    '',
    EXIT_TEXT,
    '',
    'Environment: SLUICE_DATA_ROOT (default ./.sluice), DATABASE_URL (PostgreSQL; default embedded PGlite),',
    'REDIS_URL (default 127.0.0.1:6379, else a private redis-server), SLUICE_URL, SLUICE_TOKEN.',
  ].join('\n');
}

/** `sluice <command> --help`: synopsis, arguments, flags with defaults, exit codes. */
export function renderCommandHelp(spec: CommandSpec): string {
  const lines = [`Usage: sluice ${synopsis(spec)}`, '', spec.summary];
  if (spec.details) lines.push('', spec.details);
  if (spec.roles) lines.push('', `Needs the role: ${spec.roles.join(' or ')}.`);
  const rows: [string, string][] = [];
  for (const a of spec.args ?? []) rows.push([a.name, a.description + (a.required === false ? ' (optional)' : '')]);
  const flagRows: [string, string][] = [];
  for (const [name, f] of Object.entries(spec.flags ?? {})) {
    const notes: string[] = [];
    if (f.required) notes.push('required');
    if (f.choices) notes.push(`one of ${f.choices.join(', ')}`);
    if (f.defaultText) notes.push(`default ${f.defaultText}`);
    else if (f.default !== undefined) notes.push(`default ${f.default}`);
    flagRows.push([flagHead(name, f), f.description + (notes.length ? ` (${notes.join('; ')})` : '')]);
  }
  if (spec.json) flagRows.push(['--json', 'print the result as one JSON document on stdout']);
  flagRows.push(['--help, -h', 'show this help']);
  const w = Math.max(...[...rows, ...flagRows].map((r) => r[0].length)) + 2;
  if (rows.length) lines.push('', 'Arguments:', ...rows.map(([k, v]) => `  ${k.padEnd(w)}${v}`));
  lines.push('', 'Flags:', ...flagRows.map(([k, v]) => `  ${k.padEnd(w)}${v}`));
  lines.push('', EXIT_TEXT);
  return lines.join('\n');
}

/** The README's CLI table, generated from the command table (a test keeps the README equal to it). */
export function renderMarkdownTable(table: readonly CommandSpec[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  // Outside code spans `<data root>` would be read as an HTML tag.
  const text = (s: string) => esc(s).replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    '| command | what it does | role |',
    '|---|---|---|',
    ...table.map((c) => `| \`sluice ${esc(synopsis(c))}\` | ${text(c.summary)} | ${c.roles ? c.roles.join(' or ') : c.group === 'local' ? 'on the domain host' : 'any'} |`),
  ].join('\n');
}
