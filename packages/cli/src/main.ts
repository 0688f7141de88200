/**
 * The `cloister` program: commander wiring, error reporting and exit codes. Commands live in
 * `commands/`, one file per command group (`server`; `admin` with a module per resource and `org`,
 * the administrators' commands over the admin API; `client`, with its device-list and identity
 * commands in `identity`).
 *
 * @module
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './commands/admin.js';
import { registerClientCommands } from './commands/client.js';
import { registerIdentityCommands } from './commands/identity.js';
import { registerOrgCommands } from './commands/org.js';
import { registerServerCommands } from './commands/server.js';
import { type CliIO, EXIT, resolveIO, UsageFailure } from './io.js';

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
    .allowExcessArguments(false);
  registerServerCommands(program, resolved);
  registerAdminCommands(program, resolved);
  registerOrgCommands(program, resolved);
  registerIdentityCommands(registerClientCommands(program, resolved), resolved);
  return program;
}

function describe(error: unknown): string {
  if (error instanceof Error && error.message.length > 0) return error.message;
  return 'unexpected failure';
}

/**
 * Runs the `cloister` command line `argv` (without the node and script names) and resolves its
 * exit code: `EXIT.ok` (0), `EXIT.failure` (1: the command failed; the reason is on stderr) or
 * `EXIT.usage` (2: the command line was wrong). `server start` resolves once the server has
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
    resolved.stderr(`error: ${describe(error)}\n`);
    return EXIT.failure;
  }
}
