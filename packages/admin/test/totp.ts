/** The authenticator app's side in tests: TOTP codes (RFC 6238) of an otpauth:// URI, by `otpauth`. */
import { TOTP, URI } from 'otpauth';

/** The code of the secret in `uri` for the time step `offset` steps from `now`'s. */
export function totpCode(uri: string, offset = 0, now = Date.now()): string {
  const otp = URI.parse(uri);
  if (!(otp instanceof TOTP)) throw new Error('not a TOTP URI');
  return otp.generate({ timestamp: now + offset * otp.period * 1000 });
}
