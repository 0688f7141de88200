/**
 * Named steps of a browser scenario run as `node:test` subtests, one printed line each
 * (`ok   3. sign in … (812 ms): detail` or `FAIL …`); the first failure stops the scenario.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { TestContext } from 'node:test';

/**
 * Prints `text` with the scenario's prefix.
 *
 * @example
 * ```ts
 * const line = printer('portal');
 * line('passed');
 * ```
 */
export function printer(prefix: string): (text: string) => void {
  return (text) => process.stdout.write(`[${prefix}] ${text}\n`);
}

/**
 * Runs named steps in order; `afterEach` may throw to fail a step (console errors, say).
 *
 * @example
 * ```ts
 * const steps = new Steps(t, printer('portal'), 20_000, () => undefined);
 * await steps.run('sign in', async () => 'signed in');
 * ```
 */
export class Steps {
  #count = 0;
  readonly #t: TestContext;
  readonly #line: (text: string) => void;
  readonly #timeoutMs: number;
  readonly #afterEach: () => void;
  readonly #onFailure: ((title: string) => Promise<void>) | undefined;

  /** `onFailure` runs once a step failed or timed out (a screenshot, say). */
  constructor(
    t: TestContext,
    line: (text: string) => void,
    timeoutMs: number,
    afterEach: () => void,
    onFailure?: (title: string) => Promise<void>,
  ) {
    this.#t = t;
    this.#line = line;
    this.#timeoutMs = timeoutMs;
    this.#afterEach = afterEach;
    this.#onFailure = onFailure;
  }

  /** Runs `fn` as step `name`; it resolves the detail printed for the step. */
  async run(name: string, fn: () => Promise<string>, timeoutMs = this.#timeoutMs): Promise<void> {
    this.#count += 1;
    const title = `${this.#count}. ${name}`;
    let passed = false;
    let reported = false;
    let ended = false;
    await this.#t.test(title, { timeout: timeoutMs }, async () => {
      const started = performance.now();
      try {
        const detail = await fn();
        this.#afterEach();
        if (ended) return;
        passed = true;
        this.#line(`ok   ${title} (${Math.round(performance.now() - started)} ms): ${detail}`);
      } catch (error) {
        if (ended) return;
        reported = true;
        this.#line(`FAIL ${title}: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
    });
    ended = true;
    if (!passed) {
      if (!reported) this.#line(`FAIL ${title}: did not finish within ${timeoutMs / 1000} s`);
      await this.#onFailure?.(title).catch(() => undefined);
      throw new Error(`step "${title}" failed; the steps after it did not run`);
    }
  }

  /** How many steps ran. */
  get count(): number {
    return this.#count;
  }
}
