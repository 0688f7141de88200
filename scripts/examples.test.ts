import { describe, expect, it } from 'vitest';
import { quickstart } from '../examples/quickstart.js';

describe('examples', () => {
  it('the README quick start runs and round-trips', async () => {
    const { plaintext, dataKey, again } = await quickstart();
    expect(new TextDecoder().decode(plaintext)).toBe('hello');
    expect(Buffer.from(again).equals(Buffer.from(dataKey))).toBe(true);
  });
});
