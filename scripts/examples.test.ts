import { createNodeProvider } from '@cloister/crypto/node';
import { describe, expect, it } from 'vitest';
import { runV2Demo } from '../examples/demo-v2.js';
import { quickstart } from '../examples/quickstart.js';

describe('examples', () => {
  it('the README quick start runs and round-trips', async () => {
    const { plaintext, dataKey, again } = await quickstart();
    expect(new TextDecoder().decode(plaintext)).toBe('hello');
    expect(Buffer.from(again).equals(Buffer.from(dataKey))).toBe(true);
  });

  it('the demo’s v2 session reports what it should', async () => {
    const lines: string[] = [];
    await runV2Demo(
      createNodeProvider(),
      (title, ...rest) => lines.push(title, ...rest),
      (b) => `${b.length} bytes`,
    );
    const text = lines.join('\n');
    expect(text).toContain('negotiated suite: v2');
    expect(text).toContain('Bob reads: "Ward 3 handover at 18:00."');
    expect(text).toContain('Bob reads "three", "one", "two"');
    expect(text).toContain('the same message again -> ERR_REPLAY');
    expect(text).toContain('a flipped bit -> ERR_DECRYPTION_FAILED');
  });
});
