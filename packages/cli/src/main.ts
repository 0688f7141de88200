/**
 * The `cloister` program: commander wiring, error reporting and exit codes. Commands live in
 * `commands/`, one file per command group (`server`; `admin` with a module per resource and `org`,
 * the administrators' commands over the admin API; `client`, with its device-list and identity
 * commands in `identity`).
 *
 * @module
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Help, type Option } from 'commander';
import { PIN_HELP } from './_client.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerClientCommands } from './commands/client.js';
import { registerDirectoryCommands } from './commands/directory.js';
import { registerIdentityCommands } from './commands/identity.js';
import { registerOrgCommands } from './commands/org.js';
import { registerServerCommands } from './commands/server.js';
import { type CliIO, EXIT, ExitFailure, resolveIO, UsageFailure } from './io.js';

function packageVersion(): string {
  try {
    // `src/main.ts` and the built `dist/*.js` both sit one level below the package root.
    const pkg = createRequire(import.meta.url)('../package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Builds the `cloister` program over `io` (the process's own streams, signals and exit by
 * default). Parse errors throw `CommanderError` instead of exiting; use {@link run} for the exit
 * code.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const program = buildProgram({ stdout: (text) => lines.push(text) });
 * await program.parseAsync(['server', 'start', '--port', '0'], { from: 'user' });
 * ```
 */
export function buildProgram(io: CliIO = {}): Command {
  const resolved = resolveIO(io);
  // Settings first: subcommands inherit them when they are created.
  const program = new Command('cloister')
    .description('Cloister: end-to-end-encrypted messaging for organisations')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .exitOverride()
    .configureOutput({ writeOut: resolved.stdout, writeErr: resolved.stderr })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    // Help marks the options a command cannot run without.
    .configureHelp({
      optionDescription(option: Option): string {
        const text = Help.prototype.optionDescription.call(this, option);
        return option.mandatory ? `${text} (required)` : text;
      },
    });
  registerServerCommands(program, resolved);
  registerAdminCommands(program, resolved);
  registerOrgCommands(program, resolved);
  registerAuditCommands(program, resolved);
  registerDirectoryCommands(program, resolved);
  const client = registerIdentityCommands(registerClientCommands(program, resolved), resolved);
  // Every client command that unlocks the device says where its PIN comes from.
  for (const command of client.commands) {
    if (command.options.some((o) => o.long === '--pin-file')) command.addHelpText('after', PIN_HELP);
  }
  return program;
}

function describe(error: unknown): string {
  if (error instanceof Error && error.message.length > 0) return error.message;
  return 'unexpected failure';
}

/** Node system codes of a connection failure that did not come as a `NetworkError` (the admin SDK's, after connecting). */
const SYSTEM_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * The line a connection failure behind `error` (itself or one of its causes) is reported with:
 * the client SDK's `NetworkError` message without its code (`cannot reach <origin>: <what>`), or
 * for a bare Node system error `cannot reach the server: …`; undefined for any other failure.
 */
async function connectionFailure(error: unknown): Promise<string | undefined> {
  const { NetworkError } = await import('@cloister/client');
  let found: InstanceType<typeof NetworkError> | undefined;
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof NetworkError) {
      found = e;
      break;
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SYSTEM_CODES.has(code)) {
      found = new NetworkError(code as InstanceType<typeof NetworkError>['code'], '');
      break;
    }
  }
  return found?.message.replace(/ \([A-Z_]+\)$/, '');
}

/**
 * Runs the `cloister` command line `argv` (without the node and script names) and resolves its
 * exit code: `EXIT.ok` (0), `EXIT.failure` (1: the command failed; the reason is on stderr),
 * `EXIT.usage` (2: the command line was wrong) or `EXIT.network` (3: the server could not be
 * reached; one line `error: cannot reach <server>: <what happened>` on stderr, no stack). `server start` resolves once the server has
 * stopped after a signal.
 *
 * @example
 * ```ts
 * process.exitCode = await run(process.argv.slice(2));
 * ```
 */
export async function run(argv: readonly string[], io: CliIO = {}): Promise<number> {
  const resolved = resolveIO(io);
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    // Commander has already written its message (and the hint) to stderr.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof UsageFailure) {
      resolved.stderr(`error: ${error.message}\n(add --help for usage)\n`);
      return EXIT.usage;
    }
    if (error instanceof ExitFailure) {
      resolved.stderr(`error: ${error.message}\n`);
      return error.exitCode;
    }
    const unreachable = await connectionFailure(error).catch(() => undefined);
    if (unreachable !== undefined) {
      resolved.stderr(`error: ${unreachable}\n`);
      return EXIT.network;
    }
    resolved.stderr(`error: ${describe(error)}\n`);
    return EXIT.failure;
  }
}
