import { isSluiceError, SluiceError } from '../../lib/errors.js';
import { configureLog } from '../../lib/log.js';
import { clientConfig, SluiceClient } from './client.js';
import { COMMANDS } from './commands.js';
import { EXIT, familyOf, findCommand, parseCommandArgs, renderCommandHelp, renderHelp, UsageError, type CommandContext, type CommandSpec } from './table.js';
import { version } from '../version.js';

/** The version in package.json (service/version.ts). */
export { version };

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

let pipeHandled = false;
/**
 * `sluice runs | head -1`: when the reader goes away, stdout (or stderr) fails
 * with EPIPE. That is the reader's choice, not an error: exit 0, silently.
 */
function endQuietlyOnEpipe(): void {
  if (pipeHandled) return;
  pipeHandled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT.ok);
      throw e;
    });
  }
}

function roleHint(spec: CommandSpec): string {
  const role = spec.roles?.[0];
  if (!role) return '';
  const a = /^[aeiou]/.test(role) ? 'an' : 'a';
  return `${spec.name} needs the ${spec.roles!.join(' or ')} role; create ${a} ${role} with \`sluice user create --role ${role} --name N --org ORG\` (as an admin) and use its token (SLUICE_TOKEN=…)`;
}

/** The next step to suggest for an error, by its code and the command that met it. */
function hintFor(err: SluiceError, spec: CommandSpec | null): string | null {
  switch (err.code) {
    case 'SLUICE_ERR_AUTH_FORBIDDEN':
      return spec ? roleHint(spec) || null : null;
    case 'SLUICE_ERR_AUTH_MISSING':
      return 'no valid token: set SLUICE_TOKEN, or run `sluice init` once to create the first admin and <data root>/cli.json';
    default:
      return null;
  }
}

function familyHelp(word: string, family: CommandSpec[]): string {
  const w = Math.max(...family.map((c) => c.name.length)) + 2;
  return [`Usage: sluice ${word} <${family.map((c) => c.name.split(' ')[1]).join('|')}> …`, '', ...family.map((c) => `  ${c.name.padEnd(w)}${c.summary}`), '', `sluice ${word} <subcommand> --help for its flags`].join('\n');
}

/**
 * Runs the CLI; returns the exit code: 0 done, 1 error, 2 bad usage, 3 blocked.
 * Everything (parsing, help, dispatch) comes from the one command table.
 */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  if (io === processIo) endQuietlyOnEpipe();
  const isHelp = (a: string | undefined) => a === '--help' || a === '-h';
  const [first] = argv;
  let spec: CommandSpec | null = null;
  try {
    if (first === undefined || isHelp(first) || first === 'help') {
      const topic = first === 'help' ? argv.slice(1) : [];
      const found = topic.length ? findCommand(COMMANDS, topic) : null;
      if (topic.length && !found) {
        const family = familyOf(COMMANDS, topic[0]!);
        if (family.length === 0) throw new UsageError(null, `help: no command "${topic.join(' ').slice(0, 40)}"`);
        io.out(familyHelp(topic[0]!, family) + '\n');
        return EXIT.ok;
      }
      io.out((found ? renderCommandHelp(found.spec) : renderHelp(COMMANDS, version())) + '\n');
      return EXIT.ok;
    }
    if (first === '--version' || first === '-V') {
      io.out(`sluice ${version()}\n`);
      return EXIT.ok;
    }
    const found = findCommand(COMMANDS, argv);
    if (!found) {
      const family = familyOf(COMMANDS, first);
      if (family.length > 0) {
        if (isHelp(argv[1])) {
          io.out(familyHelp(first, family) + '\n');
          return EXIT.ok;
        }
        if (argv.length === 1) {
          io.err(familyHelp(first, family) + '\n');
          return EXIT.usage;
        }
        throw new UsageError(null, `${first}: expected a subcommand, one of ${family.map((c) => c.name.split(' ')[1]).join(', ')}; found "${(argv[1] ?? '').slice(0, 40)}"`);
      }
      throw new UsageError(null, `unknown command "${first.slice(0, 40)}"; \`sluice --help\` lists the commands`);
    }
    spec = found.spec;
    if (found.rest.some(isHelp)) {
      io.out(renderCommandHelp(spec) + '\n');
      return EXIT.ok;
    }
    const parsed = parseCommandArgs(spec, found.rest);
    let client: SluiceClient | null = null;
    const ctx: CommandContext = {
      ...parsed,
      rawArgs: found.rest.filter((a) => a !== '--json'),
      out: (line) => io.out(line + '\n'),
      err: (line) => io.err(line + '\n'),
      printJson: (value) => io.out(JSON.stringify(value, null, 2) + '\n'),
      client: () => (client ??= new SluiceClient(clientConfig())),
    };
    return await spec.run(ctx);
  } catch (e) {
    configureLog({ level: 'silent' });
    if (e instanceof UsageError) {
      const cmd = e.command ?? spec?.name ?? null;
      io.err(`usage error: ${e.message}\n${cmd ? `see \`sluice ${cmd} --help\`` : 'see `sluice --help`'}\n`);
      return EXIT.usage;
    }
    if (isSluiceError(e)) {
      const err = e as SluiceError;
      const hint = hintFor(err, spec);
      io.err(`error ${err.code}: ${err.message}\n${hint ? `${hint}\n` : ''}`);
    } else {
      io.err(`error: ${(e as Error).message ?? String(e)}\n`);
    }
    return EXIT.error;
  }
}
