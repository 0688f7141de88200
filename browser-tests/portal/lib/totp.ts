/**
 * TOTP codes for the portal scenario, as an authenticator app shows them, without reusing a time
 * step: the server refuses a code whose 30-s step is not greater than the last one it accepted
 * for that administrator (within ±1 step of now). {@link TotpDevice} remembers the last step it
 * handed out and gives the next acceptable one, waiting when it must.
 *
 * @module
 */
import { URI as OtpUri, TOTP } from 'otpauth';

/** The TOTP step length the server uses, in ms. */
export const TOTP_STEP_MS = 30_000;

/**
 * One administrator's authenticator.
 *
 * @example
 * ```ts
 * const device = new TotpDevice(totpUri, Math.floor(Date.now() / TOTP_STEP_MS)); // the setup used this step
 * const code = await device.next();
 * ```
 */
export class TotpDevice {
  readonly #totp: TOTP;
  #lastStep: number;

  /** `lastStep`: the last step the server accepted for this administrator (-1: none). */
  constructor(totpUri: string, lastStep = -1) {
    const otp = OtpUri.parse(totpUri);
    if (!(otp instanceof TOTP)) throw new Error('not a TOTP URI');
    this.#totp = otp;
    this.#lastStep = lastStep;
  }

  /** The secret (base32), as a person would type it. */
  get secret(): string {
    return this.#totp.secret.base32;
  }

  /**
   * The code of the next step the server accepts: the current step when it is new, else the one
   * after it (valid now, within +1 step), else after waiting for the clock to move on.
   */
  async next(): Promise<string> {
    for (;;) {
      const current = Math.floor(Date.now() / TOTP_STEP_MS);
      const step = Math.max(current, this.#lastStep + 1);
      if (step <= current + 1) {
        this.#lastStep = step;
        return this.#totp.generate({ timestamp: step * TOTP_STEP_MS + 1000 });
      }
      await new Promise((resolve) => setTimeout(resolve, (current + 1) * TOTP_STEP_MS - Date.now() + 50));
    }
  }
}
