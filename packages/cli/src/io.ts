/**
 * What the `cloister` command talks to: its output streams, the termination signals and the
 * process exit. Injectable so that tests run commands in-process.
 *
 * @module
 */

/**
 * Exit codes of the `cloister` command: 0 success, 1 the command failed, 2 the command line was
 * wrong (unknown command or option, missing or invalid argument).
 *
 * @example
 * ```ts
 * const code = await run(['tenant', 'create']); // EXIT.usage: the id and --name are missing
 * ```
 */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * The command's surroundings. Every member is optional; absent ones are the process's own.
 *
 * @example
 * ```ts
 * const out: string[] = [];
 * const io: CliIO = { stdout: (text) => out.push(text), stderr: () => {} };
 * await run(['--help'], io);
 * ```
 */
export interface CliIO {
  /** Writes to standard output (results, the JSON line). Default `process.stdout.write`. */
  readonly stdout?: (text: string) => void;
  /** Writes to standard error (errors, warnings, progress). Default `process.stderr.write`. */
  readonly stderr?: (text: string) => void;
  /**
   * Calls `handler` when the process is asked to stop (SIGINT, SIGTERM) and returns a function
   * that stops listening. Default: the process's signals.
   */
  readonly onSignal?: (handler: (signal: string) => void) => () => void;
  /** Ends the process at once (a second signal while shutting down). Default `process.exit`. */
  readonly exit?: (code: number) => void;
}

/**
 * {@link CliIO} with every member present.
 *
 * @example
 * ```ts
 * const io: ResolvedIO = resolveIO({ stderr: () => {} });
 * io.stdout('hello\n');
 * ```
 */
export interface ResolvedIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly onSignal: (handler: (signal: string) => void) => () => void;
  readonly exit: (code: number) => void;
}

function processSignals(handler: (signal: string) => void): () => void {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}

/**
 * Fills in the process's own streams, signals and exit for the members `io` leaves out.
 *
 * @example
 * ```ts
 * const io = resolveIO({ stdout: (text) => lines.push(text) });
 * ```
 */
export function resolveIO(io: CliIO = {}): ResolvedIO {
  return {
    stdout: io.stdout ?? ((text) => void process.stdout.write(text)),
    stderr: io.stderr ?? ((text) => void process.stderr.write(text)),
    onSignal: io.onSignal ?? processSignals,
    exit: io.exit ?? ((code) => process.exit(code)),
  };
}

/**
 * A wrong command line found after parsing (options that must go together, a file that cannot be
 * read): reported like a parse error, with exit code 2.
 *
 * @example
 * ```ts
 * throw new UsageFailure('--tls-cert and --tls-key go together');
 * ```
 */
export class UsageFailure extends Error {
  override readonly name = 'UsageFailure';
}
