/**
 * What the `cloister` command talks to: its output streams, the termination signals and the
 * process exit. Injectable so that tests run commands in-process.
 *
 * @module
 */
import type { PinWrapOptions } from '@cloister/crypto';

/**
 * Exit codes of the `cloister` command: 0 success, 1 the command failed, 2 the command line was
 * wrong (unknown command or option, missing or invalid argument), 3 the server could not be
 * reached (refused, reset, timed out, unresolvable name, failed TLS handshake, offline), 4 a
 * safety threshold stopped the command before it changed anything (`cloister directory sync`).
 *
 * @example
 * ```ts
 * const code = await run(['tenant', 'create']); // EXIT.usage: the id and --name are missing
 * if (code === EXIT.network) console.error('the server is not reachable; try again later');
 * ```
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, network: 3, threshold: 4 } as const;

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
  /**
   * The scrypt cost of the secrets this run wraps: the device PIN (`client enroll`) and the
   * administrator's key store (`admin login`, `admin key create` and `install`, `org init`).
   * Default the crypto package's `PIN_SCRYPT_DEFAULT`. Opening a wrapped secret always uses the
   * cost stored with it. Only a program that calls {@link run} itself can set this (the `cloister`
   * binary does not): a test suite running many commands lowers it to `PIN_SCRYPT_FLOOR`.
   */
  readonly pinWrap?: PinWrapOptions;
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
  /** The scrypt cost of new wraps ({@link CliIO.pinWrap}); undefined for the default. */
  readonly pinWrap: PinWrapOptions | undefined;
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
    pinWrap: io.pinWrap,
  };
}

/**
 * The key-store options of this run: its scrypt cost when {@link CliIO.pinWrap} sets one.
 *
 * @example
 * ```ts
 * const options = keyStoreOptions(resolveIO({})); // {}: the default cost
 * ```
 */
export function keyStoreOptions(io: ResolvedIO): { readonly scrypt?: NonNullable<PinWrapOptions['scrypt']> } {
  const scrypt = io.pinWrap?.scrypt;
  return scrypt === undefined ? {} : { scrypt };
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

/**
 * A failure with an exit code of its own (such as {@link EXIT}.threshold): its message is printed
 * as `error: <message>` and `run` resolves `exitCode`.
 *
 * @example
 * ```ts
 * throw new ExitFailure('the plan exceeds the threshold; nothing was applied', EXIT.threshold);
 * ```
 */
export class ExitFailure extends Error {
  override readonly name = 'ExitFailure';
  /** The exit code `run` resolves. */
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Reads a secret (a PIN, a passphrase, a password) typed on the terminal without echoing it, to
 * the end of the line; Ctrl-C rejects with `UsageFailure`. Callers check that stdin is a TTY.
 *
 * @example
 * ```ts
 * const pin = await promptHidden('PIN: ', io);
 * ```
 */
export function promptHidden(prompt: string, io: ResolvedIO): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolveSecret, reject) => {
    let secret = '';
    const wasRaw = stdin.isRaw;
    const done = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      io.stderr('\n');
      if (error === undefined) resolveSecret(secret);
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new UsageFailure('the prompt was cancelled'));
        if (ch === '\u007f' || ch === '\b') secret = [...secret].slice(0, -1).join('');
        else if (ch >= ' ') secret += ch;
      }
    };
    io.stderr(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
