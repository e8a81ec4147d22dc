import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../service/cli/commands.js';
import { main, type CliIo } from '../../../service/cli/main.js';
import { parseCommandArgs, renderMarkdownTable, type CommandSpec, type FlagSpec } from '../../../service/cli/table.js';
import { syntheticResidentId } from '../../../synthetic/person-ids.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

/** A value the parser must accept for a flag. */
function goodValue(f: FlagSpec): string {
  if (f.choices) return f.choices[0]!;
  if (f.type === 'integer') return String(Math.max(f.min ?? 0, 1000));
  return 'x';
}

/** Arguments that satisfy every required positional and flag of a command. */
function minimalArgs(spec: CommandSpec): string[] {
  const a: string[] = (spec.args ?? []).filter((x) => x.required !== false).map(() => 'ARG');
  for (const [name, f] of Object.entries(spec.flags ?? {})) if (f.required) a.push(`--${name}`, goodValue(f));
  return a;
}

/** The flags a help text documents: every `--name` at the start of a line in its Flags section. */
function documentedFlags(help: string): string[] {
  const section = help.split('\nFlags:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!);
}

describe('the command table drives parsing and help', () => {
  it('lists every command of the table in `sluice --help`, with the exit codes', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.out).toMatch(new RegExp(`^  ${c.name.replace(/ /g, ' ')}\\s`, 'm'));
    expect(r.out).toContain('0 done');
    expect(r.out).toContain('2 bad usage');
    expect(r.out).toContain('3 blocked');
    // Negative control: a name not in the table is not listed.
    expect(r.out).not.toMatch(/^ {2}consumer\s/m);
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))('`sluice %s --help` documents only flags the parser accepts', async (_name, spec) => {
    const r = await run([...spec.name.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain(`Usage: sluice ${spec.name}`);
    const documented = documentedFlags(r.out).filter((f) => f !== 'help');
    const inTable = [...Object.keys(spec.flags ?? {}), ...(spec.json ? ['json'] : [])];
    expect(documented.sort()).toEqual(inTable.sort());
    for (const flag of documented) {
      const f = spec.flags?.[flag];
      const extra = !f || f.type === 'boolean' ? [`--${flag}`] : [`--${flag}`, goodValue(f)];
      expect(() => parseCommandArgs(spec, [...minimalArgs(spec), ...extra])).not.toThrow();
    }
    // `-h` as well, and help wins over missing arguments (`plan --help` opens no file called --help).
    expect((await run([...spec.name.split(' '), '-h'])).out).toBe(r.out);
  });

  it('refuses an unknown flag, a missing argument and a malformed number with exit 2 naming it', async () => {
    const unknown = await run(['runs', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--bogus');
    expect(unknown.err).toContain('sluice runs --help');
    const missing = await run(['plan']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('SPEC');
    const extra = await run(['runs', 'surplus']);
    expect(extra.code).toBe(2);
    const bad = await run(['generate', '--rows', 'ten']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--rows');
    const choice = await run(['user', 'create', '--name', 'n', '--org', 'o', '--id-number', syntheticResidentId(1), '--role', 'boss']);
    expect(choice.code).toBe(2);
    expect(choice.err).toContain('--role');
    const reason = await run(['review', 'approve', 'abcdef0123']);
    expect(reason.code).toBe(2);
    expect(reason.err).toContain('--reason');
    const shortHash = await run(['review', 'approve', 'abc', '--reason', 'fine']);
    expect(shortHash.code).toBe(2);
    expect(shortHash.err).toContain('HASH');
    expect((await run(['nonsense'])).code).toBe(2);
    expect((await run(['review'])).code).toBe(2);
    expect((await run(['review', 'maybe'])).code).toBe(2);
  });

  it('fills defaults from the table, so help and behaviour agree', () => {
    const gen = COMMANDS.find((c) => c.name === 'generate')!;
    expect(parseCommandArgs(gen, []).flags).toMatchObject({ rows: 10_000, seed: 1, out: 'synthetic-data' });
    expect(parseCommandArgs(gen, ['--rows', '5']).flags['rows']).toBe(5);
  });

  it('prints the version from package.json', async () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`sluice ${pkg.version}`);
  });

  it('offers --json on every command that prints results', () => {
    // Commands that only start long-running processes print no result.
    const noResult = new Set(['demo', 'serve', 'worker']);
    for (const c of COMMANDS) expect(Boolean(c.json), c.name).toBe(!noResult.has(c.name));
  });

  it("keeps the README's CLI table equal to the command table", () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    const m = /<!-- cli-table:start[^>]*-->\n([\s\S]*?)\n<!-- cli-table:end -->/.exec(readme);
    expect(m, 'README.md needs the cli-table markers').not.toBeNull();
    expect(m![1]).toBe(renderMarkdownTable(COMMANDS));
  });

  it('answers `--help` from the real binary without opening a file or a service', () => {
    const r = spawnSync(process.execPath, ['bin/sluice.js', 'plan', '--help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SLUICE_URL: 'http://127.0.0.1:1' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: sluice plan SPEC');
    expect(r.stderr).toBe('');
  });
});
